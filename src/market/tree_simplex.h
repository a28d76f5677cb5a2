// A primal network simplex for the small min-cost-flow problems of the market model, which can
// start from the optimal basis of the previous, closely related problem (a warm start).
//
// Why not LEMON's NetworkSimplex, which the network path used before: it always starts from an
// artificial basis and keeps no state between solves. The refinement of sloped arcs
// (solve_refined) solves a problem four times on average, each time with a few marginal pieces
// split into narrower ones; the previous optimum is then optimal but for those pieces, and a
// simplex that starts there needs a handful of pivots instead of a few hundred.
//
// The algorithm is the textbook one (Ahuja, Magnanti and Orlin, "Network Flows", ch. 11):
// integer flows and costs, a spanning tree of basic arcs rooted at an artificial root joined to
// every node by an artificial arc of large cost, block-search pricing (the most violating arc of
// the first block of about sqrt(m) arcs that holds one) and Cunningham's strongly feasible trees
// (the leaving arc is the last blocking arc met from the apex of the cycle in the direction of
// the push), which rules out cycling. The networks have some 30 nodes and shallow trees, so the
// tree is kept as parent pointers and child lists with depths and potentials; after a pivot the
// path to the moved subtree is reversed and the subtree walked once (no thread indices).
//
// Conventions: an arc's reduced cost is cost + potential(tail) - potential(head); at the optimum
// it is >= 0 on arcs at their lower bound, <= 0 at their upper bound and 0 on tree arcs.
#pragma once

#include <cstdint>
#include <vector>

namespace critmin::market {

class TreeSimplex {
 public:
  // kFailed: a pivot broke the tree (a bug; never seen), the result is not a solution.
  enum class Outcome { kOptimal, kInfeasible, kUnbounded, kFailed };
  // Per arc: at its lower bound (0), at its upper bound (capacity), or in the tree (basic).
  enum State : std::int8_t { kUpper = -1, kTree = 0, kLower = 1 };

  // A problem of `node_count` nodes with the given supplies (summing to 0); arcs are added with
  // add_arc, flows between 0 and capacity (>= 0).
  void reset(int node_count, const std::vector<long long>& supply);
  int add_arc(int tail, int head, long long capacity, long long cost);
  int arc_count() const { return arc_count_; }

  // Solves from the artificial basis.
  Outcome solve();

  // Solves from a basis given per real arc (state and flow) and per node (the artificial arc's
  // state and flow, as artificial_state/artificial_flow of a previous solve of a problem with the
  // same nodes and supplies). The tree arcs must form a spanning tree with the artificial root,
  // the flows must satisfy the bounds and the supplies; otherwise (checked) it solves from the
  // artificial basis. `warm` tells which happened.
  // Pricing starts at arc `first_priced` (where the arcs that changed begin), so the first pivots
  // find them without scanning the rest.
  Outcome solve_from(const std::vector<State>& state, const std::vector<long long>& flow,
                     const std::vector<State>& artificial_state,
                     const std::vector<long long>& artificial_flow, int first_priced, bool* warm);

  long long flow(int arc) const { return flow_[arc]; }
  State state(int arc) const { return state_[arc]; }
  State artificial_state(int node) const { return state_[arc_count_ + node]; }
  long long artificial_flow(int node) const { return flow_[arc_count_ + node]; }
  long long potential(int node) const { return potential_[node]; }
  // A tree arc points up when it runs from the node it hangs to its parent.
  bool points_up(int arc) const { return pred_[tail_[arc]] == arc; }
  long long pivots() const { return pivots_; }

 private:
  static constexpr long long kInfinite = INT64_MAX / 4;

  void add_artificial_arcs();
  // Parent, pred, depth, child lists and potentials from the arcs in state kTree (a full pass;
  // pivots update the tree with rehang); false when they are not a spanning tree.
  bool build_tree();
  bool rehang(int leaving, int entering);  // the tree after a pivot; false if it breaks
  void attach(int child, int parent);      // child lists
  void detach(int child, int parent);
  bool find_entering_arc(int* entering);
  Outcome run();

  int node_count_ = 0;
  int arc_count_ = 0;
  int root_ = 0;
  std::vector<long long> supply_;
  // Per arc, real ones first, then one artificial arc per node.
  std::vector<int> tail_, head_;
  std::vector<long long> capacity_, cost_, flow_;
  std::vector<State> state_;
  // Per node (the root last): the tree.
  std::vector<int> parent_, pred_, depth_;
  std::vector<std::int8_t> up_;  // 1: pred arc goes node -> parent, 0: parent -> node
  std::vector<long long> potential_;
  // Scratch for build_tree.
  std::vector<int> tree_arcs_, adjacency_start_, adjacency_, queue_;
  std::vector<long long> balance_;                                  // for solve_from's check
  std::vector<int> first_child_, next_sibling_, previous_sibling_;  // per node: the tree's children
  std::vector<int> chain_;                                          // scratch for rehang
  int next_arc_ = 0;
  long long pivots_ = 0;
};

}  // namespace critmin::market
