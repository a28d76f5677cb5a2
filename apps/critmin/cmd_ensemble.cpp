// critmin ensemble: N runs of a scenario on threads and, under mpirun, on ranks merged on rank 0.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <limits>
#include <system_error>
#include <thread>

#include "commands.h"
#include "critmin/core/files.h"
#include "critmin/report/long_tables.h"
#include "critmin/report/results_report.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/ensemble.h"
#include "mpi_world.h"
#include "progress.h"

namespace critmin::cli {
namespace {

// Runs beyond this would hold gigabytes of figures in rank 0's memory.
constexpr std::uint64_t kMaxRuns = 1'000'000;
constexpr std::uint64_t kMaxThreads = 1024;
// Progress steps an ensemble reports at most (--progress).
constexpr std::size_t kProgressSteps = 1000;

// A flag's whole number in [low, high], or an invalid-input Status saying which flag and why.
Result<std::uint64_t> whole_number(const std::string& flag, const std::string& text,
                                   std::uint64_t low, std::uint64_t high, const char* example) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);
  const bool parsed = !text.empty() && text[0] != '-' && error == std::errc() && stop == end;
  if (!parsed || value < low || value > high) {
    const std::string range = high == std::numeric_limits<std::uint64_t>::max()
                                  ? fmt::format(">= {}", low)
                                  : fmt::format("from {} to {}", low, high);
    return Status::invalid_input(fmt::format("{} '{}': write a whole number {}, e.g. {} {}", flag,
                                             text, range, flag, example));
  }
  return value;
}

// FNV-1a over the figure names and units: equal on every rank when they report the same figures.
std::uint64_t figures_fingerprint(const sim::EnsembleRuns& runs) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  const auto add = [&](const std::string& text) {
    for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
    hash = (hash ^ 0xffu) * 0x100000001b3ull;  // a separator no name contains
  };
  for (std::size_t f = 0; f < runs.figure_names.size(); ++f) {
    add(runs.figure_names[f]);
    add(runs.figure_units[f]);
  }
  for (std::size_t p = 0; p < runs.path_names.size(); ++p) {
    add(runs.path_names[p]);
    add(runs.path_units[p]);
  }
  add(std::to_string(runs.path_years));
  return hash;
}

struct Flags {
  std::string scenario;
  std::string runs;
  std::string threads;
  std::string seed;
  std::string out = "out/ensemble";
  std::string format = "table";
  std::string data;
  std::string html;
  std::string xlsx;
  std::string bom;
  std::string progress = "auto";
};

