// The fast path: LEMON's network simplex on the min-cost-flow form of the market.
//
// LEMON requires integer data, so quantities and costs are scaled per problem to integers of about
// 1e9 at the largest (a resolution of 1e-9 of the total capacity and of the largest cost) and
// solved in 64-bit integers; flows and potentials are scaled back. Welfare and prices therefore
// agree with the LP path to about 1e-8 relative.
//
// Pooled stages are solved on a contracted network: each region's origin and use node of the stage
// become one node and the local arc between them disappears (see contract_pooled_stages). That
// removes two nodes and two arcs per region and pooled stage (about 15% of the network of a
// calibrated default model), which the simplex repays in fewer pivots.
//
// The LEMON graph, its maps and the simplex live in a per-thread workspace that is rebuilt for
// every problem but keeps its memory, so a world-year of solves does not allocate in the solver.
#include <lemon/network_simplex.h>
#include <lemon/smart_graph.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "market/flow_problem.h"

namespace critmin::market {

namespace {

using Graph = lemon::SmartDigraph;
using Simplex = lemon::NetworkSimplex<Graph, long long, long long>;

// Contraction of pooled stages. Contract: the contracted network has the same optimal cost as the
// original, an optimal flow of it maps back to an optimal flow of the original (recover_local_
// flows), and its optimal potentials, with the use node given its origin's potential, are optimal
// potentials of the original.
//
// Why. On a pooled stage the only arcs at a region's origin node O and use node U besides the
// local arc O -> U (cost 0, unlimited) are: into O the region's own output, out of O the arc to
// the hub; into U the arc from the hub, out of U local processing or demand. Merging O and U into
// one node M admits exactly one new kind of route: hub -> M -> hub, an import re-exported. That is
// a cycle through the hub of cost (to-hub + from-hub) = transport + tariff >= 0. (1) Every flow of
// the original is a flow of the merged network of the same cost (the local arc's flow passes
// through M). (2) Take an optimal merged flow; at every M where both the arc from the hub (x_in)
// and the arc to the hub (x_out) carry flow, cancel the cycle by lowering both by min(x_in,
// x_out): balances stay, the cost does not rise. Afterwards at most one of them carries flow, and
// the local arc flow = (out of U: processing or demand) - x_in is >= 0: if x_in > 0 then x_out = 0
// and M's balance says out-of-U = own output + x_in. So (1) and (2) give equal optima. (3) The
// merged potentials satisfy every original arc's optimality condition for the arcs both networks
// share, and the local arc has reduced cost 0 with equal potentials at its ends, which is optimal
// for any flow on it.
struct Contraction {
  std::vector<int> merged_node;   // per original node: its node in the contracted network
  std::vector<int> dropped_arcs;  // original local arcs of pooled stages, solved by balance
  int node_count = 0;
};

void contract_pooled_stages(const FlowProblem& problem, Contraction* c) {
  std::vector<int>& representative = c->merged_node;
  representative.resize(problem.node_count);
  for (int v = 0; v < problem.node_count; ++v) representative[v] = v;
  c->dropped_arcs.clear();
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    const FlowArc& a = problem.arcs[i];
    if (a.kind != ArcKind::kLocal || !problem.pooled[a.stage == Stage::kProcessing ? 1 : 0]) {
      continue;
    }
    representative[a.head] = a.tail;  // use node -> its origin node
    c->dropped_arcs.push_back(static_cast<int>(i));
  }
  // Number the representatives densely; the source and the sink keep 0 and 1 (they are never
  // merged, so their own numbers come first).
  std::vector<int> dense(problem.node_count, -1);
  int next = 0;
  for (int v = 0; v < problem.node_count; ++v) {
    if (representative[v] == v) dense[v] = next++;
  }
  for (int v = 0; v < problem.node_count; ++v) representative[v] = dense[representative[v]];
  c->node_count = next;
}

// Gives each dropped local arc its flow from the balance of its use node, after cancelling
// re-export cycles through the hub (see Contraction). `flow` holds the other arcs' flows.
void recover_local_flows(const FlowProblem& problem, const Contraction& c,
                         std::vector<double>* flow) {
  if (c.dropped_arcs.empty()) return;
  std::vector<double>& x = *flow;
  // Per use node: the arc from the hub, the arc to the hub of its origin, and its net outflow on
  // the original arcs other than the local one.
  std::vector<int> from_hub(problem.node_count, -1), to_hub(problem.node_count, -1);
  std::vector<double> net_out(problem.node_count, 0.0);
  std::vector<int> use_of_origin(problem.node_count, -1);
  for (int i : c.dropped_arcs) use_of_origin[problem.arcs[i].tail] = problem.arcs[i].head;
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    const FlowArc& a = problem.arcs[i];
    if (a.kind == ArcKind::kFromHub) from_hub[a.head] = static_cast<int>(i);
    if (a.kind == ArcKind::kToHub && use_of_origin[a.tail] >= 0) {
      to_hub[use_of_origin[a.tail]] = static_cast<int>(i);
    }
  }
  for (int i : c.dropped_arcs) x[i] = 0.0;
  for (int i : c.dropped_arcs) {
    const int use = problem.arcs[i].head;
    if (from_hub[use] >= 0 && to_hub[use] >= 0) {
      const double cycle = std::min(x[from_hub[use]], x[to_hub[use]]);
      x[from_hub[use]] -= cycle;
      x[to_hub[use]] -= cycle;
    }
  }
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    net_out[problem.arcs[i].tail] += x[i];
    net_out[problem.arcs[i].head] -= x[i];
  }
  for (int i : c.dropped_arcs) x[i] = std::max(0.0, net_out[problem.arcs[i].head]);
}

