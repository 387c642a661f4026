"""Comparing variants of a scenario with common random numbers, sizing staff, sweeping a parameter.

:func:`compare` runs replication *i* of every variant with the seed ``(seed, i)``, so every variant
faces the same incidents (common random numbers, CRN), and judges each variant against the base
replication by replication. Per rule and variant it reports:

- the share of applicable incidents that met the rule, with its Wilson 95% interval;
- the paired difference to the base of that share, from the per-replication pairs (delta method
  for a ratio of sums; t interval), so "91.2% → 97.9%" and "+6.7 points ±1.2" agree; and the
  mean difference of per-replication met shares with its t interval (``rep_diff``);
- the time distribution (an ECDF in 0.5-minute bins) and the load per role;
- a plain-language verdict per variant in Chinese and English.

``all_met`` is a pseudo-rule: the share of replications (exam seasons) in which every deadline was
met. Replications run in chunks on local processes or a Dask cluster; chunks are folded in
replication order with order-free integer sums and sequential float sums, so a result is
identical whatever the number of workers. Only running sums are kept — memory stays flat as
replications grow — unless ``full_log`` asks for every verdict.

:func:`size_grid` finds the smallest staffing on a grid that meets targets, :func:`sweep` varies one
parameter, :func:`reps_for_precision` runs a pilot and says how many replications a stated
half-width needs (the confidence-interval method).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from sim.causes import CAUSES
from sim.experiment import causes_table, check_reps, run_once, wilson
from sim.i18n import label, step_label, t
from sim.parallel import SCHEDULER_TIMEOUT_S, default_workers
from sim.plan import RULE_IDS
from sim.rules import MET, MISSED
from sim.scenario import DAY, Scenario, Shift
from sim.variants import BASE, Variant, apply_all, describe, set_path, variant_from_dict

ALL_MET = "all_met"
RULES = (*RULE_IDS, ALL_MET)
BIN_MIN = 0.5  # ECDF resolution, minutes
N_BINS = int(3 * DAY / BIN_MIN)  # up to three days; longer times fall in an overflow bin
Z95 = 1.959963984540054
Progress = Callable[[int, int], None]


# -- statistics ------------------------------------------------------------------------------


def t_quantile(p: float, df: float) -> float:
    """Student's t quantile (exact for 1 and 2 degrees of freedom, Cornish–Fisher beyond)."""
    if df <= 0 or math.isnan(df):
        return math.nan
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = NormalDist().inv_cdf(p)
    if math.isinf(df):
        return z
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


# -- the work done by a worker ---------------------------------------------------------------


def roles_of(scenario: Scenario) -> list[str]:
    """Every role someone holds (a person may hold several), sorted."""
    return sorted({r for p in scenario.roster.people for r in p.roles})


_CAUSE_INDEX = {c: i for i, c in enumerate(CAUSES)}
#: The most values one sweep tries: each is a variant run as often as the base, and each keeps
#: its own running sums (about 1.5 MB) until the sweep ends.
MAX_SWEEP_POINTS = 200
#: The most staffing cells one ``size`` grid holds (the product of the axes' counts); each cell
#: is a variant whose sums the result keeps, as a sweep's points.
MAX_GRID_CELLS = 500
DUTY_STATES = ("on_duty", "on_call", "off_duty")
_STATE_INDEX = {s: i for i, s in enumerate(DUTY_STATES)}


def _digest(key: tuple) -> int:
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "little")


@dataclass
class ChunkResult:
    """Replications ``start`` .. ``stop - 1`` of every variant, reduced to arrays."""

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
    #: variant changed nothing in it
    outcome: np.ndarray | None = None
    #: (V, 3) int64: calls that reached someone on duty, on call, off duty (a lever exercised?)
    state_calls: np.ndarray | None = None
    #: per variant, the people who were called or busy at least once
    used: list[frozenset[str]] | None = None
    #: per variant: rule -> blocking step -> misses it blocked
    blockers: list[dict[str, dict[str, int]]] | None = None


_WORKER_SCENARIOS: tuple[Scenario, ...] | None = None


def _init_worker(scenarios: tuple[Scenario, ...]) -> None:
    global _WORKER_SCENARIOS
    _WORKER_SCENARIOS = scenarios


def _pool_chunk(seed: int, start: int, stop: int, full_log: bool) -> ChunkResult:
    assert _WORKER_SCENARIOS is not None
    return run_chunk(_WORKER_SCENARIOS, seed, start, stop, full_log)


def run_chunk(
    scenarios: Sequence[Scenario], seed: int, start: int, stop: int, full_log: bool = False
) -> ChunkResult:
    """Run replications ``start .. stop-1`` of each scenario (the unit of work sent to a worker)."""
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
        # a person holding several roles counts in each role's load (as in sim.experiment)
        role_of = {p.id: [ridx[r] for r in p.roles] for p in sc.roster.people}
        tv: list[list[float]] = [[] for _ in range(nr)]
        b = np.zeros((k, len(roles)), dtype=np.float64)
        c = np.zeros((k, len(roles), 2), dtype=np.int64)
        people_used: set[str] = set()
        blocked: dict[str, dict[str, int]] = {}
        for j, i in enumerate(range(start, stop)):
            run = run_once(sc, seed, i)
            outcome[v, j] = _digest(
                (
                    tuple((x.incident, x.rule, x.status, x.measured_min) for x in run.verdicts),
                    tuple(sorted((p, round(m, 6)) for p, m in run.busy_minutes.items() if m)),
                )
            )
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
                    r = RULE_IDS.index(vd.rule)
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
                grades = run.true_grades
                fams = {x.id: x.family for x in run.incidents}
                sites = {x.id: x.site for x in run.incidents}
                # the grade the team (here the policy's working group) gave, last given
                given = {a.incident: a.outcome for a in run.records if a.action == "graded"}
                logs.extend(
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
                )
        used.append(frozenset(people_used))
        blockers.append(blocked)
        times.append([np.asarray(x, dtype=np.float64) for x in tv])
        busy.append(b)
        calls.append(c)
    log = None
    if full_log:
        log = pd.DataFrame(
            logs,
            columns=[
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
            ],
        )
    return ChunkResult(
        start, stop, nm, digest, times, busy, calls, log, why, outcome, state_calls, used, blockers
    )


# -- spreading chunks over workers -----------------------------------------------------------


def _chunk_bounds(reps: int, size: int) -> Iterator[tuple[int, int]]:
    """The chunks' (start, stop), made as they are asked for (never a list of them all)."""
    return ((a, min(reps, a + size)) for a in range(0, reps, size))


