// The fast path: a network simplex (market/tree_simplex.h) on the min-cost-flow form of the market.
//
// The simplex works in integers, so quantities and costs are scaled per problem to integers of
// about 1e9 at the largest (a resolution of 1e-9 of the total capacity and of the largest cost)
// and solved in 64-bit integers; flows and potentials are scaled back. Welfare and prices
// therefore agree with the LP path to about 1e-8 relative.
//
// Pooled stages are solved on a contracted network (see Contraction): each region's origin and use
// node of the stage become one node, and a region node with only one side is bypassed through the
// hub. On the default dataset that leaves about 19 nodes and 203 arcs of 61 and 258 per material,
// which the simplex repays in fewer pivots; flows and prices are mapped back to the full network.
//
// WarmNetworkSolver keeps the simplex, its arc data and the basis of its last solve; within a
// refinement each solve starts from the previous optimum (see flow_problem.h). Its memory is kept
// from one problem to the next, so a world-year of solves hardly allocates in the solver.
#include <algorithm>
#include <cmath>
#include <vector>

#include "market/flow_problem.h"
#include "market/tree_simplex.h"

namespace critmin::market {

namespace {

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

}  // namespace

// The solver's memory and the basis of its last solve, per arc of the problem it was given.
struct WarmNetworkSolver::State {
  TreeSimplex simplex;
  Contraction contraction;
  std::vector<int> arc_of;  // per problem arc: its simplex arc, -1 when contracted away
  // Per problem arc, of the last solve: integer capacity above the lower bound, lower bound,
  // basis state, flow above the lower bound, and for tree arcs whether it points up.
  std::vector<long long> capacity, lower, flow;
  std::vector<TreeSimplex::State> state;
  std::vector<char> up;
  std::vector<TreeSimplex::State> artificial_state;  // per contracted node
  std::vector<long long> artificial_flow;
  int node_count = -1;  // contracted nodes of the last solve; -1: no basis kept
  double quantity_scale = 0.0;
  // Scratch for the next solve.
  std::vector<long long> next_capacity, next_lower, supply, start_flow;
  std::vector<int> tail, head;  // the contraction's arc ends, mapped along the lineage
  std::vector<double> added_cost;
  std::vector<TreeSimplex::State> start_state;
  std::vector<int> full_part,
      empty_part;  // per previous arc: its parts ending / starting at its flow
  std::vector<char> tree_part_found;
  long long warm_solves = 0;
  long long pivots = 0;
};

WarmNetworkSolver::WarmNetworkSolver() : state_(std::make_unique<State>()) {}
WarmNetworkSolver::~WarmNetworkSolver() = default;
long long WarmNetworkSolver::warm_solves() const { return state_->warm_solves; }
long long WarmNetworkSolver::pivots() const { return state_->pivots; }

FlowSolution WarmNetworkSolver::solve(const FlowProblem& problem,
                                      const std::vector<ArcLineage>& lineage) {
  constexpr double kResolution = 1e9;
  State& w = *state_;
  const std::size_t arcs = problem.arcs.size();

  double max_cost = 0.0;
  for (const FlowArc& a : problem.arcs) max_cost = std::max(max_cost, std::abs(a.cost));
  const double quantity_scale = kResolution / std::max(problem.supply[problem.source], 1e-12);
  const double cost_scale = max_cost > 0.0 ? kResolution / max_cost : 1.0;

  // The previous basis is usable when every arc continues an arc of the previous problem, solved
  // at the same scale. Then the contraction is the previous one: splitting a supply or demand
  // piece changes neither the nodes nor the hub and local arcs it rests on, and each part is
  // contracted as its piece was.
  const std::size_t previous_arcs = w.state.size();
  bool warm = !lineage.empty() && lineage.size() == arcs && w.node_count >= 0 &&
              w.quantity_scale == quantity_scale;
  for (std::size_t i = 0; i < arcs && warm; ++i) warm = lineage[i].previous < previous_arcs;
  Contraction& c = w.contraction;
  if (warm) {
    w.tail.resize(arcs);
    w.head.resize(arcs);
    w.added_cost.resize(arcs);
    for (std::size_t i = 0; i < arcs; ++i) {
      const std::size_t p = lineage[i].previous;
      w.tail[i] = c.tail[p];
      w.head[i] = c.head[p];
      w.added_cost[i] = c.added_cost[p];
    }
    c.tail.swap(w.tail);
    c.head.swap(w.head);
    c.added_cost.swap(w.added_cost);
  } else {
    contract_pooled_stages(problem, &c);
  }

  // Integer capacities: the part [from, to] of a previous arc of capacity C gets
  // round(C to) - round(C from), so the parts of a split piece add up to it exactly.
  w.next_capacity.assign(arcs, 0);
  w.next_lower.assign(arcs, 0);
  for (std::size_t i = 0; i < arcs; ++i) {
    if (c.tail[i] < 0) continue;
    const FlowArc& a = problem.arcs[i];
    if (warm) {
      const ArcLineage& part = lineage[i];
      const long long whole = w.capacity[part.previous];
      w.next_lower[i] = w.lower[part.previous];
      w.next_capacity[i] = part.from == 0.0 && part.to == 1.0
                               ? whole
                               : to_integer(static_cast<double>(whole) * part.to) -
                                     to_integer(static_cast<double>(whole) * part.from);
    } else {
      const long long lower = a.lower > 0.0 ? to_integer(a.lower * quantity_scale) : 0;
      w.next_lower[i] = lower;  // contracted deliveries are fixed flows
      w.next_capacity[i] = std::max(0LL, to_integer(a.capacity * quantity_scale) - lower);
    }
  }

  // The simplex on the contracted network, lower bounds moved into the supplies.
  const long long total = to_integer(problem.supply[problem.source] * quantity_scale);
  w.supply.assign(c.node_count, 0);
  w.supply[c.node[problem.source]] += total;
  w.supply[c.node[problem.sink]] -= total;
  for (std::size_t i = 0; i < arcs; ++i) {
    if (c.tail[i] < 0 || w.next_lower[i] == 0) continue;
    w.supply[c.tail[i]] -= w.next_lower[i];
    w.supply[c.head[i]] += w.next_lower[i];
  }
  TreeSimplex& simplex = w.simplex;
  simplex.reset(c.node_count, w.supply);
  w.arc_of.assign(arcs, -1);
  for (std::size_t i = 0; i < arcs; ++i) {
    if (c.tail[i] < 0) continue;  // dropped by the contraction
    const FlowArc& a = problem.arcs[i];
    w.arc_of[i] = simplex.add_arc(c.tail[i], c.head[i], w.next_capacity[i],
                                  to_integer((a.cost + c.added_cost[i]) * cost_scale));
  }

  TreeSimplex::Outcome outcome = TreeSimplex::Outcome::kFailed;
  bool started_warm = false;
  if (warm) {
    // The previous basis on the new arcs. A part of a split piece is full below the piece's flow
    // and empty above it; the part holding the flow takes the piece's place in the tree. When the
    // flow ends on a boundary of two parts, the tree takes the one that keeps the tree strongly
    // feasible (flow can go up towards the root): the empty one when the piece pointed up, the
    // full one when it pointed down.
    w.start_state.assign(simplex.arc_count(), TreeSimplex::kLower);
    w.start_flow.assign(simplex.arc_count(), 0);
    w.full_part.assign(previous_arcs, -1);
    w.empty_part.assign(previous_arcs, -1);
    w.tree_part_found.assign(previous_arcs, 0);
    int first_changed = simplex.arc_count();
    for (std::size_t i = 0; i < arcs; ++i) {
      const int e = w.arc_of[i];
      if (e < 0) continue;
      const ArcLineage& part = lineage[i];
      const std::size_t p = part.previous;
      if (part.from != 0.0 || part.to != 1.0) first_changed = std::min(first_changed, e);
      const long long whole = w.capacity[p], x = w.flow[p];
      const TreeSimplex::State was = w.state[p];
      if (part.from == 0.0 && part.to == 1.0) {
        w.start_state[e] = was;
        w.start_flow[e] = x;
        if (was == TreeSimplex::kTree) w.tree_part_found[p] = 1;
        continue;
      }
      const long long start = to_integer(static_cast<double>(whole) * part.from);
      const long long stop = start + w.next_capacity[i];
      if (was != TreeSimplex::kTree) {
        w.start_state[e] = was;
        w.start_flow[e] = was == TreeSimplex::kUpper ? w.next_capacity[i] : 0;
        continue;
      }
      if (x > start && x < stop) {
        w.start_state[e] = TreeSimplex::kTree;
        w.start_flow[e] = x - start;
        w.tree_part_found[p] = 1;
      } else if (x <= start) {
        w.start_state[e] = TreeSimplex::kLower;
        if (x == start) w.empty_part[p] = e;
      } else {
        w.start_state[e] = TreeSimplex::kUpper;
        w.start_flow[e] = w.next_capacity[i];
        if (x == stop) w.full_part[p] = e;
      }
    }
    for (std::size_t p = 0; p < previous_arcs; ++p) {
      if (w.state[p] != TreeSimplex::kTree || w.tree_part_found[p]) continue;
      const int full = w.full_part[p], empty = w.empty_part[p];
      const int chosen = (w.up[p] && empty >= 0) || full < 0 ? empty : full;
      if (chosen >= 0) w.start_state[chosen] = TreeSimplex::kTree;
    }
    outcome = simplex.solve_from(w.start_state, w.start_flow, w.artificial_state, w.artificial_flow,
                                 first_changed, &started_warm);
  } else {
    outcome = simplex.solve();
  }
  if (outcome == TreeSimplex::Outcome::kFailed) outcome = simplex.solve();
  w.warm_solves += started_warm ? 1 : 0;
  w.pivots += simplex.pivots();

  FlowSolution solution;
  w.node_count = -1;
  if (outcome == TreeSimplex::Outcome::kFailed) {
    solution.termination = Termination::kInfeasible;
    solution.reason = "internal: the network simplex lost its spanning tree";
    return solution;
  }
  if (outcome == TreeSimplex::Outcome::kInfeasible) {
    solution.termination = Termination::kInfeasible;
    solution.reason = "no flow satisfies the capacities and balances";
    return solution;
  }
  if (outcome == TreeSimplex::Outcome::kUnbounded) {
    solution.termination = Termination::kUnbounded;
    solution.reason = "a cycle of negative cost exists";
    return solution;
  }
  // Keep the basis for the next solve.
  w.capacity.swap(w.next_capacity);
  w.lower.swap(w.next_lower);
  w.flow.assign(arcs, 0);
  w.state.assign(arcs, TreeSimplex::kLower);
  w.up.assign(arcs, 0);
  for (std::size_t i = 0; i < arcs; ++i) {
    const int e = w.arc_of[i];
    if (e < 0) continue;
    w.flow[i] = simplex.flow(e);
    w.state[i] = simplex.state(e);
    w.up[i] = w.state[i] == TreeSimplex::kTree && simplex.points_up(e) ? 1 : 0;
  }
  w.artificial_state.resize(c.node_count);
  w.artificial_flow.resize(c.node_count);
  for (int v = 0; v < c.node_count; ++v) {
    w.artificial_state[v] = simplex.artificial_state(v);
    w.artificial_flow[v] = simplex.artificial_flow(v);
  }
  w.node_count = c.node_count;
  w.quantity_scale = quantity_scale;

  solution.iterations = simplex.pivots();
  // The potentials make cost(uv) + pi(u) - pi(v) zero on arcs strictly between their bounds, so
  // the price of a node relative to the source is pi(node) - pi(source).
  const double source_potential = static_cast<double>(simplex.potential(c.node[problem.source]));
  solution.price.resize(problem.node_count);
  const auto price_of = [&](int node) {
    return (static_cast<double>(simplex.potential(node)) - source_potential) / cost_scale;
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

void WarmNetworkSolver::complete(const FlowProblem& problem, FlowSolution* solution) {
  const State& w = *state_;
  const std::size_t arcs = problem.arcs.size();
  if (w.node_count < 0 || w.flow.size() != arcs) return;  // the last solve found no optimum
  solution->flow.resize(arcs);
  for (std::size_t i = 0; i < arcs; ++i) {
    solution->flow[i] =
        w.arc_of[i] < 0 ? 0.0 : static_cast<double>(w.flow[i] + w.lower[i]) / w.quantity_scale;
  }
  recover_flows(problem, w.contraction, &solution->flow);
}

FlowSolution solve_network_simplex(const FlowProblem& problem) {
  thread_local WarmNetworkSolver solver;
  FlowSolution solution = solver.solve(problem, {});
  if (solution.termination == Termination::kOptimal) solver.complete(problem, &solution);
  return solution;
}

}  // namespace critmin::market
