// The world data model: every table of a critmin dataset, typed, with units in the names.
//
// A dataset is a directory of CSV tables written by `critmin data import`, in critmin's schema
// (data/schema/<table>.csv, compiled into the binary; a dataset carries a copy in <dir>/schema/,
// which must not differ from it). load_dataset() is the one entry
// point: it validates every table against its schema and across tables (see dataset_check.cpp) and
// either returns a complete Dataset or a Status whose diagnostics name each problem as
// file:line:field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "critmin/core/status.h"

namespace critmin {

enum class Stage : std::uint8_t { kExtraction, kProcessing };
const char* stage_name(Stage stage);  // "extraction" | "processing"
std::optional<Stage> parse_stage(std::string_view text);

struct Country {
  std::string iso3;
  std::string iso2;
  std::string name;
};

struct Material {
  std::string id;  // canonical id, e.g. "natural_graphite"
  std::string name;
  std::string kind;                  // "material" or "group" (hree, lree, pgm)
  std::string crma_critical_entry;   // CRMA Annex II entry, empty when not critical
  std::string crma_strategic_entry;  // CRMA Annex I entry, empty when not strategic
  std::string group;                 // "HREE", "LREE", "REE", "PGM" or empty
  std::string family;                // EU CRM 2023 family, e.g. "other non-ferrous metals"
  std::vector<std::string> aliases;  // spellings used by the sources

