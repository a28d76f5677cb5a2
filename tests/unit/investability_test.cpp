// Project appraisal (critmin/sim/investability.h) and the strategic supplier in a simulation.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "critmin/report/long_tables.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/investability.h"
#include "critmin/sim/simulation.h"
#include "test_support.h"

namespace critmin::sim {
namespace {

using critmin::test::default_data;

// The NdPr top-up floor of scenarios/sim-ndpr-floor.toml over six years.
std::string floor_scenario(double floor_usd_per_kg, const std::string& extra = "") {
  return fmt::format(R"([scenario]
name = "ndpr-floor-test"
years = [2025, 2030]
seed = 11

[club]
members = ["USA", "JPN", "EU27", "GBR", "CAN", "AUS", "KOR"]

[[instrument]]
type = "price_floor"
material = "neodymium"
stage = "processing"
price = {}
unit = "USD/kg"
enforcement = "top_up"
{})",
                     floor_usd_per_kg, extra);
}

SimulationScenario read(const std::string& text) {
  auto spec = scenario::read_simulation_scenario(text, "test.toml", default_data());
  EXPECT_TRUE(spec.is_ok()) << spec.status().to_string();
  return spec.is_ok() ? spec.value() : SimulationScenario{};
}

CandidateProject us_refinery() {
  CandidateProject p;
  p.material = "neodymium";
  p.country = "USA";
  p.stage = Stage::kProcessing;
  p.capacity_t = 10000.0;
  return p;
}

TEST(Investability, TheResultDoesNotDependOnTheThreadCount) {
  const SimulationScenario scenario = read(floor_scenario(110.0));
  InvestabilityOptions one;
  one.runs = 6;
  one.seed = 5;
  one.threads = 1;
  InvestabilityOptions two = one;
  two.threads = 2;
  auto a = appraise_investability(default_data(), scenario, us_refinery(), one);
  auto b = appraise_investability(default_data(), scenario, us_refinery(), two);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(investability_to_json(a.value()), investability_to_json(b.value()));
  ASSERT_EQ(a.value().cases.size(), 4u);
  EXPECT_EQ(a.value().cases[0].supplier, "passive");
  EXPECT_EQ(a.value().cases[0].instruments, "none");
  EXPECT_EQ(a.value().cases[3].supplier, "strategic");
  EXPECT_EQ(a.value().cases[3].instruments, "all");
}

TEST(Investability, TheFloorRaisesTheProjectsMarginAndCostsTheState) {
  const SimulationScenario scenario = read(floor_scenario(110.0));
  InvestabilityOptions options;
  options.runs = 6;
  options.seed = 5;
  options.threads = 2;
  auto result = appraise_investability(default_data(), scenario, us_refinery(), options);
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  const auto& cases = result.value().cases;
  for (std::size_t supplier : {0u, 2u}) {
    const InvestabilityCase& none = cases[supplier];
    const InvestabilityCase& all = cases[supplier + 1];
    EXPECT_GE(all.mean_margin_usd_per_t, none.mean_margin_usd_per_t) << none.supplier;
    EXPECT_GE(all.expected_npv_usd, none.expected_npv_usd) << none.supplier;
    EXPECT_GE(all.probability_npv_positive, none.probability_npv_positive) << none.supplier;
    EXPECT_EQ(none.fiscal_cost_usd, 0.0);
    EXPECT_GT(all.fiscal_cost_usd, 0.0);
    // The floor fixes part of the revenue: the contracted rate.
    EXPECT_LT(all.discount_rate, none.discount_rate);
  }
  ASSERT_TRUE(result.value().investable_floor_usd_per_t.has_value());
  EXPECT_GT(*result.value().investable_floor_usd_per_t, 0.0);
}

TEST(Investability, ABadProjectIsAnErrorThatNamesTheFlag) {
  const SimulationScenario scenario = read(floor_scenario(110.0));
  CandidateProject p = us_refinery();
  p.material = "neodynium";
  auto unknown = appraise_investability(default_data(), scenario, p, {});
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("did you mean neodymium"), std::string::npos)
      << unknown.status().message();
  p = us_refinery();
  p.online_year = 2040;
  auto late = appraise_investability(default_data(), scenario, p, {});
  ASSERT_FALSE(late.is_ok());
  EXPECT_NE(late.status().to_string().find("online_year"), std::string::npos);
}

