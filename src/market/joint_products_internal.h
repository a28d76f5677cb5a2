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

// Fills the JointEquilibrium from the ore mined, the element markets cleared at its content and
// the joint content prices (joint regions; other regions take the element markets' prices).
JointEquilibrium assemble_joint(const JointMarketModel& model, PerDepositStep ore_t,
                                std::vector<Equilibrium> elements,
                                const PerElementRegion& joint_price_usd_per_t);

// The two paths; the model is valid.
Result<JointEquilibrium> clear_joint_lp(const JointMarketModel& model);
Result<JointEquilibrium> clear_joint_cutting_plane(const JointMarketModel& model);

}  // namespace critmin::market::joint
