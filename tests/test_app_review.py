"""The review and programme pages (Streamlit AppTest): review → evaluation → improvement plan → export."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyrage import x25519
from streamlit.testing.v1 import AppTest

from sim.crypto import decrypt
from sim.drill import Drill, scenario_from_text, snapshot_text
from sim.labels import addressee_label, day_time
from sim.store import DrillStore

REVIEW = str(Path(__file__).resolve().parent.parent / "ui" / "review.py")
PROGRAMME = str(Path(__file__).resolve().parent.parent / "ui" / "programme.py")
TEXT = snapshot_text(Path("scenarios/drill_answer_sheet_loss.yaml"))
PLAYER = "欧阳明远"


def new_drill(tmp_path, monkeypatch, players=None) -> tuple[DrillStore, int, Drill]:
    """A store (through DRILLSIM_DB, as the app finds it) with a new drill of the script, and
    the engine's drill to play it."""
    db = tmp_path / "drills.sqlite"
    monkeypatch.setenv("DRILLSIM_DB", str(db))
    store = DrillStore(db)
    drill_id = store.create_drill(
        year=2027,
        site="site_a",
        scenario_name="drill_answer_sheet_loss",
        scenario_text=TEXT,
        seed=5,
        players=players,
    )
    return store, drill_id, Drill(scenario_from_text(TEXT), 5)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """A store (through DRILLSIM_DB, as the app finds it) with one short team drill."""
    store, drill_id, drill = new_drill(tmp_path, monkeypatch, players={"leader": PLAYER})
    first = {"kind": "advance", "to": drill.next_inject_at()}
    drill.apply(first)
    store.append_action(drill_id, sim_minute=drill.now, kind="advance", payload=first)
    inc = drill.injects()[0]["id"]
    for d in (
        {"kind": "control", "incident": inc},
        {"kind": "grade", "incident": inc, "level": "III"},
        {"kind": "report", "incident": inc, "body": "working_group", "channel": "verbal"},
    ):
        drill.apply(d)
        store.append_action(drill_id, sim_minute=drill.now, kind=d["kind"], payload=d)
    return store, drill_id, len(drill.records)


def review(drill_id: int, lang: str = "en") -> AppTest:
    at = AppTest.from_file(REVIEW, default_timeout=120)
    at.session_state["lang"] = lang
    at.query_params["drill"] = str(drill_id)
    return at.run()


