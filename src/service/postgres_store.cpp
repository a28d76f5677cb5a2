// Snapshots and query tables in PostgreSQL (contract in postgres_store.h).
#include "service/postgres_store.h"

#include <endian.h>
#include <fmt/format.h>
#include <libpq-fe.h>

#include <cstring>

#include "service/wal.h"

namespace critmin::service {
namespace {

const char* pg_type(ColumnType type) {
  switch (type) {
    case ColumnType::kInteger:
      return "BIGINT";
    case ColumnType::kReal:
      return "DOUBLE PRECISION";
    case ColumnType::kText:
      return "TEXT";
  }
  return "TEXT";
}

// A PGresult freed on scope exit.
struct ResultGuard {
  PGresult* result;
  ~ResultGuard() { PQclear(result); }
};

// Appends a value in COPY's text format: \N for NULL, backslash escapes in text.
void append_copy_value(std::string& line, const QueryValue& value) {
  if (const auto* v = std::get_if<std::int64_t>(&value)) {
    line += std::to_string(*v);
  } else if (const auto* d = std::get_if<double>(&value)) {
    line += fmt::format("{:.17g}", *d);
  } else if (const auto* t = std::get_if<std::string>(&value)) {
    for (char c : *t) {
      switch (c) {
        case '\\':
          line += "\\\\";
          break;
        case '\t':
          line += "\\t";
          break;
        case '\n':
          line += "\\n";
          break;
        case '\r':
          line += "\\r";
          break;
        default:
          line += c;
      }
    }
  } else {
    line += "\\N";
  }
}

std::uint64_t big_endian_u64(const char* bytes) {
  std::uint64_t value;
  std::memcpy(&value, bytes, sizeof value);
  return be64toh(value);
}

}  // namespace

Result<std::unique_ptr<PostgresStore>> PostgresStore::open(const std::string& url) {
  std::unique_ptr<PostgresStore> store(new PostgresStore());
  store->conn_ = PQconnectdb(url.c_str());
  if (!store->conn_ || PQstatus(store->conn_) != CONNECTION_OK) {
    return Status::io_error(
        fmt::format("cannot connect to PostgreSQL: {}",
                    store->conn_ ? PQerrorMessage(store->conn_) : "out of memory"));
  }
  // The library never prints: server notices (e.g. "table exists, skipping") are dropped.
  PQsetNoticeProcessor(
      store->conn_, [](void*, const char*) {}, nullptr);
  Status created = store->exec(
      "CREATE TABLE IF NOT EXISTS snapshot (seq BIGINT PRIMARY KEY, crc32 BIGINT NOT NULL, "
      "state BYTEA NOT NULL)");
  CRITMIN_RETURN_IF_ERROR(created);
  created = store->exec(
      "CREATE TABLE IF NOT EXISTS audit (seq BIGINT PRIMARY KEY, event BYTEA NOT NULL)");
  CRITMIN_RETURN_IF_ERROR(created);
  // Audit pages are read on request threads while a snapshot may be in its transaction on the
  // main connection: a second connection for them.
  store->read_conn_ = PQconnectdb(url.c_str());
  if (!store->read_conn_ || PQstatus(store->read_conn_) != CONNECTION_OK) {
    return Status::io_error(
        fmt::format("cannot connect to PostgreSQL: {}",
                    store->read_conn_ ? PQerrorMessage(store->read_conn_) : "out of memory"));
  }
  PQsetNoticeProcessor(
      store->read_conn_, [](void*, const char*) {}, nullptr);
  for (const QueryTableSpec& spec : query_table_specs()) {
    std::string sql = fmt::format("CREATE TABLE IF NOT EXISTS {} (", spec.name);
    for (std::size_t i = 0; i < spec.columns.size(); ++i) {
      sql += fmt::format("{}{} {}", i ? ", " : "", spec.columns[i].name,
                         pg_type(spec.columns[i].type));
    }
    Status status = store->exec(sql + ")");
    CRITMIN_RETURN_IF_ERROR(status);
  }
  return store;
}

PostgresStore::~PostgresStore() {
  PQfinish(read_conn_);
  PQfinish(conn_);
}

Result<std::vector<AuditRecord>> PostgresStore::read_audit(std::uint64_t after,
                                                           std::uint64_t through,
                                                           std::size_t limit) {
  std::lock_guard<std::mutex> lock(read_mutex_);
  const std::string after_text = std::to_string(after);
  const std::string through_text = std::to_string(through);
  const std::string limit_text = std::to_string(limit);
  const char* values[3] = {after_text.c_str(), through_text.c_str(), limit_text.c_str()};
  ResultGuard query{PQexecParams(
      read_conn_, "SELECT seq, event FROM audit WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3",
      3, nullptr, values, nullptr, nullptr, 1)};
  if (PQresultStatus(query.result) != PGRES_TUPLES_OK) {
    return Status::io_error(fmt::format("PostgreSQL audit: {}", PQerrorMessage(read_conn_)));
  }
  std::vector<AuditRecord> records;
  for (int row = 0; row < PQntuples(query.result); ++row) {
    if (PQgetlength(query.result, row, 0) != 8) {
      return Status::io_error("PostgreSQL: the audit table has unexpected column types");
    }
    AuditRecord record;
    record.seq = big_endian_u64(PQgetvalue(query.result, row, 0));
    record.event.assign(PQgetvalue(query.result, row, 1),
                        static_cast<std::size_t>(PQgetlength(query.result, row, 1)));
    records.push_back(std::move(record));
  }
  return records;
}

Status PostgresStore::exec(const std::string& sql) {
  ResultGuard result{PQexec(conn_, sql.c_str())};
  const ExecStatusType status = PQresultStatus(result.result);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Status::io_error(fmt::format("PostgreSQL: {}", PQerrorMessage(conn_)));
  }
  return Status::ok();
}

