// Multi-year simulation: one deterministic run of a scenario over a span of years
// (`critmin simulate`). docs/simulation.md describes the yearly loop, its stages and what is and is
// not modelled yet.
//
// A simulation scenario (read by critmin/scenario/scenario.h; every key in
// docs/scenario-reference.md) is a clearing scenario ([club], [[instrument]], [[tariff]],
// [[export_restriction]]) plus:
//
//   [scenario]
//   name = "gallium-ban"
//   years = [2025, 2030]          # first and last simulated year, inclusive
//   seed = 7                      # pins the random draws of the disruptions
//   base_year = 2023              # optional: the data year the markets are calibrated on
//   materials = ["gallium"]       # optional: default, every material an instrument, a disruption,
//                                 # a measure or a project names
//
//   [demand_growth]               # optional: yearly growth per material, overriding the estimate
//   gallium = 0.05                # (data/estimates/market_parameters.csv, demand_growth_rate)
//
//   [[demand_shock]]              # demand off the base path in some years
//   material = "cobalt"
//   region = "all"                # region, ISO3 code or bloc of the market, or "all"
//   share = 0.1                   # 10% above the base path (negative: below)
//   start = 2027
//   years = 2
//
//   [[disruption]]
//   origin = "CHN"                # region, ISO3 code or bloc of the material's market
//   material = "gallium"
//   stage = "processing"
//   kind = "export_ban"           # or "quota" with share = 0.5 (of base-year exports allowed),
//                                 # or "price_cut" with share = 0.3 (of its supply cost given up;
//                                 # no destinations): a dominant supplier deterring entry,
//                                 # or "output_cut" with share = 0.2 (of its capacity lost;
//                                 # no destinations): power rationing, a mine stopped
//   destinations = ["non-club"]   # regions, ISO3 codes, blocs, "non-BLOC" or "all"
//   start = 2026                  # first year in force
//   years = 2                     # how many years it lasts
//   probability = 1.0             # chance that it happens at all, drawn once per run
//   leakage = false               # optional: restricted supply may go round through third
//   leakage_cost_usd_per_t = 0.0  # countries at this extra cost
//
//   [[project]]                   # optional: adds a project, or overrides a CRMA strategic
//   name = "Metlen gallium"       # project of the same name (enabled = false removes it)
//   material = "gallium"
//   country = "GRC"
//   stage = "processing"
//   capacity_t = 50.0             # [t/yr]
//   online_year = 2027            # first year of output
//   unit_cost_usd_per_t = 400000  # optional; default: the project_unit_cost estimate
//   capex_usd = 3.2e8             # optional; default: the project_capex_multiple estimate
//
// Units: quantities [t/yr] of contained content, prices [USD/t], money [USD per year].
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/policy/club.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/company.h"
#include "critmin/sim/scorecard.h"
#include "critmin/world/dataset.h"

namespace critmin::sim {

// The scenario as the scenario layer reads it (critmin/scenario/scenario.h); a simulation has its
// years, seed and materials set.
using DisruptionKind = scenario::DisruptionKind;
using Disruption = scenario::Disruption;
using DemandShock = scenario::DemandShock;
using DemandUncertainty = scenario::DemandUncertainty;
using ProjectSpec = scenario::ProjectSpec;
using SimulationScenario = scenario::ScenarioSpec;

// Checks a scenario read by read_simulation_scenario against the data, as far as that can be done
// without running it: every disruption's origin and destinations name regions of its material's
// market in the base year, every project's country is a country of the dataset, and the years lie
// within 2000-2100. What the reader cannot see (a region resolved only when a year is cleared)
// is found here, so that a job is refused before it is queued rather than failing in a later
// year. Fails with kInvalidInput, every problem at once (file:line:key).
Status check_scenario_against_data(const SimulationScenario& scenario, const Dataset& data);

// The pinned random source of a run: std::mt19937_64 (its output sequence is fixed by the C++
// standard) seeded with the scenario's seed, mapped to [0,1) by critmin's own code (the top 53
// bits times 2^-53), so a seed gives the same draws on every platform and standard library.
class RandomSource {
 public:
  explicit RandomSource(std::uint64_t seed);
  double uniform();  // [0,1)

