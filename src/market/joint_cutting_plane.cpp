// The network path of joint production: a decomposition by Kelley's cutting-plane method.
//
// Why it works. Let x be the ore mined per mining step (a box 0 <= x <= capacity) and
// s_e(x) = A_e x element e's content per region (linear in x). W_e(s) is the welfare of element
// e's market when its supply in each joint region is a free step of capacity s[r]: the optimum of
// a concave maximisation (an LP, or with sloped demand a concave separable program) whose
// right-hand side is s, hence concave in s, and nondecreasing (free disposal). An optimal dual
// gives a supergradient: W_e(s') <= W_e(s) + sum_r p_e[r] (s'[r] - s[r]), where p_e[r] is the
// dual of the supply at r, which clear_market reports as the extraction producer price. The
// mining cost C(x) = sum_k C_k(x_k) is convex (flat or linearly rising unit costs), so
// W(x) = sum_e W_e(A_e x) - C(x) is concave on a compact box.
//
// The master LP over x, one epigraph variable theta_e per element and one gamma_k per mining step,
//   max sum_e theta_e - sum_k gamma_k
//   theta_e <= W_e(s_e^j) + p_e^j . (A_e x - s_e^j)      for every iterate j (cuts)
//   gamma_k >= C_k(x^j_k) + C_k'(x^j_k) (x_k - x^j_k)    (tangents, plus a few fixed ones)
// overestimates W everywhere (cuts lie above concave functions, tangents below convex ones), so
// its optimum is an upper bound UB; every evaluated iterate gives a lower bound, the best LB.
// Kelley's method evaluates the master's maximiser next: on a compact set with bounded
// supergradients UB decreases to the maximum and LB rises to it (Kelley 1960; Ruszczynski,
// Nonlinear Optimization, 2006, sect. 7.2), finitely when every W_e is piecewise linear. Plain
// Kelley zig-zags across the box on smooth (sloped-demand) welfare, so the next point is the
// level step of Lemarechal, Nemirovskii and Nesterov (1995): the point nearest the best one (L1
// distance, an LP) where the model reaches UB - kLevel (UB - LB). Kelley's master is still solved
// each iteration for UB, so the stopping test is the same certified gap: stop when
// UB - LB <= kJointRelativeGap x (gross welfare scale, at least the master's) or below twice the
// largest cut violation seen (see Accuracy). The level method's proofs assume a Euclidean
// projection; to keep the master an LP this one uses the L1 distance, so every kKelleyEvery-th
// point is Kelley's own maximiser instead: the Kelley points then form a Kelley sequence (cuts
// from the other points only lower the model, which still lies above W), and Kelley's theorem
// gives convergence; the level steps between them make it fast in practice.
//
// Accuracy. W_e is evaluated by clear_market to its refinement resolution, so cuts carry a little
// noise (about 1e-8 of the welfare in tests; UB may then dip below LB, which ends the search).
// The gap certifies welfare, not prices: near a smooth optimum a welfare gap g leaves the ore
// uncertain by about sqrt(2 g / curvature). The joint prices are the cut prices weighted by the
// duals of Kelley's master (their weights sum to 1 per element): an approximate supergradient at
// the master's point for which the ore is worth its marginal cost. Tests hold them to the joint
// LP's within the stated resolution plus 1e-3 relative (7e-4 at most on 300 random instances).
//
// Cost: one clear_market per element and iteration (about 10-20 iterations in tests and on a
// 15-element, 8-region instance), plus one per element for the report; two small master LPs per
// iteration, each resumed by the dual simplex from its last basis after new rows are added.
#include <ClpSimplex.hpp>
#include <CoinPackedMatrix.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "market/joint_products_internal.h"

