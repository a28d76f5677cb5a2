// Reports on simulation results (`critmin report`, `critmin simulate --html/--xlsx`, the
// dashboard): a self-contained HTML page with charts, and an XLSX workbook with one sheet per
// table. docs/report.md describes what a report shows and how each figure is derived.
//
// Both read a results directory's summary.json (docs/simulation.md), not the C++ result, so that a
// report can be written again later from the files. Every field of a summary has its label and
// unit in the output table (critmin/core/figures.h): scalar figures and tables the report does not
// draw are shown generically under those, and a summary with a field the table lacks is
// rejected (kInvalidInput naming the field) rather than shown with a guessed unit.
//
// Units: prices [USD/t of contained content], quantities [t/yr], money [USD], shares shown as %.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin::report {

// Reads DIR/summary.json. kNotFound when the directory or the file is missing (naming what to
// run), kInvalidInput when it is not a simulation summary (naming the missing field).
Result<std::string> read_results_summary(const std::filesystem::path& results_dir);

// ---- the report model ------------------------------------------------------------------------

// What a results directory holds, by the command that wrote it: `simulate --out DIR`
// (DIR/summary.json with `series`), `compare --out DIR` (DIR/compare.json and each design's
// DIR/<design>/summary.json) or `ensemble --out DIR` (DIR/summary.json with `figures` and
// `runs`, and the per-run figures of DIR/results.sqlite).
enum class ResultsKind { kSimulation, kCompare, kEnsemble };

// A cell of a report table: empty, a whole number (a year, a count), a number, a text or yes/no.
using ReportCell = std::variant<std::monostate, std::int64_t, double, std::string, bool>;

struct ReportColumn {
  std::string key;    // the field's name, as in the summary ("world_price")
  std::string label;  // for people ("world price")
  std::string unit;   // "USD/t", "0-1", ... or "" for text
};

// A table of a report: what the HTML's table section, the XLSX sheets and the CSV downloads
// show. Every row has one cell per column, in column order.
struct ReportTable {
  std::string name;   // the sheet's and the CSV download's name ("scorecards", "paths")
  std::string title;  // a sentence for the HTML's section
  std::vector<ReportColumn> columns;
  std::vector<std::vector<ReportCell>> rows;
};

// The charts' data as web/report.js draws them (scorecard cards, price lines with bands,
// production stacks, histograms, ...); defined inside the report layer.
struct ReportCharts;

// A built report: typed where C++ reads it (kind, title, tables, notes), and the charts' data,
// which only the report's script reads. It stays a value inside the process; to_json() writes it
// for the HTML page and the dashboard's report.json. Built by the build_*_report_model functions.
class ReportModel {
 public:
  ReportModel(ResultsKind kind, std::string title, std::vector<ReportTable> tables,
              std::vector<std::string> notes, std::shared_ptr<const ReportCharts> charts);

  ResultsKind kind() const { return kind_; }
  const std::string& title() const { return title_; }
  const std::vector<ReportTable>& tables() const { return tables_; }
  const std::vector<std::string>& notes() const { return notes_; }
  // The table called `name`; kNotFound, listing the model's tables, for another name.
  Result<const ReportTable*> table(std::string_view name) const;
  // The whole model as one JSON object, the form web/report.js reads: the charts' fields plus
  // `kind`, `title`, `tables` (each row an object keyed by column) and `notes`.
  std::string to_json() const;
  // The charts' data; complete only inside the report layer (src/report/report_model.h).
  const ReportCharts& charts() const { return *charts_; }

 private:
  ResultsKind kind_;
  std::string title_;
  std::vector<ReportTable> tables_;
  std::vector<std::string> notes_;
  std::shared_ptr<const ReportCharts> charts_;  // never null; shared: a model copies cheaply
};

// The report model of a simulation (`kind` "simulation"), as to_json() writes it for the
// report's script (web/report.js) and the dashboard. It holds `title`, `scorecards` (each figure
// with `label`, `value`, `unit` and `text`, a sentence in plain words), `materials` (per material:
// `years`, `price` lines per region with P5-P95 `band`s when the series carry
// `price_p5`/`price_p95`, `production` stacks per stage, `concentration` of the largest third
// country per stage against `limit` (65%), `shortfall` per area, the disruptions), `assess` (the
// supply-concentration picture of the materials from `critmin assess`, on the club bloc), `tables`
// (summary tables the report does not draw), `assumptions` (the estimates of
// data/estimates/market_parameters.csv the materials use), `sources` (data/SOURCES.md) and `notes`.
// kInvalidInput when the summary is malformed.
Result<ReportModel> build_report_model(std::string_view summary_json, const Dataset& data);

// A complete HTML page for a report model: the chart library, web/report.js, web/report.css and
// the model (to_json) are inlined, so the file opens offline.
std::string report_model_to_html(const ReportModel& model);

