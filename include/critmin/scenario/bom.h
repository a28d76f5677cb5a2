// A company's bill of materials (`--bom FILE` of simulate, compare and ensemble; `bom_csv` of the
// dashboard's jobs): what one company buys of each material a year, and optionally where from.
// docs/scorecards.md ("A company's own exposure") describes the format and what a run reports.
//
// The file is CSV with a header; columns (any order, names exact):
//   material            a material of the dataset: id, name or alias ("gallium")
//   quantity_t_per_yr   [t/yr] of contained content bought a year ...
//   spend_eur_per_yr    [EUR/yr] ... or what is spent on it a year: exactly one of the two per row
//                       (a file may have both columns; each row fills one of them)
//   supply_country      optional: ISO3 code of a country of the dataset the material comes from
//                       (its region's price and physical shortage apply where the market has it
//                       as a region, else the EU's)
// Other columns are an error (a typo of a known one would otherwise be dropped silently). Empty
// lines are not rows; a material may appear on several rows (several suppliers).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/world/dataset.h"

namespace critmin::scenario {

// Upper bounds of a row's amounts: beyond them a row is a unit mistake (kg for t, cents for
// euros), not a company. 1e8 t/yr is more than a year's world output of any critical material
// but iron, aluminium and phosphate; 1e12 EUR/yr is more than any company's turnover.
inline constexpr double kBomMaxQuantityTPerYr = 1e8;
inline constexpr double kBomMaxSpendEurPerYr = 1e12;

struct BomLine {
  int line = 0;          // the row's line in the file (1-based; the header is line 1)
  std::string material;  // dataset id
  // Exactly one is > 0: the other is 0. Spend is converted to tonnes by the run, at the
  // material's base price and the base year's USD/EUR rate (critmin/sim/company.h).
  double quantity_t_per_yr = 0.0;
  double spend_eur_per_yr = 0.0;
  std::string supply_country;  // ISO3 of the dataset, or empty
};

struct Bom {
  std::string file;  // the name the file was read under, for notes and outputs
  std::vector<BomLine> lines;
};

// Reads a bill of materials from CSV text. Every problem is reported at once as a Diagnostic
// file:line:column with how to fix it (an unknown material or country with the nearest names): a
// missing material column, neither or both of the quantity columns, an unknown column, an empty
// material, a quantity or spend that is not a number, not finite, not above 0 or above its bound,
// an unknown supply country, and a file without rows. Fails with kInvalidInput; never asserts on
// input. Cost: linear in the text, plus a did-you-mean over the dataset's names per unknown name.
Result<Bom> read_bom(std::string_view text, const std::string& file, const Dataset& data);

}  // namespace critmin::scenario
