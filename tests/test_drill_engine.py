"""The drill engine behaviour the console relies on (sim/drill.py), checked without Streamlit."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sim.drill import (
    Drill,
    DrillError,
    auto_reference,
    generate_incidents,
    scenario_from_text,
    snapshot_text,
    standing,
    verdict_dict,
    with_incidents,
)
from sim.plan import FAMILIES, GRADES
from sim.rules import MET, MISSED, STATUSES, UNFINISHED
from sim.session import RULE_STEPS, Scorecard, site_rotation


def with_plan(scenario, plan):
    import dataclasses

    return dataclasses.replace(scenario, plan=plan)


ROOT = Path(__file__).resolve().parent.parent
SHEETS = ROOT / "scenarios" / "drill_answer_sheet_loss.yaml"
TEXT = snapshot_text(SHEETS)
SCENARIO = scenario_from_text(TEXT)
INC = "sheets_lost"


def started(seed: int) -> Drill:
    """A drill of the lost-answer-sheets script with its inject on the table."""
    d = Drill(SCENARIO, seed)
    d.apply({"kind": "advance", "to": d.next_inject_at()})
    return d


def told(seed: int) -> Drill:
    """As :func:`started`, with the site's verbal report to the working group made (the office
    acts only on what it has been told)."""
    d = started(seed)
    d.apply({"kind": "report", "incident": INC, "body": "working_group", "channel": "verbal"})
    return d


def test_the_office_acts_only_once_it_has_been_told():
    d = started(3)
    with pytest.raises(DrillError, match="not been told"):
        d.apply({"kind": "call", "incident": INC, "person": "leader"})
    with pytest.raises(DrillError, match="happens by itself"):
        d.apply({"kind": "step", "incident": INC, "step": "dept_report_up"})
    with pytest.raises(DrillError, match="at least one addressee"):
        d.apply({"kind": "step", "incident": INC, "step": "verbal_report", "to": []})
    assert "dept_report_up" not in d.steps_for(INC)


def find_seed(pred: Callable[[int], bool], limit: int = 400) -> int:
    for seed in range(limit):
        if pred(seed):
            return seed
    raise AssertionError("no seed satisfies the condition")


PLAY = [
    {"kind": "control", "incident": INC},
    {"kind": "grade", "incident": INC, "level": "III"},
    {"kind": "report", "incident": INC, "body": "working_group", "channel": "verbal"},
    {"kind": "report", "incident": INC, "body": "local_government", "channel": "verbal"},
    {"kind": "call", "incident": INC, "person": "leader"},
    {"kind": "call", "incident": INC, "person": "office_director", "role": "emergency_contact"},
    {"kind": "call", "incident": INC, "person": "team_exam_1"},
    {"kind": "note", "incident": INC, "text": "bags searched"},
    {
        "kind": "report",
        "incident": INC,
        "body": "working_group",
        "channel": "written",
        "content": ["time", "place", "scale"],
    },
    {"kind": "advance", "to": 1200.0},
]


def play(seed: int) -> Drill:
    d = started(seed)
    for dec in PLAY:
        d.apply(dec)
    return d


def test_snapshot_is_self_contained_and_parses_like_the_file():
    assert "roster_default.yaml" not in TEXT and "plan.yaml" not in TEXT
    assert [i.id for i in SCENARIO.incidents] == [INC]
    assert {s.id for s in SCENARIO.sites} == {"site_a", "site_b", "site_c"}


def test_the_clock_starts_before_the_first_inject_and_injects_appear_on_time():
    d = Drill(SCENARIO, 1)
    nxt = d.next_inject_at()
    assert d.now < nxt and d.injects() == []
    d.apply({"kind": "advance", "to": nxt - 1})
    assert d.injects() == []
    d.apply({"kind": "advance", "to": nxt})
    (inj,) = d.injects()
    assert inj["id"] == INC and inj["discovered_at"] == nxt and d.next_inject_at() is None
    assert inj["facts"]["people"] == 130 and inj["text_zh"] and inj["text_en"]


def test_replay_of_the_same_decisions_and_seed_is_identical():
    d = play(11)
    again = Drill.replay(SCENARIO, 11, d.decisions)
    assert again.now == d.now
    assert again.records == d.records
    assert again.verdicts() == d.verdicts()
    assert again.scorecard() == d.scorecard()
    assert [o.result for o in again.outcomes] == [o.result for o in d.outcomes]
    # from the stored text, as the app does after a restart
    assert Drill.replay(scenario_from_text(TEXT), 11, d.decisions).records == d.records


def test_each_action_costs_simulated_time():
    d = started(2)
    t0 = d.now
    out = d.apply({"kind": "grade", "incident": INC, "level": "III"})
    assert out.start == t0 and out.end == d.now > t0
    note = d.apply({"kind": "note", "incident": INC, "text": "x"})
    assert note.end == note.start  # a note is free


def test_refused_decisions_leave_the_drill_unchanged():
    d = started(4)
    n_rec, n_dec, now = len(d.records), len(d.decisions), d.now
    bad = [
        {"kind": "advance", "to": now - 1},
        {"kind": "grade", "incident": INC, "level": "V"},
        {"kind": "grade", "incident": "nope", "level": "I"},
        {"kind": "report", "incident": INC, "body": "mars", "channel": "verbal"},
        {"kind": "call", "incident": INC, "person": "nobody"},
        {"kind": "close", "incident": INC},
        {"kind": "report", "incident": INC, "body": "working_group", "person": "leader"},
        {"kind": "explode"},
    ]
    for dec in bad:
        with pytest.raises(DrillError):
            d.apply(dec)
    assert (len(d.records), len(d.decisions), d.now) == (n_rec, n_dec, now)


def test_an_incident_cannot_be_acted_on_before_its_inject():
    d = Drill(SCENARIO, 3)
    with pytest.raises(DrillError, match="not been discovered"):
        d.apply({"kind": "control", "incident": INC})


def test_an_unanswered_call_then_the_backup():
    """The model decides whether someone answers; the team must then try the next in the chain."""
    chain = SCENARIO.roster.chain("leader")
    assert chain[0] == "leader" and len(chain) > 1

    def leader_silent(seed: int) -> bool:
        d = told(seed)
        if not d.office_told(INC):  # the desk may not pick up the site's report either
            return False
        return d.apply({"kind": "call", "incident": INC, "person": "leader"}).result != "answered"

    seed = find_seed(leader_silent)
    d = told(seed)
    first = d.apply({"kind": "call", "incident": INC, "person": "leader"})
    assert first.result in ("unanswered", "busy") and first.end > first.start  # ringing costs time
    calls = [r for r in d.records if r.action == "call"]
    assert calls[-1].target == "leader" and calls[-1].outcome == first.result
    answered = None
    for pid in chain[1:]:
        answered = d.apply({"kind": "call", "incident": INC, "person": pid})
        if answered.result == "answered":
            break
    assert answered is not None and answered.result == "answered"
    assert [r.outcome for r in d.records if r.action == "call"][-1] == "answered"
    assert any(r.action == "office_informs" and r.target == "deputy_leader" for r in d.records)


def test_missing_first_report_content_is_scored():
    d = started(5)
    d.apply({"kind": "report", "incident": INC, "body": "working_group", "channel": "verbal"})
    out = d.apply(
        {
            "kind": "report",
            "incident": INC,
            "body": "working_group",
            "channel": "written",
            "content": ["time", "place", "bogus"],
        }
    )
    required = list(SCENARIO.plan.reporting.first_report_content)
    assert out.detail["missing_content"] == [c for c in required if c not in ("time", "place")]
    card = d.scorecard()
    assert card.report_content[INC]["given"] == ["time", "place"]
    assert card.report_content[INC]["missing"] == out.detail["missing_content"]


def test_complete_content_and_no_written_report():
    d = started(5)
    full = list(SCENARIO.plan.reporting.first_report_content)
    out = d.apply(
        {
            "kind": "report",
            "incident": INC,
            "body": "working_group",
            "channel": "written",
            "content": full,
        }
    )
    assert out.detail["missing_content"] == []
    fresh = started(5)
    assert fresh.scorecard().report_content[INC] == {"given": [], "missing": full}


def test_close_is_refused_until_the_team_has_resolved_the_incident():
    d = told(6)
    with pytest.raises(DrillError, match="not resolved"):
        d.apply({"kind": "close", "incident": INC})
    with pytest.raises(DrillError, match="after the incident is closed"):
        d.apply(
            {
                "kind": "report",
                "incident": INC,
                "body": "working_group",
                "channel": "written",
                "type": "final",
            }
        )
    team = SCENARIO.roster.chain("team_exam_affairs")
    out = next(
        o
        for o in (d.apply({"kind": "call", "incident": INC, "person": p}) for p in team)
        if o.result == "answered"
    )
    assert out.result == "answered"
    assert any(r.action == "team_dispatched" for r in d.records)
    with pytest.raises(DrillError, match="not resolved"):
        d.apply({"kind": "close", "incident": INC})  # dispatched, still working
    d.apply({"kind": "advance", "to": d.now + 24 * 60})
    assert d.injects()[0]["resolved"]
    assert d.apply({"kind": "close", "incident": INC}).result == "closed"
    with pytest.raises(DrillError, match="closed"):
        d.apply({"kind": "grade", "incident": INC, "level": "III"})
    final = d.apply(
        {
            "kind": "report",
            "incident": INC,
            "body": "working_group",
            "channel": "written",
            "type": "final",
        }
    )
    assert final.result == "received"
    v = {x.rule: x for x in d.verdicts(final=True)}
    assert v["final_report"].status in (MET, MISSED) and v["final_report"].measured_min is not None


def test_scorecard_equals_the_engines_verdicts():
    d = play(7)
    card = d.scorecard()
    assert card.verdicts == [verdict_dict(v) for v in d.verdicts(final=True)]
    # a miss carries its causes; what the model does not time is the team's own
    missed = [v for v in card.verdicts if v["status"] == MISSED]
    assert missed and all(v["causes"] for v in missed)
    assert any(c == "team_time" for v in missed for c, _ in v["causes"])
    counts = {s: sum(v.status == s for v in d.verdicts(final=True)) for s in STATUSES}
    assert card.counts == counts
    (g,) = card.grading
    assert g == {**g, "incident": INC, "team": "III", "plan": "III", "agrees": True}
    assert card.ended_at == d.now
    # what the store keeps reads back as the same scorecard
    assert Scorecard.from_dict(json.loads(json.dumps(card.to_dict()))) == card


def test_deadline_board_counts_down_then_settles():
    d = started(8)
    row = next(r for r in d.deadline_board() if r["rule"] == "first_report_3h")
    assert row["status"] == "pending" and row["left_min"] == pytest.approx(180.0)
    d.apply({"kind": "advance", "to": d.now + 60})
    row = next(r for r in d.deadline_board() if r["rule"] == "first_report_3h")
    assert row["left_min"] == pytest.approx(120.0)
    d.apply({"kind": "advance", "to": d.now + 121})
    row = next(r for r in d.deadline_board() if r["rule"] == "first_report_3h")
    assert row["status"] == MISSED


def test_the_board_follows_the_plans_grade_as_a_floor():
    """Grading below the plan's grade excuses nothing; grading above it brings the duties of
    the grade given (setting grade_is_floor)."""
    d = started(9)
    rules = {r["rule"] for r in d.deadline_board()}
    assert "direct_report_I_II" not in rules and "emergency_contact_III_plus" in rules  # Ⅲ
    d.apply({"kind": "grade", "incident": INC, "level": "IV"})
    rules = {r["rule"] for r in d.deadline_board()}
    assert "emergency_contact_III_plus" in rules  # still a Ⅲ's duty
    d = started(9)
    d.apply({"kind": "grade", "incident": INC, "level": "I"})
    assert "direct_report_I_II" in {r["rule"] for r in d.deadline_board()}
    exact = Drill(with_plan(SCENARIO, SCENARIO.plan.with_settings(grade_is_floor=False)), 9)
    exact.apply({"kind": "advance", "to": exact.next_inject_at()})
    exact.apply({"kind": "grade", "incident": INC, "level": "I"})
    assert "direct_report_I_II" not in {r["rule"] for r in exact.deadline_board()}


def test_generated_incidents_are_random_but_reproducible():
    a = generate_incidents(SCENARIO, 1, 3)
    assert a == generate_incidents(SCENARIO, 1, 3)
    assert a != generate_incidents(SCENARIO, 2, 3)
    assert all(i.family in FAMILIES for i in a) and len({i.id for i in a}) == 3
    sc = with_incidents(SCENARIO, a)
    text = snapshot_text(SHEETS, a)
    again = scenario_from_text(text)
    assert [(i.id, i.at, i.family, i.people) for i in again.incidents] == [
        (i.id, i.at, i.family, i.people) for i in sc.incidents
    ]
    d = Drill(again, 1)
    seen = 0
    while d.next_inject_at() is not None:
        d.apply({"kind": "advance", "to": d.next_inject_at()})
        seen += 1
        assert len(d.injects()) == seen
    assert seen == 3


def test_automatic_reference_and_standing():
    ref = auto_reference(SCENARIO, 7)
    again = auto_reference(SCENARIO, 7)
    assert ref.verdicts == again.verdicts
    v = {x.rule: x for x in ref.verdicts}
    assert v["first_report_3h"].status == MET  # the plan-compliant policy meets the 3-hour clock
    st = standing(SCENARIO, 7, {"first_report_3h": 10_000.0, "verbal_before_written": 0.0}, reps=30)
    assert st["first_report_3h"]["share_better"] == 1.0 and st["first_report_3h"]["runs"] == 30
    assert st["verbal_before_written"]["share_better"] == 0.0


@pytest.mark.parametrize("level", GRADES)
def test_every_grade_is_accepted(level):
    d = started(10)
    assert d.apply({"kind": "grade", "incident": INC, "level": level}).detail["level"] == level
    assert d.injects()[0]["team_grade"] == level


def test_a_backup_reached_for_a_role_counts_for_that_role():
    """The emergency contact silent, the general contact (next in that chain) answers for it."""
    chain = SCENARIO.roster.chain("emergency_contact")
    assert chain[:2] == ("office_director", "general_contact")

    def silent_then_backup(seed: int) -> bool:
        d = started(seed)
        d.apply({"kind": "grade", "incident": INC, "level": "III"})
        first = d.apply(
            {"kind": "call", "incident": INC, "person": chain[0], "role": "emergency_contact"}
        )
        second = d.apply(
            {"kind": "call", "incident": INC, "person": chain[1], "role": "emergency_contact"}
        )
        return first.result != "answered" and second.result == "answered"

    d = started(find_seed(silent_then_backup))
    d.apply({"kind": "grade", "incident": INC, "level": "III"})
    d.apply({"kind": "call", "incident": INC, "person": chain[0], "role": "emergency_contact"})
    d.apply({"kind": "call", "incident": INC, "person": chain[1], "role": "emergency_contact"})
    verdict = next(v for v in d.verdicts() if v.rule == "emergency_contact_III_plus")
    assert verdict.status == MET


def test_a_call_outside_the_roles_chain_is_refused():
    d = started(1)
    with pytest.raises(DrillError):
        d.apply(
            {"kind": "call", "incident": INC, "person": "team_it_1", "role": "emergency_contact"}
        )
    assert d.decisions == [{"kind": "advance", "to": d.decisions[0]["to"]}]


def test_generated_incidents_are_numbered_in_time_order():
    incs = generate_incidents(SCENARIO, 7, 4)
    assert [i.id for i in incs] == ["g1", "g2", "g3", "g4"]
    assert [i.at for i in incs] == sorted(i.at for i in incs)


def test_clocks_still_to_come_read_pending_on_the_live_board_not_n_a():
    """Before the first report, the follow-up, investigation and final-report clocks are still
    to come in a running drill; judged at the end, the same clocks are missed or n/a."""
    d = started(5)
    board = {r["rule"]: r["status"] for r in d.deadline_board()}
    for rule in ("follow_up_reports", "follow_up_content", "investigation_responsibility"):
        assert board[rule] == "pending", rule
    final = {v.rule: v for v in d.verdicts(final=True)}
    # ended before the first report: the follow-up clock never started, so it is not missed
    assert final["follow_up_reports"].status == UNFINISHED
    assert final["investigation_responsibility"].note_code == "not_closed"


def test_ending_early_leaves_running_clocks_unfinished_not_missed():
    """Ended with the 3-hour clock running: unfinished, with the minutes it had left."""
    d = started(5)
    d.apply({"kind": "advance", "to": d.now + 30})
    final = {v.rule: v for v in d.verdicts(final=True)}
    v = final["first_report_3h"]
    assert v.status == UNFINISHED and v.note_code == "time_left"
    assert v.start_min is not None and v.note_params == {
        "left": round(v.start_min + v.allowed_min - d.now)
    }
    assert MISSED not in {x.status for x in final.values() if x.rule != "duty_24h_during_exam"}
    card = d.scorecard()
    assert card.counts[UNFINISHED] > 0 and card.counts[MISSED] <= 1


def test_a_clock_that_ran_out_stays_missed_at_the_end():
    d = started(5)
    d.apply({"kind": "advance", "to": d.now + 4 * 60})
    final = {v.rule: v for v in d.verdicts(final=True)}
    assert final["first_report_3h"].status == MISSED
    assert final["first_report_3h"].note_code == "not_done"


def test_the_automatic_reference_is_cut_at_the_end_of_the_drill():
    d = started(7)
    end = d.now + 20
    whole = auto_reference(SCENARIO, 7)
    cut = auto_reference(SCENARIO, 7, end=end)
    assert cut.records and all(a.time <= end + 1e-9 for a in cut.records)
    assert len(cut.records) < len(whole.records)
    by_rule = {v.rule: v.status for v in cut.verdicts}
    assert {v.rule: v.status for v in whole.verdicts}["first_report_3h"] == MET
    assert UNFINISHED in by_rule.values()
    assert by_rule["investigation_responsibility"] != MISSED


def test_the_team_view_board_never_shows_a_grade_only_rule_before_grading():
    """The projector's board is judged at the team's own grade: before grading only the rules
    every grade has; after, the rules of the grade the team gave — whatever the plan says."""
    plan = SCENARIO.plan
    everywhere = set(plan.grades)
    for_all = {r for r, spec in plan.rules.items() if set(spec.grades) >= everywhere}
    d = started(5)
    assert d.true_grade(INC) != "I"
    before = d.deadline_board(team_view=True)
    assert before and {r["rule"] for r in before} <= for_all
    assert {r["rule"] for r in d.deadline_board()} - for_all  # the trainer's board has more
    d.apply({"kind": "grade", "incident": INC, "level": "I"})
    after = {r["rule"] for r in d.deadline_board(team_view=True)}
    grade_i = {r for r, spec in plan.rules.items() if "I" in spec.grades}
    assert "duty_24h_I" in after and after <= grade_i | for_all
    final = {r["rule"]: r["status"] for r in d.deadline_board(team_view=True, final=True)}
    assert final["duty_24h_I"] in (UNFINISHED, MET)


def test_the_trainer_sends_an_inject_now_and_an_ad_hoc_one_and_replay_keeps_both():
    d = Drill(SCENARIO, 4)
    (up,) = d.upcoming()
    assert up["id"] == INC and up["at"] == d.next_inject_at() > d.now
    d.apply({"kind": "inject", "incident": INC})
    assert d.discovered[INC] == d.now < up["at"] and d.upcoming() == []
    with pytest.raises(DrillError):
        d.apply({"kind": "inject", "incident": INC})
    d.apply({"kind": "adhoc", "incident": INC, "text": "a parent calls"})
    d.apply({"kind": "advance", "to": up["at"] + 60})  # not discovered a second time
    assert [a.action for a in d.records].count("discovered") == 1
    again = Drill.replay(SCENARIO, 4, d.decisions)
    assert again.records == d.records and again.adhoc_injects()[0]["text"] == "a parent calls"


def test_every_rule_names_the_steps_its_evidence_comes_from():
    plan = SCENARIO.plan
    assert set(RULE_STEPS) == set(plan.rules)
    assert {s for steps in RULE_STEPS.values() for s in steps} <= set(plan.steps)


def test_one_site_rotation_rule():
    """Longest without a team drill first (never drilled first), ties in the caller's order;
    reference runs and later years do not count."""
    drills = [
        {"site": "a", "year": 2024},
        {"site": "b", "year": 2026},
        {"site": "c", "year": 2025, "kind": "auto"},
        {"site": "d", "year": 2030},
    ]
    sites = [(x, x, x) for x in "dcba"]
    rows = site_rotation(drills, sites, 2027)
    assert [r["site"] for r in rows] == ["d", "c", "a", "b"]
    assert [r["years_since"] for r in rows] == [None, None, 3, 1]
    with_ref = site_rotation(drills, sites, 2027, include_reference=True)
    assert [r["site"] for r in with_ref] == ["d", "a", "c", "b"]
