// The schema as data: every dataset table is described by <dir>/schema/<table>.csv with the columns
// attribute,type,unit,default,key,description. The loader, `critmin data check` and the
// documentation (docs/data-schema.md) all read these files, so they cannot drift apart.
//
// Types: string, int, float, nonnegative (float >= 0), share (float in [0,1]), bool, iso3 (a code
// of the countries table), material (an id of the materials table; "*" allowed where the
// description says so via type material_or_default), material_list ("|"-separated ids), stage
// (extraction|processing), unit (the cell must equal the attribute's unit: a unit check).
// default: "required" (cell must be non-empty), "empty" (an empty cell means "not available"), or a
// literal that replaces an empty cell.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/csv.h"
#include "critmin/status.h"

namespace critmin {

enum class AttributeType {
  kString,
  kInt,
  kFloat,
  kNonNegative,
  kShare,
  kBool,
  kIso3,
  kMaterial,
  kMaterialOrDefault,
  kMaterialList,
  kStage,
  kUnit,
};

struct Attribute {
  std::string name;
  AttributeType type = AttributeType::kString;
  std::string unit;
  std::string default_value;  // "required", "empty" or a literal
  bool key = false;
  std::string description;

  bool required() const { return default_value == "required"; }
};

struct TableSchema {
  std::string table;
  std::vector<Attribute> attributes;
};

Result<TableSchema> load_schema(const std::filesystem::path& schema_file);

// What a cell may refer to in other tables.
struct ReferenceSets {
  const std::set<std::string>* iso3_codes = nullptr;
  const std::set<std::string>* material_ids = nullptr;
};

// A CSV table checked against its schema. After a successful validate_table every cell can be read
// with the accessor of its attribute's type without further checks; empty cells with a literal
// default hold that default.
class SchemaTable {
 public:
  SchemaTable(TableSchema schema, CsvTable csv)
      : schema_(std::move(schema)), csv_(std::move(csv)) {}

  // Appends one diagnostic per problem: missing or unknown columns, cells that do not parse, values
  // out of range, unknown references, unit mismatches and duplicate keys.
  void validate(const ReferenceSets& references, std::vector<Diagnostic>& problems);

  std::size_t size() const { return csv_.records.size(); }
  int line(std::size_t row) const { return csv_.records[row].line; }
  const std::string& file() const { return csv_.file; }

  const std::string& text(std::size_t row, const std::string& attribute) const;
  double number(std::size_t row, const std::string& attribute) const;
  std::optional<double> optional_number(std::size_t row, const std::string& attribute) const;
  int integer(std::size_t row, const std::string& attribute) const;
  bool flag(std::size_t row, const std::string& attribute) const;
  std::vector<std::string> list(std::size_t row, const std::string& attribute) const;

 private:
  std::size_t column_index(const std::string& attribute) const;

  TableSchema schema_;
  CsvTable csv_;
  std::vector<std::size_t> column_of_attribute_;
};

}  // namespace critmin
