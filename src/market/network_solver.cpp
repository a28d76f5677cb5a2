// The fast path: LEMON's network simplex on the min-cost-flow form of the market.
//
// LEMON requires integer data, so quantities and costs are scaled per problem to integers of about
// 1e9 at the largest (a resolution of 1e-9 of the total capacity and of the largest cost) and
// solved in 64-bit integers; flows and potentials are scaled back. Welfare and prices therefore
// agree with the LP path to about 1e-8 relative.
//
// Pooled stages are solved on a contracted network (see Contraction): each region's origin and use
// node of the stage become one node, and a region node with only one side is bypassed through the
// hub. On the default dataset that leaves about 19 nodes and 203 arcs of 61 and 258 per material,
// which the simplex repays in fewer pivots; flows and prices are mapped back to the full network.
//
// The LEMON graph, the simplex and the arc data live in a per-thread workspace that is rebuilt for
// every problem but keeps its memory, so a world-year of solves hardly allocates in the solver.
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

// Contraction of pooled stages, in two exact reductions. Contract of both: the contracted network
// has the same optimal cost as the original, an optimal flow of it maps back to an optimal flow of
// the original (recover_flows), and its optimal potentials map back to optimal potentials of the
// original (every original arc keeps its reduced cost, or gets one that is optimal for its flow).
//
// (A) Merge a region's origin and use node. On a pooled stage the only arcs at a region's origin
// node O and use node U besides the local arc O -> U (cost 0, unlimited) are often: into O the
// region's own output (its "feeders"), out of O the arc to the hub; into U the arc from the hub,
// out of U local processing or demand (its "outlets"). (Checked per region: when O has another
// way out or U another way in — a direct trade arc, a second hub, or arcs to and from two
// different hubs — that pair is not merged, so a new kind of arc turns the merge off rather than
// making it wrong.) Merging O and U into one node M admits exactly one new kind of route:
// hub -> M -> hub, an import re-exported. That is a cycle through the hub of
// cost (to-hub + from-hub) = transport + tariff >= 0. (1) Every flow of the original is a flow of
// the merged network of the same cost (the local arc's flow passes through M). (2) Take an optimal
// merged flow; at every M where both the arc from the hub (x_in) and the arc to the hub (x_out)
// carry flow, cancel the cycle by lowering both by min(x_in, x_out): balances stay, the cost does
// not rise. Afterwards at most one of them carries flow, and the local arc flow = (out of U) -
// x_in is >= 0: if x_in > 0 then x_out = 0 and M's balance says out-of-U = own output + x_in. So
// (1) and (2) give equal optima. (3) O and U both take M's potential: the local arc then has
// reduced cost 0, optimal for any flow on it, and every other arc keeps its reduced cost.
//
// (B) Bypass a merged node with only one side. If M has no outlets (a region that does not process
// or consume at the stage), whatever enters M leaves through the hub arc (or re-enters the hub, a
// cycle of cost >= 0 that (2) cancels): each feeder is continued to the hub at the to-hub cost
// added, and M with its two hub arcs disappears. If M has no feeders (no own output at the stage),
// whatever leaves M came from the hub: each outlet starts at the hub with the from-hub cost added.
// Every path through M keeps its cost, so the optimum is unchanged; the hub arc's flow is the sum
// of the continued arcs' flows. M's potential is the hub's minus the to-hub cost (no outlets) or
// plus the from-hub cost (no feeders): then the hub arc that carries flow has reduced cost 0, the
// other one transport + tariff >= 0, and each continued arc has its original reduced cost.
//
// In a calibrated default model about half of the region nodes go (a region that only mines, only
// refines or only consumes at a stage), and the simplex repays that in fewer pivots.
struct Contraction {
  struct Bypassed {
    int origin = 0;                // the original origin node of M
    int use = 0;                   // the original use node of M
    int hub = 0;                   // the original hub node
    int to_hub = 0, from_hub = 0;  // the original hub arcs of M
    bool only_receives = false;    // no feeders: outlets start at the hub (else feeders end there)
  };
  std::vector<int> node;           // per original node: its contracted node; -1 when bypassed
  std::vector<int> tail, head;     // per original arc: its contracted ends; -1 when dropped
  std::vector<double> added_cost;  // per original arc: hub arc cost taken over by (B)
  std::vector<int> merged;         // per original node: its merged node M (original numbering)
  std::vector<int> dropped_local;  // local arcs of pooled stages, solved by balance
  std::vector<int> to_hub_of, from_hub_of;  // per merged node: its hub arcs, -1 if none
  std::vector<Bypassed> bypassed;
  std::vector<int> feeders, outlets;  // per merged node: counts
  std::vector<char> other_exit;       // per node: an arc other than local or to-hub leaves it
  std::vector<char> other_entry;      // per node: an arc other than local or from-hub enters it
  int node_count = 0;
};

