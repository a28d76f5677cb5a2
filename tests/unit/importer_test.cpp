// import_sources() on tests/fixtures/sources_small: a few hand-picked rows of each of the 12 public
// source files, with the hand-curated tables of the committed dataset (CRITMIN_TEST_DATA holds
// reference/, estimates/ and schema/). Every expected value below is worked out by hand from the
// fixture rows:
//   global supply shares: Roundwood E Brasilia 7% -> BRA 0.07; Borate E Turkyie 30% (line 3) and
//     Türkiye 12.5% (line 6) -> TUR 0.425 and a note; Gypsum E <0.1% -> 0.0005 censored;
//     Gallium P China 98%, t 1.3; Lithium E Australia 52.5%, t 1.1; Unobtainium and Atlantis are
//     unmapped.
//   EU sourcing: Brasil 12.3% -> BRA 0.123; "Congo, D.R." -> COD; stage R, share n/a, t -1
//   unmapped. WGI: ANT unknown (reported once for two rows); Kosovo 1996 and 1998 have no mean
//   (note: 2);
//     "Korea, Rep." with an empty iso3 -> KOR by name.
//   USGS production: Chile copper 2022 MCS2023 5200 kt then MCS2024 5330 kt -> 5330000 t (MCS2024);
//     World total MCS2024 21900 kt then MCS2023 22000 kt -> WLD 21900000 t; Other countries
//     1.5 kt -> ROW 1500 t; gallium 750000 kg -> 750 t; titanium ilmenite 400 kt + rutile 180 kt
//     -> 580000 t; Burma with an empty iso3 -> MMR; barite W -> note; helium in million cubic
//     meters, Atlantis and the aggregate Europe -> unmapped; abrasives -> unused series.
//   USGS prices: lithium 2022 MCS2024 38000 wins over MCS2023 37000; cobalt 30 USD/lb x
//     2204.62262 = 66138.6786 USD/t; gallium 450 USD/kg -> 450000 USD/t.
//   Pink Sheet: 2 months x 11 mapped columns - 1 empty phosphate cell = 21 rows; gold 2000 USD/oz
//     x 32150.7466 = 64301493.2 USD/t.
//   SR/EI: Krupton/Krypton and Zenon/Xenon merge (notes); HREEs vs Heavy Rare earths Elements
//     conflict on SR; "Natural Teak\nwood" (a quoted line break, lines 8-9).
//   End use: 100% -> 1, >0% and >0 -> 0.0005, 12% -> 0.12, 12.3% -> 0.123, "C26" without a label;
//     Lithium/Batteries twice with different shares -> unmapped; copper/Electrical equipment
//     repeated exactly (line 10) -> a note.
//   Comext: EL -> GRC, XK -> XKX, XC 100 + XL 50.5 (both Spain) -> ESP 150.5.
//   Projects: "(unnamed) gallium project" on line 4 -> "(unnamed, source line 4)"; polymetallic
//     dropped from Sakatti; "platinum group metals" -> pgm; "lithium; boron" -> lithium|borate.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "core/csv.h"
#include "core/text.h"
#include "critmin/core/files.h"
#include "critmin/world/dataset.h"
#include "critmin/world/importer.h"
#include "test_support.h"

namespace critmin {
namespace {

namespace fs = std::filesystem;

using test::TempDir;
using test::texts;

// Prefix of the temporary directories of this file.
const char* const kTempPrefix = "critmin_importer_test_";

const fs::path kFixture = fs::path(CRITMIN_TEST_FIXTURES) / "sources_small";

const std::vector<std::string> kSourceFiles = {
    "usgs_mcs_world_production_reserves_2021_2023.csv",
    "usgs_mcs_salient_prices_2018_2023.csv",
    "wb_wgi_2023update_1996_2022.csv",
    "eu_crm_assessments_sr_ei_2011_2023.csv",
    "eu_crm2023_global_supply_shares.csv",
    "eu_crm2023_eu_sourcing_shares.csv",
    "eu_crm2023_material_use_shares.csv",
    "eu_crm2023_screened_material_groupings.csv",
    "eurostat_comext_eu27_crm_imports_cn8_2022_2024.csv",
    "worldbank_pinksheet_metals_monthly_1960_2026.csv",
    "crma_strategic_projects_2025_summary.csv",
    "crma_strategic_projects_2025_partial_list.csv",
};

ImportOptions options_for(const fs::path& sources, const fs::path& out) {
  ImportOptions options;
  options.sources_dir = sources;
  options.out_dir = out;
  options.reference_dir = CRITMIN_TEST_DATA;
  options.iso_codes_json = default_iso_codes_json();
  return options;
}

std::string read_text(const fs::path& file) {
  Result<std::string> text = read_text_file(file);
  EXPECT_TRUE(text.is_ok()) << text.status().to_string();
  return text.is_ok() ? text.value() : std::string();
}

// Every regular file under `dir`, by path relative to it, with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[fs::relative(entry.path(), dir).generic_string()] = read_text(entry.path());
    }
  }
  return files;
}

// A copy of the fixture in a temporary directory, to be broken by one test.
class FixtureCopy {
 public:
  FixtureCopy() { fs::copy(kFixture, sources(), fs::copy_options::recursive); }
  fs::path sources() const { return temp_.path() / "sources"; }
  fs::path out() const { return temp_.path() / "out"; }
  fs::path file(const std::string& name) const { return sources() / name; }

