// `critmin clear` as a user runs it: exit codes, stdout/stderr, the JSON contract (nodes, flows,
// calibration, mass balance), both solver paths, and scenario files with trade measures.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "test_support.h"

namespace {

namespace fs = std::filesystem;

using critmin::test::CliRun;
using critmin::test::quote;
using critmin::test::read_file;
using critmin::test::run_cli;
using critmin::test::write_file;

double relative_gap(double a, double b) {
  return std::abs(a - b) / std::max({1.0, std::abs(a), std::abs(b)});
}

// A ban of China's refined gallium exports to every other region of the gallium market.
const char* const kBan = R"(# China bans refined gallium exports
[[export_restriction]]
material = "gallium"
origin = "CHN"
destinations = ["EU27", "IND", "JPN", "KOR", "RUS", "UKR", "USA", "ROW"]
stage = "processing"
kind = "ban"
)";

// Each test works in its own temporary directory, removed afterwards.
class ClearCli : public ::testing::Test {
 protected:
  // Runs `critmin ARGS` (ARGS already shell-quoted where needed).
  CliRun run(const std::string& args) const { return run_cli(dir_, args); }

  // Runs `critmin clear ARGS --format json`, expecting success, and parses stdout.
  void run_json(const std::string& args, nlohmann::json& out) const {
    const CliRun r = run("clear " + args + " --format json");
    ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    ASSERT_NO_THROW(out = nlohmann::json::parse(r.out)) << r.out.substr(0, 500);
  }

  fs::path scenario(const std::string& name, const std::string& text) const {
    const fs::path path = dir_ / name;
    write_file(path, text);
    return path;
  }

  critmin::test::TempDir temp_{"critmin_clear_cli_test_"};
  const fs::path& dir_ = temp_.path();
};

using FlowKey = std::tuple<std::string, std::string, std::string, bool>;  // from, to, stage, leak

std::map<FlowKey, double> flows_of(const nlohmann::json& j) {
  std::map<FlowKey, double> out;
  for (const nlohmann::json& f : j.at("flows")) {
    out[{f.at("from").get<std::string>(), f.at("to").get<std::string>(),
         f.at("stage").get<std::string>(), f.at("via_leakage").get<bool>()}] +=
        f.at("quantity").get<double>();
  }
  return out;
}

// production + imports + stock released = consumption + exports + stock refilled at every node,
// within 1e-6 relative.
void expect_mass_balance(const nlohmann::json& j) {
  ASSERT_FALSE(j.at("nodes").empty());
  for (const nlohmann::json& n : j.at("nodes")) {
    const double in = n.at("production").get<double>() + n.at("imports").get<double>() +
                      n.at("stock_release").get<double>();
    const double out = n.at("consumption").get<double>() + n.at("exports").get<double>() +
                       n.at("stock_refill").get<double>();
    EXPECT_LE(relative_gap(in, out), 1e-6)
        << n.at("region") << " " << n.at("stage") << ": in " << in << " out " << out;
  }
}

// ---- the JSON contract ------------------------------------------------------------------------

