// read_assumptions(): TOML overrides of the supply-risk inputs, their effect through assess(), and
// every error reported as file:line:key. Uses the fixture tests/fixtures/assess_small (see
// assess_test.cpp for its numbers: lithium extraction has HHI_WGI 1.2075, no EU sourcing data and
// the default inputs EOL-RIR 0 / SI 1, so SR = 1.2075).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "critmin/metrics/assess.h"
#include "critmin/world/dataset.h"

namespace critmin {
namespace {

constexpr double kEps = 1e-9;

const Result<Dataset>& small_dataset() {
  static const Result<Dataset> data =
      load_dataset(std::filesystem::path(CRITMIN_TEST_FIXTURES) / "assess_small");
  return data;
}

#define ASSERT_OK(result) ASSERT_TRUE((result).is_ok()) << (result).status().to_string()

// Reads `toml` as file "a.toml" and returns the failed Status (the test fails if it succeeds).
Status read_error(const std::string& toml) {
  const auto result = read_assumptions(toml, "a.toml", small_dataset().value());
  EXPECT_FALSE(result.is_ok()) << "accepted:\n" << toml;
  return result.status();
}

TEST(Assumptions, ReadsOverridesPerMaterialByIdOrName) {
  ASSERT_OK(small_dataset());
  const std::string toml =
      "# comment\n"
      "[supply_risk.lithium]\n"
      "eol_rir = 0.2\n"
      "substitution_index = 0.5\n"
      "basis = \"recycling study\"\n"
      "\n"
      "[supply_risk.Gallium]\n"
      "substitution_index = 1\n";
  const auto overrides = read_assumptions(toml, "a.toml", small_dataset().value());
  ASSERT_OK(overrides);
  ASSERT_EQ(overrides.value().size(), 2u);
  const SupplyRiskOverride& li = overrides.value().at("lithium");
  ASSERT_TRUE(li.eol_rir.has_value());
  EXPECT_DOUBLE_EQ(*li.eol_rir, 0.2);
  ASSERT_TRUE(li.substitution_index.has_value());
  EXPECT_DOUBLE_EQ(*li.substitution_index, 0.5);
  EXPECT_EQ(li.basis, "recycling study");
  // "Gallium" is the display name; the override is keyed by the id. An integer 1 is a number.
  const SupplyRiskOverride& ga = overrides.value().at("gallium");
  EXPECT_FALSE(ga.eol_rir.has_value());
  ASSERT_TRUE(ga.substitution_index.has_value());
  EXPECT_DOUBLE_EQ(*ga.substitution_index, 1.0);
}

TEST(Assumptions, AnEmptyFileOverridesNothing) {
  ASSERT_OK(small_dataset());
  const auto overrides = read_assumptions("", "a.toml", small_dataset().value());
  ASSERT_OK(overrides);
  EXPECT_TRUE(overrides.value().empty());
}

TEST(Assumptions, ChangeTheSupplyRiskThroughAssess) {
  ASSERT_OK(small_dataset());
  const auto overrides =
      read_assumptions("[supply_risk.lithium]\neol_rir = 0.2\nsubstitution_index = 0.5\n", "a.toml",
                       small_dataset().value());
  ASSERT_OK(overrides);
  AssessOptions before;
  before.materials = {"lithium"};
  AssessOptions after = before;
  after.overrides = overrides.value();
  const auto base = assess(small_dataset().value(), before);
  const auto changed = assess(small_dataset().value(), after);
  ASSERT_OK(base);
  ASSERT_OK(changed);
  ASSERT_EQ(base.value().size(), 1u);
  ASSERT_EQ(changed.value().size(), 1u);
  // before: 1.2075 * (1 - 0) * 1 = 1.2075, three estimated inputs
  EXPECT_NEAR(base.value()[0].supply_risk, 1.2075, kEps);
  EXPECT_EQ(base.value()[0].estimated_inputs,
            (std::vector<std::string>{"import_reliance", "eol_rir", "substitution_index"}));
  // after: 1.2075 * (1 - 0.2) * 0.5 = 0.483; only import reliance is still an estimate
  EXPECT_NEAR(changed.value()[0].supply_risk, 0.483, kEps);
  EXPECT_EQ(changed.value()[0].estimated_inputs, (std::vector<std::string>{"import_reliance"}));
}

TEST(AssumptionsErrors, RejectAnUnknownTopLevelTable) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.lithium]\neol_rir = 0.1\n\n[recycling]\nrate = 0.3\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(s.to_string(),
            "a.toml: invalid assumptions\n"
            "a.toml:4:recycling: unknown table; the only table is [supply_risk.MATERIAL]");
}

