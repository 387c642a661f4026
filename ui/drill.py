"""The drill console: set up the year's drill, run the clock, act through the plan's menu, score.

Renders a :class:`sim.session.DrillSession` (words from :mod:`ui.drill_view`). Every decision is stored the moment it is
taken and the drill is rebuilt by replaying its decisions with the same seed, so a browser
refresh, a second browser or an app restart resumes it exactly; the drill's id is in the URL
(``?drill=N``).
"""

from __future__ import annotations

import contextlib
import html
import random
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from sim import session as ds
from sim.drill import DrillError, scenario_from_text, snapshot_text
from sim.i18n import escape_markdown as md
from sim.i18n import label, t
from sim.labels import day_time, plan_text
from sim.scenario import Scenario
from sim.session import DrillSession
from ui import drill_view as dl
from ui import seats_panel as seats_ui
from ui.common import db_path, lang, scenario_files, show_error, store, translator
from ui.forms import addressee_choice, grade_choice, step_heading
from ui.seats_panel import seats_panel

L = lang()
SS = st.session_state

_t = translator(L)


# -- state shared by callbacks ------------------------------------------------------------------


def _query_drill() -> int | None:
    raw = st.query_params.get("drill")
    return int(raw) if raw and str(raw).isdigit() else None


def _flash(level: str, text: str) -> None:
    """A message shown once, on the next render of the action panel."""
    SS.setdefault("drill_flash", []).append((level, text))


def _current(drill_id: int) -> DrillSession:
    """The drill as stored, rebuilt only when the store has changed (cached in the session)."""
    live = ds.sync(SS.get("drill_live"), store(), drill_id)
    live.catch_up(time.time())  # a live clock runs on with the wall clock
    SS["drill_live"] = live
    return live


def _refused(exc: Exception) -> None:
    """An engine refusal (or a store problem) as a message in the page's language."""
    live = SS.get("drill_live")
    scenario = live.scenario if live is not None else None
    _flash("error", f"{_t('error_prefix')}: {dl.error_text(exc, L, scenario=scenario)}")


def _act(decision: dict[str, Any], clear: tuple[str, ...] = ()) -> None:
    """Apply one decision and store it; a refusal or a store problem becomes a message.

    ``clear`` are the form's fields to empty once the decision is taken (a sent report's form
    starts empty again). A call to one person that goes unanswered offers the next person in
    the addressee's call chain (the backup).
    """
    drill_id = _query_drill()
    if drill_id is None:
        return
    try:
        # on the drill as the store has it now: a seat may have acted since this page looked
        live, out = ds.act(store(), drill_id, SS.get("drill_live"), decision)
        SS["drill_live"] = live
    except Exception as exc:  # noqa: BLE001 - a failing action shows a message, never a traceback
        _refused(exc)
        return
    for level, text in dl.outcome_messages(live, decision, out, L):
        _flash(level, text)
    for key in clear:
        SS[key] = ""
    nxt, unanswered = live.backup_decision(decision, out)
    if nxt is None and unanswered:
        _flash("warning", _t("drill_no_backup"))


# -- set up -------------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _scenario(path: str, mtime: float) -> Scenario:
    """A shipped scenario, parsed (cached by file and modification time)."""
    return scenario_from_text(snapshot_text(path), Path(path).name)


@st.cache_data(show_spinner=False)
def _names(path: str, mtime: float) -> tuple[str, str]:
    return ds.scenario_names(path)


def _start() -> None:
    """Create the drill from the set-up widgets and open it."""
    try:
        files = {p.stem: p for p in scenario_files("drill")}
        path = files[SS["drill_scenario"]]
        plan = _scenario(str(path), path.stat().st_mtime).plan
        players = {role: SS.get(f"drill_player_{role}", "") for role in plan.roles}
        drill_id = ds.create_drill(
            store(),
            year=int(SS["drill_year"]),
            site=SS[f"drill_site_{path.stem}"],
            path=path,
            seed=int(SS["drill_seed"]),
            lang=L,
            players=players,
            generated=SS.get("drill_source") == "generated",
            count=int(SS.get("drill_gen_count", 2)),
        )
    except Exception as exc:  # noqa: BLE001 - shown, not raised
        _flash("error", f"{_t('error_prefix')}: {dl.error_text(exc, L)}")
        return
    _open(drill_id)
    _flash("success", _t("drill_created", id=drill_id))


def _open(drill_id: int | None) -> None:
    """Show a drill (or the set-up when None); the id lives in the URL."""
    for key in ("drill_live", "drill_running", "drill_ref", "drill_chart"):
        SS.pop(key, None)
    if drill_id is None:
        st.query_params.pop("drill", None)
    else:
        st.query_params["drill"] = str(drill_id)


def _show_flash() -> None:
    for level, text in SS.pop("drill_flash", []):
        {"error": st.error, "warning": st.warning, "success": st.success}.get(level, st.info)(text)