 private:
  std::mt19937_64 engine_;
};

// One market node in one year.
struct SeriesRow {
  std::string material;
  Stage stage = Stage::kProcessing;
  std::string region;
  int year = 0;
  double price_usd_per_t = 0.0;
  double production_t = 0.0;
  double consumption_t = 0.0;
  double imports_t = 0.0;
  double exports_t = 0.0;
  double demand_t = 0.0;     // processing: the year's demand at the base price; extraction: 0
  double shortfall_t = 0.0;  // processing: demand - consumption, >= 0; extraction: 0
  double stock_release_t = 0.0;
  double stock_refill_t = 0.0;
  // The shortfall split (processing; 0 for extraction): physical shortage is essential demand no
  // buyer could get at its value of lost use; demand priced out is the rest, use buyers gave up at
  // the year's price. physical_shortage_t + priced_out_t = shortfall_t.
  double physical_shortage_t = 0.0;
  double priced_out_t = 0.0;
  // Processing: the market's own stocks held in the region at the end of the year (commercial
  // inventories and state reserves the market carries; not the scenario's stockpile instruments,
  // which report their own stock_end) [t].
  double market_stock_end_t = 0.0;
};

// One figure of one instrument in one year (critmin/policy/club.h InstrumentReport).
struct PaymentRow {
  std::string material;
  int year = 0;
  int instrument_line = 0;
  std::string instrument_type;
  std::string holder;  // a stockpile's holder as the scenario names it; empty otherwise
  std::string figure;
  double value = 0.0;
  std::string unit;
};

// Concentration of one stage of one material in one year.
struct StageScore {
  std::string material;
  Stage stage = Stage::kProcessing;
  int year = 0;
  std::string top_third_country;  // the largest producing region outside the EU (not ROW)
  double top_third_country_share = 0.0;
  bool crma_breach = false;  // top_third_country_share > the CRMA benchmark (65%)
  double hhi = 0.0;          // 0-10000 over the market's regions (ROW left out: a lower bound)
};

// Shortfall of one area (EU27, NLD when the market has it as a region, the club) in one year.
// The shortfall is split as on SeriesRow: physical_shortage_t + priced_out_t = shortfall_t.
struct ShortfallScore {
  std::string material;
  std::string area;
  int year = 0;
  double demand_t = 0.0;
  double shortfall_t = 0.0;
  double shortfall_share = 0.0;  // of demand, 0-1
  double physical_shortage_t = 0.0;
  double priced_out_t = 0.0;
};

// The instrument figures (critmin/policy/club.h InstrumentReport) the fiscal cost sums, with their
// signs: what the state pays out, less stock sales. paid_back_to_state is reported as a positive
// amount (subsidy.cpp) yet counted here as the runner has always counted it; see the closing note
// of issue 20 before changing the sign.
inline constexpr std::pair<std::string_view, double> kFiscalCostFigures[] = {
    {"subsidy_cost", 1.0},    {"paid_back_to_state", 1.0}, {"top_up_cost", 1.0},
    {"grant_paid", 1.0},      {"refill_cost", 1.0},        {"holding_cost", 1.0},
    {"release_revenue", -1.0}};

// Money of the instruments in one year, summed over materials.
struct FiscalScore {
  int year = 0;
  double fiscal_cost_usd = 0.0;   // subsidies, top-ups, grants, stockpile refills and holding,
                                  // less payments back to the state and stock release revenue
  double levy_revenue_usd = 0.0;  // price-floor levies
};

struct DisruptionDraw {
  int line = 0;
  std::string material;
  std::string origin;
  double draw = 0.0;  // the uniform draw; the disruption happens when draw < probability
  bool happens = false;
  int start_year = 0;
  int last_year = 0;
};

struct ProjectOnline {
  std::string name;
  std::string material;
  std::string region;
  Stage stage = Stage::kProcessing;
  double capacity_t = 0.0;
  double unit_cost_usd_per_t = 0.0;
  double capex_usd = 0.0;  // capital cost of the capacity
  int online_year = 0;
  std::string origin;  // "crma", "scenario" or "investment"
};

// The price a material's market is calibrated on (critmin/market/calibration.h CalibrationInfo):
// the reference against which the input-cost change of the scorecard is measured.
struct MaterialBase {
  std::string material;
  double base_price_usd_per_t = 0.0;
  std::string price_source;     // series and year, or "index"
  bool price_is_index = false;  // no price in the data: an index of 1000 USD/t
};

// A generic candidate project the investment rule decided to build (docs/simulation.md).
struct InvestmentDecision {
  std::string material;
  std::string region;
  Stage stage = Stage::kProcessing;
  int decision_year = 0;
  int online_year = 0;
  double capacity_t = 0.0;  // [t/yr]
  // Expected over the investor's price distribution: price + instrument payment - feed.
  double revenue_usd_per_t = 0.0;
  double unit_cost_usd_per_t = 0.0;  // excluding the feed
  double capex_usd = 0.0;
  int lead_years = 0;
  int lifetime_years = 0;
  double npv_usd = 0.0;  // expected, at the hurdle rate, when decided
  double hurdle_rate = 0.0;
  bool contracted = false;  // revenue fixed by an instrument (the lower hurdle rate)
  // The investor's probability that the NPV at the hurdle rate is negative, when decided [0, 1].
  double probability_loss = 0.0;
};

// What a strategic supplier ([[strategic_supplier]], critmin/policy/strategic_supplier.h) chose
// in one year, against what it would have made passive.
struct StrategicYear {
  std::string material;
  std::string region;
  Stage stage = Stage::kProcessing;
  int year = 0;
  std::string objective;            // profit, welfare, market_share, limit_price
  policy::StrategicFigures chosen;  // the action and what it made against passive
};

// What a tonne of new capacity would earn towards its own costs in one region, stage and year: the
// producer price, plus what the club's instruments covering the region pay its producers, less
// the feed's price for a refiner [USD/t]; contracted when an instrument fixes part of it. Kept in
// memory for project appraisals (critmin/sim/investability.h), not written to the outputs.
struct RevenueRow {
  std::string material;
  std::string region;
  Stage stage = Stage::kProcessing;
  int year = 0;
  double revenue_usd_per_t = 0.0;
  double producer_price_usd_per_t = 0.0;  // the market's part of it
  bool contracted = false;
};

// One case of a project appraisal (critmin/sim/investability.h says how it is computed): the
// supplier and instruments it faces, and what the project's NPV did over the runs.
struct InvestabilityCase {
  std::string supplier;     // "passive" | "strategic"
  std::string instruments;  // "none" | "all"
  double probability_npv_positive = 0.0;
  double expected_npv_usd = 0.0;
  double npv_p5_usd = 0.0;
  double npv_p50_usd = 0.0;
  double npv_p95_usd = 0.0;
  double discount_rate = 0.0;    // the hurdle rate used (contracted when an instrument fixes it)
  double fiscal_cost_usd = 0.0;  // mean over the runs of the instruments' total fiscal cost
  double mean_margin_usd_per_t = 0.0;  // the project's margin, mean over runs and online years
  bool investable = false;
};

// A case of an [[appraisal]] project of the scenario, with the project it is about.
struct AppraisalRow {
  std::string material;
  std::string region;  // the market region the project sits in
  Stage stage = Stage::kProcessing;
  double capacity_t = 0.0;  // [t/yr]
  int online_year = 0;
  std::size_t runs = 0;
  InvestabilityCase figures;
  // The project's top-up floor at which it is investable (the same on each case of a project);
  // nullopt when even 20 x the base price does not make it so.
  std::optional<double> investable_floor_usd_per_t;
};

struct StageTiming {
  std::string stage;
  double seconds = 0.0;  // summed over years
};

struct SimulationResult {
  std::string scenario_name;
  std::uint64_t seed = 0;
  int first_year = 0;
  int last_year = 0;
  int base_year = 0;
  std::vector<std::string> materials;
  std::vector<MaterialBase> bases;        // one per material, in the order of `materials`
  std::vector<std::string> club_regions;  // market regions in the club, sorted
  std::vector<SeriesRow> series;
  std::vector<PaymentRow> payments;
  std::vector<StageScore> stage_scores;
  std::vector<ShortfallScore> shortfalls;
  std::vector<FiscalScore> fiscal;
  std::vector<DisruptionDraw> draws;
  std::vector<ProjectOnline> projects;
  std::vector<InvestmentDecision> investments;
  std::vector<StrategicYear> strategic;  // one per year a strategic supplier acts
  std::vector<RevenueRow> revenues;      // not part of the outputs: see RevenueRow
  // The scenario's [[appraisal]] projects, four cases each; filled by
  // sim::add_scenario_appraisals (critmin/sim/investability.h), not by run_simulation.
  std::vector<AppraisalRow> appraisals;
  Scorecards scorecards;  // computed from the above at the end of the run
  // The company's exposure when the scenario carries a bill of materials (critmin/sim/company.h).
  std::optional<CompanyExposure> company;
  std::vector<StageTiming> timings;  // not part of summary.json: it varies between runs
  std::vector<std::string> notes;
};

// Called after each simulated year: (year, years done, years in all).
using ProgressCallback = std::function<void(int year, int done, int total)>;

// The part of a simulation that no random draw changes: each material's market calibrated in the
// base year, its demand growth rate, its project pipeline (the CRMA strategic projects and the
// scenario's) and the notes of resolving it. Built once by prepare_simulation and read-only
// afterwards, so the runs of an ensemble share one across threads. It refers to the dataset and
// the scenario it was prepared from: both must outlive it (and its copies).
class PreparedSimulation {
 public:
  struct State;  // defined by the runner
  explicit PreparedSimulation(std::shared_ptr<const State> state);
  const SimulationScenario& scenario() const;
  const State& state() const { return *state_; }

