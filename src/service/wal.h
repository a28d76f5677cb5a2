// The market service's write-ahead log: append-only, checksummed, in segments. Snapshots live
// in the SQLite store (sqlite_store.h).
//
// Directory layout: wal-<first seq, 20 digits>.log segments; records hold consecutive sequence
// numbers.
//
// Log record: u32 payload length, u32 CRC-32 (zlib) of the sequence number's 8 bytes and the
// payload, u64 sequence number, payload. Recovery tells a torn tail from corruption
// (SegmentScan): only a record cut short at the physical end of the newest segment, after its
// last valid record, is a torn tail (the process died while writing it; it was never
// acknowledged) and is cut off. A bad record followed by valid ones, a whole record with a bad
// checksum, damage in an older segment, or a gap in the sequence across segments is
// corruption: the service refuses to start and says where (MarketService::open, and
// `critmin serve --repair`).
//
// Preallocation: the writer fills the newest segment ahead of its records with zeros (1 MiB at
// first, then in steps doubling up to 16 MiB) and overwrites them, so that appending a record
// does not change the file's size and fdatasync has no metadata to commit: on the development
// machine's disk that halved the time of an fdatasync (1.3-3.7 ms against 2.9-6.7 ms for a
// write at the end of the file). A segment is cut back to its last record when the writer
// switches to the next one or stops, so only the newest segment, after a crash, ends in zeros.
//
// Group commit: WalWriter::append() only queues the record (callers hold their own ordering lock,
// so records enter the queue in sequence order); one writer thread writes everything queued with
// one write() and one fdatasync() and then wakes every caller whose record is now durable. Many
// concurrent requests share one fsync, which is what makes tens of thousands of durable
// acknowledgements per second possible on a disk that does a few thousand fsyncs per second.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "critmin/core/status.h"

namespace critmin::service {

constexpr std::size_t kWalHeaderBytes = 16;
constexpr std::uint32_t kMaxWalPayloadBytes = 64u << 20;

// zlib's CRC-32 of `bytes` (any length).
std::uint32_t crc32_of(std::string_view bytes);

// Appends one framed record to `out`.
void append_wal_record(std::string& out, std::uint64_t seq, std::string_view payload);

std::filesystem::path wal_segment_path(const std::filesystem::path& dir, std::uint64_t first_seq);

// The segments of a directory, sorted by their first sequence number.
struct SegmentFile {
  std::uint64_t first_seq = 0;
  std::filesystem::path path;
};
Result<std::vector<SegmentFile>> list_segments(const std::filesystem::path& dir);

struct SegmentScan {
  std::uint64_t records = 0;
  std::uint64_t valid_bytes = 0;  // length of the prefix made of whole, checksummed records
  std::uint64_t last_seq = 0;     // of the last record of that prefix (0: none)
  std::uint64_t size = 0;         // the file's size
  // What follows the valid prefix, when anything does; exactly one of these is set then:
  // - zero_tail: only zeros, the writer's preallocated space never written (the newest segment
  //   after a crash). Not damage.
  // - torn_tail: bytes that are not a valid record, with no valid record after them: the end of
  //   a write the crash cut short, at the physical end after the last valid record. Never
  //   acknowledged, so recovery cuts it off (in the newest segment only).
  // - damaged: a bad record followed by valid records (a flipped bit in the middle of the
  //   log, not a crash). Corruption.
  bool zero_tail = false;
  bool torn_tail = false;
  bool damaged = false;
  std::string damage;  // when damaged: what is wrong at valid_bytes, for messages
  // Valid records found after the damage (their sequence numbers are above last_seq).
  std::uint64_t records_after_damage = 0;
  std::uint64_t max_seq_after_damage = 0;
};

// Reads a segment and calls `on_record(seq, payload)` for every valid record in order; stops at
// the first invalid one and classifies what follows (see SegmentScan). A callback error stops
// the scan and is returned.
Result<SegmentScan> scan_segment(
    const std::filesystem::path& path,
    const std::function<Status(std::uint64_t seq, std::string_view payload)>& on_record);

// The same over a segment's bytes in memory.
Result<SegmentScan> scan_records(
    std::string_view data,
    const std::function<Status(std::uint64_t seq, std::string_view payload)>& on_record);

// Cuts a segment back to `valid_bytes` and makes that durable.
Status truncate_segment(const std::filesystem::path& path, std::uint64_t valid_bytes);

// Removes the segments whose every record is <= keep_seq (a snapshot holds them).
Status remove_obsolete_files(const std::filesystem::path& dir, std::uint64_t keep_seq);

// The group-commit writer of the newest segment.
class WalWriter {
 public:
  // Opens a new segment wal-<next_seq>.log in `dir` (the directory must exist) and starts the
  // writer thread.
  static Result<std::unique_ptr<WalWriter>> open(const std::filesystem::path& dir,
                                                 std::uint64_t next_seq);
  ~WalWriter();  // writes and syncs whatever is queued, then stops
  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;

