// TOML parsing through toml++ with errors in critmin's vocabulary (file:line:column).
#pragma once

#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "critmin/status.h"

namespace critmin {

// Parses TOML text; on a syntax error returns kInvalidInput with one diagnostic at the error's
// line and column.
Result<toml::table> parse_toml(std::string_view text, const std::string& file_name);

// The 1-based line of a node in its source, 0 when unknown.
int toml_line(const toml::node& node);

}  // namespace critmin
