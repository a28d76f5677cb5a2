// critmin compare
#include <fmt/format.h>

#include <iostream>
#include <system_error>

#include "commands.h"
#include "critmin/compare.h"
#include "critmin/ensemble.h"
#include "critmin/files.h"
#include "critmin/simulation.h"

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
    int threads = 1;
    std::uint64_t seed = 1;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("SCENARIOS", flags->scenarios,
                  "scenario TOML files; the first is the reference (see docs/scorecards.md)")
      ->required();
  cmd->add_option("--format", flags->format, "what to print: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--out", flags->out,
                  "also write DIR/compare.json and each design's results under DIR/<name>/");
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  cmd->add_option("--runs", flags->runs,
                  "also run an ensemble of N runs per design and print the P5/P50/P95 bands of "
                  "the headline figures (docs/simulation.md, Ensembles)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
  cmd->add_option("--threads", flags->threads, "worker threads for the ensembles (default 1)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--seed", flags->seed, "ensemble seed (default 1); the same for every design");
  cmd->callback([&common, flags] {
    if (flags->scenarios.size() < 2) {
      common.exit_code = report_error(Status::invalid_input(
          fmt::format("compare needs at least two scenarios, got {}; give the reference design "
                      "first, e.g. critmin compare scenarios/baseline.toml scenarios/club.toml",
                      flags->scenarios.size())));
      return;
    }
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    std::vector<sim::NamedScorecards> designs;
    std::vector<sim::SimulationResult> results;
    for (const std::string& file : flags->scenarios) {
      Result<sim::SimulationScenario> scenario = load_simulation_scenario(data.value(), file);
      if (!scenario.is_ok()) {
        common.exit_code = report_error(scenario.status());
        return;
      }
      std::string name = scenario.value().name.empty() ? std::filesystem::path(file).stem().string()
                                                       : scenario.value().name;
      for (const sim::NamedScorecards& d : designs) {
        if (d.name == name) name += fmt::format(" ({})", designs.size() + 1);
      }
      Result<sim::SimulationResult> result = sim::run_simulation(data.value(), scenario.value());
      if (!result.is_ok()) {
        common.exit_code = report_error(result.status());
        return;
      }
      designs.push_back({name, result.value().scorecards});
      results.push_back(std::move(result).value());
    }
    sim::Comparison comparison = sim::compare_scorecards(designs);
    if (flags->runs > 0) {
      // The same ensemble seed for every design: run i of each design draws from the same seed,
      // so the bands differ by the design, not by the luck of the draws.
      std::vector<sim::EnsembleSummary> ensembles;
      for (const std::string& file : flags->scenarios) {
        Result<sim::SimulationScenario> scenario = load_simulation_scenario(data.value(), file);
        if (!scenario.is_ok()) {
          common.exit_code = report_error(scenario.status());
          return;
        }
        Result<sim::PreparedSimulation> prepared =
            sim::prepare_simulation(data.value(), scenario.value());
        if (!prepared.is_ok()) {
          common.exit_code = report_error(prepared.status());
          return;
        }
        sim::EnsembleOptions options;
        options.seed = flags->seed;
        options.runs = flags->runs;
        options.threads = flags->threads;
        Result<sim::EnsembleRuns> runs = sim::run_ensemble_share(prepared.value(), options);
        if (!runs.is_ok()) {
          common.exit_code = report_error(runs.status());
          return;
        }
        ensembles.push_back(sim::summarize_ensemble(scenario.value(), flags->seed, runs.value()));
      }
      sim::add_ensemble_bands(comparison, ensembles);
    }
    const std::string json = sim::comparison_to_json(comparison);
    if (!flags->out.empty()) {
      const std::filesystem::path dir = flags->out;
      for (std::size_t d = 0; d < designs.size(); ++d) {
        if (Status s = write_simulation_results(results[d], dir / designs[d].name); !s.is_ok()) {
          common.exit_code = report_error(s);
          return;
        }
      }
      if (Status s = write_text_file(dir / "compare.json", json); !s.is_ok()) {
        common.exit_code = report_error(s);
        return;
      }
    }
    if (flags->format == "json") {
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
