// critmin report: an HTML report and an XLSX workbook of a results directory.
#include <fmt/format.h>

#include <functional>
#include <iostream>

#include "commands.h"
#include "critmin/core/files.h"
#include "critmin/report/results_report.h"

namespace critmin::cli {

namespace {

// Writes the HTML page of a report model (when html_file is given) and the workbook that
// `write_xlsx` writes (when xlsx_file is given), and says what it wrote.
Status write_reports(const std::function<Result<report::ReportModel>()>& model,
                     const std::function<Status(const std::string&)>& write_xlsx,
                     const std::string& html_file, const std::string& xlsx_file) {
  if (!html_file.empty()) {
    Result<report::ReportModel> built = model();
    CRITMIN_RETURN_IF_ERROR(built);
    if (Status s = write_text_file(html_file, report::report_model_to_html(built.value()));
        !s.is_ok()) {
      return s;
    }
    std::cerr << "critmin: wrote the report " << html_file << "\n";
  }
  if (!xlsx_file.empty()) {
    if (Status s = write_xlsx(xlsx_file); !s.is_ok()) return s;
    std::cerr << "critmin: wrote the workbook " << xlsx_file << "\n";
  }
  return Status::ok();
}

}  // namespace

Status write_result_reports(const Dataset& data, const std::string& summary_json,
                            const std::string& html_file, const std::string& xlsx_file) {
  return write_reports(
      [&] { return report::build_report_model(summary_json, data); },
      [&](const std::string& file) { return report::summary_to_xlsx(summary_json, file); },
      html_file, xlsx_file);
}

Status write_results_reports(const Dataset& data, const report::ResultsFiles& files,
                             const std::string& html_file, const std::string& xlsx_file) {
  if (files.kind == report::ResultsKind::kSimulation) {
    return write_result_reports(data, files.summary_json, html_file, xlsx_file);
  }
  return write_reports(
      [&] { return report::build_results_report_model(files, data); },
      [&](const std::string& file) { return report::results_to_xlsx(files, data, file); },
      html_file, xlsx_file);
}

void register_report_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Write a results directory (of critmin simulate, compare or ensemble --out DIR) as a "
      "self-contained HTML report with charts (--html) and/or an XLSX workbook with one sheet "
      "per table (--xlsx); see docs/report.md");
  struct Flags {
    std::string results;
    std::string html;
    std::string xlsx;
    std::string data;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("RESULTS_DIR", flags->results,
                  "results directory: summary.json (simulate, ensemble) or compare.json (compare)")
      ->required();
  cmd->add_option("--html", flags->html, "write the HTML report to this file");
  cmd->add_option("--xlsx", flags->xlsx, "write the XLSX workbook to this file");
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  cmd->callback([&common, flags] {
    if (flags->html.empty() && flags->xlsx.empty()) {
      common.exit_code =
          report_error(Status::invalid_input("report: give --html FILE, --xlsx FILE or both"));
      return;
    }
    Result<report::ResultsFiles> files = report::read_results_directory(flags->results);
    if (!files.is_ok()) {
      common.exit_code = report_error(files.status());
      return;
    }
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    if (Status s = write_results_reports(data.value(), files.value(), flags->html, flags->xlsx);
        !s.is_ok()) {
      common.exit_code = report_error(s);
    }
  });
}

}  // namespace critmin::cli
