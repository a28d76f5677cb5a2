// Standards-based (certified-only) market segment (docs/instruments/certified_market.md).
//
//   [[instrument]]
//   type = "certified_market"
//   material = "gallium"
//   standard = "IRMA"                        # the agreed standard, named in the results
//   certified_demand_share = 0.5             # share of member demand that must be certified
//   certification_cost_usd_per_t = 5000.0    # optional; default: data estimate (share of price)
//   certified_capacity = { CHN = 0.1 }       # optional overrides: share of capacity certified
//   fallback_premium_usd_per_t = 90000.0     # optional; default: data estimate (share of price)
//   fallback = true                          # optional; false: a strict mandate
//
// Each region with certified capacity gets a certified twin ("AUS/certified") holding that share
// of its mines and refineries, at their cost plus the certification cost. Certified product keeps
// its status along the chain only through certified facilities (chain of custody: certified
// refining needs certified feed) and may always be sold as open product; open product can never
// serve certified demand, except as a fallback: once the certified premium reaches the fallback
// cap, certified buyers take open product of their own region at that cap (a waiver's cost),
// reported as certified demand met from uncertified supply. Member regions' certified demand sits
// in their twin. Routes, tariffs and bans of a region apply to its twin too; an export quota is
// shared between a region and its twin in proportion to their capacity. The premium of the segment
// is the price gap between a member's certified and open market.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "policy/instrument.h"

namespace critmin::policy {
namespace {

class CertifiedMarket final : public Instrument {
 public:
  std::string type() const override { return "certified_market"; }
  std::string label() const override {
    return fmt::format("certified_market {} {} ({:.0f}% of member demand)", material_, standard_,
                       100.0 * demand_share_);
  }
  int phase() const override { return 0; }

  CertifiedMarket(const InstrumentSpec& spec, const CertifiedMarketSpec& terms)
      : standard_(terms.standard),
        demand_share_(terms.certified_demand_share),
        cost_usd_per_t_(terms.certification_cost_usd_per_t),
        fallback_(terms.fallback),
        fallback_premium_usd_per_t_(terms.fallback_premium_usd_per_t) {
    start(spec);
    for (const auto& [name, share] : terms.certified_capacity) {
      capacity_overrides_[name] = {share.share, share.line};
    }
    overrides_from_year_ = terms.certified_capacity_from_year;
  }

