// `critmin clear` output for an element of the joint rare-earth market
// (critmin/market/rare_earths.h): the element's usual table or JSON (report.h), followed by the
// joint section: ore mined per deposit, ore value against mining cost, and the other elements'
// prices. The NdPr product (market::ndpr_product) prints the same way, its composition first.
#pragma once

#include <cstddef>
#include <string>

#include "critmin/market/joint_products.h"
#include "critmin/market/rare_earths.h"

namespace critmin {

// `element` indexes market.model.elements. The JSON is equilibrium_to_json's object of the element
// with a "joint" object added (status, welfare, mining, deposits, elements, notes, estimates).
std::string joint_equilibrium_to_json(const market::CalibratedJointMarket& market,
                                      const market::JointEquilibrium& eq, std::size_t element,
                                      const std::string& solver);
std::string joint_equilibrium_to_table(const market::CalibratedJointMarket& market,
                                       const market::JointEquilibrium& eq, std::size_t element,
                                       const std::string& solver);

// NdPr: the product's table or JSON (equilibrium_to_table/json of product.market and
// product.equilibrium), its composition (each element's share, world price and base price) and
// the joint section with the other 13 elements. The JSON adds a "product" object (name,
// composition, index and observed base prices) beside "joint".
std::string joint_product_to_json(const market::CalibratedJointMarket& market,
                                  const market::JointEquilibrium& eq,
                                  const market::CompositeProduct& product,
                                  const std::string& solver);
std::string joint_product_to_table(const market::CalibratedJointMarket& market,
                                   const market::JointEquilibrium& eq,
                                   const market::CompositeProduct& product,
                                   const std::string& solver);

}  // namespace critmin
