// The rare earths as one joint-product market (critmin/market/joint_products.h) calibrated on the
// dataset: 15 element markets (La..Lu and Y, each as build_market calibrates it, on one common
// region list) and one deposit per region and deposit type whose ore carries the REO basket of
// ree_deposit_baskets.csv, mined at the 2023 output of ree_mine_output.csv. docs/joint-products.md
// ("The real instance") explains the calibration and its limits.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/market/calibration.h"
#include "critmin/market/joint_products.h"
#include "critmin/world/dataset.h"

namespace critmin::market {

// The element symbols of the joint market, in its order: La Ce Pr Nd Sm Eu Gd Tb Dy Ho Er Tm Yb
// Lu Y (promethium has no stable isotope and no market).
const std::vector<std::string>& rare_earth_symbols();

struct CalibratedJointMarket {
  JointMarketModel model;
  std::vector<std::string> symbols;       // per element (model.elements order)
  std::vector<CalibrationInfo> elements;  // per element: build_market's calibration info
  // Per deposit (model.deposits order): base-year output [t REO/yr], the countries it sums, and
  // the basket's value at the base-year extraction prices [USD/t REO], the price its mining steps
  // are scaled on.
  std::vector<double> deposit_base_reo_t;
  std::vector<std::vector<std::string>> deposit_countries;
  std::vector<double> deposit_basket_value_usd_per_t;
  // Per element: its world content of the base-year ore [t/yr] (sum over deposits of output x
  // basket share) and its calibrated world output (CalibrationInfo::world_tonnage_t) it should
  // match.
  std::vector<double> ore_content_t;
  std::vector<std::string> notes;      // how the joint market was put together
  std::vector<std::string> estimates;  // "parameter=value" of the joint estimates used
};

// Builds the joint rare-earth market of `year` (the deposit data are for 2023; another year says
// so in the notes). Fails with kNotFound when an element cannot be calibrated or the deposit
// tables are empty or name an element or deposit type they do not define, kInvalidInput when a
// basket does not sum to 1.
Result<CalibratedJointMarket> build_rare_earth_market(const Dataset& data, int year);

// The index (rare_earth_symbols() order) of the element a material id, name or alias names, or
// nullopt when it is not one of the 15 rare earths of the joint market.
std::optional<std::size_t> rare_earth_element_index(const Dataset& data, std::string_view material);

// An element's world price [USD/t]: the processing-stage prices of its regions weighted by what
// each consumes (their plain mean when nothing is consumed).
double world_price_usd_per_t(const Equilibrium& eq);

// The cost of a deposit's last tonne mined [USD/t REO] given the tonnes of each mining step
// (JointEquilibrium::ore_mined_t); the first step's first tonne when nothing is mined.
double mining_marginal_cost_usd_per_t(const JointDeposit& deposit,
                                      const std::vector<double>& mined_t);

}  // namespace critmin::market