TEST_F(ClearCli, GalliumJsonCarriesStatusNodesFlowsAndCalibration) {
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(run_json("--material gallium", j));
  EXPECT_EQ(j.at("material"), "gallium");
  EXPECT_EQ(j.at("year"), 2023);
  EXPECT_EQ(j.at("status"), "optimal");
  EXPECT_EQ(j.at("solver"), "network");
  EXPECT_GT(j.at("welfare_usd").get<double>(), 0.0);

  const nlohmann::json& regions = j.at("regions");
  ASSERT_TRUE(regions.is_array());
  std::set<std::string> region_names;
  for (const nlohmann::json& r : regions) region_names.insert(r.at("region").get<std::string>());
  EXPECT_EQ(region_names, (std::set<std::string>{"CHN", "EU27", "IND", "JPN", "KOR", "RUS", "UKR",
                                                 "USA", "ROW"}));

  // Two nodes per region, one per stage, each with price, production and consumption.
  const nlohmann::json& nodes = j.at("nodes");
  ASSERT_TRUE(nodes.is_array());
  EXPECT_EQ(nodes.size(), 2 * regions.size());
  std::set<std::pair<std::string, std::string>> seen;
  for (const nlohmann::json& n : nodes) {
    const std::string stage = n.at("stage").get<std::string>();
    EXPECT_TRUE(stage == "extraction" || stage == "processing") << stage;
    EXPECT_TRUE(region_names.contains(n.at("region").get<std::string>())) << n.at("region");
    seen.insert({n.at("region").get<std::string>(), stage});
    for (const char* key :
         {"price", "producer_price", "production", "consumption", "imports", "exports"}) {
      ASSERT_TRUE(n.at(key).is_number()) << key;
      EXPECT_GE(n.at(key).get<double>(), -1e-9) << n.at("region") << " " << stage << " " << key;
    }
  }
  EXPECT_EQ(seen.size(), nodes.size());

  const nlohmann::json& flows = j.at("flows");
  ASSERT_TRUE(flows.is_array());
  ASSERT_FALSE(flows.empty());
  for (const nlohmann::json& f : flows) {
    EXPECT_TRUE(region_names.contains(f.at("from").get<std::string>()));
    EXPECT_TRUE(region_names.contains(f.at("to").get<std::string>()));
    EXPECT_NE(f.at("from"), f.at("to"));
    const std::string stage = f.at("stage").get<std::string>();
    EXPECT_TRUE(stage == "extraction" || stage == "processing") << stage;
    EXPECT_GT(f.at("quantity").get<double>(), 0.0);
    EXPECT_EQ(f.at("via_leakage"), false);  // no scenario, nothing to go round
  }

  const nlohmann::json& calibration = j.at("calibration");
  EXPECT_NE(calibration.at("anchor").get<std::string>().find("USGS"), std::string::npos)
      << calibration.at("anchor");
  EXPECT_GT(calibration.at("world_tonnage_t").get<double>(), 0.0);
  EXPECT_EQ(calibration.at("tonnage_year"), 2023);
  EXPECT_GT(calibration.at("base_price_usd_per_t").get<double>(), 0.0);
  EXPECT_EQ(calibration.at("price_is_index"), false);
  EXPECT_TRUE(calibration.at("price_source").is_string());
  EXPECT_TRUE(calibration.at("estimates").is_array());
  EXPECT_FALSE(calibration.at("estimates").empty());
  EXPECT_TRUE(calibration.at("notes").is_array());
}

TEST_F(ClearCli, GalliumNodesBalanceProductionImportsConsumptionAndExports) {
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(run_json("--material gallium", j));
  expect_mass_balance(j);
  // World totals: what is produced at a stage is consumed there (trade only moves it).
  for (const char* stage : {"extraction", "processing"}) {
    double production = 0.0, consumption = 0.0, imports = 0.0, exports = 0.0;
    for (const nlohmann::json& n : j.at("nodes")) {
      if (n.at("stage") != stage) continue;
      production += n.at("production").get<double>();
      consumption += n.at("consumption").get<double>();
      imports += n.at("imports").get<double>();
      exports += n.at("exports").get<double>();
    }
    EXPECT_LE(relative_gap(production, consumption), 1e-6) << stage;
    EXPECT_LE(relative_gap(imports, exports), 1e-6) << stage;
  }
}

TEST_F(ClearCli, BanScenarioNodesStillBalance) {
  const fs::path file = scenario("ban.toml", kBan);
  for (const char* solver : {"network", "lp"}) {
    nlohmann::json j;
    ASSERT_NO_FATAL_FAILURE(run_json(std::string("--material gallium --solver ") + solver +
                                         " --scenario " + quote(file.string()),
                                     j));
    SCOPED_TRACE(solver);
    expect_mass_balance(j);
  }
}

TEST_F(ClearCli, LpSolverGivesTheSameWelfare) {
  nlohmann::json network, lp;
  ASSERT_NO_FATAL_FAILURE(run_json("--material gallium", network));
  ASSERT_NO_FATAL_FAILURE(run_json("--material gallium --solver lp", lp));
  EXPECT_EQ(lp.at("solver"), "lp");
  EXPECT_EQ(lp.at("status"), "optimal");
  EXPECT_LE(
      relative_gap(network.at("welfare_usd").get<double>(), lp.at("welfare_usd").get<double>()),
      1e-6)
      << network.at("welfare_usd") << " vs " << lp.at("welfare_usd");
}

// ---- scenarios --------------------------------------------------------------------------------

