// The critmin CLI: thin front end over the library. Each command parses its flags, calls the
// library, prints the result and turns a Status into a message on stderr and an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include "critmin/core/status.h"
#include "critmin/report/long_tables.h"
#include "critmin/report/results_report.h"
#include "critmin/sim/simulation.h"
#include "critmin/world/dataset.h"

namespace critmin::cli {

struct CommonOptions {
  std::filesystem::path executable;  // the running binary, to find the installed dataset
  int exit_code = 0;
};

// Prints a failed Status to stderr ("critmin: error: ...") and returns the exit code for it.
int report_error(const Status& status);
// The exit code for a failed Status (2 invalid input, 3 not found, 4 I/O, 1 otherwise), silently.
int report_error_code(const Status& status);

// Locates and loads the dataset given by --data (or the embedded default).
Result<Dataset> open_dataset(const CommonOptions& common, const std::string& data_flag);

void register_data_commands(CLI::App& app, CommonOptions& common);
void register_assess_command(CLI::App& app, CommonOptions& common);
void register_clear_command(CLI::App& app, CommonOptions& common);
void register_serve_command(CLI::App& app, CommonOptions& common);
void register_simulate_command(CLI::App& app, CommonOptions& common);
void register_compare_command(CLI::App& app, CommonOptions& common);
void register_backtest_command(CLI::App& app, CommonOptions& common);
void register_scenario_command(CLI::App& app, CommonOptions& common);
void register_investability_command(CLI::App& app, CommonOptions& common);

// Reads and checks a simulation scenario file (file:line:key errors).
Result<sim::SimulationScenario> load_simulation_scenario(const Dataset& data,
                                                         const std::string& file);

// Reads a company's bill of materials (`--bom FILE`, critmin/scenario/bom.h); nullopt for an
// empty file name. kIoError when it cannot be read, kInvalidInput with file:line:column problems.
Result<std::optional<scenario::Bom>> load_bom(const Dataset& data, const std::string& file);

// The help text of --bom, the same on every command.
inline constexpr const char* kBomHelp =
    "a company's bill of materials (CSV: material, quantity_t_per_yr or spend_eur_per_yr, "
    "optional supply_country); adds its cost change and physical-shortage exposure "
    "(docs/scorecards.md)";

// Writes DIR/summary.json and DIR/results.sqlite, creating DIR.
Status write_simulation_results(const sim::SimulationResult& result,
                                const std::filesystem::path& dir);
void register_report_command(CLI::App& app, CommonOptions& common);

// Writes the HTML report and/or the XLSX workbook of a simulation summary (summary.json text);
// an empty file name skips that output.
Status write_result_reports(const Dataset& data, const std::string& summary_json,
                            const std::string& html_file, const std::string& xlsx_file);
// The same for a results directory of any kind (simulation, compare, ensemble): the report
// model of its kind, and its workbook.
Status write_results_reports(const Dataset& data, const report::ResultsFiles& files,
                             const std::string& html_file, const std::string& xlsx_file);
void register_ensemble_command(CLI::App& app, CommonOptions& common);

// Writes long tables as DIR/<name>.csv (--format csv) and prints one line per file written.
Status write_csv_tables(const std::vector<report::LongTable>& tables,
                        const std::filesystem::path& dir);

}  // namespace critmin::cli
