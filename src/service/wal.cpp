// Write-ahead log segments and the group-commit writer (contract in wal.h).
#include "service/wal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/futex.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <iterator>

#include "service/codec.h"

namespace critmin::service {
namespace {

std::uint32_t checksum(std::uint64_t seq, std::string_view payload) {
  char seq_bytes[8];
  std::memcpy(seq_bytes, &seq, sizeof seq);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(seq_bytes), sizeof seq_bytes);
  // zlib takes a uInt length; payloads are bounded by kMaxWalPayloadBytes.
  crc =
      crc32(crc, reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size()));
  return static_cast<std::uint32_t>(crc);
}

}  // namespace

std::uint32_t crc32_of(std::string_view payload) {
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t done = 0;
  while (done < payload.size()) {
    const std::size_t piece = std::min<std::size_t>(payload.size() - done, 1u << 30);
    crc =
        crc32(crc, reinterpret_cast<const Bytef*>(payload.data() + done), static_cast<uInt>(piece));
    done += piece;
  }
  return static_cast<std::uint32_t>(crc);
}

namespace {

std::string errno_text() { return std::strerror(errno); }

Status write_at(int fd, std::string_view bytes, std::uint64_t offset,
                const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::io_error(fmt::format("cannot write {}: {}", path.string(), errno_text()));
    }
    done += static_cast<std::size_t>(n);
  }
  return Status::ok();
}

Status sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    return Status::io_error(
        fmt::format("cannot open directory {}: {}", dir.string(), errno_text()));
  }
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) {
    return Status::io_error(
        fmt::format("cannot sync directory {}: {}", dir.string(), errno_text()));
  }
  return Status::ok();
}

// One read() loop into a buffer of the file's size: recovery reads every segment whole, and a
// stream copy through an ostringstream would copy a 100 MB log twice.
Result<std::string> read_whole_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return Status::io_error(fmt::format("cannot open {}: {}", path.string(), errno_text()));
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    return Status::io_error(fmt::format("cannot stat {}: {}", path.string(), why));
  }
  std::string bytes(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const bool failed = done < bytes.size();
  const std::string why = failed ? errno_text() : "";
  ::close(fd);
  if (failed) return Status::io_error(fmt::format("cannot read {}: {}", path.string(), why));
  return bytes;
}

// Parses "<prefix><20 digits><suffix>"; nullopt for any other name.
std::optional<std::uint64_t> numbered_name(const std::string& name, std::string_view prefix,
                                           std::string_view suffix) {
  if (name.size() != prefix.size() + 20 + suffix.size()) return std::nullopt;
  if (name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  if (name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = prefix.size(); i < prefix.size() + 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return value;
}

}  // namespace

void append_wal_record(std::string& out, std::uint64_t seq, std::string_view payload) {
  Encoder encoder(out);
  encoder.u32(static_cast<std::uint32_t>(payload.size()));
  encoder.u32(checksum(seq, payload));
  encoder.u64(seq);
  out.append(payload);
}

std::filesystem::path wal_segment_path(const std::filesystem::path& dir, std::uint64_t first_seq) {
  return dir / fmt::format("wal-{:020}.log", first_seq);
}

Result<std::vector<SegmentFile>> list_segments(const std::filesystem::path& dir) {
  std::vector<SegmentFile> segments;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const auto first = numbered_name(entry.path().filename().string(), "wal-", ".log");
    if (first) segments.push_back({*first, entry.path()});
  }
  if (error) {
    return Status::io_error(fmt::format("cannot list {}: {}", dir.string(), error.message()));
  }
  std::sort(segments.begin(), segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first_seq < b.first_seq; });
  return segments;
}

