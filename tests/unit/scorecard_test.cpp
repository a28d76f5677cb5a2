// The two scorecards, compare, back-tests, the investment rule and the example scenarios' golden
// summaries.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "critmin/core/figures.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/backtest.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/headline.h"
#include "critmin/sim/scorecard.h"
#include "critmin/sim/simulation.h"
#include "sim/investor.h"
#include "test_support.h"

namespace critmin::sim {
namespace {

using critmin::test::default_data;
using scenario::read_episode;
using scenario::read_simulation_scenario;

SimulationResult run_text(const std::string& text) {
  auto scenario = read_simulation_scenario(text, "sim.toml", default_data());
  EXPECT_TRUE(scenario.is_ok()) << scenario.status().to_string();
  if (!scenario.is_ok()) return {};
  auto result = run_simulation(default_data(), scenario.value());
  EXPECT_TRUE(result.is_ok()) << result.status().to_string();
  return result.is_ok() ? result.value() : SimulationResult{};
}

std::filesystem::path repo() { return std::filesystem::path(CRITMIN_TEST_DATA) / ".."; }

// A result made by hand: two years of gallium, the EU holding a stockpile, one project in the club.
SimulationResult hand_result() {
  SimulationResult r;
  r.materials = {"gallium"};
  r.first_year = 2030;
  r.last_year = 2031;
  r.club_regions = {"EU27", "USA"};
  r.bases = {{"gallium", 400000.0, "test", false}};
  for (int year : {2030, 2031}) {
    // The EU's processing: price 10% / 30% above base; 20 t made, 100 t used.
    const double price = year == 2030 ? 440000.0 : 520000.0;
    r.series.push_back({"gallium", Stage::kProcessing, "EU27", year, price, 20.0, 100.0, 80.0, 0.0,
                        110.0, 10.0, 0.0, 0.0});
    r.series.push_back({"gallium", Stage::kExtraction, "EU27", year, 200000.0, 5.0, 20.0, 15.0, 0.0,
                        0.0, 0.0, 0.0, 0.0});
    r.stage_scores.push_back({"gallium", Stage::kProcessing, year, "CHN", year == 2030 ? 0.9 : 0.6,
                              year == 2030, 8100.0});
    r.stage_scores.push_back({"gallium", Stage::kExtraction, year, "CHN", 0.95, true, 9000.0});
    // 2030: 10 t short, 4 t of it physical; 2031: 22 t short, all priced out.
    r.shortfalls.push_back({"gallium", "EU27", year, 110.0, year == 2030 ? 10.0 : 22.0,
                            year == 2030 ? 10.0 / 110.0 : 0.2, year == 2030 ? 4.0 : 0.0,
                            year == 2030 ? 6.0 : 22.0});
    r.fiscal.push_back({year, 1e6, 2e5});
  }
  r.payments.push_back({"gallium", 2031, 7, "stockpile", "EU27", "stock_end", 15.0, "t"});
  // The market's own stocks at the end of 2031: 30 t in the EU, 50 t in China (outside every
  // area the scorecard counts).
  r.series[2].market_stock_end_t = 30.0;
  r.series.push_back({"gallium", Stage::kProcessing, "CHN", 2031, 500000.0, 90.0, 60.0, 0.0, 30.0,
                      60.0, 0.0, 0.0, 0.0, 0.0, 0.0, 50.0});
  r.projects.push_back(
      {"p", "gallium", "EU27", Stage::kProcessing, 10.0, 1.0, 3e6, 2030, "investment"});
  r.projects.push_back({"q", "gallium", "CHN", Stage::kProcessing, 10.0, 1.0, 5e6, 2030, "crma"});
  return r;
}

TEST(Scorecards, SupplySecurityOfAHandMadeResult) {
  auto cards = compute_scorecards(default_data(), hand_result());
  ASSERT_TRUE(cards.is_ok()) << cards.status().to_string();
  const auto& stages = cards.value().security.stages;
  const auto processing = std::find_if(stages.begin(), stages.end(), [](const StageSecurity& s) {
    return s.stage == Stage::kProcessing;
  });
  ASSERT_NE(processing, stages.end());
  EXPECT_EQ(processing->top_third_country, "CHN");
  EXPECT_DOUBLE_EQ(processing->top_share_last, 0.6);
  EXPECT_DOUBLE_EQ(processing->top_share_max, 0.9);
  EXPECT_EQ(processing->years_in_breach, 1);  // 0.9 > 65%, 0.6 not
  EXPECT_DOUBLE_EQ(processing->eu_output_share_of_use, 20.0 / 100.0);
  EXPECT_DOUBLE_EQ(processing->crma_benchmark, 0.40);
  const auto extraction = std::find_if(stages.begin(), stages.end(), [](const StageSecurity& s) {
    return s.stage == Stage::kExtraction;
  });
  EXPECT_DOUBLE_EQ(extraction->eu_output_share_of_use, 5.0 / 100.0);
  EXPECT_DOUBLE_EQ(extraction->crma_benchmark, 0.10);
  ASSERT_EQ(cards.value().security.areas.size(), 1u);
  const AreaSecurity& eu = cards.value().security.areas[0];
  EXPECT_DOUBLE_EQ(eu.shortfall_t, 32.0);
  EXPECT_DOUBLE_EQ(eu.worst_shortfall_share, 0.2);
  EXPECT_EQ(eu.worst_year, 2031);
  // The shortfall apart: physical shortage only in 2030, the worst priced-out year is 2031.
  EXPECT_DOUBLE_EQ(eu.physical_shortage_t, 4.0);
  EXPECT_DOUBLE_EQ(eu.priced_out_t, 28.0);
  EXPECT_DOUBLE_EQ(eu.worst_physical_share, 4.0 / 110.0);
  EXPECT_EQ(eu.worst_physical_year, 2030);
  EXPECT_DOUBLE_EQ(eu.worst_priced_out_share, 0.2);
  // Cover: the stockpile's 15 t and the market's 30 t in the EU, not China's 50 t.
  ASSERT_TRUE(eu.days_of_cover.has_value());
  EXPECT_DOUBLE_EQ(*eu.days_of_cover, 365.0 * (15.0 + 30.0) / 110.0);
}

TEST(Scorecards, DutchInputCostIsUseTimesEndUseShareTimesPriceChange) {
  const Dataset& data = default_data();
  auto cards = compute_scorecards(data, hand_result());
  ASSERT_TRUE(cards.is_ok()) << cards.status().to_string();
  const BusinessScorecard& b = cards.value().business;
  // Independently: Dutch gallium imports in the trade year, and the C26 share of EU use.
  const int trade_year = static_cast<int>(data.parameter("trade_year"));
  std::map<std::string, std::size_t> codes;  // CN8 -> number of materials
  std::set<std::string> gallium_codes;
  for (const Cn8Mapping& m : data.cn8_materials) {
    codes[m.cn8] = m.material_ids.size();
    if (std::find(m.material_ids.begin(), m.material_ids.end(), "gallium") !=
        m.material_ids.end()) {
      gallium_codes.insert(m.cn8);
    }
  }
  double usd_per_eur = 0.0;
  for (const FxRate& r : data.fx_rates) {
    if (r.year == trade_year) usd_per_eur = r.usd_per_eur;
  }
  ASSERT_GT(usd_per_eur, 0.0);
  double imports_usd = 0.0;
  for (const ImportFlow& f : data.eu_imports) {
    if (f.declarant_iso3 == "NLD" && f.year == trade_year && gallium_codes.contains(f.cn8)) {
      imports_usd += f.value_eur * usd_per_eur / static_cast<double>(codes[f.cn8]);
    }
  }
  ASSERT_GT(imports_usd, 0.0);
  // Dutch use: imports less the re-exported share (gallium's own row, else the default).
  double re_export_share = -1.0;
  for (const ReExportShare& r : data.nl_re_export_shares) {
    if (r.material_id == "gallium" || (r.material_id == "*" && re_export_share < 0.0)) {
      re_export_share = r.share;
    }
  }
  ASSERT_GT(re_export_share, 0.0);
  const double use_usd = imports_usd * (1.0 - re_export_share);
  double c26 = 0.0, named = 0.0, all = 0.0;
  for (const EndUseShare& e : data.end_use_shares) {
    if (e.material_id != "gallium") continue;
    all += e.share;
    if (!e.nace_code.empty()) named += e.share;
    if (e.nace_code == "C26") c26 += e.share;
  }
  const double inputs = use_usd * c26 / std::max(all, named);
  // Mean of +10% (2030) and +30% (2031).
  const auto sector = std::find_if(b.sectors.begin(), b.sectors.end(),
                                   [](const SectorCost& s) { return s.nace_code == "C26"; });
  ASSERT_NE(sector, b.sectors.end());
  EXPECT_NEAR(sector->material_inputs_usd, inputs, 1e-12 * inputs);
  EXPECT_NEAR(sector->cost_change_mean_usd, inputs * 0.2, 1e-9 * inputs);
  EXPECT_NEAR(sector->cost_change_peak_usd, inputs * 0.3, 1e-9 * inputs);
  EXPECT_EQ(sector->peak_year, 2031);
  EXPECT_DOUBLE_EQ(b.usd_per_eur, usd_per_eur);
  EXPECT_DOUBLE_EQ(b.fiscal_cost_usd, 2e6);
  EXPECT_DOUBLE_EQ(b.levy_revenue_usd, 4e5);
  EXPECT_DOUBLE_EQ(b.club_investment_usd, 3e6);      // the CHN project is outside the club
  EXPECT_GT(b.manufacturing_intermediate_usd, 0.0);  // CBS, NACE C
  EXPECT_NEAR(b.share_of_manufacturing_inputs,
              b.total_cost_change_mean_usd / b.manufacturing_intermediate_usd, 1e-15);
}

TEST(Scorecards, AResultWithoutABasePriceIsRefused) {
  SimulationResult r = hand_result();
  r.bases.clear();
  auto cards = compute_scorecards(default_data(), r);
  ASSERT_FALSE(cards.is_ok());
  EXPECT_NE(cards.status().message().find("no base price for gallium"), std::string::npos);
}

TEST(Compare, TheVerdictPricesSecurityGainedAgainstTheFirstDesign) {
  // Reference: 4 t of EU physical shortage in 2030 at a base price of 400,000 USD/t (1.6 M USD),
  // China holding 60% of processing in the last year, fiscal cost 2 M USD.
  SimulationResult reference = hand_result();
  auto cards = compute_scorecards(default_data(), reference);
  ASSERT_TRUE(cards.is_ok());
  reference.scorecards = cards.value();
  // The design: 1 t short (0.4 M USD), China at 50%, fiscal cost 2 M + 3 M USD.
  SimulationResult design = reference;
  design.shortfalls[0].physical_shortage_t = 1.0;
  design.shortfalls[0].priced_out_t = 9.0;
  design.stage_scores[2].top_third_country_share = 0.5;  // processing, 2031
  design.fiscal[1].fiscal_cost_usd += 3e6;
  const std::vector<DesignVerdict> v = design_verdicts({reference, design}, 0.65);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_DOUBLE_EQ(v[0].eu_physical_shortage_usd, 4.0 * 400000.0);
  EXPECT_DOUBLE_EQ(v[1].eu_physical_shortage_usd, 1.0 * 400000.0);
  EXPECT_DOUBLE_EQ(v[0].eu_physical_shortage_share, 4.0 / 110.0);
  EXPECT_EQ(v[0].eu_physical_shortage_text, "gallium 4 t (3.64% in 2030)");
  EXPECT_DOUBLE_EQ(v[0].top_third_country_share, 0.6);
  EXPECT_DOUBLE_EQ(v[1].top_third_country_share, 0.5);
  EXPECT_EQ(v[0].top_third_country_text, "no material above 65%");
  EXPECT_DOUBLE_EQ(v[0].fiscal_cost_usd, 2e6);
  EXPECT_DOUBLE_EQ(v[1].fiscal_cost_usd, 5e6);
  EXPECT_DOUBLE_EQ(v[0].dutch_cost_change_usd_per_yr,
                   reference.scorecards.business.total_cost_change_mean_usd);
  // 3 M USD more for 10 points less and 1.2 M USD of shortage avoided.
  EXPECT_FALSE(v[0].fiscal_cost_per_point_usd.has_value());
  ASSERT_TRUE(v[1].fiscal_cost_per_point_usd.has_value());
  EXPECT_NEAR(*v[1].fiscal_cost_per_point_usd, 3e6 / 10.0, 1e-6);
  ASSERT_TRUE(v[1].fiscal_cost_per_shortage_usd.has_value());
  EXPECT_NEAR(*v[1].fiscal_cost_per_shortage_usd, 3e6 / 1.2e6, 1e-12);
  // A design that gains nothing has no cost per unit, and says why.
  const std::vector<DesignVerdict> same = design_verdicts({reference, reference}, 0.65);
  EXPECT_FALSE(same[1].fiscal_cost_per_point_usd.has_value());
  EXPECT_EQ(same[1].fiscal_cost_per_point_text, "removes no concentration");
  EXPECT_EQ(same[1].fiscal_cost_per_shortage_text, "avoids no physical shortage");
}

TEST(Attribution, IsTheDesignAgainstTheRunWithoutItsInstrumentsByHand) {
  // Without the instruments: 4 t of EU physical shortage (2030), China at 60% in 2031, one
  // 10 t/yr refinery in the EU and one in China, no fiscal cost.
  SimulationResult without = hand_result();
  without.fiscal.clear();
  auto cards = compute_scorecards(default_data(), without);
  ASSERT_TRUE(cards.is_ok());
  without.scorecards = cards.value();
  // The design: 1 t short, China at 50%, a further 25 t/yr refinery in the USA (a member, 7 M USD
  // of capital), and a subsidy that cost 2 M USD in 2031.
  SimulationResult design = hand_result();
  design.fiscal.clear();
  design.shortfalls[0].physical_shortage_t = 1.0;
  design.stage_scores[2].top_third_country_share = 0.5;
  design.projects.push_back(
      {"r", "gallium", "USA", Stage::kProcessing, 25.0, 1.0, 7e6, 2031, "investment"});
  design.payments.push_back({"gallium", 2031, 9, "subsidy", "", "subsidy_cost", 2e6, "USD"});
  cards = compute_scorecards(default_data(), design);
  ASSERT_TRUE(cards.is_ok());
  design.scorecards = cards.value();

  const Attribution a = attribute(design, without);
  EXPECT_DOUBLE_EQ(a.investment_attracted_usd, 7e6);
  EXPECT_DOUBLE_EQ(material_fiscal_cost_usd(design, "gallium"), 2e6);
  EXPECT_DOUBLE_EQ(a.physical_shortage_avoided_usd, 3.0 * 400000.0);
  EXPECT_DOUBLE_EQ(a.top_share_change_points, -10.0);
  ASSERT_EQ(a.materials.size(), 1u);
  EXPECT_DOUBLE_EQ(a.materials[0].physical_shortage_avoided_t, 3.0);
  EXPECT_DOUBLE_EQ(a.materials[0].non_chinese_capacity_added_t, 25.0);  // China's stays out
  EXPECT_DOUBLE_EQ(a.materials[0].fiscal_cost_usd, 2e6);
  ASSERT_TRUE(a.materials[0].cost_per_t_capacity_usd.has_value());
  EXPECT_DOUBLE_EQ(*a.materials[0].cost_per_t_capacity_usd, 2e6 / 25.0);
  // The run-level fiscal cost is the business card's (its fiscal rows, empty here).
  EXPECT_DOUBLE_EQ(a.fiscal_cost_usd, 0.0);
  ASSERT_TRUE(a.cost_per_point_usd.has_value());
  EXPECT_DOUBLE_EQ(*a.cost_per_point_usd, 0.0);

  // Its lines: an attribution card, one line per figure and material.
  Scorecards with_attribution = design.scorecards;
  with_attribution.attribution = a;
  std::map<std::string, std::optional<double>> lines;
  for (const ScoreLine& l : scorecard_lines(with_attribution)) {
    if (l.card == "attribution") lines[l.key] = l.value;
  }
  EXPECT_EQ(lines.size(), 9u);
  EXPECT_EQ(lines["attribution/investment_attracted_usd"], 7e6);
  EXPECT_EQ(lines["gallium/attribution/non_chinese_capacity_added_t"], 25.0);
}

TEST(Compare, MatchesLinesByKeyAndDiffersFromTheFirstDesign) {
  auto a = compute_scorecards(default_data(), hand_result());
  SimulationResult changed = hand_result();
  changed.shortfalls.back().shortfall_t = 30.0;  // 2031: 22 -> 30 t
  changed.materials.push_back("lithium");        // a line only the second design has
  changed.bases.push_back({"lithium", 1.0, "test", false});
  auto b = compute_scorecards(default_data(), changed);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  const Comparison c = compare_scorecards({{"A", a.value()}, {"B", b.value()}});
  ASSERT_EQ(c.designs.size(), 2u);
  const auto line = [&](const std::string& key) {
    const auto it = std::find_if(c.lines.begin(), c.lines.end(),
                                 [&](const ComparedLine& l) { return l.key == key; });
    EXPECT_NE(it, c.lines.end()) << key;
    return *it;
  };
  const ComparedLine shortfall = line("gallium/EU27/shortfall_t");
  EXPECT_DOUBLE_EQ(*shortfall.values[0], 32.0);
  EXPECT_DOUBLE_EQ(*shortfall.values[1], 40.0);
  EXPECT_DOUBLE_EQ(*shortfall.differences[1], 8.0);
  const ComparedLine recycling = line("lithium/recycling");
  EXPECT_FALSE(recycling.values[0].has_value());  // A has no lithium line
  EXPECT_FALSE(recycling.differences[1].has_value());
  const auto json = nlohmann::json::parse(comparison_to_json(c));
  EXPECT_EQ(json["designs"][1], "B");
  const std::string table = comparison_to_table(c);
  EXPECT_NE(table.find("== supply security =="), std::string::npos);
  EXPECT_NE(table.find("+8"), std::string::npos);
}

TEST(Compare, EnsembleBandsAreMatchedByFigureName) {
  auto a = compute_scorecards(default_data(), hand_result());
  ASSERT_TRUE(a.is_ok());
  Comparison c = compare_scorecards({{"A", a.value()}, {"B", a.value()}});
  EnsembleSummary first, second;
  first.runs = second.runs = 10;
  first.figures = {{"gallium.world_price_mean", "USD/t", 1.0, 2.0, 3.0, 2.0, 0.5, 3.5}};
  second.figures = {{"lithium.world_price_mean", "USD/t", 4.0, 5.0, 6.0, 5.0, 4.0, 6.0},
                    {"gallium.world_price_mean", "USD/t", 1.5, 2.5, 3.5, 2.5, 1.0, 4.0}};
  add_ensemble_bands(c, {first, second});
  ASSERT_EQ(c.bands.size(), 2u);
  EXPECT_EQ(c.bands[0].name, "gallium.world_price_mean");
  EXPECT_DOUBLE_EQ(c.bands[0].bands[0]->p95, 3.0);
  EXPECT_DOUBLE_EQ(c.bands[0].bands[1]->p50, 2.5);
  EXPECT_FALSE(c.bands[1].bands[0].has_value());  // A has no lithium figure
  EXPECT_NE(comparison_to_table(c).find("P5 / P50 / P95 over 10 runs"), std::string::npos);
  const auto json = nlohmann::json::parse(comparison_to_json(c));
  EXPECT_EQ(json["runs"], 10);
  EXPECT_TRUE(json["bands"][1]["p5"][0].is_null());
  EXPECT_DOUBLE_EQ(json["bands"][1]["p5"][1].get<double>(), 4.0);
}

TEST(CompareCli, RunsEnsemblesPerDesignWithRuns) {
  test::TempDir dir("critmin_compare_");
  const auto baseline = (repo() / "scenarios" / "sim-gallium-ban.toml").string();
  const auto certified = (repo() / "scenarios" / "sim-gallium-ban-certified.toml").string();
  const auto r = test::run_cli(
      dir.path(), "compare " + baseline + " " + certified + " --runs 4 --threads 2 --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["runs"], 4);
  EXPECT_FALSE(json["bands"].empty());
  const auto one = test::run_cli(dir.path(), "compare " + baseline);
  EXPECT_EQ(one.exit_code, 2);
  EXPECT_NE(one.err.find("compare needs at least two scenarios"), std::string::npos) << one.err;
}

// ---- the investment rule ------------------------------------------------------------------

// The processing row of a region and year in a simulation's series.
SeriesRow processing_row(const SimulationResult& r, const std::string& region, int year) {
  for (const SeriesRow& s : r.series) {
    if (s.region == region && s.year == year && s.stage == Stage::kProcessing) return s;
  }
  ADD_FAILURE() << region << " " << year;
  return SeriesRow{};
}

// Whether one of `problems` contains `part`.
bool mentions(const std::vector<std::string>& problems, const std::string& part) {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const std::string& p) { return p.find(part) != std::string::npos; });
}

std::string lithium_run(const std::string& extra) {
  return "[scenario]\nname = \"li\"\nyears = [2025, 2034]\nseed = 5\nmaterials = [\"lithium\"]\n" +
         extra;
}

// Neodymium over eleven years: demand growth draws merchant investment, whose investors see the
// price risk of neodymium's history (a volatility of about 0.45).
std::string neodymium_run(const std::string& extra) {
  return "[scenario]\nname = \"nd\"\nyears = [2025, 2035]\nseed = 11\nmaterials = "
         "[\"neodymium\"]\n" +
         extra;
}

TEST(Investment, EveryDecisionHasAPositiveExpectedNpvByTheStatedFormulaAndAnAcceptableRisk) {
  const SimulationResult r = run_text(neodymium_run(""));
  ASSERT_FALSE(r.investments.empty()) << "growing demand should draw some investment";
  for (const InvestmentDecision& d : r.investments) {
    double annuity = 0.0;
    for (int t = d.lead_years; t < d.lead_years + d.lifetime_years; ++t) {
      annuity += std::pow(1.0 + d.hurdle_rate, -t);
    }
    // The NPV is affine in the revenue, so the expected NPV is the NPV of the expected revenue.
    const double npv =
        (d.revenue_usd_per_t - d.unit_cost_usd_per_t) * d.capacity_t * annuity - d.capex_usd;
    EXPECT_NEAR(d.npv_usd, npv, 1e-6 * std::abs(npv));
    EXPECT_GT(d.npv_usd, 0.0);
    // investment_max_loss_probability: a lender's P90 case.
    EXPECT_LE(d.probability_loss, 0.1);
    EXPECT_GE(d.probability_loss, 0.0);
    EXPECT_EQ(d.online_year, d.decision_year + d.lead_years);
    EXPECT_FALSE(d.contracted);  // no instrument
    EXPECT_DOUBLE_EQ(d.hurdle_rate, 0.12);
  }
  // What was decided comes online, as a project of origin "investment", in its year.
  for (const InvestmentDecision& d : r.investments) {
    if (d.online_year > r.last_year) continue;
    const bool online = std::any_of(r.projects.begin(), r.projects.end(), [&](const auto& p) {
      return p.origin == "investment" && p.region == d.region && p.online_year == d.online_year;
    });
    EXPECT_TRUE(online) << d.region << " " << d.online_year;
  }
}

TEST(Investment, ACfdTakesThePriceRiskLowersTheRateAndDrawsInvestmentToItsProducers) {
  const std::string cfd =
      "[club]\nmembers = [\"EU27\", \"USA\"]\n"
      "[[instrument]]\ntype = \"subsidy\"\nkind = \"cfd\"\nmaterial = \"neodymium\"\n"
      "stage = \"extraction\"\nproducers = [\"EU27\"]\nstrike = 100.0\nunit = \"USD/kg\"\n";
  const SimulationResult with = run_text(neodymium_run(cfd));
  const SimulationResult without = run_text(neodymium_run(""));
  const auto eu_mining = [](const SimulationResult& r) {
    double capacity = 0.0;
    for (const InvestmentDecision& d : r.investments) {
      if (d.region == "EU27" && d.stage == Stage::kExtraction) capacity += d.capacity_t;
    }
    return capacity;
  };
  EXPECT_GT(eu_mining(with), eu_mining(without));
  bool contracted = false;
  for (const InvestmentDecision& d : with.investments) {
    if (d.region == "EU27" && d.stage == Stage::kExtraction) {
      contracted = true;
      EXPECT_TRUE(d.contracted);
      EXPECT_DOUBLE_EQ(d.hurdle_rate, 0.08);
      // A mine's two-way CfD fixes its whole revenue: no price is left to lose on.
      EXPECT_DOUBLE_EQ(d.probability_loss, 0.0);
    }
  }
  EXPECT_TRUE(contracted);
}

TEST(Investment, AFloorCoversAMembersFirstRefineryNotOnlyItsExistingOnes) {
  // The 110 USD/kg NdPr top-up floor for the club: a member that refines no NdPr in the base
  // year (the United States, Japan, Korea, the EU) counts on the floor for a new refinery, since
  // the top-up pays it once it is online. Its decision is contracted, at the lower rate.
  const std::string floor =
      "[club]\nmembers = [\"USA\", \"JPN\", \"EU27\", \"AUS\", \"KOR\"]\n"
      "[[instrument]]\ntype = \"price_floor\"\nmaterial = \"neodymium\"\n"
      "stage = \"processing\"\nprice = 110.0\nunit = \"USD/kg\"\nenforcement = \"top_up\"\n";
  const SimulationResult r = run_text(neodymium_run(floor));
  int first_refineries = 0;
  for (const InvestmentDecision& d : r.investments) {
    if (d.stage != Stage::kProcessing || d.region == "AUS") continue;
    if (processing_row(r, d.region, 2025).production_t > 0.0) continue;
    ++first_refineries;
    EXPECT_TRUE(d.contracted) << d.region << " " << d.decision_year;
    EXPECT_DOUBLE_EQ(d.hurdle_rate, 0.08);
  }
  EXPECT_GT(first_refineries, 0);
}

TEST(Investment, AMerchantProjectOfAVolatileMaterialNeedsAWiderMargin) {
  // The same economics at two volatilities: lithium's 0.88 (its 2019-2024 headline series) and
  // copper's 0.20. The loss probability of the volatile one is higher, and at a 10% tolerance it
  // needs a median revenue about exp(1.28 x 0.88) = 3.1 times its break-even.
  const auto revenue = [](double f) { return 100.0 * f; };
  const ProjectEconomics project{60.0, 1000.0, 10.0, 200000.0};  // break-even 80
  const NpvDistribution volatile_one = npv_distribution(revenue, 1.5, 0.88, project);
  const NpvDistribution calm_one = npv_distribution(revenue, 1.5, 0.20, project);
  EXPECT_GT(volatile_one.probability_loss, 0.1);
  EXPECT_LT(calm_one.probability_loss, 0.1);
  EXPECT_TRUE(investable(calm_one.expected_npv_usd, calm_one.probability_loss, 0.1));
  EXPECT_FALSE(investable(volatile_one.expected_npv_usd, volatile_one.probability_loss, 0.1));
}

TEST(Investment, ADominantSuppliersPriceCutDetersEntry) {
  const std::string cut =
      "[[disruption]]\norigin = \"CHN\"\nmaterial = \"neodymium\"\nstage = \"processing\"\n"
      "kind = \"price_cut\"\nshare = 0.6\nstart = 2025\nyears = 11\nprobability = 1.0\n";
  const SimulationResult with = run_text(neodymium_run(cut));
  const SimulationResult without = run_text(neodymium_run(""));
  const auto capacity = [](const SimulationResult& r) {
    double sum = 0.0;
    for (const InvestmentDecision& d : r.investments) {
      if (d.stage == Stage::kProcessing && d.region != "CHN") sum += d.capacity_t;
    }
    return sum;
  };
  EXPECT_GT(capacity(without), 0.0);
  EXPECT_LT(capacity(with), capacity(without));
}

TEST(Investment, APriceCutIsValidatedLikeAnyDisruption) {
  const std::string text = lithium_run(
      "[[disruption]]\norigin = \"CHN\"\nmaterial = \"lithium\"\nstage = \"processing\"\n"
      "kind = \"price_cut\"\ndestinations = [\"all\"]\nstart = 2025\nyears = 1\n"
      "probability = 1.0\n");
  auto scenario = read_simulation_scenario(text, "sim.toml", default_data());
  ASSERT_FALSE(scenario.is_ok());
  const auto problems = test::texts(scenario.status().diagnostics());
  const auto has = [&](const std::string& part) { return mentions(problems, part); };
  EXPECT_TRUE(has("share: a price cut needs share")) << ::testing::PrintToString(problems);
  EXPECT_TRUE(has("destinations: a price cut applies to every buyer"))
      << ::testing::PrintToString(problems);
}

// An output cut takes its share of the origin's capacity out in its years only: in 2026 China
// produces less and the EU pays more than without the cut (China's cheap capacity is gone and
// dearer reserve capacity elsewhere runs); the year before is that of the run without it.
TEST(Disruption, AnOutputCutLowersTheOriginsOutputAndRaisesPricesInItsYearsOnly) {
  const std::string cut =
      "[[disruption]]\norigin = \"CHN\"\nmaterial = \"lithium\"\nstage = \"processing\"\n"
      "kind = \"output_cut\"\nshare = 0.4\nstart = 2026\nyears = 1\nprobability = 1.0\n";
  const SimulationResult with = run_text(lithium_run(cut));
  const SimulationResult without = run_text(lithium_run(""));
  const auto row = processing_row;
  EXPECT_LT(row(with, "CHN", 2026).production_t, row(without, "CHN", 2026).production_t);
  EXPECT_GT(row(with, "EU27", 2026).price_usd_per_t, row(without, "EU27", 2026).price_usd_per_t);
  EXPECT_DOUBLE_EQ(row(with, "CHN", 2025).production_t, row(without, "CHN", 2025).production_t);
  EXPECT_DOUBLE_EQ(row(with, "EU27", 2025).price_usd_per_t,
                   row(without, "EU27", 2025).price_usd_per_t);
}

// A demand shock moves demand off the base path in its years only: 20% more lithium demand
// everywhere in 2026 raises the EU price that year and leaves 2025 as it was.
TEST(Disruption, ADemandShockRaisesDemandAndPricesInItsYearsOnly) {
  const std::string boom =
      "[[demand_shock]]\nmaterial = \"lithium\"\nregion = \"all\"\nshare = 0.2\n"
      "start = 2026\nyears = 1\n";
  const SimulationResult with = run_text(lithium_run(boom));
  const SimulationResult without = run_text(lithium_run(""));
  const auto row = [](const SimulationResult& r, int year) {
    return processing_row(r, "EU27", year);
  };
  EXPECT_NEAR(row(with, 2026).demand_t, 1.2 * row(without, 2026).demand_t,
              1e-9 * row(without, 2026).demand_t);
  EXPECT_GT(row(with, 2026).price_usd_per_t, row(without, 2026).price_usd_per_t);
  EXPECT_DOUBLE_EQ(row(with, 2025).price_usd_per_t, row(without, 2025).price_usd_per_t);
}

TEST(Disruption, ADemandShockInARegionTheMarketLacksIsRefusedWithItsLine) {
  auto scenario = read_simulation_scenario(
      lithium_run("[[demand_shock]]\nmaterial = \"lithium\"\nregion = \"Atlantis\"\n"
                  "share = 0.2\nstart = 2026\nyears = 1\n"),
      "sim.toml", default_data());
  ASSERT_TRUE(scenario.is_ok()) << scenario.status().to_string();
  Result<SimulationResult> run = run_simulation(default_data(), scenario.value());
  ASSERT_FALSE(run.is_ok());
  const auto problems = test::texts(run.status().diagnostics());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(
      problems[0].rfind("sim.toml:6:region: 'Atlantis' is no region of the lithium market", 0), 0u)
      << problems[0];
}

TEST(Disruption, AnOutputCutNeedsItsShareAndNoDestinations) {
  const std::string text = lithium_run(
      "[[disruption]]\norigin = \"CHN\"\nmaterial = \"lithium\"\nstage = \"extraction\"\n"
      "kind = \"output_cut\"\ndestinations = [\"all\"]\nstart = 2025\nyears = 1\n"
      "probability = 1.0\n");
  auto scenario = read_simulation_scenario(text, "sim.toml", default_data());
  ASSERT_FALSE(scenario.is_ok());
  const auto problems = test::texts(scenario.status().diagnostics());
  const auto has = [&](const std::string& part) { return mentions(problems, part); };
  EXPECT_TRUE(has("sim.toml:6:share: an output cut needs share"))
      << ::testing::PrintToString(problems);
  EXPECT_TRUE(has("destinations: an output cut applies to the origin's supply"))
      << ::testing::PrintToString(problems);
}

TEST(Investment, TheSameSeedDecidesTheSameProjects) {
  const SimulationResult a = run_text(lithium_run(""));
  const SimulationResult b = run_text(lithium_run(""));
  EXPECT_EQ(simulation_to_json(a), simulation_to_json(b));
}

// ---- back-tests ----------------------------------------------------------------------------

Result<BacktestResult> shipped(const std::string& name) {
  const auto file = std::filesystem::path(default_data().directory) / "episodes" / (name + ".toml");
  const std::string text = test::read_file(file);
  auto episode = read_episode(text, file.string(), default_data());
  CRITMIN_RETURN_IF_ERROR(episode);
  return run_backtest(default_data(), episode.value());
}

TEST(Backtest, ShipsTheGalliumAndGraphiteEpisodes) {
  const auto files = shipped_episodes(default_data().directory);
  std::set<std::string> names;
  for (const auto& f : files) names.insert(f.stem().string());
  EXPECT_TRUE(names.contains("gallium-germanium-2023"));
  EXPECT_TRUE(names.contains("graphite-2023"));
}

TEST(Backtest, GalliumLicensingRaisesTheEuPriceAndLowersChinasInTheModel) {
  auto r = shipped("gallium-germanium-2023");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r.value().lines.size(), 2u);
  const BacktestLine& eu = r.value().lines[0];
  EXPECT_EQ(eu.observation.region, "EU27");
  EXPECT_NEAR(eu.observation.observed_change(), 575.0 / 257.5 - 1.0, 1e-12);
  EXPECT_GT(eu.model_change, 0.0);  // the observed sign
  EXPECT_NEAR(eu.model_change, eu.model_with / eu.model_without - 1.0, 1e-12);
  const BacktestLine& china = r.value().lines[1];
  EXPECT_LT(china.model_change, 0.0);  // supply trapped in China (observed: +18.5%)
}

