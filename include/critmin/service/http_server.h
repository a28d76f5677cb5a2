// The HTTP server `critmin serve` runs: event loops that own the keep-alive connections and
// frame every request (header block, Content-Length or chunked body), with a worker pool behind
// them for every route that is not an event route. cpp-httplib is used only for its public
// request and response types there (src/service/http_routes.h); this header includes no
// third-party header.
//
// Why event loops: a durable order waits a few milliseconds for its group commit. With a thread
// per connection, each order's thread slept twice (on recv and on the commit) and was woken
// twice, and on a small machine the scheduler and futex work cost about as much as everything
// else an order needs. Here a few loop threads read requests from many connections with epoll;
// an event route (event_route) answers through an EventResponder that may be called later from
// any thread (the log's writer, after its fdatasync), and the loop sends the answer. No thread
// waits per request.
//
// Every other request is framed by the loop, body included, and handed whole to a worker thread,
// which routes it (regular expressions, as cpp-httplib does), runs its handler and the error and
// exception handlers, and gives the answer back to the loop. So a worker never waits for a
// client: a slow or stalled upload costs a buffer on the loop, bounded by HttpLimits.
//
// Order: a connection's requests take effect in the order sent and are answered in that order
// (pipelining). Event-route handlers run as their requests are read; while a request is with a
// worker, the connection's later requests wait for it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace critmin {

// A request on an event route. The views point into the connection's buffer: valid only while
// the handler runs; copy what must outlive the call.
struct EventRequest {
  std::string_view method;
  std::string_view path;  // without the query
  std::string_view body;
  // The {id} segments of the route's pattern, in order (each 1 to 18 digits).
  std::array<std::uint64_t, 4> ids{};
  std::size_t id_count = 0;
  std::span<const std::pair<std::string_view, std::string_view>> headers;

  // The first header of that name (case-insensitive), or "" when there is none.
  std::string_view header(std::string_view name) const;
};

struct EventResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides the ones above
};

// The answer to one event-route request. A cheap handle: copies share one answer, which is sent
// once (the first respond() wins, later calls do nothing). It may be called from any thread, and
// long after the handler returned. If every copy is destroyed unanswered, the request is
// answered 500, so a connection never waits forever for a lost answer.
class EventResponder {
 public:
  struct State;  // the answer's destination (an event loop, or a waiting blocking handler)
  explicit EventResponder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  void respond(EventResponse response) const;

 private:
  std::shared_ptr<State> state_;
};

// Runs on an event loop thread with other connections waiting, so it must not block: check,
// queue the work, and answer through the responder (at once or later, from any thread).
using EventHandler = std::function<void(const EventRequest&, EventResponder)>;

// Limits that keep a client from tying up the server (docs/market-service.md, "Limits"). Every
// request's header block and body are read by the event loops, so a worker only ever holds a
// complete request; these bound what a slow or hostile client costs the loops.
struct HttpLimits {
  std::size_t max_body_bytes = 64 * 1024;          // a larger body (declared or chunked) gets 413
  std::size_t max_connections = 4096;              // in total; beyond it a new connection is closed
  std::size_t max_connections_per_address = 1024;  // per client IP address
  // From a request's first byte to the end of its header block; then to the end of its body.
  // A request that takes longer gets 408 and the connection closes.
  double header_timeout_seconds = 10.0;
  double body_timeout_seconds = 30.0;
  int keep_alive_timeout_seconds = 5;  // an idle keep-alive connection is closed after this
};

// Called on an event loop once a request's header block is read and its body is still to come
// (`request.body` is empty): an answer to give instead of reading the body (the connection then
// closes), or nullopt to read it. It must not block. The market uses it to refuse a request
// without a valid token before its body.
using HeaderCheck = std::function<std::optional<EventResponse>(const EventRequest&)>;

// The server. Its implementation (the accept loop, the event loops, the worker pool and the
// routes of the worker requests) is private; src/service/http_routes.h adds worker routes.
class HttpServer {
 public:
  // `worker_threads` serve the requests of every route that is not an event route;
  // `event_loops` threads (at least one) own the connections, spread round robin.
  explicit HttpServer(std::size_t worker_threads, std::size_t event_loops = 1);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a route served on the event loops: `method` GET or POST, `pattern` a path whose
  // segments are literal or "{id}" (1 to 18 digits; at most 4), e.g.
  // "/market/v1/lots/{id}/orders". Event routes are tried before the worker routes: register
  // them first, before listening. The query string is not matched.
  void event_route(const std::string& method, const std::string& pattern, EventHandler handler);

  // Before listening.
  void set_header_check(HeaderCheck check);
  void set_limits(const HttpLimits& limits);
  const HttpLimits& limits() const;
  void set_payload_max_length(std::size_t bytes);
  void set_keep_alive_timeout(int seconds);

  // Binds a listening socket (backlog SOMAXCONN). bind_to_any_port returns the port chosen, or
  // -1; bind_to_port returns false when the address is taken or invalid.
  int bind_to_any_port(const std::string& host);
  bool bind_to_port(const std::string& host, int port);
  // Kept for callers written for the earlier server; the backlog is already SOMAXCONN. True when
  // a socket is bound.
  bool widen_backlog();
  // Accepts connections until stop(); joins every thread it started before returning. False
  // when no socket is bound or accepting failed.
  bool listen_after_bind();
  bool is_running() const;
  // Any thread: ends listen_after_bind (connections are closed, pending answers dropped).
  void stop();

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace critmin
