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
};

struct RecoveryReport {
  bool from_snapshot = false;
  std::uint64_t snapshot_seq = 0;
  std::uint64_t replayed_events = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t torn_bytes_truncated = 0;
  double seconds = 0.0;
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

  // Writes a snapshot of the current state (and the query tables) into the SQLite store and
  // drops the log segments it makes obsolete.
  Status snapshot();

  // Runs `render` on the state under the lock and returns after everything it saw is durable.
  Result<std::string> read(const std::function<std::string(const MarketState&)>& render) const;

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
  // Asks the snapshot thread for a snapshot when `seq` is snapshot_every_events past the last
  // one; requests never wait for a snapshot.
  void maybe_snapshot(std::uint64_t seq);
  void run_snapshotter();

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
