// Strategic stockpile of a member (docs/instruments/stockpile.md). This is also the documented
// example instrument: the smallest complete use of the interface in policy/instrument.h, to copy
// when adding a new one. Its four parts:
//   read()     checks every key of its [[instrument]] table (file:line:key with a fix-it hint);
//   prepare()  turns the stock into market offers: release steps (stock offered to the holder's
//              buyers at the release trigger) and refill steps (bought below the refill trigger);
//   update()   nothing: the offers do not depend on the price, so no outer loop is needed;
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
  std::unique_ptr<Instrument> clone() const override { return std::make_unique<Stockpile>(*this); }
  std::string type() const override { return "stockpile"; }
  std::string label() const override {
    return fmt::format("stockpile {} {} {:.6g} days ({} release)", material_, holder_,
                       days_of_cover_, release_on_shortfall_ ? "shortfall" : "price");
  }

  static std::unique_ptr<Instrument> read(const InstrumentReading& reading) {
    auto stock = std::make_unique<Stockpile>();
    TomlFields& fields = reading.fields;
    const toml::table& t = reading.table;
    reading.start(*stock);
    fields.check_keys(t, "instrument (stockpile)",
                      {"type", "material", "stage", "holder", "days_of_cover", "initial_fill",
                       "release", "release_price", "refill_price", "refill_rate_t_per_year",
                       "holding_cost_usd_per_t_year", "unit"});
    if (t.get("stage") && reading.stage() != Stage::kProcessing) {
      fields.error(*t.get("stage"), "stage",
                   "stockpiles hold processed material: use \"processing\"");
    }
    stock->holder_ = fields.text(t, "holder", true).value_or("");
    stock->days_of_cover_ = fields.number(t, "days_of_cover", 0.0, 3650.0, true).value_or(0.0);
    stock->initial_fill_ = fields.number(t, "initial_fill", 0.0, 1.0).value_or(1.0);
    const std::string release = fields.text(t, "release", true).value_or("shortfall");
    if (release == "price") {
      stock->release_on_shortfall_ = false;
      stock->release_price_ = reading.price("release_price", true).value_or(0.0);
    } else if (release == "shortfall") {
      if (const toml::node* node = t.get("release_price")) {
        fields.error(*node, "release_price",
                     "release = \"shortfall\" releases at the base-year price; use release = "
                     "\"price\" to give a trigger price");
      }
    } else {
      fields.error(*t.get("release"), "release", "use \"shortfall\" or \"price\"");
    }
    stock->refill_price_ = reading.price("refill_price", false);
    stock->refill_rate_t_ = fields.number(t, "refill_rate_t_per_year", 0.0, 1e12);
    if (stock->refill_price_.has_value() != stock->refill_rate_t_.has_value()) {
      fields.error(t, "refill_price",
                   "a refill rule needs both refill_price and refill_rate_t_per_year");
    }
    if (!stock->release_on_shortfall_ && stock->refill_price_ &&
        *stock->refill_price_ >= stock->release_price_) {
      fields.error(*t.get("refill_price"), "refill_price",
                   "the refill price must be below the release price, or the stock would buy "
                   "and sell at once");
    }
    stock->holding_cost_usd_per_t_year_ =
        fields.number(t, "holding_cost_usd_per_t_year", 0.0, 1e12, true).value_or(0.0);
    return stock;
  }

  void prepare(ClearingContext& context) override {
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
    if (context.stock_start_t) {
      if (auto it = context.stock_start_t->find(line_); it != context.stock_start_t->end()) {
        start_t_ = it->second;
      }
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
    if (!offer.release.empty() || !offer.refill.empty()) model.stocks.push_back(offer);
  }

  InstrumentReport settle(const market::Equilibrium& eq,
                          const ClearingContext& context) const override {
    InstrumentReport report = report_header();
    report.holder = holder_;
    const market::NodeResult& node = eq.node(holder_region_, Stage::kProcessing);
    // The network path rounds capacities to 1e-9 of the total supply; the stock balance is kept
    // exact by clamping the release to what was in stock.
    const double released_t = std::min(node.stock_release_t, start_t_);
    const double end_t = std::max(0.0, start_t_ - released_t + node.stock_refill_t);
    const double base_demand = holder_base_demand_t_;
    (void)context;
    report.figures.push_back({"target_stock", target_t_, "t"});
    report.figures.push_back({"stock_start", start_t_, "t"});
    report.figures.push_back({"released", released_t, "t"});
    report.figures.push_back({"refilled", node.stock_refill_t, "t"});
    report.figures.push_back({"stock_end", end_t, "t"});
    report.figures.push_back(
        {"days_of_cover_end", base_demand > 0.0 ? 365.0 * end_t / base_demand : 0.0, "days"});
    report.figures.push_back({"refill_cost", node.stock_refill_t * node.price_usd_per_t, "USD"});
    report.figures.push_back(
        {"release_revenue", node.stock_release_t * node.price_usd_per_t, "USD"});
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
};

}  // namespace

std::unique_ptr<Instrument> read_stockpile(const InstrumentReading& reading) {
  return Stockpile::read(reading);
}

}  // namespace critmin::policy
