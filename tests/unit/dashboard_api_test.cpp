// The dashboard's JSON API (critmin/service/dashboard.h, docs/api.md), served in-process on a free
// loopback port: assess with filters, example scenarios, simulation jobs and their results, and
// 4xx answers with a message for bad requests.
#include <fmt/format.h>
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "critmin/metrics/assess.h"
#include "critmin/report/report.h"
#include "critmin/scenario/scenario.h"
#include "critmin/service/dashboard.h"
#include "critmin/service/http_server.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/simulation.h"
#include "test_support.h"

namespace critmin {
namespace {

using json = nlohmann::json;

const std::filesystem::path kScenarios =
    std::filesystem::path(CRITMIN_TEST_DATA) / ".." / "scenarios";

class DashboardApi : public ::testing::Test {
 protected:
  void SetUp() override {
    DashboardOptions options;
    options.scenarios_dir = kScenarios;
    options.max_scenario_bytes = 16 * 1024;
    dashboard_ = std::make_unique<DashboardServer>(test::default_data(), options);
    dashboard_->register_routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client_->set_read_timeout(60, 0);
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
    dashboard_.reset();
  }

  struct Answer {
    int status = 0;
    std::string body;
    std::string type;
    json parsed;
  };
  Answer get(const std::string& path) { return answer(client_->Get(path)); }
  Answer post(const std::string& path, const std::string& body) {
    return answer(client_->Post(path, body, "application/json"));
  }
  Answer answer(const httplib::Result& res) {
    Answer out;
    if (!res) {
      ADD_FAILURE() << "no response";
      return out;
    }
    out.status = res->status;
    out.body = res->body;
    out.type = res->get_header_value("Content-Type");
    out.parsed = json::parse(res->body, nullptr, false);
    return out;
  }
  // Submits a scenario file of scenarios/ and waits for the job to finish; returns its id.
  std::uint64_t run_job(const std::string& file) {
    const std::string text = test::read_file(kScenarios / file);
    const Answer submitted =
        post("/api/v1/jobs", json{{"kind", "simulate"}, {"name", file}, {"scenario", text}}.dump());
    EXPECT_EQ(submitted.status, 202) << submitted.body;
    EXPECT_TRUE(dashboard_->wait_idle(120.0));
    return submitted.parsed.value("id", 0ull);
  }