// The whole command on one rank; returns the exit code. Problems every rank meets alike (flags,
// dataset, scenario) are printed by rank 0 only.
int run_ensemble_command(const CommonOptions& common, const Flags& flags, const MpiWorld& world) {
  const bool speaker = world.rank() == 0;
  const auto fail = [&](const Status& status) {
    if (speaker) return report_error(status);
    return report_error_code(status);
  };
  if (flags.runs.empty()) {
    return fail(Status::invalid_input("--runs is required: how many runs, e.g. --runs 1000"));
  }
  if (flags.format != "table" && flags.format != "json" && flags.format != "csv") {
    return fail(Status::invalid_input(fmt::format(
        "--format '{}': write --format table, --format json or --format csv", flags.format)));
  }
  Result<std::uint64_t> runs = whole_number("--runs", flags.runs, 1, kMaxRuns, "1000");
  if (!runs.is_ok()) return fail(runs.status());
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  Result<std::uint64_t> threads =
      flags.threads.empty() ? Result<std::uint64_t>(cores)
                            : whole_number("--threads", flags.threads, 1, kMaxThreads, "2");
  if (!threads.is_ok()) return fail(threads.status());
  Result<std::uint64_t> seed_flag =
      flags.seed.empty()
          ? Result<std::uint64_t>(0)
          : whole_number("--seed", flags.seed, 0, std::numeric_limits<std::uint64_t>::max(), "7");
  if (!seed_flag.is_ok()) return fail(seed_flag.status());

  Result<Dataset> data = open_dataset(common, flags.data);
  if (!data.is_ok()) return fail(data.status());
  Result<std::string> text = read_text_file(flags.scenario);
  if (!text.is_ok()) return fail(text.status());
  Result<sim::SimulationScenario> scenario =
      scenario::read_simulation_scenario(text.value(), flags.scenario, data.value());
  if (!scenario.is_ok()) return fail(scenario.status());
  Result<std::optional<scenario::Bom>> bom = load_bom(data.value(), flags.bom);
  if (!bom.is_ok()) return fail(bom.status());
  scenario.value().bom = std::move(bom).value();
  if (speaker && scenario.value().bom) {
    // An ensemble prints bands, not a run's notes: say here which rows of the bill it leaves out.
    const std::vector<std::string>& materials = scenario.value().materials;
    for (const scenario::BomLine& line : scenario.value().bom->lines) {
      if (std::find(materials.begin(), materials.end(), line.material) != materials.end()) continue;
      std::cerr << fmt::format(
          "critmin: note: {}:{}: {} is not simulated by this scenario; this row is not counted\n",
          flags.bom, line.line, line.material);
    }
  }
  const std::uint64_t seed = flags.seed.empty() ? scenario.value().seed : seed_flag.value();
  Result<sim::PreparedSimulation> prepared =
      sim::prepare_simulation(data.value(), scenario.value());
  if (!prepared.is_ok()) return fail(prepared.status());

  sim::EnsembleOptions options;
  options.seed = seed;
  options.runs = static_cast<std::size_t>(runs.value());
  options.threads = static_cast<int>(threads.value());
  options.share = world.rank();
  options.share_count = world.size();
  // Rank 0 reports its own share of the runs. A JSON step every run would be a million lines for
  // the largest ensembles: it reports at most kProgressSteps of them, the last always.
  const ProgressReporter reporter("ensemble", flags.progress, speaker);
  const auto progress = [&reporter, &world](std::size_t done, std::size_t total) {
    const std::size_t every =
        std::max<std::size_t>(1, (total + kProgressSteps - 1) / kProgressSteps);
    if (done % every != 0 && done != total) return;
    reporter.step(static_cast<long long>(done), static_cast<long long>(total),
                  fmt::format("run {}{}", done, world.size() > 1 ? " on rank 0" : ""));
  };
  Result<sim::EnsembleRuns> share = sim::run_ensemble_share(prepared.value(), options, progress);

  // A run failed somewhere: the lowest failing rank says why, and every rank exits with the
  // largest code.
  const int local_code = share.is_ok() ? 0 : report_error_code(share.status());
  const auto failed_rank =
      static_cast<int>(world.min_all(share.is_ok() ? static_cast<std::uint64_t>(world.size())
                                                   : static_cast<std::uint64_t>(world.rank())));
  const int code = world.max_all(local_code);
  if (code != 0) {
    if (failed_rank == world.rank()) report_error(share.status());
    return code;
  }

  const std::vector<std::uint64_t> fingerprints = world.gather(figures_fingerprint(share.value()));
  const std::vector<std::vector<double>> values = world.gather(share.value().values);
  const std::vector<std::vector<double>> path_values = world.gather(share.value().path_values);
  if (!speaker) return 0;

  // Rank 0 holds run 0, so its share names the figures.
  std::vector<sim::EnsembleRuns> shares(values.size());
  for (std::size_t r = 0; r < values.size(); ++r) {
    sim::EnsembleRuns& s = shares[r];
    s.runs = sim::ensemble_share_runs(options.runs, static_cast<int>(r), world.size());
    if (s.runs.empty()) continue;
    if (fingerprints[r] != fingerprints[0]) {
      return report_error(
          Status::internal(fmt::format("rank {} reports other headline figures than rank 0", r)));
    }
    s.figure_names = share.value().figure_names;
    s.figure_units = share.value().figure_units;
    s.values = values[r];
    s.path_names = share.value().path_names;
    s.path_units = share.value().path_units;
    s.path_years = share.value().path_years;
    s.path_values = path_values[r];
  }
  Result<sim::EnsembleRuns> all = sim::merge_ensemble_shares(shares, options.runs);
  if (!all.is_ok()) return report_error(all.status());
  const sim::EnsembleSummary summary = sim::summarize_ensemble(scenario.value(), seed, all.value());

  const std::filesystem::path dir = flags.out;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return report_error(Status::io_error(
        fmt::format("{}: cannot create the results directory: {}", dir.string(), error.message())));
  }
  const std::string json = sim::ensemble_to_json(summary);
  if (Status s = write_text_file(dir / "summary.json", json); !s.is_ok()) return report_error(s);
  if (Status s = sim::write_ensemble_sqlite(summary, all.value(), dir / "results.sqlite");
      !s.is_ok()) {
    return report_error(s);
  }
  report::ResultsFiles files;
  files.kind = report::ResultsKind::kEnsemble;
  files.summary_json = json;
  files.distribution_json = sim::ensemble_runs_to_json(all.value());
  if (Status s = write_results_reports(data.value(), files, flags.html, flags.xlsx); !s.is_ok()) {
    return report_error(s);
  }
  if (flags.format == "csv") {
    const std::vector<report::LongTable> tables =
        report::ensemble_long_tables(summary, all.value());
    if (Status s = write_csv_tables(tables, dir); !s.is_ok()) return report_error(s);
  } else if (flags.format == "json") {
    std::cout << json;
  } else {
    std::cout << sim::ensemble_to_table(summary);
    std::cout << fmt::format("wrote {} and {}\n", (dir / "summary.json").string(),
                             (dir / "results.sqlite").string());
  }
  return 0;
}

}  // namespace

