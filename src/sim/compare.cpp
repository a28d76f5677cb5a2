// `critmin compare`: scorecards of several designs side by side (critmin/sim/compare.h).
#include "critmin/sim/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "sim/status_context.h"

namespace critmin::sim {

Comparison compare_scorecards(const std::vector<NamedScorecards>& designs) {
  Comparison out;
  const std::size_t n = designs.size();
  std::map<std::string, std::size_t> index_of;  // key -> position in out.lines
  for (std::size_t d = 0; d < n; ++d) {
    out.designs.push_back(designs[d].name);
    for (const ScoreLine& line : scorecard_lines(designs[d].cards)) {
      auto [it, inserted] = index_of.try_emplace(line.key, out.lines.size());
      if (inserted) {
        ComparedLine compared;
        compared.card = line.card;
        compared.key = line.key;
        compared.label = line.label;
        compared.unit = line.unit;
        compared.values.resize(n);
        compared.texts.resize(n);
        compared.differences.resize(n);
        out.lines.push_back(std::move(compared));
      }
      ComparedLine& compared = out.lines[it->second];
      compared.values[d] = line.value;
      compared.texts[d] = line.text;
    }
  }
  // Lines only later designs have go after the first design's lines, grouped by card.
  std::stable_sort(out.lines.begin(), out.lines.end(),
                   [](const ComparedLine& a, const ComparedLine& b) {
                     return a.card != b.card && a.card == "supply security";
                   });
  for (ComparedLine& line : out.lines) {
    for (std::size_t d = 0; d < n; ++d) {
      if (line.values[d] && line.values[0]) line.differences[d] = *line.values[d] - *line.values[0];
    }
  }
  return out;
}

void add_ensemble_bands(Comparison& comparison, const std::vector<EnsembleSummary>& ensembles) {
  const std::size_t n = ensembles.size();
  std::map<std::string, std::size_t> index_of;
  comparison.bands.clear();
  comparison.path_bands.clear();
  comparison.runs = n > 0 ? ensembles.front().runs : 0;
  for (const EnsembleSummary& e : ensembles) comparison.path_bands.push_back(e.paths);
  for (std::size_t d = 0; d < n; ++d) {
    for (const FigureBand& band : ensembles[d].figures) {
      auto [it, inserted] = index_of.try_emplace(band.name, comparison.bands.size());
      if (inserted)
        comparison.bands.push_back(
            {band.name, band.unit, std::vector<std::optional<FigureBand>>(n)});
      comparison.bands[it->second].bands[d] = band;
    }
  }
}

void add_headline_figures(Comparison& comparison,
                          const std::vector<std::vector<HeadlineFigure>>& designs) {
  const std::size_t n = designs.size();
  std::map<std::string, std::size_t> index_of;
  comparison.headline.clear();
  for (std::size_t d = 0; d < n; ++d) {
    for (const HeadlineFigure& figure : designs[d]) {
      auto [it, inserted] = index_of.try_emplace(figure.name, comparison.headline.size());
      if (inserted) {
        comparison.headline.push_back(
            {figure.name, figure.unit, std::vector<std::optional<double>>(n)});
      }
      comparison.headline[it->second].values[d] = figure.value;
    }
  }
}

std::vector<std::string> compare_design_names(const std::vector<SimulationScenario>& scenarios,
                                              const std::vector<std::string>& fallback_names) {
  std::vector<std::string> names;
  for (std::size_t d = 0; d < scenarios.size(); ++d) {
    std::string name = scenarios[d].name;
    if (name.empty()) name = d < fallback_names.size() ? fallback_names[d] : "design";
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      name += fmt::format(" ({})", d + 1);
    }
    names.push_back(name);
  }
  return names;
}