 private:
  TempDir temp_{kTempPrefix};
};

// The fixture imported once per test process.
class Importer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!fs::exists(default_iso_codes_json())) return;
    temp_ = new TempDir(kTempPrefix);
    result_ = new Result<ImportReport>(import_sources(options_for(kFixture, out_dir())));
  }
  static void TearDownTestSuite() {
    delete result_;
    result_ = nullptr;
    delete temp_;
    temp_ = nullptr;
  }
  void SetUp() override {
    if (!fs::exists(default_iso_codes_json())) {
      GTEST_SKIP() << default_iso_codes_json() << " missing (Debian package iso-codes)";
    }
    ASSERT_TRUE(result_->is_ok()) << result_->status().to_string();
  }

  static fs::path out_dir() { return temp_->path() / "out"; }
  static const ImportReport& report() { return result_->value(); }
  static std::string out_file(const std::string& table) { return read_text(out_dir() / table); }
  static std::string src(const std::string& name) { return (kFixture / name).string(); }

 private:
  static TempDir* temp_;
  static Result<ImportReport>* result_;
};
TempDir* Importer::temp_ = nullptr;
Result<ImportReport>* Importer::result_ = nullptr;

TEST_F(Importer, WritesTheExpectedNumberOfRowsPerTable) {
  const std::map<std::string, std::size_t> expected = {
      {"blocs", 74},                    // reference/blocs.csv
      {"cn8_materials", 66},            // reference/cn8_materials.csv
      {"countries", 252},               // 249 iso-codes entries + XKX + WLD + ROW
      {"end_use_shares", 5},            // 9 rows - duplicate, repeat, 'lots', Unobtainium
      {"eu_imports", 3},                // 8 rows - 4 unmapped, XC and XL added into one
      {"eu_sourcing_shares", 4},        // 7 rows - stage R, n/a, t -1
      {"fx_rates", 3},                  // estimates/fx_rates.csv
      {"market_parameters", 118},       // estimates/market_parameters.csv
      {"demand_shares", 189},           // estimates/demand_shares.csv
      {"supply_costs", 85},             // estimates/supply_costs.csv
      {"state_stocks", 10},             // estimates/state_stocks.csv
      {"nl_import_bill", 6},            // estimates/nl_import_bill.csv
      {"nl_re_export_shares", 4},       // estimates/nl_re_export_shares.csv
      {"nl_end_use_mapping", 11},       // estimates/nl_end_use_mapping.csv
      {"minor_material_supply", 37},    // estimates/minor_material_supply.csv
      {"byproduct_hosts", 21},          // estimates/byproduct_hosts.csv
      {"ree_deposit_baskets", 105},     // estimates/ree_deposit_baskets.csv: 7 x 15
      {"ree_mine_output", 15},          // estimates/ree_mine_output.csv
      {"ree_element_market", 28},       // estimates/ree_element_market.csv
      {"global_supply_shares", 6},      // 9 rows - Unobtainium, Atlantis, merged Türkiye
      {"governance", 4},                // ABW 2004, XKX 2022, KOR 2022, BHS 2022
      {"materials", 91},                // reference/materials.csv
      {"monthly_prices", 21},           // 2 x 11 - 1
      {"parameters", 10},               // estimates/assessment_parameters.csv
      {"nl_industry_accounts", 2},      // the two rows of CBS table 85925ENG
      {"prices", 3},                    // lithium, cobalt, gallium
      {"production", 6},                // CHL, WLD, ROW, gallium, titanium, MMR
      {"strategic_project_counts", 3},  // 4 rows - 'several'
      {"strategic_projects", 7},        // 8 rows - QQ
      {"supply_risk_history", 6},       // aluminium, bauxite, hree, krypton, teak, xenon 2020
      {"supply_risk_inputs", 1},        // estimates/supply_risk_inputs.csv
  };
  EXPECT_EQ(report().rows_written, expected);
}

