#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <span>

#include "critmin/market/market.h"
#include "market/flow_problem.h"

namespace critmin::market {

const char* termination_name(Termination termination) {
  switch (termination) {
    case Termination::kOptimal:
      return "optimal";
    case Termination::kInfeasible:
      return "infeasible";
    case Termination::kUnbounded:
      return "unbounded";
    case Termination::kIterationLimit:
      return "iteration_limit";
  }
  return "unknown";
}

namespace {

bool finite_nonnegative(double value) { return std::isfinite(value) && value >= 0.0; }

}  // namespace

namespace {

// The arcs at each node, by tail or by head, in one array (counting sort of the arc indices): the
// post-processing runs on every solve, and one allocation beats one per node.
class ArcLists {
 public:
  ArcLists(const FlowProblem& problem, bool by_tail)
      : start_(static_cast<std::size_t>(problem.node_count) + 1, 0), arcs_(problem.arcs.size()) {
    const auto end_of = [&](const FlowArc& a) { return by_tail ? a.tail : a.head; };
    for (const FlowArc& a : problem.arcs) ++start_[end_of(a) + 1];
    for (std::size_t v = 1; v < start_.size(); ++v) start_[v] += start_[v - 1];
    std::vector<int> next(start_.begin(), start_.end() - 1);
    for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
      arcs_[next[end_of(problem.arcs[i])]++] = static_cast<int>(i);
    }
  }
  std::span<const int> of(int node) const {
    return {arcs_.data() + start_[node], arcs_.data() + start_[node + 1]};
  }

