#include "critmin/world/dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <unordered_set>

#include "core/suggest.h"
#include "core/text.h"
#include "critmin/core/files.h"
#include "world/dataset_check.h"
#include "world/schema.h"

namespace critmin {

const char* stage_name(Stage stage) {
  return stage == Stage::kExtraction ? "extraction" : "processing";
}

std::optional<Stage> parse_stage(std::string_view text) {
  const std::string lower = to_lower(trim(text));
  if (lower == "extraction") return Stage::kExtraction;
  if (lower == "processing") return Stage::kProcessing;
  return std::nullopt;
}

const std::vector<std::string>& dataset_table_names() {
  static const std::vector<std::string> kNames = {
      "countries",
      "materials",
      "parameters",
      "global_supply_shares",
      "eu_sourcing_shares",
      "governance",
      "production",
      "prices",
      "monthly_prices",
      "supply_risk_history",
      "end_use_shares",
      "cn8_materials",
      "eu_imports",
      "strategic_projects",
      "strategic_project_counts",
      "blocs",
      "supply_risk_inputs",
      "fx_rates",
      "market_parameters",
      "demand_shares",
      "supply_costs",
      "state_stocks",
      "nl_industry_accounts",
      "nl_import_bill",
      "nl_re_export_shares",
      "nl_end_use_mapping",
      "minor_material_supply",
      "byproduct_hosts",
      "ree_deposit_baskets",
      "ree_mine_output",
      "ree_element_market",
  };
  return kNames;
}

const MarketParameter* Dataset::find_market_parameter(std::string_view material_id,
                                                      std::string_view name) const {
  const MarketParameter* fallback = nullptr;
  for (const MarketParameter& p : market_parameters) {
    if (p.parameter != name) continue;
    if (p.material_id == material_id) return &p;
    if (p.material_id == "*" && !fallback) fallback = &p;
  }
  return fallback;
}

const MinorMaterialSupply* Dataset::find_minor_supply(std::string_view material_id) const {
  for (const MinorMaterialSupply& m : minor_material_supply) {
    if (m.material_id == material_id) return &m;
  }
  return nullptr;
}

const SupplyCost* Dataset::find_supply_cost(std::string_view material_id, std::string_view region,
                                            Stage stage) const {
  const SupplyCost* best = nullptr;
  int best_rank = 4;
  for (const SupplyCost& c : supply_costs) {
    if (c.stage != stage) continue;
    const bool own_material = c.material_id == material_id;
    const bool own_region = c.region == region;
    if (!(own_material || c.material_id == "*") || !(own_region || c.region == "*")) continue;
    const int rank = own_material ? (own_region ? 0 : 1) : (own_region ? 2 : 3);
    if (rank < best_rank) {
      best = &c;
      best_rank = rank;
    }
  }
  return best;
}

Result<double> Dataset::market_parameter(std::string_view material_id,
                                         std::string_view name) const {
  if (const MarketParameter* p = find_market_parameter(material_id, name)) return p->value;
  return Status::not_found(
      fmt::format("market_parameters.csv has no {} for {} and no default row (*); add one to "
                  "data/estimates/market_parameters.csv",
                  name, material_id));
}

const Material* Dataset::find_material(std::string_view id_name_or_alias) const {
  const std::string wanted = to_lower(trim(id_name_or_alias));
  for (const Material& material : materials) {
    if (material.id == wanted || to_lower(material.name) == wanted) return &material;
  }
  for (const Material& material : materials) {
    for (const std::string& alias : material.aliases) {
      if (to_lower(alias) == wanted) return &material;
    }
  }
  return nullptr;
}

std::optional<std::vector<std::string>> Dataset::material_group_members(
    std::string_view name) const {
  const std::string upper = to_upper(trim(name));
  if (upper.empty()) return std::nullopt;
  // Which group labels (Material::group) the name selects.
  std::set<std::string> labels;
  std::set<std::string> ids;  // NdPr names two materials, not a label
  if (upper == "REE") {
    labels = {"HREE", "LREE", "REE"};
  } else if (upper == "NDPR") {
    ids = {"neodymium", "praseodymium"};
  } else {
    for (const Material& m : materials) {
      if (m.kind == "material" && !m.group.empty() && to_upper(m.group) == upper) {
        labels.insert(m.group);
      }
    }
    // A group row's id, name or alias (hree, "Platinum group metals", PGMs) stands for its label.
    if (labels.empty()) {
      if (const Material* row = find_material(name); row && row->kind == "group") {
        labels.insert(row->group.empty() ? to_upper(row->id) : row->group);
      }
    }
  }
  std::vector<std::string> members;
  for (const Material& m : materials) {
    if (m.kind == "material" && (labels.contains(m.group) || ids.contains(m.id))) {
      members.push_back(m.id);
    }
  }
  if (members.empty()) return std::nullopt;
  return members;
}

std::string Dataset::did_you_mean_material(std::string_view name) const {
  std::vector<std::string> names = {"REE", "NdPr"};
  std::set<std::string> labels;
  for (const Material& m : materials) {
    names.push_back(m.id);
    if (to_lower(m.name) != m.id) names.push_back(m.name);
    names.insert(names.end(), m.aliases.begin(), m.aliases.end());
    if (!m.group.empty() && labels.insert(m.group).second && m.group != "REE") {
      names.push_back(m.group);
    }
  }
  // One spelling per name (an alias may repeat an id or a group label in another case).
  std::set<std::string> seen;
  std::erase_if(names, [&](const std::string& n) { return !seen.insert(to_lower(n)).second; });
  return did_you_mean(trim(name), names);
}

const Country* Dataset::find_country(std::string_view iso3) const {
  const std::string wanted = std::string(trim(iso3));
  for (const Country& country : countries) {
    if (country.iso3 == wanted) return &country;
  }
  return nullptr;
}

double Dataset::parameter(const std::string& name) const {
  auto it = parameters.find(name);
  return it == parameters.end() ? 0.0 : it->second.value;
}

std::optional<double> Dataset::usd_per_eur(int year) const {
  const FxRate* best = nullptr;
  for (const FxRate& r : fx_rates) {
    if (r.year <= year && (!best || r.year > best->year)) best = &r;
  }
  if (!best) return std::nullopt;
  return best->usd_per_eur;
}

std::string Dataset::did_you_mean_place(std::string_view name) const {
  std::vector<std::string> places;
  places.reserve(countries.size() + blocs.size());
  for (const Country& c : countries) {
    if (c.iso3 != "WLD") places.push_back(c.iso3);
  }
  for (const auto& [bloc, unused] : blocs) places.push_back(bloc);
  return did_you_mean(trim(name), places);
}

Result<std::set<std::string>> Dataset::resolve_bloc(std::string_view name_or_list) const {
  const std::string wanted = to_lower(trim(name_or_list));
  for (const auto& [name, members] : blocs) {
    if (to_lower(name) == wanted) return std::set<std::string>(members.begin(), members.end());
  }
  std::set<std::string> members;
  for (const std::string& code : split(name_or_list, ',')) {
    if (code.empty()) continue;
    const std::string upper = to_upper(code);
    bool expanded = false;
    for (const auto& [name, bloc_members] : blocs) {
      if (to_lower(name) == to_lower(code)) {
        members.insert(bloc_members.begin(), bloc_members.end());
        expanded = true;
      }
    }
    if (expanded) continue;
    if (!find_country(upper)) {
      std::string known;
      for (const auto& [name, unused] : blocs) known += (known.empty() ? "" : ", ") + name;
      return Status::not_found(fmt::format(
          "--bloc: '{}'{} is neither a bloc ({}) nor an ISO3 code of countries.csv; give a bloc "
          "name or a comma-separated list such as USA,JPN,EU27",
          code, did_you_mean_place(code), known));
    }
    members.insert(upper);
  }
  if (members.empty()) {
    return Status::invalid_input("--bloc: empty bloc; give a bloc name or ISO3 codes");
  }
  return members;
}

namespace {

// Appends every difference between <dir>/schema/<name>.csv and critmin's embedded schema.
void check_schema_file(const std::filesystem::path& directory, const std::string& name,
                       std::vector<Diagnostic>& problems) {
  const std::filesystem::path file = directory / "schema" / (name + ".csv");
  std::error_code error;
  if (!std::filesystem::exists(file, error)) {
    problems.push_back(
        {file.string(), 0, "",
         fmt::format("missing schema file; a dataset carries the schema it was written for: "
                     "restore it from critmin's schema (data/schema/{}.csv) or re-import the "
                     "dataset with `critmin data import`",
                     name)});
    return;
  }
  Result<std::string> text = read_text_file(file);
  if (!text.is_ok()) {
    problems.push_back({file.string(), 0, "", text.status().message()});
    return;
  }
  compare_with_embedded_schema(text.value(), file.string(), name, problems);
}

// Reads one table and validates it against critmin's embedded schema; appends problems, including
// every difference between the dataset's own schema file and the embedded one.
std::optional<SchemaTable> read_table(const std::filesystem::path& directory,
                                      const std::string& name, const ReferenceSets& references,
                                      std::vector<Diagnostic>& problems) {
  check_schema_file(directory, name, problems);
  Result<CsvTable> csv = read_csv_file(directory / (name + ".csv"));
  if (!csv.is_ok()) {
    const Status& status = csv.status();
    if (status.diagnostics().empty()) {
      problems.push_back({(directory / (name + ".csv")).string(), 0, "", status.message()});
    }
    problems.insert(problems.end(), status.diagnostics().begin(), status.diagnostics().end());
    return std::nullopt;
  }
  SchemaTable table(embedded_schema(name), std::move(csv).value());
  const std::size_t problems_before = problems.size();
  table.validate(references, problems);
  // A table with invalid cells is not built: its accessors assume validated cells.
  if (problems.size() != problems_before) return std::nullopt;
  return table;
}

std::vector<SupplyShare> build_shares(const SchemaTable& t) {
  std::vector<SupplyShare> shares;
  shares.reserve(t.size());
  for (std::size_t r = 0; r < t.size(); ++r) {
    shares.push_back({t.text(r, "material_id"), t.stage(r, "stage"), t.text(r, "iso3"),
                      t.number(r, "share"), t.number(r, "trade_factor"), t.flag(r, "censored"),
                      t.line(r)});
  }
  return shares;
}

}  // namespace

Result<Dataset> load_dataset_unchecked(const std::filesystem::path& directory,
                                       std::vector<Diagnostic>& problems) {
  Dataset data;
  data.directory = directory;
  if (!std::filesystem::is_directory(directory)) {
    return Status::not_found(fmt::format(
        "{}: no dataset directory here; run `critmin data import --from SOURCES --out DIR` or "
        "point --data at a dataset",
        directory.string()));
  }
  std::unordered_set<std::string> iso3_codes;
  std::unordered_set<std::string> material_ids;
  ReferenceSets none;

  auto countries = read_table(directory, "countries", none, problems);
  if (countries) {
    for (std::size_t r = 0; r < countries->size(); ++r) {
      data.countries.push_back(
          {countries->text(r, "iso3"), countries->text(r, "iso2"), countries->text(r, "name")});
      iso3_codes.insert(countries->text(r, "iso3"));
    }
  }
  auto materials = read_table(directory, "materials", none, problems);
  if (materials) {
    for (std::size_t r = 0; r < materials->size(); ++r) {
      Material m;
      m.id = materials->text(r, "material_id");
      m.name = materials->text(r, "name");
      m.kind = materials->text(r, "kind");
      m.crma_critical_entry = materials->text(r, "crma_critical_entry");
      m.crma_strategic_entry = materials->text(r, "crma_strategic_entry");
      m.group = materials->text(r, "group");
      m.family = materials->text(r, "family");
      m.aliases = materials->list(r, "aliases");
      material_ids.insert(m.id);
      data.materials.push_back(std::move(m));
    }
  }
  if (!countries || !materials) {
    return Status::invalid_input(
        fmt::format("{}: the countries and materials tables must load first", directory.string()),
        problems);
  }
  const ReferenceSets refs{&iso3_codes, &material_ids};
  const std::size_t problems_before_rest = problems.size();

  if (auto t = read_table(directory, "parameters", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      Parameter p{t->text(r, "parameter"),   t->number(r, "value"), t->text(r, "unit"),
                  t->flag(r, "is_estimate"), t->text(r, "basis"),   t->line(r)};
      data.parameters[p.name] = p;
    }
  }
  if (auto t = read_table(directory, "global_supply_shares", refs, problems)) {
    data.global_supply_shares = build_shares(*t);
  }
  if (auto t = read_table(directory, "eu_sourcing_shares", refs, problems)) {
    data.eu_sourcing_shares = build_shares(*t);
  }
  if (auto t = read_table(directory, "governance", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.governance.push_back(
          {t->text(r, "iso3"), t->integer(r, "year"), t->number(r, "wgi_mean_estimate")});
    }
  }
  if (auto t = read_table(directory, "production", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.production.push_back({t->text(r, "material_id"), t->stage(r, "stage"),
                                 t->text(r, "iso3"), t->integer(r, "year"),
                                 t->number(r, "quantity"), t->text(r, "basis"),
                                 t->flag(r, "is_estimate"), t->text(r, "source")});
    }
  }
  if (auto t = read_table(directory, "prices", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.prices.push_back({t->text(r, "material_id"), t->integer(r, "year"),
                             t->number(r, "price"), t->text(r, "series"), t->text(r, "basis"),
                             t->flag(r, "headline"), t->text(r, "source")});
    }
  }
  if (auto t = read_table(directory, "monthly_prices", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.monthly_prices.push_back({t->text(r, "material_id"), t->integer(r, "year"),
                                     t->integer(r, "month"), t->number(r, "price"),
                                     t->text(r, "series")});
    }
  }
  if (auto t = read_table(directory, "supply_risk_history", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.supply_risk_history.push_back({t->text(r, "material_id"), t->integer(r, "year"),
                                          t->optional_number(r, "supply_risk"),
                                          t->optional_number(r, "economic_importance")});
    }
  }
  if (auto t = read_table(directory, "end_use_shares", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.end_use_shares.push_back({t->text(r, "material_id"), t->text(r, "application"),
                                     t->number(r, "share"), t->text(r, "nace_code"),
                                     t->text(r, "nace_label"), t->optional_number(r, "value_added"),
                                     t->line(r)});
    }
  }
  if (auto t = read_table(directory, "cn8_materials", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.cn8_materials.push_back({t->text(r, "cn8"), t->list(r, "material_ids"),
                                    t->stage(r, "stage"), t->text(r, "description")});
    }
  }
  if (auto t = read_table(directory, "eu_imports", refs, problems)) {
    data.eu_imports.reserve(t->size());
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.eu_imports.push_back({t->text(r, "declarant_iso3"), t->text(r, "partner_iso3"),
                                 t->text(r, "cn8"), t->integer(r, "year"), t->number(r, "value"),
                                 t->line(r)});
    }
  }
  if (auto t = read_table(directory, "strategic_projects", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.strategic_projects.push_back({t->text(r, "list"), t->text(r, "project_name"),
                                         t->text(r, "promoter"), t->text(r, "iso3"),
                                         t->list(r, "material_ids"), t->text(r, "stage"),
                                         t->text(r, "source")});
    }
  }
  if (auto t = read_table(directory, "strategic_project_counts", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.strategic_project_counts.push_back({t->text(r, "list"), t->text(r, "decision_date"),
                                               t->text(r, "metric"), t->number(r, "value"),
                                               t->text(r, "note")});
    }
  }
  if (auto t = read_table(directory, "nl_industry_accounts", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.nl_industry_accounts.push_back(
          {t->text(r, "nace_code"), t->text(r, "nace_label"), t->integer(r, "year"),
           t->number(r, "output_meur"), t->number(r, "intermediate_consumption_meur"),
           t->number(r, "gross_value_added_meur"), t->text(r, "source")});
    }
  }
  if (auto t = read_table(directory, "blocs", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.blocs[t->text(r, "bloc")].push_back(t->text(r, "iso3"));
    }
  }
  if (auto t = read_table(directory, "supply_risk_inputs", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.supply_risk_inputs.push_back({t->text(r, "material_id"), t->number(r, "eol_rir"),
                                         t->number(r, "substitution_index"),
                                         t->flag(r, "is_estimate"), t->text(r, "basis")});
    }
  }
  if (auto t = read_table(directory, "fx_rates", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.fx_rates.push_back({t->integer(r, "year"), t->number(r, "usd_per_eur"),
                               t->flag(r, "is_estimate"), t->text(r, "basis")});
    }
  }
  if (auto t = read_table(directory, "market_parameters", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.market_parameters.push_back(
          {t->text(r, "material_id"), t->text(r, "parameter"), t->number(r, "value"),
           t->text(r, "unit"), t->flag(r, "is_estimate"), t->text(r, "basis"), t->line(r)});
    }
  }
  if (auto t = read_table(directory, "demand_shares", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.demand_shares.push_back({t->text(r, "material_id"), t->text(r, "region"),
                                    t->number(r, "share"), t->flag(r, "is_estimate"),
                                    t->text(r, "basis"), t->line(r)});
    }
  }
  if (auto t = read_table(directory, "supply_costs", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.supply_costs.push_back({t->text(r, "material_id"), t->text(r, "region"),
                                   t->stage(r, "stage"), t->number(r, "utilisation"),
                                   t->number(r, "cost_low"), t->number(r, "cost_high"),
                                   t->number(r, "idle_cost_low"), t->number(r, "idle_cost_high"),
                                   t->flag(r, "is_estimate"), t->text(r, "basis"), t->line(r)});
    }
  }
  if (auto t = read_table(directory, "state_stocks", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.state_stocks.push_back(
          {t->text(r, "material_id"), t->text(r, "region"), t->text(r, "holder"),
           t->number(r, "stock_t"), t->number(r, "buy_below_price"), t->number(r, "buy_max_t"),
           t->number(r, "release_above_price"), t->number(r, "release_max_t"),
           t->flag(r, "is_estimate"), t->text(r, "basis"), t->line(r)});
    }
  }
  if (auto t = read_table(directory, "nl_import_bill", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.nl_import_bill.push_back({t->text(r, "item"), t->text(r, "kind"), t->integer(r, "year"),
                                     t->optional_number(r, "value_eur"), t->flag(r, "is_estimate"),
                                     t->text(r, "basis"), t->line(r)});
    }
  }
  if (auto t = read_table(directory, "nl_re_export_shares", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.nl_re_export_shares.push_back({t->text(r, "material_id"), t->number(r, "share"),
                                          t->flag(r, "is_estimate"), t->text(r, "basis"),
                                          t->line(r)});
    }
  }
  if (auto t = read_table(directory, "nl_end_use_mapping", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.nl_end_use_mapping.push_back({t->text(r, "material_id"), t->text(r, "application"),
                                         t->number(r, "share"), t->text(r, "nace_code"),
                                         t->text(r, "nace_label"), t->flag(r, "is_estimate"),
                                         t->text(r, "basis"), t->line(r)});
    }
  }
  if (auto t = read_table(directory, "minor_material_supply", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.minor_material_supply.push_back(
          {t->text(r, "material_id"), t->optional_number(r, "world_output_t_2023"),
           t->optional_number(r, "price_usd_per_t_2023"), t->text(r, "top_producer_shares"),
           t->text(r, "quality"), t->flag(r, "is_estimate"), t->text(r, "basis"), 2023,
           t->line(r)});
    }
  }
  if (auto t = read_table(directory, "byproduct_hosts", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.byproduct_hosts.push_back(
          {t->text(r, "byproduct_material_id"), t->text(r, "host_material_id"),
           t->text(r, "host_production_basis"), t->number(r, "recovery_share_2023"),
           t->number(r, "max_recovery_share"), t->number(r, "cost_of_raising_recovery"),
           t->number(r, "share_of_output_2023"), t->flag(r, "is_estimate"), t->text(r, "basis"),
           t->line(r)});
    }
  }
  if (auto t = read_table(directory, "ree_deposit_baskets", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.ree_deposit_baskets.push_back({t->text(r, "deposit_type"), t->text(r, "element"),
                                          t->number(r, "share_of_reo"), t->flag(r, "is_estimate"),
                                          t->text(r, "basis"), t->line(r)});
    }
  }
  if (auto t = read_table(directory, "ree_mine_output", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.ree_mine_output.push_back({t->text(r, "country"), t->text(r, "deposit_type"),
                                      t->number(r, "reo_t_2023"), t->flag(r, "is_estimate"),
                                      t->text(r, "basis"), t->line(r)});
    }
  }
  if (auto t = read_table(directory, "ree_element_market", refs, problems)) {
    for (std::size_t r = 0; r < t->size(); ++r) {
      data.ree_element_market.push_back(
          {t->text(r, "element"), t->text(r, "product"), t->text(r, "material_id"),
           t->text(r, "item"), t->text(r, "region"), t->optional_number(r, "value"),
           t->text(r, "unit"), t->flag(r, "is_estimate"), t->text(r, "basis"), t->line(r)});
    }
  }

  if (problems.size() == problems_before_rest) check_dataset_consistency(data, problems);
  if (!problems.empty()) {
    return Status::invalid_input(
        fmt::format("{}: the dataset has {} problem(s); run `critmin data check --data {}`",
                    directory.string(), problems.size(), directory.string()),
        problems);
  }
  return data;
}

Result<Dataset> load_dataset(const std::filesystem::path& directory) {
  std::vector<Diagnostic> problems;
  return load_dataset_unchecked(directory, problems);
}

std::vector<Diagnostic> check_dataset(const std::filesystem::path& directory) {
  std::vector<Diagnostic> problems;
  Result<Dataset> data = load_dataset_unchecked(directory, problems);
  if (!data.is_ok() && problems.empty()) {
    problems.push_back({directory.string(), 0, "", data.status().message()});
  }
  return problems;
}

}  // namespace critmin
