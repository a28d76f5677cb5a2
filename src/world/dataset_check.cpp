#include "world/dataset_check.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "core/csv.h"
#include "core/text.h"

namespace critmin {

const std::vector<std::string>& required_parameters() {
  static const std::vector<std::string> kNames = {
      "crma_single_country_limit",
      "wgi_reference_year",
      "wgi_missing_scaled",
      "censored_share",
      "trade_year",
      "share_sum_tolerance",
      "crma_extraction_benchmark",
      "crma_processing_benchmark",
      "crma_recycling_benchmark",
      "nl_share_of_eu_budget",
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

// A closed or open bound of a parameter's range.
struct Range {
  double low;
  bool low_open;
  double high;
  bool high_open;
  const char* meaning;  // what the value is, for the fix

  bool contains(double value) const {
    return (low_open ? value > low : value >= low) && (high_open ? value < high : value <= high);
  }
  std::string text() const {
    return fmt::format("{}{:g},{:g}{}", low_open ? '(' : '[', low, high, high_open ? ')' : ']');
  }
};

void check_parameter_ranges(const Dataset& data, const std::string& file,
                            std::vector<Diagnostic>& problems) {
  static const std::vector<std::pair<std::string, Range>> kRanges = {
      {"crma_single_country_limit",
       {0, true, 1, false, "a share of one country, 0.65 for the CRMA's 65%"}},
      {"crma_extraction_benchmark",
       {0, true, 1, false, "a share of EU use, 0.10 for the CRMA's 10%"}},
      {"crma_processing_benchmark",
       {0, true, 1, false, "a share of EU use, 0.40 for the CRMA's 40%"}},
      {"crma_recycling_benchmark",
       {0, true, 1, false, "a share of EU use, 0.25 for the CRMA's 25%"}},
      {"wgi_missing_scaled", {0, false, 10, false, "a score on the 0-10 governance scale"}},
      {"censored_share",
       {0, false, 0.001, false, "a share below the 0.1% that the source prints as '<0.1%'"}},
      {"share_sum_tolerance",
       {0, false, 0.2, false, "the rounding tolerance of a share sum, 0.05 for 5 points"}},
      {"wgi_reference_year", {1996, false, 2100, false, "a WGI year (the WGI begin in 1996)"}},
      {"trade_year", {1990, false, 2100, false, "a calendar year of the Comext extract"}},
      {"nl_share_of_eu_budget",
       {0, false, 1, false, "the Netherlands' GNI-based share of the EU budget, about 0.06"}},
  };
  for (const auto& [name, range] : kRanges) {
    const auto it = data.parameters.find(name);
    if (it == data.parameters.end()) continue;  // reported as missing
    const double value = it->second.value;
    const bool is_year = name.ends_with("_year");
    if (!range.contains(value) || (is_year && value != std::floor(value))) {
      problems.push_back({file, it->second.line, "value",
                          fmt::format("{} {:g} is outside {}{}; give {}", name, value, range.text(),
                                      is_year ? " or not a whole year" : "", range.meaning)});
    }
  }
}

void check_market_parameters(const Dataset& data, const std::string& file,
                             std::vector<Diagnostic>& problems) {
  static const std::map<std::string, Range> kRanges = {
      {"processing_yield",
       {0, true, 1, false, "tonnes of processed content per tonne of mined content"}},
      {"extraction_price_ratio",
       {0, true, 1, true, "the mined feed's share of the processed price per tonne"}},
      {"demand_elasticity_short_run",
       {-HUGE_VAL, true, 0, true, "a negative own-price elasticity within the year, e.g. -0.1"}},
      {"demand_elasticity_long_run",
       {-HUGE_VAL, true, 0, true, "a negative own-price elasticity after adjustment, e.g. -0.5"}},
      {"demand_adjustment_share",
       {0, true, 1, false, "the share of the gap to long-run demand closed per year, in (0,1]"}},
      {"value_of_lost_use",
       {20, false, HUGE_VAL, true, "a multiple of the base price of at least 20"}},
      {"restart_share", {0, false, 1, false, "a share of idle capacity 0-1"}},
      {"commercial_stock_days", {0, false, 3650, false, "days of consumption, e.g. 45"}},
      {"commercial_release_price",
       {1, true, HUGE_VAL, true, "a multiple of the base price above 1, e.g. 1.25"}},
      {"commercial_release_full_price",
       {1, true, HUGE_VAL, true, "a multiple of the base price above the release price"}},
      {"commercial_max_release_share", {0, false, 1, false, "a share of the stock 0-1"}},
      {"stock_rebuild_years", {1, false, 100, false, "years, at least 1"}},
      {"transport_cost_share_extraction",
       {0, false, HUGE_VAL, true, "a non-negative share of the extraction price"}},
      {"transport_cost_share_processing",
       {0, false, HUGE_VAL, true, "a non-negative share of the processed price"}},
      {"region_threshold_share", {0, false, 1, false, "a share of world supply 0-1"}},
      {"demand_growth_rate", {-1, true, 1, false, "a yearly growth rate, e.g. 0.03"}},
      {"project_lead_time_extraction", {0, false, 50, false, "whole years, e.g. 5"}},
      {"project_lead_time_processing", {0, false, 50, false, "whole years, e.g. 3"}},
      {"project_capacity_share", {0, true, 1, false, "a share of world base production 0-1"}},
      {"project_unit_cost", {0, true, HUGE_VAL, true, "a positive multiple of the stage price"}},
      {"project_capex_multiple",
       {0, true, HUGE_VAL, true, "a positive multiple of the stage price per t/yr"}},
      {"share_of_group_tonnage", {0, true, 1, false, "a share of the group's tonnage 0-1"}},
      {"investment_hurdle_rate", {0, false, 1, false, "a yearly discount rate, e.g. 0.12"}},
      {"investment_contracted_hurdle_rate",
       {0, false, 1, false, "a yearly discount rate, e.g. 0.08"}},
      {"project_lifetime_years", {1, false, 100, false, "whole years of output, e.g. 25"}},
      {"candidate_capacity_spread", {0, false, 1, true, "a relative spread below 1, e.g. 0.5"}},
      {"candidate_cost_spread", {0, false, 1, true, "a relative spread below 1, e.g. 0.2"}},
      {"candidate_capex_spread", {0, false, 1, true, "a relative spread below 1, e.g. 0.3"}},
      {"investment_expectation_weight",
       {0, false, 1, false, "the share of a price surprise believed within a year, e.g. 0.5"}},
      {"investment_max_loss_probability",
       {0, false, 1, true, "a probability below 1, e.g. 0.1 for a lender's P90 case"}},
      {"price_volatility", {0, false, 5, false, "the sd of a year's log price change, e.g. 0.22"}},
  };
  const auto label = [](const std::string& material) {
    return material == "*" ? std::string("the default (*)") : material;
  };
  // Every row on its own.
  for (const MarketParameter& p : data.market_parameters) {
    const auto it = kRanges.find(p.parameter);
    if (it == kRanges.end() || it->second.contains(p.value)) continue;
    const Range& range = it->second;
    const std::string where =
        std::isinf(range.low) ? fmt::format("must be < {:g}", range.high)
        : std::isinf(range.high)
            ? fmt::format("must be {} {:g}", range.low_open ? ">" : ">=", range.low)
            : fmt::format("is outside {}", range.text());
    problems.push_back({file, p.line, "value",
                        fmt::format("{} {:g} for {} {}; give {}", p.parameter, p.value,
                                    label(p.material_id), where, range.meaning)});
  }
  // The parameters of each material as the market engine sees them: its own rows, else the
  // default's. A relation is reported for a material only when one of its own rows takes part.
  struct Value {
    double value = 0.0;
    int line = 0;
    bool own = false;
  };
  std::map<std::string, std::map<std::string, Value>> own;
  for (const MarketParameter& p : data.market_parameters) {
    own[p.material_id][p.parameter] = {p.value, p.line, true};
  }
  for (const auto& [material, rows] : own) {
    std::map<std::string, Value> values;
    const auto defaults = own.find("*");
    if (defaults != own.end()) {
      values = defaults->second;
      for (auto& [name, value] : values) value.own = material == "*";
    }
    for (const auto& [name, value] : rows) values[name] = value;
    const auto get = [&](const std::string& name) -> const Value* {
      const auto it = values.find(name);
      return it == values.end() ? nullptr : &it->second;
    };
    // A named copy: clang does not let a lambda capture a structured binding (C++20 allows it).
    const std::string& material_id = material;
    const auto relation = [&](const char* low_name, const char* high_name, bool by_magnitude,
                              const char* why) {
      const Value* low = get(low_name);
      const Value* high = get(high_name);
      if (!low || !high || !(low->own || high->own)) return;
      const double l = by_magnitude ? std::abs(low->value) : low->value;
      const double h = by_magnitude ? std::abs(high->value) : high->value;
      if (h >= l && !(h == l && !by_magnitude)) return;
      const Value& at = high->own ? *high : *low;
      problems.push_back({file, at.line, "value",
                          fmt::format("{} {:g} and {} {:g} for {}: {}", low_name, low->value,
                                      high_name, high->value, label(material_id), why)});
    };
    relation("demand_elasticity_short_run", "demand_elasticity_long_run", true,
             "long-run demand responds at least as much as short-run demand; make the long-run "
             "elasticity at least as large in magnitude");
    relation("commercial_release_price", "commercial_release_full_price", false,
             "stock holders sell all they will only above the price where they start; make the "
             "full-release price higher");
  }
}

bool is_market_region(const Dataset& data, const std::string& region) {
  return region == "EU27" || region == "ROW" ||
         (region != "WLD" && data.find_country(region) && region == trim(region));
}

void check_supply_costs(const Dataset& data, const std::string& file,
                        std::vector<Diagnostic>& problems) {
  bool default_of[2] = {false, false};
  std::set<std::tuple<std::string, std::string, Stage>> seen;
  for (const SupplyCost& c : data.supply_costs) {
    if (c.material_id == "*" && c.region == "*") default_of[c.stage == Stage::kProcessing] = true;
    const auto report = [&](const char* field, std::string message) {
      problems.push_back({file, c.line, field, std::move(message)});
    };
    if (c.region != "*" && !is_market_region(data, c.region)) {
      report("region", fmt::format("unknown region '{}'; use an ISO3 code of countries.csv, EU27, "
                                   "ROW or * (every other region)",
                                   c.region));
    }
    if (!seen.insert({c.material_id, c.region, c.stage}).second) {
      report("region", fmt::format("a second row for {} {} {}; keep one", c.material_id, c.region,
                                   stage_name(c.stage)));
    }
    if (!(c.utilisation > 0.0 && c.utilisation <= 1.0)) {
      report("utilisation",
             fmt::format("{:g} is outside (0,1]; give production over capacity", c.utilisation));
    }
    if (!(c.cost_low > 0.0)) {
      report("cost_low",
             fmt::format("{:g} must be > 0 (a multiple of the stage price)", c.cost_low));
    }
    if (!(c.cost_high >= c.cost_low)) {
      report("cost_high",
             fmt::format("{:g} is below cost_low {:g}: a cost curve cannot fall with quantity; "
                         "give the marginal tonne's cost, at least the cheapest's",
                         c.cost_high, c.cost_low));
    }
    if (!(c.cost_high < 1.0)) {
      report("cost_high", fmt::format("{:g} must be < 1: base-year output is in the money at the "
                                      "base price",
                                      c.cost_high));
    }
    if (!(c.idle_cost_low > 1.0)) {
      report("idle_cost_low", fmt::format("{:g} must be > 1: idle capacity is out of the money at "
                                          "the base price",
                                          c.idle_cost_low));
    }
    if (!(c.idle_cost_high >= c.idle_cost_low)) {
      report("idle_cost_high",
             fmt::format("{:g} is below idle_cost_low {:g}: a cost curve cannot fall with "
                         "quantity",
                         c.idle_cost_high, c.idle_cost_low));
    }
  }
  for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
    if (!default_of[stage == Stage::kProcessing]) {
      problems.push_back({file, 0, "material_id",
                          fmt::format("no default row for the {} stage; add one with material_id "
                                      "and region '*'",
                                      stage_name(stage))});
    }
  }
}

void check_state_stocks(const Dataset& data, const std::string& file,
                        std::vector<Diagnostic>& problems) {
  for (const StateStock& s : data.state_stocks) {
    const auto report = [&](const char* field, std::string message) {
      problems.push_back({file, s.line, field, std::move(message)});
    };
    if (!is_market_region(data, s.region) || s.region == "ROW") {
      report("region", fmt::format("unknown region '{}'; use an ISO3 code of countries.csv or EU27",
                                   s.region));
    }
    if (!(s.buy_below_price > 0.0 && s.buy_below_price < 1.0)) {
      report("buy_below_price",
             fmt::format("{:g} must lie in (0,1): a reserve buys below the base price",
                         s.buy_below_price));
    }
    if (!(s.release_above_price > 1.0)) {
      report("release_above_price",
             fmt::format("{:g} must be > 1: a reserve releases above the base price",
                         s.release_above_price));
    }
  }
}

void check_demand_regions(const Dataset& data, const std::string& file,
                          std::vector<Diagnostic>& problems) {
  bool has_default = false;
  for (const DemandShare& d : data.demand_shares) {
    has_default |= d.material_id == "*";
    if (d.region == "EU27" || d.region == "ROW") continue;
    if (d.region != "WLD" && data.find_country(d.region) && d.region == trim(d.region)) continue;
    problems.push_back({file, d.line, "region",
                        fmt::format("unknown region '{}'; use an ISO3 code of countries.csv, EU27 "
                                    "or ROW (the rest of the world)",
                                    d.region)});
  }
  if (!has_default) {
    problems.push_back({file, 0, "material_id",
                        "no default split; add rows with material_id '*' that give the demand "
                        "split of every material not listed"});
  }
}

}  // namespace

// Production tonnages against a plausible world bound per material
// (reference/plausible_world_tonnage.csv beside the tables: ten times the largest world output
// the committed data observed, rounded up to a power of ten; data/SOURCES.md). A tonnage above
// it is a unit mistake (kg for t) or a typo. A material the file does not list is held to the
// largest bound of any material; without the file (a dataset of its own), to 1e11 t.
void check_production_tonnage(const Dataset& data, const std::string& file,
                              std::vector<Diagnostic>& problems) {
  const std::filesystem::path bounds_file =
      data.directory / "reference" / "plausible_world_tonnage.csv";
  std::map<std::string, double> bounds;
  double largest = 1e11;
  if (std::filesystem::exists(bounds_file)) {
    Result<CsvTable> table = read_csv_file(bounds_file);
    std::size_t material = 0;
    std::size_t bound = 0;
    bool readable = table.is_ok();
    if (readable) {
      const auto m = table.value().column("material_id");
      const auto b = table.value().column("max_world_t_per_year");
      readable = m.has_value() && b.has_value();
      material = m.value_or(0);
      bound = b.value_or(0);
    }
    if (!readable) {
      problems.push_back({bounds_file.string(), 1, "max_world_t_per_year",
                          "cannot read the plausible world tonnages; the file needs the columns "
                          "material_id and max_world_t_per_year"});
      return;
    }
    largest = 0.0;
    for (const CsvRecord& r : table.value().records) {
      const auto value = parse_double(r.fields[bound]);
      if (!value || *value <= 0.0) {
        problems.push_back(
            {bounds_file.string(), r.line, "max_world_t_per_year",
             fmt::format("'{}' is not a positive number of tonnes", r.fields[bound])});
        continue;
      }
      bounds[r.fields[material]] = *value;
      largest = std::max(largest, *value);
    }
  }
  for (const ProductionRecord& p : data.production) {
    auto it = bounds.find(p.material_id);
    const double limit = it == bounds.end() ? largest : it->second;
    if (p.quantity_t > limit) {
      problems.push_back(
          {file, 0, "quantity",
           fmt::format("{} {} {} {}: {} t/yr is more than the plausible world output of {} "
                       "({} t/yr, reference/plausible_world_tonnage.csv); check the unit and "
                       "the number",
                       p.material_id, stage_name(p.stage), p.iso3, p.year, p.quantity_t,
                       p.material_id, limit)});
    }
  }
}

namespace {

// The Dutch import bill's reconciliation: one reference total, at most one residual (computed,
// so without a value), and a value on every other row; and the tables the business scorecard
// reads beside it (docs/scorecards.md, "Dutch businesses"). A mapping row of a material the EU
// end-use table covers is allowed and unused: that table takes precedence.
void check_dutch_business_tables(const Dataset& data, const std::string& bill_file,
                                 const std::string& re_export_file, const std::string& mapping_file,
                                 double tolerance, std::vector<Diagnostic>& problems) {
  int references = 0, residuals = 0;
  for (const ImportBillRow& row : data.nl_import_bill) {
    if (row.kind == "reference") {
      ++references;
    } else if (row.kind == "residual") {
      ++residuals;
    } else if (row.kind != "line") {
      problems.push_back({bill_file, row.line, "kind",
                          fmt::format("kind '{}' is not reference, line or residual; give one "
                                      "of them",
                                      row.kind)});
      continue;
    }
    if (row.kind == "residual" && row.value_eur) {
      problems.push_back({bill_file, row.line, "value_eur",
                          "the residual row's value is computed (the reference less the covered "
                          "imports and the lines); leave it empty"});
    }
    if (row.kind != "residual" && !row.value_eur) {
      problems.push_back(
          {bill_file, row.line, "value_eur",
           fmt::format("the {} row '{}' has no value; give it in EUR", row.kind, row.item)});
    }
  }
  if (references != 1) {
    problems.push_back({bill_file, 0, "kind",
                        fmt::format("{} reference rows; give exactly one: the published total "
                                    "the Dutch import bill is reconciled with",
                                    references)});
  }
  if (residuals > 1) {
    problems.push_back(
        {bill_file, 0, "kind", fmt::format("{} residual rows; give at most one", residuals)});
  }
  bool has_default = false;
  for (const ReExportShare& s : data.nl_re_export_shares) has_default |= s.material_id == "*";
  if (!has_default) {
    problems.push_back({re_export_file, 0, "material_id",
                        "no default row; add a row with material_id '*' that applies to every "
                        "material not listed"});
  }
  std::map<std::string, std::pair<double, int>> sums;
  for (const EndUseMapping& m : data.nl_end_use_mapping) {
    auto& [total, line] = sums[m.material_id];
    total += m.share;
    line = std::max(line, m.line);
  }
  for (const auto& [material, sum] : sums) {
    if (sum.first > 1.0 + tolerance) {
      problems.push_back({mapping_file, sum.second, "share",
                          fmt::format("the first-use shares of {} sum to {:.4f}, more than 1; "
                                      "correct them so that they add up to at most 1",
                                      material, sum.first)});
    }
  }
}

// The coverage tables: quality grades, by-product recoveries and their host shares, and rare-earth
// baskets that add up.
void check_coverage_tables(const Dataset& data, const std::string& minor_file,
                           const std::string& byproduct_file, const std::string& basket_file,
                           const std::string& mine_file, std::vector<Diagnostic>& problems) {
  for (const MinorMaterialSupply& m : data.minor_material_supply) {
    if (m.quality != "high" && m.quality != "medium" && m.quality != "low") {
      problems.push_back(
          {minor_file, m.line, "quality",
           fmt::format("'{}' is not a quality grade; use high, medium or low", m.quality)});
    }
  }
  std::map<std::string, std::pair<double, int>> host_shares;  // by-product -> (sum, last line)
  for (const ByproductHost& h : data.byproduct_hosts) {
    const auto report = [&](const char* field, std::string message) {
      problems.push_back({byproduct_file, h.line, field, std::move(message)});
    };
    if (!(h.recovery_share > 0.0)) {
      report("recovery_share_2023",
             fmt::format("{:g} must be > 0: a host that yields nothing today is not a host",
                         h.recovery_share));
    } else if (h.max_recovery_share < h.recovery_share) {
      report("max_recovery_share",
             fmt::format("{:g} is below recovery_share_2023 {:g}; the most that can be recovered "
                         "is at least what is recovered today",
                         h.max_recovery_share, h.recovery_share));
    }
    if (!(h.cost_of_raising_recovery > 0.0)) {
      report("cost_of_raising_recovery",
             fmt::format("{:g} must be > 0 (a multiple of the base price)",
                         h.cost_of_raising_recovery));
    }
    auto& [sum, line] = host_shares[h.byproduct_material_id];
    sum += h.share_of_output;
    line = std::max(line, h.line);
  }
  for (const auto& [material, sum] : host_shares) {
    if (sum.first > 1.0 + 1e-9) {
      problems.push_back(
          {byproduct_file, sum.second, "share_of_output_2023",
           fmt::format("the hosts of {} hold {:g} of its output; the shares may sum to at most 1",
                       material, sum.first)});
    }
  }
  std::map<std::string, std::pair<double, int>> baskets;  // deposit type -> (sum, last line)
  for (const ReeBasketShare& b : data.ree_deposit_baskets) {
    auto& [sum, line] = baskets[b.deposit_type];
    sum += b.share_of_reo;
    line = std::max(line, b.line);
  }
  for (const auto& [deposit, sum] : baskets) {
    if (std::abs(sum.first - 1.0) > 1e-6) {
      problems.push_back({basket_file, sum.second, "share_of_reo",
                          fmt::format("the element shares of {} sum to {:.9g}; a basket's shares "
                                      "must sum to 1 (within 1e-6)",
                                      deposit, sum.first)});
    }
  }
  for (const ReeMineOutput& m : data.ree_mine_output) {
    if (!baskets.contains(m.deposit_type)) {
      problems.push_back({mine_file, m.line, "deposit_type",
                          fmt::format("'{}' has no basket in ree_deposit_baskets.csv; use one of "
                                      "its deposit types or add its basket",
                                      m.deposit_type)});
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
  check_parameter_ranges(data, file("parameters.csv"), problems);
  check_market_parameters(data, file("market_parameters.csv"), problems);
  check_demand_regions(data, file("demand_shares.csv"), problems);
  check_supply_costs(data, file("supply_costs.csv"), problems);
  check_state_stocks(data, file("state_stocks.csv"), problems);
  check_coverage_tables(data, file("minor_material_supply.csv"), file("byproduct_hosts.csv"),
                        file("ree_deposit_baskets.csv"), file("ree_mine_output.csv"), problems);
  check_production_tonnage(data, file("production.csv"), problems);
  const double tolerance = data.parameter("share_sum_tolerance");
  check_share_sums(data.global_supply_shares, file("global_supply_shares.csv"), tolerance,
                   problems);
  check_share_sums(data.eu_sourcing_shares, file("eu_sourcing_shares.csv"), tolerance, problems);
  check_dutch_business_tables(data, file("nl_import_bill.csv"), file("nl_re_export_shares.csv"),
                              file("nl_end_use_mapping.csv"), tolerance, problems);

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