def setup_view() -> None:
    """Year, site (with when each was last drilled), scenario or generated, players, seed."""
    st.caption(_t("drill_page_intro"))
    _show_flash()
    s = store()
    files = scenario_files("drill")
    if not files:
        st.warning(_t("drill_no_scenarios"))
        return
    by_stem = {p.stem: p for p in files}
    st.subheader(_t("drill_setup_header"))
    c1, c2, c3 = st.columns([1, 2, 2])
    stem = c2.selectbox(
        _t("drill_scenario"),
        list(by_stem),
        format_func=lambda x: _names(str(by_stem[x]), by_stem[x].stat().st_mtime)[
            0 if L == "zh" else 1
        ],
        key="drill_scenario",
    )
    path = by_stem[stem]
    scenario = _scenario(str(path), path.stat().st_mtime)
    year = int(  # the scenario's calendar year (a drill rehearses that season)
        c1.number_input(
            _t("drill_year"),
            min_value=2000,
            max_value=2100,
            value=ds.this_year(scenario),
            step=1,
            key="drill_year",
        )
    )
    source = c3.radio(
        _t("drill_source"),
        ("scripted", "generated"),
        format_func=lambda x: _t(f"drill_source_{x}"),
        key="drill_source",
    )
    if source == "generated":
        c3.number_input(
            _t("drill_gen_count"), min_value=1, max_value=4, value=2, step=1, key="drill_gen_count"
        )

    history = ds.site_rotation(
        s.list_drills(), [(x.id, x.name_zh, x.name_en) for x in scenario.sites], year
    )
    suggested = ds.suggest_site(history)
    site_ids = [x.id for x in scenario.sites]
    names = {x.id: dl.site_name(x, L) for x in scenario.sites}
    left, right = st.columns([2, 3])
    site = left.selectbox(
        _t("drill_site"),
        site_ids,
        index=site_ids.index(suggested) if suggested in site_ids else 0,
        format_func=lambda x: names[x],
        key=f"drill_site_{stem}",
    )
    if suggested:
        left.info(_t("drill_suggested", site=md(names[suggested])))
    script_sites = {i.site for i in scenario.incidents}
    if source == "scripted" and script_sites and script_sites != {site}:
        left.caption(
            _t(
                "drill_script_site_note",
                site="、".join(md(names.get(x, x)) for x in sorted(script_sites)),
            )
        )
    right.markdown(f"**{_t('drill_site_history')}**")
    right.table(
        pd.DataFrame(
            [
                {
                    _t("drill_col_site"): md(names[h["site"]])
                    + (f"  {_t('drill_suggested_mark')}" if h["site"] == suggested else ""),
                    _t("drill_col_last_year"): h["last_year"] or _t("drill_never"),
                    _t("drill_col_years_since"): "—"
                    if h["years_since"] is None
                    else h["years_since"],
                }
                for h in history
            ]
        ).astype(str),
        hide_index=True,
    )

    st.markdown(f"**{_t('drill_players')}**")
    st.caption(_t("drill_players_help"))
    cols = st.columns(3)
    for n, role in enumerate(scenario.plan.roles):
        cols[n % 3].text_input(
            label(scenario.plan, "roles", role, L), key=f"drill_player_{role}", max_chars=40
        )
    with st.expander(_t("drill_advanced")):
        SS.setdefault("drill_seed_default", random.randint(1, 999_999))
        st.number_input(
            _t("drill_seed"),
            min_value=0,
            max_value=2**31 - 1,
            value=SS["drill_seed_default"],
            step=1,
            help=_t("drill_seed_help"),
            key="drill_seed",
        )
    st.button(_t("drill_start"), type="primary", key="drill_start", on_click=_start)

    drills = s.list_drills()
    if drills:
        st.divider()
        st.subheader(_t("drill_resume_header"))
        by_id = {int(d["id"]): d for d in drills}

        def option(i: int) -> str:
            d = by_id[i]
            try:
                data = _snapshot_meta(d["id"])
            except Exception:  # noqa: BLE001 - a damaged row still gets listed
                data = {}
            site_names = data.get("sites", {}).get(d["site"], (d["site"], d["site"]))
            return _t(
                "drill_option",
                id=i,
                year=d["year"],
                site=site_names[0 if L == "zh" else 1],
                name=data.get("name_zh" if L == "zh" else "name_en") or d["scenario_name"],
                status=_t(f"drill_status_{d['status']}"),
            )

        r1, r2 = st.columns([4, 1], vertical_alignment="bottom")
        pick = r1.selectbox(
            _t("drill_resume_pick"), list(by_id), format_func=option, key="drill_resume_pick"
        )
        r2.button(_t("drill_resume"), key="drill_resume", on_click=_open, args=(pick,))


def _snapshot_meta(drill_id: int) -> dict[str, Any]:
    """Names from a stored drill's snapshot (cached per store file and drill)."""
    return _snapshot_meta_cached(str(db_path()), int(drill_id))


