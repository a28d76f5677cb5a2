// Property tests of the market engine: seeded random instances solved on both solver paths, and
// comparative statics on a fixed small instance.
//
// Random draws come from std::mt19937_64 through hand-written transforms (no std::*_distribution),
// so every platform generates the same instances.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "critmin/market/market.h"
#include "market/flow_problem.h"

#include "test_support.h"

namespace critmin::market {
namespace {

constexpr int kInstances = 200;
constexpr int kMinSolved = 150;
constexpr std::uint64_t kSeedBase = 20240611;

using critmin::test::Draw;

const char* path_name(SolverPath path) { return path == SolverPath::kNetwork ? "network" : "clp"; }

constexpr SolverPath kPaths[] = {SolverPath::kNetwork, SolverPath::kLinearProgram};

bool has_ad_valorem(const MarketModel& model) {
  return std::any_of(model.routes.begin(), model.routes.end(),
                     [](const Route& r) { return r.ad_valorem_tariff > 0.0; });
}

// 2-8 regions, 0-4 extraction, 0-3 processing and 0-4 demand steps per region, routes between
// random ordered pairs at both stages, specific tariffs on some instances, ad valorem tariffs on
// about a quarter, and up to three export restrictions (bans and quotas, with and without
// leakage). About one restriction in twenty repeats a destination on purpose, which
// validate_model must reject.
MarketModel random_model(std::uint64_t seed) {
  Draw draw(seed);
  MarketModel model;
  model.material = "random";
  model.year = static_cast<int>(seed % 1000);
  model.processing_yield = draw.uniform(0.3, 1.0);
  const std::size_t n = 2 + draw.below(7);
  for (std::size_t r = 0; r < n; ++r) {
    Region region;
    region.name = "R" + std::to_string(r);
    const std::size_t extraction = draw.below(5);
    for (std::size_t k = 0; k < extraction; ++k) {
      region.extraction.push_back({draw.uniform(5.0, 200.0), draw.uniform(5.0, 120.0)});
    }
    const std::size_t processing = draw.below(4);
    for (std::size_t k = 0; k < processing; ++k) {
      region.processing.push_back({draw.uniform(5.0, 200.0), draw.uniform(1.0, 60.0)});
    }
    const std::size_t demand = draw.below(5);
    double total_demand = 0.0;
    for (std::size_t k = 0; k < demand; ++k) {
      region.demand.push_back({draw.uniform(5.0, 200.0), draw.uniform(10.0, 400.0)});
      total_demand += region.demand.back().quantity_t;
    }
    region.base_demand_t = draw.chance(0.8) ? total_demand * draw.uniform(0.3, 1.3) : 0.0;
    model.regions.push_back(std::move(region));
  }
  const bool specific_tariffs = draw.chance(0.5);
  const bool ad_valorem_tariffs = draw.chance(0.25);
  const double route_density = draw.uniform(0.2, 0.7);
  for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
    for (std::size_t from = 0; from < n; ++from) {
      for (std::size_t to = 0; to < n; ++to) {
        if (from == to || !draw.chance(route_density)) continue;
        Route route;
        route.from = from;
        route.to = to;
        route.stage = stage;
        route.transport_cost_usd_per_t = draw.uniform(0.0, 25.0);
        if (specific_tariffs && draw.chance(0.4)) {
          route.specific_tariff_usd_per_t = draw.uniform(0.0, 20.0);
        }
        if (ad_valorem_tariffs && draw.chance(0.4)) {
          route.ad_valorem_tariff = draw.uniform(0.01, 0.3);
        }
        model.routes.push_back(route);
      }
    }
  }
  std::set<std::tuple<std::size_t, Stage, std::size_t>> taken;
  const std::size_t restrictions = draw.below(4);
  for (std::size_t k = 0; k < restrictions; ++k) {
    ExportRestriction restriction;
    restriction.name = "X" + std::to_string(k);
    restriction.origin = draw.below(n);
    restriction.stage = draw.chance(0.5) ? Stage::kExtraction : Stage::kProcessing;
    restriction.kind = draw.chance(0.5) ? RestrictionKind::kBan : RestrictionKind::kQuota;
    const bool contradictory = draw.chance(0.05);
    for (std::size_t d = 0; d < n; ++d) {
      if (d == restriction.origin || !draw.chance(0.5)) continue;
      const auto key = std::make_tuple(restriction.origin, restriction.stage, d);
      if (taken.count(key) && !contradictory) continue;
      taken.insert(key);
      restriction.destinations.push_back(d);
    }
    if (restriction.destinations.empty()) continue;
    restriction.quota_t = draw.chance(0.15) ? 0.0 : draw.uniform(0.0, 150.0);
    restriction.leakage = draw.chance(0.5);
    restriction.leakage_cost_usd_per_t = restriction.leakage ? draw.uniform(0.0, 40.0) : 0.0;
    model.restrictions.push_back(restriction);
  }
  return model;
}

// Absolute tolerances for one model.
struct Tolerances {
  double price = 0.0;     // [USD/t]
  double quantity = 0.0;  // [t]
  double money = 0.0;     // [USD]
};

Tolerances tolerances_for(const MarketModel& model) {
  double price_scale = 1.0;
  double quantity_scale = 1.0;
  for (const Region& region : model.regions) {
    for (const SupplyStep& s : region.extraction) {
      price_scale = std::max(price_scale, s.unit_cost_usd_per_t);
      quantity_scale += s.capacity_t;
    }
    for (const SupplyStep& s : region.processing) {
      price_scale = std::max(price_scale, s.unit_cost_usd_per_t);
    }
    for (const DemandStep& s : region.demand) {
      price_scale = std::max(price_scale, s.willingness_to_pay_usd_per_t);
    }
  }
  for (const Route& route : model.routes) {
    price_scale =
        std::max(price_scale, route.transport_cost_usd_per_t + route.specific_tariff_usd_per_t);
  }
  for (const ExportRestriction& r : model.restrictions) {
    price_scale = std::max(price_scale, r.leakage_cost_usd_per_t);
  }
  Tolerances tol;
  tol.price = 1e-6 * price_scale;
  tol.quantity = 1e-7 * quantity_scale;
  tol.money = 1e-6 * price_scale * quantity_scale;
  return tol;
}

// Agreement of two values within 1e-6 relative, or 1e-6 absolute when both are below 1.
bool agree(double a, double b) {
  return std::abs(a - b) <= 1e-6 * std::max({1.0, std::abs(a), std::abs(b)});
}

const ExportRestriction* restriction_of(const MarketModel& model, const Route& route) {
  for (const ExportRestriction& r : model.restrictions) {
    if (r.origin == route.from && r.stage == route.stage &&
        std::find(r.destinations.begin(), r.destinations.end(), route.to) != r.destinations.end()) {
      return &r;
    }
  }
  return nullptr;
}

// The flow listed for one route and kind; flows below min_quantity count as none.
const FlowResult* find_flow(const Equilibrium& eq, std::size_t from, std::size_t to, Stage stage,
                            bool via_leakage, double min_quantity = 0.0) {
  for (const FlowResult& f : eq.flows) {
    if (f.from == from && f.to == to && f.stage == stage && f.via_leakage == via_leakage &&
        f.quantity_t > min_quantity) {
      return &f;
    }
  }
  return nullptr;
}

// Total direct (not leaked) flow from a restriction's origin to its destinations.
double restricted_direct_flow(const Equilibrium& eq, const ExportRestriction& r) {
  double total = 0.0;
  for (std::size_t d : r.destinations) {
    if (const FlowResult* f = find_flow(eq, r.origin, d, r.stage, false)) total += f->quantity_t;
  }
  return total;
}

template <typename Step, typename Key>
double capacity_where(const std::vector<Step>& steps, Key key) {
  double total = 0.0;
  for (const Step& s : steps) total += key(s);
  return total;
}

// Every invariant a welfare-maximising equilibrium must satisfy, from the public result alone.
void check_invariants(const MarketModel& model, const Equilibrium& eq) {
  const Tolerances tol = tolerances_for(model);
  const std::size_t n = model.regions.size();
  const double yield = model.processing_yield;
  ASSERT_EQ(eq.nodes.size(), 2 * n);
  ASSERT_EQ(eq.accounts.size(), n);

  // Flows: positive, on existing routes, listed once, and summing to the node imports/exports.
  std::vector<double> imports(2 * n, 0.0), exports(2 * n, 0.0), revenue(n, 0.0);
  std::set<std::tuple<std::size_t, std::size_t, Stage, bool>> seen;
  for (const FlowResult& f : eq.flows) {
    // eq.flows lists the positive flows; a flow of numerical noise is no flow.
    EXPECT_GT(f.quantity_t, tol.quantity)
        << "flow " << f.from << "->" << f.to << " " << stage_name(f.stage) << " of " << f.quantity_t
        << " t is numerical noise, not a trade";
    EXPECT_GE(f.unit_cost_usd_per_t, -tol.price);
    EXPECT_GE(f.tariff_usd_per_t, -tol.price);
    EXPECT_TRUE(seen.insert({f.from, f.to, f.stage, f.via_leakage}).second)
        << "flow " << f.from << "->" << f.to << " listed twice";
    const bool on_route = std::any_of(
        model.routes.begin(), model.routes.end(),
        [&](const Route& r) { return r.from == f.from && r.to == f.to && r.stage == f.stage; });
    EXPECT_TRUE(on_route) << "flow " << f.from << "->" << f.to << " without a route";
    ASSERT_LT(f.from, n);
    ASSERT_LT(f.to, n);
    const std::size_t offset = f.stage == Stage::kProcessing ? 1 : 0;
    exports[2 * f.from + offset] += f.quantity_t;
    imports[2 * f.to + offset] += f.quantity_t;
    revenue[f.to] += f.tariff_usd_per_t * f.quantity_t;
  }

  double welfare = 0.0;
  for (std::size_t r = 0; r < n; ++r) {
    SCOPED_TRACE("region " + std::to_string(r));
    const Region& region = model.regions[r];
    const NodeResult& e = eq.node(r, Stage::kExtraction);
    const NodeResult& p = eq.node(r, Stage::kProcessing);
    EXPECT_EQ(e.region, r);
    EXPECT_EQ(p.region, r);
    EXPECT_EQ(e.stage, Stage::kExtraction);
    EXPECT_EQ(p.stage, Stage::kProcessing);
    for (const NodeResult* node : {&e, &p}) {
      const std::size_t index = 2 * r + (node == &p ? 1 : 0);
      EXPECT_GE(node->production_t, -tol.quantity);
      EXPECT_GE(node->consumption_t, -tol.quantity);
      EXPECT_GE(node->imports_t, -tol.quantity);
      EXPECT_GE(node->exports_t, -tol.quantity);
      EXPECT_NEAR(node->imports_t, imports[index], tol.quantity);
      EXPECT_NEAR(node->exports_t, exports[index], tol.quantity);
      // Mass balance: what is made or arrives is used or leaves.
      EXPECT_NEAR(node->production_t + node->imports_t, node->consumption_t + node->exports_t,
                  tol.quantity)
          << stage_name(node->stage) << " node does not balance";
    }
    // Processing turns ore into metal at the yield.
    EXPECT_NEAR(p.production_t, yield * e.consumption_t, tol.quantity);

    // Step optimality: cheaper steps are full, dearer steps are empty.
    // Mines sell at the ore producer price; refiners buy ore at the regional ore price and sell at
    // the metal producer price; consumers pay the regional metal price.
    const double pe = e.producer_price_usd_per_t;
    const double pp = p.price_usd_per_t;
    const double margin = p.producer_price_usd_per_t - e.price_usd_per_t / yield;
    const double margin_tol = tol.price / yield;
    const auto cap_below = [](const std::vector<SupplyStep>& steps, double limit) {
      return capacity_where(steps, [&](const SupplyStep& s) {
        return s.unit_cost_usd_per_t < limit ? s.capacity_t : 0.0;
      });
    };
    const auto cap_up_to = [](const std::vector<SupplyStep>& steps, double limit) {
      return capacity_where(steps, [&](const SupplyStep& s) {
        return s.unit_cost_usd_per_t <= limit ? s.capacity_t : 0.0;
      });
    };
    EXPECT_GE(e.production_t, cap_below(region.extraction, pe - tol.price) - tol.quantity);
    EXPECT_LE(e.production_t, cap_up_to(region.extraction, pe + tol.price) + tol.quantity);
    EXPECT_GE(p.production_t, cap_below(region.processing, margin - margin_tol) - tol.quantity);
    EXPECT_LE(p.production_t, cap_up_to(region.processing, margin + margin_tol) + tol.quantity);
    const double demand_above = capacity_where(region.demand, [&](const DemandStep& s) {
      return s.willingness_to_pay_usd_per_t > pp + tol.price ? s.quantity_t : 0.0;
    });
    const double demand_at_least = capacity_where(region.demand, [&](const DemandStep& s) {
      return s.willingness_to_pay_usd_per_t >= pp - tol.price ? s.quantity_t : 0.0;
    });
    EXPECT_GE(p.consumption_t, demand_above - tol.quantity);
    EXPECT_LE(p.consumption_t, demand_at_least + tol.quantity);

    const RegionAccounts& a = eq.accounts[r];
    EXPECT_NEAR(a.shortfall_t, std::max(0.0, region.base_demand_t - p.consumption_t), tol.quantity);
    // A welfare maximum: nobody trades at a loss.
    EXPECT_GE(a.consumer_surplus_usd, -tol.money);
    EXPECT_GE(a.producer_surplus_usd, -tol.money);
    EXPECT_GE(a.tariff_revenue_usd, -tol.money);
    EXPECT_NEAR(a.tariff_revenue_usd, revenue[r], tol.money);
    welfare += a.consumer_surplus_usd + a.producer_surplus_usd + a.tariff_revenue_usd;
  }
  EXPECT_NEAR(eq.welfare_usd, welfare, tol.money);

  // Routes: no profitable trade is left undone, and used routes carry their cost exactly.
  for (std::size_t i = 0; i < model.routes.size(); ++i) {
    const Route& route = model.routes[i];
    SCOPED_TRACE("route " + std::to_string(i) + ": " + std::to_string(route.from) + "->" +
                 std::to_string(route.to) + " " + stage_name(route.stage));
    const ExportRestriction* restriction = restriction_of(model, route);
    // Exports are sold at the origin's producer price and bought at the destination's price.
    const double from_price = eq.node(route.from, route.stage).producer_price_usd_per_t;
    const double gap = eq.node(route.to, route.stage).price_usd_per_t - from_price;
    const double tariff =
        route.specific_tariff_usd_per_t + route.ad_valorem_tariff * std::max(0.0, from_price);
    const double cost = route.transport_cost_usd_per_t + tariff;
    const bool banned = restriction && restriction->kind == RestrictionKind::kBan;
    const bool gated = restriction && restriction->kind == RestrictionKind::kQuota;
    const FlowResult* direct =
        find_flow(eq, route.from, route.to, route.stage, false, tol.quantity);
    const FlowResult* leaked = find_flow(eq, route.from, route.to, route.stage, true, tol.quantity);
    if (banned) {
      EXPECT_EQ(direct, nullptr) << "flow on a banned route";
    }
    if (direct) {
      EXPECT_NEAR(direct->tariff_usd_per_t, tariff, tol.price);
      EXPECT_NEAR(direct->unit_cost_usd_per_t, cost, tol.price);
      if (gated) {
        EXPECT_GE(gap, cost - tol.price) << "quota flow at a loss";
      } else {
        EXPECT_NEAR(gap, cost, tol.price) << "price gap of a used route differs from its cost";
      }
    } else if (!banned) {
      const bool quota_full =
          gated && restricted_direct_flow(eq, *restriction) >= restriction->quota_t - tol.quantity;
      if (!quota_full) {
        EXPECT_LE(gap, cost + tol.price) << "profitable route left unused";
      }
    }
    if (restriction && restriction->leakage) {
      const double leak_cost = cost + restriction->leakage_cost_usd_per_t;
      if (leaked) {
        EXPECT_NEAR(leaked->unit_cost_usd_per_t, leak_cost, tol.price);
        EXPECT_NEAR(gap, leak_cost, tol.price) << "price gap of a used leakage path";
      } else {
        EXPECT_LE(gap, leak_cost + tol.price) << "profitable leakage left unused";
      }
    } else {
      EXPECT_EQ(leaked, nullptr) << "leakage without a leaky restriction";
    }
  }
  for (const ExportRestriction& r : model.restrictions) {
    if (r.kind != RestrictionKind::kQuota) continue;
    EXPECT_LE(restricted_direct_flow(eq, r), r.quota_t + tol.quantity)
        << "quota " << r.name << " exceeded";
  }
}

// Nodes of the flow problem whose potential is fixed relative to the source by arcs used strictly
// inside their bounds; complementary slackness gives every optimal dual the same price there.
std::vector<bool> pinned_nodes(const FlowProblem& problem, const FlowSolution& solution) {
  std::vector<int> parent(static_cast<std::size_t>(problem.node_count));
  std::iota(parent.begin(), parent.end(), 0);
  const auto find = [&](int x) {
    while (parent[static_cast<std::size_t>(x)] != x) {
      x = parent[static_cast<std::size_t>(x)] =
          parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(x)])];
    }
    return x;
  };
  const double eps = 1e-7 * problem.supply[static_cast<std::size_t>(problem.source)];
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    const FlowArc& a = problem.arcs[i];
    if (solution.flow[i] > eps && solution.flow[i] < a.capacity - eps) {
      parent[static_cast<std::size_t>(find(a.tail))] = find(a.head);
    }
  }
  std::vector<bool> pinned(static_cast<std::size_t>(problem.node_count));
  for (int i = 0; i < problem.node_count; ++i) {
    pinned[static_cast<std::size_t>(i)] = find(i) == find(problem.source);
  }
  return pinned;
}

