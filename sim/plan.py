"""The plan as data: grades, named settings, roles, bodies, reporting lines, rules and grading.

A :class:`Plan` is read from ``scenarios/plan.yaml`` (or a planner's copy). Values written
``$name`` refer to a named setting, so every ambiguity of the plan is decided in one place with
its reason. The plan is immutable once read; variants are copies with changed settings.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.procedure import TEAMS, Step, ids_in, parse_procedure
from sim.yamlio import LineDict, Msg, Reader, load_file, msg

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
INCIDENT_FIELDS = (
    "people",
    "scope",
    "phase",
    "error_kind",
    "site_spares_enough",
    "local_spares_enough",
    "time_recoverable",
)
#: Old field names still read on input (older scenario files, plan copies and stored drills).
INCIDENT_ALIASES = {"spares_enough": "site_spares_enough"}
BOOL_FIELDS = ("site_spares_enough", "local_spares_enough", "time_recoverable")
#: 试卷分发错误 (wrong distribution) and 错装 (wrong packing), told apart in one family.
ERROR_KINDS = ("distribution", "packing")
#: People an incident may name: far above any exam's candidates, far below absurd input.
PEOPLE_MAX = 100_000_000
#: Settings the grader reads by name (not through ``$name``), with the value an older plan
#: copy that lacks them is read with; the shipped plan states them with their reasons.
GRADER_SETTINGS = {
    "phase_mismatch": ("error", ("error", "grade_anyway")),
    "error_kind_default": ("distribution", ERROR_KINDS),
}
RULE_IDS = (
    "first_report_3h",
    "first_report_content",
    "verbal_before_written",
    "grade_determined",
    "direct_report_I_II",
    "dept_reports_up_immediately",
    "office_informs_leaders",
    "office_informs_emergency_office",
    "office_reports_up_II",
    "department_informed_III_IV",
    "emergency_contact_III_plus",
    "emergency_state_I_II",
    "special_plan_or_containment",
    "information_release",
    "duty_24h_during_exam",
    "duty_24h_I",
    "deputy_leader_on_site_I",
    "follow_up_reports",
    "follow_up_content",
    "investigation_responsibility",
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
    "deputy_chief_examiner",
    "site_exam_staff",
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
    "publicity_department",
    "public_security",
    "state_security",
    "communications_authority",
)
#: Settings the engine reads by name (not through ``$name``) and no default covers: a plan must
#: state each, of this kind — "number" (≥ 0), "bool", a tuple of allowed values (one of them),
#: or ("list", allowed ids) for a list.
ENGINE_SETTINGS: dict[str, Any] = {
    "first_report_is": ("verbal", "written"),
    "first_report_clock_starts": ("occurrence", "discovery"),
    "first_report_addressees": ("all", "any"),
    "immediately_clock_starts": ("grading_due", "graded", "discovery"),
    "grading_due_minutes": "number",
    "grade_is_floor": "bool",
    "leader_informed_via_deputy": ("counts", "does_not_count"),
    "emergency_contact_via_backup": ("counts", "does_not_count"),
    "special_plan_families": ("list", FAMILIES),
    "info_release_families": ("list", FAMILIES),
    "site_roles": ("list", ROLE_IDS),
    "contact_change_notice_days": "number",
}
#: The durations a scenario's ``timing`` gives, in minutes, with the value of one it leaves out; a
#: step of the procedure names one as its ``duration``.
TIMING_KEYS = {
    "discovery_minutes": 15,
    "on_site_control_minutes": 10,
    "confirm_minutes": 10,
    "grading_minutes": 20,
    "grading_late_minutes": 60,
    "verbal_report_minutes": 5,
    "written_report_minutes": 45,
    "body_receive_minutes": 5,
    "department_relay_minutes": 15,
    "inform_minutes": 3,
    "emergency_state_minutes": 10,
    "dispatch_minutes": 10,
    "response_minutes": 120,
    "follow_up_minutes": 20,
    "final_report_minutes": 240,
    "ring_minutes": 1.5,
    "retry_minutes": 10,
}
#: The largest number a setting or a rule's clock may hold: a year of minutes (no clock of the
#: plan is longer than a day; a larger value is a typing error, not a plan).
MAX_SETTING = 366 * 24 * 60
#: The first report's seven items (首报信息) and the follow-ups' four (续报信息), in the plan's order.
REPORT_CONTENT = ("time", "place", "scale", "people_units", "damage_injuries", "threat", "trend")
FOLLOW_UP_CONTENT = ("cause_nature_impact", "measures_taken", "reactions", "progress_result")
CONTENT_IDS = (*REPORT_CONTENT, *FOLLOW_UP_CONTENT)
DEFAULT_PLAN = Path(__file__).resolve().parent.parent / "scenarios" / "plan.yaml"


#: plan id -> (plan, steps by id): a cache beside the immutable plan (it pickles unchanged)
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
    clause_zh: str = ""


@dataclass(frozen=True)
class GradingRule:
    grade: str  # a grade or "$setting"
    conditions: tuple[Frozen, ...]  # any one must hold; each a mapping of field -> test
    basis_zh: str
    basis_en: str


@dataclass(frozen=True)
class Family:
    """One family's grading: required fields, the stages the text names, rules top to bottom.

    ``phases`` are the stages the plan's words put the family in (any stage when the text names
    none); ``kinds`` adds required fields or other stages per ``error_kind`` (distribution_error).
    """

    id: str
    uses: tuple[str, ...]
    rules: tuple[GradingRule, ...]
    phases: tuple[str, ...] = PHASES
    phases_zh: str = ""
    kinds: Frozen = field(default_factory=lambda: Frozen({}))  # kind -> {uses, phases, phases_zh}

    @property
    def has_kinds(self) -> bool:
        """Whether the family tells error kinds apart (then a missing kind takes the default)."""
        return bool(self.kinds) or any(
            "error_kind" in c for rule in self.rules for c in rule.conditions
        )

    def required(self, kind: str | None) -> tuple[str, ...]:
        return self.uses + tuple(self.kinds.get(kind, {}).get("uses", ()))

    def allowed_phases(self, kind: str | None) -> tuple[tuple[str, ...], str]:
        """The stages the text allows for an incident of this family (and kind), and its words."""
        k = self.kinds.get(kind, {})
        if "phases" in k:
            return k["phases"], k.get("phases_zh", "")
        return self.phases, self.phases_zh


@dataclass(frozen=True)
class Reporting:
    """Who reports to whom, read off the procedure's steps (a convenience view, not data)."""

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
    content: Frozen  # content id -> {label_zh, label_en}
    teams: Frozen  # family -> roles of its emergency team
    procedure: tuple[Step, ...]
    rules: Frozen  # rule id -> Rule (allowed minutes resolved)
    grading: Frozen  # family -> Family
    source: str = ""
    raw: Frozen = field(default_factory=lambda: Frozen({}), repr=False)
    # what is worked out from the fields above, once per plan (not an init field: a copy made
    # with dataclasses.replace starts with its own, empty)
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self) -> dict:
        # the memo is worked out again where it is needed: a plan pickles as its fields alone
        return {k: v for k, v in self.__dict__.items() if k != "_memo"}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_memo", {})

    @property
    def steps(self) -> dict[str, Step]:
        """Steps by id (procedure order)."""
        found = self._memo.get("steps")
        if found is None:
            found = self._memo["steps"] = {s.id: s for s in self.procedure}
        return found

    def step(self, sid: str) -> Step:
        return self.steps[sid]

    def addressees(self, sid: str, family: str) -> tuple[str, ...]:
        """Who a step goes to for an incident of ``family`` (the family's team for ``$teams``)."""
        key = ("to", sid, family)
        found = self._memo.get(key)
        if found is None:
            to = self.steps[sid].to
            found = tuple(self.teams.get(family, ())) if to == TEAMS else to
            self._memo[key] = found
        return found  # type: ignore[return-value]

    @property
    def first_report_step(self) -> str:
        """``written_report`` or ``verbal_report``, as the setting ``first_report_is`` says."""
        return "written_report" if self.setting("first_report_is") == "written" else "verbal_report"

    @property
    def reporting(self) -> Reporting:
        st = self.steps
        informs = st["office_informs"].to
        return Reporting(
            verbal_then_written_to=tuple(st["written_report"].to),
            direct_grades=st["direct_report"].grades,
            direct_to=tuple(st["direct_report"].to),
            department_reports_to=tuple(st["dept_report_up"].to),
            office_informs_roles=tuple(x for x in informs if x in ROLE_IDS),
            office_informs_bodies=tuple(x for x in informs if x in BODY_IDS),
            emergency_contact_grades=st["emergency_contact"].grades,
            emergency_state_grades=st["emergency_state"].grades,
            duty_24h_grades=st["duty_24h"].grades,
            deputy_on_site_grades=st["deputy_to_site"].grades,
            first_report_content=st["written_report"].content,
        )

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

    def with_step(self, step_id: str, **changes: Any) -> Plan:
        """A copy with one step of the procedure changed (e.g. moved to another role: ``by``)."""
        raw = copy.deepcopy(dict(self.raw))
        for item in raw.get("procedure", []):
            if isinstance(item, dict) and item.get("id") == step_id:
                item.update(changes)
                break
        else:
            raise KeyError(f"unknown step {step_id!r}")
        return parse_plan(raw, self.source or "<plan>")

    def with_rule_minutes(self, rule_id: str, minutes: float) -> Plan:
        raw = copy.deepcopy(dict(self.raw))
        raw["rules"][rule_id]["allowed_minutes"] = minutes
        return parse_plan(raw, self.source or "<plan>")


