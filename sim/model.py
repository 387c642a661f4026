"""The SimPy model: incidents at exam sites, the people who must act, and the reporting chain.

One :class:`Response` owns a SimPy environment, one resource per person (so two incidents
compete for the same people), the named random streams and the list of :class:`Action`
records. Its processes are named after the plan's journey; :func:`incident_journey` is the
plan-compliant automatic policy, and :mod:`sim.drill` lets a human team take its place using the
same steps. The model never mutates the scenario.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simpy

from sim.grading import grade
from sim.plan import BODY_IDS
from sim.records import Action
from sim.scenario import DAY, Incident, Scenario, derived
from sim.streams import Streams

GRADES = ("I", "II", "III", "IV")
_STATE_RANK = {"on_duty": 0, "on_call": 1, "off_duty": 2}
TEAMS_BY_FAMILY = {
    "leak": ("team_exam_affairs", "team_it"),
    "answer_sheet_loss": ("team_exam_affairs",),
    "distribution_error": ("team_exam_affairs", "team_logistics"),
    "disaster": ("team_logistics", "team_exam_affairs"),
    "group_cheating": ("team_exam_affairs",),
    "score_error": ("team_exam_affairs", "team_it"),
    "online_info": ("team_it",),
}


@dataclass(frozen=True)
class Fate:
    """Everything random about one incident, drawn up front in incident order (CRN-safe)."""

    discovery: float
    control: float
    grading: float
    grading_late: float  # 0 when on time
    grading_shift: int  # 0 when right, -1 graded more severe, +1 less severe
    verbal: float
    written: float
    relay: float
    inform: float
    emergency_state: float
    dispatch: float
    travel: float
    response: float
    follow_up: float
    final: float
    body_receive: dict[str, float]  # per outside body


def draw_fate(inc: Incident, scenario: Scenario, rng) -> Fate:
    t = scenario.timing
    site = scenario.site(inc.site)
    discovery = t["discovery_minutes"].sample(rng)
    late = t["grading_late_minutes"].sample(rng)
    late_flag = rng.random() < t.grading_late_prob
    wrong_flag = rng.random() < t.grading_wrong_prob
    direction = -1 if rng.random() < 0.5 else 1
    return Fate(
        discovery=inc.discovered_after if inc.discovered_after is not None else discovery,
        control=t["on_site_control_minutes"].sample(rng),
        grading=t["grading_minutes"].sample(rng),
        grading_late=late if late_flag else 0.0,
        grading_shift=direction if wrong_flag else 0,
        verbal=t["verbal_report_minutes"].sample(rng),
        written=t["written_report_minutes"].sample(rng),
        relay=t["department_relay_minutes"].sample(rng),
        inform=t["inform_minutes"].sample(rng),
        emergency_state=t["emergency_state_minutes"].sample(rng),
        dispatch=t["dispatch_minutes"].sample(rng),
        travel=site.travel_minutes.sample(rng),
        response=t["response_minutes"].sample(rng),
        follow_up=t["follow_up_minutes"].sample(rng),
        final=t["final_report_minutes"].sample(rng),
        body_receive={b: t.receive_delay(b).sample(rng) for b in BODY_IDS},
    )


def generate_incidents(scenario: Scenario, streams: Streams) -> tuple[Incident, ...]:
    """Scripted incidents plus stochastic ones drawn from the ``incidents`` stream.

    Only the calendar and the rates are used, never the roster, so every staffing variant of a
    scenario faces the same incidents in replication *i*.
    """
    out = list(scenario.incidents)
    if scenario.rates:
        rng = streams["incidents"]
        n = 0
        slots = [(s.start, s.end) for s in scenario.sessions]
        days = [(d * DAY, (d + 1) * DAY) for d in range(scenario.days)]
        for window, spans in (("session", slots), ("day", days)):
            for start, end in spans:
                for site in scenario.sites:
                    for fr in scenario.rates:
                        if fr.window != window:
                            continue
                        for _ in range(int(rng.poisson(fr.rate))):
                            n += 1
                            out.append(_draw_incident(f"s{n}", fr, site.id, start, end, rng))
    return tuple(sorted(out, key=lambda x: (x.at, x.id)))


def _draw_incident(iid: str, fr, site: str, start: float, end: float, rng) -> Incident:
    """One stochastic incident of family ``fr`` in [start, end) at ``site``."""
    at = start + (end - start) * rng.random()
    people = max(1, int(round(fr.people.sample(rng))))
    total = sum(w for _, w in fr.scopes)
    u, acc, scope = rng.random() * total, 0.0, fr.scopes[-1][0]
    for name, weight in fr.scopes:
        acc += weight
        if u < acc:
            scope = name
            break
    return Incident(
        id=iid,
        at=at,
        site=site,
        family=fr.family,
        people=people,
        scope=scope,
        phase=fr.phase,
        spares_enough=bool(rng.random() < fr.spares_enough_prob),
        time_recoverable=bool(rng.random() < fr.time_recoverable_prob),
    )


class _Resources(dict):
    """One SimPy resource per person, made when first needed (most people are never called)."""

    def __init__(self, env: simpy.Environment):
        super().__init__()
        self.env = env

    def __missing__(self, pid: str) -> simpy.Resource:
        res = self[pid] = simpy.Resource(self.env, capacity=1)
        return res


class Response:
    """The people, bodies and clocks of one run; the steps every policy is built from."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        replication: int = 0,
        env: simpy.Environment | None = None,
        *,
        office_acts: bool = True,
    ):
        """``office_acts``: the office informs the leaders by itself (False in a drill, where a
        player holds the office role and must make those calls)."""
        self.scenario = scenario
        self.office_acts = office_acts
        self.plan = scenario.plan
        self.env = env or simpy.Environment()
        self.streams = Streams(seed, replication)
        self.records: list[Action] = []
        self.people = {p.id: p for p in scenario.roster.people}
        self.resources = _Resources(self.env)
        self.busy_minutes = dict.fromkeys(self.people, 0.0)
        self.calls = {pid: [0, 0] for pid in self.people}  # [calls, unanswered]
        self.incidents = generate_incidents(scenario, self.streams)
        fates_rng = self.streams["fates"]
        self.fates = {inc.id: draw_fate(inc, scenario, fates_rng) for inc in self.incidents}
        self.true_grade = {inc.id: grade(inc.facts(), self.plan).level for inc in self.incidents}
        self.office_received: dict[str, float] = {}
        self.dept_received: set[str] = set()
        self.assigned_grade: dict[str, str] = {}
        self.closed: dict[str, float] = {}

    # -- records --------------------------------------------------------------------------
    def log(
        self,
        incident: str,
        actor: str,
        action: str,
        channel: str = "",
        target: str = "",
        outcome: str = "",
        detail: str = "",
    ) -> None:
        self.records.append(
            Action(self.env.now, incident, actor, action, channel, target, outcome, detail)
        )

    # -- people -----------------------------------------------------------------------------
    def hold(self, pid: str, minutes: float) -> Generator:
        """Keep a person busy for ``minutes`` (they must already hold their resource)."""
        self.busy_minutes[pid] += minutes
        yield self.env.timeout(minutes)

    def ring_minutes(self) -> float:
        ring = self.scenario.timing["ring_minutes"]
        return ring.params[0] if ring.kind == "fixed" else ring.mean

    def call_person(
        self, incident: str, caller: str, pid: str, role: str
    ) -> Generator[Any, Any, Any]:
        """One phone call to one person: returns their resource request if they answer, else None.

        Whether they answer depends on their duty state now and their own random stream; a
        person busy with another incident does not pick up before the ring time ends.
        """
        env = self.env
        ring = self.ring_minutes()
        person = self.people[pid]
        state = person.state_at(env.now)
        reach = self.scenario.roster.reach_of(person, state)
        rng = self.streams[f"answer:{pid}"]
        answers = rng.random() < reach.answer_prob
        delay = reach.answer_minutes.sample(rng)
        self.calls[pid][0] += 1
        if not answers or delay > ring:
            yield env.timeout(ring)
            self.calls[pid][1] += 1
            self.log(incident, caller, "call", "phone", pid, "unanswered", f"{role}:{state}")
            return None
        req = self.resources[pid].request()
        got = yield req | env.timeout(ring)
        if req not in got:
            req.cancel()
            self.calls[pid][1] += 1
            self.log(incident, caller, "call", "phone", pid, "busy", f"{role}:{state}")
            return None
        yield env.timeout(delay)
        self.log(incident, caller, "call", "phone", pid, "answered", f"{role}:{state}")
        return req

    def call_role(
        self, incident: str, caller: str, role: str, site: str | None = None
    ) -> Generator[Any, Any, tuple[str, Any] | None]:
        """Phone a role's call chain until someone answers (the plan: contacts reachable at all times).

        Unanswered → the next person (a backup); the whole chain is retried after
        ``retry_minutes``, at most ``max_call_rounds`` times. Returns ``(person, request)`` — the
        caller releases the request when the conversation's task is done — or None.
        """
        t = self.scenario.timing
        chain = self.chain(role, site)
        if t.call_order == "on_duty_first":
            # whoever is on duty now is rung first, then on call, then off duty (stable otherwise)
            now = self.env.now
            chain = tuple(
                sorted(chain, key=lambda pid: _STATE_RANK[self.people[pid].state_at(now)])
            )
        for rnd in range(t.max_call_rounds):
            for pid in chain:
                req = yield from self.call_person(incident, caller, pid, role)
                if req is not None:
                    return pid, req
            if rnd + 1 < t.max_call_rounds:
                yield self.env.timeout(t["retry_minutes"].sample(self.streams[f"retry:{incident}"]))
        return None

    def chain(self, role: str, site: str | None = None) -> tuple[str, ...]:
        """A role's call chain (cached per run: the roster does not change during one)."""
        cache = derived(self.scenario.roster)
        key = ("chain", role, site)
        found = cache.get(key)
        if found is None:
            found = cache[key] = self.scenario.roster.chain(role, site)
        return found

    def site_actor(self, inc: Incident) -> str:
        return self.chain("chief_examiner", inc.site)[0]

    def office_role(self) -> str:
        """During exams the exam centre's duty desk acts as the office (24小时专人值班)."""
        day = self.env.now // DAY
        return "duty_desk" if 0 <= day < self.scenario.days else "office_director"

    # -- reporting steps ---------------------------------------------------------------------
    def report(
        self,
        inc: Incident,
        actor: str,
        body: str,
        channel: str,
        minutes: float,
        kind: str,
        detail: str = "",
    ) -> Generator:
        """One report to a body. Reports to the working group reach its office by phone."""
        if body == "working_group":
            got = yield from self.call_role(inc.id, actor, self.office_role())
            if got is None:
                self.log(inc.id, actor, kind, channel, body, "failed", detail)
                return False
            pid, req = got
            yield self.env.timeout(minutes)
            self.busy_minutes[pid] += minutes
            self.resources[pid].release(req)
            self.log(inc.id, actor, kind, channel, body, "received", detail)
            if inc.id not in self.office_received:
                self.office_received[inc.id] = self.env.now
                self.log(inc.id, pid, "office_received", channel, body, "received")
                if self.office_acts:
                    self.env.process(self.office_informs(inc, pid))
            return True
        # an outside body picks up after its own delay, then the report takes its time
        yield self.env.timeout(self.fates[inc.id].body_receive[body] + minutes)
        self.log(inc.id, actor, kind, channel, body, "received", detail)
        reports = ("direct_report", "verbal_report", "written_report")
        if body == "regional_department" and kind in reports and inc.id not in self.dept_received:
            self.dept_received.add(inc.id)
            self.log(inc.id, body, "dept_received", channel, body, "received")
            direct = self.plan.reporting.direct_grades
            if kind == "direct_report" or self.assigned_grade.get(inc.id) in direct:
                self.env.process(self.department_reports_up(inc))
        return True

    def department_reports_up(self, inc: Incident) -> Generator:
        """The regional department reports to the region and the Ministry 立即."""
        yield self.env.timeout(self.fates[inc.id].relay)
        for body in self.plan.reporting.department_reports_to:
            self.log(inc.id, "regional_department", "dept_report_up", "phone", body, "received")

    def office_informs(self, inc: Incident, office_pid: str) -> Generator:
        """The office, on a report, immediately tells the leader and deputies and the emergency office."""
        for role in self.plan.reporting.office_informs_roles:
            got = yield from self.call_role(inc.id, office_pid, role)
            if got is None:
                self.log(inc.id, office_pid, "inform", "phone", role, "failed")
                continue
            pid, req = got
            yield from self.hold(pid, self.fates[inc.id].inform)
            self.resources[pid].release(req)
            self.log(inc.id, office_pid, "inform", "phone", role, "informed", pid)
        for body in self.plan.reporting.office_informs_bodies:
            yield self.env.timeout(self.fates[inc.id].inform)
            self.log(inc.id, office_pid, "inform", "phone", body, "informed")

    def deputy_to_site(self, inc: Incident, caller: str) -> Generator:
        """Ⅰ-level response: a deputy leader leads a team to the scene (副组长带队赴事发地)."""
        got = yield from self.call_role(inc.id, caller, "deputy_leader")
        if got is None:
            self.log(inc.id, caller, "deputy_dispatched", "phone", "deputy_leader", "failed")
            return
        pid, req = got
        self.log(inc.id, pid, "deputy_dispatched", "in_person", inc.site, "travelling")
        yield from self.hold(pid, self.fates[inc.id].travel)
        self.log(inc.id, pid, "deputy_on_site", "in_person", inc.site, "arrived")
        self.resources[pid].release(req)

    def dispatch_team(self, inc: Incident, caller: str) -> Generator:
        """Dispatch the emergency team (exam affairs, IT, logistics as the family needs)."""
        fate = self.fates[inc.id]
        held = []
        for role in TEAMS_BY_FAMILY[inc.family]:
            got = yield from self.call_role(inc.id, caller, role)
            if got is None:
                self.log(inc.id, caller, "team_dispatched", "phone", role, "failed")
                continue
            pid, req = got
            held.append((pid, req))
            self.log(inc.id, caller, "team_dispatched", "phone", role, "dispatched", pid)
        yield self.env.timeout(fate.dispatch + fate.travel)
        for pid, _ in held:
            self.log(inc.id, pid, "team_on_site", "in_person", inc.site, "arrived")
        yield self.env.timeout(fate.response)
        for pid, req in held:
            self.busy_minutes[pid] += fate.dispatch + fate.travel + fate.response
            self.resources[pid].release(req)
        return bool(held)


