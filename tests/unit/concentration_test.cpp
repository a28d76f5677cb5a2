// The pure indicator functions of critmin/metrics/assess.h, each checked against numbers worked by
// hand.
#include <gtest/gtest.h>

#include <vector>

#include "critmin/metrics/assess.h"

namespace critmin {
namespace {

constexpr double kEps = 1e-9;

// ---- herfindahl_index -------------------------------------------------------------------------

TEST(Herfindahl, IsTenThousandForAMonopoly) {
  // (100 * 1.0)^2 = 10000
  EXPECT_NEAR(herfindahl_index({1.0}), 10000.0, kEps);
}

TEST(Herfindahl, IsFiveThousandForTwoEqualSuppliers) {
  // 50^2 + 50^2 = 2500 + 2500 = 5000
  EXPECT_NEAR(herfindahl_index({0.5, 0.5}), 5000.0, kEps);
}

TEST(Herfindahl, SumsSquaredPercentagesOfThreeSuppliers) {
  // 50^2 + 30^2 + 20^2 = 2500 + 900 + 400 = 3800
  EXPECT_NEAR(herfindahl_index({0.5, 0.3, 0.2}), 3800.0, kEps);
}

TEST(Herfindahl, DoesNotDependOnTheOrderOfTheShares) {
  // 20^2 + 50^2 + 30^2 = 400 + 2500 + 900 = 3800, same as the sorted order
  EXPECT_NEAR(herfindahl_index({0.2, 0.5, 0.3}), 3800.0, kEps);
}

TEST(Herfindahl, IsZeroWithoutSuppliers) { EXPECT_EQ(herfindahl_index({}), 0.0); }

TEST(Herfindahl, FallsAsSupplyIsSpreadOverMoreCountries) {
  // ten equal suppliers: 10 * 10^2 = 1000
  EXPECT_NEAR(herfindahl_index(std::vector<double>(10, 0.1)), 1000.0, kEps);
}

// ---- wgi_scaled -------------------------------------------------------------------------------

TEST(WgiScaled, MapsTheBestScoreToZero) {
  // 10 * (2.5 - 2.5) / 5 = 0
  EXPECT_NEAR(wgi_scaled(2.5), 0.0, kEps);
}

TEST(WgiScaled, MapsTheWorstScoreToTen) {
  // 10 * (2.5 + 2.5) / 5 = 10
  EXPECT_NEAR(wgi_scaled(-2.5), 10.0, kEps);
}

TEST(WgiScaled, MapsTheMidpointToFive) {
  // 10 * (2.5 - 0) / 5 = 5
  EXPECT_NEAR(wgi_scaled(0.0), 5.0, kEps);
}

TEST(WgiScaled, IsLinearInBetween) {
  // 10 * (2.5 - 1.0) / 5 = 3;  10 * (2.5 + 0.5) / 5 = 6
  EXPECT_NEAR(wgi_scaled(1.0), 3.0, kEps);
  EXPECT_NEAR(wgi_scaled(-0.5), 6.0, kEps);
}

TEST(WgiScaled, ClampsScoresBeyondTheRange) {
  // 10 * (2.5 - 3.0) / 5 = -1 -> clamped to 0;  10 * (2.5 + 3.0) / 5 = 11 -> clamped to 10
  EXPECT_EQ(wgi_scaled(3.0), 0.0);
  EXPECT_EQ(wgi_scaled(-3.0), 10.0);
  EXPECT_EQ(wgi_scaled(100.0), 0.0);
  EXPECT_EQ(wgi_scaled(-100.0), 10.0);
}

// ---- governance_weighted_hhi ------------------------------------------------------------------

TEST(GovernanceWeightedHhi, IsTheWgiOfAMonopolistTimesItsTradeFactor) {
  // 1^2 * 6 * 1.2 = 7.2
  EXPECT_NEAR(governance_weighted_hhi({{1.0, 6.0, 1.2}}), 7.2, kEps);
}

TEST(GovernanceWeightedHhi, SumsShareSquaredTimesWgiTimesTradeFactor) {
  // 0.9^2 * 6 * 1   = 0.81   * 6     = 4.86
  // 0.06^2 * 2 * 0.8 = 0.0036 * 1.6  = 0.00576
  // 0.04^2 * 3 * 1  = 0.0016 * 3     = 0.0048
  // total                             = 4.87056
  EXPECT_NEAR(governance_weighted_hhi({{0.9, 6.0, 1.0}, {0.06, 2.0, 0.8}, {0.04, 3.0, 1.0}}),
              4.87056, kEps);
}

TEST(GovernanceWeightedHhi, UsesFractionsNotPercentages) {
  // two equal suppliers, WGI 10 and 0, t = 1: 0.25 * 10 + 0.25 * 0 = 2.5
  EXPECT_NEAR(governance_weighted_hhi({{0.5, 10.0, 1.0}, {0.5, 0.0, 1.0}}), 2.5, kEps);
}

TEST(GovernanceWeightedHhi, DefaultsTheTradeFactorToOne) {
  WeightedShare s;
  s.share = 0.5;
  s.wgi_scaled = 4.0;
  // 0.25 * 4 * 1 = 1
  EXPECT_NEAR(governance_weighted_hhi({s}), 1.0, kEps);
}

TEST(GovernanceWeightedHhi, IsZeroWithoutSuppliers) { EXPECT_EQ(governance_weighted_hhi({}), 0.0); }

// ---- eu_supply_risk ---------------------------------------------------------------------------

TEST(EuSupplyRisk, WeighsGlobalAndEuSourcingHalfAndHalfWhenImportRelianceIsOne) {
  // (4 * 1/2 + 2 * (1 - 1/2)) * (1 - 0) * 1 = 2 + 1 = 3
  EXPECT_NEAR(eu_supply_risk(4.0, 2.0, 1.0, 0.0, 1.0), 3.0, kEps);
}

TEST(EuSupplyRisk, UsesOnlyEuSourcingWhenImportRelianceIsZero) {
  // (4 * 0 + 2 * 1) * 1 * 1 = 2
  EXPECT_NEAR(eu_supply_risk(4.0, 2.0, 0.0, 0.0, 1.0), 2.0, kEps);
}

TEST(EuSupplyRisk, WeighsByHalfTheImportReliance) {
  // IR = 0.8: 4.87056 * 0.4 + 3.05 * 0.6 = 1.948224 + 1.83 = 3.778224
  EXPECT_NEAR(eu_supply_risk(4.87056, 3.05, 0.8, 0.0, 1.0), 3.778224, kEps);
}

TEST(EuSupplyRisk, IsScaledDownByEndOfLifeRecycling) {
  // (4 * 0.5 + 2 * 0.5) * (1 - 0.25) * 1 = 3 * 0.75 = 2.25
  EXPECT_NEAR(eu_supply_risk(4.0, 2.0, 1.0, 0.25, 1.0), 2.25, kEps);
}

TEST(EuSupplyRisk, IsScaledBySubstitutionIndex) {
  // (4 * 0.5 + 2 * 0.5) * 1 * 0.9 = 3 * 0.9 = 2.7
  EXPECT_NEAR(eu_supply_risk(4.0, 2.0, 1.0, 0.0, 0.9), 2.7, kEps);
}

TEST(EuSupplyRisk, CombinesRecyclingAndSubstitution) {
  // IR = 0.8: 3.778224 (above) * (1 - 0.1) * 0.9 = 3.778224 * 0.81 = 3.06036144
  EXPECT_NEAR(eu_supply_risk(4.87056, 3.05, 0.8, 0.1, 0.9), 3.06036144, kEps);
}

TEST(EuSupplyRisk, IsZeroWithFullRecycling) {
  // (anything) * (1 - 1) = 0
  EXPECT_NEAR(eu_supply_risk(5.0, 3.0, 0.7, 1.0, 1.0), 0.0, kEps);
}

}  // namespace
}  // namespace critmin
