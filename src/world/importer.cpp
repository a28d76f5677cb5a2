#include "critmin/world/importer.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "core/csv.h"
#include "core/text.h"
#include "critmin/world/dataset.h"
#include "world/countries.h"
#include "world/schema.h"

namespace critmin {

std::filesystem::path default_iso_codes_json() { return CRITMIN_ISO_CODES_JSON; }

namespace {

// Lower case with every run of white space (including line breaks inside quoted source cells)
// collapsed to one space: "Natural Teak\nwood" and "natural teak wood" are the same key.
std::string name_key(std::string_view text) {
  std::string out;
  bool in_space = false;
  for (char c : trim(text)) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty()) out += ' ';
    in_space = false;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

// One source table with its required columns checked up front.
struct Source {
  CsvTable table;
  std::map<std::string, std::size_t> columns;

  const std::string& get(const CsvRecord& record, const std::string& column) const {
    return record.fields[columns.at(column)];
  }
};

Result<Source> open_source(const std::filesystem::path& path,
                           const std::vector<std::string>& required_columns) {
  Result<CsvTable> csv = read_csv_file(path);
  if (!csv.is_ok()) {
    if (csv.status().code() == StatusCode::kIoError) {
      return Status::not_found(fmt::format(
          "{}: source file missing; --from must point at the directory of the public sources "
          "(e.g. data/sources, the copy in the repository)",
          path.string()));
    }
    return csv.status();
  }
  Source source{std::move(csv).value(), {}};
  std::vector<Diagnostic> problems;
  for (const std::string& column : required_columns) {
    const auto index = source.table.column(column);
    if (!index) {
      problems.push_back({source.table.file, 1, column,
                          "missing column; this file does not have the layout critmin reads"});
      continue;
    }
    source.columns[column] = *index;
  }
  if (!problems.empty()) {
    return Status::invalid_input(fmt::format("{}: unexpected layout", source.table.file),
                                 std::move(problems));
  }
  // A file with a header and no rows is a failed download or an export cut off, never a real
  // source: importing it would silently drop a whole table.
  if (source.table.records.empty()) {
    return Status::invalid_input(
        fmt::format("{}: the file has a header but no rows; download the source again",
                    source.table.file),
        {{source.table.file, 1, "", "no data rows after the header"}});
  }
  return source;
}

// A dataset table being written: header plus rows, sorted before writing.
struct OutTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

Status write_table(const std::filesystem::path& path, OutTable table, bool sort_rows) {
  if (sort_rows) std::sort(table.rows.begin(), table.rows.end());
  std::string text;
  append_csv_record(text, table.header);
  for (const auto& row : table.rows) append_csv_record(text, row);
  return write_text_file(path, text);
}

std::string number_text(double value) { return format_number(value); }

struct Importer {
  ImportOptions options;
  ImportReport report;
  CountryResolver countries;
  std::map<std::string, std::string> material_by_key;  // name_key -> material_id
  std::map<std::string, double> parameters;
  std::map<std::string, OutTable> out;

  std::filesystem::path source_path(const char* name) const { return options.sources_dir / name; }
  std::filesystem::path reference_path(const char* name) const {
    return options.reference_dir / "reference" / name;
  }

  void unmapped(const CsvTable& table, const CsvRecord& record, const std::string& field,
                const std::string& value, const std::string& reason) {
    report.unmapped.push_back(
        {table.file, record.line, field, fmt::format("'{}' {}", value, reason)});
  }

  std::optional<std::string> material(std::string_view name) const {
    auto it = material_by_key.find(name_key(name));
    if (it == material_by_key.end()) return std::nullopt;
    return it->second;
  }

  // "12.3%" -> 0.123; "<0.1%" -> censored value; ">0" -> censored value.
  // A share without its '%' sign (the EU sourcing table prints "6" once) is still read as a
  // percentage, and a note names the cell so that the reading can be checked.
  std::optional<std::pair<double, bool>> share_of(const CsvTable& table, const CsvRecord& record,
                                                  std::string_view text) {
    std::string_view t = trim(text);
    if (t.starts_with("<") || t == ">0" || t == ">0%") {
      return std::make_pair(parameters.at("censored_share"), true);
    }
    const bool has_percent_sign = t.ends_with("%");
    if (has_percent_sign) t.remove_suffix(1);
    const auto value = parse_double(t);
    if (!value || *value < 0 || *value > 100) return std::nullopt;
    if (!has_percent_sign) {
      report.notes.push_back(fmt::format(
          "{}:{}:Share: '{}' has no '%' sign; read as a percentage like the other shares ({}% "
          "= {})",
          table.file, record.line, t, t, format_number(*value / 100.0)));
    }
    return std::make_pair(*value / 100.0, false);
  }

