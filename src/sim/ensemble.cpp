// Monte Carlo ensembles (critmin/sim/ensemble.h): seeds per run, the runs of a share on worker
// threads, merging shares, quantiles, and the ensemble's JSON, table and SQLite store.
#include "critmin/sim/ensemble.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>

#include "sim/sqlite_database.h"
#include "sim/status_context.h"

namespace critmin::sim {

std::uint64_t splitmix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t ensemble_run_seed(std::uint64_t ensemble_seed, std::uint64_t run) {
  return splitmix64(splitmix64(ensemble_seed) + run);
}

std::vector<std::size_t> ensemble_share_runs(std::size_t runs, int share, int share_count) {
  std::vector<std::size_t> mine;
  if (share < 0 || share_count < 1 || share >= share_count) return mine;
  const auto count = static_cast<std::size_t>(share_count);
  for (std::size_t i = static_cast<std::size_t>(share); i < runs; i += count) mine.push_back(i);
  return mine;
}

namespace {

bool same_figures(const std::vector<HeadlineFigure>& figures,
                  const std::vector<HeadlineFigure>& reference) {
  if (figures.size() != reference.size()) return false;
  for (std::size_t f = 0; f < figures.size(); ++f) {
    if (figures[f].name != reference[f].name || figures[f].unit != reference[f].unit) return false;
  }
  return true;
}

bool same_paths(const std::vector<YearlyPath>& paths, const std::vector<YearlyPath>& reference) {
  if (paths.size() != reference.size()) return false;
  for (std::size_t p = 0; p < paths.size(); ++p) {
    if (paths[p].name != reference[p].name || paths[p].unit != reference[p].unit ||
        paths[p].values.size() != reference[p].values.size()) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<EnsembleRuns> run_ensemble_share(const PreparedSimulation& prepared,
                                        const EnsembleOptions& options,
                                        const EnsembleProgress& progress) {
  if (options.runs < 1) {
    return Status::invalid_input("an ensemble needs at least 1 run");
  }
  if (options.threads < 1) {
    return Status::invalid_input("an ensemble needs at least 1 thread");
  }
  if (options.share_count < 1 || options.share < 0 || options.share >= options.share_count) {
    return Status::invalid_input(
        fmt::format("share {} of {} does not exist", options.share, options.share_count));
  }
  const std::vector<std::size_t> mine =
      ensemble_share_runs(options.runs, options.share, options.share_count);
  EnsembleRuns out;
  out.runs = mine;
  if (mine.empty()) return out;

  // Slot k holds run mine[k]'s figures. Workers take slots in ascending order from one counter,
  // so when a run fails every run of a lower index has been started and will finish: the
  // failure reported (that of the lowest run index) does not depend on the thread count.
  std::vector<std::vector<double>> values(mine.size()), path_values(mine.size());
  std::vector<HeadlineFigure> reference;  // the first finished run's names and units
  std::vector<YearlyPath> reference_paths;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex mutex;  // guards everything below, the reference and the progress callback
  std::size_t done = 0;
  std::size_t failed_slot = mine.size();
  Status failure = Status::ok();

  const auto work = [&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const std::size_t k = next.fetch_add(1);
      if (k >= mine.size()) return;
      const std::size_t run = mine[k];
      const std::uint64_t seed = ensemble_run_seed(options.seed, run);
      Result<SimulationResult> result = run_prepared_simulation(prepared, seed);
      Status status = Status::ok();
      std::vector<HeadlineFigure> figures;
      std::vector<YearlyPath> paths;
      if (result.is_ok()) {
        figures = headline_figures(result.value());
        paths = yearly_paths(result.value());
      } else {
        status = result.status();
      }
      std::lock_guard<std::mutex> lock(mutex);
      if (status.is_ok()) {
        if (reference.empty()) {
          reference = figures;
          reference_paths = paths;
        } else if (!same_figures(figures, reference) || !same_paths(paths, reference_paths)) {
          status = Status::internal(
              "its headline figures differ from another run's; the figures must depend on the "
              "scenario only");
        }
      }
      if (!status.is_ok()) {
        if (k < failed_slot) {
          failed_slot = k;
          failure = in_context(status, fmt::format("run {} (seed {})", run, seed));
        }
        stop.store(true, std::memory_order_relaxed);
        continue;
      }
      values[k].reserve(figures.size());
      for (const HeadlineFigure& f : figures) values[k].push_back(f.value);
      for (const YearlyPath& p : paths) {
        path_values[k].insert(path_values[k].end(), p.values.begin(), p.values.end());
      }
      ++done;
      if (progress) progress(done, mine.size());
    }
  };
  const std::size_t thread_count = std::min(mine.size(), static_cast<std::size_t>(options.threads));
  std::vector<std::thread> workers;
  workers.reserve(thread_count - 1);
  for (std::size_t t = 1; t < thread_count; ++t) workers.emplace_back(work);
  work();  // the calling thread is worker 0
  for (std::thread& w : workers) w.join();
  CRITMIN_RETURN_IF_ERROR(failure);

  for (const HeadlineFigure& f : reference) {
    out.figure_names.push_back(f.name);
    out.figure_units.push_back(f.unit);
  }
  out.values.reserve(mine.size() * reference.size());
  for (const std::vector<double>& v : values)
    out.values.insert(out.values.end(), v.begin(), v.end());
  for (const YearlyPath& p : reference_paths) {
    out.path_names.push_back(p.name);
    out.path_units.push_back(p.unit);
  }
  out.path_years = reference_paths.empty() ? 0 : reference_paths.front().values.size();
  out.path_values.reserve(mine.size() * out.path_width());
  for (const std::vector<double>& v : path_values) {
    out.path_values.insert(out.path_values.end(), v.begin(), v.end());
  }
  return out;
}

Result<EnsembleRuns> merge_ensemble_shares(const std::vector<EnsembleRuns>& shares,
                                           std::size_t runs) {
  EnsembleRuns all;
  const EnsembleRuns* named = nullptr;
  for (const EnsembleRuns& share : shares) {
    if (share.runs.empty()) continue;
    if (!named) {
      named = &share;
    } else if (share.figure_names != named->figure_names ||
               share.figure_units != named->figure_units || share.path_names != named->path_names ||
               share.path_units != named->path_units || share.path_years != named->path_years) {
      return Status::internal("the shares of the ensemble report different headline figures");
    }
  }
  if (!named) return Status::internal("the ensemble holds no run");
  all.figure_names = named->figure_names;
  all.figure_units = named->figure_units;
  all.path_names = named->path_names;
  all.path_units = named->path_units;
  all.path_years = named->path_years;
  const std::size_t width = all.figure_names.size();
  const std::size_t path_width = all.path_width();
  std::vector<const double*> row_of(runs, nullptr), path_row_of(runs, nullptr);
  for (const EnsembleRuns& share : shares) {
    if (share.values.size() != share.runs.size() * width ||
        share.path_values.size() != share.runs.size() * path_width) {
      return Status::internal(fmt::format(
          "a share holds {} values and {} path values for {} runs of {} figures and "
          "{} path values each",
          share.values.size(), share.path_values.size(), share.runs.size(), width, path_width));
    }
    for (std::size_t k = 0; k < share.runs.size(); ++k) {
      const std::size_t run = share.runs[k];
      if (run >= runs) return Status::internal(fmt::format("run {} is beyond the {}", run, runs));
      if (row_of[run]) return Status::internal(fmt::format("run {} is in two shares", run));
      row_of[run] = share.values.data() + k * width;
      path_row_of[run] = share.path_values.data() + k * path_width;
    }
  }
  all.runs.reserve(runs);
  all.values.reserve(runs * width);
  all.path_values.reserve(runs * path_width);
  for (std::size_t run = 0; run < runs; ++run) {
    if (!row_of[run]) return Status::internal(fmt::format("run {} is in no share", run));
    all.runs.push_back(run);
    all.values.insert(all.values.end(), row_of[run], row_of[run] + width);
    all.path_values.insert(all.path_values.end(), path_row_of[run], path_row_of[run] + path_width);
  }
  return all;
}

double quantile_sorted(const std::vector<double>& sorted, double p) {
  const std::size_t n = sorted.size();
  if (n == 1) return sorted[0];
  const double h = static_cast<double>(n - 1) * std::clamp(p, 0.0, 1.0);
  const auto low = static_cast<std::size_t>(std::floor(h));
  if (low + 1 >= n) return sorted[n - 1];
  return sorted[low] + (h - static_cast<double>(low)) * (sorted[low + 1] - sorted[low]);
}

EnsembleSummary summarize_ensemble(const SimulationScenario& scenario, std::uint64_t seed,
                                   const EnsembleRuns& all_runs) {
  EnsembleSummary summary;
  summary.scenario_name = scenario.name;
  summary.seed = seed;
  summary.runs = all_runs.runs.size();
  summary.first_year = scenario.first_year;
  summary.last_year = scenario.last_year;
  summary.base_year = scenario.base_year;
  summary.materials = scenario.materials;
  const std::size_t width = all_runs.figure_names.size();
  std::vector<double> column(summary.runs);
  for (std::size_t f = 0; f < width; ++f) {
    // Summed in run order, so the mean does not depend on how the runs were spread.
    double sum = 0.0;
    for (std::size_t k = 0; k < summary.runs; ++k) {
      column[k] = all_runs.values[k * width + f];
      sum += column[k];
    }
    std::sort(column.begin(), column.end());
    FigureBand band;
    band.name = all_runs.figure_names[f];
    band.unit = all_runs.figure_units[f];
    if (!column.empty()) {
      band.p5 = quantile_sorted(column, 0.05);
      band.p50 = quantile_sorted(column, 0.50);
      band.p95 = quantile_sorted(column, 0.95);
      band.mean = sum / static_cast<double>(column.size());
      band.min = column.front();
      band.max = column.back();
    }
    summary.figures.push_back(std::move(band));
  }
  const std::size_t path_width = all_runs.path_width();
  if (all_runs.path_values.size() == summary.runs * path_width) {
    for (std::size_t p = 0; p < all_runs.path_names.size(); ++p) {
      PathBand band;
      band.name = all_runs.path_names[p];
      band.unit = all_runs.path_units[p];
      band.first_year = scenario.first_year;
      for (std::size_t y = 0; y < all_runs.path_years; ++y) {
        for (std::size_t k = 0; k < summary.runs; ++k) {
          column[k] = all_runs.path_values[k * path_width + p * all_runs.path_years + y];
        }
        std::sort(column.begin(), column.end());
        band.p5.push_back(column.empty() ? 0.0 : quantile_sorted(column, 0.05));
        band.p50.push_back(column.empty() ? 0.0 : quantile_sorted(column, 0.50));
        band.p95.push_back(column.empty() ? 0.0 : quantile_sorted(column, 0.95));
      }
      summary.paths.push_back(std::move(band));
    }
  }
  return summary;
}

std::string ensemble_to_json(const EnsembleSummary& summary) {
  using nlohmann::json;
  json out;
  out["scenario"] = summary.scenario_name;
  out["seed"] = summary.seed;
  out["runs"] = summary.runs;
  out["years"] = {summary.first_year, summary.last_year};
  out["base_year"] = summary.base_year;
  out["materials"] = summary.materials;
  out["run_seed"] = "splitmix64(splitmix64(seed) + run), run = 0 .. runs-1";
  out["quantiles"] = "linear interpolation between order statistics (Hyndman-Fan 7)";
  json figures = json::array();
  for (const FigureBand& b : summary.figures) {
    figures.push_back({{"name", b.name},
                       {"unit", b.unit},
                       {"p5", b.p5},
                       {"p50", b.p50},
                       {"p95", b.p95},
                       {"mean", b.mean},
                       {"min", b.min},
                       {"max", b.max}});
  }
  out["figures"] = std::move(figures);
  json paths = json::array();
  for (const PathBand& p : summary.paths) {
    paths.push_back({{"name", p.name},
                     {"unit", p.unit},
                     {"first_year", p.first_year},
                     {"p5", p.p5},
                     {"p50", p.p50},
                     {"p95", p.p95}});
  }
  out["paths"] = std::move(paths);
  return out.dump(2) + "\n";
}

std::string ensemble_runs_to_json(const EnsembleRuns& runs) {
  using nlohmann::json;
  const std::size_t width = runs.figure_names.size();
  json figures = json::array();
  for (std::size_t f = 0; f < width; ++f) {
    json values = json::array();
    for (std::size_t k = 0; k < runs.runs.size() && (k + 1) * width <= runs.values.size(); ++k) {
      values.push_back(runs.values[k * width + f]);
    }
    figures.push_back({{"name", runs.figure_names[f]},
                       {"unit", runs.figure_units[f]},
                       {"values", std::move(values)}});
  }
  return json{{"figures", std::move(figures)}}.dump();
}

std::string ensemble_to_table(const EnsembleSummary& summary) {
  std::string out =
      fmt::format("{}: {} runs, seed {}, years {}-{}, {} material(s)\n\n",
                  summary.scenario_name.empty() ? "scenario" : summary.scenario_name, summary.runs,
                  summary.seed, summary.first_year, summary.last_year, summary.materials.size());
  std::size_t name_width = 6;
  for (const FigureBand& b : summary.figures) name_width = std::max(name_width, b.name.size());
  out += fmt::format("{:<{}}  {:<6}  {:>13}  {:>13}  {:>13}  {:>13}\n", "figure", name_width,
                     "unit", "P5", "P50", "P95", "mean");
  out += fmt::format("{:-<{}}  {:-<6}  {:->13}  {:->13}  {:->13}  {:->13}\n", "", name_width, "",
                     "", "", "", "");
  for (const FigureBand& b : summary.figures) {
    out += fmt::format("{:<{}}  {:<6}  {:>13.6g}  {:>13.6g}  {:>13.6g}  {:>13.6g}\n", b.name,
                       name_width, b.unit, b.p5, b.p50, b.p95, b.mean);
  }
  out +=
      "\nP5/P50/P95 over the runs (linear interpolation between order statistics); shares are "
      "fractions 0-1.\n";
  return out;
}

Status write_ensemble_sqlite(const EnsembleSummary& summary, const EnsembleRuns& all_runs,
                             const std::filesystem::path& file) {
  std::error_code error;
  std::filesystem::remove(file, error);
  if (error) {
    return Status::io_error(fmt::format("{}: cannot replace: {}", file.string(), error.message()));
  }
  Database db;
  if (Status s = db.open(file); !s.is_ok()) return s;
  // Seeds are unsigned 64-bit integers, beyond SQLite's signed INTEGER: they are stored as
  // decimal text.
  static constexpr const char* kSchema =
      "CREATE TABLE ensemble (scenario TEXT, seed TEXT, runs INTEGER, first_year INTEGER, "
      "last_year INTEGER, base_year INTEGER, run_seed TEXT, quantiles TEXT);"
      "CREATE TABLE figures (id INTEGER PRIMARY KEY, name TEXT UNIQUE, unit TEXT, p5 REAL, "
      "p50 REAL, p95 REAL, mean REAL, min REAL, max REAL);"
      "CREATE TABLE runs (run INTEGER PRIMARY KEY, seed TEXT);"
      "CREATE TABLE distribution (run INTEGER, figure INTEGER, value REAL, "
      "PRIMARY KEY (run, figure)) WITHOUT ROWID;"
      "CREATE VIEW distribution_named AS SELECT d.run, f.name AS figure, f.unit, d.value "
      "FROM distribution d JOIN figures f ON f.id = d.figure;";
  if (Status s = db.exec(kSchema); !s.is_ok()) return s;
  if (Status s = db.exec("BEGIN"); !s.is_ok()) return s;

  Statement ensemble;
  if (!ensemble.prepare(db.handle(), "INSERT INTO ensemble VALUES (?,?,?,?,?,?,?,?)")) {
    return db.failure("INSERT INTO ensemble");
  }
  bind_text(ensemble.get(), 1, summary.scenario_name);
  bind_text(ensemble.get(), 2, std::to_string(summary.seed));
  sqlite3_bind_int64(ensemble.get(), 3, static_cast<sqlite3_int64>(summary.runs));
  sqlite3_bind_int(ensemble.get(), 4, summary.first_year);
  sqlite3_bind_int(ensemble.get(), 5, summary.last_year);
  sqlite3_bind_int(ensemble.get(), 6, summary.base_year);
  bind_text(ensemble.get(), 7, "splitmix64(splitmix64(seed) + run)");
  bind_text(ensemble.get(), 8, "linear interpolation between order statistics (Hyndman-Fan 7)");
  if (!ensemble.step()) return db.failure("INSERT INTO ensemble");

  Statement figure;
  if (!figure.prepare(db.handle(), "INSERT INTO figures VALUES (?,?,?,?,?,?,?,?,?)")) {
    return db.failure("INSERT INTO figures");
  }
  for (std::size_t f = 0; f < summary.figures.size(); ++f) {
    const FigureBand& b = summary.figures[f];
    sqlite3_stmt* s = figure.get();
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(f));
    bind_text(s, 2, b.name);
    bind_text(s, 3, b.unit);
    int column = 4;
    for (double v : {b.p5, b.p50, b.p95, b.mean, b.min, b.max}) sqlite3_bind_double(s, column++, v);
    if (!figure.step()) return db.failure("INSERT INTO figures");
  }

  Statement run_row;
  Statement value_row;
  if (!run_row.prepare(db.handle(), "INSERT INTO runs VALUES (?,?)") ||
      !value_row.prepare(db.handle(), "INSERT INTO distribution VALUES (?,?,?)")) {
    return db.failure("INSERT INTO runs/distribution");
  }
  const std::size_t width = all_runs.figure_names.size();
  for (std::size_t k = 0; k < all_runs.runs.size(); ++k) {
    const std::size_t run = all_runs.runs[k];
    sqlite3_bind_int64(run_row.get(), 1, static_cast<sqlite3_int64>(run));
    bind_text(run_row.get(), 2, std::to_string(ensemble_run_seed(summary.seed, run)));
    if (!run_row.step()) return db.failure("INSERT INTO runs");
    sqlite3_bind_int64(value_row.get(), 1, static_cast<sqlite3_int64>(run));
    for (std::size_t f = 0; f < width; ++f) {
      sqlite3_bind_int64(value_row.get(), 2, static_cast<sqlite3_int64>(f));
      sqlite3_bind_double(value_row.get(), 3, all_runs.values[k * width + f]);
      if (!value_row.step()) return db.failure("INSERT INTO distribution");
    }
  }
  return db.exec("COMMIT");
}

}  // namespace critmin::sim
