"""Seats: players take the drill from their own devices (the engine and the store).

Exact traces on the shipped answer-sheet drill: a call to a seat-held person rings at the seat,
goes on to the backup when let ring, and answering costs the model's own answer time in a
turn-based drill; a live drill maps wall-clock seconds to simulated minutes and replays to the
identical state; join codes are one-time and end with the drill; several sessions acting on
one drill never store a decision taken on a stale copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import session as ds
from sim.drill import Drill, DrillError, scenario_from_text
from sim.seat_screen import seat_screen, seat_times, trainer_board
from sim.seats import can_take, drill_seats, normal_code
from sim.store import DrillStore, SeatConflict, StoreError

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "drill_answer_sheet_loss.yaml"


@pytest.fixture(scope="module")
def scenario():
    return scenario_from_text(ds.build_snapshot(SCENARIO, site="site_a", seed=3))


def _at_inject(scenario, held=("duty_desk", "office_director", "chief_examiner")) -> Drill:
    d = Drill(scenario, 3)
    for seat in held:
        d.apply({"kind": "seat", "seat": seat, "mode": "player", "holder": f"player {seat}"})
    d.apply({"kind": "advance", "to": d.upcoming()[0]["at"]})
    return d


def _report(d: Drill, **extra) -> object:
    inc = d.injects()[0]["id"]
    return d.apply(
        {
            "kind": "step",
            "incident": inc,
            "step": "verbal_report",
            "to": ["working_group"],
            "seat": "chief_examiner",
            **extra,
        }
    )


def test_seats_are_the_roles_at_the_drill_site(scenario):
    seats = {s.id: s.people for s in drill_seats(scenario, ["site_a"])}
    assert seats["duty_desk"] == ("duty_day", "duty_night")
    assert seats["chief_examiner"] == ("chief_a",)  # not site B's or C's chief examiner
    assert "chief_b" not in {p for people in seats.values() for p in people}


def test_unheld_seats_leave_the_drill_exactly_as_before(scenario):
    """Every seat automatic: the model's own draws answer, as in a drill without seats."""
    plain = Drill(scenario, 3)
    plain.apply({"kind": "advance", "to": plain.upcoming()[0]["at"]})
    _report(plain)
    seated = _at_inject(scenario, held=())
    _report(seated)
    assert seated.records == plain.records and not seated.rings


def test_call_rings_at_the_seat_goes_to_the_backup_and_is_answered(scenario):
    d = _at_inject(scenario)
    out = _report(d)
    assert out.result == "ringing" and d.now == 725.0
    [ring] = d.ringing("duty_desk")
    assert (ring.pid, ring.start, ring.until) == ("duty_day", 725.0, 726.5)
    assert not d.ringing("office_director")
    # let it ring: the caller waits out the ring (1.5 min), then the next in the chain rings
    d.apply({"kind": "answer", "call": ring.id, "answer": False, "seat": "duty_desk"})
    assert d.now == 726.5
    [ring2] = d.ringing("duty_desk")
    assert ring2.pid == "duty_night" and ring2.start == 726.5
    d.apply({"kind": "answer", "call": ring2.id, "answer": False, "seat": "duty_desk"})
    [ring3] = d.ringing("office_director")  # role:office_director, the chain's last
    assert ring3.pid == "office_director" and ring3.start == 728.0
    with pytest.raises(DrillError) as err:  # not the duty desk's call
        d.apply({"kind": "answer", "call": ring3.id, "answer": True, "seat": "duty_desk"})
    assert err.value.code == "not_your_call"
    out = d.apply({"kind": "answer", "call": ring3.id, "answer": True, "seat": "office_director"})
    assert out.result == "answered" and not d.ringing()
    calls = [(a.target, a.outcome) for a in d.records if a.action == "call"]
    assert calls == [
        ("duty_day", "unanswered"),
        ("duty_night", "unanswered"),
        ("office_director", "answered"),
    ]
    # turn-based: answering cost the model's answer time for that call, then the 5-min report
    assert ring3.end == pytest.approx(728.0 + ring3.delay)
    assert d.now == pytest.approx(ring3.end + 5.0)
    assert d.office_told(d.injects()[0]["id"])
    with pytest.raises(DrillError) as err:
        d.apply({"kind": "answer", "call": ring3.id, "answer": True})
    assert err.value.code == "call_over"


