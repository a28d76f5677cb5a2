// `critmin compare`: the two scorecards of several designs side by side, with each design's
// difference from the first (the reference). docs/scorecards.md describes the figures.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "critmin/core/status.h"
#include "critmin/sim/ensemble.h"
#include "critmin/sim/headline.h"
#include "critmin/sim/scorecard.h"
#include "critmin/sim/simulation.h"

namespace critmin::sim {

// One design's scorecards, under the name the comparison prints.
struct NamedScorecards {
  std::string name;
  Scorecards cards;
};

// One scorecard line across the designs; a design without the line (another material or area)
// has no value there.
struct ComparedLine {
  std::string card;
  std::string key;
  std::string label;
  std::string unit;
  std::vector<std::optional<double>> values;       // one per design
  std::vector<std::string> texts;                  // one per design
  std::vector<std::optional<double>> differences;  // value - the first design's value
};

// One headline figure's ensemble band (P5/P50/P95 over the runs) across the designs.
struct ComparedBand {
  std::string name;  // headline figure name (critmin/sim/headline.h)
  std::string unit;
  std::vector<std::optional<FigureBand>> bands;  // one per design; none when it lacks the figure
};

// One headline figure of the deterministic runs (critmin/sim/headline.h) across the designs.
struct ComparedFigure {
  std::string name;  // "gallium.world_price_mean", "fiscal_cost_usd_total"
  std::string unit;  // as headline_figures states it: "USD/t", "USD", "share", "t", "years"
  std::vector<std::optional<double>> values;  // one per design; none when it lacks the figure
};

// The first answer of a compare, one per design (docs/scorecards.md, "The verdict"): the two
// questions in five figures, from the design's deterministic run and, with --runs, the P5/P50/P95
// of the same figures over its ensemble.
struct DesignVerdict {
  // The EU's physical shortage over the run, each tonne valued at its material's base price [USD],
  // and the worst material-year as a share of demand (0-1); the text names the materials short.
  double eu_physical_shortage_usd = 0.0;
  double eu_physical_shortage_share = 0.0;
  std::string eu_physical_shortage_text;
  // The largest third country's share at processing in the last year, mean over the materials
  // (0-1); the text names the materials above the CRMA's 65% line with their country and share.
  double top_third_country_share = 0.0;
  std::string top_third_country_text;
  double dutch_cost_change_usd_per_yr = 0.0;  // mean over the years
  double fiscal_cost_usd = 0.0;               // over the run
  // Cost per unit of security gained, against the first design: the extra fiscal cost per
  // percentage point of the mean largest share removed [USD/pp], and per USD of EU physical
  // shortage avoided [USD/USD]. None for the first design and where the design gains nothing;
  // the texts say why.
  std::optional<double> fiscal_cost_per_point_usd;
  std::string fiscal_cost_per_point_text;
  std::optional<double> fiscal_cost_per_shortage_usd;
  std::string fiscal_cost_per_shortage_text;
  // With a company's bill of materials (`--bom`, critmin/sim/company.h): its cost change, mean per
  // year [USD/yr], and its physically short purchases at base prices, mean per year [USD/yr]
  // (headline figures company_cost_change_usd_per_yr, company_physical_shortage_usd_per_yr).
  // None without one.
  std::optional<double> company_cost_change_usd_per_yr;
  std::optional<double> company_physical_shortage_usd_per_yr;
};

// One row of the verdict, as the CLI table, compare.json, the HTML report and the workbook all
// show it: the single list of the verdict's rows, in order.
struct VerdictQuestion {
  const char* key;  // the DesignVerdict field, named as in compare.json's verdict entries
  const char* label;
  const char* unit;    // the output table's unit of the value ("USD", "0-1", "USD/yr", ...)
  const char* band;    // the headline figure (critmin/sim/headline.h) banded under --runs, or none
  const char* note;    // the entry field holding the design's note on the row, or none
  bool only_with_bom;  // a company row: shown only when some design has a bill of materials
};

inline constexpr VerdictQuestion kVerdictQuestions[] = {
    {"eu_physical_shortage_usd", "EU physical shortage over the run, at base prices", "USD",
     "eu_physical_shortage_usd_total", "eu_physical_shortage_text", false},
    {"eu_physical_shortage_share", "EU physical shortage, worst material and year", "0-1",
     "eu_physical_shortage_share_worst", nullptr, false},
    {"top_third_country_share", "largest third country's share at processing (mean, last year)",
     "0-1", "top_third_country_share_mean_last", "top_third_country_text", false},
    {"dutch_cost_change_usd_per_yr", "cost to Dutch businesses, mean per year", "USD/yr",
     "dutch_cost_change_usd_per_yr", nullptr, false},
    {"fiscal_cost_usd", "fiscal cost over the run", "USD", "fiscal_cost_usd_total", nullptr, false},
    {"fiscal_cost_per_point_usd", "extra fiscal cost per point of that share removed", "USD",
     nullptr, "fiscal_cost_per_point_text", false},
    {"fiscal_cost_per_shortage_usd", "extra fiscal cost per USD of EU physical shortage avoided",
     "USD/USD", nullptr, "fiscal_cost_per_shortage_text", false},
    {"company_cost_change_usd_per_yr", "company (--bom): cost change, mean per year", "USD/yr",
     "company_cost_change_usd_per_yr", nullptr, true},
    {"company_physical_shortage_usd_per_yr",
     "company (--bom): physically short purchases at base prices, mean/yr", "USD/yr",
     "company_physical_shortage_usd_per_yr", nullptr, true},
};

// A design's value of the verdict row `key` (kVerdictQuestions); nullopt where it has none (the
// first design's costs per unit, a company row without a bill of materials).
std::optional<double> verdict_value(const DesignVerdict& verdict, std::string_view key);

// The verdict of each design's deterministic run, the first design the reference. The CRMA line
// (`crma_single_country_limit`) is the dataset's.
std::vector<DesignVerdict> design_verdicts(const std::vector<SimulationResult>& results,
                                           double crma_single_country_limit);

struct Comparison {
  std::vector<std::string> designs;
  std::vector<DesignVerdict> verdicts;   // one per design (run_compare); empty when not computed
  std::vector<ComparedLine> lines;       // in the first design's order, then lines only others have
  std::vector<ComparedFigure> headline;  // add_headline_figures; empty until then
  std::size_t runs = 0;                  // ensemble runs per design; 0: no bands
  std::vector<ComparedBand> bands;       // with `compare --runs N`
  std::vector<std::vector<PathBand>> path_bands;  // with --runs: each design's yearly bands
  // Each design's [[appraisal]] cases (sim::add_scenario_appraisals on the design's scenario),
  // one list per design; empty when no design appraises a project.
  std::vector<std::vector<AppraisalRow>> appraisals;
};

// Adds the headline figures of each design's deterministic run (one list per design, in the
// designs' order), matched by figure name in the order they first appear.
void add_headline_figures(Comparison& comparison,
                          const std::vector<std::vector<HeadlineFigure>>& designs);

// Adds the designs' ensemble bands (one summary per design, in the designs' order), matched by
// figure name, and each design's yearly path bands.
void add_ensemble_bands(Comparison& comparison, const std::vector<EnsembleSummary>& ensembles);

// Matches the designs' scorecard lines by key. At least one design.
Comparison compare_scorecards(const std::vector<NamedScorecards>& designs);

struct CompareOptions {
  std::size_t runs = 0;  // ensemble runs per design (`--runs`); 0: no bands
  int threads = 1;       // worker threads of each ensemble
  // The ensemble seed, the same for every design; unset: the reference design's (the first
  // scenario's) seed, as `ensemble` defaults to its scenario's.
  std::optional<std::uint64_t> seed;
};

// Progress of a compare: the simulated years of the designs' deterministic runs so far, then the
// ensemble runs so far (both totals known from the start). Called from the compare's threads,
// one call at a time.
using CompareProgress = std::function<void(int years_done, int years_total, std::size_t runs_done,
                                           std::size_t runs_total)>;

// A compare as `critmin compare` runs it: the comparison (scorecard lines, headline figures and,
// with options.runs > 0, the ensemble bands) and each design's deterministic run.
struct CompareRun {
  Comparison comparison;
  std::vector<SimulationResult> results;  // one per design, in the designs' order
};

// The designs' names as a compare shows them: each scenario's name (else `fallback_names[d]`),
// made unique with " (d+1)". `fallback_names` has one name per scenario.
std::vector<std::string> compare_design_names(const std::vector<SimulationScenario>& scenarios,
                                              const std::vector<std::string>& fallback_names);

// Runs every scenario as `critmin simulate` would and, with options.runs > 0, as an ensemble of
// options.runs runs with options.seed. Designs are named by compare_design_names. kInvalidInput
// with fewer than two scenarios (or names of another count); the first failing run's Status,
// prefixed with its design name.
Result<CompareRun> run_compare(const Dataset& data,
                               const std::vector<SimulationScenario>& scenarios,
                               const std::vector<std::string>& fallback_names,
                               const CompareOptions& options, const CompareProgress& progress = {});

// Side by side, with the difference of each later design from the first; the verdict first when
// the comparison has one.
std::string comparison_to_table(const Comparison& comparison);

// {"designs": [...], "verdict": [one object per design with the DesignVerdict's fields, a
// missing cost per unit null, the company_* fields only with a bill of materials], "lines":
// [{"card", "key", "label", "unit", "values", "texts", "differences"}], "headline": [{"name",
// "unit", "values": [...]}], "runs": N, "bands":
// [{"name", "unit", "p5": [...], "p50": [...], "p95": [...]}], "path_bands": [one list per design
// of {"name", "unit", "first_year", "p5", "p50", "p95"}]}; a missing value is null.
std::string comparison_to_json(const Comparison& comparison);

}  // namespace critmin::sim
