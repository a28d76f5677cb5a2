// critmin::HttpServer (see include/critmin/service/http_server.h): the accept loop, the event loops
// that frame every request, and the worker pool that routes the requests of the worker routes.
//
// cpp-httplib is used only through its public types: a worker builds an httplib::Request from
// the framed request, runs the route's handler on an httplib::Response and writes the response
// itself. Nothing here derives from httplib::Server or reads its internals.
#include "critmin/service/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <unordered_map>

#include "service/http_frame.h"
#include "service/http_routes.h"

namespace critmin {
namespace {

using Clock = std::chrono::steady_clock;

// The text form of a socket address (IPv4 or IPv6) and its port.
void address_text(const sockaddr_storage& address, std::string& ip, int& port) {
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

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  return text;
}

// Whether a comma-separated header value holds `token` (case-insensitive).
bool has_token(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

namespace http_frame {

// Parses the chunks of a chunked body at the front of `data` into `decoded`. kComplete with the
// bytes consumed in `used`, kIncomplete, or kReject (413 past `max_body`, 400 malformed).
static Frame decode_chunks(std::string_view data, std::size_t max_body, std::string& decoded,
                           std::size_t& used, int& reject) {
  decoded.clear();
  std::size_t at = 0;
  for (;;) {
    const std::size_t newline = data.find('\n', at);
    if (newline == std::string_view::npos) {
      if (data.size() - at > 1024) {
        reject = 400;
        return Frame::kReject;
      }
      return Frame::kIncomplete;
    }
    std::string_view line = data.substr(at, newline - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line = line.substr(0, line.find(';'));  // chunk extensions are ignored
    line = trim(line);
    std::size_t size = 0;
    if (line.empty() || line.size() > 15) {
      reject = 400;
      return Frame::kReject;
    }
    for (char c : line) {
      const int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                        : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                        : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                                    : -1;
      if (digit < 0) {
        reject = 400;
        return Frame::kReject;
      }
      size = size * 16 + static_cast<std::size_t>(digit);
    }
    at = newline + 1;
    if (size == 0) {
      // Trailer fields until an empty line; they are read and dropped.
      for (;;) {
        const std::size_t end = data.find('\n', at);
        if (end == std::string_view::npos) {
          if (data.size() - at > kMaxHeaderBytes) {
            reject = 400;
            return Frame::kReject;
          }
          return Frame::kIncomplete;
        }
        std::string_view trailer = data.substr(at, end - at);
        at = end + 1;
        if (trailer.empty() || trailer == "\r") {
          used = at;
          return Frame::kComplete;
        }
      }
    }
    if (decoded.size() + size > max_body) {
      reject = 413;
      return Frame::kReject;
    }
    if (data.size() - at < size + 1) return Frame::kIncomplete;
    decoded.append(data.substr(at, size));
    at += size;
    // The chunk's data ends with CRLF (a bare LF is accepted).
    if (data[at] == '\r') {
      if (data.size() - at < 2) return Frame::kIncomplete;
      ++at;
    }
    if (data[at] != '\n') {
      reject = 400;
      return Frame::kReject;
    }
    ++at;
  }
}

// Frames the request at the front of `data`: its header block, and its body by Content-Length
// or chunked transfer coding (decoded into `decoded`). `max_body` bounds the body; the raw bytes
// of a chunked body are bounded by `max_raw_body`.
Frame frame_request(std::string_view data, std::size_t max_body, std::size_t max_raw_body,
                    std::vector<std::pair<std::string_view, std::string_view>>& headers,
                    std::string& decoded, FramedRequest& request) {
  headers.clear();
  request = FramedRequest{};
  // The header block ends at the first empty line (CRLF or a bare LF).
  std::size_t line_begin = 0;
  std::size_t header_end = std::string_view::npos;
  bool first_line = true;
  std::string_view request_line;
  bool has_length = false;
  bool chunked = false;
  std::size_t content_length = 0;
  while (line_begin < data.size()) {
    const std::size_t newline = data.find('\n', line_begin);
    if (newline == std::string_view::npos) break;
    std::string_view line = data.substr(line_begin, newline - line_begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    line_begin = newline + 1;
    if (first_line) {
      request_line = line;
      first_line = false;
      continue;
    }
    if (line.empty()) {
      header_end = line_begin;
      break;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      request.bad = true;
      continue;
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    headers.emplace_back(name, value);
    if (iequals(name, "Content-Length")) {
      std::size_t parsed = 0;
      const bool digits = !value.empty() && value.size() <= 18 &&
                          value.find_first_not_of("0123456789") == std::string_view::npos;
      for (char c : value) parsed = parsed * 10 + static_cast<std::size_t>(c - '0');
      if (!digits || (has_length && parsed != content_length)) request.bad = true;
      has_length = true;
      content_length = parsed;
    } else if (iequals(name, "Transfer-Encoding")) {
      // Only "chunked" is understood; anything else cannot be framed.
      if (iequals(value, "chunked")) {
        chunked = true;
      } else {
        request.bad = true;
      }
    } else if (iequals(name, "Expect")) {
      if (has_token(value, "100-continue")) request.expect_continue = true;
    } else if (iequals(name, "Connection")) {
      if (has_token(value, "close")) request.close = true;
    }
  }
  if (header_end == std::string_view::npos) {
    if (data.size() > kMaxHeaderBytes) {
      request.reject = 431;
      return Frame::kReject;
    }
    return Frame::kIncomplete;
  }
  if (header_end > kMaxHeaderBytes) {
    request.reject = 431;
    return Frame::kReject;
  }
  // A length and a transfer coding together is how requests are smuggled past proxies.
  if (chunked && has_length) request.bad = true;
  // METHOD SP target SP HTTP/1.x
  const std::size_t space1 = request_line.find(' ');
  const std::size_t space2 =
      space1 == std::string_view::npos ? space1 : request_line.find(' ', space1 + 1);
  if (space2 == std::string_view::npos) {
    request.bad = true;
  } else {
    request.method = request_line.substr(0, space1);
    request.target = request_line.substr(space1 + 1, space2 - space1 - 1);
    request.path = request.target.substr(0, request.target.find('?'));
    request.version = request_line.substr(space2 + 1);
    if (request.version == "HTTP/1.0") {
      // HTTP/1.0 closes after each request unless the client asks to keep the connection.
      bool keep = false;
      for (const auto& [name, value] : headers) {
        if (iequals(name, "Connection") && has_token(value, "keep-alive")) keep = true;
      }
      if (!keep) request.close = true;
    } else if (request.version != "HTTP/1.1") {
      request.bad = true;
    }
    if (request.path.empty() || request.path.front() != '/') request.bad = true;
  }
  if (request.bad) {
    // Its framing cannot be trusted: answer 400 and close without reading further.
    request.length = header_end;
    request.close = true;
    return Frame::kComplete;
  }
  if (content_length > max_body) {
    request.reject = 413;
    return Frame::kReject;
  }
  if (chunked) {
    std::size_t used = 0;
    const std::string_view rest = data.substr(header_end);
    const Frame frame = decode_chunks(rest, max_body, decoded, used, request.reject);
    if (frame == Frame::kIncomplete) {
      if (rest.size() > max_raw_body) {
        request.reject = 413;
        return Frame::kReject;
      }
      return Frame::kHeadersOnly;
    }
    if (frame == Frame::kReject) return frame;
    request.body = decoded;
    request.length = header_end + used;
    return Frame::kComplete;
  }
  if (data.size() - header_end < content_length) return Frame::kHeadersOnly;
  request.body = data.substr(header_end, content_length);
  request.length = header_end + content_length;
  return Frame::kComplete;
}

}  // namespace http_frame

namespace {

using http_frame::Frame;
using http_frame::frame_request;
using http_frame::FramedRequest;
using http_frame::kMaxHeaderBytes;

// Decodes %XX escapes (and, in a query, '+' as a space).
std::string url_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

void parse_query(std::string_view query, httplib::Params& params) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (!pair.empty()) {
      const std::size_t eq = pair.find('=');
      params.emplace(
          url_decode(pair.substr(0, eq), true),
          eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1), true));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

}  // namespace

std::string_view EventRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

// The shared answer of an EventResponder: delivered once, by the first respond() or, when
// every handle is gone unanswered, as a 500 (each final subclass calls answer_if_lost() in its
// destructor, where deliver() still reaches the subclass).
struct EventResponder::State {
  virtual ~State() = default;
  virtual void deliver(EventResponse&& response) = 0;
  void answer_if_lost() {
    if (answered.exchange(true)) return;
    EventResponse lost;
    lost.status = 500;
    lost.body = R"({"error": "internal error: the request was never answered; please report it"})";
    deliver(std::move(lost));
  }
  std::atomic<bool> answered{false};
};

void EventResponder::respond(EventResponse response) const {
  if (state_ && !state_->answered.exchange(true)) state_->deliver(std::move(response));
}

namespace {

// One event route: its pattern, split into literal pieces and {id} placeholders.
struct EventRoute {
  std::string method;
  std::vector<std::string> literals;  // literals[i] comes before the i-th {id}; one more at the end
  EventHandler handler;

  bool match(std::string_view path, EventRequest& request) const {
    request.id_count = 0;
    for (std::size_t i = 0; i < literals.size(); ++i) {
      if (path.substr(0, literals[i].size()) != literals[i]) return false;
      path.remove_prefix(literals[i].size());
      if (i + 1 == literals.size()) break;
      std::size_t digits = 0;
      std::uint64_t id = 0;
      while (digits < path.size() && path[digits] >= '0' && path[digits] <= '9') {
        id = id * 10 + static_cast<std::uint64_t>(path[digits] - '0');
        ++digits;
      }
      if (digits == 0 || digits > 18) return false;
      request.ids[request.id_count++] = id;
      path.remove_prefix(digits);
    }
    return path.empty();
  }
};

struct WorkerRoute {
  std::string method;
  std::regex pattern;
  HttpRoutes::Handler handler;
};

// A complete request handed to a worker, with copies of everything it needs.
struct WorkerJob {
  std::string method;
  std::string target;
  std::string path;
  std::string version;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_ip;
  int remote_port = 0;
  std::string local_ip;
  int local_port = 0;
  bool close = false;
  int status = 0;  // not 0: answer this status (through the error handler) without routing
};

// A message to an event loop, from another thread or from one of its own handlers.
struct LoopMessage {
  enum class Kind { kAdopt, kEventAnswer, kWorkerAnswer };
  Kind kind = Kind::kAdopt;
  int fd = -1;                   // kAdopt: a new connection
  std::string remote_ip;         // kAdopt: its peer, as counted by the connection caps
  std::uint64_t connection = 0;  // the answers: whose
  std::uint64_t request = 0;     // and which of its requests (numbered from 0)
  EventResponse response;        // kEventAnswer
  std::string bytes;             // kWorkerAnswer: the whole response
  bool close = false;            // kWorkerAnswer: close the connection after it
};

// The mailbox of one event loop. Answers may arrive after the loop stopped (the log's writer
// answers an order late), so the inbox is shared with every answer in flight and outlives the
// loop; a closed inbox drops what is posted. One eventfd write per batch at most: a post only
// wakes the loop when it is about to sleep or sleeping.
class Inbox {
 public:
  Inbox() : wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Inbox() {
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  int wake_fd() const { return wake_fd_; }

  void post(LoopMessage message) {
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_) return;
      messages_.push_back(std::move(message));
      if (!awake_ && !signalled_) {
        signalled_ = true;
        wake = true;
      }
    }
    if (wake) signal();
  }

  void signal() const {
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }

  // The loop, after epoll_wait returned: posts need not wake it until it sleeps again.
  void woke() {
    std::lock_guard<std::mutex> lock(mutex_);
    awake_ = true;
    signalled_ = false;
  }

  // The loop: moves every message into `out` (empty on entry). When there is none, the loop is
  // about to sleep and every later post wakes it.
  bool take(std::vector<LoopMessage>& out) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (messages_.empty()) {
      awake_ = false;
      return false;
    }
    out.swap(messages_);
    return true;
  }

  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    messages_.clear();
  }

 private:
  const int wake_fd_;
  std::mutex mutex_;
  std::vector<LoopMessage> messages_;
  bool awake_ = false;  // the loop starts in epoll_wait
  bool signalled_ = false;
  bool closed_ = false;
};

// An event-route answer travelling back to its loop.
struct LoopAnswer final : EventResponder::State {
  LoopAnswer(std::shared_ptr<Inbox> to, std::uint64_t connection_id, std::uint64_t request_number)
      : inbox(std::move(to)), connection(connection_id), request(request_number) {}
  ~LoopAnswer() override { answer_if_lost(); }
  void deliver(EventResponse&& response) override {
    LoopMessage message;
    message.kind = LoopMessage::Kind::kEventAnswer;
    message.connection = connection;
    message.request = request;
    message.response = std::move(response);
    inbox->post(std::move(message));
  }
  std::shared_ptr<Inbox> inbox;
  std::uint64_t connection;
  std::uint64_t request;
};

// A small pool of worker threads, joined by shutdown().
class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads) {
    for (std::size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { run(); });
    }
  }
  ~WorkerPool() { shutdown(); }
  void enqueue(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }
  // Runs the jobs already queued, then joins the threads.
  void shutdown() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
    threads_.clear();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Bounds per connection: answers outstanding (pipelined requests read ahead) and answer bytes
// the client has not read yet; beyond them the loop stops reading the connection until it
// catches up (a client that pipelines and does not read must not make the server buffer
// without bound).
constexpr std::size_t kMaxAnswersInFlight = 64;
constexpr std::size_t kMaxUnsentBytes = 1 << 20;
constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};  // epoll data of the inbox's eventfd