def test_turn_based_clock_waits_for_a_ringing_seat(scenario, tmp_path):
    with DrillStore(tmp_path / "d.sqlite") as store:
        drill_id = ds.create_drill(
            store, year=2027, site="site_a", path=SCENARIO, seed=3, lang="zh", players={}
        )
        live = ds.DrillSession.load(store, drill_id)
        live.apply(store, {"kind": "seat", "seat": "duty_desk", "mode": "player", "holder": "甲"})
        live.apply(store, {"kind": "advance", "to": live.drill.upcoming()[0]["at"]})
        inc = live.drill.injects()[0]["id"]
        step = {"kind": "step", "incident": inc, "step": "verbal_report", "to": ["working_group"]}
        assert live.apply(store, step).result == "ringing"
        now = live.drill.now
        assert live.tick(store, 5) is None and live.drill.now == now  # waits for the seat
        # a refresh (a new session from the store) finds the same call ringing
        again = ds.DrillSession.load(store, drill_id)
        assert [r.pid for r in again.drill.ringing()] == ["duty_day"]


def test_a_seat_takes_only_its_roles_steps(scenario):
    d = _at_inject(scenario)
    inc = d.injects()[0]["id"]
    with pytest.raises(DrillError) as err:
        d.apply(
            {"kind": "step", "incident": inc, "step": "graded", "level": "II", "seat": "duty_desk"}
        )
    assert err.value.code == "not_seat_step"
    plan = d.plan
    duty = d.seat("duty_desk")
    assert can_take(plan, duty, plan.step("office_informs"), "duty_desk")
    assert not can_take(plan, duty, plan.step("office_informs"), "office_director")
    assert can_take(plan, d.seat("leader"), plan.step("graded"), "duty_desk")


@pytest.mark.parametrize("mode", ["unheld", "auto"])
def test_giving_a_seat_to_the_model_answers_its_ringing_call_by_the_models_draw(scenario, mode):
    d = _at_inject(scenario)
    _report(d)
    [ring] = d.ringing()
    d.apply({"kind": "seat", "seat": "duty_desk", "mode": mode})
    assert ring.outcome == ("answered" if ring.would_answer else "unanswered")
    assert "duty_day" not in d._m.seat_phones


def test_a_seat_given_to_the_automatic_policy_takes_its_due_steps(scenario):
    """The site's seats given to the policy: the steps already due are taken at once, the
    later ones when they become due, never a step the team already took — and the records
    match the automatic policy's own run for those steps."""
    d = _at_inject(scenario, held=())
    inc = d.injects()[0]["id"]
    d.apply({"kind": "step", "incident": inc, "step": "control"})  # the team's own
    for seat in ("chief_examiner", "deputy_chief_examiner", "site_exam_staff"):
        d.apply({"kind": "seat", "seat": seat, "mode": "auto"})
    d.apply({"kind": "advance", "to": d.now + 240})
    site_steps = [
        a.action for a in d.records if a.actor in ("chief_a", "deputy_chief_a", "staff_a")
    ]
    assert site_steps.count("control") == 1
    assert "verbal_report" in site_steps and "written_report" in site_steps
    assert d.office_told(inc)
    # the working group is nobody's: the policy did not grade
    assert inc not in d.team_grade
    again = Drill.replay(scenario, 3, d.decisions)
    assert again.records == d.records


