"""Bench two or more versions of the engine against each other on this machine, now.

    uv run python tests/bench_versions.py [REV ...] [--rounds N]

Each revision (default: ``fa660df``, the hand-written journey the procedure replaced, and the
working tree) is checked out into a temporary git worktree and run in its own process with this
project's environment, in turns, so every version meets the same load. Per version it prints:

- ``cost``: one replication of ``drill_answer_sheet_loss`` (the single-incident drill of
  ``drillsim bench``) in bare-SimPy events timed in the same process a moment later — the
  figure that load does not move (lower is faster);
- ``reps/s``: single-incident replications per second;
- ``season ms``: one replication of ``season_2027`` (several incidents, stochastic);

each the median over the rounds, and its ratio to the first version. ``.`` names the working
tree. Old revisions must have ``sim.experiment.run_once`` and ``sim.bench.bare_simpy`` (every
version since the first build); the bare-SimPy reference is each version's own, the same loop.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: What one process measures (run inside the version's tree): one line of JSON.
PROBE = r"""
import json, statistics, time
from sim.bench import bare_simpy
from sim.experiment import run_once
from sim.scenario import load_scenario

drill = load_scenario("scenarios/drill_answer_sheet_loss.yaml")
season = load_scenario("scenarios/season_2027.yaml")
for i in range(20):
    run_once(drill, 1, i)
    run_once(season, 1, i)
costs, rates, seasons = [], [], []
for r in range(5):
    t0 = time.perf_counter()
    for i in range(r * 200, (r + 1) * 200):
        run_once(drill, 1, i)
    per = (time.perf_counter() - t0) / 200
    costs.append(per / (bare_simpy(10_000) / 10_000))
    rates.append(1 / per)
    t0 = time.perf_counter()
    for i in range(r * 100, (r + 1) * 100):
        run_once(season, 1, i)
    seasons.append((time.perf_counter() - t0) / 100 * 1e3)
print(json.dumps({"cost": statistics.median(costs), "reps_per_s": statistics.median(rates),
                  "season_ms": statistics.median(seasons)}))
"""


def _tree(rev: str, into: Path) -> Path:
    if rev == ".":
        return ROOT
    path = into / rev.replace("/", "_")
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(path), rev],
        check=True,
        capture_output=True,
    )
    return path


def _probe(tree: Path) -> dict[str, float]:
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tree, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("revs", nargs="*", default=["fa660df", "."])
    ap.add_argument("--rounds", type=int, default=3, choices=range(1, 11), metavar="1..10")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="drillsim-bench-") as tmp:
        trees = {rev: _tree(rev, Path(tmp)) for rev in args.revs}
        try:
            got: dict[str, list[dict[str, float]]] = {rev: [] for rev in args.revs}
            for _ in range(args.rounds):  # in turns: every version meets the same load
                for rev, tree in trees.items():
                    got[rev].append(_probe(tree))
        finally:
            for tree in trees.values():
                if tree != ROOT:
                    subprocess.run(
                        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                        capture_output=True,
                    )
    first = args.revs[0]
    med = {
        rev: {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        for rev, rows in got.items()
    }
    print(
        f"{'version':<12}{'cost':>8}{'ratio':>8}{'reps/s':>9}{'ratio':>8}{'season ms':>11}{'ratio':>8}"
    )
    for rev, m in med.items():
        ref = med[first]
        print(
            f"{rev:<12}{m['cost']:>8.0f}{m['cost'] / ref['cost']:>8.2f}"
            f"{m['reps_per_s']:>9.0f}{m['reps_per_s'] / ref['reps_per_s']:>8.2f}"
            f"{m['season_ms']:>11.2f}{m['season_ms'] / ref['season_ms']:>8.2f}"
        )


if __name__ == "__main__":
    main()
