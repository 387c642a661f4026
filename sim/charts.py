"""Charts shared by the app and the reports, in Chinese or English (matplotlib, Agg).

Figures are made as :class:`matplotlib.figure.Figure` objects with their own Agg canvas, never
through ``pyplot``: pyplot keeps one "current figure" for the whole process, so two sessions
drawing at once (two PDF exports) could put one chart's markers and title on the other's.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from types import SimpleNamespace

from sim.fonts import use_cjk_in_matplotlib
from sim.i18n import label, t
from sim.labels import day_time, incident_names
from sim.records import Action

LANES = ("incident", "calls", "reports", "response")
_LANE_OF = {
    "occurred": "incident",
    "discovered": "incident",
    "graded": "incident",
    "closed": "incident",
    "resolved": "incident",
    "call": "calls",
    "inform": "calls",
    "verbal_report": "reports",
    "written_report": "reports",
    "direct_report": "reports",
    "dept_report_up": "reports",
    "follow_up": "reports",
    "final_report": "reports",
    "control": "response",
    "special_plan": "response",
    "emergency_state": "response",
    "duty_24h": "response",
    "team_dispatched": "response",
    "team_on_site": "response",
    "deputy_dispatched": "response",
    "deputy_on_site": "response",
}
_MARKERS = {"calls": "o", "reports": "s", "response": "^", "incident": "D"}


def new_figure(figsize: tuple[float, float]):
    """A new figure with its own Agg canvas and one plot, CJK font set: no pyplot, so nothing
    is shared between sessions drawing at once (the app's, the reports' and the planner's)."""
    use_cjk_in_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def timeline_figure(
    records: Sequence[Action],
    plan,
    lang: str = "zh",
    *,
    now: float | None = None,
    names: Mapping[str, str] | None = None,
):
    """A timeline of incidents, calls and reports: one row per lane and incident.

    Unanswered calls are drawn hollow; ``now`` draws the drill's clock. ``names``: the
    incidents' short names as the pages number them (:func:`sim.labels.incident_names`); by
    default numbered by the same rule from when each first appears in the records.
    """
    incidents = sorted({r.incident for r in records if r.incident})
    rows = [(i, lane) for i in incidents for lane in LANES]
    index = {row: n for n, row in enumerate(rows)}
    fig, ax = new_figure((10, max(2.5, 0.45 * len(rows) + 1.2)))
    colours = {
        "calls": "#1f77b4",
        "reports": "#2ca02c",
        "response": "#9467bd",
        "incident": "#d62728",
    }
    for r in records:
        lane = _LANE_OF.get(r.action)
        if lane is None or (r.incident, lane) not in index:
            continue
        y = index[(r.incident, lane)]
        hollow = r.action == "call" and r.outcome != "answered"
        ax.scatter(
            [r.time],
            [y],
            marker=_MARKERS[lane],
            s=42,
            facecolors="none" if hollow else colours[lane],
            edgecolors=colours[lane],
            zorder=3,
        )
    for iid in incidents:
        times = [r.time for r in records if r.incident == iid]
        y = index[(iid, "incident")]
        ax.plot([min(times), max(times)], [y, y], color="#d62728", alpha=0.25, lw=6, zorder=1)
    if now is not None:
        ax.axvline(now, color="black", lw=1, ls="--")
    ax.set_yticks(range(len(rows)))
    if names is None:
        names = _names_from_records(records, lang)
    ax.set_yticklabels(
        [
            f"{names.get(i, i)} · {t('chart_lane_' + ('incident' if lane == 'incident' else lane), lang)}"
            for i, lane in rows
        ]
    )
    ax.invert_yaxis()
    xt = ax.get_xticks()
    ax.set_xticks(xt)
    ax.set_xticklabels([day_time(x, lang) for x in xt], rotation=0, fontsize=8)
    ax.set_xlabel(t("chart_time_axis", lang))
    ax.set_title(t("chart_timeline_title", lang))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def _names_from_records(records: Sequence[Action], lang: str) -> dict[str, str]:
    """Short names ("事件1" / "Incident 1") by the pages' one numbering rule, for records whose
    incidents are not at hand: each incident at the time it first appears."""
    first: dict[str, float] = {}
    for r in records:
        if r.incident:
            first.setdefault(r.incident, r.time)
    seen = [SimpleNamespace(id=i, at=at, family="") for i, at in first.items()]
    return incident_names(seen, lang, short=True)


def warm_up() -> None:
    """Load what the first chart needs (matplotlib, the CJK font, the glyph cache) ahead of
    time: a page starts this in the background so its first chart does not cost a click ~2 s."""
    rec = Action(0.0, "warm", "site", "discovered", "", "", "")
    figure_png(timeline_figure([rec], None, "zh"), dpi=30)


def figure_png(fig, dpi: int = 100) -> bytes:
    """A figure made here as PNG bytes (its own canvas: no pyplot, nothing shared)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def rule_label(plan, rule_id: str, lang: str) -> str:
    return label(plan, "rules", rule_id, lang)