TEST(StrategicSimulation, ALimitPricingLeaderIsRecordedEveryYearAndNeverLosesAgainstPassive) {
  const SimulationScenario scenario = read(floor_scenario(110.0, R"(
[[strategic_supplier]]
origin = "CHN"
material = "neodymium"
stage = "processing"
objective = "limit_price"
)"));
  auto result = run_simulation(default_data(), scenario);
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  ASSERT_EQ(result.value().strategic.size(), 6u);
  for (const StrategicYear& y : result.value().strategic) {
    EXPECT_EQ(y.region, "CHN");
    const policy::StrategicFigures& c = y.chosen;
    if (c.deters) {
      EXPECT_LE(c.entrant_margin_usd_per_t, c.limit_margin_usd_per_t * (1.0 + 1e-9));
    } else {
      // Accommodating, it takes its most profitable action: never below passive.
      EXPECT_GE(c.profit_usd, c.passive_profit_usd * (1.0 - 1e-9)) << y.year;
    }
  }
}

TEST(StrategicSimulation, DemandUncertaintyMakesRunsDifferAndLeavesTheCentralRunAlone) {
  SimulationScenario plain = read(floor_scenario(110.0));
  SimulationScenario uncertain = plain;
  uncertain.uncertainty.demand_growth_sd = 0.02;
  uncertain.uncertainty.demand_noise_sd = 0.05;
  auto base = run_simulation(default_data(), plain);
  auto a = run_simulation(default_data(), uncertain);
  uncertain.seed = 12;
  auto b = run_simulation(default_data(), uncertain);
  ASSERT_TRUE(base.is_ok() && a.is_ok() && b.is_ok());
  const auto demand = [](const SimulationResult& r) {
    double total = 0.0;
    for (const SeriesRow& row : r.series) {
      if (row.year == 2030 && row.stage == Stage::kProcessing) total += row.demand_t;
    }
    return total;
  };
  EXPECT_NE(demand(a.value()), demand(b.value()));
  EXPECT_NE(demand(a.value()), demand(base.value()));
  // Without [uncertainty] nothing is drawn: the same seed gives the same run as before.
  auto again = run_simulation(default_data(), plain);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(demand(again.value()), demand(base.value()));
}

// [[appraisal]]: simulate's appraisal of a scenario's project is critmin investability's on the
// same seed and runs, case by case.
TEST(ScenarioAppraisal, GivesTheFourCasesOfInvestabilityOnTheScenariosSeed) {
  const SimulationScenario scenario = read(floor_scenario(110.0, R"(
[[appraisal]]
material = "neodymium"
country = "USA"
capacity_t = 10000
runs = 4
)"));
  ASSERT_EQ(scenario.appraisals.size(), 1u);
  const scenario::AppraisalSpec& spec = scenario.appraisals[0];
  EXPECT_EQ(spec.stage, Stage::kProcessing);  // the default
  EXPECT_EQ(spec.runs, 4u);
  EXPECT_EQ(spec.country, "USA");

  SimulationResult result;
  ASSERT_TRUE(add_scenario_appraisals(default_data(), scenario, 2, result).is_ok());
  ASSERT_EQ(result.appraisals.size(), 4u);

  InvestabilityOptions options;
  options.runs = 4;
  options.seed = scenario.seed;
  options.threads = 1;
  auto direct = appraise_investability(default_data(), scenario, us_refinery(), options);
  ASSERT_TRUE(direct.is_ok()) << direct.status().to_string();
  for (std::size_t k = 0; k < 4; ++k) {
    const AppraisalRow& row = result.appraisals[k];
    const InvestabilityCase& c = direct.value().cases[k];
    EXPECT_EQ(row.figures.supplier, c.supplier);
    EXPECT_EQ(row.figures.instruments, c.instruments);
    EXPECT_EQ(row.figures.probability_npv_positive, c.probability_npv_positive);
    EXPECT_EQ(row.figures.expected_npv_usd, c.expected_npv_usd);
    EXPECT_EQ(row.figures.fiscal_cost_usd, c.fiscal_cost_usd);
    EXPECT_EQ(row.investable_floor_usd_per_t, direct.value().investable_floor_usd_per_t);
    EXPECT_EQ(row.region, "USA");
    EXPECT_EQ(row.runs, 4u);
  }
  // The summary carries them; a scenario without [[appraisal]] has no such key.
  const nlohmann::json summary = nlohmann::json::parse(simulation_to_json(result));
  ASSERT_EQ(summary["appraisals"].size(), 4u);
  EXPECT_EQ(summary["appraisals"][3]["supplier"], "strategic");
  EXPECT_FALSE(
      nlohmann::json::parse(simulation_to_json(SimulationResult{})).contains("appraisals"));
}

TEST(ScenarioAppraisal, CompareAppraisesEachDesignsProjectAsSimulateDoes) {
  const std::string appraisal = R"(
[[appraisal]]
material = "neodymium"
country = "USA"
capacity_t = 10000
runs = 4
)";
  const SimulationScenario low = read(floor_scenario(60.0, appraisal));
  const SimulationScenario high = read(floor_scenario(110.0, appraisal));
  CompareOptions options;
  options.threads = 2;
  auto run = run_compare(default_data(), {low, high}, {"low", "high"}, options, {});
  ASSERT_TRUE(run.is_ok()) << run.status().to_string();
  const Comparison& c = run.value().comparison;
  ASSERT_EQ(c.appraisals.size(), 2u);
  for (std::size_t d = 0; d < 2; ++d) {
    SimulationResult alone;
    ASSERT_TRUE(add_scenario_appraisals(default_data(), d == 0 ? low : high, 1, alone).is_ok());
    ASSERT_EQ(c.appraisals[d].size(), 4u);
    for (std::size_t k = 0; k < 4; ++k) {
      EXPECT_EQ(c.appraisals[d][k].figures.probability_npv_positive,
                alone.appraisals[k].figures.probability_npv_positive);
      EXPECT_EQ(c.appraisals[d][k].figures.fiscal_cost_usd,
                alone.appraisals[k].figures.fiscal_cost_usd);
    }
  }
  // A higher floor costs more and does not lower the chance that the project pays back.
  EXPECT_GE(c.appraisals[1][3].figures.probability_npv_positive,
            c.appraisals[0][3].figures.probability_npv_positive);
  EXPECT_GT(c.appraisals[1][3].figures.fiscal_cost_usd, c.appraisals[0][3].figures.fiscal_cost_usd);
  const std::string table = comparison_to_table(c);
  // The designs are named after their scenarios (both "ndpr-floor-test"; the second made unique).
  EXPECT_NE(table.find("== appraisals ==\nndpr-floor-test: appraisal: 10,000 t/yr of neodymium "
                       "processing in USA"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("\nndpr-floor-test (2): appraisal: "), std::string::npos) << table;
  const nlohmann::json json = nlohmann::json::parse(comparison_to_json(c));
  ASSERT_EQ(json["appraisals"].size(), 2u);
  EXPECT_EQ(json["appraisals"][1][3]["supplier"], "strategic");
  EXPECT_EQ(json["appraisals"][1][3]["instruments"], "all");
  // The tidy tables (compare --format csv, Python's CompareResult.appraisals): a design column
  // first, seven figures per case.
  const auto tables = report::comparison_long_tables(c);
  const auto appraisals = std::find_if(tables.begin(), tables.end(),
                                       [](const auto& t) { return t.name == "appraisals"; });
  ASSERT_NE(appraisals, tables.end());
  EXPECT_EQ(appraisals->header.front(), "design");
  ASSERT_EQ(appraisals->rows.size(), 2u * 4u * 7u);
  EXPECT_EQ(appraisals->rows.front().front(), c.designs[0]);
  EXPECT_EQ(appraisals->rows.back().front(), c.designs[1]);
  // Designs without [[appraisal]] tables: no section, no key.
  auto plain =
      run_compare(default_data(), {read(floor_scenario(60.0)), read(floor_scenario(110.0))},
                  {"low", "high"}, options, {});
  ASSERT_TRUE(plain.is_ok());
  EXPECT_TRUE(plain.value().comparison.appraisals.empty());
  EXPECT_EQ(comparison_to_table(plain.value().comparison).find("== appraisals =="),
            std::string::npos);
}

TEST(ScenarioAppraisal, ABadProjectIsAnErrorAtItsLineAndKey) {
  const auto problems = [](const std::string& table) {
    auto spec = scenario::read_simulation_scenario(floor_scenario(110.0, table), "test.toml",
                                                   default_data());
    EXPECT_FALSE(spec.is_ok());
    return spec.is_ok() ? std::string() : spec.status().to_string();
  };
  const std::string zero =
      problems("\n[[appraisal]]\nmaterial = \"neodymium\"\ncountry = \"USA\"\ncapacity_t = 0\n");
  EXPECT_NE(zero.find("test.toml:20:capacity_t"), std::string::npos) << zero;
  const std::string country =
      problems("\n[[appraisal]]\nmaterial = \"neodymium\"\ncountry = \"USX\"\ncapacity_t = 5\n");
  EXPECT_NE(country.find("test.toml:19:country"), std::string::npos) << country;
  EXPECT_NE(country.find("USA"), std::string::npos) << country;  // did you mean
  const std::string runs = problems(
      "\n[[appraisal]]\nmaterial = \"neodymium\"\ncountry = \"USA\"\ncapacity_t = 5\nruns = 0\n");
  EXPECT_NE(runs.find("test.toml:21:runs"), std::string::npos) << runs;
  const std::string missing =
      problems("\n[[appraisal]]\nmaterial = \"neodymium\"\ncountry = \"USA\"\n");
  EXPECT_NE(missing.find("capacity_t"), std::string::npos) << missing;
}

}  // namespace
}  // namespace critmin::sim
