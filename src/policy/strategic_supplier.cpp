// The strategic dominant supplier's search (critmin/policy/strategic_supplier.h,
// docs/strategic-supplier.md).
#include "critmin/policy/strategic_supplier.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "critmin/market/trade_measures.h"

namespace critmin::policy {
namespace {

// Golden ratio's conjugate: each golden-section step keeps this share of the bracket.
constexpr double kGoldenShare = 0.6180339887498949;
// Points of the first grid on the export-restriction side (a in (0, 1]) and on the cost-cut side
// (a in [-max_cut, 0)). With Brent's steps this keeps a strategic clearing under 20 passive
// clearings (`critmin_bench --case strategic`: about 14 clearings per market).
constexpr int kRestrictionGridPoints = 4;
constexpr int kCostCutGridPoints = 2;

// One evaluated action.
struct Evaluation {
  double action = 0.0;
  double profit_usd = 0.0;
  double welfare_usd = 0.0;  // the region's: its profit, its buyers' surplus, its tariffs
  double output_share = 0.0;
  double exports_t = 0.0;
  double entrant_margin_usd_per_t = 0.0;
  bool feasible = true;
  double score = 0.0;      // what the objective maximises among feasible actions
  double violation = 0.0;  // how far an infeasible action misses the constraint
  ClubOutcome outcome;
  market::CalibratedMarket market;  // as cleared: with the action and the instruments applied
};

// True when `a` serves the objective better than `b`: feasible before infeasible; among feasible
// the higher score, then the higher profit, then the action nearer passive; among infeasible the
// smaller violation, except for a limit-pricing leader, which ranks actions that do not deter by
// profit (it accommodates the entry it cannot prevent).
bool better(const Evaluation& a, const Evaluation& b, LeaderObjective objective) {
  if (a.feasible != b.feasible) return a.feasible;
  // A leader that cannot deter entry at all accommodates it: it ranks by profit.
  if (!a.feasible && objective != LeaderObjective::kLimitPrice) return a.violation < b.violation;
  const double scale = std::max({1.0, std::abs(a.score), std::abs(b.score)});
  if (std::abs(a.score - b.score) > 1e-9 * scale) return a.score > b.score;
  const double profit_scale = std::max({1.0, std::abs(a.profit_usd), std::abs(b.profit_usd)});
  if (std::abs(a.profit_usd - b.profit_usd) > 1e-9 * profit_scale) {
    return a.profit_usd > b.profit_usd;
  }
  return std::abs(a.action) < std::abs(b.action);
}

// Cost of producing `output_t` from `steps` at their (offered) costs when the producer price is
// `price` [USD]: at an equilibrium each sloped step is used up to where its cost reaches the price
// (all of it below, none above), and flat steps, the cheapest first, make the rest (a flat step at
// exactly the price may be used in part).
double production_cost_usd(std::vector<market::SupplyStep> steps, double output_t,
                           double price_usd_per_t) {
  double cost = 0.0;
  std::vector<market::SupplyStep> flat;
  for (const market::SupplyStep& step : steps) {
    if (step.cost_rise_usd_per_t <= 0.0) {
      flat.push_back(step);
      continue;
    }
    const double share = std::clamp(
        (price_usd_per_t - step.unit_cost_usd_per_t) / step.cost_rise_usd_per_t, 0.0, 1.0);
    const double used = std::min(share * step.capacity_t, std::max(0.0, output_t));
    cost += step.average_cost_usd_per_t(used) * used;
    output_t -= used;
  }
  std::sort(flat.begin(), flat.end(), [](const auto& a, const auto& b) {
    return a.unit_cost_usd_per_t < b.unit_cost_usd_per_t;
  });
  for (const market::SupplyStep& step : flat) {
    if (output_t <= 0.0) break;
    const double used = std::min(step.capacity_t, output_t);
    cost += step.unit_cost_usd_per_t * used;
    output_t -= used;
  }
  return cost;
}

class LeaderSearch {
 public:
  LeaderSearch(const Dataset& data, const market::CalibratedMarket& market,
               const ClearingScenario& scenario, const StrategicSupplierSpec& leader,
               std::size_t leader_region, double limit_price, market::SolverPath path)
      : data_(data),
        market_(market),
        scenario_(scenario),
        spec_(leader),
        leader_(leader_region),
        limit_price_(limit_price),
        path_(path) {}