 private:
  std::shared_ptr<const State> state_;
};

// Calibrates every material's market and resolves the project pipelines. kNotFound when a
// material cannot be modelled, kInvalidInput when a scenario project cannot be placed (with
// file:line:key).
Result<PreparedSimulation> prepare_simulation(const Dataset& data,
                                              const SimulationScenario& scenario);

// One run of a prepared simulation whose random draws come from `seed` (in place of the
// scenario's). Safe to call from several threads at once on the same PreparedSimulation.
// Fails as run_simulation.
Result<SimulationResult> run_prepared_simulation(const PreparedSimulation& prepared,
                                                 std::uint64_t seed,
                                                 const ProgressCallback& progress = {});

// Runs the scenario year by year (prepare_simulation, then run_prepared_simulation with the
// scenario's seed). Each year goes through the stages demand, disruptions,
// policies, clearing, capacity, stocks and accounting; after clearing the runner checks the mass
// balance of every stage and that no flow is negative, after stocks that every stock is
// conserved and non-negative. kInvalidInput when the scenario cannot be applied to a market (with
// file:line:key), kInternal when a check fails, with the year, material and stage.
Result<SimulationResult> run_simulation(const Dataset& data, const SimulationScenario& scenario,
                                        const ProgressCallback& progress = {});

// summary.json: scenario, seed, years, series, scorecard, disruptions and projects. The same
// result gives the same bytes.
std::string simulation_to_json(const SimulationResult& result);

// A readable summary: per material and year the world price, the CRMA breach and the EU
// shortfall; then the fiscal figures and the stage timings.
std::string simulation_to_table(const SimulationResult& result);

// Writes DIR/results.sqlite (replaced when it exists) with the tables series, payments,
// stage_scores, shortfalls, fiscal, disruptions, projects, stage_timings and run. kIoError when
// SQLite cannot write it.
Status write_results_sqlite(const SimulationResult& result, const std::filesystem::path& file);

}  // namespace critmin::sim