 private:
  std::vector<int> start_;  // per node, its first entry in arcs_; one past the end last
  std::vector<int> arcs_;
};

// Validates the model's values, then builds the flow problem (pooled when asked) and checks that
// every region with demand is reachable from some supply. The built problem is handed back so that
// clear_market does not build it twice.
Status validate_and_build(const MarketModel& model, bool pool_uniform_trade, FlowProblem* built) {
  std::vector<Diagnostic> problems;
  const auto where = [&] { return fmt::format("market model {} {}", model.material, model.year); };
  const auto report = [&](std::string field, std::string message) {
    problems.push_back({where(), 0, std::move(field), std::move(message)});
  };
  if (!(model.processing_yield > 0.0 && model.processing_yield <= 1.0)) {
    report("processing_yield",
           fmt::format("{} is outside (0,1]; a yield is output per input", model.processing_yield));
  }
  if (model.regions.empty()) report("regions", "no regions; a market needs at least one");
  const std::size_t n = model.regions.size();
  for (const Region& region : model.regions) {
    // Field names are formatted only when a problem is found: validation runs on every solve.
    const auto check_steps = [&](const std::vector<SupplyStep>& steps, const char* kind) {
      for (std::size_t k = 0; k < steps.size(); ++k) {
        const auto field = [&](const char* attribute) {
          return fmt::format("regions[{}].{}[{}].{}", region.name, kind, k, attribute);
        };
        if (!(std::isfinite(steps[k].capacity_t) && steps[k].capacity_t > 0.0)) {
          report(field("capacity_t"),
                 fmt::format("capacity {} must be positive; drop the step instead of giving it "
                             "zero capacity",
                             steps[k].capacity_t));
        }
        if (!finite_nonnegative(steps[k].unit_cost_usd_per_t)) {
          report(field("unit_cost_usd_per_t"),
                 fmt::format("unit cost {} must be a finite number >= 0",
                             steps[k].unit_cost_usd_per_t));
        }
        if (!finite_nonnegative(steps[k].cost_rise_usd_per_t)) {
          report(field("cost_rise_usd_per_t"),
                 fmt::format("cost rise {} must be a finite number >= 0: a supply curve cannot "
                             "fall with quantity",
                             steps[k].cost_rise_usd_per_t));
        }
      }
    };
    check_steps(region.extraction, "extraction");
    check_steps(region.processing, "processing");
    for (std::size_t k = 0; k < region.demand.size(); ++k) {
      const auto field = [&](const char* attribute) {
        return fmt::format("regions[{}].demand[{}].{}", region.name, k, attribute);
      };
      if (!(std::isfinite(region.demand[k].quantity_t) && region.demand[k].quantity_t > 0.0)) {
        report(field("quantity_t"), "a demand step needs a positive quantity");
      }
      if (!finite_nonnegative(region.demand[k].willingness_to_pay_usd_per_t)) {
        report(field("willingness_to_pay_usd_per_t"), "must be a finite number >= 0");
      }
      const double fall = region.demand[k].wtp_fall_usd_per_t;
      if (!finite_nonnegative(fall) || fall > region.demand[k].willingness_to_pay_usd_per_t) {
        report(field("wtp_fall_usd_per_t"),
               fmt::format("fall {} must lie in [0, willingness to pay]: a demand curve cannot "
                           "rise with quantity nor fall below zero",
                           fall));
      }
    }
    if (!finite_nonnegative(region.base_demand_t)) {
      report(fmt::format("regions[{}].base_demand_t", region.name), "must be a number >= 0");
    }
  }
  for (std::size_t i = 0; i < model.stocks.size(); ++i) {
    const StockOffer& stock = model.stocks[i];
    if (stock.region >= n) {
      report(fmt::format("stocks[{}].region", i), "unknown region");
      continue;
    }
    for (const SupplyStep& step : stock.release) {
      if (!(std::isfinite(step.capacity_t) && step.capacity_t > 0.0) ||
          !finite_nonnegative(step.unit_cost_usd_per_t) ||
          !finite_nonnegative(step.cost_rise_usd_per_t)) {
        report(fmt::format("stocks[{}].release", model.regions[stock.region].name),
               "a release step needs a positive quantity and a release price >= 0");
      }
    }
    for (const DemandStep& step : stock.refill) {
      if (!(std::isfinite(step.quantity_t) && step.quantity_t > 0.0) ||
          !finite_nonnegative(step.willingness_to_pay_usd_per_t) ||
          !finite_nonnegative(step.wtp_fall_usd_per_t) ||
          step.wtp_fall_usd_per_t > step.willingness_to_pay_usd_per_t) {
        report(fmt::format("stocks[{}].refill", model.regions[stock.region].name),
               "a refill step needs a positive quantity and a refill price >= 0");
      }
    }
  }
  for (std::size_t i = 0; i < model.routes.size(); ++i) {
    const Route& route = model.routes[i];
    const auto field = [&] { return fmt::format("routes[{}]", i); };
    if (route.from >= n || route.to >= n || route.from == route.to) {
      report(field(), "a route joins two different existing regions");
      continue;
    }
    if (!finite_nonnegative(route.transport_cost_usd_per_t) ||
        !finite_nonnegative(route.specific_tariff_usd_per_t) ||
        !finite_nonnegative(route.ad_valorem_tariff)) {
      report(field(), fmt::format("{} -> {}: transport cost and tariffs must be numbers >= 0",
                                  model.regions[route.from].name, model.regions[route.to].name));
    }
  }
  std::set<std::tuple<std::size_t, Stage, std::size_t>> restricted;
  for (const ExportRestriction& r : model.restrictions) {
    const std::string field = fmt::format("restrictions[{}]", r.name);
    if (r.origin >= n) {
      report(field + ".origin", "unknown origin region");
      continue;
    }
    if (r.destinations.empty())
      report(field + ".destinations", "no destination; name at least one");
    if (r.kind == RestrictionKind::kQuota && !finite_nonnegative(r.quota_t)) {
      report(field + ".quota_t", "a quota must be a number of tonnes >= 0");
    }
    if (!finite_nonnegative(r.leakage_cost_usd_per_t)) {
      report(field + ".leakage_cost_usd_per_t", "must be a number >= 0");
    }
    for (std::size_t d : r.destinations) {
      if (d >= n || d == r.origin) {
        report(field + ".destinations",
               "a destination must be an existing region other than "
               "the origin");
        continue;
      }
      if (!restricted.insert({r.origin, r.stage, d}).second) {
        report(
            field,
            fmt::format("contradictory restrictions: {} exports to {} at the {} stage are "
                        "already restricted by another measure; merge them into one",
                        model.regions[r.origin].name, model.regions[d].name, stage_name(r.stage)));
      }
    }
  }
  // Contracted deliveries: the sellers must be able to produce them and the buyers to use them,
  // and no export restriction may forbid them (a disruption that hits a contract is force
  // majeure: the caller drops the contract, it is never silently broken here).
  std::vector<double> sold(2 * n, 0.0), bought(2 * n, 0.0);
  for (const ContractedDelivery& d : model.deliveries) {
    const std::string field = fmt::format("deliveries[{}]", d.name);
    if (d.from >= n || d.to >= n) {
      report(field, "a delivery joins existing regions");
      continue;
    }
    if (!finite_nonnegative(d.volume_t) || !finite_nonnegative(d.transport_cost_usd_per_t) ||
        !finite_nonnegative(d.tariff_usd_per_t)) {
      report(field, "volume, transport cost and tariff must be numbers >= 0");
      continue;
    }
    const std::size_t s = d.stage == Stage::kProcessing ? 1 : 0;
    sold[2 * d.from + s] += d.volume_t;
    bought[2 * d.to + s] += d.volume_t;
    for (const ExportRestriction& r : model.restrictions) {
      if (r.origin == d.from && r.stage == d.stage && r.kind == RestrictionKind::kQuota &&
          std::find(r.destinations.begin(), r.destinations.end(), d.to) != r.destinations.end()) {
        double contracted = 0.0;
        for (const ContractedDelivery& other : model.deliveries) {
          if (other.from == r.origin && other.stage == r.stage &&
              std::find(r.destinations.begin(), r.destinations.end(), other.to) !=
                  r.destinations.end()) {
            contracted += other.volume_t;
          }
        }
        if (contracted > r.quota_t * (1.0 + 1e-9)) {
          report(field, fmt::format("contracted deliveries of {:.6g} t under the export quota {} "
                                    "exceed the quota of {:.6g} t; contracts count against the "
                                    "quota: reduce them",
                                    contracted, r.name, r.quota_t));
        }
      }
      if (r.origin == d.from && r.stage == d.stage && r.kind == RestrictionKind::kBan &&
          std::find(r.destinations.begin(), r.destinations.end(), d.to) != r.destinations.end()) {
        report(field, fmt::format("the export ban {} forbids this delivery from {} to {}; drop "
                                  "the contract for the years of the ban (force majeure)",
                                  r.name, model.regions[d.from].name, model.regions[d.to].name));
      }
    }
  }
  for (std::size_t r = 0; r < n && !model.deliveries.empty(); ++r) {
    const Region& region = model.regions[r];
    const auto total = [](const auto& steps, auto member) {
      double sum = 0.0;
      for (const auto& step : steps) sum += step.*member;
      return sum;
    };
    const double extraction = total(region.extraction, &SupplyStep::capacity_t);
    const double processing = total(region.processing, &SupplyStep::capacity_t);
    double use = total(region.demand, &DemandStep::quantity_t);
    for (const StockOffer& stock : model.stocks) {
      if (stock.region == r) use += total(stock.refill, &DemandStep::quantity_t);
    }
    const double slack = 1e-9;
    if (sold[2 * r] > extraction * (1 + slack)) {
      report(fmt::format("regions[{}].extraction", region.name),
             fmt::format("contracted deliveries of {:.6g} t exceed the region's extraction "
                         "capacity of {:.6g} t; reduce the contracted volumes",
                         sold[2 * r], extraction));
    }
    if (sold[2 * r + 1] > processing * (1 + slack)) {
      report(fmt::format("regions[{}].processing", region.name),
             fmt::format("contracted deliveries of {:.6g} t exceed the region's processing "
                         "capacity of {:.6g} t; reduce the contracted volumes",
                         sold[2 * r + 1], processing));
    }
    if (bought[2 * r] > processing / model.processing_yield * (1 + slack)) {
      report(fmt::format("regions[{}].processing", region.name),
             fmt::format("contracted feed of {:.6g} t exceeds what the region's processing "
                         "capacity can use ({:.6g} t); reduce the contracted volumes",
                         bought[2 * r], processing / model.processing_yield));
    }
    if (bought[2 * r + 1] > use * (1 + slack)) {
      report(fmt::format("regions[{}].demand", region.name),
             fmt::format("contracted purchases of {:.6g} t exceed the region's largest demand "
                         "of {:.6g} t; reduce the contracted volumes",
                         bought[2 * r + 1], use));
    }
  }
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: invalid market model", where()),
                                 std::move(problems));
  }
  // Every region with demand must be reachable from some supply through allowed arcs.
  *built = build_flow_problem(model, {}, pool_uniform_trade);
  const FlowProblem& problem = *built;
  const ArcLists out(problem, /*by_tail=*/true);
  std::vector<bool> reached(problem.node_count, false);
  std::vector<int> queue{problem.source};  // breadth first; nodes enter once
  queue.reserve(problem.node_count);
  reached[problem.source] = true;
  for (std::size_t next = 0; next < queue.size(); ++next) {
    for (int i : out.of(queue[next])) {
      const FlowArc& a = problem.arcs[i];
      if (a.kind == ArcKind::kBypass || !(a.capacity > 0.0) || reached[a.head]) continue;
      reached[a.head] = true;
      queue.push_back(a.head);
    }
  }
  for (std::size_t r = 0; r < n; ++r) {
    if (!model.regions[r].demand.empty() && !reached[FlowProblem::processing_node(r)]) {
      report(fmt::format("regions[{}].demand", model.regions[r].name),
             "this region has demand but no supply can reach it (no extraction and processing "
             "path, or every route is banned); add a route or capacity, or allow leakage");
    }
  }
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: unreachable demand", where()),
                                 std::move(problems));
  }
  return Status::ok();
}

}  // namespace

