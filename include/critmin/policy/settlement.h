// Settlement: every payment the club's instruments make, as pure functions of (reference prices,
// volumes, contract terms). The simulator and the market service both call these, so a payment
// computed in a scenario equals the one the service books for the same inputs.
//
// Units: prices in USD per tonne of contained content [USD/t], volumes in tonnes [t], money in
// USD. Any consistent unit works (USD/kg with kg gives the same numbers), since every function is
// linear in prices and volumes.
//
// Sign convention: a payment is what the state (or the scheme's fund) pays the counterparty named
// in the function; a negative payment flows back to the state. For offtake contracts the payment
// is what the buyer pays the seller.
//
// Every function checks its inputs (finite numbers, volumes >= 0, floor <= cap, shares in [0,1])
// and returns kInvalidInput naming the argument and how to fix it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "critmin/core/status.h"

namespace critmin::settlement {

// Variable import levy of a border-adjusted price floor on non-member supply, per tonne:
// max(0, floor - landed price). The landed price is the price of the import at the member's
// border before the levy (origin price + transport + tariff).
Result<double> variable_levy_per_t(double floor_usd_per_t, double landed_price_usd_per_t);

// Price-gap top-up to a member producer, per tonne: max(0, floor - reference).
// Reference 59 USD/kg, floor 110 USD/kg -> 51 USD/kg.
Result<double> price_gap_top_up_per_t(double floor_usd_per_t, double reference_usd_per_t);

enum class SubsidyKind {
  kTwoWayCfd,             // (strike - reference) per tonne, paid both ways
  kFloorWithUpsideShare,  // max(0, floor - ref) to the producer; share * max(0, ref - threshold)
                          // back to the state
  kFixedPremium,          // premium per tonne whatever the price
};
const char* subsidy_kind_name(SubsidyKind kind);

struct SubsidyTerms {
  SubsidyKind kind = SubsidyKind::kTwoWayCfd;
  double strike_usd_per_t = 0.0;  // CfD strike; the floor for kFloorWithUpsideShare
  double upside_share = 0.0;      // [0,1] of the price above the threshold to the state
  std::optional<double> upside_threshold_usd_per_t;  // default: the floor
  double premium_usd_per_t = 0.0;                    // kFixedPremium
};

// Payment per tonne from the state to the producer (negative: the producer pays back).
Result<double> subsidy_payment_per_t(const SubsidyTerms& terms, double reference_usd_per_t);

// What happens when claims on a budget exceed it. kProRata scales every positive claim by
// budget / total positive claims (each claimant gets the same share of its claim); kFirstCome
// pays claims in the order given until the budget is used up, the claim that crosses it in part.
// Payments back to the state (negative claims) are never cut and do not refill the budget.
enum class BudgetRule { kProRata, kFirstCome };
const char* budget_rule_name(BudgetRule rule);

struct BudgetOutcome {
  std::vector<double> paid_usd;    // per claim, same order; negative claims unchanged
  double total_claimed_usd = 0.0;  // sum of positive claims
  double total_paid_usd = 0.0;     // sum of positive payments, <= budget
  bool binding = false;            // the cap cut some claim
};

// Applies a budget cap [USD] (nullopt: no cap) to claims [USD].
Result<BudgetOutcome> apply_budget(const std::vector<double>& claims_usd,
                                   std::optional<double> budget_usd, BudgetRule rule);

// Price formula of a long-term offtake contract.
struct OfftakePrice {
  enum class Kind { kFixed, kIndexed } kind = Kind::kFixed;
  double fixed_usd_per_t = 0.0;  // kFixed
  // kIndexed: clamp(index_factor * reference + adder, floor, cap); floor/cap optional.
  double index_factor = 1.0;
  double adder_usd_per_t = 0.0;
  std::optional<double> floor_usd_per_t;
  std::optional<double> cap_usd_per_t;
};

Result<double> offtake_contract_price(const OfftakePrice& formula, double reference_usd_per_t);

struct OfftakeTerms {
  OfftakePrice price;
  double volume_t_per_year = 0.0;  // contracted annual volume
  int start_year = 0;
  int tenor_years = 0;             // the contract runs start_year .. start_year + tenor_years - 1
  double take_or_pay_share = 0.0;  // [0,1]: the buyer pays for at least this share of the volume
};

// True when the contract is in force in the year.
bool offtake_active(const OfftakeTerms& terms, int year);

struct OfftakeSettlement {
  double contract_price_usd_per_t = 0.0;
  double delivered_t = 0.0;
  double take_or_pay_shortfall_t = 0.0;  // paid for but not taken
  double buyer_pays_usd = 0.0;           // delivered + shortfall at the contract price
  // Value of the contract against the market for the delivered volume:
  // (reference - contract price) * delivered. Positive: the buyer gains, the seller loses.
  double buyer_gain_vs_market_usd = 0.0;
};

// Settles one year of a contract: taken_t is what the buyer took (<= volume). Error when the
// year is outside the tenor or taken_t exceeds the contracted volume.
Result<OfftakeSettlement> settle_offtake(const OfftakeTerms& terms, int year, double taken_t,
                                         double reference_usd_per_t);

// An H2Global-style intermediary: buys volume long at the contract price, resells it in a short
// auction at the resale price; the deficit (purchase - resale) is covered by a grant up to the
// remaining budget. A surplus (resale above purchase) is kept and reported as negative deficit.
struct IntermediaryYear {
  double purchase_cost_usd = 0.0;
  double resale_revenue_usd = 0.0;
  double deficit_usd = 0.0;           // purchase - resale
  double grant_paid_usd = 0.0;        // min(max(deficit, 0), remaining budget)
  double unfunded_deficit_usd = 0.0;  // max(deficit, 0) - grant
};

Result<IntermediaryYear> settle_intermediary(double volume_t, double purchase_price_usd_per_t,
                                             double resale_price_usd_per_t,
                                             double remaining_budget_usd);

}  // namespace critmin::settlement
