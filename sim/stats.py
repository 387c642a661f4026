"""The statistics of replications, computed from running sums (never from a list of runs).

Shares with Wilson intervals; the spread of a ratio estimator (met / applicable, summed over
replications) and the paired difference of two of them (delta method, t interval); the mean of
per-replication differences; percentiles from times binned in 0.5-minute steps; and the
replications a stated half-width needs.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from sim.scenario import DAY

Z95 = 1.959963984540054
BIN_MIN = 0.5  # time resolution of the binned distributions, minutes
N_BINS = int(3 * DAY / BIN_MIN)  # up to three days; longer times fall in an overflow bin


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


def wilson(met: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score 95% interval for a share (well-behaved at 0 % and 100 %)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = met / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def seq_add(total: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``total`` plus every row of ``values`` added one after another, so a float sum does not
    depend on how replications were cut into chunks."""
    if values.shape[0] == 0:
        return total
    return np.add.accumulate(np.concatenate([total[None, ...], values], axis=0), axis=0)[-1]


def bin_counts(times: np.ndarray) -> np.ndarray:
    """Times in minutes counted in :data:`BIN_MIN` bins (the last one holds every longer time)."""
    idx = np.minimum((times / BIN_MIN).astype(np.int64), N_BINS)
    return np.bincount(idx, minlength=N_BINS + 1)


def binned_percentile(
    hist: np.ndarray, q: float, lo: float = -math.inf, hi: float = math.inf
) -> float | None:
    """The ``q`` quantile of binned times: the middle of its bin (within ±BIN_MIN / 2), kept
    within the smallest and largest time ``lo``, ``hi`` (so a constant time is exact)."""
    total = int(hist.sum())
    if total == 0:
        return None
    idx = int(np.searchsorted(np.cumsum(hist), math.ceil(q * total)))
    mid = (idx + 0.5) * BIN_MIN if idx < N_BINS else N_BINS * BIN_MIN
    return min(max(mid, lo), hi)


def ratio_ss(sn: int, sm: int, snn: int, smm: int, snm: int) -> float:
    """Σ (m − p·n)² over replications, from the sums of n, m, n², m², n·m (p = Σm / Σn)."""
    p = sm / sn
    return smm - 2 * p * snm + p * p * snn


def paired_ratio_diff(
    k: int,
    own: tuple[int, int, int, int, int],
    base: tuple[int, int, int, int, int],
    cross: tuple[int, int, int, int],
) -> tuple[float | None, float | None, float | None, float | None, float | None]:
    """(share_sd, diff, lo, hi, diff_sd) of a ratio estimator and its paired difference to a base.

    ``own`` and ``base`` are Σn, Σm, Σn², Σm², Σnm over ``k`` replications; ``cross`` is
    Σ m·m_b, m·n_b, n·m_b, n·n_b. The spread per replication is s / n̄ (delta method); the
    difference's 95% interval is a t interval on ``k − 1`` degrees of freedom.
    """
    sn, sm = own[0], own[1]
    if not sn or k <= 1:
        return None, None, None, None, None
    rv, nv_bar = sm / sn, sn / k
    ss_v = ratio_ss(*own)
    share_sd = math.sqrt(max(0.0, ss_v) / (k - 1)) / nv_bar
    bn, bm = base[0], base[1]
    if not bn:
        return share_sd, None, None, None, None
    rb, nb_bar = bm / bn, bn / k
    ss_b = ratio_ss(*base)
    xmm, xmn, xnm, xnn = cross
    cov = xmm - rb * xmn - rv * xnm + rv * rb * xnn
    ssz = ss_v / nv_bar**2 + ss_b / nb_bar**2 - 2 * cov / (nv_bar * nb_bar)
    diff_sd = math.sqrt(max(0.0, ssz) / (k - 1))
    diff = rv - rb
    half = t_quantile(0.975, k - 1) * diff_sd / math.sqrt(k)
    return share_sd, diff, diff - half, diff + half, diff_sd


def mean_interval(total: float, total_sq: float, k: int) -> tuple[float, float, float] | None:
    """Mean and 95% t interval of ``k`` values given their sum and sum of squares (k > 1)."""
    if k <= 1:
        return None
    mean = total / k
    var = max(0.0, (total_sq - k * mean * mean) / (k - 1))
    half = t_quantile(0.975, k - 1) * math.sqrt(var / k)
    return mean, mean - half, mean + half


def reps_needed(sd: float, half_width: float, max_reps: int) -> int:
    """⌈(z·s / h)²⌉ replications for a 95% half-width ``h`` (at least 2, at most ``max_reps``)."""
    x = (Z95 * sd / half_width) ** 2
    return int(min(max_reps, max(2, math.ceil(x - 1e-9))))


__all__ = [
    "BIN_MIN",
    "N_BINS",
    "Z95",
    "bin_counts",
    "binned_percentile",
    "mean_interval",
    "paired_ratio_diff",
    "ratio_ss",
    "reps_needed",
    "seq_add",
    "t_quantile",
    "wilson",
]
