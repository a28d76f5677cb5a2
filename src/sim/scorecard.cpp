// The two scorecards of a simulation (docs/scorecards.md).
#include "critmin/sim/scorecard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "critmin/core/figures.h"
#include "critmin/sim/simulation.h"
#include "sim/region_names.h"

namespace critmin::sim {
namespace {

bool in_bloc(const Dataset& data, const std::string& bloc, const std::string& iso3) {
  const auto it = data.blocs.find(bloc);
  return it != data.blocs.end() &&
         std::find(it->second.begin(), it->second.end(), iso3) != it->second.end();
}

// The areas a stockpile's holder counts for: the EU27 region or an EU member counts for the EU,
// the Netherlands also for itself, and any holder of the scenario's club for the club.
std::vector<std::string> holder_areas(const Dataset& data, const std::string& holder,
                                      const std::set<std::string>& club_regions) {
  std::vector<std::string> areas;
  if (holder == "EU27" || in_bloc(data, "EU27", holder)) areas.push_back("EU27");
  if (holder == "NLD") areas.push_back("NLD");
  if (club_regions.contains(holder) ||
      (club_regions.contains("EU27") && in_bloc(data, "EU27", holder))) {
    areas.push_back("club");
  }
  return areas;
}

// A result's rows grouped by material, so that each scorecard reads each row once (an ensemble
// computes the scorecards of every run).
struct RowsOfMaterial {
  std::vector<const StageScore*> stage_scores;
  std::vector<const ShortfallScore*> shortfalls;
  std::vector<const SeriesRow*> eu_last_year;  // EU27 rows (and their twins) of the last year
  std::vector<const PaymentRow*> stock_end_last_year;
  std::vector<const SeriesRow*> market_stock_last_year;  // rows holding market stock at the end
};

std::map<std::string, RowsOfMaterial> rows_by_material(const SimulationResult& result) {
  std::map<std::string, RowsOfMaterial> rows;
  for (const StageScore& s : result.stage_scores) rows[s.material].stage_scores.push_back(&s);
  for (const ShortfallScore& s : result.shortfalls) rows[s.material].shortfalls.push_back(&s);
  for (const SeriesRow& r : result.series) {
    if (r.year == result.last_year && base_region(r.region) == "EU27") {
      rows[r.material].eu_last_year.push_back(&r);
    }
    if (r.year == result.last_year && r.market_stock_end_t > 0.0) {
      rows[r.material].market_stock_last_year.push_back(&r);
    }
  }
  for (const PaymentRow& p : result.payments) {
    if (p.year == result.last_year && p.instrument_type == "stockpile" && p.figure == "stock_end") {
      rows[p.material].stock_end_last_year.push_back(&p);
    }
  }
  return rows;
}

SupplySecurityScorecard security_scorecard(const Dataset& data, const SimulationResult& result) {
  SupplySecurityScorecard card;
  const double limit = data.parameter("crma_single_country_limit");
  const std::set<std::string> club_regions(result.club_regions.begin(), result.club_regions.end());
  std::map<std::string, RowsOfMaterial> rows = rows_by_material(result);
  for (const std::string& material : result.materials) {
    const RowsOfMaterial& of = rows[material];
    for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
      StageSecurity s;
      s.material = material;
      s.stage = stage;
      s.crma_benchmark = data.parameter(stage == Stage::kExtraction ? "crma_extraction_benchmark"
                                                                    : "crma_processing_benchmark");
      for (const StageScore* score : of.stage_scores) {
        if (score->stage != stage) continue;
        s.top_share_max = std::max(s.top_share_max, score->top_third_country_share);
        if (score->top_third_country_share > limit) ++s.years_in_breach;
        if (score->year == result.last_year) {
          s.top_third_country = score->top_third_country;
          s.top_share_last = score->top_third_country_share;
          s.hhi_last = score->hhi;
        }
      }
      // EU27 output at the stage over EU27 use of the processed material, in the last year.
      double eu_output = 0.0, eu_use = 0.0;
      for (const SeriesRow* row : of.eu_last_year) {
        if (row->stage == stage) eu_output += row->production_t;
        if (row->stage == Stage::kProcessing) eu_use += row->consumption_t;
      }
      s.eu_output_share_of_use = eu_use > 0.0 ? eu_output / eu_use : 0.0;
      card.stages.push_back(std::move(s));
    }

    // Shortfall per area, and the stock cover its stockpiles hold at the end.
    std::map<std::string, AreaSecurity> areas;
    std::map<std::string, double> last_demand_t;
    for (const ShortfallScore* sf : of.shortfalls) {
      AreaSecurity& a = areas[sf->area];
      a.material = material;
      a.area = sf->area;
      a.demand_t += sf->demand_t;
      a.shortfall_t += sf->shortfall_t;
      a.physical_shortage_t += sf->physical_shortage_t;
      a.priced_out_t += sf->priced_out_t;
      if (sf->shortfall_share > a.worst_shortfall_share) {
        a.worst_shortfall_share = sf->shortfall_share;
        a.worst_year = sf->year;
      }
      if (sf->demand_t > 0.0) {
        const double physical_share = sf->physical_shortage_t / sf->demand_t;
        if (physical_share > a.worst_physical_share) {
          a.worst_physical_share = physical_share;
          a.worst_physical_year = sf->year;
        }
        a.worst_priced_out_share =
            std::max(a.worst_priced_out_share, sf->priced_out_t / sf->demand_t);
      }
      if (sf->year == result.last_year) last_demand_t[sf->area] = sf->demand_t;
    }
    std::map<std::string, double> stock_end_t;  // area -> t at the end of the last year
    for (const PaymentRow* p : of.stock_end_last_year) {
      for (const std::string& area : holder_areas(data, p->holder, club_regions)) {
        stock_end_t[area] += p->value;
      }
    }
    // The market's own stocks, in the areas of their region as the shortfall counts them
    // (runner.cpp accounting): EU27 and NLD each their own, members' regions in the club.
    for (const SeriesRow* row : of.market_stock_last_year) {
      const std::string region = base_region(row->region);
      if (region == "EU27" || region == "NLD") stock_end_t[region] += row->market_stock_end_t;
      if (region == "club" || club_regions.contains(region)) {
        stock_end_t["club"] += row->market_stock_end_t;
      }
    }
    for (auto& [area, a] : areas) {
      if (const auto stock = stock_end_t.find(area); stock != stock_end_t.end()) {
        const double demand = last_demand_t[area];
        a.days_of_cover = demand > 0.0 ? 365.0 * stock->second / demand : 0.0;
      }
      card.areas.push_back(std::move(a));
    }

    RecyclingSecurity recycling;
    recycling.material = material;
    recycling.crma_benchmark = data.parameter("crma_recycling_benchmark");
    for (const SupplyRiskInputs& in : data.supply_risk_inputs) {
      if (in.material_id == material && !in.is_estimate) {
        recycling.eol_recycling_input_rate = in.eol_recycling_input_rate;
      }
    }
    card.recycling.push_back(std::move(recycling));
  }
  return card;
}

// Dutch imports of each material in the trade year [EUR]. A CN8 code mapped to several
// materials (rare-earth compounds, say) is split evenly over them: the data do not say more.
std::map<std::string, double> dutch_imports_eur(const Dataset& data, int trade_year) {
  std::map<std::string, std::vector<std::string>> materials_of;
  for (const Cn8Mapping& m : data.cn8_materials) materials_of[m.cn8] = m.material_ids;
  std::map<std::string, double> out;
  for (const ImportFlow& f : data.eu_imports) {
    if (f.declarant_iso3 != "NLD" || f.year != trade_year) continue;
    const auto it = materials_of.find(f.cn8);
    if (it == materials_of.end() || it->second.empty()) continue;
    const double each = f.value_eur / static_cast<double>(it->second.size());
    for (const std::string& material : it->second) out[material] += each;
  }
  return out;
}

// The share of a material's Dutch gross imports that is re-exported: its own row of
// nl_re_export_shares.csv, else the default row "*" (the dataset check guarantees one).
double re_export_share(const Dataset& data, const std::string& material) {
  double fallback = 0.0;
  for (const ReExportShare& r : data.nl_re_export_shares) {
    if (r.material_id == material) return r.share;
    if (r.material_id == "*") fallback = r.share;
  }
  return fallback;
}

// The NACE split of one material's Dutch use, and the part no division can be given.
struct Allocation {
  std::map<std::string, double> share_of;  // NACE code -> share of the material's use, 0-1
  std::map<std::string, std::string> label_of;
  double unallocated_share = 0.0;  // 0-1
  std::string unallocated_reason;  // empty when unallocated_share is 0
};

// A label with every run of white space made one space: the EU end-use table carries line
// breaks inside some sector names ("Manufacture of motor\nvehicles, ..."), which would break the
// printed lines.
std::string one_line(std::string_view text) {
  std::string out;
  bool in_space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out += ' ';
    in_space = false;
    out += c;
  }
  return out;
}