class EventLoop;

}  // namespace

struct HttpServer::Impl {
  Impl(std::size_t workers, std::size_t loops)
      : worker_threads(std::max<std::size_t>(1, workers)),
        event_loops(std::max<std::size_t>(1, loops)) {}
  ~Impl() {
    if (listen_fd >= 0) ::close(listen_fd);
  }

  const EventRoute* match_event_route(std::string_view method, std::string_view path,
                                      EventRequest& request) const {
    for (const auto& route : event_routes) {
      if (route->method == method && route->match(path, request)) return route.get();
    }
    return nullptr;
  }

  // A worker's whole answer to `job`: routing, handler, error and exception handlers, and the
  // response's bytes. `close` is set when the connection must close after it.
  std::string serve(const WorkerJob& job, bool& close) const;

  // The connection caps: false (and nothing counted) when `ip` may not open another one.
  bool admit(const std::string& ip) {
    std::lock_guard<std::mutex> lock(caps_mutex);
    std::size_t& mine = per_address[ip];
    if (open_connections >= limits.max_connections || mine >= limits.max_connections_per_address) {
      if (mine == 0) per_address.erase(ip);
      return false;
    }
    ++mine;
    ++open_connections;
    return true;
  }
  void release(const std::string& ip) {
    std::lock_guard<std::mutex> lock(caps_mutex);
    auto it = per_address.find(ip);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
    if (open_connections > 0) --open_connections;
  }

