// Trade measures from scenario files: the reader's file:line:key errors, how apply_trade_measures
// maps names onto the regions of a calibrated market, and the economics of tariffs, bans and
// quotas on the default gallium market, on both solver paths.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "critmin/market/calibration.h"
#include "critmin/market/market.h"
#include "critmin/market/trade_measures.h"
#include "critmin/scenario/scenario.h"

#include "test_support.h"

namespace critmin::market {
namespace {

constexpr const char* kFile = "measures.toml";

using critmin::test::default_data;
using scenario::read_trade_measures;

void expect_relative(double actual, double expected, double relative, const std::string& what) {
  EXPECT_NEAR(actual, expected, relative * std::max({1.0, std::abs(actual), std::abs(expected)}))
      << what;
}

// Reads `text`, expecting it to be rejected; returns every diagnostic as "file:line:key: message".
std::vector<std::string> read_errors(const std::string& text) {
  Result<TradeMeasures> read = read_trade_measures(text, kFile, default_data());
  EXPECT_FALSE(read.is_ok()) << "expected an error for:\n" << text;
  if (read.is_ok()) return {};
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidInput);
  std::vector<std::string> out;
  for (const Diagnostic& d : read.status().diagnostics()) out.push_back(d.to_string());
  return out;
}

void read_ok(const std::string& text, TradeMeasures& out) {
  Result<TradeMeasures> read = read_trade_measures(text, kFile, default_data());
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  out = read.value();
}

void market_of(const char* material, CalibratedMarket& out) {
  Result<CalibratedMarket> market = build_market(default_data(), material, 2023);
  ASSERT_TRUE(market.is_ok()) << market.status().to_string();
  out = std::move(market).value();
}

void solve(const MarketModel& model, SolverPath path, Equilibrium& out) {
  Result<Equilibrium> eq = clear_market(model, path);
  ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
  ASSERT_EQ(eq.value().termination, Termination::kOptimal) << eq.value().reason;
  out = std::move(eq).value();
}

std::size_t region_of(const MarketModel& model, const std::string& name) {
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    if (model.regions[r].name == name) return r;
  }
  ADD_FAILURE() << "no region " << name << " in the " << model.material << " market";
  return 0;
}

// A market, its base-year equilibrium, and the equilibrium after the measures of a scenario text,
// all solved on one path (as `critmin clear --scenario --solver` does).
struct Scenario {
  CalibratedMarket market;
  Equilibrium baseline;
  Equilibrium result;
};

void run_scenario(const char* material, const std::string& text, SolverPath path, Scenario& out) {
  ASSERT_NO_FATAL_FAILURE(market_of(material, out.market));
  ASSERT_NO_FATAL_FAILURE(solve(out.market.model, path, out.baseline));
  TradeMeasures measures;
  ASSERT_NO_FATAL_FAILURE(read_ok(text, measures));
  const Status applied = apply_trade_measures(measures, default_data(), out.market);
  ASSERT_TRUE(applied.is_ok()) << applied.to_string();
  ASSERT_NO_FATAL_FAILURE(solve(out.market.model, path, out.result));
}

// Sum of the processed flows from `from` to any of `to` (direct, gated or leaked as asked).
double processing_flow(const MarketModel& model, const Equilibrium& eq, const std::string& from,
                       const std::set<std::string>& to, bool include_leakage) {
  double sum = 0.0;
  for (const FlowResult& f : eq.flows) {
    if (f.stage != Stage::kProcessing || model.regions[f.from].name != from) continue;
    if (!to.contains(model.regions[f.to].name)) continue;
    if (f.via_leakage && !include_leakage) continue;
    sum += f.quantity_t;
  }
  return sum;
}

const char* const kEveryOtherRegion =
    R"(["EU27", "IND", "JPN", "KOR", "RUS", "UKR", "USA", "ROW"])";

std::string ban_text(bool leakage, double leakage_cost) {
  std::string text = std::string(R"([[export_restriction]]
material = "gallium"
origin = "CHN"
destinations = )") + kEveryOtherRegion +
                     R"(
stage = "processing"
kind = "ban"
)";
  if (leakage) {
    text += "leakage = true\nleakage_cost_usd_per_t = " + std::to_string(leakage_cost) + "\n";
  }
  return text;
}

// ---- read_trade_measures: accepted input --------------------------------------------------------