void contract_pooled_stages(const FlowProblem& problem, Contraction* c) {
  const int nodes = problem.node_count;
  const std::size_t arcs = problem.arcs.size();
  c->merged.resize(nodes);
  for (int v = 0; v < nodes; ++v) c->merged[v] = v;
  c->dropped_local.clear();
  c->bypassed.clear();
  c->to_hub_of.assign(nodes, -1);
  c->from_hub_of.assign(nodes, -1);
  c->feeders.assign(nodes, 0);
  c->outlets.assign(nodes, 0);
  // (A), where its proof holds: the origin's only ways out are the local arc and the hub, the use
  // node's only ways in the local arc and the hub, the local arc cannot bind (its capacity is at
  // least all the source can send), and a re-export through the hub does not pay.
  const double total_supply = problem.supply[problem.source];
  c->other_exit.assign(nodes, 0);
  c->other_entry.assign(nodes, 0);
  // A node joined to several hubs (a region that exports to members and to non-members through
  // different hubs) counts its second hub arc as another way out or in: merging it would admit
  // re-exports from one hub to another, which are not cycles.
  for (std::size_t i = 0; i < arcs; ++i) {
    const FlowArc& a = problem.arcs[i];
    if (a.kind == ArcKind::kToHub) {
      if (c->to_hub_of[a.tail] >= 0) c->other_exit[a.tail] = 1;
      c->to_hub_of[a.tail] = static_cast<int>(i);
    }
    if (a.kind == ArcKind::kFromHub) {
      if (c->from_hub_of[a.head] >= 0) c->other_entry[a.head] = 1;
      c->from_hub_of[a.head] = static_cast<int>(i);
    }
    if (a.kind != ArcKind::kLocal && a.kind != ArcKind::kToHub) c->other_exit[a.tail] = 1;
    if (a.kind != ArcKind::kLocal && a.kind != ArcKind::kFromHub) c->other_entry[a.head] = 1;
  }
  for (std::size_t i = 0; i < arcs; ++i) {
    const FlowArc& a = problem.arcs[i];
    if (a.kind != ArcKind::kLocal || !problem.pooled[a.stage == Stage::kProcessing ? 1 : 0] ||
        c->other_exit[a.tail] || c->other_entry[a.head] || a.capacity < total_supply) {
      continue;
    }
    const int out = c->to_hub_of[a.tail], in = c->from_hub_of[a.head];
    if (out >= 0 && in >= 0 &&
        (problem.arcs[out].head != problem.arcs[in].tail ||
         problem.arcs[out].cost + problem.arcs[in].cost < 0.0)) {
      continue;  // different hubs (a re-export, not a cycle), or a cycle that would pay
    }
    c->merged[a.head] = a.tail;  // use node -> its origin node
    c->dropped_local.push_back(static_cast<int>(i));
    c->from_hub_of[a.tail] = in;  // the hub arcs are kept by merged node from here on
    c->from_hub_of[a.head] = -1;
  }
  std::vector<int>& merged = c->merged;
  for (std::size_t i = 0; i < arcs; ++i) {
    const FlowArc& a = problem.arcs[i];
    if (a.kind == ArcKind::kToHub || a.kind == ArcKind::kFromHub ||
        merged[a.tail] == merged[a.head]) {
      continue;
    }
    ++c->feeders[merged[a.head]];
    ++c->outlets[merged[a.tail]];
  }
  // (B)
  std::vector<int> continued_to(nodes, -1);  // per merged node: the hub its arcs continue to/from
  for (int m = 0; m < nodes; ++m) {
    if (merged[m] != m || c->to_hub_of[m] < 0 || c->from_hub_of[m] < 0) continue;
    if (c->feeders[m] > 0 && c->outlets[m] > 0) continue;
    if (problem.arcs[c->to_hub_of[m]].capacity < total_supply ||
        problem.arcs[c->from_hub_of[m]].capacity < total_supply) {
      continue;  // a hub arc that could bind cannot be folded into the continued arcs
    }
    Contraction::Bypassed b;
    b.origin = m;
    b.use = problem.arcs[c->from_hub_of[m]].head;
    b.hub = problem.arcs[c->to_hub_of[m]].head;
    b.to_hub = c->to_hub_of[m];
    b.from_hub = c->from_hub_of[m];
    b.only_receives = c->feeders[m] == 0;
    continued_to[m] = b.hub;
    c->bypassed.push_back(b);
  }
  // Dense numbering of what remains; the source and the sink are never merged or bypassed, so they
  // keep 0 and 1.
  c->node.assign(nodes, -1);
  int next = 0;
  for (int v = 0; v < nodes; ++v) {
    if (merged[v] == v && continued_to[v] < 0) c->node[v] = next++;
  }
  c->node_count = next;
  c->tail.assign(arcs, -1);
  c->head.assign(arcs, -1);
  c->added_cost.assign(arcs, 0.0);
  for (std::size_t i = 0; i < arcs; ++i) {
    const FlowArc& a = problem.arcs[i];
    int tail = merged[a.tail], head = merged[a.head];
    if (tail == head) continue;  // (A): a local arc
    if ((a.kind == ArcKind::kToHub && continued_to[tail] >= 0) ||
        (a.kind == ArcKind::kFromHub && continued_to[head] >= 0)) {
      continue;  // (B): a hub arc of a bypassed node
    }
    if (continued_to[head] >= 0) {  // a feeder of a node without outlets
      c->added_cost[i] += problem.arcs[c->to_hub_of[head]].cost;
      head = continued_to[head];
    }
    if (continued_to[tail] >= 0) {  // an outlet of a node without feeders
      c->added_cost[i] += problem.arcs[c->from_hub_of[tail]].cost;
      tail = continued_to[tail];
    }
    c->tail[i] = c->node[tail];
    c->head[i] = c->node[head];
  }
}