// The EU end-use table's split of the material where it has rows, else the documented mapping of
// nl_end_use_mapping.csv. Shares that do not add up to 1 (rounding in the source, or uses
// without a sector) are normalised over the sectors named; a use without a sector is unallocated.
Allocation allocate(const Dataset& data, const std::string& material) {
  Allocation a;
  double all = 0.0;
  std::vector<std::string> unnamed;
  for (const EndUseShare& e : data.end_use_shares) {
    if (e.material_id != material) continue;
    all += e.share;
    if (e.nace_code.empty()) {
      if (e.share > 0.0) unnamed.push_back(e.application);
      continue;
    }
    a.share_of[e.nace_code] += e.share;
    a.label_of[e.nace_code] = one_line(e.nace_label);
  }
  const bool in_eu_table = all > 0.0;
  if (!in_eu_table) {
    for (const EndUseMapping& m : data.nl_end_use_mapping) {
      if (m.material_id != material) continue;
      all += m.share;
      a.share_of[m.nace_code] += m.share;
      a.label_of[m.nace_code] = one_line(m.nace_label);
    }
  }
  double named = 0.0;
  for (const auto& [code, share] : a.share_of) named += share;
  if (named <= 0.0) {
    a.share_of.clear();
    a.unallocated_share = 1.0;
    a.unallocated_reason = in_eu_table
                               ? "the EU end-use table names no NACE sector for any of its uses"
                               : "no row in the EU end-use table and no documented mapping in "
                                 "data/estimates/nl_end_use_mapping.csv";
    return a;
  }
  // A mapping that covers less than the whole use leaves the rest unallocated, as the EU table's
  // uses without a sector do; shares summing to less than 1 are otherwise rounding.
  const double total = in_eu_table ? std::max(all, named) : std::max(all, 1.0);
  for (auto& [code, share] : a.share_of) share /= total;
  a.unallocated_share = 1.0 - named / total;
  if (a.unallocated_share > 1e-12) {
    std::string uses;
    for (const std::string& u : unnamed) uses += (uses.empty() ? "" : ", ") + u;
    a.unallocated_reason =
        in_eu_table
            ? fmt::format(
                  "the EU end-use table gives {:.0f}% of its use ({}) without a NACE sector",
                  100.0 * a.unallocated_share, uses)
            : fmt::format(
                  "the mapping in data/estimates/nl_end_use_mapping.csv covers only {:.0f}% "
                  "of its use",
                  100.0 * (1.0 - a.unallocated_share));
  } else {
    a.unallocated_share = 0.0;
  }
  return a;
}

