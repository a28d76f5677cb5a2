"""critmin from Python: the assessment, the market engine and the simulations as pandas DataFrames.

Import it from a build tree with one line (docs/python.md):

    PYTHONPATH=build/python python3 -c "import critmin; print(critmin.assess(['gallium']))"

Every function is a thin front end over the library the `critmin` command line uses, with the
same inputs (scenario TOML files, bills of materials, the embedded dataset or `data_dir`) and the
same results. Column names carry their units in brackets, as the command line's CSV does
(`price [USD/t]`, `production [t/yr]`, `top_share [0-1]`); long tables, whose one `value` column
mixes figures, carry a `unit` column instead. A problem raises `critmin.Error` with the message the command line prints
(file:line:key and how to fix it) and `code` (invalid_input, not_found, io_error, internal).

The native calls release the GIL while critmin works, so other Python threads keep running.
"""

import io
import os

import pandas as pd

from . import _critmin

__all__ = [
    "Error",
    "SimulationResult",
    "EnsembleResult",
    "CompareResult",
    "assess",
    "clear",
    "simulate",
    "ensemble",
    "compare",
    "backtest",
    "default_data_dir",
]

Error = _critmin.Error
Error.__module__ = "critmin"

# The columns of long tables that hold numbers (the rest are text); an empty cell is a value a
# design or a year does not have, NaN here.
_NUMERIC_COLUMNS = ("value", "year", "run", "instrument_line", "capacity_t", "online_year", "runs")


def _path(value):
    """A file argument as text: str or os.PathLike, None stays None."""
    return None if value is None else os.fspath(value)


def _long_table(header_and_rows):
    header, rows = header_and_rows
    frame = pd.DataFrame(rows, columns=header)
    for column in _NUMERIC_COLUMNS:
        if column in frame.columns:
            # float() reads critmin's shortest round-trip text back to the very same double
            # (pandas' own fast parser may miss it by an ulp).
            frame[column] = [float(text) if text else float("nan") for text in frame[column]]
    for column in ("year", "run", "instrument_line", "online_year", "runs"):
        if column in frame.columns and not frame[column].isna().any():
            frame[column] = frame[column].astype("int64")
    return frame


def _wide_series(long_series):
    """The yearly series with one column per variable, named with its unit ("price [USD/t]")."""
    keys = ["material", "stage", "region", "year"]
    if long_series.empty:
        return pd.DataFrame(columns=keys)
    names = {}
    for variable, unit in long_series[["variable", "unit"]].drop_duplicates().itertuples(index=False):
        names[variable] = f"{variable} [{unit}]" if unit else variable
    wide = long_series.pivot_table(index=keys, columns="variable", values="value", sort=False)
    wide = wide[[v for v in names if v in wide.columns]].rename(columns=names).reset_index()
    wide.columns.name = None
    return wide


class SimulationResult:
    """A simulation (critmin.simulate).

    series       one row per material, stage, region and year; a column per variable with its
                 unit in its name ("price [USD/t]", "production [t/yr]", ...)
    series_long  the same as a long table: material, stage, region, year, variable, label, value,
                 unit (the CLI's series.csv)
    scorecard    card, key, label, value, unit, note: the supply-security and Dutch-business
                 scorecards (scorecard.csv)
    summary      figure, label, value, unit: the headline figures (headline.csv)
    payments     the instruments' figures per year (payments.csv)
    appraisals   the scenario's [[appraisal]] projects: material, region, stage, capacity_t,
                 online_year, runs, supplier, instruments, figure, label, value, unit
                 (appraisals.csv); empty when the scenario has none
    summary_json the run's summary.json text
    """

    def __init__(self, native):
        tables = native["tables"]
        self.scenario = native["scenario"]
        self.first_year = native["first_year"]
        self.last_year = native["last_year"]
        self.materials = list(native["materials"])
        self.notes = list(native["notes"])
        self.summary_json = native["summary_json"]
        self.series_long = _long_table(tables["series"])
        self.series = _wide_series(self.series_long)
        self.scorecard = _long_table(tables["scorecard"])
        self.summary = _long_table(tables["headline"])
        self.payments = _long_table(tables["payments"])
        self.appraisals = (_long_table(tables["appraisals"]) if "appraisals" in tables
                           else pd.DataFrame())

    def figure(self, name):
        """One headline figure's value by its name, e.g. 'neodymium.world_price_mean'."""
        rows = self.summary[self.summary["figure"] == name]
        if rows.empty:
            raise Error(f"no headline figure named {name!r}; the figures are: "
                        + ", ".join(self.summary["figure"]))
        return float(rows["value"].iloc[0])

    def __repr__(self):
        return (f"<critmin.SimulationResult {self.scenario!r} {self.first_year}-{self.last_year}: "
                f"{len(self.series)} series rows, {len(self.scorecard)} scorecard lines>")


