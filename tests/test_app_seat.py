"""The seat page (``/seat?drill=N&seat=ROLE``): players take the drill from their own devices.

Several Streamlit AppTest sessions on one stored drill, as several phones would be: the duty
desk and the office director join with their codes, the chief examiner's seat makes the verbal
report to the working group, the duty desk lets both its duty officers' phones ring, the office
director answers — and the drill's records show the call answered by the office director.
Also: a wrong code joins nothing, a page without its token shows nothing of the drill, a
refresh resumes the seat, the end of the drill is said, the plan's grade and the roster's phone
numbers never appear, and the page in Chinese shows no ids and no English.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sim import session as ds
from sim.i18n import catalogue, label, t
from sim.session import DrillSession
from sim.store import DrillStore
from ui import drill_view as dl

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
PAGE = ROOT / "ui" / "seat.py"
SHEETS = ROOT / "scenarios" / "drill_answer_sheet_loss.yaml"
SEATS = ("duty_desk", "office_director", "chief_examiner")


@pytest.fixture
def db(tmp_path, monkeypatch) -> DrillStore:
    """A fresh store the app finds through DRILLSIM_DB."""
    path = tmp_path / "d.sqlite"
    monkeypatch.setenv("DRILLSIM_DB", str(path))
    store = DrillStore(path)
    yield store
    store.close()


def new_drill(store: DrillStore) -> tuple[int, dict[str, str]]:
    """A running drill of the answer-sheet scenario and a join code for each of three seats."""
    drill_id = ds.create_drill(
        store, year=2027, site="site_a", path=SHEETS, seed=3, lang="zh", players={}
    )
    return drill_id, {seat: store.issue_seat_code(drill_id, seat) for seat in SEATS}


def first_inject(store: DrillStore, drill_id: int) -> str:
    """The trainer runs the clock to the first inject; its incident id."""
    live = DrillSession.load(store, drill_id)
    live.apply(store, {"kind": "advance", "to": live.drill.next_inject_at()})
    return next(iter(live.drill.discovered))


def page(drill_id: int, seat: str, *, lang: str = "en", token: str | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGE), default_timeout=30)
    at.session_state["lang"] = lang
    at.query_params.update({"drill": str(drill_id), "seat": seat})
    if token:
        at.query_params["t"] = token
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def join(at: AppTest, code: str, *, name: str = "", person: str | None = None) -> AppTest:
    ok(at.run())
    at.text_input(key="seatpage_code").set_value(code)
    if name:
        at.text_input(key="seatpage_name").set_value(name)
    if person:
        at.selectbox(key="seatpage_person").set_value(person)
    return ok(at.button(key="seatpage_join_btn").click().run())


def shown(at: AppTest) -> str:
    """Every text the page shows as text: Markdown, captions, alerts, HTML blocks, tables (not
    the options of its widgets: a grade radio lists every grade of the plan)."""
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "code"):
        out += [str(e.value) for e in getattr(at, kind)]
    for kind in ("error", "warning", "info", "success", "exception"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [e.proto.body for e in at.get("html")]
    for tb in at.table:
        out += [str(c) for c in tb.value.columns] + [str(v) for v in tb.value.to_numpy().ravel()]
    return "\n".join(out)


def ringing(at: AppTest) -> list[str]:
    return [str(e.value) for e in at.error if "ringing" in str(e.value) or "在响" in str(e.value)]


def call_buttons(at: AppTest, kind: str) -> list:
    return [b for b in at.button if b.key and b.key.startswith(f"seatpage_{kind}_")]


def records(store: DrillStore, drill_id: int):
    return DrillSession.load(store, drill_id).drill.records


# -- the whole flow: three seats on one drill ------------------------------------------------------


def test_seats_join_the_call_rings_at_the_duty_desk_then_at_the_office_director(db):
    drill_id, codes = new_drill(db)
    a = join(page(drill_id, "duty_desk"), codes["duty_desk"], name="Alice")
    b = join(page(drill_id, "office_director"), codes["office_director"], person="office_director")
    c = join(page(drill_id, "chief_examiner", lang="zh"), codes["chief_examiner"], name="陈主考")
    for at in (a, b, c):
        assert at.query_params["t"]
        assert not [w for w in at.text_input if w.key == "seatpage_code"]  # joined: no form
    live = DrillSession.load(db, drill_id)
    scenario = live.scenario
    assert live.drill.holders["duty_desk"] == {"mode": "player", "holder": "Alice"}
    director = dl.person_label(scenario, "office_director", "en")
    assert live.drill.holders["office_director"] == {"mode": "player", "holder": director}
    assert live.drill.holders["chief_examiner"]["holder"] == "陈主考"
    assert db.seats(drill_id)["duty_desk"]["joined"]

    iid = first_inject(db, drill_id)
    # the chief examiner's seat knows the incident (its site) and reports it by phone
    ok(c.run())
    assert "答卷" in shown(c)
    c.selectbox(key="seatpage_inc").set_value(iid)
    ok(c.pills(key="seatpage_step").set_value("verbal_report").run())
    assert "working_group" in c.multiselect(key="seatpage_to_verbal_report_zh").value
    c.multiselect(key="seatpage_to_verbal_report_zh").set_value(["working_group"])
    ok(c.button(key="seatpage_do").click().run())
    assert "振铃" in shown(c)  # the call rings at another seat: the step goes on once answered

    # the trainer's console, a session of its own on the same drill
    trainer = AppTest.from_file(str(APP), default_timeout=60)
    trainer.session_state["lang"] = "en"
    trainer.query_params["drill"] = str(drill_id)
    ok(trainer.run())

    def board(at: AppTest) -> list[str]:
        return [str(w.value) for w in at.warning if "is ringing" in str(w.value)]

    # the duty desk rings (its day officer first), then its night officer: both let ring
    for pid in ("duty_day", "duty_night"):
        ok(a.run())
        [on_board] = board(ok(trainer.run()))  # the trainer sees the call ringing there
        assert dl.person_label(scenario, pid, "en") in on_board
        calls = ringing(a)
        assert len(calls) == 1, shown(a)
        assert dl.person_label(scenario, pid, "en") in calls[0]
        assert "the clock waits for you" in calls[0]  # a turn-based drill
        assert not ringing(b.run())  # never another seat's call
        ok(call_buttons(a, "let")[0].click().run())
        assert "You let" in shown(a)
    ok(a.run())
    assert not ringing(a) and not call_buttons(a, "answer")

    # the office director's phone rings (on the trainer's board too); answered, the report goes on
    ok(b.run())
    [on_board] = board(ok(trainer.run()))
    assert director in on_board
    calls = ringing(b)
    assert len(calls) == 1 and director in calls[0]
    ok(call_buttons(b, "answer")[0].click().run())
    assert not ringing(b) and "You answered" in shown(b)
    assert not board(ok(trainer.run()))
    assert "answer-sheet" in shown(b).lower() or "answer sheet" in shown(b).lower()

    recs = records(db, drill_id)
    calls = [(r.target, r.outcome) for r in recs if r.action == "call"]
    assert calls == [
        ("duty_day", "unanswered"),
        ("duty_night", "unanswered"),
        ("office_director", "answered"),
    ]
    assert any(r.action == "verbal_report" and r.outcome == "received" for r in recs)
    decisions = DrillSession.load(db, drill_id).drill.decisions
    answers = [d for d in decisions if d["kind"] == "answer"]
    assert [(d["seat"], d["answer"], d["player"]) for d in answers] == [
        ("duty_desk", False, "Alice"),
        ("duty_desk", False, "Alice"),
        ("office_director", True, director),
    ]
    step = next(d for d in decisions if d["kind"] == "step")
    assert step["seat"] == "chief_examiner" and step["player"] == "陈主考" and "person" not in step
    # each seat's log holds its own decisions only: the duty desk's two calls let ring
    log = next(tb.value for tb in ok(a.run()).table if "Action" in tb.value.columns)
    assert log["Action"].tolist() == ["Call", "Call"]
    assert set(log["Result"]) == {t("drill_result_let_ring", "en")}
    assert set(log["Done by"]) == {"Alice"}


def test_a_seat_never_shows_the_plans_grade_nor_a_phone_number(db):
    drill_id, codes = new_drill(db)
    pages = {s: join(page(drill_id, s), codes[s], name=f"P {s}") for s in SEATS}
    iid = first_inject(db, drill_id)
    live = DrillSession.load(db, drill_id)
    plan, roster = live.plan, live.scenario.roster
    secret = {label(plan, "grades", live.drill.true_grade(iid), L) for L in ("zh", "en")}
    phones = {p.phone for p in roster.people if p.phone}
    assert phones and all(secret)
    # the chief examiner reports: the duty desk rings; then the office director's turn
    decision = live.step_decision(iid, "verbal_report", to=["working_group"])
    decision.pop("person", None)
    decision.update(seat="chief_examiner", player="P", real=True)
    live, _ = ds.act(db, drill_id, live, decision, wall=time.time())

    def check() -> None:
        for lang in ("en", "zh"):
            for seat, at in pages.items():
                at.session_state["lang"] = lang
                text = shown(ok(at.run()))
                assert not [g for g in secret if g in text], (seat, lang)
                assert not [p for p in phones if p in text], (seat, lang)
                at.session_state["lang"] = "en"

    check()
    a, b = pages["duty_desk"], pages["office_director"]
    assert ringing(ok(a.run())) and not ringing(ok(b.run()))
    ok(call_buttons(a, "answer")[0].click().run())
    # the report reached the working group: its seat may grade — the form lists every grade
    # of the plan as a choice, and nothing on the page says which one the plan gives
    ok(b.run())
    b.selectbox(key="seatpage_inc").set_value(iid)
    ok(b.pills(key="seatpage_step").set_value("graded").run())
    assert len(b.radio(key="seatpage_level").options) == 4
    check()


# -- joining: a wrong code, no token, a refresh ------------------------------------------------


def test_a_wrong_code_is_refused_and_the_page_shows_nothing_of_the_drill(db):
    drill_id, codes = new_drill(db)
    iid = first_inject(db, drill_id)
    live = DrillSession.load(db, drill_id)
    inc = live.drill.incidents[iid]
    at = join(page(drill_id, "chief_examiner"), "WRONG1", name="Mallory")
    assert "t" not in at.query_params
    assert t("store_seat_wrong_code", "en") in shown(at)
    assert not db.seats(drill_id)["chief_examiner"]["joined"]
    assert db.seats(drill_id)["chief_examiner"]["tries"] == 1
    text = shown(at)
    for secret in (inc.text_en, inc.text_zh, "Incident 1", "11:", "12:", "Day 1", "exam day"):
        assert secret not in text
    assert not [b for b in at.button if b.key == "seatpage_do"]
    assert live.drill.holders["chief_examiner"]["mode"] != "player"
    # a made-up token is no seat either: the code form, with a word about the lost session
    fake = ok(page(drill_id, "chief_examiner", token="not-a-token").run())
    assert [w for w in fake.text_input if w.key == "seatpage_code"]
    assert inc.text_en not in shown(fake) and "no longer holds" in shown(fake)
    # the right code joins
    ok(join(page(drill_id, "chief_examiner"), codes["chief_examiner"], name="Carol"))
    assert db.seats(drill_id)["chief_examiner"]["joined"]


def test_a_code_needs_a_name_and_a_bad_link_says_so(db):
    drill_id, codes = new_drill(db)
    at = join(page(drill_id, "duty_desk"), codes["duty_desk"])  # no name, no person
    assert "t" not in at.query_params and t("seatpage_need_name", "en") in shown(at)
    assert not db.seats(drill_id)["duty_desk"]["joined"]  # the code is not used up
    bad = AppTest.from_file(str(PAGE), default_timeout=30)
    bad.session_state["lang"] = "en"
    bad.query_params["drill"] = str(drill_id)
    assert t("seatpage_bad_link", "en") in shown(ok(bad.run()))
    assert t("seatpage_no_seat", "en") in shown(ok(page(drill_id, "no_such_role").run()))
    assert "999" in shown(ok(page(999, "duty_desk").run()))


def test_a_refresh_resumes_the_seat_and_records_its_holder_once(db):
    drill_id, codes = new_drill(db)
    first_inject(db, drill_id)
    at = join(page(drill_id, "chief_examiner"), codes["chief_examiner"], name="Carol")
    token = at.query_params["t"]
    again = ok(page(drill_id, "chief_examiner", token=token).run())  # a new browser session
    assert not [w for w in again.text_input if w.key == "seatpage_code"]
    assert "Held by Carol" in shown(again) and "Site A" in shown(again)
    seated = [d for d in DrillSession.load(db, drill_id).drill.decisions if d["kind"] == "seat"]
    assert len(seated) == 1 and seated[0]["holder"] == "Carol"
    # the trainer takes the seat over: the page respects it and says so
    live = DrillSession.load(db, drill_id)
    ds.act(db, drill_id, live, {"kind": "seat", "seat": "chief_examiner", "mode": "trainer"})
    assert t("seatpage_trainer_holds", "en") in shown(ok(again.run()))
    assert DrillSession.load(db, drill_id).drill.holders["chief_examiner"]["mode"] == "trainer"
    # a new code ends this device's session
    db.issue_seat_code(drill_id, "chief_examiner")
    gone = ok(page(drill_id, "chief_examiner", token=token).run())
    assert "no longer holds" in shown(gone) and "Site A" not in shown(gone)


def test_the_page_says_when_the_drill_has_ended(db):
    drill_id, codes = new_drill(db)
    at = join(page(drill_id, "duty_desk"), codes["duty_desk"], name="Alice")
    DrillSession.load(db, drill_id).end(db, reps=5)
    ended = t("seatpage_ended", "en")
    assert ended in shown(ok(at.run()))
    assert not [w for w in at.text_input if w.key == "seatpage_code"]
    assert ended in shown(ok(page(drill_id, "duty_desk").run()))  # no token: no code form either
    assert not [b for b in at.button if b.key == "seatpage_join_btn"]


# -- a live clock, a step with a form, a note ----------------------------------------------------


def test_a_live_call_counts_down_in_real_seconds(db):
    drill_id, codes = new_drill(db)
    a = join(page(drill_id, "duty_desk"), codes["duty_desk"], name="Alice")
    c = join(page(drill_id, "chief_examiner"), codes["chief_examiner"], name="Carol")
    iid = first_inject(db, drill_id)
    live = DrillSession.load(db, drill_id)
    clock = {"kind": "clock", "mode": "live", "speed": 10.0, "running": True}
    ds.act(db, drill_id, live, clock, wall=time.time())
    ok(a.run())
    assert "live: 10 simulated min per minute" in shown(a)
    ok(c.run())
    c.selectbox(key="seatpage_inc").set_value(iid)
    ok(c.pills(key="seatpage_step").set_value("verbal_report").run())
    c.multiselect(key="seatpage_to_verbal_report_en").set_value(["working_group"])
    ok(c.button(key="seatpage_do").click().run())
    assert "Cannot do that" not in shown(c)
    ok(a.run())
    calls = ringing(a)
    assert len(calls) == 1, shown(a)
    # 1.5 simulated minutes of ringing at 10 simulated minutes per minute: about 9 s
    found = re.search(r"([\d.]+) simulated min left \(about (\d+) s\)", calls[0])
    assert found and 0 < float(found[1]) <= 1.5 and 0 < int(found[2]) <= 9
    ok(call_buttons(a, "answer")[0].click().run())
    assert "You answered" in shown(a) and "Cannot do that" not in shown(a)
    recs = records(db, drill_id)
    assert [(r.target, r.outcome) for r in recs if r.action == "call"] == [("duty_day", "answered")]


def test_a_working_group_seat_grades_and_writes_a_note(db):
    drill_id, codes = new_drill(db)
    b = join(page(drill_id, "office_director"), codes["office_director"], name="Bob")
    iid = first_inject(db, drill_id)
    assert "Site A" not in shown(ok(b.run()))  # the office has not been told yet
    # the chief examiner (the trainer, on the console) reports; the duty desk's model answers
    live = DrillSession.load(db, drill_id)
    decision = live.step_decision(iid, "verbal_report", to=["working_group"])
    decision.pop("person", None)
    decision.update(seat="chief_examiner", real=True)
    ds.act(db, drill_id, live, decision, wall=time.time())
    assert "Site A" in shown(ok(b.run()))
    b.selectbox(key="seatpage_inc").set_value(iid)
    ok(b.pills(key="seatpage_step").set_value("graded").run())
    assert len(b.radio(key="seatpage_level").options) == 4  # every grade, none marked
    ok(b.button(key="seatpage_do").click().run())
    assert t("drill_err_choose_grade", "en") in shown(b)
    b.radio(key="seatpage_level").set_value("IV")
    ok(b.button(key="seatpage_do").click().run())
    assert label(live.plan, "grades", "IV", "en") in shown(b)  # the team's own grade
    assert DrillSession.load(db, drill_id).drill.team_grade[iid] == "IV"
    ok(b.pills(key="seatpage_step").set_value("note").run())
    b.text_area(key="seatpage_note").set_value("bags found in room 14?")
    ok(b.button(key="seatpage_do").click().run())
    assert t("seatpage_out_noted", "en") in shown(b)
    notes = [d for d in DrillSession.load(db, drill_id).drill.decisions if d["kind"] == "note"]
    assert notes, shown(b)
    assert notes[-1]["seat"] == "office_director" and notes[-1]["player"] == "Bob"
    assert b.text_area(key="seatpage_note").value == ""


# -- the app around it and the words ------------------------------------------------------------


def test_a_seat_url_has_no_navigation_no_sidebar_and_takes_its_language(db):
    drill_id, codes = new_drill(db)
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.query_params.update({"seat": "duty_desk", "lang": "zh"})
    ok(at.run())
    at.query_params["drill"] = str(drill_id)
    ok(at.switch_page("ui/seat.py").run())
    assert at.session_state["lang"] == "zh"
    assert not at.sidebar.children  # no language switch, no page menu
    assert not [r for r in at.radio if r.key == "lang_switch"]
    assert "值班" in shown(at) and [w for w in at.text_input if w.key == "seatpage_code"]
    at.text_input(key="seatpage_code").set_value(codes["duty_desk"])
    at.text_input(key="seatpage_name").set_value("张三")
    ok(at.button(key="seatpage_join_btn").click().run())
    assert "持有人：张三" in shown(at)
    # the page's own switch: English, kept in the address
    ok(at.button(key="seatpage_lang").click().run())
    assert at.query_params["lang"] == "en" and "Held by" in shown(ok(at.run()))


def test_the_seat_page_in_chinese_shows_no_ids_and_no_english(db):
    from test_i18n_walk import problems, visible_text

    drill_id, codes = new_drill(db)
    pages = {s: join(page(drill_id, s, lang="zh"), codes[s], name="测试员") for s in SEATS}
    found = visible_text(ok(page(drill_id, "duty_desk", lang="zh").run()))  # the code form
    iid = first_inject(db, drill_id)
    live = DrillSession.load(db, drill_id)
    ds.act(db, drill_id, live, {"kind": "adhoc", "seat": "duty_desk", "text": "请注意"})
    c = ok(pages["chief_examiner"].run())
    c.selectbox(key="seatpage_inc").set_value(iid)
    ok(c.pills(key="seatpage_step").set_value("written_report").run())
    ok(c.button(key="seatpage_do").click().run())  # an empty report: what it lacked
    ok(c.pills(key="seatpage_step").set_value("verbal_report").run())
    ok(c.button(key="seatpage_do").click().run())
    a = ok(pages["duty_desk"].run())
    assert ringing(a)
    for at in (a, c, ok(pages["office_director"].run())):
        found += visible_text(at)
    assert len(found) > 40
    bad = problems(found)
    assert not bad, "\n".join(sorted(set(bad)))


def test_every_key_the_seat_page_uses_exists_and_its_own_are_prefixed():
    text = PAGE.read_text(encoding="utf-8")
    used = set(re.findall(r"""\b(?:_t|tr|t)\(\s*["']([a-z][a-z0-9_]*)["']""", text))
    assert not sorted(used - set(catalogue()))
    import yaml

    own = yaml.safe_load((ROOT / "sim" / "strings" / "seat_page.yaml").read_text("utf-8"))
    assert own and all(k.startswith("seatpage_") for k in own)
    assert "true_grade" not in text and ".phone" not in text


def test_the_trainers_seat_panel_issues_codes_hands_seats_over_and_sets_the_clock(db):
    drill_id, _ = new_drill(db)
    trainer = AppTest.from_file(str(APP), default_timeout=60)
    trainer.session_state["lang"] = "zh"
    trainer.query_params["drill"] = str(drill_id)
    ok(trainer.run())
    ok(trainer.selectbox(key="seats_manage").set_value("leader").run())
    before = db.seats(drill_id).get("leader", {}).get("code")
    ok(trainer.button(key="seats_new_code_leader").click().run())
    code = db.seats(drill_id)["leader"]["code"]
    assert code and code != before
    assert any(code in str(m.value) for m in trainer.markdown)  # shown to the trainer
    ok(trainer.radio(key="seats_mode_leader").set_value("trainer").run())
    assert DrillSession.load(db, drill_id).drill.holders["leader"]["mode"] == "trainer"
    trainer.radio(key="seats_clock_mode").set_value("live")
    trainer.number_input(key="seats_clock_speed").set_value(12.0)
    ok(trainer.button(key="seats_clock_apply").click().run())
    clock = DrillSession.load(db, drill_id).drill.clock
    assert clock["mode"] == "live" and clock["running"] and clock["speed"] == 12.0
    ok(trainer.button(key="seats_clock_pause").click().run())
    assert not DrillSession.load(db, drill_id).drill.clock["running"]
