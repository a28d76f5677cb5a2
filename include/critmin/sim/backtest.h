// `critmin backtest`: historical episodes replayed by the simulation, the model's prediction
// printed next to the observed outcome (docs/backtests.md).
//
// An episode file (data/episodes/NAME.toml) is a simulation scenario whose [[disruption]] tables
// reproduce the measure, plus:
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
// between the scenario and the same scenario without its disruptions (the counterfactual).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/sim/simulation.h"
#include "critmin/world/dataset.h"

namespace critmin::sim {

enum class ObservedFigure { kPrice, kExports };

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

struct Episode {
  std::string name;  // the file's stem
  std::string title;
  int year = 0;
  SimulationScenario scenario;  // with the measure
  std::vector<Observation> observed;
};

// Reads an episode file; every key is checked (file:line:key). An observation's region must be a
// region of its material's market; `year` must be a simulated year.
Result<Episode> read_episode(std::string_view toml_text, const std::string& file_name,
                             const Dataset& data);

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

// Simulates the episode with and without its disruptions.
Result<BacktestResult> run_backtest(const Dataset& data, const Episode& episode);

std::string backtests_to_table(const std::vector<BacktestResult>& results);
std::string backtests_to_json(const std::vector<BacktestResult>& results);

// The episode files shipped with the dataset: DATA_DIR/episodes/*.toml, sorted by name.
std::vector<std::filesystem::path> shipped_episodes(const std::filesystem::path& data_dir);

}  // namespace critmin::sim