def _mp_context():
    """fork when this process has one thread (fast); forkserver inside a threaded server (safe)."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.compare"])
    return ctx


def run_chunks(
    scenarios: Sequence[Scenario],
    seed: int,
    reps: int,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    chunk_size: int | None = None,
    full_log: bool = False,
) -> Iterator[ChunkResult]:
    """Chunk results in replication order, computed serially, on local processes or on Dask.

    ``scheduler`` is a Dask scheduler address (``tcp://host:8786``) or a ``distributed.Client``.
    At most a few chunks per worker are in flight, so memory does not grow with ``reps``.

    Local workers are forked when this process has a single thread; inside a threaded server
    (Streamlit, Jupyter) they come from a forkserver instead, which — like ``spawn`` — re-imports
    the main module: a script calling this needs the usual ``if __name__ == "__main__":`` guard.
    """
    scenarios = tuple(scenarios)
    if scheduler is not None:
        yield from _run_dask(scenarios, seed, reps, scheduler, chunk_size, full_log)
        return
    workers = default_workers() if workers is None or workers <= 0 else workers
    size = chunk_size or max(1, min(50, -(-reps // (workers * 4))))
    bounds = _chunk_bounds(reps, size)
    n_chunks = -(-reps // size)
    if workers == 1 or n_chunks == 1:
        for a, b in bounds:
            yield run_chunk(scenarios, seed, a, b, full_log)
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(
        max_workers=min(workers, n_chunks),
        mp_context=_mp_context(),
        initializer=_init_worker,
        initargs=(scenarios,),
    ) as pool:
        todo = bounds
        running = set()
        done: dict[int, ChunkResult] = {}
        nxt = 0
        for a, b in itertools.islice(todo, workers * 3):
            running.add(pool.submit(_pool_chunk, seed, a, b, full_log))
        while running:
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                res = fut.result()
                done[res.start] = res
                for a, b in itertools.islice(todo, 1):
                    running.add(pool.submit(_pool_chunk, seed, a, b, full_log))
            while nxt in done:
                res = done.pop(nxt)
                nxt = res.stop
                yield res


def _run_dask(scenarios, seed, reps, scheduler, chunk_size, full_log) -> Iterator[ChunkResult]:
    from distributed import Client, as_completed

    own = not isinstance(scheduler, Client)
    # a cluster that does not answer is said within seconds, not after Dask's 30
    client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S) if own else scheduler
    try:
        threads = max(1, sum(client.nthreads().values()))
        size = chunk_size or max(1, min(50, -(-reps // (threads * 4))))
        bounds = _chunk_bounds(reps, size)
        shared = client.scatter(scenarios, broadcast=True)
        ac = as_completed()
        for a, b in itertools.islice(bounds, threads * 3):
            ac.add(client.submit(run_chunk, shared, seed, a, b, full_log, pure=False))
        done: dict[int, ChunkResult] = {}
        nxt = 0
        for fut in ac:
            res = fut.result()
            fut.release()
            done[res.start] = res
            for a, b in itertools.islice(bounds, 1):
                ac.add(client.submit(run_chunk, shared, seed, a, b, full_log, pure=False))
            while nxt in done:
                res = done.pop(nxt)
                nxt = res.stop
                yield res
    finally:
        if own:
            client.close()


# -- folding chunks into running sums --------------------------------------------------------


def _seq_add(total: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``total`` plus every row of ``values`` added one after another (independent of chunking)."""
    if values.shape[0] == 0:
        return total
    return np.add.accumulate(np.concatenate([total[None, ...], values], axis=0), axis=0)[-1]


class _Acc:
    """Running sums for one variant (and its pairing with the base)."""

    def __init__(self, n_roles: int):
        nr = len(RULES)
        self.reps = 0
        self.s = np.zeros((nr, 5), dtype=np.int64)  # Σn, Σm, Σn², Σm², Σnm
        self.x = np.zeros((nr, 4), dtype=np.int64)  # with the base: Σ m·m_b, m·n_b, n·m_b, n·n_b
        self.hist = np.zeros((nr, N_BINS + 1), dtype=np.int64)
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

    def add(self, res: ChunkResult, v: int) -> None:
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
                idx = np.minimum((ts / BIN_MIN).astype(np.int64), N_BINS)
                self.hist[r] += np.bincount(idx, minlength=N_BINS + 1)
        both = (n > 0) & (nb > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(both, m / np.maximum(n, 1) - mb / np.maximum(nb, 1), 0.0)
        self.rep = _seq_add(self.rep, np.stack([d, d * d], axis=2))
        self.rep_k += both.sum(0)
        self.busy = _seq_add(self.busy, res.busy[v])
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


@dataclass(frozen=True)
class RuleResult:
    """One rule under one variant: share met, interval, difference to the base, times."""

    variant: str
    rule: str
    applicable: int
    met: int
    share: float | None
    ci_lo: float | None
    ci_hi: float | None
    diff: float | None  # share − base share (paired per replication)
    diff_lo: float | None
    diff_hi: float | None
    rep_diff: float | None  # mean of per-replication share differences
    rep_diff_lo: float | None
    rep_diff_hi: float | None
    pairs: int  # replications where the rule applied in both
    share_sd: float | None  # spread of the share per replication (s / n̄ of the ratio estimator)
    diff_sd: float | None  # spread of the paired difference per replication
    p50_min: float | None
    p90_min: float | None
    allowed_min: float | None

    @property
    def significant(self) -> bool:
        return self.diff_lo is not None and (self.diff_lo > 0 or self.diff_hi < 0)


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), nd)


def _percentile(hist: np.ndarray, q: float) -> float | None:
    total = int(hist.sum())
    if total == 0:
        return None
    idx = int(np.searchsorted(np.cumsum(hist), math.ceil(q * total)))
    return (idx + 0.5) * BIN_MIN if idx < N_BINS else N_BINS * BIN_MIN


def lever_text(code: str, params: dict, lang: str) -> str:
    """A lever warning in words (a duty state named as the plan's people say it)."""
    words = dict(params)
    if "state" in words:
        words["state"] = t(f"rev_state_{words['state']}", lang)
    return t("lever_" + code, lang, **words)


def lever_warnings(variant: Variant, acc: _Acc) -> list[tuple[str, dict]]:
    """Why a variant's answers may not move: it changed nothing in any replication, or its
    lever was never exercised (a duty state nobody was called in, a person nobody needed)."""
    out: list[tuple[str, dict]] = []
    if acc.reps and acc.changed_reps == 0:
        out.append(("no_effect", {"reps": acc.reps}))
    states = {dr.patch.state for dr in variant.reachability}
    states |= {rp.state for c in variant.change for rp in c.reach}
    states |= {rp.state for n in variant.add for rp in n.reach}
    for state in DUTY_STATES:
        if state in states and acc.state_calls[_STATE_INDEX[state]] == 0:
            out.append(("state_never_called", {"state": state}))
    for who in [n.person.id for n in variant.add] + [c.id for c in variant.change]:
        if who not in acc.used:
            out.append(("person_never_needed", {"person": who}))
    return out


def _blocking_of(acc: _Acc, r: int, rule: str) -> dict[str, float]:
    """Per blocking step, the share of rule ``r``'s misses it blocked (largest first)."""
    misses = int(acc.s[r][0] - acc.s[r][1])
    per = acc.blockers.get(rule, {})
    if not misses:
        return {}
    ranked = sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))
    return {step: round(k / misses, 6) for step, k in ranked}


def _causes_of(acc: _Acc, r: int) -> dict[str, dict]:
    """The causes object of rule ``r``'s misses under one variant."""
    misses = int(acc.s[r][0] - acc.s[r][1])
    found = {
        c: (int(acc.causes[r, i, 0]), acc.causes[r, i, 1] / 1000.0)
        for i, c in enumerate(CAUSES)
        if acc.causes[r, i, 0]
    }
    return causes_table(misses, found)


