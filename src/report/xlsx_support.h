// Pieces of XLSX output shared by the report writers (libxlsxwriter).
#pragma once

#include <xlsxwriter.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"

namespace critmin::report {

// Display formats that round what a sheet shows while the cells keep full precision (a reader who
// sums or charts them gets the exact values): whole numbers with thousands separators from 100 up,
// two decimals from 1, three below (shares), and identifiers such as years as written.
struct NumberFormats {
  lxw_format* whole = nullptr;        // "#,##0"
  lxw_format* hundredths = nullptr;   // "#,##0.00"
  lxw_format* thousandths = nullptr;  // "0.000"
  lxw_format* plain = nullptr;        // "0": years, runs, seeds
};

NumberFormats add_number_formats(lxw_workbook* workbook);

// The format of one number by its magnitude (a column of mixed figures, such as a scorecard).
lxw_format* number_format(const NumberFormats& formats, double value);

// The format of a column of numbers: by the largest magnitude in it, so a column rounds alike;
// `plain` for a column named as an identifier (a year, a run or a seed).
lxw_format* column_format(const NumberFormats& formats, std::string_view key,
                          const std::vector<double>& values);

// The order to write `keys` in: the key columns that say what a row is about (design, material,
// element, region, country, stage, year, run, ...) first, in that order, then the others as given.
std::vector<std::size_t> key_columns_first(const std::vector<std::string>& keys);

// Writes `lines`, then every string of `notes` (when it is an array), one a row into the sheet
// `notes_sheet`, and closes the workbook. An error closing it is an I/O error naming `file`.
Status write_notes_and_close(lxw_workbook* workbook, lxw_worksheet* notes_sheet,
                             std::vector<std::string> lines, const nlohmann::json& notes,
                             const std::filesystem::path& file);

}  // namespace critmin::report
