// critmin::HttpServer: its event loops (event routes answered at once or later from another
// thread, other routes handed to workers, in order): keep-alive, pipelining, requests split
// across packets, chunked bodies, a bad request in a stream, a client leaving with an answer
// pending, interim 100 Continue, the body limit, the header check before the body, the time
// limits and connection caps, and a prompt stop with idle connections open.
#include "critmin/service/http_server.h"
#include "raw_connection.h"
#include "service/http_routes.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace critmin::test {
namespace {

// Answers held back by the /later event route until the test releases them, as the market's
// order route holds its 201 until the log's fdatasync.
class HeldAnswers {
 public:
  void hold(EventResponder responder, std::string body) {
    std::lock_guard<std::mutex> lock(mutex_);
    held_.emplace_back(std::move(responder), std::move(body));
  }
  std::size_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_.size();
  }
  // Waits (up to 5 s) until `n` answers are held.
  bool wait_for(std::size_t n) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (count() < n) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }
  // Answers every held request from this thread (not the loop's).
  void release_all() {
    std::vector<std::pair<EventResponder, std::string>> held;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held.swap(held_);
    }
    for (auto& [responder, body] : held) {
      EventResponse answer;
      answer.status = 201;
      answer.content_type = "text/plain";
      answer.body = "later " + body;
      responder.respond(std::move(answer));
    }
  }
  void drop_all() {
    std::lock_guard<std::mutex> lock(mutex_);
    held_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<EventResponder, std::string>> held_;
};

class HttpServerLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.event_route("GET", "/event/{id}", [](const EventRequest& req, EventResponder r) {
      EventResponse answer;
      answer.content_type = "text/plain";
      answer.body = "event " + std::to_string(req.ids[0]) + " " + std::string(req.header("X-Tag"));
      r.respond(std::move(answer));
    });
    server_.event_route("POST", "/later", [this](const EventRequest& req, EventResponder r) {
      held_.hold(std::move(r), std::string(req.body));
    });
    server_.event_route("GET", "/lost", [](const EventRequest&, EventResponder) {});
    server_.event_route("GET", "/big", [](const EventRequest&, EventResponder r) {
      EventResponse answer;
      answer.content_type = "text/plain";
      answer.body = std::string(256 * 1024, 'b');
      r.respond(std::move(answer));
    });
    HttpRoutes routes(server_);
    routes.Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("hello " + req.remote_addr, "text/plain");
    });
    routes.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.body, "text/plain");
    });
    server_.set_payload_max_length(1024);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(server_.widen_backlog());
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    held_.release_all();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  static std::string post(const std::string& body, const std::string& extra_headers = "",
                          const std::string& path = "/echo") {
    return "POST " + path + " HTTP/1.1\r\nHost: x\r\n" + extra_headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  HeldAnswers held_;
  HttpServer server_{4};
  std::thread thread_;
  int port_ = 0;
};

TEST_F(HttpServerLoop, ServesManyRequestsOnOneKeepAliveConnection) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(connection.send(post("order " + std::to_string(i))));
    const std::string response = connection.read_responses(1);
    EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
    EXPECT_NE(response.find("\r\n\r\norder " + std::to_string(i)), std::string::npos) << response;
  }
  ASSERT_TRUE(connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(connection.read_responses(1).find("hello 127.0.0.1"), std::string::npos);
}

TEST_F(HttpServerLoop, AnswersPipelinedRequestsInOrder) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(post("first") + post("second") + post("third")));
  const std::string responses = connection.read_responses(3);
  EXPECT_EQ(count_of(responses, "HTTP/1.1 200 OK"), 3) << responses;
  const std::size_t first = responses.find("first");
  const std::size_t second = responses.find("second");
  const std::size_t third = responses.find("third");
  ASSERT_NE(third, std::string::npos) << responses;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST_F(HttpServerLoop, ReadsARequestThatArrivesByteByByte) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  const std::string request = post("slow body");
  for (char c : request) {
    ASSERT_TRUE(connection.send(std::string(1, c)));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  EXPECT_NE(connection.read_responses(1).find("\r\n\r\nslow body"), std::string::npos);
}

