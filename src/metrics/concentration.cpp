#include <algorithm>

#include "critmin/metrics/assess.h"

namespace critmin {

double herfindahl_index(const std::vector<double>& shares) {
  double hhi = 0.0;
  for (double share : shares) hhi += (100.0 * share) * (100.0 * share);
  return hhi;
}

double wgi_scaled(double wgi_mean_estimate) {
  return std::clamp(10.0 * (2.5 - wgi_mean_estimate) / 5.0, 0.0, 10.0);
}

double governance_weighted_hhi(const std::vector<WeightedShare>& suppliers) {
  double total = 0.0;
  for (const WeightedShare& s : suppliers)
    total += s.share * s.share * s.wgi_scaled * s.trade_factor;
  return total;
}

double eu_supply_risk(double hhi_wgi_global, double hhi_wgi_eu_sourcing, double import_reliance,
                      double eol_rir, double substitution_index) {
  const double weighted =
      hhi_wgi_global * import_reliance / 2.0 + hhi_wgi_eu_sourcing * (1.0 - import_reliance / 2.0);
  return weighted * (1.0 - eol_rir) * substitution_index;
}

}  // namespace critmin
