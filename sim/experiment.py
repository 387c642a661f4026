"""The public API for runs: one run, many replications, and their summary.

``run_once`` keeps every record. Many replications go through the one chunked runner
(:mod:`sim.runner`) with one work function, :func:`run_chunk`: replications ``start .. stop-1`` of
one or several scenarios (a base and its variants), each reduced to a few arrays. A
:class:`Tally` per scenario folds the chunks in replication order into running sums (integer sums,
which do not depend on order, and float sums added one replication after another), so a result is
identical whatever the number of workers and memory stays flat as replications grow.
``run_replications`` (the ``run`` command) and :func:`sim.compare.compare` both read tallies.

Replication *i* is seeded by ``(seed, i)`` alone, so every variant faces the same incidents
(common random numbers).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim import runner
from sim.causes import CAUSES, Trace, explain_misses
from sim.limits import MAX_REPS, MAX_WORKERS
from sim.plan import RULE_IDS
from sim.policy import simulate
from sim.records import Action, to_frame
from sim.rules import MET, MISSED, Verdict, verdict_frame, verdicts
from sim.scenario import DAY, Incident, Scenario
from sim.stats import N_BINS, bin_counts, binned_percentile, seq_add, wilson

#: A pseudo-rule: the share of replications (exam seasons) in which every deadline was met.
ALL_MET = "all_met"
RULES = (*RULE_IDS, ALL_MET)
DUTY_STATES = ("on_duty", "on_call", "off_duty")
Progress = Callable[[int, int], None]

_RULE_INDEX = {r: i for i, r in enumerate(RULE_IDS)}
_CAUSE_INDEX = {c: i for i, c in enumerate(CAUSES)}
_STATE_INDEX = {s: i for i, s in enumerate(DUTY_STATES)}


def check_reps(reps: int, workers: int | None = None) -> None:
    """Raise ValueError unless ``1 ≤ reps ≤ MAX_REPS`` and ``workers`` (if given) ≤ MAX_WORKERS."""
    if not 1 <= reps <= MAX_REPS:
        raise ValueError(f"reps must be from 1 to {MAX_REPS:,} (MAX_REPS), got {reps:,}")
    if workers is not None and workers > MAX_WORKERS:
        raise ValueError(f"workers must be at most {MAX_WORKERS} (MAX_WORKERS), got {workers:,}")


# -- one run ---------------------------------------------------------------------------------


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
    vs = verdicts(scenario, r.incidents, r.true_grade, r.records, ordered=True)
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


def roles_of(scenario: Scenario) -> list[str]:
    """Every role someone holds (a person may hold several), sorted."""
    return sorted({r for p in scenario.roster.people for r in p.roles})


# -- the work function: replications reduced to arrays ---------------------------------------


def _digest(key: tuple) -> int:
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "little")


class Job(NamedTuple):
    """What every chunk of one call shares (sent to each worker once)."""

    scenarios: tuple[Scenario, ...]
    seed: int
    full_log: bool = False


@dataclass
class ChunkResult:
    """Replications ``start`` .. ``stop - 1`` of every scenario, reduced to arrays."""

    start: int
    stop: int
    nm: np.ndarray  # (V, reps, R, 2) int32: applicable, met (all_met: 1, flag)
    digest: np.ndarray  # (V, reps) uint64: the replication's incidents
    times: list[list[np.ndarray]]  # [V][R] measured minutes of applicable incidents
    busy: list[np.ndarray]  # [V] (reps, roles) minutes
    calls: list[np.ndarray]  # [V] (reps, roles, 2) calls, unanswered
    log: pd.DataFrame | None = None
    #: (V, R, causes, 2) int64: misses a cause had a part in, and its minutes in thousandths
    #: (integers: the sums do not depend on how replications are chunked)
    causes: np.ndarray | None = None
    #: (V, reps) uint64: a replication's outcome (verdicts, load): equal to the base's when the
    #: variant changed nothing in it (zeros when there is a single scenario: nothing to compare)
    outcome: np.ndarray | None = None
    #: (V, 3) int64: calls that reached someone on duty, on call, off duty (a lever exercised?);
    #: not counted for the base, whose levers are not in question
    state_calls: np.ndarray | None = None
    #: per scenario, the people who were called or busy at least once (empty for the base)
    used: list[frozenset[str]] | None = None
    #: per scenario: rule -> blocking step -> misses it blocked
    blockers: list[dict[str, dict[str, int]]] | None = None


LOG_COLUMNS = [
    "variant",
    "replication",
    "incident",
    "family",
    "site",
    "grade",
    "assigned_grade",
    "rule",
    "status",
    "measured_min",
    "note",
    "causes",
]


def run_chunk(job: Job, start: int, stop: int) -> ChunkResult:
    """Run replications ``start .. stop-1`` of each scenario (the unit of work of a worker)."""
    scenarios, seed, full_log = job
    nv, nr, k = len(scenarios), len(RULES), stop - start
    nm = np.zeros((nv, k, nr, 2), dtype=np.int32)
    why = np.zeros((nv, nr, len(CAUSES), 2), dtype=np.int64)
    outcome = np.zeros((nv, k), dtype=np.uint64)
    state_calls = np.zeros((nv, len(DUTY_STATES)), dtype=np.int64)
    used: list[frozenset[str]] = []
    blockers: list[dict[str, dict[str, int]]] = []
    digest = np.zeros((nv, k), dtype=np.uint64)
    times: list[list[np.ndarray]] = []
    busy, calls, logs = [], [], []
    for v, sc in enumerate(scenarios):
        roles = roles_of(sc)
        ridx = {r: j for j, r in enumerate(roles)}
        # a person holding several roles counts in each role's load
        role_of = {p.id: [ridx[r] for r in p.roles] for p in sc.roster.people}
        tv: list[list[float]] = [[] for _ in range(nr)]
        b = np.zeros((k, len(roles)), dtype=np.float64)
        c = np.zeros((k, len(roles), 2), dtype=np.int64)
        people_used: set[str] = set()
        blocked: dict[str, dict[str, int]] = {}
        for j, i in enumerate(range(start, stop)):
            run = run_once(sc, seed, i)
            if nv > 1:
                outcome[v, j] = _digest(
                    (
                        tuple((x.incident, x.rule, x.status, x.measured_min) for x in run.verdicts),
                        tuple(sorted((p, round(m, 6)) for p, m in run.busy_minutes.items() if m)),
                    )
                )
            if v > 0:
                for a in run.records:
                    if a.action == "call":
                        state = a.detail.rpartition(":")[2]
                        if state in _STATE_INDEX:
                            state_calls[v, _STATE_INDEX[state]] += 1
                        people_used.add(a.target)
                people_used.update(p for p, m in run.busy_minutes.items() if m > 0)
            all_met = 1
            for vd in run.verdicts:
                if vd.status in (MET, MISSED):
                    r = _RULE_INDEX[vd.rule]
                    nm[v, j, r, 0] += 1
                    if vd.status == MET:
                        nm[v, j, r, 1] += 1
                    else:
                        all_met = 0
                        for cause, minutes in vd.causes:
                            why[v, r, _CAUSE_INDEX[cause]] += (1, round(minutes * 1000))
                        if vd.blocker:
                            per = blocked.setdefault(vd.rule, {})
                            per[vd.blocker] = per.get(vd.blocker, 0) + 1
                    if vd.measured_min is not None:
                        tv[r].append(vd.measured_min)
            nm[v, j, nr - 1] = (1, all_met)
            digest[v, j] = _digest(
                tuple(
                    (x.id, round(x.at, 6), x.family, x.site, x.people, x.scope)
                    for x in run.incidents
                )
            )
            for pid, minutes in run.busy_minutes.items():
                b[j, role_of[pid]] += minutes
            for pid, (n_calls, unanswered) in run.calls.items():
                c[j, role_of[pid], 0] += n_calls
                c[j, role_of[pid], 1] += unanswered
            if full_log:
                logs.extend(_log_rows(v, i, run))
        used.append(frozenset(people_used))
        blockers.append(blocked)
        times.append([np.asarray(x, dtype=np.float64) for x in tv])
        busy.append(b)
        calls.append(c)
    log = pd.DataFrame(logs, columns=LOG_COLUMNS) if full_log else None
    return ChunkResult(
        start, stop, nm, digest, times, busy, calls, log, why, outcome, state_calls, used, blockers
    )


def _log_rows(v: int, i: int, run: Run) -> list[tuple]:
    """One row per verdict of one replication (``full_log``)."""
    grades = run.true_grades
    fams = {x.id: x.family for x in run.incidents}
    sites = {x.id: x.site for x in run.incidents}
    # the grade the team (here the policy's working group) gave, last given
    given = {a.incident: a.outcome for a in run.records if a.action == "graded"}
    return [
        (
            v,
            i,
            vd.incident,
            fams.get(vd.incident, ""),
            sites.get(vd.incident, ""),
            grades.get(vd.incident, ""),
            given.get(vd.incident, ""),
            vd.rule,
            vd.status,
            vd.measured_min,
            vd.note,
            ";".join(f"{c}={m:g}" for c, m in vd.causes),
        )
        for vd in run.verdicts
    ]


# -- folding chunks into running sums --------------------------------------------------------


class Tally:
    """Running sums for one scenario, and its pairing with the base (scenario 0 of the job)."""

    def __init__(self, n_roles: int):
        nr = len(RULES)
        self.reps = 0
        self.s = np.zeros((nr, 5), dtype=np.int64)  # Σn, Σm, Σn², Σm², Σnm
        self.x = np.zeros((nr, 4), dtype=np.int64)  # with the base: Σ m·m_b, m·n_b, n·m_b, n·n_b
        self.hist = np.zeros((nr, N_BINS + 1), dtype=np.int64)
        self.fastest = np.full(nr, np.inf)  # the extreme times, which keep percentiles in range
        self.slowest = np.full(nr, -np.inf)
        self.rep = np.zeros((nr, 2), dtype=np.float64)  # per-replication Σd, Σd²
        self.rep_k = np.zeros(nr, dtype=np.int64)
        self.busy = np.zeros(n_roles, dtype=np.float64)
        self.calls = np.zeros((n_roles, 2), dtype=np.int64)
        self.causes = np.zeros((nr, len(CAUSES), 2), dtype=np.int64)
        self.changed_reps = 0  # replications whose outcome differs from the base's
        self.state_calls = np.zeros(len(DUTY_STATES), dtype=np.int64)
        self.used: set[str] = set()
        self.blockers: dict[str, dict[str, int]] = {}
        self.crn_mismatch = 0
        self._incidents = hashlib.blake2b(digest_size=16)

    def add(self, res: ChunkResult, v: int) -> None:
        """Fold scenario ``v`` of the next chunk (chunks must come in replication order)."""
        nm = res.nm[v].astype(np.int64)
        n, m = nm[..., 0], nm[..., 1]
        nb, mb = res.nm[0][..., 0].astype(np.int64), res.nm[0][..., 1].astype(np.int64)
        self.reps += n.shape[0]
        self.s += np.stack(
            [n.sum(0), m.sum(0), (n * n).sum(0), (m * m).sum(0), (n * m).sum(0)], axis=1
        )
        self.x += np.stack(
            [(m * mb).sum(0), (m * nb).sum(0), (n * mb).sum(0), (n * nb).sum(0)], axis=1
        )
        for r, ts in enumerate(res.times[v]):
            if ts.size:
                self.hist[r] += bin_counts(ts)
                self.fastest[r] = min(self.fastest[r], ts.min())
                self.slowest[r] = max(self.slowest[r], ts.max())
        both = (n > 0) & (nb > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(both, m / np.maximum(n, 1) - mb / np.maximum(nb, 1), 0.0)
        self.rep = seq_add(self.rep, np.stack([d, d * d], axis=2))
        self.rep_k += both.sum(0)
        self.busy = seq_add(self.busy, res.busy[v])
        self.calls += res.calls[v].sum(0)
        if res.causes is not None:
            self.causes += res.causes[v]
        if res.outcome is not None:
            self.changed_reps += int((res.outcome[v] != res.outcome[0]).sum())
        if res.state_calls is not None:
            self.state_calls += res.state_calls[v]
        if res.used is not None:
            self.used |= res.used[v]
        if res.blockers is not None:
            for rule, per in res.blockers[v].items():
                mine = self.blockers.setdefault(rule, {})
                for step, k in per.items():
                    mine[step] = mine.get(step, 0) + k
        self.crn_mismatch += int((res.digest[v] != res.digest[0]).sum())
        self._incidents.update(res.digest[v].astype("<u8").tobytes())

    @property
    def incidents_digest(self) -> str:
        """Every replication's incidents, hashed in order: equal across staffing variants (CRN)."""
        return self._incidents.hexdigest()

    def applicable(self, r: int) -> int:
        return int(self.s[r][0])

    def met(self, r: int) -> int:
        return int(self.s[r][1])

    def percentile(self, r: int, q: float) -> float | None:
        """The ``q`` quantile of rule ``r``'s times, from their 0.5-minute bins (±0.25 min)."""
        return binned_percentile(self.hist[r], q, float(self.fastest[r]), float(self.slowest[r]))

    def causes_of(self, r: int) -> dict[str, dict]:
        """The causes object of rule ``r``'s misses (:func:`causes_table`)."""
        found = {
            c: (int(self.causes[r, i, 0]), int(self.causes[r, i, 1]) / 1000.0)
            for i, c in enumerate(CAUSES)
            if self.causes[r, i, 0]
        }
        return causes_table(self.applicable(r) - self.met(r), found)

    def blocking_of(self, r: int) -> dict[str, float]:
        """Per blocking step, the share of rule ``r``'s misses it blocked (largest first)."""
        misses = self.applicable(r) - self.met(r)
        if not misses:
            return {}
        per = self.blockers.get(RULES[r], {})
        ranked = sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))
        return {step: round(k / misses, 6) for step, k in ranked}


