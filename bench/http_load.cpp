// See http_load.h.
#include "http_load.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace critmin::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  int index = 0;  // across all threads, passed to the request writer
  std::uint64_t sent = 0;
  bool in_flight = false;
  std::string out;
  std::string in;
};

// Runs once when every client thread has connected: the measured time starts there.
struct StartClock {
  Clock::time_point* start;
  void operator()() noexcept { *start = Clock::now(); }
};

struct Shared {
  std::mutex mutex;
  std::string failure;
  std::atomic<bool> failed{false};
  std::atomic<std::uint64_t> responses{0};

  void fail(std::string what) {
    std::lock_guard<std::mutex> lock(mutex);
    if (failure.empty()) failure = std::move(what);
    failed = true;
  }
};

std::string errno_text() { return std::strerror(errno); }

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// The outcome of looking at a connection's read buffer.
enum class Parsed { kIncomplete, kComplete, kBad };

// Checks whether `in` holds one whole response; on kComplete sets `status` and `length` (bytes
// of the whole response), on kBad sets `why`.
Parsed parse_response(std::string_view in, int& status, std::size_t& length, std::string& why) {
  const std::size_t header_end = in.find("\r\n\r\n");
  if (header_end == std::string_view::npos) {
    if (in.size() > 64 * 1024) {
      why = "a response header longer than 64 KiB";
      return Parsed::kBad;
    }
    return Parsed::kIncomplete;
  }
  constexpr std::string_view kStatusPrefix = "HTTP/1.1 ";
  if (in.substr(0, kStatusPrefix.size()) != kStatusPrefix || header_end < 12) {
    why = fmt::format("not an HTTP/1.1 status line: '{}'",
                      in.substr(0, std::min<std::size_t>(in.size(), 40)));
    return Parsed::kBad;
  }
  status = std::atoi(std::string(in.substr(kStatusPrefix.size(), 3)).c_str());
  std::size_t content_length = 0;
  bool has_length = false;
  std::size_t line = in.find("\r\n") + 2;
  constexpr std::string_view kLength = "content-length:";
  constexpr std::string_view kChunked = "transfer-encoding:";
  while (line < header_end) {
    const std::size_t line_end = in.find("\r\n", line);
    const std::string_view header = in.substr(line, line_end - line);
    if (header.size() > kLength.size() &&
        ::strncasecmp(header.data(), kLength.data(), kLength.size()) == 0) {
      content_length =
          std::strtoull(std::string(header.substr(kLength.size())).c_str(), nullptr, 10);
      has_length = true;
    } else if (header.size() > kChunked.size() &&
               ::strncasecmp(header.data(), kChunked.data(), kChunked.size()) == 0) {
      why = "a chunked response; this client reads only responses with Content-Length";
      return Parsed::kBad;
    }
    line = line_end + 2;
  }
  if (!has_length) {
    why = "a response without Content-Length";
    return Parsed::kBad;
  }
  length = header_end + 4 + content_length;
  return in.size() >= length ? Parsed::kComplete : Parsed::kIncomplete;
}

