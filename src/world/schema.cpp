#include "world/schema.h"

#include <fmt/format.h>

#include <cassert>
#include <map>

#include "core/text.h"
#include "critmin/dataset.h"

namespace critmin {
namespace {

std::optional<AttributeType> parse_attribute_type(const std::string& text) {
  static const std::map<std::string, AttributeType> kTypes = {
      {"string", AttributeType::kString},
      {"int", AttributeType::kInt},
      {"float", AttributeType::kFloat},
      {"nonnegative", AttributeType::kNonNegative},
      {"share", AttributeType::kShare},
      {"bool", AttributeType::kBool},
      {"iso3", AttributeType::kIso3},
      {"material", AttributeType::kMaterial},
      {"material_or_default", AttributeType::kMaterialOrDefault},
      {"material_list", AttributeType::kMaterialList},
      {"stage", AttributeType::kStage},
      {"unit", AttributeType::kUnit},
  };
  auto it = kTypes.find(text);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

}  // namespace

Result<TableSchema> load_schema(const std::filesystem::path& schema_file) {
  Result<CsvTable> csv = read_csv_file(schema_file);
  if (!csv.is_ok()) return csv.status();
  const CsvTable& table = csv.value();
  std::vector<Diagnostic> problems;
  for (const char* column : {"attribute", "type", "unit", "default", "key", "description"}) {
    if (!table.column(column)) {
      problems.push_back({table.file, 1, column, "missing schema column"});
    }
  }
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: not a schema file", table.file),
                                 std::move(problems));
  }
  TableSchema schema;
  schema.table = schema_file.stem().string();
  const auto col = [&](const char* name) { return *table.column(name); };
  for (const CsvRecord& record : table.records) {
    Attribute attribute;
    attribute.name = record.fields[col("attribute")];
    const auto type = parse_attribute_type(record.fields[col("type")]);
    if (!type) {
      problems.push_back({table.file, record.line, "type",
                          fmt::format("unknown type '{}'", record.fields[col("type")])});
      continue;
    }
    attribute.type = *type;
    attribute.unit = record.fields[col("unit")];
    attribute.default_value = record.fields[col("default")];
    const auto key = parse_bool(record.fields[col("key")]);
    if (!key) {
      problems.push_back({table.file, record.line, "key", "expected true or false"});
      continue;
    }
    attribute.key = *key;
    attribute.description = record.fields[col("description")];
    schema.attributes.push_back(std::move(attribute));
  }
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: invalid schema", table.file),
                                 std::move(problems));
  }
  return schema;
}