  Result<StrategicChoice> run() {
    Result<Evaluation> passive = evaluate(0.0);
    CRITMIN_RETURN_IF_ERROR(passive);
    passive_profit_ = passive.value().profit_usd;
    passive_welfare_ = passive.value().welfare_usd;
    passive_share_ = passive.value().output_share;
    passive_exports_ = passive.value().exports_t;
    score(passive.value());
    Evaluation best = std::move(passive).value();
    Evaluation passive_copy = best;

    // The grid: 0 (done), cost cuts, export restrictions (only when it exports at all).
    std::vector<double> grid;
    const double max_cut = std::clamp(spec_.max_cost_cut_share, 0.0, 0.9);
    if (max_cut > 0.0) {
      for (int k = kCostCutGridPoints; k >= 1; --k) {
        grid.push_back(-max_cut * k / kCostCutGridPoints);
      }
    }
    grid.push_back(0.0);
    const bool exports = passive_exports_ > 1e-9 * std::max(1.0, world_output_t_);
    if (exports) {
      for (int k = 1; k <= kRestrictionGridPoints; ++k) {
        grid.push_back(static_cast<double>(k) / kRestrictionGridPoints);
      }
    }
    std::vector<Evaluation> evaluated;
    std::size_t best_index = 0;
    for (double action : grid) {
      if (action == 0.0) {
        evaluated.push_back(passive_copy);
      } else {
        Result<Evaluation> e = evaluate(action);
        CRITMIN_RETURN_IF_ERROR(e);
        score(e.value());
        evaluated.push_back(std::move(e).value());
      }
      if (better(evaluated.back(), evaluated[best_index], spec_.objective))
        best_index = evaluated.size() - 1;
    }
    best = evaluated[best_index];

    // Brent's search on the best grid point's neighbourhood: parabolas through the three best
    // points where the objective is smooth, golden-section steps where it is not.
    Bracket bracket = refine(evaluated, best_index, best);
    CRITMIN_RETURN_IF_ERROR(bracket.status);
    const double low = bracket.low, high = bracket.high;

    StrategicChoice choice;
    choice.action = best.action;
    choice.export_cap_share = best.action > 0.0 ? 1.0 - best.action : 1.0;
    choice.cost_cut_share = best.action < 0.0 ? -best.action : 0.0;
    choice.profit_usd = best.profit_usd;
    choice.passive_profit_usd = passive_profit_;
    choice.welfare_usd = best.welfare_usd;
    choice.passive_welfare_usd = passive_welfare_;
    choice.output_share = best.output_share;
    choice.passive_output_share = passive_share_;
    choice.exports_t = best.exports_t;
    choice.passive_exports_t = passive_exports_;
    choice.entrant_margin_usd_per_t = best.entrant_margin_usd_per_t;
    choice.limit_margin_usd_per_t =
        spec_.objective == LeaderObjective::kLimitPrice ? limit_price_ : 0.0;
    choice.deters = spec_.objective == LeaderObjective::kLimitPrice && best.feasible;
    choice.feasible = best.feasible;
    choice.clearings = clearings_;
    choice.action_bracket = std::max(0.0, high - low);
    choice.outcome = std::move(best.outcome);
    choice.market = std::move(best.market);
    return choice;
  }

 private:
  // The bracket left by refine(), and the first error of a clearing.
  struct Bracket {
    double low = 0.0;
    double high = 0.0;
    Status status;
  };

  // A number that is lower the better an evaluated action serves the objective, for the
  // parabolas only: the ranking itself is better(). Comparable only between actions of the same
  // feasibility.
  static double merit(const Evaluation& e) { return e.feasible ? -e.score : e.violation; }

