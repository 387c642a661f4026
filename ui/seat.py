"""A seat's screen: one role of a running drill, taken by a player from their own device.

Opened by the link (or QR code) on the trainer's seat panel: ``/seat?drill=N&seat=ROLE&lang=zh``.
Before the player types the seat's one-time join code the page shows nothing of the drill
but the seat's role; the code gives a session token, kept in the address (``&t=…``) so a
refresh resumes the seat. Joined, the page refreshes itself from the store every
:data:`REFRESH_SECONDS` and shows only the seat's own part of the drill
(:func:`sim.seat_screen.seat_screen`): the calls ringing at its people (answer / let it ring),
the incidents and the trainer's injects that reached it, the steps its role may take, its own
clocks as the team sees them, and its own log. Never another seat's calls, never the plan's
grade, never a phone number. Every action is a decision of the drill, stored at once
(:func:`sim.session.act`), so the trainer's console and every other seat see it.
"""

from __future__ import annotations

import html
import math
import time
from typing import Any

import pandas as pd
import streamlit as st

from sim import labels
from sim import session as ds
from sim.drill import scenario_from_text
from sim.i18n import escape_markdown as md
from sim.i18n import label, t
from sim.rules import MET, MISSED, NA
from sim.scenario import Scenario
from sim.seat_screen import seat_screen
from sim.seats import seats_of
from sim.session import DrillSession
from ui import drill_view as dl
from ui.common import db_path, lang, store, translator
from ui.forms import addressee_choice, grade_choice, step_heading

L = lang()
SS = st.session_state
_t = translator(L)

#: How often the joined page re-reads the drill from the store (seconds).
REFRESH_SECONDS = 1.5
#: How often the page checks its token (which also marks the seat as connected), seconds.
TOKEN_CHECK_SECONDS = 5.0
#: How long the outcome of the last action stays on screen (wall-clock seconds).
MESSAGE_SECONDS = 60.0
LIVE_KEY = "seatpage_live"
#: Clock rows in this order: the most urgent first, the settled ones last.
_RANK = {"overdue": 0, "urgent": 1, "soon": 2, "running": 3, "waiting": 4, MISSED: 5, MET: 6}


# -- the address ----------------------------------------------------------------------------------


def _address() -> tuple[int | None, str, str]:
    """(drill id, seat, token) from the page's address."""
    raw = st.query_params.get("drill")
    drill_id = int(raw) if raw and str(raw).isdigit() and len(str(raw)) < 12 else None
    return (
        drill_id,
        str(st.query_params.get("seat") or "")[:64],
        str(st.query_params.get("t") or ""),
    )


def _name_key(drill_id: int, seat: str) -> str:
    return f"seatpage_name_{drill_id}_{seat}"


@st.cache_resource(show_spinner=False, max_entries=32)
def _snapshot(db: str, drill_id: int, text: str) -> Scenario:
    """A drill's scenario snapshot, parsed once (it never changes once stored)."""
    return scenario_from_text(text, f"drill-{drill_id}.yaml")


def _seat_people(scenario: Scenario, seat: str) -> tuple[str, ...]:
    """The roster people whose phones ring at the seat (as :class:`sim.drill.Drill` seats them)."""
    found = next((s for s in seats_of(scenario, scenario.incidents) if s.id == seat), None)
    return found.people if found is not None else ()


def _live(drill_id: int) -> DrillSession:
    """The drill as the store has it now (rebuilt only when it changed), its live clock caught up."""
    live = ds.sync(SS.get(LIVE_KEY), store(), drill_id)
    live.catch_up(time.time())
    SS[LIVE_KEY] = live
    return live


def _who(scenario: Scenario) -> str:
    """Who the player is: the typed name, else the roster person chosen (by their name)."""
    name = " ".join(str(SS.get("seatpage_name") or "").split())[:40]
    person = SS.get("seatpage_person")
    if name:
        return name
    return dl.person_label(scenario, person, L) if person else ""


