// The market's embedded store: an SQLite database `market.sqlite` in the market directory that
// holds the snapshots (the encoded state, with its checksum) and, written in the same
// transaction, the state as plain tables for queries and reports (participants, certificates,
// lots, book_orders, calls, fills, contracts, settlements; see docs/market-service.md), and the
// audit log's entries up to the snapshot (table audit: seq, the encoded event).
//
// The write-ahead log stays a file of its own (wal.h): group commit over a plain file is what
// acknowledges tens of thousands of durable orders per second. SQLite gives the snapshot an
// atomic, durable commit (journal, synchronous=FULL) and the operator a database to query with
// any SQLite client. The tables reflect the state at the snapshot's sequence number
// (`snapshot.seq`), not the events after it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "service/market_state.h"
#include "service/snapshot_store.h"

struct sqlite3;

namespace critmin::service {

class SqliteStore : public SnapshotStore {
 public:
  // Opens (creating when missing) <dir>/market.sqlite and its tables.
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& dir);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // In one transaction: stores the snapshot `payload` of event `seq`, replaces the query tables
  // by `state` (which must be decode_state(payload)), appends the audit entries, and drops older
  // snapshots.
  Status write_snapshot(std::uint64_t seq, std::string_view payload, const MarketState& state,
                        const std::vector<AuditRecord>& audit) override;
  Result<std::vector<AuditRecord>> read_audit(std::uint64_t after, std::uint64_t through,
                                              std::size_t limit) override;

  // The newest snapshot, or nullopt when there is none. A snapshot that fails its checksum is
  // an error (kIoError).
  Result<std::optional<LoadedSnapshot>> load_latest_snapshot() override;

  static constexpr const char* kFileName = "market.sqlite";

 private:
  SqliteStore() = default;
  Status exec(const char* sql);
  sqlite3* db_ = nullptr;
  // Audit pages are read on request threads while the snapshot thread may be writing: a second,
  // read-only connection (WAL mode lets it read the last commit), one reader at a time.
  std::mutex read_mutex_;
  sqlite3* read_db_ = nullptr;
  std::filesystem::path path_;
};

}  // namespace critmin::service
