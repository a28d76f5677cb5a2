// Joint production: validation, the element markets at a given ore content, and the assembly of
// results shared by both paths (joint_lp.cpp, joint_cutting_plane.cpp).
#include "critmin/market/joint_products.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "market/joint_products_internal.h"

namespace critmin::market {
namespace joint {

std::vector<bool> joint_regions(const JointMarketModel& model) {
  const std::size_t n = model.elements.empty() ? 0 : model.elements.front().regions.size();
  std::vector<bool> joint(n, false);
  for (const JointDeposit& d : model.deposits) {
    if (d.region < n) joint[d.region] = true;
  }
  return joint;
}

PerElementRegion content_of(const JointMarketModel& model, const PerDepositStep& ore_t) {
  PerElementRegion content(model.elements.size());
  for (std::size_t e = 0; e < model.elements.size(); ++e) {
    content[e].assign(model.elements[e].regions.size(), 0.0);
    for (std::size_t d = 0; d < model.deposits.size(); ++d) {
      double mined_t = 0.0;
      for (double step_t : ore_t[d]) mined_t += step_t;
      content[e][model.deposits[d].region] += model.deposits[d].basket_share[e] * mined_t;
    }
  }
  return content;
}

PerDepositStep full_ore(const JointMarketModel& model) {
  PerDepositStep ore(model.deposits.size());
  for (std::size_t d = 0; d < model.deposits.size(); ++d) {
    for (const SupplyStep& step : model.deposits[d].mining) ore[d].push_back(step.capacity_t);
  }
  return ore;
}

double mining_cost_usd(const JointMarketModel& model, const PerDepositStep& ore_t) {
  double cost = 0.0;
  for (std::size_t d = 0; d < model.deposits.size(); ++d) {
    for (std::size_t k = 0; k < model.deposits[d].mining.size(); ++k) {
      cost += model.deposits[d].mining[k].average_cost_usd_per_t(ore_t[d][k]) * ore_t[d][k];
    }
  }
  return cost;
}

MarketModel element_with_content(const JointMarketModel& model, std::size_t element,
                                 const std::vector<double>& content_t) {
  MarketModel market = model.elements[element];
  // Where the element can have content but has none at this point, a negligible step stands in
  // for it: clear_market refuses a market whose demand no supply can reach (validation), and the
  // welfare changes by at most that step's value.
  std::vector<double> floor_t(market.regions.size(), 0.0);
  for (const JointDeposit& d : model.deposits) {
    for (const SupplyStep& step : d.mining) {
      floor_t[d.region] += kNegligibleContent * d.basket_share[element] * step.capacity_t;
    }
  }
  for (std::size_t r = 0; r < market.regions.size(); ++r) {
    const double supply_t = std::max(content_t[r], floor_t[r]);
    if (supply_t > 0.0) market.regions[r].extraction.push_back({supply_t, 0.0, 0.0});
  }
  return market;
}

namespace {

// Element e's market at content_t with the last kPricedContent of the content (and the slack)
// offered at the joint price, the rest at no cost.
MarketModel element_at_price(const JointMarketModel& model, std::size_t e,
                             const std::vector<double>& content_t,
                             const std::vector<double>& price_usd_per_t) {
  const std::vector<bool> joint = joint_regions(model);
  MarketModel market = element_with_content(model, e, content_t);
  for (std::size_t r = 0; r < joint.size(); ++r) {
    if (!joint[r] || market.regions[r].extraction.empty()) continue;
    SupplyStep& free_step = market.regions[r].extraction.back();
    const SupplyStep priced{free_step.capacity_t * (kPricedContent + kContentSlack),
                            std::max(0.0, price_usd_per_t[r]), 0.0};
    free_step.capacity_t *= 1.0 - kPricedContent;
    market.regions[r].extraction.push_back(priced);
  }
  return market;
}

}  // namespace

Result<std::vector<Equilibrium>> clear_elements_at_price(const JointMarketModel& model,
                                                         const PerElementRegion& content_t,
                                                         const PerElementRegion& price_usd_per_t,
                                                         SolverPath path, int* solves) {
  std::vector<Equilibrium> out;
  for (std::size_t e = 0; e < model.elements.size(); ++e) {
    const MarketModel market = element_at_price(model, e, content_t[e], price_usd_per_t[e]);
    Result<Equilibrium> eq = clear_market(market, path);
    ++*solves;
    CRITMIN_RETURN_IF_ERROR(eq);
    Equilibrium& cleared = eq.value();
    // The free step fills first; what the priced one sold is valued as if it cost nothing.
    for (std::size_t r = 0; r < market.regions.size(); ++r) {
      const std::vector<SupplyStep>& steps = market.regions[r].extraction;
      if (steps.size() != 2 || model.elements[e].regions[r].extraction.size() != 0) continue;
      const double priced_t =
          std::max(0.0, cleared.node(r, Stage::kExtraction).production_t - steps[0].capacity_t);
      const double value_usd = steps[1].unit_cost_usd_per_t * priced_t;
      cleared.accounts[r].producer_surplus_usd += value_usd;
      cleared.welfare_usd += value_usd;
    }
    out.push_back(std::move(cleared));
  }
  return out;
}

JointEquilibrium assemble_joint(const JointMarketModel& model, PerDepositStep ore_t,
                                std::vector<Equilibrium> elements,
                                const PerElementRegion& joint_price_usd_per_t) {
  JointEquilibrium out;
  const std::vector<bool> joint = joint_regions(model);
  out.content_t = content_of(model, ore_t);
  const PerElementRegion largest = content_of(model, full_ore(model));
  out.content_price_usd_per_t = joint_price_usd_per_t;
  out.disposed_t = out.content_t;
  for (std::size_t e = 0; e < elements.size(); ++e) {
    const Equilibrium& eq = elements[e];
    out.welfare_usd += eq.welfare_usd;
    out.price_resolution_usd_per_t =
        std::max(out.price_resolution_usd_per_t, eq.statistics.price_resolution_usd_per_t);
    for (std::size_t r = 0; r < joint.size(); ++r) {
      const NodeResult& node = eq.node(r, Stage::kExtraction);
      if (!(largest[e][r] > 0.0)) {  // the element cannot be mined here: its market's price
        out.content_price_usd_per_t[e][r] = node.producer_price_usd_per_t;
        continue;
      }
      // No own extraction in a joint region: what the market produced there is the content sold.
      out.disposed_t[e][r] = std::max(0.0, out.content_t[e][r] - node.production_t);
    }
  }
  for (const JointDeposit& d : model.deposits) {
    double value = 0.0;
    for (std::size_t e = 0; e < elements.size(); ++e) {
      value += d.basket_share[e] * out.content_price_usd_per_t[e][d.region];
    }
    out.ore_value_usd_per_t.push_back(value);
  }
  for (std::size_t e = 0; e < elements.size(); ++e) {
    if (elements[e].termination != Termination::kOptimal &&
        out.termination == Termination::kOptimal) {
      out.termination = elements[e].termination;
      out.reason = fmt::format("element {}: {}", model.elements[e].material, elements[e].reason);
    }
  }
  out.mining_cost_usd = mining_cost_usd(model, ore_t);
  out.welfare_usd -= out.mining_cost_usd;
  out.ore_mined_t = std::move(ore_t);
  out.elements = std::move(elements);
  return out;
}

namespace {

bool finite_nonnegative(double value) { return std::isfinite(value) && value >= 0.0; }

// Regions of every element against the first element's.
void check_regions(const JointMarketModel& model, std::vector<Diagnostic>& problems) {
  const MarketModel& first = model.elements.front();
  for (std::size_t e = 1; e < model.elements.size(); ++e) {
    const MarketModel& other = model.elements[e];
    bool same = other.regions.size() == first.regions.size();
    for (std::size_t r = 0; same && r < first.regions.size(); ++r) {
      same = other.regions[r].name == first.regions[r].name;
    }
    if (!same) {
      problems.push_back({"joint model", 0, fmt::format("elements[{}].regions", other.material),
                          fmt::format("the regions differ from those of elements[{}]; every "
                                      "element market needs the same regions in the same order",
                                      first.material)});
    }
  }
}

void check_deposit(const JointMarketModel& model, std::size_t index,
                   std::vector<Diagnostic>& problems) {
  const JointDeposit& d = model.deposits[index];
  const std::size_t n = model.elements.front().regions.size();
  const std::string where = fmt::format("deposits[{}:{}]", index, d.name);
  const auto report = [&](std::string field, std::string message) {
    problems.push_back({"joint model", 0, where + field, std::move(message)});
  };
  if (d.region >= n) report(".region", fmt::format("region {} does not exist", d.region));
  if (d.basket_share.size() != model.elements.size()) {
    report(".basket_share", fmt::format("{} shares for {} elements; give one per element",
                                        d.basket_share.size(), model.elements.size()));
  } else {
    double sum = 0.0;
    for (std::size_t e = 0; e < d.basket_share.size(); ++e) {
      const double share = d.basket_share[e];
      if (!finite_nonnegative(share)) {
        report(fmt::format(".basket_share[{}]", model.elements[e].material),
               fmt::format("share {} must be a finite number >= 0", share));
      }
      sum += share;
    }
    if (!(std::abs(sum - 1.0) <= 1e-9)) {
      report(".basket_share",
             fmt::format("the shares sum to {:.12g}, not 1; a basket splits the REO content", sum));
    }
  }
  for (std::size_t k = 0; k < d.mining.size(); ++k) {
    const SupplyStep& step = d.mining[k];
    if (!(std::isfinite(step.capacity_t) && step.capacity_t > 0.0) ||
        !finite_nonnegative(step.unit_cost_usd_per_t) ||
        !finite_nonnegative(step.cost_rise_usd_per_t)) {
      report(fmt::format(".mining[{}]", k),
             "a mining step needs a positive capacity and unit cost and rise >= 0");
    }
  }
}

// Per element: no own extraction in joint regions, no ad valorem tariffs, and a valid market
// when all the ore is mined.
void check_elements(const JointMarketModel& model, std::vector<Diagnostic>& problems) {
  const std::vector<bool> joint = joint_regions(model);
  const PerElementRegion content = content_of(model, full_ore(model));
  for (std::size_t e = 0; e < model.elements.size(); ++e) {
    const MarketModel& m = model.elements[e];
    const std::string where = fmt::format("elements[{}]", m.material);
    for (std::size_t r = 0; r < m.regions.size() && r < joint.size(); ++r) {
      if (joint[r] && !m.regions[r].extraction.empty()) {
        problems.push_back(
            {"joint model", 0, fmt::format("{}.regions[{}].extraction", where, m.regions[r].name),
             "an element has no extraction steps of its own in a region with deposits; model "
             "other supply as a deposit with a one-element basket"});
      }
    }
    for (std::size_t i = 0; i < m.routes.size(); ++i) {
      if (m.routes[i].ad_valorem_tariff != 0.0) {
        problems.push_back({"joint model", 0, fmt::format("{}.routes[{}]", where, i),
                            "ad valorem tariffs are not supported in joint markets; give the "
                            "tariff per tonne (specific_tariff_usd_per_t)"});
      }
    }
    const Status valid = validate_model(element_with_content(model, e, content[e]));
    if (!valid.is_ok()) {
      problems.push_back({"joint model", 0, where, valid.message()});
      for (const Diagnostic& d : valid.diagnostics()) {
        problems.push_back({"joint model", 0, where + "." + d.field, d.message});
      }
    }
  }
}

}  // namespace
}  // namespace joint

Status validate_joint_model(const JointMarketModel& model) {
  std::vector<Diagnostic> problems;
  if (model.elements.empty()) {
    return Status::invalid_input("joint market: no element markets; give at least one");
  }
  joint::check_regions(model, problems);
  if (!problems.empty()) {
    return Status::invalid_input("joint market: the element markets do not match", problems);
  }
  for (std::size_t d = 0; d < model.deposits.size(); ++d) joint::check_deposit(model, d, problems);
  if (problems.empty()) joint::check_elements(model, problems);
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("joint market: {} problem(s): {}: {}", problems.size(),
                                             problems.front().field, problems.front().message),
                                 problems);
  }
  return Status::ok();
}

Result<JointEquilibrium> clear_joint_market(const JointMarketModel& model, SolverPath path) {
  const auto start = std::chrono::steady_clock::now();
  CRITMIN_RETURN_IF_ERROR(validate_joint_model(model));
  Result<JointEquilibrium> result = path == SolverPath::kLinearProgram
                                        ? joint::clear_joint_lp(model)
                                        : joint::clear_joint_cutting_plane(model);
  if (result.is_ok()) {
    result.value().seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return result;
}

}  // namespace critmin::market
