#include "market/flow_problem.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>

namespace critmin::market {

namespace {

// The value most of `values` share (within `tolerance`; the smallest such value on a tie); NaN
// when there are none. Sorts `values`.
double most_common(std::vector<double>& values, double tolerance) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  // Where every value lies within the tolerance of the smallest (separable costs, the common
  // case), the sorted scan below finds one run starting at the smallest: no sort needed.
  const auto [smallest, largest] = std::minmax_element(values.begin(), values.end());
  if (*largest - *smallest <= tolerance) return *smallest;
  std::sort(values.begin(), values.end());
  double best = values[0];
  std::size_t best_run = 0;
  for (std::size_t i = 0, j = 0; i < values.size(); i = j) {
    while (j < values.size() && values[j] - values[i] <= tolerance) ++j;
    if (j - i > best_run) {
      best_run = j - i;
      best = values[i];
    }
  }
  return best;
}

// True when the routes of a stage join every ordered pair of regions exactly once with one
// transport cost and one tariff (the calibrated default); checked first because it is the common
// case and needs no grouping.
bool uniform_complete_trade(const MarketModel& model, Stage stage,
                            const std::vector<double>& ad_valorem, double* transport,
                            double* tariff) {
  const std::size_t n = model.regions.size();
  if (n < 3) return false;  // nothing to gain
  for (const ExportRestriction& r : model.restrictions) {
    if (r.stage == stage) return false;
  }
  // The costs first: a model with instruments differs there within its first routes, before the
  // pair table is worth allocating.
  bool first = true;
  double common_transport = 0.0, common_tariff = 0.0;
  for (std::size_t i = 0; i < model.routes.size(); ++i) {
    const Route& route = model.routes[i];
    if (route.stage != stage) continue;
    const double route_tariff =
        route.specific_tariff_usd_per_t + (ad_valorem.empty() ? 0.0 : ad_valorem[i]);
    if (first) {
      common_transport = route.transport_cost_usd_per_t;
      common_tariff = route_tariff;
      first = false;
    } else if (route.transport_cost_usd_per_t != common_transport ||
               route_tariff != common_tariff) {
      return false;
    }
  }
  std::vector<unsigned char> seen(n * n, 0);  // bytes: this runs on every solve
  std::size_t count = 0;
  for (const Route& route : model.routes) {
    if (route.stage != stage) continue;
    const std::size_t key = route.from * n + route.to;
    if (seen[key]) return false;
    seen[key] = 1;
    ++count;
  }
  *transport = common_transport;
  *tariff = common_tariff;
  return count == n * (n - 1);
}

// The route table of one stage: per ordered pair (from * n + to) its route and its cost [USD per t
// of the stage's product]; kNoRoute where there is none.
struct StageRoutes {
  std::size_t n = 0;
  std::vector<std::size_t> route_of;
  std::vector<double> cost;
  double tolerance = 0.0;  // costs this close are equal
};

// An arc between a region and hub `hub_index` (FlowArc::route of hub arcs), without a capacity of
// its own.
FlowArc hub_arc(int tail, int head, double cost, ArcKind kind, std::size_t region,
                std::size_t hub_index, Stage stage) {
  FlowArc arc;
  arc.tail = tail;
  arc.head = head;
  arc.capacity = kUnlimited;
  arc.cost = cost;
  arc.kind = kind;
  arc.region = region;
  arc.route = hub_index;
  arc.stage = stage;
  return arc;
}

// A hub that would pool the routes from its origins to its destinations: the origins' parts a(o)
// and the destinations' parts b(d) of the route costs, and the pairs it stands for.
struct HubPlan {
  FlowProblem::Hub hub;  // without its node
  std::vector<double> a, b;
  std::size_t direct = 0;  // routes of the group cheaper than their hub path: direct arcs
  std::size_t arc_count() const { return hub.origins.size() + hub.destinations.size() + direct; }
};

// The hub for the routes from `origins` to `dests` when their costs are separable (see
// build_flow_problem in the header) and it saves arcs; nullopt otherwise.
std::optional<HubPlan> plan_hub(const MarketModel& model, Stage stage, const StageRoutes& table,
                                const std::vector<std::size_t>& dests,
                                const std::vector<std::size_t>& origins) {
  constexpr std::size_t kNone = FlowProblem::kNoRoute;
  const std::size_t n = table.n;
  const std::vector<std::size_t>& route_of = table.route_of;
  const std::vector<double>& cost = table.cost;
  const double tolerance = table.tolerance;
  if (dests.size() < 2 || origins.size() < 3) return std::nullopt;  // a hub would not save arcs
  // b(d) relative to the first destination, then a(o), each the value most routes agree on
  // (a cheaper direct route does not vote it away). First from a few routes only, five per
  // destination and five per origin: the majority of five is right where at most two routes per
  // destination and per origin are cheaper than the rest (a certified twin's free downgrade to its
  // own region, the free delivery of a member and its twin into the joint purchasing block). The
  // exact check below then either confirms the hub with at most that many direct arcs per origin
  // and per destination, or the votes are taken again over every route.
  const std::size_t first = dests[0];
  std::vector<double> b(dests.size(), 0.0), a(origins.size(), 0.0), votes;
  // From at most `origin_sample` routes per destination and `destination_sample` per origin;
  // false when a vote finds no value most routes share.
  const auto decompose = [&](std::size_t origin_sample, std::size_t destination_sample) {
    b[0] = 0.0;  // check() shifted it when an earlier decomposition was checked
    for (std::size_t j = 1; j < dests.size(); ++j) {
      votes.clear();
      for (std::size_t o : origins) {
        if (o == dests[j] || o == first) continue;
        votes.push_back(cost[o * n + dests[j]] - cost[o * n + first]);
        if (votes.size() == origin_sample) break;
      }
      b[j] = most_common(votes, tolerance);
      if (std::isnan(b[j])) return false;
    }
    for (std::size_t k = 0; k < origins.size(); ++k) {
      votes.clear();
      for (std::size_t j = 0; j < dests.size(); ++j) {
        if (dests[j] == origins[k]) continue;
        votes.push_back(cost[origins[k] * n + dests[j]] - b[j]);
        if (votes.size() == destination_sample) break;
      }
      a[k] = most_common(votes, tolerance);
      if (std::isnan(a[k])) return false;
    }
    return true;
  };
  // The hub of the decomposition just made, checked exactly against every route; with `sampled`
  // only when its direct arcs have the pattern the sample assumed.
  const auto check = [&](bool sampled) -> std::optional<HubPlan> {
    // Split the common part: the cheapest origin keeps half its transport cost to the first
    // destination, the rest goes to the destinations (in the calibrated default: half the
    // transport cost on each side, the tariff on the importer's).
    const std::size_t cheapest =
        static_cast<std::size_t>(std::min_element(a.begin(), a.end()) - a.begin());
    const std::size_t reference =
        route_of[origins[cheapest] * n + (origins[cheapest] == first ? dests[1] : first)];
    if (reference == kNone) return std::nullopt;
    double shift = a[cheapest] - 0.5 * model.routes[reference].transport_cost_usd_per_t;
    shift = std::max(shift, -*std::min_element(b.begin(), b.end()));
    for (double& x : a) x -= shift;
    for (double& x : b) x += shift;
    if (*std::min_element(a.begin(), a.end()) < 0.0 ||
        *std::min_element(b.begin(), b.end()) < 0.0) {
      return std::nullopt;
    }
    HubPlan plan;
    FlowProblem::Hub& hub = plan.hub;
    hub.stage = stage;
    hub.origins = origins;
    hub.destinations = dests;
    const std::size_t pairs = origins.size() * dests.size();
    hub.route.assign(pairs, kNone);
    hub.unit_cost.assign(pairs, 0.0);
    hub.tariff.assign(pairs, 0.0);
    std::size_t& direct = plan.direct;
    std::vector<int> per_origin(sampled ? origins.size() : 0, 0);
    std::vector<int> per_destination(sampled ? dests.size() : 0, 0);
    for (std::size_t k = 0; k < origins.size(); ++k) {
      for (std::size_t j = 0; j < dests.size(); ++j) {
        const std::size_t o = origins[k], d = dests[j];
        if (o == d) continue;
        const std::size_t key = o * n + d;
        // The hub would open a missing route or undercut a dearer one.
        if (route_of[key] == kNone) return std::nullopt;
        const double gap = cost[key] - (a[k] + b[j]);
        if (gap > tolerance) return std::nullopt;
        if (gap < -tolerance) {
          ++direct;  // cheaper than the hub path: stays a direct arc
          if (sampled && (++per_origin[k] > 2 || ++per_destination[j] > 2)) return std::nullopt;
          continue;
        }
        const std::size_t pair = k * dests.size() + j;
        const Route& route = model.routes[route_of[key]];
        hub.route[pair] = route_of[key];
        hub.unit_cost[pair] = cost[key];
        hub.tariff[pair] = cost[key] - route.transport_cost_usd_per_t;
      }
    }
    if (origins.size() + dests.size() + direct >= pairs) return std::nullopt;
    plan.a = a;
    plan.b = b;
    return plan;
  };
  if (decompose(5, 5)) {
    if (auto plan = check(true)) return plan;
  }
  constexpr std::size_t kAll = static_cast<std::size_t>(-1);
  if (!decompose(kAll, kAll)) return std::nullopt;
  return check(false);
}

// Adds the planned hub and its arcs to `problem` and marks the routes it stands for.
void add_hub(const MarketModel& model, HubPlan plan, FlowProblem* problem,
             std::vector<char>* pooled_route) {
  constexpr std::size_t kNone = FlowProblem::kNoRoute;
  FlowProblem::Hub& hub = plan.hub;
  const Stage stage = hub.stage;
  const std::size_t n = model.regions.size();
  const double scale = stage == Stage::kProcessing ? model.processing_yield : 1.0;
  const std::vector<std::size_t>& origins = hub.origins;
  const std::vector<std::size_t>& dests = hub.destinations;
  // The walk below adds each region's arcs in region order.
  assert(std::is_sorted(origins.begin(), origins.end()) &&
         std::is_sorted(dests.begin(), dests.end()));
  hub.node = problem->node_count++;
  const std::size_t index = problem->hubs.size();
  // In region order, each region's arc to the hub before its arc from it.
  for (std::size_t r = 0, k = 0, j = 0; r < n; ++r) {
    if (k < origins.size() && origins[k] == r) {
      const int tail = stage == Stage::kExtraction ? FlowProblem::extraction_origin_node(r)
                                                   : FlowProblem::processing_origin_node(r);
      problem->arcs.push_back(
          hub_arc(tail, hub.node, plan.a[k++] * scale, ArcKind::kToHub, r, index, stage));
    }
    if (j < dests.size() && dests[j] == r) {
      const int head = stage == Stage::kExtraction ? FlowProblem::extraction_node(r)
                                                   : FlowProblem::processing_node(r);
      problem->arcs.push_back(
          hub_arc(hub.node, head, plan.b[j++] * scale, ArcKind::kFromHub, r, index, stage));
    }
  }
  for (std::size_t r : hub.route) {
    if (r != kNone) (*pooled_route)[r] = 1;
  }
  problem->pooled[stage == Stage::kProcessing ? 1 : 0] = true;
  problem->hubs.push_back(std::move(hub));
}

// True when the routes into `d` and into `f` differ by one amount (within the tolerance) from
// every common origin but at most two (a certified twin's free downgrade into either of them):
// then d and f may share a hub.
bool alike_destinations(const StageRoutes& table, const std::vector<std::size_t>& origins,
                        std::size_t d, std::size_t f, std::vector<double>* votes) {
  constexpr std::size_t kNone = FlowProblem::kNoRoute;
  const std::size_t n = table.n;
  votes->clear();
  for (std::size_t o : origins) {
    if (o == d || o == f) continue;
    if (table.route_of[o * n + d] == kNone || table.route_of[o * n + f] == kNone) continue;
    votes->push_back(table.cost[o * n + d] - table.cost[o * n + f]);
  }
  if (votes->empty()) return false;
  const double common = most_common(*votes, table.tolerance);
  const auto deviating = std::count_if(votes->begin(), votes->end(), [&](double v) {
    return std::abs(v - common) > table.tolerance;
  });
  return deviating <= 2;
}

// Splits destinations whose routes are not separable as one group into classes that may be: a
// destination joins the first class whose first destination it is alike (above). Members of a
// club, whose imports from every non-member pay an origin-dependent levy, thus get a hub of their
// own beside the non-members'. plan_hub then checks each class exactly; the split only chooses
// what it tries.
std::vector<std::vector<std::size_t>> split_by_cost_differences(
    const StageRoutes& table, const std::vector<std::size_t>& dests,
    const std::vector<std::size_t>& origins) {
  std::vector<std::vector<std::size_t>> classes;
  std::vector<double> votes;
  for (std::size_t d : dests) {
    bool placed = false;
    for (std::vector<std::size_t>& members : classes) {
      if (alike_destinations(table, origins, d, members.front(), &votes)) {
        members.push_back(d);
        placed = true;
        break;
      }
    }
    if (!placed) classes.push_back({d});
  }
  return classes;
}

// A hub for each class of destinations (from the same origins): those that pool, and the arcs all
// the classes need (a class that does not pool keeps its routes as direct arcs).
struct ClassPlans {
  std::vector<HubPlan> hubs;
  std::size_t arc_count = 0;
  bool all_pooled = true;
};

ClassPlans plan_classes(const MarketModel& model, Stage stage, const StageRoutes& table,
                        const std::vector<std::vector<std::size_t>>& classes,
                        const std::vector<std::size_t>& origins) {
  ClassPlans plans;
  for (const std::vector<std::size_t>& members : classes) {
    std::optional<HubPlan> hub = plan_hub(model, stage, table, members, origins);
    plans.arc_count += hub ? hub->arc_count() : origins.size() * members.size();
    plans.all_pooled &= hub.has_value();
    if (hub) plans.hubs.push_back(std::move(*hub));
  }
  return plans;
}

// The group's destinations by the model's trade classes (MarketModel::trade_class), in region
// order within each class.
std::vector<std::vector<std::size_t>> classes_of_model(const MarketModel& model,
                                                       const std::vector<std::size_t>& dests) {
  std::vector<std::vector<std::size_t>> classes;
  std::vector<int> class_ids;
  for (std::size_t d : dests) {
    const auto found = std::find(class_ids.begin(), class_ids.end(), model.trade_class[d]);
    if (found == class_ids.end()) {
      class_ids.push_back(model.trade_class[d]);
      classes.push_back({d});
    } else {
      classes[static_cast<std::size_t>(found - class_ids.begin())].push_back(d);
    }
  }
  return classes;
}

// Pools the routes from `origins` into the destinations of one group: through one hub where they
// are separable with no route left direct; else through a hub per class of destinations where
// that needs fewer arcs (the model's classes first, when it names them and each class pools);
// else through the one hub with its direct arcs, where there is one.
void pool_group(const MarketModel& model, Stage stage, const StageRoutes& table,
                const std::vector<std::size_t>& dests, const std::vector<std::size_t>& origins,
                FlowProblem* problem, std::vector<char>* pooled_route) {
  const auto add_all = [&](std::vector<HubPlan>& hubs) {
    for (HubPlan& hub : hubs) add_hub(model, std::move(hub), problem, pooled_route);
  };
  bool one_class = false;  // the model's classes say these destinations belong together
  if (model.trade_class.size() == model.regions.size()) {
    auto classes = classes_of_model(model, dests);
    // Classes whose first destinations are alike are better pooled together (one hub, and the
    // network solver can merge a region's nodes joined to only one hub).
    std::vector<double> votes;
    one_class = std::all_of(classes.begin() + 1, classes.end(), [&](const auto& members) {
      return alike_destinations(table, origins, members.front(), classes[0].front(), &votes);
    });
    if (!one_class) {
      ClassPlans plans = plan_classes(model, stage, table, classes, origins);
      if (plans.all_pooled) return add_all(plans.hubs);
      // A class that does not pool (or a lone one): searched as without the classes.
    }
  }
  std::optional<HubPlan> whole = plan_hub(model, stage, table, dests, origins);
  if (whole && (whole->direct == 0 || one_class)) {
    return add_hub(model, std::move(*whole), problem, pooled_route);
  }
  // Not separable as a whole, or only with routes left direct: a hub per class of destinations
  // may need fewer arcs.
  const auto classes = split_by_cost_differences(table, dests, origins);
  if (classes.size() >= 2) {
    ClassPlans plans = plan_classes(model, stage, table, classes, origins);
    const std::size_t whole_arcs = whole ? whole->arc_count() : origins.size() * dests.size();
    if (!plans.hubs.empty() && plans.arc_count < whole_arcs) return add_all(plans.hubs);
  }
  if (whole) add_hub(model, std::move(*whole), problem, pooled_route);
}

// Builds the hubs of one stage (see build_flow_problem in the header) into `problem` and marks
// the routes they stand for in `pooled_route`.
void pool_stage(const MarketModel& model, Stage stage, const std::vector<double>& ad_valorem,
                FlowProblem* problem, std::vector<char>* pooled_route) {
  const std::size_t n = model.regions.size();
  if (n < 3) return;  // nothing to gain
  for (const ExportRestriction& r : model.restrictions) {
    if (r.stage == stage) return;
  }
  constexpr std::size_t kNone = FlowProblem::kNoRoute;
  const double scale = stage == Stage::kProcessing ? model.processing_yield : 1.0;
  double transport = 0.0, tariff = 0.0;
  if (uniform_complete_trade(model, stage, ad_valorem, &transport, &tariff)) {
    // One hub for all: half the transport cost on each side, the tariff on the importer's.
    FlowProblem::Hub hub;
    hub.node = problem->node_count++;
    hub.stage = stage;
    for (std::size_t r = 0; r < n; ++r) hub.origins.push_back(r);
    hub.destinations = hub.origins;
    hub.route.assign(n * n, kNone);
    hub.unit_cost.assign(n * n, transport + tariff);
    hub.tariff.assign(n * n, tariff);
    for (std::size_t i = 0; i < model.routes.size(); ++i) {
      const Route& route = model.routes[i];
      if (route.stage != stage) continue;
      hub.route[route.from * n + route.to] = i;
      (*pooled_route)[i] = 1;
    }
    const std::size_t index = problem->hubs.size();
    for (std::size_t r = 0; r < n; ++r) {
      FlowArc out;
      out.tail = stage == Stage::kExtraction ? FlowProblem::extraction_origin_node(r)
                                             : FlowProblem::processing_origin_node(r);
      out.head = hub.node;
      out.capacity = kUnlimited;
      out.cost = 0.5 * transport * scale;
      out.kind = ArcKind::kToHub;
      out.region = r;
      out.route = index;
      out.stage = stage;
      FlowArc in = out;
      in.tail = hub.node;
      in.head = stage == Stage::kExtraction ? FlowProblem::extraction_node(r)
                                            : FlowProblem::processing_node(r);
      in.cost = (0.5 * transport + tariff) * scale;
      in.kind = ArcKind::kFromHub;
      problem->arcs.push_back(out);
      problem->arcs.push_back(in);
    }
    problem->pooled[stage == Stage::kProcessing ? 1 : 0] = true;
    problem->hubs.push_back(std::move(hub));
    return;
  }
  // Per thread, so that the tables keep their memory from solve to solve; a cost is read only
  // where route_of names a route, so stale costs elsewhere are never seen.
  thread_local StageRoutes table;
  table.n = n;
  table.route_of.assign(n * n, kNone);
  table.cost.resize(n * n);
  std::vector<std::size_t>& route_of = table.route_of;
  std::vector<char> ships(n, 0);
  double largest = 0.0;
  for (std::size_t i = 0; i < model.routes.size(); ++i) {
    const Route& route = model.routes[i];
    if (route.stage != stage) continue;
    const std::size_t key = route.from * n + route.to;
    if (route_of[key] != kNone) return;  // two routes for one pair: not pooled
    route_of[key] = i;
    table.cost[key] = route.transport_cost_usd_per_t + route.specific_tariff_usd_per_t +
                      (ad_valorem.empty() ? 0.0 : ad_valorem[i]);
    largest = std::max(largest, table.cost[key]);
    ships[route.from] = 1;
  }
  table.tolerance = 1e-12 * std::max(1.0, largest);
  // Group destinations by their origins (a shipping destination counted among its own, so that
  // the members of a group that trade with each other share one origin set).
  std::vector<std::vector<char>> keys;
  std::vector<std::vector<std::size_t>> groups;
  for (std::size_t d = 0; d < n; ++d) {
    std::vector<char> key(n, 0);
    bool any = false;
    for (std::size_t o = 0; o < n; ++o) {
      if (route_of[o * n + d] != kNone) key[o] = 1, any = true;
    }
    if (!any) continue;
    if (ships[d]) key[d] = 1;
    const auto found = std::find(keys.begin(), keys.end(), key);
    if (found == keys.end()) {
      keys.push_back(std::move(key));
      groups.push_back({d});
    } else {
      groups[static_cast<std::size_t>(found - keys.begin())].push_back(d);
    }
  }
  for (std::size_t g = 0; g < groups.size(); ++g) {
    std::vector<std::size_t> origins;
    for (std::size_t o = 0; o < n; ++o) {
      if (keys[g][o]) origins.push_back(o);
    }
    pool_group(model, stage, table, groups[g], origins, problem, pooled_route);
  }
}

}  // namespace