  std::unique_ptr<DashboardServer> dashboard_;
  HttpServer server_{4};
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(DashboardApi, TheScenarioReferenceGivesTheEditorEveryKeyWithItsRange) {
  const Answer a = get("/api/v1/scenario-reference");
  EXPECT_EQ(a.status, 200);
  ASSERT_TRUE(a.parsed.is_array()) << a.body;
  bool probability = false;
  for (const json& row : a.parsed) {
    if (row.value("section", "") == "disruption" && row.value("key", "") == "probability") {
      probability = row["min"] == 0.0 && row["max"] == 1.0 && row["required"] == "yes";
    }
  }
  EXPECT_TRUE(probability) << a.body.substr(0, 400);
}

TEST_F(DashboardApi, ServesThePageWithItsScriptsInlined) {
  const Answer page = get("/");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.type.find("text/html"), std::string::npos);
  EXPECT_NE(page.body.find("critminDashboard"), std::string::npos);
  EXPECT_NE(page.body.find("critminReport"), std::string::npos);
  EXPECT_NE(page.body.find("Chart.js v4"), std::string::npos);
  EXPECT_EQ(page.body.find("<script src"), std::string::npos);
}

TEST_F(DashboardApi, AssessFiltersByMaterialStageAndBloc) {
  const Answer rows = get("/api/v1/assess?material=gallium&stage=processing&bloc=club");
  ASSERT_EQ(rows.status, 200) << rows.body;
  ASSERT_TRUE(rows.parsed.is_array());
  ASSERT_EQ(rows.parsed.size(), 1u);
  EXPECT_EQ(rows.parsed[0]["material"], "gallium");
  EXPECT_EQ(rows.parsed[0]["stage"], "processing");
  EXPECT_EQ(rows.parsed[0]["largest_third_country"], "CHN");
  EXPECT_TRUE(rows.parsed[0].contains("bloc_share"));

  const Answer breaches = get("/api/v1/assess?stage=processing&breaches_only=true");
  ASSERT_EQ(breaches.status, 200);
  ASSERT_FALSE(breaches.parsed.empty());
  for (const json& r : breaches.parsed) EXPECT_TRUE(r["crma_single_country_breach"].get<bool>());

  const Answer csv = get("/api/v1/assess?material=gallium&format=csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_NE(csv.type.find("text/csv"), std::string::npos);
  EXPECT_EQ(csv.body.rfind("material,", 0), 0u) << csv.body.substr(0, 80);
  const Answer xlsx = get("/api/v1/assess?material=gallium&format=xlsx");
  ASSERT_EQ(xlsx.status, 200);
  EXPECT_EQ(xlsx.body.substr(0, 2), "PK");
}

TEST_F(DashboardApi, AssessAnswersBadFiltersWithAMessage) {
  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {"/api/v1/assess?colour=red", 400, "unknown parameter 'colour'"},
      {"/api/v1/assess?stage=smelting", 400, "use extraction, processing or both"},
      {"/api/v1/assess?format=pdf", 400, "use json, csv or xlsx"},
      {"/api/v1/assess?breaches_only=maybe", 400, "use true or false"},
      {"/api/v1/assess?material=unobtainium", 404, "unobtainium"},
      {"/api/v1/assess?bloc=ATLANTIS", 404, "ATLANTIS"},
  };
  for (const auto& [path, status, message] : cases) {
    const Answer a = get(path);
    EXPECT_EQ(a.status, status) << path << ": " << a.body;
    EXPECT_NE(a.parsed.value("error", "").find(message), std::string::npos)
        << path << ": " << a.body;
  }
}

// The dependency view's figures are those of `critmin assess --region NLD --format json` (the
// same rows), and its total counts a basket that several materials share once.
TEST_F(DashboardApi, DependencyGivesARegionsPartnersValuesAndABasketCountedOnce) {
  const Answer a = get("/api/v1/dependency?region=nld&material=NdPr&stage=processing");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.parsed["region"], "NLD");
  const json& rows = a.parsed["rows"];
  ASSERT_EQ(rows.size(), 2u) << a.body;

  AssessOptions options;
  options.materials = {"neodymium", "praseodymium"};
  options.stage = Stage::kProcessing;
  options.regions = {"NLD"};
  const auto assessed = assess(test::default_data(), options);
  ASSERT_TRUE(assessed.is_ok()) << assessed.status().to_string();
  const json cli = json::parse(assess_to_json(assessed.value()));
  ASSERT_EQ(cli.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    const json& nl = cli[i]["imports"]["NLD"];
    EXPECT_EQ(rows[i]["material"], cli[i]["material"]);
    EXPECT_EQ(rows[i]["value_eur"], nl["value_eur"]);
    EXPECT_EQ(rows[i]["value_usd"], nl["value_usd"]);
    EXPECT_EQ(rows[i]["china_share"], nl["china_share"]);
    EXPECT_EQ(rows[i]["shared_basket"], true);
    EXPECT_EQ(rows[i]["cn8_codes"], nl["cn8_codes"]);
    ASSERT_EQ(rows[i]["main_partners"].size(), nl["main_partners"].size());
    bool china = false;
    for (std::size_t p = 0; p < nl["main_partners"].size(); ++p) {
      const json& partner = rows[i]["main_partners"][p];
      EXPECT_EQ(partner["iso3"], nl["main_partners"][p]["iso3"]);
      EXPECT_EQ(partner["share"], nl["main_partners"][p]["share"]);
      EXPECT_EQ(partner["value_eur"], nl["main_partners"][p]["value_eur"]);
      EXPECT_NEAR(partner["value_usd"].get<double>(),
                  partner["value_eur"].get<double>() * nl["value_usd"].get<double>() /
                      nl["value_eur"].get<double>(),
                  1e-6 * partner["value_usd"].get<double>() + 1e-9);
      china = china || partner["iso3"] == "CHN";
    }
    EXPECT_TRUE(china) << rows[i].dump();
  }
  // Neodymium and praseodymium are the same five customs codes: each row carries the whole
  // basket, and the total is that basket once, not twice.
  EXPECT_EQ(rows[0]["value_eur"], rows[1]["value_eur"]);
  const json& total = a.parsed["total"];
  EXPECT_DOUBLE_EQ(total["value_eur"].get<double>(), rows[0]["value_eur"].get<double>());
  EXPECT_DOUBLE_EQ(total["value_usd"].get<double>(), rows[0]["value_usd"].get<double>());
  EXPECT_EQ(total["codes"], 5);
  EXPECT_EQ(total["shared_codes"], 5);