class EnsembleResult:
    """An ensemble (critmin.ensemble).

    figures  figure, label, statistic (p5, p50, p95, mean, min, max), value, unit
    paths    path, label, year, statistic (p5, p50, p95), value, unit: the yearly bands
    runs     run, figure, label, value, unit: every run's headline figures
    """

    def __init__(self, native):
        tables = native["tables"]
        self.scenario = native["scenario"]
        self.seed = native["seed"]
        self.run_count = native["runs"]
        self.figures = _long_table(tables["figures"])
        self.paths = _long_table(tables["paths"])
        self.runs = _long_table(tables["runs"])

    def bands(self):
        """One row per figure with columns p5, p50, p95, mean, min, max and unit."""
        wide = self.figures.pivot_table(index=["figure", "label", "unit"], columns="statistic",
                                        values="value", sort=False)
        wide = wide[["p5", "p50", "p95", "mean", "min", "max"]].reset_index()
        wide.columns.name = None
        return wide

    def __repr__(self):
        return f"<critmin.EnsembleResult {self.scenario!r}: {self.run_count} runs, seed {self.seed}>"


class CompareResult:
    """A comparison of designs (critmin.compare); the first design is the reference.

    scorecards  design, card, key, label, value, unit, note
    headline    design, figure, label, value, unit
    bands       design, figure, label, statistic, value, unit (only with runs > 0, else empty)
    appraisals  design, material, region, stage, capacity_t, online_year, runs, supplier,
                instruments, figure, label, value, unit: each design's [[appraisal]] projects
                (empty when no design has one)
    """

    def __init__(self, native):
        tables = native["tables"]
        self.designs = list(native["designs"])
        self.scorecards = _long_table(tables["scorecards"])
        self.headline = _long_table(tables["headline"])
        if "bands" in tables:
            self.bands = _long_table(tables["bands"])
        else:
            self.bands = pd.DataFrame(
                columns=["design", "figure", "label", "statistic", "value", "unit"])
        if "appraisals" in tables:
            self.appraisals = _long_table(tables["appraisals"])
        else:
            self.appraisals = pd.DataFrame(
                columns=["design", "material", "region", "stage", "capacity_t", "online_year",
                         "runs", "supplier", "instruments", "figure", "label", "value", "unit"])

    def side_by_side(self, table="headline"):
        """The headline figures (or 'scorecards' lines) with one value column per design."""
        frame = getattr(self, table)
        index = ["figure", "label", "unit"] if table == "headline" else ["card", "key", "label",
                                                                         "unit"]
        # pivot (not pivot_table) keeps lines without a value; the lines stay in their order.
        wide = frame.pivot(index=index, columns="design", values="value")
        order = pd.MultiIndex.from_frame(frame[index].drop_duplicates())
        wide = wide.reindex(order)[[d for d in self.designs if d in wide.columns]].reset_index()
        wide.columns.name = None
        return wide

    def __repr__(self):
        return f"<critmin.CompareResult designs={self.designs!r}>"


def default_data_dir():
    """The dataset the functions read without data_dir (the command line's without --data)."""
    return _critmin.default_data_dir()


