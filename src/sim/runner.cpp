// The yearly loop of a simulation: named stages, each timed and checked (docs/simulation.md).
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <set>
#include <tuple>

#include "critmin/market/calibration.h"
#include "critmin/market/trade_measures.h"
#include "critmin/sim/simulation.h"
#include "sim/investor.h"
#include "sim/region_names.h"
#include "sim/status_context.h"

namespace critmin::sim {

RandomSource::RandomSource(std::uint64_t seed) : engine_(seed) {}

double RandomSource::uniform() {
  // The top 53 bits of one raw 64-bit output, scaled by 2^-53: every value k / 2^53 for
  // k in [0, 2^53) is equally likely, and no library distribution (whose algorithm the standard
  // leaves open) is involved.
  const std::uint64_t bits = engine_() >> 11;
  return static_cast<double>(bits) * 0x1.0p-53;
}

namespace {

// Relative tolerance of the balance checks: the network solver's flows are exact up to rounding
// of sums over a few dozen arcs.
constexpr double kBalanceTolerance = 1e-6;

// The investment rule's random stream is seeded with the run's seed XOR this constant (the first
// 64 bits of the fractional part of the golden ratio), a stream apart from the disruptions'.
constexpr std::uint64_t kInvestmentStream = 0x9E3779B97F4A7C15ULL;
// ... and the demand uncertainty's ([uncertainty]) with this one: a scenario without it draws
// nothing from it, so adding it changes no other draw.
constexpr std::uint64_t kUncertaintyStream = 0xD1B54A32D192ED03ULL;

// The named figures of an instrument's report, in order (0 for one it does not report); a name
// outside the output table (critmin/core/figures.h) is an error rather than a silent 0.
Result<std::vector<double>> figures_of(const policy::InstrumentReport& report,
                                       std::initializer_list<std::string_view> names) {
  std::vector<double> values;
  for (std::string_view name : names) {
    Result<double> value = report.figure(name);
    if (!value.is_ok()) return value.status();
    values.push_back(value.value());
  }
  return values;
}

// A region's shortfall split into physical shortage and demand priced out [t/yr], summing to the
// shortfall. Essential demand is served before any other at a node (it bids the value of lost
// use), so the physical shortage never exceeds the shortfall; min() only absorbs solver rounding.
std::pair<double, double> split_shortfall(const market::RegionAccounts& accounts) {
  const double physical_t = std::min(accounts.physical_shortage_t, accounts.shortfall_t);
  return {physical_t, accounts.shortfall_t - physical_t};
}

struct Project {
  std::string name;
  std::size_t region = 0;
  Stage stage = Stage::kProcessing;
  double capacity_t = 0.0;
  double unit_cost_usd_per_t = 0.0;
  double capex_usd = 0.0;
  int online_year = 0;
  std::string origin;
  bool commissioned = false;
};

// A generic candidate project of one stage, before its random draws (docs/simulation.md,
// "Investment"): the central values of its capacity, unit cost and capital cost.
struct Candidate {
  Stage stage = Stage::kProcessing;
  double capacity_t = 0.0;            // [t/yr]
  double unit_cost_usd_per_t = 0.0;   // [USD/t] of output, excluding the feed
  double capex_usd_per_t_year = 0.0;  // [USD per t/yr of capacity]
  int lead_years = 0;
};

// The investment rule's parameters for one material (estimates in market_parameters.csv).
struct Investment {
  std::vector<Candidate> candidates;    // one per stage
  double hurdle_rate = 0.0;             // merchant revenue
  double contracted_hurdle_rate = 0.0;  // revenue fixed by a CfD or a floor
  int lifetime_years = 0;
  double capacity_spread = 0.0;  // a draw scales the capacity by 1 +- spread (uniform)
  double cost_spread = 0.0;      // ... the unit cost
  double capex_spread = 0.0;     // ... the capital cost
  // Investors who see risk (sim/investor.h): the share of a price surprise that enters the
  // expected price, the price volatility they start from [log sd per year] and where it comes from,
  // the long-run demand elasticity with which they foresee the pipeline's effect on the price, and
  // the largest loss probability at which a project is financed.
  double expectation_weight = 0.0;
  double price_log_sd = 0.0;
  double demand_elasticity_long_run = 0.0;
  double max_loss_probability = 0.0;
  double lenders_case_z = 0.0;  // the standard normal quantile of max_loss_probability
  // A pure by-product (market::ByproductBound): the most mined capacity its hosts' throughput
  // allows at the best recovery [t/yr]; 0 when unbounded.
  double byproduct_ceiling_t = 0.0;
  // ... in the base year; it grows with the hosts' output, at their demand growth weighted by
  // their share of the by-product's output [share per year].
  double byproduct_host_growth_rate = 0.0;
};

// What a run starts from for one material: built once by prepare_simulation, then read-only.
struct PreparedMaterial {
  std::string material;
  market::CalibratedMarket base;  // calibrated once, in the base year
  double demand_growth_rate = 0.0;
  std::vector<Project> projects;  // the pipeline, none commissioned yet
  Investment investment;          // the generic candidates and the decision rule's parameters
  // Long-run demand adjustment (MaterialRun::demand_shift): long-run minus short-run elasticity
  // (<= 0; dataset_check keeps the long run at least as large) and the share of the remaining
  // gap closed per year.
  double demand_elasticity_gap = 0.0;
  double demand_adjustment_share = 0.0;
};

struct MaterialRun {
  std::string material;
  const market::CalibratedMarket& base;  // the prepared market, shared by every run
  double demand_growth_rate = 0.0;
  std::vector<Project> projects;         // this run's copy: commissioning marks it
  market::CalibratedMarket year_market;  // the base market grown and extended for this year
  policy::ClubOutcome outcome;
  const Investment* investment = nullptr;  // the prepared rule's parameters
  // The market's own stocks (commercial inventories, state reserves: base.model.stocks, same
  // index) at the start of the year [t]: what a year releases is gone the next, what it buys is
  // there.
  std::vector<double> market_stock_t;
  // Long-run demand: each base region's demand curve is shifted by a factor (1: none) that moves
  // every year a share of the way (geometrically) to (last year's price / base price) raised to
  // the long-run minus the short-run elasticity, so that after full adjustment demand at a
  // lasting price p is D0 (p / p0)^long-run (partial adjustment; docs/market-data.md).
  std::vector<double> demand_shift;
  double elasticity_gap = 0.0;    // long-run minus short-run elasticity, <= 0
  double adjustment_share = 0.0;  // of the remaining gap closed per year, [0, 1]
  // Investors' price beliefs, 2 per region (extraction, processing), empty before the first
  // investment stage.
  std::vector<PriceBelief> beliefs;
};

// The resolution of a material's market and project pipeline (prepare_simulation).
class Preparer {
 public:
  Preparer(const Dataset& data, const SimulationScenario& scenario, std::vector<std::string>& notes)
      : data_(data), scenario_(scenario), notes_(notes) {}

  Result<PreparedMaterial> prepare(const std::string& material);

 private:
  Status resolve_projects(PreparedMaterial& run);

