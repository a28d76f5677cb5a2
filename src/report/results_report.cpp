// The report model of a simulation summary and its self-contained HTML page
// (critmin/report/results_report.h, docs/report.md).
#include "critmin/report/results_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/csv.h"
#include "critmin/core/figures.h"
#include "critmin/core/files.h"
#include "critmin/metrics/assess.h"
#include "report/report_model.h"
#include "report/report_text.h"
#include "report/web_assets.h"

namespace critmin::report {

using nlohmann::json;

std::string string_or(const json& object, const char* key, const std::string& fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::string money(double value, const std::string& unit) {
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e9) return fmt::format("{:.3g} billion {}", value / 1e9, unit);
  if (magnitude >= 1e6) return fmt::format("{:.3g} million {}", value / 1e6, unit);
  return grouped_digits(value) + " " + unit;
}

namespace {

// "fiscal_cost_usd_total" -> "Fiscal cost usd total"; a path joins its parts with " / ".
std::string humanize(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '_', ' ');
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

// How a figure is written for people: shares as %, money in thousands/millions/billions, other
// numbers without scientific notation (format_figure).
std::string display(double value, const std::string& unit) {
  if (unit == "0-1") return fmt::format("{:.1f}%", 100.0 * value);
  if (unit == "USD" || unit == "USD/yr" || unit == "EUR") return money(value, unit);
  return format_figure(value, unit);
}

const json* find_path(const json& root, std::initializer_list<const char*> path) {
  const json* node = &root;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return nullptr;
    node = &(*node)[key];
  }
  return node;
}

double number_or(const json& object, const char* key, double fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : fallback;
}

// A summary table (an array of objects) the report does not draw, with the units of its columns.
json generic_table(const std::string& name, const std::string& title, const json& rows) {
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const json& row : rows) {
    if (!row.is_object()) continue;
    for (const auto& [key, value] : row.items()) {
      if (seen.insert(key).second) keys.push_back(key);
    }
  }
  json columns = json::array();
  for (const std::string& key : keys) {
    const FigureAttributes& field = summary_field(key);
    columns.push_back({{"key", key}, {"label", field.label}, {"unit", field.unit}});
  }
  return {{"name", name}, {"title", title}, {"columns", columns}, {"rows", rows}};
}

struct SummaryView {
  const json& summary;
  int first_year = 0;
  int last_year = 0;
  std::string span() const { return fmt::format("{}–{}", first_year, last_year); }
};

std::string material_name(const Dataset& data, const std::string& id) {
  const Material* m = data.find_material(id);
  return m ? m->name : id;
}

// The name inside a sentence: "Gallium" -> "gallium"; names with more capitals ("PGM") stay.
std::string name_in_sentence(const Dataset& data, const std::string& id) {
  std::string name = material_name(data, id);
  if (name.size() > 1 && std::isupper(static_cast<unsigned char>(name[0])) &&
      !std::isupper(static_cast<unsigned char>(name[1]))) {
    name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
  }
  return name;
}

json scorecard_item(const std::string& group, const std::string& key, const std::string& label,
                    double value, const std::string& unit, const std::string& shown,
                    const std::string& text) {
  return {{"group", group}, {"key", key},       {"label", label}, {"value", value},
          {"unit", unit},   {"display", shown}, {"text", text}};
}

