// critmin's one error vocabulary.
//
// Expected failures (a bad file, an unknown material, an infeasible request) travel as a Status or
// a Result<T>; programmer errors are asserts. User input never triggers an assert. A Status that is
// not ok carries a code (what kind of failure), a message (what is wrong and how to fix it) and,
// for input files, the list of diagnostics that say where (file:line:field).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace critmin {

enum class StatusCode {
  kOk = 0,
  kInvalidInput,  // the caller's input (file, flag, request) is malformed or inconsistent
  kNotFound,      // a named thing (file, material, bloc) does not exist
  kIoError,       // the operating system refused a read or write
  kInternal,      // a broken invariant inside critmin; please report it
};

// One located problem in an input: "file:line:field: message". line 0 means "the whole file",
// an empty field means "the whole line".
struct Diagnostic {
  std::string file;
  int line = 0;
  std::string field;
  std::string message;

  std::string to_string() const;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status invalid_input(std::string message, std::vector<Diagnostic> diagnostics = {});
  static Status not_found(std::string message);
  static Status io_error(std::string message);
  static Status internal(std::string message);

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

  // The message followed by every diagnostic on its own line.
  std::string to_string() const;

 private:
  Status(StatusCode code, std::string message, std::vector<Diagnostic> diagnostics)
      : code_(code), message_(std::move(message)), diagnostics_(std::move(diagnostics)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::vector<Diagnostic> diagnostics_;
};

// Either a value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(state_).is_ok() && "a Result built from a Status must be an error");
  }

  bool is_ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(state_);
  }
  T& value() & {
    assert(is_ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(is_ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(is_ok());
    return std::get<T>(std::move(state_));
  }

 private:
  std::variant<T, Status> state_;
};

// The Status of a Status or of a Result, for CRITMIN_RETURN_IF_ERROR.
inline const Status& status_of(const Status& status) { return status; }
template <typename T>
const Status& status_of(const Result<T>& result) {
  return result.status();
}

}  // namespace critmin

// Returns the error of `expr` (a Status or a Result<T>) from the enclosing function, which returns
// a Status or a Result<U>; does nothing when it is ok. `expr` is evaluated once. The one way
// critmin propagates an error, instead of writing the test and the return out each time.
#define CRITMIN_RETURN_IF_ERROR(expr)                                  \
  do {                                                                 \
    if (auto&& critmin_checked_ = (expr); !critmin_checked_.is_ok()) { \
      return ::critmin::status_of(critmin_checked_);                   \
    }                                                                  \
  } while (false)
