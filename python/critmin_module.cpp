// critmin._critmin: the Python front end's native part. Like the CLI (apps/critmin), a thin layer
// over the library: each function reads its inputs with the library's readers, calls the same
// library functions the matching CLI command calls and hands back plain tables (column name ->
// list of values, or a long table's header and text rows); python/critmin/__init__.py turns them
// into pandas DataFrames. A failed Status becomes critmin.Error with the message the CLI prints
// after "critmin: error: " (file:line:key diagnostics included) and the Status's code.
//
// The GIL is released while the library works (loading the dataset, reading scenarios, clearing,
// simulating) and taken again only to build the Python results, so other Python threads run on.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "critmin/core/files.h"
#include "critmin/core/status.h"
#include "critmin/market/calibration.h"
#include "critmin/market/rare_earths.h"
#include "critmin/metrics/assess.h"
#include "critmin/policy/club.h"
#include "critmin/report/long_tables.h"
#include "critmin/report/report.h"
#include "critmin/scenario/bom.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/backtest.h"
#include "critmin/sim/compare.h"
#include "critmin/sim/ensemble.h"
#include "critmin/sim/investability.h"
#include "critmin/sim/simulation.h"
#include "critmin/world/dataset.h"

namespace py = pybind11;

namespace critmin::python {
namespace {

// A failed Status on its way to Python: thrown inside the bindings, translated to critmin.Error.
class StatusError : public std::runtime_error {
 public:
  explicit StatusError(const Status& status)
      : std::runtime_error(status.to_string()), code_(code_name(status.code())) {}
  const std::string& code() const { return code_; }

  // The code as Python sees it (Error.code); the same words as docs/cli.md's exit codes.
  static std::string code_name(StatusCode code) {
    switch (code) {
      case StatusCode::kInvalidInput:
        return "invalid_input";
      case StatusCode::kNotFound:
        return "not_found";
      case StatusCode::kIoError:
        return "io_error";
      case StatusCode::kOk:
        return "ok";
      default:
        return "internal";
    }
  }

 private:
  std::string code_;
};

// The critmin.Error class (created in the module's init; lives as long as the interpreter).
PyObject* error_class = nullptr;

void throw_if_error(const Status& status) {
  if (!status.is_ok()) throw StatusError(status);
}

// The value of a Result; its Status, when it failed, thrown on to become critmin.Error.
template <typename T>
T take(Result<T> result) {
  throw_if_error(result.status());
  return std::move(result).value();
}

// The dataset of `data_dir`, or the embedded default as the CLI finds it without --data; with no
// binary to start from, that is the source tree's data/ the module was built from, else the
// installed dataset (locate_dataset).
Dataset open_dataset(const std::optional<std::string>& data_dir) {
  const std::filesystem::path dir =
      take(locate_dataset(data_dir.value_or(std::string()), std::filesystem::path()));
  return take(load_dataset(dir));
}

std::optional<scenario::Bom> read_bom_file(const Dataset& data,
                                           const std::optional<std::string>& file) {
  if (!file || file->empty()) return std::nullopt;
  const std::string text = take(read_text_file(*file));
  return take(scenario::read_bom(text, *file, data));
}

sim::SimulationScenario read_scenario_file(const Dataset& data, const std::string& file) {
  const std::string text = take(read_text_file(file));
  return take(scenario::read_simulation_scenario(text, file, data));
}

int default_threads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// A table by columns, in order: what pandas.DataFrame(dict) takes. Values are Python objects so
// that a missing value is None (NaN in pandas) rather than a made-up 0.
class ColumnTable {
 public:
  void add(const std::string& column, py::object value) {
    auto it = index_.find(column);
    if (it == index_.end()) {
      index_.emplace(column, columns_.size());
      columns_.emplace_back(column, py::list());
      it = index_.find(column);
    }
    columns_[it->second].second.append(std::move(value));
  }
  py::dict to_dict() const {
    py::dict out;
    for (const auto& [name, values] : columns_) out[py::str(name)] = values;
    return out;
  }