@st.cache_data(show_spinner=False, max_entries=256)
def _snapshot_meta_cached(db: str, drill_id: int) -> dict[str, Any]:
    """A snapshot never changes once stored, so its names are cached."""
    from sim.yamlio import InputError, load_text

    text = store().drill(int(drill_id))["scenario_text"]
    try:  # a stored snapshot is read with the same limits as any file
        data = load_text(text, f"drill {drill_id}") or {}
    except InputError:
        data = {}
    sites = {
        x["id"]: (x.get("name_zh") or x["id"], x.get("name_en") or x["id"])
        for x in (data.get("calendar", {}) or {}).get("sites", [])
        if isinstance(x, dict) and "id" in x
    }
    return {"name_zh": data.get("name_zh"), "name_en": data.get("name_en"), "sites": sites}


# -- running ------------------------------------------------------------------------------------


def _advance(minutes: float | None) -> None:
    """+N minutes, or to the next inject when ``minutes`` is None."""
    drill_id = _query_drill()
    if drill_id is None:
        return
    try:
        drill = _current(drill_id).drill
    except Exception as exc:  # noqa: BLE001
        _flash("error", f"{_t('error_prefix')}: {dl.error_text(exc, L)}")
        return
    to = drill.next_inject_at() if minutes is None else drill.now + minutes
    if to is None:
        _flash("info", _t("drill_no_more_injects"))
        return
    _act({"kind": "advance", "to": to})


def _set_running(on: bool) -> None:
    SS["drill_running"] = on
    SS["drill_tick_at"] = time.time()


def _undo() -> None:
    drill_id = _query_drill()
    if drill_id is None:
        return
    try:
        live = _current(drill_id)
        undone = live.undo(store())
    except Exception as exc:  # noqa: BLE001
        _flash("error", f"{_t('error_prefix')}: {dl.error_text(exc, L)}")
        return
    if undone is None:
        _flash("info", _t("drill_nothing_to_undo"))
    else:
        label_ = dl.decision_label(undone, live.scenario.plan, live.scenario, L)
        _flash("info", _t("drill_undone", action=label_))


def _end() -> None:
    drill_id = _query_drill()
    if drill_id is None:
        return
    if not SS.get("drill_end_confirm"):
        _flash("warning", _t("drill_end_need_confirm"))
        return
    SS["drill_running"] = False
    try:
        _current(drill_id).end(store())
    except Exception as exc:  # noqa: BLE001
        _flash("error", f"{_t('error_prefix')}: {dl.error_text(exc, L)}")


def _reference(live: DrillSession):
    """The automatic policy's run of the same incidents (the trainer's answer key), cached."""
    from sim.drill import auto_reference

    cached = SS.get("drill_ref")
    if cached and cached[0] == live.drill_id:
        return cached[1]
    ref = auto_reference(live.scenario, live.drill.seed)
    SS["drill_ref"] = (live.drill_id, ref)
    return ref


def _chart_png(live: DrillSession, now: float | None) -> bytes | None:
    """The timeline chart as PNG, cached until a record is added or the language changes."""
    records = live.drill.records
    if not records:
        return None
    key = (live.drill_id, len(records), L, None if now is None else round(now))
    cached = SS.get("drill_chart")
    if cached and cached[0] == key:
        return cached[1]
    from sim.charts import figure_png, timeline_figure

    names = dl.incident_names(live, L, short=True)
    png = figure_png(timeline_figure(records, live.scenario.plan, L, now=now, names=names), dpi=100)
    SS["drill_chart"] = (key, png)
    return png


def _timeline(drill_id: int, running: bool, waiting: bool) -> None:
    """The timeline chart; while the chart machinery is still loading in the background (the
    first minutes after a server start) a line says so and this part looks again every second,
    so no click waits for it."""
    if _charts_warmed().is_alive():
        st.caption(_t("drill_timeline_loading"))
        return
    if waiting:  # loaded now: redraw the page once, so it stops looking
        st.rerun()
    live = _current(drill_id)
    png = _chart_png(live, live.drill.now if running else None)
    if png:
        st.image(png, width="stretch")


def _timeline_when_ready(drill_id: int, *, running: bool) -> None:
    waiting = _charts_warmed().is_alive()
    st.fragment(_timeline, run_every=1.0 if waiting else None)(drill_id, running, waiting)


