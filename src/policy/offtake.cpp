// Long-term offtake contracts and the H2Global-style intermediary (docs/instruments/offtake.md).
//
//   [[instrument]]
//   type = "offtake"
//   material = "lithium"
//   stage = "processing"
//   seller = "AUS"                 # one region (or a country of one)
//   buyer = "EU27"
//   volume_t_per_year = 20000.0
//   price_kind = "indexed"         # or "fixed" with price = ...
//   index_factor = 0.95            # indexed: clamp(index_factor * reference + adder, floor, cap)
//   adder = 0.0
//   floor = 15000.0
//   cap = 40000.0
//   unit = "USD/t"
//   start_year = 2024
//   tenor_years = 10
//   take_or_pay_share = 0.8
//
//   [[instrument]]
//   type = "intermediary"
//   material = "gallium"
//   stage = "processing"
//   seller = "JPN"                 # buys long from the seller at a fixed price...
//   resale_region = "EU27"         # ...and resells in the member market at its price
//   volume_t_per_year = 50.0
//   purchase_price = 700000.0
//   grant_budget_usd = 5e6         # funds the deficit; the volume bought is what the grant covers
//
// Contracted volumes are delivered first (a fixed flow in the market); the market clears the
// rest. Settlement against the market uses the buyer's market price as the reference.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "critmin/policy/settlement.h"
#include "policy/instrument.h"

namespace critmin::policy {
namespace {

// Transport and tariff a contracted delivery pays between two regions at a stage (0 within a
// region): the route as the club left it, before any instrument (so a levy, which applies to
// market imports, never reaches a contract, and the order of instruments does not matter); an ad
// valorem tariff is charged on the stage's base-year price (the contract price is settled after
// the clearing, so it cannot be the base of a duty inside it).
std::pair<double, double> route_costs(const ClubMarketYear& context, std::size_t from,
                                      std::size_t to, Stage stage) {
  for (const market::Route& route : context.original_routes) {
    if (route.from == from && route.to == to && route.stage == stage) {
      return {
          route.transport_cost_usd_per_t,
          route.specific_tariff_usd_per_t + route.ad_valorem_tariff * context.base_price(stage)};
    }
  }
  return {0.0, 0.0};
}

class Offtake final : public Instrument {
 public:
  std::string type() const override { return "offtake"; }
  std::string label() const override {
    return fmt::format("offtake {} {} {} -> {} {:.6g} t/yr", material_, stage_name(stage_), seller_,
                       buyer_, terms_.volume_t_per_year);
  }

  Offtake(const InstrumentSpec& spec, const OfftakeSpec& terms)
      : stage_(terms.stage), seller_(terms.seller), buyer_(terms.buyer), terms_(terms.terms) {
    start(spec);
  }

  bool in_force(int year) const override { return settlement::offtake_active(terms_, year); }
  std::string out_of_force_reason(int year) const override {
    return fmt::format(
        "the contract runs {}-{} and is not in force in {}: it is past its tenor or not yet "
        "started; change start_year/tenor_years or the year",
        terms_.start_year, terms_.start_year + terms_.tenor_years - 1, year);
  }

  void prepare(ClubMarketYear& context) override {
    market::MarketModel& model = context.market.model;
    const auto seller = context.one_region(seller_, line_, "seller");
    const auto buyer = context.one_region(buyer_, line_, "buyer");
    if (!seller || !buyer) return;
    seller_region_ = context.producing_region(*seller, stage_);
    buyer_region_ = *buyer;
    const auto [transport, tariff] = route_costs(context, seller_region_, *buyer, stage_);
    delivery_ = model.deliveries.size();
    model.deliveries.push_back({fmt::format("{}:{}", context.file, line_), seller_region_, *buyer,
                                stage_, terms_.volume_t_per_year, transport, tariff});
  }

  InstrumentReport settle(const market::Equilibrium& eq, const ClubMarketYear& context,
                          const CurrentTerms& current) const override {
    (void)current;
    InstrumentReport report = report_header();
    const double reference = eq.node(buyer_region_, stage_).price_usd_per_t;
    const auto settled =
        settlement::settle_offtake(terms_, context.year, terms_.volume_t_per_year, reference);
    if (!settled.is_ok()) {
      report.notes.push_back(settled.status().message());
      return report;
    }
    const settlement::OfftakeSettlement& s = settled.value();
    report.figures.push_back({"delivered", s.delivered_t, "t"});
    report.figures.push_back({"contract_price", s.contract_price_usd_per_t, "USD/t"});
    report.figures.push_back({"reference_price", reference, "USD/t"});
    report.figures.push_back({"buyer_pays", s.buyer_pays_usd, "USD"});
    report.figures.push_back({"buyer_gain_vs_market", s.buyer_gain_vs_market_usd, "USD"});
    return report;
  }