FlowProblem build_flow_problem(const MarketModel& model,
                               const std::vector<double>& route_ad_valorem_usd_per_t,
                               bool pool_uniform_trade) {
  FlowProblem problem;
  const double yield = model.processing_yield;
  problem.node_count = 2 + 4 * static_cast<int>(model.regions.size());
  // At most: every step, two local arcs per region, every route twice (gated and leaked), one
  // gate per restriction, the bypass. One allocation instead of a doubling series.
  std::size_t arc_bound = 1 + 2 * model.routes.size() + model.restrictions.size();
  for (const Region& region : model.regions) {
    arc_bound += 2 + region.extraction.size() + region.processing.size() + region.demand.size();
  }
  problem.arcs.reserve(arc_bound);
  double total_capacity = 0.0;
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    const Region& region = model.regions[r];
    for (std::size_t k = 0; k < region.extraction.size(); ++k) {
      const SupplyStep& step = region.extraction[k];
      problem.arcs.push_back({problem.source, FlowProblem::extraction_origin_node(r),
                              step.capacity_t, 0.0, step.unit_cost_usd_per_t,
                              ArcKind::kExtractionSupply, r, k});
      problem.arcs.back().cost_rise = step.cost_rise_usd_per_t;
      total_capacity += step.capacity_t;
    }
    for (std::size_t k = 0; k < region.processing.size(); ++k) {
      const SupplyStep& step = region.processing[k];
      problem.arcs.push_back({FlowProblem::extraction_node(r),
                              FlowProblem::processing_origin_node(r), step.capacity_t / yield, 0.0,
                              step.unit_cost_usd_per_t * yield, ArcKind::kProcessingSupply, r, k});
      problem.arcs.back().cost_rise = step.cost_rise_usd_per_t * yield;
    }
    for (std::size_t k = 0; k < region.demand.size(); ++k) {
      const DemandStep& step = region.demand[k];
      problem.arcs.push_back({FlowProblem::processing_node(r), problem.sink,
                              step.quantity_t / yield, 0.0,
                              -step.willingness_to_pay_usd_per_t * yield, ArcKind::kDemand, r, k});
      problem.arcs.back().cost_rise = step.wtp_fall_usd_per_t * yield;
      problem.arcs.back().elasticity = step.elasticity;
      problem.arcs.back().reference_price = step.reference_price_usd_per_t * yield;
    }
  }
  for (std::size_t i = 0; i < model.stocks.size(); ++i) {
    const StockOffer& stock = model.stocks[i];
    for (std::size_t k = 0; k < stock.release.size(); ++k) {
      FlowArc arc;
      arc.tail = problem.source;
      arc.head = FlowProblem::processing_node(stock.region);
      arc.capacity = stock.release[k].capacity_t / yield;
      arc.cost = stock.release[k].unit_cost_usd_per_t * yield;
      arc.cost_rise = stock.release[k].cost_rise_usd_per_t * yield;
      arc.kind = ArcKind::kStockRelease;
      arc.region = stock.region;
      arc.step = k;
      arc.route = i;
      problem.arcs.push_back(arc);
      total_capacity += arc.capacity;
    }
    for (std::size_t k = 0; k < stock.refill.size(); ++k) {
      FlowArc arc;
      arc.tail = FlowProblem::processing_node(stock.region);
      arc.head = problem.sink;
      arc.capacity = stock.refill[k].quantity_t / yield;
      arc.cost = -stock.refill[k].willingness_to_pay_usd_per_t * yield;
      arc.cost_rise = stock.refill[k].wtp_fall_usd_per_t * yield;
      arc.kind = ArcKind::kStockRefill;
      arc.region = stock.region;
      arc.step = k;
      arc.route = i;
      problem.arcs.push_back(arc);
    }
  }
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    FlowArc local_feed;
    local_feed.tail = FlowProblem::extraction_origin_node(r);
    local_feed.head = FlowProblem::extraction_node(r);
    local_feed.capacity = kUnlimited;
    local_feed.kind = ArcKind::kLocal;
    local_feed.region = r;
    FlowArc local_product = local_feed;
    local_product.tail = FlowProblem::processing_origin_node(r);
    local_product.head = FlowProblem::processing_node(r);
    local_product.stage = Stage::kProcessing;
    problem.arcs.push_back(local_feed);
    problem.arcs.push_back(local_product);
  }
  // Exports leave from origin nodes; imports arrive at use nodes.
  const auto node_of = [](std::size_t region, Stage stage) {
    return stage == Stage::kExtraction ? FlowProblem::extraction_origin_node(region)
                                       : FlowProblem::processing_origin_node(region);
  };
  const auto use_node_of = [](std::size_t region, Stage stage) {
    return stage == Stage::kExtraction ? FlowProblem::extraction_node(region)
                                       : FlowProblem::processing_node(region);
  };
  // One gate node per quota restriction.
  std::vector<int> gate_of_restriction(model.restrictions.size(), -1);
  for (std::size_t i = 0; i < model.restrictions.size(); ++i) {
    const ExportRestriction& restriction = model.restrictions[i];
    if (restriction.kind != RestrictionKind::kQuota) continue;
    const double scale = restriction.stage == Stage::kProcessing ? 1.0 / yield : 1.0;
    gate_of_restriction[i] = problem.node_count++;
    FlowArc gate;
    gate.tail = node_of(restriction.origin, restriction.stage);
    gate.head = gate_of_restriction[i];
    gate.capacity = restriction.quota_t * scale;
    gate.kind = ArcKind::kQuotaGate;
    gate.region = restriction.origin;
    problem.arcs.push_back(gate);
  }
  std::vector<char> pooled_route(model.routes.size(), 0);
  if (pool_uniform_trade) {
    for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
      pool_stage(model, stage, route_ad_valorem_usd_per_t, &problem, &pooled_route);
    }
  }
  for (std::size_t i = 0; i < model.routes.size(); ++i) {
    const Route& route = model.routes[i];
    if (pooled_route[i]) continue;
    const double ad_valorem =
        route_ad_valorem_usd_per_t.empty() ? 0.0 : route_ad_valorem_usd_per_t[i];
    const double tariff = route.specific_tariff_usd_per_t + ad_valorem;
    const double scale = route.stage == Stage::kProcessing ? yield : 1.0;  // cost per t ext-eq
    const double cost = (route.transport_cost_usd_per_t + tariff) * scale;
    const int tail = node_of(route.from, route.stage);
    const int head = use_node_of(route.to, route.stage);
    const ExportRestriction* restriction = nullptr;
    std::size_t restriction_index = 0;
    for (std::size_t j = 0; j < model.restrictions.size(); ++j) {
      const ExportRestriction& candidate = model.restrictions[j];
      if (candidate.origin == route.from && candidate.stage == route.stage &&
          std::find(candidate.destinations.begin(), candidate.destinations.end(), route.to) !=
              candidate.destinations.end()) {
        restriction = &candidate;
        restriction_index = j;
      }
    }
    FlowArc arc;
    arc.tail = tail;
    arc.head = head;
    arc.capacity = kUnlimited;
    arc.cost = cost;
    arc.kind = ArcKind::kTrade;
    arc.region = route.from;
    arc.route = i;
    arc.tariff = tariff;
    arc.stage = route.stage;
    if (!restriction) {
      problem.arcs.push_back(arc);
      continue;
    }
    if (restriction->kind == RestrictionKind::kQuota) {
      FlowArc gated = arc;
      gated.tail = gate_of_restriction[restriction_index];
      problem.arcs.push_back(gated);
    }
    if (restriction->leakage) {
      FlowArc leaked = arc;
      leaked.cost = cost + restriction->leakage_cost_usd_per_t * scale;
      leaked.leakage = true;
      problem.arcs.push_back(leaked);
    }
  }
  for (std::size_t i = 0; i < model.deliveries.size(); ++i) {
    const ContractedDelivery& delivery = model.deliveries[i];
    const double scale = delivery.stage == Stage::kProcessing ? yield : 1.0;
    FlowArc arc;
    arc.tail = node_of(delivery.from, delivery.stage);
    // A delivery on a route under an export quota passes the quota's gate: contracts count
    // against the quota like market exports (validate_model refuses contracts above it).
    for (std::size_t j = 0; j < model.restrictions.size(); ++j) {
      const ExportRestriction& r = model.restrictions[j];
      if (r.kind == RestrictionKind::kQuota && r.origin == delivery.from &&
          r.stage == delivery.stage &&
          std::find(r.destinations.begin(), r.destinations.end(), delivery.to) !=
              r.destinations.end()) {
        arc.tail = gate_of_restriction[j];
      }
    }
    arc.head = use_node_of(delivery.to, delivery.stage);
    arc.capacity = arc.lower = delivery.volume_t / scale;
    arc.cost = (delivery.transport_cost_usd_per_t + delivery.tariff_usd_per_t) * scale;
    arc.kind = ArcKind::kDelivery;
    arc.region = delivery.from;
    arc.route = i;
    arc.tariff = delivery.tariff_usd_per_t;
    arc.stage = delivery.stage;
    problem.arcs.push_back(arc);
  }
  problem.supply.assign(problem.node_count, 0.0);
  problem.supply[problem.source] = total_capacity + 1.0;
  problem.supply[problem.sink] = -(total_capacity + 1.0);
  FlowArc bypass;
  bypass.tail = problem.source;
  bypass.head = problem.sink;
  bypass.capacity = total_capacity + 1.0;
  bypass.kind = ArcKind::kBypass;
  problem.arcs.push_back(bypass);
  // No path that uses an arc dearer than the largest willingness to pay can ever be profitable
  // (every other cost is >= 0), so such costs (a prohibitive leakage cost of 1e12, say) are capped
  // at twice that: the optimum and the prices do not change, and the integer scaling of the
  // network path keeps its resolution.
  double max_benefit = 0.0;
  for (const FlowArc& a : problem.arcs) {
    if (a.kind == ArcKind::kDemand || a.kind == ArcKind::kStockRefill) {
      max_benefit = std::max(max_benefit, -a.cost);
    }
  }
  for (FlowArc& a : problem.arcs) {
    if (a.kind != ArcKind::kDemand && a.kind != ArcKind::kStockRefill && max_benefit > 0.0)
      a.cost = std::min(a.cost, 2.0 * max_benefit);
  }
  // Trade arcs are limited by what can flow at all; an explicit bound keeps both solvers finite.
  for (FlowArc& a : problem.arcs) {
    if (a.capacity == kUnlimited) a.capacity = total_capacity + 1.0;
  }
  return problem;
}

}  // namespace critmin::market

