// Joint production in fixed proportions (rare earths): a mine of a deposit type produces ore whose
// rare earth oxide (REO) content comes as a fixed basket of elements, and every element has its
// own market (a MarketModel: regions, separation = processing, demand, trade, restrictions).
//
// Units: ore is counted in tonnes of total REO content [t REO/yr]; an element's quantities and
// prices are those of its MarketModel (t of the element's contained content, USD/t). Mining costs
// are per tonne of REO [USD/t REO].
//
// The model. x[d][k] [t REO/yr] is the ore mined at mining step k of deposit d (region r(d)). In
// a region with deposits ("joint region"), element e's extraction supply is at most
// s[e][r] = sum_{d in r} a[d][e] * sum_k x[d][k]; the rest of the content is disposed of at no
// cost (free disposal: surplus cerium may stay unsold). Mining is paid once per tonne of ore.
// Welfare = sum_e (welfare of element e's market given s[e]) - mining cost. At the optimum the ore
// is worth its basket: for each mining step, marginal cost = sum_e a[d][e] * p[e][r] when the
// step is partly used (<= when idle, >= when full), where p[e][r] is the price of element e's
// content at r's extraction stage (the dual of its supply row). See docs/joint-products.md.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/market/market.h"

namespace critmin::market {

struct JointDeposit {
  std::size_t region = 0;  // index into the element models' regions
  std::string name;        // e.g. "bastnaesite", "ionic clay", for messages and results
  // Per element (JointMarketModel::elements order): share of the REO content [-], each >= 0,
  // summing to 1 (within 1e-9).
  std::vector<double> basket_share;
  // Mining supply steps [t REO/yr], cost per t REO [USD/t REO] (rising steps allowed).
  std::vector<SupplyStep> mining;
};

struct JointMarketModel {
  // One market per element, all with the same regions in the same order (names compared). In a
  // joint region (one with a deposit) an element has no extraction steps of its own: its supply
  // there is the ore's content (model other sources as a deposit with a one-element basket). Ad
  // valorem tariffs are not supported (the joint welfare would no longer be concave).
  std::vector<MarketModel> elements;
  std::vector<JointDeposit> deposits;
};

struct JointEquilibrium {
  Termination termination = Termination::kOptimal;
  std::string reason;  // why, when not optimal
  // Each element's market cleared (clear_market, same path) at the content of the ore mined, with
  // the last 1e-6 of the content offered at its joint price (so the node prices follow the joint
  // ones where the element market alone leaves them open): flows, prices and accounts. Its
  // extraction producer surplus in a joint region is the value of the content sold (the content
  // costs nothing in the element market; mining is paid below).
  std::vector<Equilibrium> elements;
  std::vector<std::vector<double>> ore_mined_t;  // per deposit, per mining step [t REO/yr]
  // Per element and region [USD/t]: the joint price of the element's content at the extraction
  // stage (the dual of its supply row; where no deposit holds the element, the element market's
  // extraction producer price). Where the element market alone leaves this price in an interval
  // (its content fully used at a kink of flat curves), this is the point of the interval that
  // prices the ore at its cost, and elements[e]'s extraction producer price follows it.
  std::vector<std::vector<double>> content_price_usd_per_t;
  // Per element and region [t/yr]: ore content of the element, and what of it was left unsold.
  std::vector<std::vector<double>> content_t;
  std::vector<std::vector<double>> disposed_t;
  std::vector<double> ore_value_usd_per_t;  // per deposit: sum_e a[d][e] * content price
  double mining_cost_usd = 0.0;
  double welfare_usd = 0.0;  // sum of the element welfares - mining cost
  // [USD/t] prices are exact for the curves to within this (the widest flat piece that holds a
  // price, over the joint solve and the element markets).
  double price_resolution_usd_per_t = 0.0;
  // kNetwork: upper bound minus best welfare found when the search stopped [USD] (>= 0 up to
  // solver noise); kLinearProgram: 0.
  double welfare_gap_usd = 0.0;
  // kLinearProgram: solves of the joint LP (adaptive refinement); kNetwork: cutting-plane
  // iterations (each clears every element market once).
  int iterations = 0;
  int market_solves = 0;  // clear_market calls
  double seconds = 0.0;
};

// Checks: at least one element; every element model valid (validate_model, with the largest ore
// content as its supply in joint regions); the same regions (names, order) in every element;
// deposits in existing regions with one share per element, each finite and >= 0, summing to 1
// within 1e-9, and valid mining steps; no own extraction steps of an element in a joint region;
// no ad valorem tariffs. kInvalidInput with one diagnostic per problem, naming where.
Status validate_joint_model(const JointMarketModel& model);

// Validates, then clears all element markets and the mining together.
// kLinearProgram: one joint LP (Clp) of all element networks and the ore columns, refined
// adaptively where curves slope (as clear_market does, to 1e-4 relative). kNetwork: a
// decomposition over the ore mined by cutting planes (Kelley's master for the bound, level steps
// for the next point), each iteration clearing every element market exactly (clear_market,
// network path); stops when the upper bound exceeds the best welfare found by at most
// kJointRelativeGap of the gross welfare scale, or after kJointMaxIterations iterations
// (termination kIterationLimit, results of the best point). Both give the same welfare (1e-4
// relative in tests, typically 1e-7) and, where they are unique, the same prices to within
// price_resolution_usd_per_t plus 1e-3 relative (the search's share); quantities agree where the
// optimum is unique. Then each element market is cleared once more at the ore mined, for the
// report. Cost: kLinearProgram a few solves of an LP of all elements; kNetwork about 10-20
// iterations of one clear_market per element. See docs/joint-products.md.
inline constexpr double kJointRelativeGap = 1e-8;
inline constexpr int kJointMaxIterations = 300;
Result<JointEquilibrium> clear_joint_market(const JointMarketModel& model,
                                            SolverPath path = SolverPath::kNetwork);

}  // namespace critmin::market