// Germanium clears on its documented output estimate, so both germanium episodes ship and run: the
// licensing alone traps supply in China (its price falls; observed: +38% with state buying), and
// with the ban kept the EU price rises the observed way.
TEST(Backtest, GermaniumEpisodesRunOnGermaniumsOwnMarket) {
  auto licensing = shipped("germanium-2023");
  ASSERT_TRUE(licensing.is_ok()) << licensing.status().to_string();
  ASSERT_EQ(licensing.value().lines.size(), 1u);
  EXPECT_EQ(licensing.value().lines[0].observation.region, "CHN");
  EXPECT_LT(licensing.value().lines[0].model_change, 0.0);
  auto ban = shipped("germanium-2024-us-ban");
  ASSERT_TRUE(ban.is_ok()) << ban.status().to_string();
  ASSERT_EQ(ban.value().lines.size(), 1u);
  EXPECT_EQ(ban.value().lines[0].observation.region, "EU27");
  EXPECT_GT(ban.value().lines[0].model_change, 0.0);
  EXPECT_TRUE(right_direction(ban.value().lines[0].observation.observed_change(),
                              ban.value().lines[0].model_change));
}

TEST(Backtest, GraphitePermitsLowerTheChinesePriceAsObserved) {
  auto r = shipped("graphite-2023");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  ASSERT_EQ(r.value().lines.size(), 1u);
  EXPECT_LT(r.value().lines[0].observation.observed_change(), 0.0);
  EXPECT_LT(r.value().lines[0].model_change, 0.0);
  const std::string table = backtests_to_table({r.value()});
  EXPECT_NE(table.find("graphite-2023"), std::string::npos);
  const auto json = nlohmann::json::parse(backtests_to_json({r.value()}));
  EXPECT_EQ(json["episodes"][0]["lines"][0]["region"], "CHN");
  EXPECT_EQ(json["episodes"][0]["lines"][0]["right_direction"], true);
  EXPECT_EQ(json["summary"]["figures"], 1);
}

