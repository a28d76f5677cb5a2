// The market's HTTP JSON API, served in-process on a free loopback port.
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "critmin/service/http_server.h"
#include "critmin/service/market_server.h"
#include "market_test_support.h"
#include "raw_connection.h"

namespace critmin::test {
namespace {

using json = nlohmann::json;

class MarketApi : public ::testing::Test {
 protected:
  void SetUp() override {
    MarketServerOptions options;
    options.directory = dir_.path() / "market";
    options.snapshot_every_events = 0;
    options.max_body_bytes = 4096;
    Result<std::unique_ptr<MarketServer>> opened = MarketServer::open(options, *market_dataset());
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    market_ = std::move(opened).value();
    operator_token_ = market_->create_operator("Club operator", "NLD").value();
    market_->register_routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(server_.widen_backlog());
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
    buyer_ = create("Stahlwerk", "DEU", {"buyer"});
    seller_ = create("Outback Mining", "AUS", {"seller"});
    certifier_ = create("Audit Bureau", "FRA", {"certifier"});
    auditor_ = create("Court of Auditors", "BEL", {"auditor"});
    json lot = post(operator_token_, "/market/v1/lots",
                    R"({"material":"gallium","stage":"processing","reserve_price_usd_per_t":500000,
                        "delivery_date":"2027-03-31"})")
                   .second;
    lot_ = lot.value("id", 0ull);
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::pair<int, json> request(const std::string& method, const std::string& token,
                               const std::string& path, const std::string& body = "") {
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    httplib::Result res = method == "GET" ? client_->Get(path, headers)
                                          : client_->Post(path, headers, body, "application/json");
    if (!res) {
      ADD_FAILURE() << method << " " << path << ": no response";
      return {0, json()};
    }
    json parsed = json::parse(res->body, nullptr, false);
    return {res->status, parsed};
  }
  std::pair<int, json> post(const std::string& token, const std::string& path,
                            const std::string& body) {
    return request("POST", token, path, body);
  }
  std::pair<int, json> get(const std::string& token, const std::string& path) {
    return request("GET", token, path);
  }
  std::string create(const std::string& name, const std::string& iso3,
                     const std::vector<std::string>& roles) {
    auto [status, body] = post(operator_token_, "/market/v1/participants",
                               json{{"name", name}, {"country", iso3}, {"roles", roles}}.dump());
    EXPECT_EQ(status, 201) << body.dump();
    return body.value("token", "");
  }
  std::uint64_t last_seq() { return market_->service().last_seq(); }