// Completes the flow of the original network from the contracted one: `flow` holds the flows of
// the arcs that were solved and 0 for the dropped ones. Hub arcs of bypassed nodes take the sum of
// the arcs continued through them, re-export cycles are cancelled, and each local arc takes the
// balance of its use node (see Contraction).
void recover_flows(const FlowProblem& problem, const Contraction& c, std::vector<double>* flow) {
  std::vector<double>& x = *flow;
  for (const Contraction::Bypassed& b : c.bypassed) {
    x[b.to_hub] = 0.0;
    x[b.from_hub] = 0.0;
  }
  if (!c.bypassed.empty()) {
    for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
      const FlowArc& a = problem.arcs[i];
      if (a.kind == ArcKind::kToHub || a.kind == ArcKind::kFromHub || c.tail[i] < 0) continue;
      const int head = c.merged[a.head], tail = c.merged[a.tail];
      if (c.node[head] < 0) x[c.to_hub_of[head]] += x[i];
      if (c.node[tail] < 0) x[c.from_hub_of[tail]] += x[i];
    }
  }
  if (c.dropped_local.empty()) return;
  for (int i : c.dropped_local) {
    const int m = problem.arcs[i].tail;
    const int in = c.from_hub_of[m], out = c.to_hub_of[m];
    if (in >= 0 && out >= 0) {
      const double cycle = std::min(x[in], x[out]);
      x[in] -= cycle;
      x[out] -= cycle;
    }
  }
  std::vector<double> net_out(problem.node_count, 0.0);
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    net_out[problem.arcs[i].tail] += x[i];
    net_out[problem.arcs[i].head] -= x[i];
  }
  for (int i : c.dropped_local) x[i] = std::max(0.0, net_out[problem.arcs[i].head]);
}

