// The club's instruments as typed specifications: what a scenario's [[instrument]] table says,
// checked and converted to critmin's units (prices in USD/t whatever the table's `unit`). The
// scenario layer (critmin/scenario/scenario.h) reads them from a file; a test or a program builds
// them directly. Nothing here depends on the market: names of regions are resolved, and checked,
// when an instrument is applied to a market (policy::clear_with_instruments).
// docs/instruments/*.md describes each instrument and its keys; docs/scenario-reference.md lists
// every key with its unit, default and range.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "critmin/policy/settlement.h"
#include "critmin/world/dataset.h"

namespace critmin::policy {

// Border-adjusted price floor (docs/instruments/price_floor.md).
struct PriceFloorSpec {
  Stage stage = Stage::kProcessing;
  double floor_usd_per_t = 0.0;
  bool levy = true;                  // else a top-up paid to member producers
  std::optional<double> budget_usd;  // top-up only: cap on a year's payments
};

// A producer subsidy: CfD, floor with upside share or fixed premium (docs/instruments/subsidy.md).
struct SubsidySpec {
  Stage stage = Stage::kProcessing;
  settlement::SubsidyTerms terms;
  std::vector<std::string> producers;  // regions, ISO3 codes or blocs; empty: every member region
  std::optional<double> volume_t;      // covered volume [t/yr], cheapest producers first
  std::optional<double> budget_usd;    // cap on a year's payments [USD]
  settlement::BudgetRule budget_rule = settlement::BudgetRule::kProRata;
};

// A long-term offtake contract between a seller and a member buyer (docs/instruments/offtake.md).
struct OfftakeSpec {
  Stage stage = Stage::kProcessing;
  std::string seller;
  std::string buyer;
  settlement::OfftakeTerms terms;
};

// A state-backed intermediary that buys from a seller and resells in a member region, its losses
// covered by a grant (docs/instruments/offtake.md).
struct IntermediarySpec {
  Stage stage = Stage::kProcessing;
  std::string seller;
  std::string resale_region;
  double volume_t_per_year = 0.0;
  double purchase_usd_per_t = 0.0;
  double grant_budget_usd = 0.0;
};

// The certifiable share of a region's capacity, as the scenario sets it.
struct CertifiedShare {
  double share = 0.0;  // [0,1]
  int line = 0;        // where the scenario sets it, for messages
};

// A standards-based market segment (docs/instruments/certified_market.md).
struct CertifiedMarketSpec {
  std::string standard;
  double certified_demand_share = 0.0;  // [0,1] of member demand that buys certified only
  std::optional<double> certification_cost_usd_per_t;
  std::map<std::string, CertifiedShare> certified_capacity;  // region or ISO3 -> share
  // Certification takes audits and time: the shares of certified_capacity apply from this year
  // on (inclusive); before it every region keeps the data's default share. Unset: from the start.
  std::optional<int> certified_capacity_from_year;
  // Buyers fall back to uncertified supply once certified supply costs them this much more than
  // open supply [USD/t]; unset: the data's estimate (certified_fallback_premium_share of the
  // price). No fallback (`fallback = false`): the mandate binds whatever certified supply costs.
  bool fallback = true;
  std::optional<double> fallback_premium_usd_per_t;
};

// Joint purchasing of a share of member demand (docs/instruments/joint_purchasing.md).
struct JointPurchasingSpec {
  double share = 0.0;  // (0,1] of member demand
  std::optional<double> max_price_usd_per_t;
  bool members_only = false;    // eligible suppliers: members only, else all
  std::string delivery_region;  // empty: the first member region
};

// A member's strategic stockpile (docs/instruments/stockpile.md).
struct StockpileSpec {
  std::string holder;
  double days_of_cover = 0.0;
  double initial_fill = 1.0;  // [0,1] of the target held at the start
  bool release_on_shortfall = true;
  double release_price_usd_per_t = 0.0;  // when not released on shortfall
  std::optional<double> refill_price_usd_per_t;
  std::optional<double> refill_rate_t_per_year;
  double holding_cost_usd_per_t_year = 0.0;
};

using InstrumentTerms = std::variant<PriceFloorSpec, SubsidySpec, OfftakeSpec, IntermediarySpec,
                                     CertifiedMarketSpec, JointPurchasingSpec, StockpileSpec>;

// One instrument of a scenario.
struct InstrumentSpec {
  std::string material;  // material id
  int line = 0;          // of its [[instrument]] table, for messages (0 when built in code)
  InstrumentTerms terms;

  // "price_floor", "subsidy", ... as a scenario's `type` key names it.
  std::string type() const;
};

// The types in the order of InstrumentTerms, for messages ("price_floor, subsidy, ...").
std::string instrument_types();

}  // namespace critmin::policy