double thread_cpu_seconds() {
  timespec cpu{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  return static_cast<double>(cpu.tv_sec) + static_cast<double>(cpu.tv_nsec) * 1e-9;
}

void run_thread(const HttpLoadOptions& options, const RequestWriter& write_request,
                std::vector<Connection>& connections, Clock::time_point& start,
                std::barrier<StartClock>& ready, Shared& shared, Clock::time_point& last_response,
                double& cpu_seconds) {
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) shared.fail("epoll_create1: " + errno_text());
  for (Connection& c : connections) {
    if (shared.failed) break;
    c.fd = connect_loopback(options.port);
    if (c.fd < 0) {
      shared.fail(fmt::format("cannot connect to 127.0.0.1:{}: {}", options.port, errno_text()));
      break;
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = &c;
    if (::epoll_ctl(epoll, EPOLL_CTL_ADD, c.fd, &event) != 0) {
      shared.fail("epoll_ctl: " + errno_text());
    }
  }
  ready.arrive_and_wait();  // every thread connected; the clock starts
  const double cpu_start = thread_cpu_seconds();
  const Clock::time_point deadline = start + std::chrono::duration_cast<Clock::duration>(
                                                 std::chrono::duration<double>(options.seconds));
  // Once the deadline passed, in-flight requests get this long to be answered.
  const Clock::time_point drain_limit = deadline + std::chrono::seconds(30);
  std::size_t in_flight = 0;
  auto send_next = [&](Connection& c) {
    c.out.clear();
    write_request(c.out, c.index, c.sent++);
    if (!send_all(c.fd, c.out)) {
      shared.fail("send: " + errno_text());
      return;
    }
    c.in_flight = true;
    ++in_flight;
  };
  if (!shared.failed) {
    for (Connection& c : connections) send_next(c);
  }
  std::vector<epoll_event> events(256);
  char buffer[16 * 1024];
  while (in_flight > 0 && !shared.failed) {
    const int ready_count =
        ::epoll_wait(epoll, events.data(), static_cast<int>(events.size()), 100);
    if (ready_count < 0 && errno != EINTR) {
      shared.fail("epoll_wait: " + errno_text());
      break;
    }
    const Clock::time_point now = Clock::now();
    if (now > drain_limit) {
      shared.fail(fmt::format("{} requests were still unanswered 30 s after the run", in_flight));
      break;
    }
    for (int e = 0; e < ready_count && !shared.failed; ++e) {
      Connection& c = *static_cast<Connection*>(events[e].data.ptr);
      const ssize_t n = ::recv(c.fd, buffer, sizeof buffer, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        shared.fail(n == 0 ? "the server closed a keep-alive connection" : "recv: " + errno_text());
        break;
      }
      c.in.append(buffer, static_cast<std::size_t>(n));
      int status = 0;
      std::size_t length = 0;
      std::string why;
      const Parsed parsed = parse_response(c.in, status, length, why);
      if (parsed == Parsed::kIncomplete) continue;
      if (parsed == Parsed::kBad || !c.in_flight || length != c.in.size()) {
        shared.fail(parsed == Parsed::kBad ? why : "a response nobody asked for");
        break;
      }
      if (status != options.expected_status) {
        shared.fail(fmt::format("HTTP {} instead of {}: {}", status, options.expected_status,
                                c.in.substr(c.in.find("\r\n\r\n") + 4)));
        break;
      }
      c.in.clear();
      c.in_flight = false;
      --in_flight;
      shared.responses.fetch_add(1, std::memory_order_relaxed);
      last_response = now;
      if (now < deadline) send_next(c);
    }
  }
  cpu_seconds = thread_cpu_seconds() - cpu_start;
  for (Connection& c : connections) {
    if (c.fd >= 0) ::close(c.fd);
  }
  if (epoll >= 0) ::close(epoll);
}

}  // namespace

HttpLoadResult run_http_load(const HttpLoadOptions& options, const RequestWriter& write_request) {
  const int threads = std::max(1, std::min(options.threads, options.connections));
  std::vector<std::vector<Connection>> shares(static_cast<std::size_t>(threads));
  for (int c = 0; c < options.connections; ++c) {
    Connection connection;
    connection.index = c;
    shares[static_cast<std::size_t>(c % threads)].push_back(std::move(connection));
  }
  Shared shared;
  Clock::time_point start;
  std::vector<Clock::time_point> last(static_cast<std::size_t>(threads));
  std::vector<double> cpu(static_cast<std::size_t>(threads), 0.0);
  std::barrier<StartClock> ready(threads, StartClock{&start});
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const auto i = static_cast<std::size_t>(t);
      run_thread(options, write_request, shares[i], start, ready, shared, last[i], cpu[i]);
    });
  }
  for (std::thread& t : pool) t.join();
  HttpLoadResult result;
  result.responses = shared.responses.load();
  result.failure = shared.failure;
  for (double seconds : cpu) result.client_cpu_seconds += seconds;
  const Clock::time_point end = *std::max_element(last.begin(), last.end());
  result.seconds = std::max(0.0, std::chrono::duration<double>(end - start).count());
  result.requests_per_second =
      result.seconds > 0.0 ? static_cast<double>(result.responses) / result.seconds : 0.0;
  return result;
}

}  // namespace critmin::bench
