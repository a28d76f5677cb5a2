// The checks across rows and tables (src/world/dataset_check.cpp) on a temporary copy of the
// committed dataset (CRITMIN_TEST_DATA), broken in exactly one way per test; check_dataset() must
// return exactly the expected diagnostic, file:line:field: message (line 0 = the whole file).
// Rows are edited through the CSV reader and writer, so the rest of each file stays byte-identical
// and every edited row keeps its physical line.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/csv.h"
#include "core/text.h"
#include "critmin/core/files.h"
#include "critmin/world/dataset.h"
#include "test_support.h"
#include "world/dataset_check.h"

namespace critmin {
namespace {

namespace fs = std::filesystem;

using test::read_table;
using test::TempDir;
using test::texts;
using test::write_table;

// Prefix of the temporary directories of this file.
const char* const kTempPrefix = "critmin_dataset_check_test_";

const std::string& cell(const CsvTable& table, const CsvRecord& record, const std::string& name) {
  return record.fields[table.column(name).value()];
}

// The index of the only record for which `match` holds; fails the test when there is not exactly
// one.
std::size_t find_row(const CsvTable& table, const std::function<bool(const CsvRecord&)>& match) {
  std::size_t found = table.records.size();
  std::size_t count = 0;
  for (std::size_t r = 0; r < table.records.size(); ++r) {
    if (match(table.records[r])) {
      found = r;
      ++count;
    }
  }
  EXPECT_EQ(count, 1u) << table.file;
  return found;
}

class BrokenDataset {
 public:
  BrokenDataset() { fs::copy(CRITMIN_TEST_DATA, dir(), fs::copy_options::recursive); }
  fs::path dir() const { return temp_.path() / "data"; }
  fs::path path(const std::string& table) const { return dir() / (table + ".csv"); }
  std::string file(const std::string& table) const { return path(table).string(); }
  std::vector<std::string> check() const { return texts(check_dataset(dir())); }

 private:
  TempDir temp_{kTempPrefix};
};

TEST(DatasetCheck, CommittedDatasetHasNoProblemsAndLoads) {
  EXPECT_EQ(texts(check_dataset(CRITMIN_TEST_DATA)), std::vector<std::string>{});
  const Result<Dataset> data = load_dataset(CRITMIN_TEST_DATA);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  // 249 ISO 3166-1 entries + XKX (Kosovo) + the pseudo-regions WLD and ROW.
  EXPECT_EQ(data.value().countries.size(), 252u);
  EXPECT_EQ(data.value().materials.size(), 91u);  // 88 materials and the groups hree, lree, pgm
  EXPECT_EQ(data.value().parameters.size(), required_parameters().size());
  EXPECT_DOUBLE_EQ(data.value().parameter("censored_share"), 0.0005);
  EXPECT_DOUBLE_EQ(data.value().parameter("share_sum_tolerance"), 0.05);
  ASSERT_EQ(data.value().supply_risk_inputs.size(), 1u);
  EXPECT_EQ(data.value().supply_risk_inputs[0].material_id, "*");
}

TEST(DatasetCheck, ReportsSupplySharesOfOneMaterialAndStageSummingAboveOnePlusTolerance) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("global_supply_shares"));
  // Niobium processing in the committed data: BRA 0.888 + CAN 0.112 = 1. CAN 0.2 makes 1.088.
  const auto niobium = [&](const char* iso3) {
    return find_row(csv, [&](const CsvRecord& r) {
      return cell(csv, r, "material_id") == "niobium" && cell(csv, r, "stage") == "processing" &&
             cell(csv, r, "iso3") == iso3;
    });
  };
  const std::size_t bra = niobium("BRA"), can = niobium("CAN");
  ASSERT_LT(bra, csv.records.size());
  ASSERT_LT(can, csv.records.size());
  ASSERT_EQ(cell(csv, csv.records[bra], "share"), "0.888");
  ASSERT_EQ(cell(csv, csv.records[can], "share"), "0.112");
  ASSERT_GT(csv.records[can].line, csv.records[bra].line);
  csv.records[can].fields[csv.column("share").value()] = "0.2";
  write_table(data.path("global_supply_shares"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{
                data.file("global_supply_shares") + ":" + std::to_string(csv.records[can].line) +
                ":share: the shares of niobium at the processing stage sum to 1.0880, more than 1 "
                "(+0.05 rounding tolerance); correct the shares so that they add up to at most 1"});
}

TEST(DatasetCheck, ReportsYearsOutside1900To2100AndNumbersThatAreNotFinite) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("production"));
  ASSERT_GE(csv.records.size(), 3u);
  csv.records[0].fields[csv.column("year").value()] = "0";
  csv.records[1].fields[csv.column("year").value()] = "99999";
  csv.records[2].fields[csv.column("quantity").value()] = "1e999";
  write_table(data.path("production"), csv);
  const std::vector<std::string> problems = data.check();
  const auto has = [&](const std::string& text) {
    return std::any_of(problems.begin(), problems.end(),
                       [&](const std::string& p) { return p.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("year 0 is outside 1900-2100")) << ::testing::PrintToString(problems);
  EXPECT_TRUE(has("year 99999 is outside 1900-2100")) << ::testing::PrintToString(problems);
  EXPECT_TRUE(has("'1e999' is not")) << ::testing::PrintToString(problems);
}

TEST(DatasetCheck, ReportsATonnageAboveTheMaterialsPlausibleWorldBound) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("production"));
  ASSERT_FALSE(csv.records.empty());
  csv.records[0].fields[csv.column("quantity").value()] = "1e308";
  write_table(data.path("production"), csv);
  const std::vector<std::string> problems = data.check();
  ASSERT_EQ(problems.size(), 1u) << ::testing::PrintToString(problems);
  EXPECT_NE(problems[0].find("more than the plausible world output of aluminium"),
            std::string::npos)
      << problems[0];
}

