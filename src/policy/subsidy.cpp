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
// be paid (the pro-rata factor) and decide on it; the outer loop finds that factor. Under
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
  std::unique_ptr<Instrument> clone() const override { return std::make_unique<Subsidy>(*this); }
  std::string type() const override { return "subsidy"; }
  std::string label() const override {
    return fmt::format("subsidy {} {} {}", settlement::subsidy_kind_name(terms_.kind), material_,
                       stage_name(stage_));
  }

  static std::unique_ptr<Instrument> read(const InstrumentReading& reading) {
    auto subsidy = std::make_unique<Subsidy>();
    TomlFields& fields = reading.fields;
    const toml::table& t = reading.table;
    reading.start(*subsidy);
    fields.check_keys(
        t, "instrument (subsidy)",
        {"type", "kind", "material", "stage", "producers", "strike", "floor", "upside_share",
         "upside_threshold", "premium", "unit", "volume_t", "budget_usd", "budget_rule"});
    subsidy->stage_ = reading.stage().value_or(Stage::kProcessing);
    const std::string kind = fields.text(t, "kind", true).value_or("cfd");
    settlement::SubsidyTerms& terms = subsidy->terms_;
    const auto refuse = [&](const char* key, const char* why) {
      if (const toml::node* node = t.get(key)) fields.error(*node, key, why);
    };
    if (kind == "cfd") {
      terms.kind = settlement::SubsidyKind::kTwoWayCfd;
      terms.strike_usd_per_t = reading.price("strike", true).value_or(0.0);
      refuse("floor", "a cfd has a strike, not a floor");
      refuse("premium", "a cfd has a strike, not a premium");
      refuse("upside_share", "a cfd pays back the whole upside; use floor_with_upside_share");
      refuse("upside_threshold", "a cfd has no upside threshold; use floor_with_upside_share");
    } else if (kind == "floor_with_upside_share") {
      terms.kind = settlement::SubsidyKind::kFloorWithUpsideShare;
      terms.strike_usd_per_t = reading.price("floor", true).value_or(0.0);
      terms.upside_share = fields.number(t, "upside_share", 0.0, 1.0, true).value_or(0.0);
      terms.upside_threshold_usd_per_t = reading.price("upside_threshold", false);
      if (terms.upside_threshold_usd_per_t &&
          *terms.upside_threshold_usd_per_t < terms.strike_usd_per_t) {
        fields.error(*t.get("upside_threshold"), "upside_threshold",
                     "the threshold of the upside share must be at or above the floor");
      }
      refuse("strike", "floor_with_upside_share has a floor, not a strike");
      refuse("premium", "floor_with_upside_share has a floor, not a premium");
    } else if (kind == "fixed_premium") {
      terms.kind = settlement::SubsidyKind::kFixedPremium;
      terms.premium_usd_per_t = reading.price("premium", true).value_or(0.0);
      refuse("strike", "a fixed premium has a premium, not a strike");
      refuse("floor", "a fixed premium has a premium, not a floor");
      refuse("upside_share", "a fixed premium shares no upside");
      refuse("upside_threshold", "a fixed premium shares no upside");
    } else {
      fields.error(t.get("kind") ? *t.get("kind") : static_cast<const toml::node&>(t), "kind",
                   "use \"cfd\", \"floor_with_upside_share\" or \"fixed_premium\"");
    }
    subsidy->producers_ =
        fields.strings(t, "producers", false).value_or(std::vector<std::string>{});
    subsidy->volume_t_ = fields.number(t, "volume_t", 0.0, 1e12);
    if (subsidy->volume_t_ && *subsidy->volume_t_ <= 0.0) {
      fields.error(*t.get("volume_t"), "volume_t", "a covered volume must be positive");
    }
    subsidy->budget_usd_ = fields.number(t, "budget_usd", 0.0, 1e15);
    const std::string rule = fields.text(t, "budget_rule", false).value_or("pro_rata");
    if (rule != "pro_rata" && rule != "first_come") {
      fields.error(*t.get("budget_rule"), "budget_rule", "use \"pro_rata\" or \"first_come\"");
    }
    if (t.get("budget_rule") && !subsidy->budget_usd_) {
      fields.error(*t.get("budget_rule"), "budget_rule", "a budget rule needs budget_usd");
    }
    subsidy->rule_ = rule == "first_come" ? settlement::BudgetRule::kFirstCome
                                          : settlement::BudgetRule::kProRata;
    return subsidy;
  }

  void prepare(ClearingContext& context) override {
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
    incentive_.cover(context, regions, stage_, volume_t_, line_);
    if (incentive_.empty()) {
      context.notes.push_back(fmt::format(
          "{}: the covered producers have no capacity at this stage; nothing is paid", label()));
    }
    base_feed_usd_per_t_ = context.base_price(Stage::kExtraction) / model.processing_yield;
    incentive_.apply(model, base_feed_usd_per_t_, factor_.value(), payment());
  }

  bool settles_after_others() const override { return budget_usd_.has_value(); }

  double update(const market::Equilibrium& eq, ClearingContext& context) override {
    double budget_change = 0.0;
    if (budget_usd_ && context.hold_for_others) return 0.0;  // the others' first guesses moved
    if (budget_usd_) {
      const auto outcome = budget_outcome(eq, context);
      const double target = paid_share(outcome);
      // Where the factor settles if prices held: each covered step switches at one factor, so
      // the target is piecewise constant between the switches and its fixed point is found
      // exactly; at a switch two clearings straddle it (docs/instruments/README.md).
      std::optional<double> hint;
      if (outcome.binding || factor_.value() < 1.0) {
        const auto views =
            incentive_.outlook(context.market.model, eq, base_feed_usd_per_t_, payment());
        std::vector<double> switches;
        for (const auto& view : views) {
          for (const auto& s : view.switches) switches.push_back(s.factor);
        }
        const auto modelled_target = [&](double factor) {
          std::vector<double> claims;
          for (std::size_t r : order_) {
            double covered = 0.0, price = 0.0;
            for (const auto& view : views) {
              if (view.region == r) {
                covered = view.covered_at(factor);
                price = view.price_at(factor);
              }
            }
            claims.push_back(settlement::subsidy_payment_per_t(terms_, price).value() * covered);
          }
          return paid_share(settlement::apply_budget(claims, budget_usd_, rule_).value());
        };
        hint =
            budget_factor_hint(predict_fixed_point(switches, 0.0, 1.0, modelled_target),
                               factor_.value(), 0.5 * context.price_tolerance / scale_usd_per_t());
      }
      // The factor moves every covered producer's incentive by at most the price scale x change.
      factor_.observe(context.others_moved);
      const double distance = factor_.step(target, kBudgetFactorTolerance, hint);
      budget_change = change_of_terms(distance * scale_usd_per_t(), distance > 0.0, context);
    }
    // The offered costs are a function of the factor alone, so the factor's distance from its
    // fixed point is the measure of convergence.
    incentive_.apply(context.market.model, base_feed_usd_per_t_, factor_.value(), payment());
    return budget_change;
  }

  InstrumentReport settle(const market::Equilibrium& eq,
                          const ClearingContext& context) const override {
    InstrumentReport report = report_header();
    const auto outcome = budget_outcome(eq, context);
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
      if (auto note = anticipated_share_note(factor_.value(), paid_share(outcome))) {
        report.notes.push_back(std::move(*note));
      }
    }
    return report;
  }

 private:
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
                                           const ClearingContext& context) const {
    std::vector<double> claims;
    for (std::size_t r : order_) {
      const double output = incentive_.covered_output_t(context.market.model, eq, r);
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
  DecreasingFixedPoint factor_{0.0, 1.0, 1.0};
};

}  // namespace

std::unique_ptr<Instrument> read_subsidy(const InstrumentReading& reading) {
  return Subsidy::read(reading);
}

}  // namespace critmin::policy