  const Dataset& data_;
  const SimulationScenario& scenario_;
  std::vector<std::string>& notes_;
};

}  // namespace

struct PreparedSimulation::State {
  const Dataset* data = nullptr;
  const SimulationScenario* scenario = nullptr;
  std::vector<PreparedMaterial> materials;  // in the scenario's order
  std::vector<std::string> notes;           // of the pipeline's resolution, copied to every run
};

namespace {

class Runner {
 public:
  // `seed` pins this run's random draws (the scenario's own seed for a single run).
  Runner(const PreparedSimulation::State& prepared, std::uint64_t seed, SimulationResult& result)
      : data_(*prepared.data),
        scenario_(*prepared.scenario),
        prepared_(prepared),
        seed_(seed),
        result_(result) {}

  Status setup();
  Status run_year(int year);

 private:
  using Step = Status (Runner::*)();
  // Runs one named stage: times it, then runs its check (when it has one). A failure of either
  // names the stage and the year.
  Status run_stage(const char* name, Step stage, Step check);

  Status commission(int up_to_year);

  Status demand();
  Status disruptions();
  Status policies();
  Status clearing();
  Status check_flows();
  Status investment();
  Status capacity();
  Status stocks();
  Status accounting();

  const Dataset& data_;
  const SimulationScenario& scenario_;
  const PreparedSimulation::State& prepared_;
  std::uint64_t seed_ = 0;
  SimulationResult& result_;
  std::vector<MaterialRun> runs_;
  std::map<std::string, double> stage_seconds_;
  std::vector<std::string> stage_order_;
  int year_ = 0;
  policy::ClearingScenario year_clearing_;
  std::map<int, double> stock_t_;  // stock at the start of the year per stockpile line [t]
  // The investment rule's draws: a stream of its own, so that adding a disruption to a scenario
  // does not change which candidates are drawn.
  std::optional<RandomSource> investment_random_;
  // The demand uncertainty's draws ([uncertainty]); empty without it.
  std::optional<RandomSource> uncertainty_random_;
  // A standard normal draw from uncertainty_random_ (Box-Muller on two uniforms: always two draws,
  // so the stream's position does not depend on the values).
  double standard_normal() {
    const double u1 = uncertainty_random_->uniform();
    const double u2 = uncertainty_random_->uniform();
    return std::sqrt(-2.0 * std::log(1.0 - u1)) * std::cos(6.283185307179586 * u2);
  }
};

Status Runner::run_stage(const char* name, Step stage, Step check) {
  const auto started = std::chrono::steady_clock::now();
  Status status = (this->*stage)();
  if (status.is_ok() && check) status = (this->*check)();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!stage_seconds_.contains(name)) stage_order_.push_back(name);
  stage_seconds_[name] += seconds;
  if (!status.is_ok()) return in_context(status, fmt::format("{}, stage {}", year_, name));
  return Status::ok();
}

Result<PreparedMaterial> Preparer::prepare(const std::string& material) {
  PreparedMaterial run;
  run.material = material;
  Result<market::CalibratedMarket> market =
      market::build_market(data_, material, scenario_.base_year);
  CRITMIN_RETURN_IF_ERROR(market);
  run.base = std::move(market).value();
  if (auto it = scenario_.demand_growth.find(material); it != scenario_.demand_growth.end()) {
    run.demand_growth_rate = it->second;
  } else {
    Result<double> rate = data_.market_parameter(material, "demand_growth_rate");
    CRITMIN_RETURN_IF_ERROR(rate);
    run.demand_growth_rate = rate.value();
  }
  Result<double> long_run = data_.market_parameter(material, "demand_elasticity_long_run");
  CRITMIN_RETURN_IF_ERROR(long_run);
  Result<double> short_run = data_.market_parameter(material, "demand_elasticity_short_run");
  CRITMIN_RETURN_IF_ERROR(short_run);
  Result<double> share = data_.market_parameter(material, "demand_adjustment_share");
  CRITMIN_RETURN_IF_ERROR(share);
  run.demand_elasticity_gap = std::min(0.0, long_run.value() - short_run.value());
  run.demand_adjustment_share = std::clamp(share.value(), 0.0, 1.0);
  if (Status s = resolve_projects(run); !s.is_ok()) return s;
  return run;
}

Status Runner::setup() {
  result_.notes = prepared_.notes;
  runs_.reserve(prepared_.materials.size());
  for (const PreparedMaterial& prepared : prepared_.materials) {
    runs_.push_back({prepared.material,
                     prepared.base,
                     prepared.demand_growth_rate,
                     prepared.projects,
                     {},
                     {},
                     nullptr,
                     {},
                     {},
                     prepared.demand_elasticity_gap,
                     prepared.demand_adjustment_share,
                     {}});
    runs_.back().investment = &prepared.investment;
    for (const market::StockOffer& offer : prepared.base.model.stocks) {
      runs_.back().market_stock_t.push_back(offer.stock_t);
    }
    MaterialRun& run = runs_.back();
    run.demand_shift.assign(prepared.base.model.regions.size(), 1.0);
    result_.bases.push_back({prepared.material, prepared.base.info.base_price_usd_per_t,
                             prepared.base.info.price_source, prepared.base.info.price_is_index});
  }
  investment_random_.emplace(seed_ ^ kInvestmentStream);
  if (scenario_.uncertainty.any()) {
    uncertainty_random_.emplace(seed_ ^ kUncertaintyStream);
    // The run's growth rate of each material, in the order of the materials.
    for (MaterialRun& run : runs_) {
      run.demand_growth_rate += scenario_.uncertainty.demand_growth_sd * standard_normal();
    }
  }
  // Projects whose output starts by the first simulated year are there from the start.
  return commission(scenario_.first_year);
}

// The price volatility investors start from: a material's own price_volatility row in
// market_parameters.csv when it has one; else the sample standard deviation of the year-on-year log
// changes of its headline price series when there are at least kMinPriceChanges of them; else
// the default row (*).
struct PriceVolatility {
  double log_sd = 0.0;
  bool from_parameter = false;  // the default row, for want of a series
};
constexpr int kMinPriceChanges = 4;

Result<PriceVolatility> price_volatility(const Dataset& data, const std::string& material) {
  const MarketParameter* row = data.find_market_parameter(material, "price_volatility");
  if (row && row->material_id == material) return PriceVolatility{row->value, false};
  std::map<int, double> series;
  for (const AnnualPrice& p : data.prices) {
    if (p.material_id == material && p.headline && p.price_usd_per_t > 0.0) {
      series[p.year] = p.price_usd_per_t;
    }
  }
  std::vector<double> changes;
  for (auto it = series.begin(); it != series.end() && std::next(it) != series.end(); ++it) {
    const auto next = std::next(it);
    if (next->first == it->first + 1) changes.push_back(std::log(next->second / it->second));
  }
  if (static_cast<int>(changes.size()) >= kMinPriceChanges) {
    double mean = 0.0;
    for (double c : changes) mean += c;
    mean /= static_cast<double>(changes.size());
    double squares = 0.0;
    for (double c : changes) squares += (c - mean) * (c - mean);
    return PriceVolatility{std::sqrt(squares / static_cast<double>(changes.size() - 1)), false};
  }
  const Result<double> fallback = data.market_parameter(material, "price_volatility");
  CRITMIN_RETURN_IF_ERROR(fallback);
  return PriceVolatility{fallback.value(), true};
}

Status Preparer::resolve_projects(PreparedMaterial& run) {
  const market::MarketModel& model = run.base.model;
  const market::CalibrationInfo& info = run.base.info;
  const auto parameter = [&](const char* name) {
    return data_.market_parameter(run.material, name);
  };
  const Result<double> ratio = parameter("extraction_price_ratio");
  const Result<double> share = parameter("project_capacity_share");
  const Result<double> unit_cost = parameter("project_unit_cost");
  const Result<double> lead_extraction = parameter("project_lead_time_extraction");
  const Result<double> lead_processing = parameter("project_lead_time_processing");
  const Result<double> capex_multiple = parameter("project_capex_multiple");
  const Result<double> hurdle = parameter("investment_hurdle_rate");
  const Result<double> contracted_hurdle = parameter("investment_contracted_hurdle_rate");
  const Result<double> lifetime = parameter("project_lifetime_years");
  const Result<double> capacity_spread = parameter("candidate_capacity_spread");
  const Result<double> cost_spread = parameter("candidate_cost_spread");
  const Result<double> capex_spread = parameter("candidate_capex_spread");
  const Result<double> expectation_weight = parameter("investment_expectation_weight");
  const Result<double> max_loss = parameter("investment_max_loss_probability");
  const Result<double> elasticity = parameter("demand_elasticity_long_run");
  for (const Result<double>* r :
       {&ratio, &share, &unit_cost, &lead_extraction, &lead_processing, &capex_multiple, &hurdle,
        &contracted_hurdle, &lifetime, &capacity_spread, &cost_spread, &capex_spread,
        &expectation_weight, &max_loss, &elasticity}) {
    if (!r->is_ok()) return r->status();
  }
  const Result<PriceVolatility> volatility = price_volatility(data_, run.material);
  CRITMIN_RETURN_IF_ERROR(volatility);
  if (volatility.value().from_parameter) {
    notes_.push_back(fmt::format(
        "investors in {} start from a price volatility of {:.2f} (market_parameters.csv "
        "price_volatility): its headline price series has fewer than {} year-on-year changes",
        run.material, volatility.value().log_sd, kMinPriceChanges));
  }
  const double yield = model.processing_yield;
  const double processed_total_t =
      info.world_tonnage_t * (info.anchor_stage == Stage::kProcessing ? 1.0 : yield);
  const auto world_t = [&](Stage stage) {
    return stage == Stage::kProcessing ? processed_total_t : processed_total_t / yield;
  };
  // The calibration's stage prices: the mined feed's share of the product price, and the
  // processing margin.
  const auto stage_price = [&](Stage stage) {
    return stage == Stage::kProcessing ? info.base_price_usd_per_t * (1.0 - ratio.value())
                                       : info.base_price_usd_per_t * ratio.value() * yield;
  };
  Investment& investment = run.investment;
  investment.hurdle_rate = hurdle.value();
  investment.contracted_hurdle_rate = contracted_hurdle.value();
  investment.lifetime_years = static_cast<int>(std::lround(lifetime.value()));
  investment.capacity_spread = capacity_spread.value();
  investment.cost_spread = cost_spread.value();
  investment.capex_spread = capex_spread.value();
  investment.expectation_weight = expectation_weight.value();
  investment.price_log_sd = volatility.value().log_sd;
  investment.demand_elasticity_long_run = elasticity.value();
  investment.max_loss_probability = max_loss.value();
  investment.lenders_case_z = normal_quantile(max_loss.value());
  const market::ByproductBound& byproduct = info.byproduct;
  investment.byproduct_ceiling_t = byproduct.capacity_ratio * world_t(Stage::kExtraction);
  if (investment.byproduct_ceiling_t > 0.0) {
    double growth = 0.0, weight = 0.0;
    for (const ByproductHost& h : data_.byproduct_hosts) {
      if (h.byproduct_material_id != run.material) continue;
      // A host without a market of its own (coal, natural gas) grows at the default rate.
      double rate = 0.0;
      if (auto it = scenario_.demand_growth.find(h.host_material_id);
          it != scenario_.demand_growth.end()) {
        rate = it->second;
      } else {
        const Result<double> host_rate =
            data_.market_parameter(h.host_material_id, "demand_growth_rate");
        CRITMIN_RETURN_IF_ERROR(host_rate);
        rate = host_rate.value();
      }
      growth += h.share_of_output * rate;
      weight += h.share_of_output;
    }
    investment.byproduct_host_growth_rate = weight > 0.0 ? growth / weight : 0.0;
  }
  for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
    const double lead =
        stage == Stage::kProcessing ? lead_processing.value() : lead_extraction.value();
    // A by-product's new capacity is recovery raised at its hosts, at that cost when dearer than
    // the generic project's.
    double unit_cost_multiple = unit_cost.value();
    if (stage == Stage::kExtraction && !byproduct.hosts.empty()) {
      unit_cost_multiple = std::max(unit_cost_multiple, byproduct.raise_cost_multiple);
    }
    investment.candidates.push_back(
        {stage, share.value() * world_t(stage), unit_cost_multiple * stage_price(stage),
         capex_multiple.value() * stage_price(stage), static_cast<int>(std::lround(lead))});
  }
  const auto region_of = [&](const std::string& iso3) -> std::optional<std::size_t> {
    const auto regions = market::resolve_market_regions(iso3, data_, model);
    if (!regions || regions->size() != 1) return std::nullopt;
    return *regions->begin();
  };
  const auto overridden = [&](const std::string& name) {
    return std::any_of(scenario_.projects.begin(), scenario_.projects.end(),
                       [&](const ProjectSpec& p) { return p.name == name; });
  };

