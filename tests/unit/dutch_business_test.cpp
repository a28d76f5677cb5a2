// The Dutch-business scorecard on the whole import bill (issue 16, item 4): the reconciliation
// with CBS's published total, re-exports apart from Dutch use, and the use allocated to NACE
// divisions with nothing dropped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "critmin/sim/scorecard.h"
#include "critmin/sim/simulation.h"
#include "test_support.h"

namespace critmin::sim {
namespace {

using critmin::test::default_data;

// Two years of gallium: the EU price 10% and 30% above base, an EU shortfall of 10/110 and 20%
// of demand of which 4 t and 11 t (10% of demand) are physical shortage, and 1 M USD of fiscal
// cost and 0.2 M USD of levies a year.
SimulationResult gallium_result() {
  SimulationResult r;
  r.materials = {"gallium"};
  r.first_year = 2030;
  r.last_year = 2031;
  r.club_regions = {"EU27", "USA"};
  r.bases = {{"gallium", 400000.0, "test", false}};
  for (int year : {2030, 2031}) {
    const double price = year == 2030 ? 440000.0 : 520000.0;
    r.series.push_back({"gallium", Stage::kProcessing, "EU27", year, price, 20.0, 100.0, 80.0, 0.0,
                        110.0, 10.0, 0.0, 0.0});
    r.shortfalls.push_back({"gallium", "EU27", year, 110.0, year == 2030 ? 10.0 : 22.0,
                            year == 2030 ? 10.0 / 110.0 : 0.2, year == 2030 ? 4.0 : 11.0,
                            year == 2030 ? 6.0 : 11.0});
    r.fiscal.push_back({year, 1e6, 2e5});
  }
  return r;
}

BusinessScorecard business_of(const Dataset& data, const SimulationResult& result) {
  Result<Scorecards> cards = compute_scorecards(data, result);
  EXPECT_TRUE(cards.is_ok()) << cards.status().to_string();
  return cards.is_ok() ? cards.value().business : BusinessScorecard{};
}

double usd_per_eur_of(const Dataset& data, int year) {
  for (const FxRate& r : data.fx_rates) {
    if (r.year == year) return r.usd_per_eur;
  }
  return 0.0;
}

// A dataset of four materials, small enough to work out by hand (the numbers in the comments).
Dataset tiny_dataset() {
  Dataset data = default_data();  // materials, parameters, fx rates and the CBS accounts
  data.cn8_materials = {{"11111111", {"gallium"}, Stage::kProcessing, "gallium"},
                        {"22222222", {"nickel", "cobalt"}, Stage::kProcessing, "a shared basket"},
                        {"33333333", {"scandium"}, Stage::kProcessing, "scandium"}};
  const int year = static_cast<int>(data.parameter("trade_year"));
  data.eu_imports = {
      {"NLD", "CHN", "11111111", year, 600.0, 2},      // gallium 600 + 400 = 1000
      {"NLD", "DEU", "11111111", year, 400.0, 3},      //
      {"NLD", "CAN", "22222222", year, 2000.0, 4},     // nickel 1000, cobalt 1000
      {"NLD", "CHN", "33333333", year, 100.0, 5},      // scandium 100
      {"DEU", "CHN", "11111111", year, 9000.0, 6},     // another declarant: not Dutch
      {"NLD", "CHN", "11111111", year - 1, 7000.0, 7}  // another year: not the trade year
  };
  data.end_use_shares = {{"gallium", "Integrated circuits", 0.70, "C26", "Electronics", {}, 2},
                         {"gallium", "Lighting", 0.25, "C27", "Electrical equipment", {}, 3},
                         {"gallium", "Other", 0.05, "", "", {}, 4},
                         {"cobalt", "Catalysts", 0.60, "C20", "Chemicals", {}, 5},
                         {"cobalt", "Superalloys", 0.40, "C25", "Metal products", {}, 6}};
  // The nickel mapping covers only 80% of its use; scandium has neither table.
  data.nl_end_use_mapping = {
      {"nickel", "Stainless steel", 0.8, "C24", "Basic metals", true, "test", 2}};
  data.nl_re_export_shares = {{"*", 0.3, true, "test", 2}, {"nickel", 0.5, true, "test", 3}};
  data.nl_import_bill = {{"total", "reference", year, 5000.0, false, "test total", 2},
                         {"aluminium", "line", year, 1000.0, true, "test line", 3},
                         {"the rest", "residual", year, std::nullopt, false, "test rest", 4}};
  return data;
}

TEST(DutchImportBill, SeparatesReExportsAndAllocatesUseOnATinyDataset) {
  const Dataset data = tiny_dataset();
  const BusinessScorecard b = business_of(data, gallium_result());
  // Imports 1000 + 1000 + 1000 + 100; re-exports 30% (nickel 50%): 300 + 500 + 300 + 30.
  EXPECT_DOUBLE_EQ(b.imports_eur, 3100.0);
  EXPECT_DOUBLE_EQ(b.re_exports_eur, 1130.0);
  EXPECT_DOUBLE_EQ(b.domestic_use_eur, 1970.0);
  std::map<std::string, const MaterialBill*> bill;
  for (const MaterialBill& m : b.materials) bill[m.material] = &m;
  ASSERT_EQ(bill.size(), 4u);
  EXPECT_DOUBLE_EQ(bill["nickel"]->re_export_share, 0.5);
  EXPECT_DOUBLE_EQ(bill["nickel"]->domestic_use_eur, 500.0);
  EXPECT_DOUBLE_EQ(bill["cobalt"]->re_export_share, 0.3);  // the default row
  EXPECT_DOUBLE_EQ(bill["gallium"]->domestic_use_eur, 700.0);

  // Gallium 700: C26 490, C27 175, 35 without a sector. Nickel 500: C24 400, 100 unmapped.
  // Cobalt 700: C20 420, C25 280. Scandium 70: no end-use data at all.
  std::map<std::string, double> use;
  for (const SectorUse& u : b.use_by_sector) use[u.nace_code] = u.domestic_use_eur;
  const std::map<std::string, double> expected = {
      {"C20", 420.0}, {"C24", 400.0}, {"C25", 280.0}, {"C26", 490.0}, {"C27", 175.0}};
  ASSERT_EQ(use.size(), expected.size());
  for (const auto& [code, value] : expected) EXPECT_NEAR(use[code], value, 1e-9) << code;
  EXPECT_EQ(b.use_by_sector.front().nace_code, "C26");  // largest first
  EXPECT_NEAR(b.unallocated_inputs_eur, 205.0, 1e-9);
  ASSERT_EQ(b.unallocated_inputs.size(), 3u);
  EXPECT_EQ(b.unallocated_inputs[0].material, "nickel");
  EXPECT_NEAR(b.unallocated_inputs[0].value_eur, 100.0, 1e-9);
  EXPECT_NE(b.unallocated_inputs[0].reason.find("covers only 80%"), std::string::npos);
  EXPECT_EQ(b.unallocated_inputs[1].material, "scandium");
  EXPECT_NEAR(b.unallocated_inputs[1].value_eur, 70.0, 1e-9);
  EXPECT_NE(b.unallocated_inputs[1].reason.find("no row in the EU end-use table"),
            std::string::npos);
  EXPECT_EQ(b.unallocated_inputs[2].material, "gallium");
  EXPECT_NEAR(b.unallocated_inputs[2].value_eur, 35.0, 1e-9);
  EXPECT_NE(b.unallocated_inputs[2].reason.find("(Other) without a NACE sector"),
            std::string::npos);

  // Reconciliation: 5000 = 3100 covered + 1000 aluminium + 900 residual.
  EXPECT_DOUBLE_EQ(b.imports_reference_eur, 5000.0);
  ASSERT_EQ(b.reconciliation.size(), 2u);
  EXPECT_EQ(b.reconciliation[0].item, "aluminium");
  EXPECT_EQ(b.reconciliation[1].kind, "residual");
  EXPECT_EQ(b.reconciliation[1].item, "the rest");
  EXPECT_DOUBLE_EQ(b.reconciliation[1].value_eur, 900.0);

  // The input-cost change prices Dutch use, not re-exports: C26 holds 490 EUR of gallium, whose
  // EU price is 20% above base on the mean of the two years.
  const double rate = usd_per_eur_of(data, static_cast<int>(data.parameter("trade_year")));
  ASSERT_GT(rate, 0.0);
  const auto c26 = std::find_if(b.sectors.begin(), b.sectors.end(),
                                [](const SectorCost& s) { return s.nace_code == "C26"; });
  ASSERT_NE(c26, b.sectors.end());
  EXPECT_NEAR(c26->material_inputs_usd, 490.0 * rate, 1e-9);
  EXPECT_NEAR(c26->cost_change_mean_usd, 0.2 * 490.0 * rate, 1e-9);
  EXPECT_EQ(b.sectors.size(), 2u);  // C26 and C27: only gallium is simulated

  // Value added at risk: 700 EUR of Dutch gallium use, physically short by 4/110 and 10% of it
  // (the demand priced out is not at risk: it is priced in the input-cost change).
  ASSERT_GT(b.value_added_per_intermediate, 0.0);
  ASSERT_EQ(b.value_added_at_risk.size(), 1u);
  const ValueAddedAtRisk& risk = b.value_added_at_risk[0];
  const double use_usd = 700.0 * rate;
  EXPECT_NEAR(risk.domestic_use_usd, use_usd, 1e-9);
  EXPECT_NEAR(risk.mean_usd, (4.0 / 110.0 + 0.1) / 2.0 * use_usd * b.value_added_per_intermediate,
              1e-9);
  EXPECT_NEAR(risk.worst_usd, 0.1 * use_usd * b.value_added_per_intermediate, 1e-9);
  EXPECT_EQ(risk.worst_year, 2031);

  // The Dutch share of the club's money: its share of the EU budget.
  const double share = data.parameter("nl_share_of_eu_budget");
  ASSERT_GT(share, 0.0);
  EXPECT_DOUBLE_EQ(b.nl_fiscal_cost_usd, 2e6 * share);
  EXPECT_DOUBLE_EQ(b.nl_levy_revenue_usd, 4e5 * share);
}

TEST(DutchImportBill, ALineThatOvershootsTheReferenceLeavesANegativeResidualAndANote) {
  Dataset data = tiny_dataset();
  data.nl_import_bill[1].value_eur = 2500.0;  // 3100 + 2500 > 5000
  const BusinessScorecard b = business_of(data, gallium_result());
  ASSERT_EQ(b.reconciliation.size(), 2u);
  EXPECT_DOUBLE_EQ(b.reconciliation[1].value_eur, -600.0);
  EXPECT_TRUE(std::any_of(b.notes.begin(), b.notes.end(), [](const std::string& n) {
    return n.find("exceed the reference total") != std::string::npos;
  }));
}

// The reconciliation test of the issue: the default dataset's Dutch import bill against CBS's
// 22.3 bn EUR of 2024. The trade extract covers 66 CN8 codes only, so the bill cannot come within
// 15% of it; every euro of the difference must then sit on a listed line, with its basis.
TEST(DutchImportBill, ReconcilesWithTheCbsTotalLineByLine) {
  const Dataset& data = default_data();
  const BusinessScorecard b = business_of(data, gallium_result());
  // The covered bill, independently: every Dutch import row of the trade year.
  const int year = static_cast<int>(data.parameter("trade_year"));
  std::set<std::string> mapped;
  for (const Cn8Mapping& m : data.cn8_materials) {
    if (!m.material_ids.empty()) mapped.insert(m.cn8);
  }
  double covered = 0.0;
  for (const ImportFlow& f : data.eu_imports) {
    if (f.declarant_iso3 == "NLD" && f.year == year && mapped.contains(f.cn8)) {
      covered += f.value_eur;
    }
  }
  EXPECT_NEAR(b.imports_eur, covered, 1e-6 * covered);
  EXPECT_DOUBLE_EQ(b.imports_reference_eur, 22.3e9);
  EXPECT_EQ(b.imports_reference_year, 2024);
  EXPECT_NE(b.imports_reference_source.find("CBS"), std::string::npos);

  double lines = 0.0;
  int residuals = 0;
  for (const ReconciliationLine& r : b.reconciliation) {
    lines += r.value_eur;
    EXPECT_FALSE(r.basis.empty()) << r.item;
    EXPECT_GE(r.value_eur, 0.0) << r.item;
    if (r.kind == "residual") {
      ++residuals;
      // The residual names what the data lack rather than hiding it.
      EXPECT_NE(r.item.find("not in the data"), std::string::npos);
    } else {
      EXPECT_EQ(r.kind, "line");
    }
  }
  const bool within_15_percent =
      std::abs(b.imports_eur - b.imports_reference_eur) <= 0.15 * b.imports_reference_eur;
  if (!within_15_percent) {
    EXPECT_FALSE(b.reconciliation.empty());
    EXPECT_EQ(residuals, 1);
  }
  EXPECT_NEAR(b.imports_eur + lines, b.imports_reference_eur, 1.0);  // to the euro
}

TEST(DutchImportBill, AllocatesAllButAtMostTenPercentOfDutchUseAndDropsNothing) {
  const BusinessScorecard b = business_of(default_data(), gallium_result());
  ASSERT_GT(b.domestic_use_eur, 0.0);
  EXPECT_GT(b.re_exports_eur, 0.0);
  EXPECT_NEAR(b.imports_eur, b.re_exports_eur + b.domestic_use_eur, 1e-6);
  EXPECT_LE(b.unallocated_inputs_eur, 0.10 * b.domestic_use_eur);
  double allocated = 0.0, listed = 0.0;
  for (const SectorUse& u : b.use_by_sector) allocated += u.domestic_use_eur;
  for (const UnallocatedInput& u : b.unallocated_inputs) {
    listed += u.value_eur;
    EXPECT_FALSE(u.reason.empty()) << u.material;
  }
  EXPECT_NEAR(listed, b.unallocated_inputs_eur, 1e-6);
  EXPECT_NEAR(allocated + listed, b.domestic_use_eur, 1e-6 * b.domestic_use_eur);
  // The materials the issue found dropping out now have a sector.
  std::set<std::string> unallocated_whole;
  for (const MaterialBill& m : b.materials) {
    if (m.domestic_use_eur > 0.0 && m.unallocated_eur >= m.domestic_use_eur) {
      unallocated_whole.insert(m.material);
    }
  }
  for (const char* material : {"nickel", "lithium", "natural_graphite", "molybdenum"}) {
    EXPECT_FALSE(unallocated_whole.contains(material)) << material;
  }
}

TEST(DutchImportBill, ScorecardLinesCarryTheBillAndItsReconciliation) {
  Result<Scorecards> cards = compute_scorecards(default_data(), gallium_result());
  ASSERT_TRUE(cards.is_ok()) << cards.status().to_string();
  std::map<std::string, ScoreLine> by_key;
  for (const ScoreLine& line : scorecard_lines(cards.value())) by_key[line.key] = line;
  const BusinessScorecard& b = cards.value().business;
  for (const char* key : {"imports_eur", "imports_reference_eur", "re_exports_eur",
                          "domestic_use_eur", "unallocated_inputs_eur", "value_added_at_risk",
                          "nl_fiscal_cost", "nl_levy_revenue", "gallium/value_added_at_risk"}) {
    ASSERT_TRUE(by_key.contains(key)) << key;
    EXPECT_EQ(by_key[key].card, "Dutch businesses") << key;
  }
  EXPECT_EQ(by_key["imports_eur"].unit, "EUR");
  EXPECT_DOUBLE_EQ(*by_key["imports_eur"].value, b.imports_eur);
  EXPECT_TRUE(by_key.contains("aluminium/reconciliation"));
  EXPECT_TRUE(by_key.contains("C24/domestic_use"));
}

}  // namespace
}  // namespace critmin::sim
