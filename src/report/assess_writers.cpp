#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "core/csv.h"
#include "core/text.h"
#include "critmin/report/report.h"
#include "report/assess_columns.h"

namespace critmin {

namespace {

nlohmann::json optional_json(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

std::string assess_to_json(const std::vector<AssessmentRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const AssessmentRow& r : rows) {
    nlohmann::json j;
    j["material"] = r.material;
    j["material_name"] = r.material_name;
    j["stage"] = stage_name(r.stage);
    j["crma_critical"] = r.crma_critical;
    j["crma_strategic"] = r.crma_strategic;
    j["group"] = r.group;
    j["supplier_count"] = r.supplier_count;
    j["hhi"] = r.hhi;
    j["top_country"] = r.top_country;
    j["top_share"] = r.top_share;
    j["top3_share"] = r.top3_share;
    j["hhi_wgi"] = r.hhi_wgi;
    j["suppliers_without_wgi"] = r.suppliers_without_wgi;
    j["largest_third_country"] = r.largest_third_country;
    j["largest_third_country_share"] = r.largest_third_country_share;
    j["crma_single_country_breach"] = r.crma_single_country_breach;
    if (r.bloc_share) {
      j["bloc"] = r.bloc;
      j["bloc_share"] = *r.bloc_share;
    }
    j["eu_sourcing_hhi"] = optional_json(r.eu_sourcing_hhi);
    j["eu_sourcing_top_country"] = r.eu_sourcing_top_country;
    j["eu_sourcing_top_share"] =
        r.eu_sourcing_hhi ? nlohmann::json(r.eu_sourcing_top_share) : nlohmann::json(nullptr);
    j["hhi_wgi_eu_sourcing"] = optional_json(r.hhi_wgi_eu_sourcing);
    j["import_reliance"] = r.import_reliance;
    j["eol_rir"] = r.eol_rir;
    j["substitution_index"] = r.substitution_index;
    j["supply_risk"] = r.supply_risk;
    j["supply_risk_estimated_inputs"] = r.estimated_inputs;
    j["published_supply_risk_2023"] = optional_json(r.published_supply_risk_2023);
    if (r.world_production_t) {
      j["world_production_t"] = *r.world_production_t;
      j["world_production_year"] = r.world_production_year;
      j["world_production_basis"] = r.world_production_basis;
    } else {
      j["world_production_t"] = nullptr;
    }
    nlohmann::json imports = nlohmann::json::object();
    for (const ImportDependency& d : r.imports) {
      imports[d.region] = {
          {"year", d.year},
          {"value_usd", d.value_usd},
          {"value_eur", d.value_eur},
          {"top_partner", d.top_partner},
          {"top_partner_share", d.top_partner_share},
          {"partner_hhi", d.partner_hhi},
          {"extra_eu_share", d.extra_eu_share},
          {"import_weighted_risk", d.import_weighted_risk},
          {"cn8_codes", d.cn8_codes},
          {"shared_basket", d.shared_basket},
      };
    }
    j["imports"] = imports;
    out.push_back(std::move(j));
  }
  // A byte that is not UTF-8 in a dataset cell becomes U+FFFD instead of an exception.
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string assess_to_csv(const std::vector<AssessmentRow>& rows) {
  const AssessColumns columns = assess_columns(rows);
  std::string out;
  append_csv_record(out, columns.headers);
  for (const auto& row : columns.cells) append_csv_record(out, row);
  return out;
}

std::string assess_to_table(const std::vector<AssessmentRow>& rows) {
  struct Column {
    const char* title;
    bool right_aligned;
  };
  std::vector<std::string> regions;
  for (const AssessmentRow& r : rows) {
    for (const ImportDependency& d : r.imports) {
      if (std::find(regions.begin(), regions.end(), d.region) == regions.end()) {
        regions.push_back(d.region);
      }
    }
  }
  std::vector<std::string> region_titles;
  for (const std::string& region : regions) region_titles.push_back(region + " imp top");
  std::vector<Column> columns = {{"material", false}, {"stage", false}, {"HHI", true},
                                 {"top", false},      {"top %", true},  {"top3 %", true},
                                 {"HHI_WGI", true},   {"SR*", true},    {"third>65%", false},
                                 {"bloc %", true}};
  for (const std::string& title : region_titles) columns.push_back({title.c_str(), false});
  std::vector<std::vector<std::string>> cells;
  const auto percent = [](double share) { return fmt::format("{:.1f}", 100.0 * share); };
  const auto import_top = [&](const AssessmentRow& r, const std::string& region) -> std::string {
    for (const ImportDependency& d : r.imports) {
      if (d.region == region)
        return fmt::format("{} {}%", d.top_partner, percent(d.top_partner_share));
    }
    return "-";
  };
  for (const AssessmentRow& r : rows) {
    cells.push_back({r.material, stage_name(r.stage), fmt::format("{:.0f}", r.hhi), r.top_country,
                     percent(r.top_share), percent(r.top3_share), fmt::format("{:.2f}", r.hhi_wgi),
                     fmt::format("{:.2f}", r.supply_risk),
                     r.crma_single_country_breach
                         ? fmt::format("BREACH {} {}%", r.largest_third_country,
                                       percent(r.largest_third_country_share))
                         : "-",
                     r.bloc_share ? percent(*r.bloc_share) : "-"});
    for (const std::string& region : regions) cells.back().push_back(import_top(r, region));
  }
  std::vector<std::size_t> width(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    width[c] = std::string_view(columns[c].title).size();
    for (const auto& row : cells) width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  const auto emit = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) out += "  ";
      const std::size_t pad = width[c] - row[c].size();
      if (columns[c].right_aligned) out.append(pad, ' ');
      out += row[c];
      if (!columns[c].right_aligned && c + 1 < columns.size()) out.append(pad, ' ');
    }
    out += '\n';
  };
  std::vector<std::string> header;
  for (const Column& c : columns) header.emplace_back(c.title);
  emit(header);
  std::vector<std::string> rule;
  for (std::size_t w : width) rule.emplace_back(w, '-');
  emit(rule);
  for (const auto& row : cells) emit(row);
  out += fmt::format(
      "\n{} row(s). HHI 0-10000 on world supply shares (EU CRM 2023); top/top3 in % of world "
      "supply;\nHHI_WGI = sum share^2 x WGI(0-10) x t; SR* = EU supply-risk formula with "
      "estimated inputs\n(EOL-RIR and substitution default to 0 and 1: an upper bound; see "
      "--format json for which);\nthird>65% = one non-EU country above the CRMA 65% benchmark; "
      "<region> imp top = largest\norigin of the region's imports by value (EU27: extra-EU "
      "imports; a member state: all partners;\nEurostat Comext).\n",
      rows.size());
  return out;
}

}  // namespace critmin

