// The market service: request checks, the commit path, recovery and snapshots (see
// market_service.h).
#include "service/market_service.h"

#include <fmt/format.h>
#include <sodium.h>

#include "service/postgres_store.h"
#include "service/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

namespace critmin::service {

std::string new_token() {
  std::uint8_t random[32];
  randombytes_buf(random, sizeof random);
  char hex[2 * sizeof random + 1];
  sodium_bin2hex(hex, sizeof hex, random, sizeof random);
  return std::string("cm_") + hex;
}

TokenHash hash_token(std::string_view token) {
  // Tokens are 256 random bits, so a fast keyless hash is as strong as a password hash here:
  // there is nothing to guess. Only this hash is stored (log, snapshot, memory).
  TokenHash hash{};
  crypto_generichash(hash.data(), hash.size(), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return hash;
}

namespace {

constexpr double kMaxQuantityT = 1e9;      // more than world output of any material
constexpr double kMaxPriceUsdPerT = 1e10;  // above any critical raw material
constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxClientRefBytes = 64;
constexpr std::size_t kMaxOrdersPerBatch = 1000;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status invalid(std::string field, std::string message) {
  return Status::invalid_input(fmt::format("{}: {}", field, message));
}

Status check_text(const std::string& value, const char* field, std::size_t max_bytes,
                  bool required) {
  if (required && value.empty()) return invalid(field, "is empty; give a name");
  if (value.size() > max_bytes) {
    return invalid(field,
                   fmt::format("is {} bytes long; keep it to {} bytes", value.size(), max_bytes));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return invalid(field, "contains a control character; remove it");
  }
  return Status::ok();
}

// Every positive number must be normal: a subnormal (below 2.2e-308) is no price or quantity
// anyone means, and it loses precision in every sum it enters.
Status check_price(double value, const char* field) {
  if (!std::isnormal(value) || value <= 0.0 || value > kMaxPriceUsdPerT) {
    return invalid(field, fmt::format("is {}; give a price in USD per tonne above 0 and at most {}",
                                      value, kMaxPriceUsdPerT));
  }
  return Status::ok();
}

Status check_quantity(double value, const char* field) {
  if (!std::isnormal(value) || value <= 0.0 || value > kMaxQuantityT) {
    return invalid(field, fmt::format("is {}; give a quantity in tonnes above 0 and at most {}",
                                      value, kMaxQuantityT));
  }
  return Status::ok();
}

Result<Stage> check_stage(const std::string& text) {
  const std::optional<Stage> stage = parse_stage(text);
  if (!stage) {
    return invalid("stage", fmt::format("'{}' is not a stage; use extraction or processing", text));
  }
  return *stage;
}

// A money amount in a contract's terms that may be 0 or negative (an adder, a premium): finite,
// within +-kMaxPriceUsdPerT, and not subnormal.
Status check_money(double value, const char* field) {
  if (!std::isfinite(value) || std::fabs(value) > kMaxPriceUsdPerT ||
      (value != 0.0 && !std::isnormal(value))) {
    return invalid(field, fmt::format("is {}; give an amount in USD per tonne between -{} and {}",
                                      value, kMaxPriceUsdPerT, kMaxPriceUsdPerT));
  }
  return Status::ok();
}

// A share or factor within [low, high], not subnormal.
Status check_factor(double value, const char* field, double low, double high) {
  if (!std::isfinite(value) || value < low || value > high ||
      (value != 0.0 && !std::isnormal(value))) {
    return invalid(field, fmt::format("is {}; give a number from {} to {}", value, low, high));
  }
  return Status::ok();
}

constexpr int kFirstYear = 2000;
constexpr int kLastYear = 2100;

Status check_year(int year, const char* field) {
  if (year < kFirstYear || year > kLastYear) {
    return invalid(field,
                   fmt::format("is {}; give a year from {} to {}", year, kFirstYear, kLastYear));
  }
  return Status::ok();
}

Result<std::int32_t> check_date(const std::string& text, const char* field) {
  const std::optional<std::int32_t> day = parse_day(text);
  if (!day) return invalid(field, fmt::format("'{}' is not a date; write YYYY-MM-DD", text));
  // Dates within the years the market deals in.
  const std::optional<std::int32_t> first = parse_day(fmt::format("{}-01-01", kFirstYear));
  const std::optional<std::int32_t> last = parse_day(fmt::format("{}-12-31", kLastYear));
  if (*day < *first || *day > *last) {
    return invalid(field, fmt::format("is {}; give a date from {}-01-01 to {}-12-31", text,
                                      kFirstYear, kLastYear));
  }
  return *day;
}

// The money terms of an offtake price formula.
Status check_offtake_price(const settlement::OfftakePrice& price) {
  if (price.kind == settlement::OfftakePrice::Kind::kFixed) {
    return check_price(price.fixed_usd_per_t, "price.fixed_usd_per_t");
  }
  if (Status s = check_factor(price.index_factor, "price.index_factor", 0.0, 100.0); !s.is_ok()) {
    return s;
  }
  if (Status s = check_money(price.adder_usd_per_t, "price.adder_usd_per_t"); !s.is_ok()) return s;
  if (price.floor_usd_per_t) {
    if (Status s = check_money(*price.floor_usd_per_t, "price.floor_usd_per_t"); !s.is_ok()) {
      return s;
    }
  }
  if (price.cap_usd_per_t) {
    if (Status s = check_money(*price.cap_usd_per_t, "price.cap_usd_per_t"); !s.is_ok()) return s;
  }
  return Status::ok();
}

Status check_subsidy_terms(const settlement::SubsidyTerms& terms) {
  if (Status s = check_money(terms.strike_usd_per_t, "subsidy.strike_usd_per_t"); !s.is_ok()) {
    return s;
  }
  if (Status s = check_factor(terms.upside_share, "subsidy.upside_share", 0.0, 1.0); !s.is_ok()) {
    return s;
  }
  if (terms.upside_threshold_usd_per_t) {
    if (Status s =
            check_money(*terms.upside_threshold_usd_per_t, "subsidy.upside_threshold_usd_per_t");
        !s.is_ok()) {
      return s;
    }
  }
  return check_money(terms.premium_usd_per_t, "subsidy.premium_usd_per_t");
}

const Participant* find_participant(const MarketState& state, std::uint64_t id) {
  auto it = state.participants.find(id);
  return it == state.participants.end() ? nullptr : &it->second;
}

}  // namespace

Result<std::string> MarketService::resolve_material(std::string_view name) const {
  const Material* material = dataset_->find_material(name);
  if (!material || material->kind != "material") {  // a group (pgm) is no market
    return Status::invalid_input(
        fmt::format("material: '{}' is not a material of the dataset{}; use an id such as gallium "
                    "or natural_graphite (critmin data materials lists them)",
                    name, dataset_->did_you_mean_material(name)));
  }
  return material->id;
}

namespace {

// Takes the exclusive lock on the market's directory (<dir>/LOCK, flock) and writes this
// process's id into it; the lock goes with the descriptor. A second process (a second
// `critmin serve`, or `--init-operator` while one runs) is refused with the holder's pid.
Result<int> lock_directory(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "LOCK";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::io_error(
        fmt::format("cannot open the lock file {}: {}", path.string(), std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int why = errno;
    char text[32] = {0};
    const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
    ::close(fd);
    if (why == EWOULDBLOCK) {
      std::string holder(text, n > 0 ? static_cast<std::size_t>(n) : 0);
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      return Status::io_error(fmt::format(
          "the market directory {} is in use by process {} (another critmin serve); one "
          "process writes a market: stop that one first, or give another --db",
          dir.string(), holder.empty() ? std::string("(unknown)") : holder));
    }
    return Status::io_error(fmt::format("cannot lock {}: {}", path.string(), std::strerror(why)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return Status::io_error(fmt::format("cannot write the lock file {}: {}", path.string(), why));
  }
  return fd;
}

// A range of events lost to a repair: <dir>/lost-<first>-<last>.txt (20 digits each).
struct LostRange {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

Result<std::vector<LostRange>> list_lost_ranges(const std::filesystem::path& dir) {
  std::vector<LostRange> ranges;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    // lost-<20>-<20>.txt
    if (name.size() != 5 + 20 + 1 + 20 + 4 || name.rfind("lost-", 0) != 0 ||
        name.compare(name.size() - 4, 4, ".txt") != 0 || name[25] != '-') {
      continue;
    }
    LostRange range;
    bool digits = true;
    for (std::size_t i = 5; i < 25; ++i) {
      digits = digits && std::isdigit(static_cast<unsigned char>(name[i]));
      range.first = range.first * 10 + static_cast<std::uint64_t>(name[i] - '0');
    }
    for (std::size_t i = 26; i < 46; ++i) {
      digits = digits && std::isdigit(static_cast<unsigned char>(name[i]));
      range.last = range.last * 10 + static_cast<std::uint64_t>(name[i] - '0');
    }
    if (digits && range.first <= range.last) ranges.push_back(range);
  }
  if (error) {
    return Status::io_error(fmt::format("cannot list {}: {}", dir.string(), error.message()));
  }
  return ranges;
}

Status write_durably(const std::filesystem::path& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::io_error(
        fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  }
  std::size_t done = 0;
  bool ok = true;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const std::string why = ok ? "" : std::strerror(errno);
  ::close(fd);
  if (!ok) return Status::io_error(fmt::format("cannot write {}: {}", path.string(), why));
  return Status::ok();
}

Status sync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return Status::io_error(fmt::format("cannot open {}: {}", dir.string(), std::strerror(errno)));
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return Status::io_error(fmt::format("cannot sync {}", dir.string()));
  return Status::ok();
}

// Where damage was found during recovery.
struct LogDamage {
  std::size_t segment = 0;  // index into the segment list
  bool missing = false;     // a gap before this segment (a missing segment), not bytes in it
  std::uint64_t at_byte = 0;
  std::string what;
};

}  // namespace

Result<std::unique_ptr<MarketService>> MarketService::open(const ServiceConfig& config,
                                                           std::shared_ptr<const Dataset> dataset) {
  const auto start = std::chrono::steady_clock::now();
  if (sodium_init() < 0) return Status::internal("libsodium failed to initialise");
  std::unique_ptr<MarketService> service(new MarketService());
  service->config_ = config;
  service->dataset_ = std::move(dataset);
  auto club = service->dataset_->blocs.find("club");
  if (club == service->dataset_->blocs.end()) {
    return Status::not_found("the dataset has no 'club' bloc; add it to blocs.csv");
  }
  service->club_members_ = std::set<std::string>(club->second.begin(), club->second.end());

  std::error_code error;
  std::filesystem::create_directories(config.directory, error);
  if (error) {
    return Status::io_error(fmt::format("cannot create the service directory {}: {}",
                                        config.directory.string(), error.message()));
  }
  Result<int> lock = lock_directory(config.directory);
  CRITMIN_RETURN_IF_ERROR(lock);
  service->lock_.fd = lock.value();
  if (config.postgres_url.empty()) {
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::open(config.directory);
    CRITMIN_RETURN_IF_ERROR(store);
    service->store_ = std::move(store).value();
  } else {
    Result<std::unique_ptr<PostgresStore>> store = PostgresStore::open(config.postgres_url);
    CRITMIN_RETURN_IF_ERROR(store);
    service->store_ = std::move(store).value();
  }
  RecoveryReport& report = service->recovery_;
  MarketState& state = service->state_;
  Result<std::optional<LoadedSnapshot>> snapshot = service->store_->load_latest_snapshot();
  CRITMIN_RETURN_IF_ERROR(snapshot);
  if (snapshot.value()) {
    std::vector<AuditRecord> legacy_audit;
    Result<MarketState> decoded = decode_state(snapshot.value()->payload, &legacy_audit);
    CRITMIN_RETURN_IF_ERROR(decoded);
    state = std::move(decoded).value();
    if (state.last_seq != snapshot.value()->seq) {
      return Status::io_error(
          "the snapshot's state does not end at the snapshot's sequence number");
    }
    report.from_snapshot = true;
    report.snapshot_seq = state.last_seq;
    if (legacy_audit.empty()) {
      // The store holds the audit log up to the snapshot.
      service->audit_paged_seq_ = state.last_seq;
    } else {
      // A snapshot of format 1 held the audit log itself: it stays in memory until the next
      // snapshot pages it out.
      service->audit_tail_.assign(std::make_move_iterator(legacy_audit.begin()),
                                  std::make_move_iterator(legacy_audit.end()));
    }
  }
  service->snapshot_seq_ = state.last_seq;

  Result<std::vector<SegmentFile>> listed = list_segments(config.directory);
  CRITMIN_RETURN_IF_ERROR(listed);
  const std::vector<SegmentFile>& segments = listed.value();
  Result<std::vector<LostRange>> lost = list_lost_ranges(config.directory);
  CRITMIN_RETURN_IF_ERROR(lost);
  std::optional<LogDamage> damage;
  SegmentScan damaged_scan;
  for (std::size_t i = 0; i < segments.size() && !damage; ++i) {
    const SegmentFile& segment = segments[i];
    const bool newest = i + 1 == segments.size();
    // The segment's name says which event it starts with: every event before it must be
    // accounted for (in the snapshot, an earlier segment, or a range lost to a repair).
    if (segment.first_seq > state.last_seq + 1) {
      bool skipped = false;
      for (const LostRange& range : lost.value()) {
        if (range.first == state.last_seq + 1 && range.last + 1 == segment.first_seq) {
          state.last_seq = range.last;
          state.next_id = std::max(state.next_id, range.last + 1);
          report.lost_events_skipped += range.last - range.first + 1;
          skipped = true;
        }
      }
      if (!skipped) {
        damage = LogDamage{
            i, true, 0,
            fmt::format("events {} to {} are missing: no segment holds them, but {} starts "
                        "with event {} (a segment was deleted or lost)",
                        state.last_seq + 1, segment.first_seq - 1, segment.path.filename().string(),
                        segment.first_seq)};
        break;
      }
    }
    bool first_record = true;
    Result<SegmentScan> scan =
        scan_segment(segment.path, [&](std::uint64_t seq, std::string_view payload) -> Status {
          if (first_record && seq != segment.first_seq) {
            return Status::io_error(fmt::format("{} starts with event {}, not {}",
                                                segment.path.string(), seq, segment.first_seq));
          }
          first_record = false;
          if (seq <= state.last_seq) return Status::ok();  // already in the snapshot
          if (seq != state.last_seq + 1) {
            return Status::io_error(
                fmt::format("the log skips from event {} to {} in {}; a segment is missing",
                            state.last_seq, seq, segment.path.string()));
          }
          Result<Event> event = decode_event(payload);
          CRITMIN_RETURN_IF_ERROR(event);
          if (event.value().seq != seq) {
            return Status::io_error(
                fmt::format("record {} holds event {}", seq, event.value().seq));
          }
          Status applied = apply_event(state, event.value());
          CRITMIN_RETURN_IF_ERROR(applied);
          service->audit_tail_.push_back({seq, std::string(payload)});
          ++report.replayed_events;
          return Status::ok();
        });
    CRITMIN_RETURN_IF_ERROR(scan);
    const SegmentScan& found = scan.value();
    if (!newest && (found.zero_tail || found.torn_tail || found.damaged)) {
      // Older segments were cut back to their last record when the writer left them: nothing
      // may follow it there.
      damage = LogDamage{
          i, false, found.valid_bytes,
          fmt::format("{} ({} bytes after its last valid record), and it is not the newest segment",
                      found.damaged ? found.damage : "bytes that are not a record",
                      found.size - found.valid_bytes)};
    } else if (found.damaged) {
      damage = LogDamage{i, false, found.valid_bytes, found.damage};
    } else if (found.zero_tail || found.torn_tail) {
      // The writer's preallocated space after its last record, or a record the crash cut
      // short: never acknowledged.
      if (found.torn_tail) report.torn_bytes_truncated = found.size - found.valid_bytes;
      Status truncated = truncate_segment(segment.path, found.valid_bytes);
      CRITMIN_RETURN_IF_ERROR(truncated);
    }
    if (damage) damaged_scan = found;
  }
  if (damage) {
    const SegmentFile& segment = segments[damage->segment];
    const std::string where =
        damage->missing
            ? fmt::format("the market's log in {} is damaged: {}", config.directory.string(),
                          damage->what)
            : fmt::format("the market's log is damaged: {} at byte {}, after event {}: {}",
                          segment.path.string(), damage->at_byte, state.last_seq, damage->what);
    if (!config.repair) {
      std::string after;
      if (!damage->missing && damaged_scan.records_after_damage > 0) {
        after = fmt::format(" {} valid events (up to event {}) follow the damage.",
                            damaged_scan.records_after_damage, damaged_scan.max_seq_after_damage);
      }
      return Status::io_error(fmt::format(
          "{}.{} Nothing was changed. Run `critmin serve --db {} --repair` to keep the events "
          "up to the damage and move the rest aside (nothing is deleted), or restore the "
          "directory from a backup",
          where, after, config.directory.string()));
    }
    Status repaired = service->repair_log(segments, damage->segment, damage->missing,
                                          damage->at_byte, damaged_scan, where);
    CRITMIN_RETURN_IF_ERROR(repaired);
  }
  report.last_seq = state.last_seq;
  Result<std::unique_ptr<WalWriter>> wal = WalWriter::open(config.directory, state.last_seq + 1);
  CRITMIN_RETURN_IF_ERROR(wal);
  service->wal_ = std::move(wal).value();
  service->snapshotter_ = std::thread([s = service.get()] { s->run_snapshotter(); });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return service;
}

Status MarketService::repair_log(const std::vector<SegmentFile>& segments, std::size_t damaged,
                                 bool missing, std::uint64_t at_byte, const SegmentScan& scan,
                                 const std::string& where) {
  const std::filesystem::path& dir = config_.directory;
  MarketState& state = state_;
  const std::uint64_t kept = state.last_seq;
  std::uint64_t last_lost = kept;
  std::uint64_t intact = 0;  // valid events in what is moved aside
  std::uint64_t intact_last = 0;
  std::vector<std::string>& lines = recovery_.repair;
  lines.push_back(where);
  std::error_code error;
  std::filesystem::path aside = dir / fmt::format("damaged-{:020}", kept + 1);
  for (int n = 2; std::filesystem::exists(aside); ++n) {
    aside = dir / fmt::format("damaged-{:020}-{}", kept + 1, n);
  }
  std::filesystem::create_directories(aside, error);
  if (error) {
    return Status::io_error(fmt::format("cannot create {}: {}", aside.string(), error.message()));
  }
  std::size_t first_moved = damaged;
  if (!missing) {
    // A copy of the whole damaged segment goes aside; the segment keeps its valid prefix.
    const SegmentFile& segment = segments[damaged];
    std::ifstream in(segment.path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) {
      return Status::io_error(fmt::format("cannot read {}", segment.path.string()));
    }
    Status copied = write_durably(aside / segment.path.filename(), bytes);
    CRITMIN_RETURN_IF_ERROR(copied);
    Status truncated = truncate_segment(segment.path, at_byte);
    CRITMIN_RETURN_IF_ERROR(truncated);
    lines.push_back(
        fmt::format("kept {} up to byte {} (events up to {}); a copy of the whole file is in {}",
                    segment.path.filename().string(), at_byte, kept, aside.string()));
    if (scan.records_after_damage > 0) {
      intact += scan.records_after_damage;
      intact_last = std::max(intact_last, scan.max_seq_after_damage);
      last_lost = std::max(last_lost, scan.max_seq_after_damage);
    } else {
      // No valid record after the damage: the damaged bytes hold at most one event per 16
      // bytes (a record's header), so skip that many numbers.
      const std::size_t end = bytes.find_last_not_of('\0');
      const std::uint64_t damaged_bytes =
          end == std::string::npos || end < at_byte ? 0 : end + 1 - at_byte;
      last_lost = std::max(last_lost,
                           kept + std::max<std::uint64_t>(
                                      1, (damaged_bytes + kWalHeaderBytes - 1) / kWalHeaderBytes));
    }
    first_moved = damaged + 1;
  }
  for (std::size_t j = first_moved; j < segments.size(); ++j) {
    const SegmentFile& segment = segments[j];
    Result<SegmentScan> later =
        scan_segment(segment.path, [](std::uint64_t, std::string_view) { return Status::ok(); });
    last_lost = std::max(last_lost, segment.first_seq - 1);
    if (later.is_ok()) {
      intact += later.value().records + later.value().records_after_damage;
      intact_last =
          std::max({intact_last, later.value().last_seq, later.value().max_seq_after_damage});
      last_lost = std::max({last_lost, later.value().last_seq, later.value().max_seq_after_damage});
    }
    std::filesystem::rename(segment.path, aside / segment.path.filename(), error);
    if (error) {
      return Status::io_error(fmt::format("cannot move {} to {}: {}", segment.path.string(),
                                          aside.string(), error.message()));
    }
    lines.push_back(fmt::format("moved {} to {} ({} valid events in it)",
                                segment.path.filename().string(), aside.string(),
                                later.is_ok() ? later.value().records : 0));
  }
  Status synced = sync_dir(aside);
  if (synced.is_ok()) synced = sync_dir(dir);
  CRITMIN_RETURN_IF_ERROR(synced);
  if (last_lost > kept) {
    lines.push_back(fmt::format(
        "could not keep events {} to {}{}; their sequence numbers and ids are never used again, "
        "and new events start at {}",
        kept + 1, last_lost,
        intact > 0 ? fmt::format(" ({} of them, up to event {}, are intact in {} but follow the "
                                 "damage, so they were not replayed)",
                                 intact, intact_last, aside.string())
                   : std::string(),
        last_lost + 1));
    std::string text;
    for (const std::string& line : lines) text += line + "\n";
    Status recorded =
        write_durably(dir / fmt::format("lost-{:020}-{:020}.txt", kept + 1, last_lost), text);
    CRITMIN_RETURN_IF_ERROR(recorded);
    state.last_seq = last_lost;
    state.next_id = std::max(state.next_id, last_lost + 1);
  } else {
    lines.push_back("no event was lost");
  }
  std::string text;
  for (const std::string& line : lines) text += line + "\n";
  Status reported = write_durably(aside / "REPORT.txt", text);
  if (reported.is_ok()) reported = sync_dir(dir);
  return reported;
}

MarketService::DirectoryLock::~DirectoryLock() {
  if (fd >= 0) ::close(fd);
}

MarketService::~MarketService() {
  {
    std::lock_guard<std::mutex> lock(snapshotter_mutex_);
    snapshotter_stopping_ = true;
  }
  snapshotter_wake_.notify_one();
  if (snapshotter_.joinable()) snapshotter_.join();  // finishes a snapshot already requested
  // The log first, while the rest of the service still exists: stopping it answers the
  // when_durable callbacks still pending, and those touch `failed_`.
  wal_.reset();
}

std::optional<Participant> MarketService::authenticate(std::string_view token) const {
  if (token.empty() || token.size() > 256) return std::nullopt;
  const TokenHash hash = hash_token(token);
  {
    std::shared_lock<std::shared_mutex> cached(token_cache_mutex_);
    auto hit = token_cache_.find(hash);
    if (hit != token_cache_.end()) return hit->second;
  }
  // Unknown tokens are not cached: guessing must not grow the cache.
  std::optional<Participant> found;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = state_.participant_by_token.find(hash);
    if (it == state_.participant_by_token.end()) return std::nullopt;
    found = state_.participants.at(it->second);
  }
  std::unique_lock<std::shared_mutex> cache(token_cache_mutex_);
  token_cache_.emplace(hash, *found);
  return found;
}

template <typename Answer>
Result<std::pair<Answer, std::uint64_t>> MarketService::commit_queued(
    std::uint64_t actor, const std::function<Result<EventBody>(const MarketState&)>& decide,
    const std::function<Answer(const MarketState&, const Event&)>& answer) {
  if (failed_) {
    return Status::io_error("the market service stopped after a log write failure; restart it");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  Result<EventBody> body = decide(state_);
  CRITMIN_RETURN_IF_ERROR(body);
  Event event{state_.last_seq + 1, now_ms(), actor, std::move(body).value()};
  const std::string bytes = encode_event(event);
  Status applied = apply_event(state_, event);
  CRITMIN_RETURN_IF_ERROR(applied);
  wal_->append(event.seq, bytes);
  audit_tail_.push_back({event.seq, bytes});
  return std::pair<Answer, std::uint64_t>(answer(state_, event), event.seq);
}

template <typename Answer>
Result<Answer> MarketService::commit(
    std::uint64_t actor, const std::function<Result<EventBody>(const MarketState&)>& decide,
    const std::function<Answer(const MarketState&, const Event&)>& answer) {
  Result<std::pair<Answer, std::uint64_t>> queued = commit_queued<Answer>(actor, decide, answer);
  CRITMIN_RETURN_IF_ERROR(queued);
  const std::uint64_t seq = queued.value().second;
  Status durable = wal_->wait_durable(seq);
  if (!durable.is_ok()) {
    failed_ = true;
    return durable;
  }
  maybe_snapshot(seq);
  return std::move(queued).value().first;
}

Result<Registered> MarketService::register_participant(std::uint64_t actor,
                                                       const NewParticipant& request) {
  if (Status s = check_text(request.name, "name", kMaxNameBytes, true); !s.is_ok()) return s;
  const std::string iso3 = request.country_iso3;
  if (!dataset_->find_country(iso3)) {
    return invalid("country", fmt::format("'{}' is not a country of the dataset{}; give an ISO "
                                          "3166 alpha-3 code in capitals such as DEU or USA",
                                          iso3, dataset_->did_you_mean_place(iso3)));
  }
  if (request.roles == 0 || (request.roles & ~kAllRoles) != 0) {
    return invalid("roles", "give at least one of operator, buyer, seller, certifier, auditor");
  }
  const std::string token = new_token();
  Participant participant;
  participant.name = request.name;
  participant.country_iso3 = iso3;
  participant.roles = request.roles;
  participant.club_member = club_members_.count(iso3) > 0;
  participant.token_hash = hash_token(token);
  Result<std::uint64_t> id = commit<std::uint64_t>(
      actor,
      [&](const MarketState& state) -> Result<EventBody> {
        Participant p = participant;
        p.id = state.next_id;
        return EventBody(ParticipantRegistered{p});
      },
      [](const MarketState&, const Event& e) {
        return std::get<ParticipantRegistered>(e.body).participant.id;
      });
  CRITMIN_RETURN_IF_ERROR(id);
  return Registered{id.value(), token};
}

Result<std::uint64_t> MarketService::issue_certificate(std::uint64_t actor,
                                                       const NewCertificate& request) {
  if (Status s = check_text(request.facility, "facility", kMaxNameBytes, true); !s.is_ok()) {
    return s;
  }
  if (Status s = check_text(request.standard, "standard", kMaxNameBytes, true); !s.is_ok()) {
    return s;
  }
  Result<std::string> material = resolve_material(request.material);
  CRITMIN_RETURN_IF_ERROR(material);
  Result<std::int32_t> from = check_date(request.valid_from, "valid_from");
  CRITMIN_RETURN_IF_ERROR(from);
  Result<std::int32_t> to = check_date(request.valid_to, "valid_to");
  CRITMIN_RETURN_IF_ERROR(to);
  if (to.value() < from.value()) {
    return invalid("valid_to",
                   "is before valid_from; a certificate must be valid for a day or more");
  }
  return commit<std::uint64_t>(
      actor,
      [&](const MarketState& state) -> Result<EventBody> {
        const Participant* holder = find_participant(state, request.holder_id);
        if (!holder) {
          return invalid("holder_id", fmt::format("no participant {}", request.holder_id));
        }
        if (!(holder->roles & kSeller)) {
          return invalid("holder_id", fmt::format("participant {} is not a seller; certificates "
                                                  "are issued to suppliers",
                                                  request.holder_id));
        }
        Certificate c;
        c.id = state.next_id;
        c.holder_id = request.holder_id;
        c.certifier_id = actor;
        c.facility = request.facility;
        c.material_id = material.value();
        c.standard = request.standard;
        c.valid_from_day = from.value();
        c.valid_to_day = to.value();
        return EventBody(CertificateIssued{c});
      },
      [](const MarketState&, const Event& e) {
        return std::get<CertificateIssued>(e.body).certificate.id;
      });
}

Result<std::uint64_t> MarketService::open_lot(std::uint64_t actor, const NewLot& request) {
  if (Status s = check_text(request.name, "name", kMaxNameBytes, false); !s.is_ok()) return s;
  Result<std::string> material = resolve_material(request.material);
  CRITMIN_RETURN_IF_ERROR(material);
  Result<Stage> stage = check_stage(request.stage);
  CRITMIN_RETURN_IF_ERROR(stage);
  Result<std::int32_t> delivery = check_date(request.delivery_date, "delivery_date");
  CRITMIN_RETURN_IF_ERROR(delivery);
  Lot lot;
  lot.name = request.name;
  lot.material_id = material.value();
  lot.stage = stage.value();
  if (request.reserve_price_usd_per_t) {
    if (Status s = check_price(*request.reserve_price_usd_per_t, "reserve_price_usd_per_t");
        !s.is_ok()) {
      return s;
    }
    lot.reserve_price_usd_per_t = request.reserve_price_usd_per_t;
  }
  if (request.reference_price_usd_per_t) {
    if (Status s = check_price(*request.reference_price_usd_per_t, "reference_price_usd_per_t");
        !s.is_ok()) {
      return s;
    }
    lot.reference_price_usd_per_t = *request.reference_price_usd_per_t;
  } else {
    lot.reference_price_usd_per_t = request.reserve_price_usd_per_t.value_or(0.0);
  }
  if (request.tie_rule == "pro_rata") {
    lot.tie_rule = auction::TieRule::kProRata;
  } else if (request.tie_rule == "time_priority") {
    lot.tie_rule = auction::TieRule::kTimePriority;
  } else {
    return invalid("tie_rule", fmt::format("'{}' is not a tie rule; use pro_rata or time_priority",
                                           request.tie_rule));
  }
  lot.certified_only = request.certified_only;
  lot.club_only = request.club_only;
  lot.kind = request.joint_purchase ? LotKind::kJointPurchase : LotKind::kCall;
  lot.delivery_day = delivery.value();
  return commit<std::uint64_t>(
      actor,
      [&](const MarketState& state) -> Result<EventBody> {
        Lot l = lot;
        l.id = state.next_id;
        return EventBody(LotOpened{l});
      },
      [](const MarketState&, const Event& e) { return std::get<LotOpened>(e.body).lot.id; });
}

namespace {

// Checks one order against the state; `id` and `time` are what the order will get.
Result<OrderSubmitted> decide_order(const MarketState& state, std::uint64_t actor,
                                    const NewOrder& request, std::uint64_t id, std::uint64_t time) {
  if (Status s = check_price(request.price_usd_per_t, "price_usd_per_t"); !s.is_ok()) return s;
  if (Status s = check_quantity(request.quantity_t, "quantity_t"); !s.is_ok()) return s;
  if (Status s = check_text(request.client_ref, "client_ref", kMaxClientRefBytes, false);
      !s.is_ok()) {
    return s;
  }
  auto lot_it = state.lots.find(request.lot_id);
  if (lot_it == state.lots.end()) {
    return Status::not_found(fmt::format("lot {} does not exist", request.lot_id));
  }
  const Lot& lot = lot_it->second;
  const Participant* who = find_participant(state, actor);
  if (!who) return invalid("participant", fmt::format("no participant {}", actor));
  if (lot.kind == LotKind::kJointPurchase) {
    if (lot.phase == RoundPhase::kClosed) {
      return invalid("lot", fmt::format("joint-purchasing round {} is closed", lot.id));
    }
    if (lot.phase == RoundPhase::kDemand && request.side == auction::Side::kSell) {
      return invalid("side", fmt::format("round {} collects demand; offers are taken after "
                                         "the operator tenders it",
                                         lot.id));
    }
    if (lot.phase == RoundPhase::kTender && request.side == auction::Side::kBuy) {
      return invalid("side", fmt::format("round {} has tendered its demand; it takes only "
                                         "offers now",
                                         lot.id));
    }
  }
  if (request.side == auction::Side::kBuy) {
    if (!(who->roles & kBuyer)) return invalid("side", "only buyers may bid");
    if (lot.club_only && !who->club_member) {
      return invalid("side", fmt::format("lot {} is a club lot; only participants from club "
                                         "member countries buy in it ({} is not a member)",
                                         lot.id, who->country_iso3));
    }
  } else {
    if (!(who->roles & kSeller)) return invalid("side", "only sellers may ask");
  }
  if (request.certificate_id != 0 || (lot.certified_only && request.side == auction::Side::kSell)) {
    auto cert_it = state.certificates.find(request.certificate_id);
    if (cert_it == state.certificates.end()) {
      return invalid("certificate_id",
                     request.certificate_id == 0
                         ? fmt::format("lot {} is certified-only; give the id of your "
                                       "certificate for this material",
                                       lot.id)
                         : fmt::format("no certificate {}", request.certificate_id));
    }
    const Certificate& cert = cert_it->second;
    if (cert.holder_id != actor) {
      return invalid("certificate_id", fmt::format("certificate {} belongs to participant {}",
                                                   cert.id, cert.holder_id));
    }
    if (cert.material_id != lot.material_id) {
      return invalid("certificate_id", fmt::format("certificate {} covers {}, the lot trades {}",
                                                   cert.id, cert.material_id, lot.material_id));
    }
    if (lot.delivery_day < cert.valid_from_day || lot.delivery_day > cert.valid_to_day) {
      return invalid("certificate_id",
                     fmt::format("certificate {} is valid {} to {}, not on the delivery "
                                 "date {}",
                                 cert.id, format_day(cert.valid_from_day),
                                 format_day(cert.valid_to_day), format_day(lot.delivery_day)));
    }
  }
  BookOrder order;
  order.id = id;
  order.participant_id = actor;
  order.side = request.side;
  order.price_usd_per_t = request.price_usd_per_t;
  order.quantity_t = request.quantity_t;
  order.time = time;
  order.certificate_id = request.certificate_id;
  order.club_member = who->club_member;
  order.client_ref = request.client_ref;
  return OrderSubmitted{lot.id, std::move(order)};
}

// The event of a new order, with the next id and sequence number of `state`.
Result<EventBody> order_event(const MarketState& state, std::uint64_t actor,
                              const NewOrder& request) {
  Result<OrderSubmitted> decided =
      decide_order(state, actor, request, state.next_id, state.last_seq + 1);
  CRITMIN_RETURN_IF_ERROR(decided);
  return EventBody(std::move(decided).value());
}

std::uint64_t submitted_order_id(const MarketState&, const Event& e) {
  return std::get<OrderSubmitted>(e.body).order.id;
}

}  // namespace

Result<std::uint64_t> MarketService::submit_order(std::uint64_t actor, const NewOrder& request) {
  return commit<std::uint64_t>(
      actor, [&](const MarketState& state) { return order_event(state, actor, request); },
      submitted_order_id);
}

Result<MarketService::QueuedOrder> MarketService::submit_order_queued(std::uint64_t actor,
                                                                      const NewOrder& request) {
  Result<std::pair<std::uint64_t, std::uint64_t>> queued = commit_queued<std::uint64_t>(
      actor, [&](const MarketState& state) { return order_event(state, actor, request); },
      submitted_order_id);
  CRITMIN_RETURN_IF_ERROR(queued);
  // Only asks the snapshot thread; the snapshot waits for the log itself.
  maybe_snapshot(queued.value().second);
  return QueuedOrder{queued.value().first, queued.value().second};
}

void MarketService::when_durable(std::uint64_t seq, std::function<void(const Status&)> done) {
  wal_->when_durable(seq, [this, done = std::move(done)](const Status& status) {
    if (!status.is_ok()) failed_ = true;
    done(status);
  });
}

Result<std::vector<std::uint64_t>> MarketService::submit_orders(
    std::uint64_t actor, const std::vector<NewOrder>& requests) {
  if (requests.empty() || requests.size() > kMaxOrdersPerBatch) {
    return invalid("orders", fmt::format("holds {} orders; send 1 to {}", requests.size(),
                                         kMaxOrdersPerBatch));
  }
  if (failed_) {
    return Status::io_error("the market service stopped after a log write failure; restart it");
  }
  std::vector<std::uint64_t> ids;
  std::uint64_t last = 0;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // Every order is checked before any is applied: the batch is all or nothing.
    std::vector<Event> events;
    events.reserve(requests.size());
    const std::int64_t time_ms = now_ms();
    for (std::size_t k = 0; k < requests.size(); ++k) {
      Result<OrderSubmitted> decided =
          decide_order(state_, actor, requests[k], state_.next_id + k, state_.last_seq + 1 + k);
      if (!decided.is_ok()) {
        return Status::invalid_input(fmt::format("orders[{}]: {}; no order of the batch was taken",
                                                 k, decided.status().message()));
      }
      events.push_back({state_.last_seq + 1 + k, time_ms, actor, std::move(decided).value()});
    }
    for (const Event& event : events) {
      std::string bytes = encode_event(event);
      Status applied = apply_event(state_, event);
      CRITMIN_RETURN_IF_ERROR(applied);  // the log holds exactly the orders applied so far
      wal_->append(event.seq, bytes);
      audit_tail_.push_back({event.seq, std::move(bytes)});
      ids.push_back(std::get<OrderSubmitted>(event.body).order.id);
      last = event.seq;
    }
  }
  Status durable = wal_->wait_durable(last);
  if (!durable.is_ok()) {
    failed_ = true;
    return durable;
  }
  maybe_snapshot(last);
  return ids;
}

Result<CallRecord> MarketService::clear_lot(std::uint64_t actor, std::uint64_t lot_id) {
  return commit<CallRecord>(
      actor,
      [&](const MarketState& state) -> Result<EventBody> {
        auto lot = state.lots.find(lot_id);
        if (lot == state.lots.end()) {
          return Status::not_found(fmt::format("lot {} does not exist", lot_id));
        }
        if (lot->second.kind == LotKind::kJointPurchase &&
            lot->second.phase != RoundPhase::kTender) {
          return invalid("lot", fmt::format("round {} is {}; a round is matched once, after its "
                                            "demand was tendered",
                                            lot_id, round_phase_name(lot->second.phase)));
        }
        return EventBody(LotCleared{lot_id});
      },
      [lot_id](const MarketState& state, const Event&) {
        // The summary only: the fills of a large call are read with GET .../calls, and copying
        // them under the lock would hold up every other request.
        const CallRecord& call = state.lots.at(lot_id).calls.back();
        CallRecord summary;
        summary.period = call.period;
        summary.seq = call.seq;
        summary.time_ms = call.time_ms;
        summary.outcome = call.outcome;
        summary.clearing_price_usd_per_t = call.clearing_price_usd_per_t;
        summary.executed_volume_t = call.executed_volume_t;
        summary.demand_at_price_t = call.demand_at_price_t;
        summary.supply_at_price_t = call.supply_at_price_t;
        summary.reserve_binding = call.reserve_binding;
        summary.orders = call.orders;
        summary.rolled_over_asks = call.rolled_over_asks;
        summary.rolled_over_t = call.rolled_over_t;
        summary.levy_total_usd = call.levy_total_usd;
        summary.fill_count = call.fills.size();
        return summary;
      });
}

Result<double> MarketService::tender_round(std::uint64_t actor, std::uint64_t lot_id) {
  return commit<double>(
      actor,
      [&](const MarketState& state) -> Result<EventBody> {
        auto lot = state.lots.find(lot_id);
        if (lot == state.lots.end()) {
          return Status::not_found(fmt::format("lot {} does not exist", lot_id));
        }
        if (lot->second.kind != LotKind::kJointPurchase) {
          return invalid("lot",
                         fmt::format("lot {} is a call lot, not a joint-purchasing round", lot_id));
        }
        if (lot->second.phase != RoundPhase::kDemand) {
          return invalid("lot", fmt::format("round {} is {}; only a round collecting demand is "
                                            "tendered",
                                            lot_id, round_phase_name(lot->second.phase)));
        }
        double demand_t = 0.0;
        for (const BookOrder& o : lot->second.book) demand_t += o.quantity_t;
        if (demand_t <= 0.0) {
          return invalid(
              "lot", fmt::format("round {} has no demand yet; buyers submit bids first", lot_id));
        }
        return EventBody(RoundTendered{lot_id, demand_t});
      },
      [](const MarketState&, const Event& e) {
        return std::get<RoundTendered>(e.body).aggregated_demand_t;
      });
}

Result<std::uint64_t> MarketService::register_contract(std::uint64_t actor,
                                                       const NewContract& request) {
  Result<std::string> material = resolve_material(request.material);
  CRITMIN_RETURN_IF_ERROR(material);
  Result<Stage> stage = check_stage(request.stage);
  CRITMIN_RETURN_IF_ERROR(stage);
  Contract contract;
  contract.kind = request.kind;
  contract.material_id = material.value();
  contract.stage = stage.value();
  contract.buyer_id = request.buyer_id;
  contract.seller_id = request.seller_id;
  if (request.kind == ContractKind::kOfftake) {
    const settlement::OfftakeTerms& terms = request.offtake;
    if (Status s = check_quantity(terms.volume_t_per_year, "volume_t_per_year"); !s.is_ok()) {
      return s;
    }
    if (Status s = check_year(terms.start_year, "start_year"); !s.is_ok()) return s;
    if (terms.tenor_years < 1 || terms.start_year + terms.tenor_years - 1 > kLastYear) {
      return invalid("tenor_years",
                     fmt::format("is {}; give 1 to {} years (the last year {} at "
                                 "most)",
                                 terms.tenor_years, kLastYear - terms.start_year + 1, kLastYear));
    }
    if (Status s = check_offtake_price(terms.price); !s.is_ok()) return s;
    if (!std::isfinite(terms.take_or_pay_share) || terms.take_or_pay_share < 0.0 ||
        terms.take_or_pay_share > 1.0) {
      return invalid("take_or_pay_share", "give a share between 0 and 1");
    }
    // The settlement function checks the price formula (fixed price, factor, floor <= cap).
    Result<double> price = settlement::offtake_contract_price(terms.price, 0.0);
    if (!price.is_ok()) return invalid("price", price.status().message());
    contract.offtake = terms;
    contract.volume_t_per_year = terms.volume_t_per_year;
    contract.start_year = terms.start_year;
    contract.tenor_years = terms.tenor_years;
  } else {
    if (Status s = check_quantity(request.volume_t_per_year, "volume_t_per_year"); !s.is_ok()) {
      return s;
    }
    if (Status s = check_year(request.start_year, "start_year"); !s.is_ok()) return s;
    if (request.tenor_years < 1 || request.start_year + request.tenor_years - 1 > kLastYear) {
      return invalid("tenor_years", fmt::format("is {}; give 1 to {} years (the last year {} at "
                                                "most)",
                                                request.tenor_years,
                                                kLastYear - request.start_year + 1, kLastYear));
    }
    if (Status s = check_subsidy_terms(request.subsidy); !s.is_ok()) return s;
    Result<double> payment = settlement::subsidy_payment_per_t(request.subsidy, 0.0);
    if (!payment.is_ok()) return invalid("subsidy", payment.status().message());
    contract.subsidy = request.subsidy;
    contract.volume_t_per_year = request.volume_t_per_year;
    contract.start_year = request.start_year;
    contract.tenor_years = request.tenor_years;
    contract.buyer_id = 0;
  }
  return commit<std::uint64_t>(
      actor,
      [&](const MarketState& state) -> Result<EventBody> {
        const Participant* seller = find_participant(state, contract.seller_id);
        if (!seller || !(seller->roles & kSeller)) {
          return invalid("seller_id", fmt::format("participant {} is not a registered seller",
                                                  contract.seller_id));
        }
        if (contract.kind == ContractKind::kOfftake) {
          const Participant* buyer = find_participant(state, contract.buyer_id);
          if (!buyer || !(buyer->roles & kBuyer)) {
            return invalid("buyer_id", fmt::format("participant {} is not a registered buyer",
                                                   contract.buyer_id));
          }
        }
        Contract c = contract;
        c.id = state.next_id;
        return EventBody(ContractRegistered{c});
      },
      [](const MarketState&, const Event& e) {
        return std::get<ContractRegistered>(e.body).contract.id;
      });
}

Result<PeriodSettled> MarketService::settle_period(std::uint64_t actor,
                                                   const SettleRequest& request) {
  Result<std::string> material = resolve_material(request.material);
  CRITMIN_RETURN_IF_ERROR(material);
  Result<Stage> stage = check_stage(request.stage);
  CRITMIN_RETURN_IF_ERROR(stage);
  if (Status s = check_year(request.year, "year"); !s.is_ok()) return s;
  if (request.subsidy_budget_usd) {
    const double budget = *request.subsidy_budget_usd;
    if (!std::isfinite(budget) || budget < 0.0 || budget > kMaxPriceUsdPerT * kMaxQuantityT ||
        (budget != 0.0 && !std::isnormal(budget))) {
      return invalid("subsidy_budget_usd", fmt::format("is {}; give 0 to {} USD", budget,
                                                       kMaxPriceUsdPerT * kMaxQuantityT));
    }
  }
  if (request.reference_price_usd_per_t) {
    if (Status s = check_price(*request.reference_price_usd_per_t, "reference_price_usd_per_t");
        !s.is_ok()) {
      return s;
    }
  }
  for (const Delivery& d : request.deliveries) {
    if (!std::isfinite(d.volume_t) || d.volume_t < 0.0 || d.volume_t > kMaxQuantityT ||
        (d.volume_t != 0.0 && !std::isnormal(d.volume_t))) {
      return invalid("deliveries", fmt::format("contract {}: volume_t is {}; give 0 or more tonnes",
                                               d.contract_id, d.volume_t));
    }
  }
  return commit<PeriodSettled>(
      actor,
      [&](const MarketState& state) -> Result<EventBody> {
        for (const PeriodSettled& done : state.settlements) {
          if (done.material_id == material.value() && done.stage == stage.value() &&
              done.year == request.year) {
            return invalid("year", fmt::format("{} {} is already settled for {}", material.value(),
                                               stage_name(stage.value()), request.year));
          }
        }
        PeriodSettled settled;
        settled.material_id = material.value();
        settled.stage = stage.value();
        settled.year = request.year;
        if (request.reference_price_usd_per_t) {
          settled.reference_price_usd_per_t = *request.reference_price_usd_per_t;
        } else {
          auto last = state.last_clearing_price_usd_per_t.find(
              {material.value(), static_cast<std::uint8_t>(stage.value())});
          if (last == state.last_clearing_price_usd_per_t.end()) {
            return invalid("reference_price_usd_per_t",
                           fmt::format("no auction of {} {} has cleared yet; clear a lot first or "
                                       "give reference_price_usd_per_t",
                                       material.value(), stage_name(stage.value())));
          }
          settled.reference_price_usd_per_t = last->second;
        }
        std::map<std::uint64_t, double> delivered;
        for (const Delivery& d : request.deliveries) {
          auto it = state.contracts.find(d.contract_id);
          if (it == state.contracts.end() || it->second.material_id != material.value() ||
              it->second.stage != stage.value()) {
            return invalid("deliveries",
                           fmt::format("contract {} is not a {} {} contract", d.contract_id,
                                       material.value(), stage_name(stage.value())));
          }
          if (!delivered.emplace(d.contract_id, d.volume_t).second) {
            return invalid("deliveries", fmt::format("contract {} is listed twice", d.contract_id));
          }
        }
        for (const auto& [id, contract] : state.contracts) {
          if (contract.material_id != material.value() || contract.stage != stage.value()) continue;
          const bool active = request.year >= contract.start_year &&
                              request.year < contract.start_year + contract.tenor_years;
          auto given = delivered.find(id);
          if (!active) {
            if (given != delivered.end()) {
              return invalid("deliveries",
                             fmt::format("contract {} is not in force in {}", id, request.year));
            }
            continue;
          }
          const double volume_t =
              given != delivered.end() ? given->second : contract.volume_t_per_year;
          SettlementEntry entry;
          entry.contract_id = id;
          entry.kind = contract.kind;
          entry.year = request.year;
          entry.reference_price_usd_per_t = settled.reference_price_usd_per_t;
          if (contract.kind == ContractKind::kOfftake) {
            Result<settlement::OfftakeSettlement> s = settlement::settle_offtake(
                contract.offtake, request.year, volume_t, settled.reference_price_usd_per_t);
            if (!s.is_ok()) {
              return invalid("deliveries",
                             fmt::format("contract {}: {}", id, s.status().message()));
            }
            entry.volume_t = s.value().delivered_t;
            entry.contract_price_usd_per_t = s.value().contract_price_usd_per_t;
            entry.take_or_pay_shortfall_t = s.value().take_or_pay_shortfall_t;
            entry.payment_usd = s.value().buyer_pays_usd;
            entry.buyer_gain_vs_market_usd = s.value().buyer_gain_vs_market_usd;
          } else {
            if (volume_t > contract.volume_t_per_year) {
              return invalid("deliveries",
                             fmt::format("contract {} supports at most {} t a year, not {}", id,
                                         contract.volume_t_per_year, volume_t));
            }
            Result<double> per_t = settlement::subsidy_payment_per_t(
                contract.subsidy, settled.reference_price_usd_per_t);
            if (!per_t.is_ok()) {
              return invalid("subsidy",
                             fmt::format("contract {}: {}", id, per_t.status().message()));
            }
            entry.volume_t = volume_t;
            entry.contract_price_usd_per_t = per_t.value();
            entry.claimed_usd = per_t.value() * volume_t;
            entry.payment_usd = entry.claimed_usd;
          }
          settled.entries.push_back(entry);
        }
        // The budget cap on subsidy claims, in contract order, with the simulator's function.
        settled.subsidy_budget_usd = request.subsidy_budget_usd;
        settled.budget_rule = request.budget_rule;
        std::vector<double> claims;
        for (const SettlementEntry& e : settled.entries) {
          if (e.kind == ContractKind::kSubsidy) claims.push_back(e.claimed_usd);
        }
        Result<settlement::BudgetOutcome> capped =
            settlement::apply_budget(claims, request.subsidy_budget_usd, request.budget_rule);
        if (!capped.is_ok()) return invalid("subsidy_budget_usd", capped.status().message());
        settled.budget_binding = capped.value().binding;
        std::size_t next_claim = 0;
        for (SettlementEntry& e : settled.entries) {
          if (e.kind == ContractKind::kSubsidy)
            e.payment_usd = capped.value().paid_usd[next_claim++];
        }
        // Every figure of a settlement is finite: the bounds on contract terms make it so, and
        // this check keeps a settlement that would not be from being stored for good.
        for (const SettlementEntry& e : settled.entries) {
          for (double figure : {e.volume_t, e.contract_price_usd_per_t, e.take_or_pay_shortfall_t,
                                e.payment_usd, e.claimed_usd, e.buyer_gain_vs_market_usd}) {
            if (!std::isfinite(figure)) {
              return invalid("contracts",
                             fmt::format("contract {} would settle to a figure that is not "
                                         "finite; terminate it (POST /market/v1/contracts/{}/"
                                         "terminate) or settle without it",
                                         e.contract_id, e.contract_id));
            }
          }
        }
        return EventBody(std::move(settled));
      },
      [](const MarketState&, const Event& e) { return std::get<PeriodSettled>(e.body); });
}

Result<Contract> MarketService::terminate_contract(std::uint64_t actor, std::uint64_t contract_id,
                                                   std::int32_t last_year,
                                                   const std::string& reason) {
  if (Status s = check_text(reason, "reason", 1000, false); !s.is_ok()) return s;
  return commit<Contract>(
      actor,
      [&](const MarketState& state) -> Result<EventBody> {
        auto it = state.contracts.find(contract_id);
        if (it == state.contracts.end()) {
          return Status::not_found(fmt::format("contract {} does not exist", contract_id));
        }
        const Contract& c = it->second;
        const std::int32_t current_last = c.start_year + c.tenor_years - 1;
        if (last_year < c.start_year - 1 || last_year >= current_last) {
          return invalid("last_year",
                         fmt::format("is {}; contract {} runs from {} to {}: give a year from {} "
                                     "(cancel it) to {}",
                                     last_year, contract_id, c.start_year, current_last,
                                     c.start_year - 1, current_last - 1));
        }
        for (const PeriodSettled& p : state.settlements) {
          if (p.year <= last_year) continue;
          for (const SettlementEntry& e : p.entries) {
            if (e.contract_id == contract_id) {
              return invalid("last_year",
                             fmt::format("contract {} is settled for {} already; end it in {} "
                                         "or later",
                                         contract_id, p.year, p.year));
            }
          }
        }
        return EventBody(ContractTerminated{contract_id, last_year, reason});
      },
      [contract_id](const MarketState& state, const Event&) {
        return state.contracts.at(contract_id);
      });
}

Status MarketService::snapshot() {
  std::lock_guard<std::mutex> one_at_a_time(snapshot_mutex_);
  std::string bytes;
  std::uint64_t seq = 0;
  std::vector<AuditRecord> audit;  // the entries this snapshot pages out
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (failed_) return Status::io_error("the log failed; no snapshot taken");
    bytes = encode_state(state_);
    seq = state_.last_seq;
    audit.assign(audit_tail_.begin(), audit_tail_.end());
    wal_->rotate(seq + 1);
  }
  // The old segments can go once the snapshot is written and the log has switched to the new
  // segment: waiting only for durability could find the switch not yet made (the records may
  // have been durable already), and keep segments the snapshot covers.
  Status durable = wal_->wait_durable_and_rotated(seq);
  CRITMIN_RETURN_IF_ERROR(durable);
  // Decoding the bytes checks that the snapshot reads back before it replaces the old one, and
  // gives the query tables their content without holding the state lock.
  Result<MarketState> decoded = decode_state(bytes);
  CRITMIN_RETURN_IF_ERROR(decoded);
  Status written = store_->write_snapshot(seq, bytes, decoded.value(), audit);
  CRITMIN_RETURN_IF_ERROR(written);
  {
    // Committed: the store answers for these entries now, and memory lets go of them.
    std::lock_guard<std::mutex> lock(mutex_);
    while (!audit_tail_.empty() && audit_tail_.front().seq <= seq) audit_tail_.pop_front();
    audit_paged_seq_ = seq;
  }
  snapshot_seq_ = seq;
  return remove_obsolete_files(config_.directory, seq);
}

void MarketService::maybe_snapshot(std::uint64_t seq) {
  if (config_.snapshot_every_events == 0) return;
  if (seq < snapshot_seq_ + config_.snapshot_every_events) return;
  {
    std::lock_guard<std::mutex> lock(snapshotter_mutex_);
    snapshot_wanted_ = true;
  }
  snapshotter_wake_.notify_one();
}

void MarketService::run_snapshotter() {
  std::unique_lock<std::mutex> lock(snapshotter_mutex_);
  for (;;) {
    snapshotter_wake_.wait(lock, [&] { return snapshot_wanted_ || snapshotter_stopping_; });
    if (!snapshot_wanted_) return;  // stopping, nothing pending
    snapshot_wanted_ = false;
    lock.unlock();
    // A failed automatic snapshot is not fatal: the log still holds every event, and the next
    // request past the threshold tries again.
    (void)snapshot();
    lock.lock();
  }
}

template <typename T>
Result<T> MarketService::read(const std::function<T(const MarketState&)>& view) const {
  std::uint64_t seen = 0;
  std::optional<T> value;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    value.emplace(view(state_));
    seen = state_.last_seq;
  }
  Status durable = wal_->wait_durable(seen);
  CRITMIN_RETURN_IF_ERROR(durable);
  return std::move(*value);
}

LotSummary summarize(const Lot& l) {
  LotSummary s;
  s.id = l.id;
  s.kind = l.kind;
  s.phase = l.phase;
  s.tendered_demand_t = l.tendered_demand_t;
  s.name = l.name;
  s.material_id = l.material_id;
  s.stage = l.stage;
  s.reserve_price_usd_per_t = l.reserve_price_usd_per_t;
  s.reference_price_usd_per_t = l.reference_price_usd_per_t;
  s.tie_rule = l.tie_rule;
  s.certified_only = l.certified_only;
  s.club_only = l.club_only;
  s.delivery_day = l.delivery_day;
  s.period = l.period;
  s.orders_in_book = l.book.size();
  s.calls = l.calls.size();
  return s;
}

namespace {

Status no_lot(std::uint64_t lot_id) {
  return Status::not_found(fmt::format("lot {} does not exist", lot_id));
}

}  // namespace

Result<MarketCounts> MarketService::counts() const {
  return read<MarketCounts>([](const MarketState& s) {
    return MarketCounts{s.last_seq, s.participants.size(), s.lots.size(), s.contracts.size()};
  });
}

Result<std::vector<Participant>> MarketService::participants() const {
  return read<std::vector<Participant>>([](const MarketState& s) {
    std::vector<Participant> list;
    list.reserve(s.participants.size());
    for (const auto& [id, p] : s.participants) list.push_back(p);
    return list;
  });
}

Result<std::vector<Certificate>> MarketService::certificates() const {
  return read<std::vector<Certificate>>([](const MarketState& s) {
    std::vector<Certificate> list;
    list.reserve(s.certificates.size());
    for (const auto& [id, c] : s.certificates) list.push_back(c);
    return list;
  });
}

Result<std::vector<LotSummary>> MarketService::lots() const {
  return read<std::vector<LotSummary>>([](const MarketState& s) {
    std::vector<LotSummary> list;
    list.reserve(s.lots.size());
    for (const auto& [id, l] : s.lots) list.push_back(summarize(l));
    return list;
  });
}

Result<LotSummary> MarketService::lot(std::uint64_t lot_id) const {
  Result<std::optional<LotSummary>> found =
      read<std::optional<LotSummary>>([lot_id](const MarketState& s) {
        auto it = s.lots.find(lot_id);
        return it == s.lots.end() ? std::nullopt : std::optional(summarize(it->second));
      });
  CRITMIN_RETURN_IF_ERROR(found);
  if (!found.value()) return no_lot(lot_id);
  return std::move(*found.value());
}

Result<OrderPage> MarketService::orders(std::uint64_t lot_id, std::uint64_t viewer,
                                        std::uint64_t after, std::size_t limit) const {
  Result<std::optional<OrderPage>> page =
      read<std::optional<OrderPage>>([&](const MarketState& s) -> std::optional<OrderPage> {
        auto it = s.lots.find(lot_id);
        if (it == s.lots.end()) return std::nullopt;
        OrderPage result;
        result.lot_id = lot_id;
        result.period = it->second.period;
        const std::vector<BookOrder>& book = it->second.book;
        // The book is in order of id (new orders are appended, a clearing keeps the order of
        // what rolls over), so a page starts by binary search.
        auto o = std::upper_bound(
            book.begin(), book.end(), after,
            [](std::uint64_t order_id, const BookOrder& b) { return order_id < b.id; });
        for (; o != book.end(); ++o) {
          if (viewer != 0 && o->participant_id != viewer) continue;
          if (result.orders.size() == limit) {
            result.next_after = result.orders.back().id;
            break;
          }
          result.orders.push_back(*o);
        }
        return result;
      });
  CRITMIN_RETURN_IF_ERROR(page);
  if (!page.value()) return no_lot(lot_id);
  return std::move(*page.value());
}

Result<std::vector<CallRecord>> MarketService::calls(std::uint64_t lot_id, std::uint64_t viewer,
                                                     std::uint64_t after, std::size_t limit) const {
  using Calls = std::optional<std::vector<CallRecord>>;
  Result<Calls> calls = read<Calls>([&](const MarketState& s) -> Calls {
    auto it = s.lots.find(lot_id);
    if (it == s.lots.end()) return std::nullopt;
    std::vector<CallRecord> list;
    // Calls are kept in order of period, one per period.
    for (const CallRecord& c : it->second.calls) {
      if (c.period <= after) continue;
      if (list.size() == limit) break;
      CallRecord copy = c;
      if (viewer != 0) {
        copy.fills.clear();
        for (const FillRecord& f : c.fills) {
          if (f.participant_id == viewer) copy.fills.push_back(f);
        }
      }
      list.push_back(std::move(copy));
    }
    return list;
  });
  CRITMIN_RETURN_IF_ERROR(calls);
  if (!calls.value()) return no_lot(lot_id);
  return std::move(*calls.value());
}

Result<std::vector<Contract>> MarketService::contracts(std::uint64_t viewer) const {
  return read<std::vector<Contract>>([viewer](const MarketState& s) {
    std::vector<Contract> list;
    for (const auto& [id, c] : s.contracts) {
      if (viewer == 0 || c.buyer_id == viewer || c.seller_id == viewer) list.push_back(c);
    }
    return list;
  });
}

Result<std::vector<PeriodSettled>> MarketService::settlements() const {
  return read<std::vector<PeriodSettled>>([](const MarketState& s) { return s.settlements; });
}

Result<MarketState> MarketService::state() const {
  return read<MarketState>([](const MarketState& s) { return s; });
}

Result<std::vector<AuditRecord>> MarketService::read_audit(std::uint64_t after,
                                                           std::size_t limit) const {
  std::vector<AuditRecord> tail;
  std::uint64_t paged = 0;
  std::uint64_t seen = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    paged = audit_paged_seq_;
    seen = state_.last_seq;
    // The tail holds exactly the entries after `paged`, in order.
    auto it = std::upper_bound(
        audit_tail_.begin(), audit_tail_.end(), after,
        [](std::uint64_t seq, const AuditRecord& record) { return seq < record.seq; });
    for (; it != audit_tail_.end() && tail.size() < limit; ++it) tail.push_back(*it);
  }
  std::vector<AuditRecord> page;
  if (after < paged) {
    // Entries up to `paged` are in the store for good: a later snapshot only adds to it.
    Result<std::vector<AuditRecord>> stored = store_->read_audit(after, paged, limit);
    CRITMIN_RETURN_IF_ERROR(stored);
    page = std::move(stored).value();
  }
  for (AuditRecord& record : tail) {
    if (page.size() >= limit) break;
    page.push_back(std::move(record));
  }
  // As every read: nothing is shown that a crash could take back.
  Status durable = wal_->wait_durable(seen);
  CRITMIN_RETURN_IF_ERROR(durable);
  return page;
}

std::size_t MarketService::audit_entries_in_memory() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return audit_tail_.size();
}

std::uint64_t MarketService::fsync_count() const { return wal_->fsync_count(); }

double MarketService::fsync_seconds() const { return wal_->fsync_seconds(); }

std::uint64_t MarketService::last_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_.last_seq;
}

}  // namespace critmin::service
