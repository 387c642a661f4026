"""The drill console and the projector (Streamlit AppTest on the real app.py), and their helpers.

The main test plays a drill by its widgets — set up, several injects, actions including an
unanswered call and the backup, end — and checks the scorecard against the engine's verdicts for
the same decisions replayed from the store.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from sim import labels
from sim import session as ds
from sim.drill import Drill, DrillError, auto_reference, scenario_from_text, verdict_dict
from sim.grading import grade
from sim.plan import GRADES, RULE_IDS
from sim.session import DrillSession, Scorecard
from sim.store import DrillStore
from ui import drill_view as dl

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
SHEETS = ROOT / "scenarios" / "drill_answer_sheet_loss.yaml"
PLAYER = "测试员甲"


@pytest.fixture
def db(tmp_path, monkeypatch) -> DrillStore:
    """A fresh store the app finds through DRILLSIM_DB."""
    path = tmp_path / "d.sqlite"
    monkeypatch.setenv("DRILLSIM_DB", str(path))
    store = DrillStore(path)
    yield store
    store.close()


def app(*, lang: str | None = "en", drill: int | None = None, locale: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    if lang:
        at.session_state["lang"] = lang
    if locale:
        at.context["locale"] = locale
    if drill is not None:
        at.query_params["drill"] = str(drill)
    return at.run()


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def table(at: AppTest, column: str) -> pd.DataFrame:
    """The first table with ``column``."""
    for tb in at.table:
        if column in tb.value.columns:
            return tb.value
    raise AssertionError(f"no table with column {column!r}")


def html_text(at: AppTest) -> str:
    """Every st.html body on the page (the coloured boards), joined."""
    return "\n".join(e.proto.body for e in at.get("html"))


def start(at: AppTest, *, seed: int, site: str = "site_a", generated: bool = False, count: int = 2):
    at.number_input(key="drill_year").set_value(2027)
    at.selectbox(key="drill_scenario").set_value(SHEETS.stem)
    at.selectbox(key=f"drill_site_{SHEETS.stem}").set_value(site)
    if generated:
        at.radio(key="drill_source").set_value("generated").run()
        at.number_input(key="drill_gen_count").set_value(count)
    at.text_input(key="drill_player_leader").set_value(PLAYER)
    at.number_input(key="drill_seed").set_value(seed)
    ok(at.button(key="drill_start").click().run())
    return int(at.query_params["drill"])


def act(at: AppTest, step: str, incident: str | None = None, **widgets: Any) -> AppTest:
    """Choose a step in the menu, fill its widgets (key suffix → value), press Do it."""
    if incident is not None:
        at.selectbox(key="drill_act_incident").set_value(incident)
    at.pills(key="drill_act_kind").set_value(step).run()
    for key, value in widgets.items():
        # whom a step goes to is one widget per language (relabelled options come back empty)
        suffix = f"_{at.session_state['lang']}" if key.startswith("act_to_") else ""
        _widget(at, f"drill_{key}{suffix}").set_value(value)
        if key.startswith("act_to_"):
            at.run()  # whom to call depends on the addressees chosen
    return ok(at.button(key="drill_do").click().run())


def _widget(at: AppTest, key: str):
    kinds = ("selectbox", "multiselect", "radio", "text_area", "text_input", "number_input")
    for kind in (*kinds, "checkbox"):
        for w in getattr(at, kind):
            if w.key == key:
                return w
    raise AssertionError(f"no widget {key}")


def step(incident: str, sid: str, **more: Any) -> dict[str, Any]:
    return {"kind": "step", "incident": incident, "step": sid, **more}


# -- the flow the main test clicks, mirrored on the engine --------------------------------------


def flow(seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """The decisions the main test takes by clicking, or None when ``seed`` does not give an
    unanswered first call to the leader answered by the backup and a second inject later."""
    text = ds.build_snapshot(SHEETS, site="site_a", seed=seed, generated=True, count=2)
    sc = scenario_from_text(text)
    plan = sc.plan
    d = Drill(sc, seed)
    out: list[dict[str, Any]] = []

    def do(dec: dict[str, Any]):
        out.append(dec)
        return d.apply(dec)

    do({"kind": "advance", "to": d.now + 5})
    if d.injects():
        return None
    do({"kind": "advance", "to": d.next_inject_at()})
    (a,) = d.injects()
    inc_a = d.incidents[a["id"]]
    plan_a = grade(inc_a.facts(), plan).level
    do(step(a["id"], "control"))
    do(step(a["id"], "graded", level=plan_a))
    # the verbal report's defaults: every addressee, the office's first person on the phone
    office = sc.roster.chain(d.office_role(), inc_a.site)[0]
    verbal_to = list(plan.addressees("verbal_report", inc_a.family))
    told = do(step(a["id"], "verbal_report", to=verbal_to, person=office))
    if told.detail["reached"]["working_group"] == "failed":
        return None  # the office acts only once it has been told
    chain = sc.roster.chain("leader", inc_a.site)
    informs = step(a["id"], "office_informs", to=["leader"])
    if do({**informs, "person": chain[0]}).detail["reached"]["leader"] != "failed":
        return None
    if do({**informs, "person": chain[1]}).detail["reached"]["leader"] == "failed":
        return None
    role = plan.teams[inc_a.family][0]
    team = sc.roster.chain(role, inc_a.site)[0]
    do(step(a["id"], "team_dispatched", to=[role], person=team))
    fields = {"time": "11:45", "place": "room 12", "scale": "130 candidates"}
    content = ["time", "place", "scale"]
    do(step(a["id"], "written_report", to=["working_group"], content=content, fields=fields))
    follow = {"measures_taken": "bags searched, room sealed"}
    do(
        step(
            a["id"],
            "follow_up",
            to=["local_government"],
            content=["measures_taken"],
            fields=follow,
        )
    )
    do({"kind": "note", "incident": a["id"], "text": "bags searched"})
    nxt = d.next_inject_at()
    if nxt is None or len(d.injects()) != 1:
        return None
    do({"kind": "advance", "to": nxt})
    b = d.injects()[-1]
    plan_b = grade(d.incidents[b["id"]].facts(), plan).level
    wrong_b = next(g for g in GRADES if g != plan_b)
    do(step(b["id"], "graded", level=wrong_b))
    do({"kind": "advance", "to": d.now + 60})
    facts = {
        "a": a["id"],
        "b": b["id"],
        "plan_a": plan_a,
        "wrong_b": wrong_b,
        "leader_chain": chain,
        "role": role,
        "team": team,
        "fields": fields,
        "follow": follow,
    }
    return out, facts


def seed_for_flow() -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    for seed in range(1, 600):
        got = flow(seed)
        if got:
            return seed, got[0], got[1]
    raise AssertionError("no seed gives the flow")


# -- AppTest ------------------------------------------------------------------------------------


def test_play_a_drill_then_score_it_against_the_engine(db):
    seed, expected, f = seed_for_flow()
    at = ok(app(lang="en"))
    assert "drill_start" in [b.key for b in at.button]
    assert any("Suggested site" in x for x in texts(at, "info"))
    drill_id = start(at, seed=seed, generated=True, count=2)
    assert db.drill(drill_id)["players"] == {"leader": PLAYER}
    assert db.drill(drill_id)["year"] == 2027 and db.drill(drill_id)["site"] == "site_a"

    ok(at.button(key="drill_adv_5").click().run())
    assert any("No injects yet" in x for x in texts(at, "info"))
    ok(at.button(key="drill_adv_next").click().run())
    assert any("Incident 1 ·" in m for m in texts(at, "markdown"))  # by name, not id
    assert not any(f["a"] in m for m in texts(at, "markdown"))

    # the menu is the plan's procedure: its steps, in order, in the plan's words
    live = at.session_state["drill_live"]
    plan = live.scenario.plan
    steps = live.drill.steps_for(f["a"])
    assert at.pills(key="drill_act_kind").options == [
        *(plan.step(s).label_en for s in steps),
        "Note",
    ]

    act(at, "control", f["a"])
    # the plan's words are behind the step's tooltip (a long clause never pushes "Do it" down)
    assert any(plan.step("control").clause_zh in m.proto.help for m in at.markdown)
    act(at, "graded", f["a"], act_level=f["plan_a"])
    # the verbal report goes to every addressee; the office's first person takes the call
    at.pills(key="drill_act_kind").set_value("verbal_report").run()
    assert at.multiselect(key="drill_act_to_verbal_report_en").value == list(
        plan.step("verbal_report").to
    )
    ok(at.button(key="drill_do").click().run())
    chain = f["leader_chain"]
    at.pills(key="drill_act_kind").set_value("office_informs").run()
    at.multiselect(key="drill_act_to_office_informs_en").set_value(["leader"]).run()
    assert (
        at.selectbox(key="drill_act_person_office_informs")
        .options[-1]
        .startswith("The whole call chain")
    )
    _widget(at, "drill_act_person_office_informs").set_value(chain[0])
    ok(at.button(key="drill_do").click().run())
    assert any("did not answer" in w or "busy" in w for w in texts(at, "warning"))
    backup = at.button(key="drill_call_backup")
    assert "Call the backup" in backup.label
    ok(backup.click().run())
    assert any("answered" in s for s in texts(at, "success"))
    assert "drill_call_backup" not in [b.key for b in at.button]
    act(
        at,
        "team_dispatched",
        f["a"],
        act_to_team_dispatched=[f["role"]],
        act_person_team_dispatched=f["team"],
    )
    assert any("on the way" in s for s in texts(at, "success"))
    # the written first report: the plan's seven items as a form (an empty one is missing)
    at.pills(key="drill_act_kind").set_value("written_report").run()
    labels = [ta.label for ta in at.text_area if ta.key.startswith("drill_rc_")]
    items = plan.step("written_report").content
    assert sorted(labels) == sorted(plan.content[c]["label_en"] for c in items) and len(items) == 7
    for c, v in f["fields"].items():
        at.text_area(key=f"drill_rc_{c}").set_value(v)
    at.multiselect(key="drill_act_to_written_report_en").set_value(["working_group"]).run()
    ok(at.button(key="drill_do").click().run())
    assert any("first report lacks" in w for w in texts(at, "warning"))
    assert at.text_area(key="drill_rc_time").value == ""  # a sent report's form starts empty
    # a follow-up carries its own four items
    at.pills(key="drill_act_kind").set_value("follow_up").run()
    labels = [ta.label for ta in at.text_area if ta.key.startswith("drill_rc_")]
    assert "Measures taken" in labels and "Time" not in labels
    at.multiselect(key="drill_act_to_follow_up_en").set_value(["local_government"]).run()
    for c, v in f["follow"].items():
        at.text_area(key=f"drill_rc_{c}").set_value(v)
    ok(at.button(key="drill_do").click().run())
    assert any("Follow-up report lacks" in w for w in texts(at, "warning"))
    act(at, "note", f["a"], act_note="bags searched")
    ok(at.button(key="drill_adv_next").click().run())
    assert any("Incident 2 ·" in m for m in texts(at, "markdown"))
    act(at, "graded", f["b"], act_level=f["wrong_b"])
    ok(at.button(key="drill_adv_60").click().run())

    # a refused action is a message, not a traceback, and stores nothing
    n = len(db.actions(drill_id))
    act(at, "closed", f["b"])
    assert any("not resolved yet" in e for e in texts(at, "error"))
    assert len(db.actions(drill_id)) == n

    # what was stored is exactly what was clicked
    stored = [a["payload"] for a in db.actions(drill_id)]
    assert stored == expected

    # the log names each decision by the plan's step
    log = table(at, "Took")
    assert any(x.startswith("Written first report → Working group") for x in log["Action"])

    # end → scorecard
    at.checkbox(key="drill_end_confirm").check()
    ok(at.button(key="drill_end").click().run())
    assert db.drill(drill_id)["status"] == "ended"
    assert any("Scorecard" in h for h in texts(at, "header"))

    scenario = scenario_from_text(db.drill(drill_id)["scenario_text"])
    engine = Drill.replay(scenario, seed, stored)
    verdicts = [verdict_dict(v) for v in engine.verdicts(final=True)]
    assert len({v["rule"] for v in verdicts}) == len(RULE_IDS)
    result = db.result(drill_id)
    assert result["verdicts"] == verdicts
    assert result["grading"] == engine.scorecard().grading
    # the automatic policy is cut where the team's drill ended, for a fair comparison
    auto = [verdict_dict(v) for v in auto_reference(scenario, seed, end=engine.now).verdicts]
    assert result["auto"]["verdicts"] == auto

    # the rule table shows the engine's verdicts, beside the automatic policy's
    names = dl.incident_names(at.session_state["drill_live"], "en")
    want = dl.score_rows(
        Scorecard.from_dict({"verdicts": verdicts, "auto": {"verdicts": auto}}),
        scenario.plan,
        "en",
        names,
    )
    shown = table(at, "Plan-compliant policy")
    assert shown.to_dict("records") == want
    applicable = Scorecard.from_dict(result).applicable()
    assert len(shown) == len(applicable) > 0
    assert list(shown["Result"].str.contains("missed")) == [
        v["status"] == "missed" for v in applicable
    ]
    # the run-level rule (24-hour duty over the exam calendar) has no incident
    calendar = shown[shown["Incident"] == "Exam calendar"]
    assert list(calendar["Rule"]) == ["24-hour staffed duty during exams"]
    met = sum(v["status"] == "met" for v in verdicts)
    missed = sum(v["status"] == "missed" for v in verdicts)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Rules met"], metrics["Rules missed"]) == (str(met), str(missed))
    auto_counts = (sum(v["status"] == s for v in auto) for s in ("met", "missed"))
    assert (metrics["Policy: rules met"], metrics["Policy: rules missed"]) == tuple(
        str(n) for n in auto_counts
    )

    grading = table(at, "Plan's grade").set_index("Incident")
    assert grading.loc[names[f["a"]], "Agrees"].endswith("yes")
    assert grading.loc[names[f["b"]], "Agrees"].endswith("no")
    content = table(at, "Missing").set_index("Incident")
    assert content.loc[names[f["a"]], "Given"] == "Time; Place; Scale"
    assert content.loc[names[f["b"]], "Given"] == "no written first report"

    # the standing among simulated runs
    lines = [m for m in texts(at, "markdown") if "of simulated runs do better" in m]
    assert lines and result["standing"]
    assert set(result["standing"]) <= set(ds.measured_by_rule(verdicts))
    for rule in result["standing"]:
        assert any(x.startswith(f"- {plan.rules[rule].label_en}: ") for x in lines[0].split("\n"))
    assert result["standing_reps"] == ds.DEFAULT_REPS


def test_a_second_session_and_a_restart_resume_the_identical_state(db):
    at = ok(app(lang="en"))
    drill_id = start(at, seed=3)
    ok(at.button(key="drill_adv_next").click().run())
    act(at, "graded", "sheets_lost", act_level="III")
    act(at, "verbal_report", "sheets_lost", act_to_verbal_report=["local_government"])

    def state(x: AppTest) -> tuple:
        live = x.session_state["drill_live"]
        return (
            live.drill.now,
            live.drill.records,
            [m.value for m in x.metric],
            html_text(x),
            live.drill.verdicts(),
        )

    first = state(at)
    second = ok(app(lang="en", drill=drill_id))  # another browser on the same URL
    assert state(second) == first
    st.cache_resource.clear()  # an app restart: nothing in memory
    st.cache_data.clear()
    third = ok(app(lang="en", drill=drill_id))
    assert state(third) == first

    # an action in one session shows in the other on its next run
    ok(second.button(key="drill_adv_15").click().run())
    ok(at.run())
    assert state(at)[0] == first[0] + 15
    assert state(at) == state(second)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_both_languages_render_every_view(db, lang):
    at = ok(app(lang=lang))
    title = {"zh": "应急演练控制台", "en": "Drill console"}[lang]
    assert title in texts(at, "title")
    drill_id = start(at, seed=4)
    ok(at.button(key="drill_adv_next").click().run())
    menu = at.session_state["drill_live"].menu("sheets_lost")
    assert len(menu) > 10
    for item in menu:  # every step's form renders
        ok(at.pills(key="drill_act_kind").set_value(item).run())
    graded = at.session_state["drill_live"].scenario.plan.step("graded")
    assert (graded.label_zh if lang == "zh" else graded.label_en) in at.pills(
        key="drill_act_kind"
    ).options
    assert any(
        ("答卷遗失" if lang == "zh" else "Lost answer sheets") in m for m in texts(at, "markdown")
    )
    board = html_text(at)
    assert board.count("data-status=") > 0
    assert {"zh": "即将到期", "en": "Due next"}[lang] in " ".join(texts(at, "markdown"))
    ok(at.switch_page("ui/projector.py").run())
    assert {"zh": "演练投屏", "en": "Drill — projector view"}[lang] in texts(at, "title")
    ok(at.switch_page("ui/drill.py").run())
    at.checkbox(key="drill_end_confirm").check()
    ok(at.button(key="drill_end").click().run())
    assert {"zh": "评分表", "en": "Scorecard"}[lang] in texts(at, "header")
    assert db.drill(drill_id)["status"] == "ended"


@pytest.mark.parametrize("locale,title", [("zh-CN", "应急演练控制台"), ("en-US", "Drill console")])
def test_the_browser_language_is_the_default_and_the_switch_changes_it(db, locale, title):
    at = ok(app(lang=None, locale=locale))
    assert title in texts(at, "title")
    other = "en" if locale.startswith("zh") else "zh"
    ok(at.radio(key="lang_switch").set_value(other).run())
    assert title not in texts(at, "title")


def test_run_at_speed_advances_and_pauses_at_the_next_inject(db):
    at = ok(app(lang="en"))
    drill_id = start(at, seed=5)
    at.selectbox(key="drill_speed").set_value(2)
    ok(at.button(key="drill_run").click().run())
    assert "drill_pause" in [b.key for b in at.button]
    before = at.session_state["drill_live"].drill.now
    t0 = time.time()
    at.session_state["drill_tick_at"] = t0 - 2.0  # two real seconds have passed
    ok(at.run())
    slack = time.time() - t0  # the run itself took some real time too
    now = at.session_state["drill_live"].drill.now
    assert before + 2 * 2.0 - 0.01 <= now <= before + 2 * (2.0 + slack) + 0.01
    last = db.actions(drill_id)[-1]["payload"]
    assert last["kind"] == "advance" and last["auto"] is True
    # at speed 10 the clock runs into the inject, stops there and pauses
    at.selectbox(key="drill_speed").set_value(10)
    nxt = at.session_state["drill_live"].drill.next_inject_at()
    for _ in range(40):
        at.session_state["drill_tick_at"] = time.time() - 6.0
        ok(at.run())
        if not at.session_state["drill_running"]:
            break
    live = at.session_state["drill_live"]
    assert live.drill.now == nxt and len(live.drill.injects()) == 1
    assert any("clock is paused" in w for w in texts(at, "warning"))
    assert "drill_run" in [b.key for b in at.button]


def test_a_click_faster_than_the_form_takes_the_forms_defaults(db):
    at = ok(app(lang="en"))
    drill_id = start(at, seed=8)
    ok(at.button(key="drill_adv_next").click().run())
    plan = at.session_state["drill_live"].scenario.plan
    # the step is chosen and "Do it" pressed before the form for it was ever shown
    at.pills(key="drill_act_kind").set_value("verbal_report")
    ok(at.button(key="drill_do").click().run())
    last = db.actions(drill_id)[-1]["payload"]
    assert last == step(
        "sheets_lost", "verbal_report", to=list(plan.step("verbal_report").to), person="duty_day"
    )
    # a person left over from another addressee's chain is not called for this one
    at.pills(key="drill_act_kind").set_value("office_informs").run()
    at.multiselect(key="drill_act_to_office_informs_en").set_value(["leader"]).run()
    at.selectbox(key="drill_act_person_office_informs").set_value("leader").run()
    at.multiselect(key="drill_act_to_office_informs_en").set_value(["deputy_leader"])
    ok(at.button(key="drill_do").click().run())
    last = db.actions(drill_id)[-1]["payload"]
    assert last["to"] == ["deputy_leader"] and last["person"] == "deputy_vice_dean"
    # several roles: each is worked down its own chain, no one person is named
    at.multiselect(key="drill_act_to_office_informs_en").set_value(["leader", "deputy_leader"])
    ok(at.button(key="drill_do").click().run())
    last = db.actions(drill_id)[-1]["payload"]
    assert last["to"] == ["leader", "deputy_leader"] and "person" not in last
    # no addressee at all is refused before it reaches the engine
    n = len(db.actions(drill_id))
    at.multiselect(key="drill_act_to_office_informs_en").set_value([])
    ok(at.button(key="drill_do").click().run())
    assert any("at least one addressee" in e for e in texts(at, "error"))
    assert len(db.actions(drill_id)) == n


def test_undo_removes_the_last_stored_action(db):
    at = ok(app(lang="en"))
    drill_id = start(at, seed=6)
    ok(at.button(key="drill_adv_next").click().run())
    act(at, "graded", "sheets_lost", act_level="II")
    assert db.actions(drill_id)[-1]["payload"]["step"] == "graded"
    ok(at.button(key="drill_undo").click().run())
    assert [a["kind"] for a in db.actions(drill_id)] == ["advance"]
    assert any("Undone" in i for i in texts(at, "info"))
    assert at.session_state["drill_live"].drill.team_grade == {}
    act(at, "graded", "sheets_lost", act_level="III")
    assert [a["seq"] for a in db.actions(drill_id)] == [1, 2]


def test_a_drill_stored_with_the_older_decision_kinds_replays_and_reads(db):
    """Drills stored before the menu became the plan's steps replay, and their log reads."""
    drill_id = ds.create_drill(db, year=2026, site="site_a", path=SHEETS, seed=2, lang="en")
    live = DrillSession.load(db, drill_id)
    old = [
        {"kind": "advance", "to": live.drill.next_inject_at()},
        {"kind": "control", "incident": "sheets_lost"},
        {"kind": "grade", "incident": "sheets_lost", "level": "III"},
        {
            "kind": "report",
            "incident": "sheets_lost",
            "body": "working_group",
            "channel": "verbal",
            "type": "report",
            "person": "duty_day",
        },
        {"kind": "call", "incident": "sheets_lost", "person": "leader", "role": "leader"},
        {
            "kind": "call",
            "incident": "sheets_lost",
            "person": "team_exam_1",
            "role": "team_exam_affairs",
            "purpose": "dispatch",
        },
    ]
    for d in old:
        live.apply(db, d)
    at = ok(app(lang="en", drill=drill_id))
    actions = list(table(at, "Took")["Action"])
    assert "Grade the incident: Grade III (Larger)" in actions
    assert "Verbal report (verbal first) → Working group (office) (Duty officer A (day))" in actions
    assert any(x.startswith("Dispatch") for x in actions)
    steps = {r.action for r in at.session_state["drill_live"].drill.records}
    assert {"control", "graded", "verbal_report", "office_informs", "team_dispatched"} <= steps


