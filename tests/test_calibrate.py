"""``calibrate``: step durations measured from synthetic team drills whose times are known.

The drills run on a tiny scenario whose model durations are all 0, so the clock moves only by
the team's own ``advance`` decisions: a team that takes each step exactly ``D`` minutes after it
became due gives observations of exactly ``D``. The defaults shrunk toward are another tiny
scenario's, with one distribution of each kind.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import sim.cli
from helpers import build, tiny_dict
from sim.calibrate import K0, calibrate, calibrated_dist, drill_observations, shrunk_mean
from sim.cli import UsageError
from sim.cli_calibrate import main, parse_years
from sim.drill import Drill, scenario_from_text
from sim.scenario import TIMING_KEYS, Dist, load_scenario
from sim.store import DrillStore

ROOT = Path(__file__).resolve().parent.parent

#: The steps the synthetic team takes, each with the milestone it waits for in ``plan.yaml``
#: (``after``, or the ``after_any`` report reaching the working group) and its timing key. With
#: model durations of 0 every step is done, and delivered, the minute it is taken.
STEPS = {
    "control": ("discovered", "on_site_control_minutes"),
    "verbal_report": ("control", "verbal_report_minutes"),
    "confirm": ("verbal_report", "confirm_minutes"),
    "graded": ("confirm", "grading_minutes"),
    "written_report": ("control", "written_report_minutes"),
    "office_informs": ("verbal_report", "inform_minutes"),
}
#: The durations the synthetic team takes (minutes), by timing key.
TRUE = {
    "on_site_control_minutes": 6.0,
    "verbal_report_minutes": 3.0,
    "confirm_minutes": 12.0,
    "grading_minutes": 25.0,
    "written_report_minutes": 40.0,
    "inform_minutes": 4.0,
}
#: The defaults shrunk toward: one distribution of each kind (means 15, 5, 10, 20, 63.3, 3).
DEFAULTS = {
    "on_site_control_minutes": {"dist": "triangular", "low": 5, "mode": 10, "high": 30},
    "verbal_report_minutes": {"dist": "lognormal", "mean": 5, "sd": 2},
    "confirm_minutes": {"dist": "uniform", "low": 5, "high": 15},
    "grading_minutes": {"dist": "exponential", "mean": 20},
    "written_report_minutes": {"dist": "triangular", "low": 25, "mode": 45, "high": 120},
    "inform_minutes": 3,
}
DISCOVERED = 9 * 60 + 30 + 10  # the tiny incident at 09:30, discovered 10 minutes later


class _Plain(yaml.SafeDumper):
    """YAML without anchors (the store's snapshots never hold aliases)."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def dump(data: dict) -> str:
    return yaml.dump(data, Dumper=_Plain, allow_unicode=True, sort_keys=False)


def drill_text(model_timing: dict | None = None) -> str:
    """The stored snapshot: the tiny scenario with every model duration 0 (or as given)."""
    timing = dict.fromkeys(TIMING_KEYS, 0) | {"discovery_minutes": 10, "ring_minutes": 1}
    return dump(tiny_dict(timing=timing | (model_timing or {})))


@pytest.fixture
def defaults(tmp_path) -> Path:
    path = tmp_path / "defaults.yaml"
    path.write_text(dump(tiny_dict(timing=DEFAULTS)), encoding="utf-8")
    return path


def store_team_drill(
    store: DrillStore,
    durations: dict[str, float],
    *,
    year: int = 2027,
    site: str = "site_a",
    kind: str = "team",
    seed: int = 1,
) -> int:
    """Play the tiny drill as a team taking each step ``durations[key]`` minutes after it became
    due (earliest finish first), storing each decision as the app does; return the drill id."""
    text = drill_text()
    drill_id = store.create_drill(
        year=year, site=site, scenario_name="tiny", scenario_text=text, seed=seed, kind=kind
    )
    drill = Drill(scenario_from_text(text, "tiny.yaml"), seed)

    def take(decision: dict) -> None:
        before = drill.now
        drill.apply(decision)
        store.append_action(drill_id, sim_minute=before, kind=decision["kind"], payload=decision)

    done = {"discovered": float(DISCOVERED)}
    left = dict(STEPS)
    while left:
        due = {s: done[dep] + durations[key] for s, (dep, key) in left.items() if dep in done}
        step = min(due, key=lambda s: (due[s], list(STEPS).index(s)))
        take({"kind": "advance", "to": due[step]})
        extra = {"level": "III"} if step == "graded" else {}
        take({"kind": "step", "incident": "i1", "step": step, **extra})
        done[step] = due[step]
        del left[step]
    return drill_id


def run(*args: str) -> int:
    return main([str(a) for a in args])


def mean_of(entry: dict) -> float:
    params = {k: v for k, v in entry.items() if k not in ("dist", "source")}
    return Dist(entry["dist"], tuple(params.values())).mean


# -- what one drill measures -------------------------------------------------------------------


def test_a_team_taking_exactly_d_minutes_gives_observations_of_d(tmp_path):
    with DrillStore(tmp_path / "d.sqlite") as store:
        drill_id = store_team_drill(store, TRUE)
        row = store.drill(drill_id)
        decisions = [a["payload"] for a in store.actions(drill_id)]
    drill = Drill.replay(scenario_from_text(row["scenario_text"]), row["seed"], decisions)
    obs = drill_observations(drill, row)
    assert {o.step: o.minutes for o in obs} == {s: TRUE[key] for s, (_, key) in STEPS.items()}
    # the step became due when its milestone was reached: office_informs at the verbal report
    inform = next(o for o in obs if o.step == "office_informs")
    verbal = next(o for o in obs if o.step == "verbal_report")
    assert inform.due == verbal.at == DISCOVERED + TRUE["on_site_control_minutes"] + 3.0


def test_minutes_the_engine_spends_on_other_steps_are_not_the_teams(tmp_path):
    """A written report the model takes 30 minutes over, done between the control and the
    verbal report: the verbal report's observation is the team's 1 + 3 minutes of advances."""
    text = drill_text({"written_report_minutes": 30})
    drill = Drill(scenario_from_text(text), 1)
    for decision in (
        {"kind": "advance", "to": DISCOVERED + 2},
        {"kind": "step", "incident": "i1", "step": "control"},
        {"kind": "advance", "to": DISCOVERED + 3},
        {"kind": "step", "incident": "i1", "step": "written_report"},
    ):
        drill.apply(decision)
    assert drill.now >= DISCOVERED + 3 + 30  # the model's 30 minutes of writing
    drill.apply({"kind": "advance", "to": drill.now + 3})
    drill.apply({"kind": "step", "incident": "i1", "step": "verbal_report"})
    row = {"id": 1, "year": 2027, "site": "site_a"}
    verbal = next(o for o in drill_observations(drill, row) if o.step == "verbal_report")
    assert verbal.at - verbal.due >= 34
    assert verbal.minutes == pytest.approx(1 + 3)
    written = next(o for o in drill_observations(drill, row) if o.step == "written_report")
    assert written.minutes == pytest.approx(1)


def test_negative_missing_and_repeated_delays_are_left_out(tmp_path):
    drill = Drill(scenario_from_text(drill_text()), 1)
    for decision in (
        {"kind": "advance", "to": DISCOVERED + 1},
        # graded with no confirmation ever: its delay is missing
        {"kind": "step", "incident": "i1", "step": "graded", "level": "III"},
        # the written report before the control it comes after: a negative delay
        {"kind": "step", "incident": "i1", "step": "written_report"},
        {"kind": "advance", "to": DISCOVERED + 5},
        {"kind": "step", "incident": "i1", "step": "control"},
        {"kind": "advance", "to": DISCOVERED + 7},
        {"kind": "step", "incident": "i1", "step": "verbal_report"},
        {"kind": "advance", "to": DISCOVERED + 9},
        {"kind": "step", "incident": "i1", "step": "verbal_report"},  # again: already done
    ):
        drill.apply(decision)
    ignored: dict[str, int] = {}
    obs = drill_observations(drill, {"id": 1, "year": 2027, "site": "a"}, ignored)
    assert [(o.step, o.minutes) for o in obs] == [("control", 5.0), ("verbal_report", 2.0)]
    assert ignored == {"missing delay": 1, "negative delay": 1, "step already done": 1}


# -- the fit -----------------------------------------------------------------------------------


def test_few_observations_shrink_toward_the_default(tmp_path, defaults, capsys):
    db, out = tmp_path / "d.sqlite", tmp_path / "timing.yaml"
    with DrillStore(db) as store:
        store_team_drill(store, TRUE)
    assert run("--db", db, "--scenario", defaults, "--out", out) == 0
    written = yaml.safe_load(out.read_text(encoding="utf-8"))
    default = load_scenario(defaults).timing
    assert set(written) == set(TRUE)  # keys without observations are not written
    for key, entry in written.items():
        mu0 = default[key].mean
        m = (K0 * mu0 + 1 * TRUE[key]) / (K0 + 1)  # the documented formula, n = 1
        assert m == pytest.approx(shrunk_mean(mu0, 1, TRUE[key]))
        assert mean_of(entry) == pytest.approx(m, abs=2e-3)
        # the default's own kind, every parameter scaled by m / mu0: the shape is kept
        assert entry["dist"] == default[key].kind
        params = [v for k, v in entry.items() if k not in ("dist", "source")]
        for p, p0 in zip(params, default[key].params, strict=True):
            assert p == pytest.approx(p0 * m / mu0, abs=1e-3)
        assert entry["source"] == (
            "calibrated: 1 observations from drills #1 (2027, site_a); "
            f"shrunk toward the default with weight k0={K0}"
        )
    table = capsys.readouterr().out
    assert "k0 = 5 pseudo-observations" in table
    line = next(x for x in table.splitlines() if x.startswith("grading_minutes"))
    assert line.split() == ["grading_minutes", "1", "25.0", "20.0", f"{(5 * 20 + 25) / 6:.1f}"]
    assert next(x for x in table.splitlines() if x.startswith("answer rates")).split()[2] == "0"


def test_many_observations_recover_known_durations(tmp_path, defaults):
    """60 drills, each step's time drawn from a gamma of known mean (cv 0.3, a fixed seed).

    Stated tolerance: the observed mean is within 10 % of the true mean (one standard error is
    0.3/√60 ≈ 3.9 %, so 10 % is about 2.6 of them), and the calibrated mean is within 10 % of
    where the shrinkage puts the true mean — K0 = 5 pseudo-observations beside 60 still pull it
    K0/65 of the way to the default (11 % for the control step, default 15 against a true 6).
    """
    rng = np.random.default_rng(20270607)
    draws: dict[str, list[float]] = {key: [] for key in TRUE}
    with DrillStore(tmp_path / "d.sqlite") as store:
        for i in range(60):
            durations = {
                key: round(float(rng.gamma(1 / 0.3**2, mean * 0.3**2)), 2)
                for key, mean in TRUE.items()
            }
            for key, value in durations.items():
                draws[key].append(value)
            store_team_drill(store, durations, seed=i)
        cal = calibrate(store, load_scenario(defaults))
    assert len(cal.drills) == 60
    default = load_scenario(defaults).timing
    for key, mean in TRUE.items():
        f = cal.fits[key]
        assert f.n == 60
        assert f.observed_mean == pytest.approx(np.mean(draws[key]), abs=1e-9)  # exact
        assert f.observed_mean == pytest.approx(mean, rel=0.10)
        target = shrunk_mean(default[key].mean, 60, mean)
        assert f.calibrated.mean == pytest.approx(target, abs=0.10 * mean)
        assert f.calibrated.mean == pytest.approx(
            shrunk_mean(default[key].mean, 60, f.observed_mean), abs=2e-3
        )


def test_a_default_of_zero_becomes_the_shrunk_fixed_value_and_a_week_bounds_it():
    assert calibrated_dist(Dist.fixed(0.0), 3, 6.0) == Dist.fixed(3 * 6.0 / (K0 + 3))
    huge = calibrated_dist(Dist("triangular", (10.0, 20.0, 300.0)), 1000, 50_000.0)
    assert huge.kind == "triangular" and max(huge.params) == pytest.approx(7 * 24 * 60)


def test_a_drill_that_cannot_be_replayed_is_skipped_with_its_reason(tmp_path, defaults, capsys):
    db, out = tmp_path / "d.sqlite", tmp_path / "t.yaml"
    with DrillStore(db) as store:
        store_team_drill(store, TRUE)
        broken = store.create_drill(
            year=2027, site="site_a", scenario_name="x", scenario_text="calendar: [", seed=1
        )
        refused = store.create_drill(
            year=2027, site="site_a", scenario_name="x", scenario_text=drill_text(), seed=1
        )
        store.append_action(refused, sim_minute=0, kind="step", payload={"kind": "fly"})
    assert run("--db", db, "--scenario", defaults, "--out", out) == 0
    printed = capsys.readouterr().out
    assert f"drill #{broken} skipped: its scenario snapshot cannot be read" in printed
    assert f"drill #{refused} skipped: cannot be replayed (unknown action 'fly')" in printed
    assert "1 observations from drills #1 " in out.read_text(encoding="utf-8")


# -- filters, exclusions and output ------------------------------------------------------------


def test_site_and_years_filters(tmp_path, defaults):
    db = tmp_path / "d.sqlite"
    with DrillStore(db) as store:
        a25 = store_team_drill(store, dict.fromkeys(TRUE, 10.0), year=2025, site="site_a")
        a26 = store_team_drill(store, dict.fromkeys(TRUE, 20.0), year=2026, site="site_a")
        b26 = store_team_drill(store, dict.fromkeys(TRUE, 40.0), year=2026, site="site_b")
        a27 = store_team_drill(store, dict.fromkeys(TRUE, 80.0), year=2027, site="site_a")
    assert (a25, a26, b26, a27) == (1, 2, 3, 4)
    cases = {
        ("--site", "site_a"): (3, (10 + 20 + 80) / 3, "#1–2, #4 (2025–2027, site_a)"),
        ("--years", "2026"): (2, 30.0, "#2–3 (2026, sites site_a, site_b)"),
        ("--years", "2025-2026", "--site", "site_a"): (2, 15.0, "#1–2 (2025–2026, site_a)"),
        ("--years", "2027"): (1, 80.0, "#4 (2027, site_a)"),
    }
    for flags, (n, observed, where) in cases.items():
        out = tmp_path / "t.yaml"
        assert run("--db", db, "--scenario", defaults, "--out", out, *flags) == 0
        entry = yaml.safe_load(out.read_text(encoding="utf-8"))["grading_minutes"]
        assert mean_of(entry) == pytest.approx(shrunk_mean(20.0, n, observed), abs=2e-3)
        assert f"calibrated: {n} observations from drills {where};" in entry["source"]


def test_automatic_drills_are_left_out(tmp_path, defaults, capsys):
    db, out = tmp_path / "d.sqlite", tmp_path / "t.yaml"
    with DrillStore(db) as store:
        auto = store_team_drill(store, dict.fromkeys(TRUE, 500.0), kind="auto")
    assert run("--db", db, "--scenario", defaults, "--out", out) == 2
    err = capsys.readouterr().err
    assert "no team drills" in err and "circular" in err and not out.exists()
    with DrillStore(db) as store:
        team = store_team_drill(store, TRUE)
    assert run("--db", db, "--scenario", defaults, "--out", out) == 0
    printed = capsys.readouterr().out
    assert "circular (1 matching)" in printed
    written = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert all(f"drills #{team} " in e["source"] for e in written.values())
    assert all(f"#{auto}" not in e["source"] for e in written.values())
    grading = written["grading_minutes"]
    assert mean_of(grading) == pytest.approx(shrunk_mean(20.0, 1, 25.0), abs=2e-3)


def test_written_file_parses_as_timing_and_is_deterministic(tmp_path, defaults):
    db = tmp_path / "d.sqlite"
    with DrillStore(db) as store:
        for i, scale in enumerate((1.0, 1.5, 2.0)):
            store_team_drill(store, {k: v * scale for k, v in TRUE.items()}, seed=i)
    one, two = tmp_path / "one.yaml", tmp_path / "sub" / "two.yaml"
    assert run("--db", db, "--scenario", defaults, "--out", one) == 0
    assert run("--db", db, "--scenario", defaults, "--out", two) == 0
    assert one.read_bytes() == two.read_bytes()
    text = one.read_text(encoding="utf-8")
    assert text.startswith("# Step durations calibrated from stored team drills")
    assert "# Shrinkage: posterior mean m = (k0*mu0 + n*mean)/(k0 + n)" in text
    written = yaml.safe_load(text)
    cal = calibrate(DrillStore(db), load_scenario(defaults))
    # each entry, without its source, is a timing entry the scenario parser takes
    timing = {k: {p: v for p, v in e.items() if p != "source"} for k, e in written.items()}
    parsed = build(copy.deepcopy(tiny_dict(timing=timing))).timing
    for key in written:
        assert parsed[key] == cal.fits[key].calibrated
        assert written[key]["source"].startswith("calibrated: 3 observations from drills #1–3")


def test_no_matching_team_drills_exits_2_with_a_message(tmp_path, defaults, capsys):
    db, out = tmp_path / "d.sqlite", tmp_path / "t.yaml"
    assert run("--db", db, "--scenario", defaults, "--out", out) == 2
    assert (
        capsys.readouterr().err == "calibrate: no team drills in the store; nothing to calibrate\n"
    )
    with DrillStore(db) as store:
        store_team_drill(store, TRUE, year=2027, site="site_a")
    assert run("--db", db, "--scenario", defaults, "--out", out, "--site", "site_z") == 2
    assert "no team drills at site site_z" in capsys.readouterr().err
    assert run("--db", db, "--scenario", defaults, "--out", out, "--years", "2020-2026") == 2
    assert "no team drills in 2020-2026" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("text", ["2027-2025", "27", "2025-27", "20251", "abc", "2025-"])
def test_years_are_validated(tmp_path, defaults, capsys, text):
    with pytest.raises(UsageError, match="--years"):
        parse_years(text)
    code = run("--db", tmp_path / "d.sqlite", "--scenario", defaults, "--out", "x", "--years", text)
    assert code == 2 and capsys.readouterr().err.startswith("--years: ")


def test_years_parse():
    assert parse_years("2027") == (2027, 2027)
    assert parse_years("2025-2027") == (2025, 2027)


def _subprocess(*args: str) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


def test_runs_on_its_own_without_a_traceback(tmp_path):
    done = _subprocess("sim.cli_calibrate", "--db", str(tmp_path / "d.sqlite"), "--out", "x.yaml")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "no team drills" in done.stderr


@pytest.mark.skipif(
    "sim.cli_calibrate" not in sim.cli.COMMAND_MODULES,
    reason="calibrate is not yet registered in sim.cli.COMMAND_MODULES",
)
def test_drillsim_calibrate_command(tmp_path, defaults):
    db, out = tmp_path / "d.sqlite", tmp_path / "t.yaml"
    with DrillStore(db) as store:
        store_team_drill(store, TRUE)
    done = _subprocess(
        "sim", "calibrate", "--db", str(db), "--scenario", str(defaults), "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    assert "grading_minutes" in done.stdout and out.is_file()
