// The club market's state machine: the state, the events that change it, and apply().
//
// Every state change is an Event. MarketService (market_service.h) checks a request against the
// current state and turns it into an Event (deciding ids, time and derived facts such as club
// membership); apply_event() then changes the state and cannot fail for an event that was
// decided against the same state. Replaying the same events in the same order from the same
// starting state gives the same state bit for bit: apply reads nothing but the state and the
// event (no clock, no environment, no dataset), the auction and settlement are deterministic, and
// doubles are stored bit-exact. encode_state() is that state as bytes; the snapshot is those bytes
// and the replay tests compare them.
//
// Units: prices in USD per tonne of contained content [USD/t], quantities in tonnes [t], money in
// USD, days as days since 1970-01-01 (UTC), times in milliseconds since 1970-01-01.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/market/auction.h"
#include "critmin/policy/settlement.h"
#include "critmin/world/dataset.h"

namespace critmin::service {

// Roles as bits of a mask; a participant may hold several.
enum Role : std::uint8_t {
  kOperator = 1,
  kBuyer = 2,
  kSeller = 4,
  kCertifier = 8,
  kAuditor = 16,
};
constexpr std::uint8_t kAllRoles = 31;
const char* role_name(Role role);
std::optional<Role> parse_role(std::string_view name);
std::vector<std::string> role_names(std::uint8_t roles);

using TokenHash = std::array<std::uint8_t, 32>;

struct Participant {
  std::uint64_t id = 0;
  std::string name;
  std::string country_iso3;
  std::uint8_t roles = 0;
  bool club_member = false;  // the country was in the club bloc when the participant registered
  TokenHash token_hash{};    // BLAKE2b-256 of the API token; the token itself is never stored
};

struct Certificate {
  std::uint64_t id = 0;
  std::uint64_t holder_id = 0;     // the certified supplier (a seller)
  std::uint64_t certifier_id = 0;  // who issued it
  std::string facility;
  std::string material_id;
  std::string standard;
  std::int32_t valid_from_day = 0;  // inclusive
  std::int32_t valid_to_day = 0;    // inclusive
};

struct BookOrder {
  std::uint64_t id = 0;
  std::uint64_t participant_id = 0;
  auction::Side side = auction::Side::kBuy;
  double price_usd_per_t = 0.0;
  double quantity_t = 0.0;           // what is left to trade (reduced by partial fills on rollover)
  std::uint64_t time = 0;            // the sequence number of its submission: time priority
  std::uint64_t certificate_id = 0;  // 0: none
  bool club_member = false;          // of the participant, for the border levy
  std::string client_ref;            // the submitter's own reference, echoed back
};

struct FillRecord {
  std::uint64_t order_id = 0;
  std::uint64_t participant_id = 0;
  auction::Side side = auction::Side::kBuy;
  double limit_price_usd_per_t = 0.0;
  double filled_t = 0.0;
  double levy_usd = 0.0;  // border levy on non-member supply (asks only)
};

struct CallRecord {
  std::uint32_t period = 0;
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  auction::Outcome outcome = auction::Outcome::kNoCrossing;
  std::optional<double> clearing_price_usd_per_t;
  double executed_volume_t = 0.0;
  double demand_at_price_t = 0.0;
  double supply_at_price_t = 0.0;
  bool reserve_binding = false;
  std::uint64_t orders = 0;            // in the book at the call
  std::uint64_t rolled_over_asks = 0;  // asks carried into the next period
  double rolled_over_t = 0.0;
  double levy_total_usd = 0.0;
  std::vector<FillRecord> fills;  // orders that traded, in book order
  // Set only on the summary MarketService::clear_lot returns (without `fills`); not stored.
  std::uint64_t fill_count = 0;
};

// A call lot trades in periodic calls: bids and asks together, unsold asks roll over. A
// joint-purchasing round runs once: buyers submit demand (bids) first; the operator tenders the
// aggregated demand; sellers then offer (asks); the match is one call auction, and the round
// closes.
enum class LotKind : std::uint8_t { kCall, kJointPurchase };
enum class RoundPhase : std::uint8_t { kDemand, kTender, kClosed };
const char* lot_kind_name(LotKind kind);         // "call" | "joint_purchase"
const char* round_phase_name(RoundPhase phase);  // "demand" | "tender" | "closed"

struct Lot {
  std::uint64_t id = 0;
  LotKind kind = LotKind::kCall;
  RoundPhase phase = RoundPhase::kDemand;  // joint purchases only
  double tendered_demand_t = 0.0;          // joint purchases: the aggregated demand tendered
  std::string name;
  std::string material_id;
  Stage stage = Stage::kProcessing;
  std::optional<double> reserve_price_usd_per_t;  // the club floor
  double reference_price_usd_per_t = 0.0;
  auction::TieRule tie_rule = auction::TieRule::kProRata;
  bool certified_only = false;
  bool club_only = true;  // only participants from club member countries may bid
  std::int32_t delivery_day = 0;
  std::uint32_t period = 1;  // the call now collecting orders
  std::vector<BookOrder> book;
  std::vector<CallRecord> calls;
};

enum class ContractKind : std::uint8_t { kOfftake, kSubsidy };

struct Contract {
  std::uint64_t id = 0;
  ContractKind kind = ContractKind::kOfftake;
  std::string material_id;
  Stage stage = Stage::kProcessing;
  std::uint64_t buyer_id = 0;        // offtake: the buyer; subsidy: 0 (the scheme pays)
  std::uint64_t seller_id = 0;       // offtake: the seller; subsidy: the producer
  settlement::OfftakeTerms offtake;  // kOfftake
  settlement::SubsidyTerms subsidy;  // kSubsidy
  double volume_t_per_year = 0.0;    // subsidy: the supported volume (offtake: in `offtake`)
  std::int32_t start_year = 0;
  std::int32_t tenor_years = 0;
};

struct SettlementEntry {
  std::uint64_t contract_id = 0;
  ContractKind kind = ContractKind::kOfftake;
  std::int32_t year = 0;
  double reference_price_usd_per_t = 0.0;
  double volume_t = 0.0;                  // delivered (offtake) or supported (subsidy)
  double contract_price_usd_per_t = 0.0;  // offtake: the formula's price; subsidy: payment per t
  double take_or_pay_shortfall_t = 0.0;
  // Offtake: what the buyer pays the seller. Subsidy: what the scheme pays the producer after
  // the budget cap (< 0: the producer pays back).
  double payment_usd = 0.0;
  double claimed_usd = 0.0;               // subsidy: the payment before the budget cap
  double buyer_gain_vs_market_usd = 0.0;  // offtake only
};

// ---- events ------------------------------------------------------------------------------------

struct ParticipantRegistered {
  Participant participant;
};
struct CertificateIssued {
  Certificate certificate;
};
struct LotOpened {
  Lot lot;  // book and calls empty, period 1
};
struct OrderSubmitted {
  std::uint64_t lot_id = 0;
  BookOrder order;
};
struct LotCleared {
  std::uint64_t lot_id = 0;
};
struct RoundTendered {
  std::uint64_t lot_id = 0;
  double aggregated_demand_t = 0.0;  // the sum of the buyers' demand
};
struct ContractRegistered {
  Contract contract;
};
struct PeriodSettled {
  std::string material_id;
  Stage stage = Stage::kProcessing;
  std::int32_t year = 0;
  double reference_price_usd_per_t = 0.0;
  std::optional<double> subsidy_budget_usd;  // cap on the period's subsidy payments; none: no cap
  settlement::BudgetRule budget_rule = settlement::BudgetRule::kProRata;
  bool budget_binding = false;
  std::vector<SettlementEntry> entries;  // computed with critmin::settlement when decided
};

// The operator ends a contract early: it is in force up to and including `last_year` (the
// years after it are taken off its tenor); settlements of later years leave it out.
struct ContractTerminated {
  std::uint64_t contract_id = 0;
  std::int32_t last_year = 0;
  std::string reason;
};

// New event types go at the end: the index is stored in the log.
using EventBody =
    std::variant<ParticipantRegistered, CertificateIssued, LotOpened, OrderSubmitted, LotCleared,
                 ContractRegistered, PeriodSettled, RoundTendered, ContractTerminated>;
const char* event_type_name(const EventBody& body);

struct Event {
  std::uint64_t seq = 0;
  std::int64_t time_ms = 0;
  std::uint64_t actor_id = 0;  // the participant whose request caused it; 0: the bootstrap
  EventBody body;
};

std::string encode_event(const Event& event);
Result<Event> decode_event(std::string_view bytes);

// ---- state -------------------------------------------------------------------------------------

struct TokenHashHasher {
  std::size_t operator()(const TokenHash& hash) const;
};

// One entry of the audit log: an event as logged. The audit log is not part of the state: the
// service keeps the entries since the last snapshot in memory and pages older ones out into the
// snapshot store (MarketService::read_audit), so memory stays bounded however long the market
// runs.
struct AuditRecord {
  std::uint64_t seq = 0;
  std::string event;  // encode_event() bytes, decoded when read
};

struct MarketState {
  std::uint64_t last_seq = 0;
  std::uint64_t next_id =
      1;  // one id space for participants, certificates, lots, orders, contracts
  std::map<std::uint64_t, Participant> participants;
  std::map<std::uint64_t, Certificate> certificates;
  std::map<std::uint64_t, Lot> lots;
  std::map<std::uint64_t, Contract> contracts;
  std::vector<PeriodSettled> settlements;
  // The latest clearing price per material and stage: the reference for settlement.
  std::map<std::pair<std::string, std::uint8_t>, double> last_clearing_price_usd_per_t;

  // Derived from participants (rebuilt on decode, not encoded).
  std::unordered_map<TokenHash, std::uint64_t, TokenHashHasher> participant_by_token;
};

// Applies an event decided against `state` (see market_service.cpp). Errors only on an event
// that contradicts the state (a replayed log that does not belong to this state): kInternal,
// state unchanged.
Status apply_event(MarketState& state, const Event& event);

// The state as bytes (format 2). decode_state also reads format 1, whose snapshots held the
// audit log in full: its entries go to `legacy_audit` when given (else they are dropped).
std::string encode_state(const MarketState& state);
Result<MarketState> decode_state(std::string_view bytes,
                                 std::vector<AuditRecord>* legacy_audit = nullptr);

// Days since 1970-01-01 of "YYYY-MM-DD", or nullopt when the text is not a valid date.
std::optional<std::int32_t> parse_day(std::string_view text);
std::string format_day(std::int32_t day);

}  // namespace critmin::service
