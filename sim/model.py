"""The SimPy model: incidents at exam sites, the people who must act, and the reporting chain.

A :class:`Model` owns one SimPy environment, one :class:`Availability` per person (so two incidents — or two
roles held by one person — compete for the same people), the named random streams and the list
of :class:`~sim.records.Action` records. People are held as context managers
(``with contact: yield ...``) so nobody is released by hand. The steps themselves are in
:mod:`sim.steps`; who decides when to take them is a driver: :mod:`sim.policy` (the plan's
automatic policy) or :mod:`sim.drill` (a human team). The model never mutates the scenario.
"""

from __future__ import annotations

import heapq
from collections.abc import Generator
from dataclasses import dataclass
from itertools import count
from types import MethodType
from typing import Any, NamedTuple

import simpy
from simpy.events import NORMAL, URGENT, AllOf, AnyOf, Event, Initialize, Process, Timeout

from sim.grading import grade
from sim.plan import BODY_IDS
from sim.records import Action
from sim.scenario import DAY, TIMING_KEYS, Incident, Scenario, derived
from sim.streams import Streams

_new_action = tuple.__new__
# The model, the steps and the policy read the clock as ``env._now``: SimPy's ``env.now`` is a
# property, a function call each time, and a replication read it some two hundred times.

GRADES = ("I", "II", "III", "IV")

_new_event = object.__new__
_push = heapq.heappush


class RunEnvironment(simpy.Environment):
    """SimPy's environment for one run, made without SimPy's scan of its class for the five
    methods to bind early (a scan of some thirty names, a fifth of making a model): they are
    bound here, to the same classes."""

    def __init__(self) -> None:
        self._now = 0
        self._queue = []
        self._eid = count()
        self._active_proc = None
        self.process = MethodType(Process, self)
        self.timeout = MethodType(Timeout, self)
        self.event = MethodType(Event, self)
        self.all_of = MethodType(AllOf, self)
        self.any_of = MethodType(AnyOf, self)


def timeout(env: simpy.Environment, delay: float, then=None) -> Timeout:
    """SimPy's ``env.timeout(delay)``, the same event scheduled the same way, made in one
    Python call instead of three (the bound class, ``Timeout.__init__``, ``schedule``): a run
    makes one for every stretch of time that passes. ``then``: its first callback."""
    if delay < 0:
        raise ValueError(f"Negative delay {delay}")
    ev = _new_event(Timeout)
    ev.env = env
    ev.callbacks = [then] if then else []
    ev._value = None
    ev._delay = delay
    ev._ok = True
    _push(env._queue, (env._now + delay, NORMAL, next(env._eid), ev))
    return ev


class Span(NamedTuple):
    """A stretch of an incident's time and why it passed (``cause``): what a miss's explanation
    is made of (:mod:`sim.causes`). ``target`` is the addressee a delivery was for ("" for the
    step as a whole); ``who`` the person or body it concerns; ``detail`` e.g. what a busy person
    was busy with (``incident:step``) or the milestone a step waited for."""

    incident: str
    step: str
    target: str
    cause: str
    start: float
    end: float
    who: str = ""
    detail: str = ""


_STATE_RANK = {"on_duty": 0, "on_call": 1, "off_duty": 2}
_DURATION_KEYS = tuple(sorted(TIMING_KEYS))


@dataclass(slots=True)
class Fate:
    """Everything random about one incident, drawn up front in incident order (CRN-safe).

    One draw per timing key (sorted), so adding a step that uses an existing key, or moving a
    step to another role, shifts no other draw.
    """

    durations: dict[str, float]
    grading_late: float  # 0 when on time
    grading_shift: int  # 0 when right, -1 graded more severe, +1 less severe
    travel: float
    body_receive: dict[str, float]  # per outside body

    def minutes(self, key: str | None) -> float:
        return self.durations.get(key, 0.0) if key else 0.0


