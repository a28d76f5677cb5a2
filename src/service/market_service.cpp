// The market service: request checks, the commit path, recovery and snapshots (see
// market_service.h).
#include "service/market_service.h"

#include <fmt/format.h>
#include <sodium.h>

#include "service/postgres_store.h"
#include "service/sqlite_store.h"

#include <algorithm>
#include <chrono>
#include <cmath>
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

Status check_price(double value, const char* field) {
  if (!std::isfinite(value) || value <= 0.0 || value > kMaxPriceUsdPerT) {
    return invalid(field, fmt::format("is {}; give a price in USD per tonne above 0 and at most {}",
                                      value, kMaxPriceUsdPerT));
  }
  return Status::ok();
}

Status check_quantity(double value, const char* field) {
  if (!std::isfinite(value) || value <= 0.0 || value > kMaxQuantityT) {
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

Result<std::int32_t> check_date(const std::string& text, const char* field) {
  const std::optional<std::int32_t> day = parse_day(text);
  if (!day) return invalid(field, fmt::format("'{}' is not a date; write YYYY-MM-DD", text));
  return *day;
}

const Participant* find_participant(const MarketState& state, std::uint64_t id) {
  auto it = state.participants.find(id);
  return it == state.participants.end() ? nullptr : &it->second;
}

}  // namespace

Result<std::string> MarketService::resolve_material(std::string_view name) const {
  const Material* material = dataset_->find_material(name);
  if (!material) {
    return Status::invalid_input(
        fmt::format("material: '{}' is not a material of the dataset; use an id such as gallium or "
                    "natural_graphite (critmin data info lists them)",
                    name));
  }
  return material->id;
}

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

  Result<std::vector<SegmentFile>> segments = list_segments(config.directory);
  CRITMIN_RETURN_IF_ERROR(segments);
  for (std::size_t i = 0; i < segments.value().size(); ++i) {
    const SegmentFile& segment = segments.value()[i];
    const bool newest = i + 1 == segments.value().size();
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
    if (scan.value().zero_tail && newest) {
      // The writer's preallocated space after its last record (it crashed or was killed).
      Status truncated = truncate_segment(segment.path, scan.value().valid_bytes);
      CRITMIN_RETURN_IF_ERROR(truncated);
    } else if (scan.value().torn_tail || scan.value().zero_tail) {
      if (!newest) {
        return Status::io_error(
            fmt::format("{} is damaged after {} bytes and is not the newest segment; restore the "
                        "directory from a backup",
                        segment.path.string(), scan.value().valid_bytes));
      }
      const std::uintmax_t size = std::filesystem::file_size(segment.path, error);
      report.torn_bytes_truncated = error ? 0 : size - scan.value().valid_bytes;
      Status truncated = truncate_segment(segment.path, scan.value().valid_bytes);
      CRITMIN_RETURN_IF_ERROR(truncated);
    }
  }
  report.last_seq = state.last_seq;
  Result<std::unique_ptr<WalWriter>> wal = WalWriter::open(config.directory, state.last_seq + 1);
  CRITMIN_RETURN_IF_ERROR(wal);
  service->wal_ = std::move(wal).value();
  service->snapshotter_ = std::thread([s = service.get()] { s->run_snapshotter(); });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return service;
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
    return invalid("country", fmt::format("'{}' is not a country of the dataset; give an ISO 3166 "
                                          "alpha-3 code in capitals such as DEU or USA",
                                          iso3));
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
    if (terms.start_year < 1990 || terms.start_year > 2200) {
      return invalid("start_year",
                     fmt::format("is {}; give a year between 1990 and 2200", terms.start_year));
    }
    if (terms.tenor_years < 1 || terms.tenor_years > 100) {
      return invalid("tenor_years", fmt::format("is {}; give 1 to 100 years", terms.tenor_years));
    }
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
    if (request.start_year < 1990 || request.start_year > 2200) {
      return invalid("start_year",
                     fmt::format("is {}; give a year between 1990 and 2200", request.start_year));
    }
    if (request.tenor_years < 1 || request.tenor_years > 100) {
      return invalid("tenor_years", fmt::format("is {}; give 1 to 100 years", request.tenor_years));
    }
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
  if (request.year < 1990 || request.year > 2200) {
    return invalid("year", fmt::format("is {}; give a year between 1990 and 2200", request.year));
  }
  if (request.reference_price_usd_per_t) {
    if (Status s = check_price(*request.reference_price_usd_per_t, "reference_price_usd_per_t");
        !s.is_ok()) {
      return s;
    }
  }
  for (const Delivery& d : request.deliveries) {
    if (!std::isfinite(d.volume_t) || d.volume_t < 0.0 || d.volume_t > kMaxQuantityT) {
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
        return EventBody(std::move(settled));
      },
      [](const MarketState&, const Event& e) { return std::get<PeriodSettled>(e.body); });
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

Result<std::string> MarketService::read(
    const std::function<std::string(const MarketState&)>& render) const {
  std::string text;
  std::uint64_t seen = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    text = render(state_);
    seen = state_.last_seq;
  }
  Status durable = wal_->wait_durable(seen);
  CRITMIN_RETURN_IF_ERROR(durable);
  return text;
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
