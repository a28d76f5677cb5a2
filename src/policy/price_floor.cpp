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
//   tariff; direct terms (a tariff per levied route) whose target the outer loop reaches, because
//   the landed price depends on the equilibrium.
// top_up: a price-gap payment to member producers, max(0, floor - their price) per tonne.
//   A producer with a unit cost up to the floor produces at any market price, so its supply is
//   offered at the incentive cost (the lowest price at which price + top-up covers its cost).
//   A budget cap scales the payments pro rata; producers anticipate the scaled payment, the
//   unknown the outer loop searches (the offered costs are the terms at each factor).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "critmin/policy/settlement.h"
#include "policy/instrument.h"

namespace critmin::policy {
namespace {

class PriceFloor final : public Instrument {
 public:
  std::string type() const override { return "price_floor"; }
  std::string label() const override {
    return fmt::format("price_floor {} {} {:.6g} USD/t ({})", material_, stage_name(stage_),
                       floor_usd_per_t_, levy_ ? "levy" : "top_up");
  }

  PriceFloor(const InstrumentSpec& spec, const PriceFloorSpec& terms)
      : stage_(terms.stage),
        floor_usd_per_t_(terms.floor_usd_per_t),
        levy_(terms.levy),
        budget_usd_(terms.budget_usd) {
    start(spec);
  }

