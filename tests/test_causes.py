"""Why a clock was missed: causes on exact traces, sums, the busy-person case, ``explain``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import tiny
from sim.causes import CAUSES, REASONS, Trace, explain_misses
from sim.explain import explain_run, explain_text
from sim.policy import simulate
from sim.rules import MISSED, verdicts
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
STAFF = {"id": "p_staff", "role": "site_exam_staff", "site": "s1", "default_state": "on_duty"}


def judged(scenario, seed: int = 1, rep: int = 0):
    m = simulate(scenario, seed, rep)
    vs = verdicts(scenario, tuple(m.incidents), m.true_grade, m.records)
    trace = Trace.of(m)
    explain_misses(vs, trace, scenario.plan)
    return m, vs, trace


def missed(vs, rule: str):
    return next((v for v in vs if v.rule == rule and v.status == MISSED), None)


def test_late_grading_on_an_exact_trace():
    """Fixed durations, grading 120 min late: the Ⅲ/Ⅳ clock starts when grading was due
    (discovery 580 + 60 = 640); the working group grades at 707–717, the office reports at once
    (2 min) and the department picks up 1 min later: 80 min = 67 late + 12 work + 1 pick-up."""
    sc = tiny(timing={"grading_late_minutes": 120, "grading_late_prob": 1.0})
    _, vs, trace = judged(sc)
    v = missed(vs, "department_informed_III_IV")
    assert v is not None and (v.start_min, v.measured_min) == (640.0, 80.0)
    assert v.causes == (("late_grading", 67.0), ("body_pickup", 1.0), ("step_work", 12.0))
    segments, reasons = trace.segments(v, sc.plan)
    assert reasons == []
    assert [(s.start, s.end, s.cause, s.step) for s in segments] == [
        (640.0, 707.0, "late_grading", "graded"),
        (707.0, 717.0, "step_work", "graded"),
        (717.0, 719.0, "step_work", "department_informed"),
        (719.0, 720.0, "body_pickup", "department_informed"),
    ]


def test_waiting_for_a_busy_person_is_the_cause_and_a_second_person_removes_it():
    """One person at the site writes a 60-minute first report; the 立即 emergency contact waits
    for them. The explanation names the wait and what they were busy with; a second person at
    the site takes the report, and the miss and the wait are gone."""
    slow = {"written_report_minutes": 60}
    _, vs, trace = judged(tiny(timing=slow))
    v = missed(vs, "emergency_contact_III_plus")
    assert v is not None and v.measured_min == 58.0 and v.allowed_min == 30.0
    assert dict(v.causes) == {"waiting_busy": 56.0, "step_work": 2.0}
    wait = trace.segments(v, tiny(timing=slow).plan)[0][0]
    assert (wait.cause, wait.who, wait.detail) == (
        "waiting_busy",
        "p_chief_examiner",
        "i1:written_report",
    )
    _, vs2, _ = judged(tiny(timing=slow, extra_people=[STAFF]))
    assert missed(vs2, "emergency_contact_III_plus") is None
    assert not any(dict(v.causes).get("waiting_busy") for v in vs2)


def test_a_duty_never_done_because_of_a_wrong_grade_says_so():
    """Graded Ⅳ instead of Ⅲ: the Ⅲ-and-above emergency contact never happens (cause: wrong
    grading, for the minutes from its clock to the incident's end); grading itself is missed
    on its grade, a reason of 0 minutes beside its time."""
    sc = tiny(timing={"grading_wrong_prob": 1.0})
    for seed in range(20):
        m, vs, _ = judged(sc, seed)
        if m.assigned_grade["i1"] == "IV":
            break
    else:
        pytest.fail("no seed grades the incident Ⅳ")
    never = missed(vs, "emergency_contact_III_plus")
    assert never is not None and never.measured_min is None
    assert [c for c, _ in never.causes] == ["wrong_grading"] and never.causes[0][1] > 0
    grading = missed(vs, "grade_determined")
    assert grading is not None and ("wrong_grading", 0.0) in grading.causes
    assert sum(m for _, m in grading.causes) == pytest.approx(grading.measured_min)


@pytest.mark.parametrize(
    "path",
    ["scenarios/season_2027.yaml", "scenarios/drill_score_error.yaml"],
)
def test_every_missed_verdict_has_causes_summing_to_its_time(path):
    """In simulated runs every stretch of a missed clock has a modelled cause: the pieces sum to
    the measured time (to rounding) and nothing is left unexplained."""
    sc = load_scenario(ROOT / path)
    n = 0
    for rep in range(60):
        _, vs, _ = judged(sc, 11, rep)
        for v in vs:
            if v.status != MISSED or not v.incident:
                continue
            n += 1
            assert v.causes, v
            assert all(c in CAUSES for c, _ in v.causes)
            if v.measured_min is not None:
                timed = sum(m for c, m in v.causes if c not in REASONS)
                assert timed == pytest.approx(v.measured_min, abs=0.01), v
                assert dict(v.causes).get("unexplained", 0.0) < 0.01, v
    assert n > 0


def test_met_verdicts_carry_no_causes():
    _, vs, _ = judged(tiny())
    assert all(v.causes == () for v in vs if v.status != MISSED)


def test_explain_in_both_languages_names_the_wait_by_role():
    sc = tiny(timing={"written_report_minutes": 60})
    data = explain_run(sc, 1, 0)
    (inc,) = data["incidents"]
    rules = {m["rule"]: m for m in inc["missed"]}
    ec = rules["emergency_contact_III_plus"]
    assert {c["cause"]: c["minutes"] for c in ec["causes"]} == {
        "waiting_busy": 56.0,
        "step_work": 2.0,
    }
    assert sum(s["minutes"] for s in ec["path"]) == pytest.approx(ec["measured_min"])
    zh, en = explain_text(data, sc, "zh"), explain_text(data, sc, "en")
    assert "关键路径" in zh and "等待忙碌人员" in zh and "紧急联系人" in zh and "书面首报" in zh
    assert "Critical path" in en and "waiting for a busy person" in en
    assert "busy with i1 · Written first report" in en
    # people by role, never by id, name or number
    assert "p_chief_examiner" not in zh + en


def test_explain_an_incident_that_broke_no_clock_shows_its_first_report_path():
    data = explain_run(tiny(), 1, 0)
    (inc,) = data["incidents"]
    assert inc["missed"] == []
    path = inc["first_report_path"]["path"]
    assert sum(s["minutes"] for s in path) == pytest.approx(
        inc["first_report_path"]["measured_min"]
    )


def test_explain_unknown_incident_is_an_error():
    with pytest.raises(KeyError, match="no incident 'nope'"):
        explain_run(tiny(), 1, 0, incident="nope")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_cli_explain_text_json_and_bad_incident():
    season = "scenarios/season_2027.yaml"
    zh = _cli("explain", season, "--seed", "7", "--rep", "0", "--lang", "zh")
    en = _cli("explain", season, "--seed", "7", "--rep", "0", "--lang", "en")
    assert zh.returncode == 0 and en.returncode == 0, zh.stderr + en.stderr
    assert "原因分解" in zh.stdout and "Causes:" in en.stdout
    js = _cli("explain", season, "--seed", "7", "--rep", "0", "--json")
    data = json.loads(js.stdout)
    assert data["seed"] == 7 and data["incidents"]
    one = _cli("explain", season, "--seed", "7", "--rep", "0", "--incident", "s1", "--json")
    assert [i["incident"] for i in json.loads(one.stdout)["incidents"]] == ["s1"]
    bad = _cli("explain", season, "--seed", "7", "--rep", "0", "--incident", "nope")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "nope" in bad.stderr


def test_run_and_compare_json_give_causes_per_rule_and_variant():
    """``run --json`` and ``compare --json``: per rule (and variant), the share of misses each
    cause had a part in and its minutes per miss; the timed causes add up to the mean time of
    the misses that were done; identical whatever the number of workers."""
    season = "scenarios/season_2027.yaml"
    run = _cli("run", season, "--reps", "60", "--seed", "3", "--json")
    assert run.returncode == 0, run.stderr
    rows = {r["id"]: r for r in json.loads(run.stdout)["rules"]}
    informed = rows["department_informed_III_IV"]
    assert informed["applicable"] > informed["met"]
    causes = informed["causes"]
    assert set(causes) <= set(CAUSES) and "late_grading" in causes
    assert all(0 < c["share_of_misses"] <= 1 for c in causes.values())
    assert all(r["causes"] == {} for r in rows.values() if r["met"] == r["applicable"])
    args = ("compare", season, "--variant", "scenarios/variants/first_report_2h.yaml")
    args += ("--reps", "100", "--seed", "3", "--json")
    one, two = _cli(*args, "--workers", "1"), _cli(*args, "--workers", "2")
    assert one.returncode == 0, one.stderr
    assert one.stdout == two.stdout
    rules = json.loads(one.stdout)["rules"]
    tight = next(
        r for r in rules if r["variant"] == "first_report_2h" and r["rule"] == "first_report_3h"
    )
    base = next(r for r in rules if r["variant"] == "base" and r["rule"] == "first_report_3h")
    assert base["causes"] == {} and tight["met"] < tight["applicable"]
    # every late first report: written (the step's own time) and picked up by the bodies
    assert tight["causes"]["step_work"]["share_of_misses"] == 1.0
    assert tight["causes"]["step_work"]["minutes_per_miss"] > 60


def test_a_variant_that_changes_nothing_or_whose_lever_is_never_pulled_is_named():
    """Everyone on duty: answering off duty is a lever nobody pulls, and a spare person on call
    at the end of a chain is never needed. ``compare`` says so, in both languages."""
    from sim.compare import compare
    from sim.variants import variant_from_dict

    sc = tiny()
    off = variant_from_dict(
        {"name": "off", "roster": {"reachability": {"off_duty": {"answer_prob": 0.9}}}}, "off"
    )
    spare = variant_from_dict(
        {
            "name": "spare",
            "roster": {
                "add": [
                    {"id": "p_spare", "role": "team_exam_affairs", "name_en": "Spare",
                     "default_state": "on_call", "chain": "end"}
                ]
            },
        },
        "spare",
    )  # fmt: skip
    slow = variant_from_dict({"name": "slow", "timing": {"written_report_minutes": 60}}, "slow")
    comp = compare(sc, [off, spare, slow], 8, 1, workers=1)
    assert [c for c, _ in comp.warnings["off"]] == ["no_effect", "state_never_called"]
    assert [c for c, _ in comp.warnings["spare"]] == ["no_effect", "person_never_needed"]
    assert "slow" not in comp.warnings  # a lever that acts: no warning
    data = comp.as_json()
    off_zh = [w["zh"] for w in data["warnings"]["off"]]
    off_en = [w["en"] for w in data["warnings"]["off"]]
    assert "不在岗" in off_zh[1] and "no call reached anyone off duty" in off_en[1]
    assert any("spare" in line.lower() for line in comp.warning_lines("en"))


def test_size_says_which_step_blocks_a_target_no_staffing_reaches():
    """A 200-minute first report cannot meet a 3-hour clock however many people stand by: the
    sizing search finds no staffing and names the written report and its own time."""
    from sim.compare import Axis, size_grid

    sc = tiny(timing={"written_report_minutes": 200})
    axis = Axis("staff", "site_exam_staff", (0, 1, 2), default_state="on_duty")
    sz = size_grid(sc, [axis], {"first_report_3h": 0.9}, 4, 1, workers=1)
    assert sz.best is None
    (b,) = sz.blocked_by
    assert (b["rule"], b["step"], b["cause"]) == ("first_report_3h", "written_report", "step_work")
    assert b["step_share"] == 1.0 and b["cause_minutes"] >= 200
    en, zh = sz.blocked_lines(sc.plan, "en"), sz.blocked_lines(sc.plan, "zh")
    assert "Written first report" in en[0] and "the step's own time" in en[0]
    assert "书面首报" in zh[0] and "环节本身用时" in zh[0]
    assert sz.as_json()["blocked_by"] == sz.blocked_by


def test_explain_names_a_wrong_grade_in_words_and_a_rule_without_a_clock():
    sc = tiny(timing={"grading_wrong_prob": 1.0})
    seed = next(s for s in range(20) if judged(sc, s)[0].assigned_grade["i1"] == "IV")
    data = explain_run(sc, seed, 0)
    zh, en = explain_text(data, sc, "zh"), explain_text(data, sc, "en")
    assert "应定为预案级别 Ⅲ级" in zh and "此项无时限" in zh
    assert "the plan's grade is Grade III" in en and "(no clock)" in en
    assert "grade:III" not in zh + en and "— min" not in en


def test_an_answer_after_a_millionth_of_a_minute_does_not_hold_the_walk():
    """A span shorter than the walk's tolerance once kept the critical-path walk on one instant
    for ever (found by the property test: answer after 1e-6 min, everyone off duty)."""
    import signal

    from sim.experiment import run_once

    def stuck(*_: object) -> None:
        raise TimeoutError("explaining the misses did not return")

    s = tiny(
        incidents=[
            {"id": "i0", "at": 681, "site": "s1", "family": "online_info", "people": 20000,
             "scope": "wider", "phase": "after_publication", "spares_enough": False,
             "time_recoverable": False}
        ],
        answer_prob=1.0,
        answer_minutes=1e-6,
        state="off_duty",
    )  # fmt: skip
    old = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(30)
    try:
        run = run_once(s, 3664843848)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    missed = [v for v in run.verdicts if v.status == MISSED and v.incident and v.measured_min]
    assert missed
    for v in missed:
        assert sum(m for _, m in v.causes) == pytest.approx(v.measured_min, abs=1e-2), v
