"""Scenarios: exam calendar, sites, roster with duty calendars and call chains, incidents, timing.

A :class:`Scenario` is immutable. Times are minutes from 00:00 of the exam calendar's first day
(day 0); a time may be written ``"D1 09:40"`` (day 1, 09:40) or as a number of minutes.
Durations are distributions: a number (fixed) or ``{dist: triangular, low, mode, high}``,
``{dist: uniform, low, high}``, ``{dist: exponential, mean}``, ``{dist: lognormal, mean, sd}``.
Variants are copies made with :func:`dataclasses.replace` or by :func:`sim.variants.apply`.

Every number is finite and bounded: a duration (any parameter of a distribution, a discovery
delay) is at most :data:`MAX_DURATION_MIN` (a week), so no run can hang on one; a scripted
incident happens inside the exam calendar; a contact change lies within :data:`TIME_SPAN_DAYS`
of day 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import InitVar, dataclass, field
from datetime import date
from pathlib import Path
from statistics import NormalDist
from typing import Any

from sim.grading import incident_problems
from sim.plan import (
    BODY_IDS,
    ERROR_KINDS,
    FAMILIES,
    INCIDENT_FIELDS,
    PEOPLE_MAX,
    PHASES,
    ROLE_IDS,
    SCOPES,
    TIMING_KEYS,
    Frozen,
    Plan,
    load_plan,
)
from sim.yamlio import (
    AnyOf,
    InputError,
    LineDict,
    Msg,
    Problem,
    Reader,
    line_of,
    load_file,
    load_text,
    msg,
    number_hint,
    read_text,
)

DAY = 24 * 60
STATES = ("on_duty", "on_call", "off_duty")
# keys of a person in a roster (a roster adds contact_change, a variant's new person its chain)
PERSON_KEYS = (
    "id",
    "role",
    "roles",
    "name_zh",
    "name_en",
    "phone",
    "site",
    "default_state",
    "duty",
    "reach",
)
DISTS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "exponential": ("mean",),
    "lognormal": ("mean", "sd"),
}
#: The longest duration accepted: a week, longer than any step of the plan takes (the plan's
#: longest clock is a day), short enough that no run can hang waiting on one.
MAX_DURATION_MIN = 7 * DAY
#: Why a duration has its maximum (words by their code: problem_bound_duration).
DURATION_BOUND = msg("bound_duration")
#: A lognormal's sd at most this many times its mean (at 10, one draw in a thousand already
#: passes 75 means; far beyond, working out the distribution overflows).
LOGNORMAL_MAX_CV = 10
#: The longest exam calendar, and how far from day 0 a contact change may lie (either side).
MAX_DAYS = 366
TIME_SPAN_DAYS = 366
#: Exam rooms at one site, and a scope's weight: far above real values, far below absurd ones.
MAX_ROOMS = 10_000
MAX_WEIGHT = 1_000_000
_STD_NORMAL = NormalDist()
_TIME = re.compile(r"^D(-?\d{1,6})\s+(\d{1,2}):(\d{2})$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class Dist:
    """A duration distribution in minutes (parameters as in the scenario file)."""

    kind: str
    params: tuple[float, ...]

    def sample(self, rng) -> float:
        """One draw, always from exactly one uniform (inverse CDF), whatever the kind.

        Consuming one number per draw keeps common random numbers intact when a variant changes
        a distribution's kind (a triangular travel time made fixed shifts no other draw).
        """
        return self.quantile(rng.random())

    def quantile(self, u: float) -> float:
        p = self.params
        if self.kind == "fixed":
            return p[0]
        if self.kind == "uniform":
            return p[0] + (p[1] - p[0]) * u
        if self.kind == "triangular":
            lo, mode, hi = p
            if hi <= lo:
                return lo
            if u < (mode - lo) / (hi - lo):
                return lo + math.sqrt(u * (hi - lo) * (mode - lo))
            return hi - math.sqrt((1 - u) * (hi - lo) * (hi - mode))
        if self.kind == "exponential":
            return -p[0] * math.log1p(-u) if p[0] > 0 else 0.0
        # lognormal with the given mean and sd of the duration itself
        mean, sd = p
        if sd <= 0:
            return mean
        sigma2 = math.log(1 + (sd / mean) ** 2)
        z = _STD_NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
        return math.exp(math.log(mean) - sigma2 / 2 + math.sqrt(sigma2) * z)

    @property
    def mean(self) -> float:
        p = self.params
        return {
            "fixed": lambda: p[0],
            "uniform": lambda: (p[0] + p[1]) / 2,
            "triangular": lambda: sum(p) / 3,
        }.get(self.kind, lambda: p[0])()

    @staticmethod
    def fixed(value: float) -> Dist:
        return Dist("fixed", (float(value),))


@dataclass(frozen=True)
class Reach:
    """Whether and how fast a person answers the phone in one duty state."""

    answer_prob: float
    answer_minutes: Dist


@dataclass(frozen=True)
class Shift:
    days: tuple[int, ...] | None  # None: every day
    start_min: int  # minutes after midnight
    end_min: int  # may exceed 1440 for a shift past midnight
    state: str


@dataclass(frozen=True)
class Person:
    id: str
    role: str
    name_zh: str
    name_en: str
    phone: str = ""
    site: str | None = None
    default_state: str = "off_duty"
    shifts: tuple[Shift, ...] = ()
    reach: tuple[tuple[str, Reach], ...] = ()  # per-state overrides
    contact_notified_day: float | None = None
    contact_effective_day: float | None = None
    roles: tuple[str, ...] = ()  # every role the person holds (``role`` first); workload is shared

    def __post_init__(self) -> None:
        if not self.roles:
            object.__setattr__(self, "roles", (self.role,))

    def state_at(self, minute: float) -> str:
        """Duty state at a simulated minute (shifts may run past midnight)."""
        day, clock = divmod(minute, DAY)
        for s in self.shifts:
            for d, c in ((day, clock), (day - 1, clock + DAY)):
                if (s.days is None or int(d) in s.days) and s.start_min <= c < s.end_min:
                    return s.state
        return self.default_state

    def state_span(self, minute: float) -> tuple[float, float, str]:
        """``(since, until, state)``: the duty state at ``minute`` and the span around it over
        which it cannot change (no shift starts or ends inside it, nor does a day), so a run
        can keep asking without working it out again."""
        day = minute // DAY
        edges = {(day + k) * DAY for k in (0, 1)}
        for s in self.shifts:
            for d in (day - 1, day, day + 1):
                edges.add(d * DAY + s.start_min)
                edges.add(d * DAY + s.end_min)
        since = max(e for e in edges if e <= minute)
        until = min(e for e in edges if e > minute)
        return since, until, self.state_at(minute)


@dataclass(frozen=True)
class Roster:
    people: tuple[Person, ...]
    reachability: tuple[tuple[str, Reach], ...]  # default per state
    call_chains: tuple[tuple[str, tuple[str, ...]], ...]  # role -> entries (person id or "role:x")

    def person(self, pid: str) -> Person:
        for p in self.people:
            if p.id == pid:
                return p
        raise KeyError(pid)

    def reach_of(self, person: Person, state: str) -> Reach:
        return dict(person.reach).get(state) or dict(self.reachability)[state]

    def chain(self, role: str, site: str | None = None) -> tuple[str, ...]:
        """People to try for a role, in order, backups included ("role:x" entries expanded).

        A site's own people of the role (e.g. its chief examiner) come first.
        """
        chains = dict(self.call_chains)
        out: list[str] = []
        if site is not None:
            out += [p.id for p in self.people if role in p.roles and p.site == site]
        seen_roles: set[str] = set()

        def expand(r: str) -> None:
            if r in seen_roles:
                return
            seen_roles.add(r)
            entries = chains.get(r) or tuple(p.id for p in self.people if r in p.roles)
            for e in entries:
                if e.startswith("role:"):
                    expand(e[5:])
                elif e not in out:
                    out.append(e)

        expand(role)
        return tuple(out)


@dataclass(frozen=True)
class Site:
    id: str
    name_zh: str
    name_en: str
    rooms: int
    candidates: int
    travel_minutes: Dist


@dataclass(frozen=True)
class Session:
    day: int
    start_min: int
    end_min: int
    subject_zh: str = ""
    subject_en: str = ""

    @property
    def start(self) -> float:
        return self.day * DAY + self.start_min

    @property
    def end(self) -> float:
        return self.day * DAY + self.end_min


@dataclass(frozen=True)
class Incident:
    """One incident's facts. ``discovered_after`` fixes the discovery delay (a drill's script).

    ``spares_enough`` is the old name of ``site_spares_enough`` (考点备用试卷): still accepted
    when made and read back as the site's spares.
    """

    id: str
    at: float
    site: str
    family: str
    people: int | None = None
    scope: str | None = None
    phase: str | None = None
    site_spares_enough: bool | None = None
    time_recoverable: bool | None = None
    discovered_after: float | None = None
    text_zh: str = ""
    text_en: str = ""
    error_kind: str | None = None  # distribution (试卷分发错误) | packing (错装)
    local_spares_enough: bool | None = None  # 当地备用试卷
    spares_enough: InitVar[bool | None] = None

    def __post_init__(self, spares_enough: bool | None) -> None:
        if spares_enough is None or spares_enough == self.site_spares_enough:
            return
        if self.site_spares_enough is not None:
            raise ValueError("spares_enough is the old name of site_spares_enough; they disagree")
        object.__setattr__(self, "site_spares_enough", spares_enough)

    def facts(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family}
        for key in INCIDENT_FIELDS:
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


# read back under the old name too (code that still asks for ``spares_enough``)
Incident.spares_enough = property(lambda self: self.site_spares_enough)  # type: ignore[assignment]


@dataclass(frozen=True)
class FamilyRate:
    """Stochastic incidents of one family: expected count per exam session and site."""

    family: str
    rate: float
    people: Dist
    scopes: tuple[tuple[str, float], ...]
    phase: str
    spares_enough_prob: float = 0.5
    time_recoverable_prob: float = 0.5
    window: str = (
        "session"  # session: per exam session and site; day: per exam day and site, any hour
    )


PROB_KEYS = {"grading_wrong_prob": 0.0, "grading_late_prob": 0.0}
#: Every key a ``timing`` mapping (or a timing file) may hold.
TIMING_FILE_KEYS = frozenset({*TIMING_KEYS, *PROB_KEYS, "max_call_rounds", "bodies", "call_order"})


@dataclass(frozen=True)
class Timing:
    durations: Frozen  # timing key -> Dist (read-only)
    grading_wrong_prob: float = 0.0
    grading_late_prob: float = 0.0
    max_call_rounds: int = 3
    call_order: str = "on_duty_first"  # or "written": ring a chain as written, whatever the hour
    body_receive: Frozen = field(default_factory=lambda: Frozen({}))  # body -> Dist

    def __getitem__(self, key: str) -> Dist:
        return self.durations[key]

    def receive_delay(self, body: str) -> Dist:
        """How long an outside body takes to pick up a report (its own delay, else the default)."""
        return self.body_receive.get(body) or self.durations["body_receive_minutes"]


@dataclass(frozen=True)
class Scenario:
    name: str
    name_zh: str
    name_en: str
    kind: str  # "drill" or "season"
    plan: Plan
    sites: tuple[Site, ...]
    sessions: tuple[Session, ...]
    days: int
    first_day: str
    roster: Roster
    incidents: tuple[Incident, ...]
    rates: tuple[FamilyRate, ...]
    timing: Timing
    source: str = ""
    text: str = field(default="", repr=False)
    #: where its numbers come from, as written (``source:`` keys; see :mod:`sim.sources`)
    sources: Frozen = field(default_factory=lambda: Frozen({}), repr=False)

    def site(self, sid: str) -> Site:
        for s in self.sites:
            if s.id == sid:
                return s
        raise KeyError(sid)

    def in_exam_period(self, minute: float) -> bool:
        return 0 <= minute < self.days * DAY


def parse_time(value: Any) -> float | None:
    """Minutes from day 0 00:00 for ``"D1 09:40"`` or a finite number; None if not a time."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, int) and abs(value) > 10**15:
            return None
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        m = _TIME.match(value.strip())
        if m:
            d, h, mi = map(int, m.groups())
            if h < 24 and mi < 60:
                return float(d * DAY + h * 60 + mi)
    return None