namespace critmin::market::joint {
namespace {

// The element markets cleared at one ore vector.
struct Evaluation {
  PerDepositStep ore_t;
  std::vector<Equilibrium> elements;
  PerElementRegion content_t;
  double welfare_usd = 0.0;  // sum of element welfares - mining cost
};

// Clears every element market at the content of `ore_t`; an element market that has no
// equilibrium is reported through the optional's absence and `failure`.
std::optional<Evaluation> evaluate(const JointMarketModel& model, PerDepositStep ore_t,
                                   Status* error, Equilibrium* failure) {
  Evaluation out;
  out.content_t = content_of(model, ore_t);
  for (std::size_t e = 0; e < model.elements.size(); ++e) {
    Result<Equilibrium> eq =
        clear_market(element_with_content(model, e, out.content_t[e]), SolverPath::kNetwork);
    if (!eq.is_ok()) {
      *error = eq.status();
      return std::nullopt;
    }
    if (eq.value().termination != Termination::kOptimal) {
      *failure = std::move(eq).value();
      return std::nullopt;
    }
    out.welfare_usd += eq.value().welfare_usd;
    out.elements.push_back(std::move(eq).value());
  }
  out.welfare_usd -= mining_cost_usd(model, ore_t);
  out.ore_t = std::move(ore_t);
  return out;
}

// The master LP. Columns: x per mining step (scaled by quantity_scale), theta per element and
// gamma per mining step (both in units of money_scale), and t per mining step (the distance of x
// from the centre of a level step). Rows: 2 per mining step for |x - centre| <= t, one level row
// sum theta - sum gamma >= level (both free in Kelley mode), then the cuts and tangents.
class Master {
 public:
  Master(const JointMarketModel& model, double money_scale_usd)
      : model_(model), money_scale_(money_scale_usd) {
    for (const JointDeposit& d : model.deposits) {
      for (const SupplyStep& step : d.mining) {
        quantity_scale_ = std::max(quantity_scale_, step.capacity_t);
        steps_.push_back(step);
      }
    }
    load_columns();
    add_level_rows();
    for (std::size_t k = 0; k < steps_.size(); ++k) {
      const int shares = steps_[k].cost_rise_usd_per_t > 0.0 ? 4 : 0;
      for (int i = 0; i <= shares; ++i) {
        add_tangent(k, steps_[k].capacity_t * i / std::max(1, shares));
      }
    }
  }

  // How far the element welfares at `at` exceed the cuts already in the model [USD], summed over
  // elements: 0 for exact cuts of concave functions; positive only through evaluation noise
  // (each clear_market refines its curves afresh), which bounds how far the gap can be closed.
  double cut_violation_usd(const Evaluation& at) const {
    std::vector<double> model_usd(model_.elements.size(), COIN_DBL_MAX);
    for (const std::optional<Cut>& cut : cuts_) {
      if (!cut) continue;
      double value_usd = cut->welfare_usd;
      for (std::size_t r = 0; r < cut->price.size(); ++r) {
        value_usd += cut->price[r] * (at.content_t[cut->element][r] - cut->content_t[r]);
      }
      model_usd[cut->element] = std::min(model_usd[cut->element], value_usd);
    }
    double violation_usd = 0.0;
    for (std::size_t e = 0; e < model_.elements.size(); ++e) {
      if (model_usd[e] == COIN_DBL_MAX) continue;
      violation_usd += std::max(0.0, at.elements[e].welfare_usd - model_usd[e]);
    }
    return violation_usd;
  }

  // Cuts of every element at an evaluated iterate, and tangents of the mining costs there.
  void add_cuts(const Evaluation& at) {
    const std::vector<double> flat = flatten(at.ore_t);
    for (std::size_t e = 0; e < model_.elements.size(); ++e) add_cut(e, at, flat);
    for (std::size_t k = 0; k < steps_.size(); ++k) add_tangent(k, flat[k]);
  }

  // Kelley's master: the model's maximum, an upper bound of the welfare [USD]; its point and the
  // cuts' dual weights are kept. False when Clp fails (the master is feasible and bounded).
  bool solve_upper_bound() {
    if (!optimise(kelley_)) return false;
    upper_bound_usd_ = -kelley_.objectiveValue() * money_scale_;
    kelley_point_ = point(kelley_);
    price_ = aggregate_price();
    return true;
  }

