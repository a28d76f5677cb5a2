// The joint LP path of joint production: all element markets and the mining in one LP (Clp).
//
// Every element's flow problem (build_flow_problem) is built with one placeholder supply arc
// source -> extraction origin in each joint region where the element has content (cost 0,
// capacity twice the largest content, so it never reaches its bound). The element networks share
// one source and one sink (each keeps its bypass, so their potentials stay pinned to each other).
// Each deposit gets an ore node O[d]: its mining steps are arcs source -> O[d] (sloped when their
// cost rises) and an arc O[d] -> sink carries the ore mined x[d]. Side rows tie them together:
//   flow(placeholder of element e in region r) - sum_{d in r} a[d][e] * x[d] <= 0,
// the content that element e can sell there (the slack is free disposal). The dual of that row is
// the joint price of e's content at r; the reduced cost of O[d] -> sink makes the ore node's price
// the basket value sum_e a[d][e] p[e][r], so a mining step is used where its cost is below it.
// solve_refined then refines every sloped arc (demand curves and rising mining steps) exactly as
// the single-market paths do, with this file's Clp solver for the side rows.
#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "market/flow_problem.h"
#include "market/joint_products_internal.h"

namespace critmin::market::joint {
namespace {

// One side row: what element `element` can sell in `region` from the ore of its deposits.
struct ContentLink {
  std::size_t element = 0;
  std::size_t region = 0;
  int placeholder_arc = 0;
  std::vector<std::pair<int, double>> ore_arcs;  // (arc O[d] -> sink, a[d][e])
};

struct JointFlowProblem {
  FlowProblem problem;
  std::vector<ContentLink> links;
  std::vector<std::vector<int>> mining_arc;  // [deposit][step]
};

// The side rows of the solve under way and their duals, for solve_linked_clp (solve_refined takes
// a plain function pointer). Set by LinkScope for one solve_refined call on this thread.
struct LinkContext {
  const std::vector<ContentLink>* links = nullptr;
  std::vector<double> content_price_usd_per_t;  // per link, of the last solve
};
thread_local LinkContext* t_links = nullptr;

class LinkScope {
 public:
  explicit LinkScope(LinkContext* context) { t_links = context; }
  ~LinkScope() { t_links = nullptr; }
  LinkScope(const LinkScope&) = delete;
  LinkScope& operator=(const LinkScope&) = delete;
};

// Appends element e's flow problem to `joint` (its source and sink become the joint ones) and
// records its placeholder arcs as side rows.
void append_element(const JointMarketModel& model, std::size_t e,
                    const std::vector<double>& max_content_t, JointFlowProblem& joint) {
  std::vector<double> placeholder_t(max_content_t.size(), 0.0);
  for (std::size_t r = 0; r < max_content_t.size(); ++r) placeholder_t[r] = 2.0 * max_content_t[r];
  const FlowProblem element = build_flow_problem(element_with_content(model, e, placeholder_t), {});
  FlowProblem& p = joint.problem;
  const int offset = p.node_count - 2;
  const auto map = [&](int node) { return node < 2 ? node : node + offset; };
  const std::vector<bool> joint_region = joint_regions(model);
  p.node_count += element.node_count - 2;
  p.supply.resize(static_cast<std::size_t>(p.node_count), 0.0);
  p.supply[0] += element.supply[element.source];
  p.supply[1] += element.supply[element.sink];
  for (FlowArc arc : element.arcs) {
    arc.tail = map(arc.tail);
    arc.head = map(arc.head);
    if (arc.kind == ArcKind::kExtractionSupply && joint_region[arc.region]) {
      // In a joint region every extraction arc is the placeholder (validation: no own steps).
      joint.links.push_back({e, arc.region, static_cast<int>(p.arcs.size()), {}});
    }
    p.arcs.push_back(arc);
  }
}

// Ore nodes, mining arcs and ore arcs; an extra bypass keeps the mining capacity feasible.
void append_mining(const JointMarketModel& model, JointFlowProblem& joint) {
  FlowProblem& p = joint.problem;
  double total_t = 0.0;
  std::vector<int> ore_arc(model.deposits.size());
  for (std::size_t d = 0; d < model.deposits.size(); ++d) {
    const JointDeposit& deposit = model.deposits[d];
    const int node = p.node_count++;
    p.supply.push_back(0.0);
    double deposit_t = 0.0;
    joint.mining_arc.emplace_back();
    for (std::size_t k = 0; k < deposit.mining.size(); ++k) {
      const SupplyStep& step = deposit.mining[k];
      FlowArc arc;
      arc.tail = p.source;
      arc.head = node;
      arc.capacity = step.capacity_t;
      arc.cost = step.unit_cost_usd_per_t;
      arc.cost_rise = step.cost_rise_usd_per_t;
      arc.kind = ArcKind::kExtractionSupply;
      arc.region = deposit.region;
      arc.step = k;
      joint.mining_arc.back().push_back(static_cast<int>(p.arcs.size()));
      p.arcs.push_back(arc);
      deposit_t += step.capacity_t;
    }
    FlowArc ore;
    ore.tail = node;
    ore.head = p.sink;
    ore.capacity = deposit_t;
    ore.kind = ArcKind::kLocal;
    ore.region = deposit.region;
    ore_arc[d] = static_cast<int>(p.arcs.size());
    p.arcs.push_back(ore);
    total_t += deposit_t;
  }
  FlowArc bypass;
  bypass.tail = p.source;
  bypass.head = p.sink;
  bypass.capacity = total_t;
  bypass.kind = ArcKind::kBypass;
  p.arcs.push_back(bypass);
  p.supply[0] += total_t;
  p.supply[1] -= total_t;
  for (ContentLink& link : joint.links) {
    for (std::size_t d = 0; d < model.deposits.size(); ++d) {
      const double share = model.deposits[d].basket_share[link.element];
      if (model.deposits[d].region == link.region && share > 0.0) {
        link.ore_arcs.push_back({ore_arc[d], share});
      }
    }
  }
}

JointFlowProblem build_joint_problem(const JointMarketModel& model) {
  JointFlowProblem joint;
  joint.problem.node_count = 2;
  joint.problem.supply.assign(2, 0.0);
  const PerElementRegion max_content = content_of(model, full_ore(model));
  for (std::size_t e = 0; e < model.elements.size(); ++e) {
    append_element(model, e, max_content[e], joint);
  }
  append_mining(model, joint);
  return joint;
}

// solve_clp (lp_solver.cpp) with the side rows of t_links: node balances are rows "outflow -
// inflow = supply", side rows "placeholder - sum a x <= 0". Quantities and costs are scaled as
// there. Node prices are y(source) - y(node); a side row's price is -y(row).
FlowSolution solve_linked_clp(const FlowProblem& problem) {
  const std::vector<ContentLink>& links = *t_links->links;
  double max_cost = 0.0;
  for (const FlowArc& a : problem.arcs) max_cost = std::max(max_cost, std::abs(a.cost));
  const double quantity_scale = 1.0 / std::max(problem.supply[problem.source], 1e-12);
  const double cost_scale = max_cost > 0.0 ? 1.0 / max_cost : 1.0;
  const int nodes = problem.node_count;
  const int rows = nodes + static_cast<int>(links.size());
  const int columns = static_cast<int>(problem.arcs.size());
  std::vector<std::vector<std::pair<int, double>>> side(columns);
  for (std::size_t l = 0; l < links.size(); ++l) {
    const int row = nodes + static_cast<int>(l);
    side[links[l].placeholder_arc].push_back({row, 1.0});
    for (const auto& [arc, share] : links[l].ore_arcs) side[arc].push_back({row, -share});
  }
  std::vector<CoinBigIndex> starts;
  std::vector<int> indices, lengths;
  std::vector<double> elements, lower(columns), upper(columns), objective(columns);
  for (int j = 0; j < columns; ++j) {
    const FlowArc& a = problem.arcs[j];
    starts.push_back(static_cast<CoinBigIndex>(indices.size()));
    indices.push_back(a.tail);
    elements.push_back(1.0);
    indices.push_back(a.head);
    elements.push_back(-1.0);
    for (const auto& [row, value] : side[j]) {
      indices.push_back(row);
      elements.push_back(value);
    }
    lengths.push_back(2 + static_cast<int>(side[j].size()));
    lower[j] = a.lower * quantity_scale;
    upper[j] = a.capacity * quantity_scale;
    objective[j] = a.cost * cost_scale;
  }
  starts.push_back(static_cast<CoinBigIndex>(indices.size()));
  CoinPackedMatrix matrix(true, rows, columns, static_cast<CoinBigIndex>(indices.size()),
                          elements.data(), indices.data(), starts.data(), lengths.data());
  std::vector<double> row_lower(rows, -COIN_DBL_MAX), row_upper(rows, 0.0);
  for (int i = 0; i < nodes; ++i) row_lower[i] = row_upper[i] = problem.supply[i] * quantity_scale;
  ClpSimplex lp;
  lp.setLogLevel(0);
  lp.loadProblem(matrix, lower.data(), upper.data(), objective.data(), row_lower.data(),
                 row_upper.data());
  lp.setPrimalTolerance(1e-9);
  lp.setDualTolerance(1e-9);
  lp.dual();
  FlowSolution solution;
  solution.iterations = lp.numberIterations();
  if (!lp.isProvenOptimal()) {
    solution.termination =
        lp.isProvenPrimalInfeasible() ? Termination::kInfeasible : Termination::kIterationLimit;
    solution.reason = lp.isProvenPrimalInfeasible()
                          ? "no flow satisfies the element markets' capacities and balances"
                          : "Clp stopped before proving the joint LP optimal";
    return solution;
  }
  const double* x = lp.primalColumnSolution();
  const double* y = lp.dualRowSolution();
  solution.flow.resize(columns);
  for (int j = 0; j < columns; ++j) solution.flow[j] = x[j] / quantity_scale;
  solution.price.resize(nodes);
  for (int i = 0; i < nodes; ++i) solution.price[i] = (y[problem.source] - y[i]) / cost_scale;
  t_links->content_price_usd_per_t.resize(links.size());
  for (std::size_t l = 0; l < links.size(); ++l) {
    t_links->content_price_usd_per_t[l] = -y[nodes + static_cast<int>(l)] / cost_scale;
  }
  return solution;
}

// Refinement target of the joint LP: tighter than clear_market's, so that the joint prices are
// limited by the element markets' resolution rather than by this solve.
constexpr double kJointRelativeResolution = 1e-4;

}  // namespace

Result<JointEquilibrium> clear_joint_lp(const JointMarketModel& model) {
  const JointFlowProblem joint = build_joint_problem(model);
  LinkContext context{&joint.links, {}};
  RefinementResult refined;
  {
    const LinkScope scope(&context);
    refined = solve_refined(joint.problem, solve_linked_clp, kJointRelativeResolution);
  }
  if (refined.solution.termination != Termination::kOptimal) {
    JointEquilibrium failed;
    failed.termination = refined.solution.termination;
    failed.reason = refined.solution.reason;
    failed.iterations = refined.solves;
    return failed;
  }
  PerDepositStep ore_t(model.deposits.size());
  for (std::size_t d = 0; d < model.deposits.size(); ++d) {
    for (std::size_t k = 0; k < joint.mining_arc[d].size(); ++k) {
      const double flow_t = refined.solution.flow[joint.mining_arc[d][k]];
      ore_t[d].push_back(std::clamp(flow_t, 0.0, model.deposits[d].mining[k].capacity_t));
    }
  }
  // The joint prices of the content, then the element markets at the content mined and those
  // prices, for their flows and accounts.
  PerElementRegion price(model.elements.size(),
                         std::vector<double>(model.elements.front().regions.size(), 0.0));
  for (std::size_t l = 0; l < joint.links.size(); ++l) {
    const ContentLink& link = joint.links[l];
    price[link.element][link.region] = std::max(0.0, context.content_price_usd_per_t[l]);
  }
  int solves = 0;
  Result<std::vector<Equilibrium>> elements = clear_elements_at_price(
      model, content_of(model, ore_t), price, SolverPath::kLinearProgram, &solves);
  CRITMIN_RETURN_IF_ERROR(elements);
  double smallest_yield = 1.0;
  for (const MarketModel& m : model.elements) {
    smallest_yield = std::min(smallest_yield, m.processing_yield);
  }
  JointEquilibrium out =
      assemble_joint(model, std::move(ore_t), std::move(elements).value(), price);
  out.price_resolution_usd_per_t =
      std::max(out.price_resolution_usd_per_t, refined.resolution / smallest_yield);
  out.iterations = refined.solves;
  out.market_solves = solves;
  return out;
}

}  // namespace critmin::market::joint
