// Crash test: the built `critmin serve` is killed with SIGKILL in the middle of a stream of
// orders from several clients, restarted on the same directory, and must hold every order it
// acknowledged exactly once.
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "test_support.h"

namespace critmin::test {
namespace {

using json = nlohmann::json;

// A `critmin serve --port 0` child process; the constructor waits for its "listening" line.
class ServerProcess {
 public:
  explicit ServerProcess(const std::filesystem::path& db) {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      const std::string db_flag = db.string();
      execl(CRITMIN_TEST_BINARY, CRITMIN_TEST_BINARY, "serve", "--port", "0", "--db",
            db_flag.c_str(), "--threads", "16", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    std::string line;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd fd{out[0], POLLIN, 0};
      if (poll(&fd, 1, 100) <= 0) continue;
      char c;
      if (read(out[0], &c, 1) != 1) break;
      if (c != '\n') {
        line += c;
        continue;
      }
      const std::string marker = "listening on http://127.0.0.1:";
      const auto at = line.find(marker);
      if (at != std::string::npos) {
        port_ = std::stoi(line.substr(at + marker.size()));
        break;
      }
      line.clear();
    }
    close(out[0]);
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void kill_hard() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  int port() const { return port_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

httplib::Headers auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

TEST(MarketCrash, EveryAcknowledgedOrderSurvivesSigkillExactlyOnce) {
  TempDir dir("critmin_market_crash_");
  const std::filesystem::path db = dir.path() / "market";
  const CliRun init = run_cli(
      dir.path(), "serve --db " + quote(db.string()) + " --init-operator Operator --country NLD");
  ASSERT_EQ(init.exit_code, 0) << init.err;
  const std::string operator_token = init.out.substr(0, init.out.find('\n'));
  ASSERT_EQ(operator_token.rfind("cm_", 0), 0u) << init.out;

  std::string buyer_token;
  std::uint64_t lot = 0;
  std::map<std::string, std::uint64_t> acknowledged;  // client_ref -> order id
  {
    ServerProcess server(db);
    ASSERT_GT(server.port(), 0);
    httplib::Client client("127.0.0.1", server.port());
    auto buyer =
        client.Post("/market/v1/participants", auth(operator_token),
                    R"({"name":"Buyer","country":"DEU","roles":["buyer"]})", "application/json");
    ASSERT_TRUE(buyer && buyer->status == 201);
    buyer_token = json::parse(buyer->body)["token"];
    auto opened =
        client.Post("/market/v1/lots", auth(operator_token),
                    R"({"material":"gallium","stage":"processing","delivery_date":"2027-03-31"})",
                    "application/json");
    ASSERT_TRUE(opened && opened->status == 201);
    lot = json::parse(opened->body)["id"];

    std::mutex mutex;
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int t = 0; t < 8; ++t) {
      clients.emplace_back([&, t] {
        httplib::Client c("127.0.0.1", server.port());
        c.set_keep_alive(true);
        c.set_tcp_nodelay(true);
        const std::string path = "/market/v1/lots/" + std::to_string(lot) + "/orders";
        for (int i = 0; !stop; ++i) {
          const std::string ref = "t" + std::to_string(t) + "-" + std::to_string(i);
          const json body = {{"side", "buy"},
                             {"price_usd_per_t", 500000 + i},
                             {"quantity_t", 1 + t},
                             {"client_ref", ref}};
          auto res = c.Post(path, auth(buyer_token), body.dump(), "application/json");
          if (!res) return;  // the server died: this order may or may not have been stored
          if (res->status != 201) {
            ADD_FAILURE() << res->status << " " << res->body;
            return;
          }
          std::lock_guard<std::mutex> lock(mutex);
          acknowledged[ref] = json::parse(res->body)["id"];
        }
      });
    }
    // Kill once a few hundred orders are acknowledged (or after 10 s on a very slow machine), so
    // that the kill lands mid-stream whatever the machine's speed.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (acknowledged.size() >= 300) break;
      }
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    server.kill_hard();  // mid-stream: clients have requests in flight
    stop = true;
    for (std::thread& c : clients) c.join();
  }
  ASSERT_GT(acknowledged.size(), 50u) << "too few orders before the kill to test anything";

  ServerProcess restarted(db);
  ASSERT_GT(restarted.port(), 0);
  httplib::Client client("127.0.0.1", restarted.port());
  auto book =
      client.Get("/market/v1/lots/" + std::to_string(lot) + "/orders", auth(operator_token));
  ASSERT_TRUE(book && book->status == 200);
  const json orders = json::parse(book->body)["orders"];
  std::map<std::uint64_t, std::string> stored;  // order id -> client_ref
  std::set<std::string> refs;
  for (const json& o : orders) {
    const std::string ref = o["client_ref"];
    EXPECT_TRUE(stored.emplace(o["id"].get<std::uint64_t>(), ref).second) << "duplicate id";
    EXPECT_TRUE(refs.insert(ref).second) << "order " << ref << " stored twice";
  }
  for (const auto& [ref, id] : acknowledged) {
    auto it = stored.find(id);
    ASSERT_NE(it, stored.end()) << "acknowledged order " << ref << " (id " << id << ") was lost";
    EXPECT_EQ(it->second, ref);
  }
  // At most the requests in flight at the kill were stored without an acknowledgement.
  EXPECT_LE(stored.size(), acknowledged.size() + 8);
  // The restarted market goes on taking orders.
  auto more =
      client.Post("/market/v1/lots/" + std::to_string(lot) + "/orders", auth(buyer_token),
                  R"({"side":"buy","price_usd_per_t":500000,"quantity_t":1})", "application/json");
  ASSERT_TRUE(more);
  EXPECT_EQ(more->status, 201);
}

}  // namespace
}  // namespace critmin::test
