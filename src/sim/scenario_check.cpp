// A simulation scenario checked against the markets of the data it will run on (the dashboard
// checks every job with it before queueing it).
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "critmin/market/calibration.h"
#include "critmin/market/trade_measures.h"
#include "critmin/sim/simulation.h"

namespace critmin::sim {

Status check_scenario_against_data(const SimulationScenario& scenario, const Dataset& data) {
  std::vector<Diagnostic> problems;
  if (scenario.first_year < 2000 || scenario.last_year > 2100) {
    problems.push_back({scenario.file, 0, "years",
                        fmt::format("{}-{} is outside 2000-2100; simulate years within them",
                                    scenario.first_year, scenario.last_year)});
  }
  std::map<std::string, market::MarketModel> models;  // by material, built on first use
  for (const Disruption& d : scenario.disruptions) {
    auto model = models.find(d.material);
    if (model == models.end()) {
      Result<market::CalibratedMarket> built =
          market::build_market(data, d.material, scenario.base_year);
      if (!built.is_ok()) {
        problems.push_back({scenario.file, d.line, "material", built.status().message()});
        continue;
      }
      model = models.emplace(d.material, std::move(built).value().model).first;
    }
    if (!market::resolve_market_regions(d.origin, data, model->second)) {
      problems.push_back(
          {scenario.file, d.line, "origin",
           fmt::format("'{}' is no region, country or bloc of the {} market; use one of those",
                       d.origin, d.material)});
    }
    for (const std::string& destination : d.destinations) {
      if (!market::resolve_market_regions(destination, data, model->second)) {
        problems.push_back(
            {scenario.file, d.line, "destinations",
             fmt::format("'{}'{} is no region, country or bloc of the {} market; use one of those",
                         destination, data.did_you_mean_place(destination), d.material)});
      }
    }
  }
  for (const ProjectSpec& p : scenario.projects) {
    const bool known = std::any_of(data.countries.begin(), data.countries.end(),
                                   [&](const Country& c) { return c.iso3 == p.country; });
    if (!known) {
      problems.push_back({scenario.file, p.line, "country",
                          fmt::format("'{}'{} is not a country of the dataset; use an ISO3 code "
                                      "of countries.csv",
                                      p.country, data.did_you_mean_place(p.country))});
    }
  }
  if (problems.empty()) return Status::ok();
  return Status::invalid_input(
      fmt::format("{}: the scenario does not fit the data ({} problem{})", scenario.file,
                  problems.size(), problems.size() == 1 ? "" : "s"),
      std::move(problems));
}

}  // namespace critmin::sim
