// The two scorecards of a simulation (docs/scorecards.md).
#include "critmin/sim/scorecard.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <map>
#include <optional>
#include <set>

#include "critmin/core/figures.h"
#include "critmin/sim/simulation.h"

namespace critmin::sim {
namespace {

// "AUS/certified" and "club/joint" belong to "AUS" and "club".
std::string base_region(const std::string& name) { return name.substr(0, name.find('/')); }

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

// The dataset's USD per EUR in `year`, or the latest earlier year's.
std::optional<double> usd_per_eur(const Dataset& data, int year) {
  const FxRate* best = nullptr;
  for (const FxRate& r : data.fx_rates) {
    if (r.year <= year && (!best || r.year > best->year)) best = &r;
  }
  if (!best) return std::nullopt;
  return best->usd_per_eur;
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

Result<BusinessScorecard> business_scorecard(const Dataset& data, const SimulationResult& result) {
  BusinessScorecard card;
  card.trade_year = static_cast<int>(data.parameter("trade_year"));
  const auto rate = usd_per_eur(data, card.trade_year);
  if (!rate) {
    return Status::not_found(fmt::format(
        "data/fx_rates.csv has no USD/EUR rate for {} or an earlier year; add one to convert the "
        "Dutch import values",
        card.trade_year));
  }
  card.usd_per_eur = *rate;
  std::map<std::string, double> imports = dutch_imports_eur(data, card.trade_year);
  for (auto& [material, value] : imports) value *= *rate;  // [USD]

  // The EU price of each material per year against its base price: the input-cost change per
  // euro of material bought.
  std::map<std::string, double> base_price;
  for (const MaterialBase& b : result.bases) base_price[b.material] = b.base_price_usd_per_t;
  std::map<std::pair<std::string, int>, std::pair<double, double>> eu_price;  // sum p*q, sum q
  for (const SeriesRow& row : result.series) {
    if (row.stage != Stage::kProcessing || base_region(row.region) != "EU27") continue;
    auto& [pq, q] = eu_price[{row.material, row.year}];
    // Weighted by use; a certified twin and the open node of the EU both count.
    const double weight = std::max(row.consumption_t, 1e-12);
    pq += row.price_usd_per_t * weight;
    q += weight;
  }

  std::map<std::string, SectorCost> sectors;
  std::map<std::string, std::map<int, double>> change_by_year;  // nace -> year -> USD
  for (const std::string& material : result.materials) {
    const auto base = base_price.find(material);
    if (base == base_price.end() || base->second <= 0.0) {
      return Status::invalid_input(fmt::format(
          "the simulation result has no base price for {}; re-run the simulation", material));
    }
    const auto bought = imports.find(material);
    if (bought == imports.end() || bought->second <= 0.0) {
      card.notes.push_back(fmt::format(
          "{}: no Dutch imports in the {} trade data (no CN8 code maps to it, or none were "
          "imported); its input-cost change for Dutch businesses is not counted",
          material, card.trade_year));
      continue;
    }
    std::map<std::string, double> share_of;  // NACE code -> share of EU use
    std::map<std::string, std::string> label_of;
    double allocated = 0.0;
    for (const EndUseShare& e : data.end_use_shares) {
      if (e.material_id != material) continue;
      allocated += e.share;
      if (e.nace_code.empty()) continue;
      share_of[e.nace_code] += e.share;
      label_of[e.nace_code] = e.nace_label;
    }
    if (share_of.empty()) {
      card.notes.push_back(fmt::format(
          "{}: the EU end-use table names no NACE sector for it; its {:.4g} USD of Dutch imports "
          "are not allocated to sectors",
          material, bought->second));
      card.unallocated_inputs_usd += bought->second;
      continue;
    }
    // Shares that do not add up to 1 (rounding in the source, or uses without a sector) are
    // normalised over the sectors named, and what has no sector is reported as unallocated.
    double named = 0.0;
    for (const auto& [code, share] : share_of) named += share;
    const double total = std::max(allocated, named);
    card.unallocated_inputs_usd += bought->second * (1.0 - named / total);
    for (const auto& [code, share] : share_of) {
      const double inputs = bought->second * share / total;
      SectorCost& s = sectors[code];
      s.nace_code = code;
      s.nace_label = label_of[code];
      s.material_inputs_usd += inputs;
      for (int year = result.first_year; year <= result.last_year; ++year) {
        const auto p = eu_price.find({material, year});
        if (p == eu_price.end() || p->second.second <= 0.0) continue;
        const double ratio = p->second.first / p->second.second / base->second;
        change_by_year[code][year] += inputs * (ratio - 1.0);
      }
    }
  }
  const double years = static_cast<double>(result.last_year - result.first_year + 1);
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

  for (const IndustryAccounts& a : data.nl_industry_accounts) {
    if (a.nace_code == "C" && a.year > card.manufacturing_accounts_year) {
      const auto accounts_rate = usd_per_eur(data, a.year);
      if (!accounts_rate) continue;
      card.manufacturing_accounts_year = a.year;
      card.manufacturing_intermediate_usd = a.intermediate_consumption_meur * 1e6 * *accounts_rate;
    }
  }
  if (card.manufacturing_intermediate_usd > 0.0) {
    card.share_of_manufacturing_inputs =
        card.total_cost_change_mean_usd / card.manufacturing_intermediate_usd;
  }
  for (const FiscalScore& f : result.fiscal) {
    card.fiscal_cost_usd += f.fiscal_cost_usd;
    card.levy_revenue_usd += f.levy_revenue_usd;
  }
  std::set<std::string> club(result.club_regions.begin(), result.club_regions.end());
  for (const ProjectOnline& p : result.projects) {
    if (club.contains(base_region(p.region))) card.club_investment_usd += p.capex_usd;
  }
  return card;
}

}  // namespace

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
  add(business, "fiscal_cost", "", b.fiscal_cost_usd,
      b.fiscal_cost_usd < 0.0 ? fiscal_return_text() : "");
  add(business, "levy_revenue", "", b.levy_revenue_usd);
  add(business, "club_investment", "", b.club_investment_usd);
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
  return out;
}

}  // namespace critmin::sim
