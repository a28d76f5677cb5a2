// Pieces of XLSX output shared by the report writers (libxlsxwriter).
#pragma once

#include <xlsxwriter.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "critmin/core/status.h"

namespace critmin::report {

// Writes `lines`, then every string of `notes` (when it is an array), one a row into the sheet
// `notes_sheet`, and closes the workbook. An error closing it is an I/O error naming `file`.
Status write_notes_and_close(lxw_workbook* workbook, lxw_worksheet* notes_sheet,
                             std::vector<std::string> lines, const nlohmann::json& notes,
                             const std::filesystem::path& file);

}  // namespace critmin::report
