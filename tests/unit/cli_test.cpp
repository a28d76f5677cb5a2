// The critmin CLI as a user runs it: exit codes, stdout/stderr, the JSON/CSV/XLSX contract of
// `critmin assess`, and `critmin data check` messages on deliberately broken datasets.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace {

namespace fs = std::filesystem;

constexpr double kEps = 1e-9;

const fs::path kData = CRITMIN_TEST_DATA;
const fs::path kSmall = fs::path(CRITMIN_TEST_FIXTURES) / "assess_small";

using critmin::test::CliRun;
using critmin::test::quote;
using critmin::test::read_file;
using critmin::test::run_cli;
using critmin::test::write_file;

// Each test works in its own temporary directory, removed afterwards.
class Cli : public ::testing::Test {
 protected:
  // Runs `critmin ARGS` (ARGS already shell-quoted where needed).
  CliRun run(const std::string& args) const { return run_cli(dir_, args); }

  // A copy of the shipped dataset to break.
  fs::path copy_of_data() const {
    const fs::path copy = dir_ / "data";
    fs::copy(kData, copy, fs::copy_options::recursive);
    return copy;
  }

  critmin::test::TempDir temp_{"critmin_cli_test_"};
  const fs::path& dir_ = temp_.path();
};

// Replaces the first line of `file` that starts with `prefix` by `replacement`; returns its
// 1-based line number (0 when no line matched).
int replace_line(const fs::path& file, const std::string& prefix, const std::string& replacement) {
  std::istringstream in(read_file(file));
  std::string text;
  std::string line;
  int number = 0;
  int found = 0;
  while (std::getline(in, line)) {
    ++number;
    if (found == 0 && line.rfind(prefix, 0) == 0) {
      line = replacement;
      found = number;
    }
    text += line + "\n";
  }
  write_file(file, text);
  return found;
}

int line_of(const fs::path& file, const std::string& prefix) {
  std::istringstream in(read_file(file));
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.rfind(prefix, 0) == 0) return number;
  }
  return 0;
}

// ---- assess -----------------------------------------------------------------------------------

