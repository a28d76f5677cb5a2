// The instrument interface. Every club instrument is one class behind it; stockpile.cpp is the
// documented example to copy when adding one (docs/instruments/README.md walks through it).
//
// The life of an instrument in one clearing (policy/club.cpp drives it):
//   1. built from its typed spec (critmin/policy/instrument_spec.h; the scenario layer reads the
//      spec from a scenario's [[instrument]] table and checks every key there).
//   2. prepare(): the one-time, structural change of the market before the first clearing (adds
//      regions, steps, deliveries, stocks; marks the routes it will levy). Problems that depend
//      on the market (a region the market does not have) go to context.problems. The model
//      prepare() leaves is the driver's base model; after prepare() no instrument changes it.
//   3. terms: what an instrument asks of each clearing on top of the base model (Terms: route
//      tariffs, offered costs of supply steps, volumes of deliveries). The driver applies every
//      instrument's current terms to a fresh copy of the base model before each clearing
//      (apply_terms). Terms come in two kinds:
//        - direct terms (a levy): update() maps a clearing and the current terms to the target
//          terms and their distance from the fixed point; the driver damps and adopts them.
//        - a searched unknown (a budget's share of claims, a grant's funded volume): searched()
//          gives its bounds, read() its target (and a model's hint) at a clearing, terms_at() the
//          terms at a value; the driver owns the fixed-point search (DecreasingFixedPoint).
//      update(), read() and terms_at() are const and touch no model: an instrument keeps no state
//      that changes from round to round, and every piece of convergence state (searches, their
//      restarts, damping, rounds, whether the others moved) lives in the driver.
//   4. settle(): the payments and volumes at the final equilibrium and terms, computed with
//      critmin/policy/settlement.h, as an InstrumentReport.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "critmin/market/market.h"
#include "critmin/policy/club.h"
#include "critmin/policy/instrument_spec.h"
#include "critmin/world/dataset.h"

namespace critmin::policy {

// Budget factors (the share of their claims that producers of a capped subsidy or top-up
// anticipate) are settled to 1e-4 (0.01% of the payment): a binding budget switches marginal
// producers on and off, and each further digit costs about three more clearings. Payments
// themselves always respect the budget exactly (settlement::apply_budget).
inline constexpr double kBudgetFactorTolerance = 1e-4;

// One market and year as the club's instruments see it outside the clearing loop: what prepare()
// works on and settle() reads. It holds the market being prepared (the driver's base model until
// the loop ends, then the model of the final clearing), the club's member regions, and the market
// as the club left it. Nothing in it changes between clearings, and the loop itself never reads
// it: each round's state is the driver's (club.cpp), each instrument's answer is its terms.
struct ClubMarketYear {
  ClubMarketYear(const Dataset& data_in, market::CalibratedMarket& market_in, std::string file_in,
                 int year_in, const std::map<int, double>& stock_start_in)
      : data(data_in),
        market(market_in),
        file(std::move(file_in)),
        year(year_in),
        stock_start_t(stock_start_in) {}

  const Dataset& data;
  market::CalibratedMarket& market;
  std::string file;
  int year = 0;
  std::set<std::size_t> member_regions;
  // Per region of the market as it stands: 1 for a member region, else 0 (a table for loops over
  // routes, which would otherwise look both ends up in member_regions).
  std::vector<char> member_flags() const;
  std::vector<Diagnostic> problems;
  std::vector<std::string> notes;
  // The market as the club left it, before any instrument's prepare(): instruments that need the
  // regions' own base demand or the routes' own costs read these, so that the order of the
  // instruments in the file does not change what they see.
  std::size_t original_region_count = 0;
  std::vector<double> original_base_demand_t;  // per original region
  std::vector<market::Route> original_routes;
  // Producers (region, stage) already paid per tonne by an instrument, with its line: a second
  // scheme on the same producers is refused, since the two would fight over the offered costs.
  std::map<std::pair<std::size_t, Stage>, int> incentive_owner;
  // Stock at the start of the year per stockpile instrument line [t] (ClearingScenario).
  const std::map<int, double>& stock_start_t;

