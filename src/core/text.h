// Small text helpers shared by the readers: trimming, case folding, strict number parsing, files.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/files.h"
#include "critmin/core/status.h"

namespace critmin {

std::string_view trim(std::string_view text);
// A whole number with thousands separators: -1234567.8 -> "-1,234,568".
std::string grouped_digits(double value);
std::string to_lower(std::string_view text);
std::string to_upper(std::string_view text);
std::vector<std::string> split(std::string_view text, char separator);
std::string join(const std::vector<std::string>& parts, std::string_view separator);

// Strict decimal parsing: the whole (trimmed) text must be a finite number; no NaN, no infinity.
std::optional<double> parse_double(std::string_view text);
std::optional<long long> parse_int(std::string_view text);
// "true"/"false"/"1"/"0" (case-insensitive).
std::optional<bool> parse_bool(std::string_view text);

// A formatted number without trailing zeros ("0.25", "1200", "1e-07"), stable across platforms.
std::string format_number(double value);

}  // namespace critmin
