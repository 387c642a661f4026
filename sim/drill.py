"""A drill: a human team takes the automatic policy's place, on the same model.

A drill is event-sourced: ``(scenario snapshot, seed, decisions)`` is its whole state. Each
decision — advance the clock, grade, report, call, activate, dispatch, close, note — is applied
to a live SimPy model at the current simulated time and costs the time the model says. Replaying
the same decisions with the same seed rebuilds the identical state, which is how a drill survives
a browser refresh or an app restart, and how the expert group replays it step by step.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sim.causes import Trace, explain_misses
from sim.i18n import t
from sim.model import Model
from sim.plan import (
    BODY_IDS,
    CONTENT_IDS,
    FAMILIES,
    GRADES,
    INCIDENT_FIELDS,
    PHASES,
    ROLE_IDS,
    SCOPES,
    parse_plan,
)
from sim.policy import start_step, when_ready
from sim.records import Action
from sim.rules import MISSED, REPORT_STEPS, Verdict, verdicts
from sim.scenario import DAY, Incident, Scenario, format_time, parse_scenario
from sim.seats import SEAT_MODES, Seat, can_take, seat_of, seats_of
from sim.steps import arrive, perform
from sim.streams import Streams
from sim.yamlio import LineDict, dump_yaml, load_file, load_text

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

ACTION_KINDS = (
    "advance",
    "step",
    "control",
    "grade",
    "report",
    "call",
    "special_plan",
    "emergency_state",
    "duty_24h",
    "close",
    "note",
    "inject",  # the trainer sends a scripted inject now instead of at its time
    "adhoc",  # the trainer's own message to the team, stored as a decision
    "seat",  # who holds a seat: a player, the trainer, or nobody (the model answers)
    "answer",  # a seat answers (or lets ring) a call ringing there
    "clock",  # the clock's mode (turn-based or live), its speed, running or paused
)
#: How the drill's clock moves: ``turn`` — only by decisions, each costing the model's time,
#: and waiting while a call rings at a seat; ``live`` — with the wall clock at ``speed``
#: simulated minutes per real minute, a player's real delay being the time it took.
CLOCK_MODES = ("turn", "live")
#: The fastest live clock (simulated minutes per real minute): a call's ring must stay answerable.
MAX_SPEED = 60.0
OUTSIDE_BODIES = BODY_IDS  # every body a team may report to (the plan's own list)


class DrillError(ValueError):
    """A decision the drill cannot take now, as a stable ``code`` and its ``params``.

    ``DrillError("after_close", step="evaluation")``: the pages show the catalogue's
    ``drill_err_<code>`` in the team's language (:func:`sim.labels.error_text`) and never match
    the text; ``str(err)`` is the English sentence with the ids as written, for the CLI and logs.
    A code the catalogue does not know is kept as the message itself.
    """

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        words = {
            k: ", ".join(map(str, v)) if isinstance(v, list | tuple) else v
            for k, v in params.items()
        }
        key = f"drill_err_{code}"
        try:
            text = t(key, "en", **words)
        except (KeyError, IndexError, ValueError):
            text = key
        super().__init__(code if text == key else text)

    def text(self, lang: str, plan=None, scenario=None) -> str:
        """The refusal in ``lang`` (``zh`` or ``en``), with steps and roles in the plan's words."""
        from sim.labels import error_text

        return error_text(self, lang, plan, scenario)


@dataclass(frozen=True)
class Outcome:
    """What one decision did: the records it produced and a short result key for the UI."""

    kind: str
    result: str  # e.g. answered / unanswered / busy / received / graded / closed / advanced
    start: float
    end: float
    detail: dict[str, Any] = field(default_factory=dict)
    records: tuple[Action, ...] = ()


def snapshot_text(path: str | Path, incidents: Iterable[Incident] | None = None) -> str:
    """A self-contained YAML text of a scenario: plan and roster inlined, incidents replaced if given.

    Stored with a drill, so a later edit of the scenario, roster or plan file never changes a
    stored drill's replay.
    """
    path = Path(path)
    data = plain_data(load_file(path))
    base = path.parent
    if isinstance(data.get("plan"), str):
        data["plan"] = plain_data(load_file(base / data["plan"]))
    elif "plan" not in data:
        data["plan"] = plain_data(load_file(SCENARIO_DIR / "plan.yaml"))
    if isinstance(data.get("roster"), str):
        roster = plain_data(load_file(base / data["roster"]))
        data["roster"] = roster.get("roster", roster)
    timing = data.get("timing")
    ref = timing if isinstance(timing, str) else (timing or {}).get("include")
    if isinstance(ref, str):  # a timing file (e.g. calibrated) goes into the snapshot too
        inline = (
            {k: v for k, v in timing.items() if k != "include"} if isinstance(timing, dict) else {}
        )
        data["timing"] = {**inline, **plain_data(load_file(base / ref))}
    if incidents is not None:
        data["incidents"] = [incident_to_dict(i) for i in incidents]
    return dump_yaml(data)  # never an alias: the snapshot must load back