  // Resolves a name to exactly one region of the market; records a problem at file:line:key
  // otherwise.
  std::optional<std::size_t> one_region(const std::string& name, int line, const char* key);
  // Resolves names to regions (a bloc may give several); records a problem when one is unknown.
  std::optional<std::set<std::size_t>> regions(const std::vector<std::string>& names, int line,
                                               const char* key);
  void problem(int line, const char* key, std::string message);
  // The regions and their certified twins ("AUS" and "AUS/certified"), so that an instrument
  // naming a producer covers its certified capacity too.
  std::set<std::size_t> with_certified_twins(const std::set<std::size_t>& regions) const;
  // The region that produces for a seller named as `region` at a stage: the region itself, or its
  // certified twin when all its capacity at the stage is certified.
  std::size_t producing_region(std::size_t region, Stage stage) const;
  double base_price(Stage stage) const;  // [USD/t] of the stage's product in the base year
};

// The change a searched unknown reports for a round [USD/t]: its distance from the fixed point
// valued in USD/t, and when the search moved its terms (returned a positive distance), at least
// twice the outer loop's tolerance, so that the loop clears once more at the new terms however
// small the move looks in USD/t (a small premium or deficit per tonne): the last clearing is then
// always made at the terms the instrument settles.
inline double change_of_terms(double distance_usd_per_t, bool moved, double price_tolerance) {
  return moved ? std::max(distance_usd_per_t, 2.0 * price_tolerance) : distance_usd_per_t;
}

// A note for a report when the share of their claims that producers decided on (the budget
// factor the outer loop settled on) differs by more than 0.1 percentage point from the share the
// budget pays at the final clearing (the loop stops at the clearing's price resolution, about
// 0.1% of the price, so closer shares are the same to that accuracy). That happens at a switch: the
// search ends on the side where the budget pays at least the anticipated share, and a marginal
// producer that would run on the other side would take the claims over the budget. nullopt when the
// two agree.
std::optional<std::string> anticipated_share_note(double anticipated_share, double paid_share);

// A specific tariff an instrument adds to a route of the base model [USD/t] (a levy).
struct RouteTariff {
  std::size_t route = 0;  // index into MarketModel::routes
  double usd_per_t = 0.0;
  bool operator==(const RouteTariff&) const = default;
};
// The cost a supply step of the base model is offered at [USD/t] (a producer's incentive cost
// under a per-tonne payment): its first tonne's and the rise to its last tonne's.
struct StepCost {
  std::size_t region = 0;
  Stage stage = Stage::kProcessing;
  std::size_t step = 0;  // index into the region's steps at the stage
  double usd_per_t = 0.0;
  double rise_usd_per_t = 0.0;
  bool operator==(const StepCost&) const = default;
};
// The volume of a contracted delivery of the base model [t/yr] (the intermediary's purchase).
struct DeliveryVolume {
  std::size_t delivery = 0;  // index into MarketModel::deliveries
  double t = 0.0;
  bool operator==(const DeliveryVolume&) const = default;
};
// What an instrument asks of one clearing on top of the base model prepare() left. Terms of
// different instruments never set the same step or delivery (one payment scheme per producer and
// stage; one delivery per contract); route tariffs add up.
struct Terms {
  std::vector<RouteTariff> route_tariffs;
  std::vector<StepCost> step_costs;
  std::vector<DeliveryVolume> delivery_volumes;
  bool operator==(const Terms&) const = default;
};
// Applies terms to a fresh copy of the base model: adds the route tariffs, sets the step costs
// and delivery volumes. Applied to anything else, a route tariff would count twice.
void apply_terms(const Terms& terms, market::MarketModel& model);

// What an update reads: an equilibrium and the model it is read against, and the outer loop's
// tolerance [USD/t] (1e-6 of the base price).
struct Clearing {
  const market::MarketModel& model;
  const market::Equilibrium& eq;
  double price_tolerance = 0.0;
};

// Direct terms after a clearing: where they go (before the driver's damping) and how far the
// current terms are from that target [USD/t]; 0 when they are at their fixed point.
struct TermsUpdate {
  Terms target;
  double distance_usd_per_t = 0.0;
};

// A price-dependent unknown whose fixed point value = target(clearing at value) the driver finds
// with a DecreasingFixedPoint: the target must not increase with the value.
struct SearchedUnknown {
  double low = 0.0, high = 0.0;  // bounds
  double start = 0.0;            // the value of the first clearing
  double tolerance = 0.0;        // a gap to the target within which the value is settled
};
// What one clearing says about a searched unknown.
struct UnknownReading {
  double target = 0.0;
  // Where a model of the target (predict_fixed_point) puts the next value to clear at, if the
  // instrument has one: taken by the search when it lies inside the bracket.
  std::optional<double> hint;
  // The value of a distance d of the unknown in USD/t is d / unit * usd_per_t (a share of the
  // unknown's unit times the price per tonne that share moves).
  double unit = 1.0;
  double usd_per_t = 0.0;
};

// An instrument's terms as the driver holds them: the terms and, for a searched unknown, its
// value. settle() reads the final ones.
struct CurrentTerms {
  Terms terms;
  std::optional<double> value;
};

class Instrument {
 public:
  virtual ~Instrument() = default;
  virtual std::string type() const = 0;
  virtual std::string label() const = 0;
  const std::string& material() const { return material_; }
  int line() const { return line_; }
  // Structural instruments (new regions) run first, so later ones see the final regions.
  virtual int phase() const { return 2; }
  // Whether the instrument applies in a year (an offtake contract within its tenor).
  virtual bool in_force(int year) const {
    (void)year;
    return true;
  }
  // Why the instrument is not in force in a year, for a message at its tenor.
  virtual std::string out_of_force_reason(int year) const {
    return fmt::format("{} is not in force in {}", label(), year);
  }
  // The one-time, structural change of the base model (see the top of this file). Sets no
  // price-dependent term: those are first_terms() or terms_at(searched()->start).
  virtual void prepare(ClubMarketYear& context) = 0;

