// Coverage of the market engine: every material on the CRMA lists has a market, at least 80 of the
// materials assess covers clear, the few exceptions are listed with their reason, estimates carry
// their quality grade, and a by-product's supply stays under what its hosts contain.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "critmin/market/calibration.h"
#include "critmin/market/market.h"

#include "test_support.h"

namespace critmin::market {
namespace {

using critmin::test::default_data;

std::set<std::string> assessed_materials(const Dataset& data) {
  std::set<std::string> ids;
  for (const SupplyShare& s : data.global_supply_shares) ids.insert(s.material_id);
  return ids;
}

TEST(MarketCoverage, EveryCrmaMaterialHasAMarket) {
  const Dataset& data = default_data();
  const ModelCoverage coverage = market_coverage(data, 2023);
  for (const Material& m : data.materials) {
    if (m.kind != "material" || !(m.is_critical() || m.is_strategic())) continue;
    EXPECT_TRUE(coverage.basis.contains(m.id))
        << m.id << " is on a CRMA list but has no market: "
        << (coverage.not_modelled.contains(m.id) ? coverage.not_modelled.at(m.id) : "?");
  }
}

TEST(MarketCoverage, AtLeastEightyAssessedMaterialsClearAndTheRestAreNamedExceptions) {
  const Dataset& data = default_data();
  const ModelCoverage coverage = market_coverage(data, 2023);
  const std::set<std::string> assessed = assessed_materials(data);
  std::size_t cleared = 0;
  for (const std::string& id : assessed) cleared += coverage.basis.contains(id) ? 1 : 0;
  EXPECT_GE(cleared, 80u);
  // Each exception and why: no public world tonnage was found for it (the row of
  // minor_material_supply.csv says what was searched).
  const std::map<std::string, std::string> expected = {
      {"krypton", "no world output or price in any source found"},
      {"limestone", "USGS counts lime, not limestone; EU CRM covers Europe only"},
      {"natural_teak_wood", "only Myanmar harvest plans of 2013 and 2019"},
      {"sapele_wood", "no tonnage (a log price only)"},
  };
  std::set<std::string> exceptions;
  for (const std::string& id : assessed) {
    if (!coverage.basis.contains(id)) exceptions.insert(id);
  }
  std::set<std::string> expected_ids;
  for (const auto& [id, why] : expected) expected_ids.insert(id);
  EXPECT_EQ(exceptions, expected_ids);
  for (const std::string& id : exceptions) {
    ASSERT_TRUE(coverage.not_modelled.contains(id)) << id;
    EXPECT_NE(coverage.not_modelled.at(id).find("minor_material_supply.csv"), std::string::npos)
        << id << ": the reason should say where to add the missing figure";
  }
}

TEST(MarketCoverage, EstimatedTonnageCarriesItsQualityGradeAndBasis) {
  Result<CalibratedMarket> germanium = build_market(default_data(), "germanium", 2023);
  ASSERT_TRUE(germanium.is_ok()) << germanium.status().to_string();
  const CalibrationInfo& info = germanium.value().info;
  EXPECT_EQ(info.data_quality, "low");
  EXPECT_NE(info.anchor.find("minor_material_supply.csv"), std::string::npos) << info.anchor;
  const MinorMaterialSupply* row = default_data().find_minor_supply("germanium");
  ASSERT_NE(row, nullptr);
  ASSERT_TRUE(row->world_output_t.has_value());
  EXPECT_DOUBLE_EQ(info.world_tonnage_t, *row->world_output_t);
  EXPECT_FALSE(info.price_is_index);
  EXPECT_DOUBLE_EQ(info.base_price_usd_per_t, *row->price_usd_per_t);
  // A material with USGS tonnage keeps the sources as its basis.
  Result<CalibratedMarket> copper = build_market(default_data(), "copper", 2023);
  ASSERT_TRUE(copper.is_ok());
  EXPECT_TRUE(copper.value().info.data_quality.empty());
}

TEST(MarketCoverage, RareEarthElementsClearOnTheirOwnTonnage) {
  for (const char* id :
       {"dysprosium", "terbium", "praseodymium", "lanthanum", "cerium", "yttrium", "samarium"}) {
    Result<CalibratedMarket> market = build_market(default_data(), id, 2023);
    ASSERT_TRUE(market.is_ok()) << id << ": " << market.status().to_string();
    Result<Equilibrium> eq = clear_market(market.value().model);
    ASSERT_TRUE(eq.is_ok()) << id;
    EXPECT_EQ(eq.value().termination, Termination::kOptimal) << id;
  }
}

// Gallium's hosts: all of it from bauxite, recovered at 0.03 today and at most 0.15, so mined
// capacity can reach at most 0.15 / 0.03 = 5 times base output.
TEST(ByproductBound, GalliumCeilingIsMaxOverCurrentRecovery) {
  const ByproductBound bound = byproduct_bound(default_data(), "gallium");
  ASSERT_EQ(bound.hosts, std::vector<std::string>{"bauxite"});
  EXPECT_DOUBLE_EQ(bound.share_of_output, 1.0);
  EXPECT_NEAR(bound.capacity_ratio, 5.0, 1e-12);
  EXPECT_DOUBLE_EQ(bound.raise_cost_multiple, 1.5);
}

// Germanium: 0.6 of output from zinc (0.1 -> 0.4) and 0.4 from coal (0.5 -> 0.8): the ceiling is
// 0.6 x 4 + 0.4 x 1.6 = 3.04, and the raise cost weighs each host's room to grow:
// (0.6 x 3 x 1.8 + 0.4 x 0.6 x 1.3) / (0.6 x 3 + 0.4 x 0.6) = 3.552 / 2.04.
TEST(ByproductBound, TwoHostsWeighTheirShareOfOutput) {
  const ByproductBound bound = byproduct_bound(default_data(), "germanium");
  EXPECT_EQ(bound.hosts.size(), 2u);
  EXPECT_NEAR(bound.capacity_ratio, 3.04, 1e-12);
  EXPECT_NEAR(bound.raise_cost_multiple, 3.552 / 2.04, 1e-12);
}

// A material only partly from hosts (molybdenum: half from copper) is not bounded: primary mines
// can grow.
TEST(ByproductBound, PartlyPrimaryMaterialIsNotBounded) {
  const ByproductBound bound = byproduct_bound(default_data(), "molybdenum");
  EXPECT_FALSE(bound.hosts.empty());
  EXPECT_LT(bound.share_of_output, 1.0);
  EXPECT_EQ(bound.capacity_ratio, 0.0);
}

TEST(ByproductBound, MinedCapacityOfEveryByproductStaysUnderItsHosts) {
  const Dataset& data = default_data();
  std::set<std::string> byproducts;
  for (const ByproductHost& h : data.byproduct_hosts) byproducts.insert(h.byproduct_material_id);
  int checked = 0;
  for (const std::string& id : byproducts) {
    Result<CalibratedMarket> market = build_market(data, id, 2023);
    if (!market.is_ok()) continue;  // not modelled (listed by the coverage test)
    const CalibrationInfo& info = market.value().info;
    if (info.byproduct.capacity_ratio <= 0.0) continue;
    const MarketModel& model = market.value().model;
    Result<Equilibrium> eq = clear_market(model);
    ASSERT_TRUE(eq.is_ok()) << id;
    double base_t = 0.0, capacity_t = 0.0;
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      base_t += info.observed_extraction_share[r];
      for (const SupplyStep& step : model.regions[r].extraction) capacity_t += step.capacity_t;
    }
    const double extracted_base_t =
        info.world_tonnage_t /
        (info.anchor_stage == Stage::kProcessing ? model.processing_yield : 1.0);
    EXPECT_NEAR(base_t, 1.0, 1e-9) << id;
    EXPECT_LE(capacity_t, extracted_base_t * info.byproduct.capacity_ratio * (1.0 + 1e-9)) << id;
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

}  // namespace
}  // namespace critmin::market