def draw_fate(inc: Incident, scenario: Scenario, rng) -> Fate:
    """One uniform per draw, in a fixed order, taken as one block: the same numbers as drawing
    them one by one (so the same fates), at a fraction of the cost. A fixed duration's uniform
    is taken but never made (``Uniforms.pick``): it only keeps the other draws in place."""
    t = scenario.timing
    n_keys = len(_DURATION_KEYS)
    # per draw in order, its fixed value or its quantile function (the scenario alone decides
    # which): looked up once, and a fixed duration is not worked out again per incident
    cache = derived(scenario)
    draws = cache.get("fate_draws")
    if draws is None:
        durations_of = _split_fixed(_DURATION_KEYS, [t[k] for k in _DURATION_KEYS], 0)
        bodies_of = _split_fixed(BODY_IDS, [t.receive_delay(b) for b in BODY_IDS], n_keys + 5)
        wanted = sorted(
            {i for i, _, _ in durations_of[1]}
            | set(range(n_keys, n_keys + 5))
            | {i for i, _, _ in bodies_of[1]}
        )
        draws = cache["fate_draws"] = (durations_of, bodies_of, tuple(wanted))
    (durations, drawn), (body_receive, body_drawn), wanted = draws
    u = dict(zip(wanted, rng.pick(n_keys + 5 + len(BODY_IDS), wanted), strict=True))
    durations, body_receive = dict(durations), dict(body_receive)
    for i, k, q in drawn:
        durations[k] = q(u[i])
    for i, k, q in body_drawn:
        body_receive[k] = q(u[i])
    if inc.discovered_after is not None:
        durations["discovery_minutes"] = inc.discovered_after
    late = t["grading_late_minutes"].quantile(u[n_keys])
    late_flag = u[n_keys + 1] < t.grading_late_prob
    wrong_flag = u[n_keys + 2] < t.grading_wrong_prob
    direction = -1 if u[n_keys + 3] < 0.5 else 1
    travel = scenario.site(inc.site).travel_minutes.quantile(u[n_keys + 4])
    return Fate(
        durations=durations,
        grading_late=late if late_flag else 0.0,
        grading_shift=direction if wrong_flag else 0,
        travel=travel,
        body_receive=body_receive,
    )


def _split_fixed(keys, dists, first: int) -> tuple[dict[str, float], tuple]:
    """The fixed values by key, and (index of its uniform, key, quantile) for the others."""
    fixed = {k: d.params[0] for k, d in zip(keys, dists, strict=True) if d.kind == "fixed"}
    drawn = tuple(
        (first + i, k, d.quantile)
        for i, (k, d) in enumerate(zip(keys, dists, strict=True))
        if k not in fixed
    )
    return fixed, drawn


def plan_grade(inc: Incident, plan) -> str:
    """The plan's grade for an incident, remembered per plan by its facts (the same scripted
    incident is graded once, not once per replication)."""
    cache = derived(plan).setdefault("grade_by_facts", {})
    facts = inc.facts()
    key = tuple(facts.items())
    found = cache.get(key)
    if found is None:
        if len(cache) > 4096:  # stochastic incidents: bounded
            cache.clear()
        found = cache[key] = grade(facts, plan).level
    return found


def generate_incidents(scenario: Scenario, streams: Streams) -> tuple[Incident, ...]:
    """Scripted incidents plus stochastic ones drawn from the ``incidents`` stream.

    Only the calendar and the rates are used, never the roster, so every staffing variant of a
    scenario faces the same incidents in replication *i*.
    """
    if not scenario.rates:
        # scripted incidents only: the same in every replication, sorted once per scenario
        cache = derived(scenario)
        found = cache.get("scripted")
        if found is None:
            found = cache["scripted"] = tuple(
                sorted(scenario.incidents, key=lambda x: (x.at, x.id))
            )
        return found
    # every (span, site, family rate) in the order the counts are drawn: the scenario's alone
    cache = derived(scenario)
    cells = cache.get("incident_cells")
    if cells is None:
        slots = [(s.start, s.end) for s in scenario.sessions]
        days = [(d * DAY, (d + 1) * DAY) for d in range(scenario.days)]
        order = [  # one Poisson count each, in this order
            (start, end, site.id, fr)
            for window, spans in (("session", slots), ("day", days))
            for start, end in spans
            for site in scenario.sites
            for fr in scenario.rates
            if fr.window == window
        ]
        cells = cache["incident_cells"] = order
    out = list(scenario.incidents)
    rng = streams["incidents"]
    poisson, n = rng.poisson, 0
    for start, end, site, fr in cells:
        for _ in range(int(poisson(fr.rate))):
            n += 1
            out.append(_draw_incident(f"s{n}", fr, site, start, end, rng))
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