namespace critmin::market {

namespace {

// arc_cost_at with the arc's constants worked out once: refinement costs a sloped arc at many
// shares, and a curved arc's two end powers are the same each time.
struct ArcCurve {
  double cost = 0.0, rise = 0.0;
  bool curved = false;
  double a = 0.0, b = 0.0, inverse_elasticity = 0.0;
  explicit ArcCurve(const FlowArc& arc) : cost(arc.cost), rise(arc.cost_rise) {
    const double first = -arc.cost, last = -arc.cost - arc.cost_rise;
    curved = arc.elasticity < 0.0 && last > 0.0;
    if (curved) {
      a = std::pow(first, arc.elasticity);
      b = std::pow(last, arc.elasticity);
      inverse_elasticity = 1.0 / arc.elasticity;
    }
  }
  double at(double share) const {
    return curved ? -std::pow(a + share * (b - a), inverse_elasticity) : cost + rise * share;
  }
};

// A FlatSolver that solves every problem afresh.
class ColdSolver : public FlatSolver {
 public:
  explicit ColdSolver(FlowSolution (*solver)(const FlowProblem&)) : solve_(solver) {}
  FlowSolution solve(const FlowProblem& problem, const std::vector<ArcLineage>&) override {
    return solve_(problem);
  }

 private:
  FlowSolution (*solve_)(const FlowProblem&);
};

}  // namespace

double arc_cost_at(const FlowArc& arc, double share) { return ArcCurve(arc).at(share); }

RefinementResult solve_refined(const FlowProblem& problem,
                               FlowSolution (*solve)(const FlowProblem&),
                               double relative_resolution) {
  ColdSolver solver(solve);
  return solve_refined(problem, solver, relative_resolution);
}

RefinementResult solve_refined(const FlowProblem& problem, FlatSolver& solver,
                               double relative_resolution) {
  RefinementResult out;
  // A piece of a sloped arc: the shares [from, to] of its capacity, and the arc's cost at both
  // ends and in the middle, computed once (a curved arc's cost is a pow each time).
  struct Piece {
    std::size_t arc = 0;
    double from = 0.0;
    double to = 1.0;
    double low = 0.0;
    double high = 0.0;
    double middle = 0.0;
    std::size_t slot = 0;  // its index in the expanded problem
  };
  std::vector<ArcCurve> curves;
  curves.reserve(problem.arcs.size());
  for (const FlowArc& a : problem.arcs) curves.emplace_back(a);
  const auto make_piece = [&](std::size_t arc, double from, double to) {
    const ArcCurve& a = curves[arc];
    return Piece{arc, from, to, a.at(from), a.at(to), a.at(0.5 * (from + to)), arc};
  };
  std::vector<Piece> pieces;
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    const FlowArc& a = problem.arcs[i];
    if (!(a.cost_rise > 0.0) || !(a.capacity > 0.0)) continue;
    const double first = -a.cost, last = -a.cost - a.cost_rise;
    if (a.elasticity >= 0.0 || !(last > 0.0)) {
      for (int k = 0; k < kInitialPieces; ++k) {
        pieces.push_back(make_piece(i, static_cast<double>(k) / kInitialPieces,
                                    static_cast<double>(k + 1) / kInitialPieces));
      }
      continue;
    }
    // Shares where the willingness to pay has fallen by equal ratios, plus narrow pieces either
    // side of the reference price the curve was calibrated through (most equilibria lie near it,
    // so the first solve often brackets the price tightly already).
    const double a_end = std::pow(first, a.elasticity), b_end = std::pow(last, a.elasticity);
    std::vector<double> prices;
    for (int k = 1; k < 2 * kInitialPieces; ++k) {
      prices.push_back(first * std::pow(last / first, k / (2.0 * kInitialPieces)));
    }
    if (a.reference_price > last && a.reference_price < first) {
      for (double factor : {1.1, 1.02, 0.98, 0.9}) prices.push_back(factor * a.reference_price);
    }
    std::sort(prices.begin(), prices.end(), std::greater<>());
    double from = 0.0;
    for (double price : prices) {
      if (!(price < first && price > last)) continue;
      const double to = (std::pow(price, a.elasticity) - a_end) / (b_end - a_end);
      if (to > from) pieces.push_back(make_piece(i, from, to));
      from = std::max(from, to);
    }
    if (from < 1.0) pieces.push_back(make_piece(i, from, 1.0));
  }
  if (pieces.empty()) {
    out.solution = solver.solve(problem, {});
    if (out.solution.termination == Termination::kOptimal) solver.complete(problem, &out.solution);
    out.solves = 1;
    return out;
  }
  double cost_scale = 1.0;
  for (const FlowArc& a : problem.arcs) {
    cost_scale = std::max(cost_scale, std::abs(a.cost) + std::abs(a.cost_rise));
  }
  const double tie = 1e-12 * cost_scale;  // a price difference on a piece's edge is not inside it