 private:
  std::vector<std::pair<std::string, py::list>> columns_;
  std::map<std::string, std::size_t> index_;
};

// Long tables (critmin/report/long_tables.h) as {name: (header, rows)}.
py::dict long_tables_to_python(const std::vector<report::LongTable>& tables) {
  py::dict out;
  for (const report::LongTable& table : tables) {
    out[py::str(table.name)] = py::make_tuple(py::cast(table.header), py::cast(table.rows));
  }
  return out;
}

// ---- assess ---------------------------------------------------------------------------------

// The assessment as `critmin assess --format csv` writes it (critmin/report/report.h): the
// Python side reads this text with pandas, so both front ends show the same columns, with their
// units in brackets ("hhi [0-10000]", "top_share [0-1]"), and the same values.
std::string assess_csv(const std::vector<std::string>& materials,
                       const std::optional<std::string>& stage, const std::string& bloc,
                       const std::optional<std::vector<std::string>>& regions, bool breaches_only,
                       const std::optional<std::string>& assumptions,
                       const std::optional<std::string>& data_dir) {
  py::gil_scoped_release release;
  const Dataset data = open_dataset(data_dir);
  AssessOptions options;
  options.materials = materials;
  if (stage) {
    options.stage = parse_stage(*stage);
    if (!options.stage) {
      throw_if_error(Status::invalid_input("stage '" + *stage +
                                           "': write stage='extraction' or "
                                           "stage='processing' (or leave it out for both)"));
    }
  }
  options.bloc = bloc;
  if (regions) options.regions = *regions;
  options.breaches_only = breaches_only;
  if (assumptions && !assumptions->empty()) {
    const std::string text = take(read_text_file(*assumptions));
    options.overrides = take(scenario::read_assumptions(text, *assumptions, data));
  }
  return assess_to_csv(take(assess(data, options)));
}

// ---- clear ----------------------------------------------------------------------------------

// The equilibrium of one market as rows per region and stage.
void add_node_rows(ColumnTable& table, const market::MarketModel& model,
                   const market::Equilibrium& eq, const std::string& solver) {
  for (const market::NodeResult& node : eq.nodes) {
    table.add("material", py::str(model.material));
    table.add("year", py::int_(model.year));
    table.add("region", py::str(node.region < model.regions.size() ? model.regions[node.region].name
                                                                   : std::string()));
    table.add("stage", py::str(stage_name(node.stage)));
    table.add("price [USD/t]", py::float_(node.price_usd_per_t));
    table.add("producer_price [USD/t]", py::float_(node.producer_price_usd_per_t));
    table.add("production [t/yr]", py::float_(node.production_t));
    table.add("consumption [t/yr]", py::float_(node.consumption_t));
    table.add("imports [t/yr]", py::float_(node.imports_t));
    table.add("exports [t/yr]", py::float_(node.exports_t));
    table.add("stock_release [t/yr]", py::float_(node.stock_release_t));
    table.add("stock_refill [t/yr]", py::float_(node.stock_refill_t));
    const bool processing = node.stage == Stage::kProcessing;
    const market::RegionAccounts* accounts =
        node.region < eq.accounts.size() ? &eq.accounts[node.region] : nullptr;
    // Shortfalls are of demand for processed material: only the processing node has them.
    table.add("shortfall [t/yr]", processing && accounts
                                      ? py::object(py::float_(accounts->shortfall_t))
                                      : py::object(py::none()));
    table.add("solver", py::str(solver));
  }
}

// An equilibrium that does not exist is an answer, not a crash; Python gets it as an Error (the
// CLI exits 2 or 1) naming the market and why.
void check_termination(const std::string& what, market::Termination termination,
                       const std::string& reason) {
  if (termination == market::Termination::kOptimal) return;
  const std::string message =
      what + ": " + market::termination_name(termination) + (reason.empty() ? "" : ": " + reason);
  throw_if_error(termination == market::Termination::kIterationLimit
                     ? Status::internal(message)
                     : Status::invalid_input(message));
}

py::dict clear_table(const std::string& material, int year,
                     const std::optional<std::string>& scenario_file, const std::string& solver,
                     const std::optional<std::string>& data_dir) {
  if (solver != "network" && solver != "lp") {
    throw_if_error(Status::invalid_input("solver '" + solver +
                                         "': write solver='network' (network simplex) or "
                                         "solver='lp' (COIN-OR Clp)"));
  }
  const market::SolverPath path =
      solver == "lp" ? market::SolverPath::kLinearProgram : market::SolverPath::kNetwork;
  ColumnTable table;
  double welfare_usd = 0.0;
  std::vector<std::string> notes;
  {
    py::gil_scoped_release release;
    const Dataset data = open_dataset(data_dir);
    // A rare earth clears jointly with the other 14 (critmin/market/rare_earths.h); NdPr is the
    // sum of its neodymium and praseodymium markets.
    const std::optional<std::size_t> element = market::rare_earth_element_index(data, material);
    if (element || market::names_ndpr(material)) {
      if (scenario_file) {
        throw_if_error(Status::invalid_input(
            "scenario: " + material +
            " clears in the joint rare-earth market, which does not take scenario files (clubs, "
            "instruments, tariffs, export restrictions) yet; clear it without a scenario"));
      }
      const market::CalibratedJointMarket joint = take(market::build_rare_earth_market(data, year));
      const market::JointEquilibrium eq = take(market::clear_joint_market(joint.model, path));
      check_termination("rare earths " + std::to_string(year), eq.termination, eq.reason);
      notes = joint.notes;
      if (element) {
        py::gil_scoped_acquire acquire;
        add_node_rows(table, joint.model.elements[*element], eq.elements[*element], solver);
        welfare_usd = eq.elements[*element].welfare_usd;
      } else {
        const market::CompositeProduct product = take(market::ndpr_product(data, joint, eq));
        notes.insert(notes.begin(), product.market.info.notes.begin(),
                     product.market.info.notes.end());
        py::gil_scoped_acquire acquire;
        add_node_rows(table, product.market.model, product.equilibrium, solver);
        welfare_usd = product.equilibrium.welfare_usd;
      }
    } else {
      market::CalibratedMarket calibrated = take(market::build_market(data, material, year));
      market::Equilibrium eq;
      if (scenario_file) {
        const std::string text = take(read_text_file(*scenario_file));
        const policy::ClearingScenario scenario =
            take(scenario::read_clearing_scenario(text, *scenario_file, data, year));
        policy::ClubOutcome outcome =
            take(policy::clear_with_instruments(data, calibrated, scenario, path));
        notes = outcome.notes;
        eq = std::move(outcome.equilibrium);
      } else {
        eq = take(market::clear_market(calibrated.model, path));
      }
      check_termination(material + " " + std::to_string(year), eq.termination, eq.reason);
      py::gil_scoped_acquire acquire;
      add_node_rows(table, calibrated.model, eq, solver);
      welfare_usd = eq.welfare_usd;
    }
  }
  py::dict out;
  out["columns"] = table.to_dict();
  out["welfare_usd"] = welfare_usd;
  out["notes"] = py::cast(notes);
  return out;
}

// ---- simulate, ensemble, compare --------------------------------------------------------------

py::dict simulate_tables(const std::string& scenario_file, const std::optional<std::string>& bom,
                         const std::optional<std::string>& data_dir) {
  std::vector<report::LongTable> tables;
  sim::SimulationResult result;
  std::string summary_json;
  {
    py::gil_scoped_release release;
    const Dataset data = open_dataset(data_dir);
    sim::SimulationScenario scenario = read_scenario_file(data, scenario_file);
    scenario.bom = read_bom_file(data, bom);
    result = take(sim::run_simulation(data, scenario));
    // [[appraisal]] projects, as critmin simulate appraises them (on every core).
    throw_if_error(sim::add_scenario_appraisals(
        data, scenario, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())),
        result));
    tables = report::simulation_long_tables(result);
    summary_json = sim::simulation_to_json(result);
  }
  py::dict out;
  out["tables"] = long_tables_to_python(tables);
  out["scenario"] = result.scenario_name;
  out["first_year"] = result.first_year;
  out["last_year"] = result.last_year;
  out["materials"] = py::cast(result.materials);
  out["notes"] = py::cast(result.notes);
  out["summary_json"] = summary_json;
  return out;
}

