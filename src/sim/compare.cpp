// `critmin compare`: scorecards of several designs side by side (critmin/compare.h).
#include "critmin/compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

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
  json out = {{"designs", comparison.designs}, {"lines", std::move(lines)}};
  return out.dump(2) + "\n";
}

}  // namespace critmin::sim
