// Can a club instrument make one project outside the dominant supplier investable? (`critmin
// investability`, docs/investability.md)
//
// One candidate project (material, country, stage, capacity; capital and unit cost from the
// scenario or the project estimates) is added to the scenario and appraised over an ensemble of
// runs whose demand is uncertain ([uncertainty], or the documented demand_growth_sd and
// demand_noise_sd estimates when the scenario has none), in four cases: the scenario's
// instruments or none, facing a passive or a strategic dominant supplier. In each run the project
// earns, every year it is online, max(0, margin - unit cost) x capacity, where the margin is what
// a tonne of the stage earns in its region that year (critmin/sim/simulation.h RevenueRow: the
// producer price, plus the instruments' payments, less the feed): it idles when the margin does
// not cover its cost. After the last simulated year the last margin holds to the end of its life.
// Its NPV discounts these at the hurdle rate (the contracted rate when an instrument fixes part
// of its revenue) and subtracts the capital spent in the first simulated year.
//
// It is investable when its expected NPV is positive and its probability of loss (NPV < 0) is at
// most the investment_max_loss_probability estimate. The investable floor is the lowest price
// floor, paid as a top-up on the project's own producer price, at which it becomes investable on
// the paths of the strategic case without instruments (the project taken as a price taker: the
// floor's feedback on the market is not in this one figure; the "all" cases have it for the
// scenario's own instruments).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/sim/simulation.h"
#include "critmin/world/dataset.h"

namespace critmin::sim {

struct CandidateProject {
  std::string material;  // material id
  std::string country;   // ISO3 of the country it is built in
  Stage stage = Stage::kProcessing;
  double capacity_t = 0.0;                    // [t/yr] > 0
  std::optional<double> capex_usd;            // default: the project_capex_multiple estimate
  std::optional<double> unit_cost_usd_per_t;  // default: the project_unit_cost estimate
  std::optional<int> online_year;             // default: first year + the stage's lead time
};

struct InvestabilityOptions {
  std::size_t runs = 200;  // >= 1
  std::uint64_t seed = 0;  // the ensemble seed (run i uses ensemble_run_seed(seed, i))
  int threads = 1;         // >= 1; the result does not depend on it
  // The strategic supplier of the "strategic" cases: the scenario's for the material and stage
  // when it has one, else this origin with a limit-pricing objective.
  std::string leader = "CHN";
};

// InvestabilityCase (one case of an appraisal) is in critmin/sim/simulation.h, where a
// simulation's [[appraisal]] rows hold it.

struct InvestabilityResult {
  std::string scenario_name;
  CandidateProject project;  // with every default resolved
  std::string region;        // the market region the project sits in
  int first_year = 0;
  int last_year = 0;
  int lifetime_years = 0;
  double capex_usd = 0.0;
  double unit_cost_usd_per_t = 0.0;
  int online_year = 0;
  double demand_growth_sd = 0.0;  // the uncertainty the runs drew
  double demand_noise_sd = 0.0;
  double max_loss_probability = 0.0;
  std::size_t runs = 0;
  std::string leader;  // the strategic cases' supplier and objective, e.g. "CHN (limit_price)"
  std::vector<InvestabilityCase> cases;  // passive/none, passive/all, strategic/none, strategic/all
  // The lowest top-up floor at which the project is investable (see the top of this file);
  // nullopt when even 20 x the base price does not make it so.
  std::optional<double> investable_floor_usd_per_t;
  std::vector<std::string> notes;
};

// Appraises the project. kInvalidInput for a project the market cannot place (an unknown
// material or country, a capacity <= 0) or options out of range; errors of the runs as
// simulate's.
Result<InvestabilityResult> appraise_investability(const Dataset& data,
                                                   const SimulationScenario& scenario,
                                                   const CandidateProject& project,
                                                   const InvestabilityOptions& options);

// Appraises every [[appraisal]] project of `scenario` as appraise_investability does, with the
// table's runs, the scenario's seed and `threads`, and appends its four cases to
// result.appraisals: what `critmin simulate` and the dashboard report beside the run. Errors as
// appraise_investability's, prefixed with the table's file:line.
Status add_scenario_appraisals(const Dataset& data, const SimulationScenario& scenario, int threads,
                               SimulationResult& result);

std::string investability_to_json(const InvestabilityResult& result);
std::string investability_to_table(const InvestabilityResult& result);

}  // namespace critmin::sim
