// The network path on pooled markets (a route between every pair of regions at both stages, one
// transport cost and one tariff per stage, no restriction): the shape of every calibrated default
// model, which the network solver contracts (origin and use node merged, one-sided region nodes
// bypassed through the hub; see src/market/network_solver.cpp). Seeded random instances, with
// regions that lack extraction, processing or demand (so that nodes get bypassed) and with free
// trade (transport and tariff 0, so that re-exports through the hub cost nothing and must be
// cancelled), are solved on both paths: welfare agrees, and every network solution balances,
// ships nothing negative and leaves no profitable route unused. The same with one stage under an
// export restriction, so that only the other stage is pooled and contracted.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "critmin/market/market.h"
#include "market/flow_problem.h"

namespace critmin::market {
namespace {

constexpr int kInstances = 150;
constexpr std::uint64_t kSeedBase = 20261127;

// Uniform draws from the 53 high bits; no std::*_distribution, so every platform draws the same.
class Draws {
 public:
  explicit Draws(std::uint64_t seed) : engine_(seed) {}
  double unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double between(double lo, double hi) { return lo + (hi - lo) * unit(); }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(engine_() % n); }

 private:
  std::mt19937_64 engine_;
};

MarketModel pooled_model(std::uint64_t seed) {
  Draws draw(seed);
  MarketModel model;
  model.material = "pooled";
  model.year = 2026;
  model.processing_yield = draw.unit() < 0.3 ? 1.0 : draw.between(0.4, 1.0);
  const std::size_t n = 3 + draw.below(6);
  for (std::size_t r = 0; r < n; ++r) {
    Region region;
    region.name = "R" + std::to_string(r);
    for (std::size_t k = draw.below(4); k > 0; --k) {
      region.extraction.push_back({draw.between(10.0, 300.0), draw.between(10.0, 100.0)});
    }
    for (std::size_t k = draw.below(4); k > 0; --k) {
      region.processing.push_back({draw.between(10.0, 300.0), draw.between(2.0, 50.0)});
    }
    for (std::size_t k = draw.below(5); k > 0; --k) {
      region.demand.push_back({draw.between(10.0, 200.0), draw.between(20.0, 400.0)});
    }
    region.base_demand_t = 100.0;
    model.regions.push_back(std::move(region));
  }
  // A third of the instances trade for free at a stage: re-exports through the hub cost nothing.
  for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
    const bool free_trade = draw.unit() < 0.33;
    const double transport = free_trade ? 0.0 : draw.between(0.0, 20.0);
    const double tariff = free_trade || draw.unit() < 0.5 ? 0.0 : draw.between(0.0, 15.0);
    for (std::size_t from = 0; from < n; ++from) {
      for (std::size_t to = 0; to < n; ++to) {
        if (from == to) continue;
        Route route;
        route.from = from;
        route.to = to;
        route.stage = stage;
        route.transport_cost_usd_per_t = transport;
        route.specific_tariff_usd_per_t = tariff;
        model.routes.push_back(route);
      }
    }
  }
  return model;
}

bool agree(double a, double b, double scale) {
  return std::abs(a - b) <= 1e-6 * std::max({scale, std::abs(a), std::abs(b)});
}