  // Direct terms. The terms of the first clearing (a levy's first guess; a producer incentive
  // without a budget, which never changes).
  virtual Terms first_terms() const { return {}; }
  // The target of the direct terms at a clearing, given the current terms, and their distance
  // from the fixed point [USD/t]. Route tariffs of the target must be listed like the current
  // ones (the driver damps them pairwise). Terms that do not depend on prices stay as they are.
  virtual TermsUpdate update(const Clearing& clearing, const Terms& current) const {
    (void)clearing;
    return {current, 0.0};
  }

  // A searched unknown (a budget's share of claims, a grant's volume), when the instrument has
  // one; it then has no direct terms. The driver updates searched unknowns after every direct
  // term of the round, since they are fixed points of what the others move, and reads them
  // against the model of the next clearing as far as the direct terms have set it (a budget's
  // model of its target predicts the next clearing, with the route costs it will have).
  virtual std::optional<SearchedUnknown> searched() const { return std::nullopt; }
  // The unknown's target at a clearing made with the unknown at `value`.
  virtual UnknownReading read(const Clearing& clearing, double value) const {
    (void)clearing;
    return {value, std::nullopt, 1.0, 0.0};
  }
  // The terms at a value of the unknown.
  virtual Terms terms_at(double value) const {
    (void)value;
    return {};
  }

  // The report at the final equilibrium; context.market.model is then the model of the final
  // clearing (the base with `terms` applied).
  virtual InstrumentReport settle(const market::Equilibrium& eq, const ClubMarketYear& context,
                                  const CurrentTerms& terms) const = 0;

 protected:
  // Takes the material and the line from the spec (called by each instrument's constructor).
  void start(const InstrumentSpec& spec) {
    material_ = spec.material;
    line_ = spec.line;
  }
  InstrumentReport report_header() const {
    InstrumentReport report;
    report.type = type();
    report.label = label();
    report.line = line_;
    return report;
  }
  std::string material_;
  int line_ = 0;
};

// The instrument a spec describes, ready for prepare(); one overload per kind, each in the
// instrument's own file.
std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec,
                                            const PriceFloorSpec& terms);
std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec, const SubsidySpec& terms);
std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec, const OfftakeSpec& terms);
std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec,
                                            const IntermediarySpec& terms);
std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec,
                                            const CertifiedMarketSpec& terms);
std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec,
                                            const JointPurchasingSpec& terms);
std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec, const StockpileSpec& terms);
// Dispatches on the spec's kind.
std::unique_ptr<Instrument> make_instrument(const InstrumentSpec& spec);