 private:
  Stage stage_ = Stage::kProcessing;
  std::string seller_, buyer_;
  settlement::OfftakeTerms terms_;
  std::size_t seller_region_ = 0, buyer_region_ = 0, delivery_ = 0;
};

class Intermediary final : public Instrument {
 public:
  std::string type() const override { return "intermediary"; }
  std::string label() const override {
    return fmt::format("intermediary {} {} {} -> {}", material_, stage_name(stage_), seller_,
                       resale_);
  }

  Intermediary(const InstrumentSpec& spec, const IntermediarySpec& terms)
      : stage_(terms.stage),
        seller_(terms.seller),
        resale_(terms.resale_region),
        volume_t_(terms.volume_t_per_year),
        purchase_usd_per_t_(terms.purchase_usd_per_t),
        grant_usd_(terms.grant_budget_usd) {
    start(spec);
  }

  void prepare(ClubMarketYear& context) override {
    market::MarketModel& model = context.market.model;
    const auto seller = context.one_region(seller_, line_, "seller");
    const auto resale = context.one_region(resale_, line_, "resale_region");
    if (!seller || !resale) return;
    if (!context.member_regions.contains(*resale)) {
      context.problem(line_, "resale_region",
                      fmt::format("{} is not a member region; the intermediary resells in the "
                                  "club's market",
                                  resale_));
      return;
    }
    seller_region_ = context.producing_region(*seller, stage_);
    resale_region_ = *resale;
    const auto [transport, tariff] = route_costs(context, seller_region_, *resale, stage_);
    delivery_ = model.deliveries.size();
    model.deliveries.push_back({fmt::format("{}:{}", context.file, line_), seller_region_, *resale,
                                stage_, volume_t_, transport, tariff});
  }

  // The intermediary buys only what its grant can fund: when the deficit at the resale price
  // exceeds the grant, the volume shrinks to grant / (purchase - resale price). The volume is
  // the unknown the outer loop searches, from the contract volume down.
  std::optional<SearchedUnknown> searched() const override {
    return SearchedUnknown{0.0, volume_t_, volume_t_, 1e-9 * std::max(1.0, volume_t_)};
  }

  UnknownReading read(const Clearing& clearing, double volume_t) const override {
    (void)volume_t;
    const double resale_price = clearing.eq.node(resale_region_, stage_).price_usd_per_t;
    const double unit_deficit = purchase_usd_per_t_ - resale_price;
    UnknownReading reading;
    reading.target =
        unit_deficit > 0.0 ? std::min(volume_t_, grant_usd_ / unit_deficit) : volume_t_;
    // The volume's distance from its fixed point, valued at the unit deficit, as a price per
    // tonne of the contract volume.
    reading.unit = std::max(volume_t_, 1e-12);
    reading.usd_per_t = std::abs(unit_deficit);
    return reading;
  }

  // The delivery prepare() added, at the volume bought.
  Terms terms_at(double volume_t) const override {
    Terms terms;
    terms.delivery_volumes.push_back({delivery_, volume_t});
    return terms;
  }

  InstrumentReport settle(const market::Equilibrium& eq, const ClubMarketYear& context,
                          const CurrentTerms& current) const override {
    InstrumentReport report = report_header();
    const double bought_t = current.value.value_or(volume_t_);
    const double resale_price = eq.node(resale_region_, stage_).price_usd_per_t;
    const auto year =
        settlement::settle_intermediary(bought_t, purchase_usd_per_t_, resale_price, grant_usd_);
    if (!year.is_ok()) {
      report.notes.push_back(year.status().message());
      return report;
    }
    report.figures.push_back({"volume_bought", bought_t, "t"});
    report.figures.push_back({"purchase_cost", year.value().purchase_cost_usd, "USD"});
    report.figures.push_back({"resale_revenue", year.value().resale_revenue_usd, "USD"});
    report.figures.push_back({"deficit", year.value().deficit_usd, "USD"});
    report.figures.push_back({"grant_paid", year.value().grant_paid_usd, "USD"});
    report.figures.push_back({"unfunded_deficit", year.value().unfunded_deficit_usd, "USD"});
    if (bought_t < volume_t_ * (1.0 - 1e-9)) {
      report.notes.push_back(fmt::format(
          "the grant binds: the intermediary buys {:.6g} of the {:.6g} t it could contract",
          bought_t, volume_t_));
    }
    (void)context;
    return report;
  }

 private:
  Stage stage_ = Stage::kProcessing;
  std::string seller_, resale_;
  double volume_t_ = 0.0, purchase_usd_per_t_ = 0.0, grant_usd_ = 0.0;
  std::size_t seller_region_ = 0, resale_region_ = 0, delivery_ = 0;
};

}  // namespace

std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec, const OfftakeSpec& terms) {
  return std::make_unique<Offtake>(spec, terms);
}

std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec,
                                            const IntermediarySpec& terms) {
  return std::make_unique<Intermediary>(spec, terms);
}

}  // namespace critmin::policy