def test_after_closing_the_menu_offers_what_comes_after_the_response(db):
    live = _live(db, told=True)
    inc = "sheets_lost"
    live.apply(db, live.step_decision(inc, "team_dispatched", person=""))
    live.apply(db, {"kind": "advance", "to": live.drill.now + 600})
    assert inc in live.drill.resolved
    live.apply(db, step(inc, "closed"))
    assert live.drill.steps_for(inc) == ["evaluation", "investigation", "final_report"]
    at = ok(app(lang="zh", drill=live.drill_id))
    assert at.pills(key="drill_act_kind").options == [
        "评估损失与应急工作",
        "调查起因、性质、责任，追究责任",
        "报送评估结果与处理总结",
        "记录备注",
    ]
    act(at, "evaluation", inc)
    at.pills(key="drill_act_kind").set_value("final_report").run()
    at.text_area(key="drill_act_final_text").set_value("损失轻微，流程已修订。")
    ok(at.button(key="drill_do").click().run())
    last = db.actions(live.drill_id)[-1]["payload"]
    assert last == step(
        inc,
        "final_report",
        to=["local_government", "higher_authority", "working_group"],
        text="损失轻微，流程已修订。",
    )
    assert at.text_area(key="drill_act_final_text").value == ""
    assert any("已收到" in x for x in texts(at, "success"))


