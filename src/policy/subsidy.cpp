// Price-gap subsidies to producers (docs/instruments/subsidy.md).
//
//   [[instrument]]
//   type = "subsidy"
//   kind = "cfd"                  # or "floor_with_upside_share", "fixed_premium"
//   material = "lithium"
//   stage = "processing"
//   producers = ["EU27"]          # regions, ISO3 codes or blocs; default: every member region
//   strike = 20000.0              # cfd; floor_with_upside_share takes floor, upside_share
//                                 # (0..1) and optionally upside_threshold; fixed_premium takes
//                                 # premium
//   unit = "USD/t"
//   volume_t = 50000.0            # optional: covered volume, cheapest capacity first
//   budget_usd = 2e8              # optional cap on payments in the year
//   budget_rule = "pro_rata"      # or "first_come" (claims in the order of the producers list)
//
// Payments per tonne come from critmin/policy/settlement.h. The reference price is the producer's
// own market price. When the budget binds, producers anticipate the share of their claim that will
// be paid (the pro-rata factor) and decide on it; the outer loop searches that factor (the
// instrument's terms are its producers' offered costs at a factor). Under
// first_come the payments go in the order of the producers list, but every producer still decides
// on the average share (paid / claimed): which claimant comes first is not known when deciding.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "critmin/policy/settlement.h"
#include "policy/instrument.h"

namespace critmin::policy {
namespace {

class Subsidy final : public Instrument {
 public:
  std::string type() const override { return "subsidy"; }
  std::string label() const override {
    return fmt::format("subsidy {} {} {}", settlement::subsidy_kind_name(terms_.kind), material_,
                       stage_name(stage_));
  }

  Subsidy(const InstrumentSpec& spec, const SubsidySpec& terms)
      : stage_(terms.stage),
        terms_(terms.terms),
        producers_(terms.producers),
        volume_t_(terms.volume_t),
        budget_usd_(terms.budget_usd),
        rule_(terms.budget_rule) {
    start(spec);
  }

  void prepare(ClubMarketYear& context) override {
    market::MarketModel& model = context.market.model;
    std::set<std::size_t> regions = context.member_regions;
    if (!producers_.empty()) {
      const auto named = context.regions(producers_, line_, "producers");
      if (!named) return;
      regions = context.with_certified_twins(*named);
      order_.clear();
      for (const std::string& name : producers_) {
        const auto named_regions = market::resolve_market_regions(name, context.data, model);
        if (!named_regions) continue;
        for (std::size_t r : context.with_certified_twins(*named_regions)) {
          if (std::find(order_.begin(), order_.end(), r) == order_.end()) order_.push_back(r);
        }
      }
    } else {
      order_.assign(regions.begin(), regions.end());
    }
    base_feed_usd_per_t_ = context.base_price(Stage::kExtraction) / model.processing_yield;
    incentive_.cover(context, regions, stage_, volume_t_, line_, kink_prices(),
                     base_feed_usd_per_t_);
    if (incentive_.empty()) {
      context.notes.push_back(fmt::format(
          "{}: the covered producers have no capacity at this stage; nothing is paid", label()));
    }
  }

  // Without a budget every claim is paid: the producers are offered at their incentive cost at
  // a factor of 1, whatever the prices.
  Terms first_terms() const override { return terms_at(1.0); }

  // With a budget: the share of claims the budget pays, which producers anticipate.
  std::optional<SearchedUnknown> searched() const override {
    if (!budget_usd_) return std::nullopt;
    return SearchedUnknown{0.0, 1.0, 1.0, kBudgetFactorTolerance};
  }

  UnknownReading read(const Clearing& clearing, double factor) const override {
    const auto outcome = budget_outcome(clearing.eq, clearing.model);
    UnknownReading reading;
    reading.target = paid_share(outcome);
    // Where the factor settles if prices held: each covered step switches at one factor, so
    // the target is piecewise constant between the switches and its fixed point is found
    // exactly; at a switch two clearings straddle it (docs/instruments/README.md).
    if (outcome.binding || factor < 1.0) {
      const auto views =
          incentive_.outlook(clearing.model, clearing.eq, base_feed_usd_per_t_, payment());
      std::vector<double> switches;
      for (const auto& view : views) {
        for (const auto& s : view.switches) switches.push_back(s.factor);
      }
      const auto modelled_target = [&](double f) {
        std::vector<double> claims;
        for (std::size_t r : order_) {
          double covered = 0.0, price = 0.0;
          for (const auto& view : views) {
            if (view.region == r) {
              covered = view.covered_at(f);
              price = view.price_at(f);
            }
          }
          claims.push_back(settlement::subsidy_payment_per_t(terms_, price).value() * covered);
        }
        return paid_share(settlement::apply_budget(claims, budget_usd_, rule_).value());
      };
      reading.hint = budget_factor_hint(predict_fixed_point(switches, 0.0, 1.0, modelled_target),
                                        factor, 0.5 * clearing.price_tolerance / scale_usd_per_t());
    }
    // The factor moves every covered producer's incentive by at most the price scale x change.
    reading.usd_per_t = scale_usd_per_t();
    return reading;
  }

