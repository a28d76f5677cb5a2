// XLSX output through libxlsxwriter (Debian libxlsxwriter-dev).
#include <fmt/format.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/text.h"
#include "critmin/report/report.h"
#include "critmin/report/results_report.h"
#include "report/assess_columns.h"
#include "report/report_text.h"
#include "report/xlsx_support.h"

namespace critmin {
namespace {

void write_cell(lxw_worksheet* sheet, lxw_row_t row, lxw_col_t col, const std::string& text,
                bool numeric, lxw_format* format) {
  if (text.empty()) return;
  if (numeric) {
    if (const auto value = parse_double(text)) {
      worksheet_write_number(sheet, row, col, *value, format);
      return;
    }
  }
  worksheet_write_string(sheet, row, col, text.c_str(), nullptr);
}

// The display format of each column of text cells (nullptr for text columns).
std::vector<lxw_format*> column_formats(const report::NumberFormats& formats,
                                        const std::vector<std::string>& headers,
                                        const std::vector<bool>& numeric,
                                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<lxw_format*> out(headers.size(), nullptr);
  for (std::size_t c = 0; c < headers.size(); ++c) {
    if (!numeric[c]) continue;
    std::vector<double> values;
    for (const auto& row : rows) {
      if (const auto value = parse_double(row[c])) values.push_back(*value);
    }
    out[c] = report::column_format(formats, headers[c], values);
  }
  return out;
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

  const report::NumberFormats number_formats = report::add_number_formats(workbook);

  // The key columns (material, stage) come first in assess_columns already.
  const AssessColumns columns = assess_columns(rows);
  const std::vector<lxw_format*> formats =
      column_formats(number_formats, columns.headers, columns.numeric, columns.cells);
  lxw_worksheet* sheet = workbook_add_worksheet(workbook, "assessment");
  for (std::size_t c = 0; c < columns.headers.size(); ++c) {
    worksheet_write_string(sheet, 0, static_cast<lxw_col_t>(c), columns.headers[c].c_str(), bold);
  }
  for (std::size_t r = 0; r < columns.cells.size(); ++r) {
    for (std::size_t c = 0; c < columns.headers.size(); ++c) {
      write_cell(sheet, static_cast<lxw_row_t>(r + 1), static_cast<lxw_col_t>(c),
                 columns.cells[r][c], columns.numeric[c], formats[c]);
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
                                                   "china_share [0-1]",
                                                   "main_partners [ISO3 share]",
                                                   "partner_hhi [0-10000]",
                                                   "extra_eu_share [0-1]",
                                                   "import_weighted_risk [0-1]",
                                                   "cn8_codes",
                                                   "shared_basket"};
  for (std::size_t c = 0; c < import_headers.size(); ++c) {
    worksheet_write_string(imports, 0, static_cast<lxw_col_t>(c), import_headers[c].c_str(), bold);
  }
  std::vector<std::vector<std::string>> import_cells;
  std::vector<bool> import_numeric;
  for (const AssessmentRow& r : rows) {
    for (const ImportDependency& d : r.imports) {
      std::string partners;
      for (const PartnerShare& p : d.main_partners) {
        partners += (partners.empty() ? "" : "|") + p.iso3 + " " + format_number(p.share);
      }
      const std::vector<std::pair<std::string, bool>> cells = {
          {r.material, false},
          {stage_name(r.stage), false},
          {d.region, false},
          {std::to_string(d.year), true},
          {format_number(d.value_usd), true},
          {format_number(d.value_eur), true},
          {d.top_partner, false},
          {format_number(d.top_partner_share), true},
          {format_number(d.china_share), true},
          {partners, false},
          {format_number(d.partner_hhi), true},
          {format_number(d.extra_eu_share), true},
          {format_number(d.import_weighted_risk), true},
          {join(d.cn8_codes, " "), false},
          {d.shared_basket ? "true" : "false", false}};
      import_numeric.clear();
      import_cells.emplace_back();
      for (const auto& [text, numeric] : cells) {
        import_cells.back().push_back(text);
        import_numeric.push_back(numeric);
      }
    }
  }
  const std::vector<lxw_format*> import_formats =
      import_cells.empty()
          ? std::vector<lxw_format*>(import_headers.size(), nullptr)
          : column_formats(number_formats, import_headers, import_numeric, import_cells);
  for (std::size_t r = 0; r < import_cells.size(); ++r) {
    for (std::size_t c = 0; c < import_cells[r].size(); ++c) {
      write_cell(imports, static_cast<lxw_row_t>(r + 1), static_cast<lxw_col_t>(c),
                 import_cells[r][c], import_numeric[c], import_formats[c]);
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
                     const nlohmann::json& value, lxw_format* number_format = nullptr) {
  if (value.is_number()) {
    worksheet_write_number(sheet, row, col, value.get<double>(), number_format);
  } else if (value.is_boolean()) {
    worksheet_write_boolean(sheet, row, col, value.get<bool>() ? 1 : 0, nullptr);
  } else if (value.is_string()) {
    worksheet_write_string(sheet, row, col, value.get<std::string>().c_str(), nullptr);
  } else if (!value.is_null()) {
    worksheet_write_string(sheet, row, col, value.dump().c_str(), nullptr);
  }
}

// A column header: the field's label and unit from the output table ("Price [USD/t]").
std::string header_with_unit(const std::string& key) {
  const FigureAttributes& field = summary_field(key);
  return field.unit.empty() ? field.label : fmt::format("{} [{}]", field.label, field.unit);
}

}  // namespace

Status summary_to_xlsx(std::string_view summary_json, const std::filesystem::path& file) {
  using nlohmann::json;
  const json summary = json::parse(summary_json, nullptr, false);
  if (summary.is_discarded() || !summary.is_object() || !summary.contains("series")) {
    return Status::invalid_input(
        "summary.json: not a simulation summary (no 'series'); write it with critmin simulate");
  }
  if (Status fields = check_summary_fields(summary, "summary.json"); !fields.is_ok()) {
    return fields;
  }
  if (Status writable = check_writable(file); !writable.is_ok()) return writable;
  lxw_workbook* workbook = workbook_new(file.string().c_str());
  if (!workbook) {
    return Status::io_error(fmt::format("{}: cannot create the workbook", file.string()));
  }
  lxw_format* bold = workbook_add_format(workbook);
  format_set_bold(bold);
  const NumberFormats formats = add_number_formats(workbook);
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
  worksheet_write_string(scorecard, 0, 3, "key", bold);
  lxw_row_t line = 1;
  for (const auto& [path, value] : figures) {
    const std::string key =
        path.substr(path.rfind('.') == std::string::npos ? 0 : path.rfind('.') + 1);
    const FigureAttributes& field = summary_field(key);
    worksheet_write_string(scorecard, line, 0, field.label.c_str(), nullptr);
    const bool identifier = key == "seed" || key.ends_with("year");
    write_json_cell(scorecard, line, 1, *value,
                    !value->is_number() ? nullptr
                    : identifier        ? formats.plain
                                        : number_format(formats, value->get<double>()));
    if (!field.unit.empty()) {
      worksheet_write_string(scorecard, line, 2, field.unit.c_str(), nullptr);
    }
    worksheet_write_string(scorecard, line, 3, path.c_str(), nullptr);
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
    // What a row is about first (material, year, ...), then its figures.
    std::vector<std::string> ordered;
    for (std::size_t c : key_columns_first(keys)) ordered.push_back(keys[c]);
    keys = std::move(ordered);
    std::vector<lxw_format*> column_formats;
    for (const std::string& key : keys) {
      std::vector<double> values;
      for (const json& row : *rows) {
        if (!row.is_object()) continue;
        auto it = row.find(key);
        if (it != row.end() && it->is_number()) values.push_back(it->get<double>());
      }
      column_formats.push_back(column_format(formats, key, values));
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
        if (it != row.end()) {
          write_json_cell(sheet, r, static_cast<lxw_col_t>(c), *it, column_formats[c]);
        }
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

NumberFormats add_number_formats(lxw_workbook* workbook) {
  const auto add = [workbook](const char* text) {
    lxw_format* format = workbook_add_format(workbook);
    format_set_num_format(format, text);
    return format;
  };
  return {add("#,##0"), add("#,##0.00"), add("0.000"), add("0")};
}

lxw_format* number_format(const NumberFormats& formats, double value) {
  const double magnitude = std::fabs(value);
  if (magnitude >= 100.0) return formats.whole;
  if (magnitude >= 1.0) return formats.hundredths;
  return formats.thousandths;
}

lxw_format* column_format(const NumberFormats& formats, std::string_view key,
                          const std::vector<double>& values) {
  std::string lower(key);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* word : {"year", "run", "seed"}) {
    // "year", "first_year", "Year", "run" but not "runs share" or "yearly growth".
    const std::size_t at = lower.find(word);
    if (at == std::string::npos) continue;
    const std::size_t end = at + std::strlen(word);
    const auto letter = [&](std::size_t i) {
      return std::isalpha(static_cast<unsigned char>(lower[i])) != 0;
    };
    if ((at == 0 || !letter(at - 1)) && (end == lower.size() || !letter(end))) {
      return formats.plain;
    }
  }
  double largest = 0.0;
  for (double v : values) largest = std::max(largest, std::fabs(v));
  return number_format(formats, largest);
}

std::vector<std::size_t> key_columns_first(const std::vector<std::string>& keys) {
  static const std::vector<std::string_view> kKeyColumns = {
      "design", "material", "element", "region", "country", "partner",
      "stage",  "year",     "month",   "run",    "figure"};
  std::vector<std::size_t> order;
  for (std::string_view key : kKeyColumns) {
    for (std::size_t c = 0; c < keys.size(); ++c) {
      if (keys[c] == key) order.push_back(c);
    }
  }
  for (std::size_t c = 0; c < keys.size(); ++c) {
    if (std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);
  }
  return order;
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