def _title(text: str) -> None:
    st.markdown(f"### :material/badge: {md(text)}")


def _chrome() -> None:
    """A seat's page is the drill only: no header bar, no sidebar, little margin."""
    st.html(
        "<style>header[data-testid='stHeader'],section[data-testid='stSidebar'],"
        "[data-testid='stSidebarCollapsedControl']{display:none!important}"
        ".block-container{padding-top:0.8rem!important;padding-bottom:1rem!important}"
        "[data-testid='stButtonGroup'] button[data-variant='pills']{min-height:0;"
        "height:1.65rem;padding:0 0.55rem;font-size:0.88rem}"
        "[data-testid='stAlert'] p{margin-bottom:0.1rem}"
        # a scrolling box keeps its items' own heights (they would shrink to a sliver)
        "[data-testid='stVerticalBlock']>[data-testid='stElementContainer'],"
        "[data-testid='stVerticalBlock']>[data-testid='stLayoutWrapper']{flex-shrink:0}"
        # a phone scrolls the page itself: no box scrolling inside it
        "@media (max-width:640px){[data-testid='stLayoutWrapper'],"
        "[data-testid='stLayoutWrapper']>[data-testid='stVerticalBlock']"
        "{height:auto!important;max-height:none!important;flex:0 0 auto!important}}</style>"
    )


# -- joining --------------------------------------------------------------------------------------


def _join(drill_id: int, seat: str, scenario: Scenario) -> None:
    """The join form's button: the code gives the seat's token, kept in the address."""
    code = str(SS.get("seatpage_code") or "").strip()
    name = _who(scenario)
    if not code:
        SS["seatpage_join_msg"] = _t("seatpage_need_code")
        return
    if not name:
        SS["seatpage_join_msg"] = _t("seatpage_need_name")
        return
    try:
        token = store().join_seat(drill_id, seat, code)
    except Exception as exc:  # noqa: BLE001 - a wrong code (or an ended drill) is a message
        SS["seatpage_join_msg"] = dl.error_text(exc, L)
        return
    SS.pop("seatpage_join_msg", None)
    SS[_name_key(drill_id, seat)] = name
    SS["seatpage_checked"] = time.time()
    SS.pop(LIVE_KEY, None)
    st.query_params["t"] = token


def _who_fields(scenario: Scenario, seat: str) -> None:
    """Who is at the seat: a person of the seat's roster, or a typed name."""
    people = _seat_people(scenario, seat)
    if people:
        st.selectbox(
            _t("seatpage_person"),
            list(people),
            index=None,
            format_func=lambda p: dl.person_label(scenario, p, L),
            placeholder=_t("seatpage_person_placeholder"),
            key="seatpage_person",
        )
    st.text_input(_t("seatpage_name"), max_chars=40, key="seatpage_name")


def _join_form(drill_id: int, seat: str, scenario: Scenario, *, had_token: bool) -> None:
    """Nothing of the drill: the seat's role, the code, who the player is."""
    role = label(scenario.plan, "roles", seat, L)
    if had_token:
        st.warning(_t("seatpage_token_gone"))
    st.caption(_t("seatpage_join_intro", role=md(role)))
    left, _ = st.columns([1, 1])  # a phone stacks the columns: the form gets the width
    with left, st.form("seatpage_join", border=True):
        st.text_input(
            _t("seatpage_code"),
            max_chars=16,
            placeholder=_t("seatpage_code_placeholder"),
            key="seatpage_code",
        )
        _who_fields(scenario, seat)
        st.form_submit_button(
            _t("seatpage_join"),
            type="primary",
            key="seatpage_join_btn",
            on_click=_join,
            args=(drill_id, seat, scenario),
        )
    if SS.get("seatpage_join_msg"):
        left.error(SS["seatpage_join_msg"])