bool interior(const FlowProblem& problem, const FlowSolution& solution, std::size_t arc) {
  const double eps = 1e-7 * problem.supply[static_cast<std::size_t>(problem.source)];
  return solution.flow[arc] > eps && solution.flow[arc] < problem.arcs[arc].capacity - eps;
}

// At every step used strictly between zero and its capacity the price is the step's cost or
// willingness to pay (processing: the margin over the ore price per tonne of metal).
void check_prices_at_partly_used_steps(const MarketModel& model, const FlowProblem& problem,
                                       const FlowSolution& solution, const Equilibrium& eq) {
  const double yield = model.processing_yield;
  const Tolerances tol = tolerances_for(model);
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    if (!interior(problem, solution, i)) continue;
    const FlowArc& a = problem.arcs[i];
    const Region& region = model.regions[a.region];
    const NodeResult& ore = eq.node(a.region, Stage::kExtraction);
    const NodeResult& metal = eq.node(a.region, Stage::kProcessing);
    const double pe = ore.producer_price_usd_per_t;
    const double pp = metal.price_usd_per_t;
    switch (a.kind) {
      case ArcKind::kExtractionSupply:
        EXPECT_TRUE(agree(pe, region.extraction[a.step].unit_cost_usd_per_t))
            << "region " << a.region << " ore price " << pe << " vs partly used step cost "
            << region.extraction[a.step].unit_cost_usd_per_t;
        break;
      case ArcKind::kProcessingSupply:
        EXPECT_NEAR(metal.producer_price_usd_per_t - ore.price_usd_per_t / yield,
                    region.processing[a.step].unit_cost_usd_per_t, tol.price / yield)
            << "region " << a.region << " processing margin vs partly used step cost";
        break;
      case ArcKind::kDemand:
        EXPECT_TRUE(agree(pp, region.demand[a.step].willingness_to_pay_usd_per_t))
            << "region " << a.region << " metal price " << pp << " vs partly served step wtp "
            << region.demand[a.step].willingness_to_pay_usd_per_t;
        break;
      default:
        break;
    }
  }
}

