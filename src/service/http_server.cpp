// The event loops and the blocking loop of critmin::HttpServer (see
// include/critmin/service/http_server.h).
#include "critmin/service/http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
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
#include <string>
#include <thread>
#include <unordered_map>

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
  // `prefix`: bytes of the connection already read from the socket, served before any recv().
  ConnectionStream(int sock, const std::atomic<socket_t>& server_socket, time_t read_timeout_sec,
                   time_t write_timeout_sec, std::string prefix)
      : sock_(sock),
        server_socket_(server_socket),
        read_timeout_(std::chrono::seconds(read_timeout_sec)),
        prefix_(std::move(prefix)) {
    timeval slice{0, kStopCheckMs * 1000};
    ::setsockopt(sock_, SOL_SOCKET, SO_RCVTIMEO, &slice, sizeof slice);
    timeval write_timeout{write_timeout_sec, 0};
    ::setsockopt(sock_, SOL_SOCKET, SO_SNDTIMEO, &write_timeout, sizeof write_timeout);
  }

  // Waits up to `timeout` for the first bytes of the next request. False when the client closed
  // the connection, stayed idle that long, an error occurred or the server is stopping.
  bool wait_for_request(std::chrono::seconds timeout) {
    if (in_begin_ < in_end_ || prefix_begin_ < prefix_.size()) return true;
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
    if (in_begin_ < in_end_ || prefix_begin_ < prefix_.size()) return true;
    pollfd fd{sock_, POLLIN, 0};
    const auto timeout_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(read_timeout_).count();
    return ::poll(&fd, 1, static_cast<int>(timeout_ms)) > 0;
  }

  bool is_writable() const override { return !broken_; }

  ssize_t read(char* ptr, size_t size) override {
    if (prefix_begin_ < prefix_.size()) {
      const std::size_t n = std::min(size, prefix_.size() - prefix_begin_);
      std::memcpy(ptr, prefix_.data() + prefix_begin_, n);
      prefix_begin_ += n;
      return static_cast<ssize_t>(n);
    }
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
  std::string prefix_;
  std::size_t prefix_begin_ = 0;
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

// A whole request the event loop framed, read by cpp-httplib from memory on a worker thread; the
// response is collected for the loop to send.
class BufferedRequestStream final : public httplib::Stream {
 public:
  BufferedRequestStream(std::string request, int sock, const std::string& remote_ip,
                        int remote_port, const std::string& local_ip, int local_port)
      : request_(std::move(request)),
        sock_(sock),
        remote_ip_(remote_ip),
        remote_port_(remote_port),
        local_ip_(local_ip),
        local_port_(local_port) {}

  bool is_readable() const override { return begin_ < request_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const std::size_t n = std::min(size, request_.size() - begin_);
    std::memcpy(ptr, request_.data() + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    response_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = remote_ip_;
    port = remote_port_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = local_ip_;
    port = local_port_;
  }
  socket_t socket() const override { return sock_; }
  std::string take_response() { return std::move(response_); }

 private:
  std::string request_;
  std::size_t begin_ = 0;
  int sock_;
  std::string remote_ip_;
  int remote_port_;
  std::string local_ip_;
  int local_port_;
  std::string response_;
};

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

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 413:
      return "Payload Too Large";
    case 500:
      return "Internal Server Error";
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

// What the event loop makes of the bytes at the front of a connection's buffer.
enum class Frame {
  kIncomplete,  // wait for more bytes
  kComplete,    // one whole request of `length` bytes
  kFallback,    // a request the loop does not frame: the connection moves to the blocking loop
};

// The loop frames requests with no body or a Content-Length body; anything else is left to
// cpp-httplib's own reading on the blocking loop.
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;

struct FramedRequest {
  std::size_t length = 0;  // header block and body
  std::string_view method;
  std::string_view path;
  std::string_view body;
  bool close = false;  // the client asked for the connection to close after this request
  bool bad = false;    // unparseable: cpp-httplib answers 400, then the connection closes
};

Frame frame_request(std::string_view data, std::size_t max_body_bytes,
                    std::vector<std::pair<std::string_view, std::string_view>>& headers,
                    FramedRequest& request) {
  headers.clear();
  request = FramedRequest{};
  // The header block ends at the first empty line (CRLF or a bare LF, as cpp-httplib accepts).
  std::size_t line_begin = 0;
  std::size_t header_end = std::string_view::npos;
  bool first_line = true;
  std::string_view request_line;
  bool has_length = false;
  std::size_t content_length = 0;
  bool fallback = false;
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
      if (!digits || (has_length && parsed != content_length)) {
        fallback = true;  // cpp-httplib decides what a strange length means
      }
      has_length = true;
      content_length = parsed;
    } else if (iequals(name, "Transfer-Encoding") || iequals(name, "Expect")) {
      fallback = true;
    } else if (iequals(name, "Connection")) {
      if (has_token(value, "close")) request.close = true;
    }
  }
  if (header_end == std::string_view::npos) {
    return data.size() > kMaxHeaderBytes ? Frame::kFallback : Frame::kIncomplete;
  }
  if (header_end > kMaxHeaderBytes || fallback || content_length > max_body_bytes) {
    return Frame::kFallback;
  }
  // METHOD SP target SP HTTP/1.x
  const std::size_t space1 = request_line.find(' ');
  const std::size_t space2 =
      space1 == std::string_view::npos ? space1 : request_line.find(' ', space1 + 1);
  if (space2 == std::string_view::npos) {
    request.bad = true;
  } else {
    request.method = request_line.substr(0, space1);
    const std::string_view target = request_line.substr(space1 + 1, space2 - space1 - 1);
    request.path = target.substr(0, target.find('?'));
    const std::string_view version = request_line.substr(space2 + 1);
    if (version == "HTTP/1.0") {
      // HTTP/1.0 closes after each request unless the client asks to keep the connection.
      bool keep = false;
      for (const auto& [name, value] : headers) {
        if (iequals(name, "Connection") && has_token(value, "keep-alive")) keep = true;
      }
      if (!keep) request.close = true;
    } else if (version != "HTTP/1.1") {
      request.bad = true;
    }
    if (request.path.empty() || request.path.front() != '/') request.bad = true;
  }
  if (data.size() - header_end < content_length) return Frame::kIncomplete;
  request.body = data.substr(header_end, content_length);
  request.length = header_end + content_length;
  if (request.bad) request.close = true;
  return Frame::kComplete;
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

// One event route: its pattern, split into literal pieces and {id} placeholders.
struct HttpServer::EventRoute {
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

namespace {

// A message to an event loop, from another thread or from one of its own handlers.
struct LoopMessage {
  enum class Kind { kAdopt, kEventAnswer, kWorkerAnswer };
  Kind kind = Kind::kAdopt;
  int fd = -1;                   // kAdopt: a new connection
  std::uint64_t connection = 0;  // the answers: whose
  std::uint64_t request = 0;     // and which of its requests (numbered from 0)
  EventResponse response;        // kEventAnswer
  std::string bytes;             // kWorkerAnswer: the response as cpp-httplib wrote it
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

// An event-route answer to a handler on the blocking path, which waits for it.
struct BlockingMailbox {
  std::mutex mutex;
  std::condition_variable ready_changed;
  bool ready = false;
  EventResponse response;
};
struct BlockingAnswer final : EventResponder::State {
  explicit BlockingAnswer(std::shared_ptr<BlockingMailbox> to) : mailbox(std::move(to)) {}
  ~BlockingAnswer() override { answer_if_lost(); }
  void deliver(EventResponse&& response) override {
    {
      std::lock_guard<std::mutex> lock(mailbox->mutex);
      mailbox->response = std::move(response);
      mailbox->ready = true;
    }
    mailbox->ready_changed.notify_all();
  }
  std::shared_ptr<BlockingMailbox> mailbox;
};

// Bounds per connection: answers outstanding (pipelined requests read ahead) and bytes read but
// not yet framed; beyond them the loop stops reading the connection until it catches up.
constexpr std::size_t kMaxAnswersInFlight = 64;
constexpr std::size_t kMaxUnparsedBytes = 1 << 20;
// Answer bytes the client has not read yet: beyond this, later requests wait (a client that
// pipelines and does not read must not make the server buffer without bound).
constexpr std::size_t kMaxUnsentBytes = 1 << 20;
// A body larger than this is read by cpp-httplib on the blocking loop, not buffered whole.
constexpr std::size_t kMaxLoopBodyBytes = 1 << 20;
constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};  // epoll data of the inbox's eventfd

}  // namespace

// The task queue cpp-httplib's accept loop hands every connection to (new_task_queue): it owns
// the event loops and the worker pool for one listen(), and its shutdown(), which cpp-httplib
// calls when the accept loop ends, stops and joins them all before listen returns.
class HttpServer::Dispatcher final : public httplib::TaskQueue {
 public:
  explicit Dispatcher(HttpServer& server);
  ~Dispatcher() override;

  // The accept loop's task for one connection (process_and_close_socket, which adopts it):
  // cheap, so it runs on the accept thread.
  void enqueue(std::function<void()> fn) override { fn(); }

  void shutdown() override;
  void adopt(int fd);
  void run_on_worker(std::function<void()> job) { pool_.enqueue(std::move(job)); }

 private:
  HttpServer& server_;
  httplib::ThreadPool pool_;
  std::vector<std::unique_ptr<EventLoop>> loops_;
  std::size_t next_loop_ = 0;
};

// Runs the connections of one loop thread (see the header for the contract).
class HttpServer::EventLoop {
 public:
  EventLoop(HttpServer& server, Dispatcher& dispatcher)
      : server_(server), dispatcher_(dispatcher), inbox_(std::make_shared<Inbox>()) {}
  ~EventLoop() {
    stop();
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  // False when the loop cannot run (no epoll or eventfd); the caller serves blocking instead.
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

  void adopt(int fd) {
    LoopMessage message;
    message.kind = LoopMessage::Kind::kAdopt;
    message.fd = fd;
    inbox_->post(std::move(message));
  }

  // Closes every connection (answers still pending are dropped) and joins the thread.
  void stop() {
    stopping_ = true;
    inbox_->signal();
    if (thread_.joinable()) thread_.join();
  }

 private:
  using Clock = std::chrono::steady_clock;

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
    bool moving = false;           // to the blocking loop once every answer is sent
    bool close_when_sent = false;  // an answer that closes the connection is in `out`
    bool touched = false;          // an answer arrived in the batch being handled
    std::uint32_t interest = 0;    // the epoll events registered
    Clock::time_point last_active;
    std::string remote_ip;
    int remote_port = 0;
    std::string local_ip;
    int local_port = 0;
  };

  void run() {
    std::vector<epoll_event> events(256);
    std::vector<LoopMessage> messages;
    Clock::time_point next_sweep = Clock::now() + std::chrono::seconds(1);
    while (!stopping_) {
      const int ready =
          ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 1000);
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
          // Room again: frame what was read ahead. The next read waits for the next event, as
          // parse may have handed the connection to the blocking loop.
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
        sweep_idle(now);
        next_sweep = now + std::chrono::seconds(1);
      }
    }
    // Connections accepted but not yet opened are closed too.
    if (inbox_->take(messages)) {
      for (LoopMessage& message : messages) {
        if (message.kind == LoopMessage::Kind::kAdopt) ::close(message.fd);
      }
    }
    inbox_->close();
    while (!connections_.empty()) close_connection(*connections_.begin()->second);
  }

  void handle(LoopMessage& message) {
    if (message.kind == LoopMessage::Kind::kAdopt) {
      open_connection(message.fd);
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

  void open_connection(int fd) {
    const int flags = ::fcntl(fd, F_GETFL, 0);
    const int one = 1;
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
      ::close(fd);
      return;
    }
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto connection = std::make_unique<Connection>();
    Connection& c = *connection;
    c.id = next_connection_id_++;
    c.fd = fd;
    c.last_active = Clock::now();
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      address_text(address, c.remote_ip, c.remote_port);
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
      return;
    }
    c.interest = EPOLLIN;
    connections_.emplace(c.id, std::move(connection));
  }

  void close_connection(Connection& c) {
    ::close(c.fd);  // also leaves the epoll set
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
    while (!c.with_worker && !c.closing && !c.moving && c.answers.size() < kMaxAnswersInFlight &&
           c.out.size() - c.out_begin < kMaxUnsentBytes) {
      FramedRequest request;
      const std::string_view data = std::string_view(c.in).substr(begin);
      if (data.empty()) break;
      const Frame frame = frame_request(
          data, std::min(server_.payload_max_length_, kMaxLoopBodyBytes), headers_, request);
      if (frame == Frame::kIncomplete) break;
      if (frame == Frame::kFallback) {
        c.moving = true;
        break;
      }
      dispatch(c, request, data.substr(0, request.length));
      begin += request.length;
    }
    if (begin > 0) c.in.erase(0, begin);
    if (c.moving && c.answers.empty() && c.out_begin == c.out.size()) {
      move_to_blocking_loop(c);
      return;
    }
    update_interest(c);
  }

  // `raw`: the request's bytes, for a worker.
  void dispatch(Connection& c, const FramedRequest& framed, std::string_view raw) {
    const std::uint64_t number = c.next_request++;
    c.answers.emplace_back();
    c.answers.back().close = framed.close;
    if (framed.close) c.closing = true;
    EventRequest request;
    request.method = framed.method;
    request.path = framed.path;
    request.body = framed.body;
    request.headers = headers_;
    const EventRoute* route =
        framed.bad ? nullptr : server_.match_event_route(framed.method, framed.path, request);
    if (route) {
      EventResponder responder(std::make_shared<LoopAnswer>(inbox_, c.id, number));
      try {
        route->handler(request, std::move(responder));
      } catch (...) {
        // The responder's copies are gone with the handler's frame: it answers 500.
      }
      return;
    }
    c.with_worker = true;
    std::string bytes(raw);
    dispatcher_.run_on_worker([server = &server_, inbox = inbox_, id = c.id, number,
                               bytes = std::move(bytes), close = framed.close,
                               remote_ip = c.remote_ip, remote_port = c.remote_port,
                               local_ip = c.local_ip, local_port = c.local_port]() mutable {
      BufferedRequestStream stream(std::move(bytes), INVALID_SOCKET, remote_ip, remote_port,
                                   local_ip, local_port);
      bool closed = false;
      const bool ok = server->serve_request(stream, close, closed);
      LoopMessage message;
      message.kind = LoopMessage::Kind::kWorkerAnswer;
      message.connection = id;
      message.request = number;
      message.bytes = stream.take_response();
      message.close = close || closed || !ok;
      inbox->post(std::move(message));
    });
  }

  // Sends the answers that are ready, in order. False when the connection was closed (or moved).
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
      if (c.moving && c.answers.empty()) {
        move_to_blocking_loop(c);
        return false;
      }
    }
    update_interest(c);
    return true;
  }

  void update_interest(Connection& c) {
    std::uint32_t wanted = 0;
    if (!c.peer_closed && !c.closing && !c.moving && c.in.size() < kMaxUnparsedBytes &&
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

  // Hands the socket, with the bytes read but not framed, to a worker's blocking loop.
  void move_to_blocking_loop(Connection& c) {
    const int fd = c.fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    const int flags = ::fcntl(fd, F_GETFL, 0);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    std::string prefix = std::move(c.in);
    connections_.erase(c.id);
    dispatcher_.run_on_worker([server = &server_, fd, prefix = std::move(prefix)]() mutable {
      server->serve_blocking(fd, std::move(prefix));
    });
  }

  // Closes keep-alive connections that have waited longer than the keep-alive timeout for a
  // request.
  void sweep_idle(Clock::time_point now) {
    const auto timeout = std::chrono::seconds(server_.keep_alive_timeout_sec_);
    std::vector<Connection*> idle;
    for (auto& [id, connection] : connections_) {
      Connection& c = *connection;
      if (c.answers.empty() && !c.with_worker && c.out_begin == c.out.size() &&
          now - c.last_active > timeout) {
        idle.push_back(&c);
      }
    }
    for (Connection* c : idle) close_connection(*c);
  }

  HttpServer& server_;
  Dispatcher& dispatcher_;
  std::shared_ptr<Inbox> inbox_;
  int epoll_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Connection>> connections_;
  std::uint64_t next_connection_id_ = 1;
  std::vector<std::pair<std::string_view, std::string_view>> headers_;  // of the request framed
  std::vector<std::uint64_t> touched_;  // connections with new answers in this batch
  char scratch_[64 * 1024];
};

HttpServer::Dispatcher::Dispatcher(HttpServer& server)
    : server_(server), pool_(server.worker_threads_) {
  for (std::size_t i = 0; i < server.event_loops_; ++i) {
    auto loop = std::make_unique<EventLoop>(server, *this);
    if (!loop->start()) break;
    loops_.push_back(std::move(loop));
  }
}

HttpServer::Dispatcher::~Dispatcher() { server_.dispatcher_ = nullptr; }

void HttpServer::Dispatcher::shutdown() {
  for (auto& loop : loops_) loop->stop();
  pool_.shutdown();  // blocking loops notice the stop within 100 ms
}

void HttpServer::Dispatcher::adopt(int fd) {
  if (loops_.empty()) {
    run_on_worker([this, fd] { server_.serve_blocking(fd, {}); });
    return;
  }
  loops_[next_loop_++ % loops_.size()]->adopt(fd);
}

HttpServer::HttpServer(std::size_t worker_threads, std::size_t event_loops)
    : worker_threads_(std::max<std::size_t>(1, worker_threads)), event_loops_(event_loops) {
  new_task_queue = [this] {
    auto* dispatcher = new Dispatcher(*this);
    dispatcher_ = dispatcher;
    return dispatcher;
  };
  set_keep_alive_max_count(1'000'000'000);
  set_tcp_nodelay(true);
}

HttpServer::~HttpServer() = default;

void HttpServer::event_route(const std::string& method, const std::string& pattern,
                             EventHandler handler) {
  assert((method == "GET" || method == "POST") && "event routes are GET or POST");
  auto route = std::make_unique<EventRoute>();
  route->method = method;
  route->handler = std::move(handler);
  std::string regex;
  std::string literal;
  constexpr std::string_view kId = "{id}";
  for (std::size_t i = 0; i < pattern.size();) {
    if (std::string_view(pattern).substr(i, kId.size()) == kId) {
      route->literals.push_back(literal);
      literal.clear();
      regex += R"((\d+))";
      i += kId.size();
      continue;
    }
    const char c = pattern[i++];
    literal += c;
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-') {
      regex += '\\';
    }
    regex += c;
  }
  route->literals.push_back(literal);
  assert(route->literals.size() - 1 <= EventRequest{}.ids.size() && "at most 4 {id} segments");
  const EventRoute* served = route.get();
  event_routes_.push_back(std::move(route));

  // The same handler on the blocking path, waiting for its answer.
  Handler bridge = [served](const httplib::Request& req, httplib::Response& res) {
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    headers.reserve(req.headers.size());
    for (const auto& [name, value] : req.headers) headers.emplace_back(name, value);
    EventRequest request;
    request.method = req.method;
    request.path = req.path;
    request.body = req.body;
    request.headers = headers;
    for (std::size_t i = 1; i < req.matches.size() && request.id_count < request.ids.size(); ++i) {
      const std::string digits = req.matches[i];
      if (digits.empty() || digits.size() > 18) {
        res.status = 404;
        return;
      }
      request.ids[request.id_count++] = std::stoull(digits);
    }
    auto mailbox = std::make_shared<BlockingMailbox>();
    try {
      served->handler(request, EventResponder(std::make_shared<BlockingAnswer>(mailbox)));
    } catch (...) {
      // The responder is gone with the handler's frame: it answers 500.
    }
    std::unique_lock<std::mutex> lock(mailbox->mutex);
    mailbox->ready_changed.wait(lock, [&] { return mailbox->ready; });
    res.status = mailbox->response.status;
    for (const auto& [name, value] : mailbox->response.headers) res.set_header(name, value);
    res.set_content(mailbox->response.body, mailbox->response.content_type);
  };
  if (method == "GET") {
    Get(regex, std::move(bridge));
  } else {
    Post(regex, std::move(bridge));
  }
}

const HttpServer::EventRoute* HttpServer::match_event_route(std::string_view method,
                                                            std::string_view path,
                                                            EventRequest& request) const {
  for (const auto& route : event_routes_) {
    if (route->method == method && route->match(path, request)) return route.get();
  }
  return nullptr;
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  if (dispatcher_) {
    dispatcher_->adopt(sock);
  } else {
    serve_blocking(sock, {});
  }
  return true;
}

bool HttpServer::serve_request(httplib::Stream& stream, bool close_connection,
                               bool& connection_closed) {
  return process_request(stream, close_connection, connection_closed, nullptr);
}

void HttpServer::serve_blocking(socket_t sock, std::string prefix) {
  {
    ConnectionStream stream(sock, svr_sock_, read_timeout_sec_, write_timeout_sec_,
                            std::move(prefix));
    std::size_t remaining = keep_alive_max_count_;
    while (remaining > 0 && svr_sock_ != INVALID_SOCKET &&
           stream.wait_for_request(std::chrono::seconds(keep_alive_timeout_sec_))) {
      bool connection_closed = false;
      // The last request a connection may serve is answered with "Connection: close".
      const bool ok = process_request(stream, remaining == 1, connection_closed, nullptr);
      if (!stream.flush() || !ok || connection_closed) break;
      --remaining;
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
}

}  // namespace critmin