  TempDir dir_{"critmin_market_api_"};
  std::unique_ptr<MarketServer> market_;
  HttpServer server_{8};  // the server `critmin serve` runs, with its own connection loop
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
  std::string operator_token_, buyer_, seller_, certifier_, auditor_;
  std::uint64_t lot_ = 0;
};

struct Endpoint {
  const char* method;
  std::string path;
  std::string body;
  std::vector<std::string> allowed;  // roles that pass the role check
};

TEST_F(MarketApi, EveryEndpointRejectsAMissingOrWrongTokenAndAWrongRole) {
  const std::string lot = "/market/v1/lots/" + std::to_string(lot_);
  const std::vector<Endpoint> endpoints = {
      {"GET", "/market/v1/me", "", {"operator", "buyer", "seller", "certifier", "auditor"}},
      {"GET", "/market/v1/status", "", {"operator", "buyer", "seller", "certifier", "auditor"}},
      {"POST",
       "/market/v1/participants",
       R"({"name":"X","country":"DEU","roles":["buyer"]})",
       {"operator"}},
      {"GET", "/market/v1/participants", "", {"operator", "auditor"}},
      {"POST",
       "/market/v1/certificates",
       R"({"holder_id":3,"facility":"F","material":"gallium","standard":"S",
           "valid_from":"2026-01-01","valid_to":"2027-12-31"})",
       {"certifier"}},
      {"GET",
       "/market/v1/certificates",
       "",
       {"operator", "buyer", "seller", "certifier", "auditor"}},
      {"POST",
       "/market/v1/lots",
       R"({"material":"gallium","stage":"processing","delivery_date":"2027-03-31"})",
       {"operator"}},
      {"GET", "/market/v1/lots", "", {"operator", "buyer", "seller", "certifier", "auditor"}},
      {"GET", lot, "", {"operator", "buyer", "seller", "certifier", "auditor"}},
      {"GET", lot + "/orders", "", {"operator", "buyer", "seller", "certifier", "auditor"}},
      {"POST",
       lot + "/orders",
       R"({"side":"buy","price_usd_per_t":600000,"quantity_t":1})",
       {"buyer", "seller"}},
      {"POST",
       lot + "/orders/batch",
       R"({"orders":[{"side":"buy","price_usd_per_t":600000,"quantity_t":1}]})",
       {"buyer", "seller"}},
      {"POST", lot + "/clear", "{}", {"operator"}},
      {"POST", lot + "/tender", "{}", {"operator"}},
      {"GET", lot + "/calls", "", {"operator", "buyer", "seller", "certifier", "auditor"}},
      {"POST",
       "/market/v1/contracts",
       R"({"kind":"subsidy","material":"gallium","stage":"processing","seller_id":3,
           "volume_t_per_year":5,"start_year":2027,"tenor_years":3,
           "subsidy":{"kind":"two_way_cfd","strike_usd_per_t":600000}})",
       {"operator"}},
      {"GET", "/market/v1/contracts", "", {"operator", "buyer", "seller", "certifier", "auditor"}},
      {"POST",
       "/market/v1/settlements",
       R"({"material":"gallium","stage":"processing","year":2027,"reference_price_usd_per_t":5e5})",
       {"operator"}},
      {"GET", "/market/v1/settlements", "", {"operator", "auditor"}},
      {"GET", "/market/v1/audit", "", {"auditor"}},
      {"POST", "/market/v1/snapshot", "{}", {"operator"}},
  };
  const std::map<std::string, std::string> tokens = {{"operator", operator_token_},
                                                     {"buyer", buyer_},
                                                     {"seller", seller_},
                                                     {"certifier", certifier_},
                                                     {"auditor", auditor_}};
  for (const Endpoint& e : endpoints) {
    const std::uint64_t before = last_seq();
    auto [missing, missing_body] = request(e.method, "", e.path, e.body);
    EXPECT_EQ(missing, 401) << e.method << " " << e.path;
    EXPECT_TRUE(missing_body.contains("error")) << e.path;
    EXPECT_EQ(request(e.method, "cm_not_a_real_token", e.path, e.body).first, 401) << e.path;
    EXPECT_EQ(request(e.method, operator_token_ + "0", e.path, e.body).first, 401) << e.path;
    for (const auto& [role, token] : tokens) {
      const bool allowed = std::find(e.allowed.begin(), e.allowed.end(), role) != e.allowed.end();
      if (allowed) continue;
      auto [status, body] = request(e.method, token, e.path, e.body);
      EXPECT_EQ(status, 403) << e.method << " " << e.path << " as " << role;
      EXPECT_NE(body.value("error", "").find("lacks the role"), std::string::npos);
    }
    EXPECT_EQ(last_seq(), before) << e.method << " " << e.path << " changed the state";
    // The allowed role gets through the checks (2xx, or a 4xx about the content, not 401/403).
    auto [status, body] = request(e.method, tokens.at(e.allowed.front()), e.path, e.body);
    EXPECT_NE(status, 401) << e.path;
    EXPECT_NE(status, 403) << e.path << " " << body.dump();
  }
}

