// The per-cell schema check (src/world/schema.cpp), two ways:
//   - on hand-written tables and schema files, where every message is worked out from the schema;
//   - on a temporary copy of the committed dataset (CRITMIN_TEST_DATA) broken in exactly one way
//     per test, where check_dataset() must return exactly one diagnostic, file:line:field: message.
// Rows are edited through the CSV reader and writer, so the rest of each file stays byte-identical
// (the dataset files are written by the same writer) and the edited row keeps its physical line.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/csv.h"
#include "core/text.h"
#include "critmin/core/files.h"
#include "critmin/world/dataset.h"
#include "test_support.h"
#include "world/schema.h"

namespace critmin {
namespace {

namespace fs = std::filesystem;

using test::read_table;
using test::TempDir;
using test::texts;
using test::write_table;

// Prefix of the temporary directories of this file.
const char* const kTempPrefix = "critmin_schema_test_";

std::size_t column(const CsvTable& table, const std::string& name) {
  const auto index = table.column(name);
  EXPECT_TRUE(index.has_value()) << table.file << " has no column " << name;
  return index.value_or(0);
}

// Sets one cell of the first data row of <dir>/<table>.csv. The first data row of the tables
// edited here starts on line 2 (their header has no quoted line break), which the test checks.
void set_first_row_cell(const fs::path& dir, const std::string& table, const std::string& name,
                        const std::string& value) {
  const fs::path file = dir / (table + ".csv");
  CsvTable csv = read_table(file);
  ASSERT_FALSE(csv.records.empty());
  ASSERT_EQ(csv.records[0].line, 2);
  csv.records[0].fields[column(csv, name)] = value;
  write_table(file, csv);
}

// A copy of the committed dataset in a temporary directory.
class BrokenDataset {
 public:
  BrokenDataset() { fs::copy(CRITMIN_TEST_DATA, dir(), fs::copy_options::recursive); }
  fs::path dir() const { return temp_.path() / "data"; }
  std::string file(const std::string& table) const { return (dir() / (table + ".csv")).string(); }
  std::vector<std::string> check() const { return texts(check_dataset(dir())); }

 private:
  TempDir temp_{kTempPrefix};
};

// ---- the committed dataset broken one way per test ------------------------------------------

TEST(Schema, RejectsAShareAboveOneInGlobalSupplyShares) {
  BrokenDataset data;
  set_first_row_cell(data.dir(), "global_supply_shares", "share", "1.5");
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("global_supply_shares") +
                                     ":2:share: share 1.5 is above 1; shares are fractions 0-1 "
                                     "(write 0.25 for 25%)"});
}

TEST(Schema, RejectsAnUnknownIso3Code) {
  BrokenDataset data;
  set_first_row_cell(data.dir(), "governance", "iso3", "XXX");
  EXPECT_EQ(data.check(), std::vector<std::string>{
                              data.file("governance") +
                              ":2:iso3: unknown ISO3 code 'XXX'; use a code of countries.csv"});
}

TEST(Schema, RejectsAnUnknownMaterialId) {
  BrokenDataset data;
  set_first_row_cell(data.dir(), "production", "material_id", "unobtainium");
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("production") +
                                     ":2:material_id: unknown material 'unobtainium'; use an id of "
                                     "materials.csv"});
}

TEST(Schema, RejectsANegativeProductionQuantity) {
  BrokenDataset data;
  set_first_row_cell(data.dir(), "production", "quantity", "-5");
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("production") +
                                     ":2:quantity: negative value -5; quantity must be >= 0"});
}

TEST(Schema, RejectsANonNumericValueNamingTheUnit) {
  BrokenDataset data;
  set_first_row_cell(data.dir(), "production", "quantity", "12 t");
  EXPECT_EQ(data.check(), std::vector<std::string>{data.file("production") +
                                                   ":2:quantity: '12 t' is not a number in t/yr"});
}

TEST(Schema, RejectsADuplicateKeyNamingTheFirstLine) {
  BrokenDataset data;
  const fs::path file = data.dir() / "governance.csv";
  CsvTable csv = read_table(file);
  ASSERT_GE(csv.records.size(), 2u);
  ASSERT_EQ(csv.records[0].line, 2);
  csv.records.insert(csv.records.begin() + 1, csv.records[0]);  // the copy lands on line 3
  write_table(file, csv);
  EXPECT_EQ(data.check(), std::vector<std::string>{
                              data.file("governance") +
                              ":3:iso3,year: duplicate key; the same (iso3,year) is already on "
                              "line 2"});
}

