// critmin::HttpServer's own connection loop (buffered reads, one send per response) under
// cpp-httplib's request handling: keep-alive, pipelining, requests split across packets,
// interim 100 Continue, the body limit and a prompt stop with idle connections open.
#include "critmin/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

namespace critmin::test {
namespace {

class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  // Reads until `count` whole responses (each with Content-Length) arrived; returns them
  // concatenated, or what arrived before a timeout or close.
  std::string read_responses(int count) {
    std::string in;
    int complete = 0;
    std::size_t parsed = 0;
    char buffer[4096];
    while (complete < count) {
      const std::size_t header_end = in.find("\r\n\r\n", parsed);
      if (header_end != std::string::npos) {
        const std::size_t length_at = in.find("Content-Length: ", parsed);
        if (length_at != std::string::npos && length_at < header_end) {
          const std::size_t length = std::stoul(in.substr(length_at + 16));
          if (in.size() >= header_end + 4 + length) {
            parsed = header_end + 4 + length;
            ++complete;
            continue;
          }
        }
      }
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      in.append(buffer, static_cast<std::size_t>(n));
    }
    return in;
  }

  // True when the server closed the connection (recv returns 0) within the timeout.
  bool closed_by_server() {
    char byte = 0;
    return ::recv(fd_, &byte, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

int count_of(const std::string& text, const std::string& what) {
  int count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

class HttpServerLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.Get("/hello", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content("hello " + req.remote_addr, "text/plain");
    });
    server_.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
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
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  static std::string post(const std::string& body, const std::string& extra_headers = "") {
    return "POST /echo HTTP/1.1\r\nHost: x\r\n" + extra_headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }

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

}  // namespace
}  // namespace critmin::test