def _rule_result(name: str, rule: str, acc: _Acc, base: _Acc, allowed: float | None) -> RuleResult:
    r = RULES.index(rule)
    sn, sm, snn, smm, snm = (int(x) for x in acc.s[r])
    bn, bm, bnn, bmm, bnm = (int(x) for x in base.s[r])
    k = acc.reps
    share = sm / sn if sn else None
    lo, hi = wilson(sm, sn) if sn else (None, None)
    share_sd = diff = dlo = dhi = diff_sd = None
    if sn and k > 1:
        rv, nv_bar = sm / sn, sn / k
        ss_v = smm - 2 * rv * snm + rv * rv * snn  # Σ (m − p·n)²
        share_sd = math.sqrt(max(0.0, ss_v) / (k - 1)) / nv_bar
        if bn:
            rb, nb_bar = bm / bn, bn / k
            ss_b = bmm - 2 * rb * bnm + rb * rb * bnn
            xmm, xmn, xnm, xnn = (int(x) for x in acc.x[r])
            cross = xmm - rb * xmn - rv * xnm + rv * rb * xnn
            ssz = ss_v / nv_bar**2 + ss_b / nb_bar**2 - 2 * cross / (nv_bar * nb_bar)
            diff_sd = math.sqrt(max(0.0, ssz) / (k - 1))
            diff = rv - rb
            half = t_quantile(0.975, k - 1) * diff_sd / math.sqrt(k)
            dlo, dhi = diff - half, diff + half
    kk = int(acc.rep_k[r])
    rd = rdlo = rdhi = None
    if kk > 1:
        sd_sum, sd_sq = float(acc.rep[r, 0]), float(acc.rep[r, 1])
        rd = sd_sum / kk
        var = max(0.0, (sd_sq - kk * rd * rd) / (kk - 1))
        half = t_quantile(0.975, kk - 1) * math.sqrt(var / kk)
        rdlo, rdhi = rd - half, rd + half
    hist = acc.hist[r]
    return RuleResult(
        variant=name,
        rule=rule,
        applicable=sn,
        met=sm,
        share=_r(share),
        ci_lo=_r(lo),
        ci_hi=_r(hi),
        diff=_r(diff),
        diff_lo=_r(dlo),
        diff_hi=_r(dhi),
        rep_diff=_r(rd),
        rep_diff_lo=_r(rdlo),
        rep_diff_hi=_r(rdhi),
        pairs=kk,
        share_sd=_r(share_sd),
        diff_sd=_r(diff_sd),
        p50_min=_r(_percentile(hist, 0.5), 3),
        p90_min=_r(_percentile(hist, 0.9), 3),
        allowed_min=allowed,
    )


# -- the comparison --------------------------------------------------------------------------


RULE_COLUMNS = [f.name for f in RuleResult.__dataclass_fields__.values()]


@dataclass
class Comparison:
    """Variants of one scenario compared with common random numbers; see :func:`compare`."""

    scenario: str
    reps: int
    seed: int
    variants: list[Variant]
    scenarios: list[Scenario] = field(repr=False)
    results: list[RuleResult] = field(repr=False)
    roles: pd.DataFrame = field(repr=False)
    hist: dict[tuple[str, str], np.ndarray] = field(repr=False)
    #: per (variant, rule): the ``causes`` object of its misses (:func:`sim.experiment.causes_table`)
    causes: dict[tuple[str, str], dict] = field(default_factory=dict, repr=False)
    #: per (variant, rule): blocking step -> share of the misses it blocked (largest first)
    blocking: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict, repr=False)
    #: per variant: its lever warnings, (code, params) — see :func:`lever_warnings`
    warnings: dict[str, list[tuple[str, dict]]] = field(default_factory=dict)
    crn_mismatched_reps: int = 0
    log: pd.DataFrame | None = field(default=None, repr=False)
    elapsed_s: float = field(default=0.0, compare=False)

    @property
    def names(self) -> list[str]:
        return [v.name for v in self.variants]

    def result(self, variant: str, rule: str) -> RuleResult:
        for r in self.results:
            if r.variant == variant and r.rule == rule:
                return r
        raise KeyError((variant, rule))

    def share(self, variant: str, rule: str) -> float | None:
        return self.result(variant, rule).share

    def applicable_rules(self) -> list[str]:
        """Rules that applied to at least one incident in some variant, in the plan's order."""
        return [rule for rule in RULES if any(r.applicable for r in self.results if r.rule == rule)]

    def key_rules(self) -> list[str]:
        """Applicable rules not met every time by every variant (the ones worth a chart), and all_met."""
        out = []
        for rule in self.applicable_rules():
            rows = [r for r in self.results if r.rule == rule and r.applicable]
            if rule == ALL_MET or any(r.met < r.applicable or (r.diff or 0) != 0 for r in rows):
                out.append(rule)
        return out

    def rule_frame(self) -> pd.DataFrame:
        """One row per variant × rule (the main table, also written to CSV/Parquet)."""
        df = pd.DataFrame([r.__dict__ for r in self.results], columns=RULE_COLUMNS)
        return df.astype({"applicable": "int64", "met": "int64", "pairs": "int64"})

    def role_frame(self) -> pd.DataFrame:
        return self.roles.copy()

    def ecdf(self, variant: str, rule: str) -> tuple[np.ndarray, np.ndarray]:
        """Minutes and share of applicable incidents done by then (plateaus below 1 if some never were)."""
        hist = self.hist[(variant, rule)]
        n = self.result(variant, rule).applicable
        if n == 0 or hist.sum() == 0:
            return np.array([]), np.array([])
        nz = np.nonzero(hist)[0]
        cum = np.cumsum(hist)[nz] / n
        x = (nz + 1) * BIN_MIN
        return x.astype(float), cum.astype(float)

    def ecdf_frame(self) -> pd.DataFrame:
        rows = []
        for (variant, rule), _ in self.hist.items():
            x, y = self.ecdf(variant, rule)
            rows.extend(
                (variant, rule, float(a), round(float(b), 6)) for a, b in zip(x, y, strict=True)
            )
        return pd.DataFrame(rows, columns=["variant", "rule", "minutes", "share_done"])

    def verdicts(self, lang: str = "zh") -> dict[str, str]:
        """A plain-language verdict per variant (not the base), e.g. "+1 night duty officer: ..."."""
        return {v.name: verdict(self, v, lang) for v in self.variants[1:]}

    def verdict_frame(self) -> pd.DataFrame:
        rows = [(v, lang, text) for lang in ("zh", "en") for v, text in self.verdicts(lang).items()]
        return pd.DataFrame(rows, columns=["variant", "lang", "verdict"])

    def frames(self) -> dict[str, pd.DataFrame]:
        out = {
            "rules": self.rule_frame(),
            "roles": self.role_frame(),
            "ecdf": self.ecdf_frame(),
            "verdicts": self.verdict_frame(),
        }
        if self.log is not None:
            out["log"] = self.log
        return out

    def to_csv(self, path: str | Path) -> list[Path]:
        """The rule table at ``path``; roles, ECDF and verdicts beside it (``<stem>_roles.csv``…)."""
        return _write(self.frames(), Path(path), "csv")

    def to_parquet(self, path: str | Path) -> list[Path]:
        return _write(self.frames(), Path(path), "parquet")

    def as_json(self) -> dict:
        """Deterministic: the same arguments give the same JSON (no timings)."""
        return {
            "scenario": self.scenario,
            "reps": self.reps,
            "seed": self.seed,
            "variants": [
                {
                    "name": v.name,
                    "label_zh": v.label_zh,
                    "label_en": v.label_en,
                    "changes": describe(v, "en"),
                }
                for v in self.variants
            ],
            "crn_mismatched_reps": self.crn_mismatched_reps,
            "rules": [
                {
                    **r.__dict__,
                    "causes": self.causes.get((r.variant, r.rule), {}),
                    "blocking_steps": self.blocking.get((r.variant, r.rule), {}),
                }
                for r in self.results
                if r.applicable or r.rule in self.applicable_rules()
            ],
            "roles": [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                for row in self.roles.to_dict("records")
            ],
            "verdicts": {"zh": self.verdicts("zh"), "en": self.verdicts("en")},
            "warnings": {
                name: [
                    {
                        "code": code,
                        **params,
                        "zh": lever_text(code, params, "zh"),
                        "en": lever_text(code, params, "en"),
                    }
                    for code, params in found
                ]
                for name, found in self.warnings.items()
            },
        }

    def warning_lines(self, lang: str) -> list[str]:
        """The lever warnings in words, one line per variant and warning."""
        return [
            f"⚠ {v.label(lang)}: {lever_text(code, params, lang)}"
            for v in self.variants
            for code, params in self.warnings.get(v.name, [])
        ]

    def run(self, variant: str, replication: int):
        """The full record of one replication of one variant (re-run: results are reproducible)."""
        return run_once(self.scenarios[self.names.index(variant)], self.seed, replication)


