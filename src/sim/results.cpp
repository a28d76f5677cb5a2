// The results of a simulation: summary.json, the readable table and the SQLite results store.
#include <fmt/format.h>
#include <sqlite3.h>

#include <map>
#include <nlohmann/json.hpp>
#include <system_error>

#include "critmin/core/figures.h"
#include "critmin/sim/simulation.h"
#include "sim/appraisal_text.h"
#include "sim/sqlite_database.h"

namespace critmin::sim {

namespace {

// The business scorecard's import bill, its reconciliation and its new channels
// (docs/scorecards.md, "Dutch businesses"), merged into summary.json's dutch_business.
nlohmann::json business_bill_to_json(const BusinessScorecard& b) {
  using nlohmann::json;
  json reconciliation = json::array();
  for (const ReconciliationLine& r : b.reconciliation) {
    reconciliation.push_back({{"item", r.item},
                              {"kind", r.kind},
                              {"year", r.year},
                              {"value_eur", r.value_eur},
                              {"is_estimate", r.is_estimate},
                              {"basis", r.basis}});
  }
  json materials = json::array();
  for (const MaterialBill& m : b.materials) {
    materials.push_back({{"material", m.material},
                         {"imports_eur", m.imports_eur},
                         {"re_export_share", m.re_export_share},
                         {"re_exports_eur", m.re_exports_eur},
                         {"domestic_use_eur", m.domestic_use_eur},
                         {"unallocated_eur", m.unallocated_eur}});
  }
  json use_by_sector = json::array();
  for (const SectorUse& u : b.use_by_sector) {
    use_by_sector.push_back({{"nace_code", u.nace_code},
                             {"nace_label", u.nace_label},
                             {"domestic_use_eur", u.domestic_use_eur}});
  }
  json unallocated = json::array();
  for (const UnallocatedInput& u : b.unallocated_inputs) {
    unallocated.push_back(
        {{"material", u.material}, {"value_eur", u.value_eur}, {"reason", u.reason}});
  }
  json at_risk = json::array();
  for (const ValueAddedAtRisk& v : b.value_added_at_risk) {
    at_risk.push_back({{"material", v.material},
                       {"domestic_use_usd", v.domestic_use_usd},
                       {"mean_usd", v.mean_usd},
                       {"worst_usd", v.worst_usd},
                       {"worst_year", v.worst_year}});
  }
  return {{"imports_eur", b.imports_eur},
          {"imports_reference_eur", b.imports_reference_eur},
          {"imports_reference_year", b.imports_reference_year},
          {"imports_reference_source", b.imports_reference_source},
          {"reconciliation", std::move(reconciliation)},
          {"re_exports_eur", b.re_exports_eur},
          {"domestic_use_eur", b.domestic_use_eur},
          {"unallocated_inputs_eur", b.unallocated_inputs_eur},
          {"unallocated_inputs", std::move(unallocated)},
          {"materials_bill", std::move(materials)},
          {"use_by_sector", std::move(use_by_sector)},
          {"value_added_per_intermediate", b.value_added_per_intermediate},
          {"value_added_at_risk", std::move(at_risk)},
          {"value_added_at_risk_mean_usd", b.value_added_at_risk_mean_usd},
          {"nl_share_of_eu_budget", b.nl_share_of_eu_budget},
          {"nl_fiscal_cost_usd", b.nl_fiscal_cost_usd},
          {"nl_levy_revenue_usd", b.nl_levy_revenue_usd}};
}

// The company's exposure (critmin/sim/company.h): its totals, one row per BOM row, one per year.
nlohmann::json company_to_json(const CompanyExposure& c) {
  using nlohmann::json;
  json lines = json::array();
  for (const CompanyLineExposure& l : c.lines) {
    lines.push_back({{"line", l.line},
                     {"material", l.material},
                     {"supply_country", l.supply_country},
                     {"region", l.region},
                     {"quantity_t_per_yr", l.quantity_t_per_yr},
                     {"spend_eur_per_yr", l.spend_eur_per_yr},
                     {"base_price_usd_per_t", l.base_price_usd_per_t},
                     {"cost_change_mean_usd_per_yr", l.cost_change_mean_usd_per_yr},
                     {"physical_shortage_mean_t_per_yr", l.physical_shortage_mean_t_per_yr},
                     {"physical_shortage_mean_usd_per_yr", l.physical_shortage_mean_usd_per_yr}});
  }
  json years = json::array();
  for (std::size_t y = 0; y < c.cost_change_usd.size(); ++y) {
    years.push_back({{"year", c.first_year + static_cast<int>(y)},
                     {"cost_change_usd", c.cost_change_usd[y]},
                     {"physical_shortage_usd", c.physical_shortage_usd[y]}});
  }
  return {{"bom_file", c.bom_file},
          {"usd_per_eur", c.usd_per_eur},
          {"cost_change_mean_usd_per_yr", c.cost_change_mean_usd_per_yr},
          {"cost_change_worst_usd_per_yr", c.cost_change_worst_usd_per_yr},
          {"cost_change_worst_year", c.cost_change_worst_year},
          {"physical_shortage_mean_usd_per_yr", c.physical_shortage_mean_usd_per_yr},
          {"physical_shortage_worst_usd_per_yr", c.physical_shortage_worst_usd_per_yr},
          {"physical_shortage_worst_year", c.physical_shortage_worst_year},
          {"lines", std::move(lines)},
          {"years", std::move(years)},
          {"notes", c.notes}};
}

}  // namespace

std::vector<std::string> appraisal_lines(const std::vector<AppraisalRow>& rows) {
  std::vector<std::string> lines;
  for (std::size_t i = 0; i < rows.size(); i += 4) {
    const AppraisalRow& a = rows[i];
    std::map<std::string, const AppraisalRow*> cases;
    std::string investable;
    for (std::size_t k = i; k < std::min(i + 4, rows.size()); ++k) {
      const AppraisalRow& c = rows[k];
      const std::string name = c.figures.supplier + "/" + c.figures.instruments;
      cases[name] = &c;
      if (c.figures.investable) investable += (investable.empty() ? "" : ", ") + name;
    }
    const auto share = [&](const char* key) {
      auto it = cases.find(key);
      return it == cases.end()
                 ? std::string("-")
                 : fmt::format("{:.1f}%", 100.0 * it->second->figures.probability_npv_positive);
    };
    lines.push_back(fmt::format(
        "appraisal: {} of {} {} in {}, online {} ({} runs): P(NPV>0) {} with the instruments, {} "
        "without (strategic supplier), {} and {} (passive); investable: {}; top-up floor that "
        "makes it investable: {}",
        format_figure(a.capacity_t, "t/yr"), a.material, stage_name(a.stage), a.region,
        a.online_year, a.runs, share("strategic/all"), share("strategic/none"),
        share("passive/all"), share("passive/none"), investable.empty() ? "no case" : investable,
        a.investable_floor_usd_per_t ? format_figure(*a.investable_floor_usd_per_t, "USD/t")
                                     : std::string("none up to 20 x the base price")));
  }
  return lines;
}

nlohmann::json appraisal_rows_json(const std::vector<AppraisalRow>& rows) {
  using nlohmann::json;
  json out = json::array();
  for (const AppraisalRow& a : rows) {
    out.push_back({{"material", a.material},
                   {"region", a.region},
                   {"stage", stage_name(a.stage)},
                   {"capacity_t", a.capacity_t},
                   {"online_year", a.online_year},
                   {"runs", a.runs},
                   {"supplier", a.figures.supplier},
                   {"instruments", a.figures.instruments},
                   {"probability_npv_positive", a.figures.probability_npv_positive},
                   {"expected_npv_usd", a.figures.expected_npv_usd},
                   {"npv_p5_usd", a.figures.npv_p5_usd},
                   {"npv_p95_usd", a.figures.npv_p95_usd},
                   {"fiscal_cost_usd_total", a.figures.fiscal_cost_usd},
                   {"investable", a.figures.investable},
                   {"investable_floor_usd_per_t",
                    a.investable_floor_usd_per_t ? json(*a.investable_floor_usd_per_t) : json()}});
  }
  return out;
}

std::string simulation_to_json(const SimulationResult& result) {
  using nlohmann::json;
  json out;
  out["scenario"] = result.scenario_name;
  out["seed"] = result.seed;
  out["years"] = {result.first_year, result.last_year};
  out["base_year"] = result.base_year;
  out["materials"] = result.materials;
  json series = json::array();
  for (const SeriesRow& r : result.series) {
    series.push_back({{"material", r.material},
                      {"stage", stage_name(r.stage)},
                      {"region", r.region},
                      {"year", r.year},
                      {"price", r.price_usd_per_t},
                      {"production", r.production_t},
                      {"consumption", r.consumption_t},
                      {"imports", r.imports_t},
                      {"exports", r.exports_t},
                      {"demand", r.demand_t},
                      {"shortfall", r.shortfall_t},
                      {"physical_shortage", r.physical_shortage_t},
                      {"priced_out", r.priced_out_t},
                      {"stock_release", r.stock_release_t},
                      {"stock_refill", r.stock_refill_t},
                      {"market_stock_end", r.market_stock_end_t}});
  }
  out["series"] = std::move(series);
  json stages = json::array();
  for (const StageScore& s : result.stage_scores) {
    stages.push_back({{"material", s.material},
                      {"stage", stage_name(s.stage)},
                      {"year", s.year},
                      {"top_third_country", s.top_third_country},
                      {"top_third_country_share", s.top_third_country_share},
                      {"crma_single_country_breach", s.crma_breach},
                      {"hhi", s.hhi}});
  }
  json shortfalls = json::array();
  for (const ShortfallScore& s : result.shortfalls) {
    shortfalls.push_back({{"material", s.material},
                          {"area", s.area},
                          {"year", s.year},
                          {"demand", s.demand_t},
                          {"shortfall", s.shortfall_t},
                          {"shortfall_share", s.shortfall_share},
                          {"physical_shortage", s.physical_shortage_t},
                          {"priced_out", s.priced_out_t}});
  }
  json fiscal = json::array();
  double fiscal_total = 0.0, levy_total = 0.0;
  for (const FiscalScore& f : result.fiscal) {
    fiscal.push_back({{"year", f.year},
                      {"fiscal_cost_usd", f.fiscal_cost_usd},
                      {"levy_revenue_usd", f.levy_revenue_usd}});
    fiscal_total += f.fiscal_cost_usd;
    levy_total += f.levy_revenue_usd;
  }
  const Scorecards& cards = result.scorecards;
  json stage_security = json::array();
  for (const StageSecurity& s : cards.security.stages) {
    stage_security.push_back({{"material", s.material},
                              {"stage", stage_name(s.stage)},
                              {"top_third_country", s.top_third_country},
                              {"top_share_last", s.top_share_last},
                              {"top_share_max", s.top_share_max},
                              {"years_in_breach", s.years_in_breach},
                              {"hhi_last", s.hhi_last},
                              {"eu_output_share_of_use", s.eu_output_share_of_use},
                              {"crma_benchmark", s.crma_benchmark}});
  }
  json area_security = json::array();
  for (const AreaSecurity& a : cards.security.areas) {
    area_security.push_back({{"material", a.material},
                             {"area", a.area},
                             {"demand_t", a.demand_t},
                             {"shortfall_t", a.shortfall_t},
                             {"worst_shortfall_share", a.worst_shortfall_share},
                             {"worst_year", a.worst_year},
                             {"physical_shortfall_t", a.physical_shortage_t},
                             {"demand_priced_out_t", a.priced_out_t},
                             {"worst_physical_shortfall_share", a.worst_physical_share},
                             {"worst_physical_year", a.worst_physical_year},
                             {"worst_priced_out_share", a.worst_priced_out_share},
                             {"days_of_cover", a.days_of_cover ? json(*a.days_of_cover) : json()}});
  }
  json recycling = json::array();
  for (const RecyclingSecurity& r : cards.security.recycling) {
    recycling.push_back({{"material", r.material},
                         {"eol_recycling_input_rate",
                          r.eol_recycling_input_rate ? json(*r.eol_recycling_input_rate) : json()},
                         {"crma_benchmark", r.crma_benchmark}});
  }
  const BusinessScorecard& b = cards.business;
  json sectors = json::array();
  for (const SectorCost& c : b.sectors) {
    sectors.push_back({{"nace_code", c.nace_code},
                       {"nace_label", c.nace_label},
                       {"material_inputs_usd", c.material_inputs_usd},
                       {"cost_change_mean_usd", c.cost_change_mean_usd},
                       {"cost_change_peak_usd", c.cost_change_peak_usd},
                       {"peak_year", c.peak_year}});
  }
  json bill = business_bill_to_json(b);
  json attribution;  // null without instruments
  if (cards.attribution) {
    const Attribution& a = *cards.attribution;
    json materials = json::array();
    for (const MaterialAttribution& m : a.materials) {
      materials.push_back(
          {{"material", m.material},
           {"physical_shortage_avoided_t", m.physical_shortage_avoided_t},
           {"top_share_change_points", m.top_share_change_points},
           {"non_chinese_capacity_added_t", m.non_chinese_capacity_added_t},
           {"fiscal_cost_usd", m.fiscal_cost_usd},
           {"cost_per_t_capacity_usd",
            m.cost_per_t_capacity_usd ? json(*m.cost_per_t_capacity_usd) : json()}});
    }
    attribution = {
        {"counterfactual", a.counterfactual},
        {"investment_attracted_usd", a.investment_attracted_usd},
        {"fiscal_cost_usd", a.fiscal_cost_usd},
        {"physical_shortage_avoided_usd", a.physical_shortage_avoided_usd},
        {"top_share_change_points", a.top_share_change_points},
        {"cost_per_point_usd", a.cost_per_point_usd ? json(*a.cost_per_point_usd) : json()},
        {"materials", std::move(materials)}};
  }
  out["scorecard"] = {{"supply_security",
                       {{"stages", std::move(stages)},
                        {"shortfall", std::move(shortfalls)},
                        {"stage_summary", std::move(stage_security)},
                        {"area_summary", std::move(area_security)},
                        {"recycling", std::move(recycling)}}},
                      {"dutch_business",
                       {{"fiscal", std::move(fiscal)},
                        {"fiscal_cost_usd_total", fiscal_total},
                        {"levy_revenue_usd_total", levy_total},
                        {"trade_year", b.trade_year},
                        {"usd_per_eur", b.usd_per_eur},
                        {"sectors", std::move(sectors)},
                        {"unallocated_inputs_usd", b.unallocated_inputs_usd},
                        {"total_cost_change_mean_usd", b.total_cost_change_mean_usd},
                        {"manufacturing_intermediate_usd", b.manufacturing_intermediate_usd},
                        {"manufacturing_accounts_year", b.manufacturing_accounts_year},
                        {"share_of_manufacturing_inputs", b.share_of_manufacturing_inputs},
                        {"club_investment_usd", b.club_investment_usd},
                        {"notes", b.notes}}}};
  out["scorecard"]["dutch_business"].update(bill);
  out["scorecard"]["attribution"] = std::move(attribution);
  json draws = json::array();
  for (const DisruptionDraw& d : result.draws) {
    draws.push_back({{"line", d.line},
                     {"material", d.material},
                     {"origin", d.origin},
                     {"draw", d.draw},
                     {"happens", d.happens},
                     {"start", d.start_year},
                     {"last", d.last_year}});
  }
  out["disruptions"] = std::move(draws);
  json projects = json::array();
  for (const ProjectOnline& p : result.projects) {
    projects.push_back({{"name", p.name},
                        {"material", p.material},
                        {"region", p.region},
                        {"stage", stage_name(p.stage)},
                        {"capacity", p.capacity_t},
                        {"unit_cost", p.unit_cost_usd_per_t},
                        {"capex_usd", p.capex_usd},
                        {"online_year", p.online_year},
                        {"origin", p.origin}});
  }
  out["projects"] = std::move(projects);
  json investments = json::array();
  for (const InvestmentDecision& d : result.investments) {
    investments.push_back({{"material", d.material},
                           {"region", d.region},
                           {"stage", stage_name(d.stage)},
                           {"decision_year", d.decision_year},
                           {"online_year", d.online_year},
                           {"capacity", d.capacity_t},
                           {"revenue", d.revenue_usd_per_t},
                           {"unit_cost", d.unit_cost_usd_per_t},
                           {"capex_usd", d.capex_usd},
                           {"npv_usd", d.npv_usd},
                           {"hurdle_rate", d.hurdle_rate},
                           {"contracted", d.contracted},
                           {"probability_loss", d.probability_loss}});
  }
  out["investments"] = std::move(investments);
  // Only a scenario with a strategic supplier has the key (summaries of the others unchanged).
  if (!result.strategic.empty()) {
    json strategic = json::array();
    for (const StrategicYear& y : result.strategic) {
      strategic.push_back({{"material", y.material},
                           {"region", y.region},
                           {"stage", stage_name(y.stage)},
                           {"year", y.year},
                           {"objective", y.objective},
                           {"action", y.chosen.action},
                           {"export_cap_share", y.chosen.export_cap_share},
                           {"cost_cut_share", y.chosen.cost_cut_share},
                           {"profit_usd", y.chosen.profit_usd},
                           {"passive_profit_usd", y.chosen.passive_profit_usd},
                           {"welfare_usd", y.chosen.welfare_usd},
                           {"passive_welfare_usd", y.chosen.passive_welfare_usd},
                           {"output_share", y.chosen.output_share},
                           {"passive_output_share", y.chosen.passive_output_share},
                           {"exports_t", y.chosen.exports_t},
                           {"passive_exports_t", y.chosen.passive_exports_t},
                           {"entrant_margin_usd_per_t", y.chosen.entrant_margin_usd_per_t},
                           {"limit_margin_usd_per_t", y.chosen.limit_margin_usd_per_t},
                           {"deters", y.chosen.deters},
                           {"clearings", y.chosen.clearings}});
    }
    out["strategic"] = std::move(strategic);
  }
  // Only a scenario with [[appraisal]] projects has the key.
  if (!result.appraisals.empty()) out["appraisals"] = appraisal_rows_json(result.appraisals);
  if (result.company) out["company"] = company_to_json(*result.company);
  out["notes"] = result.notes;
  return out.dump(2) + "\n";
}

std::string simulation_to_table(const SimulationResult& result) {
  std::string out = fmt::format("simulation {} ({}-{}, seed {}, calibrated on {})\n",
                                result.scenario_name.empty() ? "(unnamed)" : result.scenario_name,
                                result.first_year, result.last_year, result.seed, result.base_year);
  // World price: the consumption-weighted mean of the regions' processed prices.
  std::map<std::pair<std::string, int>, std::pair<double, double>> price;  // sum p*q, sum q
  for (const SeriesRow& r : result.series) {
    if (r.stage != Stage::kProcessing) continue;
    auto& [pq, q] = price[{r.material, r.year}];
    pq += r.price_usd_per_t * r.consumption_t;
    q += r.consumption_t;
  }
  std::map<std::pair<std::string, int>, const StageScore*> processing;
  for (const StageScore& s : result.stage_scores) {
    if (s.stage == Stage::kProcessing) processing[{s.material, s.year}] = &s;
  }
  std::map<std::pair<std::string, int>, const ShortfallScore*> eu;
  for (const ShortfallScore& s : result.shortfalls) {
    if (s.area == "EU27") eu[{s.material, s.year}] = &s;
  }
  out += fmt::format("{:<18} {:>5} {:>14} {:>14} {:>22} {:>8} {:>14} {:>8} {:>14}\n", "material",
                     "year", "price USD/t", "consumed t", "top processor (share)", "HHI",
                     "EU shortfall t", "EU %", "of it physical");
  for (const auto& [key, pq] : price) {
    const StageScore* s = processing[key];
    const ShortfallScore* e = eu[key];
    const std::string top =
        s ? fmt::format("{} {:.0f}%{}", s->top_third_country, 100.0 * s->top_third_country_share,
                        s->crma_breach ? " >65" : "")
          : "-";
    out += fmt::format("{:<18} {:>5} {:>14} {:>14} {:>22} {:>8.0f} {:>14} {:>8} {:>14}\n",
                       key.first, key.second,
                       format_amount(pq.second > 0.0 ? pq.first / pq.second : 0.0, "USD/t"),
                       format_amount(pq.second, "t"), top, s ? s->hhi : 0.0,
                       e ? format_amount(e->shortfall_t, "t") : "-",
                       e ? fmt::format("{:.1f}", 100.0 * e->shortfall_share) : "-",
                       e ? format_amount(e->physical_shortage_t, "t") : "-");
  }
  for (const DisruptionDraw& d : result.draws) {
    out += fmt::format("disruption (line {}) {} {}: draw {:.4f} -> {}\n", d.line, d.origin,
                       d.material, d.draw,
                       d.happens ? fmt::format("in force {}-{}", d.start_year, d.last_year)
                                 : std::string("does not happen"));
  }
  for (const ProjectOnline& p : result.projects) {
    if (p.origin == "investment") continue;  // summed below
    out += fmt::format("project {} ({}, {} {}): {} from {}\n", p.name, p.origin, p.region,
                       stage_name(p.stage), format_figure(p.capacity_t, "t/yr"), p.online_year);
  }
  std::map<std::pair<std::string, std::string>, std::pair<int, double>> built;
  for (const InvestmentDecision& d : result.investments) {
    auto& [count, capacity] = built[{d.material, stage_name(d.stage)}];
    ++count;
    capacity += d.capacity_t;
  }
  for (const auto& [key, figures] : built) {
    out += fmt::format("investment: {} {}: {} projects decided, {}\n", key.first, key.second,
                       figures.first, format_figure(figures.second, "t/yr"));
  }
  for (const StrategicYear& y : result.strategic) {
    const std::string action =
        y.chosen.action > 0.0
            ? fmt::format("caps exports at {:.1f}% of passive", 100.0 * y.chosen.export_cap_share)
        : y.chosen.action < 0.0
            ? fmt::format("sells {:.1f}% below cost", 100.0 * y.chosen.cost_cut_share)
            : std::string("stays passive");
    const std::string deterrence =
        y.objective != "limit_price" ? std::string()
        : y.chosen.deters            ? fmt::format(", entrants held to {} margin",
                                                   format_figure(y.chosen.entrant_margin_usd_per_t, "USD/t"))
                                     : fmt::format(", cannot deter (entrants' margin {} above {})",
                                                   format_figure(y.chosen.entrant_margin_usd_per_t, "USD/t"),
                                                   format_figure(y.chosen.limit_margin_usd_per_t, "USD/t"));
    out += fmt::format(
        "strategic supplier {} {} {} {} ({}): {}{}; profit {} (passive {}), share {:.1f}%\n",
        y.region, y.material, stage_name(y.stage), y.year, y.objective, action, deterrence,
        format_figure(y.chosen.profit_usd, "USD"),
        format_figure(y.chosen.passive_profit_usd, "USD"), 100.0 * y.chosen.output_share);
  }
  // [[appraisal]] projects: one line each, from its four cases (critmin/sim/investability.h).
  for (const std::string& line : appraisal_lines(result.appraisals)) out += line + "\n";
  double fiscal = 0.0, levy = 0.0;
  for (const FiscalScore& f : result.fiscal) {
    fiscal += f.fiscal_cost_usd;
    levy += f.levy_revenue_usd;
  }
  out += fmt::format("fiscal cost {}, levy revenue {} over the run\n", format_figure(fiscal, "USD"),
                     format_figure(levy, "USD"));
  if (fiscal < 0.0) {
    out += fmt::format(
        "  (a negative fiscal cost: {} net flowed back to the state: stockpiles sold stock in a "
        "disruption for more than the instruments paid out)\n",
        format_figure(-fiscal, "USD"));
  }
  std::string timing;
  for (const StageTiming& t : result.timings) {
    timing += fmt::format("{}{} {:.3f}s", timing.empty() ? "" : ", ", t.stage, t.seconds);
  }
  out += "stages: " + timing + "\n";
  out += scorecards_to_table(result.scorecards);
  if (result.company) out += company_to_table(*result.company);
  return out;
}

Status write_results_sqlite(const SimulationResult& result, const std::filesystem::path& file) {
  std::error_code error;
  std::filesystem::remove(file, error);
  if (error)
    return Status::io_error(fmt::format("{}: cannot replace: {}", file.string(), error.message()));
  Database db;
  if (Status s = db.open(file); !s.is_ok()) return s;
  const char* schema = R"sql(
BEGIN;
CREATE TABLE run (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE series (material TEXT, stage TEXT, region TEXT, year INTEGER,
  price_usd_per_t REAL, production_t REAL, consumption_t REAL, imports_t REAL, exports_t REAL,
  demand_t REAL, shortfall_t REAL, physical_shortage_t REAL, priced_out_t REAL,
  stock_release_t REAL, stock_refill_t REAL, market_stock_end_t REAL);
CREATE TABLE payments (material TEXT, year INTEGER, instrument_line INTEGER,
  instrument_type TEXT, holder TEXT, figure TEXT, value REAL, unit TEXT);
CREATE TABLE stage_scores (material TEXT, stage TEXT, year INTEGER, top_third_country TEXT,
  top_third_country_share REAL, crma_single_country_breach INTEGER, hhi REAL);
CREATE TABLE shortfalls (material TEXT, area TEXT, year INTEGER, demand_t REAL,
  shortfall_t REAL, shortfall_share REAL, physical_shortage_t REAL, priced_out_t REAL);
CREATE TABLE fiscal (year INTEGER, fiscal_cost_usd REAL, levy_revenue_usd REAL);
CREATE TABLE disruptions (line INTEGER, material TEXT, origin TEXT, draw REAL,
  happens INTEGER, start_year INTEGER, last_year INTEGER);
CREATE TABLE projects (name TEXT, material TEXT, region TEXT, stage TEXT, capacity_t REAL,
  unit_cost_usd_per_t REAL, capex_usd REAL, online_year INTEGER, origin TEXT);
CREATE TABLE stage_timings (stage TEXT, seconds REAL);
CREATE TABLE investments (material TEXT, region TEXT, stage TEXT, decision_year INTEGER,
  online_year INTEGER, capacity_t REAL, unit_cost_usd_per_t REAL, capex_usd REAL, npv_usd REAL,
  hurdle_rate REAL, contracted INTEGER, probability_loss REAL);
CREATE TABLE scorecard (card TEXT, key TEXT, label TEXT, unit TEXT, value REAL, note TEXT);
)sql";
  if (Status s = db.exec(schema); !s.is_ok()) return s;
  const std::vector<std::pair<std::string, std::string>> run = {
      {"scenario", result.scenario_name},
      {"seed", std::to_string(result.seed)},
      {"first_year", std::to_string(result.first_year)},
      {"last_year", std::to_string(result.last_year)},
      {"base_year", std::to_string(result.base_year)}};
  Status s = db.insert("INSERT INTO run VALUES (?,?)", run, [](sqlite3_stmt* st, const auto& r) {
    bind_text(st, 1, r.first);
    bind_text(st, 2, r.second);
  });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO series VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", result.series,
                [](sqlite3_stmt* st, const SeriesRow& r) {
                  bind_text(st, 1, r.material);
                  bind_text(st, 2, stage_name(r.stage));
                  bind_text(st, 3, r.region);
                  sqlite3_bind_int(st, 4, r.year);
                  int i = 5;
                  for (double v : {r.price_usd_per_t, r.production_t, r.consumption_t, r.imports_t,
                                   r.exports_t, r.demand_t, r.shortfall_t, r.physical_shortage_t,
                                   r.priced_out_t, r.stock_release_t, r.stock_refill_t,
                                   r.market_stock_end_t}) {
                    sqlite3_bind_double(st, i++, v);
                  }
                });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO payments VALUES (?,?,?,?,?,?,?,?)", result.payments,
                [](sqlite3_stmt* st, const PaymentRow& r) {
                  bind_text(st, 1, r.material);
                  sqlite3_bind_int(st, 2, r.year);
                  sqlite3_bind_int(st, 3, r.instrument_line);
                  bind_text(st, 4, r.instrument_type);
                  bind_text(st, 5, r.holder);
                  bind_text(st, 6, r.figure);
                  sqlite3_bind_double(st, 7, r.value);
                  bind_text(st, 8, r.unit);
                });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO stage_scores VALUES (?,?,?,?,?,?,?)", result.stage_scores,
                [](sqlite3_stmt* st, const StageScore& r) {
                  bind_text(st, 1, r.material);
                  bind_text(st, 2, stage_name(r.stage));
                  sqlite3_bind_int(st, 3, r.year);
                  bind_text(st, 4, r.top_third_country);
                  sqlite3_bind_double(st, 5, r.top_third_country_share);
                  sqlite3_bind_int(st, 6, r.crma_breach ? 1 : 0);
                  sqlite3_bind_double(st, 7, r.hhi);
                });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO shortfalls VALUES (?,?,?,?,?,?,?,?)", result.shortfalls,
                [](sqlite3_stmt* st, const ShortfallScore& r) {
                  bind_text(st, 1, r.material);
                  bind_text(st, 2, r.area);
                  sqlite3_bind_int(st, 3, r.year);
                  sqlite3_bind_double(st, 4, r.demand_t);
                  sqlite3_bind_double(st, 5, r.shortfall_t);
                  sqlite3_bind_double(st, 6, r.shortfall_share);
                  sqlite3_bind_double(st, 7, r.physical_shortage_t);
                  sqlite3_bind_double(st, 8, r.priced_out_t);
                });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO fiscal VALUES (?,?,?)", result.fiscal,
                [](sqlite3_stmt* st, const FiscalScore& r) {
                  sqlite3_bind_int(st, 1, r.year);
                  sqlite3_bind_double(st, 2, r.fiscal_cost_usd);
                  sqlite3_bind_double(st, 3, r.levy_revenue_usd);
                });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO disruptions VALUES (?,?,?,?,?,?,?)", result.draws,
                [](sqlite3_stmt* st, const DisruptionDraw& r) {
                  sqlite3_bind_int(st, 1, r.line);
                  bind_text(st, 2, r.material);
                  bind_text(st, 3, r.origin);
                  sqlite3_bind_double(st, 4, r.draw);
                  sqlite3_bind_int(st, 5, r.happens ? 1 : 0);
                  sqlite3_bind_int(st, 6, r.start_year);
                  sqlite3_bind_int(st, 7, r.last_year);
                });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO projects VALUES (?,?,?,?,?,?,?,?,?)", result.projects,
                [](sqlite3_stmt* st, const ProjectOnline& r) {
                  bind_text(st, 1, r.name);
                  bind_text(st, 2, r.material);
                  bind_text(st, 3, r.region);
                  bind_text(st, 4, stage_name(r.stage));
                  sqlite3_bind_double(st, 5, r.capacity_t);
                  sqlite3_bind_double(st, 6, r.unit_cost_usd_per_t);
                  sqlite3_bind_double(st, 7, r.capex_usd);
                  sqlite3_bind_int(st, 8, r.online_year);
                  bind_text(st, 9, r.origin);
                });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO investments VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", result.investments,
                [](sqlite3_stmt* st, const InvestmentDecision& r) {
                  bind_text(st, 1, r.material);
                  bind_text(st, 2, r.region);
                  bind_text(st, 3, stage_name(r.stage));
                  sqlite3_bind_int(st, 4, r.decision_year);
                  sqlite3_bind_int(st, 5, r.online_year);
                  int i = 6;
                  for (double v : {r.capacity_t, r.unit_cost_usd_per_t, r.capex_usd, r.npv_usd,
                                   r.hurdle_rate}) {
                    sqlite3_bind_double(st, i++, v);
                  }
                  sqlite3_bind_int(st, 11, r.contracted ? 1 : 0);
                  sqlite3_bind_double(st, 12, r.probability_loss);
                });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO scorecard VALUES (?,?,?,?,?,?)", scorecard_lines(result.scorecards),
                [](sqlite3_stmt* st, const ScoreLine& r) {
                  bind_text(st, 1, r.card);
                  bind_text(st, 2, r.key);
                  bind_text(st, 3, r.label);
                  bind_text(st, 4, r.unit);
                  if (r.value) {
                    sqlite3_bind_double(st, 5, *r.value);
                  } else {
                    sqlite3_bind_null(st, 5);
                  }
                  bind_text(st, 6, r.text);
                });
  CRITMIN_RETURN_IF_ERROR(s);
  s = db.insert("INSERT INTO stage_timings VALUES (?,?)", result.timings,
                [](sqlite3_stmt* st, const StageTiming& r) {
                  bind_text(st, 1, r.stage);
                  sqlite3_bind_double(st, 2, r.seconds);
                });
  CRITMIN_RETURN_IF_ERROR(s);
  return db.exec("COMMIT;");
}

}  // namespace critmin::sim
