#include "world/countries.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/csv.h"
#include "core/text.h"

namespace critmin {

Result<CountryResolver> CountryResolver::load(const std::filesystem::path& iso_codes_json,
                                              const std::filesystem::path& reference_dir) {
  CountryResolver resolver;
  Result<std::string> text = read_text_file(iso_codes_json);
  if (!text.is_ok()) {
    return Status::not_found(fmt::format(
        "{}: the ISO 3166 list of Debian's iso-codes package is missing; install it with "
        "`apt-get install iso-codes` (make build does this)",
        iso_codes_json.string()));
  }
  const nlohmann::json json = nlohmann::json::parse(text.value(), nullptr, false);
  if (json.is_discarded() || !json.contains("3166-1") || !json["3166-1"].is_array()) {
    return Status::invalid_input(
        fmt::format("{}: not an iso-codes ISO 3166-1 JSON file", iso_codes_json.string()));
  }
  const auto add_key = [&](const std::string& key, const std::string& iso3) {
    if (!key.empty()) resolver.iso3_by_key_.emplace(to_lower(trim(key)), iso3);
  };
  for (const auto& entry : json["3166-1"]) {
    Country country;
    country.iso3 = entry.value("alpha_3", "");
    country.iso2 = entry.value("alpha_2", "");
    country.name = entry.value("common_name", entry.value("name", ""));
    if (country.iso3.empty()) continue;
    add_key(country.iso3, country.iso3);
    add_key(country.iso2, country.iso3);
    add_key(entry.value("name", ""), country.iso3);
    add_key(entry.value("common_name", ""), country.iso3);
    add_key(entry.value("official_name", ""), country.iso3);
    resolver.by_iso3_[country.iso3] = country;
  }

  Result<CsvTable> extra = read_csv_file(reference_dir / "extra_countries.csv");
  CRITMIN_RETURN_IF_ERROR(extra);
  {
    const CsvTable& t = extra.value();
    const auto iso3 = t.column("iso3"), iso2 = t.column("iso2"), name = t.column("name");
    if (!iso3 || !iso2 || !name) {
      return Status::invalid_input(fmt::format("{}: needs columns iso3,iso2,name", t.file));
    }
    for (const CsvRecord& r : t.records) {
      Country country{r.fields[*iso3], r.fields[*iso2], r.fields[*name]};
      add_key(country.iso3, country.iso3);
      add_key(country.iso2, country.iso3);
      add_key(country.name, country.iso3);
      resolver.by_iso3_[country.iso3] = country;
    }
  }
  Result<CsvTable> aliases = read_csv_file(reference_dir / "country_aliases.csv");
  CRITMIN_RETURN_IF_ERROR(aliases);
  {
    const CsvTable& t = aliases.value();
    const auto alias = t.column("alias"), iso3 = t.column("iso3");
    if (!alias || !iso3) {
      return Status::invalid_input(fmt::format("{}: needs columns alias,iso3", t.file));
    }
    std::vector<Diagnostic> problems;
    for (const CsvRecord& r : t.records) {
      if (!resolver.by_iso3_.contains(r.fields[*iso3])) {
        problems.push_back({t.file, r.line, "iso3",
                            fmt::format("'{}' is neither an ISO3 code of iso-codes nor in "
                                        "extra_countries.csv",
                                        r.fields[*iso3])});
        continue;
      }
      // An alias overrides an ISO name match: it records a deliberate decision.
      resolver.iso3_by_key_[to_lower(trim(r.fields[*alias]))] = r.fields[*iso3];
    }
    if (!problems.empty()) {
      return Status::invalid_input(fmt::format("{}: invalid aliases", t.file), std::move(problems));
    }
  }
  resolver.by_iso3_["WLD"] = {"WLD", "", "World (total)"};
  resolver.by_iso3_["ROW"] = {"ROW", "", "Rest of the world (countries not listed by the source)"};
  return resolver;
}

std::optional<std::string> CountryResolver::resolve(std::string_view name_or_code) const {
  auto it = iso3_by_key_.find(to_lower(trim(name_or_code)));
  if (it == iso3_by_key_.end()) return std::nullopt;
  return it->second;
}

std::vector<Country> CountryResolver::countries() const {
  std::vector<Country> out;
  out.reserve(by_iso3_.size());
  for (const auto& [iso3, country] : by_iso3_) out.push_back(country);
  return out;
}

}  // namespace critmin
