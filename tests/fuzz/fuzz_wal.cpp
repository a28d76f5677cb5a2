// Fuzzes the log-record decoder: the framing and checksums of a segment's bytes (scan_records)
// and the decoding of each record's event, as recovery reads them. Any bytes must give records
// or a Status, never a crash; the scan must account for every byte exactly once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "critmin/core/status.h"
#include "service/market_state.h"
#include "service/wal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::uint64_t records = 0;
  critmin::Result<critmin::service::SegmentScan> scan = critmin::service::scan_records(
      bytes, [&](std::uint64_t, std::string_view payload) -> critmin::Status {
        ++records;
        (void)critmin::service::decode_event(payload);
        return critmin::Status::ok();
      });
  if (!scan.is_ok()) return 0;
  const critmin::service::SegmentScan& s = scan.value();
  if (s.records != records || s.valid_bytes > size) std::abort();
  const int kinds = int{s.zero_tail} + int{s.torn_tail} + int{s.damaged};
  if ((s.valid_bytes < size) != (kinds == 1)) std::abort();
  // The same bytes as one event and as a whole state.
  (void)critmin::service::decode_event(bytes);
  (void)critmin::service::decode_state(bytes);
  return 0;
}
