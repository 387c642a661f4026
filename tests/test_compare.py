"""Comparisons: common random numbers, identical results on any workers or Dask, monotonicity,
the sizing search, statistics, export, and the compare/sweep/size commands."""

import copy
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import build, tiny_dict
from sim.compare import (
    ALL_MET,
    Axis,
    compare,
    precision_from,
    read_results,
    reps_for_precision,
    save_figures,
    size_grid,
    sizing_figure,
    sweep,
    sweep_figure,
    t_quantile,
)
from sim.experiment import run_once, run_replications
from sim.scenario import load_scenario
from sim.variants import apply, load_variant, variant_from_dict

SEASON = "scenarios/season_2027.yaml"
NIGHT = "scenarios/variants/night_duty_officer.yaml"
SEPARATE = "scenarios/variants/separate_emergency_contact.yaml"
CLOCK_2H = "scenarios/variants/first_report_2h.yaml"

MORE_STAFF = {
    "name": "more_staff",
    "label_zh": "各链末尾增加后备",
    "label_en": "Backups at the end of every chain",
    "roster": {
        "add": [
            {"id": "dd_x", "role": "duty_desk", "default_state": "on_duty", "chain": "end"},
            {"id": "ec_x", "role": "emergency_contact", "default_state": "on_call", "chain": "end"},
            {"id": "te_x", "role": "team_exam_affairs", "default_state": "on_call", "chain": "end"},
            {"id": "dl_x", "role": "deputy_leader", "default_state": "on_call", "chain": "end"},
        ],
        # the office director is the emergency contact (and office director, deputy leader)
        "change": {"office_director": {"reach": {"on_call": {"answer_prob": 0.95}}}},
    },
}


@pytest.fixture(scope="module")
def season():
    return load_scenario(SEASON)


@pytest.fixture(scope="module")
def variants():
    return [load_variant(NIGHT), load_variant(SEPARATE), load_variant(CLOCK_2H)]


@pytest.fixture(scope="module")
def local(season, variants):
    return compare(season, variants, 120, 11, workers=1)


def test_crn_staffing_changes_leave_every_replications_incidents_identical(season, local):
    assert local.crn_mismatched_reps == 0
    staffed = apply(season, variant_from_dict(MORE_STAFF, "more_staff"))
    for i in range(25):
        a, b = run_once(season, 3, i), run_once(staffed, 3, i)
        assert a.incidents == b.incidents
        assert a.true_grades == b.true_grades


def test_parallel_and_serial_identical(season, variants, local):
    two = compare(season, variants, 120, 11, workers=2, chunk_size=7)
    assert two.as_json() == local.as_json()
    pd.testing.assert_frame_equal(two.rule_frame(), local.rule_frame())
    pd.testing.assert_frame_equal(two.roles, local.roles)
    assert all(np.array_equal(two.hist[k], local.hist[k]) for k in local.hist)
    # chunking does not change anything either
    assert compare(season, variants, 120, 11, workers=1, chunk_size=13).as_json() == local.as_json()


@pytest.mark.slow
def test_dask_local_cluster_identical_to_local(season, variants, local):
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        by_address = compare(season, variants, 120, 11, scheduler=cluster.scheduler_address)
        by_client = compare(season, variants, 120, 11, scheduler=client, chunk_size=9)
    assert by_address.as_json() == local.as_json()
    assert by_client.as_json() == local.as_json()


POOR = {state: {"answer_prob": 0.3} for state in ("on_duty", "on_call", "off_duty")}
STRESS = {
    "name": "stress",
    "roster": {
        "change": {
            pid: {"reach": POOR}
            for pid in (
                "duty_day",
                "duty_night",
                "office_director",
                "general_contact",  # office_director is also the emergency contact
                "leader",
            )
        }
    },
}