  // The level step: the point nearest `centre` (L1 distance) where the model reaches `level_usd`.
  // Falls back to Kelley's point when Clp finds no such point (level too close to the bound).
  PerDepositStep level_point(const PerDepositStep& centre, double level_usd) {
    const std::vector<double> c = flatten(centre);
    for (std::size_t k = 0; k < steps_.size(); ++k) {
      level_.setRowBounds(static_cast<int>(2 * k), -COIN_DBL_MAX, c[k] / quantity_scale_);
      level_.setRowBounds(static_cast<int>(2 * k + 1), -COIN_DBL_MAX, -c[k] / quantity_scale_);
    }
    level_.setRowBounds(kLevelRows() - 1, level_usd / money_scale_, COIN_DBL_MAX);
    return optimise(level_) ? point(level_) : kelley_point_;
  }

  double upper_bound_usd() const { return upper_bound_usd_; }
  double money_scale_usd() const { return money_scale_; }
  const PerDepositStep& kelley_point() const { return kelley_point_; }
  // Per element and region: the cut prices weighted by the cuts' duals at Kelley's point.
  const PerElementRegion& aggregated_price_usd_per_t() const { return price_; }

 private:
  struct Cut {
    std::size_t element = 0;
    std::vector<double> price;      // [USD/t] per region
    double welfare_usd = 0.0;       // W_e at the cut's point
    std::vector<double> content_t;  // s_e at the cut's point, per region
  };

  int kLevelRows() const { return static_cast<int>(2 * steps_.size() + 1); }
  int columns() const { return static_cast<int>(3 * steps_.size() + model_.elements.size()); }
  int theta(std::size_t element) const { return static_cast<int>(steps_.size() + element); }
  int gamma(std::size_t step) const {
    return static_cast<int>(steps_.size() + model_.elements.size() + step);
  }
  int distance(std::size_t step) const {
    return static_cast<int>(2 * steps_.size() + model_.elements.size() + step);
  }

  std::vector<double> flatten(const PerDepositStep& ore_t) const {
    std::vector<double> flat;
    for (const auto& steps : ore_t) flat.insert(flat.end(), steps.begin(), steps.end());
    return flat;
  }

  // New rows and changed row bounds keep the last basis dual feasible: the dual simplex resumes.
  static bool optimise(ClpSimplex& lp) {
    lp.dual();
    if (!lp.isProvenOptimal()) lp.primal();
    return lp.isProvenOptimal();
  }

  PerDepositStep point(const ClpSimplex& lp) const {
    const double* x = lp.primalColumnSolution();
    PerDepositStep ore(model_.deposits.size());
    std::size_t k = 0;
    for (std::size_t d = 0; d < model_.deposits.size(); ++d) {
      for (const SupplyStep& step : model_.deposits[d].mining) {
        ore[d].push_back(std::clamp(x[k++] * quantity_scale_, 0.0, step.capacity_t));
      }
    }
    return ore;
  }

  PerElementRegion aggregate_price() const {
    const std::size_t n = model_.elements.front().regions.size();
    PerElementRegion price(model_.elements.size(), std::vector<double>(n, 0.0));
    const double* y = kelley_.dualRowSolution();
    for (std::size_t i = 0; i < cuts_.size(); ++i) {
      if (!cuts_[i]) continue;
      const double weight = std::max(0.0, -y[static_cast<std::size_t>(kLevelRows()) + i]);
      for (std::size_t r = 0; r < n; ++r) {
        price[cuts_[i]->element][r] += weight * cuts_[i]->price[r];
      }
    }
    return price;
  }

