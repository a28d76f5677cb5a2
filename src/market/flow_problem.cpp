#include "market/flow_problem.h"

#include <algorithm>

namespace critmin::market {

namespace {

// True when the routes of a stage join every ordered pair of regions exactly once with one
// transport cost and one tariff, and no restriction concerns the stage.
bool uniform_complete_trade(const MarketModel& model, Stage stage,
                            const std::vector<double>& ad_valorem, double* transport,
                            double* tariff) {
  const std::size_t n = model.regions.size();
  if (n < 3) return false;  // nothing to gain
  for (const ExportRestriction& r : model.restrictions) {
    if (r.stage == stage) return false;
  }
  std::vector<unsigned char> seen(n * n, 0);  // bytes: this runs on every solve
  std::size_t count = 0;
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
    const std::size_t key = route.from * n + route.to;
    if (seen[key]) return false;
    seen[key] = 1;
    ++count;
  }
  *transport = common_transport;
  *tariff = common_tariff;
  return count == n * (n - 1);
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
      total_capacity += step.capacity_t;
    }
    for (std::size_t k = 0; k < region.processing.size(); ++k) {
      const SupplyStep& step = region.processing[k];
      problem.arcs.push_back({FlowProblem::extraction_node(r),
                              FlowProblem::processing_origin_node(r), step.capacity_t / yield, 0.0,
                              step.unit_cost_usd_per_t * yield, ArcKind::kProcessingSupply, r, k});
    }
    for (std::size_t k = 0; k < region.demand.size(); ++k) {
      const DemandStep& step = region.demand[k];
      problem.arcs.push_back({FlowProblem::processing_node(r), problem.sink,
                              step.quantity_t / yield, 0.0,
                              -step.willingness_to_pay_usd_per_t * yield, ArcKind::kDemand, r, k});
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
  for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
    double transport = 0.0, tariff = 0.0;
    if (!pool_uniform_trade ||
        !uniform_complete_trade(model, stage, route_ad_valorem_usd_per_t, &transport, &tariff)) {
      continue;
    }
    const double scale = stage == Stage::kProcessing ? yield : 1.0;
    const int hub = problem.node_count++;
    problem.pooled[stage == Stage::kProcessing ? 1 : 0] = true;
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      FlowArc out;
      out.tail = node_of(r, stage);
      out.head = hub;
      out.capacity = kUnlimited;
      out.cost = 0.5 * transport * scale;
      out.kind = ArcKind::kToHub;
      out.region = r;
      out.stage = stage;
      FlowArc in = out;
      in.tail = hub;
      in.head = use_node_of(r, stage);
      in.cost = (0.5 * transport + tariff) * scale;
      in.kind = ArcKind::kFromHub;
      in.tariff = tariff;
      problem.arcs.push_back(out);
      problem.arcs.push_back(in);
    }
  }
  for (std::size_t i = 0; i < model.routes.size(); ++i) {
    const Route& route = model.routes[i];
    if (problem.pooled[route.stage == Stage::kProcessing ? 1 : 0]) continue;
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