TEST_F(Importer, ListsEveryUnmappedSourceValueAsFileLineField) {
  const std::string groups = src("eu_crm2023_screened_material_groupings.csv");
  const std::string global = src("eu_crm2023_global_supply_shares.csv");
  const std::string eu = src("eu_crm2023_eu_sourcing_shares.csv");
  const std::string wgi = src("wb_wgi_2023update_1996_2022.csv");
  const std::string usgs = src("usgs_mcs_world_production_reserves_2021_2023.csv");
  const std::string sr = src("eu_crm_assessments_sr_ei_2011_2023.csv");
  const std::string use = src("eu_crm2023_material_use_shares.csv");
  const std::string comext = src("eurostat_comext_eu27_crm_imports_cn8_2022_2024.csv");
  const std::string projects = src("crma_strategic_projects_2025_partial_list.csv");
  const std::string summary = src("crma_strategic_projects_2025_summary.csv");
  const std::vector<std::string> expected = {
      groups + ":5:screened_material: 'unobtainium' is not a material of materials.csv",
      global + ":8:Material: 'Unobtainium' is not a material of materials.csv",
      global + ":9:Country: 'Atlantis' is not a known country name",
      eu + ":5:Stage: 'R' is not E (extraction) or P (processing)",
      eu + ":7:Share: 'n/a' is not a percentage between 0 and 100",
      eu + ":8:t: '-1' is not a non-negative number",
      wgi +
          ":3:iso3: 'ANT Netherlands Antilles' is not a known country (every year of it is "
          "skipped)",
      usgs +
          ":14:country: 'Atlantis' is not a single known country (lithium extraction 2023); the "
          "value is not imported",
      usgs + ":15:country: 'Europe' is an aggregate critmin does not know",
      usgs +
          ":12:unit: 1 rows of helium processing in 'million cubic meters' cannot be converted "
          "to tonnes; not imported",
      sr + ":7:SR: 'Heavy Rare earths Elements' conflicts with line 6 for the same material and "
           "year; line 6 kept",
      sr + ":10:SR: 'abc' is not a number",
      sr + ":11:Material: 'Unobtainium' is not a material of materials.csv",
      use +
          ":6:Application: 'Batteries' appears twice for the same material and NACE sector with "
          "different values; the first row is kept",
      use + ":8:Share: 'lots' is not a percentage between 0 and 100",
      use + ":9:Material: 'Unobtainium' is not a material of materials.csv",
      comext + ":6:partner_iso2: 'ZZ' is not a known country code",
      comext + ":7:flow: 'export' is not an import flow",
      comext + ":8:value_eur: '-5' is not a non-negative number",
      comext + ":9:declarant_iso2: 'QQ' is not a known country code",
      projects +
          ":3:materials: 'polymetallic' is not a material of materials.csv; the project is "
          "kept without it",
      projects + ":9:country_iso2: 'QQ' is not a known country code",
      summary + ":5:value: 'several' is not a number",
  };
  EXPECT_EQ(texts(report().unmapped), expected);
}

TEST_F(Importer, NotesMergedSpellingsWithheldCellsAndSkippedRows) {
  const std::string usgs = src("usgs_mcs_world_production_reserves_2021_2023.csv");
  const std::string sr = src("eu_crm_assessments_sr_ei_2011_2023.csv");
  const std::vector<std::string> expected = {
      src("eu_crm2023_global_supply_shares.csv") +
          ":6: second row for borate extraction TUR (line 3); the two shares were added",
      src("wb_wgi_2023update_1996_2022.csv") +
          ": 2 country-years without all six WGI estimates (no mean) were not imported",
      usgs +
          ": titanium extraction: 1 country-years come from two mapped series of one release "
          "and were added",
      usgs +
          ": 1 baryte extraction production cells withheld or not numeric (W, NA, ...) were not "
          "imported",
      usgs +
          ": 1 USGS production series are not used by critmin (not mapped in "
          "reference/usgs_production_series.csv)",
      src("usgs_mcs_salient_prices_2018_2023.csv") +
          ": 1 price cells not numeric (not imported); 1 cells of series not mapped in "
          "reference/usgs_price_series.csv",
      src("worldbank_pinksheet_metals_monthly_1960_2026.csv") +
          ": 1 months without a value in column phosphate_rock__usd_per_mt",
      sr + ":5: krypton 2023 also on line 4 (another spelling); merged",
      sr + ":13: xenon 2020 also on line 12 (another spelling); merged",
      src("eu_crm2023_material_use_shares.csv") +
          ":10: exact repeat of an earlier copper / Electrical equipment row; kept once",
      src("supplementary/nl_cbs_value_added_by_industry.csv") +
          ": 1 rows of older vintages or the Dutch-language table left out; only CBS table "
          "85925ENG (2023, the latest vintage) is imported",
  };
  EXPECT_EQ(report().notes, expected);
}

TEST_F(Importer, WritesTheReportFileWithUnmappedValuesThenNotes) {
  std::string expected =
      "# critmin import report: source values that could not be mapped (not imported), then "
      "notes\n";
  for (const Diagnostic& d : report().unmapped) expected += "unmapped: " + d.to_string() + "\n";
  for (const std::string& note : report().notes) expected += "note: " + note + "\n";
  ASSERT_EQ(report().unmapped.size(), 23u);
  ASSERT_EQ(report().notes.size(), 11u);
  EXPECT_EQ(out_file("import_report.txt"), expected);
}

TEST_F(Importer, MapsMisspelledCountryNamesToIso3AndAddsTwoSpellingsOfOneCountry) {
  EXPECT_EQ(out_file("global_supply_shares.csv"),
            "material_id,stage,iso3,share,trade_factor,censored\n"
            "borate,extraction,TUR,0.425,1,false\n"
            "borate,processing,TUR,0.448,1,false\n"
            "gallium,processing,CHN,0.98,1.3,false\n"
            "gypsum,extraction,AFG,0.0005,1,true\n"
            "lithium,extraction,AUS,0.525,1.1,false\n"
            "roundwood,extraction,BRA,0.07,1,false\n");
  EXPECT_EQ(out_file("eu_sourcing_shares.csv"),
            "material_id,stage,iso3,share,trade_factor,censored\n"
            "borate,extraction,TUR,0.99,1,false\n"
            "cobalt,processing,COD,0.005,1,false\n"
            "cobalt,processing,FIN,0.0005,1,true\n"
            "nickel,extraction,BRA,0.123,1,false\n");
}