py::dict ensemble_tables(const std::string& scenario_file, std::size_t runs,
                         const std::optional<std::uint64_t>& seed,
                         const std::optional<int>& threads, const std::optional<std::string>& bom,
                         const std::optional<std::string>& data_dir) {
  std::vector<report::LongTable> tables;
  sim::EnsembleSummary summary;
  {
    py::gil_scoped_release release;
    const Dataset data = open_dataset(data_dir);
    sim::SimulationScenario scenario = read_scenario_file(data, scenario_file);
    scenario.bom = read_bom_file(data, bom);
    const sim::PreparedSimulation prepared = take(sim::prepare_simulation(data, scenario));
    sim::EnsembleOptions options;
    options.seed = seed.value_or(scenario.seed);
    options.runs = runs;
    options.threads = threads.value_or(default_threads());
    // One process is share 0 of 1 (the CLI's MPI ranks are its other shares).
    const sim::EnsembleRuns share = take(sim::run_ensemble_share(prepared, options));
    const sim::EnsembleRuns all = take(sim::merge_ensemble_shares({share}, options.runs));
    summary = sim::summarize_ensemble(scenario, options.seed, all);
    tables = report::ensemble_long_tables(summary, all);
  }
  py::dict out;
  out["tables"] = long_tables_to_python(tables);
  out["scenario"] = summary.scenario_name;
  out["seed"] = summary.seed;
  out["runs"] = summary.runs;
  return out;
}