// The scorecard in plain words: the known figures with a sentence each, then every other number
// of the summary's scorecard under its name and unit.
json build_scorecards(const SummaryView& view, const Dataset& data, json& tables) {
  json cards = json::array();
  const json& summary = view.summary;
  const std::string security = "Supply security";
  const std::string business = "Consequences for Dutch businesses";

  // The largest third country per material and stage, in the last year, and how many years
  // breach the CRMA line.
  if (const json* stages = find_path(summary, {"scorecard", "supply_security", "stages"});
      stages && stages->is_array()) {
    std::map<std::pair<std::string, std::string>, std::vector<const json*>> by_stage;
    for (const json& row : *stages) {
      by_stage[{string_or(row, "material"), string_or(row, "stage")}].push_back(&row);
    }
    for (const auto& [key, rows] : by_stage) {
      const json* last = *std::max_element(rows.begin(), rows.end(), [](auto* a, auto* b) {
        return number_or(*a, "year", 0) < number_or(*b, "year", 0);
      });
      int breaches = 0;
      for (const json* r : rows) {
        if (r->value("crma_single_country_breach", false)) ++breaches;
      }
      const double share = number_or(*last, "top_third_country_share", 0.0);
      const std::string country = string_or(*last, "top_third_country", "-");
      const int year = static_cast<int>(number_or(*last, "year", 0));
      const std::string name = material_name(data, key.first);
      const std::string text = fmt::format(
          "{} supplies {} of the world's {} {} in {}, {} the CRMA line of 65% for one third "
          "country ({} in {} of {} simulated years).",
          country, display(share, "0-1"), name_in_sentence(data, key.first), key.second, year,
          breaches > 0 && last->value("crma_single_country_breach", false) ? "above" : "within",
          breaches > 0 ? "above" : "never above", breaches, rows.size());
      cards.push_back(scorecard_item(
          security, fmt::format("largest_third_country_share.{}.{}", key.first, key.second),
          fmt::format("Largest third country, {} {} ({})", name, key.second, year), share, "0-1",
          fmt::format("{} {}", country, display(share, "0-1")), text));
    }
  }

  // Shortfall per material and area over the run, with its worst year.
  if (const json* shortfalls = find_path(summary, {"scorecard", "supply_security", "shortfall"});
      shortfalls && shortfalls->is_array()) {
    std::map<std::pair<std::string, std::string>, std::vector<const json*>> by_area;
    for (const json& row : *shortfalls) {
      by_area[{string_or(row, "material"), string_or(row, "area")}].push_back(&row);
    }
    for (const auto& [key, rows] : by_area) {
      double total = 0.0, physical = 0.0, worst_share = -1.0;
      int worst_year = 0;
      for (const json* r : rows) {
        total += number_or(*r, "shortfall", 0.0);
        physical += number_or(*r, "physical_shortage", 0.0);
        const double share = number_or(*r, "shortfall_share", 0.0);
        if (share > worst_share) {
          worst_share = share;
          worst_year = static_cast<int>(number_or(*r, "year", 0));
        }
      }
      const std::string name = material_name(data, key.first);
      const std::string area = key.second == "club" ? "The club" : key.second;
      // Physical shortage first: it is the supply-security answer; demand priced out is use
      // buyers chose to give up at the price, a cost rather than a failure of supply.
      const std::string split =
          physical > 0.0
              ? fmt::format(
                    "{} of it is physical shortage (essential use no buyer could get at "
                    "any price it would pay) and {} was priced out",
                    display(physical, "t"), display(std::max(0.0, total - physical), "t"))
              : "none of it is physical shortage: buyers gave it up at the price";
      const std::string text =
          total > 0.0 ? fmt::format(
                            "{} buys {} less {} than it would at the base price over {}; {}. The "
                            "worst year is {} with {} of demand unmet.",
                            area, display(total, "t"), name_in_sentence(data, key.first),
                            view.span(), split, worst_year, display(worst_share, "0-1"))
                      : fmt::format("{} gets all the {} it demands over {}.", area,
                                    name_in_sentence(data, key.first), view.span());
      cards.push_back(
          scorecard_item(security, fmt::format("shortfall_t.{}.{}", key.first, key.second),
                         fmt::format("Shortfall of {}, {}, {}", name, key.second, view.span()),
                         total, "t", display(total, "t"), text));
    }
  }

  // Every other figure of the scorecard: sentences for the known money totals, names and units
  // for the rest; tables (arrays of objects) go to `tables`.
  const std::set<std::string> drawn = {"scorecard.supply_security.stages",
                                       "scorecard.supply_security.shortfall"};
  std::function<void(const json&, const std::string&, const std::string&)> walk;
  walk = [&](const json& node, const std::string& path, const std::string& group) {
    for (const auto& [key, value] : node.items()) {
      const std::string child = path + "." + key;
      if (drawn.count(child)) continue;
      if (value.is_object()) {
        walk(value, child, group);
      } else if (value.is_array() && !value.empty() && value.front().is_object()) {
        tables.push_back(generic_table(child, humanize(key), value));
      } else if (value.is_number()) {
        const double number = value.get<double>();
        const FigureAttributes& field = summary_field(key);
        const std::string& unit = field.unit;
        std::string label = field.label, text;
        if (key == "fiscal_cost_usd_total") {
          label = fmt::format("{}, {}", field.label, view.span());
          text = number >= 0.0
                     ? fmt::format(
                           "The club's instruments cost the treasury {} over {} (subsidies, "
                           "top-ups, grants, stockpile refills and holding, less payments back "
                           "to the state).",
                           display(number, unit), view.span())
                     : fmt::format(
                           "The club's instruments bring the treasury {} net over {}: payments "
                           "back to the state and stock sales (a stockpile selling in a "
                           "disruption) exceed subsidies, grants and stockpile costs. A negative "
                           "fiscal cost is money that flowed back.",
                           display(-number, unit), view.span());
        } else if (key == "levy_revenue_usd_total") {
          label = fmt::format("{}, {}", field.label, view.span());
          text = fmt::format("Price-floor levies raise {} over {}.", display(number, unit),
                             view.span());
        } else {
          text = fmt::format("{}: {}. {}", label, display(number, unit), field.description);
        }
        cards.push_back(scorecard_item(group, child.substr(std::string("scorecard.").size()), label,
                                       number, unit, display(number, unit), text));
      }
    }
  };
  // Candidate projects ([[appraisal]]): one card per project, in words, from its four cases.
  if (const json* appraisals = find_path(summary, {"appraisals"});
      appraisals && appraisals->is_array()) {
    std::map<std::string, std::map<std::string, const json*>> projects;  // project -> case -> row
    std::vector<std::string> order;
    for (const json& row : *appraisals) {
      const std::string project =
          fmt::format("{} t/yr of {} {} in {}", grouped_digits(number_or(row, "capacity_t", 0)),
                      name_in_sentence(data, string_or(row, "material")), string_or(row, "stage"),
                      string_or(row, "region"));
      if (!projects.count(project)) order.push_back(project);
      projects[project][string_or(row, "supplier") + "/" + string_or(row, "instruments")] = &row;
    }
    for (const std::string& project : order) {
      const auto& cases = projects[project];
      const auto probability = [&](const char* key) {
        auto it = cases.find(key);
        return it == cases.end()
                   ? std::string("-")
                   : display(number_or(*it->second, "probability_npv_positive", 0), "0-1");
      };
      const json* headline = cases.count("strategic/all") ? cases.at("strategic/all")
                             : cases.count("passive/all") ? cases.at("passive/all")
                                                          : cases.begin()->second;
      // The threshold of the investment_max_loss_probability estimate the appraisal used.
      const Result<double> max_loss = data.market_parameter(string_or(*headline, "material"),
                                                            "investment_max_loss_probability");
      std::string investable;
      for (const auto& [name, row] : cases) {
        if (row->value("investable", false)) investable += (investable.empty() ? "" : ", ") + name;
      }
      const json& floor = (*headline)["investable_floor_usd_per_t"];
      const std::string text = fmt::format(
          "Facing a strategic supplier, the project's NPV is positive in {} of {} runs with the "
          "scenario's instruments and in {} without them (facing a passive supplier: {} and {}). "
          "The instruments cost the treasury {} on average over these runs. Investable (expected "
          "NPV above 0 and a probability of loss of {} at most): {}. {}",
          probability("strategic/all"), static_cast<int>(number_or(*headline, "runs", 0)),
          probability("strategic/none"), probability("passive/all"), probability("passive/none"),
          display(number_or(*headline, "fiscal_cost_usd_total", 0), "USD"),
          max_loss.is_ok() ? display(max_loss.value(), "0-1") : std::string("the estimate's"),
          investable.empty() ? "in no case" : "supplier/instruments " + investable,
          floor.is_number()
              ? fmt::format("Against the strategic supplier without the instruments, a top-up "
                            "floor of {} would make it investable.",
                            display(floor.get<double>(), "USD/t"))
              : std::string("No top-up floor up to 20 times the base price makes it investable "
                            "against the strategic supplier without the instruments."));
      const double value = number_or(*headline, "probability_npv_positive", 0);
      cards.push_back(scorecard_item(security, "appraisal." + project,
                                     "Chance that " + project + " pays back", value, "0-1",
                                     display(value, "0-1"), text));
    }
  }
  if (const json* scorecard = find_path(summary, {"scorecard"}); scorecard) {
    for (const auto& [key, value] : scorecard->items()) {
      if (!value.is_object()) continue;
      const std::string group = key == "supply_security"  ? security
                                : key == "dutch_business" ? business
                                                          : humanize(key);
      walk(value, "scorecard." + key, group);
    }
  }
  return cards;
}

