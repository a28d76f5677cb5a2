// The instruments' terms as pure functions: each instrument is built from its spec, prepared on a
// small hand-made market, and its update (direct terms) or reading (a searched unknown) is taken
// from a hand-made equilibrium. No scenario file and no solver: the numbers below follow from the
// instrument's rule alone.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "critmin/market/calibration.h"
#include "critmin/market/market.h"
#include "critmin/policy/instrument_spec.h"
#include "policy/instrument.h"

namespace critmin::policy {
namespace {

constexpr double kBasePrice = 1000.0;  // [USD/t] of the processed product

// A member importer MEM (10 t of processing capacity at 100 USD/t), a non-member exporter NON
// shipping through route 0 (transport 50, tariff 10) and a non-member OTH on route 1 (transport
// 80), both into MEM at the processing stage.
market::CalibratedMarket hand_market() {
  market::CalibratedMarket market;
  market::MarketModel& model = market.model;
  model.material = "testium";
  model.year = 2023;
  model.processing_yield = 1.0;
  model.regions.push_back({"MEM", {"AAA"}, {}, {{10.0, 100.0}}, {{20.0, 3000.0}}, 20.0});
  model.regions.push_back({"NON", {"BBB"}, {}, {{30.0, 200.0}}, {}, 0.0});
  model.regions.push_back({"OTH", {"CCC"}, {}, {{30.0, 300.0}}, {}, 0.0});
  model.routes.push_back({1, 0, Stage::kProcessing, 50.0, 10.0, 0.0});
  model.routes.push_back({2, 0, Stage::kProcessing, 80.0, 0.0, 0.0});
  market.info.base_price_usd_per_t = kBasePrice;
  return market;
}

// An equilibrium of the hand market: MEM pays `member_price` and produces 10 t; NON's output
// fetches 1200 and 5 t go from NON to MEM; OTH's fetches 900 and it ships nothing.
market::Equilibrium hand_equilibrium(double member_price) {
  market::Equilibrium eq;
  const double producer[] = {member_price, 1200.0, 900.0};
  const double price[] = {member_price, 1200.0, 900.0};
  const double production[] = {10.0, 5.0, 0.0};
  for (std::size_t r = 0; r < 3; ++r) {
    market::NodeResult extraction;
    extraction.region = r;
    extraction.stage = Stage::kExtraction;
    eq.nodes.push_back(extraction);
    market::NodeResult processing;
    processing.region = r;
    processing.stage = Stage::kProcessing;
    processing.price_usd_per_t = price[r];
    processing.producer_price_usd_per_t = producer[r];
    processing.production_t = production[r];
    eq.nodes.push_back(processing);
  }
  eq.nodes[1].consumption_t = 15.0;
  eq.nodes[1].imports_t = 5.0;
  eq.nodes[3].exports_t = 5.0;
  market::FlowResult flow;
  flow.from = 1;
  flow.to = 0;
  flow.stage = Stage::kProcessing;
  flow.quantity_t = 5.0;
  eq.flows.push_back(flow);
  return eq;
}

// An instrument prepared on the hand market with MEM as the club, and the base model it left.
struct Prepared {
  Dataset data;
  market::CalibratedMarket market = hand_market();
  std::map<int, double> stock_start;
  std::unique_ptr<Instrument> instrument;
  std::vector<Diagnostic> problems;

  explicit Prepared(InstrumentTerms terms) {
    // The extraction price of the calibration, which the producer incentives' feed price reads.
    MarketParameter ratio;
    ratio.material_id = "*";
    ratio.parameter = "extraction_price_ratio";
    ratio.value = 0.5;
    data.market_parameters.push_back(ratio);
    InstrumentSpec spec;
    spec.material = "testium";
    spec.line = 7;
    spec.terms = std::move(terms);
    instrument = make_instrument(spec);
    ClubMarketYear context{data, market, "hand.toml", 2023, stock_start};
    context.member_regions = {0};
    context.original_region_count = market.model.regions.size();
    for (const market::Region& region : market.model.regions) {
      context.original_base_demand_t.push_back(region.base_demand_t);
    }
    context.original_routes = market.model.routes;
    instrument->prepare(context);
    problems = context.problems;
  }