// The fixed point x = target(x) of a non-increasing target on [low, high]: a budget factor (more
// paid per tonne -> more output -> a smaller share of claims the budget covers) or a funded volume
// (more bought -> a lower resale price -> a larger deficit per tonne -> less the grant covers).
// It jumps to the target while the target stays on one side (exact in one round when the target
// does not move); once the target has been on both sides the bracket is shrunk by false position
// with Illinois' correction, so that a target that jumps with a discrete decision still settles,
// at the switching point.
class DecreasingFixedPoint {
 public:
  DecreasingFixedPoint(double low, double high, double start)
      : initial_low_(low), initial_high_(high), low_(low), high_(high), value_(start) {}
  double value() const { return value_; }
  // Moves towards the fixed point given the target at the current value; returns how far the
  // value may still be from it (the smaller of the gap to the target and the bracket).
  // `hint`: where a model of the target (FixedPointOutlook) puts the fixed point; taken as the
  // next value when it lies strictly inside the bracket, in place of the jump or the false
  // position step, so that a wrong model costs a round but never leaves the bracket.
  double step(double target, double tolerance, std::optional<double> hint = std::nullopt);
  bool bracketed() const { return above_ && below_; }
  // Call before step() with whether another instrument changed its terms (by more than the outer
  // loop's tolerance) after the previous clearing. When the market moved under the
  // search (another instrument's terms changed since the clearings that built the bracket), the
  // bracket is forgotten and the search starts again from the current value within the original
  // bounds: a bracket end seen under other terms can hold the search off the fixed point, which
  // it then approaches by halving (a budget factor seen binding at 1 under a first guess of a
  // levy, and not binding anywhere once the levy settled, took 16 clearings). At most
  // kMaxRestarts times, so a search whose market keeps moving still closes a bracket.
  void observe(bool others_moved);
  static constexpr int kMaxRestarts = 3;

 private:
  double initial_low_ = 0.0, initial_high_ = 0.0;
  int restarts_ = 0;
  // Counts the others' moves (observe); each end of the bracket keeps the count it was seen at.
  int epoch_ = 0, low_epoch_ = 0, high_epoch_ = 0;
  double low_, high_, value_;
  bool above_ = false, below_ = false;  // the target has been seen below / above the value
  double g_low_ = 0.0, g_high_ = 0.0;   // target - value at the ends of the bracket
};

// A model of a budget factor's target between clearings: the target as a piecewise constant,
// non-increasing function of the factor, given by the points where it may change (`breakpoints`,
// in (low, high)) and a function that evaluates it anywhere. Its fixed point is either inside a
// piece (the target there) or at a breakpoint where the target jumps across the diagonal.
struct PredictedFixedPoint {
  double value = 0.0;
  bool at_jump = false;  // the target jumps over the value there: a discrete switch
};
PredictedFixedPoint predict_fixed_point(std::vector<double> breakpoints, double low, double high,
                                        const std::function<double(double)>& target);

// The next value to clear at for a budget factor, from the model's fixed point: the fixed point
// itself inside a piece; at a jump, the point half a resolution beside it on the other side from
// the current value, so that two clearings straddle the switch within `resolution`.
double budget_factor_hint(const PredictedFixedPoint& predicted, double current, double resolution);

// Producer incentives: the lowest price at which a producer whose revenue per tonne is
// price + factor * payment(price) covers its unit cost. payment is a settlement function of the
// price; revenue must not decrease with the price (true of every subsidy kind for factor in [0,1]).
// Returns +infinity when no price covers the cost (a CfD with the strike below the cost), and
// when no price up to `ceiling_usd_per_t` does: a caller that treats every price above a ceiling
// alike says so, and the search does not double its way up to the largest doubles (a full CfD's
// revenue is flat, and a step struck below its cost took 60 doublings to be found priced out).
double incentive_cost_usd_per_t(double unit_cost_usd_per_t, double factor,
                                const std::function<double(double)>& payment_usd_per_t,
                                double ceiling_usd_per_t = std::numeric_limits<double>::infinity());

