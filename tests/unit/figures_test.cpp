// The output-attribute table (critmin/core/figures.h) and numbers for people.
#include "critmin/core/figures.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "core/suggest.h"
#include "test_support.h"

namespace critmin {
namespace {

TEST(FigureTable, IsWellFormedWithEveryGroupPresent) {
  ASSERT_TRUE(figure_table_status().is_ok()) << figure_table_status().to_string();
  std::set<std::string> groups;
  for (const FigureAttributes& row : figure_table()) {
    groups.insert(std::string(figure_group_name(row.group)));
    EXPECT_FALSE(row.label.empty()) << row.name;
    EXPECT_FALSE(row.description.empty()) << row.name;
    // A label is for people: no field names with underscores.
    EXPECT_EQ(row.label.find('_'), std::string::npos) << row.name << ": " << row.label;
  }
  EXPECT_EQ(groups,
            (std::set<std::string>{"scorecard", "summary", "headline", "path", "instrument"}));
}

TEST(FigureTable, SaysWhichWayIsBetter) {
  EXPECT_EQ(find_figure(FigureGroup::kScorecard, "top_share_last").value()->better, Better::kDown);
  EXPECT_EQ(find_figure(FigureGroup::kScorecard, "days_of_cover").value()->better, Better::kUp);
  EXPECT_EQ(find_figure(FigureGroup::kScorecard, "levy_revenue").value()->better, Better::kNeutral);
}

TEST(FigureTable, AnUnknownNameIsAnErrorWithTheNearestNames) {
  const Result<const FigureAttributes*> figure = find_figure(FigureGroup::kInstrument, "stok_end");
  ASSERT_FALSE(figure.is_ok());
  EXPECT_EQ(figure.status().code(), StatusCode::kNotFound);
  EXPECT_NE(figure.status().message().find("(did you mean stock_end?)"), std::string::npos)
      << figure.status().message();
  EXPECT_NE(figure.status().message().find("data/outputs/figures.csv"), std::string::npos);
  // A name of another group is not found in this one.
  EXPECT_FALSE(find_figure(FigureGroup::kHeadline, "stock_end").is_ok());
}

TEST(FigureTable, NamesEmittedKeysByTheirFigure) {
  EXPECT_EQ(figure_name_of(FigureGroup::kScorecard, "gallium/processing/top_share_last"),
            "top_share_last");
  EXPECT_EQ(figure_name_of(FigureGroup::kScorecard, "sector/C20"), "sector");
  EXPECT_EQ(figure_name_of(FigureGroup::kHeadline, "gallium.world_price_mean"), "world_price_mean");
  EXPECT_EQ(figure_name_of(FigureGroup::kInstrument, "premium[NLD]"), "premium");
  EXPECT_EQ(figure_label_of(FigureGroup::kHeadline, "gallium.eu_shortfall_t_total"),
            "gallium: EU shortfall summed over the years");
  EXPECT_EQ(figure_label_of(FigureGroup::kInstrument, "premium[NLD]"), "certified premium (NLD)");
}

TEST(FormatFigure, NeverWritesScientificNotation) {
  EXPECT_EQ(format_figure(-7.81316e+06, "USD"), "-7.81 M USD");
  EXPECT_EQ(format_figure(1.35084e9, "USD"), "1.35 bn USD");
  EXPECT_EQ(format_figure(12345.0, "USD/yr"), "12.3 k USD/yr");
  EXPECT_EQ(format_figure(512.4, "USD"), "512 USD");
  EXPECT_EQ(format_figure(-5.607e-08, "t"), "0 t");
  EXPECT_EQ(format_figure(1.32164e-07, "t"), "0 t");
  EXPECT_EQ(format_figure(1234567.8, "t"), "1,234,568 t");
  EXPECT_EQ(format_figure(76.34, "t"), "76.3 t");
  EXPECT_EQ(format_figure(0.012345, "t"), "0.0123 t");
  EXPECT_EQ(format_figure(0.625, "0-1"), "62.5%");
  EXPECT_EQ(format_figure(62.36, "%"), "62.4%");
  EXPECT_EQ(format_figure(5.25, "% of demand"), "5.25% of demand");
  EXPECT_EQ(format_figure(3.25e-5, "%"), "0.0000325%");
  EXPECT_EQ(format_figure(1.0817, "USD/EUR"), "1.08 USD/EUR");
  EXPECT_EQ(format_figure(2023.0, ""), "2023");  // years and counts stay plain
  EXPECT_EQ(format_figure(0.0, "USD"), "0 USD");
  for (double value : {1e-9, 3.3e-5, 0.5, 7.0, 1e5, 2.5e11, -4.4e-3}) {
    for (const char* unit : {"USD", "t", "%", "0-1", ""}) {
      const std::string shown = format_figure(value, unit);
      EXPECT_EQ(shown.find("e+"), std::string::npos) << value << " " << unit << ": " << shown;
      EXPECT_EQ(shown.find("e-"), std::string::npos) << value << " " << unit << ": " << shown;
    }
  }
}

TEST(FigureTable, DocsFiguresIsTheGeneratedMarkdown) {
  const std::string docs =
      test::read_file(std::filesystem::path(CRITMIN_TEST_DATA) / ".." / "docs" / "figures.md");
  EXPECT_EQ(docs, figures_markdown()) << "regenerate with: critmin data figures > docs/figures.md";
}

TEST(DidYouMean, SuggestsNearNamesOnly) {
  const std::vector<std::string> materials = {"gallium", "germanium", "graphite", "lithium"};
  EXPECT_EQ(did_you_mean("galium", materials), " (did you mean gallium?)");
  EXPECT_EQ(did_you_mean("GALLIUM", materials), " (did you mean gallium?)");
  EXPECT_EQ(did_you_mean("copper", materials), "");
}

}  // namespace
}  // namespace critmin
