// The critmin CLI: thin front end over the library. Each command parses its flags, calls the
// library, prints the result and turns a Status into a message on stderr and an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

#include "critmin/dataset.h"
#include "critmin/status.h"

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
void register_ensemble_command(CLI::App& app, CommonOptions& common);

}  // namespace critmin::cli
