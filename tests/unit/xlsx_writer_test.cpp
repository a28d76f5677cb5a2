// The XLSX writer (src/report/xlsx_writer.cpp) fails with a Status naming the path, and never lets
// libxlsxwriter print to stderr, when the workbook cannot be written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "critmin/report/report.h"

namespace critmin {
namespace {

namespace fs = std::filesystem;

class XlsxWriter : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device random;
    dir_ = fs::temp_directory_path() /
           ("critmin_xlsx_test_" + std::to_string(random()) + "_" + std::to_string(random()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::add, ignored);
    fs::remove_all(dir_, ignored);
  }

  // Writes an empty assessment to `file`; `err` receives what was printed to stderr meanwhile.
  static Status write(const fs::path& file, std::string& err) {
    ::testing::internal::CaptureStderr();
    Status status = assess_to_xlsx({}, file);
    err = ::testing::internal::GetCapturedStderr();
    return status;
  }

  fs::path dir_;
};

TEST_F(XlsxWriter, WritesAWorkbookIntoAnExistingDirectory) {
  std::string err;
  const Status status = write(dir_ / "a.xlsx", err);
  EXPECT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_TRUE(fs::is_regular_file(dir_ / "a.xlsx"));
  EXPECT_EQ(err, "");
}

TEST_F(XlsxWriter, FailsWithoutPrintingWhenTheDirectoryIsMissing) {
  const fs::path file = dir_ / "missing" / "a.xlsx";
  std::string err;
  const Status status = write(file, err);
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_EQ(status.message(), file.string() + ": the directory " + (dir_ / "missing").string() +
                                  " does not exist; create it or write the workbook elsewhere");
  EXPECT_EQ(err, "");
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

TEST_F(XlsxWriter, FailsWithoutPrintingWhenTheFileIsADirectory) {
  fs::create_directories(dir_ / "a.xlsx");
  std::string err;
  const Status status = write(dir_ / "a.xlsx", err);
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_EQ(status.message(), (dir_ / "a.xlsx").string() +
                                  ": is a directory; give the path of the workbook file to write");
  EXPECT_EQ(err, "");
}

TEST_F(XlsxWriter, FailsWithoutPrintingWhenTheDirectoryIsNotWritable) {
  if (::geteuid() == 0) GTEST_SKIP() << "root may write into any directory";
  fs::create_directories(dir_ / "ro");
  fs::permissions(dir_ / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  std::string err;
  const Status status = write(dir_ / "ro" / "a.xlsx", err);
  fs::permissions(dir_ / "ro", fs::perms::owner_all);
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kIoError);
  EXPECT_EQ(status.message(), (dir_ / "ro" / "a.xlsx").string() + ": the directory " +
                                  (dir_ / "ro").string() +
                                  " is not writable; check its permissions or write the workbook "
                                  "elsewhere");
  EXPECT_EQ(err, "");
}

}  // namespace
}  // namespace critmin
