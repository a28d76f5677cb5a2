// A periodic uniform-price call auction with a reserve price: the clearing mechanism of the club
// market service (src/service/) and available to the simulator.
//
// Orders are collected over a period and cleared at once at one price for everybody.
//
// The price rule. Candidate prices are the limit prices of the orders that are at or above the
// reserve price, the reserve price itself (when given) and the reference price when it is at or
// above the reserve. At a candidate price p the demand D(p) is the quantity of bids priced at or
// above p, the supply S(p) the quantity of asks priced at or below p. Among the candidates the
// auction takes the price that
//   1. maximises the executable volume min(D(p), S(p)),
//   2. then minimises the imbalance |D(p) - S(p)|,
//   3. then is closest to the reference price,
//   4. then (two candidates equally close, one on each side) is the higher one: the club's floor
//      exists to support supply, so an exact tie goes to the sellers.
// Prices below the reserve never clear: when buyers only bid below the floor nothing trades, and
// when the unrestricted rule would have chosen a lower price the reserve binds.
//
// Allocation. The long side (more quantity than the executable volume) is rationed: orders with a
// better price (higher bids, lower asks) are filled first; among the orders at the marginal price
// level (the level at which the cumulative quantity passes the executable volume) the tie rule
// decides:
//   - kProRata: each gets the same fraction of its quantity (the last order of the level in
//     (time, id) order takes the rounding remainder, so fills add up to the volume);
//   - kTimePriority: earlier orders (smaller time, then smaller id) are filled first.
// The short side is filled completely.
//
// Rollover. The result lists what every order has left; the caller (the market service) carries
// unsold ask quantity into the next call of the same lot with its original time, so it keeps its
// time priority; unfilled bids expire with the call.
//
// Cost: O(n log n) time for n orders (two sorts and one binary search per candidate price),
// O(n) extra memory. Units: prices in USD per tonne of contained content [USD/t], quantities in
// tonnes [t].
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "critmin/core/status.h"

namespace critmin::auction {

enum class Side : std::uint8_t { kBuy, kSell };
const char* side_name(Side side);  // "buy" | "sell"

enum class TieRule : std::uint8_t { kProRata, kTimePriority };
const char* tie_rule_name(TieRule rule);  // "pro_rata" | "time_priority"

struct Order {
  std::uint64_t id = 0;  // opaque to the auction; echoed in the fills
  Side side = Side::kBuy;
  double price_usd_per_t = 0.0;  // limit price [USD/t], finite and > 0
  double quantity_t = 0.0;       // [t], finite and > 0
  std::uint64_t time = 0;        // arrival order (smaller is earlier)
};

struct AuctionRules {
  std::optional<double> reserve_price_usd_per_t;  // the club floor; none: no reserve
  double reference_price_usd_per_t = 0.0;         // third-level tie breaker, finite and >= 0
  TieRule tie_rule = TieRule::kProRata;
};

enum class Outcome : std::uint8_t {
  kCleared,     // a positive volume traded at clearing_price_usd_per_t
  kNoBids,      // the buy side is empty
  kNoAsks,      // the sell side is empty
  kNoCrossing,  // both sides have orders but no price at or above the reserve executes any
};
const char* outcome_name(Outcome outcome);

struct OrderFill {
  std::uint64_t id = 0;
  Side side = Side::kBuy;
  double filled_t = 0.0;     // executed at the clearing price
  double remaining_t = 0.0;  // quantity - filled
};

struct AuctionResult {
  Outcome outcome = Outcome::kNoCrossing;
  std::optional<double> clearing_price_usd_per_t;  // set when kCleared
  double executed_volume_t = 0.0;
  double demand_at_price_t = 0.0;  // D(p) at the clearing price
  double supply_at_price_t = 0.0;  // S(p) at the clearing price
  // True when the reserve changed the outcome: without it the rule would have chosen a price
  // below the reserve, or would have executed more volume.
  bool reserve_binding = false;
  // One entry per order, in the order given to clear_call_auction.
  std::vector<OrderFill> fills;
};

// Clears one call. Errors (kInvalidInput, naming the order id and the field): a price or quantity
// that is not finite or not positive, a negative or non-finite reserve or reference price.
// Never partially succeeds.
Result<AuctionResult> clear_call_auction(std::span<const Order> orders, const AuctionRules& rules);

}  // namespace critmin::auction
