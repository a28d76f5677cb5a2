// Strategic stockpile of a member (docs/instruments/stockpile.md). This is also the documented
// example instrument: the smallest complete use of the interface in policy/instrument.h, to copy
// when adding a new one. Its four parts:
//   the constructor takes its typed spec (policy::StockpileSpec; the scenario layer reads it from
//              the [[instrument]] table and checks every key, src/scenario/instrument_reader.cpp);
//   prepare()  turns the stock into market offers: release steps (stock offered to the holder's
//              buyers at the release trigger) and refill steps (bought below the refill trigger);
//   terms      none: the offers do not depend on the price, so it keeps the interface's defaults
//              (no direct terms, no searched unknown) and the outer loop has nothing to settle;
//   settle()   reports the stock balance (end = start - release + refill, conserved exactly) and
//              its cost: refill purchases at the market price, holding cost on the mean stock.
//
//   [[instrument]]
//   type = "stockpile"
//   material = "gallium"
//   holder = "EU27"                       # one member region
//   days_of_cover = 60.0                  # target stock = days / 365 x base-year demand
//   initial_fill = 1.0                    # share of the target held at the start of the year
//   release = "shortfall"                 # or "price" with release_price = ...
//   refill_price = 500000.0               # buys for the stock below this price...
//   refill_rate_t_per_year = 20.0         # ...at most this much a year, up to the target
//   holding_cost_usd_per_t_year = 2000.0  # storage, insurance and capital
//   unit = "USD/t"                        # of the prices (not of holding_cost, always USD/t/yr)
//
// "shortfall" releases whenever the holder's buyers would otherwise pay more than in the base
// year: the release trigger is the base-year landed price at the holder (the base price plus the
// cheapest freight and tariff into it), so a disruption that raises the price releases stock and
// the undisturbed market does not.
#include <fmt/format.h>

#include <algorithm>

#include "policy/instrument.h"

namespace critmin::policy {
namespace {

class Stockpile final : public Instrument {
 public:
  std::string type() const override { return "stockpile"; }
  std::string label() const override {
    return fmt::format("stockpile {} {} {:.6g} days ({} release)", material_, holder_,
                       days_of_cover_, release_on_shortfall_ ? "shortfall" : "price");
  }

  Stockpile(const InstrumentSpec& spec, const StockpileSpec& terms)
      : holder_(terms.holder),
        days_of_cover_(terms.days_of_cover),
        initial_fill_(terms.initial_fill),
        release_on_shortfall_(terms.release_on_shortfall),
        release_price_(terms.release_price_usd_per_t),
        refill_price_(terms.refill_price_usd_per_t),
        refill_rate_t_(terms.refill_rate_t_per_year),
        holding_cost_usd_per_t_year_(terms.holding_cost_usd_per_t_year) {
    start(spec);
  }