def format_time(minute: float) -> str:
    """``D0 09:40`` for a simulated minute."""
    day, rest = divmod(int(round(minute)), DAY)
    return f"D{day} {rest // 60:02d}:{rest % 60:02d}"


def _clock(value: Any) -> int | None:
    if isinstance(value, str):
        m = _CLOCK.match(value.strip())
        if m:
            h, mi = map(int, m.groups())
            if h <= 24 and mi < 60 and h * 60 + mi <= DAY:
                return h * 60 + mi
    return None


def _dist(
    r: Reader,
    node: Any,
    key: str,
    prefix: str,
    default: float | None = None,
    *,
    max_value: float = MAX_DURATION_MIN,
    bound: str | Msg = DURATION_BOUND,
) -> Dist | None:
    """A duration (or, with ``max_value``, another quantity) at ``node[key]``: finite, ≥ 0 and
    at most ``max_value`` in every parameter."""
    fld = f"{prefix}.{key}" if prefix else key
    if key not in node:
        return Dist.fixed(default) if default is not None else None
    value = node[key]
    if isinstance(value, int | float) and not isinstance(value, bool):
        fixed = r.take(
            node, key, prefix, float, None, min_value=0, max_value=max_value, bound=bound
        )
        return None if fixed is None else Dist.fixed(fixed)
    if not isinstance(value, dict):
        hint = number_hint(value)
        r.add(node, key, fld, "dist_expected", hint=hint)
        return None
    kind = value.get("dist")
    if not isinstance(kind, str) or kind not in DISTS:
        r.add(
            value,
            "dist" if "dist" in value else None,
            f"{fld}.dist",
            "expected_one_of",
            allowed=", ".join(DISTS),
        )
        return None
    names = DISTS[kind]
    r.unknown(value, {"dist", "source", *names}, fld)
    if "source" in value:  # where the number comes from (see sim.sources)
        src = r.take(value, "source", fld, str, None)
        if src is not None and not 0 < len(src.strip()) <= MAX_SOURCE_CHARS:
            r.add(value, "source", f"{fld}.source", "source_length", max=MAX_SOURCE_CHARS)
        elif src is not None:
            r.sources[fld] = src.strip()
    params = []
    for name in names:
        v = r.take(value, name, fld, float, min_value=0, max_value=max_value, bound=bound)
        if v is None:
            return None
        params.append(v)
    if kind == "triangular" and not params[0] <= params[1] <= params[2]:
        r.add(value, None, fld, "triangular_order")
        return None
    if kind == "uniform" and params[0] > params[1]:
        r.add(value, None, fld, "uniform_order")
        return None
    if kind == "lognormal" and params[0] <= 0:
        r.add(value, "mean", f"{fld}.mean", "lognormal_mean")
        return None
    if kind == "lognormal" and params[1] > LOGNORMAL_MAX_CV * params[0]:
        r.add(
            value,
            "sd",
            f"{fld}.sd",
            "lognormal_sd",
            sd=f"{params[1]:g}",
            cv=LOGNORMAL_MAX_CV,
            limit=f"{LOGNORMAL_MAX_CV * params[0]:g}",
        )
        return None
    return Dist(kind, tuple(params))


