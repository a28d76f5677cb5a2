// The two scorecards of a simulation (docs/scorecards.md): does the design strengthen supply
// security, and what does it cost Dutch businesses and the treasury?
//
// Both are computed by run_simulation at the end of a run (critmin/sim/simulation.h), from its
// result and the dataset, so `simulate`, `ensemble` and `compare` show the same figures for a run.
//
// Units: quantities [t] or [t/yr] of contained content, shares 0-1, money [USD]. The Dutch import
// and CBS figures, kept in EUR by their sources, are converted with the dataset's USD/EUR rate of
// their year (data/fx_rates.csv).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin::sim {

struct SimulationResult;

// Concentration of one stage of one material over the simulated years, and the EU's own output
// at that stage against the CRMA benchmark (10% of EU use for extraction, 40% for processing).
struct StageSecurity {
  std::string material;
  Stage stage = Stage::kProcessing;
  std::string top_third_country;        // in the last simulated year
  double top_share_last = 0.0;          // its share of world output then, 0-1
  double top_share_max = 0.0;           // the largest such share in any year
  int years_in_breach = 0;              // years above the 65% single-country limit
  double hhi_last = 0.0;                // 0-10000, last year
  double eu_output_share_of_use = 0.0;  // EU27 output / EU27 use, last year
  double crma_benchmark = 0.0;          // 0.10 (extraction) or 0.40 (processing)
};

// Shortfall and stock cover of one area (EU27, NLD, club) for one material. The shortfall is
// physical shortage (essential use no buyer could get at its value of lost use) plus demand priced
// out (use buyers gave up at the price); the two are reported apart because they call for
// different answers: the first is what supply security is about, the second is a cost.
struct AreaSecurity {
  std::string material;
  std::string area;
  double demand_t = 0.0;                // summed over the years
  double shortfall_t = 0.0;             // summed over the years
  double worst_shortfall_share = 0.0;   // largest yearly shortfall / demand, 0-1
  int worst_year = 0;                   // the year of it (0 when there is no shortfall)
  double physical_shortage_t = 0.0;     // summed over the years
  double priced_out_t = 0.0;            // summed over the years
  double worst_physical_share = 0.0;    // largest yearly physical shortage / demand, 0-1
  int worst_physical_year = 0;          // the year of it (0 when there is none)
  double worst_priced_out_share = 0.0;  // largest yearly demand priced out / demand, 0-1
  // Stock held in the area at the end of the last year, in days of that year's demand: the
  // scenario's stockpiles plus the market's own stocks (commercial inventories and state reserves
  // the simulation carries). nullopt when the area holds no stock of the material at all.
  std::optional<double> days_of_cover;
};

// The EU's recycling of a material against the CRMA's 25% benchmark: the end-of-life recycling
// input rate of the data; nullopt when the data carries only an estimate.
struct RecyclingSecurity {
  std::string material;
  std::optional<double> eol_recycling_input_rate;
  double crma_benchmark = 0.0;  // 0.25
};

struct SupplySecurityScorecard {
  std::vector<StageSecurity> stages;
  std::vector<AreaSecurity> areas;
  std::vector<RecyclingSecurity> recycling;
};

// Input-cost change of one Dutch using sector (NACE Rev. 2 division of the EU CRM study's end-use
// table): the Netherlands' imports of the simulated materials, split over sectors by the EU
// end-use shares, times the change of the EU price against the base year.
struct SectorCost {
  std::string nace_code;
  std::string nace_label;
  double material_inputs_usd = 0.0;   // the sector's share of Dutch imports in the trade year
  double cost_change_mean_usd = 0.0;  // mean over the simulated years [USD per year]
  double cost_change_peak_usd = 0.0;  // the year with the largest change
  int peak_year = 0;
};

struct BusinessScorecard {
  std::vector<SectorCost> sectors;      // largest mean change first
  double unallocated_inputs_usd = 0.0;  // imports of uses without a NACE code in the data
  double total_cost_change_mean_usd = 0.0;
  // Dutch manufacturing's intermediate consumption (CBS, NACE C) and the total change as a share
  // of it; 0 when the dataset has no CBS accounts.
  double manufacturing_intermediate_usd = 0.0;
  int manufacturing_accounts_year = 0;
  double share_of_manufacturing_inputs = 0.0;
  double fiscal_cost_usd = 0.0;      // summed over the years
  double levy_revenue_usd = 0.0;     // summed over the years
  double club_investment_usd = 0.0;  // capital cost of projects commissioned in the club
  int trade_year = 0;
  double usd_per_eur = 0.0;        // the rate of the trade year the imports are converted with
  std::vector<std::string> notes;  // materials without Dutch imports or end-use shares
};

struct Scorecards {
  SupplySecurityScorecard security;
  BusinessScorecard business;
};

// One line of a scorecard as people read it: `compare` matches lines of two designs by key.
struct ScoreLine {
  std::string card;   // "supply security" or "Dutch businesses"
  std::string key;    // stable id, e.g. "gallium/processing/top_share_last"
  std::string label;  // e.g. "gallium processing: largest third country's share, last year"
  std::string unit;   // e.g. "%", "t", "days", "USD/yr", "USD"
  std::optional<double> value;  // nullopt: no data (the text says why)
  std::string text;             // e.g. the country, "no stockpile", "no data"
};

// The scorecards as lines, security first, in a fixed order (materials in the run's order).
std::vector<ScoreLine> scorecard_lines(const Scorecards& cards);

// A line's value as printed (4 significant digits), or "n/a".
std::string format_score_value(const ScoreLine& line);

// Both scorecards as a readable table.
std::string scorecards_to_table(const Scorecards& cards);

// Computes both scorecards from a result's series, scores, payments and projects. kInvalidInput
// when the result lacks a base price for a material it simulated; kNotFound when the dataset has
// no USD/EUR rate for the trade year or an earlier one.
Result<Scorecards> compute_scorecards(const Dataset& data, const SimulationResult& result);

}  // namespace critmin::sim
