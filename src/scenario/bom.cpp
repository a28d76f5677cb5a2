// The bill-of-materials reader (critmin/scenario/bom.h).
#include "critmin/scenario/bom.h"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <functional>
#include <optional>

#include "core/csv.h"
#include "core/suggest.h"
#include "core/text.h"

namespace critmin::scenario {
namespace {

constexpr std::string_view kMaterial = "material";
constexpr std::string_view kQuantity = "quantity_t_per_yr";
constexpr std::string_view kSpend = "spend_eur_per_yr";
constexpr std::string_view kCountry = "supply_country";
constexpr std::array<std::string_view, 4> kColumns = {kMaterial, kQuantity, kSpend, kCountry};

// An amount cell: nullopt when empty; a problem recorded (and 0 returned) when it is not a
// finite number in (0, limit].
std::optional<double> amount(const std::string& cell, std::string_view column, double limit,
                             std::string_view unit, std::string_view other_column,
                             const std::function<void(std::string_view, std::string)>& error) {
  const std::string_view text = trim(cell);
  if (text.empty()) return std::nullopt;
  const std::optional<double> value = parse_double(text);
  if (!value) {
    error(column,
          fmt::format("'{}' is not a number; write a plain decimal in {}, e.g. 12.5", text, unit));
    return 0.0;
  }
  if (!(*value > 0.0)) {
    error(column,
          fmt::format("{} must be above 0; leave the row out when nothing is bought", *value));
    return 0.0;
  }
  if (*value > limit) {
    error(column,
          fmt::format("{} {} is above the bound of {} {}: check the unit (a value in kg "
                      "or cents?), or give it as {}",
                      grouped_digits(*value), unit, grouped_digits(limit), unit, other_column));
    return 0.0;
  }
  return value;
}

}  // namespace

Result<Bom> read_bom(std::string_view text, const std::string& file, const Dataset& data) {
  Result<CsvTable> parsed = parse_csv(text, file);
  CRITMIN_RETURN_IF_ERROR(parsed);
  const CsvTable& table = parsed.value();
  std::vector<Diagnostic> problems;
  const auto invalid = [&](std::vector<Diagnostic> list) {
    // The message first: the list is moved into the Status.
    std::string message = fmt::format(
        "{}: invalid bill of materials ({} problem{}); docs/scorecards.md, \"A "
        "company's own exposure\", describes the columns",
        file, list.size(), list.size() == 1 ? "" : "s");
    return Status::invalid_input(std::move(message), std::move(list));
  };

  for (const std::string& name : table.header) {
    bool known = false;
    for (std::string_view column : kColumns) known = known || name == column;
    if (!known) {
      std::vector<std::string> names(kColumns.begin(), kColumns.end());
      problems.push_back(
          {file, 1, name,
           fmt::format("unknown column '{}'{}; the columns are material, quantity_t_per_yr or "
                       "spend_eur_per_yr, and optionally supply_country",
                       name, did_you_mean(name, names))});
    }
  }
  const std::optional<std::size_t> material_column = table.column(kMaterial);
  const std::optional<std::size_t> quantity_column = table.column(kQuantity);
  const std::optional<std::size_t> spend_column = table.column(kSpend);
  const std::optional<std::size_t> country_column = table.column(kCountry);
  if (!material_column) {
    problems.push_back({file, 1, std::string(kMaterial),
                        "missing column 'material': add it to the header, with a dataset material "
                        "id (e.g. gallium) on each row"});
  }
  if (!quantity_column && !spend_column) {
    problems.push_back({file, 1, std::string(kQuantity),
                        "missing column: give quantity_t_per_yr (tonnes a year) or "
                        "spend_eur_per_yr (euros a year), or both, in the header"});
  }
  if (!problems.empty()) return invalid(std::move(problems));

  std::vector<std::string> material_ids, country_codes;
  material_ids.reserve(data.materials.size());
  for (const Material& m : data.materials) material_ids.push_back(m.id);
  country_codes.reserve(data.countries.size());
  for (const Country& c : data.countries) country_codes.push_back(c.iso3);

  Bom bom;
  bom.file = file;
  for (const CsvRecord& record : table.records) {
    bool blank = true;
    for (const std::string& cell : record.fields) blank = blank && trim(cell).empty();
    if (blank) continue;
    const auto error = [&](std::string_view column, std::string message) {
      problems.push_back({file, record.line, std::string(column), std::move(message)});
    };
    BomLine line;
    line.line = record.line;
    const std::string_view material = trim(record.fields[*material_column]);
    if (material.empty()) {
      error(kMaterial, "empty material; give a dataset material id, e.g. gallium");
    } else if (const Material* m = data.find_material(material)) {
      line.material = m->id;
    } else {
      error(kMaterial, fmt::format("unknown material '{}'{}; `critmin data materials` lists them",
                                   material, did_you_mean(material, material_ids)));
    }
    const std::optional<double> quantity =
        quantity_column ? amount(record.fields[*quantity_column], kQuantity, kBomMaxQuantityTPerYr,
                                 "t/yr", kSpend, error)
                        : std::nullopt;
    const std::optional<double> spend =
        spend_column ? amount(record.fields[*spend_column], kSpend, kBomMaxSpendEurPerYr, "EUR/yr",
                              kQuantity, error)
                     : std::nullopt;
    if (quantity && spend) {
      error(kSpend,
            "both quantity_t_per_yr and spend_eur_per_yr are given; keep one of them (a spend is "
            "converted to tonnes at the material's base price)");
    } else if (!quantity && !spend) {
      error(quantity_column ? kQuantity : kSpend,
            "neither quantity_t_per_yr nor spend_eur_per_yr is given; fill one of them");
    } else {
      line.quantity_t_per_yr = quantity.value_or(0.0);
      line.spend_eur_per_yr = spend.value_or(0.0);
    }
    if (country_column) {
      const std::string code = to_upper(trim(record.fields[*country_column]));
      if (!code.empty()) {
        if (data.find_country(code)) {
          line.supply_country = code;
        } else {
          error(kCountry,
                fmt::format("unknown country '{}'{}; use an ISO3 code of the dataset (e.g. CHN), "
                            "or leave it empty for the EU market",
                            code, did_you_mean(code, country_codes)));
        }
      }
    }
    bom.lines.push_back(std::move(line));
  }
  if (bom.lines.empty() && problems.empty()) {
    problems.push_back({file, 0, "",
                        "the bill of materials has no rows; add one per material bought, e.g. "
                        "gallium,2.5"});
  }
  if (!problems.empty()) return invalid(std::move(problems));
  return bom;
}

}  // namespace critmin::scenario