  std::size_t worker_threads;
  std::size_t event_loops;
  HttpLimits limits;
  HeaderCheck header_check;
  std::vector<std::unique_ptr<EventRoute>> event_routes;
  std::vector<WorkerRoute> routes;
  HttpRoutes::Handler error_handler;
  HttpRoutes::ExceptionHandler exception_handler;

  int listen_fd = -1;
  std::atomic<bool> running{false};
  std::atomic<bool> stopping{false};

  std::mutex caps_mutex;
  std::size_t open_connections = 0;
  std::unordered_map<std::string, std::size_t> per_address;
};

namespace {

const char* reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

void append_response(std::string& out, const EventResponse& response, bool close) {
  fmt::format_to(std::back_inserter(out),
                 "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n", response.status,
                 reason_phrase(response.status), response.content_type, response.body.size());
  for (const auto& [name, value] : response.headers) {
    fmt::format_to(std::back_inserter(out), "{}: {}\r\n", name, value);
  }
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += response.body;
}

}  // namespace

std::string HttpServer::Impl::serve(const WorkerJob& job, bool& close) const {
  httplib::Request req;
  req.method = job.method;
  req.target = job.target;
  req.version = job.version;
  req.path = url_decode(job.path, false);
  const std::size_t question = job.target.find('?');
  if (question != std::string::npos) {
    parse_query(std::string_view(job.target).substr(question + 1), req.params);
  }
  for (const auto& [name, value] : job.headers) req.headers.emplace(name, value);
  req.body = job.body;
  req.remote_addr = job.remote_ip;
  req.remote_port = job.remote_port;
  req.local_addr = job.local_ip;
  req.local_port = job.local_port;
  const bool head = req.method == "HEAD";

  httplib::Response res;
  if (job.status != 0) {
    res.status = job.status;
  } else {
    const std::string& method = head ? std::string("GET") : req.method;
    const WorkerRoute* route = nullptr;
    for (const WorkerRoute& candidate : routes) {
      if (candidate.method == method &&
          std::regex_match(req.path, req.matches, candidate.pattern)) {
        route = &candidate;
        break;
      }
    }
    if (route == nullptr) {
      res.status = 404;
    } else {
      try {
        route->handler(req, res);
      } catch (...) {
        res = httplib::Response();
        if (exception_handler) {
          exception_handler(req, res, std::current_exception());
        } else {
          res.status = 500;
        }
        if (res.status == -1) res.status = 500;
      }
      if (res.status == -1) res.status = 200;
    }
  }
  if (res.status >= 400 && error_handler) error_handler(req, res);

  close = job.close || job.status != 0;
  // The response's header fields, in cpp-httplib's order (case-insensitive by name).
  httplib::Headers headers = res.headers;
  if (close) {
    headers.erase("Connection");
    headers.emplace("Connection", "close");
  } else {
    headers.emplace("Keep-Alive", fmt::format("timeout={}", limits.keep_alive_timeout_seconds));
  }
  if (!res.body.empty() && headers.find("Content-Type") == headers.end()) {
    headers.emplace("Content-Type", "text/plain");
  }
  headers.erase("Content-Length");
  headers.emplace("Content-Length", std::to_string(res.body.size()));
  std::string out;
  out.reserve(256 + res.body.size());
  fmt::format_to(std::back_inserter(out), "HTTP/1.1 {} {}\r\n", res.status,
                 reason_phrase(res.status));
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  if (!head) out += res.body;
  return out;
}

