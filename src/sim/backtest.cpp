// Back-tests: historical episodes replayed with and without their measure (critmin/sim/backtest.h).
#include "critmin/sim/backtest.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

namespace critmin::sim {

Result<BacktestResult> run_backtest(const Dataset& data, const Episode& episode) {
  Result<SimulationResult> with = run_simulation(data, episode.scenario);
  CRITMIN_RETURN_IF_ERROR(with);
  SimulationScenario counterfactual = episode.scenario;
  counterfactual.disruptions.clear();
  counterfactual.demand_shocks.clear();
  // A strategic supplier is a measure too: without it the same supplier sells passively.
  counterfactual.strategic_suppliers.clear();
  Result<SimulationResult> without = run_simulation(data, counterfactual);
  CRITMIN_RETURN_IF_ERROR(without);

  // The figure of one region (with its certified twin) and stage in the episode's year: the
  // use-weighted price, or the exports.
  const auto figure_of = [&](const SimulationResult& result,
                             const Observation& o) -> std::optional<double> {
    double weighted = 0.0, weight = 0.0, exports = 0.0;
    bool found = false;
    for (const SeriesRow& row : result.series) {
      if (row.year != episode.year || row.stage != o.stage) continue;
      if (row.region.substr(0, row.region.find('/')) != o.region) continue;
      found = true;
      const double w = std::max(row.consumption_t, 1e-12);
      weighted += row.price_usd_per_t * w;
      weight += w;
      exports += row.exports_t;
    }
    if (!found) return std::nullopt;
    return o.figure == ObservedFigure::kPrice ? weighted / weight : exports;
  };

  BacktestResult out;
  out.episode = episode.name;
  out.title = episode.title;
  out.year = episode.year;
  for (const Observation& o : episode.observed) {
    const auto a = figure_of(with.value(), o);
    const auto b = figure_of(without.value(), o);
    if (!a || !b) {
      std::set<std::string> regions;
      for (const SeriesRow& row : with.value().series) {
        regions.insert(row.region.substr(0, row.region.find('/')));
      }
      std::string names;
      for (const std::string& r : regions) names += (names.empty() ? "" : ", ") + r;
      return Status::invalid_input(
          fmt::format("{}: an observation of a region the market does not have",
                      episode.scenario.file),
          {{episode.scenario.file, o.line, "region",
            fmt::format("'{}' is not a region of the {} market; use one of: {}", o.region,
                        episode.scenario.materials.front(), names)}});
    }
    BacktestLine line;
    line.observation = o;
    line.material = episode.scenario.materials.front();
    line.model_with = *a;
    line.model_without = *b;
    line.model_change = *b > 0.0 ? *a / *b - 1.0 : 0.0;
    out.lines.push_back(std::move(line));
  }
  return out;
}

bool within_band(double observed_change, double model_change) {
  const double observed = 1.0 + observed_change, model = 1.0 + model_change;
  if (!(observed > 0.0) || !(model > 0.0)) return false;
  const double factor = std::max(observed / model, model / observed);
  return factor <= kBacktestBandFactor * (1.0 + 1e-12);
}

bool right_direction(double observed_change, double model_change) {
  const bool observed_flat = std::abs(observed_change) <= kBacktestFlatChange;
  const bool model_flat = std::abs(model_change) <= kBacktestFlatChange;
  if (observed_flat || model_flat) return observed_flat && model_flat;
  return (observed_change > 0.0) == (model_change > 0.0);
}

BacktestSummary summarize_backtests(const std::vector<BacktestResult>& results) {
  BacktestSummary summary;
  for (const BacktestResult& r : results) {
    for (const BacktestLine& l : r.lines) {
      const double observed = l.observation.observed_change();
      ++summary.figures;
      summary.within_band += within_band(observed, l.model_change) ? 1 : 0;
      summary.right_direction += right_direction(observed, l.model_change) ? 1 : 0;
    }
  }
  return summary;
}

std::string backtests_to_table(const std::vector<BacktestResult>& results) {
  std::string out;
  for (const BacktestResult& r : results) {
    out += fmt::format("== {} ({}): {}\n", r.episode, r.year, r.title);
    out += fmt::format("  {:<34} {:>10} {:>10} {:>5} {:>5}  {}\n", "figure", "observed", "model",
                       "band", "sign", "observed values, period and source");
    for (const BacktestLine& l : r.lines) {
      const Observation& o = l.observation;
      const std::string what =
          fmt::format("{} {} {} {}", l.material, o.region, stage_name(o.stage),
                      o.figure == ObservedFigure::kPrice ? "price" : "exports");
      out += fmt::format("  {:<34} {:>+9.1f}% {:>+9.1f}% {:>5} {:>5}  {:g} -> {:g} {}, {}; {}\n",
                         what, 100.0 * o.observed_change(), 100.0 * l.model_change,
                         within_band(o.observed_change(), l.model_change) ? "in" : "out",
                         right_direction(o.observed_change(), l.model_change) ? "right" : "wrong",
                         o.before, o.after, o.unit, o.when, o.source);
    }
  }
  const BacktestSummary summary = summarize_backtests(results);
  out += "model: the change in the episode's year against the same scenario without its measure\n";
  out += fmt::format(
      "band: the model's after/before ratio within a factor {:g} of the observed one; sign: the "
      "same direction (or both within {:g}% of no change)\n",
      kBacktestBandFactor, 100.0 * kBacktestFlatChange);
  out += fmt::format("summary: {} of {} figures within band, {} with the right direction\n",
                     summary.within_band, summary.figures, summary.right_direction);
  return out;
}

std::string backtests_to_json(const std::vector<BacktestResult>& results) {
  using nlohmann::json;
  json episodes = json::array();
  for (const BacktestResult& r : results) {
    json lines = json::array();
    for (const BacktestLine& l : r.lines) {
      const Observation& o = l.observation;
      lines.push_back({{"material", l.material},
                       {"figure", o.figure == ObservedFigure::kPrice ? "price" : "exports"},
                       {"region", o.region},
                       {"stage", stage_name(o.stage)},
                       {"observed_before", o.before},
                       {"observed_after", o.after},
                       {"unit", o.unit},
                       {"when", o.when},
                       {"source", o.source},
                       {"observed_change", o.observed_change()},
                       {"model_with", l.model_with},
                       {"model_without", l.model_without},
                       {"model_change", l.model_change},
                       {"within_band", within_band(o.observed_change(), l.model_change)},
                       {"right_direction", right_direction(o.observed_change(), l.model_change)}});
    }
    episodes.push_back({{"episode", r.episode},
                        {"title", r.title},
                        {"year", r.year},
                        {"lines", std::move(lines)}});
  }
  const BacktestSummary summary = summarize_backtests(results);
  json out = {{"episodes", std::move(episodes)},
              {"summary",
               {{"figures", summary.figures},
                {"within_band", summary.within_band},
                {"right_direction", summary.right_direction},
                {"band_factor", kBacktestBandFactor},
                {"flat_change", kBacktestFlatChange}}}};
  return out.dump(2) + "\n";
}

std::vector<std::filesystem::path> shipped_episodes(const std::filesystem::path& data_dir) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(data_dir / "episodes", error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".toml") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace critmin::sim