def _reach(r: Reader, node: Any, prefix: str, required: bool) -> dict[str, Reach]:
    out = {}
    node = r.mapping(node, prefix)
    r.unknown(node, set(STATES), prefix)
    for state in STATES:
        if state not in node:
            if required:
                r.add(node, None, f"{prefix}.{state}", "required")
            continue
        item = r.mapping(node[state], f"{prefix}.{state}", node, state)
        r.unknown(item, {"answer_prob", "answer_minutes"}, f"{prefix}.{state}")
        prob = r.take(item, "answer_prob", f"{prefix}.{state}", float, min_value=0, max_value=1)
        delay = _dist(r, item, "answer_minutes", f"{prefix}.{state}", 0.5)
        if prob is not None and delay is not None:
            out[state] = Reach(prob, delay)
    return out


def _roster(r: Reader, node: Any, prefix: str, site_ids: set[str] | None) -> Roster:
    node = r.mapping(node, prefix)
    r.unknown(node, {"reachability", "people", "call_chains"}, prefix)
    default_reach = _reach(r, node.get("reachability", LineDict()), f"{prefix}.reachability", True)
    people: list[Person] = []
    seen: set[str] = set()
    plist = r.sequence(node.get("people"), f"{prefix}.people", node, "people")
    for i, item in enumerate(plist):
        pre = f"{prefix}.people[{i}]"
        item = r.mapping(item, pre, plist, i)
        r.unknown(
            item,
            {*PERSON_KEYS, "contact_change"},
            pre,
        )
        pid = r.take(item, "id", pre, str)
        if "roles" in item:
            # one person may hold several roles (the office director is also the emergency
            # contact and a deputy leader in the published plan); their workload is shared
            roles = r.take(item, "roles", pre, list, []) or []
            for j, x in enumerate(roles):
                if not isinstance(x, str) or x not in ROLE_IDS:
                    r.add(
                        item,
                        "roles",
                        f"{pre}.roles[{j}]",
                        "not_one_of",
                        value=repr(x),
                        allowed=", ".join(ROLE_IDS),
                    )
            if "role" in item:
                roles.insert(0, r.take(item, "role", pre, str, choices=ROLE_IDS))
            roles = [
                x for x in dict.fromkeys(x for x in roles if isinstance(x, str)) if x in ROLE_IDS
            ]
            if not roles:
                r.add(item, "roles", f"{pre}.roles", "person_no_role")
            role = roles[0] if roles else None
        else:
            role = r.take(item, "role", pre, str, choices=ROLE_IDS)
            roles = [role] if role else []
        if pid in seen:
            r.add(item, "id", f"{pre}.id", "duplicate_person", id=repr(pid))
        seen.add(pid)
        site = r.take(item, "site", pre, str, None)
        if site is not None and site_ids is not None and site not in site_ids:
            r.add(item, "site", f"{pre}.site", "unknown_site", site=repr(site))
        shifts = []
        for j, sh in enumerate(r.sequence(item.get("duty", []), f"{pre}.duty", item, "duty")):
            spre = f"{pre}.duty[{j}]"
            sh = r.mapping(sh, spre, item.get("duty"), j)
            r.unknown(sh, {"days", "from", "to", "state"}, spre)
            days_t = duty_days(r, sh, spre)
            start, end = _clock(sh.get("from")), _clock(sh.get("to"))
            if start is None:
                r.add(sh, "from", f"{spre}.from", "clock_expected")
            if end is None:
                r.add(sh, "to", f"{spre}.to", "clock_expected")
            state = r.take(sh, "state", spre, str, choices=STATES)
            if start is not None and end is not None and state:
                if end <= start:
                    end += DAY  # a night shift runs past midnight
                shifts.append(Shift(days_t, start, end, state))
        change = item.get("contact_change")
        notified = effective = None
        if change is not None:
            change = r.mapping(change, f"{pre}.contact_change", item, "contact_change")
            r.unknown(change, {"notified", "effective"}, f"{pre}.contact_change")
            notified = parse_time(change.get("notified"))
            effective = parse_time(change.get("effective"))
            for k, v in (("notified", notified), ("effective", effective)):
                if v is None:
                    r.add(change, k, f"{pre}.contact_change.{k}", "time_expected_before")
                elif abs(v) > TIME_SPAN_DAYS * DAY:
                    r.add(
                        change,
                        k,
                        f"{pre}.contact_change.{k}",
                        "time_span",
                        time=format_time(v),
                        days=TIME_SPAN_DAYS,
                    )
        people.append(
            Person(
                id=pid or f"#{i}",
                role=role or "expert",
                name_zh=r.take(item, "name_zh", pre, str, ""),
                name_en=r.take(item, "name_en", pre, str, ""),
                phone=r.take(item, "phone", pre, str, ""),
                site=site,
                default_state=r.take(item, "default_state", pre, str, "off_duty", choices=STATES),
                shifts=tuple(shifts),
                reach=tuple(
                    sorted(_reach(r, item.get("reach", LineDict()), f"{pre}.reach", False).items())
                ),
                contact_notified_day=notified,
                contact_effective_day=effective,
                roles=tuple(roles) or ((role or "expert"),),
            )
        )
    chains: dict[str, tuple[str, ...]] = {}
    cnode = r.mapping(
        node.get("call_chains", LineDict()), f"{prefix}.call_chains", node, "call_chains"
    )
    for role, entries in cnode.items():
        cpre = f"{prefix}.call_chains.{role}"
        if role not in ROLE_IDS:
            r.add(cnode, role, cpre, "unknown_role_known", known=", ".join(ROLE_IDS))
            continue
        entries = r.sequence(entries, cpre, cnode, role)
        for j, e in enumerate(entries):
            if not isinstance(e, str):
                r.add(entries, j, f"{cpre}[{j}]", "chain_entry")
            elif e.startswith("role:"):
                if e[5:] not in ROLE_IDS:
                    r.add(entries, j, f"{cpre}[{j}]", "unknown_role", role=repr(e[5:]))
            elif e not in seen:
                r.add(entries, j, f"{cpre}[{j}]", "unknown_person", person=repr(e))
        chains[role] = tuple(e for e in entries if isinstance(e, str))
    # a chain that only points to roles, round in a circle, never reaches anyone
    for role in chains:
        path = _role_loop(role, chains)
        if path:
            r.add(cnode, role, f"{prefix}.call_chains.{role}", "chain_loop", path=" → ".join(path))
    return Roster(
        tuple(people), tuple(sorted(default_reach.items())), tuple(sorted(chains.items()))
    )


