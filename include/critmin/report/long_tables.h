// Tidy exports (`--format csv --out DIR` of simulate, ensemble and compare): the results as long
// tables, one observation per row with its unit in a column, so that a spreadsheet pivot or
// pandas reads them without knowing critmin's layout. Built from the result structs (no JSON in
// between); labels and units come from the output table (critmin/core/figures.h).
//
// Values are written with the shortest text that reads back to the same double; empty where a
// value is missing (a line a design lacks, a stock cover without a stockpile).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/ensemble.h"
#include "critmin/sim/simulation.h"

namespace critmin::report {

struct LongTable {
  std::string name;  // the file's stem: DIR/<name>.csv
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// A simulation: series (material, stage, region, year, variable, label, value, unit), scorecard
// (card, key, label, value, unit, note), payments (the instruments' figures per year) and
// headline (figure, label, value, unit).
std::vector<LongTable> simulation_long_tables(const sim::SimulationResult& result);

// An ensemble: figures (P5, P50, P95, mean, min, max of each headline figure as `statistic`),
// paths (P5/P50/P95 of each yearly path per year) and runs (each run's value of each figure).
std::vector<LongTable> ensemble_long_tables(const sim::EnsembleSummary& summary,
                                            const sim::EnsembleRuns& runs);

// A compare: scorecards (design, card, key, label, value, unit, note), headline (design, figure,
// label, value, unit) and, with --runs, bands (design, figure, label, statistic, value, unit).
std::vector<LongTable> comparison_long_tables(const sim::Comparison& comparison);

// The table as CSV text (RFC 4180, header first).
std::string long_table_to_csv(const LongTable& table);

// Writes DIR/<name>.csv for each table, creating DIR; kIoError naming the file that failed.
Status write_long_tables(const std::vector<LongTable>& tables, const std::filesystem::path& dir);

}  // namespace critmin::report