TEST(DatasetCheck, AcceptsSupplySharesSummingAboveOneWithinTheTolerance) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("global_supply_shares"));
  const std::size_t can = find_row(csv, [&](const CsvRecord& r) {
    return cell(csv, r, "material_id") == "niobium" && cell(csv, r, "stage") == "processing" &&
           cell(csv, r, "iso3") == "CAN";
  });
  ASSERT_LT(can, csv.records.size());
  csv.records[can].fields[csv.column("share").value()] = "0.16";  // 0.888 + 0.16 = 1.048
  write_table(data.path("global_supply_shares"), csv);
  EXPECT_EQ(data.check(), std::vector<std::string>{});
}

TEST(DatasetCheck, ReportsEuSourcingSharesSummingAboveOneInTheirOwnFile) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("eu_sourcing_shares"));
  // Borate processing in the committed data sums to 0.99; CHL 0.01 -> 0.1 makes it 1.08.
  std::vector<std::string> borate;
  int last_line = 0;
  std::size_t chl = csv.records.size();
  for (std::size_t r = 0; r < csv.records.size(); ++r) {
    const CsvRecord& record = csv.records[r];
    if (cell(csv, record, "material_id") != "borate" ||
        cell(csv, record, "stage") != "processing") {
      continue;
    }
    borate.push_back(cell(csv, record, "iso3") + " " + cell(csv, record, "share"));
    last_line = record.line;
    if (cell(csv, record, "iso3") == "CHL") chl = r;
  }
  ASSERT_EQ(borate,
            (std::vector<std::string>{"CHL 0.01", "CHN 0.01", "DEU 0.25", "GBR 0.03", "ITA 0.01",
                                      "PER 0.01", "RUS 0.01", "TUR 0.46", "USA 0.2"}));
  csv.records[chl].fields[csv.column("share").value()] = "0.1";
  write_table(data.path("eu_sourcing_shares"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{
                data.file("eu_sourcing_shares") + ":" + std::to_string(last_line) +
                ":share: the shares of borate at the processing stage sum to 1.0800, more than 1 "
                "(+0.05 rounding tolerance); correct the shares so that they add up to at most 1"});
}