def duty_days(r: Reader, shift: Any, pre: str) -> tuple[int, ...] | None:
    """A shift's ``days``: ``all`` (None) or day numbers from -1 (a night shift running into
    day 0) to :data:`MAX_DAYS`."""
    days = shift.get("days", "all")
    if days == "all":
        return None
    if (
        isinstance(days, list)
        and days
        and all(isinstance(d, int) and not isinstance(d, bool) for d in days)
    ):
        if all(-1 <= d <= MAX_DAYS for d in days):
            return tuple(days)
        r.add(shift, "days", f"{pre}.days", "days_range", max=MAX_DAYS)
        return None
    r.add(shift, "days", f"{pre}.days", "days_expected")
    return None


def _role_loop(start: str, chains: dict[str, tuple[str, ...]]) -> list[str] | None:
    """A loop of role: references starting from ``start``, or None."""

    def walk(role: str, path: list[str]) -> list[str] | None:
        for e in chains.get(role, ()):
            if e.startswith("role:"):
                nxt = e[5:]
                if nxt == start:
                    return path + [nxt]
                if nxt not in path:
                    found = walk(nxt, path + [nxt])
                    if found:
                        return found
        return None

    return walk(start, [start])


def _stochastic_phase(plan: Plan, family: str) -> str:
    """A stochastic entry's stage when it names none: during_exam, or the family's own stage."""
    allowed, _ = plan.grading[family].allowed_phases(plan.setting("error_kind_default"))
    return "during_exam" if "during_exam" in allowed else allowed[0]