  // The base model with the terms applied, as the driver clears it.
  market::MarketModel with(const Terms& terms) const {
    market::MarketModel model = market.model;
    apply_terms(terms, model);
    return model;
  }
};

constexpr double kTolerance = 1e-3;  // the outer loop's, 1e-6 of the base price

PriceFloorSpec levy_floor(double floor) {
  PriceFloorSpec spec;
  spec.floor_usd_per_t = floor;
  spec.levy = true;
  return spec;
}

TEST(InstrumentTerms, LevyStartsFromTheBasePriceOnEveryNonMemberRouteIntoTheClub) {
  const Prepared p(levy_floor(2000.0));
  ASSERT_TRUE(p.problems.empty());
  EXPECT_FALSE(p.instrument->searched());
  const Terms first = p.instrument->first_terms();
  ASSERT_EQ(first.route_tariffs.size(), 2u);
  // floor - (base price + transport + tariff)
  EXPECT_EQ(first.route_tariffs[0], (RouteTariff{0, 2000.0 - (kBasePrice + 50.0 + 10.0)}));
  EXPECT_EQ(first.route_tariffs[1], (RouteTariff{1, 2000.0 - (kBasePrice + 80.0)}));
  // prepare() left the routes' own tariffs; the levy is added when the terms are applied.
  EXPECT_EQ(p.market.model.routes[0].specific_tariff_usd_per_t, 10.0);
  EXPECT_EQ(p.with(first).routes[0].specific_tariff_usd_per_t, 10.0 + 940.0);
}

TEST(InstrumentTerms, LevyTargetIsTheFloorLessTheLandedPriceOnEachRoute) {
  const Prepared p(levy_floor(2000.0));
  const Terms current = p.instrument->first_terms();
  const market::MarketModel model = p.with(current);
  const market::Equilibrium eq = hand_equilibrium(2000.0);
  const TermsUpdate update = p.instrument->update({model, eq, kTolerance}, current);
  ASSERT_EQ(update.target.route_tariffs.size(), 2u);
  // Landed at MEM: NON's producer price + transport + the route's own tariff (not the levy).
  EXPECT_DOUBLE_EQ(update.target.route_tariffs[0].usd_per_t, 2000.0 - (1200.0 + 50.0 + 10.0));
  EXPECT_DOUBLE_EQ(update.target.route_tariffs[1].usd_per_t, 2000.0 - (900.0 + 80.0));
  // Both routes count: NON's carries trade, and OTH's is idle but as profitable as the floor.
  EXPECT_DOUBLE_EQ(update.distance_usd_per_t, std::max(std::abs(740.0 - 940.0), 1020.0 - 920.0));
  // The update leaves the model as it was.
  EXPECT_EQ(model.routes[0].specific_tariff_usd_per_t, 10.0 + 940.0);
}

TEST(InstrumentTerms, LevyNeverFallsBelowZeroWhenImportsLandAboveTheFloor) {
  const Prepared p(levy_floor(1000.0));
  const Terms current = p.instrument->first_terms();
  EXPECT_EQ(current.route_tariffs[0].usd_per_t, 0.0);
  const market::MarketModel model = p.with(current);
  const market::Equilibrium eq = hand_equilibrium(1300.0);
  const TermsUpdate update = p.instrument->update({model, eq, kTolerance}, current);
  EXPECT_EQ(update.target.route_tariffs[0].usd_per_t, 0.0);
  EXPECT_EQ(update.target.route_tariffs[1].usd_per_t, 20.0);  // OTH lands at 980
}

TEST(InstrumentTerms, LevyOnAnIdleRouteThatStaysUnprofitableIsNoDistance) {
  const Prepared p(levy_floor(2000.0));
  // NON's levy already at its target; OTH's far from it, but OTH ships nothing and MEM pays less
  // than OTH would land at with the target levy (the floor): its change counts for nothing.
  Terms current = p.instrument->first_terms();
  current.route_tariffs[0].usd_per_t = 740.0;
  const market::MarketModel model = p.with(current);
  const market::Equilibrium eq = hand_equilibrium(1900.0);
  const TermsUpdate update = p.instrument->update({model, eq, kTolerance}, current);
  EXPECT_EQ(update.distance_usd_per_t, 0.0);
  // The target still moves the idle route's levy.
  EXPECT_DOUBLE_EQ(update.target.route_tariffs[1].usd_per_t, 1020.0);
}

TEST(InstrumentTerms, TopUpBudgetTargetIsTheBudgetOverTheClaims) {
  PriceFloorSpec spec;
  spec.floor_usd_per_t = 2000.0;
  spec.levy = false;
  spec.budget_usd = 1000.0;
  const Prepared p(spec);
  ASSERT_TRUE(p.problems.empty());
  const std::optional<SearchedUnknown> unknown = p.instrument->searched();
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->start, 1.0);
  EXPECT_EQ(unknown->tolerance, kBudgetFactorTolerance);
  const market::MarketModel model = p.with(p.instrument->terms_at(1.0));
  // MEM produces 10 t at 1500: claims (2000 - 1500) x 10 = 5000 against a budget of 1000.
  const UnknownReading reading =
      p.instrument->read({model, hand_equilibrium(1500.0), kTolerance}, 1.0);
  EXPECT_DOUBLE_EQ(reading.target, 1000.0 / 5000.0);
  EXPECT_EQ(reading.unit, 1.0);
  EXPECT_EQ(reading.usd_per_t, 2000.0);  // a share of the floor per tonne
  // At a member price above the floor nothing is claimed: the whole share is paid.
  EXPECT_EQ(p.instrument->read({model, hand_equilibrium(2100.0), kTolerance}, 1.0).target, 1.0);
}

TEST(InstrumentTerms, TopUpOffersMemberProducersAtTheirIncentiveCost) {
  PriceFloorSpec spec;
  spec.floor_usd_per_t = 2000.0;
  spec.levy = false;
  const Prepared p(spec);
  EXPECT_FALSE(p.instrument->searched());
  const Terms first = p.instrument->first_terms();
  ASSERT_EQ(first.step_costs.size(), 1u);
  // Feed 500 (base price x 0.5) + margin 100 is covered by the floor at any price.
  EXPECT_EQ(first.step_costs[0], (StepCost{0, Stage::kProcessing, 0, 0.0}));
  // Without a budget the terms never move.
  const market::MarketModel model = p.with(first);
  const TermsUpdate update =
      p.instrument->update({model, hand_equilibrium(1500.0), kTolerance}, first);
  EXPECT_EQ(update.target, first);
  EXPECT_EQ(update.distance_usd_per_t, 0.0);
}

SubsidySpec cfd(double strike, std::optional<double> budget) {
  SubsidySpec spec;
  spec.terms.kind = settlement::SubsidyKind::kTwoWayCfd;
  spec.terms.strike_usd_per_t = strike;
  spec.budget_usd = budget;
  return spec;
}

TEST(InstrumentTerms, SubsidyBudgetTargetIsTheBudgetOverTheClaims) {
  const Prepared p(cfd(2000.0, 1000.0));
  ASSERT_TRUE(p.problems.empty());
  ASSERT_TRUE(p.instrument->searched());
  const market::MarketModel model = p.with(p.instrument->terms_at(1.0));
  // MEM's 10 t are covered and claim (2000 - 1600) x 10 = 4000.
  const UnknownReading reading =
      p.instrument->read({model, hand_equilibrium(1600.0), kTolerance}, 1.0);
  EXPECT_DOUBLE_EQ(reading.target, 1000.0 / 4000.0);
  EXPECT_EQ(reading.usd_per_t, 2000.0);  // the strike: the subsidy's price scale
}

TEST(InstrumentTerms, SubsidyTermsDependOnTheFactorAlone) {
  const Prepared p(cfd(700.0, 1000.0));
  // A CfD struck at 700 against feed 500 + margin 100: at a factor f the refiner runs at a price
  // p with p + f (700 - p) >= 600, so it is offered at (600 - 700 f) / (1 - f) - feed.
  const Terms fifth = p.instrument->terms_at(0.2);
  ASSERT_EQ(fifth.step_costs.size(), 1u);
  EXPECT_NEAR(fifth.step_costs[0].usd_per_t, (600.0 - 140.0) / 0.8 - 500.0, 1e-6);
  EXPECT_EQ(p.instrument->terms_at(0.2), fifth);
  EXPECT_EQ(p.instrument->terms_at(1.0).step_costs[0].usd_per_t, 0.0);
}

TEST(InstrumentTerms, SubsidyWithoutBudgetHasNoUnknownToSearch) {
  const Prepared p(cfd(2000.0, std::nullopt));
  EXPECT_FALSE(p.instrument->searched());
  EXPECT_EQ(p.instrument->first_terms(), p.instrument->terms_at(1.0));
}

TEST(InstrumentTerms, IntermediaryBuysWhatTheGrantFundsAtTheResalePrice) {
  IntermediarySpec spec;
  spec.seller = "NON";
  spec.resale_region = "MEM";
  spec.volume_t_per_year = 10.0;
  spec.purchase_usd_per_t = 2000.0;
  spec.grant_budget_usd = 1000.0;
  const Prepared p(spec);
  ASSERT_TRUE(p.problems.empty());
  const std::optional<SearchedUnknown> unknown = p.instrument->searched();
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->low, 0.0);
  EXPECT_EQ(unknown->high, 10.0);
  EXPECT_EQ(unknown->start, 10.0);
  // The delivery is prepared once; its volume is the term.
  ASSERT_EQ(p.market.model.deliveries.size(), 1u);
  EXPECT_EQ(p.instrument->terms_at(4.0).delivery_volumes, (std::vector<DeliveryVolume>{{0, 4.0}}));
  const market::MarketModel model = p.with(p.instrument->terms_at(10.0));
  // Resold at 1500: a deficit of 500 per tonne, so the grant funds 2 t.
  const UnknownReading reading =
      p.instrument->read({model, hand_equilibrium(1500.0), kTolerance}, 10.0);
  EXPECT_DOUBLE_EQ(reading.target, 2.0);
  EXPECT_EQ(reading.unit, 10.0);
  EXPECT_EQ(reading.usd_per_t, 500.0);
  // Resold above the purchase price there is no deficit: the whole contract volume.
  EXPECT_EQ(p.instrument->read({model, hand_equilibrium(2500.0), kTolerance}, 10.0).target, 10.0);
}