TEST(Schema, ReportsEveryRepeatOfAKeyInFileOrderAgainstItsFirstLine) {
  BrokenDataset data;
  const fs::path file = data.dir() / "governance.csv";
  CsvTable csv = read_table(file);
  ASSERT_GE(csv.records.size(), 3u);
  // Lines 2, 3 and 4 hold the first row's key, lines 5 and 6 the second row's.
  const CsvRecord first = csv.records[0], second = csv.records[1];
  csv.records.insert(csv.records.begin() + 1, {first, first});
  csv.records.insert(csv.records.begin() + 4, second);
  write_table(file, csv);
  const std::string governance = data.file("governance");
  EXPECT_EQ(
      data.check(),
      (std::vector<std::string>{
          governance + ":3:iso3,year: duplicate key; the same (iso3,year) is already on line 2",
          governance + ":4:iso3,year: duplicate key; the same (iso3,year) is already on line 2",
          governance + ":6:iso3,year: duplicate key; the same (iso3,year) is already on line 5"}));
}

TEST(Schema, RejectsAProductionUnitOtherThanTonnes) {
  BrokenDataset data;
  set_first_row_cell(data.dir(), "production", "unit", "kg");
  EXPECT_EQ(data.check(), std::vector<std::string>{
                              data.file("production") +
                              ":2:unit: unit 'kg' does not match the schema unit 't'; convert the "
                              "values to t"});
}

TEST(Schema, RejectsAMissingColumn) {
  BrokenDataset data;
  const fs::path file = data.dir() / "production.csv";
  CsvTable csv = read_table(file);
  const std::size_t basis = column(csv, "basis");
  csv.header.erase(csv.header.begin() + static_cast<std::ptrdiff_t>(basis));
  for (CsvRecord& record : csv.records) {
    record.fields.erase(record.fields.begin() + static_cast<std::ptrdiff_t>(basis));
  }
  write_table(file, csv);
  EXPECT_EQ(data.check(), std::vector<std::string>{data.file("production") +
                                                   ":1:basis: missing column 'basis' required by "
                                                   "schema/production.csv"});
}

TEST(Schema, RejectsAnUnknownStageInProduction) {
  BrokenDataset data;
  set_first_row_cell(data.dir(), "production", "stage", "mining");
  EXPECT_EQ(data.check(), std::vector<std::string>{
                              data.file("production") +
                              ":2:stage: unknown stage 'mining'; use extraction or processing"});
}

TEST(Schema, RejectsAnExtraColumn) {
  BrokenDataset data;
  const fs::path file = data.dir() / "production.csv";
  CsvTable csv = read_table(file);
  csv.header.push_back("comment");
  for (CsvRecord& record : csv.records) record.fields.emplace_back();
  write_table(file, csv);
  EXPECT_EQ(data.check(), std::vector<std::string>{
                              data.file("production") +
                              ":1:comment: column 'comment' is not in schema/production.csv; "
                              "remove it or add it to the schema"});
}

TEST(Schema, RejectsAnEmptyRequiredCell) {
  BrokenDataset data;
  set_first_row_cell(data.dir(), "production", "source", "");
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("production") +
                                     ":2:source: empty value; this attribute is required"});
}

TEST(Schema, RejectsAnUnterminatedQuoteAtTheLineWhereItOpens) {
  BrokenDataset data;
  const fs::path file = data.dir() / "governance.csv";
  Result<std::string> text = read_text_file(file);
  ASSERT_TRUE(text.is_ok());
  // governance.csv holds no quote at all, so a quote opened on line 2 runs to the end of the file.
  ASSERT_EQ(text.value().find('"'), std::string::npos);
  const std::size_t line2 = text.value().find('\n') + 1;
  std::string broken = text.value();
  broken.insert(line2, "\"");
  ASSERT_TRUE(write_text_file(file, broken).is_ok());
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("governance") +
                                     ":2: unterminated quoted field; close it with a double quote "
                                     "(\")"});
}

TEST(Schema, LoadDatasetFailsWithTheSameDiagnosticsAsCheckDataset) {
  BrokenDataset data;
  set_first_row_cell(data.dir(), "production", "quantity", "-5");
  const Result<Dataset> loaded = load_dataset(data.dir());
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(texts(loaded.status().diagnostics()), data.check());
}

// ---- critmin's embedded schema against a dataset's schema/ files ---------------------------