  // CRMA strategic projects of this material. The list's name carries its selection year
  // ("EU-2025-03"); output starts a stage's lead time later.
  for (const StrategicProject& sp : data_.strategic_projects) {
    if (std::find(sp.material_ids.begin(), sp.material_ids.end(), run.material) ==
        sp.material_ids.end()) {
      continue;
    }
    if (overridden(sp.name)) continue;
    std::vector<Stage> stages;
    if (sp.stage.find("extraction") != std::string::npos) stages.push_back(Stage::kExtraction);
    if (sp.stage.find("processing") != std::string::npos) stages.push_back(Stage::kProcessing);
    if (sp.stage.empty()) stages.push_back(info.anchor_stage);
    const auto dash = sp.list.find('-');
    int selected = 0;
    if (dash != std::string::npos && sp.list.size() >= dash + 5) {
      selected = std::atoi(sp.list.substr(dash + 1, 4).c_str());
    }
    const auto region = sp.iso3.empty() ? std::nullopt : region_of(sp.iso3);
    if (stages.empty() || selected == 0 || !region) {
      notes_.push_back(fmt::format(
          "{}: strategic project '{}' is not modelled ({})", run.material, sp.name,
          stages.empty()  ? fmt::format("stage '{}' is neither extraction nor processing", sp.stage)
          : selected == 0 ? fmt::format("no selection year in list '{}'", sp.list)
                          : "no host country in the data"));
      continue;
    }
    for (Stage stage : stages) {
      const double lead =
          stage == Stage::kProcessing ? lead_processing.value() : lead_extraction.value();
      const double capacity_t = share.value() * world_t(stage);
      run.projects.push_back({sp.name, *region, stage, capacity_t,
                              unit_cost.value() * stage_price(stage),
                              capex_multiple.value() * stage_price(stage) * capacity_t,
                              selected + static_cast<int>(std::lround(lead)), "crma", false});
    }
  }
  // The scenario's projects: additions and overrides of strategic projects by name.
  for (const ProjectSpec& spec : scenario_.projects) {
    if (!spec.enabled) {
      const bool known =
          std::any_of(data_.strategic_projects.begin(), data_.strategic_projects.end(),
                      [&](const StrategicProject& sp) { return sp.name == spec.name; });
      if (!known) {
        return Status::invalid_input(
            fmt::format("{}: no strategic project to remove", scenario_.file),
            {{scenario_.file, spec.line, "name",
              fmt::format("no CRMA strategic project is named '{}'; see "
                          "data/strategic_projects.csv for the names",
                          spec.name)}});
      }
      continue;
    }
    if (spec.material != run.material) continue;
    const auto region = region_of(spec.country);
    if (!region) {
      return Status::invalid_input(fmt::format("{}: a project outside the market", scenario_.file),
                                   {{scenario_.file, spec.line, "country",
                                     fmt::format("{} is in no single region of the {} market",
                                                 spec.country, run.material)}});
    }
    run.projects.push_back(
        {spec.name, *region, spec.stage, spec.capacity_t,
         spec.unit_cost_usd_per_t.value_or(unit_cost.value() * stage_price(spec.stage)),
         spec.capex_usd.value_or(capex_multiple.value() * stage_price(spec.stage) *
                                 spec.capacity_t),
         spec.online_year, "scenario", false});
  }
  return Status::ok();
}