def parse_scenario(data: Any, file: str, *, plan: Plan | None = None, text: str = "") -> Scenario:
    """Check a scenario read from YAML and build a :class:`Scenario` (InputError lists problems)."""
    base = Path(file).parent
    r = Reader(file)
    top = r.mapping(data, "(scenario)")
    r.unknown(
        top,
        {
            "name",
            "name_zh",
            "name_en",
            "kind",
            "plan",
            "roster",
            "calendar",
            "incidents",
            "stochastic",
            "timing",
            "sources",
        },
        "",
    )
    name = r.take(top, "name", "", str, Path(file).stem)
    kind = r.take(top, "kind", "", str, "drill", choices=("drill", "season"))

    if plan is None:
        plan_ref = r.take(top, "plan", "", str, None)
        try:
            plan = load_plan(base / plan_ref if plan_ref else None)
        except InputError as exc:
            r.problems.extend(exc.problems)
            plan = load_plan()

    cal = r.mapping(top.get("calendar"), "calendar", top, "calendar")
    r.unknown(cal, {"first_day", "days", "sites", "sessions"}, "calendar")
    days = r.take(cal, "days", "calendar", int, 1, min_value=1, max_value=MAX_DAYS) or 1
    first_day = str(r.take(cal, "first_day", "calendar", (str, date), ""))
    sites = []
    site_ids: set[str] = set()
    slist = r.sequence(cal.get("sites"), "calendar.sites", cal, "sites")
    if not slist and "sites" in cal:
        r.add(cal, "sites", "calendar.sites", "need_site")
    for i, item in enumerate(slist):
        pre = f"calendar.sites[{i}]"
        item = r.mapping(item, pre, slist, i)
        r.unknown(item, {"id", "name_zh", "name_en", "rooms", "candidates", "travel_minutes"}, pre)
        sid = r.take(item, "id", pre, str)
        if sid in site_ids:
            r.add(item, "id", f"{pre}.id", "duplicate_site", id=repr(sid))
        site_ids.add(sid)
        sites.append(
            Site(
                id=sid or f"#{i}",
                name_zh=r.take(item, "name_zh", pre, str, sid or ""),
                name_en=r.take(item, "name_en", pre, str, sid or ""),
                rooms=r.take(item, "rooms", pre, int, 1, min_value=1, max_value=MAX_ROOMS) or 1,
                candidates=r.take(
                    item, "candidates", pre, int, 30, min_value=0, max_value=PEOPLE_MAX
                )
                or 0,
                travel_minutes=_dist(r, item, "travel_minutes", pre, 60) or Dist.fixed(60),
            )
        )
    sessions = []
    for i, item in enumerate(
        r.sequence(cal.get("sessions", []), "calendar.sessions", cal, "sessions")
    ):
        pre = f"calendar.sessions[{i}]"
        item = r.mapping(item, pre, cal.get("sessions"), i)
        r.unknown(item, {"day", "start", "end", "subject_zh", "subject_en"}, pre)
        day = r.take(item, "day", pre, int, min_value=0, max_value=days - 1)
        start, end = _clock(item.get("start")), _clock(item.get("end"))
        if start is None:
            r.add(item, "start", f"{pre}.start", "clock_expected")
        if end is None:
            r.add(item, "end", f"{pre}.end", "clock_expected")
        if start is not None and end is not None and end <= start:
            r.add(item, "end", f"{pre}.end", "session_order")
        elif day is not None and start is not None and end is not None:
            sessions.append(
                Session(
                    day,
                    start,
                    end,
                    r.take(item, "subject_zh", pre, str, ""),
                    r.take(item, "subject_en", pre, str, ""),
                )
            )

    roster_node = top.get("roster")
    roster_file = file
    if isinstance(roster_node, str):
        rpath = base / roster_node
        try:
            roster_node = load_file(rpath)
            roster_file = str(rpath)
        except InputError as exc:
            r.problems.extend(exc.problems)
            roster_node = LineDict()
            roster_node.line = 1
            roster_node.key_lines = {}
    elif roster_node is None:
        r.add(top, None, "roster", "required")
        roster_node = LineDict()
    rr = Reader(roster_file) if roster_file != file else r
    if isinstance(roster_node, dict) and "roster" in roster_node and roster_file != file:
        rr.unknown(roster_node, {"roster", "sources"}, "")
        _sources_block(rr, roster_node)
        roster_node = roster_node["roster"]
    roster = _roster(rr, roster_node, "roster", site_ids)
    if rr is not r:
        r.problems.extend(rr.problems)
    present = {x for p in roster.people for x in p.roles}
    site_roles = set(plan.setting("site_roles")) if "site_roles" in plan.settings else set()
    for role in ROLE_IDS:
        if role not in present and role != "chief_examiner" and role not in site_roles:
            r.add(top, "roster", f"roster.{role}", "role_empty")
    for s in site_ids:
        if (
            not any("chief_examiner" in p.roles and p.site == s for p in roster.people)
            and "chief_examiner" not in present
        ):
            r.add(top, "roster", "roster.chief_examiner", "no_chief", site=repr(s))

    incidents = []
    ids: set[str] = set()
    ilist = r.sequence(top.get("incidents", []), "incidents", top, "incidents")
    for i, item in enumerate(ilist):
        pre = f"incidents[{i}]"
        item = r.mapping(item, pre, ilist, i)
        r.unknown(
            item,
            {
                "id",
                "at",
                "site",
                "family",
                *INCIDENT_FIELDS,
                "spares_enough",
                "discovered_after_minutes",
                "text_zh",
                "text_en",
            },
            pre,
        )
        iid = r.take(item, "id", pre, str, f"inc{i + 1}")
        if iid in ids:
            r.add(item, "id", f"{pre}.id", "duplicate_incident", id=repr(iid))
        ids.add(iid)
        at = parse_time(item.get("at"))
        if at is None:
            r.add(
                item,
                "at" if "at" in item else None,
                f"{pre}.at",
                "time_expected",
            )
        elif not 0 <= at < days * DAY:
            r.add(
                item,
                "at",
                f"{pre}.at",
                "outside_calendar",
                time=format_time(at),
                last=format_time(days * DAY - 1),
                days=days,
            )
            at = None
        site = r.take(item, "site", pre, str)
        if site is not None and site not in site_ids:
            r.add(item, "site", f"{pre}.site", "unknown_site", site=repr(site))
        family = r.take(item, "family", pre, str, choices=FAMILIES)
        site_spares = r.take(item, "site_spares_enough", pre, bool, None)
        old_spares = r.take(item, "spares_enough", pre, bool, None)  # the old name, still read
        if None not in (site_spares, old_spares) and site_spares != old_spares:
            r.add(
                item,
                "spares_enough",
                f"{pre}.spares_enough",
                "old_name_clash",
                new="site_spares_enough",
            )
        inc = Incident(
            id=iid,
            at=at or 0.0,
            site=site or "",
            family=family or "leak",
            people=r.take(item, "people", pre, int, None, min_value=0, max_value=PEOPLE_MAX),
            scope=r.take(item, "scope", pre, str, None, choices=SCOPES),
            phase=r.take(item, "phase", pre, str, None, choices=PHASES),
            error_kind=r.take(item, "error_kind", pre, str, None, choices=ERROR_KINDS),
            site_spares_enough=site_spares if site_spares is not None else old_spares,
            local_spares_enough=r.take(item, "local_spares_enough", pre, bool, None),
            time_recoverable=r.take(item, "time_recoverable", pre, bool, None),
            discovered_after=r.take(
                item,
                "discovered_after_minutes",
                pre,
                float,
                None,
                min_value=0,
                max_value=MAX_DURATION_MIN,
                bound=DURATION_BOUND,
            ),
            text_zh=r.take(item, "text_zh", pre, str, ""),
            text_en=r.take(item, "text_en", pre, str, ""),
        )
        if family:
            reported = {p.field for p in r.problems}
            for fld, words in incident_problems(inc.facts(), plan):
                if (
                    f"{pre}.{fld}" not in reported
                ):  # a bad value is reported once, not also as missing
                    r.add(item, fld if fld in item else None, f"{pre}.{fld}", words)
        incidents.append(inc)

    rates = []
    stoch = r.mapping(top.get("stochastic", LineDict()), "stochastic", top, "stochastic")
    r.unknown(stoch, set(FAMILIES), "stochastic")
    for fam, item in stoch.items():
        if fam not in FAMILIES:
            continue
        pre = f"stochastic.{fam}"
        item = r.mapping(item, pre, stoch, fam)
        r.unknown(
            item,
            {
                "rate",
                "people",
                "scopes",
                "phase",
                "spares_enough_prob",
                "time_recoverable_prob",
                "window",
            },
            pre,
        )
        scopes_node = r.mapping(item.get("scopes", {"room": 1.0}), f"{pre}.scopes", item, "scopes")
        scopes = []
        for sc, w in scopes_node.items():
            if sc not in SCOPES:
                r.add(scopes_node, sc, f"{pre}.scopes.{sc}", "not_in", allowed=", ".join(SCOPES))
            elif (
                isinstance(w, bool)
                or not isinstance(w, int | float)
                or not 0 <= w <= MAX_WEIGHT  # NaN fails this too
            ):
                r.add(
                    scopes_node,
                    sc,
                    f"{pre}.scopes.{sc}",
                    "weight_range",
                    max=f"{MAX_WEIGHT:,}",
                )
            else:
                scopes.append((sc, float(w)))
        if scopes and sum(w for _, w in scopes) <= 0:
            r.add(item, "scopes", f"{pre}.scopes", "weights_zero")
        rates.append(
            FamilyRate(
                family=fam,
                rate=r.take(item, "rate", pre, float, min_value=0, max_value=50) or 0.0,
                people=_dist(r, item, "people", pre, 30, max_value=PEOPLE_MAX, bound="PEOPLE_MAX")
                or Dist.fixed(30),
                scopes=tuple(scopes) or (("room", 1.0),),
                phase=r.take(item, "phase", pre, str, _stochastic_phase(plan, fam), choices=PHASES),
                spares_enough_prob=r.take(
                    item, "spares_enough_prob", pre, float, 0.5, min_value=0, max_value=1
                ),
                time_recoverable_prob=r.take(
                    item, "time_recoverable_prob", pre, float, 0.5, min_value=0, max_value=1
                ),
                window=r.take(item, "window", pre, str, "session", choices=("session", "day")),
            )
        )
        fr = rates[-1]  # a drawn incident must be one the plan can grade (its stage above all)
        drawn = {"family": fam, "people": 1, "scope": fr.scopes[0][0], "phase": fr.phase}
        drawn |= {"site_spares_enough": True, "time_recoverable": True}
        for fld, words in incident_problems(drawn, plan):
            r.add(item, fld if fld in item else None, f"{pre}.{fld}", words)
    if not incidents and not any(fr.rate > 0 for fr in rates):
        r.add(
            top,
            None,
            "incidents",
            "need_incidents",
        )
    if any(fr.window == "session" for fr in rates) and not sessions:
        r.add(cal, None, "calendar.sessions", "need_sessions")

    tnode = r.mapping(_timing_node(r, top, base), "timing", top, "timing")
    r.unknown(tnode, set(TIMING_FILE_KEYS), "timing")
    bnode = r.mapping(tnode.get("bodies", LineDict()), "timing.bodies", tnode, "bodies")
    body_receive = {}
    for body in bnode:
        if body not in BODY_IDS:
            r.add(
                bnode,
                body,
                f"timing.bodies.{body}",
                "unknown_body_known",
                known=", ".join(BODY_IDS),
            )
            continue
        dist = _dist(r, bnode, body, "timing.bodies")
        if dist is not None:
            body_receive[body] = dist
    durations = []
    for key, default in TIMING_KEYS.items():
        durations.append((key, _dist(r, tnode, key, "timing", default) or Dist.fixed(default)))
    timing = Timing(
        durations=Frozen(durations),
        grading_wrong_prob=r.take(
            tnode, "grading_wrong_prob", "timing", float, 0.0, min_value=0, max_value=1
        ),
        grading_late_prob=r.take(
            tnode, "grading_late_prob", "timing", float, 0.0, min_value=0, max_value=1
        ),
        max_call_rounds=r.take(
            tnode, "max_call_rounds", "timing", int, 3, min_value=1, max_value=20
        ),
        body_receive=Frozen(body_receive),
        call_order=r.take(
            tnode,
            "call_order",
            "timing",
            str,
            "on_duty_first",
            choices=("on_duty_first", "written"),
        ),
    )
    _sources_block(r, top)
    if rr is not r:
        r.sources = {**rr.sources, **r.sources}
    r.raise_if_any()
    return Scenario(
        name=name,
        name_zh=r.take(top, "name_zh", "", str, name),
        name_en=r.take(top, "name_en", "", str, name),
        kind=kind,
        plan=plan,
        sites=tuple(sites),
        sessions=tuple(sessions),
        days=days,
        first_day=first_day,
        roster=roster,
        incidents=tuple(sorted(incidents, key=lambda x: (x.at, x.id))),
        rates=tuple(rates),
        timing=timing,
        source=file,
        text=text,
        sources=Frozen(sorted(r.sources.items())),
    )