// The result of clear_market is the solution of the flow problem we rebuilt.
void check_matches_direct_solve(const MarketModel& model, const FlowProblem& problem,
                                const FlowSolution& solution, const Equilibrium& eq) {
  const Tolerances tol = tolerances_for(model);
  std::vector<double> mined(model.regions.size(), 0.0);
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    if (problem.arcs[i].kind == ArcKind::kExtractionSupply) {
      mined[problem.arcs[i].region] += solution.flow[i];
    }
  }
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    EXPECT_NEAR(eq.node(r, Stage::kExtraction).production_t, mined[r], tol.quantity);
  }
}

struct Solved {
  int valid = 0;
  int solved = 0;
};

TEST(MarketProperty, NetworkAndClpAgreeOnWelfareAndPinnedPricesOnRandomInstances) {
  Solved count;
  int pinned_compared = 0;
  for (int k = 0; k < kInstances; ++k) {
    const std::uint64_t seed = kSeedBase + static_cast<std::uint64_t>(k);
    const MarketModel model = random_model(seed);
    if (!validate_model(model).is_ok()) continue;
    ++count.valid;
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto net = clear_market(model, SolverPath::kNetwork);
    auto lp = clear_market(model, SolverPath::kLinearProgram);
    ASSERT_TRUE(net.is_ok()) << net.status().to_string();
    ASSERT_TRUE(lp.is_ok()) << lp.status().to_string();
    const Equilibrium& a = net.value();
    const Equilibrium& b = lp.value();
    if (a.termination != Termination::kOptimal || b.termination != Termination::kOptimal) {
      ADD_FAILURE() << "not optimal: network " << termination_name(a.termination) << " ("
                    << a.reason << "), clp " << termination_name(b.termination) << " (" << b.reason
                    << ")";
      continue;
    }
    ++count.solved;
    EXPECT_TRUE(agree(a.welfare_usd, b.welfare_usd))
        << "welfare network " << a.welfare_usd << " clp " << b.welfare_usd;
    if (has_ad_valorem(model)) continue;  // the final ad valorem tariffs are internal

    // Without ad valorem tariffs clear_market solves exactly this problem once on each path.
    const FlowProblem problem = build_flow_problem(model, {});
    const FlowSolution net_flow = solve_network_simplex(problem);
    const FlowSolution lp_flow = solve_clp(problem);
    ASSERT_EQ(net_flow.termination, Termination::kOptimal);
    ASSERT_EQ(lp_flow.termination, Termination::kOptimal);
    check_matches_direct_solve(model, problem, net_flow, a);
    check_matches_direct_solve(model, problem, lp_flow, b);
    {
      SCOPED_TRACE("network");
      check_prices_at_partly_used_steps(model, problem, net_flow, a);
    }
    {
      SCOPED_TRACE("clp");
      check_prices_at_partly_used_steps(model, problem, lp_flow, b);
    }
    const std::vector<bool> pinned_net = pinned_nodes(problem, net_flow);
    const std::vector<bool> pinned_lp = pinned_nodes(problem, lp_flow);
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
        const auto node =
            static_cast<std::size_t>(stage == Stage::kExtraction ? FlowProblem::extraction_node(r)
                                                                 : FlowProblem::processing_node(r));
        if (!pinned_net[node] && !pinned_lp[node]) continue;
        ++pinned_compared;
        const double pa = a.node(r, stage).price_usd_per_t;
        const double pb = b.node(r, stage).price_usd_per_t;
        EXPECT_TRUE(agree(pa, pb)) << "region " << r << " " << stage_name(stage)
                                   << " pinned price: network " << pa << " clp " << pb;
      }
    }
  }
  std::printf(
      "[ info ] %d of %d random instances valid, %d solved on both paths, %d pinned prices "
      "compared\n",
      count.valid, kInstances, count.solved, pinned_compared);
  EXPECT_GE(count.solved, kMinSolved);
}

