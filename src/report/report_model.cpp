// The report model's typed parts and its JSON form (critmin/report/results_report.h).
#include "report/report_model.h"

#include <fmt/format.h>

#include <utility>

#include "report/report_text.h"

namespace critmin::report {

using nlohmann::json;

namespace {

const char* kind_name(ResultsKind kind) {
  switch (kind) {
    case ResultsKind::kCompare:
      return "compare";
    case ResultsKind::kEnsemble:
      return "ensemble";
    case ResultsKind::kSimulation:
      break;
  }
  return "simulation";
}

ReportCell cell_of(const json& value) {
  if (value.is_null()) return std::monostate{};
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_number_unsigned()) return static_cast<std::int64_t>(value.get<std::uint64_t>());
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

json json_of(const ReportCell& cell) {
  return std::visit(
      [](const auto& value) -> json {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          return nullptr;
        } else {
          return value;
        }
      },
      cell);
}

}  // namespace

ReportModel::ReportModel(ResultsKind kind, std::string title, std::vector<ReportTable> tables,
                         std::vector<std::string> notes, std::shared_ptr<const ReportCharts> charts)
    : kind_(kind),
      title_(std::move(title)),
      tables_(std::move(tables)),
      notes_(std::move(notes)),
      charts_(charts ? std::move(charts) : std::make_shared<const ReportCharts>()) {}

Result<const ReportTable*> ReportModel::table(std::string_view name) const {
  std::string names;
  for (const ReportTable& t : tables_) {
    if (t.name == name) return &t;
    names += (names.empty() ? "" : ", ") + t.name;
  }
  return Status::not_found(fmt::format("the report has no table '{}'; its tables are {}", name,
                                       names.empty() ? "none" : names));
}

std::string ReportModel::to_json() const {
  json model = charts_->fields.is_object() ? charts_->fields : json::object();
  model["kind"] = kind_name(kind_);
  model["title"] = title_;
  json tables = json::array();
  for (const ReportTable& t : tables_) {
    json columns = json::array();
    for (const ReportColumn& c : t.columns) {
      columns.push_back({{"key", c.key}, {"label", c.label}, {"unit", c.unit}});
    }
    json rows = json::array();
    for (const std::vector<ReportCell>& row : t.rows) {
      json object = json::object();
      for (std::size_t k = 0; k < t.columns.size() && k < row.size(); ++k) {
        if (!std::holds_alternative<std::monostate>(row[k])) {
          object[t.columns[k].key] = json_of(row[k]);
        }
      }
      rows.push_back(std::move(object));
    }
    tables.push_back(
        {{"name", t.name}, {"title", t.title}, {"columns", columns}, {"rows", std::move(rows)}});
  }
  model["tables"] = std::move(tables);
  model["notes"] = notes_;
  return model.dump();
}

Result<ReportModel> report_model_from_document(ResultsKind kind, json document) {
  if (!document.is_object()) return Status::internal("report model: not a JSON object");
  std::vector<ReportTable> tables;
  if (document.contains("tables")) {
    if (!document["tables"].is_array()) {
      return Status::internal("report model: 'tables' is not an array");
    }
    for (const json& t : document["tables"]) {
      if (!t.is_object() || !t.contains("columns") || !t["columns"].is_array() ||
          !t.contains("rows") || !t["rows"].is_array()) {
        return Status::internal("report model: a table without 'columns' and 'rows' arrays");
      }
      ReportTable table;
      table.name = string_or(t, "name");
      table.title = string_or(t, "title");
      for (const json& c : t["columns"]) {
        table.columns.push_back({string_or(c, "key"), string_or(c, "label"), string_or(c, "unit")});
      }
      for (const json& r : t["rows"]) {
        std::vector<ReportCell> row;
        row.reserve(table.columns.size());
        for (const ReportColumn& c : table.columns) {
          auto it = r.is_object() ? r.find(c.key) : r.end();
          row.push_back(r.is_object() && it != r.end() ? cell_of(*it) : ReportCell{});
        }
        table.rows.push_back(std::move(row));
      }
      tables.push_back(std::move(table));
    }
  }
  std::vector<std::string> notes;
  if (document.contains("notes") && document["notes"].is_array()) {
    for (const json& note : document["notes"]) {
      notes.push_back(note.is_string() ? note.get<std::string>() : note.dump());
    }
  }
  std::string title = string_or(document, "title", "critmin report");
  for (const char* typed : {"kind", "title", "tables", "notes"}) document.erase(typed);
  auto charts = std::make_shared<ReportCharts>();
  charts->fields = std::move(document);
  return ReportModel(kind, std::move(title), std::move(tables), std::move(notes),
                     std::move(charts));
}

}  // namespace critmin::report