TEST_F(ClearCli, BanScenarioChangesTheFlows) {
  nlohmann::json base, banned;
  ASSERT_NO_FATAL_FAILURE(run_json("--material gallium", base));
  const fs::path file = scenario("ban.toml", kBan);
  ASSERT_NO_FATAL_FAILURE(
      run_json("--material gallium --scenario " + quote(file.string()), banned));
  EXPECT_EQ(banned.at("status"), "optimal");
  const auto before = flows_of(base);
  const auto after = flows_of(banned);
  EXPECT_NE(before, after);
  double china_before = 0.0;
  for (const auto& [key, quantity] : before) {
    if (std::get<0>(key) == "CHN" && std::get<2>(key) == "processing") china_before += quantity;
  }
  EXPECT_GT(china_before, 0.0) << "China exports refined gallium in the base year";
  for (const auto& [key, quantity] : after) {
    EXPECT_FALSE(std::get<0>(key) == "CHN" && std::get<2>(key) == "processing")
        << "CHN -> " << std::get<1>(key) << " " << quantity << " t under a ban";
  }
  EXPECT_LT(banned.at("welfare_usd").get<double>(), base.at("welfare_usd").get<double>());
}

TEST_F(ClearCli, LeakageFlowsAreMarkedAndCostTransportPlusTheLeakageCost) {
  const fs::path file = scenario("leak.toml", std::string(kBan) +
                                                  "leakage = true\n"
                                                  "leakage_cost_usd_per_t = 20000.0\n");
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(run_json("--material gallium --scenario " + quote(file.string()), j));
  int leaked = 0;
  for (const nlohmann::json& f : j.at("flows")) {
    if (f.at("from") != "CHN" || f.at("stage") != "processing") continue;
    EXPECT_EQ(f.at("via_leakage"), true) << f.dump();
    // transport 2% of 450000 USD/t = 9000 USD/t, plus 20000 USD/t to go round the ban
    EXPECT_NEAR(f.at("unit_cost").get<double>(), 29000.0, 29000.0 * 1e-9) << f.dump();
    ++leaked;
  }
  EXPECT_GT(leaked, 0);
  const CliRun table = run("clear --material gallium --scenario " + quote(file.string()));
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("(via third countries)"), std::string::npos) << table.out;
}

// The quota is a share of China's base-year exports to EU27; both solvers must agree on it.
TEST_F(ClearCli, QuotaScenarioGivesTheSameWelfareOnBothSolvers) {
  const fs::path file = scenario("quota.toml", R"([[export_restriction]]
origin = "CHN"
destinations = ["EU27"]
stage = "processing"
kind = "quota"
share = 0.5
)");
  nlohmann::json network, lp;
  ASSERT_NO_FATAL_FAILURE(
      run_json("--material gallium --scenario " + quote(file.string()), network));
  ASSERT_NO_FATAL_FAILURE(
      run_json("--material gallium --solver lp --scenario " + quote(file.string()), lp));
  EXPECT_LE(
      relative_gap(network.at("welfare_usd").get<double>(), lp.at("welfare_usd").get<double>()),
      1e-6)
      << network.at("welfare_usd") << " vs " << lp.at("welfare_usd");
}