@dataclass
class Replicated:
    """What :func:`replicate` returns: a tally per scenario, and every verdict if asked for."""

    tallies: list[Tally]
    log: pd.DataFrame | None = None


def replicate(
    scenarios: Sequence[Scenario],
    reps: int,
    seed: int,
    *,
    workers: int | None = 1,
    scheduler: object = None,
    chunk_size: int | None = None,
    full_log: bool = False,
    progress: Progress | None = None,
) -> Replicated:
    """``reps`` replications of each scenario (the first is the base), folded into tallies.

    ``workers``: local processes (None: all cores); ``scheduler``: a Dask scheduler address or
    Client. The result does not depend on ``workers``, ``scheduler`` or ``chunk_size``.
    """
    check_reps(reps, workers)
    job = Job(tuple(scenarios), seed, full_log)
    tallies = [Tally(len(roles_of(s))) for s in job.scenarios]
    logs = []
    for res in runner.map_chunks(
        run_chunk,
        job,
        reps,
        workers=workers,
        scheduler=scheduler,
        chunk_size=chunk_size,
        progress=progress,
    ):
        for v, tally in enumerate(tallies):
            tally.add(res, v)
        if res.log is not None:
            logs.append(res.log)
    log = pd.concat(logs, ignore_index=True) if full_log and logs else None
    return Replicated(tallies, log)