TEST_F(Importer, ResolvesWgiCountriesByCodeOrElseByName) {
  EXPECT_EQ(out_file("governance.csv"),
            "iso3,year,wgi_mean_estimate\n"
            "ABW,2004,0.976096\n"
            "BHS,2022,1\n"
            "KOR,2022,1\n"
            "XKX,2022,-0.2\n");
}

TEST_F(Importer, ConvertsUsgsProductionToTonnesAndKeepsTheLaterRelease) {
  EXPECT_EQ(
      out_file("production.csv"),
      "material_id,stage,iso3,year,quantity,unit,basis,is_estimate,source\n"
      "copper,extraction,CHL,2022,5330000,t,recoverable Cu in concentrate,false,USGS MCS2024\n"
      "copper,extraction,WLD,2022,21900000,t,recoverable Cu in concentrate,false,USGS "
      "MCS2024\n"
      "copper,processing,ROW,2023,1500,t,refined Cu (primary and secondary),true,USGS "
      "MCS2024\n"
      "gallium,processing,CHN,2023,750,t,\"contained Ga, primary low-purity\",true,USGS "
      "MCS2024\n"
      "lithium,extraction,MMR,2023,4500,t,contained Li,true,USGS MCS2024\n"
      "titanium,extraction,AUS,2023,580000,t,contained TiO2,true,USGS MCS2024\n");
}

TEST_F(Importer, ConvertsUsgsPricesToUsdPerTonneOfContainedContentAndKeepsTheLaterRelease) {
  EXPECT_EQ(out_file("prices.csv"),
            "material_id,series,year,price,unit,basis,headline,source\n"
            "cobalt,Price_LME_dlb,2022,66138.6786,USD/t,\"cobalt metal, LME cash, per t of "
            "metal\",true,USGS MCS2023\n"
            "gallium,Price_High-puritydkg,2023,450000,USD/t,\"high-purity gallium metal, per t of "
            "metal\",true,USGS MCS2024\n"
            // 38000 USD per t of Li2CO3 / 0.1879 (its Li share) = 202235.2315 USD per t of Li.
            "lithium,Price_dt,2022,202235.2315,USD/t,lithium carbonate converted to per t of "
            "contained Li (Li2CO3 holds 18.79% Li),true,USGS MCS2024\n");
}

TEST_F(Importer, MergesSupplyRiskScoresOfTwoSpellingsOfOneMaterial) {
  EXPECT_EQ(out_file("supply_risk_history.csv"),
            "material_id,year,supply_risk,economic_importance\n"
            "aluminium,2011,0.2,8.9\n"
            "bauxite,2023,,\n"
            "hree,2023,5.1,4.2\n"
            "krypton,2023,0.7,3.3\n"
            "natural_teak_wood,2017,,\n"
            "xenon,2020,0.8,3.1\n");
}

TEST_F(Importer, ConvertsEndUsePercentagesAndCensorsGreaterThanZero) {
  EXPECT_EQ(
      out_file("end_use_shares.csv"),
      "material_id,application,share,nace_code,nace_label,value_added\n"
      "aggregates,Construction and infrastructures,1,C23,Manufacture of other non-metallic "
      "mineral products,64990\n"
      "copper,\"Building construction, building plant\",0.0005,C32,Other manufacturing,45912\n"
      "copper,Electrical equipment,0.12,C27,Manufacture of electrical equipment,84000\n"
      "gallium,Integrated circuits,0.0005,C26,,\n"
      "lithium,Batteries,0.123,C27,Manufacture of electrical equipment,\n");
}

TEST_F(Importer, MapsEurostatCodesAndAddsPartnersOfOneCountry) {
  EXPECT_EQ(out_file("eu_imports.csv"),
            "declarant_iso3,partner_iso3,cn8,year,value,unit\n"
            "AUT,XKX,26040000,2023,2069,EUR\n"
            "ESP,ESP,26050000,2024,150.5,EUR\n"
            "GRC,DEU,25041000,2022,440381,EUR\n");
}

TEST_F(Importer, NamesUnnamedProjectsBySourceLineAndDropsUnknownMaterials) {
  EXPECT_EQ(
      out_file("strategic_projects.csv"),
      "list,project_name,promoter,iso3,material_ids,stage,source\n"
      "EU-2025-03,\"(unnamed, source line 4)\",,GRC,gallium,,https://example.org/c\n"
      "EU-2025-03,Barroso lithium project,Savannah Resources,PRT,lithium,,https://example.org/a\n"
      "EU-2025-03,PGM recycling project,Solvay,ITA,pgm,recycling,https://example.org/d\n"
      "EU-2025-03,Sakatti copper/polymetallic project,Anglo American,FIN,copper,,"
      "https://example.org/b\n"
      "EXT-2025-06,\"(unnamed, source line 7)\",,KAZ,,,https://example.org/f\n"
      "EXT-2025-06,Jadar,Rio Tinto,SRB,lithium|borate,,https://example.org/e\n"
      "EXT-2025-06,Lithium hydroxide plant,Viridian Lithium,,lithium,processing (LHM "
      "conversion),https://example.org/g\n");
  EXPECT_EQ(out_file("strategic_project_counts.csv"),
            "list,metric,decision_date,value,note\n"
            "EU (internal) list,capex_total,2025-03-25,22.5,billion EUR (expected overall capital "
            "investment)\n"
            "EU (internal) list,projects_total,2025-03-25,47,count\n"
            "external (third countries/OCTs) list,projects_total,2025-06-04,13,count\n");
}