TEST(InstrumentTerms, OfftakeIsStructuralAndHasNoTerms) {
  OfftakeSpec spec;
  spec.seller = "NON";
  spec.buyer = "MEM";
  spec.terms.volume_t_per_year = 3.0;
  spec.terms.start_year = 2020;
  spec.terms.tenor_years = 10;
  const Prepared p(spec);
  ASSERT_TRUE(p.problems.empty());
  ASSERT_EQ(p.market.model.deliveries.size(), 1u);
  EXPECT_EQ(p.market.model.deliveries[0].volume_t, 3.0);
  EXPECT_FALSE(p.instrument->searched());
  EXPECT_EQ(p.instrument->first_terms(), Terms{});
  const market::MarketModel model = p.with({});
  const TermsUpdate update =
      p.instrument->update({model, hand_equilibrium(1500.0), kTolerance}, Terms{});
  EXPECT_EQ(update.target, Terms{});
  EXPECT_EQ(update.distance_usd_per_t, 0.0);
}

TEST(InstrumentTerms, AppliedTermsAddRouteTariffsAndSetStepsAndDeliveries) {
  market::MarketModel model = hand_market().model;
  model.deliveries.push_back({"d", 1, 0, Stage::kProcessing, 5.0, 0.0, 0.0});
  Terms a, b;
  a.route_tariffs = {{0, 100.0}};
  b.route_tariffs = {{0, 20.0}};
  a.step_costs = {{1, Stage::kProcessing, 0, 42.0}};
  b.delivery_volumes = {{0, 1.5}};
  apply_terms(a, model);
  apply_terms(b, model);
  EXPECT_EQ(model.routes[0].specific_tariff_usd_per_t, 10.0 + 100.0 + 20.0);
  EXPECT_EQ(model.regions[1].processing[0].unit_cost_usd_per_t, 42.0);
  EXPECT_EQ(model.deliveries[0].volume_t, 1.5);
}

}  // namespace
}  // namespace critmin::policy
