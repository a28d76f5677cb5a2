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

// NdPr oxide, the mixed neodymium-praseodymium oxide that separation plants sell to magnet makers
// (the product of the club's 110 USD/kg floor). The joint market clears neodymium and
// praseodymium as two element markets; the product is their sum, reported like a market of its
// own (`critmin clear --material NdPr`):
//   - a tonne of NdPr holds each element in its share of the base-year ore content
//     (content_share, from ree_mine_output.csv x ree_deposit_baskets.csv: about 79% Nd, 21% Pr);
//   - every price (per region and stage, producer prices, the world price) is the price of that
//     tonne: sum_e content_share[e] x the element's price [USD/t NdPr] (the world price from the
//     elements' world prices, each weighted by its own consumption);
//   - every quantity (production, consumption, trade, stocks, shortfalls) and every surplus is the
//     sum of the two elements', so tonnes and money balance exactly as in the element markets.
// Separation makes the two oxides in the ore's proportion wherever the ore is separated, so the
// product's quantities are those a mixed-oxide market would show; its price is an index of the
// two element prices (they may differ where one element is short and the other is not).
struct CompositeProduct {
  std::string name;                   // "NdPr"
  std::vector<std::size_t> elements;  // indices into the joint market (rare_earth_symbols order)
  std::vector<double> content_share;  // per entry of `elements`, summing to 1
  // The product as a market for the writers: material, year, regions with the summed base
  // demand, the first element's processing yield, no supply or demand steps of its own; info
  // with the summed tonnage, the index base price, the elements' notes and estimates.
  CalibratedMarket market;
  Equilibrium equilibrium;             // summed quantities and surpluses, index prices (see above)
  double world_price_usd_per_t = 0.0;  // sum_e content_share[e] x world_price_usd_per_t(element)
  // The observed base-year price of the product (ree_element_market.csv, element NdPr) and its
  // basis; 0 and empty when the data hold none.
  double observed_price_usd_per_t = 0.0;
  std::string observed_price_basis;
};

// The NdPr product of a joint rare-earth equilibrium (every element cleared). Fails with
// kNotFound when the joint market lacks neodymium or praseodymium or their base-year ore holds
// none of them, kInvalidInput when the equilibrium does not match the market.
Result<CompositeProduct> ndpr_product(const Dataset& data, const CalibratedJointMarket& market,
                                      const JointEquilibrium& eq);

// True when `material` names the NdPr product ("NdPr", any case).
bool names_ndpr(std::string_view material);

// An element's world price [USD/t]: the processing-stage prices of its regions weighted by what
// each consumes (their plain mean when nothing is consumed).
double world_price_usd_per_t(const Equilibrium& eq);

// The cost of a deposit's last tonne mined [USD/t REO] given the tonnes of each mining step
// (JointEquilibrium::ore_mined_t); the first step's first tonne when nothing is mined.
double mining_marginal_cost_usd_per_t(const JointDeposit& deposit,
                                      const std::vector<double>& mined_t);

}  // namespace critmin::market