TEST_F(Importer, WritesADatasetThatLoadsWithTheHandCheckedValues) {
  EXPECT_EQ(texts(check_dataset(out_dir())), std::vector<std::string>{});
  const Result<Dataset> loaded = load_dataset(out_dir());
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  const Dataset& data = loaded.value();

  ASSERT_EQ(data.global_supply_shares.size(), 6u);
  const SupplyShare& borate = data.global_supply_shares[0];
  EXPECT_EQ(borate.material_id, "borate");
  EXPECT_EQ(borate.stage, Stage::kExtraction);
  EXPECT_EQ(borate.iso3, "TUR");
  EXPECT_NEAR(borate.share, 0.3 + 0.125, 1e-12);
  EXPECT_FALSE(borate.censored);
  const SupplyShare& gypsum = data.global_supply_shares[3];
  EXPECT_EQ(gypsum.material_id, "gypsum");
  EXPECT_DOUBLE_EQ(gypsum.share, 0.0005);
  EXPECT_TRUE(gypsum.censored);
  EXPECT_EQ(gypsum.line, 5);
  const SupplyShare& gallium = data.global_supply_shares[2];
  EXPECT_EQ(gallium.stage, Stage::kProcessing);
  EXPECT_DOUBLE_EQ(gallium.trade_factor, 1.3);

  const auto production = [&](const std::string& material, const std::string& iso3) {
    for (const ProductionRecord& p : data.production) {
      if (p.material_id == material && p.iso3 == iso3) return p;
    }
    ADD_FAILURE() << "no production row " << material << " " << iso3;
    return ProductionRecord{};
  };
  EXPECT_DOUBLE_EQ(production("copper", "ROW").quantity_t, 1500.0);  // 1.5 thousand t
  EXPECT_EQ(production("copper", "ROW").stage, Stage::kProcessing);
  EXPECT_DOUBLE_EQ(production("copper", "WLD").quantity_t, 21900000.0);
  EXPECT_EQ(production("copper", "WLD").source, "USGS MCS2024");
  EXPECT_DOUBLE_EQ(production("copper", "CHL").quantity_t, 5330000.0);
  EXPECT_FALSE(production("copper", "CHL").is_estimate);
  EXPECT_DOUBLE_EQ(production("gallium", "CHN").quantity_t, 750.0);  // 750000 kg
  EXPECT_TRUE(production("gallium", "CHN").is_estimate);
  EXPECT_DOUBLE_EQ(production("titanium", "AUS").quantity_t, 580000.0);

  ASSERT_EQ(data.end_use_shares.size(), 5u);
  EXPECT_EQ(data.end_use_shares[4].material_id, "lithium");
  EXPECT_DOUBLE_EQ(data.end_use_shares[4].share, 0.123);  // "12.3%"
  EXPECT_FALSE(data.end_use_shares[4].value_added_million_eur.has_value());
  EXPECT_DOUBLE_EQ(data.end_use_shares[0].value_added_million_eur.value_or(0), 64990.0);

  ASSERT_EQ(data.governance.size(), 4u);
  EXPECT_EQ(data.governance[3].iso3, "XKX");
  EXPECT_DOUBLE_EQ(data.governance[3].wgi_mean_estimate, -0.2);

  ASSERT_EQ(data.supply_risk_history.size(), 6u);
  EXPECT_EQ(data.supply_risk_history[1].material_id, "bauxite");
  EXPECT_FALSE(data.supply_risk_history[1].supply_risk.has_value());
  EXPECT_DOUBLE_EQ(data.supply_risk_history[5].supply_risk.value_or(0), 0.8);

  ASSERT_EQ(data.monthly_prices.size(), 21u);
  bool found_gold = false;
  for (const MonthlyPrice& m : data.monthly_prices) {
    if (m.material_id == "gold" && m.year == 2026 && m.month == 4) {
      found_gold = true;
      EXPECT_NEAR(m.price_usd_per_t, 64301493.2, 1e-6);  // 2000 USD/troy oz
      EXPECT_EQ(m.series, "World Bank Pink Sheet gold__usd_per_troyoz");
    }
    EXPECT_FALSE(m.material_id == "phosphate_rock" && m.month == 5) << "empty cell imported";
  }
  EXPECT_TRUE(found_gold);

  ASSERT_EQ(data.eu_imports.size(), 3u);
  EXPECT_EQ(data.eu_imports[2].declarant_iso3, "GRC");  // EL
  EXPECT_EQ(data.eu_imports[0].partner_iso3, "XKX");    // XK
  EXPECT_DOUBLE_EQ(data.eu_imports[1].value_eur, 150.5);

  const Material* dysprosium = data.find_material("dysprosium");
  ASSERT_NE(dysprosium, nullptr);
  EXPECT_EQ(dysprosium->group, "HREE");
  EXPECT_EQ(dysprosium->family, "REE");
  const Material* platinum = data.find_material("platinum");
  ASSERT_NE(platinum, nullptr);
  EXPECT_EQ(platinum->group, "PGM");
  EXPECT_EQ(platinum->family, "precious metals");
  const Material* copper = data.find_material("copper");
  ASSERT_NE(copper, nullptr);
  EXPECT_EQ(copper->group, "");
  EXPECT_EQ(copper->family, "other non-ferrous metals");
  const Material* lithium = data.find_material("lithium");
  ASSERT_NE(lithium, nullptr);
  EXPECT_EQ(lithium->family, "");  // not in the fixture's groupings
  const Material* hree = data.find_material("hree");
  ASSERT_NE(hree, nullptr);
  EXPECT_EQ(hree->group, "HREE");

  ASSERT_NE(data.find_country("XKX"), nullptr);
  ASSERT_NE(data.find_country("WLD"), nullptr);
  EXPECT_EQ(data.find_country("WLD")->name, "World (total)");
}

