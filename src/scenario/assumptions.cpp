// The assess assumptions file (critmin/scenario/scenario.h, read_assumptions).
#include <fmt/format.h>

#include <map>
#include <string>
#include <utility>

#include "critmin/scenario/scenario.h"
#include "scenario/keys.h"
#include "scenario/toml_reader.h"

namespace critmin::scenario {
namespace {

constexpr std::string_view kSection = "supply_risk.<material>";

}  // namespace

Result<std::map<std::string, SupplyRiskOverride>> read_assumptions(std::string_view toml_text,
                                                                   const std::string& file_name,
                                                                   const Dataset& data) {
  Result<toml::table> parsed = parse_toml(toml_text, file_name);
  CRITMIN_RETURN_IF_ERROR(parsed);
  const toml::table& root = parsed.value();
  std::vector<Diagnostic> problems;
  std::map<std::string, SupplyRiskOverride> overrides;
  for (const auto& [key, node] : root) {
    if (key.str() != "supply_risk") {
      problems.push_back({file_name, toml_line(node), std::string(key.str()),
                          "unknown table; the only table is [supply_risk.MATERIAL]"});
      continue;
    }
    const toml::table* materials = node.as_table();
    if (!materials) {
      problems.push_back(
          {file_name, toml_line(node), "supply_risk", "expected a table: [supply_risk.MATERIAL]"});
      continue;
    }
    // The first table of each material in the file (toml++ iterates keys in sorted order, not in
    // file order): the same material under another key (gallium, Gallium, its name or an alias)
    // is an error at every later one, never a silent replacement.
    std::map<std::string, std::pair<int, std::string>> first_of_material;
    for (const auto& [material_key, material_node] : *materials) {
      const Material* material = data.find_material(material_key.str());
      if (!material) continue;
      const int line = toml_line(material_node);
      const auto [it, inserted] =
          first_of_material.emplace(material->id, std::pair{line, std::string(material_key.str())});
      if (!inserted && line < it->second.first)
        it->second = {line, std::string(material_key.str())};
    }
    for (const auto& [material_key, material_node] : *materials) {
      const std::string where = fmt::format("supply_risk.{}", material_key.str());
      const Material* material = data.find_material(material_key.str());
      if (!material) {
        problems.push_back(
            {file_name, toml_line(material_node), where,
             fmt::format("unknown material '{}'{}; use an id such as gallium", material_key.str(),
                         data.did_you_mean_material(material_key.str()))});
        continue;
      }
      const auto& [first_line, first_key] = first_of_material.at(material->id);
      if (first_key != material_key.str()) {
        problems.push_back(
            {file_name, toml_line(material_node), where,
             fmt::format("{} is given twice: [supply_risk.{}] on line {} is the same material; "
                         "merge the two tables into one",
                         material->id, first_key, first_line)});
        continue;
      }
      const toml::table* values = material_node.as_table();
      if (!values) {
        problems.push_back({file_name, toml_line(material_node), where,
                            "expected a table with eol_rir, substitution_index and basis"});
        continue;
      }
      SupplyRiskOverride override_values;
      for (const auto& [name, value] : *values) {
        const std::string field = where + "." + std::string(name.str());
        if (name.str() == "basis") {
          if (!value.is_string()) {
            problems.push_back({file_name, toml_line(value), field, "expected a string"});
          } else {
            override_values.basis = **value.as_string();
          }
          continue;
        }
        // The keys and their ranges are the scenario schema's (section supply_risk.<material>).
        const ScenarioKey* schema_key = find_scenario_key(kSection, name.str());
        if (!schema_key || schema_key->type != "number") {
          problems.push_back({file_name, toml_line(value), field,
                              "unknown key; use eol_rir, substitution_index or basis"});
          continue;
        }
        const double low = schema_key->min.value_or(0.0), high = schema_key->max.value_or(1.0);
        const std::optional<double> number = value.value<double>();
        if (!number || !(value.is_floating_point() || value.is_integer())) {
          problems.push_back({file_name, toml_line(value), field,
                              fmt::format("expected a number in [{},{}]", low, high)});
          continue;
        }
        if (!(*number >= low && *number <= high)) {  // also rejects nan
          problems.push_back({file_name, toml_line(value), field,
                              fmt::format("{} is outside [{},{}]; write a fraction such as 0.3",
                                          *number, low, high)});
          continue;
        }
        (name.str() == "eol_rir" ? override_values.eol_rir : override_values.substitution_index) =
            *number;
      }
      overrides[material->id] = override_values;
    }
  }
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: invalid assumptions", file_name),
                                 std::move(problems));
  }
  return overrides;
}

}  // namespace critmin::scenario
