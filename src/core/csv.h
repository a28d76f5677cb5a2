// A strict RFC 4180 CSV reader and writer that keeps line numbers, so that every problem in an
// input file can be reported as file:line:field.
//
// Written here rather than taken from a library because the readers we looked at either drop the
// physical line of a record (needed for file:line diagnostics when a quoted field spans lines) or
// are callback-only C interfaces. The reader is small, has no allocation per character and is
// fuzzed (tests/fuzz/fuzz_csv.cpp).
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"

namespace critmin {

struct CsvRecord {
  int line = 0;  // 1-based physical line where the record starts
  std::vector<std::string> fields;
};

struct CsvTable {
  std::string file;  // name used in diagnostics
  std::vector<std::string> header;
  std::vector<CsvRecord> records;

  // Index of a header column, or nullopt.
  std::optional<std::size_t> column(std::string_view name) const;
};

// Parses CSV text. The first record is the header. A UTF-8 byte-order mark, CRLF line ends and a
// final line without a newline are accepted. Fails (kInvalidInput, with one diagnostic per problem)
// on an unterminated quote, text after a closing quote, an empty or duplicated header name, or a
// record whose field count differs from the header's. Cost: linear in the text size.
Result<CsvTable> parse_csv(std::string_view text, std::string file_name);

// Reads and parses a file; kIoError when it cannot be read.
Result<CsvTable> read_csv_file(const std::filesystem::path& path);

// Appends one field, quoted when it holds a comma, quote, CR or LF.
void append_csv_field(std::string& out, std::string_view field);
// Appends a whole record (fields joined by commas) and a LF.
void append_csv_record(std::string& out, const std::vector<std::string>& fields);

}  // namespace critmin
