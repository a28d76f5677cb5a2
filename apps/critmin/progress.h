// Progress of the long commands (simulate, ensemble, compare, backtest) on stderr, selected by
// `--progress`: auto (the default) rewrites one line when stderr is a terminal and prints nothing
// otherwise (a log file gets no carriage returns); json prints one JSON object per step and line,
// {"command":"simulate","step":3,"of":11,"what":"year 2027"}, for notebooks and other programs;
// none prints nothing. The results on stdout never change with it.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

namespace critmin::cli {

inline constexpr const char* kProgressHelp =
    "progress on stderr: auto (a line on a terminal, nothing otherwise), json (one JSON line per "
    "step: {\"command\",\"step\",\"of\",\"what\"}) or none";

// Adds `--progress auto|json|none` to a command, into `mode` (default "auto").
inline CLI::Option* add_progress_option(CLI::App* command, std::string& mode) {
  return command->add_option("--progress", mode, kProgressHelp)
      ->check(CLI::IsMember({"auto", "json", "none"}));
}

class ProgressReporter {
 public:
  // `mode` is the --progress value; `speaker` false silences it (an MPI rank other than 0).
  ProgressReporter(std::string command, const std::string& mode, bool speaker = true)
      : command_(std::move(command)),
        json_(speaker && mode == "json"),
        terminal_(speaker && mode == "auto" && isatty(STDERR_FILENO) != 0) {}

  bool active() const { return json_ || terminal_; }

  // Step `done` of `of` is done; `what` names it ("year 2031", "run 12"). Not thread-safe: the
  // library's callbacks call it one at a time.
  void step(long long done, long long of, const std::string& what) const {
    if (json_) {
      const nlohmann::ordered_json line = {
          {"command", command_}, {"step", done}, {"of", of}, {"what", what}};
      std::cerr << line.dump() << "\n" << std::flush;
    } else if (terminal_) {
      std::cerr << fmt::format("\rcritmin {}: {} ({}/{})\x1b[K", command_, what, done, of)
                << (done == of ? "\n" : "") << std::flush;
    }
  }

 private:
  std::string command_;
  bool json_ = false;
  bool terminal_ = false;
};

}  // namespace critmin::cli