  Status load_parameters();
  Status import_materials();
  Status import_shares(const char* source_name, const char* table_name);
  Status import_governance();
  Status import_production();
  Status import_prices();
  Status import_supply_risk_history();
  Status import_end_use();
  Status import_trade();
  Status import_projects();
  Status import_nl_industry_accounts();
  Status copy_reference_tables();
  Status write_all();
};

Status Importer::load_parameters() {
  Result<CsvTable> csv =
      read_csv_file(options.reference_dir / "estimates" / "assessment_parameters.csv");
  CRITMIN_RETURN_IF_ERROR(csv);
  const CsvTable& t = csv.value();
  const auto name = t.column("parameter"), value = t.column("value");
  if (!name || !value) return Status::invalid_input(t.file + ": needs parameter,value columns");
  for (const CsvRecord& r : t.records) {
    const auto number = parse_double(r.fields[*value]);
    if (!number) {
      return Status::invalid_input(t.file + ": bad value",
                                   {{t.file, r.line, "value", "not a number"}});
    }
    parameters[r.fields[*name]] = *number;
  }
  if (!parameters.contains("censored_share")) {
    return Status::invalid_input(t.file + ": the parameter censored_share is missing");
  }
  return Status::ok();
}

Status Importer::import_materials() {
  Result<Source> ref = open_source(
      reference_path("materials.csv"),
      {"material_id", "name", "kind", "crma_critical_entry", "crma_strategic_entry", "aliases"});
  CRITMIN_RETURN_IF_ERROR(ref);
  struct Row {
    std::vector<std::string> fields;  // material_id,name,kind,critical,strategic,aliases
    std::string group, family;
  };
  std::map<std::string, Row> rows;
  for (const CsvRecord& r : ref.value().table.records) {
    const Source& s = ref.value();
    const std::string id = s.get(r, "material_id");
    Row row{{id, s.get(r, "name"), s.get(r, "kind"), s.get(r, "crma_critical_entry"),
             s.get(r, "crma_strategic_entry"), s.get(r, "aliases")},
            "",
            ""};
    for (const std::string& key : {id, s.get(r, "name")}) material_by_key[name_key(key)] = id;
    for (const std::string& alias : split(s.get(r, "aliases"), '|')) {
      if (!alias.empty()) material_by_key[name_key(alias)] = id;
    }
    // The three CRMA group entries are their own group.
    if (id == "hree") row.group = "HREE";
    if (id == "lree") row.group = "LREE";
    if (id == "pgm") row.group = "PGM";
    rows[id] = std::move(row);
  }
  Result<Source> groups = open_source(source_path("eu_crm2023_screened_material_groupings.csv"),
                                      {"screened_material", "perm_noXREE_noPGM", "perm_XREE_PGM"});
  CRITMIN_RETURN_IF_ERROR(groups);
  const Source& g = groups.value();
  for (const CsvRecord& r : g.table.records) {
    const std::string& name = g.get(r, "screened_material");
    const auto id = material(name);
    if (!id) {
      unmapped(g.table, r, "screened_material", name, "is not a material of materials.csv");
      continue;
    }
    const std::string& fine = g.get(r, "perm_XREE_PGM");
    Row& row = rows[*id];
    if (fine == "HREE" || fine == "LREE" || fine == "REE" || fine == "PGM") row.group = fine;
    row.family = g.get(r, "perm_noXREE_noPGM");
  }
  OutTable& t = out["materials"];
  t.header = {"material_id",          "name",  "kind",   "crma_critical_entry",
              "crma_strategic_entry", "group", "family", "aliases"};
  for (auto& [id, row] : rows) {
    auto& f = row.fields;
    t.rows.push_back({f[0], f[1], f[2], f[3], f[4], row.group, row.family, f[5]});
  }
  return Status::ok();
}

Status Importer::import_shares(const char* source_name, const char* table_name) {
  Result<Source> src =
      open_source(source_path(source_name), {"Material", "Stage", "Country", "Share", "t"});
  CRITMIN_RETURN_IF_ERROR(src);
  const Source& s = src.value();
  struct Value {
    double share = 0;
    double trade_factor = 0;
    bool censored = false;
    int line = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Value> merged;
  for (const CsvRecord& r : s.table.records) {
    const auto id = material(s.get(r, "Material"));
    if (!id) {
      unmapped(s.table, r, "Material", s.get(r, "Material"), "is not a material of materials.csv");
      continue;
    }
    const std::string& stage_code = s.get(r, "Stage");
    if (stage_code != "E" && stage_code != "P") {
      unmapped(s.table, r, "Stage", stage_code, "is not E (extraction) or P (processing)");
      continue;
    }
    const auto iso3 = countries.resolve(s.get(r, "Country"));
    if (!iso3) {
      unmapped(s.table, r, "Country", s.get(r, "Country"), "is not a known country name");
      continue;
    }
    const auto share = share_of(s.table, r, s.get(r, "Share"));
    if (!share) {
      unmapped(s.table, r, "Share", s.get(r, "Share"), "is not a percentage between 0 and 100");
      continue;
    }
    const auto t = parse_double(s.get(r, "t"));
    if (!t || *t < 0) {
      unmapped(s.table, r, "t", s.get(r, "t"), "is not a non-negative number");
      continue;
    }
    const std::string stage = stage_code == "E" ? "extraction" : "processing";
    auto [it, inserted] =
        merged.try_emplace({*id, stage, *iso3}, Value{share->first, *t, share->second, r.line});
    if (!inserted) {
      // Two spellings of one country in the source (e.g. "Turkyie" and "Türkiye"): add them.
      report.notes.push_back(
          fmt::format("{}:{}: second row for {} {} {} (line {}); the two shares were added",
                      s.table.file, r.line, *id, stage, *iso3, it->second.line));
      it->second.share += share->first;
      it->second.censored = it->second.censored && share->second;
    }
  }
  OutTable& table = out[table_name];
  table.header = {"material_id", "stage", "iso3", "share", "trade_factor", "censored"};
  for (const auto& [key, v] : merged) {
    table.rows.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key),
                          number_text(v.share), number_text(v.trade_factor),
                          v.censored ? "true" : "false"});
  }
  return Status::ok();
}