TEST_F(MarketApi, BadInputGetsA4xxWithAMessageAndLeavesTheStateUnchanged) {
  const std::string orders = "/market/v1/lots/" + std::to_string(lot_) + "/orders";
  struct Case {
    std::string path;
    std::string body;
    int status;
    std::string says;
  };
  const std::vector<Case> cases = {
      {orders, R"({"side":"buy","price_usd_per_t":600000,"quantity_t":1)", 400, "not valid JSON"},
      {orders, "[1,2]", 400, "JSON object"},
      {orders, R"({"side":"buy","price_usd_per_t":600000,"quantity_t":0})", 400, "quantity_t"},
      {orders, R"({"side":"buy","price_usd_per_t":600000,"quantity_t":-5})", 400, "quantity_t"},
      {orders, R"({"side":"buy","price_usd_per_t":-1,"quantity_t":5})", 400, "price_usd_per_t"},
      {orders, R"({"side":"buy","price_usd_per_t":"600000","quantity_t":5})", 400, "a number"},
      {orders, R"({"side":"hold","price_usd_per_t":600000,"quantity_t":5})", 400, "buy or sell"},
      {orders, R"({"side":"buy","price_usd_per_t":600000,"quantity_t":5,"qty":1})", 400,
       "unknown field 'qty'"},
      {orders, R"({"price_usd_per_t":600000,"quantity_t":5})", 400, "'side' is missing"},
      {orders + "/batch", R"({"orders":[{"side":"buy","price_usd_per_t":6e5,"quantity_t":1},
                                       {"side":"buy","price_usd_per_t":6e5,"quantity_t":-1}]})",
       400, "orders[1]: quantity_t"},
      {orders + "/batch", R"({"orders":{}})", 400, "must be an array"},
      {orders + "/batch", R"({"orders":[]})", 400, "send 1 to 1000"},
      {"/market/v1/lots/999999/orders", R"({"side":"buy","price_usd_per_t":6e5,"quantity_t":5})",
       404, "does not exist"},
      {orders,
       R"({"side":"buy","price_usd_per_t":600000,"quantity_t":5,"client_ref":")" +
           std::string(5000, 'x') + "\"}",
       413, "larger than 4096 bytes"},
  };
  for (const Case& c : cases) {
    const std::uint64_t before = last_seq();
    auto [status, body] = post(buyer_, c.path, c.body);
    EXPECT_EQ(status, c.status) << c.body.substr(0, 80) << " -> " << body.dump();
    EXPECT_NE(body.value("error", "").find(c.says), std::string::npos)
        << c.body.substr(0, 80) << " -> " << body.dump();
    EXPECT_EQ(last_seq(), before);
  }
  const std::uint64_t before = last_seq();
  auto [status, body] = post(operator_token_, "/market/v1/lots",
                             R"({"material":"unobtainium","stage":"processing",
                                 "delivery_date":"2027-03-31"})");
  EXPECT_EQ(status, 400);
  EXPECT_NE(body.value("error", "").find("unobtainium"), std::string::npos);
  EXPECT_EQ(post(operator_token_, "/market/v1/lots",
                 R"({"material":"gallium","stage":"smelting","delivery_date":"2027-03-31"})")
                .first,
            400);
  EXPECT_EQ(post(operator_token_, "/market/v1/participants",
                 R"({"name":"X","country":"DEU","roles":["king"]})")
                .first,
            400);
  EXPECT_EQ(last_seq(), before);
  auto [unknown, unknown_body] = get(buyer_, "/market/v1/nothing-here");
  EXPECT_EQ(unknown, 404);
  EXPECT_TRUE(unknown_body.contains("error"));
}

