"""Variants: a named set of changes to a base scenario and its plan, for "what if" comparisons.

A variant never edits a file or mutates a scenario: :func:`apply` returns a new
:class:`~sim.scenario.Scenario`. Variants come from small YAML override files, from code
(:func:`variant_from_dict`), or from the planner page's edited tables (:func:`variant_from_tables`).

Override file format (every section optional; unknown keys are errors)::

    name: night_duty_officer            # stable key (default: the file name)
    label_zh: 增加一名夜班值班员
    label_en: "+1 night duty officer"
    roster:
      add:                              # new people, fields as in a roster file, plus `chain`
        - id: duty_night_2
          role: duty_desk
          name_zh: 值班员丙（夜班）
          name_en: Duty officer C (night)
          default_state: off_duty
          duty: [{days: all, from: "19:00", to: "07:00", state: on_duty}]
          chain: after_people           # place in the own role's call chain:
                                        #   start | after_people (default) | end | none,
                                        # or {role: position, ...} for other roles' chains
      remove: [expert_1]                # people taken out (and out of every call chain)
      change:                           # changes to existing people, by id
        office_director:
          default_state: on_duty        # also role: x — replaces the person's first role
                                        # (other roles they hold stay)
          duty: [...]                   # replaces the duty calendar; add_duty: [...] appends
          reach: {off_duty: {answer_prob: 0.8}}   # per-state override, merged
      call_chains:                      # replaces a role's chain (ids or role:x)
        emergency_contact: [general_contact, office_director]
      reachability:                     # the roster's default per duty state, merged
        off_duty: {answer_prob: 0.6}
    sites:                              # by site id, or "*" for every site
      site_c: {travel_minutes: {dist: triangular, low: 60, mode: 100, high: 180}}
      "*": {travel_scale: 0.8}          # multiply every travel time
    plan:
      settings: {immediately_minutes: 20}
      rules: {first_report_3h: 120}     # a rule's clock (allowed minutes)
      procedure:                        # a step moved to another role (or site, office)
        verbal_report: {by: duty_desk}
    timing:                             # durations as in a scenario, probabilities, call rounds,
      max_call_rounds: 4                # and bodies: {body: minutes}, an outside body's pick-up
      call_order: written               # ring each chain as written (default: on duty first)
    stochastic:                         # incident rates: by family, or "*" for every family
      online_info: {rate: 0.2}
      "*": {rate_scale: 1.5}

Common random numbers: each person answers from their own random stream and incidents are drawn
from the calendar and rates only, so a staffing variant faces exactly the base's incidents.
Changing a duration from a fixed number to a distribution (or back) changes how many random
numbers that incident draws; keep the kind of distribution when comparing timing changes.

Problems are reported like every other input: ``file:line: field: message``, one per line, raised
as one :class:`~sim.yamlio.InputError`. Problems that depend on the base scenario (an unknown
person id, a removed role) are found by :func:`apply`, with the line of the change in the file.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.i18n import label, step_label, t
from sim.labels import day_label, family_label
from sim.plan import BODY_IDS, FAMILIES, MAX_SETTING, ROLE_IDS, RULE_IDS, Plan, _number_problem
from sim.scenario import (
    DAY,
    DURATION_BOUND,
    MAX_DURATION_MIN,
    PERSON_KEYS,
    PROB_KEYS,
    STATES,
    TIMING_FILE_KEYS,
    TIMING_KEYS,
    Dist,
    Person,
    Reach,
    Roster,
    Scenario,
    Shift,
    _clock,
    _dist,
    duty_days,
)
from sim.yamlio import (
    InputError,
    LineDict,
    Msg,
    Problem,
    Reader,
    dump_yaml,
    line_of,
    load_file,
)

CHAIN_POSITIONS = ("start", "after_people", "end", "none")
PERSON_FIELDS = ("role", "name_zh", "name_en", "phone", "site", "default_state")
VARIANTS_DIR = Path(__file__).resolve().parent.parent / "scenarios" / "variants"


@dataclass(frozen=True)
class Where:
    """Where a change was written: reported with any problem it causes."""

    file: str
    line: int
    field: str

    def problem(self, code: str | Msg, sub: str = "", /, **params: Any) -> Problem:
        """A problem here (at ``field.sub``): its code and parameters, as :meth:`Reader.add`."""
        fld = ".".join(x for x in (self.field, sub) if x)
        return Problem(self.file, self.line, fld, code, tuple(params.items()))


@dataclass(frozen=True)
class ReachPatch:
    """A change to answering in one duty state; None keeps the current value."""

    state: str
    answer_prob: float | None = None
    answer_minutes: Dist | None = None


@dataclass(frozen=True)
class NewPerson:
    person: Person
    chains: tuple[tuple[str, str], ...]  # (role whose chain, position)
    reach: tuple[ReachPatch, ...]
    where: Where


@dataclass(frozen=True)
class PersonChange:
    id: str
    fields: tuple[tuple[str, Any], ...] = ()  # (field, value) for PERSON_FIELDS
    shifts: tuple[Shift, ...] | None = None  # replaces the duty calendar
    add_shifts: tuple[Shift, ...] = ()
    reach: tuple[ReachPatch, ...] = ()
    where: Where = Where("", 1, "")


@dataclass(frozen=True)
class Removal:
    id: str
    where: Where


@dataclass(frozen=True)
class ChainChange:
    role: str
    entries: tuple[str, ...]
    where: Where


@dataclass(frozen=True)
class DefaultReach:
    patch: ReachPatch
    where: Where


@dataclass(frozen=True)
class SiteChange:
    site: str  # a site id or "*"
    travel_minutes: Dist | None
    travel_scale: float | None
    where: Where


@dataclass(frozen=True)
class PlanChange:
    kind: str  # "setting", "rule" or "step" (a step moved to another role: key "step.by")
    key: str
    value: Any
    where: Where


@dataclass(frozen=True)
class TimingChange:
    key: str
    value: Any  # a Dist, a probability or an int (max_call_rounds)
    where: Where


@dataclass(frozen=True)
class RateChange:
    family: str  # a family or "*"
    rate: float | None
    rate_scale: float | None
    where: Where


@dataclass(frozen=True)
class Variant:
    """A named set of changes; ``Variant("base")`` changes nothing."""

    name: str
    label_zh: str = ""
    label_en: str = ""
    add: tuple[NewPerson, ...] = ()
    remove: tuple[Removal, ...] = ()
    change: tuple[PersonChange, ...] = ()
    call_chains: tuple[ChainChange, ...] = ()
    reachability: tuple[DefaultReach, ...] = ()
    sites: tuple[SiteChange, ...] = ()
    plan: tuple[PlanChange, ...] = ()
    timing: tuple[TimingChange, ...] = ()
    rates: tuple[RateChange, ...] = ()
    source: str = field(default="", compare=False)

    def label(self, lang: str = "zh") -> str:
        text = self.label_zh if lang == "zh" else self.label_en
        return text or self.label_en or self.label_zh or self.name

    @property
    def is_base(self) -> bool:
        return not any(
            (
                self.add,
                self.remove,
                self.change,
                self.call_chains,
                self.reachability,
                self.sites,
                self.plan,
                self.timing,
                self.rates,
            )
        )

    def renamed(self, name: str, label_zh: str = "", label_en: str = "") -> Variant:
        return dataclasses.replace(
            self, name=name, label_zh=label_zh or name, label_en=label_en or name
        )


BASE = Variant("base", "基准方案", "Base")


# -- reading ---------------------------------------------------------------------------------


def _where(r: Reader, node: Any, key: Any, fld: str) -> Where:
    return Where(r.file, line_of(node, key), fld)


def _shifts(r: Reader, node: Any, parent: Any, key: str, pre: str) -> tuple[Shift, ...]:
    """A duty list as in a roster file: ``[{days: all|[0,1], from: "HH:MM", to: "HH:MM", state}]``."""
    out = []
    items = r.sequence(node, pre, parent, key)
    for j, sh in enumerate(items):
        spre = f"{pre}[{j}]"
        sh = r.mapping(sh, spre, items, j)
        r.unknown(sh, {"days", "from", "to", "state"}, spre)
        days_t = duty_days(r, sh, spre)
        start, end = _clock(sh.get("from")), _clock(sh.get("to"))
        if start is None:
            r.add(sh, "from" if "from" in sh else None, f"{spre}.from", "clock_expected")
        if end is None:
            r.add(sh, "to" if "to" in sh else None, f"{spre}.to", "clock_expected")
        state = r.take(sh, "state", spre, str, choices=STATES)
        if start is not None and end is not None and state:
            out.append(Shift(days_t, start, end + DAY if end <= start else end, state))
    return tuple(out)


def _reach_patches(r: Reader, node: Any, parent: Any, key: str, pre: str) -> tuple[ReachPatch, ...]:
    node = r.mapping(node, pre, parent, key)
    r.unknown(node, set(STATES), pre)
    out = []
    for state in STATES:
        if state not in node:
            continue
        spre = f"{pre}.{state}"
        item = r.mapping(node[state], spre, node, state)
        r.unknown(item, {"answer_prob", "answer_minutes"}, spre)
        if not item:
            r.add(node, state, spre, "reach_empty")
        prob = r.take(item, "answer_prob", spre, float, None, min_value=0, max_value=1)
        minutes = _dist(r, item, "answer_minutes", spre) if "answer_minutes" in item else None
        out.append(ReachPatch(state, prob, minutes))
    return tuple(out)


def _chain_spec(
    r: Reader, node: Any, parent: Any, role: str | None, pre: str
) -> tuple[tuple[str, str], ...]:
    if node is None:
        return ((role, "after_people"),) if role else ()
    if isinstance(node, str):
        if node not in CHAIN_POSITIONS:
            allowed = ", ".join(CHAIN_POSITIONS)
            r.add(parent, "chain", pre, "not_one_of", value=repr(node), allowed=allowed)
            return ()
        return ((role, node),) if role else ()
    spec = r.mapping(node, pre, parent, "chain")
    out = []
    for chain_role, pos in spec.items():
        if chain_role not in ROLE_IDS:
            r.add(
                spec,
                chain_role,
                f"{pre}.{chain_role}",
                "unknown_role_known",
                known=", ".join(ROLE_IDS),
            )
        elif pos not in CHAIN_POSITIONS:
            r.add(
                spec,
                chain_role,
                f"{pre}.{chain_role}",
                "not_one_of",
                value=repr(pos),
                allowed=", ".join(CHAIN_POSITIONS),
            )
        else:
            out.append((chain_role, pos))
    return tuple(out)


def _new_person(r: Reader, item: Any, items: Any, i: int, pre: str) -> NewPerson | None:
    item = r.mapping(item, pre, items, i)
    r.unknown(item, {*PERSON_KEYS, "chain"}, pre)
    pid = r.take(item, "id", pre, str)
    role = r.take(item, "role", pre, str, choices=ROLE_IDS)
    shifts = _shifts(r, item.get("duty", []), item, "duty", f"{pre}.duty")
    reach = _reach_patches(r, item.get("reach", LineDict()), item, "reach", f"{pre}.reach")
    chains = _chain_spec(r, item.get("chain"), item, role, f"{pre}.chain")
    if not pid or not role:
        return None
    person = Person(
        id=pid,
        role=role,
        name_zh=r.take(item, "name_zh", pre, str, pid),
        name_en=r.take(item, "name_en", pre, str, pid),
        phone=r.take(item, "phone", pre, str, ""),
        site=r.take(item, "site", pre, str, None),
        default_state=r.take(item, "default_state", pre, str, "off_duty", choices=STATES),
        shifts=shifts,
    )
    return NewPerson(person, chains, reach, _where(r, items, i, pre))


def _person_change(r: Reader, pid: str, item: Any, node: Any, pre: str) -> PersonChange:
    item = r.mapping(item, pre, node, pid)
    r.unknown(item, {*PERSON_FIELDS, "duty", "add_duty", "reach"}, pre)
    fields = []
    for key in PERSON_FIELDS:
        if key in item:
            choices = ROLE_IDS if key == "role" else STATES if key == "default_state" else None
            value = r.take(item, key, pre, str, None, choices=choices)
            if value is not None:
                fields.append((key, value))
    shifts = _shifts(r, item["duty"], item, "duty", f"{pre}.duty") if "duty" in item else None
    add = (
        _shifts(r, item["add_duty"], item, "add_duty", f"{pre}.add_duty")
        if "add_duty" in item
        else ()
    )
    reach = (
        _reach_patches(r, item["reach"], item, "reach", f"{pre}.reach") if "reach" in item else ()
    )
    if not item:
        r.add(node, pid, pre, "no_change")
    return PersonChange(str(pid), tuple(fields), shifts, add, reach, _where(r, node, pid, pre))


def _roster_changes(r: Reader, node: Any, top: Any) -> dict[str, tuple]:
    node = r.mapping(node, "roster", top, "roster")
    r.unknown(node, {"add", "remove", "change", "call_chains", "reachability"}, "roster")
    out: dict[str, tuple] = {}
    adds = []
    items = r.sequence(node.get("add", []), "roster.add", node, "add")
    for i, item in enumerate(items):
        np_ = _new_person(r, item, items, i, f"roster.add[{i}]")
        if np_:
            adds.append(np_)
    out["add"] = tuple(adds)
    rems = []
    items = r.sequence(node.get("remove", []), "roster.remove", node, "remove")
    for i, pid in enumerate(items):
        if not isinstance(pid, str):
            r.add(items, i, f"roster.remove[{i}]", "expected_person_id")
        else:
            rems.append(Removal(pid, _where(r, items, i, f"roster.remove[{i}]")))
    out["remove"] = tuple(rems)
    cnode = r.mapping(node.get("change", LineDict()), "roster.change", node, "change")
    out["change"] = tuple(
        _person_change(r, str(pid), item, cnode, f"roster.change.{pid}")
        for pid, item in cnode.items()
    )
    chains = []
    cc = r.mapping(node.get("call_chains", LineDict()), "roster.call_chains", node, "call_chains")
    for role, entries in cc.items():
        pre = f"roster.call_chains.{role}"
        if role not in ROLE_IDS:
            r.add(cc, role, pre, "unknown_role_known", known=", ".join(ROLE_IDS))
            continue
        entries = r.sequence(entries, pre, cc, role)
        ok = []
        for j, e in enumerate(entries):
            if not isinstance(e, str) or not e:
                r.add(entries, j, f"{pre}[{j}]", "chain_entry")
            elif e.startswith("role:") and e[5:] not in ROLE_IDS:
                r.add(entries, j, f"{pre}[{j}]", "unknown_role", role=repr(e[5:]))
            else:
                ok.append(e)
        chains.append(ChainChange(role, tuple(ok), _where(r, cc, role, pre)))
    out["call_chains"] = tuple(chains)
    rnode = node.get("reachability", LineDict())
    patches = _reach_patches(r, rnode, node, "reachability", "roster.reachability")
    out["reachability"] = tuple(
        DefaultReach(p, _where(r, rnode, p.state, f"roster.reachability.{p.state}"))
        for p in patches
    )
    return out


def _site_changes(r: Reader, node: Any, top: Any) -> tuple[SiteChange, ...]:
    node = r.mapping(node, "sites", top, "sites")
    out = []
    for sid, item in node.items():
        pre = f"sites.{sid}"
        item = r.mapping(item, pre, node, sid)
        r.unknown(item, {"travel_minutes", "travel_scale"}, pre)
        if ("travel_minutes" in item) == ("travel_scale" in item):
            r.add(node, sid, pre, "travel_one_of")
            continue
        dist = _dist(r, item, "travel_minutes", pre) if "travel_minutes" in item else None
        scale = r.take(item, "travel_scale", pre, float, None, min_value=0, max_value=100)
        out.append(SiteChange(str(sid), dist, scale, _where(r, node, sid, pre)))
    return tuple(out)


def _plan_changes(r: Reader, node: Any, top: Any) -> tuple[PlanChange, ...]:
    node = r.mapping(node, "plan", top, "plan")
    r.unknown(node, {"settings", "rules", "procedure"}, "plan")
    out = []
    snode = r.mapping(node.get("settings", LineDict()), "plan.settings", node, "settings")
    for name, value in snode.items():
        if isinstance(value, dict) or (
            isinstance(value, list) and any(isinstance(x, dict | list) for x in value)
        ):
            r.add(
                snode,
                name,
                f"plan.settings.{name}",
                "setting_value",
            )
            continue
        problem = _number_problem(value)
        if problem:
            r.add(snode, name, f"plan.settings.{name}", problem)
            continue
        out.append(
            PlanChange("setting", str(name), value, _where(r, snode, name, f"plan.settings.{name}"))
        )
    rnode = r.mapping(node.get("rules", LineDict()), "plan.rules", node, "rules")
    for rid, value in rnode.items():
        pre = f"plan.rules.{rid}"
        if rid not in RULE_IDS:
            r.add(rnode, rid, pre, "unknown_rule_known", known=", ".join(RULE_IDS))
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 <= value <= MAX_SETTING  # NaN fails this too
        ):
            r.add(
                rnode,
                rid,
                pre,
                "rule_minutes_range",
                max=MAX_SETTING,
            )
            continue
        out.append(PlanChange("rule", rid, float(value), _where(r, rnode, rid, pre)))
    # a step moved to another role: procedure: {verbal_report: {by: duty_desk}}
    pnode = r.mapping(node.get("procedure", LineDict()), "plan.procedure", node, "procedure")
    for sid, change in pnode.items():
        pre = f"plan.procedure.{sid}"
        change = r.mapping(change, pre, pnode, sid)
        r.unknown(change, {"by"}, pre)
        if "by" in change:
            by = r.take(change, "by", pre, str)
            if by is not None:
                out.append(
                    PlanChange("step", f"{sid}.by", by, _where(r, change, "by", f"{pre}.by"))
                )
    return tuple(out)


def _timing_changes(r: Reader, node: Any, top: Any) -> tuple[TimingChange, ...]:
    node = r.mapping(node, "timing", top, "timing")
    r.unknown(node, set(TIMING_FILE_KEYS), "timing")
    out = []
    for key in node:
        w = _where(r, node, key, f"timing.{key}")
        if key == "bodies":
            bnode = r.mapping(node[key], "timing.bodies", node, key)
            for body in bnode:
                bpre = f"timing.bodies.{body}"
                if body not in BODY_IDS:
                    r.add(bnode, body, bpre, "unknown_body_known", known=", ".join(BODY_IDS))
                    continue
                d = _dist(r, bnode, body, "timing.bodies")
                if d is not None:
                    out.append(TimingChange(f"bodies.{body}", d, _where(r, bnode, body, bpre)))
        elif key in TIMING_KEYS:
            d = _dist(r, node, key, "timing")
            if d is not None:
                out.append(TimingChange(key, d, w))
        elif key in PROB_KEYS:
            v = r.take(node, key, "timing", float, None, min_value=0, max_value=1)
            if v is not None:
                out.append(TimingChange(key, v, w))
        elif key == "max_call_rounds":
            v = r.take(node, key, "timing", int, None, min_value=1, max_value=20)
            if v is not None:
                out.append(TimingChange(key, v, w))
        elif key == "call_order":  # on duty first, or each chain as written whatever the hour
            v = r.take(node, key, "timing", str, None, choices=("on_duty_first", "written"))
            if v is not None:
                out.append(TimingChange(key, v, w))
    return tuple(out)


#: The largest factor a variant may scale incident rates by (a stress test, not a new season).
MAX_RATE_SCALE = 100.0


def _rate_changes(r: Reader, node: Any, top: Any) -> tuple[RateChange, ...]:
    """``stochastic: {<family> or "*": {rate: x} or {rate_scale: k}}``: how often incidents
    happen (the incidents then differ from the base's: rates are the one lever that does)."""
    node = r.mapping(node, "stochastic", top, "stochastic")
    out = []
    for fam, item in node.items():
        pre = f"stochastic.{fam}"
        if fam != "*" and fam not in FAMILIES:
            r.add(node, fam, pre, "unknown_family_star", known=", ".join(FAMILIES))
            continue
        item = r.mapping(item, pre, node, fam)
        r.unknown(item, {"rate", "rate_scale"}, pre)
        if ("rate" in item) == ("rate_scale" in item):
            r.add(node, fam, pre, "rate_one_of")
            continue
        rate = r.take(item, "rate", pre, float, None, min_value=0, max_value=50)
        scale = r.take(item, "rate_scale", pre, float, None, min_value=0, max_value=MAX_RATE_SCALE)
        if rate is not None or scale is not None:
            out.append(RateChange(str(fam), rate, scale, _where(r, node, fam, pre)))
    return tuple(out)


def parse_variant(data: Any, file: str, *, name: str | None = None) -> Variant:
    """Check an override document and build a :class:`Variant` (InputError lists problems)."""
    r = Reader(file)
    top = r.mapping(data, "(variant)")
    r.unknown(
        top, {"name", "label_zh", "label_en", "roster", "sites", "plan", "timing", "stochastic"}, ""
    )
    vname = r.take(top, "name", "", str, name or Path(file).stem)
    roster = _roster_changes(r, top.get("roster", LineDict()), top)
    sites = _site_changes(r, top.get("sites", LineDict()), top)
    plan = _plan_changes(r, top.get("plan", LineDict()), top)
    timing = _timing_changes(r, top.get("timing", LineDict()), top)
    rates = _rate_changes(r, top.get("stochastic", LineDict()), top)
    label_zh = r.take(top, "label_zh", "", str, "")
    label_en = r.take(top, "label_en", "", str, "")
    r.raise_if_any()
    return Variant(
        name=vname,
        label_zh=label_zh or vname,
        label_en=label_en or vname,
        add=roster["add"],
        remove=roster["remove"],
        change=roster["change"],
        call_chains=roster["call_chains"],
        reachability=roster["reachability"],
        sites=sites,
        plan=plan,
        timing=timing,
        rates=rates,
        source=file,
    )


def load_variant(path: str | Path) -> Variant:
    """Read a YAML override file."""
    return parse_variant(load_file(path), str(path))


def variant_from_dict(data: Mapping[str, Any], name: str = "variant") -> Variant:
    """A variant from a plain dict in the file format (from code: sweeps, notebooks, tests)."""
    return parse_variant(dict(data), f"<{name}>", name=name)


def shipped_variants() -> list[Path]:
    """The example override files shipped in ``scenarios/variants``."""
    return sorted(VARIANTS_DIR.glob("*.yaml"))


# -- applying --------------------------------------------------------------------------------


def _patched(reach: Reach, patch: ReachPatch) -> Reach:
    return Reach(
        patch.answer_prob if patch.answer_prob is not None else reach.answer_prob,
        patch.answer_minutes if patch.answer_minutes is not None else reach.answer_minutes,
    )


def _person_reach(
    roster_reach: dict[str, Reach], own: dict[str, Reach], patches: Iterable[ReachPatch]
) -> tuple:
    out = dict(own)
    for p in patches:
        out[p.state] = _patched(out.get(p.state) or roster_reach[p.state], p)
    return tuple(sorted(out.items()))


def _insert(chain: list[str], pid: str, position: str) -> None:
    if position == "none" or pid in chain:
        return
    if position == "start":
        chain.insert(0, pid)
    elif position == "end":
        chain.append(pid)
    else:  # after_people: after the last person, before falling back to other roles
        idx = max((i + 1 for i, e in enumerate(chain) if not e.startswith("role:")), default=0)
        chain.insert(idx, pid)


def _role_loop(chains: dict[str, tuple[str, ...]]) -> list[str] | None:
    def walk(role: str, path: list[str]) -> list[str] | None:
        for e in chains.get(role, ()):
            if e.startswith("role:"):
                nxt = e[5:]
                if nxt in path:
                    return path[path.index(nxt) :] + [nxt]
                found = walk(nxt, path + [nxt])
                if found:
                    return found
        return None

    for role in chains:
        loop = walk(role, [role])
        if loop:
            return loop
    return None


def apply(scenario: Scenario, variant: Variant) -> Scenario:
    """The scenario with the variant's changes; the input is never mutated.

    Raises InputError (one problem per line, at the change's line in the variant file) when a
    change does not fit the scenario: an unknown person or site, a duplicate id, a role left
    with no one in it, a call chain that loops.
    """
    if variant.is_base:
        return scenario
    problems: list[Problem] = []
    roster = scenario.roster
    default_reach = dict(roster.reachability)
    people: dict[str, Person] = {p.id: p for p in roster.people}
    order = [p.id for p in roster.people]
    chains: dict[str, list[str]] = {role: list(entries) for role, entries in roster.call_chains}
    site_ids = {s.id for s in scenario.sites}

    for rem in variant.remove:
        if rem.id not in people:
            problems.append(rem.where.problem("no_person", id=repr(rem.id)))
            continue
        del people[rem.id]
        order.remove(rem.id)
        for role in chains:
            chains[role] = [e for e in chains[role] if e != rem.id]

    for ch in variant.change:
        p = people.get(ch.id)
        if p is None:
            problems.append(ch.where.problem("no_person", id=repr(ch.id)))
            continue
        values = dict(ch.fields)
        if "site" in values and values["site"] not in site_ids:
            problems.append(ch.where.problem("unknown_site", "site", site=repr(values["site"])))
            continue
        shifts = ch.shifts if ch.shifts is not None else p.shifts
        if "role" in values and values["role"] != p.role:
            # the role named (a person's first) is replaced; the other roles they hold stay
            values["roles"] = (values["role"],) + tuple(
                x for x in p.roles[1:] if x != values["role"]
            )
        p = dataclasses.replace(
            p,
            **values,
            shifts=tuple(shifts) + tuple(ch.add_shifts),
            reach=_person_reach(default_reach, dict(p.reach), ch.reach),
        )
        people[ch.id] = p

    for new in variant.add:
        p = new.person
        if p.id in people:
            problems.append(new.where.problem("duplicate_person", "id", id=repr(p.id)))
            continue
        if p.site is not None and p.site not in site_ids:
            problems.append(new.where.problem("unknown_site", "site", site=repr(p.site)))
            continue
        p = dataclasses.replace(p, reach=_person_reach(default_reach, {}, new.reach))
        people[p.id] = p
        order.append(p.id)
        for role, position in new.chains:
            if role not in chains:
                if position in ("after_people", "end") and role in p.roles:
                    continue  # the role's implicit chain (its people, in order) already ends with p
                # the implicit chain: everyone holding the role (a person may hold several)
                members = [q for q in order if role in people[q].roles and q != p.id]
                chains[role] = members
            _insert(chains[role], p.id, position)

    for cc in variant.call_chains:
        bad = [e for e in cc.entries if not e.startswith("role:") and e not in people]
        for e in bad:
            problems.append(cc.where.problem("unknown_person", person=repr(e)))
        chains[cc.role] = list(cc.entries)

    for dr in variant.reachability:
        default_reach[dr.patch.state] = _patched(default_reach[dr.patch.state], dr.patch)

    present = {x for p in people.values() for x in p.roles}
    where = _first_where(variant)
    for role in ROLE_IDS:
        site_roles = set(scenario.plan.setting("site_roles"))
        if role not in present and role != "chief_examiner" and role not in site_roles:
            problems.append(where.problem("variant_role_empty", "roster", role=repr(role)))
    if scenario.sites and "chief_examiner" not in present:
        problems.append(where.problem("variant_no_chief", "roster"))
    final_chains = {
        role: tuple(e for e in entries if e.startswith("role:") or e in people)
        for role, entries in chains.items()
    }
    loop = _role_loop(final_chains)
    if loop:
        problems.append(where.problem("chain_loop", "roster.call_chains", path=" → ".join(loop)))

    sites = list(scenario.sites)
    for sc in variant.sites:
        idx = [i for i, s in enumerate(sites) if sc.site in ("*", s.id)]
        if not idx:
            problems.append(sc.where.problem("unknown_site", site=repr(sc.site)))
        for i in idx:
            travel = (
                sc.travel_minutes
                if sc.travel_minutes is not None
                else _scaled(sites[i].travel_minutes, sc.travel_scale or 0.0)
            )
            if max(travel.params) > MAX_DURATION_MIN:
                problems.append(
                    sc.where.problem(
                        "travel_too_long",
                        site=sites[i].id,
                        minutes=f"{max(travel.params):g}",
                        max=MAX_DURATION_MIN,
                        bound=DURATION_BOUND,
                    )
                )
                continue
            sites[i] = dataclasses.replace(sites[i], travel_minutes=travel)

    plan = _apply_plan(scenario.plan, variant.plan, problems)

    timing = _apply_timing(scenario.timing, variant.timing)
    rates = list(scenario.rates)
    for rc in variant.rates:
        hit = [i for i, fr in enumerate(rates) if rc.family in ("*", fr.family)]
        if not hit:
            problems.append(rc.where.problem("no_stochastic", family=repr(rc.family)))
        for i in hit:
            new = rc.rate if rc.rate is not None else rates[i].rate * (rc.rate_scale or 0.0)
            rates[i] = dataclasses.replace(rates[i], rate=min(new, 50.0))

    if problems:
        raise InputError(problems)
    new_roster = Roster(
        people=tuple(people[pid] for pid in order),
        reachability=tuple(sorted(default_reach.items())),
        call_chains=tuple(sorted(final_chains.items())),
    )
    return dataclasses.replace(
        scenario,
        roster=new_roster,
        sites=tuple(sites),
        plan=plan,
        timing=timing,
        rates=tuple(rates),
    )


def _same_kind(original: Any, values: dict) -> Any:
    """``values`` in the container type the engine used (a read-only dict or pairs)."""
    return type(original)(values) if isinstance(original, dict) else tuple(values.items())


def _apply_timing(timing: Any, changes: Iterable[TimingChange]) -> Any:
    changes = list(changes)
    if not changes:
        return timing
    durations = dict(timing.durations)
    bodies = dict(getattr(timing, "body_receive", {}) or {})
    extra: dict[str, Any] = {}
    for tc in changes:
        if tc.key in TIMING_KEYS:
            durations[tc.key] = tc.value
        elif tc.key.startswith("bodies."):
            bodies[tc.key[7:]] = tc.value
        else:
            extra[tc.key] = tc.value
    if hasattr(timing, "body_receive"):
        extra["body_receive"] = _same_kind(timing.body_receive, bodies)
    return dataclasses.replace(timing, durations=_same_kind(timing.durations, durations), **extra)


def _first_where(variant: Variant) -> Where:
    for group in (variant.remove, variant.change, variant.add, variant.call_chains):
        if group:
            return Where(group[0].where.file, group[0].where.line, "")
    return Where(variant.source or f"<{variant.name}>", 1, "")


def _scaled(d: Dist, k: float) -> Dist:
    """A travel time ``k`` times as long (every supported distribution scales in its parameters)."""
    return Dist(d.kind, tuple(p * k for p in d.params))


def _apply_plan(plan: Plan, changes: Iterable[PlanChange], problems: list[Problem]) -> Plan:
    settings: dict[str, Any] = {}
    rules: dict[str, float] = {}
    steps: dict[str, str] = {}
    wheres: dict[tuple[str, str], Where] = {}
    for pc in changes:
        wheres[(pc.kind, pc.key)] = pc.where
        if pc.kind == "rule":
            rules[pc.key] = pc.value
            continue
        if pc.kind == "step":
            steps[pc.key.split(".", 1)[0]] = pc.value
            continue
        if pc.key not in plan.settings:
            problems.append(
                pc.where.problem("unknown_setting_known", known=", ".join(plan.settings))
            )
            continue
        old = plan.setting(pc.key)
        value = pc.value
        if isinstance(old, tuple) and isinstance(value, list):
            value = list(value)
        elif isinstance(old, bool) != isinstance(value, bool) or (
            isinstance(old, int | float) and not isinstance(value, int | float)
        ):
            problems.append(pc.where.problem("value_like", old=repr(old), value=repr(value)))
            continue
        settings[pc.key] = value
    if not settings and not rules and not steps:
        return plan
    try:
        if settings:
            plan = plan.with_settings(**settings)
        for rid, minutes in rules.items():
            plan = plan.with_rule_minutes(rid, minutes)
        for sid, by in steps.items():
            if sid not in plan.steps:
                w = wheres[("step", f"{sid}.by")]  # the step is unknown, not its ``by``
                w = dataclasses.replace(w, field=w.field.removesuffix(".by"))
                known = ", ".join(plan.steps)
                problems.append(w.problem("unknown_step_known", step=repr(sid), known=known))
                continue
            plan = plan.with_step(sid, by=by)
    except InputError as exc:
        for p in exc.problems:
            key = p.field.split(".")[1] if p.field.count(".") >= 1 else p.field
            w = (
                wheres.get(("setting", key))
                or wheres.get(("rule", key))
                or wheres.get(("step", f"{key}.by"))
                or next(iter(wheres.values()))
            )
            problems.append(w.problem(Msg(p.code, p.params)))
    return plan


def apply_all(scenario: Scenario, variants: Iterable[Variant]) -> list[Scenario]:
    """Each variant applied to the same base; every problem of every variant raised at once."""
    out, problems = [], []
    for v in variants:
        try:
            out.append(apply(scenario, v))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return out


# -- writing and describing ------------------------------------------------------------------


def _clock_text(minutes: int) -> str:
    minutes %= DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _dist_dict(d: Dist) -> Any:
    if d.kind == "fixed":
        return _num(d.params[0])
    from sim.scenario import DISTS

    return {"dist": d.kind, **{k: _num(v) for k, v in zip(DISTS[d.kind], d.params, strict=True)}}


def _num(x: float) -> float | int:
    return int(x) if float(x).is_integer() else float(x)


def _shift_dict(s: Shift) -> dict:
    return {
        "days": "all" if s.days is None else list(s.days),
        "from": _clock_text(s.start_min),
        "to": _clock_text(s.end_min),
        "state": s.state,
    }


def _patch_dict(p: ReachPatch) -> dict:
    out: dict[str, Any] = {}
    if p.answer_prob is not None:
        out["answer_prob"] = _num(p.answer_prob)
    if p.answer_minutes is not None:
        out["answer_minutes"] = _dist_dict(p.answer_minutes)
    return out


def variant_to_dict(v: Variant) -> dict[str, Any]:
    """The variant in the override file format (``parse_variant`` of it gives the same variant)."""
    out: dict[str, Any] = {"name": v.name, "label_zh": v.label_zh, "label_en": v.label_en}
    roster: dict[str, Any] = {}
    if v.add:
        adds = []
        for n in v.add:
            p = n.person
            d: dict[str, Any] = {
                "id": p.id,
                "role": p.role,
                "name_zh": p.name_zh,
                "name_en": p.name_en,
            }
            if p.phone:
                d["phone"] = p.phone
            if p.site:
                d["site"] = p.site
            d["default_state"] = p.default_state
            if p.shifts:
                d["duty"] = [_shift_dict(s) for s in p.shifts]
            if n.reach:
                d["reach"] = {r.state: _patch_dict(r) for r in n.reach}
            if n.chains != ((p.role, "after_people"),):
                d["chain"] = dict(n.chains) if n.chains else "none"
            adds.append(d)
        roster["add"] = adds
    if v.remove:
        roster["remove"] = [r.id for r in v.remove]
    if v.change:
        changes = {}
        for c in v.change:
            d = dict(c.fields)
            if c.shifts is not None:
                d["duty"] = [_shift_dict(s) for s in c.shifts]
            if c.add_shifts:
                d["add_duty"] = [_shift_dict(s) for s in c.add_shifts]
            if c.reach:
                d["reach"] = {r.state: _patch_dict(r) for r in c.reach}
            changes[c.id] = d
        roster["change"] = changes
    if v.call_chains:
        roster["call_chains"] = {c.role: list(c.entries) for c in v.call_chains}
    if v.reachability:
        roster["reachability"] = {r.patch.state: _patch_dict(r.patch) for r in v.reachability}
    if roster:
        out["roster"] = roster
    if v.sites:
        out["sites"] = {
            s.site: {"travel_minutes": _dist_dict(s.travel_minutes)}
            if s.travel_minutes
            else {"travel_scale": s.travel_scale}
            for s in v.sites
        }
    plan: dict[str, Any] = {}
    for pc in v.plan:
        value = list(pc.value) if isinstance(pc.value, tuple) else pc.value
        if pc.kind == "step":
            sid, _, fld = pc.key.partition(".")
            plan.setdefault("procedure", {}).setdefault(sid, {})[fld] = value
            continue
        plan.setdefault("settings" if pc.kind == "setting" else "rules", {})[pc.key] = value
    if plan:
        out["plan"] = plan
    if v.timing:
        timing: dict[str, Any] = {}
        for tc in v.timing:
            value = _dist_dict(tc.value) if isinstance(tc.value, Dist) else tc.value
            if tc.key.startswith("bodies."):
                timing.setdefault("bodies", {})[tc.key[7:]] = value
            else:
                timing[tc.key] = value
        out["timing"] = timing
    if v.rates:
        out["stochastic"] = {
            rc.family: {"rate": rc.rate} if rc.rate is not None else {"rate_scale": rc.rate_scale}
            for rc in v.rates
        }
    return out


def variant_to_yaml(v: Variant) -> str:
    """The override file text for a variant (e.g. to download from the planner page)."""
    return dump_yaml(variant_to_dict(v), width=100)


def describe(v: Variant, lang: str = "zh", scenario: Scenario | None = None) -> list[str]:
    """One short line per change, for the page, the verdicts and the JSON export, in words:
    people, roles, sites, rules, steps, duty states and timings by their labels (``scenario``,
    the base, names its people, sites and plan terms; without it they stay ids)."""
    plan = scenario.plan if scenario is not None else None
    people = {}
    sites = {}
    if scenario is not None:
        people = {p.id: p for p in scenario.roster.people}
        sites = {s.id: (s.name_zh if lang == "zh" else s.name_en) or s.id for s in scenario.sites}
    sep = "；" if lang == "zh" else "; "
    comma = "，" if lang == "zh" else ", "

    def role(r: str) -> str:
        return label(plan, "roles", r, lang) if plan is not None else r

    def person(pid: str, p: Person | None = None) -> str:
        p = p or people.get(pid)
        if p is None:
            return pid
        return (p.name_zh if lang == "zh" else p.name_en) or p.name_zh or p.name_en or pid

    def state(x: str) -> str:
        return _word(f"rev_state_{x}", lang, x)

    def site(x: str) -> str:
        return t("vary_every_site", lang) if x == "*" else sites.get(x, x)

    def shifts(items: Iterable[Shift]) -> str:
        return sep.join(_shift_text(s, lang) for s in items)

    def field_value(key: str, value: Any) -> str:
        if key == "role":
            return role(str(value))
        if key == "default_state":
            return state(str(value))
        if key == "site":
            return site(str(value)) if value else "—"
        return str(value)

    out = []
    for n in v.add:
        out.append(
            t("vary_add", lang, name=person(n.person.id, n.person), role=role(n.person.role))
        )
    for r in v.remove:
        out.append(t("vary_remove", lang, name=person(r.id)))
    for c in v.change:
        parts = [
            t(
                "vary_field",
                lang,
                field=_word(_FIELD_KEYS.get(k, ""), lang, k),
                value=field_value(k, val),
            )
            for k, val in c.fields
        ]
        if c.shifts is not None:
            parts.append(t("vary_duty", lang, shifts=shifts(c.shifts)))
        if c.add_shifts:
            parts.append(t("vary_add_duty", lang, shifts=shifts(c.add_shifts)))
        parts += [_patch_text(rp, lang) for rp in c.reach]
        out.append(t("vary_change", lang, name=person(c.id), parts=comma.join(parts)))
    for cc in v.call_chains:
        entries = [
            t("vary_chain_role", lang, role=role(e[5:])) if e.startswith("role:") else person(e)
            for e in cc.entries
        ]
        out.append(t("vary_chain", lang, role=role(cc.role), entries=" → ".join(entries)))
    for dr in v.reachability:
        out.append(t("vary_reach_default", lang, patch=_patch_text(dr.patch, lang)))
    for sc in v.sites:
        what = (
            f"×{sc.travel_scale:g}"
            if sc.travel_scale is not None
            else _dist_text(sc.travel_minutes, lang)
        )
        out.append(t("vary_travel", lang, site=site(sc.site), what=what))
    for pc in v.plan:
        if pc.kind == "rule":
            rule = label(plan, "rules", pc.key, lang) if plan is not None else pc.key
            out.append(t("vary_clock", lang, rule=rule, minutes=f"{pc.value:g}"))
        elif pc.kind == "step":
            sid = pc.key.removesuffix(".by")
            step = step_label(plan, sid, lang) if plan is not None else sid
            out.append(t("vary_step_by", lang, step=step, role=role(str(pc.value))))
        else:
            name = _word(f"setting_{pc.key}", lang, pc.key)
            out.append(t("vary_setting", lang, setting=name, value=pc.value))
    for tc in v.timing:
        if tc.key == "call_order":
            written = tc.value == "written"
            out.append(t("vary_call_order" if written else "vary_call_order_default", lang))
            continue
        if isinstance(tc.value, Dist):
            value = _dist_text(tc.value, lang)
        elif isinstance(tc.value, Mapping):  # bodies: {body: minutes}
            value = comma.join(
                f"{label(plan, 'bodies', b, lang) if plan is not None else b} "
                + (_dist_text(d, lang) if isinstance(d, Dist) else str(d))
                for b, d in tc.value.items()
            )
        else:
            value = str(tc.value)
        out.append(
            t("vary_timing", lang, name=_word(f"timing_{tc.key}", lang, tc.key), value=value)
        )
    for rc in v.rates:
        what = f"= {rc.rate:g}" if rc.rate is not None else f"× {rc.rate_scale:g}"
        family = t("vary_every_family", lang) if rc.family == "*" else family_label(rc.family, lang)
        out.append(t("vary_rate", lang, family=family, what=what))
    return out


#: A person's fields by the planner's column labels.
_FIELD_KEYS = {
    "role": "plan_col_role",
    "name_zh": "plan_col_name_zh",
    "name_en": "plan_col_name_en",
    "site": "plan_col_site",
    "default_state": "plan_col_state",
}


def _word(key: str, lang: str, fallback: str) -> str:
    """The catalogue's word for ``key``; ``fallback`` (an id as written) when it has none."""
    text = t(key, lang) if key else key
    return fallback if not key or text == key else text


def _dist_text(d: Dist | None, lang: str) -> str:
    """A duration in words: a fixed number of minutes, or its distribution and parameters."""
    from sim.scenario import DISTS

    if d is None:
        return "—"
    params = {k: f"{_num(x):g}" for k, x in zip(DISTS[d.kind], d.params, strict=True)}
    return t(f"dist_{d.kind}", lang, **params)


def _shift_text(s: Shift, lang: str = "en") -> str:
    """A duty shift in words: its days (每天 / 第1天…), hours and duty state."""
    if s.days is None:
        days = t("vary_days_all", lang)
    else:
        days = ("、" if lang == "zh" else ", ").join(day_label(d, lang) for d in s.days)
    return t(
        "vary_shift",
        lang,
        days=days,
        start=_clock_text(s.start_min),
        end=_clock_text(s.end_min),
        state=_word(f"rev_state_{s.state}", lang, s.state),
    )


def _patch_text(p: ReachPatch, lang: str) -> str:
    """A per-state answering change in words."""
    bits = []
    if p.answer_prob is not None:
        bits.append(t("vary_answer_prob", lang, p=f"{p.answer_prob:g}"))
    if p.answer_minutes is not None:
        bits.append(t("vary_answer_minutes", lang, dist=_dist_text(p.answer_minutes, lang)))
    sep = "，" if lang == "zh" else ", "
    state = _word(f"rev_state_{p.state}", lang, p.state)
    return t("vary_reach", lang, state=state, bits=sep.join(bits))


# -- tables for st.data_editor ---------------------------------------------------------------

PEOPLE_COLUMNS = [
    "id",
    "role",
    "name_zh",
    "name_en",
    "site",
    "default_state",
    "p_on_duty",
    "p_on_call",
    "p_off_duty",
]
CALENDAR_COLUMNS = ["person", "days", "from", "to", "state"]
CHAIN_COLUMNS = ["role", "chain"]
REACH_COLUMNS = ["state", "answer_prob"]


def people_frame(roster: Roster) -> pd.DataFrame:
    """One row per person; p_<state> is the person's effective answer probability in that state."""
    rows = []
    for p in roster.people:
        row = {
            "id": p.id,
            "role": p.role,
            "name_zh": p.name_zh,
            "name_en": p.name_en,
            "site": p.site or "",
            "default_state": p.default_state,
        }
        for s in STATES:
            row[f"p_{s}"] = roster.reach_of(p, s).answer_prob
        rows.append(row)
    return pd.DataFrame(rows, columns=PEOPLE_COLUMNS)


def calendar_frame(roster: Roster) -> pd.DataFrame:
    """The duty calendar: one row per shift (days ``all`` or ``0,1``; times HH:MM; state)."""
    rows = []
    for p in roster.people:
        for s in p.shifts:
            rows.append(
                {
                    "person": p.id,
                    "days": "all" if s.days is None else ",".join(map(str, s.days)),
                    "from": _clock_text(s.start_min),
                    "to": _clock_text(s.end_min),
                    "state": s.state,
                }
            )
    return pd.DataFrame(rows, columns=CALENDAR_COLUMNS)


def chains_frame(roster: Roster) -> pd.DataFrame:
    """Explicit call chains: one row per role, entries comma-separated."""
    return pd.DataFrame(
        [{"role": r, "chain": ", ".join(e)} for r, e in roster.call_chains], columns=CHAIN_COLUMNS
    )


def reach_frame(roster: Roster) -> pd.DataFrame:
    """The roster's default answer probability per duty state."""
    return pd.DataFrame(
        [{"state": s, "answer_prob": r.answer_prob} for s, r in roster.reachability],
        columns=REACH_COLUMNS,
    )


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value).strip()


