"""The typed record of every action a run takes; verdicts and charts derive from these only."""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd


class Action(NamedTuple):
    """One thing that happened: who did what to whom, when, by which channel, with what result.

    A named tuple (immutable, and cheap to make: a run makes one per delivery and call).

    ``action`` is a step id of the plan's procedure (:mod:`sim.procedure`: ``discovered``,
    ``graded``, ``verbal_report``, ``written_report``, ...) or one of the model's own records:
    ``occurred``, ``call``, ``team_on_site``, ``note``.
    """

    time: float
    incident: str
    actor: str
    action: str
    channel: str = ""
    target: str = ""
    outcome: str = ""
    detail: str = ""


COLUMNS = list(Action._fields)


def to_frame(records: list[Action]) -> pd.DataFrame:
    """A DataFrame view of records (one row per action, in time order)."""
    if not records:
        return pd.DataFrame(columns=COLUMNS)
    return pd.DataFrame.from_records(records, columns=COLUMNS)
