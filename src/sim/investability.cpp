// Project appraisal over an ensemble (critmin/sim/investability.h, docs/investability.md).
#include "critmin/sim/investability.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "core/suggest.h"
#include "critmin/core/figures.h"
#include "critmin/sim/ensemble.h"
#include "sim/investor.h"
#include "sim/status_context.h"

namespace critmin::sim {
namespace {

constexpr const char* kCandidateName = "investability candidate";

// One run's view of the project: its margin [USD/t] and the producer price [USD/t] in each
// simulated year (first..last), whether an instrument fixed part of its revenue, and the run's
// fiscal cost of the instruments [USD].
struct RunPath {
  std::vector<double> margin_usd_per_t;
  std::vector<double> producer_price_usd_per_t;
  bool contracted = false;
  double fiscal_cost_usd = 0.0;
};

struct Appraisal {
  double unit_cost_usd_per_t = 0.0;
  double capex_usd = 0.0;
  double capacity_t = 0.0;
  int first_year = 0;
  int last_year = 0;
  int online_year = 0;
  int lifetime_years = 0;
  double hurdle_rate = 0.0;
  double contracted_hurdle_rate = 0.0;
};

// NPV of one run's path when a top-up floor of `floor_usd_per_t` (0: none) adds max(0, floor -
// producer price) to each tonne's margin. Output years beyond the simulation earn the last
// simulated year's margin.
double npv_usd(const Appraisal& a, const RunPath& path, double floor_usd_per_t, double rate) {
  double npv = -a.capex_usd;
  const int years = a.last_year - a.first_year + 1;
  for (int year = a.online_year; year < a.online_year + a.lifetime_years; ++year) {
    const int k = std::min(year, a.last_year) - a.first_year;
    if (k < 0 || k >= years) continue;
    double margin = path.margin_usd_per_t[static_cast<std::size_t>(k)];
    if (floor_usd_per_t > 0.0) {
      margin += std::max(
          0.0, floor_usd_per_t - path.producer_price_usd_per_t[static_cast<std::size_t>(k)]);
    }
    const double cash = std::max(0.0, margin - a.unit_cost_usd_per_t) * a.capacity_t;
    npv += cash * std::pow(1.0 + rate, -static_cast<double>(year - a.first_year));
  }
  return npv;
}

struct Distribution {
  double probability_positive = 0.0;
  double expected = 0.0;
  double p5 = 0.0, p50 = 0.0, p95 = 0.0;
};

Distribution distribution(std::vector<double> values) {
  Distribution d;
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  double sum = 0.0;
  std::size_t positive = 0;
  for (double v : values) {
    sum += v;
    if (v > 0.0) ++positive;
  }
  d.expected = sum / static_cast<double>(values.size());
  d.probability_positive = static_cast<double>(positive) / static_cast<double>(values.size());
  d.p5 = quantile_sorted(values, 0.05);
  d.p50 = quantile_sorted(values, 0.5);
  d.p95 = quantile_sorted(values, 0.95);
  return d;
}

// The simulation's investors' rule (sim/investor.h), on the distribution over the runs.
bool investable(const Distribution& d, double max_loss_probability) {
  return sim::investable(d.expected, 1.0 - d.probability_positive, max_loss_probability);
}

// Runs `runs` seeds of a prepared simulation on `threads` threads and extracts the project's
// path from each; the result is in run order whatever the thread count.
Result<std::vector<RunPath>> run_paths(const PreparedSimulation& prepared,
                                       const InvestabilityOptions& options,
                                       const CandidateProject& project, const std::string& region,
                                       int first_year, int last_year) {
  std::vector<RunPath> paths(options.runs);
  std::vector<std::optional<Status>> failures(options.runs);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  const auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= options.runs || failed.load()) return;
      Result<SimulationResult> run =
          run_prepared_simulation(prepared, ensemble_run_seed(options.seed, i));
      if (!run.is_ok()) {
        failures[i] = run.status();
        failed = true;
        return;
      }
      RunPath& path = paths[i];
      const auto years = static_cast<std::size_t>(last_year - first_year + 1);
      path.margin_usd_per_t.assign(years, 0.0);
      path.producer_price_usd_per_t.assign(years, 0.0);
      for (const RevenueRow& row : run.value().revenues) {
        if (row.material != project.material || row.region != region ||
            row.stage != project.stage) {
          continue;
        }
        const auto k = static_cast<std::size_t>(row.year - first_year);
        path.margin_usd_per_t[k] = row.revenue_usd_per_t;
        path.producer_price_usd_per_t[k] = row.producer_price_usd_per_t;
        path.contracted = path.contracted || row.contracted;
      }
      for (const FiscalScore& f : run.value().fiscal) path.fiscal_cost_usd += f.fiscal_cost_usd;
    }
  };
  std::vector<std::thread> pool;
  const int threads = std::max(1, std::min<int>(options.threads, static_cast<int>(options.runs)));
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  for (std::size_t i = 0; i < failures.size(); ++i) {
    if (failures[i]) {
      return in_context(*failures[i],
                        fmt::format("run {} (seed {})", i, ensemble_run_seed(options.seed, i)));
    }
  }
  return paths;
}

}  // namespace

