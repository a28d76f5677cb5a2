// The market model as a min-cost-flow problem, shared by both solver paths.
//
// Nodes: a source, a sink, per region and stage an origin node and a use node (see below), one
// gate node per export quota and one hub per pooled stage. Arcs (all quantities in
// extraction-equivalent tonnes, so that the processing yield disappears and the problem is a pure
// network):
//   source -> Eo[r]           one per extraction supply step (capacity, unit cost)
//   Eo[r] -> Eu[r], Po[r] -> Pu[r]  local use of local output (cost 0)
//   Eu[r] -> Po[r]            one per processing step (capacity / yield, cost * yield)
//   Eo[r] -> Eu[s], Po[r] -> Pu[s]  trade (transport + tariff; processing costs scaled by yield)
//   Eo/Po[r] -> gate -> ...   export quotas (the gate arc carries the quota)
//   Pu[r] -> sink             one per demand step (quantity / yield, cost -wtp * yield)
//   source -> sink            bypass for unused capacity (cost 0), so it is always feasible
//   Eo/Po[r] -> Eu/Pu[s]      contracted deliveries (fixed flow: lower bound = capacity)
//   source -> Pu[r]           stock release steps; Pu[r] -> sink: stock refill steps
// The source supplies the total extraction capacity plus one tonne; the bypass therefore always
// carries flow, which pins the source and sink potentials to each other.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "critmin/market/market.h"

namespace critmin::market {

// Marks an arc without its own capacity; replaced by the total capacity when the problem is built.
inline constexpr double kUnlimited = -1.0;

enum class ArcKind {
  kExtractionSupply,
  kProcessingSupply,
  kDemand,
  kTrade,
  kToHub,    // pooled trade: region -> hub (the origin's part of the route cost)
  kFromHub,  // pooled trade: hub -> region (the destination's part of the route cost)
  kQuotaGate,
  kLocal,  // origin -> use node of one region and stage
  kBypass,
  kDelivery,      // a contracted delivery: a fixed flow (lower bound = capacity)
  kStockRelease,  // source -> processing use node: stock offered at its release price
  kStockRefill,   // processing use node -> sink: stock bought below its refill price
};

struct FlowArc {
  int tail = 0;
  int head = 0;
  double capacity = 0.0;  // [t ext-eq/yr]
  double lower = 0.0;     // [t ext-eq/yr]: a fixed flow has lower == capacity
  double cost = 0.0;      // [USD per t ext-eq]
  ArcKind kind = ArcKind::kBypass;
  std::size_t region = 0;  // supply/demand: the region; trade: the origin
  std::size_t step = 0;    // supply/demand: the step index
  std::size_t route = 0;   // trade: index into MarketModel::routes; delivery: into deliveries
  bool leakage = false;    // trade: restricted supply going round the restriction
  double tariff = 0.0;     // trade: tariff part of cost [USD per t of the stage's product]
  Stage stage = Stage::kExtraction;  // trade and hub arcs: the stage traded
  // [USD per t ext-eq] >= 0: a sloped arc's last unit costs cost + cost_rise, linearly in between
  // (a supply step's rising cost, a demand step's falling willingness to pay). The solvers take
  // flat arcs only; solve_refined turns sloped ones into flat pieces.
  double cost_rise = 0.0;
  // 0: the cost rises linearly. < 0 (demand arcs only): the willingness to pay -cost falls to
  // -(cost + cost_rise) along the constant-elasticity curve of DemandStep::elasticity.
  double elasticity = 0.0;
  // Constant-elasticity demand arcs: the price [USD per t ext-eq] the curve was calibrated
  // through, where refinement starts with narrow pieces; 0 when unknown.
  double reference_price = 0.0;
};

// The cost of a sloped arc's unit at `share` of its capacity (0 first, 1 last).
double arc_cost_at(const FlowArc& arc, double share);

struct FlowProblem {
  int node_count = 0;
  int source = 0;
  int sink = 1;
  std::vector<double> supply;  // per node; source > 0, sink < 0, others 0
  std::vector<FlowArc> arcs;
  bool pooled[2] = {false, false};  // per stage (extraction, processing): some trade goes via a hub

  // A hub of pooled trade (see build_flow_problem): every origin of `origins` reaches every
  // destination of `destinations` (a region not itself) through it, at the route's own cost.
  struct Hub {
    int node = 0;
    Stage stage = Stage::kExtraction;
    std::vector<std::size_t> origins, destinations;  // regions
    // Per pair (origin index * destinations.size() + destination index): the route the pair
    // stands for, or kNoRoute when the hub path stands for no route (a region to itself, or a
    // pair whose own route is cheaper and kept as a direct arc); its unit cost and tariff [USD
    // per t of the stage's product].
    std::vector<std::size_t> route;
    std::vector<double> unit_cost, tariff;
  };
  static constexpr std::size_t kNoRoute = static_cast<std::size_t>(-1);
  std::vector<Hub> hubs;  // hub arcs carry their hub's index in FlowArc::route