TEST(DatasetCheck, ReportsEndUseSharesOfAMaterialSummingAboveOne) {
  BrokenDataset data;
  // The appended row lands on the line after the file's last line.
  Result<std::string> text = read_text_file(data.path("end_use_shares"));
  ASSERT_TRUE(text.is_ok());
  ASSERT_TRUE(text.value().ends_with('\n'));
  const auto lines = std::count(text.value().begin(), text.value().end(), '\n');
  CsvTable csv = read_table(data.path("end_use_shares"));
  // Aggregates have one end use in the committed data, with share 1; a second one of 0.2 makes 1.2.
  const std::size_t aggregates = find_row(
      csv, [&](const CsvRecord& r) { return cell(csv, r, "material_id") == "aggregates"; });
  ASSERT_LT(aggregates, csv.records.size());
  ASSERT_EQ(cell(csv, csv.records[aggregates], "share"), "1");
  CsvRecord extra = csv.records[aggregates];
  extra.fields[csv.column("application").value()] = "Roads";
  extra.fields[csv.column("share").value()] = "0.2";
  csv.records.push_back(extra);
  write_table(data.path("end_use_shares"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("end_use_shares") + ":" + std::to_string(lines + 1) +
                                     ":share: the end-use shares of aggregates sum to 1.2000, "
                                     "more than 1; correct them so that they add up to at most 1"});
}

TEST(DatasetCheck, ReportsAMissingParameterRow) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("parameters"));
  const std::size_t trade_year =
      find_row(csv, [&](const CsvRecord& r) { return cell(csv, r, "parameter") == "trade_year"; });
  ASSERT_LT(trade_year, csv.records.size());
  csv.records.erase(csv.records.begin() + static_cast<std::ptrdiff_t>(trade_year));
  write_table(data.path("parameters"), csv);
  EXPECT_EQ(data.check(), std::vector<std::string>{
                              data.file("parameters") +
                              ":parameter: missing parameter 'trade_year'; add a row for it"});
}

TEST(DatasetCheck, ReportsSupplyRiskInputsWithoutTheDefaultRow) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("supply_risk_inputs"));
  ASSERT_EQ(csv.records.size(), 1u);
  ASSERT_EQ(cell(csv, csv.records[0], "material_id"), "*");
  csv.records[0].fields[csv.column("material_id").value()] = "lithium";
  write_table(data.path("supply_risk_inputs"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("supply_risk_inputs") +
                                     ":material_id: no default row; add a row with material_id "
                                     "'*' that applies to every material not listed"});
}

TEST(DatasetCheck, ReportsAnImportUnderACn8CodeThatCn8MaterialsDoesNotMap) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("eu_imports"));
  ASSERT_FALSE(csv.records.empty());
  ASSERT_EQ(csv.records[0].line, 2);
  csv.records[0].fields[csv.column("cn8").value()] = "99999999";
  write_table(data.path("eu_imports"), csv);
  EXPECT_EQ(data.check(), std::vector<std::string>{
                              data.file("eu_imports") +
                              ":2:cn8: CN8 code 99999999 has no row in cn8_materials.csv; map it "
                              "to materials and a stage"});
}

TEST(DatasetCheck, ReportsANonPositiveExchangeRate) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("fx_rates"));
  ASSERT_GE(csv.records.size(), 2u);
  ASSERT_EQ(csv.records[1].line, 3);
  csv.records[1].fields[csv.column("usd_per_eur").value()] = "0";
  write_table(data.path("fx_rates"), csv);
  EXPECT_EQ(data.check(), std::vector<std::string>{data.file("fx_rates") +
                                                   ":3:usd_per_eur: an exchange rate must be "
                                                   "positive"});
}