Status Runner::commission(int up_to_year) {
  for (MaterialRun& run : runs_) {
    for (Project& p : run.projects) {
      if (p.commissioned || p.online_year > up_to_year) continue;
      p.commissioned = true;
      result_.projects.push_back({p.name, run.material, run.base.model.regions[p.region].name,
                                  p.stage, p.capacity_t, p.unit_cost_usd_per_t, p.capex_usd,
                                  std::max(p.online_year, scenario_.first_year), p.origin});
    }
  }
  return Status::ok();
}

// Demand: the base market with every region's demand grown from the base year, plus the
// capacity commissioned so far.
Status Runner::demand() {
  for (MaterialRun& run : runs_) {
    run.year_market = run.base;
    market::MarketModel& model = run.year_market.model;
    model.year = year_;
    double factor =
        std::pow(1.0 + run.demand_growth_rate, static_cast<double>(year_ - scenario_.base_year));
    if (uncertainty_random_) {
      // This year's demand off its path: a lognormal factor of mean 1.
      const double sd = scenario_.uncertainty.demand_noise_sd;
      factor *= std::exp(sd * standard_normal() - 0.5 * sd * sd);
    }
    // Last year's prices move each region's long-run demand shift (not in the first year: there
    // is no last year). Substituted use is not a shortfall, so the reference demand moves too.
    const double base_price = run.base.info.base_price_usd_per_t;
    if (year_ > scenario_.first_year && !run.outcome.equilibrium.nodes.empty() &&
        run.elasticity_gap < 0.0 && base_price > 0.0) {
      for (std::size_t r = 0; r < run.demand_shift.size(); ++r) {
        const double price = run.outcome.equilibrium.node(r, Stage::kProcessing).price_usd_per_t;
        if (!(price > 0.0)) continue;
        const double target = std::pow(price / base_price, run.elasticity_gap);
        run.demand_shift[r] *= std::pow(target / run.demand_shift[r], run.adjustment_share);
      }
    }
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      market::Region& region = model.regions[r];
      const double shift = r < run.demand_shift.size() ? run.demand_shift[r] : 1.0;
      for (market::DemandStep& step : region.demand) step.quantity_t *= factor * shift;
      region.base_demand_t *= factor * shift;
    }
    for (std::size_t i = 0; i < run.market_stock_t.size(); ++i) {
      model.stocks[i] = market::carry_stock(run.base.model.stocks[i], run.market_stock_t[i]);
    }
    for (const DemandShock& shock : scenario_.demand_shocks) {
      if (shock.material != run.material || year_ < shock.start_year ||
          year_ >= shock.start_year + shock.years) {
        continue;
      }
      std::vector<std::size_t> regions;
      if (shock.region == "all") {
        for (std::size_t r = 0; r < model.regions.size(); ++r) regions.push_back(r);
      } else if (auto named = market::resolve_market_regions(shock.region, data_, model)) {
        regions.assign(named->begin(), named->end());
      } else {
        return Status::invalid_input(
            fmt::format("{}: a demand shock in a region the market does not have", scenario_.file),
            {{scenario_.file, shock.line, "region",
              fmt::format("'{}' is no region of the {} market; name one of its regions, a "
                          "country in one, or all",
                          shock.region, shock.material)}});
      }
      for (std::size_t r : regions) {
        for (market::DemandStep& step : model.regions[r].demand) {
          step.quantity_t *= 1.0 + shock.share;
        }
        model.regions[r].base_demand_t *= 1.0 + shock.share;
      }
    }
    for (const Project& p : run.projects) {
      // A project produces from its first year for its lifetime, then retires.
      if (!p.commissioned || year_ >= p.online_year + run.investment->lifetime_years) continue;
      auto& steps = p.stage == Stage::kProcessing ? model.regions[p.region].processing
                                                  : model.regions[p.region].extraction;
      steps.push_back({p.capacity_t, p.unit_cost_usd_per_t});
    }
  }
  return Status::ok();
}

// Disruptions: each is drawn once, in the first year, in the order of the file, so a seed fixes
// which of them happen whatever the years simulated before.
Status Runner::disruptions() {
  if (year_ != scenario_.first_year) return Status::ok();
  RandomSource random(seed_);
  for (const Disruption& d : scenario_.disruptions) {
    const double draw = random.uniform();
    result_.draws.push_back({d.line, d.material, d.origin, draw, draw < d.probability, d.start_year,
                             d.start_year + d.years - 1});
  }
  return Status::ok();
}