Result<InvestabilityResult> appraise_investability(const Dataset& data,
                                                   const SimulationScenario& scenario,
                                                   const CandidateProject& project,
                                                   const InvestabilityOptions& options) {
  const Material* found = data.find_material(project.material);
  if (!found || found->kind != "material") {
    std::vector<std::string> ids;
    for (const Material& m : data.materials) {
      if (m.kind == "material") ids.push_back(m.id);
    }
    return Status::not_found(
        fmt::format("--material: unknown material '{}'{}; `critmin data materials` lists them",
                    project.material, did_you_mean(project.material, ids)));
  }
  std::vector<Diagnostic> problems;
  if (!(project.capacity_t > 0.0)) {
    problems.push_back({"--capacity-t", 0, "capacity_t", "give a capacity above 0 t/yr"});
  }
  if (project.capex_usd && !(*project.capex_usd >= 0.0)) {
    problems.push_back({"--capex-usd", 0, "capex_usd", "give a capital cost of 0 USD or more"});
  }
  if (options.runs < 1) problems.push_back({"--runs", 0, "runs", "give at least 1 run"});
  if (options.threads < 1) problems.push_back({"--threads", 0, "threads", "give at least 1"});
  if (!problems.empty()) {
    return Status::invalid_input("investability: the project or options are invalid",
                                 std::move(problems));
  }
  const std::string material = found->id;
  const auto parameter = [&](const char* name) { return data.market_parameter(material, name); };
  const Result<double> lifetime = parameter("project_lifetime_years");
  const Result<double> hurdle = parameter("investment_hurdle_rate");
  const Result<double> contracted = parameter("investment_contracted_hurdle_rate");
  const Result<double> max_loss = parameter("investment_max_loss_probability");
  const Result<double> growth_sd = parameter("demand_growth_sd");
  const Result<double> noise_sd = parameter("demand_noise_sd");
  const Result<double> lead =
      parameter(project.stage == Stage::kProcessing ? "project_lead_time_processing"
                                                    : "project_lead_time_extraction");
  for (const Result<double>* r :
       {&lifetime, &hurdle, &contracted, &max_loss, &growth_sd, &noise_sd, &lead}) {
    CRITMIN_RETURN_IF_ERROR(*r);
  }

  InvestabilityResult out;
  out.scenario_name = scenario.name;
  out.project = project;
  out.project.material = material;
  out.first_year = scenario.first_year;
  out.last_year = scenario.last_year;
  out.lifetime_years = static_cast<int>(std::lround(lifetime.value()));
  out.online_year = project.online_year.value_or(
      scenario.first_year + std::max(1, static_cast<int>(std::lround(lead.value()))));
  out.project.online_year = out.online_year;
  out.max_loss_probability = max_loss.value();
  out.runs = options.runs;
  if (out.online_year < scenario.first_year || out.online_year > scenario.last_year) {
    return Status::invalid_input(
        "investability: the project must come online within the simulated years",
        {{"--online-year", 0, "online_year",
          fmt::format("{} is outside {}-{}; give a year in that range or simulate more years",
                      out.online_year, scenario.first_year, scenario.last_year)}});
  }
  // The uncertainty: the scenario's when it has any, else the documented estimates.
  DemandUncertainty uncertainty = scenario.uncertainty;
  if (!uncertainty.any()) {
    uncertainty.demand_growth_sd = growth_sd.value();
    uncertainty.demand_noise_sd = noise_sd.value();
    out.notes.push_back(fmt::format(
        "demand uncertainty from the estimates (data/estimates/market_parameters.csv): growth "
        "sd {:.3g} per year, yearly noise sd {:.3g}; a scenario's [uncertainty] overrides them",
        uncertainty.demand_growth_sd, uncertainty.demand_noise_sd));
  }
  out.demand_growth_sd = uncertainty.demand_growth_sd;
  out.demand_noise_sd = uncertainty.demand_noise_sd;

  // The leader of the strategic cases.
  policy::StrategicSupplierSpec leader;
  bool scenario_leader = false;
  for (const policy::StrategicSupplierSpec& l : scenario.strategic_suppliers) {
    if (l.material == material && l.stage == project.stage) {
      leader = l;
      scenario_leader = true;
    }
  }
  if (!scenario_leader) {
    leader.material = material;
    leader.origin = options.leader;
    leader.stage = project.stage;
    leader.objective = policy::LeaderObjective::kLimitPrice;
  }
  out.leader =
      fmt::format("{} ({})", leader.origin, policy::leader_objective_name(leader.objective));

  scenario::ProjectSpec candidate;
  candidate.name = kCandidateName;
  candidate.material = material;
  candidate.country = project.country;
  candidate.stage = project.stage;
  candidate.capacity_t = project.capacity_t;
  candidate.online_year = out.online_year;
  candidate.unit_cost_usd_per_t = project.unit_cost_usd_per_t;
  candidate.capex_usd = project.capex_usd;

  std::vector<RunPath> strategic_none;
  double base_price = 0.0;
  for (const char* supplier : {"passive", "strategic"}) {
    for (const char* instruments : {"none", "all"}) {
      SimulationScenario spec = scenario;
      spec.projects.push_back(candidate);
      spec.uncertainty = uncertainty;
      if (std::find(spec.materials.begin(), spec.materials.end(), material) ==
          spec.materials.end()) {
        spec.materials.push_back(material);
      }
      std::erase_if(spec.strategic_suppliers, [&](const policy::StrategicSupplierSpec& l) {
        return l.material == material && l.stage == project.stage;
      });
      if (std::string(supplier) == "strategic") spec.strategic_suppliers.push_back(leader);
      if (std::string(instruments) == "none") {
        spec.clearing.instruments.clear();
        spec.clearing.stock_start_t.clear();
      }
      const std::string where =
          fmt::format("investability ({} supplier, instruments {})", supplier, instruments);
      Result<PreparedSimulation> prepared = prepare_simulation(data, spec);
      if (!prepared.is_ok()) return in_context(prepared.status(), where);
      // The project's resolved figures and region, from one run's list of projects online.
      if (out.region.empty()) {
        Result<SimulationResult> probe =
            run_prepared_simulation(prepared.value(), ensemble_run_seed(options.seed, 0));
        if (!probe.is_ok()) return in_context(probe.status(), where);
        for (const ProjectOnline& p : probe.value().projects) {
          if (p.name != kCandidateName) continue;
          out.region = p.region;
          out.unit_cost_usd_per_t = p.unit_cost_usd_per_t;
          out.capex_usd = p.capex_usd;
        }
        for (const MaterialBase& b : probe.value().bases) {
          if (b.material == material) base_price = b.base_price_usd_per_t;
        }
        if (out.region.empty()) {
          return Status::internal("investability: the candidate project did not come online");
        }
        out.project.capex_usd = out.capex_usd;
        out.project.unit_cost_usd_per_t = out.unit_cost_usd_per_t;
      }
      Result<std::vector<RunPath>> paths = run_paths(prepared.value(), options, project, out.region,
                                                     spec.first_year, spec.last_year);
      if (!paths.is_ok()) return in_context(paths.status(), where);
      Appraisal a{out.unit_cost_usd_per_t, out.capex_usd,  project.capacity_t,
                  spec.first_year,         spec.last_year, out.online_year,
                  out.lifetime_years,      hurdle.value(), contracted.value()};
      InvestabilityCase c;
      c.supplier = supplier;
      c.instruments = instruments;
      const bool any_contracted = std::any_of(paths.value().begin(), paths.value().end(),
                                              [](const RunPath& p) { return p.contracted; });
      c.discount_rate = any_contracted ? a.contracted_hurdle_rate : a.hurdle_rate;
      std::vector<double> npvs;
      double margin_sum = 0.0, fiscal_sum = 0.0;
      std::size_t margin_count = 0;
      for (const RunPath& path : paths.value()) {
        npvs.push_back(npv_usd(a, path, 0.0, c.discount_rate));
        fiscal_sum += path.fiscal_cost_usd;
        for (int year = out.online_year; year <= spec.last_year; ++year) {
          margin_sum += path.margin_usd_per_t[static_cast<std::size_t>(year - spec.first_year)];
          ++margin_count;
        }
      }
      const Distribution d = distribution(npvs);
      c.probability_npv_positive = d.probability_positive;
      c.expected_npv_usd = d.expected;
      c.npv_p5_usd = d.p5;
      c.npv_p50_usd = d.p50;
      c.npv_p95_usd = d.p95;
      c.fiscal_cost_usd = fiscal_sum / static_cast<double>(paths.value().size());
      c.mean_margin_usd_per_t =
          margin_count > 0 ? margin_sum / static_cast<double>(margin_count) : 0.0;
      c.investable = investable(d, out.max_loss_probability);
      out.cases.push_back(c);
      if (std::string(supplier) == "strategic" && std::string(instruments) == "none") {
        strategic_none = std::move(paths).value();
      }
    }
  }

  // The investable floor on the strategic case without instruments: the project's investability
  // only grows with the floor, so bisection finds the lowest one to 0.1% of the base price.
  Appraisal a{out.unit_cost_usd_per_t, out.capex_usd,  project.capacity_t,
              out.first_year,          out.last_year,  out.online_year,
              out.lifetime_years,      hurdle.value(), contracted.value()};
  const auto investable_at = [&](double floor) {
    std::vector<double> npvs;
    // A floor fixes part of the revenue: the contracted rate.
    for (const RunPath& path : strategic_none) {
      npvs.push_back(npv_usd(a, path, floor, a.contracted_hurdle_rate));
    }
    return investable(distribution(npvs), out.max_loss_probability);
  };
  double high = 20.0 * std::max(base_price, 1.0);
  if (investable_at(0.0)) {
    out.investable_floor_usd_per_t = 0.0;
  } else if (investable_at(high)) {
    double low = 0.0;
    while (high - low > 1e-3 * std::max(base_price, 1.0)) {
      const double mid = 0.5 * (low + high);
      (investable_at(mid) ? high : low) = mid;
    }
    out.investable_floor_usd_per_t = high;
  }
  return out;
}

