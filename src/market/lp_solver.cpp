// The reference path: the same min-cost-flow problem as a generic LP, solved by COIN-OR Clp's dual
// simplex. Rows are node balances (outflow - inflow = supply), columns are arcs.
#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "market/flow_problem.h"

namespace critmin::market {

FlowSolution solve_clp(const FlowProblem& problem) {
  // Quantities are scaled to fractions of the total supply and costs to fractions of the largest
  // cost, so that Clp's absolute tolerances mean the same for gallium (hundreds of tonnes) and
  // copper (tens of millions).
  double max_cost = 0.0;
  for (const FlowArc& a : problem.arcs) max_cost = std::max(max_cost, std::abs(a.cost));
  const double quantity_scale = 1.0 / std::max(problem.supply[problem.source], 1e-12);
  const double cost_scale = max_cost > 0.0 ? 1.0 / max_cost : 1.0;
  const int rows = problem.node_count;
  const int columns = static_cast<int>(problem.arcs.size());
  std::vector<CoinBigIndex> starts(columns + 1);
  std::vector<int> indices(2 * columns);
  std::vector<double> elements(2 * columns);
  std::vector<double> column_lower(columns, 0.0), column_upper(columns), objective(columns);
  for (int j = 0; j < columns; ++j) {
    const FlowArc& a = problem.arcs[j];
    starts[j] = 2 * j;
    indices[2 * j] = a.tail;
    elements[2 * j] = 1.0;
    indices[2 * j + 1] = a.head;
    elements[2 * j + 1] = -1.0;
    column_upper[j] = a.capacity * quantity_scale;
    column_lower[j] = a.lower * quantity_scale;
    objective[j] = a.cost * cost_scale;
  }
  starts[columns] = 2 * columns;
  std::vector<int> lengths(columns, 2);
  CoinPackedMatrix matrix(true, rows, columns, 2 * columns, elements.data(), indices.data(),
                          starts.data(), lengths.data());
  std::vector<double> balance(problem.supply);
  for (double& b : balance) b *= quantity_scale;
  ClpSimplex model;
  model.setLogLevel(0);
  model.loadProblem(matrix, column_lower.data(), column_upper.data(), objective.data(),
                    balance.data(), balance.data());
  model.setPrimalTolerance(1e-9);
  model.setDualTolerance(1e-9);
  model.dual();
  FlowSolution solution;
  solution.iterations = model.numberIterations();
  if (model.isProvenPrimalInfeasible()) {
    solution.termination = Termination::kInfeasible;
    solution.reason = "no flow satisfies the capacities and balances";
    return solution;
  }
  if (model.isProvenDualInfeasible()) {
    solution.termination = Termination::kUnbounded;
    solution.reason = "a cycle of negative cost exists";
    return solution;
  }
  if (!model.isProvenOptimal()) {
    solution.termination = Termination::kIterationLimit;
    solution.reason = "Clp stopped before proving optimality";
    return solution;
  }
  const double* x = model.primalColumnSolution();
  const double* y = model.dualRowSolution();
  solution.flow.resize(columns);
  for (int j = 0; j < columns; ++j) solution.flow[j] = x[j] / quantity_scale;
  // With rows "outflow - inflow", an arc strictly inside its bounds has cost = y(tail) - y(head),
  // so the price of a node relative to the source is y(source) - y(node).
  solution.price.resize(rows);
  for (int i = 0; i < rows; ++i) solution.price[i] = (y[problem.source] - y[i]) / cost_scale;
  return solution;
}

}  // namespace critmin::market
