// assess() on a hand-written fixture dataset (tests/fixtures/assess_small) where every expected
// figure is worked out by hand, and invariants on the shipped default dataset.
//
// The fixture, in brief (WGI scaled = 10 * (2.5 - mean) / 5, reference year 2022):
//   governance: AUS 1.5 -> 2, CHN -0.5 (2022; 2021 = 0.0 and 2023 = 2.5 must be ignored) -> 6,
//               DEU 1.5 -> 2, FRA 1.0 -> 3, JPN 1.0 (2020 only) -> 3, NLD 1.5 -> 2, RUS -1.0 -> 7,
//               USA 1.0 -> 3, BRA none -> wgi_missing_scaled = 5
//   EU27 (fixture) = DEU, FRA, NLD;  club = AUS, DEU, FRA, JPN, NLD, USA
//   global supply shares (share, t):
//     dysprosium P: CHN 0.99, JPN 0.0005 (censored)
//     feldspar   E: FRA 0.8 (t 0.8), CHN 0.15, USA 0.05          (not CRMA-critical)
//     gallium    P: CHN 0.9, DEU 0.06 (t 0.8), JPN 0.04
//     lithium    E: AUS 0.6, CHN 0.25, BRA 0.15
//     neodymium  P: CHN 0.9, JPN 0.1
//     tungsten   E: CHN 0.65, RUS 0.2, AUS 0.15
//   EU sourcing: gallium P: CHN 0.7, DEU 0.2, USA 0.1;  feldspar E: FRA 0.9, CHN 0.1
//   supply_risk_inputs: * = (0, 1, estimate); gallium = (0.1, 0.9, not an estimate)
//   cn8: 81129289 -> gallium P;  28053010 -> neodymium|dysprosium P (shared basket)
//   eu_imports 2024 (EUR): FRA<-CHN 300, FRA<-USA 100, NLD<-CHN 600, NLD<-DEU 400 (81129289);
//                          NLD<-CHN 500, DEU<-JPN 500 (28053010); NLD<-CHN 9999 in 2023 (ignored)
//   fx 2024: 1.0824 USD/EUR; trade_year 2024
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/csv.h"
#include "core/text.h"
#include "critmin/core/files.h"
#include "critmin/metrics/assess.h"
#include "critmin/world/dataset.h"

namespace critmin {
namespace {

constexpr double kEps = 1e-9;

const std::filesystem::path kSmallDir =
    std::filesystem::path(CRITMIN_TEST_FIXTURES) / "assess_small";

// Loads a dataset once per process; a failed load is reported by every test that uses it.
const Result<Dataset>& small_dataset() {
  static const Result<Dataset> data = load_dataset(kSmallDir);
  return data;
}
const Result<Dataset>& default_dataset() {
  static const Result<Dataset> data = load_dataset(CRITMIN_TEST_DATA);
  return data;
}

const AssessmentRow* find_row(const std::vector<AssessmentRow>& rows, const std::string& material,
                              Stage stage) {
  for (const AssessmentRow& r : rows) {
    if (r.material == material && r.stage == stage) return &r;
  }
  return nullptr;
}

const ImportDependency* find_import(const AssessmentRow& row, const std::string& region) {
  for (const ImportDependency& d : row.imports) {
    if (d.region == region) return &d;
  }
  return nullptr;
}

std::vector<std::pair<std::string, Stage>> keys_of(const std::vector<AssessmentRow>& rows) {
  std::vector<std::pair<std::string, Stage>> keys;
  for (const AssessmentRow& r : rows) keys.emplace_back(r.material, r.stage);
  return keys;
}

// Runs assess on the fixture; fails the test (through the returned Result) when it cannot load.
Result<std::vector<AssessmentRow>> assess_small(const AssessOptions& options) {
  const Result<Dataset>& data = small_dataset();
  CRITMIN_RETURN_IF_ERROR(data);
  return assess(data.value(), options);
}

#define ASSERT_OK(result) ASSERT_TRUE((result).is_ok()) << (result).status().to_string()

// ---- the fixture loads ------------------------------------------------------------------------

TEST(AssessFixture, LoadsWithoutProblems) {
  ASSERT_OK(small_dataset());
  EXPECT_TRUE(check_dataset(kSmallDir).empty());
  EXPECT_EQ(small_dataset().value().materials.size(), 7u);
  EXPECT_EQ(small_dataset().value().global_supply_shares.size(), 16u);
}

// ---- rows and their order ---------------------------------------------------------------------

TEST(Assess, ReturnsOneRowPerMaterialAndStageWithSharesOrderedById) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  // hree (a group) has no shares of its own, so it has no row.
  const std::vector<std::pair<std::string, Stage>> expected = {
      {"dysprosium", Stage::kProcessing}, {"feldspar", Stage::kExtraction},
      {"gallium", Stage::kProcessing},    {"lithium", Stage::kExtraction},
      {"neodymium", Stage::kProcessing},  {"tungsten", Stage::kExtraction}};
  EXPECT_EQ(keys_of(rows.value()), expected);
}

// ---- concentration ----------------------------------------------------------------------------

TEST(Assess, ComputesConcentrationOfGalliumProcessing) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "gallium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->material_name, "Gallium");
  EXPECT_TRUE(r->crma_critical);
  EXPECT_TRUE(r->crma_strategic);
  EXPECT_EQ(r->group, "");
  EXPECT_EQ(r->supplier_count, 3);
  // 90^2 + 6^2 + 4^2 = 8100 + 36 + 16 = 8152
  EXPECT_NEAR(r->hhi, 8152.0, kEps);
  EXPECT_EQ(r->top_country, "CHN");
  EXPECT_NEAR(r->top_share, 0.9, kEps);
  // 0.9 + 0.06 + 0.04 = 1.0
  EXPECT_NEAR(r->top3_share, 1.0, kEps);
  // 0.81*6*1 + 0.0036*2*0.8 + 0.0016*3*1 = 4.86 + 0.00576 + 0.0048 = 4.87056
  EXPECT_NEAR(r->hhi_wgi, 4.87056, kEps);
  EXPECT_EQ(r->suppliers_without_wgi, 0);
}

TEST(Assess, ComputesTopThreeShareFromTheThreeLargestSuppliersOnly) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "dysprosium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->group, "HREE");
  EXPECT_EQ(r->supplier_count, 2);
  // 99^2 + 0.05^2 = 9801 + 0.0025 = 9801.0025
  EXPECT_NEAR(r->hhi, 9801.0025, kEps);
  // 0.99 + 0.0005 = 0.9905
  EXPECT_NEAR(r->top3_share, 0.9905, kEps);
  // 0.9801*6 + 0.00000025*3 = 5.8806 + 0.00000075 = 5.88060075
  EXPECT_NEAR(r->hhi_wgi, 5.88060075, kEps);
}

