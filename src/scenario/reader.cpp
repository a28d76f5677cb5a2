// The one reader of scenario files (critmin/scenario/scenario.h): the file is parsed once, every
// table is read with the rules of the scenario schema (scenario/keys.h) into typed specs, and every
// problem is collected at file:line:key.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <set>

#include "critmin/market/rare_earths.h"
#include "critmin/scenario/scenario.h"
#include "scenario/instrument_reader.h"
#include "scenario/table_reader.h"
#include "scenario/toml_reader.h"

namespace critmin::scenario {
namespace {

// Years a simulation may cover; the data start in the 2010s and a horizon past 2100 is no policy
// question (the schema gives the same range for years, start and online_year).
constexpr int kEarliestYear = 1990;
constexpr int kLatestYear = 2100;

void add_material(std::vector<std::string>& materials, const std::string& id) {
  if (!id.empty() && std::find(materials.begin(), materials.end(), id) == materials.end()) {
    materials.push_back(id);
  }
}

// The market a scenario names by `name`, or nullptr with the problem in `problem`: a group
// (REE, PGM, NdPr, ...) is several markets and is refused with its members; an unknown name gets
// the nearest names.
const Material* scenario_material(const Dataset& data, const std::string& name,
                                  std::string_view hint, std::string& problem) {
  if (std::optional<std::vector<std::string>> members = data.material_group_members(name)) {
    problem = fmt::format(
        "'{}' is a group of {} materials ({}), not one market; name the members to simulate, "
        "e.g. \"{}\"",
        name, members->size(), fmt::join(*members, ", "), members->front());
    // NdPr: the simulation's neodymium market stands for it; clear reports the product itself.
    if (market::names_ndpr(name)) {
      problem +=
          " (in simulations \"neodymium\" stands for NdPr oxide, on the Nd2O3 price; `critmin "
          "clear --material NdPr` reports the Nd + Pr product of the joint rare-earth market)";
    }
    return nullptr;
  }
  const Material* m = data.find_material(name);
  if (!m || m->kind != "material") {
    problem = fmt::format("unknown material '{}'{}; use {}", name, data.did_you_mean_material(name),
                          hint);
    return nullptr;
  }
  return m;
}

// A country key of a table: the ISO3 code when the dataset knows it, else nullopt (with a
// problem recorded when the key is there but names no country).
std::optional<std::string> country_of(TableReader& in, const Dataset& data) {
  const auto country = in.text("country");
  if (country && !data.find_country(*country)) {
    in.error("country", fmt::format("'{}'{} is not an ISO3 country code, e.g. GRC", *country,
                                    data.did_you_mean_place(*country)));
    return std::nullopt;
  }
  return country;
}

// A material key of a table: the material's id, or nullopt with a problem recorded.
std::optional<std::string> material_of(TableReader& in, const Dataset& data,
                                       std::string_view hint = "an id such as gallium or a name") {
  const auto name = in.text("material");
  if (!name) return std::nullopt;
  std::string problem;
  const Material* m = scenario_material(data, *name, hint, problem);
  if (!m) {
    in.error("material", problem);
    return std::nullopt;
  }
  return m->id;
}

std::optional<Stage> stage_of(TableReader& in) {
  const auto value = in.text("stage");
  if (!value) return std::nullopt;
  const auto parsed = parse_stage(*value);
  if (!parsed) in.error("stage", "use \"extraction\" or \"processing\"");
  return parsed;
}

// Everything one reading needs.
struct Reading {
  const toml::table& root;
  TomlFields& fields;
  const Dataset& data;
  Purpose purpose;
  std::vector<Diagnostic>& problems;
  const std::string& file;