def test_the_projector_shows_no_controls_and_no_answers(db):
    at = ok(app(lang="en"))
    drill_id = start(at, seed=7)
    ok(at.button(key="drill_adv_next").click().run())
    assert any("Trainer's notes" in e.label for e in at.expander)
    proj = AppTest.from_file(str(APP), default_timeout=60)
    proj.session_state["lang"] = "en"
    proj.query_params["drill"] = str(drill_id)
    ok(proj.run())
    ok(proj.switch_page("ui/projector.py").run())
    assert "Drill — projector view" in texts(proj, "title")
    assert [b.key for b in proj.button] == []
    assert not [e for e in proj.expander if "Trainer" in e.label]
    assert not any("Next inject" in c for c in texts(proj, "caption"))
    assert any("12:" in m or "11:" in m for m in texts(proj, "markdown"))
    plan = at.session_state["drill_live"].scenario.plan
    rules = plan.rules
    board = html_text(proj)
    assert html.escape(rules["first_report_3h"].label_en) in board
    # a grade-specific rule does not give the plan's grade away before the team grades, and
    # no grade is shown at all
    contact = html.escape(rules["emergency_contact_III_plus"].label_en)
    assert contact not in board
    shown = board + " ".join(texts(proj, "markdown") + texts(proj, "caption"))
    assert not [g for g in plan.grades if dl.grade_label(plan, g, "en") in shown]
    act(at, "graded", "sheets_lost", act_level="III")
    ok(proj.run())
    assert contact in html_text(proj)
    # and the projector shows no step's form, no clause, no addressees
    assert not [w for w in proj.multiselect] and not proj.pills
    # without ?drill= it follows the latest running drill
    other = AppTest.from_file(str(APP), default_timeout=60)
    other.session_state["lang"] = "en"
    ok(other.run())
    ok(other.switch_page("ui/projector.py").run())
    assert any(("Site A" in c) for c in texts(other, "caption"))