Status validate_model(const MarketModel& model) {
  FlowProblem problem;
  return validate_and_build(model, /*pool_uniform_trade=*/true, &problem);
}

namespace {

// A use node that receives nothing, or an origin node that ships nothing, has a range of valid
// duals, and a solver may return any of them (0 is common). Report the economically meaningful end
// of the range: the landed price of the cheapest supply for a use node (what a buyer there would
// pay), the netback of the best outlet for an origin node. Each move keeps every arc's reduced
// cost feasible, so the prices remain an optimal dual; a move that would not is skipped.
std::vector<double> settle_idle_prices(const FlowProblem& problem, const FlowSolution& solution,
                                       std::size_t region_count) {
  std::vector<double> price = solution.price;
  const double noise = 1e-10 * problem.supply[problem.source];
  std::vector<double> inflow(problem.node_count, 0.0), outflow(problem.node_count, 0.0);
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    if (solution.flow[i] <= noise) continue;
    outflow[problem.arcs[i].tail] += solution.flow[i];
    inflow[problem.arcs[i].head] += solution.flow[i];
  }
  const ArcLists arcs_out(problem, /*by_tail=*/true), arcs_in(problem, /*by_tail=*/false);
  const auto feasible_at = [&](int node, double value) {
    const double tolerance = 1e-9 * (1.0 + std::abs(value));
    for (int i : arcs_out.of(node)) {
      const FlowArc& a = problem.arcs[i];
      if (a.cost + value - price[a.head] < -tolerance) return false;
    }
    for (int i : arcs_in.of(node)) {
      const FlowArc& a = problem.arcs[i];
      if (a.cost + price[a.tail] - value < -tolerance) return false;
    }
    return true;
  };
  // An origin node without any capacity (a region that cannot produce at the stage) cannot be a
  // supplier; its dual says nothing.
  std::vector<bool> can_supply(problem.node_count, false);
  for (const FlowArc& a : problem.arcs) {
    if ((a.kind == ArcKind::kExtractionSupply || a.kind == ArcKind::kProcessingSupply) &&
        a.capacity > 0.0) {
      can_supply[a.head] = true;
    }
  }
  // Origins that cannot supply are only bounded from below (by their outlets); lift them out of
  // the way while the receivers settle, and give them their netback at the end.
  double highest = 0.0;
  for (double p : price) highest = std::max(highest, std::abs(p));
  double costs = 0.0;
  for (const FlowArc& a : problem.arcs) costs += std::abs(a.cost);
  for (int node = 2; node < 2 + 4 * static_cast<int>(region_count); ++node) {
    const bool is_origin = (node - 2) % 2 == 0;
    if (is_origin && !can_supply[node] && outflow[node] <= 0.0) price[node] = highest + costs;
  }
  // Hubs and gates first (they lie between origins and use nodes), then the use nodes.
  std::vector<int> receivers;
  for (int node = 2 + 4 * static_cast<int>(region_count); node < problem.node_count; ++node) {
    receivers.push_back(node);
  }
  for (std::size_t r = 0; r < region_count; ++r) {
    receivers.push_back(FlowProblem::extraction_node(r));
    receivers.push_back(FlowProblem::processing_node(r));
  }
  {
    for (int node : receivers) {
      if (inflow[node] > 0.0) continue;
      double landed = std::numeric_limits<double>::infinity();
      for (int i : arcs_in.of(node)) {
        const FlowArc& a = problem.arcs[i];
        const bool idle_origin = (a.kind == ArcKind::kLocal || a.kind == ArcKind::kToHub ||
                                  a.kind == ArcKind::kTrade || a.kind == ArcKind::kQuotaGate) &&
                                 a.tail >= 2 && a.tail < 2 + 4 * static_cast<int>(region_count) &&
                                 !can_supply[a.tail];
        if (!idle_origin) landed = std::min(landed, price[a.tail] + a.cost);
      }
      if (std::isfinite(landed) && feasible_at(node, landed)) price[node] = landed;
    }
  }
  for (std::size_t r = 0; r < region_count; ++r) {
    const int origins[2] = {FlowProblem::extraction_origin_node(r),
                            FlowProblem::processing_origin_node(r)};
    for (int s = 0; s < 2; ++s) {
      const int node = origins[s];
      if (outflow[node] > 0.0) continue;
      // The netback of the best outlet (the local use node included). For an origin that cannot
      // supply, only its outlets bound its dual from below, so the netback is always feasible.
      double value = -std::numeric_limits<double>::infinity();
      for (int i : arcs_out.of(node)) {
        value = std::max(value, price[problem.arcs[i].head] - problem.arcs[i].cost);
      }
      if (std::isfinite(value) && feasible_at(node, value)) price[node] = value;
    }
  }
  return price;
}

