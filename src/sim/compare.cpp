// `critmin compare`: scorecards of several designs side by side (critmin/sim/compare.h).
#include "critmin/sim/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "critmin/core/figures.h"
#include "critmin/sim/investability.h"
#include "sim/appraisal_text.h"
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

namespace {

double headline_value(const std::vector<HeadlineFigure>& figures, std::string_view name) {
  for (const HeadlineFigure& f : figures) {
    if (f.name == name) return f.value;
  }
  return 0.0;  // every run has the run-level figures (headline_figures); materials may lack one
}

// "magnesium 90,194 t (34.2% in 2026)" for each material the EU is physically short of.
std::string shortage_text(const SimulationResult& result) {
  std::map<std::string, std::pair<double, std::pair<double, int>>> short_of;  // t, worst share
  for (const ShortfallScore& s : result.shortfalls) {
    if (s.area != "EU27" || s.physical_shortage_t <= 0.0) continue;
    auto& [total, worst] = short_of[s.material];
    total += s.physical_shortage_t;
    const double share = s.demand_t > 0.0 ? s.physical_shortage_t / s.demand_t : 0.0;
    if (share > worst.first) worst = {share, s.year};
  }
  if (short_of.empty()) return "none";
  std::string out;
  for (const std::string& material : result.materials) {
    const auto it = short_of.find(material);
    if (it == short_of.end()) continue;
    if (!out.empty()) out += "; ";
    out += fmt::format("{} {} ({} in {})", material, format_figure(it->second.first, "t"),
                       format_figure(it->second.second.first, "share"), it->second.second.second);
  }
  return out;
}

// "above 65%: gallium CHN 77.5%" over the processing stages of the last year.
std::string concentration_text(const SimulationResult& result, double limit) {
  std::string above;
  for (const StageScore& s : result.stage_scores) {
    if (s.stage != Stage::kProcessing || s.year != result.last_year) continue;
    if (s.top_third_country_share <= limit) continue;
    above += fmt::format("{}{} {} {}", above.empty() ? "" : ", ", s.material, s.top_third_country,
                         format_figure(s.top_third_country_share, "share"));
  }
  const std::string line = format_figure(limit, "share");
  return above.empty() ? fmt::format("no material above {}", line)
                       : fmt::format("above {}: {}", line, above);
}

}  // namespace

std::optional<double> verdict_value(const DesignVerdict& v, std::string_view key) {
  if (key == "eu_physical_shortage_usd") return v.eu_physical_shortage_usd;
  if (key == "eu_physical_shortage_share") return v.eu_physical_shortage_share;
  if (key == "top_third_country_share") return v.top_third_country_share;
  if (key == "dutch_cost_change_usd_per_yr") return v.dutch_cost_change_usd_per_yr;
  if (key == "fiscal_cost_usd") return v.fiscal_cost_usd;
  if (key == "fiscal_cost_per_point_usd") return v.fiscal_cost_per_point_usd;
  if (key == "fiscal_cost_per_shortage_usd") return v.fiscal_cost_per_shortage_usd;
  if (key == "company_cost_change_usd_per_yr") return v.company_cost_change_usd_per_yr;
  if (key == "company_physical_shortage_usd_per_yr") return v.company_physical_shortage_usd_per_yr;
  return std::nullopt;
}

