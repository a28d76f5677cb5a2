// Tidy exports as long tables (critmin/report/long_tables.h).
#include "critmin/report/long_tables.h"

#include <fmt/format.h>

#include <system_error>

#include "core/csv.h"
#include "critmin/core/figures.h"
#include "critmin/core/files.h"
#include "critmin/sim/headline.h"
#include "critmin/sim/scorecard.h"

namespace critmin::report {
namespace {

// The shortest text that reads back to the same double.
std::string number(double value) { return fmt::format("{}", value); }

std::string optional_number(const std::optional<double>& value) {
  return value ? number(*value) : std::string();
}

std::string label_of(FigureGroup group, const std::string& key) {
  return figure_label_of(group, key);
}

// The [[appraisal]] cases as a long table, one row per case and figure, without rows yet; with
// `with_design` a first column names the design (compare).
LongTable appraisal_table(bool with_design) {
  LongTable appraisals{"appraisals",
                       {"material", "region", "stage", "capacity_t", "online_year", "runs",
                        "supplier", "instruments", "figure", "label", "value", "unit"},
                       {}};
  if (with_design) appraisals.header.insert(appraisals.header.begin(), "design");
  return appraisals;
}

// Appends the rows of `rows` to a table of appraisal_table; `design` fills its first column when
// the table has one (compare).
void append_appraisal_rows(LongTable& appraisals, const std::vector<sim::AppraisalRow>& rows,
                           const std::string& design) {
  const bool with_design = appraisals.header.front() == "design";
  for (const sim::AppraisalRow& a : rows) {
    for (const auto& [figure, value] : std::vector<std::pair<const char*, std::optional<double>>>{
             {"probability_npv_positive", a.figures.probability_npv_positive},
             {"expected_npv_usd", a.figures.expected_npv_usd},
             {"npv_p5_usd", a.figures.npv_p5_usd},
             {"npv_p95_usd", a.figures.npv_p95_usd},
             {"fiscal_cost_usd_total", a.figures.fiscal_cost_usd},
             {"investable", a.figures.investable ? 1.0 : 0.0},
             {"investable_floor_usd_per_t", a.investable_floor_usd_per_t}}) {
      Result<const FigureAttributes*> figure_attributes =
          find_figure(FigureGroup::kSummary, figure);
      std::vector<std::string> row = {
          a.material,
          a.region,
          std::string(stage_name(a.stage)),
          number(a.capacity_t),
          std::to_string(a.online_year),
          std::to_string(a.runs),
          a.figures.supplier,
          a.figures.instruments,
          figure,
          figure_attributes.is_ok() ? figure_attributes.value()->label : "",
          optional_number(value),
          figure_attributes.is_ok() ? figure_attributes.value()->unit : ""};
      if (with_design) row.insert(row.begin(), design);
      appraisals.rows.push_back(std::move(row));
    }
  }
}

}  // namespace

std::vector<LongTable> simulation_long_tables(const sim::SimulationResult& result) {
  LongTable series{
      "series", {"material", "stage", "region", "year", "variable", "label", "value", "unit"}, {}};
  const std::vector<std::pair<const char*, double sim::SeriesRow::*>> variables = {
      {"price", &sim::SeriesRow::price_usd_per_t},
      {"production", &sim::SeriesRow::production_t},
      {"consumption", &sim::SeriesRow::consumption_t},
      {"imports", &sim::SeriesRow::imports_t},
      {"exports", &sim::SeriesRow::exports_t},
      {"demand", &sim::SeriesRow::demand_t},
      {"shortfall", &sim::SeriesRow::shortfall_t},
      {"physical_shortage", &sim::SeriesRow::physical_shortage_t},
      {"priced_out", &sim::SeriesRow::priced_out_t},
      {"stock_release", &sim::SeriesRow::stock_release_t},
      {"stock_refill", &sim::SeriesRow::stock_refill_t},
      {"market_stock_end", &sim::SeriesRow::market_stock_end_t}};
  std::vector<const FigureAttributes*> attributes;
  for (const auto& [name, member] : variables) {
    Result<const FigureAttributes*> figure = find_figure(FigureGroup::kSummary, name);
    attributes.push_back(figure.is_ok() ? figure.value() : nullptr);
  }
  for (const sim::SeriesRow& r : result.series) {
    for (std::size_t v = 0; v < variables.size(); ++v) {
      const FigureAttributes* a = attributes[v];
      series.rows.push_back({r.material, std::string(stage_name(r.stage)), r.region,
                             std::to_string(r.year), variables[v].first, a ? a->label : "",
                             number(r.*variables[v].second), a ? a->unit : ""});
    }
  }

  LongTable scorecard{"scorecard", {"card", "key", "label", "value", "unit", "note"}, {}};
  for (const sim::ScoreLine& line : sim::scorecard_lines(result.scorecards)) {
    scorecard.rows.push_back(
        {line.card, line.key, line.label, optional_number(line.value), line.unit, line.text});
  }

  LongTable payments{"payments",
                     {"material", "year", "instrument_line", "instrument_type", "holder", "figure",
                      "label", "value", "unit"},
                     {}};
  for (const sim::PaymentRow& p : result.payments) {
    payments.rows.push_back({p.material, std::to_string(p.year), std::to_string(p.instrument_line),
                             p.instrument_type, p.holder, p.figure,
                             label_of(FigureGroup::kInstrument, p.figure), number(p.value),
                             p.unit});
  }

  LongTable headline{"headline", {"figure", "label", "value", "unit"}, {}};
  for (const sim::HeadlineFigure& f : sim::headline_figures(result)) {
    headline.rows.push_back(
        {f.name, label_of(FigureGroup::kHeadline, f.name), number(f.value), f.unit});
  }
  std::vector<LongTable> tables = {std::move(series), std::move(scorecard), std::move(payments),
                                   std::move(headline)};
  // [[appraisal]] projects (only when the scenario has some): one row per case and figure.
  if (!result.appraisals.empty()) {
    LongTable appraisals = appraisal_table(/*with_design=*/false);
    append_appraisal_rows(appraisals, result.appraisals, "");
    tables.push_back(std::move(appraisals));
  }
  return tables;
}

std::vector<LongTable> ensemble_long_tables(const sim::EnsembleSummary& summary,
                                            const sim::EnsembleRuns& runs) {
  LongTable figures{"figures", {"figure", "label", "statistic", "value", "unit"}, {}};
  for (const sim::FigureBand& b : summary.figures) {
    const std::string label = label_of(FigureGroup::kHeadline, b.name);
    for (const auto& [statistic, value] :
         std::vector<std::pair<const char*, double>>{{"p5", b.p5},
                                                     {"p50", b.p50},
                                                     {"p95", b.p95},
                                                     {"mean", b.mean},
                                                     {"min", b.min},
                                                     {"max", b.max}}) {
      figures.rows.push_back({b.name, label, statistic, number(value), b.unit});
    }
  }
  LongTable paths{"paths", {"path", "label", "year", "statistic", "value", "unit"}, {}};
  for (const sim::PathBand& p : summary.paths) {
    const std::string label = label_of(FigureGroup::kPath, p.name);
    for (std::size_t y = 0; y < p.p50.size(); ++y) {
      const std::string year = std::to_string(p.first_year + static_cast<int>(y));
      paths.rows.push_back({p.name, label, year, "p5", number(p.p5[y]), p.unit});
      paths.rows.push_back({p.name, label, year, "p50", number(p.p50[y]), p.unit});
      paths.rows.push_back({p.name, label, year, "p95", number(p.p95[y]), p.unit});
    }
  }
  LongTable values{"runs", {"run", "figure", "label", "value", "unit"}, {}};
  const std::size_t width = runs.figure_names.size();
  std::vector<std::string> labels;
  for (const std::string& name : runs.figure_names) {
    labels.push_back(label_of(FigureGroup::kHeadline, name));
  }
  for (std::size_t k = 0; k < runs.runs.size() && (k + 1) * width <= runs.values.size(); ++k) {
    for (std::size_t f = 0; f < width; ++f) {
      values.rows.push_back({std::to_string(runs.runs[k]), runs.figure_names[f], labels[f],
                             number(runs.values[k * width + f]), runs.figure_units[f]});
    }
  }
  return {std::move(figures), std::move(paths), std::move(values)};
}

std::vector<LongTable> comparison_long_tables(const sim::Comparison& comparison) {
  const std::size_t n = comparison.designs.size();
  LongTable scorecards{
      "scorecards", {"design", "card", "key", "label", "value", "unit", "note"}, {}};
  for (const sim::ComparedLine& line : comparison.lines) {
    for (std::size_t d = 0; d < n; ++d) {
      scorecards.rows.push_back({comparison.designs[d], line.card, line.key, line.label,
                                 d < line.values.size() ? optional_number(line.values[d]) : "",
                                 line.unit, d < line.texts.size() ? line.texts[d] : ""});
    }
  }
  LongTable headline{"headline", {"design", "figure", "label", "value", "unit"}, {}};
  for (const sim::ComparedFigure& figure : comparison.headline) {
    const std::string label = label_of(FigureGroup::kHeadline, figure.name);
    for (std::size_t d = 0; d < n; ++d) {
      headline.rows.push_back({comparison.designs[d], figure.name, label,
                               d < figure.values.size() ? optional_number(figure.values[d]) : "",
                               figure.unit});
    }
  }
  std::vector<LongTable> tables = {std::move(scorecards), std::move(headline)};
  if (!comparison.bands.empty()) {
    LongTable bands{"bands", {"design", "figure", "label", "statistic", "value", "unit"}, {}};
    for (const sim::ComparedBand& band : comparison.bands) {
      const std::string label = label_of(FigureGroup::kHeadline, band.name);
      for (std::size_t d = 0; d < n && d < band.bands.size(); ++d) {
        if (!band.bands[d]) continue;
        const sim::FigureBand& b = *band.bands[d];
        for (const auto& [statistic, value] : std::vector<std::pair<const char*, double>>{
                 {"p5", b.p5}, {"p50", b.p50}, {"p95", b.p95}}) {
          bands.rows.push_back(
              {comparison.designs[d], band.name, label, statistic, number(value), band.unit});
        }
      }
    }
    tables.push_back(std::move(bands));
  }
  // The designs' [[appraisal]] cases (only when a design has some), with a design column.
  if (!comparison.appraisals.empty()) {
    LongTable appraisals = appraisal_table(/*with_design=*/true);
    for (std::size_t d = 0; d < n && d < comparison.appraisals.size(); ++d) {
      append_appraisal_rows(appraisals, comparison.appraisals[d], comparison.designs[d]);
    }
    tables.push_back(std::move(appraisals));
  }
  return tables;
}

std::string long_table_to_csv(const LongTable& table) {
  std::string out;
  append_csv_record(out, table.header);
  for (const std::vector<std::string>& row : table.rows) append_csv_record(out, row);
  return out;
}

Status write_long_tables(const std::vector<LongTable>& tables, const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return Status::io_error(
        fmt::format("{}: cannot create the directory: {}", dir.string(), error.message()));
  }
  for (const LongTable& table : tables) {
    if (Status s = write_text_file(dir / (table.name + ".csv"), long_table_to_csv(table));
        !s.is_ok()) {
      return s;
    }
  }
  return Status::ok();
}

}  // namespace critmin::report
