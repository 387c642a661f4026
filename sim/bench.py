"""Benchmark: the model's speed against a bare-SimPy reference measured in the same run.

These machines are shared and noisy, so absolute figures mean little; the ratio of the model's
events/s to bare SimPy's events/s (same process, same moment) is the figure to compare, and
``replication_cost_bare_events`` (one replication's cost in bare-SimPy events) compares model
versions that schedule different numbers of events.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import simpy

from sim.experiment import run_once
from sim.model import Model
from sim.policy import start_incident
from sim.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


class _CountingEnvironment(simpy.Environment):
    """Counts processed events (used once, outside the timed runs)."""

    def __init__(self) -> None:
        super().__init__()
        self.processed = 0

    def step(self) -> None:
        self.processed += 1
        super().step()


def count_events(scenario, seed: int, reps: int) -> int:
    total = 0
    for i in range(reps):
        env = _CountingEnvironment()
        m = Model(scenario, seed, i, env=env)
        for inc in m.incidents:
            start_incident(m, inc)
        env.run()
        total += env.processed
    return total


def bare_simpy(n_events: int) -> float:
    """Seconds for bare SimPy to process ``n_events`` timeouts in one process."""
    env = simpy.Environment()

    def proc(env):
        for _ in range(n_events):
            yield env.timeout(1)

    env.process(proc(env))
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def bench(quick: bool = False) -> dict:
    """Rounds of (model replications, then the same number of bare-SimPy events), interleaved so
    that each ratio compares two runs made at nearly the same moment; medians over the rounds.

    ``replication_cost_bare_events`` is what one replication costs in bare-SimPy events: it is
    independent of how many events the model schedules, so it compares model versions that
    schedule different numbers of events (lower is faster).
    """
    scenario = load_scenario(SCENARIOS / "drill_answer_sheet_loss.yaml")
    rounds, per_round = (4, 50) if quick else (15, 200)
    reps = rounds * per_round
    events = count_events(scenario, 1, per_round)
    for i in range(min(per_round, 20)):  # warm the caches kept beside the scenario
        run_once(scenario, 1, i)
    model_rps, ref_eps, ratios = [], [], []
    for r in range(rounds):
        t0 = time.perf_counter()
        for i in range(r * per_round, (r + 1) * per_round):
            run_once(scenario, 1, i)
        model_s = time.perf_counter() - t0
        ref_s = bare_simpy(events)
        model_rps.append(per_round / model_s)
        ref_eps.append(events / ref_s)
        ratios.append((events / model_s) / (events / ref_s))
    rps, eps = statistics.median(model_rps), statistics.median(ref_eps)
    return {
        "scenario": scenario.name,
        "replications": reps,
        "rounds": rounds,
        "events_per_replication": round(events / per_round, 2),
        "model_events_per_s": round(rps * events / per_round),
        "reference_events_per_s": round(eps),
        "ratio_model_to_reference": round(statistics.median(ratios), 3),
        "single_incident_replications_per_s": round(rps, 1),
        "replication_cost_bare_events": round(
            statistics.median(e / m for e, m in zip(ref_eps, model_rps, strict=True))
        ),
    }
