"""The command line: deterministic output, JSON shape, bench."""

import json
import subprocess
import sys
from pathlib import Path

from sim.plan import RULE_IDS


def run(*args):
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, timeout=300)


def test_run_json_shape_and_byte_identical():
    args = (
        "run",
        "scenarios/season_2027.yaml",
        "--reps",
        "30",
        "--seed",
        "4",
        "--json",
        "--workers",
        "2",
    )
    a, b = run(*args), run(*args)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    data = json.loads(a.stdout)
    assert set(data) >= {"scenario", "reps", "seed", "rules", "roles"}
    assert data["reps"] == 30 and data["seed"] == 4
    ids = [r["id"] for r in data["rules"]]
    assert ids == list(RULE_IDS)  # every rule of the plan, in the plan's order
    for r in data["rules"]:
        assert set(r) >= {"id", "met_share", "ci95", "p50_min", "p90_min", "applicable"}
        if r["applicable"]:
            lo, hi = r["ci95"]
            assert 0 <= lo <= r["met_share"] <= hi <= 1
    assert all({"busy_share", "unanswered_share"} <= set(v) for v in data["roles"].values())


def test_run_table_is_readable_and_deterministic():
    args = ("run", "scenarios/drill_leak.yaml", "--reps", "20", "--seed", "2", "--workers", "1")
    a, b = run(*args), run(*args)
    assert a.returncode == 0 and a.stdout == b.stdout
    text = a.stdout.decode()
    assert "first_report_3h" in text and "deputy_leader_on_site_I" in text


def test_changed_plan_changes_the_result(tmp_path):
    plan = (
        Path("scenarios/plan.yaml")
        .read_text(encoding="utf-8")
        .replace("    allowed_minutes: 180", "    allowed_minutes: 60")
    )
    p = tmp_path / "plan_2h.yaml"
    p.write_text(plan, encoding="utf-8")
    base = json.loads(
        run("run", "scenarios/season_2027.yaml", "--reps", "20", "--json", "--workers", "1").stdout
    )
    tight = json.loads(
        run(
            "run",
            "scenarios/season_2027.yaml",
            "--reps",
            "20",
            "--json",
            "--workers",
            "1",
            "--plan",
            str(p),
        ).stdout
    )
    assert tight["rules"][0]["met_share"] < base["rules"][0]["met_share"]


def test_bench_prints_ratio():
    out = run("bench", "--quick", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["events_per_replication"] > 0 and data["reference_events_per_s"] > 0
    assert data["replication_cost_bare_events"] > 0
    assert 0 < data["ratio_model_to_reference"] < 10
    assert data["single_incident_replications_per_s"] > 0