// Hand-worked: observed +50% is a ratio of 1.5; a model ratio within a factor 1.5 either way
// (1.0 to 2.25) is in band, so +0% and +125% are in and -1% or +126% out.
TEST(Backtest, BandIsAFactorOfOnePointFiveOnTheAfterOverBeforeRatio) {
  EXPECT_TRUE(within_band(0.5, 0.0));
  EXPECT_TRUE(within_band(0.5, 1.25));
  EXPECT_FALSE(within_band(0.5, -0.01));
  EXPECT_FALSE(within_band(0.5, 1.26));
  EXPECT_FALSE(within_band(0.5, -1.0));  // a price that vanished is no ratio
}

TEST(Backtest, DirectionCountsSmallMovesAsNoMoveOnBothSides) {
  EXPECT_TRUE(right_direction(0.2, 0.05));
  EXPECT_FALSE(right_direction(0.2, -0.05));
  EXPECT_TRUE(right_direction(0.01, -0.015));  // both within 2% of no change
  EXPECT_FALSE(right_direction(0.3, 0.0));     // the model does not move, the market did
}

TEST(Backtest, SummaryCountsEveryFigureOfEveryEpisode) {
  BacktestResult a, b;
  BacktestLine in_and_right, out_but_right, out_and_wrong;
  in_and_right.observation.before = 100.0;
  in_and_right.observation.after = 150.0;
  in_and_right.model_change = 0.4;
  out_but_right = in_and_right;
  out_but_right.model_change = 2.0;
  out_and_wrong = in_and_right;
  out_and_wrong.model_change = -0.3;
  a.lines = {in_and_right, out_but_right};
  b.lines = {out_and_wrong};
  const BacktestSummary s = summarize_backtests({a, b});
  EXPECT_EQ(s.figures, 3);
  EXPECT_EQ(s.within_band, 1);
  EXPECT_EQ(s.right_direction, 2);
}