py::dict compare_tables(const std::vector<std::string>& scenario_files, std::size_t runs,
                        const std::optional<int>& threads, const std::optional<std::uint64_t>& seed,
                        const std::optional<std::string>& bom,
                        const std::optional<std::string>& data_dir) {
  std::vector<report::LongTable> tables;
  std::vector<std::string> designs;
  {
    py::gil_scoped_release release;
    if (scenario_files.size() < 2) {
      throw_if_error(Status::invalid_input(
          "compare needs at least two scenarios, got " + std::to_string(scenario_files.size()) +
          "; give the reference design first, e.g. critmin.compare(['scenarios/baseline.toml', "
          "'scenarios/club.toml'])"));
    }
    const Dataset data = open_dataset(data_dir);
    const std::optional<scenario::Bom> company = read_bom_file(data, bom);
    std::vector<sim::SimulationScenario> scenarios;
    std::vector<std::string> stems;
    for (const std::string& file : scenario_files) {
      sim::SimulationScenario scenario = read_scenario_file(data, file);
      scenario.bom = company;  // every design judged for the same company
      scenarios.push_back(std::move(scenario));
      stems.push_back(std::filesystem::path(file).stem().string());
    }
    sim::CompareOptions options;
    options.runs = runs;
    options.threads = threads.value_or(default_threads());
    options.seed = seed;  // unset: the reference design's seed
    const sim::CompareRun run = take(sim::run_compare(data, scenarios, stems, options));
    tables = report::comparison_long_tables(run.comparison);
    designs = run.comparison.designs;
  }
  py::dict out;
  out["tables"] = long_tables_to_python(tables);
  out["designs"] = py::cast(designs);
  return out;
}

// ---- backtest ---------------------------------------------------------------------------------

