"""The Python package against the library's known answers and against the CLI (ctest: python_pytest).

Run by ctest with PYTHONPATH=build/python, CRITMIN_BINARY (the CLI) and CRITMIN_SOURCE_DIR set;
each function is checked for its columns and units, for values the CLI prints for the same input
(the two front ends call the same library), and for errors that carry the CLI's messages.
"""
import csv
import io
import os
import pathlib
import subprocess
import threading
import time

import pandas as pd
import pytest

import critmin

SOURCE_DIR = pathlib.Path(os.environ.get("CRITMIN_SOURCE_DIR",
                                         pathlib.Path(__file__).resolve().parents[2]))
SCENARIOS = SOURCE_DIR / "scenarios"
CLI = os.environ.get("CRITMIN_BINARY")

needs_cli = pytest.mark.skipif(not CLI, reason="CRITMIN_BINARY (the critmin CLI) not set")


def run_cli(*arguments, cwd=None, check=True):
    result = subprocess.run([CLI, *map(str, arguments)], capture_output=True, text=True, cwd=cwd)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def cli_error_message(*arguments):
    """What the CLI prints after 'critmin: error: ' for a failing command."""
    result = run_cli(*arguments, check=False)
    assert result.returncode != 0
    prefix = "critmin: error: "
    lines = [line for line in result.stderr.splitlines()]
    first = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    return "\n".join([lines[first][len(prefix):]] + lines[first + 1:])


def read_cli_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.fixture
def no_floor_scenario(tmp_path):
    """The NdPr floor scenario without its floor: the same club, material, years and seed."""
    text = (SCENARIOS / "sim-ndpr-floor.toml").read_text()
    text = text[:text.index("[[instrument]]")]
    text = text.replace('name = "ndpr-floor"', 'name = "no-floor"')
    text = text.replace("seed = 11\n", 'seed = 11\nmaterials = ["neodymium"]\n')
    path = tmp_path / "no-floor.toml"
    path.write_text(text)
    return path


# ---- the package ---------------------------------------------------------------------------------

def test_error_is_an_exception_of_the_package():
    assert issubclass(critmin.Error, Exception)
    assert critmin.Error.__module__ == "critmin"
    assert critmin.Error.__name__ == "Error"


def test_default_data_dir_is_the_embedded_dataset():
    data_dir = pathlib.Path(critmin.default_data_dir())
    assert (data_dir / "countries.csv").is_file()
    assert data_dir.resolve() == (SOURCE_DIR / "data").resolve()


# ---- assess --------------------------------------------------------------------------------------

def test_assess_gallium_processing_shows_china_with_units_in_the_columns():
    frame = critmin.assess(["gallium"], stage="processing")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert row["material"] == "gallium"
    assert row["stage"] == "processing"
    assert row["top_country [ISO3]"] == "CHN"
    assert row["top_share [0-1]"] == pytest.approx(0.938)
    assert 0 <= row["hhi [0-10000]"] <= 10000
    assert bool(row["crma_single_country_breach"])
    # The dependency question: China's share of Dutch imports even where Russia leads.
    assert row["NLD_top_partner [ISO3]"] == "RUS"
    assert 0 < row["NLD_china_share [0-1]"] < row["NLD_top_partner_share [0-1]"]
    assert row["EU27_import_value [EUR]"] > 0


@needs_cli
def test_assess_equals_the_cli_csv():
    frame = critmin.assess(["gallium", "germanium"], bloc="club")
    text = run_cli("assess", "--material", "gallium", "--material", "germanium", "--bloc", "club",
                   "--format", "csv").stdout
    expected = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""],
                           float_precision="round_trip")
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert set(frame["material"]) == {"gallium", "germanium"}
    # The CLI's own numbers, to the last digit: the bloc's share of gallium processing.
    header, *rows = list(csv.reader(io.StringIO(text)))
    row = rows[0]
    assert row[:2] == ["gallium", "processing"]
    gallium = frame[(frame["material"] == "gallium") & (frame["stage"] == "processing")].iloc[0]
    assert gallium["hhi [0-10000]"] == float(row[header.index("hhi [0-10000]")])


def test_assess_breaches_only_keeps_rows_above_65_percent():
    frame = critmin.assess(breaches_only=True, bloc="club")
    assert len(frame) > 5
    assert frame["crma_single_country_breach"].all()
    assert (frame["largest_third_country_share [0-1]"] > 0.65).all()


@needs_cli
def test_assess_unknown_material_raises_the_cli_message():
    with pytest.raises(critmin.Error) as error:
        critmin.assess(["galium"])
    assert "unknown material 'galium' (did you mean gallium?)" in str(error.value)
    assert str(error.value) == cli_error_message("assess", "--material", "galium")
    assert error.value.code in ("invalid_input", "not_found")


