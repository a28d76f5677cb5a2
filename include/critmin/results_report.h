// Reports on simulation results (`critmin report`, `critmin simulate --html/--xlsx`, the
// dashboard): a self-contained HTML page with charts, and an XLSX workbook with one sheet per
// table. docs/report.md describes what a report shows and how each figure is derived.
//
// Both read a results directory's summary.json (docs/simulation.md), not the C++ result, so that a
// report can be written again later from the files and so that figures added to summary.json
// (new scorecard fields) appear in reports without changes here: scalar figures and tables the
// report does not know are shown generically, with the unit its key names (`_usd`, `_t`,
// `_share`, ...).
//
// Units: prices [USD/t of contained content], quantities [t/yr], money [USD], shares shown as %.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "critmin/dataset.h"
#include "critmin/status.h"

namespace critmin::report {

// Reads DIR/summary.json. kNotFound when the directory or the file is missing (naming what to
// run), kInvalidInput when it is not a simulation summary (naming the missing field).
Result<std::string> read_results_summary(const std::filesystem::path& results_dir);

// The report model: a JSON object that the report's script (web/report.js) draws and the
// dashboard serves. It holds `title`, `scorecards` (each figure with `label`, `value`, `unit` and
// `text`, a sentence in plain words), `materials` (per material: `years`, `price` lines per
// region with P5-P95 `band`s when the series carry `price_p5`/`price_p95`, `production` stacks per
// stage, `concentration` of the largest third country per stage against `limit` (65%),
// `shortfall` per area, the disruptions), `assess` (the supply-concentration picture of the
// materials from `critmin assess`, on the club bloc), `tables` (summary tables the report does not
// draw), `assumptions` (the estimates of data/estimates/market_parameters.csv the materials use),
// `sources` (data/SOURCES.md) and `notes`. kInvalidInput when the summary is malformed.
Result<std::string> build_report_model(std::string_view summary_json, const Dataset& data);

// A complete HTML page for a report model: the chart library, web/report.js, web/report.css and
// the model are inlined, so the file opens offline.
std::string report_model_to_html(std::string_view model_json);

// A summary as an XLSX workbook: sheet "scorecard" (every scalar figure, with its unit), then one
// sheet per table of the summary (series, stage scores, shortfalls, fiscal, disruptions,
// projects, and any table added later), units in the headers ("price [USD/t]"), and "notes".
// kInvalidInput for a malformed summary, kIoError when the file cannot be written.
Status summary_to_xlsx(std::string_view summary_json, const std::filesystem::path& file);

// One table of a summary as CSV, units in the headers as in the XLSX workbook. `table` names an
// array of objects of the summary at any depth by its key: series, stages, shortfall, fiscal,
// disruptions, projects. kNotFound (listing the tables) for another name.
Result<std::string> summary_table_to_csv(std::string_view summary_json, std::string_view table);

// The unit of a summary field from its name: "price" -> "USD/t", "production" -> "t/yr",
// "fiscal_cost_usd" -> "USD", "shortfall_share" -> "0-1", "hhi" -> "0-10000"; empty when the name
// states none.
std::string unit_of_field(std::string_view field);

}  // namespace critmin::report
