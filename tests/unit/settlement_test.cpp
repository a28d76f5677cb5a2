#include "critmin/policy/settlement.h"

#include <gtest/gtest.h>

#include <random>

namespace critmin::settlement {
namespace {

TEST(Settlement, TopUpPaysTheGapBetweenFloorAndReference) {
  // The 2025 US-MP Materials NdPr case: reference 59 USD/kg, floor 110 USD/kg.
  EXPECT_DOUBLE_EQ(price_gap_top_up_per_t(110.0, 59.0).value(), 51.0);
  EXPECT_DOUBLE_EQ(price_gap_top_up_per_t(110'000.0, 59'000.0).value(), 51'000.0);
}

TEST(Settlement, TopUpIsZeroWhenTheMarketIsAboveTheFloor) {
  EXPECT_DOUBLE_EQ(price_gap_top_up_per_t(110.0, 130.0).value(), 0.0);
}

TEST(Settlement, LevyClosesTheGapToTheFloorAndNeverSubsidisesImports) {
  EXPECT_DOUBLE_EQ(variable_levy_per_t(110.0, 80.0).value(), 30.0);
  EXPECT_DOUBLE_EQ(variable_levy_per_t(110.0, 140.0).value(), 0.0);
}

TEST(Settlement, CfdPaysTheProducerBelowStrikeAndIsPaidBackAboveIt) {
  SubsidyTerms cfd;
  cfd.kind = SubsidyKind::kTwoWayCfd;
  cfd.strike_usd_per_t = 100.0;
  EXPECT_DOUBLE_EQ(subsidy_payment_per_t(cfd, 70.0).value(), 30.0);
  EXPECT_DOUBLE_EQ(subsidy_payment_per_t(cfd, 125.0).value(), -25.0);  // pays back
  EXPECT_DOUBLE_EQ(subsidy_payment_per_t(cfd, 100.0).value(), 0.0);
}

TEST(Settlement, FloorWithUpsideShareTopsUpBelowAndTakesThirtyPercentAbove) {
  SubsidyTerms floor;
  floor.kind = SubsidyKind::kFloorWithUpsideShare;
  floor.strike_usd_per_t = 110.0;
  floor.upside_share = 0.3;
  EXPECT_DOUBLE_EQ(subsidy_payment_per_t(floor, 59.0).value(), 51.0);
  EXPECT_DOUBLE_EQ(subsidy_payment_per_t(floor, 110.0).value(), 0.0);
  EXPECT_NEAR(subsidy_payment_per_t(floor, 150.0).value(), -12.0, 1e-12);
  floor.upside_threshold_usd_per_t = 130.0;
  EXPECT_NEAR(subsidy_payment_per_t(floor, 150.0).value(), -6.0, 1e-12);
  EXPECT_DOUBLE_EQ(subsidy_payment_per_t(floor, 120.0).value(), 0.0);
}

TEST(Settlement, FixedPremiumIgnoresThePrice) {
  SubsidyTerms premium;
  premium.kind = SubsidyKind::kFixedPremium;
  premium.premium_usd_per_t = 500.0;
  EXPECT_DOUBLE_EQ(subsidy_payment_per_t(premium, 1.0).value(), 500.0);
  EXPECT_DOUBLE_EQ(subsidy_payment_per_t(premium, 1e6).value(), 500.0);
}

TEST(Settlement, InvalidTermsAreRejectedWithTheArgumentNamed) {
  SubsidyTerms floor;
  floor.kind = SubsidyKind::kFloorWithUpsideShare;
  floor.strike_usd_per_t = 110.0;
  floor.upside_share = 1.5;
  auto bad_share = subsidy_payment_per_t(floor, 59.0);
  ASSERT_FALSE(bad_share.is_ok());
  EXPECT_NE(bad_share.status().message().find("upside share"), std::string::npos);
  floor.upside_share = 0.3;
  floor.upside_threshold_usd_per_t = 100.0;
  EXPECT_FALSE(subsidy_payment_per_t(floor, 59.0).is_ok());
  EXPECT_FALSE(price_gap_top_up_per_t(-1.0, 59.0).is_ok());
  EXPECT_FALSE(variable_levy_per_t(110.0, std::nan("")).is_ok());
}

TEST(Settlement, ProRataBudgetScalesEveryPositiveClaimAlike) {
  auto outcome = apply_budget({60.0, 40.0, -10.0}, 50.0, BudgetRule::kProRata).value();
  EXPECT_TRUE(outcome.binding);
  EXPECT_DOUBLE_EQ(outcome.total_claimed_usd, 100.0);
  EXPECT_NEAR(outcome.paid_usd[0], 30.0, 1e-12);
  EXPECT_NEAR(outcome.paid_usd[1], 20.0, 1e-12);
  EXPECT_DOUBLE_EQ(outcome.paid_usd[2], -10.0);  // a payback is never cut
  EXPECT_LE(outcome.total_paid_usd, 50.0);
}

TEST(Settlement, FirstComeBudgetPaysInOrderUntilItRunsOut) {
  auto outcome = apply_budget({60.0, 40.0, 30.0}, 80.0, BudgetRule::kFirstCome).value();
  EXPECT_TRUE(outcome.binding);
  EXPECT_DOUBLE_EQ(outcome.paid_usd[0], 60.0);
  EXPECT_DOUBLE_EQ(outcome.paid_usd[1], 20.0);
  EXPECT_DOUBLE_EQ(outcome.paid_usd[2], 0.0);
  EXPECT_DOUBLE_EQ(outcome.total_paid_usd, 80.0);
}

TEST(Settlement, UnboundBudgetPaysEveryClaimInFull) {
  auto outcome = apply_budget({60.0, 40.0}, 1000.0, BudgetRule::kProRata).value();
  EXPECT_FALSE(outcome.binding);
  EXPECT_DOUBLE_EQ(outcome.paid_usd[0], 60.0);
  EXPECT_DOUBLE_EQ(outcome.total_paid_usd, 100.0);
  EXPECT_FALSE(apply_budget({1.0}, -5.0, BudgetRule::kProRata).is_ok());
}

TEST(Settlement, NoBudgetIsEverExceededOnRandomClaims) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> claim(-50.0, 200.0), budget(0.0, 500.0);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<double> claims(1 + trial % 9);
    for (double& c : claims) c = claim(rng);
    const double cap = budget(rng);
    for (BudgetRule rule : {BudgetRule::kProRata, BudgetRule::kFirstCome}) {
      auto outcome = apply_budget(claims, cap, rule).value();
      double paid = 0.0;
      for (std::size_t i = 0; i < claims.size(); ++i) {
        if (claims[i] > 0.0) {
          EXPECT_GE(outcome.paid_usd[i], 0.0);
          EXPECT_LE(outcome.paid_usd[i], claims[i] + 1e-9);
          paid += outcome.paid_usd[i];
        }
      }
      EXPECT_LE(paid, cap * (1.0 + 1e-12) + 1e-9);
    }
  }
}

TEST(Settlement, IndexedOfftakePriceIsClampedBetweenFloorAndCap) {
  OfftakePrice formula;
  formula.kind = OfftakePrice::Kind::kIndexed;
  formula.index_factor = 0.9;
  formula.adder_usd_per_t = 5.0;
  formula.floor_usd_per_t = 60.0;
  formula.cap_usd_per_t = 120.0;
  EXPECT_DOUBLE_EQ(offtake_contract_price(formula, 100.0).value(), 95.0);
  EXPECT_DOUBLE_EQ(offtake_contract_price(formula, 40.0).value(), 60.0);
  EXPECT_DOUBLE_EQ(offtake_contract_price(formula, 200.0).value(), 120.0);
  formula.floor_usd_per_t = 130.0;
  EXPECT_FALSE(offtake_contract_price(formula, 100.0).is_ok());
}

TEST(Settlement, OfftakeSettlesDeliveryTakeOrPayAndValueAgainstTheMarket) {
  OfftakeTerms terms;
  terms.price.fixed_usd_per_t = 80.0;
  terms.volume_t_per_year = 1000.0;
  terms.start_year = 2026;
  terms.tenor_years = 5;
  terms.take_or_pay_share = 0.8;
  auto full = settle_offtake(terms, 2027, 1000.0, 100.0).value();
  EXPECT_DOUBLE_EQ(full.buyer_pays_usd, 80'000.0);
  EXPECT_DOUBLE_EQ(full.buyer_gain_vs_market_usd, 20'000.0);
  EXPECT_DOUBLE_EQ(full.take_or_pay_shortfall_t, 0.0);
  auto short_take = settle_offtake(terms, 2027, 500.0, 60.0).value();
  EXPECT_DOUBLE_EQ(short_take.take_or_pay_shortfall_t, 300.0);
  EXPECT_DOUBLE_EQ(short_take.buyer_pays_usd, 800.0 * 80.0);
  EXPECT_DOUBLE_EQ(short_take.buyer_gain_vs_market_usd, -10'000.0);
}

TEST(Settlement, OfftakePastItsTenorOrAboveItsVolumeIsRejected) {
  OfftakeTerms terms;
  terms.price.fixed_usd_per_t = 80.0;
  terms.volume_t_per_year = 1000.0;
  terms.start_year = 2026;
  terms.tenor_years = 5;
  EXPECT_TRUE(offtake_active(terms, 2030));
  EXPECT_FALSE(offtake_active(terms, 2031));
  auto past = settle_offtake(terms, 2031, 100.0, 90.0);
  ASSERT_FALSE(past.is_ok());
  EXPECT_NE(past.status().message().find("tenor"), std::string::npos);
  EXPECT_FALSE(settle_offtake(terms, 2027, 1001.0, 90.0).is_ok());
  EXPECT_FALSE(settle_offtake(terms, 2027, -1.0, 90.0).is_ok());
}

TEST(Settlement, IntermediaryDeficitIsGrantFundedUpToTheBudget) {
  auto year = settle_intermediary(100.0, 90.0, 70.0, 1500.0).value();
  EXPECT_DOUBLE_EQ(year.deficit_usd, 2000.0);
  EXPECT_DOUBLE_EQ(year.grant_paid_usd, 1500.0);
  EXPECT_DOUBLE_EQ(year.unfunded_deficit_usd, 500.0);
  auto surplus = settle_intermediary(100.0, 70.0, 90.0, 1500.0).value();
  EXPECT_DOUBLE_EQ(surplus.deficit_usd, -2000.0);
  EXPECT_DOUBLE_EQ(surplus.grant_paid_usd, 0.0);
}

}  // namespace
}  // namespace critmin::settlement