Status Importer::import_governance() {
  Result<Source> src = open_source(source_path("wb_wgi_2023update_1996_2022.csv"),
                                   {"country_name", "iso3", "year", "mean_6_est"});
  CRITMIN_RETURN_IF_ERROR(src);
  const Source& s = src.value();
  OutTable& table = out["governance"];
  table.header = {"iso3", "year", "wgi_mean_estimate"};
  std::size_t without_mean = 0;
  std::set<std::string> unknown_codes;
  for (const CsvRecord& r : s.table.records) {
    auto iso3 = countries.resolve(s.get(r, "iso3"));
    if (!iso3) iso3 = countries.resolve(s.get(r, "country_name"));
    if (!iso3) {
      if (unknown_codes.insert(s.get(r, "iso3")).second) {
        unmapped(s.table, r, "iso3", s.get(r, "iso3") + " " + s.get(r, "country_name"),
                 "is not a known country (every year of it is skipped)");
      }
      continue;
    }
    const auto year = parse_int(s.get(r, "year"));
    const auto mean = parse_double(s.get(r, "mean_6_est"));
    if (!year) {
      unmapped(s.table, r, "year", s.get(r, "year"), "is not a year");
      continue;
    }
    if (!mean) {
      ++without_mean;
      continue;
    }
    table.rows.push_back({*iso3, std::to_string(*year), number_text(*mean)});
  }
  report.notes.push_back(
      fmt::format("{}: {} country-years without all six WGI estimates (no mean) were not imported",
                  s.table.file, without_mean));
  return Status::ok();
}

std::optional<double> tonnes_per_unit(const std::string& unit) {
  if (unit == "metric tons") return 1.0;
  if (unit == "thousand metric tons") return 1e3;
  if (unit == "million metric tons") return 1e6;
  if (unit == "kilograms") return 1e-3;
  return std::nullopt;
}

Status Importer::import_production() {
  Result<Source> map_src = open_source(reference_path("usgs_production_series.csv"),
                                       {"commodity_code", "type", "material_id", "stage", "basis"});
  CRITMIN_RETURN_IF_ERROR(map_src);
  struct SeriesMap {
    std::string material_id, stage, basis;
  };
  std::map<std::pair<std::string, std::string>, SeriesMap> series;
  {
    const Source& m = map_src.value();
    std::vector<Diagnostic> problems;
    for (const CsvRecord& r : m.table.records) {
      if (!material(m.get(r, "material_id")) || !parse_stage(m.get(r, "stage"))) {
        problems.push_back({m.table.file, r.line, "material_id",
                            "unknown material or stage; use ids of materials.csv and "
                            "extraction|processing"});
        continue;
      }
      series[{m.get(r, "commodity_code"), m.get(r, "type")}] = {
          m.get(r, "material_id"), m.get(r, "stage"), m.get(r, "basis")};
    }
    if (!problems.empty()) {
      return Status::invalid_input(m.table.file + ": invalid mapping", std::move(problems));
    }
  }
  Result<Source> src =
      open_source(source_path("usgs_mcs_world_production_reserves_2021_2023.csv"),
                  {"release", "commodity_code", "country", "iso3", "is_aggregate", "type",
                   "measure", "year", "is_estimate", "unit", "value", "value_flag"});
  CRITMIN_RETURN_IF_ERROR(src);
  const Source& s = src.value();
  struct Value {
    std::string release;
    double quantity_t;
    bool is_estimate;
    std::string basis;
  };
  std::map<std::tuple<std::string, std::string, std::string, int>, Value> rows;
  std::map<std::string, std::size_t> withheld_by_series;
  std::map<std::string, std::size_t> summed_rows;  // material and stage -> rows added to another
  std::map<std::string, std::pair<int, std::size_t>> unconvertible;  // series -> first line, rows
  std::set<std::pair<std::string, std::string>> unused_series;
  for (const CsvRecord& r : s.table.records) {
    if (s.get(r, "measure") != "production") continue;
    const auto it = series.find({s.get(r, "commodity_code"), s.get(r, "type")});
    if (it == series.end()) {
      unused_series.insert({s.get(r, "commodity_code"), s.get(r, "type")});
      continue;
    }
    const SeriesMap& map = it->second;
    const auto factor = tonnes_per_unit(s.get(r, "unit"));
    if (!factor) {
      auto& [first_line, count] =
          unconvertible[fmt::format("{}|{} {} in '{}'", s.get(r, "commodity_code"), map.material_id,
                                    map.stage, s.get(r, "unit"))];
      if (count++ == 0) first_line = r.line;
      continue;
    }
    const auto value = parse_double(s.get(r, "value"));
    if (!value) {
      ++withheld_by_series[fmt::format("{} {}", map.material_id, map.stage)];
      continue;
    }
    std::string iso3;
    const std::string& country = s.get(r, "country");
    if (s.get(r, "is_aggregate") == "1") {
      const std::string key = name_key(country);
      if (key.starts_with("world")) {
        iso3 = "WLD";
      } else if (key.starts_with("other")) {
        iso3 = "ROW";
      } else {
        unmapped(s.table, r, "country", country, "is an aggregate critmin does not know");
        continue;
      }
    } else if (!s.get(r, "iso3").empty()) {
      const auto known = countries.resolve(s.get(r, "iso3"));
      if (!known) {
        unmapped(s.table, r, "iso3", s.get(r, "iso3"), "is not a known ISO3 code");
        continue;
      }
      iso3 = *known;
    } else if (auto resolved = countries.resolve(country)) {
      iso3 = *resolved;
    } else {
      unmapped(s.table, r, "country", country,
               fmt::format("is not a single known country ({} {} {}); the value is not imported",
                           map.material_id, map.stage, s.get(r, "year")));
      continue;
    }
    const auto year = parse_int(s.get(r, "year"));
    if (!year) {
      unmapped(s.table, r, "year", s.get(r, "year"), "is not a year");
      continue;
    }
    const Value value_row{s.get(r, "release"), *value * *factor, s.get(r, "is_estimate") == "1",
                          map.basis};
    const auto key = std::make_tuple(map.material_id, map.stage, iso3, static_cast<int>(*year));
    auto [slot, inserted] = rows.try_emplace(key, value_row);
    if (!inserted) {
      if (value_row.release > slot->second.release) {
        slot->second = value_row;  // the later release revises the earlier one
      } else if (value_row.release == slot->second.release) {
        // Two mapped series of one material and stage (e.g. ilmenite and rutile for titanium).
        slot->second.quantity_t += value_row.quantity_t;
        ++summed_rows[fmt::format("{} {}", map.material_id, map.stage)];
      }
    }
  }
  for (const auto& [name, count] : summed_rows) {
    report.notes.push_back(
        fmt::format("{}: {}: {} country-years come from two mapped series of "
                    "one release and were added",
                    s.table.file, name, count));
  }
  for (const auto& [series_name, where] : unconvertible) {
    report.unmapped.push_back(
        {s.table.file, where.first, "unit",
         fmt::format("{} rows of {} cannot be converted to tonnes; not imported", where.second,
                     series_name.substr(series_name.find('|') + 1))});
  }
  for (const auto& [name, count] : withheld_by_series) {
    report.notes.push_back(
        fmt::format("{}: {} {} production cells withheld or not numeric "
                    "(W, NA, ...) were not imported",
                    s.table.file, count, name));
  }
  report.notes.push_back(
      fmt::format("{}: {} USGS production series are not used by critmin "
                  "(not mapped in reference/usgs_production_series.csv)",
                  s.table.file, unused_series.size()));
  OutTable& table = out["production"];
  table.header = {"material_id", "stage", "iso3",        "year",  "quantity",
                  "unit",        "basis", "is_estimate", "source"};
  for (const auto& [key, v] : rows) {
    table.rows.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key),
                          std::to_string(std::get<3>(key)), number_text(v.quantity_t), "t", v.basis,
                          v.is_estimate ? "true" : "false", "USGS " + v.release});
  }
  return Status::ok();
}

