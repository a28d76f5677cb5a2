// Reading a simulation scenario: the simulation's own tables here, the club, instruments and trade
// measures through policy::read_clearing_scenario, with every problem collected at file:line:key.
#include <fmt/format.h>

#include <algorithm>

#include "core/toml_reader.h"
#include "critmin/market/calibration.h"
#include "critmin/market/trade_measures.h"
#include "critmin/sim/simulation.h"

namespace critmin::sim {
namespace {

// Years a simulation may cover; the data start in the 2010s and a horizon past 2100 is no policy
// question.
constexpr int kEarliestYear = 1990;
constexpr int kLatestYear = 2100;

void add_material(std::vector<std::string>& materials, const std::string& id) {
  if (!id.empty() && std::find(materials.begin(), materials.end(), id) == materials.end()) {
    materials.push_back(id);
  }
}

// A material key of a table: the material's id, or nullopt with a problem recorded.
std::optional<std::string> material_of(TomlFields& fields, const toml::table& t,
                                       const Dataset& data) {
  const auto name = fields.text(t, "material", true);
  if (!name) return std::nullopt;
  const Material* m = data.find_material(*name);
  if (!m) {
    fields.error(*t.get("material"), "material",
                 fmt::format("unknown material '{}'; use an id such as gallium or a name", *name));
    return std::nullopt;
  }
  return m->id;
}

std::optional<Stage> stage_of(TomlFields& fields, const toml::table& t) {
  const auto value = fields.text(t, "stage", true);
  if (!value) return std::nullopt;
  const auto parsed = parse_stage(*value);
  if (!parsed) fields.error(*t.get("stage"), "stage", "use \"extraction\" or \"processing\"");
  return parsed;
}

void read_scenario_table(const toml::table& root, TomlFields& fields, const Dataset& data,
                         SimulationScenario& scenario) {
  const toml::node* node = root.get("scenario");
  if (!node || !node->as_table()) {
    fields.error(root, "scenario",
                 "a simulation needs [scenario] with years = [first, last] and seed = N");
    return;
  }
  const toml::table& t = *node->as_table();
  // The keys themselves are checked by the clearing reader (with the simulation's added).
  scenario.name = fields.text(t, "name", false).value_or("");
  if (const toml::node* years = t.get("years")) {
    const toml::array* array = years->as_array();
    const bool two_integers =
        array && array->size() == 2 && (*array)[0].is_integer() && (*array)[1].is_integer();
    if (!two_integers) {
      fields.error(*years, "years", "write years = [first, last], e.g. years = [2025, 2035]");
    } else {
      const auto first = (*array)[0].value<std::int64_t>().value_or(0);
      const auto last = (*array)[1].value<std::int64_t>().value_or(0);
      if (first < kEarliestYear || last > kLatestYear) {
        fields.error(*years, "years",
                     fmt::format("years must lie in [{}, {}]", kEarliestYear, kLatestYear));
      } else if (last < first) {
        fields.error(
            *years, "years",
            fmt::format("the last year {} is before the first {}; swap them", last, first));
      } else {
        scenario.first_year = static_cast<int>(first);
        scenario.last_year = static_cast<int>(last);
      }
    }
  } else {
    fields.error(t, "years", "missing key 'years'; write years = [first, last]");
  }
  if (const toml::node* seed = t.get("seed")) {
    const auto value = seed->value<std::int64_t>();
    if (!seed->is_integer() || !value || *value < 0) {
      fields.error(*seed, "seed", "the seed is a whole number >= 0, e.g. seed = 7");
    } else {
      scenario.seed = static_cast<std::uint64_t>(*value);
    }
  } else {
    fields.error(t, "seed", "missing key 'seed'; a run is reproducible from it, e.g. seed = 7");
  }
  int latest_data_year = 0;
  for (const ProductionRecord& p : data.production) {
    latest_data_year = std::max(latest_data_year, p.year);
  }
  scenario.base_year =
      fields.integer(t, "base_year", kEarliestYear, kLatestYear, false).value_or(latest_data_year);
  if (t.get("materials")) {
    if (auto names = fields.strings(t, "materials", true)) {
      for (const std::string& name : *names) {
        const Material* m = data.find_material(name);
        if (!m) {
          fields.error(*t.get("materials"), "materials",
                       fmt::format("unknown material '{}'; use an id such as gallium", name));
          continue;
        }
        add_material(scenario.materials, m->id);
      }
    }
  }
}

void read_demand_growth(const toml::table& root, TomlFields& fields, const Dataset& data,
                        SimulationScenario& scenario) {
  const toml::node* node = root.get("demand_growth");
  if (!node) return;
  const toml::table* t = node->as_table();
  if (!t) {
    fields.error(*node, "demand_growth", "write [demand_growth] with material = rate lines");
    return;
  }
  for (const auto& [key, value] : *t) {
    const std::string name(key.str());
    const Material* m = data.find_material(name);
    if (!m) {
      fields.error(value, name,
                   fmt::format("unknown material '{}' in [demand_growth]; use an id such as "
                               "gallium",
                               name));
      continue;
    }
    // Demand cannot shrink by all of itself in a year; growth above 100% a year is a typo.
    if (auto rate = fields.number(*t, name.c_str(), -0.99, 1.0, true)) {
      scenario.demand_growth[m->id] = *rate;
    }
  }
}

void read_disruptions(const toml::table& root, TomlFields& fields, const Dataset& data,
                      SimulationScenario& scenario) {
  for (const toml::table* t : fields.tables(root, "disruption")) {
    fields.check_keys(*t, "disruption",
                      {"origin", "material", "stage", "kind", "share", "destinations", "start",
                       "years", "probability", "leakage", "leakage_cost_usd_per_t"});
    Disruption d;
    d.line = toml_line(*t);
    const auto material = material_of(fields, *t, data);
    const auto origin = fields.text(*t, "origin", true);
    const auto stage = stage_of(fields, *t);
    const auto kind = fields.text(*t, "kind", true);
    const bool price_cut = kind && *kind == "price_cut";
    const auto destinations = fields.strings(*t, "destinations", !price_cut);
    const auto start = fields.integer(*t, "start", kEarliestYear, kLatestYear, true);
    const auto years = fields.integer(*t, "years", 1, kLatestYear - kEarliestYear, true);
    const auto probability = fields.number(*t, "probability", 0.0, 1.0, true);
    const auto share = fields.number(*t, "share", 0.0, 1.0, false);
    if (kind && *kind == "export_ban") {
      d.kind = DisruptionKind::kExportBan;
      if (t->get("share")) {
        fields.error(*t->get("share"), "share",
                     "an export ban allows nothing; drop share or use kind = \"quota\"");
      }
    } else if (kind && *kind == "quota") {
      d.kind = DisruptionKind::kQuota;
      if (!t->get("share")) {
        fields.error(*t, "share",
                     "a quota needs share = the part of base-year exports still allowed, e.g. "
                     "share = 0.5");
      }
      d.quota_share = share.value_or(0.0);
    } else if (price_cut) {
      // A dominant supplier's response to entry: it offers its output below cost.
      d.kind = DisruptionKind::kPriceCut;
      if (!t->get("share")) {
        fields.error(*t, "share",
                     "a price cut needs share = the part of its supply cost the origin gives up, "
                     "e.g. share = 0.3");
      }
      if (t->get("destinations")) {
        fields.error(*t->get("destinations"), "destinations",
                     "a price cut applies to every buyer; drop destinations");
      }
      d.quota_share = share.value_or(0.0);
    } else if (kind) {
      fields.error(*t->get("kind"), "kind", "use \"export_ban\", \"quota\" or \"price_cut\"");
    }
    d.leakage = fields.boolean(*t, "leakage").value_or(false);
    d.leakage_cost_usd_per_t = fields.number(*t, "leakage_cost_usd_per_t", 0.0, 1e12).value_or(0.0);
    if (!d.leakage && t->get("leakage_cost_usd_per_t")) {
      fields.error(*t->get("leakage_cost_usd_per_t"), "leakage_cost_usd_per_t",
                   "a leakage cost needs leakage = true");
    }
    if (!material || !origin || !stage || !kind || (!destinations && !price_cut) || !start ||
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
    scenario.disruptions.push_back(std::move(d));
  }
}

void read_projects(const toml::table& root, TomlFields& fields, const Dataset& data,
                   SimulationScenario& scenario) {
  for (const toml::table* t : fields.tables(root, "project")) {
    fields.check_keys(*t, "project",
                      {"name", "material", "country", "stage", "capacity_t", "online_year",
                       "unit_cost_usd_per_t", "capex_usd", "enabled"});
    ProjectSpec p;
    p.line = toml_line(*t);
    const auto name = fields.text(*t, "name", true);
    p.enabled = fields.boolean(*t, "enabled").value_or(true);
    if (!name) continue;
    p.name = *name;
    if (!p.enabled) {
      // Removing a strategic project needs only its name.
      for (const char* key : {"material", "country", "stage", "capacity_t", "online_year",
                              "unit_cost_usd_per_t", "capex_usd"}) {
        if (const toml::node* extra = t->get(key)) {
          fields.error(*extra, key, "a project with enabled = false is removed; drop this key");
        }
      }
      scenario.projects.push_back(std::move(p));
      continue;
    }
    const auto material = material_of(fields, *t, data);
    const auto country = fields.text(*t, "country", true);
    if (country && !data.find_country(*country)) {
      fields.error(*t->get("country"), "country",
                   fmt::format("'{}' is not an ISO3 country code, e.g. GRC", *country));
    }
    const auto stage = stage_of(fields, *t);
    const auto capacity = fields.number(*t, "capacity_t", 0.0, 1e12, true);
    if (capacity && *capacity <= 0.0) {
      fields.error(*t->get("capacity_t"), "capacity_t",
                   "a project adds capacity: give capacity_t > 0 (enabled = false removes one)");
    }
    const auto online = fields.integer(*t, "online_year", kEarliestYear, kLatestYear, true);
    p.unit_cost_usd_per_t = fields.number(*t, "unit_cost_usd_per_t", 0.0, 1e12, false);
    p.capex_usd = fields.number(*t, "capex_usd", 0.0, 1e15, false);
    if (!material || !country || !data.find_country(*country) || !stage || !capacity ||
        *capacity <= 0.0 || !online) {
      continue;
    }
    p.material = *material;
    p.country = *country;
    p.stage = *stage;
    p.capacity_t = *capacity;
    p.online_year = *online;
    scenario.projects.push_back(std::move(p));
  }
}

}  // namespace

Result<SimulationScenario> read_simulation_scenario(std::string_view toml_text,
                                                    const std::string& file_name,
                                                    const Dataset& data,
                                                    const std::vector<std::string>& extra_tables) {
  Result<toml::table> parsed = parse_toml(toml_text, file_name);
  CRITMIN_RETURN_IF_ERROR(parsed);
  const toml::table& root = parsed.value();
  std::vector<Diagnostic> problems;
  TomlFields fields(file_name, problems);
  SimulationScenario scenario;
  scenario.file = file_name;
  read_scenario_table(root, fields, data, scenario);
  read_demand_growth(root, fields, data, scenario);
  read_disruptions(root, fields, data, scenario);
  read_projects(root, fields, data, scenario);

  // Year 0: an instrument's dates (an offtake's tenor) are checked in each simulated year.
  policy::ScenarioExtensions extensions;
  extensions.tables = {"disruption", "demand_growth", "project"};
  for (const std::string& table : extra_tables) extensions.tables.insert(table);
  extensions.scenario_keys = {"base_year", "materials"};
  Result<policy::ClearingScenario> clearing =
      policy::read_clearing_scenario(toml_text, file_name, data, 0, extensions);
  if (!clearing.is_ok()) {
    for (const Diagnostic& d : clearing.status().diagnostics()) problems.push_back(d);
  } else {
    scenario.clearing = std::move(clearing).value();
    scenario.clearing.skip_instruments_out_of_force = true;
  }

  if (problems.empty()) {
    // Default materials: every one the scenario names, in the order it names them.
    if (scenario.materials.empty()) {
      for (const policy::InstrumentSpec& i : scenario.clearing.instruments) {
        add_material(scenario.materials, i.material);
      }
      for (const Disruption& d : scenario.disruptions) add_material(scenario.materials, d.material);
      for (const auto& r : scenario.clearing.trade.restrictions) {
        add_material(scenario.materials, r.material);
      }
      for (const auto& tariff : scenario.clearing.trade.tariffs) {
        add_material(scenario.materials, tariff.material);
      }
      for (const ProjectSpec& p : scenario.projects) add_material(scenario.materials, p.material);
    }
    if (scenario.materials.empty()) {
      const toml::node* where = root.get("scenario");
      problems.push_back({file_name, where ? toml_line(*where) : 0, "materials",
                          "the scenario names no material; add materials = [\"gallium\", ...] "
                          "to [scenario]"});
    }
  }
  for (const Disruption& d : scenario.disruptions) {
    if (d.start_year > scenario.last_year || d.start_year + d.years - 1 < scenario.first_year) {
      if (scenario.last_year == 0) continue;  // the years are wrong already
      problems.push_back({file_name, d.line, "start",
                          fmt::format("the disruption ({}-{}) lies outside the simulated years "
                                      "{}-{}; move start",
                                      d.start_year, d.start_year + d.years - 1, scenario.first_year,
                                      scenario.last_year)});
    }
  }
  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    return Status::invalid_input(fmt::format("{}: invalid simulation scenario", file_name),
                                 std::move(problems));
  }
  return scenario;
}

Status check_scenario_against_data(const SimulationScenario& scenario, const Dataset& data) {
  std::vector<Diagnostic> problems;
  if (scenario.first_year < 2000 || scenario.last_year > 2100) {
    problems.push_back({scenario.file, 0, "years",
                        fmt::format("{}-{} is outside 2000-2100; simulate years within them",
                                    scenario.first_year, scenario.last_year)});
  }
  std::map<std::string, market::MarketModel> models;  // by material, built on first use
  for (const Disruption& d : scenario.disruptions) {
    auto model = models.find(d.material);
    if (model == models.end()) {
      Result<market::CalibratedMarket> built =
          market::build_market(data, d.material, scenario.base_year);
      if (!built.is_ok()) {
        problems.push_back({scenario.file, d.line, "material", built.status().message()});
        continue;
      }
      model = models.emplace(d.material, std::move(built).value().model).first;
    }
    if (!market::resolve_market_regions(d.origin, data, model->second)) {
      problems.push_back(
          {scenario.file, d.line, "origin",
           fmt::format("'{}' is no region, country or bloc of the {} market; use one of those",
                       d.origin, d.material)});
    }
    for (const std::string& destination : d.destinations) {
      if (!market::resolve_market_regions(destination, data, model->second)) {
        problems.push_back(
            {scenario.file, d.line, "destinations",
             fmt::format("'{}' is no region, country or bloc of the {} market; use one of those",
                         destination, d.material)});
      }
    }
  }
  for (const ProjectSpec& p : scenario.projects) {
    const bool known = std::any_of(data.countries.begin(), data.countries.end(),
                                   [&](const Country& c) { return c.iso3 == p.country; });
    if (!known) {
      problems.push_back({scenario.file, p.line, "country",
                          fmt::format("'{}' is not a country of the dataset; use an ISO3 code of "
                                      "countries.csv",
                                      p.country)});
    }
  }
  if (problems.empty()) return Status::ok();
  return Status::invalid_input(
      fmt::format("{}: the scenario does not fit the data ({} problem{})", scenario.file,
                  problems.size(), problems.size() == 1 ? "" : "s"),
      std::move(problems));
}

}  // namespace critmin::sim