  // The expanded problem: every original arc keeps its index (a sloped arc's slot holds one of
  // its pieces, at first its first), the other pieces are appended. A split piece's first part
  // takes its slot and the other parts are appended, so every other piece keeps its index from
  // one solve to the next and the solver is told only what changed (ArcLineage).
  FlowProblem expanded = problem;
  const auto piece_arc = [&](const Piece& p) {
    FlowArc arc = problem.arcs[p.arc];
    arc.capacity = problem.arcs[p.arc].capacity * (p.to - p.from);
    arc.cost = p.middle;
    arc.elasticity = 0.0;
    arc.cost_rise = 0.0;
    return arc;
  };
  {
    std::vector<char> slot_taken(problem.arcs.size(), 0);
    for (Piece& p : pieces) {
      if (!slot_taken[p.arc]) {
        slot_taken[p.arc] = 1;
        p.slot = p.arc;
        expanded.arcs[p.arc] = piece_arc(p);
      } else {
        p.slot = expanded.arcs.size();
        expanded.arcs.push_back(piece_arc(p));
      }
    }
  }
  std::vector<ArcLineage> lineage;  // empty for the first solve
  std::vector<Piece> next;
  while (true) {
    FlowSolution solved = solver.solve(expanded, lineage);
    ++out.solves;
    if (solved.termination != Termination::kOptimal) {
      out.solution = std::move(solved);
      return out;
    }
    next.clear();
    lineage.resize(expanded.arcs.size());
    for (std::size_t j = 0; j < lineage.size(); ++j) lineage[j] = ArcLineage{j, 0.0, 1.0};
    double resolution = 0.0;
    bool split_any = false;
    // Where each piece lies against the price difference across its arc: wholly below it (used
    // fully), above it (unused), or holding it (marginal).
    for (const Piece& p : pieces) {
      const FlowArc& a = problem.arcs[p.arc];
      const double difference = solved.price[a.head] - solved.price[a.tail];
      const double low = p.low, high = p.high;
      const bool marginal = difference > low + tie && difference < high - tie;
      const double width = high - low;
      const double wanted = relative_resolution * std::max(std::abs(low), std::abs(high));
      if (marginal && width > wanted && out.solves < kMaxSolves) {
        // Neighbouring split pieces share an end, and the ends of the whole are the piece's own:
        // each share is costed once (the same share gives the same cost, so the pieces are those
        // of costing every end separately).
        const double step = (p.to - p.from) / kSplitPieces;
        double split_from = p.from, split_low = p.low;
        for (int k = 0; k < kSplitPieces; ++k) {
          const bool last = k + 1 == kSplitPieces;
          const double to = last ? p.to : p.from + (k + 1) * step;
          const double split_high = last ? p.high : curves[p.arc].at(to);
          Piece part{p.arc,     split_from, to,
                     split_low, split_high, curves[p.arc].at(0.5 * (split_from + to)),
                     p.slot};
          const ArcLineage origin{p.slot, (split_from - p.from) / (p.to - p.from),
                                  last ? 1.0 : (to - p.from) / (p.to - p.from)};
          if (k == 0) {
            expanded.arcs[p.slot] = piece_arc(part);
            lineage[p.slot] = origin;
          } else {
            part.slot = expanded.arcs.size();
            expanded.arcs.push_back(piece_arc(part));
            lineage.push_back(origin);
          }
          next.push_back(part);
          split_from = to;
          split_low = split_high;
        }
        split_any = true;
        continue;
      }
      if (marginal) resolution = std::max(resolution, width);
      next.push_back(p);
    }
    if (!split_any) {
      // Back to the original arcs: a sloped arc's flow is the sum of its pieces (filled from the
      // cheapest, as any optimum does), node prices are the last solve's. (The problem and the
      // solver's last solve are still those of `solved`: nothing was split.)
      solver.complete(expanded, &solved);
      out.solution.termination = solved.termination;
      out.solution.reason = std::move(solved.reason);
      out.solution.iterations = solved.iterations;
      out.solution.price = std::move(solved.price);
      out.solution.flow.assign(solved.flow.begin(),
                               solved.flow.begin() + static_cast<long>(problem.arcs.size()));
      for (const Piece& p : pieces) {
        if (p.slot != p.arc) out.solution.flow[p.arc] += solved.flow[p.slot];
      }
      out.resolution = resolution;
      return out;
    }
    pieces.swap(next);
  }
}

}  // namespace critmin::market
