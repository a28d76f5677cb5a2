// The market engine: a spatial price equilibrium of one material in one year over regions and two
// stages (extraction -> processing), solved as a welfare maximum (Takayama-Judge). Prices are the
// duals of the regional balance constraints.
//
// Units: quantities in tonnes of contained content per year [t/yr]; prices and costs in USD per
// tonne of contained content of the stage's product [USD/t]; money in USD per year.
//
// Supply and demand curves are piecewise linear: a supply step is a capacity whose unit cost rises
// linearly from its first to its last tonne (a flat step when the rise is 0), a demand step a
// quantity whose willingness to pay falls linearly across it. Both solver paths solve the exact
// welfare maximum of these curves to a stated price resolution by adaptive refinement: each
// sloped step enters the linear program as a few flat pieces, and the pieces that hold the
// equilibrium price are split again until they are narrower than the resolution
// (docs/market-engine.md, "Continuous curves"), so prices move continuously with the inputs and do
// not stick to grid steps. Because the processing yield is one number
// per material, the LP is a pure min-cost-flow network once quantities of processed material are
// counted in extraction-equivalent tonnes; the fast path solves that network with a network
// simplex that starts each refinement solve from the previous optimum, the reference path solves
// the same model as a generic LP with COIN-OR Clp. Ad valorem
// tariffs depend on the equilibrium price, so they are solved in an outer loop that reports its
// convergence. See docs/market-engine.md.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin::market {

struct SupplyStep {
  double capacity_t = 0.0;           // [t/yr] > 0
  double unit_cost_usd_per_t = 0.0;  // [USD/t] of this stage's output: the step's first tonne
  // [USD/t] >= 0: the last tonne costs unit_cost + rise, linearly in between; 0 is a flat step.
  double cost_rise_usd_per_t = 0.0;

  // Average unit cost of the first `used_t` tonnes [USD/t].
  double average_cost_usd_per_t(double used_t) const {
    const double share = capacity_t > 0.0 ? std::min(1.0, used_t / capacity_t) : 0.0;
    return unit_cost_usd_per_t + 0.5 * cost_rise_usd_per_t * share;
  }
  void scale_costs(double factor) {
    unit_cost_usd_per_t *= factor;
    cost_rise_usd_per_t *= factor;
  }
  // Keeps the first `kept_t` tonnes (0 < kept_t < capacity) and returns the rest of the curve as
  // its own step: the two together are the original step.
  SupplyStep split_after(double kept_t) {
    const double share = kept_t / capacity_t;
    SupplyStep rest{capacity_t - kept_t, unit_cost_usd_per_t + cost_rise_usd_per_t * share,
                    cost_rise_usd_per_t * (1.0 - share)};
    capacity_t = kept_t;
    cost_rise_usd_per_t *= share;
    return rest;
  }
};

struct DemandStep {
  double quantity_t = 0.0;                    // [t/yr] > 0 of processed material
  double willingness_to_pay_usd_per_t = 0.0;  // [USD/t] of the step's first tonne
  // [USD/t] >= 0: the last tonne is worth willingness_to_pay - fall (> 0 when elasticity < 0).
  double wtp_fall_usd_per_t = 0.0;
  // Essential use: demand that stays at any price up to its value of lost use (the step's
  // willingness to pay). What of it is not served is physical shortage, not demand priced out.
  bool essential = false;
  // The curve between the first and the last tonne: 0 is a straight line; a negative value e is
  // the constant-elasticity curve through both ends, on which the quantity demanded grows as
  // price^e (so a whole demand curve D(p) = D0 (p / p0)^e is one step).
  double elasticity = 0.0;
  // Curved steps: the price [USD/t] the curve was calibrated through (the base price), where the
  // solver looks first; 0 when unknown. Does not change the curve.
  double reference_price_usd_per_t = 0.0;

  // Willingness to pay of the tonne at `share` (0 first, 1 last) of the step [USD/t].
  double wtp_at_share(double share) const;
  // The share of the step demanded at `price_usd_per_t` (0 above the first tonne's value, 1
  // below the last's).
  double share_at_price(double price_usd_per_t) const;
  // Average willingness to pay of the first `served_t` tonnes [USD/t] (exact for the curve).
  double average_wtp_usd_per_t(double served_t) const;
};

struct Region {
  std::string name;                    // e.g. "CHN", "EU27", "ROW"
  std::vector<std::string> countries;  // ISO3 members, for accounting
  std::vector<SupplyStep> extraction;  // mine supply of contained content
  std::vector<SupplyStep> processing;  // processing capacity; cost = processing margin [USD/t out]
  std::vector<DemandStep> demand;      // demand for processed material
  double base_demand_t = 0.0;          // base-year consumption, for the shortfall [t/yr]
};