  void prepare(ClubMarketYear& context) override {
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
          const double landed = base + route.transport_cost_usd_per_t -
                                route.buyer_premium_usd_per_t + route.specific_tariff_usd_per_t +
                                route.ad_valorem_tariff * base;
          first_levy_.push_back(settlement::variable_levy_per_t(floor_usd_per_t_, landed).value());
        }
      }
      if (levied_routes_.empty()) {
        context.notes.push_back(fmt::format(
            "{}: no route brings non-member supply into a member region; the levy never applies",
            label()));
      }
      return;
    }
    base_feed_usd_per_t_ = context.base_price(Stage::kExtraction) / model.processing_yield;
    // The top-up changes form at the floor (it pays the gap below it, nothing above).
    incentive_.cover(context, context.member_regions, stage_, std::nullopt, line_,
                     {floor_usd_per_t_}, base_feed_usd_per_t_);
    if (incentive_.empty()) {
      context.notes.push_back(fmt::format(
          "{}: no member region produces at this stage; nothing is topped up", label()));
    }
  }

  // The levy per levied route, in the order of levied_routes_; a top-up without a budget pays
  // every claim, so its producers are offered at their incentive cost at a factor of 1.
  Terms first_terms() const override {
    if (!levy_) return terms_at(1.0);
    Terms terms;
    for (std::size_t j = 0; j < levied_routes_.size(); ++j) {
      terms.route_tariffs.push_back({levied_routes_[j], first_levy_[j]});
    }
    return terms;
  }

  // The levy's target on each route: floor - landed price at this clearing.
  TermsUpdate update(const Clearing& clearing, const Terms& current) const override {
    if (!levy_) return {current, 0.0};
    const market::MarketModel& model = clearing.model;
    const market::Equilibrium& eq = clearing.eq;
    TermsUpdate out;
    out.target.route_tariffs.reserve(levied_routes_.size());
    const std::size_t n = model.regions.size();
    const std::vector<double> traded = traded_by_pair(eq, n);
    for (std::size_t j = 0; j < levied_routes_.size(); ++j) {
      const market::Route& route = model.routes[levied_routes_[j]];
      const market::NodeResult& from = eq.node(route.from, stage_);
      const market::NodeResult& to = eq.node(route.to, stage_);
      const double origin = from.producer_price_usd_per_t;
      // The landed price excludes the levy itself; ad valorem duty is paid on the origin price.
      const double landed = origin + route.transport_cost_usd_per_t -
                            route.buyer_premium_usd_per_t + base_specific_[j] +
                            route.ad_valorem_tariff * std::max(0.0, origin);
      const double target = settlement::variable_levy_per_t(floor_usd_per_t_, landed).value();
      // A route that carries nothing and stays unprofitable at the target levy (buyers there
      // pay at most the landed price with the target levy, max(floor, landed), in the prices
      // of this clearing) keeps the equilibrium an equilibrium when its levy moves to the
      // target: the prices are an optimal dual (settle_idle_prices moves an idle node's price
      // only within its dual range), so with the route's new cost its flow of 0 still has a
      // reduced cost >= 0 and every other arc is unchanged. Its change is therefore no
      // distance from the fixed point, wherever in its range the price of an origin that
      // ships nothing was reported (kaolin's idle exporters took 30 rounds of a levy chasing
      // such a price).
      const bool idle_and_unprofitable = !(traded[route.from * n + route.to] > 0.0) &&
                                         to.price_usd_per_t <= std::max(floor_usd_per_t_, landed) +
                                                                   route.buyer_premium_usd_per_t -
                                                                   clearing.price_tolerance;
      if (!idle_and_unprofitable) {
        out.distance_usd_per_t =
            std::max(out.distance_usd_per_t, std::abs(target - current.route_tariffs[j].usd_per_t));
      }
      out.target.route_tariffs.push_back({levied_routes_[j], target});
    }
    return out;
  }

  // A top-up with a budget: the share of claims the budget pays, which producers anticipate.
  std::optional<SearchedUnknown> searched() const override {
    if (levy_ || !budget_usd_) return std::nullopt;
    return SearchedUnknown{0.0, 1.0, 1.0, kBudgetFactorTolerance};
  }

  UnknownReading read(const Clearing& clearing, double factor) const override {
    const auto share = [&](double claims) {
      return claims > *budget_usd_ ? std::clamp(*budget_usd_ / claims, 0.0, 1.0) : 1.0;
    };
    UnknownReading reading;
    reading.target = share(claimed_usd(clearing.eq));
    // Where the factor settles if prices held (as for a subsidy's budget; subsidy.cpp).
    if (reading.target < 1.0 || factor < 1.0) {
      const auto views =
          incentive_.outlook(clearing.model, clearing.eq, base_feed_usd_per_t_, payment());
      std::vector<double> switches;
      for (const auto& view : views) {
        for (const auto& s : view.switches) switches.push_back(s.factor);
      }
      const auto modelled_target = [&](double f) {
        double claims = 0.0;
        for (const auto& view : views) {
          claims += settlement::price_gap_top_up_per_t(floor_usd_per_t_, view.price_at(f)).value() *
                    view.covered_at(f);
        }
        return share(claims);
      };
      reading.hint =
          budget_factor_hint(predict_fixed_point(switches, 0.0, 1.0, modelled_target), factor,
                             0.5 * clearing.price_tolerance / std::max(floor_usd_per_t_, 1.0));
    }
    // The factor moves every covered producer's incentive by at most floor x the change.
    reading.usd_per_t = floor_usd_per_t_;
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
    const market::MarketModel& model = context.market.model;
    if (levy_) {
      double revenue = 0.0, volume = 0.0;
      const std::size_t n = model.regions.size();
      const std::vector<double> traded = traded_by_pair(eq, n);
      for (std::size_t j = 0; j < levied_routes_.size(); ++j) {
        const market::Route& route = model.routes[levied_routes_[j]];
        const double quantity = traded[route.from * n + route.to];
        const double levy = current.terms.route_tariffs[j].usd_per_t;
        revenue += levy * quantity;
        if (levy > 0.0) volume += quantity;  // imports that paid a levy
      }
      report.figures.push_back({"levy_revenue", revenue, "USD"});
      report.figures.push_back({"levied_volume", volume, "t"});
    } else {
      const double claimed = claimed_usd(eq);
      auto paid = settlement::apply_budget({claimed}, budget_usd_, settlement::BudgetRule::kProRata)
                      .value();
      ProducerTerms offered;
      // Every member's producers, those without capacity yet included: a refinery built there
      // is paid the top-up once it is online.
      for (std::size_t r : incentive_.eligible_regions()) {
        offered.regions.push_back(model.regions[r].name);
      }
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
        if (auto note = anticipated_share_note(current.value.value_or(1.0), paid_share)) {
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
  std::vector<double> first_levy_;  // per levied route [USD/t]
  ProducerIncentive incentive_;
  double base_feed_usd_per_t_ = 0.0;
};

}  // namespace

std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec,
                                            const PriceFloorSpec& terms) {
  return std::make_unique<PriceFloor>(spec, terms);
}

}  // namespace critmin::policy
