"""Shared fixtures: the app served by README's command, for the real-browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"


@dataclass(frozen=True)
class Server:
    url: str
    db: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:  # noqa: S310 - local
            return r.status == 200
    except OSError:
        return False


@contextmanager
def serving(db: Path, log: Path, port: int | None = None) -> Iterator[Server]:
    """``uv run streamlit run app.py`` (README's command) on ``port`` (a free one by default)
    with the store ``db``, until the block ends (a test may stop and start it again: a restart)."""
    port = port or _free_port()
    env = {**os.environ, "DRILLSIM_DB": str(db), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    cmd = ["uv", "run", "streamlit", "run", "app.py"]
    cmd += ["--server.port", str(port), "--server.headless", "true"]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield Server(url, db, log)
    finally:
        # the server runs in its own process group (start_new_session): stop exactly that group
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[Server]:
    """The app served by README's command with a temporary store; stopped afterwards."""
    tmp = tmp_path_factory.mktemp("app_server")
    with serving(tmp / "drills.sqlite", tmp / "server.log") as server:
        yield server
