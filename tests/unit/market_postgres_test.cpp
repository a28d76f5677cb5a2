// The PostgreSQL snapshot store against a PostgreSQL server the test starts itself (initdb and
// pg_ctl in a temporary directory, as the `postgres` user when the tests run as root).
#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <random>

#include "market_test_support.h"

namespace critmin::test {
namespace {

// The newest /usr/lib/postgresql/<version>/bin, or empty.
std::filesystem::path postgres_bin() {
  std::vector<std::filesystem::path> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", error)) {
    if (std::filesystem::exists(entry.path() / "bin" / "initdb"))
      found.push_back(entry.path() / "bin");
  }
  std::sort(found.begin(), found.end());
  return found.empty() ? std::filesystem::path() : found.back();
}

class PostgresServer {
 public:
  PostgresServer() {
    bin_ = postgres_bin();
    if (bin_.empty()) {
      problem_ = "PostgreSQL is not installed (Debian: apt-get install postgresql)";
      return;
    }
    if (geteuid() == 0) {
      // initdb refuses to run as root: the cluster belongs to the postgres user.
      const passwd* user = getpwnam("postgres");
      if (!user || chown(dir_.path().c_str(), user->pw_uid, user->pw_gid) != 0) {
        problem_ = "running as root and there is no postgres user to own the cluster";
        return;
      }
      as_user_ = "runuser -u postgres -- ";
    }
    std::random_device random;
    port_ = 20000 + static_cast<int>(random() % 20000);
    const std::string data = (dir_.path() / "data").string();
    const std::string init = as_user_ + quote((bin_ / "initdb").string()) + " -D " + quote(data) +
                             " -A trust -U critmin --no-sync -E UTF8 >" +
                             quote((dir_.path() / "initdb.log").string()) + " 2>&1";
    if (std::system(init.c_str()) != 0) {
      problem_ = "initdb failed: " + read_file(dir_.path() / "initdb.log");
      return;
    }
    const std::string options = "-k " + dir_.path().string() +
                                " -c listen_addresses= -c fsync=off -p " + std::to_string(port_);
    const std::string start = as_user_ + quote((bin_ / "pg_ctl").string()) + " -D " + quote(data) +
                              " -o " + quote(options) + " -w -l " +
                              quote((dir_.path() / "server.log").string()) + " start >/dev/null";
    if (std::system(start.c_str()) != 0) {
      problem_ = "pg_ctl start failed: " + read_file(dir_.path() / "server.log");
      return;
    }
    running_ = true;
    url_ = "postgresql:///postgres?host=" + dir_.path().string() +
           "&port=" + std::to_string(port_) + "&user=critmin";
  }
  ~PostgresServer() {
    if (!running_) return;
    const std::string stop = as_user_ + quote((bin_ / "pg_ctl").string()) + " -D " +
                             quote((dir_.path() / "data").string()) +
                             " -m immediate stop >/dev/null 2>&1";
    (void)std::system(stop.c_str());
  }
  const std::string& problem() const { return problem_; }
  const std::string& url() const { return url_; }

 private:
  TempDir dir_{"critmin_pg_"};
  std::filesystem::path bin_;
  std::string as_user_;
  int port_ = 0;
  bool running_ = false;
  std::string problem_;
  std::string url_;
};

std::int64_t pg_number(const std::string& url, const char* sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  std::int64_t value = -1;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult* result = PQexec(conn, sql);
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1) {
      value = std::stoll(PQgetvalue(result, 0, 0));
    }
    PQclear(result);
  }
  PQfinish(conn);
  return value;
}

TEST(MarketPostgres, SnapshotsAndQueryTablesGoToPostgresAndRecoveryReadsThemBack) {
  PostgresServer server;
  ASSERT_TRUE(server.problem().empty()) << server.problem();
  TempDir log("critmin_pg_log_");
  service::ServiceConfig config;
  config.directory = log.path();
  config.postgres_url = server.url();
  config.snapshot_every_events = 0;
  std::string before;
  std::vector<service::AuditRecord> audit_before;
  {
    Result<std::unique_ptr<service::MarketService>> opened =
        service::MarketService::open(config, market_dataset());
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    service::MarketService& market = *opened.value();
    const Cast cast = register_cast(market);
    const std::uint64_t lot = market.open_lot(cast.op.id, gallium_lot()).value();
    ASSERT_TRUE(
        market.submit_order(cast.buyer.id, order(lot, auction::Side::kBuy, 6e5, 10)).is_ok());
    service::NewOrder ask = order(lot, auction::Side::kSell, 5e5, 4);
    ask.client_ref = "back\\slash";  // COPY's text format escapes backslashes
    ASSERT_TRUE(market.submit_order(cast.seller.id, ask).is_ok());
    ASSERT_TRUE(market.snapshot().is_ok());
    ASSERT_TRUE(market.clear_lot(cast.op.id, lot).is_ok());  // after the snapshot: from the log
    before = state_bytes(market);
    audit_before = market.read_audit(0, 1000).value();
    EXPECT_EQ(market.audit_entries_in_memory(), 1u);  // the rest went to PostgreSQL
  }
  // The audit log up to the snapshot, paged out into PostgreSQL with the snapshot.
  EXPECT_EQ(pg_number(server.url(), "SELECT COUNT(*) FROM audit"), 9);
  EXPECT_EQ(pg_number(server.url(), "SELECT COUNT(*) FROM participants"), 6);
  EXPECT_EQ(pg_number(server.url(), "SELECT COUNT(*) FROM book_orders"), 2);
  EXPECT_EQ(
      pg_number(server.url(), "SELECT COUNT(*) FROM book_orders WHERE client_ref = 'back\\slash'"),
      1);
  EXPECT_EQ(pg_number(server.url(), "SELECT seq FROM snapshot"), 9);
  Result<std::unique_ptr<service::MarketService>> reopened =
      service::MarketService::open(config, market_dataset());
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  EXPECT_TRUE(reopened.value()->recovery().from_snapshot);
  EXPECT_EQ(reopened.value()->recovery().snapshot_seq, 9u);
  EXPECT_EQ(reopened.value()->recovery().replayed_events, 1u);
  EXPECT_EQ(state_bytes(*reopened.value()), before);
  Result<std::vector<service::AuditRecord>> audit = reopened.value()->read_audit(0, 1000);
  ASSERT_TRUE(audit.is_ok()) << audit.status().to_string();
  ASSERT_EQ(audit.value().size(), 10u);
  for (std::size_t i = 0; i < audit_before.size() && i < audit.value().size(); ++i) {
    EXPECT_EQ(audit.value()[i].seq, audit_before[i].seq);
    EXPECT_EQ(audit.value()[i].event, audit_before[i].event);  // bytes intact through BYTEA
  }
}

TEST(MarketPostgres, AnUnreachableDatabaseIsAnIoErrorWithTheReason) {
  TempDir log("critmin_pg_log_");
  service::ServiceConfig config;
  config.directory = log.path();
  config.postgres_url = "postgresql:///nope?host=" + log.path().string() + "&port=1";
  Result<std::unique_ptr<service::MarketService>> opened =
      service::MarketService::open(config, market_dataset());
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kIoError);
  EXPECT_NE(opened.status().message().find("cannot connect to PostgreSQL"), std::string::npos);
}

}  // namespace
}  // namespace critmin::test
