// The scenario layer: one reader for every command, the scenario schema as data driving its
// checks, typed instrument specs that equal what a file says, and a generated reference that
// cannot go stale.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <variant>

#include "critmin/policy/club.h"
#include "critmin/scenario/scenario.h"
#include "scenario/keys.h"
#include "scenario/table_reader.h"
#include "test_support.h"

namespace critmin::scenario {
namespace {

using critmin::test::default_data;

const std::filesystem::path kScenarios = std::filesystem::path(CRITMIN_TEST_DATA) / "../scenarios";
const std::filesystem::path kEpisodes = std::filesystem::path(CRITMIN_TEST_DATA) / "episodes";

std::vector<std::string> problems_of(const Status& status) {
  return critmin::test::texts(status.diagnostics());
}

bool has_problem(const Status& status, const std::string& text) {
  const auto all = problems_of(status);
  return std::any_of(all.begin(), all.end(),
                     [&](const std::string& p) { return p.find(text) != std::string::npos; });
}

TEST(ScenarioSchema, EveryRowHasAKnownTypeAndAnOrderedRange) {
  const std::set<std::string> plain = {"text",      "number",  "integer",    "boolean",
                                       "price",     "region",  "regions",    "material",
                                       "materials", "country", "year_range", "shares"};
  const std::set<std::string> required = {"yes", "no", "simulate"};
  std::set<std::pair<std::string, std::string>> seen;
  ASSERT_GT(scenario_keys().size(), 100u);
  for (const ScenarioKey& key : scenario_keys()) {
    const std::string where = key.section + "." + key.key;
    EXPECT_TRUE(plain.contains(key.type) || !key.choices().empty()) << where << ": " << key.type;
    EXPECT_TRUE(required.contains(key.required) || key.required.rfind("when ", 0) == 0)
        << where << ": " << key.required;
    if (key.min && key.max) {
      EXPECT_LE(*key.min, *key.max) << where;
    }
    EXPECT_FALSE(key.description.empty()) << where;
    EXPECT_TRUE(seen.insert({key.section, key.key}).second) << where << " is listed twice";
  }
}

TEST(ScenarioSchema, InstrumentTypesAreTheChoicesOfTheTypeKey) {
  const ScenarioKey* type = find_scenario_key("instrument", "type");
  ASSERT_NE(type, nullptr);
  std::string listed;
  for (const std::string& c : type->choices()) listed += (listed.empty() ? "" : ", ") + c;
  EXPECT_EQ(listed, policy::instrument_types());
  for (const std::string& c : type->choices()) {
    EXPECT_FALSE(section_keys("instrument." + c).empty()) << c;
  }
}

// The range in a message is the schema's: changing the table changes what the reader accepts.
TEST(ScenarioReader, RangesAndUnknownKeysComeFromTheSchema) {
  const std::string text = R"([scenario]
name = "t"
years = [2025, 2027]
seed = 1
[[disruption]]
origin = "CHN"
material = "gallium"
stage = "processing"
kind = "export_ban"
destinations = ["all"]
start = 2026
years = 1
probability = 1.5
colour = "red"
)";
  auto spec = read_simulation_scenario(text, "s.toml", default_data());
  ASSERT_FALSE(spec.is_ok());
  const ScenarioKey* probability = find_scenario_key("disruption", "probability");
  ASSERT_NE(probability, nullptr);
  EXPECT_TRUE(
      has_problem(spec.status(), fmt::format("s.toml:13:probability: 1.5 is outside [{}, {}]",
                                             *probability->min, *probability->max)))
      << spec.status().to_string();
  std::string keys;
  std::set<std::string> sorted;
  for (const ScenarioKey* k : section_keys("disruption")) sorted.insert(k->key);
  for (const std::string& k : sorted) keys += (keys.empty() ? "" : ", ") + k;
  EXPECT_TRUE(has_problem(spec.status(),
                          "s.toml:14:disruption.colour: unknown key; disruption takes " + keys))
      << spec.status().to_string();
}

TEST(ScenarioReader, EveryShippedScenarioReadsOnceForEachCommandItServes) {
  for (const auto& entry : std::filesystem::directory_iterator(kScenarios)) {
    const std::string file = entry.path().filename().string();
    const std::string text = critmin::test::read_file(entry.path());
    if (entry.path().extension() == ".csv") {  // a company's bill of materials (--bom)
      auto bom = read_bom(text, file, default_data());
      EXPECT_TRUE(bom.is_ok()) << bom.status().to_string();
      continue;
    }
    const bool is_clearing_only =
        file.rfind("club-gallium", 0) == 0 || file.rfind("trade-", 0) == 0;
    auto spec = read_scenario(text, file, default_data(),
                              is_clearing_only ? Purpose::kClear : Purpose::kSimulate);
    ASSERT_TRUE(spec.is_ok()) << spec.status().to_string();
    if (!is_clearing_only) {
      EXPECT_GT(spec.value().last_year, 0) << file;
      EXPECT_FALSE(spec.value().materials.empty()) << file;
      EXPECT_TRUE(spec.value().clearing.skip_instruments_out_of_force) << file;
    }
  }
  for (const auto& entry : std::filesystem::directory_iterator(kEpisodes)) {
    auto episode = read_episode(critmin::test::read_file(entry.path()),
                                entry.path().filename().string(), default_data());
    ASSERT_TRUE(episode.is_ok()) << episode.status().to_string();
    EXPECT_FALSE(episode.value().observed.empty());
  }
}

TEST(ScenarioReader, AMistypedClubMemberGetsADidYouMean) {
  auto club = read_scenario("[club]\nmembers = [\"USA\", \"JPNN\", \"EU72\"]\n", "c.toml",
                            default_data(), Purpose::kClear);
  ASSERT_FALSE(club.is_ok());
  EXPECT_TRUE(has_problem(club.status(), "c.toml:2:members: 'JPNN' (did you mean JPN?) is neither"))
      << club.status().to_string();
  EXPECT_TRUE(has_problem(club.status(), "'EU72' (did you mean EU27?)"))
      << club.status().to_string();
  // A name far from every code gets no guess.
  auto far = read_scenario("[club]\nmembers = [\"Atlantis\"]\n", "c.toml", default_data(),
                           Purpose::kClear);
  ASSERT_FALSE(far.is_ok());
  EXPECT_TRUE(has_problem(far.status(), "'Atlantis' is neither")) << far.status().to_string();
}

// Issue 20, item 6: a simulation projects forward from a data year, at most
// kProjectionHorizonYears; years before the base year or past the horizon are errors at the years
// key, and a base year outside the data at base_year.
TEST(ScenarioReader, YearsOutsideTheDataAndItsProjectionHorizonAreErrors) {
  const auto read = [](const std::string& scenario_table) {
    return read_scenario("[scenario]\n" + scenario_table + "seed = 1\nmaterials = [\"gallium\"]\n",
                         "y.toml", default_data(), Purpose::kSimulate);
  };
  const auto past = read("years = [1990, 2000]\n");
  ASSERT_FALSE(past.is_ok());
  EXPECT_TRUE(has_problem(past.status(),
                          "y.toml:2:years: 1990-2000 starts before the base year 2023 the markets "
                          "are calibrated on"))
      << past.status().to_string();
  EXPECT_TRUE(has_problem(past.status(), "simulate years in [2023, 2063]"))
      << past.status().to_string();
  const auto far = read("years = [2025, 2064]\n");
  ASSERT_FALSE(far.is_ok());
  EXPECT_TRUE(has_problem(far.status(),
                          "y.toml:2:years: 2025-2064 ends past the projection "
                          "horizon, 40 years from the base year 2023"))
      << far.status().to_string();
  const auto base = read("years = [2025, 2030]\nbase_year = 2050\n");
  ASSERT_FALSE(base.is_ok());
  EXPECT_TRUE(
      has_problem(base.status(), "y.toml:3:base_year: 2050 is not a year of the data (1990-"))
      << base.status().to_string();
  EXPECT_TRUE(has_problem(base.status(),
                          "leave base_year out for the latest with production "
                          "data (2023)"))
      << base.status().to_string();
  // The edges are in: the base year itself and the last year of the horizon.
  EXPECT_TRUE(read("years = [2023, 2063]\n").is_ok());
  EXPECT_EQ(kProjectionHorizonYears, 40);
  // An earlier base year (a back-test's) moves the window with it.
  EXPECT_TRUE(read("years = [2014, 2014]\nbase_year = 2013\n").is_ok());
}

TEST(ScenarioReader, ASimulationTableInAClearingScenarioSaysWhichCommandReadsIt) {
  const std::string text = "[[disruption]]\norigin = \"CHN\"\n[[projects]]\nname = \"x\"\n";
  auto clear = read_scenario(text, "c.toml", default_data(), Purpose::kClear);
  ASSERT_FALSE(clear.is_ok());
  EXPECT_TRUE(has_problem(clear.status(),
                          "c.toml:1:disruption: [[disruption]] is read by critmin "
                          "simulate"));
  EXPECT_TRUE(has_problem(clear.status(),
                          "c.toml:3:projects: 'projects' is not a scenario table; "
                          "critmin clear takes [scenario], [club]"));
  auto simulate = read_scenario(text, "s.toml", default_data(), Purpose::kSimulate);
  ASSERT_FALSE(simulate.is_ok());
  EXPECT_TRUE(
      has_problem(simulate.status(),
                  "s.toml:3:projects: 'projects' is not a scenario table; a simulation "
                  "takes [scenario], [club], [[instrument]], [[tariff]], "
                  "[[export_restriction]], [demand_growth], [[disruption]], [[demand_shock]], "
                  "[[project]], [[strategic_supplier]], [uncertainty] and [[appraisal]]"))
      << simulate.status().to_string();
}

// What the file says arrives typed and in critmin's units: prices in USD/t whatever the unit.
TEST(ScenarioReader, InstrumentTablesBecomeTypedSpecsInUsdPerTonne) {
  const std::string text = R"([club]
members = ["USA", "EU27"]
[[instrument]]
type = "price_floor"
material = "Gallium"
stage = "processing"
price = 600
unit = "USD/kg"
enforcement = "top_up"
budget_usd = 2e7
[[instrument]]
type = "stockpile"
material = "gallium"
holder = "EU27"
days_of_cover = 60
release = "price"
release_price = 900
refill_price = 500
refill_rate_t_per_year = 20
holding_cost_usd_per_t_year = 2000
unit = "USD/kg"
)";
  auto clearing = read_clearing_scenario(text, "i.toml", default_data(), 2023);
  ASSERT_TRUE(clearing.is_ok()) << clearing.status().to_string();
  const auto& instruments = clearing.value().instruments;
  ASSERT_EQ(instruments.size(), 2u);
  EXPECT_EQ(instruments[0].type(), "price_floor");
  EXPECT_EQ(instruments[0].material, "gallium");
  EXPECT_EQ(instruments[0].line, 3);
  const auto& floor = std::get<policy::PriceFloorSpec>(instruments[0].terms);
  EXPECT_EQ(floor.floor_usd_per_t, 600000.0);
  EXPECT_FALSE(floor.levy);
  EXPECT_EQ(floor.budget_usd, 2e7);
  const auto& stock = std::get<policy::StockpileSpec>(instruments[1].terms);
  EXPECT_EQ(stock.holder, "EU27");
  EXPECT_FALSE(stock.release_on_shortfall);
  EXPECT_EQ(stock.release_price_usd_per_t, 900000.0);
  EXPECT_EQ(stock.refill_price_usd_per_t, 500000.0);
  EXPECT_EQ(stock.refill_rate_t_per_year, 20.0);
  EXPECT_EQ(stock.holding_cost_usd_per_t_year, 2000.0);  // always USD/t/yr
  EXPECT_EQ(stock.initial_fill, 1.0);                    // the schema's default
  EXPECT_TRUE(clearing.value().club.member_countries.contains("DEU"));
  EXPECT_TRUE(clearing.value().club.member_countries.contains("USA"));
}