TEST(Assess, UsesTheMissingGovernanceScoreAndCountsSuppliersWithoutWgi) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "lithium", Stage::kExtraction);
  ASSERT_NE(r, nullptr);
  // 60^2 + 25^2 + 15^2 = 3600 + 625 + 225 = 4450
  EXPECT_NEAR(r->hhi, 4450.0, kEps);
  EXPECT_EQ(r->top_country, "AUS");
  EXPECT_NEAR(r->top_share, 0.6, kEps);
  EXPECT_NEAR(r->top3_share, 1.0, kEps);
  // AUS 0.36*2 + CHN 0.0625*6 + BRA (no WGI -> 5) 0.0225*5 = 0.72 + 0.375 + 0.1125 = 1.2075
  EXPECT_NEAR(r->hhi_wgi, 1.2075, kEps);
  EXPECT_EQ(r->suppliers_without_wgi, 1);
}

TEST(Assess, UsesTheLatestGovernanceYearNotAfterTheReferenceYear) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "neodymium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  // CHN must use 2022 (-0.5 -> 6), not 2021 (0.0 -> 5, listed after 2022) nor 2023 (2.5 -> 0);
  // JPN has only 2020 (1.0 -> 3).
  // 0.81*6 + 0.01*3 = 4.86 + 0.03 = 4.89   (2021: 4.08, 2023: 0.03, JPN missing: 4.91)
  EXPECT_NEAR(r->hhi_wgi, 4.89, kEps);
  EXPECT_EQ(r->suppliers_without_wgi, 0);
}

TEST(Assess, AppliesTheTradeFactorOfAnEuSupplier) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "feldspar", Stage::kExtraction);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->crma_critical);
  EXPECT_FALSE(r->crma_strategic);
  // 80^2 + 15^2 + 5^2 = 6400 + 225 + 25 = 6650
  EXPECT_NEAR(r->hhi, 6650.0, kEps);
  // FRA 0.64*3*0.8 + CHN 0.0225*6 + USA 0.0025*3 = 1.536 + 0.135 + 0.0075 = 1.6785
  EXPECT_NEAR(r->hhi_wgi, 1.6785, kEps);
}

// ---- the CRMA 65% benchmark -------------------------------------------------------------------

TEST(CrmaBenchmark, IsBreachedWhenOneThirdCountryHoldsMoreThanSixtyFivePercent) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "gallium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->largest_third_country, "CHN");
  EXPECT_NEAR(r->largest_third_country_share, 0.9, kEps);
  EXPECT_TRUE(r->crma_single_country_breach);
}

TEST(CrmaBenchmark, IsNotBreachedByAThirdCountryAtSixtyPercent) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "lithium", Stage::kExtraction);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->largest_third_country, "AUS");
  EXPECT_NEAR(r->largest_third_country_share, 0.6, kEps);
  EXPECT_FALSE(r->crma_single_country_breach);
}

TEST(CrmaBenchmark, IsNotBreachedByAnEuMemberAtEightyPercent) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "feldspar", Stage::kExtraction);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->top_country, "FRA");
  EXPECT_NEAR(r->top_share, 0.8, kEps);
  // FRA is in EU27, so the largest third country is CHN with 0.15.
  EXPECT_EQ(r->largest_third_country, "CHN");
  EXPECT_NEAR(r->largest_third_country_share, 0.15, kEps);
  EXPECT_FALSE(r->crma_single_country_breach);
}

TEST(CrmaBenchmark, IsNotBreachedAtExactlySixtyFivePercent) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "tungsten", Stage::kExtraction);
  ASSERT_NE(r, nullptr);
  // 65^2 + 20^2 + 15^2 = 4225 + 400 + 225 = 4850
  EXPECT_NEAR(r->hhi, 4850.0, kEps);
  // CHN 0.4225*6 + RUS 0.04*7 + AUS 0.0225*2 = 2.535 + 0.28 + 0.045 = 2.86
  EXPECT_NEAR(r->hhi_wgi, 2.86, kEps);
  EXPECT_EQ(r->largest_third_country, "CHN");
  EXPECT_NEAR(r->largest_third_country_share, 0.65, kEps);
  EXPECT_FALSE(r->crma_single_country_breach);  // "more than 65%" is strict
}

// ---- bloc share -------------------------------------------------------------------------------

TEST(BlocShare, SumsTheSharesOfANamedBlocsMembers) {
  AssessOptions options;
  options.bloc = "club";
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  const AssessmentRow* ga = find_row(rows.value(), "gallium", Stage::kProcessing);
  const AssessmentRow* li = find_row(rows.value(), "lithium", Stage::kExtraction);
  const AssessmentRow* fe = find_row(rows.value(), "feldspar", Stage::kExtraction);
  ASSERT_NE(ga, nullptr);
  ASSERT_NE(li, nullptr);
  ASSERT_NE(fe, nullptr);
  EXPECT_EQ(ga->bloc, "club");
  ASSERT_TRUE(ga->bloc_share.has_value());
  // gallium: DEU 0.06 + JPN 0.04 = 0.10 (CHN is not a member)
  EXPECT_NEAR(*ga->bloc_share, 0.10, kEps);
  // lithium: AUS 0.6
  ASSERT_TRUE(li->bloc_share.has_value());
  EXPECT_NEAR(*li->bloc_share, 0.6, kEps);
  // feldspar: FRA 0.8 + USA 0.05 = 0.85
  ASSERT_TRUE(fe->bloc_share.has_value());
  EXPECT_NEAR(*fe->bloc_share, 0.85, kEps);
}

TEST(BlocShare, MatchesABlocNameCaseInsensitively) {
  AssessOptions options;
  options.bloc = "CLUB";
  options.materials = {"gallium"};
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  ASSERT_EQ(rows.value().size(), 1u);
  ASSERT_TRUE(rows.value()[0].bloc_share.has_value());
  EXPECT_NEAR(*rows.value()[0].bloc_share, 0.10, kEps);
}

TEST(BlocShare, SumsTheSharesOfAnAdHocIso3List) {
  for (const char* list : {"USA,JPN", "usa, jpn"}) {
    AssessOptions options;
    options.bloc = list;
    const auto rows = assess_small(options);
    ASSERT_OK(rows);
    const AssessmentRow* ga = find_row(rows.value(), "gallium", Stage::kProcessing);
    const AssessmentRow* fe = find_row(rows.value(), "feldspar", Stage::kExtraction);
    ASSERT_NE(ga, nullptr);
    ASSERT_NE(fe, nullptr);
    EXPECT_EQ(ga->bloc, list);
    ASSERT_TRUE(ga->bloc_share.has_value()) << list;
    // gallium: JPN 0.04 (no USA supply)
    EXPECT_NEAR(*ga->bloc_share, 0.04, kEps) << list;
    // feldspar: USA 0.05
    ASSERT_TRUE(fe->bloc_share.has_value()) << list;
    EXPECT_NEAR(*fe->bloc_share, 0.05, kEps) << list;
  }
}