// Replaces one cell of the row of `attribute` in <dir>/schema/<table>.csv; returns the row's line.
int set_schema_cell(const fs::path& dir, const std::string& table, const std::string& attribute,
                    const std::string& column_name, const std::string& value) {
  const fs::path file = dir / "schema" / (table + ".csv");
  CsvTable csv = read_table(file);
  for (CsvRecord& record : csv.records) {
    if (record.fields[column(csv, "attribute")] != attribute) continue;
    record.fields[column(csv, column_name)] = value;
    write_table(file, csv);
    return record.line;
  }
  ADD_FAILURE() << file << " has no attribute " << attribute;
  return 0;
}

const std::string kSchemaFix =
    "restore the file from critmin's schema (data/schema/production.csv, printed by `critmin data "
    "schema`) or re-import the dataset with `critmin data import`";

TEST(EmbeddedSchema, HoldsEveryTableByteForByteAsDataSchema) {
  EXPECT_EQ(embedded_schema_texts().size(), dataset_table_names().size());
  for (const std::string& table : dataset_table_names()) {
    const auto it = embedded_schema_texts().find(table);
    ASSERT_NE(it, embedded_schema_texts().end()) << table;
    Result<std::string> file =
        read_text_file(fs::path(CRITMIN_TEST_DATA) / "schema" / (table + ".csv"));
    ASSERT_TRUE(file.is_ok());
    EXPECT_EQ(it->second, file.value()) << table;
    const Result<TableSchema> parsed = parse_schema(it->second, table, table);
    ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
    EXPECT_FALSE(embedded_schema(table).attributes.empty()) << table;
  }
}

TEST(EmbeddedSchema, ADatasetSchemaTypeChangeIsReportedAndTheTableStillChecksAsStage) {
  BrokenDataset data;
  const int line = set_schema_cell(data.dir(), "production", "stage", "type", "string");
  ASSERT_EQ(line, 3);
  set_first_row_cell(data.dir(), "production", "stage", "mining");
  const std::string schema_file = (data.dir() / "schema" / "production.csv").string();
  EXPECT_EQ(data.check(),
            (std::vector<std::string>{
                schema_file + ":3:stage: type is 'string' but critmin's schema says 'stage'; " +
                    kSchemaFix,
                data.file("production") +
                    ":2:stage: unknown stage 'mining'; use extraction or processing"}));
  const Result<Dataset> loaded = load_dataset(data.dir());
  ASSERT_FALSE(loaded.is_ok());
  EXPECT_EQ(texts(loaded.status().diagnostics()), data.check());
}

TEST(EmbeddedSchema, AnAttributeRemovedFromTheDatasetSchemaIsReported) {
  BrokenDataset data;
  const fs::path file = data.dir() / "schema" / "production.csv";
  CsvTable csv = read_table(file);
  std::erase_if(csv.records,
                [&](const CsvRecord& r) { return r.fields[column(csv, "attribute")] == "basis"; });
  write_table(file, csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{file.string() +
                                     ":basis: attribute 'basis' of critmin's schema is missing; " +
                                     kSchemaFix});
}

TEST(EmbeddedSchema, AnAttributeAddedOrChangedInTheDatasetSchemaIsReportedAtItsLine) {
  BrokenDataset data;
  const fs::path file = data.dir() / "schema" / "production.csv";
  set_schema_cell(data.dir(), "production", "quantity", "unit", "kt/yr");
  Result<std::string> text = read_text_file(file);
  ASSERT_TRUE(text.is_ok());
  ASSERT_TRUE(write_text_file(file, text.value() + "comment,string,,empty,false,a note\n").is_ok());
  EXPECT_EQ(data.check(),
            (std::vector<std::string>{
                file.string() + ":6:quantity: unit is 'kt/yr' but critmin's schema says 't/yr'; " +
                    kSchemaFix,
                file.string() +
                    ":11:comment: attribute 'comment' is not in critmin's schema of production; " +
                    kSchemaFix}));
}

TEST(EmbeddedSchema, AMissingDatasetSchemaFileIsReported) {
  BrokenDataset data;
  const fs::path file = data.dir() / "schema" / "production.csv";
  fs::remove(file);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{
                file.string() +
                ": missing schema file; a dataset carries the schema it was written for: restore "
                "it from critmin's schema (data/schema/production.csv) or re-import the dataset "
                "with `critmin data import`"});
}

TEST(EmbeddedSchema, SchemaMarkdownDescribesTheEmbeddedSchemaOfEveryTable) {
  const std::string markdown = schema_markdown();
  for (const std::string& table : dataset_table_names()) {
    EXPECT_NE(markdown.find("\n## " + table + ".csv\n"), std::string::npos) << table;
  }
  EXPECT_NE(markdown.find("| stage | stage |  | required | yes | extraction (mine) or processing "
                          "(refinery, smelter, plant) |"),
            std::string::npos);
}