Status Importer::import_prices() {
  Result<Source> map_src = open_source(reference_path("usgs_price_series.csv"),
                                       {"commodity_code", "price_series", "material_id",
                                        "usd_per_t_factor", "contained_share", "basis", "note"});
  CRITMIN_RETURN_IF_ERROR(map_src);
  struct SeriesMap {
    std::string material_id;
    double factor;
    std::string basis;
    bool headline;
  };
  std::map<std::pair<std::string, std::string>, SeriesMap> series;
  const auto load_factor = [&](const Source& m, const CsvRecord& r,
                               std::vector<Diagnostic>& problems) -> std::optional<double> {
    const auto factor = parse_double(m.get(r, "usd_per_t_factor"));
    if (!factor || *factor <= 0 || !material(m.get(r, "material_id"))) {
      problems.push_back({m.table.file, r.line, "usd_per_t_factor",
                          "needs a known material_id and a positive factor"});
      return std::nullopt;
    }
    return factor;
  };
  std::vector<Diagnostic> problems;
  {
    const Source& m = map_src.value();
    for (const CsvRecord& r : m.table.records) {
      const auto factor = load_factor(m, r, problems);
      if (!factor) continue;
      // Prices are per tonne of contained content: a price per tonne of a compound (lithium
      // carbonate, WO3, V2O5...) is divided by the element's mass share of the compound.
      const auto contained = parse_double(m.get(r, "contained_share"));
      if (!contained || *contained <= 0.0 || *contained > 1.0) {
        problems.push_back({m.table.file, r.line, "contained_share",
                            "needs the mass share (0,1] of the contained content in the priced "
                            "product; 1 when the price is already per tonne of contained content"});
        continue;
      }
      series[{m.get(r, "commodity_code"), m.get(r, "price_series")}] = {
          m.get(r, "material_id"), *factor / *contained, m.get(r, "basis"),
          name_key(m.get(r, "note")).starts_with("headline")};
    }
  }
  Result<Source> src =
      open_source(source_path("usgs_mcs_salient_prices_2018_2023.csv"),
                  {"release", "commodity_code", "year", "price_series", "unit", "value"});
  CRITMIN_RETURN_IF_ERROR(src);
  OutTable& table = out["prices"];
  table.header = {"material_id", "series", "year", "price", "unit", "basis", "headline", "source"};
  // (material, series, year) -> (release, row); a later MCS release revises an earlier one.
  std::map<std::tuple<std::string, std::string, long long>,
           std::pair<std::string, std::vector<std::string>>>
      latest;
  std::size_t not_numeric = 0, unused = 0;
  for (const CsvRecord& r : src.value().table.records) {
    const Source& s = src.value();
    const auto it = series.find({s.get(r, "commodity_code"), s.get(r, "price_series")});
    if (it == series.end()) {
      ++unused;
      continue;
    }
    const auto value = parse_double(s.get(r, "value"));
    const auto year = parse_int(s.get(r, "year"));
    if (!value || !year) {
      ++not_numeric;
      continue;
    }
    std::vector<std::string> row = {it->second.material_id,
                                    s.get(r, "price_series"),
                                    std::to_string(*year),
                                    number_text(*value * it->second.factor),
                                    "USD/t",
                                    it->second.basis,
                                    it->second.headline ? "true" : "false",
                                    "USGS " + s.get(r, "release")};
    auto [slot, inserted] = latest.try_emplace(
        {it->second.material_id, s.get(r, "price_series"), *year}, s.get(r, "release"), row);
    if (!inserted && s.get(r, "release") > slot->second.first) {
      slot->second = {s.get(r, "release"), std::move(row)};
    }
  }
  for (auto& [key, value] : latest) table.rows.push_back(std::move(value.second));
  report.notes.push_back(
      fmt::format("{}: {} price cells not numeric (not imported); {} cells of "
                  "series not mapped in reference/usgs_price_series.csv",
                  src.value().table.file, not_numeric, unused));

  Result<Source> wb_map = open_source(reference_path("worldbank_price_series.csv"),
                                      {"column", "material_id", "usd_per_t_factor", "basis"});
  CRITMIN_RETURN_IF_ERROR(wb_map);
  Result<Source> pink_source = open_source(
      source_path("worldbank_pinksheet_metals_monthly_1960_2026.csv"), {"year", "month"});
  CRITMIN_RETURN_IF_ERROR(pink_source);
  const CsvTable& p = pink_source.value().table;
  const std::size_t year_col = pink_source.value().columns.at("year");
  const std::size_t month_col = pink_source.value().columns.at("month");
  OutTable& monthly = out["monthly_prices"];
  monthly.header = {"material_id", "series", "year", "month", "price", "unit"};
  for (const CsvRecord& m : wb_map.value().table.records) {
    const Source& w = wb_map.value();
    const auto factor = load_factor(w, m, problems);
    if (!factor) continue;
    const auto column = p.column(w.get(m, "column"));
    if (!column) {
      problems.push_back({w.table.file, m.line, "column",
                          fmt::format("'{}' is not a column of {}", w.get(m, "column"), p.file)});
      continue;
    }
    std::size_t empty_cells = 0;
    for (const CsvRecord& r : p.records) {
      const auto value = parse_double(r.fields[*column]);
      if (!value) {
        ++empty_cells;
        continue;
      }
      monthly.rows.push_back({w.get(m, "material_id"),
                              "World Bank Pink Sheet " + w.get(m, "column"), r.fields[year_col],
                              r.fields[month_col], number_text(*value * *factor), "USD/t"});
    }
    if (empty_cells > 0) {
      report.notes.push_back(fmt::format("{}: {} months without a value in column {}", p.file,
                                         empty_cells, w.get(m, "column")));
    }
  }
  if (!problems.empty()) {
    return Status::invalid_input("invalid price mapping tables", std::move(problems));
  }
  return Status::ok();
}

