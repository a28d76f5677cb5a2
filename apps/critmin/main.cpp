#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <string_view>
#include <system_error>

#include "commands.h"
#include "critmin/core/suggest.h"

namespace critmin::cli {

int report_error(const Status& status) {
  std::cerr << "critmin: error: " << status.to_string() << "\n";
  return report_error_code(status);
}

int report_error_code(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidInput:
      return 2;
    case StatusCode::kNotFound:
      return 3;
    case StatusCode::kIoError:
      return 4;
    default:
      return 1;
  }
}

Result<Dataset> open_dataset(const CommonOptions& common, const std::string& data_flag) {
  Result<std::filesystem::path> dir = locate_dataset(data_flag, common.executable);
  CRITMIN_RETURN_IF_ERROR(dir);
  return load_dataset(dir.value());
}

namespace {

// The names a command accepts after it: its long flags ("--material"), which a misspelling is
// matched against, its short flags ("-h"), which are only recognised (any letter is one edit from
// them), and its subcommands.
struct CommandNames {
  std::vector<std::string> long_flags;
  std::vector<std::string> short_flags;
  std::vector<std::string> subcommands;
};

CommandNames names_of(const CLI::App& command) {
  CommandNames names;
  for (const CLI::Option* option : command.get_options()) {
    for (const std::string& name : option->get_lnames()) names.long_flags.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.short_flags.push_back("-" + name);
  }
  for (const CLI::App* sub : command.get_subcommands({})) {
    names.subcommands.push_back(sub->get_name());
  }
  return names;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool is_number(std::string_view text) {
  double value = 0.0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// The first word of the command line that no command takes, with the names it was probably meant
// to be, as "unknown flag --materail for critmin clear (did you mean --material?)"; empty when
// every flag and subcommand is known or a misspelling has no near name. Walks the command line as
// CLI11 does: a subcommand's name selects it, and the flags after it are that subcommand's.
std::string suggest_for_unknown_words(const CLI::App& app, int argc, char** argv) {
  const CLI::App* command = &app;
  std::string path = app.get_name();
  for (int i = 1; i < argc; ++i) {
    const std::string_view word = argv[i];
    if (word == "--") break;  // everything after is positional
    const CommandNames names = names_of(*command);
    if (word.size() > 1 && word[0] == '-' && !is_number(word)) {
      const std::string flag(word.substr(0, word.find('=')));
      if (contains(names.long_flags, flag) || contains(names.short_flags, flag)) continue;
      const std::string hint = did_you_mean(flag, names.long_flags);
      if (hint.empty()) return {};
      return fmt::format("unknown flag {} for {}{}; run {} --help for its flags", flag, path, hint,
                         path);
    }
    if (contains(names.subcommands, word)) {
      command = command->get_subcommand(std::string(word));
      path += " " + command->get_name();
      continue;
    }
    // A word of a command that takes subcommands and no positional argument is a mistyped
    // subcommand (`critmin clera`); elsewhere it is an option's value or a positional argument.
    if (!names.subcommands.empty() &&
        command->get_options([](const CLI::Option* option) { return option->get_positional(); })
            .empty()) {
      const std::string hint = did_you_mean(word, names.subcommands);
      if (hint.empty()) return {};
      return fmt::format("unknown command '{}' for {}{}; run {} --help for its commands", word,
                         path, hint, path);
    }
  }
  return {};
}

}  // namespace

}  // namespace critmin::cli

int main(int argc, char** argv) {
  using namespace critmin::cli;
  CLI::App app{
      "critmin: supply security of critical raw materials and the design of a plurilateral "
      "critical-minerals club, on public data.",
      "critmin"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "critmin 0.1.0");
  CommonOptions common;
  std::error_code error;
  common.executable = std::filesystem::read_symlink("/proc/self/exe", error);
  if (error) common.executable = argv[0];
  register_data_commands(app, common);
  register_assess_command(app, common);
  register_clear_command(app, common);
  register_serve_command(app, common);
  register_simulate_command(app, common);
  register_compare_command(app, common);
  register_backtest_command(app, common);
  register_scenario_command(app, common);
  register_report_command(app, common);
  register_ensemble_command(app, common);
  register_investability_command(app, common);
  // Exit codes, the same for every subcommand (docs/cli.md): 0 ok, 1 internal error, 2 bad input
  // or usage, 3 not found, 4 I/O. CLI11's own codes for a parse error (106, 109, ...) all mean
  // bad usage, so they become 2; --help and --version stay 0.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() != 0) {
      // A mistyped flag or subcommand is named with the one meant, before CLI11's own message
      // (which, for a mistyped required flag, only says that the flag is missing).
      if (const std::string hint = suggest_for_unknown_words(app, argc, argv); !hint.empty()) {
        std::cerr << "critmin: error: " << hint << "\n";
        return 2;
      }
    }
    const int code = app.exit(e);  // prints the help, the version or the error and the usage hint
    return code == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    std::cerr << "critmin: internal error: " << e.what() << "\n";
    return 1;
  }
  return common.exit_code;
}