namespace {

struct RecordHeader {
  std::uint32_t length = 0;
  std::uint32_t crc = 0;
  std::uint64_t seq = 0;
};

RecordHeader read_header(std::string_view data, std::size_t position) {
  Decoder header(data.substr(position, kWalHeaderBytes));
  RecordHeader h;
  h.length = header.u32();
  h.crc = header.u32();
  h.seq = header.u64();
  return h;
}

// Whether a whole, checksummed record starts at `position`.
bool valid_record_at(std::string_view data, std::size_t position, RecordHeader& h) {
  if (data.size() - position < kWalHeaderBytes) return false;
  h = read_header(data, position);
  if (h.length > kMaxWalPayloadBytes || data.size() - position - kWalHeaderBytes < h.length) {
    return false;
  }
  return checksum(h.seq, data.substr(position + kWalHeaderBytes, h.length)) == h.crc;
}

bool all_zero(std::string_view bytes) {
  return bytes.find_first_not_of('\0') == std::string_view::npos;
}

// The first valid record after `from` whose sequence number is above `after_seq` (and no
// further above it than the bytes could hold), or npos. Checks every byte offset; only runs on
// damage.
std::size_t find_valid_record(std::string_view data, std::size_t from, std::uint64_t after_seq) {
  const std::uint64_t most = after_seq + data.size() / kWalHeaderBytes + 1;
  for (std::size_t q = from; q + kWalHeaderBytes <= data.size(); ++q) {
    const RecordHeader h = read_header(data, q);
    if (h.seq <= after_seq || h.seq > most || h.length > data.size() - q - kWalHeaderBytes) {
      continue;
    }
    RecordHeader checked;
    if (valid_record_at(data, q, checked)) return q;
  }
  return std::string_view::npos;
}

}  // namespace

Result<SegmentScan> scan_segment(
    const std::filesystem::path& path,
    const std::function<Status(std::uint64_t seq, std::string_view payload)>& on_record) {
  Result<std::string> bytes = read_whole_file(path);
  CRITMIN_RETURN_IF_ERROR(bytes);
  return scan_records(bytes.value(), on_record);
}

Result<SegmentScan> scan_records(
    std::string_view data,
    const std::function<Status(std::uint64_t seq, std::string_view payload)>& on_record) {
  SegmentScan scan;
  scan.size = data.size();
  std::size_t position = 0;
  RecordHeader h;
  while (position < data.size() && valid_record_at(data, position, h)) {
    Status status = on_record(h.seq, data.substr(position + kWalHeaderBytes, h.length));
    CRITMIN_RETURN_IF_ERROR(status);
    position += kWalHeaderBytes + h.length;
    scan.last_seq = h.seq;
    ++scan.records;
  }
  scan.valid_bytes = position;
  const std::string_view rest = data.substr(position);
  if (rest.empty()) return scan;
  if (all_zero(rest)) {
    scan.zero_tail = true;
    return scan;
  }
  const std::size_t next = find_valid_record(data, position + 1, scan.last_seq);
  if (next != std::string_view::npos) {
    scan.damaged = true;
    scan.damage = fmt::format("a bad record, followed by valid records from byte {}", next);
    // Count what follows: the valid records from there on (searching again past any further
    // damage).
    std::size_t q = next;
    while (q != std::string_view::npos) {
      while (q < data.size() && valid_record_at(data, q, h)) {
        ++scan.records_after_damage;
        scan.max_seq_after_damage = std::max(scan.max_seq_after_damage, h.seq);
        q += kWalHeaderBytes + h.length;
      }
      if (q >= data.size() || all_zero(data.substr(q))) break;
      q = find_valid_record(data, q + 1, scan.max_seq_after_damage);
    }
    return scan;
  }
  // Nothing valid after it: the end of a write the crash cut short.
  scan.torn_tail = true;
  return scan;
}

Status truncate_segment(const std::filesystem::path& path, std::uint64_t valid_bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0)
    return Status::io_error(fmt::format("cannot open {}: {}", path.string(), errno_text()));
  const bool ok = ::ftruncate(fd, static_cast<off_t>(valid_bytes)) == 0 && ::fsync(fd) == 0;
  const std::string why = ok ? "" : errno_text();
  ::close(fd);
  if (!ok) return Status::io_error(fmt::format("cannot truncate {}: {}", path.string(), why));
  return Status::ok();
}

Status remove_obsolete_files(const std::filesystem::path& dir, std::uint64_t keep_seq) {
  Result<std::vector<SegmentFile>> segments = list_segments(dir);
  CRITMIN_RETURN_IF_ERROR(segments);
  const std::vector<SegmentFile>& list = segments.value();
  for (std::size_t i = 0; i + 1 < list.size(); ++i) {
    // Segment i holds records first_seq .. next.first_seq - 1.
    if (list[i + 1].first_seq <= keep_seq + 1) {
      std::error_code error;
      std::filesystem::remove(list[i].path, error);
      if (error) {
        return Status::io_error(
            fmt::format("cannot remove {}: {}", list[i].path.string(), error.message()));
      }
    }
  }
  return Status::ok();
}