// The random instances of market model v2: supply steps whose cost rises across the step and
// demand steps that are straight or constant-elasticity curves (some essential), on top of the
// flat instances above.
MarketModel sloped_random_model(std::uint64_t seed) {
  MarketModel model = random_model(seed);
  Draw draw(seed ^ 0x5eedULL);
  for (Region& region : model.regions) {
    for (auto* steps : {&region.extraction, &region.processing}) {
      for (SupplyStep& step : *steps) {
        if (draw.chance(0.7)) step.cost_rise_usd_per_t = draw.uniform(0.5, 60.0);
      }
    }
    for (DemandStep& step : region.demand) {
      const double kind = draw.unit();
      if (kind < 0.15) {
        step.essential = true;
      } else if (kind < 0.55) {
        step.wtp_fall_usd_per_t = draw.uniform(0.1, 0.9) * step.willingness_to_pay_usd_per_t;
      } else {
        step.wtp_fall_usd_per_t = draw.uniform(0.3, 0.97) * step.willingness_to_pay_usd_per_t;
        step.elasticity = -draw.uniform(0.05, 1.5);
        step.reference_price_usd_per_t =
            step.willingness_to_pay_usd_per_t - 0.5 * step.wtp_fall_usd_per_t;
      }
    }
  }
  return model;
}

