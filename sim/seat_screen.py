"""What one seat sees of a drill, what the trainer sees of every seat, and each seat's measured
response times.

A seat's screen holds only its own part: the calls ringing at it, the injects and incidents
that reached it, the procedure steps its role may take, and its own clocks judged as the team
sees them (:meth:`sim.drill.Drill.deadline_board` with ``team_view``). Never another seat's
answers, never the plan's grade, never a phone number (the roster's numbers are not in here).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.drill import Drill
from sim.rules import GAP_RULES
from sim.seats import Seat, at_site, can_take, seat_rules, working_group_seats

#: The outcomes of a report that reached the working group's office.
REACHED = ("received", "informed")
#: A seat's page that has not checked in for this long (wall-clock seconds) shows as away.
CONNECTED_SECONDS = 15.0


def known_incidents(drill: Drill, seat: Seat) -> dict[str, float]:
    """The incidents the seat knows of, with the minute it learned of each: the site's seats when
    it is discovered; others when a call to one of its people was answered, a report reached
    the office it is, or it acted; the working group's seats once the office was told."""
    out: dict[str, float] = {}

    def learn(iid: str, minute: float) -> None:
        if iid and (iid not in out or minute < out[iid]):
            out[iid] = minute

    if at_site(drill.plan, seat):
        for iid, minute in drill.discovered.items():
            learn(iid, minute)
    for ring in drill.rings:
        if ring.pid in seat.people and ring.outcome == "answered" and ring.end is not None:
            learn(ring.incident, ring.end)
    office = drill.office_role()
    wg = seat.id in working_group_seats(drill.plan)
    office_hears = office in seat.roles or wg
    for a in drill.records:
        answered = a.action == "call" and a.target in seat.people and a.outcome == "answered"
        told = office_hears and a.target == "working_group" and a.outcome in REACHED
        if answered or told or (a.actor in seat.people and a.incident):
            learn(a.incident, a.time)
    for d, o in zip(drill.decisions, drill.outcomes, strict=True):
        if d.get("seat") == seat.id and d.get("incident"):
            learn(str(d["incident"]), o.start)
    return out


def seat_steps(drill: Drill, seat: Seat, incident: str) -> list[str]:
    """The action menu of a seat for one incident: the steps offered now that its role takes."""
    office = drill.office_role()
    plan = drill.plan
    return [
        sid for sid in drill.steps_for(incident) if can_take(plan, seat, plan.step(sid), office)
    ]


def seat_calls(drill: Drill, seat: Seat) -> list[dict[str, Any]]:
    """The calls ringing at the seat now: ``call``, ``person`` (the one called), ``caller``,
    ``incident``, ``step``, ``start`` and ``until`` (simulated minutes)."""
    return [
        {
            "call": r.id,
            "person": r.pid,
            "caller": r.caller,
            "incident": r.incident,
            "step": r.step,
            "start": r.start,
            "until": r.until,
        }
        for r in drill.ringing(seat.id)
        if not r.answer.triggered
    ]


def seat_clocks(drill: Drill, seat: Seat, known: Mapping[str, float]) -> list[dict[str, Any]]:
    """The seat's own clocks on the incidents it knows, judged from the team's own grading (no
    grade, and no grade-only rule, before the team grades): rows of the team's board."""
    rules = set(seat_rules(drill.plan, seat, drill.office_role()))
    return [
        row
        for row in drill.deadline_board(team_view=True)
        if row["incident"] in known and row["rule"] in rules
    ]


def seat_messages(drill: Drill, seat: Seat) -> list[dict[str, Any]]:
    """The trainer's ad-hoc injects addressed to this seat (or to every seat)."""
    out = []
    for d, o in zip(drill.decisions, drill.outcomes, strict=True):
        if d.get("kind") == "adhoc" and d.get("seat") in (None, "", seat.id):
            out.append({"time": o.start, "incident": d.get("incident") or "", "text": d["text"]})
    return out


def seat_screen(drill: Drill, seat_id: str) -> dict[str, Any]:
    """Everything a seat's page shows, built from the drill alone (no grade, no phone)."""
    seat = drill.seat(seat_id)
    known = known_incidents(drill, seat)
    injects = [i for i in drill.injects() if i["id"] in known]
    for inj in injects:
        if seat.id not in working_group_seats(drill.plan):
            inj.pop("team_grade", None)  # the group's own decision: its seats see it
        inj["learned_at"] = known[inj["id"]]
    return {
        "seat": seat.id,
        "holder": drill.holders[seat.id],
        "now": drill.now,
        "calls": seat_calls(drill, seat),
        "injects": injects,
        "steps": {i["id"]: seat_steps(drill, seat, i["id"]) for i in injects},
        "clocks": seat_clocks(drill, seat, known),
        "messages": seat_messages(drill, seat),
        "log": seat_log(drill, seat),
    }