  void prepare(ClubMarketYear& context) override {
    market::MarketModel& model = context.market.model;
    const std::size_t n = model.regions.size();
    const auto estimate = [&](const char* name) -> std::optional<double> {
      Result<double> value = context.data.market_parameter(model.material, name);
      if (!value.is_ok()) {
        context.problem(line_, "type", value.status().message());
        return std::nullopt;
      }
      return value.value();
    };
    const auto member_estimate = estimate("certified_capacity_share_member");
    const auto other_estimate = estimate("certified_capacity_share_non_member");
    const auto cost_estimate = estimate("certification_cost_share");
    const auto fallback_estimate = estimate("certified_fallback_premium_share");
    if (!member_estimate || !other_estimate || !cost_estimate || !fallback_estimate) return;
    fallback_cap_usd_per_t_ = fallback_premium_usd_per_t_.value_or(
        *fallback_estimate * context.base_price(Stage::kProcessing));
    const double member_share = *member_estimate;
    const double other_share = *other_estimate;
    const double cost_share = *cost_estimate;
    const double cost[2] = {
        cost_usd_per_t_.value_or(cost_share * context.base_price(Stage::kExtraction)),
        cost_usd_per_t_.value_or(cost_share * context.base_price(Stage::kProcessing))};
    std::vector<double> share(n);
    for (std::size_t r = 0; r < n; ++r) {
      share[r] = context.member_regions.contains(r) ? member_share : other_share;
    }
    // Before the year the scenario's audits are done, only the data's default shares hold.
    const bool overrides_apply = !overrides_from_year_ || context.year >= *overrides_from_year_;
    for (const auto& [name, value] : capacity_overrides_) {
      if (auto r = context.one_region(name, value.second, "certified_capacity")) {
        if (overrides_apply) share[*r] = value.first;
      }
    }
    if (!overrides_apply && !capacity_overrides_.empty()) {
      context.notes.push_back(fmt::format(
          "line {}: certified_capacity applies from {}; in {} every region has the default share",
          line_, *overrides_from_year_, context.year));
    }
    if (!context.problems.empty()) return;
    if (demand_share_ > 0.0 && !fallback_ &&
        std::none_of(share.begin(), share.end(), [](double s) { return s > 0.0; })) {
      context.problem(line_, "certified_capacity",
                      "no region has certified capacity, so certified demand cannot be served at "
                      "all; give some region a share in certified_capacity (or lower "
                      "certified_demand_share to 0)");
      return;
    }
    twin_.assign(n, std::nullopt);
    for (std::size_t r = 0; r < n; ++r) {
      const bool member = context.member_regions.contains(r);
      const bool certified_demand = member && demand_share_ > 0.0;
      if (share[r] <= 0.0 && !certified_demand) continue;
      market::Region& open = model.regions[r];
      market::Region twin;
      twin.name = open.name + "/certified";
      twin.countries = open.countries;
      const auto split = [&](std::vector<market::SupplyStep>& steps,
                             std::vector<market::SupplyStep>& twin_steps, double extra) {
        std::vector<market::SupplyStep> kept;
        for (const market::SupplyStep& step : steps) {
          if (share[r] > 0.0) {
            market::SupplyStep certified = step;
            certified.capacity_t *= share[r];
            certified.unit_cost_usd_per_t += extra;
            twin_steps.push_back(certified);
          }
          if (share[r] < 1.0) {
            market::SupplyStep open_part = step;
            open_part.capacity_t *= 1.0 - share[r];
            kept.push_back(open_part);
          }
        }
        steps = std::move(kept);
      };
      split(open.extraction, twin.extraction, cost[0]);
      split(open.processing, twin.processing, cost[1]);
      if (certified_demand) {
        std::vector<market::DemandStep> kept;
        for (const market::DemandStep& step : open.demand) {
          market::DemandStep certified = step;
          certified.quantity_t *= demand_share_;
          twin.demand.push_back(certified);
          if (demand_share_ < 1.0) {
            market::DemandStep open_part = step;
            open_part.quantity_t *= 1.0 - demand_share_;
            kept.push_back(open_part);
          }
        }
        open.demand = std::move(kept);
        twin.base_demand_t = open.base_demand_t * demand_share_;
        open.base_demand_t -= twin.base_demand_t;
      }
      twin_[r] = model.regions.size();
      model.regions.push_back(std::move(twin));
      if (member) context.member_regions.insert(*twin_[r]);
    }
    // Routes: certified to certified as between the regions; certified to open (downgrade) as
    // between the regions and, within a region, at no cost.
    // Only routes that can carry something are added: a twin ships a stage's product only when it
    // makes it (it has the stage's capacity, or processing capacity for the product), and receives
    // ore only when it refines and metal only when it has certified demand. This keeps the network
    // small (the twins of members without certified capacity only buy).
    const auto ships = [&](std::size_t twin, Stage stage) {
      const market::Region& t = model.regions[twin];
      return stage == Stage::kExtraction ? !t.extraction.empty() : !t.processing.empty();
    };
    const auto receives = [&](std::size_t twin, Stage stage) {
      const market::Region& t = model.regions[twin];
      return stage == Stage::kExtraction ? !t.processing.empty() : !t.demand.empty();
    };
    const std::vector<market::Route> routes = model.routes;
    for (const market::Route& route : routes) {
      if (!twin_[route.from] || !ships(*twin_[route.from], route.stage)) continue;
      market::Route downgrade = route;
      downgrade.from = *twin_[route.from];
      model.routes.push_back(downgrade);
      if (twin_[route.to] && receives(*twin_[route.to], route.stage)) {
        market::Route certified = downgrade;
        certified.to = *twin_[route.to];
        model.routes.push_back(certified);
      }
    }
    for (std::size_t r = 0; r < n; ++r) {
      if (!twin_[r]) continue;
      for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
        if (ships(*twin_[r], stage)) model.routes.push_back({*twin_[r], r, stage, 0.0});
      }
      // The fallback: a member's certified buyers take open product, its own or imported as its
      // open buyers would import it (same transport, tariffs and, as the twin is a member, any
      // levy), at the premium cap on top.
      if (fallback_ && receives(*twin_[r], Stage::kProcessing)) {
        model.routes.push_back({r, *twin_[r], Stage::kProcessing, fallback_cap_usd_per_t_, 0.0, 0.0,
                                fallback_cap_usd_per_t_});
        for (const market::Route& route : routes) {
          if (route.stage != Stage::kProcessing || route.to != r) continue;
          market::Route fallback = route;
          fallback.to = *twin_[r];
          fallback.transport_cost_usd_per_t += fallback_cap_usd_per_t_;
          fallback.buyer_premium_usd_per_t += fallback_cap_usd_per_t_;
          model.routes.push_back(fallback);
        }
      }
    }
    // Restrictions follow the regions: a ban on a region's exports covers its twin's, and a
    // destination's twin is a destination too.
    std::vector<market::ExportRestriction> added;
    for (market::ExportRestriction& restriction : model.restrictions) {
      const std::vector<std::size_t> destinations = restriction.destinations;
      for (std::size_t d : destinations) {
        if (d < n && twin_[d]) restriction.destinations.push_back(*twin_[d]);
      }
      if (restriction.origin < n && twin_[restriction.origin]) {
        market::ExportRestriction twin = restriction;
        twin.name += "/certified";
        twin.origin = *twin_[restriction.origin];
        twin.destinations.erase(
            std::remove(twin.destinations.begin(), twin.destinations.end(), twin.origin),
            twin.destinations.end());
        if (restriction.kind == market::RestrictionKind::kQuota) {
          twin.quota_t = restriction.quota_t * share[restriction.origin];
          restriction.quota_t -= twin.quota_t;
        }
        added.push_back(twin);
      }
    }
    for (market::ExportRestriction& r : added) model.restrictions.push_back(std::move(r));
    cost_[0] = cost[0];
    cost_[1] = cost[1];
  }