// Both paths refine the sloped steps to the price resolution each reports, so they agree on
// welfare within what that resolution can move (resolution x the volume traded) and on every
// pinned price within the sum of their resolutions; and each solution balances every node.
TEST(MarketProperty, NetworkAndClpAgreeOnSlopedAndCurvedRandomInstancesToTheirResolution) {
  int solved = 0, valid = 0, refined = 0;
  for (int k = 0; k < kInstances; ++k) {
    const std::uint64_t seed = kSeedBase + 7919 + static_cast<std::uint64_t>(k);
    const MarketModel model = sloped_random_model(seed);
    if (!validate_model(model).is_ok()) continue;
    ++valid;
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto net = clear_market(model, SolverPath::kNetwork);
    auto lp = clear_market(model, SolverPath::kLinearProgram);
    ASSERT_TRUE(net.is_ok()) << net.status().to_string();
    ASSERT_TRUE(lp.is_ok()) << lp.status().to_string();
    const Equilibrium& a = net.value();
    const Equilibrium& b = lp.value();
    ASSERT_EQ(a.termination, Termination::kOptimal) << a.reason;
    ASSERT_EQ(b.termination, Termination::kOptimal) << b.reason;
    ++solved;
    refined += a.statistics.refinement_solves > 1 ? 1 : 0;
    const double resolution =
        a.statistics.price_resolution_usd_per_t + b.statistics.price_resolution_usd_per_t;
    double volume = 0.0, scale = 1.0;
    for (const NodeResult& n : a.nodes) {
      volume += n.consumption_t + n.production_t;
      scale = std::max(scale, std::abs(n.price_usd_per_t));
    }
    EXPECT_NEAR(a.welfare_usd, b.welfare_usd,
                resolution * volume + 1e-6 * std::max(1.0, std::abs(a.welfare_usd)))
        << "resolution " << resolution;
    // The processing stage balances on each path (production + stock moves = use).
    for (const Equilibrium* eq : {&a, &b}) {
      double supplied = 0.0, used = 0.0;
      for (std::size_t r = 0; r < model.regions.size(); ++r) {
        const NodeResult& n = eq->node(r, Stage::kProcessing);
        supplied += n.production_t + n.stock_release_t - n.stock_refill_t;
        used += n.consumption_t;
      }
      EXPECT_NEAR(supplied, used, 1e-6 * std::max(1.0, used));
    }
    // A region that consumes the same on both paths pays prices within the resolution of each
    // other (consumption > 0 pins the price to its demand curve up to the resolution); where the
    // paths split a degenerate optimum differently, the prices may differ.
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      const NodeResult& pa = a.node(r, Stage::kProcessing);
      const NodeResult& pb = b.node(r, Stage::kProcessing);
      const bool both_consume = pa.consumption_t > 1e-6 && pb.consumption_t > 1e-6;
      const bool same_use =
          std::abs(pa.consumption_t - pb.consumption_t) <= 1e-6 * std::max(1.0, pa.consumption_t);
      if (!both_consume || !same_use) continue;
      EXPECT_NEAR(pa.price_usd_per_t, pb.price_usd_per_t, resolution + 1e-6 * scale)
          << "region " << r;
    }
  }
  std::printf("[ info ] %d of %d sloped instances valid, %d solved on both paths, %d refined\n",
              valid, kInstances, solved, refined);
  // As for the flat instances, about a quarter are invalid by construction (demand that no
  // route reaches, a destination restricted twice); 142 of these 200 are valid.
  EXPECT_GE(solved, 120);
  EXPECT_GT(refined, solved / 2) << "most instances exercise the refinement";
}

