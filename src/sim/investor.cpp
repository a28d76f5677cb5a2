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
  std::array<double, kGridPoints> npv{};
  double weight_sum = 0.0, revenue_sum = 0.0;
  for (int k = 0; k < kGridPoints; ++k) {
    const double z = -kGridHalfWidth + kGridStep * k;
    const double revenue = revenue_at(median_factor * std::exp(log_sd * z));
    npv[k] = npv_of(revenue);
    const double w = normal_density(z) * ((k == 0 || k == kGridPoints - 1) ? 0.5 : 1.0);
    weight_sum += w;
    revenue_sum += w * revenue;
  }
  out.expected_revenue_usd_per_t = revenue_sum / weight_sum;
  out.expected_npv_usd = npv_of(out.expected_revenue_usd_per_t);  // NPV is affine in revenue
  // The loss mass: whole intervals where both ends lose, and the part of an interval on the losing
  // side of the interpolated sign change; the tails beyond the grid follow its end points.
  double loss = 0.0;
  if (npv[0] < 0.0) loss += normal_cdf(-kGridHalfWidth);
  if (npv[kGridPoints - 1] < 0.0) loss += normal_cdf(-kGridHalfWidth);
  for (int k = 0; k + 1 < kGridPoints; ++k) {
    const double z0 = -kGridHalfWidth + kGridStep * k;
    const double z1 = z0 + kGridStep;
    const bool lose0 = npv[k] < 0.0, lose1 = npv[k + 1] < 0.0;
    if (lose0 && lose1) {
      loss += normal_cdf(z1) - normal_cdf(z0);
    } else if (lose0 != lose1) {
      // The sign change by bisection on the NPV itself, to 1e-7 standard deviations.
      double lo = z0, hi = z1;
      for (int i = 0; i < kCrossingBisections; ++i) {
        const double mid = 0.5 * (lo + hi);
        const bool lose = npv_of(revenue_at(median_factor * std::exp(log_sd * mid))) < 0.0;
        (lose == lose0 ? lo : hi) = mid;
      }
      const double crossing = 0.5 * (lo + hi);
      loss += lose0 ? normal_cdf(crossing) - normal_cdf(z0) : normal_cdf(z1) - normal_cdf(crossing);
    }
  }
  out.probability_loss = std::clamp(loss, 0.0, 1.0);
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
