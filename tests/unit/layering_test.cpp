// The layers depend only downward: a file of one layer (src/<layer>/ or include/critmin/<layer>/)
// includes headers of its own layer or of layers below it, never above. The order is the one
// CMakeLists.txt links the layer libraries in (docs/architecture.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr std::array<const char*, 9> kLayersLowestFirst = {
    "core", "world", "metrics", "market", "policy", "scenario", "sim", "report", "service"};

std::optional<int> layer_rank(const std::string& name) {
  for (std::size_t i = 0; i < kLayersLowestFirst.size(); ++i) {
    if (name == kLayersLowestFirst[i]) return static_cast<int>(i);
  }
  return std::nullopt;
}

// The layer of an included path: "critmin/<layer>/x.h" (public) or "<layer>/x.h" (private).
std::optional<int> included_layer(const std::string& included) {
  std::string path = included;
  if (path.rfind("critmin/", 0) == 0) path = path.substr(8);
  const auto slash = path.find('/');
  if (slash == std::string::npos) return std::nullopt;
  return layer_rank(path.substr(0, slash));
}

// Every include of a lower file on a higher layer under `root`, as "file:line: includes x".
std::vector<std::string> upward_includes(const fs::path& root) {
  std::vector<std::string> found;
  const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  for (const fs::path& dir : {root / "src", root / "include/critmin"}) {
    if (!fs::exists(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      const fs::path relative = fs::relative(entry.path(), dir);
      const auto own = layer_rank(relative.begin()->string());
      if (!own) continue;
      std::ifstream in(entry.path());
      std::string line;
      int number = 0;
      while (std::getline(in, line)) {
        ++number;
        std::smatch match;
        if (!std::regex_search(line, match, include_line)) continue;
        const auto target = included_layer(match[1].str());
        if (target && *target > *own) {
          found.push_back(fs::relative(entry.path(), root).string() + ":" + std::to_string(number) +
                          ": includes " + match[1].str());
        }
      }
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::vector<std::string> headers_outside_a_layer(const fs::path& root) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(root / "include/critmin")) {
    if (entry.is_regular_file()) found.push_back(entry.path().filename().string());
    if (entry.is_directory() && !layer_rank(entry.path().filename().string())) {
      found.push_back(entry.path().filename().string() + "/");
    }
  }
  return found;
}

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(Layering, NoFileIncludesAHeaderOfAHigherLayer) {
  EXPECT_EQ(upward_includes(CRITMIN_TEST_SOURCE_ROOT), std::vector<std::string>{});
}

TEST(Layering, EveryPublicHeaderSitsInTheFolderOfItsLayer) {
  EXPECT_EQ(headers_outside_a_layer(CRITMIN_TEST_SOURCE_ROOT), std::vector<std::string>{});
}

TEST(Layering, TheCheckFindsAnUpwardIncludeInAPublicOrPrivateHeader) {
  const fs::path root = fs::temp_directory_path() / "critmin-layering-test";
  fs::remove_all(root);
  write(root / "src/market/ok.cpp",
        "#include \"critmin/world/dataset.h\"\n#include \"market/x.h\"\n");
  write(root / "src/market/up.cpp", "// a comment\n#include \"sim/runner.h\"\n");
  write(root / "include/critmin/world/up.h",
        "#include <vector>\n#include \"critmin/policy/club.h\"\n");
  write(root / "include/critmin/stray.h", "\n");
  EXPECT_EQ(
      upward_includes(root),
      (std::vector<std::string>{"include/critmin/world/up.h:2: includes critmin/policy/club.h",
                                "src/market/up.cpp:2: includes sim/runner.h"}));
  EXPECT_EQ(headers_outside_a_layer(root), std::vector<std::string>{"stray.h"});
  fs::remove_all(root);
}

}  // namespace