// Policies: the club and instruments in force every year, the year's disruptions as export
// restrictions, and the stocks carried from last year.
Status Runner::policies() {
  year_clearing_ = scenario_.clearing;
  for (std::size_t i = 0; i < scenario_.disruptions.size(); ++i) {
    const Disruption& d = scenario_.disruptions[i];
    const DisruptionDraw& draw = result_.draws[i];
    if (!draw.happens || year_ < draw.start_year || year_ > draw.last_year) continue;
    if (d.kind == DisruptionKind::kPriceCut || d.kind == DisruptionKind::kOutputCut) {
      // A price cut: the origin offers its output at the stage below cost, every supply step's
      // cost is cut. An output cut: every supply step keeps 1 - share of its capacity (a step
      // left with none is dropped).
      for (MaterialRun& run : runs_) {
        if (run.material != d.material) continue;
        market::MarketModel& model = run.year_market.model;
        const auto regions = market::resolve_market_regions(d.origin, data_, model);
        if (!regions) {
          return Status::invalid_input(
              fmt::format("{}: a {} by a region the market does not have", scenario_.file,
                          d.kind == DisruptionKind::kPriceCut ? "price cut" : "output cut"),
              {{scenario_.file, d.line, "origin",
                fmt::format("'{}' is no region of the {} market", d.origin, d.material)}});
        }
        for (std::size_t r : *regions) {
          auto& steps = d.stage == Stage::kProcessing ? model.regions[r].processing
                                                      : model.regions[r].extraction;
          if (d.kind == DisruptionKind::kPriceCut) {
            for (market::SupplyStep& step : steps) step.scale_costs(1.0 - d.quota_share);
            continue;
          }
          for (market::SupplyStep& step : steps) step.capacity_t *= 1.0 - d.quota_share;
          std::erase_if(steps, [](const market::SupplyStep& s) { return !(s.capacity_t > 0.0); });
        }
      }
      continue;
    }
    market::RestrictionMeasure m;
    m.line = d.line;
    m.material = d.material;
    m.origin = d.origin;
    m.destinations = d.destinations;
    m.stage = d.stage;
    m.kind = d.kind == DisruptionKind::kQuota ? market::RestrictionKind::kQuota
                                              : market::RestrictionKind::kBan;
    m.quota_share = d.quota_share;
    m.leakage = d.leakage;
    m.leakage_cost_usd_per_t = d.leakage_cost_usd_per_t;
    year_clearing_.trade.restrictions.push_back(std::move(m));
  }
  year_clearing_.stock_start_t = stock_t_;
  return Status::ok();
}

// The present value of 1 USD a year in the years first .. first + years - 1 from now at `rate`.
double discounted_years(double rate, int first, int years) {
  double sum = 0.0;
  for (int t = first; t < first + years; ++t) sum += std::pow(1.0 + rate, -static_cast<double>(t));
  return sum;
}

// The entrants' break-even margin a limit-pricing leader holds them to [USD/t]: the generic
// candidate's unit cost (feed excluded) plus its capital cost spread over the leader's horizon at
// the merchant hurdle rate, output starting after the lead time.
double entry_margin_usd_per_t(const Investment& rule, const policy::StrategicSupplierSpec& leader) {
  for (const Candidate& c : rule.candidates) {
    if (c.stage != leader.stage) continue;
    const double annuity =
        discounted_years(rule.hurdle_rate, std::max(1, c.lead_years), leader.horizon_years);
    return c.unit_cost_usd_per_t + c.capex_usd_per_t_year / annuity;
  }
  return 0.0;
}

Status Runner::clearing() {
  for (MaterialRun& run : runs_) {
    const policy::StrategicSupplierSpec* leader = nullptr;
    for (const policy::StrategicSupplierSpec& l : scenario_.strategic_suppliers) {
      if (l.material == run.material && (l.first_year == 0 || year_ >= l.first_year) &&
          (l.last_year == 0 || year_ <= l.last_year)) {
        leader = &l;
      }
    }
    if (!leader) {
      Result<policy::ClubOutcome> outcome =
          policy::clear_with_instruments(data_, run.year_market, year_clearing_);
      if (!outcome.is_ok()) return in_context(outcome.status(), run.material);
      run.outcome = std::move(outcome).value();
    } else {
      const double limit = leader->objective == policy::LeaderObjective::kLimitPrice
                               ? entry_margin_usd_per_t(*run.investment, *leader)
                               : 0.0;
      Result<policy::StrategicChoice> choice = policy::clear_with_strategic_supplier(
          data_, run.year_market, year_clearing_, *leader, limit);
      if (!choice.is_ok()) return in_context(choice.status(), run.material);
      policy::StrategicChoice& c = choice.value();
      result_.strategic.push_back({run.material, leader->origin, leader->stage, year_,
                                   policy::leader_objective_name(leader->objective), c});
      run.year_market = std::move(c.market);
      run.outcome = std::move(c.outcome);
    }
    const market::Equilibrium& eq = run.outcome.equilibrium;
    if (eq.termination != market::Termination::kOptimal) {
      return Status::invalid_input(
          fmt::format("{}: the market has no equilibrium ({}): {}", run.material,
                      market::termination_name(eq.termination), eq.reason));
    }
    for (const std::string& note : run.outcome.notes) {
      result_.notes.push_back(fmt::format("{} {}: {}", year_, run.material, note));
    }
  }
  return Status::ok();
}

// After clearing: no negative quantity, and at each stage the world's output (plus stock
// released, less stock bought) equals its use.
Status Runner::check_flows() {
  for (const MaterialRun& run : runs_) {
    const market::Equilibrium& eq = run.outcome.equilibrium;
    const auto& regions = run.year_market.model.regions;
    for (const market::NodeResult& n : eq.nodes) {
      for (double q : {n.production_t, n.consumption_t, n.imports_t, n.exports_t, n.stock_release_t,
                       n.stock_refill_t}) {
        if (q < -kBalanceTolerance * std::max(1.0, n.production_t + n.consumption_t)) {
          return Status::internal(fmt::format("{}: a negative quantity {:.6g} t at {} {}",
                                              run.material, q, regions[n.region].name,
                                              stage_name(n.stage)));
        }
      }
    }
    for (const market::FlowResult& f : eq.flows) {
      if (f.quantity_t < 0.0) {
        return Status::internal(fmt::format("{}: a negative flow {:.6g} t from {} to {}",
                                            run.material, f.quantity_t, regions[f.from].name,
                                            regions[f.to].name));
      }
    }
    for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
      double supplied = 0.0, used = 0.0;
      for (std::size_t r = 0; r < regions.size(); ++r) {
        const market::NodeResult& n = eq.node(r, stage);
        supplied += n.production_t + n.stock_release_t - n.stock_refill_t;
        used += n.consumption_t;
      }
      if (std::abs(supplied - used) > kBalanceTolerance * std::max(1.0, used)) {
        return Status::internal(fmt::format(
            "{} {}: mass balance broken: {:.9g} t supplied (production + stock released - stock "
            "bought) but {:.9g} t used",
            run.material, stage_name(stage), supplied, used));
      }
    }
  }
  return Status::ok();
}