Status Importer::import_supply_risk_history() {
  Result<Source> src = open_source(source_path("eu_crm_assessments_sr_ei_2011_2023.csv"),
                                   {"Material", "Year", "SR", "EI"});
  CRITMIN_RETURN_IF_ERROR(src);
  const Source& s = src.value();
  struct Value {
    std::string sr, ei;
    int line;
  };
  std::map<std::pair<std::string, int>, Value> rows;
  for (const CsvRecord& r : s.table.records) {
    const auto id = material(s.get(r, "Material"));
    if (!id) {
      unmapped(s.table, r, "Material", s.get(r, "Material"), "is not a material of materials.csv");
      continue;
    }
    const auto year = parse_int(s.get(r, "Year"));
    if (!year) {
      unmapped(s.table, r, "Year", s.get(r, "Year"), "is not a year");
      continue;
    }
    const auto cell = [&](const char* column) -> std::optional<std::string> {
      const std::string& text = s.get(r, column);
      if (trim(text) == "-" || trim(text).empty()) return std::string();
      const auto value = parse_double(text);
      if (!value) return std::nullopt;
      return number_text(*value);
    };
    const auto sr = cell("SR"), ei = cell("EI");
    if (!sr || !ei) {
      unmapped(s.table, r, !sr ? "SR" : "EI", s.get(r, !sr ? "SR" : "EI"), "is not a number");
      continue;
    }
    auto [it, inserted] = rows.try_emplace({*id, static_cast<int>(*year)}, Value{*sr, *ei, r.line});
    if (!inserted) {
      Value& kept = it->second;
      // Two spellings of one material: keep the assessed values, report real conflicts.
      if (kept.sr.empty()) kept.sr = *sr;
      if (kept.ei.empty()) kept.ei = *ei;
      const bool sr_conflict = !sr->empty() && *sr != kept.sr;
      const bool ei_conflict = !ei->empty() && *ei != kept.ei;
      if (sr_conflict || ei_conflict) {
        unmapped(s.table, r, sr_conflict ? "SR" : "EI", s.get(r, "Material"),
                 fmt::format("conflicts with line {} for the same material and year; line {} "
                             "kept",
                             kept.line, kept.line));
      } else {
        report.notes.push_back(
            fmt::format("{}:{}: {} {} also on line {} (another spelling); "
                        "merged",
                        s.table.file, r.line, *id, *year, kept.line));
      }
    }
  }
  OutTable& table = out["supply_risk_history"];
  table.header = {"material_id", "year", "supply_risk", "economic_importance"};
  for (const auto& [key, v] : rows) {
    table.rows.push_back({key.first, std::to_string(key.second), v.sr, v.ei});
  }
  return Status::ok();
}

Status Importer::import_end_use() {
  Result<Source> src =
      open_source(source_path("eu_crm2023_material_use_shares.csv"),
                  {"Material", "Application", "Share", "NACE sector", "va_million_eur"});
  CRITMIN_RETURN_IF_ERROR(src);
  const Source& s = src.value();
  std::map<std::tuple<std::string, std::string, std::string>, std::vector<std::string>> rows;
  for (const CsvRecord& r : s.table.records) {
    const auto id = material(s.get(r, "Material"));
    if (!id) {
      unmapped(s.table, r, "Material", s.get(r, "Material"), "is not a material of materials.csv");
      continue;
    }
    const auto share = share_of(s.table, r, s.get(r, "Share"));
    if (!share) {
      unmapped(s.table, r, "Share", s.get(r, "Share"), "is not a percentage between 0 and 100");
      continue;
    }
    const std::string& nace = s.get(r, "NACE sector");
    const std::size_t dash = nace.find(" - ");
    const std::string code = dash == std::string::npos ? std::string(trim(nace))
                                                       : std::string(trim(nace.substr(0, dash)));
    const std::string label =
        dash == std::string::npos ? std::string() : std::string(trim(nace.substr(dash + 3)));
    const auto va = parse_double(s.get(r, "va_million_eur"));
    const std::string application(trim(s.get(r, "Application")));
    auto [it, inserted] =
        rows.try_emplace({*id, application, code},
                         std::vector<std::string>{*id, application, number_text(share->first), code,
                                                  label, va ? number_text(*va) : ""});
    if (!inserted) {
      const std::vector<std::string>& kept = it->second;
      if (kept[2] == number_text(share->first) && kept[5] == (va ? number_text(*va) : "")) {
        report.notes.push_back(
            fmt::format("{}:{}: exact repeat of an earlier {} / {} row; kept "
                        "once",
                        s.table.file, r.line, *id, application));
      } else {
        unmapped(s.table, r, "Application", application,
                 "appears twice for the same material and NACE sector with different values; "
                 "the first row is kept");
      }
    }
  }
  OutTable& table = out["end_use_shares"];
  table.header = {"material_id", "application", "share", "nace_code", "nace_label", "value_added"};
  for (auto& [key, row] : rows) table.rows.push_back(std::move(row));
  return Status::ok();
}

