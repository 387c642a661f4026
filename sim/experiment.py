"""The public API for runs: one run, many replications, and their summary.

``run_once`` keeps every record; ``run_replications`` keeps only a small per-replication summary
(counts and measured times per rule, load per role), so memory stays flat as replications grow.
Replication *i* is seeded by ``(seed, i)`` alone, so results are identical whatever the number of
workers and whatever the staffing variant (common random numbers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.causes import CAUSES, Trace, explain_misses
from sim.limits import MAX_REPS, MAX_WORKERS
from sim.plan import RULE_IDS
from sim.policy import simulate
from sim.records import Action, to_frame
from sim.rules import MET, MISSED, Verdict, verdict_frame, verdicts
from sim.scenario import DAY, Incident, Scenario


def check_reps(reps: int, workers: int | None = None) -> None:
    """Raise ValueError unless ``1 ≤ reps ≤ MAX_REPS`` and ``workers`` (if given) ≤ MAX_WORKERS."""
    if not 1 <= reps <= MAX_REPS:
        raise ValueError(f"reps must be from 1 to {MAX_REPS:,} (MAX_REPS), got {reps:,}")
    if workers is not None and workers > MAX_WORKERS:
        raise ValueError(f"workers must be at most {MAX_WORKERS} (MAX_WORKERS), got {workers:,}")


@dataclass(frozen=True)
class Run:
    """Everything one replication produced: incidents, records and verdicts."""

    scenario: Scenario
    seed: int
    replication: int
    incidents: tuple[Incident, ...]
    true_grades: dict[str, str]
    records: list[Action]
    verdicts: list[Verdict]
    busy_minutes: dict[str, float]
    calls: dict[str, tuple[int, int]]

    @property
    def frame(self) -> pd.DataFrame:
        return to_frame(self.records)

    @property
    def verdict_frame(self) -> pd.DataFrame:
        return verdict_frame(self.verdicts)


def run_once(scenario: Scenario, seed: int, replication: int = 0) -> Run:
    """One replication under the plan-compliant automatic policy, with its full record."""
    r = simulate(scenario, seed, replication)
    vs = verdicts(scenario, r.incidents, r.true_grade, r.records)
    for v in vs:
        if v.status == MISSED:  # only a run with a miss is explained
            explain_misses(vs, Trace.of(r), scenario.plan)
            break
    return Run(
        scenario=scenario,
        seed=seed,
        replication=replication,
        incidents=r.incidents,
        true_grades=dict(r.true_grade),
        records=r.records,
        verdicts=vs,
        busy_minutes=dict(r.busy_minutes),
        calls={k: (v[0], v[1]) for k, v in r.calls.items()},
    )


@dataclass(frozen=True)
class RepSummary:
    """What one replication leaves behind: per rule (applicable, met, measured times); per person load."""

    replication: int
    n_incidents: int
    incidents_key: tuple  # (id, at, family, site) per incident: identical across staffing variants
    rules: dict[str, tuple[int, int, tuple[float, ...]]]
    busy_minutes: dict[str, float]
    calls: dict[str, tuple[int, int]]
    all_met: bool
    #: per rule, per cause of its misses: (misses it had a part in, minutes)
    causes: dict[str, dict[str, tuple[int, float]]] = field(default_factory=dict)


def miss_causes(verdicts_: Iterable[Verdict]) -> dict[str, dict[str, tuple[int, float]]]:
    """Per rule, per cause: how many misses it had a part in, and its minutes in them."""
    out: dict[str, dict[str, tuple[int, float]]] = {}
    for v in verdicts_:
        if v.status == MISSED and v.causes:
            per = out.setdefault(v.rule, {})
            for cause, minutes in v.causes:
                n, total = per.get(cause, (0, 0.0))
                per[cause] = (n + 1, total + minutes)
    return out


def causes_table(misses: int, causes: dict[str, tuple[int, float]]) -> dict[str, dict]:
    """The ``causes`` object of a rule: per cause, the share of misses it had a part in and the
    minutes it cost per miss (causes in :data:`sim.causes.CAUSES` order)."""
    if not misses:
        return {}
    return {
        c: {
            "share_of_misses": round(causes[c][0] / misses, 6),
            "minutes_per_miss": round(causes[c][1] / misses, 3),
        }
        for c in CAUSES
        if c in causes
    }


def summarise_run(run: Run) -> RepSummary:
    rules: dict[str, list] = {rid: [0, 0, []] for rid in RULE_IDS}
    for v in run.verdicts:
        if v.status in (MET, MISSED):
            acc = rules[v.rule]
            acc[0] += 1
            acc[1] += v.status == MET
            if v.measured_min is not None:
                acc[2].append(v.measured_min)
    return RepSummary(
        replication=run.replication,
        n_incidents=len(run.incidents),
        incidents_key=tuple(
            (i.id, round(i.at, 6), i.family, i.site, i.people, i.scope) for i in run.incidents
        ),
        rules={k: (a, m, tuple(t)) for k, (a, m, t) in rules.items()},
        busy_minutes=run.busy_minutes,
        calls=run.calls,
        all_met=all(v.status != MISSED for v in run.verdicts),
        causes=miss_causes(run.verdicts),
    )


def replicate_chunk(scenario: Scenario, seed: int, start: int, stop: int) -> list[RepSummary]:
    """Replications ``start`` .. ``stop - 1``: the unit of work sent to a worker."""
    return [summarise_run(run_once(scenario, seed, i)) for i in range(start, stop)]


def wilson(met: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score 95% interval for a share (well-behaved at 0 % and 100 %)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = met / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class Summary:
    """Replications of one scenario, summarised per rule and per role."""

    scenario: str
    reps: int
    seed: int
    per_rep: list[RepSummary] = field(repr=False)
    roles: dict[str, dict] = field(default_factory=dict)

    def rule_table(self) -> list[dict]:
        out = []
        for rid in RULE_IDS:
            n = sum(rs.rules[rid][0] for rs in self.per_rep)
            met = sum(rs.rules[rid][1] for rs in self.per_rep)
            times = np.array([t for rs in self.per_rep for t in rs.rules[rid][2]], dtype=float)
            lo, hi = wilson(met, n)
            causes: dict[str, tuple[int, float]] = {}
            for rs in self.per_rep:
                for cause, (k, minutes) in rs.causes.get(rid, {}).items():
                    k0, m0 = causes.get(cause, (0, 0.0))
                    causes[cause] = (k0 + k, m0 + minutes)
            out.append(
                {
                    "id": rid,
                    "met_share": round(met / n, 6) if n else None,
                    "ci95": [round(lo, 6), round(hi, 6)] if n else None,
                    "p50_min": round(float(np.percentile(times, 50)), 3) if times.size else None,
                    "p90_min": round(float(np.percentile(times, 90)), 3) if times.size else None,
                    "applicable": n,
                    "met": met,
                    "causes": causes_table(n - met, causes),
                }
            )
        return out

    def all_met_share(self) -> float:
        return sum(rs.all_met for rs in self.per_rep) / max(1, len(self.per_rep))

    def as_json(self) -> dict:
        return {
            "scenario": self.scenario,
            "reps": self.reps,
            "seed": self.seed,
            "rules": self.rule_table(),
            "roles": self.roles,
        }


def _role_table(scenario: Scenario, per_rep: list[RepSummary], horizon: float) -> dict[str, dict]:
    roles: dict[str, dict] = {}
    by_role: dict[str, list[str]] = {}
    for p in scenario.roster.people:
        for role in p.roles:  # a person holding several roles counts in each
            by_role.setdefault(role, []).append(p.id)
    for role, pids in sorted(by_role.items()):
        busy = sum(rs.busy_minutes.get(pid, 0.0) for rs in per_rep for pid in pids)
        calls = sum(rs.calls.get(pid, (0, 0))[0] for rs in per_rep for pid in pids)
        missed = sum(rs.calls.get(pid, (0, 0))[1] for rs in per_rep for pid in pids)
        roles[role] = {
            "people": len(pids),
            "busy_share": round(busy / (horizon * len(pids) * max(1, len(per_rep))), 6),
            "calls": calls,
            "unanswered_share": round(missed / calls, 6) if calls else None,
        }
    return roles


def summarise(scenario: Scenario, seed: int, per_rep: list[RepSummary]) -> Summary:
    horizon = scenario.days * DAY
    return Summary(
        scenario=scenario.name,
        reps=len(per_rep),
        seed=seed,
        per_rep=sorted(per_rep, key=lambda r: r.replication),
        roles=_role_table(scenario, per_rep, horizon),
    )


def chunks(reps: int, size: int) -> Iterable[tuple[int, int]]:
    for start in range(0, reps, size):
        yield start, min(reps, start + size)


def run_replications(
    scenario: Scenario,
    reps: int,
    seed: int,
    *,
    workers: int | None = 1,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Summary:
    """``reps`` replications summarised. ``workers`` local processes (None: all cores) or a Dask
    ``scheduler`` address; the result is identical whatever the choice."""
    from sim.parallel import map_chunks

    check_reps(reps, workers)
    per_rep = map_chunks(
        scenario,
        seed,
        reps,
        workers=workers,
        scheduler=scheduler,
        chunk_size=chunk_size,
        progress=progress,
    )
    return summarise(scenario, seed, per_rep)
