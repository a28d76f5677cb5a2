// An investor who sees risk (issue 17): what a candidate project is expected to earn, how that
// expectation is formed from the prices seen so far, and the distribution of its net present
// value. Pure functions of numbers, used by the simulation's investment stage (runner.cpp) and by
// critmin investability's decision rule; docs/investability.md gives the theory.
#pragma once

#include <functional>

namespace critmin::sim {

// What an investor expects a price to be, formed adaptively (Nerlove's adaptive expectations, in
// logs): each year's surprise moves the expected level by a share of itself, and the squared
// surprises give an exponentially weighted estimate of the forecast error's variance.
struct PriceBelief {
  double expected_usd_per_t = 0.0;  // the median of the investor's price distribution; 0: none yet
  double log_variance = 0.0;        // of the log forecast error [-]
};

// The belief after observing `price_usd_per_t`. The first observation sets the level and takes
// `prior_log_sd` (the material's price volatility) as the error's spread; later ones move the level
// by `weight` (in [0, 1]) of the log surprise and the variance by the same weight towards the
// squared surprise, but never below prior_log_sd^2: a simulated path is smoother than a market
// (it has no noise of its own unless the scenario draws some), so the material's historical
// volatility is the least risk an investor sees, and a disruption's surprises raise it. A
// non-positive price leaves the belief as it was (no market to read).
PriceBelief update_belief(const PriceBelief& belief, double price_usd_per_t, double weight,
                          double prior_log_sd);

// The price a market is expected to have, relative to today's, once `added_t` of new capacity
// (the pipeline and the candidate itself) is online after `lead_years` of demand growth at
// `growth_rate` on today's use `use_t`: constant-elasticity demand with elasticity `elasticity`
// (< 0) has to absorb the capacity beyond the growth, so the price moves by
// exp((ln(1 + added/use) - lead * ln(1 + growth)) / elasticity). Existing suppliers' response is
// not counted, so the fall is an upper bound for a given pipeline. 1 when use_t <= 0.
double pipeline_price_factor(double use_t, double added_t, double growth_rate, int lead_years,
                             double elasticity);

// A project's NPV as the investor sees it. The price factor f (the price over today's, every
// price of the market moving together) is lognormal with median `median_factor` and log spread
// `log_sd`; `revenue_at(f)` is the project's revenue per tonne at that factor (price, instrument
// payments and feed cost, so a floor or a CfD enters as a truncation of the downside), and
// NPV(f) = (revenue_at(f) - unit_cost) * capacity * annuity - capex.
struct ProjectEconomics {
  double unit_cost_usd_per_t = 0.0;  // excluding the feed
  double capacity_t = 0.0;           // [t/yr]
  double annuity = 0.0;              // present value of 1 USD a year of output [years]
  double capex_usd = 0.0;
};

struct NpvDistribution {
  double expected_npv_usd = 0.0;
  double probability_loss = 0.0;  // P(NPV < 0), [0, 1]
  double expected_revenue_usd_per_t = 0.0;
};

// The expectation and the loss probability by integration over the standard normal on a fixed
// grid of 161 points in [-8, 8] (step 0.1; trapezoid rule on the density; where the NPV changes
// sign between two grid points, the crossing is found by bisection to 1e-7 standard deviations and
// the loss mass split there). The error against the closed form of a proportional revenue is below
// 1e-6 in the probability and 1e-4 of the expected revenue (tested). log_sd = 0 gives the
// deterministic NPV at the median.
NpvDistribution npv_distribution(const std::function<double(double factor)>& revenue_at,
                                 double median_factor, double log_sd,
                                 const ProjectEconomics& project);

// The same for a revenue proportional to the factor, revenue_at(f) = revenue_at_one * f (no
// instrument: price less feed), in closed form: E[revenue] = revenue_at_one * median *
// exp(sd^2 / 2), and a loss when the revenue falls below the break-even unit cost + capex /
// (capacity * annuity). Agrees with npv_distribution on such a revenue (tested).
NpvDistribution npv_distribution_proportional(double revenue_at_one_usd_per_t, double median_factor,
                                              double log_sd, const ProjectEconomics& project);

// The standard normal quantile: z with P(Z <= z) = p, for p in (0, 1) (bisection on the
// distribution function to 1e-12).
double normal_quantile(double p);

// The decision rule shared by the simulation's investors and critmin investability: the expected
// NPV at the hurdle rate is positive and the probability of a loss is at most
// `max_loss_probability` (investment_max_loss_probability).
bool investable(double expected_npv_usd, double probability_loss, double max_loss_probability);

}  // namespace critmin::sim