def _claimed(drill_id: int, seat: str) -> bool:
    """Whether a decision about who holds the seat was stored since its session joined: the
    page's own (once per join), or the trainer's later one, which the page then respects."""
    joined = (store().seats(drill_id).get(seat) or {}).get("joined_at")
    if not joined:
        return False
    for a in reversed(store().actions(drill_id)):
        payload = a.get("payload")
        if a.get("kind") == "seat" and isinstance(payload, dict) and payload.get("seat") == seat:
            return str(a.get("created_at") or "") >= str(joined)  # ISO UTC times sort as text
    return False


def _save_who(drill_id: int, seat: str, scenario: Scenario) -> None:
    name = _who(scenario)
    if name:
        SS[_name_key(drill_id, seat)] = name
    else:
        SS["seatpage_join_msg"] = _t("seatpage_need_name")


def _claim(live: DrillSession, drill_id: int, seat: str) -> DrillSession | None:
    """Record who holds the seat, once per join: ``{"kind": "seat", "mode": "player"}`` with the
    player's name. Returns the drill as it now is, or None while the page asks for the name."""
    if _claimed(drill_id, seat):
        return live
    name = SS.get(_name_key(drill_id, seat))
    if not name:  # joined, but the name was lost (a refresh before it was recorded): ask again
        with st.form("seatpage_who", border=True):
            st.markdown(_t("seatpage_who_title"))
            _who_fields(live.scenario, seat)
            st.form_submit_button(
                _t("seatpage_who_save"),
                type="primary",
                key="seatpage_who_btn",
                on_click=_save_who,
                args=(drill_id, seat, live.scenario),
            )
        if SS.get("seatpage_join_msg"):
            st.error(SS["seatpage_join_msg"])
        return None
    decision = {"kind": "seat", "seat": seat, "mode": "player", "holder": name, "player": name}
    try:
        live, _ = ds.act(store(), drill_id, live, decision, wall=time.time())
    except Exception as exc:  # noqa: BLE001 - shown, never a traceback
        st.error(f"{_t('error_prefix')}: {dl.error_text(exc, L, scenario=live.scenario)}")
        return None
    SS[LIVE_KEY] = live
    return live


# -- decisions ------------------------------------------------------------------------------------


def _player(drill_id: int, seat: str, live: DrillSession) -> str:
    holder = live.drill.holders.get(seat) or {}
    if holder.get("mode") == "player" and holder.get("holder"):
        return str(holder["holder"])
    return str(SS.get(_name_key(drill_id, seat)) or "")


def _decide(drill_id: int, seat: str, decision: dict[str, Any]):
    """Take one decision of the seat on the drill as the store has it now; (session, outcome),
    or None when refused (the refusal is kept as the seat's last message)."""
    live = SS.get(LIVE_KEY)
    try:
        live = ds.sync(live, store(), drill_id)
        decision = {**decision, "seat": seat}
        player = _player(drill_id, seat, live)
        if player:
            decision["player"] = player
        live, out = ds.act(store(), drill_id, live, decision, wall=time.time())
    except Exception as exc:  # noqa: BLE001 - a refusal is a message, never a traceback
        scenario = live.scenario if live is not None else None
        text = f"{_t('error_prefix')}: {dl.error_text(exc, L, scenario=scenario)}"
        _message("seatpage_out", [("error", text)])
        return None
    SS[LIVE_KEY] = live
    return live, out


def _message(key: str, msgs: list[tuple[str, str]]) -> None:
    SS[key] = (time.time(), msgs)


def _show_messages(key: str) -> None:
    at, msgs = SS.get(key) or (0.0, [])
    if time.time() - at > MESSAGE_SECONDS:
        return
    for level, text in msgs:
        {"error": st.error, "warning": st.warning, "success": st.success}.get(level, st.info)(text)


