// `critmin data import`: reads the public sources as they lie in a sources directory (USGS MCS,
// EU CRM 2023 tables, World Bank WGI and Pink Sheet, Eurostat Comext, CRMA strategic projects) and
// writes a critmin dataset in the project's schema.
//
// Names are normalised on the way in: countries to ISO3, materials to canonical ids, CN8 codes and
// USGS series to materials and stages, through the hand-curated tables in <reference>/reference/.
// The estimates in <reference>/estimates/ and the schema in <reference>/schema/ are copied
// alongside. Anything the importer cannot map is listed in the report (and in
// <out>/import_report.txt), never dropped silently. Output rows are sorted, so that importing the
// same sources twice gives byte-identical files.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "critmin/core/status.h"

namespace critmin {

struct ImportOptions {
  std::filesystem::path sources_dir;     // holds the source CSV files
  std::filesystem::path out_dir;         // created when missing
  std::filesystem::path reference_dir;   // holds reference/, estimates/ and schema/
  std::filesystem::path iso_codes_json;  // Debian iso-codes ISO 3166-1 list
};

struct ImportReport {
  std::map<std::string, std::size_t> rows_written;  // table -> rows
  std::vector<Diagnostic> unmapped;  // source values that could not be mapped (row not imported)
  std::vector<std::string> notes;    // counts of deliberately skipped cells, merges, and the like
};

// Imports every source. Fails when a source file is missing or malformed, when a reference table
// is invalid, or when the written dataset does not pass check_dataset (a bug).
Result<ImportReport> import_sources(const ImportOptions& options);

// The default location of Debian's ISO 3166-1 list.
std::filesystem::path default_iso_codes_json();

}  // namespace critmin
