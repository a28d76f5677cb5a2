#include "critmin/market/calibration.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/text.h"

namespace critmin::market {
namespace {

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

Result<CalibratedMarket> build_market(const Dataset& data, std::string_view material_name,
                                      int year) {
  const Material* material = data.find_material(material_name);
  if (!material || material->kind != "material") {
    return Status::not_found(
        fmt::format("--material: unknown material '{}'; `critmin data info` lists the materials",
                    material_name));
  }
  const std::string id = material->id;
  CalibratedMarket out;
  CalibrationInfo& info = out.info;
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
  if (!tonnage) {
    return Status::not_found(fmt::format(
        "{}: the dataset has no production tonnage for it (USGS), so it cannot be modelled in "
        "tonnes",
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
  std::vector<std::string>& estimates = info.estimates;
  const auto param = [&](const char* name) { return parameters.get(name, estimates); };
  std::map<std::string, double> p;
  for (const char* name :
       {"region_threshold_share", "processing_yield", "extraction_price_ratio", "demand_elasticity",
        "transport_cost_share_extraction", "transport_cost_share_processing", "supply_step_1_share",
        "supply_step_1_cost", "supply_step_2_share", "supply_step_2_cost", "supply_step_3_share",
        "supply_step_3_cost", "supply_step_4_share", "supply_step_4_cost"}) {
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
  if (p["demand_elasticity"] >= 0.0) {
    return Status::invalid_input(
        fmt::format("market_parameters.csv: demand_elasticity {} for {} must be negative",
                    p["demand_elasticity"], id));
  }
  model.processing_yield = yield;

  std::optional<Price> price = price_of(data, id, year);
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
  const auto region_of_country = [&](const std::string& iso3) -> std::string {
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
  std::map<std::string, std::vector<std::string>> members;
  for (const StageShares* shares : {&extraction, &processing}) {
    for (const auto& [iso3, share] : shares->by_country) {
      const std::string region = region_of_country(iso3);
      add_region(region);
      auto& list = members[region];
      if (std::find(list.begin(), list.end(), iso3) == list.end()) list.push_back(iso3);
    }
  }
  for (const DemandShare* d : demand_split) {
    add_region(d->region);
    // A demand region named by its ISO3 code holds that country even when it produces nothing.
    auto& list = members[d->region];
    if (data.find_country(d->region) &&
        std::find(list.begin(), list.end(), d->region) == list.end()) {
      list.push_back(d->region);
    }
  }
  if (!eu27.empty()) {
    if (region_index.contains("EU27")) members["EU27"].assign(eu27.begin(), eu27.end());
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

  // Supply: the base-year production of each region split into four steps around the price.
  const double processed_total_t =
      tonnage->tonnes *
      (tonnage->stage == Stage::kProcessing ? 1.0 : yield);  // [t/yr] processed output
  const double extracted_total_t = processed_total_t / yield;
  const auto steps = [&](double base_t, double stage_cost) {
    std::vector<SupplyStep> out_steps;
    for (int k = 1; k <= 4; ++k) {
      const double share = p[fmt::format("supply_step_{}_share", k)];
      const double cost = p[fmt::format("supply_step_{}_cost", k)];
      if (share > 0.0 && base_t > 0.0) out_steps.push_back({share * base_t, cost * stage_cost});
    }
    return out_steps;
  };
  for (std::size_t r = 0; r < n; ++r) {
    model.regions[r].extraction =
        steps(info.observed_extraction_share[r] * extracted_total_t, price_extracted);
    model.regions[r].processing =
        steps(info.observed_processing_share[r] * processed_total_t, processing_margin);
  }

  // Demand: a linear demand through the base point (price, regional consumption) with the
  // elasticity, cut into steps; the step at the base price spans 5% either side so that the base
  // point lies inside it.
  const double elasticity = p["demand_elasticity"];
  const std::vector<double> levels = {3.0, 2.0, 1.5, 1.25, 1.1, 1.0, 0.9, 0.75, 0.5, 0.25};
  const auto demanded = [&](double base_t, double multiple) {
    return base_t * std::max(0.0, 1.0 + elasticity * (multiple - 1.0));
  };
  for (const DemandShare* d : demand_split) {
    Region& region = model.regions[region_index[d->region]];
    const double base_t = d->share * processed_total_t;
    region.base_demand_t += base_t;
    double served = 0.0;
    for (std::size_t k = 0; k < levels.size(); ++k) {
      const double lower_bound =
          k + 1 < levels.size() ? 0.5 * (levels[k] + levels[k + 1]) : 0.5 * levels[k];
      if (levels[k] == 1.0) {
        // The step at the base price is split at the base quantity, a hair above and below the
        // price: otherwise several regions would hold a step at exactly the same price and the
        // split of consumption between them would not be unique (it would depend on the solver).
        constexpr double kSplit = 1e-4;
        const double above = base_t - served;
        const double below = demanded(base_t, lower_bound) - base_t;
        if (above > 1e-12 * base_t)
          region.demand.push_back({above, (1 + kSplit) * price_processed});
        if (below > 1e-12 * base_t)
          region.demand.push_back({below, (1 - kSplit) * price_processed});
        served += above + below;
        continue;
      }
      const double quantity = demanded(base_t, lower_bound) - served;
      if (quantity > 1e-12 * base_t) {
        region.demand.push_back({quantity, levels[k] * price_processed});
        served += quantity;
      }
    }
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

ModelCoverage market_coverage(const Dataset& data, int year) {
  ModelCoverage coverage;
  std::set<std::string> with_shares;
  for (const SupplyShare& s : data.global_supply_shares) with_shares.insert(s.material_id);
  for (const std::string& id : with_shares) {
    Result<CalibratedMarket> market = build_market(data, id, year);
    if (market.is_ok()) {
      coverage.modelled.push_back(id);
    } else {
      coverage.not_modelled[id] = market.status().message();
    }
  }
  return coverage;
}

}  // namespace critmin::market