// Investment: after the year's clearing, each region of each material's market (ROW, certified
// twins and the joint block aside) considers one generic candidate per stage, drawn around the
// stage's central values. Investors see risk (sim/investor.h, docs/investability.md): they expect
// the price a region's stage fetches adaptively, moved by the capacity already in the pipeline
// against the demand growth until the candidate is online, and value the candidate over a
// lognormal spread of that price whose width is their forecast error so far. The club's
// instruments enter through the revenue at each price (a floor or a CfD cuts the downside), and
// revenue fixed by a CfD or a floor is discounted at the lower contracted rate. A candidate is
// built when its expected NPV at the hurdle rate is positive and its probability of loss is at
// most investment_max_loss_probability. Candidates are decided one after another, the best
// expected NPV per tonne first, each seeing the capacity the ones before it added: the pipeline
// is what investors choose, and it stops where the price they foresee no longer pays. A region
// with a project of the stage under construction waits until it is online.
Status Runner::investment() {
  // What new capacity would earn in each region this year, as a curve of the price level: read by
  // the candidates below; its value at today's prices is kept for the project appraisals of
  // critmin investability (SimulationResult::revenues).
  std::vector<std::vector<policy::RevenueCurve>> curves(runs_.size());
  for (std::size_t m = 0; m < runs_.size(); ++m) {
    MaterialRun& run = runs_[m];
    const market::MarketModel& model = run.base.model;
    const Investment& rule = *run.investment;
    if (run.beliefs.empty()) run.beliefs.resize(2 * model.regions.size());
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
        Result<policy::RevenueCurve> curve =
            policy::producer_revenue_curve(model, run.outcome, r, stage);
        CRITMIN_RETURN_IF_ERROR(curve);
        const policy::RevenueCurve& c = curve.value();
        result_.revenues.push_back({run.material, model.regions[r].name, stage, year_, c.at(1.0),
                                    c.producer_price_usd_per_t, c.contracted});
        PriceBelief& belief = run.beliefs[2 * r + (stage == Stage::kProcessing)];
        belief = update_belief(belief, c.producer_price_usd_per_t, rule.expectation_weight,
                               rule.price_log_sd);
        curves[m].push_back(std::move(curve).value());
      }
    }
  }
  RandomSource& random = *investment_random_;
  for (std::size_t m = 0; m < runs_.size(); ++m) {
    MaterialRun& run = runs_[m];
    const Investment& rule = *run.investment;
    const market::MarketModel& model = run.base.model;
    const market::Equilibrium& eq = run.outcome.equilibrium;
    for (const Candidate& candidate : rule.candidates) {
      const int lead = std::max(1, candidate.lead_years);
      const bool processing = candidate.stage == Stage::kProcessing;
      // This year's world use at the stage and the capacity of every project of the stage not yet
      // online: what the market has to absorb by the time a candidate is online.
      double use_t = 0.0, pipeline_t = 0.0;
      for (std::size_t r = 0; r < model.regions.size(); ++r) {
        use_t += eq.node(r, candidate.stage).consumption_t;
      }
      for (const Project& p : run.projects) {
        if (p.stage == candidate.stage && !p.commissioned) pipeline_t += p.capacity_t;
      }
      struct Draft {
        InvestmentDecision decision;
        std::size_t region = 0;
      };
      // The candidate's NPV distribution with `added_t` of new capacity (its own included), at
      // its discount rate: the contracted rate when an instrument that fixes revenue (a CfD, a
      // floor) still pays in the lenders' case, the price at the max_loss quantile of the
      // investor's distribution; else the merchant rate (a floor far below any price the investor
      // expects carries no risk and earns no lower rate).
      const double merchant_annuity = discounted_years(rule.hurdle_rate, lead, rule.lifetime_years);
      const double contracted_annuity =
          discounted_years(rule.contracted_hurdle_rate, lead, rule.lifetime_years);
      struct Appraisal {
        NpvDistribution npv;
        bool contracted = false;
        double rate = 0.0;
      };
      const auto appraise = [&](const Draft& d, double added_t) -> std::optional<Appraisal> {
        const std::size_t slot = 2 * d.region + processing;
        const policy::RevenueCurve& curve = curves[m][slot];
        const PriceBelief& belief = run.beliefs[slot];
        if (!(curve.producer_price_usd_per_t > 0.0) || !(belief.expected_usd_per_t > 0.0)) {
          return std::nullopt;  // no price to expect in this region
        }
        const double median_factor = belief.expected_usd_per_t / curve.producer_price_usd_per_t *
                                     pipeline_price_factor(use_t, added_t, run.demand_growth_rate,
                                                           lead, rule.demand_elasticity_long_run);
        const double log_sd = std::sqrt(belief.log_variance);
        Appraisal out;
        out.contracted =
            curve.contracted &&
            curve.payment_at(median_factor * std::exp(log_sd * rule.lenders_case_z)) > 0.0;
        out.rate = out.contracted ? rule.contracted_hurdle_rate : rule.hurdle_rate;
        const ProjectEconomics economics{d.decision.unit_cost_usd_per_t, d.decision.capacity_t,
                                         out.contracted ? contracted_annuity : merchant_annuity,
                                         d.decision.capex_usd};
        out.npv = curve.proportional() ? npv_distribution_proportional(curve.at(1.0), median_factor,
                                                                       log_sd, economics)
                                       : npv_distribution([&](double f) { return curve.at(f); },
                                                          median_factor, log_sd, economics);
        return out;
      };
      std::vector<Draft> drafts;
      for (std::size_t r = 0; r < model.regions.size(); ++r) {
        // Three draws per candidate, whether or not it is considered, so that the stream does
        // not depend on prices.
        const double capacity_draw = random.uniform();
        const double cost_draw = random.uniform();
        const double capex_draw = random.uniform();
        const std::string& region = model.regions[r].name;
        if (region == "ROW") continue;
        const bool building =
            std::any_of(run.projects.begin(), run.projects.end(), [&](const Project& p) {
              return p.region == r && p.stage == candidate.stage && p.online_year > year_ &&
                     p.origin == "investment";
            });
        if (building) continue;
        const auto spread = [](double draw, double width) {
          return 1.0 + width * (2.0 * draw - 1.0);
        };
        const double capacity_t =
            candidate.capacity_t * spread(capacity_draw, rule.capacity_spread);
        const double unit_cost =
            candidate.unit_cost_usd_per_t * spread(cost_draw, rule.cost_spread);
        const double capex =
            candidate.capex_usd_per_t_year * capacity_t * spread(capex_draw, rule.capex_spread);
        InvestmentDecision d{run.material,
                             region,
                             candidate.stage,
                             year_,
                             year_ + lead,
                             capacity_t,
                             0.0,
                             unit_cost,
                             capex,
                             lead,
                             rule.lifetime_years,
                             0.0,
                             0.0,
                             false,
                             0.0};
        drafts.push_back({std::move(d), r});
      }
      // The order: the best expected NPV per tonne of capacity against today's pipeline first.
      std::vector<double> merit(drafts.size(), -std::numeric_limits<double>::infinity());
      for (std::size_t i = 0; i < drafts.size(); ++i) {
        const auto a = appraise(drafts[i], pipeline_t + drafts[i].decision.capacity_t);
        if (a) merit[i] = a->npv.expected_npv_usd / drafts[i].decision.capacity_t;
      }
      std::vector<std::size_t> order(drafts.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return merit[a] > merit[b]; });
      double ceiling_room_t = std::numeric_limits<double>::infinity();
      if (candidate.stage == Stage::kExtraction && rule.byproduct_ceiling_t > 0.0) {
        // The hosts' ceiling: mined capacity of the base year and every project of the stage
        // (built or building) stays under it.
        double capacity_t = 0.0;
        for (const market::Region& region : model.regions) {
          for (const market::SupplyStep& step : region.extraction) capacity_t += step.capacity_t;
        }
        for (const Project& p : run.projects) {
          if (p.stage == Stage::kExtraction) capacity_t += p.capacity_t;
        }
        const double host_growth = std::pow(1.0 + rule.byproduct_host_growth_rate,
                                            static_cast<double>(year_ - scenario_.base_year));
        ceiling_room_t = rule.byproduct_ceiling_t * host_growth - capacity_t;
      }
      for (std::size_t i : order) {
        if (ceiling_room_t <= 1e-9 * candidate.capacity_t) break;
        if (merit[i] <= 0.0) break;  // no later one has a positive expected NPV either
        InvestmentDecision d = drafts[i].decision;
        if (d.capacity_t > ceiling_room_t) {
          // Cut to what the hosts still allow, at the same capital cost per tonne of capacity.
          const double kept = ceiling_room_t / d.capacity_t;
          d.capacity_t *= kept;
          d.capex_usd *= kept;
        }
        const auto a = appraise({d, drafts[i].region}, pipeline_t + d.capacity_t);
        if (!a || !investable(a->npv.expected_npv_usd, a->npv.probability_loss,
                              rule.max_loss_probability)) {
          continue;
        }
        d.revenue_usd_per_t = a->npv.expected_revenue_usd_per_t;
        d.npv_usd = a->npv.expected_npv_usd;
        d.probability_loss = a->npv.probability_loss;
        d.hurdle_rate = a->rate;
        d.contracted = a->contracted;
        pipeline_t += d.capacity_t;
        ceiling_room_t -= d.capacity_t;
        run.projects.push_back(
            {fmt::format("candidate {} {} {}", d.region, stage_name(d.stage), year_),
             drafts[i].region, d.stage, d.capacity_t, d.unit_cost_usd_per_t, d.capex_usd,
             d.online_year, "investment", false});
        result_.investments.push_back(d);
      }
    }
  }
  return Status::ok();
}