TEST_F(Importer, ImportingTwiceGivesByteIdenticalFiles) {
  const std::map<std::string, std::string> first = snapshot(out_dir());
  EXPECT_EQ(first.size(), 31u + 31u + 1u);  // tables, their schema files, import_report.txt
  TempDir other{kTempPrefix};
  const Result<ImportReport> again = import_sources(options_for(kFixture, other.path() / "out"));
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(snapshot(other.path() / "out"), first);
  // Over the same output directory as well.
  const Result<ImportReport> over = import_sources(options_for(kFixture, out_dir()));
  ASSERT_TRUE(over.is_ok()) << over.status().to_string();
  EXPECT_EQ(snapshot(out_dir()), first);
}

TEST_F(Importer, MissingSourcesDirectoryIsNotFound) {
  TempDir temp{kTempPrefix};
  const fs::path missing = temp.path() / "no_sources_here";
  const Result<ImportReport> result = import_sources(options_for(missing, temp.path() / "out"));
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound);
  EXPECT_NE(result.status().message().find(missing.string()), std::string::npos)
      << result.status().message();
  EXPECT_FALSE(fs::exists(temp.path() / "out"));
}

TEST_F(Importer, RefusesAnOutPathThatIsAFileBeforeReadingAnything) {
  TempDir temp{kTempPrefix};
  const fs::path out = temp.path() / "dataset.csv";
  ASSERT_TRUE(write_text_file(out, "not a directory\n").is_ok());
  const Result<ImportReport> result = import_sources(options_for(kFixture, out));
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(result.status().message(),
            "--out " + out.string() +
                ": exists and is not a directory; give the directory to write the dataset to (it "
                "is created when missing)");
  EXPECT_EQ(read_text(out), "not a directory\n");
  EXPECT_FALSE(fs::exists(out.string() + ".importing"));
}

TEST_F(Importer, RemovesTheStagingDirectoryWhenMovingIntoOutFails) {
  TempDir temp{kTempPrefix};
  const fs::path out = temp.path() / "out";
  // A non-empty directory where countries.csv goes: moving the staged file there fails.
  fs::create_directories(out / "countries.csv" / "blocker");
  const Result<ImportReport> result = import_sources(options_for(kFixture, out));
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kIoError) << result.status().to_string();
  EXPECT_FALSE(fs::exists(out.string() + ".importing"));
}

TEST_F(Importer, ReadsAShareWithoutAPercentSignAsAPercentageAndNotesIt) {
  FixtureCopy copy;
  const fs::path file = copy.file("eu_crm2023_eu_sourcing_shares.csv");
  const std::string text = read_text(file);
  ASSERT_TRUE(text.ends_with('\n'));
  const auto line = std::count(text.begin(), text.end(), '\n') + 1;
  ASSERT_TRUE(write_text_file(file, text + "Silicon metal,P,Germany,6,0.8\n").is_ok());
  const Result<ImportReport> result = import_sources(options_for(copy.sources(), copy.out()));
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  const std::string note = file.string() + ":" + std::to_string(line) +
                           ":Share: '6' has no '%' sign; read as a percentage like the other "
                           "shares (6% = 0.06)";
  EXPECT_NE(std::find(result.value().notes.begin(), result.value().notes.end(), note),
            result.value().notes.end());
  EXPECT_NE(read_text(copy.out() / "import_report.txt").find("note: " + note + "\n"),
            std::string::npos);
  EXPECT_NE(read_text(copy.out() / "eu_sourcing_shares.csv")
                .find("\nsilicon_metal,processing,DEU,0.06,0.8,false\n"),
            std::string::npos);
}

TEST_F(Importer, RefusesASourceFileWithAHeaderButNoRows) {
  FixtureCopy copy;
  const fs::path file = copy.file("usgs_mcs_world_production_reserves_2021_2023.csv");
  const std::string text = read_text(file);
  ASSERT_TRUE(write_text_file(file, text.substr(0, text.find('\n') + 1)).is_ok());
  const Result<ImportReport> result = import_sources(options_for(copy.sources(), copy.out()));
  ASSERT_FALSE(result.is_ok());
  EXPECT_NE(result.status().to_string().find("header but no rows"), std::string::npos)
      << result.status().to_string();
}