def test_live_clock_maps_wall_seconds_and_replays_identically(scenario):
    d = _at_inject(scenario, held=("duty_desk",))
    start = d.now
    d.apply({"kind": "clock", "mode": "live", "speed": 10, "running": True, "wall": 1000.0})
    assert d.sim_at(1000.0 + 30) == pytest.approx(start + 5.0)  # 30 s at 10 min/min
    d.run_to(d.sim_at(1030.0))
    at = round(d.sim_at(1036.0), 4)
    out = _report(d, at=at, real=True)
    assert out.result == "ringing" and d.now == at
    ring = d.ringing()[0]
    # the player answers 12 real seconds later: 2 simulated minutes > the 1.5-min ring
    late = round(d.sim_at(1048.0), 4)
    d.run_to(late)
    assert ring.outcome == "unanswered"
    nxt = d.ringing()[0]
    answer_at = round(d.sim_at(1050.0), 4)
    d.apply(
        {"kind": "answer", "call": nxt.id, "answer": True, "seat": "duty_desk", "at": answer_at}
    )
    assert nxt.end == pytest.approx(answer_at)  # live: the real delay is the answer time
    d.run_to(answer_at + 30)
    again = Drill.replay(scenario, 3, d.decisions)
    again.run_to(d.now)
    assert again.records == d.records
    with pytest.raises(DrillError):
        d.apply({"kind": "note", "text": "x", "at": answer_at})  # the clock cannot go back
    with pytest.raises(DrillError) as err:
        d.apply(
            {"kind": "clock", "mode": "live", "speed": float("nan"), "running": True, "wall": 1}
        )
    assert err.value.code == "bad_speed"


def test_seat_screen_shows_its_own_part_only(scenario):
    d = _at_inject(scenario)
    _report(d)
    chief, duty = seat_screen(d, "chief_examiner"), seat_screen(d, "duty_desk")
    assert [c["person"] for c in duty["calls"]] == ["duty_day"] and not chief["calls"]
    assert [i["id"] for i in chief["injects"]] == ["sheets_lost"]
    assert not duty["injects"]  # the duty desk has not picked up yet: it knows nothing
    assert "graded" not in chief["steps"]["sheets_lost"]
    text = repr(chief) + repr(duty)
    for p in scenario.roster.people:
        assert not p.phone or p.phone not in text
    assert "team_grade" not in chief["injects"][0]
    board = {r["seat"]: r for r in trainer_board(d, {}, 0.0)}
    assert [c["person"] for c in board["duty_desk"]["calls"]] == ["duty_day"]
    assert board["leader"]["mode"] == "unheld"


def test_seat_times_measure_answers_and_rules(scenario):
    d = _at_inject(scenario)
    _report(d)
    d.apply({"kind": "answer", "call": 1, "answer": True, "seat": "duty_desk"})
    card = ds.Scorecard.of_drill(d)
    times = card.seat_times
    assert set(times) == {"duty_desk", "office_director", "chief_examiner"}
    assert times["duty_desk"]["answer_min"] == [round(d.rings[0].end - d.rings[0].start, 2)]
    assert times["duty_desk"]["not_answered"] == 0
    assert times["duty_desk"]["model_answer_p50"] <= times["duty_desk"]["model_answer_p90"]
    assert ds.Scorecard.from_dict(card.to_dict()).seat_times == times
    assert seat_times(d, card.verdicts) == times