TEST(DatasetCheck, ReportsEveryConsistencyProblemAtOnce) {
  BrokenDataset data;
  CsvTable sri = read_table(data.path("supply_risk_inputs"));
  ASSERT_EQ(sri.records.size(), 1u);
  sri.records[0].fields[sri.column("material_id").value()] = "lithium";
  write_table(data.path("supply_risk_inputs"), sri);
  CsvTable imports = read_table(data.path("eu_imports"));
  ASSERT_EQ(imports.records[0].line, 2);
  imports.records[0].fields[imports.column("cn8").value()] = "99999999";
  write_table(data.path("eu_imports"), imports);
  EXPECT_EQ(data.check(),
            (std::vector<std::string>{
                data.file("supply_risk_inputs") +
                    ":material_id: no default row; add a row with material_id '*' that applies "
                    "to every material not listed",
                data.file("eu_imports") +
                    ":2:cn8: CN8 code 99999999 has no row in cn8_materials.csv; map it to "
                    "materials and a stage"}));
}

// Sets the value of the row of `table` whose `key_column` is `key` (and whose material_id is "*"
// when the table has one); returns the row's line.
int set_value(const BrokenDataset& data, const std::string& table, const std::string& key_column,
              const std::string& key, const std::string& value) {
  CsvTable csv = read_table(data.path(table));
  const bool has_material = csv.column("material_id").has_value();
  const std::size_t row = find_row(csv, [&](const CsvRecord& r) {
    return cell(csv, r, key_column) == key && (!has_material || cell(csv, r, "material_id") == "*");
  });
  if (row >= csv.records.size()) return 0;
  csv.records[row].fields[csv.column("value").value()] = value;
  write_table(data.path(table), csv);
  return csv.records[row].line;
}

TEST(DatasetCheck, ReportsParameterValuesOutsideTheirRangeAtFileLineValue) {
  struct Case {
    std::string name;
    std::string value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"crma_single_country_limit", "0",
       "crma_single_country_limit 0 is outside (0,1]; give a share of one country, 0.65 for the "
       "CRMA's 65%"},
      {"crma_single_country_limit", "65",
       "crma_single_country_limit 65 is outside (0,1]; give a share of one country, 0.65 for the "
       "CRMA's 65%"},
      {"wgi_missing_scaled", "11",
       "wgi_missing_scaled 11 is outside [0,10]; give a score on the 0-10 governance scale"},
      {"censored_share", "0.05",
       "censored_share 0.05 is outside [0,0.001]; give a share below the 0.1% that the source "
       "prints as '<0.1%'"},
      {"share_sum_tolerance", "-0.01",
       "share_sum_tolerance -0.01 is outside [0,0.2]; give the rounding tolerance of a share sum, "
       "0.05 for 5 points"},
      {"wgi_reference_year", "22",
       "wgi_reference_year 22 is outside [1996,2100] or not a whole year; give a WGI year (the WGI "
       "begin in 1996)"},
      {"trade_year", "2024.5",
       "trade_year 2024.5 is outside [1990,2100] or not a whole year; give a calendar year of the "
       "Comext extract"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name + "=" + c.value);
    BrokenDataset data;
    const int line = set_value(data, "parameters", "parameter", c.name, c.value);
    ASSERT_GT(line, 1);
    const std::vector<std::string> problems = data.check();
    ASSERT_FALSE(problems.empty());
    EXPECT_EQ(problems[0],
              data.file("parameters") + ":" + std::to_string(line) + ":value: " + c.message);
  }
}

