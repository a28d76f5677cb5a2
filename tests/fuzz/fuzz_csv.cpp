// Fuzzes the CSV reader: any byte string must parse or fail with diagnostics, never crash, and a
// table that parses must survive a write/read round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  critmin::Result<critmin::CsvTable> table = critmin::parse_csv(text, "fuzz.csv");
  if (!table.is_ok()) {
    if (table.status().diagnostics().empty()) std::abort();  // every failure says where
    return 0;
  }
  std::string written;
  critmin::append_csv_record(written, table.value().header);
  for (const auto& record : table.value().records) {
    critmin::append_csv_record(written, record.fields);
  }
  critmin::Result<critmin::CsvTable> again = critmin::parse_csv(written, "again.csv");
  if (!again.is_ok()) std::abort();
  if (again.value().records.size() != table.value().records.size()) std::abort();
  for (std::size_t i = 0; i < again.value().records.size(); ++i) {
    if (again.value().records[i].fields != table.value().records[i].fields) std::abort();
  }
  return 0;
}