  bool is_critical() const { return !crma_critical_entry.empty(); }
  bool is_strategic() const { return !crma_strategic_entry.empty(); }
};

// Share of one country in the world (or EU) supply of a material at one stage (EU CRM 2023 study).
struct SupplyShare {
  std::string material_id;
  Stage stage = Stage::kExtraction;
  std::string iso3;
  double share = 0.0;         // [0-1]
  double trade_factor = 1.0;  // t of the EU supply-risk formula [-]
  bool censored = false;      // the source printed "<0.1%"
  int line = 0;               // row in the dataset file, for diagnostics
};

struct GovernanceScore {
  std::string iso3;
  int year = 0;
  double wgi_mean_estimate = 0.0;  // mean of the six WGI estimates, about -2.5 (weak) .. +2.5
};

struct ProductionRecord {
  std::string material_id;
  Stage stage = Stage::kExtraction;
  std::string iso3;  // ISO3, or WLD for the world total, ROW for "other countries"
  int year = 0;
  double quantity_t = 0.0;  // [t/yr] on the basis below
  std::string basis;        // what the tonnage measures, e.g. "contained Li"
  bool is_estimate = false;
  std::string source;
};

struct AnnualPrice {
  std::string material_id;
  int year = 0;
  double price_usd_per_t = 0.0;  // [USD/t] of the product named in basis
  std::string series;
  std::string basis;
  bool headline = false;  // the series critmin uses as "the" price of the material
  std::string source;
};

struct MonthlyPrice {
  std::string material_id;
  int year = 0;
  int month = 0;
  double price_usd_per_t = 0.0;  // [USD/t]
  std::string series;
};

struct SupplyRiskHistory {
  std::string material_id;
  int year = 0;
  std::optional<double> supply_risk;          // EU SR score [-]
  std::optional<double> economic_importance;  // EU EI score [-]
};

struct EndUseShare {
  std::string material_id;
  std::string application;
  double share = 0.0;  // [0-1] of EU use
  std::string nace_code;
  std::string nace_label;
  std::optional<double> value_added_million_eur;
  int line = 0;  // row in the dataset file, for diagnostics
};

struct ImportFlow {
  std::string declarant_iso3;  // EU member state that reports the import
  std::string partner_iso3;    // country of origin (may be another member state)
  std::string cn8;
  int year = 0;
  double value_eur = 0.0;  // [EUR]
  int line = 0;            // row in the dataset file, for diagnostics
};

struct Cn8Mapping {
  std::string cn8;
  std::vector<std::string> material_ids;  // the code's value counts for each (shared basket)
  Stage stage = Stage::kExtraction;
  std::string description;
};

struct StrategicProject {
  std::string list;
  std::string name;
  std::string promoter;
  std::string iso3;
  std::vector<std::string> material_ids;
  std::string stage;
  std::string source;
};

struct StrategicProjectCount {
  std::string list;
  std::string decision_date;
  std::string metric;
  double value = 0.0;
  std::string note;
};

// Production-process accounts of one Dutch industry (NACE section) in one year (CBS).
struct IndustryAccounts {
  std::string nace_code;  // NACE Rev. 2 section or group of sections, e.g. "C", "B-E"
  std::string nace_label;
  int year = 0;
  double output_meur = 0.0;                    // [million EUR, basic prices]
  double intermediate_consumption_meur = 0.0;  // [million EUR]
  double gross_value_added_meur = 0.0;         // [million EUR, basic prices]
  std::string source;
};

struct SupplyRiskInputs {
  std::string material_id;              // "*" for the default row
  double eol_recycling_input_rate = 0;  // EOL-RIR [0-1]
  double substitution_index = 1;        // SI_SR [0-1]
  bool is_estimate = true;
  std::string basis;
};

struct FxRate {
  int year = 0;
  double usd_per_eur = 0.0;
  bool is_estimate = true;
  std::string basis;
};

struct Parameter {
  std::string name;
  double value = 0.0;
  std::string unit;
  bool is_estimate = false;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// A market-engine parameter (data/estimates/market_parameters.csv); material "*" is the default.
struct MarketParameter {
  std::string material_id;
  std::string parameter;
  double value = 0.0;
  std::string unit;
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// Share of world first-use demand of a region (ISO3, EU27 or ROW); material "*" is the default.
struct DemandShare {
  std::string material_id;
  std::string region;
  double share = 0.0;
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// A region's supply cost position at one stage (data/estimates/supply_costs.csv). Costs are
// multiples of the stage's world base price; material or region "*" is a default.
struct SupplyCost {
  std::string material_id;
  std::string region;
  Stage stage = Stage::kProcessing;
  double utilisation = 1.0;     // base-year production / capacity, (0,1]
  double cost_low = 0.0;        // cheapest base-year tonne
  double cost_high = 0.0;       // marginal base-year tonne, < 1
  double idle_cost_low = 0.0;   // first idle tonne restarted, > 1
  double idle_cost_high = 0.0;  // last idle tonne restarted
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// A state stockpile of one material (data/estimates/state_stocks.csv): what it holds at the start
// and its rules for buying and releasing, as multiples of the base-year price.
struct StateStock {
  std::string material_id;
  std::string region;  // ISO3 or EU27
  std::string holder;
  double stock_t = 0.0;
  double buy_below_price = 0.0;      // < 1
  double buy_max_t = 0.0;            // [t/yr]
  double release_above_price = 0.0;  // > 1
  double release_max_t = 0.0;        // [t/yr]
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// One row of the reconciliation of the Dutch import bill (data/estimates/nl_import_bill.csv): the
// published total it is held against (kind "reference", exactly one row), an explained part of the
// difference ("line"), or the rest of it ("residual", at most one row, value computed).
struct ImportBillRow {
  std::string item;
  std::string kind;  // "reference", "line" or "residual"
  int year = 0;
  std::optional<double> value_eur;  // [EUR]; nullopt only on the residual row
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// Share of the Netherlands' gross imports of a material that leaves again without processing
// (re-exports and transit through Rotterdam; data/estimates/nl_re_export_shares.csv); material
// "*" is the default.
struct ReExportShare {
  std::string material_id;
  double share = 0.0;  // [0-1]
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// A documented first-use mapping of a material that the EU end-use table leaves out
// (data/estimates/nl_end_use_mapping.csv): its share of Dutch use in one NACE division.
struct EndUseMapping {
  std::string material_id;
  std::string application;
  double share = 0.0;  // [0-1] of the material's Dutch first use
  std::string nace_code;
  std::string nace_label;
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// World output and price of a material that production.csv holds no tonnage for
// (data/estimates/minor_material_supply.csv): the rare earths element by element, the minor metals,
// gases and bio materials. Each row carries a quality grade the output shows.
struct MinorMaterialSupply {
  std::string material_id;
  std::optional<double> world_output_t;   // [t/yr] in 2023; nullopt when missing
  std::optional<double> price_usd_per_t;  // [USD/t] in 2023; nullopt when missing
  std::string top_producer_shares;        // "ISO3:share;..." as the source gives them
  std::string quality;                    // "high", "medium" or "low"
  bool is_estimate = true;
  std::string basis;
  int year = 2023;  // the year of the figures
  int line = 0;     // row in the dataset file, for diagnostics
};

// A by-product (or co-product) and one of its hosts (data/estimates/byproduct_hosts.csv): what
// share of the by-product contained in the host's throughput is recovered today and at most, what
// the extra recovery costs, and what share of the by-product's output comes from this host.
struct ByproductHost {
  std::string byproduct_material_id;
  std::string host_material_id;  // a material id, or "coal" / "natural_gas"
  std::string host_production_basis;
  double recovery_share = 0.0;            // [0-1] in 2023
  double max_recovery_share = 0.0;        // [0-1] >= recovery_share
  double cost_of_raising_recovery = 0.0;  // multiple of the by-product's base price
  double share_of_output = 0.0;           // [0-1] of the by-product's 2023 output
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// One element's share of a rare-earth deposit type's oxide basket
// (data/estimates/ree_deposit_baskets.csv).
struct ReeBasketShare {
  std::string deposit_type;
  std::string element;  // symbol: La, Ce, ..., Y
  double share_of_reo = 0.0;
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// Rare-earth mine output of a country from one deposit type in 2023 [t REO]
// (data/estimates/ree_mine_output.csv).
struct ReeMineOutput {
  std::string iso3;
  std::string deposit_type;
  double reo_t = 0.0;
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

// A figure of one rare-earth element's market (data/estimates/ree_element_market.csv): a price, a
// separation share or capacity, or a demand share, per region.
struct ReeMarketFigure {
  std::string element;  // symbol, "NdPr", or "*" for all rare earths together
  std::string product;
  std::string material_id;
  std::string item;    // e.g. "price_usd_per_kg_2023", "separation_share_2023"
  std::string region;  // ISO3, WLD, ROW or "*"
  std::optional<double> value;
  std::string unit;
  bool is_estimate = true;
  std::string basis;
  int line = 0;  // row in the dataset file, for diagnostics
};

class Dataset {
 public:
  std::filesystem::path directory;