std::vector<DesignVerdict> design_verdicts(const std::vector<SimulationResult>& results,
                                           double crma_single_country_limit) {
  std::vector<DesignVerdict> verdicts;
  for (const SimulationResult& result : results) {
    const std::vector<HeadlineFigure> figures = headline_figures(result);
    DesignVerdict v;
    v.eu_physical_shortage_usd = headline_value(figures, "eu_physical_shortage_usd_total");
    v.eu_physical_shortage_share = headline_value(figures, "eu_physical_shortage_share_worst");
    v.eu_physical_shortage_text = shortage_text(result);
    v.top_third_country_share = headline_value(figures, "top_third_country_share_mean_last");
    v.top_third_country_text = concentration_text(result, crma_single_country_limit);
    v.dutch_cost_change_usd_per_yr = headline_value(figures, "dutch_cost_change_usd_per_yr");
    v.fiscal_cost_usd = headline_value(figures, "fiscal_cost_usd_total");
    if (result.company) {
      v.company_cost_change_usd_per_yr = result.company->cost_change_mean_usd_per_yr;
      v.company_physical_shortage_usd_per_yr = result.company->physical_shortage_mean_usd_per_yr;
    }
    verdicts.push_back(std::move(v));
  }
  if (verdicts.empty()) return verdicts;
  const DesignVerdict& reference = verdicts.front();
  verdicts.front().fiscal_cost_per_point_text = "the reference design";
  verdicts.front().fiscal_cost_per_shortage_text = "the reference design";
  for (std::size_t d = 1; d < verdicts.size(); ++d) {
    DesignVerdict& v = verdicts[d];
    const double extra_cost_usd = v.fiscal_cost_usd - reference.fiscal_cost_usd;
    // Below a hundredth of a point or a dollar the gain is rounding, and a ratio on it would be
    // noise.
    const double points_removed =
        100.0 * (reference.top_third_country_share - v.top_third_country_share);
    if (points_removed > 0.01) {
      v.fiscal_cost_per_point_usd = extra_cost_usd / points_removed;
      v.fiscal_cost_per_point_text =
          fmt::format("{} for {:.2f} points", format_figure(extra_cost_usd, "USD"), points_removed);
    } else {
      v.fiscal_cost_per_point_text =
          points_removed < -0.01
              ? fmt::format("concentration rises by {:.2f} points", -points_removed)
              : "removes no concentration";
    }
    const double avoided_usd = reference.eu_physical_shortage_usd - v.eu_physical_shortage_usd;
    if (avoided_usd > 1.0) {
      v.fiscal_cost_per_shortage_usd = extra_cost_usd / avoided_usd;
      v.fiscal_cost_per_shortage_text =
          fmt::format("{} for {} of shortage avoided", format_figure(extra_cost_usd, "USD"),
                      format_figure(avoided_usd, "USD"));
    } else {
      v.fiscal_cost_per_shortage_text =
          avoided_usd < -1.0 ? "the EU is more physically short" : "avoids no physical shortage";
    }
  }
  return verdicts;
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
    // A design's candidate projects are appraised as `simulate` appraises them, so that the
    // designs can be compared on whether they make the project investable.
    if (Status s = add_scenario_appraisals(data, scenarios[d], options.threads, result.value());
        !s.is_ok()) {
      return in_context(s, "design " + names[d]);
    }
    years_before += scenarios[d].last_year - scenarios[d].first_year + 1;
    cards.push_back({names[d], result.value().scorecards});
    headline.push_back(headline_figures(result.value()));
    out.results.push_back(std::move(result).value());
  }
  out.comparison = compare_scorecards(cards);
  if (std::any_of(out.results.begin(), out.results.end(),
                  [](const SimulationResult& r) { return !r.appraisals.empty(); })) {
    for (const SimulationResult& r : out.results) out.comparison.appraisals.push_back(r.appraisals);
  }
  add_headline_figures(out.comparison, headline);
  out.comparison.verdicts =
      design_verdicts(out.results, data.parameter("crma_single_country_limit"));
  if (options.runs > 0) {
    // The same ensemble seed for every design: run i of each design draws from the same seed,
    // so the bands differ by the design, not by the luck of the draws.
    const std::uint64_t seed = options.seed.value_or(scenarios.front().seed);
    std::vector<EnsembleSummary> ensembles;
    for (std::size_t d = 0; d < scenarios.size(); ++d) {
      Result<PreparedSimulation> prepared = prepare_simulation(data, scenarios[d]);
      if (!prepared.is_ok()) return in_context(prepared.status(), "design " + names[d]);
      EnsembleOptions ensemble;
      ensemble.seed = seed;
      ensemble.runs = options.runs;
      ensemble.threads = options.threads;
      Result<EnsembleRuns> runs = run_ensemble_share(
          prepared.value(), ensemble,
          [&](std::size_t done, std::size_t) { report(years_total, runs_before + done); });
      if (!runs.is_ok()) return in_context(runs.status(), "design " + names[d]);
      runs_before += options.runs;
      ensembles.push_back(summarize_ensemble(scenarios[d], seed, runs.value()));
    }
    add_ensemble_bands(out.comparison, ensembles);
  }
  return out;
}

