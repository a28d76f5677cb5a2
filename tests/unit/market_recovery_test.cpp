// Recovery of the market's log when it is damaged rather than torn: a flipped byte with valid
// records after it (in the newest and in an older segment), a missing segment, and what
// --repair keeps, moves aside and reports; ids are never reused. And the directory's lock: one
// process per market.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "market_test_support.h"
#include "service/wal.h"

namespace critmin::test {
namespace {

using service::MarketService;

std::vector<service::SegmentFile> segments_in(const std::filesystem::path& dir) {
  Result<std::vector<service::SegmentFile>> listed = service::list_segments(dir);
  EXPECT_TRUE(listed.is_ok());
  return listed.is_ok() ? listed.value() : std::vector<service::SegmentFile>{};
}

Result<std::unique_ptr<MarketService>> open_with(const std::filesystem::path& dir, bool repair) {
  service::ServiceConfig config;
  config.directory = dir;
  config.snapshot_every_events = 0;
  config.repair = repair;
  return MarketService::open(config, market_dataset());
}

// 6 participants, a lot and `orders` orders, acknowledged (durable) one by one.
std::uint64_t make_market(const std::filesystem::path& dir, int orders) {
  auto market = open_market(dir);
  EXPECT_TRUE(market);
  const Cast cast = register_cast(*market);
  const std::uint64_t lot = market->open_lot(cast.op.id, gallium_lot()).value();
  for (int i = 0; i < orders; ++i) {
    EXPECT_TRUE(
        market->submit_order(cast.buyer.id, order(lot, auction::Side::kBuy, 600'000.0 + i, 1.0 + i))
            .is_ok());
  }
  return market->last_seq();
}

void flip(const std::filesystem::path& file, std::size_t offset) {
  std::string bytes = read_file(file);
  ASSERT_LT(offset, bytes.size());
  bytes[offset] = static_cast<char>(bytes[offset] ^ 0x5a);
  write_file(file, bytes);
}

TEST(MarketRecovery, AFlippedByteWithValidRecordsAfterItRefusesToStartAndSaysWhere) {
  for (std::size_t offset : {20u, 700u, 2000u, 4000u}) {
    TempDir dir("critmin_recovery_");
    const std::uint64_t last = make_market(dir.path(), 100);
    const std::filesystem::path newest = segments_in(dir.path()).back().path;
    const std::string before = read_file(newest);
    ASSERT_GT(before.size(), offset + 500) << "the segment is shorter than the test assumes";
    flip(newest, offset);
    Result<std::unique_ptr<MarketService>> opened = open_with(dir.path(), false);
    ASSERT_FALSE(opened.is_ok()) << "offset " << offset << ": started on a damaged log";
    const std::string message = opened.status().message();
    EXPECT_NE(message.find(newest.filename().string()), std::string::npos) << message;
    EXPECT_NE(message.find("--repair"), std::string::npos) << message;
    EXPECT_NE(message.find("valid events"), std::string::npos) << message;
    // Nothing was changed: the damaged file is as it was.
    std::string flipped = before;
    flipped[offset] = static_cast<char>(flipped[offset] ^ 0x5a);
    EXPECT_EQ(read_file(newest), flipped) << "offset " << offset;
    (void)last;
  }
}

TEST(MarketRecovery, AFlippedByteInAnOlderSegmentRefusesToStart) {
  for (std::size_t offset : {20u, 300u, 600u}) {
    TempDir dir("critmin_recovery_");
    make_market(dir.path(), 10);
    {
      auto market = open_market(dir.path());  // a second segment
      ASSERT_TRUE(market);
      ASSERT_TRUE(market->open_lot(1, gallium_lot()).is_ok());
    }
    const std::vector<service::SegmentFile> segments = segments_in(dir.path());
    ASSERT_EQ(segments.size(), 2u);
    flip(segments.front().path, offset);
    Result<std::unique_ptr<MarketService>> opened = open_with(dir.path(), false);
    ASSERT_FALSE(opened.is_ok()) << "offset " << offset;
    EXPECT_NE(opened.status().message().find(segments.front().path.filename().string()),
              std::string::npos)
        << opened.status().message();
  }
}

TEST(MarketRecovery, RepairKeepsEverythingUpToTheDamageMovesTheRestAsideAndNeverReusesIds) {
  TempDir dir("critmin_recovery_");
  const std::uint64_t last = make_market(dir.path(), 100);
  const std::filesystem::path newest = segments_in(dir.path()).back().path;
  const std::string original = read_file(newest);
  flip(newest, 2000);
  std::uint64_t kept = 0;
  {
    Result<std::unique_ptr<MarketService>> repaired = open_with(dir.path(), true);
    ASSERT_TRUE(repaired.is_ok()) << repaired.status().to_string();
    MarketService& market = *repaired.value();
    const std::vector<std::string>& report = market.recovery().repair;
    ASSERT_FALSE(report.empty());
    std::string text;
    for (const std::string& line : report) text += line + "\n";
    EXPECT_NE(text.find("could not keep events"), std::string::npos) << text;
    EXPECT_NE(text.find("intact"), std::string::npos) << text;
    // The events before the damage are kept; the numbering goes on after the last event the
    // log held, so no acknowledged id or sequence number is used twice.
    kept = market.recovery().replayed_events;
    EXPECT_GT(kept, 6u);
    EXPECT_LT(kept, last);
    EXPECT_EQ(market.last_seq(), last);
    Result<std::uint64_t> lot = market.open_lot(1, gallium_lot());
    ASSERT_TRUE(lot.is_ok()) << lot.status().to_string();
    EXPECT_GT(lot.value(), last);
    EXPECT_EQ(market.last_seq(), last + 1);
  }
  // The damaged segment's whole copy is kept aside, never deleted.
  bool copy_found = false;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (entry.path().parent_path().filename().string().rfind("damaged-", 0) == 0 &&
        entry.path().filename() == newest.filename()) {
      std::string aside = read_file(entry.path());
      aside[2000] = static_cast<char>(aside[2000] ^ 0x5a);
      EXPECT_EQ(aside, original);
      copy_found = true;
    }
  }
  EXPECT_TRUE(copy_found);
  // A restart after the repair starts normally and keeps the skipped range skipped.
  Result<std::unique_ptr<MarketService>> again = open_with(dir.path(), false);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again.value()->last_seq(), last + 1);
  EXPECT_GT(again.value()->recovery().lost_events_skipped, 0u);
}

TEST(MarketRecovery, AMissingSegmentRefusesToStartInsteadOfReusingIds) {
  TempDir dir("critmin_recovery_");
  make_market(dir.path(), 5);
  {
    auto market = open_market(dir.path());  // a middle segment with one event
    ASSERT_TRUE(market);
    ASSERT_TRUE(market->open_lot(1, gallium_lot()).is_ok());
  }
  { auto market = open_market(dir.path()); }  // the newest segment, empty
  std::vector<service::SegmentFile> segments = segments_in(dir.path());
  ASSERT_EQ(segments.size(), 3u);
  std::filesystem::remove(segments[1].path);
  Result<std::unique_ptr<MarketService>> opened = open_with(dir.path(), false);
  ASSERT_FALSE(opened.is_ok()) << "started with a segment missing";
  EXPECT_NE(opened.status().message().find("missing"), std::string::npos)
      << opened.status().message();
  // Repaired, the market goes on after the missing events, never reusing their numbers.
  Result<std::unique_ptr<MarketService>> repaired = open_with(dir.path(), true);
  ASSERT_TRUE(repaired.is_ok()) << repaired.status().to_string();
  EXPECT_EQ(repaired.value()->last_seq(), segments[2].first_seq - 1);
  Result<std::uint64_t> lot = repaired.value()->open_lot(1, gallium_lot());
  ASSERT_TRUE(lot.is_ok());
  EXPECT_GE(lot.value(), segments[2].first_seq);
}

TEST(MarketRecovery, ASecondProcessOnTheSameDirectoryIsRefusedWithTheHoldersPid) {
  TempDir dir("critmin_recovery_");
  auto first = open_market(dir.path());
  ASSERT_TRUE(first);
  Result<std::unique_ptr<MarketService>> second = open_with(dir.path(), false);
  ASSERT_FALSE(second.is_ok());
  EXPECT_NE(second.status().message().find("in use by process " + std::to_string(::getpid())),
            std::string::npos)
      << second.status().message();
  first.reset();  // the lock goes with the first service
  Result<std::unique_ptr<MarketService>> third = open_with(dir.path(), false);
  EXPECT_TRUE(third.is_ok()) << third.status().to_string();
}

TEST(MarketRecovery, ASecondCritminServeProcessIsRefusedWhileTheFirstHoldsTheMarket) {
  TempDir dir("critmin_recovery_");
  const std::filesystem::path market = dir.path() / "market";
  auto first = open_market(market);
  ASSERT_TRUE(first);
  const CliRun second = run_cli(
      dir.path(), "serve --db " + quote(market.string()) + " --init-operator Second --country NLD");
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("in use by process " + std::to_string(::getpid())), std::string::npos)
      << second.err;
  EXPECT_EQ(first->last_seq(), 0u);  // the second process changed nothing
}

}  // namespace
}  // namespace critmin::test
