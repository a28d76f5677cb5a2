// Whole-file text I/O with errors as Status (kIoError names the path and what to check).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "critmin/core/status.h"

namespace critmin {

Result<std::string> read_text_file(const std::filesystem::path& path);
Status write_text_file(const std::filesystem::path& path, std::string_view text);

}  // namespace critmin
