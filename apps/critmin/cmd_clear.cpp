// critmin clear
#include <fmt/format.h>

#include <cctype>
#include <iostream>
#include <optional>

#include "commands.h"
#include "critmin/core/files.h"
#include "critmin/market/calibration.h"
#include "critmin/market/rare_earths.h"
#include "critmin/market/trade_measures.h"
#include "critmin/policy/club.h"
#include "critmin/report/joint_writers.h"
#include "critmin/report/report.h"
#include "critmin/scenario/scenario.h"

namespace critmin::cli {

namespace {

struct ClearFlags {
  std::string material;
  int year = 2023;
  std::string scenario;
  std::string format = "table";
  std::string solver = "network";
  std::string out;
  std::string data;
};

// Writes the output to --out or stdout; false (and the exit code set) when writing failed.
bool emit(CommonOptions& common, const ClearFlags& flags, const std::string& text) {
  if (flags.out.empty()) {
    std::cout << text;
  } else if (Status status = write_text_file(flags.out, text); !status.is_ok()) {
    common.exit_code = report_error(status);
    return false;
  }
  return true;
}

// The exit code of an answer without an equilibrium (docs/cli.md): no equilibrium with this input
// is bad input (2); a solver that stopped at its limit is an internal error (1).
void set_termination_exit_code(CommonOptions& common, market::Termination termination) {
  if (termination == market::Termination::kIterationLimit) {
    common.exit_code = 1;
  } else if (termination != market::Termination::kOptimal) {
    common.exit_code = 2;
  }
}

// A rare earth: the joint market of the 15 elements, reported for `element`, or for the NdPr
// product (Nd + Pr) when `element` is empty.
void clear_rare_earth(CommonOptions& common, const Dataset& data,
                      std::optional<std::size_t> element, const ClearFlags& flags,
                      market::SolverPath path) {
  Result<market::CalibratedJointMarket> market = market::build_rare_earth_market(data, flags.year);
  if (!market.is_ok()) {
    common.exit_code = report_error(market.status());
    return;
  }
  Result<market::JointEquilibrium> eq = market::clear_joint_market(market.value().model, path);
  if (!eq.is_ok()) {
    common.exit_code = report_error(eq.status());
    return;
  }
  if (eq.value().elements.size() != market.value().model.elements.size()) {
    // No equilibrium: nothing per element to show.
    if (!emit(common, flags,
              fmt::format("rare earths {}: {}\nreason: {}\n", flags.year,
                          market::termination_name(eq.value().termination), eq.value().reason))) {
      return;
    }
  } else if (element) {
    const std::string text =
        flags.format == "json"
            ? joint_equilibrium_to_json(market.value(), eq.value(), *element, flags.solver)
            : joint_equilibrium_to_table(market.value(), eq.value(), *element, flags.solver);
    if (!emit(common, flags, text)) return;
  } else {
    Result<market::CompositeProduct> product =
        market::ndpr_product(data, market.value(), eq.value());
    if (!product.is_ok()) {
      common.exit_code = report_error(product.status());
      return;
    }
    const std::string text =
        flags.format == "json"
            ? joint_product_to_json(market.value(), eq.value(), product.value(), flags.solver)
            : joint_product_to_table(market.value(), eq.value(), product.value(), flags.solver);
    if (!emit(common, flags, text)) return;
  }
  set_termination_exit_code(common, eq.value().termination);
}

}  // namespace

void register_clear_command(CLI::App& app, CommonOptions& common) {
  CLI::App* cmd = app.add_subcommand(
      "clear",
      "Clear the market of one material in one year: prices, production, consumption and "
      "flows per region and stage, with optional tariffs and export restrictions; a rare earth "
      "clears jointly with the other 14 (one market of their shared mines)");
  using Flags = ClearFlags;
  auto flags = std::make_shared<Flags>();
  cmd->add_option("--material", flags->material, "material id or name, e.g. gallium")->required();
  cmd->add_option("--year", flags->year, "base year of the data (default 2023)")
      ->check(CLI::Range(1990, 2100));
  cmd->add_option("--scenario", flags->scenario,
                  "scenario TOML: [club], [[instrument]], [[tariff]], [[export_restriction]]");
  cmd->add_option("--format", flags->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  cmd->add_option("--solver", flags->solver,
                  "network (network simplex, fast) or lp (COIN-OR Clp, reference)")
      ->check(CLI::IsMember({"network", "lp"}));
  cmd->add_option("--out", flags->out, "write to this file instead of stdout");
  cmd->add_option("--data", flags->data, "dataset directory (default: the embedded dataset)");
  cmd->callback([&common, flags] {
    Result<Dataset> data = open_dataset(common, flags->data);
    if (!data.is_ok()) {
      common.exit_code = report_error(data.status());
      return;
    }
    const market::SolverPath path =
        flags->solver == "lp" ? market::SolverPath::kLinearProgram : market::SolverPath::kNetwork;
    // A rare earth clears jointly with the other 14 (critmin/market/rare_earths.h); NdPr is the
    // sum of its neodymium and praseodymium markets.
    const bool ndpr = market::names_ndpr(flags->material);
    if (std::optional<std::size_t> element =
            market::rare_earth_element_index(data.value(), flags->material);
        element || ndpr) {
      if (!flags->scenario.empty()) {
        common.exit_code = report_error(Status::invalid_input(fmt::format(
            "--scenario: {} clears in the joint rare-earth market, which does not take scenario "
            "files (clubs, instruments, tariffs, export restrictions) yet; clear it without "
            "--scenario",
            flags->material)));
        return;
      }
      clear_rare_earth(common, data.value(), element, *flags, path);
      return;
    }
    Result<market::CalibratedMarket> market =
        market::build_market(data.value(), flags->material, flags->year);
    if (!market.is_ok()) {
      common.exit_code = report_error(market.status());
      return;
    }
    std::optional<policy::ClubOutcome> club;
    Result<market::Equilibrium> eq = Status::internal("not cleared");
    if (!flags->scenario.empty()) {
      Result<std::string> text = read_text_file(flags->scenario);
      if (!text.is_ok()) {
        common.exit_code = report_error(text.status());
        return;
      }
      Result<policy::ClearingScenario> scenario = scenario::read_clearing_scenario(
          text.value(), flags->scenario, data.value(), flags->year);
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
    if (!emit(common, *flags, text)) return;
    // A market without an equilibrium is an answer, not a crash, but scripts should see it.
    set_termination_exit_code(common, eq.value().termination);
  });
}

}  // namespace critmin::cli
