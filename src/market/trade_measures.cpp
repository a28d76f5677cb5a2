#include "critmin/market/trade_measures.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/text.h"

namespace critmin::market {

std::optional<std::set<std::size_t>> resolve_market_regions(const std::string& name,
                                                            const Dataset& data,
                                                            const MarketModel& model) {
  std::set<std::size_t> out;
  const auto find_region = [&](const std::string& region) -> std::optional<std::size_t> {
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      if (model.regions[r].name == region) return r;
    }
    return std::nullopt;
  };
  const auto region_of_country = [&](const std::string& iso3) -> std::optional<std::size_t> {
    for (std::size_t r = 0; r < model.regions.size(); ++r) {
      const auto& c = model.regions[r].countries;
      if (std::find(c.begin(), c.end(), iso3) != c.end()) return r;
    }
    return find_region("ROW");
  };
  if (name == "all") {
    for (std::size_t r = 0; r < model.regions.size(); ++r) out.insert(r);
    return out;
  }
  if (auto r = find_region(name)) return std::set<std::size_t>{*r};
  const bool negated = name.starts_with("non-");
  const std::string bloc_name = negated ? name.substr(4) : name;
  if (data.find_country(bloc_name)) {
    if (negated) return std::nullopt;
    if (auto r = region_of_country(bloc_name)) return std::set<std::size_t>{*r};
    return std::nullopt;
  }
  Result<std::set<std::string>> members = data.resolve_bloc(bloc_name);
  if (!members.is_ok()) return std::nullopt;
  // A region belongs to a bloc when all its countries are members: EU27 is in the club, ROW (which
  // mixes members such as GBR with many non-members) is not, so "non-club" includes ROW.
  std::set<std::size_t> in_bloc;
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    const auto& countries = model.regions[r].countries;
    const bool all_members = !countries.empty() && std::all_of(countries.begin(), countries.end(),
                                                               [&](const std::string& c) {
                                                                 return members.value().contains(c);
                                                               });
    if (all_members) in_bloc.insert(r);
  }
  if (!negated) return in_bloc;
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    if (!in_bloc.contains(r)) out.insert(r);
  }
  return out;
}

namespace {

// The base-year exports of `origin` to `destinations` at a stage, from the calibration data: the
// origin's base production minus its own base use, times the destinations' share of the base use
// of every other region. (The equilibrium's own pairwise split is not unique — two suppliers at
// one price can serve either customer — so a quota must not depend on it.)
double base_exports_to(const CalibratedMarket& market, std::size_t origin, Stage stage,
                       const std::set<std::size_t>& destinations) {
  const MarketModel& model = market.model;
  const CalibrationInfo& info = market.info;
  const double yield = model.processing_yield;
  const double processed_t =
      info.world_tonnage_t * (info.anchor_stage == Stage::kProcessing ? 1.0 : yield);
  // A market built by hand (not by build_market) has no observed shares: its regions then have
  // no base-year production, and a quota on them is a quota on nothing.
  const auto share = [&](const std::vector<double>& shares, std::size_t r) {
    return r < shares.size() ? shares[r] : 0.0;
  };
  const auto production = [&](std::size_t r) {
    return stage == Stage::kProcessing
               ? share(info.observed_processing_share, r) * processed_t
               : share(info.observed_extraction_share, r) * processed_t / yield;
  };
  const auto use = [&](std::size_t r) {
    return stage == Stage::kProcessing
               ? model.regions[r].base_demand_t
               : share(info.observed_processing_share, r) * processed_t / yield;
  };
  double to_destinations = 0.0, to_others = 0.0;
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    if (r == origin) continue;
    to_others += use(r);
    if (destinations.contains(r)) to_destinations += use(r);
  }
  const double exports = std::max(0.0, production(origin) - use(origin));
  return to_others > 0.0 ? exports * to_destinations / to_others : 0.0;
}

}  // namespace

Status apply_trade_measures(const TradeMeasures& measures, const Dataset& data,
                            CalibratedMarket& market) {
  MarketModel& model = market.model;
  std::vector<Diagnostic> problems;
  const auto unknown = [&](int line, const char* key, const std::string& name) {
    problems.push_back({measures.file, line, key,
                        fmt::format("'{}'{} is not a region of the {} market, an ISO3 code or a "
                                    "bloc; regions here: {}",
                                    name, data.did_you_mean_place(name), model.material, [&] {
                                      std::string list;
                                      for (const Region& r : model.regions) {
                                        list += (list.empty() ? "" : ", ") + r.name;
                                      }
                                      return list;
                                    }())});
  };
  for (const TariffMeasure& t : measures.tariffs) {
    if (!t.material.empty() && t.material != model.material) continue;
    const auto importers = resolve_market_regions(t.importer, data, model);
    if (!importers) {
      unknown(t.line, "importer", t.importer);
      continue;
    }
    std::optional<std::set<std::size_t>> exporters;
    if (!t.exporter.empty()) {
      exporters = resolve_market_regions(t.exporter, data, model);
      if (!exporters) {
        unknown(t.line, "exporter", t.exporter);
        continue;
      }
    }
    for (Route& route : model.routes) {
      if (route.stage != t.stage || !importers->contains(route.to)) continue;
      if (exporters && !exporters->contains(route.from)) continue;
      if (importers->contains(route.from)) continue;  // no tariff inside the importing group
      route.specific_tariff_usd_per_t += t.specific_usd_per_t;
      route.ad_valorem_tariff += t.ad_valorem;
    }
  }
  for (const RestrictionMeasure& m : measures.restrictions) {
    if (!m.material.empty() && m.material != model.material) continue;
    const auto origins = resolve_market_regions(m.origin, data, model);
    if (!origins) {
      unknown(m.line, "origin", m.origin);
      continue;
    }
    if (origins->size() != 1) {
      problems.push_back({measures.file, m.line, "origin",
                          fmt::format("'{}' covers {} regions of the {} market; an export "
                                      "restriction has one origin: write one measure per region",
                                      m.origin, origins->size(), model.material)});
      continue;
    }
    const std::size_t origin = *origins->begin();
    std::set<std::size_t> destinations;
    bool ok = true;
    for (const std::string& name : m.destinations) {
      const auto regions = resolve_market_regions(name, data, model);
      if (!regions) {
        unknown(m.line, "destinations", name);
        ok = false;
        continue;
      }
      destinations.insert(regions->begin(), regions->end());
    }
    destinations.erase(origin);
    if (!ok) continue;
    if (destinations.empty()) {
      problems.push_back({measures.file, m.line, "destinations",
                          fmt::format("the destinations contain no region other than the origin "
                                      "{}; name the regions the restriction applies to",
                                      model.regions[origin].name)});
      continue;
    }
    ExportRestriction restriction;
    restriction.name = fmt::format("{}:{}", measures.file, m.line);
    restriction.origin = origin;
    restriction.stage = m.stage;
    restriction.kind = m.kind;
    restriction.destinations.assign(destinations.begin(), destinations.end());
    restriction.leakage = m.leakage;
    restriction.leakage_cost_usd_per_t = m.leakage_cost_usd_per_t;
    if (m.kind == RestrictionKind::kQuota) {
      restriction.quota_t = m.quota_share * base_exports_to(market, origin, m.stage, destinations);
    }
    model.restrictions.push_back(restriction);
  }
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: measures that cannot be applied", measures.file),
                                 std::move(problems));
  }
  // Nothing applied, nothing to check again: the calibrated market was valid when built.
  if (measures.tariffs.empty() && measures.restrictions.empty()) return Status::ok();
  return validate_model(model);
}

}  // namespace critmin::market
