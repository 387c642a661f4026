"""``drillsim judge``: hand-written timelines judged rule by rule against the plan's text.

One table per rule (every id of ``sim.plan.RULE_IDS``): each row is an incident, a few timeline
entries and the status the plan's words give them. Times are minutes after discovery
(D0 12:00; the incident occurred at D0 11:45), so a row reads like the clock on the wall:
grading due at +60 (setting ``grading_due_minutes``), 立即 = 30 min, 及时 = 60 min, 首报 180 min.
Most rows go through the Python API on YAML written to ``tmp_path``; a handful through the
real CLI. The malformed-input tests check ``file:line: field: message`` and exit code 2.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.cli import main
from sim.judge import judge_timeline, parse_timeline, verdicts_json
from sim.plan import FOLLOW_UP_CONTENT, REPORT_CONTENT, RULE_IDS, load_plan
from sim.rules import Verdict
from sim.scenario import format_time, load_scenario
from sim.yamlio import InputError, load_text

ROOT = Path(__file__).resolve().parent.parent
PLAN = load_plan()
DISCOVERED = 12 * 60  # D0 12:00
INCIDENT_RULES = [r for r in RULE_IDS if r != "duty_24h_during_exam"]

# -- incidents: the plan's grade comes from the facts (`drillsim grade`) ----------------------
FACTS: dict[str, dict[str, Any]] = {
    "I": {"family": "answer_sheet_loss", "people": 20000},  # 万人以上
    "II": {"family": "answer_sheet_loss", "people": 1500},  # 千人以上
    "III": {"family": "answer_sheet_loss", "people": 130},  # 百人以上
    "IV": {"family": "answer_sheet_loss", "people": 50},  # 发生答卷遗失事件
    "online": {"family": "online_info", "scope": "site"},  # Ⅲ by setting online_info_grade
    "leak": {"family": "leak", "scope": "sites", "phase": "before_exam"},  # Ⅱ
    # `discovered` is optional in a timeline
    "II, no discovered": {"family": "answer_sheet_loss", "people": 1500, "discovered": None},
    "III, no discovered": {"family": "answer_sheet_loss", "people": 130, "discovered": None},
}

# -- entries ------------------------------------------------------------------------------------
FIRST = ("local_government", "higher_authority", "working_group")  # 首报's three addressees
DIRECT = ("regional_department", "working_group")
LEADERS = ("leader", "deputy_leader")
UP = ("regional_government", "ministry")
RELEASE = ("publicity_department", "public_security", "state_security", "communications_authority")


def e(minute: float, step: str, *to: str, **extra: Any) -> dict[str, Any]:
    """One timeline entry, ``minute`` minutes after discovery."""
    entry: dict[str, Any] = {"at": format_time(DISCOVERED + minute), "step": step}
    if to:
        entry["to"] = list(to)
    entry.update(extra)
    return entry


def graded(minute: float, level: str) -> dict[str, Any]:
    return e(minute, "graded", grade=level)


def verbal(minute: float, *to: str) -> dict[str, Any]:
    return e(minute, "verbal_report", *(to or FIRST))


def written(minute: float, *to: str, content: tuple[str, ...] = REPORT_CONTENT) -> dict[str, Any]:
    return e(minute, "written_report", *(to or FIRST), content=list(content))


def direct(minute: float, *to: str) -> dict[str, Any]:
    return e(minute, "direct_report", *(to or DIRECT))


def follow_up(minute: float, content: tuple[str, ...] = FOLLOW_UP_CONTENT) -> dict[str, Any]:
    return e(minute, "follow_up", *FIRST, content=list(content))


def timeline_yaml(incident: str | dict[str, Any], entries: list[dict[str, Any]]) -> str:
    facts = FACTS[incident] if isinstance(incident, str) else incident
    inc = {"id": "x1", "site": "site_a", "occurred": "D0 11:45", "discovered": "D0 12:00", **facts}
    inc = {k: v for k, v in inc.items() if v is not None}  # `discovered: None` leaves it out
    data = {"incidents": [inc], "timeline": [{"incident": "x1", **x} for x in entries]}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


# -- plan copies and scenarios --------------------------------------------------------------------
def plan_copy(directory: Path, **settings: Any) -> Path:
    """The shipped plan with some settings changed, written to ``directory``."""
    data = yaml.safe_load((ROOT / "scenarios" / "plan.yaml").read_text(encoding="utf-8"))
    for name, value in settings.items():
        data["settings"][name]["value"] = value
    path = directory / "plan.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def gap_scenario(directory: Path) -> Path:
    """season_2027 with the night duty officer leaving at 06:00, an hour before the day shift."""
    for name in ("season_2027.yaml", "plan.yaml"):
        shutil.copy(ROOT / "scenarios" / name, directory / name)
    roster = yaml.safe_load((ROOT / "scenarios" / "roster_default.yaml").read_text("utf-8"))
    people = roster["roster"]["people"]
    night = next(p for p in people if p["id"] == "duty_night")
    night["duty"] = [{"days": "all", "from": "19:00", "to": "06:00", "state": "on_duty"}]
    (directory / "roster_default.yaml").write_text(
        yaml.safe_dump(roster, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return directory / "season_2027.yaml"


@pytest.fixture(scope="module")
def plans(tmp_path_factory):
    cache: dict[tuple, Any] = {(): PLAN}

    def get(settings: dict[str, Any] | None):
        key = tuple(sorted((settings or {}).items(), key=lambda kv: kv[0]))
        key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in key)
        if key not in cache:
            cache[key] = load_plan(plan_copy(tmp_path_factory.mktemp("plan"), **(settings or {})))
        return cache[key]

    return get


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    return {
        None: None,
        "shipped": load_scenario(ROOT / "scenarios" / "season_2027.yaml"),
        "gap": load_scenario(gap_scenario(tmp_path_factory.mktemp("gap"))),
    }


def judge(tmp_path: Path, incident, entries, plan=PLAN, scenario=None) -> dict[str, Verdict]:
    """Verdicts of incident x1 by rule (the run-level duty rule under its own id)."""
    path = tmp_path / "timeline.yaml"
    path.write_text(timeline_yaml(incident, entries), encoding="utf-8")
    _, vs = judge_timeline(path, plan, scenario)
    # the one incident's 20 rules in the plan's order, then the run-level duty rule
    assert [v.rule for v in vs] == [*INCIDENT_RULES, "duty_24h_during_exam"]
    assert all(v.incident == "x1" for v in vs if v.rule != "duty_24h_during_exam")
    for v in vs:
        assert v.status in ("met", "missed", "n/a")
        assert v.clause_zh and v.clause_zh == plan.rules[v.rule].clause_zh
    return {v.rule: v for v in vs}


def row(
    name,
    incident,
    entries,
    status,
    *,
    missing=None,
    note=None,
    measured=None,
    plan=None,
    scenario=None,
    bug=None,
):
    """One row of a rule's table; ``bug``: the plan's answer, which the engine gets wrong today."""
    marks = [pytest.mark.xfail(strict=True, reason=f"engine bug: {bug}")] if bug else []
    values = (incident, entries, status, missing, note, measured, plan, scenario)
    return pytest.param(*values, id=name, marks=marks)


# fmt: off
# ===================================================================================================
# One table per rule: entries → status (and missing / note / measured minutes where they matter)
# ===================================================================================================
TABLES: dict[str, list] = {}

# 首报不得超过3小时 — the written report to all three addressees, from discovery.
TABLES["first_report_3h"] = [
    row("within 3h", "III", [verbal(10), written(170)], "met", missing=[], measured=170),
    row("at exactly 3h", "IV", [written(180)], "met", measured=180),
    row("after 3h", "III", [verbal(10), written(181)], "missed", measured=181),
    row("one addressee late", "III", [written(60, "local_government", "higher_authority"), written(200, "working_group")], "missed", measured=200),
    row("two of three", "III", [written(60, "local_government", "higher_authority")], "missed", missing=["working_group"]),
    row("two of three, setting any", "III", [written(60, "local_government", "higher_authority")], "met", plan={"first_report_addressees": "any"}),
    row("verbal only is no first report", "III", [verbal(10)], "missed", note="not done"),
    row("clock from occurrence (setting)", "III", [written(170)], "missed", measured=185, plan={"first_report_clock_starts": "occurrence"}),
    row("grade I all the same", "I", [graded(10, "I"), written(100)], "met"),
]

# 首报信息应包括…时间、地点、规模、涉及人员和单位、设备受损和人员受伤情况、…威胁程度…发展趋势
TABLES["first_report_content"] = [
    row("all seven items", "III", [written(100)], "met", missing=[]),
    row("scale and threat left out, listed in the plan's order", "III", [written(100, content=("trend", "time", "place", "people_units", "damage_injuries"))], "missed", missing=["scale", "threat"]),
    row("one addressee's copy lacks an item", "III", [written(100, "local_government", "higher_authority"), written(100, "working_group", content=REPORT_CONTENT[:-1])], "missed", missing=["trend"]),
    row("nothing", "III", [written(100, content=())], "missed", missing=list(REPORT_CONTENT)),
    row("no written report", "III", [verbal(10)], "missed", note="no written report"),
    row("nothing, without discovered", "III, no discovered", [written(100, content=())], "missed", missing=list(REPORT_CONTENT)),
]

# 先口头、后书面
TABLES["verbal_before_written"] = [
    row("verbal then written", "III", [verbal(10), written(100)], "met", missing=[]),
    row("verbal and written the same minute", "III", [verbal(30), written(30)], "met"),
    row("written only", "III", [written(100)], "missed", missing=sorted(FIRST)),
    row("verbal after written", "III", [written(100), verbal(120)], "missed", missing=sorted(FIRST)),
    row("office not called first", "III", [verbal(10, "local_government", "higher_authority"), written(100)], "missed", missing=["working_group"]),
    row("the direct report is a verbal report", "II", [graded(5, "II"), verbal(10, "local_government", "higher_authority"), direct(20), written(100)], "met"),
    row("no written report yet", "III", [verbal(10)], "missed", note="no written report"),
]

# 研究确定事件性质、类型和级别 — never below the plan's grade (setting grade_is_floor)
TABLES["grade_determined"] = [
    row("the plan's grade", "III", [graded(20, "III")], "met", missing=[], note="graded III, plan III"),
    row("above the plan's grade is no error", "III", [graded(20, "II")], "met", note="graded II, plan III"),
    row("below the plan's grade", "III", [graded(20, "IV")], "missed", missing=["grade:III"], note="graded IV, plan III"),
    row("Ⅱ graded Ⅲ", "II", [graded(20, "III")], "missed", missing=["grade:II"]),
    row("grading has no clock of its own", "III", [graded(240, "III")], "met", measured=240),
    row("never graded", "III", [verbal(10)], "missed", note="not graded"),
    row("online info at its setting grade", "online", [graded(20, "III")], "met"),
]

# 发生Ⅰ、Ⅱ级事件，应直接报自治区教育厅及教育招生考试安全工作组 (立即 from grading, or when due)
TABLES["direct_report_I_II"] = [
    row("Ⅱ, 20 min after grading", "II", [graded(20, "II"), direct(40)], "met", measured=20),
    row("Ⅱ, 35 min after grading", "II", [graded(20, "II"), direct(55)], "missed", measured=35),
    row("Ⅱ graded 4h late, reported 5 min after grading", "II", [graded(240, "II"), direct(245)], "missed", measured=185),
    row("Ⅱ graded late but reported in time", "II", [direct(50), graded(240, "II")], "met", measured=0),
    row("Ⅱ, department only", "II", [graded(20, "II"), direct(30, "regional_department")], "missed", missing=["working_group"]),
    row("Ⅱ, office already had the verbal report", "II", [verbal(10), graded(20, "II"), direct(30, "regional_department")], "met", measured=10),
    row("Ⅱ graded Ⅲ still owes it", "II", [graded(20, "III")], "missed", missing=list(DIRECT)),
    row("Ⅲ graded Ⅱ brings it", "III", [graded(20, "II")], "missed", missing=list(DIRECT)),
    row("Ⅲ graded Ⅱ, reported", "III", [graded(20, "II"), direct(30)], "met"),
    row("Ⅰ", "I", [graded(10, "I"), direct(30)], "met", measured=20),
    row("Ⅲ", "III", [graded(20, "III"), direct(30)], "n/a", note="grade"),
    row("Ⅳ", "IV", [graded(20, "IV")], "n/a", note="grade"),
    row("Ⅱ without discovered: late grading still cannot hide it", "II, no discovered", [graded(240, "II"), direct(245)], "missed"),
    row("Ⅱ without discovered, never graded nor reported", "II, no discovered", [verbal(10)], "missed"),
]

# 自治区教育厅立即报告自治区党委、政府和教育部 (from the department's receipt)
TABLES["dept_reports_up_immediately"] = [
    row("within 30 min of receipt", "II", [graded(20, "II"), direct(30), e(50, "dept_report_up", *UP, by="regional_department")], "met", measured=20),
    row("40 min after receipt", "II", [graded(20, "II"), direct(30), e(70, "dept_report_up", *UP)], "missed", measured=40),
    row("ministry only", "II", [graded(20, "II"), direct(30), e(40, "dept_report_up", "ministry")], "missed"),
    row("department never reached", "II", [graded(20, "II")], "n/a", note="department not reached"),
    row("Ⅲ", "III", [graded(20, "III"), e(50, "department_informed", "regional_department")], "n/a", note="grade"),
]

# 接报…后，立即报…组长、副组长 (from the office's first receipt of any report)
TABLES["office_informs_leaders"] = [
    row("15 min after the verbal report", "III", [verbal(10), e(25, "office_informs", *LEADERS)], "met", measured=15),
    row("40 min after", "III", [verbal(10), e(50, "office_informs", *LEADERS)], "missed", measured=40),
    row("leader only", "III", [verbal(10), e(20, "office_informs", "leader")], "missed"),
    row("receipt by the written report", "IV", [written(100), e(120, "office_informs", *LEADERS)], "met", measured=20),
    row("office never received a report", "III", [e(20, "office_informs", *LEADERS)], "missed", note="office never received a report"),
    row("leader via a deputy counts", "III", [verbal(10), e(20, "office_informs", "leader", backup=True), e(20, "office_informs", "deputy_leader")], "met"),
    row("leader via a deputy, setting does_not_count", "III", [verbal(10), e(20, "office_informs", "leader", backup=True), e(20, "office_informs", "deputy_leader")], "missed", plan={"leader_informed_via_deputy": "does_not_count"}),
    row("leader himself later, does_not_count", "III", [verbal(10), e(20, "office_informs", "leader", backup=True), e(20, "office_informs", "deputy_leader"), e(35, "office_informs", "leader")], "met", measured=25, plan={"leader_informed_via_deputy": "does_not_count"}),
]

# …并报送自治区应急办等部门
TABLES["office_informs_emergency_office"] = [
    row("with the leaders", "III", [verbal(10), e(25, "office_informs", *LEADERS, "regional_emergency_office")], "met", measured=15),
    row("late", "III", [verbal(10), e(45, "office_informs", "regional_emergency_office")], "missed", measured=35),
    row("leaders only", "III", [verbal(10), e(25, "office_informs", *LEADERS)], "missed"),
    row("office never received a report", "IV", [], "missed", note="office never received a report"),
]

# 办公室负责将事件及处置情况及时报自治区党委，政府和教育部 (Ⅱ; 及时 = 60 min from receipt)
TABLES["office_reports_up_II"] = [
    # a Ⅱ-only duty: the clock starts once the office has the report and the grade is known
    row("40 min after grading", "II", [verbal(10), graded(20, "II"), e(60, "office_reports_up", *UP)], "met", measured=40),
    row("70 min after grading", "II", [verbal(10), graded(20, "II"), e(90, "office_reports_up", *UP)], "missed", measured=70),
    row("ministry only", "II", [verbal(10), graded(20, "II"), e(30, "office_reports_up", "ministry")], "missed"),
    row("Ⅲ graded Ⅱ brings it", "III", [verbal(10), graded(20, "II")], "missed"),
    row("Ⅲ", "III", [verbal(10), graded(20, "III")], "n/a", note="grade"),
    row("Ⅰ", "I", [verbal(10), graded(20, "I")], "n/a", note="grade"),
]

# 及时将有关情况报自治区教育厅 (Ⅲ/Ⅳ; any report reaching the department counts)
TABLES["department_informed_III_IV"] = [
    # a Ⅲ/Ⅳ-only duty: the clock starts once the office has the report and the grade is known
    row("Ⅲ, 40 min after grading", "III", [verbal(10), graded(20, "III"), e(60, "department_informed", "regional_department")], "met", measured=40),
    row("Ⅲ, 70 min after grading", "III", [verbal(10), graded(20, "III"), e(90, "department_informed", "regional_department")], "missed", measured=70),
    row("never graded: from when grading was due", "III", [verbal(10), e(130, "department_informed", "regional_department")], "missed", measured=70),
    row("Ⅳ", "IV", [verbal(10), e(30, "department_informed", "regional_department")], "met"),
    row("the site's direct report counts", "III", [verbal(10), graded(20, "III"), direct(30, "regional_department")], "met", measured=10),
    row("never", "IV", [verbal(10)], "missed", note="regional_department", missing=["regional_department"]),
    row("Ⅱ", "II", [verbal(10), graded(20, "II")], "n/a", note="grade"),
    row("Ⅲ graded Ⅱ: the Ⅱ duties instead", "III", [verbal(10), graded(20, "II")], "n/a", note="grade"),
]

# 紧急联系人用于发生Ⅲ级及以上情况下的直接沟通 (立即)
TABLES["emergency_contact_III_plus"] = [
    row("Ⅲ, 25 min after grading", "III", [graded(20, "III"), e(45, "emergency_contact", "emergency_contact")], "met", measured=25),
    row("Ⅲ, 35 min after grading", "III", [graded(20, "III"), e(55, "emergency_contact", "emergency_contact")], "missed", measured=35),
    row("Ⅲ graded late, called at once", "III", [graded(200, "III"), e(205, "emergency_contact", "emergency_contact")], "missed", measured=145),
    row("Ⅲ never graded, called within 30 min of the grading's due time", "III", [e(80, "emergency_contact", "emergency_contact")], "met", measured=20),
    row("Ⅳ graded Ⅲ brings it", "IV", [graded(20, "III")], "missed"),
    row("Ⅱ", "II", [graded(10, "II"), e(20, "emergency_contact", "emergency_contact")], "met"),
    row("Ⅳ", "IV", [graded(20, "IV")], "n/a", note="grade"),
]

# 启动Ⅱ级响应，相关单位指挥机构进入应急状态 (Ⅰ/Ⅱ, 立即)
TABLES["emergency_state_I_II"] = [
    row("Ⅱ, 20 min after grading", "II", [graded(20, "II"), e(40, "emergency_state")], "met", measured=20),
    row("Ⅱ, 40 min after grading", "II", [graded(20, "II"), e(60, "emergency_state")], "missed", measured=40),
    row("Ⅰ, never", "I", [graded(20, "I")], "missed", note="not done"),
    row("Ⅲ", "III", [graded(20, "III"), e(40, "emergency_state")], "n/a", note="grade"),
]

# 迅速选择并启动专项预案。如果没有专项预案，则立即采取措施控制事件扩散
TABLES["special_plan_or_containment"] = [
    row("contained 25 min after grading", "III", [graded(20, "III"), e(45, "contain")], "met", measured=25),
    row("contained 40 min after grading", "III", [graded(20, "III"), e(60, "contain")], "missed", measured=40),
    row("a special plan the college does not have", "III", [graded(20, "III"), e(30, "special_plan")], "missed", note="special_plan instead of contain"),
    row("a special plan listed (setting)", "III", [graded(20, "III"), e(30, "special_plan")], "met", plan={"special_plan_families": ["answer_sheet_loss"]}),
    row("contained although a special plan is listed", "III", [graded(20, "III"), e(30, "contain")], "missed", note="contain instead of special_plan", plan={"special_plan_families": ["answer_sheet_loss"]}),
    row("Ⅳ too", "IV", [graded(20, "IV"), e(30, "contain")], "met"),
]

# 及时向自治区党委宣传部通报信息，并与自治区公安厅、国家安全厅、通信管理局等部门沟通情况
TABLES["information_release"] = [
    row("online info, all four within 60 min", "online", [graded(20, "III"), e(70, "info_release", *RELEASE)], "met", measured=50),
    row("online info, 70 min", "online", [graded(20, "III"), e(90, "info_release", *RELEASE)], "missed", measured=70),
    row("online info, two of four", "online", [graded(20, "III"), e(30, "info_release", "publicity_department", "public_security")], "missed", missing=["state_security", "communications_authority"]),
    row("online info, none", "online", [graded(20, "III")], "missed", note="not done"),
    row("leak", "leak", [graded(20, "II"), e(40, "info_release", *RELEASE)], "met"),
    row("answer sheets: not a release family", "III", [graded(20, "III")], "n/a", note="family"),
]

# 考试期间…24小时专人值班 (run level: the scenario's duty desk over the whole exam calendar)
TABLES["duty_24h_during_exam"] = [
    row("shipped duty desk", "III", [graded(20, "III")], "met", missing=[], measured=0, scenario="shipped"),
    row("night officer leaves at 06:00", "III", [graded(20, "III")], "missed", missing=["duty_desk"], measured=180, scenario="gap"),
    row("no scenario", "III", [graded(20, "III")], "n/a", note="needs a roster (--scenario)"),
]

# Ⅰ: 指挥机构进入应急状态，24小时值班 (declared 立即; with a scenario, the desk is staffed till closed)
CLOSE_NEXT_MORNING = e(20 * 60, "closed")  # D1 08:00: the night of D0→D1 lies inside the incident
TABLES["duty_24h_I"] = [
    row("declared 20 min after grading", "I", [graded(10, "I"), e(30, "duty_24h")], "met", measured=20, note="roster not checked (no scenario)"),
    row("declared 40 min after grading", "I", [graded(10, "I"), e(50, "duty_24h")], "missed", measured=40),
    row("never declared", "I", [graded(10, "I")], "missed"),
    row("shipped desk through the night", "I", [graded(10, "I"), e(30, "duty_24h"), CLOSE_NEXT_MORNING], "met", scenario="shipped"),
    row("desk gap 06:00-07:00 inside the incident", "I", [graded(10, "I"), e(30, "duty_24h"), CLOSE_NEXT_MORNING], "missed", missing=["duty_desk"], note="duty desk uncovered 60 min", scenario="gap"),
    row("desk gap after the incident closed", "I", [graded(10, "I"), e(30, "duty_24h"), e(60, "closed")], "met", scenario="gap"),
    row("Ⅱ", "II", [graded(10, "II"), e(30, "duty_24h")], "n/a", note="grade"),
]

# Ⅰ: 由副组长带队赴事发地进行现场处置 (arrival, as an entry without `to`; 6 h, setting)
TABLES["deputy_leader_on_site_I"] = [
    row("on site after 5 h", "I", [graded(10, "I"), e(310, "deputy_to_site")], "met", measured=300),
    row("on site after 7 h", "I", [graded(10, "I"), e(430, "deputy_to_site")], "missed", measured=420),
    row("never", "I", [graded(10, "I")], "missed"),
    row("Ⅱ", "II", [graded(10, "II"), e(60, "deputy_to_site")], "n/a", note="grade"),
    row("on site after 5 h, written with to: [deputy_leader] as the procedure lists it", "I", [graded(10, "I"), e(310, "deputy_to_site", "deputy_leader")], "met"),
]

# 在事件处理过程中在跟踪、续报 (at most 2 h apart from the first report until resolved, setting)
TABLES["follow_up_reports"] = [
    row("every 100 min", "III", [written(100), follow_up(200), follow_up(300), e(400, "resolved")], "met", measured=100),
    row("none for 3 h", "III", [written(100), e(280, "resolved")], "missed", measured=180),
    row("resolved soon after the first report", "IV", [written(100), e(150, "resolved")], "met", measured=50),
    row("no first report", "III", [verbal(10), e(100, "resolved")], "missed", note="no first report"),
]

# 续报信息应包括事件起因分析…采取的措施…各方面的反应…处理过程结果
TABLES["follow_up_content"] = [
    row("all four items", "III", [written(100), follow_up(200)], "met", missing=[]),
    row("spread over two follow-ups", "III", [written(100), follow_up(200, FOLLOW_UP_CONTENT[:2]), follow_up(300, FOLLOW_UP_CONTENT[2:])], "met"),
    row("reactions left out", "III", [written(100), follow_up(200, ("progress_result", "cause_nature_impact", "measures_taken"))], "missed", missing=["reactions"]),
    row("no follow-up sent", "III", [written(100)], "n/a", note="no follow-up sent"),
]

# 对事件的起因、性质、影响、责任等开展调查…追究相关单位和个人的责任 (1 day after closing, setting)
TABLES["investigation_responsibility"] = [
    row("next day", "III", [e(240, "closed"), e(1200, "investigation")], "met", measured=960),
    row("two days later", "III", [e(240, "closed"), e(240 + 2000, "investigation")], "missed", measured=2000),
    row("never", "III", [e(240, "closed")], "missed", note="not done"),
    row("not closed", "III", [e(300, "investigation")], "n/a", note="not closed"),
]

# 在事件处理完后报送事件的评估结果与处理总结
TABLES["final_report"] = [
    row("next day", "III", [e(240, "closed"), e(1200, "final_report", *FIRST)], "met", measured=960),
    row("two days later", "III", [e(240, "closed"), e(240 + 2000, "final_report", *FIRST)], "missed", measured=2000),
    row("never", "IV", [e(240, "closed")], "missed"),
    row("not closed", "III", [e(300, "final_report", *FIRST)], "n/a", note="not closed"),
]
# fmt: on

CASES = [
    pytest.param(rule, *p.values, id=f"{rule}-{p.id}", marks=p.marks)
    for rule, rows in TABLES.items()
    for p in rows
]


def test_every_rule_has_a_table_with_met_and_missed():
    assert set(TABLES) == set(RULE_IDS)
    for rule, rows in TABLES.items():
        statuses = {p.values[2] for p in rows if not p.marks}  # xfail rows prove nothing
        assert {"met", "missed"} <= statuses, rule
        # a rule for some grades only, some families only, or that needs a roster: n/a shown
        if set(PLAN.rules[rule].grades) != set(PLAN.grades) or rule in (
            "information_release",
            "duty_24h_during_exam",
        ):
            assert "n/a" in statuses, rule


@pytest.mark.parametrize(
    "rule, incident, entries, status, missing, note, measured, settings, scenario", CASES
)
def test_rule_table(
    rule,
    incident,
    entries,
    status,
    missing,
    note,
    measured,
    settings,
    scenario,
    tmp_path,
    plans,
    scenarios,
):
    plan = plans(settings)
    scen = scenarios[scenario]
    if scen is not None:
        plan = scen.plan
    v = judge(tmp_path, incident, entries, plan, scen)[rule]
    assert v.status == status, v
    if missing is not None:
        assert list(v.missing) == missing, v
    if note is not None:
        assert v.note == note, v
    if measured is not None:
        assert v.measured_min == pytest.approx(measured), v


# -- whole timelines ------------------------------------------------------------------------------
def full_grade_II() -> list[dict[str, Any]]:
    """A Ⅱ incident handled by the book."""
    return [
        e(5, "control"),
        e(10, "confirm"),
        verbal(12),
        graded(20, "II"),
        e(20, "office_informs", *LEADERS, "regional_emergency_office"),
        direct(30),
        e(35, "dept_report_up", *UP, by="regional_department"),
        e(40, "emergency_contact", "emergency_contact"),
        e(45, "emergency_state"),
        e(45, "contain"),
        e(60, "office_reports_up", *UP),
        e(70, "team_dispatched", "team_exam_affairs"),
        written(120),
        follow_up(220),
        e(300, "resolved"),
        e(310, "closed"),
        e(1000, "evaluation"),
        e(1100, "investigation"),
        e(1200, "final_report", *FIRST),
    ]


def test_a_timeline_by_the_book_meets_every_rule_that_applies(tmp_path):
    vs = judge(tmp_path, "II", full_grade_II())
    missed = {r: v for r, v in vs.items() if v.status == "missed"}
    assert not missed
    na = {r for r, v in vs.items() if v.status == "n/a"}
    assert na == {
        "department_informed_III_IV",  # Ⅲ/Ⅳ
        "information_release",  # not a release family
        "duty_24h_during_exam",  # no scenario
        "duty_24h_I",  # Ⅰ
        "deputy_leader_on_site_I",  # Ⅰ
    }


def test_grading_late_cannot_hide_a_late_direct_report(tmp_path):
    """Ⅱ graded 4 h after discovery, direct report 5 min after grading: the clock ran from +60."""
    vs = judge(tmp_path, "II", [graded(240, "II"), direct(245)])
    v = vs["direct_report_I_II"]
    assert (v.status, v.start_min, v.measured_min) == ("missed", DISCOVERED + 60, 185)
    # the same with the clock at the team's own grading (setting) would have hidden it
    plan = load_plan(plan_copy(tmp_path, immediately_clock_starts="graded"))
    v = judge(tmp_path, "II", [graded(240, "II"), direct(245)], plan)["direct_report_I_II"]
    assert (v.status, v.measured_min) == ("met", 5)


def test_grading_above_the_plan_brings_its_duties_below_is_an_error(tmp_path):
    above = judge(tmp_path, "III", [graded(20, "II")])
    assert above["grade_determined"].status == "met"
    for rule in ("direct_report_I_II", "emergency_state_I_II", "office_reports_up_II"):
        assert above[rule].status == "missed", rule  # they apply and were not done
    assert above["department_informed_III_IV"].status == "n/a"
    below = judge(tmp_path, "III", [graded(20, "IV")])
    assert below["grade_determined"].status == "missed"
    assert below["emergency_contact_III_plus"].status == "missed"  # still owed at Ⅲ
    assert below["direct_report_I_II"].status == "n/a"


def test_parse_timeline_builds_the_records_the_rules_read(tmp_path):
    text = timeline_yaml(
        "III",
        [
            graded(20, "IV"),
            verbal(30, "working_group"),
            e(40, "office_informs", "leader", backup=True),
            e(50, "contain"),
        ],
    )
    tl = parse_timeline(load_text(text, "t.yaml"), "t.yaml", PLAN)
    assert tl.true_grades == {"x1": "III"}
    got = [(a.time - DISCOVERED, a.action, a.target, a.outcome) for a in tl.records]
    assert got == [
        (-15, "occurred", "site_a", ""),
        (0, "discovered", "site_a", ""),
        (20, "graded", "x1", "IV"),  # the team's grade; the plan's is in the detail
        (30, "verbal_report", "working_group", "received"),
        (40, "office_informs", "leader", "informed_backup"),
        (50, "contain", "", "done"),
    ]
    assert tl.records[2].detail == "III"


def test_two_incidents_are_judged_apart(tmp_path):
    text = timeline_yaml("III", [graded(20, "III")])
    data = yaml.safe_load(text)
    data["incidents"].append({**data["incidents"][0], "id": "x2", **FACTS["II"]})
    data["timeline"].append({"incident": "x2", **graded(20, "II")})
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    _, vs = judge_timeline(path, PLAN)
    assert len(vs) == 2 * (len(RULE_IDS) - 1) + 1
    by = {(v.incident, v.rule): v.status for v in vs}
    assert by[("x1", "direct_report_I_II")] == "n/a"
    assert by[("x2", "direct_report_I_II")] == "missed"
    assert by[("", "duty_24h_during_exam")] == "n/a"


# -- the real CLI ---------------------------------------------------------------------------------
def cli(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sim", "judge", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_json_shape_and_first_report_missing(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(
        timeline_yaml(
            "III", [graded(20, "III"), written(60, "local_government", "higher_authority")]
        ),
        encoding="utf-8",
    )
    out = cli(path, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert list(data) == ["verdicts"]
    vs = data["verdicts"]
    assert [v["rule"] for v in vs] == [*INCIDENT_RULES, "duty_24h_during_exam"]
    keys = [
        "incident",
        "rule",
        "status",
        "measured_min",
        "allowed_min",
        "clause_zh",
        "missing",
        "note",
        "note_code",
        "note_params",
    ]
    for v in vs:
        assert sorted(v) == sorted(keys)
        assert v["status"] in ("met", "missed", "n/a")
        assert v["clause_zh"]
        assert v["incident"] == ("" if v["rule"] == "duty_24h_during_exam" else "x1")
    by = {v["rule"]: v for v in vs}
    assert by["first_report_3h"]["status"] == "missed"
    assert by["first_report_3h"]["missing"] == ["working_group"]
    assert by["first_report_3h"]["allowed_min"] == 180
    assert by["duty_24h_during_exam"]["status"] == "n/a"
    # the same file with setting first_report_addressees: any (a plan copy) is met
    plan = plan_copy(tmp_path, first_report_addressees="any")
    out = cli(path, "--json", "--plan", plan)
    assert out.returncode == 0, out.stderr
    by = {v["rule"]: v for v in json.loads(out.stdout)["verdicts"]}
    assert (by["first_report_3h"]["status"], by["first_report_3h"]["missing"]) == ("met", [])
    # the API and the CLI agree
    _, api = judge_timeline(path, load_plan(plan))
    assert verdicts_json(api)["verdicts"] == list(by.values())


def test_cli_text_output_of_the_shipped_example():
    """The terminal shows verdicts as the pages and the PDF do: rule, status and note in words
    (zh by default, --lang en), unfinished counted apart; --json keeps the codes."""
    plan = load_plan()
    example = "scenarios/timelines/example_answer_sheet_loss.yaml"
    out = cli(example)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"{example}：1 个事件，25 条记录"
    assert "事件1（答卷遗失） · Ⅲ级 较大" in lines
    rules = {ln.split("：")[0][4:]: ln[2] for ln in lines if ln.startswith("  ")}
    assert list(rules) == [
        plan.rules[r].label_zh for r in [*INCIDENT_RULES, "duty_24h_during_exam"]
    ]
    assert rules[plan.rules["first_report_3h"].label_zh] == "✓"
    assert rules[plan.rules["direct_report_I_II"].label_zh] == "–"
    assert "  ✓ 首报不得超过3小时：达标 · 125分钟 / 180分钟" in lines
    assert lines[-3:] == [
        "  – 考试期间24小时专人值班：不适用 · — / 0分钟 · 需要值班名册",
        "",
        "达标 12 项，未达标 1 项，未到期（演练已结束）0 项，不适用 8 项。",
    ]
    en = cli(example, "--lang", "en").stdout.splitlines()
    assert en[0] == f"{example}: 1 incidents, 25 records"
    assert "  ✓ First report within 3 hours (all addressees): met · 125 min / 180 min" in en
    assert en[-1].startswith("12 met, 1 missed, 0 unfinished")
    data = json.loads(cli(example, "--json").stdout)["verdicts"]
    duty = data[-1]
    assert (duty["status"], duty["note_code"]) == ("n/a", "needs_roster")


def test_cli_duty_desk_with_a_scenario(tmp_path):
    example = "scenarios/timelines/example_answer_sheet_loss.yaml"
    out = cli(example, "--scenario", "scenarios/season_2027.yaml", "--json")
    assert out.returncode == 0, out.stderr
    duty = json.loads(out.stdout)["verdicts"][-1]
    assert (duty["rule"], duty["incident"], duty["status"]) == ("duty_24h_during_exam", "", "met")
    out = cli(example, "--scenario", gap_scenario(tmp_path), "--lang", "en")
    assert out.returncode == 0, out.stderr
    assert re.search(
        r"^  ✗ 24-hour staffed duty during exams: missed · .* · .*180", out.stdout.splitlines()[-3]
    ), out.stdout.splitlines()[-3]


def test_cli_leader_via_deputy_setting(tmp_path, capsys):
    """The leader reached only through a deputy in his chain (`backup: true`), per setting."""
    entries = [
        verbal(10),
        e(20, "office_informs", "leader", backup=True),
        e(20, "office_informs", "deputy_leader"),
    ]
    path = tmp_path / "t.yaml"
    path.write_text(timeline_yaml("III", entries), encoding="utf-8")
    status = {}
    for value in ("counts", "does_not_count"):
        d = tmp_path / value
        d.mkdir()
        plan = plan_copy(d, leader_informed_via_deputy=value)
        assert main(["judge", str(path), "--json", "--plan", str(plan)]) == 0  # in-process CLI
        by = {v["rule"]: v for v in json.loads(capsys.readouterr().out)["verdicts"]}
        status[value] = by["office_informs_leaders"]["status"]
    assert status == {"counts": "met", "does_not_count": "missed"}


# -- malformed input ----------------------------------------------------------------------------
HEAD = """\
incidents:
  - id: x1
    family: answer_sheet_loss
    people: 130
    occurred: "D0 11:45"
    discovered: "D0 12:00"