// ---- group-commit writer ----------------------------------------------------------------------

Result<std::unique_ptr<WalWriter>> WalWriter::open(const std::filesystem::path& dir,
                                                   std::uint64_t next_seq) {
  std::unique_ptr<WalWriter> writer(new WalWriter());
  writer->dir_ = dir;
  const std::filesystem::path path = wal_segment_path(dir, next_seq);
  writer->fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (writer->fd_ < 0) {
    return Status::io_error(fmt::format("cannot open the log {}: {}", path.string(), errno_text()));
  }
  writer->segment_path_ = path;
  Status allocated = writer->preallocate(kInitialPreallocBytes);
  CRITMIN_RETURN_IF_ERROR(allocated);
  Status synced = sync_directory(dir);
  CRITMIN_RETURN_IF_ERROR(synced);
  writer->durable_seq_.store(next_seq - 1);
  writer->segment_first_seq_.store(next_seq);
  writer->thread_ = std::thread([w = writer.get()] { w->run(); });
  return writer;
}

WalWriter::~WalWriter() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    // A cleanly closed segment ends with its last record. Best effort: a failure leaves the
    // zeros, which recovery cuts as it does after a crash.
    if (!failed_.load()) (void)trim();
    ::close(fd_);
  }
  // Whatever the last batch made durable has been answered; anything still waiting (appended
  // after the writer stopped) was never synced.
  complete_waiters(Status::io_error("the write-ahead log closed before the record was synced"));
}

void WalWriter::append(std::uint64_t seq, std::string_view payload) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.empty() || queue_.back().rotate_to) queue_.emplace_back();
    Chunk& chunk = queue_.back();
    append_wal_record(chunk.bytes, seq, payload);
    chunk.last_seq = seq;
  }
  work_ready_.notify_one();
}

void WalWriter::rotate(std::uint64_t next_seq) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Chunk marker;
    marker.rotate_to = next_seq;
    marker.last_seq = next_seq - 1;
    queue_.push_back(std::move(marker));
  }
  work_ready_.notify_one();
}

Status WalWriter::wait_durable(std::uint64_t seq) { return wait_until(seq, false); }

Status WalWriter::wait_durable_and_rotated(std::uint64_t seq) { return wait_until(seq, true); }

Status WalWriter::wait_until(std::uint64_t seq, bool rotated) {
  for (;;) {
    // Read the generation first: a bump after these checks makes wait() return at once.
    const std::uint32_t generation = durable_generation_.load(std::memory_order_acquire);
    if (durable_seq_.load(std::memory_order_acquire) >= seq &&
        (!rotated || segment_first_seq_.load(std::memory_order_acquire) > seq)) {
      return Status::ok();
    }
    if (failed_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> lock(mutex_);
      return Status::io_error("the write-ahead log failed: " + failure_);
    }
    // A plain futex wait: std::atomic::wait spins with sched_yield first, which hundreds of
    // waiting requests turn into a busy machine.
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&durable_generation_), FUTEX_WAIT_PRIVATE,
              generation, nullptr, nullptr, 0);
  }
}

void WalWriter::when_durable(std::uint64_t seq, DurableCallback done) {
  Status now;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_.load(std::memory_order_relaxed)) {
      now = Status::io_error("the write-ahead log failed: " + failure_);
    } else if (durable_seq_.load(std::memory_order_relaxed) < seq) {
      durable_waiters_.push_back({seq, std::move(done)});
      return;
    }
  }
  done(now);  // outside the lock: the callback may take its own locks
}

void WalWriter::complete_waiters(const Status& status) {
  std::vector<DurableWaiter> ready;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (durable_waiters_.empty()) return;
    if (!status.is_ok()) {
      ready.swap(durable_waiters_);
    } else {
      const std::uint64_t durable = durable_seq_.load(std::memory_order_relaxed);
      auto pending = std::partition(durable_waiters_.begin(), durable_waiters_.end(),
                                    [durable](const DurableWaiter& w) { return w.seq > durable; });
      ready.assign(std::make_move_iterator(pending),
                   std::make_move_iterator(durable_waiters_.end()));
      durable_waiters_.erase(pending, durable_waiters_.end());
    }
  }
  for (DurableWaiter& waiter : ready) waiter.done(status);
}