def test_the_kiosk_url_is_pinned_to_one_drill_with_no_navigation(db):
    at = ok(app(lang="en"))
    drill_id = start(at, seed=7)
    ok(at.button(key="drill_adv_next").click().run())
    kiosk = AppTest.from_file(str(APP), default_timeout=60)
    kiosk.query_params.update({"kiosk": "1", "lang": "zh"})
    ok(kiosk.run())
    ok(kiosk.switch_page("ui/projector.py").run())
    assert not kiosk.title and not kiosk.radio and not kiosk.button  # no switch, no controls
    assert "proj_no_drill" not in html_text(kiosk)
    assert any("暂无" in x for x in texts(kiosk, "info"))  # pinned: never "the latest drill"
    kiosk.query_params["drill"] = str(drill_id)
    ok(kiosk.run())
    assert "data-status='pending'" in html_text(kiosk)  # the board, in Chinese
    assert "首报" in html_text(kiosk) or "报告" in html_text(kiosk)


def test_an_unknown_drill_in_the_url_is_a_message(db):
    at = ok(app(lang="en", drill=999))
    assert any("No drill #999" in e for e in texts(at, "error"))
    ok(at.button(key="drill_new").click().run())
    assert "drill_start" in [b.key for b in at.button]


def test_site_suggestion_follows_the_stored_drills(db):
    text = ds.build_snapshot(SHEETS, site="site_a", seed=1)
    db.create_drill(year=2025, site="site_a", scenario_name="x", scenario_text=text, seed=1)
    db.create_drill(year=2026, site="site_c", scenario_name="x", scenario_text=text, seed=1)
    at = ok(app(lang="en"))
    assert at.selectbox(key=f"drill_site_{SHEETS.stem}").value == "site_b"  # never drilled
    history = table(at, "Last drilled")
    assert list(history["Last drilled"]) == ["never", "2025", "2026"]
    db.create_drill(year=2026, site="site_b", scenario_name="x", scenario_text=text, seed=1)
    at = ok(app(lang="en"))
    assert at.selectbox(key=f"drill_site_{SHEETS.stem}").value == "site_a"  # drilled longest ago