def _answer(drill_id: int, seat: str, call: dict[str, Any], yes: bool, words: dict) -> None:
    got = _decide(drill_id, seat, {"kind": "answer", "call": call["call"], "answer": yes})
    if got is None:
        SS["seatpage_call_msg"] = SS.pop("seatpage_out")
        return
    key = "seatpage_answered" if yes else "seatpage_let_rang"
    _message("seatpage_call_msg", [("success" if yes else "info", _t(key, **words))])


def _do(drill_id: int, seat: str) -> None:
    """The "Do it" button: the chosen step (or a note) on the chosen incident."""
    live = SS.get(LIVE_KEY)
    if live is None:
        return
    inc, sid = SS.get("seatpage_inc"), SS.get("seatpage_step")
    if sid == "note":
        text = str(SS.get("seatpage_note") or "").strip()[:2000]
        if not text:
            _message("seatpage_out", [("warning", _t("seatpage_note_empty"))])
            return
        if _decide(drill_id, seat, {"kind": "note", "incident": inc, "text": text}):
            SS["seatpage_note"] = ""
            _message("seatpage_out", [("success", _t("seatpage_out_noted"))])
        return
    plan = live.scenario.plan
    try:
        step = plan.step(sid)
        fields = {c: str(SS.get(f"seatpage_rc_{c}") or "") for c in step.content}
        text = str(SS.get("seatpage_final_text") or "").strip() if sid == "final_report" else None
        decision = live.step_decision(
            inc,
            sid,
            to=SS.get(f"seatpage_to_{sid}_{L}"),
            level=SS.get("seatpage_level"),
            fields=fields,
            text=text,
        )
    except Exception as exc:  # noqa: BLE001 - an unknown step or a form the engine refuses
        text = f"{_t('error_prefix')}: {dl.error_text(exc, L, scenario=live.scenario)}"
        _message("seatpage_out", [("error", text)])
        return
    decision.pop("person", None)  # a seat works the whole call chain, as the model does
    decision["real"] = True
    got = _decide(drill_id, seat, decision)
    if got is None:
        return
    live, out = got
    for c in step.content:
        SS[f"seatpage_rc_{c}"] = ""
    if sid == "final_report":
        SS["seatpage_final_text"] = ""
    _message("seatpage_out", _outcome(live, decision, out))


def _outcome(live: DrillSession, decision: dict[str, Any], out) -> list[tuple[str, str]]:
    """What the step did, in words: a call ringing at another seat, a step under way with the
    live clock, else what the console says."""
    step = dl.step_label(live.scenario.plan, decision["step"], L)
    if out.result == "ringing":
        return [("info", _t("seatpage_out_ringing", step=md(step)))]
    if out.result == "started":
        return [("info", _t("seatpage_out_started", step=md(step)))]
    msgs = dl.outcome_messages(live, decision, out, L)
    return msgs or [("info", dl.outcome_result(out.result, L))]


def _switch_language(to: str) -> None:
    """The page's own language switch (kept in the address, which sets it on every run)."""
    SS["lang"] = to
    st.query_params["lang"] = to


# -- the screen -----------------------------------------------------------------------------------


def _holder_text(scenario: Scenario, holder: str) -> str:
    if holder in {p.id for p in scenario.roster.people}:
        return dl.person_label(scenario, holder, L)
    return holder