// ---- hand-written schema files and tables ---------------------------------------------------

// Writes a schema file <dir>/schema/<table>.csv and returns its path.
fs::path write_schema(const fs::path& dir, const std::string& table, const std::string& text) {
  fs::create_directories(dir / "schema");
  const fs::path file = dir / "schema" / (table + ".csv");
  EXPECT_TRUE(write_text_file(file, text).is_ok());
  return file;
}

const char* const kSharesSchema =
    "attribute,type,unit,default,key,description\n"
    "material_id,material,,required,true,material\n"
    "stage,stage,,required,true,stage\n"
    "iso3,iso3,,required,true,country\n"
    "share,share,share (0-1),required,false,share\n"
    "trade_factor,nonnegative,-,1,false,t\n"
    "censored,bool,,false,false,flag\n";

TEST(Schema, LoadsAttributesWithTypeUnitDefaultAndKey) {
  TempDir temp{kTempPrefix};
  const Result<TableSchema> schema =
      load_schema(write_schema(temp.path(), "shares", kSharesSchema));
  ASSERT_TRUE(schema.is_ok()) << schema.status().to_string();
  EXPECT_EQ(schema.value().table, "shares");
  ASSERT_EQ(schema.value().attributes.size(), 6u);
  const Attribute& share = schema.value().attributes[3];
  EXPECT_EQ(share.name, "share");
  EXPECT_EQ(share.type, AttributeType::kShare);
  EXPECT_EQ(share.unit, "share (0-1)");
  EXPECT_TRUE(share.required());
  EXPECT_FALSE(share.key);
  const Attribute& trade_factor = schema.value().attributes[4];
  EXPECT_EQ(trade_factor.type, AttributeType::kNonNegative);
  EXPECT_EQ(trade_factor.default_value, "1");
  EXPECT_FALSE(trade_factor.required());
  EXPECT_TRUE(schema.value().attributes[0].key);
}

