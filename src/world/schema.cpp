#include "world/schema.h"

#include <fmt/format.h>
#include <cmath>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <map>
#include <string_view>
#include <utility>

#include "core/text.h"
#include "critmin/core/files.h"
#include "critmin/world/dataset.h"

namespace critmin {

namespace {
// Years a dataset may hold (data check): history from 1900, projections to 2100.
constexpr long long kFirstDataYear = 1900;
constexpr long long kLastDataYear = 2100;
}  // namespace
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

const char* const kSchemaColumns[] = {"attribute", "type", "unit", "default", "key", "description"};

}  // namespace

Result<TableSchema> parse_schema(std::string_view text, const std::string& file_name,
                                 const std::string& table_name) {
  Result<CsvTable> csv = parse_csv(text, file_name);
  CRITMIN_RETURN_IF_ERROR(csv);
  const CsvTable& table = csv.value();
  std::vector<Diagnostic> problems;
  for (const char* column : kSchemaColumns) {
    if (!table.column(column)) {
      problems.push_back({table.file, 1, column, "missing schema column"});
    }
  }
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: not a schema file", table.file),
                                 std::move(problems));
  }
  TableSchema schema;
  schema.table = table_name;
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

Result<TableSchema> load_schema(const std::filesystem::path& schema_file) {
  Result<std::string> text = read_text_file(schema_file);
  CRITMIN_RETURN_IF_ERROR(text);
  return parse_schema(text.value(), schema_file.string(), schema_file.stem().string());
}

const TableSchema& embedded_schema(const std::string& table) {
  static const std::map<std::string, TableSchema> kSchemas = [] {
    std::map<std::string, TableSchema> schemas;
    for (const auto& [name, text] : embedded_schema_texts()) {
      Result<TableSchema> schema = parse_schema(text, "schema/" + name + ".csv", name);
      if (schema.is_ok()) schemas.emplace(name, std::move(schema).value());
    }
    return schemas;
  }();
  static const TableSchema kNone;
  const auto it = kSchemas.find(table);
  return it == kSchemas.end() ? kNone : it->second;
}

void compare_with_embedded_schema(std::string_view text, const std::string& file_name,
                                  const std::string& table, std::vector<Diagnostic>& problems) {
  const auto embedded_text = embedded_schema_texts().find(table);
  if (embedded_text == embedded_schema_texts().end()) {
    problems.push_back(
        {file_name, 0, "",
         fmt::format("critmin's schema has no table '{}'; remove this file", table)});
    return;
  }
  const std::string fix = fmt::format(
      "restore the file from critmin's schema (data/schema/{}.csv, printed by `critmin data "
      "schema`) or re-import the dataset with `critmin data import`",
      table);
  Result<CsvTable> parsed = parse_csv(text, file_name);
  if (!parsed.is_ok()) {
    const Status& status = parsed.status();
    if (status.diagnostics().empty()) problems.push_back({file_name, 0, "", status.message()});
    problems.insert(problems.end(), status.diagnostics().begin(), status.diagnostics().end());
    return;
  }
  const CsvTable& csv = parsed.value();
  bool has_columns = true;
  for (const char* column : kSchemaColumns) {
    if (!csv.column(column)) {
      problems.push_back(
          {file_name, 1, column, fmt::format("missing schema column '{}'; {}", column, fix)});
      has_columns = false;
    }
  }
  for (const std::string& column : csv.header) {
    bool known = false;
    for (const char* expected : kSchemaColumns) known = known || column == expected;
    if (!known) {
      problems.push_back(
          {file_name, 1, column, fmt::format("'{}' is not a schema column; {}", column, fix)});
    }
  }
  if (!has_columns) return;
  // The embedded text is part of critmin and parses (a unit test checks every embedded file).
  Result<CsvTable> embedded = parse_csv(embedded_text->second, "schema/" + table + ".csv");
  if (!embedded.is_ok()) return;
  const CsvTable& want = embedded.value();
  const auto want_cell = [&](const CsvRecord& r, const char* column) -> const std::string& {
    return r.fields[*want.column(column)];
  };
  const auto have_cell = [&](const CsvRecord& r, const char* column) -> const std::string& {
    return r.fields[*csv.column(column)];
  };
  std::map<std::string, const CsvRecord*> wanted;
  for (const CsvRecord& r : want.records) wanted.emplace(want_cell(r, "attribute"), &r);
  std::map<std::string, int> seen;
  for (const CsvRecord& r : csv.records) {
    const std::string& name = have_cell(r, "attribute");
    const auto [first, inserted] = seen.emplace(name, r.line);
    if (!inserted) {
      problems.push_back({file_name, r.line, name,
                          fmt::format("attribute '{}' is already described on line {}; {}", name,
                                      first->second, fix)});
      continue;
    }
    const auto it = wanted.find(name);
    if (it == wanted.end()) {
      problems.push_back(
          {file_name, r.line, name,
           fmt::format("attribute '{}' is not in critmin's schema of {}; {}", name, table, fix)});
      continue;
    }
    for (const char* column : kSchemaColumns) {
      const std::string& have = have_cell(r, column);
      const std::string& expected = want_cell(*it->second, column);
      if (have != expected) {
        problems.push_back({file_name, r.line, name,
                            fmt::format("{} is '{}' but critmin's schema says '{}'; {}", column,
                                        have, expected, fix)});
      }
    }
  }
  for (const CsvRecord& r : want.records) {
    const std::string& name = want_cell(r, "attribute");
    if (!seen.contains(name)) {
      problems.push_back(
          {file_name, 0, name,
           fmt::format("attribute '{}' of critmin's schema is missing; {}", name, fix)});
    }
  }
}