Result<CompareRun> run_compare(const Dataset& data,
                               const std::vector<SimulationScenario>& scenarios,
                               const std::vector<std::string>& fallback_names,
                               const CompareOptions& options, const CompareProgress& progress) {
  if (scenarios.size() < 2) {
    return Status::invalid_input(
        fmt::format("compare needs at least two scenarios, got {}; give the reference design "
                    "first, e.g. critmin compare scenarios/baseline.toml scenarios/club.toml",
                    scenarios.size()));
  }
  if (fallback_names.size() != scenarios.size()) {
    return Status::invalid_input(
        fmt::format("compare: {} names for {} scenarios", fallback_names.size(), scenarios.size()));
  }
  const std::vector<std::string> names = compare_design_names(scenarios, fallback_names);
  int years_total = 0;
  for (const SimulationScenario& scenario : scenarios) {
    years_total += scenario.last_year - scenario.first_year + 1;
  }
  const std::size_t runs_total = options.runs * scenarios.size();
  std::mutex progress_mutex;
  int years_before = 0;  // years of the designs already run
  std::size_t runs_before = 0;
  const auto report = [&](int years_done, std::size_t runs_done) {
    if (!progress) return;
    std::lock_guard<std::mutex> lock(progress_mutex);
    progress(years_done, years_total, runs_done, runs_total);
  };

  CompareRun out;
  std::vector<NamedScorecards> cards;
  std::vector<std::vector<HeadlineFigure>> headline;
  for (std::size_t d = 0; d < scenarios.size(); ++d) {
    Result<SimulationResult> result = run_simulation(
        data, scenarios[d], [&](int, int done, int) { report(years_before + done, runs_before); });
    if (!result.is_ok()) return in_context(result.status(), "design " + names[d]);
    years_before += scenarios[d].last_year - scenarios[d].first_year + 1;
    cards.push_back({names[d], result.value().scorecards});
    headline.push_back(headline_figures(result.value()));
    out.results.push_back(std::move(result).value());
  }
  out.comparison = compare_scorecards(cards);
  add_headline_figures(out.comparison, headline);
  if (options.runs > 0) {
    // The same ensemble seed for every design: run i of each design draws from the same seed,
    // so the bands differ by the design, not by the luck of the draws.
    std::vector<EnsembleSummary> ensembles;
    for (std::size_t d = 0; d < scenarios.size(); ++d) {
      Result<PreparedSimulation> prepared = prepare_simulation(data, scenarios[d]);
      if (!prepared.is_ok()) return in_context(prepared.status(), "design " + names[d]);
      EnsembleOptions ensemble;
      ensemble.seed = options.seed;
      ensemble.runs = options.runs;
      ensemble.threads = options.threads;
      Result<EnsembleRuns> runs = run_ensemble_share(
          prepared.value(), ensemble,
          [&](std::size_t done, std::size_t) { report(years_total, runs_before + done); });
      if (!runs.is_ok()) return in_context(runs.status(), "design " + names[d]);
      runs_before += options.runs;
      ensembles.push_back(summarize_ensemble(scenarios[d], options.seed, runs.value()));
    }
    add_ensemble_bands(out.comparison, ensembles);
  }
  return out;
}

namespace {

std::string value_text(const std::optional<double>& value, const std::string& text) {
  std::string out = value ? fmt::format("{:.4g}", *value) : "n/a";
  // A short qualifier (the country of a share) goes with the value; longer notes are dropped
  // here and kept in the JSON.
  if (!text.empty() && text.size() <= 4) out += " " + text;
  return out;
}

std::string difference_text(const std::optional<double>& difference) {
  if (!difference) return "";
  if (*difference == 0.0) return "=";
  return fmt::format("{:+.4g}", *difference);
}

}  // namespace