  std::vector<Country> countries;
  std::vector<Material> materials;
  std::vector<SupplyShare> global_supply_shares;
  std::vector<SupplyShare> eu_sourcing_shares;
  std::vector<GovernanceScore> governance;
  std::vector<ProductionRecord> production;
  std::vector<AnnualPrice> prices;
  std::vector<MonthlyPrice> monthly_prices;
  std::vector<SupplyRiskHistory> supply_risk_history;
  std::vector<EndUseShare> end_use_shares;
  std::vector<ImportFlow> eu_imports;
  std::vector<Cn8Mapping> cn8_materials;
  std::vector<StrategicProject> strategic_projects;
  std::vector<StrategicProjectCount> strategic_project_counts;
  std::map<std::string, std::vector<std::string>> blocs;  // bloc name -> ISO3 members
  std::vector<SupplyRiskInputs> supply_risk_inputs;
  std::vector<FxRate> fx_rates;
  std::map<std::string, Parameter> parameters;
  std::vector<MarketParameter> market_parameters;
  std::vector<DemandShare> demand_shares;
  std::vector<SupplyCost> supply_costs;
  std::vector<StateStock> state_stocks;
  std::vector<IndustryAccounts> nl_industry_accounts;  // CBS, the Netherlands
  std::vector<ImportBillRow> nl_import_bill;
  std::vector<ReExportShare> nl_re_export_shares;
  std::vector<EndUseMapping> nl_end_use_mapping;
  std::vector<MinorMaterialSupply> minor_material_supply;
  std::vector<ByproductHost> byproduct_hosts;
  std::vector<ReeBasketShare> ree_deposit_baskets;
  std::vector<ReeMineOutput> ree_mine_output;
  std::vector<ReeMarketFigure> ree_element_market;