json build_material(const SummaryView& view, const Dataset& data, const std::string& material) {
  const json& summary = view.summary;
  std::vector<int> years;
  for (int y = view.first_year; y <= view.last_year; ++y) years.push_back(y);
  const auto year_index = [&](const json& row) -> int {
    const int y = static_cast<int>(number_or(row, "year", 0));
    return y >= view.first_year && y <= view.last_year ? y - view.first_year : -1;
  };
  const std::size_t n = years.size();
  const auto nulls = [n] { return json(std::vector<json>(n, nullptr)); };

  // Series per stage and region.
  std::map<std::string, std::map<std::string, std::vector<const json*>>> nodes;
  std::vector<std::string> stage_order;
  for (const json& row : summary["series"]) {
    if (string_or(row, "material") != material) continue;
    const std::string stage = string_or(row, "stage");
    if (!nodes.count(stage)) stage_order.push_back(stage);
    nodes[stage][string_or(row, "region")].push_back(&row);
  }
  std::sort(stage_order.begin(), stage_order.end(), [](const auto& a, const auto& b) {
    return (a == "processing") > (b == "processing");  // processing first
  });

  json price = {{"unit", "USD/t"}, {"lines", json::array()}};
  const std::string price_stage = nodes.count("processing") ? "processing" : "extraction";
  price["stage"] = price_stage;
  if (nodes.count(price_stage)) {
    // The world price: the consumption-weighted mean over the regions.
    std::vector<double> pq(n, 0.0), q(n, 0.0);
    for (const auto& [region, rows] : nodes[price_stage]) {
      json values = nulls(), p5 = nulls(), p95 = nulls();
      bool banded = false;
      for (const json* r : rows) {
        const int i = year_index(*r);
        if (i < 0) continue;
        const double p = number_or(*r, "price", 0.0), c = number_or(*r, "consumption", 0.0);
        values[i] = p;
        pq[i] += p * c;
        q[i] += c;
        if (r->contains("price_p5") && r->contains("price_p95")) {
          p5[i] = number_or(*r, "price_p5", p);
          p95[i] = number_or(*r, "price_p95", p);
          banded = true;
        }
      }
      json line = {{"label", region}, {"values", values}};
      if (banded) line["band"] = {{"p5", p5}, {"p95", p95}};
      price["lines"].push_back(line);
    }
    json world = nulls();
    for (std::size_t i = 0; i < n; ++i) {
      if (q[i] > 0.0) world[i] = pq[i] / q[i];
    }
    price["lines"].insert(price["lines"].begin(),
                          json{{"label", "world (consumption-weighted)"}, {"values", world}});
  }

  json production = json::array();
  for (const std::string& stage : stage_order) {
    json stacks = json::array();
    for (const auto& [region, rows] : nodes[stage]) {
      json values = nulls();
      double total = 0.0;
      for (const json* r : rows) {
        const int i = year_index(*r);
        if (i < 0) continue;
        values[i] = number_or(*r, "production", 0.0);
        total += number_or(*r, "production", 0.0);
      }
      if (total > 0.0) stacks.push_back({{"label", region}, {"values", values}});
    }
    production.push_back({{"stage", stage}, {"unit", "t/yr"}, {"stacks", stacks}});
  }

  json concentration = {{"limit", data.parameter("crma_single_country_limit")},
                        {"unit", "0-1"},
                        {"lines", json::array()}};
  if (const json* stages = find_path(summary, {"scorecard", "supply_security", "stages"})) {
    std::map<std::string, std::pair<json, json>> by_stage;
    for (const json& row : *stages) {
      if (string_or(row, "material") != material) continue;
      auto [it, inserted] = by_stage.try_emplace(string_or(row, "stage"), nulls(), nulls());
      const int i = year_index(row);
      if (i < 0) continue;
      it->second.first[i] = number_or(row, "top_third_country_share", 0.0);
      it->second.second[i] = string_or(row, "top_third_country");
    }
    for (const auto& [stage, lines] : by_stage) {
      concentration["lines"].push_back(
          {{"stage", stage}, {"share", lines.first}, {"country", lines.second}});
    }
  }

  json shortfall = {{"unit", "t/yr"}, {"areas", json::array()}};
  if (const json* shortfalls = find_path(summary, {"scorecard", "supply_security", "shortfall"})) {
    std::map<std::string, std::pair<json, json>> by_area;
    std::vector<std::string> area_order;
    for (const json& row : *shortfalls) {
      if (string_or(row, "material") != material) continue;
      const std::string area = string_or(row, "area");
      if (!by_area.count(area)) area_order.push_back(area);
      auto [it, inserted] = by_area.try_emplace(area, nulls(), nulls());
      const int i = year_index(row);
      if (i < 0) continue;
      it->second.first[i] = number_or(row, "shortfall", 0.0);
      it->second.second[i] = number_or(row, "shortfall_share", 0.0);
    }
    for (const std::string& area : area_order) {
      shortfall["areas"].push_back(
          {{"area", area}, {"values", by_area[area].first}, {"shares", by_area[area].second}});
    }
  }

  json disruptions = json::array();
  if (summary.contains("disruptions") && summary["disruptions"].is_array()) {
    for (const json& d : summary["disruptions"]) {
      if (string_or(d, "material") != material) continue;
      const bool happens = d.value("happens", false);
      disruptions.push_back(
          {{"origin", string_or(d, "origin")},
           {"happens", happens},
           {"start", d.value("start", 0)},
           {"last", d.value("last", 0)},
           {"text", happens ? fmt::format("{} restricts exports {}–{} (drawn {:.3f}).",
                                          string_or(d, "origin"), d.value("start", 0),
                                          d.value("last", 0), number_or(d, "draw", 0.0))
                            : fmt::format("A restriction by {} was drawn ({:.3f}) and does not "
                                          "happen in this run.",
                                          string_or(d, "origin"), number_or(d, "draw", 0.0))}});
    }
  }
  return {{"id", material},           {"name", material_name(data, material)},
          {"years", years},           {"price", price},
          {"production", production}, {"concentration", concentration},
          {"shortfall", shortfall},   {"disruptions", disruptions}};
}

