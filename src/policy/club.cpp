// Reading a clearing scenario and driving the instruments through one clearing.
#include "critmin/policy/club.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>

#include "policy/instrument.h"

namespace critmin::policy {

double InstrumentReport::figure(std::string_view name) const {
  for (const InstrumentFigure& f : figures) {
    if (f.name == name) return f.value;
  }
  return 0.0;
}

std::vector<char> ClearingContext::member_flags() const {
  std::vector<char> flags(market.model.regions.size(), 0);
  for (std::size_t r : member_regions) flags[r] = 1;
  return flags;
}

void ClearingContext::problem(int line, const char* key, std::string message) {
  problems.push_back({file, line, key, std::move(message)});
}

std::optional<std::set<std::size_t>> ClearingContext::regions(const std::vector<std::string>& names,
                                                              int line, const char* key) {
  std::set<std::size_t> out;
  bool ok = true;
  for (const std::string& name : names) {
    const auto found = market::resolve_market_regions(name, data, market.model);
    if (!found) {
      std::string list;
      for (const market::Region& r : market.model.regions) {
        list += (list.empty() ? "" : ", ") + r.name;
      }
      problem(line, key,
              fmt::format("'{}' is not a region of the {} market, an ISO3 code or a bloc; regions "
                          "here: {}",
                          name, market.model.material, list));
      ok = false;
      continue;
    }
    out.insert(found->begin(), found->end());
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::size_t> ClearingContext::one_region(const std::string& name, int line,
                                                       const char* key) {
  const auto found = regions({name}, line, key);
  if (!found) return std::nullopt;
  if (found->size() != 1) {
    problem(line, key,
            fmt::format("'{}' stands for {} regions of the {} market; name one region", name,
                        found->size(), market.model.material));
    return std::nullopt;
  }
  return *found->begin();
}

std::set<std::size_t> ClearingContext::with_certified_twins(
    const std::set<std::size_t>& regions) const {
  std::set<std::size_t> out = regions;
  const auto& all = market.model.regions;
  for (std::size_t r : regions) {
    for (std::size_t t = 0; t < all.size(); ++t) {
      if (all[t].name == all[r].name + "/certified") out.insert(t);
    }
  }
  return out;
}

std::size_t ClearingContext::producing_region(std::size_t region, Stage stage) const {
  const auto& all = market.model.regions;
  const auto& steps = stage == Stage::kProcessing ? all[region].processing : all[region].extraction;
  if (!steps.empty()) return region;
  for (std::size_t t = 0; t < all.size(); ++t) {
    if (all[t].name == all[region].name + "/certified") return t;
  }
  return region;
}

double ClearingContext::base_price(Stage stage) const {
  const double processed = market.info.base_price_usd_per_t;
  if (stage == Stage::kProcessing) return processed;
  // The extraction price of the calibration: what the feed for one tonne of product commands.
  // build_market needs the same row, so a calibrated market always has it.
  const MarketParameter* ratio =
      data.find_market_parameter(market.model.material, "extraction_price_ratio");
  assert(ratio && "a calibrated market has an extraction_price_ratio");
  return ratio->value * processed * market.model.processing_yield;
}

void InstrumentReading::start(Instrument& instrument) const {
  instrument.line_ = toml_line(table);
  const auto name = fields.text(table, "material", true);
  if (!name) return;
  const Material* m = data.find_material(*name);
  if (!m) {
    fields.error(*table.get("material"), "material",
                 fmt::format("unknown material '{}'; use an id such as gallium or a name", *name));
    return;
  }
  instrument.material_ = m->id;
}

std::optional<Stage> InstrumentReading::stage() const {
  const auto value = fields.text(table, "stage", true);
  if (!value) return std::nullopt;
  const auto parsed = parse_stage(*value);
  if (!parsed) fields.error(*table.get("stage"), "stage", "use \"extraction\" or \"processing\"");
  return parsed;
}

double InstrumentReading::price_factor() const {
  const auto unit = fields.text(table, "unit", false);
  if (!unit || *unit == "USD/t") return 1.0;
  if (*unit == "USD/kg") return 1000.0;
  fields.error(
      *table.get("unit"), "unit",
      fmt::format("unknown unit '{}'; prices are \"USD/t\" (the default) or \"USD/kg\"", *unit));
  return 1.0;
}

std::optional<double> InstrumentReading::price(const char* key, bool required) const {
  const auto value = fields.number(table, key, 0.0, 1e12, required);
  if (!value) return std::nullopt;
  return *value * price_factor();
}

namespace {

struct RegisteredReader {
  const char* type;
  InstrumentReader reader;
};

constexpr RegisteredReader kReaders[] = {
    {"price_floor", read_price_floor},
    {"subsidy", read_subsidy},
    {"offtake", read_offtake},
    {"intermediary", read_intermediary},
    {"certified_market", read_certified_market},
    {"joint_purchasing", read_joint_purchasing},
    {"stockpile", read_stockpile},
};

}  // namespace

InstrumentReader find_instrument_reader(const std::string& type) {
  for (const RegisteredReader& r : kReaders) {
    if (type == r.type) return r.reader;
  }
  return nullptr;
}

std::string instrument_types() {
  std::string out;
  for (const RegisteredReader& r : kReaders) out += (out.empty() ? "" : ", ") + std::string(r.type);
  return out;
}

double incentive_cost_usd_per_t(double unit_cost_usd_per_t, double factor,
                                const std::function<double(double)>& payment_usd_per_t,
                                double ceiling_usd_per_t) {
  const auto revenue = [&](double price) { return price + factor * payment_usd_per_t(price); };
  if (revenue(0.0) >= unit_cost_usd_per_t) return 0.0;
  if (std::isfinite(ceiling_usd_per_t) && revenue(ceiling_usd_per_t) < unit_cost_usd_per_t) {
    return std::numeric_limits<double>::infinity();
  }
  double low = 0.0, high = std::max(1.0, unit_cost_usd_per_t);
  // Revenue grows at least at slope (1 - factor * share) > 0 or not at all; search upwards.
  int doublings = 0;
  while (revenue(high) < unit_cost_usd_per_t) {
    low = high;
    high *= 2.0;
    if (++doublings > 60) return std::numeric_limits<double>::infinity();
  }
  // Revenue is piecewise linear in the price for every payment kind (a kink at the strike or the
  // floor), so false position lands on the crossing of a linear piece in one step where
  // bisection needs about 40. Each point found is checked against its neighbour 1e-12 of the
  // price away on the other side, which ends the search as soon as the crossing is pinned to the
  // width bisection stopped at: the price returned covers the cost and lies within 1e-12 (of
  // itself) of the lowest price that does. Illinois' halving of the end that stays keeps a step
  // across a kink moving; after 30 steps the search falls back to bisection.
  const auto covers = [&](double price) { return revenue(price) >= unit_cost_usd_per_t; };
  double gap_low = revenue(low) - unit_cost_usd_per_t;    // < 0
  double gap_high = revenue(high) - unit_cost_usd_per_t;  // >= 0
  int kept = 0;  // > 0: the low end stayed last time, < 0: the high end
  for (int i = 0; i < 200 && high - low > 1e-12 * high; ++i) {
    double next = 0.5 * (low + high);
    if (i < 30 && gap_high > gap_low) {
      next = std::clamp(low - gap_low * (high - low) / (gap_high - gap_low),
                        low + 1e-6 * (high - low), high - 1e-6 * (high - low));
    }
    const double gap = revenue(next) - unit_cost_usd_per_t;
    if (gap >= 0.0) {
      high = next;
      gap_high = gap;
      if (kept > 0) gap_low *= 0.5;
      kept = 1;
      const double below = high * (1.0 - 1e-12);
      if (below > low && !covers(below)) break;
    } else {
      low = next;
      gap_low = gap;
      if (kept < 0) gap_high *= 0.5;
      kept = -1;
      const double above = low + 1e-12 * high;
      if (above < high && covers(above)) {
        high = above;
        break;
      }
    }
  }
  return high;
}

double DecreasingFixedPoint::step(double target, double tolerance, std::optional<double> hint) {
  const double gap = std::abs(target - value_);
  if (gap <= tolerance) return 0.0;
  const double g = target - value_;  // > 0: the fixed point lies above the value
  // A reading that contradicts the bracket (the target below the value at or under its low end,
  // or above it at or over its high end) says that end was seen under other terms and no longer
  // holds: it is dropped, so the search can leave the bracket towards the fixed point.
  if (g < 0.0 && below_ && value_ <= low_) {
    low_ = initial_low_;
    below_ = false;
    g_low_ = 0.0;
  }
  if (g > 0.0 && above_ && value_ >= high_) {
    high_ = initial_high_;
    above_ = false;
    g_high_ = 0.0;
  }
  if (g < 0.0) {
    if (above_) g_low_ *= 0.5;  // the same side again: Illinois' halving keeps the step moving
    high_ = value_;
    high_epoch_ = epoch_;
    g_high_ = g;
    above_ = true;
  } else {
    if (below_) g_high_ *= 0.5;
    low_ = value_;
    low_epoch_ = epoch_;
    g_low_ = g;
    below_ = true;
  }
  // A bracket no wider than the tolerance whose ends were both seen under the others' present
  // terms: both lie within the tolerance of the fixed point. The search ends at the low end,
  // where the target is at or above the value (a budget pays at least the share its producers
  // anticipated; at the high end of a switch it would pay them less): when the value just
  // cleared is the low end it stays, else the next clearing is made there. An end seen before
  // the others last moved is cleared again first, to check it.
  if (above_ && below_ && high_ - low_ <= tolerance) {
    // The end just seen is fresh; the other one may not be.
    if (g >= 0.0 && high_epoch_ == epoch_) return 0.0;
    value_ = g >= 0.0 ? high_ : low_;  // check the stale high end, or go to the low end
    return gap;                        // the value just cleared was that far from its target
  }
  // Jump to the target while it lies on one side; once it has been on both sides the fixed point
  // is bracketed, and a false-position step (with Illinois' correction) shrinks the bracket, also
  // when the target jumps at the fixed point.
  if (hint && *hint > low_ && *hint < high_) {
    value_ = *hint;
  } else if (above_ && below_) {
    value_ = low_ + g_low_ * (high_ - low_) / (g_low_ - g_high_);
    value_ = std::clamp(value_, low_ + 0.01 * (high_ - low_), high_ - 0.01 * (high_ - low_));
  } else {
    value_ = std::clamp(target, low_, high_);
  }
  return std::min(gap, high_ - low_);
}

std::optional<std::string> anticipated_share_note(double anticipated_share, double paid_share) {
  if (std::abs(anticipated_share - paid_share) <= kBudgetFactorTolerance) return std::nullopt;
  return fmt::format(
      "producers decided on {:.2f}% of their claims, the share the outer loop settled on at a "
      "switch (a marginal producer that runs above it would take the claims over the budget); "
      "at this clearing the budget pays {:.2f}%",
      100.0 * anticipated_share, 100.0 * paid_share);
}

void DecreasingFixedPoint::observe(bool others_moved) {
  if (!others_moved) return;
  ++epoch_;  // the bracket's ends were seen under earlier terms
  if (restarts_ >= kMaxRestarts || !(above_ || below_)) return;
  ++restarts_;
  low_ = initial_low_;
  high_ = initial_high_;
  above_ = below_ = false;
  g_low_ = g_high_ = 0.0;
}

PredictedFixedPoint predict_fixed_point(std::vector<double> breakpoints, double low, double high,
                                        const std::function<double(double)>& target) {
  std::erase_if(breakpoints, [&](double b) { return !(b > low && b < high); });
  std::sort(breakpoints.begin(), breakpoints.end());
  breakpoints.erase(std::unique(breakpoints.begin(), breakpoints.end()), breakpoints.end());
  // Scan the pieces upwards: the target falls, the diagonal rises, so the first piece whose
  // target lies at or below its upper end holds the fixed point, inside it or at its lower end.
  double lower = low;
  for (std::size_t i = 0; i <= breakpoints.size(); ++i) {
    const double upper = i < breakpoints.size() ? breakpoints[i] : high;
    const double value = target(0.5 * (lower + upper));
    if (value <= upper) {
      if (value >= lower || i == 0) return {std::max(value, low), false};
      return {lower, true};
    }
    lower = upper;
  }
  return {high, false};
}

double budget_factor_hint(const PredictedFixedPoint& predicted, double current, double resolution) {
  if (!predicted.at_jump) return predicted.value;
  return predicted.value + (current > predicted.value ? -0.5 : 0.5) * resolution;
}

double ProducerIncentive::RegionOutlook::covered_at(double factor) const {
  double out = covered_t;
  for (const Switch& s : switches) out += s.runs(factor) ? s.on_t : s.off_t;
  return std::max(0.0, out);
}

double ProducerIncentive::RegionOutlook::price_at(double factor) const {
  for (const Switch& s : switches) {
    if (s.extra && s.runs(factor)) return extra_price_usd_per_t;
  }
  return producer_price_usd_per_t;
}

std::vector<ProducerIncentive::RegionOutlook> ProducerIncentive::outlook(
    const market::MarketModel& model, const market::Equilibrium& eq, double base_feed_usd_per_t,
    const std::function<double(double)>& payment_usd_per_t) const {
  std::vector<RegionOutlook> out;
  for (std::size_t r : regions()) {
    RegionOutlook view;
    view.region = r;
    const market::NodeResult& node = eq.node(r, stage_);
    view.producer_price_usd_per_t = node.producer_price_usd_per_t;
    view.covered_t = covered_output_t(model, eq, r);
    const bool processing = stage_ == Stage::kProcessing;
    // What one more tonne earns over its feed at this clearing, in the terms apply() uses.
    const double margin =
        node.producer_price_usd_per_t -
        (processing ? eq.node(r, Stage::kExtraction).price_usd_per_t / model.processing_yield
                    : 0.0);
    const double feed = processing ? base_feed_usd_per_t : 0.0;
    const double y = margin + feed;
    const double payment = payment_usd_per_t(y);
    // What more output would fetch: the best export netback, or the local price while the region
    // imports (more output displaces imports); never more than the producer price.
    double extra =
        node.imports_t > 0.0 ? node.price_usd_per_t : -std::numeric_limits<double>::infinity();
    for (const market::Route& route : model.routes) {
      if (route.from != r || route.stage != stage_) continue;
      extra = std::max(extra,
                       eq.node(route.to, stage_).price_usd_per_t - route.transport_cost_usd_per_t -
                           route.specific_tariff_usd_per_t -
                           route.ad_valorem_tariff * std::max(0.0, node.producer_price_usd_per_t));
    }
    // A region without an outlet sells more output nowhere else: its producer price stands.
    view.extra_price_usd_per_t = std::isfinite(extra)
                                     ? std::min(extra, node.producer_price_usd_per_t)
                                     : node.producer_price_usd_per_t;
    const double y_extra = y - (node.producer_price_usd_per_t - view.extra_price_usd_per_t);
    const double payment_extra = payment_usd_per_t(y_extra);
    const auto& steps = processing ? model.regions[r].processing : model.regions[r].extraction;
    const double tolerance = 1e-9 * std::max(1.0, std::abs(margin));
    // Steps that run, that do not, and the marginal ones (offered at the margin: partly used).
    enum class State { kOn, kOff, kMarginal };
    std::vector<State> states;
    double running_t = 0.0, marginal_t = 0.0;
    for (const Covered& c : covered_) {
      if (c.region != r) continue;
      const double offered = steps[c.step].unit_cost_usd_per_t;
      const State state = offered < margin - tolerance   ? State::kOn
                          : offered > margin + tolerance ? State::kOff
                                                         : State::kMarginal;
      states.push_back(state);
      if (state == State::kOn) running_t += steps[c.step].capacity_t;
      if (state == State::kMarginal) marginal_t += steps[c.step].capacity_t;
    }
    const double marginal_used = std::clamp(view.covered_t - running_t, 0.0, marginal_t);
    std::size_t k = 0;
    for (const Covered& c : covered_) {
      if (c.region != r) continue;
      const State state = states[k++];
      const bool off = state == State::kOff;
      const double at = off ? y_extra : y, paid = off ? payment_extra : payment;
      if (paid == 0.0) continue;  // the factor does not move this step
      const double capacity = steps[c.step].capacity_t;
      Switch s;
      // Runs when y + factor x payment >= cost: above the switch for a positive payment.
      s.factor = (c.unit_cost_usd_per_t + feed - at) / paid;
      s.runs_above = paid > 0.0;
      s.extra = off;
      if (state == State::kOn) {
        s.off_t = -capacity;
      } else if (state == State::kOff) {
        s.on_t = capacity;
      } else {
        const double used = marginal_t > 0.0 ? marginal_used * capacity / marginal_t : 0.0;
        s.on_t = capacity - used;
        s.off_t = -used;
      }
      view.switches.push_back(s);
    }
    out.push_back(std::move(view));
  }
  return out;
}

void ProducerIncentive::cover(ClearingContext& context, const std::set<std::size_t>& regions,
                              Stage stage, std::optional<double> volume_t, int line) {
  market::MarketModel& model = context.market.model;
  stage_ = stage;
  applied_.reset();  // new covered steps have no incentive cost yet
  for (std::size_t r : regions) {
    const auto [it, fresh] = context.incentive_owner.insert({{r, stage}, line});
    if (!fresh) {
      context.problem(line, "type",
                      fmt::format("{} producers at the {} stage are already paid per tonne by the "
                                  "instrument at line {}; one payment scheme per producer and "
                                  "stage (merge them, or name other producers)",
                                  model.regions[r].name, stage_name(stage), it->second));
      return;
    }
  }
  struct Candidate {
    std::size_t region, step;
    double cost;
  };
  std::vector<Candidate> candidates;
  for (std::size_t r : regions) {
    const auto& steps =
        stage == Stage::kProcessing ? model.regions[r].processing : model.regions[r].extraction;
    for (std::size_t k = 0; k < steps.size(); ++k) {
      candidates.push_back({r, k, steps[k].unit_cost_usd_per_t});
    }
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.cost < b.cost; });
  double left = volume_t.value_or(std::numeric_limits<double>::infinity());
  for (const Candidate& c : candidates) {
    if (left <= 0.0) break;
    auto& steps = stage == Stage::kProcessing ? model.regions[c.region].processing
                                              : model.regions[c.region].extraction;
    if (steps[c.step].capacity_t > left) {
      // Split: the covered part keeps the index, the rest is appended as an uncovered step.
      market::SupplyStep rest = steps[c.step];
      rest.capacity_t -= left;
      steps[c.step].capacity_t = left;
      steps.push_back(rest);
    }
    left -= steps[c.step].capacity_t;
    covered_.push_back({c.region, c.step, c.cost});
  }
}

void ProducerIncentive::apply(market::MarketModel& model, double base_feed_usd_per_t, double factor,
                              const std::function<double(double)>& payment_usd_per_t) {
  // Only apply() sets the covered steps' costs, so the same inputs leave them as they are.
  if (applied_ && applied_->first == factor && applied_->second == base_feed_usd_per_t) return;
  applied_ = std::pair{factor, base_feed_usd_per_t};
  for (const Covered& c : covered_) {
    auto& steps = stage_ == Stage::kProcessing ? model.regions[c.region].processing
                                               : model.regions[c.region].extraction;
    // A step that no price can pay for (a CfD struck below its cost) is priced out of the market:
    // offered at ten times its cost plus the strike scale, dearer than any buyer pays (the flow
    // problem caps it at twice the highest willingness to pay), yet finite so that a contract
    // that forces it to deliver is still accounted for in money. Every incentive cost above it
    // is offered at it, so the search stops there.
    const double priced_out = 10.0 * (c.unit_cost_usd_per_t + base_feed_usd_per_t) + 1e6;
    double offered = 0.0;
    if (stage_ == Stage::kExtraction) {
      offered =
          incentive_cost_usd_per_t(c.unit_cost_usd_per_t, factor, payment_usd_per_t, priced_out);
    } else {
      // The base-year feed price, not the last clearing's: the feed price of a refiner that
      // switches on or off moves with its decision (its own mine's dual is not unique), and a
      // decision rule that follows it can cycle. docs/instruments/subsidy.md states the
      // approximation.
      const double feed = base_feed_usd_per_t;
      offered = std::max(0.0, incentive_cost_usd_per_t(feed + c.unit_cost_usd_per_t, factor,
                                                       payment_usd_per_t, priced_out + feed) -
                                  feed);
    }
    if (!std::isfinite(offered) || offered > priced_out) offered = priced_out;
    steps[c.step].unit_cost_usd_per_t = offered;
  }
}

std::set<std::size_t> ProducerIncentive::regions() const {
  std::set<std::size_t> out;
  for (const Covered& c : covered_) out.insert(c.region);
  return out;
}

double ProducerIncentive::covered_output_t(const market::MarketModel& model,
                                           const market::Equilibrium& eq,
                                           std::size_t region) const {
  // The market fills a region's steps in order of offered cost; the covered steps' share of the
  // output is what is left after the cheaper uncovered steps, capped by their capacity.
  const auto& steps = stage_ == Stage::kProcessing ? model.regions[region].processing
                                                   : model.regions[region].extraction;
  struct Entry {
    double cost, capacity;
    bool covered;
  };
  std::vector<Entry> entries;
  for (std::size_t k = 0; k < steps.size(); ++k) {
    const bool covered = std::any_of(covered_.begin(), covered_.end(), [&](const Covered& c) {
      return c.region == region && c.step == k;
    });
    entries.push_back({steps[k].unit_cost_usd_per_t, steps[k].capacity_t, covered});
  }
  std::stable_sort(entries.begin(), entries.end(),
                   [](const Entry& a, const Entry& b) { return a.cost < b.cost; });
  double left = eq.node(region, stage_).production_t;
  double covered_t = 0.0;
  for (const Entry& e : entries) {
    const double used = std::min(left, e.capacity);
    if (e.covered) covered_t += used;
    left -= used;
  }
  return covered_t;
}

namespace {

std::vector<std::unique_ptr<Instrument>> read_instruments(const toml::table& root,
                                                          TomlFields& fields, const Dataset& data,
                                                          int year) {
  std::vector<std::unique_ptr<Instrument>> out;
  for (const toml::table* t : fields.tables(root, "instrument")) {
    const auto type = fields.text(*t, "type", true);
    if (!type) continue;
    const InstrumentReader reader = find_instrument_reader(*type);
    if (!reader) {
      fields.error(
          *t->get("type"), "type",
          fmt::format("unknown instrument type '{}'; use one of {}", *type, instrument_types()));
      continue;
    }
    InstrumentReading reading{fields, data, *t, year};
    if (auto instrument = reader(reading)) out.push_back(std::move(instrument));
  }
  return out;
}

}  // namespace

namespace {

// The member countries (ISO3) of a club: its ISO3 codes and the countries of its blocs.
std::set<std::string> member_countries(const ClubDesign& club, const Dataset& data) {
  std::set<std::string> members;
  for (const std::string& m : club.members) {
    if (data.find_country(m)) {
      members.insert(m);
    } else if (auto bloc = data.resolve_bloc(m); bloc.is_ok()) {
      members.insert(bloc.value().begin(), bloc.value().end());
    }
  }
  return members;
}

}  // namespace

Result<ClearingScenario> read_clearing_scenario(std::string_view toml_text,
                                                const std::string& file_name, const Dataset& data,
                                                int year, const ScenarioExtensions& extensions) {
  Result<toml::table> parsed = parse_toml(toml_text, file_name);
  CRITMIN_RETURN_IF_ERROR(parsed);
  const toml::table& root = parsed.value();
  std::vector<Diagnostic> problems;
  TomlFields fields(file_name, problems);
  ClearingScenario scenario;
  scenario.file = file_name;
  scenario.toml_text = std::string(toml_text);
  for (const auto& [key, node] : root) {
    const std::string k(key.str());
    if (k == "scenario" || k == "club" || k == "instrument" || k == "tariff" ||
        k == "export_restriction" || extensions.tables.contains(k)) {
      continue;
    }
    fields.error(node, k,
                 k == "disruption"
                     ? "[[disruption]] is read by critmin simulate (it has years and a "
                       "probability); critmin clear takes [[export_restriction]] for a measure "
                       "in force"
                     : fmt::format("'{}' is not a scenario table; critmin clear takes [scenario], "
                                   "[club], [[instrument]], [[tariff]] and [[export_restriction]]",
                                   k));
  }
  if (const toml::node* node = root.get("scenario")) {
    if (const toml::table* t = node->as_table()) {
      // A simulation scenario's keys are accepted so one file serves both commands.
      std::set<std::string> keys = {"name", "years", "seed", "description"};
      keys.insert(extensions.scenario_keys.begin(), extensions.scenario_keys.end());
      fields.check_keys(*t, "scenario", keys);
      scenario.name = fields.text(*t, "name", false).value_or("");
    } else {
      fields.error(*node, "scenario", "write [scenario] (a table)");
    }
  }
  if (const toml::node* node = root.get("club")) {
    if (const toml::table* t = node->as_table()) {
      fields.check_keys(*t, "club",
                        {"members", "external_ad_valorem", "external_specific_usd_per_t"});
      scenario.has_club = true;
      scenario.club.members_line = toml_line(*t);
      if (auto members = fields.strings(*t, "members", true)) {
        for (const std::string& m : *members) {
          if (!data.find_country(m) && !data.resolve_bloc(m).is_ok()) {
            fields.error(*t->get("members"), "members",
                         fmt::format("'{}' is neither an ISO3 code nor a bloc (EU27, MSP, club, "
                                     "...)",
                                     m));
          }
        }
        scenario.club.members = *members;
      }
      scenario.club.external_ad_valorem =
          fields.number(*t, "external_ad_valorem", 0.0, 10.0).value_or(0.0);
      scenario.club.external_specific_usd_per_t =
          fields.number(*t, "external_specific_usd_per_t", 0.0, 1e12).value_or(0.0);
    } else {
      fields.error(*node, "club", "write [club] (a table) with members = [...]");
    }
  }
  auto instruments = read_instruments(root, fields, data, year);
  for (const auto& instrument : instruments) {
    scenario.instruments.push_back(
        {instrument->type(), instrument->material(), instrument->line()});
  }
  if (!instruments.empty() && !scenario.has_club) {
    problems.push_back({file_name, toml_line(*root.get("instrument")), "club",
                        "instruments are the club's: add [club] with members = [...]"});
  }
  Result<market::TradeMeasures> trade = market::read_trade_measures(toml_text, file_name, data);
  if (!trade.is_ok()) {
    for (const Diagnostic& d : trade.status().diagnostics()) problems.push_back(d);
  } else {
    scenario.trade = std::move(trade).value();
  }
  if (!problems.empty()) {
    std::stable_sort(problems.begin(), problems.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
    return Status::invalid_input(fmt::format("{}: invalid scenario", file_name),
                                 std::move(problems));
  }
  // Moved, not copied: a copied toml++ node loses its source lines, which the instruments'
  // reports and errors cite.
  auto document = std::make_shared<ScenarioDocument>();
  document->root = std::move(parsed).value();
  document->instruments_year = year;
  document->instruments = std::move(instruments);
  document->club_members = scenario.club.members;
  document->club_dataset = &data;
  document->club_member_countries = member_countries(scenario.club, data);
  scenario.document = std::move(document);
  return scenario;
}

namespace {

// The regions of the market all of whose countries are members.
std::set<std::size_t> member_regions_of(const std::set<std::string>& members,
                                        const market::MarketModel& model) {
  std::set<std::size_t> out;
  for (std::size_t r = 0; r < model.regions.size(); ++r) {
    const auto& countries = model.regions[r].countries;
    if (!countries.empty() &&
        std::all_of(countries.begin(), countries.end(),
                    [&](const std::string& c) { return members.contains(c); })) {
      out.insert(r);
    }
  }
  return out;
}

}  // namespace

Result<ClubOutcome> clear_with_instruments(const Dataset& data, market::CalibratedMarket& market,
                                           const ClearingScenario& scenario,
                                           market::SolverPath path) {
  market::MarketModel& model = market.model;
  if (Status s = market::apply_trade_measures(scenario.trade, data, market); !s.is_ok()) return s;

  ClearingContext context{data, market, scenario.file, model.year};
  context.stock_start_t = &scenario.stock_start_t;
  context.price_tolerance = 1e-6 * std::max(1.0, market.info.base_price_usd_per_t);
  ClubOutcome outcome;
  if (scenario.has_club) {
    const bool resolved = scenario.document && scenario.document->club_dataset == &data &&
                          scenario.document->club_members == scenario.club.members;
    // (Two calls, not one with a conditional argument, which would copy the cached set.)
    context.member_regions =
        resolved ? member_regions_of(scenario.document->club_member_countries, model)
                 : member_regions_of(member_countries(scenario.club, data), model);
    // Inside the club trade is free of tariffs; non-member supply into member regions pays the
    // common external tariff on top of any national measure.
    const std::vector<char> member = context.member_flags();
    for (market::Route& route : model.routes) {
      const bool from_member = member[route.from];
      const bool to_member = member[route.to];
      if (from_member && to_member) {
        route.specific_tariff_usd_per_t = 0.0;
        route.ad_valorem_tariff = 0.0;
      } else if (to_member) {
        route.specific_tariff_usd_per_t += scenario.club.external_specific_usd_per_t;
        route.ad_valorem_tariff += scenario.club.external_ad_valorem;
      }
    }
  }
  for (std::size_t r : context.member_regions) {
    outcome.member_regions.push_back(model.regions[r].name);
  }

  // Re-read the instruments of this material (the scenario keeps their text); a scenario without
  // any for this material is not parsed again.
  std::vector<Diagnostic> read_problems;
  std::vector<std::unique_ptr<Instrument>> instruments;
  const bool any_here =
      std::any_of(scenario.instruments.begin(), scenario.instruments.end(),
                  [&](const InstrumentSpec& spec) { return spec.material == model.material; });
  // Year 0 leaves the dates to in_force() when out-of-force instruments are skipped.
  const int reading_year = scenario.skip_instruments_out_of_force ? 0 : model.year;
  const auto keep = [&](std::unique_ptr<Instrument> instrument) {
    if (instrument->material() != model.material) return;
    if (scenario.skip_instruments_out_of_force && !instrument->in_force(model.year)) {
      context.notes.push_back(fmt::format("{} (line {}) is not in force in {}", instrument->label(),
                                          instrument->line(), model.year));
      return;
    }
    instruments.push_back(std::move(instrument));
  };
  if (any_here && scenario.document && scenario.document->instruments_year == reading_year) {
    for (const auto& prototype : scenario.document->instruments) {
      if (prototype->material() == model.material) keep(prototype->clone());
    }
  } else if (any_here) {
    std::optional<toml::table> parsed;
    if (!scenario.document) {
      Result<toml::table> text = parse_toml(scenario.toml_text, scenario.file);
      CRITMIN_RETURN_IF_ERROR(text);
      parsed = std::move(text).value();
    }
    const toml::table& root = scenario.document ? scenario.document->root : *parsed;
    TomlFields fields(scenario.file, read_problems);
    for (auto& instrument : read_instruments(root, fields, data, reading_year)) {
      keep(std::move(instrument));
    }
  }
  if (!read_problems.empty()) {
    return Status::invalid_input(fmt::format("{}: invalid scenario", scenario.file),
                                 std::move(read_problems));
  }
  if (!instruments.empty() && context.member_regions.empty()) {
    return Status::invalid_input(
        fmt::format("{}: the club has no region in the {} market", scenario.file, model.material),
        {{scenario.file, scenario.club.members_line, "members",
          fmt::format("no region of the {} market consists of club members only, so the club "
                      "does not trade it as a club; add a member that is a region here",
                      model.material)}});
  }
  std::stable_sort(instruments.begin(), instruments.end(),
                   [](const auto& a, const auto& b) { return a->phase() < b->phase(); });
  context.original_region_count = model.regions.size();
  for (const market::Region& region : model.regions) {
    context.original_base_demand_t.push_back(region.base_demand_t);
  }
  context.original_routes = model.routes;
  for (auto& instrument : instruments) instrument->prepare(context);
  // Members (with the regions the instruments added for them) and non-members as the network
  // path's trade classes: a levy on non-member supply into members makes the two sides' route
  // costs separable apart but not together.
  if (!instruments.empty()) {
    const std::vector<char> member = context.member_flags();
    model.trade_class.assign(member.begin(), member.end());
  }
  if (!context.problems.empty()) {
    return Status::invalid_input(
        fmt::format("{}: instruments that cannot be applied to the {} market", scenario.file,
                    model.material),
        std::move(context.problems));
  }

  constexpr int kMaxOuterIterations = 40;
  int iteration = 0;
  double residual = 0.0;
  // Each instrument's change of terms in the last round [USD/t]; before the first clearing the
  // terms are those prepare() set, which no clearing has seen, so nothing has moved yet.
  std::vector<double> last_change(instruments.size(), 0.0);
  while (true) {
    ++iteration;
    // clear_market validates the model the instruments made (contracts beyond capacity, demand
    // that certified supply cannot reach) before it solves.
    Result<market::Equilibrium> eq = market::clear_market(model, path);
    if (!eq.is_ok()) {
      if (iteration == 1 && !instruments.empty()) {
        return Status::invalid_input(fmt::format("{}: the instruments make the {} market invalid",
                                                 scenario.file, model.material),
                                     eq.status().diagnostics());
      }
      return eq.status();
    }
    outcome.equilibrium = std::move(eq).value();
    if (outcome.equilibrium.termination != market::Termination::kOptimal) {
      outcome.converged = false;  // no equilibrium: nothing to converge to, no instrument reports
      outcome.notes.push_back("the market has no optimal equilibrium with these instruments (" +
                              outcome.equilibrium.reason + "); no payment is settled");
      break;
    }
    residual = 0.0;
    const std::vector<double> changed_before = last_change;
    double first_pass_change = 0.0;  // of the instruments that do not settle after the others
    for (const bool after_others : {false, true}) {
      for (std::size_t i = 0; i < instruments.size(); ++i) {
        if (instruments[i]->settles_after_others() != after_others) continue;
        context.others_moved = false;
        for (std::size_t j = 0; j < instruments.size(); ++j) {
          context.others_moved |= j != i && changed_before[j] > context.price_tolerance;
        }
        context.hold_for_others =
            after_others && iteration == 1 && first_pass_change > context.price_tolerance;
        last_change[i] = instruments[i]->update(outcome.equilibrium, context);
        residual = std::max(residual, last_change[i]);
        if (!after_others) first_pass_change = std::max(first_pass_change, last_change[i]);
      }
    }
    context.hold_for_others = false;
    if (residual <= context.price_tolerance) break;
    if (iteration >= kMaxOuterIterations) {
      outcome.converged = false;
      outcome.notes.push_back(fmt::format(
          "the instruments' outer loop did not converge in {} rounds (largest change {:.6g} "
          "USD/t); results are those of the last round",
          kMaxOuterIterations, residual));
      break;
    }
  }
  outcome.outer_iterations = iteration;
  outcome.outer_residual_usd_per_t = residual;
  if (outcome.equilibrium.termination == market::Termination::kOptimal) {
    for (const auto& instrument : instruments) {
      outcome.instruments.push_back(instrument->settle(outcome.equilibrium, context));
    }
  }
  for (std::string& note : context.notes) outcome.notes.push_back(std::move(note));
  return outcome;
}

}  // namespace critmin::policy
