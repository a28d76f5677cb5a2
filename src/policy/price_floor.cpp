// Border-adjusted price floor (docs/instruments/price_floor.md).
//
//   [[instrument]]
//   type = "price_floor"
//   material = "neodymium"
//   stage = "processing"
//   price = 110.0
//   unit = "USD/kg"
//   enforcement = "levy"          # or "top_up"
//   budget_usd = 5e8              # top_up only: optional cap on the top-up payments
//
// levy: a variable import levy on non-member supply entering member regions,
//   levy = max(0, floor - landed price), landed = producer price at the origin + transport +
//   tariff; solved in the outer loop because the landed price depends on the equilibrium.
// top_up: a price-gap payment to member producers, max(0, floor - their price) per tonne.
//   A producer with a unit cost up to the floor produces at any market price, so its supply is
//   offered at the incentive cost (the lowest price at which price + top-up covers its cost).
//   A budget cap scales the payments pro rata; producers anticipate the scaled payment.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "critmin/policy/settlement.h"
#include "policy/instrument.h"

namespace critmin::policy {
namespace {

class PriceFloor final : public Instrument {
 public:
  std::unique_ptr<Instrument> clone() const override { return std::make_unique<PriceFloor>(*this); }
  std::string type() const override { return "price_floor"; }
  std::string label() const override {
    return fmt::format("price_floor {} {} {:.6g} USD/t ({})", material_, stage_name(stage_),
                       floor_usd_per_t_, levy_ ? "levy" : "top_up");
  }

  static std::unique_ptr<Instrument> read(const InstrumentReading& reading) {
    auto floor = std::make_unique<PriceFloor>();
    reading.start(*floor);
    reading.fields.check_keys(
        reading.table, "instrument (price_floor)",
        {"type", "material", "stage", "price", "unit", "enforcement", "budget_usd"});
    floor->stage_ = reading.stage().value_or(Stage::kProcessing);
    floor->floor_usd_per_t_ = reading.price("price", true).value_or(0.0);
    const std::string enforcement =
        reading.fields.text(reading.table, "enforcement", false).value_or("levy");
    if (enforcement != "levy" && enforcement != "top_up") {
      reading.fields.error(*reading.table.get("enforcement"), "enforcement",
                           "use \"levy\" (variable import levy on non-member supply) or "
                           "\"top_up\" (price-gap payment to member producers)");
    }
    floor->levy_ = enforcement == "levy";
    floor->budget_usd_ = reading.fields.number(reading.table, "budget_usd", 0.0, 1e15);
    if (floor->levy_ && floor->budget_usd_) {
      reading.fields.error(*reading.table.get("budget_usd"), "budget_usd",
                           "a levy raises money and has no budget; a budget caps a top_up");
    }
    return floor;
  }

  void prepare(ClearingContext& context) override {
    market::MarketModel& model = context.market.model;
    const double base = context.base_price(stage_);
    if (floor_usd_per_t_ < 0.01 * base) {
      context.notes.push_back(fmt::format(
          "{}: the floor {:.6g} USD/t is below 1% of the base price {:.6g} USD/t and never binds; "
          "was the price meant in USD/kg (unit = \"USD/kg\")?",
          label(), floor_usd_per_t_, base));
    }
    if (levy_) {
      const std::vector<char> member = context.member_flags();
      for (std::size_t i = 0; i < model.routes.size(); ++i) {
        const market::Route& route = model.routes[i];
        if (route.stage == stage_ && member[route.to] && !member[route.from]) {
          levied_routes_.push_back(i);
          base_specific_.push_back(route.specific_tariff_usd_per_t);
          // A first guess from the material's base-year price (the same for every origin), so
          // that a floor well above the market settles in two clearings, not from no levy.
          const double landed = base + route.transport_cost_usd_per_t +
                                route.specific_tariff_usd_per_t + route.ad_valorem_tariff * base;
          const double guess = settlement::variable_levy_per_t(floor_usd_per_t_, landed).value();
          levy_usd_per_t_.push_back(guess);
          model.routes[i].specific_tariff_usd_per_t += guess;
        }
      }
      if (levied_routes_.empty()) {
        context.notes.push_back(fmt::format(
            "{}: no route brings non-member supply into a member region; the levy never applies",
            label()));
      }
      return;
    }
    incentive_.cover(context, context.member_regions, stage_, std::nullopt, line_);
    if (incentive_.empty()) {
      context.notes.push_back(fmt::format(
          "{}: no member region produces at this stage; nothing is topped up", label()));
    }
    base_feed_usd_per_t_ = context.base_price(Stage::kExtraction) / model.processing_yield;
    incentive_.apply(model, base_feed_usd_per_t_, factor_.value(), payment());
  }

