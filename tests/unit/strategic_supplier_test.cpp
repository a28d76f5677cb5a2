// The strategic dominant supplier (critmin/policy/strategic_supplier.h) against the textbook
// dominant-firm case worked by hand, and its guarantees on the real markets.
//
// The hand market: CHN, the leader, mines and refines 10,000 t at 20 USD/t (mining free) and
// ships to the USA at 5 USD/t, so its delivered cost is c = 25. The USA, the fringe, mines for
// free and refines up to 30 t at 50 USD/t; its buyers' demand is linear, D(p) = 200 - p for p in
// [10, 200]. Passive, CHN sells at 25 < 50: the fringe stays out and CHN exports D(25) = 175 t.
// As a leader above 50, CHN faces the residual demand 200 - p - 30 = 170 - p and earns
// (p - 25)(170 - p), largest at p* = (170 + 25) / 2 = 97.5 with exports 72.5 t and profit
// 72.5^2 = 5256.25 USD; pricing at the fringe's cost instead (p = 50, exports 150 t) earns only
// 25 x 150 = 3750. So it caps exports at 72.5 / 175 of the passive volume (action 0.5857).
// Deterring the fringe (its price at most 50) the leader's best is p = 50: 3750 USD.
#include <gtest/gtest.h>

#include <string>

#include "critmin/market/calibration.h"
#include "critmin/policy/strategic_supplier.h"
#include "critmin/scenario/scenario.h"

#include "test_support.h"