TEST(BlocShare, ExpandsABlocNameInsideAList) {
  AssessOptions options;
  options.bloc = "USA,EU27";
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  const AssessmentRow* ga = find_row(rows.value(), "gallium", Stage::kProcessing);
  const AssessmentRow* fe = find_row(rows.value(), "feldspar", Stage::kExtraction);
  ASSERT_NE(ga, nullptr);
  ASSERT_NE(fe, nullptr);
  // gallium: DEU 0.06;  feldspar: FRA 0.8 + USA 0.05 = 0.85
  EXPECT_NEAR(ga->bloc_share.value_or(-1.0), 0.06, kEps);
  EXPECT_NEAR(fe->bloc_share.value_or(-1.0), 0.85, kEps);
}

TEST(BlocShare, IsAbsentWithoutABloc) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  for (const AssessmentRow& r : rows.value()) {
    EXPECT_FALSE(r.bloc_share.has_value()) << r.material;
    EXPECT_EQ(r.bloc, "") << r.material;
  }
}

// ---- EU sourcing, import reliance and supply risk --------------------------------------------

TEST(SupplyRisk, TakesImportRelianceAsOneMinusTheEuShareOfEuSourcing) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "gallium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  // EU sourcing CHN 0.7, DEU 0.2, USA 0.1; EU27 part = DEU 0.2 -> IR = 1 - 0.2 = 0.8
  EXPECT_NEAR(r->import_reliance, 0.8, kEps);
  EXPECT_FALSE(r->import_reliance_estimated);
  // 70^2 + 20^2 + 10^2 = 4900 + 400 + 100 = 5400
  ASSERT_TRUE(r->eu_sourcing_hhi.has_value());
  EXPECT_NEAR(*r->eu_sourcing_hhi, 5400.0, kEps);
  EXPECT_EQ(r->eu_sourcing_top_country, "CHN");
  EXPECT_NEAR(r->eu_sourcing_top_share, 0.7, kEps);
  // 0.49*6 + 0.04*2 + 0.01*3 = 2.94 + 0.08 + 0.03 = 3.05
  ASSERT_TRUE(r->hhi_wgi_eu_sourcing.has_value());
  EXPECT_NEAR(*r->hhi_wgi_eu_sourcing, 3.05, kEps);
}

TEST(SupplyRisk, UsesTheMaterialsOwnInputsAndMarksNothingAsEstimated) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "gallium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  EXPECT_NEAR(r->eol_rir, 0.1, kEps);
  EXPECT_NEAR(r->substitution_index, 0.9, kEps);
  // (4.87056 * 0.8/2 + 3.05 * (1 - 0.8/2)) * (1 - 0.1) * 0.9
  //   = (1.948224 + 1.83) * 0.81 = 3.778224 * 0.81 = 3.06036144
  EXPECT_NEAR(r->supply_risk, 3.06036144, kEps);
  EXPECT_TRUE(r->estimated_inputs.empty());
  ASSERT_TRUE(r->published_supply_risk_2023.has_value());
  EXPECT_NEAR(*r->published_supply_risk_2023, 3.9, kEps);
}

TEST(SupplyRisk, UsesTheDefaultInputsAndFlagsThemAsEstimates) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "feldspar", Stage::kExtraction);
  ASSERT_NE(r, nullptr);
  // EU sourcing FRA 0.9 (EU), CHN 0.1: IR = 1 - 0.9 = 0.1; HHI 81^... = 8100 + 100 = 8200
  EXPECT_NEAR(r->import_reliance, 0.1, kEps);
  EXPECT_NEAR(r->eu_sourcing_hhi.value_or(-1.0), 8200.0, kEps);
  // HHI_WGI EU = 0.81*3 + 0.01*6 = 2.43 + 0.06 = 2.49
  EXPECT_NEAR(r->hhi_wgi_eu_sourcing.value_or(-1.0), 2.49, kEps);
  EXPECT_NEAR(r->eol_rir, 0.0, kEps);
  EXPECT_NEAR(r->substitution_index, 1.0, kEps);
  // (1.6785 * 0.05 + 2.49 * 0.95) * 1 * 1 = 0.083925 + 2.3655 = 2.449425
  EXPECT_NEAR(r->supply_risk, 2.449425, kEps);
  EXPECT_EQ(r->estimated_inputs, (std::vector<std::string>{"eol_rir", "substitution_index"}));
  EXPECT_FALSE(r->published_supply_risk_2023.has_value());
}

TEST(SupplyRisk, AssumesFullImportRelianceWithoutEuSourcingData) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "lithium", Stage::kExtraction);
  ASSERT_NE(r, nullptr);
  EXPECT_NEAR(r->import_reliance, 1.0, kEps);
  EXPECT_TRUE(r->import_reliance_estimated);
  EXPECT_FALSE(r->eu_sourcing_hhi.has_value());
  EXPECT_FALSE(r->hhi_wgi_eu_sourcing.has_value());
  EXPECT_EQ(r->eu_sourcing_top_country, "");
  // both terms use the global HHI_WGI: 1.2075 * 1/2 + 1.2075 * 1/2 = 1.2075; * 1 * 1
  EXPECT_NEAR(r->supply_risk, 1.2075, kEps);
  EXPECT_EQ(r->estimated_inputs,
            (std::vector<std::string>{"import_reliance", "eol_rir", "substitution_index"}));
  // the 2023 history row has an empty supply_risk cell
  EXPECT_FALSE(r->published_supply_risk_2023.has_value());
}

TEST(SupplyRisk, AppliesOverridesAndDropsThemFromTheEstimates) {
  AssessOptions options;
  options.materials = {"lithium"};
  options.overrides["lithium"] = {0.2, 0.5, "test"};
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  ASSERT_EQ(rows.value().size(), 1u);
  const AssessmentRow& r = rows.value()[0];
  EXPECT_NEAR(r.eol_rir, 0.2, kEps);
  EXPECT_NEAR(r.substitution_index, 0.5, kEps);
  // 1.2075 * (1 - 0.2) * 0.5 = 1.2075 * 0.4 = 0.483
  EXPECT_NEAR(r.supply_risk, 0.483, kEps);
  EXPECT_EQ(r.estimated_inputs, (std::vector<std::string>{"import_reliance"}));
}

