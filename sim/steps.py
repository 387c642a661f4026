"""One interpreter for the procedure's steps: the automatic policy and a drill both call it.

:func:`perform` runs one step of :mod:`sim.procedure` for one incident on a :class:`~sim.model.Model`:
it holds whoever does the step (the site's free people, the office, a role), spends the step's
time, and delivers it to each addressee — outside bodies pick up after their own delay, roles
are phoned through their call chain. Every delivery and completion is an
:class:`~sim.records.Action` whose ``action`` is the step id, so :mod:`sim.rules` judges a drill
and a simulated run from the same records.

Record conventions (what :mod:`sim.rules` and ``judge`` timelines rely on):

- a delivery: ``target`` the addressee, ``outcome`` ``received`` (a body), ``informed`` (a role's
  own person answered), ``informed_backup`` (someone else in the role's chain answered),
  ``dispatched`` (a team member), or ``failed``; ``detail`` the content given (comma list) or the
  person reached;
- a step without addressees: ``outcome`` ``done`` (``graded``: the grade, ``detail`` the plan's);
- ``deputy_to_site``: ``started`` when the deputy sets off, ``done`` on arrival at the site.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

from sim.model import GRADES, Contact, Detached, Model, timeout
from sim.plan import BODY_IDS
from sim.procedure import Step
from sim.scenario import Incident

_PERSON_ACTORS = ("site", "office")
_WRITTEN = ("written_report", "final_report")


def arrive(m: Model, inc: Incident) -> None:
    """The incident happens at its time and is discovered after its discovery delay (two
    timed callbacks: no process is needed for what nobody decides). What has already happened
    (a drill's trainer sent the inject early) does not happen again at its scripted time."""
    env = m.env

    def discovered(_event) -> None:
        if m.reached(inc.id, "discovered"):
            return
        m.log(inc.id, "site", "discovered", target=inc.site)
        m.span(inc.id, "discovered", "", "discovery", inc.at, who=inc.site)
        m.reach(inc.id, "discovered")

    def occurred(_event) -> None:
        if m.reached(inc.id, "occurred"):
            return
        m.log(inc.id, "site", "occurred", target=inc.site, detail=inc.family)
        m.reach(inc.id, "occurred")
        timeout(env, m.fates[inc.id].minutes("discovery_minutes"), discovered)

    timeout(env, max(0.0, inc.at - env._now), occurred)


#: Who acts without anyone of the roster being held: an outside body, or the group itself
#: (``site``, ``office`` and every role are people).
_NOT_A_PERSON = frozenset((*BODY_IDS, "working_group")) - set(_PERSON_ACTORS)


def _is_person_actor(by: str) -> bool:
    return by not in _NOT_A_PERSON


def perform(
    m: Model,
    inc: Incident,
    step: Step,
    *,
    targets: Iterable[str] | None = None,
    content: Iterable[str] | None = None,
    level: str | None = None,
    person: str | None = None,
    wait_order: bool = False,
    work: float | None = None,
    uncovered: bool = False,
) -> Generator[Any, Any, dict[str, Any]]:
    """Run ``step`` for ``inc`` now; returns what happened (``reached``: addressee → outcome).

    ``targets`` default to the step's addressees; ``content`` to what the step must carry;
    ``level`` is the grade a ``graded`` step gives (required there); ``person`` makes a role
    addressee one call to that person (a drill's choice) instead of working the whole chain;
    ``wait_order`` makes each delivery wait for the ``deliver_after`` step's delivery to the same
    addressee (the automatic policy keeps 先口头、后书面; a team may not). ``work``: the minutes
    the step's own work takes instead of the model's (a player in a live drill did it in real time).
    ``uncovered``: leave out the addressees a ``covered_by`` step has already reached (the
    automatic policy does not send a direct report to who has had the verbal one).
    """
    env, plan = m.env, m.plan
    fate = m.fates[inc.id]
    minutes = fate.durations.get(step.duration, 0.0) if work is None else work
    if targets is not None:
        to = tuple(targets)
    else:
        to = plan.addressees(step.id, inc.family)
        if uncovered and step.covered_by:
            reached, keep = m.milestones(inc.id), []
            for t in to:
                for c in step.covered_by:
                    if (c, t) in reached:
                        break
                else:
                    keep.append(t)
            to = tuple(keep)
    given = ",".join(step.content if content is None else content)
    result: dict[str, Any] = {"reached": {}}
    doer: Contact | None = None
    actor = step.by
    if step.by not in _NOT_A_PERSON:  # a person acts (as _is_person_actor, without a call)
        pids = m.doers(step.by, inc)
        if not pids:
            m.log(inc.id, step.by, step.id, target=inc.site, outcome="failed", detail="no one")
            m.reach(inc.id, step.id)
            return result
        doer = m.take_free(pids, step.by, inc.id, step.id)
        if doer is None:  # everyone busy: wait for the first to be free
            doer = yield from m.claim(pids, step.by, m.urgency[step.id], inc.id, step.id)
        actor = doer.pid
    try:
        if step.id == "graded":
            if level not in GRADES:
                raise ValueError(f"graded needs a level, got {level!r}")
            if minutes > 0:
                yield timeout(env, minutes)
                m.span(inc.id, step.id, "", "step_work", env._now - minutes, who=actor)
            m.assigned_grade[inc.id] = level
            m.log(
                inc.id, actor, "graded", target=inc.id, outcome=level, detail=m.true_grade[inc.id]
            )
        elif not to:
            if minutes > 0:
                yield timeout(env, minutes)
                m.span(inc.id, step.id, "", "step_work", env._now - minutes, who=actor)
            m.log(inc.id, actor, step.id, target=inc.site, outcome="done")
        elif step.kind in ("dispatch", "travel"):
            yield from _send_people(m, inc, step, actor, to, person, result)
        elif step.each:
            for target in to:
                if wait_order and not _order_ok(m, inc, step, target):
                    yield from _wait_order(m, inc, step, target)
                got = yield from _deliver(m, inc, step, actor, target, minutes, given, person)
                result["reached"][target] = got
        else:
            # written once, then sent to every addressee at once (each picks it up in its own
            # time); the writer is free once it is written
            if minutes > 0:
                yield timeout(env, minutes)
                m.span(inc.id, step.id, "", "step_work", env._now - minutes, who=actor)
            if doer is not None:
                doer.release()
            yield from _send_all(m, inc, step, actor, to, given, person, wait_order, result)
    finally:
        if doer is not None:
            doer.release()
    m.reach(inc.id, step.id)
    return result


def on_paper(step: Step, target: str) -> bool:
    """Whether a delivery goes on paper (or from the group itself): nobody picks up a phone.
    Everything else — a role, or the working group reached through its office — is a call."""
    if target not in BODY_IDS:
        return False
    return target != "working_group" or step.by == "working_group" or step.id in _WRITTEN


def _send_all(
    m: Model,
    inc: Incident,
    step: Step,
    actor: str,
    to: tuple[str, ...],
    given: str,
    person: str | None,
    wait_order: bool,
    result: dict[str, Any],
) -> Generator:
    """Send a written step to every addressee at once. Paper deliveries that may go now are
    walked in order of arrival in this process; calls and held-back deliveries get their own."""
    env = m.env
    paper, others = [], []
    for target in to:
        if on_paper(step, target) and not (wait_order and not _order_ok(m, inc, step, target)):
            paper.append(target)
        else:
            others.append(target)
    procs = [
        env.process(_send(m, inc, step, actor, t, given, person, wait_order, result))
        for t in others
    ]
    fate, start = m.fates[inc.id], env._now
    by_person = step.by not in _NOT_A_PERSON
    for delay, _, target in sorted(
        (fate.body_receive[t] if by_person else 0.0, i, t) for i, t in enumerate(paper)
    ):
        if start + delay > env._now:
            yield timeout(env, start + delay - env._now)
        m.span(inc.id, step.id, target, "body_pickup", start, start + delay, who=target)
        result["reached"][target] = _received(m, inc, step, actor, target, given)
    if procs:
        # one call delivery is waited for as it is: a condition would cost two more events
        yield procs[0] if len(procs) == 1 else env.all_of(procs)


def _received(m: Model, inc: Incident, step: Step, actor: str, target: str, given: str) -> str:
    channel = "written" if step.id in _WRITTEN else "phone"
    m.log(inc.id, actor, step.id, channel, target, "received", given)
    m.reach(inc.id, step.id, target)
    return "received"


def is_unheld(m: Model, inc: Incident, step: Step) -> bool:
    """A step that holds nobody and phones nobody (the group's own decision, an outside body's
    relay): it only takes its time, then is delivered on paper to bodies. The policy runs it as
    a timed callback (:func:`perform_unheld`), not a process. Depends on the plan and the
    family alone, so it is worked out once per plan."""
    cache = m.plan_cache
    key = ("unheld", step.id, inc.family)
    found = cache.get(key)
    if found is None:
        found = cache[key] = holds_no_one(m.plan, inc.family, step)
    return found


def holds_no_one(plan, family: str, step: Step) -> bool:
    """:func:`is_unheld` worked out from the plan (the policy keeps it in each family's
    program): a task or decision of the group or a body, delivered on paper to bodies alone,
    with no order to keep."""
    if step.kind not in ("task", "decision") or _is_person_actor(step.by):
        return False
    if step.covered_by or step.deliver_after:
        return False
    return all(
        t in BODY_IDS and (t != "working_group" or step.by == "working_group")
        for t in plan.addressees(step.id, family)
    )


def perform_unheld(m: Model, inc: Incident, step: Step, *, level: str | None = None) -> None:
    """Take a step for which :func:`is_unheld` holds: the same records as :func:`perform` (its
    time, then each addressee receives it at once, or ``done``), without a process."""
    to = m.plan.addressees(step.id, inc.family)
    if step.id == "graded" and level not in GRADES:
        raise ValueError(f"graded needs a level, got {level!r}")
    # a body's step to each addressee in turn is relayed at once (as in perform's deliveries)
    minutes = 0.0 if step.each and to else m.fates[inc.id].durations.get(step.duration, 0.0)

    def done(_event: object = None) -> None:
        if step.id == "graded":
            m.assigned_grade[inc.id] = level  # type: ignore[assignment]
            m.log(
                inc.id, step.by, "graded", target=inc.id, outcome=level or "",
                detail=m.true_grade[inc.id],
            )  # fmt: skip
        elif not to:
            m.log(inc.id, step.by, step.id, target=inc.site, outcome="done")
        else:
            given = ",".join(step.content)
            for target in to:
                _received(m, inc, step, step.by, target, given)
        m.reach(inc.id, step.id)

    if minutes > 0:
        m.span(inc.id, step.id, "", "step_work", m.env._now, m.env._now + minutes, who=step.by)
        timeout(m.env, minutes, done)
    else:
        done()


def _order_keys(m: Model, step: Step, target: str) -> list[tuple]:
    """What a delivery of ``step`` to ``target`` waits for, as milestones of its incident
    (without the incident): that addressee's ``deliver_after`` delivery (or one covering it),
    or that step having been tried to the end (a verbal report that reached no one does not
    hold the written one back for ever)."""
    after = step.deliver_after
    return [(s, target) for s in (after, *m.plan.steps[after].covered_by)] + [(after,)]


def _order_ok(m: Model, inc: Incident, step: Step, target: str) -> bool:
    """Whether a delivery may go now: any of :func:`_order_keys` reached."""
    if not step.deliver_after:
        return True
    reached = m.milestones(inc.id)
    return any(k in reached for k in _order_keys(m, step, target))


def _send(
    m: Model,
    inc: Incident,
    step: Step,
    actor: str,
    target: str,
    given: str,
    person: str | None,
    wait_order: bool,
    result: dict[str, Any],
) -> Generator:
    if wait_order and not _order_ok(m, inc, step, target):
        yield from _wait_order(m, inc, step, target)
    result["reached"][target] = yield from _deliver(m, inc, step, actor, target, 0.0, given, person)


def _wait_order(m: Model, inc: Incident, step: Step, target: str) -> Generator:
    """Wait until ``target`` has had the ``deliver_after`` step (or a step that covers it)."""
    if _order_ok(m, inc, step, target):
        return
    start = m.env._now
    keys = _order_keys(m, step, target)
    yield m.env.any_of([m.milestone(inc.id, *k) for k in keys])
    # the milestone that let it go: the explanation goes on from there
    reached = m.milestones(inc.id)
    first = min((k for k in keys if k in reached), key=reached.__getitem__)
    m.span(inc.id, step.id, target, "after", start, who=target, detail=">".join(first))


def _deliver(
    m: Model,
    inc: Incident,
    step: Step,
    actor: str,
    target: str,
    minutes: float,
    given: str,
    person: str | None,
) -> Generator[Any, Any, str]:
    """One delivery of a step to one addressee; the talk or transfer takes ``minutes``."""
    env = m.env
    channel = "written" if step.id in _WRITTEN else "phone"
    if target in BODY_IDS and (target != "working_group" or step.by == "working_group"):
        if step.by not in _NOT_A_PERSON:
            # an outside body picks up after its own delay, then the report takes its time
            pickup = m.fates[inc.id].body_receive[target]
            yield timeout(env, pickup + minutes)
            _pickup_then_work(m, inc, step, target, pickup, minutes, actor)
        return _received(m, inc, step, actor, target, given)
    role = m.office_role() if target == "working_group" else target
    if actor in m.people and role in m.people[actor].roles and person in (None, actor):
        # the one who acts holds the addressed role too (one person, several roles): they know
        outcome = "received" if target in BODY_IDS else "informed"
        m.log(
            inc.id, actor, step.id, channel, target, outcome, given if target in BODY_IDS else actor
        )
        m.reach(inc.id, step.id, target)
        if target == "working_group":
            m.office_person.setdefault(inc.id, actor)
        return outcome
    if channel == "written" and target == "working_group":
        # a written report reaches the office on paper: no one has to pick up the phone
        pickup = m.fates[inc.id].body_receive[target]
        yield timeout(env, pickup + minutes)
        _pickup_then_work(m, inc, step, target, pickup, minutes, actor)
        return _received(m, inc, step, actor, target, given)
    contact = yield from _reach(m, inc, actor, role, person, step.id, target)
    if contact is None:
        m.log(inc.id, actor, step.id, channel, target, "failed", given)
        return "failed"
    with contact:
        # a call that is the delivery itself (the step's work was done before) waits no more
        if minutes > 0:
            yield timeout(env, minutes)
            now = env._now
            m.spans.append((inc.id, step.id, target, "step_work", now - minutes, now, actor, ""))
    if target == "working_group":
        m.office_person.setdefault(inc.id, contact.pid)
    outcome = "received" if target in BODY_IDS else _informed(m, contact.pid, role)
    m.log(
        inc.id,
        actor,
        step.id,
        channel,
        target,
        outcome,
        given if target in BODY_IDS else contact.pid,
    )
    m.reach(inc.id, step.id, target)
    return outcome


def _pickup_then_work(
    m: Model, inc: Incident, step: Step, target: str, pickup: float, minutes: float, actor: str
) -> None:
    """The spans of a delivery to a body that just ended: its pick-up delay, then the talk."""
    now = m.env._now
    spans, talk = m.spans, now - minutes
    if pickup > 0:
        spans.append((inc.id, step.id, target, "body_pickup", talk - pickup, talk, target, ""))
    if minutes > 0:
        spans.append((inc.id, step.id, target, "step_work", talk, now, actor, ""))


def _informed(m: Model, pid: str, role: str) -> str:
    return "informed" if role in m.people[pid].roles else "informed_backup"


def _reach(
    m: Model,
    inc: Incident,
    caller: str,
    role: str,
    person: str | None,
    step: str = "",
    target: str = "",
) -> Generator[Any, Any, Contact | None]:
    """One call to ``person`` when they are in the role's chain (a team's choice), else the
    role's whole chain (``step``/``target``: what the calls are for, for the explanation).
    Returns the calls' generator, not one of its own: a level less to pass through."""
    if person is not None and person in m.chain(role, inc.site):
        return m.call_person(inc.id, caller, person, role, step, target)
    return m.call_role(inc.id, caller, role, inc.site, step, target)


def _send_people(
    m: Model,
    inc: Incident,
    step: Step,
    actor: str,
    to: tuple[str, ...],
    person: str | None,
    result: dict[str, Any],
) -> Generator:
    """Reach each role by phone; who answers goes to work on site (dispatch) or to the site (travel)."""
    held: list[Contact] = []
    for role in to:
        contact = yield from _reach(m, inc, actor, role, person, step.id, role)
        if contact is None:
            m.log(inc.id, actor, step.id, "phone", role, "failed")
            result["reached"][role] = "failed"
            continue
        outcome = "dispatched" if step.kind == "dispatch" else "started"
        m.log(inc.id, actor, step.id, "phone", role, outcome, contact.pid)
        m.reach(inc.id, step.id, role)
        result["reached"][role] = outcome
        held.append(contact)
    if step.kind == "dispatch":
        Detached(m.env, _team_works(m, inc, step, held))
    else:
        for contact in held:
            Detached(m.env, _travels(m, inc, step, contact))


def _team_works(m: Model, inc: Incident, step: Step, team: list[Contact]) -> Generator:
    """The emergency team sets off, travels, works the response; then the incident is resolved."""
    fate, env = m.fates[inc.id], m.env
    m.ready[(inc.id, "resolved")] = (env._now, (step.id,))
    setting_off = fate.minutes(step.duration)
    yield timeout(env, setting_off + fate.travel)
    m.span(inc.id, "resolved", "", "step_work", env._now - fate.travel - setting_off,
           env._now - fate.travel, who=step.id)  # fmt: skip
    m.span(inc.id, "resolved", "", "travel", env._now - fate.travel, who=inc.site)
    for c in team:
        m.log(inc.id, c.pid, "team_on_site", "in_person", inc.site, "arrived")
    response = fate.minutes("response_minutes")
    yield timeout(env, response)
    m.span(inc.id, "resolved", "", "step_work", env._now - response, who="response")
    for c in team:
        c.release()
    if not m.reached(inc.id, "resolved"):
        m.log(inc.id, "working_group", "resolved", target=inc.site, outcome="done")
        m.reach(inc.id, "resolved")


def _travels(m: Model, inc: Incident, step: Step, contact: Contact) -> Generator:
    """A deputy leader leads a team to the scene (副组长带队赴事发地)."""
    fate, env = m.fates[inc.id], m.env
    with contact:
        setting_off = fate.minutes(step.duration)
        yield timeout(env, setting_off + fate.travel)
        m.span(inc.id, step.id, "on_site", "step_work", env._now - fate.travel - setting_off,
               env._now - fate.travel, who=contact.pid)  # fmt: skip
        m.span(inc.id, step.id, "on_site", "travel", env._now - fate.travel, who=contact.pid)
        m.log(inc.id, contact.pid, step.id, "in_person", inc.site, "done")
    m.reach(inc.id, step.id, "on_site")


__all__ = ["arrive", "holds_no_one", "is_unheld", "on_paper", "perform", "perform_unheld"]