TEST(TradeMeasuresRead, ReadsEveryFieldOfTheDocumentedExample) {
  TradeMeasures m;
  ASSERT_NO_FATAL_FAILURE(read_ok(R"(# a scenario
[[tariff]]
material = "Gallium"
importer = "USA"
exporter = "CHN"
stage = "processing"
specific_usd_per_t = 1000
ad_valorem = 0.25

[[export_restriction]]
material = "gallium"
origin = "CHN"
destinations = ["USA", "EU27"]
stage = "extraction"
kind = "quota"
share = 0.5
leakage = true
leakage_cost_usd_per_t = 2000.0
)",
                                  m));
  EXPECT_EQ(m.file, kFile);
  ASSERT_EQ(m.tariffs.size(), 1u);
  const TariffMeasure& t = m.tariffs[0];
  EXPECT_EQ(t.line, 2);
  EXPECT_EQ(t.material, "gallium");  // the name resolves to the id
  EXPECT_EQ(t.importer, "USA");
  EXPECT_EQ(t.exporter, "CHN");
  EXPECT_EQ(t.stage, Stage::kProcessing);
  EXPECT_EQ(t.specific_usd_per_t, 1000.0);  // an integer is a number too
  EXPECT_EQ(t.ad_valorem, 0.25);
  ASSERT_EQ(m.restrictions.size(), 1u);
  const RestrictionMeasure& r = m.restrictions[0];
  EXPECT_EQ(r.line, 10);
  EXPECT_EQ(r.material, "gallium");
  EXPECT_EQ(r.origin, "CHN");
  EXPECT_EQ(r.destinations, (std::vector<std::string>{"USA", "EU27"}));
  EXPECT_EQ(r.stage, Stage::kExtraction);
  EXPECT_EQ(r.kind, RestrictionKind::kQuota);
  EXPECT_EQ(r.quota_share, 0.5);
  EXPECT_TRUE(r.leakage);
  EXPECT_EQ(r.leakage_cost_usd_per_t, 2000.0);
}

// ---- read_trade_measures: errors at file:line:key -----------------------------------------------

TEST(TradeMeasuresRead, RejectsAnUnknownKeyInATariffAtItsLine) {
  EXPECT_EQ(read_errors(R"([[tariff]]
importer = "USA"
stage = "processing"
ad_valorem = 0.25
rate = 0.1
)"),
            std::vector<std::string>{
                "measures.toml:5:tariff.rate: unknown key; tariff takes ad_valorem, exporter, "
                "importer, material, specific_usd_per_t, stage"});
}

TEST(TradeMeasuresRead, RejectsAnUnknownKeyInAnExportRestriction) {
  EXPECT_EQ(read_errors(R"([[export_restriction]]
origin = "CHN"
destinations = ["all"]
stage = "processing"
kind = "ban"
until = 2030
)"),
            std::vector<std::string>{
                "measures.toml:6:export_restriction.until: unknown key; export_restriction takes "
                "destinations, kind, leakage, leakage_cost_usd_per_t, material, origin, share, "
                "stage"});
}

TEST(TradeMeasuresRead, RejectsATariffWithoutImporterAtTheTableLine) {
  EXPECT_EQ(read_errors(R"(# tariffs

[[tariff]]
exporter = "CHN"
stage = "processing"
ad_valorem = 0.25
)"),
            std::vector<std::string>{"measures.toml:3:importer: missing key 'importer'"});
}

TEST(TradeMeasuresRead, RejectsAStringWhereARateIsExpected) {
  EXPECT_EQ(read_errors(R"([[tariff]]
importer = "USA"
stage = "processing"
ad_valorem = "0.25"
)"),
            std::vector<std::string>{"measures.toml:4:ad_valorem: expected a number"});
}

TEST(TradeMeasuresRead, RejectsANegativeAdValoremRate) {
  EXPECT_EQ(
      read_errors(R"([[tariff]]
importer = "USA"
stage = "processing"
ad_valorem = -0.25
)"),
      std::vector<std::string>{
          "measures.toml:4:ad_valorem: -0.25 is outside [0, 10]; give a value in that range"});
}

TEST(TradeMeasuresRead, RejectsATariffWithoutAnyRate) {
  EXPECT_EQ(read_errors(R"([[tariff]]
importer = "USA"
stage = "processing"
)"),
            std::vector<std::string>{
                "measures.toml:1:tariff: give specific_usd_per_t, ad_valorem or both"});
}

TEST(TradeMeasuresRead, RejectsAnUnknownStage) {
  EXPECT_EQ(read_errors(R"([[tariff]]
importer = "USA"
stage = "mining"
ad_valorem = 0.25
)"),
            std::vector<std::string>{R"(measures.toml:3:stage: use "extraction" or "processing")"});
}

TEST(TradeMeasuresRead, RejectsAnUnknownMaterial) {
  EXPECT_EQ(read_errors(R"([[tariff]]
material = "unobtainium"
importer = "USA"
stage = "processing"
ad_valorem = 0.25
)"),
            std::vector<std::string>{"measures.toml:2:material: unknown material 'unobtainium'; "
                                     "use an id such as gallium"});
}

TEST(TradeMeasuresRead, RejectsARestrictionKindOtherThanBanOrQuota) {
  EXPECT_EQ(read_errors(R"([[export_restriction]]
origin = "CHN"
destinations = ["all"]
stage = "processing"
kind = "embargo"
)"),
            std::vector<std::string>{R"(measures.toml:5:kind: use "ban" or "quota")"});
}

TEST(TradeMeasuresRead, RejectsAQuotaWithoutShare) {
  EXPECT_EQ(read_errors(R"(
[[export_restriction]]
origin = "CHN"
destinations = ["all"]
stage = "processing"
kind = "quota"
)"),
            std::vector<std::string>{"measures.toml:2:share: a quota needs share = the allowed "
                                     "fraction of base exports"});
}

