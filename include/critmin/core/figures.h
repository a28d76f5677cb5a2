// Output attributes as data: the unit, the direction that is better, the human label and a
// description of every figure critmin emits — the scorecard lines, the fields of a simulation's
// summary.json, the headline figures and yearly paths of an ensemble and the figures the club's
// instruments report. The table is data/outputs/figures.csv, compiled into the binary (as
// data/schema is), and every writer reads it: the CLI tables, the HTML report, the XLSX workbook,
// compare's verdicts and the tests, so labels, units and directions cannot drift apart.
// docs/figures.md is the table in prose (`critmin data figures`).
//
// A name the table does not hold is an error (kNotFound, with the nearest names), never a
// silent 0 or a unit guessed from the name. A test runs the example scenarios and fails when a
// figure the code emits is missing from the table or carries another unit there.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"

namespace critmin {

// Which way a figure is better for the club and Dutch users: compare's "better"/"worse".
enum class Better { kUp, kDown, kNeutral };

// Where a figure comes from; names are unique within a group.
//   scorecard   a scorecard line (critmin/scorecard.h) by the last part of its key
//               ("gallium/processing/top_share_last" -> top_share_last; "sector/C20" -> sector)
//   summary     a field of summary.json, a scalar or a table column (critmin/simulation.h)
//   headline    a headline figure by the part after the material ("gallium.world_price_mean" ->
//               world_price_mean; critmin/headline.h)
//   path        a yearly path likewise ("gallium.world_price" -> world_price)
//   instrument  an instrument's figure (critmin/club.h), per-region figures without the
//               "[REGION]" suffix ("premium[NLD]" -> premium)
enum class FigureGroup { kScorecard, kSummary, kHeadline, kPath, kInstrument };

struct FigureAttributes {
  FigureGroup group = FigureGroup::kSummary;
  std::string name;
  std::string unit;  // "USD", "USD/t", "t", "t/yr", "%", "0-1", "share", "days", ...; "" for text
  Better better = Better::kNeutral;
  std::string label;        // lower case where it continues a subject ("world price, mean")
  std::string description;  // one or two sentences: what it is and how it is derived
};

// Every row of data/outputs/figures.csv in file order. The embedded table is checked when the
// program starts using it; a malformed row is a build defect the unit tests catch.
const std::vector<FigureAttributes>& figure_table();
// Ok, or kInvalidInput with file:line:field for every malformed row of the embedded table.
Status figure_table_status();

// The attributes of a figure. kNotFound naming the group, the name, the nearest names in the
// group and the table file to extend.
Result<const FigureAttributes*> find_figure(FigureGroup group, std::string_view name);

// The name of a figure within its group from the key or name the code emits (see FigureGroup).
std::string figure_name_of(FigureGroup group, std::string_view key);

// The table as Markdown, one section per group: docs/figures.md is this text
// (`critmin data figures > docs/figures.md`; a test keeps the two equal).
std::string figures_markdown();

std::string_view figure_group_name(FigureGroup group);  // "scorecard", "summary", ...
std::string_view better_name(Better better);            // "up", "down", "neutral"

// The label of an emitted key for people: "gallium.world_price_mean" -> "gallium: world price,
// mean", "premium[NLD]" -> "certified premium (NLD)"; the key itself when the table lacks it
// (the table test keeps that from happening for what the code emits).
std::string figure_label_of(FigureGroup group, std::string_view key);

// The unit a number is shown in by format_amount: "%" for shares ("0-1", "share"), else the unit.
std::string_view shown_unit(std::string_view unit);

// A number for people in its unit, never in scientific notation: a magnitude below 5e-7 reads
// 0; money ("USD", "EUR", "USD/yr") in k, M and bn with its currency ("-7.81 M USD"); shares
// ("0-1", "share") as percentages; "%" values as they are with a % sign; other magnitudes of 1000
// and more with thousands separators and no decimals ("1,234,568 t"); smaller ones with three
// significant digits ("76.3 t", "0.0123 t"); whole numbers without a unit (years, counts) as they
// are ("2023").
std::string format_figure(double value, std::string_view unit);

// The same number without its unit ("1,234,568", "7.81 M", "0.0123").
std::string format_amount(double value, std::string_view unit);

}  // namespace critmin