namespace critmin::policy {
namespace {

using critmin::test::default_data;

market::CalibratedMarket dominant_firm_market() {
  market::CalibratedMarket m;
  m.model.material = "gallium";
  m.model.year = 2023;
  market::Region chn;
  chn.name = "CHN";
  chn.countries = {"CHN"};
  chn.extraction = {{10000, 0}};
  chn.processing = {{10000, 20}};
  market::Region usa;
  usa.name = "USA";
  usa.countries = {"USA"};
  usa.extraction = {{1000, 0}};  // free feed, never scarce: the refiners' margin is the price
  usa.processing = {{30, 50}};
  usa.demand = {{190, 200, 190}};  // D(p) = 200 - p from the first tonne (200) to the last (10)
  usa.base_demand_t = 175;
  m.model.regions = {chn, usa};
  m.model.routes = {{0, 1, Stage::kProcessing, 5.0}};
  m.info.base_price_usd_per_t = 25.0;
  return m;
}

ClearingScenario no_instruments() {
  auto scenario = scenario::read_clearing_scenario("", "leader.toml", default_data(), 2023);
  EXPECT_TRUE(scenario.is_ok()) << scenario.status().to_string();
  return scenario.is_ok() ? scenario.value() : ClearingScenario{};
}

StrategicSupplierSpec china(LeaderObjective objective) {
  StrategicSupplierSpec spec;
  spec.material = "gallium";
  spec.origin = "CHN";
  spec.stage = Stage::kProcessing;
  spec.objective = objective;
  return spec;
}

class DominantFirm : public ::testing::TestWithParam<market::SolverPath> {};

INSTANTIATE_TEST_SUITE_P(Paths, DominantFirm,
                         ::testing::Values(market::SolverPath::kNetwork,
                                           market::SolverPath::kLinearProgram),
                         [](const auto& param_info) {
                           return param_info.param == market::SolverPath::kNetwork ? "Network"
                                                                                   : "Clp";
                         });

TEST_P(DominantFirm, ProfitLeaderRestrictsExportsToTheClosedFormOptimum) {
  const auto choice =
      clear_with_strategic_supplier(default_data(), dominant_firm_market(), no_instruments(),
                                    china(LeaderObjective::kProfit), 0.0, GetParam());
  ASSERT_TRUE(choice.is_ok()) << choice.status().to_string();
  const StrategicChoice& c = choice.value();
  EXPECT_NEAR(c.passive_exports_t, 175.0, 0.2);
  EXPECT_NEAR(c.passive_profit_usd, 0.0, 1.0);  // priced at cost: no profit
  // The search's stated error: the action within its tolerance, so exports (and, on this demand
  // of slope 1, the price) within tolerance x 175 t; profit is flat at its top (error squared).
  // The clearing's own stated error adds to it: prices exact to the refinement's resolution, so
  // the profit on the exports to that resolution times the exports.
  const double exports_error_t = StrategicSupplierSpec{}.action_tolerance * 175.0;
  const double price_error = c.outcome.equilibrium.statistics.price_resolution_usd_per_t;
  EXPECT_NEAR(c.exports_t, 72.5, exports_error_t);
  EXPECT_NEAR(c.profit_usd, 5256.25,
              exports_error_t * exports_error_t + price_error * (72.5 + exports_error_t) + 1.0);
  EXPECT_LE(price_error, 1e-3 * 97.5 * 1.01);  // the refinement's 1e-3 of the price
  EXPECT_NEAR(c.action, 1.0 - 72.5 / 175.0, StrategicSupplierSpec{}.action_tolerance);
  EXPECT_NEAR(c.outcome.equilibrium.node(1, Stage::kProcessing).price_usd_per_t, 97.5,
              exports_error_t);
  // The fringe produces all it can at that price.
  EXPECT_NEAR(c.outcome.equilibrium.node(1, Stage::kProcessing).production_t, 30.0, 1e-4);
  EXPECT_LE(c.action_bracket, 0.005);
  // The profit is a parabola in the action here, so Brent's parabolic steps find its top in a few
  // clearings after the grid's 7 (golden-section steps alone took 12 more).
  EXPECT_LE(c.clearings, 13);
}

TEST_P(DominantFirm, LimitPricingLeaderHoldsTheFringesPriceAtItsCost) {
  const auto choice =
      clear_with_strategic_supplier(default_data(), dominant_firm_market(), no_instruments(),
                                    china(LeaderObjective::kLimitPrice), 50.0, GetParam());
  ASSERT_TRUE(choice.is_ok()) << choice.status().to_string();
  const StrategicChoice& c = choice.value();
  EXPECT_TRUE(c.deters);
  EXPECT_LE(c.entrant_margin_usd_per_t, 50.0 * (1.0 + 1e-9));
  // Within the action's tolerance: exports within tolerance x 175 t of 150 t. The leader's
  // profit q (175 - q) falls by |175 - 2 q| = 125 USD per tonne of exports there.
  const double exports_error_t = StrategicSupplierSpec{}.action_tolerance * 175.0;
  EXPECT_LE(c.profit_usd, 3750.0 + 1.0);
  EXPECT_GE(c.profit_usd, 3750.0 - 125.0 * exports_error_t - 1.0);
  EXPECT_NEAR(c.exports_t, 150.0, exports_error_t);
}

TEST_P(DominantFirm, MarketShareLeaderKeepsTheWholeMarketAndPricesUpToTheFringesCost) {
  // Passive, CHN already makes every tonne. Its share stays whole up to the fringe's cost, so
  // among the actions that keep it, the most profitable one prices at 50: 3750 USD on 150 t.
  const auto choice =
      clear_with_strategic_supplier(default_data(), dominant_firm_market(), no_instruments(),
                                    china(LeaderObjective::kMarketShare), 0.0, GetParam());
  ASSERT_TRUE(choice.is_ok()) << choice.status().to_string();
  EXPECT_NEAR(choice.value().output_share, 1.0, 1e-9);
  // Within the action's tolerance of p = 50: exports within tolerance x 175 t of 150 t, where
  // the leader's profit q (175 - q) changes by |175 - 2 q| = 125 USD per tonne.
  const double exports_error_t = StrategicSupplierSpec{}.action_tolerance * 175.0;
  EXPECT_LE(choice.value().profit_usd, 3750.0 + 1.0);
  EXPECT_GE(choice.value().profit_usd, 3750.0 - 125.0 * exports_error_t - 1.0);
}

TEST(StrategicSupplier, ProfitOfACostCutIsCountedAtTheTrueCost) {
  // Offered at half its refining cost (10 instead of 20), CHN sells at 15 delivered, below its
  // true delivered cost of 25: on each of the D(15) = 185 t it loses 10 USD, -1850 USD in all.
  market::CalibratedMarket m = dominant_firm_market();
  m.model.regions[0].processing[0].scale_costs(0.5);
  ClearingScenario scenario = no_instruments();
  auto outcome = clear_with_instruments(default_data(), m, scenario);
  ASSERT_TRUE(outcome.is_ok());
  const double profit =
      leader_profit_usd(m.model, outcome.value().equilibrium, 0, Stage::kProcessing, 0.5);
  EXPECT_NEAR(profit, -1850.0, 2.0);
}

TEST(StrategicSupplier, NeverDoesWorseThanPassiveOnTheRealMarkets) {
  for (const std::string material : {"gallium", "neodymium", "natural_graphite"}) {
    auto market = market::build_market(default_data(), material, 2023);
    ASSERT_TRUE(market.is_ok()) << market.status().to_string();
    StrategicSupplierSpec spec = china(LeaderObjective::kProfit);
    spec.material = material;
    const auto profit =
        clear_with_strategic_supplier(default_data(), market.value(), no_instruments(), spec);
    ASSERT_TRUE(profit.is_ok()) << material << ": " << profit.status().to_string();
    EXPECT_GE(profit.value().profit_usd, profit.value().passive_profit_usd) << material;

    spec.objective = LeaderObjective::kWelfare;
    const auto welfare =
        clear_with_strategic_supplier(default_data(), market.value(), no_instruments(), spec);
    ASSERT_TRUE(welfare.is_ok()) << material << ": " << welfare.status().to_string();
    EXPECT_GE(welfare.value().welfare_usd, welfare.value().passive_welfare_usd) << material;

    spec.objective = LeaderObjective::kMarketShare;
    const auto share =
        clear_with_strategic_supplier(default_data(), market.value(), no_instruments(), spec);
    ASSERT_TRUE(share.is_ok()) << material << ": " << share.status().to_string();
    EXPECT_GE(share.value().output_share, share.value().passive_output_share - 1e-12) << material;
    EXPECT_GE(share.value().profit_usd, spec.profit_floor_share * share.value().passive_profit_usd -
                                            1e-6 * std::abs(share.value().passive_profit_usd))
        << material;
  }
}

TEST(StrategicSupplier, AnOriginThatIsNoRegionIsAnErrorAtItsLine) {
  auto market = market::build_market(default_data(), "gallium", 2023);
  ASSERT_TRUE(market.is_ok());
  StrategicSupplierSpec spec = china(LeaderObjective::kProfit);
  spec.origin = "ROW";
  spec.line = 7;
  const auto choice =
      clear_with_strategic_supplier(default_data(), market.value(), no_instruments(), spec);
  ASSERT_FALSE(choice.is_ok());
  EXPECT_NE(choice.status().to_string().find(":7:"), std::string::npos)
      << choice.status().to_string();
}

}  // namespace
}  // namespace critmin::policy

