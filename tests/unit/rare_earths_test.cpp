// The joint rare-earth market on the real dataset (critmin/market/rare_earths.h): calibration
// against the element tables, the base-year fit, mass balance, a heavy rare-earth demand boom,
// agreement of the two solver paths, and `critmin clear` for an element.
#include "critmin/market/rare_earths.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "critmin/market/calibration.h"
#include "critmin/market/joint_products.h"
#include "test_support.h"

namespace critmin::market {
namespace {

using critmin::test::default_data;

// The base year's world price (consumption-weighted separated-oxide price) of every element is
// reproduced to this share: each element's market is put on the content of the base-year ore, so
// its demand at the base price takes exactly that content, and every mining step's base output
// lies on the vertical stretch of its curve between its marginal and its idle cost. Measured: 1e-4
// for every element.
constexpr double kBasePriceTolerance = 0.01;

double relative_gap(double a, double b) {
  return std::abs(a - b) / std::max({1.0, std::abs(a), std::abs(b)});
}

const CalibratedJointMarket& real_market() {
  static const CalibratedJointMarket market = [] {
    Result<CalibratedJointMarket> built = build_rare_earth_market(default_data(), 2023);
    EXPECT_TRUE(built.is_ok()) << built.status().message();
    return built.is_ok() ? std::move(built).value() : CalibratedJointMarket{};
  }();
  return market;
}

const JointEquilibrium& base_equilibrium(SolverPath path) {
  static std::map<SolverPath, JointEquilibrium> cache;
  auto it = cache.find(path);
  if (it == cache.end()) {
    Result<JointEquilibrium> eq = clear_joint_market(real_market().model, path);
    EXPECT_TRUE(eq.is_ok()) << eq.status().message();
    it = cache.emplace(path, eq.is_ok() ? std::move(eq).value() : JointEquilibrium{}).first;
  }
  return it->second;
}

double total_mined(const JointEquilibrium& eq) {
  double sum = 0.0;
  for (const auto& steps : eq.ore_mined_t) {
    for (double t : steps) sum += t;
  }
  return sum;
}

std::size_t index_of(const std::string& symbol) {
  const auto& symbols = rare_earth_symbols();
  return static_cast<std::size_t>(std::find(symbols.begin(), symbols.end(), symbol) -
                                  symbols.begin());
}

TEST(RareEarthMarket, CalibratesFifteenElementsOnOneRegionListFromSevenDepositTypes) {
  const CalibratedJointMarket& market = real_market();
  ASSERT_EQ(market.model.elements.size(), 15u);
  ASSERT_EQ(market.elements.size(), 15u);
  EXPECT_TRUE(validate_joint_model(market.model).is_ok())
      << validate_joint_model(market.model).message();
  std::vector<std::string> types;
  for (const JointDeposit& d : market.model.deposits) types.push_back(d.name);
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  EXPECT_EQ(types.size(), 7u);
  EXPECT_EQ(market.model.elements[index_of("Dy")].material, "dysprosium");
  EXPECT_EQ(market.model.elements[index_of("La")].material, "lanthanum");
  EXPECT_EQ(
      market.notes.front().rfind("rare earths clear jointly: 15 elements from 7 deposit types", 0),
      0u)
      << market.notes.front();
}

// minor_material_supply.csv's element tonnages are sums over ree_mine_output x the baskets, so the
// base-year ore holds each element's tonnage there; every element's market is put on that content.
TEST(RareEarthMarket, BaseYearOreHoldsEachElementsOutputOfTheTables) {
  const CalibratedJointMarket& market = real_market();
  double world_reo = 0.0;
  for (double t : market.deposit_base_reo_t) world_reo += t;
  EXPECT_NEAR(world_reo, 376090.0, 1.0);
  for (std::size_t e = 0; e < market.symbols.size(); ++e) {
    const MinorMaterialSupply* minor =
        default_data().find_minor_supply(market.model.elements[e].material);
    ASSERT_TRUE(minor && minor->world_output_t) << market.symbols[e];
    // The table rounds to whole tonnes.
    EXPECT_NEAR(market.ore_content_t[e], *minor->world_output_t, 1.0) << market.symbols[e];
    double demand = 0.0;
    for (const Region& r : market.model.elements[e].regions) demand += r.base_demand_t;
    EXPECT_LE(relative_gap(demand, market.ore_content_t[e]), 1e-9) << market.symbols[e];
    EXPECT_EQ(market.elements[e].world_tonnage_t, market.ore_content_t[e]);
  }
}

TEST(RareEarthMarket, BaseYearIsOptimalAndReproducesPricesAndMineOutput) {
  const CalibratedJointMarket& market = real_market();
  const JointEquilibrium& eq = base_equilibrium(SolverPath::kNetwork);
  ASSERT_EQ(eq.termination, Termination::kOptimal) << eq.reason;
  ASSERT_EQ(eq.elements.size(), 15u);
  EXPECT_LE(relative_gap(total_mined(eq), 376090.0), 0.03) << total_mined(eq);
  for (std::size_t e = 0; e < market.symbols.size(); ++e) {
    const double base = market.elements[e].base_price_usd_per_t;
    const double price = world_price_usd_per_t(eq.elements[e]);
    std::printf("  %-3s base %12.0f model %12.0f (%+.2f%%)\n", market.symbols[e].c_str(), base,
                price, 100.0 * (price / base - 1.0));
    EXPECT_LE(std::abs(price / base - 1.0), kBasePriceTolerance) << market.symbols[e];
  }
}

// production + imports + stock released = consumption + exports + stock refilled at every node of
// every element; the ore's content is sold or disposed of.
TEST(RareEarthMarket, EveryElementBalancesAndTheOreContentIsSoldOrDisposed) {
  const CalibratedJointMarket& market = real_market();
  const JointEquilibrium& eq = base_equilibrium(SolverPath::kNetwork);
  ASSERT_EQ(eq.elements.size(), 15u);
  for (std::size_t e = 0; e < eq.elements.size(); ++e) {
    double extracted = 0.0;
    for (const NodeResult& n : eq.elements[e].nodes) {
      const double in = n.production_t + n.imports_t + n.stock_release_t;
      const double out = n.consumption_t + n.exports_t + n.stock_refill_t;
      EXPECT_LE(relative_gap(in, out), 1e-6) << market.symbols[e] << " node " << n.region;
      if (n.stage == Stage::kExtraction) extracted += n.production_t;
    }
    double content = 0.0, disposed = 0.0, from_ore = 0.0;
    for (double t : eq.content_t[e]) content += t;
    for (double t : eq.disposed_t[e]) disposed += t;
    for (std::size_t d = 0; d < market.model.deposits.size(); ++d) {
      double mined = 0.0;
      for (double t : eq.ore_mined_t[d]) mined += t;
      from_ore += market.model.deposits[d].basket_share[e] * mined;
    }
    EXPECT_LE(relative_gap(content, from_ore), 1e-6) << market.symbols[e];
    EXPECT_LE(relative_gap(extracted + disposed, content), 1e-5)
        << market.symbols[e] << ": sold " << extracted << " disposed " << disposed << " content "
        << content;
  }
}

// Dysprosium demand x3: more ore is mined (the heavy-rich ionic clays), and the light elements
// that come with it get no dearer.
TEST(RareEarthMarket, DysprosiumBoomRaisesOreMinedAndNotLanthanumOrCeriumPrices) {
  const JointEquilibrium& base = base_equilibrium(SolverPath::kNetwork);
  ASSERT_EQ(base.elements.size(), 15u);
  JointMarketModel boom = real_market().model;
  for (Region& r : boom.elements[index_of("Dy")].regions) {
    r.base_demand_t *= 3.0;
    for (DemandStep& step : r.demand) step.quantity_t *= 3.0;
  }
  Result<JointEquilibrium> eq = clear_joint_market(boom, SolverPath::kNetwork);
  ASSERT_TRUE(eq.is_ok()) << eq.status().message();
  ASSERT_EQ(eq.value().termination, Termination::kOptimal) << eq.value().reason;
  EXPECT_GT(total_mined(eq.value()), total_mined(base) * 1.001);
  const double dy_base = world_price_usd_per_t(base.elements[index_of("Dy")]);
  EXPECT_GT(world_price_usd_per_t(eq.value().elements[index_of("Dy")]), dy_base);
  std::printf(
      "  Dy x3: ore %.0f -> %.0f t REO, Dy %.0f -> %.0f, La %.0f -> %.0f, Ce %.0f -> %.0f\n",
      total_mined(base), total_mined(eq.value()), dy_base,
      world_price_usd_per_t(eq.value().elements[index_of("Dy")]),
      world_price_usd_per_t(base.elements[index_of("La")]),
      world_price_usd_per_t(eq.value().elements[index_of("La")]),
      world_price_usd_per_t(base.elements[index_of("Ce")]),
      world_price_usd_per_t(eq.value().elements[index_of("Ce")]));
  for (const char* light : {"La", "Ce"}) {
    const double before = world_price_usd_per_t(base.elements[index_of(light)]);
    const double after = world_price_usd_per_t(eq.value().elements[index_of(light)]);
    EXPECT_LE(after, before * (1.0 + 1e-3)) << light << ": " << before << " -> " << after;
  }
}

TEST(RareEarthMarket, BothSolverPathsAgreeOnTheRealInstance) {
  const JointEquilibrium& network = base_equilibrium(SolverPath::kNetwork);
  const JointEquilibrium& lp = base_equilibrium(SolverPath::kLinearProgram);
  ASSERT_EQ(network.termination, Termination::kOptimal) << network.reason;
  ASSERT_EQ(lp.termination, Termination::kOptimal) << lp.reason;
  std::printf("  network %.3f s (%d iterations), lp %.3f s (%d solves); welfare %.6e vs %.6e\n",
              network.seconds, network.iterations, lp.seconds, lp.iterations, network.welfare_usd,
              lp.welfare_usd);
  EXPECT_LE(std::abs(network.welfare_usd - lp.welfare_usd) /
                std::max(std::abs(network.welfare_usd), std::abs(lp.welfare_usd)),
            1e-4);
  EXPECT_LE(relative_gap(total_mined(network), total_mined(lp)), 1e-2);
  // Consumers' prices are unique here (every demand curve slopes): the same on both paths to the
  // refinement's resolution plus the search's share (joint_products_test.cpp).
  ASSERT_EQ(network.elements.size(), lp.elements.size());
  for (std::size_t e = 0; e < network.elements.size(); ++e) {
    const double a = world_price_usd_per_t(network.elements[e]);
    const double b = world_price_usd_per_t(lp.elements[e]);
    EXPECT_LE(std::abs(a - b), 2e-3 * std::max(a, b)) << rare_earth_symbols()[e];
  }
}

// ---- NdPr, the sum of the neodymium and praseodymium markets ------------------------------------

// Every quantity and surplus of the product is the two elements' sum, every price the mix's (the
// base-year ore holds Nd and Pr in the ratio of its content), so nothing is lost or counted twice.
TEST(NdPrProduct, AddsTheTwoElementsAndPricesATonneOfTheOresMix) {
  const JointEquilibrium& eq = base_equilibrium(SolverPath::kNetwork);
  ASSERT_EQ(eq.elements.size(), 15u);
  Result<CompositeProduct> product = ndpr_product(default_data(), real_market(), eq);
  ASSERT_TRUE(product.is_ok()) << product.status().message();
  const CompositeProduct& p = product.value();
  const std::size_t nd = index_of("Nd"), pr = index_of("Pr");
  ASSERT_EQ(p.elements, (std::vector<std::size_t>{nd, pr}));
  const double nd_t = real_market().ore_content_t[nd], pr_t = real_market().ore_content_t[pr];
  EXPECT_NEAR(p.content_share[0], nd_t / (nd_t + pr_t), 1e-12);
  EXPECT_NEAR(p.content_share[0] + p.content_share[1], 1.0, 1e-12);
  // Neodymium is most of NdPr: bastnaesite and monazite hold about three to four times as much
  // Nd as Pr.
  EXPECT_GT(p.content_share[0], 0.7);
  EXPECT_LT(p.content_share[0], 0.85);
  EXPECT_NEAR(p.market.info.world_tonnage_t, nd_t + pr_t, 1e-6 * (nd_t + pr_t));

  const Equilibrium& a = eq.elements[nd];
  const Equilibrium& b = eq.elements[pr];
  const Equilibrium& sum = p.equilibrium;
  ASSERT_EQ(sum.nodes.size(), a.nodes.size());
  for (std::size_t k = 0; k < sum.nodes.size(); ++k) {
    const auto same = [&](double product_value, double nd_value, double pr_value) {
      EXPECT_NEAR(product_value, nd_value + pr_value, 1e-9 * std::max(1.0, nd_value + pr_value))
          << "node " << k;
    };
    same(sum.nodes[k].production_t, a.nodes[k].production_t, b.nodes[k].production_t);
    same(sum.nodes[k].consumption_t, a.nodes[k].consumption_t, b.nodes[k].consumption_t);
    same(sum.nodes[k].imports_t, a.nodes[k].imports_t, b.nodes[k].imports_t);
    same(sum.nodes[k].exports_t, a.nodes[k].exports_t, b.nodes[k].exports_t);
    const double price = p.content_share[0] * a.nodes[k].price_usd_per_t +
                         p.content_share[1] * b.nodes[k].price_usd_per_t;
    EXPECT_NEAR(sum.nodes[k].price_usd_per_t, price, 1e-9 * price) << "node " << k;
    // A mix's price lies between its elements' prices.
    EXPECT_GE(sum.nodes[k].price_usd_per_t,
              std::min(a.nodes[k].price_usd_per_t, b.nodes[k].price_usd_per_t) * (1 - 1e-12));
    EXPECT_LE(sum.nodes[k].price_usd_per_t,
              std::max(a.nodes[k].price_usd_per_t, b.nodes[k].price_usd_per_t) * (1 + 1e-12));
  }
  double flow_sum = 0.0, flow_elements = 0.0;
  for (const FlowResult& f : sum.flows) flow_sum += f.quantity_t;
  for (const Equilibrium* element : {&a, &b}) {
    for (const FlowResult& f : element->flows) flow_elements += f.quantity_t;
  }
  EXPECT_NEAR(flow_sum, flow_elements, 1e-9 * flow_elements);
  double shortfall = 0.0, shortfall_elements = 0.0, demand = 0.0, demand_elements = 0.0;
  for (std::size_t r = 0; r < sum.accounts.size(); ++r) {
    shortfall += sum.accounts[r].shortfall_t;
    shortfall_elements += a.accounts[r].shortfall_t + b.accounts[r].shortfall_t;
    demand += p.market.model.regions[r].base_demand_t;
    demand_elements += real_market().model.elements[nd].regions[r].base_demand_t +
                       real_market().model.elements[pr].regions[r].base_demand_t;
  }
  EXPECT_NEAR(shortfall, shortfall_elements, 1e-9 * std::max(1.0, shortfall_elements));
  EXPECT_NEAR(demand, demand_elements, 1e-9 * demand_elements);
  EXPECT_NEAR(sum.welfare_usd, a.welfare_usd + b.welfare_usd, 1e-9 * sum.welfare_usd);
  // The base year reproduces both element prices, so the product's world price is its base
  // price; the observed NdPr oxide price (MP Materials, 70 USD/kg) is carried for comparison.
  EXPECT_NEAR(p.world_price_usd_per_t, p.market.info.base_price_usd_per_t,
              kBasePriceTolerance * p.market.info.base_price_usd_per_t);
  EXPECT_DOUBLE_EQ(p.observed_price_usd_per_t, 70000.0);
}

// Magnet demand (Nd and Pr) x1.5: NdPr gets dearer, more ore is mined, and the lanthanum and
// cerium that come with it get no dearer.
TEST(NdPrProduct, AMagnetBoomRaisesNdPrAndMiningButNotTheLightCoProducts) {
  const JointEquilibrium& base = base_equilibrium(SolverPath::kNetwork);
  ASSERT_EQ(base.elements.size(), 15u);
  JointMarketModel boom = real_market().model;
  for (const char* symbol : {"Nd", "Pr"}) {
    for (Region& r : boom.elements[index_of(symbol)].regions) {
      r.base_demand_t *= 1.5;
      for (DemandStep& step : r.demand) step.quantity_t *= 1.5;
    }
  }
  Result<JointEquilibrium> eq = clear_joint_market(boom, SolverPath::kNetwork);
  ASSERT_TRUE(eq.is_ok()) << eq.status().message();
  ASSERT_EQ(eq.value().termination, Termination::kOptimal) << eq.value().reason;
  CalibratedJointMarket boom_market = real_market();
  boom_market.model = boom;
  Result<CompositeProduct> before = ndpr_product(default_data(), real_market(), base);
  Result<CompositeProduct> after = ndpr_product(default_data(), boom_market, eq.value());
  ASSERT_TRUE(before.is_ok() && after.is_ok());
  std::printf("  NdPr x1.5: ore %.0f -> %.0f t REO, NdPr %.0f -> %.0f USD/t\n", total_mined(base),
              total_mined(eq.value()), before.value().world_price_usd_per_t,
              after.value().world_price_usd_per_t);
  EXPECT_GT(after.value().world_price_usd_per_t, before.value().world_price_usd_per_t * 1.01);
  EXPECT_GT(total_mined(eq.value()), total_mined(base) * 1.001);
  for (const char* light : {"La", "Ce"}) {
    const double was = world_price_usd_per_t(base.elements[index_of(light)]);
    const double is = world_price_usd_per_t(eq.value().elements[index_of(light)]);
    EXPECT_LE(is, was * (1.0 + 1e-3)) << light << ": " << was << " -> " << is;
  }
}

TEST(NdPrProduct, NamesNdPrInAnyCaseOnly) {
  EXPECT_TRUE(names_ndpr("NdPr"));
  EXPECT_TRUE(names_ndpr("ndpr"));
  EXPECT_FALSE(names_ndpr("neodymium"));
  EXPECT_FALSE(names_ndpr("NdPr2"));
  EXPECT_FALSE(rare_earth_element_index(default_data(), "NdPr").has_value());
}

TEST(NdPrProduct, AnUnclearedJointEquilibriumIsAnError) {
  const JointEquilibrium empty;
  Result<CompositeProduct> product = ndpr_product(default_data(), real_market(), empty);
  ASSERT_FALSE(product.is_ok());
  EXPECT_NE(product.status().message().find("did not clear"), std::string::npos)
      << product.status().message();
}

// A rare earth is recognised by id or name; other materials are not.
TEST(RareEarthMarket, RecognisesTheFifteenElementsOnly) {
  EXPECT_EQ(rare_earth_element_index(default_data(), "dysprosium"), index_of("Dy"));
  EXPECT_EQ(rare_earth_element_index(default_data(), "Yttrium"), index_of("Y"));
  EXPECT_FALSE(rare_earth_element_index(default_data(), "gallium").has_value());
  EXPECT_FALSE(rare_earth_element_index(default_data(), "lree").has_value());
}

// The imposed regions give every element the same list, ROW last.
TEST(RareEarthMarket, ImposedRegionsAreSharedAndHoldEveryCountryOnce) {
  const std::vector<std::string> regions = {"CHN", "MMR", "USA", "EU27"};
  Result<CalibratedMarket> la = build_market(default_data(), "lanthanum", 2023, regions);
  Result<CalibratedMarket> dy = build_market(default_data(), "dysprosium", 2023, regions);
  ASSERT_TRUE(la.is_ok()) << la.status().message();
  ASSERT_TRUE(dy.is_ok()) << dy.status().message();
  std::vector<std::string> names;
  for (const Region& r : la.value().model.regions) names.push_back(r.name);
  EXPECT_EQ(names, (std::vector<std::string>{"CHN", "EU27", "MMR", "USA", "ROW"}));
  ASSERT_EQ(dy.value().model.regions.size(), names.size());
  std::map<std::string, int> seen;
  for (std::size_t r = 0; r < names.size(); ++r) {
    EXPECT_EQ(dy.value().model.regions[r].name, names[r]);
    for (const std::string& c : la.value().model.regions[r].countries) ++seen[c];
  }
  for (const auto& [country, count] : seen) EXPECT_EQ(count, 1) << country;
  double demand = 0.0;
  for (const Region& r : la.value().model.regions) demand += r.base_demand_t;
  EXPECT_NEAR(demand, la.value().info.world_tonnage_t, 1e-6 * demand);
}

// ---- critmin clear ------------------------------------------------------------------------------

class RareEarthMarketCli : public ::testing::Test {
 protected:
  critmin::test::CliRun run(const std::string& args) const {
    return critmin::test::run_cli(temp_.path(), args);
  }
  critmin::test::TempDir temp_{"critmin_rare_earth_cli_test_"};
};

TEST_F(RareEarthMarketCli, ClearDysprosiumPrintsTheJointSection) {
  const critmin::test::CliRun r = run("clear --material dysprosium");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("dysprosium 2023: optimal"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rare earths clear jointly: 15 elements from 7 deposit types"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ore mined per deposit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ionic_clay_myanmar"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lanthanum"), std::string::npos) << r.out;
}

TEST_F(RareEarthMarketCli, JsonAddsTheJointObjectOnBothPaths) {
  for (const char* solver : {"network", "lp"}) {
    const critmin::test::CliRun r =
        run(std::string("clear --material terbium --format json --solver ") + solver);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out.substr(0, 500);
    EXPECT_EQ(j.at("material"), "terbium");
    EXPECT_EQ(j.at("joint").at("status"), "optimal");
    EXPECT_EQ(j.at("joint").at("elements").size(), 15u);
    EXPECT_GE(j.at("joint").at("deposits").size(), 7u);
  }
}

TEST_F(RareEarthMarketCli, RefusesScenarioFilesForRareEarthsAndNdPr) {
  critmin::test::write_file(temp_.path() / "s.toml", "[[tariff]]\n");
  for (const char* material : {"dysprosium", "NdPr"}) {
    const critmin::test::CliRun r =
        run(std::string("clear --material ") + material + " --scenario " +
            critmin::test::quote((temp_.path() / "s.toml").string()));
    EXPECT_EQ(r.exit_code, 2) << material;
    EXPECT_NE(r.err.find("joint rare-earth market"), std::string::npos) << r.err;
  }
}

// NdPr clears as the sum of the Nd and Pr markets, on both paths, and says so.
TEST_F(RareEarthMarketCli, ClearNdPrPrintsTheProductItsMixAndTheJointSection) {
  const critmin::test::CliRun table = run("clear --material NdPr");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("NdPr 2023: optimal"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("a tonne of NdPr holds:"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("observed NdPr oxide price in 2023: 70000 USD/t"), std::string::npos)
      << table.out;
  EXPECT_NE(table.out.find("rare earths clear jointly"), std::string::npos) << table.out;
  for (const char* solver : {"network", "lp"}) {
    const critmin::test::CliRun r =
        run(std::string("clear --material ndpr --format json --solver ") + solver);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out.substr(0, 500);
    EXPECT_EQ(j.at("material"), "NdPr");
    EXPECT_EQ(j.at("status"), "optimal");
    const nlohmann::json& composition = j.at("product").at("composition");
    ASSERT_EQ(composition.size(), 2u);
    EXPECT_EQ(composition[0].at("element"), "Nd");
    EXPECT_EQ(composition[1].at("element"), "Pr");
    const double mix = composition[0].at("content_share").get<double>() *
                           composition[0].at("world_price_usd_per_t").get<double>() +
                       composition[1].at("content_share").get<double>() *
                           composition[1].at("world_price_usd_per_t").get<double>();
    EXPECT_NEAR(j.at("product").at("world_price_usd_per_t").get<double>(), mix, 1e-6 * mix);
    EXPECT_EQ(j.at("joint").at("elements").size(), 15u);
  }
}

// Other materials clear as before, on their own.
TEST_F(RareEarthMarketCli, OtherMaterialsClearAlone) {
  const critmin::test::CliRun r = run("clear --material gallium");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("clear jointly"), std::string::npos);
}

}  // namespace
}  // namespace critmin::market
