"""The plan's automatic policy: every step of the procedure, as soon as the plan allows it.

For each incident, every step waits — as milestone callbacks, not processes — for the steps it
comes after (``after`` all, ``after_any`` one); then, when it depends on the grade or the
family, it checks that it applies and runs through :func:`sim.steps.perform` (a process), or
as a timed callback when it holds and phones nobody (:func:`sim.steps.perform_unheld`). Steps with no dependency between them
run in parallel, limited only by who is free: the site's people share the site's steps, the
office its own. Follow-ups repeat until the incident is resolved, so no gap exceeds the plan's
follow-up interval.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass

from sim.model import GRADES, Detached, Model, run_to_end, timeout
from sim.plan import Plan
from sim.procedure import FIRST_REPORT, Step
from sim.scenario import Incident, Scenario, derived
from sim.steps import arrive, holds_no_one, is_unheld, perform, perform_unheld

#: Steps the policy does not start itself: events the model produces.
_PRODUCED = ("discovered", "resolved")


def _ref_key(plan: Plan, ref: str) -> tuple:
    """A step's ``after`` reference as a milestone key without the incident: ``(step,)`` done,
    ``(step, target)`` delivered."""
    base, _, target = ref.partition(">")
    if base == FIRST_REPORT:
        base = plan.first_report_step
    return (base, target) if target else (base,)


def policy_grade(m: Model, inc: Incident) -> str:
    """The grade the policy's working group gives: the plan's, shifted when the fate says wrong."""
    true = m.true_grade[inc.id]
    shift = m.fates[inc.id].grading_shift
    return GRADES[min(3, max(0, GRADES.index(true) + shift))]


@dataclass(frozen=True)
class _Program:
    """The procedure's dependency graph for one family, built once per plan.

    ``need[i]``: how many milestones step ``i`` waits for (each of ``after``, the grade when
    it depends on it, and one for ``after_any``); ``deps``: per milestone (the key without the
    incident), which steps it counts for, and whether as one of their ``after_any``.
    """

    steps: tuple[Step, ...]
    need: tuple[int, ...]
    deps: dict[tuple, tuple[tuple[int, bool], ...]]
    #: per step, the grades it is due at (empty: every grade; the family fits every step here)
    grades: tuple[frozenset[str], ...]
    #: per step, whether it holds and phones nobody (:func:`sim.steps.is_unheld`)
    unheld: tuple[bool, ...]
    #: the milestones some step waits on (the keys of ``deps``)
    waited_on: frozenset[tuple]


def _program(plan: Plan, family: str, only: frozenset[str] | None) -> _Program:
    cache = derived(plan)
    key = ("program", family, only)
    found = cache.get(key)
    if found is not None:
        return found
    steps = tuple(
        s
        for s in plan.procedure
        if s.id not in _PRODUCED and s.fits(family) and (only is None or s.id in only)
    )
    need: list[int] = []
    deps: dict[tuple, list[tuple[int, bool]]] = {}
    for i, step in enumerate(steps):
        keys = [_ref_key(plan, ref) for ref in step.after]
        if step.needs_grade:
            keys.append(("graded",))
        for k in keys:
            deps.setdefault(k, []).append((i, False))
        for k in dict.fromkeys(_ref_key(plan, ref) for ref in step.after_any):
            deps.setdefault(k, []).append((i, True))
        need.append(len(keys) + (1 if step.after_any else 0))
    found = cache[key] = _Program(
        steps,
        tuple(need),
        {k: tuple(v) for k, v in deps.items()},
        tuple(frozenset(s.grades) for s in steps),
        tuple(holds_no_one(plan, family, s) for s in steps),
        frozenset(deps),
    )
    return found


def when_ready(
    m: Model,
    inc: Incident,
    only: frozenset[str] | None = None,
    gate: Callable[[Incident, Step, tuple | None], bool] | None = None,
) -> None:
    """Start each step of the procedure (or of ``only``) once every step it comes after is done
    (and one of ``after_any``), if it then applies to the incident.

    Waiting is one milestone listener per incident counting down a table, not a process per
    step, so a step that never becomes due costs no simulation events. ``gate`` (a drill's
    seats): called when a step becomes due; the policy takes it only if it says yes.
    """
    prog = _program(m.plan, inc.family, only)
    left = list(prog.need)
    fired: set[int] = set()
    assigned, iid = m.assigned_grade, inc.id
    steps, deps, grades, unheld = prog.steps, prog.deps, prog.grades, prog.unheld

    def ready(i: int, trigger: tuple | None = None) -> None:
        # due for the grade its working group gave (a wrong grade leads to wrong steps, which
        # the rules then judge against the plan's floor); the program holds only steps that
        # fit the family
        due_at = grades[i]
        if due_at and assigned.get(iid) not in due_at:
            return
        step = steps[i]
        if gate is not None and not gate(inc, step, trigger):
            return
        _start(m, inc, step, trigger, unheld[i])

    def reached(key: tuple) -> None:
        for i, via_any in deps.get(key, ()):
            if via_any:
                if i in fired:
                    continue
                fired.add(i)
            left[i] -= 1
            if left[i] == 0:
                ready(i, key)

    m.listen(inc.id, reached, prog.waited_on)
    for i, n in enumerate(prog.need):
        if n == 0:
            ready(i)


def start_step(m: Model, inc: Incident, step: Step, trigger: tuple | None = None) -> None:
    """The policy takes a step that is due now: as a timed callback when it holds and phones
    nobody, else as a process (the working group's grade after its fate's late minutes)."""
    _start(m, inc, step, trigger, is_unheld(m, inc, step))


def _start(m: Model, inc: Incident, step: Step, trigger: tuple | None, unheld: bool) -> None:
    # when it became due, and the milestone that made it so: the explanation's way back
    m.ready[(inc.id, step.id)] = (m.env._now, trigger)
    if unheld:
        if step.id != "graded":
            perform_unheld(m, inc, step)
            return
        late = m.fates[inc.id].grading_late

        def grade_now(_event: object = None) -> None:
            perform_unheld(m, inc, step, level=policy_grade(m, inc))

        if late > 0:
            m.span(inc.id, step.id, "", "late_grading", m.env._now, m.env._now + late)
            timeout(m.env, late, grade_now)
        else:
            grade_now()
    elif step.id == "graded" or step.kind == "repeat":
        Detached(m.env, run_step(m, inc, step))
    else:
        # straight to the interpreter: a generator less to pass through at every resume
        Detached(m.env, perform(m, inc, step, uncovered=True, wait_order=True))


def run_step(m: Model, inc: Incident, step: Step) -> Generator:
    """Take ``step`` now (:func:`when_ready` has checked that it applies)."""
    if step.id == "graded":
        late = m.fates[inc.id].grading_late
        if late > 0:
            yield timeout(m.env, late)
            m.span(inc.id, step.id, "", "late_grading", m.env._now - late)
        yield from perform(m, inc, step, level=policy_grade(m, inc))
    elif step.kind == "repeat":
        yield from _repeat(m, inc, step)
    else:
        yield from perform(m, inc, step, uncovered=True, wait_order=True)


def _repeat(m: Model, inc: Incident, step: Step) -> Generator:
    """Send 续报 often enough that no gap exceeds the follow-up interval, until resolved."""
    env = m.env
    fate = m.fates[inc.id]
    interval = m.plan.rules["follow_up_reports"].allowed_minutes or 120.0
    to = m.plan.addressees(step.id, inc.family)
    pickup = max((fate.body_receive.get(t, 0.0) for t in to), default=0.0)
    # start early enough that the report reaches everyone before the interval runs out
    gap = max(1.0, interval - fate.minutes(step.duration) - pickup - 5.0)
    resolved = m.milestone(inc.id, "resolved")  # triggered already if resolved
    kind = m.plan.first_report_step
    firsts = [m.reached_at(inc.id, kind, t) for t in m.plan.addressees(kind, inc.family)]
    last = min((t for t in firsts if t is not None), default=env._now)
    while not resolved.triggered:
        wait = last + gap - env._now
        if wait > 0:
            since = env._now
            # woken by the interval's end or the resolution, whichever comes first: what
            # ``resolved | timeout`` does, without building a SimPy condition each time
            woken = env.event()

            def wake(_event: object, woken=woken) -> None:
                if not woken.triggered:
                    woken.succeed()

            timeout(env, wait, wake)
            resolved.callbacks.append(wake)
            yield woken
            m.span(inc.id, step.id, "", "follow_up_interval", since)
        if resolved.triggered:
            break
        before = len(m.records)
        yield from perform(m, inc, step)
        sent = [
            a.time for a in m.records[before:] if a.action == step.id and a.outcome == "received"
        ]
        last = min(sent, default=env._now)


def start_incident(m: Model, inc: Incident) -> None:
    """Start the incident's arrival, and each step of the procedure once it is due."""
    arrive(m, inc)
    when_ready(m, inc)


def simulate(scenario: Scenario, seed: int, replication: int = 0) -> Model:
    """Run every incident of one replication to its end under the automatic policy."""
    m = Model(scenario, seed, replication)
    for inc in m.incidents:
        start_incident(m, inc)
    run_to_end(m.env)
    m.finish()
    return m


__all__ = [
    "policy_grade",
    "run_step",
    "simulate",
    "start_incident",
    "start_step",
    "when_ready",
]