TEST(AssumptionsErrors, RejectAnUnknownMaterial) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.unobtainium]\neol_rir = 0.1\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  ASSERT_EQ(s.diagnostics().size(), 1u);
  EXPECT_EQ(s.diagnostics()[0].to_string(),
            "a.toml:1:supply_risk.unobtainium: unknown material 'unobtainium'; use an id such as "
            "gallium");
}

TEST(AssumptionsErrors, RejectAnUnknownKey) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.gallium]\neol_rir = 0.1\nrecycling_rate = 0.2\n");
  EXPECT_EQ(s.to_string(),
            "a.toml: invalid assumptions\n"
            "a.toml:3:supply_risk.gallium.recycling_rate: unknown key; use eol_rir, "
            "substitution_index or basis");
}

TEST(AssumptionsErrors, RejectAStringWhereANumberIsExpected) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.gallium]\neol_rir = \"0.2\"\n");
  ASSERT_EQ(s.diagnostics().size(), 1u);
  EXPECT_EQ(s.diagnostics()[0].to_string(),
            "a.toml:2:supply_risk.gallium.eol_rir: expected a number in [0,1]");
}

TEST(AssumptionsErrors, RejectABooleanWhereANumberIsExpected) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.gallium]\nsubstitution_index = true\n");
  ASSERT_EQ(s.diagnostics().size(), 1u);
  EXPECT_EQ(s.diagnostics()[0].to_string(),
            "a.toml:2:supply_risk.gallium.substitution_index: expected a number in [0,1]");
}

TEST(AssumptionsErrors, RejectANumberWhereTheBasisStringIsExpected) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.gallium]\nbasis = 3\n");
  ASSERT_EQ(s.diagnostics().size(), 1u);
  EXPECT_EQ(s.diagnostics()[0].to_string(),
            "a.toml:2:supply_risk.gallium.basis: expected a string");
}

TEST(AssumptionsErrors, RejectAValueAboveOne) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.gallium]\neol_rir = 0.1\nsubstitution_index = 1.5\n");
  EXPECT_EQ(s.to_string(),
            "a.toml: invalid assumptions\n"
            "a.toml:3:supply_risk.gallium.substitution_index: 1.5 is outside [0,1]; write a "
            "fraction such as 0.3");
}

TEST(AssumptionsErrors, RejectANegativeValue) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.gallium]\neol_rir = -0.25\n");
  ASSERT_EQ(s.diagnostics().size(), 1u);
  EXPECT_EQ(s.diagnostics()[0].to_string(),
            "a.toml:2:supply_risk.gallium.eol_rir: -0.25 is outside [0,1]; write a fraction "
            "such as 0.3");
}

TEST(AssumptionsErrors, RejectNotANumber) {
  // TOML allows `nan`; it is not a fraction in [0,1] and would turn the supply risk into NaN.
  ASSERT_OK(small_dataset());
  const auto result =
      read_assumptions("[supply_risk.gallium]\neol_rir = nan\n", "a.toml", small_dataset().value());
  ASSERT_FALSE(result.is_ok()) << "eol_rir = nan was accepted";
  ASSERT_EQ(result.status().diagnostics().size(), 1u);
  EXPECT_EQ(result.status().diagnostics()[0].line, 2);
  EXPECT_EQ(result.status().diagnostics()[0].field, "supply_risk.gallium.eol_rir");
}