@pytest.mark.parametrize(
    "path", sorted((ROOT / "scenarios").glob("drill_*.yaml")), ids=lambda p: p.stem
)
def test_every_shipped_scenario_plays_and_loads_fast(db, path):
    at = ok(app(lang="zh"))
    at.selectbox(key="drill_scenario").set_value(path.stem).run()
    ok(at.button(key="drill_start").click().run())
    ok(at.button(key="drill_adv_next").click().run())
    assert at.session_state["drill_live"].drill.injects()
    at.run()  # warm
    t0 = time.perf_counter()
    ok(at.run())
    assert time.perf_counter() - t0 < 1.0


# -- the pure helpers ---------------------------------------------------------------------------


def test_relocated_script_names_the_chosen_site():
    text = ds.build_snapshot(SHEETS, site="site_b", seed=1)
    (inc,) = scenario_from_text(text).incidents
    assert inc.site == "site_b"
    assert "第二考点" in inc.text_zh and "第一考点" not in inc.text_zh
    assert "Site B" in inc.text_en and "Site A" not in inc.text_en


def test_generated_snapshot_is_named_and_reproducible():
    a = ds.build_snapshot(SHEETS, site="site_c", seed=9, generated=True, count=3)
    assert a == ds.build_snapshot(SHEETS, site="site_c", seed=9, generated=True, count=3)
    sc = scenario_from_text(a)
    assert len(sc.incidents) == 3 and {i.site for i in sc.incidents} == {"site_c"}
    assert [i.id for i in sc.incidents] == ["g1", "g2", "g3"]  # in the order they happen
    assert [i.at for i in sc.incidents] == sorted(i.at for i in sc.incidents)
    assert sc.name_zh.startswith("随机生成演练") and sc.name_en.startswith("Generated drill")


