"""The one chunked runner: results in replication order and identical serially, on a process pool
(forked or from a forkserver) and on Dask, for ``run``, ``compare`` and the drill's standing."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time

import pytest

from sim import runner
from sim.compare import compare
from sim.drill import standing
from sim.experiment import run_replications
from sim.scenario import load_scenario
from sim.variants import load_variant

SEASON = "scenarios/season_2027.yaml"
NIGHT = "scenarios/variants/night_duty_officer.yaml"
MEASURED = {"first_report_3h": 81.0, "verbal_before_written": 20.0, "grade_determined": 61.7}


def scaled(payload: int, start: int, stop: int) -> list[int]:
    """A work function: each replication's index times the payload."""
    return [payload * i for i in range(start, stop)]


def slow_pid(payload: float, start: int, stop: int) -> list[int]:
    """A work function that takes a while, and says which process ran it."""
    time.sleep(payload)
    return [os.getpid()] * (stop - start)


@pytest.fixture(scope="module")
def season():
    return load_scenario(SEASON)


@pytest.mark.parametrize(("workers", "chunk_size"), [(1, None), (1, 1), (1, 7), (2, 3), (3, 100)])
def test_chunks_come_back_in_replication_order(workers, chunk_size):
    seen: list[tuple[int, int]] = []
    parts = runner.map_chunks(
        scaled,
        3,
        23,
        workers=workers,
        chunk_size=chunk_size,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert [x for part in parts for x in part] == [3 * i for i in range(23)]
    assert seen[-1] == (23, 23) and [d for d, _ in seen] == sorted({d for d, _ in seen})


def test_a_pool_spreads_chunks_over_processes():
    pids = {
        p for part in runner.map_chunks(slow_pid, 0.05, 8, workers=2, chunk_size=1) for p in part
    }
    assert len(pids) == 2 and os.getpid() not in pids


def test_the_runner_knows_nothing_of_the_model():
    """No import cycle: the runner imports no other module of the package."""
    code = "import sys, sim.runner; print(sorted(m for m in sys.modules if m.startswith('sim')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["['sim',", "'sim.runner']"]


def test_run_keeps_no_list_of_replications(season):
    """A run's summary is as big after 160 replications as after 40 (running sums only)."""
    small, large = run_replications(season, 40, 2), run_replications(season, 160, 2)
    assert large.reps == 160 and not hasattr(large, "per_rep")
    assert len(pickle.dumps(large)) < 1.15 * len(pickle.dumps(small))


def test_run_and_standing_identical_on_a_pool_and_from_a_forkserver(season):
    serial = run_replications(season, 24, 9, workers=1)
    assert run_replications(season, 24, 10, workers=1).as_json() != serial.as_json()
    pool = run_replications(season, 24, 9, workers=2, chunk_size=5)
    assert pool.as_json() == serial.as_json()
    assert pool.incidents_digest == serial.incidents_digest
    stand = standing(season, 7, MEASURED, reps=24)
    assert stand == standing(season, 7, MEASURED, reps=24, workers=2, chunk_size=5)
    # a threaded process (Streamlit, Jupyter) gets its workers from a forkserver
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert runner.mp_context().get_start_method() == "forkserver"
        forked = run_replications(season, 24, 9, workers=2, chunk_size=7)
    finally:
        stop.set()
        thread.join()
    assert forked.as_json() == serial.as_json()


def test_run_compare_and_standing_identical_on_dask(season):
    from distributed import Client, LocalCluster

    night = [load_variant(NIGHT)]
    serial = run_replications(season, 24, 9, workers=1)
    comp = compare(season, night, 12, 4, workers=1)
    stand = standing(season, 7, MEASURED, reps=24)
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        by_address = run_replications(season, 24, 9, scheduler=cluster.scheduler_address)
        by_client = run_replications(season, 24, 9, scheduler=client, chunk_size=5)
        comp_dask = compare(season, night, 12, 4, scheduler=client, chunk_size=5)
        stand_dask = standing(season, 7, MEASURED, reps=24, scheduler=client, chunk_size=7)
    assert by_address.as_json() == serial.as_json()
    assert by_client.as_json() == serial.as_json()
    assert comp_dask.as_json() == comp.as_json()
    assert stand_dask == stand and stand["first_report_3h"]["runs"] > 24


def test_workers_from_a_forkserver_do_not_rerun_a_page_run_as_main(tmp_path, monkeypatch):
    """Streamlit runs each page as ``__main__``; a forkserver worker used to run that page again
    before working, and a page that needs its session crashed the pool (BrokenProcessPool)."""
    import types

    page = tmp_path / "page.py"
    marker = tmp_path / "ran"
    page.write_text(f"open({str(marker)!r}, 'w').close()\nraise KeyError('no session')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert runner.mp_context().get_start_method() == "forkserver"
        parts = runner.map_chunks(scaled, 2, 12, workers=2, chunk_size=2)
        assert [x for part in parts for x in part] == [2 * i for i in range(12)]
    finally:
        stop.set()
        thread.join()
    assert sys.modules["__main__"] is fake_main
    assert not marker.exists()