TEST_F(Importer, ReportsAConflictingEconomicImportanceUnderTheEiField) {
  FixtureCopy copy;
  ASSERT_TRUE(write_text_file(copy.file("eu_crm_assessments_sr_ei_2011_2023.csv"),
                              "Material,Year,SR,EI\n"
                              "Barytes,2023,1.3,3.5\n"
                              "Baryte,2023,1.3,3.9\n")
                  .is_ok());
  const Result<ImportReport> result = import_sources(options_for(copy.sources(), copy.out()));
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  std::vector<Diagnostic> conflicts;
  for (const Diagnostic& d : result.value().unmapped) {
    if (d.file == copy.file("eu_crm_assessments_sr_ei_2011_2023.csv").string()) {
      conflicts.push_back(d);
    }
  }
  ASSERT_EQ(conflicts.size(), 1u);
  EXPECT_EQ(conflicts[0].line, 3);
  // SR agrees (1.3 = 1.3); the conflict is in EI (3.9 vs 3.5), so the location must name EI.
  EXPECT_EQ(conflicts[0].field, "EI") << conflicts[0].to_string();
  EXPECT_EQ(read_text(copy.out() / "supply_risk_history.csv"),
            "material_id,year,supply_risk,economic_importance\nbaryte,2023,1.3,3.5\n");
}

// ---- one source file missing, or missing a column ------------------------------------------

class ImporterMissingSource : public ::testing::TestWithParam<std::string> {};

TEST_P(ImporterMissingSource, IsNotFoundNamingTheFile) {
  if (!fs::exists(default_iso_codes_json())) GTEST_SKIP() << "iso-codes missing";
  FixtureCopy copy;
  ASSERT_TRUE(fs::remove(copy.file(GetParam())));
  const Result<ImportReport> result = import_sources(options_for(copy.sources(), copy.out()));
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kNotFound) << result.status().to_string();
  EXPECT_NE(result.status().message().find(copy.file(GetParam()).string()), std::string::npos)
      << result.status().message();
}

std::string parameter_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param.substr(0, info.param.find('.'));
  return name;
}

INSTANTIATE_TEST_SUITE_P(Importer, ImporterMissingSource, ::testing::ValuesIn(kSourceFiles),
                         parameter_name);

struct MissingColumn {
  std::string file;
  std::string column;
};

void PrintTo(const MissingColumn& c, std::ostream* out) {
  *out << c.file << " without " << c.column;
}

class ImporterMissingColumn : public ::testing::TestWithParam<MissingColumn> {};

TEST_P(ImporterMissingColumn, IsInvalidInputNamingFileLineOneAndColumn) {
  if (!fs::exists(default_iso_codes_json())) GTEST_SKIP() << "iso-codes missing";
  FixtureCopy copy;
  const fs::path file = copy.file(GetParam().file);
  Result<CsvTable> csv = read_csv_file(file);
  ASSERT_TRUE(csv.is_ok());
  CsvTable table = std::move(csv).value();
  const auto drop = table.column(GetParam().column);
  ASSERT_TRUE(drop.has_value());
  const auto at = static_cast<std::ptrdiff_t>(*drop);
  table.header.erase(table.header.begin() + at);
  std::string text;
  append_csv_record(text, table.header);
  for (CsvRecord& record : table.records) {
    record.fields.erase(record.fields.begin() + at);
    append_csv_record(text, record.fields);
  }
  ASSERT_TRUE(write_text_file(file, text).is_ok());

  const Result<ImportReport> result = import_sources(options_for(copy.sources(), copy.out()));
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidInput);
  EXPECT_EQ(texts(result.status().diagnostics()),
            std::vector<std::string>{file.string() + ":1:" + GetParam().column +
                                     ": missing column; this file does not have the layout "
                                     "critmin reads"})
      << result.status().to_string();
}

