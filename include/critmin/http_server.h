// The HTTP server `critmin serve` runs: cpp-httplib's server (its routing, request parsing and
// response writing) with a leaner connection loop for many concurrent keep-alive clients.
// Include only in front ends (it pulls in httplib.h).
//
// Why a connection loop of our own: cpp-httplib's own loop costs about a dozen system calls per
// request on a keep-alive connection (a poll before every read and every write, the response
// sent as two packets, getpeername and getsockname for every request). On loopback, where the
// kernel's TCP path is most of the cost of a small request, that halves the request rate. This
// loop reads each request with as few recv() calls as it arrives in, writes each response with
// one send(), and asks the socket its addresses once per connection. Requests are still parsed,
// routed and answered by httplib::Server::process_request, so routes, limits (413), error and
// exception handlers behave exactly as with cpp-httplib's loop.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

#include <cstddef>

namespace critmin {

class HttpServer : public httplib::Server {
 public:
  // `worker_threads`: each open keep-alive connection holds one worker while it lives.
  explicit HttpServer(std::size_t worker_threads) {
    new_task_queue = [worker_threads] { return new httplib::ThreadPool(worker_threads); };
    set_keep_alive_max_count(1'000'000'000);
    set_tcp_nodelay(true);
  }

  // The Debian build of cpp-httplib listens with a backlog of 5: a burst of clients connecting at
  // once overflows the accept queue, and the kernel then drops their handshakes, which stalls
  // them for seconds. Linux lets listen() be called again to enlarge the queue; call this after
  // bind_to_port / bind_to_any_port. False when the socket refused.
  bool widen_backlog(int backlog = SOMAXCONN) { return ::listen(svr_sock_, backlog) == 0; }

 private:
  // Serves one accepted connection until the client closes it, it stays idle longer than the
  // keep-alive timeout, it has served the keep-alive maximum, or the server stops.
  bool process_and_close_socket(socket_t sock) override;
};

}  // namespace critmin
