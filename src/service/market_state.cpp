// The market state machine: apply_event and the binary form of events and state.
#include "service/market_state.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <type_traits>

#include "service/codec.h"

namespace critmin::service {

const char* role_name(Role role) {
  switch (role) {
    case kOperator:
      return "operator";
    case kBuyer:
      return "buyer";
    case kSeller:
      return "seller";
    case kCertifier:
      return "certifier";
    case kAuditor:
      return "auditor";
  }
  return "unknown";
}

std::optional<Role> parse_role(std::string_view name) {
  for (Role role : {kOperator, kBuyer, kSeller, kCertifier, kAuditor}) {
    if (name == role_name(role)) return role;
  }
  return std::nullopt;
}

std::vector<std::string> role_names(std::uint8_t roles) {
  std::vector<std::string> names;
  for (Role role : {kOperator, kBuyer, kSeller, kCertifier, kAuditor}) {
    if (roles & role) names.emplace_back(role_name(role));
  }
  return names;
}

const char* lot_kind_name(LotKind kind) {
  return kind == LotKind::kCall ? "call" : "joint_purchase";
}

const char* round_phase_name(RoundPhase phase) {
  switch (phase) {
    case RoundPhase::kDemand:
      return "demand";
    case RoundPhase::kTender:
      return "tender";
    case RoundPhase::kClosed:
      return "closed";
  }
  return "unknown";
}

const char* event_type_name(const EventBody& body) {
  struct Namer {
    const char* operator()(const ParticipantRegistered&) const { return "participant_registered"; }
    const char* operator()(const CertificateIssued&) const { return "certificate_issued"; }
    const char* operator()(const LotOpened&) const { return "lot_opened"; }
    const char* operator()(const OrderSubmitted&) const { return "order_submitted"; }
    const char* operator()(const LotCleared&) const { return "lot_cleared"; }
    const char* operator()(const ContractRegistered&) const { return "contract_registered"; }
    const char* operator()(const PeriodSettled&) const { return "period_settled"; }
    const char* operator()(const RoundTendered&) const { return "round_tendered"; }
    const char* operator()(const ContractTerminated&) const { return "contract_terminated"; }
  };
  return std::visit(Namer{}, body);
}

std::size_t TokenHashHasher::operator()(const TokenHash& hash) const {
  std::size_t value;
  std::memcpy(&value, hash.data(), sizeof value);  // the hash is uniformly distributed already
  return value;
}

std::optional<std::int32_t> parse_day(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto digits = [&](std::size_t from, std::size_t count) -> std::optional<int> {
    int value = 0;
    for (std::size_t i = from; i < from + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const auto year = digits(0, 4);
  const auto month = digits(5, 2);
  const auto day = digits(8, 2);
  if (!year || !month || !day) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok()) return std::nullopt;
  return static_cast<std::int32_t>(std::chrono::sys_days(date).time_since_epoch().count());
}

std::string format_day(std::int32_t day) {
  const std::chrono::year_month_day date{std::chrono::sys_days(std::chrono::days(day))};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

// ---- binary form ------------------------------------------------------------------------------
// One field list per struct, `fields(io, value)`, serves both directions: Writer encodes, Reader
// decodes. Adding a field to a struct means adding it to its list once.

namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : encoder_(out) {}
  void operator()(std::uint8_t v) { encoder_.u8(v); }
  void operator()(std::uint32_t v) { encoder_.u32(v); }
  void operator()(std::uint64_t v) { encoder_.u64(v); }
  void operator()(std::int32_t v) { encoder_.i32(v); }
  void operator()(std::int64_t v) { encoder_.i64(v); }
  void operator()(double v) { encoder_.f64(v); }
  void operator()(bool v) { encoder_.boolean(v); }
  void operator()(const std::string& v) { encoder_.str(v); }
  void operator()(const std::optional<double>& v) {
    encoder_.boolean(v.has_value());
    if (v) encoder_.f64(*v);
  }
  template <typename E>
  requires std::is_enum_v<E>
  void enumeration(E v, std::uint8_t /*count*/) { encoder_.u8(static_cast<std::uint8_t>(v)); }
  void operator()(const TokenHash& v) {
    for (std::uint8_t b : v) encoder_.u8(b);
  }
  template <typename T>
  void list(const std::vector<T>& items, std::size_t /*min_item_bytes*/) {
    encoder_.u64(items.size());
    for (const T& item : items) fields(*this, const_cast<T&>(item));
  }
  static constexpr bool kReading = false;

 private:
  Encoder encoder_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : decoder_(in) {}
  void operator()(std::uint8_t& v) { v = decoder_.u8(); }
  void operator()(std::uint32_t& v) { v = decoder_.u32(); }
  void operator()(std::uint64_t& v) { v = decoder_.u64(); }
  void operator()(std::int32_t& v) { v = decoder_.i32(); }
  void operator()(std::int64_t& v) { v = decoder_.i64(); }
  void operator()(double& v) { v = decoder_.f64(); }
  void operator()(bool& v) { v = decoder_.boolean(); }
  void operator()(std::string& v) { v = decoder_.str(); }
  void operator()(std::optional<double>& v) {
    if (decoder_.boolean()) {
      v = decoder_.f64();
    } else {
      v.reset();
    }
  }
  template <typename E>
  requires std::is_enum_v<E>
  void enumeration(E& v, std::uint8_t count) {
    const std::uint8_t raw = decoder_.u8();
    if (raw >= count) decoder_.fail();
    v = static_cast<E>(raw);
  }
  void operator()(TokenHash& v) {
    for (std::uint8_t& b : v) b = decoder_.u8();
  }
  template <typename T>
  void list(std::vector<T>& items, std::size_t min_item_bytes) {
    const std::size_t n = decoder_.count(min_item_bytes);
    items.clear();
    items.resize(n);
    for (T& item : items) fields(*this, item);
  }
  bool ok() const { return decoder_.ok(); }
  bool at_end() const { return decoder_.at_end(); }
  Decoder& decoder() { return decoder_; }
  static constexpr bool kReading = true;

 private:
  Decoder decoder_;
};

// Explicitly instantiated field lists (Writer takes const data through const_cast in list();
// it only reads).
template <typename Io>
void fields(Io& io, Participant& v) {
  io(v.id);
  io(v.name);
  io(v.country_iso3);
  io(v.roles);
  io(v.club_member);
  io(v.token_hash);
}

template <typename Io>
void fields(Io& io, Certificate& v) {
  io(v.id);
  io(v.holder_id);
  io(v.certifier_id);
  io(v.facility);
  io(v.material_id);
  io(v.standard);
  io(v.valid_from_day);
  io(v.valid_to_day);
}

template <typename Io>
void fields(Io& io, BookOrder& v) {
  io(v.id);
  io(v.participant_id);
  io.enumeration(v.side, 2);
  io(v.price_usd_per_t);
  io(v.quantity_t);
  io(v.time);
  io(v.certificate_id);
  io(v.club_member);
  io(v.client_ref);
}

template <typename Io>
void fields(Io& io, FillRecord& v) {
  io(v.order_id);
  io(v.participant_id);
  io.enumeration(v.side, 2);
  io(v.limit_price_usd_per_t);
  io(v.filled_t);
  io(v.levy_usd);
}

template <typename Io>
void fields(Io& io, CallRecord& v) {
  io(v.period);
  io(v.seq);
  io(v.time_ms);
  io.enumeration(v.outcome, 4);
  io(v.clearing_price_usd_per_t);
  io(v.executed_volume_t);
  io(v.demand_at_price_t);
  io(v.supply_at_price_t);
  io(v.reserve_binding);
  io(v.orders);
  io(v.rolled_over_asks);
  io(v.rolled_over_t);
  io(v.levy_total_usd);
  io.list(v.fills, 40);
}

template <typename Io>
void fields(Io& io, Lot& v) {
  io(v.id);
  io.enumeration(v.kind, 2);
  io.enumeration(v.phase, 3);
  io(v.tendered_demand_t);
  io(v.name);
  io(v.material_id);
  io.enumeration(v.stage, 2);
  io(v.reserve_price_usd_per_t);
  io(v.reference_price_usd_per_t);
  io.enumeration(v.tie_rule, 2);
  io(v.certified_only);
  io(v.club_only);
  io(v.delivery_day);
  io(v.period);
  io.list(v.book, 50);
  io.list(v.calls, 60);
}

template <typename Io>
void fields(Io& io, settlement::OfftakeTerms& v) {
  io.enumeration(v.price.kind, 2);
  io(v.price.fixed_usd_per_t);
  io(v.price.index_factor);
  io(v.price.adder_usd_per_t);
  io(v.price.floor_usd_per_t);
  io(v.price.cap_usd_per_t);
  io(v.volume_t_per_year);
  static_assert(std::is_same_v<int, std::int32_t>, "years are stored as 32-bit integers");
  io(v.start_year);
  io(v.tenor_years);
  io(v.take_or_pay_share);
}

template <typename Io>
void fields(Io& io, settlement::SubsidyTerms& v) {
  io.enumeration(v.kind, 3);
  io(v.strike_usd_per_t);
  io(v.upside_share);
  io(v.upside_threshold_usd_per_t);
  io(v.premium_usd_per_t);
}

template <typename Io>
void fields(Io& io, Contract& v) {
  io(v.id);
  io.enumeration(v.kind, 2);
  io(v.material_id);
  io.enumeration(v.stage, 2);
  io(v.buyer_id);
  io(v.seller_id);
  fields(io, v.offtake);
  fields(io, v.subsidy);
  io(v.volume_t_per_year);
  io(v.start_year);
  io(v.tenor_years);
}

template <typename Io>
void fields(Io& io, SettlementEntry& v) {
  io(v.contract_id);
  io.enumeration(v.kind, 2);
  io(v.year);
  io(v.reference_price_usd_per_t);
  io(v.volume_t);
  io(v.contract_price_usd_per_t);
  io(v.take_or_pay_shortfall_t);
  io(v.payment_usd);
  io(v.claimed_usd);
  io(v.buyer_gain_vs_market_usd);
}

template <typename Io>
void fields(Io& io, PeriodSettled& v) {
  io(v.material_id);
  io.enumeration(v.stage, 2);
  io(v.year);
  io(v.reference_price_usd_per_t);
  io(v.subsidy_budget_usd);
  io.enumeration(v.budget_rule, 2);
  io(v.budget_binding);
  io.list(v.entries, 60);
}

template <typename Io>
void fields(Io& io, AuditRecord& v) {
  io(v.seq);
  io(v.event);
}

template <typename Io>
void fields(Io& io, ParticipantRegistered& v) {
  fields(io, v.participant);
}
template <typename Io>
void fields(Io& io, CertificateIssued& v) {
  fields(io, v.certificate);
}
template <typename Io>
void fields(Io& io, LotOpened& v) {
  fields(io, v.lot);
}
template <typename Io>
void fields(Io& io, OrderSubmitted& v) {
  io(v.lot_id);
  fields(io, v.order);
}
template <typename Io>
void fields(Io& io, LotCleared& v) {
  io(v.lot_id);
}
template <typename Io>
void fields(Io& io, RoundTendered& v) {
  io(v.lot_id);
  io(v.aggregated_demand_t);
}
template <typename Io>
void fields(Io& io, ContractRegistered& v) {
  fields(io, v.contract);
}
template <typename Io>
void fields(Io& io, ContractTerminated& v) {
  io(v.contract_id);
  io(v.last_year);
  io(v.reason);
}

constexpr std::uint8_t kEventFormat = 1;
// Format 1 also held the audit log; format 2 leaves it to the snapshot store.
constexpr std::uint8_t kStateFormat = 2;
constexpr std::uint8_t kStateFormatWithAudit = 1;

template <std::size_t I = 0>
void decode_body(Reader& reader, std::size_t index, EventBody& body) {
  if constexpr (I < std::variant_size_v<EventBody>) {
    if (index == I) {
      std::variant_alternative_t<I, EventBody> value;
      fields(reader, value);
      body = std::move(value);
      return;
    }
    decode_body<I + 1>(reader, index, body);
  } else {
    reader.decoder().fail();
  }
}

}  // namespace

std::string encode_event(const Event& event) {
  std::string out;
  out.reserve(96);
  Writer writer(out);
  writer(kEventFormat);
  writer(event.seq);
  writer(event.time_ms);
  writer(event.actor_id);
  writer(static_cast<std::uint8_t>(event.body.index()));
  std::visit(
      [&](const auto& body) { fields(writer, const_cast<std::decay_t<decltype(body)>&>(body)); },
      event.body);
  return out;
}

Result<Event> decode_event(std::string_view bytes) {
  Reader reader(bytes);
  std::uint8_t format = 0;
  reader(format);
  if (format != kEventFormat) {
    return Status::internal(
        fmt::format("event format {} is not {}; this log was written by "
                    "another version of critmin",
                    format, kEventFormat));
  }
  Event event;
  reader(event.seq);
  reader(event.time_ms);
  reader(event.actor_id);
  std::uint8_t index = 0;
  reader(index);
  decode_body(reader, index, event.body);
  if (!reader.ok() || !reader.at_end()) {
    return Status::internal("an event record does not decode (damaged or foreign log)");
  }
  return event;
}

std::string encode_state(const MarketState& state) {
  std::string out;
  Writer writer(out);
  writer(kStateFormat);
  writer(state.last_seq);
  writer(state.next_id);
  auto write_map = [&](const auto& map) {
    writer(static_cast<std::uint64_t>(map.size()));
    for (const auto& [id, value] : map) {
      fields(writer, const_cast<std::decay_t<decltype(value)>&>(value));
    }
  };
  write_map(state.participants);
  write_map(state.certificates);
  write_map(state.lots);
  write_map(state.contracts);
  writer.list(state.settlements, 20);
  writer(static_cast<std::uint64_t>(state.last_clearing_price_usd_per_t.size()));
  for (const auto& [key, price] : state.last_clearing_price_usd_per_t) {
    writer(key.first);
    writer(key.second);
    writer(price);
  }
  return out;
}

Result<MarketState> decode_state(std::string_view bytes, std::vector<AuditRecord>* legacy_audit) {
  Reader reader(bytes);
  std::uint8_t format = 0;
  reader(format);
  if (format != kStateFormat && format != kStateFormatWithAudit) {
    return Status::internal(fmt::format("snapshot format {} is not {}", format, kStateFormat));
  }
  MarketState state;
  reader(state.last_seq);
  reader(state.next_id);
  auto read_map = [&](auto& map, std::size_t min_bytes) {
    const std::size_t n = reader.decoder().count(min_bytes);
    for (std::size_t i = 0; i < n && reader.ok(); ++i) {
      typename std::decay_t<decltype(map)>::mapped_type value;
      fields(reader, value);
      map.emplace(value.id, std::move(value));
    }
  };
  read_map(state.participants, 40);
  read_map(state.certificates, 40);
  read_map(state.lots, 40);
  read_map(state.contracts, 40);
  reader.list(state.settlements, 20);
  const std::size_t prices = reader.decoder().count(13);
  for (std::size_t i = 0; i < prices && reader.ok(); ++i) {
    std::string material;
    std::uint8_t stage = 0;
    double price = 0.0;
    reader(material);
    reader(stage);
    reader(price);
    state.last_clearing_price_usd_per_t[{material, stage}] = price;
  }
  if (format == kStateFormatWithAudit) {
    std::vector<AuditRecord> audit;
    reader.list(audit, 12);
    if (legacy_audit) *legacy_audit = std::move(audit);
  }
  if (!reader.ok() || !reader.at_end()) {
    return Status::internal("the snapshot does not decode (damaged or foreign file)");
  }
  for (const auto& [id, participant] : state.participants) {
    state.participant_by_token[participant.token_hash] = id;
  }
  return state;
}

// ---- apply ------------------------------------------------------------------------------------

namespace {

Status contradiction(const Event& event, const std::string& what) {
  return Status::internal(fmt::format("event {} ({}) does not fit the state: {}", event.seq,
                                      event_type_name(event.body), what));
}

// Clears the current call of a lot: runs the auction on the book, books fills and levies, and
// rolls unsold asks (with their original time) into the next period.
Status clear_lot(Lot& lot, const Event& event, MarketState& state) {
  std::vector<auction::Order> orders;
  orders.reserve(lot.book.size());
  for (const BookOrder& o : lot.book) {
    orders.push_back({o.id, o.side, o.price_usd_per_t, o.quantity_t, o.time});
  }
  auction::AuctionRules rules;
  rules.reserve_price_usd_per_t = lot.reserve_price_usd_per_t;
  rules.reference_price_usd_per_t = lot.reference_price_usd_per_t;
  rules.tie_rule = lot.tie_rule;
  Result<auction::AuctionResult> cleared = auction::clear_call_auction(orders, rules);
  if (!cleared.is_ok()) return contradiction(event, cleared.status().to_string());
  const auction::AuctionResult& result = cleared.value();

  CallRecord call;
  call.period = lot.period;
  call.seq = event.seq;
  call.time_ms = event.time_ms;
  call.outcome = result.outcome;
  call.clearing_price_usd_per_t = result.clearing_price_usd_per_t;
  call.executed_volume_t = result.executed_volume_t;
  call.demand_at_price_t = result.demand_at_price_t;
  call.supply_at_price_t = result.supply_at_price_t;
  call.reserve_binding = result.reserve_binding;
  call.orders = lot.book.size();
  // Size both outputs first: with a million orders, growing them by doubling costs more than the
  // auction (copies and fresh pages).
  std::size_t filled = 0;
  std::size_t to_roll = 0;
  for (std::size_t i = 0; i < lot.book.size(); ++i) {
    if (result.fills[i].filled_t > 0.0) ++filled;
    if (lot.book[i].side == auction::Side::kSell && result.fills[i].remaining_t > 0.0) ++to_roll;
  }
  call.fills.reserve(filled);
  std::vector<BookOrder> next_book;
  next_book.reserve(lot.kind == LotKind::kCall ? to_roll : 0);
  for (std::size_t i = 0; i < lot.book.size(); ++i) {
    const BookOrder& order = lot.book[i];
    const auction::OrderFill& fill = result.fills[i];
    if (fill.filled_t > 0.0) {
      FillRecord record{
          order.id, order.participant_id, order.side, order.price_usd_per_t, fill.filled_t, 0.0};
      if (order.side == auction::Side::kSell && !order.club_member && lot.reserve_price_usd_per_t) {
        // Non-member supply pays the variable levy that lifts its offer to the floor.
        Result<double> levy =
            settlement::variable_levy_per_t(*lot.reserve_price_usd_per_t, order.price_usd_per_t);
        if (!levy.is_ok()) return contradiction(event, levy.status().to_string());
        record.levy_usd = levy.value() * fill.filled_t;
        call.levy_total_usd += record.levy_usd;
      }
      call.fills.push_back(record);
    }
    if (lot.kind == LotKind::kCall && order.side == auction::Side::kSell &&
        fill.remaining_t > 0.0) {
      BookOrder rolled = order;
      rolled.quantity_t = fill.remaining_t;
      call.rolled_over_t += fill.remaining_t;
      ++call.rolled_over_asks;
      next_book.push_back(std::move(rolled));
    }
  }
  if (result.clearing_price_usd_per_t) {
    state.last_clearing_price_usd_per_t[{lot.material_id, static_cast<std::uint8_t>(lot.stage)}] =
        *result.clearing_price_usd_per_t;
  }
  lot.book = std::move(next_book);
  lot.calls.push_back(std::move(call));
  ++lot.period;
  if (lot.kind == LotKind::kJointPurchase) lot.phase = RoundPhase::kClosed;
  return Status::ok();
}

void take_id(MarketState& state, std::uint64_t id) {
  if (id >= state.next_id) state.next_id = id + 1;
}

}  // namespace

Status apply_event(MarketState& state, const Event& event) {
  if (event.seq != state.last_seq + 1) {
    return contradiction(event, fmt::format("expected sequence number {}", state.last_seq + 1));
  }
  struct Applier {
    MarketState& state;
    const Event& event;
    Status operator()(const ParticipantRegistered& e) {
      if (state.participants.count(e.participant.id)) return contradiction(event, "id in use");
      state.participants[e.participant.id] = e.participant;
      state.participant_by_token[e.participant.token_hash] = e.participant.id;
      take_id(state, e.participant.id);
      return Status::ok();
    }
    Status operator()(const CertificateIssued& e) {
      if (state.certificates.count(e.certificate.id)) return contradiction(event, "id in use");
      state.certificates[e.certificate.id] = e.certificate;
      take_id(state, e.certificate.id);
      return Status::ok();
    }
    Status operator()(const LotOpened& e) {
      if (state.lots.count(e.lot.id)) return contradiction(event, "id in use");
      state.lots[e.lot.id] = e.lot;
      take_id(state, e.lot.id);
      return Status::ok();
    }
    Status operator()(const OrderSubmitted& e) {
      auto lot = state.lots.find(e.lot_id);
      if (lot == state.lots.end()) return contradiction(event, "no such lot");
      lot->second.book.push_back(e.order);
      take_id(state, e.order.id);
      return Status::ok();
    }
    Status operator()(const LotCleared& e) {
      auto lot = state.lots.find(e.lot_id);
      if (lot == state.lots.end()) return contradiction(event, "no such lot");
      return clear_lot(lot->second, event, state);
    }
    Status operator()(const ContractRegistered& e) {
      if (state.contracts.count(e.contract.id)) return contradiction(event, "id in use");
      state.contracts[e.contract.id] = e.contract;
      take_id(state, e.contract.id);
      return Status::ok();
    }
    Status operator()(const PeriodSettled& e) {
      state.settlements.push_back(e);
      return Status::ok();
    }
    Status operator()(const RoundTendered& e) {
      auto lot = state.lots.find(e.lot_id);
      if (lot == state.lots.end()) return contradiction(event, "no such lot");
      lot->second.phase = RoundPhase::kTender;
      lot->second.tendered_demand_t = e.aggregated_demand_t;
      return Status::ok();
    }
    Status operator()(const ContractTerminated& e) {
      auto contract = state.contracts.find(e.contract_id);
      if (contract == state.contracts.end()) return contradiction(event, "no such contract");
      Contract& c = contract->second;
      const std::int32_t tenor = std::clamp(e.last_year - c.start_year + 1, 0, c.tenor_years);
      c.tenor_years = tenor;
      c.offtake.tenor_years = std::min(c.offtake.tenor_years, tenor);
      return Status::ok();
    }
  };
  Status applied = std::visit(Applier{state, event}, event.body);
  CRITMIN_RETURN_IF_ERROR(applied);
  state.last_seq = event.seq;
  return Status::ok();
}

}  // namespace critmin::service