@pytest.mark.parametrize(("stressed", "seed"), [(False, 1), (True, 1), (True, 2)])
def test_adding_staff_is_never_significantly_worse(season, stressed, seed):
    """Backups at the end of call chains and a more reachable contact: never significantly worse
    (CRN), and on a stressed roster clearly better.

    Not "never lower in any replication": people now share work (a site's people share its
    steps, the duty desk's pool does the office's steps, the office director holds three roles),
    so an extra person changes who is busy when, and one incident done sooner can leave another
    waiting — the same staffing can lower a share by an incident or two by chance. What must
    hold is that no rule gets significantly worse, and that where the roster is short (duty
    desk and contacts answering 30 % of calls) the extra people clearly help.
    """
    base = apply(season, variant_from_dict(STRESS, "stress")) if stressed else season
    comp = compare(base, [variant_from_dict(MORE_STAFF, "more_staff")], 200, seed, workers=2)
    assert comp.crn_mismatched_reps == 0
    improved = set()
    for rule in comp.applicable_rules():
        before, more = comp.result("base", rule), comp.result("more_staff", rule)
        assert more.diff_hi >= 0, rule  # not significantly worse
        assert math.isclose(more.diff, more.share - before.share, abs_tol=2e-6), rule
        if more.significant:
            assert more.diff > 0, rule  # a significant change is an improvement
            improved.add(rule)
    if stressed:
        # the emergency contact and the whole season at least (the written first report goes
        # on paper, so phones do not hold it back)
        assert {"emergency_contact_III_plus", ALL_MET} <= improved, improved


def tiny_sizing_case():
    """One incident (grade Ⅲ), everyone answers at once, except the duty desk and the emergency
    contact who never answer; one call round. Extra people answer with probability 0.5 each, so
    with k of them a rule is met with probability 1 − 0.5^k (k = 2: 75 %, k = 3: 87.5 %)."""
    data = tiny_dict(timing={"retry_minutes": 1})
    data["timing"]["max_call_rounds"] = 1
    for p in data["roster"]["people"]:
        if p["role"] in ("duty_desk", "emergency_contact"):
            p["reach"] = {
                s: {"answer_prob": 0.0, "answer_minutes": 0}
                for s in ("on_duty", "on_call", "off_duty")
            }
    return build(data)


def test_sizing_search_finds_the_known_smallest_staffing():
    base = tiny_sizing_case()
    half = {"on_duty": 0.5, "on_call": 0.5, "off_duty": 0.5}
    axes = [
        Axis("desk", "duty_desk", (0, 1, 2, 3, 4), answer_prob=half, label_en="Duty officers"),
        Axis(
            "contact",
            "emergency_contact",
            (0, 1, 2, 3),
            answer_prob=half,
            label_en="Emergency contacts",
        ),
    ]
    # verbal_before_written needs the desk answered: the working group's verbal report goes
    # through its office (k = 3 → 87.5 % ≥ 80 %; k = 2 → 75 %); emergency_contact_III_plus
    # needs a contact (k = 2 → 75 % ≥ 70 %; k = 1 → 50 %)
    targets = {"verbal_before_written": 0.8, "emergency_contact_III_plus": 0.7}
    sz = size_grid(base, axes, targets, 400, 5, workers=1)
    assert sz.best == {"desk": 3, "contact": 2}
    assert set(sz.cells["cost"]) == {0, 1, 2, 3, 4, 5}  # stopped at the first cost that meets
    row = sz.cells[(sz.cells["desk"] == 3) & (sz.cells["contact"] == 2)].iloc[0]
    assert abs(row["verbal_before_written_share"] - 0.875) < 0.05
    assert abs(row["emergency_contact_III_plus_share"] - 0.75) < 0.05
    assert not sz.cells[sz.cells["cost"] < 5]["meets"].any()
    # an unreachable target: no cell meets it
    none = size_grid(base, axes[:1], {"verbal_before_written": 0.999}, 50, 5, workers=1)
    assert none.best is None and len(none.cells) == 5
    fig = sizing_figure(sz, "verbal_before_written", "en")
    assert fig.axes


def test_paired_statistics(season, local):
    # a change that touches no one's calls: identical in every replication → difference exactly 0
    same = variant_from_dict(
        {"name": "rename", "roster": {"change": {"expert_1": {"name_en": "Expert"}}}}, "rename"
    )
    comp = compare(season, [same], 60, 2, workers=1)
    for rule in comp.applicable_rules():
        r = comp.result("rename", rule)
        assert (r.diff, r.diff_lo, r.diff_hi) == (0.0, 0.0, 0.0)
        assert r.share == comp.result("base", rule).share
    assert "identical in every replication" in comp.verdicts("en")["rename"]
    # the plan's clock at 2 hours: clearly fewer first reports on time
    r = local.result("first_report_2h", "first_report_3h")
    b = local.result("base", "first_report_3h")
    assert r.allowed_min == 120 and b.allowed_min == 180
    assert r.diff_hi < 0 and r.significant
    assert math.isclose(r.diff, r.share - b.share, abs_tol=2e-6)
    assert r.rep_diff_hi < 0 and abs(r.rep_diff - r.diff) < 0.1
    assert r.ci_lo <= r.share <= r.ci_hi
    v = local.verdicts("en")["first_report_2h"]
    rule_en = season.plan.rules["first_report_3h"].label_en
    assert v.startswith(f"First report within 2 hours: {rule_en} (clock 120 min)")
    assert f"{100 * b.share:.1f}% → {100 * r.share:.1f}%" in v and "points ±" in v
    assert (
        "→" in local.verdicts("zh")["first_report_2h"]
        and "个百分点" in local.verdicts("zh")["first_report_2h"]
    )
    # all_met is a share of replications
    am = local.result("base", ALL_MET)
    assert am.applicable == 120 and 0 <= am.share <= 1


