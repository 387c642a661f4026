"""Spreading replications over local cores or a Dask cluster, with identical results.

Work is cut into chunks of consecutive replications; each replication is seeded by its index
only, so the split never changes a result. Chunks come back in any order and are sorted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed

from sim.experiment import RepSummary, chunks, replicate_chunk
from sim.scenario import Scenario

#: Seconds to wait for a Dask scheduler before saying it cannot be reached.
SCHEDULER_TIMEOUT_S = 5


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def map_chunks(
    scenario: Scenario,
    seed: int,
    reps: int,
    *,
    workers: int | None = 1,
    scheduler: str | None = None,
    chunk_size: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[RepSummary]:
    """All replications' summaries, in replication order."""
    workers = default_workers() if workers is None or workers <= 0 else workers
    size = chunk_size or max(1, min(200, -(-reps // (workers * 4))))
    parts = list(chunks(reps, size))
    done = 0
    out: list[RepSummary] = []

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress(done, reps)

    if scheduler:
        from distributed import Client
        from distributed import as_completed as dask_completed

        with Client(scheduler, timeout=SCHEDULER_TIMEOUT_S) as client:
            futures = [
                client.submit(replicate_chunk, scenario, seed, a, b, pure=False) for a, b in parts
            ]
            for fut in dask_completed(futures):
                res = fut.result()
                out.extend(res)
                tick(len(res))
    elif workers == 1 or len(parts) == 1:
        for a, b in parts:
            res = replicate_chunk(scenario, seed, a, b)
            out.extend(res)
            tick(len(res))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(replicate_chunk, scenario, seed, a, b) for a, b in parts]
            for fut in as_completed(futures):
                res = fut.result()
                out.extend(res)
                tick(len(res))
    return sorted(out, key=lambda r: r.replication)
