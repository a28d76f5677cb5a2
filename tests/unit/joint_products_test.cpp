// Joint production (critmin/market/joint_products.h): hand-worked equilibria, comparative statics,
// accounting identities, agreement of the joint LP with the cutting-plane decomposition on seeded
// random instances, validation, and the one-element case against clear_market.
//
// Random draws come from std::mt19937_64 through hand-written transforms (no std::*_distribution),
// so every platform generates the same instances.
#include "critmin/market/joint_products.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "test_support.h"

namespace critmin::market {
namespace {

constexpr SolverPath kPaths[] = {SolverPath::kNetwork, SolverPath::kLinearProgram};

// Prices are exact to price_resolution_usd_per_t (the refinement) plus this share of the price:
// the cutting-plane search closes the welfare gap to ~1e-8, which leaves the ore, and so prices,
// a little open (up to 7e-4 seen on 300 random instances, typically 1e-5).
constexpr double kPriceTolerance = 1e-3;
// Quantities at a price known to 1e-3: a demand step near its last tonne is elastic, so tonnes
// may move by up to about 1e-2 of themselves between two solves.
constexpr double kQuantityTolerance = 1e-2;
const char* path_name(SolverPath path) { return path == SolverPath::kNetwork ? "network" : "lp"; }

using critmin::test::Draw;

// One element market over the given regions: separation ample at `separation_cost`, one linear
// demand step per region from `wtp` down to 0 over `quantity_t` (quantity 0: no demand).
MarketModel element_market(const std::string& material, const std::vector<std::string>& regions,
                           double separation_cost, double wtp, double quantity_t) {
  MarketModel m;
  m.material = material;
  for (const std::string& name : regions) {
    Region region;
    region.name = name;
    region.processing.push_back({1e5, separation_cost});
    if (quantity_t > 0.0) region.demand.push_back({quantity_t, wtp, wtp});
    m.regions.push_back(region);
  }
  return m;
}

// Hand-worked case. One region, one deposit with basket A 0.5, B 0.5 and mining at a flat
// 60 USD/t REO (10000 t), separation free. Demand for A: wtp 200 falling to 0 over 1000 t
// (P_A = 200 - 0.2 q); for B: 100 falling to 0 over 1000 t (P_B = 100 - 0.1 q). Both elements
// are sold in full, q_A = q_B = x / 2, and the ore is worth its cost:
//   0.5 (200 - 0.1 x) + 0.5 (100 - 0.05 x) = 150 - 0.075 x = 60  =>  x = 1200,
// P_A = 80, P_B = 40. Welfare = int_0^600 (200 - 0.2q) + int_0^600 (100 - 0.1q) - 60 * 1200
//   = 84000 + 42000 - 72000 = 54000.
// A booms (demand x2, P_A = 200 - 0.1 q): 150 - 0.05 x = 60 => x = 1800, P_A = 110, P_B = 10;
//   welfare = 139500 + 49500 - 108000 = 81000. More ore, and B, a co-product, gets cheaper.
// A booms more (x4, P_A = 200 - 0.05 q): selling all B would need x = 2400 with q_B = 1200 >
//   1000, so B is in surplus at price 0 and A alone pays for the ore: 0.5 P_A = 60 => P_A = 120,
//   q_A = 1600, x = 3200; B sells 1000 and 600 t are disposed of. Welfare = 256000 + 50000 -
//   192000 = 114000.
JointMarketModel hand_model(double a_demand_scale) {
  JointMarketModel model;
  model.elements.push_back(element_market("A", {"R"}, 0.0, 200.0, 1000.0 * a_demand_scale));
  model.elements.push_back(element_market("B", {"R"}, 0.0, 100.0, 1000.0));
  model.deposits.push_back({0, "mixed", {0.5, 0.5}, {{10000.0, 60.0}}});
  return model;
}

struct HandCase {
  double scale, ore_t, price_a, price_b, disposed_b_t, welfare_usd;
};

TEST(JointProduct, HandWorkedBoomRaisesMiningAndCheapensCoProduct) {
  const HandCase cases[] = {{1.0, 1200.0, 80.0, 40.0, 0.0, 54000.0},
                            {2.0, 1800.0, 110.0, 10.0, 0.0, 81000.0},
                            {4.0, 3200.0, 120.0, 0.0, 600.0, 114000.0}};
  for (SolverPath path : kPaths) {
    for (const HandCase& c : cases) {
      SCOPED_TRACE(testing::Message() << path_name(path) << " scale " << c.scale);
      auto solved = clear_joint_market(hand_model(c.scale), path);
      ASSERT_TRUE(solved.is_ok()) << solved.status().to_string();
      const JointEquilibrium& eq = solved.value();
      ASSERT_EQ(eq.termination, Termination::kOptimal) << eq.reason;
      const double price_tol = eq.price_resolution_usd_per_t + kPriceTolerance * c.price_a;
      EXPECT_LT(eq.price_resolution_usd_per_t, 0.2);
      EXPECT_NEAR(eq.ore_mined_t[0][0], c.ore_t, 2e-3 * c.ore_t);
      EXPECT_NEAR(eq.content_price_usd_per_t[0][0], c.price_a, price_tol);
      EXPECT_NEAR(eq.content_price_usd_per_t[1][0], c.price_b, price_tol);
      EXPECT_NEAR(eq.elements[0].node(0, Stage::kProcessing).price_usd_per_t, c.price_a, price_tol);
      EXPECT_NEAR(eq.elements[1].node(0, Stage::kProcessing).price_usd_per_t, c.price_b, price_tol);
      EXPECT_NEAR(eq.disposed_t[1][0], c.disposed_b_t, 2e-3 * c.ore_t);
      EXPECT_NEAR(eq.ore_value_usd_per_t[0], 60.0, price_tol);
      EXPECT_NEAR(eq.welfare_usd, c.welfare_usd, 1e-4 * c.welfare_usd);
    }
  }
}

// Random instances: `elements` markets over `regions` regions, trade routes between every pair at
// both stages, 1-3 deposits (one basket for all when one_basket) with 1-2 rising mining steps,
// one or two linear demand steps per region and element. Elements differ in price level by up to
// a factor 30, as rare earths do.
JointMarketModel random_joint_model(std::uint64_t seed, std::size_t elements, std::size_t regions,
                                    bool one_basket) {
  Draw draw(seed);
  JointMarketModel model;
  std::vector<double> level(elements);
  for (std::size_t e = 0; e < elements; ++e) {
    level[e] = std::pow(30.0, draw.unit());
    MarketModel m;
    m.material = "E" + std::to_string(e);
    m.processing_yield = draw.uniform(0.85, 1.0);
    for (std::size_t r = 0; r < regions; ++r) {
      Region region;
      region.name = "R" + std::to_string(r);
      region.processing.push_back(
          {draw.uniform(300.0, 3000.0), level[e] * draw.uniform(2.0, 20.0)});
      const std::size_t steps = 1 + draw.below(2);
      for (std::size_t k = 0; k < steps; ++k) {
        const double wtp = level[e] * draw.uniform(80.0, 400.0);
        region.demand.push_back({draw.uniform(100.0, 1500.0), wtp, wtp * draw.uniform(0.3, 1.0)});
      }
      m.regions.push_back(region);
    }
    for (std::size_t from = 0; from < regions; ++from) {
      for (std::size_t to = 0; to < regions; ++to) {
        if (from == to) continue;
        for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
          m.routes.push_back({from, to, stage, level[e] * draw.uniform(2.0, 30.0)});
        }
      }
    }
    model.elements.push_back(m);
  }
  const std::size_t deposits = 1 + draw.below(3);
  std::vector<double> basket;
  for (std::size_t d = 0; d < deposits; ++d) {
    if (d == 0 || !one_basket) {
      basket.assign(elements, 0.0);
      double sum = 0.0;
      for (double& share : basket) sum += share = draw.chance(0.15) ? 0.0 : draw.uniform(0.05, 1.0);
      if (sum == 0.0) basket[0] = sum = 1.0;
      for (double& share : basket) share /= sum;
    }
    double value = 0.0;  // of the basket at typical prices [USD/t REO]
    for (std::size_t e = 0; e < elements; ++e) value += basket[e] * level[e] * 150.0;
    JointDeposit deposit{draw.below(regions), "D" + std::to_string(d), basket, {}};
    const std::size_t steps = 1 + draw.below(2);
    for (std::size_t k = 0; k < steps; ++k) {
      deposit.mining.push_back({draw.uniform(300.0, 3000.0), value * draw.uniform(0.2, 0.9),
                                value * draw.uniform(0.0, 0.5)});
    }
    model.deposits.push_back(deposit);
  }
  // Every element comes from some deposit (otherwise its demand has no supply).
  for (std::size_t e = 0; e < elements; ++e) {
    bool present = false;
    for (const JointDeposit& d : model.deposits) present |= d.basket_share[e] > 0.0;
    if (present) continue;
    for (JointDeposit& d : model.deposits) {
      d.basket_share[e] = 0.1;
      for (double& share : d.basket_share) share /= 1.1;
    }
  }
  return model;
}

// Whether a processed price [USD/t] is pinned by region's demand: it lies strictly inside some
// step's willingness-to-pay range (by `margin`), so that step is partly served and the price is
// unique. Elsewhere (every step fully served or unserved, a node without trade) an equilibrium
// price may be any point of an interval, and paths may pick different points.
bool pinned_by_demand(const Region& region, double price_usd_per_t, double margin_usd_per_t) {
  return std::any_of(region.demand.begin(), region.demand.end(), [&](const DemandStep& step) {
    return price_usd_per_t >
               step.willingness_to_pay_usd_per_t - step.wtp_fall_usd_per_t + margin_usd_per_t &&
           price_usd_per_t < step.willingness_to_pay_usd_per_t - margin_usd_per_t;
  });
}

double total_ore_t(const JointEquilibrium& eq) {
  double total = 0.0;
  for (const auto& steps : eq.ore_mined_t) {
    for (double t : steps) total += t;
  }
  return total;
}

// One basket and one region: the ore's marginal value to A rises with A's demand at every level,
// so more ore is mined, and every other element's price (its marginal value, falling in its
// content) cannot rise. With several baskets this need not hold (a B-rich deposit that shrinks
// as B gets cheaper also takes away a third element C), so the property is pinned where it is a
// theorem.
TEST(JointProduct, DemandGrowthRaisesMiningAndNeverRaisesCoProductPrices) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    JointMarketModel base = random_joint_model(7000 + seed, 2 + seed % 3, 1, true);
    JointMarketModel boom = base;
    for (Region& region : boom.elements[0].regions) {
      for (DemandStep& step : region.demand) step.quantity_t *= 1.5;
    }
    for (SolverPath path : kPaths) {
      SCOPED_TRACE(testing::Message() << path_name(path) << " seed " << seed);
      auto before = clear_joint_market(base, path);
      auto after = clear_joint_market(boom, path);
      ASSERT_TRUE(before.is_ok() && after.is_ok());
      ASSERT_EQ(before.value().termination, Termination::kOptimal);
      ASSERT_EQ(after.value().termination, Termination::kOptimal);
      const double tol_t = 1e-3 * total_ore_t(before.value()) + 1e-6;
      EXPECT_GE(total_ore_t(after.value()), total_ore_t(before.value()) - tol_t);
      const double resolution = std::max(before.value().price_resolution_usd_per_t,
                                         after.value().price_resolution_usd_per_t);
      for (std::size_t e = 1; e < base.elements.size(); ++e) {
        const double was = before.value().content_price_usd_per_t[e][0];
        const double is = after.value().content_price_usd_per_t[e][0];
        EXPECT_LE(is, was + resolution + 1e-6 * was + 1e-9) << "element " << e;
      }
    }
  }
}