class Availability:
    """Whether one person is free, and who waits for them: the most urgent step first (the
    tightest clock), then the earliest; a ringing phone goes before any queued step.

    A person held by one of their roles is busy for all of them. Lighter than a SimPy
    resource: taking a free person costs no simulation event, and waiting costs one.
    """

    __slots__ = ("env", "held", "holder", "_queue", "_n")

    def __init__(self, env: simpy.Environment):
        self.env = env
        self.held = False
        # what holds them, (incident, step): why a step waited for them (text only when asked)
        self.holder: tuple[str, str] = ("", "")
        self._queue: list[list] = []  # [priority, order, event, still waiting]
        self._n = 0

    def wait(self, priority: float) -> list:
        """Queue for the person; the entry's event succeeds when they are handed over."""
        self._n += 1
        entry = [priority, self._n, self.env.event(), True]
        heapq.heappush(self._queue, entry)
        return entry

    @staticmethod
    def cancel(entry: list) -> None:
        entry[3] = False

    def give_back(self) -> None:
        """Free the person, or hand them straight to the first still waiting."""
        while self._queue:
            entry = heapq.heappop(self._queue)
            if entry[3]:
                entry[3] = False
                entry[2].succeed()
                return  # still held: now by the waiter
        self.held = False


class _People(dict):
    """One :class:`Availability` per person, made when first needed."""

    def __init__(self, env: simpy.Environment):
        super().__init__()
        self.env = env

    def __missing__(self, pid: str) -> Availability:
        got = self[pid] = Availability(self.env)
        return got


#: Priority of answering the phone (lower goes first): before every queued step.
CALL_PRIORITY = -1.0


class Contact:
    """A person held for a step. Use as a context manager: leaving the block releases them and
    books the minutes they were held as their busy time."""

    __slots__ = ("model", "pid", "held", "since", "role")

    def __init__(self, model: Model, pid: str, held: bool, role: str):
        self.model, self.pid, self.held, self.role = model, pid, held, role
        self.since = model.env._now

    def __enter__(self) -> Contact:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        if self.held:
            m, pid = self.model, self.pid
            m.busy_minutes[pid] = m.busy_minutes.get(pid, 0.0) + m.env._now - self.since
            avail = m.availability[pid]
            if avail._queue:
                avail.give_back()
            else:  # nobody waits: free (what give_back does then, without the call)
                avail.held = False
            self.held = False


@dataclass
class Ring:
    """A call ringing at a seat: a person whose phone a player (or the trainer) answers in a
    drill instead of the model's draw (:meth:`Model.call_person`). ``delay`` is the model's own
    answer time for this call (what answering costs in a turn-based drill)."""

    id: int
    incident: str
    pid: str
    role: str
    step: str
    target: str
    caller: str
    start: float
    until: float
    delay: float
    would_answer: bool  # the model's own draw: what an unheld seat does with it
    answer: Any = None  # the event a seat's answer triggers (its value: extra minutes, or None)
    proc: Any = None  # the process that made the call (a turn-based drill runs it on)
    outcome: str = "ringing"  # ringing, answered, unanswered
    end: float | None = None


