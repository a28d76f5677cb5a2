// The HTTP server `critmin serve` runs: event loops that own the keep-alive connections, with
// cpp-httplib's server (its routing, request parsing and response writing) behind them for every
// route that is not an event route. Include only in front ends (it pulls in httplib.h).
//
// Why event loops: a durable order waits a few milliseconds for its group commit. With a thread
// per connection, each order's thread slept twice (on recv and on the commit) and was woken
// twice, and on a small machine the scheduler and futex work cost about as much as everything
// else an order needs. Here a few loop threads read requests from many connections with epoll;
// an event route (event_route) answers through an EventResponder that may be called later from
// any thread (the log's writer, after its fdatasync), and the loop sends the answer. No thread
// waits per request.
//
// Every other request is framed by the loop, handed whole to a worker thread and answered there
// by httplib::Server::process_request, so routes, limits, error and exception handlers behave as
// with cpp-httplib's own loop. A connection whose next request the loop does not frame itself
// (a chunked body, "Expect: 100-continue", a body over the payload limit, headers over 16 KiB)
// moves to a worker for the rest of its life, served by a blocking loop; event routes answer
// there too, through a handler that waits for the responder.
//
// Order: a connection's requests take effect in the order sent and are answered in that order
// (pipelining). Event-route handlers run as their requests are read; while a request is with a
// worker, the connection's later requests wait for it.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
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

class HttpServer : public httplib::Server {
 public:
  // `worker_threads` serve the requests the loops hand off (every route that is not an event
  // route) and the connections that moved to a blocking loop; `event_loops` threads own the
  // connections (spread round robin). With 0 event loops, or when epoll is unavailable, every
  // connection runs the blocking loop and holds a worker while it lives.
  explicit HttpServer(std::size_t worker_threads, std::size_t event_loops = 1);
  ~HttpServer() override;

  // Adds a route served on the event loops: `method` GET or POST, `pattern` a path whose
  // segments are literal or "{id}" (1 to 18 digits; at most 4), e.g.
  // "/market/v1/lots/{id}/orders". Event routes are tried before the server's other routes on
  // both paths: register them first, before listening. The query string is not matched.
  void event_route(const std::string& method, const std::string& pattern, EventHandler handler);

  // The Debian build of cpp-httplib listens with a backlog of 5: a burst of clients connecting at
  // once overflows the accept queue, and the kernel then drops their handshakes, which stalls
  // them for seconds. Linux lets listen() be called again to enlarge the queue; call this after
  // bind_to_port / bind_to_any_port. False when the socket refused.
  bool widen_backlog(int backlog = SOMAXCONN) { return ::listen(svr_sock_, backlog) == 0; }

 private:
  class Dispatcher;
  class EventLoop;
  struct EventRoute;

  // Called by cpp-httplib's accept loop for every connection: hands it to an event loop.
  bool process_and_close_socket(socket_t sock) override;
  // The blocking loop: serves `sock` until the client closes it, it stays idle longer than the
  // keep-alive timeout, it has served the keep-alive maximum, or the server stops. `prefix`
  // holds bytes already read from the socket.
  void serve_blocking(socket_t sock, std::string prefix);
  // One request read from `stream` by cpp-httplib (routing, limits, handlers).
  bool serve_request(httplib::Stream& stream, bool close_connection, bool& connection_closed);
  const EventRoute* match_event_route(std::string_view method, std::string_view path,
                                      EventRequest& request) const;

  std::size_t worker_threads_;
  std::size_t event_loops_;
  std::vector<std::unique_ptr<EventRoute>> event_routes_;
  Dispatcher* dispatcher_ = nullptr;  // while listening
};

}  // namespace critmin