py::dict backtest_table(const std::vector<std::string>& episodes,
                        const std::optional<std::string>& data_dir) {
  std::vector<sim::BacktestResult> results;
  {
    py::gil_scoped_release release;
    const Dataset data = open_dataset(data_dir);
    const std::vector<std::filesystem::path> shipped = sim::shipped_episodes(data.directory);
    std::vector<std::filesystem::path> files;
    if (episodes.empty()) files = shipped;
    for (const std::string& name : episodes) {
      if (name.ends_with(".toml")) {
        files.emplace_back(name);
        continue;
      }
      const auto it = std::find_if(shipped.begin(), shipped.end(),
                                   [&](const auto& p) { return p.stem() == name; });
      if (it == shipped.end()) {
        std::string names;
        for (const auto& p : shipped) names += (names.empty() ? "" : ", ") + p.stem().string();
        throw_if_error(Status::invalid_input(
            "episode: no episode named '" + name + "' in " +
            (data.directory / "episodes").string() +
            "; the shipped episodes are: " + (names.empty() ? "(none)" : names)));
      }
      files.push_back(*it);
    }
    if (files.empty()) {
      throw_if_error(Status::not_found("no episode files in " +
                                       (data.directory / "episodes").string() +
                                       "; give an episode file"));
    }
    for (const std::filesystem::path& file : files) {
      const std::string text = take(read_text_file(file));
      const sim::Episode episode = take(scenario::read_episode(text, file.string(), data));
      results.push_back(take(sim::run_backtest(data, episode)));
    }
  }
  ColumnTable table;
  for (const sim::BacktestResult& result : results) {
    for (const sim::BacktestLine& line : result.lines) {
      const sim::Observation& o = line.observation;
      const double observed = o.observed_change();
      table.add("episode", py::str(result.episode));
      table.add("year", py::int_(result.year));
      table.add("material", py::str(line.material));
      table.add("figure", py::str(o.figure == sim::ObservedFigure::kPrice ? "price" : "exports"));
      table.add("region", py::str(o.region));
      table.add("stage", py::str(stage_name(o.stage)));
      table.add("observed_before", py::float_(o.before));
      table.add("observed_after", py::float_(o.after));
      table.add("observed_unit", py::str(o.unit));
      table.add("observed_change [%]", py::float_(100.0 * observed));
      // The model's figure is a price [USD/t] or a quantity [t]: the unit column says which.
      table.add("model_with", py::float_(line.model_with));
      table.add("model_without", py::float_(line.model_without));
      table.add("model_unit", py::str(o.figure == sim::ObservedFigure::kPrice ? "USD/t" : "t"));
      table.add("model_change [%]", py::float_(100.0 * line.model_change));
      table.add("within_band", py::bool_(sim::within_band(observed, line.model_change)));
      table.add("right_direction", py::bool_(sim::right_direction(observed, line.model_change)));
      table.add("when", py::str(o.when));
      table.add("source", py::str(o.source));
    }
  }
  return table.to_dict();
}

}  // namespace
}  // namespace critmin::python

PYBIND11_MODULE(_critmin, m) {
  using namespace critmin::python;
  m.doc() = "critmin's native part; use the critmin package (python/critmin/__init__.py)";

  // critmin.Error: a plain Exception subclass whose message is the Status's text and whose
  // `code` is its kind (invalid_input, not_found, io_error, internal).
  error_class = PyErr_NewExceptionWithDoc(
      "critmin.Error",
      "A critmin error: the message names the file, line and key at fault and how to fix it; "
      "`code` is invalid_input, not_found, io_error or internal.",
      PyExc_Exception, nullptr);
  m.add_object("Error", py::handle(error_class));
  py::register_exception_translator([](std::exception_ptr failure) {
    try {
      if (failure) std::rethrow_exception(failure);
    } catch (const StatusError& e) {
      py::object error = py::reinterpret_borrow<py::object>(error_class)(py::str(e.what()));
      error.attr("code") = py::str(e.code());
      PyErr_SetObject(error_class, error.ptr());
    }
  });

  m.def("assess_csv", &assess_csv, py::arg("materials"), py::arg("stage"), py::arg("bloc"),
        py::arg("regions"), py::arg("breaches_only"), py::arg("assumptions"), py::arg("data_dir"));
  m.def("clear", &clear_table, py::arg("material"), py::arg("year"), py::arg("scenario"),
        py::arg("solver"), py::arg("data_dir"));
  m.def("simulate", &simulate_tables, py::arg("scenario"), py::arg("bom"), py::arg("data_dir"));
  m.def("ensemble", &ensemble_tables, py::arg("scenario"), py::arg("runs"), py::arg("seed"),
        py::arg("threads"), py::arg("bom"), py::arg("data_dir"));
  m.def("compare", &compare_tables, py::arg("scenarios"), py::arg("runs"), py::arg("threads"),
        py::arg("seed"), py::arg("bom"), py::arg("data_dir"));
  m.def("backtest", &backtest_table, py::arg("episodes"), py::arg("data_dir"));
  m.def("default_data_dir",
        [] { return critmin::python::take(critmin::locate_dataset({}, {})).string(); });
}
