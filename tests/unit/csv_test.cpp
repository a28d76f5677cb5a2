#include <gtest/gtest.h>

#include "core/csv.h"

namespace critmin {
namespace {

TEST(CsvReader, ParsesQuotedFieldsWithCommasQuotesAndLineBreaks) {
  const auto table =
      parse_csv("a,b,c\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",z\n", "t.csv");
  ASSERT_TRUE(table.is_ok()) << table.status().to_string();
  ASSERT_EQ(table.value().records.size(), 2u);
  EXPECT_EQ(table.value().records[0].fields[1], "x, y");
  EXPECT_EQ(table.value().records[0].fields[2], "say \"hi\"");
  EXPECT_EQ(table.value().records[1].fields[1], "two\nlines");
  EXPECT_EQ(table.value().records[1].line, 3);
}

TEST(CsvReader, KeepsPhysicalLineNumbersAfterAMultiLineField) {
  const auto table = parse_csv("a,b\n\"1\n2\",x\n3,y\n", "t.csv");
  ASSERT_TRUE(table.is_ok());
  EXPECT_EQ(table.value().records[1].line, 4);
}

TEST(CsvReader, AcceptsCrlfBomAndMissingFinalNewline) {
  const auto table = parse_csv(
      "\xEF\xBB\xBF"
      "a,b\r\n1,2\r\n3,4",
      "t.csv");
  ASSERT_TRUE(table.is_ok());
  EXPECT_EQ(table.value().header[0], "a");
  ASSERT_EQ(table.value().records.size(), 2u);
  EXPECT_EQ(table.value().records[1].fields[1], "4");
}

TEST(CsvReader, ReportsFieldCountMismatchWithFileAndLine) {
  const auto table = parse_csv("a,b\n1,2\n3\n", "t.csv");
  ASSERT_FALSE(table.is_ok());
  ASSERT_EQ(table.status().diagnostics().size(), 1u);
  EXPECT_EQ(table.status().diagnostics()[0].to_string(),
            "t.csv:3: 1 fields where the header has 2; quote fields that contain commas");
}

TEST(CsvReader, ReportsUnterminatedQuoteAtTheLineWhereItOpens) {
  const auto table = parse_csv("a,b\n1,\"open\n2,3\n", "t.csv");
  ASSERT_FALSE(table.is_ok());
  EXPECT_EQ(table.status().diagnostics()[0].to_string(),
            "t.csv:2: unterminated quoted field; close it with a double quote (\")");
}

TEST(CsvReader, RejectsDuplicatedAndEmptyHeaderNames) {
  const auto table = parse_csv("a,a,\n1,2,3\n", "t.csv");
  ASSERT_FALSE(table.is_ok());
  ASSERT_EQ(table.status().diagnostics().size(), 2u);
  EXPECT_EQ(table.status().diagnostics()[0].to_string(), "t.csv:1:a: duplicated column name");
  EXPECT_EQ(table.status().diagnostics()[1].to_string(), "t.csv:1:column 3: empty column name");
}

TEST(CsvWriter, QuotesOnlyWhenNeededAndRoundTrips) {
  std::string out;
  append_csv_record(out, {"plain", "with,comma", "with \"quote\"", "two\nlines"});
  EXPECT_EQ(out, "plain,\"with,comma\",\"with \"\"quote\"\"\",\"two\nlines\"\n");
  const auto table = parse_csv("h1,h2,h3,h4\n" + out, "t.csv");
  ASSERT_TRUE(table.is_ok());
  EXPECT_EQ(table.value().records[0].fields[3], "two\nlines");
}

// Found by fuzz_csv: a header whose only field is a byte order mark came back as an empty name,
// because written unquoted at the start of the text it read as the file's own mark.
TEST(CsvWriter, QuotesAFieldStartingWithAByteOrderMarkSoItSurvivesARoundTrip) {
  const std::string bom = "\xEF\xBB\xBF";
  std::string out;
  append_csv_record(out, {bom, "x"});
  EXPECT_EQ(out, "\"" + bom + "\",x\n");
  const auto table = parse_csv(out + "1,2\n", "t.csv");
  ASSERT_TRUE(table.is_ok()) << table.status().to_string();
  EXPECT_EQ(table.value().header[0], bom);
}

}  // namespace
}  // namespace critmin
