// A lean HTTP/1.1 load generator for the market benchmark, in the manner of wrk: a few threads,
// each driving many keep-alive connections over raw sockets with epoll, one request in flight per
// connection. It writes each request with one send() and reads responses with recv(); the only
// parsing is the status line and Content-Length. On a 2-core machine the load generator shares
// the CPU with the server, so a client that costs little per request (no per-request objects,
// no header maps, no compression negotiation) measures the server rather than itself.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace critmin::bench {

struct HttpLoadOptions {
  int port = 0;               // on 127.0.0.1
  int connections = 256;      // keep-alive connections, each with one request in flight
  int threads = 1;            // client threads; connections are spread over them
  double seconds = 3.0;       // requests are started until then; in-flight ones are awaited
  int expected_status = 200;  // any other status fails the run
};

struct HttpLoadResult {
  std::uint64_t responses = 0;  // with the expected status
  double seconds = 0.0;         // from the first request to the last response
  double requests_per_second = 0.0;
  double client_cpu_seconds = 0.0;  // CPU time of the client threads (user + system)
  std::string failure;              // empty on success; else what went wrong (first failure only)
};

// `write_request(out, connection, i)` appends the i-th complete request (request line, headers,
// body) of `connection` to `out`. With several client threads it runs on all of them at once, so
// it must not share scratch space between calls (thread_local is fine).
using RequestWriter = std::function<void(std::string& out, int connection, std::uint64_t i)>;

HttpLoadResult run_http_load(const HttpLoadOptions& options, const RequestWriter& write_request);

}  // namespace critmin::bench
