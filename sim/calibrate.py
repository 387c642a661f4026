"""Calibration from drills: step durations measured from the stored team drills' decisions.

Every duration in a scenario's ``timing:`` is an assumption until it is measured. The yearly
drills measure some of them: a trainer records a step of the procedure (:mod:`sim.procedure`)
when the real team has done it, so the time between the step becoming due and its decision is
how long that team took.

**One observation.** Each stored TEAM drill is replayed with the drill engine
(:meth:`sim.drill.Drill.replay`: same snapshot, seed and decisions, hence the same state). For
the first decision of each step per incident, the observation for the step's ``duration`` key is

    the decision's simulated minute − the minute the step became due
    − the minutes in between the engine spent carrying out the team's other decisions,

where the step became due at the latest of its ``after`` milestones (and of the grade, when the
step applies to some grades only) and the first of its ``after_any`` milestones, as the replayed
model reached them (``step`` done, ``step>target`` delivered, ``first_report`` the step the
plan's setting names), never before the incident's discovery, the first milestone. The
decision's minute is the replay's clock when the decision was taken (what the app stores as the
action's ``sim_minute``). The last term matters: a drill takes one decision at a time and the
engine runs each step for the model's own drawn duration (a written report: 45 minutes), so the
clock moves both by the team's own ``advance`` decisions — the team at work, what is measured —
and by the model's draws for the other steps, which are not measurements (the same reason the
automatic drills are left out). A decision whose delay is negative (taken before the step was
due) or missing (a prerequisite never reached) is left out, as are later decisions of the same
step for the same incident (they repeat a step already done, e.g. a second call) and repeating
steps (续报: the wait before one is the plan's interval, not the step's work).

**Not observations.** Automatic reference drills (``kind="auto"``) are left out: their times
are the model's own draws, so fitting them would be circular. Answer rates are not fitted:
whether a called person answers is drawn by the model on replay; a stored decision holds what
the team chose, not what the phone did, so no answer was recorded (0 observations).

**Shrinkage.** A key with ``n`` observations of mean ``x̄`` is moved from its default (the
distribution of the scenario the file is meant for — ``calibrate --scenario``, the season by
default — of mean ``μ0``) to the posterior mean ``m = (K0·μ0 + n·x̄)/(K0 + n)``:
the default counts as :data:`K0` pseudo-observations, so a few drills move it a little and many
drills move it to what they measured. The written distribution is the default's own kind with
every parameter scaled by ``m/μ0`` (each supported kind scales in its parameters), so its shape
— and the one-uniform-per-draw common random numbers — are kept (a default of mean 0 has
nothing to scale: it becomes the fixed value ``m``; no parameter goes beyond the scenario's
one-week bound, and an observation longer than a week is left out). Keys with no observation
are not written: their defaults stand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from sim.drill import Drill, DrillError, scenario_from_text
from sim.plan import Plan
from sim.procedure import FIRST_REPORT, Step
from sim.scenario import DISTS, MAX_DURATION_MIN, Dist, Scenario
from sim.store import StoreError
from sim.yamlio import InputError

#: Weight of the default, in pseudo-observations (the ``K0`` of the shrinkage above).
K0 = 5
#: The most drills read and replayed in one calibration (the newest matching ones).
MAX_DRILLS = 500
#: A drill with more stored decisions than this is skipped (a replay must stay bounded).
MAX_DECISIONS = 5_000
#: Digits kept in a written parameter (output stays readable and byte-identical).
DIGITS = 3

DEFINITION = (
    "one observation = a team decision's simulated minute minus when its step became due in "
    "the replayed drill (the latest of its `after` milestones and the first of its `after_any` "
    "milestones; the incident's discovery at the earliest), minus the minutes in between the "
    "engine spent carrying out the team's other decisions (model draws, not the team's time); "
    "first decision of each step per incident; negative or missing delays and repeating steps "
    "left out"
)
SHRINKAGE = (
    f"posterior mean m = (k0*mu0 + n*mean)/(k0 + n) with k0 = {K0} pseudo-observations at the "
    "default's mean mu0; the default distribution scaled by m/mu0 (same kind and shape)"
)
AUTO_NOTE = (
    "automatic reference drills are left out: their times are the model's own draws, "
    "so fitting them would be circular"
)
ANSWER_NOTE = (
    "answer rates: 0 observations; whether a call is answered is drawn by the model on replay, "
    "stored decisions record no real outcome, so the defaults stand"
)


@dataclass(frozen=True)
class Observation:
    """One measured step: how long after it became due the team took it (minutes)."""

    drill_id: int
    year: int
    site: str
    incident: str
    step: str
    key: str  # the step's timing key
    due: float  # when the step became due (simulated minute)
    at: float  # when the team took it
    engine: float = 0.0  # minutes of [due, at] the engine spent on the team's other decisions

    @property
    def minutes(self) -> float:
        return self.at - self.due - self.engine


@dataclass(frozen=True)
class Fit:
    """A timing key's calibration: its observations, the default and the calibrated distribution."""

    key: str
    observations: tuple[Observation, ...]
    default: Dist
    calibrated: Dist  # keys without observations have no Fit: their defaults stand

    @property
    def n(self) -> int:
        return len(self.observations)

    @property
    def observed_mean(self) -> float | None:
        if not self.observations:
            return None
        return math.fsum(o.minutes for o in self.observations) / self.n

    @property
    def drill_ids(self) -> tuple[int, ...]:
        return tuple(sorted({o.drill_id for o in self.observations}))


