// The instrument interface. Every club instrument is one class behind it; stockpile.cpp is the
// documented example to copy when adding one (docs/instruments/README.md walks through it).
//
// The life of an instrument in one clearing (policy/club.cpp drives it):
//   1. read(): built from its [[instrument]] table; every key checked (file:line:key).
//   2. prepare(): changes the market before the first clearing (adds regions, steps, deliveries,
//      stocks; transforms producer costs). Problems that depend on the market (a region the
//      market does not have) go to context.problems.
//   3. update(): after each clearing, moves its price-dependent terms (a levy, a budget factor)
//      towards their fixed point and returns the largest change [USD/t]; 0 when settled. The
//      driver re-clears until every instrument returns (nearly) 0.
//   4. settle(): the payments and volumes at the final equilibrium, computed with
//      critmin/policy/settlement.h, as an InstrumentReport.
#pragma once

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/toml_reader.h"
#include "critmin/market/market.h"
#include "critmin/policy/club.h"
#include "critmin/world/dataset.h"

namespace critmin::policy {

// Budget factors (the share of their claims that producers of a capped subsidy or top-up
// anticipate) are settled to 1e-4 (0.01% of the payment): a binding budget switches marginal
// producers on and off, and each further digit costs about three more clearings. Payments
// themselves always respect the budget exactly (settlement::apply_budget).
inline constexpr double kBudgetFactorTolerance = 1e-4;

struct ClearingContext {
  ClearingContext(const Dataset& data_in, market::CalibratedMarket& market_in, std::string file_in,
                  int year_in)
      : data(data_in), market(market_in), file(std::move(file_in)), year(year_in) {}

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
  // Tolerance of the outer loop [USD/t]: 1e-6 of the base price.
  double price_tolerance = 0.0;
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
  const std::map<int, double>* stock_start_t = nullptr;
  // Set by the driver before each update(): whether another instrument changed its terms (by
  // more than the outer loop's tolerance) after the previous clearing, so that the clearing just
  // made was cleared under other terms than the earlier ones. A fixed-point search that kept a
  // bracket from those earlier clearings must not trust it (DecreasingFixedPoint::observe).
  bool others_moved = false;
  // Set by the driver in the first round for instruments that settle after the others
  // (Instrument::settles_after_others) when another instrument's first terms, set by prepare()
  // before any clearing, moved after the first clearing (a levy's first guess from the base
  // price). What that clearing shows of a budget's claims is then a clearing under terms about to
  // change, so the instrument holds its own terms for a round instead of moving on it: with a
  // levy's guess off, a CfD budget looked binding at a factor of 1 and was not, once the levy had
  // settled.
  bool hold_for_others = false;

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

// The change an instrument whose terms come from a fixed-point search reports for a round
// [USD/t]: its distance from the fixed point valued in USD/t, and when the search moved its terms
// (returned a positive distance), at least twice the outer loop's tolerance, so that the loop
// clears once more at the new terms however small the move looks in USD/t (a small premium or
// deficit per tonne): the last clearing is then always made at the terms the instrument settles.
inline double change_of_terms(double distance_usd_per_t, bool moved,
                              const ClearingContext& context) {
  return moved ? std::max(distance_usd_per_t, 2.0 * context.price_tolerance) : distance_usd_per_t;
}

// A note for a report when the share of their claims that producers decided on (the budget
// factor the outer loop settled on) differs by more than the budget tolerance from the share the
// budget pays at the final clearing. That happens at a switch: the search ends on the side where
// the budget pays at least the anticipated share, and a marginal producer that would run on the
// other side would take the claims over the budget. nullopt when the two agree.
std::optional<std::string> anticipated_share_note(double anticipated_share, double paid_share);

class Instrument {
 public:
  virtual ~Instrument() = default;
  virtual std::string type() const = 0;
  virtual std::string label() const = 0;
  // A copy in the state it is in (called on instruments as read, before prepare()).
  virtual std::unique_ptr<Instrument> clone() const = 0;
  const std::string& material() const { return material_; }
  int line() const { return line_; }
  // Structural instruments (new regions) run first, so later ones see the final regions.
  virtual int phase() const { return 2; }
  // Whether the instrument applies in a year (an offtake contract within its tenor).
  virtual bool in_force(int year) const {
    (void)year;
    return true;
  }
  // Whether the instrument's price-dependent terms are a fixed point of what the other
  // instruments' terms move (a budget's share of claims, a grant's funded volume): such
  // instruments update after the others in every round, so that they can see whether the others
  // moved (ClearingContext::hold_for_others).
  virtual bool settles_after_others() const { return false; }
  virtual void prepare(ClearingContext& context) = 0;
  virtual double update(const market::Equilibrium& eq, ClearingContext& context) {
    (void)eq;
    (void)context;
    return 0.0;
  }
  virtual InstrumentReport settle(const market::Equilibrium& eq,
                                  const ClearingContext& context) const = 0;

