#include "scenario/table_reader.h"

#include <fmt/format.h>

#include <limits>
#include <set>

namespace critmin::scenario {

TableReader::TableReader(TomlFields& fields, const toml::table& table, std::string section,
                         std::string where)
    : fields_(fields), table_(table), section_(std::move(section)), where_(std::move(where)) {}

void TableReader::check_keys() {
  std::set<std::string> allowed;
  for (const ScenarioKey* key : section_keys(section_)) allowed.insert(key->key);
  fields_.check_keys(table_, where_, allowed);
}

const ScenarioKey* TableReader::row(const char* key) {
  const ScenarioKey* found = find_scenario_key(section_, key);
  if (!found) {
    fields_.error(table_, key,
                  fmt::format("internal: the key '{}' of [{}] is not in critmin's scenario schema "
                              "(data/scenario/keys.csv); please report it",
                              key, section_));
  }
  return found;
}

std::optional<std::string> TableReader::text(const char* key) {
  const ScenarioKey* r = row(key);
  return fields_.text(table_, key, required(r));
}

std::optional<double> TableReader::number(const char* key) {
  const ScenarioKey* r = row(key);
  if (!r) return std::nullopt;
  return fields_.number(table_, key, r->min.value_or(-std::numeric_limits<double>::max()),
                        r->max.value_or(std::numeric_limits<double>::max()), required(r));
}

std::optional<int> TableReader::integer(const char* key) {
  const ScenarioKey* r = row(key);
  if (!r) return std::nullopt;
  const auto bound = [](std::optional<double> value, int fallback) {
    return value ? static_cast<int>(*value) : fallback;
  };
  return fields_.integer(table_, key, bound(r->min, std::numeric_limits<int>::min()),
                         bound(r->max, std::numeric_limits<int>::max()), required(r));
}

std::optional<bool> TableReader::boolean(const char* key) {
  const ScenarioKey* r = row(key);
  if (required(r) && !has(key)) error(key, fmt::format("missing key '{}' (true or false)", key));
  return fields_.boolean(table_, key);
}

std::optional<std::vector<std::string>> TableReader::strings(const char* key) {
  const ScenarioKey* r = row(key);
  return fields_.strings(table_, key, required(r));
}

std::optional<std::string> TableReader::choice(const char* key) {
  const ScenarioKey* r = row(key);
  auto value = fields_.text(table_, key, required(r));
  if (!value || !r) return value;
  const std::vector<std::string> choices = r->choices();
  for (const std::string& c : choices) {
    if (*value == c) return value;
  }
  error(key, choices_hint(choices));
  return std::nullopt;
}

void TableReader::error(const char* key, std::string message) {
  const toml::node* node = table_.get(key);
  fields_.error(node ? *node : static_cast<const toml::node&>(table_), key, std::move(message));
}

std::string choices_hint(const std::vector<std::string>& choices) {
  std::string out = "use ";
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (i > 0) out += i + 1 == choices.size() ? " or " : ", ";
    out += fmt::format("\"{}\"", choices[i]);
  }
  return out;
}

}  // namespace critmin::scenario