class Model:
    """The people, bodies and clocks of one run; the steps of :mod:`sim.steps` act on it."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        replication: int = 0,
        env: simpy.Environment | None = None,
    ):
        self.scenario = scenario
        self.plan = scenario.plan
        self.env = env or RunEnvironment()
        self.streams = Streams(seed, replication)
        self.records: list[Action] = []
        # what depends on the roster alone (people by id, call chains, duty spans, call orders):
        # kept beside the roster, so every replication reuses it; read only here
        self._roster_cache = roster_cache = derived(scenario.roster)
        people = roster_cache.get("people")
        if people is None:
            people = roster_cache["people"] = {p.id: p for p in scenario.roster.people}
        self.people = people
        self.availability = _People(self.env)
        self.busy_minutes = dict.fromkeys(people, 0.0)
        #: per person phoned at least once: [calls, unanswered] (nobody else is listed)
        self.calls: dict[str, list[int]] = {}
        self.incidents = generate_incidents(scenario, self.streams)
        fates_rng = self.streams.uniforms("fates")
        self.fates = {inc.id: draw_fate(inc, scenario, fates_rng) for inc in self.incidents}
        # the incidents by id and their plan grades: worked out once per scenario when its
        # incidents are all scripted (the same in every replication; read only)
        known = derived(scenario).get("scripted_facts") if not scenario.rates else None
        if known is None or known[0] is not self.incidents:
            known = (
                self.incidents,
                {inc.id: inc for inc in self.incidents},
                {inc.id: plan_grade(inc, self.plan) for inc in self.incidents},
            )
            if not scenario.rates:
                derived(scenario)["scripted_facts"] = known
        self.by_id, self.true_grade = known[1], known[2]
        self.assigned_grade: dict[str, str] = {}
        #: who took the incident's first report for the office: they act on it (接报后，立即报…)
        self.office_person: dict[str, str] = {}

        #: why each stretch of an incident's time passed (:class:`Span`), and per step when it
        #: became ready and which milestone made it so: what :mod:`sim.causes` walks back
        self.spans: list[tuple] = []  # Span fields, as plain tuples
        self.ready: dict[tuple[str, str], tuple[float, tuple | None]] = {}
        self.urgency: dict[str, float] = _urgencies(self.plan)
        #: what depends on the plan alone (which steps hold nobody...), kept beside the plan
        self.plan_cache: dict = derived(self.plan)
        #: per incident, each milestone reached (without the incident) -> when
        self._milestones: dict[str, dict[tuple, float]] = {}
        self._watchers: dict[str, dict[tuple, list]] = {}  # incident -> milestone -> fns
        self._listeners: dict[str, list] = {}  # incident -> fn(key without the incident)
        self._spans: dict[str, tuple[float, float, str]] = {}  # person -> current duty span
        self._orders: dict[tuple, tuple[float, float, tuple[str, ...]]] = {}  # see _by_duty
        self._roster_spans: dict[str, list] = roster_cache.setdefault("spans", {})
        self._roster_orders: dict[tuple, list] = roster_cache.setdefault("orders", {})
        #: (person, duty state) -> their reachability (the roster alone decides it)
        self._reach: dict[tuple[str, str], Any] = roster_cache.setdefault("reach", {})
        ring = scenario.timing["ring_minutes"]
        self._ring = ring.params[0] if ring.kind == "fixed" else ring.mean
        #: people whose phone rings at a seat of a drill (a player or the trainer answers), and
        #: the calls ringing there now and before; empty in a simulated run
        self.seat_phones: frozenset[str] = frozenset()
        self.ringing: dict[int, Ring] = {}
        self.rings: list[Ring] = []

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
        # tuple.__new__ directly: a named tuple's own __new__ is a Python function, and a run
        # logs one record per delivery and call
        self.records.append(
            _new_action(
                Action, (self.env._now, incident, actor, action, channel, target, outcome, detail)
            )
        )

    def span(
        self,
        incident: str,
        step: str,
        target: str,
        cause: str,
        start: float,
        end: float | None = None,
        who: str = "",
        detail: str = "",
    ) -> None:
        """Record why ``[start, end]`` (end: now) of an incident's time passed (if it did)."""
        if end is None:
            end = self.env._now
        if end > start:
            # a plain tuple here (a run records one per stretch of time); read as :class:`Span`
            self.spans.append((incident, step, target, cause, start, end, who, detail))

    # -- milestones a driver can wait for ----------------------------------------------------
    # ``(incident, step)`` done or ``(incident, step, target)`` delivered. Kept as plain
    # callbacks, not SimPy events: most milestones are never waited on, and a callback costs no
    # event in the schedule.
    def reach(self, incident: str, *rest: str) -> None:
        got = self._milestones.get(incident)
        if got is None:
            got = self._milestones[incident] = {}
        elif rest in got:
            return
        got[rest] = self.env._now
        watchers = self._watchers.get(incident)
        if watchers and rest in watchers:
            for fn in watchers.pop(rest):
                fn()
        listeners = self._listeners.get(incident)
        if listeners:
            for fn, keys in listeners:
                if rest in keys:
                    fn(rest)

    def reached(self, incident: str, *rest: str) -> bool:
        got = self._milestones.get(incident)
        return got is not None and rest in got

    def reached_at(self, incident: str, *rest: str) -> float | None:
        """When the milestone was first reached, if it was."""
        got = self._milestones.get(incident)
        return None if got is None else got.get(rest)

    def milestones(self, incident: str) -> dict[tuple, float]:
        """The incident's milestones reached so far (without the incident) and when: for tests
        in place on a hot path. Read only: :meth:`reach` writes it."""
        got = self._milestones.get(incident)
        if got is None:
            got = self._milestones[incident] = {}
        return got

    def on(self, key: tuple, fn) -> None:
        """Call ``fn()`` when ``key`` is reached (at once if it already is)."""
        if self.reached(*key):
            fn()
        else:
            self._watchers.setdefault(key[0], {}).setdefault(key[1:], []).append(fn)

    def listen(self, incident: str, fn, keys: frozenset[tuple]) -> None:
        """Call ``fn(key)`` for each milestone of ``incident`` in ``keys`` from now on (``key``
        without the incident): one listener follows all of an incident's steps, and is not
        called for the milestones nothing of it waits on."""
        self._listeners.setdefault(incident, []).append((fn, keys))

    def finish(self) -> None:
        """Drop the milestone callbacks once the run has ended: they close over the model, so
        they kept every finished run alive until the cyclic garbage collector came round."""
        self._listeners.clear()
        self._watchers.clear()

    def milestone(self, *key: str) -> simpy.Event:
        """A SimPy event for a process that must wait for ``key`` (already triggered if reached)."""
        ev = self.env.event()
        self.on(key, lambda: ev.triggered or ev.succeed())
        return ev

    # -- people -----------------------------------------------------------------------------
    def state_of(self, pid: str) -> str:
        """A person's duty state now (on_duty, on_call, off_duty)."""
        return self._span(pid)[2]

    def _span(self, pid: str) -> tuple[float, float, str]:
        now = self.env._now
        span = self._spans.get(pid)
        if span is None or not span[0] <= now < span[1]:
            # spans depend on the roster alone: kept beside it, so every replication reuses them
            known = self._roster_spans.setdefault(pid, [])
            span = None
            for s in known:
                if s[0] <= now < s[1]:
                    span = s
                    break
            if span is None:
                span = self.people[pid].state_span(now)
                if len(known) > 64:
                    known.clear()
                known.append(span)
            self._spans[pid] = span
        return span

    def _order_now(self, key: tuple) -> tuple[str, ...] | None:
        """The order remembered under ``key`` (:meth:`_by_duty`), if it still holds now: asked
        before its pool is looked up or its rank made (a run asks again and again)."""
        hit = self._orders.get(key)
        if hit is not None and hit[0] <= self.env._now < hit[1]:
            return hit[2]
        return None

    def _by_duty(self, key: tuple, pool: tuple[str, ...], rank) -> tuple[str, ...]:
        """``pool`` sorted by ``rank(pid, duty state)``, remembered under ``key`` for as long as
        nobody in it changes duty state; for when :meth:`_order_now` has none that holds."""
        now = self.env._now
        # the order depends on the roster and the time alone: kept beside the roster, so every
        # replication reuses it
        known = self._roster_orders.setdefault(key, [])
        hit = None
        for h in known:
            if h[0] <= now < h[1]:
                hit = h
                break
        if hit is None:
            since, until, states = float("-inf"), float("inf"), {}
            for pid in pool:
                lo, hi, states[pid] = self._span(pid)
                since, until = max(since, lo), min(until, hi)
            hit = (since, until, tuple(sorted(pool, key=lambda pid: rank(pid, states[pid]))))
            if len(known) > 64:
                known.clear()
            known.append(hit)
        self._orders[key] = hit
        return hit[2]

    def ring_minutes(self) -> float:
        """How long a phone rings before the caller gives up (its fixed value, or its mean)."""
        return self._ring

    def chain(self, role: str, site: str | None = None) -> tuple[str, ...]:
        """A role's call chain (cached per roster: it does not change during a run)."""
        cache = self._roster_cache
        key = ("chain", role, site)
        found = cache.get(key)
        if found is None:
            found = cache[key] = self.scenario.roster.chain(role, site)
        return found

    def site_people(self, site: str) -> tuple[str, ...]:
        """The site's own people who share its steps (setting ``site_roles``)."""
        cache = self._roster_cache
        # the plan's setting is in the key: plans that differ in it may share one roster
        key = ("site_people", site, tuple(self.plan.setting("site_roles")))
        found = cache.get(key)
        if found is None:
            roles = set(key[2])
            found = tuple(
                p.id for p in self.scenario.roster.people if p.site == site and roles & set(p.roles)
            )
            found = found or self.chain("chief_examiner", site)[:1]
            cache[key] = found
        return found

    def office_role(self) -> str:
        """During exams the exam centre's duty desk acts as the office (24小时专人值班)."""
        day = self.env._now // DAY
        return "duty_desk" if 0 <= day < self.scenario.days else "office_director"

    def doers(self, by: str, inc: Incident) -> tuple[str, ...]:
        """Who may do a step ``by`` someone, best first (on duty before on call before off duty)."""
        site, pool = inc.site, None
        if by == "site":  # the site's people, as the plan's site_roles say: in the key
            role, first = by, None
            pool = self.site_people(site)
            key: tuple = ("doers", pool)
        else:  # a role's chain at the site: the key names it
            if by == "office":
                role, first = self.office_role(), self.office_person.get(inc.id)
            else:
                role, first = by, None
            key = ("doers", role, site, first)
        order = self._order_now(key)
        if order is not None:
            return order
        if pool is None:
            pool = self.chain(role, site)
        return self._by_duty(key, pool, lambda pid, state: (pid != first, _STATE_RANK[state]))

    def take_free(
        self, pids: tuple[str, ...], role: str, incident: str = "", step: str = ""
    ) -> Contact | None:
        """Hold the first of ``pids`` who is free now, if anyone is (no waiting, no event)."""
        people = self.availability
        for pid in pids:
            avail = people[pid]
            if not avail.held:
                avail.held = True
                avail.holder = (incident, step)
                return Contact(self, pid, True, role)
        return None

    def claim(
        self,
        pids: tuple[str, ...],
        role: str,
        priority: float = 0.0,
        incident: str = "",
        step: str = "",
    ) -> Generator[Any, Any, Contact]:
        """Hold the first of ``pids`` to be free (waiting while all are busy); ``priority``:
        lower is more urgent when several steps wait for the same person. The wait is a
        ``waiting_busy`` span naming what the first of them was busy with."""
        people = self.availability
        free = self.take_free(pids, role, incident, step)
        if free is not None:  # someone is free: take them without queueing at everyone else's
            return free
        since, busy_with = self.env._now, people[pids[0]].holder
        entries = [(pid, people[pid].wait(priority)) for pid in pids]
        if len(entries) == 1:
            yield entries[0][1][2]
        else:
            yield self.env.any_of([entry[2] for _, entry in entries])
        chosen = None
        for pid, entry in entries:
            if entry[2].triggered and chosen is None:
                chosen = Contact(self, pid, True, role)
            elif entry[2].triggered:
                people[pid].give_back()  # handed over in the same instant: not needed
            else:
                Availability.cancel(entry)
        assert chosen is not None
        people[chosen.pid].holder = (incident, step)
        self.span(
            incident, step, "", "waiting_busy", since, who=pids[0], detail=":".join(busy_with)
        )
        return chosen

    def call_person(
        self, incident: str, caller: str, pid: str, role: str, step: str = "", target: str = ""
    ) -> Generator[Any, Any, Contact | None]:
        """One phone call to one person: a held :class:`Contact` if they answer, else None.

        Whether they answer depends on their duty state now and their own random stream; a
        person busy with another incident (or another of their roles) does not pick up before
        the ring time ends.
        """
        env = self.env
        ring = self._ring
        state = self._span(pid)[2]
        reach = self._reach.get((pid, state))
        if reach is None:
            person = self.people[pid]
            reach = self._reach[(pid, state)] = self.scenario.roster.reach_of(person, state)
        # one stream per person and incident: a variant that changes who is called for one
        # incident leaves every draw for the other incidents as it was (common random numbers)
        rng = self.streams.uniforms(f"answer:{pid}:{incident}")
        answers = rng.random() < reach.answer_prob
        delay = reach.answer_minutes.quantile(rng.random())  # Dist.sample, one call fewer
        counts = self.calls.get(pid)
        if counts is None:
            counts = self.calls[pid] = [0, 0]
        counts[0] += 1
        start = env._now
        if pid in self.seat_phones:
            would = answers and delay <= ring
            return (
                yield from self._ring_seat(incident, caller, pid, role, step, target, delay, would)
            )
        if not answers or delay > ring:
            yield timeout(env, ring)
            counts[1] += 1
            self.log(incident, caller, "call", "phone", pid, "unanswered", f"{role}:{state}")
            self.span(incident, step, target, "call_unanswered", start, who=pid, detail=state)
            return None
        avail = self.availability[pid]
        if avail.held:
            busy_with = avail.holder
            entry = avail.wait(CALL_PRIORITY)
            yield entry[2] | timeout(env, ring)
            if not entry[2].triggered:  # still busy when the ring ended
                Availability.cancel(entry)
                counts[1] += 1
                self.log(incident, caller, "call", "phone", pid, "busy", f"{role}:{state}")
                self.span(
                    incident, step, target, "call_busy", start, who=pid, detail=":".join(busy_with)
                )
                return None
        else:
            avail.held = True
        avail.holder = (incident, step)
        contact = Contact(self, pid, True, role)
        yield timeout(env, delay)
        self.log(incident, caller, "call", "phone", pid, "answered", f"{role}:{state}")
        if delay > 0:  # appended here: every answered call records one
            self.spans.append(
                (incident, step, target, "answer_delay", start, start + delay, pid, state)
            )
        return contact

    def _ring_seat(
        self,
        incident: str,
        caller: str,
        pid: str,
        role: str,
        step: str,
        target: str,
        delay: float,
        would_answer: bool,
    ) -> Generator[Any, Any, Contact | None]:
        """A call to a person a player answers: it rings at their seat for the ring time; the
        seat's answer (``Ring.answer`` succeeding with the minutes answering costs) or the ring
        running out decides, as a person's own draw does in a simulated run."""
        env, ring_minutes = self.env, self._ring
        state = self.state_of(pid)
        start = env._now
        ring = Ring(len(self.rings) + 1, incident, pid, role, step, target, caller, start,
                    start + ring_minutes, delay, would_answer, env.event(),
                    env.active_process)  # fmt: skip
        self.rings.append(ring)
        self.ringing[ring.id] = ring
        timeout_ev = timeout(env, ring_minutes)
        yield ring.answer | timeout_ev
        extra = ring.answer.value if ring.answer.triggered else None
        if extra is None and not timeout_ev.processed:
            yield timeout_ev  # let it ring: the caller waits out the ring time
        del self.ringing[ring.id]
        ring.end = env._now
        if extra is None:
            ring.outcome = "unanswered"
            self.calls[pid][1] += 1
            self.log(incident, caller, "call", "phone", pid, "unanswered", f"{role}:{state}")
            self.span(incident, step, target, "call_unanswered", start, who=pid, detail=state)
            return None
        ring.outcome = "answered"
        avail = self.availability[pid]
        if avail.held:  # still busy with another step: the call waits for them
            yield avail.wait(CALL_PRIORITY)[2]
        else:
            avail.held = True
        avail.holder = (incident, step)
        contact = Contact(self, pid, True, role)
        if extra > 0:
            yield timeout(env, extra)
        ring.end = env._now  # picked up: what the seat's answer time measures
        self.log(incident, caller, "call", "phone", pid, "answered", f"{role}:{state}")
        if env._now > start:
            self.spans.append((incident, step, target, "answer_delay", start, env._now, pid, state))
        return contact

    def call_role(
        self,
        incident: str,
        caller: str,
        role: str,
        site: str | None = None,
        step: str = "",
        target: str = "",
    ) -> Generator[Any, Any, Contact | None]:
        """Phone a role's call chain until someone answers (contacts reachable at all times).

        Unanswered → the next person (a backup); the whole chain is retried after
        ``retry_minutes``, at most ``max_call_rounds`` times. Returns a held :class:`Contact`
        or None.
        """
        t = self.scenario.timing
        # nobody phones themselves: a caller who is in the chain (one person, several roles)
        # goes on to the next
        chain = self.chain(role, site)
        if t.call_order == "on_duty_first":
            # the role's own people first, on duty before on call before off duty; then the
            # backups the same way (a deputy on duty must not stand in for a leader on call)
            key = ("call", role, site, caller)
            order = self._order_now(key)
            if order is not None:
                chain = order
            else:
                if caller in chain:
                    chain = tuple(pid for pid in chain if pid != caller)
                people = self.people
                chain = self._by_duty(
                    key,
                    chain,
                    lambda pid, state: (role not in people[pid].roles, _STATE_RANK[state]),
                )
        elif caller in chain:
            chain = tuple(pid for pid in chain if pid != caller)
        for rnd in range(t.max_call_rounds):
            for pid in chain:
                got = yield from self.call_person(incident, caller, pid, role, step, target)
                if got is not None:
                    return got
            if rnd + 1 < t.max_call_rounds:
                start = self.env._now
                yield timeout(
                    self.env, t["retry_minutes"].sample(self.streams.uniforms(f"retry:{incident}"))
                )
                self.span(incident, step, target, "retry_wait", start, who=role)
        return None


