#include "critmin/core/status.h"

#include <fmt/format.h>

namespace critmin {

std::string Diagnostic::to_string() const {
  std::string location = file;
  if (line > 0) location += fmt::format(":{}", line);
  if (!field.empty()) location += ":" + field;
  return location.empty() ? message : location + ": " + message;
}

Status Status::invalid_input(std::string message, std::vector<Diagnostic> diagnostics) {
  return Status(StatusCode::kInvalidInput, std::move(message), std::move(diagnostics));
}
Status Status::not_found(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message), {});
}
Status Status::io_error(std::string message) {
  return Status(StatusCode::kIoError, std::move(message), {});
}
Status Status::internal(std::string message) {
  return Status(StatusCode::kInternal, std::move(message), {});
}

std::string Status::to_string() const {
  std::string out = message_;
  for (const Diagnostic& d : diagnostics_) {
    if (!out.empty()) out += '\n';
    out += d.to_string();
  }
  return out;
}

}  // namespace critmin
