// TOML parsing through toml++ with errors in critmin's vocabulary (file:line:column).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "critmin/core/status.h"

namespace critmin {

// Parses TOML text; on a syntax error returns kInvalidInput with one diagnostic at the error's
// line and column.
Result<toml::table> parse_toml(std::string_view text, const std::string& file_name);

// The 1-based line of a node in its source, 0 when unknown.
int toml_line(const toml::node& node);

// Reads typed keys of TOML tables and collects every problem as a located diagnostic
// (file:line:key with a hint) instead of stopping at the first, so that a user fixes a scenario
// file in one round. A getter returns nullopt when the key is absent or wrong (then a problem is
// recorded, except for an absent optional key).
class TomlFields {
 public:
  TomlFields(std::string file, std::vector<Diagnostic>& problems)
      : file_(std::move(file)), problems_(problems) {}

  const std::string& file() const { return file_; }
  void error(const toml::node& node, const std::string& key, std::string message);

  std::optional<std::string> text(const toml::table& table, const char* key, bool required);
  // A number (integer or float) in [low, high].
  std::optional<double> number(const toml::table& table, const char* key, double low, double high,
                               bool required = false);
  std::optional<int> integer(const toml::table& table, const char* key, int low, int high,
                             bool required = false);
  std::optional<bool> boolean(const toml::table& table, const char* key);
  // A non-empty array of strings.
  std::optional<std::vector<std::string>> strings(const toml::table& table, const char* key,
                                                  bool required);
  // Every key of the table must be in `allowed`; `where` names the table in messages.
  void check_keys(const toml::table& table, const std::string& where,
                  const std::set<std::string>& allowed);
  // The tables of an array of tables ([[key]]); a problem when the key holds anything else.
  std::vector<const toml::table*> tables(const toml::table& root, const char* key);

 private:
  std::string file_;
  std::vector<Diagnostic>& problems_;
};

}  // namespace critmin
