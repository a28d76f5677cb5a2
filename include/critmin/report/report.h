// Writers for assessment results: aligned terminal table, CSV, JSON (the contract of PRODUCT.md)
// and XLSX. Pure formatting: no computation happens here.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/market/calibration.h"
#include "critmin/metrics/assess.h"
#include "critmin/policy/club.h"

namespace critmin {

// JSON array, one object per material and stage. Units: shares 0-1, HHI 0-10000, money USD
// (EUR kept beside it where the source is in EUR), quantities t/yr.
std::string assess_to_json(const std::vector<AssessmentRow>& rows);

// One CSV row per material and stage; import figures flattened as <region>_<figure> columns.
std::string assess_to_csv(const std::vector<AssessmentRow>& rows);

// An aligned text table for a terminal, followed by a legend of the columns and estimates.
std::string assess_to_table(const std::vector<AssessmentRow>& rows);

// An XLSX workbook: sheet "assessment" (the CSV table, units in the headers), sheet "imports"
// (one row per material, stage and region) and sheet "notes" (method and estimates).
Status assess_to_xlsx(const std::vector<AssessmentRow>& rows, const std::filesystem::path& file);

// The equilibrium of one material and year as JSON (the `critmin clear` contract: status, nodes,
// flows, plus accounts, calibration and statistics) or as an aligned table with a legend.
// With a club outcome (clear --scenario with [club]/[[instrument]]), the club's member regions,
// the outer loop's convergence and every instrument's figures follow.
std::string equilibrium_to_json(const market::CalibratedMarket& market,
                                const market::Equilibrium& equilibrium, const std::string& solver,
                                const policy::ClubOutcome* club = nullptr);
std::string equilibrium_to_table(const market::CalibratedMarket& market,
                                 const market::Equilibrium& equilibrium, const std::string& solver,
                                 const policy::ClubOutcome* club = nullptr);

}  // namespace critmin
