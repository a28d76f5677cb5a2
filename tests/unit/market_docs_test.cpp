// Every example request of docs/market-api.md, sent to a live server in the order the document
// gives them: each must get the documented status, and an answer with every field the document
// shows (the ids differ: the document's are examples). So the document and the server cannot
// drift apart unnoticed.
#include <httplib.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

#include "critmin/service/http_server.h"
#include "critmin/service/market_server.h"
#include "market_test_support.h"

namespace critmin::test {
namespace {

using json = nlohmann::json;

// One example request of a "### METHOD /path" section, with its documented answers. A json
// block is an answer when the prose line before it holds "→"; otherwise it is a request (a
// section may give several, e.g. both kinds of contract). "→ `201 {...}`" gives the status and
// an answer of the request before it. A section without a request block sends `{}`.
struct Example {
  std::string method;
  std::string path;  // with {id}
  std::string body;
  int status = 0;             // 0 when the document gives none
  std::vector<json> answers;  // documented answer objects
};

std::vector<Example> read_examples(const std::string& markdown) {
  std::vector<Example> examples;
  std::istringstream in(markdown);
  std::string line;
  const std::regex heading(R"(^### (GET|POST) (/\S+))");
  const std::regex arrow(R"(→ `(\d{3})( (\{.*\}))?`)");
  bool in_section = false;
  bool in_block = false;
  bool json_block = false;
  std::string block;
  std::string last_prose;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!in_block && std::regex_search(line, m, heading)) {
      examples.push_back({m[1], m[2], "", 0, {}});
      in_section = true;
      last_prose.clear();
      continue;
    }
    if (!in_block && line.rfind("## ", 0) == 0) in_section = false;
    if (!in_section) continue;
    if (line.rfind("```", 0) == 0) {
      if (!in_block) {
        in_block = true;
        json_block = line == "```json";
        block.clear();
        continue;
      }
      in_block = false;
      if (!json_block) continue;
      Example& current = examples.back();
      if (last_prose.find("→") != std::string::npos) {
        json answer = json::parse(block, nullptr, false);
        if (answer.is_object()) current.answers.push_back(answer);
      } else if (current.body.empty()) {
        current.body = block;
      } else {
        examples.push_back({current.method, current.path, block, 0, {}});
      }
      last_prose.clear();
      continue;
    }
    if (in_block) {
      block += line + "\n";
      continue;
    }
    if (!line.empty()) last_prose = line;
    if (std::regex_search(line, m, arrow)) {
      Example& current = examples.back();
      current.status = std::stoi(m[1]);
      if (m[3].matched) {
        json answer = json::parse(m[3].str(), nullptr, false);
        if (answer.is_object()) current.answers.push_back(answer);
      }
    }
  }
  for (Example& example : examples) {
    if (example.method == "POST" && example.body.empty()) example.body = "{}";
  }
  return examples;
}

// Every key of `documented` is in `actual`; for arrays of objects, every key of the documented
// element of the same "kind" (or the first) is in some element of the actual array.
void expect_fields(const json& documented, const json& actual, const std::string& where) {
  for (const auto& [key, value] : documented.items()) {
    if (!actual.contains(key)) {
      ADD_FAILURE() << where << ": the answer has no '" << key << "'; it was " << actual.dump();
      continue;
    }
    if (value.is_array() && actual[key].is_array()) {
      for (const json& element : value) {
        if (!element.is_object()) continue;
        bool found = false;
        for (const json& candidate : actual[key]) {
          if (candidate.is_object() && candidate.value("kind", "") == element.value("kind", "")) {
            expect_fields(element, candidate, where + "." + key);
            found = true;
            break;
          }
        }
        if (!found) ADD_FAILURE() << where << "." << key << ": no element like " << element.dump();
      }
    }
  }
}

