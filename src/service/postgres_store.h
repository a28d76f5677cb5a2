// Snapshots and query tables in PostgreSQL, for a multi-user deployment: many people query and
// report from one database while the service (the single writer) keeps its write-ahead log in a
// local directory. Same tables as the SQLite store (snapshot_store.h); `state` is BYTEA, the
// query tables are refilled with COPY in the snapshot's transaction.
#pragma once

#include <memory>
#include <string>

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

  Status write_snapshot(std::uint64_t seq, std::string_view payload,
                        const MarketState& state) override;
  Result<std::optional<LoadedSnapshot>> load_latest_snapshot() override;

 private:
  PostgresStore() = default;
  Status exec(const std::string& sql);
  pg_conn* conn_ = nullptr;
};

}  // namespace critmin::service