  // Kelley's LP maximises the model; the level LP minimises the distance to the centre.
  void load_columns() {
    std::vector<double> lower(columns(), -COIN_DBL_MAX), upper(columns(), COIN_DBL_MAX),
        kelley_objective(columns(), 0.0), level_objective(columns(), 0.0);
    for (std::size_t k = 0; k < steps_.size(); ++k) {
      lower[k] = 0.0;
      upper[k] = steps_[k].capacity_t / quantity_scale_;
      lower[distance(k)] = 0.0;
      kelley_objective[gamma(k)] = 1.0;
      level_objective[distance(k)] = 1.0;
    }
    for (std::size_t e = 0; e < model_.elements.size(); ++e) kelley_objective[theta(e)] = -1.0;
    CoinPackedMatrix empty(true, 0, 0);
    empty.setDimensions(0, columns());
    for (ClpSimplex* lp : {&kelley_, &level_}) {
      lp->setLogLevel(0);
      lp->loadProblem(empty, lower.data(), upper.data(),
                      lp == &kelley_ ? kelley_objective.data() : level_objective.data(), nullptr,
                      nullptr);
      lp->setPrimalTolerance(1e-9);
      lp->setDualTolerance(1e-9);
    }
  }

  void add_row(int count, const int* cols, const double* values, double lower, double upper) {
    kelley_.addRow(count, cols, values, lower, upper);
    level_.addRow(count, cols, values, lower, upper);
  }

  // x_k - t_k <= centre_k, -x_k - t_k <= -centre_k, sum theta - sum gamma >= level: free rows
  // until a level step gives them bounds.
  void add_level_rows() {
    for (std::size_t k = 0; k < steps_.size(); ++k) {
      for (double sign : {1.0, -1.0}) {
        const int cols[2] = {static_cast<int>(k), distance(k)};
        const double values[2] = {sign, -1.0};
        add_row(2, cols, values, -COIN_DBL_MAX, COIN_DBL_MAX);
      }
    }
    std::vector<int> cols;
    std::vector<double> values;
    for (std::size_t e = 0; e < model_.elements.size(); ++e) {
      cols.push_back(theta(e));
      values.push_back(1.0);
    }
    for (std::size_t k = 0; k < steps_.size(); ++k) {
      cols.push_back(gamma(k));
      values.push_back(-1.0);
    }
    add_row(static_cast<int>(cols.size()), cols.data(), values.data(), -COIN_DBL_MAX, COIN_DBL_MAX);
  }

  // theta_e - sum_k a[d(k)][e] p[r(d)] x_k <= W_e - p . s_e (scaled).
  void add_cut(std::size_t e, const Evaluation& at, const std::vector<double>& flat) {
    const Equilibrium& eq = at.elements[e];
    std::vector<double> price(eq.nodes.size() / 2, 0.0);
    for (std::size_t r = 0; r < price.size(); ++r) {
      price[r] = eq.node(r, Stage::kExtraction).producer_price_usd_per_t;
    }
    std::vector<int> cols{theta(e)};
    std::vector<double> values{1.0};
    double rhs_usd = eq.welfare_usd;
    std::size_t k = 0;
    for (const JointDeposit& d : model_.deposits) {
      const double slope = d.basket_share[e] * price[d.region];  // [USD/t REO]
      for (std::size_t i = 0; i < d.mining.size(); ++i, ++k) {
        if (slope == 0.0) continue;
        cols.push_back(static_cast<int>(k));
        values.push_back(-slope * quantity_scale_ / money_scale_);
        rhs_usd -= slope * flat[k];
      }
    }
    add_row(static_cast<int>(cols.size()), cols.data(), values.data(), -COIN_DBL_MAX,
            rhs_usd / money_scale_);
    cuts_.push_back(Cut{e, std::move(price), eq.welfare_usd, at.content_t[e]});
  }

  // gamma_k >= C_k(x) + C_k'(x) (x_k - x): -gamma_k + C_k'(x) x_k <= C_k'(x) x - C_k(x).
  void add_tangent(std::size_t k, double at_t) {
    const SupplyStep& step = steps_[k];
    const double slope =
        step.unit_cost_usd_per_t + step.cost_rise_usd_per_t * at_t / step.capacity_t;
    const double cost = step.average_cost_usd_per_t(at_t) * at_t;
    const int cols[2] = {gamma(k), static_cast<int>(k)};
    const double values[2] = {-1.0, slope * quantity_scale_ / money_scale_};
    add_row(2, cols, values, -COIN_DBL_MAX, (slope * at_t - cost) / money_scale_);
    cuts_.push_back(std::nullopt);
  }