namespace {

std::string value_text(const std::optional<double>& value, const std::string& unit,
                       const std::string& text) {
  std::string out = value ? format_amount(*value, unit) : "n/a";
  // A short qualifier (the country of a share) goes with the value; longer notes are dropped
  // here and kept in the JSON.
  if (!text.empty() && text.size() <= 4) out += " " + text;
  return out;
}

std::string difference_text(const std::optional<double>& difference, const std::string& unit) {
  if (!difference) return "";
  const std::string amount = format_amount(*difference, unit);
  if (amount == "0") return "=";
  return amount.front() == '-' ? amount : "+" + amount;
}

// The band of a headline figure for design d, when the comparison has ensemble bands.
const FigureBand* band_of(const Comparison& comparison, std::string_view name, std::size_t d) {
  for (const ComparedBand& band : comparison.bands) {
    if (band.name == name && d < band.bands.size() && band.bands[d]) return &*band.bands[d];
  }
  return nullptr;
}

// The verdict rows: one per question, a column per design (the deterministic run's figure; with
// --runs its P5-P95 on the next row), then a line per design naming what stands behind the
// figures.
std::string verdict_table(const Comparison& comparison, int label_width, std::size_t column) {
  const std::size_t n = comparison.designs.size();
  std::string out = "== verdict ==\n";
  const auto row = [&](const std::string& label, const std::string& unit, auto value_of) {
    out += fmt::format("{:<{}} {:<15}", label, label_width, unit);
    for (std::size_t d = 0; d < n; ++d) {
      out +=
          fmt::format(" {:>{}}", value_of(comparison.verdicts[d]), d == 0 ? column : column + 12);
    }
    out += "\n";
  };
  const auto band_row = [&](std::string_view figure, const std::string& unit) {
    if (comparison.bands.empty()) return;
    out += fmt::format("{:<{}} {:<15}", "  P5-P95 over the runs", label_width, "");
    for (std::size_t d = 0; d < n; ++d) {
      const FigureBand* b = band_of(comparison, figure, d);
      out += fmt::format(
          " {:>{}}",
          b ? fmt::format("{} to {}", format_amount(b->p5, unit), format_amount(b->p95, unit))
            : "n/a",
          d == 0 ? column : column + 12);
    }
    out += "\n";
  };
  for (const VerdictQuestion& q : kVerdictQuestions) {
    if (q.only_with_bom &&
        std::none_of(comparison.verdicts.begin(), comparison.verdicts.end(),
                     [&](const DesignVerdict& v) { return verdict_value(v, q.key).has_value(); })) {
      continue;
    }
    row(q.label, std::string(shown_unit(q.unit)), [&](const DesignVerdict& v) {
      const std::optional<double> value = verdict_value(v, q.key);
      return value ? format_amount(*value, q.unit) : std::string(q.only_with_bom ? "n/a" : "-");
    });
    if (q.band) band_row(q.band, q.unit);
  }
  for (std::size_t d = 0; d < n; ++d) {
    const DesignVerdict& v = comparison.verdicts[d];
    out += fmt::format("  {}: EU physical shortage: {}; {}; per point: {}; per USD avoided: {}\n",
                       comparison.designs[d], v.eu_physical_shortage_text, v.top_third_country_text,
                       v.fiscal_cost_per_point_text, v.fiscal_cost_per_shortage_text);
  }
  return out;
}

}  // namespace