TEST_F(HttpServerLoop, SendsContinueBeforeWaitingForTheBody) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  // The client sends only the headers and waits for "100 Continue" before sending the body;
  // a server that held the interim answer back would wait for the body forever.
  ASSERT_TRUE(connection.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  char buffer[256];
  const ssize_t n = ::recv(connection.fd(), buffer, sizeof buffer, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)).rfind("HTTP/1.1 100 Continue", 0), 0u);
  ASSERT_TRUE(connection.send("body"));
  EXPECT_NE(connection.read_responses(1).find("\r\n\r\nbody"), std::string::npos);
}

TEST_F(HttpServerLoop, RejectsAnOversizeBodyWith413) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(post(std::string(2048, 'x'))));
  EXPECT_EQ(connection.read_responses(1).rfind("HTTP/1.1 413", 0), 0u);
}

TEST_F(HttpServerLoop, ClosesWhenTheClientAsksTo) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(post("bye", "Connection: close\r\n")));
  EXPECT_NE(connection.read_responses(1).find("\r\n\r\nbye"), std::string::npos);
  EXPECT_TRUE(connection.closed_by_server());
}

TEST_F(HttpServerLoop, StopsPromptlyWhileKeepAliveConnectionsAreIdle) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_NE(connection.read_responses(1).find("hello"), std::string::npos);
  const auto start = std::chrono::steady_clock::now();
  server_.stop();
  thread_.join();
  // The keep-alive timeout is 5 s; the loop looks for a stop every 100 ms.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_TRUE(connection.closed_by_server());
}

TEST_F(HttpServerLoop, AnswersAnEventRouteOnTheLoopAndKeepsTheConnection) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  for (int id : {7, 123456789}) {
    ASSERT_TRUE(connection.send("GET /event/" + std::to_string(id) +
                                "?ignored=1 HTTP/1.1\r\nHost: x\r\nx-tag: t\r\n\r\n"));
    const std::string response = connection.read_responses(1);
    EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
    EXPECT_NE(response.find("\r\n\r\nevent " + std::to_string(id) + " t"), std::string::npos)
        << response;
  }
  // Not digits: no event route matches, and cpp-httplib answers 404.
  ASSERT_TRUE(connection.send("GET /event/x1 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(connection.read_responses(1).rfind("HTTP/1.1 404", 0), 0u);
}

TEST_F(HttpServerLoop, HoldsAnEventAnswerUntilAnotherThreadGivesIt) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(post("order", "", "/later")));
  ASSERT_TRUE(held_.wait_for(1));
  EXPECT_TRUE(connection.silent_for(std::chrono::milliseconds(50)));
  std::thread writer([this] { held_.release_all(); });  // as the log's writer would
  writer.join();
  const std::string response = connection.read_responses(1);
  EXPECT_EQ(response.rfind("HTTP/1.1 201 Created\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("\r\n\r\nlater order"), std::string::npos) << response;
}

TEST_F(HttpServerLoop, AnswersPipelinedEventAndWorkerRequestsInTheOrderSent) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  // A held event answer, a worker route, an answered event route, another held one: the
  // answers leave in this order whatever order they are ready in.
  ASSERT_TRUE(connection.send(post("a", "", "/later") + post("echo") +
                              "GET /event/5 HTTP/1.1\r\nHost: x\r\n\r\n" +
                              post("b", "", "/later")));
  ASSERT_TRUE(held_.wait_for(2));  // "b" was read after the worker answered "echo"
  EXPECT_TRUE(connection.silent_for(std::chrono::milliseconds(20)));  // "a" holds up the rest
  held_.release_all();
  const std::string responses = connection.read_responses(4);
  const std::size_t a = responses.find("later a");
  const std::size_t echo = responses.find("\r\n\r\necho");
  const std::size_t event = responses.find("event 5");
  const std::size_t b = responses.find("later b");
  ASSERT_NE(b, std::string::npos) << responses;
  EXPECT_LT(a, echo);
  EXPECT_LT(echo, event);
  EXPECT_LT(event, b);
}

TEST_F(HttpServerLoop, ReadsAnEventRequestSplitAcrossReads) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  const std::string request = post("split body", "", "/later");
  // Header, body and a cut in the middle of a header line arrive in separate packets.
  std::size_t sent = 0;
  for (const std::size_t cut :
       {std::size_t{9}, request.find("\r\n\r\n") + 2, request.size() - 4, request.size()}) {
    ASSERT_TRUE(connection.send(request.substr(sent, cut - sent)));
    sent = cut;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (cut < request.size()) {
      EXPECT_EQ(held_.count(), 0u);
    }
  }
  ASSERT_TRUE(held_.wait_for(1));
  held_.release_all();
  EXPECT_NE(connection.read_responses(1).find("later split body"), std::string::npos);
}