TEST(DatasetCheck, ReportsMarketParameterValuesOutsideTheirRangeAtFileLineValue) {
  struct Case {
    std::string name;
    std::string value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"processing_yield", "0",
       "processing_yield 0 for the default (*) is outside (0,1]; give tonnes of processed content "
       "per tonne of mined content"},
      {"processing_yield", "1.2",
       "processing_yield 1.2 for the default (*) is outside (0,1]; give tonnes of processed "
       "content per tonne of mined content"},
      {"extraction_price_ratio", "1",
       "extraction_price_ratio 1 for the default (*) is outside (0,1); give the mined feed's share "
       "of the processed price per tonne"},
      {"demand_elasticity_short_run", "0",
       "demand_elasticity_short_run 0 for the default (*) must be < 0; give a negative own-price "
       "elasticity within the year, e.g. -0.1"},
      {"transport_cost_share_extraction", "-0.01",
       "transport_cost_share_extraction -0.01 for the default (*) must be >= 0; give a "
       "non-negative share of the extraction price"},
      {"transport_cost_share_processing", "-1",
       "transport_cost_share_processing -1 for the default (*) must be >= 0; give a non-negative "
       "share of the processed price"},
      {"region_threshold_share", "1.5",
       "region_threshold_share 1.5 for the default (*) is outside [0,1]; give a share of world "
       "supply 0-1"},
      {"restart_share", "1.2",
       "restart_share 1.2 for the default (*) is outside [0,1]; give a share of idle capacity "
       "0-1"},
      {"value_of_lost_use", "10",
       "value_of_lost_use 10 for the default (*) must be >= 20; give a multiple of the base price "
       "of at least 20"},
      {"investment_expectation_weight", "1.5",
       "investment_expectation_weight 1.5 for the default (*) is outside [0,1]; give the share of "
       "a price surprise believed within a year, e.g. 0.5"},
      {"investment_max_loss_probability", "1",
       "investment_max_loss_probability 1 for the default (*) is outside [0,1); give a "
       "probability below 1, e.g. 0.1 for a lender's P90 case"},
      {"price_volatility", "-0.2",
       "price_volatility -0.2 for the default (*) is outside [0,5]; give the sd of a year's log "
       "price change, e.g. 0.22"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name + "=" + c.value);
    BrokenDataset data;
    const int line = set_value(data, "market_parameters", "parameter", c.name, c.value);
    ASSERT_GT(line, 1);
    const std::vector<std::string> problems = data.check();
    ASSERT_FALSE(problems.empty());
    EXPECT_EQ(problems[0],
              data.file("market_parameters") + ":" + std::to_string(line) + ":value: " + c.message);
  }
}

// Sets `column` of the row of supply_costs.csv for (material, region, stage); returns its line.
int set_supply_cost(const BrokenDataset& data, const std::string& material,
                    const std::string& region, const std::string& stage, const std::string& column,
                    const std::string& value) {
  CsvTable csv = read_table(data.path("supply_costs"));
  const std::size_t row = find_row(csv, [&](const CsvRecord& r) {
    return cell(csv, r, "material_id") == material && cell(csv, r, "region") == region &&
           cell(csv, r, "stage") == stage;
  });
  if (row >= csv.records.size()) return 0;
  csv.records[row].fields[csv.column(column).value()] = value;
  write_table(data.path("supply_costs"), csv);
  return csv.records[row].line;
}

TEST(DatasetCheck, ReportsASupplyCostCurveThatFallsWithQuantity) {
  BrokenDataset data;
  const int line = set_supply_cost(data, "*", "*", "processing", "cost_high", "0.4");
  ASSERT_GT(line, 1);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("supply_costs") + ":" + std::to_string(line) +
                                     ":cost_high: 0.4 is below cost_low 0.5: a cost curve "
                                     "cannot fall with quantity; give the marginal tonne's cost, "
                                     "at least the cheapest's"});
}

TEST(DatasetCheck, ReportsIdleCapacityThatWouldRunAtTheBasePrice) {
  BrokenDataset data;
  const int line = set_supply_cost(data, "*", "*", "extraction", "idle_cost_low", "0.95");
  ASSERT_GT(line, 1);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("supply_costs") + ":" + std::to_string(line) +
                                     ":idle_cost_low: 0.95 must be > 1: idle capacity is out of "
                                     "the money at the base price"});
}

