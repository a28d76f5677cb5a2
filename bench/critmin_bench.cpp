// critmin's benchmarks. Each case times a figure and a baseline in the same process (median of
// several runs, steady clock) and prints the ratio figure/baseline, because absolute times on a
// shared machine are noisy while a ratio measured side by side is not. Each case also checks its
// target from the issue that set it and the process's peak memory.
//
//   build/bench/critmin_bench --data data --sources data/sources [--runs N]
//                             [--case assess|import|clear|instruments|strategic] [--verbose 1]
//
// --case runs one case only (all by default); --verbose 1 prints the instruments case per
// material (outer rounds, whether the CfD budget binds).
//
// Cases
//   assess: figure = load the dataset and assess every material and stage (what `critmin assess`
//           does); baseline = only parsing every dataset CSV file (the I/O floor). Target 0.3 s.
//           Printed twice: with glibc's default heap policy, and then with the heap kept between
//           repetitions (no trimming), which times the work without the allocator's page faults.
//   import: figure = import_sources on the public sources into a temporary directory;
//           baseline = only parsing every source CSV file. Target 10 s.
//   clear:  one world-year: the base-year market of every modelled material cleared on one core.
//           figure = the network path (clear_market, one material after another).
//           Two baselines with Clp, both printed: (a) the whole world-year as one generic LP
//           (every material's full route model, each scaled to unit magnitudes, in one
//           block-diagonal LP; its sloped supply and demand enter unrefined, as flat arcs, so it
//           is a lower bound on an LP's time, for information), and (b) clear_market on the LP
//           path, one material after another: the same model, refined the same way.
//           Targets (market model v2): (b)/figure >= 10 and figure < 20 ms.
//   instruments: the same world-year with every club instrument active on every material (a levy
//           floor at 110% of the base price, a certified segment for 30% of member demand, a CfD
//           for member refiners with a budget, an offtake from the largest refiner outside the
//           EU, a 60-day EU stockpile half full, joint purchasing of 20% of member demand).
//           figure = clearing with the instruments; baseline = clearing without them, timed in
//           alternation (one of each per run). Target: figure/baseline < 5.
//   strategic: a strategic dominant supplier (critmin/policy/strategic_supplier.h): China as a
//           profit-maximising leader in the refined neodymium, gallium and natural graphite
//           markets, each with a 110%-of-base top-up floor for the club. figure = clearing with
//           the leader's search; baseline = the same clearings with China passive, timed in
//           alternation. Target (issue 17): figure/baseline <= 20.
#include <fmt/format.h>
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/csv.h"
#include "critmin/market/calibration.h"
#include "critmin/market/market.h"
#include "critmin/metrics/assess.h"
#include "critmin/policy/club.h"
#include "critmin/policy/strategic_supplier.h"
#include "critmin/scenario/scenario.h"
#include "critmin/world/dataset.h"
#include "critmin/world/importer.h"
#include "market/flow_problem.h"

namespace {

using Clock = std::chrono::steady_clock;

double median_seconds(int runs, const std::function<bool()>& body) {
  std::vector<double> seconds;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    if (!body()) {
      fmt::print(stderr, "benchmark body failed\n");
      std::exit(1);
    }
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  return seconds[seconds.size() / 2];
}

// Medians of a figure and its baseline timed in alternation (figure, baseline, figure, ...), so
// that a change of the machine's speed during the runs (frequency, the other core's load) falls
// on both alike instead of on whichever ran in the slow phase.
std::pair<double, double> alternating_medians(int runs, const std::function<bool()>& figure,
                                              const std::function<bool()>& baseline) {
  std::vector<double> figure_seconds, baseline_seconds;
  for (int i = 0; i < runs; ++i) {
    figure_seconds.push_back(median_seconds(1, figure));
    baseline_seconds.push_back(median_seconds(1, baseline));
  }
  std::sort(figure_seconds.begin(), figure_seconds.end());
  std::sort(baseline_seconds.begin(), baseline_seconds.end());
  return {figure_seconds[figure_seconds.size() / 2], baseline_seconds[baseline_seconds.size() / 2]};
}

bool parse_all_csv(const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".csv") continue;
    if (!critmin::read_csv_file(entry.path()).is_ok()) return false;
  }
  return true;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

