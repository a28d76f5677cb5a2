// Pieces of the report models' text shared by the simulation, compare and ensemble reports.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/text.h"
#include "critmin/core/figures.h"
#include "critmin/core/status.h"

namespace critmin::report {

// The string at `key` of a JSON object; `fallback` when it is missing or not a string.
std::string string_or(const nlohmann::json& object, const char* key,
                      const std::string& fallback = "");
// Money for people: "1.23 billion USD", "4.5 million USD/yr", "12,345 USD".
std::string money(double value, const std::string& unit);

// Every field of a summary (scalars at any depth and the columns of its tables) must be in the
// output table (critmin/core/figures.h, group summary): kInvalidInput listing each one that is not,
// at `file`:0:path. Writers call it before summary_field.
Status check_summary_fields(const nlohmann::json& summary, const std::string& file);
// The attributes of a summary field that check_summary_fields has accepted.
const FigureAttributes& summary_field(std::string_view key);

}  // namespace critmin::report
