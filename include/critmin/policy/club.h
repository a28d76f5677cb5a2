// The club and its instruments, applied to one material's market in one year.
//
// A scenario file names the club's members and its instruments (docs/instruments/*.md has a page
// per instrument with its real-world anchor and a worked example):
//
//   [scenario]
//   name = "ndpr-floor"
//
//   [club]
//   members = ["USA", "JPN", "EU27", "GBR", "CAN", "AUS", "KOR"]   # ISO3 codes or blocs
//   external_ad_valorem = 0.0            # optional common external tariff on non-member supply
//   external_specific_usd_per_t = 0.0
//
//   [[instrument]]
//   type = "price_floor"                 # see the instrument pages for every type and key
//   material = "gallium"
//   stage = "processing"
//   price = 600.0
//   unit = "USD/kg"                      # prices are USD/t unless a unit says otherwise
//   enforcement = "levy"                 # or "top_up"
//
// Instrument types: price_floor (levy or top_up), subsidy (cfd, floor_with_upside_share,
// fixed_premium; optional budget), offtake, intermediary, certified_market, joint_purchasing,
// stockpile. Inside the club trade is tariff-free; the club's external tariff applies to
// non-member supply entering member regions. A region belongs to the club when all its countries
// are members (EU27 with the EU in the club; ROW never).
//
// Clearing: structural instruments change the market once, before the first clearing (certified
// segments, the joint purchasing block, contracted deliveries, stocks, the supply steps a producer
// incentive covers). Each clearing is then made with every instrument's terms applied to that
// base (levies on routes, the costs paid producers are offered at, the intermediary's funded
// volume); instruments compute their terms from a clearing and never change the market
// themselves. Price-dependent terms (levies, budget factors, the funded volume) are settled in an
// outer loop, which owns their fixed-point searches, that re-clears the market until no term
// changes by more than 1e-6 of the base price (a budget factor: by more than 1e-4 of the payment),
// at most 40 rounds, and reports its rounds and residual. Every payment is computed with
// critmin/policy/settlement.h.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/market/calibration.h"
#include "critmin/market/market.h"
#include "critmin/market/trade_measures.h"
#include "critmin/policy/instrument_spec.h"
#include "critmin/policy/settlement.h"
#include "critmin/world/dataset.h"

namespace critmin::policy {

struct ClubDesign {
  std::vector<std::string> members;  // ISO3 codes and bloc names as written
  int members_line = 0;
  // The member countries (ISO3) that clear as the club: member_countries(members, dataset) of
  // the dataset the scenario was read with. A club changed after reading is resolved again
  // with member_countries().
  std::set<std::string> member_countries;
  double external_ad_valorem = 0.0;          // [-] on non-member supply into member regions
  double external_specific_usd_per_t = 0.0;  // [USD/t]
};

// The member countries (ISO3) of a club's members as written: the ISO3 codes and the countries
// of the blocs; a name that is neither is left out (the scenario reader reports it).
std::set<std::string> member_countries(const std::vector<std::string>& members,
                                       const Dataset& data);

// What clearing a market under a scenario needs: its club, instruments and trade measures
// (critmin/scenario/scenario.h reads them from a scenario file).
struct ClearingScenario {
  std::string file;  // for messages (file:line:key)
  std::string name;
  market::TradeMeasures trade;
  ClubDesign club;
  bool has_club = false;
  std::vector<InstrumentSpec> instruments;  // in file order
  // Stock held at the start of the year by each stockpile instrument, keyed by the line of its
  // [[instrument]] table [t]. A multi-year run carries the end-of-year stock here; a stockpile not
  // listed starts at initial_fill x target.
  std::map<int, double> stock_start_t;
  // A multi-year run applies each instrument only in the years it is in force (an offtake within
  // its tenor) and notes the others; a single clearing (false) reports an instrument out of force
  // in the market's year as an error at file:line:key.
  bool skip_instruments_out_of_force = false;
};

// One figure an instrument reports, e.g. {"levy_revenue", 1.2e6, "USD"}.
struct InstrumentFigure {
  std::string name;
  double value = 0.0;
  std::string unit;
};

// What an instrument pays producers per tonne on top of (or instead of) the market price, as the
// simulation's investment rule reads it: the terms (critmin/policy/settlement.h) and whom they
// cover.
struct ProducerTerms {
  std::vector<std::string> regions;  // market region names covered (certified twins included)
  Stage stage = Stage::kProcessing;
  settlement::SubsidyTerms terms;  // a price-floor top-up is a floor with no upside share
  double paid_share = 1.0;         // share of claims paid this year (< 1 when a budget binds)
  bool contracted = true;          // revenue fixed by contract (CfD, floor): a lower hurdle rate
};

struct InstrumentReport {
  std::string type;
  std::string label;  // e.g. "price_floor neodymium processing 110000 USD/t (levy)"
  int line = 0;
  // The member an instrument belongs to as the scenario names it (a stockpile's holder); empty
  // for instruments of the whole club.
  std::string holder;
  std::vector<InstrumentFigure> figures;
  std::vector<ProducerTerms> producer_terms;  // subsidies and price-floor top-ups
  std::vector<std::string> notes;  // rules that bound (a budget), warnings (a floor below cost)

