"""The projector view: what the team sees — clock, injects, deadline board; no controls, no answers.

The board is the engine's team view (``Drill.deadline_board(team_view=True)``): built from the
team's own grading, so it never shows the plan's grade nor a rule only some grades have before
the team grades. Reads the drill from ``?drill=N`` (else the latest running drill) and refreshes
itself from the store every few seconds, so it follows the trainer's console in another window
or on another computer. ``?kiosk=1&drill=N`` pins it to that one drill with no navigation, for a
projector left running; once the drill ends, its final board stays on screen.
"""

from __future__ import annotations

import streamlit as st

from sim import session as ds
from sim.i18n import escape_markdown as md
from sim.labels import day_time
from sim.session import DrillSession
from ui import drill_view as dl
from ui.common import lang, show_error, store, translator

L = lang()
SS = st.session_state
REFRESH_SECONDS = 2.0
KIOSK = st.query_params.get("kiosk") == "1"

_t = translator(L)


def _drill_id() -> int | None:
    raw = st.query_params.get("drill")
    if raw and str(raw).isdigit():
        return int(raw)
    if KIOSK:  # a kiosk is pinned to the drill in its URL, never to "the latest"
        return None
    return ds.latest_running(store())


def _injects(live: DrillSession) -> None:
    injects = live.drill.injects()
    if not injects:
        st.info(_t("drill_no_injects"))
        return
    short = dl.incident_names(live, L, short=True)
    for inj in reversed(injects):
        with st.container(border=True):
            head = _t(
                "drill_inject_head",
                family=dl.family_label(inj["family"], L),
                site=md(inj["site_zh"] if L == "zh" else inj["site_en"]),
                time=day_time(inj["discovered_at"], L),
            )
            name = short.get(inj["id"], inj["id"])
            st.markdown(f"#### :material/warning: {md(name)} · {head}")
            text = inj["text_zh"] if L == "zh" else inj["text_en"]
            if text:
                st.markdown(f"**{md(text)}**")
            st.markdown(" · ".join(dl.facts_lines(inj["facts"], L)))
            status = []
            if inj["team_grade"]:  # the team's own grade, never the plan's
                status.append(
                    _t(
                        "drill_team_grade",
                        grade=dl.grade_label(live.scenario.plan, inj["team_grade"], L),
                    )
                )
            if inj["closed"]:
                status.append(":material/flag: " + _t("drill_inc_closed"))
            if status:
                st.caption(" · ".join(status))


@st.fragment(run_every=REFRESH_SECONDS)
def _view() -> None:
    """Re-read the store and redraw (rebuilt only when the trainer has acted)."""
    try:
        drill_id = _drill_id()
        if drill_id is None:
            st.info(_t("proj_no_drill"))
            return
        live = ds.sync(SS.get("proj_live"), store(), drill_id)
    except Exception as exc:  # noqa: BLE001 - shown, never a traceback
        show_error(exc)
        return
    SS["proj_live"] = live
    site = next((s for s in live.scenario.sites if s.id == live.row["site"]), None)
    name = live.scenario.name_zh if L == "zh" else live.scenario.name_en
    st.caption(
        _t(
            "proj_caption",
            year=live.row["year"],
            site=md(dl.site_name(site, L) if site else live.row["site"]),
            scenario=md(name or live.row["scenario_name"]),
        )
    )
    if live.ended:
        st.success(_t("proj_ended"))
    hhmm, day = dl.clock_parts(live.scenario, live.drill.now, L)
    left, right = st.columns([2, 3])
    with left:
        st.markdown(
            f"<div style='font-size:4.5rem;font-weight:700;line-height:1.1'>{hhmm}</div>",
            unsafe_allow_html=True,
        )
        st.markdown(f"**{_t('drill_clock')}** · {day}")
        st.markdown(f"### {_t('drill_injects')}")
        _injects(live)
    with right:
        st.markdown(f"### {_t('drill_board')}")
        rows = dl.due_next(live, L, team_view=True)  # the engine's team view; final once ended
        if rows:
            st.html(dl.board_html(rows, L, size=1.35))
        else:
            st.info(_t("drill_board_empty"))
    if not KIOSK:
        st.caption(_t("proj_updated", s=int(REFRESH_SECONDS)))


if KIOSK:  # nothing but the drill: no header bar, no sidebar, less margin
    st.html(
        "<style>header[data-testid='stHeader'],section[data-testid='stSidebar'],"
        "[data-testid='stSidebarCollapsedControl']{display:none!important}"
        ".block-container{padding-top:1rem!important}</style>"
    )
else:
    st.title(_t("proj_title"))
_view()