TEST_F(HttpServerLoop, AnswersABadRequestInAStreamWith400AfterTheEarlierOnesAndCloses) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(
      connection.send("GET /event/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                      "NOT A REQUEST LINE\r\nHost: x\r\n\r\n"
                      "GET /event/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string responses = connection.read_responses(3);
  EXPECT_EQ(responses.rfind("HTTP/1.1 200 OK", 0), 0u) << responses;
  EXPECT_NE(responses.find("event 1"), std::string::npos);
  EXPECT_NE(responses.find("HTTP/1.1 400"), std::string::npos) << responses;
  EXPECT_EQ(responses.find("event 2"), std::string::npos) << "a request after a bad one was served";
  EXPECT_EQ(count_of(responses, "HTTP/1.1 "), 2) << responses;
}

TEST_F(HttpServerLoop, DropsAPendingAnswerWhenTheClientLeavesAndServesOthers) {
  {
    RawConnection leaving(port_);
    ASSERT_TRUE(leaving.connected());
    ASSERT_TRUE(leaving.send(post("gone", "", "/later")));
    ASSERT_TRUE(held_.wait_for(1));
  }  // closed with its answer pending
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  held_.release_all();  // the answer has nowhere to go
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send("GET /event/3 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(connection.read_responses(1).find("event 3"), std::string::npos);
}

TEST_F(HttpServerLoop, AnswersAClientThatHalfClosedAfterItsRequest) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(post("half", "", "/later")));
  ::shutdown(connection.fd(), SHUT_WR);
  ASSERT_TRUE(held_.wait_for(1));
  held_.release_all();
  EXPECT_NE(connection.read_responses(1).find("later half"), std::string::npos);
  EXPECT_TRUE(connection.closed_by_server());
}

TEST_F(HttpServerLoop, AnEventRequestWhoseResponderIsDroppedGets500) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send("GET /lost HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(connection.read_responses(1).rfind("HTTP/1.1 500", 0), 0u);
}

TEST_F(HttpServerLoop, ServesEventRoutesAfterAnExpectContinue) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  // The loop sends "100 Continue", reads the body and answers on the event route.
  ASSERT_TRUE(connection.send(
      "POST /later HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  char buffer[256];
  const ssize_t n = ::recv(connection.fd(), buffer, sizeof buffer, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buffer, static_cast<std::size_t>(n)).rfind("HTTP/1.1 100 Continue", 0), 0u);
  ASSERT_TRUE(connection.send("slow"));
  ASSERT_TRUE(held_.wait_for(1));
  held_.release_all();
  const std::string response = connection.read_responses(1);
  EXPECT_EQ(response.rfind("HTTP/1.1 201", 0), 0u) << response;
  EXPECT_NE(response.find("later slow"), std::string::npos) << response;
  // And later requests on that connection too.
  ASSERT_TRUE(connection.send("GET /event/9 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(connection.read_responses(1).find("event 9"), std::string::npos);
}

TEST_F(HttpServerLoop, KeepsAnsweringAPipeliningClientThatReadsSlowly) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  // 100 small pipelined requests, all read at once, whose 256 KiB answers fill the socket and
  // the loop's 1 MiB of unsent answers long before the last: the loop must stop, wait for the
  // client to read, and then go on with the requests it had read ahead.
  constexpr int kRequests = 100;
  std::string all;
  for (int i = 0; i < kRequests; ++i) all += "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_TRUE(connection.send(all));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // not reading yet
  const std::string responses = connection.read_responses(kRequests);
  EXPECT_EQ(count_of(responses, "HTTP/1.1 200 OK"), kRequests);
  EXPECT_EQ(responses.size(), kRequests * (256 * 1024 + responses.find("\r\n\r\n") + 4));
}

TEST_F(HttpServerLoop, ManyConnectionsWithHeldAnswersAreAllAnswered) {
  std::vector<std::unique_ptr<RawConnection>> connections;
  for (int i = 0; i < 40; ++i) {
    connections.push_back(std::make_unique<RawConnection>(port_));
    ASSERT_TRUE(connections.back()->connected());
    ASSERT_TRUE(connections.back()->send(post("c" + std::to_string(i), "", "/later")));
  }
  ASSERT_TRUE(held_.wait_for(40));
  held_.release_all();
  for (int i = 0; i < 40; ++i) {
    EXPECT_NE(connections[static_cast<std::size_t>(i)]->read_responses(1).find("later c" +
                                                                               std::to_string(i)),
              std::string::npos);
  }
}

TEST_F(HttpServerLoop, ReadsAChunkedBodyBeforeAWorkerSeesTheRequest) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(connection.send("7;ext=1\r\n chunks\r\n0\r\n\r\n"));
  const std::string response = connection.read_responses(1);
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response;
  EXPECT_NE(response.find("\r\n\r\nhello chunks"), std::string::npos) << response;
}