  // Brent's method on the bracket between the best grid point's neighbours, until the bracket is
  // narrower than action_tolerance. Each step fits a parabola through the best point and the two
  // next best (the grid's neighbours at first) and clears at its vertex when the vertex falls well
  // inside the bracket and the step shrinks (half the step before last); otherwise it takes a
  // golden-section step into the larger side. Every evaluation that serves the objective better
  // replaces `best`. Parabolas need the three points alike in feasibility; a limit-pricing or a
  // market-share leader near its constraint falls back to golden steps.
  Bracket refine(const std::vector<Evaluation>& grid, std::size_t best_index, Evaluation& best) {
    constexpr double kGoldenStep = 1.0 - kGoldenShare;  // 0.381966...: into the larger side
    Bracket bracket;
    bracket.low = grid[best_index > 0 ? best_index - 1 : best_index].action;
    bracket.high = grid[std::min(best_index + 1, grid.size() - 1)].action;
    if (!(bracket.high > bracket.low)) return bracket;
    // x: the best point so far; w: the second best; v: the previous w.
    const Evaluation* x = &grid[best_index];
    const Evaluation* w = &grid[best_index > 0 ? best_index - 1 : best_index + 1];
    const Evaluation* v =
        &grid[best_index + 1 < grid.size() && best_index > 0 ? best_index + 1 : best_index];
    std::vector<std::unique_ptr<Evaluation>> kept;  // the points of this search x, w, v point to
    // A stop at a quarter of the tolerance on each side leaves the bracket under the tolerance.
    const double tol = 0.25 * spec_.action_tolerance;
    double step = 0.0;                                // d: the last step
    double step_before = bracket.high - bracket.low;  // e: the step before it
    // Brent's steps shrink the bracket at least as fast as golden section every other step; the
    // cap only guards against a bracket that rounding stops from shrinking.
    for (int steps = 0; bracket.high - bracket.low > spec_.action_tolerance && steps < 100;
         ++steps) {
      const double a = bracket.low, b = bracket.high, xa = x->action;
      const double middle = 0.5 * (a + b);
      bool parabolic = false;
      if (std::abs(step_before) > tol && x->feasible == w->feasible && x->feasible == v->feasible &&
          w != x && v != x && v != w) {
        const double r = (xa - w->action) * (merit(*x) - merit(*v));
        double q = (xa - v->action) * (merit(*x) - merit(*w));
        double p = (xa - v->action) * q - (xa - w->action) * r;
        q = 2.0 * (q - r);
        if (q > 0.0) p = -p;
        q = std::abs(q);
        if (q > 0.0 && std::abs(p) < std::abs(0.5 * q * step_before) && p > q * (a - xa) &&
            p < q * (b - xa)) {
          step_before = step;
          step = p / q;
          parabolic = true;
          // Not closer than tol to an end of the bracket.
          const double u = xa + step;
          if (u - a < 2.0 * tol || b - u < 2.0 * tol) step = middle >= xa ? tol : -tol;
        }
      }
      if (!parabolic) {
        step_before = xa >= middle ? a - xa : b - xa;
        step = kGoldenStep * step_before;
      }
      const double u = std::abs(step) >= tol ? xa + step : xa + (step >= 0.0 ? tol : -tol);
      Result<Evaluation> evaluated = evaluate_scored(std::clamp(u, a, b));
      if (!evaluated.is_ok()) {
        bracket.status = evaluated.status();
        return bracket;
      }
      kept.push_back(std::make_unique<Evaluation>(std::move(evaluated).value()));
      const Evaluation* at_u = kept.back().get();
      if (better(*at_u, best, spec_.objective)) best = *at_u;
      if (!better(*x, *at_u, spec_.objective)) {
        // u is the new best point: the bracket shrinks to x's side of it.
        (at_u->action >= xa ? bracket.low : bracket.high) = xa;
        v = w;
        w = x;
        x = at_u;
      } else {
        (at_u->action < xa ? bracket.low : bracket.high) = at_u->action;
        if (!better(*w, *at_u, spec_.objective) || w == x) {
          v = w;
          w = at_u;
        } else if (!better(*v, *at_u, spec_.objective) || v == x || v == w) {
          v = at_u;
        }
      }
    }
    return bracket;
  }

  Result<Evaluation> evaluate_scored(double action) {
    Result<Evaluation> e = evaluate(action);
    if (e.is_ok()) score(e.value());
    return e;
  }