def test_live_drill_stores_each_decision_and_syncs_with_another_writer(db):
    drill_id = ds.create_drill(db, year=2027, site="site_a", path=SHEETS, seed=2, lang="zh")
    live = DrillSession.load(db, drill_id)
    live.apply(db, {"kind": "advance", "to": live.drill.next_inject_at()})
    with pytest.raises(Exception, match="not resolved"):
        live.apply(db, step("sheets_lost", "closed"))
    assert [a["kind"] for a in db.actions(drill_id)] == ["advance"]
    assert db.actions(drill_id)[0]["sim_minute"] == live.drill.outcomes[0].start
    assert ds.sync(live, db, drill_id) is live  # nothing changed: no replay
    other = DrillSession.load(db, drill_id)
    other.apply(db, step("sheets_lost", "graded", level="III"))
    fresh = ds.sync(live, db, drill_id)
    assert fresh is not live and fresh.drill.records == other.drill.records
    card = fresh.end(db, reps=20)
    assert db.drill(drill_id)["status"] == "ended" and db.result(drill_id) == card.to_dict()
    assert Scorecard.from_dict(db.result(drill_id)) == card
    with pytest.raises(Exception, match="ended"):
        fresh.apply(db, {"kind": "note", "text": "late"})


def test_a_failed_store_write_is_not_kept_in_memory(db):
    drill_id = ds.create_drill(db, year=2027, site="site_a", path=SHEETS, seed=2, lang="en")
    live = DrillSession.load(db, drill_id)

    class Broken:
        def append_action(self, *a, **k):
            raise OSError("disk full")

    with pytest.raises(OSError):
        live.apply(Broken(), {"kind": "advance", "to": live.drill.now + 5})
    again = ds.sync(live, db, drill_id)
    assert again is not live and again.drill.decisions == [] and db.actions(drill_id) == []


def test_tick_stops_at_the_next_inject(db):
    drill_id = ds.create_drill(db, year=2027, site="site_a", path=SHEETS, seed=2, lang="en")
    live = DrillSession.load(db, drill_id)
    start, nxt = live.drill.now, live.drill.next_inject_at()
    live.tick(db, 3)
    assert live.drill.now == start + 3
    live.tick(db, 10_000)
    assert live.drill.now == nxt and len(live.drill.injects()) == 1
    assert [a["payload"].get("auto") for a in db.actions(drill_id)] == [True, True]


