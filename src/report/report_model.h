// Building a ReportModel (critmin/report/results_report.h) inside the report layer: the model
// builders assemble the charts' data as a JSON document, which is also the form web/report.js
// reads, and hand it over here once; its tables and notes become typed.
#pragma once

#include <nlohmann/json.hpp>

#include "critmin/core/status.h"
#include "critmin/report/results_report.h"

namespace critmin::report {

struct ReportCharts {
  nlohmann::json fields;  // an object: every field of the model but kind, title, tables, notes
};

// Takes `document` (an object with `title`, `tables` — each with `name`, `title`, `columns` of
// {key, label, unit} and `rows` of objects keyed by column — and `notes`, plus any chart fields)
// apart into a model of `kind`. A row's field that no column names is not kept; a cell that is an
// array or an object is kept as its JSON text. kInternal when the document breaks that shape: the
// builders write it, users never do.
Result<ReportModel> report_model_from_document(ResultsKind kind, nlohmann::json document);

}  // namespace critmin::report