std::string comparison_to_table(const Comparison& comparison) {
  const std::size_t n = comparison.designs.size();
  constexpr int kLabel = 70, kColumn = 16;
  std::string out = fmt::format("{:<{}} {:<15}", "", kLabel, "unit");
  for (std::size_t d = 0; d < n; ++d) {
    out += fmt::format(" {:>{}}", comparison.designs[d].substr(0, kColumn), kColumn);
    if (d > 0) out += fmt::format(" {:>{}}", "diff", 11);
  }
  out += "\n";
  std::string card;
  for (const ComparedLine& line : comparison.lines) {
    if (line.card != card) {
      card = line.card;
      out += fmt::format("== {} ==\n", card);
    }
    std::string label = line.label;
    if (label.size() > kLabel) label = label.substr(0, kLabel - 3) + "...";
    out += fmt::format("{:<{}} {:<15}", label, kLabel, line.unit);
    for (std::size_t d = 0; d < n; ++d) {
      out += fmt::format(" {:>{}}", value_text(line.values[d], line.texts[d]), kColumn);
      if (d > 0) out += fmt::format(" {:>{}}", difference_text(line.differences[d]), 11);
    }
    out += "\n";
  }
  if (!comparison.bands.empty()) {
    out += fmt::format("== ensemble bands: P5 / P50 / P95 over {} runs per design ==\n",
                       comparison.runs);
    for (const ComparedBand& band : comparison.bands) {
      std::string label = band.name;
      if (label.size() > kLabel) label = label.substr(0, kLabel - 3) + "...";
      out += fmt::format("{:<{}} {:<15}", label, kLabel, band.unit);
      for (std::size_t d = 0; d < n; ++d) {
        const auto& b = band.bands[d];
        out += fmt::format(" {:>{}}",
                           b ? fmt::format("{:.3g}/{:.3g}/{:.3g}", b->p5, b->p50, b->p95) : "n/a",
                           d == 0 ? kColumn : kColumn + 12);
      }
      out += "\n";
    }
  }
  return out;
}

std::string comparison_to_json(const Comparison& comparison) {
  using nlohmann::json;
  const auto optional = [](const std::optional<double>& v) { return v ? json(*v) : json(); };
  json lines = json::array();
  for (const ComparedLine& line : comparison.lines) {
    json values = json::array(), differences = json::array();
    for (const auto& v : line.values) values.push_back(optional(v));
    for (const auto& d : line.differences) differences.push_back(optional(d));
    lines.push_back({{"card", line.card},
                     {"key", line.key},
                     {"label", line.label},
                     {"unit", line.unit},
                     {"values", std::move(values)},
                     {"texts", line.texts},
                     {"differences", std::move(differences)}});
  }
  json headline = json::array();
  for (const ComparedFigure& figure : comparison.headline) {
    json values = json::array();
    for (const auto& v : figure.values) values.push_back(optional(v));
    headline.push_back(
        {{"name", figure.name}, {"unit", figure.unit}, {"values", std::move(values)}});
  }
  json bands = json::array();
  for (const ComparedBand& band : comparison.bands) {
    json p5 = json::array(), p50 = json::array(), p95 = json::array();
    for (const auto& b : band.bands) {
      p5.push_back(b ? json(b->p5) : json());
      p50.push_back(b ? json(b->p50) : json());
      p95.push_back(b ? json(b->p95) : json());
    }
    bands.push_back({{"name", band.name},
                     {"unit", band.unit},
                     {"p5", std::move(p5)},
                     {"p50", std::move(p50)},
                     {"p95", std::move(p95)}});
  }
  json path_bands = json::array();
  for (const std::vector<PathBand>& design : comparison.path_bands) {
    json paths = json::array();
    for (const PathBand& p : design) {
      paths.push_back({{"name", p.name},
                       {"unit", p.unit},
                       {"first_year", p.first_year},
                       {"p5", p.p5},
                       {"p50", p.p50},
                       {"p95", p.p95}});
    }
    path_bands.push_back(std::move(paths));
  }
  json out = {{"designs", comparison.designs},   {"lines", std::move(lines)},
              {"headline", std::move(headline)}, {"runs", comparison.runs},
              {"bands", std::move(bands)},       {"path_bands", std::move(path_bands)}};
  return out.dump(2) + "\n";
}

}  // namespace critmin::sim