def render_injects(live: DrillSession, lang_: str) -> None:
    """Injects seen so far, newest first, with their facts."""
    injects = live.drill.injects()
    if not injects:
        st.info(t("drill_no_injects", lang_))
        return
    plan = live.scenario.plan
    names = dl.incident_names(live, lang_, short=True)
    for inj in reversed(injects):
        with st.container(border=True):
            head = t(
                "drill_inject_head",
                lang_,
                family=dl.family_label(inj["family"], lang_),
                site=md(inj["site_zh"] if lang_ == "zh" else inj["site_en"]),
                time=day_time(inj["discovered_at"], lang_),
            )
            name = names.get(inj["id"], inj["id"])
            st.markdown(f":material/warning: **{md(name)} · {head}**")
            text = inj["text_zh"] if lang_ == "zh" else inj["text_en"]
            if text:
                st.markdown(md(text))
            st.caption(" · ".join(dl.facts_lines(inj["facts"], lang_)))
            badges = [
                t("drill_team_grade", lang_, grade=dl.grade_label(plan, inj["team_grade"], lang_))
            ]
            if inj["resolved"]:
                badges.append(":material/check_circle: " + t("drill_inc_resolved", lang_))
            if inj["closed"]:
                badges.append(":material/flag: " + t("drill_inc_closed", lang_))
            st.caption(" · ".join(badges))


def _live_panel(drill_id: int) -> None:
    """Clock and "due next"; while running, advances the clock at the chosen speed (a new
    inject pauses it and reruns the page, which announces it)."""
    try:
        live = _current(drill_id)
    except Exception as exc:  # noqa: BLE001
        show_error(exc)
        return
    if live.ended:  # ended in another session: show the scorecard
        SS["drill_running"] = False
        st.rerun()
    if SS.get("drill_running"):
        now = time.time()
        elapsed = min(now - SS.get("drill_tick_at", now), 3 * dl.TICK_SECONDS)
        if elapsed >= 0.5:
            seen = len(live.drill.injects())
            try:
                live.tick(store(), float(SS.get("drill_speed", dl.SPEEDS[2])) * elapsed)
            except Exception as exc:  # noqa: BLE001
                SS["drill_running"] = False
                _flash("error", f"{_t('error_prefix')}: {dl.error_text(exc, L)}")
                st.rerun()
            SS["drill_tick_at"] = now
            if len(live.drill.injects()) > seen:
                SS["drill_running"] = False
                _flash("warning", _t("drill_paused_new_inject"))
                st.rerun()
    hhmm, day = dl.clock_parts(live.scenario, live.drill.now, L)
    state = (
        _t("drill_running_at", speed=SS.get("drill_speed", dl.SPEEDS[2]))
        if SS.get("drill_running")
        else _t("drill_paused")
    )
    nxt = live.drill.next_inject_at()
    nxt_text = (
        _t("drill_next_inject", time=day_time(nxt, L))
        if nxt is not None
        else _t("drill_no_more_injects")
    )
    st.markdown(
        f"<div data-testid='drill-clock' style='font-size:2.6rem;font-weight:700;"
        f"line-height:1'>{hhmm}</div><div style='font-size:0.8rem;color:#555'>"
        f"{html.escape(day)} · {html.escape(state)}<br>{html.escape(nxt_text)}</div>",
        unsafe_allow_html=True,
    )
    st.markdown(f"**{_t('drill_due_next')}**")
    rows = dl.due_next(live, L, focus=SS.get("drill_act_incident"))
    if rows:
        with st.container(height=330, border=False):
            st.html(dl.board_html(rows, L, size=0.8, compact=True))
    else:
        st.caption(_t("drill_board_empty"))


def _controls(live: DrillSession) -> None:
    """Clock controls in one compact row: +5 / +15 / +60 min, next inject, run or pause, speed."""
    cols = st.columns([1, 1, 1, 1.5, 1.1, 1.1], vertical_alignment="bottom", gap="small")
    cols[0].button(_t("drill_adv_5"), key="drill_adv_5", on_click=_advance, args=(5,))
    cols[1].button(_t("drill_adv_15"), key="drill_adv_15", on_click=_advance, args=(15,))
    cols[2].button(_t("drill_adv_60"), key="drill_adv_60", on_click=_advance, args=(60,))
    cols[3].button(
        _t("drill_adv_next"),
        key="drill_adv_next",
        on_click=_advance,
        args=(None,),
        disabled=live.drill.next_inject_at() is None,
        type="primary",
    )
    if SS.get("drill_running"):
        cols[4].button(
            _t("drill_pause"),
            key="drill_pause",
            icon=":material/pause:",
            on_click=_set_running,
            args=(False,),
        )
    else:
        cols[4].button(
            _t("drill_run"),
            key="drill_run",
            icon=":material/play_arrow:",
            on_click=_set_running,
            args=(True,),
        )
    cols[5].selectbox(
        _t("drill_speed"),
        dl.SPEEDS,
        index=2,
        format_func=lambda n: _t("drill_speed_n", n=n),
        key="drill_speed",
        label_visibility="collapsed",
    )