def incident_to_dict(inc: Incident) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": inc.id,
        "at": format_time(inc.at),
        "site": inc.site,
        "family": inc.family,
    }
    for key in INCIDENT_FIELDS:
        value = getattr(inc, key)
        if value is not None:
            out[key] = value
    if inc.discovered_after is not None:
        out["discovered_after_minutes"] = float(inc.discovered_after)
    if inc.text_zh:
        out["text_zh"] = inc.text_zh
    if inc.text_en:
        out["text_en"] = inc.text_en
    return out


def scenario_from_text(text: str, name: str = "<drill>") -> Scenario:
    """Parse a snapshot (plan and roster may be inline mappings)."""
    data = load_text(text, name)
    plan = None
    if isinstance(data, dict) and isinstance(data.get("plan"), dict):
        plan = parse_plan(data["plan"], f"{name}#plan")
        data = LineDict({k: v for k, v in data.items() if k != "plan"})
    return parse_scenario(data, str(SCENARIO_DIR / name), plan=plan, text=text)


def plain_data(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_data(v) for v in value]
    return value


_FAMILY_FACTS = {
    "leak": {"scope": ["sites", "local_area", "wider"], "phase": ["before_exam"]},
    "answer_sheet_loss": {
        "people": (20, 1500),
        "scope": ["room", "rooms"],
        "phase": ["during_exam"],
    },
    "distribution_error": {
        "people": (30, 300),
        "scope": ["room", "rooms", "site", "sites"],
        "phase": ["during_exam"],
    },
    "disaster": {"scope": ["room", "site", "local_area"], "phase": ["before_exam", "during_exam"]},
    "group_cheating": {
        "people": (10, 120),
        "scope": ["room", "rooms", "site"],
        "phase": ["during_exam"],
    },
    "score_error": {"people": (5, 3000), "scope": ["site"], "phase": ["after_publication"]},
    "online_info": {
        "scope": ["site", "local_area", "wider"],
        "phase": ["before_exam", "during_exam"],
    },
}


def generate_incidents(scenario: Scenario, seed: int, count: int = 2) -> tuple[Incident, ...]:
    """Incidents drawn at random from the plan's families, so a team cannot rehearse the script.

    Drawn from the named ``drill_generator`` stream of ``seed``; times fall inside the
    scenario's exam sessions (or its first day's office hours when it has none).
    """
    rng = Streams(seed)["drill_generator"]
    sessions = scenario.sessions or ()
    out = []
    for i in range(count):
        family = FAMILIES[int(rng.integers(len(FAMILIES)))]
        spec = _FAMILY_FACTS[family]
        site = scenario.sites[int(rng.integers(len(scenario.sites)))]
        if sessions:
            sess = sessions[int(rng.integers(len(sessions)))]
            at = sess.start + float(rng.integers(10, max(11, int(sess.end - sess.start))))
        else:
            at = 9 * 60 + float(rng.integers(0, 8 * 60))
        facts: dict[str, Any] = {}
        if "people" in spec:
            lo, hi = spec["people"]
            facts["people"] = int(rng.integers(lo, hi + 1))
        facts["scope"] = spec["scope"][int(rng.integers(len(spec["scope"])))]
        facts["phase"] = spec["phase"][int(rng.integers(len(spec["phase"])))]
        if family == "distribution_error":
            facts["spares_enough"] = bool(rng.random() < 0.5)
            facts["time_recoverable"] = bool(rng.random() < 0.5)
        if family in ("answer_sheet_loss", "score_error") and "people" not in facts:
            facts["people"] = 50
        out.append(
            Incident(
                id=f"g{i + 1}",
                at=float(round(at)),
                site=site.id,
                family=family,
                discovered_after=float(rng.integers(5, 40)),
                **facts,
            )
        )
    ordered = sorted(out, key=lambda x: (x.at, x.id))
    # numbered in time order, so g1 is always the first inject the team sees
    return tuple(replace(inc, id=f"g{n}") for n, inc in enumerate(ordered, 1))


