#include <fmt/format.h>

#include <iostream>
#include <system_error>

#include "commands.h"

namespace critmin::cli {

int report_error(const Status& status) {
  std::cerr << "critmin: error: " << status.to_string() << "\n";
  return report_error_code(status);
}

int report_error_code(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidInput:
      return 2;
    case StatusCode::kNotFound:
      return 3;
    case StatusCode::kIoError:
      return 4;
    default:
      return 1;
  }
}

Result<Dataset> open_dataset(const CommonOptions& common, const std::string& data_flag) {
  Result<std::filesystem::path> dir = locate_dataset(data_flag, common.executable);
  CRITMIN_RETURN_IF_ERROR(dir);
  return load_dataset(dir.value());
}

}  // namespace critmin::cli

int main(int argc, char** argv) {
  using namespace critmin::cli;
  CLI::App app{
      "critmin: supply security of critical raw materials and the design of a plurilateral "
      "critical-minerals club, on public data.",
      "critmin"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "critmin 0.1.0");
  CommonOptions common;
  std::error_code error;
  common.executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) common.executable = argv[0];
  register_data_commands(app, common);
  register_assess_command(app, common);
  register_clear_command(app, common);
  register_serve_command(app, common);
  register_simulate_command(app, common);
  register_compare_command(app, common);
  register_backtest_command(app, common);
  register_report_command(app, common);
  register_ensemble_command(app, common);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return common.exit_code;
}
