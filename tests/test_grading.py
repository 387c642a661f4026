"""Grading at every threshold of the plan, boundaries included (以上/以下 include the number).

Each family's table meets the plan's words both ways: just below a threshold and at it, the field
that decides a grade set and unset (error_kind, site/local spares, time_recoverable, stage).
"""

import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sim.grading import IncidentError, check_incident, grade
from sim.plan import INCIDENT_FIELDS, PHASES, load_plan, parse_plan
from sim.scenario import Incident, load_scenario
from sim.yamlio import InputError

PLAN = load_plan()
ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def level(**facts):
    return grade(facts, PLAN).level


# -- answer sheets lost (答卷遗失): 发生…遗失 Ⅳ, 百人以上 Ⅲ, 千人以上 Ⅱ, 万人以上 Ⅰ ------------------


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
        (100_000_000, "I"),
    ],
)
def test_answer_sheet_loss_thresholds(people, expected):
    assert level(family="answer_sheet_loss", people=people) == expected


@pytest.mark.parametrize("phase", PHASES)
def test_answer_sheet_loss_names_no_stage(phase):
    assert level(family="answer_sheet_loss", people=150, phase=phase) == "III"


# -- score errors (评卷或统计分数错误), only 在考试成绩公布后 -----------------------------------------


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
        (10001, "I"),
    ],
)
def test_score_error_thresholds(people, expected):
    assert level(family="score_error", people=people, phase="after_publication") == expected


def test_score_error_exactly_1000_follows_setting():
    plan = PLAN.with_settings(score_error_exactly_1000_grade="III")
    assert grade({"family": "score_error", "people": 1000}, plan).level == "III"
    assert grade({"family": "score_error", "people": 999}, plan).level == "III"
    assert grade({"family": "score_error", "people": 1001}, plan).level == "II"


@pytest.mark.parametrize(("setting", "expected"), [("I", "I"), ("II", "II")])
def test_score_error_exactly_10000_follows_setting(setting, expected):
    plan = PLAN.with_settings(score_error_exactly_10000_grade=setting)
    g = grade({"family": "score_error", "people": 10000}, plan)
    assert g.level == expected
    assert g.settings["score_error_exactly_10000_grade"] == setting
    # only exactly 10,000 is in both bands
    assert grade({"family": "score_error", "people": 9999}, plan).level == "II"
    assert grade({"family": "score_error", "people": 10001}, plan).level == "I"


def test_score_error_exactly_10000_default_is_the_higher_grade():
    s = PLAN.settings["score_error_exactly_10000_grade"]
    assert (s.value, s.choices) == ("I", ("I", "II")) and s.reason
    assert level(family="score_error", people=10000) == "I"


def test_answer_sheet_loss_at_10000_needs_no_setting():
    g = grade({"family": "answer_sheet_loss", "people": 10000}, PLAN)
    assert g.level == "I" and "score_error_exactly_10000_grade" not in g.settings


def test_under_tens_setting_used_and_reported():
    g = grade(
        {"family": "score_error", "people": 5},
        PLAN.with_settings(score_error_under_tens_grade="III"),
    )
    assert g.level == "III"
    assert g.settings["score_error_under_tens_grade"] == "III"


# -- leaks (泄露、失密), in 命题、印刷、运送、交接、保管环节 ---------------------------------------------


@pytest.mark.parametrize(
    ("scope", "expected"), [("sites", "II"), ("local_area", "II"), ("wider", "I"), ("room", "II")]
)
def test_leak_tie_broken_by_named_setting(scope, expected):
    g = grade({"family": "leak", "scope": scope, "phase": "before_exam"}, PLAN)
    assert g.level == expected
    if expected == "I":
        assert g.settings["leak_grade_I_scopes"] == ["wider"]


def test_leak_tie_break_can_be_changed():
    plan = PLAN.with_settings(leak_grade_I_scopes=["local_area", "wider"])
    assert grade({"family": "leak", "scope": "local_area"}, plan).level == "I"