  const Material* find_material(std::string_view id_name_or_alias) const;
  // The materials (kind "material") a group name stands for, in dataset order, or nullopt when
  // `name` is no group: REE (every rare earth: HREE, LREE and scandium), HREE, LREE, PGM, their
  // group rows' ids, names and aliases (hree, "Platinum group metals", PGMs), and NdPr (neodymium
  // and praseodymium). Case-insensitive.
  std::optional<std::vector<std::string>> material_group_members(std::string_view name) const;
  // " (did you mean gallium?)": the material ids, names, aliases and group names nearest to a
  // mistyped material name; empty when none is near.
  std::string did_you_mean_material(std::string_view name) const;
  const Country* find_country(std::string_view iso3) const;
  // A parameter's value; the dataset check guarantees that every parameter critmin uses exists.
  double parameter(const std::string& name) const;
  // The USD per EUR rate of `year`, else of the latest earlier year (data/fx_rates.csv); nullopt
  // when the data hold none that early.
  std::optional<double> usd_per_eur(int year) const;
  // A market-engine parameter of a material: the material's own row, else the default row "*";
  // nullptr when neither exists.
  const MarketParameter* find_market_parameter(std::string_view material_id,
                                               std::string_view name) const;
  // The supply cost position of a region (a market region name: ISO3, EU27 or ROW) at a stage:
  // the row of the material and region, else of the material and "*", else of "*" and the
  // region, else of "*" and "*"; nullptr when none exists.
  const SupplyCost* find_supply_cost(std::string_view material_id, std::string_view region,
                                     Stage stage) const;
  // The minor_material_supply row of a material; nullptr when it has none.
  const MinorMaterialSupply* find_minor_supply(std::string_view material_id) const;
  // Its value, or kNotFound naming the file to add the row to.
  Result<double> market_parameter(std::string_view material_id, std::string_view name) const;
  // " (did you mean JPN?)": the ISO3 codes and bloc names nearest to a mistyped country or bloc
  // name; empty when none is near.
  std::string did_you_mean_place(std::string_view name) const;
  // Members of a bloc name (case-insensitive) or of an ad-hoc list "ISO3,ISO3,...".
  Result<std::set<std::string>> resolve_bloc(std::string_view name_or_list) const;
};

// Names of every table of a dataset, in load order.
const std::vector<std::string>& dataset_table_names();

// Loads and validates a dataset directory. Never partially succeeds.
Result<Dataset> load_dataset(const std::filesystem::path& directory);

// Validates a dataset directory and returns every problem found (empty when the dataset is valid).
std::vector<Diagnostic> check_dataset(const std::filesystem::path& directory);

// Where the embedded default dataset lies: `explicit_dir` when given, else the data directory
// installed beside the binary (<prefix>/share/critmin/data), else the source tree's data/.
// `executable_path` is the running binary (argv[0] resolved by the caller).
Result<std::filesystem::path> locate_dataset(const std::filesystem::path& explicit_dir,
                                             const std::filesystem::path& executable_path);

// critmin's schema (data/schema/*.csv, compiled into the binary; every dataset is validated
// against it) as Markdown, one section per table: attribute, type, unit, default, key,
// description. docs/data-schema.md is this text.
std::string schema_markdown();

// Where the importer's hand-curated inputs (reference/, estimates/, schema/) lie by default: the
// same places as the dataset, looking for reference/materials.csv instead of countries.csv.
Result<std::filesystem::path> locate_reference_tables(const std::filesystem::path& executable_path);

}  // namespace critmin