def test_assess_bad_stage_is_an_error():
    with pytest.raises(critmin.Error, match="stage 'refining'"):
        critmin.assess(["gallium"], stage="refining")


def test_assess_missing_data_dir_names_it(tmp_path):
    with pytest.raises(critmin.Error) as error:
        critmin.assess(["gallium"], data_dir=tmp_path / "nowhere")
    assert "nowhere: not a critmin dataset" in str(error.value)
    assert error.value.code == "not_found"


# ---- clear ---------------------------------------------------------------------------------------

def test_clear_gallium_one_row_per_region_and_stage():
    frame = critmin.clear("gallium", year=2023)
    assert list(frame.columns[:4]) == ["material", "year", "region", "stage"]
    for column in ("price [USD/t]", "production [t/yr]", "consumption [t/yr]", "imports [t/yr]",
                   "exports [t/yr]", "shortfall [t/yr]"):
        assert column in frame.columns
    assert set(frame["stage"]) == {"extraction", "processing"}
    assert len(frame) == 2 * frame["region"].nunique()
    china = frame[(frame["region"] == "CHN") & (frame["stage"] == "processing")].iloc[0]
    total = frame[frame["stage"] == "processing"]["production [t/yr]"].sum()
    assert china["production [t/yr]"] / total == pytest.approx(0.937, abs=0.01)
    # Market clearing: what is produced at processing is consumed (no stocks in the base year).
    processing = frame[frame["stage"] == "processing"]
    assert processing["production [t/yr]"].sum() == pytest.approx(
        processing["consumption [t/yr]"].sum(), rel=1e-6)
    assert frame.attrs["welfare_usd"] > 1e9


@needs_cli
def test_clear_prices_equal_the_cli_json():
    import json
    frame = critmin.clear("gallium", scenario=SCENARIOS / "trade-gallium-ban.toml")
    cli = json.loads(run_cli("clear", "--material", "gallium", "--scenario",
                             SCENARIOS / "trade-gallium-ban.toml", "--format", "json").stdout)
    assert frame.attrs["welfare_usd"] == pytest.approx(cli["welfare_usd"], rel=1e-9)


def test_clear_a_rare_earth_in_the_joint_market():
    frame = critmin.clear("neodymium")
    assert (frame["material"] == "neodymium").all()
    assert frame[frame["stage"] == "processing"]["production [t/yr]"].sum() > 1000


def test_clear_ndpr_is_the_sum_of_neodymium_and_praseodymium():
    ndpr = critmin.clear("NdPr")
    assert (ndpr["material"] == "NdPr").all()
    processing = "processing"
    total = ndpr[ndpr["stage"] == processing]["production [t/yr]"].sum()
    elements = sum(
        frame[frame["stage"] == processing]["production [t/yr]"].sum()
        for frame in (critmin.clear("neodymium"), critmin.clear("praseodymium")))
    assert total == pytest.approx(elements, rel=1e-9)


def test_clear_unknown_solver_is_an_error():
    with pytest.raises(critmin.Error, match="solver 'simplex'"):
        critmin.clear("gallium", solver="simplex")


# ---- simulate ------------------------------------------------------------------------------------

def test_simulate_ndpr_floor_series_scorecard_and_summary():
    result = critmin.simulate(SCENARIOS / "sim-ndpr-floor.toml")
    assert result.scenario == "ndpr-floor"
    assert (result.first_year, result.last_year) == (2025, 2035)
    series = result.series
    for column in ("price [USD/t]", "production [t/yr]", "shortfall [t/yr]",
                   "market_stock_end [t]"):
        assert column in series.columns, list(series.columns)
    assert sorted(series["year"].unique()) == list(range(2025, 2036))
    assert set(series["material"]) == {"neodymium"}
    # The long table holds the same numbers as the wide one.
    long = result.series_long
    price = long[(long["variable"] == "price") & (long["region"] == "CHN")
                 & (long["stage"] == "processing") & (long["year"] == 2030)]["value"].iloc[0]
    wide = series[(series["region"] == "CHN") & (series["stage"] == "processing")
                  & (series["year"] == 2030)]["price [USD/t]"].iloc[0]
    assert price == wide
    assert list(result.scorecard.columns) == ["card", "key", "label", "value", "unit", "note"]
    assert list(result.summary.columns) == ["figure", "label", "value", "unit"]
    # The scenario's [[appraisal]]: a US refinery, four cases of seven figures each.
    appraisals = result.appraisals
    assert len(appraisals) == 4 * 7
    assert set(appraisals["supplier"]) == {"passive", "strategic"}
    chance = appraisals[(appraisals["figure"] == "probability_npv_positive")
                        & (appraisals["supplier"] == "strategic")
                        & (appraisals["instruments"] == "all")]
    assert chance["unit"].iloc[0] == "0-1"
    assert 0.0 <= chance["value"].iloc[0] <= 1.0
    # The floor pays a top-up: the run's fiscal cost is positive, in USD.
    assert result.figure("fiscal_cost_usd_total") > 1e7
    fiscal = result.summary.set_index("figure").loc["fiscal_cost_usd_total"]
    assert fiscal["unit"] == "USD"
    # The same money as the top-ups the payments table lists year by year.
    paid = result.payments[result.payments["figure"] == "top_up_cost"]
    assert (paid["unit"] == "USD").all()
    assert paid["value"].sum() == pytest.approx(fiscal["value"], rel=1e-9)
    with pytest.raises(critmin.Error, match="no headline figure named 'nothing'"):
        result.figure("nothing")
    assert '"ndpr-floor"' in result.summary_json


