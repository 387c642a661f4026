"""One chunked runner for every replication command: serial, local processes or Dask.

``map_chunks(work, payload, reps)`` cuts replications ``0 .. reps-1`` into chunks of consecutive
replications and calls ``work(payload, start, stop)`` on each; it yields the chunks' results in
replication order, whoever computed them. ``work`` is a picklable top-level function and
``payload`` (the scenarios, the seed…) is sent once per worker, not once per chunk. A replication
is seeded by its index alone, so as long as the caller folds the results in the order they come,
the answer does not depend on the number of workers, the chunk size or the scheduler.

At most a few chunks per worker are in flight, so memory does not grow with ``reps``. This module
knows nothing about the model: ``run``, ``compare``, ``sweep``, ``size`` and the drill's standing
pass their own work function.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import sys
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

#: Seconds to wait for a Dask scheduler before saying it cannot be reached.
SCHEDULER_TIMEOUT_S = 5
#: The most replications in one chunk (when the caller does not choose).
MAX_CHUNK = 50
#: Chunks in flight per worker: enough to keep every worker busy, few enough to keep memory flat.
IN_FLIGHT = 3

T = TypeVar("T")
Work = Callable[[Any, int, int], T]
Progress = Callable[[int, int], None]


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def chunk_bounds(reps: int, size: int) -> Iterator[tuple[int, int]]:
    """The chunks' (start, stop), made as they are asked for (never a list of them all)."""
    return ((a, min(reps, a + size)) for a in range(0, reps, size))


def chunk_size_for(reps: int, workers: int) -> int:
    """About four chunks per worker, at most :data:`MAX_CHUNK` replications each."""
    return max(1, min(MAX_CHUNK, -(-reps // (max(1, workers) * 4))))


def mp_context(preload: Sequence[str] = ()) -> Any:
    """fork when this process has one thread (fast); forkserver inside a threaded server (safe),
    with ``preload`` imported once in the server so workers start warm."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.runner", *preload])
    return ctx


_WORK: Work | None = None
_PAYLOAD: Any = None


def _init_worker(work: Work, payload: Any) -> None:
    """Keep the work function and its payload in the worker (sent once, not once per chunk)."""
    global _WORK, _PAYLOAD
    _WORK, _PAYLOAD = work, payload


def _pool_chunk(start: int, stop: int) -> Any:
    assert _WORK is not None
    return _WORK(_PAYLOAD, start, stop)


def map_chunks(
    work: Work[T],
    payload: Any,
    reps: int,
    *,
    workers: int | None = 1,
    scheduler: Any = None,
    chunk_size: int | None = None,
    progress: Progress | None = None,
) -> Iterator[T]:
    """``work(payload, start, stop)`` over every chunk of ``0 .. reps-1``, results in order.

    ``workers``: local processes (None or 0: all cores; 1: in this process). ``scheduler``: a Dask
    scheduler address (``tcp://host:8786``) or a ``distributed.Client``; it takes precedence.
    ``progress(done, reps)`` is called after each chunk has been consumed.

    Local workers are forked when this process has a single thread; inside a threaded server
    (Streamlit, Jupyter) they come from a forkserver instead, started without the caller's main
    script (see :func:`_main_not_rerun`).
    """
    if scheduler is not None:
        results = _dask(work, payload, reps, scheduler, chunk_size)
    else:
        n = default_workers() if workers is None or workers <= 0 else workers
        size = chunk_size or chunk_size_for(reps, n)
        bounds = chunk_bounds(reps, size)
        n_chunks = -(-reps // size)
        if n == 1 or n_chunks <= 1:
            results = ((b - a, work(payload, a, b)) for a, b in bounds)
        else:
            results = _pool(work, payload, bounds, min(n, n_chunks))
    done = 0
    for k, res in results:
        yield res
        done += k
        if progress:
            progress(done, reps)


def _in_order(
    submit: Callable[[int, int], Any],
    bounds: Iterator[tuple[int, int]],
    wait_some: Callable[[set], tuple[set, set]],
    result: Callable[[Any], Any],
    slots: int,
) -> Iterator[tuple[int, Any]]:
    """Keep ``slots`` chunks in flight; yield (replications, result) in replication order."""
    where: dict[Any, tuple[int, int]] = {}
    for a, b in itertools.islice(bounds, slots):
        where[submit(a, b)] = (a, b)
    running = set(where)
    ready: dict[int, tuple[int, Any]] = {}
    nxt = 0
    while running:
        finished, running = wait_some(running)
        for fut in finished:
            a, b = where.pop(fut)
            ready[a] = (b, result(fut))
            for a2, b2 in itertools.islice(bounds, 1):
                new = submit(a2, b2)
                where[new] = (a2, b2)
                running.add(new)
        while nxt in ready:
            stop, res = ready.pop(nxt)
            yield stop - nxt, res
            nxt = stop


@contextmanager
def _main_not_rerun() -> Iterator[None]:
    """While workers start, hide a ``__main__`` known only by its file. A forkserver or spawned
    worker runs that file again before it works; Streamlit (and its AppTest) runs each page as
    ``__main__``, so every worker ran the page — and a page that needs its session crashed the
    worker. The work function and payload come by module name, so workers need no main."""
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        yield  # none, or run with -m: the worker imports it by name, as Python intends
        return
    if not getattr(main, "__file__", None):
        yield
        return
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _pool(work: Work, payload: Any, bounds, workers: int) -> Iterator[tuple[int, Any]]:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=mp_context([work.__module__]),
        initializer=_init_worker,
        initargs=(work, payload),
    ) as pool:

        def wait_some(running: set) -> tuple[set, set]:
            done, rest = wait(running, return_when=FIRST_COMPLETED)
            return set(done), set(rest)

        def submit(a: int, b: int) -> Any:
            # a submit may start a worker process: that is when the main would be re-run
            with _main_not_rerun():
                return pool.submit(_pool_chunk, a, b)

        yield from _in_order(
            submit,
            bounds,
            wait_some,
            lambda fut: fut.result(),
            workers * IN_FLIGHT,
        )


def _dask(work: Work, payload: Any, reps: int, scheduler: Any, chunk_size: int | None):
    from distributed import Client, wait

    own = not isinstance(scheduler, Client)
    # a cluster that does not answer is said within seconds, not after Dask's 30
    client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S) if own else scheduler
    try:
        threads = max(1, sum(client.nthreads().values()))
        bounds = chunk_bounds(reps, chunk_size or chunk_size_for(reps, threads))
        # a list of one, so a tuple payload is not scattered element by element
        [shared] = client.scatter([payload], broadcast=True)

        def wait_some(running: set) -> tuple[set, set]:
            done, rest = wait(list(running), return_when="FIRST_COMPLETED")
            return set(done), set(rest)

        def result(fut: Any) -> Any:
            res = fut.result()
            fut.release()
            return res

        yield from _in_order(
            lambda a, b: client.submit(work, shared, a, b, pure=False),
            bounds,
            wait_some,
            result,
            threads * IN_FLIGHT,
        )
    finally:
        if own:
            client.close()


__all__ = [
    "MAX_CHUNK",
    "SCHEDULER_TIMEOUT_S",
    "chunk_bounds",
    "chunk_size_for",
    "default_workers",
    "map_chunks",
    "mp_context",
]