TEST(SupplyRisk, AppliesAPartialOverrideAndKeepsTheOtherEstimate) {
  AssessOptions options;
  options.materials = {"lithium"};
  options.overrides["lithium"].substitution_index = 0.8;
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  ASSERT_EQ(rows.value().size(), 1u);
  const AssessmentRow& r = rows.value()[0];
  EXPECT_NEAR(r.eol_rir, 0.0, kEps);
  // 1.2075 * 1 * 0.8 = 0.966
  EXPECT_NEAR(r.supply_risk, 0.966, kEps);
  EXPECT_EQ(r.estimated_inputs, (std::vector<std::string>{"import_reliance", "eol_rir"}));
}

// ---- world production -------------------------------------------------------------------------

TEST(WorldProduction, TakesTheWorldTotalOfTheLatestYear) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "gallium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  // 2023 rows: CHN 700, WLD 760 -> the WLD row; 2022 is older
  ASSERT_TRUE(r->world_production_t.has_value());
  EXPECT_NEAR(*r->world_production_t, 760.0, kEps);
  EXPECT_EQ(r->world_production_year, 2023);
  EXPECT_EQ(r->world_production_basis, "contained Ga");
}

TEST(WorldProduction, SumsTheCountriesWhenThereIsNoWorldTotal) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* li = find_row(rows.value(), "lithium", Stage::kExtraction);
  const AssessmentRow* fe = find_row(rows.value(), "feldspar", Stage::kExtraction);
  ASSERT_NE(li, nullptr);
  ASSERT_NE(fe, nullptr);
  // AUS 80000 + CHN 30000 = 110000
  ASSERT_TRUE(li->world_production_t.has_value());
  EXPECT_NEAR(*li->world_production_t, 110000.0, kEps);
  EXPECT_EQ(li->world_production_year, 2023);
  EXPECT_FALSE(fe->world_production_t.has_value());
}

// ---- import dependency ------------------------------------------------------------------------

TEST(ImportDependency, CountsOnlyExtraEuPartnersForTheEu) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "gallium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->imports.size(), 2u);
  const ImportDependency* eu = find_import(*r, "EU27");
  ASSERT_NE(eu, nullptr);
  EXPECT_EQ(eu->year, 2024);
  // extra-EU 2024: CHN 300 + 600 = 900, USA 100 (NLD<-DEU 400 is intra-EU) -> 1000 EUR
  EXPECT_NEAR(eu->value_eur, 1000.0, kEps);
  // 1000 EUR * 1.0824 USD/EUR = 1082.4 USD
  EXPECT_NEAR(eu->value_usd, 1082.4, kEps);
  EXPECT_EQ(eu->top_partner, "CHN");
  EXPECT_NEAR(eu->top_partner_share, 0.9, kEps);
  // 90^2 + 10^2 = 8100 + 100 = 8200
  EXPECT_NEAR(eu->partner_hhi, 8200.0, kEps);
  EXPECT_NEAR(eu->extra_eu_share, 1.0, kEps);
  // 8152/10000 * (0.9 * 6/10 + 0.1 * 3/10) = 0.8152 * (0.54 + 0.03) = 0.8152 * 0.57 = 0.464664
  EXPECT_NEAR(eu->import_weighted_risk, 0.464664, kEps);
  EXPECT_EQ(eu->cn8_codes, (std::vector<std::string>{"81129289"}));
  EXPECT_FALSE(eu->shared_basket);
}

TEST(ImportDependency, CountsAllPartnersForTheNetherlands) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "gallium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  const ImportDependency* nl = find_import(*r, "NLD");
  ASSERT_NE(nl, nullptr);
  EXPECT_EQ(nl->year, 2024);
  // NLD 2024: CHN 600 + DEU 400 = 1000 EUR (the 2023 row of 9999 is another year)
  EXPECT_NEAR(nl->value_eur, 1000.0, kEps);
  EXPECT_NEAR(nl->value_usd, 1082.4, kEps);
  EXPECT_EQ(nl->top_partner, "CHN");
  EXPECT_NEAR(nl->top_partner_share, 0.6, kEps);
  // 60^2 + 40^2 = 3600 + 1600 = 5200
  EXPECT_NEAR(nl->partner_hhi, 5200.0, kEps);
  // only CHN is outside EU27: 0.6
  EXPECT_NEAR(nl->extra_eu_share, 0.6, kEps);
  // 0.8152 * (0.6 * 6/10 + 0.4 * 2/10) = 0.8152 * (0.36 + 0.08) = 0.8152 * 0.44 = 0.358688
  EXPECT_NEAR(nl->import_weighted_risk, 0.358688, kEps);
}

// Issue 20, the dependency question: China's share is reported wherever another partner leads,
// and totals over materials count a shared basket once.
TEST(ImportDependency, ListsTheMainPartnersWithChinaAlways) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "gallium", Stage::kProcessing);
  ASSERT_NE(r, nullptr);
  const ImportDependency* nl = find_import(*r, "NLD");
  ASSERT_NE(nl, nullptr);
  // NLD 2024: CHN 600, DEU 400 of 1000 EUR, largest first.
  ASSERT_EQ(nl->main_partners.size(), 2u);
  EXPECT_EQ(nl->main_partners[0].iso3, "CHN");
  EXPECT_NEAR(nl->main_partners[0].share, 0.6, kEps);
  EXPECT_NEAR(nl->main_partners[0].value_eur, 600.0, kEps);
  EXPECT_EQ(nl->main_partners[1].iso3, "DEU");
  EXPECT_NEAR(nl->china_share, 0.6, kEps);
  // A basket China does not lead: neodymium's extra-EU imports are CHN 500 and JPN 500, a tie.
  const AssessmentRow* nd = find_row(rows.value(), "neodymium", Stage::kProcessing);
  ASSERT_NE(nd, nullptr);
  const ImportDependency* nd_eu = find_import(*nd, "EU27");
  ASSERT_NE(nd_eu, nullptr);
  EXPECT_NEAR(nd_eu->china_share, 0.5, kEps);
  bool china_listed = false;
  for (const PartnerShare& p : nd_eu->main_partners) china_listed |= p.iso3 == "CHN";
  EXPECT_TRUE(china_listed);
}