// Every element's content in a joint region is sum_d a[d][e] x[d], and it is either sold at the
// extraction stage or disposed of; what is disposed of has no value (price 0).
TEST(JointProduct, EveryBasketBalances) {
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const JointMarketModel model =
        random_joint_model(8000 + seed, 2 + seed % 3, 1 + seed % 3, false);
    for (SolverPath path : kPaths) {
      SCOPED_TRACE(testing::Message() << path_name(path) << " seed " << seed);
      auto solved = clear_joint_market(model, path);
      ASSERT_TRUE(solved.is_ok()) << solved.status().to_string();
      const JointEquilibrium& eq = solved.value();
      ASSERT_EQ(eq.termination, Termination::kOptimal) << eq.reason;
      for (std::size_t e = 0; e < model.elements.size(); ++e) {
        for (std::size_t r = 0; r < model.elements[e].regions.size(); ++r) {
          double content = 0.0;
          for (std::size_t d = 0; d < model.deposits.size(); ++d) {
            if (model.deposits[d].region != r) continue;
            for (double t : eq.ore_mined_t[d]) content += model.deposits[d].basket_share[e] * t;
          }
          double largest = 0.0;  // the content with every mining step full
          for (const JointDeposit& d : model.deposits) {
            for (const SupplyStep& step : d.mining) {
              if (d.region == r) largest += d.basket_share[e] * step.capacity_t;
            }
          }
          const NodeResult& node = eq.elements[e].node(r, Stage::kExtraction);
          const double tol = 1e-6 * std::max(1.0, largest);
          EXPECT_NEAR(eq.content_t[e][r], content, tol);
          EXPECT_LE(node.production_t, content + tol);
          EXPECT_NEAR(node.production_t + eq.disposed_t[e][r], content, tol);
          if (eq.disposed_t[e][r] > 1e-3 * content + 1e-6) {
            EXPECT_NEAR(eq.content_price_usd_per_t[e][r], 0.0, eq.price_resolution_usd_per_t + 1e-6)
                << "element " << e << " region " << r;
          }
        }
      }
    }
  }
}

