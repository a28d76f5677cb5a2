// The event loop's request framing (src/service/http_server.cpp), on its own so that it can be
// fuzzed: a pure function of the bytes a connection has sent so far.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace critmin::http_frame {

// What the event loop makes of the bytes at the front of a connection's buffer.
enum class Frame {
  kIncomplete,   // the header block is not complete yet
  kHeadersOnly,  // the header block is complete, the body is still to come
  kComplete,     // one whole request of `length` bytes (or a bad one: see FramedRequest::bad)
  kReject,       // answer FramedRequest::reject and close: the body is not read
};

// A header block beyond this is refused with 431.
constexpr std::size_t kMaxHeaderBytes = 16 * 1024;

struct FramedRequest {
  std::size_t length = 0;  // header block and body, as sent
  std::string_view method;
  std::string_view target;  // with the query
  std::string_view path;    // without the query, not decoded
  std::string_view version;
  std::string_view body;  // into the buffer, or into the decoded chunks
  bool close = false;     // the client asked for the connection to close after this request
  bool bad = false;       // unparseable: answered 400, then the connection closes
  bool expect_continue = false;
  int reject = 0;  // kReject: the status to answer
};

// Frames the request at the front of `data`: its header block, and its body by Content-Length
// or chunked transfer coding (decoded into `decoded`, which `request.body` then views).
// `max_body` bounds the body; the raw bytes of a chunked body are bounded by `max_raw_body`.
// kComplete sets `request.length` (at most data.size()); `headers` view into `data`.
Frame frame_request(std::string_view data, std::size_t max_body, std::size_t max_raw_body,
                    std::vector<std::pair<std::string_view, std::string_view>>& headers,
                    std::string& decoded, FramedRequest& request);

}  // namespace critmin::http_frame
