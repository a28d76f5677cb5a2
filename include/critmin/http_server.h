// The HTTP server `critmin serve` runs: cpp-httplib's server with settings for many concurrent
// keep-alive clients. Include only in front ends (it pulls in httplib.h).
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
};

}  // namespace critmin