Status Importer::import_trade() {
  Result<Source> src =
      open_source(source_path("eurostat_comext_eu27_crm_imports_cn8_2022_2024.csv"),
                  {"declarant_iso2", "partner_iso2", "cn8", "flow", "year", "value_eur"});
  CRITMIN_RETURN_IF_ERROR(src);
  const Source& s = src.value();
  Result<Source> codes = open_source(reference_path("cn8_materials.csv"), {"cn8"});
  CRITMIN_RETURN_IF_ERROR(codes);
  std::set<std::string> mapped_codes;
  for (const CsvRecord& r : codes.value().table.records) {
    mapped_codes.insert(codes.value().get(r, "cn8"));
  }
  OutTable& table = out["eu_imports"];
  table.header = {"declarant_iso3", "partner_iso3", "cn8", "year", "value", "unit"};
  std::map<std::tuple<std::string, std::string, std::string, std::string>, double> rows;
  for (const CsvRecord& r : s.table.records) {
    if (s.get(r, "flow") != "import") {
      unmapped(s.table, r, "flow", s.get(r, "flow"), "is not an import flow");
      continue;
    }
    if (!mapped_codes.contains(s.get(r, "cn8"))) {
      unmapped(s.table, r, "cn8", s.get(r, "cn8"),
               "is not in reference/cn8_materials.csv; map it to materials and a stage");
      continue;
    }
    const auto declarant = countries.resolve(s.get(r, "declarant_iso2"));
    const auto partner = countries.resolve(s.get(r, "partner_iso2"));
    if (!declarant || !partner) {
      const char* field = !declarant ? "declarant_iso2" : "partner_iso2";
      unmapped(s.table, r, field, s.get(r, field), "is not a known country code");
      continue;
    }
    const auto value = parse_double(s.get(r, "value_eur"));
    if (!value || *value < 0) {
      unmapped(s.table, r, "value_eur", s.get(r, "value_eur"), "is not a non-negative number");
      continue;
    }
    // Eurostat codes that resolve to one ISO3 (e.g. XC Ceuta -> ESP) are added together.
    rows[{*declarant, *partner, s.get(r, "cn8"), s.get(r, "year")}] += *value;
  }
  for (const auto& [key, value] : rows) {
    table.rows.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key),
                          number_text(value), "EUR"});
  }
  return Status::ok();
}

