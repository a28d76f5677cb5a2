// The flat column layout shared by the CSV and XLSX writers, so both show the same figures under
// the same headers (with units).
#pragma once

#include <string>
#include <vector>

#include "critmin/metrics/assess.h"

namespace critmin {

struct AssessColumns {
  std::vector<std::string> headers;
  std::vector<bool> numeric;  // per column: write as a number in XLSX
  std::vector<std::vector<std::string>> cells;
};

AssessColumns assess_columns(const std::vector<AssessmentRow>& rows);

}  // namespace critmin