def incident_journey(r: Response, inc: Incident) -> Generator:
    """The plan-compliant automatic policy for one incident.

    Steps (plan clause): occurrence → discovery → clear obstacles and preserve evidence (信息报送
    原则) → grading by the working group (研究确定事件级别; may be late or wrong) → Ⅰ/Ⅱ: direct
    report to the regional department and working group → Ⅲ+: the emergency contact (direct
    communication) → verbal reports to the local government, higher authority and working group
    (先口头) → written first report (后书面, 首报不得超过3小时) → response by grade (Ⅱ emergency
    state; Ⅰ 24-hour duty and a deputy leader's team to the site) → special plan / containment by the
    emergency team with follow-up reports (续报) → recovery → evaluation and final report.
    """
    env, plan = r.env, r.plan
    fate = r.fates[inc.id]
    yield env.timeout(max(0.0, inc.at - env.now))
    r.log(inc.id, "site", "occurred", target=inc.site, detail=inc.family)
    yield env.timeout(fate.discovery)
    r.log(inc.id, "site", "discovered", target=inc.site)
    ce = r.site_actor(inc)
    req = r.resources[ce].request()
    yield req
    yield from r.hold(ce, fate.control)
    r.log(inc.id, ce, "control", "in_person", inc.site, "evidence_preserved")

    yield env.timeout(fate.grading + fate.grading_late)
    true = r.true_grade[inc.id]
    idx = min(3, max(0, GRADES.index(true) + fate.grading_shift))
    assigned = GRADES[idx]
    r.assigned_grade[inc.id] = assigned
    r.log(inc.id, "working_group", "graded", target=inc.id, outcome=assigned, detail=true)

    direct = assigned in plan.reporting.direct_grades
    targets = list(plan.reporting.verbal_then_written_to)
    if direct:
        for body in plan.reporting.direct_to:
            yield from r.report(inc, ce, body, "phone", fate.verbal, "direct_report")
    # Ⅲ and above: the emergency contact is for direct communication, so it is called before
    # the remaining verbal reports rather than after them (its clock runs from grading).
    if assigned in plan.reporting.emergency_contact_grades:
        got = yield from r.call_role(inc.id, ce, "emergency_contact")
        if got:
            pid, ereq = got
            yield from r.hold(pid, fate.inform)
            r.resources[pid].release(ereq)
    for body in targets:
        if direct and body in plan.reporting.direct_to:
            r.log(
                inc.id, ce, "verbal_report", "phone", body, "received", "covered by direct report"
            )
            continue
        yield from r.report(inc, ce, body, "phone", fate.verbal, "verbal_report")
    yield from r.hold(ce, fate.written)
    content = ",".join(plan.reporting.first_report_content)
    for body in targets:
        r.log(inc.id, ce, "written_report", "written", body, "received", content)
    first_report_at = env.now
    r.resources[ce].release(req)

    if assigned in plan.reporting.emergency_state_grades:
        yield env.timeout(fate.emergency_state)
        r.log(inc.id, "working_group", "emergency_state", outcome=assigned)
    if assigned in plan.reporting.duty_24h_grades:
        r.log(inc.id, "working_group", "duty_24h", outcome="started")
    if assigned in plan.reporting.deputy_on_site_grades:
        env.process(r.deputy_to_site(inc, "working_group"))

    r.log(inc.id, "working_group", "special_plan", outcome="activated")
    team = env.process(r.dispatch_team(inc, "working_group"))
    follow = env.process(follow_ups(r, inc, ce, first_report_at, team))
    yield team
    r.log(inc.id, "working_group", "resolved", target=inc.site)
    yield follow
    r.log(inc.id, "working_group", "closed", target=inc.site)
    r.closed[inc.id] = env.now
    yield env.timeout(fate.final)
    r.log(inc.id, "working_group", "final_report", "written", "working_group", "received")


def follow_ups(
    r: Response, inc: Incident, actor: str, since: float, until: simpy.Process
) -> Generator:
    """Send 续报 often enough that no gap exceeds the plan's follow-up interval, until resolved."""
    env = r.env
    interval = r.plan.rules["follow_up_reports"].allowed_minutes or 120.0
    fate = r.fates[inc.id]
    step = max(1.0, interval - fate.follow_up - 5.0)
    last = since
    while not until.triggered:
        wait = last + step - env.now
        yield until | env.timeout(max(0.0, wait))
        if until.triggered:
            break
        yield env.timeout(fate.follow_up)
        for body in r.plan.reporting.verbal_then_written_to:
            r.log(inc.id, actor, "follow_up", "written", body, "received")
        last = env.now


def simulate(scenario: Scenario, seed: int, replication: int = 0) -> Response:
    """Run every incident of one replication to its end under the automatic policy."""
    r = Response(scenario, seed, replication)
    for inc in r.incidents:
        r.env.process(incident_journey(r, inc))
    r.env.run()
    return r
