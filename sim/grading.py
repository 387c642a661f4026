"""Grading an incident against the plan's thresholds (事件分级).

The plan's grading rules are data (``grading:`` in the plan file); this module only walks them.
The grade found is the plan's floor: a working group may grade higher (setting ``grade_is_floor``).
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

from sim.plan import (
    BOOL_FIELDS,
    ERROR_KINDS,
    FAMILIES,
    INCIDENT_ALIASES,
    INCIDENT_FIELDS,
    PEOPLE_MAX,
    PHASES,
    SCOPES,
    Family,
    Plan,
)
from sim.yamlio import AnyOf, Msg, digits_of, msg, problem_words

_KNOWN = {"family", *INCIDENT_FIELDS, *INCIDENT_ALIASES}
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, 40, 40


class IncidentError(ValueError):
    """An incident description the grader cannot use; the message says why."""


@dataclass(frozen=True)
class Grading:
    level: str
    label_zh: str
    label_en: str
    basis_zh: str
    basis_en: str
    settings: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "label_zh": self.label_zh,
            "label_en": self.label_en,
            "basis": self.basis_zh,
            "basis_en": self.basis_en,
            "settings": self.settings,
        }


def _short(value: Any) -> Msg | str:
    """A value for a one-line message: never thousands of digits or a deep nesting."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**18:
        return digits_of(value)
    try:
        return _REPR.repr(value)
    except (RecursionError, ValueError):
        return msg("kind_object", type=type(value).__name__)


def _renamed(facts: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, Msg]]]:
    """Facts with old field names read as their new ones, and any clash between the two."""
    out = {k: v for k, v in facts.items() if k not in INCIDENT_ALIASES}
    problems = []
    for old, new in INCIDENT_ALIASES.items():
        if old not in facts:
            continue
        if new in facts and facts[new] != facts[old]:
            problems.append((old, msg("old_name_clash", new=new)))
        out.setdefault(new, facts[old])
    return out, problems


def _kind(facts: dict[str, Any], family: Family, plan: Plan) -> tuple[str | None, bool]:
    """The incident's error kind and whether it came from setting ``error_kind_default``."""
    if not family.has_kinds:
        return None, False
    if facts.get("error_kind") is not None:
        return facts["error_kind"], False
    return plan.setting("error_kind_default"), True


def phase_words(family_id: str, phase: str, kind: str | None, plan: Plan) -> Msg | None:
    """Why ``phase`` contradicts the family (and kind) as the plan words it (a problem code with
    its parameters), or None if it fits.

    None also when setting ``phase_mismatch`` is ``grade_anyway``.
    """
    family = plan.grading[family_id]
    allowed, words = family.allowed_phases(kind)
    if phase in allowed or plan.setting("phase_mismatch") == "grade_anyway":
        return None
    what = f"{family_id} ({kind})" if kind else family_id
    quote = msg("quote", text=words) if words else ""
    return msg("phase_contradicts", phase=phase, what=what, allowed=AnyOf(allowed), quote=quote)


def phase_problem(family_id: str, phase: str, kind: str | None, plan: Plan) -> str | None:
    """:func:`phase_words` in English."""
    why = phase_words(family_id, phase, kind, plan)
    return None if why is None else problem_words(why.code, why.params)


