// Reports on simulation results (critmin/report/results_report.h): the report model says the
// figures of summary.json, draws every material, shows fields it does not know, and the HTML and
// XLSX files hold what they promise.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <tuple>

#include "critmin/report/results_report.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/ensemble.h"
#include "critmin/sim/simulation.h"
#include "report/report_model.h"
#include "report/report_text.h"
#include "test_support.h"

namespace critmin::report {
namespace {

using json = nlohmann::json;

const std::filesystem::path kScenarios =
    std::filesystem::path(CRITMIN_TEST_DATA) / ".." / "scenarios";

// The summary of the gallium export-ban example, simulated once per test binary.
const std::string& gallium_summary() {
  static const std::string summary = [] {
    const std::string text = test::read_file(kScenarios / "sim-gallium-ban-stockpile.toml");
    auto scenario = scenario::read_simulation_scenario(text, "sim.toml", test::default_data());
    EXPECT_TRUE(scenario.is_ok()) << scenario.status().to_string();
    auto result = sim::run_simulation(test::default_data(), scenario.value());
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return sim::simulation_to_json(result.value());
  }();
  return summary;
}

json model_of(const std::string& summary) {
  Result<ReportModel> model = build_report_model(summary, test::default_data());
  EXPECT_TRUE(model.is_ok()) << model.status().to_string();
  return model.is_ok() ? json::parse(model.value().to_json()) : json();
}

const json* card(const json& model, const std::string& key) {
  for (const json& c : model["scorecards"]) {
    if (c["key"] == key) return &c;
  }
  return nullptr;
}

TEST(ReportModel, ScorecardsSayTheFiguresOfTheSummaryInPlainWords) {
  const json summary = json::parse(gallium_summary());
  const json model = model_of(gallium_summary());

  json last_processing;
  for (const json& s : summary["scorecard"]["supply_security"]["stages"]) {
    if (s["stage"] == "processing" && s["year"] == 2030) last_processing = s;
  }
  ASSERT_FALSE(last_processing.is_null());
  const json* concentration = card(model, "largest_third_country_share.gallium.processing");
  ASSERT_NE(concentration, nullptr) << model["scorecards"].dump(1);
  EXPECT_EQ((*concentration)["value"], last_processing["top_third_country_share"]);
  EXPECT_EQ((*concentration)["group"], "Supply security");
  const std::string text = (*concentration)["text"];
  EXPECT_NE(text.find(last_processing["top_third_country"].get<std::string>() + " supplies"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("CRMA line of 65%"), std::string::npos) << text;

  double eu_shortfall = 0.0;
  for (const json& s : summary["scorecard"]["supply_security"]["shortfall"]) {
    if (s["area"] == "EU27") eu_shortfall += s["shortfall"].get<double>();
  }
  const json* shortfall = card(model, "shortfall_t.gallium.EU27");
  ASSERT_NE(shortfall, nullptr);
  EXPECT_DOUBLE_EQ((*shortfall)["value"].get<double>(), eu_shortfall);
  EXPECT_EQ((*shortfall)["unit"], "t");

  const json* fiscal = card(model, "dutch_business.fiscal_cost_usd_total");
  ASSERT_NE(fiscal, nullptr);
  EXPECT_EQ((*fiscal)["value"], summary["scorecard"]["dutch_business"]["fiscal_cost_usd_total"]);
  EXPECT_EQ((*fiscal)["group"], "Consequences for Dutch businesses");
  // The gallium stockpile sells stock in the ban years: the state earns more than it spends.
  const double fiscal_usd = (*fiscal)["value"].get<double>();
  ASSERT_LT(fiscal_usd, 0.0);
  // Millions with three significant figures, and the text says it flowed back.
  ASSERT_GT(-fiscal_usd, 1e6);
  ASSERT_LT(-fiscal_usd, 1e7);
  EXPECT_EQ((*fiscal)["display"], fmt::format("{:.2f} million USD", fiscal_usd / 1e6));
  EXPECT_NE((*fiscal)["text"].get<std::string>().find(
                fmt::format("bring the treasury {:.2f} million USD net", -fiscal_usd / 1e6)),
            std::string::npos)
      << (*fiscal)["text"];
  EXPECT_NE(card(model, "dutch_business.levy_revenue_usd_total"), nullptr);
}

TEST(ReportModel, DrawsPricesProductionConcentrationAndShortfallOfEveryMaterial) {
  const json summary = json::parse(gallium_summary());
  const json model = model_of(gallium_summary());
  ASSERT_EQ(model["materials"].size(), 1u);
  const json& m = model["materials"][0];
  EXPECT_EQ(m["id"], "gallium");
  EXPECT_EQ(m["years"], json({2025, 2026, 2027, 2028, 2029, 2030}));
  EXPECT_EQ(m["price"]["unit"], "USD/t");
  EXPECT_EQ(m["price"]["lines"][0]["label"], "world (consumption-weighted)");

  // Every value drawn is the summary's: the EU price of 2027, the stacked production of each year.
  double eu_price_2027 = 0.0;
  std::map<int, double> processed;
  for (const json& r : summary["series"]) {
    if (r["stage"] != "processing") continue;
    if (r["region"] == "EU27" && r["year"] == 2027) eu_price_2027 = r["price"];
    processed[r["year"].get<int>()] += r["production"].get<double>();
  }
  bool eu_line = false;
  for (const json& line : m["price"]["lines"]) {
    if (line["label"] == "EU27") {
      eu_line = true;
      EXPECT_EQ(line["values"][2].get<double>(), eu_price_2027);
      EXPECT_FALSE(line.contains("band"));  // one run: no ensemble percentiles
    }
  }
  EXPECT_TRUE(eu_line);
  ASSERT_EQ(m["production"][0]["stage"], "processing");
  for (int i = 0; i < 6; ++i) {
    double stacked = 0.0;
    for (const json& s : m["production"][0]["stacks"]) stacked += s["values"][i].get<double>();
    EXPECT_NEAR(stacked, processed[2025 + i], 1e-9 * processed[2025 + i]) << 2025 + i;
  }
  EXPECT_DOUBLE_EQ(m["concentration"]["limit"].get<double>(), 0.65);
  EXPECT_FALSE(m["concentration"]["lines"].empty());
  std::vector<std::string> areas;
  for (const json& a : m["shortfall"]["areas"]) areas.push_back(a["area"]);
  EXPECT_NE(std::find(areas.begin(), areas.end(), "EU27"), areas.end());
  ASSERT_EQ(m["disruptions"].size(), 1u);
  EXPECT_EQ(m["disruptions"][0]["start"], 2026);
  // The picture of today and what it rests on.
  EXPECT_FALSE(model["assess"]["rows"].empty());
  EXPECT_EQ(model["assess"]["rows"][0]["material"], "gallium");
  EXPECT_FALSE(model["assumptions"].empty());
  EXPECT_FALSE(model["sources"].empty());
}

TEST(ReportModel, DrawsEnsembleBandsWhenTheSeriesCarryPercentiles) {
  json summary = json::parse(gallium_summary());
  for (json& r : summary["series"]) {
    r["price_p5"] = 0.8 * r["price"].get<double>();
    r["price_p95"] = 1.3 * r["price"].get<double>();
  }
  const json model = model_of(summary.dump());
  const json& line = model["materials"][0]["price"]["lines"][1];
  ASSERT_TRUE(line.contains("band")) << line.dump();
  EXPECT_DOUBLE_EQ(line["band"]["p95"][0].get<double>(), 1.3 * line["values"][0].get<double>());
  EXPECT_DOUBLE_EQ(line["band"]["p5"][0].get<double>(), 0.8 * line["values"][0].get<double>());
}

TEST(ReportModel, CardsCarryTheLabelsAndUnitsOfTheOutputTable) {
  const json model = model_of(gallium_summary());
  const json* rate = card(model, "dutch_business.usd_per_eur");
  ASSERT_NE(rate, nullptr);
  EXPECT_EQ((*rate)["label"], "Exchange rate");
  EXPECT_EQ((*rate)["unit"], "USD/EUR");
  const std::string shown = (*rate)["display"];
  EXPECT_NE(shown.find(" USD/EUR"), std::string::npos) << shown;
  EXPECT_EQ(shown.find(" EUR"), std::string::npos) << shown;
  const json* investment = card(model, "dutch_business.club_investment_usd");
  ASSERT_NE(investment, nullptr);
  EXPECT_EQ((*investment)["label"], "Investment attracted inside the club");
  EXPECT_EQ((*investment)["unit"], "USD");
  for (const json& c : model["scorecards"]) {
    const std::string label = c["label"];
    // No card reads like a field name ("Club investment usd", "Usd per eur").
    EXPECT_EQ(label.find("usd"), std::string::npos) << label;
    EXPECT_EQ(label.find('_'), std::string::npos) << label;
    EXPECT_EQ(c["display"].get<std::string>().find("e+"), std::string::npos) << c["display"];
    EXPECT_EQ(c["display"].get<std::string>().find("e-"), std::string::npos) << c["display"];
  }
}

// Issue 19: units were guessed from field names, so a field the report did not know was shown
// under a made-up unit. Now a field outside the output table is an error naming it.
TEST(ReportModel, RejectsAFieldTheOutputTableDoesNotHold) {
  json summary = json::parse(gallium_summary());
  summary["scorecard"]["supply_security"]["stock_cover_days"] = 42.5;
  Result<ReportModel> model = build_report_model(summary.dump(), test::default_data());
  ASSERT_FALSE(model.is_ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(model.status().to_string().find("stock_cover_days"), std::string::npos)
      << model.status().to_string();
  EXPECT_NE(model.status().to_string().find("data/outputs/figures.csv"), std::string::npos);
  test::TempDir dir("critmin_report_unknown_");
  EXPECT_EQ(summary_to_xlsx(summary.dump(), dir.path() / "r.xlsx").code(),
            StatusCode::kInvalidInput);
  EXPECT_FALSE(summary_table_to_csv(summary.dump(), "series").is_ok());
}

TEST(ReportModel, RejectsSomethingThatIsNotASimulationSummary) {
  Result<ReportModel> model = build_report_model(R"({"scenario": "x"})", test::default_data());
  ASSERT_FALSE(model.is_ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(model.status().message().find("'series'"), std::string::npos);
  EXPECT_FALSE(build_report_model("not json", test::default_data()).is_ok());
}

TEST(UnitOfField, ReadsTheUnitFromTheOutputTable) {
  EXPECT_EQ(unit_of_field("price").value(), "USD/t");
  EXPECT_EQ(unit_of_field("production").value(), "t/yr");
  EXPECT_EQ(unit_of_field("fiscal_cost_usd_total").value(), "USD");
  EXPECT_EQ(unit_of_field("shortfall_share").value(), "0-1");
  EXPECT_EQ(unit_of_field("top_third_country_share").value(), "0-1");
  EXPECT_EQ(unit_of_field("hhi").value(), "0-10000");
  EXPECT_EQ(unit_of_field("share_of_manufacturing_inputs").value(), "0-1");
  EXPECT_EQ(unit_of_field("days_of_cover").value(), "days");
  EXPECT_EQ(unit_of_field("usd_per_eur").value(), "USD/EUR");
  EXPECT_EQ(unit_of_field("region").value(), "");
}

TEST(UnitOfField, IsAnErrorForAFieldTheTableLacksNeverAGuess) {
  const Result<std::string> unit = unit_of_field("cost_change_mean_meur");
  ASSERT_FALSE(unit.is_ok());
  EXPECT_EQ(unit.status().code(), StatusCode::kNotFound);
  const Result<std::string> typo = unit_of_field("shortfal_share");
  ASSERT_FALSE(typo.is_ok());
  EXPECT_NE(typo.status().message().find("did you mean shortfall_share"), std::string::npos)
      << typo.status().message();
}

// A model's tables become typed cells once, and to_json writes the same document back: whole
// numbers stay whole, missing cells stay missing, a row's field without a column is not kept.
TEST(ReportModel, TypesTheTablesOfADocumentAndWritesThemBackAsTheScriptReadsThem) {
  const json document = {
      {"title", "hand"},
      {"chart", json::array({1, 2.5})},
      {"notes", json::array({"first note"})},
      {"tables",
       json::array(
           {{{"name", "t"},
             {"title", "a table"},
             {"columns", json::array({{{"key", "year"}, {"label", "year"}, {"unit", ""}},
                                      {{"key", "v"}, {"label", "value"}, {"unit", "USD"}},
                                      {{"key", "flag"}, {"label", "flag"}, {"unit", ""}},
                                      {{"key", "who"}, {"label", "who"}, {"unit", ""}}})},
             {"rows",
              json::array(
                  {{{"year", 2030}, {"v", 1.5}, {"flag", true}, {"who", "EU"}, {"dropped", 7}},
                   {{"v", nullptr}}})}}})}};
  Result<ReportModel> built = report_model_from_document(ResultsKind::kCompare, document);
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  const ReportModel& model = built.value();
  EXPECT_EQ(model.kind(), ResultsKind::kCompare);
  EXPECT_EQ(model.title(), "hand");
  EXPECT_EQ(model.notes(), std::vector<std::string>{"first note"});
  ASSERT_EQ(model.tables().size(), 1u);
  const ReportTable& table = model.tables()[0];
  ASSERT_EQ(table.rows.size(), 2u);
  ASSERT_EQ(table.rows[0].size(), 4u);
  EXPECT_EQ(std::get<std::int64_t>(table.rows[0][0]), 2030);
  EXPECT_EQ(std::get<double>(table.rows[0][1]), 1.5);
  EXPECT_TRUE(std::get<bool>(table.rows[0][2]));
  EXPECT_EQ(std::get<std::string>(table.rows[0][3]), "EU");
  for (const ReportCell& cell : table.rows[1]) {
    EXPECT_TRUE(std::holds_alternative<std::monostate>(cell));
  }

  const json written = json::parse(model.to_json());
  EXPECT_EQ(written["kind"], "compare");
  EXPECT_EQ(written["chart"], json::array({1, 2.5}));
  EXPECT_EQ(written["notes"], json::array({"first note"}));
  EXPECT_EQ(written["tables"][0]["rows"][0],
            json({{"year", 2030}, {"v", 1.5}, {"flag", true}, {"who", "EU"}}));
  EXPECT_TRUE(written["tables"][0]["rows"][0]["year"].is_number_integer());
  EXPECT_EQ(written["tables"][0]["rows"][1], json::object());
  EXPECT_EQ(written["tables"][0]["columns"], document["tables"][0]["columns"]);

  Result<std::string> csv = report_table_to_csv(model, "t");
  ASSERT_TRUE(csv.is_ok());
  EXPECT_EQ(csv.value(), "year,value [USD],flag,who\n2030,1.5,true,EU\n,,,\n");
  Result<const ReportTable*> missing = model.table("weather");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("its tables are t"), std::string::npos);
}

TEST(ReportModel, RefusesADocumentWhoseTablesBreakTheShape) {
  EXPECT_FALSE(report_model_from_document(ResultsKind::kSimulation, json::array()).is_ok());
  EXPECT_FALSE(
      report_model_from_document(ResultsKind::kSimulation, {{"tables", "not an array"}}).is_ok());
  EXPECT_FALSE(report_model_from_document(ResultsKind::kSimulation,
                                          {{"tables", json::array({{{"name", "t"}}})}})
                   .is_ok());
}

// A scenario's [[appraisal]] projects: a card in words per project and the cases as a table.
TEST(ReportModel, SaysInWordsWhetherAnAppraisedProjectPaysBack) {
  json summary = json::parse(gallium_summary());
  json rows = json::array();
  for (const auto& [supplier, instruments, probability] :
       {std::tuple{"passive", "none", 0.0}, std::tuple{"passive", "all", 0.8},
        std::tuple{"strategic", "none", 0.05}, std::tuple{"strategic", "all", 0.95}}) {
    rows.push_back({{"material", "gallium"},
                    {"region", "USA"},
                    {"stage", "processing"},
                    {"capacity_t", 50.0},
                    {"online_year", 2028},
                    {"runs", 40},
                    {"supplier", supplier},
                    {"instruments", instruments},
                    {"probability_npv_positive", probability},
                    {"expected_npv_usd", 1e6},
                    {"npv_p5_usd", -1e6},
                    {"npv_p95_usd", 3e6},
                    {"fiscal_cost_usd_total", 2.5e7},
                    {"investable", probability >= 0.9},
                    {"investable_floor_usd_per_t", nullptr}});
  }
  summary["appraisals"] = rows;
  const json model = model_of(summary.dump());
  const json* card = nullptr;
  for (const json& c : model["scorecards"]) {
    if (c["key"].get<std::string>().rfind("appraisal.", 0) == 0) card = &c;
  }
  ASSERT_NE(card, nullptr) << model["scorecards"].dump(1);
  EXPECT_EQ((*card)["label"], "Chance that 50 t/yr of gallium processing in USA pays back");
  EXPECT_EQ((*card)["value"].get<double>(), 0.95);  // strategic supplier, with the instruments
  const std::string text = (*card)["text"];
  EXPECT_NE(text.find("positive in 95.0% of 40 runs with the scenario's instruments and in 5.0% "
                      "without them (facing a passive supplier: 80.0% and 0.0%)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("25 million USD"), std::string::npos) << text;
  EXPECT_NE(text.find("probability of loss of 10.0% at most): supplier/instruments strategic/all"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("No top-up floor"), std::string::npos) << text;
  const json* table = nullptr;
  for (const json& t : model["tables"]) {
    if (t["name"] == "appraisals") table = &t;
  }
  ASSERT_NE(table, nullptr);
  EXPECT_EQ((*table)["rows"].size(), 4u);
  bool labelled = false;
  for (const json& c : (*table)["columns"]) {
    labelled |= c["label"] == "Probability of a positive NPV" && c["unit"] == "0-1";
  }
  EXPECT_TRUE(labelled) << (*table)["columns"].dump();
}

TEST(ReportHtml, IsOneFileWithTheChartLibraryScriptAndModelInlined) {
  json summary = json::parse(gallium_summary());
  summary["scenario"] = "ban </script><b>";
  Result<ReportModel> model = build_report_model(summary.dump(), test::default_data());
  ASSERT_TRUE(model.is_ok());
  const std::string html = report_model_to_html(model.value());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("Chart.js v4"), std::string::npos);
  EXPECT_NE(html.find("critminReport.render("), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);  // nothing loaded from elsewhere
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_NE(html.find("<title>critmin simulation: ban &lt;/script&gt;&lt;b&gt;"),
            std::string::npos);
  // The scenario name cannot end the model's script element early.
  EXPECT_EQ(html.find("ban </script>"), std::string::npos);
  EXPECT_NE(html.find("ban <\\/script>"), std::string::npos);
}

// The bytes of one member of a ZIP archive (an XLSX file), inflated; empty when it is missing.
std::string zip_member(const std::string& zip, const std::string& name) {
  const auto u16 = [&](std::size_t at) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(zip[at]) |
                                      static_cast<unsigned char>(zip[at + 1]) << 8);
  };
  const auto u32 = [&](std::size_t at) { return u16(at) | u16(at + 2) << 16; };
  const std::size_t end = zip.rfind(std::string("PK\x05\x06", 4));
  if (end == std::string::npos) return "";
  std::size_t at = u32(end + 16);
  for (std::uint32_t i = 0; i < u16(end + 10) && at + 46 <= zip.size(); ++i) {
    const std::uint32_t method = u16(at + 10), packed = u32(at + 20), size = u32(at + 24);
    const std::uint32_t name_length = u16(at + 28), local = u32(at + 42);
    if (zip.compare(at + 46, name_length, name) == 0 && name_length == name.size()) {
      const std::size_t data = local + 30 + u16(local + 26) + u16(local + 28);
      if (method == 0) return zip.substr(data, size);
      std::string out(size, '\0');
      z_stream stream{};
      inflateInit2(&stream, -MAX_WBITS);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zip.data() + data));
      stream.avail_in = packed;
      stream.next_out = reinterpret_cast<Bytef*>(out.data());
      stream.avail_out = size;
      inflate(&stream, Z_FINISH);
      inflateEnd(&stream);
      return out;
    }
    at += 46 + name_length + u16(at + 30) + u16(at + 32);
  }
  return "";
}

TEST(SummaryXlsx, HasOneSheetPerTableWithUnitsInTheHeaders) {
  test::TempDir dir("critmin_report_xlsx_");
  const std::filesystem::path file = dir.path() / "results.xlsx";
  ASSERT_TRUE(summary_to_xlsx(gallium_summary(), file).is_ok());
  const std::string zip = test::read_file(file);
  const std::string workbook = zip_member(zip, "xl/workbook.xml");
  for (const char* sheet : {"scorecard", "series", "stages", "shortfall", "fiscal", "disruptions",
                            "projects", "notes"}) {
    EXPECT_NE(workbook.find(std::string("name=\"") + sheet + "\""), std::string::npos) << sheet;
  }
  const std::string strings = zip_member(zip, "xl/sharedStrings.xml");
  for (const char* header :
       {"Price [USD/t]", "Production [t/yr]", "Shortfall share [0-1]", "Fiscal cost [USD]",
        "HHI [0-10000]", "dutch_business.fiscal_cost_usd_total", "Exchange rate",
        "Investment attracted inside the club"}) {
    EXPECT_NE(strings.find(header), std::string::npos) << header;
  }
  EXPECT_EQ(summary_to_xlsx("[]", file).code(), StatusCode::kInvalidInput);
}

// The number of the sheet named `name` (xl/worksheets/sheetN.xml), by its place in the workbook.
int sheet_number(const std::string& zip, const std::string& name) {
  const std::string workbook = zip_member(zip, "xl/workbook.xml");
  int number = 0;
  for (std::size_t at = workbook.find("<sheet "); at != std::string::npos;
       at = workbook.find("<sheet ", at + 1)) {
    ++number;
    if (workbook.compare(at, 14 + name.size(), "<sheet name=\"" + name + "\"") == 0) return number;
  }
  return 0;
}

// The texts of a sheet's first row (its headers), in column order, through the shared strings.
std::vector<std::string> header_row(const std::string& zip, int sheet) {
  const std::string strings = zip_member(zip, "xl/sharedStrings.xml");
  std::vector<std::string> shared;
  for (std::size_t at = strings.find("<t"); at != std::string::npos; at = strings.find("<t", at)) {
    const std::size_t begin = strings.find('>', at) + 1;
    const std::size_t end = strings.find("</t>", begin);
    shared.push_back(strings.substr(begin, end - begin));
    at = end;
  }
  const std::string xml = zip_member(zip, "xl/worksheets/sheet" + std::to_string(sheet) + ".xml");
  const std::size_t row_begin = xml.find("<row r=\"1\"");
  const std::string row = xml.substr(row_begin, xml.find("</row>", row_begin) - row_begin);
  std::vector<std::string> out;
  for (std::size_t at = row.find("<v>"); at != std::string::npos; at = row.find("<v>", at + 1)) {
    out.push_back(shared.at(std::stoul(row.substr(at + 3, row.find("</v>", at) - at - 3))));
  }
  return out;
}

// Issue 20, item 2: the key columns (material, year, ...) come first in every table sheet, and a
// number format rounds what a cell shows while the cell keeps the full value.
TEST(SummaryXlsx, PutsKeyColumnsFirstAndRoundsOnlyTheDisplay) {
  test::TempDir dir("critmin_report_xlsx_keys_");
  const std::filesystem::path file = dir.path() / "results.xlsx";
  ASSERT_TRUE(summary_to_xlsx(gallium_summary(), file).is_ok());
  const std::string zip = test::read_file(file);
  const std::vector<std::string> series = header_row(zip, sheet_number(zip, "series"));
  ASSERT_GE(series.size(), 4u);
  EXPECT_EQ(series[0], summary_field("material").label) << ::testing::PrintToString(series);
  EXPECT_EQ(series[1], summary_field("region").label) << ::testing::PrintToString(series);
  EXPECT_EQ(series[2], summary_field("stage").label) << ::testing::PrintToString(series);
  EXPECT_EQ(series[3], summary_field("year").label) << ::testing::PrintToString(series);
  const std::string styles = zip_member(zip, "xl/styles.xml");
  for (const char* format :
       {"formatCode=\"#,##0\"", "formatCode=\"#,##0.00\"", "formatCode=\"0.000\""}) {
    EXPECT_NE(styles.find(format), std::string::npos) << format;
  }
  // The values are written unrounded: some cell holds more than three decimals.
  const std::string sheet =
      zip_member(zip, "xl/worksheets/sheet" + std::to_string(sheet_number(zip, "series")) + ".xml");
  bool unrounded = false;
  for (std::size_t at = sheet.find("<v>"); at != std::string::npos && !unrounded;
       at = sheet.find("<v>", at + 1)) {
    const std::string value = sheet.substr(at + 3, sheet.find("</v>", at) - at - 3);
    const std::size_t dot = value.find('.');
    unrounded = dot != std::string::npos && value.size() - dot - 1 > 3;
  }
  EXPECT_TRUE(unrounded);
}

TEST(ReportCli, WritesTheHtmlAndXlsxOfAResultsDirectory) {
  test::TempDir dir("critmin_report_cli_");
  const std::string results = (dir.path() / "results").string();
  test::CliRun run = test::run_cli(
      dir.path(), "simulate " +
                      test::quote((kScenarios / "sim-gallium-ban-stockpile.toml").string()) +
                      " --out " + test::quote(results) + " --html " +
                      test::quote((dir.path() / "sim.html").string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  run = test::run_cli(dir.path(), "report " + test::quote(results) + " --html " +
                                      test::quote((dir.path() / "report.html").string()) +
                                      " --xlsx " + test::quote((dir.path() / "r.xlsx").string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string html = test::read_file(dir.path() / "report.html");
  EXPECT_NE(html.find("critmin-report-model"), std::string::npos);
  EXPECT_EQ(html, test::read_file(dir.path() / "sim.html"));  // the same results, the same page
  EXPECT_EQ(test::read_file(dir.path() / "r.xlsx").substr(0, 2), "PK");

  run = test::run_cli(dir.path(),
                      "report " + test::quote((dir.path() / "none").string()) + " --html x.html");
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(run.err.find("no such results directory"), std::string::npos) << run.err;
  run = test::run_cli(dir.path(), "report " + test::quote(results));
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("give --html FILE, --xlsx FILE or both"), std::string::npos) << run.err;
}

// ---- compare and ensemble reports --------------------------------------------------------------

sim::SimulationScenario example(const std::string& file) {
  auto scenario = scenario::read_simulation_scenario(test::read_file(kScenarios / file), file,
                                                     test::default_data());
  EXPECT_TRUE(scenario.is_ok()) << scenario.status().to_string();
  return scenario.value();
}

// The gallium ban against the same ban with a club stockpile, compared once per test binary,
// with and without ensemble bands.
struct ComparedExamples {
  sim::CompareRun run;
  std::string comparison_json;
  std::vector<std::string> summaries;
  std::optional<ReportModel> built;
  json model;  // built, as to_json writes it
};

ComparedExamples compare_examples(std::size_t runs) {
  ComparedExamples out;
  sim::CompareOptions options;
  options.runs = runs;
  options.threads = 2;
  auto run =
      sim::run_compare(test::default_data(),
                       {example("sim-gallium-ban.toml"), example("sim-gallium-ban-stockpile.toml")},
                       {"sim-gallium-ban", "sim-gallium-ban-stockpile"}, options);
  EXPECT_TRUE(run.is_ok()) << run.status().to_string();
  out.run = std::move(run).value();
  out.comparison_json = sim::comparison_to_json(out.run.comparison);
  for (const auto& r : out.run.results) out.summaries.push_back(sim::simulation_to_json(r));
  Result<ReportModel> model =
      build_compare_report_model(out.comparison_json, out.summaries, test::default_data());
  EXPECT_TRUE(model.is_ok()) << model.status().to_string();
  if (model.is_ok()) {
    out.built = model.value();
    out.model = json::parse(out.built->to_json());
  }
  return out;
}

const ComparedExamples& compared() {
  static const ComparedExamples examples = compare_examples(0);
  return examples;
}

const ComparedExamples& compared_with_bands() {
  static const ComparedExamples examples = compare_examples(3);
  return examples;
}

const json& compared_line(const json& model, const std::string& key) {
  for (const json& line : model["scorecards"]) {
    if (line["key"] == key) return line;
  }
  static const json none;
  ADD_FAILURE() << "no line " << key;
  return none;
}

TEST(CompareReport, SaysEachDesignsFiguresAndTheirDifferenceInPlainWords) {
  const json& model = compared().model;
  const sim::Comparison& c = compared().run.comparison;
  EXPECT_EQ(model["kind"], "compare");
  EXPECT_EQ(model["title"], "critmin compare: gallium-ban vs gallium-ban-stockpile");
  ASSERT_EQ(model["designs"].size(), 2u);
  EXPECT_EQ(model["designs"][1]["name"], "gallium-ban-stockpile");
  EXPECT_EQ(model["designs"][1]["years"], json({2025, 2030}));
  ASSERT_EQ(model["scorecards"].size(), c.lines.size());
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    const json& line = model["scorecards"][i];
    EXPECT_EQ(line["key"], c.lines[i].key);
    for (std::size_t d = 0; d < 2; ++d) {
      if (c.lines[i].values[d]) {
        EXPECT_EQ(line["values"][d].get<double>(), *c.lines[i].values[d]) << line["key"];
      } else {
        EXPECT_TRUE(line["values"][d].is_null()) << line["key"];
      }
    }
  }

  // The verdict comes first: in the model, as the first table (the workbook's first sheet), with
  // the comparison's figures.
  ASSERT_EQ(model["verdict"].size(), 7u);
  EXPECT_EQ(model["tables"][0]["name"], "verdict");
  ASSERT_EQ(c.verdicts.size(), 2u);
  for (std::size_t d = 0; d < 2; ++d) {
    EXPECT_EQ(model["verdict"][0]["values"][d].get<double>(),
              c.verdicts[d].eu_physical_shortage_usd);
    EXPECT_EQ(model["verdict"][4]["values"][d].get<double>(), c.verdicts[d].fiscal_cost_usd);
    EXPECT_EQ(model["tables"][0]["rows"][4][fmt::format("value_{}", d)].get<double>(),
              c.verdicts[d].fiscal_cost_usd);
  }
  EXPECT_EQ(model["verdict"][4]["key"], "fiscal_cost_usd");

  // The stockpile's releases lower the EU's processing concentration a little: a lower HHI,
  // better for supply security.
  const json& hhi = compared_line(model, "gallium/processing/hhi_last");
  const double reference = hhi["values"][0], design = hhi["values"][1];
  ASSERT_LT(design, reference);
  EXPECT_DOUBLE_EQ(hhi["differences"][1].get<double>(), design - reference);
  EXPECT_EQ(hhi["verdicts"][1], "better");
  EXPECT_EQ(hhi["group"], "Supply security");
  const std::string words = hhi["sentences"][1];
  EXPECT_EQ(words.rfind("In gallium-ban-stockpile, gallium processing: HHI, last year is", 0), 0u)
      << words;
  EXPECT_NE(words.find(" lower than in gallium-ban ("), std::string::npos) << words;
  EXPECT_EQ(words.find(", -"), std::string::npos) << words;  // the size, not a signed number
  EXPECT_NE(words.find(": better for supply security."), std::string::npos) << words;

  // Neither design leaves the EU physically short of gallium: what it does not buy is priced
  // out, a figure with no better direction, so its sentence passes no judgement.
  const json& physical = compared_line(model, "gallium/EU27/physical_shortage_t");
  EXPECT_EQ(physical["values"][0].get<double>(), 0.0);
  EXPECT_EQ(physical["verdicts"][1], "same");
  const json& priced_out = compared_line(model, "gallium/EU27/priced_out_t");
  ASSERT_LT(priced_out["values"][1].get<double>(), priced_out["values"][0].get<double>());
  EXPECT_EQ(priced_out["displays"][0],
            fmt::format("{:.3g} t", priced_out["values"][0].get<double>()));
  EXPECT_EQ(priced_out["verdicts"][1], "");
  const std::string priced_words = priced_out["sentences"][1];
  EXPECT_NE(priced_words.find(" t lower than in gallium-ban ("), std::string::npos) << priced_words;
  EXPECT_EQ(priced_words.find("better"), std::string::npos) << priced_words;

  // A share carries its country; an unchanged figure says so.
  const json& top = compared_line(model, "gallium/processing/top_share_last");
  EXPECT_NE(top["displays"][0].get<std::string>().find("% (CHN)"), std::string::npos) << top;
  const json& breach = compared_line(model, "gallium/processing/years_in_breach");
  EXPECT_EQ(breach["verdicts"][1], "same");
  EXPECT_NE(breach["sentences"][1].get<std::string>().find("the same as in gallium-ban"),
            std::string::npos);
  // Levy revenue has no better direction: no verdict.
  EXPECT_EQ(compared_line(model, "levy_revenue")["verdicts"][1], "");

  // The summary per card counts the verdicts of its lines.
  for (const json& summary : model["summaries"]) {
    int better = 0, worse = 0;
    for (const json& line : model["scorecards"]) {
      if (line["group"] != summary["group"]) continue;
      better += line["verdicts"][1] == "better";
      worse += line["verdicts"][1] == "worse";
    }
    EXPECT_EQ(summary["better"], better) << summary;
    EXPECT_EQ(summary["worse"], worse) << summary;
    EXPECT_NE(summary["text"].get<std::string>().find(
                  fmt::format("better on {} and worse on {}", better, worse)),
              std::string::npos);
  }
  // Each design's own scorecards, worded as its own report words them.
  ASSERT_EQ(model["design_scorecards"].size(), 2u);
  EXPECT_EQ(model["design_scorecards"][1]["cards"],
            model_of(compared().summaries[1])["scorecards"]);
}

TEST(CompareReport, DrawsEachDesignsPathsAsItsOwnReportDoes) {
  const json& model = compared().model;
  ASSERT_EQ(model["materials"].size(), 1u);
  const json& m = model["materials"][0];
  EXPECT_EQ(m["id"], "gallium");
  EXPECT_EQ(m["years"], json({2025, 2026, 2027, 2028, 2029, 2030}));
  for (std::size_t d = 0; d < 2; ++d) {
    const json own = model_of(compared().summaries[d])["materials"][0];
    EXPECT_EQ(m["price"]["lines"][d]["label"], model["designs"][d]["name"]);
    EXPECT_EQ(m["price"]["lines"][d]["values"], own["price"]["lines"][0]["values"]);
    for (const json& area : own["shortfall"]["areas"]) {
      if (area["area"] == "EU27") {
        EXPECT_EQ(m["shortfall"]["lines"][d]["values"], area["values"]);
      }
    }
    EXPECT_EQ(m["shortfall"]["lines"][d]["area"], "EU27");
    // The largest third country's processing share per year is the summary's.
    const json summary = json::parse(compared().summaries[d]);
    for (const json& s : summary["scorecard"]["supply_security"]["stages"]) {
      if (s["stage"] != "processing") continue;
      const int i = s["year"].get<int>() - 2025;
      EXPECT_EQ(m["concentration"]["lines"][d]["share"][i], s["top_third_country_share"]);
      EXPECT_EQ(m["concentration"]["lines"][d]["country"][i], s["top_third_country"]);
    }
  }
  EXPECT_DOUBLE_EQ(m["concentration"]["limit"].get<double>(), 0.65);
}

TEST(CompareReport, ChartsTheHeadlineFiguresWithBandsWhenRunWithRuns) {
  const json& plain = compared().model;
  ASSERT_FALSE(plain["headline"].empty());
  for (const json& group : plain["headline"]) EXPECT_FALSE(group.contains("bands"));
  const json* price = nullptr;
  for (const json& group : plain["headline"]) {
    if (group["id"] == "world_price_mean") price = &group;
  }
  ASSERT_NE(price, nullptr);
  EXPECT_EQ((*price)["unit"], "USD/t");
  EXPECT_EQ((*price)["labels"], json({"gallium"}));
  for (std::size_t d = 0; d < 2; ++d) {
    const auto figures = sim::headline_figures(compared().run.results[d]);
    const auto mean = std::find_if(figures.begin(), figures.end(), [](const auto& f) {
      return f.name == "gallium.world_price_mean";
    });
    ASSERT_NE(mean, figures.end());
    EXPECT_EQ((*price)["values"][d][0].get<double>(), mean->value);
  }

  const json& banded = compared_with_bands().model;
  EXPECT_EQ(banded["runs"], 3);
  const sim::Comparison& c = compared_with_bands().run.comparison;
  for (const json& group : banded["headline"]) {
    ASSERT_TRUE(group.contains("bands")) << group["id"];
    for (std::size_t k = 0; k < group["names"].size(); ++k) {
      const auto band = std::find_if(c.bands.begin(), c.bands.end(), [&](const auto& b) {
        return b.name == group["names"][k].get<std::string>();
      });
      ASSERT_NE(band, c.bands.end());
      for (std::size_t d = 0; d < 2; ++d) {
        EXPECT_EQ(group["bands"]["p5"][d][k].get<double>(), band->bands[d]->p5);
        EXPECT_EQ(group["bands"]["p50"][d][k].get<double>(), band->bands[d]->p50);
        EXPECT_EQ(group["bands"]["p95"][d][k].get<double>(), band->bands[d]->p95);
        EXPECT_LE(band->bands[d]->p5, band->bands[d]->p95);
      }
    }
  }
  bool bands_table = false;
  for (const json& t : banded["tables"]) bands_table = bands_table || t["name"] == "bands";
  EXPECT_TRUE(bands_table);

  // The paths carry each design's yearly P5-P95 band around its deterministic line.
  const json& m = banded["materials"][0];
  for (std::size_t d = 0; d < 2; ++d) {
    const auto& path_bands = c.path_bands[d];
    ASSERT_FALSE(path_bands.empty());
    EXPECT_EQ(path_bands[0].name, "gallium.world_price");
    const json& band = m["price"]["lines"][d]["band"];
    ASSERT_EQ(band["p5"].size(), 6u) << m["price"]["lines"][d];
    for (std::size_t y = 0; y < 6; ++y) {
      EXPECT_EQ(band["p5"][y].get<double>(), path_bands[0].p5[y]);
      EXPECT_EQ(band["p95"][y].get<double>(), path_bands[0].p95[y]);
    }
    EXPECT_TRUE(m["shortfall"]["lines"][d].contains("band"));
    EXPECT_TRUE(m["concentration"]["lines"][d].contains("band"));
  }
  EXPECT_FALSE(compared().model["materials"][0]["price"]["lines"][0].contains("band"));
}

TEST(CompareReport, RejectsACompareJsonItCannotRead) {
  const auto& summaries = compared().summaries;
  const auto message = [&](const std::string& comparison, const std::vector<std::string>& s) {
    Result<ReportModel> model = build_compare_report_model(comparison, s, test::default_data());
    EXPECT_FALSE(model.is_ok());
    return model.is_ok() ? std::string() : model.status().message();
  };
  EXPECT_NE(message("not json", summaries).find("not a JSON object"), std::string::npos);
  EXPECT_NE(message(R"({"designs": ["a"]})", summaries).find("'designs'"), std::string::npos);
  EXPECT_NE(message(R"({"designs": ["a", "b"]})", summaries).find("'lines'"), std::string::npos);
  EXPECT_NE(message(R"({"designs": ["a", "b"], "lines": [{"values": [1], "texts": ["", ""],
                       "differences": [null, null]}]})",
                    summaries)
                .find("lines[0].values must be an array with one entry per design (2)"),
            std::string::npos);
  EXPECT_NE(message(compared().comparison_json, {summaries[0]}).find("1 design summaries"),
            std::string::npos);
  EXPECT_NE(message(compared().comparison_json, {summaries[0], "{}"})
                .find("design 2 (gallium-ban-stockpile)"),
            std::string::npos);
}