TEST(TradeMeasuresRead, RejectsAQuotaShareAboveOne) {
  EXPECT_EQ(read_errors(R"([[export_restriction]]
origin = "CHN"
destinations = ["all"]
stage = "processing"
kind = "quota"
share = 1.5
)"),
            std::vector<std::string>{
                "measures.toml:6:share: 1.5 is outside [0, 1]; give a value in that range"});
}

TEST(TradeMeasuresRead, RejectsDestinationsThatAreNotAList) {
  EXPECT_EQ(
      read_errors(R"([[export_restriction]]
origin = "CHN"
destinations = "USA"
stage = "processing"
kind = "ban"
)"),
      std::vector<std::string>{
          R"(measures.toml:3:destinations: expected a non-empty list such as ["USA", "EU27"])"});
}

TEST(TradeMeasuresRead, RejectsAnEmptyDestinationList) {
  EXPECT_EQ(
      read_errors(R"([[export_restriction]]
origin = "CHN"
stage = "processing"
kind = "ban"
destinations = []
)"),
      std::vector<std::string>{
          R"(measures.toml:5:destinations: expected a non-empty list such as ["USA", "EU27"])"});
}

TEST(TradeMeasuresRead, RejectsALeakageThatIsNotABoolean) {
  EXPECT_EQ(read_errors(R"([[export_restriction]]
origin = "CHN"
destinations = ["all"]
stage = "processing"
kind = "ban"
leakage = "yes"
)"),
            std::vector<std::string>{"measures.toml:6:leakage: expected true or false"});
}

TEST(TradeMeasuresRead, RejectsATariffWrittenAsAPlainTable) {
  EXPECT_EQ(
      read_errors(R"(# one pair of brackets only
[tariff]
importer = "USA"
stage = "processing"
ad_valorem = 0.25
)"),
      std::vector<std::string>{"measures.toml:2:tariff: write [[tariff]] (an array of tables)"});
}

TEST(TradeMeasuresRead, ReportsATomlSyntaxErrorAtItsLine) {
  Result<TradeMeasures> read =
      read_trade_measures("[[tariff]]\nimporter = \"USA\"\nstage = \n", kFile, default_data());
  ASSERT_FALSE(read.is_ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(read.status().message(), "measures.toml: not valid TOML");
  ASSERT_EQ(read.status().diagnostics().size(), 1u);
  EXPECT_EQ(read.status().diagnostics()[0].file, kFile);
  EXPECT_EQ(read.status().diagnostics()[0].line, 3);
}

TEST(TradeMeasuresRead, ReportsEveryProblemOfAFileNotOnlyTheFirst) {
  const std::vector<std::string> errors = read_errors(R"([[tariff]]
importer = "USA"
stage = "processing"
ad_valorem = -1.0

[[export_restriction]]
origin = "CHN"
destinations = ["all"]
stage = "processing"
kind = "quota"
share = 2.0
)");
  EXPECT_EQ(errors,
            (std::vector<std::string>{
                "measures.toml:4:ad_valorem: -1 is outside [0, 10]; give a value in that range",
                "measures.toml:11:share: 2 is outside [0, 1]; give a value in that range"}));
}

// ---- apply_trade_measures: names and regions ----------------------------------------------------

TEST(TradeMeasuresApply, UnknownRegionFailsWithFileLineAndTheRegionsOfTheMarket) {
  CalibratedMarket gallium;
  ASSERT_NO_FATAL_FAILURE(market_of("gallium", gallium));
  Equilibrium baseline;
  ASSERT_NO_FATAL_FAILURE(solve(gallium.model, SolverPath::kNetwork, baseline));
  TradeMeasures m;
  ASSERT_NO_FATAL_FAILURE(read_ok(R"(# a typo in the importer

[[tariff]]
importer = "Atlantis"
stage = "processing"
ad_valorem = 0.25
)",
                                  m));
  const Status applied = apply_trade_measures(m, default_data(), gallium);
  ASSERT_FALSE(applied.is_ok());
  EXPECT_EQ(applied.code(), StatusCode::kInvalidInput);
  ASSERT_EQ(applied.diagnostics().size(), 1u) << applied.to_string();
  // The gallium regions: producers of at least 1% (CHN 93.8%, JPN, KOR, RUS, UKR, DEU in EU27),
  // the demand regions (CHN, EU27, USA, JPN, KOR, IND) and ROW last.
  EXPECT_EQ(applied.diagnostics()[0].to_string(),
            "measures.toml:3:importer: 'Atlantis' is not a region of the gallium market, an ISO3 "
            "code or a bloc; regions here: CHN, EU27, IND, JPN, KOR, RUS, UKR, USA, ROW");
}

