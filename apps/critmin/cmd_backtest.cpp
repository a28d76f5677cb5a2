// critmin backtest
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "commands.h"
#include "critmin/core/files.h"
#include "critmin/core/suggest.h"
#include "critmin/scenario/scenario.h"
#include "critmin/sim/backtest.h"
#include "progress.h"

namespace critmin::cli {

void register_backtest_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "backtest",
      "Replay historical episodes (the dataset's episodes/*.toml) with and without their measure "
      "and print the model's prediction next to the observed outcome");
  struct Flags {
    std::vector<std::string> episodes;
    std::string format = "table";
    std::string data;
    std::string progress = "auto";
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("EPISODE", flags->episodes,
                  "episode names (e.g. gallium-germanium-2023) or episode files; default: every "
                  "episode shipped with the dataset");
  cmd->add_option("--format", flags->format, "what to print: table or json")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  add_progress_option(cmd, flags->progress);
  cmd->callback([&common, flags] {
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    const std::vector<std::filesystem::path> shipped =
        sim::shipped_episodes(data.value().directory);
    std::vector<std::filesystem::path> files;
    if (flags->episodes.empty()) files = shipped;
    for (const std::string& name : flags->episodes) {
      if (name.ends_with(".toml")) {
        files.emplace_back(name);
        continue;
      }
      const auto it = std::find_if(shipped.begin(), shipped.end(),
                                   [&](const auto& p) { return p.stem() == name; });
      if (it == shipped.end()) {
        // An unknown name is "not found" (exit 3), like an unknown material, with the nearest.
        std::string names;
        std::vector<std::string> stems;
        for (const auto& p : shipped) {
          names += (names.empty() ? "" : ", ") + p.stem().string();
          stems.push_back(p.stem().string());
        }
        common.exit_code = report_error(Status::not_found(fmt::format(
            "EPISODE: no episode named '{}'{} in {}; the shipped episodes are: {}", name,
            did_you_mean(name, stems), (data.value().directory / "episodes").string(),
            names.empty() ? "(none)" : names)));
        return;
      }
      files.push_back(*it);
    }
    if (files.empty()) {
      common.exit_code = report_error(
          Status::not_found(fmt::format("no episode files in {}; give an episode file",
                                        (data.value().directory / "episodes").string())));
      return;
    }
    std::vector<sim::BacktestResult> results;
    const ProgressReporter reporter("backtest", flags->progress);
    for (const std::filesystem::path& file : files) {
      Result<std::string> text = read_text_file(file);
      if (!text.is_ok()) {
        common.exit_code = report_error(text.status());
        return;
      }
      Result<sim::Episode> episode =
          scenario::read_episode(text.value(), file.string(), data.value());
      if (!episode.is_ok()) {
        common.exit_code = report_error(episode.status());
        return;
      }
      Result<sim::BacktestResult> result = sim::run_backtest(data.value(), episode.value());
      if (!result.is_ok()) {
        common.exit_code = report_error(result.status());
        return;
      }
      results.push_back(std::move(result).value());
      reporter.step(static_cast<long long>(results.size()), static_cast<long long>(files.size()),
                    fmt::format("episode {}", file.stem().string()));
    }
    std::cout << (flags->format == "json" ? sim::backtests_to_json(results)
                                          : sim::backtests_to_table(results));
  });
}

}  // namespace critmin::cli
