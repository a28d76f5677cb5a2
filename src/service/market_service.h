// The club market service: the state machine (market_state.h) behind the write-ahead log
// (wal.h), with the checks that turn a participant's request into an event.
//
// Every command runs the same path (commit()): under one lock it checks the request against
// the current state, builds the event, applies it and queues its log record; then, outside the
// lock, it waits for the group commit to make the record durable and only then returns. A
// rejected request leaves no trace: no event, no state change, no log record. Readers render
// under the lock and wait for durability of what they saw before answering, so no answer ever
// shows a state that a crash could take back.
//
// Recovery (open()): the newest snapshot (SQLite store), then every log record after it, in order;
// a torn tail of the newest segment is cut off (it was never acknowledged).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"
#include "service/market_state.h"
#include "service/snapshot_store.h"
#include "service/wal.h"

namespace critmin::service {

struct ServiceConfig {
  std::filesystem::path directory;  // the log (and the SQLite store); created when missing
  // Empty: snapshots in <directory>/market.sqlite. Else a libpq URL: snapshots in PostgreSQL.
  std::string postgres_url;
  // A snapshot is taken after this many events since the last one (0: only on request).
  std::uint64_t snapshot_every_events = 1'000'000;
  // Damage in the log (see wal.h) makes open() fail with a message that says where. With
  // `repair`, open() keeps every event up to the damage, moves the rest of the log aside into
  // <directory>/damaged-<first lost event>/ (never deleting it), records the lost range in
  // <directory>/lost-<first>-<last>.txt so that its sequence numbers and ids are never reused,
  // and says in RecoveryReport::repair what it could not keep.
  bool repair = false;
};

struct RecoveryReport {
  bool from_snapshot = false;
  std::uint64_t snapshot_seq = 0;
  std::uint64_t replayed_events = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t torn_bytes_truncated = 0;
  double seconds = 0.0;
  // Ranges of events lost to an earlier repair, skipped (lost-*.txt).
  std::uint64_t lost_events_skipped = 0;
  // What a repair did, one line each (empty when there was nothing to repair).
  std::vector<std::string> repair;
};

// What a participant asks for; the service validates every field.
struct NewParticipant {
  std::string name;
  std::string country_iso3;
  std::uint8_t roles = 0;
};
struct NewCertificate {
  std::uint64_t holder_id = 0;
  std::string facility;
  std::string material;  // id, name or alias
  std::string standard;
  std::string valid_from;  // YYYY-MM-DD
  std::string valid_to;    // YYYY-MM-DD
};
struct NewLot {
  std::string name;
  std::string material;
  std::string stage;
  std::optional<double> reserve_price_usd_per_t;
  std::optional<double> reference_price_usd_per_t;  // default: the reserve, else 0
  std::string tie_rule = "pro_rata";
  bool certified_only = false;
  bool club_only = true;
  bool joint_purchase = false;  // a joint-purchasing round instead of a periodic call lot
  std::string delivery_date;    // YYYY-MM-DD
};
struct NewOrder {
  std::uint64_t lot_id = 0;
  auction::Side side = auction::Side::kBuy;
  double price_usd_per_t = 0.0;
  double quantity_t = 0.0;
  std::uint64_t certificate_id = 0;
  std::string client_ref;
};
struct NewContract {
  ContractKind kind = ContractKind::kOfftake;
  std::string material;
  std::string stage;
  std::uint64_t buyer_id = 0;
  std::uint64_t seller_id = 0;
  settlement::OfftakeTerms offtake;
  settlement::SubsidyTerms subsidy;
  double volume_t_per_year = 0.0;
  std::int32_t start_year = 0;
  std::int32_t tenor_years = 0;
};
struct Delivery {
  std::uint64_t contract_id = 0;
  double volume_t = 0.0;
};
struct SettleRequest {
  std::string material;
  std::string stage;
  std::int32_t year = 0;
  std::optional<double> reference_price_usd_per_t;  // default: the latest clearing price
  std::vector<Delivery> deliveries;          // contracts not listed deliver their contracted volume
  std::optional<double> subsidy_budget_usd;  // cap on the period's subsidy payments
  settlement::BudgetRule budget_rule = settlement::BudgetRule::kProRata;
};

// ---- what the reads return (typed; the HTTP layer turns them into JSON) ---------------------

struct MarketCounts {
  std::uint64_t last_seq = 0;
  std::size_t participants = 0;
  std::size_t lots = 0;
  std::size_t contracts = 0;
};

// A lot without its book and calls (their sizes instead).
struct LotSummary {
  std::uint64_t id = 0;
  LotKind kind = LotKind::kCall;
  RoundPhase phase = RoundPhase::kDemand;
  double tendered_demand_t = 0.0;
  std::string name;
  std::string material_id;
  Stage stage = Stage::kProcessing;
  std::optional<double> reserve_price_usd_per_t;
  double reference_price_usd_per_t = 0.0;
  auction::TieRule tie_rule = auction::TieRule::kProRata;
  bool certified_only = false;
  bool club_only = true;
  std::int32_t delivery_day = 0;
  std::uint32_t period = 1;
  std::size_t orders_in_book = 0;
  std::size_t calls = 0;
};

LotSummary summarize(const Lot& lot);

// One page of a lot's book, in order of id.
struct OrderPage {
  std::uint64_t lot_id = 0;
  std::uint32_t period = 0;
  std::vector<BookOrder> orders;
  std::optional<std::uint64_t> next_after;  // the last id of this page when more follow
};

struct Registered {
  std::uint64_t id = 0;
  std::string token;  // shown once; only its hash is kept
};

class MarketService {
 public:
  // Recovers the state from `config.directory` and opens the log for new events.
  static Result<std::unique_ptr<MarketService>> open(const ServiceConfig& config,
                                                     std::shared_ptr<const Dataset> dataset);
  ~MarketService();

