#include "sim/investor.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace critmin::sim {

namespace {

constexpr int kGridPoints = 161;
constexpr double kGridHalfWidth = 8.0;  // standard deviations each side
constexpr double kGridStep = 2.0 * kGridHalfWidth / (kGridPoints - 1);
constexpr int kCrossingBisections = 20;  // 0.1 / 2^20: about 1e-7 standard deviations

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double normal_density(double z) {
  constexpr double kInvSqrtTwoPi = 0.39894228040143267794;
  return kInvSqrtTwoPi * std::exp(-0.5 * z * z);
}

// The grid's points, the trapezoid weights of the standard normal density on them and the
// distribution function at them: fixed, computed once.
struct Grid {
  std::array<double, kGridPoints> z{}, weight{}, cdf{};
  Grid() {
    for (int k = 0; k < kGridPoints; ++k) {
      z[k] = -kGridHalfWidth + kGridStep * k;
      weight[k] = normal_density(z[k]) * ((k == 0 || k == kGridPoints - 1) ? 0.5 : 1.0);
      cdf[k] = normal_cdf(z[k]);
    }
  }
};

const Grid& grid() {
  static const Grid g;
  return g;
}

}  // namespace

PriceBelief update_belief(const PriceBelief& belief, double price_usd_per_t, double weight,
                          double prior_log_sd) {
  if (!(price_usd_per_t > 0.0) || !std::isfinite(price_usd_per_t)) return belief;
  if (!(belief.expected_usd_per_t > 0.0)) return {price_usd_per_t, prior_log_sd * prior_log_sd};
  const double surprise = std::log(price_usd_per_t / belief.expected_usd_per_t);
  PriceBelief next;
  next.expected_usd_per_t = belief.expected_usd_per_t * std::exp(weight * surprise);
  next.log_variance = std::max(prior_log_sd * prior_log_sd,
                               (1.0 - weight) * belief.log_variance + weight * surprise * surprise);
  return next;
}

double pipeline_price_factor(double use_t, double added_t, double growth_rate, int lead_years,
                             double elasticity) {
  if (!(use_t > 0.0) || !(elasticity < 0.0)) return 1.0;
  const double supply_change = std::log1p(std::max(0.0, added_t) / use_t);
  const double demand_change = static_cast<double>(lead_years) * std::log1p(growth_rate);
  return std::exp((supply_change - demand_change) / elasticity);
}

NpvDistribution npv_distribution(const std::function<double(double factor)>& revenue_at,
                                 double median_factor, double log_sd,
                                 const ProjectEconomics& project) {
  const auto npv_of = [&](double revenue_usd_per_t) {
    return (revenue_usd_per_t - project.unit_cost_usd_per_t) * project.capacity_t *
               project.annuity -
           project.capex_usd;
  };
  NpvDistribution out;
  if (!(log_sd > 0.0)) {
    out.expected_revenue_usd_per_t = revenue_at(median_factor);
    out.expected_npv_usd = npv_of(out.expected_revenue_usd_per_t);
    out.probability_loss = out.expected_npv_usd < 0.0 ? 1.0 : 0.0;
    return out;
  }
  const Grid& g = grid();
  std::array<double, kGridPoints> npv{};
  double weight_sum = 0.0, revenue_sum = 0.0;
  for (int k = 0; k < kGridPoints; ++k) {
    const double revenue = revenue_at(median_factor * std::exp(log_sd * g.z[k]));
    npv[k] = npv_of(revenue);
    weight_sum += g.weight[k];
    revenue_sum += g.weight[k] * revenue;
  }
  out.expected_revenue_usd_per_t = revenue_sum / weight_sum;
  out.expected_npv_usd = npv_of(out.expected_revenue_usd_per_t);  // NPV is affine in revenue
  // The loss mass: whole intervals where both ends lose, and the part of an interval on the losing
  // side of the sign change; the tails beyond the grid follow its end points.
  double loss = 0.0;
  if (npv[0] < 0.0) loss += g.cdf[0];
  if (npv[kGridPoints - 1] < 0.0) loss += g.cdf[0];
  for (int k = 0; k + 1 < kGridPoints; ++k) {
    const bool lose0 = npv[k] < 0.0, lose1 = npv[k + 1] < 0.0;
    if (lose0 && lose1) {
      loss += g.cdf[k + 1] - g.cdf[k];
    } else if (lose0 != lose1) {
      // The sign change by bisection on the NPV itself, to 1e-7 standard deviations.
      double lo = g.z[k], hi = g.z[k + 1];
      for (int i = 0; i < kCrossingBisections; ++i) {
        const double mid = 0.5 * (lo + hi);
        const bool lose = npv_of(revenue_at(median_factor * std::exp(log_sd * mid))) < 0.0;
        (lose == lose0 ? lo : hi) = mid;
      }
      const double crossing = normal_cdf(0.5 * (lo + hi));
      loss += lose0 ? crossing - g.cdf[k] : g.cdf[k + 1] - crossing;
    }
  }
  out.probability_loss = std::clamp(loss, 0.0, 1.0);
  return out;
}

NpvDistribution npv_distribution_proportional(double revenue_at_one_usd_per_t, double median_factor,
                                              double log_sd, const ProjectEconomics& project) {
  const double a = revenue_at_one_usd_per_t;
  const double lifetime_t = project.capacity_t * project.annuity;
  NpvDistribution out;
  out.expected_revenue_usd_per_t = a * median_factor * std::exp(0.5 * log_sd * log_sd);
  out.expected_npv_usd =
      (out.expected_revenue_usd_per_t - project.unit_cost_usd_per_t) * lifetime_t -
      project.capex_usd;
  // A loss when a f falls below the break-even revenue b.
  const double break_even = project.unit_cost_usd_per_t + project.capex_usd / lifetime_t;
  if (!(lifetime_t > 0.0)) {
    out.probability_loss = project.capex_usd > 0.0 ? 1.0 : 0.0;
  } else if (!(break_even > 0.0)) {
    // Even no revenue pays: a loss only where the revenue is negative (a < 0, any f).
    out.probability_loss = a < 0.0 ? 1.0 : 0.0;
  } else if (!(a > 0.0)) {
    out.probability_loss = 1.0;
  } else if (!(log_sd > 0.0)) {
    out.probability_loss = a * median_factor < break_even ? 1.0 : 0.0;
  } else {
    out.probability_loss = normal_cdf(std::log(break_even / (a * median_factor)) / log_sd);
  }
  return out;
}

double normal_quantile(double p) {
  double lo = -kGridHalfWidth * 2.0, hi = kGridHalfWidth * 2.0;
  while (hi - lo > 1e-12) {
    const double mid = 0.5 * (lo + hi);
    (normal_cdf(mid) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

bool investable(double expected_npv_usd, double probability_loss, double max_loss_probability) {
  return expected_npv_usd > 0.0 && probability_loss <= max_loss_probability + 1e-12;
}

}  // namespace critmin::sim