  const std::vector<std::tuple<std::string, int, std::string>> bad = {
      {"/api/v1/dependency?region=USA", 400, "'USA' has no import data"},
      {"/api/v1/dependency?region=NDL", 400, "(did you mean NLD?)"},
      {"/api/v1/dependency?material=PMG", 404, "(did you mean PGM?)"},
      {"/api/v1/dependency?stage=smelting", 400, "use extraction, processing or both"},
      {"/api/v1/dependency?bloc=club", 400, "unknown parameter 'bloc'"},
  };
  for (const auto& [path, status, message] : bad) {
    const Answer e = get(path);
    EXPECT_EQ(e.status, status) << path << ": " << e.body;
    EXPECT_NE(e.parsed.value("error", "").find(message), std::string::npos)
        << path << ": " << e.body;
  }
}

TEST_F(DashboardApi, ListsTheExampleSimulationScenarios) {
  const Answer list = get("/api/v1/scenarios");
  ASSERT_EQ(list.status, 200);
  std::set<std::string> files;
  for (const json& s : list.parsed) {
    files.insert(s["file"]);
    EXPECT_FALSE(s["text"].get<std::string>().empty());
  }
  EXPECT_TRUE(files.count("sim-gallium-ban-stockpile.toml"));
  EXPECT_TRUE(files.count("baseline.toml"));
  EXPECT_FALSE(files.count("trade-gallium-ban.toml"));  // a clearing scenario, not a simulation
}

TEST_F(DashboardApi, RunsASimulationJobAndServesItsResultsInEveryFormat) {
  const std::uint64_t id = run_job("sim-gallium-ban-stockpile.toml");
  ASSERT_GT(id, 0u);
  const std::string base = "/api/v1/jobs/" + std::to_string(id);
  const Answer job = get(base);
  ASSERT_EQ(job.status, 200);
  EXPECT_EQ(job.parsed["status"], "done") << job.body;
  EXPECT_EQ(job.parsed["progress"]["years_done"], 6);
  EXPECT_EQ(job.parsed["progress"]["years_total"], 6);
  EXPECT_EQ(job.parsed["results"]["xlsx"], base + "/results.xlsx");

  // The job's summary is the one `critmin simulate` writes for the same scenario.
  const std::string text = test::read_file(kScenarios / "sim-gallium-ban-stockpile.toml");
  auto scenario = scenario::read_simulation_scenario(text, "x.toml", test::default_data());
  ASSERT_TRUE(scenario.is_ok());
  auto result = sim::run_simulation(test::default_data(), scenario.value());
  ASSERT_TRUE(result.is_ok());
  const Answer summary = get(base + "/summary.json");
  ASSERT_EQ(summary.status, 200);
  EXPECT_EQ(summary.body, sim::simulation_to_json(result.value()));

  const Answer report = get(base + "/report.json");
  ASSERT_EQ(report.status, 200);
  EXPECT_FALSE(report.parsed["scorecards"].empty());
  EXPECT_EQ(report.parsed["materials"][0]["id"], "gallium");
  const Answer html = get(base + "/report.html");
  EXPECT_NE(html.body.find("critmin-report-model"), std::string::npos);
  const Answer csv = get(base + "/series.csv");
  ASSERT_EQ(csv.status, 200);
  EXPECT_NE(csv.body.substr(0, csv.body.find('\n')).find("price [USD/t]"), std::string::npos);
  const Answer shortfall = get(base + "/shortfall.csv");
  EXPECT_EQ(shortfall.status, 200);
  EXPECT_EQ(get(base + "/results.xlsx").body.substr(0, 2), "PK");
  const Answer missing_table = get(base + "/weather.csv");
  EXPECT_EQ(missing_table.status, 404);
  const std::string listed = missing_table.parsed.value("error", "");
  EXPECT_NE(listed.find("its tables are"), std::string::npos) << listed;
  EXPECT_NE(listed.find("series"), std::string::npos) << listed;

  const Answer jobs = get("/api/v1/jobs");
  ASSERT_EQ(jobs.parsed.size(), 1u);
  EXPECT_EQ(jobs.parsed[0]["id"], id);
}

TEST_F(DashboardApi, AnswersBadJobsWithAMessageAndRunsNothing) {
  const std::string bad_seed =
      "[scenario]\nyears = [2025, 2026]\nseed = -1\nmaterials = [\"gallium\"]\n";
  const std::string past_years =
      "[scenario]\nyears = [1990, 2000]\nseed = 1\nmaterials = [\"gallium\"]\n";
  const std::string far_years =
      "[scenario]\nyears = [2025, 2099]\nseed = 1\nmaterials = [\"gallium\"]\n";
  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {"not json", 400, "must be a JSON object"},
      {"[1,2]", 400, "must be a JSON object"},
      {R"({"scenario": "x", "colour": 1})", 400, "unknown field 'colour'"},
      {R"({"kind": "ensemble", "scenario": ""})", 400, "kind: use \"simulate\""},
      {R"({"kind": "simulate"})", 400, "scenario: give the scenario's TOML text"},
      {R"({"scenario": 42})", 400, "scenario: give the scenario's TOML text"},
      {json{{"name", "bad.toml"}, {"scenario", bad_seed}}.dump(), 400, "bad.toml:3:seed"},
      // Issue 20, item 6: years the data cannot project to are refused as in the CLI.
      {json{{"name", "past.toml"}, {"scenario", past_years}}.dump(), 400,
       "past.toml:2:years: 1990-2000 starts before the base year 2023"},
      {json{{"name", "far.toml"}, {"scenario", far_years}}.dump(), 400,
       "far.toml:2:years: 2025-2099 ends past the projection horizon"},
      {json{{"scenario", "[scenario\n"}}.dump(), 400, "scenario.toml"},
      {json{{"scenario", std::string(20 * 1024, '#')}}.dump(), 413, "larger than 16384 bytes"},
  };
  for (const auto& [body, status, message] : cases) {
    const Answer a = post("/api/v1/jobs", body);
    EXPECT_EQ(a.status, status) << body.substr(0, 60) << ": " << a.body;
    EXPECT_NE(a.parsed.value("error", "").find(message), std::string::npos)
        << body.substr(0, 60) << ": " << a.body;
  }
  EXPECT_TRUE(get("/api/v1/jobs").parsed.empty());
  EXPECT_EQ(get("/api/v1/jobs/7").status, 404);
  EXPECT_EQ(get("/api/v1/jobs/7/summary.json").status, 404);
  EXPECT_EQ(get("/api/v1/jobs/99999999999999999999999").status, 404);
}

