// The web assets compiled into critmin (cmake/embed_web_assets.cmake): the chart library from npm
// (Chart.js, node_modules/chart.js/dist/chart.umd.min.js) and the project's own files in web/
// (report.css, report.js, dashboard.html, dashboard.js). HTML reports and the dashboard inline
// them, so both work offline.
#pragma once

#include <string_view>

namespace critmin::report {

// The asset's bytes; empty for an unknown name.
std::string_view web_asset(std::string_view name);

}  // namespace critmin::report