Status Importer::import_projects() {
  Result<Source> src = open_source(source_path("crma_strategic_projects_2025_partial_list.csv"),
                                   {"list", "project_name", "promoter", "country_iso2", "materials",
                                    "value_chain_stage", "source"});
  CRITMIN_RETURN_IF_ERROR(src);
  const Source& s = src.value();
  OutTable& table = out["strategic_projects"];
  table.header = {"list", "project_name", "promoter", "iso3", "material_ids", "stage", "source"};
  for (const CsvRecord& r : s.table.records) {
    std::string iso3;
    const std::string& iso2 = s.get(r, "country_iso2");
    if (!trim(iso2).empty()) {
      const auto resolved = countries.resolve(iso2);
      if (!resolved) {
        unmapped(s.table, r, "country_iso2", iso2, "is not a known country code");
        continue;
      }
      iso3 = *resolved;
    }
    std::vector<std::string> ids;
    std::string text = s.get(r, "materials");
    for (char& c : text) {
      if (c == ';' || c == '/' || c == '+' || c == '&') c = ',';
    }
    for (std::string part : split(text, ',')) {
      if (part.starts_with("and ")) part = part.substr(4);
      if (part.empty()) continue;
      const auto id = material(part);
      if (!id) {
        unmapped(s.table, r, "materials", part,
                 "is not a material of materials.csv; the project is kept without it");
        continue;
      }
      if (std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
    }
    // The source marks projects it cannot name; the source line keeps them apart.
    const std::string& name = s.get(r, "project_name");
    const std::string project = trim(name).empty() || name.starts_with("(")
                                    ? fmt::format("(unnamed, source line {})", r.line)
                                    : name;
    table.rows.push_back({s.get(r, "list"), project, s.get(r, "promoter"), iso3, join(ids, "|"),
                          s.get(r, "value_chain_stage"), s.get(r, "source")});
  }
  Result<Source> sum = open_source(source_path("crma_strategic_projects_2025_summary.csv"),
                                   {"list", "decision_date", "metric", "value", "unit_or_note"});
  CRITMIN_RETURN_IF_ERROR(sum);
  OutTable& counts = out["strategic_project_counts"];
  counts.header = {"list", "metric", "decision_date", "value", "note"};
  for (const CsvRecord& r : sum.value().table.records) {
    const Source& m = sum.value();
    const auto value = parse_double(m.get(r, "value"));
    if (!value) {
      unmapped(m.table, r, "value", m.get(r, "value"), "is not a number");
      continue;
    }
    counts.rows.push_back({m.get(r, "list"), m.get(r, "metric"), m.get(r, "decision_date"),
                           number_text(*value), m.get(r, "unit_or_note")});
  }
  return Status::ok();
}

// CBS production-process accounts of the Netherlands by NACE section (table 85925ENG, the latest
// vintage in the supplementary sources; older vintages and the Dutch-language table are left out,
// and counted in a note). Money in million EUR at basic prices.
Status Importer::import_nl_industry_accounts() {
  Result<Source> src = open_source(
      source_path("supplementary/nl_cbs_value_added_by_industry.csv"),
      {"cbs_table", "nace_code", "nace_label", "year", "status", "output_basic_prices_mln_eur",
       "intermediate_consumption_mln_eur", "gross_value_added_basic_prices_mln_eur", "source_url"});
  CRITMIN_RETURN_IF_ERROR(src);
  const Source& s = src.value();
  OutTable& table = out["nl_industry_accounts"];
  table.header = {"nace_code",
                  "nace_label",
                  "year",
                  "output_meur",
                  "intermediate_consumption_meur",
                  "gross_value_added_meur",
                  "status",
                  "source"};
  std::size_t other_vintages = 0;
  for (const CsvRecord& r : s.table.records) {
    if (s.get(r, "cbs_table") != "85925ENG") {
      ++other_vintages;
      continue;
    }
    const auto year = parse_double(s.get(r, "year"));
    std::vector<std::string> money;
    bool numbers_ok = year.has_value();
    for (const char* column : {"output_basic_prices_mln_eur", "intermediate_consumption_mln_eur",
                               "gross_value_added_basic_prices_mln_eur"}) {
      const auto value = parse_double(s.get(r, column));
      if (!value || *value < 0) {
        unmapped(s.table, r, column, s.get(r, column), "is not a non-negative number");
        numbers_ok = false;
        break;
      }
      money.push_back(number_text(*value));
    }
    if (!numbers_ok) continue;
    table.rows.push_back({s.get(r, "nace_code"), s.get(r, "nace_label"), number_text(*year),
                          money[0], money[1], money[2], s.get(r, "status"),
                          fmt::format("CBS table 85925ENG, {}", s.get(r, "source_url"))});
  }
  report.notes.push_back(fmt::format(
      "{}: {} rows of older vintages or the Dutch-language table left out; only CBS table "
      "85925ENG (2023, the latest vintage) is imported",
      s.table.file, other_vintages));
  return Status::ok();
}

Status Importer::copy_reference_tables() {
  // Tables copied verbatim (after parsing, so that the written copy is normalised CSV).
  const std::vector<std::pair<std::filesystem::path, std::string>> copies = {
      {options.reference_dir / "reference" / "cn8_materials.csv", "cn8_materials"},
      {options.reference_dir / "reference" / "blocs.csv", "blocs"},
      {options.reference_dir / "estimates" / "supply_risk_inputs.csv", "supply_risk_inputs"},
      {options.reference_dir / "estimates" / "fx_rates.csv", "fx_rates"},
      {options.reference_dir / "estimates" / "assessment_parameters.csv", "parameters"},
      {options.reference_dir / "estimates" / "market_parameters.csv", "market_parameters"},
      {options.reference_dir / "estimates" / "demand_shares.csv", "demand_shares"},
      {options.reference_dir / "estimates" / "supply_costs.csv", "supply_costs"},
      {options.reference_dir / "estimates" / "state_stocks.csv", "state_stocks"},
      {options.reference_dir / "estimates" / "nl_import_bill.csv", "nl_import_bill"},
      {options.reference_dir / "estimates" / "nl_re_export_shares.csv", "nl_re_export_shares"},
      {options.reference_dir / "estimates" / "nl_end_use_mapping.csv", "nl_end_use_mapping"},
      {options.reference_dir / "estimates" / "minor_material_supply.csv", "minor_material_supply"},
      {options.reference_dir / "estimates" / "byproduct_hosts.csv", "byproduct_hosts"},
      {options.reference_dir / "estimates" / "ree_deposit_baskets.csv", "ree_deposit_baskets"},
      {options.reference_dir / "estimates" / "ree_mine_output.csv", "ree_mine_output"},
      {options.reference_dir / "estimates" / "ree_element_market.csv", "ree_element_market"},
  };
  for (const auto& [path, name] : copies) {
    Result<CsvTable> csv = read_csv_file(path);
    CRITMIN_RETURN_IF_ERROR(csv);
    OutTable& table = out[name];
    table.header = csv.value().header;
    for (const CsvRecord& r : csv.value().records) table.rows.push_back(r.fields);
    if (name == "cn8_materials") {
      // Keep only the columns of the dataset schema; the note stays in the reference table.
      const auto keep = {*csv.value().column("cn8"), *csv.value().column("material_ids"),
                         *csv.value().column("stage"), *csv.value().column("description")};
      OutTable narrowed;
      narrowed.header = {"cn8", "material_ids", "stage", "description"};
      for (const auto& row : table.rows) {
        std::vector<std::string> fields;
        for (std::size_t index : keep) fields.push_back(row[index]);
        narrowed.rows.push_back(std::move(fields));
      }
      table = std::move(narrowed);
    }
  }
  OutTable& table = out["countries"];
  table.header = {"iso3", "iso2", "name"};
  for (const Country& c : countries.countries()) table.rows.push_back({c.iso3, c.iso2, c.name});
  return Status::ok();
}

Status Importer::write_all() {
  std::error_code error;
  std::filesystem::create_directories(options.out_dir / "schema", error);
  if (error) {
    return Status::io_error(fmt::format("{}: cannot create the output directory: {}",
                                        options.out_dir.string(), error.message()));
  }
  for (auto& [name, table] : out) {
    // Parameters and the supply-risk inputs keep their authored order (the default row first).
    const bool sort_rows =
        name != "parameters" && name != "supply_risk_inputs" && name != "fx_rates" &&
        name != "market_parameters" && name != "demand_shares" && name != "supply_costs" &&
        name != "state_stocks" && name != "nl_import_bill" && name != "nl_re_export_shares" &&
        name != "nl_end_use_mapping" && name != "minor_material_supply" &&
        name != "byproduct_hosts" && name != "ree_deposit_baskets" && name != "ree_mine_output" &&
        name != "ree_element_market";
    report.rows_written[name] = table.rows.size();
    Status status = write_table(options.out_dir / (name + ".csv"), std::move(table), sort_rows);
    CRITMIN_RETURN_IF_ERROR(status);
  }
  // The schema travels with the data it describes: critmin's own, the one the dataset is checked
  // against (byte-identical to data/schema/).
  for (const std::string& name : dataset_table_names()) {
    const auto schema = embedded_schema_texts().find(name);
    if (schema == embedded_schema_texts().end()) {
      return Status::internal(fmt::format("critmin was built without schema/{}.csv", name));
    }
    Status status = write_text_file(options.out_dir / "schema" / (name + ".csv"), schema->second);
    CRITMIN_RETURN_IF_ERROR(status);
  }
  std::string text =
      "# critmin import report: source values that could not be mapped (not "
      "imported), then notes\n";
  for (const Diagnostic& d : report.unmapped) text += "unmapped: " + d.to_string() + "\n";
  for (const std::string& note : report.notes) text += "note: " + note + "\n";
  return write_text_file(options.out_dir / "import_report.txt", text);
}

}  // namespace