  InstrumentReport settle(const market::Equilibrium& eq, const ClubMarketYear& context,
                          const CurrentTerms& current) const override {
    (void)current;  // no price-dependent terms
    InstrumentReport report = report_header();
    const market::MarketModel& model = context.market.model;
    double certified_output = 0.0, certified_use = 0.0, premium_weighted = 0.0;
    double certified_shortfall = 0.0, fallback_t = 0.0;
    for (const market::FlowResult& f : eq.flows) {
      // Open product (from a region, not a twin) that reached a twin.
      const bool to_twin = std::find(twin_.begin(), twin_.end(), f.to) != twin_.end();
      if (f.stage == Stage::kProcessing && f.from < twin_.size() && to_twin) {
        fallback_t += f.quantity_t;
      }
    }
    for (std::size_t r = 0; r < twin_.size(); ++r) {
      if (!twin_[r]) continue;
      const market::NodeResult& twin = eq.node(*twin_[r], Stage::kProcessing);
      const market::NodeResult& open = eq.node(r, Stage::kProcessing);
      certified_output += twin.production_t;
      // Every member with certified demand: its premium (what certified buyers pay over open
      // ones; when nothing certified arrives, the price at which its certified demand is rationed)
      // and how much certified demand goes unserved.
      if (context.member_regions.contains(r) && model.regions[*twin_[r]].base_demand_t > 0.0) {
        certified_use += twin.consumption_t;
        premium_weighted += (twin.price_usd_per_t - open.price_usd_per_t) * twin.consumption_t;
        certified_shortfall += eq.accounts[*twin_[r]].shortfall_t;
        report.figures.push_back({fmt::format("premium[{}]", model.regions[r].name),
                                  twin.price_usd_per_t - open.price_usd_per_t, "USD/t"});
      }
    }
    report.figures.push_back({"certified_output", certified_output, "t"});
    report.figures.push_back({"certified_member_use", certified_use, "t"});
    report.figures.push_back(
        {"premium", certified_use > 0.0 ? premium_weighted / certified_use : 0.0, "USD/t"});
    report.figures.push_back({"certified_shortfall", certified_shortfall, "t"});
    report.figures.push_back({"certified_fallback", fallback_t, "t"});
    report.figures.push_back(
        {"fallback_premium_cap", fallback_ ? fallback_cap_usd_per_t_ : 0.0, "USD/t"});
    report.figures.push_back({"certification_cost_processing", cost_[1], "USD/t"});
    report.notes.push_back(fmt::format("standard: {}", standard_));
    return report;
  }

 private:
  std::string standard_;
  double demand_share_ = 0.0;
  std::optional<double> cost_usd_per_t_;
  bool fallback_ = true;
  std::optional<double> fallback_premium_usd_per_t_;
  double fallback_cap_usd_per_t_ = 0.0;                               // [USD/t] set by prepare()
  std::map<std::string, std::pair<double, int>> capacity_overrides_;  // name -> share, line
  std::optional<int> overrides_from_year_;  // the overrides apply from this year on
  std::vector<std::optional<std::size_t>> twin_;
  double cost_[2] = {0.0, 0.0};
};

}  // namespace

std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec,
                                            const CertifiedMarketSpec& terms) {
  return std::make_unique<CertifiedMarket>(spec, terms);
}

}  // namespace critmin::policy