// The supply steps of producers that receive a per-tonne payment (a top-up, a CfD, a premium)
// and the costs they are offered at. A producer produces when price + factor * payment(price)
// covers its cost, so each covered step is offered at its incentive cost.
// At the extraction stage this is exact. At the processing stage the step cost is the margin over
// the feed, and the payment depends on the product price, so the step is offered at
// incentive_cost(feed + margin) - feed with the base-year feed price (an approximation: the
// decision does not follow the feed price of the clearing, which can make it cycle).
class ProducerIncentive {
 public:
  // Covers the steps of `regions` at `stage`, cheapest first, up to `volume_t` in all (every step
  // when nullopt); a step that the volume ends inside is split in two. A sloped step whose cost
  // range holds one of `kink_prices_usd_per_t` (prices where the payment changes form: a strike,
  // a floor, an upside threshold; at the processing stage less `base_feed_usd_per_t`) is split
  // there first, so that every covered step's incentive cost is affine in its own cost across
  // the step (costs()).
  // Records a problem in `context` (and covers nothing) when another instrument already pays
  // one of these producers at this stage.
  void cover(ClubMarketYear& context, const std::set<std::size_t>& regions, Stage stage,
             std::optional<double> volume_t, int line,
             const std::vector<double>& kink_prices_usd_per_t = {},
             double base_feed_usd_per_t = 0.0);
  // The covered steps' offered costs at `factor`: each its incentive cost (the instrument's terms;
  // the driver applies them), at its first and its last tonne: a sloped step's tonnes are offered
  // along the line between the two. `payment_usd_per_t` is the instrument's payment per tonne.
  std::vector<StepCost> costs(double base_feed_usd_per_t, double factor,
                              const std::function<double(double)>& payment_usd_per_t) const;
  bool empty() const { return covered_.empty(); }
  Stage stage() const { return stage_; }
  std::set<std::size_t> regions() const;
  // Every region cover() was asked to cover, with steps to cover or not: a new producer there
  // (a project once it is online) is covered too, so an investor there counts on the terms.
  const std::set<std::size_t>& eligible_regions() const { return eligible_; }
  // Output of the covered steps at the equilibrium [t], per region (the covered share of the
  // region's production at the stage, taken cheapest-first like the market does).
  double covered_output_t(const market::MarketModel& model, const market::Equilibrium& eq,
                          std::size_t region) const;

  // How the covered output of a region would change with the factor, seen from one clearing made
  // at the current factor with the region's prices held. A covered step runs when the producer's
  // revenue at the region's margin y (its producer price less the feed it needs; at the
  // processing stage plus the base-year feed price, as in costs()), y + factor x payment(y),
  // covers its own cost x. That is linear in the factor, so each step switches at one factor.
  // A step that runs now is judged at the region's producer price; one that does not, at what
  // more output would fetch (its best export netback, or the local price while the region
  // imports): when it runs, the region's output is priced there.
  struct Switch {
    double factor = 0.0;     // where the step switches
    bool runs_above = true;  // runs at factors above (else below) the switch
    bool extra = false;      // a step that does not run now: its output is sold at the netback
    double on_t = 0.0;       // change of covered output when running, against the clearing [t]
    double off_t = 0.0;      // ... when not running [t]
    bool runs(double f) const { return runs_above ? f >= factor : f <= factor; }
  };
  struct RegionOutlook {
    std::size_t region = 0;
    double producer_price_usd_per_t = 0.0;  // held
    double extra_price_usd_per_t = 0.0;     // what more output would fetch
    double covered_t = 0.0;                 // at the clearing
    std::vector<Switch> switches;
    // Covered output at a factor [t] (>= 0).
    double covered_at(double factor) const;
    // The producer price at a factor: the netback once a step that does not run now runs.
    double price_at(double factor) const;
  };
  std::vector<RegionOutlook> outlook(const market::MarketModel& model,
                                     const market::Equilibrium& eq, double base_feed_usd_per_t,
                                     const std::function<double(double)>& payment_usd_per_t) const;

 private:
  struct Covered {
    std::size_t region;
    std::size_t step;
    double unit_cost_usd_per_t;  // the producer's own cost (costs() gives what the market sees)
    double cost_rise_usd_per_t;  // ... its rise across the step
  };
  std::vector<Covered> covered_;
  std::set<std::size_t> eligible_;
  Stage stage_ = Stage::kProcessing;
};

}  // namespace critmin::policy
