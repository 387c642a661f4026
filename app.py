"""drillsim — the Streamlit app: trainers run the yearly drill, planners test staffing, experts review.

Start it with ``uv run streamlit run app.py`` (binds 127.0.0.1). Pages are thin over ``sim``.
"""

from __future__ import annotations

import streamlit as st

from ui.common import language_switch, tr

st.set_page_config(
    page_title="drillsim",
    page_icon=":material/shield:",
    layout="wide",
    # a drill opened by its URL gets the whole screen (the sidebar opens with its arrow)
    initial_sidebar_state="collapsed" if st.query_params.get("drill") else "auto",
)
#: ``?kiosk=1`` (on the projector page, with ``&drill=N``): one drill, no navigation, no sidebar
KIOSK = st.query_params.get("kiosk") == "1"
#: ``?seat=ROLE`` (the seat page, ``&drill=N``): a player's own device — no navigation, no sidebar
SEAT = bool(st.query_params.get("seat"))
if KIOSK or SEAT:
    want = st.query_params.get("lang")
    if want in ("zh", "en"):
        st.session_state["lang"] = want
else:
    language_switch()

pages = [
    st.Page(
        "ui/drill.py",
        title=tr("nav_drill"),
        icon=":material/emergency:",
        url_path="drill",
        default=True,
    ),
    st.Page(
        "ui/projector.py",
        title=tr("nav_projector"),
        icon=":material/present_to_all:",
        url_path="projector",
    ),
    st.Page(
        "ui/planner.py", title=tr("nav_planner"), icon=":material/monitoring:", url_path="planner"
    ),
    st.Page(
        "ui/programme.py",
        title=tr("nav_programme"),
        icon=":material/calendar_month:",
        url_path="programme",
    ),
    st.Page(
        "ui/review.py", title=tr("nav_review"), icon=":material/rate_review:", url_path="review"
    ),
    # a player's seat: opened by its link from the trainer's seat panel, never from the menu
    st.Page(
        "ui/seat.py",
        title=tr("seatpage_nav"),
        icon=":material/phone_in_talk:",
        url_path="seat",
        visibility="hidden",
    ),
]
st.navigation(pages, position="hidden" if KIOSK or SEAT else "sidebar").run()