def _write(frames: dict[str, pd.DataFrame], path: Path, kind: str) -> list[Path]:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for key, df in frames.items():
        target = path if key == "rules" else path.with_name(f"{path.stem}_{key}{path.suffix}")
        if kind == "csv":
            df.to_csv(target, index=False, encoding="utf-8")
        else:
            df.to_parquet(target, index=False)
        written.append(target)
    return written


def read_results(path: str | Path) -> dict[str, pd.DataFrame]:
    """Read back what ``to_csv`` / ``to_parquet`` wrote (by the rules file's path)."""
    path = Path(path)
    out = {}
    for key in ("rules", "roles", "ecdf", "verdicts", "log"):
        target = path if key == "rules" else path.with_name(f"{path.stem}_{key}{path.suffix}")
        if target.exists():
            out[key] = pd.read_csv(target) if path.suffix == ".csv" else pd.read_parquet(target)
    return out


def _variants_with_base(variants: Sequence[Variant]) -> list[Variant]:
    out = [BASE]
    names = {"base"}
    for v in variants:
        if v.is_base and v.name == "base":
            continue
        if v.name in names:
            raise ValueError(f"two variants are named {v.name!r}")
        names.add(v.name)
        out.append(v)
    return out


def compare(
    base: Scenario,
    variants: Sequence[Variant],
    reps: int,
    seed: int,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    *,
    chunk_size: int | None = None,
    full_log: bool = False,
) -> Comparison:
    """Run ``reps`` replications of the base and each variant with common random numbers.

    ``workers``: local processes (None: all cores); ``scheduler``: a Dask scheduler address or
    Client. ``progress(done, total)`` is called as replications finish. The result does not
    depend on ``workers``, ``scheduler`` or ``chunk_size``. Raises InputError if a variant does
    not fit the scenario.
    """
    check_reps(reps, workers)
    t0 = time.perf_counter()
    vs = _variants_with_base(variants)
    scenarios = [base, *apply_all(base, vs[1:])]
    role_lists = [roles_of(s) for s in scenarios]
    accs = [_Acc(len(r)) for r in role_lists]
    logs = []
    done = 0
    for res in run_chunks(
        scenarios,
        seed,
        reps,
        workers=workers,
        scheduler=scheduler,
        chunk_size=chunk_size,
        full_log=full_log,
    ):
        for v, acc in enumerate(accs):
            acc.add(res, v)
        if res.log is not None:
            logs.append(res.log)
        done += res.stop - res.start
        if progress:
            progress(done, reps)
    results = []
    for var, sc, acc in zip(vs, scenarios, accs, strict=True):
        for rule in RULES:
            allowed = sc.plan.rules[rule].allowed_minutes if rule in sc.plan.rules else None
            results.append(_rule_result(var.name, rule, acc, accs[0], allowed))
    roles = _role_rows(vs, scenarios, role_lists, accs)
    warnings = {
        var.name: found
        for var, acc in zip(vs[1:], accs[1:], strict=True)
        if (found := lever_warnings(var, acc))
    }
    blocking = {
        (var.name, rule): _blocking_of(accs[v], RULES.index(rule), rule)
        for v, var in enumerate(vs)
        for rule in RULES
    }
    causes = {
        (var.name, rule): _causes_of(accs[v], RULES.index(rule))
        for v, var in enumerate(vs)
        for rule in RULES
    }
    hist = {
        (var.name, rule): accs[v].hist[RULES.index(rule)]
        for v, var in enumerate(vs)
        for rule in RULES
    }
    log = None
    if full_log:
        log = pd.concat(logs, ignore_index=True) if logs else None
        if log is not None:
            log["variant"] = [vs[i].name for i in log["variant"]]
    return Comparison(
        scenario=base.name,
        reps=reps,
        seed=seed,
        variants=vs,
        scenarios=scenarios,
        results=results,
        roles=roles,
        hist=hist,
        causes=causes,
        blocking=blocking,
        warnings=warnings,
        crn_mismatched_reps=max(a.crn_mismatch for a in accs),
        log=log,
        elapsed_s=time.perf_counter() - t0,
    )


def _role_rows(vs, scenarios, role_lists, accs) -> pd.DataFrame:
    rows = []
    for var, sc, roles, acc in zip(vs, scenarios, role_lists, accs, strict=True):
        horizon = sc.days * DAY
        for j, role in enumerate(roles):
            people = sum(1 for p in sc.roster.people if role in p.roles)
            calls, missed = (int(x) for x in acc.calls[j])
            rows.append(
                {
                    "variant": var.name,
                    "role": role,
                    "people": people,
                    "busy_share": round(
                        float(acc.busy[j]) / (horizon * people * max(1, acc.reps)), 6
                    ),
                    "busy_min_per_rep": round(float(acc.busy[j]) / max(1, acc.reps), 3),
                    "calls_per_rep": round(calls / max(1, acc.reps), 4),
                    "unanswered_share": round(missed / calls, 6) if calls else None,
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "variant",
            "role",
            "people",
            "busy_share",
            "busy_min_per_rep",
            "calls_per_rep",
            "unanswered_share",
        ],
    )


# -- verdicts --------------------------------------------------------------------------------