  // Clears the market with the leader at `action`.
  Result<Evaluation> evaluate(double action) {
    market::CalibratedMarket copy = market_;
    market::MarketModel& model = copy.model;
    const double cost_factor = action < 0.0 ? 1.0 + action : 1.0;
    if (action < 0.0) {
      auto& steps = spec_.stage == Stage::kProcessing ? model.regions[leader_].processing
                                                      : model.regions[leader_].extraction;
      for (market::SupplyStep& step : steps) step.scale_costs(cost_factor);
    } else if (action > 0.0) {
      market::ExportRestriction cap;
      cap.name = fmt::format("strategic supplier {}", model.regions[leader_].name);
      cap.origin = leader_;
      cap.stage = spec_.stage;
      const double allowed_t = (1.0 - action) * passive_exports_;
      cap.kind = allowed_t > 0.0 ? market::RestrictionKind::kQuota : market::RestrictionKind::kBan;
      cap.quota_t = allowed_t;
      for (std::size_t r = 0; r < model.regions.size(); ++r) {
        if (r != leader_) cap.destinations.push_back(r);
      }
      model.restrictions.push_back(std::move(cap));
    }
    Result<ClubOutcome> cleared = clear_with_instruments(data_, copy, scenario_, path_);
    CRITMIN_RETURN_IF_ERROR(cleared);
    ++clearings_;
    Evaluation e;
    e.action = action;
    e.outcome = std::move(cleared).value();
    const market::Equilibrium& eq = e.outcome.equilibrium;
    if (eq.termination != market::Termination::kOptimal) {
      return Status::invalid_input(
          fmt::format("{}: the market has no equilibrium when {} acts at {:.4g} ({}): {}",
                      copy.model.material, copy.model.regions[leader_].name, action,
                      market::termination_name(eq.termination), eq.reason));
    }
    e.profit_usd = leader_profit_usd(copy.model, eq, leader_, spec_.stage, cost_factor);
    const market::RegionAccounts& home = eq.accounts[leader_];
    e.welfare_usd = e.profit_usd + home.consumer_surplus_usd + home.tariff_revenue_usd +
                    home.contract_value_usd + home.stock_surplus_usd;
    double world_t = 0.0;
    for (std::size_t r = 0; r < copy.model.regions.size(); ++r) {
      world_t += eq.node(r, spec_.stage).production_t;
    }
    if (action == 0.0) world_output_t_ = world_t;
    e.output_share = world_t > 0.0 ? eq.node(leader_, spec_.stage).production_t / world_t : 0.0;
    for (const market::FlowResult& f : eq.flows) {
      if (f.from == leader_ && f.stage == spec_.stage && !f.contracted) e.exports_t += f.quantity_t;
    }
    e.entrant_margin_usd_per_t = 0.0;
    for (std::size_t r = 0; r < copy.model.regions.size(); ++r) {
      if (r == leader_ || copy.model.regions[r].name == "ROW") continue;
      // What an entrant's own costs must be covered by: its margin with the club's payments.
      const Result<ProducerRevenue> margin =
          producer_revenue(copy.model, e.outcome, r, spec_.stage);
      CRITMIN_RETURN_IF_ERROR(margin);
      e.entrant_margin_usd_per_t =
          std::max(e.entrant_margin_usd_per_t, margin.value().revenue_usd_per_t);
    }
    e.market = std::move(copy);
    return e;
  }

  void score(Evaluation& e) const {
    switch (spec_.objective) {
      case LeaderObjective::kProfit:
        e.feasible = true;
        e.score = e.profit_usd;
        break;
      case LeaderObjective::kWelfare:
        e.feasible = true;
        e.score = e.welfare_usd;
        break;
      case LeaderObjective::kMarketShare: {
        const double floor = spec_.profit_floor_share * passive_profit_;
        const double slack = 1e-9 * std::max(1.0, std::abs(passive_profit_));
        e.feasible = e.profit_usd >= floor - slack;
        e.score = e.output_share;
        e.violation = floor - e.profit_usd;
        break;
      }
      case LeaderObjective::kLimitPrice:
        e.feasible = e.entrant_margin_usd_per_t <= limit_price_ * (1.0 + 1e-9);
        e.score = e.profit_usd;
        e.violation = e.entrant_margin_usd_per_t - limit_price_;
        break;
    }
  }