void register_ensemble_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "ensemble",
      "Run a scenario N times with seeds derived from one ensemble seed, on threads (and on the "
      "ranks of mpirun -np K); print P5/P50/P95 of every headline figure, write DIR/summary.json "
      "and every run's figures to DIR/results.sqlite. The output is the same for any thread and "
      "rank count");
  auto flags = std::make_shared<Flags>();
  cmd->add_option("SCENARIO", flags->scenario, "scenario TOML (see docs/simulation.md)")
      ->required();
  // The numbers and the format are checked by the command itself, so that every bad flag gets
  // its own message and exit code 2.
  cmd->add_option("--runs", flags->runs, "number of runs N (1 to 1000000; required)")
      ->type_name("INT:1-1000000")
      ->required();
  cmd->add_option("--threads", flags->threads,
                  "worker threads per process, 1 to 1024 (default: the number of cores)")
      ->type_name("INT:1-1024");
  cmd->add_option("--seed", flags->seed,
                  "ensemble seed, a whole number >= 0 (default: the scenario's seed); run i is "
                  "seeded with splitmix64(splitmix64(seed) + i)")
      ->type_name("UINT");
  cmd->add_option("--out", flags->out, "results directory (default out/ensemble)");
  cmd->add_option("--format", flags->format,
                  "what to print: table (the bands), json (summary.json) or csv (also write long "
                  "tables figures.csv, paths.csv and runs.csv with a unit column into --out)")
      ->type_name("table|json|csv");
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  cmd->add_option("--html", flags->html,
                  "also write an HTML report (the headline figures' bands and distribution, the "
                  "yearly bands of price, EU shortfall and concentration) to this file; see "
                  "docs/report.md");
  cmd->add_option("--xlsx", flags->xlsx,
                  "also write an XLSX workbook (sheets figures and runs) to this file");
  cmd->add_option("--bom", flags->bom, kBomHelp);
  add_progress_option(cmd, flags->progress);
  cmd->callback([&common, flags] {
    const MpiWorld world;
    common.exit_code = run_ensemble_command(common, *flags, world);
  });
}

}  // namespace critmin::cli