def rule_name(scenario: Scenario, rule: str, lang: str) -> str:
    if rule == ALL_MET:
        return t("plan_all_met", lang)
    return label(scenario.plan, "rules", rule, lang)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def verdict(comp: Comparison, variant: Variant, lang: str = "zh", max_rules: int = 4) -> str:
    """E.g. "+1 night duty officer: First report within 3 hours 91.2% → 97.9% (+6.7 points ±1.2)"."""
    sc = comp.scenarios[comp.names.index(variant.name)]
    rows = [comp.result(variant.name, rule) for rule in comp.applicable_rules()]
    rows = [
        r for r in rows if r.share is not None and comp.result("base", r.rule).share is not None
    ]
    headline = [r for r in rows if r.rule in ("first_report_3h", ALL_MET)]
    changed = sorted(
        (r for r in rows if r.significant and r not in headline), key=lambda r: -abs(r.diff or 0)
    )
    shown = headline + changed[: max(0, max_rules - len(headline))]
    parts = []
    for r in shown:
        b = comp.result("base", r.rule)
        half = (r.diff_hi - r.diff_lo) / 2 if r.diff_lo is not None else 0.0
        clock = ""
        if (
            r.allowed_min is not None
            and b.allowed_min is not None
            and r.allowed_min != b.allowed_min
        ):
            clock = t("plan_verdict_clock", lang, minutes=f"{r.allowed_min:g}")
        if r.significant:
            trend = t(
                "plan_verdict_diff", lang, diff=f"{100 * r.diff:+.1f}", half=f"{100 * half:.1f}"
            )
        elif r.diff == 0 and not r.diff_sd:
            trend = t("plan_verdict_identical", lang)
        else:
            trend = t("plan_verdict_no_change", lang, half=f"{100 * half:.1f}")
        parts.append(
            t(
                "plan_verdict_rule",
                lang,
                rule=rule_name(sc, r.rule, lang) + clock,
                base=_pct(b.share),
                share=_pct(r.share),
                trend=trend,
            )
        )
    others = [r for r in rows if r not in shown]
    tail = ""
    if others and not any(r.significant for r in others):
        tail = t("plan_verdict_others_same", lang)
    elif others:
        tail = t("plan_verdict_others_changed", lang, n=sum(r.significant for r in others))
    sep = "；" if lang == "zh" else "; "
    return f"{variant.label(lang)}{'：' if lang == 'zh' else ': '}" + sep.join(parts) + tail


# -- replications needed ---------------------------------------------------------------------


@dataclass
class Precision:
    """Replications needed for a stated 95% half-width, from a pilot run."""

    half_width: float
    pilot_reps: int
    table: pd.DataFrame  # variant, rule, estimate, needed_reps (share) / needed_reps_diff
    reps: int  # the most needed over the target rules
    seconds_per_rep: float  # wall time per replication of all variants in the pilot

    def seconds(self, reps: int | None = None) -> float:
        return (reps if reps is not None else self.reps) * self.seconds_per_rep


def reps_for_precision(
    base: Scenario,
    variants: Sequence[Variant] = (),
    *,
    half_width: float = 0.01,
    rules: Sequence[str] = ("first_report_3h", ALL_MET),
    pilot_reps: int = 200,
    seed: int = 1,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    max_reps: int = 1_000_000,
) -> Precision:
    """How many replications give a 95% interval of ± ``half_width`` (confidence-interval method).

    A pilot of ``pilot_reps`` estimates, per rule, the per-replication spread s of the share
    (ratio estimator: s² = var(m − p·n), over n̄² incidents a replication) and of the paired
    difference to the base; the replications needed are ⌈(z·s / h)²⌉. A rule met (or missed)
    in every pilot incident uses p̃ = (met + 2) / (n + 4) instead of a zero spread.
    """
    comp = compare(
        base, variants, pilot_reps, seed, workers=workers, scheduler=scheduler, progress=progress
    )
    return precision_from(comp, half_width=half_width, rules=rules, max_reps=max_reps)


def precision_from(
    comp: Comparison,
    *,
    half_width: float,
    rules: Sequence[str] = ("first_report_3h", ALL_MET),
    max_reps: int = 1_000_000,
) -> Precision:
    """The replications needed, estimated from an existing (pilot) comparison."""
    if half_width <= 0:
        raise ValueError("half_width must be above 0")
    rows = []
    k = comp.reps
    for r in comp.results:
        if not r.applicable:
            continue
        n_bar = r.applicable / k
        sd = r.share_sd or 0.0
        if sd <= 1e-9:  # met (or missed) every time in the pilot: a binomial spread with p̃
            pt = (r.met + 2) / (r.applicable + 4)
            sd = math.sqrt(pt * (1 - pt) / n_bar)
        need = _ceil_reps((Z95 * sd / half_width) ** 2, max_reps)
        need_diff = None
        if r.variant != "base" and r.diff_sd is not None:
            need_diff = _ceil_reps((Z95 * r.diff_sd / half_width) ** 2, max_reps)
        rows.append(
            {
                "variant": r.variant,
                "rule": r.rule,
                "estimate": r.share,
                "incidents_per_rep": round(n_bar, 4),
                "needed_reps": need,
                "needed_reps_diff": need_diff,
                "target": r.rule in rules,
            }
        )
    columns = [
        "variant",
        "rule",
        "estimate",
        "incidents_per_rep",
        "needed_reps",
        "needed_reps_diff",
        "target",
    ]
    table = pd.DataFrame(rows, columns=columns)
    targets = table[table["target"]]
    needs = [int(x) for x in targets["needed_reps"].dropna()] + [
        int(x) for x in targets["needed_reps_diff"].dropna()
    ]
    reps = max(needs) if needs else comp.reps
    return Precision(half_width, comp.reps, table, reps, comp.elapsed_s / max(1, comp.reps))


def _ceil_reps(x: float, max_reps: int) -> int:
    return int(min(max_reps, max(2, math.ceil(x - 1e-9))))