namespace {

// Runs the connections of one loop thread (see the header for the contract).
class EventLoop {
 public:
  EventLoop(HttpServer::Impl& server, WorkerPool& workers)
      : server_(server), workers_(workers), inbox_(std::make_shared<Inbox>()) {
    const HttpLimits& limits = server_.limits;
    max_raw_body_ = 4 * limits.max_body_bytes + 64 * 1024;
    max_unparsed_ = std::max<std::size_t>(1 << 20, max_raw_body_ + kMaxHeaderBytes);
  }
  ~EventLoop() {
    stop();
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  // False when the loop cannot run (no epoll or eventfd).
  bool start() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0 || inbox_->wake_fd() < 0) return false;
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kWakeToken;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, inbox_->wake_fd(), &event) != 0) return false;
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void adopt(int fd, std::string remote_ip) {
    LoopMessage message;
    message.kind = LoopMessage::Kind::kAdopt;
    message.fd = fd;
    message.remote_ip = std::move(remote_ip);
    inbox_->post(std::move(message));
  }

  // Closes every connection (answers still pending are dropped) and joins the thread.
  void stop() {
    stopping_ = true;
    inbox_->signal();
    if (thread_.joinable()) thread_.join();
  }

 private:
  struct Answer {
    bool ready = false;
    bool close = false;  // close the connection once this answer is sent
    std::string bytes;
  };

  struct Connection {
    std::uint64_t id = 0;
    int fd = -1;
    std::string in;  // read, not yet framed
    std::string out;
    std::size_t out_begin = 0;
    std::deque<Answer> answers;  // of the requests read, in order; front is request first_answer
    std::uint64_t first_answer = 0;
    std::uint64_t next_request = 0;
    bool with_worker = false;      // the latest request is with a worker: later ones wait
    bool peer_closed = false;      // the client sent FIN: answer what was asked, then close
    bool closing = false;          // no more requests: the last one asked to close, or was bad
    bool close_when_sent = false;  // an answer that closes the connection is in `out`
    bool touched = false;          // an answer arrived in the batch being handled
    // The request being read: since when (its first byte), whether its header block is in
    // (and since when), and whether its "100 Continue" is owed or sent.
    bool partial = false;
    Clock::time_point partial_since;
    bool headers_in = false;
    Clock::time_point headers_since;
    bool continue_owed = false;
    std::uint32_t interest = 0;  // the epoll events registered
    Clock::time_point last_active;
    std::string remote_ip;
    int remote_port = 0;
    std::string local_ip;
    int local_port = 0;
  };

  void run() {
    std::vector<epoll_event> events(256);
    std::vector<LoopMessage> messages;
    Clock::time_point next_sweep = Clock::now() + std::chrono::milliseconds(250);
    while (!stopping_) {
      const int ready =
          ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 250);
      inbox_->woke();
      for (int e = 0; e < ready; ++e) {
        const std::uint64_t token = events[e].data.u64;
        if (token == kWakeToken) {
          std::uint64_t count = 0;
          [[maybe_unused]] const ssize_t n = ::read(inbox_->wake_fd(), &count, sizeof count);
          continue;
        }
        auto it = connections_.find(token);
        if (it == connections_.end()) continue;
        Connection& c = *it->second;
        const std::uint32_t what = events[e].events;
        if (what & EPOLLOUT) {
          if (!flush(c)) continue;  // closed
          // Room again: frame what was read ahead.
          if (!c.with_worker && !c.in.empty()) {
            parse(c);
            continue;
          }
        }
        if (what & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          if ((c.interest & EPOLLIN) == 0 && (what & (EPOLLHUP | EPOLLERR))) {
            close_connection(c);
            continue;
          }
          if (c.interest & EPOLLIN) read_ready(c);
        }
      }
      // Answers posted by this iteration's handlers and by other threads, until none is left;
      // each connection touched sends what is ready once per batch.
      while (inbox_->take(messages)) {
        for (LoopMessage& message : messages) handle(message);
        messages.clear();
        for (std::uint64_t id : touched_) {
          auto touched = connections_.find(id);
          if (touched == connections_.end()) continue;
          Connection& c = *touched->second;
          c.touched = false;
          if (!flush(c)) continue;
          if (!c.with_worker) parse(c);  // requests that waited for the worker or for room
        }
        touched_.clear();
      }
      const Clock::time_point now = Clock::now();
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + std::chrono::milliseconds(250);
      }
    }
    // Connections accepted but not yet opened are closed too.
    if (inbox_->take(messages)) {
      for (LoopMessage& message : messages) {
        if (message.kind == LoopMessage::Kind::kAdopt) {
          ::close(message.fd);
          server_.release(message.remote_ip);
        }
      }
    }
    inbox_->close();
    while (!connections_.empty()) close_connection(*connections_.begin()->second);
  }

  void handle(LoopMessage& message) {
    if (message.kind == LoopMessage::Kind::kAdopt) {
      open_connection(message.fd, std::move(message.remote_ip));
      return;
    }
    auto it = connections_.find(message.connection);
    if (it == connections_.end()) return;  // closed meanwhile: the answer has nobody to go to
    Connection& c = *it->second;
    if (message.request < c.first_answer || message.request - c.first_answer >= c.answers.size()) {
      return;
    }
    Answer& answer = c.answers[message.request - c.first_answer];
    if (message.kind == LoopMessage::Kind::kEventAnswer) {
      append_response(answer.bytes, message.response, answer.close);
    } else {
      answer.bytes = std::move(message.bytes);
      if (message.close) {
        answer.close = true;
        c.closing = true;
      }
      c.with_worker = false;
    }
    answer.ready = true;
    if (!c.touched) {
      c.touched = true;
      touched_.push_back(c.id);
    }
  }

  void open_connection(int fd, std::string remote_ip) {
    const int flags = ::fcntl(fd, F_GETFL, 0);
    const int one = 1;
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
      ::close(fd);
      server_.release(remote_ip);
      return;
    }
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto connection = std::make_unique<Connection>();
    Connection& c = *connection;
    c.id = next_connection_id_++;
    c.fd = fd;
    c.last_active = Clock::now();
    c.remote_ip = std::move(remote_ip);
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    std::string ip;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      address_text(address, ip, c.remote_port);
    }
    address = {};
    length = sizeof address;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      address_text(address, c.local_ip, c.local_port);
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = c.id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      ::close(fd);
      server_.release(c.remote_ip);
      return;
    }
    c.interest = EPOLLIN;
    connections_.emplace(c.id, std::move(connection));
  }

  void close_connection(Connection& c) {
    if (!c.in.empty() || c.closing) {
      // Read what the client already sent, so that closing sends a FIN rather than a reset
      // that could destroy the answer before the client reads it.
      char discard[4096];
      for (int i = 0; i < 16 && ::recv(c.fd, discard, sizeof discard, MSG_DONTWAIT) > 0; ++i) {
      }
    }
    ::close(c.fd);  // also leaves the epoll set
    server_.release(c.remote_ip);
    connections_.erase(c.id);
  }

  void read_ready(Connection& c) {
    const ssize_t n = ::recv(c.fd, scratch_, sizeof scratch_, 0);
    if (n > 0) {
      c.in.append(scratch_, static_cast<std::size_t>(n));
      c.last_active = Clock::now();
      parse(c);
      return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n < 0) {
      close_connection(c);
      return;
    }
    // The client finished sending; it may still wait for the answers of what it sent.
    c.peer_closed = true;
    if (c.answers.empty() && !c.with_worker) {
      close_connection(c);
      return;
    }
    update_interest(c);
  }

  // Frames and dispatches the requests at the front of `c.in`, as far as order allows.
  void parse(Connection& c) {
    std::size_t begin = 0;
    const Clock::time_point now = Clock::now();
    while (!c.with_worker && !c.closing && c.answers.size() < kMaxAnswersInFlight &&
           c.out.size() - c.out_begin < kMaxUnsentBytes) {
      FramedRequest request;
      const std::string_view data = std::string_view(c.in).substr(begin);
      if (data.empty()) break;
      if (!c.partial) {
        c.partial = true;
        c.partial_since = now;
      }
      const Frame frame = frame_request(data, server_.limits.max_body_bytes, max_raw_body_,
                                        headers_, decoded_, request);
      if (frame == Frame::kIncomplete) break;
      if (frame == Frame::kHeadersOnly) {
        if (!c.headers_in) {
          c.headers_in = true;
          c.headers_since = now;
          if (server_.header_check) {
            EventRequest check;
            check.method = request.method;
            check.path = request.path;
            check.headers = headers_;
            std::optional<EventResponse> refused;
            try {
              refused = server_.header_check(check);
            } catch (...) {
              refused = EventResponse{500,
                                      "application/json",
                                      R"({"error": "internal error while checking the request"})",
                                      {}};
            }
            if (refused) {
              answer_now(c, *refused);
              break;
            }
          }
          c.continue_owed = request.expect_continue;
        }
        // "100 Continue" once the answers before it are out, so it is not sent ahead of them.
        if (c.continue_owed && c.answers.empty() && c.out_begin == c.out.size()) {
          c.out += "HTTP/1.1 100 Continue\r\n\r\n";
          c.continue_owed = false;
        }
        break;
      }
      c.partial = false;
      c.headers_in = false;
      c.continue_owed = false;
      if (frame == Frame::kReject) {
        // The answer comes from a worker, through the error handler, like any other error.
        to_worker(c, request, request.reject, true);
        break;
      }
      dispatch(c, request);
      begin += request.length;
    }
    if (begin > 0) c.in.erase(0, begin);
    if (c.closing) c.in.clear();
    if (!flush(c)) return;
  }

  // Answers `response` after the answers before it, then closes.
  void answer_now(Connection& c, const EventResponse& response) {
    c.answers.emplace_back();
    Answer& answer = c.answers.back();
    append_response(answer.bytes, response, true);
    answer.ready = true;
    answer.close = true;
    c.closing = true;
    c.partial = false;
    c.headers_in = false;
    ++c.next_request;
  }

  void dispatch(Connection& c, const FramedRequest& framed) {
    if (framed.bad) {
      to_worker(c, framed, 400, true);
      return;
    }
    EventRequest request;
    request.method = framed.method;
    request.path = framed.path;
    request.body = framed.body;
    request.headers = headers_;
    const EventRoute* route = server_.match_event_route(framed.method, framed.path, request);
    if (route == nullptr) {
      to_worker(c, framed, 0, framed.close);
      return;
    }
    const std::uint64_t number = c.next_request++;
    c.answers.emplace_back();
    c.answers.back().close = framed.close;
    if (framed.close) c.closing = true;
    EventResponder responder(std::make_shared<LoopAnswer>(inbox_, c.id, number));
    try {
      route->handler(request, std::move(responder));
    } catch (...) {
      // The responder's copies are gone with the handler's frame: it answers 500.
    }
  }

  // Hands the request to a worker; `status` not 0 answers that status without routing.
  void to_worker(Connection& c, const FramedRequest& framed, int status, bool close) {
    const std::uint64_t number = c.next_request++;
    c.answers.emplace_back();
    c.answers.back().close = close;
    if (close) c.closing = true;
    c.with_worker = true;
    WorkerJob job;
    job.method = framed.method;
    job.target = framed.target;
    job.path = framed.path;
    job.version = framed.version;
    job.headers.reserve(headers_.size());
    for (const auto& [name, value] : headers_) job.headers.emplace_back(name, value);
    if (status == 0) job.body = framed.body;
    job.remote_ip = c.remote_ip;
    job.remote_port = c.remote_port;
    job.local_ip = c.local_ip;
    job.local_port = c.local_port;
    job.close = close;
    job.status = status;
    workers_.enqueue(
        [server = &server_, inbox = inbox_, id = c.id, number, job = std::move(job)]() mutable {
          LoopMessage message;
          message.kind = LoopMessage::Kind::kWorkerAnswer;
          message.connection = id;
          message.request = number;
          message.bytes = server->serve(job, message.close);
          inbox->post(std::move(message));
        });
  }

  // Sends the answers that are ready, in order. False when the connection was closed.
  bool flush(Connection& c) {
    while (!c.close_when_sent && !c.answers.empty() && c.answers.front().ready) {
      Answer& answer = c.answers.front();
      if (c.out_begin == c.out.size()) {
        c.out.swap(answer.bytes);
        c.out_begin = 0;
      } else {
        c.out += answer.bytes;
      }
      if (answer.close) {
        c.close_when_sent = true;
        c.closing = true;
      }
      c.answers.pop_front();
      ++c.first_answer;
    }
    if (c.continue_owed && c.answers.empty() && !c.closing) {
      c.out += "HTTP/1.1 100 Continue\r\n\r\n";
      c.continue_owed = false;
    }
    while (c.out_begin < c.out.size()) {
      const ssize_t n =
          ::send(c.fd, c.out.data() + c.out_begin, c.out.size() - c.out_begin, MSG_NOSIGNAL);
      if (n > 0) {
        c.out_begin += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      close_connection(c);
      return false;
    }
    const bool sent = c.out_begin == c.out.size();
    if (sent) {
      c.out.clear();
      c.out_begin = 0;
      c.last_active = Clock::now();
      if (c.close_when_sent || (c.peer_closed && c.answers.empty() && !c.with_worker)) {
        close_connection(c);
        return false;
      }
    }
    update_interest(c);
    return true;
  }

  void update_interest(Connection& c) {
    std::uint32_t wanted = 0;
    if (!c.peer_closed && !c.closing && c.in.size() < max_unparsed_ &&
        c.answers.size() < kMaxAnswersInFlight && c.out.size() - c.out_begin < kMaxUnsentBytes) {
      wanted |= EPOLLIN;
    }
    if (c.out_begin < c.out.size()) wanted |= EPOLLOUT;
    if (wanted == c.interest) return;
    epoll_event event{};
    event.events = wanted;
    event.data.u64 = c.id;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &event);
    c.interest = wanted;
  }

  // Closes keep-alive connections idle longer than the keep-alive timeout, and answers 408 to a
  // request whose header block or body is late (only while the loop waits for the client: a
  // request queued behind answers is not the client's delay).
  void sweep(Clock::time_point now) {
    const HttpLimits& limits = server_.limits;
    const auto keep_alive = std::chrono::seconds(limits.keep_alive_timeout_seconds);
    const auto header_limit = std::chrono::duration<double>(limits.header_timeout_seconds);
    const auto body_limit = std::chrono::duration<double>(limits.body_timeout_seconds);
    std::vector<Connection*> idle;
    std::vector<Connection*> late;
    for (auto& [id, connection] : connections_) {
      Connection& c = *connection;
      const bool waiting_for_client = c.answers.empty() && !c.with_worker && !c.closing;
      if (!waiting_for_client) continue;
      if (c.partial && !c.in.empty()) {
        if ((!c.headers_in && now - c.partial_since > header_limit) ||
            (c.headers_in && now - c.headers_since > body_limit)) {
          late.push_back(&c);
        }
      } else if (c.out_begin == c.out.size() && now - c.last_active > keep_alive) {
        idle.push_back(&c);
      }
    }
    for (Connection* c : idle) close_connection(*c);
    for (Connection* c : late) {
      const bool body = c->headers_in;
      EventResponse timeout;
      timeout.status = 408;
      timeout.body =
          fmt::format(R"({{"error": "the request's {} took longer than {} s; send it at once"}})",
                      body ? "body" : "header block",
                      body ? limits.body_timeout_seconds : limits.header_timeout_seconds);
      answer_now(*c, timeout);
      c->in.clear();
      flush(*c);
    }
  }

  HttpServer::Impl& server_;
  WorkerPool& workers_;
  std::shared_ptr<Inbox> inbox_;
  std::size_t max_raw_body_ = 0;
  std::size_t max_unparsed_ = 0;
  int epoll_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::uint64_t next_connection_id_ = 1;
  std::vector<std::pair<std::string_view, std::string_view>> headers_;  // of the request framed
  std::string decoded_;                 // the chunked body of the request framed
  std::vector<std::uint64_t> touched_;  // connections with new answers in this batch
  char scratch_[64 * 1024];
};

}  // namespace

