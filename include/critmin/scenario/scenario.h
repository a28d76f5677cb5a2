// One typed model of a scenario file, read once by one reader and used by every command
// (`clear`, `simulate`, `ensemble`, `compare`, `backtest`) and the dashboard alike.
//
// A scenario file is TOML; its tables and keys, with their types, units, defaults and ranges, are
// the scenario schema (data/scenario/keys.csv, compiled into the binary), printed by
// `critmin scenario reference` and in docs/scenario-reference.md:
//
//   [scenario]            name, description; years, seed, base_year, materials (simulate)
//   [club]                members and a common external tariff
//   [[instrument]]        the club's instruments (critmin/policy/instrument_spec.h)
//   [[tariff]]            trade measures in force every year (critmin/market/trade_measures.h)
//   [[export_restriction]]
//   [demand_growth]       simulate: yearly demand growth per material
//   [[disruption]]        simulate: export bans, quotas and price cuts with a probability
//   [[project]]           simulate: projects added to (or removed from) the pipeline
//   [[strategic_supplier]]  simulate: a dominant supplier choosing its exports each year
//   [uncertainty]         simulate: demand growth and yearly demand drawn per run
//   [[appraisal]]         simulate: candidate projects appraised as critmin investability does
//   [episode], [[observed]]  backtest: a historical episode and what was observed
//
// Nothing below this layer sees TOML: the reader checks every key (file:line:key with a fix) and
// hands the commands typed specs. What depends on a market (a region it does not have) is
// checked where the spec is applied.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/metrics/assess.h"
#include "critmin/policy/club.h"
#include "critmin/policy/strategic_supplier.h"
#include "critmin/scenario/bom.h"
#include "critmin/world/dataset.h"

namespace critmin::scenario {

// kPriceCut: a dominant supplier's response to entry: it offers its output at the stage
// `quota_share` below its supply cost while in force (deterring new projects elsewhere).
// kOutputCut: the origin loses `quota_share` of its capacity at the stage while in force (a power
// rationing, a mine stopped, an accident); it still trades what it makes.
enum class DisruptionKind { kExportBan, kQuota, kPriceCut, kOutputCut };

// A [[disruption]]: a measure that may happen, drawn once per run with its probability.
struct Disruption {
  int line = 0;
  std::string material;  // material id
  std::string origin;
  Stage stage = Stage::kProcessing;
  DisruptionKind kind = DisruptionKind::kExportBan;
  // kQuota: share of base-year exports allowed; kPriceCut: cost cut; kOutputCut: capacity lost
  double quota_share = 0.0;
  std::vector<std::string> destinations;
  int start_year = 0;
  int years = 1;
  double probability = 1.0;  // [0,1]
  bool leakage = false;
  double leakage_cost_usd_per_t = 0.0;
};

// Demand above (share > 0) or below the base path in some years ([[demand_shock]]): a boom in
// battery demand, a recession. Multiplies the demand of the named regions by 1 + share.
struct DemandShock {
  int line = 0;
  std::string material;  // id
  std::string region;    // a region, ISO3 code or bloc of the material's market, or "all"
  double share = 0.0;    // (-1, 10]
  int start_year = 0;
  int years = 1;
};

// A project of the pipeline as the scenario writes it ([[project]]).
struct ProjectSpec {
  int line = 0;
  std::string name;
  std::string material;  // material id
  std::string country;   // ISO3
  Stage stage = Stage::kProcessing;
  double capacity_t = 0.0;  // [t/yr]
  int online_year = 0;
  std::optional<double> unit_cost_usd_per_t;
  std::optional<double> capex_usd;  // capital cost; default: the project_capex_multiple estimate
  bool enabled = true;
};

// What varies between the runs of a simulation besides the disruptions' draws ([uncertainty]):
// each run draws every material's yearly demand growth once, rate + growth_sd x N(0,1), and every
// year a demand factor exp(noise_sd x N(0,1) - noise_sd^2 / 2) (mean 1) that scales all its
// regions' demand. Both 0 (the default): demand follows its central path.
struct DemandUncertainty {
  int line = 0;
  double demand_growth_sd = 0.0;  // [share per year]
  double demand_noise_sd = 0.0;   // [share]
  bool any() const { return demand_growth_sd > 0.0 || demand_noise_sd > 0.0; }
};

// A candidate project that `critmin simulate` appraises beside its run ([[appraisal]]), with the
// method of `critmin investability` (critmin/sim/investability.h): over `runs` runs with uncertain
// demand, with the scenario's instruments and without them, facing a passive and a strategic
// supplier. Defaults as there.
struct AppraisalSpec {
  int line = 0;
  std::string material;  // material id
  std::string country;   // ISO3
  Stage stage = Stage::kProcessing;
  double capacity_t = 0.0;  // [t/yr] > 0
  std::optional<double> capex_usd;
  std::optional<double> unit_cost_usd_per_t;
  std::optional<int> online_year;
  std::size_t runs = 40;
};

// A scenario: what every command reads from the file. For a simulation (Purpose::kSimulate and
// kBacktest) the years, the seed and the materials are always set.
struct ScenarioSpec {
  std::string file;
  std::string name;
  std::string description;
  int first_year = 0;
  int last_year = 0;
  int base_year = 0;  // the data year the markets are calibrated on
  std::uint64_t seed = 0;
  std::vector<std::string> materials;           // material ids, in the order simulated
  std::map<std::string, double> demand_growth;  // material id -> yearly rate, from the scenario
  std::vector<Disruption> disruptions;
  std::vector<DemandShock> demand_shocks;
  std::vector<ProjectSpec> projects;
  // Dominant suppliers that choose their exports each year (at most one per material and stage).
  std::vector<policy::StrategicSupplierSpec> strategic_suppliers;
  DemandUncertainty uncertainty;
  std::vector<AppraisalSpec> appraisals;  // simulate only: read by sim::appraise_scenario_projects
  policy::ClearingScenario clearing;  // club, instruments and trade measures in force every year
  // A company's bill of materials whose exposure each run also reports (`--bom FILE`; never read
  // from the TOML): it changes no figure of the run, only adds the company's.
  std::optional<Bom> bom;
};

enum class ObservedFigure { kPrice, kExports };

// One observed outcome of a historical episode ([[observed]]).
struct Observation {
  int line = 0;
  ObservedFigure figure = ObservedFigure::kPrice;
  std::string region;
  Stage stage = Stage::kProcessing;
  double before = 0.0;
  double after = 0.0;
  std::string unit;
  std::string when;
  std::string source;