// Issue 16, item 5: the dashboard takes the company's bill of materials of `--bom` as bom_csv,
// checked by the same reader before the job is queued.
TEST_F(DashboardApi, TakesACompanysBillOfMaterialsCheckedLikeTheCli) {
  const std::string text = test::read_file(kScenarios / "sim-gallium-ban.toml");
  const Answer bad =
      post("/api/v1/jobs",
           json{{"scenario", text}, {"bom_csv", "material,quantity_t_per_yr\ngalium,2\n"}}.dump());
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.parsed.value("error", "")
                .find("bom.csv:2:material: unknown material 'galium' (did you mean gallium?)"),
            std::string::npos)
      << bad.body;
  EXPECT_EQ(post("/api/v1/jobs", json{{"scenario", text}, {"bom_csv", 5}}.dump()).status, 400);
  EXPECT_TRUE(get("/api/v1/jobs").parsed.empty());

  const std::string bom = test::read_file(kScenarios / "company-bom.csv");
  const Answer simulate =
      post("/api/v1/jobs", json{{"kind", "simulate"}, {"scenario", text}, {"bom_csv", bom}}.dump());
  ASSERT_EQ(simulate.status, 202) << simulate.body;
  const Answer compare =
      post("/api/v1/jobs",
           json{{"kind", "compare"},
                {"scenarios", {"sim-gallium-ban.toml", "sim-gallium-ban-stockpile.toml"}},
                {"bom_csv", bom}}
               .dump());
  ASSERT_EQ(compare.status, 202) << compare.body;
  ASSERT_TRUE(dashboard_->wait_idle(120.0));
  const std::string base = "/api/v1/jobs/" + std::to_string(simulate.parsed.value("id", 0ull));
  const Answer summary = get(base + "/summary.json");
  ASSERT_EQ(summary.status, 200) << summary.body;
  ASSERT_TRUE(summary.parsed.contains("company"));
  // The scenario simulates gallium only: its two gallium rows count, the other three are noted.
  EXPECT_EQ(summary.parsed["company"]["lines"].size(), 2u);
  EXPECT_EQ(summary.parsed["company"]["notes"].size(), 3u);
  EXPECT_EQ(get(base + "/report.json").status, 200);
  const Answer compared =
      get("/api/v1/jobs/" + std::to_string(compare.parsed.value("id", 0ull)) + "/compare.json");
  ASSERT_EQ(compared.status, 200) << compared.body;
  EXPECT_TRUE(compared.parsed["verdict"][1].contains("company_cost_change_usd_per_yr"));
}

