// Orders over the HTTP event loop (include/critmin/service/http_server.h): answered in order on a
// pipelined connection, each only after its record is durable; rejected with 4xx in the middle
// of a stream without changing the state; kept when the client leaves before its answer; and
// served on the blocking loop for a request the event loop does not frame.
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

class MarketEventPath : public ::testing::Test {
 protected:
  void SetUp() override {
    MarketServerOptions options;
    options.directory = dir_.path() / "market";
    options.snapshot_every_events = 0;
    Result<std::unique_ptr<MarketServer>> opened = MarketServer::open(options, *market_dataset());
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    market_ = std::move(opened).value();
    service::MarketService& svc = market_->service();
    const std::string op = market_->create_operator("Club operator", "NLD").value();
    const std::uint64_t op_id = svc.authenticate(op)->id;
    buyer_ = must_register(svc, op_id, "Stahlwerk", "DEU", service::kBuyer).token;
    auditor_ = must_register(svc, op_id, "Auditors", "BEL", service::kAuditor).token;
    service::NewLot lot;
    lot.material = "gallium";
    lot.stage = "processing";
    lot.delivery_date = "2027-03-31";
    Result<std::uint64_t> opened_lot = svc.open_lot(op_id, lot);
    ASSERT_TRUE(opened_lot.is_ok());
    lot_ = opened_lot.value();
    market_->register_routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(server_.widen_backlog());
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override { stop(); }

  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string order(const std::string& token, const std::string& body,
                    std::uint64_t lot = 0) const {
    const std::string path = "/market/v1/lots/" + std::to_string(lot ? lot : lot_) + "/orders";
    const std::string authorization =
        token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + authorization +
           "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  }
  static std::string bid(const std::string& ref) {
    return R"({"side":"buy","price_usd_per_t":500000,"quantity_t":2,"client_ref":")" + ref + "\"}";
  }

  // The status codes and bodies of the responses in `text`, in order.
  static std::vector<std::pair<int, json>> split_responses(const std::string& text) {
    std::vector<std::pair<int, json>> out;
    std::size_t at = 0;
    while (at < text.size()) {
      const std::size_t header_end = text.find("\r\n\r\n", at);
      if (header_end == std::string::npos) break;
      const int status = std::stoi(text.substr(at + 9, 3));
      const std::size_t length_at = text.find("Content-Length: ", at);
      const std::size_t length = std::stoul(text.substr(length_at + 16));
      out.emplace_back(status, json::parse(text.substr(header_end + 4, length), nullptr, false));
      at = header_end + 4 + length;
    }
    return out;
  }

  TempDir dir_{"critmin_market_event_"};
  std::unique_ptr<MarketServer> market_;
  HttpServer server_{4};
  std::thread thread_;
  int port_ = 0;
  std::string buyer_, auditor_;
  std::uint64_t lot_ = 0;
};

TEST_F(MarketEventPath, PipelinedOrdersAreAnsweredInOrderAndSurviveARestart) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  constexpr int kOrders = 50;
  std::string stream;
  for (int i = 0; i < kOrders; ++i) stream += order(buyer_, bid("p" + std::to_string(i)));
  const std::uint64_t fsyncs_before = market_->service().fsync_count();
  ASSERT_TRUE(connection.send(stream));
  const auto responses = split_responses(connection.read_responses(kOrders));
  ASSERT_EQ(responses.size(), static_cast<std::size_t>(kOrders));
  EXPECT_GT(market_->service().fsync_count(), fsyncs_before);
  std::uint64_t previous_id = 0;
  for (int i = 0; i < kOrders; ++i) {
    const auto& [status, body] = responses[static_cast<std::size_t>(i)];
    ASSERT_EQ(status, 201) << body.dump();
    EXPECT_EQ(body.value("client_ref", ""), "p" + std::to_string(i));
    EXPECT_EQ(body.value("lot_id", 0ull), lot_);
    EXPECT_GT(body.value("id", 0ull), previous_id);
    previous_id = body.value("id", 0ull);
  }
  const std::string before = state_bytes(market_->service());
  stop();
  market_.reset();
  auto reopened = open_market(dir_.path() / "market");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(state_bytes(*reopened), before);  // the replay is exact
  Result<service::OrderPage> book = reopened->orders(lot_, 0, 0, 1'000'000);
  ASSERT_TRUE(book.is_ok());
  std::string refs;
  for (const service::BookOrder& o : book.value().orders) refs += o.client_ref + ",";
  for (int i = 0; i < kOrders; ++i) {
    EXPECT_NE(refs.find("p" + std::to_string(i) + ","), std::string::npos) << i;
  }
}