  double observed_change() const { return after / before - 1.0; }
};

// A historical episode: a simulation scenario that reproduces a measure, with what was observed.
struct Episode {
  std::string name;  // the file's stem
  std::string title;
  int year = 0;           // the simulated year the observations are compared in
  ScenarioSpec scenario;  // with the measure
  std::vector<Observation> observed;
};

// How far a simulation may project past its base year: its years lie in [base_year, base_year +
// kProjectionHorizonYears]. The markets are calibrated on one data year (its capacities, costs and
// elasticities) and demand growth compounds from it; four decades covers every policy horizon the
// sources discuss (the EU Critical Raw Materials Act and the IEA outlooks reach 2050, 27 years from
// 2023) with room to spare, and past it the calibration says nothing about the markets.
inline constexpr int kProjectionHorizonYears = 40;

// What the caller will do with a scenario, which decides the tables it may have and requires:
//   kClear     [scenario] (name, description, years, seed), [club], [[instrument]], [[tariff]],
//              [[export_restriction]];
//   kSimulate  and [demand_growth], [[disruption]], [[project]]; [scenario] needs years and seed;
//   kBacktest  and [episode], [[observed]].
enum class Purpose { kClear, kSimulate, kBacktest };

// Reads a scenario once. Every top-level table, every key of every table, every type and every
// impossible value is reported at file:line:key with a fix, all problems at once (kInvalidInput).
// For a simulation `base_year` defaults to the latest year with production data and must be a year
// of the data (production, annual or monthly prices); the simulated years must lie within the
// projection horizon from it (kProjectionHorizonYears). `materials` defaults to every material the
// scenario names, in the order it names them.
Result<ScenarioSpec> read_scenario(std::string_view toml_text, const std::string& file_name,
                                   const Dataset& data, Purpose purpose);

// read_scenario(kClear) for clearing one market in `year`; a contract not in force in that year is
// an error at its tenor (year 0 skips that check).
Result<policy::ClearingScenario> read_clearing_scenario(std::string_view toml_text,
                                                        const std::string& file_name,
                                                        const Dataset& data, int year);

// read_scenario(kSimulate).
Result<ScenarioSpec> read_simulation_scenario(std::string_view toml_text,
                                              const std::string& file_name, const Dataset& data);

// Reads a back-test episode file (data/episodes/NAME.toml): read_scenario(kBacktest) and its
// [episode] and [[observed]] tables. An observation's region must be a region of its material's
// market (checked by the back-test); `year` must be a simulated year.
Result<Episode> read_episode(std::string_view toml_text, const std::string& file_name,
                             const Dataset& data);

// Only the trade measures of a file ([[tariff]], [[export_restriction]]); other tables are left
// alone.
Result<market::TradeMeasures> read_trade_measures(std::string_view toml_text,
                                                  const std::string& file_name,
                                                  const Dataset& data);

// Reads an assess assumptions file: [supply_risk.MATERIAL] tables with eol_rir,
// substitution_index and basis (the same schema as scenarios). A material given twice under
// different names is an error at every later table.
Result<std::map<std::string, SupplyRiskOverride>> read_assumptions(std::string_view toml_text,
                                                                   const std::string& file_name,
                                                                   const Dataset& data);

// The scenario schema as Markdown: every table and key with its type, unit, default, range,
// whether it is required and what it means (`critmin scenario reference`,
// docs/scenario-reference.md).
std::string scenario_reference_markdown();

// The scenario schema as JSON, for the dashboard editor's help: an array of objects with section,
// key, type, unit, default, min, max, required and description.
std::string scenario_reference_json();

}  // namespace critmin::scenario
