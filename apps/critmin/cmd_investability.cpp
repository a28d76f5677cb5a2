// critmin investability: can one project outside the dominant supplier be financed, with the
// scenario's instruments and without, facing a passive and a strategic supplier?
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <thread>

#include "commands.h"
#include "critmin/sim/investability.h"

namespace critmin::cli {

void register_investability_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "investability",
      "Appraise one candidate project over an ensemble with uncertain demand: the probability "
      "that its NPV is positive and its expected NPV, with the scenario's instruments and "
      "without, facing a passive and a strategic dominant supplier; the fiscal cost of the "
      "instruments and the floor price at which it becomes investable (docs/investability.md)");
  struct Flags {
    std::string scenario;
    std::string material;
    std::string region;
    std::string stage = "processing";
    double capacity_t = 0.0;
    std::optional<double> capex_usd;
    std::optional<double> unit_cost_usd_per_t;
    std::optional<int> online_year;
    std::size_t runs = 200;
    int threads = 0;
    std::optional<std::uint64_t> seed;
    std::string leader = "CHN";
    std::string format = "table";
    std::string data;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("SCENARIO", flags->scenario, "simulation scenario TOML (docs/simulation.md)")
      ->required();
  cmd->add_option("--material", flags->material, "the project's material (id or name)")->required();
  cmd->add_option("--region", flags->region, "the ISO3 code of the country it is built in")
      ->required();
  cmd->add_option("--stage", flags->stage, "extraction or processing (default processing)")
      ->check(CLI::IsMember({"extraction", "processing"}));
  cmd->add_option("--capacity-t", flags->capacity_t, "its capacity [t/yr of contained content]")
      ->required()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--capex-usd", flags->capex_usd,
                  "its capital cost [USD] (default: the project_capex_multiple estimate)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--unit-cost-usd-per-t", flags->unit_cost_usd_per_t,
                  "its operating cost per tonne, feed excluded (default: the project_unit_cost "
                  "estimate)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--online-year", flags->online_year,
                  "its first year of output (default: the first simulated year + the lead time)")
      ->check(CLI::Range(1990, 2100));
  cmd->add_option("--runs", flags->runs, "runs of each of the four cases (default 200)")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--threads", flags->threads, "worker threads (default: every core)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--seed", flags->seed, "the ensemble seed (default: the scenario's)");
  cmd->add_option("--leader", flags->leader,
                  "the strategic supplier when the scenario names none for the material and "
                  "stage: a region, ISO3 code or bloc (default CHN, limit pricing)");
  cmd->add_option("--format", flags->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
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
    sim::CandidateProject project;
    project.material = flags->material;
    project.country = flags->region;
    project.stage = *parse_stage(flags->stage);
    project.capacity_t = flags->capacity_t;
    project.capex_usd = flags->capex_usd;
    project.unit_cost_usd_per_t = flags->unit_cost_usd_per_t;
    project.online_year = flags->online_year;
    sim::InvestabilityOptions options;
    options.runs = flags->runs;
    options.threads = flags->threads > 0
                          ? flags->threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    options.seed = flags->seed.value_or(scenario.value().seed);
    options.leader = flags->leader;
    Result<sim::InvestabilityResult> result =
        sim::appraise_investability(data.value(), scenario.value(), project, options);
    if (!result.is_ok()) {
      common.exit_code = report_error(result.status());
      return;
    }
    std::cout << (flags->format == "json" ? sim::investability_to_json(result.value())
                                          : sim::investability_to_table(result.value()));
  });
}

}  // namespace critmin::cli