std::string investability_to_json(const InvestabilityResult& r) {
  nlohmann::ordered_json out;
  out["scenario"] = r.scenario_name;
  out["project"] = {{"material", r.project.material},
                    {"country", r.project.country},
                    {"region", r.region},
                    {"stage", stage_name(r.project.stage)},
                    {"capacity_t", r.project.capacity_t},
                    {"capex_usd", r.capex_usd},
                    {"unit_cost_usd_per_t", r.unit_cost_usd_per_t},
                    {"online_year", r.online_year},
                    {"lifetime_years", r.lifetime_years}};
  out["years"] = {r.first_year, r.last_year};
  out["runs"] = r.runs;
  out["demand_growth_sd"] = r.demand_growth_sd;
  out["demand_noise_sd"] = r.demand_noise_sd;
  out["max_loss_probability"] = r.max_loss_probability;
  out["strategic_supplier"] = r.leader;
  nlohmann::ordered_json cases = nlohmann::ordered_json::array();
  for (const InvestabilityCase& c : r.cases) {
    cases.push_back({{"supplier", c.supplier},
                     {"instruments", c.instruments},
                     {"probability_npv_positive", c.probability_npv_positive},
                     {"expected_npv_usd", c.expected_npv_usd},
                     {"npv_p5_usd", c.npv_p5_usd},
                     {"npv_p50_usd", c.npv_p50_usd},
                     {"npv_p95_usd", c.npv_p95_usd},
                     {"discount_rate", c.discount_rate},
                     {"mean_margin_usd_per_t", c.mean_margin_usd_per_t},
                     {"fiscal_cost_usd", c.fiscal_cost_usd},
                     {"investable", c.investable}});
  }
  out["cases"] = std::move(cases);
  out["investable_floor_usd_per_t"] = r.investable_floor_usd_per_t
                                          ? nlohmann::ordered_json(*r.investable_floor_usd_per_t)
                                          : nlohmann::ordered_json(nullptr);
  out["notes"] = r.notes;
  return out.dump(2) + "\n";
}

