// How a run's [[appraisal]] cases are written (SimulationResult::appraisals): shared by simulate's
// outputs (results.cpp) and compare's, which shows them for each design.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "critmin/sim/simulation.h"

namespace critmin::sim {

// One line per appraised project ("appraisal: ... P(NPV>0) ... investable: ..."), from its four
// cases, in the rows' order; no trailing newline.
std::vector<std::string> appraisal_lines(const std::vector<AppraisalRow>& rows);

// One object per case, the keys of summary.json's "appraisals".
nlohmann::json appraisal_rows_json(const std::vector<AppraisalRow>& rows);

}  // namespace critmin::sim