// A trade link. Without a route between two regions at a stage, no trade happens there.
struct Route {
  std::size_t from = 0;
  std::size_t to = 0;
  Stage stage = Stage::kProcessing;
  double transport_cost_usd_per_t = 0.0;   // [USD/t] >= 0
  double specific_tariff_usd_per_t = 0.0;  // [USD/t] >= 0, levied by the importer
  double ad_valorem_tariff = 0.0;          // [-] share of the origin price, >= 0
  // [USD/t] >= 0, the part of transport_cost_usd_per_t that is a premium the buyer pays rather
  // than a cost of bringing the product (a certified buyer's fallback to open supply): a variable
  // levy reads the landed price without it.
  double buyer_premium_usd_per_t = 0.0;
};

enum class RestrictionKind { kBan, kQuota };

// An export restriction of one region at one stage towards a set of destinations.
struct ExportRestriction {
  std::string name;
  std::size_t origin = 0;
  Stage stage = Stage::kProcessing;
  RestrictionKind kind = RestrictionKind::kBan;
  std::vector<std::size_t> destinations;  // regions the restriction applies to
  double quota_t = 0.0;                   // [t/yr] for kQuota: total allowed to the destinations
  // Leakage: restricted supply may still reach a destination through third countries at an extra
  // cost per tonne, unless re-export controls are on (leakage = false).
  bool leakage = false;
  double leakage_cost_usd_per_t = 0.0;
};

// A contracted delivery (a long-term offtake contract): the volume goes from the seller's origin to
// the buyer's use node before the market clears the rest. The seller produces it from its own
// capacity (and buys feed for it in the market); the buyer uses it. from == to is a domestic
// contract. A delivery is a fixed flow: the equilibrium is infeasible when the seller cannot
// produce it or the buyer cannot use it, and validate_model says so beforehand.
struct ContractedDelivery {
  std::string name;  // for messages and results, e.g. "offtake[2]"
  std::size_t from = 0;
  std::size_t to = 0;
  Stage stage = Stage::kProcessing;
  double volume_t = 0.0;                  // [t/yr] of the stage's product, >= 0
  double transport_cost_usd_per_t = 0.0;  // [USD/t] >= 0
  double tariff_usd_per_t = 0.0;          // [USD/t] >= 0, collected by the buyer's region
};

// A strategic stock of processed material held in a region (see the stockpile instrument): release
// steps offer stock to the region's buyers at a trigger price (capacity = releasable stock), refill
// steps buy for the stock below a trigger price (quantity = what the refill rule allows). Neither
// counts as production or consumption; both are reported on the region's processing node.
struct StockOffer {
  std::size_t region = 0;
  std::vector<SupplyStep> release;  // [t/yr] of processed material, cost = release price [USD/t]
  std::vector<DemandStep> refill;   // [t/yr] of processed material, wtp = refill price [USD/t]
  std::string holder = {};  // who holds it: "commercial", a state reserve, an instrument's label
  double stock_t = 0.0;     // [t] held at the start of the year (release steps never exceed it)
  // How the holder behaves when the stock is carried from year to year (carry_stock): the stock
  // it aims to hold [t], the part of it it never sells (working stock) [t], and, when it rebuilds
  // a drawn-down stock, over how many years and up to which price [USD/t]. 0 years: it does not
  // rebuild beyond its own refill steps.
  double target_stock_t = 0.0;
  double working_stock_t = 0.0;
  double rebuild_years = 0.0;
  double rebuild_price_usd_per_t = 0.0;
};

// The offer of a stock that starts the year holding `level_t` [t], made from `base` (the offer of
// the base year, as build_market made it): release capacity shrinks with the stock above the
// working stock, and a holder that rebuilds adds a refill step of (target - level) / years at its
// rebuild price. Release prices and the holder's own refill steps stay as they were.
[[nodiscard]] StockOffer carry_stock(const StockOffer& base, double level_t);

struct MarketModel {
  std::string material;
  int year = 0;
  double processing_yield = 1.0;  // t contained processed per t contained extracted, (0,1]
  std::vector<Region> regions;
  std::vector<Route> routes;
  std::vector<ExportRestriction> restrictions;
  std::vector<ContractedDelivery> deliveries;
  std::vector<StockOffer> stocks;
  // Optional, per region (or empty): a class id telling the network path which destinations' route
  // costs are likely separable together (the club's members apart from non-members, whose imports
  // from non-members pay an origin-dependent levy). Only a hint for pooling trade: each hub is
  // still checked exactly, a group whose classes do not pool is pooled as without the hint, and
  // the equilibrium does not depend on it.
  std::vector<int> trade_class;
};

enum class SolverPath { kNetwork, kLinearProgram };