# -- the run command's summary ---------------------------------------------------------------


@dataclass
class Summary:
    """Replications of one scenario, summarised per rule and per role.

    Made from running sums, never a list of replications: p50 and p90 are read from times
    counted in 0.5-minute bins (the middle of the bin: within ±0.25 min), as in ``compare``.
    """

    scenario: str
    reps: int
    seed: int
    rules: list[dict] = field(repr=False)
    roles: dict[str, dict] = field(default_factory=dict)
    all_met_reps: int = 0
    #: every replication's incidents, hashed in order: equal across staffing variants (CRN)
    incidents_digest: str = ""

    def rule_table(self) -> list[dict]:
        return copy.deepcopy(self.rules)

    def all_met_share(self) -> float:
        return self.all_met_reps / max(1, self.reps)

    def as_json(self) -> dict:
        return {
            "scenario": self.scenario,
            "reps": self.reps,
            "seed": self.seed,
            "rules": self.rule_table(),
            "roles": self.roles,
        }


def role_load(scenario: Scenario, tally: Tally) -> dict[str, dict]:
    """Per role (a person holding several counts in each): its people, the share of their exam
    calendar they were busy, the calls made to them and the share unanswered."""
    horizon = scenario.days * DAY
    roles: dict[str, dict] = {}
    for j, role in enumerate(roles_of(scenario)):
        people = sum(1 for p in scenario.roster.people if role in p.roles)
        calls, missed = (int(x) for x in tally.calls[j])
        roles[role] = {
            "people": people,
            "busy_share": round(float(tally.busy[j]) / (horizon * people * max(1, tally.reps)), 6),
            "calls": calls,
            "unanswered_share": round(missed / calls, 6) if calls else None,
        }
    return roles