HttpServer::HttpServer(std::size_t worker_threads, std::size_t event_loops)
    : impl_(std::make_unique<Impl>(worker_threads, event_loops)) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::event_route(const std::string& method, const std::string& pattern,
                             EventHandler handler) {
  assert((method == "GET" || method == "POST") && "event routes are GET or POST");
  auto route = std::make_unique<EventRoute>();
  route->method = method;
  route->handler = std::move(handler);
  std::string literal;
  constexpr std::string_view kId = "{id}";
  for (std::size_t i = 0; i < pattern.size();) {
    if (std::string_view(pattern).substr(i, kId.size()) == kId) {
      route->literals.push_back(literal);
      literal.clear();
      i += kId.size();
      continue;
    }
    literal += pattern[i++];
  }
  route->literals.push_back(literal);
  assert(route->literals.size() - 1 <= EventRequest{}.ids.size() && "at most 4 {id} segments");
  impl_->event_routes.push_back(std::move(route));
}

void HttpServer::set_header_check(HeaderCheck check) { impl_->header_check = std::move(check); }
void HttpServer::set_limits(const HttpLimits& limits) { impl_->limits = limits; }
const HttpLimits& HttpServer::limits() const { return impl_->limits; }
void HttpServer::set_payload_max_length(std::size_t bytes) { impl_->limits.max_body_bytes = bytes; }
void HttpServer::set_keep_alive_timeout(int seconds) {
  impl_->limits.keep_alive_timeout_seconds = seconds;
}