TEST(TradeMeasuresApply, UnknownDestinationIsReportedUnderDestinations) {
  CalibratedMarket gallium;
  ASSERT_NO_FATAL_FAILURE(market_of("gallium", gallium));
  Equilibrium baseline;
  ASSERT_NO_FATAL_FAILURE(solve(gallium.model, SolverPath::kNetwork, baseline));
  TradeMeasures m;
  ASSERT_NO_FATAL_FAILURE(read_ok(R"([[export_restriction]]
origin = "CHN"
destinations = ["USA", "Narnia"]
stage = "processing"
kind = "ban"
)",
                                  m));
  const Status applied = apply_trade_measures(m, default_data(), gallium);
  ASSERT_FALSE(applied.is_ok());
  EXPECT_EQ(applied.code(), StatusCode::kInvalidInput);
  ASSERT_EQ(applied.diagnostics().size(), 1u) << applied.to_string();
  EXPECT_EQ(applied.diagnostics()[0].line, 1);
  EXPECT_EQ(applied.diagnostics()[0].field, "destinations");
  EXPECT_NE(applied.diagnostics()[0].message.find("'Narnia'"), std::string::npos);
}

// A bloc is a valid name, but an export restriction needs one origin region; the message must not
// claim that the bloc is unknown.
TEST(TradeMeasuresApply, OriginNamingSeveralRegionsIsNotReportedAsAnUnknownName) {
  CalibratedMarket gallium;
  ASSERT_NO_FATAL_FAILURE(market_of("gallium", gallium));
  Equilibrium baseline;
  ASSERT_NO_FATAL_FAILURE(solve(gallium.model, SolverPath::kNetwork, baseline));
  TradeMeasures m;
  ASSERT_NO_FATAL_FAILURE(read_ok(R"([[export_restriction]]
origin = "club"
destinations = ["CHN"]
stage = "processing"
kind = "ban"
)",
                                  m));
  const Status applied = apply_trade_measures(m, default_data(), gallium);
  ASSERT_FALSE(applied.is_ok());
  EXPECT_EQ(applied.code(), StatusCode::kInvalidInput);
  ASSERT_EQ(applied.diagnostics().size(), 1u) << applied.to_string();
  EXPECT_EQ(applied.diagnostics()[0].field, "origin");
  EXPECT_EQ(applied.diagnostics()[0].message.find("is not a region of the gallium market, an ISO3 "
                                                  "code or a bloc"),
            std::string::npos)
      << applied.diagnostics()[0].message;
}

TEST(TradeMeasuresApply, IgnoresMeasuresForAnotherMaterial) {
  CalibratedMarket graphite;
  ASSERT_NO_FATAL_FAILURE(market_of("natural_graphite", graphite));
  Equilibrium baseline;
  ASSERT_NO_FATAL_FAILURE(solve(graphite.model, SolverPath::kNetwork, baseline));
  const std::vector<Route> routes_before = graphite.model.routes;
  TradeMeasures m;
  // "Atlantis" would be an error if the tariff were applied to graphite.
  ASSERT_NO_FATAL_FAILURE(read_ok(R"([[tariff]]
material = "gallium"
importer = "Atlantis"
stage = "processing"
ad_valorem = 0.25

[[export_restriction]]
material = "gallium"
origin = "CHN"
destinations = ["all"]
stage = "processing"
kind = "ban"
)",
                                  m));
  const Status applied = apply_trade_measures(m, default_data(), graphite);
  ASSERT_TRUE(applied.is_ok()) << applied.to_string();
  EXPECT_TRUE(graphite.model.restrictions.empty());
  ASSERT_EQ(graphite.model.routes.size(), routes_before.size());
  for (const Route& route : graphite.model.routes) {
    EXPECT_EQ(route.specific_tariff_usd_per_t, 0.0);
    EXPECT_EQ(route.ad_valorem_tariff, 0.0);
  }
}

TEST(TradeMeasuresApply, AppliesAMeasureNamingTheMarketsMaterialByName) {
  CalibratedMarket graphite;
  ASSERT_NO_FATAL_FAILURE(market_of("natural_graphite", graphite));
  Equilibrium baseline;
  ASSERT_NO_FATAL_FAILURE(solve(graphite.model, SolverPath::kNetwork, baseline));
  TradeMeasures m;
  ASSERT_NO_FATAL_FAILURE(read_ok(R"([[export_restriction]]
material = "Natural graphite"
origin = "CHN"
destinations = ["USA"]
stage = "processing"
kind = "ban"
)",
                                  m));
  const Status applied = apply_trade_measures(m, default_data(), graphite);
  ASSERT_TRUE(applied.is_ok()) << applied.to_string();
  ASSERT_EQ(graphite.model.restrictions.size(), 1u);
  const ExportRestriction& r = graphite.model.restrictions[0];
  EXPECT_EQ(r.origin, region_of(graphite.model, "CHN"));
  EXPECT_EQ(r.destinations, std::vector<std::size_t>{region_of(graphite.model, "USA")});
  EXPECT_EQ(r.kind, RestrictionKind::kBan);
  EXPECT_EQ(r.name, "measures.toml:1");
}