// The supply-concentration picture of `critmin assess` for the simulated materials, measured
// against the club bloc.
json build_assess(const Dataset& data, const std::vector<std::string>& materials, json& notes) {
  json out = {{"bloc", "club"}, {"rows", json::array()}};
  AssessOptions options;
  options.materials = materials;
  options.bloc = "club";
  Result<std::vector<AssessmentRow>> rows = assess(data, options);
  if (!rows.is_ok()) {
    notes.push_back("assess: " + rows.status().to_string());
    return out;
  }
  for (const AssessmentRow& r : rows.value()) {
    out["rows"].push_back({{"material", r.material},
                           {"name", r.material_name},
                           {"stage", stage_name(r.stage)},
                           {"hhi", r.hhi},
                           {"top_country", r.top_country},
                           {"top_share", r.top_share},
                           {"largest_third_country", r.largest_third_country},
                           {"largest_third_country_share", r.largest_third_country_share},
                           {"crma_single_country_breach", r.crma_single_country_breach},
                           {"bloc_share", r.bloc_share ? json(*r.bloc_share) : json(nullptr)},
                           {"supply_risk", r.supply_risk}});
  }
  return out;
}

// The market-engine estimates a material uses: its own row of each parameter, else the default.
json build_assumptions(const Dataset& data, const std::vector<std::string>& materials) {
  json out = json::array();
  std::vector<std::string> names;
  for (const MarketParameter& p : data.market_parameters) {
    if (std::find(names.begin(), names.end(), p.parameter) == names.end()) {
      names.push_back(p.parameter);
    }
  }
  for (const std::string& material : materials) {
    for (const std::string& name : names) {
      const MarketParameter* p = data.find_market_parameter(material, name);
      if (!p) continue;
      out.push_back({{"material", material},
                     {"parameter", p->parameter},
                     {"value", p->value},
                     {"unit", p->unit},
                     {"estimate", p->is_estimate},
                     {"scope", p->material_id == "*" ? "default" : "material"},
                     {"basis", p->basis}});
    }
  }
  return out;
}