timeline:
  - {at: "D0 12:10", incident: x1, step: graded, grade: III}
"""  # lines 1-8; the entry under test starts on line 9

BAD = [
    pytest.param(
        '  - {at: "D0 12:20", incident: x1, step: telepathy}\n',
        9,
        "timeline[1].step",
        "unknown step 'telepathy' (known: discovered, control,",
        id="unknown step",
    ),
    pytest.param(
        "  - at: D0 12:20\n    incident: x1\n    step: verbal_report\n    to: [local_government, mayor]\n",
        12,
        "timeline[1].to[1]",
        "unknown body or role 'mayor'",
        id="unknown body in to",
    ),
    pytest.param(
        '  - {at: "D0 12:20", incident: x9, step: contain}\n',
        9,
        "timeline[1].incident",
        "unknown incident 'x9'",
        id="unknown incident",
    ),
    pytest.param(
        "  - at: D0 12:20\n    incident: x1\n    step: written_report\n    to: [working_group]\n"
        "    content: [time, weather]\n",
        13,
        "timeline[1].content[1]",
        "unknown content item 'weather' (known: time, place,",
        id="unknown content item",
    ),
    pytest.param(
        '  - {at: "D0 12:20", incident: x1, step: graded}\n',
        9,
        "timeline[1].grade",
        "a graded step needs grade: one of I, II, III, IV",
        id="graded without grade",
    ),
    pytest.param(
        "  - incident: x1\n    step: contain\n    at: D0 25:10\n",
        11,
        "timeline[1].at",
        "expected a time like 'D0 09:40' or minutes",
        id="bad time",
    ),
    pytest.param(
        '  - {at: "D0 12:20", incident: x1, step: contain, grade: II}\n',
        9,
        "timeline[1].grade",
        "only a graded step has a grade",
        id="grade on another step",
    ),
]


@pytest.mark.parametrize("entry, line, field, message", BAD)
def test_malformed_timeline(entry, line, field, message, tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + entry, encoding="utf-8")
    assert main(["judge", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [err.splitlines()[0]]  # one problem, one line
    assert err.startswith(f"{path}:{line}: {field}: {message}")
    with pytest.raises(InputError) as exc:
        judge_timeline(path, PLAN)
    [p] = exc.value.problems
    assert (p.line, p.field) == (line, field)


def test_malformed_incident_facts_point_at_the_field(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD.replace("family: answer_sheet_loss", "family: alien_invasion"), "utf-8")
    assert main(["judge", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:3: incidents[0].family: 'alien_invasion' is not one of")


def test_cli_reports_every_problem_with_its_line_and_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "".join(p.values[0] for p in BAD), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "sim", "judge", str(path), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert all(re.match(rf"{re.escape(str(path))}:\d+: \S+: \S", ln) for ln in lines), lines
    fields = {ln.split(": ")[1] for ln in lines}
    # entries are renumbered timeline[1]..[7] in this file, each on its own lines
    assert {f.split(".")[-1].split("[")[0] for f in fields} == {
        "step",
        "to",
        "incident",
        "content",
        "grade",
        "at",
    }
    assert [int(ln.split(":")[1]) for ln in lines] == sorted(int(ln.split(":")[1]) for ln in lines)


def test_timeline_without_incidents_is_refused(tmp_path, capsys):
    path = tmp_path / "empty.yaml"
    path.write_text("timeline: []\n", encoding="utf-8")
    assert main(["judge", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}:1: incidents: ")


def test_regrading_the_most_severe_grade_brings_its_duties_the_last_is_judged(tmp_path):
    """A Ⅲ graded III, then II: the Ⅱ duties apply; IV corrected to III is graded right."""
    up = judge(tmp_path, "III", [graded(20, "III"), graded(100, "II")])
    assert up["direct_report_I_II"].status == "missed"  # a Ⅱ's duty once the team said Ⅱ
    fixed = judge(tmp_path, "III", [graded(20, "IV"), graded(25, "III")])
    assert (
        fixed["grade_determined"].status == "met" and fixed["grade_determined"].measured_min == 25
    )


def test_emergency_contact_reached_through_a_backup_is_a_setting(tmp_path, plans):
    entries = [graded(10, "III"), e(20, "emergency_contact", "emergency_contact", backup=True)]
    assert judge(tmp_path, "III", entries)["emergency_contact_III_plus"].status == "met"
    strict = plans({"emergency_contact_via_backup": "does_not_count"})
    v = judge(tmp_path, "III", entries, plan=strict)["emergency_contact_III_plus"]
    assert v.status == "missed"


def test_an_entry_before_its_incident_occurred_is_refused(tmp_path, capsys):
    path = tmp_path / "early.yaml"
    path.write_text(timeline_yaml("III", [e(-60, "control")]), encoding="utf-8")
    assert main(["judge", str(path)]) == 2
    _, err = capsys.readouterr()
    assert "timeline[0].at: before incident x1 occurred" in err and "Traceback" not in err