TEST(TradeMeasuresApply, TariffByUsaOnChinaTouchesOnlyChinaToUsaRoutesOfItsStage) {
  for (const Stage stage : {Stage::kProcessing, Stage::kExtraction}) {
    CalibratedMarket gallium;
    ASSERT_NO_FATAL_FAILURE(market_of("gallium", gallium));
    Equilibrium baseline;
    ASSERT_NO_FATAL_FAILURE(solve(gallium.model, SolverPath::kNetwork, baseline));
    TradeMeasures m;
    ASSERT_NO_FATAL_FAILURE(read_ok(std::string(R"([[tariff]]
importer = "USA"
exporter = "CHN"
stage = ")") + stage_name(stage) + R"("
specific_usd_per_t = 1000.0
ad_valorem = 0.25
)",
                                    m));
    const Status applied = apply_trade_measures(m, default_data(), gallium);
    ASSERT_TRUE(applied.is_ok()) << applied.to_string();
    const std::size_t chn = region_of(gallium.model, "CHN");
    const std::size_t usa = region_of(gallium.model, "USA");
    int taxed = 0;
    for (const Route& route : gallium.model.routes) {
      const bool target = route.from == chn && route.to == usa && route.stage == stage;
      EXPECT_EQ(route.specific_tariff_usd_per_t, target ? 1000.0 : 0.0)
          << gallium.model.regions[route.from].name << "->" << gallium.model.regions[route.to].name
          << " " << stage_name(route.stage);
      EXPECT_EQ(route.ad_valorem_tariff, target ? 0.25 : 0.0)
          << gallium.model.regions[route.from].name << "->" << gallium.model.regions[route.to].name
          << " " << stage_name(route.stage);
      taxed += target ? 1 : 0;
    }
    EXPECT_EQ(taxed, 1) << stage_name(stage);
  }
}

TEST(TradeMeasuresApply, TariffOfEu27WithoutExporterTaxesEveryImportIntoTheEu27Region) {
  // EU27 as a region name, and DEU as an ISO3 code that the EU27 region holds: the same routes.
  for (const char* importer : {"EU27", "DEU"}) {
    CalibratedMarket gallium;
    ASSERT_NO_FATAL_FAILURE(market_of("gallium", gallium));
    Equilibrium baseline;
    ASSERT_NO_FATAL_FAILURE(solve(gallium.model, SolverPath::kNetwork, baseline));
    TradeMeasures m;
    ASSERT_NO_FATAL_FAILURE(read_ok(std::string("[[tariff]]\nimporter = \"") + importer +
                                        "\"\nstage = \"processing\"\nspecific_usd_per_t = 500\n",
                                    m));
    const Status applied = apply_trade_measures(m, default_data(), gallium);
    ASSERT_TRUE(applied.is_ok()) << applied.to_string();
    const std::size_t eu = region_of(gallium.model, "EU27");
    int taxed = 0;
    for (const Route& route : gallium.model.routes) {
      const bool target = route.to == eu && route.stage == Stage::kProcessing;
      EXPECT_EQ(route.specific_tariff_usd_per_t, target ? 500.0 : 0.0)
          << importer << ": " << gallium.model.regions[route.from].name << "->"
          << gallium.model.regions[route.to].name;
      taxed += target ? 1 : 0;
    }
    EXPECT_EQ(taxed, static_cast<int>(gallium.model.regions.size()) - 1) << importer;
  }
}

TEST(TradeMeasuresApply, NonClubDestinationsAreTheRegionsWithoutClubMembers) {
  CalibratedMarket gallium;
  ASSERT_NO_FATAL_FAILURE(market_of("gallium", gallium));
  Equilibrium baseline;
  ASSERT_NO_FATAL_FAILURE(solve(gallium.model, SolverPath::kNetwork, baseline));
  TradeMeasures m;
  ASSERT_NO_FATAL_FAILURE(read_ok(R"([[export_restriction]]
origin = "CHN"
destinations = ["non-club"]
stage = "processing"
kind = "ban"
)",
                                  m));
  const Status applied = apply_trade_measures(m, default_data(), gallium);
  ASSERT_TRUE(applied.is_ok()) << applied.to_string();
  ASSERT_EQ(gallium.model.restrictions.size(), 1u);
  std::set<std::string> names;
  for (std::size_t d : gallium.model.restrictions[0].destinations) {
    names.insert(gallium.model.regions[d].name);
  }
  // club = EU27 members, AUS, CAN, GBR, JPN, KOR, USA (data/blocs.csv). Regions whose countries are
  // all members: EU27, JPN, KOR, USA. ROW mixes members (AUS, CAN, GBR) with many non-members, so
  // it is not in the club. The others: CHN (the origin, dropped), IND, RUS, UKR and ROW.
  EXPECT_EQ(names, (std::set<std::string>{"IND", "ROW", "RUS", "UKR"}));
}