std::uint64_t WalWriter::durable_seq() const { return durable_seq_.load(); }

double WalWriter::fsync_seconds() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fsync_seconds_;
}

std::uint64_t WalWriter::fsync_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return fsyncs_;
}

Status WalWriter::preallocate(std::uint64_t end) {
  if (end <= allocated_bytes_) return Status::ok();
  std::uint64_t target = allocated_bytes_ + prealloc_step_bytes_;
  while (target < end) target += prealloc_step_bytes_;
  prealloc_step_bytes_ = std::min(prealloc_step_bytes_ * 2, kMaxPreallocStepBytes);
  // Real zeros, not fallocate(): on ext4 an allocated but unwritten extent is converted (a
  // journal commit) when first written, which is the cost this avoids.
  static const std::string zeros(1 << 20, '\0');
  for (std::uint64_t at = allocated_bytes_; at < target;) {
    const std::uint64_t piece = std::min<std::uint64_t>(zeros.size(), target - at);
    Status written = write_at(fd_, std::string_view(zeros).substr(0, piece), at, segment_path_);
    CRITMIN_RETURN_IF_ERROR(written);
    at += piece;
  }
  allocated_bytes_ = target;
  return Status::ok();
}

Status WalWriter::trim() {
  if (::ftruncate(fd_, static_cast<off_t>(write_offset_)) != 0 || ::fdatasync(fd_) != 0) {
    return Status::io_error(
        fmt::format("cannot cut {} to its last record: {}", segment_path_.string(), errno_text()));
  }
  allocated_bytes_ = write_offset_;
  return Status::ok();
}

void WalWriter::run() {
  std::vector<Chunk> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      batch.swap(queue_);
    }
    std::uint64_t last_seq = 0;
    Status status;
    bool dirty = false;
    for (Chunk& chunk : batch) {
      if (!status.is_ok()) break;
      if (chunk.rotate_to) {
        // The old segment is cut back to its last record and synced (which also makes this
        // batch's records in it durable) before the next one exists: only the newest segment
        // ever ends in preallocated zeros.
        status = trim();
        if (!status.is_ok()) break;
        dirty = false;
        ::close(fd_);
        const std::filesystem::path path = wal_segment_path(dir_, *chunk.rotate_to);
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd_ < 0) {
          status = Status::io_error(fmt::format("cannot open {}: {}", path.string(), errno_text()));
          break;
        }
        segment_path_ = path;
        write_offset_ = 0;
        allocated_bytes_ = 0;
        prealloc_step_bytes_ = kInitialPreallocBytes;
        status = preallocate(kInitialPreallocBytes);
        if (status.is_ok()) status = sync_directory(dir_);
        if (status.is_ok()) segment_first_seq_.store(*chunk.rotate_to, std::memory_order_release);
        last_seq = std::max(last_seq, chunk.last_seq);
        continue;
      }
      status = preallocate(write_offset_ + chunk.bytes.size());
      if (status.is_ok()) status = write_at(fd_, chunk.bytes, write_offset_, segment_path_);
      write_offset_ += chunk.bytes.size();
      dirty = true;
      last_seq = std::max(last_seq, chunk.last_seq);
    }
    const auto sync_start = std::chrono::steady_clock::now();
    if (status.is_ok() && dirty && ::fdatasync(fd_) != 0) {
      status = Status::io_error("fdatasync: " + errno_text());
    }
    const double sync_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sync_start).count();
    batch.clear();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (status.is_ok()) {
        if (last_seq > durable_seq_.load()) durable_seq_.store(last_seq, std::memory_order_release);
        ++fsyncs_;
        fsync_seconds_ += sync_seconds;
      } else {
        failure_ = status.message();
        failed_.store(true, std::memory_order_release);
        stopping_ = true;
      }
    }
    durable_generation_.fetch_add(1, std::memory_order_release);
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&durable_generation_), FUTEX_WAKE_PRIVATE,
              INT_MAX, nullptr, nullptr, 0);
    complete_waiters(status.is_ok()
                         ? Status::ok()
                         : Status::io_error("the write-ahead log failed: " + status.message()));
    if (!status.is_ok()) return;
  }
}

}  // namespace critmin::service