def check_timing(r: Reader, data: Any) -> LineDict:
    """A timing file's mapping (``drillsim calibrate`` writes one), its durations checked."""
    node = r.mapping(data, "timing")
    r.unknown(node, set(TIMING_FILE_KEYS), "timing")
    for key in TIMING_KEYS:
        _dist(r, node, key, "timing")
    for key in PROB_KEYS:
        r.take(node, key, "timing", float, None, min_value=0, max_value=1)
    return node


def _timing_node(r: Reader, top: Any, base: Path) -> Any:
    """The scenario's ``timing``: inline, a file (``timing: calibrated.yaml``, e.g. from
    ``drillsim calibrate``), or both (``timing: {include: calibrated.yaml, …}``: the file's keys
    replace the inline ones). The file is checked on its own, so its problems name its lines."""
    node = top.get("timing", LineDict())
    ref = node if isinstance(node, str) else node.get("include") if isinstance(node, dict) else None
    if ref is None:
        return node
    if not isinstance(ref, str):
        r.add(node, "include", "timing.include", "expected_file_name")
        return LineDict()
    path = base / ref
    try:
        included = load_file(path)
    except InputError as exc:
        r.problems.extend(exc.problems)
        return LineDict()
    ir = Reader(str(path))
    inc = check_timing(ir, included)
    if ir.problems:
        r.problems.extend(ir.problems)
        return LineDict()
    merged = (
        LineDict({k: v for k, v in node.items() if k != "include"})
        if isinstance(node, dict)
        else LineDict()
    )
    merged.line = line_of(top, "timing")
    merged.key_lines = {
        **getattr(node, "key_lines", {}),
        **{k: line_of(top, "timing") for k in inc},
    }
    merged.update(inc)
    return merged


