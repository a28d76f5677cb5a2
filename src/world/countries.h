// Country names and codes from the sources, resolved to ISO 3166-1 alpha-3.
//
// The ISO list comes from Debian's iso-codes package (/usr/share/iso-codes/json/iso_3166-1.json),
// which the Makefile installs; the project's own reference tables add what ISO lacks: the
// spellings used by the sources (reference/country_aliases.csv) and entities without an ISO code
// (reference/extra_countries.csv, e.g. Kosovo XKX).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin {

class CountryResolver {
 public:
  // Reads the iso-codes JSON file and the two reference tables in reference_dir.
  static Result<CountryResolver> load(const std::filesystem::path& iso_codes_json,
                                      const std::filesystem::path& reference_dir);

  // ISO3 for a name, an alpha-2 or an alpha-3 code (case-insensitive, trimmed); nullopt when
  // unknown.
  std::optional<std::string> resolve(std::string_view name_or_code) const;

  // Every country known, sorted by ISO3, plus the pseudo-regions WLD (world) and ROW (rest of the
  // world) used by production totals.
  std::vector<Country> countries() const;

 private:
  std::map<std::string, Country> by_iso3_;
  std::map<std::string, std::string> iso3_by_key_;  // lower-case name or code -> ISO3
};

}  // namespace critmin
