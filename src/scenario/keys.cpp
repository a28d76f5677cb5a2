#include "scenario/keys.h"

#include <cassert>
#include <cstdlib>

#include "core/csv.h"

namespace critmin::scenario {
namespace {

std::optional<double> bound(const std::string& text) {
  if (text.empty()) return std::nullopt;
  return std::strtod(text.c_str(), nullptr);
}

std::vector<ScenarioKey> parse_keys() {
  const auto& texts = embedded_scenario_texts();
  const auto it = texts.find("keys");
  assert(it != texts.end() && "data/scenario/keys.csv is compiled in");
  Result<CsvTable> table = parse_csv(it->second, "data/scenario/keys.csv");
  assert(table.is_ok() && "data/scenario/keys.csv is valid CSV (tested)");
  std::vector<ScenarioKey> keys;
  if (!table.is_ok()) return keys;
  const CsvTable& csv = table.value();
  const auto column = [&](const char* name) { return csv.column(name).value_or(0); };
  const std::size_t section = column("section"), key = column("key"), type = column("type"),
                    unit = column("unit"), default_text = column("default"), min = column("min"),
                    max = column("max"), required = column("required"),
                    description = column("description");
  for (const CsvRecord& record : csv.records) {
    const auto& f = record.fields;
    keys.push_back({f[section], f[key], f[type], f[unit], f[default_text], bound(f[min]),
                    bound(f[max]), f[required], f[description]});
  }
  return keys;
}

}  // namespace

std::vector<std::string> ScenarioKey::choices() const {
  std::vector<std::string> out;
  constexpr std::string_view kPrefix = "choice:";
  if (type.rfind(kPrefix, 0) != 0) return out;
  std::string_view rest = std::string_view(type).substr(kPrefix.size());
  while (!rest.empty()) {
    const auto bar = rest.find('|');
    out.emplace_back(rest.substr(0, bar));
    if (bar == std::string_view::npos) break;
    rest = rest.substr(bar + 1);
  }
  return out;
}

const std::vector<ScenarioKey>& scenario_keys() {
  static const std::vector<ScenarioKey> kKeys = parse_keys();
  return kKeys;
}

const ScenarioKey* find_scenario_key(std::string_view section, std::string_view key) {
  for (const ScenarioKey& k : scenario_keys()) {
    if (k.section == section && k.key == key) return &k;
  }
  if (section.rfind("instrument.", 0) == 0) return find_scenario_key("instrument", key);
  return nullptr;
}

std::vector<const ScenarioKey*> section_keys(std::string_view section) {
  std::vector<const ScenarioKey*> out;
  if (section.rfind("instrument.", 0) == 0) out = section_keys("instrument");
  for (const ScenarioKey& k : scenario_keys()) {
    if (k.section == section) out.push_back(&k);
  }
  return out;
}

}  // namespace critmin::scenario
