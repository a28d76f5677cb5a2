// The output-attribute table (critmin/core/figures.h): data/outputs/figures.csv, embedded by CMake
// into generated/embedded_figures.cpp.
#include "critmin/core/figures.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "core/csv.h"
#include "core/figures_texts.h"
#include "core/suggest.h"
#include "core/text.h"

namespace critmin {

namespace {

constexpr const char* kTableFile = "data/outputs/figures.csv";

struct Table {
  std::vector<FigureAttributes> rows;
  std::map<std::pair<FigureGroup, std::string>, std::size_t, std::less<>> index;
  Status status;
};

std::optional<FigureGroup> group_of(std::string_view text) {
  for (FigureGroup g : {FigureGroup::kScorecard, FigureGroup::kSummary, FigureGroup::kHeadline,
                        FigureGroup::kPath, FigureGroup::kInstrument}) {
    if (figure_group_name(g) == text) return g;
  }
  return std::nullopt;
}

std::optional<Better> better_of(std::string_view text) {
  for (Better b : {Better::kUp, Better::kDown, Better::kNeutral}) {
    if (better_name(b) == text) return b;
  }
  return std::nullopt;
}

Table load_table() {
  Table table;
  Result<CsvTable> csv = parse_csv(embedded_output_texts().at("figures"), kTableFile);
  if (!csv.is_ok()) {
    table.status = csv.status();
    return table;
  }
  const std::vector<std::string> expected = {"group",  "name",  "unit",
                                             "better", "label", "description"};
  if (csv.value().header != expected) {
    table.status = Status::invalid_input(fmt::format(
        "{}:1: the header must be group,name,unit,better,label,description", kTableFile));
    return table;
  }
  std::vector<Diagnostic> problems;
  for (const CsvRecord& record : csv.value().records) {
    const std::vector<std::string>& f = record.fields;
    const std::optional<FigureGroup> group = group_of(f[0]);
    const std::optional<Better> better = better_of(f[3]);
    if (!group) {
      problems.push_back(
          {kTableFile, record.line, "group",
           "'" + f[0] + "' is not scorecard, summary, headline, path or instrument"});
      continue;
    }
    if (!better) {
      problems.push_back(
          {kTableFile, record.line, "better", "'" + f[3] + "' is not up, down or neutral"});
      continue;
    }
    if (f[1].empty() || f[4].empty() || f[5].empty()) {
      problems.push_back({kTableFile, record.line, f[1].empty() ? "name" : "label",
                          "name, label and description must not be empty"});
      continue;
    }
    if (!table.index.emplace(std::make_pair(*group, f[1]), table.rows.size()).second) {
      problems.push_back(
          {kTableFile, record.line, "name", "'" + f[1] + "' is listed twice in group " + f[0]});
      continue;
    }
    table.rows.push_back({*group, f[1], f[2], *better, f[4], f[5]});
  }
  if (!problems.empty()) {
    table.status = Status::invalid_input(
        fmt::format("{}: {} malformed row(s)", kTableFile, problems.size()), std::move(problems));
  }
  return table;
}

const Table& table() {
  static const Table kTable = load_table();
  return kTable;
}

bool is_money(std::string_view unit) {
  return unit == "USD" || unit == "EUR" || unit == "USD/yr" || unit == "EUR/yr";
}

bool is_share(std::string_view unit) { return unit == "0-1" || unit == "share"; }

// Three significant digits in fixed notation, trailing zeros dropped: 76.34 -> "76.3",
// 0.012345 -> "0.0123", 512.4 -> "512".
std::string significant(double value) {
  if (value == 0.0) return "0";
  const int exponent = static_cast<int>(std::floor(std::log10(std::fabs(value))));
  const int decimals = std::clamp(2 - exponent, 0, 9);
  std::string out = fmt::format("{:.{}f}", value, decimals);
  if (out.find('.') != std::string::npos) {
    out.erase(out.find_last_not_of('0') + 1);
    if (out.back() == '.') out.pop_back();
  }
  if (out == "-0") out = "0";
  return out;
}

}  // namespace

std::string_view figure_group_name(FigureGroup group) {
  switch (group) {
    case FigureGroup::kScorecard:
      return "scorecard";
    case FigureGroup::kSummary:
      return "summary";
    case FigureGroup::kHeadline:
      return "headline";
    case FigureGroup::kPath:
      return "path";
    case FigureGroup::kInstrument:
      return "instrument";
  }
  return "?";
}

std::string_view better_name(Better better) {
  switch (better) {
    case Better::kUp:
      return "up";
    case Better::kDown:
      return "down";
    case Better::kNeutral:
      return "neutral";
  }
  return "?";
}

const std::vector<FigureAttributes>& figure_table() { return table().rows; }

Status figure_table_status() { return table().status; }

Result<const FigureAttributes*> find_figure(FigureGroup group, std::string_view name) {
  const Table& t = table();
  if (auto it = t.index.find(std::make_pair(group, std::string(name))); it != t.index.end()) {
    return &t.rows[it->second];
  }
  std::vector<std::string> names;
  for (const FigureAttributes& row : t.rows) {
    if (row.group == group) names.push_back(row.name);
  }
  return Status::not_found(fmt::format(
      "'{}' is not a {} figure of critmin's output table{}; a new figure needs a row in {} "
      "(unit, better, label, description)",
      name, figure_group_name(group), did_you_mean(name, names), kTableFile));
}

std::string figure_name_of(FigureGroup group, std::string_view key) {
  switch (group) {
    case FigureGroup::kScorecard:
      if (key.rfind("sector/", 0) == 0) return "sector";
      return std::string(
          key.substr(key.rfind('/') == std::string_view::npos ? 0 : key.rfind('/') + 1));
    case FigureGroup::kHeadline:
    case FigureGroup::kPath:
      return std::string(
          key.substr(key.rfind('.') == std::string_view::npos ? 0 : key.rfind('.') + 1));
    case FigureGroup::kInstrument:
      return std::string(key.substr(0, key.find('[')));
    case FigureGroup::kSummary:
      break;
  }
  return std::string(key);
}

std::string figures_markdown() {
  std::string out =
      "# What critmin's figures mean\n\n"
      "Generated by `critmin data figures` from `data/outputs/figures.csv`, the table every "
      "writer reads: the CLI tables, the HTML report's cards, the XLSX headers, compare's "
      "verdicts (better/worse by the `better` column) and the tests. A figure the table does not "
      "hold is an error, never shown with a guessed unit. Units: `USD`, `EUR` money; `USD/t` per "
      "tonne of contained content; `t`, `t/yr` tonnes; `0-1` and `share` fractions (shown as %); "
      "`%` percentages; `0-10000` the HHI; an empty unit for text, years and counts. The CLI "
      "writes money in k (thousand), M (million) and bn (billion).\n";
  const std::vector<std::pair<FigureGroup, const char*>> sections = {
      {FigureGroup::kScorecard,
       "Scorecard lines (`simulate`, `compare`; key `<material>/<stage or area>/<name>`, "
       "`sector/<NACE>`)"},
      {FigureGroup::kHeadline, "Headline figures of a run (`ensemble`; name `<material>.<name>`)"},
      {FigureGroup::kPath, "Yearly paths (`ensemble`; name `<material>.<name>`)"},
      {FigureGroup::kInstrument,
       "Figures the club's instruments report (`clear`, the results' payments table)"},
      {FigureGroup::kSummary, "Fields of a simulation's summary.json, its CSV and XLSX tables"}};
  for (const auto& [group, title] : sections) {
    out += fmt::format(
        "\n## {}\n\n| name | unit | better | label | description |\n"
        "|---|---|---|---|---|\n",
        title);
    for (const FigureAttributes& row : figure_table()) {
      if (row.group != group) continue;
      out += fmt::format("| {} | {} | {} | {} | {} |\n", row.name, row.unit,
                         better_name(row.better), row.label, row.description);
    }
  }
  return out;
}

std::string figure_label_of(FigureGroup group, std::string_view key) {
  const std::string name = figure_name_of(group, key);
  Result<const FigureAttributes*> figure = find_figure(group, name);
  if (!figure.is_ok()) return std::string(key);
  const std::string& label = figure.value()->label;
  switch (group) {
    case FigureGroup::kHeadline:
    case FigureGroup::kPath:
      if (key.size() > name.size()) {
        return fmt::format("{}: {}", key.substr(0, key.size() - name.size() - 1), label);
      }
      return label;
    case FigureGroup::kInstrument:
      if (key.size() > name.size() && key.back() == ']') {
        return fmt::format("{} ({})", label,
                           key.substr(name.size() + 1, key.size() - name.size() - 2));
      }
      return label;
    case FigureGroup::kScorecard:
    case FigureGroup::kSummary:
      break;
  }
  return label;
}

std::string_view shown_unit(std::string_view unit) { return is_share(unit) ? "%" : unit; }

std::string format_amount(double value, std::string_view unit) {
  if (!std::isfinite(value)) return fmt::format("{}", value);
  if (is_share(unit)) value *= 100.0;
  if (std::fabs(value) < 5e-7) return "0";
  const double magnitude = std::fabs(value);
  // Years, counts and line numbers have no unit: written whole, without separators.
  if (unit.empty() && value == std::floor(value) && magnitude < 1e15) {
    return fmt::format("{:.0f}", value);
  }
  if (is_money(unit)) {
    if (magnitude >= 1e9) return significant(value / 1e9) + " bn";
    if (magnitude >= 1e6) return significant(value / 1e6) + " M";
    if (magnitude >= 1e3) return significant(value / 1e3) + " k";
    return significant(value);
  }
  if (magnitude >= 1000.0) return grouped_digits(value);
  return significant(value);
}

std::string format_figure(double value, std::string_view unit) {
  const std::string amount = format_amount(value, unit);
  if (is_share(unit)) return amount + "%";
  if (unit.empty()) return amount;
  if (unit.front() == '%') return amount + std::string(unit);  // "12.3%", "12.3% of demand"
  return amount + " " + std::string(unit);
}

}  // namespace critmin