TEST(CompareXlsx, PutsTheDesignAndMaterialColumnsFirst) {
  test::TempDir dir("critmin_compare_xlsx_keys_");
  const std::filesystem::path file = dir.path() / "compare.xlsx";
  ASSERT_TRUE(compared_with_bands().built);
  ASSERT_TRUE(report_tables_to_xlsx(*compared_with_bands().built, file).is_ok());
  const std::string zip = test::read_file(file);
  // The paths sheet: design, material, year first.
  const std::vector<std::string> paths = header_row(zip, sheet_number(zip, "paths"));
  ASSERT_GE(paths.size(), 3u);
  EXPECT_EQ(paths[0], "design") << ::testing::PrintToString(paths);
  EXPECT_EQ(paths[1], "material") << ::testing::PrintToString(paths);
  EXPECT_EQ(paths[2], "year") << ::testing::PrintToString(paths);
  EXPECT_NE(zip_member(zip, "xl/styles.xml").find("formatCode=\"#,##0\""), std::string::npos);
}

TEST(CompareXlsx, HasOneSheetPerTableWithUnitsInTheHeaders) {
  test::TempDir dir("critmin_compare_xlsx_");
  const std::filesystem::path file = dir.path() / "compare.xlsx";
  ASSERT_TRUE(compared_with_bands().built);
  const ReportModel& model = *compared_with_bands().built;
  ASSERT_TRUE(report_tables_to_xlsx(model, file).is_ok());
  const std::string zip = test::read_file(file);
  const std::string workbook = zip_member(zip, "xl/workbook.xml");
  for (const char* sheet : {"scorecards", "headline", "bands", "paths", "notes"}) {
    EXPECT_NE(workbook.find(std::string("name=\"") + sheet + "\""), std::string::npos) << sheet;
  }
  const std::string strings = zip_member(zip, "xl/sharedStrings.xml");
  for (const char* header : {"world price [USD/t]", "shortfall [t/yr]", "processing share [0-1]",
                             "gallium-ban-stockpile - gallium-ban", "unit"}) {
    EXPECT_NE(strings.find(header), std::string::npos) << header;
  }
  EXPECT_EQ(
      report_tables_to_xlsx(ReportModel(ResultsKind::kCompare, "empty", {}, {}, nullptr), file)
          .code(),
      StatusCode::kInvalidInput);

  Result<std::string> csv = report_table_to_csv(model, "paths");
  ASSERT_TRUE(csv.is_ok());
  const std::string header = csv.value().substr(0, csv.value().find('\n'));
  EXPECT_EQ(header.rfind("design,material,year,world price [USD/t],shortfall area,shortfall "
                         "[t/yr],largest third country,largest third country's processing share "
                         "[0-1],world price P5 [USD/t],world price P50 [USD/t],world price P95 "
                         "[USD/t],shortfall P5 [t/yr]",
                         0),
            0u)
      << header;
  // One row per design and year, plus the header.
  EXPECT_EQ(std::count(csv.value().begin(), csv.value().end(), '\n'), 1 + 2 * 6);
  Result<std::string> missing = report_table_to_csv(model, "weather");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("scorecards, headline, bands, paths"),
            std::string::npos);
}