  const RecoveryReport& recovery() const { return recovery_; }

  // The participant holding `token`, or nullopt. Every request calls this, so answers come
  // from a cache of token hashes under a reader lock rather than from the state under the lock
  // every command holds; the cache stays exact because a participant, once registered, never
  // changes or leaves the market (a future revocation must erase its entry).
  std::optional<Participant> authenticate(std::string_view token) const;

  // Commands. `actor` is the authenticated participant (0 for the bootstrap operator). Each
  // returns after the event is durable; errors leave the state unchanged. Role checks are the
  // caller's (the HTTP layer) except where the rule depends on the state (eligibility).
  Result<Registered> register_participant(std::uint64_t actor, const NewParticipant& request);
  Result<std::uint64_t> issue_certificate(std::uint64_t actor, const NewCertificate& request);
  Result<std::uint64_t> open_lot(std::uint64_t actor, const NewLot& request);
  Result<std::uint64_t> submit_order(std::uint64_t actor, const NewOrder& request);
  // The event-driven form of submit_order, for a front end that must not block (the HTTP event
  // loop): checks, applies and queues the order exactly like submit_order, but returns at once,
  // before the record is durable, with the order's id and its event's sequence number. The
  // caller must not acknowledge the order before when_durable(seq) reported it durable. A
  // rejected order leaves the state unchanged, as in every command.
  struct QueuedOrder {
    std::uint64_t id = 0;
    std::uint64_t seq = 0;
  };
  Result<QueuedOrder> submit_order_queued(std::uint64_t actor, const NewOrder& request);
  // Calls `done` exactly once: with ok when event `seq` is durable, or with the log's error
  // (which stops the service, as a failed wait does in any command). It runs at once on the
  // calling thread when the event is durable already, else on the log's writer thread right
  // after the fdatasync (WalWriter::when_durable): keep it quick and do not call the service.
  void when_durable(std::uint64_t seq, std::function<void(const Status&)> done);
  // Up to 1000 orders at once, all or nothing: one event per order, acknowledged together after
  // one group commit. Errors name the failing order's index.
  Result<std::vector<std::uint64_t>> submit_orders(std::uint64_t actor,
                                                   const std::vector<NewOrder>& requests);
  // Clears the current call of a lot; for a joint-purchasing round, matches the tendered demand
  // with the offers and closes the round. Returns the call's summary: `fills` empty,
  // `fill_count` set (the fills are in the state, GET .../calls).
  Result<CallRecord> clear_lot(std::uint64_t actor, std::uint64_t lot_id);
  // Closes the demand phase of a joint-purchasing round and tenders the aggregated demand [t].
  Result<double> tender_round(std::uint64_t actor, std::uint64_t lot_id);
  Result<std::uint64_t> register_contract(std::uint64_t actor, const NewContract& request);
  Result<PeriodSettled> settle_period(std::uint64_t actor, const SettleRequest& request);
  // Ends a contract early: in force up to and including `last_year` (from the year before its
  // start, which cancels it, to the year before its current last year). Refused when a period
  // after `last_year` is settled already with the contract in it. Audited as an event with
  // `reason`. Returns the contract as it now stands.
  Result<Contract> terminate_contract(std::uint64_t actor, std::uint64_t contract_id,
                                      std::int32_t last_year, const std::string& reason);

  // Writes a snapshot of the current state (and the query tables) into the SQLite store and
  // drops the log segments it makes obsolete.
  Status snapshot();

