"""The trainer's view of the seats: who holds each role, whether its device is connected, the
calls ringing there, who is late on which clock; join links with QR codes and one-time codes;
the clock's mode (turn-based or live); taking a seat over or giving it to the model.

Trainer-only (勿投屏): the codes are on this panel. Every change is a decision of the drill
(``seat``, ``clock``, ``answer``), stored and replayed like the team's own.
"""

from __future__ import annotations

import io
import os
import time
import urllib.parse
from typing import Any

import pandas as pd
import streamlit as st

from sim import session as ds
from sim.drill import MAX_SPEED
from sim.i18n import escape_markdown as md
from sim.i18n import label
from sim.seat_screen import trainer_board
from sim.seats import SEAT_MODES
from ui import drill_view as dl
from ui.common import lang, store, translator

SS = st.session_state
#: How often the panel looks at the store while players hold seats (seconds).
REFRESH_SECONDS = 2.0


def public_base() -> str:
    """Where players' devices reach this app: ``drillsim serve``'s address, else the address
    the trainer's browser uses."""
    env = os.environ.get("DRILLSIM_PUBLIC_URL")
    if env:
        return env.rstrip("/")
    try:
        url = urllib.parse.urlsplit(str(st.context.url or ""))
    except Exception:  # noqa: BLE001 - no browser context (AppTest)
        return "http://127.0.0.1:8501"
    return f"{url.scheme or 'http'}://{url.netloc or '127.0.0.1:8501'}"


def seat_link(drill_id: int, seat: str) -> str:
    L = lang()
    _t = translator(L)
    query = urllib.parse.urlencode({"drill": drill_id, "seat": seat, "lang": L})
    return f"{public_base()}/seat?{query}"


@st.cache_data(show_spinner=False, max_entries=64)
def qr_png(text: str) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(text, error="m").save(buf, kind="png", scale=4, border=2)
    return buf.getvalue()


def _decide(drill_id: int, decision: dict[str, Any]) -> None:
    """A trainer's seat or clock decision, on the drill as the store has it now."""
    L = lang()
    _t = translator(L)
    try:
        live, out = ds.act(store(), drill_id, SS.get("drill_live"), decision, wall=time.time())
    except Exception as exc:  # noqa: BLE001 - shown as a message
        SS.setdefault("drill_flash", []).append(
            ("error", f"{_t('error_prefix')}: {dl.error_text(exc, L)}")
        )
        return
    SS["drill_live"] = live


def _new_code(drill_id: int, seat: str) -> None:
    L = lang()
    _t = translator(L)
    try:
        store().issue_seat_code(drill_id, seat)
    except Exception as exc:  # noqa: BLE001
        SS.setdefault("drill_flash", []).append(("error", dl.error_text(exc, L)))


def _set_mode(drill_id: int, seat: str) -> None:
    mode = SS.get(f"seats_mode_{seat}")
    holder = SS.get("drill_live").drill.holders[seat]["holder"] if SS.get("drill_live") else ""
    _decide(drill_id, {"kind": "seat", "seat": seat, "mode": mode, "holder": holder})


def _set_clock(drill_id: int, running: bool) -> None:
    L = lang()
    _t = translator(L)
    mode = SS.get("seats_clock_mode", "turn")
    speed = float(SS.get("seats_clock_speed", 5))
    _decide(
        drill_id,
        {"kind": "clock", "mode": mode, "speed": speed, "running": running and mode == "live"},
    )


def ringing_calls(live: ds.DrillSession, drill_id: int, board: list[dict[str, Any]]) -> None:
    """Every call ringing at a seat, on top: how long it has rung; the trainer answers those
    of the seats the trainer holds."""
    L = lang()
    _t = translator(L)
    plan, scenario = live.plan, live.scenario
    names = dl.incident_names(live, L, short=True)
    for row in board:
        for call in row["calls"]:
            text = _t(
                "seats_ringing",
                seat=md(label(plan, "roles", row["seat"], L)),
                person=md(dl.person_label(scenario, call["person"], L)),
                incident=md(names.get(call["incident"], call["incident"])),
                minutes=f"{call['rung_min']:g}",
                left=f"{max(0.0, call['until'] - live.drill.now):.1f}",
            )
            if row["mode"] == "trainer":
                c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="center")
                c1.warning(text, icon=":material/ring_volume:")
                c2.button(
                    _t("seats_answer"),
                    key=f"seats_answer_{call['call']}",
                    on_click=_decide,
                    args=(drill_id, {"kind": "answer", "call": call["call"], "answer": True}),
                )
                c3.button(
                    _t("seats_let_ring"),
                    key=f"seats_let_{call['call']}",
                    on_click=_decide,
                    args=(drill_id, {"kind": "answer", "call": call["call"], "answer": False}),
                )
            else:
                st.warning(text, icon=":material/ring_volume:")


