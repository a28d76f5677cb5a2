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

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin::sim {

struct SimulationResult;
struct ShortfallScore;

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
// table, or of data/estimates/nl_end_use_mapping.csv where that table is silent): the Dutch use
// of the simulated materials (imports less re-exports), split over sectors, times the change of
// the EU price against the base year.
struct SectorCost {
  std::string nace_code;
  std::string nace_label;
  double material_inputs_usd = 0.0;   // the sector's Dutch use of the simulated materials
  double cost_change_mean_usd = 0.0;  // mean over the simulated years [USD per year]
  double cost_change_peak_usd = 0.0;  // the year with the largest change
  int peak_year = 0;
};

// One material's part of the Dutch import bill in the trade year [EUR].
struct MaterialBill {
  std::string material;
  double imports_eur = 0.0;       // gross imports (data/eu_imports.csv, declarant NLD)
  double re_export_share = 0.0;   // 0-1, data/nl_re_export_shares.csv
  double re_exports_eur = 0.0;    // imports_eur x re_export_share: re-exports and transit
  double domestic_use_eur = 0.0;  // the rest: used by Dutch businesses
  double unallocated_eur = 0.0;   // domestic use without a NACE division
};

// One part of the difference between the published total and the imports the trade data cover
// (data/nl_import_bill.csv). The covered imports and the lines sum exactly to the reference.
struct ReconciliationLine {
  std::string item;
  std::string kind;  // "line" (a sourced or estimated figure) or "residual" (the computed rest)
  int year = 0;
  double value_eur = 0.0;  // [EUR]; the residual may be negative when the lines overshoot
  bool is_estimate = true;
  std::string basis;
};

// The Dutch use of the bill that falls to one NACE division [EUR].
struct SectorUse {
  std::string nace_code;
  std::string nace_label;
  double domestic_use_eur = 0.0;
};

// Dutch use of a material that no NACE division could be given, with the reason [EUR].
struct UnallocatedInput {
  std::string material;
  double value_eur = 0.0;
  std::string reason;
};

// Value added at risk from a simulated material's physical shortage [USD/yr]: the Dutch use of
// the material that the shortage leaves unserved, times Dutch manufacturing's value added per
// euro of intermediate consumption (a lower bound under fixed input proportions;
// docs/scorecards.md).
struct ValueAddedAtRisk {
  std::string material;
  double domestic_use_usd = 0.0;  // the material's Dutch use in the trade year
  double mean_usd = 0.0;          // mean over the simulated years [USD per year]
  double worst_usd = 0.0;         // the year of the largest shortage share
  int worst_year = 0;             // 0 when there is no shortage
};

struct BusinessScorecard {
  // The whole Dutch import bill of critical materials in the trade year, every material the
  // trade data carry (not only the simulated ones) [EUR].
  double imports_eur = 0.0;            // what the trade data cover
  double imports_reference_eur = 0.0;  // the published total it is held against
  int imports_reference_year = 0;
  std::string imports_reference_source;            // the reference row's item and basis
  std::vector<ReconciliationLine> reconciliation;  // imports_eur + these = the reference
  double re_exports_eur = 0.0;
  double domestic_use_eur = 0.0;                     // imports_eur - re_exports_eur
  double unallocated_inputs_eur = 0.0;               // domestic use without a NACE division
  std::vector<MaterialBill> materials;               // largest imports first
  std::vector<SectorUse> use_by_sector;              // largest use first
  std::vector<UnallocatedInput> unallocated_inputs;  // largest first, each with its reason

  std::vector<SectorCost> sectors;      // largest mean change first
  double unallocated_inputs_usd = 0.0;  // unallocated_inputs_eur in USD
  double total_cost_change_mean_usd = 0.0;
  // Dutch manufacturing's intermediate consumption (CBS, NACE C) and the total change as a share
  // of it; 0 when the dataset has no CBS accounts.
  double manufacturing_intermediate_usd = 0.0;
  int manufacturing_accounts_year = 0;
  double share_of_manufacturing_inputs = 0.0;
  // Dutch manufacturing's gross value added per euro of intermediate consumption (CBS, NACE C);
  // 0 without CBS accounts.
  double value_added_per_intermediate = 0.0;
  std::vector<ValueAddedAtRisk> value_added_at_risk;  // per simulated material
  double value_added_at_risk_mean_usd = 0.0;          // their sum [USD per year]
  double fiscal_cost_usd = 0.0;                       // summed over the years
  double levy_revenue_usd = 0.0;                      // summed over the years
  // The Netherlands' GNI-based share of the EU budget (parameter nl_share_of_eu_budget) and its
  // share of the fiscal cost and of the levy revenue.
  double nl_share_of_eu_budget = 0.0;
  double nl_fiscal_cost_usd = 0.0;
  double nl_levy_revenue_usd = 0.0;
  double club_investment_usd = 0.0;  // capital cost of projects commissioned in the club
  int trade_year = 0;
  double usd_per_eur = 0.0;        // the rate of the trade year the imports are converted with
  std::vector<std::string> notes;  // materials without Dutch imports or end-use shares
};

// The share of a simulated material's Dutch use that shortage leaves unserved in a year, from one
// row of the result's shortfalls: the EU27 area's physical shortage over its demand (0-1). Demand
// priced out is not counted here: users give it up at the price, and the input-cost change
// prices it. The business scorecard reads the shortage through this one function only.
double business_shortage_share(const ShortfallScore& shortfall);

// A design's effect measured against the same world without its instruments: the same scenario,
// seed and random draws with no [[instrument]] (the club, its tariff-free trade and the trade
// measures stay). run_simulation runs that counterfactual for every scenario with instruments
// (docs/scorecards.md, "Attribution"). Differences are design minus counterfactual, except the
// shortage avoided (counterfactual minus design), so that a positive figure is a gain.
struct MaterialAttribution {
  std::string material;
  double physical_shortage_avoided_t = 0.0;  // the EU's, summed over the years
  double top_share_change_points = 0.0;      // largest third country at processing, last year
  // Processing capacity commissioned outside China during the run [t/yr] (projects of the
  // scenario, the CRMA list and the investment rule).
  double non_chinese_capacity_added_t = 0.0;
  double fiscal_cost_usd = 0.0;  // of the instruments on this material, over the run
  // fiscal_cost_usd / non_chinese_capacity_added_t when capacity was added [USD per t/yr].
  std::optional<double> cost_per_t_capacity_usd;
};

struct Attribution {
  std::string counterfactual;             // what the design is measured against, in words
  double investment_attracted_usd = 0.0;  // capital cost of projects in the club's regions
  double fiscal_cost_usd = 0.0;
  double physical_shortage_avoided_usd = 0.0;  // the EU's, each tonne at its base price
  double top_share_change_points = 0.0;        // mean over the materials
  // fiscal_cost_usd per point of the mean largest share removed, when more than 0.01 points
  // were removed [USD per point].
  std::optional<double> cost_per_point_usd;
  std::vector<MaterialAttribution> materials;
};

// The use-weighted processing price [USD/t] of each (material, year) over the market nodes of
// `region` (its open node and its certified twin: "EU27" and "EU27/certified"), each weighted by
// its consumption (a node that consumes nothing by 1e-12, so a year nobody consumes gives the
// plain mean): the price the region's users pay on average. A year in which the material's market
// has no node of the region is absent. The Dutch card's EU price and a company's price
// (critmin/sim/company.h) are both this.
std::map<std::pair<std::string, int>, double> region_prices_usd_per_t(
    const SimulationResult& result, std::string_view region);

struct Scorecards {
  SupplySecurityScorecard security;
  BusinessScorecard business;
  std::optional<Attribution> attribution;  // when the scenario has instruments
};

// The fiscal cost of a run's instruments on one material over the run [USD], summed from its
// payment rows with the same figures and signs as FiscalScore (kFiscalCostFigures).
double material_fiscal_cost_usd(const SimulationResult& result, const std::string& material);

// `design` against `counterfactual`: the same scenario and seed without its instruments, with
// its scorecards computed. Both must simulate the same materials and years.
Attribution attribute(const SimulationResult& design, const SimulationResult& counterfactual);

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