#: The longest ``source:`` text: a sentence or two (which drills, or the assumption's reason).
MAX_SOURCE_CHARS = 500


def _sources_block(r: Reader, top: Any) -> None:
    """A file's ``sources:`` block: number path -> where it comes from (paths checked against the
    scenario's numbers by :func:`sim.sources.unknown_paths`)."""
    if not isinstance(top, dict) or "sources" not in top:
        return
    node = r.mapping(top["sources"], "sources", top, "sources")
    for path, text in node.items():
        if not isinstance(path, str) or not isinstance(text, str):
            r.add(node, path, f"sources.{path}", "source_text")
        elif not 0 < len(text.strip()) <= MAX_SOURCE_CHARS:
            r.add(node, path, f"sources.{path}", "source_length", max=MAX_SOURCE_CHARS)
        else:
            r.sources.setdefault(path, text.strip())  # a source beside the number wins


def load_roster(path: str | Path) -> Roster:
    """Read a roster file on its own (``validate`` of a roster; sites are checked with a scenario)."""
    data = load_file(path)
    r = Reader(str(path))
    node = data
    if isinstance(data, dict) and "roster" in data:
        r.unknown(data, {"roster", "sources"}, "")
        _sources_block(r, data)
        node = data["roster"]
    roster = _roster(r, node, "roster", None)
    r.raise_if_any()
    return roster