  bool settles_after_others() const override { return !levy_ && budget_usd_.has_value(); }

  double update(const market::Equilibrium& eq, ClearingContext& context) override {
    market::MarketModel& model = context.market.model;
    if (levy_) {
      double change = 0.0;
      const std::size_t n = model.regions.size();
      const std::vector<double> traded = traded_by_pair(eq, n);
      for (std::size_t j = 0; j < levied_routes_.size(); ++j) {
        market::Route& route = model.routes[levied_routes_[j]];
        const market::NodeResult& from = eq.node(route.from, stage_);
        const market::NodeResult& to = eq.node(route.to, stage_);
        const double origin = from.producer_price_usd_per_t;
        // The landed price excludes the levy itself; ad valorem duty is paid on the origin price.
        const double landed = origin + route.transport_cost_usd_per_t + base_specific_[j] +
                              route.ad_valorem_tariff * std::max(0.0, origin);
        const double target = settlement::variable_levy_per_t(floor_usd_per_t_, landed).value();
        const double next = levy_usd_per_t_[j] + damping_ * (target - levy_usd_per_t_[j]);
        // A route that carries nothing and stays unprofitable at the target levy (buyers there
        // pay at most the landed price with the target levy, max(floor, landed), in the prices
        // of this clearing) keeps the equilibrium an equilibrium when its levy moves to the
        // target: the prices are an optimal dual (settle_idle_prices moves an idle node's price
        // only within its dual range), so with the route's new cost its flow of 0 still has a
        // reduced cost >= 0 and every other arc is unchanged. Its change is therefore no
        // distance from the fixed point, wherever in its range the price of an origin that
        // ships nothing was reported (kaolin's idle exporters took 30 rounds of a levy chasing
        // such a price).
        const bool idle_and_unprofitable =
            !(traded[route.from * n + route.to] > 0.0) &&
            to.price_usd_per_t <= std::max(floor_usd_per_t_, landed) - context.price_tolerance;
        if (!idle_and_unprofitable) {
          change = std::max(change, std::abs(target - levy_usd_per_t_[j]));
        }
        levy_usd_per_t_[j] = next;
        route.specific_tariff_usd_per_t = base_specific_[j] + next;
      }
      ++rounds_;
      if (rounds_ > 8) damping_ = 0.5;  // a levy that switches a route on and off settles
      return change;
    }
    double budget_change = 0.0;
    if (budget_usd_ && context.hold_for_others) return 0.0;  // the others' first guesses moved
    if (budget_usd_) {
      const double claimed = claimed_usd(eq);
      const auto share = [&](double claims) {
        return claims > *budget_usd_ ? std::clamp(*budget_usd_ / claims, 0.0, 1.0) : 1.0;
      };
      const double target = share(claimed);
      // Where the factor settles if prices held (as for a subsidy's budget; subsidy.cpp).
      std::optional<double> hint;
      if (target < 1.0 || factor_.value() < 1.0) {
        const auto views =
            incentive_.outlook(context.market.model, eq, base_feed_usd_per_t_, payment());
        std::vector<double> switches;
        for (const auto& view : views) {
          for (const auto& s : view.switches) switches.push_back(s.factor);
        }
        const auto modelled_target = [&](double factor) {
          double claims = 0.0;
          for (const auto& view : views) {
            claims += settlement::price_gap_top_up_per_t(floor_usd_per_t_, view.price_at(factor))
                          .value() *
                      view.covered_at(factor);
          }
          return share(claims);
        };
        hint = budget_factor_hint(predict_fixed_point(switches, 0.0, 1.0, modelled_target),
                                  factor_.value(),
                                  0.5 * context.price_tolerance / std::max(floor_usd_per_t_, 1.0));
      }
      // The factor moves every covered producer's incentive by at most floor x the change.
      factor_.observe(context.others_moved);
      const double distance = factor_.step(target, kBudgetFactorTolerance, hint);
      budget_change = change_of_terms(distance * floor_usd_per_t_, distance > 0.0, context);
    }
    // The offered costs are a function of the factor alone, so the factor's distance from its
    // fixed point is the measure of convergence.
    incentive_.apply(context.market.model, base_feed_usd_per_t_, factor_.value(), payment());
    return budget_change;
  }

