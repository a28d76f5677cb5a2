#include "critmin/policy/settlement.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace critmin::settlement {

namespace {

Status require_finite(double value, const char* name) {
  if (!std::isfinite(value)) {
    return Status::invalid_input(fmt::format("{} must be a finite number, got {}", name, value));
  }
  return Status::ok();
}

Status require_non_negative(double value, const char* name) {
  if (!std::isfinite(value) || value < 0.0) {
    return Status::invalid_input(
        fmt::format("{} must be a finite number >= 0, got {}; give a volume or amount of "
                    "zero or more",
                    name, value));
  }
  return Status::ok();
}

Status require_share(double value, const char* name) {
  if (!std::isfinite(value) || value < 0.0 || value > 1.0) {
    return Status::invalid_input(
        fmt::format("{} must be a share between 0 and 1, got {}", name, value));
  }
  return Status::ok();
}

}  // namespace

Result<double> variable_levy_per_t(double floor_usd_per_t, double landed_price_usd_per_t) {
  if (Status s = require_non_negative(floor_usd_per_t, "floor"); !s.is_ok()) return s;
  if (Status s = require_finite(landed_price_usd_per_t, "landed price"); !s.is_ok()) return s;
  return std::max(0.0, floor_usd_per_t - landed_price_usd_per_t);
}

Result<double> price_gap_top_up_per_t(double floor_usd_per_t, double reference_usd_per_t) {
  if (Status s = require_non_negative(floor_usd_per_t, "floor"); !s.is_ok()) return s;
  if (Status s = require_finite(reference_usd_per_t, "reference price"); !s.is_ok()) return s;
  return std::max(0.0, floor_usd_per_t - reference_usd_per_t);
}

const char* subsidy_kind_name(SubsidyKind kind) {
  switch (kind) {
    case SubsidyKind::kTwoWayCfd:
      return "cfd";
    case SubsidyKind::kFloorWithUpsideShare:
      return "floor_with_upside_share";
    case SubsidyKind::kFixedPremium:
      return "fixed_premium";
  }
  return "unknown";
}

Result<double> subsidy_payment_per_t(const SubsidyTerms& terms, double reference_usd_per_t) {
  if (Status s = require_finite(reference_usd_per_t, "reference price"); !s.is_ok()) return s;
  switch (terms.kind) {
    case SubsidyKind::kTwoWayCfd:
      if (Status s = require_non_negative(terms.strike_usd_per_t, "strike"); !s.is_ok()) return s;
      return terms.strike_usd_per_t - reference_usd_per_t;
    case SubsidyKind::kFloorWithUpsideShare: {
      if (Status s = require_non_negative(terms.strike_usd_per_t, "floor"); !s.is_ok()) return s;
      if (Status s = require_share(terms.upside_share, "upside share"); !s.is_ok()) return s;
      const double threshold = terms.upside_threshold_usd_per_t.value_or(terms.strike_usd_per_t);
      if (Status s = require_non_negative(threshold, "upside threshold"); !s.is_ok()) return s;
      if (threshold < terms.strike_usd_per_t) {
        return Status::invalid_input(fmt::format(
            "upside threshold {} is below the floor {}: the state would both top up and take a "
            "share at the same price; set the threshold at or above the floor",
            threshold, terms.strike_usd_per_t));
      }
      return std::max(0.0, terms.strike_usd_per_t - reference_usd_per_t) -
             terms.upside_share * std::max(0.0, reference_usd_per_t - threshold);
    }
    case SubsidyKind::kFixedPremium:
      if (Status s = require_non_negative(terms.premium_usd_per_t, "premium"); !s.is_ok()) {
        return s;
      }
      return terms.premium_usd_per_t;
  }
  return Status::internal("unknown subsidy kind");
}

const char* budget_rule_name(BudgetRule rule) {
  return rule == BudgetRule::kProRata ? "pro_rata" : "first_come";
}

Result<BudgetOutcome> apply_budget(const std::vector<double>& claims_usd,
                                   std::optional<double> budget_usd, BudgetRule rule) {
  for (std::size_t i = 0; i < claims_usd.size(); ++i) {
    if (!std::isfinite(claims_usd[i])) {
      return Status::invalid_input(fmt::format("claim {} is not a finite number", i + 1));
    }
  }
  if (budget_usd) {
    if (Status s = require_non_negative(*budget_usd, "budget"); !s.is_ok()) return s;
  }
  BudgetOutcome outcome;
  outcome.paid_usd = claims_usd;
  for (double claim : claims_usd) outcome.total_claimed_usd += std::max(0.0, claim);
  if (!budget_usd || outcome.total_claimed_usd <= *budget_usd) {
    outcome.total_paid_usd = outcome.total_claimed_usd;
    return outcome;
  }
  outcome.binding = true;
  if (rule == BudgetRule::kProRata) {
    const double factor = *budget_usd / outcome.total_claimed_usd;
    for (double& paid : outcome.paid_usd) {
      if (paid > 0.0) paid *= factor;
    }
  } else {
    double remaining = *budget_usd;
    for (double& paid : outcome.paid_usd) {
      if (paid <= 0.0) continue;
      paid = std::min(paid, remaining);
      remaining -= paid;
    }
  }
  outcome.total_paid_usd = 0.0;
  for (double paid : outcome.paid_usd) outcome.total_paid_usd += std::max(0.0, paid);
  // Rounding in the pro-rata factor must never overspend.
  outcome.total_paid_usd = std::min(outcome.total_paid_usd, *budget_usd);
  return outcome;
}