TEST_F(HttpServerLoop, RejectsAChunkedBodyOverTheLimitWith413) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  std::string request = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) request += "200\r\n" + std::string(512, 'x') + "\r\n";
  ASSERT_TRUE(connection.send(request));
  EXPECT_EQ(connection.read_responses(1).rfind("HTTP/1.1 413", 0), 0u);
  EXPECT_TRUE(connection.closed_by_server());
}

TEST_F(HttpServerLoop, RefusesALengthTogetherWithChunkedTransferCoding) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  ASSERT_TRUE(connection.send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n"));
  EXPECT_EQ(connection.read_responses(1).rfind("HTTP/1.1 400", 0), 0u);
}

// A server with small limits and a header check that refuses requests without "X-Key: ok".
class HttpServerLimits : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpLimits limits;
    limits.max_body_bytes = 1024;
    limits.header_timeout_seconds = 0.5;
    limits.body_timeout_seconds = 0.5;
    limits.max_connections = 100;
    limits.max_connections_per_address = 3;
    server_.set_limits(limits);
    server_.set_header_check([](const EventRequest& req) -> std::optional<EventResponse> {
      if (req.header("X-Key") == "ok") return std::nullopt;
      return EventResponse{401, "text/plain", "no key", {}};
    });
    HttpRoutes routes(server_);
    routes.Post("/echo", [this](const httplib::Request& req, httplib::Response& res) {
      ++handled_;
      res.set_content(req.body, "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  HttpServer server_{2};
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> handled_{0};
};

TEST_F(HttpServerLimits, RefusesFromTheHeadersBeforeWaitingForTheBody) {
  RawConnection connection(port_);
  ASSERT_TRUE(connection.connected());
  // The body never comes: the refusal must not wait for it.
  ASSERT_TRUE(connection.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"));
  const std::string response = connection.read_responses(1);
  EXPECT_EQ(response.rfind("HTTP/1.1 401", 0), 0u) << response;
  EXPECT_TRUE(connection.closed_by_server());
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerLimits, AnswersALateHeaderBlockOrBodyWith408AndCloses) {
  RawConnection headers(port_);
  ASSERT_TRUE(headers.connected());
  ASSERT_TRUE(headers.send("POST /echo HTTP/1.1\r\nHost: x\r\n"));
  EXPECT_EQ(headers.read_responses(1).rfind("HTTP/1.1 408", 0), 0u);
  EXPECT_TRUE(headers.closed_by_server());

  RawConnection body(port_);
  ASSERT_TRUE(body.connected());
  ASSERT_TRUE(
      body.send("POST /echo HTTP/1.1\r\nHost: x\r\nX-Key: ok\r\nContent-Length: 10\r\n\r\n12"));
  EXPECT_EQ(body.read_responses(1).rfind("HTTP/1.1 408", 0), 0u);
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(HttpServerLimits, CapsTheConnectionsOfOneAddress) {
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<RawConnection>(port_));
    ASSERT_TRUE(held.back()->connected());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  RawConnection over(port_);  // the TCP handshake completes; the server closes at once
  ASSERT_TRUE(over.connected());
  EXPECT_TRUE(over.closed_by_server());
  held.pop_back();  // one leaves: room for another
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  RawConnection next(port_);
  ASSERT_TRUE(next.connected());
  ASSERT_TRUE(
      next.send("POST /echo HTTP/1.1\r\nHost: x\r\nX-Key: ok\r\nContent-Length: 2\r\n\r\nhi"));
  EXPECT_NE(next.read_responses(1).find("\r\n\r\nhi"), std::string::npos);
}

}  // namespace
}  // namespace critmin::test
