// `critmin compare`: the two scorecards of several designs side by side, with each design's
// difference from the first (the reference). docs/scorecards.md describes the figures.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "critmin/ensemble.h"
#include "critmin/scorecard.h"

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
  std::string name;  // headline figure name (critmin/headline.h)
  std::string unit;
  std::vector<std::optional<FigureBand>> bands;  // one per design; none when it lacks the figure
};

struct Comparison {
  std::vector<std::string> designs;
  std::vector<ComparedLine> lines;  // in the first design's order, then lines only others have
  std::size_t runs = 0;             // ensemble runs per design; 0: no bands
  std::vector<ComparedBand> bands;  // with `compare --runs N`
};

// Adds the designs' ensemble bands (one summary per design, in the designs' order), matched by
// figure name.
void add_ensemble_bands(Comparison& comparison, const std::vector<EnsembleSummary>& ensembles);

// Matches the designs' scorecard lines by key. At least one design.
Comparison compare_scorecards(const std::vector<NamedScorecards>& designs);

// Side by side, with the difference of each later design from the first.
std::string comparison_to_table(const Comparison& comparison);

// {"designs": [...], "lines": [{"card", "key", "label", "unit", "values", "texts",
// "differences"}], "runs": N, "bands": [{"name", "unit", "p5": [...], "p50": [...],
// "p95": [...]}]}; a missing value is null.
std::string comparison_to_json(const Comparison& comparison);

}  // namespace critmin::sim