TEST(MarketProperty, EveryRandomEquilibriumBalancesAndLeavesNoProfitableTradeUndone) {
  int solved = 0;
  for (int k = 0; k < kInstances; ++k) {
    const std::uint64_t seed = kSeedBase + static_cast<std::uint64_t>(k);
    const MarketModel model = random_model(seed);
    if (!validate_model(model).is_ok()) continue;
    for (SolverPath path : kPaths) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " " + path_name(path));
      auto eq = clear_market(model, path);
      ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
      if (eq.value().termination != Termination::kOptimal) continue;  // reported elsewhere
      ++solved;
      check_invariants(model, eq.value());
    }
  }
  EXPECT_GE(solved, 2 * kMinSolved);
}

MarketModel scale_quantities(MarketModel model, double factor) {
  for (Region& region : model.regions) {
    for (SupplyStep& s : region.extraction) s.capacity_t *= factor;
    for (SupplyStep& s : region.processing) s.capacity_t *= factor;
    for (DemandStep& s : region.demand) s.quantity_t *= factor;
    region.base_demand_t *= factor;
  }
  for (ExportRestriction& r : model.restrictions) r.quota_t *= factor;
  return model;
}

MarketModel scale_costs(MarketModel model, double factor) {
  for (Region& region : model.regions) {
    for (SupplyStep& s : region.extraction) s.unit_cost_usd_per_t *= factor;
    for (SupplyStep& s : region.processing) s.unit_cost_usd_per_t *= factor;
    for (DemandStep& s : region.demand) s.willingness_to_pay_usd_per_t *= factor;
  }
  for (Route& route : model.routes) {
    route.transport_cost_usd_per_t *= factor;
    route.specific_tariff_usd_per_t *= factor;
  }
  for (ExportRestriction& r : model.restrictions) r.leakage_cost_usd_per_t *= factor;
  return model;
}

// Region r becomes region n-1-r.
MarketModel reverse_regions(MarketModel model) {
  const std::size_t last = model.regions.size() - 1;
  std::reverse(model.regions.begin(), model.regions.end());
  for (Route& route : model.routes) {
    route.from = last - route.from;
    route.to = last - route.to;
  }
  for (ExportRestriction& r : model.restrictions) {
    r.origin = last - r.origin;
    for (std::size_t& d : r.destinations) d = last - d;
  }
  return model;
}

// Metamorphic properties: the equilibrium does not depend on units or on the order of regions.
// Tonnes x1000 scale welfare by 1000 and keep prices; USD x7 scale welfare and prices by 7;
// numbering the regions backwards changes nothing but the numbering.
TEST(MarketProperty, EquilibriumIsIndependentOfUnitsAndRegionOrder) {
  int compared = 0;
  for (int k = 0; k < kInstances; ++k) {
    const std::uint64_t seed = kSeedBase + static_cast<std::uint64_t>(k);
    const MarketModel model = random_model(seed);
    if (!validate_model(model).is_ok() || has_ad_valorem(model)) continue;
    const FlowProblem problem = build_flow_problem(model, {});
    const std::vector<bool> pinned = pinned_nodes(problem, solve_clp(problem));
    const std::size_t n = model.regions.size();
    const MarketModel tonnes = scale_quantities(model, 1000.0);
    const MarketModel dollars = scale_costs(model, 7.0);
    const MarketModel reversed = reverse_regions(model);
    for (SolverPath path : kPaths) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " " + path_name(path));
      auto base = clear_market(model, path);
      auto more_tonnes = clear_market(tonnes, path);
      auto more_dollars = clear_market(dollars, path);
      auto backwards = clear_market(reversed, path);
      ASSERT_TRUE(base.is_ok() && more_tonnes.is_ok() && more_dollars.is_ok() && backwards.is_ok());
      const Equilibrium& e = base.value();
      EXPECT_TRUE(agree(more_tonnes.value().welfare_usd, 1000.0 * e.welfare_usd))
          << more_tonnes.value().welfare_usd << " vs 1000 x " << e.welfare_usd;
      EXPECT_TRUE(agree(more_dollars.value().welfare_usd, 7.0 * e.welfare_usd))
          << more_dollars.value().welfare_usd << " vs 7 x " << e.welfare_usd;
      EXPECT_TRUE(agree(backwards.value().welfare_usd, e.welfare_usd))
          << backwards.value().welfare_usd << " vs " << e.welfare_usd;
      for (std::size_t r = 0; r < n; ++r) {
        for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
          const auto node = static_cast<std::size_t>(stage == Stage::kExtraction
                                                         ? FlowProblem::extraction_node(r)
                                                         : FlowProblem::processing_node(r));
          if (!pinned[node]) continue;
          ++compared;
          const double price = e.node(r, stage).price_usd_per_t;
          EXPECT_TRUE(agree(more_tonnes.value().node(r, stage).price_usd_per_t, price))
              << "region " << r << " " << stage_name(stage);
          EXPECT_TRUE(agree(more_dollars.value().node(r, stage).price_usd_per_t, 7.0 * price))
              << "region " << r << " " << stage_name(stage);
          EXPECT_TRUE(agree(backwards.value().node(n - 1 - r, stage).price_usd_per_t, price))
              << "region " << r << " " << stage_name(stage);
        }
      }
    }
  }
  EXPECT_GT(compared, 500);
}