TEST_F(DashboardApi, RunsACompareJobOfExamplesAndEditedTextAndServesItsResults) {
  // The reference is an example by file name; the second design is edited text.
  const std::string edited = test::read_file(kScenarios / "sim-gallium-ban-stockpile.toml");
  const Answer submitted = post(
      "/api/v1/jobs",
      json{{"kind", "compare"},
           {"scenarios",
            json::array({"sim-gallium-ban.toml", {{"name", "mine.toml"}, {"scenario", edited}}})},
           {"runs", 2}}
          .dump());
  ASSERT_EQ(submitted.status, 202) << submitted.body;
  EXPECT_EQ(submitted.parsed["kind"], "compare");
  EXPECT_EQ(submitted.parsed["name"], "gallium-ban vs gallium-ban-stockpile");
  EXPECT_EQ(submitted.parsed["designs"], json({"gallium-ban", "gallium-ban-stockpile"}));
  EXPECT_EQ(submitted.parsed["progress"]["years_total"], 12);
  EXPECT_EQ(submitted.parsed["progress"]["runs_total"], 4);
  ASSERT_TRUE(dashboard_->wait_idle(120.0));
  const std::string base = "/api/v1/jobs/" + std::to_string(submitted.parsed["id"].get<int>());
  const Answer job = get(base);
  ASSERT_EQ(job.parsed["status"], "done") << job.body;
  EXPECT_EQ(job.parsed["progress"]["years_done"], 12);
  EXPECT_EQ(job.parsed["progress"]["runs_done"], 4);
  EXPECT_EQ(job.parsed["results"]["summary"], base + "/compare.json");

  // compare.json is what `critmin compare` computes for the same designs.
  auto read = [](const std::string& file) {
    return scenario::read_simulation_scenario(test::read_file(kScenarios / file), file,
                                              test::default_data())
        .value();
  };
  sim::CompareOptions options;
  options.runs = 2;
  auto expected = sim::run_compare(
      test::default_data(), {read("sim-gallium-ban.toml"), read("sim-gallium-ban-stockpile.toml")},
      {"a", "b"}, options);
  ASSERT_TRUE(expected.is_ok());
  const Answer comparison = get(base + "/compare.json");
  ASSERT_EQ(comparison.status, 200);
  EXPECT_EQ(comparison.body, sim::comparison_to_json(expected.value().comparison));
  EXPECT_EQ(get(base + "/summary.json").status, 404);  // a compare has compare.json

  const Answer report = get(base + "/report.json");
  ASSERT_EQ(report.status, 200);
  EXPECT_EQ(report.parsed["kind"], "compare");
  EXPECT_EQ(report.parsed["runs"], 2);
  EXPECT_FALSE(report.parsed["scorecards"].empty());
  EXPECT_NE(get(base + "/report.html").body.find("\"kind\":\"compare\""), std::string::npos);
  EXPECT_EQ(get(base + "/results.xlsx").body.substr(0, 2), "PK");
  const Answer paths = get(base + "/paths.csv");
  ASSERT_EQ(paths.status, 200);
  EXPECT_NE(paths.body.find("world price [USD/t]"), std::string::npos);
  EXPECT_EQ(get(base + "/scorecards.csv").status, 200);
  const Answer missing = get(base + "/series.csv");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.parsed.value("error", "").find("scorecards, headline, bands, paths"),
            std::string::npos)
      << missing.body;
}