def summarise(scenario: Scenario, seed: int, tally: Tally) -> Summary:
    """The ``run`` command's summary of one scenario's tally."""
    rules = []
    for r, rid in enumerate(RULE_IDS):
        n, met = tally.applicable(r), tally.met(r)
        lo, hi = wilson(met, n)
        p50, p90 = tally.percentile(r, 0.5), tally.percentile(r, 0.9)
        rules.append(
            {
                "id": rid,
                "met_share": round(met / n, 6) if n else None,
                "ci95": [round(lo, 6), round(hi, 6)] if n else None,
                "p50_min": None if p50 is None else round(p50, 3),
                "p90_min": None if p90 is None else round(p90, 3),
                "applicable": n,
                "met": met,
                "causes": tally.causes_of(r),
            }
        )
    roles = role_load(scenario, tally)
    return Summary(
        scenario=scenario.name,
        reps=tally.reps,
        seed=seed,
        rules=rules,
        roles=roles,
        all_met_reps=tally.met(len(RULES) - 1),
        incidents_digest=tally.incidents_digest,
    )


def run_replications(
    scenario: Scenario,
    reps: int,
    seed: int,
    *,
    workers: int | None = 1,
    scheduler: object = None,
    chunk_size: int | None = None,
    progress: Progress | None = None,
) -> Summary:
    """``reps`` replications summarised. ``workers`` local processes (None: all cores) or a Dask
    ``scheduler`` address or Client; the result is identical whatever the choice."""
    done = replicate(
        [scenario],
        reps,
        seed,
        workers=workers,
        scheduler=scheduler,
        chunk_size=chunk_size,
        progress=progress,
    )
    return summarise(scenario, seed, done.tallies[0])