TEST_F(MarketEventPath, BadOrdersInAStreamGet4xxInOrderAndChangeNothing) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  const std::uint64_t seq_before = market_->service().last_seq();
  const std::string stream =
      order("", bid("no-token")) + order("cm_not_a_token", bid("bad-token")) +
      order(auditor_, bid("wrong-role")) + order(buyer_, "{not json") +
      order(buyer_, R"({"side":"buy","price_usd_per_t":5,"quantity_t":1,"colour":"red"})") +
      order(buyer_, R"({"side":"buy","price_usd_per_t":-5,"quantity_t":1})") +
      order(buyer_, bid("no-lot"), 999) + order(buyer_, bid("good")) +
      "GET /market/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + buyer_ + "\r\n\r\n";
  ASSERT_TRUE(connection.send(stream));
  const auto responses = split_responses(connection.read_responses(9));
  ASSERT_EQ(responses.size(), 9u);
  const std::vector<int> expected = {401, 401, 403, 400, 400, 400, 404, 201, 200};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(responses[i].first, expected[i]) << i << ": " << responses[i].second.dump();
    if (expected[i] >= 400) {
      EXPECT_TRUE(responses[i].second.contains("error")) << i;
    }
  }
  EXPECT_EQ(responses[7].second.value("client_ref", ""), "good");
  EXPECT_EQ(responses[8].second.value("name", ""), "Stahlwerk");
  EXPECT_EQ(market_->service().last_seq(), seq_before + 1);  // only the good order
}

TEST_F(MarketEventPath, AnOrderWhoseClientLeftBeforeItsAnswerIsKept) {
  const std::uint64_t seq_before = market_->service().last_seq();
  {
    RawConnection leaving(port_);
    ASSERT_TRUE(leaving.connected());
    ASSERT_TRUE(leaving.send(order(buyer_, bid("left"))));
  }  // gone before the fdatasync can answer
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (market_->service().last_seq() == seq_before &&
         std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // The server goes on serving.
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(order(buyer_, bid("after"))));
  const auto responses = split_responses(connection.read_responses(1));
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].first, 201);
  stop();
  market_.reset();
  auto reopened = open_market(dir_.path() / "market");
  ASSERT_TRUE(reopened);
  EXPECT_EQ(reopened->last_seq(), seq_before + 2);
}

TEST_F(MarketEventPath, AnOrderSentWithExpectContinueIsServedOnTheBlockingLoop) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  const std::string body = bid("continued");
  ASSERT_TRUE(connection.send(
      "POST /market/v1/lots/" + std::to_string(lot_) +
      "/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + buyer_ +
      "\r\nExpect: 100-continue\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  char buffer[256];
  const ssize_t n = ::recv(connection.fd(), buffer, sizeof buffer, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)).rfind("HTTP/1.1 100 Continue", 0), 0u);
  ASSERT_TRUE(connection.send(body));
  const auto responses = split_responses(connection.read_responses(1));
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].first, 201) << responses[0].second.dump();
  EXPECT_EQ(responses[0].second.value("client_ref", ""), "continued");
}

}  // namespace
}  // namespace critmin::test