// Rounds half away from zero, as std::llround, for the scaled data (|x| <= about 4e9); inline,
// where the library call costs as much as the rest of building an arc.
long long to_integer(double x) { return static_cast<long long>(x >= 0.0 ? x + 0.5 : x - 0.5); }

// Arc data for LEMON in plain vectors indexed by arc id: a read-only map needs only operator[],
// and unlike a Graph::ArcMap it does not grow one element at a time as arcs are added.
struct ArcValues {
  using Key = Graph::Arc;
  using Value = long long;
  const std::vector<long long>* values = nullptr;
  Value operator[](const Key& arc) const { return (*values)[Graph::id(arc)]; }
};

// Per-thread solver memory: rebuilt for every problem, never freed between problems. The arcs are
// kept in their built order (arc_mixing off): on these networks that needs about 10% fewer
// simplex operations than LEMON's default mixed order (measured with callgrind on the default
// dataset).
struct Workspace {
  Graph graph;
  std::vector<long long> capacity, lower, cost;  // per contracted arc id
  Simplex simplex{graph, /*arc_mixing=*/false};
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
  const Contraction& c = w.contraction;
  w.graph.clear();
  w.graph.reserveNode(c.node_count);
  w.graph.reserveArc(static_cast<int>(problem.arcs.size()));
  w.nodes.clear();
  for (int i = 0; i < c.node_count; ++i) w.nodes.push_back(w.graph.addNode());
  w.arcs.assign(problem.arcs.size(), lemon::INVALID);
  w.capacity.clear();  // SmartDigraph numbers arcs 0, 1, ... in the order they are added
  w.lower.clear();
  w.cost.clear();
  bool has_lower = false;
  for (std::size_t i = 0; i < problem.arcs.size(); ++i) {
    if (c.tail[i] < 0) continue;  // dropped by the contraction
    const FlowArc& a = problem.arcs[i];
    const Graph::Arc arc = w.graph.addArc(w.nodes[c.tail[i]], w.nodes[c.head[i]]);
    w.capacity.push_back(to_integer(a.capacity * quantity_scale));
    w.lower.push_back(a.lower > 0.0 ? to_integer(a.lower * quantity_scale) : 0);
    has_lower |= a.lower > 0.0;  // contracted deliveries are fixed flows
    w.cost.push_back(to_integer((a.cost + c.added_cost[i]) * cost_scale));
    w.arcs[i] = arc;
  }
  const long long total = to_integer(problem.supply[problem.source] * quantity_scale);

  Simplex& simplex = w.simplex;
  simplex.reset();
  simplex.upperMap(ArcValues{&w.capacity})
      .costMap(ArcValues{&w.cost})
      .stSupply(w.nodes[c.node[problem.source]], w.nodes[c.node[problem.sink]], total);
  if (has_lower) simplex.lowerMap(ArcValues{&w.lower});
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
  recover_flows(problem, c, &solution.flow);
  // LEMON's potentials make cost(uv) + pi(u) - pi(v) zero on arcs strictly between their bounds,
  // so the price of a node relative to the source is pi(node) - pi(source).
  const double source_potential =
      static_cast<double>(simplex.potential(w.nodes[c.node[problem.source]]));
  solution.price.resize(problem.node_count);
  const auto price_of = [&](int node) {
    return (static_cast<double>(simplex.potential(w.nodes[node])) - source_potential) / cost_scale;
  };
  for (int i = 0; i < problem.node_count; ++i) {
    const int contracted = c.node[c.merged[i]];
    if (contracted >= 0) solution.price[i] = price_of(contracted);
  }
  for (const Contraction::Bypassed& b : c.bypassed) {
    const double hub = solution.price[b.hub];
    const double price =
        b.only_receives ? hub + problem.arcs[b.from_hub].cost : hub - problem.arcs[b.to_hub].cost;
    solution.price[b.origin] = solution.price[b.use] = price;
  }
  return solution;
}

}  // namespace critmin::market