std::string investability_to_table(const InvestabilityResult& r) {
  std::string out = fmt::format(
      "investability of {} {} t/yr of {} in {} ({}), online {} for {} years\n"
      "capital {}, unit cost {} (feed excluded); {} runs {}-{}, demand growth sd {:.3g}/yr, "
      "yearly noise sd {:.3g}; investable when E[NPV] > 0 and P(loss) <= {:.0f}%\n"
      "strategic supplier: {}\n\n",
      stage_name(r.project.stage), format_figure(r.project.capacity_t, ""), r.project.material,
      r.project.country, r.region, r.online_year, r.lifetime_years,
      format_figure(r.capex_usd, "USD"), format_figure(r.unit_cost_usd_per_t, "USD/t"), r.runs,
      r.first_year, r.last_year, r.demand_growth_sd, r.demand_noise_sd,
      100.0 * r.max_loss_probability, r.leader);
  out += fmt::format("{:<10} {:<11} {:>10} {:>14} {:>14} {:>14} {:>8} {:>14} {:>10}\n", "supplier",
                     "instruments", "P(NPV>0)", "E[NPV]", "NPV P5", "NPV P95", "rate",
                     "fiscal cost", "investable");
  for (const InvestabilityCase& c : r.cases) {
    out += fmt::format("{:<10} {:<11} {:>9.1f}% {:>14} {:>14} {:>14} {:>7.1f}% {:>14} {:>10}\n",
                       c.supplier, c.instruments, 100.0 * c.probability_npv_positive,
                       format_figure(c.expected_npv_usd, "USD"), format_figure(c.npv_p5_usd, "USD"),
                       format_figure(c.npv_p95_usd, "USD"), 100.0 * c.discount_rate,
                       format_figure(c.fiscal_cost_usd, "USD"), c.investable ? "yes" : "no");
  }
  out += r.investable_floor_usd_per_t
             ? fmt::format(
                   "\ninvestable from a top-up floor of {} (facing the strategic "
                   "supplier, without the scenario's instruments)\n",
                   format_figure(*r.investable_floor_usd_per_t, "USD/t"))
             : std::string("\nnot investable even with a floor of 20 x the base price\n");
  for (const std::string& note : r.notes) out += "note: " + note + "\n";
  return out;
}

