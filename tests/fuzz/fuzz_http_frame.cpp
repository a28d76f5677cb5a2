// Fuzzes the HTTP request framer of the event loops: any bytes must frame to a request, a
// rejection or "more bytes needed", never a crash, and a framed request must lie within the
// bytes and its body within the limit.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "service/http_frame.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using critmin::http_frame::Frame;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kMaxBody = 1024;
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string decoded;
  critmin::http_frame::FramedRequest request;
  // Frame every request in the bytes, as a pipelining client would send them.
  std::string_view rest = bytes;
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    const Frame frame =
        critmin::http_frame::frame_request(rest, kMaxBody, 4 * kMaxBody, headers, decoded, request);
    if (frame != Frame::kComplete) break;
    if (request.length == 0 || request.length > rest.size()) std::abort();
    if (request.body.size() > kMaxBody) std::abort();
    if (request.bad) break;
    rest.remove_prefix(request.length);
  }
  return 0;
}