def seat_table(live: ds.DrillSession, board: list[dict[str, Any]]) -> pd.DataFrame:
    L = lang()
    _t = translator(L)
    plan = live.plan
    names = dl.incident_names(live, L, short=True)
    rows = []
    for r in board:
        late = "、".join(
            f"{names.get(i, i)}·{label(plan, 'rules', rule, L)}" for i, rule in r["late"]
        )
        rows.append(
            {
                _t("seats_col_seat"): label(plan, "roles", r["seat"], L),
                _t("seats_col_holder"): r["holder"] or "—",
                _t("seats_col_mode"): _t(f"seats_short_{r['mode']}"),
                _t("seats_col_device"): (
                    "● " + _t("seats_connected")
                    if r["connected"]
                    else ("○ " + _t("seats_away") if r["joined"] else "—")
                ),
                _t("seats_col_ringing"): len(r["calls"]) or "",
                _t("seats_col_late"): late,
            }
        )
    return pd.DataFrame(rows)


def _clock_controls(live: ds.DrillSession, drill_id: int) -> None:
    L = lang()
    _t = translator(L)
    clock = live.drill.clock
    c1, c2, c3 = st.columns([1.4, 1, 1.2], vertical_alignment="bottom")
    c1.radio(
        _t("seats_clock"),
        ("turn", "live"),
        index=0 if clock["mode"] == "turn" else 1,
        format_func=lambda m: _t(f"seats_clock_{m}"),
        horizontal=True,
        key="seats_clock_mode",
    )
    c2.number_input(
        _t("seats_speed"),
        min_value=1.0,
        max_value=MAX_SPEED,
        value=float(clock["speed"] if clock["mode"] == "live" else 5.0),
        step=1.0,
        key="seats_clock_speed",
    )
    running = bool(clock["running"])  # one button: pause a running clock, else apply the choice
    c3.button(
        _t("seats_clock_pause" if running else "seats_clock_apply"),
        key="seats_clock_pause" if running else "seats_clock_apply",
        icon=":material/pause:" if running else ":material/schedule:",
        on_click=_set_clock,
        args=(drill_id, not running),
    )
    st.caption(
        _t("seats_clock_live_now", speed=f"{clock['speed']:g}")
        if clock["running"]
        else _t("seats_clock_turn_now")
        if clock["mode"] == "turn"
        else _t("seats_clock_paused")
    )


def _manage(live: ds.DrillSession, drill_id: int, board: list[dict[str, Any]]) -> None:
    """One seat at a time: its link, QR code and join code; who holds it."""
    L = lang()
    _t = translator(L)
    plan = live.plan
    by_id = {r["seat"]: r for r in board}
    seat = st.selectbox(
        _t("seats_manage"),
        list(by_id),
        format_func=lambda s: label(plan, "roles", s, L),
        key="seats_manage",
    )
    row = by_id[seat]
    link = seat_link(drill_id, seat)
    c1, c2 = st.columns([1, 1.6])
    c1.image(qr_png(link), width=150)
    with c2:
        st.code(link, language=None)
        if row["code"]:
            st.markdown(_t("seats_code", code=row["code"]))
        elif row["joined"]:
            st.caption(_t("seats_code_used"))
        st.button(
            _t("seats_new_code"),
            key=f"seats_new_code_{seat}",
            on_click=_new_code,
            args=(drill_id, seat),
        )
    st.radio(
        _t("seats_held_by"),
        SEAT_MODES,
        index=SEAT_MODES.index(row["mode"]),
        format_func=lambda m: _t(f"seats_mode_{m}"),
        horizontal=True,
        key=f"seats_mode_{seat}",
        on_change=_set_mode,
        args=(drill_id, seat),
    )


def seats_panel(drill_id: int) -> None:
    """The panel, refreshed from the store every few seconds while anyone plays from a device."""
    L = lang()
    _t = translator(L)
    live = ds.sync(SS.get("drill_live"), store(), drill_id)
    live.catch_up(time.time())
    SS["drill_live"] = live
    board = trainer_board(live.drill, store().seats(drill_id), time.time())
    ringing_calls(live, drill_id, board)
    with st.expander(_t("seats_header"), expanded=bool(SS.get("seats_open"))):
        _clock_controls(live, drill_id)
        st.dataframe(seat_table(live, board), hide_index=True, height=220)
        _manage(live, drill_id, board)


def any_players(live: ds.DrillSession, store_=None) -> bool:
    """Whether the panel must follow the store: a live clock, a seat someone holds, or a join
    code issued (a player may join at any moment)."""
    return (
        live.drill.clock["running"]
        or any(h["mode"] in ("player", "trainer", "auto") for h in live.drill.holders.values())
        or (store_ is not None and bool(store_.seats(live.drill_id)))
    )


__all__ = ["any_players", "qr_png", "seat_link", "seats_panel"]
