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
import yaml

from sim.grading import grade
from sim.model import TEAMS_BY_FAMILY, Response
from sim.plan import (
    BODY_IDS,
    FAMILIES,
    GRADES,
    PHASES,
    REPORT_CONTENT,
    ROLE_IDS,
    SCOPES,
    parse_plan,
)
from sim.records import Action
from sim.rules import MET, MISSED, NA, Verdict, verdicts
from sim.scenario import DAY, Incident, Scenario, format_time, parse_scenario
from sim.streams import Streams
from sim.yamlio import LineDict, load_file, load_text

SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"

ACTION_KINDS = (
    "advance",
    "control",
    "grade",
    "report",
    "call",
    "special_plan",
    "emergency_state",
    "duty_24h",
    "close",
    "note",
)
OUTSIDE_BODIES = BODY_IDS  # every body a team may report to (the plan's own list)


class DrillError(ValueError):
    """A decision the drill cannot take now; the message is shown to the team."""


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
    data = _plain(load_file(path))
    base = path.parent
    if isinstance(data.get("plan"), str):
        data["plan"] = _plain(load_file(base / data["plan"]))
    elif "plan" not in data:
        data["plan"] = _plain(load_file(SCENARIO_DIR / "plan.yaml"))
    if isinstance(data.get("roster"), str):
        roster = _plain(load_file(base / data["roster"]))
        data["roster"] = roster.get("roster", roster)
    if incidents is not None:
        data["incidents"] = [incident_to_dict(i) for i in incidents]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


