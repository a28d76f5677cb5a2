// The market service's state machine, log and recovery, without HTTP.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <fstream>

#include "critmin/policy/settlement.h"
#include "market_test_support.h"
#include "service/sqlite_store.h"
#include "service/wal.h"

namespace critmin::test {
namespace {

using auction::Side;
using service::MarketService;

std::vector<service::SegmentFile> segments_of(const std::filesystem::path& dir) {
  Result<std::vector<service::SegmentFile>> listed = service::list_segments(dir);
  EXPECT_TRUE(listed.is_ok());
  return listed.is_ok() ? listed.value() : std::vector<service::SegmentFile>{};
}

// A market with every kind of event: participants, a certificate, two lots, orders, a clearing,
// contracts and a settlement.
void run_session(MarketService& market, const Cast& cast) {
  Result<std::uint64_t> cert = market.issue_certificate(
      cast.certifier.id,
      {cast.seller.id, "Kwinana refinery", "gallium", "IRMA 75", "2026-01-01", "2028-12-31"});
  ASSERT_TRUE(cert.is_ok()) << cert.status().to_string();
  Result<std::uint64_t> lot = market.open_lot(cast.op.id, gallium_lot());
  ASSERT_TRUE(lot.is_ok()) << lot.status().to_string();
  ASSERT_TRUE(
      market.submit_order(cast.buyer.id, order(lot.value(), Side::kBuy, 600'000, 10)).is_ok());
  ASSERT_TRUE(
      market.submit_order(cast.seller.id, order(lot.value(), Side::kSell, 450'000, 6, cert.value()))
          .is_ok());
  ASSERT_TRUE(
      market.submit_order(cast.outsider.id, order(lot.value(), Side::kSell, 400'000, 8)).is_ok());
  Result<service::CallRecord> call = market.clear_lot(cast.op.id, lot.value());
  ASSERT_TRUE(call.is_ok()) << call.status().to_string();
  service::NewContract offtake;
  offtake.kind = service::ContractKind::kOfftake;
  offtake.material = "gallium";
  offtake.stage = "processing";
  offtake.buyer_id = cast.buyer.id;
  offtake.seller_id = cast.seller.id;
  offtake.offtake.price.kind = settlement::OfftakePrice::Kind::kIndexed;
  offtake.offtake.price.index_factor = 0.9;
  offtake.offtake.price.floor_usd_per_t = 480'000;
  offtake.offtake.volume_t_per_year = 20;
  offtake.offtake.start_year = 2027;
  offtake.offtake.tenor_years = 5;
  offtake.offtake.take_or_pay_share = 0.8;
  ASSERT_TRUE(market.register_contract(cast.op.id, offtake).is_ok());
  service::NewContract cfd;
  cfd.kind = service::ContractKind::kSubsidy;
  cfd.material = "gallium";
  cfd.stage = "processing";
  cfd.seller_id = cast.seller.id;
  cfd.subsidy.kind = settlement::SubsidyKind::kTwoWayCfd;
  cfd.subsidy.strike_usd_per_t = 650'000;
  cfd.volume_t_per_year = 12;
  cfd.start_year = 2026;
  cfd.tenor_years = 10;
  ASSERT_TRUE(market.register_contract(cast.op.id, cfd).is_ok());
  service::SettleRequest settle;
  settle.material = "gallium";
  settle.stage = "processing";
  settle.year = 2027;
  Result<service::PeriodSettled> settled = market.settle_period(cast.op.id, settle);
  ASSERT_TRUE(settled.is_ok()) << settled.status().to_string();
}

TEST(MarketService, ReplayingTheLogRebuildsExactlyTheSameState) {
  TempDir dir("critmin_market_");
  std::string before;
  {
    auto market = open_market(dir.path());
    ASSERT_TRUE(market);
    run_session(*market, register_cast(*market));
    before = state_bytes(*market);
  }
  auto reopened = open_market(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_FALSE(reopened->recovery().from_snapshot);
  EXPECT_EQ(reopened->recovery().replayed_events, reopened->last_seq());
  EXPECT_EQ(state_bytes(*reopened), before);
}

TEST(MarketService, SnapshotPlusLogTailRebuildsTheSameStateAndDropsOldSegments) {
  TempDir dir("critmin_market_");
  std::string before;
  {
    auto market = open_market(dir.path());
    ASSERT_TRUE(market);
    const Cast cast = register_cast(*market);
    ASSERT_TRUE(market->snapshot().is_ok());
    run_session(*market, cast);
    before = state_bytes(*market);
  }
  const std::vector<service::SegmentFile> segments = segments_of(dir.path());
  ASSERT_FALSE(segments.empty());
  EXPECT_EQ(segments.front().first_seq, 7u);  // the 6 cast events live in the snapshot
  auto reopened = open_market(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened->recovery().from_snapshot);
  EXPECT_EQ(reopened->recovery().snapshot_seq, 6u);
  EXPECT_EQ(state_bytes(*reopened), before);
}

// Runs a query that returns one integer.
std::int64_t query_number(const std::filesystem::path& db_path, const char* sql) {
  sqlite3* db = nullptr;
  std::int64_t value = -1;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      value = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return value;
}

TEST(MarketService, SnapshotsFillTheSqliteQueryTables) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  run_session(*market, register_cast(*market));
  ASSERT_TRUE(market->snapshot().is_ok());
  const std::filesystem::path db = dir.path() / service::SqliteStore::kFileName;
  EXPECT_EQ(query_number(db, "SELECT seq FROM snapshot"),
            static_cast<std::int64_t>(market->last_seq()));
  EXPECT_EQ(query_number(db, "SELECT COUNT(*) FROM participants"), 6);
  EXPECT_EQ(query_number(db, "SELECT COUNT(*) FROM participants WHERE club_member = 0"), 1);
  EXPECT_EQ(query_number(db, "SELECT COUNT(*) FROM calls WHERE outcome = 'cleared'"), 1);
  EXPECT_EQ(
      query_number(db, "SELECT CAST(SUM(filled_t) AS INTEGER) FROM fills WHERE side = 'sell'"), 10);
  EXPECT_EQ(query_number(db, "SELECT COUNT(*) FROM book_orders"), 1);  // the unsold ask rolled over
  EXPECT_EQ(query_number(db, "SELECT COUNT(*) FROM settlements"), 2);
  // A second snapshot replaces the first and the tables.
  ASSERT_TRUE(market->open_lot(1, gallium_lot()).is_ok());
  ASSERT_TRUE(market->snapshot().is_ok());
  EXPECT_EQ(query_number(db, "SELECT COUNT(*) FROM snapshot"), 1);
  EXPECT_EQ(query_number(db, "SELECT COUNT(*) FROM lots"), 2);
}

TEST(MarketService, SnapshotsPageTheAuditLogOutOfMemoryAndItReadsWholeAcrossTheBoundary) {
  TempDir dir("critmin_market_");
  std::vector<std::uint64_t> seqs;
  std::vector<std::string> before;
  {
    auto market = open_market(dir.path());
    ASSERT_TRUE(market);
    const Cast cast = register_cast(*market);
    const std::uint64_t lot = market->open_lot(cast.op.id, gallium_lot()).value();
    ASSERT_TRUE(market->snapshot().is_ok());
    EXPECT_EQ(market->audit_entries_in_memory(), 0u);  // all in the store now
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(
          market->submit_order(cast.buyer.id, order(lot, auction::Side::kBuy, 6e5 + i, 1)).is_ok());
    }
    EXPECT_EQ(market->audit_entries_in_memory(), 5u);  // only the entries since the snapshot
    // Whole, in order, across the store and memory; and in pages that straddle the boundary.
    Result<std::vector<service::AuditRecord>> all = market->read_audit(0, 1000);
    ASSERT_TRUE(all.is_ok());
    ASSERT_EQ(all.value().size(), market->last_seq());
    for (std::size_t i = 0; i < all.value().size(); ++i) {
      EXPECT_EQ(all.value()[i].seq, i + 1);
      seqs.push_back(all.value()[i].seq);
      before.push_back(all.value()[i].event);
    }
    const std::uint64_t boundary = market->last_seq() - 5;
    Result<std::vector<service::AuditRecord>> page = market->read_audit(boundary - 2, 4);
    ASSERT_TRUE(page.is_ok());
    ASSERT_EQ(page.value().size(), 4u);
    EXPECT_EQ(page.value().front().seq, boundary - 1);
    EXPECT_EQ(page.value().back().seq, boundary + 2);
    EXPECT_EQ(page.value()[2].event, before[boundary]);
  }
  // After a restart (snapshot plus log tail) the audit log reads the same.
  auto reopened = open_market(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->audit_entries_in_memory(), 5u);
  Result<std::vector<service::AuditRecord>> again = reopened->read_audit(0, 1000);
  ASSERT_TRUE(again.is_ok());
  ASSERT_EQ(again.value().size(), before.size());
  for (std::size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(again.value()[i].seq, seqs[i]);
    EXPECT_EQ(again.value()[i].event, before[i]);
  }
}

// Regression for the snapshot format change: a format-1 snapshot held the audit log inside the
// state; it still loads, and its audit entries are kept (in memory until the next snapshot).
TEST(MarketService, AnOlderSnapshotThatHeldTheAuditLogStillLoadsWithItsAudit) {
  TempDir dir("critmin_market_");
  std::string state_before;
  std::vector<service::AuditRecord> audit_before;
  {
    auto market = open_market(dir.path());
    ASSERT_TRUE(market);
    register_cast(*market);
    ASSERT_TRUE(market->snapshot().is_ok());
    state_before = state_bytes(*market);
    audit_before = market->read_audit(0, 1000).value();
  }
  // Rewrite the snapshot as format 1 would have: format byte 1, the state, then the audit list
  // (u64 count; per entry u64 seq, u32 length, bytes); and no audit table rows.
  std::string legacy = state_before;
  legacy[0] = 1;
  const auto put_u64 = [&](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) legacy.push_back(static_cast<char>(v >> (8 * i)));
  };
  put_u64(audit_before.size());
  for (const service::AuditRecord& r : audit_before) {
    put_u64(r.seq);
    for (int i = 0; i < 4; ++i) legacy.push_back(static_cast<char>(r.event.size() >> (8 * i)));
    legacy += r.event;
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2((dir.path() / service::SqliteStore::kFileName).c_str(), &db,
                            SQLITE_OPEN_READWRITE, nullptr),
            SQLITE_OK);
  sqlite3_stmt* update = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "UPDATE snapshot SET state = ?, crc32 = ?", -1, &update, nullptr),
      SQLITE_OK);
  sqlite3_bind_blob64(update, 1, legacy.data(), legacy.size(), SQLITE_STATIC);
  sqlite3_bind_int64(update, 2, static_cast<sqlite3_int64>(service::crc32_of(legacy)));
  EXPECT_EQ(sqlite3_step(update), SQLITE_DONE);
  sqlite3_finalize(update);
  EXPECT_EQ(sqlite3_exec(db, "DELETE FROM audit", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto reopened = open_market(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(state_bytes(*reopened), state_before);
  EXPECT_EQ(reopened->audit_entries_in_memory(), audit_before.size());
  Result<std::vector<service::AuditRecord>> audit = reopened->read_audit(0, 1000);
  ASSERT_TRUE(audit.is_ok());
  ASSERT_EQ(audit.value().size(), audit_before.size());
  for (std::size_t i = 0; i < audit_before.size(); ++i) {
    EXPECT_EQ(audit.value()[i].event, audit_before[i].event);
  }
  // The next snapshot pages them out.
  ASSERT_TRUE(reopened->snapshot().is_ok());
  EXPECT_EQ(reopened->audit_entries_in_memory(), 0u);
  EXPECT_EQ(reopened->read_audit(0, 1000).value().size(), audit_before.size());
}

TEST(MarketService, AutomaticSnapshotsKeepRecoveryExact) {
  TempDir dir("critmin_market_");
  std::string before;
  {
    auto market = open_market(dir.path(), 4);
    ASSERT_TRUE(market);
    run_session(*market, register_cast(*market));
    before = state_bytes(*market);
  }
  auto reopened = open_market(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened->recovery().from_snapshot);
  EXPECT_EQ(state_bytes(*reopened), before);
}

TEST(MarketService, TornTailIsCutAndEveryWholeRecordSurvives) {
  TempDir dir("critmin_market_");
  std::uint64_t last = 0;
  {
    auto market = open_market(dir.path());
    ASSERT_TRUE(market);
    register_cast(*market);
    last = market->last_seq();
  }
  const std::vector<service::SegmentFile> segments = segments_of(dir.path());
  ASSERT_FALSE(segments.empty());
  const std::filesystem::path newest = segments.back().path;
  // A crash in the middle of the next record: half a header and some payload bytes.
  {
    std::ofstream out(newest, std::ios::binary | std::ios::app);
    out << std::string("\x30\x00\x00\x00\x12\x34", 6) << "partial payload";
  }
  const auto torn_size = std::filesystem::file_size(newest);
  auto reopened = open_market(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->last_seq(), last);
  EXPECT_EQ(reopened->recovery().torn_bytes_truncated, 21u);
  EXPECT_EQ(std::filesystem::file_size(newest), torn_size - 21);
  // The market goes on from there.
  EXPECT_TRUE(reopened->open_lot(1, gallium_lot()).is_ok());
  EXPECT_EQ(reopened->last_seq(), last + 1);
}

TEST(MarketService, ThePreallocatedZerosAKillLeavesAreCutWithoutLosingARecord) {
  TempDir dir("critmin_market_");
  std::string before;
  {
    auto market = open_market(dir.path());
    ASSERT_TRUE(market);
    register_cast(*market);
    before = state_bytes(*market);
  }
  // What a SIGKILL leaves: the newest segment still ends in the writer's zeros.
  const std::filesystem::path newest = segments_of(dir.path()).back().path;
  const auto records_size = std::filesystem::file_size(newest);
  {
    std::ofstream out(newest, std::ios::binary | std::ios::app);
    out << std::string(1 << 20, '\0');
  }
  auto reopened = open_market(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(state_bytes(*reopened), before);
  EXPECT_EQ(reopened->recovery().torn_bytes_truncated, 0u);  // zeros are not damage
  EXPECT_EQ(std::filesystem::file_size(newest), records_size);
}

TEST(MarketService, AFlippedBitInTheLastRecordDropsOnlyThatRecord) {
  TempDir dir("critmin_market_");
  {
    auto market = open_market(dir.path());
    ASSERT_TRUE(market);
    register_cast(*market);
  }
  const std::filesystem::path newest = segments_of(dir.path()).back().path;
  std::string bytes = read_file(newest);
  bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x10);
  write_file(newest, bytes);
  auto reopened = open_market(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->last_seq(), 5u);  // the auditor's registration was the damaged record
}

TEST(MarketService, DamageInAnOlderSegmentStopsRecoveryWithAMessage) {
  TempDir dir("critmin_market_");
  {
    auto market = open_market(dir.path());
    ASSERT_TRUE(market);
    register_cast(*market);
  }
  {
    auto market = open_market(dir.path());  // a second segment starts at event 7
    ASSERT_TRUE(market);
    ASSERT_TRUE(market->open_lot(1, gallium_lot()).is_ok());
  }
  const std::filesystem::path oldest = segments_of(dir.path()).front().path;
  std::string bytes = read_file(oldest);
  bytes[20] = static_cast<char>(bytes[20] ^ 0x01);
  write_file(oldest, bytes);
  service::ServiceConfig config;
  config.directory = dir.path();
  Result<std::unique_ptr<MarketService>> opened = MarketService::open(config, market_dataset());
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kIoError);
  EXPECT_NE(opened.status().message().find("not the newest segment"), std::string::npos);
}

TEST(MarketService, RejectedRequestsLeaveTheStateAndTheLogUnchanged) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  const std::uint64_t lot = market->open_lot(cast.op.id, gallium_lot()).value();
  const std::string before = state_bytes(*market);
  // The records in the log (the newest segment is preallocated, so its size says nothing).
  const auto log_bytes = [&] {
    std::uintmax_t total = 0;
    for (const auto& s : segments_of(dir.path())) {
      Result<service::SegmentScan> scan = service::scan_segment(
          s.path, [](std::uint64_t, std::string_view) { return Status::ok(); });
      EXPECT_TRUE(scan.is_ok());
      if (scan.is_ok()) total += scan.value().valid_bytes;
    }
    return total;
  };
  const std::uintmax_t log_before = log_bytes();

  EXPECT_FALSE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, 600'000, 0)).is_ok());
  EXPECT_FALSE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, 600'000, -3)).is_ok());
  EXPECT_FALSE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, -1, 3)).is_ok());
  EXPECT_FALSE(
      market->submit_order(cast.buyer.id, order(lot, Side::kBuy, std::nan(""), 3)).is_ok());
  EXPECT_EQ(market->submit_order(cast.buyer.id, order(lot + 100, Side::kBuy, 1, 3)).status().code(),
            StatusCode::kNotFound);
  service::NewLot unknown = gallium_lot();
  unknown.material = "unobtainium";
  Result<std::uint64_t> bad_lot = market->open_lot(cast.op.id, unknown);
  ASSERT_FALSE(bad_lot.is_ok());
  EXPECT_NE(bad_lot.status().message().find("unobtainium"), std::string::npos);
  EXPECT_FALSE(market->register_participant(cast.op.id, {"X", "XXX", service::kBuyer}).is_ok());
  EXPECT_FALSE(market->register_participant(cast.op.id, {"", "DEU", service::kBuyer}).is_ok());
  EXPECT_FALSE(market->register_participant(cast.op.id, {"X", "DEU", 0}).is_ok());

  EXPECT_EQ(state_bytes(*market), before);
  EXPECT_EQ(log_bytes(), log_before);
}

TEST(MarketService, ABatchOfOrdersIsTakenWholeOrNotAtAll) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  const std::uint64_t lot = market->open_lot(cast.op.id, gallium_lot()).value();
  const std::string before = state_bytes(*market);
  std::vector<service::NewOrder> batch = {
      order(lot, Side::kBuy, 6e5, 1), order(lot, Side::kBuy, 6e5, 2),
      order(lot, Side::kBuy, 6e5, 0), order(lot, Side::kBuy, 6e5, 4)};
  Result<std::vector<std::uint64_t>> rejected = market->submit_orders(cast.buyer.id, batch);
  ASSERT_FALSE(rejected.is_ok());
  EXPECT_NE(rejected.status().message().find("orders[2]: quantity_t"), std::string::npos)
      << rejected.status().message();
  EXPECT_EQ(state_bytes(*market), before);
  EXPECT_FALSE(market->submit_orders(cast.buyer.id, {}).is_ok());

  batch[2].quantity_t = 3;
  Result<std::vector<std::uint64_t>> taken = market->submit_orders(cast.buyer.id, batch);
  ASSERT_TRUE(taken.is_ok()) << taken.status().to_string();
  ASSERT_EQ(taken.value().size(), 4u);
  EXPECT_EQ(taken.value()[3], taken.value()[0] + 3);
  Result<service::OrderPage> book = market->orders(lot, 0, 0, 100);
  ASSERT_TRUE(book.is_ok());
  std::string quantities;
  for (const service::BookOrder& o : book.value().orders) {
    quantities += std::to_string(o.quantity_t) + " ";
  }
  EXPECT_EQ(quantities, "1.000000 2.000000 3.000000 4.000000 ");
}

TEST(MarketService, OnlyClubMembersBuyInClubLots) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  const std::uint64_t lot = market->open_lot(cast.op.id, gallium_lot()).value();
  Result<std::uint64_t> outsider =
      market->submit_order(cast.outsider.id, order(lot, Side::kBuy, 6e5, 1));
  ASSERT_FALSE(outsider.is_ok());
  EXPECT_NE(outsider.status().message().find("club"), std::string::npos);
  EXPECT_TRUE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, 6e5, 1)).is_ok());
  // A lot open to everybody takes the outsider's bid.
  service::NewLot open_lot = gallium_lot();
  open_lot.club_only = false;
  const std::uint64_t open_id = market->open_lot(cast.op.id, open_lot).value();
  EXPECT_TRUE(market->submit_order(cast.outsider.id, order(open_id, Side::kBuy, 6e5, 1)).is_ok());
  // Roles: a buyer cannot ask, a seller cannot bid.
  EXPECT_FALSE(market->submit_order(cast.buyer.id, order(lot, Side::kSell, 6e5, 1)).is_ok());
  EXPECT_FALSE(market->submit_order(cast.seller.id, order(lot, Side::kBuy, 6e5, 1)).is_ok());
}