TEST(MarketProperty, ValidRandomInstancesAreOptimalAndNeedOneRoundWithoutAdValorem) {
  int valid = 0;
  int rejected = 0;
  int ad_valorem = 0;
  for (int k = 0; k < kInstances; ++k) {
    const std::uint64_t seed = kSeedBase + static_cast<std::uint64_t>(k);
    const MarketModel model = random_model(seed);
    const Status status = validate_model(model);
    for (SolverPath path : kPaths) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " " + path_name(path));
      auto eq = clear_market(model, path);
      // clear_market validates the same way.
      ASSERT_EQ(eq.is_ok(), status.is_ok()) << eq.status().to_string();
      if (!eq.is_ok()) continue;
      EXPECT_EQ(eq.value().termination, Termination::kOptimal)
          << termination_name(eq.value().termination) << ": " << eq.value().reason;
      if (has_ad_valorem(model)) {
        EXPECT_GE(eq.value().statistics.outer_iterations, 1);
        double scale = 1.0;
        for (const NodeResult& node : eq.value().nodes) {
          scale = std::max(scale, std::abs(node.price_usd_per_t));
        }
        EXPECT_LE(eq.value().statistics.outer_residual, 1e-9 * scale);
      } else {
        EXPECT_EQ(eq.value().statistics.outer_iterations, 1);
      }
    }
    if (status.is_ok()) {
      ++valid;
      ad_valorem += has_ad_valorem(model) ? 1 : 0;
    } else {
      ++rejected;
    }
  }
  std::printf("[ info ] %d valid (%d with ad valorem tariffs), %d rejected by validate_model\n",
              valid, ad_valorem, rejected);
  EXPECT_GE(valid, kMinSolved);
  EXPECT_GT(rejected, 0);  // the generator also exercises validation
  EXPECT_GT(ad_valorem, 0);
}

// Found by the random instances (seed 9842 of random_model, reduced by hand): region C has no
// supply, demand or imports, so nothing ever flows on C -> B and C's price is not pinned; every
// price between B's price minus the route cost and anything above is a valid dual. The ad valorem
// tariff of C -> B is levied on that price. The flows are the same in every round of the outer
// loop and a fixed point exists (the network path finds C at 123.58 USD/t, where
// 0.2 * 123.58 = 159 - 10.7 - 123.58), but Clp returns a different dual for C from round to
// round, so the loop reports kIterationLimit after 100 rounds (largest change 1.9 USD/t).
TEST(MarketProperty, AdValoremLoopConvergesWhenTheOriginHasNothingToExport) {
  MarketModel model;
  model.material = "regression";
  model.processing_yield = 0.5;
  model.regions.push_back({"A", {}, {{120, 66}, {170, 104}}, {}, {}, 0});
  model.regions.push_back({"B", {}, {{40, 25}}, {{100, 37}}, {{160, 117}, {190, 159}}, 350});
  model.regions.push_back({"C", {}, {}, {}, {}, 0});
  model.routes.push_back({0, 1, Stage::kProcessing, 23.5});
  model.routes.push_back({2, 1, Stage::kProcessing, 10.7, 0.0, 0.2});
  for (SolverPath path : kPaths) {
    SCOPED_TRACE(path_name(path));
    auto eq = clear_market(model, path);
    ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
    EXPECT_EQ(eq.value().termination, Termination::kOptimal)
        << termination_name(eq.value().termination) << ": " << eq.value().reason;
    EXPECT_TRUE(eq.value().flows.empty());
    EXPECT_NEAR(eq.value().node(1, Stage::kProcessing).price_usd_per_t, 159.0, 1e-6);
    if (eq.value().termination == Termination::kOptimal) check_invariants(model, eq.value());
  }
}

// A fixed four-region instance, yield 0.8. A mines and refines cheaply (metal at
// 10/0.8 + 5 = 17.5); B has dear ore (30) but refining capacity; C mines at 18 and refines;
// D only consumes. B imports A's metal (transport 4) or A's ore (transport 1, refined in B).
MarketModel comparative_statics_model() {
  MarketModel model;
  model.material = "statics";
  model.year = 2024;
  model.processing_yield = 0.8;
  model.regions.push_back({"A", {}, {{300, 10}}, {{300, 5}}, {{20, 60}}, 20});
  model.regions.push_back({"B", {}, {{40, 30}}, {{60, 8}}, {{80, 90}, {60, 45}}, 140});
  model.regions.push_back({"C", {}, {{100, 18}}, {{100, 6}}, {{30, 70}}, 30});
  model.regions.push_back({"D", {}, {}, {}, {{50, 100}}, 50});
  model.routes.push_back({0, 1, Stage::kProcessing, 4.0});  // 0: A -> B metal
  model.routes.push_back({0, 3, Stage::kProcessing, 6.0});  // 1: A -> D metal
  model.routes.push_back({2, 1, Stage::kProcessing, 3.0});  // 2: C -> B metal
  model.routes.push_back({2, 3, Stage::kProcessing, 2.0});  // 3: C -> D metal
  model.routes.push_back({0, 1, Stage::kExtraction, 1.0});  // 4: A -> B ore
  model.routes.push_back({0, 2, Stage::kExtraction, 1.5});  // 5: A -> C ore
  return model;
}

double total_flow(const Equilibrium& eq, std::size_t from, std::size_t to, Stage stage) {
  double total = 0.0;
  for (const FlowResult& f : eq.flows) {
    if (f.from == from && f.to == to && f.stage == stage) total += f.quantity_t;
  }
  return total;
}

TEST(MarketProperty, RaisingASpecificTariffNeverLowersTheImporterPrice) {
  for (SolverPath path : kPaths) {
    SCOPED_TRACE(path_name(path));
    MarketModel model = comparative_statics_model();
    double previous_price = -1.0;
    double previous_flow = 1e300;
    double first_flow = 0.0;
    for (int k = 0; k <= 40; ++k) {
      const double tariff = 0.3 + 1.7 * k;
      model.routes[0].specific_tariff_usd_per_t = tariff;
      auto eq = clear_market(model, path);
      ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
      ASSERT_EQ(eq.value().termination, Termination::kOptimal);
      check_invariants(model, eq.value());
      const double price = eq.value().node(1, Stage::kProcessing).price_usd_per_t;
      const double flow = total_flow(eq.value(), 0, 1, Stage::kProcessing);
      EXPECT_GE(price, previous_price - 1e-6) << "tariff " << tariff;
      EXPECT_LE(flow, previous_flow + 1e-6) << "tariff " << tariff;
      if (k == 0) first_flow = flow;
      previous_price = price;
      previous_flow = flow;
    }
    EXPECT_GT(first_flow, 1.0);             // the route is used at a low tariff...
    EXPECT_NEAR(previous_flow, 0.0, 1e-6);  // ...and priced out at a high one
  }
}