Equilibrium assemble(const MarketModel& model, const FlowProblem& problem,
                     const FlowSolution& solution) {
  const std::vector<double> price = settle_idle_prices(problem, solution, model.regions.size());
  Equilibrium eq;
  const double yield = model.processing_yield;
  const std::size_t n = model.regions.size();
  eq.nodes.resize(2 * n);
  eq.accounts.resize(n);
  eq.stocks.resize(model.stocks.size());
  for (std::size_t r = 0; r < n; ++r) {
    NodeResult& e = eq.nodes[2 * r];
    NodeResult& p = eq.nodes[2 * r + 1];
    e.region = p.region = r;
    e.stage = Stage::kExtraction;
    p.stage = Stage::kProcessing;
    e.price_usd_per_t = price[FlowProblem::extraction_node(r)];
    p.price_usd_per_t = price[FlowProblem::processing_node(r)] / yield;
    e.producer_price_usd_per_t = price[FlowProblem::extraction_origin_node(r)];
    p.producer_price_usd_per_t = price[FlowProblem::processing_origin_node(r)] / yield;
  }
  // Flows below this are solver noise (Clp's tolerances), not trade; the network path's smallest
  // flow is 1e-9 of the total supply, well above it.
  const double noise_t = 1e-10 * problem.supply[problem.source];
  // Per hub: (index among its origins or destinations, t) of what enters and leaves it.
  std::vector<std::vector<std::pair<std::size_t, double>>> hub_exports(problem.hubs.size()),
      hub_imports(problem.hubs.size());
  std::vector<double> served_essential(n, 0.0);  // [t/yr] per region
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    const FlowArc& a = problem.arcs[i];
    const double flow = solution.flow[i];
    if (flow <= noise_t) continue;
    switch (a.kind) {
      case ArcKind::kExtractionSupply: {
        NodeResult& e = eq.nodes[2 * a.region];
        e.production_t += flow;
        const double cost = model.regions[a.region].extraction[a.step].average_cost_usd_per_t(flow);
        eq.accounts[a.region].producer_surplus_usd += (e.producer_price_usd_per_t - cost) * flow;
        break;
      }
      case ArcKind::kProcessingSupply: {
        NodeResult& e = eq.nodes[2 * a.region];
        NodeResult& p = eq.nodes[2 * a.region + 1];
        const double output = flow * yield;
        e.consumption_t += flow;
        p.production_t += output;
        const double cost =
            model.regions[a.region].processing[a.step].average_cost_usd_per_t(output);
        eq.accounts[a.region].producer_surplus_usd +=
            (p.producer_price_usd_per_t - cost) * output - e.price_usd_per_t * flow;
        break;
      }
      case ArcKind::kDemand: {
        NodeResult& p = eq.nodes[2 * a.region + 1];
        const double output = flow * yield;
        p.consumption_t += output;
        const DemandStep& step = model.regions[a.region].demand[a.step];
        const double wtp = step.average_wtp_usd_per_t(output);
        eq.accounts[a.region].consumer_surplus_usd += (wtp - p.price_usd_per_t) * output;
        if (step.essential) served_essential[a.region] += output;
        break;
      }
      case ArcKind::kTrade: {
        const Route& route = model.routes[a.route];
        const double quantity = route.stage == Stage::kProcessing ? flow * yield : flow;
        const std::size_t from_index = 2 * route.from + (route.stage == Stage::kProcessing);
        const std::size_t to_index = 2 * route.to + (route.stage == Stage::kProcessing);
        eq.nodes[from_index].exports_t += quantity;
        eq.nodes[to_index].imports_t += quantity;
        eq.accounts[route.to].tariff_revenue_usd += a.tariff * quantity;
        const double unit_cost = route.stage == Stage::kProcessing ? a.cost / yield : a.cost;
        // Merge the direct and the gated arc of one route into one reported flow.
        auto same = std::find_if(eq.flows.begin(), eq.flows.end(), [&](const FlowResult& f) {
          return f.from == route.from && f.to == route.to && f.stage == route.stage &&
                 f.via_leakage == a.leakage && !f.contracted;
        });
        if (same != eq.flows.end()) {
          same->quantity_t += quantity;
        } else {
          eq.flows.push_back(
              {route.from, route.to, route.stage, quantity, unit_cost, a.tariff, a.leakage});
        }
        break;
      }
      case ArcKind::kToHub:
      case ArcKind::kFromHub: {
        const double quantity = a.stage == Stage::kProcessing ? flow * yield : flow;
        const std::size_t index = 2 * a.region + (a.stage == Stage::kProcessing);
        const FlowProblem::Hub& hub = problem.hubs[a.route];
        const auto& regions = a.kind == ArcKind::kToHub ? hub.origins : hub.destinations;
        const std::size_t position = static_cast<std::size_t>(
            std::lower_bound(regions.begin(), regions.end(), a.region) - regions.begin());
        (a.kind == ArcKind::kToHub ? hub_exports : hub_imports)[a.route].push_back(
            {position, quantity});
        (a.kind == ArcKind::kToHub ? eq.nodes[index].exports_t : eq.nodes[index].imports_t) +=
            quantity;
        break;
      }
      case ArcKind::kDelivery: {
        const ContractedDelivery& d = model.deliveries[a.route];
        const double quantity = d.stage == Stage::kProcessing ? flow * yield : flow;
        const std::size_t s = d.stage == Stage::kProcessing ? 1 : 0;
        if (d.from != d.to) {
          eq.nodes[2 * d.from + s].exports_t += quantity;
          eq.nodes[2 * d.to + s].imports_t += quantity;
        }
        eq.accounts[d.to].tariff_revenue_usd += d.tariff_usd_per_t * quantity;
        const NodeResult& seller = eq.nodes[2 * d.from + s];
        const NodeResult& buyer = eq.nodes[2 * d.to + s];
        eq.accounts[d.to].contract_value_usd +=
            (buyer.price_usd_per_t - seller.producer_price_usd_per_t - d.transport_cost_usd_per_t -
             d.tariff_usd_per_t) *
            quantity;
        eq.flows.push_back({d.from, d.to, d.stage, quantity,
                            d.transport_cost_usd_per_t + d.tariff_usd_per_t, d.tariff_usd_per_t,
                            false, true});
        break;
      }
      case ArcKind::kStockRelease: {
        NodeResult& p = eq.nodes[2 * a.region + 1];
        p.stock_release_t += flow * yield;
        eq.stocks[a.route].released_t += flow * yield;
        const double trigger =
            model.stocks[a.route].release[a.step].average_cost_usd_per_t(flow * yield);
        eq.accounts[a.region].stock_surplus_usd += (p.price_usd_per_t - trigger) * flow * yield;
        break;
      }
      case ArcKind::kStockRefill: {
        NodeResult& p = eq.nodes[2 * a.region + 1];
        p.stock_refill_t += flow * yield;
        eq.stocks[a.route].refilled_t += flow * yield;
        const double limit =
            model.stocks[a.route].refill[a.step].average_wtp_usd_per_t(flow * yield);
        eq.accounts[a.region].stock_surplus_usd += (limit - p.price_usd_per_t) * flow * yield;
        break;
      }
      case ArcKind::kQuotaGate:
      case ArcKind::kLocal:
      case ArcKind::kBypass:
        break;
    }
  }
  // Pooled trade: pair each hub's suppliers with its customers in region order. Every pairing
  // costs the same (a route's cost is its origin's part plus its destination's part), so any is
  // optimal; each pair is reported as its route, with the route's cost and tariff (the importer
  // collects the tariff). A pair that stands for no route (a region to itself, or one whose
  // cheaper direct route an optimum uses instead) carries nothing beyond solver noise at an
  // optimum and is not reported.
  for (std::size_t h = 0; h < problem.hubs.size(); ++h) {
    const FlowProblem::Hub& hub = problem.hubs[h];
    auto& exporters = hub_exports[h];
    auto& importers = hub_imports[h];
    std::size_t e = 0, i = 0;
    while (e < exporters.size() && i < importers.size()) {
      const double quantity = std::min(exporters[e].second, importers[i].second);
      const std::size_t pair = exporters[e].first * hub.destinations.size() + importers[i].first;
      if (hub.route[pair] != FlowProblem::kNoRoute && quantity > 0.0) {
        const std::size_t to = hub.destinations[importers[i].first];
        eq.flows.push_back({hub.origins[exporters[e].first], to, hub.stage, quantity,
                            hub.unit_cost[pair], hub.tariff[pair], false});
        eq.accounts[to].tariff_revenue_usd += hub.tariff[pair] * quantity;
      }
      exporters[e].second -= quantity;
      importers[i].second -= quantity;
      if (exporters[e].second <= 0.0) ++e;
      if (importers[i].second <= 0.0) ++i;
    }
  }
  for (std::size_t r = 0; r < n; ++r) {
    const double consumption = eq.nodes[2 * r + 1].consumption_t;
    eq.accounts[r].shortfall_t = std::max(0.0, model.regions[r].base_demand_t - consumption);
    double essential = 0.0;
    for (const DemandStep& step : model.regions[r].demand) {
      if (step.essential) essential += step.quantity_t;
    }
    // Solver noise below a millionth of the essential demand is not shortage.
    const double unserved = essential - served_essential[r];
    eq.accounts[r].physical_shortage_t = unserved > 1e-6 * essential ? unserved : 0.0;
    eq.welfare_usd += eq.accounts[r].consumer_surplus_usd + eq.accounts[r].producer_surplus_usd +
                      eq.accounts[r].tariff_revenue_usd + eq.accounts[r].contract_value_usd +
                      eq.accounts[r].stock_surplus_usd;
  }
  return eq;
}