// Solves `model` on both paths and checks agreement and the invariants; false when the model is
// invalid (demand that no supply can reach). Routes under a restriction are not checked for
// unused profit: a ban may leave them profitable.
bool check_both_paths(const MarketModel& model) {
  if (!validate_model(model).is_ok()) return false;
  const auto network = clear_market(model, SolverPath::kNetwork);
  const auto clp = clear_market(model, SolverPath::kLinearProgram);
  EXPECT_TRUE(network.is_ok() && clp.is_ok());
  if (!network.is_ok() || !clp.is_ok()) return false;
  const Equilibrium& eq = network.value();
  EXPECT_EQ(eq.termination, Termination::kOptimal);
  EXPECT_EQ(clp.value().termination, Termination::kOptimal);
  double quantity_scale = 1.0;
  for (const Region& region : model.regions) {
    for (const SupplyStep& s : region.extraction) quantity_scale += s.capacity_t;
  }
  const double price_scale = 500.0;
  EXPECT_TRUE(agree(eq.welfare_usd, clp.value().welfare_usd, price_scale * quantity_scale))
      << "network " << eq.welfare_usd << " clp " << clp.value().welfare_usd;
  for (const NodeResult& node : eq.nodes) {
    EXPECT_GE(node.production_t, -1e-9 * quantity_scale);
    EXPECT_GE(node.consumption_t, -1e-9 * quantity_scale);
    EXPECT_GE(node.imports_t, -1e-9 * quantity_scale);
    EXPECT_GE(node.exports_t, -1e-9 * quantity_scale);
    EXPECT_NEAR(node.production_t + node.imports_t, node.consumption_t + node.exports_t,
                1e-7 * quantity_scale)
        << "region " << node.region << " " << stage_name(node.stage) << " does not balance";
  }
  for (const FlowResult& flow : eq.flows) {
    EXPECT_GT(flow.quantity_t, 0.0);
    EXPECT_NE(flow.from, flow.to);
  }
  const auto restricted = [&](const Route& route) {
    for (const ExportRestriction& r : model.restrictions) {
      if (r.origin == route.from && r.stage == route.stage &&
          std::find(r.destinations.begin(), r.destinations.end(), route.to) !=
              r.destinations.end()) {
        return true;
      }
    }
    return false;
  };
  // No route is profitable beyond its cost; a used one earns exactly its cost.
  for (const Route& route : model.routes) {
    if (restricted(route)) continue;
    const double cost = route.transport_cost_usd_per_t + route.specific_tariff_usd_per_t;
    const double gap = eq.node(route.to, route.stage).price_usd_per_t -
                       eq.node(route.from, route.stage).producer_price_usd_per_t;
    EXPECT_LE(gap, cost + 1e-6 * price_scale)
        << "profitable route " << route.from << " -> " << route.to << " left unused";
  }
  for (const FlowResult& flow : eq.flows) {
    const double gap = eq.node(flow.to, flow.stage).price_usd_per_t -
                       eq.node(flow.from, flow.stage).producer_price_usd_per_t;
    if (flow.via_leakage) {
      EXPECT_NEAR(gap, flow.unit_cost_usd_per_t, 1e-6 * price_scale);
    } else {
      EXPECT_GE(gap, flow.unit_cost_usd_per_t - 1e-6 * price_scale)
          << "route " << flow.from << " -> " << flow.to << " used at a loss";
    }
  }
  return true;
}

TEST(MarketPooled, ContractedNetworkAgreesWithClpAndKeepsTheInvariants) {
  int solved = 0;
  for (int i = 0; i < kInstances; ++i) {
    const MarketModel model = pooled_model(kSeedBase + static_cast<std::uint64_t>(i));
    SCOPED_TRACE("instance " + std::to_string(i));
    const FlowProblem problem = build_flow_problem(model, {}, true);
    ASSERT_TRUE(problem.pooled[0] && problem.pooled[1]);
    if (check_both_paths(model)) ++solved;
  }
  EXPECT_GE(solved, kInstances / 2);
}

// One stage restricted (a ban, with or without leakage, or a quota) and the other pooled: the
// contraction applies to one stage only, and the restricted stage keeps its pairwise routes.
TEST(MarketPooled, OneStagePooledAndTheOtherRestricted) {
  int solved = 0;
  for (int i = 0; i < kInstances; ++i) {
    const std::uint64_t seed = kSeedBase + 1000 + static_cast<std::uint64_t>(i);
    MarketModel model = pooled_model(seed);
    Draws draw(seed * 7 + 1);
    ExportRestriction restriction;
    restriction.name = "X";
    restriction.origin = draw.below(model.regions.size());
    restriction.stage = draw.unit() < 0.5 ? Stage::kExtraction : Stage::kProcessing;
    restriction.kind = draw.unit() < 0.5 ? RestrictionKind::kBan : RestrictionKind::kQuota;
    restriction.quota_t = draw.between(0.0, 100.0);
    restriction.leakage = draw.unit() < 0.5;
    restriction.leakage_cost_usd_per_t = draw.between(0.0, 30.0);
    for (std::size_t d = 0; d < model.regions.size(); ++d) {
      if (d != restriction.origin && draw.unit() < 0.6) restriction.destinations.push_back(d);
    }
    if (restriction.destinations.empty()) continue;
    model.restrictions.push_back(restriction);
    SCOPED_TRACE("instance " + std::to_string(i));
    const FlowProblem problem = build_flow_problem(model, {}, true);
    const int restricted_stage = restriction.stage == Stage::kProcessing ? 1 : 0;
    ASSERT_FALSE(problem.pooled[restricted_stage]);
    ASSERT_TRUE(problem.pooled[1 - restricted_stage]);
    if (check_both_paths(model)) ++solved;
  }
  EXPECT_GE(solved, kInstances / 3);
}