class Drill:
    """A live drill: the clock, the injects seen so far, and the team's decisions.

    Use :meth:`apply` with decision dicts ``{"kind": ..., ...}``; the same list applied to a
    fresh ``Drill(scenario, seed)`` rebuilds the same state (:meth:`replay`). The team's main
    decision is ``{"kind": "step", "incident", "step", "to", "content", "level", "person"}``:
    one step of the plan's procedure, run through the same interpreter as the automatic policy
    (:func:`sim.steps.perform`), so it costs the same time and leaves the same records.
    Older decision kinds (``control``, ``grade``, ``report``, ``call``, …) are read as steps,
    so stored drills replay.
    """

    def __init__(self, scenario: Scenario, seed: int, *, start: float | None = None):
        self.scenario = scenario
        self.seed = int(seed)
        self._m = Model(scenario, seed, 0)
        self.decisions: list[dict[str, Any]] = []
        self.outcomes: list[Outcome] = []
        self.plan = scenario.plan
        self.incidents = {inc.id: inc for inc in self._m.incidents}
        self._bodies_steps = frozenset(s.id for s in self.plan.procedure if _body_acts(s))
        for inc in self._m.incidents:
            arrive(self._m, inc)
            # outside bodies act on their own (the department reports up when it is told):
            # the world around the team runs as in the automatic policy
            when_ready(self._m, inc, self._bodies_steps)
        first = min((i.at for i in self._m.incidents), default=0.0)
        self.start = float(start if start is not None else max(0.0, first - 15))
        #: the drill's seats (:mod:`sim.seats`) and who holds each: ``{"mode", "holder"}``
        self.seats: tuple[Seat, ...] = seats_of(scenario, self._m.incidents)
        self.holders: dict[str, dict[str, str]] = {
            s.id: {"mode": "unheld", "holder": ""} for s in self.seats
        }
        #: steps the policy would have taken for an ``auto`` seat when they became due, but no
        #: seat was automatic then: (incident, step) -> the milestone that made it due
        self._due: dict[tuple[str, str], tuple | None] = {}
        team_steps = frozenset(
            s.id for s in self.plan.procedure if s.kind != "event" and not _body_acts(s)
        )
        for inc in self._m.incidents:
            when_ready(self._m, inc, team_steps, gate=self._policy_takes)
        #: the clock (``mode``, ``speed``, ``running``) and its anchor: simulated minute ``sim``
        #: at wall-clock second ``wall`` (live mode runs on from there)
        self.clock: dict[str, Any] = {
            "mode": "turn",
            "speed": 1.0,
            "running": False,
            "sim": self.start,
            "wall": None,
        }
        self._run_until(self.start)

    def _send_now(self, d: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """A scripted inject the team has not had yet, sent now: it happens and is discovered
        at this minute (the trainer's "send now")."""
        iid = d.get("incident")
        if iid not in self.incidents:
            raise DrillError("unknown_incident", incident=iid)
        if iid in self.discovered:
            raise DrillError("already_sent", incident=iid)
        inc, m = self.incidents[iid], self._m
        if not m.reached(iid, "occurred"):
            m.log(iid, "site", "occurred", target=inc.site, detail=inc.family)
            m.reach(iid, "occurred")
        m.log(iid, "site", "discovered", target=inc.site)
        m.span(iid, "discovered", "", "discovery", self.now, who=inc.site)
        m.reach(iid, "discovered")
        self._run_until(self.now)
        return "sent", {"incident": iid}

    def upcoming(self) -> list[dict[str, Any]]:
        """The scripted injects the team has not had yet, soonest first (the trainer's list):
        ``id`` and ``at`` (when it will reach the team)."""
        seen, occurred_at = self.discovered, self._times("occurred")
        out = []
        for i in self._m.incidents:
            if i.id in seen:
                continue
            occurred = occurred_at.get(i.id, i.at)
            out.append(
                {"id": i.id, "at": occurred + self._m.fates[i.id].minutes("discovery_minutes")}
            )
        return sorted(out, key=lambda x: (x["at"], x["id"]))

    def adhoc_injects(self) -> list[dict[str, Any]]:
        """The trainer's own messages so far: ``time``, ``incident`` (may be empty), ``text``."""
        return [
            {"time": a.time, "incident": a.incident, "text": a.detail}
            for a in self._m.records
            if a.action == "inject" and a.actor == "trainer"
        ]

    # -- what the team may see (never the model's private state) ----------------------------------
    @property
    def now(self) -> float:
        return float(self._m.env.now)

    @property
    def records(self) -> list[Action]:
        return self._m.records

    def _times(self, step: str, outcome: str | None = None) -> dict[str, float]:
        out: dict[str, float] = {}
        for a in self._m.records:
            if a.action == step and (outcome is None or a.outcome == outcome):
                out.setdefault(a.incident, a.time)
        return out

    @property
    def discovered(self) -> dict[str, float]:
        return self._times("discovered")

    @property
    def resolved(self) -> dict[str, float]:
        return self._times("resolved")

    @property
    def closed(self) -> dict[str, float]:
        return self._times("closed", "done")

    @property
    def team_grade(self) -> dict[str, str]:
        return dict(self._m.assigned_grade)

    def office_role(self) -> str:
        """Who acts as the working group's office now (the duty desk during exams)."""
        return self._m.office_role()

    def true_grade(self, incident: str) -> str:
        """The plan's grade (for the trainer's scorecard, never for the team's screens)."""
        return self._m.true_grade[incident]

    def next_inject_at(self) -> float | None:
        """When the next incident not yet discovered will be (its inject time), if any."""
        times = [x["at"] for x in self.upcoming()]
        return min(times) if times else None

    def injects(self) -> list[dict[str, Any]]:
        """Incidents the team has been told of (discovered by now), with their facts."""
        out = []
        seen, closed, resolved, graded = (
            self.discovered,
            self.closed,
            self.resolved,
            self.team_grade,
        )
        for inc in self._m.incidents:
            if inc.id in seen:
                site = self.scenario.site(inc.site)
                out.append(
                    {
                        "id": inc.id,
                        "discovered_at": seen[inc.id],
                        "occurred_at": inc.at,
                        "site": inc.site,
                        "site_zh": site.name_zh,
                        "site_en": site.name_en,
                        "family": inc.family,
                        "facts": inc.facts(),
                        "text_zh": inc.text_zh,
                        "text_en": inc.text_en,
                        "team_grade": graded.get(inc.id),
                        "closed": inc.id in closed,
                        "resolved": inc.id in resolved,
                    }
                )
        return out

    def steps_for(self, incident: str) -> list[str]:
        """The procedure's steps a team can take for an incident now (the action menu): the
        office's steps once a report has reached it; the evaluation and final report once closed."""
        inc = self.incidents[incident]
        closed = incident in self.closed
        told = self.office_told(incident)
        out = []
        for step in self.plan.procedure:
            if step.kind == "event" or _body_acts(step):
                continue
            if not step.fits(inc.family):
                continue
            if closed != (step.id in _AFTER_CLOSE):
                continue
            if step.by == "office" and not told:
                continue  # the office acts on what it has been told
            out.append(step.id)
        return out

    # -- decisions -------------------------------------------------------------------------------
    def apply(self, decision: dict[str, Any]) -> Outcome:
        """Take one decision now; raises :class:`DrillError` (state unchanged) if it cannot be taken."""
        kind = decision.get("kind")
        if kind not in ACTION_KINDS:
            raise DrillError("unknown_action", kind=kind)
        step_decision = (
            decision
            if kind in ("advance", "note", "step", "inject", "adhoc", "seat", "answer", "clock")
            else _as_step(self, decision)
        )
        at = decision.get("at")
        if at is not None:
            # a live drill's decision is taken at the minute its wall-clock time maps to
            if not isinstance(at, int | float) or isinstance(at, bool) or at < self.now - 1e-9:
                raise DrillError("advance_back")
            self._run_until(float(at))
        before = len(self._m.records)
        start = self.now
        if kind == "seat":
            result, detail = self._hold_seat(decision)
        elif kind == "answer":
            result, detail = self._answer(decision)
        elif kind == "clock":
            result, detail = self._set_clock(decision)
        elif step_decision["kind"] == "advance":
            result, detail = self._advance(step_decision)
        elif step_decision["kind"] == "note":
            self._check_incident(decision, optional=True)
            self._m.log(
                decision.get("incident") or "",
                "team",
                "note",
                detail=str(decision.get("text", ""))[:2000],
            )
            result, detail = "noted", {}
        elif kind == "inject":
            result, detail = self._send_now(decision)
        elif kind == "adhoc":
            text = str(decision.get("text", "")).strip()[:2000]
            if not text:
                raise DrillError("adhoc_empty")
            if decision.get("incident"):
                self._check_incident(decision)
            self._m.log(decision.get("incident") or "", "trainer", "inject", detail=text)
            result, detail = "sent", {}
        else:
            result, detail = self._step(step_decision)
        out = Outcome(kind, result, start, self.now, detail, tuple(self._m.records[before:]))
        self.decisions.append(copy.deepcopy(decision))
        self.outcomes.append(out)
        return out

    def _check_incident(self, d: dict[str, Any], optional: bool = False) -> Incident | None:
        iid = d.get("incident")
        if optional and not iid:
            return None
        if not iid:
            raise DrillError("choose_incident")
        if iid not in self.incidents:
            raise DrillError("unknown_incident", incident=iid)
        if iid not in self.discovered:
            raise DrillError("not_discovered", incident=iid)
        return self.incidents[iid]

    def _advance(self, d):
        to = d.get("to")
        if not isinstance(to, int | float) or isinstance(to, bool) or to < self.now:
            raise DrillError("advance_back")
        self._run_until(float(to))
        wall = d.get("wall")
        if self.clock["running"] and isinstance(wall, int | float) and not isinstance(wall, bool):
            # a live clock skipped ahead runs on from here
            self.clock = {**self.clock, "sim": self.now, "wall": float(wall)}
        return "advanced", {"to": self.now}

    # -- seats, calls at seats and the clock -------------------------------------------------------
    def seat(self, sid: str) -> Seat:
        found = next((s for s in self.seats if s.id == sid), None)
        if found is None:
            raise DrillError("unknown_seat", seat=sid)
        return found

    def ringing(self, seat: str | None = None) -> list[Any]:
        """Calls ringing now (at ``seat`` only, if given), oldest first (:class:`sim.model.Ring`)."""
        people = self.seat(seat).people if seat is not None else None
        return [r for r in self._m.ringing.values() if people is None or r.pid in people]

    @property
    def rings(self) -> list[Any]:
        """Every call that rang at a seat, answered or not."""
        return list(self._m.rings)

    def seat_of_person(self, pid: str) -> Seat | None:
        return seat_of(self.seats, pid)

    def _hold_seat(self, d: dict[str, Any]):
        seat = self.seat(d.get("seat"))
        mode = d.get("mode")
        if mode not in SEAT_MODES:
            raise DrillError("bad_seat_mode", mode=mode)
        holder = str(d.get("holder") or "").strip()[:80]
        if holder and holder in self._m.people and holder not in seat.people:
            raise DrillError("not_seat_person", person=holder, seat=seat.id)
        self.holders[seat.id] = {"mode": mode, "holder": holder}
        self._m.seat_phones = frozenset(
            pid
            for s in self.seats
            if self.holders[s.id]["mode"] in ("player", "trainer")
            for pid in s.people
        )
        if mode in ("unheld", "auto"):
            # nobody at the seat now: its ringing phones are answered as the model would have
            for ring in self.ringing(seat.id):
                ring.answer.succeed(ring.delay if ring.would_answer else None)
        if mode == "auto":
            # the policy takes over: the seat's steps already due are taken now
            for (iid, sid), trigger in list(self._due.items()):
                inc, step = self.incidents[iid], self.plan.step(sid)
                if self._policy_takes(inc, step, trigger):
                    del self._due[(iid, sid)]
                    start_step(self._m, inc, step, trigger)
        self._settle(None)
        return "seated", {"seat": seat.id, "mode": mode}

    def _policy_takes(self, inc: Incident, step, trigger: tuple | None) -> bool:
        """Whether the automatic policy takes a step now due: only for a seat given to it
        (``auto``) whose role takes the step, and only once (not after the team took it)."""
        office = self._m.office_role()
        if not self._m.reached(inc.id, step.id) and any(
            self.holders[s.id]["mode"] == "auto" and can_take(self.plan, s, step, office)
            for s in self.seats
        ):
            return True
        self._due[(inc.id, step.id)] = trigger
        return False

    def _answer(self, d: dict[str, Any]):
        ring = self._m.ringing.get(d.get("call"))
        if ring is None or ring.answer.triggered:
            raise DrillError("call_over", call=d.get("call"))
        if d.get("seat") is not None and ring.pid not in self.seat(d["seat"]).people:
            raise DrillError("not_your_call", seat=d["seat"])
        yes = bool(d.get("answer", True))
        # turn-based: answering costs the model's own answer time for this call; live: the
        # player's real delay has already passed on the clock
        extra = (ring.delay if self.clock["mode"] == "turn" else 0.0) if yes else None
        ring.answer.succeed(extra)
        self._settle(ring.proc)
        detail = {"call": ring.id, "person": ring.pid, "incident": ring.incident}
        return ("answered" if yes else "let_ring"), detail

    def _set_clock(self, d: dict[str, Any]):
        mode = d.get("mode", self.clock["mode"])
        if mode not in CLOCK_MODES:
            raise DrillError("bad_clock_mode", mode=mode)
        speed = d.get("speed", self.clock["speed"])
        if (
            not isinstance(speed, int | float)
            or isinstance(speed, bool)
            or not 0.1 <= speed <= MAX_SPEED  # NaN fails this too
        ):
            raise DrillError("bad_speed", speed=speed, max=MAX_SPEED)
        wall = d.get("wall")
        running = bool(d.get("running", False)) and mode == "live"
        if running and (not isinstance(wall, int | float) or isinstance(wall, bool)):
            raise DrillError("bad_wall")
        self.clock = {
            "mode": mode,
            "speed": float(speed),
            "running": running,
            "sim": self.now,
            "wall": float(wall) if running else None,
        }
        return "clock", dict(self.clock)

    def sim_at(self, wall: float) -> float:
        """The simulated minute a wall-clock second maps to (live and running), else now."""
        c = self.clock
        if not c["running"] or c["wall"] is None:
            return self.now
        return max(self.now, c["sim"] + max(0.0, wall - c["wall"]) / 60.0 * c["speed"])

    def run_to(self, minute: float) -> None:
        """Let the clock run on to ``minute`` (a live drill catching up with the wall clock);
        not a decision: a replay reaches the same state at the next decision's ``at``."""
        if minute > self.now:
            self._run_until(minute)

    def _settle(self, proc: Any) -> None:
        """After a decision started or resumed ``proc`` (a step's process, or the one that made
        an answered call): in a turn-based drill run until it is done, a call starts ringing at
        a seat, or another seat's ringing call would run out (the clock waits for the seats);
        in a live drill only what is due now (the rest happens as the clock runs)."""
        env, m = self._m.env, self._m
        if proc is not None and self.clock["mode"] == "turn":
            rings = len(m.rings)
            while proc.is_alive and len(m.rings) == rings:
                waiting = [r.until for r in m.ringing.values() if not r.answer.triggered]
                nxt = env.peek()
                if nxt == float("inf") or (waiting and nxt >= min(waiting)):
                    break
                env.step()
        self._run_until(self.now)

    def _step(self, d: dict[str, Any]):
        inc = self._check_incident(d)
        assert inc is not None
        sid = d.get("step")
        if sid not in self.plan.steps:
            raise DrillError("unknown_step", step=sid)
        step = self.plan.step(sid)
        if step.kind == "event" or _body_acts(step):
            raise DrillError("event", step=sid)
        if d.get("seat") is not None and not can_take(
            self.plan, self.seat(d["seat"]), step, self.office_role()
        ):
            raise DrillError("not_seat_step", seat=d["seat"], step=sid)
        if step.by == "office" and not self.office_told(inc.id):
            raise DrillError("office_not_told", incident=inc.id)
        closed = inc.id in self.closed
        if closed and sid not in _AFTER_CLOSE and sid not in _REPORT_STEPS:
            raise DrillError("closed", incident=inc.id)
        if sid == "closed" and inc.id not in self.resolved:
            raise DrillError("not_resolved", incident=inc.id)
        if sid in _AFTER_CLOSE and not closed:
            raise DrillError("after_close", step=sid)
        level = d.get("level")
        if sid == "graded" and level not in GRADES:
            raise DrillError("choose_grade", level=level, grades=list(GRADES))
        targets = d.get("to")
        if targets is not None:
            if isinstance(targets, str):
                targets = [targets]
            if not targets and self.plan.addressees(sid, inc.family):
                raise DrillError("choose_to", step=sid)
            allowed = set(self.plan.addressees(sid, inc.family))
            if sid in _REPORT_STEPS:
                allowed |= set(BODY_IDS)
            bad = [t for t in targets if t not in allowed]
            if bad:
                raise DrillError("cannot_go_to", step=sid, targets=bad)
        content = d.get("content")
        if content is not None:
            content = [c for c in content if c in CONTENT_IDS]
        person = d.get("person")
        if person is not None:
            if person not in self._m.people:
                raise DrillError("unknown_person", person=person)
            roles = [
                self._m.office_role() if t == "working_group" else t
                for t in (targets or self.plan.addressees(sid, inc.family))
                if t not in BODY_IDS or t == "working_group"
            ]
            if not roles:
                raise DrillError("no_one_to_call", step=sid)
            if not any(person in self._m.chain(role, inc.site) for role in roles):
                raise DrillError("not_in_chain", person=person, roles=roles)
        # a player's step in a live drill took its real time before it was sent
        work = 0.0 if d.get("real") and self.clock["mode"] == "live" else None
        proc = self._m.env.process(
            perform(
                self._m,
                inc,
                step,
                targets=targets,
                content=content,
                level=level,
                person=person,
                work=work,
            )
        )
        rings = len(self._m.rings)
        self._settle(proc)
        if proc.is_alive:
            # a call rings at a seat (or, live, the step is under way): the rest follows
            calls = [r.id for r in self._m.rings[rings:]]
            return ("ringing" if calls else "started"), {"step": sid, "calls": calls}
        reached = proc.value.get("reached", {})
        detail: dict[str, Any] = {"step": sid, "reached": reached}
        if person is not None:
            detail["person"] = person
        if sid == "graded":
            detail["level"] = level
            return "graded", detail
        if step.content and content is not None:
            detail["missing_content"] = [c for c in step.content if c not in content]
        if person is not None:
            # the call the team chose: the addressee whose chain holds that person
            mine = [
                v
                for t, v in reached.items()
                if t not in BODY_IDS or t == "working_group"
                if person
                in self._m.chain(self._m.office_role() if t == "working_group" else t, inc.site)
            ] or list(reached.values())
            answered = any(v != "failed" for v in mine)
            return ("answered" if answered else "unanswered"), detail
        if reached and all(v == "failed" for v in reached.values()):
            return "failed", detail
        return {"closed": "closed"}.get(sid, "received" if reached else "done"), detail

    def office_told(self, incident: str) -> bool:
        """Whether any report has reached the working group's office for this incident (the
        office's steps are offered only then)."""
        return any(self._m.reached(incident, s, "working_group") for s in REPORT_STEPS)

    def _run_until(self, t: float) -> None:
        """Run to ``t`` including the events due exactly at ``t`` (an inject at 11:45 shows at 11:45)."""
        env = self._m.env
        if t > env.now:
            env.run(until=t)
        while env.peek() <= t:
            env.step()

    # -- judging -------------------------------------------------------------------------------
    def verdicts(self, *, final: bool = False) -> list[Verdict]:
        """Verdicts now; ``final`` judges the drill as ended here: a clock that has run out
        unmet is missed, one that still had time is ``unfinished`` (never missed). A miss
        carries its causes (:mod:`sim.causes`); the time before the team started a step is
        the team's own."""
        vs = verdicts(
            self.scenario,
            tuple(self._m.incidents),
            self._m.true_grade,
            self._m.records,
            end_time=self.now,
            ended=final,
        )
        if any(v.status == MISSED for v in vs):
            explain_misses(vs, Trace.of(self._m, residual="team_time"), self.plan)
        return vs

    def deadline_board(
        self, *, team_view: bool = False, final: bool = False
    ) -> list[dict[str, Any]]:
        """Per discovered incident and rule: status, deadline (sim minute) and minutes left.

        ``team_view`` (the projector) is built from what the team itself knows: each incident
        judged at the grade the team gave it, and before the team grades only the rules every
        grade has — never the plan's grade, nor a rule that would give it away. ``final``: the
        board as the drill ended (clocks with time left are ``unfinished``).
        """
        seen = self.discovered
        if team_view:
            team, everywhere = self.team_grade, set(self.plan.grades)
            grades = {iid: team.get(iid, GRADES[-1]) for iid in self.incidents}
            vs = verdicts(
                self.scenario,
                tuple(self._m.incidents),
                grades,
                self._m.records,
                end_time=self.now,
                ended=final,
            )
            vs = [
                v
                for v in vs
                if v.incident in team or set(self.plan.rules[v.rule].grades) >= everywhere
            ]
        else:
            vs = self.verdicts(final=final)
        rows = []
        for v in vs:
            if v.incident not in seen or v.note_code == "grade":
                continue
            deadline = (
                v.start_min + v.allowed_min
                if v.start_min is not None and v.allowed_min is not None
                else None
            )
            rows.append(
                {
                    "incident": v.incident,
                    "rule": v.rule,
                    "status": "pending" if v.note_code == "pending" else v.status,
                    "deadline": deadline,
                    "left_min": None if deadline is None else round(deadline - self.now, 1),
                    "measured_min": v.measured_min,
                    "allowed_min": v.allowed_min,
                    "started": v.start_min is not None,
                }
            )
        return rows

    def scorecard(self):
        """The drill judged as ended now, as the one scorecard type (:class:`sim.session.Scorecard`)."""
        from sim.session import Scorecard

        return Scorecard.of_drill(self)

    @classmethod
    def replay(
        cls,
        scenario: Scenario,
        seed: int,
        decisions: Iterable[dict[str, Any]],
        *,
        start: float | None = None,
    ) -> Drill:
        """Rebuild a drill from its stored decisions (same seed → the identical state)."""
        drill = cls(scenario, seed, start=start)
        for d in decisions:
            drill.apply(d)
        return drill


_AFTER_CLOSE = ("evaluation", "investigation", "final_report")


def _body_acts(step) -> bool:
    """An outside body's own step (the department reporting up): not the team's to take."""
    return step.by in BODY_IDS and step.by != "working_group"


_REPORT_STEPS = ("verbal_report", "written_report", "direct_report", "follow_up", "final_report")
_OFFICE_ROLES = ("duty_desk", "office_director")


def verdict_dict(v: Verdict) -> dict[str, Any]:
    """A verdict as stored (JSON): ``missing`` as a list."""
    out = v._asdict()
    out["missing"] = list(v.missing)
    out["causes"] = [[cause, minutes] for cause, minutes in v.causes]
    return out


def _as_step(drill: Drill, d: dict[str, Any]) -> dict[str, Any]:
    """An older decision kind read as a step of the procedure (stored drills replay)."""
    kind = d["kind"]
    base = {"kind": "step", "incident": d.get("incident")}
    if kind in ("control", "special_plan", "emergency_state", "duty_24h"):
        return {**base, "step": kind}
    if kind == "close":
        return {**base, "step": "closed"}
    if kind == "grade":
        return {**base, "step": "graded", "level": d.get("level")}
    if kind == "report":
        body, channel, rtype = d.get("body"), d.get("channel", "verbal"), d.get("type", "report")
        if body not in BODY_IDS:
            raise DrillError("unknown_body", body=body)
        if channel not in ("verbal", "written"):
            raise DrillError("bad_channel")
        if rtype not in ("report", "follow_up", "final"):
            raise DrillError("bad_report_type")
        sid = {
            ("report", "verbal"): "verbal_report",
            ("report", "written"): "written_report",
        }.get((rtype, channel), {"follow_up": "follow_up", "final": "final_report"}.get(rtype))
        out = {**base, "step": sid, "to": [body], "content": list(d.get("content", ()))}
        if sid == "verbal_report" and body == "working_group":
            pid = d.get("person")
            if pid is None:
                pid = drill._m.chain(drill.office_role())[0]
            role = drill._m.people[pid].role if pid in drill._m.people else None
            if role not in _OFFICE_ROLES:
                raise DrillError("office_person")
            out["person"] = pid
        return out
    # call: which step a call is depends on who is called and why
    pid = d.get("person")
    if pid not in drill._m.people:
        raise DrillError("unknown_person", person=pid)
    role = d.get("role") or drill._m.people[pid].role
    if role not in ROLE_IDS:
        raise DrillError("unknown_role", role=role)
    inc = drill.incidents.get(d.get("incident"))
    if inc is not None and pid not in drill._m.chain(role, inc.site):
        raise DrillError("not_in_chain", person=pid, roles=[role])
    purpose = d.get("purpose")
    family = inc.family if inc else ""
    if role in _OFFICE_ROLES and purpose in (None, "report"):
        return {**base, "step": "verbal_report", "to": ["working_group"], "person": pid}
    if role in drill.plan.teams.get(family, ()) or (
        role.startswith("team_") and purpose == "dispatch"
    ):
        return {**base, "step": "team_dispatched", "to": [role], "person": pid}
    if role == "deputy_leader" and purpose == "dispatch":
        return {**base, "step": "deputy_to_site", "to": [role], "person": pid}
    if role == "emergency_contact":
        return {**base, "step": "emergency_contact", "to": [role], "person": pid}
    return {**base, "step": "office_informs", "to": [role], "person": pid}


def auto_reference(scenario: Scenario, seed: int, end: float | None = None):
    """The same incidents handled by the plan-compliant automatic policy (one run).

    ``end``: the minute the team's drill was ended; the policy's run is cut there too (its
    records up to ``end``, judged as ended then), so both are scored on the same stretch of
    time — a clock the drill did not reach is ``unfinished`` for both.
    """
    from sim.experiment import run_once

    run = run_once(scenario, seed, 0)
    if end is None:
        return run
    records = [a for a in run.records if a.time <= end + 1e-9]
    vs = verdicts(
        scenario, run.incidents, run.true_grades, records, end_time=float(end), ended=True
    )
    return replace(run, records=records, verdicts=vs)


def standing(
    scenario: Scenario,
    seed: int,
    measured: dict[str, float],
    reps: int = 300,
    *,
    workers: int | None = 1,
    scheduler: Any = None,
    chunk_size: int | None = None,
) -> dict[str, dict[str, float]]:
    """Where the team stands among simulated runs with the same roster, per rule.

    For each rule with a measured time, the share of simulated times (automatic policy, same
    incidents, other random draws) that were better, i.e. less. Counted exactly in each chunk of
    replications on the one runner (local, process pool or Dask: the same answer).
    """
    from sim.experiment import faster_counts

    counts = faster_counts(
        scenario,
        seed + 1,
        measured,
        reps,
        workers=workers,
        scheduler=scheduler,
        chunk_size=chunk_size,
    )
    out = {}
    for rule, value in measured.items():
        better, runs = counts[rule]
        if runs:
            out[rule] = {
                "measured_min": value,
                "share_better": float(np.true_divide(better, runs)),
                "runs": runs,
            }
    return out


def with_incidents(scenario: Scenario, incidents: Iterable[Incident]) -> Scenario:
    return replace(scenario, incidents=tuple(incidents))


__all__ = [
    "ACTION_KINDS",
    "DAY",
    "Drill",
    "DrillError",
    "Outcome",
    "PHASES",
    "SCOPES",
    "auto_reference",
    "generate_incidents",
    "scenario_from_text",
    "snapshot_text",
    "standing",
    "verdict_dict",
]