// Per-thread solver memory: rebuilt for every problem, never freed between problems.
struct Workspace {
  Graph graph;
  Graph::ArcMap<long long> capacity{graph};
  Graph::ArcMap<long long> cost{graph};
  Simplex simplex{graph};
  std::vector<Graph::Node> nodes;
  std::vector<Graph::Arc> arcs;  // per original arc; INVALID for dropped ones
  Contraction contraction;
};

}  // namespace

FlowSolution solve_network_simplex(const FlowProblem& problem) {
  constexpr double kResolution = 1e9;
  thread_local Workspace w;

  double max_cost = 0.0;
  for (const FlowArc& a : problem.arcs) max_cost = std::max(max_cost, std::abs(a.cost));
  const double quantity_scale = kResolution / std::max(problem.supply[problem.source], 1e-12);
  const double cost_scale = max_cost > 0.0 ? kResolution / max_cost : 1.0;

  contract_pooled_stages(problem, &w.contraction);
  const std::vector<int>& merged = w.contraction.merged_node;
  w.graph.clear();
  w.graph.reserveNode(w.contraction.node_count);
  w.graph.reserveArc(static_cast<int>(problem.arcs.size()));
  w.nodes.clear();
  for (int i = 0; i < w.contraction.node_count; ++i) w.nodes.push_back(w.graph.addNode());
  w.arcs.assign(problem.arcs.size(), lemon::INVALID);
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    const FlowArc& a = problem.arcs[i];
    if (merged[a.tail] == merged[a.head]) continue;  // a dropped local arc
    const Graph::Arc arc = w.graph.addArc(w.nodes[merged[a.tail]], w.nodes[merged[a.head]]);
    w.capacity[arc] = std::llround(a.capacity * quantity_scale);
    w.cost[arc] = std::llround(a.cost * cost_scale);
    w.arcs[i] = arc;
  }
  const long long total = std::llround(problem.supply[problem.source] * quantity_scale);

  Simplex& simplex = w.simplex;
  simplex.reset();
  simplex.upperMap(w.capacity)
      .costMap(w.cost)
      .stSupply(w.nodes[merged[problem.source]], w.nodes[merged[problem.sink]], total);
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
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    solution.flow[i] = w.arcs[i] == lemon::INVALID
                           ? 0.0
                           : static_cast<double>(simplex.flow(w.arcs[i])) / quantity_scale;
  }
  recover_local_flows(problem, w.contraction, &solution.flow);
  // LEMON's potentials make cost(uv) + pi(u) - pi(v) zero on arcs strictly between their bounds,
  // so the price of a node relative to the source is pi(node) - pi(source).
  const double source_potential =
      static_cast<double>(simplex.potential(w.nodes[merged[problem.source]]));
  solution.price.resize(problem.node_count);
  for (int i = 0; i < problem.node_count; ++i) {
    solution.price[i] =
        (static_cast<double>(simplex.potential(w.nodes[merged[i]])) - source_potential) /
        cost_scale;
  }
  return solution;
}

}  // namespace critmin::market
