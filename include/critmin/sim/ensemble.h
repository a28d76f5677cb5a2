// Monte Carlo ensembles of a simulation (`critmin ensemble`): N runs of one scenario, each with
// its own seed derived from the ensemble's seed, spread over threads (and, in the CLI, over MPI
// ranks), each reduced to its headline figures (critmin/sim/headline.h) as it finishes. The output
// depends only on the scenario, the dataset, N and the ensemble seed: never on the thread or rank
// count. docs/simulation.md ("Ensembles") describes the seed derivation and the quantiles.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/sim/headline.h"
#include "critmin/sim/simulation.h"

namespace critmin::sim {

// SplitMix64's output function applied to x + 0x9E3779B97F4A7C15 (Steele, Lea and Flood 2014):
// the first output of a SplitMix64 generator whose state is x. Pure integer arithmetic, the same
// on every platform.
std::uint64_t splitmix64(std::uint64_t x);

// The seed of run `run` (0-based) of an ensemble with seed `ensemble_seed`:
// splitmix64(splitmix64(ensemble_seed) + run), with wrap-around addition. Each run's seed then
// seeds the run's RandomSource as a single run's scenario seed does.
std::uint64_t ensemble_run_seed(std::uint64_t ensemble_seed, std::uint64_t run);

// The runs a share of an ensemble computes: run i belongs to share i mod share_count. A rank of
// an MPI job is one share; a process without MPI is share 0 of 1.
std::vector<std::size_t> ensemble_share_runs(std::size_t runs, int share, int share_count);

struct EnsembleOptions {
  std::uint64_t seed = 0;  // the ensemble seed
  std::size_t runs = 0;    // N >= 1
  int threads = 1;         // worker threads of this process, >= 1
  int share = 0;           // which share of the runs this process computes ...
  int share_count = 1;     // ... of how many (ensemble_share_runs)
};

// Headline figures of some runs of an ensemble: a table of runs x figures.
struct EnsembleRuns {
  std::vector<std::string> figure_names;  // headline_figures' names, in its order
  std::vector<std::string> figure_units;
  std::vector<std::size_t> runs;  // run indices held, ascending
  std::vector<double> values;     // values[k * figure_names.size() + f]: run runs[k], figure f
  // The runs' yearly paths (critmin/sim/headline.h, yearly_paths), each path_years long:
  // path_values[k * path_width() + p * path_years + y]: run runs[k], path p, year y.
  std::vector<std::string> path_names;
  std::vector<std::string> path_units;
  std::size_t path_years = 0;
  std::vector<double> path_values;
  std::size_t path_width() const { return path_names.size() * path_years; }
};

// Called after each finished run (from a worker thread, one call at a time): runs done so far by
// this process, and how many it computes.
using EnsembleProgress = std::function<void(std::size_t done, std::size_t total)>;

// Runs this process's share of the ensemble on options.threads threads. Every run uses the same
// prepared simulation (read-only) and is reduced to its headline figures as soon as it finishes.
// kInvalidInput for options out of range; a failing run stops the others, and the failure of the
// lowest run index is returned, prefixed with "run I (seed S)". kInternal when two runs give
// different figure names.
Result<EnsembleRuns> run_ensemble_share(const PreparedSimulation& prepared,
                                        const EnsembleOptions& options,
                                        const EnsembleProgress& progress = {});

// The whole ensemble from its shares (in any order): every run 0..runs-1 exactly once, every
// share with the same figures. kInternal when a run is missing or twice or the figures differ.
Result<EnsembleRuns> merge_ensemble_shares(const std::vector<EnsembleRuns>& shares,
                                           std::size_t runs);

// The p-quantile (0 <= p <= 1) of ascending `sorted` values by linear interpolation between
// order statistics (Hyndman and Fan's definition 7, the default of R and NumPy): with
// h = (n - 1) p, Q = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]) on 0-based x.
// One value is its own every quantile. `sorted` must not be empty.
double quantile_sorted(const std::vector<double>& sorted, double p);

struct FigureBand {
  std::string name;
  std::string unit;
  double p5 = 0.0, p50 = 0.0, p95 = 0.0;
  double mean = 0.0, min = 0.0, max = 0.0;
};

// One yearly path's bands over the runs of an ensemble: P5/P50/P95 per year.
struct PathBand {
  std::string name;  // "<material>.<quantity>" (yearly_paths)
  std::string unit;
  int first_year = 0;
  std::vector<double> p5, p50, p95;  // one per year
};

struct EnsembleSummary {
  std::string scenario_name;
  std::uint64_t seed = 0;  // the ensemble seed
  std::size_t runs = 0;
  int first_year = 0;
  int last_year = 0;
  int base_year = 0;
  std::vector<std::string> materials;
  std::vector<FigureBand> figures;  // in headline_figures' order
  std::vector<PathBand> paths;      // in yearly_paths' order
};

// The bands of every figure over all runs of a merged ensemble.
EnsembleSummary summarize_ensemble(const SimulationScenario& scenario, std::uint64_t seed,
                                   const EnsembleRuns& all_runs);

// The summary as JSON (scenario, seed, runs, years, seed derivation, quantile definition, one
// object per figure and, under `paths`, one per yearly path with its `first_year` and per-year
// `p5`, `p50`, `p95`). The same summary gives the same bytes.
std::string ensemble_to_json(const EnsembleSummary& summary);

// The runs' figures as JSON, the distribution a report draws (critmin/report/results_report.h,
// build_ensemble_report_model): {"figures": [{"name", "unit", "values": [one per run held, in
// run order]}]}.
std::string ensemble_runs_to_json(const EnsembleRuns& runs);

// A readable table: one line per figure with its unit, P5, P50, P95 and mean.
std::string ensemble_to_table(const EnsembleSummary& summary);

// Writes FILE (replaced when it exists) with the tables `ensemble` (one row: scenario, seed, runs,
// years), `figures` (id, name, unit, p5, p50, p95, mean, min, max), `runs` (run, seed) and
// `distribution` (run, figure id, value: one row per run and figure). The same ensemble gives the
// same bytes. kIoError when SQLite cannot write it.
Status write_ensemble_sqlite(const EnsembleSummary& summary, const EnsembleRuns& all_runs,
                             const std::filesystem::path& file);

}  // namespace critmin::sim
