// A company's own exposure (issue 16, item 5): the bill-of-materials reader and its errors, the
// exposure worked out by hand on a made-up result, spend converted to tonnes, the headline
// figures an ensemble bands, and `simulate --bom` end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "critmin/core/figures.h"
#include "critmin/scenario/bom.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/company.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/ensemble.h"
#include "critmin/sim/headline.h"
#include "critmin/sim/simulation.h"
#include "test_support.h"

namespace critmin::sim {
namespace {

namespace fs = std::filesystem;
using scenario::Bom;
using scenario::read_bom;
using test::default_data;

Bom bom_ok(const std::string& text) {
  Result<Bom> bom = read_bom(text, "bom.csv", default_data());
  EXPECT_TRUE(bom.is_ok()) << bom.status().to_string();
  return bom.is_ok() ? bom.value() : Bom{};
}

// The diagnostics of a BOM that must fail, as "file:line:field: message".
std::vector<std::string> problems(const std::string& text) {
  Result<Bom> bom = read_bom(text, "bom.csv", default_data());
  EXPECT_FALSE(bom.is_ok()) << text;
  if (bom.is_ok()) return {};
  EXPECT_EQ(bom.status().code(), StatusCode::kInvalidInput);
  return test::texts(bom.status().diagnostics());
}

bool has(const std::vector<std::string>& texts, const std::string& part) {
  return std::any_of(texts.begin(), texts.end(),
                     [&](const std::string& t) { return t.find(part) != std::string::npos; });
}

TEST(BomReader, ReadsQuantitiesSpendsAndSupplyCountries) {
  const Bom bom = bom_ok(
      "material,quantity_t_per_yr,spend_eur_per_yr,supply_country\n"
      "gallium,2.5,,\n"
      "\n"
      "Natural graphite,,1000000,jpn\n");
  ASSERT_EQ(bom.lines.size(), 2u);
  EXPECT_EQ(bom.file, "bom.csv");
  EXPECT_EQ(bom.lines[0].line, 2);
  EXPECT_EQ(bom.lines[0].material, "gallium");
  EXPECT_DOUBLE_EQ(bom.lines[0].quantity_t_per_yr, 2.5);
  EXPECT_DOUBLE_EQ(bom.lines[0].spend_eur_per_yr, 0.0);
  EXPECT_EQ(bom.lines[0].supply_country, "");
  EXPECT_EQ(bom.lines[1].line, 4);                       // the empty line is not a row, but counts
  EXPECT_EQ(bom.lines[1].material, "natural_graphite");  // a name resolves to the id
  EXPECT_DOUBLE_EQ(bom.lines[1].spend_eur_per_yr, 1e6);
  EXPECT_EQ(bom.lines[1].supply_country, "JPN");
  // Only one of the quantity columns is needed.
  EXPECT_EQ(bom_ok("material,spend_eur_per_yr\ncobalt,5e5\n").lines.size(), 1u);
}

TEST(BomReader, ReportsEveryProblemAtFileLineColumnWithAFix) {
  const std::vector<std::string> p = problems(
      "material,quantity_t_per_yr,spend_eur_per_yr,supply_country\n"
      "galium,1,,\n"      // line 2: unknown material
      "gallium,-3,,\n"    // line 3: negative
      "gallium,nan,,\n"   // line 4: not a number
      "gallium,2e9,,\n"   // line 5: above the bound
      "gallium,1,100,\n"  // line 6: both
      "gallium,,,\n"      // line 7: neither
      "gallium,1,,CHX\n"  // line 8: unknown country
      ",1,,\n"            // line 9: empty material
      "cobalt,,2e13,\n"   // line 10: spend above the bound
      "cobalt,0,,\n");    // line 11: zero
  EXPECT_TRUE(has(p, "bom.csv:2:material: unknown material 'galium' (did you mean gallium?)"))
      << p[0];
  EXPECT_TRUE(has(p, "bom.csv:3:quantity_t_per_yr: -3 must be above 0"));
  EXPECT_TRUE(has(p, "bom.csv:4:quantity_t_per_yr: 'nan' is not a number"));
  EXPECT_TRUE(has(
      p, "bom.csv:5:quantity_t_per_yr: 2,000,000,000 t/yr is above the bound of 100,000,000 t/yr"));
  EXPECT_TRUE(has(p, "bom.csv:6:spend_eur_per_yr: both quantity_t_per_yr and spend_eur_per_yr"));
  EXPECT_TRUE(has(p, "bom.csv:7:quantity_t_per_yr: neither quantity_t_per_yr nor"));
  EXPECT_TRUE(has(p, "bom.csv:8:supply_country: unknown country 'CHX' (did you mean"));
  EXPECT_TRUE(has(p, "bom.csv:9:material: empty material"));
  EXPECT_TRUE(has(p, "bom.csv:10:spend_eur_per_yr: 20,000,000,000,000 EUR/yr is above the bound"));
  EXPECT_TRUE(has(p, "bom.csv:11:quantity_t_per_yr: 0 must be above 0"));
  EXPECT_EQ(p.size(), 10u);
  // The message counts them (regression: it said "0 problems" when the list was moved first).
  Result<Bom> bad =
      read_bom("material,quantity_t_per_yr\ngalium,1\ncobalt,-1\n", "bom.csv", default_data());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(),
            "bom.csv: invalid bill of materials (2 problems); docs/scorecards.md, \"A company's "
            "own exposure\", describes the columns");
}

TEST(BomReader, RejectsMissingAndUnknownColumnsAndEmptyFiles) {
  EXPECT_TRUE(has(problems("quantity_t_per_yr\n1\n"), "bom.csv:1:material: missing column"));
  EXPECT_TRUE(has(problems("material\ngallium\n"),
                  "bom.csv:1:quantity_t_per_yr: missing column: give quantity_t_per_yr"));
  EXPECT_TRUE(has(problems("material,quantity_t_per_yr,supply_contry\ngallium,1,\n"),
                  "bom.csv:1:supply_contry: unknown column 'supply_contry' (did you mean "
                  "supply_country?)"));
  EXPECT_TRUE(
      has(problems("material,quantity_t_per_yr\n"), "bom.csv: the bill of materials has no rows"));
  // A malformed CSV is reported by the CSV reader with its line.
  Result<Bom> ragged =
      read_bom("material,quantity_t_per_yr\ngallium,1,2\n", "bom.csv", default_data());
  ASSERT_FALSE(ragged.is_ok());
  EXPECT_TRUE(has(test::texts(ragged.status().diagnostics()), "bom.csv:2"));
}

// Two regions, two years: the EU (open node and certified twin) and Japan. Base price 400,000
// USD/t. EU 2030: 90 t at 440,000 and 10 t at 640,000 -> use-weighted 460,000; 2031: 100 t at
// 520,000. Japan: 500,000 in both years. Physical shortage: the EU 2030 11 of 110 t (10%), 2031
// none; Japan 2031 5 of 50 t.
SimulationResult hand_result() {
  SimulationResult r;
  r.scenario_name = "hand";
  r.materials = {"gallium"};
  r.first_year = 2030;
  r.last_year = 2031;
  r.base_year = 2023;
  r.bases = {{"gallium", 400000.0, "test", false}};
  const auto node = [](std::string region, int year, double price, double consumption,
                       double demand, double physical) {
    SeriesRow row;
    row.material = "gallium";
    row.stage = Stage::kProcessing;
    row.region = std::move(region);
    row.year = year;
    row.price_usd_per_t = price;
    row.consumption_t = consumption;
    row.demand_t = demand;
    row.physical_shortage_t = physical;
    return row;
  };
  r.series = {node("EU27", 2030, 440000.0, 90.0, 100.0, 11.0),
              node("EU27/certified", 2030, 640000.0, 10.0, 10.0, 0.0),
              node("JPN", 2030, 500000.0, 50.0, 50.0, 0.0),
              node("EU27", 2031, 520000.0, 100.0, 110.0, 0.0),
              node("JPN", 2031, 500000.0, 45.0, 50.0, 5.0)};
  SeriesRow extraction = node("EU27", 2030, 1e9, 1.0, 0.0, 0.0);  // extraction never counts
  extraction.stage = Stage::kExtraction;
  r.series.push_back(extraction);
  return r;
}

TEST(CompanyExposure, IsQuantityTimesPriceChangeAndShortageShareOfItsRegion) {
  const Bom bom = bom_ok(
      "material,quantity_t_per_yr,supply_country\n"
      "gallium,2,\n"     // the EU's market
      "gallium,1,JPN\n"  // Japan is a region of the market
      "gallium,3,DEU\n"  // Germany is not: the EU's, with a note
      "lithium,5,\n");   // not simulated: a note
  Result<CompanyExposure> exposure = compute_company_exposure(default_data(), hand_result(), bom);
  ASSERT_TRUE(exposure.is_ok()) << exposure.status().to_string();
  const CompanyExposure& c = exposure.value();
  ASSERT_EQ(c.lines.size(), 3u);
  const CompanyLineExposure& eu = c.lines[0];
  EXPECT_EQ(eu.region, "EU27");
  // 2030: 2 t x (460,000 - 400,000) = 120,000; 2031: 2 x 120,000 = 240,000.
  ASSERT_EQ(eu.cost_change_usd.size(), 2u);
  EXPECT_NEAR(eu.cost_change_usd[0], 120000.0, 1e-6);
  EXPECT_NEAR(eu.cost_change_usd[1], 240000.0, 1e-6);
  EXPECT_NEAR(eu.cost_change_mean_usd_per_yr, 180000.0, 1e-6);
  // The EU's physical shortage: 11 of 110 t in 2030 (both nodes' demand) -> 0.2 t of the 2 t.
  EXPECT_NEAR(eu.physical_shortage_t[0], 0.2, 1e-12);
  EXPECT_DOUBLE_EQ(eu.physical_shortage_t[1], 0.0);
  EXPECT_NEAR(eu.physical_shortage_mean_t_per_yr, 0.1, 1e-12);
  EXPECT_NEAR(eu.physical_shortage_mean_usd_per_yr, 0.1 * 400000.0, 1e-6);
  const CompanyLineExposure& japan = c.lines[1];
  EXPECT_EQ(japan.region, "JPN");
  EXPECT_NEAR(japan.cost_change_mean_usd_per_yr, 100000.0, 1e-6);  // 1 t x 100,000 both years
  EXPECT_NEAR(japan.physical_shortage_t[1], 0.1, 1e-12);           // 5 of 50 t in 2031
  const CompanyLineExposure& germany = c.lines[2];
  EXPECT_EQ(germany.supply_country, "DEU");
  EXPECT_EQ(germany.region, "EU27");
  EXPECT_NEAR(germany.cost_change_usd[0], 3.0 * 60000.0, 1e-6);
  // Totals per year: cost 2030 = 120,000 + 100,000 + 180,000; 2031 = 240,000 + 100,000 + 360,000.
  EXPECT_NEAR(c.cost_change_usd[0], 400000.0, 1e-6);
  EXPECT_NEAR(c.cost_change_usd[1], 700000.0, 1e-6);
  EXPECT_NEAR(c.cost_change_mean_usd_per_yr, 550000.0, 1e-6);
  EXPECT_NEAR(c.cost_change_worst_usd_per_yr, 700000.0, 1e-6);
  EXPECT_EQ(c.cost_change_worst_year, 2031);
  // Shortage at base prices: 2030 (0.2 + 0.3) t, 2031 0.1 t, at 400,000 USD/t.
  EXPECT_NEAR(c.physical_shortage_usd[0], 200000.0, 1e-6);
  EXPECT_NEAR(c.physical_shortage_usd[1], 40000.0, 1e-6);
  EXPECT_NEAR(c.physical_shortage_mean_usd_per_yr, 120000.0, 1e-6);
  EXPECT_EQ(c.physical_shortage_worst_year, 2030);
  ASSERT_EQ(c.notes.size(), 2u);
  EXPECT_NE(c.notes[0].find("bom.csv:4: the gallium market has no region DEU"), std::string::npos)
      << c.notes[0];
  EXPECT_NE(c.notes[1].find("bom.csv:5: lithium is not simulated by scenario hand"),
            std::string::npos)
      << c.notes[1];
}

TEST(CompanyExposure, TheEuPriceIsTheOneTheDutchCardUses) {
  const auto prices = region_prices_usd_per_t(hand_result(), "EU27");
  EXPECT_NEAR(prices.at({"gallium", 2030}), 460000.0, 1e-6);
  EXPECT_NEAR(prices.at({"gallium", 2031}), 520000.0, 1e-6);
  EXPECT_FALSE(prices.contains({"gallium", 2029}));
}

TEST(CompanyExposure, ConvertsASpendToTonnesAtTheBasePriceAndTheBaseYearsRate) {
  double usd_per_eur = 0.0;
  int rate_year = 0;
  for (const FxRate& r : default_data().fx_rates) {
    if (r.year <= 2023 && r.year > rate_year) {
      rate_year = r.year;
      usd_per_eur = r.usd_per_eur;
    }
  }
  ASSERT_GT(usd_per_eur, 0.0);
  const Bom bom = bom_ok("material,spend_eur_per_yr\ngallium,1000000\n");
  Result<CompanyExposure> exposure = compute_company_exposure(default_data(), hand_result(), bom);
  ASSERT_TRUE(exposure.is_ok()) << exposure.status().to_string();
  const CompanyLineExposure& l = exposure.value().lines.at(0);
  EXPECT_DOUBLE_EQ(exposure.value().usd_per_eur, usd_per_eur);
  EXPECT_DOUBLE_EQ(l.quantity_t_per_yr, 1e6 * usd_per_eur / 400000.0);
  EXPECT_DOUBLE_EQ(l.spend_eur_per_yr, 1e6);
  EXPECT_NEAR(l.cost_change_usd[0], l.quantity_t_per_yr * 60000.0, 1e-6);
}

TEST(CompanyExposure, GivesHeadlineFiguresPerMaterialAndInTotalOnlyWithABom) {
  SimulationResult r = hand_result();
  const std::size_t without = headline_figures(r).size();
  r.company = compute_company_exposure(default_data(), r,
                                       bom_ok("material,quantity_t_per_yr\ngallium,2\ngallium,1\n"))
                  .value();
  const std::vector<HeadlineFigure> f = headline_figures(r);
  EXPECT_EQ(f.size(), without + 6);
  const auto figure = [&](const std::string& name) {
    for (const HeadlineFigure& h : f) {
      if (h.name == name) return h.value;
    }
    ADD_FAILURE() << "no figure " << name;
    return std::nan("");
  };
  // 3 t at the EU's prices: 180,000 and 360,000 USD.
  EXPECT_NEAR(figure("gallium.company_cost_change_usd_per_yr"), 270000.0, 1e-6);
  EXPECT_NEAR(figure("gallium.company_physical_shortage_t_per_yr"), 0.15, 1e-12);
  EXPECT_NEAR(figure("company_cost_change_usd_per_yr"), 270000.0, 1e-6);
  EXPECT_NEAR(figure("company_cost_change_usd_worst_year"), 360000.0, 1e-6);
  EXPECT_NEAR(figure("company_physical_shortage_usd_per_yr"), 0.15 * 400000.0, 1e-6);
  EXPECT_NEAR(figure("company_physical_shortage_usd_worst_year"), 0.3 * 400000.0, 1e-6);
  // Every figure is in the output table with the unit the code writes.
  for (const HeadlineFigure& h : f) {
    Result<const FigureAttributes*> attributes =
        find_figure(FigureGroup::kHeadline, figure_name_of(FigureGroup::kHeadline, h.name));
    ASSERT_TRUE(attributes.is_ok()) << attributes.status().to_string();
    EXPECT_EQ(attributes.value()->unit, h.unit) << h.name;
  }
  // summary.json's company block: every field is in the output table.
  const nlohmann::json summary = nlohmann::json::parse(simulation_to_json(r));
  ASSERT_TRUE(summary.contains("company"));
  EXPECT_EQ(summary["company"]["lines"].size(), 2u);
  for (const auto& [key, field] : summary["company"].items()) {
    if (!field.is_structured()) {
      EXPECT_TRUE(find_figure(FigureGroup::kSummary, key).is_ok()) << key;
    }
  }
  for (const auto& [key, field] : summary["company"]["lines"][0].items()) {
    EXPECT_TRUE(find_figure(FigureGroup::kSummary, key).is_ok()) << key;
  }
  for (const auto& [key, field] : summary["company"]["years"][0].items()) {
    EXPECT_TRUE(find_figure(FigureGroup::kSummary, key).is_ok()) << key;
  }
}

const char* kScenario =
    "[scenario]\nname = \"bom\"\nyears = [2025, 2027]\nseed = 3\n"
    "materials = [\"gallium\"]\n"
    "[[disruption]]\norigin = \"CHN\"\nmaterial = \"gallium\"\nstage = \"processing\"\n"
    "kind = \"export_ban\"\ndestinations = [\"all\"]\nstart = 2026\nyears = 1\n"
    "probability = 0.5\n";

TEST(CompanyExposure, EnsemblesBandTheCompanyFigures) {
  Result<SimulationScenario> scenario =
      scenario::read_simulation_scenario(kScenario, "bom.toml", default_data());
  ASSERT_TRUE(scenario.is_ok()) << scenario.status().to_string();
  scenario.value().bom = bom_ok("material,quantity_t_per_yr\ngallium,10\n");
  auto prepared = prepare_simulation(default_data(), scenario.value());
  ASSERT_TRUE(prepared.is_ok()) << prepared.status().to_string();
  EnsembleOptions options;
  options.seed = 11;
  options.runs = 8;
  options.threads = 2;
  Result<EnsembleRuns> runs = run_ensemble_share(prepared.value(), options);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  const EnsembleSummary summary = summarize_ensemble(scenario.value(), 11, runs.value());
  std::vector<std::string> names;
  for (const FigureBand& b : summary.figures) names.push_back(b.name);
  for (const char* name :
       {"gallium.company_cost_change_usd_per_yr", "gallium.company_physical_shortage_t_per_yr",
        "company_cost_change_usd_per_yr", "company_cost_change_usd_worst_year",
        "company_physical_shortage_usd_per_yr", "company_physical_shortage_usd_worst_year"}) {
    const auto it = std::find(names.begin(), names.end(), name);
    ASSERT_NE(it, names.end()) << name;
    const FigureBand& band = summary.figures[static_cast<std::size_t>(it - names.begin())];
    EXPECT_LE(band.p5, band.p50) << name;
    EXPECT_LE(band.p50, band.p95) << name;
  }
  // The deterministic run of the same scenario adds the same figures to a compare's verdict.
  Result<SimulationResult> run = run_simulation(default_data(), scenario.value());
  ASSERT_TRUE(run.is_ok()) << run.status().to_string();
  ASSERT_TRUE(run.value().company.has_value());
  const std::vector<DesignVerdict> verdicts = design_verdicts({run.value()}, 0.65);
  ASSERT_TRUE(verdicts.at(0).company_cost_change_usd_per_yr.has_value());
  EXPECT_DOUBLE_EQ(*verdicts[0].company_cost_change_usd_per_yr,
                   run.value().company->cost_change_mean_usd_per_yr);
}

TEST(CompanyExposure, ABomChangesNoOtherFigureOfTheRun) {
  Result<SimulationScenario> scenario =
      scenario::read_simulation_scenario(kScenario, "bom.toml", default_data());
  ASSERT_TRUE(scenario.is_ok()) << scenario.status().to_string();
  Result<SimulationResult> plain = run_simulation(default_data(), scenario.value());
  scenario.value().bom = bom_ok("material,quantity_t_per_yr\ngallium,10\n");
  Result<SimulationResult> with_bom = run_simulation(default_data(), scenario.value());
  ASSERT_TRUE(plain.is_ok() && with_bom.is_ok());
  const std::vector<HeadlineFigure> a = headline_figures(plain.value());
  const std::vector<HeadlineFigure> b = headline_figures(with_bom.value());
  ASSERT_GT(b.size(), a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name, b[i].name);
    EXPECT_EQ(a[i].value, b[i].value) << a[i].name;
  }
}