def _tuple_of(
    r: Reader, node: Any, key: str, prefix: str, allowed: tuple[str, ...]
) -> tuple[str, ...]:
    return ids_in(r, node, key, prefix, allowed)


def _labels(
    r: Reader, node: Any, prefix: str, ids: tuple[str, ...], extra: set[str] = frozenset()
) -> dict:
    out = {}
    node = r.mapping(node, prefix)
    for key in node:
        if key not in ids:
            r.add(node, key, f"{prefix}.{key}", "unknown_id_known", known=", ".join(ids))
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
            "content",
            "teams",
            "procedure",
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
            r.add(gnode, g, f"grades.{g}", "unknown_grade_known", grades=", ".join(GRADES))

    settings: dict[str, Setting] = {}
    snode = r.mapping(top.get("settings", LineDict()), "settings", top, "settings")
    for name, item in snode.items():
        item = r.mapping(item, f"settings.{name}", snode, name)
        r.unknown(item, {"value", "reason", "choices"}, f"settings.{name}")
        if "value" not in item:
            r.add(item, None, f"settings.{name}.value", "required")
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
                        "not_one_of",
                        value=repr(v),
                        allowed=", ".join(map(str, choices)),
                    )
        problem = _number_problem(value)
        if problem:
            r.add(item, "value", f"settings.{name}.value", problem)
        settings[name] = Setting(
            name, _freeze(value), reason or "", tuple(choices) if choices else None
        )
    for name, (default, choices) in GRADER_SETTINGS.items():
        if name not in settings:  # an older plan copy: read as the shipped plan's default
            settings[name] = Setting(name, default, "not in this plan file: default", choices)
    for name, kind in ENGINE_SETTINGS.items():
        if name not in snode:
            r.add(
                top,
                "settings" if "settings" in top else None,
                f"settings.{name}",
                "required_setting",
            )
        elif name in settings:
            problem = _kind_problem(settings[name].value, kind)
            if problem:
                r.add(snode[name], "value", f"settings.{name}.value", problem)

    def resolve(value: Any, node: Any, key: Any, fld: str) -> Any:
        if isinstance(value, str) and value.startswith("$"):
            if value[1:] not in settings:
                r.add(node, key, fld, "unknown_setting_ref", value=value)
                return None
            return settings[value[1:]].value
        return value

    roles = _labels(r, top.get("roles"), "roles", ROLE_IDS)
    bodies = _labels(r, top.get("bodies"), "bodies", BODY_IDS)

    content = _labels(r, top.get("content"), "content", CONTENT_IDS)
    teams: dict[str, tuple[str, ...]] = {}
    tnode = r.mapping(top.get("teams"), "teams", top, "teams")
    for fam in FAMILIES:
        if fam not in tnode:
            r.add(tnode, None, f"teams.{fam}", "missing")
    for fam in tnode:
        if fam not in FAMILIES:
            r.add(
                tnode,
                fam,
                f"teams.{fam}",
                "unknown_family_known",
                known=", ".join(FAMILIES),
            )
            continue
        teams[fam] = _tuple_of(r, tnode, fam, "teams", ROLE_IDS)
    procedure = parse_procedure(
        r,
        top.get("procedure"),
        resolve=resolve,
        grades=GRADES,
        families=FAMILIES,
        roles=ROLE_IDS,
        bodies=BODY_IDS,
        content=CONTENT_IDS,
        rules=RULE_IDS,
    )

    _check_durations(r, top.get("procedure"))

    rules: dict[str, Rule] = {}
    rnode = r.mapping(top.get("rules"), "rules", top, "rules")
    for rid in RULE_IDS:
        if rid not in rnode:
            r.add(rnode, None, f"rules.{rid}", "missing")
    for rid, item in rnode.items():
        if rid not in RULE_IDS:
            r.add(rnode, rid, f"rules.{rid}", "unknown_rule_known", known=", ".join(RULE_IDS))
            continue
        item = r.mapping(item, f"rules.{rid}", rnode, rid)
        r.unknown(
            item, {"label_zh", "label_en", "clause_zh", "grades", "allowed_minutes"}, f"rules.{rid}"
        )
        allowed = resolve(
            item.get("allowed_minutes"), item, "allowed_minutes", f"rules.{rid}.allowed_minutes"
        )
        if allowed is not None and (
            isinstance(allowed, bool)
            or not isinstance(allowed, int | float)
            or not 0 <= allowed <= MAX_SETTING  # NaN fails this too
        ):
            r.add(
                item,
                "allowed_minutes",
                f"rules.{rid}.allowed_minutes",
                "rule_minutes",
                max=MAX_SETTING,
                value=_short(allowed),
            )
            allowed = None
        rules[rid] = Rule(
            rid,
            r.take(item, "label_zh", f"rules.{rid}", str, rid),
            r.take(item, "label_en", f"rules.{rid}", str, rid),
            _tuple_of(r, item, "grades", f"rules.{rid}", GRADES),
            float(allowed) if allowed is not None else None,
            r.take(item, "clause_zh", f"rules.{rid}", str, ""),
        )

    families: dict[str, Family] = {}
    fnode = r.mapping(top.get("grading"), "grading", top, "grading")
    for fam in FAMILIES:
        if fam not in fnode:
            r.add(fnode, None, f"grading.{fam}", "missing")
    for fam, item in fnode.items():
        pre = f"grading.{fam}"
        if fam not in FAMILIES:
            r.add(fnode, fam, pre, "unknown_family_known", known=", ".join(FAMILIES))
            continue
        item = r.mapping(item, pre, fnode, fam)
        r.unknown(item, {"uses", "rules", "phases", "phases_zh", "kinds"}, pre)
        uses = _uses(r, item, pre)
        phases = _phases(r, item, pre) or PHASES
        kinds = {}
        knode = r.mapping(item.get("kinds", LineDict()), f"{pre}.kinds", item, "kinds")
        for kind, kitem in knode.items():
            kpre = f"{pre}.kinds.{kind}"
            if kind not in ERROR_KINDS:
                known = ", ".join(ERROR_KINDS)
                r.add(knode, kind, kpre, "unknown_error_kind_known", known=known)
                continue
            kitem = r.mapping(kitem, kpre, knode, kind)
            r.unknown(kitem, {"uses", "phases", "phases_zh"}, kpre)
            kinds[kind] = {"uses": _uses(r, kitem, kpre)}
            if "phases" in kitem:
                kinds[kind]["phases"] = _phases(r, kitem, kpre) or PHASES
                kinds[kind]["phases_zh"] = r.take(kitem, "phases_zh", kpre, str, "")
        grules = []
        rlist = r.sequence(item.get("rules"), f"{pre}.rules", item, "rules")
        if not rlist:
            r.add(item, "rules", f"{pre}.rules", "family_no_rules")
        for i, gr in enumerate(rlist):
            gpre = f"{pre}.rules[{i}]"
            gr = r.mapping(gr, gpre, rlist, i)
            r.unknown(gr, {"grade", "when", "any_of", "basis_zh", "basis_en"}, gpre)
            grade = gr.get("grade")
            if resolve(grade, gr, "grade", f"{gpre}.grade") not in GRADES:
                r.add(
                    gr,
                    "grade",
                    f"{gpre}.grade",
                    "not_a_grade",
                    value=repr(grade),
                    grades=", ".join(GRADES),
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
        families[fam] = Family(
            fam,
            uses,
            tuple(grules),
            phases=phases,
            phases_zh=r.take(item, "phases_zh", pre, str, ""),
            kinds=Frozen({k: Frozen(v) for k, v in kinds.items()}),
        )

    r.raise_if_any()
    return Plan(
        name_zh=name_zh,
        name_en=name_en,
        grades=Frozen(grades),
        settings=Frozen(settings),
        roles=Frozen(roles),
        bodies=Frozen(bodies),
        content=Frozen(content),
        teams=Frozen(teams),
        procedure=procedure,
        rules=Frozen(rules),
        grading=Frozen(families),
        source=file,
        raw=Frozen(_plain(data)),
    )


def _phases(r: Reader, node: Any, pre: str) -> tuple[str, ...]:
    """A ``phases`` list: the stages the text allows (empty when left out: any stage)."""
    if "phases" not in node:
        return ()
    phases = _tuple_of(r, node, "phases", pre, PHASES)
    if not phases:
        r.add(node, "phases", f"{pre}.phases", "phases_empty")
    return phases


def _uses(r: Reader, node: Any, pre: str) -> tuple[str, ...]:
    """A ``uses`` list (old names read as their new ones)."""
    names = _tuple_of(r, node, "uses", pre, (*INCIDENT_FIELDS, *INCIDENT_ALIASES))
    return tuple(dict.fromkeys(INCIDENT_ALIASES.get(n, n) for n in names))


def _condition(r: Reader, node: Any, pre: str, resolve) -> Frozen:
    node = r.mapping(node, pre)
    r.unknown(node, {*INCIDENT_FIELDS, *INCIDENT_ALIASES}, pre)
    out: dict[str, Any] = {}
    for name, value in node.items():
        key = INCIDENT_ALIASES.get(name, name)  # a plan copy may still test spares_enough
        if key not in INCIDENT_FIELDS:
            continue
        fld = f"{pre}.{name}"
        v = resolve(value, node, name, fld)
        if key == "people":
            if not isinstance(v, dict) or set(v) - {"min", "max"}:
                r.add(node, name, fld, "people_min_max")
                continue
            lo, hi = v.get("min"), v.get("max")
            lo = 0 if lo is None else lo  # ``min: null`` reads as no minimum, as ``max: null``
            bad = [
                (k, x)
                for k, x in (("min", lo), ("max", hi))
                if x is not None and _people_problem(x)
            ]
            for k, x in bad:
                r.add(v, k, f"{fld}.{k}", _people_problem(x))
            if bad:
                continue
            if hi is not None and lo > hi:
                r.add(v, "max", f"{fld}.max", "max_below_min", max=hi, min=lo)
                continue
            out["people"] = (lo, hi)
        elif key in ("scope", "phase", "error_kind"):
            allowed = {"scope": SCOPES, "phase": PHASES, "error_kind": ERROR_KINDS}[key]
            if key == "error_kind" and isinstance(v, str):
                v = [v]
            if not isinstance(v, list | tuple) or any(x not in allowed for x in v):
                r.add(node, name, fld, "expected_list_ids", allowed=", ".join(allowed))
                continue
            out[key] = frozenset(v)
        else:
            if not isinstance(v, bool):
                r.add(node, name, fld, "expected_bool")
                continue
            out[key] = v
        if isinstance(value, str) and value.startswith("$"):
            out.setdefault("_settings", set()).add(value[1:])
    if "_settings" in out:
        out["_settings"] = frozenset(out["_settings"])
    return Frozen(out)


def _check_durations(r: Reader, node: Any) -> None:
    """Each step's ``duration`` names a timing key (an unknown one would last 0 minutes)."""
    for item in node if isinstance(node, list) else ():
        duration = item.get("duration") if isinstance(item, dict) else None
        known = not isinstance(duration, str) or duration in TIMING_KEYS
        if not known and duration.endswith("_minutes"):  # other text: reported as not a key
            r.add(
                item,
                "duration",
                f"procedure.{item.get('id')}.duration",
                "not_timing_key",
                value=repr(duration),
                known=", ".join(TIMING_KEYS),
            )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _number_problem(value: Any) -> Msg | None:
    """Why a setting's number (or a number in its list) cannot be used (by its code), or None."""
    values = value if isinstance(value, list) else [value]
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            return msg("expected_finite", value=f"{v}")
        if v < 0:
            return msg("below_min", value=_short(v), min=0)
        if v > MAX_SETTING:
            why = msg("bound", bound="MAX_SETTING")
            return msg("above_max", value=_short(v), max=MAX_SETTING, why=why)
    return None


def _kind_problem(value: Any, kind: Any) -> Msg | None:
    """Why a setting the engine reads is not of the kind it needs (by its code), or None."""
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return msg("expected_number_got", value=_short(value))
    elif kind == "bool":
        if not isinstance(value, bool):
            return msg("expected_bool_got", value=_short(value))
    elif kind[0] == "list":
        if not isinstance(value, tuple) or any(x not in kind[1] for x in value):
            return msg("expected_list_ids", allowed=", ".join(kind[1]))
    elif value not in kind:
        return msg("not_one_of", value=_short(value), allowed=", ".join(kind))
    return None


def _people_problem(value: Any) -> Msg | None:
    """Why a grading threshold on people cannot be used (by its code), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return msg("people_number", value=_short(value))
    if not 0 <= value <= PEOPLE_MAX:  # NaN fails this too
        return msg("people_range", max=f"{PEOPLE_MAX:,}", value=_short(value))
    return None


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
