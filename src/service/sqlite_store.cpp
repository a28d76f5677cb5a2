// Snapshots and query tables in SQLite (contract in sqlite_store.h).
#include "service/sqlite_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <vector>

#include "service/wal.h"

namespace critmin::service {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS snapshot (
  seq INTEGER PRIMARY KEY,      -- the last event the state includes
  crc32 INTEGER NOT NULL,       -- CRC-32 of state
  state BLOB NOT NULL           -- the encoded MarketState
);
CREATE TABLE IF NOT EXISTS participants (
  id INTEGER PRIMARY KEY, name TEXT, country TEXT, roles TEXT, club_member INTEGER);
CREATE TABLE IF NOT EXISTS certificates (
  id INTEGER PRIMARY KEY, holder_id INTEGER, certifier_id INTEGER, facility TEXT, material TEXT,
  standard TEXT, valid_from TEXT, valid_to TEXT);
CREATE TABLE IF NOT EXISTS lots (
  id INTEGER PRIMARY KEY, kind TEXT, name TEXT, material TEXT, stage TEXT,
  reserve_price_usd_per_t REAL, reference_price_usd_per_t REAL, tie_rule TEXT,
  certified_only INTEGER, club_only INTEGER, delivery_date TEXT, period INTEGER, phase TEXT,
  tendered_demand_t REAL);
CREATE TABLE IF NOT EXISTS book_orders (
  id INTEGER PRIMARY KEY, lot_id INTEGER, participant_id INTEGER, side TEXT,
  price_usd_per_t REAL, quantity_t REAL, time INTEGER, certificate_id INTEGER, client_ref TEXT);
CREATE TABLE IF NOT EXISTS calls (
  lot_id INTEGER, period INTEGER, seq INTEGER, time_ms INTEGER, outcome TEXT,
  clearing_price_usd_per_t REAL, executed_volume_t REAL, demand_at_price_t REAL,
  supply_at_price_t REAL, reserve_binding INTEGER, rolled_over_t REAL, levy_total_usd REAL,
  PRIMARY KEY (lot_id, period));
CREATE TABLE IF NOT EXISTS fills (
  lot_id INTEGER, period INTEGER, order_id INTEGER, participant_id INTEGER, side TEXT,
  limit_price_usd_per_t REAL, filled_t REAL, levy_usd REAL);
CREATE TABLE IF NOT EXISTS contracts (
  id INTEGER PRIMARY KEY, kind TEXT, material TEXT, stage TEXT, buyer_id INTEGER,
  seller_id INTEGER, volume_t_per_year REAL, start_year INTEGER, tenor_years INTEGER);
CREATE TABLE IF NOT EXISTS settlements (
  material TEXT, stage TEXT, year INTEGER, contract_id INTEGER, kind TEXT,
  reference_price_usd_per_t REAL, volume_t REAL, contract_price_usd_per_t REAL,
  take_or_pay_shortfall_t REAL, payment_usd REAL);
)sql";

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

std::string roles_text(std::uint8_t roles) {
  std::string out;
  for (const std::string& r : role_names(roles)) out += (out.empty() ? "" : ",") + r;
  return out;
}