def test_t_quantile():
    assert math.isclose(t_quantile(0.975, 1), 12.7062, rel_tol=1e-4)
    assert math.isclose(t_quantile(0.975, 2), 4.3027, rel_tol=1e-4)
    assert math.isclose(t_quantile(0.975, 5), 2.5706, rel_tol=2e-3)
    assert math.isclose(t_quantile(0.975, 30), 2.0423, rel_tol=1e-4)
    assert math.isclose(t_quantile(0.975, math.inf), 1.95996, rel_tol=1e-5)


def test_ecdf_and_role_load(local):
    x, y = local.ecdf("base", "first_report_3h")
    assert np.all(np.diff(x) > 0) and np.all(np.diff(y) >= 0) and y[-1] <= 1 + 1e-12
    share = local.result("base", "first_report_3h").share
    done_by_clock = y[x <= 180].max()
    assert abs(done_by_clock - share) < 0.02  # 0.5-minute bins
    roles = local.roles
    assert set(roles["variant"]) == set(local.names)
    night = roles[(roles["variant"] == "night_duty_officer") & (roles["role"] == "duty_desk")].iloc[
        0
    ]
    base = roles[(roles["variant"] == "base") & (roles["role"] == "duty_desk")].iloc[0]
    assert night["people"] == base["people"] + 1
    assert (roles["busy_share"] >= 0).all() and (roles["busy_share"] <= 1).all()


def test_a_person_with_several_roles_counts_in_each_roles_load(season):
    """The office director is also the emergency contact and a deputy leader: their calls and
    busy minutes count in each of those roles, as in a single run's summary (sim.experiment)."""
    director = season.roster.person("office_director")
    assert set(director.roles) >= {"office_director", "emergency_contact", "deputy_leader"}
    comp = compare(season, [load_variant(SEPARATE)], 12, 5, workers=1)
    roles = comp.roles.set_index(["variant", "role"])
    assert roles.loc[("base", "emergency_contact"), "people"] == 1
    assert roles.loc[("separate_emergency_contact", "emergency_contact"), "people"] == 2
    assert roles.loc[("base", "deputy_leader"), "people"] == 3
    # the director is the base's only emergency contact and only office director: same load
    for col in ("busy_min_per_rep", "calls_per_rep"):
        ec, od = (
            roles.loc[("base", "emergency_contact"), col],
            roles.loc[("base", "office_director"), col],
        )
        assert ec == od and ec > 0, col
    # the same numbers as the per-run summaries give, role by role
    summary = run_replications(season, 12, 5, workers=1)
    base = comp.roles[comp.roles["variant"] == "base"]
    assert set(base["role"]) == set(summary.roles)
    for row in base.to_dict("records"):
        want = summary.roles[row["role"]]
        assert row["people"] == want["people"], row["role"]
        assert math.isclose(row["busy_share"], want["busy_share"], abs_tol=2e-6), row["role"]
        assert math.isclose(row["calls_per_rep"] * 12, want["calls"], abs_tol=1e-3), row["role"]


def test_full_log_only_when_asked(season):
    v = [load_variant(CLOCK_2H)]
    comp = compare(season, v, 20, 4, workers=1, full_log=True)
    assert compare(season, v, 20, 4, workers=1).log is None
    log = comp.log
    assert set(log["variant"]) == {"base", "first_report_2h"}
    sub = log[(log["variant"] == "base") & (log["rule"] == "first_report_3h")]
    r = comp.result("base", "first_report_3h")
    assert (sub["status"].isin(["met", "missed"])).sum() == r.applicable
    assert (sub["status"] == "met").sum() == r.met
    # each verdict with its site, the grade given, its note and a miss's causes
    assert {"site", "assigned_grade", "note", "causes"} <= set(log.columns)
    assert set(log["site"]) - {""} <= {site.id for site in season.sites}
    missed = log[log["status"] == "missed"]
    assert len(missed) and (missed["causes"] != "").all()
    assert (log[log["status"] == "met"]["causes"] == "").all()
    # any replication's full record can be re-run
    run = comp.run("first_report_2h", 3)
    assert run.records and run.scenario.plan.rules["first_report_3h"].allowed_minutes == 120