def _header(live: DrillSession, seat: str, screen: dict[str, Any]) -> None:
    """The role, who holds it, the simulated clock; the language switch at the right."""
    scenario, clock = live.scenario, live.drill.clock
    role = label(scenario.plan, "roles", seat, L)
    hhmm, day = dl.clock_parts(scenario, live.drill.now, L)
    holder = _holder_text(scenario, str(screen["holder"].get("holder") or ""))
    if clock["running"]:
        mode = _t("seatpage_clock_live", speed=f"{clock['speed']:g}")
    elif clock["mode"] == "turn":
        mode = _t("seatpage_clock_turn")
    else:
        mode = _t("seatpage_clock_paused")
    who = (
        f"<span style='color:#37474f'> · {html.escape(_t('seatpage_holder', name=holder))}</span>"
        if holder
        else ""
    )
    c_head, c_lang = st.columns([8, 1], vertical_alignment="center")
    c_head.markdown(
        f"<div style='display:flex;flex-wrap:wrap;align-items:baseline;gap:0.2rem 1.2rem'>"
        f"<div><span style='font-size:1.45rem;font-weight:700'>{html.escape(role)}</span>{who}"
        f"</div><div><span data-testid='seat-clock' style='font-size:1.45rem;font-weight:700'>"
        f"{html.escape(hhmm)}</span> <span style='color:#555;font-size:0.85rem'>"
        f"{html.escape(day)} · {html.escape(mode)}</span></div></div>",
        unsafe_allow_html=True,
    )
    other = "en" if L == "zh" else "zh"
    c_lang.button(
        t(f"lang_{other}", L),
        key="seatpage_lang",
        on_click=_switch_language,
        args=(other,),
        type="tertiary",
        icon=":material/translate:",
    )
    mode_now = screen["holder"].get("mode")
    if mode_now == "trainer":
        st.warning(_t("seatpage_trainer_holds"), icon=":material/supervisor_account:")
    elif mode_now == "auto":  # the automatic policy plays the seat: phones and due steps
        st.info(_t("seatpage_policy_holds"), icon=":material/smart_toy:")
    elif mode_now != "player":  # nobody holds it now: the model answers its phones
        st.info(_t("seatpage_auto_holds"), icon=":material/smart_toy:")


def _caller(scenario: Scenario, caller: str) -> str:
    """Who is calling, in words: a roster person, a role or a body of the plan."""
    if caller in {p.id for p in scenario.roster.people}:
        return dl.person_label(scenario, caller, L)
    plan = scenario.plan
    if caller in plan.bodies or caller in plan.roles:
        return dl.addressee_label(plan, caller, L)
    return _t("seatpage_caller_unknown")


def _calls(live: DrillSession, drill_id: int, seat: str, screen: dict[str, Any]) -> None:
    """The calls ringing at the seat, on top: who is called, by whom, about which incident,
    how long it still rings; Answer / Let it ring."""
    _show_messages("seatpage_call_msg")
    scenario, drill = live.scenario, live.drill
    short = dl.incident_names(live, L, short=True)
    clock = drill.clock
    for call in screen["calls"]:
        words = {
            "person": md(dl.person_label(scenario, call["person"], L)),
            "caller": md(_caller(scenario, str(call["caller"]))),
            "incident": md(short.get(call["incident"], _t("seatpage_incident"))),
        }
        if clock["running"]:
            minutes = max(0.0, float(call["until"]) - drill.now)
            left = _t(
                "seatpage_left_live",
                minutes=f"{minutes:.1f}",
                seconds=int(round(minutes / float(clock["speed"]) * 60)),
            )
        else:
            left = _t("seatpage_left_turn")
        c_text, c_yes, c_no = st.columns([5, 1.2, 1.2], vertical_alignment="center")
        c_text.error(
            f"{_t('seatpage_ringing', **words)}  \n{left}", icon=":material/phone_in_talk:"
        )
        c_yes.button(
            _t("seatpage_answer"),
            key=f"seatpage_answer_{call['call']}",
            type="primary",
            icon=":material/call:",
            on_click=_answer,
            args=(drill_id, seat, call, True, words),
            width="stretch",
        )
        c_no.button(
            _t("seatpage_let_ring"),
            key=f"seatpage_let_{call['call']}",
            icon=":material/call_end:",
            on_click=_answer,
            args=(drill_id, seat, call, False, words),
            width="stretch",
        )