// Capacity: projects whose output starts next year join the market from next year on.
Status Runner::capacity() { return commission(year_ + 1); }

// Stocks: the end-of-year stock of each stockpile and of the market's own stocks becomes next
// year's start; the stock must be conserved (end = start - released + refilled) and non-negative.
Status Runner::stocks() {
  for (MaterialRun& run : runs_) {
    const market::Equilibrium& eq = run.outcome.equilibrium;
    // The solver's flows are exact to a share of the market's whole volume (network_solver.cpp),
    // so a stock sold out may show a rounding overdraft of that size, never more.
    double market_t = 0.0;
    for (const market::Region& region : run.year_market.model.regions) {
      market_t += region.base_demand_t;
    }
    for (std::size_t i = 0; i < run.market_stock_t.size() && i < eq.stocks.size(); ++i) {
      const double start = run.market_stock_t[i];
      const double end = start - eq.stocks[i].released_t + eq.stocks[i].refilled_t;
      if (end < -kBalanceTolerance * std::max({1.0, start, market_t})) {
        return Status::internal(
            fmt::format("{}: the {} stock in {} released {:.9g} t of {:.9g} t", run.material,
                        run.base.model.stocks[i].holder,
                        run.base.model.regions[run.base.model.stocks[i].region].name,
                        eq.stocks[i].released_t, start));
      }
      run.market_stock_t[i] = std::max(0.0, end);
    }
    for (const policy::InstrumentReport& report : run.outcome.instruments) {
      if (report.type != "stockpile") continue;
      Result<std::vector<double>> flows =
          figures_of(report, {"stock_start", "stock_end", "released", "refilled"});
      if (!flows.is_ok()) return flows.status();
      const auto [start, end, released, refilled] =
          std::tuple(flows.value()[0], flows.value()[1], flows.value()[2], flows.value()[3]);
      const double moved = start - released + refilled;
      const double tolerance = kBalanceTolerance * std::max(1.0, start + end);
      if (std::abs(end - moved) > tolerance || end < -tolerance) {
        return Status::internal(fmt::format(
            "{}: stockpile (line {}) not conserved: start {:.9g} t, end {:.9g} t, released "
            "{:.9g} t, refilled {:.9g} t",
            run.material, report.line, start, end, released, refilled));
      }
      stock_t_[report.line] = std::max(0.0, end);
    }
  }
  return Status::ok();
}

Status Runner::accounting() {
  const double limit = data_.parameter("crma_single_country_limit");
  std::set<std::string> club_regions;
  FiscalScore fiscal;
  fiscal.year = year_;
  for (const MaterialRun& run : runs_) {
    const market::MarketModel& model = run.year_market.model;
    const market::Equilibrium& eq = run.outcome.equilibrium;
    for (const std::string& r : run.outcome.member_regions) club_regions.insert(base_region(r));
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
        const market::NodeResult& n = eq.node(r, stage);
        SeriesRow row;
        row.material = run.material;
        row.stage = stage;
        row.region = model.regions[r].name;
        row.year = year_;
        row.price_usd_per_t = n.price_usd_per_t;
        row.production_t = n.production_t;
        row.consumption_t = n.consumption_t;
        row.imports_t = n.imports_t;
        row.exports_t = n.exports_t;
        if (stage == Stage::kProcessing) {
          row.demand_t = model.regions[r].base_demand_t;
          row.shortfall_t = eq.accounts[r].shortfall_t;
          const auto [physical_t, priced_out_t] = split_shortfall(eq.accounts[r]);
          row.physical_shortage_t = physical_t;
          row.priced_out_t = priced_out_t;
          row.stock_release_t = n.stock_release_t;
          row.stock_refill_t = n.stock_refill_t;
          for (std::size_t i = 0; i < run.market_stock_t.size(); ++i) {
            if (run.base.model.stocks[i].region == r) {
              row.market_stock_end_t += run.market_stock_t[i];
            }
          }
        }
        result_.series.push_back(std::move(row));
      }
    }
    // Concentration per stage over the market's regions, certified twins with their region.
    for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
      std::map<std::string, double> output;
      double total = 0.0;
      for (std::size_t r = 0; r < model.regions.size(); ++r) {
        const double q = eq.node(r, stage).production_t;
        output[base_region(model.regions[r].name)] += q;
        total += q;
      }
      StageScore score;
      score.material = run.material;
      score.stage = stage;
      score.year = year_;
      for (const auto& [region, q] : output) {
        const double share = total > 0.0 ? q / total : 0.0;
        if (region != "ROW") score.hhi += 10000.0 * share * share;
        if (region != "EU27" && region != "ROW" && region != "club" &&
            share > score.top_third_country_share) {
          score.top_third_country = region;
          score.top_third_country_share = share;
        }
      }
      score.crma_breach = score.top_third_country_share > limit;
      result_.stage_scores.push_back(std::move(score));
    }
    // Shortfall of the EU, the Netherlands (when it is a region of this market) and the club
    // (its member regions and the joint-purchasing block).
    std::map<std::string, ShortfallScore> areas;
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      const std::string region = base_region(model.regions[r].name);
      std::vector<std::string> in;
      if (region == "EU27" || region == "NLD") in.push_back(region);
      if (region == "club" || club_regions.contains(region)) in.push_back("club");
      const auto [physical_t, priced_out_t] = split_shortfall(eq.accounts[r]);
      for (const std::string& area : in) {
        ShortfallScore& a = areas[area];
        a.demand_t += model.regions[r].base_demand_t;
        a.shortfall_t += eq.accounts[r].shortfall_t;
        a.physical_shortage_t += physical_t;
        a.priced_out_t += priced_out_t;
      }
    }
    for (auto& [area, a] : areas) {
      a.material = run.material;
      a.area = area;
      a.year = year_;
      a.shortfall_share = a.demand_t > 0.0 ? a.shortfall_t / a.demand_t : 0.0;
      result_.shortfalls.push_back(std::move(a));
    }
    for (const policy::InstrumentReport& report : run.outcome.instruments) {
      for (const policy::InstrumentFigure& f : report.figures) {
        result_.payments.push_back({run.material, year_, report.line, report.type, report.holder,
                                    f.name, f.value, f.unit});
      }
      // The fiscal cost: what the state pays out, less stock sales (kFiscalCostFigures).
      Result<std::vector<double>> levy = figures_of(report, {"levy_revenue"});
      if (!levy.is_ok()) return levy.status();
      fiscal.levy_revenue_usd += levy.value()[0];
      for (const auto& [name, sign] : kFiscalCostFigures) {
        Result<double> value = report.figure(name);
        if (!value.is_ok()) return value.status();
        fiscal.fiscal_cost_usd += sign * value.value();
      }
    }
  }
  result_.fiscal.push_back(fiscal);
  result_.club_regions.assign(club_regions.begin(), club_regions.end());
  return Status::ok();
}

