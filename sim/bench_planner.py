"""Benchmark of the replication commands on the shipped exam-season scenario.

``compare``: 6 variants × 2,000 replications, the wall time with 1 and with 2 (all) workers (the
best of two alternating runs of each) and the speed-up. ``run``: the same for one scenario. Both
go through the one chunked runner (:mod:`sim.runner`) and keep only running sums, so the peak
memory (maximum resident set size of a fresh process, and of its worker processes) at 2,000 and
20,000 replications should be flat: for each command, the ratio of the two. And the model's
replications per second against a bare-SimPy reference measured in the same run (the same number
of events per replication, processed by an empty SimPy loop).

Run it with ``python -m sim bench-planner`` (``--quick`` for a short run). Shared machines are
noisy: the ratios (speed-up, model vs reference) matter more than absolute times.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def season_scenario_path() -> Path:
    """The shipped exam-season scenario (the first ``scenarios/season_*.yaml``)."""
    found = sorted(SCENARIOS.glob("season_*.yaml"))
    if not found:  # pragma: no cover - the repository ships one
        raise FileNotFoundError("no scenarios/season_*.yaml")
    return found[0]


def bench_variants() -> list:
    """The base plus five shipped variants: six variants compared."""
    from sim.variants import load_variant, shipped_variants

    return [load_variant(p) for p in shipped_variants()[:5]]


def _probe(reps: int, workers: int, command: str = "compare") -> dict:
    """Run in a fresh process: one comparison (or one ``run``), then the peak memory of this
    process and its workers."""
    from sim.compare import compare
    from sim.experiment import run_replications
    from sim.scenario import load_scenario

    scenario = load_scenario(season_scenario_path())
    variants = bench_variants() if command == "compare" else []
    before = _peak_rss_mb()
    rss_before = _current_rss_mb()
    t0 = time.perf_counter()
    if command == "compare":
        compare(scenario, variants, reps, 1, workers=workers)
    else:
        run_replications(scenario, reps, 1, workers=workers)
    wall = time.perf_counter() - t0
    return {
        "reps": reps,
        "variants": len(variants) + 1,
        "wall_s": round(wall, 2),
        "rss_mb_before_run": rss_before,
        "rss_mb_after_run": _current_rss_mb(),
        "maxrss_mb_before_run": before,
        "maxrss_mb": _peak_rss_mb(),
        "worker_maxrss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def _status_mb(field: str) -> float | None:
    """A memory figure of this process from Linux ``/proc/self/status``, in MB; None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(f"{field}:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:  # pragma: no cover - not Linux
        return None
    return None


def _current_rss_mb() -> float | None:
    """The resident set size now, in MB (None off Linux)."""
    return _status_mb("VmRSS")


def _peak_rss_mb() -> float:
    """The peak resident set size of this process since it started its program, in MB.

    Linux's ``VmHWM``: ``ru_maxrss`` would also count the process that forked this one, because
    Linux keeps it across ``exec``.
    """
    peak = _status_mb("VmHWM")
    if peak is None:  # pragma: no cover - not Linux
        peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return peak


def memory_probe(reps: int, workers: int, command: str = "compare") -> dict:
    """``_probe`` in a subprocess, so each figure is the peak of a fresh process."""
    code = (
        "import json; from sim.bench_planner import _probe; "
        f"print(json.dumps(_probe({reps}, {workers}, {command!r})))"
    )
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _memory_figures(
    prefix: str, small: tuple[int, dict], large: tuple[int, dict], workers: int
) -> dict[str, float]:
    """One command's memory figures (``prefix``: "" for compare, "run_" for run) from the probes
    at a small and a large number of replications, and how much the peak grew between them."""
    (n_small, s), (n_large, big) = small, large
    return {
        f"{prefix}peak_rss_mb_{n_small}_reps": s["maxrss_mb"],
        f"{prefix}peak_rss_mb_{n_large}_reps": big["maxrss_mb"],
        f"{prefix}worker_peak_rss_mb_{n_small}_reps": s["worker_maxrss_mb"],
        f"{prefix}worker_peak_rss_mb_{n_large}_reps": big["worker_maxrss_mb"],
        f"{prefix}rss_mb_after_run_{n_small}_reps": s["rss_mb_after_run"],
        f"{prefix}rss_mb_after_run_{n_large}_reps": big["rss_mb_after_run"],
        f"{prefix}wall_s_{n_large}_reps_{workers}_workers": big["wall_s"],
        f"{prefix}memory_growth_ratio": round(big["maxrss_mb"] / s["maxrss_mb"], 3),
    }


def bench(
    quick: bool = False,
    reps: int | None = None,
    memory_reps: tuple[int, int] | list[int] | None = None,
) -> dict:
    """The planner's figures; ``quick`` for a short run."""
    from sim.bench import bare_simpy, count_events
    from sim.compare import compare
    from sim.experiment import run_replications
    from sim.runner import default_workers
    from sim.scenario import load_scenario

    reps = reps or (100 if quick else 2000)
    small, large = memory_reps or ((100, 400) if quick else (2000, 20000))
    cores = default_workers()
    par = max(2, cores)
    path = season_scenario_path()
    scenario = load_scenario(path)
    variants = bench_variants()

    # alternate the two set-ups and keep each one's best time: other jobs on a shared machine
    # only ever slow a run down
    t_serial = t_par = float("inf")
    identical = True
    for _ in range(1 if quick else 2):
        t0 = time.perf_counter()
        serial = compare(scenario, variants, reps, 1, workers=1)
        t_serial = min(t_serial, time.perf_counter() - t0)
        t0 = time.perf_counter()
        parallel = compare(scenario, variants, reps, 1, workers=par)
        t_par = min(t_par, time.perf_counter() - t0)
        identical = identical and serial.as_json() == parallel.as_json()

    # run: one scenario, the same replications, through the same runner
    t_run_serial = t_run_par = float("inf")
    run_identical = True
    for _ in range(1 if quick else 2):
        t0 = time.perf_counter()
        one = run_replications(scenario, reps, 1, workers=1)
        t_run_serial = min(t_run_serial, time.perf_counter() - t0)
        t0 = time.perf_counter()
        many = run_replications(scenario, reps, 1, workers=par)
        t_run_par = min(t_run_par, time.perf_counter() - t0)
        run_identical = run_identical and one.as_json() == many.as_json()

    runs = reps * len(serial.variants)
    sample = min(reps, 200)
    events = sum(count_events(s, 1, sample) for s in serial.scenarios)
    events_per_run = events / (sample * len(serial.scenarios))
    ref_s = bare_simpy(events)
    ref_eps = events / ref_s
    model_runs_per_s = runs / t_serial
    ref_runs_per_s = ref_eps / events_per_run

    mem_small = memory_probe(small, par)
    mem_large = memory_probe(large, par)
    run_small = memory_probe(small, par, "run")
    run_large = memory_probe(large, par, "run")
    return {
        "scenario": path.name,
        "variants": len(serial.variants),
        "replications_per_variant": reps,
        "cores": cores,
        "wall_s_1_worker": round(t_serial, 2),
        f"wall_s_{par}_workers": round(t_par, 2),
        "speed_up": round(t_serial / t_par, 2),
        "results_identical_1_vs_n_workers": identical,
        "replications_per_s_1_worker": round(model_runs_per_s, 1),
        f"replications_per_s_{par}_workers": round(runs / t_par, 1),
        "events_per_replication": round(events_per_run, 1),
        "bare_simpy_events_per_s": round(ref_eps),
        "bare_simpy_replications_per_s": round(ref_runs_per_s, 1),
        "model_to_bare_simpy_ratio": round(model_runs_per_s / ref_runs_per_s, 4),
        **_memory_figures("", (small, mem_small), (large, mem_large), par),
        f"rss_mb_before_run_{small}_reps": mem_small["rss_mb_before_run"],
        f"rss_mb_before_run_{large}_reps": mem_large["rss_mb_before_run"],
        "run_wall_s_1_worker": round(t_run_serial, 2),
        f"run_wall_s_{par}_workers": round(t_run_par, 2),
        "run_speed_up": round(t_run_serial / t_run_par, 2),
        "run_results_identical_1_vs_n_workers": run_identical,
        **_memory_figures("run_", (small, run_small), (large, run_large), par),
        # the peak a fresh process reaches while importing and loading, before any replication
        f"run_peak_rss_mb_before_run_{large}_reps": run_large["maxrss_mb_before_run"],
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }


__all__ = ["bench", "memory_probe", "season_scenario_path"]