  void prepare(ClubMarketYear& context) override {
    const auto holder = context.one_region(holder_, line_, "holder");
    if (!holder) return;
    if (*holder >= context.original_region_count) {
      context.problem(line_, "holder",
                      fmt::format("{} is a segment made by another instrument (a certified twin or "
                                  "a joint-purchasing block); name the member region itself",
                                  holder_));
      return;
    }
    if (!context.member_regions.contains(*holder)) {
      context.problem(line_, "holder",
                      fmt::format("{} is not a member region; the club's stockpiles are held by "
                                  "members",
                                  holder_));
      return;
    }
    holder_region_ = *holder;
    market::MarketModel& model = context.market.model;
    // The holder's own base demand, before other instruments moved parts of it into a certified
    // segment or a joint-purchasing block: the stock covers all of the holder's buyers.
    target_t_ = days_of_cover_ / 365.0 * context.original_base_demand_t[*holder];
    holder_base_demand_t_ = context.original_base_demand_t[*holder];
    start_t_ = initial_fill_ * target_t_;
    // A multi-year run carries the stock from the end of the previous year.
    if (auto it = context.stock_start_t.find(line_); it != context.stock_start_t.end()) {
      start_t_ = it->second;
    }
    // The shortfall trigger is the holder's base-year landed price: the base price plus the
    // cheapest freight and tariff into the holder (an importer's buyers pay that much in the base
    // year without any shortfall), or the base price for a holder that no route reaches.
    double landed_extra = 0.0;
    bool reached = false;
    for (const market::Route& route : context.original_routes) {
      if (route.to != *holder || route.stage != Stage::kProcessing) continue;
      const double extra = route.transport_cost_usd_per_t + route.specific_tariff_usd_per_t;
      landed_extra = reached ? std::min(landed_extra, extra) : extra;
      reached = true;
    }
    const double release_price = release_on_shortfall_
                                     ? context.base_price(Stage::kProcessing) + landed_extra
                                     : release_price_;
    if (refill_price_ && *refill_price_ >= release_price) {
      context.problem(line_, "refill_price",
                      fmt::format("the refill price {:.6g} USD/t is not below the release trigger "
                                  "(the base-year price {:.6g} USD/t); lower it",
                                  *refill_price_, release_price));
      return;
    }
    market::StockOffer offer;
    offer.region = *holder;
    if (start_t_ > 0.0) offer.release.push_back({start_t_, release_price});
    const double room_t = target_t_ - start_t_;
    if (refill_price_ && refill_rate_t_ && room_t > 0.0 && *refill_rate_t_ > 0.0) {
      offer.refill.push_back({std::min(*refill_rate_t_, room_t), *refill_price_});
    }
    offer.holder = label();
    offer.stock_t = start_t_;
    stock_index_.reset();
    if (!offer.release.empty() || !offer.refill.empty()) {
      stock_index_ = model.stocks.size();
      model.stocks.push_back(offer);
    }
  }

  InstrumentReport settle(const market::Equilibrium& eq, const ClubMarketYear& context,
                          const CurrentTerms& current) const override {
    (void)current;  // no price-dependent terms
    InstrumentReport report = report_header();
    report.holder = holder_;
    const market::NodeResult& node = eq.node(holder_region_, Stage::kProcessing);
    // Only this instrument's own offer: the market's commercial and state stocks trade at the
    // same node.
    const market::StockResult own = stock_index_ && *stock_index_ < eq.stocks.size()
                                        ? eq.stocks[*stock_index_]
                                        : market::StockResult{};
    // The network path rounds capacities to 1e-9 of the total supply; the stock balance is kept
    // exact by clamping the release to what was in stock.
    const double released_t = std::min(own.released_t, start_t_);
    const double end_t = std::max(0.0, start_t_ - released_t + own.refilled_t);
    const double base_demand = holder_base_demand_t_;
    (void)context;
    report.figures.push_back({"target_stock", target_t_, "t"});
    report.figures.push_back({"stock_start", start_t_, "t"});
    report.figures.push_back({"released", released_t, "t"});
    report.figures.push_back({"refilled", own.refilled_t, "t"});
    report.figures.push_back({"stock_end", end_t, "t"});
    report.figures.push_back(
        {"days_of_cover_end", base_demand > 0.0 ? 365.0 * end_t / base_demand : 0.0, "days"});
    report.figures.push_back({"refill_cost", own.refilled_t * node.price_usd_per_t, "USD"});
    report.figures.push_back({"release_revenue", released_t * node.price_usd_per_t, "USD"});
    report.figures.push_back(
        {"holding_cost", holding_cost_usd_per_t_year_ * 0.5 * (start_t_ + end_t), "USD"});
    return report;
  }

 private:
  std::string holder_;
  double days_of_cover_ = 0.0, initial_fill_ = 1.0;
  bool release_on_shortfall_ = true;
  double release_price_ = 0.0;
  std::optional<double> refill_price_, refill_rate_t_;
  double holding_cost_usd_per_t_year_ = 0.0;
  std::size_t holder_region_ = 0;
  double target_t_ = 0.0, start_t_ = 0.0, holder_base_demand_t_ = 0.0;
  // Where apply() put this instrument's offer in MarketModel::stocks.
  std::optional<std::size_t> stock_index_;
};

}  // namespace

std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec,
                                            const StockpileSpec& terms) {
  return std::make_unique<Stockpile>(spec, terms);
}

}  // namespace critmin::policy