def _injects(live: DrillSession, screen: dict[str, Any]) -> None:
    """The incidents the seat knows (newest first) and the trainer's messages to it."""
    plan = live.scenario.plan
    names = dl.incident_names(live, L)
    st.markdown(f"**{_t('seatpage_injects')}**")
    items: list[tuple[float, str, Any]] = [
        (float(i["learned_at"]), "inject", i) for i in screen["injects"]
    ] + [(float(m["time"]), "message", m) for m in screen["messages"]]
    if not items:
        st.info(_t("seatpage_no_injects"))
        return
    with st.container(height=430, border=False):
        for _, kind, item in sorted(items, key=lambda x: -x[0]):
            if kind == "message":
                st.warning(
                    _t(
                        "seatpage_message",
                        time=labels.day_time(item["time"], L),
                        text=md(item["text"]),
                    ),
                    icon=":material/campaign:",
                )
                continue
            with st.container(border=True):
                head = " · ".join(
                    [
                        dl.family_label(item["family"], L),
                        md(item["site_zh"] if L == "zh" else item["site_en"]),
                        _t("seatpage_learned", time=labels.day_time(item["learned_at"], L)),
                    ]
                )
                st.markdown(f":material/warning: **{md(names.get(item['id'], item['id']))}**")
                st.caption(head)
                text = item["text_zh"] if L == "zh" else item["text_en"]
                if text:
                    st.markdown(md(text))
                st.caption(" · ".join(dl.facts_lines(item["facts"], L)))
                badges = []
                if item.get(
                    "team_grade"
                ):  # the group's own grade (its seats only), never the plan's
                    badges.append(
                        _t("drill_team_grade", grade=dl.grade_label(plan, item["team_grade"], L))
                    )
                if item.get("resolved"):
                    badges.append(":material/check_circle: " + _t("drill_inc_resolved"))
                if item.get("closed"):
                    badges.append(":material/flag: " + _t("drill_inc_closed"))
                if badges:
                    st.caption(" · ".join(badges))


def _step_form(live: DrillSession, inc: str, sid: str) -> None:
    """One step's form: its addressees, the grade (never which one is right), the report's
    items. No person to call: the seat's call goes down the addressee's whole chain."""
    plan = live.scenario.plan
    step = plan.step(sid)
    step_heading(plan, sid, L)
    if sid == "graded":
        grade_choice(plan, L, "seatpage_level")
    if step.to:
        addressee_choice(st, live, inc, sid, L, f"seatpage_to_{sid}")
    if step.content:
        # the report's items scroll in a box of their own, so "Do it" stays in view
        scrolls = len(step.content) > 4
        box = st.container(height=200 if scrolls else "content", border=scrolls)
        cols = box.columns(2)
        for n, c in enumerate(step.content):
            cols[n % 2].text_area(
                dl.content_label(plan, c, L), key=f"seatpage_rc_{c}", height=68, max_chars=500
            )
    if sid == "final_report":
        st.text_area(_t("seatpage_final_text"), key="seatpage_final_text", height=68)


def _actions(live: DrillSession, drill_id: int, seat: str, screen: dict[str, Any]) -> None:
    """My actions: an incident the seat knows, one of the steps its role may take now (or a
    note), the step's form and "Do it"; what the last action did stays below."""
    st.markdown(f"**{_t('seatpage_actions')}**")
    injects = screen["injects"]
    if not injects:
        st.caption(_t("seatpage_no_actions"))
        _show_messages("seatpage_out")
        return
    names = dl.incident_names(live, L)
    ids = [i["id"] for i in injects]
    open_ids = [i["id"] for i in injects if not i.get("closed")]
    inc = st.selectbox(
        _t("seatpage_incident"),
        ids,
        index=ids.index(open_ids[-1]) if open_ids else len(ids) - 1,
        format_func=lambda i: names.get(i, i),
        key="seatpage_inc",
        label_visibility="collapsed",
    )
    options = [*screen["steps"].get(inc, []), "note"]
    plan = live.scenario.plan
    sid = st.pills(
        _t("seatpage_step"),
        options,
        default=options[0],
        format_func=lambda k: _t("seatpage_note") if k == "note" else dl.step_label(plan, k, L),
        key="seatpage_step",
        required=True,
        wrap=True,
        label_visibility="collapsed",
    )
    sid = ds.pick(sid, options)
    if len(options) == 1:
        st.caption(_t("seatpage_no_steps"))
    if sid == "note":
        st.text_area(_t("seatpage_note_text"), key="seatpage_note", height=68, max_chars=2000)
    else:
        _step_form(live, inc, sid)
    st.button(
        _t("seatpage_do"),
        key="seatpage_do",
        type="primary",
        icon=":material/send:",
        on_click=_do,
        args=(drill_id, seat),
    )
    _show_messages("seatpage_out")


