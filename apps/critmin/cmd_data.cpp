// critmin data import | check | schema | figures | materials | info
#include <fmt/format.h>

#include <iostream>
#include <map>
#include <set>

#include "commands.h"
#include "critmin/core/figures.h"
#include "critmin/market/calibration.h"
#include "critmin/world/importer.h"

namespace critmin::cli {
namespace {

void print_info(const Dataset& data) {
  std::size_t critical = 0, strategic = 0;
  std::set<std::string> critical_entries, strategic_entries, covered_entries;
  std::map<std::string, std::set<std::string>> stages_by_material;
  for (const SupplyShare& s : data.global_supply_shares) {
    stages_by_material[s.material_id].insert(stage_name(s.stage));
  }
  for (const Material& m : data.materials) {
    if (m.is_critical()) {
      ++critical;
      critical_entries.insert(m.crma_critical_entry);
      if (stages_by_material.contains(m.id)) covered_entries.insert(m.crma_critical_entry);
    }
    if (m.is_strategic()) {
      ++strategic;
      strategic_entries.insert(m.crma_strategic_entry);
    }
  }
  std::cout << fmt::format("dataset: {}\n\n", data.directory.string());
  std::cout << fmt::format(
      "materials: {} ({} materials/groups on the CRMA critical list = {} "
      "entries; {} strategic = {} entries)\n",
      data.materials.size(), critical, critical_entries.size(), strategic,
      strategic_entries.size());
  std::cout << fmt::format("CRMA critical entries with world supply shares: {} of {}\n",
                           covered_entries.size(), critical_entries.size());
  std::vector<std::string> missing;
  for (const std::string& entry : critical_entries) {
    if (!covered_entries.contains(entry)) missing.push_back(entry);
  }
  if (!missing.empty()) {
    std::cout << "  without supply shares in the sources: ";
    for (std::size_t i = 0; i < missing.size(); ++i) std::cout << (i ? ", " : "") << missing[i];
    std::cout << "\n";
  }
  std::size_t both = 0, extraction_only = 0, processing_only = 0;
  for (const auto& [id, stages] : stages_by_material) {
    if (stages.size() == 2) {
      ++both;
    } else if (stages.contains("extraction")) {
      ++extraction_only;
    } else {
      ++processing_only;
    }
  }
  std::cout << fmt::format(
      "materials with world supply shares: {} ({} both stages, {} "
      "extraction only, {} processing only)\n",
      stages_by_material.size(), both, extraction_only, processing_only);
  std::cout << fmt::format("countries: {}; blocs:", data.countries.size());
  for (const auto& [name, members] : data.blocs) {
    std::cout << fmt::format(" {} ({})", name, members.size());
  }
  std::cout << "\n\n";
  const auto years = [](const auto& rows) {
    int lo = 0, hi = 0;
    for (const auto& r : rows) {
      lo = lo == 0 ? r.year : std::min(lo, r.year);
      hi = std::max(hi, r.year);
    }
    return lo == 0 ? std::string("-") : fmt::format("{}-{}", lo, hi);
  };
  std::set<std::string> produced, priced;
  for (const ProductionRecord& p : data.production) produced.insert(p.material_id);
  for (const AnnualPrice& p : data.prices) priced.insert(p.material_id);
  std::cout << fmt::format("{:<26} {:>8}  {}\n", "table", "rows", "coverage");
  const auto line = [](const std::string& table, std::size_t rows, const std::string& coverage) {
    std::cout << fmt::format("{:<26} {:>8}  {}\n", table, rows, coverage);
  };
  line("global_supply_shares", data.global_supply_shares.size(), "EU CRM 2023 study");
  line("eu_sourcing_shares", data.eu_sourcing_shares.size(), "EU CRM 2023 study");
  line("governance", data.governance.size(), "WGI years " + years(data.governance));
  line("production", data.production.size(),
       fmt::format("{} materials, years {}", produced.size(), years(data.production)));
  line("prices", data.prices.size(),
       fmt::format("{} materials, years {}", priced.size(), years(data.prices)));
  line("monthly_prices", data.monthly_prices.size(), "years " + years(data.monthly_prices));
  line("supply_risk_history", data.supply_risk_history.size(),
       "years " + years(data.supply_risk_history));
  line("end_use_shares", data.end_use_shares.size(), "EU CRM 2023 study");
  line("eu_imports", data.eu_imports.size(), "years " + years(data.eu_imports));
  line("cn8_materials", data.cn8_materials.size(), "CN8 codes mapped to materials");
  line("strategic_projects", data.strategic_projects.size(), "partial list (see SOURCES.md)");
  std::size_t estimates = 0;
  for (const auto& [name, p] : data.parameters) estimates += p.is_estimate ? 1 : 0;
  for (const auto& s : data.supply_risk_inputs) estimates += s.is_estimate ? 1 : 0;
  for (const auto& f : data.fx_rates) estimates += f.is_estimate ? 1 : 0;
  std::cout << fmt::format(
      "\nestimates in use: {} (parameters.csv, supply_risk_inputs.csv, "
      "fx_rates.csv; each row says why)\n",
      estimates);
}

// Every material of the dataset: what `--material` accepts (id, name, aliases, group), its CRMA
// status, what each command can do with it (assess needs supply shares; clear, simulate and the
// service need a market: supply shares and a tonnage), what its market's tonnage and price rest on,
// and why the others cannot be modelled.
void print_materials(const Dataset& data, int year) {
  const market::ModelCoverage coverage = market::market_coverage(data, year);
  std::set<std::string> assessed;
  for (const SupplyShare& s : data.global_supply_shares) assessed.insert(s.material_id);
  std::cout << fmt::format("{:<20} {:<26} {:<5} {:<11} {:<6} {:<6} {:<8} {}\n", "id", "name",
                           "group", "crma", "assess", "market", "quality", "also accepted as");
  std::size_t crma_listed = 0, crma_modelled = 0;
  for (const Material& m : data.materials) {
    std::string aliases;
    for (const std::string& alias : m.aliases) aliases += (aliases.empty() ? "" : ", ") + alias;
    const bool group = m.kind == "group";
    const auto basis = coverage.basis.find(m.id);
    const bool modelled = basis != coverage.basis.end();
    const std::string crma = m.is_strategic() ? "strategic" : m.is_critical() ? "critical" : "-";
    if (!group && crma != "-") {
      ++crma_listed;
      crma_modelled += modelled ? 1 : 0;
    }
    std::string row =
        fmt::format("{:<20} {:<26} {:<5} {:<11} {:<6} {:<6} {:<8} {}", m.id, m.name.substr(0, 26),
                    m.group.empty() ? "-" : m.group, crma,
                    group                     ? "group"
                    : assessed.contains(m.id) ? "yes"
                                              : "no",
                    modelled ? "yes" : "no", modelled ? basis->second.quality : "-", aliases);
    row.erase(row.find_last_not_of(' ') + 1);  // no trailing blanks where there is no alias
    std::cout << row << '\n';
  }
  std::cout << fmt::format(
      "\n{} materials; assess covers {}, a market for clear/simulate ({} data) {}; of the {} "
      "on the CRMA critical or strategic lists, {} have a market. Groups for assess --material: "
      "REE, HREE, LREE, PGM and NdPr (their members); clear --material NdPr reports the Nd + Pr "
      "product of the joint rare-earth market.\n",
      data.materials.size(), assessed.size(), year, coverage.modelled.size(), crma_listed,
      crma_modelled);
  std::cout << "\nWhat each market rests on (quality \"sources\": tonnage and price from the "
               "public sources; high/medium/low: a documented estimate of "
               "data/estimates/minor_material_supply.csv):\n";
  for (const auto& [id, basis] : coverage.basis) {
    std::string hosts;
    for (const std::string& h : basis.byproduct_hosts) hosts += (hosts.empty() ? "" : ", ") + h;
    std::cout << fmt::format("  {}: tonnage {}; price {}{}\n", id, basis.tonnage, basis.price,
                             hosts.empty() ? "" : "; a by-product of " + hosts);
  }
  std::cout << "\nNot modelled, and what is missing:\n";
  for (const auto& [id, reason] : coverage.not_modelled) {
    // The engine's reasons start with the material id already.
    std::cout << fmt::format("  {}\n", reason.starts_with(id + ":") ? reason : id + ": " + reason);
  }
  for (const Material& m : data.materials) {
    if (m.kind == "material" && !assessed.contains(m.id)) {
      std::cout << fmt::format(
          "  {}: the dataset has no world supply shares for it (EU CRM 2023 study), so neither "
          "assess nor the market engine covers it\n",
          m.id);
    }
  }
}

}  // namespace

void register_data_commands(CLI::App& app, CommonOptions& common) {
  CLI::App* data = app.add_subcommand("data", "Import, check and summarise a critmin dataset");
  data->require_subcommand(1);

  // import
  CLI::App* import = data->add_subcommand(
      "import", "Import the public sources into a critmin dataset (the project's own schema)");
  auto from = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto reference = std::make_shared<std::string>();
  import->add_option("--from", *from, "directory of the public source CSV files")->required();
  import->add_option("--out", *out, "directory to write the dataset to (created)")->required();
  import->add_option("--reference", *reference,
                     "directory holding reference/, estimates/ and schema/ (default: the "
                     "embedded dataset's)");
  import->callback([&common, from, out, reference] {
    std::filesystem::path reference_dir = *reference;
  if (reference_dir.empty()) {
    Result<std::filesystem::path> dir = locate_reference_tables(common.executable);
    if (!dir.is_ok()) {
      common.exit_code = report_error(dir.status());
      return;
    }
    reference_dir = dir.value();
  }
  Result<ImportReport> report =
      import_sources({*from, *out, reference_dir, default_iso_codes_json()});
  if (!report.is_ok()) {
    common.exit_code = report_error(report.status());
    return;
  }
  std::size_t total = 0;
  for (const auto& [table, rows] : report.value().rows_written) {
    std::cout << fmt::format("{:<26} {:>8} rows\n", table, rows);
    total += rows;
  }
  std::cout << fmt::format("\nwrote {} rows to {}\n", total, *out);
  std::cout << fmt::format(
      "{} source value(s) could not be mapped and were not imported; {} "
      "note(s). Details: {}/import_report.txt\n",
      report.value().unmapped.size(), report.value().notes.size(), *out);
});

// check
CLI::App* check = data->add_subcommand(
    "check", "Validate a dataset; print every problem as file:line:field: message");
auto check_dir = std::make_shared<std::string>();
check->add_option("--data", *check_dir, "dataset directory (default: the embedded dataset)");
check->callback([&common, check_dir] {
  Result<std::filesystem::path> dir = locate_dataset(*check_dir, common.executable);
  if (!dir.is_ok()) {
    common.exit_code = report_error(dir.status());
    return;
  }
  const std::vector<Diagnostic> problems = check_dataset(dir.value());
  for (const Diagnostic& d : problems) std::cerr << d.to_string() << "\n";
  if (!problems.empty()) {
    std::cerr << fmt::format("critmin: error: {} problem(s) in {}\n", problems.size(),
                             dir.value().string());
    common.exit_code = 2;
    return;
  }
  std::cout << fmt::format("{}: ok ({} tables valid)\n", dir.value().string(),
                           dataset_table_names().size());
});

// schema
CLI::App* schema = data->add_subcommand(
    "schema",
    "Print critmin's dataset schema (every table's attributes, types, units) as Markdown");
schema->callback([] { std::cout << schema_markdown(); });

// figures
CLI::App* figures = data->add_subcommand(
    "figures",
    "Print what every output figure means (unit, which way is better, label) as Markdown");
figures->callback([] { std::cout << figures_markdown(); });

// materials
CLI::App* materials = data->add_subcommand(
    "materials", "List every material: its id, name, group, aliases, and which commands cover it");
auto materials_dir = std::make_shared<std::string>();
auto materials_year = std::make_shared<int>(2023);
materials->add_option("--data", *materials_dir,
                      "dataset directory (default: the embedded dataset)");
materials
    ->add_option("--year", *materials_year,
                 "data year of the market coverage, as clear --year (default 2023)")
    ->check(CLI::Range(1990, 2100));
materials->callback([&common, materials_dir, materials_year] {
  Result<Dataset> dataset = open_dataset(common, *materials_dir);
  if (!dataset.is_ok()) {
    common.exit_code = report_error(dataset.status());
    return;
  }
  print_materials(dataset.value(), *materials_year);
});

// info
CLI::App* info = data->add_subcommand("info", "Summarise what a dataset covers");
auto info_dir = std::make_shared<std::string>();
info->add_option("--data", *info_dir, "dataset directory (default: the embedded dataset)");
info->callback([&common, info_dir] {
  Result<Dataset> dataset = open_dataset(common, *info_dir);
  if (!dataset.is_ok()) {
    common.exit_code = report_error(dataset.status());
    return;
  }
  print_info(dataset.value());
});
}  // namespace critmin::cli

}  // namespace critmin::cli
