#include "scenario/toml_reader.h"

#include <fmt/format.h>

namespace critmin {

Result<toml::table> parse_toml(std::string_view text, const std::string& file_name) {
  // toml++ is built with exceptions on Debian; they stop here and become a Status.
  try {
    return toml::parse(text, file_name);
  } catch (const toml::parse_error& error) {
    const auto& begin = error.source().begin;
    return Status::invalid_input(
        fmt::format("{}: not valid TOML", file_name),
        {{file_name, static_cast<int>(begin.line), fmt::format("column {}", begin.column),
          std::string(error.description())}});
  }
}

int toml_line(const toml::node& node) { return static_cast<int>(node.source().begin.line); }

void TomlFields::error(const toml::node& node, const std::string& key, std::string message) {
  problems_.push_back({file_, toml_line(node), key, std::move(message)});
}

std::optional<std::string> TomlFields::text(const toml::table& table, const char* key,
                                            bool required) {
  const toml::node* node = table.get(key);
  if (!node) {
    if (required) error(table, key, fmt::format("missing key '{}'", key));
    return std::nullopt;
  }
  if (!node->is_string()) {
    error(*node, key, "expected a string in double quotes");
    return std::nullopt;
  }
  return **node->as_string();
}

std::optional<double> TomlFields::number(const toml::table& table, const char* key, double low,
                                         double high, bool required) {
  const toml::node* node = table.get(key);
  if (!node) {
    if (required) error(table, key, fmt::format("missing key '{}' (a number)", key));
    return std::nullopt;
  }
  if (!node->is_floating_point() && !node->is_integer()) {
    error(*node, key, "expected a number");
    return std::nullopt;
  }
  const double value = node->value<double>().value_or(0.0);
  if (!(value >= low && value <= high)) {
    error(*node, key,
          fmt::format("{} is outside [{}, {}]; give a value in that range", value, low, high));
    return std::nullopt;
  }
  return value;
}

std::optional<int> TomlFields::integer(const toml::table& table, const char* key, int low, int high,
                                       bool required) {
  const toml::node* node = table.get(key);
  if (!node) {
    if (required) error(table, key, fmt::format("missing key '{}' (a whole number)", key));
    return std::nullopt;
  }
  if (!node->is_integer()) {
    error(*node, key, "expected a whole number");
    return std::nullopt;
  }
  const auto value = node->value<long long>().value_or(0);
  if (value < low || value > high) {
    error(*node, key,
          fmt::format("{} is outside [{}, {}]; give a value in that range", value, low, high));
    return std::nullopt;
  }
  return static_cast<int>(value);
}

std::optional<bool> TomlFields::boolean(const toml::table& table, const char* key) {
  const toml::node* node = table.get(key);
  if (!node) return std::nullopt;
  if (!node->is_boolean()) {
    error(*node, key, "expected true or false");
    return std::nullopt;
  }
  return **node->as_boolean();
}

std::optional<std::vector<std::string>> TomlFields::strings(const toml::table& table,
                                                            const char* key, bool required) {
  const toml::node* node = table.get(key);
  if (!node) {
    if (required) error(table, key, fmt::format("missing key '{}' (a list of names)", key));
    return std::nullopt;
  }
  const toml::array* array = node->as_array();
  if (!array || array->empty()) {
    error(*node, key, "expected a non-empty list such as [\"USA\", \"EU27\"]");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const toml::node& item : *array) {
    if (!item.is_string()) {
      error(item, key, "expected strings in double quotes");
      return std::nullopt;
    }
    out.push_back(**item.as_string());
  }
  return out;
}

void TomlFields::check_keys(const toml::table& table, const std::string& where,
                            const std::set<std::string>& allowed) {
  for (const auto& [key, node] : table) {
    if (!allowed.contains(std::string(key.str()))) {
      std::string list;
      for (const std::string& k : allowed) list += (list.empty() ? "" : ", ") + k;
      error(node, fmt::format("{}.{}", where, key.str()),
            fmt::format("unknown key; {} takes {}", where, list));
    }
  }
}

std::vector<const toml::table*> TomlFields::tables(const toml::table& root, const char* key) {
  std::vector<const toml::table*> out;
  const toml::node* node = root.get(key);
  if (!node) return out;
  const toml::array* array = node->as_array();
  if (!array) {
    error(*node, key, fmt::format("write [[{}]] (an array of tables)", key));
    return out;
  }
  for (const toml::node& item : *array) {
    if (const toml::table* t = item.as_table()) {
      out.push_back(t);
    } else {
      error(item, key, "expected a table");
    }
  }
  return out;
}

}  // namespace critmin