def _clock_rows(live: DrillSession, screen: dict[str, Any]) -> list[dict[str, Any]]:
    """The seat's clocks in words, the most urgent first (least time left)."""
    plan = live.scenario.plan
    short = dl.incident_names(live, L, short=True)
    rows = []
    for r in screen["clocks"]:
        status, left_min = r["status"], r["left_min"]
        if status == "pending" and left_min is not None:
            fmt = dl.fmt_minutes(abs(left_min), L)
            left = _t("drill_overdue", t=fmt) if left_min < 0 else _t("drill_left", t=fmt)
            urgency = (
                "overdue"
                if left_min < 0
                else "urgent"
                if left_min <= dl.URGENT_MIN
                else "soon"
                if left_min <= dl.SOON_MIN
                else "running"
            )
        elif status == "pending":
            left = "—" if r.get("started") else _t("drill_clock_waiting")
            urgency = "running" if r.get("started") else "waiting"
        else:
            measured = r.get("measured_min")
            shown = status in (MET, MISSED) and measured is not None
            left = _t("drill_taken", t=dl.fmt_minutes(measured, L)) if shown else "—"
            if r["rule"] in ds.GAP_RULES:
                left = "—"
            urgency = status if status in dl.COLOURS else NA
        rows.append(
            {
                "incident": short.get(r["incident"], ""),
                "rule": labels.rule_word(plan, r["rule"], L),
                "status": status,
                "status_text": labels.status_word(status, L, icon=True),
                "left": left,
                "deadline": labels.day_time(r["deadline"], L) if r["deadline"] is not None else "",
                "left_min": left_min,
                "urgency": urgency,
            }
        )
    rows.sort(  # within a rank, least time left first; a clock with no deadline after those
        key=lambda x: (
            _RANK.get(x["urgency"], 7),
            x["left_min"] if x["left_min"] is not None else math.inf,
        )
    )
    return rows


