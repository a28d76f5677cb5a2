// Ensembles: the run seeds, the partition into shares, quantiles on hand cases, the headline
// figures, determinism across thread and share counts, the CLI's flag checks, and the same output
// under mpirun with 1 and 2 ranks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "critmin/scenario/scenario.h"
#include "critmin/sim/ensemble.h"
#include "critmin/sim/headline.h"
#include "test_support.h"

namespace critmin::sim {
namespace {

using critmin::test::default_data;
using scenario::read_simulation_scenario;

// Two materials; China's gallium export ban to non-members happens with probability 0.5, so the
// runs of an ensemble differ.
const char* kScenario =
    "[scenario]\nname = \"ens\"\nyears = [2025, 2028]\nseed = 3\n"
    "materials = [\"gallium\", \"lithium\"]\n"
    "[[disruption]]\norigin = \"CHN\"\nmaterial = \"gallium\"\nstage = \"processing\"\n"
    "kind = \"export_ban\"\ndestinations = [\"non-club\"]\nstart = 2026\nyears = 2\n"
    "probability = 0.5\n";

SimulationScenario read_ok(const std::string& text) {
  auto scenario = read_simulation_scenario(text, "ens.toml", default_data());
  EXPECT_TRUE(scenario.is_ok()) << scenario.status().to_string();
  return scenario.is_ok() ? scenario.value() : SimulationScenario{};
}

double figure(const std::vector<HeadlineFigure>& figures, const std::string& name) {
  for (const HeadlineFigure& f : figures) {
    if (f.name == name) return f.value;
  }
  ADD_FAILURE() << "no figure " << name;
  return std::nan("");
}

TEST(EnsembleSeeds, FollowSplitMix64OfTheEnsembleSeedPlusTheRun) {
  // The first output of a SplitMix64 generator with state 0, as published with the algorithm.
  EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFull);
  // Computed independently (arbitrary-precision integers, masked to 64 bits).
  EXPECT_EQ(ensemble_run_seed(7, 0), 13309476754707697221ull);
  EXPECT_EQ(ensemble_run_seed(7, 1199), 3645043721466448463ull);
  EXPECT_EQ(ensemble_run_seed(~0ull, 5), 3846658174030194800ull);  // wraps around
  std::set<std::uint64_t> seeds;
  for (std::uint64_t run = 0; run < 1000; ++run) seeds.insert(ensemble_run_seed(42, run));
  EXPECT_EQ(seeds.size(), 1000u);
}

TEST(EnsembleShares, CoverEveryRunExactlyOnce) {
  std::vector<int> seen(10, 0);
  for (int share = 0; share < 3; ++share) {
    for (std::size_t run : ensemble_share_runs(10, share, 3)) ++seen[run];
  }
  EXPECT_EQ(seen, std::vector<int>(10, 1));
  EXPECT_EQ(ensemble_share_runs(10, 1, 3), (std::vector<std::size_t>{1, 4, 7}));
  EXPECT_TRUE(ensemble_share_runs(2, 3, 4).empty());  // more shares than runs
  EXPECT_TRUE(ensemble_share_runs(5, 3, 3).empty());  // no such share
}

TEST(EnsembleQuantiles, InterpolateBetweenOrderStatistics) {
  const std::vector<double> five = {1.0, 2.0, 3.0, 4.0, 5.0};
  EXPECT_DOUBLE_EQ(quantile_sorted(five, 0.5), 3.0);
  EXPECT_DOUBLE_EQ(quantile_sorted(five, 0.05), 1.2);  // h = 4 x 0.05 = 0.2
  EXPECT_DOUBLE_EQ(quantile_sorted(five, 0.95), 4.8);  // h = 3.8
  EXPECT_DOUBLE_EQ(quantile_sorted(five, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile_sorted(five, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(quantile_sorted({10.0, 20.0}, 0.5), 15.0);
  EXPECT_DOUBLE_EQ(quantile_sorted({7.0}, 0.05), 7.0);
}

TEST(EnsembleSummary, GivesTheBandsOfEveryFigureInTheirOrder) {
  // Five runs of two figures; the runs are out of order in value so the bands must sort them.
  EnsembleRuns runs;
  runs.figure_names = {"a", "b"};
  runs.figure_units = {"t", "USD"};
  runs.runs = {0, 1, 2, 3, 4};
  runs.values = {5.0, 0.0, 1.0, 0.0, 4.0, 10.0, 2.0, 0.0, 3.0, 0.0};
  SimulationScenario scenario;
  scenario.name = "hand";
  const EnsembleSummary s = summarize_ensemble(scenario, 9, runs);
  ASSERT_EQ(s.figures.size(), 2u);
  EXPECT_EQ(s.runs, 5u);
  EXPECT_EQ(s.figures[0].name, "a");
  EXPECT_EQ(s.figures[0].unit, "t");
  EXPECT_DOUBLE_EQ(s.figures[0].p5, 1.2);
  EXPECT_DOUBLE_EQ(s.figures[0].p50, 3.0);
  EXPECT_DOUBLE_EQ(s.figures[0].p95, 4.8);
  EXPECT_DOUBLE_EQ(s.figures[0].mean, 3.0);
  EXPECT_DOUBLE_EQ(s.figures[0].min, 1.0);
  EXPECT_DOUBLE_EQ(s.figures[0].max, 5.0);
  // b: four zeros and one 10: sorted 0,0,0,0,10; P95 at h = 3.8 is 0 + 0.8 x 10.
  EXPECT_DOUBLE_EQ(s.figures[1].p50, 0.0);
  EXPECT_DOUBLE_EQ(s.figures[1].p95, 8.0);
  EXPECT_DOUBLE_EQ(s.figures[1].mean, 2.0);
  const auto json = nlohmann::json::parse(ensemble_to_json(s));
  EXPECT_EQ(json["figures"][1]["name"], "b");
  EXPECT_EQ(json["seed"], 9);
}

TEST(EnsembleMerge, RejectsAMissingOrDoubledRun) {
  EnsembleRuns a;
  a.figure_names = {"x"};
  a.figure_units = {"t"};
  a.runs = {0, 2};
  a.values = {1.0, 3.0};
  EnsembleRuns b = a;
  b.runs = {1};
  b.values = {2.0};
  auto merged = merge_ensemble_shares({b, a}, 3);
  ASSERT_TRUE(merged.is_ok()) << merged.status().to_string();
  EXPECT_EQ(merged.value().values, (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_FALSE(merge_ensemble_shares({a}, 3).is_ok());     // run 1 missing
  EXPECT_FALSE(merge_ensemble_shares({a, a}, 3).is_ok());  // runs 0 and 2 twice
  EnsembleRuns renamed = b;
  renamed.figure_names = {"y"};
  EXPECT_FALSE(merge_ensemble_shares({a, renamed}, 3).is_ok());
}

TEST(HeadlineFigures, ReduceARunToWeightedPricesWorstShortfallAndBreachYears) {
  SimulationResult r;
  r.first_year = 2025;
  r.last_year = 2026;
  r.materials = {"gallium"};
  const auto node = [](std::string region, int year, double price, double consumption) {
    SeriesRow row;
    row.material = "gallium";
    row.stage = Stage::kProcessing;
    row.region = std::move(region);
    row.year = year;
    row.price_usd_per_t = price;
    row.consumption_t = consumption;
    return row;
  };
  // 2025: (100 x 1 + 200 x 3) / 4 = 175; 2026: (300 x 1 + 500 x 1) / 2 = 400.
  r.series = {node("EU27", 2025, 100.0, 1.0), node("CHN", 2025, 200.0, 3.0),
              node("EU27", 2026, 300.0, 1.0), node("CHN", 2026, 500.0, 1.0)};
  SeriesRow extraction = node("CHN", 2025, 1e9, 1e9);  // extraction prices do not count
  extraction.stage = Stage::kExtraction;
  r.series.push_back(extraction);
  r.shortfalls = {{"gallium", "EU27", 2025, 10.0, 1.0, 0.1},
                  {"gallium", "EU27", 2026, 10.0, 3.0, 0.3},
                  {"gallium", "club", 2026, 50.0, 25.0, 0.5}};
  r.stage_scores = {{"gallium", Stage::kProcessing, 2025, "CHN", 0.9, true, 8100.0},
                    {"gallium", Stage::kProcessing, 2026, "CHN", 0.6, false, 3600.0},
                    {"gallium", Stage::kExtraction, 2026, "CHN", 0.9, true, 8100.0}};
  r.fiscal = {{2025, 5.0, 1.0}, {2026, 7.0, 2.0}};
  r.draws = {{1, "gallium", "CHN", 0.2, true, 2026, 2026}, {2, "gallium", "CHN", 0.9, false, 0, 0}};
  const std::vector<HeadlineFigure> f = headline_figures(r);
  EXPECT_DOUBLE_EQ(figure(f, "gallium.world_price_mean"), (175.0 + 400.0) / 2.0);
  EXPECT_DOUBLE_EQ(figure(f, "gallium.world_price_max"), 400.0);
  EXPECT_DOUBLE_EQ(figure(f, "gallium.eu_shortfall_share_max"), 0.3);
  EXPECT_DOUBLE_EQ(figure(f, "gallium.eu_shortfall_t_total"), 4.0);
  EXPECT_DOUBLE_EQ(figure(f, "gallium.crma_breach_years"), 1.0);
  EXPECT_DOUBLE_EQ(figure(f, "fiscal_cost_usd_total"), 12.0);
  EXPECT_DOUBLE_EQ(figure(f, "levy_revenue_usd_total"), 3.0);
  EXPECT_DOUBLE_EQ(figure(f, "disruptions_happened"), 1.0);
  EXPECT_EQ(f.front().name, "gallium.world_price_mean");
  EXPECT_EQ(f.front().unit, "USD/t");
}

TEST(Ensemble, GivesTheSameFiguresForAnyThreadAndShareCount) {
  const SimulationScenario scenario = read_ok(kScenario);
  auto prepared = prepare_simulation(default_data(), scenario);
  ASSERT_TRUE(prepared.is_ok()) << prepared.status().to_string();
  EnsembleOptions options;
  options.seed = 5;
  options.runs = 10;
  options.threads = 1;
  auto one = run_ensemble_share(prepared.value(), options);
  ASSERT_TRUE(one.is_ok()) << one.status().to_string();
  options.threads = 3;
  auto three = run_ensemble_share(prepared.value(), options);
  ASSERT_TRUE(three.is_ok()) << three.status().to_string();
  EXPECT_EQ(one.value().values, three.value().values);  // bit for bit
  EXPECT_EQ(one.value().figure_names, three.value().figure_names);
  // Two shares, each on two threads, merged.
  std::vector<EnsembleRuns> shares;
  for (int share = 0; share < 2; ++share) {
    options.threads = 2;
    options.share = share;
    options.share_count = 2;
    auto part = run_ensemble_share(prepared.value(), options);
    ASSERT_TRUE(part.is_ok()) << part.status().to_string();
    shares.push_back(part.value());
  }
  auto merged = merge_ensemble_shares(shares, 10);
  ASSERT_TRUE(merged.is_ok()) << merged.status().to_string();
  EXPECT_EQ(merged.value().values, one.value().values);
  // Run i is the single run with seed ensemble_run_seed(5, i).
  auto run3 = run_prepared_simulation(prepared.value(), ensemble_run_seed(5, 3));
  ASSERT_TRUE(run3.is_ok());
  const std::vector<HeadlineFigure> figures3 = headline_figures(run3.value());
  const std::size_t width = figures3.size();
  ASSERT_EQ(one.value().figure_names.size(), width);
  for (std::size_t f = 0; f < width; ++f) {
    EXPECT_EQ(one.value().values[3 * width + f], figures3[f].value) << figures3[f].name;
  }
  // The disruption happens in some runs and not in others, and moves the gallium price.
  const auto column = [&](const std::string& name) {
    const auto at =
        std::find(one.value().figure_names.begin(), one.value().figure_names.end(), name) -
        one.value().figure_names.begin();
    std::vector<double> out;
    for (std::size_t k = 0; k < 10; ++k) {
      out.push_back(one.value().values[k * width + static_cast<std::size_t>(at)]);
    }
    return out;
  };
  const std::vector<double> happened = column("disruptions_happened");
  const std::vector<double> price = column("gallium.world_price_max");
  EXPECT_EQ(std::set<double>(happened.begin(), happened.end()), (std::set<double>{0.0, 1.0}));
  for (std::size_t k = 0; k < 10; ++k) {
    for (std::size_t j = 0; j < 10; ++j) {
      if (happened[k] == 1.0 && happened[j] == 0.0) {
        EXPECT_GT(price[k], price[j]);
      }
    }
  }
}

TEST(Ensemble, GivesYearlyPathBandsAsQuantilesOfEachRunsPaths) {
  const SimulationScenario scenario = read_ok(kScenario);
  auto prepared = prepare_simulation(default_data(), scenario);
  ASSERT_TRUE(prepared.is_ok()) << prepared.status().to_string();
  EnsembleOptions options;
  options.seed = 5;
  options.runs = 10;
  options.threads = 2;
  auto runs = run_ensemble_share(prepared.value(), options);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  const EnsembleRuns& all = runs.value();
  EXPECT_EQ(all.path_names,
            (std::vector<std::string>{
                "gallium.world_price", "gallium.eu_shortfall", "gallium.eu_physical_shortage",
                "gallium.top_third_country_share", "lithium.world_price", "lithium.eu_shortfall",
                "lithium.eu_physical_shortage", "lithium.top_third_country_share"}));
  EXPECT_EQ(all.path_years, 4u);
  ASSERT_EQ(all.path_values.size(), 10 * all.path_width());
  // Each run's paths are its own single run's, year by year.
  std::vector<std::vector<YearlyPath>> single;
  for (std::size_t run = 0; run < 10; ++run) {
    auto result = run_prepared_simulation(prepared.value(), ensemble_run_seed(5, run));
    ASSERT_TRUE(result.is_ok());
    single.push_back(yearly_paths(result.value()));
    for (std::size_t p = 0; p < single.back().size(); ++p) {
      for (std::size_t y = 0; y < 4; ++y) {
        EXPECT_EQ(all.path_values[run * all.path_width() + p * 4 + y], single.back()[p].values[y]);
      }
    }
  }
  // The 2026 world price of the headline figure's mean is the path's: same arithmetic.
  EXPECT_NEAR(
      single[0][0].values[0] + single[0][0].values[1] + single[0][0].values[2] +
          single[0][0].values[3],
      4 * figure(headline_figures(
                     run_prepared_simulation(prepared.value(), ensemble_run_seed(5, 0)).value()),
                 "gallium.world_price_mean"),
      1e-6);
  // The summary's bands are the quantiles over the runs, per year.
  const EnsembleSummary summary = summarize_ensemble(scenario, 5, all);
  ASSERT_EQ(summary.paths.size(), 8u);
  for (std::size_t p = 0; p < 8; ++p) {
    EXPECT_EQ(summary.paths[p].first_year, 2025);
    for (std::size_t y = 0; y < 4; ++y) {
      std::vector<double> column;
      for (const auto& run : single) column.push_back(run[p].values[y]);
      std::sort(column.begin(), column.end());
      EXPECT_EQ(summary.paths[p].p5[y], quantile_sorted(column, 0.05));
      EXPECT_EQ(summary.paths[p].p50[y], quantile_sorted(column, 0.50));
      EXPECT_EQ(summary.paths[p].p95[y], quantile_sorted(column, 0.95));
    }
  }
  // The ban of 2026-2027 happens in some runs: the 2026 gallium price band opens up.
  EXPECT_LT(summary.paths[0].p5[1], summary.paths[0].p95[1]);
  const auto json = nlohmann::json::parse(ensemble_to_json(summary));
  EXPECT_EQ(json["paths"][0]["name"], "gallium.world_price");
  EXPECT_EQ(json["paths"][0]["p95"].size(), 4u);
}

TEST(Ensemble, PhysicalShortageBandOpensWhenTheBanHappensInSomeRunsOnly) {
  // A Chinese magnesium ban on the club that happens in about half of the runs: the EU is
  // physically short in those runs and not in the others, so P5 and P95 differ.
  const SimulationScenario scenario = read_ok(
      "[scenario]\nname = \"mg\"\nyears = [2025, 2027]\nseed = 3\nmaterials = [\"magnesium\"]\n"
      "[club]\nmembers = [\"EU27\"]\n[[disruption]]\norigin = \"CHN\"\nmaterial = "
      "\"magnesium\"\nstage = \"processing\"\nkind = \"export_ban\"\ndestinations = "
      "[\"club\"]\nstart = 2026\nyears = 1\nprobability = 0.5\n");
  auto prepared = prepare_simulation(default_data(), scenario);
  ASSERT_TRUE(prepared.is_ok()) << prepared.status().to_string();
  EnsembleOptions options;
  options.seed = 9;
  options.runs = 20;
  options.threads = 2;
  auto runs = run_ensemble_share(prepared.value(), options);
  ASSERT_TRUE(runs.is_ok()) << runs.status().to_string();
  const EnsembleSummary summary = summarize_ensemble(scenario, 9, runs.value());
  const auto band = std::find_if(
      summary.figures.begin(), summary.figures.end(),
      [](const FigureBand& f) { return f.name == "magnesium.eu_physical_shortage_t_total"; });
  ASSERT_NE(band, summary.figures.end());
  EXPECT_EQ(band->unit, "t");
  EXPECT_EQ(band->p5, 0.0);
  EXPECT_GT(band->p95, 0.0);
  EXPECT_GT(band->max, band->min);
}

TEST(Ensemble, RejectsZeroRunsAndZeroThreads) {
  const SimulationScenario scenario = read_ok(kScenario);
  auto prepared = prepare_simulation(default_data(), scenario);
  ASSERT_TRUE(prepared.is_ok());
  EnsembleOptions options;
  options.runs = 0;
  EXPECT_EQ(run_ensemble_share(prepared.value(), options).status().code(),
            StatusCode::kInvalidInput);
  options.runs = 2;
  options.threads = 0;
  EXPECT_EQ(run_ensemble_share(prepared.value(), options).status().code(),
            StatusCode::kInvalidInput);
}

class EnsembleCli : public ::testing::Test {
 protected:
  void SetUp() override { test::write_file(scenario_, kScenario); }
  std::string args(const std::string& flags, const std::string& out) const {
    return "ensemble " + test::quote(scenario_.string()) + " " + flags + " --out " +
           test::quote((dir_.path() / out).string());
  }
  test::TempDir dir_{"critmin_ensemble_"};
  std::filesystem::path scenario_ = dir_.path() / "ens.toml";
};

TEST_F(EnsembleCli, BadFlagsExitWithTwoAndSayWhichAndHow) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--runs 0 --threads 1", "--runs '0': write a whole number from 1 to 1000000"},
      {"--runs 5 --threads 0", "--threads '0': write a whole number from 1 to 1024"},
      {"--runs 5 --seed -3", "--seed '-3': write a whole number >= 0"},
      {"--runs ten", "--runs 'ten': write a whole number"},
      {"--runs 2.5", "--runs '2.5': write a whole number"},
      {"--threads 2", "--runs is required"},
      {"--runs 2 --format xml",
       "--format 'xml': write --format table, --format json or --format csv"},
  };
  for (const auto& [flags, message] : cases) {
    const test::CliRun run = test::run_cli(dir_.path(), args(flags, "bad"));
    EXPECT_EQ(run.exit_code, 2) << flags << "\n" << run.err;
    EXPECT_NE(run.err.find(message), std::string::npos) << flags << "\n" << run.err;
    EXPECT_FALSE(std::filesystem::exists(dir_.path() / "bad")) << flags;
  }
}

TEST_F(EnsembleCli, FormatCsvWritesLongTablesWithAUnitColumn) {
  const test::CliRun run =
      test::run_cli(dir_.path(), args("--runs 4 --seed 3 --threads 1 --format csv", "csv"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::filesystem::path out = dir_.path() / "csv";
  const std::string figures = test::read_file(out / "figures.csv");
  EXPECT_EQ(figures.substr(0, figures.find('\n')), "figure,label,statistic,value,unit");
  EXPECT_NE(figures.find(",p50,"), std::string::npos) << figures;
  const std::string runs = test::read_file(out / "runs.csv");
  EXPECT_EQ(runs.substr(0, runs.find('\n')), "run,figure,label,value,unit");
  EXPECT_NE(runs.find("\n3,"), std::string::npos) << "four runs, numbered 0-3";
  EXPECT_FALSE(test::read_file(out / "paths.csv").empty());
  EXPECT_NE(run.out.find("figures.csv"), std::string::npos) << run.out;
}

TEST_F(EnsembleCli, WritesTheSameBytesWithOneOrTwoThreads) {
  const test::CliRun one =
      test::run_cli(dir_.path(), args("--runs 8 --seed 21 --threads 1 --format json", "t1"));
  ASSERT_EQ(one.exit_code, 0) << one.err;
  const test::CliRun two =
      test::run_cli(dir_.path(), args("--runs 8 --seed 21 --threads 2 --format json", "t2"));
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(one.out, two.out);
  for (const char* file : {"summary.json", "results.sqlite"}) {
    const std::string a = test::read_file(dir_.path() / "t1" / file);
    EXPECT_FALSE(a.empty()) << file;
    EXPECT_EQ(a, test::read_file(dir_.path() / "t2" / file)) << file;
  }
  const auto summary = nlohmann::json::parse(one.out);
  EXPECT_EQ(summary["runs"], 8);
  EXPECT_EQ(summary["seed"], 21);
  const std::string store = test::read_file(dir_.path() / "t1" / "results.sqlite");
  EXPECT_EQ(store.substr(0, 15), "SQLite format 3");
  // Another seed draws other runs.
  const test::CliRun other =
      test::run_cli(dir_.path(), args("--runs 8 --seed 22 --threads 2 --format json", "t3"));
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_NE(other.out, one.out);
}

// `mpirun -np K critmin ensemble ...` through the shell, output in files of `dir`. As root,
// Open MPI's mpirun refuses to start without --allow-run-as-root; --oversubscribe lets it start
// more ranks than the machine has free cores. In the sanitizer build the ranks run without
// LeakSanitizer (LSAN_OPTIONS, ignored by other builds): Open MPI's plug-ins keep allocations to
// the end of the process and are unloaded before the leak check, so their frames have no module
// name that a suppression could match. The same ensembles run without mpirun in these tests are
// checked for leaks.
test::CliRun run_mpi(const std::filesystem::path& dir, int ranks, const std::string& args) {
  const std::filesystem::path out = dir / "stdout.txt";
  const std::filesystem::path err = dir / "stderr.txt";
  const std::string command = "LSAN_OPTIONS=detect_leaks=0 " + test::quote(CRITMIN_TEST_MPIEXEC) +
                              " --allow-run-as-root --oversubscribe -np " + std::to_string(ranks) +
                              " " + test::quote(CRITMIN_TEST_BINARY) + " " + args + " >" +
                              test::quote(out.string()) + " 2>" + test::quote(err.string());
  const int status = std::system(command.c_str());
  test::CliRun result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = test::read_file(out);
  result.err = test::read_file(err);
  return result;
}

TEST_F(EnsembleCli, GivesTheSameOutputOnOneOrTwoMpiRanksAsWithoutMpi) {
  const std::string flags = "--runs 7 --seed 4 --threads 1 --format json";
  const test::CliRun plain = test::run_cli(dir_.path(), args(flags, "plain"));
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  const test::CliRun threads =
      test::run_cli(dir_.path(), args("--runs 7 --seed 4 --threads 2 --format json", "threads"));
  ASSERT_EQ(threads.exit_code, 0) << threads.err;
  const test::CliRun one_rank = run_mpi(dir_.path(), 1, args(flags, "k1"));
  ASSERT_EQ(one_rank.exit_code, 0) << one_rank.err;
  const test::CliRun two_ranks = run_mpi(dir_.path(), 2, args(flags, "k2"));
  ASSERT_EQ(two_ranks.exit_code, 0) << two_ranks.err;
  EXPECT_EQ(plain.out, threads.out);
  EXPECT_EQ(plain.out, one_rank.out);
  EXPECT_EQ(plain.out, two_ranks.out);  // printed once, by rank 0
  for (const char* file : {"summary.json", "results.sqlite"}) {
    const std::string reference = test::read_file(dir_.path() / "plain" / file);
    ASSERT_FALSE(reference.empty()) << file;
    for (const char* other : {"threads", "k1", "k2"}) {
      EXPECT_EQ(reference, test::read_file(dir_.path() / other / file)) << other << " " << file;
    }
  }
  // A bad flag under mpirun: every rank exits with 2, the message is printed once.
  const test::CliRun bad = run_mpi(dir_.path(), 2, args("--runs 0", "bad"));
  EXPECT_NE(bad.exit_code, 0);
  const std::string message = "--runs '0'";
  const auto first = bad.err.find(message);
  ASSERT_NE(first, std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find(message, first + 1), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace critmin::sim