class MarketDocs : public ::testing::Test {
 protected:
  void SetUp() override {
    MarketServerOptions options;
    options.directory = dir_.path() / "market";
    options.snapshot_every_events = 0;
    Result<std::unique_ptr<MarketServer>> opened = MarketServer::open(options, *market_dataset());
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    market_ = std::move(opened).value();
    operator_ = market_->create_operator("Club operator", "NLD").value();
    market_->register_routes(server_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", port_);
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::pair<int, json> send(const std::string& method, const std::string& token,
                            const std::string& path, const std::string& body) {
    httplib::Headers headers{{"Authorization", "Bearer " + token}};
    httplib::Result res = method == "GET" ? client_->Get(path, headers)
                                          : client_->Post(path, headers, body, "application/json");
    if (!res) return {0, json()};
    return {res->status, json::parse(res->body, nullptr, false)};
  }
  std::string register_participant(const std::string& name, const std::string& iso3,
                                   const std::string& role) {
    auto [status, body] = send("POST", operator_, "/market/v1/participants",
                               json{{"name", name}, {"country", iso3}, {"roles", {role}}}.dump());
    EXPECT_EQ(status, 201) << body.dump();
    return body.value("token", "");
  }

  TempDir dir_{"critmin_market_docs_"};
  std::unique_ptr<MarketServer> market_;
  HttpServer server_{4};
  std::thread thread_;
  int port_ = 0;
  std::unique_ptr<httplib::Client> client_;
  std::string operator_;
};

TEST_F(MarketDocs, EveryExampleRequestGetsTheDocumentedAnswer) {
  const std::string markdown =
      read_file(std::filesystem::path(CRITMIN_TEST_DATA) / ".." / "docs" / "market-api.md");
  const std::vector<Example> examples = read_examples(markdown);
  ASSERT_GE(examples.size(), 7u) << "the document's examples were not found";

  // The document's cast: participant 2 is the buyer it registers itself (POST /participants),
  // 3 a seller and 4 a certifier, registered here in that order after it.
  std::string buyer, seller, certifier;
  std::uint64_t lot = 0;
  std::vector<std::uint64_t> contracts;
  int sent = 0;
  for (const Example& example : examples) {
    if (example.method != "POST") continue;
    std::string path = "/market/v1" + example.path;
    std::string body = example.body;
    std::string token = operator_;
    if (example.path.find("/lots/{id}") == 0) {
      path = std::regex_replace(path, std::regex(R"(\{id\})"), std::to_string(lot));
    }
    if (example.path.find("/contracts/{id}") == 0) {
      ASSERT_FALSE(contracts.empty());
      path = std::regex_replace(path, std::regex(R"(\{id\})"), std::to_string(contracts.front()));
    }
    if (example.path == "/certificates") token = certifier;
    if (example.path == "/lots/{id}/orders") {
      token = buyer;
      // A matching ask so that the documented clearing clears.
      ASSERT_EQ(
          send("POST", seller, path, R"({"side":"sell","price_usd_per_t":520000,"quantity_t":14})")
              .first,
          201);
    }
    if (example.path == "/settlements") {
      // The document's contract 9 is the first contract registered.
      body = std::regex_replace(body, std::regex(R"("contract_id": \d+)"),
                                "\"contract_id\": " + std::to_string(contracts.front()));
    }
    auto [status, answer] = send("POST", token, path, body);
    const std::string where = "POST " + example.path;
    if (example.status != 0) {
      EXPECT_EQ(status, example.status) << where << ": " << answer.dump();
    } else {
      EXPECT_GE(status, 200) << where << ": " << answer.dump();
      EXPECT_LT(status, 300) << where << ": " << answer.dump();
    }
    for (const json& documented : example.answers) expect_fields(documented, answer, where);
    ++sent;
    if (example.path == "/participants") {
      buyer = answer.value("token", "");
      seller = register_participant("Outback Mining", "AUS", "seller");
      certifier = register_participant("Audit Bureau", "FRA", "certifier");
    }
    if (example.path == "/lots") lot = answer.value("id", 0ull);
    if (example.path == "/contracts") contracts.push_back(answer.value("id", 0ull));
  }
  EXPECT_GE(sent, 7);
}

}  // namespace
}  // namespace critmin::test