bool same_flow_pattern(const std::vector<FlowResult>& a, const std::vector<FlowResult>& b,
                       double tolerance) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].from != b[i].from || a[i].to != b[i].to || a[i].stage != b[i].stage ||
        a[i].via_leakage != b[i].via_leakage ||
        std::abs(a[i].quantity_t - b[i].quantity_t) > tolerance * std::max(1.0, a[i].quantity_t)) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<Equilibrium> clear_market(const MarketModel& model, SolverPath path) {
  const auto start = std::chrono::steady_clock::now();
  const bool pool = path == SolverPath::kNetwork;
  FlowProblem first_problem;
  Status valid = validate_and_build(model, pool, &first_problem);
  CRITMIN_RETURN_IF_ERROR(valid);
  int refinement_solves = 0;
  double resolution = 0.0;
  const auto solve = [&](const FlowProblem& problem) {
    // The network path's refinement solves start from the previous optimum (thread_local: its
    // memory is kept between markets; each refinement starts afresh).
    thread_local WarmNetworkSolver network;
    RefinementResult refined = path == SolverPath::kNetwork ? solve_refined(problem, network)
                                                            : solve_refined(problem, solve_clp);
    refinement_solves = refined.solves;
    resolution = refined.resolution;
    return std::move(refined.solution);
  };

  bool has_ad_valorem = false;
  for (const Route& route : model.routes) has_ad_valorem |= route.ad_valorem_tariff > 0.0;
  std::vector<double> ad_valorem(model.routes.size(), 0.0);
  constexpr int kMaxOuterIterations = 100;
  Equilibrium eq;
  int iteration = 0;
  double residual = 0.0;
  int stable_rounds = 0;
  std::vector<FlowResult> previous_flows;
  while (true) {
    ++iteration;
    // The network path pools uniform trade through hubs; the LP path keeps the full route set,
    // so the two paths also check each other's formulation.
    const FlowProblem problem =
        iteration == 1 ? std::move(first_problem) : build_flow_problem(model, ad_valorem, pool);
    const FlowSolution solution = solve(problem);
    if (solution.termination != Termination::kOptimal) {
      eq = Equilibrium{};
      eq.termination = solution.termination;
      eq.reason = solution.reason;
      break;
    }
    eq = assemble(model, problem, solution);
    if (!has_ad_valorem) break;
    // Ad valorem tariffs are levied on the origin (FOB) price of the goods. The loop has converged
    // when every route that carries flow pays its rate times the origin price, and every route
    // without flow stays unprofitable at that tariff; the price of a region that does not trade
    // may be any value in an interval, so tariffs of unused routes are not required to settle.
    // Damping after ten rounds keeps a tariff that switches a route on and off from oscillating.
    residual = 0.0;
    const double step = iteration < 10 ? 1.0 : 0.5;
    std::vector<bool> route_used(model.routes.size(), false);
    for (const FlowResult& f : eq.flows) {
      for (std::size_t i = 0; i < model.routes.size(); ++i) {
        const Route& route = model.routes[i];
        if (route.from == f.from && route.to == f.to && route.stage == f.stage) {
          route_used[i] = true;
        }
      }
    }
    double scale = 1.0;
    for (const NodeResult& node : eq.nodes) scale = std::max(scale, std::abs(node.price_usd_per_t));
    const double tolerance = 1e-9 * scale;
    bool converged = true;
    bool used_settled = true;  // every used route paid its target tariff in this round's solve
    for (std::size_t i = 0; i < model.routes.size(); ++i) {
      const Route& route = model.routes[i];
      if (route.ad_valorem_tariff <= 0.0) continue;
      const double origin_price = eq.node(route.from, route.stage).producer_price_usd_per_t;
      const double target = route.ad_valorem_tariff * std::max(0.0, origin_price);
      if (route_used[i]) {
        residual = std::max(residual, std::abs(target - ad_valorem[i]));
        used_settled = used_settled && std::abs(target - ad_valorem[i]) <= tolerance;
        converged = converged && std::abs(target - ad_valorem[i]) <= tolerance;
      } else {
        const double gain = eq.node(route.to, route.stage).price_usd_per_t - origin_price -
                            route.transport_cost_usd_per_t - route.specific_tariff_usd_per_t -
                            target;
        converged = converged && gain <= tolerance;
      }
      ad_valorem[i] += step * (target - ad_valorem[i]);
    }
    // When a route's origin does not trade, the solver may return a different (equally valid)
    // origin price every round and the unused route's tariff never settles although nothing
    // changes; flows unchanged for three rounds with every used route settled is convergence too.
    const bool same_flows = same_flow_pattern(previous_flows, eq.flows, 1e-9 * scale);
    stable_rounds = same_flows ? stable_rounds + 1 : 0;
    previous_flows = eq.flows;
    if (converged || (used_settled && stable_rounds >= 3)) break;
    if (iteration >= kMaxOuterIterations) {
      eq.termination = Termination::kIterationLimit;
      eq.reason = fmt::format(
          "the ad valorem tariff loop did not converge in {} iterations (largest change {:.6g} "
          "USD/t); the tariffs switch a route on and off; results are those of the last round",
          kMaxOuterIterations, residual);
      break;
    }
  }
  eq.statistics.outer_iterations = iteration;
  eq.statistics.outer_residual = residual;
  eq.statistics.refinement_solves = refinement_solves;
  // Per t ext-eq at the largest: a processing price's resolution is this / yield at most.
  eq.statistics.price_resolution_usd_per_t = resolution / model.processing_yield;
  eq.statistics.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return eq;
}

}  // namespace critmin::market