# -- group cheating (集体舞弊), 在考试过程中 ----------------------------------------------------------


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
    assert level(family="group_cheating", scope=scope, phase="during_exam") == expected


# -- disaster (自然灾害 / 考点楼宇安全事件): 考试过程中 Ⅳ/Ⅲ, 考试开始前 Ⅱ -------------------------------


@pytest.mark.parametrize(
    ("scope", "phase", "expected"),
    [
        ("room", "during_exam", "IV"),
        ("room", "before_exam", "IV"),
        ("site", "during_exam", "III"),
        ("sites", "during_exam", "III"),
        ("local_area", "before_exam", "II"),
        ("local_area", "during_exam", "II"),
        ("wider", "before_exam", "II"),
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


# -- wrong distribution (试卷分发错误) and wrong packing (错装) -------------------------------------

D = {"family": "distribution_error", "phase": "during_exam"}


def dist(kind=None, **facts):
    out = {**D, **facts}
    if kind:
        out["error_kind"] = kind
    return out


@pytest.mark.parametrize(
    ("facts", "expected", "why"),
    [
        # Ⅳ 部分考场试卷分发错误，无法弥补…时间损失
        (dist("distribution", scope="room", site_spares_enough=True, time_recoverable=False), "IV", "text"),
        (dist("distribution", scope="rooms", site_spares_enough=True, time_recoverable=False), "IV", "text"),
        # … whose time IS made up: not graded by the text, setting distribution_recoverable_grade
        (dist("distribution", scope="rooms", site_spares_enough=True, time_recoverable=True), "IV", "setting"),
        # Ⅲ 若干考点试卷分发错误 (whatever the spares and the time)
        (dist("distribution", scope="sites", site_spares_enough=True, time_recoverable=True), "III", "text"),
        (dist("distribution", scope="local_area", site_spares_enough=True, time_recoverable=True), "III", "text"),
        # Ⅲ 启用考点备用试卷不足以应对问题
        (dist("distribution", scope="room", site_spares_enough=False, time_recoverable=True), "III", "text"),
        # Ⅲ 或无法弥补…时间损失: a whole site (setting distribution_time_loss_III_scopes), not rooms
        (dist("distribution", scope="site", site_spares_enough=True, time_recoverable=False), "III", "text"),
        (dist("distribution", scope="site", site_spares_enough=True, time_recoverable=True), "IV", "setting"),
        # a distribution error is never Ⅱ/Ⅰ, even with no local spares: those need 错装
        (dist("distribution", scope="local_area", site_spares_enough=False, local_spares_enough=False, time_recoverable=False), "III", "text"),
        (dist("distribution", scope="wider", site_spares_enough=False, local_spares_enough=False, time_recoverable=False), "III", "text"),
        # Ⅱ 出现试卷错装错误，当地备用试卷已不足以应对问题
        (dist("packing", scope="room", site_spares_enough=False, local_spares_enough=False, time_recoverable=True), "II", "text"),
        (dist("packing", scope="sites", site_spares_enough=False, local_spares_enough=False, time_recoverable=False), "II", "text"),
        # Ⅰ 局部范围内试卷错装错误…备用试卷已无法满足实际需要
        (dist("packing", scope="local_area", site_spares_enough=False, local_spares_enough=False, time_recoverable=False, phase="before_exam"), "I", "text"),
        (dist("packing", scope="wider", site_spares_enough=False, local_spares_enough=False, time_recoverable=False), "I", "text"),
        # packing whose local spares suffice: graded by the error it leaves in the rooms
        (dist("packing", scope="local_area", site_spares_enough=False, local_spares_enough=True, time_recoverable=True), "III", "text"),
        (dist("packing", scope="room", site_spares_enough=True, local_spares_enough=True, time_recoverable=False), "IV", "text"),
        (dist("packing", scope="room", site_spares_enough=True, local_spares_enough=True, time_recoverable=True), "IV", "setting"),
    ],
)  # fmt: skip
def test_distribution_error(facts, expected, why):
    g = grade(facts, PLAN)
    assert g.level == expected
    assert ("distribution_recoverable_grade" in g.settings) == (why == "setting")


def test_distribution_error_kind_decides_II_and_I():
    same = {"scope": "local_area", "site_spares_enough": False, "local_spares_enough": False}
    same["time_recoverable"] = False
    assert grade(dist("distribution", **same), PLAN).level == "III"
    assert grade(dist("packing", **same), PLAN).level == "I"
    assert grade(dist("packing", **{**same, "scope": "sites"}), PLAN).level == "II"


def test_site_and_local_spares_told_apart():
    base = dist("packing", scope="sites", time_recoverable=True)
    table = {
        (True, True): "III",  # 若干考点试卷分发错误
        (False, True): "III",  # 启用考点备用试卷不足
        (False, False): "II",  # 当地备用试卷已不足
    }
    for (site, local), expected in table.items():
        facts = {**base, "site_spares_enough": site, "local_spares_enough": local}
        assert grade(facts, PLAN).level == expected, (site, local)
    room = dist("packing", scope="room", time_recoverable=True, local_spares_enough=True)
    assert grade({**room, "site_spares_enough": True}, PLAN).level == "IV"
    assert grade({**room, "site_spares_enough": False}, PLAN).level == "III"


def test_time_recoverable_decides_where_the_text_uses_it():
    for scope, lost, made_up in (("rooms", "IV", "IV"), ("site", "III", "IV")):
        base = dist("distribution", scope=scope, site_spares_enough=True)
        g_lost = grade({**base, "time_recoverable": False}, PLAN)
        g_made_up = grade({**base, "time_recoverable": True}, PLAN)
        assert (g_lost.level, g_made_up.level) == (lost, made_up), scope
        assert "无法弥补" in g_lost.basis_zh
        assert g_made_up.settings["distribution_recoverable_grade"] == "IV"
    # several sites: Ⅲ whether or not the time is made up
    for recoverable in (True, False):
        facts = dist(scope="sites", site_spares_enough=True, time_recoverable=recoverable)
        assert grade(facts, PLAN).level == "III"


def test_distribution_recoverable_grade_setting():
    facts = dist("distribution", scope="room", site_spares_enough=True, time_recoverable=True)
    s = PLAN.settings["distribution_recoverable_grade"]
    assert s.value == "IV" and s.choices == ("I", "II", "III", "IV") and s.reason
    assert grade(facts, PLAN.with_settings(distribution_recoverable_grade="III")).level == "III"
    with pytest.raises(InputError):
        PLAN.with_settings(distribution_recoverable_grade="none")


def test_time_loss_III_scopes_setting():
    plan = PLAN.with_settings(distribution_time_loss_III_scopes=["sites", "local_area", "wider"])
    facts = dist("distribution", scope="site", site_spares_enough=True, time_recoverable=False)
    assert grade(facts, PLAN).level == "III"
    assert grade(facts, plan).level == "IV"


def test_packing_grade_I_phases_setting():
    facts = dist(
        "packing",
        scope="local_area",
        site_spares_enough=False,
        local_spares_enough=False,
        time_recoverable=False,
    )
    assert grade(facts, PLAN).level == "I"  # during_exam: no less severe (default)
    plan = PLAN.with_settings(packing_grade_I_phases=["before_exam"])  # the text's words only
    assert grade(facts, plan).level == "II"
    assert grade({**facts, "phase": "before_exam"}, plan).level == "I"


def test_error_kind_default_and_its_setting():
    facts = dist(scope="local_area", site_spares_enough=False, time_recoverable=False)
    g = grade({**facts, "local_spares_enough": False}, PLAN)
    assert (g.level, g.settings["error_kind_default"]) == ("III", "distribution")
    assert "error_kind_default" not in grade(dist("distribution", **facts), PLAN).settings
    packing = PLAN.with_settings(error_kind_default="packing")
    with pytest.raises(IncidentError, match="local_spares_enough: required"):
        grade(facts, packing)
    assert grade({**facts, "local_spares_enough": False}, packing).level == "I"


def test_packing_needs_local_spares_and_stage():
    facts = {
        "family": "distribution_error",
        "error_kind": "packing",
        "scope": "sites",
        "site_spares_enough": False,
        "time_recoverable": True,
    }
    problems = check_incident(facts, PLAN)
    assert any(p.startswith("local_spares_enough: required") for p in problems)
    assert any(p.startswith("phase: required") for p in problems)
    # a distribution error needs neither
    assert check_incident({**facts, "error_kind": "distribution"}, PLAN) == []


def test_distribution_bases_quote_the_text():
    bases = {r.basis_zh for r in PLAN.grading["distribution_error"].rules}
    for words in (
        "部分考场试卷分发错误，无法弥补由于错发试卷所造成的考试时间损失",
        "若干考点试卷分发错误",
        "启用考点备用试卷不足以应对问题，或无法弥补由于错发试卷所造成的考试时间损失",
        "出现试卷错装错误，当地备用试卷已不足以应对问题",
        "局部范围内试卷错装错误，备用试卷已无法满足实际需要",
    ):
        assert any(words in b for b in bases), words
    for fam in PLAN.grading.values():
        assert all(r.basis_zh and r.basis_en for r in fam.rules), fam.id


# -- the stage an incident happened in (phase) ----------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "allowed"),
    [
        ({"family": "score_error", "people": 50, "phase": "during_exam"}, "after_publication"),
        ({"family": "score_error", "people": 50, "phase": "marking"}, "after_publication"),
        ({"family": "leak", "scope": "sites", "phase": "during_exam"}, "before_exam"),
        ({"family": "leak", "scope": "sites", "phase": "after_publication"}, "before_exam"),
        ({"family": "group_cheating", "scope": "room", "phase": "before_exam"}, "during_exam"),
        ({"family": "disaster", "scope": "site", "phase": "marking"}, "before_exam or during_exam"),
        (
            dist("distribution", scope="room", site_spares_enough=True, time_recoverable=False)
            | {"phase": "before_exam"},
            "during_exam",
        ),
        (
            dist(scope="room", site_spares_enough=True, time_recoverable=False)
            | {"phase": "after_publication"},
            "during_exam",
        ),
    ],
)
def test_phase_contradicting_the_family_is_an_error(facts, allowed):
    problems = check_incident(facts, PLAN)
    assert len(problems) == 1 and problems[0].startswith("phase: ")
    assert facts["phase"] in problems[0] and allowed in problems[0]
    assert "phase_mismatch" in problems[0]  # says how to grade it anyway
    with pytest.raises(IncidentError, match="contradicts"):
        grade(facts, PLAN)


@pytest.mark.parametrize(
    "facts",
    [
        {"family": "score_error", "people": 50, "phase": "after_publication"},
        {"family": "leak", "scope": "sites", "phase": "before_exam"},
        {"family": "group_cheating", "scope": "room", "phase": "during_exam"},
        {"family": "online_info", "scope": "site", "phase": "marking"},
        dist(
            "packing",
            scope="room",
            site_spares_enough=False,
            local_spares_enough=False,
            time_recoverable=True,
            phase="before_exam",
        ),
    ],
)
def test_phase_fitting_the_family_is_graded(facts):
    assert check_incident(facts, PLAN) == []


def test_phase_mismatch_grade_anyway():
    s = PLAN.settings["phase_mismatch"]
    assert (s.value, s.choices) == ("error", ("error", "grade_anyway")) and s.reason
    plan = PLAN.with_settings(phase_mismatch="grade_anyway")
    g = grade({"family": "score_error", "people": 120, "phase": "during_exam"}, plan)
    assert (g.level, g.settings["phase_mismatch"]) == ("III", "grade_anyway")
    g = grade({"family": "disaster", "scope": "local_area", "phase": "marking"}, plan)
    assert g.level == "III"
    # a fitting stage does not name the setting
    g = grade({"family": "score_error", "people": 120, "phase": "after_publication"}, plan)
    assert "phase_mismatch" not in g.settings


def test_shipped_scenarios_and_drill_generator_fit_their_families():
    for path in [*sorted(SCENARIOS.glob("drill_*.yaml")), SCENARIOS / "season_2027.yaml"]:
        s = load_scenario(path)
        for inc in s.incidents:
            assert check_incident(inc.facts(), PLAN) == [], (path.name, inc.id)
        for fr in s.rates:
            assert fr.phase in PLAN.grading[fr.family].allowed_phases("distribution")[0]
    from sim.drill import _FAMILY_FACTS  # the drill generator's stages

    for family, spec in _FAMILY_FACTS.items():
        allowed, _ = PLAN.grading[family].allowed_phases("distribution")
        assert set(spec["phase"]) <= set(allowed), family


def _scenario_dir(tmp_path, name, edit):
    for f in ("plan.yaml", "roster_default.yaml"):
        shutil.copy(SCENARIOS / f, tmp_path / f)
    text = (SCENARIOS / name).read_text(encoding="utf-8")
    new = edit(text)
    assert new != text
    path = tmp_path / name
    path.write_text(new, encoding="utf-8")
    return path


def test_scenario_file_phase_mismatch_is_file_line_field(tmp_path):
    path = _scenario_dir(
        tmp_path,
        "drill_score_error.yaml",
        lambda t: t.replace("phase: after_publication", "phase: during_exam"),
    )
    with pytest.raises(InputError) as err:
        load_scenario(path)
    (p,) = err.value.problems
    line = path.read_text(encoding="utf-8").splitlines().index("    phase: during_exam") + 1
    assert (p.line, p.field) == (line, "incidents[0].phase")
    assert str(p).startswith(f"{path}:{line}: incidents[0].phase: during_exam contradicts")


def test_scenario_stochastic_phase_checked_and_defaulted(tmp_path):
    bad = _scenario_dir(
        tmp_path,
        "season_2027.yaml",
        lambda t: t.replace("stochastic:\n", "stochastic:\n  score_error: {rate: 0.01, phase: during_exam}\n"),
    )  # fmt: skip
    with pytest.raises(InputError) as err:
        load_scenario(bad)
    assert [p.field for p in err.value.problems] == ["stochastic.score_error.phase"]
    ok = _scenario_dir(
        tmp_path,
        "season_2027.yaml",
        lambda t: t.replace("stochastic:\n", "stochastic:\n  score_error: {rate: 0.01}\n"),
    )
    s = load_scenario(ok)
    assert {fr.family: fr.phase for fr in s.rates}["score_error"] == "after_publication"


def test_scenario_file_with_huge_or_deep_people_is_one_problem(tmp_path):
    for value in ("9" * 5000, "[" * 3000 + "]" * 3000):
        path = _scenario_dir(
            tmp_path,
            "drill_score_error.yaml",
            lambda t, v=value: t.replace("people: ", f"people: {v} #", 1),
        )
        with pytest.raises(InputError) as err:
            load_scenario(path)
        (p,) = err.value.problems
        assert p.field == "(yaml)" and len(str(p)) < 200


# -- spares_enough, the old name of site_spares_enough ---------------------------------------------


def test_spares_enough_alias_reads_as_site_spares():
    old = dist(scope="room", spares_enough=False, time_recoverable=True)
    new = dist(scope="room", site_spares_enough=False, time_recoverable=True)
    assert grade(old, PLAN) == grade(new, PLAN)
    assert grade(old, PLAN).level == "III"
    assert check_incident({**new, "spares_enough": False}, PLAN) == []  # both, agreeing
    (problem,) = check_incident({**new, "spares_enough": True}, PLAN)
    assert problem.startswith("spares_enough: the old name of site_spares_enough")


def test_incident_accepts_the_old_name():
    import dataclasses

    inc = Incident("i", 0.0, "s", "distribution_error", scope="room", spares_enough=False)
    assert inc.site_spares_enough is False and inc.spares_enough is False
    assert "spares_enough" not in inc.facts() and inc.facts()["site_spares_enough"] is False
    moved = dataclasses.replace(inc, id="j")
    assert moved.site_spares_enough is False and moved == dataclasses.replace(inc, id="j")
    assert set(inc.facts()) <= {"family", *INCIDENT_FIELDS}
    with pytest.raises(ValueError):
        Incident("i", 0.0, "s", "distribution_error", site_spares_enough=True, spares_enough=False)


def test_old_scenario_file_with_spares_enough_still_loads(tmp_path):
    path = _scenario_dir(
        tmp_path,
        "drill_distribution_error.yaml",
        lambda t: t.replace("    error_kind: distribution\n", "").replace(
            "site_spares_enough: false", "spares_enough: false"
        ),
    )
    (inc,) = load_scenario(path).incidents
    assert inc.site_spares_enough is False and inc.error_kind is None
    assert grade(inc.facts(), PLAN).level == "III"
    clash = _scenario_dir(
        tmp_path,
        "drill_distribution_error.yaml",
        lambda t: t.replace(
            "site_spares_enough: false", "site_spares_enough: false\n    spares_enough: true"
        ),
    )
    with pytest.raises(InputError) as err:
        load_scenario(clash)
    assert [p.field for p in err.value.problems] == ["incidents[0].spares_enough"]


def test_old_plan_copy_testing_spares_enough_still_grades():
    raw = copy.deepcopy(dict(PLAN.raw))
    fam = raw["grading"]["distribution_error"]
    fam["uses"] = ["scope", "spares_enough", "time_recoverable"]
    for rule in fam["rules"]:
        for cond in rule.get("any_of", [rule.get("when", {})]):
            if "site_spares_enough" in cond:
                cond["spares_enough"] = cond.pop("site_spares_enough")
    for name in ("phase_mismatch", "error_kind_default"):  # an older copy lacks them
        del raw["settings"][name]
    plan = parse_plan(raw, "old_copy.yaml")
    assert plan.grading["distribution_error"].uses == (
        "scope",
        "site_spares_enough",
        "time_recoverable",
    )
    facts = dist(scope="room", spares_enough=False, time_recoverable=True)
    assert grade(facts, plan).level == "III"
    assert plan.setting("phase_mismatch") == "error"
    assert plan.setting("error_kind_default") == "distribution"


def test_a_people_range_with_min_null_reads_as_no_minimum():
    """``people: {min: null, max: …}`` crashed the plan's checker with a TypeError; like
    ``max: null`` it now means no bound."""
    raw = copy.deepcopy(dict(PLAN.raw))
    rules = raw["grading"]["answer_sheet_loss"]["rules"]
    rules[1]["when"] = {"people": {"min": None, "max": 500}}
    rules[2]["when"] = {"people": {"min": None}}
    plan = parse_plan(raw, "copy.yaml")
    got = plan.grading["answer_sheet_loss"].rules
    assert got[1].conditions == ({"people": (0, 500)},)
    assert got[2].conditions == ({"people": (0, None)},)


def test_plan_checks_stages_and_kinds():
    raw = copy.deepcopy(dict(PLAN.raw))
    raw["grading"]["leak"]["phases"] = []
    raw["grading"]["score_error"]["phases"] = ["at_lunch"]
    raw["grading"]["distribution_error"]["kinds"]["misprint"] = {}
    with pytest.raises(InputError) as err:
        parse_plan(raw, "copy.yaml")
    fields = {p.field for p in err.value.problems}
    assert {
        "grading.leak.phases",
        "grading.score_error.phases[0]",
        "grading.distribution_error.kinds.misprint",
    } <= fields


# -- settings and bad input -----------------------------------------------------------------------


def test_grading_settings_documented_at_the_end():
    names = list(PLAN.raw["settings"])
    new = [
        "error_kind_default",
        "phase_mismatch",
        "distribution_recoverable_grade",
        "distribution_time_loss_III_scopes",
        "packing_grade_I_phases",
        "score_error_exactly_10000_grade",
    ]
    assert names[-len(new) :] == new
    for name in new:
        s = PLAN.settings[name]
        assert s.reason and s.choices, name
        assert "\n" not in s.reason


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
        {"family": "answer_sheet_loss", "people": True},
        {"family": "answer_sheet_loss", "people": 12.0},
        {"family": "answer_sheet_loss", "people": float("inf")},
        {"family": "answer_sheet_loss", "people": float("nan")},
        {"family": "answer_sheet_loss", "people": 100_000_001},
        {"family": "answer_sheet_loss", "people": 5, "colour": "red"},
        {"family": "volcano", "people": 5},
        {"family": "group_cheating", "scope": "planet"},
        dist(scope="room", spares_enough="yes", time_recoverable=True),
        dist(scope="room", site_spares_enough=True, local_spares_enough=1, time_recoverable=True),
        dist("misprint", scope="room", site_spares_enough=True, time_recoverable=True),
    ],
)
def test_bad_incidents_rejected(facts):
    with pytest.raises(IncidentError):
        grade(facts, PLAN)


