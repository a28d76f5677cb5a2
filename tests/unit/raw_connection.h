// A raw keep-alive TCP connection to a loopback server, for tests that need control over the
// bytes on the wire (pipelining, split requests, half-closes) that an HTTP client library hides.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>

namespace critmin::test {

class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  // Reads until `count` whole responses (each with Content-Length) arrived; returns them
  // concatenated, or what arrived before a timeout or close.
  std::string read_responses(int count) {
    std::string in;
    int complete = 0;
    std::size_t parsed = 0;
    char buffer[4096];
    while (complete < count) {
      const std::size_t header_end = in.find("\r\n\r\n", parsed);
      if (header_end != std::string::npos) {
        const std::size_t length_at = in.find("Content-Length: ", parsed);
        if (length_at != std::string::npos && length_at < header_end) {
          const std::size_t length = std::stoul(in.substr(length_at + 16));
          if (in.size() >= header_end + 4 + length) {
            parsed = header_end + 4 + length;
            ++complete;
            continue;
          }
        }
      }
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      in.append(buffer, static_cast<std::size_t>(n));
    }
    return in;
  }

  // True when the server closed the connection (recv returns 0) within the timeout.
  bool closed_by_server() {
    char byte = 0;
    return ::recv(fd_, &byte, 1, 0) == 0;
  }

  // True when nothing arrived within `wait`.
  bool silent_for(std::chrono::milliseconds wait) {
    std::this_thread::sleep_for(wait);
    char byte = 0;
    return ::recv(fd_, &byte, 1, MSG_DONTWAIT | MSG_PEEK) < 0 && errno == EAGAIN;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

inline int count_of(const std::string& text, const std::string& what) {
  int count = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace critmin::test
