// The readers of the club's instruments: one [[instrument]] table into a typed
// policy::InstrumentSpec, every key checked against the scenario schema (file:line:key with a
// fix). What depends on the market (a region it does not have) is checked when the instrument is
// applied (policy::clear_with_instruments).
#include "scenario/instrument_reader.h"

#include <fmt/format.h>

#include <algorithm>

#include "scenario/table_reader.h"

namespace critmin::scenario {
namespace {

using policy::InstrumentSpec;

// The context of one [[instrument]] table: its reader, with the instrument's unit of prices.
class InstrumentTable {
 public:
  InstrumentTable(TomlFields& fields, const toml::table& table, const std::string& type)
      : in(fields, table, "instrument." + type, fmt::format("instrument ({})", type)) {}

  // The factor from the table's `unit` key to USD/t: "USD/t" (default) 1, "USD/kg" 1000.
  double price_factor() {
    const auto unit = in.fields().text(in.table(), "unit", false);
    if (!unit || *unit == "USD/t") return 1.0;
    if (*unit == "USD/kg") return 1000.0;
    in.error(
        "unit",
        fmt::format("unknown unit '{}'; prices are \"USD/t\" (the default) or \"USD/kg\"", *unit));
    return 1.0;
  }
  // A price key converted to USD/t (>= 0; required as the schema says).
  std::optional<double> price(const char* key) {
    const auto value = in.number(key);
    if (!value) return std::nullopt;
    return *value * price_factor();
  }
  // The stage key, required for the instruments whose schema requires it.
  std::optional<Stage> stage() {
    const auto value = in.text("stage");
    if (!value) return std::nullopt;
    const auto parsed = parse_stage(*value);
    if (!parsed) in.error("stage", "use \"extraction\" or \"processing\"");
    return parsed;
  }
  // Refuses a key that the instrument's other keys exclude.
  void refuse(const char* key, const char* why) {
    if (in.has(key)) in.error(key, why);
  }