bool HttpServer::bind_to_port(const std::string& host, int port) {
  if (impl_->listen_fd >= 0) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found) != 0) {
    return false;
  }
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      impl_->listen_fd = fd;
      break;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return impl_->listen_fd >= 0;
}

int HttpServer::bind_to_any_port(const std::string& host) {
  if (!bind_to_port(host, 0)) return -1;
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getsockname(impl_->listen_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return -1;
  }
  std::string ip;
  int port = -1;
  address_text(address, ip, port);
  return port;
}

bool HttpServer::widen_backlog() { return impl_->listen_fd >= 0; }

bool HttpServer::is_running() const { return impl_->running; }

void HttpServer::stop() { impl_->stopping = true; }

bool HttpServer::listen_after_bind() {
  Impl& impl = *impl_;
  if (impl.listen_fd < 0 || impl.stopping) return false;
  WorkerPool workers(impl.worker_threads);
  std::vector<std::unique_ptr<EventLoop>> loops;
  for (std::size_t i = 0; i < impl.event_loops; ++i) {
    auto loop = std::make_unique<EventLoop>(impl, workers);
    if (!loop->start()) return false;
    loops.push_back(std::move(loop));
  }
  impl.running = true;
  bool ok = true;
  std::size_t next_loop = 0;
  // The accept loop: polls so that a stop() is noticed within 100 ms.
  while (!impl.stopping) {
    pollfd ready{impl.listen_fd, POLLIN, 0};
    const int n = ::poll(&ready, 1, 100);
    if (n <= 0) continue;
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    const int fd =
        ::accept4(impl.listen_fd, reinterpret_cast<sockaddr*>(&address), &length, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED || errno == EMFILE ||
          errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        if (errno == EMFILE || errno == ENFILE) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        continue;
      }
      ok = false;
      break;
    }
    std::string ip;
    int port = 0;
    address_text(address, ip, port);
    if (!impl.admit(ip)) {
      ::close(fd);  // over the caps: refused at once, costing nothing more
      continue;
    }
    loops[next_loop++ % loops.size()]->adopt(fd, std::move(ip));
  }
  for (auto& loop : loops) loop->stop();
  workers.shutdown();
  ::close(impl.listen_fd);
  impl.listen_fd = -1;
  impl.running = false;
  return ok;
}

HttpRoutes& HttpRoutes::add(const char* method, const std::string& pattern, Handler handler) {
  server_.impl().routes.push_back(WorkerRoute{method, std::regex(pattern), std::move(handler)});
  return *this;
}
HttpRoutes& HttpRoutes::Get(const std::string& pattern, Handler handler) {
  return add("GET", pattern, std::move(handler));
}
HttpRoutes& HttpRoutes::Post(const std::string& pattern, Handler handler) {
  return add("POST", pattern, std::move(handler));
}
HttpRoutes& HttpRoutes::Put(const std::string& pattern, Handler handler) {
  return add("PUT", pattern, std::move(handler));
}
HttpRoutes& HttpRoutes::Delete(const std::string& pattern, Handler handler) {
  return add("DELETE", pattern, std::move(handler));
}
HttpRoutes& HttpRoutes::set_error_handler(Handler handler) {
  server_.impl().error_handler = std::move(handler);
  return *this;
}
HttpRoutes& HttpRoutes::set_exception_handler(ExceptionHandler handler) {
  server_.impl().exception_handler = std::move(handler);
  return *this;
}

}  // namespace critmin
