// Snapshots and query tables in PostgreSQL, for a multi-user deployment: many people query and
// report from one database while the service (the single writer) keeps its write-ahead log in a
// local directory. Same tables as the SQLite store (snapshot_store.h); `state` is BYTEA, the
// query tables are refilled with COPY in the snapshot's transaction, and the audit entries up to
// the snapshot are appended to table audit (seq, event BYTEA) in it.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "service/snapshot_store.h"

struct pg_conn;

namespace critmin::service {

class PostgresStore : public SnapshotStore {
 public:
  // `url`: a libpq connection string or URI (postgresql://user@host:port/db). Creates the tables
  // when missing.
  static Result<std::unique_ptr<PostgresStore>> open(const std::string& url);
  ~PostgresStore() override;
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  Status write_snapshot(std::uint64_t seq, std::string_view payload, const MarketState& state,
                        const std::vector<AuditRecord>& audit) override;
  Result<std::vector<AuditRecord>> read_audit(std::uint64_t after, std::uint64_t through,
                                              std::size_t limit) override;
  Result<std::optional<LoadedSnapshot>> load_latest_snapshot() override;

 private:
  PostgresStore() = default;
  Status exec(const std::string& sql);
  pg_conn* conn_ = nullptr;
  std::mutex read_mutex_;         // one audit read at a time on read_conn_
  pg_conn* read_conn_ = nullptr;  // audit pages, beside a snapshot's transaction on conn_
};

}  // namespace critmin::service
