// The scenario schema printed for people (Markdown) and for the dashboard editor (JSON).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "critmin/scenario/scenario.h"
#include "scenario/keys.h"

namespace critmin::scenario {
namespace {

// What a section is, in the order the reference lists them.
struct SectionIntro {
  const char* section;
  const char* heading;
  const char* text;
};

constexpr SectionIntro kSections[] = {
    {"scenario", "[scenario]",
     "The scenario's name; for `simulate`, `ensemble`, `compare` and "
     "`backtest` also its years, seed, base year and materials."},
    {"club", "[club]", "The club's members and its common external tariff."},
    {"instrument", "[[instrument]]",
     "One of the club's instruments; `type` says which, and its keys follow in the section of "
     "that type. Instruments need a [club]."},
    {"instrument.price_floor", "[[instrument]] type = \"price_floor\"",
     "A border-adjusted minimum price: a variable levy on non-member supply, or a top-up paid to "
     "member producers."},
    {"instrument.subsidy", "[[instrument]] type = \"subsidy\"",
     "A price-gap subsidy to producers: a two-way CfD, a floor with upside share or a fixed "
     "premium, optionally within a budget."},
    {"instrument.offtake", "[[instrument]] type = \"offtake\"",
     "A long-term offtake contract: a seller delivers a volume to a member buyer at a fixed or "
     "indexed price."},
    {"instrument.intermediary", "[[instrument]] type = \"intermediary\"",
     "A state-backed buyer that purchases from a seller and resells in a member region, its "
     "losses covered by a grant."},
    {"instrument.certified_market", "[[instrument]] type = \"certified_market\"",
     "A standards-based segment: a share of member demand buys certified supply only."},
    {"instrument.joint_purchasing", "[[instrument]] type = \"joint_purchasing\"",
     "Members tender a share of their demand together."},
    {"instrument.stockpile", "[[instrument]] type = \"stockpile\"",
     "A member's strategic stock, released in a shortfall or at a price and refilled below a "
     "price."},
    {"tariff", "[[tariff]]", "A tariff in force every year."},
    {"export_restriction", "[[export_restriction]]",
     "An export ban or quota in force every year (`clear`; a simulation draws uncertain ones from "
     "[[disruption]])."},
    {"demand_growth", "[demand_growth]",
     "Simulation: yearly demand growth per material, one `material = rate` line each."},
    {"disruption", "[[disruption]]",
     "Simulation: an export ban, quota or price cut that happens with a probability, drawn once "
     "per run."},
    {"project", "[[project]]",
     "Simulation: a project added to the pipeline, or a CRMA strategic project overridden or "
     "removed by name."},
    {"demand_shock", "[[demand_shock]]",
     "Simulation: demand above or below its path in some years (a boom, a recession)."},
    {"strategic_supplier", "[[strategic_supplier]]",
     "Simulation: a dominant supplier that chooses its exports (or a cut below its cost) every "
     "year to serve its objective, anticipating the market's and the club's response "
     "(docs/strategic-supplier.md)."},
    {"uncertainty", "[uncertainty]",
     "Simulation: what varies between runs besides the disruptions: each run's demand growth "
     "and each year's demand (docs/investability.md)."},
    {"appraisal", "[[appraisal]]",
     "Simulation: a candidate project that `critmin simulate` appraises beside its run, as "
     "`critmin investability` does: its probability of a positive NPV with and without the "
     "scenario's instruments, facing a passive and a strategic supplier (docs/investability.md)."},
    {"episode", "[episode]", "Back-test episode files (data/episodes/): what happened and when."},
    {"observed", "[[observed]]", "Back-test episode files: an outcome observed before and after."},
    {"supply_risk.<material>", "[supply_risk.MATERIAL]",
     "The assess assumptions file (`critmin assess --assumptions FILE`): overrides of supply-risk "
     "inputs per material."},
};

std::string bound_text(const std::optional<double>& value) {
  return value ? fmt::format("{:g}", *value) : "";
}

std::string range_text(const ScenarioKey& key) {
  if (!key.min && !key.max) return "";
  return fmt::format("{} to {}", key.min ? bound_text(key.min) : "-inf",
                     key.max ? bound_text(key.max) : "+inf");
}

std::string type_text(const ScenarioKey& key) {
  const auto choices = key.choices();
  if (choices.empty()) return key.type;
  std::string out;
  for (const std::string& c : choices) out += (out.empty() ? "" : " \\| ") + ("`" + c + "`");
  return out;
}

// A Markdown table cell: pipes escaped.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\";
    out += c;
  }
  return out;
}

}  // namespace

std::string scenario_reference_markdown() {
  std::string out =
      "# Scenario files: every table and key\n\n"
      "Generated by `critmin scenario reference` from the scenario schema "
      "(`data/scenario/keys.csv`, compiled into critmin); do not edit by hand. Every reader of "
      "scenario files checks keys, types and ranges against this table and reports a problem as "
      "`file:line:key` with a fix.\n\n"
      "Units: prices are in the instrument's `unit` (USD/t, or USD/kg with `unit = \"USD/kg\"`) "
      "where the unit column says *unit*; money in USD; quantities in tonnes of contained "
      "content. *Required*: yes, no, or when the key is required.\n";
  for (const SectionIntro& intro : kSections) {
    const auto keys = section_keys(intro.section);
    out += fmt::format("\n## {}\n\n{}\n\n", intro.heading, intro.text);
    if (std::string_view(intro.section) == "scenario") {
      // The rule behind `years` and `base_year`, with the horizon from its one constant.
      out += fmt::format(
          "A simulation projects forward from the data year its markets are calibrated on: "
          "`base_year` must be a year of the data (its production tonnages, annual or monthly "
          "prices), and `years` must lie from the base year to {} years after it, the projection "
          "horizon (years = [2023, {}] on the default base year 2023). Four decades cover every "
          "policy horizon the sources discuss (the EU Critical Raw Materials Act and the IEA "
          "outlooks reach 2050); past it one year's capacities, costs and elasticities, with "
          "demand "
          "growth compounding from them, say nothing about the markets. A year outside is an error "
          "at `file:line:years` (exit code 2) in the CLI and the dashboard.\n\n",
          kProjectionHorizonYears, 2023 + kProjectionHorizonYears);
    }
    out += "| key | type | unit | default | range | required | description |\n";
    out += "|---|---|---|---|---|---|---|\n";
    for (const ScenarioKey* key : keys) {
      if (key->section != intro.section) continue;  // the common instrument keys are listed once
      out += fmt::format("| `{}` | {} | {} | {} | {} | {} | {} |\n", key->key, type_text(*key),
                         cell(key->unit), cell(key->default_text), range_text(*key),
                         cell(key->required), cell(key->description));
    }
  }
  return out;
}

std::string scenario_reference_json() {
  nlohmann::json out = nlohmann::json::array();
  for (const ScenarioKey& key : scenario_keys()) {
    nlohmann::json row = {{"section", key.section},
                          {"key", key.key},
                          {"type", key.type},
                          {"unit", key.unit},
                          {"default", key.default_text},
                          {"required", key.required},
                          {"description", key.description}};
    row["min"] = key.min ? nlohmann::json(*key.min) : nlohmann::json(nullptr);
    row["max"] = key.max ? nlohmann::json(*key.max) : nlohmann::json(nullptr);
    out.push_back(std::move(row));
  }
  return out.dump();
}

}  // namespace critmin::scenario