TEST_F(MarketApi, TheBookAndTheCallsArePagedInOrder) {
  const std::string lot = "/market/v1/lots/" + std::to_string(lot_);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 5; ++i) {
    auto [status, order] =
        post(buyer_, lot + "/orders", R"({"side":"buy","price_usd_per_t":600000,"quantity_t":1})");
    ASSERT_EQ(status, 201) << order.dump();
    ids.push_back(order.value("id", 0ull));
  }
  ASSERT_EQ(
      post(seller_, lot + "/orders", R"({"side":"sell","price_usd_per_t":6e5,"quantity_t":1})")
          .first,
      201);
  // The buyer pages through its own five orders two at a time; the seller's order is not shown.
  std::vector<std::uint64_t> seen;
  std::string after = "0";
  for (int page = 0; page < 5; ++page) {
    auto [status, body] = get(buyer_, lot + "/orders?limit=2&after=" + after);
    ASSERT_EQ(status, 200) << body.dump();
    for (const json& o : body["orders"]) seen.push_back(o["id"].get<std::uint64_t>());
    if (body["next_after"].is_null()) break;
    EXPECT_EQ(body["orders"].size(), 2u);
    EXPECT_EQ(body["next_after"], seen.back());
    after = std::to_string(body["next_after"].get<std::uint64_t>());
  }
  EXPECT_EQ(seen, ids);
  // The operator's first page of three holds the buyer's first three orders and says where to go
  // on.
  auto [all_status, all] = get(operator_token_, lot + "/orders?limit=3");
  EXPECT_EQ(all["orders"].size(), 3u);
  EXPECT_EQ(all["next_after"], ids[2]);
  EXPECT_EQ(get(buyer_, lot + "/orders?limit=abc").first, 400);

  // Two calls; the second page of one call holds period 2 only.
  ASSERT_EQ(post(operator_token_, lot + "/clear", "{}").first, 200);
  ASSERT_EQ(post(operator_token_, lot + "/clear", "{}").first, 200);
  auto [calls_status, calls] = get(operator_token_, lot + "/calls?after=1&limit=1");
  ASSERT_EQ(calls_status, 200) << calls.dump();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["period"], 2);
  EXPECT_EQ(get(operator_token_, lot + "/calls").second.size(), 2u);
}

TEST_F(MarketApi, ACallAuctionRunsEndToEndAndTheAuditorReadsEveryStateChange) {
  const std::string lot = "/market/v1/lots/" + std::to_string(lot_);
  auto [bid_status, bid] =
      post(buyer_, lot + "/orders",
           R"({"side":"buy","price_usd_per_t":600000,"quantity_t":10,"client_ref":"b-1"})");
  ASSERT_EQ(bid_status, 201) << bid.dump();
  EXPECT_EQ(bid.value("client_ref", ""), "b-1");
  ASSERT_EQ(
      post(seller_, lot + "/orders", R"({"side":"sell","price_usd_per_t":450000,"quantity_t":4})")
          .first,
      201);
  // Sealed book: the buyer sees its own order only, the operator sees both.
  EXPECT_EQ(get(buyer_, lot + "/orders").second["orders"].size(), 1u);
  EXPECT_EQ(get(operator_token_, lot + "/orders").second["orders"].size(), 2u);
  auto [clear_status, call] = post(operator_token_, lot + "/clear", "{}");
  ASSERT_EQ(clear_status, 200) << call.dump();
  EXPECT_EQ(call["outcome"], "cleared");
  EXPECT_EQ(call["clearing_price_usd_per_t"], 500000.0);  // the reserve is the reference too
  EXPECT_EQ(call["executed_volume_t"], 4.0);
  EXPECT_EQ(get(seller_, lot + "/calls").second[0]["fills"].size(), 1u);  // its own fill

  auto [audit_status, audit] = get(auditor_, "/market/v1/audit?after=0&limit=1000");
  ASSERT_EQ(audit_status, 200);
  const json& events = audit["events"];
  ASSERT_EQ(events.size(), last_seq());
  EXPECT_EQ(events[0]["type"], "participant_registered");
  EXPECT_EQ(events.back()["type"], "lot_cleared");
  EXPECT_FALSE(events[0]["details"].contains("token"));
  auto [page_status, page] = get(auditor_, "/market/v1/audit?after=3&limit=2");
  EXPECT_EQ(page["events"].size(), 2u);
  EXPECT_EQ(page["events"][0]["seq"], 4);
  EXPECT_EQ(get(auditor_, "/market/v1/audit?after=x").first, 400);
  auto [bad_bytes, bad_bytes_body] = get(auditor_, "/market/v1/audit?after=%FF%FE");
  EXPECT_EQ(bad_bytes, 400);  // the message echoes the bytes, replaced, without a 500
  EXPECT_TRUE(bad_bytes_body.contains("error"));
}

}  // namespace
}  // namespace critmin::test

