// The market model as a min-cost-flow problem, shared by both solver paths.
//
// Nodes: a source, a sink, one extraction node and one processing node per region, and one gate
// node per export quota. Arcs (all quantities in extraction-equivalent tonnes, so that the
// processing yield disappears and the problem is a pure network):
//   source -> E[r]          one per extraction supply step (capacity, unit cost)
//   E[r] -> P[r]            one per processing step (capacity / yield, cost * yield)
//   E[r] -> E[s], P[r] -> P[s]  trade (transport + tariff; processing costs scaled by the yield)
//   E[r]/P[r] -> gate -> ...    export quotas (the gate arc carries the quota)
//   P[r] -> sink            one per demand step (quantity / yield, cost -wtp * yield)
//   source -> sink          bypass for unused capacity (cost 0), so the problem is always feasible
// The source supplies the total extraction capacity plus one tonne; the bypass therefore always
// carries flow, which pins the source and sink potentials to each other.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "critmin/market.h"

namespace critmin::market {

// Marks an arc without its own capacity; replaced by the total capacity when the problem is built.
inline constexpr double kUnlimited = -1.0;

enum class ArcKind { kExtractionSupply, kProcessingSupply, kDemand, kTrade, kQuotaGate, kBypass };

struct FlowArc {
  int tail = 0;
  int head = 0;
  double capacity = 0.0;  // [t ext-eq/yr]
  double cost = 0.0;      // [USD per t ext-eq]
  ArcKind kind = ArcKind::kBypass;
  std::size_t region = 0;  // supply/demand: the region; trade: the origin
  std::size_t step = 0;    // supply/demand: the step index
  std::size_t route = 0;   // trade: index into MarketModel::routes
  bool leakage = false;    // trade: restricted supply going round the restriction
  double tariff = 0.0;     // trade: tariff part of cost [USD per t of the stage's product]
};

struct FlowProblem {
  int node_count = 0;
  int source = 0;
  int sink = 1;
  std::vector<double> supply;  // per node; source > 0, sink < 0, others 0
  std::vector<FlowArc> arcs;

  static int extraction_node(std::size_t region) { return 2 + 2 * static_cast<int>(region); }
  static int processing_node(std::size_t region) { return 3 + 2 * static_cast<int>(region); }
};

// route_ad_valorem_usd_per_t: the ad valorem tariff of each route expressed per tonne of the
// stage's product (from the outer loop); empty means none.
FlowProblem build_flow_problem(const MarketModel& model,
                               const std::vector<double>& route_ad_valorem_usd_per_t);

struct FlowSolution {
  Termination termination = Termination::kOptimal;
  std::string reason;
  std::vector<double> flow;   // per arc [t ext-eq/yr]
  std::vector<double> price;  // per node [USD per t ext-eq], 0 at the source
  long long iterations = 0;
};

FlowSolution solve_network_simplex(const FlowProblem& problem);
FlowSolution solve_clp(const FlowProblem& problem);

}  // namespace critmin::market
