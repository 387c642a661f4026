"""Statistics from running sums: binned percentiles, paired differences, replications needed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.stats import (
    BIN_MIN,
    bin_counts,
    binned_percentile,
    mean_interval,
    paired_ratio_diff,
    reps_needed,
    wilson,
)


def test_a_binned_percentile_is_within_half_a_bin_of_the_exact_one():
    times = np.random.default_rng(3).gamma(2.0, 40.0, 5_000)
    hist = bin_counts(times)
    for q in (0.1, 0.5, 0.9, 0.99):
        exact = float(np.percentile(times, 100 * q, method="inverted_cdf"))
        got = binned_percentile(hist, q, times.min(), times.max())
        assert abs(got - exact) <= BIN_MIN / 2, q


@pytest.mark.parametrize("minutes", [0.0, 15.0, 240.0])
def test_a_constant_time_is_its_own_percentile(minutes):
    times = np.full(7, minutes)
    assert binned_percentile(bin_counts(times), 0.9, minutes, minutes) == minutes
    assert binned_percentile(bin_counts(np.zeros(0)), 0.5) is None


def test_paired_difference_of_identical_variants_is_exactly_zero():
    n, m = np.array([3, 4, 2, 5]), np.array([2, 4, 1, 3])
    sums = tuple(int(x) for x in (n.sum(), m.sum(), (n * n).sum(), (m * m).sum(), (n * m).sum()))
    cross = tuple(int(x) for x in ((m * m).sum(), (m * n).sum(), (n * m).sum(), (n * n).sum()))
    share_sd, diff, lo, hi, diff_sd = paired_ratio_diff(4, sums, sums, cross)
    assert share_sd > 0 and diff == 0 and diff_sd == 0 and lo == hi == 0
    assert paired_ratio_diff(1, sums, sums, cross) == (None,) * 5


def test_mean_interval_and_reps_needed():
    mean, lo, hi = mean_interval(6.0, 14.0, 3)  # values 1, 2, 3
    assert mean == 2.0 and lo < 2.0 < hi and math.isclose(hi - mean, mean - lo)
    assert mean_interval(1.0, 1.0, 1) is None
    assert reps_needed(0.5, 0.01, 10**6) == math.ceil((1.959963984540054 * 0.5 / 0.01) ** 2)
    assert reps_needed(0.5, 0.01, 100) == 100 and reps_needed(0.0, 0.01, 100) == 2
    assert wilson(0, 10)[0] == 0.0 and math.isclose(wilson(10, 10)[1], 1.0)
