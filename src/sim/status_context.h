// The simulation's way of saying where a failure happened: the same failure (code and
// diagnostics) with the year, stage, material or run in front of its message.
#pragma once

#include <fmt/format.h>

#include <string>

#include "critmin/core/status.h"

namespace critmin::sim {

inline Status in_context(const Status& status, const std::string& where) {
  const std::string message = fmt::format("{}: {}", where, status.message());
  switch (status.code()) {
    case StatusCode::kInvalidInput:
      return Status::invalid_input(message, status.diagnostics());
    case StatusCode::kNotFound:
      return Status::not_found(message);
    case StatusCode::kIoError:
      return Status::io_error(message);
    default:
      return Status::internal(message);
  }
}

}  // namespace critmin::sim