class CompanyCli : public ::testing::Test {
 protected:
  test::CliRun run(const std::string& args) const { return test::run_cli(dir_, args); }
  test::TempDir temp_{"critmin_bom_test_"};
  const fs::path& dir_ = temp_.path();
};

TEST_F(CompanyCli, SimulateWithABomPrintsAndStoresTheCompanysExposure) {
  const fs::path scenario = dir_ / "s.toml";
  const fs::path bom = dir_ / "bom.csv";
  test::write_file(scenario, kScenario);
  test::write_file(bom,
                   "material,quantity_t_per_yr,spend_eur_per_yr\ngallium,10,\ngallium,,500000\n");
  const test::CliRun r =
      run("simulate " + test::quote(scenario.string()) + " --bom " + test::quote(bom.string()) +
          " --out " + test::quote((dir_ / "out").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("== the company's own exposure"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cost change against base prices, mean per year"), std::string::npos)
      << r.out;
  const nlohmann::json summary =
      nlohmann::json::parse(test::read_file(dir_ / "out" / "summary.json"));
  ASSERT_TRUE(summary.contains("company"));
  EXPECT_EQ(summary["company"]["lines"].size(), 2u);
  EXPECT_EQ(summary["company"]["years"].size(), 3u);
}

TEST_F(CompanyCli, ABadBomIsAnInputErrorWithItsLine) {
  const fs::path scenario = dir_ / "s.toml";
  const fs::path bom = dir_ / "bom.csv";
  test::write_file(scenario, kScenario);
  test::write_file(bom, "material,quantity_t_per_yr\ngalium,10\n");
  const test::CliRun r =
      run("simulate " + test::quote(scenario.string()) + " --bom " + test::quote(bom.string()) +
          " --out " + test::quote((dir_ / "out").string()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("bom.csv:2:material: unknown material 'galium' (did you mean gallium?)"),
            std::string::npos)
      << r.err;
  const test::CliRun missing = run("simulate " + test::quote(scenario.string()) + " --bom " +
                                   test::quote((dir_ / "none.csv").string()) + " --out " +
                                   test::quote((dir_ / "out").string()));
  EXPECT_EQ(missing.exit_code, 4) << missing.err;
}

}  // namespace
}  // namespace critmin::sim
