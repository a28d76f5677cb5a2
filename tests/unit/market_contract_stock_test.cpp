// Hand-worked equilibria with contracted deliveries and stock offers, run on both solver paths.
#include <gtest/gtest.h>

#include "critmin/market/market.h"

namespace critmin::market {
namespace {

class ContractsAndStocks : public ::testing::TestWithParam<SolverPath> {};

INSTANTIATE_TEST_SUITE_P(Market, ContractsAndStocks,
                         ::testing::Values(SolverPath::kNetwork, SolverPath::kLinearProgram),
                         [](const auto& param_info) {
                           return param_info.param == SolverPath::kNetwork ? "Network" : "Clp";
                         });

Region region(std::string name, std::vector<SupplyStep> ore, std::vector<SupplyStep> refining,
              std::vector<DemandStep> demand, double base_demand_t) {
  Region r;
  r.name = std::move(name);
  r.extraction = std::move(ore);
  r.processing = std::move(refining);
  r.demand = std::move(demand);
  r.base_demand_t = base_demand_t;
  return r;
}

// A makes metal at 10 + 5 = 15, S at 20 + 5 = 25; B buys 80 t at up to 40, transport 3 from
// either. Without a contract B buys all 80 t from A at 18. With S contracted to deliver 30 t to
// B, those 30 t come first; B still buys 50 t from A at 18. The contract costs the world
// (25 + 3 - 18) * 30 = 300 at market prices, booked as B's contract value: welfare 1760 - 300.
TEST_P(ContractsAndStocks, ContractedVolumeIsDeliveredFirstAndTheMarketClearsTheRest) {
  MarketModel model;
  model.regions.push_back(region("A", {{100, 10}}, {{100, 5}}, {}, 0));
  model.regions.push_back(region("S", {{100, 20}}, {{100, 5}}, {}, 0));
  model.regions.push_back(region("B", {}, {}, {{80, 40}}, 80));
  model.routes.push_back({0, 2, Stage::kProcessing, 3.0});
  model.routes.push_back({1, 2, Stage::kProcessing, 3.0});
  model.deliveries.push_back({"offtake", 1, 2, Stage::kProcessing, 30.0, 3.0, 0.0});
  auto eq = clear_market(model, GetParam());
  ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
  const Equilibrium& e = eq.value();
  ASSERT_EQ(e.termination, Termination::kOptimal) << e.reason;
  EXPECT_NEAR(e.node(1, Stage::kProcessing).production_t, 30.0, 1e-6);
  EXPECT_NEAR(e.node(0, Stage::kProcessing).production_t, 50.0, 1e-6);
  EXPECT_NEAR(e.node(2, Stage::kProcessing).price_usd_per_t, 18.0, 1e-6);
  EXPECT_NEAR(e.node(2, Stage::kProcessing).consumption_t, 80.0, 1e-6);
  EXPECT_NEAR(e.node(2, Stage::kProcessing).imports_t, 80.0, 1e-6);
  bool found_contract = false;
  for (const FlowResult& f : e.flows) {
    if (f.contracted) {
      found_contract = true;
      EXPECT_EQ(f.from, 1u);
      EXPECT_NEAR(f.quantity_t, 30.0, 1e-6);
    } else {
      EXPECT_EQ(f.from, 0u);
      EXPECT_NEAR(f.quantity_t, 50.0, 1e-6);
    }
  }
  EXPECT_TRUE(found_contract);
  EXPECT_NEAR(e.accounts[2].contract_value_usd, -300.0, 1e-4);
  EXPECT_NEAR(e.welfare_usd, 1760.0 - 300.0, 1e-3);
}

TEST(ContractValidation, ContractBeyondTheSellersCapacityOrTheBuyersUseIsRejected) {
  MarketModel model;
  model.material = "test";
  model.regions.push_back(region("A", {{100, 10}}, {{100, 5}}, {}, 0));
  model.regions.push_back(region("B", {}, {}, {{80, 40}}, 80));
  model.routes.push_back({0, 1, Stage::kProcessing, 3.0});
  model.deliveries.push_back({"too-big", 0, 1, Stage::kProcessing, 120.0, 3.0, 0.0});
  const Status status = validate_model(model);
  ASSERT_FALSE(status.is_ok());
  const std::string text = status.to_string();
  EXPECT_NE(text.find("exceed the region's processing capacity"), std::string::npos) << text;
  EXPECT_NE(text.find("exceed the region's largest demand"), std::string::npos) << text;
}

TEST(ContractValidation, ContractOnABannedRouteIsRejectedAsForceMajeure) {
  MarketModel model;
  model.material = "test";
  model.regions.push_back(region("A", {{100, 10}}, {{100, 5}}, {}, 0));
  model.regions.push_back(region("B", {}, {}, {{80, 40}}, 80));
  model.regions.push_back(region("C", {{100, 30}}, {{100, 5}}, {}, 0));
  model.routes.push_back({0, 1, Stage::kProcessing, 3.0});
  model.routes.push_back({2, 1, Stage::kProcessing, 3.0});
  ExportRestriction ban;
  ban.name = "ban";
  ban.origin = 0;
  ban.destinations = {1};
  model.restrictions.push_back(ban);
  model.deliveries.push_back({"contract", 0, 1, Stage::kProcessing, 10.0, 3.0, 0.0});
  const Status status = validate_model(model);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.to_string().find("force majeure"), std::string::npos) << status.to_string();
}

// A makes 80 t of metal at 15; buyers take 100 t at up to 60 and 100 t at up to 20. Without a
// stock the 80 t go to the first step at a price of 60. A stock offering 30 t at 45 releases 20 t:
// consumption 100 t at a price of 45.
TEST_P(ContractsAndStocks, StockIsReleasedWhenThePriceReachesItsTrigger) {
  MarketModel model;
  model.regions.push_back(region("A", {{80, 10}}, {{100, 5}}, {{100, 60}, {100, 20}}, 100));
  auto before = clear_market(model, GetParam());
  ASSERT_TRUE(before.is_ok());
  EXPECT_NEAR(before.value().node(0, Stage::kProcessing).price_usd_per_t, 60.0, 1e-6);
  model.stocks.push_back({0, {{30, 45}}, {}});
  auto eq = clear_market(model, GetParam());
  ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
  const NodeResult& p = eq.value().node(0, Stage::kProcessing);
  EXPECT_NEAR(p.stock_release_t, 20.0, 1e-6);
  EXPECT_NEAR(p.consumption_t, 100.0, 1e-6);
  EXPECT_NEAR(p.price_usd_per_t, 45.0, 1e-6);
  EXPECT_NEAR(p.production_t, 80.0, 1e-6);
  EXPECT_NEAR(eq.value().accounts[0].shortfall_t, 0.0, 1e-6);
}

// Ample supply at 15: the stock buys its 50 t refill below its refill price of 18, and the
// buyers still take both their steps; the stock is not consumption.
TEST_P(ContractsAndStocks, StockRefillsBelowItsTriggerPriceWithoutCountingAsConsumption) {
  MarketModel model;
  model.regions.push_back(region("A", {{300, 10}}, {{300, 5}}, {{100, 60}, {100, 20}}, 200));
  model.stocks.push_back({0, {}, {{50, 18}}});
  auto eq = clear_market(model, GetParam());
  ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
  const NodeResult& p = eq.value().node(0, Stage::kProcessing);
  EXPECT_NEAR(p.stock_refill_t, 50.0, 1e-6);
  EXPECT_NEAR(p.consumption_t, 200.0, 1e-6);
  EXPECT_NEAR(p.production_t, 250.0, 1e-6);
  EXPECT_NEAR(p.price_usd_per_t, 15.0, 1e-6);
}

}  // namespace
}  // namespace critmin::market