namespace critmin::scenario {
namespace {

using critmin::test::default_data;

constexpr const char* kLeaderScenario = R"([scenario]
name = "leader"
years = [2025, 2027]
seed = 3
)";

TEST(StrategicSupplierScenario, ReadsATypedLeaderWithItsYears) {
  const std::string text = std::string(kLeaderScenario) + R"(
[[strategic_supplier]]
origin = "CHN"
material = "Gallium"
stage = "processing"
objective = "market_share"
profit_floor_share = 0.6
start = 2026
years = 2
)";
  auto spec = read_simulation_scenario(text, "s.toml", default_data());
  ASSERT_TRUE(spec.is_ok()) << spec.status().to_string();
  ASSERT_EQ(spec.value().strategic_suppliers.size(), 1u);
  const policy::StrategicSupplierSpec& l = spec.value().strategic_suppliers[0];
  EXPECT_EQ(l.material, "gallium");
  EXPECT_EQ(l.objective, policy::LeaderObjective::kMarketShare);
  EXPECT_DOUBLE_EQ(l.profit_floor_share, 0.6);
  EXPECT_EQ(l.first_year, 2026);
  EXPECT_EQ(l.last_year, 2027);
  EXPECT_EQ(spec.value().materials, std::vector<std::string>{"gallium"});
}

TEST(StrategicSupplierScenario, KeysOfAnotherObjectiveAndASecondLeaderAreErrorsAtTheirLines) {
  const std::string text = std::string(kLeaderScenario) + R"(
[[strategic_supplier]]
origin = "CHN"
material = "gallium"
stage = "processing"
profit_floor_share = 0.6

[[strategic_supplier]]
origin = "CHN"
material = "gallium"
stage = "processing"
objective = "cartel"
)";
  auto spec = read_simulation_scenario(text, "s.toml", default_data());
  ASSERT_FALSE(spec.is_ok());
  const std::string message = spec.status().to_string();
  EXPECT_NE(message.find("s.toml:10:profit_floor_share"), std::string::npos) << message;
  EXPECT_NE(message.find("s.toml:16:objective"), std::string::npos) << message;
  EXPECT_NE(message.find("already has a strategic supplier"), std::string::npos) << message;
}

TEST(StrategicSupplierScenario, UncertaintyIsReadAndRangeChecked) {
  auto ok = read_simulation_scenario(std::string(kLeaderScenario) +
                                         "materials = [\"gallium\"]\n[uncertainty]\n"
                                         "demand_growth_sd = 0.02\ndemand_noise_sd = 0.05\n",
                                     "u.toml", default_data());
  ASSERT_TRUE(ok.is_ok()) << ok.status().to_string();
  EXPECT_DOUBLE_EQ(ok.value().uncertainty.demand_growth_sd, 0.02);
  EXPECT_DOUBLE_EQ(ok.value().uncertainty.demand_noise_sd, 0.05);
  auto bad = read_simulation_scenario(std::string(kLeaderScenario) +
                                          "materials = [\"gallium\"]\n[uncertainty]\n"
                                          "demand_noise_sd = 3\n",
                                      "u.toml", default_data());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().to_string().find("u.toml:7:demand_noise_sd"), std::string::npos)
      << bad.status().to_string();
}

}  // namespace
}  // namespace critmin::scenario