// The contraction's precondition: a region's origin and use node are merged only while the
// origin has no way out but its local arc and the hub, and the use node no way in but its local
// arc and the hub. Here a cheap feed enters region 0's use node directly (as a future instrument
// might): in the model it can only feed region 0's own dear processing (5 + 290 + 1 < 300, still
// worth it for region 2's demand), while merged with the origin it could be exported to region
// 1's cheap processing. Both solvers must find the same optimum of the network as given.
TEST(MarketPooled, AnExtraEntryIntoAUseNodeKeepsItUnmerged) {
  MarketModel model;
  model.material = "entry";
  model.year = 2026;
  model.regions.resize(3);
  model.regions[0].name = "A";
  model.regions[0].processing = {{100.0, 290.0}};
  model.regions[1].name = "B";
  model.regions[1].extraction = {{100.0, 50.0}};
  model.regions[1].processing = {{200.0, 1.0}};
  model.regions[2].name = "C";
  model.regions[2].demand = {{200.0, 300.0}};
  for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
    for (std::size_t from = 0; from < 3; ++from) {
      for (std::size_t to = 0; to < 3; ++to) {
        if (from != to) model.routes.push_back({from, to, stage, 1.0, 0.0, 0.0});
      }
    }
  }
  FlowProblem problem = build_flow_problem(model, {}, true);
  ASSERT_TRUE(problem.pooled[0] && problem.pooled[1]);
  FlowArc entry;
  entry.tail = problem.source;
  entry.head = FlowProblem::extraction_node(0);
  entry.capacity = 50.0;
  entry.cost = 5.0;
  entry.kind = ArcKind::kExtractionSupply;
  problem.arcs.insert(problem.arcs.begin(), entry);
  // The source must be able to send the entry's capacity too, and the arcs without a limit of their
  // own (the bypass, local and trade arcs) must stay unable to bind.
  const double unlimited = problem.supply[problem.source];
  for (FlowArc& a : problem.arcs) {
    if (a.capacity == unlimited) a.capacity += entry.capacity;
  }
  problem.supply[problem.source] += entry.capacity;
  problem.supply[problem.sink] -= entry.capacity;
  const FlowSolution network = solve_network_simplex(problem);
  const FlowSolution clp = solve_clp(problem);
  ASSERT_EQ(network.termination, Termination::kOptimal);
  ASSERT_EQ(clp.termination, Termination::kOptimal);
  double network_cost = 0.0, clp_cost = 0.0;
  std::vector<double> balance(problem.node_count, 0.0);
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    network_cost += problem.arcs[i].cost * network.flow[i];
    clp_cost += problem.arcs[i].cost * clp.flow[i];
    EXPECT_GE(network.flow[i], -1e-6);
    EXPECT_LE(network.flow[i], problem.arcs[i].capacity * (1.0 + 1e-9));
    balance[problem.arcs[i].tail] += network.flow[i];
    balance[problem.arcs[i].head] -= network.flow[i];
  }
  EXPECT_NEAR(network_cost, clp_cost, 1e-6 * std::abs(clp_cost));
  for (int v = 0; v < problem.node_count; ++v) {
    EXPECT_NEAR(balance[v], problem.supply[v], 1e-6) << "node " << v;
  }
  // The entry feeds region 0's processing, not the hub.
  EXPECT_NEAR(network.flow[0], 50.0, 1e-6);
}

