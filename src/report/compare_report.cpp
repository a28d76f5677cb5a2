// The report models of a compare and of an ensemble, results directories of every kind, and the
// tables of these models as XLSX and CSV (critmin/report/results_report.h, docs/report.md).
#include <fmt/format.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <tuple>

#include "core/csv.h"
#include "critmin/core/figures.h"
#include "critmin/core/files.h"
#include "critmin/report/results_report.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/ensemble.h"
#include "report/report_model.h"
#include "report/report_text.h"
#include "report/xlsx_support.h"
#include "sim/sqlite_database.h"

namespace critmin::report {

using nlohmann::json;

namespace {

// A scorecard line's value for people, by the line's unit (critmin/sim/scorecard.h: "%", "% of
// demand", "t", "days", "years", "USD", "USD/yr", "0-10000").
std::string show_line_value(double value, const std::string& unit) {
  // Shares below 0.05% keep two significant digits rather than showing as 0.0%.
  const bool tiny = value != 0.0 && std::fabs(value) < 0.05;
  if (unit == "%") return tiny ? fmt::format("{:.2g}%", value) : fmt::format("{:.1f}%", value);
  if (unit.rfind("% ", 0) == 0) {
    return tiny ? fmt::format("{:.2g}{}", value, unit) : fmt::format("{:.1f}{}", value, unit);
  }
  if (unit == "USD" || unit == "USD/yr") return money(value, unit);
  if (unit == "t" || unit == "t/yr") {
    if (std::fabs(value) >= 1000.0) return grouped_digits(value) + " " + unit;
    return fmt::format("{:.3g} {}", value, unit);
  }
  if (unit == "years" || unit == "days") return fmt::format("{:.0f} {}", value, unit);
  if (unit == "0-10000") return fmt::format("{:.0f}", value);
  if (unit.empty()) return fmt::format("{:.4g}", value);
  return fmt::format("{:.4g} {}", value, unit);
}

// A difference for people: percentage points for shares in %, signed otherwise.
std::string show_line_difference(double difference, const std::string& unit) {
  if (unit == "%" || unit.rfind("% ", 0) == 0) {
    return difference != 0.0 && std::fabs(difference) < 0.05
               ? fmt::format("{:+.2g} points", difference)
               : fmt::format("{:+.1f} points", difference);
  }
  const std::string shown = show_line_value(difference, unit);
  return difference > 0.0 ? "+" + shown : shown;
}

// The size of a difference in a sentence ("7.65 t lower"): points for shares in %.
std::string show_line_size(double size, const std::string& unit) {
  if (unit == "%" || unit.rfind("% ", 0) == 0) {
    return size < 0.05 ? fmt::format("{:.2g} points", size) : fmt::format("{:.1f} points", size);
  }
  return show_line_value(size, unit);
}

// Headline figures (critmin/sim/headline.h) for people, by their units.
std::string show_figure(double value, const std::string& unit) {
  if (unit == "share") return fmt::format("{:.1f}%", 100.0 * value);
  if (unit == "USD") return money(value, "USD");
  if (unit == "USD/t" || unit == "t") {
    if (std::fabs(value) >= 1000.0) return grouped_digits(value) + " " + unit;
    return fmt::format("{:.3g} {}", value, unit);
  }
  if (unit == "years" || unit == "count") return fmt::format("{:.3g} {}", value, unit);
  return fmt::format("{:.4g} {}", value, unit);
}

// Which way is better on a scorecard line: the direction of its figure in the output table
// (critmin/core/figures.h) as +1 (up), -1 (down) or 0 (neutral). Lines are checked against the
// table when compare.json is read, so every key here has a row.
int better_direction(const std::string& key) {
  Result<const FigureAttributes*> figure =
      find_figure(FigureGroup::kScorecard, figure_name_of(FigureGroup::kScorecard, key));
  if (!figure.is_ok()) return 0;
  switch (figure.value()->better) {
    case Better::kUp:
      return +1;
    case Better::kDown:
      return -1;
    case Better::kNeutral:
      break;
  }
  return 0;
}

// A results file's figure names must all be in the output table: a file of another critmin
// version may carry figures this one cannot label, unit or judge, and these are errors rather
// than numbers shown without a meaning.
Status check_figure_names(const json& items, const char* field, FigureGroup group,
                          const std::string& file) {
  if (!items.is_array()) return Status::ok();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string key = string_or(items[i], field);
    Result<const FigureAttributes*> figure = find_figure(group, figure_name_of(group, key));
    if (!figure.is_ok()) {
      return Status::invalid_input(
          fmt::format("{}: entry {} ({}): {}", file, i, key, figure.status().message()));
    }
  }
  return Status::ok();
}

bool same_value(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

std::string card_group(const std::string& card) {
  if (card == "supply security") return "Supply security";
  if (card == "attribution") return "Attribution: against the same world without the instruments";
  return "Consequences for Dutch businesses";
}

std::optional<double> optional_number(const json& value) {
  if (value.is_number()) return value.get<double>();
  return std::nullopt;
}

json column(const std::string& key, const std::string& label, const std::string& unit = "") {
  return {{"key", key}, {"label", label}, {"unit", unit}};
}

// Columns `<key>_p5`, `_p50`, `_p95` ("world price P5", ...) for each (key, label, unit) of a
// yearly path with ensemble bands.
void append_band_columns(
    json& columns,
    const std::vector<std::tuple<std::string, std::string, std::string>>& key_label_unit) {
  for (const auto& [key, label, unit] : key_label_unit) {
    for (const char* q : {"p5", "p50", "p95"}) {
      std::string upper = q;
      upper[0] = 'P';
      columns.push_back(column(key + "_" + q, fmt::format("{} {}", label, upper), unit));
    }
  }
}

// The lines of compare.json with displays, verdicts and sentences; fills the table rows too.
json compare_scorecards(const json& comparison, const std::vector<std::string>& designs,
                        json& summaries, json& table) {
  const std::size_t n = designs.size();
  json out = json::array();
  // better / worse / same counts per card and later design
  std::map<std::string, std::vector<std::array<int, 3>>> counts;
  std::vector<std::string> card_order;
  json columns = json::array({column("card", "card"), column("key", "key"),
                              column("label", "figure"), column("unit", "unit")});
  for (std::size_t d = 0; d < n; ++d) {
    columns.push_back(column(fmt::format("value_{}", d), designs[d]));
    if (d > 0) {
      columns.push_back(column(fmt::format("difference_{}", d), designs[d] + " - " + designs[0]));
    }
    columns.push_back(column(fmt::format("note_{}", d), designs[d] + " note"));
  }
  json rows = json::array();
  for (const json& line : comparison["lines"]) {
    const std::string card = string_or(line, "card");
    const std::string key = string_or(line, "key");
    const std::string label = string_or(line, "label");
    const std::string unit = string_or(line, "unit");
    const int direction = better_direction(key);
    if (!counts.count(card)) {
      card_order.push_back(card);
      counts[card].assign(n, {0, 0, 0});
    }
    json values = json::array(), displays = json::array(), texts = json::array(),
         differences = json::array(), difference_displays = json::array(), verdicts = json::array(),
         sentences = json::array();
    json row = {{"card", card}, {"key", key}, {"label", label}, {"unit", unit}};
    const std::optional<double> reference = optional_number(line["values"][0]);
    for (std::size_t d = 0; d < n; ++d) {
      const std::optional<double> value = optional_number(line["values"][d]);
      const std::string text =
          line["texts"][d].is_string() ? line["texts"][d].get<std::string>() : std::string();
      std::string shown = value ? show_line_value(*value, unit) : (text.empty() ? "n/a" : text);
      // A short qualifier (the country of a share, the worst year) belongs with the figure.
      if (value && !text.empty() && text.size() <= 4) shown += " (" + text + ")";
      const json value_json = line["values"][d].is_number() ? line["values"][d] : json();
      values.push_back(value_json);
      displays.push_back(shown);
      texts.push_back(text);
      row[fmt::format("value_{}", d)] = value_json;
      row[fmt::format("note_{}", d)] = text;
      if (d == 0) {
        differences.push_back(nullptr);
        difference_displays.push_back("");
        verdicts.push_back("");
        sentences.push_back("");
        continue;
      }
      const std::string subject = fmt::format("In {}, {}", designs[d], label);
      std::string verdict, sentence;
      if (value && reference) {
        const double difference = *value - *reference;
        differences.push_back(difference);
        row[fmt::format("difference_{}", d)] = difference;
        if (same_value(*value, *reference)) {
          verdict = direction != 0 ? "same" : "";
          difference_displays.push_back("=");
          sentence = fmt::format("{} is {}, the same as in {}.", subject, shown, designs[0]);
        } else {
          difference_displays.push_back(show_line_difference(difference, unit));
          if (direction != 0) verdict = (difference * direction > 0.0) ? "better" : "worse";
          std::string judgement;
          if (!verdict.empty()) {
            judgement = fmt::format(": {} for {}", verdict,
                                    card == "supply security" ? "supply security"
                                    : card == "attribution"   ? "what the instruments themselves do"
                                                            : "Dutch businesses and the treasury");
          }
          sentence = fmt::format("{} is {}, {} {} than in {} ({}){}.", subject, shown,
                                 show_line_size(std::fabs(difference), unit),
                                 difference > 0.0 ? "higher" : "lower", designs[0],
                                 displays[0].get<std::string>(), judgement);
        }
      } else {
        differences.push_back(nullptr);
        row[fmt::format("difference_{}", d)] = nullptr;
        difference_displays.push_back("");
        if (value) {
          sentence = fmt::format("{} is {}; {} has no such figure.", subject, shown, designs[0]);
        } else if (reference) {
          sentence = fmt::format("{} has no figure ({}); {} has {}.", subject, shown, designs[0],
                                 displays[0].get<std::string>());
        } else {
          sentence = fmt::format("{}: no figure in either design.", subject);
        }
      }
      if (verdict == "better") ++counts[card][d][0];
      if (verdict == "worse") ++counts[card][d][1];
      if (verdict == "same") ++counts[card][d][2];
      verdicts.push_back(verdict);
      sentences.push_back(sentence);
    }
    rows.push_back(std::move(row));
    out.push_back({{"group", card_group(card)},
                   {"key", key},
                   {"label", label},
                   {"unit", unit},
                   {"values", values},
                   {"displays", displays},
                   {"texts", texts},
                   {"differences", differences},
                   {"difference_displays", difference_displays},
                   {"verdicts", verdicts},
                   {"sentences", sentences}});
  }
  for (const std::string& card : card_order) {
    for (std::size_t d = 1; d < n; ++d) {
      const auto& [better, worse, same] = counts[card][d];
      const int judged = better + worse + same;
      summaries.push_back(
          {{"group", card_group(card)},
           {"design", designs[d]},
           {"better", better},
           {"worse", worse},
           {"same", same},
           {"text",
            fmt::format("{}: against {}, {} is better on {} and worse on {} of the {} "
                        "figures that have a better direction ({} unchanged).",
                        card_group(card), designs[0], designs[d], better, worse, judged, same)}});
    }
  }
  table = {{"name", "scorecards"},
           {"title", "Scorecards side by side"},
           {"columns", columns},
           {"rows", rows}};
  return out;
}

// The verdict of compare.json (critmin/sim/compare.h DesignVerdict): one row per question with
// each design's value, display, note and, with --runs, its P5-P95 over the design's ensemble; the
// first screen of the HTML report and the first sheet of the XLSX (issue: compare leads with the
// verdict). Fills `table`; an empty array when compare.json has no verdict (written before it).
json verdict_rows(const json& comparison, const std::vector<std::string>& designs, json& table) {
  const std::size_t n = designs.size();
  const std::size_t runs = comparison.value("runs", 0);
  json columns = json::array({column("question", "question"), column("unit", "unit")});
  for (std::size_t d = 0; d < n; ++d) {
    columns.push_back(column(fmt::format("value_{}", d), designs[d]));
    if (runs > 0) {
      columns.push_back(column(fmt::format("p5_{}", d), designs[d] + " P5"));
      columns.push_back(column(fmt::format("p95_{}", d), designs[d] + " P95"));
    }
    columns.push_back(column(fmt::format("note_{}", d), designs[d] + " note"));
  }
  json out = json::array(), rows = json::array();
  const json* verdict = comparison.contains("verdict") && comparison["verdict"].is_array() &&
                                comparison["verdict"].size() == n
                            ? &comparison["verdict"]
                            : nullptr;
  for (const sim::VerdictQuestion& q : sim::kVerdictQuestions) {
    if (!verdict) break;
    // The company's rows (--bom) only when some design has them.
    if (q.only_with_bom && std::none_of((*verdict).begin(), (*verdict).end(),
                                        [&](const json& e) { return e.contains(q.key); })) {
      continue;
    }
    json values = json::array(), displays = json::array(), notes = json::array(),
         bands = json::array();
    json row = {{"question", q.label}, {"unit", std::string(shown_unit(q.unit))}};
    const json* band = nullptr;
    if (q.band && comparison.contains("bands")) {
      for (const json& b : comparison["bands"]) {
        if (string_or(b, "name") == q.band) band = &b;
      }
    }
    for (std::size_t d = 0; d < n; ++d) {
      const json& entry = (*verdict)[d];
      const json value = entry.contains(q.key) && entry[q.key].is_number() ? entry[q.key] : json();
      values.push_back(value);
      displays.push_back(value.is_number() ? format_figure(value.get<double>(), q.unit) : "-");
      const std::string note = q.note ? string_or(entry, q.note) : std::string();
      notes.push_back(note);
      row[fmt::format("value_{}", d)] = value;
      row[fmt::format("note_{}", d)] = note;
      json shown_band;
      if (band && (*band)["p5"].size() == n && (*band)["p5"][d].is_number() &&
          (*band)["p95"][d].is_number()) {
        const double p5 = (*band)["p5"][d], p95 = (*band)["p95"][d];
        shown_band = {{"p5", p5},
                      {"p95", p95},
                      {"display", fmt::format("P5–P95: {} to {}", format_figure(p5, q.unit),
                                              format_figure(p95, q.unit))}};
        row[fmt::format("p5_{}", d)] = p5;
        row[fmt::format("p95_{}", d)] = p95;
      } else if (runs > 0) {
        row[fmt::format("p5_{}", d)] = nullptr;
        row[fmt::format("p95_{}", d)] = nullptr;
      }
      bands.push_back(shown_band);
    }
    rows.push_back(std::move(row));
    out.push_back({{"key", q.key},
                   {"label", q.label},
                   {"unit", q.unit},
                   {"values", std::move(values)},
                   {"displays", std::move(displays)},
                   {"notes", std::move(notes)},
                   {"bands", std::move(bands)}});
  }
  table = {{"name", "verdict"},
           {"title", "Verdict: supply security and cost per design"},
           {"columns", columns},
           {"rows", rows}};
  return out;
}

// "gallium.world_price_mean" -> {"gallium", "world_price_mean"}; run figures have no material.
std::pair<std::string, std::string> split_figure(const std::string& name) {
  const std::size_t dot = name.find('.');
  if (dot == std::string::npos) return {"", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

// A headline figure's title from the output table ("world_price_mean" -> "Mean world processing
// price over the years"); names are checked against the table when a results file is read.
std::string figure_title(const std::string& figure) {
  Result<const FigureAttributes*> found = find_figure(FigureGroup::kHeadline, figure);
  std::string title = found.is_ok() ? found.value()->label : figure;
  if (!title.empty()) {
    title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
  }
  return title;
}

// The headline figures in chart groups: one group per figure kind (world_price_mean, ...) with
// the materials as labels, one per run figure; each group holds one value per design and label
// and, with bands, P5/P50/P95 likewise.
json headline_groups(const json& comparison, const std::vector<std::string>& designs,
                     json& headline_table, json& bands_table) {
  const std::size_t n = designs.size();
  std::map<std::string, json> bands_by_name;
  if (comparison.contains("bands") && comparison["bands"].is_array()) {
    for (const json& band : comparison["bands"]) bands_by_name[string_or(band, "name")] = band;
  }
  std::vector<std::string> order;
  std::map<std::string, json> groups;
  json headline_rows = json::array(), band_rows = json::array();
  const json& figures = comparison.contains("headline") && comparison["headline"].is_array()
                            ? comparison["headline"]
                            : json::array();
  for (const json& figure : figures) {
    const std::string name = string_or(figure, "name");
    const std::string unit = string_or(figure, "unit");
    const auto [material, kind] = split_figure(name);
    const std::string group_id = material.empty() ? name : kind;
    if (!groups.count(group_id)) {
      order.push_back(group_id);
      groups[group_id] = {
          {"id", group_id},           {"title", figure_title(kind)}, {"unit", unit},
          {"labels", json::array()},  {"names", json::array()},      {"values", json::array()},
          {"displays", json::array()}};
      for (std::size_t d = 0; d < n; ++d) {
        groups[group_id]["values"].push_back(json::array());
        groups[group_id]["displays"].push_back(json::array());
      }
    }
    json& group = groups[group_id];
    group["labels"].push_back(material.empty() ? figure_title(kind) : material);
    group["names"].push_back(name);
    json row = {{"figure", name}, {"unit", unit}};
    for (std::size_t d = 0; d < n; ++d) {
      const std::optional<double> value = figure["values"].is_array() && d < figure["values"].size()
                                              ? optional_number(figure["values"][d])
                                              : std::nullopt;
      const json value_json = figure["values"].is_array() && d < figure["values"].size() &&
                                      figure["values"][d].is_number()
                                  ? figure["values"][d]
                                  : json();
      group["values"][d].push_back(value_json);
      group["displays"][d].push_back(value ? show_figure(*value, unit) : "n/a");
      row[fmt::format("value_{}", d)] = value_json;
    }
    headline_rows.push_back(std::move(row));
    if (auto it = bands_by_name.find(name); it != bands_by_name.end()) {
      if (!group.contains("bands")) {
        group["bands"] = {{"p5", json::array()}, {"p50", json::array()}, {"p95", json::array()}};
        for (const char* q : {"p5", "p50", "p95"}) {
          for (std::size_t d = 0; d < n; ++d) group["bands"][q].push_back(json::array());
        }
      }
      for (const char* q : {"p5", "p50", "p95"}) {
        for (std::size_t d = 0; d < n; ++d) {
          const json& values = it->second[q];
          group["bands"][q][d].push_back(values.is_array() && d < values.size() ? values[d]
                                                                                : json());
        }
      }
      for (std::size_t d = 0; d < n; ++d) {
        const json& b = it->second;
        const auto at = [&](const char* q) {
          return b[q].is_array() && d < b[q].size() ? b[q][d] : json();
        };
        band_rows.push_back({{"figure", name},
                             {"unit", unit},
                             {"design", designs[d]},
                             {"p5", at("p5")},
                             {"p50", at("p50")},
                             {"p95", at("p95")}});
      }
    }
  }
  json headline_columns = json::array({column("figure", "figure"), column("unit", "unit")});
  for (std::size_t d = 0; d < n; ++d) {
    headline_columns.push_back(column(fmt::format("value_{}", d), designs[d]));
  }
  headline_table = {{"name", "headline"},
                    {"title", "Headline figures per design"},
                    {"columns", headline_columns},
                    {"rows", headline_rows}};
  bands_table = {{"name", "bands"},
                 {"title", "Ensemble bands: P5 / P50 / P95 of the headline figures per design"},
                 {"columns", json::array({column("figure", "figure"), column("unit", "unit"),
                                          column("design", "design"), column("p5", "P5"),
                                          column("p50", "P50"), column("p95", "P95")})},
                 {"rows", band_rows}};
  json out = json::array();
  for (const std::string& id : order) out.push_back(groups[id]);
  return out;
}

// A design's yearly paths, from its simulation report model (build_report_model), so that the
// compare shows the same world price, shortfall and concentration as each design's own report.
struct DesignPaths {
  std::vector<int> years;
  std::vector<json> world_price;   // USD/t or null
  std::vector<json> eu_shortfall;  // t/yr or null
  std::string shortfall_area;
  std::vector<json> top_share;    // 0-1 or null
  std::vector<json> top_country;  // ISO3 or null
};

DesignPaths design_paths(const json& material) {
  DesignPaths p;
  for (const json& y : material["years"]) p.years.push_back(y.get<int>());
  const std::size_t n = p.years.size();
  p.world_price.assign(n, nullptr);
  p.eu_shortfall.assign(n, nullptr);
  p.top_share.assign(n, nullptr);
  p.top_country.assign(n, nullptr);
  const json& lines = material["price"]["lines"];
  if (lines.is_array() && !lines.empty()) {
    for (std::size_t i = 0; i < n && i < lines[0]["values"].size(); ++i) {
      p.world_price[i] = lines[0]["values"][i];
    }
  }
  const json& areas = material["shortfall"]["areas"];
  if (areas.is_array() && !areas.empty()) {
    const json* chosen = &areas[0];
    for (const json& a : areas) {
      if (string_or(a, "area") == "EU27") chosen = &a;
    }
    p.shortfall_area = string_or(*chosen, "area");
    for (std::size_t i = 0; i < n && i < (*chosen)["values"].size(); ++i) {
      p.eu_shortfall[i] = (*chosen)["values"][i];
    }
  }
  for (const json& line : material["concentration"]["lines"]) {
    if (string_or(line, "stage") != "processing") continue;
    for (std::size_t i = 0; i < n && i < line["share"].size(); ++i) {
      p.top_share[i] = line["share"][i];
      p.top_country[i] =
          line["country"].is_array() && i < line["country"].size() ? line["country"][i] : json();
    }
  }
  return p;
}

// The yearly band `name` of a list of path bands (compare.json's path_bands of a design, an
// ensemble summary's paths) on the years first..first+count-1: {"p5", "p50", "p95"} with null
// where the band has no year; null when the list has no such band.
json band_on_years(const json& bands, const std::string& name, int first, std::size_t count) {
  if (!bands.is_array()) return nullptr;
  for (const json& band : bands) {
    if (string_or(band, "name") != name) continue;
    const int band_first = band.value("first_year", 0);
    json out = json::object();
    for (const char* q : {"p5", "p50", "p95"}) {
      std::vector<json> values(count, nullptr);
      if (band.contains(q) && band[q].is_array()) {
        for (std::size_t i = 0; i < band[q].size(); ++i) {
          const long at = static_cast<long>(i) + band_first - first;
          if (at >= 0 && static_cast<std::size_t>(at) < count) {
            values[static_cast<std::size_t>(at)] = band[q][i];
          }
        }
      }
      out[q] = values;
    }
    return out;
  }
  return nullptr;
}

}  // namespace

Result<ReportModel> build_compare_report_model(std::string_view comparison_json,
                                               const std::vector<std::string>& design_summaries,
                                               const Dataset& data) {
  const json comparison = json::parse(comparison_json, nullptr, false);
  if (comparison.is_discarded() || !comparison.is_object()) {
    return Status::invalid_input("compare.json: not a JSON object; write it with critmin compare");
  }
  if (!comparison.contains("designs") || !comparison["designs"].is_array() ||
      comparison["designs"].size() < 2) {
    return Status::invalid_input(
        "compare.json: field 'designs' (an array of at least two names) is missing; is this the "
        "compare.json of `critmin compare --out DIR`?");
  }
  std::vector<std::string> designs;
  for (const json& d : comparison["designs"]) {
    if (!d.is_string()) return Status::invalid_input("compare.json: 'designs' must hold names");
    designs.push_back(d.get<std::string>());
  }
  const std::size_t n = designs.size();
  if (!comparison.contains("lines") || !comparison["lines"].is_array()) {
    return Status::invalid_input("compare.json: field 'lines' (an array) is missing");
  }
  for (std::size_t i = 0; i < comparison["lines"].size(); ++i) {
    const json& line = comparison["lines"][i];
    for (const char* field : {"values", "texts", "differences"}) {
      if (!line.is_object() || !line.contains(field) || !line[field].is_array() ||
          line[field].size() != n) {
        return Status::invalid_input(fmt::format(
            "compare.json: lines[{}].{} must be an array with one entry per design ({})", i, field,
            n));
      }
    }
  }
  if (Status s = check_figure_names(comparison["lines"], "key", FigureGroup::kScorecard,
                                    "compare.json: lines");
      !s.is_ok()) {
    return s;
  }
  if (comparison.contains("headline")) {
    if (Status s = check_figure_names(comparison["headline"], "name", FigureGroup::kHeadline,
                                      "compare.json: headline");
        !s.is_ok()) {
      return s;
    }
  }
  if (design_summaries.size() != n) {
    return Status::invalid_input(
        fmt::format("compare: {} design summaries for the {} designs of compare.json",
                    design_summaries.size(), n));
  }

  json model;
  model["kind"] = "compare";
  std::string names;
  for (std::size_t d = 0; d < n; ++d) names += (d ? " vs " : "") + designs[d];
  model["title"] = "critmin compare: " + names;
  model["reference"] = designs[0];
  model["runs"] = comparison.value("runs", 0);
  json notes = json::array();

  // Each design's own report model: its scorecards in plain words and its yearly paths.
  json design_info = json::array(), design_scorecards = json::array();
  std::vector<json> design_models;
  for (std::size_t d = 0; d < n; ++d) {
    Result<ReportModel> own = build_report_model(design_summaries[d], data);
    if (!own.is_ok()) {
      return Status::invalid_input(
          fmt::format("design {} ({}): {}", d + 1, designs[d], own.status().message()));
    }
    json design_model = own.value().charts().fields;
    const json summary = json::parse(design_summaries[d]);
    design_info.push_back({{"name", designs[d]},
                           {"scenario", string_or(summary, "scenario")},
                           {"years", summary["years"]},
                           {"seed", summary.value("seed", 0ull)},
                           {"materials", summary["materials"]}});
    design_scorecards.push_back({{"design", designs[d]}, {"cards", design_model["scorecards"]}});
    for (const std::string& note : own.value().notes()) notes.push_back(designs[d] + ": " + note);
    design_models.push_back(std::move(design_model));
  }
  model["designs"] = design_info;

  json verdict_table;
  model["verdict"] = verdict_rows(comparison, designs, verdict_table);
  json summaries = json::array(), scorecard_table;
  model["scorecards"] = compare_scorecards(comparison, designs, summaries, scorecard_table);
  model["summaries"] = summaries;
  model["design_scorecards"] = design_scorecards;
  json headline_table, bands_table;
  model["headline"] = headline_groups(comparison, designs, headline_table, bands_table);

  // Per material, the designs' paths over the years any of them simulates.
  std::vector<std::string> materials;
  for (const json& dm : design_models) {
    for (const json& m : dm["materials"]) {
      const std::string id = string_or(m, "id");
      if (std::find(materials.begin(), materials.end(), id) == materials.end()) {
        materials.push_back(id);
      }
    }
  }
  json material_models = json::array();
  json path_rows = json::array();
  for (const std::string& id : materials) {
    std::vector<std::optional<DesignPaths>> paths(n);
    int first = 0, last = 0;
    std::string name = id;
    for (std::size_t d = 0; d < n; ++d) {
      for (const json& m : design_models[d]["materials"]) {
        if (string_or(m, "id") != id) continue;
        paths[d] = design_paths(m);
        name = string_or(m, "name", id);
        if (!paths[d]->years.empty()) {
          first = first == 0 ? paths[d]->years.front() : std::min(first, paths[d]->years.front());
          last = std::max(last, paths[d]->years.back());
        }
      }
    }
    json years = json::array();
    for (int y = first; first > 0 && y <= last; ++y) years.push_back(y);
    json price = json::array(), shortfall = json::array(), concentration = json::array();
    for (std::size_t d = 0; d < n; ++d) {
      std::vector<json> p(years.size(), nullptr), s(years.size(), nullptr),
          c(years.size(), nullptr), country(years.size(), nullptr);
      std::string area;
      if (paths[d]) {
        const DesignPaths& dp = *paths[d];
        area = dp.shortfall_area;
        for (std::size_t i = 0; i < dp.years.size(); ++i) {
          const std::size_t at = static_cast<std::size_t>(dp.years[i] - first);
          p[at] = dp.world_price[i];
          s[at] = dp.eu_shortfall[i];
          c[at] = dp.top_share[i];
          country[at] = dp.top_country[i];
          path_rows.push_back({{"design", designs[d]},
                               {"material", id},
                               {"year", dp.years[i]},
                               {"world_price", dp.world_price[i]},
                               {"shortfall_area", area},
                               {"shortfall", dp.eu_shortfall[i]},
                               {"largest_third_country", dp.top_country[i]},
                               {"largest_third_country_share", dp.top_share[i]}});
        }
      }
      json price_line = {{"label", designs[d]}, {"values", p}};
      json shortfall_line = {{"label", designs[d]}, {"area", area}, {"values", s}};
      json share_line = {{"label", designs[d]}, {"share", c}, {"country", country}};
      // With --runs, each design's yearly P5/P50/P95 over its ensemble.
      const json& design_bands = comparison.contains("path_bands") &&
                                         comparison["path_bands"].is_array() &&
                                         d < comparison["path_bands"].size()
                                     ? comparison["path_bands"][d]
                                     : json();
      const json price_band = band_on_years(design_bands, id + ".world_price", first, years.size());
      const json shortfall_band =
          band_on_years(design_bands, id + ".eu_shortfall", first, years.size());
      const json share_band =
          band_on_years(design_bands, id + ".top_third_country_share", first, years.size());
      if (!price_band.is_null()) price_line["band"] = price_band;
      if (!shortfall_band.is_null() && area == "EU27") shortfall_line["band"] = shortfall_band;
      if (!share_band.is_null()) share_line["band"] = share_band;
      if (paths[d]) {
        for (std::size_t i = 0; i < paths[d]->years.size(); ++i) {
          const auto at = static_cast<std::size_t>(paths[d]->years[i] - first);
          json& row = path_rows[path_rows.size() - paths[d]->years.size() + i];
          const auto put = [&](const json& band, const std::string& prefix) {
            if (band.is_null()) return;
            for (const char* q : {"p5", "p50", "p95"}) row[prefix + "_" + q] = band[q][at];
          };
          put(price_band, "world_price");
          put(shortfall_line.contains("band") ? shortfall_band : json(), "shortfall");
          put(share_band, "largest_third_country_share");
        }
      }
      price.push_back(std::move(price_line));
      shortfall.push_back(std::move(shortfall_line));
      concentration.push_back(std::move(share_line));
    }
    material_models.push_back({{"id", id},
                               {"name", name},
                               {"years", years},
                               {"price", {{"unit", "USD/t"}, {"lines", price}}},
                               {"shortfall", {{"unit", "t/yr"}, {"lines", shortfall}}},
                               {"concentration",
                                {{"stage", "processing"},
                                 {"limit", data.parameter("crma_single_country_limit")},
                                 {"lines", concentration}}}});
  }
  model["materials"] = material_models;

  json paths_table = {
      {"name", "paths"},
      {"title", "Yearly paths per design and material"},
      {"columns",
       json::array({column("design", "design"), column("material", "material"),
                    column("year", "year"), column("world_price", "world price", "USD/t"),
                    column("shortfall_area", "shortfall area"),
                    column("shortfall", "shortfall", "t/yr"),
                    column("largest_third_country", "largest third country"),
                    column("largest_third_country_share",
                           "largest third country's processing share", "0-1")})},
      {"rows", path_rows}};
  if (model["runs"].get<std::size_t>() > 0) {
    append_band_columns(paths_table["columns"],
                        {{"world_price", "world price", "USD/t"},
                         {"shortfall", "shortfall", "t/yr"},
                         {"largest_third_country_share", "largest third country's share", "0-1"}});
  }
  json tables = json::array();
  if (!verdict_table["rows"].empty()) tables.push_back(verdict_table);
  tables.push_back(scorecard_table);
  tables.push_back(headline_table);
  if (!bands_table["rows"].empty()) tables.push_back(bands_table);
  tables.push_back(paths_table);
  model["tables"] = tables;
  if (model["runs"].get<std::size_t>() > 0) {
    notes.push_back(fmt::format(
        "Bands: each design ran as an ensemble of {} runs with the same ensemble seed; the "
        "scorecards, the headline bars and the lines of the paths are each design's "
        "deterministic run (its scenario seed), the shaded bands P5-P95 over its ensemble.",
        model["runs"].get<std::size_t>()));
  }
  model["notes"] = notes;
  return report_model_from_document(ResultsKind::kCompare, std::move(model));
}

// ---- ensembles ---------------------------------------------------------------------------------

namespace {

// A histogram of `values` in `bins` equal-width bins from the lowest to the highest value (one bin
// when they are all equal); the last bin includes its upper edge.
json histogram(const std::vector<double>& values, const std::string& unit, int bins) {
  json edges = json::array(), counts = json::array(), labels = json::array();
  if (values.empty()) return {{"edges", edges}, {"counts", counts}, {"labels", labels}};
  const auto [low_it, high_it] = std::minmax_element(values.begin(), values.end());
  const double low = *low_it, high = *high_it;
  if (same_value(low, high)) bins = 1;
  const double width = bins == 1 ? 0.0 : (high - low) / bins;
  std::vector<int> count(static_cast<std::size_t>(bins), 0);
  for (double v : values) {
    int b = width > 0.0 ? static_cast<int>((v - low) / width) : 0;
    count[static_cast<std::size_t>(std::clamp(b, 0, bins - 1))]++;
  }
  for (int b = 0; b <= bins; ++b) edges.push_back(b == bins ? high : low + b * width);
  for (int b = 0; b < bins; ++b) {
    counts.push_back(count[static_cast<std::size_t>(b)]);
    labels.push_back(
        bins == 1 ? show_figure(low, unit)
                  : fmt::format("{} – {}", show_figure(low + b * width, unit),
                                show_figure(b + 1 == bins ? high : low + (b + 1) * width, unit)));
  }
  return {{"edges", edges}, {"counts", counts}, {"labels", labels}};
}

}  // namespace

Result<ReportModel> build_ensemble_report_model(std::string_view ensemble_summary_json,
                                                std::string_view distribution_json,
                                                const Dataset& data) {
  const json summary = json::parse(ensemble_summary_json, nullptr, false);
  if (summary.is_discarded() || !summary.is_object() || !summary.contains("figures") ||
      !summary["figures"].is_array() || !summary.contains("runs") ||
      !summary["runs"].is_number_unsigned()) {
    return Status::invalid_input(
        "summary.json: not an ensemble summary (fields 'figures' and 'runs'); write it with "
        "critmin ensemble --out DIR");
  }
  if (Status s = check_figure_names(summary["figures"], "name", FigureGroup::kHeadline,
                                    "summary.json: figures");
      !s.is_ok()) {
    return s;
  }
  const json distribution = json::parse(distribution_json, nullptr, false);
  if (distribution.is_discarded() || !distribution.is_object() ||
      !distribution.contains("figures") || !distribution["figures"].is_array()) {
    return Status::invalid_input(
        "ensemble distribution: not {\"figures\": [{\"name\", \"unit\", \"values\"}]}");
  }
  const std::size_t runs = summary["runs"].get<std::size_t>();
  std::map<std::string, std::vector<double>> values_of;
  for (const json& f : distribution["figures"]) {
    std::vector<double> values;
    if (!f.contains("values") || !f["values"].is_array()) {
      return Status::invalid_input("ensemble distribution: every figure needs 'values'");
    }
    for (const json& v : f["values"]) {
      if (!v.is_number()) return Status::invalid_input("ensemble distribution: values are numbers");
      values.push_back(v.get<double>());
    }
    if (values.size() != runs) {
      return Status::invalid_input(fmt::format(
          "ensemble distribution: figure {} has {} values for the {} runs of the summary",
          string_or(f, "name"), values.size(), runs));
    }
    values_of[string_or(f, "name")] = std::move(values);
  }

  json model;
  const std::string scenario = string_or(summary, "scenario");
  model["kind"] = "ensemble";
  model["scenario"] = scenario;
  model["title"] = fmt::format("critmin ensemble: {} ({} runs, seed {})",
                               scenario.empty() ? "(unnamed scenario)" : scenario, runs,
                               summary.value("seed", 0ull));
  model["years"] = summary.value("years", json::array());
  model["seed"] = summary.value("seed", 0ull);
  model["runs"] = runs;
  json figures = json::array(), distributions = json::array(), figure_rows = json::array();
  std::map<std::string, json> price_bands;
  std::vector<std::string> price_order;
  json run_rows = json::array();
  for (std::size_t r = 0; r < runs; ++r) run_rows.push_back({{"run", r}});
  json run_columns = json::array({column("run", "run")});
  for (const json& f : summary["figures"]) {
    const std::string name = string_or(f, "name");
    const std::string unit = string_or(f, "unit");
    const auto q = [&](const char* key) {
      return f.contains(key) && f[key].is_number() ? f[key].get<double>() : 0.0;
    };
    const auto [material, kind] = split_figure(name);
    const std::string subject = material.empty()
                                    ? figure_title(kind)
                                    : fmt::format("{} ({})", figure_title(kind), material);
    json row = {{"figure", name}, {"unit", unit}};
    for (const char* statistic : {"p5", "p50", "p95", "mean", "min", "max"}) {
      row[statistic] = q(statistic);
    }
    json figure = row;
    figure.erase("figure");
    figure["name"] = name;
    figure["label"] = subject;
    figure.update(json{
        {"display", fmt::format("{} / {} / {}", show_figure(q("p5"), unit),
                                show_figure(q("p50"), unit), show_figure(q("p95"), unit))},
        {"text", fmt::format("{}: in 90% of the {} runs between {} (P5) and {} (P95), median {}; "
                             "lowest {}, highest {}.",
                             subject, runs, show_figure(q("p5"), unit), show_figure(q("p95"), unit),
                             show_figure(q("p50"), unit), show_figure(q("min"), unit),
                             show_figure(q("max"), unit))}});
    figures.push_back(std::move(figure));
    figure_rows.push_back(std::move(row));
    auto values = values_of.find(name);
    if (values == values_of.end()) {
      return Status::invalid_input(
          fmt::format("ensemble distribution: figure {} of the summary has no values", name));
    }
    json h = histogram(values->second, unit,
                       std::min<int>(12, std::max<int>(1, static_cast<int>(runs))));
    h["name"] = name;
    h["label"] = subject;
    h["unit"] = unit;
    distributions.push_back(std::move(h));
    const std::string key = fmt::format("value_{}", run_columns.size() - 1);
    run_columns.push_back(column(key, name, unit == "share" ? "0-1" : unit));
    for (std::size_t r = 0; r < runs; ++r) run_rows[r][key] = values->second[r];
    if (!material.empty() && kind.rfind("world_price", 0) == 0) {
      if (!price_bands.count(material)) {
        price_order.push_back(material);
        const Material* m = data.find_material(material);
        price_bands[material] = {{"material", material}, {"name", m ? m->name : material},
                                 {"unit", unit},         {"labels", json::array()},
                                 {"p5", json::array()},  {"p50", json::array()},
                                 {"p95", json::array()}};
      }
      json& band = price_bands[material];
      band["labels"].push_back(figure_title(kind));
      band["p5"].push_back(q("p5"));
      band["p50"].push_back(q("p50"));
      band["p95"].push_back(q("p95"));
    }
  }
  // Per material the yearly bands of the world price, the EU shortfall and the largest third
  // country's processing share.
  json path_models = json::array(), path_rows = json::array();
  const json& years = model["years"];
  if (summary.contains("paths") && summary["paths"].is_array() && years.is_array() &&
      years.size() == 2 && years[0].is_number_integer() && years[1].is_number_integer() &&
      years[0].get<int>() <= years[1].get<int>()) {
    const int first = years[0].get<int>(), last = years[1].get<int>();
    const std::size_t count = static_cast<std::size_t>(last - first + 1);
    std::vector<std::string> materials;
    for (const json& p : summary["paths"]) {
      const std::string material = split_figure(string_or(p, "name")).first;
      if (!material.empty() &&
          std::find(materials.begin(), materials.end(), material) == materials.end()) {
        materials.push_back(material);
      }
    }
    for (const std::string& material : materials) {
      const Material* m = data.find_material(material);
      json year_list = json::array();
      for (int y = first; y <= last; ++y) year_list.push_back(y);
      const json price = band_on_years(summary["paths"], material + ".world_price", first, count);
      const json shortfall =
          band_on_years(summary["paths"], material + ".eu_shortfall", first, count);
      const json share =
          band_on_years(summary["paths"], material + ".top_third_country_share", first, count);
      path_models.push_back({{"id", material},
                             {"name", m ? m->name : material},
                             {"years", year_list},
                             {"price", price},
                             {"shortfall", shortfall},
                             {"share", share},
                             {"limit", data.parameter("crma_single_country_limit")}});
      for (std::size_t i = 0; i < count; ++i) {
        json row = {{"material", material}, {"year", first + static_cast<int>(i)}};
        for (const auto& [band, prefix] :
             {std::pair<const json&, std::string>{price, "world_price"},
              std::pair<const json&, std::string>{shortfall, "eu_shortfall"},
              std::pair<const json&, std::string>{share, "largest_third_country_share"}}) {
          if (band.is_null()) continue;
          for (const char* q : {"p5", "p50", "p95"}) row[prefix + "_" + q] = band[q][i];
        }
        path_rows.push_back(std::move(row));
      }
    }
  }
  model["paths"] = path_models;
  json path_columns = json::array({column("material", "material"), column("year", "year")});
  append_band_columns(path_columns,
                      {{"world_price", "world price", "USD/t"},
                       {"eu_shortfall", "EU shortfall", "t/yr"},
                       {"largest_third_country_share", "largest third country's share", "0-1"}});

  model["figures"] = figures;
  json bands = json::array();
  for (const std::string& m : price_order) bands.push_back(price_bands[m]);
  model["price_bands"] = bands;
  model["distributions"] = distributions;
  model["tables"] =
      json::array({{{"name", "figures"},
                    {"title", "Headline figures: P5 / P50 / P95, mean, min, max over the runs"},
                    {"columns", json::array({column("figure", "figure"), column("unit", "unit"),
                                             column("p5", "P5"), column("p50", "P50"),
                                             column("p95", "P95"), column("mean", "mean"),
                                             column("min", "min"), column("max", "max")})},
                    {"rows", figure_rows}},
                   {{"name", "runs"},
                    {"title", "Every run's headline figures"},
                    {"columns", run_columns},
                    {"rows", run_rows}}});
  model["notes"] =
      json::array({fmt::format("Run i is seeded with {}; quantiles by {}.",
                               string_or(summary, "run_seed"), string_or(summary, "quantiles"))});
  return report_model_from_document(ResultsKind::kEnsemble, std::move(model));
}

// ---- results directories --------------------------------------------------------------------

namespace {

// The runs' headline figures from an ensemble's results.sqlite (view distribution_named).
Result<std::string> read_distribution(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::exists(file, error)) {
    return Status::not_found(fmt::format(
        "{}: missing; an ensemble's results directory holds the results.sqlite that `critmin "
        "ensemble --out DIR` writes",
        file.string()));
  }
  sqlite3* opened = nullptr;
  const int open_result = sqlite3_open_v2(file.c_str(), &opened, SQLITE_OPEN_READONLY, nullptr);
  // Declared before the statement, so it is closed after the statement is finalized: a
  // connection closed with a statement still open stays open (sqlite3_close answers BUSY).
  const std::unique_ptr<sqlite3, int (*)(sqlite3*)> db(opened, sqlite3_close);
  if (open_result != SQLITE_OK) {
    return Status::io_error(fmt::format("{}: cannot open it as SQLite", file.string()));
  }
  sim::Statement statement;
  if (!statement.prepare(db.get(),
                         "select f.name, f.unit, d.value from distribution d join figures f on "
                         "f.id = d.figure order by f.id, d.run")) {
    const std::string message = sqlite3_errmsg(db.get());
    return Status::invalid_input(
        fmt::format("{}: not an ensemble's results ({}); write it with critmin ensemble --out DIR",
                    file.string(), message));
  }
  json figures = json::array();
  while (sqlite3_step(statement.get()) == SQLITE_ROW) {
    const auto text = [&](int c) {
      const unsigned char* t = sqlite3_column_text(statement.get(), c);
      return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
    };
    const std::string name = text(0);
    if (figures.empty() || figures.back()["name"] != name) {
      figures.push_back({{"name", name}, {"unit", text(1)}, {"values", json::array()}});
    }
    figures.back()["values"].push_back(sqlite3_column_double(statement.get(), 2));
  }
  return json{{"figures", figures}}.dump();
}

}  // namespace

Result<ResultsFiles> read_results_directory(const std::filesystem::path& results_dir) {
  std::error_code error;
  ResultsFiles files;
  const std::filesystem::path compare_file = results_dir / "compare.json";
  if (std::filesystem::is_directory(results_dir, error) &&
      std::filesystem::exists(compare_file, error)) {
    Result<std::string> text = read_text_file(compare_file);
    CRITMIN_RETURN_IF_ERROR(text);
    const json comparison = json::parse(text.value(), nullptr, false);
    if (comparison.is_discarded() || !comparison.is_object() || !comparison.contains("designs") ||
        !comparison["designs"].is_array()) {
      return Status::invalid_input(fmt::format(
          "{}: field 'designs' (an array of names) is missing; write it with critmin compare "
          "--out DIR",
          compare_file.string()));
    }
    files.kind = ResultsKind::kCompare;
    files.summary_json = std::move(text).value();
    for (const json& design : comparison["designs"]) {
      if (!design.is_string()) {
        return Status::invalid_input(
            fmt::format("{}: 'designs' must hold names", compare_file.string()));
      }
      Result<std::string> summary = read_results_summary(results_dir / design.get<std::string>());
      CRITMIN_RETURN_IF_ERROR(summary);
      files.design_summaries.push_back(std::move(summary).value());
    }
    return files;
  }
  Result<std::string> summary = read_results_summary(results_dir);
  CRITMIN_RETURN_IF_ERROR(summary);
  const json parsed = json::parse(summary.value(), nullptr, false);
  files.summary_json = std::move(summary).value();
  if (parsed.is_object() && !parsed.contains("series") && parsed.contains("figures") &&
      parsed.contains("runs")) {
    files.kind = ResultsKind::kEnsemble;
    Result<std::string> distribution = read_distribution(results_dir / "results.sqlite");
    CRITMIN_RETURN_IF_ERROR(distribution);
    files.distribution_json = std::move(distribution).value();
  }
  return files;
}

Result<ReportModel> build_results_report_model(const ResultsFiles& files, const Dataset& data) {
  switch (files.kind) {
    case ResultsKind::kCompare:
      return build_compare_report_model(files.summary_json, files.design_summaries, data);
    case ResultsKind::kEnsemble:
      return build_ensemble_report_model(files.summary_json, files.distribution_json, data);
    case ResultsKind::kSimulation:
      break;
  }
  return build_report_model(files.summary_json, data);
}

Status results_to_xlsx(const ResultsFiles& files, const Dataset& data,
                       const std::filesystem::path& file) {
  if (files.kind == ResultsKind::kSimulation) return summary_to_xlsx(files.summary_json, file);
  Result<ReportModel> model = build_results_report_model(files, data);
  CRITMIN_RETURN_IF_ERROR(model);
  return report_tables_to_xlsx(model.value(), file);
}

// ---- tables of a model as CSV and XLSX ------------------------------------------------------

namespace {

std::string header_of(const ReportColumn& column) {
  const std::string& label = column.label.empty() ? column.key : column.label;
  return column.unit.empty() ? label : fmt::format("{} [{}]", label, column.unit);
}

// A cell as CSV text: numbers with the shortest text that reads back to the same value.
std::string cell_text(const ReportCell& cell) {
  if (const auto* text = std::get_if<std::string>(&cell)) return *text;
  if (const auto* whole = std::get_if<std::int64_t>(&cell)) return std::to_string(*whole);
  if (const auto* number = std::get_if<double>(&cell)) return json(*number).dump();
  if (const auto* yes = std::get_if<bool>(&cell)) return *yes ? "true" : "false";
  return "";
}

std::optional<double> cell_number(const ReportCell& cell) {
  if (const auto* whole = std::get_if<std::int64_t>(&cell)) return static_cast<double>(*whole);
  if (const auto* number = std::get_if<double>(&cell)) return *number;
  return std::nullopt;
}

// Excel's sheet names: at most 31 characters, none of []:*?/\.
std::string sheet_name_of(std::string name) {
  for (char& c : name) {
    if (std::string_view("[]:*?/\\").find(c) != std::string_view::npos) c = '_';
  }
  return name.substr(0, 31);
}

}  // namespace

Result<std::string> report_table_to_csv(const ReportModel& model, std::string_view table) {
  Result<const ReportTable*> found = model.table(table);
  CRITMIN_RETURN_IF_ERROR(found);
  const ReportTable& t = *found.value();
  std::string out;
  std::vector<std::string> fields;
  for (const ReportColumn& c : t.columns) fields.push_back(header_of(c));
  append_csv_record(out, fields);
  for (const std::vector<ReportCell>& row : t.rows) {
    fields.clear();
    for (const ReportCell& cell : row) fields.push_back(cell_text(cell));
    append_csv_record(out, fields);
  }
  return out;
}

Status report_tables_to_xlsx(const ReportModel& model, const std::filesystem::path& file) {
  if (model.tables().empty()) return Status::invalid_input("report model: no tables to write");
  std::error_code error;
  const std::filesystem::path parent =
      file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  if (!std::filesystem::is_directory(parent, error)) {
    return Status::io_error(fmt::format(
        "{}: the directory {} does not exist; create it or write the workbook elsewhere",
        file.string(), parent.string()));
  }
  if (std::filesystem::is_directory(file, error)) {
    return Status::io_error(fmt::format(
        "{}: is a directory; give the path of the workbook file to write", file.string()));
  }
  lxw_workbook* workbook = workbook_new(file.string().c_str());
  if (!workbook) {
    return Status::io_error(fmt::format("{}: cannot create the workbook", file.string()));
  }
  lxw_format* bold = workbook_add_format(workbook);
  format_set_bold(bold);
  const NumberFormats number_formats = add_number_formats(workbook);
  std::set<std::string> used;
  for (const ReportTable& t : model.tables()) {
    std::string name = sheet_name_of(t.name.empty() ? "table" : t.name);
    for (int i = 2; used.count(name); ++i)
      name = sheet_name_of(t.name).substr(0, 28) + "_" + std::to_string(i);
    used.insert(name);
    lxw_worksheet* sheet = workbook_add_worksheet(workbook, name.c_str());
    // What a row is about first (design, material, year, ...), then its figures, each column
    // shown rounded alike.
    std::vector<std::string> keys;
    for (const ReportColumn& col : t.columns) keys.push_back(col.key);
    const std::vector<std::size_t> order = key_columns_first(keys);
    std::vector<lxw_format*> formats;
    for (std::size_t k : order) {
      std::vector<double> values;
      for (const std::vector<ReportCell>& row : t.rows) {
        if (std::optional<double> v = cell_number(row[k])) values.push_back(*v);
      }
      formats.push_back(column_format(number_formats, keys[k], values));
    }
    lxw_col_t c = 0;
    for (std::size_t k : order) {
      worksheet_write_string(sheet, 0, c++, header_of(t.columns[k]).c_str(), bold);
    }
    lxw_row_t r = 1;
    for (const std::vector<ReportCell>& row : t.rows) {
      c = 0;
      for (std::size_t k : order) {
        const ReportCell& cell = row[k];
        if (std::optional<double> v = cell_number(cell)) {
          worksheet_write_number(sheet, r, c, *v, formats[c]);
        } else if (const auto* yes = std::get_if<bool>(&cell)) {
          worksheet_write_boolean(sheet, r, c, *yes, nullptr);
        } else if (const auto* text = std::get_if<std::string>(&cell); text && !text->empty()) {
          worksheet_write_string(sheet, r, c, text->c_str(), nullptr);
        }
        ++c;
      }
      ++r;
    }
    worksheet_freeze_panes(sheet, 1, 0);
  }
  lxw_worksheet* notes = workbook_add_worksheet(workbook, "notes");
  return write_notes_and_close(
      workbook, notes,
      {model.title(),
       "Units: prices in USD per t of contained content, quantities in t/yr, money in USD; shares "
       "in headers marked [0-1] are fractions; scorecard lines carry their unit in the unit "
       "column (docs/scorecards.md)."},
      json(model.notes()), file);
}

}  // namespace critmin::report