def test_join_codes_are_one_time_and_end_with_the_drill(tmp_path):
    with DrillStore(tmp_path / "d.sqlite") as store:
        drill_id = ds.create_drill(
            store, year=2027, site="site_a", path=SCENARIO, seed=3, lang="zh", players={}
        )
        code = store.issue_seat_code(drill_id, "duty_desk")
        assert len(code) == 6 and store.seats(drill_id)["duty_desk"]["code"] == code
        with pytest.raises(StoreError) as err:
            store.join_seat(drill_id, "duty_desk", "WRONG1")
        assert err.value.key == "store_seat_wrong_code"
        assert store.seats(drill_id)["duty_desk"]["tries"] == 1  # counted though refused
        with pytest.raises(StoreError):
            store.join_seat(drill_id, "office_director", code)  # another seat's code
        token = store.join_seat(drill_id, "duty_desk", " " + code.lower()[:3] + "-" + code[3:])
        assert store.seat_token_ok(drill_id, "duty_desk", token)
        assert not store.seat_token_ok(drill_id, "office_director", token)
        assert not store.seat_token_ok(drill_id, "duty_desk", token + "x")
        info = store.seats(drill_id)["duty_desk"]
        assert info["joined"] and info["code"] is None and info["last_seen"] is not None
        with pytest.raises(StoreError) as err:
            store.join_seat(drill_id, "duty_desk", code)  # one-time
        assert err.value.key == "store_seat_no_code"
        # a new code for the seat ends the old session
        store.issue_seat_code(drill_id, "duty_desk")
        assert not store.seat_token_ok(drill_id, "duty_desk", token)
        token = store.join_seat(drill_id, "duty_desk", store.seats(drill_id)["duty_desk"]["code"])
        ds.DrillSession.load(store, drill_id).end(store, reps=5)
        assert not store.seat_token_ok(drill_id, "duty_desk", token)
        with pytest.raises(StoreError) as err:
            store.issue_seat_code(drill_id, "duty_desk")
        assert err.value.key == "store_seat_ended"


def test_too_many_wrong_codes_void_the_code(tmp_path):
    with DrillStore(tmp_path / "d.sqlite") as store:
        drill_id = ds.create_drill(
            store, year=2027, site="site_a", path=SCENARIO, seed=3, lang="zh", players={}
        )
        code = store.issue_seat_code(drill_id, "duty_desk")
        for _ in range(10):
            with pytest.raises(StoreError):
                store.join_seat(drill_id, "duty_desk", "AAAAAA")
        with pytest.raises(StoreError) as err:
            store.join_seat(drill_id, "duty_desk", code)
        assert err.value.key == "store_seat_no_code"
    assert normal_code(" ab-c d ") == "ABCD"


def test_two_sessions_never_store_a_decision_taken_on_a_stale_drill(tmp_path):
    """Seat A and seat B both see the call; A answers first; B's answer, taken on its copy,
    is not stored: act() rebuilds B's copy and the answer is refused there (call over)."""
    with DrillStore(tmp_path / "d.sqlite") as store:
        drill_id = ds.create_drill(
            store, year=2027, site="site_a", path=SCENARIO, seed=3, lang="zh", players={}
        )
        trainer = ds.DrillSession.load(store, drill_id)
        trainer.apply(store, {"kind": "seat", "seat": "duty_desk", "mode": "player"})
        trainer.apply(store, {"kind": "advance", "to": trainer.drill.upcoming()[0]["at"]})
        inc = trainer.drill.injects()[0]["id"]
        trainer.apply(
            store,
            {"kind": "step", "incident": inc, "step": "verbal_report", "to": ["working_group"]},
        )
        a = ds.DrillSession.load(store, drill_id)
        b = ds.DrillSession.load(store, drill_id)
        answer = {"kind": "answer", "call": 1, "answer": True, "seat": "duty_desk"}
        a.apply(store, answer)
        with pytest.raises(SeatConflict):
            b.apply(store, answer)
        with pytest.raises(DrillError) as err:
            ds.act(store, drill_id, b, answer)
        assert err.value.code == "call_over"
        n = len(store.actions(drill_id))
        _, out = ds.act(store, drill_id, b, {"kind": "note", "text": "ok", "seat": "duty_desk"})
        assert out.result == "noted" and len(store.actions(drill_id)) == n + 1
        # every stored decision replays
        assert (
            ds.DrillSession.load(store, drill_id).drill.records
            == ds.sync(None, store, drill_id).drill.records
        )


