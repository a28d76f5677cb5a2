// A company's own exposure in a run (docs/scorecards.md, "A company's own exposure"): what the
// run's prices cost it against the base year, and how much of what it buys goes physically short,
// from its bill of materials (critmin/scenario/bom.h).
//
// Computed by run_prepared_simulation when the scenario carries a bill of materials, so
// `simulate`, `ensemble` (P5-P95 of the headline figures) and `compare` (the verdict) show the same
// figures for a run. Units: quantities [t/yr], prices [USD/t], money [USD/yr] (a spend in EUR is
// converted with the dataset's USD/EUR rate of the base year, data/fx_rates.csv).
#pragma once

#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/scenario/bom.h"
#include "critmin/world/dataset.h"

namespace critmin::sim {

struct SimulationResult;

// One row of the bill of materials in the run.
struct CompanyLineExposure {
  int line = 0;  // the row's line in the BOM file
  std::string material;
  std::string supply_country;  // as the BOM gives it; empty: none given
  // The market region whose price and physical shortage apply: supply_country where the
  // material's market has it as a region, else EU27 (the note says so).
  std::string region;
  double quantity_t_per_yr = 0.0;  // given, or spend / base price
  double spend_eur_per_yr = 0.0;   // given; 0 when the row gives a quantity
  double base_price_usd_per_t = 0.0;
  // Per simulated year, from result.first_year: quantity x (price - base price) [USD/yr], and
  // quantity x the region's physical shortage over its demand [t/yr].
  std::vector<double> cost_change_usd;
  std::vector<double> physical_shortage_t;
  double cost_change_mean_usd_per_yr = 0.0;
  double physical_shortage_mean_t_per_yr = 0.0;
  double physical_shortage_mean_usd_per_yr = 0.0;  // each tonne at the base price
};

// The company's exposure in one run: its rows, and their sums per year.
struct CompanyExposure {
  std::string bom_file;
  int first_year = 0;
  double usd_per_eur = 0.0;                // the base year's rate a spend is converted with
  std::vector<CompanyLineExposure> lines;  // the BOM rows of simulated materials, in file order
  // Per year, summed over the rows: cost change [USD/yr], physical shortage at base prices
  // [USD/yr].
  std::vector<double> cost_change_usd;
  std::vector<double> physical_shortage_usd;
  double cost_change_mean_usd_per_yr = 0.0;
  double cost_change_worst_usd_per_yr = 0.0;  // the year with the largest cost change
  int cost_change_worst_year = 0;
  double physical_shortage_mean_usd_per_yr = 0.0;
  double physical_shortage_worst_usd_per_yr = 0.0;
  int physical_shortage_worst_year = 0;  // 0 when there is none
  // Rows not counted (a material the scenario does not simulate) and rows priced at the EU's
  // market in place of their supply country.
  std::vector<std::string> notes;
};

// The company's exposure to a finished run's series (its processing prices, demand and physical
// shortage per region and year) and base prices. A region's price is the use-weighted price of its
// market nodes (region_prices_usd_per_t, the rule the Dutch card uses for the EU). A row of a
// material the run does not simulate is left out with a note. kInvalidInput when a simulated
// material of the BOM has no base price; kNotFound when a row gives a spend and the dataset has
// no USD/EUR rate for the base year or an earlier one.
Result<CompanyExposure> compute_company_exposure(const Dataset& data,
                                                 const SimulationResult& result,
                                                 const scenario::Bom& bom);

// The exposure as readable lines: per row and in total, the cost change (mean and worst year) and
// the physical shortage (t/yr and USD/yr), then the notes.
std::string company_to_table(const CompanyExposure& company);

}  // namespace critmin::sim