TEST(DatasetCheck, ReportsALongRunElasticitySmallerThanTheShortRunOne) {
  BrokenDataset data;
  Result<std::string> text = read_text_file(data.path("market_parameters"));
  ASSERT_TRUE(text.is_ok());
  const auto lines = std::count(text.value().begin(), text.value().end(), '\n');
  // kaolin has no elasticity of its own: its short-run one is the default's.
  ASSERT_TRUE(write_text_file(data.path("market_parameters"),
                              text.value() + "kaolin,demand_elasticity_long_run,-0.01,-,true,"
                                             "test\n")
                  .is_ok());
  const double short_run =
      critmin::test::default_data().market_parameter("*", "demand_elasticity_short_run").value();
  EXPECT_EQ(data.check(),
            std::vector<std::string>{
                data.file("market_parameters") + ":" + std::to_string(lines + 1) +
                fmt::format(":value: demand_elasticity_short_run {:g} and "
                            "demand_elasticity_long_run -0.01 for kaolin: long-run demand "
                            "responds at least as much as short-run demand; make the long-run "
                            "elasticity at least as large in magnitude",
                            short_run)});
}

TEST(DatasetCheck, ReportsAStateReserveThatBuysAboveTheBasePrice) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("state_stocks"));
  ASSERT_FALSE(csv.records.empty());
  csv.records[0].fields[csv.column("buy_below_price").value()] = "1.2";
  write_table(data.path("state_stocks"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("state_stocks") + ":" +
                                     std::to_string(csv.records[0].line) +
                                     ":buy_below_price: 1.2 must lie in (0,1): a reserve buys "
                                     "below the base price"});
}

TEST(DatasetCheck, ReportsARareEarthBasketThatDoesNotSumToOne) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("ree_deposit_baskets"));
  const std::size_t la = find_row(csv, [&](const CsvRecord& r) {
    return cell(csv, r, "deposit_type") == "monazite_mount_weld" && cell(csv, r, "element") == "La";
  });
  const double old_share = std::stod(cell(csv, csv.records[la], "share_of_reo"));
  csv.records[la].fields[csv.column("share_of_reo").value()] = fmt::format("{}", old_share + 0.01);
  write_table(data.path("ree_deposit_baskets"), csv);
  int last_line = 0;
  for (const CsvRecord& r : csv.records) {
    if (cell(csv, r, "deposit_type") == "monazite_mount_weld")
      last_line = std::max(last_line, r.line);
  }
  const std::vector<std::string> problems = data.check();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(
      problems[0].rfind(data.file("ree_deposit_baskets") + ":" + std::to_string(last_line) +
                            ":share_of_reo: the element shares of monazite_mount_weld sum to 1.01",
                        0),
      0u)
      << problems[0];
}

TEST(DatasetCheck, ReportsAByproductWhoseMaximumRecoveryIsBelowTodays) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("byproduct_hosts"));
  const std::size_t ga = find_row(
      csv, [&](const CsvRecord& r) { return cell(csv, r, "byproduct_material_id") == "gallium"; });
  csv.records[ga].fields[csv.column("max_recovery_share").value()] = "0.02";
  write_table(data.path("byproduct_hosts"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("byproduct_hosts") + ":" +
                                     std::to_string(csv.records[ga].line) +
                                     ":max_recovery_share: 0.02 is below recovery_share_2023 0.03; "
                                     "the most that can be recovered is at least what is "
                                     "recovered today"});
}

TEST(DatasetCheck, ReportsHostsHoldingMoreThanAByproductsWholeOutput) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("byproduct_hosts"));
  const std::size_t zinc = find_row(csv, [&](const CsvRecord& r) {
    return cell(csv, r, "byproduct_material_id") == "germanium" &&
           cell(csv, r, "host_material_id") == "zinc";
  });
  csv.records[zinc].fields[csv.column("share_of_output_2023").value()] = "0.7";
  write_table(data.path("byproduct_hosts"), csv);
  int last_line = 0;
  for (const CsvRecord& r : csv.records) {
    if (cell(csv, r, "byproduct_material_id") == "germanium")
      last_line = std::max(last_line, r.line);
  }
  EXPECT_EQ(data.check(), std::vector<std::string>{
                              data.file("byproduct_hosts") + ":" + std::to_string(last_line) +
                              ":share_of_output_2023: the hosts of germanium hold 1.1 of its "
                              "output; the shares may sum to at most 1"});
}