def _prob(value: Any) -> float | None:
    text = _cell(value)
    if not text:
        return None
    try:
        v = float(text)
    except ValueError:
        return math.nan
    return v


class _Table:
    """Collects problems in an edited table as ``table:row: column: message`` (rows from 1)."""

    def __init__(self, name: str, problems: list[Problem]):
        self.name = name
        self.problems = problems

    def add(self, row: int, column: str, code: str, /, **params: Any) -> None:
        self.problems.append(Problem(self.name, row + 1, column, code, tuple(params.items())))


def _rows(df: pd.DataFrame | None, columns: list[str]) -> list[dict[str, Any]]:
    if df is None:
        return []
    df = df.reset_index(drop=True)
    return [{c: row.get(c) for c in columns} for row in df.to_dict("records")]


def _parse_days(text: str) -> tuple[int, ...] | None | str:
    if text in ("", "all", "*", "全部", "每天"):
        return None
    try:
        days = tuple(int(x) for x in text.replace("，", ",").split(",") if x.strip())
    except ValueError:
        return "bad"
    return days or None


def variant_from_tables(
    base: Scenario,
    name: str,
    *,
    people: pd.DataFrame | None = None,
    calendar: pd.DataFrame | None = None,
    chains: pd.DataFrame | None = None,
    reach: pd.DataFrame | None = None,
    label_zh: str = "",
    label_en: str = "",
) -> Variant:
    """The variant that turns the base roster's tables into the edited ones (missing = unchanged).

    New rows in the people table are added people (placed after the people of their role's call
    chain), missing rows are removed, changed cells are changes; the duty calendar is compared
    person by person. Problems are raised as one InputError: ``people:3: role: ...``.
    """
    roster = base.roster
    problems: list[Problem] = []
    base_people = {p.id: p for p in roster.people}
    site_ids = {s.id for s in base.sites}
    default_reach = dict(roster.reachability)

    adds: list[NewPerson] = []
    removes: list[Removal] = []
    changes: dict[str, dict[str, Any]] = {}
    new_people: dict[str, Person] = {}
    new_reach: dict[str, list[ReachPatch]] = {}
    seen: set[str] = set()

    if people is not None:
        t = _Table("people", problems)
        for i, row in enumerate(_rows(people, PEOPLE_COLUMNS)):
            pid = _cell(row["id"])
            if not pid and not any(_cell(row[c]) for c in PEOPLE_COLUMNS):
                continue  # an empty row the editor added
            if not pid:
                t.add(i, "id", "required")
                continue
            if pid in seen:
                t.add(i, "id", "duplicate_person", id=repr(pid))
                continue
            seen.add(pid)
            role = _cell(row["role"])
            if role not in ROLE_IDS:
                t.add(i, "role", "not_one_of", value=repr(role), allowed=", ".join(ROLE_IDS))
                continue
            state = _cell(row["default_state"]) or "off_duty"
            if state not in STATES:
                t.add(
                    i, "default_state", "not_one_of", value=repr(state), allowed=", ".join(STATES)
                )
                continue
            site = _cell(row["site"]) or None
            if site is not None and site not in site_ids:
                t.add(i, "site", "unknown_site", site=repr(site))
                continue
            patches = []
            old = base_people.get(pid)
            for s in STATES:
                v = _prob(row[f"p_{s}"])
                if v is None:
                    continue
                if math.isnan(v) or not 0 <= v <= 1:
                    t.add(i, f"p_{s}", "probability")
                    continue
                current = (
                    roster.reach_of(old, s).answer_prob if old else default_reach[s].answer_prob
                )
                if abs(v - current) > 1e-12:
                    patches.append(ReachPatch(s, v))
            values = {
                "role": role,
                "name_zh": _cell(row["name_zh"]) or pid,
                "name_en": _cell(row["name_en"]) or pid,
                "site": site,
                "default_state": state,
            }
            if old is None:
                new_people[pid] = Person(id=pid, **values)
                new_reach[pid] = patches
            else:
                diff = {
                    k: v
                    for k, v in values.items()
                    if getattr(old, k) != v and not (k == "site" and v is None and old.site is None)
                }
                if diff or patches:
                    changes.setdefault(pid, {})["fields"] = diff
                    changes[pid]["reach"] = patches
        for pid in base_people:
            if pid not in seen:
                removes.append(Removal(pid, Where("people", 1, pid)))

    if calendar is not None:
        t = _Table("calendar", problems)
        shifts: dict[str, list[Shift]] = {}
        known = set(seen or base_people) | set(new_people)
        for i, row in enumerate(_rows(calendar, CALENDAR_COLUMNS)):
            pid = _cell(row["person"])
            if not pid and not any(_cell(row[c]) for c in CALENDAR_COLUMNS):
                continue
            if pid not in known:
                t.add(i, "person", "unknown_person", person=repr(pid))
                continue
            days = _parse_days(_cell(row["days"]))
            if days == "bad":
                t.add(i, "days", "table_days")
                continue
            start, end = _clock(_cell(row["from"])), _clock(_cell(row["to"]))
            if start is None:
                t.add(i, "from", "clock_expected")
            if end is None:
                t.add(i, "to", "clock_expected")
            state = _cell(row["state"])
            if state not in STATES:
                t.add(i, "state", "not_one_of", value=repr(state), allowed=", ".join(STATES))
                continue
            if start is None or end is None:
                continue
            shifts.setdefault(pid, []).append(
                Shift(days, start, end + DAY if end <= start else end, state)
            )  # type: ignore[arg-type]
        for pid in known:
            mine = tuple(shifts.get(pid, ()))
            if pid in new_people:
                new_people[pid] = dataclasses.replace(new_people[pid], shifts=mine)
            elif pid in base_people and mine != base_people[pid].shifts:
                changes.setdefault(pid, {})["shifts"] = mine

    chain_changes: list[ChainChange] = []
    if chains is not None:
        t = _Table("call_chains", problems)
        old_chains = dict(roster.call_chains)
        known = set(seen or base_people) | set(new_people)
        edited: dict[str, tuple[str, ...]] = {}
        for i, row in enumerate(_rows(chains, CHAIN_COLUMNS)):
            role = _cell(row["role"])
            if not role and not _cell(row["chain"]):
                continue
            if role not in ROLE_IDS:
                t.add(i, "role", "not_one_of", value=repr(role), allowed=", ".join(ROLE_IDS))
                continue
            entries = tuple(
                e.strip() for e in _cell(row["chain"]).replace("，", ",").split(",") if e.strip()
            )
            for e in entries:
                if e.startswith("role:") and e[5:] not in ROLE_IDS:
                    t.add(i, "chain", "unknown_role", role=repr(e[5:]))
                elif not e.startswith("role:") and e not in known:
                    t.add(i, "chain", "unknown_person", person=repr(e))
            edited[role] = entries
        for role, entries in edited.items():
            if old_chains.get(role) != entries:
                chain_changes.append(ChainChange(role, entries, Where("call_chains", 1, role)))
        order = [q for q in base_people if q in known] + [
            q for q in new_people if q not in base_people
        ]
        for role, _ in roster.call_chains:
            if role not in edited:  # a deleted row: the role's people, in roster order
                members = tuple(
                    q for q in order if role in (new_people.get(q) or base_people[q]).roles
                )
                chain_changes.append(ChainChange(role, members, Where("call_chains", 1, role)))

    reach_changes: list[DefaultReach] = []
    if reach is not None:
        t = _Table("reachability", problems)
        for i, row in enumerate(_rows(reach, REACH_COLUMNS)):
            state = _cell(row["state"])
            if not state:
                continue
            if state not in STATES:
                t.add(i, "state", "not_one_of", value=repr(state), allowed=", ".join(STATES))
                continue
            v = _prob(row["answer_prob"])
            if v is None or math.isnan(v) or not 0 <= v <= 1:
                t.add(i, "answer_prob", "probability")
                continue
            if abs(v - default_reach[state].answer_prob) > 1e-12:
                reach_changes.append(
                    DefaultReach(ReachPatch(state, v), Where("reachability", i + 1, state))
                )

    if problems:
        raise InputError(problems)
    for pid, p in new_people.items():
        patches = new_reach.get(pid, [])
        adds.append(
            NewPerson(p, ((p.role, "after_people"),), tuple(patches), Where("people", 1, pid))
        )
    person_changes = []
    for pid, c in changes.items():
        person_changes.append(
            PersonChange(
                pid,
                tuple(sorted(c.get("fields", {}).items())),
                c.get("shifts"),
                (),
                tuple(c.get("reach", ())),
                Where("people", 1, pid),
            )
        )
    return Variant(
        name=name,
        label_zh=label_zh or name,
        label_en=label_en or name,
        add=tuple(adds),
        remove=tuple(removes),
        change=tuple(person_changes),
        call_chains=tuple(chain_changes),
        reachability=tuple(reach_changes),
        source="tables",
    )