def test_huge_or_deep_values_give_short_messages():
    (msg,) = check_incident({"family": "score_error", "people": 10**5000}, PLAN)
    assert msg.startswith("people: ") and len(msg) < 120 and "100,000,000" in msg
    deep: list = []
    for _ in range(900):
        deep = [deep]
    (msg,) = check_incident({"family": "leak", "scope": deep}, PLAN)
    assert msg.startswith("scope: ") and len(msg) < 200


# -- the command line -----------------------------------------------------------------------------


def run_cli(*args):
    script = Path(sys.executable).with_name("drillsim")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "sim"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_cli_grade_prints_json():
    out = run_cli("grade", '{"family": "answer_sheet_loss", "people": 120}')
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["level"] == "III" and data["label_zh"] == "较大" and data["label_en"] == "Larger"
    assert data["basis"] and "settings" in data


def test_cli_grade_old_spares_name_and_packing():
    out = run_cli(
        "grade",
        json.dumps(
            dist(
                "packing",
                scope="sites",
                spares_enough=False,
                local_spares_enough=False,
                time_recoverable=True,
            )
        ),
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["level"] == "II" and "当地备用试卷" in data["basis"]


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


@pytest.mark.parametrize(
    "arg",
    [
        '{"family": "score_error", "people": ' + "9" * 5000 + "}",
        '{"family": "score_error", "people": -' + "9" * 5000 + "}",
        "[" * 1000 + "]" * 1000,
        '{"family": "leak", "scope": ' + "[" * 1000 + "]" * 1000 + "}",
        '{"family": "leak", "scope": ' + "[" * 900 + "]" * 900 + "}",
        '{"family": "score_error", "people": 1e400}',
        '{"family": "score_error", "people": NaN}',
        '{"family": "score_error", "people": -Infinity}',
        '{"family": "score_error", "people": -5}',
        '{"family": "score_error", "people": true}',
        '{"family": "score_error", "people": 100000001}',
        '{"family": "score_error", "people": 50, "phase": "during_exam"}',
    ],
    ids=lambda a: a if len(a) < 70 else f"{a[:30]}...({len(a)} chars)",
)
def test_cli_grade_huge_deep_or_odd_input_one_line_exit_2(arg):
    out = run_cli("grade", arg)
    assert out.returncode == 2, out.stdout
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("drillsim: incident: ") and len(lines[0]) < 300
    ), lines
    assert out.stdout == ""


def test_cli_grade_named_reasons_for_huge_and_deep_input():
    assert "5000 digits" in run_cli("grade", '{"people": ' + "9" * 5000 + "}").stderr
    assert "nested too deeply" in run_cli("grade", "[" * 1000 + "]" * 1000).stderr
    out = run_cli("grade", '{"family": "score_error", "people": 50, "phase": "during_exam"}')
    assert "phase: during_exam contradicts score_error" in out.stderr