const char* kind_text(ContractKind kind) {
  return kind == ContractKind::kOfftake ? "offtake" : "subsidy";
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& dir) {
  std::unique_ptr<SqliteStore> store(new SqliteStore());
  store->path_ = dir / kFileName;
  if (sqlite3_open_v2(store->path_.c_str(), &store->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      nullptr) != SQLITE_OK) {
    return Status::io_error(fmt::format("cannot open {}: {}", store->path_.string(),
                                        store->db_ ? sqlite3_errmsg(store->db_) : "out of memory"));
  }
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSchema}) {
    Status status = store->exec(sql);
    if (!status.is_ok()) return status;
  }
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

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
                                   const MarketState& state) {
  Status begun = exec("BEGIN IMMEDIATE");
  if (!begun.is_ok()) return begun;
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
    for (const char* table : {"participants", "certificates", "lots", "book_orders", "calls",
                              "fills", "contracts", "settlements"}) {
      if (!exec(fmt::format("DELETE FROM {}", table).c_str()).is_ok()) return fail(table);
    }
  }
  {
    Statement row(db_, "INSERT INTO participants VALUES (?, ?, ?, ?, ?)");
    for (const auto& [id, p] : state.participants) {
      row.bind(1, i64(id)).bind(2, p.name).bind(3, p.country_iso3).bind(4, roles_text(p.roles));
      if (!row.bind(5, std::int64_t{p.club_member}).run()) return fail("participants");
    }
  }
  {
    Statement row(db_, "INSERT INTO certificates VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& [id, c] : state.certificates) {
      row.bind(1, i64(id))
          .bind(2, i64(c.holder_id))
          .bind(3, i64(c.certifier_id))
          .bind(4, c.facility);
      row.bind(5, c.material_id).bind(6, c.standard).bind(7, format_day(c.valid_from_day));
      if (!row.bind(8, format_day(c.valid_to_day)).run()) return fail("certificates");
    }
  }
  {
    Statement lot_row(db_, "INSERT INTO lots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Statement order_row(db_, "INSERT INTO book_orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Statement call_row(db_, "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Statement fill_row(db_, "INSERT INTO fills VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& [id, l] : state.lots) {
      lot_row.bind(1, i64(id))
          .bind(2, lot_kind_name(l.kind))
          .bind(3, l.name)
          .bind(4, l.material_id);
      lot_row.bind(5, stage_name(l.stage)).bind(6, l.reserve_price_usd_per_t);
      lot_row.bind(7, l.reference_price_usd_per_t).bind(8, auction::tie_rule_name(l.tie_rule));
      lot_row.bind(9, std::int64_t{l.certified_only}).bind(10, std::int64_t{l.club_only});
      lot_row.bind(11, format_day(l.delivery_day)).bind(12, std::int64_t{l.period});
      lot_row.bind(13, round_phase_name(l.phase));
      if (!lot_row.bind(14, l.tendered_demand_t).run()) return fail("lots");
      for (const BookOrder& o : l.book) {
        order_row.bind(1, i64(o.id)).bind(2, i64(id)).bind(3, i64(o.participant_id));
        order_row.bind(4, auction::side_name(o.side))
            .bind(5, o.price_usd_per_t)
            .bind(6, o.quantity_t);
        order_row.bind(7, i64(o.time)).bind(8, i64(o.certificate_id));
        if (!order_row.bind(9, o.client_ref).run()) return fail("book_orders");
      }
      for (const CallRecord& c : l.calls) {
        call_row.bind(1, i64(id))
            .bind(2, std::int64_t{c.period})
            .bind(3, i64(c.seq))
            .bind(4, c.time_ms);
        call_row.bind(5, auction::outcome_name(c.outcome)).bind(6, c.clearing_price_usd_per_t);
        call_row.bind(7, c.executed_volume_t)
            .bind(8, c.demand_at_price_t)
            .bind(9, c.supply_at_price_t);
        call_row.bind(10, std::int64_t{c.reserve_binding}).bind(11, c.rolled_over_t);
        if (!call_row.bind(12, c.levy_total_usd).run()) return fail("calls");
        for (const FillRecord& f : c.fills) {
          fill_row.bind(1, i64(id)).bind(2, std::int64_t{c.period}).bind(3, i64(f.order_id));
          fill_row.bind(4, i64(f.participant_id)).bind(5, auction::side_name(f.side));
          fill_row.bind(6, f.limit_price_usd_per_t).bind(7, f.filled_t);
          if (!fill_row.bind(8, f.levy_usd).run()) return fail("fills");
        }
      }
    }
  }
  {
    Statement row(db_, "INSERT INTO contracts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& [id, c] : state.contracts) {
      row.bind(1, i64(id))
          .bind(2, kind_text(c.kind))
          .bind(3, c.material_id)
          .bind(4, stage_name(c.stage));
      row.bind(5, i64(c.buyer_id)).bind(6, i64(c.seller_id)).bind(7, c.volume_t_per_year);
      row.bind(8, std::int64_t{c.start_year});
      if (!row.bind(9, std::int64_t{c.tenor_years}).run()) return fail("contracts");
    }
  }
  {
    Statement row(db_, "INSERT INTO settlements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const PeriodSettled& s : state.settlements) {
      for (const SettlementEntry& e : s.entries) {
        row.bind(1, s.material_id).bind(2, stage_name(s.stage)).bind(3, std::int64_t{s.year});
        row.bind(4, i64(e.contract_id))
            .bind(5, kind_text(e.kind))
            .bind(6, e.reference_price_usd_per_t);
        row.bind(7, e.volume_t)
            .bind(8, e.contract_price_usd_per_t)
            .bind(9, e.take_or_pay_shortfall_t);
        if (!row.bind(10, e.payment_usd).run()) return fail("settlements");
      }
    }
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