def seat_log(drill: Drill, seat: Seat) -> list[dict[str, Any]]:
    """The seat's own decisions and the calls that rang at it, in time order."""
    out: list[dict[str, Any]] = []
    for d, o in zip(drill.decisions, drill.outcomes, strict=True):
        if d.get("seat") == seat.id and d.get("kind") in ("step", "answer", "note"):
            out.append(
                {
                    "time": o.start,
                    "kind": d["kind"],
                    "incident": d.get("incident") or o.detail.get("incident") or "",
                    "step": d.get("step") or "",
                    "result": o.result,
                    "player": d.get("player") or "",
                }
            )
    return sorted(out, key=lambda x: x["time"])


def trainer_board(
    drill: Drill, store_seats: Mapping[str, Mapping[str, Any]], wall: float
) -> list[dict[str, Any]]:
    """Per seat, for the trainer: who holds it, whether its page is connected, the calls ringing
    there (with how long they have rung) and its clocks that have run out unmet."""
    late = {
        (r["incident"], r["rule"])
        for r in drill.deadline_board()
        if r["status"] == "missed" or (r["left_min"] is not None and r["left_min"] < 0)
    }
    rows = []
    for seat in drill.seats:
        info = store_seats.get(seat.id) or {}
        seen = info.get("last_seen")
        known = known_incidents(drill, seat)
        rules = set(seat_rules(drill.plan, seat, drill.office_role()))
        rows.append(
            {
                "seat": seat.id,
                "mode": drill.holders[seat.id]["mode"],
                "holder": drill.holders[seat.id]["holder"],
                "joined": bool(info.get("joined")),
                "connected": seen is not None and wall - float(seen) <= CONNECTED_SECONDS,
                "code": info.get("code"),
                "calls": [
                    {**c, "rung_min": round(drill.now - c["start"], 1)}
                    for c in seat_calls(drill, seat)
                ],
                "late": sorted((i, r) for i, r in late if i in known and r in rules),
            }
        )
    return rows


def seat_times(drill: Drill, verdicts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each seat a person or the trainer held: its measured response times — the minutes to
    answer each call that rang there, the calls not picked up, and per rule its role's steps
    stop the team's measured minutes beside the plan's allowed minutes — and the model's own
    answer time for its people (median, 90th percentile) as the simulated comparison."""
    held = {
        d["seat"]
        for d in drill.decisions
        if d.get("kind") == "seat" and d.get("mode") in ("player", "trainer")
    }
    out: dict[str, dict[str, Any]] = {}
    roster = drill.scenario.roster
    for seat in drill.seats:
        if seat.id not in held:
            continue
        rings = [r for r in drill.rings if r.pid in seat.people and r.end is not None]
        answered = [round(r.end - r.start, 2) for r in rings if r.outcome == "answered"]
        rules: dict[str, dict[str, Any]] = {}
        mine = set(seat_rules(drill.plan, seat, drill.office_role()))
        for v in verdicts:
            # a gap (the longest silence between follow-ups) is not a time to act
            if v["rule"] in GAP_RULES or v.get("status") not in ("met", "missed"):
                continue
            if v["rule"] in mine and v.get("measured_min") is not None:
                entry = rules.setdefault(
                    v["rule"], {"measured_min": [], "allowed_min": v.get("allowed_min")}
                )
                entry["measured_min"].append(round(float(v["measured_min"]), 1))
        sim = _model_answer(roster, drill, seat)
        out[seat.id] = {
            "holder": drill.holders[seat.id]["holder"],
            "answer_min": answered,
            "not_answered": sum(r.outcome == "unanswered" for r in rings),
            "rules": rules,
            "model_answer_p50": sim[0],
            "model_answer_p90": sim[1],
        }
    return out


def _model_answer(roster, drill: Drill, seat: Seat) -> tuple[float | None, float | None]:
    """The model's answer time for the seat's first person in their duty state now: the median
    and 90th percentile of the roster's ``answer_minutes`` (exact, from its quantiles)."""
    if not seat.people:
        return None, None
    person = next(p for p in roster.people if p.id == seat.people[0])
    dist = roster.reach_of(person, person.state_at(drill.now)).answer_minutes
    return round(dist.quantile(0.5), 2), round(dist.quantile(0.9), 2)


__all__ = [
    "CONNECTED_SECONDS",
    "known_incidents",
    "seat_calls",
    "seat_clocks",
    "seat_log",
    "seat_screen",
    "seat_steps",
    "seat_times",
    "trainer_board",
]
