// The simulation's SQLite results stores (results.sqlite of a run and of an ensemble): a
// connection and prepared statements closed on every path, and failures as kIoError naming the
// file.
#pragma once

#include <fmt/format.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "critmin/core/status.h"

namespace critmin::sim {

// A prepared statement finalized on every path.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(statement_); }
  bool prepare(sqlite3* db, const char* sql) {
    return sqlite3_prepare_v2(db, sql, -1, &statement_, nullptr) == SQLITE_OK;
  }
  sqlite3_stmt* get() const { return statement_; }
  // Steps the bound statement once and resets it for the next row.
  bool step() {
    const bool ok = sqlite3_step(statement_) == SQLITE_DONE;
    sqlite3_reset(statement_);
    return ok;
  }

 private:
  sqlite3_stmt* statement_ = nullptr;
};

// A SQLite connection closed on every path.
class Database {
 public:
  Database() = default;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database() {
    if (db_) sqlite3_close(db_);
  }
  Status open(const std::filesystem::path& file) {
    file_ = file;
    if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK) return failure("open");
    return Status::ok();
  }
  Status exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return failure(sql.substr(0, 40));
    }
    return Status::ok();
  }
  // Inserts rows: `bind` binds one row's values (1-based) into the statement.
  template <typename Rows, typename Bind>
  Status insert(const char* sql, const Rows& rows, Bind bind) {
    Statement statement;
    if (!statement.prepare(db_, sql)) return failure(sql);
    for (const auto& row : rows) {
      bind(statement.get(), row);
      if (!statement.step()) return failure(sql);
    }
    return Status::ok();
  }
  sqlite3* handle() const { return db_; }
  Status failure(const std::string& what) const {
    return Status::io_error(fmt::format("{}: SQLite: {} failed: {}", file_.string(), what,
                                        db_ ? sqlite3_errmsg(db_) : "no database"));
  }

 private:
  sqlite3* db_ = nullptr;
  std::filesystem::path file_;
};

inline void bind_text(sqlite3_stmt* s, int i, const std::string& value) {
  sqlite3_bind_text(s, i, value.c_str(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
}

}  // namespace critmin::sim