def _announce(live: DrillSession) -> None:
    """Announce every inject that reached the team since this session last looked — also one
    that arrived while an action took simulated time: a toast, and a notice that stays until
    the trainer dismisses it. A session opening a drill announces nothing already there."""
    key = f"drill_seen_{live.drill_id}"
    ids = [i["id"] for i in live.drill.injects()]
    adhoc = [f"adhoc@{a['time']}" for a in live.drill.adhoc_injects()]
    if key not in SS:
        SS[key] = set(ids) | set(adhoc)
        return
    seen = SS[key]
    new = [i for i in live.drill.injects() if i["id"] not in seen]
    names = dl.incident_names(live, L, short=True)
    notices = SS.setdefault("drill_notices", [])
    for inj in new:
        text = _t(
            "drill_new_inject",
            name=names.get(inj["id"], inj["id"]),
            family=dl.family_label(inj["family"], L),
            time=day_time(inj["discovered_at"], L),
        )
        st.toast(text, icon=":material/campaign:")
        notices.append(text)
        seen.add(inj["id"])
    for a in live.drill.adhoc_injects():
        tag = f"adhoc@{a['time']}"
        if tag not in seen:
            text = _t("drill_new_adhoc", time=day_time(a["time"], L), text=md(a["text"]))
            st.toast(text, icon=":material/campaign:")
            notices.append(text)
            seen.add(tag)


def _notices() -> None:
    notices = SS.get("drill_notices") or []
    if not notices:
        return
    for text in notices[-3:]:
        st.warning(text, icon=":material/campaign:")
    st.button(
        _t("drill_new_inject_seen"),
        key="drill_notices_seen",
        on_click=lambda: SS.pop("drill_notices", None),
    )


# -- the action menu ----------------------------------------------------------------------------


def _do_action() -> None:
    """Build the step's decision from the action menu's widgets, then apply and store it.

    A widget the browser has not sent yet (a click faster than the form's first render) or one
    left from another step's form counts as the form's default, which is what the form shows.
    """
    drill_id = _query_drill()
    if drill_id is None:
        return
    try:
        live = _current(drill_id)
    except Exception as exc:  # noqa: BLE001
        _refused(exc)
        return
    plan = live.scenario.plan
    inc = SS.get("drill_act_incident")
    if inc not in live.drill.discovered:
        _flash("warning", _t("drill_err_choose_incident"))
        return
    sid = ds.pick(SS.get("drill_act_kind"), live.menu(inc))
    player = str(SS.get("drill_act_player") or "").strip()[:40]
    if sid == "note":
        text = str(SS.get("drill_act_note") or "").strip()
        if not text:
            _flash("warning", _t("drill_note_empty"))
            return
        note: dict[str, Any] = {"kind": "note", "incident": inc, "text": text}
        about = SS.get("drill_act_note_about") or ""
        if about.startswith(("rule:", "step:")):
            note[about.split(":", 1)[0]] = about.split(":", 1)[1]
        if player:
            note["player"] = player
        _act(note, ("drill_act_note",))
        return
    step = plan.step(sid)
    fields = {c: str(SS.get(f"drill_rc_{c}") or "") for c in step.content}
    text = str(SS.get("drill_act_final_text") or "").strip() if sid == "final_report" else None
    try:
        decision = live.step_decision(
            inc,
            sid,
            to=SS.get(f"drill_act_to_{sid}_{L}"),
            level=SS.get("drill_act_level"),
            person=SS.get(f"drill_act_person_{sid}"),
            fields=fields,
            text=text,
        )
    except DrillError as exc:
        _refused(exc)
        return
    if player:  # who in the room did it (stored with the decision, for the review)
        decision["player"] = player
    clear = tuple(f"drill_rc_{c}" for c in step.content)
    _act(decision, clear + (("drill_act_final_text",) if sid == "final_report" else ()))


def _call_backup() -> None:
    """Call the next person in the chain (the offer is worked out from the stored drill, so a
    refresh keeps it)."""
    drill_id = _query_drill()
    live = SS.get("drill_live")
    backup = live.last_backup() if live is not None and live.drill_id == drill_id else None
    if backup:
        _act(dict(backup))


def _step_form(live: DrillSession, inc: str, sid: str) -> None:
    """The form of one step: its addressees, whom to call, the grade, the content it carries."""
    plan, scenario = live.scenario.plan, live.scenario
    step = plan.step(sid)
    # the items scroll in a box when there are many: say how many there are
    many = len(step.content) > 2
    step_heading(plan, sid, L, _t("drill_content_count", n=len(step.content)) if many else "")
    if sid == "graded":
        grade_choice(plan, L, "drill_act_level")
    if step.to:
        # whom to send to and whom to call side by side, one line: the Do-it row stays in view
        c_to, c_who = st.columns(2)
        chosen = addressee_choice(c_to, live, inc, sid, L, f"drill_act_to_{sid}")
        target = ds.call_target(plan, sid, chosen)
        if target is not None:
            site = live.drill.incidents[inc].site
            role = ds.call_role(live.drill, target)
            names = dict(dl.chain_options(scenario, role, site, L))
            c_who.selectbox(
                _t("drill_person_for", who=dl.addressee_label(plan, target, L)),
                [*live.call_chain(inc, target), ""],
                format_func=lambda p: (
                    names.get(p, dl.person_label(scenario, p, L)) if p else _t("drill_chain_all")
                ),
                key=f"drill_act_person_{sid}",
            )
        elif sum(ds.phoned(plan, sid, x) for x in chosen) > 1:
            c_who.caption(_t("drill_chain_auto"))
    if step.content:
        # the report's items scroll in a box of their own, so the Do-it row stays in view
        scrolls = len(step.content) > 2
        box = st.container(height=112 if scrolls else None, border=scrolls)
        c1, c2 = box.columns(2)
        for n, c in enumerate(step.content):
            (c1 if n % 2 == 0 else c2).text_area(
                dl.content_label(plan, c, L), key=f"drill_rc_{c}", height=68, max_chars=500
            )
    if sid == "final_report":
        st.text_area(_t("drill_final_text"), key="drill_act_final_text", height=68)