@needs_cli
def test_simulate_tables_equal_the_cli_csv(tmp_path):
    result = critmin.simulate(SCENARIOS / "sim-ndpr-floor.toml")
    run_cli("simulate", SCENARIOS / "sim-ndpr-floor.toml", "--format", "csv", "--out",
            tmp_path / "out")
    for name, frame in (("series", result.series_long), ("scorecard", result.scorecard),
                        ("headline", result.summary), ("payments", result.payments),
                        ("appraisals", result.appraisals)):
        header, rows = read_cli_csv(tmp_path / "out" / f"{name}.csv")
        assert list(frame.columns) == header, name
        assert len(frame) == len(rows), name
        values = [float(r[header.index("value")]) if r[header.index("value")] else None
                  for r in rows]
        got = [None if pd.isna(v) else v for v in frame["value"]]
        assert got == values, name


@needs_cli
def test_simulate_scenario_errors_carry_file_line_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "bad"\nyears = [2025, 2027]\nmaterials = ["gallium"]\n'
                   'seeed = 3\n')
    with pytest.raises(critmin.Error) as error:
        critmin.simulate(bad)
    message = str(error.value)
    assert f"{bad}:5:scenario.seeed: unknown key" in message
    assert f"{bad}:1:seed: missing key 'seed'" in message
    assert message == cli_error_message("simulate", bad, "--out", tmp_path / "out")
    assert error.value.code == "invalid_input"


def test_simulate_missing_file_is_an_io_error(tmp_path):
    with pytest.raises(critmin.Error) as error:
        critmin.simulate(tmp_path / "missing.toml")
    assert "missing.toml" in str(error.value)
    assert error.value.code in ("io_error", "not_found")


# ---- ensemble ------------------------------------------------------------------------------------

def test_ensemble_bands_do_not_depend_on_threads():
    scenario = SCENARIOS / "ensemble-chinese-export-risks.toml"
    one = critmin.ensemble(scenario, runs=8, seed=5, threads=1)
    two = critmin.ensemble(scenario, runs=8, seed=5, threads=2)
    pd.testing.assert_frame_equal(one.figures, two.figures)
    pd.testing.assert_frame_equal(one.runs, two.runs)
    assert one.run_count == 8 and one.seed == 5
    assert set(one.figures["statistic"]) == {"p5", "p50", "p95", "mean", "min", "max"}
    assert sorted(one.runs["run"].unique()) == list(range(8))
    bands = one.bands()
    assert (bands["p5"] <= bands["p50"]).all() and (bands["p50"] <= bands["p95"]).all()
    assert {"p5", "p50", "p95", "unit"} <= set(bands.columns)
    assert set(one.paths["statistic"]) == {"p5", "p50", "p95"}


@needs_cli
def test_ensemble_equals_the_cli_csv(tmp_path):
    scenario = SCENARIOS / "ensemble-chinese-export-risks.toml"
    result = critmin.ensemble(scenario, runs=6, seed=3, threads=2)
    run_cli("ensemble", scenario, "--runs", 6, "--seed", 3, "--threads", 2, "--format", "csv",
            "--out", tmp_path / "out")
    header, rows = read_cli_csv(tmp_path / "out" / "figures.csv")
    assert list(result.figures.columns) == header
    assert list(result.figures["value"]) == [float(r[header.index("value")]) for r in rows]


def test_ensemble_rejects_zero_runs():
    with pytest.raises(critmin.Error, match="runs=0"):
        critmin.ensemble(SCENARIOS / "ensemble-chinese-export-risks.toml", runs=0)


# ---- compare -------------------------------------------------------------------------------------

