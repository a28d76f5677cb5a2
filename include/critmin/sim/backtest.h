// `critmin backtest`: historical episodes replayed by the simulation, the model's prediction
// printed next to the observed outcome (docs/backtests.md).
//
// An episode file (data/episodes/NAME.toml) is a simulation scenario whose [[disruption]] and
// [[demand_shock]] tables reproduce the measure, plus:
//
//   [episode]
//   title = "China's export licensing of gallium and germanium (in force 2023-08-01)"
//   year = 2023                   # the simulated year the observations are compared in
//
//   [[observed]]
//   figure = "price"              # "price" or "exports"
//   region = "EU27"               # the market region the observation is of
//   stage = "processing"
//   before = 257.5                # the observed value before the measure
//   after = 425.0                 # ... and after it
//   unit = "USD/kg"               # as the source gives it (only the change is compared)
//   when = "2023-06-30 to 2023-09-08"
//   source = "Fastmarkets, Ga 99.99% in-whs Rotterdam (https://...)"
//
// The model's prediction of an observation is the relative change of the same figure in `year`
// between the scenario and the same scenario without its disruptions and demand shocks (the
// counterfactual).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/simulation.h"
#include "critmin/world/dataset.h"

namespace critmin::sim {

// The episode as the scenario layer reads it (scenario::read_episode).
using ObservedFigure = scenario::ObservedFigure;
using Observation = scenario::Observation;
using Episode = scenario::Episode;

struct BacktestLine {
  Observation observation;
  std::string material;
  double model_with = 0.0;     // the figure in `year` with the measure [USD/t or t]
  double model_without = 0.0;  // ... without it
  double model_change = 0.0;   // with / without - 1
};

struct BacktestResult {
  std::string episode;
  std::string title;
  int year = 0;
  std::vector<BacktestLine> lines;
};

// How a model figure is judged against its observation. Ratios are after / before = 1 + change.
// Within band: the model's ratio lies within a factor kBacktestBandFactor of the observed ratio
// either way. Right direction: both changes have the same sign, or both lie within
// kBacktestFlatChange of zero (no visible move either way).
inline constexpr double kBacktestBandFactor = 1.5;
inline constexpr double kBacktestFlatChange = 0.02;
bool within_band(double observed_change, double model_change);
bool right_direction(double observed_change, double model_change);

struct BacktestSummary {
  int figures = 0;
  int within_band = 0;
  int right_direction = 0;
};
BacktestSummary summarize_backtests(const std::vector<BacktestResult>& results);

// Simulates the episode with and without its disruptions and demand shocks.
Result<BacktestResult> run_backtest(const Dataset& data, const Episode& episode);

// Both end with the summary. JSON: {"episodes": [{episode, title, year, lines: [... with
// observed_change, model_change, within_band, right_direction]}], "summary": {figures,
// within_band, right_direction, band_factor}}.
std::string backtests_to_table(const std::vector<BacktestResult>& results);
std::string backtests_to_json(const std::vector<BacktestResult>& results);

// The episode files shipped with the dataset: DATA_DIR/episodes/*.toml, sorted by name.
std::vector<std::filesystem::path> shipped_episodes(const std::filesystem::path& data_dir);

}  // namespace critmin::sim