def _action_menu(live: DrillSession) -> None:
    """The team's menu: the plan's procedure, step by step (and a note for the record)."""
    st.markdown(f"**{_t('drill_actions')}**")
    backup = live.last_backup()
    if backup:
        who = md(dl.person_label(live.scenario, backup["person"], L))
        st.button(
            _t("drill_call_backup", person=who),
            key="drill_call_backup",
            on_click=_call_backup,
            type="primary",
        )
    injects = live.drill.injects()
    if not injects:
        st.caption(_t("drill_no_injects"))
        _show_flash()
        return
    plan = live.scenario.plan
    by_id = {i["id"]: i for i in injects}
    short = dl.incident_names(live, L, short=True)
    open_ids = [i["id"] for i in injects if not i["closed"]]
    ids = list(by_id)
    default = ids.index(open_ids[-1]) if open_ids else len(ids) - 1
    inc = st.selectbox(
        _t("drill_act_incident"),
        ids,
        index=default,
        format_func=lambda i: (
            f"{short.get(i, i)} · {dl.family_label(by_id[i]['family'], L)} · "
            + (by_id[i]["site_zh"] if L == "zh" else by_id[i]["site_en"])
        ),
        key="drill_act_incident",
        label_visibility="collapsed",  # the choice reads "Incident 1 · …" itself
    )
    options = live.menu(inc)
    waiting = live.office_steps_waiting(inc)
    names = dl.list_sep(L).join(dl.step_label(plan, s, L) for s in waiting)
    sid = st.pills(
        _t("drill_act_kind"),
        options,
        default=options[0],
        format_func=lambda k: dl.menu_label(plan, k, L),
        key="drill_act_kind",
        required=True,
        wrap=True,
        # why the office's steps are not offered yet: behind the label's tooltip
        help=_t("drill_office_waiting", steps=names) if waiting else None,
    )
    sid = ds.pick(sid, options)
    if sid == "note":
        st.text_area(_t("drill_note_text"), key="drill_act_note", height=68)
        about = ["", *(f"rule:{r}" for r in plan.rules), *(f"step:{x}" for x in options[:-1])]
        st.selectbox(
            _t("drill_note_about"),
            about,
            format_func=lambda x: (
                _t("drill_note_about_none")
                if not x
                else label(plan, "rules", x[5:], L)
                if x.startswith("rule:")
                else dl.step_label(plan, x[5:], L)
            ),
            key="drill_act_note_about",
        )
    else:
        _step_form(live, inc, sid)
    c_do, c_who = st.columns([1, 2], vertical_alignment="bottom")
    c_who.text_input(
        _t("drill_player"),
        key="drill_act_player",
        max_chars=40,
        placeholder=_t("drill_player"),
        label_visibility="collapsed",
    )
    c_do.button(_t("drill_do"), key="drill_do", on_click=_do_action, type="primary")
    _show_flash()  # what the last decision did, below the menu: the menu never moves


def _trainer_notes(live: DrillSession) -> None:
    """What the plan expects for each inject: its grade and the compliant policy's steps."""
    injects = live.drill.injects()
    if not injects:
        return
    from sim.grading import grade

    plan = live.scenario.plan
    ref = _reference(live)
    names = dl.incident_names(live, L)
    with st.expander(_t("drill_trainer_only")):
        for inj in injects:
            g = grade(inj["facts"], plan)
            st.markdown(
                f"**{md(names.get(inj['id'], inj['id']))}** · "
                + _t(
                    "drill_plan_grade",
                    grade=dl.grade_label(plan, g.level, L),
                    basis=plan_text(plan, g.basis_zh if L == "zh" else g.basis_en, L),
                )
            )
            st.caption(_t("drill_checklist"))
            st.markdown(
                "\n".join(
                    f"- {'☑' if done else '☐'} {md(dl.step_label(plan, sid, L))}"
                    for sid, done in live.expected_checklist(inj["id"], ref)
                )
            )
            st.caption(_t("drill_expected"))
            st.markdown("\n".join(f"- {md(x)}" for x in dl.expected_steps(live, inj["id"], L, ref)))