TEST(Backtest, AnEpisodeFileIsCheckedAtFileLineKey) {
  const std::string text =
      "[episode]\ntitle = \"t\"\nyear = 2031\ncolour = 1\n"                                 // 1-4
      "[scenario]\nyears = [2024, 2024]\nseed = 1\nmaterials = [\"gallium\"]\n"             // 5-8
      "[[disruption]]\norigin = \"CHN\"\nmaterial = \"gallium\"\nstage = \"processing\"\n"  // 9-12
      "kind = \"export_ban\"\ndestinations = [\"all\"]\nstart = 2024\nyears = 1\n"          // 13-16
      "probability = 1.0\n"                                                                 // 17
      "[[observed]]\nfigure = \"volume\"\nregion = \"EU27\"\nstage = \"processing\"\n"      // 18-21
      "before = 0.0\nafter = 1.0\nunit = \"t\"\nwhen = \"w\"\nsource = \"s\"\n";            // 22-26
  auto episode = read_episode(text, "ep.toml", default_data());
  ASSERT_FALSE(episode.is_ok());
  const auto problems = test::texts(episode.status().diagnostics());
  const auto has = [&](const std::string& part) { return mentions(problems, part); };
  EXPECT_TRUE(has("ep.toml:3:year: 2031 is not a simulated year"))
      << ::testing::PrintToString(problems);
  EXPECT_TRUE(has("ep.toml:4:episode.colour: unknown key")) << ::testing::PrintToString(problems);
  EXPECT_TRUE(has("ep.toml:19:figure: 'volume' is not a figure"))
      << ::testing::PrintToString(problems);
  EXPECT_TRUE(has("ep.toml:22:before: the value before the measure must be > 0"))
      << ::testing::PrintToString(problems);
}

