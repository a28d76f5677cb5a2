#include <fmt/format.h>

#include "core/toml_reader.h"
#include "critmin/assess.h"

namespace critmin {

Result<std::map<std::string, SupplyRiskOverride>> read_assumptions(std::string_view toml_text,
                                                                   const std::string& file_name,
                                                                   const Dataset& data) {
  Result<toml::table> parsed = parse_toml(toml_text, file_name);
  if (!parsed.is_ok()) return parsed.status();
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
    for (const auto& [material_key, material_node] : *materials) {
      const std::string where = fmt::format("supply_risk.{}", material_key.str());
      const Material* material = data.find_material(material_key.str());
      if (!material) {
        problems.push_back(
            {file_name, toml_line(material_node), where,
             fmt::format("unknown material '{}'; use an id such as gallium", material_key.str())});
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
