// Shared by the two solver paths of joint production (critmin/market/joint_products.h): the
// element markets at a given ore content, and the assembly of a JointEquilibrium.
#pragma once

#include <cstddef>
#include <vector>

#include "critmin/market/joint_products.h"

namespace critmin::market::joint {

using PerElementRegion = std::vector<std::vector<double>>;  // [element][region]
using PerDepositStep = std::vector<std::vector<double>>;    // [deposit][mining step]

// Per region: whether some deposit lies there.
std::vector<bool> joint_regions(const JointMarketModel& model);

// Element e's content per region [t/yr] of the ore mined (0 outside joint regions).
PerElementRegion content_of(const JointMarketModel& model, const PerDepositStep& ore_t);

// Every mining step at full capacity [t REO/yr].
PerDepositStep full_ore(const JointMarketModel& model);

// Cost of mining `ore_t` [USD/yr], exact for rising steps.
double mining_cost_usd(const JointMarketModel& model, const PerDepositStep& ore_t);

// Element e's market with its content supply in each joint region: one extraction step of
// capacity content_t[r] at cost 0, at least kNegligibleContent of the largest content (none where
// no deposit has the element). Unused capacity is disposal.
inline constexpr double kNegligibleContent = 1e-9;
MarketModel element_with_content(const JointMarketModel& model, std::size_t element,
                                 const std::vector<double>& content_t);

// Each element market cleared at the ore's content for the report, with the content's price set
// where the element market alone leaves it open. The element market at a fixed content may have a
// whole interval of extraction prices (content fully used at a kink) and pick any point of it;
// the joint solve picks the one that prices the ore at its cost. So the last kPricedContent of the
// content is offered at the joint price (and kContentSlack more): where the joint price lies in
// the interval, the priced part is partly sold and the price is exactly the joint one, and
// the other prices follow from it; quantities move by at most that part. The accounts value what
// the priced part sold as if it cost nothing (price x tonnes added to the region's producer
// surplus and to welfare), like the rest of the content. Adds the clear_market calls to `solves`.
inline constexpr double kPricedContent = 1e-6;
inline constexpr double kContentSlack = 1e-7;
Result<std::vector<Equilibrium>> clear_elements_at_price(const JointMarketModel& model,
                                                         const PerElementRegion& content_t,
                                                         const PerElementRegion& price_usd_per_t,
                                                         SolverPath path, int* solves);

// Fills the JointEquilibrium from the ore mined, the element markets cleared at its content and
// the joint content prices (where no deposit holds the element, the element market's price).
JointEquilibrium assemble_joint(const JointMarketModel& model, PerDepositStep ore_t,
                                std::vector<Equilibrium> elements,
                                const PerElementRegion& joint_price_usd_per_t);

// The two paths; the model is valid.
Result<JointEquilibrium> clear_joint_lp(const JointMarketModel& model);
Result<JointEquilibrium> clear_joint_cutting_plane(const JointMarketModel& model);

}  // namespace critmin::market::joint