Result<double> offtake_contract_price(const OfftakePrice& formula, double reference_usd_per_t) {
  if (Status s = require_finite(reference_usd_per_t, "reference price"); !s.is_ok()) return s;
  if (formula.kind == OfftakePrice::Kind::kFixed) {
    if (Status s = require_non_negative(formula.fixed_usd_per_t, "fixed price"); !s.is_ok()) {
      return s;
    }
    return formula.fixed_usd_per_t;
  }
  if (Status s = require_non_negative(formula.index_factor, "index factor"); !s.is_ok()) return s;
  if (Status s = require_finite(formula.adder_usd_per_t, "price adder"); !s.is_ok()) return s;
  if (formula.floor_usd_per_t) {
    if (Status s = require_non_negative(*formula.floor_usd_per_t, "price floor"); !s.is_ok()) {
      return s;
    }
  }
  if (formula.cap_usd_per_t) {
    if (Status s = require_non_negative(*formula.cap_usd_per_t, "price cap"); !s.is_ok()) return s;
  }
  if (formula.floor_usd_per_t && formula.cap_usd_per_t &&
      *formula.floor_usd_per_t > *formula.cap_usd_per_t) {
    return Status::invalid_input(
        fmt::format("price floor {} is above the price cap {}; the floor must not exceed the cap",
                    *formula.floor_usd_per_t, *formula.cap_usd_per_t));
  }
  double price = formula.index_factor * reference_usd_per_t + formula.adder_usd_per_t;
  if (formula.floor_usd_per_t) price = std::max(price, *formula.floor_usd_per_t);
  if (formula.cap_usd_per_t) price = std::min(price, *formula.cap_usd_per_t);
  return std::max(price, 0.0);
}

bool offtake_active(const OfftakeTerms& terms, int year) {
  return year >= terms.start_year && year < terms.start_year + terms.tenor_years;
}

Result<OfftakeSettlement> settle_offtake(const OfftakeTerms& terms, int year, double taken_t,
                                         double reference_usd_per_t) {
  if (Status s = require_non_negative(terms.volume_t_per_year, "contract volume"); !s.is_ok()) {
    return s;
  }
  if (Status s = require_share(terms.take_or_pay_share, "take-or-pay share"); !s.is_ok()) return s;
  if (terms.tenor_years <= 0) {
    return Status::invalid_input(
        fmt::format("tenor must be at least 1 year, got {}", terms.tenor_years));
  }
  if (!offtake_active(terms, year)) {
    return Status::invalid_input(
        fmt::format("year {} is outside the contract's tenor {}-{}; settle only years in force",
                    year, terms.start_year, terms.start_year + terms.tenor_years - 1));
  }
  if (Status s = require_non_negative(taken_t, "volume taken"); !s.is_ok()) return s;
  if (taken_t > terms.volume_t_per_year * (1.0 + 1e-12)) {
    return Status::invalid_input(
        fmt::format("volume taken {} t exceeds the contracted {} t per year", taken_t,
                    terms.volume_t_per_year));
  }
  auto price = offtake_contract_price(terms.price, reference_usd_per_t);
  CRITMIN_RETURN_IF_ERROR(price);
  OfftakeSettlement out;
  out.contract_price_usd_per_t = price.value();
  out.delivered_t = std::min(taken_t, terms.volume_t_per_year);
  out.take_or_pay_shortfall_t =
      std::max(0.0, terms.take_or_pay_share * terms.volume_t_per_year - out.delivered_t);
  out.buyer_pays_usd =
      (out.delivered_t + out.take_or_pay_shortfall_t) * out.contract_price_usd_per_t;
  out.buyer_gain_vs_market_usd =
      (reference_usd_per_t - out.contract_price_usd_per_t) * out.delivered_t;
  return out;
}

Result<IntermediaryYear> settle_intermediary(double volume_t, double purchase_price_usd_per_t,
                                             double resale_price_usd_per_t,
                                             double remaining_budget_usd) {
  if (Status s = require_non_negative(volume_t, "volume"); !s.is_ok()) return s;
  if (Status s = require_non_negative(purchase_price_usd_per_t, "purchase price"); !s.is_ok()) {
    return s;
  }
  if (Status s = require_non_negative(resale_price_usd_per_t, "resale price"); !s.is_ok()) {
    return s;
  }
  if (Status s = require_non_negative(remaining_budget_usd, "remaining budget"); !s.is_ok()) {
    return s;
  }
  IntermediaryYear out;
  out.purchase_cost_usd = volume_t * purchase_price_usd_per_t;
  out.resale_revenue_usd = volume_t * resale_price_usd_per_t;
  out.deficit_usd = out.purchase_cost_usd - out.resale_revenue_usd;
  out.grant_paid_usd = std::min(std::max(out.deficit_usd, 0.0), remaining_budget_usd);
  out.unfunded_deficit_usd = std::max(out.deficit_usd, 0.0) - out.grant_paid_usd;
  return out;
}

}  // namespace critmin::settlement
