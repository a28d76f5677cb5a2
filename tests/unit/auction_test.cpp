#include "critmin/market/auction.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

namespace critmin::auction {
namespace {

Order bid(std::uint64_t id, double price, double quantity, std::uint64_t time = 0) {
  return {id, Side::kBuy, price, quantity, time == 0 ? id : time};
}
Order ask(std::uint64_t id, double price, double quantity, std::uint64_t time = 0) {
  return {id, Side::kSell, price, quantity, time == 0 ? id : time};
}

AuctionResult clear(const std::vector<Order>& orders, const AuctionRules& rules) {
  Result<AuctionResult> result = clear_call_auction(orders, rules);
  EXPECT_TRUE(result.is_ok()) << result.status().to_string();
  return result.is_ok() ? result.value() : AuctionResult{};
}

double filled(const AuctionResult& result, std::uint64_t id) {
  for (const OrderFill& fill : result.fills) {
    if (fill.id == id) return fill.filled_t;
  }
  ADD_FAILURE() << "no fill for order " << id;
  return -1.0;
}

TEST(CallAuction, PriceMaximisesExecutableVolume) {
  // Demand: 110x5, 100x10, 90x10; supply: 85x10, 95x10, 105x10. Executable volume is 15 at 95
  // and at 100 (imbalance 5 at both), 10 or less elsewhere; the reference 80 picks 95.
  const std::vector<Order> orders = {bid(1, 110, 5), bid(2, 100, 10), bid(3, 90, 10),
                                     ask(4, 85, 10), ask(5, 95, 10),  ask(6, 105, 10)};
  AuctionRules rules;
  rules.reference_price_usd_per_t = 80;
  const AuctionResult result = clear(orders, rules);
  ASSERT_EQ(result.outcome, Outcome::kCleared);
  EXPECT_DOUBLE_EQ(*result.clearing_price_usd_per_t, 95.0);
  EXPECT_DOUBLE_EQ(result.executed_volume_t, 15.0);
  EXPECT_DOUBLE_EQ(filled(result, 1), 5.0);
  EXPECT_DOUBLE_EQ(filled(result, 2), 10.0);
  EXPECT_DOUBLE_EQ(filled(result, 3), 0.0);
  EXPECT_DOUBLE_EQ(filled(result, 4), 10.0);
  EXPECT_DOUBLE_EQ(filled(result, 5), 5.0);  // the marginal ask is rationed
  EXPECT_DOUBLE_EQ(filled(result, 6), 0.0);
  EXPECT_FALSE(result.reserve_binding);
}

TEST(CallAuction, ReferencePriceBreaksAVolumeAndImbalanceTie) {
  const std::vector<Order> orders = {bid(1, 110, 5), bid(2, 100, 10), bid(3, 90, 10),
                                     ask(4, 85, 10), ask(5, 95, 10),  ask(6, 105, 10)};
  AuctionRules rules;
  rules.reference_price_usd_per_t = 120;
  EXPECT_DOUBLE_EQ(*clear(orders, rules).clearing_price_usd_per_t, 100.0);
  // A reference inside the tied range is itself a candidate and wins.
  rules.reference_price_usd_per_t = 97.5;
  EXPECT_DOUBLE_EQ(*clear(orders, rules).clearing_price_usd_per_t, 97.5);
}

TEST(CallAuction, ImbalanceIsMinimisedBeforeTheReferenceIsConsulted) {
  // Volume 10 at 90, 95 and 100; imbalance 0 only at 90, although the reference is 100.
  const std::vector<Order> orders = {bid(1, 100, 10), ask(2, 90, 10), ask(3, 95, 5)};
  AuctionRules rules;
  rules.reference_price_usd_per_t = 100;
  const AuctionResult result = clear(orders, rules);
  EXPECT_DOUBLE_EQ(*result.clearing_price_usd_per_t, 90.0);
  EXPECT_DOUBLE_EQ(filled(result, 3), 0.0);
}

TEST(CallAuction, ReservePriceBindsWhenTheFreePriceWouldBeBelowTheFloor) {
  const std::vector<Order> orders = {bid(1, 120, 10), ask(2, 60, 10)};
  AuctionRules rules;
  rules.reference_price_usd_per_t = 70;
  EXPECT_DOUBLE_EQ(*clear(orders, rules).clearing_price_usd_per_t, 70.0);  // no floor
  rules.reserve_price_usd_per_t = 100;
  const AuctionResult result = clear(orders, rules);
  ASSERT_EQ(result.outcome, Outcome::kCleared);
  EXPECT_DOUBLE_EQ(*result.clearing_price_usd_per_t, 100.0);
  EXPECT_DOUBLE_EQ(result.executed_volume_t, 10.0);
  EXPECT_TRUE(result.reserve_binding);
}

TEST(CallAuction, ReservePriceBindsWhenBidsAreBelowTheFloor) {
  const std::vector<Order> orders = {bid(1, 100, 10), ask(2, 60, 10)};
  AuctionRules rules;
  rules.reference_price_usd_per_t = 80;
  rules.reserve_price_usd_per_t = 110;
  const AuctionResult result = clear(orders, rules);
  EXPECT_EQ(result.outcome, Outcome::kNoCrossing);
  EXPECT_FALSE(result.clearing_price_usd_per_t.has_value());
  EXPECT_DOUBLE_EQ(result.executed_volume_t, 0.0);
  EXPECT_TRUE(result.reserve_binding);
  EXPECT_DOUBLE_EQ(result.fills[1].remaining_t, 10.0);  // the unsold ask can roll over
}

TEST(CallAuction, ReserveBelowTheMarketDoesNotBind) {
  const std::vector<Order> orders = {bid(1, 120, 10), ask(2, 100, 10)};
  AuctionRules rules;
  rules.reference_price_usd_per_t = 110;
  rules.reserve_price_usd_per_t = 50;
  const AuctionResult result = clear(orders, rules);
  EXPECT_DOUBLE_EQ(*result.clearing_price_usd_per_t, 110.0);
  EXPECT_FALSE(result.reserve_binding);
}

TEST(CallAuction, EmptySidesTradeNothingAndKeepEveryQuantity) {
  AuctionRules rules;
  EXPECT_EQ(clear({}, rules).outcome, Outcome::kNoBids);
  const AuctionResult only_bids = clear({bid(1, 100, 10)}, rules);
  EXPECT_EQ(only_bids.outcome, Outcome::kNoAsks);
  EXPECT_DOUBLE_EQ(only_bids.fills[0].remaining_t, 10.0);
  const AuctionResult only_asks = clear({ask(1, 100, 7)}, rules);
  EXPECT_EQ(only_asks.outcome, Outcome::kNoBids);
  EXPECT_DOUBLE_EQ(only_asks.fills[0].remaining_t, 7.0);
  EXPECT_FALSE(only_asks.clearing_price_usd_per_t.has_value());
}

TEST(CallAuction, NoCrossingWhenEveryBidIsBelowEveryAsk) {
  AuctionRules rules;
  rules.reference_price_usd_per_t = 95;
  const AuctionResult result = clear({bid(1, 90, 10), ask(2, 100, 10)}, rules);
  EXPECT_EQ(result.outcome, Outcome::kNoCrossing);
  EXPECT_FALSE(result.reserve_binding);
}

TEST(CallAuction, ProRataSharesTheMarginalLevelByQuantity) {
  const std::vector<Order> orders = {bid(1, 100, 10), bid(2, 100, 30), ask(3, 100, 20)};
  AuctionRules rules;
  rules.reference_price_usd_per_t = 100;
  rules.tie_rule = TieRule::kProRata;
  const AuctionResult result = clear(orders, rules);
  EXPECT_DOUBLE_EQ(filled(result, 1), 5.0);
  EXPECT_DOUBLE_EQ(filled(result, 2), 15.0);
  EXPECT_DOUBLE_EQ(filled(result, 3), 20.0);
  EXPECT_DOUBLE_EQ(result.fills[1].remaining_t, 15.0);
}

TEST(CallAuction, TimePriorityFillsTheEarlierOrderFirstAtTheMarginalLevel) {
  // Order 2 arrived first (time 1), order 1 later (time 5).
  const std::vector<Order> orders = {bid(1, 100, 10, 5), bid(2, 100, 30, 1), ask(3, 100, 20, 2)};
  AuctionRules rules;
  rules.reference_price_usd_per_t = 100;
  rules.tie_rule = TieRule::kTimePriority;
  const AuctionResult result = clear(orders, rules);
  EXPECT_DOUBLE_EQ(filled(result, 2), 20.0);
  EXPECT_DOUBLE_EQ(filled(result, 1), 0.0);
}

TEST(CallAuction, BetterPricedOrdersFillBeforeTheTieRuleApplies) {
  // The 120 bid is above the marginal level and fills completely under either rule.
  const std::vector<Order> orders = {bid(1, 100, 10), bid(2, 120, 10), bid(3, 100, 10),
                                     ask(4, 100, 15)};
  for (TieRule rule : {TieRule::kProRata, TieRule::kTimePriority}) {
    AuctionRules rules;
    rules.reference_price_usd_per_t = 100;
    rules.tie_rule = rule;
    const AuctionResult result = clear(orders, rules);
    EXPECT_DOUBLE_EQ(filled(result, 2), 10.0) << tie_rule_name(rule);
    EXPECT_DOUBLE_EQ(filled(result, 1) + filled(result, 3), 5.0) << tie_rule_name(rule);
  }
}

TEST(CallAuction, InvalidOrdersAreRejectedWithTheOrderNamed) {
  AuctionRules rules;
  Result<AuctionResult> negative = clear_call_auction(std::vector<Order>{bid(7, 100, -1)}, rules);
  ASSERT_FALSE(negative.is_ok());
  EXPECT_EQ(negative.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(negative.status().to_string().find("order 7"), std::string::npos);
  Result<AuctionResult> nan_price =
      clear_call_auction(std::vector<Order>{ask(8, std::nan(""), 1)}, rules);
  EXPECT_FALSE(nan_price.is_ok());
  rules.reserve_price_usd_per_t = -5;
  EXPECT_FALSE(clear_call_auction(std::vector<Order>{}, rules).is_ok());
}

// Random books checked against a brute-force search over every limit price and the invariants of
// the allocation.
TEST(CallAuction, RandomBooksClearAtTheBestLimitPriceAndBalance) {
  std::mt19937_64 random(42);
  for (int round = 0; round < 200; ++round) {
    std::vector<Order> orders;
    const int count = 1 + static_cast<int>(random() % 40);
    for (int i = 0; i < count; ++i) {
      const double price = 50.0 + static_cast<double>(random() % 20) * 5.0;
      const double quantity = 1.0 + static_cast<double>(random() % 9);
      orders.push_back({static_cast<std::uint64_t>(i + 1), random() % 2 ? Side::kBuy : Side::kSell,
                        price, quantity, random() % 5});
    }
    AuctionRules rules;
    rules.reference_price_usd_per_t = 50.0 + static_cast<double>(random() % 100);
    if (random() % 2) rules.reserve_price_usd_per_t = 60.0 + static_cast<double>(random() % 40);
    rules.tie_rule = random() % 2 ? TieRule::kProRata : TieRule::kTimePriority;
    const AuctionResult result = clear(orders, rules);

    double best_volume = 0.0;
    std::set<double> prices;
    for (const Order& o : orders) prices.insert(o.price_usd_per_t);
    for (double p : prices) {
      if (rules.reserve_price_usd_per_t && p < *rules.reserve_price_usd_per_t) continue;
      double demand = 0.0;
      double supply = 0.0;
      for (const Order& o : orders) {
        if (o.side == Side::kBuy && o.price_usd_per_t >= p) demand += o.quantity_t;
        if (o.side == Side::kSell && o.price_usd_per_t <= p) supply += o.quantity_t;
      }
      best_volume = std::max(best_volume, std::min(demand, supply));
    }
    EXPECT_NEAR(result.executed_volume_t, best_volume, 1e-9) << "round " << round;
    double bought = 0.0;
    double sold = 0.0;
    for (std::size_t i = 0; i < orders.size(); ++i) {
      const OrderFill& fill = result.fills[i];
      EXPECT_GE(fill.filled_t, 0.0);
      EXPECT_NEAR(fill.filled_t + fill.remaining_t, orders[i].quantity_t, 1e-12);
      if (fill.filled_t > 0.0) {
        // Nobody trades at a price worse than its limit, nor below the reserve.
        const double p = *result.clearing_price_usd_per_t;
        if (orders[i].side == Side::kBuy) {
          EXPECT_GE(orders[i].price_usd_per_t, p);
        } else {
          EXPECT_LE(orders[i].price_usd_per_t, p);
        }
        if (rules.reserve_price_usd_per_t) {
          EXPECT_GE(p, *rules.reserve_price_usd_per_t);
        }
      }
      (orders[i].side == Side::kBuy ? bought : sold) += fill.filled_t;
    }
    EXPECT_NEAR(bought, result.executed_volume_t, 1e-9);
    EXPECT_NEAR(sold, result.executed_volume_t, 1e-9);
  }
}

}  // namespace
}  // namespace critmin::auction