void SchemaTable::validate(const ReferenceSets& references, std::vector<Diagnostic>& problems) {
  const std::size_t problems_before = problems.size();
  column_of_attribute_.clear();
  for (const Attribute& attribute : schema_.attributes) {
    const auto column = csv_.column(attribute.name);
    if (!column) {
      problems.push_back({csv_.file, 1, attribute.name,
                          fmt::format("missing column '{}' required by schema/{}.csv",
                                      attribute.name, schema_.table)});
      column_of_attribute_.push_back(0);
      continue;
    }
    column_of_attribute_.push_back(*column);
  }
  for (const std::string& name : csv_.header) {
    bool known = false;
    for (const Attribute& attribute : schema_.attributes) known = known || attribute.name == name;
    if (!known) {
      problems.push_back({csv_.file, 1, name,
                          fmt::format("column '{}' is not in schema/{}.csv; remove it or add it "
                                      "to the schema",
                                      name, schema_.table)});
    }
  }
  if (problems.size() != problems_before) return;

  std::map<std::string, int> first_line_of_key;
  for (CsvRecord& record : csv_.records) {
    std::string key;
    for (std::size_t a = 0; a < schema_.attributes.size(); ++a) {
      const Attribute& attribute = schema_.attributes[a];
      std::string& cell = record.fields[column_of_attribute_[a]];
      const auto report = [&](std::string message) {
        problems.push_back({csv_.file, record.line, attribute.name, std::move(message)});
      };
      if (attribute.key) key += cell + '\x1f';
      if (trim(cell).empty()) {
        if (attribute.required()) {
          report("empty value; this attribute is required");
          continue;
        }
        if (attribute.default_value == "empty") continue;
        cell = attribute.default_value;
      }
      switch (attribute.type) {
        case AttributeType::kString:
          break;
        case AttributeType::kInt:
          if (!parse_int(cell)) report(fmt::format("'{}' is not an integer", cell));
          break;
        case AttributeType::kFloat:
        case AttributeType::kNonNegative:
        case AttributeType::kShare: {
          const auto value = parse_double(cell);
          if (!value) {
            report(fmt::format("'{}' is not a number{}", cell,
                               attribute.unit.empty() ? "" : " in " + attribute.unit));
          } else if (attribute.type != AttributeType::kFloat && *value < 0) {
            report(fmt::format("negative value {}; {} must be >= 0", cell, attribute.name));
          } else if (attribute.type == AttributeType::kShare && *value > 1.0) {
            report(
                fmt::format("share {} is above 1; shares are fractions 0-1 (write 0.25 for "
                            "25%)",
                            cell));
          }
          break;
        }
        case AttributeType::kBool:
          if (!parse_bool(cell)) report(fmt::format("'{}' is not true or false", cell));
          break;
        case AttributeType::kIso3:
          if (references.iso3_codes && !references.iso3_codes->contains(cell)) {
            report(fmt::format("unknown ISO3 code '{}'; use a code of countries.csv", cell));
          }
          break;
        case AttributeType::kMaterialOrDefault:
          if (cell == "*") break;
          [[fallthrough]];
        case AttributeType::kMaterial:
          if (references.material_ids && !references.material_ids->contains(cell)) {
            report(fmt::format("unknown material '{}'; use an id of materials.csv", cell));
          }
          break;
        case AttributeType::kMaterialList:
          for (const std::string& id : split(cell, '|')) {
            if (references.material_ids && !references.material_ids->contains(id)) {
              report(fmt::format("unknown material '{}' in list; use ids of materials.csv", id));
            }
          }
          break;
        case AttributeType::kStage:
          if (!parse_stage(cell)) {
            report(fmt::format("unknown stage '{}'; use extraction or processing", cell));
          }
          break;
        case AttributeType::kUnit:
          if (cell != attribute.unit) {
            report(
                fmt::format("unit '{}' does not match the schema unit '{}'; convert the "
                            "values to {}",
                            cell, attribute.unit, attribute.unit));
          }
          break;
      }
    }
    if (!key.empty()) {
      const auto [it, inserted] = first_line_of_key.emplace(key, record.line);
      if (!inserted) {
        std::string key_names;
        for (const Attribute& attribute : schema_.attributes) {
          if (attribute.key) key_names += (key_names.empty() ? "" : ",") + attribute.name;
        }
        problems.push_back({csv_.file, record.line, key_names,
                            fmt::format("duplicate key; the same ({}) is already on line {}",
                                        key_names, it->second)});
      }
    }
  }
}

std::size_t SchemaTable::column_index(const std::string& attribute) const {
  for (std::size_t a = 0; a < schema_.attributes.size(); ++a) {
    if (schema_.attributes[a].name == attribute) return column_of_attribute_[a];
  }
  assert(false && "attribute not in schema: a programming error in the dataset loader");
  return 0;
}

const std::string& SchemaTable::text(std::size_t row, const std::string& attribute) const {
  return csv_.records[row].fields[column_index(attribute)];
}
double SchemaTable::number(std::size_t row, const std::string& attribute) const {
  return parse_double(text(row, attribute)).value_or(0.0);
}
std::optional<double> SchemaTable::optional_number(std::size_t row,
                                                   const std::string& attribute) const {
  return parse_double(text(row, attribute));
}
int SchemaTable::integer(std::size_t row, const std::string& attribute) const {
  return static_cast<int>(parse_int(text(row, attribute)).value_or(0));
}
bool SchemaTable::flag(std::size_t row, const std::string& attribute) const {
  return parse_bool(text(row, attribute)).value_or(false);
}
std::vector<std::string> SchemaTable::list(std::size_t row, const std::string& attribute) const {
  const std::string& cell = text(row, attribute);
  if (trim(cell).empty()) return {};
  return split(cell, '|');
}

}  // namespace critmin