TEST(EnsembleReport, ShowsTheBandsAndTheDistributionOfTheRuns) {
  const sim::SimulationScenario scenario = example("sim-gallium-ban.toml");
  auto prepared = sim::prepare_simulation(test::default_data(), scenario);
  ASSERT_TRUE(prepared.is_ok());
  sim::EnsembleOptions options;
  options.seed = 11;
  options.runs = 6;
  options.threads = 2;
  auto runs = sim::run_ensemble_share(prepared.value(), options);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  const sim::EnsembleSummary summary = sim::summarize_ensemble(scenario, 11, runs.value());
  const std::string summary_json = sim::ensemble_to_json(summary);
  const std::string distribution = sim::ensemble_runs_to_json(runs.value());
  Result<ReportModel> built =
      build_ensemble_report_model(summary_json, distribution, test::default_data());
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  const json model = json::parse(built.value().to_json());
  EXPECT_EQ(model["kind"], "ensemble");
  EXPECT_EQ(model["runs"], 6);
  ASSERT_EQ(model["figures"].size(), summary.figures.size());
  for (std::size_t f = 0; f < summary.figures.size(); ++f) {
    EXPECT_EQ(model["figures"][f]["p50"].get<double>(), summary.figures[f].p50);
    EXPECT_EQ(model["figures"][f]["p95"].get<double>(), summary.figures[f].p95);
    int counted = 0;
    for (const json& n : model["distributions"][f]["counts"]) counted += n.get<int>();
    EXPECT_EQ(counted, 6) << summary.figures[f].name;
    EXPECT_DOUBLE_EQ(model["distributions"][f]["edges"].front().get<double>(),
                     summary.figures[f].min);
    EXPECT_DOUBLE_EQ(model["distributions"][f]["edges"].back().get<double>(),
                     summary.figures[f].max);
  }
  EXPECT_NE(model["figures"][0]["text"].get<std::string>().find("in 90% of the 6 runs between"),
            std::string::npos);
  // The yearly bands of the world price, the EU shortfall and the largest third country's share.
  ASSERT_EQ(model["paths"].size(), 1u);
  const json& paths = model["paths"][0];
  EXPECT_EQ(paths["id"], "gallium");
  EXPECT_EQ(paths["years"], json({2025, 2026, 2027, 2028, 2029, 2030}));
  ASSERT_FALSE(summary.paths.empty());
  for (std::size_t y = 0; y < 6; ++y) {
    EXPECT_EQ(paths["price"]["p50"][y].get<double>(), summary.paths[0].p50[y]);
  }
  EXPECT_FALSE(paths["shortfall"].is_null());
  EXPECT_FALSE(paths["share"].is_null());
  ASSERT_EQ(model["price_bands"].size(), 1u);
  EXPECT_EQ(model["price_bands"][0]["material"], "gallium");
  EXPECT_EQ(model["price_bands"][0]["labels"].size(), 2u);  // mean and highest year

  // A distribution of another ensemble does not fit.
  options.runs = 5;
  auto fewer = sim::run_ensemble_share(prepared.value(), options);
  ASSERT_TRUE(fewer.is_ok());
  Result<ReportModel> mismatched = build_ensemble_report_model(
      summary_json, sim::ensemble_runs_to_json(fewer.value()), test::default_data());
  ASSERT_FALSE(mismatched.is_ok());
  EXPECT_NE(mismatched.status().message().find("has 5 values for the 6 runs"), std::string::npos)
      << mismatched.status().message();
  EXPECT_FALSE(build_ensemble_report_model(gallium_summary(), distribution, test::default_data())
                   .is_ok());  // a simulation summary is no ensemble summary
}

