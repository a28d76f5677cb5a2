#include <fmt/format.h>

#include <map>
#include <string>
#include <utility>

#include "core/toml_reader.h"
#include "critmin/metrics/assess.h"

namespace critmin {

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
             fmt::format("unknown material '{}'; use an id such as gallium", material_key.str())});
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
        if (name.str() != "eol_rir" && name.str() != "substitution_index") {
          problems.push_back({file_name, toml_line(value), field,
                              "unknown key; use eol_rir, substitution_index or basis"});
          continue;
        }
        const std::optional<double> number = value.value<double>();
        if (!number || !(value.is_floating_point() || value.is_integer())) {
          problems.push_back({file_name, toml_line(value), field, "expected a number in [0,1]"});
          continue;
        }
        if (!(*number >= 0.0 && *number <= 1.0)) {  // also rejects nan
          problems.push_back(
              {file_name, toml_line(value), field,
               fmt::format("{} is outside [0,1]; write a fraction such as 0.3", *number)});
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

}  // namespace critmin
