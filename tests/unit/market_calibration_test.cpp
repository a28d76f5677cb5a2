// The base-year equilibrium of every material of the default dataset reproduces the observed
// production shares (within 2 percentage points for every region holding at least 5%) and the
// base-year price where one is known.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "critmin/market/calibration.h"
#include "critmin/market/market.h"

#include "test_support.h"

namespace critmin::market {
namespace {

using critmin::test::default_data;

// Materials that cannot be modelled, with the reason; any other material must calibrate.
TEST(MarketCalibration, ListsEveryMaterialThatCannotBeModelledWithItsReason) {
  const ModelCoverage coverage = market_coverage(default_data(), 2023);
  EXPECT_GE(coverage.modelled.size(), 50u);
  for (const auto& [id, reason] : coverage.not_modelled) {
    // The only accepted reason: the sources carry no production tonnage for the material.
    EXPECT_NE(reason.find("no production tonnage"), std::string::npos) << id << ": " << reason;
  }
  for (const char* id : {"gallium", "lithium", "cobalt", "natural_graphite", "nickel", "copper",
                         "tungsten", "magnesium", "silicon_metal"}) {
    EXPECT_NE(std::find(coverage.modelled.begin(), coverage.modelled.end(), id),
              coverage.modelled.end())
        << id << " should be modelled";
  }
}

TEST(MarketCalibration, BaseYearReproducesProductionSharesAndPriceForEveryMaterial) {
  const ModelCoverage coverage = market_coverage(default_data(), 2023);
  for (const std::string& id : coverage.modelled) {
    auto market = build_market(default_data(), id, 2023);
    ASSERT_TRUE(market.is_ok()) << id;
    auto eq = clear_market(market.value().model);
    ASSERT_TRUE(eq.is_ok()) << id << ": " << eq.status().to_string();
    ASSERT_EQ(eq.value().termination, Termination::kOptimal) << id;
    const MarketModel& model = market.value().model;
    const CalibrationInfo& info = market.value().info;
    for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
      double total = 0.0;
      for (std::size_t r = 0; r < model.regions.size(); ++r) {
        total += eq.value().node(r, stage).production_t;
      }
      ASSERT_GT(total, 0.0) << id;
      const auto& observed = stage == Stage::kExtraction ? info.observed_extraction_share
                                                         : info.observed_processing_share;
      for (std::size_t r = 0; r < model.regions.size(); ++r) {
        if (observed[r] < 0.05) continue;
        const double modelled = eq.value().node(r, stage).production_t / total;
        EXPECT_NEAR(modelled, observed[r], 0.02)
            << id << " " << stage_name(stage) << " " << model.regions[r].name;
      }
    }
    if (!info.price_is_index) {
      // The consumption-weighted processed price lies within the transport margin of the base
      // price (transport costs are 2% of the price by default).
      double value = 0.0, quantity = 0.0;
      for (std::size_t r = 0; r < model.regions.size(); ++r) {
        const NodeResult& p = eq.value().node(r, Stage::kProcessing);
        value += p.price_usd_per_t * p.consumption_t;
        quantity += p.consumption_t;
      }
      ASSERT_GT(quantity, 0.0) << id;
      EXPECT_NEAR(value / quantity / info.base_price_usd_per_t, 1.0, 0.03) << id;
    }
  }
}

TEST(MarketCalibration, UnknownMaterialAndMaterialWithoutTonnageGiveClearErrors) {
  auto unknown = build_market(default_data(), "unobtainium", 2023);
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("unknown material 'unobtainium'"), std::string::npos);
  const ModelCoverage coverage = market_coverage(default_data(), 2023);
  ASSERT_FALSE(coverage.not_modelled.empty());
  auto without = build_market(default_data(), coverage.not_modelled.begin()->first, 2023);
  ASSERT_FALSE(without.is_ok());
  EXPECT_EQ(without.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace critmin::market