Status Runner::run_year(int year) {
  year_ = year;
  struct Named {
    const char* name;
    Step stage;
    Step check;
  };
  static constexpr Named kStages[] = {
      {"demand", &Runner::demand, nullptr},
      {"disruptions", &Runner::disruptions, nullptr},
      {"policies", &Runner::policies, nullptr},
      {"clearing", &Runner::clearing, &Runner::check_flows},
      {"investment", &Runner::investment, nullptr},
      {"capacity", &Runner::capacity, nullptr},
      {"stocks", &Runner::stocks, nullptr},
      {"accounting", &Runner::accounting, nullptr},
  };
  for (const Named& s : kStages) {
    if (Status status = run_stage(s.name, s.stage, s.check); !status.is_ok()) return status;
  }
  result_.timings.clear();
  for (const std::string& name : stage_order_) {
    result_.timings.push_back({name, stage_seconds_[name]});
  }
  return Status::ok();
}

}  // namespace

PreparedSimulation::PreparedSimulation(std::shared_ptr<const State> state)
    : state_(std::move(state)) {}

const SimulationScenario& PreparedSimulation::scenario() const { return *state_->scenario; }

Result<PreparedSimulation> prepare_simulation(const Dataset& data,
                                              const SimulationScenario& scenario) {
  auto state = std::make_shared<PreparedSimulation::State>();
  state->data = &data;
  state->scenario = &scenario;
  Preparer preparer(data, scenario, state->notes);
  for (const std::string& material : scenario.materials) {
    Result<PreparedMaterial> prepared = preparer.prepare(material);
    CRITMIN_RETURN_IF_ERROR(prepared);
    state->materials.push_back(std::move(prepared).value());
  }
  return PreparedSimulation(std::move(state));
}

Result<SimulationResult> run_prepared_simulation(const PreparedSimulation& prepared,
                                                 std::uint64_t seed,
                                                 const ProgressCallback& progress) {
  const SimulationScenario& scenario = prepared.scenario();
  SimulationResult result;
  result.scenario_name = scenario.name;
  result.seed = seed;
  result.first_year = scenario.first_year;
  result.last_year = scenario.last_year;
  result.base_year = scenario.base_year;
  result.materials = scenario.materials;
  const int total = scenario.last_year - scenario.first_year + 1;
  // Room for every year's rows up front (one per region and stage, one score per stage), so
  // that the tables are not moved as they grow: an ensemble builds thousands of them.
  std::size_t nodes = 0;
  for (const PreparedMaterial& m : prepared.state().materials) {
    nodes += 2 * m.base.model.regions.size();
  }
  const auto years = static_cast<std::size_t>(total);
  result.series.reserve(nodes * years);
  result.stage_scores.reserve(2 * prepared.state().materials.size() * years);
  Runner runner(prepared.state(), seed, result);
  if (Status s = runner.setup(); !s.is_ok()) return s;
  for (int year = scenario.first_year; year <= scenario.last_year; ++year) {
    if (Status s = runner.run_year(year); !s.is_ok()) return s;
    if (progress) progress(year, year - scenario.first_year + 1, total);
  }
  Result<Scorecards> cards = compute_scorecards(*prepared.state().data, result);
  CRITMIN_RETURN_IF_ERROR(cards);
  result.scorecards = std::move(cards).value();
  if (scenario.bom) {
    Result<CompanyExposure> company =
        compute_company_exposure(*prepared.state().data, result, *scenario.bom);
    CRITMIN_RETURN_IF_ERROR(company);
    result.company = std::move(company).value();
  }
  return result;
}

Result<SimulationResult> run_simulation(const Dataset& data, const SimulationScenario& scenario,
                                        const ProgressCallback& progress) {
  Result<PreparedSimulation> prepared = prepare_simulation(data, scenario);
  CRITMIN_RETURN_IF_ERROR(prepared);
  Result<SimulationResult> result =
      run_prepared_simulation(prepared.value(), scenario.seed, progress);
  CRITMIN_RETURN_IF_ERROR(result);
  if (scenario.clearing.instruments.empty()) return result;
  // The same world without the instruments, on the same seed: the disruptions and the investment
  // rule draw the same numbers (their streams do not depend on prices), so the difference is the
  // instruments' doing.
  SimulationScenario without = scenario;
  without.clearing.instruments.clear();
  without.clearing.stock_start_t.clear();
  Result<PreparedSimulation> prepared_without = prepare_simulation(data, without);
  if (!prepared_without.is_ok()) {
    return in_context(prepared_without.status(), "the run without the instruments");
  }
  Result<SimulationResult> counterfactual =
      run_prepared_simulation(prepared_without.value(), scenario.seed);
  if (!counterfactual.is_ok()) {
    return in_context(counterfactual.status(), "the run without the instruments");
  }
  result.value().scorecards.attribution = attribute(result.value(), counterfactual.value());
  return result;
}

}  // namespace critmin::sim
