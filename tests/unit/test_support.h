// Helpers shared by several unit test files: a temporary directory, whole-file and CSV table
// reading and writing, diagnostics as text, and running the critmin binary (CRITMIN_TEST_BINARY).
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "core/csv.h"
#include "critmin/core/files.h"
#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin::test {

// Uniform draws for randomised property tests, from a seeded 64-bit Mersenne twister: the same
// seed gives the same instances on every platform (no std::uniform_real_distribution).
class Draw {
 public:
  explicit Draw(std::uint64_t seed) : engine_(seed) {}
  double unit() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * unit(); }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(engine_() % n); }
  bool chance(double p) { return unit() < p; }

 private:
  std::mt19937_64 engine_;
};

// The embedded default dataset (CRITMIN_TEST_DATA), loaded once per test binary.
inline const Dataset& default_data() {
  static const Dataset data = [] {
    auto loaded = load_dataset(CRITMIN_TEST_DATA);
    EXPECT_TRUE(loaded.is_ok()) << loaded.status().to_string();
    return std::move(loaded).value();
  }();
  return data;
}

// A directory under the system temporary directory, named `prefix` and two random numbers,
// removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            (prefix + std::to_string(random()) + "_" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Each diagnostic as "file:line:field: message".
inline std::vector<std::string> texts(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) out.push_back(d.to_string());
  return out;
}

// Reads a CSV file; a read or parse failure fails the test and gives an empty table.
inline CsvTable read_table(const std::filesystem::path& file) {
  Result<CsvTable> table = read_csv_file(file);
  EXPECT_TRUE(table.is_ok()) << table.status().to_string();
  return table.is_ok() ? table.value() : CsvTable{};
}

// Writes a CSV table (header and records) with the CSV writer; a write failure fails the test.
inline void write_table(const std::filesystem::path& file, const CsvTable& table) {
  std::string text;
  append_csv_record(text, table.header);
  for (const CsvRecord& record : table.records) append_csv_record(text, record.fields);
  ASSERT_TRUE(write_text_file(file, text).is_ok());
}

// The bytes of a file; empty when it cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Replaces the contents of a file by `text`.
inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// `text` single-quoted for the POSIX shell.
inline std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `critmin ARGS` (ARGS already shell-quoted where needed), capturing stdout and stderr in
// files of `dir`.
inline CliRun run_cli(const std::filesystem::path& dir, const std::string& args) {
  const std::filesystem::path out = dir / "stdout.txt";
  const std::filesystem::path err = dir / "stderr.txt";
  const std::string command = quote(CRITMIN_TEST_BINARY) + " " + args + " >" + quote(out.string()) +
                              " 2>" + quote(err.string());
  const int status = std::system(command.c_str());
  CliRun result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_file(out);
  result.err = read_file(err);
  return result;
}

}  // namespace critmin::test