TEST(Schema, LoadSchemaReportsAnUnknownTypeAndANonBooleanKey) {
  TempDir temp{kTempPrefix};
  const fs::path file = write_schema(temp.path(), "t",
                                     "attribute,type,unit,default,key,description\n"
                                     "a,string,,required,true,fine\n"
                                     "b,decimal,,required,false,unknown type\n"
                                     "c,int,,required,yes,key is not a bool\n");
  const Result<TableSchema> schema = load_schema(file);
  ASSERT_FALSE(schema.is_ok());
  EXPECT_EQ(schema.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(texts(schema.status().diagnostics()),
            (std::vector<std::string>{file.string() + ":3:type: unknown type 'decimal'",
                                      file.string() + ":4:key: expected true or false"}));
}

TEST(Schema, LoadSchemaReportsAMissingSchemaColumn) {
  TempDir temp{kTempPrefix};
  const fs::path file = write_schema(temp.path(), "t",
                                     "attribute,type,unit,default,description\n"
                                     "a,string,,required,no key column\n");
  const Result<TableSchema> schema = load_schema(file);
  ASSERT_FALSE(schema.is_ok());
  EXPECT_EQ(texts(schema.status().diagnostics()),
            std::vector<std::string>{file.string() + ":1:key: missing schema column"});
}

// Validates CSV text against kSharesSchema with the given reference sets.
struct Validated {
  std::vector<std::string> problems;
  std::optional<SchemaTable> table;
};
Validated validate_shares(const std::string& csv_text) {
  static const std::unordered_set<std::string> kIso3 = {"AUS", "CHN"};
  static const std::unordered_set<std::string> kMaterials = {"lithium", "gallium"};
  TempDir temp{kTempPrefix};
  Validated out;
  Result<TableSchema> schema = load_schema(write_schema(temp.path(), "shares", kSharesSchema));
  EXPECT_TRUE(schema.is_ok()) << schema.status().to_string();
  Result<CsvTable> csv = parse_csv(csv_text, "shares.csv");
  EXPECT_TRUE(csv.is_ok()) << csv.status().to_string();
  if (!schema.is_ok() || !csv.is_ok()) return out;
  out.table.emplace(std::move(schema).value(), std::move(csv).value());
  std::vector<Diagnostic> problems;
  out.table->validate({&kIso3, &kMaterials}, problems);
  out.problems = texts(problems);
  return out;
}

TEST(Schema, ReplacesAnEmptyCellWithTheLiteralDefault) {
  const Validated v = validate_shares(
      "material_id,stage,iso3,share,trade_factor,censored\n"
      "lithium,extraction,AUS,0.5,,\n"
      "lithium,extraction,CHN,0.25,1.3,true\n");
  EXPECT_TRUE(v.problems.empty()) << v.problems.front();
  ASSERT_TRUE(v.table.has_value());
  EXPECT_EQ(v.table->text(0, "trade_factor"), "1");
  EXPECT_DOUBLE_EQ(v.table->number(0, "trade_factor"), 1.0);
  EXPECT_FALSE(v.table->flag(0, "censored"));
  EXPECT_DOUBLE_EQ(v.table->number(1, "trade_factor"), 1.3);
  EXPECT_TRUE(v.table->flag(1, "censored"));
  EXPECT_DOUBLE_EQ(v.table->number(1, "share"), 0.25);
  EXPECT_EQ(v.table->line(1), 3);
}

TEST(Schema, ReportsEveryBadCellOfARowWithItsField) {
  const Validated v = validate_shares(
      "material_id,stage,iso3,share,trade_factor,censored\n"
      "lithium,refining,AUS,0.5,1,maybe\n"
      "gallium,processing,CHN,-0.1,-2,false\n");
  EXPECT_EQ(v.problems,
            (std::vector<std::string>{
                "shares.csv:2:stage: unknown stage 'refining'; use extraction or processing",
                "shares.csv:2:censored: 'maybe' is not true or false",
                "shares.csv:3:share: negative value -0.1; share must be >= 0",
                "shares.csv:3:trade_factor: negative value -2; trade_factor must be >= 0"}));
}

TEST(Schema, AcceptsAShareOfExactlyOneButNotAbove) {
  const Validated v = validate_shares(
      "material_id,stage,iso3,share,trade_factor,censored\n"
      "lithium,extraction,AUS,1,1,false\n"
      "gallium,processing,CHN,1.0001,1,false\n");
  EXPECT_EQ(v.problems, std::vector<std::string>{
                            "shares.csv:3:share: share 1.0001 is above 1; shares are fractions "
                            "0-1 (write 0.25 for 25%)"});
}

TEST(Schema, KeysAreCheckedOnlyOnKeyAttributes) {
  // Same material, stage and country twice: a duplicate although share and t differ.
  const Validated v = validate_shares(
      "material_id,stage,iso3,share,trade_factor,censored\n"
      "lithium,extraction,AUS,0.5,1,false\n"
      "lithium,processing,AUS,0.5,1,false\n"
      "lithium,extraction,AUS,0.2,1.2,true\n");
  EXPECT_EQ(v.problems,
            std::vector<std::string>{"shares.csv:4:material_id,stage,iso3: duplicate key; the same "
                                     "(material_id,stage,iso3) is already on line 2"});
}

TEST(Schema, ChecksMaterialListsIdByIdAndAllowsStarOnlyForMaterialOrDefault) {
  TempDir temp{kTempPrefix};
  Result<TableSchema> schema =
      load_schema(write_schema(temp.path(), "t",
                               "attribute,type,unit,default,key,description\n"
                               "id,material_or_default,,required,true,material or *\n"
                               "ids,material_list,,empty,false,materials\n"
                               "other,material,,empty,false,a single material\n"
                               "n,int,,0,false,a count\n"));
  ASSERT_TRUE(schema.is_ok()) << schema.status().to_string();
  Result<CsvTable> csv = parse_csv(
      "id,ids,other,n\n"
      "*,lithium|unobtainium|gallium|nothing,,\n"
      "lithium,,*,2.5\n",
      "t.csv");
  ASSERT_TRUE(csv.is_ok());
  const std::unordered_set<std::string> materials = {"lithium", "gallium"};
  SchemaTable table(std::move(schema).value(), std::move(csv).value());
  std::vector<Diagnostic> problems;
  table.validate({nullptr, &materials}, problems);
  EXPECT_EQ(texts(problems),
            (std::vector<std::string>{
                "t.csv:2:ids: unknown material 'unobtainium' in list; use ids of materials.csv",
                "t.csv:2:ids: unknown material 'nothing' in list; use ids of materials.csv",
                "t.csv:3:other: unknown material '*'; use an id of materials.csv",
                "t.csv:3:n: '2.5' is not an integer"}));
  EXPECT_EQ(table.list(0, "ids").size(), 4u);
  EXPECT_TRUE(table.list(1, "ids").empty());
  EXPECT_EQ(table.integer(0, "n"), 0);  // the literal default of an empty cell
}

}  // namespace
}  // namespace critmin