Status add_scenario_appraisals(const Dataset& data, const SimulationScenario& scenario, int threads,
                               SimulationResult& result) {
  for (const scenario::AppraisalSpec& spec : scenario.appraisals) {
    CandidateProject project;
    project.material = spec.material;
    project.country = spec.country;
    project.stage = spec.stage;
    project.capacity_t = spec.capacity_t;
    project.capex_usd = spec.capex_usd;
    project.unit_cost_usd_per_t = spec.unit_cost_usd_per_t;
    project.online_year = spec.online_year;
    InvestabilityOptions options;
    options.runs = spec.runs;
    options.seed = scenario.seed;
    options.threads = threads;
    Result<InvestabilityResult> appraised =
        appraise_investability(data, scenario, project, options);
    if (!appraised.is_ok()) {
      return Status::invalid_input(fmt::format("{}:{}: [[appraisal]]: {}", scenario.file, spec.line,
                                               appraised.status().message()),
                                   appraised.status().diagnostics());
    }
    const InvestabilityResult& r = appraised.value();
    for (const InvestabilityCase& c : r.cases) {
      AppraisalRow row;
      row.material = r.project.material;
      row.region = r.region;
      row.stage = r.project.stage;
      row.capacity_t = r.project.capacity_t;
      row.online_year = r.online_year;
      row.runs = r.runs;
      row.figures = c;
      row.investable_floor_usd_per_t = r.investable_floor_usd_per_t;
      result.appraisals.push_back(std::move(row));
    }
  }
  return Status::ok();
}

}  // namespace critmin::sim