class Detached:
    """A SimPy process that nobody waits for (a policy's step, a team at work): started by an
    ``Initialize`` event like :class:`simpy.Process`, and resumed the same way, but without the
    completion event a process schedules when it ends — an event no one listens to, which was
    one in eight of a replication's events. A failure crashes the run, as an unwaited
    process's does."""

    __slots__ = ("_generator",)

    def __init__(self, env: simpy.Environment, generator: Generator) -> None:
        self._generator = generator
        # SimPy's Initialize(env, self), made in place as :func:`timeout` makes a Timeout
        ev = _new_event(Initialize)
        ev.env = env
        ev.callbacks = [self._resume]
        ev._value = None
        ev._ok = True
        _push(env._queue, (env._now, URGENT, next(env._eid), ev))

    def _resume(self, event: simpy.Event) -> None:
        generator = self._generator
        while True:
            try:
                if event._ok:
                    event = generator.send(event._value)
                else:
                    event._defused = True  # type: ignore[attr-defined]
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    event = generator.throw(exc)
            except StopIteration:
                return
            if event.callbacks is not None:
                event.callbacks.append(self._resume)
                return


def run_to_end(env: simpy.Environment) -> None:
    """``env.run()`` to the last event, as ``Environment.step`` does it but in one loop: a
    replication processes about sixty events, and the method call and the ``until`` machinery
    per event were a visible part of it. Nothing here stops a run early (no ``until``)."""
    queue, pop = env._queue, heapq.heappop
    while queue:
        env._now, _, _, event = pop(queue)
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            # a failed event nobody handled: crash as SimPy does, with a fresh traceback
            exc = type(event._value)(*event._value.args)
            exc.__cause__ = event._value
            raise exc


def _urgencies(plan) -> dict[str, float]:
    """Per step, the tightest clock it is judged by (minutes; cached beside the plan): a free
    person takes the most urgent waiting step first — a 立即 call before the written report."""
    cache = derived(plan)
    found = cache.get("urgency")
    if found is None:
        found = cache["urgency"] = {
            step.id: min(
                (
                    a
                    for a in (plan.rules[r].allowed_minutes for r in step.clocks if r in plan.rules)
                    if a is not None
                ),
                default=1e6,
            )
            for step in plan.procedure
        }
    return found


__all__ = [
    "Availability",
    "Contact",
    "Detached",
    "Fate",
    "Model",
    "Span",
    "draw_fate",
    "generate_incidents",
    "run_to_end",
    "GRADES",
]