namespace critmin {

AssessColumns assess_columns(const std::vector<AssessmentRow>& rows) {
  AssessColumns out;
  const auto add = [&](const char* header, bool numeric) {
    out.headers.emplace_back(header);
    out.numeric.push_back(numeric);
  };
  add("material", false);
  add("stage", false);
  add("crma_critical", false);
  add("crma_strategic", false);
  add("hhi [0-10000]", true);
  add("top_country [ISO3]", false);
  add("top_share [0-1]", true);
  add("top3_share [0-1]", true);
  add("hhi_wgi [-]", true);
  add("largest_third_country [ISO3]", false);
  add("largest_third_country_share [0-1]", true);
  add("crma_single_country_breach", false);
  add("bloc", false);
  add("bloc_share [0-1]", true);
  add("eu_sourcing_hhi [0-10000]", true);
  add("eu_sourcing_top_country [ISO3]", false);
  add("import_reliance [0-1]", true);
  add("eol_rir [0-1]", true);
  add("substitution_index [0-1]", true);
  add("supply_risk [-]", true);
  add("supply_risk_estimated_inputs", false);
  add("published_supply_risk_2023 [-]", true);
  add("world_production [t/yr]", true);
  add("world_production_year", true);
  // One group of import columns per importing region present in the rows, in first-seen order.
  std::vector<std::string> regions;
  for (const AssessmentRow& r : rows) {
    for (const ImportDependency& d : r.imports) {
      if (std::find(regions.begin(), regions.end(), d.region) == regions.end()) {
        regions.push_back(d.region);
      }
    }
  }
  for (const std::string& region : regions) {
    for (const char* figure :
         {"import_value [USD]", "top_partner [ISO3]", "top_partner_share [0-1]",
          "partner_hhi [0-10000]", "import_weighted_risk [0-1]"}) {
      out.headers.push_back(fmt::format("{}_{}", region, figure));
      out.numeric.push_back(std::string_view(figure).find("ISO3") == std::string_view::npos);
    }
  }
  const auto num = [](double v) { return format_number(v); };
  const auto opt = [&](const std::optional<double>& v) { return v ? num(*v) : std::string(); };
  for (const AssessmentRow& r : rows) {
    std::vector<std::string> row = {
        r.material,
        stage_name(r.stage),
        r.crma_critical ? "true" : "false",
        r.crma_strategic ? "true" : "false",
        num(r.hhi),
        r.top_country,
        num(r.top_share),
        num(r.top3_share),
        num(r.hhi_wgi),
        r.largest_third_country,
        num(r.largest_third_country_share),
        r.crma_single_country_breach ? "true" : "false",
        r.bloc,
        opt(r.bloc_share),
        opt(r.eu_sourcing_hhi),
        r.eu_sourcing_top_country,
        num(r.import_reliance),
        num(r.eol_rir),
        num(r.substitution_index),
        num(r.supply_risk),
        join(r.estimated_inputs, "|"),
        opt(r.published_supply_risk_2023),
        opt(r.world_production_t),
        r.world_production_t ? std::to_string(r.world_production_year) : "",
    };
    for (const std::string& region : regions) {
      const ImportDependency* dep = nullptr;
      for (const ImportDependency& d : r.imports) {
        if (d.region == region) dep = &d;
      }
      if (dep) {
        for (std::string cell : {num(dep->value_usd), dep->top_partner, num(dep->top_partner_share),
                                 num(dep->partner_hhi), num(dep->import_weighted_risk)}) {
          row.push_back(std::move(cell));
        }
      } else {
        row.insert(row.end(), 5, "");
      }
    }
    out.cells.push_back(std::move(row));
  }
  return out;
}

}  // namespace critmin
