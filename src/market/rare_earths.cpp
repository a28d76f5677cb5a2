#include "critmin/market/rare_earths.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "core/text.h"
#include "critmin/core/figures.h"

namespace critmin::market {
namespace {

// The deposit tables are 2023 figures (ree_mine_output.csv, ree_deposit_baskets.csv).
constexpr int kDepositYear = 2023;
// An element's ore content and its calibrated world output come from the same rows
// (minor_material_supply.csv sums ree_mine_output x basket); a gap above this share is noted.
constexpr double kContentMismatchShare = 5e-3;

// The material id of an element symbol: its row in ree_element_market.csv.
std::optional<std::string> material_of_symbol(const Dataset& data, const std::string& symbol) {
  for (const ReeMarketFigure& f : data.ree_element_market) {
    if (f.element == symbol && !f.material_id.empty()) return f.material_id;
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& rare_earth_symbols() {
  static const std::vector<std::string> kSymbols = {"La", "Ce", "Pr", "Nd", "Sm", "Eu", "Gd", "Tb",
                                                    "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y"};
  return kSymbols;
}

std::optional<std::size_t> rare_earth_element_index(const Dataset& data,
                                                    std::string_view material) {
  const Material* found = data.find_material(material);
  if (!found) return std::nullopt;
  const std::vector<std::string>& symbols = rare_earth_symbols();
  for (std::size_t e = 0; e < symbols.size(); ++e) {
    if (material_of_symbol(data, symbols[e]) == found->id) return e;
  }
  return std::nullopt;
}

double world_price_usd_per_t(const Equilibrium& eq) {
  double weighted = 0.0, consumed = 0.0, sum = 0.0;
  int count = 0;
  for (const NodeResult& n : eq.nodes) {
    if (n.stage != Stage::kProcessing) continue;
    weighted += n.price_usd_per_t * n.consumption_t;
    consumed += n.consumption_t;
    sum += n.price_usd_per_t;
    ++count;
  }
  if (consumed > 0.0) return weighted / consumed;
  return count > 0 ? sum / count : 0.0;
}

double mining_marginal_cost_usd_per_t(const JointDeposit& deposit,
                                      const std::vector<double>& mined_t) {
  if (deposit.mining.empty()) return 0.0;
  double cost = deposit.mining.front().unit_cost_usd_per_t;
  for (std::size_t k = 0; k < deposit.mining.size() && k < mined_t.size(); ++k) {
    const SupplyStep& step = deposit.mining[k];
    if (!(mined_t[k] > 1e-9 * step.capacity_t)) continue;
    cost = step.unit_cost_usd_per_t +
           step.cost_rise_usd_per_t * std::min(1.0, mined_t[k] / step.capacity_t);
  }
  return cost;
}

Result<CalibratedJointMarket> build_rare_earth_market(const Dataset& data, int year) {
  CalibratedJointMarket out;
  const std::vector<std::string>& symbols = rare_earth_symbols();
  out.symbols = symbols;
  const std::size_t n_elements = symbols.size();

  std::vector<std::string> ids;
  for (const std::string& symbol : symbols) {
    std::optional<std::string> id = material_of_symbol(data, symbol);
    if (!id) {
      return Status::not_found(fmt::format(
          "ree_element_market.csv maps no material id to the rare earth {}; add a row", symbol));
    }
    ids.push_back(*id);
  }
  if (data.ree_mine_output.empty() || data.ree_deposit_baskets.empty()) {
    return Status::not_found(
        "the dataset has no rare-earth mine output or deposit baskets (ree_mine_output.csv, "
        "ree_deposit_baskets.csv), so the joint rare-earth market cannot be built");
  }

  // The common regions: every region of each element's own market, and every country with at
  // least region_threshold_share of world REO mine output.
  Result<double> threshold = data.market_parameter("lree", "region_threshold_share");
  CRITMIN_RETURN_IF_ERROR(threshold);
  Result<double> restart = data.market_parameter("lree", "restart_share");
  CRITMIN_RETURN_IF_ERROR(restart);
  if (const MarketParameter* p = data.find_market_parameter("lree", "restart_share");
      p && p->is_estimate) {
    out.estimates.push_back(fmt::format("restart_share={}", format_number(p->value)));
  }
  std::set<std::string> region_set;
  for (const std::string& id : ids) {
    Result<CalibratedMarket> own = build_market(data, id, year);
    CRITMIN_RETURN_IF_ERROR(own);
    for (const Region& r : own.value().model.regions) region_set.insert(r.name);
  }
  double world_reo_t = 0.0;
  std::map<std::string, double> reo_by_country;
  for (const ReeMineOutput& m : data.ree_mine_output) {
    world_reo_t += m.reo_t;
    reo_by_country[m.iso3] += m.reo_t;
  }
  for (const auto& [iso3, reo_t] : reo_by_country) {
    if (iso3 != "ROW" && reo_t >= threshold.value() * world_reo_t) region_set.insert(iso3);
  }
  const std::vector<std::string> regions(region_set.begin(), region_set.end());

  // The element markets on those regions.
  for (std::size_t e = 0; e < n_elements; ++e) {
    Result<CalibratedMarket> market = build_market(data, ids[e], year, regions);
    CRITMIN_RETURN_IF_ERROR(market);
    out.model.elements.push_back(std::move(market.value().model));
    out.elements.push_back(std::move(market.value().info));
  }
  const std::vector<Region>& region_list = out.model.elements.front().regions;
  std::map<std::string, std::size_t> region_index;
  for (std::size_t r = 0; r < region_list.size(); ++r) region_index[region_list[r].name] = r;

  // Base-year extraction price of each element: what build_market prices its mined feed at.
  std::vector<double> extraction_price(n_elements, 0.0);
  for (std::size_t e = 0; e < n_elements; ++e) {
    Result<double> ratio = data.market_parameter(ids[e], "extraction_price_ratio");
    CRITMIN_RETURN_IF_ERROR(ratio);
    extraction_price[e] = ratio.value() * out.elements[e].base_price_usd_per_t *
                          out.model.elements[e].processing_yield;
  }

  // Baskets per deposit type, in element order.
  std::map<std::string, std::vector<double>> baskets;
  for (const ReeBasketShare& b : data.ree_deposit_baskets) {
    const auto it = std::find(symbols.begin(), symbols.end(), b.element);
    if (it == symbols.end()) {
      return Status::not_found(
          fmt::format("ree_deposit_baskets.csv row {}: element '{}' is not one of the 15 rare "
                      "earths of the joint market",
                      b.line, b.element));
    }
    auto& basket = baskets[b.deposit_type];
    basket.resize(n_elements, 0.0);
    basket[static_cast<std::size_t>(it - symbols.begin())] += b.share_of_reo;
  }
  for (auto& [type, basket] : baskets) {
    double sum = 0.0;
    for (double share : basket) sum += share;
    if (!(std::abs(sum - 1.0) <= 1e-6)) {
      return Status::invalid_input(
          fmt::format("ree_deposit_baskets.csv: the basket of {} sums to {}, not 1", type, sum));
    }
    for (double& share : basket) share /= sum;  // exactly 1 for the joint model's check
  }

  // Deposits: one per region and deposit type, summing the countries the region holds.
  std::set<std::string> eu27;
  if (auto it = data.blocs.find("EU27"); it != data.blocs.end()) {
    eu27.insert(it->second.begin(), it->second.end());
  }
  const auto region_of_country = [&](const std::string& iso3) -> std::string {
    if (region_index.contains(iso3)) return iso3;
    if (eu27.contains(iso3) && region_index.contains("EU27")) return "EU27";
    return "ROW";
  };
  std::map<std::pair<std::size_t, std::string>, std::size_t> deposit_index;
  for (const ReeMineOutput& m : data.ree_mine_output) {
    if (!(m.reo_t > 0.0)) continue;
    if (!baskets.contains(m.deposit_type)) {
      return Status::not_found(
          fmt::format("ree_mine_output.csv row {}: deposit type '{}' has no basket in "
                      "ree_deposit_baskets.csv",
                      m.line, m.deposit_type));
    }
    const std::size_t r = region_index.at(region_of_country(m.iso3));
    auto [it, inserted] = deposit_index.try_emplace({r, m.deposit_type}, out.model.deposits.size());
    if (inserted) {
      JointDeposit deposit;
      deposit.region = r;
      deposit.name = m.deposit_type;
      deposit.basket_share = baskets.at(m.deposit_type);
      out.model.deposits.push_back(std::move(deposit));
      out.deposit_base_reo_t.push_back(0.0);
      out.deposit_countries.emplace_back();
    }
    out.deposit_base_reo_t[it->second] += m.reo_t;
    out.deposit_countries[it->second].push_back(m.iso3);
    if (m.is_estimate) {
      out.estimates.push_back(
          fmt::format("ree_mine_output[{} {}]={}", m.iso3, m.deposit_type, format_number(m.reo_t)));
    }
  }

  // Mining steps: the deposit's base output at a cost rising over supply_costs.csv's range for
  // lree (else the default) and its restartable idle capacity, on the basket's value at the
  // base-year extraction prices, as build_market builds a mined stage.
  for (std::size_t d = 0; d < out.model.deposits.size(); ++d) {
    JointDeposit& deposit = out.model.deposits[d];
    double value = 0.0;
    for (std::size_t e = 0; e < n_elements; ++e) {
      value += deposit.basket_share[e] * extraction_price[e];
    }
    out.deposit_basket_value_usd_per_t.push_back(value);
    const std::string& region = region_list[deposit.region].name;
    const SupplyCost* cost = data.find_supply_cost("lree", region, Stage::kExtraction);
    if (!cost) {
      return Status::not_found(fmt::format(
          "supply_costs.csv has no row for lree {} extraction and no default (* *); add one",
          region));
    }
    if (cost->is_estimate) {
      out.estimates.push_back(fmt::format(
          "supply_costs[lree {} extraction]: utilisation {}, cost {}-{}, idle {}-{} (row {}: {} "
          "{})",
          region, format_number(cost->utilisation), format_number(cost->cost_low),
          format_number(cost->cost_high), format_number(cost->idle_cost_low),
          format_number(cost->idle_cost_high), cost->line, cost->material_id, cost->region));
    }
    const double base_t = out.deposit_base_reo_t[d];
    deposit.mining.push_back(
        {base_t, cost->cost_low * value, (cost->cost_high - cost->cost_low) * value});
    const double idle_t = restart.value() * base_t * (1.0 / cost->utilisation - 1.0);
    if (idle_t > 1e-9 * base_t) {
      deposit.mining.push_back({idle_t, cost->idle_cost_low * value,
                                (cost->idle_cost_high - cost->idle_cost_low) * value});
    }
  }

  // Every element's mined supply is the ore's content: its own extraction steps go, in every
  // region (ree_mine_output.csv counts the whole world's mine output, ROW included).
  out.ore_content_t.assign(n_elements, 0.0);
  for (std::size_t d = 0; d < out.model.deposits.size(); ++d) {
    for (std::size_t e = 0; e < n_elements; ++e) {
      out.ore_content_t[e] += out.deposit_base_reo_t[d] * out.model.deposits[d].basket_share[e];
    }
  }
  for (std::size_t e = 0; e < n_elements; ++e) {
    MarketModel& element = out.model.elements[e];
    CalibrationInfo& info = out.elements[e];
    for (Region& r : element.regions) r.extraction.clear();
    // The element's market is put on its ore content: separation, demand and commercial stocks
    // scale to it, so that base-year supply meets base-year demand at the base price. The factor
    // is 1 to rounding wherever the element's tonnage is minor_material_supply.csv's (those rows
    // sum the same ore); neodymium's build_market tonnage is LREE x share_of_group_tonnage, a
    // different source.
    const double calibrated = info.world_tonnage_t;
    const double factor = calibrated > 0.0 ? out.ore_content_t[e] / calibrated : 1.0;
    for (Region& r : element.regions) {
      r.base_demand_t *= factor;
      for (DemandStep& step : r.demand) step.quantity_t *= factor;
      for (SupplyStep& step : r.processing) step.capacity_t *= factor;
    }
    for (StockOffer& stock : element.stocks) {
      if (stock.holder != "commercial") continue;  // state reserves hold what they hold
      stock.stock_t *= factor;
      stock.target_stock_t *= factor;
      stock.working_stock_t *= factor;
      for (SupplyStep& step : stock.release) step.capacity_t *= factor;
      for (DemandStep& step : stock.refill) step.quantity_t *= factor;
    }
    info.world_tonnage_t = out.ore_content_t[e];
    info.notes.push_back(fmt::format(
        "clears jointly with the other rare earths: its mined supply is the content of the ore "
        "of ree_mine_output.csv x ree_deposit_baskets.csv, {} t in the base year, and its "
        "separation, demand and commercial stocks are scaled to it ({:+.2f}% on {} t)",
        format_amount(out.ore_content_t[e], "t"), 100.0 * (factor - 1.0),
        format_amount(calibrated, "t")));
    if (std::abs(factor - 1.0) > kContentMismatchShare) {
      const std::string own_anchor = info.anchor;
      info.anchor += fmt::format("; rescaled x{:.3f} to the ore content", factor);
      out.notes.push_back(fmt::format(
          "{}: the base-year ore holds {} t, {:+.1f}% off its own calibrated output of {} t "
          "({}); its market is scaled to the ore content",
          symbols[e], format_amount(out.ore_content_t[e], "t"), 100.0 * (factor - 1.0),
          format_amount(calibrated, "t"), own_anchor));
    }
  }

  out.notes.insert(
      out.notes.begin(),
      fmt::format("rare earths clear jointly: {} elements from {} deposit types ({} deposits in {} "
                  "regions, {} t REO mined in {})",
                  n_elements, baskets.size(), out.model.deposits.size(), region_list.size(),
                  format_amount(world_reo_t, "t"), kDepositYear));
  out.notes.push_back(
      "mining steps per deposit: base output and restartable idle capacity at the cost range of "
      "supply_costs.csv (lree, else the default) times the basket's value at the base-year "
      "extraction prices; the elements' own extraction shares (global_supply_shares.csv) are "
      "replaced by the deposits' content");
  if (year != kDepositYear) {
    out.notes.push_back(
        fmt::format("the deposit output and baskets are {} figures; the {} market is built on them",
                    kDepositYear, year));
  }
  return out;
}

bool names_ndpr(std::string_view material) { return to_lower(material) == "ndpr"; }

Result<CompositeProduct> ndpr_product(const Dataset& data, const CalibratedJointMarket& market,
                                      const JointEquilibrium& eq) {
  const JointMarketModel& model = market.model;
  const auto index_of = [&](std::string_view symbol) -> std::optional<std::size_t> {
    for (std::size_t e = 0; e < market.symbols.size(); ++e) {
      if (market.symbols[e] == symbol) return e;
    }
    return std::nullopt;
  };
  const std::optional<std::size_t> nd = index_of("Nd"), pr = index_of("Pr");
  if (!nd || !pr || *nd >= model.elements.size() || *pr >= model.elements.size() ||
      market.ore_content_t.size() != model.elements.size()) {
    return Status::not_found(
        "NdPr: the joint rare-earth market has no neodymium or praseodymium (NdPr is their sum)");
  }
  if (eq.elements.size() != model.elements.size()) {
    return Status::invalid_input(fmt::format(
        "NdPr: the joint equilibrium has {} element result(s) for {} elements (it did not clear)",
        eq.elements.size(), model.elements.size()));
  }
  const double content_t = market.ore_content_t[*nd] + market.ore_content_t[*pr];
  if (!(content_t > 0.0)) {
    return Status::not_found(
        "NdPr: the base-year rare-earth ore holds no neodymium or praseodymium "
        "(ree_mine_output.csv x ree_deposit_baskets.csv), so NdPr has no composition");
  }
  CompositeProduct product;
  product.name = "NdPr";
  product.elements = {*nd, *pr};
  product.content_share = {market.ore_content_t[*nd] / content_t,
                           market.ore_content_t[*pr] / content_t};

  // The market for the writers.
  const MarketModel& lead = model.elements[*nd];
  MarketModel& view = product.market.model;
  view.material = product.name;
  view.year = lead.year;
  view.processing_yield = lead.processing_yield;
  for (const Region& r : lead.regions) {
    Region region;
    region.name = r.name;
    region.countries = r.countries;
    view.regions.push_back(std::move(region));
  }
  CalibrationInfo& info = product.market.info;
  info.anchor = fmt::format(
      "the neodymium and praseodymium content of the joint rare-earth ore ({:.1f}% Nd, {:.1f}% Pr "
      "of {:.0f} t in the base year)",
      100.0 * product.content_share[0], 100.0 * product.content_share[1], content_t);
  info.anchor_stage = Stage::kExtraction;
  info.tonnage_year = market.elements[*nd].tonnage_year;
  info.price_is_index = false;
  std::string quality;
  for (std::size_t i = 0; i < product.elements.size(); ++i) {
    const std::size_t e = product.elements[i];
    const CalibrationInfo& element = market.elements[e];
    info.world_tonnage_t += market.ore_content_t[e];
    info.base_price_usd_per_t += product.content_share[i] * element.base_price_usd_per_t;
    info.price_is_index |= element.price_is_index;
    if (!element.data_quality.empty() && quality.find(element.data_quality) == std::string::npos) {
      quality += (quality.empty() ? "" : ", ") + market.symbols[e] + " " + element.data_quality;
    }
    for (const std::string& note : element.notes) {
      info.notes.push_back(market.symbols[e] + ": " + note);
    }
    for (const std::string& estimate : element.estimates) {
      info.estimates.push_back(market.symbols[e] + ": " + estimate);
    }
  }
  info.data_quality = quality;
  info.price_source =
      fmt::format("{:.1f}% x the Nd oxide price ({}) + {:.1f}% x the Pr oxide price ({})",
                  100.0 * product.content_share[0], market.elements[*nd].price_source,
                  100.0 * product.content_share[1], market.elements[*pr].price_source);
  for (const ReeMarketFigure& f : data.ree_element_market) {
    if (f.element == "NdPr" && f.item == "price_usd_per_kg_2023" && f.value) {
      product.observed_price_usd_per_t = *f.value * 1000.0;
      product.observed_price_basis = f.basis;
    }
  }
  info.notes.insert(
      info.notes.begin(),
      fmt::format("NdPr is the sum of the neodymium and praseodymium markets of the joint "
                  "rare-earth market: quantities and surpluses add, prices are those of a tonne "
                  "holding {:.1f}% Nd and {:.1f}% Pr (the base-year ore's ratio)",
                  100.0 * product.content_share[0], 100.0 * product.content_share[1]));
  if (product.observed_price_usd_per_t > 0.0) {
    info.notes.insert(
        info.notes.begin() + 1,
        fmt::format("observed NdPr oxide price in {}: {:.0f} USD/t ({}); the index base price "
                    "lies {:+.1f}% from it",
                    kDepositYear, product.observed_price_usd_per_t, product.observed_price_basis,
                    100.0 * (info.base_price_usd_per_t / product.observed_price_usd_per_t - 1.0)));
  }

  // The equilibrium: quantities add, prices are the composition's.
  Equilibrium& sum = product.equilibrium;
  const Equilibrium& first = eq.elements[*nd];
  sum.termination = Termination::kOptimal;
  sum.nodes = first.nodes;
  sum.accounts.assign(first.accounts.size(), RegionAccounts{});
  for (NodeResult& n : sum.nodes) {
    n.price_usd_per_t = n.producer_price_usd_per_t = 0.0;
    n.production_t = n.consumption_t = n.imports_t = n.exports_t = 0.0;
    n.stock_release_t = n.stock_refill_t = 0.0;
  }
  struct FlowKey {
    std::size_t from, to;
    Stage stage;
    bool leakage, contracted;
    bool operator<(const FlowKey& o) const {
      return std::tie(from, to, stage, leakage, contracted) <
             std::tie(o.from, o.to, o.stage, o.leakage, o.contracted);
    }
  };
  std::map<FlowKey, FlowResult> flows;
  for (std::size_t i = 0; i < product.elements.size(); ++i) {
    const Equilibrium& element = eq.elements[product.elements[i]];
    const double share = product.content_share[i];
    if (element.nodes.size() != sum.nodes.size() ||
        element.accounts.size() != sum.accounts.size()) {
      return Status::invalid_input(
          "NdPr: the neodymium and praseodymium results have different regions");
    }
    if (element.termination != Termination::kOptimal) {
      sum.termination = element.termination;
      sum.reason = market.symbols[product.elements[i]] + ": " + element.reason;
    }
    sum.welfare_usd += element.welfare_usd;
    for (std::size_t k = 0; k < sum.nodes.size(); ++k) {
      const NodeResult& from = element.nodes[k];
      NodeResult& to = sum.nodes[k];
      to.price_usd_per_t += share * from.price_usd_per_t;
      to.producer_price_usd_per_t += share * from.producer_price_usd_per_t;
      to.production_t += from.production_t;
      to.consumption_t += from.consumption_t;
      to.imports_t += from.imports_t;
      to.exports_t += from.exports_t;
      to.stock_release_t += from.stock_release_t;
      to.stock_refill_t += from.stock_refill_t;
    }
    for (std::size_t r = 0; r < sum.accounts.size(); ++r) {
      const RegionAccounts& from = element.accounts[r];
      RegionAccounts& to = sum.accounts[r];
      to.consumer_surplus_usd += from.consumer_surplus_usd;
      to.producer_surplus_usd += from.producer_surplus_usd;
      to.tariff_revenue_usd += from.tariff_revenue_usd;
      to.shortfall_t += from.shortfall_t;
      to.physical_shortage_t += from.physical_shortage_t;
      to.contract_value_usd += from.contract_value_usd;
      to.stock_surplus_usd += from.stock_surplus_usd;
    }
    for (const FlowResult& f : element.flows) {
      FlowResult& merged = flows[{f.from, f.to, f.stage, f.via_leakage, f.contracted}];
      merged.from = f.from;
      merged.to = f.to;
      merged.stage = f.stage;
      merged.via_leakage = f.via_leakage;
      merged.contracted = f.contracted;
      // Costs per tonne of the product: the tonne-weighted mean of the two elements' costs.
      merged.unit_cost_usd_per_t += f.unit_cost_usd_per_t * f.quantity_t;
      merged.tariff_usd_per_t += f.tariff_usd_per_t * f.quantity_t;
      merged.quantity_t += f.quantity_t;
    }
    SolveStatistics& s = sum.statistics;
    s.outer_iterations = std::max(s.outer_iterations, element.statistics.outer_iterations);
    s.outer_residual = std::max(s.outer_residual, element.statistics.outer_residual);
    s.seconds += element.statistics.seconds;
    s.refinement_solves += element.statistics.refinement_solves;
    s.price_resolution_usd_per_t =
        std::max(s.price_resolution_usd_per_t, element.statistics.price_resolution_usd_per_t);
  }
  for (std::size_t i = 0; i < product.elements.size(); ++i) {
    product.world_price_usd_per_t +=
        product.content_share[i] * world_price_usd_per_t(eq.elements[product.elements[i]]);
  }
  for (auto& [key, f] : flows) {
    if (f.quantity_t > 0.0) {
      f.unit_cost_usd_per_t /= f.quantity_t;
      f.tariff_usd_per_t /= f.quantity_t;
    }
    sum.flows.push_back(f);
  }
  for (std::size_t r = 0; r < view.regions.size(); ++r) {
    for (std::size_t e : product.elements) {
      view.regions[r].base_demand_t += model.elements[e].regions[r].base_demand_t;
    }
  }
  return product;
}

}  // namespace critmin::market