bool report(const char* name, double figure_s, double baseline_s, double target_s) {
  const bool ok = figure_s < target_s;
  fmt::print(
      "{:<8} figure {:8.2f} ms  baseline {:8.2f} ms  ratio figure/baseline {:6.2f}  target "
      "< {:.0f} ms: {}\n",
      name, figure_s * 1e3, baseline_s * 1e3, figure_s / baseline_s, target_s * 1e3,
      ok ? "met" : "NOT MET");
  return ok;
}

}  // namespace

// A figure every subsidy reports; a name missing from the output table stops the benchmark.
double instrument_figure(const critmin::policy::InstrumentReport& report, const char* name) {
  const critmin::Result<double> value = report.figure(name);
  if (!value.is_ok()) {
    std::fprintf(stderr, "critmin_bench: %s\n", value.status().to_string().c_str());
    std::exit(1);
  }
  return value.value();
}

int main(int argc, char** argv) {
  std::filesystem::path data_dir = "data";
  std::filesystem::path sources_dir = "data/sources";
  int runs = 7;
  std::string only_case;
  bool verbose = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--data") {
      data_dir = argv[i + 1];
    } else if (flag == "--sources") {
      sources_dir = argv[i + 1];
    } else if (flag == "--runs") {
      runs = std::max(1, std::atoi(argv[i + 1]));
    } else if (flag == "--case") {
      only_case = argv[i + 1];
    } else if (flag == "--verbose") {
      verbose = std::atoi(argv[i + 1]) != 0;
    } else {
      fmt::print(stderr,
                 "unknown flag {}; use --data DIR --sources DIR --runs N --case NAME --verbose "
                 "0|1\n",
                 flag);
      return 2;
    }
  }
  bool all_met = true;
  const auto wants = [&](const char* name) { return only_case.empty() || only_case == name; };

  const auto load_and_assess = [&] {
    auto data = critmin::load_dataset(data_dir);
    if (!data.is_ok()) {
      fmt::print(stderr, "{}\n", data.status().to_string());
      return false;
    }
    return critmin::assess(data.value(), {}).is_ok();
  };
  if (wants("assess")) {
    const double assess_baseline = median_seconds(runs, [&] { return parse_all_csv(data_dir); });
    const double assess_figure = median_seconds(runs, load_and_assess);
    all_met &= report("assess", assess_figure, assess_baseline, 0.3);
  }

  if (!wants("import")) {
    // skipped on request
  } else if (std::filesystem::is_directory(sources_dir)) {
    const std::filesystem::path out =
        std::filesystem::temp_directory_path() / fmt::format("critmin-bench-{}", ::getpid());
    const double import_baseline = median_seconds(runs, [&] { return parse_all_csv(sources_dir); });
    const double import_figure = median_seconds(runs, [&] {
      auto report_or =
          critmin::import_sources({sources_dir, out, data_dir, critmin::default_iso_codes_json()});
      if (!report_or.is_ok()) fmt::print(stderr, "{}\n", report_or.status().to_string());
      return report_or.is_ok();
    });
    std::filesystem::remove_all(out);
    all_met &= report("import", import_figure, import_baseline, 10.0);
  } else {
    fmt::print("import   skipped: no sources at {}\n", sources_dir.string());
  }
  {
    auto data = critmin::load_dataset(data_dir);
    if (!data.is_ok()) {
      fmt::print(stderr, "{}\n", data.status().to_string());
      return 1;
    }
    std::vector<critmin::market::MarketModel> models;
    for (const std::string& id : critmin::market::market_coverage(data.value(), 2023).modelled) {
      models.push_back(critmin::market::build_market(data.value(), id, 2023).value().model);
    }
    const auto clear_all = [&](critmin::market::SolverPath path) {
      for (const auto& model : models) {
        auto eq = critmin::market::clear_market(model, path);
        if (!eq.is_ok() || eq.value().termination != critmin::market::Termination::kOptimal) {
          return false;
        }
      }
      return true;
    };
    if (wants("clear")) {
      const double network =
          median_seconds(runs, [&] { return clear_all(critmin::market::SolverPath::kNetwork); });
      const double lp = median_seconds(
          runs, [&] { return clear_all(critmin::market::SolverPath::kLinearProgram); });
      // (a) The world-year as one LP: each material's flow problem (no pooling) scaled to unit
      // magnitudes and stacked block-diagonally.
      critmin::market::FlowProblem world;
      world.node_count = 0;
      for (const auto& model : models) {
        critmin::market::FlowProblem block = critmin::market::build_flow_problem(model, {}, false);
        double max_cost = 0.0;
        for (const auto& a : block.arcs) max_cost = std::max(max_cost, std::abs(a.cost));
        const double q = 1.0 / block.supply[block.source];
        const double c = max_cost > 0 ? 1.0 / max_cost : 1.0;
        for (auto a : block.arcs) {
          a.tail += world.node_count;
          a.head += world.node_count;
          a.capacity *= q;
          a.cost *= c;
          world.arcs.push_back(a);
        }
        for (double b : block.supply) world.supply.push_back(b * q);
        world.node_count += block.node_count;
      }
      const double world_lp = median_seconds(std::max(1, runs / 2), [&] {
        return critmin::market::solve_clp(world).termination ==
               critmin::market::Termination::kOptimal;
      });
      const bool fast_enough = network < 0.020;
      const bool ratio_met = lp / network >= 10.0;
      fmt::print(
          "clear    {} materials: network {:.2f} ms; Clp: one world-year LP of flat arcs {:.2f} ms "
          "(ratio {:.1f}, for information), per-material LPs {:.2f} ms (ratio {:.1f})\n"
          "         targets: ratio >= 10 against the per-material LPs: {}; network < 20 ms: {}\n",
          models.size(), network * 1e3, world_lp * 1e3, world_lp / network, lp * 1e3, lp / network,
          ratio_met ? "met" : "NOT MET", fast_enough ? "met" : "NOT MET");
      all_met &= fast_enough && ratio_met;
    }
    if (wants("instruments")) {
      // Instruments: one scenario per material, read once; cleared on fresh copies of the market.
      struct WithInstruments {
        critmin::market::CalibratedMarket market;
        critmin::policy::ClearingScenario scenario;
      };
      std::vector<WithInstruments> cases;
      for (const std::string& id : critmin::market::market_coverage(data.value(), 2023).modelled) {
        auto market = critmin::market::build_market(data.value(), id, 2023).value();
        const auto& model = market.model;
        const double base = market.info.base_price_usd_per_t;
        std::size_t seller = model.regions.size();
        double largest = 0.0;
        double eu_demand_t = 0.0;  // the offtake stays within what the EU buys
        for (const auto& region : model.regions) {
          if (region.name == "EU27") eu_demand_t = region.base_demand_t;
        }
        for (std::size_t r = 0; r < model.regions.size(); ++r) {
          double capacity = 0.0;
          for (const auto& step : model.regions[r].processing) capacity += step.capacity_t;
          if (model.regions[r].name != "EU27" && capacity > largest) {
            largest = capacity;
            seller = r;
          }
        }
        std::string text = fmt::format(R"([club]
members = ["USA", "JPN", "EU27", "GBR", "CAN", "AUS", "KOR"]
[[instrument]]
type = "price_floor"
material = "{0}"
stage = "processing"
price = {1}
[[instrument]]
type = "certified_market"
material = "{0}"
standard = "club standard"
certified_demand_share = 0.3
[[instrument]]
type = "subsidy"
kind = "cfd"
material = "{0}"
stage = "processing"
strike = {2}
budget_usd = {3}
[[instrument]]
type = "stockpile"
material = "{0}"
holder = "EU27"
days_of_cover = 60.0
initial_fill = 0.5
release = "shortfall"
refill_price = {4}
refill_rate_t_per_year = {5}
holding_cost_usd_per_t_year = {6}
[[instrument]]
type = "joint_purchasing"
material = "{0}"
share = 0.2
)",
                                       id, 1.1 * base, 1.05 * base, 1e3 * base, 0.8 * base,
                                       0.01 * market.info.world_tonnage_t, 0.02 * base);
        if (seller < model.regions.size()) {
          text += fmt::format(R"([[instrument]]
type = "offtake"
material = "{}"
stage = "processing"
seller = "{}"
buyer = "EU27"
volume_t_per_year = {}
price_kind = "indexed"
floor = {}
start_year = 2020
tenor_years = 10
)",
                              id, model.regions[seller].name,
                              std::min(0.05 * largest, 0.2 * eu_demand_t), 0.9 * base);
        }
        auto scenario =
            critmin::scenario::read_clearing_scenario(text, id + ".toml", data.value(), 2023);
        if (!scenario.is_ok()) {
          fmt::print(stderr, "{}\n", scenario.status().to_string());
          return 1;
        }
        cases.push_back({std::move(market), std::move(scenario).value()});
      }
      int not_converged = 0, rounds = 0, binding = 0;
      const auto with_instruments_run = [&] {
        not_converged = rounds = binding = 0;
        for (const auto& c : cases) {
          auto market = c.market;
          auto outcome = critmin::policy::clear_with_instruments(data.value(), market, c.scenario);
          if (!outcome.is_ok()) {
            fmt::print(stderr, "{}\n", outcome.status().to_string());
            return false;
          }
          not_converged += outcome.value().converged ? 0 : 1;
          rounds += outcome.value().outer_iterations;
          for (const auto& report : outcome.value().instruments) {
            if (report.type == "subsidy" && instrument_figure(report, "subsidy_claimed") >
                                                instrument_figure(report, "budget")) {
              ++binding;
            }
          }
        }
        return true;
      };
      const auto without_instruments_run = [&] {
        for (const auto& c : cases) {
          auto market = c.market;
          if (!critmin::market::clear_market(market.model).is_ok()) return false;
        }
        return true;
      };
      const auto [with_instruments, without_instruments] =
          alternating_medians(runs, with_instruments_run, without_instruments_run);
      // Where the time goes: the models the instruments leave behind (twins, joint block, levies,
      // incentive costs), cleared once each, against the same baseline.
      std::vector<critmin::market::MarketModel> prepared;
      for (const auto& c : cases) {
        auto market = c.market;
        auto outcome = critmin::policy::clear_with_instruments(data.value(), market, c.scenario);
        if (!outcome.is_ok()) return 1;
        prepared.push_back(market.model);
        if (verbose) {
          const auto& o = outcome.value();
          std::string binds;
          for (const auto& report : o.instruments) {
            if (report.type == "subsidy" && instrument_figure(report, "subsidy_claimed") >
                                                instrument_figure(report, "budget")) {
              binds = " (CfD budget binds)";
            }
          }
          fmt::print("  {:<14} {:2d} round(s){}{}; {} regions, {} routes\n", market.model.material,
                     o.outer_iterations, o.converged ? "" : " NOT converged", binds,
                     market.model.regions.size(), market.model.routes.size());
        }
      }
      const double one_clearing = median_seconds(runs, [&] {
        for (const auto& model : prepared) {
          if (!critmin::market::clear_market(model).is_ok()) return false;
        }
        return true;
      });
      const double instrument_ratio = with_instruments / without_instruments;
      fmt::print(
          "instruments {} materials: with every instrument {:.2f} ms, without {:.2f} ms: ratio "
          "{:.2f} (target < 5: {})\n            {:.1f} outer rounds per material on average; the "
          "CfD budget binds on {} material(s); outer loop not converged on {}\n",
          cases.size(), with_instruments * 1e3, without_instruments * 1e3, instrument_ratio,
          instrument_ratio < 5.0 ? "met" : "NOT MET",
          static_cast<double>(rounds) / static_cast<double>(std::max<std::size_t>(1, cases.size())),
          binding, not_converged);
      fmt::print(
          "            one clearing of the models with instruments: {:.2f} ms (ratio {:.2f})\n",
          one_clearing * 1e3, one_clearing / without_instruments);
      all_met &= instrument_ratio < 5.0;
    }
  }
  if (only_case.empty() || only_case == "strategic") {
    auto data = critmin::load_dataset(data_dir);
    if (!data.is_ok()) {
      fmt::print(stderr, "{}\n", data.status().to_string());
      return 1;
    }
    struct Case {
      critmin::market::CalibratedMarket market;
      critmin::policy::ClearingScenario scenario;
      critmin::policy::StrategicSupplierSpec leader;
    };
    std::vector<Case> cases;
    for (const char* id : {"neodymium", "gallium", "natural_graphite"}) {
      auto market = critmin::market::build_market(data.value(), id, 2023);
      if (!market.is_ok()) {
        fmt::print(stderr, "{}\n", market.status().to_string());
        return 1;
      }
      const std::string text = fmt::format(
          "[club]\nmembers = [\"USA\", \"JPN\", \"EU27\", \"AUS\", \"CAN\", \"GBR\", \"KOR\"]\n"
          "[[instrument]]\ntype = \"price_floor\"\nmaterial = \"{}\"\nstage = \"processing\"\n"
          "price = {}\nenforcement = \"top_up\"\n",
          id, 1.1 * market.value().info.base_price_usd_per_t);
      auto scenario = critmin::scenario::read_clearing_scenario(text, std::string(id) + ".toml",
                                                                data.value(), 2023);
      if (!scenario.is_ok()) {
        fmt::print(stderr, "{}\n", scenario.status().to_string());
        return 1;
      }
      critmin::policy::StrategicSupplierSpec leader;
      leader.material = id;
      leader.origin = "CHN";
      leader.stage = critmin::Stage::kProcessing;
      cases.push_back({std::move(market).value(), std::move(scenario).value(), leader});
    }
    int clearings = 0;
    const auto strategic_run = [&] {
      clearings = 0;
      for (const Case& c : cases) {
        auto choice = critmin::policy::clear_with_strategic_supplier(data.value(), c.market,
                                                                     c.scenario, c.leader);
        if (!choice.is_ok()) {
          fmt::print(stderr, "{}\n", choice.status().to_string());
          return false;
        }
        clearings += choice.value().clearings;
      }
      return true;
    };
    const auto passive_run = [&] {
      for (const Case& c : cases) {
        auto market = c.market;
        if (!critmin::policy::clear_with_instruments(data.value(), market, c.scenario).is_ok()) {
          return false;
        }
      }
      return true;
    };
    const auto [strategic, passive] = alternating_medians(runs, strategic_run, passive_run);
    const double ratio = strategic / passive;
    fmt::print(
        "strategic {} materials: with a strategic leader {:.2f} ms, passive {:.2f} ms: ratio "
        "{:.2f} (target <= 20: {}); {:.1f} clearings per market\n",
        cases.size(), strategic * 1e3, passive * 1e3, ratio, ratio <= 20.0 ? "met" : "NOT MET",
        static_cast<double>(clearings) / static_cast<double>(cases.size()));
    all_met &= ratio <= 20.0;
  }
  if (wants("assess")) {
    // Loads repeated in one process time glibc's heap policy as well as the work: when the
    // dataset is freed, the free block at the top of the heap exceeds the trim threshold and goes
    // back to the kernel, and the next load faults every page of it in again. How often that
    // happens depends on the order of allocations, not on their number (a change that removes
    // work can add trims). The same pair again with the heap kept (both thresholds at 256 MiB)
    // times the work alone; it comes after every other case because it cannot be undone in the
    // process.
    if (mallopt(M_TRIM_THRESHOLD, 256 << 20) == 1 && mallopt(M_MMAP_THRESHOLD, 256 << 20) == 1) {
      const double kept_baseline = median_seconds(runs, [&] { return parse_all_csv(data_dir); });
      const double kept_figure = median_seconds(runs, load_and_assess);
      fmt::print(
          "assess   heap kept: figure {:6.2f} ms  baseline {:6.2f} ms  ratio figure/baseline "
          "{:6.2f}\n",
          kept_figure * 1e3, kept_baseline * 1e3, kept_figure / kept_baseline);
    }
  }
  fmt::print("peak memory {:.1f} MB (target < 200 MB)\n", peak_rss_mb());
  return all_met ? 0 : 1;
}