  // A figure of the output table (critmin/core/figures.h, group instrument) from this report; 0
  // when the instrument has no such flow this year (a stockpile pays no subsidy, a floor with no
  // member below it no top-up), so that sums over the instruments read every figure. kNotFound,
  // naming the nearest figures, for a name the table does not hold.
  Result<double> figure(std::string_view name) const;
};

struct ClubOutcome {
  market::Equilibrium equilibrium;
  std::vector<InstrumentReport> instruments;  // one per instrument that applies to the material
  std::vector<std::string> member_regions;    // regions of the market in the club
  int outer_iterations = 0;
  double outer_residual_usd_per_t = 0.0;  // largest change of a price-dependent term, last round
  bool converged = true;
  std::vector<std::string> notes;
};

// What a tonne of `stage` made in region `region` earns towards its producer's own costs in a
// cleared market: the producer price, plus what an instrument covering the region pays its
// producers (a floor's top-up; a CfD pays strike - price, so the producer earns the strike), less
// the feed a refiner buys at the extraction price; contracted when a term fixes part of it. A term
// covers the region when it names it or a segment of it ("USA/certified" covers USA).
struct ProducerRevenue {
  double revenue_usd_per_t = 0.0;
  double producer_price_usd_per_t = 0.0;  // the market's part of it
  bool contracted = false;
};
Result<ProducerRevenue> producer_revenue(const market::MarketModel& model,
                                         const ClubOutcome& outcome, std::size_t region,
                                         Stage stage);

// The same revenue as a function of a common price factor f: every price of the cleared market
// times f (the producer price and the feed alike), the instruments' terms as they stand this year
// evaluated at the moved price. An investor who expects prices to move values a project with it;
// at f = 1 it is producer_revenue. Built by producer_revenue_curve, which checks the terms once.
struct RevenueCurve {
  struct Term {
    settlement::SubsidyTerms terms;
    double paid_share = 1.0;
  };
  double producer_price_usd_per_t = 0.0;  // at f = 1
  double feed_cost_usd_per_t = 0.0;       // at f = 1; 0 at the extraction stage
  std::vector<Term> terms;                // the terms that cover the region's stage
  bool contracted = false;

  // [USD/t] at price factor `factor` (> 0).
  double at(double factor) const;
  // What the instruments pay per tonne at that factor (the part of at() they add) [USD/t].
  double payment_at(double factor) const;
  // No instrument applies: the revenue is proportional to the factor.
  bool proportional() const { return terms.empty(); }
};
Result<RevenueCurve> producer_revenue_curve(const market::MarketModel& model,
                                            const ClubOutcome& outcome, std::size_t region,
                                            Stage stage);

// Applies the scenario's trade measures, club and instruments that concern the market's material
// and clears it. kInvalidInput (file:line:key) when a measure or instrument cannot be applied to
// this market (a region it does not have, a contract out of force in the market's year); an
// equilibrium that does not exist is reported in equilibrium.termination.
Result<ClubOutcome> clear_with_instruments(const Dataset& data, market::CalibratedMarket& market,
                                           const ClearingScenario& scenario,
                                           market::SolverPath path = market::SolverPath::kNetwork);

}  // namespace critmin::policy
