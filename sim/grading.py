"""Grading an incident against the plan's thresholds (事件分级).

The plan's grading rules are data (``grading:`` in the plan file); this module only walks them.
The grade found is the plan's floor: a working group may grade higher (setting ``grade_is_floor``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.plan import FAMILIES, INCIDENT_FIELDS, PHASES, SCOPES, Plan

_KNOWN = {"family", *INCIDENT_FIELDS}


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


def check_incident(facts: dict[str, Any], plan: Plan) -> list[str]:
    """Problems with an incident's facts, one message each (empty when usable)."""
    problems = []
    if not isinstance(facts, dict):
        return ["an incident is a JSON object"]
    for key in facts:
        if key not in _KNOWN:
            problems.append(f"{key}: unknown field (known: {', '.join(sorted(_KNOWN))})")
    family = facts.get("family")
    if family not in FAMILIES:
        problems.append(f"family: {family!r} is not one of {', '.join(FAMILIES)}")
        return problems
    people = facts.get("people")
    if "people" in facts and (
        isinstance(people, bool) or not isinstance(people, int) or people < 0
    ):
        problems.append(f"people: expected an integer ≥ 0, got {people!r}")
    if "scope" in facts and facts["scope"] not in SCOPES:
        problems.append(f"scope: {facts['scope']!r} is not one of {', '.join(SCOPES)}")
    if "phase" in facts and facts["phase"] not in PHASES:
        problems.append(f"phase: {facts['phase']!r} is not one of {', '.join(PHASES)}")
    for flag in ("spares_enough", "time_recoverable"):
        if flag in facts and not isinstance(facts[flag], bool):
            problems.append(f"{flag}: expected true or false, got {facts[flag]!r}")
    for used in plan.grading[family].uses:
        if used not in facts:
            problems.append(f"{used}: required for family {family}")
    return problems


def _holds(condition, facts: dict[str, Any]) -> bool:
    for key, test in condition.items():
        if key == "_settings":
            continue
        value = facts.get(key)
        if key == "people":
            lo, hi = test
            if value is None or value < lo or (hi is not None and value > hi):
                return False
        elif key in ("scope", "phase"):
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
    family = plan.grading[facts["family"]]
    for rule in family.rules:
        held = next((c for c in rule.conditions if _holds(c, facts)), None)
        if held is None:
            continue
        level = plan.resolve(rule.grade)
        used = set(held.get("_settings", ()))
        if isinstance(rule.grade, str) and rule.grade.startswith("$"):
            used.add(rule.grade[1:])
        used.add("grade_is_floor")
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
