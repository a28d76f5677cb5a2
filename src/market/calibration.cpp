#include "critmin/market/calibration.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/text.h"

namespace critmin::market {
namespace {

// Demand below this multiple of the base price is not represented: no market in the data falls
// that far, and a price that did would sit on the curve's last chord.
constexpr double kLowestDemandPrice = 0.05;
// A state reserve does not act at one price: it releases more as the price climbs further above
// its trigger, and buys more as it falls further below, over this share of the trigger price (an
// estimate; without it the trigger would pin the price wherever the reserve is marginal).
constexpr double kReserveResponseSpread = 0.25;

// Looks up a market parameter: the material's own row, else the default row "*".
class Parameters {
 public:
  Parameters(const Dataset& data, const std::string& material) : data_(data), material_(material) {}

  Result<double> get(const std::string& name, std::vector<std::string>& estimates) const {
    const MarketParameter* found = data_.find_market_parameter(material_, name);
    if (!found) {
      return Status::not_found(fmt::format(
          "market_parameters.csv has no row for '{}' (neither for {} nor the default *); add one",
          name, material_));
    }
    if (found->is_estimate) estimates.push_back(fmt::format("{}={}", name, found->value));
    return found->value;
  }

 private:
  const Dataset& data_;
  std::string material_;
};

struct StageShares {
  std::map<std::string, double> by_country;  // normalised to sum 1
  bool present = false;
};

StageShares shares_of(const Dataset& data, const std::string& material, Stage stage,
                      std::vector<std::string>& notes) {
  StageShares out;
  double total = 0.0;
  for (const SupplyShare& s : data.global_supply_shares) {
    if (s.material_id != material || s.stage != stage) continue;
    out.by_country[s.iso3] += s.share;
    total += s.share;
  }
  out.present = total > 0.0;
  if (out.present && std::abs(total - 1.0) > 1e-9) {
    for (auto& [iso3, share] : out.by_country) share /= total;
    notes.push_back(fmt::format("{} shares sum to {:.3f} in the source and were normalised to 1",
                                stage_name(stage), total));
  }
  return out;
}

struct Tonnage {
  double tonnes = 0.0;
  int year = 0;
  Stage stage = Stage::kProcessing;
  std::string source;
  std::string basis;
};

// World production of a stage: the WLD row of the latest year up to `year` (or the earliest year
// after it), else the sum of the countries.
std::optional<Tonnage> tonnage_of(const Dataset& data, const std::string& material, Stage stage,
                                  int year) {
  std::map<int, std::pair<double, double>> by_year;  // year -> (world, sum of countries)
  std::map<int, std::pair<std::string, std::string>> meta;
  for (const ProductionRecord& p : data.production) {
    if (p.material_id != material || p.stage != stage) continue;
    auto& [world, sum] = by_year[p.year];
    if (p.iso3 == "WLD") {
      world = p.quantity_t;
    } else {
      sum += p.quantity_t;
    }
    meta[p.year] = {p.source, p.basis};
  }
  if (by_year.empty()) return std::nullopt;
  auto it = by_year.upper_bound(year);
  if (it != by_year.begin()) --it;  // latest year <= year, else the earliest after it
  const double tonnes = it->second.first > 0.0 ? it->second.first : it->second.second;
  if (tonnes <= 0.0) return std::nullopt;
  return Tonnage{tonnes, it->first, stage, meta[it->first].first, meta[it->first].second};
}

struct Price {
  double usd_per_t = 0.0;
  std::string source;
  int year = 0;
};

std::optional<Price> price_of(const Dataset& data, const std::string& material, int year) {
  const AnnualPrice* best = nullptr;
  for (const AnnualPrice& p : data.prices) {
    if (p.material_id != material || !p.headline || p.price_usd_per_t <= 0.0) continue;
    const bool better = !best || (p.year <= year && (best->year > year || p.year > best->year)) ||
                        (p.year > year && best->year > year && p.year < best->year);
    if (better) best = &p;
  }
  if (best) {
    return Price{best->price_usd_per_t,
                 fmt::format("{} {} {} ({})", best->source, best->series, best->year, best->basis),
                 best->year};
  }
  double sum = 0.0;
  int months = 0;
  std::string series;
  for (const MonthlyPrice& m : data.monthly_prices) {
    if (m.material_id == material && m.year == year) {
      sum += m.price_usd_per_t;
      ++months;
      series = m.series;
    }
  }
  if (months > 0) {
    return Price{sum / months, fmt::format("{}, mean of {} months of {}", series, months, year),
                 year};
  }
  return std::nullopt;
}

}  // namespace

ByproductBound byproduct_bound(const Dataset& data, std::string_view material) {
  ByproductBound bound;
  double share_sum = 0.0, ratio = 0.0, cost_weight = 0.0, cost = 0.0;
  for (const ByproductHost& h : data.byproduct_hosts) {
    if (h.byproduct_material_id != material || !(h.recovery_share > 0.0)) continue;
    bound.hosts.push_back(h.host_material_id);
    share_sum += h.share_of_output;
    const double host_ratio = h.max_recovery_share / h.recovery_share;
    ratio += h.share_of_output * host_ratio;
    // The extra output each host can give weighs its cost of raising recovery.
    const double headroom = h.share_of_output * (host_ratio - 1.0);
    cost_weight += headroom;
    cost += headroom * h.cost_of_raising_recovery;
  }
  bound.share_of_output = share_sum;
  // Only a material whose whole output comes from hosts is bounded: a primary mine can always be
  // opened for the rest.
  if (share_sum >= 1.0 - 1e-9) bound.capacity_ratio = ratio;
  if (cost_weight > 0.0) bound.raise_cost_multiple = cost / cost_weight;
  return bound;
}

namespace {

// build_market, on its own regions (imposed == nullptr) or on the imposed ones.
Result<CalibratedMarket> build_market_on(const Dataset& data, std::string_view material_name,
                                         int year, const std::vector<std::string>* imposed) {
  if (std::optional<std::vector<std::string>> members =
          data.material_group_members(material_name)) {
    // A group is several markets; say which ones instead of "unknown".
    return Status::invalid_input(fmt::format(
        "--material: '{}' is a group of {} materials ({}), not one market; clear one of them, "
        "e.g. --material {}",
        material_name, members->size(), fmt::join(*members, ", "), members->front()));
  }
  const Material* material = data.find_material(material_name);
  if (!material || material->kind != "material") {
    return Status::not_found(
        fmt::format("--material: unknown material '{}'{}; `critmin data materials` lists them",
                    material_name, data.did_you_mean_material(material_name)));
  }
  const std::string id = material->id;
  CalibratedMarket out;
  CalibrationInfo& info = out.info;
  std::vector<std::string>& estimates = info.estimates;
  MarketModel& model = out.model;
  model.material = id;
  model.year = year;

  StageShares extraction = shares_of(data, id, Stage::kExtraction, info.notes);
  StageShares processing = shares_of(data, id, Stage::kProcessing, info.notes);
  if (!extraction.present && !processing.present) {
    return Status::not_found(fmt::format(
        "{}: the dataset has no world supply shares for it, so it cannot be modelled", id));
  }
  if (!extraction.present) {
    extraction = processing;
    info.notes.push_back(
        "no extraction shares in the data: extraction is placed where processing is (the feed "
        "is assumed captive)");
  }
  if (!processing.present) {
    processing = extraction;
    info.notes.push_back(
        "no processing shares in the data: processing is placed where extraction is");
  }

  std::optional<Tonnage> tonnage = tonnage_of(data, id, Stage::kProcessing, year);
  if (!tonnage) tonnage = tonnage_of(data, id, Stage::kExtraction, year);
  if (!tonnage) {
    // A material the sources count only inside its group (neodymium inside the rare-earth oxide
    // tonnage of LREE): its own row `share_of_group_tonnage` of market_parameters.csv (an
    // estimate, never the "*" default) scales the group's tonnage.
    const MarketParameter* share = data.find_market_parameter(id, "share_of_group_tonnage");
    const Material* group = nullptr;
    for (const Material& m : data.materials) {
      if (m.kind == "group" && !material->group.empty() && m.group == material->group) group = &m;
    }
    if (share && share->material_id == id && group) {
      tonnage = tonnage_of(data, group->id, Stage::kProcessing, year);
      if (!tonnage) tonnage = tonnage_of(data, group->id, Stage::kExtraction, year);
      if (tonnage) {
        tonnage->tonnes *= share->value;
        tonnage->basis = fmt::format("{} x share_of_group_tonnage {} (estimate) for {}",
                                     tonnage->basis, format_number(share->value), id);
        info.estimates.push_back(
            fmt::format("share_of_group_tonnage={}", format_number(share->value)));
      }
    }
  }
  // The last resort: a documented estimate of world output (minor_material_supply.csv). Its
  // tonnage and price count the same product, the one the engine prices, so it anchors the
  // processing stage.
  const MinorMaterialSupply* minor = data.find_minor_supply(id);
  if (!tonnage && minor && minor->world_output_t && *minor->world_output_t > 0.0) {
    tonnage = Tonnage{*minor->world_output_t, minor->year, Stage::kProcessing,
                      "minor_material_supply.csv",
                      fmt::format("{} quality, row {}", minor->quality, minor->line)};
    info.data_quality = minor->quality;
    info.notes.push_back(
        fmt::format("world output {} t from minor_material_supply.csv row {} ({} quality{}): {}",
                    format_number(*minor->world_output_t), minor->line, minor->quality,
                    minor->is_estimate ? ", an estimate" : "", minor->basis));
    if (minor->is_estimate) {
      estimates.push_back(fmt::format("world_output_t={}", format_number(*minor->world_output_t)));
    }
  }
  if (!tonnage) {
    return Status::not_found(fmt::format(
        "{}: the dataset has no production tonnage for it (not in production.csv, and "
        "minor_material_supply.csv has no world output for it), so it cannot be modelled in "
        "tonnes; add its world output to data/estimates/minor_material_supply.csv with its basis",
        id));
  }
  info.anchor = fmt::format("{} world {} production {} ({})", tonnage->source,
                            stage_name(tonnage->stage), tonnage->year, tonnage->basis);
  info.anchor_stage = tonnage->stage;
  info.world_tonnage_t = tonnage->tonnes;
  info.tonnage_year = tonnage->year;
  if (tonnage->year != year) {
    info.notes.push_back(
        fmt::format("no {} tonnage for {}: the {} figure is used", id, year, tonnage->year));
  }

  Parameters parameters(data, id);
  const auto param = [&](const char* name) { return parameters.get(name, estimates); };
  std::map<std::string, double> p;
  for (const char* name :
       {"region_threshold_share", "processing_yield", "extraction_price_ratio",
        "demand_elasticity_short_run", "value_of_lost_use", "transport_cost_share_extraction",
        "transport_cost_share_processing", "restart_share", "commercial_stock_days",
        "commercial_release_price", "commercial_release_full_price", "commercial_max_release_share",
        "stock_rebuild_years"}) {
    Result<double> value = param(name);
    CRITMIN_RETURN_IF_ERROR(value);
    p[name] = value.value();
  }
  const double yield = p["processing_yield"];
  const double ratio = p["extraction_price_ratio"];
  if (!(ratio > 0.0 && ratio < 1.0)) {
    return Status::invalid_input(fmt::format(
        "market_parameters.csv: extraction_price_ratio {} for {} must lie in (0,1)", ratio, id));
  }
  if (p["demand_elasticity_short_run"] >= 0.0) {
    return Status::invalid_input(
        fmt::format("market_parameters.csv: demand_elasticity_short_run {} for {} must be negative",
                    p["demand_elasticity_short_run"], id));
  }
  model.processing_yield = yield;

  std::optional<Price> price = price_of(data, id, year);
  if (!price && minor && minor->price_usd_per_t && *minor->price_usd_per_t > 0.0) {
    price = Price{*minor->price_usd_per_t,
                  fmt::format("minor_material_supply.csv row {} ({} quality{})", minor->line,
                              minor->quality, minor->is_estimate ? ", an estimate" : ""),
                  minor->year};
    if (info.data_quality.empty()) info.data_quality = minor->quality;
    if (minor->is_estimate) {
      estimates.push_back(
          fmt::format("price_usd_per_t={}", format_number(*minor->price_usd_per_t)));
    }
  }
  if (price) {
    info.base_price_usd_per_t = price->usd_per_t;
    info.price_source = price->source;
    if (price->year != year) {
      info.notes.push_back(
          fmt::format("no {} price for {}: the {} price is used", id, year, price->year));
    }
  } else {
    info.base_price_usd_per_t = 1000.0;
    info.price_is_index = true;
    info.price_source = "index: no price in the data; prices are relative to 1000 USD/t";
    info.notes.push_back(info.price_source);
  }
  const double price_processed = info.base_price_usd_per_t;
  const double price_extracted = ratio * price_processed * yield;
  const double processing_margin = price_processed * (1.0 - ratio);

  // Regions: every country with at least the threshold share of a stage, EU27 as one region, the
  // demand regions of the demand split, and ROW for the rest.
  std::set<std::string> eu27;
  if (auto it = data.blocs.find("EU27"); it != data.blocs.end()) {
    eu27.insert(it->second.begin(), it->second.end());
  }
  std::vector<const DemandShare*> demand_split;
  for (const DemandShare& d : data.demand_shares) {
    if (d.material_id == id) demand_split.push_back(&d);
  }
  if (demand_split.empty()) {
    for (const DemandShare& d : data.demand_shares) {
      if (d.material_id == "*") demand_split.push_back(&d);
    }
    for (const DemandShare* d : demand_split) {
      if (d->is_estimate)
        estimates.push_back(fmt::format("demand_share[{}]={}", d->region, d->share));
    }
  }
  std::vector<std::string> region_names;
  std::map<std::string, std::size_t> region_index;
  // Imposed regions: a country is its own region when the list names it, EU27 when it is a member
  // and the list has EU27, else ROW (always a region then).
  std::set<std::string> imposed_set;
  if (imposed) {
    imposed_set.insert(imposed->begin(), imposed->end());
    imposed_set.insert("ROW");
  }
  const auto region_of_country = [&](const std::string& iso3) -> std::string {
    if (imposed) {
      if (imposed_set.contains(iso3)) return iso3;
      if (eu27.contains(iso3) && imposed_set.contains("EU27")) return "EU27";
      return "ROW";
    }
    if (eu27.contains(iso3)) return "EU27";
    const double e = extraction.by_country.contains(iso3) ? extraction.by_country[iso3] : 0.0;
    const double q = processing.by_country.contains(iso3) ? processing.by_country[iso3] : 0.0;
    if (std::max(e, q) >= p["region_threshold_share"]) return iso3;
    for (const DemandShare* d : demand_split) {
      if (d->region == iso3) return iso3;
    }
    return "ROW";
  };
  const auto add_region = [&](const std::string& name) -> std::size_t {
    auto [it, inserted] = region_index.try_emplace(name, region_names.size());
    if (inserted) region_names.push_back(name);
    return it->second;
  };
  // The region a demand figure goes to: its own, or on imposed regions the one holding it.
  const auto demand_region = [&](const DemandShare& d) -> std::string {
    if (!imposed || imposed_set.contains(d.region)) return d.region;
    return region_of_country(d.region);
  };
  std::map<std::string, std::vector<std::string>> members;
  for (const std::string& name : imposed_set) {
    add_region(name);
    if (name != "EU27" && name != "ROW" && data.find_country(name)) members[name].push_back(name);
  }
  for (const StageShares* shares : {&extraction, &processing}) {
    for (const auto& [iso3, share] : shares->by_country) {
      const std::string region = region_of_country(iso3);
      add_region(region);
      auto& list = members[region];
      if (std::find(list.begin(), list.end(), iso3) == list.end()) list.push_back(iso3);
    }
  }
  for (const DemandShare* d : demand_split) {
    add_region(demand_region(*d));
    // A demand region named by its ISO3 code holds that country even when it produces nothing.
    auto& list = members[demand_region(*d)];
    if (data.find_country(d->region) &&
        std::find(list.begin(), list.end(), d->region) == list.end()) {
      list.push_back(d->region);
    }
  }
  if (!eu27.empty()) {
    if (region_index.contains("EU27")) {
      auto& list = members["EU27"];
      list.clear();
      for (const std::string& iso3 : eu27) {
        if (!imposed_set.contains(iso3)) list.push_back(iso3);
      }
    }
  }
  // ROW holds every other country of the dataset, so that a country or bloc named by a measure
  // always falls in exactly one region.
  if (region_index.contains("ROW")) {
    std::set<std::string> placed;
    for (const auto& [region, list] : members) {
      if (region != "ROW") placed.insert(list.begin(), list.end());
    }
    auto& rest = members["ROW"];
    rest.clear();
    for (const Country& c : data.countries) {
      if (c.iso3 != "WLD" && c.iso3 != "ROW" && !placed.contains(c.iso3)) rest.push_back(c.iso3);
    }
  }
  // A stable order: by name, ROW last.
  std::sort(region_names.begin(), region_names.end(),
            [](const std::string& a, const std::string& b) {
              if ((a == "ROW") != (b == "ROW")) return b == "ROW";
              return a < b;
            });
  for (std::size_t i = 0; i < region_names.size(); ++i) region_index[region_names[i]] = i;

  const std::size_t n = region_names.size();
  model.regions.resize(n);
  info.observed_extraction_share.assign(n, 0.0);
  info.observed_processing_share.assign(n, 0.0);
  for (std::size_t r = 0; r < n; ++r) {
    model.regions[r].name = region_names[r];
    model.regions[r].countries = members[region_names[r]];
  }
  for (const auto& [iso3, share] : extraction.by_country) {
    info.observed_extraction_share[region_index[region_of_country(iso3)]] += share;
  }
  for (const auto& [iso3, share] : processing.by_country) {
    info.observed_processing_share[region_index[region_of_country(iso3)]] += share;
  }

  // Supply: each region's base-year output at each stage as one step whose cost rises from the
  // region's cheapest to its marginal tonne, and its idle capacity as a second, dearer step of
  // which only restart_share can come back within the year (supply_costs.csv).
  const double processed_total_t =
      tonnage->tonnes *
      (tonnage->stage == Stage::kProcessing ? 1.0 : yield);  // [t/yr] processed output
  const double extracted_total_t = processed_total_t / yield;
  const double restart = p["restart_share"];
  // A by-product's mined supply is tied to its hosts (byproduct_hosts.csv): its capacity can grow
  // only by recovering more of what the hosts' throughput contains, up to the best circuits'
  // recovery, so a region's idle capacity never takes it above that ceiling.
  ByproductBound bound = byproduct_bound(data, id);
  info.byproduct = bound;
  const auto supply_of = [&](const std::string& region, Stage stage, double base_t,
                             double stage_price) -> Result<std::vector<SupplyStep>> {
    std::vector<SupplyStep> steps;
    if (!(base_t > 0.0)) return steps;
    const SupplyCost* cost = data.find_supply_cost(id, region, stage);
    if (!cost) {
      return Status::not_found(
          fmt::format("supply_costs.csv has no row for {} {} {} and no default (* *); add one", id,
                      region, stage_name(stage)));
    }
    if (cost->is_estimate) {
      info.supply_estimates.push_back(fmt::format(
          "supply_costs[{} {} {}]: utilisation {}, cost {}-{}, idle {}-{} (row {}: {} {})", id,
          region, stage_name(stage), format_number(cost->utilisation),
          format_number(cost->cost_low), format_number(cost->cost_high),
          format_number(cost->idle_cost_low), format_number(cost->idle_cost_high), cost->line,
          cost->material_id, cost->region));
    }
    steps.push_back(
        {base_t, cost->cost_low * stage_price, (cost->cost_high - cost->cost_low) * stage_price});
    double idle_t = base_t * (1.0 / cost->utilisation - 1.0);
    if (stage == Stage::kExtraction && bound.capacity_ratio > 0.0) {
      idle_t = std::min(idle_t, base_t * (bound.capacity_ratio - 1.0));
    }
    if (restart * idle_t > 1e-9 * base_t) {
      steps.push_back({restart * idle_t, cost->idle_cost_low * stage_price,
                       (cost->idle_cost_high - cost->idle_cost_low) * stage_price});
    }
    return steps;
  };
  for (std::size_t r = 0; r < n; ++r) {
    Result<std::vector<SupplyStep>> mined =
        supply_of(region_names[r], Stage::kExtraction,
                  info.observed_extraction_share[r] * extracted_total_t, price_extracted);
    CRITMIN_RETURN_IF_ERROR(mined);
    Result<std::vector<SupplyStep>> processed =
        supply_of(region_names[r], Stage::kProcessing,
                  info.observed_processing_share[r] * processed_total_t, processing_margin);
    CRITMIN_RETURN_IF_ERROR(processed);
    model.regions[r].extraction = std::move(mined).value();
    model.regions[r].processing = std::move(processed).value();
  }

  // Demand: the short-run, constant-elasticity curve D(p) = D0 (p / p0)^e through the base point,
  // from the value of lost use down to kLowestDemandPrice x p0, as one curved step (solved exactly
  // to the refinement's resolution). D(value of lost use) is essential use: a flat step at that
  // price, whose unserved part is physical shortage.
  const double elasticity = p["demand_elasticity_short_run"];
  const double lost_use = p["value_of_lost_use"];
  for (const DemandShare* d : demand_split) {
    Region& region = model.regions[region_index[demand_region(*d)]];
    const double base_t = d->share * processed_total_t;
    if (!(base_t > 0.0)) continue;
    region.base_demand_t += base_t;
    const double essential_t = base_t * std::pow(lost_use, elasticity);
    const double elastic_t = base_t * std::pow(kLowestDemandPrice, elasticity) - essential_t;
    region.demand.push_back({essential_t, lost_use * price_processed, 0.0, true});
    region.demand.push_back({elastic_t, lost_use * price_processed,
                             (lost_use - kLowestDemandPrice) * price_processed, false, elasticity,
                             price_processed});
  }
  if (demand_split.front()->material_id == "*") {
    info.notes.push_back(
        "no regional demand figures for this material: the generic split (demand_shares.csv, "
        "material *) is used");
    info.generic_demand_split = true;
  }

  // Stocks: commercial inventories of each consuming region (days of its base demand), sold down
  // when the price rises above commercial_release_price and wholly at
  // commercial_release_full_price; the state reserves of state_stocks.csv, which buy below their
  // trigger and release above theirs, more as the price moves further.
  const double stock_days = p["commercial_stock_days"];
  for (std::size_t r = 0; r < n; ++r) {
    const double stock_t = stock_days / 365.0 * model.regions[r].base_demand_t;
    const double releasable_t = p["commercial_max_release_share"] * stock_t;
    if (!(releasable_t > 0.0)) continue;
    StockOffer offer;
    offer.region = r;
    offer.holder = "commercial";
    offer.stock_t = stock_t;
    offer.release.push_back(
        {releasable_t, p["commercial_release_price"] * price_processed,
         (p["commercial_release_full_price"] - p["commercial_release_price"]) * price_processed});
    offer.target_stock_t = stock_t;
    offer.working_stock_t = stock_t - releasable_t;
    offer.rebuild_years = p["stock_rebuild_years"];
    // Holders restock below the price at which they began to sell, at the midpoint between it
    // and the base price, so a year never both sells and restocks the same stock.
    offer.rebuild_price_usd_per_t = 0.5 * (1.0 + p["commercial_release_price"]) * price_processed;
    model.stocks.push_back(std::move(offer));
  }
  for (const StateStock& reserve : data.state_stocks) {
    if (reserve.material_id != id) continue;
    std::optional<std::size_t> where;
    for (std::size_t r = 0; r < n && !where; ++r) {
      const auto& countries = model.regions[r].countries;
      if (region_names[r] == reserve.region ||
          std::find(countries.begin(), countries.end(), reserve.region) != countries.end()) {
        where = r;
      }
    }
    if (!where) {
      info.notes.push_back(fmt::format("state stock {} in {} is in no region of the market",
                                       reserve.holder, reserve.region));
      continue;
    }
    StockOffer offer;
    offer.region = *where;
    offer.holder = reserve.holder;
    offer.stock_t = reserve.stock_t;
    offer.target_stock_t = reserve.stock_t;
    const double release_t = std::min(reserve.release_max_t, reserve.stock_t);
    if (release_t > 0.0) {
      offer.release.push_back(
          {release_t, reserve.release_above_price * price_processed,
           kReserveResponseSpread * reserve.release_above_price * price_processed});
    }
    if (reserve.buy_max_t > 0.0) {
      offer.refill.push_back({reserve.buy_max_t, reserve.buy_below_price * price_processed,
                              kReserveResponseSpread * reserve.buy_below_price * price_processed});
    }
    if (reserve.is_estimate) {
      estimates.push_back(fmt::format(
          "state_stocks[{} {}]: {} t, buys below {} x, releases above {} x", reserve.holder,
          reserve.region, format_number(reserve.stock_t), format_number(reserve.buy_below_price),
          format_number(reserve.release_above_price)));
    }
    if (!offer.release.empty() || !offer.refill.empty()) model.stocks.push_back(std::move(offer));
  }

  // Routes between every pair of regions at both stages.
  for (std::size_t from = 0; from < n; ++from) {
    for (std::size_t to = 0; to < n; ++to) {
      if (from == to) continue;
      model.routes.push_back(
          {from, to, Stage::kExtraction, p["transport_cost_share_extraction"] * price_extracted});
      model.routes.push_back(
          {from, to, Stage::kProcessing, p["transport_cost_share_processing"] * price_processed});
    }
  }
  return out;
}

}  // namespace

Result<CalibratedMarket> build_market(const Dataset& data, std::string_view material_name,
                                      int year) {
  return build_market_on(data, material_name, year, nullptr);
}

Result<CalibratedMarket> build_market(const Dataset& data, std::string_view material_name, int year,
                                      const std::vector<std::string>& regions) {
  return build_market_on(data, material_name, year, &regions);
}

ModelCoverage market_coverage(const Dataset& data, int year) {
  ModelCoverage coverage;
  std::set<std::string> with_shares;
  for (const SupplyShare& s : data.global_supply_shares) with_shares.insert(s.material_id);
  for (const std::string& id : with_shares) {
    Result<CalibratedMarket> market = build_market(data, id, year);
    if (market.is_ok()) {
      coverage.modelled.push_back(id);
      const CalibrationInfo& info = market.value().info;
      coverage.basis[id] = {info.anchor, info.price_source,
                            info.data_quality.empty() ? "sources" : info.data_quality,
                            info.byproduct.hosts};
    } else {
      coverage.not_modelled[id] = market.status().message();
    }
  }
  return coverage;
}

}  // namespace critmin::market

namespace critmin::market {

StockOffer carry_stock(const StockOffer& base, double level_t) {
  StockOffer offer = base;
  offer.stock_t = std::max(0.0, level_t);
  // What can be sold is the stock above the working stock, and never more than the base year's
  // release steps offered; each step keeps its prices and shrinks in proportion.
  double base_release_t = 0.0;
  for (const SupplyStep& step : base.release) base_release_t += step.capacity_t;
  const double sellable_t = std::clamp(offer.stock_t - base.working_stock_t, 0.0, base_release_t);
  const double scale = base_release_t > 0.0 ? sellable_t / base_release_t : 0.0;
  for (SupplyStep& step : offer.release) step.capacity_t *= scale;
  std::erase_if(offer.release, [](const SupplyStep& s) { return !(s.capacity_t > 0.0); });
  if (base.rebuild_years > 0.0 && offer.stock_t < base.target_stock_t) {
    offer.refill.push_back({(base.target_stock_t - offer.stock_t) / base.rebuild_years,
                            base.rebuild_price_usd_per_t, 0.0});
  }
  return offer;
}

}  // namespace critmin::market