  const Dataset& data_;
  const market::CalibratedMarket& market_;
  const ClearingScenario& scenario_;
  const StrategicSupplierSpec& spec_;
  std::size_t leader_;
  double limit_price_;
  market::SolverPath path_;
  double passive_profit_ = 0.0;
  double passive_welfare_ = 0.0;
  double passive_share_ = 0.0;
  double passive_exports_ = 0.0;
  double world_output_t_ = 0.0;
  int clearings_ = 0;
};

}  // namespace

const char* leader_objective_name(LeaderObjective objective) {
  switch (objective) {
    case LeaderObjective::kProfit:
      return "profit";
    case LeaderObjective::kWelfare:
      return "welfare";
    case LeaderObjective::kMarketShare:
      return "market_share";
    case LeaderObjective::kLimitPrice:
      return "limit_price";
  }
  return "profit";
}

double leader_profit_usd(const market::MarketModel& model, const market::Equilibrium& eq,
                         std::size_t leader, Stage stage, double cost_factor) {
  double profit = eq.accounts[leader].producer_surplus_usd;
  if (cost_factor < 1.0 && cost_factor > 0.0) {
    // The surplus was counted at the offered cost; the true cost is offered / factor.
    const auto& steps = stage == Stage::kProcessing ? model.regions[leader].processing
                                                    : model.regions[leader].extraction;
    // What a tonne of the stage's output earns towards the step's cost: the producer price, less
    // the feed a refiner buys at the extraction price.
    const market::NodeResult& node = eq.node(leader, stage);
    double margin_price = node.producer_price_usd_per_t;
    if (stage == Stage::kProcessing) {
      margin_price -= eq.node(leader, Stage::kExtraction).price_usd_per_t / model.processing_yield;
    }
    const double offered = production_cost_usd(steps, node.production_t, margin_price);
    profit -= offered * (1.0 / cost_factor - 1.0);
  }
  const double origin_price = eq.node(leader, stage).producer_price_usd_per_t;
  for (const market::FlowResult& f : eq.flows) {
    if (f.from != leader || f.stage != stage || f.contracted || f.via_leakage) continue;
    const double rent = eq.node(f.to, stage).price_usd_per_t - f.unit_cost_usd_per_t - origin_price;
    profit += std::max(0.0, rent) * f.quantity_t;
  }
  return profit;
}

Result<StrategicChoice> clear_with_strategic_supplier(
    const Dataset& data, const market::CalibratedMarket& market, const ClearingScenario& scenario,
    const StrategicSupplierSpec& leader, double limit_margin_usd_per_t, market::SolverPath path) {
  const auto regions = market::resolve_market_regions(leader.origin, data, market.model);
  if (!regions || regions->size() != 1 || market.model.regions[*regions->begin()].name == "ROW") {
    return Status::invalid_input(
        fmt::format("{}: a strategic supplier must be one region of the {} market", scenario.file,
                    market.model.material),
        {{scenario.file, leader.line, "origin",
          fmt::format("'{}' is {} of the {} market; name a country or bloc that has a region of "
                      "its own (critmin clear --material {} lists them)",
                      leader.origin, regions ? "not exactly one region" : "no region",
                      market.model.material, market.model.material)}});
  }
  const std::size_t leader_region = *regions->begin();
  for (const market::RestrictionMeasure& m : scenario.trade.restrictions) {
    if (!m.material.empty() && m.material != market.model.material) continue;
    if (m.stage != leader.stage) continue;
    const auto origin = market::resolve_market_regions(m.origin, data, market.model);
    if (origin && origin->count(leader_region)) {
      return Status::invalid_input(
          fmt::format("{}: the strategic supplier's exports are also restricted", scenario.file),
          {{scenario.file, m.line, "origin",
            fmt::format("{} chooses its own exports of {} at the {} stage as the strategic "
                        "supplier (line {}); drop this restriction or the strategic supplier",
                        leader.origin, market.model.material, stage_name(leader.stage),
                        leader.line)}});
    }
  }
  if (leader.objective == LeaderObjective::kLimitPrice && !(limit_margin_usd_per_t > 0.0)) {
    return Status::invalid_input(
        fmt::format("{}: a limit-pricing supplier needs the entrants' break-even price",
                    scenario.file),
        {{scenario.file, leader.line, "objective",
          "no entrant's break-even price is known here; use objective = \"profit\" or "
          "\"market_share\" outside a simulation"}});
  }
  LeaderSearch search(data, market, scenario, leader, leader_region, limit_margin_usd_per_t, path);
  return search.run();
}

}  // namespace critmin::policy
