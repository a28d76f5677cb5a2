// Checks across the rows and tables of a dataset that a per-cell schema check cannot see.
#pragma once

#include <vector>

#include "critmin/world/dataset.h"

namespace critmin {

// Appends one diagnostic per problem: supply shares of a material and stage (or end-use shares of a
// material) that sum above 1 + share_sum_tolerance, parameters critmin needs that are missing, a
// supply_risk_inputs table without its default row "*", non-positive exchange rates or none for the
// trade year, and imports under a CN8 code that cn8_materials does not map.
void check_dataset_consistency(const Dataset& data, std::vector<Diagnostic>& problems);

// The parameters every dataset must define (parameters.csv).
const std::vector<std::string>& required_parameters();

// Loads without returning early on the first failing table; used by check_dataset.
Result<Dataset> load_dataset_unchecked(const std::filesystem::path& directory,
                                       std::vector<Diagnostic>& problems);

}  // namespace critmin
