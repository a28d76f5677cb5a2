#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/text.h"
#include "critmin/core/figures.h"
#include "critmin/report/joint_writers.h"
#include "critmin/report/report.h"

namespace critmin {

std::string equilibrium_to_json(const market::CalibratedMarket& market,
                                const market::Equilibrium& eq, const std::string& solver,
                                const policy::ClubOutcome* club) {
  const market::MarketModel& model = market.model;
  nlohmann::json j;
  j["material"] = model.material;
  j["year"] = model.year;
  j["status"] = market::termination_name(eq.termination);
  if (!eq.reason.empty()) j["reason"] = eq.reason;
  j["solver"] = solver;
  j["units"] = {{"price", "USD/t contained"}, {"quantity", "t/yr contained"}, {"money", "USD/yr"}};
  j["welfare_usd"] = eq.welfare_usd;
  const market::CalibrationInfo& info = market.info;
  j["calibration"] = {{"anchor", info.anchor},
                      {"world_tonnage_t", info.world_tonnage_t},
                      {"tonnage_year", info.tonnage_year},
                      {"base_price_usd_per_t", info.base_price_usd_per_t},
                      {"price_source", info.price_source},
                      {"price_is_index", info.price_is_index},
                      {"data_quality", info.data_quality.empty() ? "sources" : info.data_quality},
                      {"byproduct",
                       {{"hosts", info.byproduct.hosts},
                        {"share_of_output", info.byproduct.share_of_output},
                        {"capacity_ceiling_ratio", info.byproduct.capacity_ratio},
                        {"raise_cost_multiple", info.byproduct.raise_cost_multiple}}},
                      {"processing_yield", model.processing_yield},
                      {"notes", info.notes},
                      {"estimates", info.estimates}};
  nlohmann::json regions = nlohmann::json::array();
  for (const market::Region& r : model.regions) {
    regions.push_back({{"region", r.name}, {"countries", r.countries}});
  }
  j["regions"] = regions;
  nlohmann::json nodes = nlohmann::json::array();
  for (const market::NodeResult& n : eq.nodes) {
    nodes.push_back({{"region", model.regions[n.region].name},
                     {"stage", stage_name(n.stage)},
                     {"price", n.price_usd_per_t},
                     {"producer_price", n.producer_price_usd_per_t},
                     {"production", n.production_t},
                     {"consumption", n.consumption_t},
                     {"imports", n.imports_t},
                     {"exports", n.exports_t},
                     {"stock_release", n.stock_release_t},
                     {"stock_refill", n.stock_refill_t}});
  }
  j["nodes"] = nodes;
  nlohmann::json flows = nlohmann::json::array();
  for (const market::FlowResult& f : eq.flows) {
    flows.push_back({{"from", model.regions[f.from].name},
                     {"to", model.regions[f.to].name},
                     {"stage", stage_name(f.stage)},
                     {"quantity", f.quantity_t},
                     {"unit_cost", f.unit_cost_usd_per_t},
                     {"tariff", f.tariff_usd_per_t},
                     {"via_leakage", f.via_leakage},
                     {"contracted", f.contracted}});
  }
  j["flows"] = flows;
  nlohmann::json accounts = nlohmann::json::array();
  for (std::size_t r = 0; r < eq.accounts.size(); ++r) {
    const market::RegionAccounts& a = eq.accounts[r];
    accounts.push_back(
        {{"region", model.regions[r].name},
         {"consumer_surplus_usd", a.consumer_surplus_usd},
         {"producer_surplus_usd", a.producer_surplus_usd},
         {"tariff_revenue_usd", a.tariff_revenue_usd},
         {"contract_value_usd", a.contract_value_usd},
         {"stock_surplus_usd", a.stock_surplus_usd},
         {"shortfall_t", a.shortfall_t},
         {"physical_shortage_t", a.physical_shortage_t},
         {"demand_priced_out_t", std::max(0.0, a.shortfall_t - a.physical_shortage_t)},
         {"base_demand_t", model.regions[r].base_demand_t}});
  }
  j["accounts"] = accounts;
  j["statistics"] = {{"outer_iterations", eq.statistics.outer_iterations},
                     {"outer_residual", eq.statistics.outer_residual},
                     {"refinement_solves", eq.statistics.refinement_solves},
                     {"price_resolution_usd_per_t", eq.statistics.price_resolution_usd_per_t},
                     {"seconds", eq.statistics.seconds}};
  if (club) {
    nlohmann::json instruments = nlohmann::json::array();
    for (const policy::InstrumentReport& report : club->instruments) {
      nlohmann::json figures = nlohmann::json::object();
      nlohmann::json units = nlohmann::json::object();
      for (const policy::InstrumentFigure& f : report.figures) {
        figures[f.name] = f.value;
        units[f.name] = f.unit;
      }
      instruments.push_back({{"type", report.type},
                             {"label", report.label},
                             {"line", report.line},
                             {"figures", figures},
                             {"units", units},
                             {"notes", report.notes}});
    }
    j["club"] = {{"member_regions", club->member_regions},
                 {"outer_iterations", club->outer_iterations},
                 {"outer_residual_usd_per_t", club->outer_residual_usd_per_t},
                 {"converged", club->converged},
                 {"notes", club->notes},
                 {"instruments", instruments}};
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string equilibrium_to_table(const market::CalibratedMarket& market,
                                 const market::Equilibrium& eq, const std::string& solver,
                                 const policy::ClubOutcome* club) {
  const market::MarketModel& model = market.model;
  // A year the data do not reach is cleared on the latest data year before it (the model does
  // not project): the first line says so, not a footnote.
  const std::string year =
      market.info.tonnage_year != 0 && market.info.tonnage_year != model.year
          ? fmt::format(
                "{} (cleared on {} data: the dataset has none for {}, and clear does "
                "not project)",
                model.year, market.info.tonnage_year, model.year)
          : std::to_string(model.year);
  std::string out =
      fmt::format("{} {}: {} ({} path, {} ad valorem tariff round(s))\n", model.material, year,
                  market::termination_name(eq.termination), solver, eq.statistics.outer_iterations);
  if (!eq.reason.empty()) out += "reason: " + eq.reason + "\n";
  if (eq.nodes.empty()) return out;  // no equilibrium: nothing else to show
  out += fmt::format("quantities on: {}\nbase price: {} ({})\n", market.info.anchor,
                     format_figure(market.info.base_price_usd_per_t, "USD/t"),
                     market.info.price_source);
  if (!market.info.data_quality.empty()) {
    out += fmt::format(
        "data quality: {} (tonnage or price is a documented estimate of "
        "data/estimates/minor_material_supply.csv; read the figures with that in mind)\n",
        market.info.data_quality);
  }
  if (market.info.byproduct.capacity_ratio > 0.0) {
    std::string hosts;
    for (const std::string& h : market.info.byproduct.hosts) {
      hosts += (hosts.empty() ? "" : ", ") + h;
    }
    out += fmt::format(
        "a by-product of {}: mined capacity can reach at most {}x base output (best recovery at "
        "the hosts)\n",
        hosts, format_number(market.info.byproduct.capacity_ratio));
  }
  out += "\n";
  out += fmt::format("{:<6} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>12}\n", "region",
                     "ext price", "ext prod t", "proc price", "proc prod t", "consumption t",
                     "shortfall t", "share prod %");
  double total_processing = 0.0;
  for (const market::NodeResult& n : eq.nodes) {
    if (n.stage == Stage::kProcessing) total_processing += n.production_t;
  }
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    const market::NodeResult& e = eq.node(r, Stage::kExtraction);
    const market::NodeResult& p = eq.node(r, Stage::kProcessing);
    out += fmt::format(
        "{:<6} {:>14} {:>14} {:>14} {:>14} {:>14} {:>14} {:>12.1f}\n", model.regions[r].name,
        format_amount(e.price_usd_per_t, "USD/t"), format_amount(e.production_t, "t"),
        format_amount(p.price_usd_per_t, "USD/t"), format_amount(p.production_t, "t"),
        format_amount(p.consumption_t, "t"), format_amount(eq.accounts[r].shortfall_t, "t"),
        total_processing > 0 ? 100.0 * p.production_t / total_processing : 0.0);
  }
  out += fmt::format(
      "\nwelfare {}. Prices in USD per t of contained content; "
      "quantities in t/yr.\nLargest flows:\n",
      format_figure(eq.welfare_usd, "USD/yr"));
  std::vector<market::FlowResult> flows = eq.flows;
  std::sort(flows.begin(), flows.end(),
            [](const auto& a, const auto& b) { return a.quantity_t > b.quantity_t; });
  for (std::size_t i = 0; i < flows.size() && i < 10; ++i) {
    const market::FlowResult& f = flows[i];
    out +=
        fmt::format("  {:<6} -> {:<6} {:<10} {:>14} t{}\n", model.regions[f.from].name,
                    model.regions[f.to].name, stage_name(f.stage), format_amount(f.quantity_t, "t"),
                    f.via_leakage  ? "  (via third countries)"
                    : f.contracted ? "  (contracted)"
                                   : "");
  }
  if (!market.info.notes.empty()) {
    out += "\nnotes:\n";
    for (const std::string& note : market.info.notes) out += "  - " + note + "\n";
  }
  if (club) {
    std::string members;
    for (const std::string& m : club->member_regions) members += (members.empty() ? "" : ", ") + m;
    out += fmt::format(
        "\nclub regions: {}\ninstruments: {} outer round(s), {} (largest change in the last "
        "round {:.3g} USD/t)\n",
        members.empty() ? "(none)" : members, club->outer_iterations,
        club->converged ? "converged" : "NOT converged", club->outer_residual_usd_per_t);
    for (const policy::InstrumentReport& report : club->instruments) {
      out += fmt::format("  {} (line {})\n", report.label, report.line);
      // Each figure under its label from the output table (critmin/core/figures.h), in its unit.
      for (const policy::InstrumentFigure& f : report.figures) {
        out +=
            fmt::format("    {:<40} {:>16} {}\n", figure_label_of(FigureGroup::kInstrument, f.name),
                        format_amount(f.value, f.unit), shown_unit(f.unit));
      }
      for (const std::string& note : report.notes) out += "    note: " + note + "\n";
    }
    for (const std::string& note : club->notes) out += "  note: " + note + "\n";
  }
  out += fmt::format("\n{} estimate(s) used (see --format json and data/estimates/).\n",
                     market.info.estimates.size());
  return out;
}

}  // namespace critmin

namespace critmin {
namespace {

market::CalibratedMarket element_market(const market::CalibratedJointMarket& market,
                                        std::size_t element) {
  return market::CalibratedMarket{market.model.elements[element], market.elements[element]};
}

// The "joint" object of the JSON: status, welfare, mining, deposits, elements, notes, estimates.
nlohmann::json joint_object(const market::CalibratedJointMarket& market,
                            const market::JointEquilibrium& eq) {
  const market::JointMarketModel& model = market.model;
  const std::vector<market::Region>& regions = model.elements.front().regions;
  nlohmann::json deposits = nlohmann::json::array();
  for (std::size_t d = 0; d < model.deposits.size(); ++d) {
    const market::JointDeposit& deposit = model.deposits[d];
    double mined = 0.0;
    for (double t : eq.ore_mined_t[d]) mined += t;
    deposits.push_back({{"region", regions[deposit.region].name},
                        {"deposit_type", deposit.name},
                        {"countries", market.deposit_countries[d]},
                        {"base_reo_t", market.deposit_base_reo_t[d]},
                        {"mined_reo_t", mined},
                        {"base_basket_value_usd_per_t", market.deposit_basket_value_usd_per_t[d]},
                        {"ore_value_usd_per_t", eq.ore_value_usd_per_t[d]},
                        {"marginal_mining_cost_usd_per_t",
                         market::mining_marginal_cost_usd_per_t(deposit, eq.ore_mined_t[d])}});
  }
  nlohmann::json elements = nlohmann::json::array();
  for (std::size_t e = 0; e < model.elements.size(); ++e) {
    double content = 0.0, disposed = 0.0;
    for (double t : eq.content_t[e]) content += t;
    for (double t : eq.disposed_t[e]) disposed += t;
    elements.push_back({{"element", market.symbols[e]},
                        {"material", model.elements[e].material},
                        {"base_price_usd_per_t", market.elements[e].base_price_usd_per_t},
                        {"price_is_index", market.elements[e].price_is_index},
                        {"world_price_usd_per_t", market::world_price_usd_per_t(eq.elements[e])},
                        {"ore_content_t", content},
                        {"disposed_t", disposed}});
  }
  return {{"note", market.notes.front()},
          {"status", market::termination_name(eq.termination)},
          {"reason", eq.reason},
          {"welfare_usd", eq.welfare_usd},
          {"mining_cost_usd", eq.mining_cost_usd},
          {"welfare_gap_usd", eq.welfare_gap_usd},
          {"price_resolution_usd_per_t", eq.price_resolution_usd_per_t},
          {"iterations", eq.iterations},
          {"market_solves", eq.market_solves},
          {"seconds", eq.seconds},
          {"units",
           {{"ore", "t REO/yr"}, {"ore_value", "USD/t REO"}, {"element_price", "USD/t oxide"}}},
          {"deposits", deposits},
          {"elements", elements},
          {"notes", market.notes},
          {"estimates", market.estimates}};
}

// The joint section of the table, after the element's or product's own table; `shown` are the
// elements already shown there, left out of the list of the others.
std::string joint_section(const market::CalibratedJointMarket& market,
                          const market::JointEquilibrium& eq, const std::vector<std::size_t>& shown,
                          const std::string& solver) {
  std::string out;
  const market::JointMarketModel& model = market.model;
  const std::vector<market::Region>& regions = model.elements.front().regions;
  out += fmt::format(
      "\n{}\njoint market: {} ({} path, {} iteration(s), {} element clear(s), {:.2f} s), welfare "
      "{}\n",
      market.notes.front(), market::termination_name(eq.termination), solver, eq.iterations,
      eq.market_solves, eq.seconds, format_figure(eq.welfare_usd, "USD/yr"));
  if (!eq.reason.empty()) out += "reason: " + eq.reason + "\n";
  out += fmt::format(
      "ore mined per deposit (t REO/yr; ore value and mining cost in USD/t REO):\n"
      "  {:<6} {:<24} {:>12} {:>12} {:>12} {:>12}\n",
      "region", "deposit type", "base t", "mined t", "ore value", "marg. cost");
  double value_total = 0.0, mined_total = 0.0;
  for (std::size_t d = 0; d < model.deposits.size(); ++d) {
    const market::JointDeposit& deposit = model.deposits[d];
    double mined = 0.0;
    for (double t : eq.ore_mined_t[d]) mined += t;
    mined_total += mined;
    value_total += mined * eq.ore_value_usd_per_t[d];
    out += fmt::format(
        "  {:<6} {:<24} {:>12} {:>12} {:>12} {:>12}\n", regions[deposit.region].name, deposit.name,
        format_amount(market.deposit_base_reo_t[d], "t"), format_amount(mined, "t"),
        format_amount(eq.ore_value_usd_per_t[d], "USD/t"),
        format_amount(market::mining_marginal_cost_usd_per_t(deposit, eq.ore_mined_t[d]), "USD/t"));
  }
  out += fmt::format(
      "  (ore value above the marginal cost: the deposit's step is full; its next step, the idle "
      "capacity, costs more)\n");
  out += fmt::format("  ore mined {} t REO worth {} at its content prices; mining cost {}\n",
                     format_amount(mined_total, "t"), format_figure(value_total, "USD/yr"),
                     format_figure(eq.mining_cost_usd, "USD/yr"));
  out += "other rare earths (world price, USD/t oxide; base-year price):\n";
  for (std::size_t e = 0; e < model.elements.size(); ++e) {
    if (std::find(shown.begin(), shown.end(), e) != shown.end()) continue;
    const double base = market.elements[e].base_price_usd_per_t;
    const double price = market::world_price_usd_per_t(eq.elements[e]);
    out += fmt::format("  {:<3} {:<13} {:>12} (base {}{}, {:+.1f}%)\n", market.symbols[e],
                       model.elements[e].material, format_amount(price, "USD/t"),
                       format_amount(base, "USD/t"),
                       market.elements[e].price_is_index ? ", an index" : "",
                       base > 0.0 ? 100.0 * (price / base - 1.0) : 0.0);
  }
  if (market.notes.size() > 1) {
    out += "joint notes:\n";
    for (std::size_t i = 1; i < market.notes.size(); ++i) out += "  - " + market.notes[i] + "\n";
  }
  out += fmt::format("{} joint estimate(s) used (see --format json).\n", market.estimates.size());
  return out;
}

}  // namespace

std::string joint_equilibrium_to_json(const market::CalibratedJointMarket& market,
                                      const market::JointEquilibrium& eq, std::size_t element,
                                      const std::string& solver) {
  nlohmann::json j = nlohmann::json::parse(
      equilibrium_to_json(element_market(market, element), eq.elements[element], solver));
  j["joint"] = joint_object(market, eq);
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string joint_equilibrium_to_table(const market::CalibratedJointMarket& market,
                                       const market::JointEquilibrium& eq, std::size_t element,
                                       const std::string& solver) {
  return equilibrium_to_table(element_market(market, element), eq.elements[element], solver) +
         joint_section(market, eq, {element}, solver);
}

std::string joint_product_to_json(const market::CalibratedJointMarket& market,
                                  const market::JointEquilibrium& eq,
                                  const market::CompositeProduct& product,
                                  const std::string& solver) {
  nlohmann::json j =
      nlohmann::json::parse(equilibrium_to_json(product.market, product.equilibrium, solver));
  nlohmann::json composition = nlohmann::json::array();
  for (std::size_t i = 0; i < product.elements.size(); ++i) {
    const std::size_t e = product.elements[i];
    composition.push_back({{"element", market.symbols[e]},
                           {"material", market.model.elements[e].material},
                           {"content_share", product.content_share[i]},
                           {"world_price_usd_per_t", market::world_price_usd_per_t(eq.elements[e])},
                           {"base_price_usd_per_t", market.elements[e].base_price_usd_per_t}});
  }
  j["product"] = {{"name", product.name},
                  {"composition", composition},
                  {"world_price_usd_per_t", product.world_price_usd_per_t},
                  {"base_price_usd_per_t", product.market.info.base_price_usd_per_t},
                  {"observed_base_price_usd_per_t", product.observed_price_usd_per_t},
                  {"observed_base_price_basis", product.observed_price_basis}};
  j["joint"] = joint_object(market, eq);
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string joint_product_to_table(const market::CalibratedJointMarket& market,
                                   const market::JointEquilibrium& eq,
                                   const market::CompositeProduct& product,
                                   const std::string& solver) {
  std::string out = equilibrium_to_table(product.market, product.equilibrium, solver);
  const double world = product.world_price_usd_per_t;
  const double base = product.market.info.base_price_usd_per_t;
  out += fmt::format("\n{} world price {} USD/t (base {}, {:+.1f}%); a tonne of {} holds:\n",
                     product.name, format_amount(world, "USD/t"), format_amount(base, "USD/t"),
                     base > 0.0 ? 100.0 * (world / base - 1.0) : 0.0, product.name);
  for (std::size_t i = 0; i < product.elements.size(); ++i) {
    const std::size_t e = product.elements[i];
    const double element_base = market.elements[e].base_price_usd_per_t;
    const double price = market::world_price_usd_per_t(eq.elements[e]);
    out += fmt::format("  {:<3} {:<13} {:>5.1f}%  world price {:>12} (base {}, {:+.1f}%)\n",
                       market.symbols[e], market.model.elements[e].material,
                       100.0 * product.content_share[i], format_amount(price, "USD/t"),
                       format_amount(element_base, "USD/t"),
                       element_base > 0.0 ? 100.0 * (price / element_base - 1.0) : 0.0);
  }
  return out + joint_section(market, eq, product.elements, solver);
}

}  // namespace critmin