def incident_problems(facts: dict[str, Any], plan: Plan) -> list[tuple[str, Msg]]:
    """Problems with an incident's facts: (field, words by their code) each; empty when usable.

    ``spares_enough`` (the old name) is read as ``site_spares_enough``; a missing
    ``error_kind`` of distribution_error takes setting ``error_kind_default``.
    """
    if not isinstance(facts, dict):
        return [("", msg("incident_object"))]
    problems: list[tuple[str, Msg]] = []
    for key in facts:
        if key not in _KNOWN:
            name = key if isinstance(key, str) and len(key) <= 40 else _short(key)
            if isinstance(name, Msg):  # a field is named as written, in no language
                name = problem_words(name.code, name.params)
            known = ", ".join(sorted(_KNOWN))
            problems.append((name, msg("unknown_field_known", known=known)))
    facts, clashes = _renamed(facts)
    problems += clashes
    family = facts.get("family")
    if not isinstance(family, str) or family not in FAMILIES:
        allowed = ", ".join(FAMILIES)
        problems.append(("family", msg("not_one_of", value=_short(family), allowed=allowed)))
        return problems
    people = facts.get("people")
    if "people" in facts and (
        isinstance(people, bool) or not isinstance(people, int) or people < 0
    ):
        problems.append(("people", msg("people_whole", value=_short(people))))
    elif "people" in facts and people > PEOPLE_MAX:
        problems.append(
            ("people", msg("people_above", value=_short(people), max=f"{PEOPLE_MAX:,}"))
        )
    for key, allowed in (("scope", SCOPES), ("phase", PHASES), ("error_kind", ERROR_KINDS)):
        value = facts.get(key)
        if key in facts and (not isinstance(value, str) or value not in allowed):
            words = msg("not_one_of", value=_short(value), allowed=", ".join(allowed))
            problems.append((key, words))
    for flag in BOOL_FIELDS:
        if flag in facts and not isinstance(facts[flag], bool):
            problems.append((flag, msg("expected_bool_got", value=_short(facts[flag]))))
    fam = plan.grading[family]
    kind, _ = _kind(facts, fam, plan)
    if kind not in (None, *ERROR_KINDS):
        return problems
    for used in fam.required(kind):
        if used not in facts:
            for_what = f"{family} ({kind})" if kind in fam.kinds else family
            problems.append((used, msg("required_for", what=for_what)))
    phase = facts.get("phase")
    if isinstance(phase, str) and phase in PHASES:
        mismatch = phase_words(family, phase, kind, plan)
        if mismatch:
            problems.append(("phase", mismatch))
    return problems


def check_incident(facts: dict[str, Any], plan: Plan) -> list[str]:
    """Problems with an incident's facts, one English message each, ``field: message`` (empty
    when usable); :func:`incident_problems` gives them by their codes."""
    return [
        f"{field}: {problem_words(words.code, words.params)}"
        if field
        else problem_words(words.code, words.params)
        for field, words in incident_problems(facts, plan)
    ]


def _holds(condition, facts: dict[str, Any]) -> bool:
    for key, test in condition.items():
        if key == "_settings":
            continue
        value = facts.get(key)
        if key == "people":
            lo, hi = test
            if value is None or value < lo or (hi is not None and value > hi):
                return False
        elif key in ("scope", "phase", "error_kind"):
            if value not in test:
                return False
        elif value is None or value != test:
            return False
    return True


def grade(facts: dict[str, Any], plan: Plan) -> Grading:
    """The plan's grade for an incident. Raises :class:`IncidentError` on unusable facts."""
    problems = check_incident(facts, plan)
    if problems:
        raise IncidentError("; ".join(problems))
    facts, _ = _renamed(facts)
    family = plan.grading[facts["family"]]
    used: set[str] = {"grade_is_floor"}
    kind, defaulted = _kind(facts, family, plan)
    if kind is not None:
        facts["error_kind"] = kind
        if defaulted:
            used.add("error_kind_default")
    if "phase" in facts and facts["phase"] not in family.allowed_phases(kind)[0]:
        used.add("phase_mismatch")  # graded although the stage contradicts the family
    for rule in family.rules:
        held = next((c for c in rule.conditions if _holds(c, facts)), None)
        if held is None:
            continue
        level = plan.resolve(rule.grade)
        used |= set(held.get("_settings", ()))
        if isinstance(rule.grade, str) and rule.grade.startswith("$"):
            used.add(rule.grade[1:])
        return Grading(
            level=level,
            label_zh=plan.grade_label(level, "zh"),
            label_en=plan.grade_label(level, "en"),
            basis_zh=rule.basis_zh,
            basis_en=rule.basis_en,
            settings={name: _jsonable(plan.setting(name)) for name in sorted(used)},
        )
    raise IncidentError(f"no grading rule of the plan matches this {facts['family']} incident")


def _jsonable(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def more_severe(a: str, b: str) -> str:
    """The more severe of two grades (Ⅰ is the most severe)."""
    return a if grade_rank(a) <= grade_rank(b) else b


def grade_rank(level: str) -> int:
    return ("I", "II", "III", "IV").index(level) + 1