// A mining step used strictly inside its capacity costs at the margin what its basket is worth.
TEST(JointProduct, UsedMiningStepsAreWorthTheirMarginalCost) {
  int checked = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const JointMarketModel model =
        random_joint_model(9000 + seed, 2 + seed % 3, 1 + seed % 3, false);
    for (SolverPath path : kPaths) {
      SCOPED_TRACE(testing::Message() << path_name(path) << " seed " << seed);
      auto solved = clear_joint_market(model, path);
      ASSERT_TRUE(solved.is_ok()) << solved.status().to_string();
      const JointEquilibrium& eq = solved.value();
      ASSERT_EQ(eq.termination, Termination::kOptimal) << eq.reason;
      for (std::size_t d = 0; d < model.deposits.size(); ++d) {
        for (std::size_t k = 0; k < model.deposits[d].mining.size(); ++k) {
          const SupplyStep& step = model.deposits[d].mining[k];
          const double used = eq.ore_mined_t[d][k] / step.capacity_t;
          const double marginal = step.unit_cost_usd_per_t + step.cost_rise_usd_per_t * used;
          const double tol = eq.price_resolution_usd_per_t + kPriceTolerance * marginal;
          if (used > 1e-3 && used < 1.0 - 1e-3) {
            EXPECT_NEAR(eq.ore_value_usd_per_t[d], marginal, tol) << "deposit " << d;
            ++checked;
          } else if (used <= 1e-3) {
            EXPECT_LE(eq.ore_value_usd_per_t[d], marginal + tol) << "idle deposit " << d;
          } else {
            EXPECT_GE(eq.ore_value_usd_per_t[d], marginal - tol) << "full deposit " << d;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 5);
}

// The joint LP and the cutting-plane decomposition on 30 random instances: the same welfare and
// prices; the ore mined where the optimum is unique (rising mining costs make it so here).
TEST(JointProduct, LinearProgramAndDecompositionAgree) {
  int compared = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    const JointMarketModel model =
        random_joint_model(1000 + seed, 2 + seed % 3, 1 + (seed / 3) % 3, false);
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    auto network = clear_joint_market(model, SolverPath::kNetwork);
    auto lp = clear_joint_market(model, SolverPath::kLinearProgram);
    ASSERT_TRUE(network.is_ok() && lp.is_ok());
    const JointEquilibrium& a = network.value();
    const JointEquilibrium& b = lp.value();
    ASSERT_EQ(a.termination, Termination::kOptimal) << a.reason;
    ASSERT_EQ(b.termination, Termination::kOptimal) << b.reason;
    EXPECT_NEAR(a.welfare_usd, b.welfare_usd, 1e-4 * std::abs(b.welfare_usd) + 1e-6);
    const double resolution = std::max(a.price_resolution_usd_per_t, b.price_resolution_usd_per_t);
    for (std::size_t e = 0; e < model.elements.size(); ++e) {
      for (std::size_t r = 0; r < model.elements[e].regions.size(); ++r) {
        const double pa = a.elements[e].node(r, Stage::kProcessing).price_usd_per_t;
        const double pb = b.elements[e].node(r, Stage::kProcessing).price_usd_per_t;
        if (!pinned_by_demand(model.elements[e].regions[r], pb, 2.0 * resolution)) continue;
        EXPECT_NEAR(pa, pb, resolution + kPriceTolerance * pb)
            << "element " << e << " region " << r;
        ++compared;
      }
    }
    // Ore values where unique: the deposit has a partly used step (value = its marginal cost).
    for (std::size_t d = 0; d < model.deposits.size(); ++d) {
      bool interior = false;
      for (std::size_t k = 0; k < model.deposits[d].mining.size(); ++k) {
        const double share = b.ore_mined_t[d][k] / model.deposits[d].mining[k].capacity_t;
        interior |= share > 1e-3 && share < 1.0 - 1e-3;
      }
      if (!interior) continue;
      EXPECT_NEAR(a.ore_value_usd_per_t[d], b.ore_value_usd_per_t[d],
                  resolution + kPriceTolerance * b.ore_value_usd_per_t[d])
          << "deposit " << d;
    }
    for (std::size_t d = 0; d < model.deposits.size(); ++d) {
      for (std::size_t k = 0; k < model.deposits[d].mining.size(); ++k) {
        EXPECT_NEAR(a.ore_mined_t[d][k], b.ore_mined_t[d][k],
                    5e-3 * model.deposits[d].mining[k].capacity_t)
            << "deposit " << d << " step " << k;
      }
    }
  }
  EXPECT_GT(compared, 60);
}

TEST(JointProduct, ValidationSaysWhatIsWrongAndWhere) {
  const auto expect_invalid = [](const JointMarketModel& model, const std::string& field,
                                 const std::string& words) {
    const Status status = validate_joint_model(model);
    ASSERT_EQ(status.code(), StatusCode::kInvalidInput) << field;
    bool found = false;
    for (const Diagnostic& d : status.diagnostics()) {
      found |=
          d.field.find(field) != std::string::npos && d.message.find(words) != std::string::npos;
    }
    EXPECT_TRUE(found) << status.to_string();
    EXPECT_FALSE(clear_joint_market(model, SolverPath::kNetwork).is_ok());
  };
  EXPECT_TRUE(validate_joint_model(hand_model(1.0)).is_ok());
  JointMarketModel sum = hand_model(1.0);
  sum.deposits[0].basket_share = {0.5, 0.4};
  expect_invalid(sum, "deposits[0:mixed].basket_share", "sum to 0.9");
  JointMarketModel negative = hand_model(1.0);
  negative.deposits[0].basket_share = {1.2, -0.2};
  expect_invalid(negative, "deposits[0:mixed].basket_share[B]", ">= 0");
  JointMarketModel count = hand_model(1.0);
  count.deposits[0].basket_share = {1.0};
  expect_invalid(count, "deposits[0:mixed].basket_share", "one per element");
  JointMarketModel regions = hand_model(1.0);
  regions.elements[1].regions[0].name = "Elsewhere";
  expect_invalid(regions, "elements[B].regions", "same regions");
  JointMarketModel region = hand_model(1.0);
  region.deposits[0].region = 3;
  expect_invalid(region, "deposits[0:mixed].region", "does not exist");
  JointMarketModel own = hand_model(1.0);
  own.elements[0].regions[0].extraction.push_back({10.0, 1.0});
  expect_invalid(own, "elements[A].regions[R].extraction", "one-element basket");
  JointMarketModel step = hand_model(1.0);
  step.deposits[0].mining[0].capacity_t = 0.0;
  expect_invalid(step, "deposits[0:mixed].mining[0]", "positive capacity");
  JointMarketModel element = hand_model(1.0);
  element.elements[1].regions[0].demand[0].wtp_fall_usd_per_t = 500.0;
  expect_invalid(element, "elements[B].regions[R].demand[0]", "fall");
  EXPECT_EQ(validate_joint_model(JointMarketModel{}).code(), StatusCode::kInvalidInput);
}

// A one-element basket is an ordinary extraction supply: the same equilibrium as clear_market on
// the model whose extraction steps are the mining steps.
TEST(JointProduct, OneElementBasketMatchesPlainMarket) {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    JointMarketModel joint = random_joint_model(500 + seed, 1, 1 + seed % 3, false);
    MarketModel plain = joint.elements[0];
    for (const JointDeposit& d : joint.deposits) {
      for (const SupplyStep& step : d.mining) plain.regions[d.region].extraction.push_back(step);
    }
    for (SolverPath path : kPaths) {
      SCOPED_TRACE(testing::Message() << path_name(path) << " seed " << seed);
      auto expected = clear_market(plain, path);
      auto solved = clear_joint_market(joint, path);
      ASSERT_TRUE(expected.is_ok()) << expected.status().to_string();
      ASSERT_TRUE(solved.is_ok()) << solved.status().to_string();
      const Equilibrium& want = expected.value();
      const JointEquilibrium& got = solved.value();
      ASSERT_EQ(got.termination, Termination::kOptimal) << got.reason;
      EXPECT_NEAR(got.welfare_usd, want.welfare_usd, 1e-4 * std::abs(want.welfare_usd));
      const double resolution =
          std::max(got.price_resolution_usd_per_t, want.statistics.price_resolution_usd_per_t);
      for (std::size_t r = 0; r < plain.regions.size(); ++r) {
        for (Stage stage : {Stage::kExtraction, Stage::kProcessing}) {
          const NodeResult& a = got.elements[0].node(r, stage);
          const NodeResult& b = want.node(r, stage);
          EXPECT_NEAR(a.consumption_t, b.consumption_t,
                      kQuantityTolerance * std::max(1.0, b.consumption_t));
        }
        // Prices where they are unique: set by partly served demand, or by a partly used step.
        const double pa = got.elements[0].node(r, Stage::kProcessing).price_usd_per_t;
        const double pb = want.node(r, Stage::kProcessing).price_usd_per_t;
        if (pinned_by_demand(plain.regions[r], pb, 2.0 * resolution)) {
          EXPECT_NEAR(pa, pb, resolution + kPriceTolerance * pb) << "region " << r;
        }
        for (std::size_t d = 0; d < joint.deposits.size(); ++d) {
          for (std::size_t k = 0; k < joint.deposits[d].mining.size(); ++k) {
            const double share = got.ore_mined_t[d][k] / joint.deposits[d].mining[k].capacity_t;
            if (joint.deposits[d].region != r || share < 1e-3 || share > 1.0 - 1e-3) continue;
            EXPECT_NEAR(got.content_price_usd_per_t[0][r],
                        want.node(r, Stage::kExtraction).producer_price_usd_per_t,
                        resolution + kPriceTolerance * pb)
                << "region " << r;
          }
        }
        EXPECT_NEAR(
            got.elements[0].node(r, Stage::kExtraction).production_t,
            want.node(r, Stage::kExtraction).production_t,
            kQuantityTolerance * std::max(1.0, want.node(r, Stage::kExtraction).production_t));
      }
    }
  }
}

// Without deposits nothing joins the markets: each element clears alone, as clear_market does.
TEST(JointProduct, WithoutDepositsEveryElementClearsAlone) {
  JointMarketModel model = hand_model(1.0);
  model.deposits.clear();
  model.elements[0].regions[0].extraction.push_back({800.0, 50.0, 20.0});
  model.elements[1].regions[0].extraction.push_back({900.0, 30.0, 10.0});
  for (SolverPath path : kPaths) {
    SCOPED_TRACE(path_name(path));
    auto solved = clear_joint_market(model, path);
    ASSERT_TRUE(solved.is_ok()) << solved.status().to_string();
    ASSERT_EQ(solved.value().termination, Termination::kOptimal) << solved.value().reason;
    double welfare_usd = 0.0;
    for (std::size_t e = 0; e < model.elements.size(); ++e) {
      auto alone = clear_market(model.elements[e], path);
      ASSERT_TRUE(alone.is_ok());
      welfare_usd += alone.value().welfare_usd;
      EXPECT_NEAR(solved.value().content_price_usd_per_t[e][0],
                  alone.value().node(0, Stage::kExtraction).producer_price_usd_per_t,
                  solved.value().price_resolution_usd_per_t + 1e-6);
    }
    EXPECT_NEAR(solved.value().welfare_usd, welfare_usd, 1e-6 * welfare_usd);
    EXPECT_EQ(solved.value().mining_cost_usd, 0.0);
  }
}

}  // namespace
}  // namespace critmin::market