TEST(DatasetCheck, ReportsADemandRegionThatIsNeitherACountryNorEu27NorRow) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("demand_shares"));
  const std::size_t kor = find_row(csv, [&](const CsvRecord& r) {
    return cell(csv, r, "region") == "KOR" && cell(csv, r, "material_id") == "*";
  });
  ASSERT_LT(kor, csv.records.size());
  csv.records[kor].fields[csv.column("region").value()] = "Korea";
  write_table(data.path("demand_shares"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("demand_shares") + ":" +
                                     std::to_string(csv.records[kor].line) +
                                     ":region: unknown region 'Korea'; use an ISO3 code of "
                                     "countries.csv, EU27 or ROW (the rest of the world)"});
}

TEST(DatasetCheck, ReportsDemandSharesWithoutTheDefaultSplit) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("demand_shares"));
  std::erase_if(csv.records,
                [&](const CsvRecord& r) { return cell(csv, r, "material_id") == "*"; });
  write_table(data.path("demand_shares"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("demand_shares") +
                                     ":material_id: no default split; add rows with material_id "
                                     "'*' that give the demand split of every material not "
                                     "listed"});
}

TEST(DatasetCheck, ReportsAnImportBillWithTwoReferenceTotals) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("nl_import_bill"));
  const std::size_t line =
      find_row(csv, [&](const CsvRecord& r) { return cell(csv, r, "item") == "aluminium"; });
  ASSERT_LT(line, csv.records.size());
  csv.records[line].fields[csv.column("kind").value()] = "reference";
  write_table(data.path("nl_import_bill"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("nl_import_bill") +
                                     ":kind: 2 reference rows; give exactly one: the published "
                                     "total the Dutch import bill is reconciled with"});
}

TEST(DatasetCheck, ReportsAResidualWithAValueAndALineWithout) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("nl_import_bill"));
  const std::size_t residual =
      find_row(csv, [&](const CsvRecord& r) { return cell(csv, r, "kind") == "residual"; });
  const std::size_t magnesium =
      find_row(csv, [&](const CsvRecord& r) { return cell(csv, r, "item") == "magnesium"; });
  ASSERT_LT(residual, csv.records.size());
  ASSERT_LT(magnesium, csv.records.size());
  csv.records[residual].fields[csv.column("value_eur").value()] = "100";
  csv.records[magnesium].fields[csv.column("value_eur").value()] = "";
  write_table(data.path("nl_import_bill"), csv);
  const std::string file = data.file("nl_import_bill");
  EXPECT_EQ(data.check(),
            (std::vector<std::string>{
                file + ":" + std::to_string(csv.records[magnesium].line) +
                    ":value_eur: the line row 'magnesium' has no value; give it in EUR",
                file + ":" + std::to_string(csv.records[residual].line) +
                    ":value_eur: the residual row's value is computed (the reference less the "
                    "covered imports and the lines); leave it empty"}));
}

TEST(DatasetCheck, ReportsReExportSharesWithoutTheDefault) {
  BrokenDataset data;
  CsvTable csv = read_table(data.path("nl_re_export_shares"));
  std::erase_if(csv.records,
                [&](const CsvRecord& r) { return cell(csv, r, "material_id") == "*"; });
  write_table(data.path("nl_re_export_shares"), csv);
  EXPECT_EQ(data.check(),
            std::vector<std::string>{data.file("nl_re_export_shares") +
                                     ":material_id: no default row; add a row with material_id "
                                     "'*' that applies to every material not listed"});
}

TEST(DatasetCheck, MissingDirectoryIsNotFound) {
  TempDir temp{kTempPrefix};
  const fs::path missing = temp.path() / "no_dataset_here";
  const Result<Dataset> data = load_dataset(missing);
  ASSERT_FALSE(data.is_ok());
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound);
  const std::vector<Diagnostic> problems = check_dataset(missing);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].file, missing.string());
  EXPECT_EQ(problems[0].line, 0);
  EXPECT_EQ(problems[0].message, data.status().message());
}

}  // namespace
}  // namespace critmin
