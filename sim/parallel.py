"""Kept for imports written before :mod:`sim.runner` (the one chunked runner) existed."""

from __future__ import annotations

from sim.runner import SCHEDULER_TIMEOUT_S, default_workers

__all__ = ["SCHEDULER_TIMEOUT_S", "default_workers"]
