// Snapshots and query tables in SQLite (contract in sqlite_store.h).
#include "service/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <vector>

#include "service/wal.h"

namespace critmin::service {
namespace {

constexpr const char* kSnapshotTable = R"sql(
CREATE TABLE IF NOT EXISTS snapshot (
  seq INTEGER PRIMARY KEY,      -- the last event the state includes
  crc32 INTEGER NOT NULL,       -- CRC-32 of state
  state BLOB NOT NULL           -- the encoded MarketState
))sql";

constexpr const char* kAuditTable = R"sql(
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,      -- the event's sequence number
  event BLOB NOT NULL           -- the event as logged (encode_event); GET /audit decodes it
))sql";

const char* sql_type(ColumnType type) {
  switch (type) {
    case ColumnType::kInteger:
      return "INTEGER";
    case ColumnType::kReal:
      return "REAL";
    case ColumnType::kText:
      return "TEXT";
  }
  return "TEXT";
}

// A prepared statement, finalised on scope exit. Binds by position (1-based).
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    ok_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) == SQLITE_OK;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  bool ok() const { return ok_; }
  Statement& bind(int i, std::int64_t v) {
    ok_ = ok_ && sqlite3_bind_int64(stmt_, i, v) == SQLITE_OK;
    return *this;
  }
  Statement& bind(int i, double v) {
    ok_ = ok_ && sqlite3_bind_double(stmt_, i, v) == SQLITE_OK;
    return *this;
  }
  Statement& bind(int i, const std::optional<double>& v) {
    ok_ = ok_ && (v ? sqlite3_bind_double(stmt_, i, *v) : sqlite3_bind_null(stmt_, i)) == SQLITE_OK;
    return *this;
  }
  Statement& bind(int i, std::string_view v) {
    ok_ = ok_ && sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()),
                                   SQLITE_TRANSIENT) == SQLITE_OK;
    return *this;
  }
  Statement& blob(int i, std::string_view v) {
    ok_ = ok_ && sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_STATIC) == SQLITE_OK;
    return *this;
  }
  // Runs an INSERT/DELETE and resets for the next row.
  bool run() {
    ok_ = ok_ && sqlite3_step(stmt_) == SQLITE_DONE;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return ok_;
  }
  sqlite3_stmt* get() { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  bool ok_ = false;
};

std::int64_t i64(std::uint64_t v) { return static_cast<std::int64_t>(v); }

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& dir) {
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  store->path_ = dir / kFileName;
  if (sqlite3_open_v2(store->path_.c_str(), &store->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    return Status::io_error(fmt::format("cannot open {}: {}", store->path_.string(),
                                        store->db_ ? sqlite3_errmsg(store->db_) : "out of memory"));
  }
  for (const char* sql :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSnapshotTable, kAuditTable}) {
    Status status = store->exec(sql);
    CRITMIN_RETURN_IF_ERROR(status);
  }
  for (const QueryTableSpec& spec : query_table_specs()) {
    std::string sql = fmt::format("CREATE TABLE IF NOT EXISTS {} (", spec.name);
    for (std::size_t i = 0; i < spec.columns.size(); ++i) {
      sql += fmt::format("{}{} {}", i ? ", " : "", spec.columns[i].name,
                         sql_type(spec.columns[i].type));
    }
    Status status = store->exec((sql + ")").c_str());
    CRITMIN_RETURN_IF_ERROR(status);
  }
  return store;
}

SqliteStore::~SqliteStore() {
  sqlite3_close(read_db_);
  sqlite3_close(db_);
}

Result<std::vector<AuditRecord>> SqliteStore::read_audit(std::uint64_t after, std::uint64_t through,
                                                         std::size_t limit) {
  std::lock_guard<std::mutex> lock(read_mutex_);
  if (!read_db_ &&
      sqlite3_open_v2(path_.c_str(), &read_db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    const std::string why = read_db_ ? sqlite3_errmsg(read_db_) : "out of memory";
    sqlite3_close(read_db_);
    read_db_ = nullptr;
    return Status::io_error(fmt::format("cannot open {} to read: {}", path_.string(), why));
  }
  Statement query(read_db_,
                  "SELECT seq, event FROM audit WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?");
  query.bind(1, i64(after)).bind(2, i64(through)).bind(3, static_cast<std::int64_t>(limit));
  if (!query.ok()) {
    return Status::io_error(fmt::format("{}: {}", path_.string(), sqlite3_errmsg(read_db_)));
  }
  std::vector<AuditRecord> records;
  for (;;) {
    const int step = sqlite3_step(query.get());
    if (step == SQLITE_DONE) break;
    if (step != SQLITE_ROW) {
      return Status::io_error(fmt::format("{}: {}", path_.string(), sqlite3_errmsg(read_db_)));
    }
    AuditRecord record;
    record.seq = static_cast<std::uint64_t>(sqlite3_column_int64(query.get(), 0));
    const void* bytes = sqlite3_column_blob(query.get(), 1);
    const int size = sqlite3_column_bytes(query.get(), 1);
    if (bytes && size > 0) {
      record.event.assign(static_cast<const char*>(bytes), static_cast<std::size_t>(size));
    }
    records.push_back(std::move(record));
  }
  return records;
}

Status SqliteStore::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string message = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    return Status::io_error(fmt::format("{}: {}", path_.string(), message));
  }
  return Status::ok();
}

