// The connection loop of critmin::HttpServer (see include/critmin/http_server.h).
#include "critmin/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

namespace critmin {
namespace {

using Clock = std::chrono::steady_clock;

// How often a blocked read looks whether the server is stopping: the longest a stop() waits for
// an idle keep-alive connection to let go of its worker.
constexpr int kStopCheckMs = 100;

// A buffered httplib::Stream over a blocking socket. Reads fill a 16 KiB buffer with one recv()
// (cpp-httplib parses the request line and headers one byte at a time through read(), so the
// buffer is what keeps that cheap); writes collect the whole response, which flush() sends with
// one send(). Before it blocks on a read it flushes what was written, so an interim
// "100 Continue" reaches the client before the server waits for the body.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(int sock, const std::atomic<socket_t>& server_socket, time_t read_timeout_sec,
                   time_t write_timeout_sec)
      : sock_(sock),
        server_socket_(server_socket),
        read_timeout_(std::chrono::seconds(read_timeout_sec)) {
    timeval slice{0, kStopCheckMs * 1000};
    ::setsockopt(sock_, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof slice);
    timeval write_timeout{write_timeout_sec, 0};
    ::setsockopt(sock_, SOL_SOCKET, SO_SNDTIMEO, &write_timeout, sizeof write_timeout);
  }

  // Waits up to `timeout` for the first bytes of the next request. False when the client closed
  // the connection, stayed idle that long, an error occurred or the server is stopping.
  bool wait_for_request(std::chrono::seconds timeout) {
    if (in_begin_ < in_end_) return true;
    return flush() && fill(timeout) > 0;
  }

  // Sends everything written so far. False when the connection broke.
  bool flush() {
    std::size_t sent = 0;
    while (sent < out_.size()) {
      const ssize_t n = ::send(sock_, out_.data() + sent, out_.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken_ = true;
        out_.clear();
        return false;
      }
      sent += static_cast<std::size_t>(n);
    }
    out_.clear();
    return !broken_;
  }

  bool is_readable() const override {
    if (in_begin_ < in_end_) return true;
    pollfd fd{sock_, POLLIN, 0};
    const auto timeout_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(read_timeout_).count();
    return ::poll(&fd, 1, static_cast<int>(timeout_ms)) > 0;
  }

  bool is_writable() const override { return !broken_; }

  ssize_t read(char* ptr, size_t size) override {
    if (in_begin_ == in_end_) {
      if (!flush()) return -1;
      const ssize_t filled = fill(read_timeout_);
      if (filled <= 0) return filled;
    }
    const std::size_t n = std::min(size, in_end_ - in_begin_);
    std::memcpy(ptr, in_ + in_begin_, n);
    in_begin_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (broken_) return -1;
    out_.append(ptr, size);
    // A large body (a long audit page) goes out in pieces rather than all held in memory twice.
    if (out_.size() >= kFlushBytes && !flush()) return -1;
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    if (!addresses_known_) learn_addresses();
    ip = remote_ip_;
    port = remote_port_;
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    if (!addresses_known_) learn_addresses();
    ip = local_ip_;
    port = local_port_;
  }

  socket_t socket() const override { return sock_; }

 private:
  static constexpr std::size_t kBufferBytes = 16 * 1024;
  static constexpr std::size_t kFlushBytes = 64 * 1024;

  // Reads what has arrived (at most the buffer) into the empty buffer, waiting up to `timeout`
  // in kStopCheckMs slices. Returns the byte count, 0 when the client closed the connection, -1
  // on a timeout, an error or a stopping server.
  ssize_t fill(Clock::duration timeout) {
    in_begin_ = 0;
    in_end_ = 0;
    const Clock::time_point give_up = Clock::now() + timeout;
    for (;;) {
      const ssize_t n = ::recv(sock_, in_, kBufferBytes, 0);
      if (n > 0) {
        in_end_ = static_cast<std::size_t>(n);
        return n;
      }
      if (n == 0) return 0;
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
      if (server_socket_ == INVALID_SOCKET || Clock::now() >= give_up) return -1;
    }
  }

  static void address_text(const sockaddr_storage& address, std::string& ip, int& port) {
    char text[INET6_ADDRSTRLEN] = {0};
    if (address.ss_family == AF_INET) {
      const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
      ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
      port = ntohs(v4.sin_port);
    } else if (address.ss_family == AF_INET6) {
      const auto& v6 = reinterpret_cast<const sockaddr_in6&>(address);
      ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
      port = ntohs(v6.sin6_port);
    }
    ip = text;
  }

  void learn_addresses() const {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      address_text(address, remote_ip_, remote_port_);
    }
    address = {};
    length = sizeof address;
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      address_text(address, local_ip_, local_port_);
    }
    addresses_known_ = true;
  }

  int sock_;
  const std::atomic<socket_t>& server_socket_;
  Clock::duration read_timeout_;
  char in_[kBufferBytes];
  std::size_t in_begin_ = 0;
  std::size_t in_end_ = 0;
  std::string out_;
  bool broken_ = false;
  mutable bool addresses_known_ = false;
  mutable std::string remote_ip_;
  mutable int remote_port_ = 0;
  mutable std::string local_ip_;
  mutable int local_port_ = 0;
};

}  // namespace

bool HttpServer::process_and_close_socket(socket_t sock) {
  bool ok = false;
  {
    ConnectionStream stream(sock, svr_sock_, read_timeout_sec_, write_timeout_sec_);
    std::size_t remaining = keep_alive_max_count_;
    while (remaining > 0 && svr_sock_ != INVALID_SOCKET &&
           stream.wait_for_request(std::chrono::seconds(keep_alive_timeout_sec_))) {
      bool connection_closed = false;
      // The last request a connection may serve is answered with "Connection: close".
      ok = process_request(stream, remaining == 1, connection_closed, nullptr);
      if (!stream.flush()) ok = false;
      if (!ok || connection_closed) break;
      --remaining;
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace critmin