  InstrumentReport settle(const market::Equilibrium& eq,
                          const ClearingContext& context) const override {
    InstrumentReport report = report_header();
    const market::MarketModel& model = context.market.model;
    if (levy_) {
      double revenue = 0.0, volume = 0.0;
      const std::size_t n = model.regions.size();
      const std::vector<double> traded = traded_by_pair(eq, n);
      for (std::size_t j = 0; j < levied_routes_.size(); ++j) {
        const market::Route& route = model.routes[levied_routes_[j]];
        const double quantity = traded[route.from * n + route.to];
        revenue += levy_usd_per_t_[j] * quantity;
        if (levy_usd_per_t_[j] > 0.0) volume += quantity;  // imports that paid a levy
      }
      report.figures.push_back({"levy_revenue", revenue, "USD"});
      report.figures.push_back({"levied_volume", volume, "t"});
    } else {
      const double claimed = claimed_usd(eq);
      auto paid = settlement::apply_budget({claimed}, budget_usd_, settlement::BudgetRule::kProRata)
                      .value();
      ProducerTerms offered;
      for (std::size_t r : incentive_.regions()) offered.regions.push_back(model.regions[r].name);
      offered.stage = stage_;
      offered.terms.kind = settlement::SubsidyKind::kFloorWithUpsideShare;
      offered.terms.strike_usd_per_t = floor_usd_per_t_;
      offered.paid_share =
          claimed > 0.0 ? std::clamp(paid.total_paid_usd / claimed, 0.0, 1.0) : 1.0;
      report.producer_terms.push_back(std::move(offered));
      report.figures.push_back({"top_up_claimed", claimed, "USD"});
      report.figures.push_back({"top_up_cost", paid.total_paid_usd, "USD"});
      if (budget_usd_) report.figures.push_back({"budget", *budget_usd_, "USD"});
      if (paid.binding) {
        report.notes.push_back(
            fmt::format("the budget binds: every claim is paid {:.1f}% (pro rata)",
                        100.0 * paid.total_paid_usd / std::max(claimed, 1e-300)));
      }
      if (budget_usd_) {
        const double paid_share =
            paid.binding ? std::clamp(paid.total_paid_usd / claimed, 0.0, 1.0) : 1.0;
        if (auto note = anticipated_share_note(factor_.value(), paid_share)) {
          report.notes.push_back(std::move(*note));
        }
      }
    }
    double member_price = 0.0, member_use = 0.0;
    for (std::size_t r : context.member_regions) {
      const market::NodeResult& node = eq.node(r, stage_);
      member_price += node.price_usd_per_t * std::max(node.consumption_t, 1e-12);
      member_use += std::max(node.consumption_t, 1e-12);
    }
    report.figures.push_back({"floor", floor_usd_per_t_, "USD/t"});
    report.figures.push_back(
        {"member_price", member_use > 0.0 ? member_price / member_use : 0.0, "USD/t"});
    return report;
  }

 private:
  // Market (not contracted) trade at the floor's stage per pair of the `region_count` regions,
  // from * region_count + to [t].
  std::vector<double> traded_by_pair(const market::Equilibrium& eq,
                                     std::size_t region_count) const {
    std::vector<double> traded(region_count * region_count, 0.0);
    for (const market::FlowResult& f : eq.flows) {
      if (f.stage == stage_ && !f.contracted) traded[f.from * region_count + f.to] += f.quantity_t;
    }
    return traded;
  }

  std::function<double(double)> payment() const {
    const double floor = floor_usd_per_t_;
    return
        [floor](double price) { return settlement::price_gap_top_up_per_t(floor, price).value(); };
  }

  // Top-up claims at the equilibrium [USD]: each member producer's output times the gap between
  // the floor and its producer price.
  double claimed_usd(const market::Equilibrium& eq) const {
    double total = 0.0;
    for (std::size_t r : incentive_.regions()) {
      const market::NodeResult& node = eq.node(r, stage_);
      total += settlement::price_gap_top_up_per_t(floor_usd_per_t_, node.producer_price_usd_per_t)
                   .value() *
               node.production_t;
    }
    return total;
  }

  Stage stage_ = Stage::kProcessing;
  double floor_usd_per_t_ = 0.0;
  bool levy_ = true;
  std::optional<double> budget_usd_;
  std::vector<std::size_t> levied_routes_;
  std::vector<double> base_specific_;
  std::vector<double> levy_usd_per_t_;
  ProducerIncentive incentive_;
  double base_feed_usd_per_t_ = 0.0;
  DecreasingFixedPoint factor_{0.0, 1.0, 1.0};
  double damping_ = 1.0;
  int rounds_ = 0;
};

}  // namespace

std::unique_ptr<Instrument> read_price_floor(const InstrumentReading& reading) {
  return PriceFloor::read(reading);
}

}  // namespace critmin::policy