  // The offered costs are a function of the factor alone, so the factor's distance from its
  // fixed point is the measure of convergence.
  Terms terms_at(double factor) const override {
    Terms terms;
    terms.step_costs = incentive_.costs(base_feed_usd_per_t_, factor, payment());
    return terms;
  }

  InstrumentReport settle(const market::Equilibrium& eq, const ClubMarketYear& context,
                          const CurrentTerms& current) const override {
    InstrumentReport report = report_header();
    const auto outcome = budget_outcome(eq, context.market.model);
    double paid_out = 0.0, paid_back = 0.0, volume = 0.0;
    for (double p : outcome.paid_usd) (p >= 0.0 ? paid_out : paid_back) += p;
    for (std::size_t r : order_) volume += incentive_.covered_output_t(context.market.model, eq, r);
    ProducerTerms offered;
    for (std::size_t r : order_) offered.regions.push_back(context.market.model.regions[r].name);
    offered.stage = stage_;
    offered.terms = terms_;
    offered.paid_share =
        outcome.total_claimed_usd > 0.0
            ? std::clamp(outcome.total_paid_usd / outcome.total_claimed_usd, 0.0, 1.0)
            : 1.0;
    // A fixed premium leaves the producer exposed to the market price.
    offered.contracted = terms_.kind != settlement::SubsidyKind::kFixedPremium;
    report.producer_terms.push_back(std::move(offered));
    report.figures.push_back({"covered_output", volume, "t"});
    report.figures.push_back({"subsidy_claimed", outcome.total_claimed_usd, "USD"});
    report.figures.push_back({"subsidy_cost", paid_out, "USD"});
    report.figures.push_back({"paid_back_to_state", -paid_back, "USD"});
    if (budget_usd_) {
      report.figures.push_back({"budget", *budget_usd_, "USD"});
      if (outcome.binding) {
        report.notes.push_back(
            fmt::format("the budget binds ({}): {:.6g} of {:.6g} USD claimed is paid",
                        settlement::budget_rule_name(rule_), outcome.total_paid_usd,
                        outcome.total_claimed_usd));
      }
      if (auto note = anticipated_share_note(current.value.value_or(1.0), paid_share(outcome))) {
        report.notes.push_back(std::move(*note));
      }
    }
    return report;
  }

 private:
  // Prices where the payment per tonne changes form, so that the incentive cost is affine in the
  // producer's cost between them: a full CfD (factor 1) covers exactly the costs up to the
  // strike; a floor with upside sharing pays below the floor and takes a share above the
  // threshold; a fixed premium is the same at every price.
  std::vector<double> kink_prices() const {
    switch (terms_.kind) {
      case settlement::SubsidyKind::kTwoWayCfd:
        return {terms_.strike_usd_per_t};
      case settlement::SubsidyKind::kFloorWithUpsideShare:
        return {terms_.strike_usd_per_t,
                terms_.upside_threshold_usd_per_t.value_or(terms_.strike_usd_per_t)};
      case settlement::SubsidyKind::kFixedPremium:
        return {};
    }
    return {};
  }

  std::function<double(double)> payment() const {
    const settlement::SubsidyTerms terms = terms_;
    return
        [terms](double price) { return settlement::subsidy_payment_per_t(terms, price).value(); };
  }

  // The share of claims the budget pays (1 when it does not bind).
  static double paid_share(const settlement::BudgetOutcome& outcome) {
    return outcome.binding
               ? std::clamp(outcome.total_paid_usd / outcome.total_claimed_usd, 0.0, 1.0)
               : 1.0;
  }

  // A price scale for the outer loop's residual [USD/t].
  double scale_usd_per_t() const {
    return std::max({terms_.strike_usd_per_t, terms_.premium_usd_per_t, 1.0});
  }

  // Claims per covered region (in the order of the producers list) under the budget.
  settlement::BudgetOutcome budget_outcome(const market::Equilibrium& eq,
                                           const market::MarketModel& model) const {
    std::vector<double> claims;
    for (std::size_t r : order_) {
      const double output = incentive_.covered_output_t(model, eq, r);
      const double price = eq.node(r, stage_).producer_price_usd_per_t;
      claims.push_back(settlement::subsidy_payment_per_t(terms_, price).value() * output);
    }
    return settlement::apply_budget(claims, budget_usd_, rule_).value();
  }

  Stage stage_ = Stage::kProcessing;
  settlement::SubsidyTerms terms_;
  std::vector<std::string> producers_;
  std::vector<std::size_t> order_;
  std::optional<double> volume_t_;
  std::optional<double> budget_usd_;
  settlement::BudgetRule rule_ = settlement::BudgetRule::kProRata;
  ProducerIncentive incentive_;
  double base_feed_usd_per_t_ = 0.0;
};

}  // namespace

std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec, const SubsidySpec& terms) {
  return std::make_unique<Subsidy>(spec, terms);
}

}  // namespace critmin::policy