// A summary as an XLSX workbook: sheet "scorecard" (every scalar figure, with its unit), then one
// sheet per table of the summary (series, stage scores, shortfalls, fiscal, disruptions,
// projects, and any table added later), units in the headers ("price [USD/t]"), and "notes".
// kInvalidInput for a malformed summary, kIoError when the file cannot be written.
Status summary_to_xlsx(std::string_view summary_json, const std::filesystem::path& file);

// One table of a summary as CSV, units in the headers as in the XLSX workbook. `table` names an
// array of objects of the summary at any depth by its key: series, stages, shortfall, fiscal,
// disruptions, projects. kNotFound (listing the tables) for another name.
Result<std::string> summary_table_to_csv(std::string_view summary_json, std::string_view table);

// ---- compare and ensemble results -------------------------------------------------------------

// The files of a results directory (ResultsKind says which command wrote them).
struct ResultsFiles {
  ResultsKind kind = ResultsKind::kSimulation;
  std::string summary_json;                   // summary.json, or compare.json for a compare
  std::vector<std::string> design_summaries;  // compare: each design's summary.json, in order
  std::string distribution_json;  // ensemble: the runs' values (build_ensemble_report_model)
};

// Reads a results directory of any of the three kinds. kNotFound when the directory or a file
// is missing (naming what to run), kInvalidInput when compare.json or summary.json is not what
// the command writes (naming the field).
Result<ResultsFiles> read_results_directory(const std::filesystem::path& results_dir);

// The report model of a compare (`kind` "compare"): `designs` (name, scenario, years, seed),
// `scorecards` (one entry per scorecard line of compare.json: `label`, `unit`, per design
// `values`, `displays`, `texts`, `differences` against the first design, `difference_displays`,
// `verdicts` ("better", "worse", "same" or "" where the line has no better direction) and
// `sentences` in plain words), `summaries` (per card and later design, how many lines are better
// and worse), `design_scorecards` (each design's own scorecards, as build_report_model words
// them), `headline` (chart groups of the headline figures per design, with the P5/P50/P95 bands
// when compare ran with --runs), `materials` (per material the world price, the EU shortfall and
// the largest third country's processing share per design and year), `tables` (scorecards,
// headline, bands, paths: what the XLSX workbook and the CSV downloads hold) and `notes`.
// `design_summaries` are the designs' summary.json texts in compare.json's design order.
// kInvalidInput when compare.json is malformed or the summaries do not match its designs.
Result<ReportModel> build_compare_report_model(std::string_view comparison_json,
                                               const std::vector<std::string>& design_summaries,
                                               const Dataset& data);

// The report model of an ensemble (`kind` "ensemble"): `figures` (each headline figure's band:
// P5, P50, P95, mean, min, max, with a sentence), `price_bands` (per material the P5-P95 bands of
// its world-price figures), `distributions` (per figure a histogram of the runs' values),
// `tables` and `notes`. `distribution_json` holds the runs' values,
// {"figures": [{"name", "unit", "values": [one per run, in run order]}]}, as
// read_results_directory reads them from results.sqlite. kInvalidInput when the summary is not an
// ensemble summary or the distribution does not match it.
Result<ReportModel> build_ensemble_report_model(std::string_view ensemble_summary_json,
                                                std::string_view distribution_json,
                                                const Dataset& data);

// The report model of any results directory (build_report_model, build_compare_report_model or
// build_ensemble_report_model by its kind).
Result<ReportModel> build_results_report_model(const ResultsFiles& files, const Dataset& data);

// The tables of a compare or ensemble report model as an XLSX workbook: one sheet per table of
// the model, units in the headers ("world price [USD/t]"; a `unit` column where units differ by
// row), and `notes`. kInvalidInput when the model has no tables, kIoError when the file cannot be
// written.
Status report_tables_to_xlsx(const ReportModel& model, const std::filesystem::path& file);

// One table of a compare or ensemble report model as CSV, with the headers of the workbook.
// kNotFound (listing the tables) for a name the model lacks.
Result<std::string> report_table_to_csv(const ReportModel& model, std::string_view table);

// The workbook of any results directory: summary_to_xlsx for a simulation, the report model's
// tables (report_tables_to_xlsx) for a compare or ensemble.
Status results_to_xlsx(const ResultsFiles& files, const Dataset& data,
                       const std::filesystem::path& file);

// The unit of a summary field from the output table (critmin/core/figures.h, group summary):
// "price" -> "USD/t", "production" -> "t/yr", "fiscal_cost_usd_total" -> "USD", "shortfall_share"
// -> "0-1", "region" -> "" (text). kNotFound, naming the nearest fields, for a field the table
// does not hold: units are never guessed from a name.
Result<std::string> unit_of_field(std::string_view field);

}  // namespace critmin::report