std::string comparison_to_table(const Comparison& comparison) {
  const std::size_t n = comparison.designs.size();
  constexpr int kLabel = 70;
  // Columns as wide as the longest design name, so that no name is cut.
  std::size_t kColumn = 16;
  for (const std::string& design : comparison.designs) kColumn = std::max(kColumn, design.size());
  std::string out = fmt::format("{:<{}} {:<15}", "", kLabel, "unit");
  for (std::size_t d = 0; d < n; ++d) {
    out += fmt::format(" {:>{}}", comparison.designs[d], kColumn);
    if (d > 0) out += fmt::format(" {:>{}}", "diff", 11);
  }
  out += "\n";
  if (!comparison.verdicts.empty()) out += verdict_table(comparison, kLabel, kColumn);
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
      out += fmt::format(" {:>{}}", value_text(line.values[d], line.unit, line.texts[d]), kColumn);
      if (d > 0) out += fmt::format(" {:>{}}", difference_text(line.differences[d], line.unit), 11);
    }
    out += "\n";
  }
  if (!comparison.appraisals.empty()) {
    out += "== appraisals ==\n";
    for (std::size_t d = 0; d < comparison.appraisals.size() && d < n; ++d) {
      const std::vector<std::string> lines = appraisal_lines(comparison.appraisals[d]);
      if (lines.empty())
        out += fmt::format("{}: no [[appraisal]] project\n", comparison.designs[d]);
      for (const std::string& line : lines) {
        out += fmt::format("{}: {}\n", comparison.designs[d], line);
      }
    }
  }
  if (!comparison.bands.empty()) {
    out += fmt::format("== ensemble bands: P5 / P50 / P95 over {} runs per design ==\n",
                       comparison.runs);
    for (const ComparedBand& band : comparison.bands) {
      std::string label = figure_label_of(FigureGroup::kHeadline, band.name);
      if (label.size() > kLabel) label = label.substr(0, kLabel - 3) + "...";
      out += fmt::format("{:<{}} {:<15}", label, kLabel, shown_unit(band.unit));
      for (std::size_t d = 0; d < n; ++d) {
        const auto& b = band.bands[d];
        out += fmt::format(
            " {:>{}}",
            b ? fmt::format("{}/{}/{}", format_amount(b->p5, band.unit),
                            format_amount(b->p50, band.unit), format_amount(b->p95, band.unit))
              : "n/a",
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
  json verdict = json::array();
  for (const DesignVerdict& v : comparison.verdicts) {
    verdict.push_back({{"eu_physical_shortage_usd", v.eu_physical_shortage_usd},
                       {"eu_physical_shortage_share", v.eu_physical_shortage_share},
                       {"eu_physical_shortage_text", v.eu_physical_shortage_text},
                       {"top_third_country_share", v.top_third_country_share},
                       {"top_third_country_text", v.top_third_country_text},
                       {"dutch_cost_change_usd_per_yr", v.dutch_cost_change_usd_per_yr},
                       {"fiscal_cost_usd", v.fiscal_cost_usd},
                       {"fiscal_cost_per_point_usd", optional(v.fiscal_cost_per_point_usd)},
                       {"fiscal_cost_per_point_text", v.fiscal_cost_per_point_text},
                       {"fiscal_cost_per_shortage_usd", optional(v.fiscal_cost_per_shortage_usd)},
                       {"fiscal_cost_per_shortage_text", v.fiscal_cost_per_shortage_text}});
    if (v.company_cost_change_usd_per_yr) {
      verdict.back()["company_cost_change_usd_per_yr"] = *v.company_cost_change_usd_per_yr;
      verdict.back()["company_physical_shortage_usd_per_yr"] =
          optional(v.company_physical_shortage_usd_per_yr);
    }
  }
  json out = {{"designs", comparison.designs},
              {"verdict", std::move(verdict)},
              {"lines", std::move(lines)},
              {"headline", std::move(headline)},
              {"runs", comparison.runs},
              {"bands", std::move(bands)},
              {"path_bands", std::move(path_bands)}};
  // Only a compare whose designs appraise a project has the key: one list per design.
  if (!comparison.appraisals.empty()) {
    json appraisals = json::array();
    for (const std::vector<AppraisalRow>& design : comparison.appraisals) {
      appraisals.push_back(appraisal_rows_json(design));
    }
    out["appraisals"] = std::move(appraisals);
  }
  return out.dump(2) + "\n";
}

}  // namespace critmin::sim