Status PostgresStore::write_snapshot(std::uint64_t seq, std::string_view payload,
                                     const MarketState& state,
                                     const std::vector<AuditRecord>& audit) {
  if (Status s = exec("BEGIN"); !s.is_ok()) return s;
  auto fail = [&](Status status) {
    (void)exec("ROLLBACK");
    return status;
  };
  {
    const std::string seq_text = std::to_string(seq);
    const std::string crc_text = std::to_string(crc32_of(payload));
    const char* values[3] = {seq_text.c_str(), crc_text.c_str(), payload.data()};
    const int lengths[3] = {0, 0, static_cast<int>(payload.size())};
    const int formats[3] = {0, 0, 1};  // the state goes in binary
    ResultGuard put{PQexecParams(conn_,
                                 "INSERT INTO snapshot (seq, crc32, state) VALUES ($1, $2, $3) "
                                 "ON CONFLICT (seq) DO UPDATE SET crc32 = EXCLUDED.crc32, "
                                 "state = EXCLUDED.state",
                                 3, nullptr, values, lengths, formats, 0)};
    if (PQresultStatus(put.result) != PGRES_COMMAND_OK) {
      return fail(Status::io_error(fmt::format("PostgreSQL snapshot: {}", PQerrorMessage(conn_))));
    }
    if (Status s = exec("DELETE FROM snapshot WHERE seq < " + seq_text); !s.is_ok()) {
      return fail(s);
    }
  }
  // The query tables, refilled with COPY (text format), flushed in pieces of about 1 MB.
  class Sink : public QueryTableSink {
   public:
    explicit Sink(PostgresStore& store, pg_conn* conn) : store_(store), conn_(conn) {}
    Status begin_table(const QueryTableSpec& spec) override {
      name_ = spec.name;
      if (Status s = store_.exec(fmt::format("DELETE FROM {}", spec.name)); !s.is_ok()) return s;
      ResultGuard copy{PQexec(conn_, fmt::format("COPY {} FROM STDIN", spec.name).c_str())};
      if (PQresultStatus(copy.result) != PGRES_COPY_IN) return error();
      return Status::ok();
    }
    Status row(const std::vector<QueryValue>& values) override {
      for (std::size_t i = 0; i < values.size(); ++i) {
        if (i) buffer_ += '\t';
        append_copy_value(buffer_, values[i]);
      }
      buffer_ += '\n';
      return buffer_.size() >= (1u << 20) ? flush() : Status::ok();
    }
    Status end_table() override {
      if (Status s = flush(); !s.is_ok()) return s;
      if (PQputCopyEnd(conn_, nullptr) != 1) return error();
      Status status = Status::ok();
      while (PGresult* result = PQgetResult(conn_)) {
        if (PQresultStatus(result) != PGRES_COMMAND_OK) status = error();
        PQclear(result);
      }
      return status;
    }

   private:
    Status flush() {
      if (!buffer_.empty() &&
          PQputCopyData(conn_, buffer_.data(), static_cast<int>(buffer_.size())) != 1) {
        return error();
      }
      buffer_.clear();
      return Status::ok();
    }
    Status error() const {
      return Status::io_error(fmt::format("PostgreSQL table {}: {}", name_, PQerrorMessage(conn_)));
    }
    PostgresStore& store_;
    pg_conn* conn_;
    std::string name_;
    std::string buffer_;
  } sink(*this, conn_);
  if (Status written = write_query_tables(state, sink); !written.is_ok()) return fail(written);
  // The audit entries since the previous snapshot, with COPY too: bytea in hex ("\\x..." in
  // COPY's text format, the backslash escaped).
  if (!audit.empty()) {
    ResultGuard copy{PQexec(conn_, "COPY audit FROM STDIN")};
    if (PQresultStatus(copy.result) != PGRES_COPY_IN) {
      return fail(Status::io_error(fmt::format("PostgreSQL audit: {}", PQerrorMessage(conn_))));
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string buffer;
    bool sent = true;
    for (const AuditRecord& record : audit) {
      buffer += std::to_string(record.seq);
      buffer += "\t\\\\x";
      for (unsigned char c : record.event) {
        buffer += kHex[c >> 4];
        buffer += kHex[c & 15];
      }
      buffer += '\n';
      if (buffer.size() >= (1u << 20)) {
        sent = sent && PQputCopyData(conn_, buffer.data(), static_cast<int>(buffer.size())) == 1;
        buffer.clear();
      }
    }
    if (!buffer.empty()) {
      sent = sent && PQputCopyData(conn_, buffer.data(), static_cast<int>(buffer.size())) == 1;
    }
    sent = PQputCopyEnd(conn_, nullptr) == 1 && sent;
    bool copied = sent;
    while (PGresult* result = PQgetResult(conn_)) {
      if (PQresultStatus(result) != PGRES_COMMAND_OK) copied = false;
      PQclear(result);
    }
    if (!copied) {
      return fail(Status::io_error(fmt::format("PostgreSQL audit: {}", PQerrorMessage(conn_))));
    }
  }
  if (Status committed = exec("COMMIT"); !committed.is_ok()) return fail(committed);
  return Status::ok();
}

Result<std::optional<LoadedSnapshot>> PostgresStore::load_latest_snapshot() {
  ResultGuard query{PQexecParams(conn_,
                                 "SELECT seq, crc32, state FROM snapshot ORDER BY seq DESC LIMIT 1",
                                 0, nullptr, nullptr, nullptr, nullptr, 1)};
  if (PQresultStatus(query.result) != PGRES_TUPLES_OK) {
    return Status::io_error(fmt::format("PostgreSQL: {}", PQerrorMessage(conn_)));
  }
  if (PQntuples(query.result) == 0) return std::optional<LoadedSnapshot>{};
  if (PQgetlength(query.result, 0, 0) != 8 || PQgetlength(query.result, 0, 1) != 8) {
    return Status::io_error("PostgreSQL: the snapshot table has unexpected column types");
  }
  LoadedSnapshot snapshot;
  snapshot.seq = big_endian_u64(PQgetvalue(query.result, 0, 0));
  const auto crc = static_cast<std::uint32_t>(big_endian_u64(PQgetvalue(query.result, 0, 1)));
  snapshot.payload.assign(PQgetvalue(query.result, 0, 2),
                          static_cast<std::size_t>(PQgetlength(query.result, 0, 2)));
  if (crc32_of(snapshot.payload) != crc) {
    return Status::io_error(fmt::format(
        "the PostgreSQL snapshot of event {} fails its checksum; restore the database from a "
        "backup",
        snapshot.seq));
  }
  return std::optional<LoadedSnapshot>(std::move(snapshot));
}

}  // namespace critmin::service
