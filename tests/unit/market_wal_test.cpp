// The group-commit writer's completions (WalWriter::when_durable): a record is reported durable
// only after the fdatasync that covers it, exactly once, and pending completions are answered
// when the writer stops.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <filesystem>
#include <string>

#include "service/wal.h"
#include "test_support.h"

namespace critmin::test {
namespace {

using service::WalWriter;

TEST(MarketWal, WhenDurableReportsARecordOnlyAfterItIsSynced) {
  TempDir dir("critmin_wal_");
  Result<std::unique_ptr<WalWriter>> opened = WalWriter::open(dir.path(), 1);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  WalWriter& wal = *opened.value();
  constexpr std::uint64_t kRecords = 500;
  std::mutex mutex;
  std::vector<std::uint64_t> reported;
  std::atomic<int> early{0};
  for (std::uint64_t seq = 1; seq <= kRecords; ++seq) {
    wal.append(seq, "record " + std::to_string(seq));
    wal.when_durable(seq, [&, seq](const Status& status) {
      EXPECT_TRUE(status.is_ok()) << status.to_string();
      if (wal.durable_seq() < seq) ++early;
      std::lock_guard<std::mutex> lock(mutex);
      reported.push_back(seq);
    });
  }
  ASSERT_TRUE(wal.wait_durable(kRecords).is_ok());
  // Every callback has run once the last record is durable (they run before waiters wake, or
  // at once for records that were durable when registered).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (reported.size() >= kRecords) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), give_up);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(early.load(), 0);
  std::lock_guard<std::mutex> lock(mutex);
  std::sort(reported.begin(), reported.end());
  ASSERT_EQ(reported.size(), kRecords);
  for (std::uint64_t i = 0; i < kRecords; ++i) EXPECT_EQ(reported[i], i + 1);
  EXPECT_GE(wal.fsync_count(), 1u);
}

TEST(MarketWal, ACompletionForADurableRecordRunsAtOnceOnTheCaller) {
  TempDir dir("critmin_wal_");
  Result<std::unique_ptr<WalWriter>> opened = WalWriter::open(dir.path(), 1);
  ASSERT_TRUE(opened.is_ok());
  WalWriter& wal = *opened.value();
  wal.append(1, "one");
  ASSERT_TRUE(wal.wait_durable(1).is_ok());
  const std::thread::id caller = std::this_thread::get_id();
  bool ran = false;
  wal.when_durable(1, [&](const Status& status) {
    EXPECT_TRUE(status.is_ok());
    EXPECT_EQ(std::this_thread::get_id(), caller);
    ran = true;
  });
  EXPECT_TRUE(ran);
}

TEST(MarketWal, StoppingTheWriterSyncsWhatIsQueuedAndAnswersEveryCompletion) {
  TempDir dir("critmin_wal_");
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  {
    Result<std::unique_ptr<WalWriter>> opened = WalWriter::open(dir.path(), 1);
    ASSERT_TRUE(opened.is_ok());
    WalWriter& wal = *opened.value();
    for (std::uint64_t seq = 1; seq <= 100; ++seq) {
      wal.append(seq, "r");
      wal.when_durable(seq, [&](const Status& status) { ++(status.is_ok() ? ok : failed); });
    }
  }
  EXPECT_EQ(ok.load() + failed.load(), 100);
  EXPECT_EQ(ok.load(), 100);  // the destructor writes and syncs whatever was queued
}

TEST(MarketWal, TheOpenSegmentIsPreallocatedAndCutToItsRecordsOnClose) {
  TempDir dir("critmin_wal_");
  const std::filesystem::path segment = service::wal_segment_path(dir.path(), 1);
  std::string expected;
  {
    Result<std::unique_ptr<WalWriter>> opened = WalWriter::open(dir.path(), 1);
    ASSERT_TRUE(opened.is_ok());
    WalWriter& wal = *opened.value();
    for (std::uint64_t seq = 1; seq <= 10; ++seq) {
      const std::string payload = "payload " + std::to_string(seq);
      service::append_wal_record(expected, seq, payload);
      wal.append(seq, payload);
    }
    ASSERT_TRUE(wal.wait_durable(10).is_ok());
    EXPECT_GE(std::filesystem::file_size(segment), 1u << 20);  // zeros ahead of the records
    Result<service::SegmentScan> scan = service::scan_segment(
        segment, [](std::uint64_t, std::string_view) { return Status::ok(); });
    ASSERT_TRUE(scan.is_ok());
    EXPECT_EQ(scan.value().records, 10u);
    EXPECT_TRUE(scan.value().zero_tail);
    EXPECT_FALSE(scan.value().torn_tail);
  }
  EXPECT_EQ(read_file(segment), expected);
}

}  // namespace
}  // namespace critmin::test
