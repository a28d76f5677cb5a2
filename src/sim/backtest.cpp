// Back-tests: historical episodes replayed with and without their measure (critmin/sim/backtest.h).
#include "critmin/sim/backtest.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "core/toml_reader.h"

namespace critmin::sim {
namespace {

std::optional<Stage> stage_from(const std::string& text) {
  if (text == "extraction") return Stage::kExtraction;
  if (text == "processing") return Stage::kProcessing;
  return std::nullopt;
}

}  // namespace

Result<Episode> read_episode(std::string_view toml_text, const std::string& file_name,
                             const Dataset& data) {
  Result<toml::table> parsed = parse_toml(toml_text, file_name);
  CRITMIN_RETURN_IF_ERROR(parsed);
  const toml::table& root = parsed.value();
  std::vector<Diagnostic> problems;
  TomlFields fields(file_name, problems);
  Episode episode;
  episode.name = std::filesystem::path(file_name).stem().string();

  Result<SimulationScenario> scenario =
      read_simulation_scenario(toml_text, file_name, data, {"episode", "observed"});
  if (!scenario.is_ok()) {
    for (const Diagnostic& d : scenario.status().diagnostics()) problems.push_back(d);
  } else {
    episode.scenario = std::move(scenario).value();
  }

  const toml::table* header = root["episode"].as_table();
  if (!header) {
    problems.push_back(
        {file_name, 0, "episode", "an episode file needs an [episode] table with title and year"});
  } else {
    fields.check_keys(*header, "episode", {"title", "year"});
    episode.title = fields.text(*header, "title", true).value_or("");
    episode.year = fields.integer(*header, "year", 1900, 2100, true).value_or(0);
    if (episode.year != 0 && scenario.is_ok() &&
        (episode.year < episode.scenario.first_year || episode.year > episode.scenario.last_year)) {
      fields.error(
          *header->get("year"), "year",
          fmt::format("{} is not a simulated year ({}-{}); compare in one of them", episode.year,
                      episode.scenario.first_year, episode.scenario.last_year));
    }
  }
  const std::vector<const toml::table*> observed = fields.tables(root, "observed");
  if (observed.empty() && !root.contains("observed")) {
    problems.push_back({file_name, 0, "observed",
                        "an episode needs at least one [[observed]] outcome to compare with"});
  }
  for (const toml::table* t : observed) {
    fields.check_keys(*t, "observed",
                      {"figure", "region", "stage", "before", "after", "unit", "when", "source"});
    Observation o;
    o.line = toml_line(*t);
    const auto figure = fields.text(*t, "figure", true);
    if (figure && *figure != "price" && *figure != "exports") {
      fields.error(*t->get("figure"), "figure",
                   fmt::format("'{}' is not a figure critmin compares; use \"price\" or "
                               "\"exports\"",
                               *figure));
    }
    o.figure = figure && *figure == "exports" ? ObservedFigure::kExports : ObservedFigure::kPrice;
    o.region = fields.text(*t, "region", true).value_or("");
    const auto stage = fields.text(*t, "stage", true);
    if (stage && !stage_from(*stage)) {
      fields.error(
          *t->get("stage"), "stage",
          fmt::format("'{}' is not a stage; use \"extraction\" or \"processing\"", *stage));
    }
    o.stage = stage ? stage_from(*stage).value_or(Stage::kProcessing) : Stage::kProcessing;
    const auto before = fields.number(*t, "before", 0.0, 1e15, true);
    const auto after = fields.number(*t, "after", 0.0, 1e15, true);
    if (before && *before <= 0.0) {
      fields.error(*t->get("before"), "before",
                   "the value before the measure must be > 0 (the change is relative to it)");
    }
    o.before = before.value_or(1.0);
    o.after = after.value_or(0.0);
    o.unit = fields.text(*t, "unit", true).value_or("");
    o.when = fields.text(*t, "when", true).value_or("");
    o.source = fields.text(*t, "source", true).value_or("");
    episode.observed.push_back(std::move(o));
  }
  if (scenario.is_ok() && episode.scenario.disruptions.empty()) {
    problems.push_back({file_name, 0, "disruption",
                        "an episode reproduces a measure: add at least one [[disruption]]"});
  }
  if (scenario.is_ok() && episode.scenario.materials.size() != 1) {
    problems.push_back({file_name, 0, "materials",
                        fmt::format("an episode is about one material; the scenario names {}",
                                    episode.scenario.materials.size())});
  }
  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    return Status::invalid_input(fmt::format("{}: invalid back-test episode", file_name),
                                 std::move(problems));
  }
  return episode;
}

Result<BacktestResult> run_backtest(const Dataset& data, const Episode& episode) {
  Result<SimulationResult> with = run_simulation(data, episode.scenario);
  CRITMIN_RETURN_IF_ERROR(with);
  SimulationScenario counterfactual = episode.scenario;
  counterfactual.disruptions.clear();
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

std::string backtests_to_table(const std::vector<BacktestResult>& results) {
  std::string out;
  for (const BacktestResult& r : results) {
    out += fmt::format("== {} ({}): {}\n", r.episode, r.year, r.title);
    out += fmt::format("  {:<34} {:>10} {:>10}  {}\n", "figure", "observed", "model",
                       "observed values, period and source");
    for (const BacktestLine& l : r.lines) {
      const Observation& o = l.observation;
      const std::string what =
          fmt::format("{} {} {} {}", l.material, o.region, stage_name(o.stage),
                      o.figure == ObservedFigure::kPrice ? "price" : "exports");
      out += fmt::format("  {:<34} {:>+9.1f}% {:>+9.1f}%  {:g} -> {:g} {}, {}; {}\n", what,
                         100.0 * o.observed_change(), 100.0 * l.model_change, o.before, o.after,
                         o.unit, o.when, o.source);
    }
  }
  out += "model: the change in the episode's year against the same scenario without its measure\n";
  return out;
}

std::string backtests_to_json(const std::vector<BacktestResult>& results) {
  using nlohmann::json;
  json out = json::array();
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
                       {"model_change", l.model_change}});
    }
    out.push_back({{"episode", r.episode},
                   {"title", r.title},
                   {"year", r.year},
                   {"lines", std::move(lines)}});
  }
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