  bool simulates() const { return purpose != Purpose::kClear; }
};

// Every top-level key must be a table the purpose reads.
void check_tables(const Reading& r) {
  std::vector<std::string> tables = {"scenario", "club", "instrument", "tariff",
                                     "export_restriction"};
  if (r.simulates()) {
    for (const char* t : {"demand_growth", "disruption", "demand_shock", "project",
                          "strategic_supplier", "uncertainty", "appraisal"}) {
      tables.emplace_back(t);
    }
  }
  if (r.purpose == Purpose::kBacktest) {
    for (const char* t : {"episode", "observed"}) tables.emplace_back(t);
  }
  const auto listed = [&] {
    std::string out;
    for (std::size_t i = 0; i < tables.size(); ++i) {
      const bool array = tables[i] == "instrument" || tables[i] == "tariff" ||
                         tables[i] == "export_restriction" || tables[i] == "disruption" ||
                         tables[i] == "project" || tables[i] == "observed" ||
                         tables[i] == "demand_shock" || tables[i] == "strategic_supplier" ||
                         tables[i] == "appraisal";
      if (i > 0) out += i + 1 == tables.size() ? " and " : ", ";
      out += array ? "[[" + tables[i] + "]]" : "[" + tables[i] + "]";
    }
    return out;
  }();
  for (const auto& [key, node] : r.root) {
    const std::string k(key.str());
    if (std::find(tables.begin(), tables.end(), k) != tables.end()) continue;
    if (r.purpose == Purpose::kClear && k == "disruption") {
      r.fields.error(node, k,
                     "[[disruption]] is read by critmin simulate (it has years and a "
                     "probability); critmin clear takes [[export_restriction]] for a measure in "
                     "force");
    } else if (r.purpose == Purpose::kClear) {
      r.fields.error(
          node, k, fmt::format("'{}' is not a scenario table; critmin clear takes {}", k, listed));
    } else {
      r.fields.error(
          node, k,
          fmt::format("'{}' is not a scenario table; a {} takes {}", k,
                      r.purpose == Purpose::kBacktest ? "back-test episode" : "simulation",
                      listed));
    }
  }
}

// The first and last year of the data a market can be calibrated on: production tonnages and
// annual or monthly prices, within the years a scenario may name at all.
std::pair<int, int> data_years(const Dataset& data) {
  int first = std::numeric_limits<int>::max();
  int last = std::numeric_limits<int>::min();
  const auto add = [&](int year) {
    first = std::min(first, year);
    last = std::max(last, year);
  };
  for (const ProductionRecord& p : data.production) add(p.year);
  for (const AnnualPrice& p : data.prices) add(p.year);
  for (const MonthlyPrice& p : data.monthly_prices) add(p.year);
  if (first > last) return {0, 0};  // no yearly data: nothing to check against
  return {std::max(first, kEarliestYear), std::min(last, kLatestYear)};
}

// A simulation projects forward from the data year it is calibrated on: the base year must be a
// year of the data, and the simulated years must lie in [base year, base year + the projection
// horizon]. Years before the base year would run on a later calibration than the years
// themselves (a 1990 scenario on 2023 markets), which answers no question honestly.
void check_years_against_data(TableReader& in, const Dataset& data, const ScenarioSpec& spec,
                              int default_base_year) {
  const auto [first_data, last_data] = data_years(data);
  if (first_data == 0) return;
  if (spec.base_year < first_data || spec.base_year > last_data) {
    in.error("base_year",
             fmt::format("{} is not a year of the data ({}-{}); calibrate on a data year, or leave "
                         "base_year out for the latest with production data ({})",
                         spec.base_year, first_data, last_data, default_base_year));
    return;
  }
  if (spec.last_year == 0) return;  // the years are wrong already
  const int horizon_end = spec.base_year + kProjectionHorizonYears;
  if (spec.first_year < spec.base_year) {
    in.error("years",
             fmt::format("{}-{} starts before the base year {} the markets are calibrated on, and "
                         "a simulation only projects forward; simulate years in [{}, {}], or set "
                         "base_year to a data year ({}-{}) no later than {}",
                         spec.first_year, spec.last_year, spec.base_year, spec.base_year,
                         horizon_end, first_data, last_data, spec.first_year));
  } else if (spec.last_year > horizon_end) {
    in.error("years",
             fmt::format("{}-{} ends past the projection horizon, {} years from the base year {}; "
                         "simulate years in [{}, {}] (docs/scenario-reference.md)",
                         spec.first_year, spec.last_year, kProjectionHorizonYears, spec.base_year,
                         spec.base_year, horizon_end));
  }
}

void read_scenario_table(const Reading& r, ScenarioSpec& spec) {
  const toml::node* node = r.root.get("scenario");
  if (!node) {
    if (r.simulates()) {
      r.fields.error(r.root, "scenario",
                     "a simulation needs [scenario] with years = [first, last] and seed = N");
    }
    return;
  }
  const toml::table* t = node->as_table();
  if (!t) {
    r.fields.error(*node, "scenario", "write [scenario] (a table)");
    return;
  }
  TableReader in(r.fields, *t, "scenario", "scenario");
  if (r.purpose == Purpose::kClear) {
    // A simulation scenario's keys are accepted so one file serves both commands; a clearing
    // has no years of its own, so base_year and materials would be ignored and are refused.
    r.fields.check_keys(*t, "scenario", {"name", "years", "seed", "description"});
  } else {
    in.check_keys();
  }
  spec.name = in.text("name").value_or("");
  spec.description = in.text("description").value_or("");
  if (!r.simulates()) return;
  if (const toml::node* years = t->get("years")) {
    const toml::array* array = years->as_array();
    const bool two_integers =
        array && array->size() == 2 && (*array)[0].is_integer() && (*array)[1].is_integer();
    if (!two_integers) {
      in.error("years", "write years = [first, last], e.g. years = [2025, 2035]");
    } else {
      const auto first = (*array)[0].value<std::int64_t>().value_or(0);
      const auto last = (*array)[1].value<std::int64_t>().value_or(0);
      if (first < kEarliestYear || last > kLatestYear) {
        in.error("years", fmt::format("years must lie in [{}, {}]", kEarliestYear, kLatestYear));
      } else if (last < first) {
        in.error("years",
                 fmt::format("the last year {} is before the first {}; swap them", last, first));
      } else {
        spec.first_year = static_cast<int>(first);
        spec.last_year = static_cast<int>(last);
      }
    }
  } else {
    in.error("years", "missing key 'years'; write years = [first, last]");
  }
  if (const toml::node* seed = t->get("seed")) {
    const auto value = seed->value<std::int64_t>();
    if (!seed->is_integer() || !value || *value < 0) {
      in.error("seed", "the seed is a whole number >= 0, e.g. seed = 7");
    } else {
      spec.seed = static_cast<std::uint64_t>(*value);
    }
  } else {
    in.error("seed", "missing key 'seed'; a run is reproducible from it, e.g. seed = 7");
  }
  int latest_data_year = 0;
  for (const ProductionRecord& p : r.data.production) {
    latest_data_year = std::max(latest_data_year, p.year);
  }
  spec.base_year = in.integer("base_year").value_or(latest_data_year);
  check_years_against_data(in, r.data, spec, latest_data_year);
  if (in.has("materials")) {
    if (auto names = in.strings("materials")) {
      for (const std::string& name : *names) {
        std::string problem;
        const Material* m = scenario_material(r.data, name, "an id such as gallium", problem);
        if (!m) {
          in.error("materials", problem);
          continue;
        }
        add_material(spec.materials, m->id);
      }
    }
  }
}

void read_club(const Reading& r, policy::ClearingScenario& clearing) {
  const toml::node* node = r.root.get("club");
  if (!node) return;
  const toml::table* t = node->as_table();
  if (!t) {
    r.fields.error(*node, "club", "write [club] (a table) with members = [...]");
    return;
  }
  TableReader in(r.fields, *t, "club", "club");
  in.check_keys();
  clearing.has_club = true;
  policy::ClubDesign& club = clearing.club;
  club.members_line = in.line();
  if (auto members = in.strings("members")) {
    for (const std::string& m : *members) {
      if (!r.data.find_country(m) && !r.data.resolve_bloc(m).is_ok()) {
        in.error("members",
                 fmt::format("'{}'{} is neither an ISO3 code nor a bloc (EU27, MSP, club, ...)", m,
                             r.data.did_you_mean_place(m)));
      }
    }
    club.members = *members;
    club.member_countries = policy::member_countries(club.members, r.data);
  }
  club.external_ad_valorem = in.number("external_ad_valorem").value_or(0.0);
  club.external_specific_usd_per_t = in.number("external_specific_usd_per_t").value_or(0.0);
}

void read_instruments(const Reading& r, policy::ClearingScenario& clearing) {
  for (const toml::table* t : r.fields.tables(r.root, "instrument")) {
    if (auto spec = read_instrument(r.fields, *t, r.data)) {
      clearing.instruments.push_back(std::move(*spec));
    }
  }
  if (!clearing.instruments.empty() && !clearing.has_club) {
    r.problems.push_back({r.file, toml_line(*r.root.get("instrument")), "club",
                          "instruments are the club's: add [club] with members = [...]"});
  }
}

market::TradeMeasures read_trade_tables(TomlFields& fields, const toml::table& root,
                                        const Dataset& data, const std::string& file) {
  market::TradeMeasures measures;
  measures.file = file;
  const auto material_or_all = [&](TableReader& in) -> std::string {
    return in.has("material") ? material_of(in, data, "an id such as gallium").value_or("") : "";
  };
  for (const toml::table* t : fields.tables(root, "tariff")) {
    TableReader in(fields, *t, "tariff", "tariff");
    in.check_keys();
    market::TariffMeasure m;
    m.line = in.line();
    m.material = material_or_all(in);
    m.importer = in.text("importer").value_or("");
    m.exporter = in.text("exporter").value_or("");
    m.stage = stage_of(in).value_or(Stage::kProcessing);
    m.specific_usd_per_t = in.number("specific_usd_per_t").value_or(0.0);
    // An ad valorem rate is a fraction of the origin price: 0.25 for 25%; 10 (1000%) is the cap.
    m.ad_valorem = in.number("ad_valorem").value_or(0.0);
    if (!in.has("specific_usd_per_t") && !in.has("ad_valorem")) {
      fields.error(*t, "tariff", "give specific_usd_per_t, ad_valorem or both");
    }
    measures.tariffs.push_back(m);
  }
  for (const toml::table* t : fields.tables(root, "export_restriction")) {
    TableReader in(fields, *t, "export_restriction", "export_restriction");
    in.check_keys();
    market::RestrictionMeasure m;
    m.line = in.line();
    m.material = material_or_all(in);
    m.origin = in.text("origin").value_or("");
    m.stage = stage_of(in).value_or(Stage::kProcessing);
    if (const toml::node* node = in.get("destinations")) {
      const toml::array* array = node->as_array();
      if (!array || array->empty()) {
        in.error("destinations", "expected a non-empty list such as [\"USA\", \"EU27\"]");
      } else {
        for (const toml::node& item : *array) {
          if (!item.is_string()) {
            fields.error(item, "destinations", "expected strings");
          } else {
            m.destinations.push_back(**item.as_string());
          }
        }
      }
    } else {
      in.error("destinations", "missing key 'destinations' (use [\"all\"] for every region)");
    }
    const std::string kind = in.text("kind").value_or("ban");
    if (kind == "quota") {
      m.kind = market::RestrictionKind::kQuota;
      const auto share = in.number("share");
      if (!share && !in.has("share")) {
        in.error("share", "a quota needs share = the allowed fraction of base exports");
      }
      m.quota_share = share.value_or(0.0);
    } else if (kind != "ban") {
      in.error("kind", "use \"ban\" or \"quota\"");
    } else if (in.has("share")) {
      in.error("share", "a ban takes no share; use kind = \"quota\" for a quota");
    }
    m.leakage = in.boolean("leakage").value_or(false);
    m.leakage_cost_usd_per_t = in.number("leakage_cost_usd_per_t").value_or(0.0);
    if (!m.leakage && in.has("leakage_cost_usd_per_t")) {
      in.error("leakage_cost_usd_per_t",
               "a leakage cost needs leakage = true; without leakage nothing goes round the "
               "restriction");
    }
    measures.restrictions.push_back(m);
  }
  return measures;
}

void read_demand_growth(const Reading& r, ScenarioSpec& spec) {
  const toml::node* node = r.root.get("demand_growth");
  if (!node) return;
  const toml::table* t = node->as_table();
  if (!t) {
    r.fields.error(*node, "demand_growth", "write [demand_growth] with material = rate lines");
    return;
  }
  const ScenarioKey* rate_key = find_scenario_key("demand_growth", "<material>");
  for (const auto& [key, value] : *t) {
    const std::string name(key.str());
    std::string problem;
    const Material* m = scenario_material(r.data, name, "an id such as gallium", problem);
    if (!m) {
      r.fields.error(value, name, problem + " (in [demand_growth])");
      continue;
    }
    if (auto rate = r.fields.number(*t, name.c_str(), rate_key->min.value_or(-0.99),
                                    rate_key->max.value_or(1.0), true)) {
      spec.demand_growth[m->id] = *rate;
    }
  }
}

void read_disruptions(const Reading& r, ScenarioSpec& spec) {
  for (const toml::table* t : r.fields.tables(r.root, "disruption")) {
    TableReader in(r.fields, *t, "disruption", "disruption");
    in.check_keys();
    Disruption d;
    d.line = in.line();
    const auto material = material_of(in, r.data);
    const auto origin = in.text("origin");
    const auto stage = stage_of(in);
    const auto kind = in.text("kind");
    // Price and output cuts act on the origin's own supply: they have no destinations.
    const bool own_supply = kind && (*kind == "price_cut" || *kind == "output_cut");
    const auto destinations = in.strings("destinations");
    if (!own_supply && !in.has("destinations")) {
      in.error("destinations", "missing key 'destinations' (a list of names)");
    }
    const auto start = in.integer("start");
    const auto years = in.integer("years");
    const auto probability = in.number("probability");
    const auto share = in.number("share");
    if (kind && *kind == "export_ban") {
      d.kind = DisruptionKind::kExportBan;
      if (in.has("share")) {
        in.error("share", "an export ban allows nothing; drop share or use kind = \"quota\"");
      }
    } else if (kind && *kind == "quota") {
      d.kind = DisruptionKind::kQuota;
      if (!in.has("share")) {
        in.error("share",
                 "a quota needs share = the part of base-year exports still allowed, e.g. "
                 "share = 0.5");
      }
      d.quota_share = share.value_or(0.0);
    } else if (own_supply) {
      // A price cut: a dominant supplier's response to entry, it offers its output below cost.
      // An output cut: power rationing, a stopped mine.
      const bool output = *kind == "output_cut";
      d.kind = output ? DisruptionKind::kOutputCut : DisruptionKind::kPriceCut;
      if (!in.has("share")) {
        in.error("share", output ? "an output cut needs share = the part of the origin's "
                                   "capacity lost, e.g. share = 0.2"
                                 : "a price cut needs share = the part of its supply cost the "
                                   "origin gives up, e.g. share = 0.3");
      }
      if (in.has("destinations")) {
        in.error("destinations", output ? "an output cut applies to the origin's supply; drop "
                                          "destinations"
                                        : "a price cut applies to every buyer; drop destinations");
      }
      d.quota_share = share.value_or(0.0);
    } else if (kind) {
      in.error("kind", "use \"export_ban\", \"quota\", \"price_cut\" or \"output_cut\"");
    }
    d.leakage = in.boolean("leakage").value_or(false);
    d.leakage_cost_usd_per_t = in.number("leakage_cost_usd_per_t").value_or(0.0);
    if (!d.leakage && in.has("leakage_cost_usd_per_t")) {
      in.error("leakage_cost_usd_per_t", "a leakage cost needs leakage = true");
    }
    if (!material || !origin || !stage || !kind || (!destinations && !own_supply) || !start ||
        !years || !probability) {
      continue;
    }
    d.material = *material;
    d.origin = *origin;
    d.stage = *stage;
    d.destinations = destinations.value_or(std::vector<std::string>{});
    d.start_year = *start;
    d.years = *years;
    d.probability = *probability;
    spec.disruptions.push_back(std::move(d));
  }
}

void read_demand_shocks(const Reading& r, ScenarioSpec& spec) {
  for (const toml::table* t : r.fields.tables(r.root, "demand_shock")) {
    TableReader in(r.fields, *t, "demand_shock", "demand_shock");
    in.check_keys();
    DemandShock shock;
    shock.line = in.line();
    const auto material = material_of(in, r.data);
    const auto region = in.text("region");
    const auto share = in.number("share");
    const auto start = in.integer("start");
    const auto years = in.integer("years");
    if (!material || !region || !share || !start || !years) continue;
    shock.material = *material;
    shock.region = *region;
    shock.share = *share;
    shock.start_year = *start;
    shock.years = *years;
    spec.demand_shocks.push_back(std::move(shock));
  }
}

void read_uncertainty(const Reading& r, ScenarioSpec& spec) {
  const toml::node* node = r.root.get("uncertainty");
  if (!node) return;
  const toml::table* t = node->as_table();
  if (!t) {
    r.fields.error(*node, "uncertainty",
                   "write [uncertainty] with demand_growth_sd and demand_noise_sd lines");
    return;
  }
  TableReader in(r.fields, *t, "uncertainty", "uncertainty");
  in.check_keys();
  spec.uncertainty.line = in.line();
  spec.uncertainty.demand_growth_sd = in.number("demand_growth_sd").value_or(0.0);
  spec.uncertainty.demand_noise_sd = in.number("demand_noise_sd").value_or(0.0);
}

void read_strategic_suppliers(const Reading& r, ScenarioSpec& spec) {
  for (const toml::table* t : r.fields.tables(r.root, "strategic_supplier")) {
    TableReader in(r.fields, *t, "strategic_supplier", "strategic_supplier");
    in.check_keys();
    policy::StrategicSupplierSpec leader;
    leader.line = in.line();
    const auto material = material_of(in, r.data);
    const auto origin = in.text("origin");
    const auto stage = stage_of(in);
    const auto objective = in.choice("objective");
    if (objective) {
      if (*objective == "welfare") leader.objective = policy::LeaderObjective::kWelfare;
      if (*objective == "market_share") leader.objective = policy::LeaderObjective::kMarketShare;
      if (*objective == "limit_price") leader.objective = policy::LeaderObjective::kLimitPrice;
    }
    if (in.has("profit_floor_share") && leader.objective != policy::LeaderObjective::kMarketShare) {
      in.error("profit_floor_share",
               "a profit floor applies to objective = \"market_share\"; drop it or set that "
               "objective");
    }
    if (in.has("horizon_years") && leader.objective != policy::LeaderObjective::kLimitPrice) {
      in.error("horizon_years",
               "a horizon applies to objective = \"limit_price\"; drop it or set that objective");
    }
    leader.profit_floor_share = in.number("profit_floor_share").value_or(0.8);
    leader.max_cost_cut_share = in.number("max_cost_cut_share").value_or(0.5);
    leader.horizon_years = in.integer("horizon_years").value_or(10);
    leader.action_tolerance = in.number("action_tolerance").value_or(0.005);
    const auto start = in.integer("start");
    const auto years = in.integer("years");
    if (!material || !origin || !stage) continue;
    for (const policy::StrategicSupplierSpec& other : spec.strategic_suppliers) {
      if (other.material == *material && other.stage == *stage) {
        in.error("material", fmt::format("{} already has a strategic supplier at the {} stage "
                                         "(line {}); a market has at most one leader per stage",
                                         *material, stage_name(*stage), other.line));
      }
    }
    leader.material = *material;
    leader.origin = *origin;
    leader.stage = *stage;
    leader.first_year = start.value_or(0);
    leader.last_year = start && years ? *start + *years - 1 : 0;
    if (years && !start) in.error("years", "years counts from start; add start = YEAR");
    spec.strategic_suppliers.push_back(std::move(leader));
  }
}

void read_appraisals(const Reading& r, ScenarioSpec& spec) {
  for (const toml::table* t : r.fields.tables(r.root, "appraisal")) {
    TableReader in(r.fields, *t, "appraisal", "appraisal");
    in.check_keys();
    AppraisalSpec a;
    a.line = in.line();
    const auto material = material_of(in, r.data);
    const auto country = country_of(in, r.data);
    const auto stage = in.has("stage") ? stage_of(in) : std::optional<Stage>(Stage::kProcessing);
    const auto capacity = in.number("capacity_t");
    if (capacity && *capacity <= 0.0) {
      in.error("capacity_t", "an appraised project adds capacity: give capacity_t > 0");
    }
    a.capex_usd = in.number("capex_usd");
    a.unit_cost_usd_per_t = in.number("unit_cost_usd_per_t");
    a.online_year = in.integer("online_year");
    const auto runs = in.integer("runs");
    if (!material || !country || !stage || !capacity || *capacity <= 0.0) continue;
    a.material = *material;
    a.country = *country;
    a.stage = *stage;
    a.capacity_t = *capacity;
    if (runs) a.runs = static_cast<std::size_t>(*runs);
    spec.appraisals.push_back(std::move(a));
  }
}

void read_projects(const Reading& r, ScenarioSpec& spec) {
  for (const toml::table* t : r.fields.tables(r.root, "project")) {
    TableReader in(r.fields, *t, "project", "project");
    in.check_keys();
    ProjectSpec p;
    p.line = in.line();
    const auto name = in.text("name");
    p.enabled = in.boolean("enabled").value_or(true);
    if (!name) continue;
    p.name = *name;
    if (!p.enabled) {
      // Removing a strategic project needs only its name.
      for (const char* key : {"material", "country", "stage", "capacity_t", "online_year",
                              "unit_cost_usd_per_t", "capex_usd"}) {
        if (in.has(key)) in.error(key, "a project with enabled = false is removed; drop this key");
      }
      spec.projects.push_back(std::move(p));
      continue;
    }
    // Required only for a project that is added (the schema says "when enabled").
    for (const auto& [key, kind] :
         {std::pair{"material", ""}, std::pair{"country", ""}, std::pair{"stage", ""},
          std::pair{"capacity_t", " (a number)"}, std::pair{"online_year", " (a whole number)"}}) {
      if (!in.has(key)) in.error(key, fmt::format("missing key '{}'{}", key, kind));
    }
    const auto material = in.has("material") ? material_of(in, r.data) : std::nullopt;
    const auto country = country_of(in, r.data);
    const auto stage = in.has("stage") ? stage_of(in) : std::nullopt;
    const auto capacity = in.number("capacity_t");
    if (capacity && *capacity <= 0.0) {
      in.error("capacity_t",
               "a project adds capacity: give capacity_t > 0 (enabled = false removes one)");
    }
    const auto online = in.integer("online_year");
    p.unit_cost_usd_per_t = in.number("unit_cost_usd_per_t");
    p.capex_usd = in.number("capex_usd");
    if (!material || !country || !stage || !capacity || *capacity <= 0.0 || !online) {
      continue;
    }
    p.material = *material;
    p.country = *country;
    p.stage = *stage;
    p.capacity_t = *capacity;
    p.online_year = *online;
    spec.projects.push_back(std::move(p));
  }
}

// The checks of a simulation that need the whole file read: its materials and the disruptions'
// years.
void check_simulation(const Reading& r, ScenarioSpec& spec) {
  if (r.problems.empty()) {
    // Default materials: every one the scenario names, in the order it names them.
    if (spec.materials.empty()) {
      for (const policy::InstrumentSpec& i : spec.clearing.instruments) {
        add_material(spec.materials, i.material);
      }
      for (const Disruption& d : spec.disruptions) add_material(spec.materials, d.material);
      for (const auto& m : spec.clearing.trade.restrictions)
        add_material(spec.materials, m.material);
      for (const auto& m : spec.clearing.trade.tariffs) add_material(spec.materials, m.material);
      for (const ProjectSpec& p : spec.projects) add_material(spec.materials, p.material);
      for (const policy::StrategicSupplierSpec& l : spec.strategic_suppliers) {
        add_material(spec.materials, l.material);
      }
    }
    if (spec.materials.empty()) {
      const toml::node* where = r.root.get("scenario");
      r.problems.push_back({r.file, where ? toml_line(*where) : 0, "materials",
                            "the scenario names no material; add materials = [\"gallium\", ...] "
                            "to [scenario]"});
    }
  }
  for (const Disruption& d : spec.disruptions) {
    if (d.start_year > spec.last_year || d.start_year + d.years - 1 < spec.first_year) {
      if (spec.last_year == 0) continue;  // the years are wrong already
      r.problems.push_back(
          {r.file, d.line, "start",
           fmt::format("the disruption ({}-{}) lies outside the simulated years "
                       "{}-{}; move start",
                       d.start_year, d.start_year + d.years - 1, spec.first_year, spec.last_year)});
    }
  }
}

Status located(std::string message, std::vector<Diagnostic> problems) {
  std::stable_sort(problems.begin(), problems.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
  return Status::invalid_input(std::move(message), std::move(problems));
}

const char* invalid_what(Purpose purpose) {
  switch (purpose) {
    case Purpose::kClear:
      return "invalid scenario";
    case Purpose::kSimulate:
      return "invalid simulation scenario";
    case Purpose::kBacktest:
      return "invalid back-test episode";
  }
  return "invalid scenario";
}

// Reads the tables of a parsed file into `spec`; problems go to `problems`.
void read_parsed(const toml::table& root, const std::string& file_name, const Dataset& data,
                 Purpose purpose, std::vector<Diagnostic>& problems, ScenarioSpec& spec) {
  TomlFields fields(file_name, problems);
  const Reading r{root, fields, data, purpose, problems, file_name};
  spec.file = file_name;
  spec.clearing.file = file_name;
  check_tables(r);
  read_scenario_table(r, spec);
  spec.clearing.name = spec.name;
  if (r.simulates()) {
    read_demand_growth(r, spec);
    read_disruptions(r, spec);
    read_demand_shocks(r, spec);
    read_strategic_suppliers(r, spec);
    read_uncertainty(r, spec);
    read_projects(r, spec);
    read_appraisals(r, spec);
  }
  read_club(r, spec.clearing);
  read_instruments(r, spec.clearing);
  spec.clearing.trade = read_trade_tables(fields, root, data, file_name);
  // A multi-year run applies each instrument in the years it is in force (an offtake's tenor).
  spec.clearing.skip_instruments_out_of_force = r.simulates();
  if (r.simulates()) check_simulation(r, spec);
}

}  // namespace

Result<ScenarioSpec> read_scenario(std::string_view toml_text, const std::string& file_name,
                                   const Dataset& data, Purpose purpose) {
  Result<toml::table> parsed = parse_toml(toml_text, file_name);
  CRITMIN_RETURN_IF_ERROR(parsed);
  std::vector<Diagnostic> problems;
  ScenarioSpec spec;
  read_parsed(parsed.value(), file_name, data, purpose, problems, spec);
  if (!problems.empty()) {
    return located(fmt::format("{}: {}", file_name, invalid_what(purpose)), std::move(problems));
  }
  return spec;
}

Result<policy::ClearingScenario> read_clearing_scenario(std::string_view toml_text,
                                                        const std::string& file_name,
                                                        const Dataset& data, int year) {
  Result<toml::table> parsed = parse_toml(toml_text, file_name);
  CRITMIN_RETURN_IF_ERROR(parsed);
  std::vector<Diagnostic> problems;
  ScenarioSpec spec;
  read_parsed(parsed.value(), file_name, data, Purpose::kClear, problems, spec);
  // A single clearing is in one year: a contract out of force then is reported with the rest.
  for (const policy::InstrumentSpec& instrument : spec.clearing.instruments) {
    const auto* offtake = std::get_if<policy::OfftakeSpec>(&instrument.terms);
    if (year > 0 && offtake && !settlement::offtake_active(offtake->terms, year)) {
      problems.push_back(
          {file_name, instrument.line, "tenor_years",
           fmt::format("the contract runs {}-{} and is not in force in {}: it is past its tenor "
                       "or not yet started; change start_year/tenor_years or the year",
                       offtake->terms.start_year,
                       offtake->terms.start_year + offtake->terms.tenor_years - 1, year)});
    }
  }
  if (!problems.empty()) {
    return located(fmt::format("{}: invalid scenario", file_name), std::move(problems));
  }
  return std::move(spec.clearing);
}

Result<ScenarioSpec> read_simulation_scenario(std::string_view toml_text,
                                              const std::string& file_name, const Dataset& data) {
  return read_scenario(toml_text, file_name, data, Purpose::kSimulate);
}

Result<Episode> read_episode(std::string_view toml_text, const std::string& file_name,
                             const Dataset& data) {
  Result<toml::table> parsed = parse_toml(toml_text, file_name);
  CRITMIN_RETURN_IF_ERROR(parsed);
  const toml::table& root = parsed.value();
  std::vector<Diagnostic> problems;
  Episode episode;
  episode.name = std::filesystem::path(file_name).stem().string();
  read_parsed(root, file_name, data, Purpose::kBacktest, problems, episode.scenario);
  const bool scenario_ok = problems.empty();
  TomlFields fields(file_name, problems);

  const toml::table* header = root["episode"].as_table();
  if (!header) {
    problems.push_back(
        {file_name, 0, "episode", "an episode file needs an [episode] table with title and year"});
  } else {
    TableReader in(fields, *header, "episode", "episode");
    in.check_keys();
    episode.title = in.text("title").value_or("");
    episode.year = in.integer("year").value_or(0);
    if (episode.year != 0 && scenario_ok &&
        (episode.year < episode.scenario.first_year || episode.year > episode.scenario.last_year)) {
      in.error("year",
               fmt::format("{} is not a simulated year ({}-{}); compare in one of them",
                           episode.year, episode.scenario.first_year, episode.scenario.last_year));
    }
  }
  const std::vector<const toml::table*> observed = fields.tables(root, "observed");
  if (observed.empty() && !root.contains("observed")) {
    problems.push_back({file_name, 0, "observed",
                        "an episode needs at least one [[observed]] outcome to compare with"});
  }
  for (const toml::table* t : observed) {
    TableReader in(fields, *t, "observed", "observed");
    in.check_keys();
    Observation o;
    o.line = in.line();
    const auto figure = in.text("figure");
    if (figure && *figure != "price" && *figure != "exports") {
      in.error("figure", fmt::format("'{}' is not a figure critmin compares; use \"price\" or "
                                     "\"exports\"",
                                     *figure));
    }
    o.figure = figure && *figure == "exports" ? ObservedFigure::kExports : ObservedFigure::kPrice;
    o.region = in.text("region").value_or("");
    const auto stage = in.text("stage");
    if (stage && !parse_stage(*stage)) {
      in.error("stage",
               fmt::format("'{}' is not a stage; use \"extraction\" or \"processing\"", *stage));
    }
    o.stage = stage ? parse_stage(*stage).value_or(Stage::kProcessing) : Stage::kProcessing;
    const auto before = in.number("before");
    const auto after = in.number("after");
    if (before && *before <= 0.0) {
      in.error("before", "the value before the measure must be > 0 (the change is relative to it)");
    }
    o.before = before.value_or(1.0);
    o.after = after.value_or(0.0);
    o.unit = in.text("unit").value_or("");
    o.when = in.text("when").value_or("");
    o.source = in.text("source").value_or("");
    episode.observed.push_back(std::move(o));
  }
  if (scenario_ok && episode.scenario.disruptions.empty() &&
      episode.scenario.demand_shocks.empty() && episode.scenario.strategic_suppliers.empty()) {
    problems.push_back({file_name, 0, "disruption",
                        "an episode reproduces a measure: add at least one [[disruption]], "
                        "[[demand_shock]] or [[strategic_supplier]]"});
  }
  if (scenario_ok && episode.scenario.materials.size() != 1) {
    problems.push_back({file_name, 0, "materials",
                        fmt::format("an episode is about one material; the scenario names {}",
                                    episode.scenario.materials.size())});
  }
  if (!problems.empty()) {
    return located(fmt::format("{}: invalid back-test episode", file_name), std::move(problems));
  }
  return episode;
}

Result<market::TradeMeasures> read_trade_measures(std::string_view toml_text,
                                                  const std::string& file_name,
                                                  const Dataset& data) {
  Result<toml::table> parsed = parse_toml(toml_text, file_name);
  CRITMIN_RETURN_IF_ERROR(parsed);
  std::vector<Diagnostic> problems;
  TomlFields fields(file_name, problems);
  market::TradeMeasures measures = read_trade_tables(fields, parsed.value(), data, file_name);
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: invalid trade measures", file_name),
                                 std::move(problems));
  }
  return measures;
}

}  // namespace critmin::scenario
