// XLSX output through libxlsxwriter (Debian libxlsxwriter-dev).
#include <fmt/format.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/text.h"
#include "critmin/report/report.h"
#include "critmin/report/results_report.h"
#include "report/assess_columns.h"
#include "report/xlsx_support.h"

namespace critmin {
namespace {

void write_cell(lxw_worksheet* sheet, lxw_row_t row, lxw_col_t col, const std::string& text,
                bool numeric) {
  if (text.empty()) return;
  if (numeric) {
    if (const auto value = parse_double(text)) {
      worksheet_write_number(sheet, row, col, *value, nullptr);
      return;
    }
  }
  worksheet_write_string(sheet, row, col, text.c_str(), nullptr);
}

}  // namespace

namespace {

// libxlsxwriter reports a file it cannot create on stderr (at workbook_close); check the usual
// causes first so that the caller gets a Status and critmin prints nothing itself.
Status check_writable(const std::filesystem::path& file) {
  std::error_code error;
  const std::filesystem::path parent =
      file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path();
  if (!std::filesystem::is_directory(parent, error)) {
    return Status::io_error(
        fmt::format("{}: the directory {} does not exist; create it or write the workbook "
                    "elsewhere",
                    file.string(), parent.string()));
  }
  if (::access(parent.c_str(), W_OK) != 0) {
    return Status::io_error(
        fmt::format("{}: the directory {} is not writable; check its permissions or write the "
                    "workbook elsewhere",
                    file.string(), parent.string()));
  }
  const std::filesystem::file_status status = std::filesystem::status(file, error);
  if (std::filesystem::is_directory(status)) {
    return Status::io_error(fmt::format(
        "{}: is a directory; give the path of the workbook file to write", file.string()));
  }
  if (std::filesystem::exists(status) && ::access(file.c_str(), W_OK) != 0) {
    return Status::io_error(fmt::format(
        "{}: the file exists and is not writable; check its permissions", file.string()));
  }
  return Status::ok();
}

}  // namespace

Status assess_to_xlsx(const std::vector<AssessmentRow>& rows, const std::filesystem::path& file) {
  if (Status writable = check_writable(file); !writable.is_ok()) return writable;
  lxw_workbook* workbook = workbook_new(file.string().c_str());
  if (!workbook) {
    return Status::io_error(fmt::format("{}: cannot create the workbook", file.string()));
  }
  lxw_format* bold = workbook_add_format(workbook);
  format_set_bold(bold);

  const AssessColumns columns = assess_columns(rows);
  lxw_worksheet* sheet = workbook_add_worksheet(workbook, "assessment");
  for (std::size_t c = 0; c < columns.headers.size(); ++c) {
    worksheet_write_string(sheet, 0, static_cast<lxw_col_t>(c), columns.headers[c].c_str(), bold);
  }
  for (std::size_t r = 0; r < columns.cells.size(); ++r) {
    for (std::size_t c = 0; c < columns.headers.size(); ++c) {
      write_cell(sheet, static_cast<lxw_row_t>(r + 1), static_cast<lxw_col_t>(c),
                 columns.cells[r][c], columns.numeric[c]);
    }
  }
  worksheet_freeze_panes(sheet, 1, 2);

  lxw_worksheet* imports = workbook_add_worksheet(workbook, "imports");
  const std::vector<std::string> import_headers = {"material",
                                                   "stage",
                                                   "region",
                                                   "year",
                                                   "value [USD]",
                                                   "value [EUR]",
                                                   "top_partner [ISO3]",
                                                   "top_partner_share [0-1]",
                                                   "partner_hhi [0-10000]",
                                                   "extra_eu_share [0-1]",
                                                   "import_weighted_risk [0-1]",
                                                   "cn8_codes",
                                                   "shared_basket"};
  for (std::size_t c = 0; c < import_headers.size(); ++c) {
    worksheet_write_string(imports, 0, static_cast<lxw_col_t>(c), import_headers[c].c_str(), bold);
  }
  lxw_row_t line = 1;
  for (const AssessmentRow& r : rows) {
    for (const ImportDependency& d : r.imports) {
      const std::vector<std::pair<std::string, bool>> cells = {
          {r.material, false},
          {stage_name(r.stage), false},
          {d.region, false},
          {std::to_string(d.year), true},
          {format_number(d.value_usd), true},
          {format_number(d.value_eur), true},
          {d.top_partner, false},
          {format_number(d.top_partner_share), true},
          {format_number(d.partner_hhi), true},
          {format_number(d.extra_eu_share), true},
          {format_number(d.import_weighted_risk), true},
          {join(d.cn8_codes, " "), false},
          {d.shared_basket ? "true" : "false", false}};
      for (std::size_t c = 0; c < cells.size(); ++c) {
        write_cell(imports, line, static_cast<lxw_col_t>(c), cells[c].first, cells[c].second);
      }
      ++line;
    }
  }

  lxw_worksheet* notes = workbook_add_worksheet(workbook, "notes");
  const std::vector<std::string> note_lines = {
      "critmin assess: supply concentration and supply risk per material and stage",
      "Supply shares: EU CRM 2023 study, Annex 7 (global supply and EU sourcing shares).",
      "hhi: sum of (100 x share)^2, 0-10000. hhi_wgi: sum of share^2 x WGI scaled 0-10 (10 = "
      "weakest governance) x trade factor t.",
      "supply_risk: EU 2017 formula; eol_rir and substitution_index are estimates unless an "
      "assumptions file gave them (see supply_risk_estimated_inputs).",
      "crma_single_country_breach: one non-EU country supplies more than 65% of the stage "
      "(CRMA benchmark).",
      "Imports: Eurostat Comext DS-045409, EUR converted to USD at the annual ECB rate (an "
      "estimate in data/estimates/fx_rates.csv).",
      "Sources and licences: data/SOURCES.md of the critmin dataset."};
  for (std::size_t i = 0; i < note_lines.size(); ++i) {
    worksheet_write_string(notes, static_cast<lxw_row_t>(i), 0, note_lines[i].c_str(), nullptr);
  }
  const lxw_error error = workbook_close(workbook);
  if (error != LXW_NO_ERROR) {
    return Status::io_error(
        fmt::format("{}: cannot write the workbook: {}", file.string(), lxw_strerror(error)));
  }
  return Status::ok();
}

namespace report {

namespace {

// A sheet name as Excel accepts it: at most 31 characters, none of []:*?/\, unique.
std::string sheet_name(std::string name, std::set<std::string>& used) {
  for (char& c : name) {
    if (std::string_view("[]:*?/\\").find(c) != std::string_view::npos) c = '_';
  }
  name = name.substr(0, 28);
  std::string unique = name;
  for (int i = 2; used.count(unique); ++i) unique = name + "_" + std::to_string(i);
  used.insert(unique);
  return unique;
}

void write_json_cell(lxw_worksheet* sheet, lxw_row_t row, lxw_col_t col,
                     const nlohmann::json& value) {
  if (value.is_number()) {
    worksheet_write_number(sheet, row, col, value.get<double>(), nullptr);
  } else if (value.is_boolean()) {
    worksheet_write_boolean(sheet, row, col, value.get<bool>() ? 1 : 0, nullptr);
  } else if (value.is_string()) {
    worksheet_write_string(sheet, row, col, value.get<std::string>().c_str(), nullptr);
  } else if (!value.is_null()) {
    worksheet_write_string(sheet, row, col, value.dump().c_str(), nullptr);
  }
}

std::string header_with_unit(const std::string& key) {
  const std::string unit = unit_of_field(key);
  return unit.empty() ? key : fmt::format("{} [{}]", key, unit);
}

}  // namespace

Status summary_to_xlsx(std::string_view summary_json, const std::filesystem::path& file) {
  using nlohmann::json;
  const json summary = json::parse(summary_json, nullptr, false);
  if (summary.is_discarded() || !summary.is_object() || !summary.contains("series")) {
    return Status::invalid_input(
        "summary.json: not a simulation summary (no 'series'); write it with critmin simulate");
  }
  if (Status writable = check_writable(file); !writable.is_ok()) return writable;
  lxw_workbook* workbook = workbook_new(file.string().c_str());
  if (!workbook) {
    return Status::io_error(fmt::format("{}: cannot create the workbook", file.string()));
  }
  lxw_format* bold = workbook_add_format(workbook);
  format_set_bold(bold);
  std::set<std::string> used;

  // Every scalar of the summary and its scorecard, by path, and the tables found on the way.
  std::vector<std::tuple<std::string, const json*>> figures;
  std::vector<std::pair<std::string, const json*>> tables;
  std::function<void(const json&, const std::string&)> walk = [&](const json& node,
                                                                  const std::string& path) {
    for (const auto& [key, value] : node.items()) {
      const std::string child = path.empty() ? key : path + "." + key;
      if (value.is_object()) {
        walk(value, child);
      } else if (value.is_array() && !value.empty() && value.front().is_object()) {
        tables.emplace_back(key, &value);
      } else if (value.is_primitive()) {
        figures.emplace_back(child, &value);
      } else if (key == "years" && value.size() == 2) {
        figures.emplace_back("first_year", &value[0]);
        figures.emplace_back("last_year", &value[1]);
      }
    }
  };
  walk(summary, "");
  // The series first: it is the table most people open.
  std::stable_partition(tables.begin(), tables.end(),
                        [](const auto& table) { return table.first == "series"; });

  lxw_worksheet* scorecard =
      workbook_add_worksheet(workbook, sheet_name("scorecard", used).c_str());
  worksheet_write_string(scorecard, 0, 0, "figure", bold);
  worksheet_write_string(scorecard, 0, 1, "value", bold);
  worksheet_write_string(scorecard, 0, 2, "unit", bold);
  lxw_row_t line = 1;
  for (const auto& [path, value] : figures) {
    const std::string key =
        path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
    worksheet_write_string(scorecard, line, 0, path.c_str(), nullptr);
    write_json_cell(scorecard, line, 1, *value);
    const std::string unit = unit_of_field(key);
    if (!unit.empty()) worksheet_write_string(scorecard, line, 2, unit.c_str(), nullptr);
    ++line;
  }
  worksheet_set_column(scorecard, 0, 0, 48, nullptr);

  for (const auto& [name, rows] : tables) {
    std::vector<std::string> keys;
    std::set<std::string> seen;
    for (const json& row : *rows) {
      if (!row.is_object()) continue;
      for (const auto& [key, value] : row.items()) {
        if (seen.insert(key).second) keys.push_back(key);
      }
    }
    lxw_worksheet* sheet = workbook_add_worksheet(workbook, sheet_name(name, used).c_str());
    for (std::size_t c = 0; c < keys.size(); ++c) {
      worksheet_write_string(sheet, 0, static_cast<lxw_col_t>(c), header_with_unit(keys[c]).c_str(),
                             bold);
    }
    lxw_row_t r = 1;
    for (const json& row : *rows) {
      if (!row.is_object()) continue;
      for (std::size_t c = 0; c < keys.size(); ++c) {
        auto it = row.find(keys[c]);
        if (it != row.end()) write_json_cell(sheet, r, static_cast<lxw_col_t>(c), *it);
      }
      ++r;
    }
    worksheet_freeze_panes(sheet, 1, 0);
  }

  lxw_worksheet* notes = workbook_add_worksheet(workbook, sheet_name("notes", used).c_str());
  return write_notes_and_close(
      workbook, notes,
      {"critmin simulate: results of one run (docs/simulation.md describes every figure)",
       "Units: prices in USD per t of contained content, quantities in t/yr, money in USD, shares "
       "as fractions 0-1, HHI 0-10000.",
       "Sources and estimates: data/SOURCES.md and data/estimates/ of the critmin dataset."},
      summary.contains("notes") ? summary["notes"] : json(), file);
}

Status write_notes_and_close(lxw_workbook* workbook, lxw_worksheet* notes_sheet,
                             std::vector<std::string> lines, const nlohmann::json& notes,
                             const std::filesystem::path& file) {
  if (notes.is_array()) {
    for (const nlohmann::json& note : notes) {
      if (note.is_string()) lines.push_back(note.get<std::string>());
    }
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    worksheet_write_string(notes_sheet, static_cast<lxw_row_t>(i), 0, lines[i].c_str(), nullptr);
  }
  const lxw_error error = workbook_close(workbook);
  if (error != LXW_NO_ERROR) {
    return Status::io_error(
        fmt::format("{}: cannot write the workbook: {}", file.string(), lxw_strerror(error)));
  }
  return Status::ok();
}

}  // namespace report

}  // namespace critmin