def test_export_round_trip(local, tmp_path):
    written = local.to_csv(tmp_path / "cmp.csv")
    assert {p.name for p in written} >= {
        "cmp.csv",
        "cmp_roles.csv",
        "cmp_ecdf.csv",
        "cmp_verdicts.csv",
    }
    back = read_results(tmp_path / "cmp.csv")
    pd.testing.assert_frame_equal(back["rules"], local.rule_frame(), check_dtype=False)
    pd.testing.assert_frame_equal(back["roles"], local.roles, check_dtype=False)
    local.to_parquet(tmp_path / "cmp.parquet")
    back = read_results(tmp_path / "cmp.parquet")
    pd.testing.assert_frame_equal(back["rules"], local.rule_frame(), check_dtype=False)
    pd.testing.assert_frame_equal(back["ecdf"], local.ecdf_frame(), check_dtype=False)
    assert list(back["verdicts"]["verdict"]) == list(local.verdict_frame()["verdict"])
    pngs = save_figures(local, tmp_path / "figs" / "cmp.png", "zh")
    assert len(pngs) == 4 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_precision_from_a_pilot(local):
    p1 = precision_from(local, half_width=0.02)
    p2 = precision_from(local, half_width=0.01)
    row = p1.table[(p1.table["variant"] == "base") & (p1.table["rule"] == ALL_MET)].iloc[0]
    share = row["estimate"]
    # all_met is one Bernoulli per replication: n = z² p (1 − p) / h²
    expected = 1.959964**2 * share * (1 - share) / 0.02**2
    assert abs(row["needed_reps"] - expected) / expected < 0.02
    assert 3.8 <= p2.reps / p1.reps <= 4.2  # a half-width twice as tight needs four times the runs
    assert p1.seconds() > 0


def test_reps_for_precision_runs_its_own_pilot(season):
    p = reps_for_precision(
        season, [load_variant(CLOCK_2H)], half_width=0.05, pilot_reps=30, workers=1
    )
    assert p.pilot_reps == 30 and p.reps >= 2 and p.seconds_per_rep > 0
    assert set(p.table["variant"]) == {"base", "first_report_2h"}


def test_sweep_of_the_plan_clock_is_monotone(season):
    sw = sweep(season, "plan.rules.first_report_3h", [120, 180, 240], 60, 3, workers=1)
    shares = list(sw.frame[sw.frame["rule"] == "first_report_3h"]["share"])
    assert shares == sorted(shares) and shares[0] < shares[-1]
    assert (
        sw.frame[(sw.frame["rule"] == "first_report_3h") & (sw.frame["value"] == 180)]["diff"].iloc[
            0
        ]
        == 0
    )
    assert sweep_figure(sw, "zh").axes


def test_scenario_and_variants_unchanged_by_a_comparison(season, variants):
    snap_s, snap_v = copy.deepcopy(season), copy.deepcopy(variants)
    compare(season, variants, 5, 1, workers=1)
    assert season == snap_s and variants == snap_v


def test_bad_arguments(season):
    with pytest.raises(ValueError):
        compare(season, [load_variant(NIGHT)], 0, 1)
    with pytest.raises(ValueError):
        compare(season, [load_variant(NIGHT), load_variant(NIGHT)], 5, 1)


# -- the command line ------------------------------------------------------------------------


def cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, timeout=timeout
    )


def test_cli_compare_json_is_byte_identical_and_writes_files(tmp_path):
    args = (
        "compare",
        SEASON,
        "--variant",
        NIGHT,
        CLOCK_2H,
        "--reps",
        "100",  # a 2-hour clock misses a few % of first reports: enough to show
        "--seed",
        "3",
        "--json",
    )
    a = cli(
        *args,
        "--workers",
        "2",
        "--out-csv",
        str(tmp_path / "c.csv"),
        "--out-parquet",
        str(tmp_path / "c.parquet"),
        "--out-png",
        str(tmp_path / "c.png"),
    )
    b = cli(*args, "--workers", "1")
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    data = json.loads(a.stdout)
    assert [v["name"] for v in data["variants"]] == [
        "base",
        "night_duty_officer",
        "first_report_2h",
    ]
    assert data["reps"] == 100 and data["crn_mismatched_reps"] == 0
    assert set(data["verdicts"]) == {"zh", "en"} and "first_report_2h" in data["verdicts"]["en"]
    row = next(
        r
        for r in data["rules"]
        if r["variant"] == "first_report_2h" and r["rule"] == "first_report_3h"
    )
    assert row["diff"] < 0 and row["allowed_min"] == 120
    assert (tmp_path / "c.csv").exists() and (tmp_path / "c_roles.parquet").exists()
    assert (tmp_path / "c.png").exists() and (tmp_path / "c_diff.png").exists()


