"""Append actions to a drill store in a loop, printing each acknowledged seq (for the store tests).

    python tests/store_writer.py DB DRILL_ID START [--count N] [--go FILE]

Appends actions with payload ``{"i": n}`` for n = START, START + 1, ...; after each
``append_action`` returns it prints the seq and flushes stdout: a printed seq is an acknowledged
write. Without ``--count`` it runs until killed. With ``--go FILE`` it opens the store, prints
``ready``, and waits for FILE to exist before writing, so several writers can start together; it
then ends with a line ``span T0 T1``: when it began its first append and when its last one
returned (``time.time()``), so a test can tell the writers overlapped.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim.store import DrillStore  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("db")
    p.add_argument("drill_id", type=int)
    p.add_argument("start", type=int)
    p.add_argument("--count", type=int, default=None, help="stop after N appends")
    p.add_argument("--go", type=Path, default=None, help="wait for this file before writing")
    args = p.parse_args(argv)

    store = DrillStore(args.db)
    if args.go is not None:
        print("ready", flush=True)
        while not args.go.exists():
            time.sleep(0.001)
    t0 = time.time()
    n = args.start
    while args.count is None or n < args.start + args.count:
        seq = store.append_action(args.drill_id, sim_minute=float(n), kind="tick", payload={"i": n})
        print(seq, flush=True)
        n += 1
    if args.go is not None:
        print(f"span {t0!r} {time.time()!r}", flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
