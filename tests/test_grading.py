"""Grading at every threshold of the plan, boundaries included (以上/以下 include the number)."""

import json
import subprocess
import sys

import pytest

from sim.grading import IncidentError, grade
from sim.plan import load_plan

PLAN = load_plan()


def level(**facts):
    return grade(facts, PLAN).level


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        (0, "IV"),
        (1, "IV"),
        (99, "IV"),
        (100, "III"),
        (999, "III"),
        (1000, "II"),
        (9999, "II"),
        (10000, "I"),
        (250000, "I"),
    ],
)
def test_answer_sheet_loss_thresholds(people, expected):
    assert level(family="answer_sheet_loss", people=people) == expected


@pytest.mark.parametrize(
    ("people", "expected"),
    [
        (1, "IV"),
        (9, "IV"),
        (10, "IV"),
        (99, "IV"),
        (100, "III"),
        (999, "III"),
        (1000, "II"),
        (1001, "II"),
        (9999, "II"),
        (10000, "I"),
    ],
)
def test_score_error_thresholds(people, expected):
    assert level(family="score_error", people=people) == expected


def test_score_error_exactly_1000_follows_setting():
    assert (
        grade(
            {"family": "score_error", "people": 1000},
            PLAN.with_settings(score_error_exactly_1000_grade="III"),
        ).level
        == "III"
    )
    assert (
        grade(
            {"family": "score_error", "people": 999},
            PLAN.with_settings(score_error_exactly_1000_grade="III"),
        ).level
        == "III"
    )


def test_under_tens_setting_used_and_reported():
    g = grade(
        {"family": "score_error", "people": 5},
        PLAN.with_settings(score_error_under_tens_grade="III"),
    )
    assert g.level == "III"
    assert g.settings["score_error_under_tens_grade"] == "III"


@pytest.mark.parametrize(
    ("scope", "expected"), [("sites", "II"), ("local_area", "II"), ("wider", "I"), ("room", "II")]
)
def test_leak_tie_broken_by_named_setting(scope, expected):
    g = grade({"family": "leak", "scope": scope}, PLAN)
    assert g.level == expected
    if expected == "I":
        assert g.settings["leak_grade_I_scopes"] == ["wider"]


def test_leak_tie_break_can_be_changed():
    plan = PLAN.with_settings(leak_grade_I_scopes=["local_area", "wider"])
    assert grade({"family": "leak", "scope": "local_area"}, plan).level == "I"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("room", "IV"),
        ("rooms", "IV"),
        ("site", "III"),
        ("sites", "III"),
        ("local_area", "II"),
        ("wider", "I"),
    ],
)
def test_group_cheating(scope, expected):
    assert level(family="group_cheating", scope=scope) == expected


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"scope": "room", "spares_enough": True, "time_recoverable": False}, "IV"),
        ({"scope": "site", "spares_enough": False, "time_recoverable": False}, "III"),
        ({"scope": "sites", "spares_enough": True, "time_recoverable": True}, "III"),
        ({"scope": "sites", "spares_enough": False, "time_recoverable": False}, "II"),
        ({"scope": "local_area", "spares_enough": False, "time_recoverable": False}, "I"),
        ({"scope": "local_area", "spares_enough": True, "time_recoverable": False}, "III"),
    ],
)
def test_distribution_error(facts, expected):
    assert level(family="distribution_error", **facts) == expected


@pytest.mark.parametrize(
    ("scope", "phase", "expected"),
    [
        ("room", "during_exam", "IV"),
        ("site", "during_exam", "III"),
        ("local_area", "before_exam", "II"),
        ("local_area", "during_exam", "II"),
        ("local_area", "marking", "III"),
    ],
)
def test_disaster(scope, phase, expected):
    assert level(family="disaster", scope=scope, phase=phase) == expected


def test_disaster_phase_setting():
    plan = PLAN.with_settings(disaster_local_area_phases=["before_exam"])
    assert (
        grade({"family": "disaster", "scope": "local_area", "phase": "during_exam"}, plan).level
        == "III"
    )


def test_online_info_graded_by_assumption():
    g = grade({"family": "online_info", "scope": "site"}, PLAN)
    assert (g.level, g.settings["online_info_grade"]) == ("III", "III")
    assert grade({"family": "online_info", "scope": "wider"}, PLAN).level == "II"
    assert (
        grade(
            {"family": "online_info", "scope": "site"}, PLAN.with_settings(online_info_grade="IV")
        ).level
        == "IV"
    )


def test_unused_fields_may_be_left_out():
    assert level(family="answer_sheet_loss", people=150) == "III"


@pytest.mark.parametrize(
    "facts",
    [
        {"family": "answer_sheet_loss"},
        {"family": "answer_sheet_loss", "people": -1},
        {"family": "answer_sheet_loss", "people": 5, "colour": "red"},
        {"family": "volcano", "people": 5},
        {"family": "group_cheating", "scope": "planet"},
        {
            "family": "distribution_error",
            "scope": "room",
            "spares_enough": "yes",
            "time_recoverable": True,
        },
    ],
)
def test_bad_incidents_rejected(facts):
    with pytest.raises(IncidentError):
        grade(facts, PLAN)


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_grade_prints_json():
    out = run_cli("grade", '{"family": "answer_sheet_loss", "people": 120}')
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["level"] == "III" and data["label_zh"] == "较大" and data["label_en"] == "Larger"
    assert data["basis"] and "settings" in data


@pytest.mark.parametrize(
    "arg",
    [
        '{"family": "answer_sheet_loss", "peeple": 1}',
        '{"family": "x"}',
        "not json",
        '{"family": "leak", "scope": 3}',
    ],
)
def test_cli_grade_bad_input_exit_2_without_traceback(arg):
    out = run_cli("grade", arg)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and out.stderr.strip()