TEST(ImportDependency, TotalsCountASharedBasketOnce) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* nd = find_row(rows.value(), "neodymium", Stage::kProcessing);
  const AssessmentRow* dy = find_row(rows.value(), "dysprosium", Stage::kProcessing);
  ASSERT_NE(nd, nullptr);
  ASSERT_NE(dy, nullptr);
  // Both rows carry the whole 28053010 basket (1000 EUR extra-EU); the total holds it once.
  const std::vector<ImportTotal> totals = import_totals({*nd, *dy});
  const auto eu = std::find_if(totals.begin(), totals.end(),
                               [](const ImportTotal& t) { return t.region == "EU27"; });
  ASSERT_NE(eu, totals.end());
  EXPECT_NEAR(eu->value_eur, 1000.0, kEps);
  EXPECT_NEAR(eu->value_usd, 1082.4, kEps);
  EXPECT_EQ(eu->codes, 1u);
  EXPECT_EQ(eu->shared_codes, 1u);
}

TEST(ImportDependency, CountsASharedBasketForEachOfItsMaterials) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* nd = find_row(rows.value(), "neodymium", Stage::kProcessing);
  const AssessmentRow* dy = find_row(rows.value(), "dysprosium", Stage::kProcessing);
  ASSERT_NE(nd, nullptr);
  ASSERT_NE(dy, nullptr);
  const ImportDependency* nd_eu = find_import(*nd, "EU27");
  const ImportDependency* dy_eu = find_import(*dy, "EU27");
  const ImportDependency* nd_nl = find_import(*nd, "NLD");
  ASSERT_NE(nd_eu, nullptr);
  ASSERT_NE(dy_eu, nullptr);
  ASSERT_NE(nd_nl, nullptr);
  EXPECT_TRUE(nd_eu->shared_basket);
  EXPECT_TRUE(dy_eu->shared_basket);
  EXPECT_EQ(nd_eu->cn8_codes, (std::vector<std::string>{"28053010"}));
  // extra-EU: CHN 500 + JPN 500 = 1000 EUR for each material of the basket
  EXPECT_NEAR(nd_eu->value_eur, 1000.0, kEps);
  EXPECT_NEAR(dy_eu->value_eur, 1000.0, kEps);
  // 50^2 + 50^2 = 5000; a tie goes to the first partner in ISO3 order (CHN)
  EXPECT_NEAR(nd_eu->partner_hhi, 5000.0, kEps);
  EXPECT_EQ(nd_eu->top_partner, "CHN");
  EXPECT_NEAR(nd_eu->top_partner_share, 0.5, kEps);
  // neodymium: 8200/10000 * (0.5*0.6 + 0.5*0.3) = 0.82 * 0.45 = 0.369
  EXPECT_NEAR(nd_eu->import_weighted_risk, 0.369, kEps);
  // dysprosium: 9801.0025/10000 * 0.45 = 0.98010025 * 0.45 = 0.4410451125
  EXPECT_NEAR(dy_eu->import_weighted_risk, 0.4410451125, kEps);
  // NLD: CHN 500 only -> share 1, HHI 10000, risk 0.82 * 0.6 = 0.492
  EXPECT_NEAR(nd_nl->value_eur, 500.0, kEps);
  EXPECT_NEAR(nd_nl->top_partner_share, 1.0, kEps);
  EXPECT_NEAR(nd_nl->partner_hhi, 10000.0, kEps);
  EXPECT_NEAR(nd_nl->import_weighted_risk, 0.492, kEps);
}

TEST(ImportDependency, IsAbsentForAMaterialWithoutCn8Codes) {
  const auto rows = assess_small({});
  ASSERT_OK(rows);
  const AssessmentRow* r = find_row(rows.value(), "lithium", Stage::kExtraction);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->imports.empty());
}

TEST(ImportDependency, ReportsAnEuMemberStateGivenAsRegion) {
  AssessOptions options;
  options.materials = {"gallium"};
  options.regions = {"FRA"};
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  ASSERT_EQ(rows.value().size(), 1u);
  ASSERT_EQ(rows.value()[0].imports.size(), 1u);
  const ImportDependency& fr = rows.value()[0].imports[0];
  EXPECT_EQ(fr.region, "FRA");
  // FRA: CHN 300 + USA 100 = 400 EUR; 400 * 1.0824 = 432.96 USD
  EXPECT_NEAR(fr.value_eur, 400.0, kEps);
  EXPECT_NEAR(fr.value_usd, 432.96, kEps);
  // 75^2 + 25^2 = 5625 + 625 = 6250
  EXPECT_NEAR(fr.partner_hhi, 6250.0, kEps);
  // 0.8152 * (0.75*0.6 + 0.25*0.3) = 0.8152 * 0.525 = 0.42798
  EXPECT_NEAR(fr.import_weighted_risk, 0.42798, kEps);
}

TEST(ImportDependency, AcceptsRegionsInAnyCase) {
  AssessOptions options;
  options.materials = {"gallium"};
  options.regions = {"eu27", "nld", " Fra "};
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  ASSERT_EQ(rows.value().size(), 1u);
  std::vector<std::string> regions;
  for (const ImportDependency& d : rows.value()[0].imports) regions.push_back(d.region);
  EXPECT_EQ(regions, (std::vector<std::string>{"EU27", "NLD", "FRA"}));
  options.regions = {"FRA"};
  const auto upper = assess_small(options);
  ASSERT_OK(upper);
  ASSERT_EQ(upper.value()[0].imports.size(), 1u);
  EXPECT_NEAR(rows.value()[0].imports[2].value_eur, upper.value()[0].imports[0].value_eur, kEps);
  EXPECT_NEAR(rows.value()[0].imports[2].value_eur, 400.0, kEps);
}