std::string column_case_name(const ::testing::TestParamInfo<MissingColumn>& info) {
  std::string name = info.param.file.substr(0, info.param.file.find('.')) + "_" + info.param.column;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(
    Importer, ImporterMissingColumn,
    ::testing::Values(MissingColumn{"usgs_mcs_world_production_reserves_2021_2023.csv", "release"},
                      MissingColumn{"usgs_mcs_salient_prices_2018_2023.csv", "price_series"},
                      MissingColumn{"wb_wgi_2023update_1996_2022.csv", "mean_6_est"},
                      MissingColumn{"eu_crm_assessments_sr_ei_2011_2023.csv", "EI"},
                      MissingColumn{"eu_crm2023_global_supply_shares.csv", "t"},
                      MissingColumn{"eu_crm2023_eu_sourcing_shares.csv", "Share"},
                      MissingColumn{"eu_crm2023_material_use_shares.csv", "va_million_eur"},
                      MissingColumn{"eu_crm2023_screened_material_groupings.csv", "perm_XREE_PGM"},
                      MissingColumn{"eurostat_comext_eu27_crm_imports_cn8_2022_2024.csv", "flow"},
                      MissingColumn{"worldbank_pinksheet_metals_monthly_1960_2026.csv", "month"},
                      MissingColumn{"crma_strategic_projects_2025_summary.csv", "unit_or_note"},
                      MissingColumn{"crma_strategic_projects_2025_partial_list.csv",
                                    "country_iso2"}),
    column_case_name);

// ---- a source value the dataset check would reject is unmapped, not a failed import ---------

// importer.h: "Anything the importer cannot map is listed in the report ... never dropped
// silently", and a written dataset that fails check_dataset is an importer bug. So a source row
// whose value the dataset schema rejects must be listed as unmapped at its source line and field.
struct BadSourceRow {
  std::string name;  // test name suffix
  std::string file;
  std::string row;  // appended to the fixture file
  int line = 0;     // the line the appended row lands on
  std::string field;
};

void PrintTo(const BadSourceRow& c, std::ostream* out) { *out << c.file << ": " << c.row; }

std::string bad_row_case_name(const ::testing::TestParamInfo<BadSourceRow>& param) {
  return param.param.name;
}

class ImporterBadSourceRow : public ::testing::TestWithParam<BadSourceRow> {};

TEST_P(ImporterBadSourceRow, IsListedAsUnmappedAtItsSourceLineAndField) {
  if (!fs::exists(default_iso_codes_json())) GTEST_SKIP() << "iso-codes missing";
  FixtureCopy copy;
  const fs::path file = copy.file(GetParam().file);
  ASSERT_TRUE(write_text_file(file, read_text(file) + GetParam().row + "\n").is_ok());
  const Result<ImportReport> result = import_sources(options_for(copy.sources(), copy.out()));
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  std::vector<std::string> at_line;
  for (const Diagnostic& d : result.value().unmapped) {
    if (d.file == file.string() && d.line == GetParam().line) at_line.push_back(d.field);
  }
  EXPECT_EQ(at_line, std::vector<std::string>{GetParam().field});
}

INSTANTIATE_TEST_SUITE_P(
    Importer, ImporterBadSourceRow,
    ::testing::Values(
        // The USGS iso3 column was added by hand; XYZ is no ISO 3166-1 code.
        BadSourceRow{"UsgsUnknownIso3", "usgs_mcs_world_production_reserves_2021_2023.csv",
                     "MCS2024,lithi,Lithium,Xanadu,Xanadu,Xanadu,XYZ,0,\"Mine production, lithium "
                     "content\",production,,2023,1,metric tons,100,,Prod_t_est_2023,,"
                     "mcs2024-lithi_world.csv",
                     17, "iso3"},
        // A CN8 code that reference/cn8_materials.csv does not map.
        BadSourceRow{"ComextUnmappedCn8", "eurostat_comext_eu27_crm_imports_cn8_2022_2024.csv",
                     "DE,CN,99999999,other,Unknown product,ores,import,2024,7", 10, "cn8"},
        // A share above 100%.
        BadSourceRow{"ShareAboveHundredPercent", "eu_crm2023_global_supply_shares.csv",
                     "Lithium,E,Chile,120%,1.0", 11, "Share"}),
    bad_row_case_name);

// ---- the real sources reproduce the committed dataset ----------------------------------------

// Removes the directory part of the source path that starts each line of an import report
// ("unmapped: DIR/file.csv:..." or "note: DIR/file.csv:..."), so that reports written with
// different --from directories compare equal.
std::string without_source_dirs(const std::string& report) {
  std::string out;
  for (const std::string& line : split(report, '\n')) {
    std::string kept = line;
    for (const std::string prefix : {"unmapped: ", "note: "}) {
      if (!kept.starts_with(prefix)) continue;
      const std::size_t csv = kept.find(".csv", prefix.size());
      const std::size_t slash = kept.rfind('/', csv);
      if (csv != std::string::npos && slash != std::string::npos && slash >= prefix.size()) {
        kept.erase(prefix.size(), slash + 1 - prefix.size());
      }
    }
    out += kept + "\n";
  }
  return out;
}

TEST(ImporterRealSources, ReproducesTheCommittedDatasetByteForByte) {
  const fs::path sources = CRITMIN_TEST_SOURCES;
  ASSERT_TRUE(fs::is_directory(sources))
      << sources << ": the public sources are part of the repository";
  if (!fs::exists(default_iso_codes_json())) GTEST_SKIP() << "iso-codes missing";
  TempDir temp{kTempPrefix};
  const fs::path out = temp.path() / "out";
  const Result<ImportReport> result = import_sources(options_for(sources, out));
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();

  const fs::path committed = CRITMIN_TEST_DATA;
  std::vector<std::string> committed_tables, written_tables;
  for (const auto& entry : fs::directory_iterator(committed)) {
    if (entry.path().extension() == ".csv") {
      committed_tables.push_back(entry.path().filename().string());
    }
  }
  for (const auto& entry : fs::directory_iterator(out)) {
    if (entry.path().extension() == ".csv")
      written_tables.push_back(entry.path().filename().string());
  }
  std::sort(committed_tables.begin(), committed_tables.end());
  std::sort(written_tables.begin(), written_tables.end());
  EXPECT_EQ(written_tables, committed_tables);
  EXPECT_EQ(committed_tables.size(), dataset_table_names().size());
  for (const std::string& name : committed_tables) {
    // EXPECT_TRUE rather than EXPECT_EQ: eu_imports.csv alone is 2.7 MB.
    EXPECT_TRUE(read_text(out / name) == read_text(committed / name)) << name << " differs";
    EXPECT_TRUE(read_text(out / "schema" / name) == read_text(committed / "schema" / name))
        << "schema/" << name << " differs";
  }
  // The report names each source by the --from path it was imported with; compare without it.
  const std::string report = read_text(out / "import_report.txt");
  EXPECT_NE(report.find(sources.string() + "/wb_wgi_2023update_1996_2022.csv:"), std::string::npos);
  EXPECT_EQ(without_source_dirs(report),
            without_source_dirs(read_text(committed / "import_report.txt")));
}

}  // namespace
}  // namespace critmin