def _clocks_html(rows: list[dict[str, Any]], *, incidents: bool) -> str:
    """The clocks as one coloured table (every text escaped)."""
    esc = html.escape
    out = ["<table style='width:100%;border-collapse:separate;border-spacing:0 3px;"]
    out.append("font-size:0.85rem;line-height:1.25'>")
    for r in rows:
        bg, fg = dl.COLOURS.get(r["urgency"], dl.COLOURS[NA])
        cell = f"padding:0.3rem 0.45rem;background:{bg};color:{fg}"
        what = f"{r['incident']} · {r['rule']}" if incidents and r["incident"] else r["rule"]
        deadline = f"<br><small>{esc(r['deadline'])}</small>" if r["deadline"] else ""
        out.append(
            f"<tr data-status='{esc(r['status'])}'>"
            f"<td style='{cell};border-radius:4px 0 0 4px'>{esc(what)}<br>"
            f"<small>{esc(r['status_text'])}</small></td>"
            f"<td style='{cell};white-space:nowrap;text-align:right;border-radius:0 4px 4px 0'>"
            f"<b>{esc(r['left'])}</b>{deadline}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _clocks(live: DrillSession, screen: dict[str, Any]) -> None:
    st.markdown(f"**{_t('seatpage_clocks')}**")
    rows = _clock_rows(live, screen)
    if not rows:
        st.caption(_t("seatpage_no_clocks"))
        return
    with st.container(height=430, border=False):
        st.html(_clocks_html(rows, incidents=len(screen["injects"]) > 1))


def _log(live: DrillSession, screen: dict[str, Any]) -> None:
    """The seat's own decisions, newest first (collapsed)."""
    plan = live.scenario.plan
    names = dl.incident_names(live, L)
    with st.expander(_t("seatpage_log"), icon=":material/history:"):
        if not screen["log"]:
            st.caption(_t("seatpage_no_log"))
            return
        rows = []
        for e in reversed(screen["log"]):
            if e["kind"] == "answer":
                action = _t("seatpage_log_answer")
            elif e["kind"] == "note":
                action = _t("seatpage_note")
            else:
                action = dl.step_label(plan, e["step"], L)
            rows.append(
                {
                    _t("time"): labels.day_time(e["time"], L),
                    _t("incident"): names.get(e["incident"], "—"),
                    _t("drill_col_action"): action,
                    _t("drill_col_result"): dl.outcome_result(e["result"], L),
                    _t("drill_col_by"): e["player"] or "—",
                }
            )
        st.table(pd.DataFrame(rows).astype(str), hide_index=True)


@st.fragment(run_every=REFRESH_SECONDS)
def _screen(drill_id: int, seat: str, token: str) -> None:
    """The joined seat, redrawn from the store every few seconds (rebuilt only when the drill
    changed); a void token, the drill's end or a language switch redraws the whole page."""
    now = time.time()
    if now - float(SS.get("seatpage_checked") or 0.0) >= TOKEN_CHECK_SECONDS:
        SS["seatpage_checked"] = now
        if not store().seat_token_ok(drill_id, seat, token):
            st.rerun()
    if SS.get("lang", L) != L:
        st.rerun()
    try:
        live = _live(drill_id)
    except Exception as exc:  # noqa: BLE001 - shown, never a traceback
        st.error(f"{_t('error_prefix')}: {dl.error_text(exc, L)}")
        return
    if live.ended:
        st.rerun()
    screen = seat_screen(live.drill, seat)
    _header(live, seat, screen)
    _calls(live, drill_id, seat, screen)
    c_inj, c_act, c_clk = st.columns([1.15, 1.45, 1.0], gap="medium")
    with c_inj:
        _injects(live, screen)
    with c_act:
        _actions(live, drill_id, seat, screen)
    with c_clk:
        _clocks(live, screen)
    _log(live, screen)
    st.caption(_t("seatpage_updated", s=f"{REFRESH_SECONDS:g}"))


def main() -> None:
    _chrome()
    drill_id, seat, token = _address()
    if drill_id is None or not seat:
        st.error(_t("seatpage_bad_link"))
        return
    try:
        row = store().drill(drill_id)
        scenario = _snapshot(str(db_path()), drill_id, row["scenario_text"])
    except Exception as exc:  # noqa: BLE001 - an unknown drill or a store that cannot be used
        st.error(dl.error_text(exc, L))
        return
    if seat not in scenario.plan.roles:
        st.error(_t("seatpage_no_seat"))
        return
    role = label(scenario.plan, "roles", seat, L)
    if row.get("status") == "ended":
        _title(role)
        st.info(_t("seatpage_ended"), icon=":material/flag:")
        return
    joined = bool(token) and store().seat_token_ok(drill_id, seat, token)
    if not joined:
        _title(role)
        _join_form(drill_id, seat, scenario, had_token=bool(token))
        return
    SS["seatpage_checked"] = time.time()
    try:
        live = _live(drill_id)
    except Exception as exc:  # noqa: BLE001
        st.error(f"{_t('error_prefix')}: {dl.error_text(exc, L)}")
        return
    if seat not in {s.id for s in live.drill.seats}:
        st.error(_t("seatpage_no_seat"))
        return
    if _claim(live, drill_id, seat) is None:
        return
    _screen(drill_id, seat, token)


main()