// The rows of the source table of the dataset's SOURCES.md: "| `tables` | source | licence |".
json build_sources(const Dataset& data) {
  json out = json::array();
  Result<std::string> text = read_text_file(data.directory / "SOURCES.md");
  if (!text.is_ok()) return out;
  std::istringstream lines(text.value());
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::size_t start = 1;
    for (std::size_t bar = line.find('|', start); bar != std::string::npos;
         bar = line.find('|', start)) {
      std::string cell = line.substr(start, bar - start);
      cell.erase(0, cell.find_first_not_of(' '));
      cell.erase(cell.find_last_not_of(' ') + 1);
      cells.push_back(cell);
      start = bar + 1;
    }
    if (cells.size() < 3) continue;
    std::string tables = cells[0];
    tables.erase(std::remove(tables.begin(), tables.end(), '`'), tables.end());
    out.push_back({{"tables", tables}, {"source", cells[1]}, {"licence", cells[2]}});
  }
  return out;
}

}  // namespace

Result<std::string> unit_of_field(std::string_view field) {
  Result<const FigureAttributes*> figure = find_figure(FigureGroup::kSummary, field);
  if (!figure.is_ok()) return figure.status();
  return figure.value()->unit;
}

const FigureAttributes& summary_field(std::string_view key) {
  Result<const FigureAttributes*> figure = find_figure(FigureGroup::kSummary, key);
  assert(figure.is_ok() && "summary fields are checked by check_summary_fields first");
  if (figure.is_ok()) return *figure.value();
  static const FigureAttributes kMissing{FigureGroup::kSummary,       "?", "?", Better::kNeutral,
                                         "(not in the output table)", ""};
  return kMissing;
}