TEST(TradeMeasuresApply, TwoRestrictionsOnTheSameRouteAreContradictory) {
  CalibratedMarket gallium;
  ASSERT_NO_FATAL_FAILURE(market_of("gallium", gallium));
  Equilibrium baseline;
  ASSERT_NO_FATAL_FAILURE(solve(gallium.model, SolverPath::kNetwork, baseline));
  TradeMeasures m;
  ASSERT_NO_FATAL_FAILURE(read_ok(R"([[export_restriction]]
origin = "CHN"
destinations = ["USA"]
stage = "processing"
kind = "ban"

[[export_restriction]]
origin = "CHN"
destinations = ["all"]
stage = "processing"
kind = "quota"
share = 0.5
)",
                                  m));
  const Status applied = apply_trade_measures(m, default_data(), gallium);
  ASSERT_FALSE(applied.is_ok());
  EXPECT_EQ(applied.code(), StatusCode::kInvalidInput);
  EXPECT_NE(applied.to_string().find("contradictory"), std::string::npos) << applied.to_string();
}

// ---- economics on gallium -----------------------------------------------------------------------

TEST(TradeMeasuresGallium, BanWithoutLeakageRemovesChinasExportsAndRaisesImportersPrices) {
  Scenario s;
  ASSERT_NO_FATAL_FAILURE(run_scenario("gallium", ban_text(false, 0.0), SolverPath::kNetwork, s));
  const MarketModel& model = s.market.model;
  const std::size_t chn = region_of(model, "CHN");
  for (const FlowResult& f : s.result.flows) {
    EXPECT_FALSE(f.from == chn && f.stage == Stage::kProcessing)
        << "CHN -> " << model.regions[f.to].name << " " << f.quantity_t << " t";
  }
  EXPECT_DOUBLE_EQ(s.result.node(chn, Stage::kProcessing).exports_t, 0.0);
  int importers = 0;
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    if (s.baseline.node(r, Stage::kProcessing).imports_t <= 0.0) continue;
    ++importers;
    EXPECT_GT(s.result.node(r, Stage::kProcessing).price_usd_per_t,
              s.baseline.node(r, Stage::kProcessing).price_usd_per_t)
        << model.regions[r].name;
  }
  EXPECT_GE(importers, 3);  // every demand region but CHN imports refined gallium
  // China's refiners lose their export outlet: the price at home falls or stays.
  EXPECT_LE(s.result.node(chn, Stage::kProcessing).price_usd_per_t,
            s.baseline.node(chn, Stage::kProcessing).price_usd_per_t * (1.0 + 1e-9));
  EXPECT_LE(s.result.node(chn, Stage::kProcessing).producer_price_usd_per_t,
            s.baseline.node(chn, Stage::kProcessing).producer_price_usd_per_t * (1.0 + 1e-9));
  // A ban only removes options: world welfare cannot rise.
  EXPECT_LT(s.result.welfare_usd, s.baseline.welfare_usd);
}

TEST(TradeMeasuresGallium, LeakageFlowsCostTransportPlusTheLeakageCost) {
  constexpr double kLeakage = 20000.0;
  Scenario s;
  ASSERT_NO_FATAL_FAILURE(
      run_scenario("gallium", ban_text(true, kLeakage), SolverPath::kNetwork, s));
  const MarketModel& model = s.market.model;
  const std::size_t chn = region_of(model, "CHN");
  int leaked = 0;
  for (const FlowResult& f : s.result.flows) {
    if (f.from != chn || f.stage != Stage::kProcessing) continue;
    EXPECT_TRUE(f.via_leakage) << "direct CHN -> " << model.regions[f.to].name << " under a ban";
    const auto route = std::find_if(model.routes.begin(), model.routes.end(), [&](const Route& r) {
      return r.from == f.from && r.to == f.to && r.stage == f.stage;
    });
    ASSERT_NE(route, model.routes.end());
    // transport 2% of the 450000 USD/t base price = 9000 USD/t
    EXPECT_NEAR(route->transport_cost_usd_per_t, 9000.0, 1e-6);
    expect_relative(f.unit_cost_usd_per_t, route->transport_cost_usd_per_t + kLeakage, 1e-9,
                    "unit cost CHN -> " + model.regions[f.to].name);
    // A used route is priced at cost: buyers pay the producer price plus the unit cost.
    expect_relative(
        s.result.node(f.to, Stage::kProcessing).price_usd_per_t,
        s.result.node(chn, Stage::kProcessing).producer_price_usd_per_t + f.unit_cost_usd_per_t,
        1e-6, "price in " + model.regions[f.to].name);
    if (f.quantity_t > 0.0) ++leaked;
  }
  EXPECT_GT(leaked, 0) << "China's cheap supply should go round a 20000 USD/t leakage cost";
  // Leakage lies between free trade and a tight ban.
  Scenario tight;
  ASSERT_NO_FATAL_FAILURE(
      run_scenario("gallium", ban_text(false, 0.0), SolverPath::kNetwork, tight));
  EXPECT_LT(s.result.welfare_usd, s.baseline.welfare_usd);
  EXPECT_GT(s.result.welfare_usd, tight.result.welfare_usd);
}