TEST_F(DashboardApi, AnswersBadComparesWithAMessageAndRunsNothing) {
  const std::string ok = "sim-gallium-ban.toml";
  const std::string bad_years =
      "[scenario]\nyears = [2030, 2025]\nseed = 1\nmaterials = [\"gallium\"]\n";
  const auto compare = [](const json& scenarios) {
    return json{{"kind", "compare"}, {"scenarios", scenarios}};
  };
  const std::vector<std::tuple<std::string, int, std::string>> cases = {
      {R"({"kind": "compare"})", 400, "scenarios: give a list of designs"},
      {compare(json::array({ok})).dump(), 400, "needs 2 to 6 designs, got 1"},
      {compare(json::array({ok, ok, ok, ok, ok, ok, ok})).dump(), 400, "got 7"},
      {compare(json::array({ok, "../secret.toml"})).dump(), 400, "scenarios[1]: '../secret.toml'"},
      {compare(json::array({ok, "nowhere.toml"})).dump(), 404, "no example scenario nowhere.toml"},
      {compare(json::array({ok, 42})).dump(), 400, "scenarios[1]: an example file name"},
      {compare(json::array({ok, {{"scenario", 1}}})).dump(), 400, "scenarios[1].scenario"},
      {compare(json::array({ok, {{"scenario", "x"}, {"colour", 1}}})).dump(), 400,
       "unknown field 'colour'"},
      {compare(json::array({ok, {{"name", "late.toml"}, {"scenario", bad_years}}})).dump(), 400,
       "late.toml:2:years"},
      {compare(json::array({ok, "trade-gallium-ban.toml"})).dump(), 400, "trade-gallium-ban.toml"},
      {json{{"kind", "compare"}, {"scenarios", json::array({ok, ok})}, {"runs", -1}}.dump(), 400,
       "runs: a whole number from 0"},
      {json{{"kind", "compare"}, {"scenarios", json::array({ok, ok})}, {"runs", 201}}.dump(), 400,
       "to 200"},
      {json{{"kind", "compare"}, {"scenarios", json::array({ok, ok})}, {"scenario", ""}}.dump(),
       400, "unknown field 'scenario'"},
      {compare(json::array({ok, {{"scenario", std::string(20 * 1024, '#')}}})).dump(), 400,
       "larger than 16384 bytes"},
  };
  for (const auto& [body, status, message] : cases) {
    const Answer a = post("/api/v1/jobs", body);
    EXPECT_EQ(a.status, status) << body.substr(0, 80) << ": " << a.body;
    EXPECT_NE(a.parsed.value("error", "").find(message), std::string::npos)
        << body.substr(0, 80) << ": " << a.body;
  }
  EXPECT_TRUE(get("/api/v1/jobs").parsed.empty());
}

