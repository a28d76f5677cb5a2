// Where snapshots and the query tables go: the embedded SQLite store (sqlite_store.h, the
// default) or PostgreSQL (postgres_store.h, for a multi-user deployment). Both hold the same
// tables; query_tables() describes them and emits their rows from a state, so the two stores
// cannot drift apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "critmin/core/status.h"
#include "service/market_state.h"

namespace critmin::service {

struct LoadedSnapshot {
  std::uint64_t seq = 0;
  std::string payload;  // encode_state() bytes
};

class SnapshotStore {
 public:
  virtual ~SnapshotStore() = default;
  // In one transaction: stores the snapshot `payload` of event `seq`, replaces the query tables
  // by `state` (which must be decode_state(payload)), appends `audit` (the audit entries after
  // the previous snapshot up to `seq`, in order) to the audit table, and drops older snapshots.
  // Called from one thread at a time.
  virtual Status write_snapshot(std::uint64_t seq, std::string_view payload,
                                const MarketState& state,
                                const std::vector<AuditRecord>& audit) = 0;
  // The audit entries with `after` < seq <= `through`, in order, at most `limit`. Safe to call
  // from any thread, also while a snapshot is being written (it reads the last committed one).
  virtual Result<std::vector<AuditRecord>> read_audit(std::uint64_t after, std::uint64_t through,
                                                      std::size_t limit) = 0;
  // The newest snapshot, or nullopt when there is none; kIoError when it fails its checksum.
  virtual Result<std::optional<LoadedSnapshot>> load_latest_snapshot() = 0;
};

// ---- the query tables -------------------------------------------------------------------------

enum class ColumnType { kInteger, kReal, kText };

struct QueryColumn {
  const char* name;
  ColumnType type;
};

struct QueryTableSpec {
  const char* name;
  std::vector<QueryColumn> columns;
};

using QueryValue = std::variant<std::monostate, std::int64_t, double, std::string>;

// Receives the tables one after another, row by row (a million-order book never exists twice in
// memory).
class QueryTableSink {
 public:
  virtual ~QueryTableSink() = default;
  virtual Status begin_table(const QueryTableSpec& spec) = 0;
  virtual Status row(const std::vector<QueryValue>& values) = 0;
  virtual Status end_table() = 0;
};

// participants, certificates, lots, book_orders, calls, fills, contracts, settlements.
const std::vector<QueryTableSpec>& query_table_specs();

// Emits every table of query_table_specs() with its rows from `state`; stops at a sink error.
Status write_query_tables(const MarketState& state, QueryTableSink& sink);

}  // namespace critmin::service
