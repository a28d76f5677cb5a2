#include "core/toml_reader.h"

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

}  // namespace critmin