Status check_summary_fields(const json& summary, const std::string& file) {
  std::vector<Diagnostic> problems;
  std::set<std::string> reported;
  const auto check = [&](const std::string& key, const std::string& where) {
    Result<const FigureAttributes*> figure = find_figure(FigureGroup::kSummary, key);
    if (!figure.is_ok() && reported.insert(key).second) {
      problems.push_back({file, 0, where, figure.status().message()});
    }
  };
  std::function<void(const json&, const std::string&)> walk = [&](const json& node,
                                                                  const std::string& path) {
    for (const auto& [key, value] : node.items()) {
      const std::string child = path.empty() ? key : path + "." + key;
      if (value.is_object()) {
        walk(value, child);
      } else if (value.is_array()) {
        for (const json& row : value) {
          if (!row.is_object()) continue;
          for (const auto& [column, cell] : row.items()) {
            if (!cell.is_structured()) check(column, child + "[]." + column);
          }
        }
      } else {
        check(key, child);
      }
    }
  };
  walk(summary, "");
  if (problems.empty()) return Status::ok();
  return Status::invalid_input(
      fmt::format("{}: {} field(s) critmin's output table does not hold; was it written by "
                  "another version of critmin?",
                  file, problems.size()),
      std::move(problems));
}

Result<std::string> read_results_summary(const std::filesystem::path& results_dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(results_dir, error)) {
    return Status::not_found(fmt::format(
        "{}: no such results directory; write one with `critmin simulate SCENARIO --out {}`",
        results_dir.string(), results_dir.string()));
  }
  const std::filesystem::path file = results_dir / "summary.json";
  if (!std::filesystem::exists(file, error)) {
    return Status::not_found(fmt::format(
        "{}: missing; a results directory holds the summary.json that `critmin simulate` writes",
        file.string()));
  }
  return read_text_file(file);
}