// The shape the club's instruments give a market: certified twins that ship open product to
// every region (and to their own region for free) and certified product only to certified twins,
// and an origin-dependent levy on non-member supply into member regions. The trade then pools
// into several hubs per stage (non-member, member and certified destinations), with the free
// downgrade kept as a direct arc; both paths must agree, and no route may be undercut.
MarketModel club_shaped_model(std::uint64_t seed) {
  MarketModel model = pooled_model(seed);
  Draws draw(seed * 13 + 5);
  const std::size_t n = model.regions.size();
  std::vector<char> member(n, 0);
  for (std::size_t r = 0; r < n; ++r) member[r] = draw.unit() < 0.5;
  std::vector<double> levy(n, 0.0);
  for (std::size_t r = 0; r < n; ++r) levy[r] = draw.unit() < 0.3 ? 0.0 : draw.between(0.0, 40.0);
  for (Route& route : model.routes) {
    if (route.stage == Stage::kProcessing && member[route.to] && !member[route.from]) {
      route.specific_tariff_usd_per_t += levy[route.from];
    }
  }
  std::vector<std::size_t> twin(n, n);
  for (std::size_t r = 0; r < n; ++r) {
    if (draw.unit() < 0.4) continue;
    Region certified;
    certified.name = model.regions[r].name + "/c";
    for (SupplyStep& step : model.regions[r].extraction) {
      step.capacity_t *= 0.5;
      certified.extraction.push_back({step.capacity_t, step.unit_cost_usd_per_t + 5.0});
    }
    for (SupplyStep& step : model.regions[r].processing) {
      step.capacity_t *= 0.5;
      certified.processing.push_back({step.capacity_t, step.unit_cost_usd_per_t + 3.0});
    }
    if (member[r]) {
      for (DemandStep& step : model.regions[r].demand) {
        step.quantity_t *= 0.5;
        certified.demand.push_back(step);
      }
    }
    twin[r] = model.regions.size();
    model.regions.push_back(std::move(certified));
  }
  const std::vector<Route> routes = model.routes;
  const auto ships = [&](std::size_t t, Stage stage) {
    const Region& region = model.regions[t];
    return stage == Stage::kExtraction ? !region.extraction.empty() : !region.processing.empty();
  };
  const auto receives = [&](std::size_t t, Stage stage) {
    const Region& region = model.regions[t];
    return stage == Stage::kExtraction ? !region.processing.empty() : !region.demand.empty();
  };
  for (const Route& route : routes) {
    if (twin[route.from] == n || !ships(twin[route.from], route.stage)) continue;
    Route downgrade = route;
    downgrade.from = twin[route.from];
    model.routes.push_back(downgrade);
    if (twin[route.to] != n && receives(twin[route.to], route.stage)) {
      Route certified = downgrade;
      certified.to = twin[route.to];
      model.routes.push_back(certified);
    }
  }
  for (std::size_t r = 0; r < n; ++r) {
    if (twin[r] == n) continue;
    for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
      if (ships(twin[r], stage)) model.routes.push_back({twin[r], r, stage, 0.0});
    }
  }
  return model;
}

TEST(MarketPooled, ClubShapedTradePoolsIntoSeveralHubsAndAgreesWithClp) {
  int solved = 0, several_hubs = 0;
  for (int i = 0; i < kInstances; ++i) {
    const MarketModel model = club_shaped_model(kSeedBase + 5000 + static_cast<std::uint64_t>(i));
    SCOPED_TRACE("instance " + std::to_string(i));
    const FlowProblem problem = build_flow_problem(model, {}, true);
    if (problem.hubs.size() > 2) ++several_hubs;
    // Every hub path costs what its route costs, or more than a direct arc of the same pair.
    for (const FlowProblem::Hub& hub : problem.hubs) {
      for (std::size_t k = 0; k < hub.origins.size(); ++k) {
        for (std::size_t j = 0; j < hub.destinations.size(); ++j) {
          const std::size_t route = hub.route[k * hub.destinations.size() + j];
          if (route == FlowProblem::kNoRoute) continue;
          EXPECT_EQ(model.routes[route].from, hub.origins[k]);
          EXPECT_EQ(model.routes[route].to, hub.destinations[j]);
        }
      }
    }
    if (check_both_paths(model)) ++solved;
  }
  EXPECT_GE(solved, kInstances / 2);
  EXPECT_GE(several_hubs, kInstances / 10) << "the club's shape should need several hubs";
}

// `n` regions, each with one extraction, processing and demand step, and a route between every
// pair at both stages with the transport cost and tariff `route_cost` gives it.
MarketModel complete_model(
    const std::string& material, std::size_t n,
    const std::function<std::pair<double, double>(std::size_t, std::size_t, Stage)>& route_cost) {
  MarketModel model;
  model.material = material;
  model.year = 2026;
  model.processing_yield = 1.0;
  for (std::size_t r = 0; r < n; ++r) {
    Region region;
    region.name = "R" + std::to_string(r);
    region.extraction.push_back({100.0, 10.0 + 5.0 * static_cast<double>(r)});
    region.processing.push_back({100.0, 5.0 + static_cast<double>(r)});
    region.demand.push_back({80.0, 200.0 - 10.0 * static_cast<double>(r)});
    region.base_demand_t = 80.0;
    model.regions.push_back(std::move(region));
  }
  for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
    for (std::size_t from = 0; from < n; ++from) {
      for (std::size_t to = 0; to < n; ++to) {
        if (from == to) continue;
        const auto [transport, tariff] = route_cost(from, to, stage);
        model.routes.push_back({from, to, stage, transport, tariff});
      }
    }
  }
  return model;
}

// Six regions trading at one transport cost; R0 and R1 are a club's members, and refined metal
// from the non-members R2-R5 into members pays a levy that differs by origin.
MarketModel levied_model() {
  const double levy[6] = {0.0, 0.0, 20.0, 12.0, 7.5, 30.0};
  return complete_model("levied", 6, [&](std::size_t from, std::size_t to, Stage stage) {
    const bool levied = stage == Stage::kProcessing && to < 2 && from >= 2;
    return std::pair{4.0, levied ? levy[from] : 0.0};
  });
}

