// Whole-file reading (src/core/text.cpp, read_text_file): only regular files are read.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "critmin/core/files.h"

namespace critmin {
namespace {

namespace fs = std::filesystem;

class TextFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("critmin_text_file_test_" + std::to_string(random()) + "_" + std::to_string(random()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  fs::path dir_;
};

TEST_F(TextFile, ReadsARegularFile) {
  ASSERT_TRUE(write_text_file(dir_ / "a.txt", "one\ntwo\n").is_ok());
  const Result<std::string> text = read_text_file(dir_ / "a.txt");
  ASSERT_TRUE(text.is_ok()) << text.status().to_string();
  EXPECT_EQ(text.value(), "one\ntwo\n");
}

TEST_F(TextFile, RefusesADirectoryInsteadOfReadingItAsEmpty) {
  const Result<std::string> text = read_text_file(dir_);
  ASSERT_FALSE(text.is_ok());
  EXPECT_EQ(text.status().code(), StatusCode::kIoError);
  EXPECT_EQ(text.status().message(),
            dir_.string() + ": is a directory, not a file; give the path of a file");
}

TEST_F(TextFile, RefusesAMissingFileNamingIt) {
  const Result<std::string> text = read_text_file(dir_ / "missing.csv");
  ASSERT_FALSE(text.is_ok());
  EXPECT_EQ(text.status().code(), StatusCode::kIoError);
  EXPECT_EQ(text.status().message(),
            (dir_ / "missing.csv").string() + ": no such file; check the path");
}

TEST_F(TextFile, RefusesADevice) {
  const Result<std::string> text = read_text_file("/dev/null");
  ASSERT_FALSE(text.is_ok());
  EXPECT_EQ(text.status().code(), StatusCode::kIoError);
  EXPECT_EQ(text.status().message(),
            "/dev/null: not a regular file (a device, pipe or socket); give the path of a file");
}

}  // namespace
}  // namespace critmin