@dataclass
class Calibration:
    """What one calibration read, measured and fitted (see the module docstring)."""

    fits: dict[str, Fit]
    drills: list[int] = field(default_factory=list)  # team drills replayed
    auto_excluded: int = 0
    capped: int = 0  # matching team drills beyond MAX_DRILLS, not read
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (drill id, why)
    ignored: dict[str, int] = field(default_factory=dict)  # why -> decisions left out
    answer_observations: int = 0
    site: str | None = None
    years: tuple[int, int] | None = None

    @property
    def observations(self) -> int:
        return sum(f.n for f in self.fits.values())


# -- what a drill measures ------------------------------------------------------------------------


def milestone_key(plan: Plan, ref: str) -> tuple[str, ...]:
    """An ``after`` reference as a milestone key without the incident: ``(step,)`` done,
    ``(step, target)`` delivered; ``first_report`` is the step the plan's setting names (the
    same reading as the automatic policy's)."""
    base, _, target = ref.partition(">")
    if base == FIRST_REPORT:
        base = plan.first_report_step
    return (base, target) if target else (base,)


def due_at(drill: Drill, incident: str, step: Step) -> float | None:
    """When ``step`` became due for ``incident`` in the replayed drill, or None if one of its
    prerequisites was never reached."""
    # the drill exposes no public view of its model's milestones; read-only use
    reached_at = drill._m.reached_at
    start = reached_at(incident, "discovered")
    if start is None:
        return None
    keys = [milestone_key(drill.plan, ref) for ref in step.after]
    if step.needs_grade:
        keys.append(("graded",))
    times = [start]
    for key in keys:
        t = reached_at(incident, *key)
        if t is None:
            return None
        times.append(t)
    if step.after_any:
        anys = [reached_at(incident, *milestone_key(drill.plan, r)) for r in step.after_any]
        got = [t for t in anys if t is not None]
        if not got:
            return None
        times.append(min(got))
    return max(times)


def drill_observations(
    drill: Drill, row: dict[str, Any], ignored: dict[str, int] | None = None
) -> list[Observation]:
    """The observations of one replayed team drill (``row``: its store row), in decision order;
    decisions left out are counted in ``ignored`` by reason."""
    ignored = {} if ignored is None else ignored
    # when the clock moved by the model's draws, not by the team's own advances
    engine = [(o.start, o.end) for o in drill.outcomes if o.kind != "advance" and o.end > o.start]
    out: list[Observation] = []
    seen: set[tuple[str, str]] = set()
    for decision, outcome in zip(drill.decisions, drill.outcomes, strict=True):
        sid = outcome.detail.get("step")
        incident = decision.get("incident")
        if not sid or not incident:
            continue  # advance, note: no step
        step = drill.plan.step(sid)
        if step.duration is None:
            continue
        if step.kind == "repeat":
            ignored["repeating step"] = ignored.get("repeating step", 0) + 1
            continue
        if (incident, sid) in seen:
            ignored["step already done"] = ignored.get("step already done", 0) + 1
            continue
        seen.add((incident, sid))
        due = due_at(drill, incident, step)
        if due is None:
            ignored["missing delay"] = ignored.get("missing delay", 0) + 1
            continue
        if outcome.start < due:
            ignored["negative delay"] = ignored.get("negative delay", 0) + 1
            continue
        if outcome.start - due > MAX_DURATION_MIN:
            ignored["longer than a week"] = ignored.get("longer than a week", 0) + 1
            continue
        out.append(
            Observation(
                drill_id=int(row["id"]),
                year=int(row["year"]),
                site=str(row["site"]),
                incident=str(incident),
                step=sid,
                key=step.duration,
                due=float(due),
                at=float(outcome.start),
                engine=math.fsum(max(0.0, min(b, outcome.start) - max(a, due)) for a, b in engine),
            )
        )
    return out