  const JointMarketModel& model_;
  double money_scale_ = 1.0;              // [USD]
  double quantity_scale_ = 1.0;           // [t REO/yr]
  std::vector<SupplyStep> steps_;         // every mining step, deposits in order
  std::vector<std::optional<Cut>> cuts_;  // per row after the level rows; empty for tangents
  double upper_bound_usd_ = 0.0;
  PerDepositStep kelley_point_;
  PerElementRegion price_;
  ClpSimplex kelley_, level_;
};

// The level step's target: this share of the gap below the upper bound (Lemarechal, Nemirovskii
// and Nesterov 1995 suggest about 0.3).
constexpr double kLevel = 0.3;
// Every this many iterations the next point is Kelley's (see the top of this file).
constexpr int kKelleyEvery = 5;

// The scale the gap is measured against [USD]: the element welfares' magnitudes plus the mining
// cost (net welfare alone can be near 0 while every market is large).
double gross_scale_usd(const JointMarketModel& model, const Evaluation& at) {
  double scale_usd = 1.0 + mining_cost_usd(model, at.ore_t) + std::abs(at.welfare_usd);
  for (const Equilibrium& eq : at.elements) scale_usd += std::abs(eq.welfare_usd);
  return scale_usd;
}

JointEquilibrium failed(Termination termination, std::string reason, int iterations) {
  JointEquilibrium out;
  out.termination = termination;
  out.reason = std::move(reason);
  out.iterations = iterations;
  return out;
}

}  // namespace

Result<JointEquilibrium> clear_joint_cutting_plane(const JointMarketModel& model) {
  Status error;
  Equilibrium failure;
  std::optional<Evaluation> best;
  std::optional<Master> master;
  PerDepositStep ore_t = full_ore(model);
  double gap_usd = 0.0;
  double noise_usd = 0.0;  // largest cut violation seen: the evaluation noise
  int iteration = 0;
  int solves = 0;
  bool converged = false;
  while (true) {
    ++iteration;
    std::optional<Evaluation> at = evaluate(model, ore_t, &error, &failure);
    solves += static_cast<int>(model.elements.size());
    if (!error.is_ok()) return error;
    if (!at) return failed(failure.termination, failure.reason, iteration);
    if (!master) master.emplace(model, gross_scale_usd(model, *at));
    noise_usd = std::max(noise_usd, master->cut_violation_usd(*at));
    master->add_cuts(*at);
    if (!best || at->welfare_usd > best->welfare_usd) best = std::move(at);
    if (!master->solve_upper_bound()) {
      return failed(Termination::kIterationLimit, "Clp failed on the cutting-plane master LP",
                    iteration);
    }
    gap_usd = master->upper_bound_usd() - best->welfare_usd;
    // The master's own precision: Clp's tolerances are relative to its money scale.
    const double scale_usd = std::max(gross_scale_usd(model, *best), master->money_scale_usd());
    if (gap_usd <= std::max(kJointRelativeGap * scale_usd, 2.0 * noise_usd)) {
      converged = true;
      break;
    }
    if (iteration >= kJointMaxIterations) break;
    ore_t = iteration % kKelleyEvery == 0
                ? master->kelley_point()
                : master->level_point(best->ore_t, master->upper_bound_usd() - kLevel * gap_usd);
  }
  const PerElementRegion& price = master->aggregated_price_usd_per_t();
  Result<std::vector<Equilibrium>> elements =
      clear_elements_at_price(model, best->content_t, price, SolverPath::kNetwork, &solves);
  CRITMIN_RETURN_IF_ERROR(elements);
  JointEquilibrium out = assemble_joint(model, best->ore_t, std::move(elements).value(), price);
  out.welfare_gap_usd = gap_usd;
  out.iterations = iteration;
  out.market_solves = solves;
  if (!converged) {
    out.termination = Termination::kIterationLimit;
    out.reason = fmt::format(
        "the cutting-plane search stopped after {} iterations with a welfare gap of {:.6g} USD; "
        "results are those of the best point found",
        iteration, gap_usd);
  }
  return out;
}

}  // namespace critmin::market::joint