TEST(TradeMeasuresGallium, QuotaCapsChinasExportsToTheDestinationsAtTheShareOfBaseExports) {
  Scenario s;
  ASSERT_NO_FATAL_FAILURE(run_scenario("gallium", R"([[export_restriction]]
material = "gallium"
origin = "CHN"
destinations = ["USA", "EU27", "JPN"]
stage = "processing"
kind = "quota"
share = 0.5
)",
                                       SolverPath::kNetwork, s));
  const MarketModel& model = s.market.model;
  const std::set<std::string> destinations = {"USA", "EU27", "JPN"};
  // The base of the quota comes from the calibration data, not from the baseline's (non-unique)
  // pairwise split: China's base production minus its base demand, times the destinations'
  // share of the other regions' base demand.
  const std::size_t chn = region_of(model, "CHN");
  const double china_production =
      s.market.info.observed_processing_share[chn] * s.market.info.world_tonnage_t;
  double to_destinations = 0.0, to_others = 0.0;
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    if (r == chn) continue;
    to_others += model.regions[r].base_demand_t;
    if (destinations.contains(model.regions[r].name)) {
      to_destinations += model.regions[r].base_demand_t;
    }
  }
  const double base =
      (china_production - model.regions[chn].base_demand_t) * to_destinations / to_others;
  ASSERT_GT(base, 0.0);
  ASSERT_EQ(model.restrictions.size(), 1u);
  expect_relative(model.restrictions[0].quota_t, 0.5 * base, 1e-12, "quota_t");
  // The quota is below the free-trade exports to these destinations, so it binds.
  ASSERT_LT(0.5 * base, processing_flow(model, s.baseline, "CHN", destinations, true));
  // China is the cheapest refiner, so the quota binds: exactly half the base exports.
  expect_relative(processing_flow(model, s.result, "CHN", destinations, true), 0.5 * base, 1e-6,
                  "CHN exports to USA, EU27, JPN under the quota");
  // Exports to the other regions are not limited by the quota.
  EXPECT_GT(processing_flow(model, s.result, "CHN", {"IND", "KOR", "ROW"}, true), 0.0);
}

TEST(TradeMeasuresGallium, AdValoremTariffRaisesTheEuPriceAndCollectsRateTimesOriginPrice) {
  Scenario s;
  ASSERT_NO_FATAL_FAILURE(run_scenario("gallium", R"([[tariff]]
importer = "EU27"
exporter = "CHN"
stage = "processing"
ad_valorem = 0.25
)",
                                       SolverPath::kNetwork, s));
  const MarketModel& model = s.market.model;
  const std::size_t chn = region_of(model, "CHN");
  const std::size_t eu = region_of(model, "EU27");
  EXPECT_GT(s.result.node(eu, Stage::kProcessing).price_usd_per_t,
            s.baseline.node(eu, Stage::kProcessing).price_usd_per_t);
  const double chn_price = s.result.node(chn, Stage::kProcessing).producer_price_usd_per_t;
  double revenue = 0.0;
  double from_china = 0.0;
  for (const FlowResult& f : s.result.flows) {
    if (f.to != eu) continue;
    revenue += f.tariff_usd_per_t * f.quantity_t;
    if (f.from == chn && f.stage == Stage::kProcessing) {
      from_china += f.quantity_t;
      expect_relative(f.tariff_usd_per_t, 0.25 * chn_price, 1e-6, "tariff per t on CHN -> EU27");
    } else {
      EXPECT_EQ(f.tariff_usd_per_t, 0.0) << model.regions[f.from].name << " -> EU27";
    }
  }
  ASSERT_GT(from_china, 0.0) << "with a 25% tariff some EU demand is still served from China: the "
                                "other refiners cannot serve it all";
  EXPECT_GT(revenue, 0.0);
  expect_relative(s.result.accounts[eu].tariff_revenue_usd, revenue, 1e-6, "EU tariff revenue");
  expect_relative(s.result.accounts[eu].tariff_revenue_usd, 0.25 * chn_price * from_china, 1e-6,
                  "EU tariff revenue = 25% x CHN price x imports from CHN");
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    if (r != eu) {
      EXPECT_EQ(s.result.accounts[r].tariff_revenue_usd, 0.0) << model.regions[r].name;
    }
  }
}

// ---- both solver paths --------------------------------------------------------------------------

TEST(TradeMeasuresPaths, BaselineWelfareAgreesOnBothPaths) {
  for (const char* material : {"gallium", "copper", "lithium"}) {
    CalibratedMarket market;
    ASSERT_NO_FATAL_FAILURE(market_of(material, market));
    Equilibrium network, lp;
    ASSERT_NO_FATAL_FAILURE(solve(market.model, SolverPath::kNetwork, network));
    ASSERT_NO_FATAL_FAILURE(solve(market.model, SolverPath::kLinearProgram, lp));
    expect_relative(network.welfare_usd, lp.welfare_usd, 1e-6, material);
  }
}

TEST(TradeMeasuresPaths, GalliumBanWelfareAgreesOnBothPaths) {
  for (const bool leakage : {false, true}) {
    Scenario network, lp;
    ASSERT_NO_FATAL_FAILURE(
        run_scenario("gallium", ban_text(leakage, 20000.0), SolverPath::kNetwork, network));
    ASSERT_NO_FATAL_FAILURE(
        run_scenario("gallium", ban_text(leakage, 20000.0), SolverPath::kLinearProgram, lp));
    expect_relative(network.result.welfare_usd, lp.result.welfare_usd, 1e-6,
                    leakage ? "ban with leakage" : "ban without leakage");
  }
}

