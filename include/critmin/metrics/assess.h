// `critmin assess`: supply concentration and supply risk per material and stage, on a dataset.
//
// Indicators (docs/assess.md derives each one and names its source):
//  - HHI of world supply shares (0-10000), the top country, its share and the top-3 share;
//  - HHI_WGI = sum_i share_i^2 * WGI_scaled_i * t_i, shares as fractions, WGI rescaled to 0-10
//    with 10 the weakest governance, t the trade factor (EU 2017 criticality method);
//  - the EU supply-risk index SR = (HHI_WGI,global * IR/2 + HHI_WGI,EU sourcing * (1 - IR/2))
//    * (1 - EOL_RIR) * SI_SR, with the import reliance IR taken as 1 - (share of EU sourcing that
//    comes from EU27 countries) and EOL_RIR and SI_SR from supply_risk_inputs (estimates, flagged);
//  - the CRMA benchmark: a breach when one third country (non-EU27) holds more than 65%;
//  - the share of a chosen bloc; EU sourcing concentration;
//  - import dependency of the EU (extra-EU imports) and the Netherlands (all partners) from
//    Eurostat Comext, with an import-weighted governance risk in the spirit of GeoPolRisk.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin {

// ---- pure indicator functions (shares are fractions 0-1) ---------------------------------------

// Herfindahl-Hirschman index on the 0-10000 scale: sum of (100 * share)^2.
double herfindahl_index(const std::vector<double>& shares);

// WGI mean estimate (-2.5 .. +2.5, higher is better) rescaled to 0-10 with 10 the weakest
// governance, clamped to the range: 10 * (2.5 - mean) / 5.
double wgi_scaled(double wgi_mean_estimate);

struct WeightedShare {
  double share = 0.0;         // [0-1]
  double wgi_scaled = 0.0;    // [0-10]
  double trade_factor = 1.0;  // [-]
};
// sum_i share_i^2 * wgi_scaled_i * t_i (EU 2017 method); 0 .. about 15.
double governance_weighted_hhi(const std::vector<WeightedShare>& suppliers);

// The EU SR formula per stage (see above). import_reliance, eol_rir and substitution in [0-1].
double eu_supply_risk(double hhi_wgi_global, double hhi_wgi_eu_sourcing, double import_reliance,
                      double eol_rir, double substitution_index);

// ---- the assessment
// ------------------------------------------------------------------------------

struct SupplyRiskOverride {
  std::optional<double> eol_rir;             // [0-1]
  std::optional<double> substitution_index;  // [0-1]
  std::string basis;                         // why (from the assumptions file)
};

struct AssessOptions {
  std::vector<std::string> materials;                  // ids, names, aliases or groups; empty = all
  std::optional<Stage> stage;                          // empty = both
  std::string bloc;                                    // bloc name or ISO3 list; empty = none
  std::vector<std::string> regions = {"EU27", "NLD"};  // importing regions reported
  bool breaches_only = false;  // keep only rows that breach the CRMA benchmark
  std::map<std::string, SupplyRiskOverride> overrides;  // material_id -> user assumptions
};

// One partner's part of a region's imports of a material.
struct PartnerShare {
  std::string iso3;
  double share = 0.0;      // [0-1] of the region's import value
  double value_eur = 0.0;  // [EUR]
  double value_usd = 0.0;  // [USD] at the year's fx rate, as ImportDependency::value_usd
};

// How many partners `main_partners` lists besides China.
inline constexpr std::size_t kMainPartners = 3;

struct ImportDependency {
  std::string region;  // EU27 (extra-EU imports) or NLD (all partners)
  int year = 0;
  double value_eur = 0.0;  // [EUR]
  double value_usd = 0.0;  // [USD] at the year's fx rate
  std::string top_partner;
  double top_partner_share = 0.0;     // [0-1]
  double partner_hhi = 0.0;           // [0-10000]
  double extra_eu_share = 0.0;        // [0-1] of the value from outside EU27
  double import_weighted_risk = 0.0;  // [0-1], see docs/assess.md
  std::vector<std::string> cn8_codes;
  bool shared_basket = false;  // some codes are shared with other materials
  // The largest partners by value (at most kMainPartners), largest first, then China when it is
  // not among them (with share 0 when it supplies none): the dependency question asks for China's
  // share wherever another country leads.
  std::vector<PartnerShare> main_partners;
  double china_share = 0.0;  // [0-1]
  // The value of each CN8 code [EUR], so that totals over materials count a code that several
  // materials share (a basket such as the rare-earth compounds) once (import_totals).
  std::vector<std::pair<std::string, double>> value_eur_by_cn8;
};

struct AssessmentRow {
  std::string material;  // id
  std::string material_name;
  Stage stage = Stage::kExtraction;
  bool crma_critical = false;
  bool crma_strategic = false;
  std::string group;

  int supplier_count = 0;
  double hhi = 0.0;  // [0-10000]
  std::string top_country;
  double top_share = 0.0;   // [0-1]
  double top3_share = 0.0;  // [0-1]
  double hhi_wgi = 0.0;     // [0 .. ~15]
  int suppliers_without_wgi = 0;

  std::string largest_third_country;  // largest non-EU27 supplier
  double largest_third_country_share = 0.0;
  bool crma_single_country_breach = false;

  std::string bloc;  // as given
  std::optional<double> bloc_share;

  std::optional<double> eu_sourcing_hhi;  // [0-10000]
  std::string eu_sourcing_top_country;
  double eu_sourcing_top_share = 0.0;
  std::optional<double> hhi_wgi_eu_sourcing;
  double import_reliance = 1.0;            // [0-1]
  bool import_reliance_estimated = false;  // no EU sourcing data: IR = 1 assumed
  double eol_rir = 0.0;
  double substitution_index = 1.0;
  double supply_risk = 0.0;
  std::vector<std::string> estimated_inputs;  // names of SR inputs that are estimates
  std::optional<double> published_supply_risk_2023;

  std::optional<double> world_production_t;  // [t/yr] USGS, latest year
  int world_production_year = 0;
  std::string world_production_basis;

  std::vector<ImportDependency> imports;  // one per requested region with trade data
};

// A region's imports of the assessed materials in total, each CN8 code counted once even when
// several materials share it (their rows each carry the whole basket).
struct ImportTotal {
  std::string region;
  int year = 0;
  double value_eur = 0.0;        // [EUR]
  double value_usd = 0.0;        // [USD] at the year's fx rate
  std::size_t codes = 0;         // distinct CN8 codes summed
  std::size_t shared_codes = 0;  // of which shared by several of the rows' materials
};

// One total per region present in the rows, in first-seen order. A material assessed at both
// stages has different codes per stage, so nothing is counted twice across stages either.
std::vector<ImportTotal> import_totals(const std::vector<AssessmentRow>& rows);

// Runs the assessment. Fails with kNotFound for an unknown material or bloc, kInvalidInput for an
// unknown region or an override outside [0,1]. Rows are ordered by material id, then stage.
// Cost: linear in the dataset size (one pass over each table).
Result<std::vector<AssessmentRow>> assess(const Dataset& data, const AssessOptions& options);

// The supply-risk overrides of an assess assumptions file are read by the scenario layer
// (scenario::read_assumptions in critmin/scenario/scenario.h).

}  // namespace critmin