def test_cli_compare_table_and_precision():
    args = (
        "compare",
        SEASON,
        "--variant",
        SEPARATE,
        "--clock",
        "first_report_3h=150",
        "--seed",
        "2",
        "--workers",
        "2",
        "--half-width",
        "0.2",
        "--pilot-reps",
        "30",
    )
    a, b = cli(*args), cli(*args)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout
    text = a.stdout.decode()
    assert (
        "first_report_3h" in text
        and "separate_emergency_contact" in text
        and "first_report_3h_150" in text
    )
    assert "replications chosen for ±20 points (pilot of 30)" in text
    assert "verdicts:" in text and "→" in text
    assert "pilot of 30" in a.stderr.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("compare", SEASON), "at least one --variant"),
        (("compare", SEASON, "--variant", NIGHT, "--reps", "0"), "--reps: must be at least 1"),
        (("compare", SEASON, "--clock", "first_report_3h=soon"), "--clock: expected RULE=MINUTES"),
        (("compare", SEASON, "--variant", "no/such.yaml"), "no/such.yaml:1: (file): cannot read"),
        (
            (
                "sweep",
                SEASON,
                "--param",
                "roster.reachability.off_duty.answer_prob",
                "--values",
                "2",
            ),
            "above the maximum 1",
        ),
        (("sweep", SEASON, "--param", "plan.rules.first_report_3h"), "give --values"),
        (
            ("size", SEASON, "--axis", "boss=2", "--target", "first_report_3h=0.9"),
            "unknown role 'boss'",
        ),
        (("size", SEASON, "--axis", "duty_desk=2", "--target", "first_report_3h=1.5"), "at most 1"),
    ],
)
def test_cli_bad_arguments_exit_2_without_traceback(args, message):
    out = cli(*args, "--workers", "1")
    assert out.returncode == 2, out.stdout
    err = out.stderr.decode()
    assert message in err and "Traceback" not in err


def test_cli_sweep_and_size(tmp_path):
    args = (
        "sweep",
        SEASON,
        "--param",
        "plan.rules.first_report_3h",
        "--values",
        "120",
        "180",
        "--reps",
        "20",
        "--seed",
        "2",
        "--workers",
        "1",
    )
    a, b = cli(*args), cli(*args)
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout and "first_report_3h" in a.stdout.decode()
    out = cli(
        *args, "--json", "--out-csv", str(tmp_path / "s.csv"), "--out-png", str(tmp_path / "s.png")
    )
    data = json.loads(out.stdout)
    assert data["param"] == "plan.rules.first_report_3h" and data["values"] == [120, 180]
    assert (tmp_path / "s.csv").exists() and (tmp_path / "s.png").exists()
    size = cli(
        "size",
        SEASON,
        "--axis",
        "emergency_contact=1",
        "--target",
        "office_informs_leaders=0.5",
        "--reps",
        "10",
        "--workers",
        "1",
        "--json",
    )
    assert size.returncode == 0, size.stderr
    data = json.loads(size.stdout)
    assert data["best"] == {"extra_emergency_contact": 0}


@pytest.mark.slow
def test_cli_bench_planner_quick():
    out = cli("bench-planner", "--quick", "--reps", "30", "--memory-reps", "30", "60", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["variants"] == 6 and data["results_identical_1_vs_n_workers"] is True
    assert data["speed_up"] > 0 and data["model_to_bare_simpy_ratio"] > 0
    assert data["peak_rss_mb_30_reps"] > 0 and data["peak_rss_mb_60_reps"] > 0
    # run goes through the same runner, and is measured too
    assert data["run_results_identical_1_vs_n_workers"] is True and data["run_speed_up"] > 0
    assert data["run_peak_rss_mb_30_reps"] > 0 and data["run_memory_growth_ratio"] > 0
