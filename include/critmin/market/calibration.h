// Builds the market model of one material and year from a dataset: regions, stepped supply curves
// calibrated to the base-year production shares and price, stepped demand calibrated to base-year
// consumption, the price and an elasticity, and trade routes. Every number not in the data comes
// from data/estimates/market_parameters.csv and demand_shares.csv (overridable, each row with its
// basis); docs/market-engine.md explains the calibration.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/market/market.h"
#include "critmin/world/dataset.h"

namespace critmin::market {

// How a by-product's supply is tied to its hosts (data/estimates/byproduct_hosts.csv).
struct ByproductBound {
  std::vector<std::string> hosts;  // host material ids (or coal, natural_gas); empty: not one
  double share_of_output = 0.0;    // [0-1] of base-year output that comes from the hosts
  // Ceiling on mined capacity as a multiple of base-year output: the hosts' contained by-product
  // at the best circuits' recovery. 0 when unbounded (some output is primary).
  double capacity_ratio = 0.0;
  // Unit cost of raising recovery, as a multiple of the base price (weighted by each host's room
  // to grow); 0 when there are no hosts.
  double raise_cost_multiple = 0.0;
};

// The by-product bound of a material (empty hosts when it is not a by-product).
ByproductBound byproduct_bound(const Dataset& data, std::string_view material);

struct CalibrationInfo {
  std::string anchor;  // the tonnage series the quantities are on
  Stage anchor_stage = Stage::kProcessing;
  double world_tonnage_t = 0.0;  // [t/yr] of the anchor stage
  int tonnage_year = 0;
  double base_price_usd_per_t = 0.0;  // [USD/t] processed product
  std::string price_source;           // series and year, or "index"
  bool price_is_index = false;        // no price in the data: prices are relative to 1000 USD/t
  // Empty when tonnage and price come from the sources; else the quality grade ("high", "medium",
  // "low") of the minor_material_supply.csv row they were taken from.
  std::string data_quality;
  ByproductBound byproduct;            // hosts of a by-product, and its capacity ceiling
  std::vector<std::string> notes;      // mirrored stages, normalised shares, and the like
  std::vector<std::string> estimates;  // "parameter=value" of every estimate used
  // The supply cost rows (supply_costs.csv) each region and stage was built from, when they are
  // estimates: "supply_costs[material region stage]: ...".
  std::vector<std::string> supply_estimates;
  // True when the material has no demand split of its own and the generic one (*) is used.
  bool generic_demand_split = false;
  // Observed base-year share of each region in world production, per stage (after
  // normalisation): the target of the calibration.
  std::vector<double> observed_extraction_share;
  std::vector<double> observed_processing_share;
};

struct CalibratedMarket {
  MarketModel model;
  CalibrationInfo info;
};

// Fails with kNotFound when the material is unknown or the data hold no supply shares or no
// tonnage for it (the message says which), kInvalidInput when an estimate is out of range.
Result<CalibratedMarket> build_market(const Dataset& data, std::string_view material, int year);
// The same on imposed regions (ISO3 codes, EU27, ROW; ROW is always added): a country the list
// does not name falls in EU27 when it is a member and the list has EU27, else in ROW, and a demand
// region outside the list in the region that holds it. Every region of the list is in the model,
// in the usual order (by name, ROW last), even without supply or demand; so markets built on one
// list share their regions (the joint rare-earth market, critmin/market/rare_earths.h).
Result<CalibratedMarket> build_market(const Dataset& data, std::string_view material, int year,
                                      const std::vector<std::string>& regions);

// The ids of every material the dataset can model (supply shares and a tonnage), and for the
// others the reason why not.
struct ModelCoverage {
  std::vector<std::string> modelled;
  std::map<std::string, std::string> not_modelled;  // material id -> reason
  // Of every modelled material: what its tonnage and price rest on.
  struct Basis {
    std::string tonnage;  // CalibrationInfo::anchor
    std::string price;    // CalibrationInfo::price_source
    std::string quality;  // "sources", or the estimate's grade (high, medium, low)
    std::vector<std::string> byproduct_hosts;
  };
  std::map<std::string, Basis> basis;
};
ModelCoverage market_coverage(const Dataset& data, int year);

}  // namespace critmin::market