def test_scorecard_shows_each_seats_times_in_both_languages(scenario):
    from ui.drill_view import seat_time_rows

    d = _at_inject(scenario)
    _report(d)
    d.apply({"kind": "answer", "call": 1, "answer": True, "seat": "duty_desk"})
    card = ds.Scorecard.of_drill(d)
    zh = seat_time_rows(card, scenario.plan, "zh")
    en = seat_time_rows(card, scenario.plan, "en")
    assert [r["席位"] for r in zh] == ["办公室主任", "考务指挥中心值班", "主考"] or len(zh) == 3
    duty_zh = next(r for r in zh if "值班" in r["席位"])
    assert "1次接听" in duty_zh["接听用时（中位数）"]
    duty_en = next(r for r in en if "duty" in r["Seat"].lower())
    assert "calls answered: 1" in duty_en["Time to answer (median)"]


def test_live_decisions_are_never_refused_for_rounding(tmp_path):
    """A live drill's decision is stored at its minute rounded for the record: never below
    the clock a session already ran to (the wall clock's minute has more decimals)."""
    with DrillStore(tmp_path / "d.sqlite") as store:
        drill_id = ds.create_drill(
            store, year=2027, site="site_a", path=SCENARIO, seed=3, lang="zh", players={}
        )
        live = ds.DrillSession.load(store, drill_id)
        wall = 1_000_000.0
        live.apply(store, {"kind": "clock", "mode": "live", "speed": 7, "running": True}, wall=wall)
        for i in range(40):
            wall += 0.3137
            live, out = ds.act(store, drill_id, live, {"kind": "note", "text": f"n{i}"}, wall=wall)
            assert out.result == "noted"
        again = ds.DrillSession.load(store, drill_id)
        assert again.drill.records == live.drill.records


def test_the_trainers_panel_follows_the_store_once_a_code_is_out(tmp_path):
    """The seat panel refreshes itself as soon as a join code exists: a player may join (and
    a call ring at their seat) without the trainer touching the console."""
    from ui.seats_panel import any_players

    with DrillStore(tmp_path / "d.sqlite") as store:
        drill_id = ds.create_drill(
            store, year=2027, site="site_a", path=SCENARIO, seed=3, lang="zh", players={}
        )
        live = ds.DrillSession.load(store, drill_id)
        assert not any_players(live, store)
        store.issue_seat_code(drill_id, "duty_desk")
        assert any_players(live, store)


def test_a_live_drill_stores_the_trainers_decisions_at_their_minute(tmp_path, monkeypatch):
    """The console's decisions carry no wall time of their own: in a live drill they are taken
    (and stored) at the wall clock's minute, so a replay puts them at the same minute; a skip
    ahead re-anchors the live clock there."""
    import sim.session as session_module

    clock = [2_000_000.0]
    monkeypatch.setattr(session_module.time, "time", lambda: clock[0])
    with DrillStore(tmp_path / "d.sqlite") as store:
        drill_id = ds.create_drill(
            store, year=2027, site="site_a", path=SCENARIO, seed=3, lang="zh", players={}
        )
        live = ds.DrillSession.load(store, drill_id)
        start = live.drill.now
        live.apply(store, {"kind": "clock", "mode": "live", "speed": 6, "running": True})
        clock[0] += 60.0  # one real minute: six simulated minutes
        live.catch_up(clock[0])
        live.apply(store, {"kind": "note", "text": "at six"})
        assert live.drill.now == pytest.approx(start + 6)
        live.apply(store, {"kind": "advance", "to": start + 30})
        clock[0] += 10.0
        assert live.drill.sim_at(clock[0]) == pytest.approx(start + 31)
        again = ds.DrillSession.load(store, drill_id)
        assert again.drill.records == live.drill.records
        assert again.drill.outcomes[1].start == pytest.approx(start + 6)