  // Reads. Each copies what it returns under the lock and returns after everything it saw is
  // durable, so no answer shows a state that a crash could take back. `viewer` 0 sees every
  // participant's orders, fills and contracts; another id only its own.
  Result<MarketCounts> counts() const;
  Result<std::vector<Participant>> participants() const;
  Result<std::vector<Certificate>> certificates() const;
  Result<std::vector<LotSummary>> lots() const;
  // kNotFound when the lot does not exist.
  Result<LotSummary> lot(std::uint64_t lot_id) const;
  // Up to `limit` orders of the current call with ids after `after`.
  Result<OrderPage> orders(std::uint64_t lot_id, std::uint64_t viewer, std::uint64_t after,
                           std::size_t limit) const;
  // Up to `limit` calls of periods after `after`, in order of period; fills of other
  // participants are left out for a viewer other than 0.
  Result<std::vector<CallRecord>> calls(std::uint64_t lot_id, std::uint64_t viewer,
                                        std::uint64_t after, std::size_t limit) const;
  Result<std::vector<Contract>> contracts(std::uint64_t viewer) const;
  Result<std::vector<PeriodSettled>> settlements() const;
  // A copy of the whole state (for tests and tools; a large market copies a lot).
  Result<MarketState> state() const;

  // The audit log: up to `limit` entries after event `after`, in order. Entries up to the last
  // snapshot come from the snapshot store, later ones from memory, so memory holds only the
  // entries since the last snapshot. Returns after everything it saw is durable.
  Result<std::vector<AuditRecord>> read_audit(std::uint64_t after, std::size_t limit) const;
  // How many audit entries memory holds (those after the last snapshot); for tests.
  std::size_t audit_entries_in_memory() const;

  // Counters for benchmarks and the status endpoint.
  std::uint64_t fsync_count() const;
  double fsync_seconds() const;
  std::uint64_t last_seq() const;

 private:
  MarketService() = default;

  // The one path of every command (see the header comment). `decide` returns the event body or
  // the reason the request is rejected; `answer` extracts the reply from the state right after
  // the event was applied.
  template <typename Answer>
  Result<Answer> commit(std::uint64_t actor,
                        const std::function<Result<EventBody>(const MarketState&)>& decide,
                        const std::function<Answer(const MarketState&, const Event&)>& answer);
  // The first half of commit(): decide, apply and queue the record under the lock, and return
  // the answer with the event's sequence number, without waiting for durability.
  template <typename Answer>
  Result<std::pair<Answer, std::uint64_t>> commit_queued(
      std::uint64_t actor, const std::function<Result<EventBody>(const MarketState&)>& decide,
      const std::function<Answer(const MarketState&, const Event&)>& answer);

  Result<std::string> resolve_material(std::string_view name) const;
  // Runs `view` on the state under the lock and returns its result once everything the view
  // saw is durable.
  template <typename T>
  Result<T> read(const std::function<T(const MarketState&)>& view) const;
  // Asks the snapshot thread for a snapshot when `seq` is snapshot_every_events past the last
  // one; requests never wait for a snapshot.
  void maybe_snapshot(std::uint64_t seq);
  // Keeps the events up to the damage, moves the log from there on aside and skips the lost
  // range for good (ServiceConfig::repair). `damaged` indexes `segments`; `missing`: the damage
  // is a gap before that segment, else bytes from `at_byte` on in it (`scan` describes them).
  Status repair_log(const std::vector<SegmentFile>& segments, std::size_t damaged, bool missing,
                    std::uint64_t at_byte, const SegmentScan& scan, const std::string& where);
  void run_snapshotter();

  // The exclusive lock on the directory (<directory>/LOCK), held for the service's life. First
  // member, so released last, after the log and the store are closed.
  struct DirectoryLock {
    int fd = -1;
    DirectoryLock() = default;
    DirectoryLock(const DirectoryLock&) = delete;
    DirectoryLock& operator=(const DirectoryLock&) = delete;
    ~DirectoryLock();
  };
  DirectoryLock lock_;
  ServiceConfig config_;
  std::shared_ptr<const Dataset> dataset_;
  std::set<std::string> club_members_;
  mutable std::mutex mutex_;  // orders every state change and every read
  MarketState state_;
  // The audit entries after audit_paged_seq_ (those up to it are in the store); under mutex_.
  std::deque<AuditRecord> audit_tail_;
  std::uint64_t audit_paged_seq_ = 0;
  std::unique_ptr<WalWriter> wal_;
  // Token hash -> participant, filled on first use (see authenticate()).
  mutable std::shared_mutex token_cache_mutex_;
  mutable std::unordered_map<TokenHash, Participant, TokenHashHasher> token_cache_;
  std::unique_ptr<SnapshotStore> store_;  // snapshots and query tables
  std::atomic<bool> failed_{false};       // the log failed: refuse everything
  std::mutex snapshot_mutex_;             // one snapshot at a time
  std::atomic<std::uint64_t> snapshot_seq_{0};
  std::mutex snapshotter_mutex_;
  std::condition_variable snapshotter_wake_;
  bool snapshot_wanted_ = false;
  bool snapshotter_stopping_ = false;
  std::thread snapshotter_;  // takes automatic snapshots off the request path
  RecoveryReport recovery_;
};

// A fresh API token (32 random bytes, hex, prefixed "cm_") and its hash.
std::string new_token();
TokenHash hash_token(std::string_view token);

}  // namespace critmin::service
