"""Caps on what one command may ask for (and the report formats), in a module light enough for the command line to read
before it imports pandas (every ``drillsim`` command builds its parser from these)."""

from __future__ import annotations

#: The most replications one call runs: a ±0.3-point 95% interval on a share needs about 100,000
#: (memory does not grow with replications: only running sums are kept; this bounds the time).
MAX_REPS = 100_000
#: The most local worker processes one call starts (each holds a copy of the scenarios).
MAX_WORKERS = 64

#: The after-action report's formats (``drillsim report --format``).
REPORT_FORMATS = ("pdf", "html", "md", "csv", "xlsx")

__all__ = ["MAX_REPS", "MAX_WORKERS", "REPORT_FORMATS"]