 protected:
  InstrumentReport report_header() const {
    InstrumentReport report;
    report.type = type();
    report.label = label();
    report.line = line_;
    return report;
  }
  std::string material_;
  int line_ = 0;
  friend struct InstrumentReading;
};

// Reading helpers shared by the instruments' readers.
struct InstrumentReading {
  TomlFields& fields;
  const Dataset& data;
  const toml::table& table;
  int year = 0;

  void start(Instrument& instrument) const;  // material and line
  std::optional<Stage> stage() const;
  // The factor from the table's `unit` key to USD/t: "USD/t" (default) 1, "USD/kg" 1000.
  double price_factor() const;
  // A price key converted to USD/t (required or optional), >= 0.
  std::optional<double> price(const char* key, bool required) const;
};

using InstrumentReader = std::unique_ptr<Instrument> (*)(const InstrumentReading& reading);

// The reader of an instrument type, nullptr when the type is unknown.
InstrumentReader find_instrument_reader(const std::string& type);
std::string instrument_types();  // "price_floor, subsidy, ..." for messages

// The readers, one per file.
std::unique_ptr<Instrument> read_price_floor(const InstrumentReading& reading);
std::unique_ptr<Instrument> read_subsidy(const InstrumentReading& reading);
std::unique_ptr<Instrument> read_offtake(const InstrumentReading& reading);
std::unique_ptr<Instrument> read_intermediary(const InstrumentReading& reading);
std::unique_ptr<Instrument> read_certified_market(const InstrumentReading& reading);
std::unique_ptr<Instrument> read_joint_purchasing(const InstrumentReading& reading);
std::unique_ptr<Instrument> read_stockpile(const InstrumentReading& reading);

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
  // Call before step() with ClearingContext::others_moved. When the market moved under the
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
  // when nullopt); a step that the volume ends inside is split in two.
  // Records a problem in `context` (and covers nothing) when another instrument already pays
  // one of these producers at this stage.
  void cover(ClearingContext& context, const std::set<std::size_t>& regions, Stage stage,
             std::optional<double> volume_t, int line);
  // Sets the covered steps' costs to their incentive cost at `factor`. `payment_usd_per_t` must
  // be the same function on every call (the instrument's terms): a call with the factor and feed
  // price of the previous call leaves the costs as they are, without computing them again (the
  // outer loop applies every round, and most rounds leave the factor where it was).
  void apply(market::MarketModel& model, double base_feed_usd_per_t, double factor,
             const std::function<double(double)>& payment_usd_per_t);
  bool empty() const { return covered_.empty(); }
  Stage stage() const { return stage_; }
  std::set<std::size_t> regions() const;
  // Output of the covered steps at the equilibrium [t], per region (the covered share of the
  // region's production at the stage, taken cheapest-first like the market does).
  double covered_output_t(const market::MarketModel& model, const market::Equilibrium& eq,
                          std::size_t region) const;

  // How the covered output of a region would change with the factor, seen from one clearing made
  // at the current factor with the region's prices held. A covered step runs when the producer's
  // revenue at the region's margin y (its producer price less the feed it needs; at the
  // processing stage plus the base-year feed price, as in apply()), y + factor x payment(y),
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
    double unit_cost_usd_per_t;  // the producer's own cost (apply() sets what the market sees)
  };
  std::vector<Covered> covered_;
  Stage stage_ = Stage::kProcessing;
  // The factor and feed price of the last apply(), when it ran.
  std::optional<std::pair<double, double>> applied_;
};

// The parsed text of a clearing scenario (ClearingScenario::document).
struct ScenarioDocument {
  toml::table root;
  // The instruments as read_clearing_scenario read them (in file order), at `instruments_year`:
  // a clearing that reads at that year clones the ones of its material instead of reading their
  // tables again (a world-year clears every material, a simulation every material every year).
  int instruments_year = 0;
  std::vector<std::unique_ptr<Instrument>> instruments;
  // The club's member countries (ISO3), resolved from `club_members` (its members as written) in
  // `club_dataset` once instead of on every clearing; used while the scenario's club still lists
  // those members and the clearing reads the same dataset.
  std::vector<std::string> club_members;
  const Dataset* club_dataset = nullptr;
  std::set<std::string> club_member_countries;
};

}  // namespace critmin::policy
