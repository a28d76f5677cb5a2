// The fast path: LEMON's network simplex on the min-cost-flow form of the market.
//
// LEMON requires integer data, so quantities and costs are scaled per problem to integers of about
// 1e9 at the largest (a resolution of 1e-9 of the total capacity and of the largest cost) and
// solved in 64-bit integers; flows and potentials are scaled back. Welfare and prices therefore
// agree with the LP path to about 1e-8 relative.
#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>

#include <algorithm>
#include <cmath>

#include "market/flow_problem.h"

namespace critmin::market {

FlowSolution solve_network_simplex(const FlowProblem& problem) {
  using Graph = lemon::SmartDigraph;
  using Simplex = lemon::NetworkSimplex<Graph, long long, long long>;
  constexpr double kResolution = 1e9;

  double max_cost = 0.0;
  for (const FlowArc& a : problem.arcs) max_cost = std::max(max_cost, std::abs(a.cost));
  const double quantity_scale = kResolution / std::max(problem.supply[problem.source], 1e-12);
  const double cost_scale = max_cost > 0.0 ? kResolution / max_cost : 1.0;

  Graph graph;
  graph.reserveNode(problem.node_count);
  graph.reserveArc(static_cast<int>(problem.arcs.size()));
  std::vector<Graph::Node> nodes;
  nodes.reserve(problem.node_count);
  for (int i = 0; i < problem.node_count; ++i) nodes.push_back(graph.addNode());
  Graph::ArcMap<long long> capacity(graph), lower(graph), cost(graph);
  bool has_lower = false;
  std::vector<Graph::Arc> arcs;
  arcs.reserve(problem.arcs.size());
  for (const FlowArc& a : problem.arcs) {
    const Graph::Arc arc = graph.addArc(nodes[a.tail], nodes[a.head]);
    capacity[arc] = std::llround(a.capacity * quantity_scale);
    lower[arc] = a.lower > 0.0 ? std::llround(a.lower * quantity_scale) : 0;
    has_lower |= a.lower > 0.0;
    cost[arc] = std::llround(a.cost * cost_scale);
    arcs.push_back(arc);
  }
  Graph::NodeMap<long long> supply(graph, 0);
  const long long total = std::llround(problem.supply[problem.source] * quantity_scale);
  supply[nodes[problem.source]] = total;
  supply[nodes[problem.sink]] = -total;

  Simplex simplex(graph);
  simplex.upperMap(capacity).costMap(cost).supplyMap(supply);
  if (has_lower) simplex.lowerMap(lower);
  const Simplex::ProblemType outcome = simplex.run();
  FlowSolution solution;
  if (outcome == Simplex::INFEASIBLE) {
    solution.termination = Termination::kInfeasible;
    solution.reason = "no flow satisfies the capacities and balances";
    return solution;
  }
  if (outcome == Simplex::UNBOUNDED) {
    solution.termination = Termination::kUnbounded;
    solution.reason = "a cycle of negative cost exists";
    return solution;
  }
  solution.flow.resize(problem.arcs.size());
  for (std::size_t i = 0; i < arcs.size(); ++i) {
    solution.flow[i] = static_cast<double>(simplex.flow(arcs[i])) / quantity_scale;
  }
  // LEMON's potentials make cost(uv) + pi(u) - pi(v) zero on arcs strictly between their bounds,
  // so the price of a node relative to the source is pi(node) - pi(source).
  const double source_potential = static_cast<double>(simplex.potential(nodes[problem.source]));
  solution.price.resize(problem.node_count);
  for (int i = 0; i < problem.node_count; ++i) {
    solution.price[i] =
        (static_cast<double>(simplex.potential(nodes[i])) - source_potential) / cost_scale;
  }
  return solution;
}

}  // namespace critmin::market
