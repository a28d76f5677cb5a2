// Investors who see risk (sim/investor.h): adaptive price beliefs, the pipeline's price effect and
// the NPV's distribution, against closed forms worked by hand.
#include "sim/investor.h"

#include <gtest/gtest.h>

#include <cmath>

#include "critmin/policy/club.h"

namespace critmin::sim {
namespace {

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// 1,000 t/yr at a unit cost of 60 USD/t, 10 years of output at no discount, 200,000 USD of capital:
// break-even revenue 60 + 200,000 / (1,000 * 10) = 80 USD/t.
ProjectEconomics small_project() { return {60.0, 1000.0, 10.0, 200000.0}; }

TEST(PriceBelief, TheFirstPriceSetsTheLevelAndThePriorSetsTheSpread) {
  const PriceBelief belief = update_belief({}, 100.0, 0.5, 0.3);
  EXPECT_DOUBLE_EQ(belief.expected_usd_per_t, 100.0);
  EXPECT_DOUBLE_EQ(belief.log_variance, 0.09);
}

TEST(PriceBelief, ASurpriseMovesTheLevelByTheWeightInLogs) {
  // ln(400/100) = 1.386; half of it: the expected price becomes 100 * sqrt(4) = 200 and the
  // variance (0.09 + 1.386^2) / 2.
  const PriceBelief belief = update_belief({100.0, 0.09}, 400.0, 0.5, 0.3);
  EXPECT_NEAR(belief.expected_usd_per_t, 200.0, 1e-9);
  const double surprise = std::log(4.0);
  EXPECT_NEAR(belief.log_variance, 0.5 * 0.09 + 0.5 * surprise * surprise, 1e-12);
}

TEST(PriceBelief, QuietYearsDoNotMakeTheInvestorSureBeyondTheHistoricalVolatility) {
  PriceBelief belief = update_belief({}, 100.0, 0.5, 0.3);
  for (int year = 0; year < 20; ++year) belief = update_belief(belief, 100.0, 0.5, 0.3);
  EXPECT_DOUBLE_EQ(belief.log_variance, 0.09);
  EXPECT_DOUBLE_EQ(belief.expected_usd_per_t, 100.0);
}

TEST(PriceBelief, AMarketWithoutAPriceLeavesTheBeliefAsItWas) {
  const PriceBelief before{150.0, 0.04};
  const PriceBelief after = update_belief(before, 0.0, 0.5, 0.3);
  EXPECT_DOUBLE_EQ(after.expected_usd_per_t, 150.0);
  EXPECT_DOUBLE_EQ(after.log_variance, 0.04);
}

TEST(PipelinePriceFactor, CapacityBeyondTheGrowthLowersThePriceByTheInverseElasticity) {
  // 10% more supply, no growth, elasticity -0.5: the price falls to 1.1^-2.
  EXPECT_NEAR(pipeline_price_factor(1000.0, 100.0, 0.0, 3, -0.5), std::pow(1.1, -2.0), 1e-12);
  // Growth of 3% a year for 3 years absorbs 1.03^3 - 1 of new supply: the price is unchanged.
  const double absorbed = 1000.0 * (std::pow(1.03, 3.0) - 1.0);
  EXPECT_NEAR(pipeline_price_factor(1000.0, absorbed, 0.03, 3, -0.5), 1.0, 1e-12);
  // No pipeline and growth: the price is expected to rise.
  EXPECT_GT(pipeline_price_factor(1000.0, 0.0, 0.03, 3, -0.5), 1.0);
  // Monotone: more capacity, a lower price.
  double previous = 10.0;
  for (double added = 0.0; added <= 2000.0; added += 50.0) {
    const double factor = pipeline_price_factor(1000.0, added, 0.02, 5, -0.7);
    EXPECT_LT(factor, previous);
    previous = factor;
  }
}

TEST(NpvDistribution, WithoutSpreadItIsTheNpvAtTheMedian) {
  const NpvDistribution d =
      npv_distribution([](double f) { return 100.0 * f; }, 0.9, 0.0, small_project());
  // (90 - 60) * 1000 * 10 - 200,000 = 100,000.
  EXPECT_DOUBLE_EQ(d.expected_npv_usd, 100000.0);
  EXPECT_DOUBLE_EQ(d.probability_loss, 0.0);
}

TEST(NpvDistribution, AProportionalRevenueMatchesTheLognormalClosedForm) {
  for (double log_sd : {0.05, 0.2, 0.5, 0.9}) {
    for (double median : {0.6, 0.8, 1.0, 1.5}) {
      const NpvDistribution d =
          npv_distribution([](double f) { return 100.0 * f; }, median, log_sd, small_project());
      // E[f] = median * exp(sd^2 / 2); a loss when 100 f < 80.
      const double expected_revenue = 100.0 * median * std::exp(0.5 * log_sd * log_sd);
      EXPECT_NEAR(d.expected_revenue_usd_per_t, expected_revenue, 1e-4 * expected_revenue)
          << log_sd << " " << median;
      EXPECT_NEAR(d.expected_npv_usd, (expected_revenue - 60.0) * 10000.0 - 200000.0,
                  1e-4 * expected_revenue * 10000.0);
      const double loss = normal_cdf(std::log(0.8 / median) / log_sd);
      EXPECT_NEAR(d.probability_loss, loss, 1e-6) << log_sd << " " << median;
    }
  }
}

TEST(NpvDistribution, TheClosedFormAndTheIntegralAgreeOnAProportionalRevenue) {
  for (double a : {-20.0, 50.0, 100.0, 250.0}) {
    for (double log_sd : {0.0, 0.1, 0.45, 0.9}) {
      for (double median : {0.5, 1.0, 2.0}) {
        const NpvDistribution integral =
            npv_distribution([&](double f) { return a * f; }, median, log_sd, small_project());
        const NpvDistribution closed =
            npv_distribution_proportional(a, median, log_sd, small_project());
        EXPECT_NEAR(closed.probability_loss, integral.probability_loss, 1e-6)
            << a << " " << log_sd << " " << median;
        EXPECT_NEAR(closed.expected_revenue_usd_per_t, integral.expected_revenue_usd_per_t,
                    1e-4 * std::abs(closed.expected_revenue_usd_per_t) + 1e-9);
        EXPECT_NEAR(closed.expected_npv_usd, integral.expected_npv_usd,
                    1e-4 * std::abs(a) * 1e4 + 1e-6);
      }
    }
  }
}

TEST(NpvDistribution, AFloorAboveTheBreakEvenRemovesTheRiskOfLoss) {
  // A top-up floor at 85 USD/t pays 85 - p below it: the revenue never falls under the break-even
  // of 80, whatever the spread, and the expected revenue rises against the unfloored one.
  const auto floored = [](double f) { return std::max(100.0 * f, 85.0); };
  const NpvDistribution with_floor = npv_distribution(floored, 1.0, 0.5, small_project());
  const NpvDistribution without =
      npv_distribution([](double f) { return 100.0 * f; }, 1.0, 0.5, small_project());
  EXPECT_DOUBLE_EQ(with_floor.probability_loss, 0.0);
  EXPECT_GT(without.probability_loss, 0.3);
  EXPECT_GT(with_floor.expected_npv_usd, without.expected_npv_usd);
}

TEST(NpvDistribution, AFloorBelowTheBreakEvenLeavesTheLossProbabilityOfThePrice) {
  // A floor at 70 < 80 cuts the depth of a loss, not its chance: P(100 f < 80) is unchanged.
  const auto floored = [](double f) { return std::max(100.0 * f, 70.0); };
  const NpvDistribution d = npv_distribution(floored, 1.0, 0.4, small_project());
  EXPECT_NEAR(d.probability_loss, normal_cdf(std::log(0.8) / 0.4), 1e-6);
}

TEST(NpvDistribution, TheLossProbabilityIsContinuousInTheMedianAndFallsAsItRises) {
  double previous = 1.0;
  for (double median = 0.5; median <= 2.0; median += 0.01) {
    const NpvDistribution d =
        npv_distribution([](double f) { return 100.0 * f; }, median, 0.3, small_project());
    EXPECT_LE(d.probability_loss, previous + 1e-12);
    EXPECT_LT(previous - d.probability_loss, 0.06);  // no jump between neighbours 1% apart
    previous = d.probability_loss;
  }
}

TEST(RevenueCurve, ACfdOnARefinersProductFixesThePriceButNotTheFeed) {
  // A refiner selling at 100 and buying feed at 60 a tonne of product, under a two-way CfD struck
  // at 120: it earns 120 - 60 f, so a higher price level (a dearer feed) is its risk, the
  // opposite of a merchant refiner's.
  policy::RevenueCurve curve;
  curve.producer_price_usd_per_t = 100.0;
  curve.feed_cost_usd_per_t = 60.0;
  settlement::SubsidyTerms cfd;
  cfd.kind = settlement::SubsidyKind::kTwoWayCfd;
  cfd.strike_usd_per_t = 120.0;
  curve.terms.push_back({cfd, 1.0});
  curve.contracted = true;
  EXPECT_DOUBLE_EQ(curve.at(1.0), 60.0);
  EXPECT_DOUBLE_EQ(curve.at(1.5), 30.0);
  EXPECT_DOUBLE_EQ(curve.payment_at(1.5), -30.0);
  // Break-even 40 (unit cost 20, capital 200,000 over 1,000 t x 10): a loss when 120 - 60 f < 40,
  // f > 4/3, with probability 1 - Phi(ln(4/3) / 0.45).
  const NpvDistribution d = npv_distribution([&](double f) { return curve.at(f); }, 1.0, 0.45,
                                             {20.0, 1000.0, 10.0, 200000.0});
  EXPECT_NEAR(d.probability_loss, 1.0 - normal_cdf(std::log(4.0 / 3.0) / 0.45), 1e-6);
}

TEST(RevenueCurve, AFloorTopUpPaysOnlyBelowTheFloorAndScalesByThePaidShare) {
  policy::RevenueCurve curve;
  curve.producer_price_usd_per_t = 100.0;
  settlement::SubsidyTerms floor;
  floor.kind = settlement::SubsidyKind::kFloorWithUpsideShare;
  floor.strike_usd_per_t = 110.0;
  curve.terms.push_back({floor, 0.5});  // a budget pays half of each claim
  EXPECT_DOUBLE_EQ(curve.payment_at(1.0), 5.0);
  EXPECT_DOUBLE_EQ(curve.at(1.0), 105.0);
  EXPECT_DOUBLE_EQ(curve.payment_at(1.2), 0.0);
  EXPECT_DOUBLE_EQ(curve.at(1.2), 120.0);
}

TEST(NormalQuantile, InvertsTheDistributionFunction) {
  EXPECT_NEAR(normal_quantile(0.1), -1.2815515655446004, 1e-9);
  EXPECT_NEAR(normal_quantile(0.5), 0.0, 1e-9);
  EXPECT_NEAR(normal_quantile(0.975), 1.959963984540054, 1e-9);
}

TEST(Investable, NeedsAPositiveExpectationAndALossProbabilityWithinTheThreshold) {
  EXPECT_TRUE(investable(1.0, 0.1, 0.1));
  EXPECT_FALSE(investable(1.0, 0.11, 0.1));
  EXPECT_FALSE(investable(0.0, 0.0, 0.1));
  EXPECT_FALSE(investable(-5.0, 0.0, 0.1));
}

}  // namespace
}  // namespace critmin::sim
