"""The command line's one error path: outputs that cannot be written and a Dask scheduler that
does not answer are one ``drillsim: …`` line with exit 2, within seconds, never a traceback."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASE = (
    "compare",
    "scenarios/drill_leak.yaml",
    "--variant",
    "scenarios/variants/first_report_2h.yaml",
)


def drillsim(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    return out, time.perf_counter() - t0


@pytest.mark.parametrize("flag", ["--out-csv", "--out-png", "--out-parquet"])
def test_an_output_that_cannot_be_written_is_one_line(tmp_path, flag):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a file where a folder should be: no one can write under it
    target = blocker / "sub" / "out.x"
    out, _ = drillsim(*BASE, "--reps", "4", "--workers", "1", flag, str(target))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    line = out.stderr.strip().splitlines()[-1]  # after the progress line
    assert line.startswith("drillsim: ") and str(blocker) in line


def test_a_scheduler_that_does_not_answer_is_said_within_seconds():
    out, seconds = drillsim(*BASE, "--reps", "4", "--scheduler", "tcp://127.0.0.1:1")
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("drillsim: --scheduler")
    assert seconds < 25  # Dask alone waits 30 s
    bad, _ = drillsim(*BASE, "--reps", "4", "--scheduler", "notanaddress")
    assert (
        bad.returncode == 2
        and bad.stderr.startswith("drillsim: ")
        and "Traceback" not in bad.stderr
    )