@pytest.mark.parametrize(
    "minutes,zh,en",
    [
        (None, "—", "—"),
        (0, "0分钟", "0 min"),
        (59.6, "1小时0分钟", "1 h 0 min"),
        (130, "2小时10分钟", "2 h 10 min"),
    ],
)
def test_fmt_minutes(minutes, zh, en):
    assert dl.fmt_minutes(minutes, "zh") == zh and dl.fmt_minutes(minutes, "en") == en


def test_measured_by_rule_is_the_mean_of_measured_times():
    vs = [
        {"rule": "first_report_3h", "status": "met", "measured_min": 100.0},
        {"rule": "first_report_3h", "status": "missed", "measured_min": 200.0},
        {"rule": "final_report", "status": "n/a", "measured_min": None},
        {"rule": "verbal_before_written", "status": "missed", "measured_min": None},
        {"rule": "duty_24h_during_exam", "status": "met", "measured_min": 0.0},  # a gap
        {"rule": "follow_up_reports", "status": "met", "measured_min": 30.0},  # a gap
    ]
    assert ds.measured_by_rule(vs) == {"first_report_3h": 150.0}


def test_engine_refusals_are_translated_by_code():
    """A refusal carries a code and its params; the page's words come from the catalogue,
    with steps in the plan's words, and ``str`` stays an English sentence for the CLI."""
    exc = DrillError("not_resolved", incident="sheets_lost")
    assert dl.error_text(exc, "zh").startswith("尚未处置完毕") and "not resolved" in str(exc)
    assert dl.error_text(DrillError("something new"), "zh") == "something new"
    plan = scenario_from_text(ds.build_snapshot(SHEETS, site="site_a", seed=1)).plan
    closed = DrillError("after_close", step="evaluation")
    assert dl.error_text(closed, "zh", plan) == "“评估损失与应急工作”须在结束响应之后进行。"
    assert "comes after the incident is closed" in str(closed)
    to = DrillError("choose_to", step="verbal_report")
    assert "choose at least one addressee" in dl.error_text(to, "en", plan)
    replay = DrillError("cannot_replay", id=7, reason=DrillError("advance_back"))
    assert dl.error_text(replay, "zh") == "演练7无法重放：时钟不能倒退。"


def _live(db, seed: int = 2, *, told: bool = False) -> DrillSession:
    """A drill of the lost-sheets script at its inject; ``told``: a written report has reached
    the working group's office (on paper, so always), which the office's steps need."""
    drill_id = ds.create_drill(db, year=2027, site="site_a", path=SHEETS, seed=seed, lang="en")
    live = DrillSession.load(db, drill_id)
    live.apply(db, {"kind": "advance", "to": live.drill.next_inject_at()})
    if told:
        live.apply(db, step("sheets_lost", "written_report", to=["working_group"]))
    return live


def test_a_step_decision_takes_the_plans_addressees_and_content(db):
    live = _live(db)
    plan = live.scenario.plan
    inc = "sheets_lost"
    # no widget values: every addressee; the office's first person takes the phoned one
    d = live.step_decision(inc, "verbal_report")
    assert d == step(
        inc, "verbal_report", to=list(plan.step("verbal_report").to), person="duty_day"
    )
    # the whole call chain instead of one person
    d = live.step_decision(inc, "verbal_report", person="")
    assert "person" not in d
    # addressees keep the plan's order; unknown ones are dropped
    d = live.step_decision(inc, "office_informs", to=["regional_emergency_office", "x", "leader"])
    assert d["to"] == ["leader", "regional_emergency_office"] and d["person"] == "leader"
    # written on paper to the office: no one to call
    d = live.step_decision(inc, "written_report", fields={"time": " 11:45 ", "trend": ""})
    assert "person" not in d and d["content"] == ["time"] and d["fields"] == {"time": "11:45"}
    # the emergency team of the family (the plan's teams:)
    d = live.step_decision(inc, "team_dispatched")
    assert d["to"] == list(plan.teams["answer_sheet_loss"]) and d["person"] == "team_exam_1"
    assert live.step_decision(inc, "graded", level="III")["level"] == "III"
    assert live.step_decision(inc, "control") == step(inc, "control")
    with pytest.raises(DrillError, match="at least one addressee"):
        live.step_decision(inc, "verbal_report", to=[])


def test_an_unanswered_call_offers_the_next_in_the_chain(db):
    for seed in range(1, 200):
        live = _live(db, seed, told=True)
        d = live.step_decision("sheets_lost", "office_informs", to=["leader"], person="leader")
        out = live.apply(db, d)
        nxt, unanswered = live.backup_decision(d, out)
        if out.detail["reached"]["leader"] == "failed":
            assert unanswered and nxt == {**d, "person": "deputy_vice_dean"}
            msgs = dl.outcome_messages(live, d, out, "en")
            assert ("warning", "Working-group leader: not reached") in msgs  # the plan's words
            return
        assert (nxt, unanswered) == (None, False)
    raise AssertionError("no seed leaves the leader's phone unanswered")