def test_compare_floor_against_no_floor(no_floor_scenario):
    result = critmin.compare([no_floor_scenario, SCENARIOS / "sim-ndpr-floor.toml"])
    assert result.designs == ["no-floor", "ndpr-floor"]
    assert list(result.scorecards.columns) == ["design", "card", "key", "label", "value", "unit",
                                               "note"]
    assert result.bands.empty
    side = result.side_by_side("scorecards")
    top_share = side[side["key"] == "neodymium/processing/top_share_last"].iloc[0]
    # The floor moves some processing out of China: its share falls (the CLI shows 81.7 -> 74.4 %).
    assert top_share["ndpr-floor"] < top_share["no-floor"]
    fiscal = side[side["key"] == "fiscal_cost"].iloc[0]
    assert fiscal["unit"] == "USD"
    assert fiscal["no-floor"] == 0
    assert fiscal["ndpr-floor"] > 1e7
    headline = result.side_by_side().set_index("figure")
    assert headline.loc["fiscal_cost_usd_total", "ndpr-floor"] == fiscal["ndpr-floor"]
    # The floor design appraises its US refinery as simulate does; the other design has none.
    appraisals = result.appraisals
    assert set(appraisals["design"]) == {"ndpr-floor"}
    assert len(appraisals) == 4 * 7
    chance = appraisals[(appraisals["figure"] == "probability_npv_positive")
                        & (appraisals["supplier"] == "strategic")]
    assert set(chance["instruments"]) == {"none", "all"}
    assert (chance["value"] >= 0).all() and (chance["value"] <= 1).all()


def test_compare_with_runs_adds_bands(no_floor_scenario):
    result = critmin.compare([no_floor_scenario, SCENARIOS / "sim-ndpr-floor.toml"], runs=2,
                             threads=2)
    assert set(result.bands["design"]) == {"no-floor", "ndpr-floor"}
    assert set(result.bands["statistic"]) == {"p5", "p50", "p95"}


def test_compare_seed_defaults_to_the_reference_scenarios_like_ensemble():
    designs = [SCENARIOS / "sim-gallium-ban.toml", SCENARIOS / "sim-gallium-ban-stockpile.toml"]
    by_default = critmin.compare(designs, runs=3, threads=2)
    own_seed = critmin.compare(designs, runs=3, threads=2, seed=7)  # sim-gallium-ban's seed
    pd.testing.assert_frame_equal(by_default.bands, own_seed.bands)


def test_compare_needs_two_scenarios():
    with pytest.raises(critmin.Error, match="at least two scenarios, got 1") as error:
        critmin.compare([SCENARIOS / "baseline.toml"])
    assert error.value.code == "invalid_input"


# ---- backtest ------------------------------------------------------------------------------------

@needs_cli
def test_backtest_gallium_germanium_matches_the_cli():
    import json
    frame = critmin.backtest("gallium-germanium-2023")
    cli = json.loads(run_cli("backtest", "gallium-germanium-2023", "--format", "json").stdout)
    lines = cli["episodes"][0]["lines"]
    assert len(frame) == len(lines) == 2
    assert list(frame["observed_change [%]"]) == pytest.approx(
        [100 * line["observed_change"] for line in lines])
    assert list(frame["model_change [%]"]) == pytest.approx(
        [100 * line["model_change"] for line in lines])
    assert list(frame["within_band"]) == [line["within_band"] for line in lines]
    eu = frame[frame["region"] == "EU27"].iloc[0]
    assert eu["material"] == "gallium" and eu["figure"] == "price"
    assert eu["observed_change [%]"] == pytest.approx(123.3, abs=0.1)


def test_backtest_unknown_episode_lists_the_shipped_ones():
    with pytest.raises(critmin.Error, match="no episode named 'gallium-1999'") as error:
        critmin.backtest(["gallium-1999"])
    assert "gallium-germanium-2023" in str(error.value)


# ---- the GIL -------------------------------------------------------------------------------------

def test_long_calls_release_the_gil():
    """Python keeps running in another thread while critmin works."""
    finished = threading.Event()

    def work():
        try:
            critmin.ensemble(SCENARIOS / "ensemble-chinese-export-risks.toml", runs=60, threads=1)
        finally:
            finished.set()

    thread = threading.Thread(target=work)
    started = time.monotonic()
    thread.start()
    ticks = 0
    while not finished.is_set():
        ticks += 1
        time.sleep(0.001)
    thread.join()
    seconds = time.monotonic() - started
    assert seconds > 0.1, "the call was too short to tell"
    # Holding the GIL the worker would leave this loop a tick or two; released, it ticks about
    # once per millisecond (a tenth of that on a busy machine still passes).
    assert ticks > max(20, 0.1 * seconds * 1000), (ticks, seconds)
