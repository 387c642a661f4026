"""Benchmark: the model's speed against a bare-SimPy reference measured in the same run.

These machines are shared and noisy, so absolute figures mean little; the ratio of the model's
events/s to bare SimPy's events/s (same process, same moment) is the figure to compare.
"""

from __future__ import annotations

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
    scenario = load_scenario(SCENARIOS / "drill_answer_sheet_loss.yaml")
    reps = 200 if quick else 3000
    events = count_events(scenario, 1, reps)
    t0 = time.perf_counter()
    for i in range(reps):
        run_once(scenario, 1, i)
    model_s = time.perf_counter() - t0
    ref_s = bare_simpy(events)
    model_eps = events / model_s
    ref_eps = events / ref_s
    return {
        "scenario": scenario.name,
        "replications": reps,
        "events": events,
        "model_events_per_s": round(model_eps),
        "reference_events_per_s": round(ref_eps),
        "ratio_model_to_reference": round(model_eps / ref_eps, 3),
        "single_incident_replications_per_s": round(reps / model_s, 1),
    }
