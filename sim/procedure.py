"""The plan's response procedure as data: the steps of 信息报送, 应急响应流程 and 分级处置.

Each :class:`Step` says who does it (``by``), who it goes to (``to``), when it applies (grades,
families), what must come before it (``after``), how long it takes (a timing key), what it must
carry (``content``) and which rules judge it (``clocks``). The automatic policy
(:mod:`sim.policy`) and a drill (:mod:`sim.drill`) both run steps through one interpreter
(:mod:`sim.steps`); :mod:`sim.rules` judges their records. Read from the ``procedure:`` section of
the plan file; see the comment there for the meaning of every key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sim.yamlio import LineDict, Reader, msg

#: Stable step ids: the drill, the records, ``judge`` timelines and stored drills use them.
STEP_IDS = (
    "discovered",
    "control",
    "confirm",
    "graded",
    "verbal_report",
    "written_report",
    "direct_report",
    "dept_report_up",
    "office_informs",
    "office_reports_up",
    "department_informed",
    "emergency_contact",
    "emergency_state",
    "duty_24h",
    "deputy_to_site",
    "special_plan",
    "contain",
    "info_release",
    "team_dispatched",
    "follow_up",
    "resolved",
    "closed",
    "final_report",
)
KINDS = ("task", "event", "decision", "dispatch", "travel", "repeat")
#: Who may do a step besides a role or an outside body.
ACTORS = ("site", "office", "working_group")
#: ``first_report`` in an ``after`` list means the step the setting ``first_report_is`` names.
FIRST_REPORT = "first_report"
TEAMS = "$teams"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KEYS = {
    "id",
    "label_zh",
    "label_en",
    "clause_zh",
    "kind",
    "by",
    "to",
    "each",
    "grades",
    "families",
    "families_not",
    "after",
    "after_any",
    "deliver_after",
    "covered_by",
    "duration",
    "content",
    "clocks",
}


@dataclass(frozen=True)
class Step:
    """One step of the procedure (ids stable; labels for people; the sentence it comes from)."""

    id: str
    label_zh: str
    label_en: str
    clause_zh: str
    kind: str = "task"
    by: str = "working_group"
    to: tuple[str, ...] | str = ()  # addressees, or "$teams": the family's emergency team
    each: bool = False
    grades: tuple[str, ...] = ()  # () applies to every grade
    families: tuple[str, ...] | None = None  # None: every family
    families_not: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    after_any: tuple[str, ...] = ()
    deliver_after: str | None = None
    covered_by: tuple[str, ...] = ()
    duration: str | None = None
    content: tuple[str, ...] = ()
    clocks: tuple[str, ...] = ()

    @property
    def needs_grade(self) -> bool:
        """Whether the step can only be known to apply once the incident is graded."""
        return bool(self.grades)

    def fits(self, family: str) -> bool:
        """Whether the step is part of the procedure for this incident family at all."""
        if self.families is not None and family not in self.families:
            return False
        return family not in self.families_not

    def applies(self, family: str, grade: str | None) -> bool:
        """Whether the step is due for this family at this (team, floored) grade."""
        if not self.fits(family):
            return False
        return not self.grades or (grade is not None and grade in self.grades)

    def label(self, lang: str = "zh") -> str:
        return self.label_zh if lang == "zh" else self.label_en


def parse_procedure(
    r: Reader,
    node: Any,
    *,
    resolve,
    grades: tuple[str, ...],
    families: tuple[str, ...],
    roles: tuple[str, ...],
    bodies: tuple[str, ...],
    content: tuple[str, ...],
    rules: tuple[str, ...],
) -> tuple[Step, ...]:
    """Check the ``procedure:`` list and build its steps (problems go to ``r``)."""
    items = r.sequence(node, "procedure")
    steps: list[Step] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        pre = f"procedure[{i}]"
        item = r.mapping(item, pre, items, i)
        r.unknown(item, _KEYS, pre)
        sid = r.take(item, "id", pre, str)
        if sid is None:
            continue
        if not _ID.match(sid):
            r.add(item, "id", f"{pre}.id", "step_id_format")
            continue
        if sid in seen:
            r.add(item, "id", f"{pre}.id", "duplicate_step", id=repr(sid))
        seen.add(sid)
        pre = f"procedure.{sid}"
        kind = r.take(item, "kind", pre, str, "task", choices=KINDS)
        by = r.take(item, "by", pre, str, "working_group")
        if by is not None and by not in (*ACTORS, *roles, *bodies):
            r.add(
                item,
                "by",
                f"{pre}.by",
                "bad_actor",
                value=repr(by),
            )
        to: tuple[str, ...] | str = ()
        if item.get("to") == TEAMS:
            to = TEAMS
        elif "to" in item:
            to = ids_in(r, item, "to", pre, (*roles, *bodies), "what_role_or_body")
        step_grades = ids_in(r, item, "grades", pre, grades, "what_grade")
        fams = None
        if "families" in item:
            fams = ids_in(r, item, "families", pre, families, "what_family", resolve)
        fams_not = ids_in(r, item, "families_not", pre, families, "what_family", resolve)
        duration = r.take(item, "duration", pre, str, None)
        if duration is not None and not duration.endswith("_minutes"):
            r.add(item, "duration", f"{pre}.duration", "duration_key")
        steps.append(
            Step(
                id=sid,
                label_zh=r.take(item, "label_zh", pre, str, sid),
                label_en=r.take(item, "label_en", pre, str, sid),
                clause_zh=r.take(item, "clause_zh", pre, str, ""),
                kind=kind or "task",
                by=by or "working_group",
                to=to,
                each=bool(r.take(item, "each", pre, bool, False)),
                grades=step_grades,
                families=fams,
                families_not=fams_not,
                after=_refs(r, item, "after", pre),
                after_any=_refs(r, item, "after_any", pre),
                deliver_after=r.take(item, "deliver_after", pre, str, None),
                covered_by=_refs(r, item, "covered_by", pre),
                duration=duration,
                content=ids_in(r, item, "content", pre, content, "what_content"),
                clocks=ids_in(r, item, "clocks", pre, rules, "what_rule"),
            )
        )
    ids = {s.id for s in steps}
    for sid in STEP_IDS:
        if sid not in ids:
            r.add(node, None, f"procedure.{sid}", "step_missing")
    _check_refs(r, node, steps, ids)
    return tuple(steps)


def ids_in(
    r: Reader, node, key: str, pre: str, allowed, what: str = "what_one_of", resolve=None
) -> tuple[str, ...]:
    """A list of known ids at ``node[key]`` (``$setting`` resolved first); each unknown id is a
    problem at its own line. Shared by the plan's and the procedure's parsers. ``what`` names
    the ids by a problem code (``what_grade``: "a grade")."""
    value = node.get(key)
    if value is None:
        return ()
    if resolve is not None:
        value = resolve(value, node, key, f"{pre}.{key}")
        if value is None:
            return ()
    if not isinstance(value, list | tuple):
        r.add(node, key, f"{pre}.{key}", "expected_list_what", what=msg(what))
        return ()
    out = []
    for j, v in enumerate(value):
        if v not in allowed:
            where = value if isinstance(value, list) else node
            r.add(
                where,
                j if where is value else key,
                f"{pre}.{key}[{j}]",
                "not_what",
                value=repr(v),
                what=msg(what),
                allowed=", ".join(allowed),
            )
        else:
            out.append(v)
    return tuple(out)


def _refs(r: Reader, node, key, pre) -> tuple[str, ...]:
    value = node.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        r.add(node, key, f"{pre}.{key}", "expected_step_ids")
        return ()
    return tuple(value)


def _check_refs(r: Reader, node, steps: list[Step], ids: set[str]) -> None:
    """Every reference names a step, and no step waits for itself through others."""
    for s in steps:
        for key in ("after", "after_any", "covered_by"):
            for ref in getattr(s, key):
                base = ref.split(">", 1)[0]
                if base != FIRST_REPORT and base not in ids:
                    r.add(node, None, f"procedure.{s.id}.{key}", "unknown_step", step=repr(base))
        if s.deliver_after is not None and s.deliver_after not in ids:
            r.add(
                node,
                None,
                f"procedure.{s.id}.deliver_after",
                "unknown_step",
                step=repr(s.deliver_after),
            )
    # `after_any` is left out: one of its alternatives is enough, so a loop through one of
    # them (confirm ← the direct report ← grading ← confirm) still has a way out
    deps = {s.id: {ref.split(">", 1)[0] for ref in s.after} for s in steps}
    state: dict[str, int] = {}

    def visit(sid: str, path: list[str]) -> list[str] | None:
        state[sid] = 1
        for d in sorted(deps.get(sid, ())):
            d = "written_report" if d == FIRST_REPORT else d
            if state.get(d) == 1:
                return [*path, d]
            if d in deps and state.get(d) is None:
                found = visit(d, [*path, d])
                if found:
                    return found
        state[sid] = 2
        return None

    for s in steps:
        if state.get(s.id) is None:
            loop = visit(s.id, [s.id])
            if loop:
                r.add(
                    node,
                    None,
                    f"procedure.{s.id}.after",
                    "steps_wait",
                    path=" → ".join(loop),
                )
                return


def frozen_steps(steps: tuple[Step, ...]) -> dict[str, Step]:
    return {s.id: s for s in steps}


__all__ = [
    "Step",
    "STEP_IDS",
    "KINDS",
    "ACTORS",
    "FIRST_REPORT",
    "TEAMS",
    "parse_procedure",
    "LineDict",
]