def _players(live: DrillSession) -> None:
    players = live.row.get("players") or {}
    with st.expander(_t("drill_players_shown")):
        if not players:
            st.caption(_t("drill_no_players"))
        for role, name in players.items():  # typed names: shown as typed, never as Markdown
            st.markdown(f"- {md(label(live.scenario.plan, 'roles', role, L))}: {md(name)}")


def _header(live: DrillSession) -> None:
    meta = _snapshot_meta(live.drill_id)
    site = meta["sites"].get(live.row["site"], (live.row["site"],) * 2)[0 if L == "zh" else 1]
    st.caption(
        _t(
            "drill_running_caption",
            id=live.drill_id,
            year=live.row["year"],
            site=md(site),
            scenario=md(
                meta.get("name_zh" if L == "zh" else "name_en") or live.row["scenario_name"]
            ),
        )
    )


def _send_now(incident: str) -> None:
    _act({"kind": "inject", "incident": incident})


def _send_adhoc() -> None:
    text = str(SS.get("drill_adhoc_text") or "").strip()
    if not text:
        _flash("warning", _t("drill_err_adhoc_empty"))
        return
    decision: dict[str, Any] = {"kind": "adhoc", "text": text}
    if SS.get("drill_adhoc_incident"):
        decision["incident"] = SS["drill_adhoc_incident"]
    _act(decision, ("drill_adhoc_text",))


def _inject_tools(live: DrillSession) -> None:
    """The trainer's injects: the scripted ones still to come (each with "send now"), and an
    ad-hoc inject — both stored as decisions, so a refresh or a replay keeps them."""
    plan_names = dl.incident_names(live, L, short=True)
    with st.expander(_t("drill_upcoming")):
        upcoming = live.drill.upcoming()
        if not upcoming:
            st.caption(_t("drill_upcoming_none"))
        for u in upcoming:
            c1, c2 = st.columns([3, 1.3], vertical_alignment="center")
            inc = live.drill.incidents[u["id"]]
            c1.caption(
                _t(
                    "drill_upcoming_at",
                    name=plan_names.get(u["id"], u["id"]),
                    family=dl.family_label(inc.family, L),
                    time=day_time(u["at"], L),
                )
            )
            c2.button(
                _t("drill_send_now"),
                key=f"drill_send_{u['id']}",
                on_click=_send_now,
                args=(u["id"],),
            )
        st.markdown(f"**{_t('drill_adhoc_header')}**")
        st.text_area(_t("drill_adhoc_text"), key="drill_adhoc_text", height=68, max_chars=500)
        seen = [i["id"] for i in live.drill.injects()]
        st.selectbox(
            _t("drill_adhoc_incident"),
            ["", *seen],
            format_func=lambda x: plan_names.get(x, x) if x else _t("drill_adhoc_none"),
            key="drill_adhoc_incident",
        )
        st.button(_t("drill_adhoc_send"), key="drill_adhoc_send", on_click=_send_adhoc)


def _end_panel(live: DrillSession) -> None:
    """Undo and End; once End is ticked, which clocks are still running and how long they have
    (they will be scored unfinished, not missed)."""
    c1, c2 = st.columns(2)
    c1.button(_t("drill_undo"), key="drill_undo", on_click=_undo)
    c2.button(_t("drill_end"), key="drill_end", on_click=_end)
    st.checkbox(_t("drill_end_confirm"), key="drill_end_confirm")
    if SS.get("drill_end_confirm"):
        running = [
            r
            for r in dl.due_next(live, L)
            if r["status"] == "pending" and r["left_min"] is not None
        ]
        if running:
            items = dl.list_sep(L).join(
                f"{r['name']} · {r['rule']}（{r['left']}）"
                if L == "zh"
                else f"{r['name']} · {r['rule']} ({r['left']})"
                for r in running
            )
            st.warning(_t("drill_end_running", n=len(running), items=md(items)))


def running_view(drill_id: int) -> None:
    """One screen at 1366×768: clock and "due next" | the action menu | injects and the
    trainer's tools; the timeline and the log below."""
    live = _current(drill_id)
    _announce(live)
    st.html(
        "<style>.block-container{padding-top:2.5rem!important}"
        "[data-testid='stButtonGroup'] button[data-variant='pills']{min-height:0;"
        "height:1.65rem;padding:0 0.55rem;font-size:0.88rem}</style>"
    )
    _header(live)
    _controls(live)
    c_due, c_act, c_side = st.columns([1.2, 1.7, 1.2])
    ticking = SS.get("drill_running") or live.drill.clock["running"]
    with c_due:
        st.fragment(_live_panel, run_every=dl.TICK_SECONDS if ticking else None)(drill_id)
    live = _current(drill_id)
    with c_act:
        _action_menu(live)
    with c_side:
        st.fragment(
            seats_panel,
            run_every=seats_ui.REFRESH_SECONDS if seats_ui.any_players(live, store()) else None,
        )(drill_id)
        _notices()
        st.markdown(f"**{_t('drill_injects')}**")
        with st.container(height=260, border=False):
            render_injects(live, L)
        _trainer_notes(live)
        _inject_tools(live)
        _players(live)
        st.link_button(
            _t("proj_kiosk_link"),
            f"projector?kiosk=1&drill={drill_id}&lang={L}",
            icon=":material/slideshow:",
        )
        _end_panel(live)
    # the chart costs a click a fifth of a second or more each time the records change: the
    # console draws it when the trainer wants it (the scorecard always has it)
    if st.toggle(_t("drill_show_timeline"), key="drill_show_timeline"):
        _timeline_when_ready(drill_id, running=True)
    with st.expander(_t("drill_log")):
        rows = dl.log_rows(live, L)
        if rows:
            st.table(pd.DataFrame(rows), hide_index=True)
        else:
            st.caption(_t("drill_no_actions"))


