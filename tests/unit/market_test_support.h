// Helpers for the market service tests: the committed dataset (loaded once), a service opened in
// a temporary directory, and a small market with one participant of each kind.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "critmin/world/dataset.h"
#include "service/market_service.h"
#include "test_support.h"

namespace critmin::test {

inline std::shared_ptr<const Dataset> market_dataset() {
  static const std::shared_ptr<const Dataset> data = [] {
    Result<Dataset> loaded = load_dataset(CRITMIN_TEST_DATA);
    EXPECT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    return std::make_shared<const Dataset>(loaded.is_ok() ? loaded.value() : Dataset{});
  }();
  return data;
}

inline std::unique_ptr<service::MarketService> open_market(const std::filesystem::path& dir,
                                                           std::uint64_t snapshot_every = 0) {
  service::ServiceConfig config;
  config.directory = dir;
  config.snapshot_every_events = snapshot_every;
  Result<std::unique_ptr<service::MarketService>> opened =
      service::MarketService::open(config, market_dataset());
  EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
  return opened.is_ok() ? std::move(opened).value() : nullptr;
}

// The whole state as bytes (what a snapshot holds).
inline std::string state_bytes(const service::MarketService& market) {
  Result<service::MarketState> state = market.state();
  EXPECT_TRUE(state.is_ok());
  return state.is_ok() ? service::encode_state(state.value()) : std::string();
}

// Participants of a small market: ids and tokens.
struct Cast {
  service::Registered op;        // operator, NLD
  service::Registered buyer;     // buyer, DEU (club)
  service::Registered seller;    // seller, AUS (club)
  service::Registered outsider;  // buyer and seller, CHN (not in the club)
  service::Registered certifier;
  service::Registered auditor;
};

inline service::Registered must_register(service::MarketService& market, std::uint64_t actor,
                                         const std::string& name, const std::string& iso3,
                                         std::uint8_t roles) {
  Result<service::Registered> r = market.register_participant(actor, {name, iso3, roles});
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? r.value() : service::Registered{};
}

inline Cast register_cast(service::MarketService& market) {
  Cast cast;
  cast.op = must_register(market, 0, "Club operator", "NLD", service::kOperator);
  const std::uint64_t op = cast.op.id;
  cast.buyer = must_register(market, op, "Stahlwerk", "DEU", service::kBuyer);
  cast.seller = must_register(market, op, "Outback Mining", "AUS", service::kSeller);
  cast.outsider =
      must_register(market, op, "Far Refinery", "CHN", service::kBuyer | service::kSeller);
  cast.certifier = must_register(market, op, "Audit Bureau", "FRA", service::kCertifier);
  cast.auditor = must_register(market, op, "Court of Auditors", "BEL", service::kAuditor);
  return cast;
}

inline service::NewLot gallium_lot(std::optional<double> reserve = 500'000.0) {
  service::NewLot lot;
  lot.name = "gallium Q1";
  lot.material = "gallium";
  lot.stage = "processing";
  lot.reserve_price_usd_per_t = reserve;
  lot.reference_price_usd_per_t = 550'000.0;
  lot.delivery_date = "2027-03-31";
  return lot;
}

inline service::NewOrder order(std::uint64_t lot, auction::Side side, double price, double quantity,
                               std::uint64_t certificate = 0) {
  service::NewOrder o;
  o.lot_id = lot;
  o.side = side;
  o.price_usd_per_t = price;
  o.quantity_t = quantity;
  o.certificate_id = certificate;
  return o;
}

}  // namespace critmin::test