def plan_clock_variant(
    rule_id: str, minutes: float, name: str | None = None, plan: Plan | None = None
) -> Variant:
    """A variant that only changes one rule's clock (e.g. first_report_3h at 120 minutes).

    With ``plan``, the labels use the rule's own words ("首报不得超过3小时：120 分钟").
    """
    rule = plan.rules.get(rule_id) if plan is not None else None
    zh = rule.label_zh if rule else rule_id
    en = rule.label_en if rule else rule_id
    key = name or f"{rule_id}_{minutes:g}"
    return variant_from_dict(
        {
            "name": key,
            "label_zh": f"{zh}：时限改为 {minutes:g} 分钟",
            "label_en": f"{en}: clock {minutes:g} min",
            "plan": {"rules": {rule_id: minutes}},
        },
        name=key,
    )


def set_path(path: str, value: Any) -> dict[str, Any]:
    """A nested override document with ``value`` at a dotted ``path`` (for one-parameter sweeps).

    ``roster.reachability.off_duty.answer_prob`` → ``{"roster": {"reachability": {"off_duty":
    {"answer_prob": value}}}}``. Site ids and person ids may contain no dots.
    """
    keys = [k for k in path.split(".") if k]
    if not keys:
        raise ValueError("empty parameter path")
    doc: dict[str, Any] = {}
    node = doc
    for k in keys[:-1]:
        node = node.setdefault(k, {})
    node[keys[-1]] = value
    return doc


__all__ = [
    "BASE",
    "Variant",
    "apply",
    "apply_all",
    "calendar_frame",
    "chains_frame",
    "describe",
    "load_variant",
    "parse_variant",
    "people_frame",
    "plan_clock_variant",
    "reach_frame",
    "set_path",
    "shipped_variants",
    "variant_from_dict",
    "variant_from_tables",
    "variant_to_dict",
    "variant_to_yaml",
]
