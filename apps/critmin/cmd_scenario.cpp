// critmin scenario reference | check
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "commands.h"
#include "critmin/core/files.h"
#include "critmin/scenario/scenario.h"

namespace critmin::cli {

void register_scenario_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "scenario", "The scenario files: print every table and key they may have, or check a file");
  cmd->require_subcommand(1);

  CLI::App* reference = cmd->add_subcommand(
      "reference",
      "Print every table and key of a scenario file with its type, unit, default, range and "
      "meaning (Markdown, as docs/scenario-reference.md; --format json for programs)");
  auto reference_format = std::make_shared<std::string>("markdown");
  reference->add_option("--format", *reference_format, "markdown (default) or json")
      ->check(CLI::IsMember({"markdown", "json"}));
  reference->callback([reference_format] {
    std::cout << (*reference_format == "json" ? scenario::scenario_reference_json() + "\n"
                                              : scenario::scenario_reference_markdown());
  });

  struct CheckFlags {
    std::string file;
    std::string purpose = "simulate";
    std::string data;
  };
  auto flags = std::make_shared<CheckFlags>();
  CLI::App* check = cmd->add_subcommand(
      "check", "Read a scenario file as a command would and report every problem at file:line:key");
  check->add_option("FILE", flags->file, "scenario TOML")->required();
  check
      ->add_option("--for", flags->purpose,
                   "the command it is for: clear, simulate (also ensemble and compare) or "
                   "backtest (default simulate)")
      ->check(CLI::IsMember({"clear", "simulate", "backtest"}));
  check->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  check->callback([flags, &common] {
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    Result<std::string> text = read_text_file(flags->file);
    if (!text.is_ok()) {
      common.exit_code = report_error(text.status());
      return;
    }
    Status status;
    std::string summary;
    if (flags->purpose == "backtest") {
      Result<scenario::Episode> episode =
          scenario::read_episode(text.value(), flags->file, data.value());
      status = episode.status();
      if (episode.is_ok()) {
        summary = fmt::format("a back-test episode of {} ({} observations)",
                              episode.value().scenario.materials.front(),
                              episode.value().observed.size());
      }
    } else {
      const auto purpose =
          flags->purpose == "clear" ? scenario::Purpose::kClear : scenario::Purpose::kSimulate;
      Result<scenario::ScenarioSpec> spec =
          scenario::read_scenario(text.value(), flags->file, data.value(), purpose);
      status = spec.status();
      if (spec.is_ok()) {
        const scenario::ScenarioSpec& s = spec.value();
        summary = fmt::format("{} instruments, {} tariffs, {} export restrictions",
                              s.clearing.instruments.size(), s.clearing.trade.tariffs.size(),
                              s.clearing.trade.restrictions.size());
        if (purpose == scenario::Purpose::kSimulate) {
          summary += fmt::format(", {} disruptions, {} projects; {}-{} on {} data; materials: {}",
                                 s.disruptions.size(), s.projects.size(), s.first_year, s.last_year,
                                 s.base_year, fmt::join(s.materials, ", "));
        }
      }
    }
    if (!status.is_ok()) {
      common.exit_code = report_error(status);
      return;
    }
    std::cout << fmt::format("{}: ok for critmin {}: {}\n", flags->file, flags->purpose, summary);
  });
}

}  // namespace critmin::cli