def test_verdict_notes_and_the_run_level_verdict_read_in_words():
    plan = scenario_from_text(ds.build_snapshot(SHEETS, site="site_a", seed=1)).plan

    def note(lang, **v):
        return labels.verdict_note(v, lang, plan)

    assert note("en", note_code="graded_as", note_params={"team": "IV", "plan": "III"}) == (
        "graded Grade IV (General); the plan grades Grade III (Larger)"
    )
    missing = ["place", "higher_authority"]
    assert note("zh", note_code="missing", missing=missing) == "缺：地点；上级教育主管部门"
    assert note("en", note_code="instead", note_params={"did": "contain", "want": "special_plan"})
    assert note("zh", note_code="duty_gap", note_params={"minutes": "120"}) == (
        "考务指挥中心值班空缺120分钟"
    )
    assert note("zh", note_code="time_left", note_params={"left": 25}) == "演练结束时尚余25分钟"
    # results stored before note codes: their English notes still read in words
    assert note("zh", note="duty desk uncovered 120 min") == "考务指挥中心值班空缺120分钟"
    assert note("en", note="graded IV, plan III").startswith("graded Grade IV")
    assert note("en", note="something new") == "" and note("en", note_code="grade")
    assert dl.incident_label("", "zh") == "考试日历" and dl.incident_label("g1", "zh") == "g1"
    assert dl.record_label(plan, "written_report", "zh") == plan.step("written_report").label_zh
    assert dl.record_label(plan, "call", "en") == "phone call"


def test_the_menu_says_which_office_steps_wait_for_a_report(db):
    live = _live(db)
    waiting = live.office_steps_waiting("sheets_lost")
    assert {"office_informs", "team_dispatched"} <= set(waiting)
    assert not set(waiting) & set(live.menu("sheets_lost"))
    told = _live(db, told=True)
    assert told.office_steps_waiting("sheets_lost") == []
    assert "office_informs" in told.menu("sheets_lost")


def test_an_arriving_inject_is_announced_with_a_notice(db):
    """A toast and a notice that stays until dismissed — also for an inject that arrived while
    an action took simulated time."""
    at = ok(app(lang="en"))
    start(at, seed=7)
    assert not at.toast and not [w for w in texts(at, "warning") if "New inject" in w]
    ok(at.button(key="drill_adv_next").click().run())
    assert any("New inject" in x.value for x in at.toast)
    assert any("New inject: Incident 1" in w for w in texts(at, "warning"))
    ok(at.run())  # the notice survives the next rerun; the toast does not repeat
    assert any("New inject: Incident 1" in w for w in texts(at, "warning"))
    ok(at.button(key="drill_notices_seen").click().run())
    assert not [w for w in texts(at, "warning") if "New inject" in w]
    # an ad-hoc inject from the trainer is announced the same way and kept as a decision
    at.text_area(key="drill_adhoc_text").set_value("A parent calls the site")
    ok(at.button(key="drill_adhoc_send").click().run())
    assert any("A parent calls the site" in w for w in texts(at, "warning"))
    drill_id = int(at.query_params["drill"])
    assert db.actions(drill_id)[-1]["payload"]["kind"] == "adhoc"


def test_undo_in_run_mode_takes_back_the_team_action_not_a_clock_tick(db):
    live = _live(db)
    live.apply(db, step("sheets_lost", "control"))
    for _ in range(3):
        live.tick(db, 2)
    assert live.drill.decisions[-1].get("auto")
    undone = live.undo(db)
    assert undone == step("sheets_lost", "control")
    assert all(d.get("kind") == "advance" for d in live.drill.decisions)


def test_took_agrees_with_the_clock_times_beside_it(db):
    from sim.drill import Outcome

    out = Outcome("step", "done", 600.6, 603.4)
    assert dl.took_minutes(out) == 2.0  # shown as 10:01 → 10:03
    live = _live(db)
    d = step("sheets_lost", "control")
    msg = dl.outcome_messages(live, d, live.apply(db, d), "en")[0][1]
    took = int(msg.split("took ")[1].split(" min")[0])
    times = msg.split("(")[1].rstrip(")").split(" → ")
    minute = [int(x[-2:]) + 60 * int(x[-5:-3]) for x in times]
    assert took == minute[1] - minute[0]


def test_the_log_says_who_did_each_action_and_what_a_note_is_about(db):
    at = ok(app(lang="en"))
    drill_id = start(at, seed=2)
    ok(at.button(key="drill_adv_next").click().run())
    at.text_input(key="drill_act_player").set_value("Player C")
    act(at, "graded", "sheets_lost", act_level="III")
    at.pills(key="drill_act_kind").set_value("note").run()
    at.selectbox(key="drill_act_note_about").set_value("rule:first_report_3h")
    act(at, "note", act_note="slow start")
    stored = [a["payload"] for a in db.actions(drill_id)][1:]
    assert [d.get("player") for d in stored] == ["Player C", "Player C"]
    assert stored[1]["rule"] == "first_report_3h"
    log = table(at, "Done by")
    assert list(log["Done by"][:2]) == ["Player C", "Player C"]
    assert (
        log["Action"][0] == "Note: slow start (about: First report within 3 hours (all addressees))"
    )


def test_the_timeline_chart_is_drawn_when_asked_and_never_blocks_a_click(db):
    """Off by default on the console (no chart in a click's path); turned on, it shows once
    the chart machinery has loaded in the background (a line says so until then)."""
    drill_id = ds.create_drill(
        db, year=2027, site="site_a", path=SHEETS, seed=3, lang="en", players={}
    )
    live = DrillSession.load(db, drill_id)
    live.apply(db, {"kind": "advance", "to": live.drill.upcoming()[0]["at"]})
    at = ok(app(drill=drill_id))
    before = len(at.image)  # the seat panel's QR code
    at.toggle(key="drill_show_timeline").set_value(True)
    ok(at.run())
    deadline = time.monotonic() + 60
    while len(at.image) == before and time.monotonic() < deadline:
        assert any("prepared in the background" in c.value for c in at.caption)
        time.sleep(1)
        ok(at.run())
    assert len(at.image) == before + 1
