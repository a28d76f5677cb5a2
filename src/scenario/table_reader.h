// Reads one table of a scenario file with the rules of its section in the scenario schema
// (scenario/keys.h): which keys it may have, each key's range and whether it is required. Every
// problem is recorded in the TomlFields' list as file:line:key with a fix, never thrown.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/keys.h"
#include "scenario/toml_reader.h"

namespace critmin::scenario {

class TableReader {
 public:
  // `section` names the table's rows in data/scenario/keys.csv ("disruption",
  // "instrument.subsidy"); `where` names the table in messages ("instrument (subsidy)").
  TableReader(TomlFields& fields, const toml::table& table, std::string section, std::string where);

  // Records every key of the table that its section does not have.
  void check_keys();

  // Typed getters: nullopt when the key is absent (a problem when the schema requires it) or
  // wrong (always a problem). Ranges come from the schema.
  std::optional<std::string> text(const char* key);
  std::optional<double> number(const char* key);
  std::optional<int> integer(const char* key);
  std::optional<bool> boolean(const char* key);
  std::optional<std::vector<std::string>> strings(const char* key);
  // A text that must be one of the key's choices ("use \"a\" or \"b\"" otherwise).
  std::optional<std::string> choice(const char* key);

  const toml::node* get(const char* key) const { return table_.get(key); }
  bool has(const char* key) const { return table_.contains(key); }
  // A problem at the key's node, or at the table when the key is absent.
  void error(const char* key, std::string message);
  int line() const { return toml_line(table_); }
  const toml::table& table() const { return table_; }
  TomlFields& fields() { return fields_; }

 private:
  // The key's row; records an internal problem (a reader asking for a key the schema does not
  // have is a bug of critmin, caught by the tests) and returns nullptr when there is none.
  const ScenarioKey* row(const char* key);
  bool required(const ScenarioKey* row) const { return row && row->always_required(); }

  TomlFields& fields_;
  const toml::table& table_;
  std::string section_;
  std::string where_;
};

// "use \"a\", \"b\" or \"c\"" for a key's choices.
std::string choices_hint(const std::vector<std::string>& choices);

}  // namespace critmin::scenario