TEST(ReportCli, WritesCompareAndEnsembleReportsAndReadsTheirDirectoriesAgain) {
  test::TempDir dir("critmin_report_compare_cli_");
  const std::string a = test::quote((kScenarios / "sim-gallium-ban.toml").string());
  const std::string b = test::quote((kScenarios / "sim-gallium-ban-stockpile.toml").string());
  const std::filesystem::path out = dir.path() / "cmp";
  test::CliRun run = test::run_cli(
      dir.path(), "compare " + a + " " + b + " --out " + test::quote(out.string()) + " --html " +
                      test::quote((dir.path() / "compare.html").string()) + " --xlsx " +
                      test::quote((dir.path() / "compare.xlsx").string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string html = test::read_file(dir.path() / "compare.html");
  EXPECT_NE(html.find("\"kind\":\"compare\""), std::string::npos);
  EXPECT_EQ(test::read_file(dir.path() / "compare.xlsx").substr(0, 2), "PK");
  run = test::run_cli(dir.path(), "report " + test::quote(out.string()) + " --html " +
                                      test::quote((dir.path() / "again.html").string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(test::read_file(dir.path() / "again.html"), html);  // the files say it all

  const std::filesystem::path ensemble = dir.path() / "ens";
  run = test::run_cli(dir.path(), "ensemble " + a + " --runs 3 --threads 1 --out " +
                                      test::quote(ensemble.string()) + " --html " +
                                      test::quote((dir.path() / "ensemble.html").string()) +
                                      " --xlsx " +
                                      test::quote((dir.path() / "ensemble.xlsx").string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string ensemble_html = test::read_file(dir.path() / "ensemble.html");
  EXPECT_NE(ensemble_html.find("\"kind\":\"ensemble\""), std::string::npos);
  EXPECT_NE(zip_member(test::read_file(dir.path() / "ensemble.xlsx"), "xl/workbook.xml")
                .find("name=\"runs\""),
            std::string::npos);
  run = test::run_cli(dir.path(), "report " + test::quote(ensemble.string()) + " --html " +
                                      test::quote((dir.path() / "ensemble2.html").string()));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(test::read_file(dir.path() / "ensemble2.html"), ensemble_html);

  // A compare directory with a design's results missing says which.
  std::filesystem::remove_all(out / "gallium-ban-stockpile");
  run = test::run_cli(dir.path(), "report " + test::quote(out.string()) + " --html x.html");
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(run.err.find("gallium-ban-stockpile"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace critmin::report
