// Reports on simulation results (critmin/results_report.h): the report model says the figures of
// summary.json, draws every material, shows fields it does not know, and the HTML and XLSX files
// hold what they promise.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <numeric>

#include "critmin/results_report.h"
#include "critmin/simulation.h"
#include "test_support.h"

namespace critmin::report {
namespace {

using json = nlohmann::json;

const std::filesystem::path kScenarios =
    std::filesystem::path(CRITMIN_TEST_DATA) / ".." / "scenarios";

// The summary of the gallium export-ban example, simulated once per test binary.
const std::string& gallium_summary() {
  static const std::string summary = [] {
    const std::string text = test::read_file(kScenarios / "sim-gallium-ban-non-club.toml");
    auto scenario = sim::read_simulation_scenario(text, "sim.toml", test::default_data());
    EXPECT_TRUE(scenario.is_ok()) << scenario.status().to_string();
    auto result = sim::run_simulation(test::default_data(), scenario.value());
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return sim::simulation_to_json(result.value());
  }();
  return summary;
}

json model_of(const std::string& summary) {
  Result<std::string> model = build_report_model(summary, test::default_data());
  EXPECT_TRUE(model.is_ok()) << model.status().to_string();
  return model.is_ok() ? json::parse(model.value()) : json();
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
  ASSERT_LT((*fiscal)["value"].get<double>(), 0.0);
  EXPECT_EQ((*fiscal)["display"], "-7.81 million USD");
  EXPECT_NE((*fiscal)["text"].get<std::string>().find("bring the treasury 7.81 million USD net"),
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

TEST(ReportModel, ShowsScorecardFiguresAndTablesItDoesNotKnowWithTheirUnits) {
  json summary = json::parse(gallium_summary());
  summary["scorecard"]["supply_security"]["stock_cover_days"] = 42.5;
  summary["scorecard"]["dutch_business"]["input_cost_change"] =
      json::array({{{"sector", "C26"}, {"cost_change_usd", 1.5e6}}});
  const json model = model_of(summary.dump());
  const json* cover = card(model, "supply_security.stock_cover_days");
  ASSERT_NE(cover, nullptr);
  EXPECT_EQ((*cover)["unit"], "days");
  EXPECT_EQ((*cover)["display"], "42.5 days");
  bool table = false;
  for (const json& t : model["tables"]) {
    if (t["name"] != "scorecard.dutch_business.input_cost_change") continue;
    table = true;
    for (const json& column : t["columns"]) {
      EXPECT_EQ(column["unit"], column["key"] == "cost_change_usd" ? "USD" : "") << column;
    }
    EXPECT_EQ(t["rows"][0]["sector"], "C26");
  }
  EXPECT_TRUE(table) << model["tables"].dump(1);
}

TEST(ReportModel, RejectsSomethingThatIsNotASimulationSummary) {
  Result<std::string> model = build_report_model(R"({"scenario": "x"})", test::default_data());
  ASSERT_FALSE(model.is_ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidInput);
  EXPECT_NE(model.status().message().find("'series'"), std::string::npos);
  EXPECT_FALSE(build_report_model("not json", test::default_data()).is_ok());
}

TEST(UnitOfField, ReadsTheUnitFromTheFieldName) {
  EXPECT_EQ(unit_of_field("price"), "USD/t");
  EXPECT_EQ(unit_of_field("production"), "t/yr");
  EXPECT_EQ(unit_of_field("fiscal_cost_usd_total"), "USD");
  EXPECT_EQ(unit_of_field("shortfall_share"), "0-1");
  EXPECT_EQ(unit_of_field("top_third_country_share"), "0-1");
  EXPECT_EQ(unit_of_field("hhi"), "0-10000");
  EXPECT_EQ(unit_of_field("refill_rate_t_per_year"), "t/yr");
  EXPECT_EQ(unit_of_field("stock_t"), "t");
  EXPECT_EQ(unit_of_field("cost_change_mean_meur"), "million EUR");
  EXPECT_EQ(unit_of_field("share_of_manufacturing_inputs"), "0-1");
  EXPECT_EQ(unit_of_field("days_of_cover"), "days");
  EXPECT_EQ(unit_of_field("region"), "");
}

TEST(ReportHtml, IsOneFileWithTheChartLibraryScriptAndModelInlined) {
  json summary = json::parse(gallium_summary());
  summary["scenario"] = "ban </script><b>";
  Result<std::string> model = build_report_model(summary.dump(), test::default_data());
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
       {"price [USD/t]", "production [t/yr]", "shortfall_share [0-1]", "fiscal_cost_usd [USD]",
        "hhi [0-10000]", "dutch_business.fiscal_cost_usd_total"}) {
    EXPECT_NE(strings.find(header), std::string::npos) << header;
  }
  EXPECT_EQ(summary_to_xlsx("[]", file).code(), StatusCode::kInvalidInput);
}

TEST(ReportCli, WritesTheHtmlAndXlsxOfAResultsDirectory) {
  test::TempDir dir("critmin_report_cli_");
  const std::string results = (dir.path() / "results").string();
  test::CliRun run = test::run_cli(
      dir.path(), "simulate " +
                      test::quote((kScenarios / "sim-gallium-ban-non-club.toml").string()) +
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

}  // namespace
}  // namespace critmin::report
