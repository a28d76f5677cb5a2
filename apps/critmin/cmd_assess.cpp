// critmin assess
#include <fmt/format.h>

#include <iostream>

#include "commands.h"
#include "critmin/core/files.h"
#include "critmin/metrics/assess.h"
#include "critmin/report/report.h"
#include "critmin/scenario/scenario.h"

namespace critmin::cli {

void register_assess_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "assess",
      "Supply concentration, governance-weighted risk, the CRMA 65% benchmark and EU/NL import "
      "dependency per material and stage");
  struct Flags {
    std::vector<std::string> materials;
    std::string stage;
    std::string bloc;
    std::vector<std::string> regions;
    std::string format = "table";
    std::string out;
    std::string data;
    std::string assumptions;
    bool breaches_only = false;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--material", flags->materials,
                  "material id, name or group (REE, HREE, LREE, PGM, NdPr: their members); "
                  "repeatable");
  cmd->add_option("--stage", flags->stage, "extraction or processing (default: both)")
      ->check(CLI::IsMember({"extraction", "processing"}));
  cmd->add_option("--bloc", flags->bloc,
                  "bloc name (EU27, MSP, club) or ISO3 list such as USA,JPN,EU27");
  cmd->add_option("--region", flags->regions,
                  "importing region for import dependency: EU27 (extra-EU imports) or an EU "
                  "member's ISO3 such as NLD; repeatable (default: EU27 and NLD)");
  cmd->add_option("--format", flags->format, "table, csv, json or xlsx")
      ->check(CLI::IsMember({"table", "csv", "json", "xlsx"}));
  cmd->add_option("--out", flags->out, "write to this file instead of stdout (required for xlsx)");
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  cmd->add_option("--assumptions", flags->assumptions,
                  "TOML file overriding supply-risk inputs: [supply_risk.MATERIAL] eol_rir, "
                  "substitution_index, basis");
  cmd->add_flag("--breaches-only", flags->breaches_only,
                "only rows where one third country supplies more than 65% (CRMA benchmark)");
  cmd->callback([&common, flags] {
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    AssessOptions options;
    options.materials = flags->materials;
    if (!flags->stage.empty()) options.stage = parse_stage(flags->stage);
    options.bloc = flags->bloc;
    if (!flags->regions.empty()) options.regions = flags->regions;
    options.breaches_only = flags->breaches_only;
    if (!flags->assumptions.empty()) {
      Result<std::string> text = read_text_file(flags->assumptions);
      if (!text.is_ok()) {
        common.exit_code = report_error(text.status());
        return;
      }
      auto overrides = scenario::read_assumptions(text.value(), flags->assumptions, data.value());
      if (!overrides.is_ok()) {
        common.exit_code = report_error(overrides.status());
        return;
      }
      options.overrides = std::move(overrides).value();
    }
    Result<std::vector<AssessmentRow>> rows = assess(data.value(), options);
    if (!rows.is_ok()) {
      common.exit_code = report_error(rows.status());
      return;
    }
    if (flags->format == "xlsx") {
      if (flags->out.empty()) {
        common.exit_code = report_error(
            Status::invalid_input("--format xlsx needs --out FILE.xlsx (a workbook is binary)"));
        return;
      }
      Status status = assess_to_xlsx(rows.value(), flags->out);
      if (!status.is_ok()) common.exit_code = report_error(status);
      return;
    }
    std::string text;
    if (flags->format == "json") {
      text = assess_to_json(rows.value());
    } else if (flags->format == "csv") {
      text = assess_to_csv(rows.value());
    } else {
      text = assess_to_table(rows.value());
    }
    if (flags->out.empty()) {
      std::cout << text;
      return;
    }
    Status status = write_text_file(flags->out, text);
    if (!status.is_ok()) common.exit_code = report_error(status);
  });
}

}  // namespace critmin::cli