Status SqliteStore::write_snapshot(std::uint64_t seq, std::string_view payload,
                                   const MarketState& state,
                                   const std::vector<AuditRecord>& audit) {
  Status begun = exec("BEGIN IMMEDIATE");
  CRITMIN_RETURN_IF_ERROR(begun);
  auto fail = [&](const char* what) {
    const std::string message = fmt::format("{}: cannot write the snapshot ({}): {}",
                                            path_.string(), what, sqlite3_errmsg(db_));
    (void)exec("ROLLBACK");
    return Status::io_error(message);
  };
  {
    Statement put(db_, "INSERT OR REPLACE INTO snapshot (seq, crc32, state) VALUES (?, ?, ?)");
    if (!put.bind(1, i64(seq))
             .bind(2, static_cast<std::int64_t>(crc32_of(payload)))
             .blob(3, payload)
             .run()) {
      return fail("snapshot");
    }
    Statement drop(db_, "DELETE FROM snapshot WHERE seq < ?");
    if (!drop.bind(1, i64(seq)).run()) return fail("old snapshots");
    // OR REPLACE: a snapshot that failed after this point is retried with the same entries.
    Statement page(db_, "INSERT OR REPLACE INTO audit (seq, event) VALUES (?, ?)");
    for (const AuditRecord& record : audit) {
      if (!page.bind(1, i64(record.seq)).blob(2, record.event).run()) return fail("audit");
    }
  }
  // The query tables, replaced row by row through prepared INSERTs.
  class Sink : public QueryTableSink {
   public:
    Sink(SqliteStore& store, sqlite3* db) : store_(store), db_(db) {}
    Status begin_table(const QueryTableSpec& spec) override {
      name_ = spec.name;
      if (Status s = store_.exec(fmt::format("DELETE FROM {}", spec.name).c_str()); !s.is_ok()) {
        return s;
      }
      std::string sql = fmt::format("INSERT INTO {} VALUES (", spec.name);
      for (std::size_t i = 0; i < spec.columns.size(); ++i) sql += i ? ", ?" : "?";
      insert_ = std::make_unique<Statement>(db_, (sql + ")").c_str());
      return insert_->ok() ? Status::ok() : error();
    }
    Status row(const std::vector<QueryValue>& values) override {
      for (std::size_t i = 0; i < values.size(); ++i) {
        const int at = static_cast<int>(i + 1);
        if (const auto* v = std::get_if<std::int64_t>(&values[i])) {
          insert_->bind(at, *v);
        } else if (const auto* d = std::get_if<double>(&values[i])) {
          insert_->bind(at, *d);
        } else if (const auto* t = std::get_if<std::string>(&values[i])) {
          insert_->bind(at, std::string_view(*t));
        } else {
          insert_->bind(at, std::optional<double>());
        }
      }
      return insert_->run() ? Status::ok() : error();
    }
    Status end_table() override {
      insert_.reset();
      return Status::ok();
    }

   private:
    Status error() const {
      return Status::io_error(fmt::format("table {}: {}", name_, sqlite3_errmsg(db_)));
    }
    SqliteStore& store_;
    sqlite3* db_;
    std::string name_;
    std::unique_ptr<Statement> insert_;
  } sink(*this, db_);
  if (Status written = write_query_tables(state, sink); !written.is_ok()) {
    (void)exec("ROLLBACK");
    return written;
  }
  Status committed = exec("COMMIT");
  if (!committed.is_ok()) {
    (void)exec("ROLLBACK");
    return committed;
  }
  return Status::ok();
}

Result<std::optional<LoadedSnapshot>> SqliteStore::load_latest_snapshot() {
  Statement query(db_, "SELECT seq, crc32, state FROM snapshot ORDER BY seq DESC LIMIT 1");
  if (!query.ok())
    return Status::io_error(fmt::format("{}: {}", path_.string(), sqlite3_errmsg(db_)));
  const int step = sqlite3_step(query.get());
  if (step == SQLITE_DONE) return std::optional<LoadedSnapshot>{};
  if (step != SQLITE_ROW) {
    return Status::io_error(fmt::format("{}: {}", path_.string(), sqlite3_errmsg(db_)));
  }
  LoadedSnapshot snapshot;
  snapshot.seq = static_cast<std::uint64_t>(sqlite3_column_int64(query.get(), 0));
  const auto crc = static_cast<std::uint32_t>(sqlite3_column_int64(query.get(), 1));
  const void* bytes = sqlite3_column_blob(query.get(), 2);
  const int size = sqlite3_column_bytes(query.get(), 2);
  if (bytes && size > 0)
    snapshot.payload.assign(static_cast<const char*>(bytes), static_cast<std::size_t>(size));
  if (crc32_of(snapshot.payload) != crc) {
    return Status::io_error(fmt::format(
        "the snapshot of event {} in {} fails its checksum; restore the directory from a backup",
        snapshot.seq, path_.string()));
  }
  return std::optional<LoadedSnapshot>(std::move(snapshot));
}

}  // namespace critmin::service
