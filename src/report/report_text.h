// Pieces of the report models' text shared by the simulation, compare and ensemble reports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace critmin::report {

// The string at `key` of a JSON object; `fallback` when it is missing or not a string.
std::string string_or(const nlohmann::json& object, const char* key,
                      const std::string& fallback = "");
// A whole number with thousands separators: -1234567.8 -> "-1,234,568".
std::string grouped_digits(double value);
// Money for people: "1.23 billion USD", "4.5 million USD/yr", "12,345 USD".
std::string money(double value, const std::string& unit);

}  // namespace critmin::report
