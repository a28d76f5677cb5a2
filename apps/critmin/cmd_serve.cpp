// critmin serve: the club market service over HTTP (docs/market-api.md) and the dashboard with its
// JSON API (docs/api.md) on the same server.
#include <fmt/format.h>
#include <httplib.h>
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "commands.h"
#include "critmin/service/dashboard.h"
#include "critmin/service/http_server.h"
#include "critmin/service/market_server.h"

namespace critmin::cli {

void register_serve_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Run the club market service (participants, certificates, call auctions, contracts and "
      "settlement over an HTTP JSON API under /market/v1, docs/market-api.md) and the dashboard "
      "at / with its JSON API under /api/v1 (assess, scenarios, simulation jobs, docs/api.md)");
  struct Flags {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string db = "critmin-market";
    std::string log_dir;
    std::string data;
    std::string init_operator;
    std::string country = "NLD";
    // Workers serve every request but orders and GET /me (those stay on the event loops); a
    // worker gets only complete requests and waits for the group commit of the command it runs.
    int threads = 32;
    int event_loops = 1;
    std::uint64_t snapshot_every = 1'000'000;
    std::string scenarios;
    bool repair = false;
    std::size_t max_connections = 4096;
    std::size_t max_connections_per_address = 1024;
    double header_timeout = 10.0;
    double body_timeout = 30.0;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--host", flags->host, "address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", flags->port, "TCP port; 0 picks a free one (default 8080)")
      ->check(CLI::Range(0, 65535));
  cmd->add_option("--db", flags->db,
                  "the market's store: a directory for the write-ahead log and the SQLite store "
                  "(default critmin-market; or file:DIR), or a postgresql:// URL for snapshots "
                  "and query tables (then give --log-dir)");
  cmd->add_option("--log-dir", flags->log_dir,
                  "with --db postgresql://...: the local directory of the write-ahead log");
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  cmd->add_option("--init-operator", flags->init_operator,
                  "create an operator participant with this name, print its API token once, and "
                  "exit (bootstraps a new market)");
  cmd->add_option("--country", flags->country,
                  "ISO3 country of the operator created by --init-operator (default NLD)");
  cmd->add_option("--threads", flags->threads,
                  "HTTP worker threads for the requests that are not served on the event loops "
                  "(every route but orders and GET /market/v1/me; default 32)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--event-loops", flags->event_loops,
                  "threads that own the HTTP connections and serve orders without a thread "
                  "waiting per request (default 1)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--snapshot-every", flags->snapshot_every,
                  "take a snapshot after this many events; 0: only on POST /market/v1/snapshot "
                  "(default 1000000)");
  cmd->add_flag("--repair", flags->repair,
                "repair a damaged log and exit: keep every event up to the damage, move the rest "
                "aside into DB/damaged-<event>/ (nothing is deleted), and print what could not be "
                "kept; its event numbers and ids are never used again");
  cmd->add_option("--max-connections", flags->max_connections,
                  "open connections at most, in total (default 4096)")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--max-connections-per-address", flags->max_connections_per_address,
                  "open connections at most from one client address (default 1024)")
      ->check(CLI::Range(1, 1'000'000));
  cmd->add_option("--header-timeout", flags->header_timeout,
                  "seconds a request's header block may take to arrive (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--body-timeout", flags->body_timeout,
                  "seconds a request's body may take to arrive after its headers (default 30)")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--scenarios", flags->scenarios,
                  "directory of the example scenarios the dashboard offers (default: scenarios/ "
                  "beside the dataset)");
  cmd->callback([&common, flags] {
    // SIGINT and SIGTERM stop the server cleanly: a watcher thread waits for them and every
    // other thread (the log writer included, hence before the market opens) blocks them, so
    // nothing runs in a signal handler.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    Result<MarketStorage> storage = market_storage_from_flags(flags->db, flags->log_dir);
    if (!storage.is_ok()) {
      common.exit_code = report_error(storage.status());
      return;
    }
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    MarketServerOptions options;
    options.directory = storage.value().directory;
    options.postgres_url = storage.value().postgres_url;
    options.snapshot_every_events = flags->snapshot_every;
    options.repair = flags->repair;
    Result<std::unique_ptr<MarketServer>> market = MarketServer::open(options, data.value());
    if (!market.is_ok()) {
      common.exit_code = report_error(market.status());
      return;
    }
    std::cerr << "critmin serve: " << market.value()->recovery_summary() << "\n";
    if (flags->repair) {
      const std::vector<std::string> repaired = market.value()->repair_report();
      if (repaired.empty())
        std::cout << "critmin serve --repair: the log is whole; nothing to do\n";
      for (const std::string& line : repaired)
        std::cout << "critmin serve --repair: " << line << "\n";
      return;
    }
    if (!flags->init_operator.empty()) {
      Result<std::string> token =
          market.value()->create_operator(flags->init_operator, flags->country);
      if (!token.is_ok()) {
        common.exit_code = report_error(token.status());
        return;
      }
      std::cerr << "critmin serve: created operator '" << flags->init_operator
                << "'; its API token follows (shown once, keep it secret):\n";
      std::cout << token.value() << std::endl;
      return;
    }

    HttpServer server(static_cast<std::size_t>(flags->threads),
                      static_cast<std::size_t>(flags->event_loops));
    HttpLimits limits;
    limits.keep_alive_timeout_seconds = 30;
    limits.max_connections = flags->max_connections;
    limits.max_connections_per_address = flags->max_connections_per_address;
    limits.header_timeout_seconds = flags->header_timeout;
    limits.body_timeout_seconds = flags->body_timeout;
    server.set_limits(limits);
    market.value()->register_routes(server);
    DashboardOptions dashboard_options;
    dashboard_options.scenarios_dir =
        flags->scenarios.empty() ? (data.value().directory / ".." / "scenarios").lexically_normal()
                                 : std::filesystem::path(flags->scenarios);
    DashboardServer dashboard(data.value(), dashboard_options);
    dashboard.register_routes(server);
    int port = flags->port;
    if (port == 0) {
      port = server.bind_to_any_port(flags->host);
      if (port < 0) port = 0;
    } else if (!server.bind_to_port(flags->host, port)) {
      port = 0;
    }
    if (port == 0 || !server.widen_backlog()) {
      common.exit_code = report_error(Status::io_error(fmt::format(
          "cannot listen on {}:{}; choose another --port or --host", flags->host, flags->port)));
      return;
    }
    std::thread watcher([&server, stop_signals] {
      int received = 0;
      sigwait(&stop_signals, &received);
      server.stop();
    });
    // Scripts and tests read the port from this line.
    std::cout << "critmin serve: listening on http://" << flags->host << ":" << port << std::endl;
    const bool ok = server.listen_after_bind();
    // Wake the watcher when the server stopped for another reason.
    pthread_kill(watcher.native_handle(), SIGTERM);
    watcher.join();
    if (!ok) {
      common.exit_code = report_error(Status::io_error("the HTTP server stopped on an error"));
    }
  });
}

}  // namespace critmin::cli