namespace critmin::test {
namespace {

// Random bodies (bytes, and JSON of every shape) at every writing route: always a 4xx with a
// message, never a crash, never a state change.
TEST_F(MarketApi, TheAuditLogReadsWholeAcrossASnapshotThatPagedItOut) {
  ASSERT_EQ(post(operator_token_, "/market/v1/snapshot", "{}").first, 200);
  const std::string orders = "/market/v1/lots/" + std::to_string(lot_) + "/orders";
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(
        post(buyer_, orders, R"({"side":"buy","price_usd_per_t":600000,"quantity_t":1})").first,
        201);
  }
  const std::uint64_t last = last_seq();
  auto [status, audit] = get(auditor_, "/market/v1/audit?after=0&limit=1000");
  ASSERT_EQ(status, 200);
  ASSERT_EQ(audit["events"].size(), last);
  for (std::size_t i = 0; i < audit["events"].size(); ++i) {
    EXPECT_EQ(audit["events"][i]["seq"], i + 1);
  }
  // A page that starts in the store and ends in memory.
  auto [page_status, page] =
      get(auditor_, "/market/v1/audit?after=" + std::to_string(last - 5) + "&limit=4");
  ASSERT_EQ(page_status, 200);
  ASSERT_EQ(page["events"].size(), 4u);
  EXPECT_EQ(page["events"][0]["seq"], last - 4);
  EXPECT_EQ(page["events"][3]["type"], "order_submitted");
}

TEST_F(MarketApi, RandomBodiesAreRejectedWithoutChangingTheState) {
  std::mt19937_64 random(5);
  const std::string lot = "/market/v1/lots/" + std::to_string(lot_);
  const std::vector<std::pair<std::string, std::string>> routes = {
      {operator_token_, "/market/v1/participants"},
      {certifier_, "/market/v1/certificates"},
      {operator_token_, "/market/v1/lots"},
      {buyer_, lot + "/orders"},
      {buyer_, lot + "/orders/batch"},
      {operator_token_, "/market/v1/contracts"},
      {operator_token_, "/market/v1/settlements"}};
  const std::vector<std::string> values = {"null",
                                           "true",
                                           "-1",
                                           "0",
                                           "1e308",
                                           "-1e308",
                                           "\"\"",
                                           "\"x\"",
                                           "[]",
                                           "{}",
                                           "[1,\"a\"]",
                                           "{\"a\":{}}",
                                           "18446744073709551616",
                                           "3.5"};
  const std::vector<std::string> keys = {
      "name",       "country",   "roles",      "material", "stage", "side",  "price_usd_per_t",
      "quantity_t", "holder_id", "valid_from", "orders",   "kind",  "price", "subsidy",
      "year",       "deliveries"};
  const std::uint64_t before = last_seq();
  for (int round = 0; round < 150; ++round) {
    std::string body;
    if (round % 3 == 0) {
      const std::size_t n = random() % 64;
      for (std::size_t i = 0; i < n; ++i) body += static_cast<char>(random() % 256);
    } else {
      body = "{";
      const std::size_t n = 1 + random() % 4;
      for (std::size_t i = 0; i < n; ++i) {
        body += (i ? "," : "") + ("\"" + keys[random() % keys.size()] + "\":") +
                values[random() % values.size()];
      }
      body += "}";
    }
    const auto& [token, path] = routes[random() % routes.size()];
    auto [status, reply] = post(token, path, body);
    EXPECT_GE(status, 400) << path << " " << body;
    EXPECT_LT(status, 500) << path << " " << body;
    EXPECT_TRUE(reply.contains("error")) << path << " " << body;
  }
  EXPECT_EQ(last_seq(), before);
}

TEST_F(MarketApi, SlowUnauthenticatedChunkedUploadsDoNotStallTheServer) {
  // 64 connections start a chunked POST /lots without a token, 16 more with a token, and send
  // a chunk now and then; 8 workers serve this server. GET /status keeps answering within a
  // second: bodies are read by the event loop, never by a worker.
  constexpr int kUploads = 64;
  std::vector<std::unique_ptr<RawConnection>> uploads;
  for (int i = 0; i < kUploads; ++i) {
    uploads.push_back(std::make_unique<RawConnection>(port_));
    ASSERT_TRUE(uploads.back()->connected());
    ASSERT_TRUE(
        uploads.back()->send("POST /market/v1/lots HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                             "chunked\r\n\r\n1\r\n{\r\n"));
  }
  // Authenticated slow uploads too: their bodies are read by the event loop, not a worker.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 16; ++i) {
    slow.push_back(std::make_unique<RawConnection>(port_));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(
        slow.back()->send("POST /market/v1/lots HTTP/1.1\r\nHost: x\r\nAuthorization: "
                          "Bearer " +
                          operator_token_ + "\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"));
  }
  // Each unauthenticated upload is refused from its headers, without waiting for its body.
  for (auto& upload : uploads) {
    const std::string answer = upload->read_responses(1);
    EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
  }
  for (int round = 0; round < 3; ++round) {
    for (auto& upload : slow) ASSERT_TRUE(upload->send("1\r\n \r\n"));
    const auto start = std::chrono::steady_clock::now();
    httplib::Client status("127.0.0.1", port_);
    status.set_read_timeout(1, 0);
    httplib::Result res =
        status.Get("/market/v1/status", httplib::Headers{{"Authorization", "Bearer " + buyer_}});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_TRUE(res) << "GET /status did not answer within 1 s";
    EXPECT_EQ(res->status, 200);
    EXPECT_LT(seconds, 1.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  // The authenticated uploads finish and are answered (400: "{  " is no JSON object).
  for (auto& upload : slow) {
    ASSERT_TRUE(upload->send("0\r\n\r\n"));
    EXPECT_EQ(upload->read_responses(1).rfind("HTTP/1.1 400", 0), 0u);
  }
}

TEST_F(MarketApi, ATokenFollowedByANulByteDoesNotAuthenticate) {
  const std::string token = buyer_ + std::string(1, '\0');
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(
      "GET /market/v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token + "\r\n\r\n"));
  EXPECT_EQ(connection.read_responses(1).rfind("HTTP/1.1 401", 0), 0u);
  RawConnection event(port_);
  ASSERT_TRUE(event.connected());
  ASSERT_TRUE(event.send("GET /market/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
                         "\r\n\r\n"));
  EXPECT_EQ(event.read_responses(1).rfind("HTTP/1.1 401", 0), 0u);
}

TEST_F(MarketApi, NumbersOutsideTheirBoundsAreRefused) {
  const std::string lot = "/market/v1/lots/" + std::to_string(lot_) + "/orders";
  // Subnormal prices and quantities.
  EXPECT_EQ(post(buyer_, lot, R"({"side":"buy","price_usd_per_t":5e-324,"quantity_t":1})").first,
            400);
  EXPECT_EQ(
      post(buyer_, lot, R"({"side":"buy","price_usd_per_t":600000,"quantity_t":4e-320})").first,
      400);
  // Dates outside 2000-2100.
  EXPECT_EQ(post(operator_token_, "/market/v1/lots",
                 R"({"material":"gallium","stage":"processing","delivery_date":"0000-01-01"})")
                .first,
            400);
  // Contract money beyond 1e10 USD/t: an offtake's fixed price, a subsidy's premium.
  const std::string seller = std::to_string(get(seller_, "/market/v1/me").second.value("id", 0));
  const std::string buyer = std::to_string(get(buyer_, "/market/v1/me").second.value("id", 0));
  auto [offtake, offtake_body] =
      post(operator_token_, "/market/v1/contracts",
           R"({"kind":"offtake","material":"gallium","stage":"processing","buyer_id":)" + buyer +
               R"(,"seller_id":)" + seller +
               R"(,"volume_t_per_year":5,"start_year":2027,"tenor_years":3,
                  "price":{"kind":"fixed","fixed_usd_per_t":1e308}})");
  EXPECT_EQ(offtake, 400) << offtake_body.dump();
  auto [subsidy, subsidy_body] =
      post(operator_token_, "/market/v1/contracts",
           R"({"kind":"subsidy","material":"gallium","stage":"processing","seller_id":)" + seller +
               R"(,"volume_t_per_year":5,"start_year":2027,"tenor_years":3,
                  "subsidy":{"kind":"fixed_premium","premium_usd_per_t":1e308}})");
  EXPECT_EQ(subsidy, 400) << subsidy_body.dump();
  EXPECT_EQ(get(operator_token_, "/market/v1/contracts").second.size(), 0u);
}

TEST_F(MarketApi, TheDocumentedTwoWayCfdIsAcceptedAndAContractCanBeTerminated) {
  const std::string seller = std::to_string(get(seller_, "/market/v1/me").second.value("id", 0));
  auto [status, contract] =
      post(operator_token_, "/market/v1/contracts",
           R"({"kind":"subsidy","material":"gallium","stage":"processing","seller_id":)" + seller +
               R"(,"volume_t_per_year":5,"start_year":2027,"tenor_years":5,
                  "subsidy":{"kind":"two_way_cfd","strike_usd_per_t":650000}})");
  ASSERT_EQ(status, 201) << contract.dump();
  const std::string id = std::to_string(contract.value("id", 0));
  const std::string settle = R"({"material":"gallium","stage":"processing","year":YEAR,
                                 "reference_price_usd_per_t":600000})";
  auto settle_in = [&](int year) {
    std::string body = settle;
    body.replace(body.find("YEAR"), 4, std::to_string(year));
    return post(operator_token_, "/market/v1/settlements", body);
  };
  auto [settled, first] = settle_in(2027);
  ASSERT_EQ(settled, 201) << first.dump();
  EXPECT_EQ(first["entries"].size(), 1u);
  // Only the operator terminates, and not before a settled year.
  EXPECT_EQ(
      post(buyer_, "/market/v1/contracts/" + id + "/terminate", R"({"last_year":2028})").first,
      403);
  EXPECT_EQ(
      post(operator_token_, "/market/v1/contracts/" + id + "/terminate", R"({"last_year":2026})")
          .first,
      400);
  auto [ended, terminated] = post(operator_token_, "/market/v1/contracts/" + id + "/terminate",
                                  R"({"last_year":2028,"reason":"the producer closed the mine"})");
  ASSERT_EQ(ended, 200) << terminated.dump();
  EXPECT_EQ(terminated.value("tenor_years", 0), 2);
  // In force in 2028, not after.
  EXPECT_EQ(settle_in(2028).second["entries"].size(), 1u);
  EXPECT_EQ(settle_in(2029).second["entries"].size(), 0u);
  // Audited.
  const json audit = get(auditor_, "/market/v1/audit?limit=1000").second;
  bool seen = false;
  for (const json& event : audit["events"]) {
    if (event.value("type", "") == "contract_terminated") {
      seen = true;
      EXPECT_EQ(event["details"].value("reason", ""), "the producer closed the mine");
    }
  }
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace critmin::test