TEST(MarketService, NonMemberSupplyPaysTheBorderLevyAtClearing) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  const std::uint64_t lot = market->open_lot(cast.op.id, gallium_lot(500'000)).value();
  ASSERT_TRUE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, 600'000, 10)).is_ok());
  ASSERT_TRUE(market->submit_order(cast.outsider.id, order(lot, Side::kSell, 420'000, 4)).is_ok());
  ASSERT_TRUE(market->submit_order(cast.seller.id, order(lot, Side::kSell, 450'000, 4)).is_ok());
  const service::CallRecord call = market->clear_lot(cast.op.id, lot).value();
  ASSERT_EQ(call.outcome, auction::Outcome::kCleared);
  EXPECT_DOUBLE_EQ(call.executed_volume_t, 8.0);
  // Levy per tonne: floor 500,000 - offer 420,000 = 80,000 USD/t on 4 t; the member pays none.
  EXPECT_DOUBLE_EQ(call.levy_total_usd,
                   4 * settlement::variable_levy_per_t(500'000, 420'000).value());
  EXPECT_DOUBLE_EQ(call.levy_total_usd, 320'000.0);
}

TEST(MarketService, UnsoldSupplyRollsOverIntoTheNextCallWithItsTimePriority) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  const std::uint64_t lot = market->open_lot(cast.op.id, gallium_lot(500'000)).value();
  ASSERT_TRUE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, 600'000, 3)).is_ok());
  const std::uint64_t ask =
      market->submit_order(cast.seller.id, order(lot, Side::kSell, 520'000, 10)).value();
  const service::CallRecord first = market->clear_lot(cast.op.id, lot).value();
  EXPECT_DOUBLE_EQ(first.executed_volume_t, 3.0);
  EXPECT_EQ(first.rolled_over_asks, 1u);
  EXPECT_DOUBLE_EQ(first.rolled_over_t, 7.0);
  Result<service::OrderPage> book = market->orders(lot, 0, 0, 100);
  ASSERT_TRUE(book.is_ok());
  ASSERT_EQ(book.value().orders.size(), 1u);
  EXPECT_EQ(std::to_string(book.value().period) + ":" + std::to_string(book.value().orders[0].id) +
                ":" + std::to_string(book.value().orders[0].quantity_t),
            "2:" + std::to_string(ask) + ":7.000000");
  // Next call: the rolled-over ask sells to a new bid. Bids do not roll over.
  ASSERT_TRUE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, 530'000, 7)).is_ok());
  const service::CallRecord second = market->clear_lot(cast.op.id, lot).value();
  EXPECT_EQ(second.period, 2u);
  EXPECT_DOUBLE_EQ(second.executed_volume_t, 7.0);
  EXPECT_EQ(second.orders, 2u);
}

TEST(MarketService, CertifiedOnlyLotsAcceptSupplyOnlyWithACertificateValidAtDelivery) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  service::NewLot certified = gallium_lot();
  certified.certified_only = true;
  const std::uint64_t lot = market->open_lot(cast.op.id, certified).value();
  const std::uint64_t valid =
      market
          ->issue_certificate(cast.certifier.id, {cast.seller.id, "Kwinana", "gallium", "IRMA 75",
                                                  "2026-01-01", "2027-12-31"})
          .value();
  const std::uint64_t expired =
      market
          ->issue_certificate(cast.certifier.id, {cast.seller.id, "Kwinana", "gallium", "IRMA 75",
                                                  "2024-01-01", "2027-03-30"})
          .value();
  const std::uint64_t other_material =
      market
          ->issue_certificate(cast.certifier.id, {cast.seller.id, "Kwinana", "germanium", "IRMA 75",
                                                  "2026-01-01", "2027-12-31"})
          .value();
  EXPECT_FALSE(market->submit_order(cast.seller.id, order(lot, Side::kSell, 5e5, 1)).is_ok());
  Result<std::uint64_t> late =
      market->submit_order(cast.seller.id, order(lot, Side::kSell, 5e5, 1, expired));
  ASSERT_FALSE(late.is_ok());
  EXPECT_NE(late.status().message().find("not on the delivery date 2027-03-31"), std::string::npos);
  EXPECT_FALSE(market->submit_order(cast.seller.id, order(lot, Side::kSell, 5e5, 1, other_material))
                   .is_ok());
  EXPECT_TRUE(market->submit_order(cast.seller.id, order(lot, Side::kSell, 5e5, 1, valid)).is_ok());
  // Somebody else's certificate does not work.
  EXPECT_FALSE(
      market->submit_order(cast.outsider.id, order(lot, Side::kSell, 5e5, 1, valid)).is_ok());
  // Certificates are issued to sellers with a valid period.
  EXPECT_FALSE(market
                   ->issue_certificate(cast.certifier.id, {cast.buyer.id, "X", "gallium", "S",
                                                           "2026-01-01", "2026-12-31"})
                   .is_ok());
  EXPECT_FALSE(market
                   ->issue_certificate(cast.certifier.id, {cast.seller.id, "X", "gallium", "S",
                                                           "2026-12-31", "2026-01-01"})
                   .is_ok());
  EXPECT_FALSE(market
                   ->issue_certificate(cast.certifier.id, {cast.seller.id, "X", "gallium", "S",
                                                           "2026-02-30", "2026-12-31"})
                   .is_ok());
}

TEST(MarketService, JointPurchasingRoundAggregatesDemandTendersItAndMatchesOffers) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  service::NewLot round = gallium_lot(500'000);
  round.reference_price_usd_per_t.reset();  // the reference defaults to the reserve
  round.joint_purchase = true;
  const std::uint64_t lot = market->open_lot(cast.op.id, round).value();
  ASSERT_TRUE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, 600'000, 10)).is_ok());
  ASSERT_TRUE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, 550'000, 5)).is_ok());
  EXPECT_FALSE(market->submit_order(cast.seller.id, order(lot, Side::kSell, 5e5, 1)).is_ok());
  EXPECT_FALSE(market->clear_lot(cast.op.id, lot).is_ok());  // not tendered yet

  Result<double> tendered = market->tender_round(cast.op.id, lot);
  ASSERT_TRUE(tendered.is_ok()) << tendered.status().to_string();
  EXPECT_DOUBLE_EQ(tendered.value(), 15.0);
  EXPECT_FALSE(market->submit_order(cast.buyer.id, order(lot, Side::kBuy, 6e5, 1)).is_ok());
  EXPECT_FALSE(market->tender_round(cast.op.id, lot).is_ok());
  ASSERT_TRUE(market->submit_order(cast.seller.id, order(lot, Side::kSell, 520'000, 8)).is_ok());
  ASSERT_TRUE(market->submit_order(cast.outsider.id, order(lot, Side::kSell, 510'000, 4)).is_ok());

  // Volume 12 at 520k and at 550k (imbalance 3 at both); 520k is closer to the reference 500k.
  const service::CallRecord match = market->clear_lot(cast.op.id, lot).value();
  EXPECT_EQ(match.outcome, auction::Outcome::kCleared);
  EXPECT_DOUBLE_EQ(*match.clearing_price_usd_per_t, 520'000.0);
  EXPECT_DOUBLE_EQ(match.executed_volume_t, 12.0);
  EXPECT_EQ(match.rolled_over_asks, 0u);  // a round closes; nothing rolls over
  EXPECT_FALSE(market->clear_lot(cast.op.id, lot).is_ok());
  EXPECT_FALSE(market->submit_order(cast.seller.id, order(lot, Side::kSell, 5e5, 1)).is_ok());
  // A call lot is not a round.
  const std::uint64_t call_lot = market->open_lot(cast.op.id, gallium_lot()).value();
  EXPECT_FALSE(market->tender_round(cast.op.id, call_lot).is_ok());
}

TEST(MarketService, SettlementEqualsTheSimulatorsSettlementFunctions) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  run_session(*market, cast);
  // The reference is the clearing price of the session's call.
  service::PeriodSettled settled;
  double reference = 0.0;
  {
    Result<service::MarketState> state = market->state();
    ASSERT_TRUE(state.is_ok());
    const service::MarketState& s = state.value();
    settled = s.settlements.back();
    reference = *s.lots.begin()->second.calls.back().clearing_price_usd_per_t;
  }
  EXPECT_EQ(reference, 550'000.0);  // volume 10 at 500k..600k; the reference 550k breaks the tie
  ASSERT_EQ(settled.entries.size(), 2u);
  EXPECT_EQ(settled.reference_price_usd_per_t, reference);

  settlement::OfftakeTerms terms;
  terms.price.kind = settlement::OfftakePrice::Kind::kIndexed;
  terms.price.index_factor = 0.9;
  terms.price.floor_usd_per_t = 480'000;
  terms.volume_t_per_year = 20;
  terms.start_year = 2027;
  terms.tenor_years = 5;
  terms.take_or_pay_share = 0.8;
  const settlement::OfftakeSettlement direct =
      settlement::settle_offtake(terms, 2027, 20, reference).value();
  const service::SettlementEntry& offtake = settled.entries[0];
  EXPECT_EQ(offtake.payment_usd, direct.buyer_pays_usd);
  EXPECT_EQ(offtake.contract_price_usd_per_t, direct.contract_price_usd_per_t);
  EXPECT_EQ(offtake.buyer_gain_vs_market_usd, direct.buyer_gain_vs_market_usd);

  settlement::SubsidyTerms cfd;
  cfd.kind = settlement::SubsidyKind::kTwoWayCfd;
  cfd.strike_usd_per_t = 650'000;
  const service::SettlementEntry& subsidy = settled.entries[1];
  EXPECT_EQ(subsidy.payment_usd, settlement::subsidy_payment_per_t(cfd, reference).value() * 12);
  EXPECT_GT(subsidy.payment_usd, 0.0);  // the reference is below the strike

  // The same period cannot be settled twice.
  service::SettleRequest again;
  again.material = "gallium";
  again.stage = "processing";
  again.year = 2027;
  EXPECT_FALSE(market->settle_period(cast.op.id, again).is_ok());
}

TEST(MarketService, ASubsidyBudgetCapsThePeriodsClaimsWithTheSimulatorsBudgetRule) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  service::NewContract cfd;
  cfd.kind = service::ContractKind::kSubsidy;
  cfd.material = "gallium";
  cfd.stage = "processing";
  cfd.seller_id = cast.seller.id;
  cfd.subsidy.kind = settlement::SubsidyKind::kTwoWayCfd;
  cfd.subsidy.strike_usd_per_t = 600'000;
  cfd.volume_t_per_year = 10;
  cfd.start_year = 2027;
  cfd.tenor_years = 3;
  ASSERT_TRUE(market->register_contract(cast.op.id, cfd).is_ok());
  cfd.volume_t_per_year = 30;
  ASSERT_TRUE(market->register_contract(cast.op.id, cfd).is_ok());
  service::SettleRequest settle;
  settle.material = "gallium";
  settle.stage = "processing";
  settle.year = 2027;
  settle.reference_price_usd_per_t = 500'000;  // claims 1.0M and 3.0M USD
  settle.subsidy_budget_usd = 2'000'000;
  Result<service::PeriodSettled> settled = market->settle_period(cast.op.id, settle);
  ASSERT_TRUE(settled.is_ok()) << settled.status().to_string();
  const settlement::BudgetOutcome direct =
      settlement::apply_budget({1'000'000, 3'000'000}, 2'000'000, settlement::BudgetRule::kProRata)
          .value();
  ASSERT_EQ(settled.value().entries.size(), 2u);
  EXPECT_TRUE(settled.value().budget_binding);
  EXPECT_EQ(settled.value().entries[0].claimed_usd, 1'000'000.0);
  EXPECT_EQ(settled.value().entries[0].payment_usd, direct.paid_usd[0]);
  EXPECT_EQ(settled.value().entries[1].payment_usd, direct.paid_usd[1]);
  EXPECT_DOUBLE_EQ(settled.value().entries[0].payment_usd + settled.value().entries[1].payment_usd,
                   2'000'000.0);
  settle.year = 2028;
  settle.subsidy_budget_usd = -1;
  EXPECT_FALSE(market->settle_period(cast.op.id, settle).is_ok());
}

TEST(MarketService, SettlementNeedsAReferencePrice) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  service::SettleRequest settle;
  settle.material = "gallium";
  settle.stage = "processing";
  settle.year = 2027;
  Result<service::PeriodSettled> none = market->settle_period(cast.op.id, settle);
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("clear a lot first"), std::string::npos);
  settle.reference_price_usd_per_t = 500'000;
  EXPECT_TRUE(market->settle_period(cast.op.id, settle).is_ok());
}

TEST(MarketService, TokensAreStoredOnlyAsHashes) {
  TempDir dir("critmin_market_");
  std::string token;
  {
    auto market = open_market(dir.path());
    ASSERT_TRUE(market);
    token = register_cast(*market).buyer.token;
    ASSERT_TRUE(market->snapshot().is_ok());
    EXPECT_TRUE(market->authenticate(token).has_value());
    EXPECT_FALSE(market->authenticate(token + "x").has_value());
    EXPECT_FALSE(market->authenticate("").has_value());
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(read_file(entry.path()).find(token.substr(3)), std::string::npos) << entry.path();
  }
  auto reopened = open_market(dir.path());
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->authenticate(token)->name, "Stahlwerk");
}

}  // namespace
}  // namespace critmin::test

namespace critmin::test {
namespace {

// Damaged bytes (the log's CRC would normally catch them) must never crash the decoders: every
// truncation and many bit flips of real events and of a real state decode or fail cleanly.
TEST(MarketCodec, DamagedEventsAndStatesFailCleanly) {
  TempDir dir("critmin_market_");
  auto market = open_market(dir.path());
  ASSERT_TRUE(market);
  const Cast cast = register_cast(*market);
  const std::uint64_t lot = market->open_lot(cast.op.id, gallium_lot()).value();
  ASSERT_TRUE(market->submit_order(cast.buyer.id, order(lot, auction::Side::kBuy, 6e5, 3)).is_ok());
  ASSERT_TRUE(market->clear_lot(cast.op.id, lot).is_ok());
  std::vector<std::string> events;
  Result<std::vector<service::AuditRecord>> audit = market->read_audit(0, 1000);
  ASSERT_TRUE(audit.is_ok());
  for (const service::AuditRecord& r : audit.value()) events.push_back(r.event);
  const std::string state = state_bytes(*market);
  std::mt19937_64 random(3);
  auto exercise = [&](const std::string& bytes, bool is_state) {
    for (std::size_t cut = 0; cut < bytes.size(); cut += 1 + bytes.size() / 200) {
      const std::string truncated = bytes.substr(0, cut);
      if (is_state) {
        EXPECT_FALSE(service::decode_state(truncated).is_ok());
      } else {
        EXPECT_FALSE(service::decode_event(truncated).is_ok());
      }
    }
    for (int flip = 0; flip < 200; ++flip) {
      std::string damaged = bytes;
      damaged[random() % damaged.size()] ^= static_cast<char>(1 + random() % 255);
      // Either outcome is fine; what matters is that it returns.
      if (is_state) {
        (void)service::decode_state(damaged);
      } else {
        (void)service::decode_event(damaged);
      }
    }
  };
  for (const std::string& e : events) exercise(e, false);
  exercise(state, true);
  EXPECT_TRUE(service::decode_state(state).is_ok());
}

}  // namespace
}  // namespace critmin::test
