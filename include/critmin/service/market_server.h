// The club market service as a library: open (and recover) a market from its directory, create
// the first operator, and register the market's HTTP JSON API (docs/market-api.md) on an
// HttpServer that the caller owns, so that other parts of `critmin serve` (the dashboard)
// add their own routes to the same server.
//
// Storage: a directory holding the write-ahead log and snapshots (docs/market-service.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin {

class HttpServer;

namespace service {
class MarketService;
}

struct MarketServerOptions {
  std::filesystem::path directory;  // the write-ahead log (and market.sqlite); created when missing
  std::string postgres_url;         // empty: snapshots in SQLite; else in this PostgreSQL database
  std::uint64_t snapshot_every_events = 1'000'000;  // 0: snapshots only on request
  std::size_t max_body_bytes = 64 * 1024;           // larger requests get 413
  // Repair a damaged log on open (keep the events up to the damage, move the rest aside):
  // see repair_report() and docs/market-service.md. Without it a damaged log fails open().
  bool repair = false;
};

struct MarketStorage {
  std::filesystem::path directory;  // the write-ahead log, and market.sqlite when no PostgreSQL
  std::string postgres_url;
};

// Where the market keeps its data, from `critmin serve --db DB [--log-dir DIR]`: DB is a
// directory (or "file:DIR") holding the log and the SQLite store, or a PostgreSQL URL
// (postgres://, postgresql://) for snapshots and query tables, with the log in --log-dir.
Result<MarketStorage> market_storage_from_flags(const std::string& db, const std::string& log_dir);

class MarketServer {
 public:
  // Opens the market, replaying its log. `dataset` validates materials, countries and the club.
  static Result<std::unique_ptr<MarketServer>> open(const MarketServerOptions& options,
                                                    const Dataset& dataset);
  ~MarketServer();

  // One line on what recovery did (snapshot, events replayed, torn bytes cut, seconds).
  std::string recovery_summary() const;
  // What a repair did, one line each: where the damage was, what was kept, what was moved
  // aside and which events could not be kept. Empty when nothing needed repair.
  std::vector<std::string> repair_report() const;

  // Registers a participant with the operator role (and no other) and returns its API token.
  // The token is shown only here; the market stores its hash.
  Result<std::string> create_operator(const std::string& name, const std::string& country_iso3);

  // Adds every /market/v1/... route, the body-size limit and JSON error bodies to `server`:
  // orders and GET /me as event routes (answered on the event loops), the others as cpp-httplib
  // routes. Call it before other parts add their routes. The MarketServer must outlive the
  // server's use of these routes.
  void register_routes(HttpServer& server);

  service::MarketService& service() { return *service_; }

 private:
  MarketServer() = default;
  MarketServerOptions options_;
  std::unique_ptr<service::MarketService> service_;
};

}  // namespace critmin