# -- the scorecard ------------------------------------------------------------------------------


def scorecard_view(drill_id: int) -> None:
    """The end: rule by rule, grading, report content, the automatic policy, the standing."""
    live = _current(drill_id)
    _header(live)
    _show_flash()
    card = live.result(store())  # the stored scorecard (scored now if it was ended elsewhere)
    plan = live.scenario.plan
    st.header(_t("drill_scorecard"))
    st.caption(_t("drill_ended_at", time=day_time(card.ended_at, L)))
    counts, auto_counts = card.counts, card.auto_counts
    m1, m2, m3, m4, m5 = st.columns(5)
    m1.metric(_t("drill_metric_met"), counts["met"], border=True)
    m2.metric(_t("drill_metric_missed"), counts["missed"], border=True)
    m3.metric(_t("drill_metric_unfinished"), counts["unfinished"], border=True)
    m4.metric(_t("drill_metric_auto_met"), auto_counts["met"], border=True)
    m5.metric(_t("drill_metric_auto_missed"), auto_counts["missed"], border=True)
    st.subheader(_t("drill_score_rules"))
    names = dl.incident_names(live, L)
    st.table(pd.DataFrame(dl.score_rows(card, plan, L, names)), hide_index=True)
    st.caption(_t("drill_score_auto"))
    st.subheader(_t("drill_score_grading"))
    st.table(pd.DataFrame(dl.grading_rows(card, plan, L, names)), hide_index=True)
    st.subheader(_t("drill_score_content"))
    st.table(pd.DataFrame(dl.content_rows(card, plan, L, names)), hide_index=True)
    st.subheader(_t("drill_score_standing", n=card.standing_reps or ds.DEFAULT_REPS))
    lines = dl.standing_lines(card, plan, L)
    if lines:
        st.markdown("\n".join(f"- {x}" for x in lines))
        if card.n_incidents > 1:
            st.caption(_t("drill_standing_mean"))
    else:
        st.caption(_t("drill_standing_none"))
    seat_rows = dl.seat_time_rows(card, plan, L)
    if seat_rows:
        st.subheader(_t("seat_time_header"))
        st.table(pd.DataFrame(seat_rows), hide_index=True)
        st.caption(_t("seat_time_note"))
    st.markdown(f"#### {_t('drill_timeline')}")
    _timeline_when_ready(drill_id, running=False)
    with st.expander(_t("drill_log")):
        rows = dl.log_rows(live, L)
        if rows:
            st.table(pd.DataFrame(rows), hide_index=True)
    c1, c2 = st.columns(2)
    with contextlib.suppress(Exception):  # the review page is another page's; optional here
        c1.page_link(
            "ui/review.py",
            label=_t("drill_review_link"),
            icon=":material/rate_review:",
            query_params={"drill": drill_id},
        )
    c2.button(_t("drill_new"), key="drill_new", on_click=_open, args=(None,))


# -- the page -----------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _charts_warmed() -> threading.Thread:
    """Load the chart machinery once per server, in the background, while the trainer sets up:
    the first timeline chart would otherwise cost one click about 2 s."""
    from sim.charts import warm_up

    thread = threading.Thread(target=warm_up, name="drillsim-chart-warm-up", daemon=True)
    thread.start()
    return thread


_charts_warmed()
_drill_id = _query_drill()
if _drill_id is None:
    st.title(_t("drill_page_title"))
    setup_view()
else:
    try:
        _live = _current(_drill_id)
    except Exception as exc:  # noqa: BLE001 - an unknown or damaged drill is a message
        from sim.store import StoreError

        if isinstance(exc, StoreError) and exc.key == "store_no_drill":
            st.error(_t("drill_not_found", id=_drill_id))
        else:  # a damaged drill or a store that cannot be used: its own message, translated
            show_error(exc)
        st.button(_t("drill_new"), key="drill_new", on_click=_open, args=(None,))
        st.stop()
    if _live.ended:
        st.title(_t("drill_page_title"))
        scorecard_view(_drill_id)
    else:
        running_view(_drill_id)
