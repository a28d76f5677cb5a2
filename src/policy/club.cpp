// Reading a clearing scenario and driving the instruments through one clearing.
#include "critmin/policy/club.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <limits>

#include "critmin/core/figures.h"
#include "policy/instrument.h"

namespace critmin::policy {

Result<double> InstrumentReport::figure(std::string_view name) const {
  Result<const FigureAttributes*> known = find_figure(FigureGroup::kInstrument, name);
  if (!known.is_ok()) return known.status();
  for (const InstrumentFigure& f : figures) {
    if (f.name == name) return f.value;
  }
  return 0.0;
}

std::vector<char> ClubMarketYear::member_flags() const {
  std::vector<char> flags(market.model.regions.size(), 0);
  for (std::size_t r : member_regions) flags[r] = 1;
  return flags;
}

void ClubMarketYear::problem(int line, const char* key, std::string message) {
  problems.push_back({file, line, key, std::move(message)});
}

std::optional<std::set<std::size_t>> ClubMarketYear::regions(const std::vector<std::string>& names,
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
              fmt::format("'{}'{} is not a region of the {} market, an ISO3 code or a bloc; "
                          "regions here: {}",
                          name, data.did_you_mean_place(name), market.model.material, list));
      ok = false;
      continue;
    }
    out.insert(found->begin(), found->end());
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::size_t> ClubMarketYear::one_region(const std::string& name, int line,
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

std::set<std::size_t> ClubMarketYear::with_certified_twins(
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

std::size_t ClubMarketYear::producing_region(std::size_t region, Stage stage) const {
  const auto& all = market.model.regions;
  const auto& steps = stage == Stage::kProcessing ? all[region].processing : all[region].extraction;
  if (!steps.empty()) return region;
  for (std::size_t t = 0; t < all.size(); ++t) {
    if (all[t].name == all[region].name + "/certified") return t;
  }
  return region;
}

double ClubMarketYear::base_price(Stage stage) const {
  const double processed = market.info.base_price_usd_per_t;
  if (stage == Stage::kProcessing) return processed;
  // The extraction price of the calibration: what the feed for one tonne of product commands.
  // build_market needs the same row, so a calibrated market always has it.
  const MarketParameter* ratio =
      data.find_market_parameter(market.model.material, "extraction_price_ratio");
  assert(ratio && "a calibrated market has an extraction_price_ratio");
  return ratio->value * processed * market.model.processing_yield;
}

namespace {

// The kinds in the order of InstrumentTerms.
constexpr const char* kInstrumentTypes[] = {"price_floor",  "subsidy",          "offtake",
                                            "intermediary", "certified_market", "joint_purchasing",
                                            "stockpile"};
static_assert(std::size(kInstrumentTypes) == std::variant_size_v<InstrumentTerms>);

}  // namespace

std::string InstrumentSpec::type() const { return kInstrumentTypes[terms.index()]; }

std::string instrument_types() {
  std::string out;
  for (const char* type : kInstrumentTypes) out += (out.empty() ? "" : ", ") + std::string(type);
  return out;
}

std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec) {
  return std::visit([&](const auto& terms) { return make_instrument(spec, terms); }, spec.terms);
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
  constexpr double kNoteTolerance = 1e-3;  // of the claims: see instrument.h
  if (std::abs(anticipated_share - paid_share) <= kNoteTolerance) return std::nullopt;
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
      // A sloped step runs wholly when even its last tonne is offered below the margin.
      const double offered = steps[c.step].unit_cost_usd_per_t;
      const double offered_last = offered + steps[c.step].cost_rise_usd_per_t;
      const State state = offered_last < margin - tolerance ? State::kOn
                          : offered > margin + tolerance    ? State::kOff
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

void ProducerIncentive::cover(ClubMarketYear& context, const std::set<std::size_t>& regions,
                              Stage stage, std::optional<double> volume_t, int line,
                              const std::vector<double>& kink_prices_usd_per_t,
                              double base_feed_usd_per_t) {
  market::MarketModel& model = context.market.model;
  stage_ = stage;
  eligible_ = regions;
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
  // Split sloped steps at the kinks of the payment (in the stage's cost terms).
  for (std::size_t r : regions) {
    auto& steps =
        stage == Stage::kProcessing ? model.regions[r].processing : model.regions[r].extraction;
    for (double kink_price : kink_prices_usd_per_t) {
      const double kink =
          stage == Stage::kProcessing ? kink_price - base_feed_usd_per_t : kink_price;
      for (std::size_t k = 0; k < steps.size(); ++k) {
        const market::SupplyStep& step = steps[k];
        const double low = step.unit_cost_usd_per_t, rise = step.cost_rise_usd_per_t;
        if (!(rise > 0.0) || !(kink > low) || !(kink < low + rise)) continue;
        const double kept_t = step.capacity_t * (kink - low) / rise;
        if (kept_t > 0.0 && kept_t < step.capacity_t) steps.push_back(steps[k].split_after(kept_t));
      }
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
      steps.push_back(steps[c.step].split_after(left));
    }
    left -= steps[c.step].capacity_t;
    covered_.push_back({c.region, c.step, c.cost, steps[c.step].cost_rise_usd_per_t});
  }
}

std::vector<StepCost> ProducerIncentive::costs(
    double base_feed_usd_per_t, double factor,
    const std::function<double(double)>& payment_usd_per_t) const {
  std::vector<StepCost> out;
  out.reserve(covered_.size());
  for (const Covered& c : covered_) {
    // A step that no price can pay for (a CfD struck below its cost) is priced out of the market:
    // offered at ten times its cost plus the strike scale, dearer than any buyer pays (the flow
    // problem caps it at twice the highest willingness to pay), yet finite so that a contract
    // that forces it to deliver is still accounted for in money. Every incentive cost above it
    // is offered at it, so the search stops there.
    const double priced_out =
        10.0 * (c.unit_cost_usd_per_t + c.cost_rise_usd_per_t + base_feed_usd_per_t) + 1e6;
    const auto offered_at = [&](double own_cost) {
      double offered = 0.0;
      if (stage_ == Stage::kExtraction) {
        offered = incentive_cost_usd_per_t(own_cost, factor, payment_usd_per_t, priced_out);
      } else {
        // The base-year feed price, not the last clearing's: the feed price of a refiner that
        // switches on or off moves with its decision (its own mine's dual is not unique), and a
        // decision rule that follows it can cycle. docs/instruments/subsidy.md states the
        // approximation.
        const double feed = base_feed_usd_per_t;
        offered = std::max(0.0, incentive_cost_usd_per_t(feed + own_cost, factor, payment_usd_per_t,
                                                         priced_out + feed) -
                                    feed);
      }
      return !std::isfinite(offered) || offered > priced_out ? priced_out : offered;
    };
    // The incentive cost is affine in the producer's cost between the payment's kinks, where
    // cover() split the steps, so the step's first and last tonnes give its offered line. (A
    // full CfD's tonnes below the strike are all offered at 0 and run whatever the price; above
    // it, all are priced out.)
    const double first = offered_at(c.unit_cost_usd_per_t);
    const double last = c.cost_rise_usd_per_t > 0.0
                            ? offered_at(c.unit_cost_usd_per_t + c.cost_rise_usd_per_t)
                            : first;
    // A step whose last tonne no price pays for starts at a kink (cover() split the step there),
    // so none of its tonnes is paid for: it is priced out whole, not along a line to that cost.
    if (last >= priced_out) {
      out.push_back({c.region, stage_, c.step, priced_out, 0.0});
    } else {
      out.push_back({c.region, stage_, c.step, first, std::max(0.0, last - first)});
    }
  }
  return out;
}

namespace {

// Writes terms into the model's fields: route tariffs added to (`add_tariffs`) or set to the
// values, step costs and delivery volumes set.
void write_terms(const Terms& terms, market::MarketModel& model, bool add_tariffs) {
  for (const RouteTariff& t : terms.route_tariffs) {
    double& tariff = model.routes[t.route].specific_tariff_usd_per_t;
    tariff = add_tariffs ? tariff + t.usd_per_t : t.usd_per_t;
  }
  for (const StepCost& c : terms.step_costs) {
    auto& steps = c.stage == Stage::kProcessing ? model.regions[c.region].processing
                                                : model.regions[c.region].extraction;
    steps[c.step].unit_cost_usd_per_t = c.usd_per_t;
    steps[c.step].cost_rise_usd_per_t = c.rise_usd_per_t;
  }
  for (const DeliveryVolume& d : terms.delivery_volumes) {
    model.deliveries[d.delivery].volume_t = d.t;
  }
}

}  // namespace

void apply_terms(const Terms& terms, market::MarketModel& model) {
  write_terms(terms, model, true);
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

std::set<std::string> member_countries(const std::vector<std::string>& members,
                                       const Dataset& data) {
  std::set<std::string> countries;
  for (const std::string& m : members) {
    if (data.find_country(m)) {
      countries.insert(m);
    } else if (auto bloc = data.resolve_bloc(m); bloc.is_ok()) {
      countries.insert(bloc.value().begin(), bloc.value().end());
    }
  }
  return countries;
}

namespace {

// The values in `model` of the fields `terms` set, as terms (a route's whole specific tariff).
Terms fields_of(const Terms& terms, const market::MarketModel& model) {
  Terms out;
  out.route_tariffs.reserve(terms.route_tariffs.size());
  for (const RouteTariff& t : terms.route_tariffs) {
    out.route_tariffs.push_back({t.route, model.routes[t.route].specific_tariff_usd_per_t});
  }
  out.step_costs.reserve(terms.step_costs.size());
  for (const StepCost& c : terms.step_costs) {
    const auto& steps = c.stage == Stage::kProcessing ? model.regions[c.region].processing
                                                      : model.regions[c.region].extraction;
    out.step_costs.push_back({c.region, c.stage, c.step, steps[c.step].unit_cost_usd_per_t,
                              steps[c.step].cost_rise_usd_per_t});
  }
  out.delivery_volumes.reserve(terms.delivery_volumes.size());
  for (const DeliveryVolume& d : terms.delivery_volumes) {
    out.delivery_volumes.push_back({d.delivery, model.deliveries[d.delivery].volume_t});
  }
  return out;
}

// Sets the fields to the values fields_of() read: undoes apply_terms() exactly.
void restore_fields(const Terms& values, market::MarketModel& model) {
  write_terms(values, model, false);
}

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

  ClubMarketYear context{data, market, scenario.file, model.year, scenario.stock_start_t};
  const double price_tolerance = 1e-6 * std::max(1.0, market.info.base_price_usd_per_t);
  ClubOutcome outcome;
  if (scenario.has_club) {
    context.member_regions = member_regions_of(scenario.club.member_countries, model);
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

  // The instruments of this material, built from their specs. A single clearing refuses one that
  // is not in force in the market's year; a multi-year run skips it with a note.
  std::vector<std::unique_ptr<Instrument>> instruments;
  std::vector<Diagnostic> out_of_force;
  for (const InstrumentSpec& spec : scenario.instruments) {
    if (spec.material != model.material) continue;
    std::unique_ptr<Instrument> instrument = make_instrument(spec);
    if (!instrument->in_force(model.year)) {
      if (scenario.skip_instruments_out_of_force) {
        context.notes.push_back(fmt::format("{} (line {}) is not in force in {}",
                                            instrument->label(), instrument->line(), model.year));
      } else {
        out_of_force.push_back(
            {scenario.file, spec.line, "tenor_years", instrument->out_of_force_reason(model.year)});
      }
      continue;
    }
    instruments.push_back(std::move(instrument));
  }
  if (!out_of_force.empty()) {
    return Status::invalid_input(fmt::format("{}: invalid scenario", scenario.file),
                                 std::move(out_of_force));
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

  // The outer loop. `model` (market.model) is now the base: prepare() is done, and from here on
  // only the instruments' terms change it, applied by the driver. Each round clears the base with
  // every instrument's current terms applied. Every piece of convergence state is here: the
  // instruments' current terms, the fixed-point search of each searched unknown, the damping of
  // direct terms, and which instruments moved in the last round.
  constexpr int kMaxOuterIterations = 40;
  // Direct route tariffs move all the way to their target in the first nine rounds and half way
  // from the tenth on: a levy that switches a route on and off settles.
  constexpr int kUndampedRounds = 9;
  struct Slot {
    CurrentTerms current;
    std::optional<DecreasingFixedPoint> search;  // the searched unknown's, when there is one
    double tolerance = 0.0;                      // of the search, in the unknown's unit
    double damping = 1.0;                        // of direct route tariffs
    int rounds = 0;                              // of direct updates
    // The instrument's change of terms in the last round [USD/t]; before the first clearing the
    // terms are the first ones, which no clearing has seen, so nothing has moved yet.
    double last_change = 0.0;
    // The route tariffs of the previous round and their targets then, for the secant step.
    std::vector<double> previous_value;
    std::vector<double> previous_target;
    bool extrapolated_last_round = false;
  };
  // A secant slope at or above this is too close to 1 to extrapolate on (the step would grow
  // without bound): the round takes the damped step instead.
  constexpr double kMaxSecantSlope = 0.9;
  std::vector<Slot> slots(instruments.size());
  bool any_searched = false;
  for (std::size_t i = 0; i < instruments.size(); ++i) {
    if (const std::optional<SearchedUnknown> unknown = instruments[i]->searched()) {
      slots[i].search.emplace(unknown->low, unknown->high, unknown->start);
      slots[i].tolerance = unknown->tolerance;
      slots[i].current = {instruments[i]->terms_at(unknown->start), unknown->start};
      any_searched = true;
    } else {
      slots[i].current.terms = instruments[i]->first_terms();
    }
  }
  // The model each round clears is the base with every instrument's current terms applied, and
  // nothing else: the same model as a fresh copy of the base. It is made in place, without
  // copying every region's names and countries each round (a copy per clearing cost about 3% of
  // the instruments' bench): the fields the last terms set get their base values back
  // (`base_values`, read before those terms were applied), then the current terms are applied.
  std::vector<Terms> base_values(slots.size());
  const auto fresh_model = [&] {
    for (const Terms& values : base_values) restore_fields(values, model);
    for (std::size_t i = 0; i < slots.size(); ++i) {
      base_values[i] = fields_of(slots[i].current.terms, model);
    }
    for (const Slot& slot : slots) apply_terms(slot.current.terms, model);
  };

  int iteration = 0;
  double residual = 0.0;
  while (true) {
    ++iteration;
    fresh_model();
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
    std::vector<double> changed_before(slots.size());
    for (std::size_t i = 0; i < slots.size(); ++i) changed_before[i] = slots[i].last_change;

    // Direct terms first, read against the model just cleared.
    double direct_change = 0.0;
    bool direct_moved = false;
    const Clearing cleared{model, outcome.equilibrium, price_tolerance};
    for (std::size_t i = 0; i < instruments.size(); ++i) {
      Slot& slot = slots[i];
      if (slot.search) continue;
      TermsUpdate update = instruments[i]->update(cleared, slot.current.terms);
      std::vector<RouteTariff>& next = update.target.route_tariffs;
      const std::vector<RouteTariff>& now = slot.current.terms.route_tariffs;
      assert(next.size() == now.size());
      // Each route's levy is a fixed point x = g(x) of the clearing. With sloped supply g is
      // smooth with a slope s in (0, 1) (a higher levy lowers the origin's price, which raises
      // the target), so plain iteration converges only linearly, by a factor s a round (0.37
      // for molybdenum: eight rounds). A secant through the last two rounds estimates s and
      // steps to where the line crosses x = g(x), x + (g - x) / (1 - s); where the estimate is
      // not usable (a route switched on or off between the rounds, or the first round) the step
      // is the damped one.
      const bool has_history =
          slot.previous_value.size() == next.size() && !slot.extrapolated_last_round;
      bool extrapolated = false;
      std::vector<double> raw_target(next.size());
      for (std::size_t k = 0; k < next.size(); ++k) {
        const double x = now[k].usd_per_t, g = next[k].usd_per_t;
        raw_target[k] = g;
        double step = slot.damping;
        if (has_history) {
          const double dx = x - slot.previous_value[k];
          const double dg = g - slot.previous_target[k];
          if (std::abs(dx) > 1e-9 * std::max(1.0, std::abs(x))) {
            const double slope = dg / dx;
            if (slope > -1.0 && slope < kMaxSecantSlope) {
              step = 1.0 / (1.0 - slope);
              extrapolated = true;
            }
          }
        }
        next[k].usd_per_t = x + step * (g - x);
        // A levy is never negative, whatever the extrapolation says.
        if (g >= 0.0 && next[k].usd_per_t < 0.0) next[k].usd_per_t = 0.0;
      }
      slot.previous_value.resize(next.size());
      for (std::size_t k = 0; k < next.size(); ++k) slot.previous_value[k] = now[k].usd_per_t;
      slot.previous_target = std::move(raw_target);
      slot.extrapolated_last_round = extrapolated;
      if (!next.empty() && ++slot.rounds >= kUndampedRounds) slot.damping = 0.5;
      if (!(update.target == slot.current.terms)) {
        direct_moved = true;
        slot.current.terms = std::move(update.target);
      }
      slot.last_change = update.distance_usd_per_t;
      residual = std::max(residual, slot.last_change);
      direct_change = std::max(direct_change, slot.last_change);
    }

    // Searched unknowns are fixed points of what the direct terms move, so they update after
    // them, against the model of the next clearing as far as the direct terms set it.
    if (any_searched && direct_moved) fresh_model();
    const Clearing next_clearing{model, outcome.equilibrium, price_tolerance};
    // In the first round the clearing was made at the direct terms' first guesses (a levy from
    // the base price); when they moved, what it shows of a budget's claims is a clearing under
    // terms about to change, so the searches hold for a round instead of moving on it: with a
    // levy's guess off, a CfD budget looked binding at a factor of 1 and was not, once the levy
    // had settled.
    const bool hold_for_others = iteration == 1 && direct_change > price_tolerance;
    for (std::size_t i = 0; i < instruments.size(); ++i) {
      Slot& slot = slots[i];
      if (!slot.search) continue;
      if (hold_for_others) {
        slot.last_change = 0.0;
        continue;
      }
      // Whether another instrument changed its terms after the previous clearing: then the
      // clearings that built the search's bracket were made under other terms
      // (DecreasingFixedPoint::observe).
      bool others_moved = false;
      for (std::size_t j = 0; j < slots.size(); ++j) {
        others_moved |= j != i && changed_before[j] > price_tolerance;
      }
      DecreasingFixedPoint& search = *slot.search;
      const UnknownReading reading = instruments[i]->read(next_clearing, search.value());
      search.observe(others_moved);
      const double distance = search.step(reading.target, slot.tolerance, reading.hint);
      slot.last_change = change_of_terms(distance / reading.unit * reading.usd_per_t,
                                         distance > 0.0, price_tolerance);
      // The terms are a function of the value alone: computed again only when it moved (a
      // producer incentive's costs are a search per step).
      if (search.value() != *slot.current.value) {
        slot.current = {instruments[i]->terms_at(search.value()), search.value()};
      }
      residual = std::max(residual, slot.last_change);
    }
    // Prices on sloped supply and demand are exact to the clearing's price resolution (the
    // widest marginal piece of the refinement, market.h), so a levy read from them is too: a
    // change below that resolution is the refinement's staircase, not a distance from the
    // fixed point, and chasing it cycles between two neighbouring pieces.
    const double loop_tolerance =
        std::max(price_tolerance, outcome.equilibrium.statistics.price_resolution_usd_per_t);
    if (residual <= loop_tolerance) break;
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
  // The market left behind is the base with the final terms (those of the last clearing unless
  // the loop stopped at its round limit); the reports read it.
  fresh_model();
  if (outcome.equilibrium.termination == market::Termination::kOptimal) {
    for (std::size_t i = 0; i < instruments.size(); ++i) {
      outcome.instruments.push_back(
          instruments[i]->settle(outcome.equilibrium, context, slots[i].current));
    }
  }
  for (std::string& note : context.notes) outcome.notes.push_back(std::move(note));
  return outcome;
}

Result<RevenueCurve> producer_revenue_curve(const market::MarketModel& model,
                                            const ClubOutcome& outcome, std::size_t region,
                                            Stage stage) {
  const market::Equilibrium& eq = outcome.equilibrium;
  const std::string& name = model.regions[region].name;
  RevenueCurve curve;
  curve.producer_price_usd_per_t = eq.node(region, stage).producer_price_usd_per_t;
  if (stage == Stage::kProcessing) {
    curve.feed_cost_usd_per_t =
        eq.node(region, Stage::kExtraction).price_usd_per_t / model.processing_yield;
  }
  for (const InstrumentReport& report : outcome.instruments) {
    for (const ProducerTerms& terms : report.producer_terms) {
      if (terms.stage != stage) continue;
      const bool covered = std::any_of(
          terms.regions.begin(), terms.regions.end(),
          [&](const std::string& n) { return n == name || n.substr(0, n.find('/')) == name; });
      if (!covered) continue;
      // Checks the terms once, so that at() cannot fail.
      const Result<double> payment =
          settlement::subsidy_payment_per_t(terms.terms, curve.producer_price_usd_per_t);
      CRITMIN_RETURN_IF_ERROR(payment);
      curve.terms.push_back({terms.terms, terms.paid_share});
      curve.contracted = curve.contracted || terms.contracted;
    }
  }
  return curve;
}

double RevenueCurve::payment_at(double factor) const {
  const double price = producer_price_usd_per_t * factor;
  double paid = 0.0;
  for (const Term& t : terms) {
    // Checked by producer_revenue_curve; a moved price stays finite.
    const double payment = settlement::subsidy_payment_per_t(t.terms, price).value();
    paid += payment * (payment > 0.0 ? t.paid_share : 1.0);
  }
  return paid;
}

double RevenueCurve::at(double factor) const {
  return producer_price_usd_per_t * factor + payment_at(factor) - feed_cost_usd_per_t * factor;
}

Result<ProducerRevenue> producer_revenue(const market::MarketModel& model,
                                         const ClubOutcome& outcome, std::size_t region,
                                         Stage stage) {
  const Result<RevenueCurve> curve = producer_revenue_curve(model, outcome, region, stage);
  CRITMIN_RETURN_IF_ERROR(curve);
  ProducerRevenue out;
  out.producer_price_usd_per_t = curve.value().producer_price_usd_per_t;
  out.revenue_usd_per_t = curve.value().at(1.0);
  out.contracted = curve.value().contracted;
  return out;
}

}  // namespace critmin::policy