# -- fitting ----------------------------------------------------------------------------------


def shrunk_mean(default_mean: float, n: int, observed_mean: float, k0: float = K0) -> float:
    """The posterior mean: the default as ``k0`` pseudo-observations beside ``n`` observed."""
    return (k0 * default_mean + n * observed_mean) / (k0 + n)


def scaled(d: Dist, factor: float) -> Dist:
    """``d`` with every parameter times ``factor``: each supported kind (fixed, uniform,
    triangular, exponential, lognormal with mean and sd) scales its mean by ``factor`` and keeps
    its shape. (The same idea as the variants' scaled travel times.)"""
    return Dist(d.kind, tuple(p * factor for p in d.params))


def calibrated_dist(default: Dist, n: int, observed_mean: float, k0: float = K0) -> Dist:
    """The default moved to the shrunk mean (parameters rounded to :data:`DIGITS` places)."""
    m = shrunk_mean(default.mean, n, observed_mean, k0)
    if default.mean <= 0:
        # nothing to scale (a default of 0 minutes): the shrunk mean as a fixed value
        return Dist.fixed(round(m, DIGITS))
    factor = m / default.mean
    top = max(default.params)
    if top * factor > MAX_DURATION_MIN:  # a scenario accepts at most a week per parameter
        factor = MAX_DURATION_MIN / top
    d = scaled(default, factor)
    return Dist(d.kind, tuple(round(p, DIGITS) for p in d.params))


def fit(observations: Iterable[Observation], defaults: Scenario, k0: float = K0) -> dict[str, Fit]:
    """Per timing key of ``defaults`` with observations, its :class:`Fit` (sorted by key)."""
    by_key: dict[str, list[Observation]] = {}
    for o in observations:
        by_key.setdefault(o.key, []).append(o)
    out: dict[str, Fit] = {}
    for key in sorted(by_key):
        if key not in defaults.timing.durations:
            continue  # a key this version no longer has
        obs = tuple(sorted(by_key[key], key=lambda o: (o.drill_id, o.at, o.incident, o.step)))
        default = defaults.timing[key]
        mean = math.fsum(o.minutes for o in obs) / len(obs)
        out[key] = Fit(key, obs, default, calibrated_dist(default, len(obs), mean, k0))
    return out


# -- reading the store ------------------------------------------------------------------------


def matching_drills(
    rows: Iterable[dict[str, Any]], site: str | None, years: tuple[int, int] | None
) -> list[dict[str, Any]]:
    """Store rows held at ``site`` (if given) in ``years`` (inclusive, if given)."""
    out = []
    for row in rows:
        if site is not None and row.get("site") != site:
            continue
        if years is not None and not years[0] <= int(row["year"]) <= years[1]:
            continue
        out.append(row)
    return out


def calibrate(
    store,
    defaults: Scenario,
    *,
    site: str | None = None,
    years: tuple[int, int] | None = None,
    k0: float = K0,
    max_drills: int = MAX_DRILLS,
) -> Calibration:
    """Replay the matching team drills of ``store`` (a :class:`sim.store.DrillStore`) and fit
    the durations they measured, shrunk toward ``defaults``' timing.

    At most ``max_drills`` team drills are read (the newest); a drill that cannot be replayed
    (a damaged snapshot, a decision the engine refuses, too many decisions) is skipped with its
    reason.
    """
    rows = matching_drills(store.list_drills(), site, years)
    team = [r for r in rows if (r.get("kind") or "team") == "team"]
    cal = Calibration(fits={}, site=site, years=years)
    cal.auto_excluded = len(rows) - len(team)
    cal.capped = max(0, len(team) - max_drills)
    # the store lists newest first: keep the newest, then read them in id order
    team = sorted(team[:max_drills], key=lambda r: int(r["id"]))
    observations: list[Observation] = []
    for row in team:
        drill_id = int(row["id"])
        if int(row.get("n_actions") or 0) > MAX_DECISIONS:
            cal.skipped.append((drill_id, f"more than {MAX_DECISIONS:,} decisions (MAX_DECISIONS)"))
            continue
        try:
            scenario = scenario_from_text(row["scenario_text"], f"drill-{drill_id}.yaml")
        except InputError as exc:
            first = str(exc.problems[0]) if exc.problems else "unreadable"
            cal.skipped.append((drill_id, f"its scenario snapshot cannot be read ({first})"))
            continue
        try:
            decisions = [a["payload"] for a in store.actions(drill_id)]
        except StoreError as exc:
            cal.skipped.append((drill_id, f"its decisions cannot be read ({exc})"))
            continue
        try:
            drill = Drill.replay(scenario, int(row["seed"]), decisions)
        except DrillError as exc:
            cal.skipped.append((drill_id, f"cannot be replayed ({exc})"))
            continue
        cal.drills.append(drill_id)
        observations.extend(drill_observations(drill, row, cal.ignored))
    cal.fits = fit(observations, defaults, k0)
    return cal


