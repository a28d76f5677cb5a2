// A strategic dominant supplier: one region of a material's market (a country, or a
// state-coordinated group the market holds as one region) that chooses, each year, how much of
// its output at one stage it lets out of the country, anticipating how the competitive fringe
// (every other region's producers) and the club's instruments respond. It moves first
// (Stackelberg leadership); the fringe and the buyers take the resulting prices. docs/
// strategic-supplier.md gives the theory, its sources and the worked closed-form case.
//
// The leader's one decision, the action a in [-max_cost_cut_share, 1]:
//   a > 0  it restricts exports: its market exports at the stage are capped at (1 - a) times what
//          it exports passively (a = 1 is an export ban). Its own buyers keep buying at home.
//   a = 0  passive: it sells at marginal cost like every other producer.
//   a < 0  it sells below cost: every supply step of the stage is offered at (1 + a) times its
//          cost (the scripted price_cut disruption, now chosen). Its profit is counted at the
//          true cost.
// Its profit is the producer surplus of the region (both stages, at true cost) plus the export
// rent a restriction creates: on each direct market export at the stage, the destination's price
// less the route's cost and the leader's own producer price.
//
// Objectives:
//   kProfit       the largest profit of its producers.
//   kWelfare      the largest welfare of the region: its producers' profit and export rents, its
//                 own buyers' surplus and its tariff revenue. An export restriction lowers the
//                 price at home, which its producers lose and its buyers (the downstream industry)
//                 gain: the classic optimal export tax of a large exporter.
//   kMarketShare  the largest share of the world's output at the stage while keeping at least
//                 profit_floor_share of the passive profit (a leader buying market share).
//   kLimitPrice   deterring entry: the largest profit among the actions that keep every other
//                 region's (ROW aside) margin at the stage at or below limit_margin_usd_per_t: its
//                 producer price, less the feed's price for a refiner. The limit is the margin at
//                 which an entrant's project just breaks even (the caller computes it from the
//                 entrants' costs and hurdle rate). What the club's instruments pay a region's
//                 producers (a floor's top-up, a CfD's gap) counts in its margin: a floor the
//                 leader cannot undercut. When no action deters, the leader accommodates the
//                 entry: it takes the most profitable action (and says it does not deter).
//
// The search: the objective is evaluated on a grid of actions that holds 0 (passive), then the
// best grid point's neighbourhood is narrowed by Brent's method (parabolic steps where the
// objective is smooth, golden-section steps where it is not) until it is narrower than
// action_tolerance. The chosen action is the best of every point evaluated, so the leader never
// does worse against its objective than passive (or, for the constrained objectives, than the
// best feasible point found). Each evaluation is one clearing with the club's instruments.
#pragma once

#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/market/calibration.h"
#include "critmin/market/market.h"
#include "critmin/policy/club.h"
#include "critmin/world/dataset.h"

namespace critmin::policy {

enum class LeaderObjective { kProfit, kWelfare, kMarketShare, kLimitPrice };
const char* leader_objective_name(LeaderObjective objective);  // "profit" | "market_share" | ...

// A [[strategic_supplier]] of a scenario.
struct StrategicSupplierSpec {
  int line = 0;          // of its table, for messages
  std::string material;  // material id
  std::string origin;    // a region, ISO3 code or bloc that names one region of the market
  Stage stage = Stage::kProcessing;
  LeaderObjective objective = LeaderObjective::kProfit;
  // kMarketShare: the share of its passive profit it keeps at least, in [0, 1].
  double profit_floor_share = 0.8;
  // The deepest cut below its supply cost it may choose, in [0, 0.9] (0: it never sells below
  // cost).
  double max_cost_cut_share = 0.5;
  // kLimitPrice: how many years ahead the entrants the leader deters look (their break-even price
  // is computed over this horizon by the simulation); also stated in the outputs.
  int horizon_years = 10;
  // The years it acts in (a simulation); 0: every simulated year.
  int first_year = 0;
  int last_year = 0;
  // The search's resolution in the action [-]: the chosen action is within this of the best
  // action on the bracket the grid found.
  double action_tolerance = 0.005;
};

// What the leader chose and what it made: the figures a simulation keeps for each year.
struct StrategicFigures {
  double action = 0.0;               // a, see the top of this file
  double export_cap_share = 1.0;     // its exports as a share of passive ones allowed (1 - a, a>0)
  double cost_cut_share = 0.0;       // -a for a < 0
  double profit_usd = 0.0;           // [USD/yr] at the chosen action, true cost
  double passive_profit_usd = 0.0;   // [USD/yr] at a = 0
  double welfare_usd = 0.0;          // [USD/yr] the region's welfare (kWelfare), chosen
  double passive_welfare_usd = 0.0;  // [USD/yr] at a = 0
  double output_share = 0.0;         // of the world's output at the stage, chosen
  double passive_output_share = 0.0;
  double exports_t = 0.0;                 // [t/yr] market exports at the stage, chosen
  double passive_exports_t = 0.0;         // [t/yr]
  double entrant_margin_usd_per_t = 0.0;  // highest margin of the other regions, chosen
  double limit_margin_usd_per_t = 0.0;    // kLimitPrice: the entrants' break-even margin
  bool deters = false;                    // kLimitPrice: the chosen action keeps entrants out
  int clearings = 0;                      // market clearings the search made
};

// The choice with the market it leaves.
struct StrategicChoice : StrategicFigures {
  bool feasible = true;         // the constraint of kMarketShare or kLimitPrice holds at the choice
  double action_bracket = 0.0;  // width of the last bracket of the search [-]
  ClubOutcome outcome;          // the market at the chosen action
  market::CalibratedMarket market;  // the model it was cleared on (action and instruments applied)
};

// The leader's profit in an equilibrium of `model` (the model as cleared, with any cost cut
// applied) when its supply steps at `stage` were offered at `cost_factor` times their true cost
// [USD/yr]: see the top of this file.
double leader_profit_usd(const market::MarketModel& model, const market::Equilibrium& eq,
                         std::size_t leader, Stage stage, double cost_factor);

// Clears `market` under `scenario` with the leader choosing its action. kInvalidInput
// (file:line:origin) when the origin names no single region of the market; kInvalidInput when the
// scenario already restricts the leader's exports at the stage (its quota is then not its
// choice). `limit_margin_usd_per_t` is read only for kLimitPrice.
Result<StrategicChoice> clear_with_strategic_supplier(
    const Dataset& data, const market::CalibratedMarket& market, const ClearingScenario& scenario,
    const StrategicSupplierSpec& leader, double limit_margin_usd_per_t = 0.0,
    market::SolverPath path = market::SolverPath::kNetwork);

}  // namespace critmin::policy