// Why a solve ended. Separate from Status: a model can be valid (Status ok) and still have no
// equilibrium; then the termination says why.
enum class Termination {
  kOptimal,
  kInfeasible,      // no flow satisfies the constraints (the reason says which)
  kUnbounded,       // a cycle of negative cost: contradictory costs
  kIterationLimit,  // the outer loop for ad valorem tariffs did not converge
};
const char* termination_name(Termination termination);

struct NodeResult {
  std::size_t region = 0;
  Stage stage = Stage::kExtraction;
  double price_usd_per_t = 0.0;  // what buyers in the region pay: dual of its use balance [USD/t]
  // What the region's own output fetches: dual of its origin balance [USD/t]. Equal to the price
  // when the region uses some of its own output; higher when it exports all of it. A node that
  // neither uses nor imports reports its producer price as price, and one that neither produces
  // nor exports reports its price as producer price.
  double producer_price_usd_per_t = 0.0;
  double production_t = 0.0;   // [t/yr] produced at this stage in the region
  double consumption_t = 0.0;  // [t/yr] extraction: used by local processing; processing: demand
  double imports_t = 0.0;
  double exports_t = 0.0;
  double stock_release_t = 0.0;  // processing nodes: released from the region's stock
  double stock_refill_t = 0.0;   // processing nodes: bought into the region's stock
};

struct FlowResult {
  std::size_t from = 0;
  std::size_t to = 0;
  Stage stage = Stage::kExtraction;
  double quantity_t = 0.0;           // [t/yr] of the stage's product
  double unit_cost_usd_per_t = 0.0;  // transport + tariff (+ leakage) actually paid
  double tariff_usd_per_t = 0.0;
  bool via_leakage = false;
  bool contracted = false;  // a ContractedDelivery (reported separately from market trade)
};

struct RegionAccounts {
  double consumer_surplus_usd = 0.0;
  double producer_surplus_usd = 0.0;  // extraction and processing
  double tariff_revenue_usd = 0.0;    // collected by this region as importer
  double shortfall_t = 0.0;           // base demand minus consumption, >= 0
  // Essential demand (DemandStep::essential) left unserved at its value of lost use [t/yr]: no
  // buyer could get it at any price it would pay. shortfall_t - physical_shortage_t is demand
  // priced out (buyers choosing to buy less at a higher price), or negative when consumption
  // exceeds the base.
  double physical_shortage_t = 0.0;
  // Contracted deliveries into this region valued at market prices: (price here - producer price
  // at the seller - transport - tariff) * volume. Negative when the contract forces dearer supply
  // than the market would pick. The contract price shifts this between buyer and seller; that
  // settlement is the offtake instrument's (critmin/policy/settlement.h).
  double contract_value_usd = 0.0;
  // The region's stock trades valued like the other surpluses: released tonnes fetch the price
  // above their release trigger, refilled tonnes cost less than their refill limit. The stock's
  // cash flows (price x tonnes) are the stockpile instrument's report.
  double stock_surplus_usd = 0.0;
};

// What one stock offer (MarketModel::stocks, same index) did at the equilibrium [t/yr].
struct StockResult {
  double released_t = 0.0;
  double refilled_t = 0.0;
};

struct SolveStatistics {
  int outer_iterations = 0;  // ad valorem fixed point
  // Largest gap between an ad valorem tariff paid on a used route and rate x origin price in the
  // last round [USD/t].
  double outer_residual = 0.0;
  double seconds = 0.0;
  // Adaptive refinement of sloped steps (see the top of this file): solves of the last outer
  // round, and the widest price range [USD/t] of a flat piece that holds its node's price at the
  // end: prices are exact for the curves to within this.
  int refinement_solves = 0;
  double price_resolution_usd_per_t = 0.0;
};

struct Equilibrium {
  Termination termination = Termination::kOptimal;
  std::string reason;  // why, when not optimal
  // consumer + producer surplus + tariff revenue + contract value + stock surplus
  double welfare_usd = 0.0;
  std::vector<NodeResult> nodes;         // two per region: extraction, processing
  std::vector<FlowResult> flows;         // positive flows between regions
  std::vector<RegionAccounts> accounts;  // one per region
  std::vector<StockResult> stocks;       // one per MarketModel::stocks entry
  SolveStatistics statistics;

  const NodeResult& node(std::size_t region, Stage stage) const {
    return nodes[2 * region + (stage == Stage::kProcessing ? 1 : 0)];
  }
};

// Checks a model: positive capacities and quantities, yields in (0,1], routes and restrictions
// that name existing regions, no two restrictions on one origin, stage and destination, and every
// region with demand reachable from some supply. kInvalidInput with one diagnostic per problem.
Status validate_model(const MarketModel& model);

// Validates, then clears the market. Cost: one min-cost-flow (network path) or LP (Clp path) per
// outer iteration; the outer loop runs only when a route has an ad valorem tariff.
Result<Equilibrium> clear_market(const MarketModel& model, SolverPath path = SolverPath::kNetwork);

}  // namespace critmin::market
