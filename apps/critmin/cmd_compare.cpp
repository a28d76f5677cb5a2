// critmin compare
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <system_error>
#include <thread>

#include "commands.h"
#include "critmin/core/files.h"
#include "critmin/report/long_tables.h"
#include "critmin/report/results_report.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/ensemble.h"
#include "critmin/sim/simulation.h"
#include "progress.h"

namespace critmin::cli {

void register_compare_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Simulate two or more scenarios (designs) and print their supply-security and Dutch-business "
      "scorecards side by side, with each design's difference from the first");
  struct Flags {
    std::vector<std::string> scenarios;
    std::string format = "table";
    std::string out;
    std::string data;
    std::size_t runs = 0;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::uint64_t seed = 0;  // used only when --seed is given
    std::string html;
    std::string xlsx;
    std::string bom;
    std::string progress = "auto";
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("SCENARIOS", flags->scenarios,
                  "scenario TOML files; the first is the reference (see docs/scorecards.md)")
      ->required();
  cmd->add_option("--format", flags->format,
                  "what to print: table, json or csv (write long tables scorecards.csv, "
                  "headline.csv and, with --runs, bands.csv with a unit column into --out DIR)")
      ->check(CLI::IsMember({"table", "json", "csv"}));
  cmd->add_option("--out", flags->out,
                  "also write DIR/compare.json and each design's results under DIR/<name>/");
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  cmd->add_option("--runs", flags->runs,
                  "also run an ensemble of N runs per design and print the P5/P50/P95 bands of "
                  "the headline figures (docs/simulation.md, Ensembles)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  cmd->add_option("--threads", flags->threads,
                  "worker threads for the ensembles, 1 to 1024 (default: the number of cores, as "
                  "in ensemble; the results do not depend on it)")
      ->check(CLI::Range(1, 1024));
  CLI::Option* seed_option = cmd->add_option(
      "--seed", flags->seed,
      "ensemble seed, the same for every design (default: the first scenario's seed, as ensemble "
      "defaults to its scenario's)");
  cmd->add_option("--html", flags->html,
                  "also write the compare view as a self-contained HTML report to this file "
                  "(docs/report.md)");
  cmd->add_option("--xlsx", flags->xlsx,
                  "also write the compare's tables as an XLSX workbook to this file");
  cmd->add_option("--bom", flags->bom, kBomHelp);
  add_progress_option(cmd, flags->progress);
  cmd->callback([&common, flags, seed_option] {
    if (flags->scenarios.size() < 2) {
      common.exit_code = report_error(Status::invalid_input(
          fmt::format("compare needs at least two scenarios, got {}; give the reference design "
                      "first, e.g. critmin compare scenarios/baseline.toml scenarios/club.toml",
                      flags->scenarios.size())));
      return;
    }
    if (flags->format == "csv" && flags->out.empty()) {
      common.exit_code = report_error(Status::invalid_input(
          "--format csv writes its long tables into a directory: add --out DIR"));
      return;
    }
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    Result<std::optional<scenario::Bom>> bom = load_bom(data.value(), flags->bom);
    if (!bom.is_ok()) {
      common.exit_code = report_error(bom.status());
      return;
    }
    std::vector<sim::SimulationScenario> scenarios;
    std::vector<std::string> stems;
    for (const std::string& file : flags->scenarios) {
      Result<sim::SimulationScenario> scenario = load_simulation_scenario(data.value(), file);
      if (!scenario.is_ok()) {
        common.exit_code = report_error(scenario.status());
        return;
      }
      scenario.value().bom = bom.value();  // every design judged for the same company
      // The table shows no run's notes: say here which rows of the bill a design leaves out.
      const std::vector<std::string>& materials = scenario.value().materials;
      for (std::size_t l = 0; bom.value() && l < bom.value()->lines.size(); ++l) {
        const scenario::BomLine& line = bom.value()->lines[l];
        if (std::find(materials.begin(), materials.end(), line.material) != materials.end()) {
          continue;
        }
        std::cerr << fmt::format(
            "critmin: note: {}:{}: {} is not simulated by {}; this row is not counted there\n",
            flags->bom, line.line, line.material, file);
      }
      scenarios.push_back(std::move(scenario).value());
      stems.push_back(std::filesystem::path(file).stem().string());
    }
    sim::CompareOptions options;
    options.runs = flags->runs;
    options.threads = flags->threads;
    if (seed_option->count() > 0) options.seed = flags->seed;
    // One step per simulated year of the designs' deterministic runs and per ensemble run, in
    // the order the compare does them (design by design).
    const ProgressReporter reporter("compare", flags->progress);
    const auto progress = [&reporter](int years_done, int years_total, std::size_t runs_done,
                                      std::size_t runs_total) {
      const long long of = years_total + static_cast<long long>(runs_total);
      const long long step = years_done + static_cast<long long>(runs_done);
      reporter.step(step, of,
                    runs_total == 0 ? fmt::format("simulated years {}/{}", years_done, years_total)
                                    : fmt::format("simulated years {}/{}, ensemble runs {}/{}",
                                                  years_done, years_total, runs_done, runs_total));
    };
    Result<sim::CompareRun> run =
        sim::run_compare(data.value(), scenarios, stems, options, progress);
    if (!run.is_ok()) {
      common.exit_code = report_error(run.status());
      return;
    }
    const sim::Comparison& comparison = run.value().comparison;
    const std::string json = sim::comparison_to_json(comparison);
    if (!flags->out.empty()) {
      const std::filesystem::path dir = flags->out;
      for (std::size_t d = 0; d < comparison.designs.size(); ++d) {
        if (Status s =
                write_simulation_results(run.value().results[d], dir / comparison.designs[d]);
            !s.is_ok()) {
          common.exit_code = report_error(s);
          return;
        }
      }
      if (Status s = write_text_file(dir / "compare.json", json); !s.is_ok()) {
        common.exit_code = report_error(s);
        return;
      }
    }
    if (!flags->html.empty() || !flags->xlsx.empty()) {
      report::ResultsFiles files;
      files.kind = report::ResultsKind::kCompare;
      files.summary_json = json;
      for (const sim::SimulationResult& result : run.value().results) {
        files.design_summaries.push_back(sim::simulation_to_json(result));
      }
      if (Status s = write_results_reports(data.value(), files, flags->html, flags->xlsx);
          !s.is_ok()) {
        common.exit_code = report_error(s);
        return;
      }
    }
    if (flags->format == "csv") {
      const std::filesystem::path dir = flags->out;
      const std::vector<report::LongTable> tables = report::comparison_long_tables(comparison);
      if (Status s = write_csv_tables(tables, dir); !s.is_ok()) {
        common.exit_code = report_error(s);
        return;
      }
    } else if (flags->format == "json") {
      std::cout << json;
    } else {
      std::cout << sim::comparison_to_table(comparison);
      if (!flags->out.empty()) {
        std::cout << fmt::format("wrote {}\n",
                                 (std::filesystem::path(flags->out) / "compare.json").string());
      }
    }
  });
}

}  // namespace critmin::cli