TEST(ImportDependency, NeverReportsZeroDollarsWhenTheTradeYearHasNoFxRate) {
  // A copy of the fixture without the 2024 (trade_year) exchange rate: either the dataset is
  // rejected as incomplete, or the import value in USD is not silently 0 for 1000 EUR.
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("assess_nofx_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::copy(kSmallDir, dir, std::filesystem::copy_options::recursive);
  ASSERT_TRUE(write_text_file(dir / "fx_rates.csv",
                              "year,usd_per_eur,is_estimate,basis\n2023,1.0813,true,fixture\n")
                  .is_ok());
  const Result<Dataset> data = load_dataset(dir);
  std::filesystem::remove_all(dir);
  if (!data.is_ok()) {
    EXPECT_EQ(data.status().code(), StatusCode::kInvalidInput);
    return;  // rejected: fine
  }
  AssessOptions options;
  options.materials = {"gallium"};
  const auto rows = assess(data.value(), options);
  if (!rows.is_ok()) return;  // refused: fine
  for (const AssessmentRow& r : rows.value()) {
    for (const ImportDependency& d : r.imports) {
      EXPECT_NEAR(d.value_eur, 1000.0, kEps) << d.region;
      EXPECT_GT(d.value_usd, 0.0) << d.region << ": 1000 EUR reported as 0 USD";
    }
  }
}

// ---- selection --------------------------------------------------------------------------------

TEST(AssessSelection, SelectsAMaterialByIdNameAliasOrAnyCase) {
  for (const char* name : {"gallium", "Gallium", "GALLIUM", " gallium ", "Ga metal"}) {
    AssessOptions options;
    options.materials = {name};
    const auto rows = assess_small(options);
    ASSERT_OK(rows);
    EXPECT_EQ(keys_of(rows.value()),
              (std::vector<std::pair<std::string, Stage>>{{"gallium", Stage::kProcessing}}))
        << name;
  }
}

TEST(AssessSelection, SelectsSeveralMaterials) {
  AssessOptions options;
  options.materials = {"lithium", "gallium"};
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  EXPECT_EQ(keys_of(rows.value()),
            (std::vector<std::pair<std::string, Stage>>{{"gallium", Stage::kProcessing},
                                                        {"lithium", Stage::kExtraction}}));
}

TEST(AssessSelection, SelectsTheMembersOfTheReeGroup) {
  AssessOptions options;
  options.materials = {"REE"};
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  EXPECT_EQ(keys_of(rows.value()),
            (std::vector<std::pair<std::string, Stage>>{{"dysprosium", Stage::kProcessing},
                                                        {"neodymium", Stage::kProcessing}}));
}

TEST(AssessSelection, SelectsAGroupThroughItsGroupMaterialOrItsLabel) {
  AssessOptions hree;  // the fixture has a "hree" group material
  hree.materials = {"HREE"};
  const auto h = assess_small(hree);
  ASSERT_OK(h);
  EXPECT_EQ(keys_of(h.value()),
            (std::vector<std::pair<std::string, Stage>>{{"dysprosium", Stage::kProcessing}}));
  AssessOptions lree;  // no "lree" material: the label matches the group column
  lree.materials = {"lree"};
  const auto l = assess_small(lree);
  ASSERT_OK(l);
  EXPECT_EQ(keys_of(l.value()),
            (std::vector<std::pair<std::string, Stage>>{{"neodymium", Stage::kProcessing}}));
}

TEST(AssessSelection, FiltersByStage) {
  AssessOptions processing;
  processing.stage = Stage::kProcessing;
  const auto p = assess_small(processing);
  ASSERT_OK(p);
  EXPECT_EQ(keys_of(p.value()),
            (std::vector<std::pair<std::string, Stage>>{{"dysprosium", Stage::kProcessing},
                                                        {"gallium", Stage::kProcessing},
                                                        {"neodymium", Stage::kProcessing}}));
  AssessOptions extraction;
  extraction.stage = Stage::kExtraction;
  const auto e = assess_small(extraction);
  ASSERT_OK(e);
  EXPECT_EQ(keys_of(e.value()),
            (std::vector<std::pair<std::string, Stage>>{{"feldspar", Stage::kExtraction},
                                                        {"lithium", Stage::kExtraction},
                                                        {"tungsten", Stage::kExtraction}}));
}

TEST(AssessSelection, KeepsOnlyBreachesWhenAsked) {
  AssessOptions options;
  options.breaches_only = true;
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  // CHN 0.99 (dysprosium), 0.9 (gallium), 0.9 (neodymium); tungsten's 0.65 is not a breach
  EXPECT_EQ(keys_of(rows.value()),
            (std::vector<std::pair<std::string, Stage>>{{"dysprosium", Stage::kProcessing},
                                                        {"gallium", Stage::kProcessing},
                                                        {"neodymium", Stage::kProcessing}}));
}

TEST(AssessSelection, ReturnsNoRowsButNoErrorWhenASelectedMaterialHasNoBreach) {
  AssessOptions options;
  options.materials = {"lithium"};
  options.breaches_only = true;
  const auto rows = assess_small(options);
  ASSERT_OK(rows);
  EXPECT_TRUE(rows.value().empty());
}

// ---- errors -----------------------------------------------------------------------------------

TEST(AssessErrors, RejectsAnUnknownMaterialNamingIt) {
  AssessOptions options;
  options.materials = {"unobtainium"};
  const auto rows = assess_small(options);
  ASSERT_FALSE(rows.is_ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kNotFound);
  EXPECT_NE(rows.status().message().find("unknown material 'unobtainium'"), std::string::npos)
      << rows.status().message();
}

TEST(AssessErrors, RejectsAnEmptyMaterialName) {
  for (const std::string& name : {std::string(), std::string("  ")}) {
    AssessOptions options;
    options.materials = {"gallium", name};
    const auto rows = assess_small(options);
    ASSERT_FALSE(rows.is_ok()) << "'" << name << "' selected " << rows.value().size() << " rows";
    EXPECT_EQ(rows.status().code(), StatusCode::kInvalidInput);
    EXPECT_EQ(rows.status().message(),
              "--material: empty material name; give an id or name such as gallium or "
              "natural_graphite, or a group (REE, HREE, LREE, PGM, NdPr)");
  }
}

TEST(AssessErrors, ReportsAKnownMaterialWithoutDataAtTheStage) {
  AssessOptions options;
  options.materials = {"gallium"};
  options.stage = Stage::kExtraction;
  const auto rows = assess_small(options);
  ASSERT_FALSE(rows.is_ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kNotFound);
  EXPECT_NE(rows.status().message().find("no supply-share data"), std::string::npos)
      << rows.status().message();
}

TEST(AssessErrors, RejectsAnUnknownBlocCode) {
  AssessOptions options;
  options.bloc = "USA,XYZ";
  const auto rows = assess_small(options);
  ASSERT_FALSE(rows.is_ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kNotFound);
  EXPECT_NE(rows.status().message().find("'XYZ'"), std::string::npos) << rows.status().message();
}

TEST(AssessErrors, RejectsAnUnknownBlocName) {
  AssessOptions options;
  options.bloc = "nato";
  const auto rows = assess_small(options);
  ASSERT_FALSE(rows.is_ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kNotFound);
  EXPECT_NE(rows.status().message().find("'nato'"), std::string::npos) << rows.status().message();
}

TEST(AssessErrors, RejectsARegionWithoutImportData) {
  AssessOptions options;
  options.regions = {"EU27", "USA"};
  const auto rows = assess_small(options);
  ASSERT_FALSE(rows.is_ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(rows.status().message().find("'USA'"), std::string::npos) << rows.status().message();
}

TEST(AssessErrors, AMistypedRegionGetsADidYouMean) {
  AssessOptions options;
  options.regions = {"NLDD"};
  const auto rows = assess_small(options);
  ASSERT_FALSE(rows.is_ok());
  EXPECT_NE(rows.status().message().find("'NLDD' (did you mean NLD?) has no import data"),
            std::string::npos)
      << rows.status().message();
}

TEST(AssessErrors, RejectsOverridesOutsideZeroToOne) {
  const std::vector<SupplyRiskOverride> bad = {
      {1.5, std::nullopt, ""}, {-0.1, std::nullopt, ""}, {std::nullopt, 1.01, ""}};
  for (const SupplyRiskOverride& o : bad) {
    AssessOptions options;
    options.overrides["gallium"] = o;
    const auto rows = assess_small(options);
    ASSERT_FALSE(rows.is_ok());
    EXPECT_EQ(rows.status().code(), StatusCode::kInvalidInput);
    EXPECT_NE(rows.status().message().find("outside [0,1]"), std::string::npos)
        << rows.status().message();
  }
}

TEST(AssessErrors, RejectsANotANumberOverride) {
  // NaN is not in [0,1]; accepting it would make supply_risk NaN.
  AssessOptions options;
  options.overrides["gallium"].eol_rir = std::numeric_limits<double>::quiet_NaN();
  const auto rows = assess_small(options);
  ASSERT_FALSE(rows.is_ok()) << "a NaN override was accepted";
  EXPECT_EQ(rows.status().code(), StatusCode::kInvalidInput);
}

// ---- the shipped default dataset --------------------------------------------------------------

// The materials (ids) of the rows assess returns for one --material name on the default data.
std::set<std::string> materials_selected_by(const std::string& name) {
  const Result<Dataset>& data = default_dataset();
  EXPECT_TRUE(data.is_ok()) << data.status().to_string();
  if (!data.is_ok()) return {};
  AssessOptions options;
  options.materials = {name};
  const auto rows = assess(data.value(), options);
  EXPECT_TRUE(rows.is_ok()) << name << ": " << rows.status().to_string();
  std::set<std::string> ids;
  if (rows.is_ok()) {
    for (const AssessmentRow& r : rows.value()) ids.insert(r.material);
  }
  return ids;
}

TEST(AssessDefaultData, PgmSelectsEveryPlatinumGroupMetalNotOneOfThem) {
  const std::set<std::string> pgm = {"iridium", "palladium", "platinum", "rhodium", "ruthenium"};
  for (const std::string name : {"PGM", "pgm", "PGMs", "Platinum group metals"}) {
    EXPECT_EQ(materials_selected_by(name), pgm) << name;
  }
}

TEST(AssessDefaultData, RareEarthGroupsSelectTheirMembers) {
  const std::set<std::string> lree = {"cerium", "lanthanum", "neodymium", "praseodymium",
                                      "samarium"};
  const std::set<std::string> hree_and_lree_and_scandium = [&] {
    std::set<std::string> all = materials_selected_by("HREE");
    EXPECT_TRUE(all.contains("dysprosium") && all.contains("yttrium") && !all.contains("cerium"));
    for (const std::string& id : materials_selected_by("LREE")) all.insert(id);
    all.insert("scandium");
    return all;
  }();
  EXPECT_EQ(materials_selected_by("LREE"), lree);
  EXPECT_EQ(materials_selected_by("REE"), hree_and_lree_and_scandium);
  EXPECT_EQ(materials_selected_by("NdPr"), (std::set<std::string>{"neodymium", "praseodymium"}));
  EXPECT_EQ(materials_selected_by("ndpr"), (std::set<std::string>{"neodymium", "praseodymium"}));
}

TEST(AssessSelection, AGroupLabelWinsOverAMaterialAliasOfTheSameSpelling) {
  // A source spelling "PGM" on one member must not turn the group into that member.
  Result<Dataset> loaded = load_dataset(CRITMIN_TEST_DATA);
  ASSERT_OK(loaded);
  Dataset data = std::move(loaded).value();
  for (Material& m : data.materials) {
    if (m.id == "iridium") m.aliases = {"PGM"};
  }
  AssessOptions options;
  options.materials = {"PGM"};
  const auto rows = assess(data, options);
  ASSERT_OK(rows);
  std::set<std::string> ids;
  for (const AssessmentRow& r : rows.value()) ids.insert(r.material);
  EXPECT_EQ(ids,
            (std::set<std::string>{"iridium", "palladium", "platinum", "rhodium", "ruthenium"}));
}

TEST(AssessErrors, AMistypedMaterialGroupOrCountryGetsADidYouMean) {
  const Result<Dataset>& data = default_dataset();
  ASSERT_OK(data);
  const std::vector<std::pair<std::string, std::string>> typos = {
      {"galium", "(did you mean gallium?)"},
      {"PMG", "(did you mean PGM?)"},
      {"NdRp", "(did you mean NdPr?)"}};
  for (const auto& [typo, hint] : typos) {
    AssessOptions options;
    options.materials = {typo};
    const auto rows = assess(data.value(), options);
    ASSERT_FALSE(rows.is_ok()) << typo;
    EXPECT_EQ(rows.status().code(), StatusCode::kNotFound);
    EXPECT_NE(rows.status().message().find("'" + typo + "' " + hint), std::string::npos)
        << rows.status().message();
  }
  AssessOptions bloc;
  bloc.bloc = "clubb";
  const auto b = assess(data.value(), bloc);
  ASSERT_FALSE(b.is_ok());
  EXPECT_NE(b.status().message().find("'clubb' (did you mean club?)"), std::string::npos)
      << b.status().message();
  AssessOptions country;
  country.bloc = "USA,JNP";
  const auto c = assess(data.value(), country);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("'JNP' (did you mean JPN or MNP?)"), std::string::npos)
      << c.status().message();
}

TEST(AssessDefaultData, ReturnsARowForEveryCriticalMaterialWithSupplyShares) {
  const Result<Dataset>& data = default_dataset();
  ASSERT_OK(data);
  const auto rows = assess(data.value(), {});
  ASSERT_OK(rows);
  std::set<std::pair<std::string, Stage>> expected;
  for (const SupplyShare& s : data.value().global_supply_shares) {
    const Material* m = data.value().find_material(s.material_id);
    ASSERT_NE(m, nullptr) << s.material_id;
    if (m->is_critical()) expected.insert({s.material_id, s.stage});
  }
  ASSERT_FALSE(expected.empty());
  std::set<std::pair<std::string, Stage>> critical_rows;
  for (const AssessmentRow& r : rows.value()) {
    if (r.crma_critical) critical_rows.insert({r.material, r.stage});
  }
  EXPECT_EQ(critical_rows, expected);
}

TEST(AssessDefaultData, FindsChineseBreachesInGalliumMagnesiumAndNeodymiumProcessing) {
  const Result<Dataset>& data = default_dataset();
  ASSERT_OK(data);
  AssessOptions options;
  options.stage = Stage::kProcessing;
  options.breaches_only = true;
  const auto rows = assess(data.value(), options);
  ASSERT_OK(rows);
  for (const char* material : {"gallium", "magnesium", "neodymium"}) {
    const AssessmentRow* r = find_row(rows.value(), material, Stage::kProcessing);
    ASSERT_NE(r, nullptr) << material << " processing is not reported as a breach";
    EXPECT_TRUE(r->crma_single_country_breach) << material;
    EXPECT_EQ(r->top_country, "CHN") << material;
    EXPECT_EQ(r->largest_third_country, "CHN") << material;
    EXPECT_GT(r->largest_third_country_share, 0.65) << material;
  }
}

TEST(AssessDefaultData, EveryRowKeepsItsIndicatorsInRange) {
  const Result<Dataset>& data = default_dataset();
  ASSERT_OK(data);
  AssessOptions options;
  options.bloc = "club";
  const auto rows = assess(data.value(), options);
  ASSERT_OK(rows);
  ASSERT_GT(rows.value().size(), 50u);
  for (const AssessmentRow& r : rows.value()) {
    SCOPED_TRACE(r.material + " " + stage_name(r.stage));
    EXPECT_GE(r.hhi, 0.0);
    EXPECT_LE(r.hhi, 10000.0 + 1e-6);
    // the top supplier alone contributes (100 * top)^2
    EXPECT_GE(r.hhi + 1e-9, 10000.0 * r.top_share * r.top_share);
    EXPECT_GT(r.top_share, 0.0);
    EXPECT_LE(r.top_share, r.top3_share + 1e-12);
    EXPECT_LE(r.top3_share, 1.0 + 0.05);
    EXPECT_FALSE(r.top_country.empty());
    EXPECT_GE(r.hhi_wgi, 0.0);
    ASSERT_TRUE(r.bloc_share.has_value());
    EXPECT_GE(*r.bloc_share, 0.0);
    EXPECT_LE(*r.bloc_share, 1.0);
    EXPECT_GE(r.import_reliance, 0.0);
    EXPECT_LE(r.import_reliance, 1.0);
    EXPECT_GE(r.supply_risk, 0.0);
    EXPECT_FALSE(std::isnan(r.supply_risk));
    EXPECT_EQ(r.crma_single_country_breach, r.largest_third_country_share > 0.65);
    for (const ImportDependency& d : r.imports) {
      SCOPED_TRACE(d.region);
      EXPECT_GT(d.value_eur, 0.0);
      EXPECT_GT(d.value_usd, d.value_eur);  // 1 EUR buys more than 1 USD in 2022-2024
      EXPECT_GE(d.top_partner_share, 0.0);
      EXPECT_LE(d.top_partner_share, 1.0);
      EXPECT_GE(d.extra_eu_share, 0.0);
      EXPECT_LE(d.extra_eu_share, 1.0 + 1e-12);
      EXPECT_GE(d.import_weighted_risk, 0.0);
      EXPECT_LE(d.import_weighted_risk, 1.0);
      EXPECT_GE(d.partner_hhi, 10000.0 * d.top_partner_share * d.top_partner_share - 1e-6);
      EXPECT_LE(d.partner_hhi, 10000.0 + 1e-6);
    }
  }
}

TEST(AssessDefaultData, ReportsAnExtraEuShareOfExactlyOneAtMostForEuImports) {
  // EU27 import dependency counts only extra-EU partners, so its extra_eu_share is 1 by
  // definition and must not exceed the 0-1 range of a share in the JSON contract.
  const Result<Dataset>& data = default_dataset();
  ASSERT_OK(data);
  AssessOptions options;
  options.regions = {"EU27"};
  const auto rows = assess(data.value(), options);
  ASSERT_OK(rows);
  for (const AssessmentRow& r : rows.value()) {
    for (const ImportDependency& d : r.imports) {
      EXPECT_LE(d.extra_eu_share, 1.0)
          << r.material << " " << stage_name(r.stage) << ": " << d.extra_eu_share - 1.0;
      EXPECT_NEAR(d.extra_eu_share, 1.0, 1e-12) << r.material;
    }
  }
}

TEST(AssessDefaultData, MatchesTheGalliumProcessingHhiComputedFromTheSourceTable) {
  const std::filesystem::path sources = CRITMIN_TEST_SOURCES;
  const std::filesystem::path file = sources / "eu_crm2023_global_supply_shares.csv";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " is not present";
  const Result<std::string> text = read_text_file(file);
  ASSERT_OK(text);
  const Result<CsvTable> table = parse_csv(text.value(), file.string());
  ASSERT_OK(table);
  const auto material = table.value().column("Material");
  const auto stage = table.value().column("Stage");
  const auto share = table.value().column("Share");
  ASSERT_TRUE(material && stage && share);
  double expected_hhi = 0.0;
  int suppliers = 0;
  for (const CsvRecord& record : table.value().records) {
    if (record.fields[*material] != "Gallium" || record.fields[*stage] != "P") continue;
    std::string cell(trim(record.fields[*share]));
    double fraction = 0.0;
    if (cell == "<0.1%") {
      fraction = 0.0005;  // the censored_share convention
    } else {
      ASSERT_FALSE(cell.empty());
      ASSERT_EQ(cell.back(), '%') << cell;
      cell.pop_back();
      const std::optional<double> percent = parse_double(cell);
      ASSERT_TRUE(percent.has_value()) << cell;
      fraction = *percent / 100.0;
    }
    expected_hhi += (100.0 * fraction) * (100.0 * fraction);
    ++suppliers;
  }
  ASSERT_GT(suppliers, 0);
  // With the 2023 study's six suppliers this is 93.8^2 + 0.3^2 + 1.0^2 + 0.9^2 + 1.9^2 + 2.2^2
  // = 8798.44 + 0.09 + 1 + 0.81 + 3.61 + 4.84 = 8808.79.
  const Result<Dataset>& data = default_dataset();
  ASSERT_OK(data);
  AssessOptions options;
  options.materials = {"gallium"};
  options.stage = Stage::kProcessing;
  const auto rows = assess(data.value(), options);
  ASSERT_OK(rows);
  ASSERT_EQ(rows.value().size(), 1u);
  EXPECT_EQ(rows.value()[0].supplier_count, suppliers);
  EXPECT_NEAR(rows.value()[0].hhi, expected_hhi, 1e-9);
  EXPECT_NEAR(rows.value()[0].hhi, 8808.79, 1e-6);
}

}  // namespace
}  // namespace critmin