namespace critmin::market {

double DemandStep::wtp_at_share(double share) const {
  const double first = willingness_to_pay_usd_per_t;
  const double last = first - wtp_fall_usd_per_t;
  share = std::clamp(share, 0.0, 1.0);
  if (elasticity >= 0.0 || !(last > 0.0)) return first - wtp_fall_usd_per_t * share;
  const double a = std::pow(first, elasticity), b = std::pow(last, elasticity);
  return std::pow(a + share * (b - a), 1.0 / elasticity);
}

double DemandStep::share_at_price(double price_usd_per_t) const {
  const double first = willingness_to_pay_usd_per_t;
  const double last = first - wtp_fall_usd_per_t;
  if (price_usd_per_t >= first) return 0.0;
  if (price_usd_per_t <= last) return 1.0;
  if (elasticity >= 0.0 || !(last > 0.0)) return (first - price_usd_per_t) / wtp_fall_usd_per_t;
  const double a = std::pow(first, elasticity), b = std::pow(last, elasticity);
  return (std::pow(price_usd_per_t, elasticity) - a) / (b - a);
}

double DemandStep::average_wtp_usd_per_t(double served_t) const {
  const double share = quantity_t > 0.0 ? std::clamp(served_t / quantity_t, 0.0, 1.0) : 0.0;
  const double first = willingness_to_pay_usd_per_t;
  const double last = first - wtp_fall_usd_per_t;
  if (elasticity >= 0.0 || !(last > 0.0)) return first - 0.5 * wtp_fall_usd_per_t * share;
  if (share <= 0.0) return first;
  // p(u) = (a + u (b - a))^(1/e); its integral over [0, s] divided by s.
  const double a = std::pow(first, elasticity), b = std::pow(last, elasticity);
  const double k = 1.0 / elasticity + 1.0;
  const double end = a + share * (b - a);
  if (std::abs(k) < 1e-12) return std::log(end / a) / ((b - a) * share);  // e = -1
  return (std::pow(end, k) - std::pow(a, k)) / (k * (b - a) * share);
}

}  // namespace critmin::market