// Members and non-members are reached from the same origins, so they fall into one group; a levy
// that differs by non-member origin makes that group's costs non-separable as a whole, but each
// side is separable on its own: the processing trade pools into two hubs (members' and
// non-members'), with no route left as a direct arc, and both paths agree.
TEST(MarketPooled, AnOriginDependentLevyGivesTheMembersAHubOfTheirOwn) {
  MarketModel model = levied_model();
  const FlowProblem problem = build_flow_problem(model, {}, true);
  std::vector<std::vector<std::size_t>> processing_hubs;
  for (const FlowProblem::Hub& hub : problem.hubs) {
    if (hub.stage == Stage::kProcessing) processing_hubs.push_back(hub.destinations);
  }
  std::sort(processing_hubs.begin(), processing_hubs.end());
  const std::vector<std::vector<std::size_t>> expected = {{0, 1}, {2, 3, 4, 5}};
  EXPECT_EQ(processing_hubs, expected);
  for (const FlowArc& arc : problem.arcs) {
    EXPECT_FALSE(arc.kind == ArcKind::kTrade) << "a route left as a direct arc";
  }
  EXPECT_TRUE(check_both_paths(model));
}

// MarketModel::trade_class is a hint: the right classes give the same two hubs without a search,
// classes that do not pool (or a class per region) leave the search to find them, and on random
// club-shaped instances any classes give the equilibrium both paths agree on.
TEST(MarketPooled, TradeClassesAreOnlyAHintForPooling) {
  MarketModel model = levied_model();
  const auto processing_hubs = [](const FlowProblem& problem) {
    std::vector<std::vector<std::size_t>> hubs;
    for (const FlowProblem::Hub& hub : problem.hubs) {
      if (hub.stage == Stage::kProcessing) hubs.push_back(hub.destinations);
    }
    std::sort(hubs.begin(), hubs.end());
    return hubs;
  };
  const std::vector<std::vector<std::size_t>> expected = {{0, 1}, {2, 3, 4, 5}};
  for (const std::vector<int>& classes : std::vector<std::vector<int>>{
           {1, 1, 0, 0, 0, 0}, {0, 1, 0, 1, 0, 1}, {0, 1, 2, 3, 4, 5}, {0, 0, 0, 0, 0, 0}}) {
    model.trade_class = classes;
    SCOPED_TRACE(::testing::PrintToString(classes));
    EXPECT_EQ(processing_hubs(build_flow_problem(model, {}, true)), expected);
    EXPECT_TRUE(check_both_paths(model));
  }
  int solved = 0;
  for (int i = 0; i < kInstances; ++i) {
    MarketModel shaped = club_shaped_model(kSeedBase + 7000 + static_cast<std::uint64_t>(i));
    Draws draw(kSeedBase + 9000 + static_cast<std::uint64_t>(i));
    for (std::size_t r = 0; r < shaped.regions.size(); ++r) {
      shaped.trade_class.push_back(static_cast<int>(draw.below(3)));
    }
    SCOPED_TRACE("instance " + std::to_string(i));
    if (check_both_paths(shaped)) ++solved;
  }
  EXPECT_GE(solved, kInstances / 2);
}

// Hub costs are first taken from five routes per origin and destination; when those mislead
// (three of the five origins sampled have a cheaper route into R0), the exact check disagrees and
// the votes over every route still find the hub, with the three cheaper routes as direct arcs.
TEST(MarketPooled, HubCostsFromAllRoutesWhereTheSampledOnesMislead) {
  const std::size_t n = 10;
  const MarketModel model =
      complete_model("sampled", n, [](std::size_t from, std::size_t to, Stage stage) {
        const bool cheap = stage == Stage::kProcessing && to == 0 && from >= 1 && from <= 3;
        return std::pair{cheap ? 1.0 : 4.0, 0.0};
      });
  const FlowProblem problem = build_flow_problem(model, {}, true);
  std::size_t processing_hubs = 0, direct = 0;
  for (const FlowProblem::Hub& hub : problem.hubs) {
    if (hub.stage == Stage::kProcessing && hub.destinations.size() == n) ++processing_hubs;
  }
  for (const FlowArc& arc : problem.arcs) {
    if (arc.kind == ArcKind::kTrade && arc.stage == Stage::kProcessing) ++direct;
  }
  EXPECT_EQ(processing_hubs, 1u);
  EXPECT_EQ(direct, 3u);
  EXPECT_TRUE(check_both_paths(model));
}

}  // namespace
}  // namespace critmin::market
