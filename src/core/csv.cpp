#include "core/csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/text.h"

namespace critmin {

std::optional<std::size_t> CsvTable::column(std::string_view name) const {
  auto it = std::find(header.begin(), header.end(), name);
  if (it == header.end()) return std::nullopt;
  return static_cast<std::size_t>(it - header.begin());
}

Result<CsvTable> parse_csv(std::string_view text, std::string file_name) {
  CsvTable table;
  table.file = std::move(file_name);
  std::vector<Diagnostic> problems;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

  std::size_t pos = 0;
  int line = 1;
  std::vector<CsvRecord> records;
  // As many fields per record as the previous one had. (Not the records themselves: reserving a
  // block that large for every file makes the allocator map and unmap it each time, and the page
  // faults cost more than the vector's growth.)
  std::size_t fields_per_record = 0;
  std::string field;
  while (pos < text.size()) {
    CsvRecord record;
    record.line = line;
    record.fields.reserve(fields_per_record);
    bool record_done = false;
    while (!record_done) {
      field.clear();
      if (pos < text.size() && text[pos] == '"') {
        const int quote_line = line;
        ++pos;
        bool closed = false;
        while (pos < text.size()) {
          const char c = text[pos];
          if (c == '"') {
            if (pos + 1 < text.size() && text[pos + 1] == '"') {
              field += '"';
              pos += 2;
              continue;
            }
            ++pos;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++pos;
        }
        if (!closed) {
          problems.push_back({table.file, quote_line, "",
                              "unterminated quoted field; close it with a double quote (\")"});
          return Status::invalid_input(fmt::format("{}: malformed CSV", table.file),
                                       std::move(problems));
        }
        if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
          problems.push_back({table.file, line, "",
                              "text after a closing quote; quote the whole field and double "
                              "any quote inside it"});
          return Status::invalid_input(fmt::format("{}: malformed CSV", table.file),
                                       std::move(problems));
        }
      } else {
        const std::size_t start = pos;
        while (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
          ++pos;
        }
        field.assign(text.substr(start, pos - start));
      }
      record.fields.push_back(std::move(field));
      if (pos >= text.size()) {
        record_done = true;
      } else if (text[pos] == ',') {
        ++pos;
        if (pos >= text.size()) {  // a trailing comma at end of text: one more empty field
          record.fields.emplace_back();
          record_done = true;
        }
      } else {  // CR, LF or CRLF ends the record
        if (text[pos] == '\r') ++pos;
        if (pos < text.size() && text[pos] == '\n') ++pos;
        ++line;
        record_done = true;
      }
    }
    // A blank line is not a record.
    if (record.fields.size() == 1 && record.fields[0].empty()) continue;
    fields_per_record = record.fields.size();
    records.push_back(std::move(record));
  }

  if (records.empty()) {
    problems.push_back({table.file, 1, "", "the file is empty; it needs a header row"});
    return Status::invalid_input(fmt::format("{}: no header", table.file), std::move(problems));
  }
  table.header = std::move(records.front().fields);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < table.header.size(); ++i) {
    std::string& name = table.header[i];
    name = std::string(trim(name));
    if (name.empty()) {
      problems.push_back({table.file, 1, fmt::format("column {}", i + 1), "empty column name"});
    } else if (!seen.insert(name).second) {
      problems.push_back({table.file, 1, name, "duplicated column name"});
    }
  }
  for (std::size_t r = 1; r < records.size(); ++r) {
    if (records[r].fields.size() != table.header.size()) {
      problems.push_back({table.file, records[r].line, "",
                          fmt::format("{} fields where the header has {}; quote fields that "
                                      "contain commas",
                                      records[r].fields.size(), table.header.size())});
    }
  }
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: malformed CSV", table.file), std::move(problems));
  }
  records.erase(records.begin());  // the header; moves the records, copies no field
  table.records = std::move(records);
  return table;
}

Result<CsvTable> read_csv_file(const std::filesystem::path& path) {
  Result<std::string> text = read_text_file(path);
  CRITMIN_RETURN_IF_ERROR(text);
  return parse_csv(text.value(), path.string());
}

void append_csv_field(std::string& out, std::string_view field) {
  // A field that starts with a UTF-8 byte order mark is quoted too: written first on a line
  // unquoted, the reader would take it for the file's own mark and drop it.
  const bool needs_quotes =
      field.find_first_of(",\"\r\n") != std::string_view::npos || field.starts_with("\xEF\xBB\xBF");
  if (!needs_quotes) {
    out.append(field);
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_csv_record(std::string& out, const std::vector<std::string>& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    append_csv_field(out, fields[i]);
  }
  out += '\n';
}

}  // namespace critmin