def assess(materials=None, stage=None, bloc="", regions=None, breaches_only=False,
           assumptions=None, data_dir=None):
    """Supply concentration and import dependency per material and stage (`critmin assess`).

    materials: ids, names, aliases or groups (REE, HREE, LREE, PGM, NdPr); None for all. stage:
    'extraction', 'processing' or None for both. bloc: a bloc name (EU27, MSP, club) or an ISO3
    list. regions: importing regions (default EU27 and NLD); each adds columns <REGION>_... .
    assumptions: a TOML file of supply-risk overrides.
    """
    if isinstance(materials, str):
        materials = [materials]
    if isinstance(regions, str):
        regions = [regions]
    text = _critmin.assess_csv(list(materials or []), stage, bloc,
                               None if regions is None else list(regions), bool(breaches_only),
                               _path(assumptions), _path(data_dir))
    # The CSV of `critmin assess --format csv`; text columns stay text (a country code such as
    # NAM is not a missing value).
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""],
                       float_precision="round_trip")


def clear(material, year=2023, scenario=None, solver="network", data_dir=None):
    """The market equilibrium of one material in one year (`critmin clear`).

    One row per region and stage: "price [USD/t]", "production [t/yr]", ... scenario: a clearing
    scenario TOML (club, instruments, tariffs, export restrictions). The DataFrame's attrs hold
    welfare_usd and the notes of the instruments. No equilibrium raises critmin.Error.
    """
    native = _critmin.clear(material, int(year), _path(scenario), solver, _path(data_dir))
    frame = pd.DataFrame(native["columns"])
    frame.attrs["welfare_usd"] = native["welfare_usd"]
    frame.attrs["notes"] = list(native["notes"])
    return frame


def simulate(scenario, bom=None, data_dir=None):
    """Runs a scenario year by year (`critmin simulate`); returns a SimulationResult."""
    return SimulationResult(_critmin.simulate(_path(scenario), _path(bom), _path(data_dir)))


def ensemble(scenario, runs, seed=None, threads=None, bom=None, data_dir=None):
    """Runs a scenario `runs` times (`critmin ensemble`); returns an EnsembleResult.

    seed: the ensemble seed (default: the scenario's); threads: worker threads (default: every
    core). The result does not depend on the thread count.
    """
    if int(runs) < 1 or int(runs) > 1_000_000:
        raise Error(f"runs={runs}: write a whole number from 1 to 1000000, e.g. runs=100")
    if threads is not None and (int(threads) < 1 or int(threads) > 1024):
        raise Error(f"threads={threads}: write a whole number from 1 to 1024, e.g. threads=2")
    return EnsembleResult(_critmin.ensemble(_path(scenario), int(runs),
                                            None if seed is None else int(seed),
                                            None if threads is None else int(threads), _path(bom),
                                            _path(data_dir)))


def compare(scenarios, runs=0, threads=None, seed=None, bom=None, data_dir=None):
    """Simulates two or more designs and compares their scorecards (`critmin compare`).

    The first scenario is the reference. runs > 0 adds ensemble bands per design, all drawn from
    one ensemble seed (default: the first scenario's, as ensemble defaults to its scenario's).
    """
    if isinstance(scenarios, (str, os.PathLike)):
        scenarios = [scenarios]
    if int(runs) < 0 or int(runs) > 1_000_000:
        raise Error(f"runs={runs}: write a whole number from 0 to 1000000, e.g. runs=100")
    return CompareResult(_critmin.compare([_path(s) for s in scenarios], int(runs),
                                          None if threads is None else int(threads),
                                          None if seed is None else int(seed),
                                          _path(bom), _path(data_dir)))


def backtest(episodes=None, data_dir=None):
    """Replays historical episodes with and without their measure (`critmin backtest`).

    episodes: names of shipped episodes (e.g. 'gallium-germanium-2023') or episode files; None
    for every shipped episode. One row per observation: observed and modelled change in percent.
    """
    if isinstance(episodes, (str, os.PathLike)):
        episodes = [episodes]
    return pd.DataFrame(_critmin.backtest([_path(e) for e in (episodes or [])], _path(data_dir)))