TEST(Backtest, AnObservationOfARegionTheMarketLacksNamesTheRegionsItHas) {
  std::string text = test::read_file(std::filesystem::path(default_data().directory) / "episodes" /
                                     "graphite-2023.toml");
  const auto at = text.find("region = \"CHN\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 14, "region = \"XXX\"");
  auto episode = read_episode(text, "g.toml", default_data());
  ASSERT_TRUE(episode.is_ok()) << episode.status().to_string();
  auto r = run_backtest(default_data(), episode.value());
  ASSERT_FALSE(r.is_ok());
  const auto problems = test::texts(r.status().diagnostics());
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("'XXX' is not a region of the natural_graphite market; use one of:"),
            std::string::npos)
      << problems[0];
}

// ---- the example scenarios' golden summaries -------------------------------------------------
// tests/golden/<scenario>.json holds the scorecard lines of each example scenario. Run the tests
// with CRITMIN_UPDATE_GOLDEN=1 to rewrite them after a deliberate model change, and review the
// diff.

class ExampleScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(ExampleScenario, KeepsItsScorecardLines) {
  const std::string name = GetParam();
  const std::string text = test::read_file(repo() / "scenarios" / (name + ".toml"));
  ASSERT_FALSE(text.empty()) << name;
  const SimulationResult r = run_text(text);
  nlohmann::json lines = nlohmann::json::object();
  for (const ScoreLine& line : scorecard_lines(r.scorecards)) {
    lines[line.key] = line.value ? nlohmann::json(*line.value) : nlohmann::json();
  }
  const auto golden_file = repo() / "tests" / "golden" / (name + ".json");
  if (std::getenv("CRITMIN_UPDATE_GOLDEN")) {
    test::write_file(golden_file, lines.dump(2) + "\n");
    GTEST_SKIP() << "rewrote " << golden_file;
  }
  const std::string golden_text = test::read_file(golden_file);
  ASSERT_FALSE(golden_text.empty())
      << golden_file << " is missing; run with CRITMIN_UPDATE_GOLDEN=1";
  const auto golden = nlohmann::json::parse(golden_text);
  for (const auto& [key, expected] : golden.items()) {
    ASSERT_TRUE(lines.contains(key)) << name << ": line " << key << " is gone";
    if (expected.is_null()) {
      EXPECT_TRUE(lines[key].is_null()) << name << " " << key;
      continue;
    }
    const double e = expected.get<double>();
    const double a = lines[key].get<double>();
    EXPECT_NEAR(a, e, 1e-6 * std::max(1.0, std::abs(e))) << name << " " << key;
  }
  EXPECT_EQ(lines.size(), golden.size()) << name << ": lines added";
}