TEST_F(ClearCli, ScenarioErrorExitsTwoWithFileLineKey) {
  const fs::path file = scenario("bad.toml", R"([[export_restriction]]
origin = "CHN"
destinations = ["all"]
stage = "processing"
kind = "quota"
share = 1.5
)");
  const CliRun r = run("clear --material gallium --scenario " + quote(file.string()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(file.string() + ":6:share: 1.5 is outside [0, 1]"), std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 300);
}

TEST_F(ClearCli, ScenarioNamingAnUnknownRegionExitsTwoWithFileLineKey) {
  const fs::path file = scenario("region.toml", R"(# typo
[[tariff]]
importer = "Atlantis"
stage = "processing"
ad_valorem = 0.1
)");
  const CliRun r = run("clear --material gallium --scenario " + quote(file.string()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(file.string() + ":2:importer: 'Atlantis' is not a region of the gallium "
                                       "market"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("regions here: CHN, EU27, IND, JPN, KOR, RUS, UKR, USA, ROW"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(ClearCli, MissingScenarioFileExitsFour) {
  const fs::path file = dir_ / "no-such-scenario.toml";
  const CliRun r = run("clear --material gallium --scenario " + quote(file.string()));
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find(file.string()), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

// ---- flags ------------------------------------------------------------------------------------

TEST_F(ClearCli, UnknownMaterialExitsThree) {
  const CliRun r = run("clear --material unobtainium");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("unknown material 'unobtainium'"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(ClearCli, XmlFormatIsRejectedByTheOptionCheck) {
  const CliRun r = run("clear --material gallium --format xml");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("xml"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 300);
}

TEST_F(ClearCli, UnknownSolverIsRejectedByTheOptionCheck) {
  const CliRun r = run("clear --material gallium --solver simplex");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 300);
}

TEST_F(ClearCli, HelpExitsZeroAndNamesEveryOption) {
  const CliRun r = run("clear --help");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  for (const char* option :
       {"--material", "--year", "--scenario", "--format", "--solver", "--out", "--data"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  }
}

TEST_F(ClearCli, TableListsEveryRegion) {
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(run_json("--material gallium", j));
  const CliRun r = run("clear --material gallium");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("gallium 2023: optimal", 0), 0u) << r.out.substr(0, 200);
  std::set<std::string> row_names;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    const std::string first = line.substr(0, line.find(' '));
    row_names.insert(first);
  }
  ASSERT_FALSE(j.at("regions").empty());
  for (const nlohmann::json& region : j.at("regions")) {
    EXPECT_TRUE(row_names.contains(region.at("region").get<std::string>()))
        << region.at("region") << " missing from\n"
        << r.out;
  }
}

TEST_F(ClearCli, OutWritesTheJsonToAFile) {
  const fs::path file = dir_ / "gallium.json";
  const CliRun r = run("clear --material gallium --format json --out " + quote(file.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  const nlohmann::json j = nlohmann::json::parse(read_file(file));
  EXPECT_EQ(j.at("material"), "gallium");
  EXPECT_EQ(j.at("status"), "optimal");
}

}  // namespace

namespace {

// The club's instruments through the CLI: the example scenario's JSON holds the club section with
// one entry per instrument, figures with units, and the outer loop's convergence.
TEST_F(ClearCli, ClubScenarioReportsEveryInstrumentWithUnits) {
  nlohmann::json j;
  ASSERT_NO_FATAL_FAILURE(run_json(
      "--material gallium --scenario " + quote((fs::path(CRITMIN_TEST_DATA) / ".." / "scenarios" /
                                                "club-gallium-all-instruments.toml")
                                                   .string()),
      j));
  ASSERT_TRUE(j.contains("club")) << j.dump().substr(0, 400);
  const auto& club = j["club"];
  EXPECT_TRUE(club["converged"].get<bool>());
  EXPECT_GE(club["outer_iterations"].get<int>(), 2);
  std::set<std::string> types;
  for (const auto& instrument : club["instruments"]) {
    types.insert(instrument["type"].get<std::string>());
    for (const auto& [name, unit] : instrument["units"].items()) {
      EXPECT_FALSE(unit.get<std::string>().empty()) << name;
    }
  }
  EXPECT_EQ(types, (std::set<std::string>{"certified_market", "joint_purchasing", "offtake",
                                          "price_floor", "stockpile", "subsidy"}));
  // The certified twins and the joint buyer appear as regions of their own.
  std::set<std::string> regions;
  for (const auto& node : j["nodes"]) regions.insert(node["region"].get<std::string>());
  EXPECT_TRUE(regions.contains("EU27/certified"));
  EXPECT_TRUE(regions.contains("club/joint"));
}

TEST_F(ClearCli, ClubScenarioWithAContractPastItsTenorFailsWithFileLineAndKey) {
  const fs::path file = scenario("expired.toml", R"([club]
members = ["EU27", "JPN"]

[[instrument]]
type = "offtake"
material = "gallium"
stage = "processing"
seller = "JPN"
buyer = "EU27"
volume_t_per_year = 1.0
price_kind = "fixed"
price = 500000.0
start_year = 2010
tenor_years = 3
)");
  const CliRun r = run("clear --material gallium --scenario " + quote(file.string()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("expired.toml:4:tenor_years"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("past its tenor"), std::string::npos) << r.err;
}

}  // namespace