// A contract out of force is an error for one clearing, at its table, and skipped with a note
// by a simulation, which reads it without a year.
TEST(ScenarioReader, AContractOutOfForceIsAnErrorOnlyForTheClearingYear) {
  const std::string text = R"([club]
members = ["USA", "AUS"]
[[instrument]]
type = "offtake"
material = "gallium"
stage = "processing"
seller = "AUS"
buyer = "USA"
volume_t_per_year = 5
price_kind = "fixed"
price = 400000
start_year = 2030
tenor_years = 5
)";
  auto in_2023 = read_clearing_scenario(text, "o.toml", default_data(), 2023);
  ASSERT_FALSE(in_2023.is_ok());
  EXPECT_TRUE(has_problem(in_2023.status(),
                          "o.toml:3:tenor_years: the contract runs 2030-2034 "
                          "and is not in force in 2023"))
      << in_2023.status().to_string();
  EXPECT_TRUE(read_clearing_scenario(text, "o.toml", default_data(), 2031).is_ok());
  EXPECT_TRUE(read_clearing_scenario(text, "o.toml", default_data(), 0).is_ok());
}

// A reader that asks for a key the schema does not have gets critmin's own error, never a silent
// default: this keeps the readers and the table in step.
TEST(ScenarioReader, AKeyMissingFromTheSchemaIsReportedAsCritminsOwnError) {
  auto parsed = parse_toml("[club]\nmembers = [\"USA\"]\nsize = 3\n", "k.toml");
  ASSERT_TRUE(parsed.is_ok());
  std::vector<Diagnostic> problems;
  TomlFields fields("k.toml", problems);
  TableReader in(fields, *parsed.value()["club"].as_table(), "club", "club");
  EXPECT_EQ(in.number("size"), std::nullopt);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].to_string().find("internal: the key 'size' of [club] is not in critmin's "
                                         "scenario schema"),
            std::string::npos)
      << problems[0].to_string();
}

TEST(ScenarioReference, TheCommittedReferenceIsTheGeneratedOne) {
  const std::string committed = critmin::test::read_file(
      std::filesystem::path(CRITMIN_TEST_SOURCE_ROOT) / "docs/scenario-reference.md");
  EXPECT_EQ(committed, scenario_reference_markdown())
      << "docs/scenario-reference.md is stale: run `critmin scenario reference > "
         "docs/scenario-reference.md`";
}

TEST(ScenarioReference, ListsEverySectionAndKeyOfTheSchema) {
  const std::string markdown = scenario_reference_markdown();
  for (const ScenarioKey& key : scenario_keys()) {
    EXPECT_NE(markdown.find("| `" + key.key + "` |"), std::string::npos) << key.key;
  }
  for (const char* heading :
       {"## [scenario]", "## [club]", "## [[disruption]]", "## [[instrument]] type = \"stockpile\"",
        "## [supply_risk.MATERIAL]"}) {
    EXPECT_NE(markdown.find(heading), std::string::npos) << heading;
  }
  const std::string json = scenario_reference_json();
  EXPECT_NE(json.find("\"section\":\"instrument.subsidy\""), std::string::npos);
}

}  // namespace
}  // namespace critmin::scenario
