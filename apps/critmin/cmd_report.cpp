// critmin report: an HTML report and an XLSX workbook of a results directory.
#include <fmt/format.h>

#include <iostream>

#include "commands.h"
#include "critmin/files.h"
#include "critmin/results_report.h"

namespace critmin::cli {

Status write_result_reports(const Dataset& data, const std::string& summary_json,
                            const std::string& html_file, const std::string& xlsx_file) {
  if (!html_file.empty()) {
    Result<std::string> model = report::build_report_model(summary_json, data);
    if (!model.is_ok()) return model.status();
    if (Status s = write_text_file(html_file, report::report_model_to_html(model.value()));
        !s.is_ok()) {
      return s;
    }
    std::cerr << "critmin: wrote the report " << html_file << "\n";
  }
  if (!xlsx_file.empty()) {
    if (Status s = report::summary_to_xlsx(summary_json, xlsx_file); !s.is_ok()) return s;
    std::cerr << "critmin: wrote the workbook " << xlsx_file << "\n";
  }
  return Status::ok();
}

void register_report_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Write a results directory (of critmin simulate) as a self-contained HTML report with "
      "charts (--html) and/or an XLSX workbook with one sheet per table (--xlsx); see "
      "docs/report.md");
  struct Flags {
    std::string results;
    std::string html;
    std::string xlsx;
    std::string data;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("RESULTS_DIR", flags->results, "results directory holding summary.json")
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
    Result<std::string> summary = report::read_results_summary(flags->results);
    if (!summary.is_ok()) {
      common.exit_code = report_error(summary.status());
      return;
    }
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    if (Status s = write_result_reports(data.value(), summary.value(), flags->html, flags->xlsx);
        !s.is_ok()) {
      common.exit_code = report_error(s);
    }
  });
}

}  // namespace critmin::cli