TEST(MarketProperty, BanWithoutLeakageRemovesTheFlow) {
  for (SolverPath path : kPaths) {
    SCOPED_TRACE(path_name(path));
    MarketModel model = comparative_statics_model();
    auto free_trade = clear_market(model, path);
    ASSERT_TRUE(free_trade.is_ok());
    ASSERT_GT(total_flow(free_trade.value(), 0, 1, Stage::kProcessing), 1.0);
    model.restrictions.push_back({"ban", 0, Stage::kProcessing, RestrictionKind::kBan, {1}});
    auto banned = clear_market(model, path);
    ASSERT_TRUE(banned.is_ok()) << banned.status().to_string();
    ASSERT_EQ(banned.value().termination, Termination::kOptimal);
    check_invariants(model, banned.value());
    EXPECT_EQ(total_flow(banned.value(), 0, 1, Stage::kProcessing), 0.0);
    // The other routes of the origin are untouched by the ban.
    EXPECT_GT(total_flow(banned.value(), 0, 3, Stage::kProcessing) +
                  total_flow(banned.value(), 0, 1, Stage::kExtraction),
              1.0);
    EXPECT_GE(banned.value().node(1, Stage::kProcessing).price_usd_per_t,
              free_trade.value().node(1, Stage::kProcessing).price_usd_per_t - 1e-6);
  }
}

TEST(MarketProperty, LeakageReroutesBannedFlowAtRouteCostPlusLeakageCost) {
  for (SolverPath path : kPaths) {
    SCOPED_TRACE(path_name(path));
    MarketModel model = comparative_statics_model();
    model.routes[0].specific_tariff_usd_per_t = 1.5;
    ExportRestriction ban{"ban", 0, Stage::kProcessing, RestrictionKind::kBan, {1}};
    ban.leakage = true;
    ban.leakage_cost_usd_per_t = 0.5;
    model.restrictions.push_back(ban);
    auto eq = clear_market(model, path);
    ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
    ASSERT_EQ(eq.value().termination, Termination::kOptimal);
    check_invariants(model, eq.value());
    EXPECT_EQ(find_flow(eq.value(), 0, 1, Stage::kProcessing, false), nullptr);
    const FlowResult* leaked = find_flow(eq.value(), 0, 1, Stage::kProcessing, true);
    ASSERT_NE(leaked, nullptr) << "cheap leakage should carry A's metal to B";
    EXPECT_GT(leaked->quantity_t, 1.0);
    EXPECT_NEAR(leaked->unit_cost_usd_per_t, 4.0 + 1.5 + 0.5, 1e-9);
    EXPECT_NEAR(leaked->tariff_usd_per_t, 1.5, 1e-9);
    EXPECT_NEAR(eq.value().node(1, Stage::kProcessing).price_usd_per_t -
                    eq.value().node(0, Stage::kProcessing).producer_price_usd_per_t,
                4.0 + 1.5 + 0.5, 1e-6);
  }
}

TEST(MarketProperty, QuotaCapsTotalExportsToItsDestinations) {
  for (SolverPath path : kPaths) {
    SCOPED_TRACE(path_name(path));
    const MarketModel base = comparative_statics_model();
    auto free_trade = clear_market(base, path);
    ASSERT_TRUE(free_trade.is_ok());
    const double unrestricted = total_flow(free_trade.value(), 0, 1, Stage::kProcessing) +
                                total_flow(free_trade.value(), 0, 3, Stage::kProcessing);
    ASSERT_GT(unrestricted, 20.0);
    for (bool leakage : {false, true}) {
      for (double quota : {0.0, 7.5, 0.5 * unrestricted, unrestricted + 10.0, 1e4}) {
        SCOPED_TRACE("quota " + std::to_string(quota) + (leakage ? " with leakage" : ""));
        MarketModel model = base;
        ExportRestriction restriction{"quota", 0,    Stage::kProcessing, RestrictionKind::kQuota,
                                      {1, 3},  quota};
        restriction.leakage = leakage;
        restriction.leakage_cost_usd_per_t = 2.0;
        model.restrictions.push_back(restriction);
        auto eq = clear_market(model, path);
        ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
        ASSERT_EQ(eq.value().termination, Termination::kOptimal);
        check_invariants(model, eq.value());
        const double direct = restricted_direct_flow(eq.value(), model.restrictions[0]);
        EXPECT_LE(direct, quota + 1e-6);
        // Below the free-trade volume the quota binds; above it, it does not matter.
        EXPECT_NEAR(direct, std::min(quota, unrestricted), 1e-6);
        for (const FlowResult& f : eq.value().flows) {
          if (f.via_leakage) {
            EXPECT_TRUE(leakage);
            EXPECT_NEAR(f.unit_cost_usd_per_t,
                        base.routes[f.to == 1 ? 0 : 1].transport_cost_usd_per_t + 2.0, 1e-9);
          }
        }
      }
    }
  }
}

TEST(MarketProperty, ExtractionQuotaCapsOreExportsOnBothDestinations) {
  for (SolverPath path : kPaths) {
    SCOPED_TRACE(path_name(path));
    MarketModel model = comparative_statics_model();
    model.restrictions.push_back(
        {"ore quota", 0, Stage::kExtraction, RestrictionKind::kQuota, {1, 2}, 25.0});
    auto eq = clear_market(model, path);
    ASSERT_TRUE(eq.is_ok()) << eq.status().to_string();
    ASSERT_EQ(eq.value().termination, Termination::kOptimal);
    check_invariants(model, eq.value());
    EXPECT_LE(total_flow(eq.value(), 0, 1, Stage::kExtraction) +
                  total_flow(eq.value(), 0, 2, Stage::kExtraction),
              25.0 + 1e-6);
  }
}

}  // namespace
}  // namespace critmin::market