  TableReader in;
};

policy::PriceFloorSpec read_price_floor(InstrumentTable& table) {
  TableReader& in = table.in;
  policy::PriceFloorSpec spec;
  spec.stage = table.stage().value_or(Stage::kProcessing);
  spec.floor_usd_per_t = table.price("price").value_or(0.0);
  const std::string enforcement = in.text("enforcement").value_or("levy");
  if (enforcement != "levy" && enforcement != "top_up") {
    in.error("enforcement",
             "use \"levy\" (variable import levy on non-member supply) or \"top_up\" (price-gap "
             "payment to member producers)");
  }
  spec.levy = enforcement == "levy";
  spec.budget_usd = in.number("budget_usd");
  if (spec.levy && spec.budget_usd) {
    in.error("budget_usd", "a levy raises money and has no budget; a budget caps a top_up");
  }
  return spec;
}

policy::SubsidySpec read_subsidy(InstrumentTable& table) {
  TableReader& in = table.in;
  policy::SubsidySpec spec;
  spec.stage = table.stage().value_or(Stage::kProcessing);
  const std::string kind = in.text("kind").value_or("cfd");
  settlement::SubsidyTerms& terms = spec.terms;
  if (kind == "cfd") {
    terms.kind = settlement::SubsidyKind::kTwoWayCfd;
    terms.strike_usd_per_t = table.price("strike").value_or(0.0);
    if (!in.has("strike")) in.error("strike", "missing key 'strike' (a number)");
    table.refuse("floor", "a cfd has a strike, not a floor");
    table.refuse("premium", "a cfd has a strike, not a premium");
    table.refuse("upside_share", "a cfd pays back the whole upside; use floor_with_upside_share");
    table.refuse("upside_threshold", "a cfd has no upside threshold; use floor_with_upside_share");
  } else if (kind == "floor_with_upside_share") {
    terms.kind = settlement::SubsidyKind::kFloorWithUpsideShare;
    terms.strike_usd_per_t = table.price("floor").value_or(0.0);
    if (!in.has("floor")) in.error("floor", "missing key 'floor' (a number)");
    terms.upside_share = in.number("upside_share").value_or(0.0);
    if (!in.has("upside_share")) in.error("upside_share", "missing key 'upside_share' (a number)");
    terms.upside_threshold_usd_per_t = table.price("upside_threshold");
    if (terms.upside_threshold_usd_per_t &&
        *terms.upside_threshold_usd_per_t < terms.strike_usd_per_t) {
      in.error("upside_threshold",
               "the threshold of the upside share must be at or above the floor");
    }
    table.refuse("strike", "floor_with_upside_share has a floor, not a strike");
    table.refuse("premium", "floor_with_upside_share has a floor, not a premium");
  } else if (kind == "fixed_premium") {
    terms.kind = settlement::SubsidyKind::kFixedPremium;
    terms.premium_usd_per_t = table.price("premium").value_or(0.0);
    if (!in.has("premium")) in.error("premium", "missing key 'premium' (a number)");
    table.refuse("strike", "a fixed premium has a premium, not a strike");
    table.refuse("floor", "a fixed premium has a premium, not a floor");
    table.refuse("upside_share", "a fixed premium shares no upside");
    table.refuse("upside_threshold", "a fixed premium shares no upside");
  } else {
    in.error("kind", "use \"cfd\", \"floor_with_upside_share\" or \"fixed_premium\"");
  }
  spec.producers = in.strings("producers").value_or(std::vector<std::string>{});
  spec.volume_t = in.number("volume_t");
  if (spec.volume_t && *spec.volume_t <= 0.0) {
    in.error("volume_t", "a covered volume must be positive");
  }
  spec.budget_usd = in.number("budget_usd");
  const std::string rule = in.text("budget_rule").value_or("pro_rata");
  if (rule != "pro_rata" && rule != "first_come") {
    in.error("budget_rule", "use \"pro_rata\" or \"first_come\"");
  }
  if (in.has("budget_rule") && !spec.budget_usd) {
    in.error("budget_rule", "a budget rule needs budget_usd");
  }
  spec.budget_rule =
      rule == "first_come" ? settlement::BudgetRule::kFirstCome : settlement::BudgetRule::kProRata;
  return spec;
}

policy::OfftakeSpec read_offtake(InstrumentTable& table) {
  TableReader& in = table.in;
  policy::OfftakeSpec spec;
  spec.stage = table.stage().value_or(Stage::kProcessing);
  spec.seller = in.text("seller").value_or("");
  spec.buyer = in.text("buyer").value_or("");
  settlement::OfftakeTerms& terms = spec.terms;
  const auto volume = in.number("volume_t_per_year");
  terms.volume_t_per_year = volume.value_or(0.0);
  if (volume && *volume <= 0.0) {
    in.error("volume_t_per_year", "a contracted volume must be positive");
  }
  const std::string kind = in.text("price_kind").value_or("fixed");
  if (kind == "fixed") {
    terms.price.kind = settlement::OfftakePrice::Kind::kFixed;
    terms.price.fixed_usd_per_t = table.price("price").value_or(0.0);
    if (!in.has("price")) in.error("price", "missing key 'price' (a number)");
    for (const char* key : {"index_factor", "adder", "floor", "cap"}) {
      table.refuse(key, "a fixed price takes no index terms; use price_kind = \"indexed\"");
    }
  } else if (kind == "indexed") {
    terms.price.kind = settlement::OfftakePrice::Kind::kIndexed;
    terms.price.index_factor = in.number("index_factor").value_or(1.0);
    const auto adder = in.number("adder");
    terms.price.adder_usd_per_t = adder.value_or(0.0) * table.price_factor();
    terms.price.floor_usd_per_t = table.price("floor");
    terms.price.cap_usd_per_t = table.price("cap");
    if (terms.price.floor_usd_per_t && terms.price.cap_usd_per_t &&
        *terms.price.floor_usd_per_t > *terms.price.cap_usd_per_t) {
      in.error("floor", "the price floor is above the cap; swap them");
    }
    table.refuse("price", "an indexed price takes index_factor, adder, floor, cap");
  } else {
    in.error("price_kind", "use \"fixed\" or \"indexed\"");
  }
  terms.start_year = in.integer("start_year").value_or(0);
  terms.tenor_years = in.integer("tenor_years").value_or(1);
  terms.take_or_pay_share = in.number("take_or_pay_share").value_or(0.0);
  return spec;
}

policy::IntermediarySpec read_intermediary(InstrumentTable& table) {
  TableReader& in = table.in;
  policy::IntermediarySpec spec;
  spec.stage = table.stage().value_or(Stage::kProcessing);
  spec.seller = in.text("seller").value_or("");
  spec.resale_region = in.text("resale_region").value_or("");
  const auto volume = in.number("volume_t_per_year");
  spec.volume_t_per_year = volume.value_or(0.0);
  if (volume && *volume <= 0.0) {
    in.error("volume_t_per_year", "a contracted volume must be positive");
  }
  spec.purchase_usd_per_t = table.price("purchase_price").value_or(0.0);
  spec.grant_budget_usd = in.number("grant_budget_usd").value_or(0.0);
  return spec;
}

policy::CertifiedMarketSpec read_certified_market(InstrumentTable& table) {
  TableReader& in = table.in;
  policy::CertifiedMarketSpec spec;
  spec.standard = in.text("standard").value_or("");
  spec.certified_demand_share = in.number("certified_demand_share").value_or(0.0);
  // Always USD per tonne, as its name says (the unit key does not apply to it).
  spec.certification_cost_usd_per_t = in.number("certification_cost_usd_per_t");
  spec.fallback = in.boolean("fallback").value_or(true);
  // Always USD per tonne, as the certification cost.
  spec.fallback_premium_usd_per_t = in.number("fallback_premium_usd_per_t");
  spec.certified_capacity_from_year = in.integer("certified_capacity_from");
  if (spec.certified_capacity_from_year) {
    if (!in.has("certified_capacity")) {
      in.error("certified_capacity_from",
               "certified_capacity_from delays the shares of certified_capacity, which this "
               "instrument does not set; add certified_capacity = { REGION = share } or remove it");
    }
  }
  if (const toml::node* node = in.get("certified_capacity")) {
    if (const toml::table* shares = node->as_table()) {
      for (const auto& [key, value] : *shares) {
        const auto share = value.value<double>();
        if (!share || *share < 0.0 || *share > 1.0) {
          in.fields().error(
              value, "certified_capacity",
              fmt::format("the certified share of {} must be a number in [0, 1]", key.str()));
          continue;
        }
        spec.certified_capacity[std::string(key.str())] = {*share, toml_line(value)};
      }
    } else {
      in.error("certified_capacity", "write an inline table such as { AUS = 1.0, CHN = 0.1 }");
    }
  }
  return spec;
}

policy::JointPurchasingSpec read_joint_purchasing(InstrumentTable& table) {
  TableReader& in = table.in;
  policy::JointPurchasingSpec spec;
  if (in.has("stage") && table.stage() != Stage::kProcessing) {
    in.error("stage", "joint purchasing tenders processed material");
  }
  spec.share = in.number("share").value_or(0.0);
  if (in.has("share") && spec.share <= 0.0) {
    in.error("share", "a tender needs a positive share of member demand");
  }
  spec.max_price_usd_per_t = table.price("max_price");
  const std::string eligible = in.text("eligible_suppliers").value_or("all");
  if (eligible != "all" && eligible != "members") {
    in.error("eligible_suppliers", "use \"all\" or \"members\"");
  }
  spec.members_only = eligible == "members";
  spec.delivery_region = in.text("delivery_region").value_or("");
  return spec;
}

policy::StockpileSpec read_stockpile(InstrumentTable& table) {
  TableReader& in = table.in;
  policy::StockpileSpec spec;
  if (in.has("stage") && table.stage() != Stage::kProcessing) {
    in.error("stage", "stockpiles hold processed material: use \"processing\"");
  }
  spec.holder = in.text("holder").value_or("");
  spec.days_of_cover = in.number("days_of_cover").value_or(0.0);
  spec.initial_fill = in.number("initial_fill").value_or(1.0);
  const std::string release = in.text("release").value_or("shortfall");
  if (release == "price") {
    spec.release_on_shortfall = false;
    spec.release_price_usd_per_t = table.price("release_price").value_or(0.0);
    if (!in.has("release_price"))
      in.error("release_price", "missing key 'release_price' (a number)");
  } else if (release == "shortfall") {
    table.refuse("release_price",
                 "release = \"shortfall\" releases at the base-year price; use release = "
                 "\"price\" to give a trigger price");
  } else {
    in.error("release", "use \"shortfall\" or \"price\"");
  }
  spec.refill_price_usd_per_t = table.price("refill_price");
  spec.refill_rate_t_per_year = in.number("refill_rate_t_per_year");
  if (spec.refill_price_usd_per_t.has_value() != spec.refill_rate_t_per_year.has_value()) {
    in.fields().error(in.table(), "refill_price",
                      "a refill rule needs both refill_price and refill_rate_t_per_year");
  }
  if (!spec.release_on_shortfall && spec.refill_price_usd_per_t &&
      *spec.refill_price_usd_per_t >= spec.release_price_usd_per_t) {
    in.error("refill_price",
             "the refill price must be below the release price, or the stock would buy and sell "
             "at once");
  }
  spec.holding_cost_usd_per_t_year = in.number("holding_cost_usd_per_t_year").value_or(0.0);
  return spec;
}

}  // namespace

std::optional<InstrumentSpec> read_instrument(TomlFields& fields, const toml::table& table,
                                              const Dataset& data) {
  const auto type = fields.text(table, "type", true);
  if (!type) return std::nullopt;
  static const std::vector<std::string> kTypes = find_scenario_key("instrument", "type")->choices();
  if (std::find(kTypes.begin(), kTypes.end(), *type) == kTypes.end()) {
    fields.error(*table.get("type"), "type",
                 fmt::format("unknown instrument type '{}'; use one of {}", *type,
                             policy::instrument_types()));
    return std::nullopt;
  }
  InstrumentTable reading(fields, table, *type);
  InstrumentSpec spec;
  spec.line = toml_line(table);
  if (const auto name = reading.in.text("material")) {
    if (const Material* m = data.find_material(*name)) {
      spec.material = m->id;
    } else {
      reading.in.error("material",
                       fmt::format("unknown material '{}'{}; use an id such as gallium or a name",
                                   *name, data.did_you_mean_material(*name)));
    }
  }
  reading.in.check_keys();
  if (*type == "price_floor") {
    spec.terms = read_price_floor(reading);
  } else if (*type == "subsidy") {
    spec.terms = read_subsidy(reading);
  } else if (*type == "offtake") {
    spec.terms = read_offtake(reading);
  } else if (*type == "intermediary") {
    spec.terms = read_intermediary(reading);
  } else if (*type == "certified_market") {
    spec.terms = read_certified_market(reading);
  } else if (*type == "joint_purchasing") {
    spec.terms = read_joint_purchasing(reading);
  } else {
    spec.terms = read_stockpile(reading);
  }
  return spec;
}

}  // namespace critmin::scenario