TEST(AssumptionsErrors, RejectInfinity) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.gallium]\neol_rir = inf\n");
  ASSERT_EQ(s.diagnostics().size(), 1u);
  EXPECT_EQ(s.diagnostics()[0].line, 2);
  EXPECT_EQ(s.diagnostics()[0].field, "supply_risk.gallium.eol_rir");
}

TEST(AssumptionsErrors, RejectAMaterialThatIsNotATable) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk]\ngallium = 0.5\n");
  ASSERT_EQ(s.diagnostics().size(), 1u);
  EXPECT_EQ(s.diagnostics()[0].to_string(),
            "a.toml:2:supply_risk.gallium: expected a table with eol_rir, substitution_index and "
            "basis");
}

TEST(AssumptionsErrors, ReportEveryProblemNotJustTheFirst) {
  ASSERT_OK(small_dataset());
  const Status s = read_error(
      "[supply_risk.gallium]\n"
      "eol_rir = 2\n"
      "colour = \"red\"\n"
      "[supply_risk.lithium]\n"
      "substitution_index = \"high\"\n");
  // tables iterate in key order, so gallium's problems (colour < eol_rir) come first
  EXPECT_EQ(s.to_string(),
            "a.toml: invalid assumptions\n"
            "a.toml:3:supply_risk.gallium.colour: unknown key; use eol_rir, substitution_index or "
            "basis\n"
            "a.toml:2:supply_risk.gallium.eol_rir: 2 is outside [0,1]; write a fraction such as "
            "0.3\n"
            "a.toml:5:supply_risk.lithium.substitution_index: expected a number in [0,1]");
}

TEST(AssumptionsErrors, RejectAMaterialGivenTwiceAtTheSecondOnesLine) {
  ASSERT_OK(small_dataset());
  // toml++ iterates keys in sorted order ("Gallium" before "gallium"); the error must still be at
  // the table that comes second in the file.
  EXPECT_EQ(read_error("[supply_risk.gallium]\n"
                       "eol_rir = 0.1\n"
                       "[supply_risk.Gallium]\n"
                       "eol_rir = 0.2\n")
                .to_string(),
            "a.toml: invalid assumptions\n"
            "a.toml:3:supply_risk.Gallium: gallium is given twice: [supply_risk.gallium] on line 1 "
            "is the same material; merge the two tables into one");
  EXPECT_EQ(read_error("[supply_risk.Gallium]\n"
                       "eol_rir = 0.1\n"
                       "\n"
                       "[supply_risk.gallium]\n"
                       "eol_rir = 0.2\n")
                .to_string(),
            "a.toml: invalid assumptions\n"
            "a.toml:4:supply_risk.gallium: gallium is given twice: [supply_risk.Gallium] on line 1 "
            "is the same material; merge the two tables into one");
}

TEST(AssumptionsErrors, ReportATomlSyntaxErrorAtItsLine) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("[supply_risk.gallium]\neol_rir = 0.1\nsubstitution_index = = 3\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidInput);
  EXPECT_EQ(s.message(), "a.toml: not valid TOML");
  ASSERT_EQ(s.diagnostics().size(), 1u);
  const Diagnostic& d = s.diagnostics()[0];
  EXPECT_EQ(d.file, "a.toml");
  EXPECT_EQ(d.line, 3);
  EXPECT_EQ(d.field.rfind("column ", 0), 0u) << d.field;
  EXPECT_FALSE(d.message.empty());
  EXPECT_EQ(d.to_string().rfind("a.toml:3:column ", 0), 0u) << d.to_string();
}

TEST(AssumptionsErrors, ReportAnUnclosedTableHeaderAtItsLine) {
  ASSERT_OK(small_dataset());
  const Status s = read_error("\n\n[supply_risk.gallium\neol_rir = 0.1\n");
  ASSERT_EQ(s.diagnostics().size(), 1u);
  EXPECT_EQ(s.diagnostics()[0].line, 3);
  EXPECT_EQ(s.message(), "a.toml: not valid TOML");
}

}  // namespace
}  // namespace critmin