// Issue 19: every figure a run emits has a row in the output table (data/outputs/figures.csv) with
// the unit the code writes: the scorecard lines, the instruments' payments, the headline figures,
// the yearly paths and every field of summary.json.
TEST_P(ExampleScenario, EmitsOnlyFiguresOfTheOutputTable) {
  const std::string name = GetParam();
  const SimulationResult r = run_text(test::read_file(repo() / "scenarios" / (name + ".toml")));
  ASSERT_FALSE(r.series.empty()) << name;
  ASSERT_TRUE(figure_table_status().is_ok()) << figure_table_status().to_string();
  std::set<std::string> seen;
  const auto expect_in_table = [&](FigureGroup group, const std::string& key,
                                   const std::string& unit) {
    const std::string figure_name = figure_name_of(group, key);
    if (!seen.insert(std::string(figure_group_name(group)) + "/" + figure_name).second) return;
    Result<const FigureAttributes*> figure = find_figure(group, figure_name);
    ASSERT_TRUE(figure.is_ok()) << name << ": " << figure.status().message();
    EXPECT_EQ(figure.value()->unit, unit) << name << ": " << key;
  };
  for (const ScoreLine& line : scorecard_lines(r.scorecards)) {
    expect_in_table(FigureGroup::kScorecard, line.key, line.unit);
  }
  for (const PaymentRow& p : r.payments) {
    expect_in_table(FigureGroup::kInstrument, p.figure, p.unit);
  }
  for (const HeadlineFigure& f : headline_figures(r)) {
    expect_in_table(FigureGroup::kHeadline, f.name, f.unit);
  }
  for (const YearlyPath& p : yearly_paths(r)) expect_in_table(FigureGroup::kPath, p.name, p.unit);
  // Every key of summary.json that holds a value (tables by their columns).
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& node) {
    for (const auto& [key, value] : node.items()) {
      if (value.is_object()) {
        walk(value);
      } else if (value.is_array()) {
        for (const nlohmann::json& row : value) {
          if (row.is_object()) walk(row);
        }
      } else {
        Result<const FigureAttributes*> figure = find_figure(FigureGroup::kSummary, key);
        EXPECT_TRUE(figure.is_ok()) << name << ": " << figure.status().message();
      }
    }
  };
  walk(nlohmann::json::parse(simulation_to_json(r)));
}

INSTANTIATE_TEST_SUITE_P(Golden, ExampleScenario,
                         ::testing::Values("baseline", "sim-ndpr-floor", "sim-gallium-ban",
                                           "sim-gallium-ban-certified", "sim-lithium-cfd",
                                           "sim-gallium-ban-stockpile", "club-design",
                                           "sim-risks-no-club", "sim-gallium-ban-partners"),
                         [](const auto& test_info) {
                           std::string name = test_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace critmin::sim