  // Each region and stage has an origin node (its own production enters here, exports leave from
  // here) and a use node (imports and local output arrive here; it feeds only local processing or
  // demand). Splitting them rules out re-exports: restricted supply can only reach a blocked
  // destination through an explicit leakage arc with its extra cost.
  static int extraction_origin_node(std::size_t region) { return 2 + 4 * static_cast<int>(region); }
  static int extraction_node(std::size_t region) { return 3 + 4 * static_cast<int>(region); }
  static int processing_origin_node(std::size_t region) { return 4 + 4 * static_cast<int>(region); }
  static int processing_node(std::size_t region) { return 5 + 4 * static_cast<int>(region); }
};

// route_ad_valorem_usd_per_t: the ad valorem tariff of each route expressed per tonne of the
// stage's product (from the outer loop); empty means none.
//
// pool_uniform_trade: trade of a stage without export restrictions goes through hubs where its
// route costs allow. Destinations are grouped by the set of origins that reach them; a group D
// with origin set E is pooled when a route joins every origin to every destination (but a region
// to itself) and the route costs are separable, cost(o, d) = a(o) + b(d) with a, b >= 0: one hub
// node with the arcs o -> hub at a(o) and hub -> d at b(d) replaces the |E| x |D| route arcs. A
// route cheaper than a(o) + b(d) (a certified region's free downgrade to its own open market) is
// kept as a direct arc beside the hub; a dearer one, or a missing one, leaves the group unpooled.
// Every hub path then costs what its route costs, or more than a direct arc of the same pair, or
// is a region's path to itself (more than its free local arc), so the optimum and the prices are
// unchanged, while the network shrinks from O(n^2) to O(n) trade arcs. The calibrated default
// (one transport cost and tariff per stage) is one group per stage; the club's instruments give
// a few (non-member, member and certified destinations, with origin-dependent levies). The
// pairwise flows are recovered from the hub flows afterwards (any pairing costs the same).
FlowProblem build_flow_problem(const MarketModel& model,
                               const std::vector<double>& route_ad_valorem_usd_per_t,
                               bool pool_uniform_trade = false);

struct FlowSolution {
  Termination termination = Termination::kOptimal;
  std::string reason;
  std::vector<double> flow;   // per arc [t ext-eq/yr]
  std::vector<double> price;  // per node [USD per t ext-eq], 0 at the source
  long long iterations = 0;
};

FlowSolution solve_network_simplex(const FlowProblem& problem);
FlowSolution solve_clp(const FlowProblem& problem);

// Where an arc of one of solve_refined's flat problems comes from in the previous one: the index
// of the previous problem's arc it continues and the share [from, to] of that arc it covers (0
// and 1 when it is the same arc or piece, narrower for a part of a split piece).
struct ArcLineage {
  std::size_t previous = 0;
  double from = 0.0;
  double to = 1.0;
};

// A solver of solve_refined's flat problems. `lineage` is empty for the first problem of a
// refinement, else it has one entry per arc of `problem`, which differs from the previous
// problem given to the same solver only by the splits it describes. solve may leave the flows
// out (the refinement needs only prices until its last solve); complete then fills them for
// the same problem, before the next solve.
class FlatSolver {
 public:
  virtual ~FlatSolver() = default;
  virtual FlowSolution solve(const FlowProblem& problem,
                             const std::vector<ArcLineage>& lineage) = 0;
  virtual void complete(const FlowProblem& /*problem*/, FlowSolution* /*solution*/) {}
};

// The network path's solver for solve_refined: the network simplex of solve_network_simplex,
// which starts every problem after the first from the previous optimum, each split piece's flow
// spread over its parts (cheapest first), and needs only the pivots the splits call for. The
// integer capacities of the parts of a split piece sum exactly to the piece's.
class WarmNetworkSolver : public FlatSolver {
 public:
  WarmNetworkSolver();
  ~WarmNetworkSolver() override;
  // Prices only; complete adds the flows.
  FlowSolution solve(const FlowProblem& problem, const std::vector<ArcLineage>& lineage) override;
  void complete(const FlowProblem& problem, FlowSolution* solution) override;
  long long warm_solves() const;  // solves that started from the previous optimum
  long long pivots() const;       // simplex pivots over all solves

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct RefinementResult {
  FlowSolution solution;  // flows per arc of the original problem, prices per node
  int solves = 0;
  // Widest cost range [USD per t ext-eq] of a flat piece that holds its price difference at the
  // end (0 when every sloped arc is at a bound).
  double resolution = 0.0;
};

// Solves a problem with sloped arcs exactly to a price resolution. Each sloped arc enters as flat
// pieces: a linear one as kInitialPieces pieces of equal capacity, a constant-elasticity one as
// 2 x kInitialPieces pieces whose ends lie at prices equally spaced on a log scale plus narrow
// pieces around its reference price. A piece costs the arc's cost at its middle: a piece wholly
// below or above the price difference across its arc (head minus tail) is used fully or not at
// all whatever its cost within its range. After a solve, a piece whose cost range strictly
// contains that difference is marginal: the optimum of the continuous arc lies inside it, so it
// is split into kSplitPieces and the problem solved again. Refinement stops when no marginal
// piece is wider than `relative_resolution` times its largest absolute cost (or after kMaxSolves
// solves). Problems without sloped arcs take one solve. Pieces are never merged again: merging
// neighbours on one side of the price made the refinement oscillate (the price moved back into a
// merged range, which had to be split again; 24 of the 81 base-year markets then stopped at
// kMaxSolves, even when pieces next to a marginal one were kept apart).
inline constexpr int kInitialPieces = 4;
inline constexpr int kSplitPieces = 16;
inline constexpr int kMaxSolves = 8;
RefinementResult solve_refined(const FlowProblem& problem, FlatSolver& solver,
                               double relative_resolution = 1e-3);
// The same with a solver that starts every problem afresh.
RefinementResult solve_refined(const FlowProblem& problem,
                               FlowSolution (*solve)(const FlowProblem&),
                               double relative_resolution = 1e-3);

}  // namespace critmin::market