# -- the drill's standing: how many simulated times beat the team's --------------------------


class FasterJob(NamedTuple):
    """One scenario, a seed, and the team's measured minutes per rule."""

    scenario: Scenario
    seed: int
    measured: tuple[tuple[str, float], ...]


def count_faster(job: FasterJob, start: int, stop: int) -> np.ndarray:
    """Per measured rule: (simulated times below the team's, simulated times) over replications
    ``start .. stop-1`` (integers, exact, and the same however replications are chunked)."""
    index = {rule: j for j, (rule, _) in enumerate(job.measured)}
    out = np.zeros((len(job.measured), 2), dtype=np.int64)
    for i in range(start, stop):
        for v in run_once(job.scenario, job.seed, i).verdicts:
            j = index.get(v.rule)
            if j is not None and v.status in (MET, MISSED) and v.measured_min is not None:
                out[j, 0] += v.measured_min < job.measured[j][1]
                out[j, 1] += 1
    return out


def faster_counts(
    scenario: Scenario,
    seed: int,
    measured: Mapping[str, float],
    reps: int,
    *,
    workers: int | None = 1,
    scheduler: object = None,
    chunk_size: int | None = None,
) -> dict[str, tuple[int, int]]:
    """Per rule in ``measured``: how many simulated times (automatic policy, ``reps``
    replications) were below the measured minutes, out of how many."""
    check_reps(reps, workers)
    job = FasterJob(scenario, seed, tuple((r, float(m)) for r, m in measured.items()))
    total = np.zeros((len(job.measured), 2), dtype=np.int64)
    for part in runner.map_chunks(
        count_faster, job, reps, workers=workers, scheduler=scheduler, chunk_size=chunk_size
    ):
        total += part
    return {rule: (int(total[j, 0]), int(total[j, 1])) for j, (rule, _) in enumerate(job.measured)}


__all__ = [
    "ALL_MET",
    "RULES",
    "ChunkResult",
    "Job",
    "Run",
    "Summary",
    "Tally",
    "causes_table",
    "check_reps",
    "faster_counts",
    "replicate",
    "run_chunk",
    "run_once",
    "run_replications",
    "wilson",
]