Result<ReportModel> build_report_model(std::string_view summary_json, const Dataset& data) {
  const json summary = json::parse(summary_json, nullptr, false);
  if (summary.is_discarded() || !summary.is_object()) {
    return Status::invalid_input("summary.json: not a JSON object; write it with critmin simulate");
  }
  for (const char* field : {"series", "materials", "years"}) {
    if (!summary.contains(field) || !summary[field].is_array()) {
      return Status::invalid_input(
          fmt::format("summary.json: field '{}' (an array) is missing; is this the summary of "
                      "`critmin simulate`?",
                      field));
    }
  }
  const json& years = summary["years"];
  if (years.size() != 2 || !years[0].is_number_integer() || !years[1].is_number_integer() ||
      years[0].get<int>() > years[1].get<int>() ||
      years[1].get<int>() - years[0].get<int>() > 500) {
    return Status::invalid_input("summary.json: 'years' must be [first, last] with first <= last");
  }
  if (Status fields = check_summary_fields(summary, "summary.json"); !fields.is_ok()) {
    return fields;
  }
  SummaryView view{summary, years[0].get<int>(), years[1].get<int>()};
  std::vector<std::string> materials;
  for (const json& m : summary["materials"]) {
    if (!m.is_string()) {
      return Status::invalid_input("summary.json: 'materials' must be an array of material ids");
    }
    materials.push_back(m.get<std::string>());
  }
  for (const json& row : summary["series"]) {
    if (!row.is_object()) {
      return Status::invalid_input("summary.json: every 'series' entry must be an object");
    }
  }

  json model;
  const std::string scenario = string_or(summary, "scenario");
  model["kind"] = "simulation";
  model["scenario"] = scenario;
  model["title"] = fmt::format("critmin simulation: {} ({}, seed {})",
                               scenario.empty() ? "(unnamed scenario)" : scenario, view.span(),
                               summary.value("seed", 0ull));
  model["years"] = years;
  model["base_year"] = summary.value("base_year", 0);
  model["seed"] = summary.value("seed", 0ull);
  json tables = json::array();
  model["scorecards"] = build_scorecards(view, data, tables);
  json material_models = json::array();
  for (const std::string& m : materials) material_models.push_back(build_material(view, data, m));
  model["materials"] = material_models;
  json notes =
      summary.contains("notes") && summary["notes"].is_array() ? summary["notes"] : json::array();
  model["assess"] = build_assess(data, materials, notes);
  // The summary's other tables: the known ones first, then any added later.
  const std::set<std::string> drawn = {"series", "materials", "years", "notes", "scorecard"};
  for (const auto& [key, value] : summary.items()) {
    if (drawn.count(key) || !value.is_array() || value.empty() || !value.front().is_object()) {
      continue;
    }
    tables.push_back(generic_table(
        key,
        key == "appraisals"
            ? "Candidate projects: NPV over the runs, with and without the instruments, facing a "
              "passive and a strategic supplier"
            : humanize(key),
        value));
  }
  // A company's exposure (--bom, docs/scorecards.md): its bill's rows and its years as tables.
  if (summary.contains("company") && summary["company"].is_object()) {
    const json& company = summary["company"];
    if (company.contains("lines") && company["lines"].is_array() && !company["lines"].empty()) {
      tables.push_back(generic_table(
          "company.lines", "Company's exposure per bill-of-materials row", company["lines"]));
    }
    if (company.contains("years") && company["years"].is_array() && !company["years"].empty()) {
      tables.push_back(
          generic_table("company.years", "Company's exposure per year", company["years"]));
    }
  }
  model["tables"] = tables;
  model["assumptions"] = build_assumptions(data, materials);
  model["sources"] = build_sources(data);
  model["notes"] = notes;
  return report_model_from_document(ResultsKind::kSimulation, std::move(model));
}