def test_review_evaluation_improvement_plan_export(setup):
    store, drill_id, n_records = setup
    at = review(drill_id)
    assert not at.exception, at.exception
    assert at.selectbox(key="rev_drill").value == drill_id

    # replay: a slider over every action, back to the first step
    step = at.slider(key=f"rev_step_{drill_id}")
    assert (step.min, step.max, step.value) == (1, n_records, n_records)
    at = step.set_value(1).run()
    assert any("1 of" in c.value for c in at.caption)

    # evaluation form: HSEEP by default, GB/T 46792 offered
    scale = at.selectbox(key=f"rev_scale_{drill_id}")
    assert scale.value == "hseep" and any("46792" in o for o in scale.options)
    at.selectbox(key=f"rev_rate_{drill_id}_hseep_rule_first_report_3h").set_value("S")
    at.text_input(key=f"rev_obs_{drill_id}_hseep_rule_first_report_3h").set_value(
        "verbal report slow"
    )
    at.selectbox(key=f"rev_rate_{drill_id}_hseep_objective_reporting").set_value("M")
    at.text_area(key=f"rev_strengths_{drill_id}").set_value("evidence preserved at once")
    at.text_area(key=f"rev_improvements_{drill_id}").set_value(
        "first-report content\nwritten report sooner"
    )
    at.text_input(key=f"rev_evaluators_{drill_id}").set_value("Dr Evaluator, 评估专家")
    save = next(b for b in at.button if b.label == "Save evaluation")
    at = save.click().run()
    assert not at.exception, at.exception
    ev = store.evaluation(drill_id)
    assert ev["scale"] == "hseep"
    rated = {(r["kind"], r["target"]): r for r in ev["ratings"]}
    assert rated[("rule", "first_report_3h")]["rating"] == "S"
    assert rated[("rule", "first_report_3h")]["observation"] == "verbal report slow"
    assert rated[("objective", "reporting")]["rating"] == "M"
    assert ev["improvements"] == ["first-report content", "written report sooner"]
    assert ev["evaluators"] == ["Dr Evaluator", "评估专家"]

    # improvement plan: add an item with its rule, then mark it in progress in the table
    at.text_input(key=f"rev_new_action_{drill_id}").set_value(
        "Train the duty desk on the first report"
    )
    at.selectbox(key=f"rev_new_rule_{drill_id}").set_value("first_report_3h")
    add = next(b for b in at.button if b.label == "Add")
    at = add.click().run()
    assert not at.exception, at.exception
    items = store.improvements(drill_id)
    assert [(i["action"], i["owner_role"], i["rule_id"], i["status"]) for i in items] == [
        ("Train the duty desk on the first report", "office_director", "first_report_3h", "open")
    ]
    at.session_state[f"rev_items_editor_{drill_id}"] = {
        "edited_rows": {0: {"status": "in_progress", "due": "2028-01-15"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at = at.run()
    at = next(b for b in at.button if b.label == "Save changes").click().run()
    assert not at.exception, at.exception
    item = store.improvements(drill_id)[0]
    assert item["status"] == "in_progress" and str(item["due"]).startswith("2028-01-15")
    # the areas for improvement become items in one click
    at = next(b for b in at.button if b.key == f"rev_from_areas_{drill_id}").click().run()
    assert {i["action"] for i in store.improvements(drill_id)} >= {
        "first-report content",
        "written report sooner",
    }

    # export: Markdown without contacts, then a PDF encrypted to a recipient's key
    at.selectbox(key="rev_export_fmt").set_value("md")
    at = next(b for b in at.button if b.key == "rev_export_prepare").click().run()
    assert not at.exception, at.exception
    prepared = at.session_state["rev_export"]
    text = prepared["data"].decode("utf-8")
    assert prepared["name"].endswith(".md") and "## Expert group evaluation" in text
    assert "Train the duty desk on the first report" in text and "verbal report slow" in text
    assert "555-0" not in text and PLAYER not in text and "Dr Evaluator" not in text
    assert at.get("download_button")  # offered for download

    identity = x25519.Identity.generate()
    at.selectbox(key="rev_export_fmt").set_value("pdf")
    at.radio(key="rev_export_encrypt").set_value("keys")
    at = at.run()
    at.text_area(key="rev_export_recipients").set_value(str(identity.to_public()))
    at = next(b for b in at.button if b.key == "rev_export_prepare").click().run()
    assert not at.exception, at.exception
    prepared = at.session_state["rev_export"]
    assert prepared["encrypted"] and prepared["name"].endswith(".pdf.age")
    assert decrypt(prepared["data"], str(identity)).startswith(b"%PDF")


def test_review_in_chinese_and_a_bad_key(setup):
    _, drill_id, _ = setup
    at = review(drill_id, "zh")
    assert not at.exception, at.exception
    assert at.title[0].value == "专家组评估"
    at.radio(key="rev_export_encrypt").set_value("keys")
    at = at.run()
    at.text_area(key="rev_export_recipients").set_value("age1notakey")
    at = next(b for b in at.button if b.key == "rev_export_prepare").click().run()
    assert not at.exception
    assert any("age1notakey" in e.value for e in at.error)  # one clear message, no traceback
    assert "rev_export" not in at.session_state


def test_empty_store_shows_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("DRILLSIM_DB", str(tmp_path / "empty.sqlite"))
    at = AppTest.from_file(REVIEW, default_timeout=60)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception and "No drills stored yet" in at.info[0].value


def test_programme_page_flags_missed_years(setup):
    store, drill_id, _ = setup
    store.create_drill(
        year=2024,
        site="site_b",
        scenario_name="drill_answer_sheet_loss",
        scenario_text=TEXT,
        seed=1,
    )
    store.add_improvement(
        drill_id, action="Re-test the contact chain", owner_role="office_director", due="2028-02-01"
    )
    at = AppTest.from_file(PROGRAMME, default_timeout=120)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    at.number_input(key="prog_first").set_value(2023)
    at.number_input(key="prog_last").set_value(2027)
    at = at.run()
    assert not at.exception, at.exception
    warning = at.warning[0].value
    assert "2023" in warning and "2025" in warning and "2024" not in warning
    assert any("Site C" in i.value for i in at.info)  # never drilled
    assert len(at.dataframe) >= 3


def test_the_evaluation_form_opens_with_each_rules_evidence(tmp_path, monkeypatch):
    """Per rule: measured against allowed, the team's actions on its steps (time, who, to whom)
    and the observer notes naming it; the log says who did each action."""
    store, drill_id, drill = new_drill(tmp_path, monkeypatch)
    decisions = [{"kind": "advance", "to": drill.next_inject_at()}]
    drill.apply(decisions[0])
    inc = drill.injects()[0]["id"]
    decisions += [
        {"kind": "step", "incident": inc, "step": "graded", "level": "III", "player": "Player A"},
        {
            "kind": "step",
            "incident": inc,
            "step": "verbal_report",
            "to": ["working_group"],
            "player": "Player B",
        },
        {"kind": "note", "incident": inc, "text": "asked twice", "rule": "first_report_3h"},
        {"kind": "note", "incident": inc, "text": "grade unsure", "step": "graded"},
    ]
    for d in decisions[1:]:
        drill.apply(d)
    for d in decisions:
        store.append_action(drill_id, sim_minute=0.0, kind=d["kind"], payload=d)
    verbal = drill.outcomes[2]

    at = review(drill_id)
    assert not at.exception, at.exception
    log = at.dataframe[0].value
    assert "Player B" in set(log["Done by"]) and "Player A" in set(log["Done by"])
    evidence = [c.value for c in at.caption if c.value.startswith("**Evidence**")]
    first = next(e for e in evidence if "asked twice" in e)
    card = Drill.replay(scenario_from_text(TEXT), 5, decisions).scorecard()
    v = next(v for v in card.verdicts if v["rule"] == "first_report_3h")
    assert f"allowed {v['allowed_min']:.0f} min" in first
    plan = drill.plan
    action = (
        f"{plan.step('verbal_report').label_en} → {addressee_label(plan, 'working_group', 'en')}"
    )
    assert f"{day_time(verbal.start, 'en')} · Player B · {action}" in first
    graded = next(e for e in evidence if "grade unsure" in e)
    assert "Player A" in graded and "asked twice" not in graded
    # the observation opens with the observer's note on that rule
    obs = at.text_input(key=f"rev_obs_{drill_id}_hseep_rule_first_report_3h")
    assert obs.value == "asked twice"
    store.close()