# -- staffing on a grid ----------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One staffing dimension: ``counts`` extra people of ``role`` made from a template.

    Extra people are named ``<name>_1``, ``<name>_2``…, placed in the role's call chain at
    ``chain`` (``end`` keeps everyone else's calls as they were: more staff is never worse).
    """

    name: str
    role: str
    counts: tuple[int, ...]
    default_state: str = "on_call"
    shifts: tuple[Shift, ...] = ()
    answer_prob: Mapping[str, float] | None = None  # per duty state, for the extra people
    chain: str = "end"
    label_zh: str = ""
    label_en: str = ""
    cost: float = 1.0

    def label(self, lang: str = "zh") -> str:
        return (self.label_zh if lang == "zh" else self.label_en) or self.name

    def people(self, k: int) -> list[dict[str, Any]]:
        out = []
        for i in range(1, k + 1):
            pid = f"{self.name}_{i}"
            d: dict[str, Any] = {
                "id": pid,
                "role": self.role,
                "name_zh": f"{self.label('zh')}{i}",
                "name_en": f"{self.label('en')} {i}",
                "default_state": self.default_state,
                "chain": self.chain,
            }
            if self.shifts:
                d["duty"] = [
                    {
                        "days": "all" if s.days is None else list(s.days),
                        "from": _hhmm(s.start_min),
                        "to": _hhmm(s.end_min),
                        "state": s.state,
                    }
                    for s in self.shifts
                ]
            if self.answer_prob:
                d["reach"] = {s: {"answer_prob": p} for s, p in self.answer_prob.items()}
            out.append(d)
        return out


def _hhmm(minutes: int) -> str:
    minutes %= DAY
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def grid_variant(axes: Sequence[Axis], counts: Sequence[int]) -> Variant:
    """The variant adding ``counts[i]`` people on axis ``i``."""
    name = "grid_" + "_".join(f"{a.name}{k}" for a, k in zip(axes, counts, strict=True))
    adds = [p for a, k in zip(axes, counts, strict=True) for p in a.people(k)]
    zh = "，".join(f"{a.label('zh')}+{k}" for a, k in zip(axes, counts, strict=True))
    en = ", ".join(f"{a.label('en')} +{k}" for a, k in zip(axes, counts, strict=True))
    return variant_from_dict(
        {"name": name, "label_zh": zh, "label_en": en, "roster": {"add": adds}}, name=name
    )


@dataclass
class Sizing:
    """The grid search's answer: the cheapest cell meeting every target, and what was evaluated."""

    axes: list[Axis]
    targets: dict[str, float]
    criterion: str
    cells: pd.DataFrame  # one row per evaluated cell: counts, cost, share / lo / hi per rule, meets
    best: dict[str, int] | None  # axis name -> extra people, or None when no cell meets the targets
    comparisons: list[Comparison] = field(default_factory=list, repr=False)
    #: when no cell meets the targets: per target missed by the closest cell, what blocks it
    blocked_by: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "axes": [{"name": a.name, "role": a.role, "counts": list(a.counts)} for a in self.axes],
            "targets": self.targets,
            "criterion": self.criterion,
            "best": self.best,
            "blocked_by": self.blocked_by,
            "cells": self.cells.to_dict("records"),
        }

    def blocked_lines(self, plan, lang: str) -> list[str]:
        """What blocks each target no staffing on the grid reaches, in words."""
        out = []
        for b in self.blocked_by:
            name = step_label(plan, b["step"], lang)
            out.append(
                t(
                    "size_blocked",
                    lang,
                    rule=label(plan, "rules", b["rule"], lang),
                    share=f"{100 * (b['share'] or 0):.1f}",
                    target=f"{100 * b['target']:.1f}",
                    step=name,
                    blocked=f"{100 * b['step_share']:.0f}",
                    cause=t("cause_" + b["cause"], lang) if b["cause"] else "—",
                    minutes=f"{b['cause_minutes']:.0f}",
                )
            )
        return out


def size_grid(
    base: Scenario,
    axes: Sequence[Axis],
    targets: Mapping[str, float],
    reps: int,
    seed: int,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    *,
    criterion: str = "estimate",
    exhaustive: bool = False,
) -> Sizing:
    """The smallest staffing on the grid whose met shares reach every target.

    Cells are evaluated in order of cost (Σ extra people × axis cost), a cost level at a time with
    common random numbers; the search stops at the first level where some cell meets every
    target (``criterion``: ``estimate`` — the share itself; ``lower`` — its 95% lower bound) and
    returns the best of them (highest worst margin). ``exhaustive`` evaluates the whole grid (for
    a heatmap) and still returns the cheapest cell.
    """
    if criterion not in ("estimate", "lower"):
        raise ValueError("criterion must be 'estimate' or 'lower'")
    for rule in targets:
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}")
    axes = list(axes)
    n_cells = math.prod(len(a.counts) for a in axes)
    if n_cells > MAX_GRID_CELLS:
        raise ValueError(
            f"the grid holds {n_cells:,} cells, above the cap of {MAX_GRID_CELLS:,} (MAX_GRID_CELLS)"
        )
    cells = sorted(itertools.product(*(a.counts for a in axes)), key=lambda c: (_cost(axes, c), c))
    levels: dict[float, list[tuple[int, ...]]] = {}
    for c in cells:
        levels.setdefault(_cost(axes, c), []).append(c)
    rows, comps, best = [], [], None
    closest: tuple[float, tuple[int, ...], Comparison, str] | None = None
    total_cells = len(cells)
    done_cells = 0
    for cost in sorted(levels):
        group = levels[cost]
        variants = [grid_variant(axes, c) for c in group]

        tick = _offset_progress(progress, done_cells * reps, len(group), total_cells * reps)

        comp = compare(
            base, variants, reps, seed, workers=workers, scheduler=scheduler, progress=tick
        )
        comps.append(comp)
        done_cells += len(group)
        found = []
        for c, v in zip(group, variants, strict=True):
            row: dict[str, Any] = {a.name: k for a, k in zip(axes, c, strict=True)}
            row["cost"] = cost
            margins = []
            for rule, target in targets.items():
                r = comp.result(v.name, rule)
                value = r.share if criterion == "estimate" else r.ci_lo
                row[f"{rule}_share"] = r.share
                row[f"{rule}_lo"] = r.ci_lo
                row[f"{rule}_hi"] = r.ci_hi
                margins.append(-1.0 if value is None else value - target)
            row["meets"] = all(m >= 0 for m in margins)
            rows.append(row)
            if closest is None or min(margins) > closest[0]:
                closest = (min(margins), c, comp, v.name)
            if row["meets"]:
                found.append((min(margins), c))
        if found and best is None:
            found.sort(key=lambda x: (-x[0], x[1]))
            best = {a.name: k for a, k in zip(axes, found[0][1], strict=True)}
            if not exhaustive:
                break
    frame = pd.DataFrame(rows)
    blocked = (
        [] if best is not None or closest is None else _blocked_by(closest, targets, criterion)
    )
    return Sizing(axes, dict(targets), criterion, frame, best, comps, blocked)


def _blocked_by(closest, targets: Mapping[str, float], criterion: str) -> list[dict[str, Any]]:
    """For the cell closest to the targets, per target it misses: the step that blocked most of
    its misses, and the cause that cost most per miss."""
    _, cell, comp, name = closest
    out = []
    for rule, target in targets.items():
        r = comp.result(name, rule)
        value = r.share if criterion == "estimate" else r.ci_lo
        if value is not None and value >= target:
            continue
        steps = comp.blocking.get((name, rule), {})
        causes = comp.causes.get((name, rule), {})
        step, step_share = next(iter(steps.items()), ("", 0.0))
        cause, c = max(causes.items(), key=lambda kv: kv[1]["minutes_per_miss"], default=("", {}))
        out.append(
            {
                "rule": rule,
                "target": target,
                "share": r.share,
                "cell": list(cell),
                "step": step,
                "step_share": step_share,
                "cause": cause,
                "cause_minutes": c.get("minutes_per_miss", 0.0),
            }
        )
    return out


def _offset_progress(
    progress: Progress | None, offset: int, per_rep: int, total: int
) -> Progress | None:
    """Progress of one batch of cells reported as progress over the whole grid."""
    if progress is None:
        return None
    return lambda done, _total: progress(offset + done * per_rep, total)


def _cost(axes: Sequence[Axis], counts: Sequence[int]) -> float:
    return round(sum(a.cost * k for a, k in zip(axes, counts, strict=True)), 9)


