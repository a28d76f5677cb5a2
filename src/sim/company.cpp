// A company's own exposure in a run (critmin/sim/company.h).
#include "critmin/sim/company.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "critmin/core/figures.h"
#include "critmin/sim/simulation.h"
#include "sim/region_names.h"

namespace critmin::sim {
namespace {

// Sum of physical shortage and of demand per (material, region, year) over the processing nodes
// of the region (open node and certified twin).
struct ShortageSums {
  double physical_t = 0.0;
  double demand_t = 0.0;
};

}  // namespace

Result<CompanyExposure> compute_company_exposure(const Dataset& data,
                                                 const SimulationResult& result,
                                                 const scenario::Bom& bom) {
  CompanyExposure out;
  out.bom_file = bom.file;
  out.first_year = result.first_year;
  const std::size_t years =
      static_cast<std::size_t>(std::max(0, result.last_year - result.first_year + 1));
  out.cost_change_usd.assign(years, 0.0);
  out.physical_shortage_usd.assign(years, 0.0);

  // Each simulated material's regions, and its shortage per region and year.
  std::map<std::string, std::set<std::string>> regions_of;
  std::map<std::tuple<std::string, std::string, int>, ShortageSums> shortage;
  for (const SeriesRow& row : result.series) {
    if (row.stage != Stage::kProcessing) continue;
    const std::string region = base_region(row.region);
    regions_of[row.material].insert(region);
    ShortageSums& s = shortage[{row.material, region, row.year}];
    s.physical_t += row.physical_shortage_t;
    s.demand_t += row.demand_t;
  }
  std::map<std::string, std::map<std::pair<std::string, int>, double>> prices;  // by region

  bool needs_rate = false;
  for (const scenario::BomLine& l : bom.lines) needs_rate = needs_rate || l.spend_eur_per_yr > 0.0;
  if (needs_rate) {
    const auto rate = data.usd_per_eur(result.base_year);
    if (!rate) {
      return Status::not_found(fmt::format(
          "{}: a row gives a spend in EUR, but data/fx_rates.csv has no USD/EUR rate for {} or "
          "an earlier year; add one, or give the quantity in t/yr",
          bom.file, result.base_year));
    }
    out.usd_per_eur = *rate;
  } else if (const auto rate = data.usd_per_eur(result.base_year)) {
    out.usd_per_eur = *rate;
  }

  for (const scenario::BomLine& l : bom.lines) {
    const auto simulated = std::find(result.materials.begin(), result.materials.end(), l.material);
    if (simulated == result.materials.end()) {
      out.notes.push_back(fmt::format(
          "{}:{}: {} is not simulated by scenario {} (its materials: {}); this row is not "
          "counted: add the material to the scenario's materials to count it",
          bom.file, l.line, l.material, result.scenario_name, fmt::join(result.materials, ", ")));
      continue;
    }
    const auto base = std::find_if(result.bases.begin(), result.bases.end(),
                                   [&](const MaterialBase& b) { return b.material == l.material; });
    if (base == result.bases.end() || base->base_price_usd_per_t <= 0.0) {
      return Status::invalid_input(fmt::format(
          "the simulation result has no base price for {}; re-run the simulation", l.material));
    }
    CompanyLineExposure e;
    e.line = l.line;
    e.material = l.material;
    e.supply_country = l.supply_country;
    e.spend_eur_per_yr = l.spend_eur_per_yr;
    e.base_price_usd_per_t = base->base_price_usd_per_t;
    e.quantity_t_per_yr = l.spend_eur_per_yr > 0.0
                              ? l.spend_eur_per_yr * out.usd_per_eur / e.base_price_usd_per_t
                              : l.quantity_t_per_yr;
    const std::set<std::string>& regions = regions_of[l.material];
    e.region = "EU27";
    if (!l.supply_country.empty()) {
      if (regions.contains(l.supply_country)) {
        e.region = l.supply_country;
      } else {
        out.notes.push_back(fmt::format(
            "{}:{}: the {} market has no region {} of its own; the EU's price and physical "
            "shortage are used for this row",
            bom.file, l.line, l.material, l.supply_country));
      }
    }
    auto found = prices.find(e.region);
    if (found == prices.end()) {
      found = prices.emplace(e.region, region_prices_usd_per_t(result, e.region)).first;
    }
    const auto& region_price = found->second;
    e.cost_change_usd.assign(years, 0.0);
    e.physical_shortage_t.assign(years, 0.0);
    for (std::size_t y = 0; y < years; ++y) {
      const int year = result.first_year + static_cast<int>(y);
      if (const auto p = region_price.find({l.material, year}); p != region_price.end()) {
        e.cost_change_usd[y] = e.quantity_t_per_yr * (p->second - e.base_price_usd_per_t);
      }
      if (const auto s = shortage.find({l.material, e.region, year});
          s != shortage.end() && s->second.demand_t > 0.0) {
        e.physical_shortage_t[y] = e.quantity_t_per_yr * s->second.physical_t / s->second.demand_t;
      }
      out.cost_change_usd[y] += e.cost_change_usd[y];
      out.physical_shortage_usd[y] += e.physical_shortage_t[y] * e.base_price_usd_per_t;
      e.cost_change_mean_usd_per_yr += e.cost_change_usd[y];
      e.physical_shortage_mean_t_per_yr += e.physical_shortage_t[y];
    }
    if (years > 0) {
      e.cost_change_mean_usd_per_yr /= static_cast<double>(years);
      e.physical_shortage_mean_t_per_yr /= static_cast<double>(years);
    }
    e.physical_shortage_mean_usd_per_yr =
        e.physical_shortage_mean_t_per_yr * e.base_price_usd_per_t;
    out.lines.push_back(std::move(e));
  }

  for (std::size_t y = 0; y < years; ++y) {
    const int year = result.first_year + static_cast<int>(y);
    out.cost_change_mean_usd_per_yr += out.cost_change_usd[y];
    out.physical_shortage_mean_usd_per_yr += out.physical_shortage_usd[y];
    if (y == 0 || out.cost_change_usd[y] > out.cost_change_worst_usd_per_yr) {
      out.cost_change_worst_usd_per_yr = out.cost_change_usd[y];
      out.cost_change_worst_year = year;
    }
    if (out.physical_shortage_usd[y] > out.physical_shortage_worst_usd_per_yr) {
      out.physical_shortage_worst_usd_per_yr = out.physical_shortage_usd[y];
      out.physical_shortage_worst_year = year;
    }
  }
  if (years > 0) {
    out.cost_change_mean_usd_per_yr /= static_cast<double>(years);
    out.physical_shortage_mean_usd_per_yr /= static_cast<double>(years);
  }
  return out;
}

std::string company_to_table(const CompanyExposure& company) {
  std::string out = fmt::format("== the company's own exposure ({}) ==\n", company.bom_file);
  out += fmt::format("{:<22} {:<7} {:>10} {:>14} {:>12} {:>14}\n", "material (line)", "region",
                     "t/yr", "cost USD/yr", "short t/yr", "short USD/yr");
  for (const CompanyLineExposure& l : company.lines) {
    out += fmt::format("{:<22} {:<7} {:>10} {:>14} {:>12} {:>14}\n",
                       fmt::format("{} ({})", l.material, l.line), l.region,
                       format_amount(l.quantity_t_per_yr, "t/yr"),
                       format_amount(l.cost_change_mean_usd_per_yr, "USD/yr"),
                       format_amount(l.physical_shortage_mean_t_per_yr, "t/yr"),
                       format_amount(l.physical_shortage_mean_usd_per_yr, "USD/yr"));
  }
  out += fmt::format("cost change against base prices, mean per year {}; worst year {} ({})\n",
                     format_figure(company.cost_change_mean_usd_per_yr, "USD"),
                     format_figure(company.cost_change_worst_usd_per_yr, "USD"),
                     company.cost_change_worst_year);
  if (company.physical_shortage_worst_year == 0) {
    out += "purchases physically short: none\n";
  } else {
    out += fmt::format(
        "purchases physically short, at base prices, mean per year {}; worst year {} ({})\n",
        format_figure(company.physical_shortage_mean_usd_per_yr, "USD"),
        format_figure(company.physical_shortage_worst_usd_per_yr, "USD"),
        company.physical_shortage_worst_year);
  }
  for (const std::string& note : company.notes) out += "  " + note + "\n";
  return out;
}

}  // namespace critmin::sim
