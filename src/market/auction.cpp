// The uniform-price call auction (contract in include/critmin/market/auction.h).
#include "critmin/market/auction.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace critmin::auction {

const char* side_name(Side side) { return side == Side::kBuy ? "buy" : "sell"; }

const char* tie_rule_name(TieRule rule) {
  return rule == TieRule::kProRata ? "pro_rata" : "time_priority";
}

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCleared:
      return "cleared";
    case Outcome::kNoBids:
      return "no_bids";
    case Outcome::kNoAsks:
      return "no_asks";
    case Outcome::kNoCrossing:
      return "no_crossing";
  }
  return "unknown";
}

namespace {

// One side's orders in priority order, compact so that sorting a million of them stays in cache
// lines: price first, then time, then id, then the position in the caller's span.
struct Ranked {
  double price_usd_per_t;
  std::uint64_t time;
  std::uint64_t id;
  std::size_t index;
};

// A side in priority order with the running sum of its quantities: cumulative_t[k] is the
// quantity of the first k orders. Bids are sorted by descending price, asks by ascending price.
struct Book {
  std::vector<Ranked> ranked;
  std::vector<double> cumulative_t;
};

Book build_book(std::span<const Order> orders, Side side) {
  Book book;
  for (std::size_t i = 0; i < orders.size(); ++i) {
    const Order& order = orders[i];
    if (order.side == side) book.ranked.push_back({order.price_usd_per_t, order.time, order.id, i});
  }
  const bool descending = side == Side::kBuy;
  std::sort(book.ranked.begin(), book.ranked.end(), [descending](const Ranked& a, const Ranked& b) {
    if (a.price_usd_per_t != b.price_usd_per_t) {
      return descending ? a.price_usd_per_t > b.price_usd_per_t
                        : a.price_usd_per_t < b.price_usd_per_t;
    }
    if (a.time != b.time) return a.time < b.time;
    if (a.id != b.id) return a.id < b.id;
    return a.index < b.index;
  });
  book.cumulative_t.resize(book.ranked.size() + 1);
  book.cumulative_t[0] = 0.0;
  for (std::size_t k = 0; k < book.ranked.size(); ++k) {
    book.cumulative_t[k + 1] = book.cumulative_t[k] + orders[book.ranked[k].index].quantity_t;
  }
  return book;
}

// Number of bids priced at or above p (bids descending).
std::size_t bids_at_or_above(const Book& bids, double price) {
  return static_cast<std::size_t>(
      std::partition_point(bids.ranked.begin(), bids.ranked.end(),
                           [price](const Ranked& r) { return r.price_usd_per_t >= price; }) -
      bids.ranked.begin());
}

// Number of asks priced at or below p (asks ascending).
std::size_t asks_at_or_below(const Book& asks, double price) {
  return static_cast<std::size_t>(
      std::partition_point(asks.ranked.begin(), asks.ranked.end(),
                           [price](const Ranked& r) { return r.price_usd_per_t <= price; }) -
      asks.ranked.begin());
}

struct Candidate {
  double price_usd_per_t = 0.0;
  double volume_t = 0.0;
  double imbalance_t = 0.0;
  bool valid = false;
};

// True when `a` is preferred to `b` under the four-level price rule of the header. Volumes and
// imbalances come from the same prefix sums, so equal quantities compare exactly equal.
bool better(const Candidate& a, const Candidate& b, double reference) {
  if (!b.valid) return true;
  if (a.volume_t != b.volume_t) return a.volume_t > b.volume_t;
  if (a.imbalance_t != b.imbalance_t) return a.imbalance_t < b.imbalance_t;
  const double distance_a = std::abs(a.price_usd_per_t - reference);
  const double distance_b = std::abs(b.price_usd_per_t - reference);
  if (distance_a != distance_b) return distance_a < distance_b;
  return a.price_usd_per_t > b.price_usd_per_t;
}

// The best candidate price at or above `min_price` (no bound when nullopt).
Candidate select_price(const Book& bids, const Book& asks, std::optional<double> min_price,
                       double reference) {
  Candidate best;
  auto consider = [&](double price) {
    if (min_price && price < *min_price) return;
    Candidate c;
    c.price_usd_per_t = price;
    const double demand = bids.cumulative_t[bids_at_or_above(bids, price)];
    const double supply = asks.cumulative_t[asks_at_or_below(asks, price)];
    c.volume_t = std::min(demand, supply);
    c.imbalance_t = std::abs(demand - supply);
    c.valid = true;
    if (better(c, best, reference)) best = c;
  };
  for (std::size_t k = 0; k < bids.ranked.size(); ++k) {
    if (k == 0 || bids.ranked[k].price_usd_per_t != bids.ranked[k - 1].price_usd_per_t) {
      consider(bids.ranked[k].price_usd_per_t);
    }
  }
  for (std::size_t k = 0; k < asks.ranked.size(); ++k) {
    if (k == 0 || asks.ranked[k].price_usd_per_t != asks.ranked[k - 1].price_usd_per_t) {
      consider(asks.ranked[k].price_usd_per_t);
    }
  }
  if (min_price) consider(*min_price);
  consider(reference);
  return best;
}

// Fills the first `eligible` orders of a side in priority order up to `volume_t`; orders at the
// marginal price level share by the tie rule.
void allocate(const Book& book, std::size_t eligible, double volume_t, TieRule rule,
              std::span<const Order> orders, std::vector<OrderFill>& fills) {
  std::size_t level_begin = 0;
  while (level_begin < eligible) {
    std::size_t level_end = level_begin + 1;
    const double level_price = book.ranked[level_begin].price_usd_per_t;
    while (level_end < eligible && book.ranked[level_end].price_usd_per_t == level_price) {
      ++level_end;
    }
    if (book.cumulative_t[level_end] <= volume_t) {
      for (std::size_t k = level_begin; k < level_end; ++k) {
        OrderFill& fill = fills[book.ranked[k].index];
        fill.filled_t = orders[book.ranked[k].index].quantity_t;
        fill.remaining_t = 0.0;
      }
      level_begin = level_end;
      continue;
    }
    // The marginal level: only part of it executes.
    const double left_t = volume_t - book.cumulative_t[level_begin];
    if (left_t > 0.0) {
      if (rule == TieRule::kProRata) {
        const double level_t = book.cumulative_t[level_end] - book.cumulative_t[level_begin];
        const double fraction = left_t / level_t;
        double given_t = 0.0;
        for (std::size_t k = level_begin; k < level_end; ++k) {
          const double quantity = orders[book.ranked[k].index].quantity_t;
          double share_t = k + 1 == level_end ? left_t - given_t : quantity * fraction;
          share_t = std::clamp(share_t, 0.0, quantity);
          given_t += share_t;
          OrderFill& fill = fills[book.ranked[k].index];
          fill.filled_t = share_t;
          fill.remaining_t = quantity - share_t;
        }
      } else {
        double still_t = left_t;
        for (std::size_t k = level_begin; k < level_end && still_t > 0.0; ++k) {
          const double quantity = orders[book.ranked[k].index].quantity_t;
          const double share_t = std::min(quantity, still_t);
          still_t -= share_t;
          OrderFill& fill = fills[book.ranked[k].index];
          fill.filled_t = share_t;
          fill.remaining_t = quantity - share_t;
        }
      }
    }
    return;
  }
}

Status validate(std::span<const Order> orders, const AuctionRules& rules) {
  std::vector<Diagnostic> problems;
  if (rules.reserve_price_usd_per_t &&
      (!std::isfinite(*rules.reserve_price_usd_per_t) || *rules.reserve_price_usd_per_t < 0.0)) {
    problems.push_back({"", 0, "reserve_price_usd_per_t",
                        fmt::format("is {}; give a finite price >= 0 or no reserve",
                                    *rules.reserve_price_usd_per_t)});
  }
  if (!std::isfinite(rules.reference_price_usd_per_t) || rules.reference_price_usd_per_t < 0.0) {
    problems.push_back(
        {"", 0, "reference_price_usd_per_t",
         fmt::format("is {}; give a finite price >= 0", rules.reference_price_usd_per_t)});
  }
  for (const Order& order : orders) {
    if (problems.size() >= 20) break;  // enough to show the pattern
    if (!std::isfinite(order.price_usd_per_t) || order.price_usd_per_t <= 0.0) {
      problems.push_back({"", 0, "price_usd_per_t",
                          fmt::format("order {}: price is {}; give a finite price > 0", order.id,
                                      order.price_usd_per_t)});
    }
    if (!std::isfinite(order.quantity_t) || order.quantity_t <= 0.0) {
      problems.push_back({"", 0, "quantity_t",
                          fmt::format("order {}: quantity is {}; give a finite quantity > 0",
                                      order.id, order.quantity_t)});
    }
  }
  if (problems.empty()) return Status::ok();
  return Status::invalid_input("the call auction's input is invalid", std::move(problems));
}

}  // namespace