TEST_F(Cli, AssessWritesTheJsonContractForGalliumProcessing) {
  const CliRun r = run("assess --material gallium --stage processing --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  const nlohmann::json& row = j[0];
  EXPECT_EQ(row.at("material"), "gallium");
  EXPECT_EQ(row.at("stage"), "processing");
  // 93.8^2 + 0.3^2 + 1.0^2 + 0.9^2 + 1.9^2 + 2.2^2 = 8798.44 + 0.09 + 1 + 0.81 + 3.61 + 4.84
  //   = 8808.79
  EXPECT_NEAR(row.at("hhi").get<double>(), 8808.79, 1e-6);
  EXPECT_EQ(row.at("top_country"), "CHN");
  EXPECT_NEAR(row.at("top_share").get<double>(), 0.938, kEps);
  ASSERT_TRUE(row.at("hhi_wgi").is_number());
  EXPECT_GT(row.at("hhi_wgi").get<double>(), 0.0);
  EXPECT_EQ(row.at("crma_single_country_breach"), true);
  EXPECT_FALSE(row.contains("bloc_share"));  // only with --bloc
}

TEST_F(Cli, AssessAddsTheBlocShareWhenABlocIsGiven) {
  const CliRun r = run("assess --material gallium --stage processing --bloc club --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("bloc"), "club");
  // club members among gallium refiners: DEU 0.003 + JPN 0.010 + KOR 0.009 = 0.022
  EXPECT_NEAR(j[0].at("bloc_share").get<double>(), 0.022, kEps);
}

TEST_F(Cli, AssessJsonCarriesTheHandWorkedFixtureFigures) {
  const CliRun r = run("assess --data " + quote(kSmall.string()) +
                       " --material gallium --bloc USA,JPN --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  const nlohmann::json& row = j[0];
  // see assess_test.cpp for the working
  EXPECT_NEAR(row.at("hhi").get<double>(), 8152.0, kEps);
  EXPECT_NEAR(row.at("top3_share").get<double>(), 1.0, kEps);
  EXPECT_NEAR(row.at("hhi_wgi").get<double>(), 4.87056, kEps);
  EXPECT_NEAR(row.at("bloc_share").get<double>(), 0.04, kEps);
  EXPECT_NEAR(row.at("supply_risk").get<double>(), 3.06036144, kEps);
  EXPECT_NEAR(row.at("imports").at("EU27").at("value_usd").get<double>(), 1082.4, kEps);
  EXPECT_NEAR(row.at("imports").at("EU27").at("value_eur").get<double>(), 1000.0, kEps);
  EXPECT_NEAR(row.at("imports").at("NLD").at("import_weighted_risk").get<double>(), 0.358688, kEps);
}

TEST_F(Cli, AssessCsvHasAHeaderWithUnitsAndOneLinePerRow) {
  const CliRun r =
      run("assess --data " + quote(kSmall.string()) + " --material gallium --format csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0].rfind("material,stage,crma_critical,crma_strategic,hhi [0-10000],"
                           "top_country [ISO3],top_share [0-1],top3_share [0-1],hhi_wgi [-],",
                           0),
            0u)
      << lines[0];
  EXPECT_NE(lines[0].find("supply_risk [-]"), std::string::npos);
  EXPECT_NE(lines[0].find("EU27_import_value [USD]"), std::string::npos);
  EXPECT_NE(lines[0].find("NLD_import_weighted_risk [0-1]"), std::string::npos);
  // hhi 8152, top CHN 0.9, top3 1, HHI_WGI 4.87056, third CHN 0.9, breach, no bloc,
  // EU sourcing HHI 5400 (CHN), IR 0.8, EOL 0.1, SI 0.9, SR 3.06036144, no estimates,
  // published 3.9, world 760 t in 2023, EU27 1082.4 USD CHN 0.9 8200 0.464664,
  // NLD 1082.4 USD CHN 0.6 5200 0.358688; per region also the value in EUR (1000), China's
  // share, the main partners and the shared-basket flag.
  EXPECT_EQ(lines[1],
            "gallium,processing,true,true,8152,CHN,0.9,1,4.87056,CHN,0.9,true,,,5400,CHN,0.8,0.1,"
            "0.9,3.06036144,,3.9,760,2023,1082.4,1000,CHN,0.9,0.9,CHN 0.9|USA 0.1,8200,0.464664,"
            "false,1082.4,1000,CHN,0.6,0.6,CHN 0.6|DEU 0.4,5200,0.358688,false");
}

TEST_F(Cli, AssessXlsxWithoutOutFailsWithUsageError) {
  const CliRun r = run("assess --material gallium --format xlsx");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--format xlsx needs --out"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out.substr(0, 200);
}

TEST_F(Cli, AssessXlsxWritesAZipWorkbook) {
  const fs::path xlsx = dir_ / "x.xlsx";
  const CliRun r = run("assess --material gallium --format xlsx --out " + quote(xlsx.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(fs::exists(xlsx));
  const std::string bytes = read_file(xlsx);
  ASSERT_GE(bytes.size(), 4u);
  EXPECT_EQ(bytes.substr(0, 2), "PK");
}

TEST_F(Cli, AssessWritesJsonToAFileWithOut) {
  const fs::path json = dir_ / "a.json";
  const CliRun r = run("assess --material gallium --stage processing --format json --out " +
                       quote(json.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  const nlohmann::json j = nlohmann::json::parse(read_file(json));
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0].at("material"), "gallium");
}

TEST_F(Cli, AssessRejectsAnUnknownMaterialWithExitCodeThree) {
  const CliRun r = run("assess --material unobtainium");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("unknown material"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unobtainium"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

TEST_F(Cli, AssessRejectsAnUnknownBlocWithExitCodeThree) {
  const CliRun r = run("assess --material gallium --bloc USA,XYZ");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("'XYZ'"), std::string::npos) << r.err;
}

TEST_F(Cli, AssessSuggestsTheBlocOrCountryNearestAMistypedName) {
  const CliRun r = run("assess --material gallium --bloc clubb");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("'clubb' (did you mean club?) is neither a bloc"), std::string::npos)
      << r.err;
}

TEST_F(Cli, AssessReportsAssumptionErrorsAtFileLineKey) {
  const fs::path toml = dir_ / "assumptions.toml";
  write_file(toml, "[supply_risk.gallium]\neol_rir = 1.5\n");
  const CliRun r = run("assess --material gallium --assumptions " + quote(toml.string()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(toml.string() +
                       ":2:supply_risk.gallium.eol_rir: 1.5 is outside [0,1]; write a fraction "
                       "such as 0.3"),
            std::string::npos)
      << r.err;
}

TEST_F(Cli, AssessAppliesAnAssumptionsFile) {
  const fs::path toml = dir_ / "assumptions.toml";
  write_file(toml, "[supply_risk.lithium]\neol_rir = 0.2\nsubstitution_index = 0.5\n");
  const CliRun r = run("assess --data " + quote(kSmall.string()) +
                       " --material lithium --format json --assumptions " + quote(toml.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  // 1.2075 * (1 - 0.2) * 0.5 = 0.483
  EXPECT_NEAR(j[0].at("supply_risk").get<double>(), 0.483, kEps);
  EXPECT_EQ(j[0].at("supply_risk_estimated_inputs"), nlohmann::json({"import_reliance"}));
}

// ---- data check -------------------------------------------------------------------------------

TEST_F(Cli, DataCheckAcceptsTheShippedDataset) {
  const CliRun r = run("data check --data " + quote(kData.string()));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, kData.string() + ": ok (31 tables valid)\n");
}

// Runs `data check` on `dir` and expects exactly one problem, `diagnostic`.
void expect_single_problem(const CliRun& r, const fs::path& dir, const std::string& diagnostic) {
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, diagnostic + "\ncritmin: error: 1 problem(s) in " + dir.string() + "\n");
}

TEST_F(Cli, DataCheckReportsANegativeShare) {
  const fs::path data = copy_of_data();
  const fs::path file = data / "global_supply_shares.csv";
  const int line =
      replace_line(file, "gallium,processing,DEU,", "gallium,processing,DEU,-0.003,0.8,false");
  ASSERT_GT(line, 1);
  expect_single_problem(run("data check --data " + quote(data.string())), data,
                        file.string() + ":" + std::to_string(line) +
                            ":share: negative value -0.003; share must be >= 0");
}

TEST_F(Cli, DataCheckReportsADatasetSchemaThatDiffersFromCritminsOwn) {
  const fs::path data = copy_of_data();
  const fs::path file = data / "schema" / "production.csv";
  const int line = replace_line(
      file, "stage,",
      "stage,string,,required,true,\"extraction (mine) or processing (refinery, smelter, plant)\"");
  ASSERT_EQ(line, 3);
  expect_single_problem(
      run("data check --data " + quote(data.string())), data,
      file.string() +
          ":3:stage: type is 'string' but critmin's schema says 'stage'; restore the file from "
          "critmin's schema (data/schema/production.csv, printed by `critmin data schema`) or "
          "re-import the dataset with `critmin data import`");
}

TEST_F(Cli, DataSchemaPrintsTheEmbeddedSchemaWithoutADataset) {
  const CliRun r = run("data schema");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("# The critmin dataset schema\n", 0), 0u);
  EXPECT_NE(r.out.find("\n## demand_shares.csv\n"), std::string::npos);
}

TEST_F(Cli, DataCheckReportsAnUnknownIso3Code) {
  const fs::path data = copy_of_data();
  const fs::path file = data / "global_supply_shares.csv";
  const int line =
      replace_line(file, "gallium,processing,DEU,", "gallium,processing,XXX,0.003,0.8,false");
  ASSERT_GT(line, 1);
  expect_single_problem(run("data check --data " + quote(data.string())), data,
                        file.string() + ":" + std::to_string(line) +
                            ":iso3: unknown ISO3 code 'XXX'; use a code of countries.csv");
}

TEST_F(Cli, DataCheckReportsANonNumericValue) {
  const fs::path data = copy_of_data();
  const fs::path file = data / "global_supply_shares.csv";
  const int line =
      replace_line(file, "gallium,processing,DEU,", "gallium,processing,DEU,abc,0.8,false");
  ASSERT_GT(line, 1);
  expect_single_problem(
      run("data check --data " + quote(data.string())), data,
      file.string() + ":" + std::to_string(line) + ":share: 'abc' is not a number in share (0-1)");
}

TEST_F(Cli, DataCheckReportsADuplicateKey) {
  const fs::path data = copy_of_data();
  const fs::path file = data / "global_supply_shares.csv";
  // turn the DEU row into a second JPN row; the JPN row follows it
  const int first =
      replace_line(file, "gallium,processing,DEU,", "gallium,processing,JPN,0.003,1,false");
  ASSERT_GT(first, 1);
  const int second = line_of(file, "gallium,processing,JPN,0.01,");
  ASSERT_GT(second, first);
  expect_single_problem(run("data check --data " + quote(data.string())), data,
                        file.string() + ":" + std::to_string(second) +
                            ":material_id,stage,iso3: duplicate key; the same "
                            "(material_id,stage,iso3) is already on line " +
                            std::to_string(first));
}

TEST_F(Cli, DataCheckReportsAWrongUnitInProduction) {
  const fs::path data = copy_of_data();
  const fs::path file = data / "production.csv";
  const int line = replace_line(file, "aluminium,processing,ARE,2021,",
                                "aluminium,processing,ARE,2021,2540000,kg,primary aluminium "
                                "metal,false,USGS MCS2023");
  ASSERT_GT(line, 1);
  expect_single_problem(
      run("data check --data " + quote(data.string())), data,
      file.string() + ":" + std::to_string(line) +
          ":unit: unit 'kg' does not match the schema unit 't'; convert the values to t");
}

TEST_F(Cli, DataCheckReportsSharesSummingAboveTheTolerance) {
  const fs::path data = copy_of_data();
  const fs::path file = data / "global_supply_shares.csv";
  // CHN 0.938 -> 0.998: 0.998 + 0.003 + 0.010 + 0.009 + 0.019 + 0.022 = 1.061 > 1 + 0.05
  ASSERT_GT(replace_line(file, "gallium,processing,CHN,", "gallium,processing,CHN,0.998,1,false"),
            1);
  const int last = line_of(file, "gallium,processing,UKR,");  // the group's last line
  ASSERT_GT(last, 1);
  expect_single_problem(run("data check --data " + quote(data.string())), data,
                        file.string() + ":" + std::to_string(last) +
                            ":share: the shares of gallium at the processing stage sum to "
                            "1.0610, more than 1 (+0.05 rounding tolerance); correct the shares "
                            "so that they add up to at most 1");
}

TEST_F(Cli, AssessRefusesABrokenDatasetWithExitCodeTwo) {
  const fs::path data = copy_of_data();
  const fs::path file = data / "global_supply_shares.csv";
  const int line =
      replace_line(file, "gallium,processing,DEU,", "gallium,processing,DEU,-0.003,0.8,false");
  ASSERT_GT(line, 1);
  const CliRun r = run("assess --data " + quote(data.string()) + " --material gallium");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(file.string() + ":" + std::to_string(line) + ":share: negative value"),
            std::string::npos)
      << r.err;
}

// ---- data info and --help ---------------------------------------------------------------------

TEST_F(Cli, DataInfoCoversEveryCrmaCriticalEntry) {
  const CliRun r = run("data info");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("CRMA critical entries with world supply shares: 34 of 34"),
            std::string::npos)
      << r.out;
}

TEST_F(Cli, EverySubcommandHasHelp) {
  for (const char* args : {"--help", "assess --help", "data --help", "data import --help",
                           "data check --help", "data info --help"}) {
    const CliRun r = run(args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << args << "\n" << r.out;
  }
}

TEST_F(Cli, ShowsTheAssessOptionsInItsHelp) {
  const CliRun r = run("assess --help");
  ASSERT_EQ(r.exit_code, 0);
  for (const char* option : {"--material", "--stage", "--bloc", "--format", "--out"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
  }
}

// ---- one table of exit codes (docs/cli.md) ----------------------------------------------------

// Issue 20: CLI11's parse errors exited with its own codes (106, 109, ...); every usage error is
// now 2, in every subcommand, and --help stays 0.
TEST_F(Cli, EveryUsageErrorExitsWithTwo) {
  for (const char* args :
       {"assess --no-such-flag", "clear", "clear --material gallium --year 1800",
        "clear --material gallium --format xml", "simulate", "compare", "ensemble",
        "ensemble x.toml --runs 5 --unknown", "report", "backtest --bogus", "data --bogus",
        "data import --from x", "no-such-command", "serve --port notanumber"}) {
    const CliRun r = run(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
  }
}

TEST_F(Cli, ExitCodesSayNotFoundAndBadInput) {
  EXPECT_EQ(run("clear --material galium").exit_code, 3);
  const CliRun episode = run("backtest galium-germanium-2023");
  EXPECT_EQ(episode.exit_code, 3) << episode.err;
  EXPECT_NE(episode.err.find("(did you mean gallium-germanium-2023?)"), std::string::npos)
      << episode.err;
  EXPECT_EQ(run("simulate no-such-scenario.toml").exit_code, 4);
  EXPECT_EQ(run("data materials --data no-such-dir").exit_code, 3);
}

TEST_F(Cli, UnknownMaterialSuggestsTheNearestAndWhereToLook) {
  const CliRun r = run("clear --material galium");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("unknown material 'galium' (did you mean gallium?)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("critmin data materials"), std::string::npos) << r.err;
  const CliRun assess = run("assess --material germainum");
  EXPECT_NE(assess.err.find("(did you mean germanium?)"), std::string::npos) << assess.err;
}

TEST_F(Cli, AssessAnswersForEveryMemberOfAGroupName) {
  const CliRun r = run("assess --material PGM --stage processing --format json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json rows = nlohmann::json::parse(r.out);
  std::set<std::string> materials;
  for (const nlohmann::json& row : rows) materials.insert(row["material"].get<std::string>());
  EXPECT_EQ(materials,
            (std::set<std::string>{"iridium", "palladium", "platinum", "rhodium", "ruthenium"}));
}

TEST_F(Cli, ClearAndSimulateRefuseAGroupNameListingItsMembers) {
  const CliRun clear = run("clear --material PGM");
  EXPECT_EQ(clear.exit_code, 2) << clear.err;
  EXPECT_NE(clear.err.find("'PGM' is a group of 5 materials (iridium, palladium, platinum, "
                           "rhodium, ruthenium), not one market"),
            std::string::npos)
      << clear.err;
  EXPECT_TRUE(clear.out.empty());
  write_file(dir_ / "group.toml",
             "[scenario]\nyears = [2025, 2027]\nseed = 1\nmaterials = [\"gallium\", \"HREE\"]\n");
  const CliRun simulate = run("simulate " + quote((dir_ / "group.toml").string()) + " --out " +
                              quote((dir_ / "out").string()));
  EXPECT_EQ(simulate.exit_code, 2) << simulate.err;
  EXPECT_NE(simulate.err.find("group.toml:4:materials: 'HREE' is a group of"), std::string::npos)
      << simulate.err;
  EXPECT_NE(simulate.err.find("dysprosium"), std::string::npos) << simulate.err;
  EXPECT_FALSE(fs::exists(dir_ / "out" / "summary.json"));
}

// NdPr in a scenario is refused like any group, with what stands for it in a simulation and
// where the product itself is reported.
TEST_F(Cli, SimulateRefusesNdPrAndSaysNeodymiumStandsForIt) {
  write_file(dir_ / "ndpr.toml",
             "[scenario]\nyears = [2025, 2027]\nseed = 1\nmaterials = [\"NdPr\"]\n");
  const CliRun simulate = run("simulate " + quote((dir_ / "ndpr.toml").string()) + " --out " +
                              quote((dir_ / "out").string()));
  EXPECT_EQ(simulate.exit_code, 2) << simulate.err;
  EXPECT_NE(simulate.err.find("ndpr.toml:4:materials: 'NdPr' is a group of 2 materials"),
            std::string::npos)
      << simulate.err;
  EXPECT_NE(simulate.err.find("\"neodymium\" stands for NdPr oxide"), std::string::npos)
      << simulate.err;
  EXPECT_NE(simulate.err.find("critmin clear --material NdPr"), std::string::npos) << simulate.err;
}

TEST_F(Cli, DataMaterialsListsIdsGroupsAndCoverage) {
  const CliRun r = run("data materials");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\ngallium "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\nhree "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("HREE"), std::string::npos) << r.out;
}

// Issue 20: `clear --year 2030` printed "gallium 2030: optimal" on 2023 data and said so only in
// a footnote; the first line now names the data year.
TEST_F(Cli, ClearBeyondTheDataSaysOnItsFirstLineWhichDataYearItUses) {
  const CliRun r = run("clear --material gallium --year 2030");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string first = r.out.substr(0, r.out.find('\n'));
  EXPECT_NE(first.find("gallium 2030 (cleared on 2023 data"), std::string::npos) << first;
  const CliRun base = run("clear --material gallium --year 2023");
  EXPECT_EQ(base.out.substr(0, base.out.find('\n')).find("cleared on"), std::string::npos);
}

TEST_F(Cli, ClearPrintsNoScientificNotation) {
  const CliRun r =
      run("clear --material gallium --scenario " +
          quote((kData / ".." / "scenarios" / "club-gallium-all-instruments.toml").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("e+0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("e-0"), std::string::npos) << r.out;
  // Instrument figures under their labels from the output table.
  EXPECT_NE(r.out.find("levy revenue"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("levy_revenue"), std::string::npos) << r.out;
}

TEST_F(Cli, SimulateWritesLongCsvTablesWithAUnitColumn) {
  const fs::path out = dir_ / "sim";
  const CliRun r =
      run("simulate " + quote((kData / ".." / "scenarios" / "sim-gallium-ban.toml").string()) +
          " --format csv --out " + quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* table : {"series", "scorecard", "payments", "headline"}) {
    EXPECT_NE(r.out.find(table), std::string::npos) << r.out;
    EXPECT_TRUE(fs::exists(out / (std::string(table) + ".csv"))) << table;
  }
  const std::string series = read_file(out / "series.csv");
  EXPECT_EQ(series.substr(0, series.find('\n')),
            "material,stage,region,year,variable,label,value,unit");
  EXPECT_NE(series.find(",price,Price,"), std::string::npos);
  EXPECT_NE(series.find(",USD/t\n"), std::string::npos);
  const std::string scorecard = read_file(out / "scorecard.csv");
  EXPECT_EQ(scorecard.substr(0, scorecard.find('\n')), "card,key,label,value,unit,note");
}

TEST_F(Cli, CompareWritesLongCsvTablesAndCutsNoDesignName) {
  const std::string scenarios =
      quote((kData / ".." / "scenarios" / "sim-gallium-ban.toml").string()) + " " +
      quote((kData / ".." / "scenarios" / "sim-gallium-ban-stockpile.toml").string());
  EXPECT_EQ(run("compare " + scenarios + " --format csv").exit_code, 2);  // needs --out
  const fs::path out = dir_ / "cmp";
  const CliRun r = run("compare " + scenarios + " --format csv --out " + quote(out.string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string lines = read_file(out / "scorecards.csv");
  EXPECT_EQ(lines.substr(0, lines.find('\n')), "design,card,key,label,value,unit,note");
  EXPECT_NE(lines.find("\ngallium-ban-stockpile,"), std::string::npos);
  const CliRun table = run("compare " + scenarios);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("gallium-ban-stockpile"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("e+0"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("e-0"), std::string::npos) << table.out;
}

TEST_F(Cli, SimulatePrintsMoneyInMillionsAndNoScientificNotation) {
  const CliRun r =
      run("simulate " + quote((kData / ".." / "scenarios" / "sim-gallium-ban.toml").string()) +
          " --out " + quote((dir_ / "sim").string()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("e+0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("e-0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fiscal cost "), std::string::npos) << r.out;
}

// ---- issue 20: honest input, names people mistype, progress -----------------------------------

// The same flag has the same default everywhere: compare's ensemble seed, like ensemble's, is the
// scenario's own (the reference's, 7 here), not a fixed 1.
TEST_F(Cli, CompareDrawsItsEnsemblesFromTheReferenceScenariosSeedByDefault) {
  const fs::path scenarios = fs::path(CRITMIN_TEST_DATA) / ".." / "scenarios";
  const std::string designs = quote((scenarios / "sim-gallium-ban.toml").string()) + " " +
                              quote((scenarios / "sim-gallium-ban-stockpile.toml").string()) +
                              " --runs 3 --threads 2 --format json --progress none";
  const CliRun by_default = run("compare " + designs);
  const CliRun seed_7 = run("compare " + designs + " --seed 7");
  const CliRun seed_1 = run("compare " + designs + " --seed 1");
  ASSERT_EQ(by_default.exit_code, 0) << by_default.err;
  ASSERT_EQ(seed_7.exit_code, 0) << seed_7.err;
  ASSERT_EQ(seed_1.exit_code, 0) << seed_1.err;
  EXPECT_NE(by_default.out.find("\"bands\""), std::string::npos);
  EXPECT_EQ(by_default.out, seed_7.out);
  EXPECT_NE(by_default.out, seed_1.out);
  EXPECT_NE(run("compare --help").out.find("default: the first scenario's seed"),
            std::string::npos);
}

// Item 6: a scenario's years must lie from the base year to the projection horizon after it; the
// CLI says where and how to fix it, with exit code 2.
TEST_F(Cli, SimulateRefusesYearsTheDataCannotProjectToWithExitCodeTwo) {
  write_file(dir_ / "past.toml",
             "[scenario]\nyears = [1990, 2000]\nseed = 1\nmaterials = [\"gallium\"]\n");
  const CliRun past = run("simulate " + quote((dir_ / "past.toml").string()) + " --out " +
                          quote((dir_ / "out").string()));
  EXPECT_EQ(past.exit_code, 2) << past.err;
  EXPECT_NE(past.err.find("past.toml:2:years: 1990-2000 starts before the base year 2023"),
            std::string::npos)
      << past.err;
  EXPECT_FALSE(fs::exists(dir_ / "out" / "summary.json"));
  write_file(dir_ / "far.toml",
             "[scenario]\nyears = [2025, 2099]\nseed = 1\nmaterials = [\"gallium\"]\n");
  for (const char* command : {"simulate", "ensemble --runs 2"}) {
    const CliRun far = run(std::string(command) + " " + quote((dir_ / "far.toml").string()) +
                           " --out " + quote((dir_ / "out").string()));
    EXPECT_EQ(far.exit_code, 2) << command << "\n" << far.err;
    EXPECT_NE(far.err.find("far.toml:2:years: 2025-2099 ends past the projection horizon"),
              std::string::npos)
        << command << "\n"
        << far.err;
  }
}

// Item 5: a mistyped flag or command is answered with the one meant (CLI11 alone said only that
// --material was missing), still with exit code 2.
TEST_F(Cli, AMistypedFlagOrCommandNamesTheOneMeant) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"clear --materail gallium",
       "unknown flag --materail for critmin clear (did you mean --material?)"},
      {"clear --material gallium --yaer 2023", "(did you mean --year?)"},
      {"simulate x.toml --fromat json",
       "unknown flag --fromat for critmin simulate (did you mean "
       "--format?)"},
      {"ensemble x.toml --runs 5 --thread=2", "(did you mean --threads?)"},
      {"data materials --yera 2023", "for critmin data materials (did you mean --year?)"},
      {"clera --material gallium", "unknown command 'clera' for critmin (did you mean clear?)"},
      {"data imprt --from x", "unknown command 'imprt' for critmin data (did you mean import?)"},
  };
  for (const auto& [args, message] : cases) {
    const CliRun r = run(args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << args << "\n" << r.err;
  }
  // Far from every flag: CLI11's own message, no guess.
  const CliRun far = run("clear --material gallium --zzzzzzzz");
  EXPECT_EQ(far.exit_code, 2);
  EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;
}

// Each stderr line that is a JSON object, parsed; fails the test on a line that does not parse.
std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << line;
    if (!parsed.is_discarded()) out.push_back(std::move(parsed));
  }
  return out;
}

// The steps of one command's progress lines: 1..n in order, each with "of" n and a "what".
void expect_steps(const std::vector<nlohmann::json>& lines, const std::string& command,
                  long long steps) {
  ASSERT_EQ(static_cast<long long>(lines.size()), steps) << command;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].value("command", ""), command) << lines[i].dump();
    EXPECT_EQ(lines[i].value("step", -1LL), static_cast<long long>(i + 1)) << lines[i].dump();
    EXPECT_EQ(lines[i].value("of", -1LL), steps) << lines[i].dump();
    EXPECT_FALSE(lines[i].value("what", "").empty()) << lines[i].dump();
  }
}

// Item 8: --progress json prints one JSON object per step and line on stderr, for every long
// command; the default prints nothing when stderr is not a terminal.
TEST_F(Cli, ProgressJsonPrintsOneParsableLinePerStep) {
  const std::string ban = quote((kData / ".." / "scenarios" / "sim-gallium-ban.toml").string());
  const std::string stockpile =
      quote((kData / ".." / "scenarios" / "sim-gallium-ban-stockpile.toml").string());
  const CliRun simulate =
      run("simulate " + ban + " --progress json --out " + quote((dir_ / "sim").string()));
  ASSERT_EQ(simulate.exit_code, 0) << simulate.err;
  const std::vector<nlohmann::json> years = json_lines(simulate.err);
  expect_steps(years, "simulate", 6);  // 2025-2030
  if (!years.empty()) {
    EXPECT_EQ(years.front().value("what", ""), "year 2025");
    EXPECT_EQ(years.back().value("what", ""), "year 2030");
  }
  const CliRun ensemble = run("ensemble " + ban + " --runs 3 --threads 1 --progress json --out " +
                              quote((dir_ / "ens").string()));
  ASSERT_EQ(ensemble.exit_code, 0) << ensemble.err;
  expect_steps(json_lines(ensemble.err), "ensemble", 3);
  const CliRun compare = run("compare " + ban + " " + stockpile + " --progress json");
  ASSERT_EQ(compare.exit_code, 0) << compare.err;
  expect_steps(json_lines(compare.err), "compare", 12);  // two designs of 6 years
  const CliRun backtest = run("backtest gallium-germanium-2023 --progress json");
  ASSERT_EQ(backtest.exit_code, 0) << backtest.err;
  expect_steps(json_lines(backtest.err), "backtest", 1);

  const CliRun quiet = run("simulate " + ban + " --out " + quote((dir_ / "sim2").string()));
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_TRUE(json_lines(quiet.err).empty()) << quiet.err;
  EXPECT_EQ(quiet.err.find("critmin simulate: year"), std::string::npos) << quiet.err;
  EXPECT_EQ(run("simulate " + ban + " --progress xml").exit_code, 2);
}

}  // namespace

// ---- investability ----------------------------------------------------------------------------

TEST_F(Cli, SimulateAppraisesTheScenariosCandidateProjectBesideTheRun) {
  const fs::path scenario =
      fs::path(CRITMIN_TEST_SOURCE_ROOT) / "scenarios" / "sim-ndpr-floor.toml";
  const CliRun ok = run("simulate " + quote(scenario.string()) + " --out " +
                        quote((dir_ / "appraised").string()));
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("appraisal: 10,000 t/yr of neodymium processing in USA, online 2028 (40 "
                        "runs): P(NPV>0) "),
            std::string::npos)
      << ok.out;
  const nlohmann::json summary =
      nlohmann::json::parse(critmin::test::read_file(dir_ / "appraised" / "summary.json"));
  ASSERT_EQ(summary["appraisals"].size(), 4u);
  EXPECT_EQ(summary["appraisals"][0]["region"], "USA");
}

TEST_F(Cli, InvestabilityPrintsTheFourCasesAsJsonAndRefusesAZeroCapacity) {
  const fs::path scenario =
      fs::path(CRITMIN_TEST_SOURCE_ROOT) / "scenarios" / "sim-ndpr-floor.toml";
  const CliRun ok = run("investability " + quote(scenario.string()) +
                        " --material neodymium --region USA --capacity-t 10000 --runs 2 "
                        "--threads 2 --format json");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  const nlohmann::json out = nlohmann::json::parse(ok.out);
  ASSERT_EQ(out["cases"].size(), 4u);
  for (const auto& c : out["cases"]) {
    EXPECT_TRUE(c.contains("probability_npv_positive"));
    EXPECT_TRUE(c.contains("expected_npv_usd"));
    EXPECT_TRUE(c.contains("fiscal_cost_usd"));
  }
  EXPECT_TRUE(out.contains("investable_floor_usd_per_t"));
  EXPECT_EQ(out["project"]["region"], "USA");

  const CliRun zero = run("investability " + quote(scenario.string()) +
                          " --material neodymium --region USA --capacity-t 0");
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_NE(zero.err.find("--capacity-t"), std::string::npos) << zero.err;
}
