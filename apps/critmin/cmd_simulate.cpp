// critmin simulate
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <system_error>
#include <thread>

#include "commands.h"
#include "critmin/core/files.h"
#include "critmin/report/long_tables.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/investability.h"
#include "critmin/sim/simulation.h"
#include "progress.h"

namespace critmin::cli {

Result<sim::SimulationScenario> load_simulation_scenario(const Dataset& data,
                                                         const std::string& file) {
  Result<std::string> text = read_text_file(file);
  CRITMIN_RETURN_IF_ERROR(text);
  return scenario::read_simulation_scenario(text.value(), file, data);
}

Result<std::optional<scenario::Bom>> load_bom(const Dataset& data, const std::string& file) {
  if (file.empty()) return std::optional<scenario::Bom>();
  Result<std::string> text = read_text_file(file);
  CRITMIN_RETURN_IF_ERROR(text);
  Result<scenario::Bom> bom = scenario::read_bom(text.value(), file, data);
  CRITMIN_RETURN_IF_ERROR(bom);
  return std::optional<scenario::Bom>(std::move(bom).value());
}

Status write_csv_tables(const std::vector<report::LongTable>& tables,
                        const std::filesystem::path& dir) {
  CRITMIN_RETURN_IF_ERROR(report::write_long_tables(tables, dir));
  for (const report::LongTable& table : tables) {
    std::cout << fmt::format("wrote {} ({} rows)\n", (dir / (table.name + ".csv")).string(),
                             table.rows.size());
  }
  return Status::ok();
}

Status write_simulation_results(const sim::SimulationResult& result,
                                const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return Status::io_error(
        fmt::format("{}: cannot create the results directory: {}", dir.string(), error.message()));
  }
  if (Status s = write_text_file(dir / "summary.json", sim::simulation_to_json(result));
      !s.is_ok()) {
    return s;
  }
  return sim::write_results_sqlite(result, dir / "results.sqlite");
}

void register_simulate_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "Run a scenario year by year (demand growth, disruptions, the club's instruments, market "
      "clearing, strategic projects, stocks); write DIR/results.sqlite and DIR/summary.json and "
      "print a summary");
  struct Flags {
    std::string scenario;
    std::string out = "out/simulate";
    std::string format = "table";
    std::string data;
    std::string html;
    std::string xlsx;
    std::string bom;
    std::string progress = "auto";
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("SCENARIO", flags->scenario, "scenario TOML (see docs/simulation.md)")
      ->required();
  cmd->add_option("--out", flags->out, "results directory (default out/simulate)");
  cmd->add_option("--format", flags->format,
                  "what to print: table (a summary), json (summary.json) or csv (also write long "
                  "tables series.csv, scorecard.csv, payments.csv and headline.csv with a unit "
                  "column into --out)")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  cmd->add_option("--html", flags->html,
                  "also write a self-contained HTML report with charts to this file");
  cmd->add_option("--xlsx", flags->xlsx, "also write the results as an XLSX workbook to this file");
  cmd->add_option("--bom", flags->bom, kBomHelp);
  add_progress_option(cmd, flags->progress);
  cmd->callback([&common, flags] {
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    Result<sim::SimulationScenario> scenario =
        load_simulation_scenario(data.value(), flags->scenario);
    if (!scenario.is_ok()) {
      common.exit_code = report_error(scenario.status());
      return;
    }
    Result<std::optional<scenario::Bom>> bom = load_bom(data.value(), flags->bom);
    if (!bom.is_ok()) {
      common.exit_code = report_error(bom.status());
      return;
    }
    scenario.value().bom = std::move(bom).value();
    const ProgressReporter reporter("simulate", flags->progress);
    const auto progress = [&reporter](int year, int done, int total) {
      reporter.step(done, total, fmt::format("year {}", year));
    };
    Result<sim::SimulationResult> result =
        sim::run_simulation(data.value(), scenario.value(), progress);
    if (!result.is_ok()) {
      common.exit_code = report_error(result.status());
      return;
    }
    // [[appraisal]] projects: their runs on every core (the figures do not depend on it).
    if (Status s = sim::add_scenario_appraisals(
            data.value(), scenario.value(),
            static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), result.value());
        !s.is_ok()) {
      common.exit_code = report_error(s);
      return;
    }
    const std::filesystem::path dir = flags->out;
    if (Status s = write_simulation_results(result.value(), dir); !s.is_ok()) {
      common.exit_code = report_error(s);
      return;
    }
    const std::string json = sim::simulation_to_json(result.value());
    if (Status s = write_result_reports(data.value(), json, flags->html, flags->xlsx); !s.is_ok()) {
      common.exit_code = report_error(s);
      return;
    }
    if (flags->format == "csv") {
      const std::vector<report::LongTable> tables = report::simulation_long_tables(result.value());
      if (Status s = write_csv_tables(tables, dir); !s.is_ok()) {
        common.exit_code = report_error(s);
        return;
      }
    } else if (flags->format == "json") {
      std::cout << json;
    } else {
      std::cout << sim::simulation_to_table(result.value());
      std::cout << fmt::format("wrote {} and {}\n", (dir / "summary.json").string(),
                               (dir / "results.sqlite").string());
    }
  });
}

}  // namespace critmin::cli
