// critmin clear
#include <fmt/format.h>

#include <iostream>

#include "commands.h"
#include "critmin/core/files.h"
#include "critmin/market/calibration.h"
#include "critmin/market/trade_measures.h"
#include "critmin/policy/club.h"
#include "critmin/report/report.h"

namespace critmin::cli {

void register_clear_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "clear",
      "Clear the market of one material in one year: prices, production, consumption and "
      "flows per region and stage, with optional tariffs and export restrictions");
  struct Flags {
    std::string material;
    int year = 2023;
    std::string scenario;
    std::string format = "table";
    std::string solver = "network";
    std::string out;
    std::string data;
  };
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--material", flags->material, "material id or name, e.g. gallium")->required();
  cmd->add_option("--year", flags->year, "base year of the data (default 2023)")
      ->check(CLI::Range(1990, 2100));
  cmd->add_option("--scenario", flags->scenario,
                  "scenario TOML: [club], [[instrument]], [[tariff]], [[export_restriction]]");
  cmd->add_option("--format", flags->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--solver", flags->solver,
                  "network (LEMON network simplex, fast) or lp (COIN-OR Clp, reference)")
      ->check(CLI::IsMember({"network", "lp"}));
  cmd->add_option("--out", flags->out, "write to this file instead of stdout");
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  cmd->callback([&common, flags] {
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    Result<market::CalibratedMarket> market =
        market::build_market(data.value(), flags->material, flags->year);
    if (!market.is_ok()) {
      common.exit_code = report_error(market.status());
      return;
    }
    const market::SolverPath path =
        flags->solver == "lp" ? market::SolverPath::kLinearProgram : market::SolverPath::kNetwork;
    std::optional<policy::ClubOutcome> club;
    Result<market::Equilibrium> eq = Status::internal("not cleared");
    if (!flags->scenario.empty()) {
      Result<std::string> text = read_text_file(flags->scenario);
      if (!text.is_ok()) {
        common.exit_code = report_error(text.status());
        return;
      }
      Result<policy::ClearingScenario> scenario =
          policy::read_clearing_scenario(text.value(), flags->scenario, data.value(), flags->year);
      if (!scenario.is_ok()) {
        common.exit_code = report_error(scenario.status());
        return;
      }
      Result<policy::ClubOutcome> outcome =
          policy::clear_with_instruments(data.value(), market.value(), scenario.value(), path);
      if (!outcome.is_ok()) {
        common.exit_code = report_error(outcome.status());
        return;
      }
      club = std::move(outcome).value();
      eq = club->equilibrium;
    } else {
      eq = market::clear_market(market.value().model, path);
    }
    if (!eq.is_ok()) {
      common.exit_code = report_error(eq.status());
      return;
    }
    const policy::ClubOutcome* club_outcome = club ? &*club : nullptr;
    const std::string text =
        flags->format == "json"
            ? equilibrium_to_json(market.value(), eq.value(), flags->solver, club_outcome)
            : equilibrium_to_table(market.value(), eq.value(), flags->solver, club_outcome);
    if (flags->out.empty()) {
      std::cout << text;
    } else if (Status status = write_text_file(flags->out, text); !status.is_ok()) {
      common.exit_code = report_error(status);
      return;
    }
    // A market without an equilibrium is an answer, not a crash, but scripts should see it.
    if (eq.value().termination != market::Termination::kOptimal) common.exit_code = 5;
  });
}

}  // namespace critmin::cli