# -- one-parameter sweep ---------------------------------------------------------------------


@dataclass
class Sweep:
    """Met shares as one parameter varies; each value is paired with the base (CRN)."""

    param: str
    values: list[Any]
    comparison: Comparison = field(repr=False)
    frame: pd.DataFrame = field(
        repr=False
    )  # value, rule, share, ci_lo, ci_hi, diff, diff_lo, diff_hi

    def as_json(self) -> dict:
        return {"param": self.param, "values": self.values, "rows": self.frame.to_dict("records")}


def sweep(
    base: Scenario,
    param: str,
    values: Sequence[Any],
    reps: int,
    seed: int,
    workers: int | None = None,
    scheduler: Any = None,
    progress: Progress | None = None,
    *,
    extra: Mapping[str, Any] | None = None,
) -> Sweep:
    """Vary ``param`` — a dotted path in the variant file format, e.g.
    ``roster.reachability.off_duty.answer_prob``, ``plan.rules.first_report_3h``,
    ``sites.site_c.travel_scale``, ``timing.max_call_rounds`` — over ``values``.

    ``extra`` is an override document merged into every point (e.g. a staffing change).
    """
    variants = []
    if len(values) > MAX_SWEEP_POINTS:  # the command line, the page and notebooks alike
        raise ValueError(
            f"a sweep tries at most {MAX_SWEEP_POINTS} values (MAX_SWEEP_POINTS), got {len(values)}"
        )
    for i, value in enumerate(values):
        doc = set_path(param, value)
        if extra:
            doc = _merge(dict(extra), doc)
        doc.update(
            {"name": f"v{i}", "label_zh": f"{param} = {value}", "label_en": f"{param} = {value}"}
        )
        variants.append(variant_from_dict(doc, name=f"v{i}"))
    comp = compare(
        base, variants, reps, seed, workers=workers, scheduler=scheduler, progress=progress
    )
    rows = []
    for v, value in zip(variants, values, strict=True):
        for rule in comp.applicable_rules():
            r = comp.result(v.name, rule)
            rows.append(
                {
                    "value": value,
                    "rule": rule,
                    "share": r.share,
                    "ci_lo": r.ci_lo,
                    "ci_hi": r.ci_hi,
                    "diff": r.diff,
                    "diff_lo": r.diff_lo,
                    "diff_hi": r.diff_hi,
                    "p50_min": r.p50_min,
                }
            )
    return Sweep(param, list(values), comp, pd.DataFrame(rows))


def _merge(a: dict, b: Mapping) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = (
            _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
        )
    return out


# -- figures ---------------------------------------------------------------------------------

COLOURS = (
    "#4c4c4c",
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
)


def _plt():
    from sim.fonts import use_cjk_in_matplotlib

    use_cjk_in_matplotlib()
    import matplotlib.pyplot as plt

    return plt


def _legend_below(fig, ax, n: int) -> None:
    """The legend under the plot, so it never covers bars (rows of up to three entries)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        fig.tight_layout()
        return
    rows = -(-len(handles) // 3)
    reserve = (0.12 + 0.2 * rows) / fig.get_figheight()
    # typed variant labels: a "$" must not switch matplotlib into maths notation
    labels = [text.replace("$", r"\$") for text in labels]
    fig.legend(
        handles, labels, loc="lower center", ncol=min(3, len(handles)), fontsize=8, frameon=False
    )
    fig.tight_layout(rect=(0, reserve, 1, 1))


def share_figure(comp: Comparison, lang: str = "zh", rules: Sequence[str] | None = None):
    """Share met per rule and variant, with Wilson 95% intervals as error bars."""
    plt = _plt()
    rules = list(rules or comp.key_rules())
    sc = comp.scenarios[0]
    nv = len(comp.variants)
    fig, ax = plt.subplots(figsize=(9, 0.5 + 0.32 * len(rules) * nv + 0.4), dpi=100)
    height = 0.8 / nv
    for j, v in enumerate(comp.variants):
        ys, xs, lo, hi = [], [], [], []
        for i, rule in enumerate(rules):
            r = comp.result(v.name, rule)
            if r.share is None:
                continue
            ys.append(i + (j - (nv - 1) / 2) * height)
            xs.append(100 * r.share)
            lo.append(100 * (r.share - r.ci_lo))
            hi.append(100 * (r.ci_hi - r.share))
        ax.barh(
            ys,
            xs,
            height=height * 0.9,
            xerr=[lo, hi],
            color=COLOURS[j % len(COLOURS)],
            capsize=2,
            label=v.label(lang),
            error_kw={"lw": 1},
        )
    ax.set_yticks(range(len(rules)))
    ax.set_yticklabels([rule_name(sc, r, lang) for r in rules], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 105)
    ax.set_xlabel(t("plan_fig_share_axis", lang))
    ax.set_title(t("plan_fig_share_title", lang, reps=comp.reps))
    ax.grid(axis="x", alpha=0.3)
    _legend_below(fig, ax, nv)
    return fig


def diff_figure(comp: Comparison, lang: str = "zh", rules: Sequence[str] | None = None):
    """Paired difference to the base per rule and variant (points with 95% intervals)."""
    plt = _plt()
    rules = list(rules or comp.key_rules())
    sc = comp.scenarios[0]
    others = comp.variants[1:]
    nv = max(1, len(others))
    fig, ax = plt.subplots(figsize=(9, 0.6 + 0.3 * len(rules) * nv + 0.4), dpi=100)
    step = 0.8 / nv
    for j, v in enumerate(others):
        for i, rule in enumerate(rules):
            r = comp.result(v.name, rule)
            if r.diff is None:
                continue
            y = i + (j - (nv - 1) / 2) * step
            ax.errorbar(
                [100 * r.diff],
                [y],
                xerr=[[100 * (r.diff - r.diff_lo)], [100 * (r.diff_hi - r.diff)]],
                fmt="o",
                ms=4,
                capsize=3,
                color=COLOURS[(j + 1) % len(COLOURS)],
                label=v.label(lang) if i == 0 else None,
            )
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(rules)))
    ax.set_yticklabels([rule_name(sc, r, lang) for r in rules], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(t("plan_fig_diff_axis", lang))
    ax.set_title(t("plan_fig_diff_title", lang))
    ax.grid(axis="x", alpha=0.3)
    _legend_below(fig, ax, len(others))
    return fig


def ecdf_figure(comp: Comparison, rule: str = "first_report_3h", lang: str = "zh"):
    """Share of applicable incidents done within x minutes, per variant; the rule's clock dashed."""
    plt = _plt()
    sc = comp.scenarios[0]
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    for j, v in enumerate(comp.variants):
        x, y = comp.ecdf(v.name, rule)
        if x.size:
            ax.step(
                np.concatenate([[0.0], x]),
                100 * np.concatenate([[0.0], y]),
                where="post",
                color=COLOURS[j % len(COLOURS)],
                label=v.label(lang),
            )
        allowed = comp.result(v.name, rule).allowed_min
        if allowed is not None and (j == 0 or allowed != comp.result("base", rule).allowed_min):
            ax.axvline(allowed, color=COLOURS[j % len(COLOURS)], ls="--", lw=1)
    ax.set_xlabel(t("plan_fig_ecdf_axis", lang))
    ax.set_ylabel(t("plan_fig_ecdf_share", lang))
    ax.set_ylim(0, 102)
    ax.set_title(t("plan_fig_ecdf_title", lang, rule=rule_name(sc, rule, lang)))
    ax.grid(alpha=0.3)
    _legend_below(fig, ax, len(comp.variants))
    return fig


