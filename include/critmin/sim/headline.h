// Headline figures of a simulation run: the few numbers per material (and for the whole run) that
// an ensemble reports as P5/P50/P95 and keeps run by run (critmin/sim/ensemble.h). Each figure has
// a name and a unit; docs/simulation.md ("Ensembles") defines every one.
#pragma once

#include <string>
#include <vector>

#include "critmin/sim/simulation.h"

namespace critmin::sim {

struct HeadlineFigure {
  std::string name;  // "<material>.<figure>" per material, "<figure>" for the whole run
  std::string unit;  // "USD/t", "USD", "share", "years", "t", "count"
  double value = 0.0;
};

// The headline figures of one run, in a fixed order: per material in the order of
// result.materials, then the run's totals. Which figures there are depends only on the scenario
// (its materials and their markets' regions), never on the random draws, so every run of an
// ensemble gives the same names in the same order.
//
// Per material M:
//   M.world_price_mean        [USD/t]  mean over the years of the world processing price, the
//                                      consumption-weighted mean price over the market's regions
//                                      (the unweighted mean in a year nobody consumes)
//   M.world_price_max         [USD/t]  its highest year
//   M.eu_shortfall_share_max  [share]  the EU's shortfall as a share of its demand in the worst
//                                      year (0-1); only when the market has the EU as a region
//   M.eu_shortfall_t_total    [t]      the EU's shortfall summed over the years; likewise
//   M.eu_physical_shortage_share_max [share]  the EU's physical shortage (essential use unserved
//                                      at its value of lost use) as a share of its demand in the
//                                      worst year; likewise
//   M.eu_physical_shortage_t_total [t] the EU's physical shortage summed over the years; likewise
//   M.eu_priced_out_t_total   [t]      the EU's demand priced out summed over the years; likewise
//   M.crma_breach_years       [years]  years in which the largest third country's share of the
//                                      processing stage is above the CRMA benchmark (65%)
//   M.top_third_country_share_last [share] the largest third country's share of the processing
//                                      stage in the last year (0-1)
// For the run:
//   eu_physical_shortage_usd_total [USD] the EU's physical shortage summed over the years and
//                                      materials, each tonne valued at its material's base price
//                                      (0 for a material whose market has no EU region)
//   eu_physical_shortage_share_worst [share] the largest M.eu_physical_shortage_share_max
//   top_third_country_share_mean_last [share] the mean over the materials of
//                                      M.top_third_country_share_last
//   dutch_cost_change_usd_per_yr [USD/yr] the Dutch businesses' input-cost change, mean over the
//                                      years (critmin/sim/scorecard.h total_cost_change_mean_usd)
//   fiscal_cost_usd_total     [USD]    the instruments' fiscal cost summed over the years
//   levy_revenue_usd_total    [USD]    the price floors' levy revenue summed over the years
//   disruptions_happened      [count]  how many of the scenario's disruptions were drawn to happen
// With a company's bill of materials (result.company, critmin/sim/company.h), after these: per
// material of the bill that the run simulates, in the run's material order,
//   M.company_cost_change_usd_per_yr [USD/yr] the company's cost change for M (its rows summed),
//                                      mean over the years
//   M.company_physical_shortage_t_per_yr [t/yr] what the company buys of M that goes physically
//                                      short, mean over the years
// and for the run
//   company_cost_change_usd_per_yr [USD/yr] the company's cost change, mean over the years
//   company_cost_change_usd_worst_year [USD/yr] its largest yearly cost change
//   company_physical_shortage_usd_per_yr [USD/yr] its physically short purchases, each tonne at
//                                      its material's base price, mean over the years
//   company_physical_shortage_usd_worst_year [USD/yr] their largest year
std::vector<HeadlineFigure> headline_figures(const SimulationResult& result);

// A yearly path of a run that an ensemble reports as a P5/P50/P95 band per year.
struct YearlyPath {
  std::string name;            // "<material>.<quantity>"
  std::string unit;            // "USD/t", "t/yr", "share"
  std::vector<double> values;  // one per simulated year, from result.first_year
};

// The yearly paths of one run, in a fixed order (per material in the order of result.materials)
// that depends only on the scenario:
//   M.world_price              [USD/t]  the world processing price of the year, as in
//                                       M.world_price_mean
//   M.eu_shortfall             [t/yr]   the EU's shortfall of the year; only when the market has
//                                       the EU as a region
//   M.eu_physical_shortage     [t/yr]   the EU's physical shortage of the year; likewise
//   M.top_third_country_share  [share]  the largest third country's share of the processing stage
//                                       (0-1)
std::vector<YearlyPath> yearly_paths(const SimulationResult& result);

}  // namespace critmin::sim
