"""Charts shared by the app and the reports, in Chinese or English (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence

from sim.fonts import use_cjk_in_matplotlib
from sim.i18n import label, t
from sim.records import Action
from sim.scenario import format_time

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


def timeline_figure(records: Sequence[Action], plan, lang: str = "zh", *, now: float | None = None):
    """A timeline of incidents, calls and reports: one row per lane and incident.

    Unanswered calls are drawn hollow; ``now`` draws the drill's clock.
    """
    use_cjk_in_matplotlib()
    import matplotlib.pyplot as plt

    incidents = sorted({r.incident for r in records if r.incident})
    rows = [(i, lane) for i in incidents for lane in LANES]
    index = {row: n for n, row in enumerate(rows)}
    fig, ax = plt.subplots(figsize=(10, max(2.5, 0.45 * len(rows) + 1.2)), dpi=100)
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
    ax.set_yticklabels(
        [
            f"{i} · {t('chart_lane_' + ('incident' if lane == 'incident' else lane), lang)}"
            for i, lane in rows
        ]
    )
    ax.invert_yaxis()
    xt = ax.get_xticks()
    ax.set_xticks(xt)
    ax.set_xticklabels([format_time(x) for x in xt], rotation=0, fontsize=8)
    ax.set_xlabel(t("chart_time_axis", lang))
    ax.set_title(t("chart_timeline_title", lang))
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def rule_label(plan, rule_id: str, lang: str) -> str:
    return label(plan, "rules", rule_id, lang)