Result<AuctionResult> clear_call_auction(std::span<const Order> orders, const AuctionRules& rules) {
  Status valid = validate(orders, rules);
  CRITMIN_RETURN_IF_ERROR(valid);

  AuctionResult result;
  result.fills.resize(orders.size());
  for (std::size_t i = 0; i < orders.size(); ++i) {
    result.fills[i] = {orders[i].id, orders[i].side, 0.0, orders[i].quantity_t};
  }
  const Book bids = build_book(orders, Side::kBuy);
  const Book asks = build_book(orders, Side::kSell);
  if (bids.ranked.empty()) {
    result.outcome = Outcome::kNoBids;
    return result;
  }
  if (asks.ranked.empty()) {
    result.outcome = Outcome::kNoAsks;
    return result;
  }

  const double reference = rules.reference_price_usd_per_t;
  const Candidate chosen = select_price(bids, asks, rules.reserve_price_usd_per_t, reference);
  if (rules.reserve_price_usd_per_t) {
    const Candidate free = select_price(bids, asks, std::nullopt, reference);
    result.reserve_binding =
        free.volume_t > 0.0 &&
        (free.volume_t > chosen.volume_t || free.price_usd_per_t < *rules.reserve_price_usd_per_t);
  }
  if (!chosen.valid || chosen.volume_t <= 0.0) {
    result.outcome = Outcome::kNoCrossing;
    return result;
  }

  const double price = chosen.price_usd_per_t;
  const std::size_t eligible_bids = bids_at_or_above(bids, price);
  const std::size_t eligible_asks = asks_at_or_below(asks, price);
  result.outcome = Outcome::kCleared;
  result.clearing_price_usd_per_t = price;
  result.executed_volume_t = chosen.volume_t;
  result.demand_at_price_t = bids.cumulative_t[eligible_bids];
  result.supply_at_price_t = asks.cumulative_t[eligible_asks];
  allocate(bids, eligible_bids, chosen.volume_t, rules.tie_rule, orders, result.fills);
  allocate(asks, eligible_asks, chosen.volume_t, rules.tie_rule, orders, result.fills);
  return result;
}

}  // namespace critmin::auction