def load_figure(comp: Comparison, lang: str = "zh", metric: str = "calls_per_rep"):
    """Load per role and variant: calls per replication (or busy minutes per replication)."""
    plt = _plt()
    sc = comp.scenarios[0]
    df = comp.roles
    roles = [
        r for r in dict.fromkeys(df["role"]) if df[df["role"] == r][metric].fillna(0).sum() > 0
    ]
    nv = len(comp.variants)
    fig, ax = plt.subplots(figsize=(9, 0.6 + 0.3 * len(roles) * nv + 0.4), dpi=100)
    height = 0.8 / nv
    for j, v in enumerate(comp.variants):
        sub = df[df["variant"] == v.name].set_index("role")
        ys = [i + (j - (nv - 1) / 2) * height for i, r in enumerate(roles) if r in sub.index]
        xs = [float(sub.loc[r, metric]) for r in roles if r in sub.index]
        ax.barh(ys, xs, height=height * 0.9, color=COLOURS[j % len(COLOURS)], label=v.label(lang))
    ax.set_yticks(range(len(roles)))
    ax.set_yticklabels([label(sc.plan, "roles", r, lang) for r in roles], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(t(f"plan_fig_load_{metric}", lang))
    ax.set_title(t("plan_fig_load_title", lang))
    ax.grid(axis="x", alpha=0.3)
    _legend_below(fig, ax, nv)
    return fig


def sweep_figure(sw: Sweep, lang: str = "zh", rules: Sequence[str] | None = None):
    """Met share against the parameter, with 95% intervals."""
    plt = _plt()
    sc = sw.comparison.scenarios[0]
    rules = list(rules or dict.fromkeys(sw.frame["rule"]))
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in sw.values)
    xs_all = list(sw.values) if numeric else list(range(len(sw.values)))
    for j, rule in enumerate(rules):
        sub = sw.frame[sw.frame["rule"] == rule]
        if sub.empty:
            continue
        xs = [xs_all[sw.values.index(v)] for v in sub["value"]]
        share = 100 * sub["share"].astype(float).to_numpy()
        lo = share - 100 * sub["ci_lo"].astype(float).to_numpy()
        hi = 100 * sub["ci_hi"].astype(float).to_numpy() - share
        ax.errorbar(
            xs,
            share,
            yerr=[lo, hi],
            fmt="-o",
            ms=4,
            capsize=3,
            color=COLOURS[(j + 1) % len(COLOURS)],
            label=rule_name(sc, rule, lang),
        )
    if not numeric:
        ax.set_xticks(xs_all)
        ax.set_xticklabels([str(v) for v in sw.values])
    ax.set_xlabel(sw.param)
    ax.set_ylabel(t("plan_fig_share_axis", lang))
    ax.set_title(t("plan_fig_sweep_title", lang, param=sw.param))
    ax.grid(alpha=0.3)
    _legend_below(fig, ax, len(rules))
    return fig


def sizing_figure(sz: Sizing, rule: str | None = None, lang: str = "zh"):
    """Met share over the evaluated grid (two axes: a heatmap; one axis: bars), best cell marked."""
    plt = _plt()
    rule = rule or next(iter(sz.targets))
    col = f"{rule}_share"
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    df = sz.cells
    if len(sz.axes) >= 2:
        a, b = sz.axes[0], sz.axes[1]
        grid = np.full((len(b.counts), len(a.counts)), np.nan)
        for _, row in df.iterrows():
            if row[col] is not None and not pd.isna(row[col]):
                grid[b.counts.index(int(row[b.name])), a.counts.index(int(row[a.name]))] = (
                    100 * float(row[col])
                )
        im = ax.imshow(
            grid,
            origin="lower",
            cmap="RdYlGn",
            vmin=max(0.0, float(np.nanmin(grid)) - 5) if np.isfinite(grid).any() else 0,
            vmax=100,
            aspect="auto",
        )
        for i in range(grid.shape[0]):
            for j in range(grid.shape[1]):
                if np.isfinite(grid[i, j]):
                    ax.text(j, i, f"{grid[i, j]:.1f}", ha="center", va="center", fontsize=8)
        if sz.best:
            ax.scatter(
                [a.counts.index(sz.best[a.name])],
                [b.counts.index(sz.best[b.name])],
                s=900,
                facecolors="none",
                edgecolors="black",
                lw=2,
            )
        ax.set_xticks(range(len(a.counts)))
        ax.set_xticklabels([f"+{k}" for k in a.counts])
        ax.set_yticks(range(len(b.counts)))
        ax.set_yticklabels([f"+{k}" for k in b.counts])
        ax.set_xlabel(a.label(lang))
        ax.set_ylabel(b.label(lang))
        fig.colorbar(im, ax=ax, label=t("plan_fig_share_axis", lang))
    else:
        a = sz.axes[0]
        xs = [int(x) for x in df[a.name]]
        ys = [100 * float(x) for x in df[col]]
        ax.bar(xs, ys, color=["#2ca02c" if m else "#999999" for m in df["meets"]])
        ax.set_xlabel(a.label(lang))
        ax.set_ylabel(t("plan_fig_share_axis", lang))
    ax.set_title(
        t(
            "plan_fig_sizing_title",
            lang,
            rule=rule_name(sz.comparisons[0].scenarios[0], rule, lang) if sz.comparisons else rule,
            target=f"{100 * sz.targets[rule]:g}%",
        )
    )
    fig.tight_layout()
    return fig


def save_figures(
    comp: Comparison, path: str | Path, lang: str = "zh", rule: str = "first_report_3h"
) -> list[Path]:
    """PNG files: shares with error bars at ``path``; differences, ECDF and role load beside it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    figs = [
        ("", share_figure(comp, lang)),
        ("_diff", diff_figure(comp, lang)),
        ("_load", load_figure(comp, lang)),
    ]
    if rule in comp.applicable_rules() and rule != ALL_MET:
        figs.insert(2, ("_ecdf", ecdf_figure(comp, rule, lang)))
    for suffix, fig in figs:
        target = path.with_name(f"{path.stem}{suffix}{path.suffix or '.png'}")
        fig.savefig(target, metadata={"Software": None})
        plt.close(fig)
        out.append(target)
    return out


__all__ = [
    "ALL_MET",
    "Axis",
    "Comparison",
    "Precision",
    "RuleResult",
    "Sizing",
    "Sweep",
    "compare",
    "diff_figure",
    "ecdf_figure",
    "grid_variant",
    "load_figure",
    "precision_from",
    "read_results",
    "reps_for_precision",
    "save_figures",
    "share_figure",
    "size_grid",
    "sizing_figure",
    "sweep",
    "sweep_figure",
    "t_quantile",
    "verdict",
]
