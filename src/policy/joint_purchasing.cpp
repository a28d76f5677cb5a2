// Joint purchasing (docs/instruments/joint_purchasing.md).
//
//   [[instrument]]
//   type = "joint_purchasing"
//   material = "gallium"
//   share = 0.3                   # share of each member region's demand tendered jointly
//   max_price = 900000.0          # optional tender ceiling: no bid above it
//   eligible_suppliers = "members" # or "all" (the default)
//   delivery_region = "EU27"      # optional: where the tender takes delivery (default: the
//                                 # member region with the largest base-year demand)
//   unit = "USD/t"
//
// The tendered demand of the members is aggregated into one block: one buyer ("club/joint") that
// takes delivery at the delivery region and pays one uniform price; suppliers outside the eligible
// set cannot offer. The block is then allocated to the members in proportion to what each
// tendered. The tender buys processed material.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "policy/instrument.h"

namespace critmin::policy {
namespace {

// A demand step under a tender ceiling: no tonne is bid above `ceiling`. A sloped step whose curve
// crosses the ceiling becomes a flat part at the ceiling and the rest of its curve below it.
std::vector<market::DemandStep> capped(const market::DemandStep& step,
                                       std::optional<double> ceiling) {
  const double first = step.willingness_to_pay_usd_per_t;
  const double last = first - step.wtp_fall_usd_per_t;
  if (!ceiling || *ceiling >= first) return {step};
  if (*ceiling <= last || step.wtp_fall_usd_per_t <= 0.0) {
    market::DemandStep flat = step;
    flat.willingness_to_pay_usd_per_t = *ceiling;
    flat.wtp_fall_usd_per_t = 0.0;
    return {flat};
  }
  const double share = (first - *ceiling) / step.wtp_fall_usd_per_t;  // of the quantity above
  market::DemandStep flat = step, rest = step;
  flat.quantity_t = step.quantity_t * share;
  flat.willingness_to_pay_usd_per_t = *ceiling;
  flat.wtp_fall_usd_per_t = 0.0;
  rest.quantity_t = step.quantity_t - flat.quantity_t;
  rest.willingness_to_pay_usd_per_t = *ceiling;
  rest.wtp_fall_usd_per_t = *ceiling - last;
  return {flat, rest};
}

class JointPurchasing final : public Instrument {
 public:
  std::string type() const override { return "joint_purchasing"; }
  std::string label() const override {
    return fmt::format("joint_purchasing {} {:.0f}% of member demand ({} suppliers)", material_,
                       100.0 * share_, members_only_ ? "member" : "all");
  }
  int phase() const override { return 1; }

  JointPurchasing(const InstrumentSpec& spec, const JointPurchasingSpec& terms)
      : share_(terms.share),
        max_price_(terms.max_price_usd_per_t),
        members_only_(terms.members_only),
        delivery_(terms.delivery_region) {
    start(spec);
  }

  void prepare(ClubMarketYear& context) override {
    market::MarketModel& model = context.market.model;
    for (const market::Region& region : model.regions) {
      if (region.name == "club/joint") {
        context.problem(line_, "type",
                        "the club already tenders this material jointly (one joint_purchasing "
                        "per material); merge the two into one with the combined share");
        return;
      }
    }
    std::size_t delivery = 0;
    if (!delivery_.empty()) {
      const auto found = context.one_region(delivery_, line_, "delivery_region");
      if (!found) return;
      if (!context.member_regions.contains(*found)) {
        context.problem(line_, "delivery_region",
                        fmt::format("{} is not a member region", delivery_));
        return;
      }
      delivery = *found;
    } else {
      double largest = -1.0;
      for (std::size_t r : context.member_regions) {
        if (model.regions[r].name.ends_with("/certified")) continue;
        if (model.regions[r].base_demand_t > largest) {
          largest = model.regions[r].base_demand_t;
          delivery = r;
        }
      }
    }
    market::Region joint;
    joint.name = "club/joint";
    for (std::size_t r : context.member_regions) {
      market::Region& member = model.regions[r];
      if (member.name.ends_with("/certified")) continue;  // certified demand is not tendered
      const double tendered_base = member.base_demand_t * share_;
      if (tendered_base <= 0.0 && member.demand.empty()) continue;
      tendered_.push_back({r, tendered_base});
      std::vector<market::DemandStep> kept;
      for (const market::DemandStep& step : member.demand) {
        market::DemandStep tendered = step;
        tendered.quantity_t *= share_;
        for (const market::DemandStep& part : capped(tendered, max_price_)) {
          joint.demand.push_back(part);
        }
        if (share_ < 1.0) {
          market::DemandStep own = step;
          own.quantity_t *= 1.0 - share_;
          kept.push_back(own);
        }
      }
      member.demand = std::move(kept);
      member.base_demand_t -= tendered_base;
      joint.base_demand_t += tendered_base;
      joint.countries.insert(joint.countries.end(), member.countries.begin(),
                             member.countries.end());
    }
    if (tendered_.empty()) {
      context.problem(line_, "share", "no member region has demand to tender");
      return;
    }
    joint_ = model.regions.size();
    model.regions.push_back(std::move(joint));
    context.member_regions.insert(joint_);
    // The block takes delivery at the delivery region: the same routes, costs and tariffs as
    // into that region, from eligible suppliers only; the delivery region itself delivers free.
    const std::vector<market::Route> routes = model.routes;
    for (const market::Route& route : routes) {
      if (route.to != delivery || route.stage != Stage::kProcessing) continue;
      if (members_only_ && !context.member_regions.contains(route.from)) continue;
      market::Route into = route;
      into.to = joint_;
      model.routes.push_back(into);
    }
    model.routes.push_back({delivery, joint_, Stage::kProcessing, 0.0});
    for (market::ExportRestriction& restriction : model.restrictions) {
      if (restriction.stage == Stage::kProcessing &&
          std::find(restriction.destinations.begin(), restriction.destinations.end(), delivery) !=
              restriction.destinations.end()) {
        restriction.destinations.push_back(joint_);
      }
    }
  }

  InstrumentReport settle(const market::Equilibrium& eq, const ClubMarketYear& context,
                          const CurrentTerms& current) const override {
    (void)current;  // no price-dependent terms
    InstrumentReport report = report_header();
    const market::NodeResult& block = eq.node(joint_, Stage::kProcessing);
    double tendered_total = 0.0;
    for (const auto& [region, base] : tendered_) tendered_total += base;
    report.figures.push_back({"tendered_base_demand", tendered_total, "t"});
    report.figures.push_back({"volume_bought", block.consumption_t, "t"});
    report.figures.push_back({"tender_price", block.price_usd_per_t, "USD/t"});
    report.figures.push_back({"spend", block.consumption_t * block.price_usd_per_t, "USD"});
    report.figures.push_back({"unmet", std::max(0.0, tendered_total - block.consumption_t), "t"});
    for (const auto& [region, base] : tendered_) {
      report.figures.push_back(
          {fmt::format("allocated[{}]", context.market.model.regions[region].name),
           tendered_total > 0.0 ? block.consumption_t * base / tendered_total : 0.0, "t"});
    }
    return report;
  }

 private:
  double share_ = 0.0;
  std::optional<double> max_price_;
  bool members_only_ = false;
  std::string delivery_;
  std::size_t joint_ = 0;
  std::vector<std::pair<std::size_t, double>> tendered_;  // member region, tendered base demand
};

}  // namespace

std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec,
                                            const JointPurchasingSpec& terms) {
  return std::make_unique<JointPurchasing>(spec, terms);
}

}  // namespace critmin::policy