# -- the written file -------------------------------------------------------------------------


def id_ranges(ids: Iterable[int]) -> str:
    """``1–3, 7`` for 1, 2, 3, 7 (drill ids, compact and sorted)."""
    ids = sorted(set(ids))
    parts: list[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if i == j else f"{ids[i]}–{ids[j]}")
        i = j + 1
    return ", ".join(f"#{p}" for p in parts)


def _span(values: Iterable[int]) -> str:
    vals = sorted(set(values))
    return str(vals[0]) if vals[0] == vals[-1] else f"{vals[0]}–{vals[-1]}"


def source_text(f: Fit, k0: float = K0) -> str:
    """The ``source:`` of a calibrated key: how many observations, from which drills."""
    obs = f.observations
    sites = sorted({o.site for o in obs})
    where = sites[0] if len(sites) == 1 else "sites " + ", ".join(sites)
    return (
        f"calibrated: {f.n} observations from drills {id_ranges(f.drill_ids)} "
        f"({_span(o.year for o in obs)}, {where}); shrunk toward the default with weight "
        f"k0={k0:g}"
    )


def dist_entry(d: Dist) -> dict[str, Any]:
    """A distribution in the scenario's ``{dist: kind, param: value, ...}`` form."""
    out: dict[str, Any] = {"dist": d.kind}
    for name, value in zip(DISTS[d.kind], d.params, strict=True):
        out[name] = float(value)
    return out


def timing_mapping(cal: Calibration, k0: float = K0) -> dict[str, dict[str, Any]]:
    """The calibrated keys in the scenario ``timing:`` format, each with its ``source``."""
    out: dict[str, dict[str, Any]] = {}
    for key, f in cal.fits.items():
        out[key] = {**dist_entry(f.calibrated), "source": source_text(f, k0)}
    return out


def timing_yaml(cal: Calibration, defaults_name: str, k0: float = K0) -> str:
    """The calibrated timing file: a header saying what was measured and how it was shrunk,
    then the mapping (deterministic: the same store gives the same bytes)."""
    filters = []
    if cal.site is not None:
        filters.append(f"site {cal.site}")
    if cal.years is not None:
        a, b = cal.years
        filters.append(f"years {a}" if a == b else f"years {a}-{b}")
    header = [
        "# Step durations calibrated from stored team drills (drillsim calibrate).",
        f"# Drills: {len(cal.drills)} team drills replayed"
        + (f" ({', '.join(filters)})" if filters else "")
        + f"; {cal.observations} observations.",
        f"# Defaults shrunk toward: the timing of {defaults_name}.",
        f"# Observation: {DEFINITION}.",
        f"# Shrinkage: {SHRINKAGE}.",
        "# Keys without observations are not written: their defaults stand.",
        f"# Left out: {AUTO_NOTE} ({cal.auto_excluded} matching).",
        f"# {ANSWER_NOTE[0].upper()}{ANSWER_NOTE[1:]}.",
    ]
    body = yaml.safe_dump(
        timing_mapping(cal, k0), allow_unicode=True, sort_keys=False, width=10_000
    )
    return "\n".join(header) + "\n" + body


__all__ = [
    "ANSWER_NOTE",
    "AUTO_NOTE",
    "Calibration",
    "DEFINITION",
    "Fit",
    "K0",
    "MAX_DECISIONS",
    "MAX_DRILLS",
    "Observation",
    "SHRINKAGE",
    "calibrate",
    "calibrated_dist",
    "drill_observations",
    "due_at",
    "fit",
    "milestone_key",
    "scaled",
    "shrunk_mean",
    "timing_mapping",
    "timing_yaml",
]