// "manganese beyond ores and oxides" -> "manganese_beyond_ores_and_oxides": a reconciliation
// line's key.
std::string slug(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (keep) {
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

// The published total, the covered imports and the lines between them: the residual is whatever
// makes covered + lines equal the reference exactly, so no part of the difference goes unlisted.
void reconcile(const Dataset& data, BusinessScorecard& card) {
  const ImportBillRow* reference = nullptr;
  const ImportBillRow* residual = nullptr;
  double explained = 0.0;
  for (const ImportBillRow& row : data.nl_import_bill) {
    if (row.kind == "reference") reference = &row;
    if (row.kind == "residual") residual = &row;
  }
  if (!reference) {
    card.notes.push_back(
        "the dataset has no reference total of the Dutch import bill (nl_import_bill.csv); the "
        "bill is not reconciled");
    return;
  }
  card.imports_reference_eur = reference->value_eur.value_or(0.0);
  card.imports_reference_year = reference->year;
  card.imports_reference_source = fmt::format("{}: {}", reference->item, reference->basis);
  if (reference->year != card.trade_year) {
    card.notes.push_back(
        fmt::format("the reference total of the Dutch import bill is of {}, the trade data of {}",
                    reference->year, card.trade_year));
  }
  for (const ImportBillRow& row : data.nl_import_bill) {
    if (row.kind != "line") continue;
    card.reconciliation.push_back(
        {row.item, row.kind, row.year, row.value_eur.value_or(0.0), row.is_estimate, row.basis});
    explained += row.value_eur.value_or(0.0);
  }
  ReconciliationLine rest;
  rest.kind = "residual";
  rest.year = reference->year;
  rest.value_eur = card.imports_reference_eur - card.imports_eur - explained;
  rest.item = residual ? residual->item : "unexplained difference";
  rest.is_estimate = residual ? residual->is_estimate : false;
  rest.basis = residual ? residual->basis
                        : "no residual row in nl_import_bill.csv: the difference the covered "
                          "imports and the lines leave";
  if (rest.value_eur < 0.0) {
    card.notes.push_back(fmt::format(
        "the covered Dutch imports and the reconciliation lines exceed the reference total by "
        "{}; the residual line is negative",
        format_figure(-rest.value_eur, "EUR")));
  }
  if (residual || rest.value_eur != 0.0) card.reconciliation.push_back(std::move(rest));
}

Result<BusinessScorecard> business_scorecard(const Dataset& data, const SimulationResult& result) {
  BusinessScorecard card;
  card.trade_year = static_cast<int>(data.parameter("trade_year"));
  const auto rate = data.usd_per_eur(card.trade_year);
  if (!rate) {
    return Status::not_found(fmt::format(
        "data/fx_rates.csv has no USD/EUR rate for {} or an earlier year; add one to convert the "
        "Dutch import values",
        card.trade_year));
  }
  card.usd_per_eur = *rate;

  // The whole bill: every material the trade data carry, less re-exports, over NACE divisions.
  const std::map<std::string, double> imports = dutch_imports_eur(data, card.trade_year);
  std::map<std::string, double> domestic_use_eur;  // material -> EUR
  std::map<std::string, Allocation> allocation;    // material -> its NACE split
  std::map<std::string, SectorUse> use_by_sector;
  for (const auto& [material, value_eur] : imports) {
    MaterialBill bill;
    bill.material = material;
    bill.imports_eur = value_eur;
    bill.re_export_share = re_export_share(data, material);
    bill.re_exports_eur = value_eur * bill.re_export_share;
    bill.domestic_use_eur = value_eur - bill.re_exports_eur;
    Allocation& a = allocation[material] = allocate(data, material);
    bill.unallocated_eur = bill.domestic_use_eur * a.unallocated_share;
    for (const auto& [code, share] : a.share_of) {
      SectorUse& use = use_by_sector[code];
      use.nace_code = code;
      use.nace_label = a.label_of[code];
      use.domestic_use_eur += bill.domestic_use_eur * share;
    }
    if (bill.unallocated_eur > 0.0) {
      card.unallocated_inputs.push_back({material, bill.unallocated_eur, a.unallocated_reason});
    }
    card.imports_eur += bill.imports_eur;
    card.re_exports_eur += bill.re_exports_eur;
    card.domestic_use_eur += bill.domestic_use_eur;
    card.unallocated_inputs_eur += bill.unallocated_eur;
    domestic_use_eur[material] = bill.domestic_use_eur;
    card.materials.push_back(std::move(bill));
  }
  card.unallocated_inputs_usd = card.unallocated_inputs_eur * *rate;
  std::sort(card.materials.begin(), card.materials.end(),
            [](const MaterialBill& a, const MaterialBill& b) {
              if (a.imports_eur != b.imports_eur) return a.imports_eur > b.imports_eur;
              return a.material < b.material;
            });
  for (const auto& [code, use] : use_by_sector) card.use_by_sector.push_back(use);
  std::sort(card.use_by_sector.begin(), card.use_by_sector.end(),
            [](const SectorUse& a, const SectorUse& b) {
              if (a.domestic_use_eur != b.domestic_use_eur) {
                return a.domestic_use_eur > b.domestic_use_eur;
              }
              return a.nace_code < b.nace_code;
            });
  std::sort(card.unallocated_inputs.begin(), card.unallocated_inputs.end(),
            [](const UnallocatedInput& a, const UnallocatedInput& b) {
              if (a.value_eur != b.value_eur) return a.value_eur > b.value_eur;
              return a.material < b.material;
            });
  reconcile(data, card);

  // The EU price of each material per year against its base price: the input-cost change per
  // euro of material bought.
  std::map<std::string, double> base_price;
  for (const MaterialBase& b : result.bases) base_price[b.material] = b.base_price_usd_per_t;
  const std::map<std::pair<std::string, int>, double> eu_price =
      region_prices_usd_per_t(result, "EU27");

  // Dutch manufacturing's accounts: its intermediate consumption, and its value added per euro
  // of it (the value-added-at-risk channel).
  for (const IndustryAccounts& a : data.nl_industry_accounts) {
    if (a.nace_code == "C" && a.year > card.manufacturing_accounts_year) {
      const auto accounts_rate = data.usd_per_eur(a.year);
      if (!accounts_rate) continue;
      card.manufacturing_accounts_year = a.year;
      card.manufacturing_intermediate_usd = a.intermediate_consumption_meur * 1e6 * *accounts_rate;
      card.value_added_per_intermediate =
          a.intermediate_consumption_meur > 0.0
              ? a.gross_value_added_meur / a.intermediate_consumption_meur
              : 0.0;
    }
  }
  std::map<std::string, std::map<int, double>> shortage_share;  // material -> year -> 0-1
  for (const ShortfallScore& s : result.shortfalls) {
    if (s.area == "EU27") shortage_share[s.material][s.year] = business_shortage_share(s);
  }

  std::map<std::string, SectorCost> sectors;
  std::map<std::string, std::map<int, double>> change_by_year;  // nace -> year -> USD
  const double years = static_cast<double>(result.last_year - result.first_year + 1);
  for (const std::string& material : result.materials) {
    const auto base = base_price.find(material);
    if (base == base_price.end() || base->second <= 0.0) {
      return Status::invalid_input(fmt::format(
          "the simulation result has no base price for {}; re-run the simulation", material));
    }
    const auto used = domestic_use_eur.find(material);
    if (used == domestic_use_eur.end() || used->second <= 0.0) {
      card.notes.push_back(fmt::format(
          "{}: no Dutch imports in the {} trade data (no CN8 code maps to it, or none were "
          "imported); its input-cost change for Dutch businesses is not counted",
          material, card.trade_year));
      continue;
    }
    const double use_usd = used->second * *rate;
    const Allocation& a = allocation[material];
    if (a.share_of.empty()) {
      card.notes.push_back(fmt::format(
          "{}: {}; its {} of Dutch use is listed as unallocated and its input-cost change is not "
          "counted",
          material, a.unallocated_reason, format_figure(use_usd, "USD")));
    }
    for (const auto& [code, share] : a.share_of) {
      const double inputs = use_usd * share;
      SectorCost& s = sectors[code];
      s.nace_code = code;
      s.nace_label = a.label_of.at(code);
      s.material_inputs_usd += inputs;
      for (int year = result.first_year; year <= result.last_year; ++year) {
        const auto p = eu_price.find({material, year});
        if (p == eu_price.end()) continue;
        const double ratio = p->second / base->second;
        change_by_year[code][year] += inputs * (ratio - 1.0);
      }
    }
    // Value added at risk: the unserved part of the material's Dutch use stops the output it
    // enters; that output's value added is taken at manufacturing's ratio to its inputs.
    ValueAddedAtRisk risk;
    risk.material = material;
    risk.domestic_use_usd = use_usd;
    double worst_share = 0.0, sum = 0.0;
    for (const auto& [year, share] : shortage_share[material]) {
      const double at_risk = share * use_usd * card.value_added_per_intermediate;
      sum += at_risk;
      if (share > worst_share) {
        worst_share = share;
        risk.worst_usd = at_risk;
        risk.worst_year = year;
      }
    }
    risk.mean_usd = sum / years;
    card.value_added_at_risk_mean_usd += risk.mean_usd;
    card.value_added_at_risk.push_back(std::move(risk));
  }
  for (auto& [code, s] : sectors) {
    double sum = 0.0;
    for (const auto& [year, change] : change_by_year[code]) {
      sum += change;
      if (std::abs(change) > std::abs(s.cost_change_peak_usd)) {
        s.cost_change_peak_usd = change;
        s.peak_year = year;
      }
    }
    s.cost_change_mean_usd = sum / years;
    card.total_cost_change_mean_usd += s.cost_change_mean_usd;
    card.sectors.push_back(s);
  }
  std::sort(card.sectors.begin(), card.sectors.end(), [](const SectorCost& a, const SectorCost& b) {
    if (a.cost_change_mean_usd != b.cost_change_mean_usd) {
      return a.cost_change_mean_usd > b.cost_change_mean_usd;
    }
    return a.nace_code < b.nace_code;
  });

  if (card.manufacturing_intermediate_usd > 0.0) {
    card.share_of_manufacturing_inputs =
        card.total_cost_change_mean_usd / card.manufacturing_intermediate_usd;
  }
  for (const FiscalScore& f : result.fiscal) {
    card.fiscal_cost_usd += f.fiscal_cost_usd;
    card.levy_revenue_usd += f.levy_revenue_usd;
  }
  // The club's money is taken as the EU budget's: the Netherlands bears its GNI-based share of
  // the cost and receives that share of the levies (docs/scorecards.md).
  card.nl_share_of_eu_budget = data.parameter("nl_share_of_eu_budget");
  card.nl_fiscal_cost_usd = card.fiscal_cost_usd * card.nl_share_of_eu_budget;
  card.nl_levy_revenue_usd = card.levy_revenue_usd * card.nl_share_of_eu_budget;
  std::set<std::string> club(result.club_regions.begin(), result.club_regions.end());
  for (const ProjectOnline& p : result.projects) {
    if (club.contains(base_region(p.region))) card.club_investment_usd += p.capex_usd;
  }
  return card;
}

}  // namespace

std::map<std::pair<std::string, int>, double> region_prices_usd_per_t(
    const SimulationResult& result, std::string_view region) {
  std::map<std::pair<std::string, int>, std::pair<double, double>> sums;  // sum p*q, sum q
  for (const SeriesRow& row : result.series) {
    if (row.stage != Stage::kProcessing || base_region(row.region) != region) continue;
    auto& [pq, q] = sums[{row.material, row.year}];
    // Weighted by use; a certified twin and the open node of the region both count.
    const double weight = std::max(row.consumption_t, 1e-12);
    pq += row.price_usd_per_t * weight;
    q += weight;
  }
  std::map<std::pair<std::string, int>, double> prices;
  for (const auto& [key, sum] : sums)
    prices.emplace_hint(prices.end(), key, sum.first / sum.second);
  return prices;
}

double business_shortage_share(const ShortfallScore& shortfall) {
  return shortfall.demand_t > 0.0 ? shortfall.physical_shortage_t / shortfall.demand_t : 0.0;
}

double material_fiscal_cost_usd(const SimulationResult& result, const std::string& material) {
  double cost = 0.0;
  for (const PaymentRow& p : result.payments) {
    if (p.material != material) continue;
    for (const auto& [name, sign] : kFiscalCostFigures) {
      if (p.figure == name) cost += sign * p.value;
    }
  }
  return cost;
}

namespace {

// The figures of one run that the attribution compares, per material.
struct RunFigures {
  double eu_physical_shortage_t = 0.0;
  double top_share_last = 0.0;  // processing, last year
  double non_chinese_capacity_t = 0.0;
  double fiscal_cost_usd = 0.0;
};

RunFigures run_figures(const SimulationResult& result, const std::string& material) {
  RunFigures f;
  for (const ShortfallScore& s : result.shortfalls) {
    if (s.material == material && s.area == "EU27")
      f.eu_physical_shortage_t += s.physical_shortage_t;
  }
  for (const StageScore& s : result.stage_scores) {
    if (s.material == material && s.stage == Stage::kProcessing && s.year == result.last_year) {
      f.top_share_last = s.top_third_country_share;
    }
  }
  for (const ProjectOnline& p : result.projects) {
    if (p.material == material && p.stage == Stage::kProcessing && base_region(p.region) != "CHN") {
      f.non_chinese_capacity_t += p.capacity_t;
    }
  }
  f.fiscal_cost_usd = material_fiscal_cost_usd(result, material);
  return f;
}

}  // namespace

Attribution attribute(const SimulationResult& design, const SimulationResult& counterfactual) {
  Attribution a;
  a.counterfactual = "the same scenario and draws without its instruments";
  a.investment_attracted_usd = design.scorecards.business.club_investment_usd -
                               counterfactual.scorecards.business.club_investment_usd;
  a.fiscal_cost_usd = design.scorecards.business.fiscal_cost_usd -
                      counterfactual.scorecards.business.fiscal_cost_usd;
  for (std::size_t m = 0; m < design.materials.size(); ++m) {
    const std::string& material = design.materials[m];
    const RunFigures with = run_figures(design, material);
    const RunFigures without = run_figures(counterfactual, material);
    MaterialAttribution ma;
    ma.material = material;
    ma.physical_shortage_avoided_t = without.eu_physical_shortage_t - with.eu_physical_shortage_t;
    ma.top_share_change_points = 100.0 * (with.top_share_last - without.top_share_last);
    ma.non_chinese_capacity_added_t = with.non_chinese_capacity_t - without.non_chinese_capacity_t;
    ma.fiscal_cost_usd = with.fiscal_cost_usd - without.fiscal_cost_usd;
    // Below a tonne a year the capacity is noise and the ratio would be meaningless.
    if (ma.non_chinese_capacity_added_t >= 1.0) {
      ma.cost_per_t_capacity_usd = ma.fiscal_cost_usd / ma.non_chinese_capacity_added_t;
    }
    for (const MaterialBase& base : design.bases) {
      if (base.material == material) {
        a.physical_shortage_avoided_usd +=
            ma.physical_shortage_avoided_t * base.base_price_usd_per_t;
      }
    }
    a.top_share_change_points += ma.top_share_change_points;
    a.materials.push_back(std::move(ma));
  }
  if (!a.materials.empty()) {
    a.top_share_change_points /= static_cast<double>(a.materials.size());
  }
  if (-a.top_share_change_points > 0.01) {
    a.cost_per_point_usd = a.fiscal_cost_usd / -a.top_share_change_points;
  }
  return a;
}

Result<Scorecards> compute_scorecards(const Dataset& data, const SimulationResult& result) {
  Scorecards cards;
  cards.security = security_scorecard(data, result);
  Result<BusinessScorecard> business = business_scorecard(data, result);
  CRITMIN_RETURN_IF_ERROR(business);
  cards.business = std::move(business).value();
  return cards;
}

namespace {

// The attributes of a scorecard line the code emits. Every key scorecard_lines writes has a row
// in data/outputs/figures.csv (FigureTable.HoldsEveryFigureTheExampleScenariosEmit checks it);
// a missing row is a defect, asserted here and shown with a "?" unit rather than a guess.
const FigureAttributes& scorecard_figure(const std::string& name) {
  Result<const FigureAttributes*> found = find_figure(FigureGroup::kScorecard, name);
  assert(found.is_ok() && "a scorecard figure without a row in data/outputs/figures.csv");
  if (found.is_ok()) return *found.value();
  static const FigureAttributes kMissing{FigureGroup::kScorecard,     "?", "?", Better::kNeutral,
                                         "(not in the output table)", ""};
  return kMissing;
}

// Why a fiscal cost is negative, next to the figure (docs/scorecards.md).
std::string fiscal_return_text() {
  return "net return: stock sales brought the state more than the instruments paid out";
}

}  // namespace

std::vector<ScoreLine> scorecard_lines(const Scorecards& cards) {
  std::vector<ScoreLine> lines;
  const std::string security = "supply security";
  // A line's label is its subject ("gallium processing") and the table's label, with a suffix
  // that carries a benchmark or a year; its unit is the table's.
  const auto add = [&lines](const std::string& card, std::string key, const std::string& subject,
                            std::optional<double> value, std::string text = {},
                            const std::string& suffix = {}) {
    const FigureAttributes& figure = scorecard_figure(figure_name_of(FigureGroup::kScorecard, key));
    std::string label = (subject.empty() ? "" : subject + ": ") + figure.label + suffix;
    lines.push_back({card, std::move(key), std::move(label), figure.unit, value, std::move(text)});
  };
  for (const StageSecurity& s : cards.security.stages) {
    const std::string id = fmt::format("{}/{}", s.material, stage_name(s.stage));
    const std::string name = fmt::format("{} {}", s.material, stage_name(s.stage));
    add(security, id + "/top_share_last", name, 100.0 * s.top_share_last,
        s.top_third_country.empty() ? "none" : s.top_third_country);
    add(security, id + "/years_in_breach", name, static_cast<double>(s.years_in_breach));
    add(security, id + "/hhi_last", name, s.hhi_last);
    add(security, id + "/eu_output_share_of_use", name, 100.0 * s.eu_output_share_of_use,
        s.eu_output_share_of_use >= s.crma_benchmark ? "meets" : "below",
        fmt::format(" (CRMA {:.0f}%)", 100.0 * s.crma_benchmark));
  }
  for (const AreaSecurity& a : cards.security.areas) {
    const std::string id = fmt::format("{}/{}", a.material, a.area);
    const std::string name = fmt::format("{} {}", a.material, a.area);
    add(security, id + "/physical_shortage_t", name, a.physical_shortage_t);
    add(security, id + "/worst_physical_share", name, 100.0 * a.worst_physical_share,
        a.worst_physical_year ? std::to_string(a.worst_physical_year) : "");
    add(security, id + "/priced_out_t", name, a.priced_out_t);
    add(security, id + "/shortfall_t", name, a.shortfall_t);
    add(security, id + "/worst_shortfall_share", name, 100.0 * a.worst_shortfall_share,
        a.worst_year ? std::to_string(a.worst_year) : "");
    add(security, id + "/days_of_cover", name, a.days_of_cover,
        a.days_of_cover ? "" : "no stockpile");
  }
  for (const RecyclingSecurity& r : cards.security.recycling) {
    add(security, r.material + "/recycling", r.material,
        r.eol_recycling_input_rate ? std::optional<double>(100.0 * *r.eol_recycling_input_rate)
                                   : std::nullopt,
        r.eol_recycling_input_rate ? "" : "no data (only an estimate)",
        fmt::format(" (CRMA {:.0f}%)", 100.0 * r.crma_benchmark));
  }
  const std::string business = "Dutch businesses";
  const BusinessScorecard& b = cards.business;
  // The whole import bill, its reconciliation with the published total, and where it goes.
  add(business, "imports_eur", "", b.imports_eur,
      fmt::format("trade data {}, {} materials", b.trade_year, b.materials.size()));
  if (b.imports_reference_year != 0) {
    add(business, "imports_reference_eur", "", b.imports_reference_eur,
        fmt::format("{}, {}",
                    b.imports_reference_source.substr(0, b.imports_reference_source.find(':')),
                    b.imports_reference_year));
  }
  for (const ReconciliationLine& r : b.reconciliation) {
    add(business, slug(r.item) + "/reconciliation", r.item, r.value_eur,
        r.kind == "residual" ? "not in the data (the rest of the reference)"
        : r.is_estimate      ? fmt::format("estimate, {}", r.year)
                             : fmt::format("published, {}", r.year));
  }
  const auto share_text = [](double part, double whole) {
    return whole > 0.0 ? fmt::format("{:.1f}% of the imports", 100.0 * part / whole) : "";
  };
  add(business, "re_exports_eur", "", b.re_exports_eur,
      share_text(b.re_exports_eur, b.imports_eur));
  add(business, "domestic_use_eur", "", b.domestic_use_eur,
      share_text(b.domestic_use_eur, b.imports_eur));
  for (const SectorUse& u : b.use_by_sector) {
    add(business, u.nace_code + "/domestic_use", fmt::format("{} {}", u.nace_code, u.nace_label),
        u.domestic_use_eur);
  }
  add(business, "unallocated_inputs_eur", "", b.unallocated_inputs_eur,
      b.domestic_use_eur > 0.0 ? fmt::format("{:.1f}% of Dutch use; {} materials, listed below",
                                             100.0 * b.unallocated_inputs_eur / b.domestic_use_eur,
                                             b.unallocated_inputs.size())
                               : "");
  for (const SectorCost& c : b.sectors) {
    add(business, "sector/" + c.nace_code, fmt::format("{} {}", c.nace_code, c.nace_label),
        c.cost_change_mean_usd,
        fmt::format("on {} of inputs", format_figure(c.material_inputs_usd, "USD")));
  }
  add(business, "total_cost_change", "", b.total_cost_change_mean_usd);
  add(business, "share_of_manufacturing_inputs", "",
      b.manufacturing_intermediate_usd > 0.0
          ? std::optional<double>(100.0 * b.share_of_manufacturing_inputs)
          : std::nullopt,
      b.manufacturing_intermediate_usd > 0.0 ? "" : "no CBS accounts in the data",
      fmt::format(" ({})", b.manufacturing_accounts_year));
  for (const ValueAddedAtRisk& v : b.value_added_at_risk) {
    add(business, v.material + "/value_added_at_risk", v.material, v.mean_usd,
        v.worst_year ? fmt::format("worst {}: {}", v.worst_year, format_figure(v.worst_usd, "USD"))
                     : "no shortage");
  }
  add(business, "value_added_at_risk", "", b.value_added_at_risk_mean_usd,
      b.value_added_per_intermediate > 0.0 ? "" : "no CBS accounts in the data",
      " (all simulated materials)");
  add(business, "fiscal_cost", "", b.fiscal_cost_usd,
      b.fiscal_cost_usd < 0.0 ? fiscal_return_text() : "");
  add(business, "nl_fiscal_cost", "", b.nl_fiscal_cost_usd,
      fmt::format("{:.1f}% GNI-based share", 100.0 * b.nl_share_of_eu_budget));
  add(business, "levy_revenue", "", b.levy_revenue_usd);
  add(business, "nl_levy_revenue", "", b.nl_levy_revenue_usd,
      fmt::format("{:.1f}% GNI-based share", 100.0 * b.nl_share_of_eu_budget));
  add(business, "club_investment", "", b.club_investment_usd);
  if (cards.attribution) {
    // Against the same world without the instruments: what the instruments themselves did.
    const std::string attribution = "attribution";
    const Attribution& a = *cards.attribution;
    add(attribution, "attribution/investment_attracted_usd", "", a.investment_attracted_usd);
    add(attribution, "attribution/attributed_fiscal_cost_usd", "", a.fiscal_cost_usd);
    add(attribution, "attribution/physical_shortage_avoided_usd", "",
        a.physical_shortage_avoided_usd);
    add(attribution, "attribution/top_share_change_points", "", a.top_share_change_points, "",
        " (mean over materials)");
    add(attribution, "attribution/cost_per_point_usd", "", a.cost_per_point_usd,
        a.cost_per_point_usd ? "" : "no concentration removed");
    for (const MaterialAttribution& m : a.materials) {
      add(attribution, m.material + "/attribution/physical_shortage_avoided_t", m.material,
          m.physical_shortage_avoided_t);
      add(attribution, m.material + "/attribution/top_share_change_points", m.material,
          m.top_share_change_points);
      add(attribution, m.material + "/attribution/non_chinese_capacity_added_t", m.material,
          m.non_chinese_capacity_added_t);
      add(attribution, m.material + "/attribution/cost_per_t_capacity_usd", m.material,
          m.cost_per_t_capacity_usd,
          m.cost_per_t_capacity_usd ? "" : "no capacity added outside China");
    }
  }
  return lines;
}

std::string format_score_value(const ScoreLine& line) {
  if (!line.value) return "n/a";
  return format_amount(*line.value, line.unit);
}

std::string scorecards_to_table(const Scorecards& cards) {
  std::string out;
  std::string card;
  for (const ScoreLine& line : scorecard_lines(cards)) {
    if (line.card != card) {
      card = line.card;
      out += fmt::format("\n== {} ==\n", card);
    }
    out += fmt::format("  {:<78} {:>12} {:<15} {}\n", line.label, format_score_value(line),
                       line.value ? line.unit : "", line.text);
  }
  for (const std::string& note : cards.business.notes) out += "  note: " + note + "\n";
  for (const UnallocatedInput& u : cards.business.unallocated_inputs) {
    out += fmt::format("  unallocated Dutch use: {} {}: {}\n", u.material,
                       format_figure(u.value_eur, "EUR"), u.reason);
  }
  return out;
}

}  // namespace critmin::sim