def incident_to_dict(inc: Incident) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": inc.id,
        "at": format_time(inc.at),
        "site": inc.site,
        "family": inc.family,
    }
    for key in ("people", "scope", "phase", "spares_enough", "time_recoverable"):
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


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
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
    fresh ``Drill(scenario, seed)`` rebuilds the same state (:meth:`replay`).
    """

    def __init__(self, scenario: Scenario, seed: int, *, start: float | None = None):
        self.scenario = scenario
        self.seed = int(seed)
        self.r = Response(scenario, seed, 0, office_acts=False)
        self.decisions: list[dict[str, Any]] = []
        self.outcomes: list[Outcome] = []
        self.plan = scenario.plan
        self.incidents = {inc.id: inc for inc in self.r.incidents}
        self.discovered: dict[str, float] = {}
        self.on_site: dict[str, float] = {}
        self.resolved: dict[str, float] = {}
        self.team_grade: dict[str, str] = {}
        self.closed: dict[str, float] = {}
        self.first_report_content: dict[str, tuple[str, ...]] = {}
        env = self.r.env
        for inc in self.r.incidents:
            env.process(self._arrive(inc))
        first = min((i.at for i in self.r.incidents), default=0.0)
        self.start = float(start if start is not None else max(0.0, first - 15))
        self._run_until(self.start)

    # -- incidents arrive on their own --------------------------------------------------------
    def _arrive(self, inc: Incident):
        env, fate = self.r.env, self.r.fates[inc.id]
        yield env.timeout(max(0.0, inc.at - env.now))
        self.r.log(inc.id, "site", "occurred", target=inc.site, detail=inc.family)
        yield env.timeout(fate.discovery)
        self.discovered[inc.id] = env.now
        self.r.log(inc.id, "site", "discovered", target=inc.site)

    def _team_works(self, inc: Incident, pid: str, req):
        """The emergency team travels, works the response, then the incident is resolved."""
        env, fate = self.r.env, self.r.fates[inc.id]
        yield env.timeout(fate.dispatch + fate.travel)
        self.on_site.setdefault(inc.id, env.now)
        self.r.log(inc.id, pid, "team_on_site", "in_person", inc.site, "arrived")
        yield env.timeout(fate.response)
        self.r.busy_minutes[pid] += fate.dispatch + fate.travel + fate.response
        self.r.resources[pid].release(req)
        if inc.id not in self.resolved:
            self.resolved[inc.id] = env.now
            self.r.log(inc.id, "working_group", "resolved", target=inc.site)

    def _deputy_travels(self, inc: Incident, pid: str, req):
        env, fate = self.r.env, self.r.fates[inc.id]
        self.r.log(inc.id, pid, "deputy_dispatched", "in_person", inc.site, "travelling")
        yield env.timeout(fate.travel)
        self.r.log(inc.id, pid, "deputy_on_site", "in_person", inc.site, "arrived")
        self.r.resources[pid].release(req)

    # -- the clock --------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return float(self.r.env.now)

    @property
    def records(self) -> list[Action]:
        return self.r.records

    def next_inject_at(self) -> float | None:
        """When the next incident not yet discovered will be (its inject time), if any."""
        times = [
            i.at + self.r.fates[i.id].discovery
            for i in self.r.incidents
            if i.id not in self.discovered
        ]
        return min(times) if times else None

    def injects(self) -> list[dict[str, Any]]:
        """Incidents the team has been told of (discovered by now), with their facts."""
        out = []
        for inc in self.r.incidents:
            if inc.id in self.discovered:
                site = self.scenario.site(inc.site)
                out.append(
                    {
                        "id": inc.id,
                        "discovered_at": self.discovered[inc.id],
                        "occurred_at": inc.at,
                        "site": inc.site,
                        "site_zh": site.name_zh,
                        "site_en": site.name_en,
                        "family": inc.family,
                        "facts": inc.facts(),
                        "text_zh": inc.text_zh,
                        "text_en": inc.text_en,
                        "team_grade": self.team_grade.get(inc.id),
                        "closed": inc.id in self.closed,
                        "resolved": inc.id in self.resolved,
                    }
                )
        return out

    # -- decisions -------------------------------------------------------------------------------
    def apply(self, decision: dict[str, Any]) -> Outcome:
        """Take one decision now; raises :class:`DrillError` (state unchanged) if it cannot be taken."""
        kind = decision.get("kind")
        if kind not in ACTION_KINDS:
            raise DrillError(f"unknown action {kind!r}")
        handler = getattr(self, f"_do_{kind}")
        self._check(decision)
        before = len(self.r.records)
        start = self.now
        result, detail = handler(decision)
        out = Outcome(kind, result, start, self.now, detail, tuple(self.r.records[before:]))
        self.decisions.append(copy.deepcopy(decision))
        self.outcomes.append(out)
        return out

    def _check(self, d: dict[str, Any]) -> None:
        kind = d["kind"]
        if kind == "advance":
            to = d.get("to")
            if not isinstance(to, int | float) or isinstance(to, bool) or to < self.now:
                raise DrillError("advance: 'to' must be a time not before the clock")
            return
        if kind == "note":
            return
        iid = d.get("incident")
        if iid not in self.incidents:
            raise DrillError(f"unknown incident {iid!r}")
        if iid not in self.discovered:
            raise DrillError("this incident has not been discovered yet")
        if iid in self.closed and kind != "report":
            raise DrillError("this incident is closed")

    def _run_action(self, gen):
        """Run one action process to its end; the clock moves by what it cost."""
        proc = self.r.env.process(gen)
        self.r.env.run(until=proc)
        self._run_until(self.now)
        return proc.value

    def _run_until(self, t: float) -> None:
        """Run to ``t`` including the events due exactly at ``t`` (an inject at 11:45 shows at 11:45)."""
        env = self.r.env
        if t > env.now:
            env.run(until=t)
        while env.peek() <= t:
            env.step()

    def _do_advance(self, d):
        self._run_until(float(d["to"]))
        return "advanced", {"to": self.now}

    def _do_note(self, d):
        self.r.log(d.get("incident") or "", "team", "note", detail=str(d.get("text", ""))[:2000])
        return "noted", {}

    def _do_control(self, d):
        inc = self.incidents[d["incident"]]
        fate = self.r.fates[inc.id]

        def act():
            yield self.r.env.timeout(fate.control)
            self.r.log(inc.id, "team", "control", "in_person", inc.site, "evidence_preserved")

        self._run_action(act())
        return "done", {}

    def _do_grade(self, d):
        level = d.get("level")
        if level not in GRADES:
            raise DrillError(f"grade: {level!r} is not one of {', '.join(GRADES)}")
        inc = self.incidents[d["incident"]]
        fate = self.r.fates[inc.id]

        def act():
            yield self.r.env.timeout(fate.grading)
            self.r.log(
                inc.id,
                "working_group",
                "graded",
                target=inc.id,
                outcome=level,
                detail=self.r.true_grade[inc.id],
            )

        self._run_action(act())
        self.team_grade[inc.id] = level
        self.r.assigned_grade[inc.id] = level
        return "graded", {"level": level}

    def _do_report(self, d):
        inc = self.incidents[d["incident"]]
        body = d.get("body")
        channel = d.get("channel", "verbal")
        rtype = d.get("type", "report")
        if body not in OUTSIDE_BODIES:
            raise DrillError(f"report: unknown body {body!r}")
        if channel not in ("verbal", "written"):
            raise DrillError("report: channel must be verbal or written")
        if rtype not in ("report", "follow_up", "final"):
            raise DrillError("report: type must be report, follow_up or final")
        if rtype == "final" and inc.id not in self.closed:
            raise DrillError("the final report comes after the incident is closed")
        fate = self.r.fates[inc.id]
        content = tuple(c for c in d.get("content", ()) if c in REPORT_CONTENT)
        if channel == "verbal" and body == "working_group" and rtype == "report":
            # a verbal report to the working group is a phone call to the office's duty person
            pid = d.get("person") or self.r.scenario.roster.chain(self.r.office_role())[0]
            role = self.r.people[pid].role if pid in self.r.people else None
            if role not in ("duty_desk", "office_director"):
                raise DrillError(
                    "a verbal report to the working group goes to the duty desk or the office director"
                )
            return self._call(inc, pid, purpose="report")
        minutes = (
            fate.verbal
            if channel == "verbal"
            else (fate.written if rtype == "report" else fate.follow_up)
        )
        if rtype == "final":
            minutes = fate.final
        kind = {
            "report": "verbal_report" if channel == "verbal" else "written_report",
            "follow_up": "follow_up",
            "final": "final_report",
        }[rtype]
        detail = ",".join(content)

        def act():
            yield from self.r.report(
                inc,
                "team",
                body,
                "phone" if channel == "verbal" else "written",
                minutes,
                kind,
                detail,
            )

        self._run_action(act())
        if kind == "written_report" and inc.id not in self.first_report_content:
            self.first_report_content[inc.id] = content
        missing = (
            [c for c in self.plan.reporting.first_report_content if c not in content]
            if kind == "written_report"
            else []
        )
        return "received", {"body": body, "missing_content": missing}

    def _do_call(self, d):
        inc = self.incidents[d["incident"]]
        pid = d.get("person")
        if pid not in self.r.people:
            raise DrillError(f"call: unknown person {pid!r}")
        role = d.get("role") or self.r.people[pid].role
        if role not in ROLE_IDS:
            raise DrillError(f"call: unknown role {role!r}")
        if pid not in self.r.chain(role, inc.site):
            raise DrillError(f"call: {pid} is not in the call chain of {role}")
        return self._call(inc, pid, purpose=d.get("purpose"), role=role)

    def _call(self, inc: Incident, pid: str, purpose: str | None, role: str | None = None):
        """One call to ``pid`` working ``role``'s chain (a backup answers for the role)."""
        role = role or self.r.people[pid].role
        result: dict[str, Any] = {}

        def act():
            req = yield from self.r.call_person(inc.id, "team", pid, role)
            if req is None:
                result["answered"] = False
                return
            result["answered"] = True
            fate = self.r.fates[inc.id]
            env = self.r.env
            if role in ("duty_desk", "office_director") and purpose in (None, "report"):
                yield env.timeout(fate.verbal)
                self.r.log(inc.id, "team", "verbal_report", "phone", "working_group", "received")
                if inc.id not in self.r.office_received:
                    self.r.office_received[inc.id] = env.now
                    self.r.log(inc.id, pid, "office_received", "phone", "working_group", "received")
                self.r.resources[pid].release(req)
            elif role in TEAMS_BY_FAMILY.get(inc.family, ()) or (
                role.startswith("team_") and purpose == "dispatch"
            ):
                self.r.log(inc.id, "team", "team_dispatched", "phone", role, "dispatched", pid)
                env.process(self._team_works(inc, pid, req))
            elif role == "deputy_leader" and purpose == "dispatch":
                yield env.timeout(fate.inform)
                self.r.log(inc.id, "team", "inform", "phone", role, "informed", pid)
                env.process(self._deputy_travels(inc, pid, req))
            else:
                yield from self.r.hold(pid, fate.inform)
                if role in self.plan.reporting.office_informs_roles:
                    self.r.log(inc.id, "team", "inform", "phone", role, "informed", pid)
                self.r.resources[pid].release(req)

        self._run_action(act())
        return ("answered" if result.get("answered") else "unanswered"), {
            "person": pid,
            "role": role,
        }

    def _simple(self, d, action: str, minutes_key: str | None = None):
        inc = self.incidents[d["incident"]]

        def act():
            if minutes_key:
                yield self.r.env.timeout(getattr(self.r.fates[inc.id], minutes_key))
            else:
                yield self.r.env.timeout(0)
            self.r.log(inc.id, "working_group", action, outcome="activated")

        self._run_action(act())
        return "done", {}

    def _do_special_plan(self, d):
        return self._simple(d, "special_plan")

    def _do_emergency_state(self, d):
        return self._simple(d, "emergency_state", "emergency_state")

    def _do_duty_24h(self, d):
        return self._simple(d, "duty_24h")

    def _do_close(self, d):
        inc = self.incidents[d["incident"]]
        if inc.id not in self.resolved:
            raise DrillError(
                "not resolved yet: the emergency team must be dispatched and finish its work first"
            )
        self.r.log(inc.id, "working_group", "closed", target=inc.site)
        self.closed[inc.id] = self.now
        return "closed", {}

    # -- judging -------------------------------------------------------------------------------
    def verdicts(self, *, final: bool = False) -> list[Verdict]:
        """Verdicts now; ``final`` judges every open clock as if the drill ended here."""
        return verdicts(
            self.scenario,
            tuple(self.r.incidents),
            self.r.true_grade,
            self.r.records,
            end_time=None if final else self.now,
        )

    def deadline_board(self) -> list[dict[str, Any]]:
        """Per discovered incident and rule: status, deadline (sim minute) and minutes left."""
        rows = []
        vs = {(v.incident, v.rule): v for v in self.verdicts()}
        for info in self.injects():
            iid = info["id"]
            recs = [a for a in self.r.records if a.incident == iid]
            graded = next((a.time for a in recs if a.action == "graded"), None)
            occ, disc = info["occurred_at"], info["discovered_at"]
            start_first = (
                disc if self.plan.setting("first_report_clock_starts") == "discovery" else occ
            )
            anchors = {
                "first_report_3h": start_first,
                "direct_report_I_II": graded,
                "emergency_contact_III_plus": graded,
                "deputy_leader_on_site_I": graded,
                "office_informs_leaders": self.r.office_received.get(iid),
                "final_report": self.closed.get(iid),
            }
            for rule_id, rule in self.plan.rules.items():
                v = vs[(iid, rule_id)]
                if v.note == "grade":
                    continue
                anchor = anchors.get(rule_id)
                deadline = (
                    anchor + rule.allowed_minutes
                    if anchor is not None and rule.allowed_minutes is not None
                    else None
                )
                rows.append(
                    {
                        "incident": iid,
                        "rule": rule_id,
                        "status": "pending" if v.note == "pending" else v.status,
                        "deadline": deadline,
                        "left_min": None if deadline is None else round(deadline - self.now, 1),
                        "measured_min": v.measured_min,
                        "allowed_min": v.allowed_min,
                    }
                )
        return rows

    def scorecard(self) -> dict[str, Any]:
        """The end-of-drill scorecard: verdicts, grading against the plan, report content."""
        vs = self.verdicts(final=True)
        grading = []
        for iid, inc in self.incidents.items():
            plan_grade = grade(inc.facts(), self.plan)
            grading.append(
                {
                    "incident": iid,
                    "team": self.team_grade.get(iid),
                    "plan": plan_grade.level,
                    "basis_zh": plan_grade.basis_zh,
                    "basis_en": plan_grade.basis_en,
                    "agrees": self.team_grade.get(iid) == plan_grade.level,
                }
            )
        content = {
            iid: {
                "given": list(self.first_report_content.get(iid, ())),
                "missing": [
                    c
                    for c in self.plan.reporting.first_report_content
                    if c not in self.first_report_content.get(iid, ())
                ],
            }
            for iid in self.incidents
        }
        counts = {s: sum(v.status == s for v in vs) for s in (MET, MISSED, NA)}
        return {
            "verdicts": [v.__dict__ for v in vs],
            "grading": grading,
            "report_content": content,
            "counts": counts,
            "ended_at": self.now,
        }

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


def auto_reference(scenario: Scenario, seed: int):
    """The same incidents handled by the plan-compliant automatic policy (one run)."""
    from sim.experiment import run_once

    return run_once(scenario, seed, 0)


def standing(
    scenario: Scenario, seed: int, measured: dict[str, float], reps: int = 300
) -> dict[str, dict[str, float]]:
    """Where the team stands among simulated runs with the same roster, per rule.

    For each rule with a measured time, the share of simulated runs (automatic policy, same
    incidents, other random draws) that did better, i.e. took less time.
    """
    from sim.experiment import run_replications

    summary = run_replications(scenario, reps, seed + 1, workers=1)
    out = {}
    for rule, value in measured.items():
        times = np.array([t for rs in summary.per_rep for t in rs.rules[rule][2]], dtype=float)
        if times.size:
            out[rule] = {
                "measured_min": value,
                "share_better": float(np.mean(times < value)),
                "runs": int(times.size),
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
]