  // Queues a record. The caller guarantees increasing, consecutive sequence numbers (it holds
  // the lock that orders its state changes). Cheap: a memcpy into the queue.
  void append(std::uint64_t seq, std::string_view payload);

  // Queues a switch to a new segment wal-<next_seq>.log: records appended after this call go
  // there. Used after a snapshot so that older segments can be deleted.
  void rotate(std::uint64_t next_seq);

  // Blocks until record `seq` is on disk (fdatasync returned). An error when the writer failed
  // (disk full, I/O error): the record may or may not be durable and the service must stop.
  Status wait_durable(std::uint64_t seq);

  // The non-blocking form of wait_durable for event-driven callers: calls `done` exactly once,
  // with ok once record `seq` (already appended) is on disk, or with the writer's error. When the
  // record is durable already (or the writer failed already), `done` runs at once on the calling
  // thread; otherwise on the writer thread right after the fdatasync that made it durable, so it
  // must be quick and must not call back into the writer or wait for anything (hand the result
  // to another thread). Records still pending when the writer stops get an error.
  using DurableCallback = std::function<void(const Status&)>;
  void when_durable(std::uint64_t seq, DurableCallback done);

  // Blocks until record `seq` is on disk and the segment switch queued with rotate(next_seq) for
  // some next_seq > seq has happened (the new segment file exists and its directory entry is
  // synced), so that segments holding only records <= seq can be listed and deleted.
  Status wait_durable_and_rotated(std::uint64_t seq);

  std::uint64_t durable_seq() const;
  std::uint64_t fsync_count() const;
  double fsync_seconds() const;  // time spent inside fdatasync, summed

 private:
  WalWriter() = default;
  void run();

  struct Chunk {
    std::string bytes;
    std::uint64_t last_seq = 0;
    std::optional<std::uint64_t> rotate_to;  // a segment switch instead of bytes
  };

  static constexpr std::uint64_t kInitialPreallocBytes = 1u << 20;
  static constexpr std::uint64_t kMaxPreallocStepBytes = 16u << 20;
  // Makes sure the segment holds zeros (or records) up to `end`; writer thread only.
  Status preallocate(std::uint64_t end);
  // Cuts the segment back to its last record and syncs it; writer thread (or destructor) only.
  Status trim();

  std::filesystem::path dir_;
  std::filesystem::path segment_path_;  // the open segment
  int fd_ = -1;
  std::uint64_t write_offset_ = 0;     // end of the last record in the open segment
  std::uint64_t allocated_bytes_ = 0;  // zeros or records up to here
  std::uint64_t prealloc_step_bytes_ = kInitialPreallocBytes;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::vector<Chunk> queue_;
  // Waiters read these without the mutex and sleep on `durable_generation_` (a futex), which
  // the writer bumps after each fsync or failure: one wake-up call per batch, and no waiter
  // has to take the mutex again to learn whether its record is durable.
  // Waits for record `seq` to be durable and, with `rotated`, for the segment after it.
  Status wait_until(std::uint64_t seq, bool rotated);
  std::atomic<std::uint64_t> durable_seq_{0};
  std::atomic<std::uint64_t> segment_first_seq_{0};  // first record of the open segment
  std::atomic<bool> failed_{false};
  std::atomic<std::uint32_t> durable_generation_{0};
  static_assert(sizeof(std::atomic<std::uint32_t>) == 4 &&
                std::atomic<std::uint32_t>::is_always_lock_free);
  struct DurableWaiter {
    std::uint64_t seq = 0;
    DurableCallback done;
  };
  // Callers of when_durable whose record is not durable yet, under `mutex_`; short (one per
  // request in flight), so the writer scans it after every fsync.
  std::vector<DurableWaiter> durable_waiters_;
  // Calls the waiters whose record is now durable (all of them, with the error, on a failure).
  void complete_waiters(const Status& status);
  std::uint64_t fsyncs_ = 0;
  double fsync_seconds_ = 0.0;
  std::string failure_;  // non-empty once a write or sync failed
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace critmin::service