Result<std::string> summary_table_to_csv(std::string_view summary_json, std::string_view table) {
  const json summary = json::parse(summary_json, nullptr, false);
  if (summary.is_discarded() || !summary.is_object()) {
    return Status::invalid_input("summary.json: not a JSON object");
  }
  if (Status fields = check_summary_fields(summary, "summary.json"); !fields.is_ok()) {
    return fields;
  }
  const json* rows = nullptr;
  std::vector<std::string> names;
  std::function<void(const json&)> find = [&](const json& node) {
    for (const auto& [key, value] : node.items()) {
      if (value.is_object()) {
        find(value);
      } else if (value.is_array() && !value.empty() && value.front().is_object()) {
        names.push_back(key);
        if (key == table && !rows) rows = &value;
      }
    }
  };
  find(summary);
  if (!rows) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    return Status::not_found(
        fmt::format("summary.json has no table '{}'; its tables are {}", table, list));
  }
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const json& row : *rows) {
    if (!row.is_object()) continue;
    for (const auto& [key, value] : row.items()) {
      if (seen.insert(key).second) keys.push_back(key);
    }
  }
  std::string out;
  std::vector<std::string> header;
  for (const std::string& key : keys) {
    const std::string& unit = summary_field(key).unit;
    header.push_back(unit.empty() ? key : fmt::format("{} [{}]", key, unit));
  }
  append_csv_record(out, header);
  for (const json& row : *rows) {
    if (!row.is_object()) continue;
    std::vector<std::string> fields;
    for (const std::string& key : keys) {
      auto it = row.find(key);
      if (it == row.end() || it->is_null()) {
        fields.emplace_back();
      } else if (it->is_string()) {
        fields.push_back(it->get<std::string>());
      } else {
        fields.push_back(it->dump());  // numbers with full precision, true/false
      }
    }
    append_csv_record(out, fields);
  }
  return out;
}

namespace {

std::string escape_html(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Text inside <script>: a "</" would end the element early, so JSON writes it as "<\/".
std::string escape_script(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::string report_model_to_html(const ReportModel& model) {
  const std::string& title = model.title();
  std::string html;
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<meta name=\"generator\" content=\"critmin\">\n";
  html += "<title>" + escape_html(title) + "</title>\n<style>\n";
  html += web_asset("report.css");
  html += "\n</style>\n</head>\n<body>\n<main id=\"report\"></main>\n";
  html += "<script type=\"application/json\" id=\"critmin-report-model\">";
  html += escape_script(model.to_json());
  html += "</script>\n<script>\n";
  html += web_asset("chart.js");
  html += "\n</script>\n<script>\n";
  html += web_asset("report.js");
  html += "\n</script>\n<script>\n";
  html +=
      "critminReport.render(document.getElementById('report'), "
      "JSON.parse(document.getElementById('critmin-report-model').textContent));\n";
  html += "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace critmin::report