std::string schema_markdown() {
  std::string out =
      "# The critmin dataset schema\n\n"
      "Generated by `critmin data schema` from `data/schema/*.csv`; the loader and `critmin data "
      "check` validate every table against the same files. Types: string, int, float, "
      "nonnegative (float >= 0), share (0-1), bool, iso3 (a code of countries.csv), material (an "
      "id of materials.csv), material_or_default (also `*`), material_list (`|`-separated ids), "
      "stage (extraction or processing), unit (the cell must equal the unit shown). Default "
      "`required`: the cell must not be empty; `empty`: an empty cell means not available; "
      "anything else replaces an empty cell.\n";
  for (const std::string& table : dataset_table_names()) {
    out += fmt::format(
        "\n## {}.csv\n\n| attribute | type | unit | default | key | description "
        "|\n|---|---|---|---|---|---|\n",
        table);
    for (const Attribute& a : embedded_schema(table).attributes) {
      static const char* kTypeNames[] = {"string",        "int",      "float",
                                         "nonnegative",   "share",    "bool",
                                         "iso3",          "material", "material_or_default",
                                         "material_list", "stage",    "unit"};
      out += fmt::format("| {} | {} | {} | {} | {} | {} |\n", a.name,
                         kTypeNames[static_cast<int>(a.type)], a.unit, a.default_value,
                         a.key ? "yes" : "", a.description);
    }
  }
  return out;
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

  for (CsvRecord& record : csv_.records) {
    for (std::size_t a = 0; a < schema_.attributes.size(); ++a) {
      const Attribute& attribute = schema_.attributes[a];
      std::string& cell = record.fields[column_of_attribute_[a]];
      const auto report = [&](std::string message) {
        problems.push_back({csv_.file, record.line, attribute.name, std::move(message)});
      };
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
        case AttributeType::kInt: {
          const auto value = parse_int(cell);
          if (!value) {
            report(fmt::format("'{}' is not an integer", cell));
          } else if (attribute.unit == "year" &&
                     (*value < kFirstDataYear || *value > kLastDataYear)) {
            // A year outside these is a typo or a unit mistake (a quantity in the year column).
            report(fmt::format("year {} is outside {}-{}; check the column", cell, kFirstDataYear,
                               kLastDataYear));
          }
          break;
        }
        case AttributeType::kFloat:
        case AttributeType::kNonNegative:
        case AttributeType::kShare: {
          const auto value = parse_double(cell);
          if (!value) {
            report(fmt::format("'{}' is not a number{}", cell,
                               attribute.unit.empty() ? "" : " in " + attribute.unit));
          } else if (!std::isfinite(*value) || (*value != 0.0 && !std::isnormal(*value))) {
            report(fmt::format("'{}' is not a finite number of ordinary size", cell));
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
  }
  report_duplicate_keys(problems);
}

void SchemaTable::report_duplicate_keys(std::vector<Diagnostic>& problems) const {
  std::vector<std::size_t> key_columns;
  std::string key_names;
  for (std::size_t a = 0; a < schema_.attributes.size(); ++a) {
    if (!schema_.attributes[a].key) continue;
    key_columns.push_back(column_of_attribute_[a]);
    key_names += (key_names.empty() ? "" : ",") + schema_.attributes[a].name;
  }
  if (key_columns.empty()) return;
  // Rows sorted by a hash of their key cells (as validated, defaults filled in); only rows with
  // equal hashes are compared cell by cell. The tables' largest have tens of thousands of rows, and
  // a map of key strings cost more than the rest of the validation together.
  const auto same_key = [&](const CsvRecord& a, const CsvRecord& b) {
    for (const std::size_t c : key_columns) {
      if (a.fields[c] != b.fields[c]) return false;
    }
    return true;
  };
  std::vector<std::pair<std::size_t, std::size_t>> hash_and_row;
  hash_and_row.reserve(csv_.records.size());
  for (std::size_t row = 0; row < csv_.records.size(); ++row) {
    std::size_t hash = 0;
    for (const std::size_t c : key_columns) {
      // The boost-style mix: the order of the cells matters, ("a","bc") differs from ("ab","c").
      hash ^= std::hash<std::string_view>{}(csv_.records[row].fields[c]) + 0x9e3779b97f4a7c15ULL +
              (hash << 6) + (hash >> 2);
    }
    hash_and_row.emplace_back(hash, row);
  }
  std::sort(hash_and_row.begin(), hash_and_row.end());
  // (row of the repeat, row of its first occurrence), reported in the file's order.
  std::vector<std::pair<std::size_t, std::size_t>> repeats;
  for (std::size_t begin = 0; begin < hash_and_row.size();) {
    std::size_t end = begin + 1;
    while (end < hash_and_row.size() && hash_and_row[end].first == hash_and_row[begin].first) ++end;
    for (std::size_t i = begin + 1; i < end; ++i) {
      const CsvRecord& later = csv_.records[hash_and_row[i].second];
      for (std::size_t j = begin; j < i; ++j) {
        if (same_key(csv_.records[hash_and_row[j].second], later)) {
          repeats.emplace_back(hash_and_row[i].second, hash_and_row[j].second);
          break;
        }
      }
    }
    begin = end;
  }
  std::sort(repeats.begin(), repeats.end());
  for (const auto& [row, first_row] : repeats) {
    problems.push_back({csv_.file, csv_.records[row].line, key_names,
                        fmt::format("duplicate key; the same ({}) is already on line {}", key_names,
                                    csv_.records[first_row].line)});
  }
}

std::size_t SchemaTable::column_index(std::string_view attribute) const {
  for (std::size_t a = 0; a < schema_.attributes.size() && a < column_of_attribute_.size(); ++a) {
    if (schema_.attributes[a].name == attribute) return column_of_attribute_[a];
  }
  // The loader reads only attributes of critmin's embedded schema (checked by the unit tests on
  // every table), so this is a programming error: stop rather than read another column.
  assert(false && "attribute not in schema: a programming error in the dataset loader");
  std::abort();
}

const std::string& SchemaTable::text(std::size_t row, std::string_view attribute) const {
  return csv_.records[row].fields[column_index(attribute)];
}
double SchemaTable::number(std::size_t row, std::string_view attribute) const {
  return parse_double(text(row, attribute)).value_or(0.0);
}
std::optional<double> SchemaTable::optional_number(std::size_t row,
                                                   std::string_view attribute) const {
  return parse_double(text(row, attribute));
}
int SchemaTable::integer(std::size_t row, std::string_view attribute) const {
  return static_cast<int>(parse_int(text(row, attribute)).value_or(0));
}
bool SchemaTable::flag(std::size_t row, std::string_view attribute) const {
  return parse_bool(text(row, attribute)).value_or(false);
}
Stage SchemaTable::stage(std::size_t row, std::string_view attribute) const {
  return parse_stage(text(row, attribute)).value_or(Stage::kExtraction);
}
std::vector<std::string> SchemaTable::list(std::size_t row, std::string_view attribute) const {
  const std::string& cell = text(row, attribute);
  if (trim(cell).empty()) return {};
  return split(cell, '|');
}

}  // namespace critmin