Result<ImportReport> import_sources(const ImportOptions& options) {
  if (!std::filesystem::is_directory(options.sources_dir)) {
    return Status::not_found(
        fmt::format("--from {}: no such directory; point it at the public sources (e.g. "
                    "data/sources, the copy in the repository)",
                    options.sources_dir.string()));
  }
  {
    std::error_code error;
    const std::filesystem::file_status out_status = std::filesystem::status(options.out_dir, error);
    if (options.out_dir.empty()) {
      return Status::invalid_input(
          "--out: empty path; give the directory to write the dataset to (it is created when "
          "missing)");
    }
    if (std::filesystem::exists(out_status) && !std::filesystem::is_directory(out_status)) {
      return Status::invalid_input(
          fmt::format("--out {}: exists and is not a directory; give the directory to write the "
                      "dataset to (it is created when missing)",
                      options.out_dir.string()));
    }
  }
  Result<CountryResolver> countries =
      CountryResolver::load(options.iso_codes_json, options.reference_dir / "reference");
  CRITMIN_RETURN_IF_ERROR(countries);
  // Everything is written to a staging directory beside --out and moved into place only after
  // the written dataset passes the dataset check, so a failed import never damages --out (which
  // may be the committed default dataset).
  std::filesystem::path out_dir = std::filesystem::absolute(options.out_dir).lexically_normal();
  if (out_dir.filename().empty()) out_dir = out_dir.parent_path();
  const std::filesystem::path staging = out_dir.string() + ".importing";
  std::error_code error;
  std::filesystem::remove_all(staging, error);
  // The staging directory is removed on every way out but one: a written dataset that fails the
  // dataset check is kept there, and the error says so, because its diagnostics point into it.
  struct RemoveStaging {
    const std::filesystem::path& path;
    bool keep = false;
    ~RemoveStaging() {
      if (keep) return;
      std::error_code ignored;
      std::filesystem::remove_all(path, ignored);
    }
  } remove_staging{staging};
  ImportOptions staged = options;
  staged.out_dir = staging;
  Importer importer{staged, {}, std::move(countries).value(), {}, {}, {}};
  for (auto step : {&Importer::load_parameters, &Importer::import_materials}) {
    Status status = (importer.*step)();
    CRITMIN_RETURN_IF_ERROR(status);
  }
  Status status =
      importer.import_shares("eu_crm2023_global_supply_shares.csv", "global_supply_shares");
  CRITMIN_RETURN_IF_ERROR(status);
  status = importer.import_shares("eu_crm2023_eu_sourcing_shares.csv", "eu_sourcing_shares");
  CRITMIN_RETURN_IF_ERROR(status);
  for (auto step :
       {&Importer::import_governance, &Importer::import_production, &Importer::import_prices,
        &Importer::import_supply_risk_history, &Importer::import_end_use, &Importer::import_trade,
        &Importer::import_projects, &Importer::import_nl_industry_accounts,
        &Importer::copy_reference_tables, &Importer::write_all}) {
    status = (importer.*step)();
    CRITMIN_RETURN_IF_ERROR(status);
  }
  std::vector<Diagnostic> problems = check_dataset(staging);
  if (!problems.empty()) {
    remove_staging.keep = true;
    return Status::invalid_input(
        fmt::format("the imported dataset does not pass the dataset check, so {} was left "
                    "unchanged; the rejected tables are kept in {} for inspection. The "
                    "reference tables or the importer need fixing",
                    out_dir.string(), staging.string()),
        std::move(problems));
  }
  for (const char* sub : {"", "schema"}) {
    std::filesystem::create_directories(out_dir / sub, error);
    if (error) {
      return Status::io_error(fmt::format("{}: cannot create the directory: {}",
                                          (out_dir / sub).string(), error.message()));
    }
    for (const auto& entry : std::filesystem::directory_iterator(staging / sub)) {
      if (!entry.is_regular_file()) continue;
      std::filesystem::rename(entry.path(), out_dir / sub / entry.path().filename(), error);
      if (error) {
        return Status::io_error(fmt::format("cannot move {} into {}: {}", entry.path().string(),
                                            out_dir.string(), error.message()));
      }
    }
  }
  std::filesystem::remove_all(staging, error);
  return std::move(importer.report);
}

}  // namespace critmin
