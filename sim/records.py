"""The typed record of every action a run takes; verdicts and charts derive from these only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import pandas as pd


@dataclass(frozen=True, slots=True)
class Action:
    """One thing that happened: who did what to whom, when, by which channel, with what result.

    ``action`` names a step of the plan's journey (``occurred``, ``discovered``, ``control``,
    ``graded``, ``call``, ``verbal_report``, ``written_report``, ``direct_report``,
    ``dept_report_up``, ``office_received``, ``inform``, ``emergency_state``, ``duty_24h``,
    ``special_plan``, ``team_dispatched``, ``team_on_site``, ``deputy_dispatched``,
    ``deputy_on_site``, ``follow_up``, ``resolved``, ``closed``, ``final_report``, ``note``).
    """

    time: float
    incident: str
    actor: str
    action: str
    channel: str = ""
    target: str = ""
    outcome: str = ""
    detail: str = ""


COLUMNS = [f.name for f in fields(Action)]


def to_frame(records: list[Action]) -> pd.DataFrame:
    """A DataFrame view of records (one row per action, in time order)."""
    if not records:
        return pd.DataFrame(columns=COLUMNS)
    return pd.DataFrame([asdict(r) for r in records], columns=COLUMNS)