TEST_F(DashboardApi, RefusesAScenarioThatWouldFailInALaterYearBeforeQueueingIt) {
  std::string text = test::read_file(kScenarios / "sim-gallium-ban.toml");
  const std::size_t at = text.find("origin = \"CHN\"");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 14, "origin = \"XXX\"");
  const Answer simulate =
      post("/api/v1/jobs", json{{"kind", "simulate"}, {"scenario", text}}.dump());
  EXPECT_EQ(simulate.status, 400) << simulate.body;
  EXPECT_NE(simulate.parsed.value("error", "").find("'XXX' is no region"), std::string::npos)
      << simulate.body;
  const Answer compare =
      post("/api/v1/jobs", json{{"kind", "compare"},
                                {"scenarios", json::array({"sim-gallium-ban.toml",
                                                           {{"name", "x"}, {"scenario", text}}})}}
                               .dump());
  EXPECT_EQ(compare.status, 400) << compare.body;
  EXPECT_TRUE(get("/api/v1/jobs").parsed.empty());
}

TEST_F(DashboardApi, NamesTwoDesignsOfTheSameScenarioApart) {
  const Answer submitted =
      post("/api/v1/jobs",
           json{{"kind", "compare"},
                {"scenarios", json::array({"sim-gallium-ban.toml", "sim-gallium-ban.toml"})}}
               .dump());
  ASSERT_EQ(submitted.status, 202) << submitted.body;
  EXPECT_EQ(submitted.parsed["designs"], json({"gallium-ban", "gallium-ban (2)"}));
  ASSERT_TRUE(dashboard_->wait_idle(120.0));
  const std::string base = "/api/v1/jobs/" + std::to_string(submitted.parsed["id"].get<int>());
  const Answer report = get(base + "/report.json");
  ASSERT_EQ(report.status, 200) << report.body;
  EXPECT_EQ(report.parsed["designs"][1]["name"], "gallium-ban (2)");
  // The same scenario twice: every difference is zero.
  for (const json& line : report.parsed["scorecards"]) {
    if (line["differences"][1].is_number()) {
      EXPECT_EQ(line["differences"][1].get<double>(), 0.0) << line["key"];
    }
  }
}

TEST_F(DashboardApi, KeepsAnsweringAfterRandomBodiesAndQueries) {
  std::mt19937 random(20261128);
  std::uniform_int_distribution<int> byte(0, 255), length(0, 400);
  for (int i = 0; i < 200; ++i) {
    std::string noise(static_cast<std::size_t>(length(random)), '\0');
    for (char& c : noise) c = static_cast<char>(byte(random));
    const Answer a = post(
        "/api/v1/jobs",
        i % 2 ? noise
              : json{{"scenario", noise}}.dump(-1, ' ', false, json::error_handler_t::replace));
    EXPECT_GE(a.status, 400) << i;
    EXPECT_LT(a.status, 500) << i << ": " << a.body;
    std::string query;
    for (char c : noise.substr(0, 20))
      query += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    const Answer q = get("/api/v1/assess?material=" + query);
    EXPECT_TRUE(q.status == 200 || (q.status >= 400 && q.status < 500)) << q.status << q.body;
  }
  EXPECT_EQ(get("/api/v1/materials").status, 200);
}

}  // namespace
}  // namespace critmin
