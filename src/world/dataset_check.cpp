#include "world/dataset_check.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

namespace critmin {

const std::vector<std::string>& required_parameters() {
  static const std::vector<std::string> kNames = {
      "crma_single_country_limit",
      "wgi_reference_year",
      "wgi_missing_scaled",
      "censored_share",
      "trade_year",
      "share_sum_tolerance",
  };
  return kNames;
}

namespace {

void check_share_sums(const std::vector<SupplyShare>& shares, const std::string& file,
                      double tolerance, std::vector<Diagnostic>& problems) {
  struct Sum {
    double total = 0.0;
    int last_line = 0;
  };
  std::map<std::pair<std::string, Stage>, Sum> sums;
  for (const SupplyShare& s : shares) {
    Sum& sum = sums[{s.material_id, s.stage}];
    sum.total += s.share;
    sum.last_line = std::max(sum.last_line, s.line);
  }
  for (const auto& [key, sum] : sums) {
    if (sum.total > 1.0 + tolerance) {
      problems.push_back(
          {file, sum.last_line, "share",
           fmt::format("the shares of {} at the {} stage sum to {:.4f}, more than 1 (+{} "
                       "rounding tolerance); correct the shares so that they add up to at most 1",
                       key.first, stage_name(key.second), sum.total, tolerance)});
    }
  }
}

}  // namespace

void check_dataset_consistency(const Dataset& data, std::vector<Diagnostic>& problems) {
  const auto file = [&](const char* table) { return (data.directory / table).string(); };
  for (const std::string& name : required_parameters()) {
    if (!data.parameters.contains(name)) {
      problems.push_back({file("parameters.csv"), 0, "parameter",
                          fmt::format("missing parameter '{}'; add a row for it", name)});
    }
  }
  const double tolerance = data.parameter("share_sum_tolerance");
  check_share_sums(data.global_supply_shares, file("global_supply_shares.csv"), tolerance,
                   problems);
  check_share_sums(data.eu_sourcing_shares, file("eu_sourcing_shares.csv"), tolerance, problems);

  std::map<std::string, std::pair<double, int>> end_use_sums;
  for (const EndUseShare& e : data.end_use_shares) {
    auto& [total, line] = end_use_sums[e.material_id];
    total += e.share;
    line = std::max(line, e.line);
  }
  for (const auto& [material, sum] : end_use_sums) {
    if (sum.first > 1.0 + tolerance) {
      problems.push_back({file("end_use_shares.csv"), sum.second, "share",
                          fmt::format("the end-use shares of {} sum to {:.4f}, more than 1; "
                                      "correct them so that they add up to at most 1",
                                      material, sum.first)});
    }
  }

  std::map<std::string, std::pair<double, int>> demand_sums;
  for (const DemandShare& d : data.demand_shares) {
    auto& [total, line] = demand_sums[d.material_id];
    total += d.share;
    line = std::max(line, d.line);
  }
  for (const auto& [material, sum] : demand_sums) {
    if (std::abs(sum.first - 1.0) > 1e-6) {
      problems.push_back(
          {file("demand_shares.csv"), sum.second, "share",
           fmt::format("the demand shares of {} sum to {:.6f}; they must add up to "
                       "1 (give ROW the rest)",
                       material == "*" ? "the default split (*)" : material, sum.first)});
    }
  }

  bool has_default = false;
  for (const SupplyRiskInputs& s : data.supply_risk_inputs) has_default |= s.material_id == "*";
  if (!has_default) {
    problems.push_back({file("supply_risk_inputs.csv"), 0, "material_id",
                        "no default row; add a row with material_id '*' that applies to every "
                        "material not listed"});
  }
  for (std::size_t i = 0; i < data.fx_rates.size(); ++i) {
    if (data.fx_rates[i].usd_per_eur <= 0) {
      problems.push_back({file("fx_rates.csv"), static_cast<int>(i) + 2, "usd_per_eur",
                          "an exchange rate must be positive"});
    }
  }
  const int trade_year = static_cast<int>(data.parameter("trade_year"));
  bool has_trade_year_rate = false;
  for (const FxRate& fx : data.fx_rates) has_trade_year_rate |= fx.year == trade_year;
  if (data.parameters.contains("trade_year") && !has_trade_year_rate) {
    problems.push_back({file("fx_rates.csv"), 0, "year",
                        fmt::format("no exchange rate for the trade year {} (parameters.csv); add "
                                    "a row so that import values can be given in USD",
                                    trade_year)});
  }
  std::set<std::string> mapped_codes;
  for (const Cn8Mapping& m : data.cn8_materials) mapped_codes.insert(m.cn8);
  for (const ImportFlow& flow : data.eu_imports) {
    if (!mapped_codes.contains(flow.cn8)) {
      problems.push_back({file("eu_imports.csv"), flow.line, "cn8",
                          fmt::format("CN8 code {} has no row in cn8_materials.csv; map it to "
                                      "materials and a stage",
                                      flow.cn8)});
    }
  }
}

}  // namespace critmin
