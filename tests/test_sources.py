"""Every number with a source: the shipped scenarios, ``validate --sources``, bad sources."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sim.scenario import load_scenario, parse_scenario
from sim.sources import BUILT_IN, numbers, summary, unknown_paths
from sim.yamlio import InputError, load_file

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "scenarios"
SCENARIOS = sorted(
    p for p in (ROOT / "scenarios").glob("*.yaml") if p.stem.startswith(("drill_", "season_"))
)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_number_of_a_shipped_scenario_has_a_source(path):
    sc = load_scenario(path)
    rows = numbers(sc)
    assert rows and all(r.source for r in rows), [r.path for r in rows if not r.source]
    assert unknown_paths(sc) == []
    # nothing is measured yet: every number says it is an assumption, and why
    assert all(r.kind == "assumption" and len(r.source) > len("assumption: ") for r in rows)


def test_a_source_beside_a_number_wins_and_a_value_of_the_file_is_not_the_default():
    data = load_file(ROOT / "scenarios" / "drill_leak.yaml")
    data["timing"]["written_report_minutes"] = {
        "dist": "triangular", "low": 20, "mode": 30, "high": 50,
        "source": "measured: drills #3 and #5 (2027), 4 observations",
    }  # fmt: skip
    data["timing"]["grading_minutes"] = 33
    sc = parse_scenario(data, str(ROOT / "scenarios" / "drill_leak.yaml"))
    rows = {r.path: r for r in numbers(sc)}
    assert rows["timing.written_report_minutes"].kind == "measured"
    # a value the file gives has no built-in source: it needs its own
    assert rows["timing.grading_minutes"].kind == "missing"
    assert rows["timing.verbal_report_minutes"].source == BUILT_IN["timing.verbal_report_minutes"]
    assert summary(rows.values())["missing"] == 1


def test_a_source_that_names_no_number_and_a_bad_source_are_errors(tmp_path):
    text = (ROOT / "scenarios" / "drill_leak.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        text.replace(
            "roster: roster_default.yaml", f"roster: {SHIPPED / 'roster_default.yaml'}"
        ).replace("plan: plan.yaml", f"plan: {SHIPPED / 'plan.yaml'}")
        + '  timing.writen_report_minutes: "assumption: typo"\n',
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "sources.timing.writen_report_minutes: names no number" in out.stderr
    data = load_file(ROOT / "scenarios" / "drill_leak.yaml")
    data["sources"] = {"timing.grading_late_prob": 7}
    with pytest.raises(InputError, match="sources.timing.grading_late_prob: expected text"):
        parse_scenario(data, str(ROOT / "scenarios" / "drill_leak.yaml"))


def test_validate_sources_lists_every_number_and_run_says_how_many_are_assumptions():
    out = subprocess.run(
        [sys.executable, "-m", "sim", "validate", "--sources", "scenarios/season_2027.yaml"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "timing.written_report_minutes" in out.stdout and "stochastic.leak.rate" in out.stdout
    assert "53 numbers: 0 measured, 53 assumptions, 0 without a source" in out.stdout
    run = subprocess.run(
        [sys.executable, "-m", "sim", "run", "scenarios/drill_leak.yaml", "--reps", "5"],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "numbers: 0 measured, 29 assumptions, 0 without a source" in run.stdout


def _copy_scenario(tmp_path, timing: str) -> Path:
    text = (SHIPPED / "drill_leak.yaml").read_text(encoding="utf-8")
    text = text.replace("roster: roster_default.yaml", f"roster: {SHIPPED / 'roster_default.yaml'}")
    text = text.replace("plan: plan.yaml", f"plan: {SHIPPED / 'plan.yaml'}")
    head, _, rest = text.partition("\ntiming:\n")
    body = rest.split("\n\n", 1)[1] if "\n\n" in rest else ""
    path = tmp_path / "drill.yaml"
    path.write_text(f"{head}\ntiming: {timing}\n\n{body}", encoding="utf-8")
    return path


def test_a_scenario_takes_a_timing_file_with_its_sources(tmp_path):
    """``timing: {include: calibrated.yaml}``: the file's durations (and their sources) replace
    the defaults; a stored drill's snapshot holds them; a bad file names its own line."""
    from sim.drill import scenario_from_text, snapshot_text

    cal = tmp_path / "calibrated.yaml"
    cal.write_text(
        "written_report_minutes: {dist: triangular, low: 30, mode: 50, high: 90, "
        'source: "calibrated: 8 observations from drills #1-#3"}\n',
        encoding="utf-8",
    )
    path = _copy_scenario(tmp_path, "{include: calibrated.yaml, grading_late_prob: 0.1}")
    sc = load_scenario(path)
    assert sc.timing["written_report_minutes"].params == (30.0, 50.0, 90.0)
    assert sc.timing.grading_late_prob == 0.1
    rows = {r.path: r for r in numbers(sc)}
    assert rows["timing.written_report_minutes"].kind == "measured"
    snap = scenario_from_text(snapshot_text(path))
    assert snap.timing["written_report_minutes"] == sc.timing["written_report_minutes"]
    out = subprocess.run(
        [sys.executable, "-m", "sim", "validate", str(cal)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 0 and "ok (timing" in out.stdout, out.stderr
    cal.write_text("written_report_minutes: {dist: triangular, low: 30, mode: 50}\n", "utf-8")
    with pytest.raises(InputError, match=r"calibrated.yaml:1: timing.written_report_minutes"):
        load_scenario(path)
