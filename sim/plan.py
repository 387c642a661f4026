"""The plan as data: grades, named settings, roles, bodies, reporting lines, rules and grading.

A :class:`Plan` is read from ``scenarios/plan.yaml`` (or a planner's copy). Values written
``$name`` refer to a named setting, so every ambiguity of the plan is decided in one place with
its reason. The plan is immutable once read; variants are copies with changed settings.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.yamlio import LineDict, Reader, load_file

GRADES = ("I", "II", "III", "IV")
FAMILIES = (
    "leak",
    "answer_sheet_loss",
    "distribution_error",
    "disaster",
    "group_cheating",
    "score_error",
    "online_info",
)
SCOPES = ("room", "rooms", "site", "sites", "local_area", "wider")
PHASES = ("before_exam", "during_exam", "marking", "after_publication")
INCIDENT_FIELDS = ("people", "scope", "phase", "spares_enough", "time_recoverable")
RULE_IDS = (
    "first_report_3h",
    "verbal_before_written",
    "direct_report_I_II",
    "dept_reports_up_immediately",
    "office_informs_leaders",
    "emergency_contact_III_plus",
    "duty_24h_during_exam",
    "deputy_leader_on_site_I",
    "follow_up_reports",
    "final_report",
)
ROLE_IDS = (
    "leader",
    "deputy_leader",
    "office_director",
    "duty_desk",
    "general_contact",
    "emergency_contact",
    "chief_examiner",
    "team_exam_affairs",
    "team_it",
    "team_logistics",
    "expert",
)
BODY_IDS = (
    "local_government",
    "higher_authority",
    "working_group",
    "regional_department",
    "regional_government",
    "ministry",
    "regional_emergency_office",
)
REPORT_CONTENT = ("time", "place", "scale", "people_units", "damage_injuries", "threat", "trend")
DEFAULT_PLAN = Path(__file__).resolve().parent.parent / "scenarios" / "plan.yaml"


class Frozen(dict):
    """A read-only dict that pickles (for worker processes), unlike ``Frozen``."""

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("the plan is read-only; make a changed copy instead")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]

    def __reduce__(self):
        return (Frozen, (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: str(kv[0]))))


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    reason: str
    choices: tuple | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    label_zh: str
    label_en: str
    grades: tuple[str, ...]
    allowed_minutes: float | None


@dataclass(frozen=True)
class GradingRule:
    grade: str  # a grade or "$setting"
    conditions: tuple[Frozen, ...]  # any one must hold; each a mapping of field -> test
    basis_zh: str
    basis_en: str


@dataclass(frozen=True)
class Family:
    id: str
    uses: tuple[str, ...]
    rules: tuple[GradingRule, ...]


@dataclass(frozen=True)
class Reporting:
    verbal_then_written_to: tuple[str, ...]
    direct_grades: tuple[str, ...]
    direct_to: tuple[str, ...]
    department_reports_to: tuple[str, ...]
    office_informs_roles: tuple[str, ...]
    office_informs_bodies: tuple[str, ...]
    emergency_contact_grades: tuple[str, ...]
    emergency_state_grades: tuple[str, ...]
    duty_24h_grades: tuple[str, ...]
    deputy_on_site_grades: tuple[str, ...]
    first_report_content: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    """The plan, read and checked. ``source`` is the file it came from."""

    name_zh: str
    name_en: str
    grades: Frozen  # grade -> {rank, label_zh, label_en, roman}
    settings: Frozen  # name -> Setting
    roles: Frozen  # role id -> {label_zh, label_en}
    bodies: Frozen  # body id -> {label_zh, label_en}
    reporting: Reporting
    rules: Frozen  # rule id -> Rule (allowed minutes resolved)
    grading: Frozen  # family -> Family
    source: str = ""
    raw: Frozen = field(default_factory=lambda: Frozen({}), repr=False)

    def setting(self, name: str) -> Any:
        return self.settings[name].value

    def resolve(self, value: Any) -> Any:
        """A literal, or the value of the ``$setting`` it names."""
        if isinstance(value, str) and value.startswith("$"):
            return self.settings[value[1:]].value
        return value

    def grade_label(self, grade: str, lang: str = "zh") -> str:
        return self.grades[grade]["label_zh" if lang == "zh" else "label_en"]

    def with_settings(self, **changes: Any) -> Plan:
        """A copy with some settings' values changed (and the rules' clocks re-resolved)."""
        raw = copy.deepcopy(dict(self.raw))
        for name, value in changes.items():
            if name not in raw.get("settings", {}):
                raise KeyError(f"unknown setting {name!r}")
            raw["settings"][name]["value"] = value
        return parse_plan(raw, self.source or "<plan>")

    def with_rule_minutes(self, rule_id: str, minutes: float) -> Plan:
        raw = copy.deepcopy(dict(self.raw))
        raw["rules"][rule_id]["allowed_minutes"] = minutes
        return parse_plan(raw, self.source or "<plan>")


def _tuple_of(
    r: Reader, node: Any, key: str, prefix: str, allowed: tuple[str, ...]
) -> tuple[str, ...]:
    items = r.take(node, key, prefix, list)
    if items is None:
        return ()
    out = []
    for i, item in enumerate(items):
        if item not in allowed:
            r.add(items, i, f"{prefix}.{key}[{i}]", f"{item!r} is not one of {', '.join(allowed)}")
        else:
            out.append(item)
    return tuple(out)


def _labels(
    r: Reader, node: Any, prefix: str, ids: tuple[str, ...], extra: set[str] = frozenset()
) -> dict:
    out = {}
    node = r.mapping(node, prefix)
    for key in node:
        if key not in ids:
            r.add(node, key, f"{prefix}.{key}", f"unknown id (known: {', '.join(ids)})")
            continue
        item = r.mapping(node[key], f"{prefix}.{key}", node, key)
        r.unknown(item, {"label_zh", "label_en", *extra}, f"{prefix}.{key}")
        out[key] = {
            "label_zh": r.take(item, "label_zh", f"{prefix}.{key}", str) or key,
            "label_en": r.take(item, "label_en", f"{prefix}.{key}", str) or key,
        }
        for name in extra:
            out[key][name] = item.get(name)
    for key in ids:
        if key not in node:
            r.add(node, None, f"{prefix}.{key}", "missing")
    return out


def parse_plan(data: Any, file: str) -> Plan:
    """Check a plan read from YAML and build a :class:`Plan`; raises InputError listing problems."""
    r = Reader(file)
    top = r.mapping(data, "(plan)")
    r.unknown(
        top,
        {
            "name_zh",
            "name_en",
            "grades",
            "settings",
            "roles",
            "bodies",
            "reporting",
            "rules",
            "grading",
        },
        "",
    )
    name_zh = r.take(top, "name_zh", "", str, "")
    name_en = r.take(top, "name_en", "", str, "")

    grades: dict[str, dict] = {}
    gnode = r.mapping(top.get("grades"), "grades", top, "grades")
    for g in GRADES:
        if g not in gnode:
            r.add(gnode, None, f"grades.{g}", "missing")
            continue
        item = r.mapping(gnode[g], f"grades.{g}", gnode, g)
        r.unknown(item, {"rank", "label_zh", "label_en", "roman"}, f"grades.{g}")
        grades[g] = {
            "rank": r.take(item, "rank", f"grades.{g}", int, min_value=1, max_value=4),
            "label_zh": r.take(item, "label_zh", f"grades.{g}", str),
            "label_en": r.take(item, "label_en", f"grades.{g}", str),
            "roman": r.take(item, "roman", f"grades.{g}", str, g),
        }
    for g in gnode:
        if g not in GRADES:
            r.add(gnode, g, f"grades.{g}", f"unknown grade (grades are {', '.join(GRADES)})")

    settings: dict[str, Setting] = {}
    snode = r.mapping(top.get("settings", LineDict()), "settings", top, "settings")
    for name, item in snode.items():
        item = r.mapping(item, f"settings.{name}", snode, name)
        r.unknown(item, {"value", "reason", "choices"}, f"settings.{name}")
        if "value" not in item:
            r.add(item, None, f"settings.{name}.value", "required field is missing")
            continue
        reason = r.take(item, "reason", f"settings.{name}", str)
        choices = r.take(item, "choices", f"settings.{name}", list, None)
        value = item["value"]
        if choices is not None:
            values = value if isinstance(value, list) else [value]
            for v in values:
                if v not in choices:
                    r.add(
                        item,
                        "value",
                        f"settings.{name}.value",
                        f"{v!r} is not one of {', '.join(map(str, choices))}",
                    )
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            r.add(item, "value", f"settings.{name}.value", f"{value} is below the minimum 0")
        settings[name] = Setting(
            name, _freeze(value), reason or "", tuple(choices) if choices else None
        )

    def resolve(value: Any, node: Any, key: Any, fld: str) -> Any:
        if isinstance(value, str) and value.startswith("$"):
            if value[1:] not in settings:
                r.add(node, key, fld, f"refers to unknown setting {value}")
                return None
            return settings[value[1:]].value
        return value

    roles = _labels(r, top.get("roles"), "roles", ROLE_IDS)
    bodies = _labels(r, top.get("bodies"), "bodies", BODY_IDS)

    rep = r.mapping(top.get("reporting"), "reporting", top, "reporting")
    rep_fields = {
        "verbal_then_written_to": BODY_IDS,
        "direct_grades": GRADES,
        "direct_to": BODY_IDS,
        "department_reports_to": BODY_IDS,
        "office_informs_roles": ROLE_IDS,
        "office_informs_bodies": BODY_IDS,
        "emergency_contact_grades": GRADES,
        "emergency_state_grades": GRADES,
        "duty_24h_grades": GRADES,
        "deputy_on_site_grades": GRADES,
        "first_report_content": REPORT_CONTENT,
    }
    r.unknown(rep, set(rep_fields), "reporting")
    reporting = Reporting(
        **{k: _tuple_of(r, rep, k, "reporting", v) for k, v in rep_fields.items()}
    )

    rules: dict[str, Rule] = {}
    rnode = r.mapping(top.get("rules"), "rules", top, "rules")
    for rid in RULE_IDS:
        if rid not in rnode:
            r.add(rnode, None, f"rules.{rid}", "missing")
    for rid, item in rnode.items():
        if rid not in RULE_IDS:
            r.add(rnode, rid, f"rules.{rid}", f"unknown rule id (known: {', '.join(RULE_IDS)})")
            continue
        item = r.mapping(item, f"rules.{rid}", rnode, rid)
        r.unknown(item, {"label_zh", "label_en", "grades", "allowed_minutes"}, f"rules.{rid}")
        allowed = resolve(
            item.get("allowed_minutes"), item, "allowed_minutes", f"rules.{rid}.allowed_minutes"
        )
        if allowed is not None and (
            isinstance(allowed, bool) or not isinstance(allowed, int | float) or allowed < 0
        ):
            r.add(
                item,
                "allowed_minutes",
                f"rules.{rid}.allowed_minutes",
                f"expected minutes ≥ 0, got {allowed!r}",
            )
            allowed = None
        rules[rid] = Rule(
            rid,
            r.take(item, "label_zh", f"rules.{rid}", str, rid),
            r.take(item, "label_en", f"rules.{rid}", str, rid),
            _tuple_of(r, item, "grades", f"rules.{rid}", GRADES),
            float(allowed) if allowed is not None else None,
        )

    families: dict[str, Family] = {}
    fnode = r.mapping(top.get("grading"), "grading", top, "grading")
    for fam in FAMILIES:
        if fam not in fnode:
            r.add(fnode, None, f"grading.{fam}", "missing")
    for fam, item in fnode.items():
        pre = f"grading.{fam}"
        if fam not in FAMILIES:
            r.add(fnode, fam, pre, f"unknown incident family (known: {', '.join(FAMILIES)})")
            continue
        item = r.mapping(item, pre, fnode, fam)
        r.unknown(item, {"uses", "rules"}, pre)
        uses = _tuple_of(r, item, "uses", pre, INCIDENT_FIELDS)
        grules = []
        rlist = r.sequence(item.get("rules"), f"{pre}.rules", item, "rules")
        if not rlist:
            r.add(item, "rules", f"{pre}.rules", "a family needs at least one grading rule")
        for i, gr in enumerate(rlist):
            gpre = f"{pre}.rules[{i}]"
            gr = r.mapping(gr, gpre, rlist, i)
            r.unknown(gr, {"grade", "when", "any_of", "basis_zh", "basis_en"}, gpre)
            grade = gr.get("grade")
            if resolve(grade, gr, "grade", f"{gpre}.grade") not in GRADES:
                r.add(
                    gr, "grade", f"{gpre}.grade", f"{grade!r} is not a grade ({', '.join(GRADES)})"
                )
            conds = []
            if "any_of" in gr:
                for j, c in enumerate(r.sequence(gr["any_of"], f"{gpre}.any_of", gr, "any_of")):
                    conds.append(_condition(r, c, f"{gpre}.any_of[{j}]", resolve))
            else:
                conds.append(_condition(r, gr.get("when", LineDict()), f"{gpre}.when", resolve))
            grules.append(
                GradingRule(
                    grade=grade,
                    conditions=tuple(conds),
                    basis_zh=r.take(gr, "basis_zh", gpre, str, ""),
                    basis_en=r.take(gr, "basis_en", gpre, str, ""),
                )
            )
        families[fam] = Family(fam, uses, tuple(grules))

    r.raise_if_any()
    return Plan(
        name_zh=name_zh,
        name_en=name_en,
        grades=Frozen(grades),
        settings=Frozen(settings),
        roles=Frozen(roles),
        bodies=Frozen(bodies),
        reporting=reporting,
        rules=Frozen(rules),
        grading=Frozen(families),
        source=file,
        raw=Frozen(_plain(data)),
    )


def _condition(r: Reader, node: Any, pre: str, resolve) -> Frozen:
    node = r.mapping(node, pre)
    r.unknown(node, set(INCIDENT_FIELDS), pre)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in INCIDENT_FIELDS:
            continue
        v = resolve(value, node, key, f"{pre}.{key}")
        if key == "people":
            if not isinstance(v, dict) or set(v) - {"min", "max"}:
                r.add(node, key, f"{pre}.people", "expected {min: N, max: N}")
                continue
            out["people"] = (v.get("min", 0), v.get("max"))
        elif key in ("scope", "phase"):
            allowed = SCOPES if key == "scope" else PHASES
            if not isinstance(v, list | tuple) or any(x not in allowed for x in v):
                r.add(node, key, f"{pre}.{key}", f"expected a list of {', '.join(allowed)}")
                continue
            out[key] = frozenset(v)
        else:
            if not isinstance(v, bool):
                r.add(node, key, f"{pre}.{key}", "expected true or false")
                continue
            out[key] = v
        if isinstance(value, str) and value.startswith("$"):
            out.setdefault("_settings", set()).add(value[1:])
    if "_settings" in out:
        out["_settings"] = frozenset(out["_settings"])
    return Frozen(out)


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    """Drop the line-number subclasses so the raw plan can be deep-copied and dumped."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_plan(path: str | Path | None = None) -> Plan:
    """Read a plan file (default: the shipped ``scenarios/plan.yaml``)."""
    path = Path(path) if path else DEFAULT_PLAN
    return parse_plan(load_file(path), str(path))


__all__ = ["Plan", "Rule", "Setting", "load_plan", "parse_plan"]