def load_scenario(path: str | Path, plan: str | Path | Plan | None = None) -> Scenario:
    """Read a scenario file; ``plan`` (a path or Plan) replaces the plan the file names."""
    path = Path(path)
    text = read_text(path)
    data = load_text(text, str(path))
    plan_obj = load_plan(plan) if isinstance(plan, str | Path) else plan
    return parse_scenario(data, str(path), plan=plan_obj, text=text)


def roster_warnings(s: Scenario) -> list[Problem]:
    """Duty problems the plan forbids but a run can still show: checked by ``validate``.

    - a role whose duty calendar leaves a gap during an exam period (24-hour duty for the desk;
      contacts reachable at all times),
    - a contact change that takes effect less than a week after it was notified.
    """
    out = []
    notice = s.plan.setting("contact_change_notice_days") * DAY
    for role in ("duty_desk", "general_contact", "emergency_contact"):
        people = [p for p in s.roster.people if role in p.roles]
        wanted = ("on_duty",) if role == "duty_desk" else ("on_duty", "on_call")
        gaps = _gaps(people, wanted, s.days)
        if gaps:
            first = format_time(gaps[0][0])
            total = sum(b - a for a, b in gaps)
            out.append(
                Problem(
                    s.source,
                    1,
                    f"roster.{role}",
                    msg("warn_duty_gap", states=AnyOf(wanted), minutes=f"{total:.0f}", first=first),
                )
            )
    for p in s.roster.people:
        known = p.contact_notified_day is not None and p.contact_effective_day is not None
        if known and p.contact_effective_day - p.contact_notified_day < notice:
            out.append(
                Problem(s.source, 1, f"roster.people.{p.id}.contact_change", "warn_contact_notice")
            )
    return out


def _gaps(people: list[Person], wanted: tuple[str, ...], days: int) -> list[tuple[float, float]]:
    """Intervals of the exam period in which none of ``people`` is in a wanted state."""
    edges = {0.0, float(days * DAY)}
    for p in people:
        for sh in p.shifts:
            for d in range(-1, days + 1):
                if sh.days is None or d in sh.days:
                    edges.update({d * DAY + sh.start_min, d * DAY + sh.end_min})
    pts = sorted(e for e in edges if 0 <= e <= days * DAY)
    gaps: list[tuple[float, float]] = []
    for a, b in zip(pts, pts[1:], strict=False):
        mid = (a + b) / 2
        if not any(p.state_at(mid) in wanted for p in people):
            if gaps and gaps[-1][1] == a:
                gaps[-1] = (gaps[-1][0], b)
            else:
                gaps.append((a, b))
    return gaps


_DERIVED: dict[int, tuple[Any, dict]] = {}


def derived(obj: Any) -> dict:
    """A cache of values derived from an immutable object (a roster), kept beside it, not on it.

    Keyed by identity and holding a reference to the object, so an id is never reused while
    cached; bounded so planners creating many variants do not grow it without end.
    """
    hit = _DERIVED.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    if len(_DERIVED) > 256:
        _DERIVED.clear()
    cache: dict = {}
    _DERIVED[id(obj)] = (obj, cache)
    return cache


def uncovered_minutes(s: Scenario, role: str, start: float, end: float) -> float:
    """Minutes within [start, end) of the exam period when no one of ``role`` is on duty."""
    lo, hi = max(0.0, start), min(end, s.days * DAY)
    if hi <= lo:
        return 0.0
    cache = derived(s.roster)
    key = ("gaps", role, s.days)
    if key not in cache:
        cache[key] = _gaps([p for p in s.roster.people if role in p.roles], ("on_duty",), s.days)
    return sum(max(0.0, min(b, hi) - max(a, lo)) for a, b in cache[key])


__all__ = ["Scenario", "load_scenario", "parse_scenario", "parse_time", "format_time", "line_of"]