// Prices are an optimal dual of the market after the measures: buyers never pay more than their
// region's own producers fetch, every used flow is priced at its unit cost, and no unrestricted
// route is left with a profit.
void expect_consistent_prices(const MarketModel& model, const Equilibrium& eq,
                              const std::string& what) {
  double scale = 1.0;
  for (const NodeResult& n : eq.nodes)
    scale = std::max(scale, std::abs(n.producer_price_usd_per_t));
  const double tolerance = 1e-6 * scale;
  for (const NodeResult& n : eq.nodes) {
    const std::string where = what + " " + model.regions[n.region].name + " " + stage_name(n.stage);
    EXPECT_LE(n.price_usd_per_t, n.producer_price_usd_per_t + tolerance) << where;
    if (n.production_t - n.exports_t > 1e-6 * std::max(1.0, n.production_t)) {
      EXPECT_NEAR(n.price_usd_per_t, n.producer_price_usd_per_t, tolerance)
          << where << ": the region uses its own output";
    }
  }
  for (const FlowResult& f : eq.flows) {
    EXPECT_NEAR(eq.node(f.to, f.stage).price_usd_per_t,
                eq.node(f.from, f.stage).producer_price_usd_per_t + f.unit_cost_usd_per_t,
                tolerance)
        << what << " " << model.regions[f.from].name << " -> " << model.regions[f.to].name << " "
        << stage_name(f.stage) << (f.via_leakage ? " (leakage)" : "");
  }
  for (const Route& route : model.routes) {
    const bool restricted =
        std::any_of(model.restrictions.begin(), model.restrictions.end(), [&](const auto& r) {
          return r.origin == route.from && r.stage == route.stage &&
                 std::find(r.destinations.begin(), r.destinations.end(), route.to) !=
                     r.destinations.end();
        });
    if (restricted) continue;
    const double origin = eq.node(route.from, route.stage).producer_price_usd_per_t;
    const double landed = origin + route.transport_cost_usd_per_t +
                          route.specific_tariff_usd_per_t + route.ad_valorem_tariff * origin;
    EXPECT_LE(eq.node(route.to, route.stage).price_usd_per_t, landed + tolerance)
        << what << ": unused profit on " << model.regions[route.from].name << " -> "
        << model.regions[route.to].name << " " << stage_name(route.stage);
  }
}

TEST(TradeMeasuresPaths, PricesAreConsistentWithFlowsAndRoutesOnBothPaths) {
  const std::string tariff = R"([[tariff]]
importer = "USA"
exporter = "CHN"
stage = "processing"
ad_valorem = 0.25
)";
  for (const SolverPath path : {SolverPath::kNetwork, SolverPath::kLinearProgram}) {
    const std::string name = path == SolverPath::kNetwork ? "network" : "lp";
    for (const char* material : {"gallium", "copper", "lithium"}) {
      CalibratedMarket market;
      ASSERT_NO_FATAL_FAILURE(market_of(material, market));
      Equilibrium eq;
      ASSERT_NO_FATAL_FAILURE(solve(market.model, path, eq));
      expect_consistent_prices(market.model, eq, name + " " + material);
    }
    for (const auto& [label, text] :
         std::vector<std::pair<std::string, std::string>>{{"ban", ban_text(false, 0.0)},
                                                          {"leakage", ban_text(true, 20000.0)},
                                                          {"tariff", tariff}}) {
      Scenario s;
      ASSERT_NO_FATAL_FAILURE(run_scenario("gallium", text, path, s));
      expect_consistent_prices(s.market.model, s.result, name + " gallium " + label);
    }
  }
}

// The base of a quota is the origin's base-year exports to the destinations. In the base year
// RUS and UKR may serve EU27 or ROW equally well, so the split of China's exports among its
// customers is not unique; the quota must not depend on which optimum a solver happens to return.
TEST(TradeMeasuresPaths, QuotaOnSomeDestinationsGivesTheSameWelfareOnBothPaths) {
  const std::string quota = R"([[export_restriction]]
origin = "CHN"
destinations = ["EU27"]
stage = "processing"
kind = "quota"
share = 0.5
)";
  Scenario network, lp;
  ASSERT_NO_FATAL_FAILURE(run_scenario("gallium", quota, SolverPath::kNetwork, network));
  ASSERT_NO_FATAL_FAILURE(run_scenario("gallium", quota, SolverPath::kLinearProgram, lp));
  expect_relative(network.baseline.welfare_usd, lp.baseline.welfare_usd, 1e-6, "baseline");
  expect_relative(network.market.model.restrictions.at(0).quota_t,
                  lp.market.model.restrictions.at(0).quota_t, 1e-6, "quota_t");
  expect_relative(network.result.welfare_usd, lp.result.welfare_usd, 1e-6, "welfare under quota");
}

}  // namespace
}  // namespace critmin::market
