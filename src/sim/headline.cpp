// Headline figures of a run (critmin/sim/headline.h). Called once per run of an ensemble, so it
// walks each table of the result once and looks materials up by position, not through string maps.
#include "critmin/sim/headline.h"

#include <algorithm>
#include <limits>

namespace critmin::sim {
namespace {

struct MaterialFigures {
  // World processing price per year: sum of price x consumption, consumption, price, regions.
  std::vector<double> weighted_price, consumption, price_sum, regions;
  bool has_eu = false;
  double eu_shortfall_share_max = 0.0;
  double eu_shortfall_t_total = 0.0;
  double eu_physical_shortage_share_max = 0.0;
  double eu_physical_shortage_t_total = 0.0;
  double eu_priced_out_t_total = 0.0;
  double top_share_last = 0.0;  // processing, last year
  int crma_breach_years = 0;
};

// The position of `material` in `materials`; the previous hit is tried first, since the result's
// tables hold each material's rows together.
std::size_t index_of(const std::vector<std::string>& materials, const std::string& material,
                     std::size_t& last) {
  if (last < materials.size() && materials[last] == material) return last;
  const auto it = std::find(materials.begin(), materials.end(), material);
  last = static_cast<std::size_t>(it - materials.begin());
  return last;
}

// The world processing price of year y: consumption-weighted over the regions, the plain mean in
// a year nobody consumes.
double world_price(const MaterialFigures& f, std::size_t y) {
  if (f.consumption[y] > 0.0) return f.weighted_price[y] / f.consumption[y];
  if (f.regions[y] > 0.0) return f.price_sum[y] / f.regions[y];
  return 0.0;
}

// Sums the processing-stage series of every material per year.
std::vector<MaterialFigures> price_figures(const SimulationResult& result, std::size_t years) {
  std::vector<MaterialFigures> per_material(result.materials.size());
  for (MaterialFigures& m : per_material) {
    m.weighted_price.assign(years, 0.0);
    m.consumption.assign(years, 0.0);
    m.price_sum.assign(years, 0.0);
    m.regions.assign(years, 0.0);
  }
  std::size_t last = 0;
  for (const SeriesRow& row : result.series) {
    if (row.stage != Stage::kProcessing) continue;
    const std::size_t m = index_of(result.materials, row.material, last);
    const auto y = static_cast<std::size_t>(row.year - result.first_year);
    if (m >= per_material.size() || y >= years) continue;
    MaterialFigures& f = per_material[m];
    f.weighted_price[y] += row.price_usd_per_t * row.consumption_t;
    f.consumption[y] += row.consumption_t;
    f.price_sum[y] += row.price_usd_per_t;
    f.regions[y] += 1.0;
  }
  return per_material;
}

}  // namespace

std::vector<YearlyPath> yearly_paths(const SimulationResult& result) {
  const std::size_t years =
      static_cast<std::size_t>(std::max(0, result.last_year - result.first_year + 1));
  const std::vector<MaterialFigures> prices = price_figures(result, years);
  const std::size_t n = result.materials.size();
  std::vector<std::vector<double>> shortfall(n), physical(n);
  std::vector<std::vector<double>> share(n, std::vector<double>(years, 0.0));
  std::size_t last = 0;
  for (const ShortfallScore& s : result.shortfalls) {
    if (s.area != "EU27") continue;
    const std::size_t m = index_of(result.materials, s.material, last);
    const auto y = static_cast<std::size_t>(s.year - result.first_year);
    if (m >= n || y >= years) continue;
    if (shortfall[m].empty()) shortfall[m].assign(years, 0.0);
    if (physical[m].empty()) physical[m].assign(years, 0.0);
    shortfall[m][y] = s.shortfall_t;
    physical[m][y] = s.physical_shortage_t;
  }
  for (const StageScore& s : result.stage_scores) {
    if (s.stage != Stage::kProcessing) continue;
    const std::size_t m = index_of(result.materials, s.material, last);
    const auto y = static_cast<std::size_t>(s.year - result.first_year);
    if (m < n && y < years) share[m][y] = s.top_third_country_share;
  }
  std::vector<YearlyPath> paths;
  paths.reserve(4 * n);
  for (std::size_t m = 0; m < n; ++m) {
    const std::string& material = result.materials[m];
    YearlyPath price{material + ".world_price", "USD/t", std::vector<double>(years, 0.0)};
    for (std::size_t y = 0; y < years; ++y) price.values[y] = world_price(prices[m], y);
    paths.push_back(std::move(price));
    if (!shortfall[m].empty()) {
      paths.push_back({material + ".eu_shortfall", "t/yr", std::move(shortfall[m])});
      paths.push_back({material + ".eu_physical_shortage", "t/yr", std::move(physical[m])});
    }
    paths.push_back({material + ".top_third_country_share", "share", std::move(share[m])});
  }
  return paths;
}

std::vector<HeadlineFigure> headline_figures(const SimulationResult& result) {
  const std::size_t years =
      static_cast<std::size_t>(std::max(0, result.last_year - result.first_year + 1));
  std::vector<MaterialFigures> per_material = price_figures(result, years);
  std::size_t last = 0;
  for (const ShortfallScore& s : result.shortfalls) {
    if (s.area != "EU27") continue;
    const std::size_t m = index_of(result.materials, s.material, last);
    if (m >= per_material.size()) continue;
    MaterialFigures& f = per_material[m];
    f.has_eu = true;
    f.eu_shortfall_share_max = std::max(f.eu_shortfall_share_max, s.shortfall_share);
    f.eu_shortfall_t_total += s.shortfall_t;
    if (s.demand_t > 0.0) {
      f.eu_physical_shortage_share_max =
          std::max(f.eu_physical_shortage_share_max, s.physical_shortage_t / s.demand_t);
    }
    f.eu_physical_shortage_t_total += s.physical_shortage_t;
    f.eu_priced_out_t_total += s.priced_out_t;
  }
  for (const StageScore& s : result.stage_scores) {
    if (s.stage != Stage::kProcessing) continue;
    const std::size_t m = index_of(result.materials, s.material, last);
    if (m >= per_material.size()) continue;
    if (s.crma_breach) ++per_material[m].crma_breach_years;
    if (s.year == result.last_year) per_material[m].top_share_last = s.top_third_country_share;
  }

  std::vector<HeadlineFigure> figures;
  figures.reserve(per_material.size() * 9 + 7);
  // The run's totals over materials: physical shortage valued at each material's base price
  // (tonnes of different materials do not add up; their value at normal prices does).
  double shortage_usd = 0.0, worst_share = 0.0, share_sum = 0.0;
  for (std::size_t m = 0; m < per_material.size(); ++m) {
    const MaterialFigures& f = per_material[m];
    const std::string& material = result.materials[m];
    double price_total = 0.0;
    double price_max = years > 0 ? -std::numeric_limits<double>::infinity() : 0.0;
    for (std::size_t y = 0; y < years; ++y) {
      const double price = world_price(f, y);
      price_total += price;
      price_max = std::max(price_max, price);
    }
    figures.push_back({material + ".world_price_mean", "USD/t",
                       years > 0 ? price_total / static_cast<double>(years) : 0.0});
    figures.push_back({material + ".world_price_max", "USD/t", price_max});
    if (f.has_eu) {
      figures.push_back({material + ".eu_shortfall_share_max", "share", f.eu_shortfall_share_max});
      figures.push_back({material + ".eu_shortfall_t_total", "t", f.eu_shortfall_t_total});
      figures.push_back({material + ".eu_physical_shortage_share_max", "share",
                         f.eu_physical_shortage_share_max});
      figures.push_back(
          {material + ".eu_physical_shortage_t_total", "t", f.eu_physical_shortage_t_total});
      figures.push_back({material + ".eu_priced_out_t_total", "t", f.eu_priced_out_t_total});
    }
    figures.push_back(
        {material + ".crma_breach_years", "years", static_cast<double>(f.crma_breach_years)});
    figures.push_back({material + ".top_third_country_share_last", "share", f.top_share_last});
    const double base_price = m < result.bases.size() && result.bases[m].material == material
                                  ? result.bases[m].base_price_usd_per_t
                                  : 0.0;
    shortage_usd += f.eu_physical_shortage_t_total * base_price;
    worst_share = std::max(worst_share, f.eu_physical_shortage_share_max);
    share_sum += f.top_share_last;
  }
  double fiscal = 0.0, levy = 0.0;
  for (const FiscalScore& f : result.fiscal) {
    fiscal += f.fiscal_cost_usd;
    levy += f.levy_revenue_usd;
  }
  figures.push_back({"eu_physical_shortage_usd_total", "USD", shortage_usd});
  figures.push_back({"eu_physical_shortage_share_worst", "share", worst_share});
  figures.push_back(
      {"top_third_country_share_mean_last", "share",
       per_material.empty() ? 0.0 : share_sum / static_cast<double>(per_material.size())});
  figures.push_back({"dutch_cost_change_usd_per_yr", "USD/yr",
                     result.scorecards.business.total_cost_change_mean_usd});
  figures.push_back({"fiscal_cost_usd_total", "USD", fiscal});
  figures.push_back({"levy_revenue_usd_total", "USD", levy});
  figures.push_back(
      {"disruptions_happened", "count",
       static_cast<double>(std::count_if(result.draws.begin(), result.draws.end(),
                                         [](const DisruptionDraw& d) { return d.happens; }))});
  if (result.company) {
    // The company's rows summed per material (a material may have several suppliers), in the
    // run's material order, then its totals.
    const CompanyExposure& company = *result.company;
    for (const std::string& material : result.materials) {
      double cost = 0.0, shortage_t = 0.0;
      bool bought = false;
      for (const CompanyLineExposure& l : company.lines) {
        if (l.material != material) continue;
        bought = true;
        cost += l.cost_change_mean_usd_per_yr;
        shortage_t += l.physical_shortage_mean_t_per_yr;
      }
      if (!bought) continue;
      figures.push_back({material + ".company_cost_change_usd_per_yr", "USD/yr", cost});
      figures.push_back({material + ".company_physical_shortage_t_per_yr", "t/yr", shortage_t});
    }
    figures.push_back(
        {"company_cost_change_usd_per_yr", "USD/yr", company.cost_change_mean_usd_per_yr});
    figures.push_back(
        {"company_cost_change_usd_worst_year", "USD/yr", company.cost_change_worst_usd_per_yr});
    figures.push_back({"company_physical_shortage_usd_per_yr", "USD/yr",
                       company.physical_shortage_mean_usd_per_yr});
    figures.push_back({"company_physical_shortage_usd_worst_year", "USD/yr",
                       company.physical_shortage_worst_usd_per_yr});
  }
  return figures;
}

}  // namespace critmin::sim
