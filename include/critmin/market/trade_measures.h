// Trade measures read from a scenario file and applied to a calibrated market: tariffs and export
// restrictions (bans and quotas, with or without leakage). The club's instruments build on this in
// a later step.
//
//   [[tariff]]
//   material = "gallium"          # optional: the measure applies to this material only
//   importer = "USA"              # region, ISO3 code or bloc (EU27, club, MSP)
//   exporter = "CHN"              # optional, default: every other region
//   stage = "processing"
//   specific_usd_per_t = 1000.0   # and/or
//   ad_valorem = 0.25
//
//   [[export_restriction]]
//   material = "gallium"
//   origin = "CHN"
//   destinations = ["USA", "EU27"]   # or ["all"]
//   stage = "processing"
//   kind = "ban"                  # or "quota" with share = 0.5 (of the base-year exports)
//   leakage = true                # restricted supply may go round through third countries
//   leakage_cost_usd_per_t = 2000.0
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/market/calibration.h"
#include "critmin/world/dataset.h"

namespace critmin::market {

struct TariffMeasure {
  int line = 0;
  std::string material;  // empty: every material
  std::string importer;
  std::string exporter;  // empty: every other region
  Stage stage = Stage::kProcessing;
  double specific_usd_per_t = 0.0;
  double ad_valorem = 0.0;
};

struct RestrictionMeasure {
  int line = 0;
  std::string material;
  std::string origin;
  std::vector<std::string> destinations;  // "all" allowed
  Stage stage = Stage::kProcessing;
  RestrictionKind kind = RestrictionKind::kBan;
  // Of the base-year exports to the destinations (see apply_trade_measures).
  double quota_share = 0.0;
  bool leakage = false;
  double leakage_cost_usd_per_t = 0.0;
};

struct TradeMeasures {
  std::string file;
  std::vector<TariffMeasure> tariffs;
  std::vector<RestrictionMeasure> restrictions;
};

// Reads the [[tariff]] and [[export_restriction]] tables of a scenario file. Unknown keys inside
// the tables, wrong types and impossible values are errors at file:line:key with a hint. Other
// top-level tables are left to their readers (policy::read_clearing_scenario checks that every
// top-level key is known).
Result<TradeMeasures> read_trade_measures(std::string_view toml_text, const std::string& file_name,
                                          const Dataset& data);

// Applies the measures that concern the market's material. A quota is a share of the base-year
// exports to its destinations: the origin's base production minus its own base use (calibration
// data), split over the destinations by their share of the other regions' base use. Fails with
// kInvalidInput (file:line) when a region, country or bloc named by a measure is not in the market,
// an origin covers several regions, or the destinations hold only the origin.
// The regions of the market a name stands for: a region name, a country (the region that holds
// it, ROW for a country without its own region), a bloc (every region whose countries are all
// members), "all", or "non-BLOC" (the regions not in the bloc). nullopt when the name is none of
// these.
std::optional<std::set<std::size_t>> resolve_market_regions(const std::string& name,
                                                            const Dataset& data,
                                                            const MarketModel& model);

Status apply_trade_measures(const TradeMeasures& measures, const Dataset& data,
                            CalibratedMarket& market);

}  // namespace critmin::market
