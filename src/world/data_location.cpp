#include <fmt/format.h>

#include <system_error>

#include "critmin/world/dataset.h"

namespace critmin {
namespace {

bool looks_like_dataset(const std::filesystem::path& dir) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(dir / "countries.csv", ignored) &&
         std::filesystem::is_directory(dir / "schema", ignored);
}

bool holds_reference_tables(const std::filesystem::path& dir) {
  std::error_code ignored;
  return std::filesystem::is_regular_file(dir / "reference" / "materials.csv", ignored) &&
         std::filesystem::is_directory(dir / "schema", ignored);
}

std::vector<std::filesystem::path> default_candidates(const std::filesystem::path& executable) {
  std::vector<std::filesystem::path> candidates;
  if (!executable.empty()) {
    const std::filesystem::path bin_dir = executable.parent_path();
    candidates.push_back(bin_dir / ".." / "share" / "critmin" / "data");  // installed
    candidates.push_back(bin_dir / ".." / "data");                        // build/ in the tree
  }
  candidates.emplace_back(CRITMIN_SOURCE_DATA_DIR);
  candidates.emplace_back(CRITMIN_INSTALL_DATA_DIR);
  return candidates;
}

}  // namespace

Result<std::filesystem::path> locate_reference_tables(
    const std::filesystem::path& executable_path) {
  std::string tried;
  for (const auto& candidate : default_candidates(executable_path)) {
    if (holds_reference_tables(candidate)) return candidate.lexically_normal();
    tried += "\n  " + candidate.lexically_normal().string();
  }
  return Status::not_found(fmt::format(
      "no reference tables (reference/, estimates/, schema/) found; pass --reference DIR. "
      "Looked in:{}",
      tried));
}

Result<std::filesystem::path> locate_dataset(const std::filesystem::path& explicit_dir,
                                             const std::filesystem::path& executable_path) {
  if (!explicit_dir.empty()) {
    if (looks_like_dataset(explicit_dir)) return explicit_dir;
    return Status::not_found(fmt::format(
        "{}: not a critmin dataset (expected countries.csv and schema/); create one with "
        "`critmin data import --from SOURCES --out {}`",
        explicit_dir.string(), explicit_dir.string()));
  }
  std::string tried;
  for (const auto& candidate : default_candidates(executable_path)) {
    if (looks_like_dataset(candidate)) return candidate.lexically_normal();
    tried += "\n  " + candidate.lexically_normal().string();
  }
  return Status::not_found(
      fmt::format("no critmin dataset found; pass --data DIR. Looked in:{}", tried));
}

}  // namespace critmin
