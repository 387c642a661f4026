"""Expert review of one stored drill: replay, scorecard, evaluation form, improvement plan, export.

The plan's expert group guides each drill and evaluates its results (对演练结果进行评价). The
drill is rebuilt from the store (scenario snapshot + seed + the team's decisions), so the replay
is exactly what the team did. Open improvement items are offered as injects for next year's drill.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from sim.charts import figure_png, timeline_figure
from sim.grading import grade
from sim.i18n import LANGS, addressee_label, escape_markdown, label, step_label, t
from sim.labels import (
    day_time,
    incident_namer,
    incident_names,
    note_of,
    plan_text,
    verdict_cells,
)
from sim.plan import RULE_IDS
from sim.programme import known_sites, scenario_titles
from sim.report import (
    FORMATS,
    IMPROVEMENT_STATUSES,
    ReportError,
    action_columns,
    action_rows,
    build_report_from,
    drill_objectives,
    evaluation_scales,
    export,
    improvement_status_label,
    rebuild_stored,
    status_label,
)
from sim.report import Redactor as _Redactor
from sim.rules import verdicts
from sim.session import RULE_STEPS, Evidence, evidence
from sim.store import StoreError
from ui.common import db_path, lang, show_error, store, translator
from ui.drill_view import person_label, seat_time_rows

L = lang()

_t = translator(L)


@st.cache_resource(max_entries=8, show_spinner=False)
def _rebuilt(db: str, drill_id: int, version: tuple):
    """The stored drill replayed (cached per store, drill and its decisions' count and last change)."""
    return rebuild_stored(store(), drill_id)


def _as_date(value) -> dt.date | None:
    """A stored due date (ISO text or a date) as a date; None when absent or unreadable."""
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _drill_option(d: dict) -> str:
    kind = t(f"rev_kind_{d.get('kind') or 'team'}", L)
    names = site_names.get(d.get("site", ""))
    return _t(
        "rev_drill_option",
        id=d["id"],
        year=d.get("year", ""),
        site=(names[0] if L == "zh" else names[1]) if names else d.get("site", ""),
        name=d.get("title")
        or titles.get(int(d["id"]), ("", ""))[0 if L == "zh" else 1]
        or d.get("scenario_name", ""),
        kind=kind,
    )


st.title(_t("rev_page_title"))
st.caption(_t("rev_page_intro"))


def _store_error(exc: Exception) -> None:
    """A failure shown as one message; a store's in the page's language."""
    if isinstance(exc, StoreError):
        st.error(f"{_t('error_prefix')}: {escape_markdown(exc.text(L))}")
    else:
        show_error(exc)


try:
    s = store()
    drills = s.list_drills()
    damaged = {int(d["id"]): d["problem"] for d in s.damaged()}
except Exception as exc:  # noqa: BLE001 - a broken store is shown, not raised
    _store_error(exc)
    st.stop()
for _id, _problem in damaged.items():  # named here, left out of the choice; the others show
    st.warning(_t("store_damaged_listed", id=_id, problem=escape_markdown(_problem)))
drills = [d for d in drills if int(d["id"]) not in damaged]
if not drills:
    st.info(_t("rev_no_drills"))
    st.stop()

by_id = {int(d["id"]): d for d in drills}
site_names = known_sites(s)
titles = scenario_titles(s)
ids = list(by_id)
wanted = st.query_params.get("drill")
start = ids.index(int(wanted)) if wanted and wanted.isdigit() and int(wanted) in by_id else 0
drill_id = st.selectbox(
    _t("rev_choose_drill"),
    ids,
    index=start,
    format_func=lambda i: _drill_option(by_id[i]),
    key="rev_drill",
)
if st.query_params.get("drill") != str(drill_id):
    st.query_params["drill"] = str(drill_id)

try:
    version = (
        int(by_id[drill_id].get("n_actions") or 0),
        str(by_id[drill_id].get("updated_at", "")),
    )
    row, rb = _rebuilt(str(db_path()), int(drill_id), version)
except (ReportError, StoreError) as exc:
    _store_error(exc)
    st.stop()
scenario, plan = rb.scenario, rb.scenario.plan
records, card = rb.records, rb.scorecard
incident_of = incident_namer(scenario.incidents, L)  # numbered once, named per row
# the review page is for the expert group on the trainer's machine: show names, never phones
names_only = _Redactor([p.phone for p in scenario.roster.people], [], L, enabled=True)

tab_replay, tab_score, tab_eval, tab_items, tab_export = st.tabs(
    [
        _t("rev_tab_replay"),
        _t("rev_tab_scorecard"),
        _t("rev_tab_evaluation"),
        _t("rev_tab_improvements"),
        _t("rev_tab_export"),
    ]
)

# -- replay -----------------------------------------------------------------------------------
with tab_replay:
    if not records:
        st.info(_t("rev_no_actions"))
    else:
        n = len(records)
        step = n if n == 1 else st.slider(_t("rev_step"), 1, n, n, key=f"rev_step_{drill_id}")
        current = records[step - 1]
        st.caption(_t("rev_step_caption", n=step, total=n, time=day_time(current.time, L)))
        fig = timeline_figure(
            records[:step],
            plan,
            L,
            now=current.time,
            names=incident_names(scenario.incidents, L, short=True),
        )
        st.image(figure_png(fig, dpi=100), width="stretch")
        log = pd.DataFrame(
            action_rows(
                records[:step],
                scenario,
                L,
                names_only,
                show_names=True,
                by=rb.players[:step] if rb.players else None,
            ),
            columns=action_columns(L, by=bool(rb.players)),
        )
        st.dataframe(log.iloc[::-1], hide_index=True, width="stretch", height=280)
        true_grades = {inc.id: grade(inc.facts(), plan).level for inc in scenario.incidents}
        # the last step of an ended drill reads as the scorecard does (unfinished, not pending)
        final = step == n and row.get("status") == "ended"
        vs = verdicts(
            scenario,
            tuple(scenario.incidents),
            true_grades,
            records[:step],
            end_time=float(card.ended_at) if final else current.time,
            ended=final,
        )
        st.markdown(f"**{_t('rev_verdicts_at_step')}**")
        st.dataframe(
            pd.DataFrame(
                [
                    [
                        incident_of(v.incident),
                        label(plan, "rules", v.rule, L),
                        status_label(v.status, v.note_code, L),
                    ]
                    for v in vs
                    if v.note_code != "grade"
                ],
                columns=[_t("incident"), _t("rule"), _t("status")],
            ),
            hide_index=True,
            width="stretch",
        )

# -- scorecard --------------------------------------------------------------------------------
with tab_score:
    counts = card.counts
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(_t("status_met"), counts["met"])
    c2.metric(_t("status_missed"), counts["missed"])
    c3.metric(_t("status_unfinished"), counts["unfinished"])
    c4.metric(_t("status_na"), counts["n/a"])
    cells = [(v, verdict_cells(v, L, plan)) for v in card.applicable()]
    st.dataframe(
        pd.DataFrame(
            [
                [
                    incident_of(v["incident"]),
                    label(plan, "rules", v["rule"], L),
                    c["status"],
                    c["measured"],
                    c["allowed"],
                    c["note"],
                ]
                for v, c in cells
            ],
            columns=[
                _t("incident"),
                _t("rule"),
                _t("status"),
                _t("measured"),
                _t("allowed"),
                _t("rev_note"),
            ],
        ),
        hide_index=True,
        width="stretch",
    )
    seat_rows = seat_time_rows(card, plan, L)
    if seat_rows:
        st.markdown(f"**{_t('seat_time_header')}**")
        st.dataframe(pd.DataFrame(seat_rows), hide_index=True, width="stretch")
        st.caption(_t("seat_time_note"))
    st.markdown(f"**{_t('rev_grading')}**")
    st.dataframe(
        pd.DataFrame(
            [
                [
                    incident_of(g["incident"]),
                    label(plan, "grades", g["plan"], L) if g.get("plan") else "—",
                    label(plan, "grades", g["team"], L) if g.get("team") else "—",
                    _t("rev_yes") if g.get("agrees") else _t("rev_no"),
                    plan_text(plan, g.get("basis_zh" if L == "zh" else "basis_en", ""), L),
                ]
                for g in card.grading
            ],
            columns=[
                _t("incident"),
                _t("rev_plan_grade"),
                _t("rev_team_grade"),
                _t("rev_agrees"),
                _t("rev_basis"),
            ],
        ),
        hide_index=True,
        width="stretch",
    )


# -- evaluation form --------------------------------------------------------------------------
def _evidence_lines(ev: Evidence) -> list[str]:
    """One rule's evidence in words (Markdown-escaped): measured against allowed per incident,
    the team's actions on its steps (time, who, to whom) and the observer notes naming it."""
    sep = "；" if L == "zh" else "; "
    out = []
    for v in ev.verdicts:
        cells = verdict_cells(v, L, plan)
        out.append(
            _t(
                "rev_ev_measured",
                incident=incident_of(v["incident"]),
                measured=cells["measured"],
                allowed=cells["allowed"],
                status=cells["status"],
            )
        )
    for e in ev.actions:
        action = step_label(plan, e["step"], L)
        if e["to"]:
            action += " → " + sep.join(addressee_label(plan, x, L) for x in e["to"])
        if e["person"]:
            who = person_label(scenario, e["person"], L)
            action += f"（{who}）" if L == "zh" else f" ({who})"
        out.append(
            _t("rev_ev_action", time=day_time(e["time"], L), who=e["player"] or "—", action=action)
        )
    if ev.verdicts and not ev.actions and RULE_STEPS.get(ev.rule):
        out.append(_t("rev_ev_no_actions"))
    for e in ev.notes:
        out.append(
            _t("rev_ev_note", time=day_time(e["time"], L), who=e["player"] or "—", text=e["text"])
        )
    return [escape_markdown(x) for x in out]


rule_evidence = evidence(card, rb.log, RULE_IDS)
rule_status: dict[str, list[str]] = {}
for v in card.verdicts:
    if v["status"] in ("met", "missed", "unfinished"):
        rule_status.setdefault(v["rule"], []).append(status_label(v["status"], note_of(v)[0], L))

with tab_eval:
    st.caption(_t("rev_eval_intro"))
    saved = s.evaluation(int(drill_id)) or {}
    scales = evaluation_scales()
    scale_ids = list(scales)
    scale_start = scale_ids.index(saved["scale"]) if saved.get("scale") in scales else 0
    scale_id = st.selectbox(
        _t("rev_scale"),
        scale_ids,
        index=scale_start,
        format_func=lambda k: scales[k].label(L),
        key=f"rev_scale_{drill_id}",
    )
    scale = scales[scale_id]
    st.caption(" · ".join(f"{lv.code} — {lv.label(L)}" for lv in scale.levels))
    prior = (
        {(r.get("kind"), r.get("target")): r for r in saved.get("ratings") or []}
        if saved.get("scale") == scale_id
        else {}
    )
    options = ["", *scale.codes()]

    def rating_inputs(kind: str, target: str, text: str, hint: str = "", obs: str = "") -> dict:
        """A rating and an observation; ``obs`` pre-fills an observation not saved yet."""
        before = prior.get((kind, target), {})
        c1, c2 = st.columns([2, 3])
        code = c1.selectbox(
            text + (f"  ·  {hint}" if hint else ""),
            options,
            index=options.index(before.get("rating")) if before.get("rating") in options else 0,
            format_func=lambda c: scale.rating_text(c, L) if c else _t("rev_not_rated"),
            key=f"rev_rate_{drill_id}_{scale_id}_{kind}_{target}",
        )
        obs = c2.text_input(
            _t("rev_observation"),
            value=before.get("observation", obs if not before else ""),
            key=f"rev_obs_{drill_id}_{scale_id}_{kind}_{target}",
        )
        return {"target": target, "kind": kind, "rating": code or None, "observation": obs.strip()}

    with st.form(f"rev_eval_form_{drill_id}"):
        ratings = []
        st.subheader(_t("rev_eval_rules"))
        for rule in RULE_IDS:
            hint = (
                _t("rev_eval_scorecard_hint", status=" / ".join(rule_status[rule]))
                if rule in rule_status
                else ""
            )
            ev = rule_evidence[rule]
            notes = (
                "；".join(e["text"] for e in ev.notes)
                if L == "zh"
                else "; ".join(e["text"] for e in ev.notes)
            )
            ratings.append(rating_inputs("rule", rule, label(plan, "rules", rule, L), hint, notes))
            if ev:
                st.caption(f"**{_t('rev_evidence')}**  \n" + "  \n".join(_evidence_lines(ev)))
        st.subheader(_t("rev_eval_objectives"))
        for obj in drill_objectives():
            ratings.append(rating_inputs("objective", obj.id, obj.label(L)))
        strengths = st.text_area(
            _t("rev_strengths"),
            value="\n".join(saved.get("strengths") or []),
            help=_t("rev_strengths_help"),
            key=f"rev_strengths_{drill_id}",
        )
        improvements = st.text_area(
            _t("rev_improvements"),
            value="\n".join(saved.get("improvements") or []),
            help=_t("rev_strengths_help"),
            key=f"rev_improvements_{drill_id}",
        )
        evaluators = st.text_input(
            _t("rev_evaluators"),
            value=", ".join(saved.get("evaluators") or []),
            help=_t("rev_evaluators_help"),
            key=f"rev_evaluators_{drill_id}",
        )
        save_eval = st.form_submit_button(_t("rev_save_evaluation"), type="primary")
    if save_eval:
        evaluation = {
            "scale": scale_id,
            "ratings": [r for r in ratings if r["rating"] or r["observation"]],
            "strengths": [x.strip() for x in strengths.splitlines() if x.strip()],
            "improvements": [x.strip() for x in improvements.splitlines() if x.strip()],
            "evaluators": [
                x.strip()
                for x in evaluators.replace("，", ",").replace("、", ",").split(",")
                if x.strip()
            ],
        }
        try:
            s.save_evaluation(int(drill_id), evaluation)
            st.success(_t("rev_saved_evaluation"))
        except Exception as exc:  # noqa: BLE001 - shown to the user
            show_error(exc)

# -- improvement plan ---------------------------------------------------------------------------
role_ids = list(plan.roles)
with tab_items:
    st.caption(_t("rev_items_intro"))
    st.caption(_t("rev_improvement_intro"))
    with st.form(f"rev_add_item_form_{drill_id}", clear_on_submit=True):
        st.markdown(f"**{_t('rev_add_item')}**")
        new_action = st.text_input(_t("rev_item_action"), key=f"rev_new_action_{drill_id}")
        c1, c2, c3 = st.columns(3)
        new_owner = c1.selectbox(
            _t("rev_item_owner"),
            role_ids,
            index=role_ids.index("office_director") if "office_director" in role_ids else 0,
            format_func=lambda r: label(plan, "roles", r, L),
            key=f"rev_new_owner_{drill_id}",
        )
        new_due = c2.date_input(
            _t("rev_item_due"),
            value=dt.date.today() + dt.timedelta(days=90),
            key=f"rev_new_due_{drill_id}",
        )
        new_rule = c3.selectbox(
            _t("rev_item_rule"),
            ["", *RULE_IDS],
            format_func=lambda r: label(plan, "rules", r, L) if r else _t("rev_no_rule"),
            key=f"rev_new_rule_{drill_id}",
        )
        add_item = st.form_submit_button(_t("rev_add_item_button"))
    if add_item:
        if not new_action.strip():
            st.warning(_t("rev_item_action_required"))
        else:
            try:
                s.add_improvement(
                    int(drill_id),
                    action=new_action.strip(),
                    owner_role=new_owner,
                    due=new_due.isoformat(),
                    status="open",
                    rule_id=new_rule or None,
                )
                st.success(_t("rev_item_added"))
            except Exception as exc:  # noqa: BLE001 - shown to the user
                show_error(exc)

    saved_eval = s.evaluation(int(drill_id)) or {}
    items = s.improvements(int(drill_id))
    pending_areas = [
        a
        for a in saved_eval.get("improvements") or []
        if a not in {it.get("action") for it in items}
    ]
    if pending_areas and st.button(_t("rev_from_areas"), key=f"rev_from_areas_{drill_id}"):
        due = (dt.date.today() + dt.timedelta(days=90)).isoformat()
        for area in pending_areas:
            s.add_improvement(
                int(drill_id),
                action=area,
                owner_role="office_director",
                due=due,
                status="open",
                rule_id=None,
            )
        items = s.improvements(int(drill_id))

    if not items:
        st.info(_t("rev_no_items"))
    else:
        frame = pd.DataFrame(
            [
                {
                    "id": int(it["id"]),
                    "action": it.get("action", ""),
                    "owner_role": it.get("owner_role", ""),
                    "due": _as_date(it.get("due")),
                    "status": it.get("status", "open"),
                    "rule_id": it.get("rule_id") or "",
                }
                for it in items
            ]
        )
        owners = list(dict.fromkeys([*role_ids, *frame["owner_role"]]))
        edited = st.data_editor(
            frame,
            key=f"rev_items_editor_{drill_id}",
            num_rows="fixed",
            hide_index=True,
            width="stretch",
            disabled=["id"],
            column_config={
                "id": st.column_config.NumberColumn("#", width="small"),
                "action": st.column_config.TextColumn(
                    _t("rev_item_action"), required=True, width="large"
                ),
                "owner_role": st.column_config.SelectboxColumn(
                    _t("rev_item_owner"),
                    options=owners,
                    format_func=lambda r: label(plan, "roles", r, L) if r in plan.roles else r,
                ),
                "due": st.column_config.DateColumn(_t("rev_item_due"), format="YYYY-MM-DD"),
                "status": st.column_config.SelectboxColumn(
                    _t("rev_item_status"),
                    options=list(IMPROVEMENT_STATUSES),
                    format_func=lambda x: improvement_status_label(x, L),
                    required=True,
                ),
                "rule_id": st.column_config.SelectboxColumn(
                    _t("rev_item_rule"),
                    options=["", *RULE_IDS],
                    format_func=lambda r: label(plan, "rules", r, L) if r else _t("rev_no_rule"),
                ),
            },
        )
        if st.button(_t("rev_save_items"), key=f"rev_save_items_{drill_id}"):
            changed = 0
            try:
                for (_, before), (_, after) in zip(
                    frame.iterrows(), edited.iterrows(), strict=True
                ):
                    fields = {}
                    for col in ("action", "owner_role", "due", "status", "rule_id"):
                        b, a = before[col], after[col]
                        if pd.isna(b) and pd.isna(a):
                            continue
                        if b != a:
                            if col == "due":
                                fields[col] = (
                                    pd.to_datetime(a).date().isoformat() if not pd.isna(a) else None
                                )
                            elif col == "rule_id":
                                fields[col] = a or None
                            else:
                                fields[col] = str(a).strip() if isinstance(a, str) else a
                    if fields.get("action") == "":
                        fields.pop("action")
                    if fields:
                        s.update_improvement(int(before["id"]), **fields)
                        changed += 1
                st.success(_t("rev_items_saved", n=changed))
            except Exception as exc:  # noqa: BLE001 - shown to the user
                show_error(exc)

# -- export -------------------------------------------------------------------------------------
with tab_export:
    st.caption(_t("rev_export_intro"))
    c1, c2 = st.columns(2)
    fmt = c1.selectbox(
        _t("rev_export_format"), FORMATS, format_func=str.upper, key="rev_export_fmt"
    )
    report_lang = c2.radio(
        _t("rev_export_lang"),
        LANGS,
        index=LANGS.index(L),
        format_func=lambda c: t(f"lang_{c}", L),
        horizontal=True,
        key="rev_export_lang",
    )
    contacts = st.checkbox(_t("rev_include_contacts"), key="rev_export_contacts")
    if contacts:
        st.warning(_t("rev_contacts_warning"))
    mode = st.radio(
        _t("rev_encrypt"),
        ["none", "keys", "passphrase"],
        format_func=lambda m: _t(
            {
                "none": "rev_encrypt_none",
                "keys": "rev_encrypt_keys",
                "passphrase": "rev_encrypt_passphrase",
            }[m]
        ),
        horizontal=True,
        key="rev_export_encrypt",
    )
    recipients: list[str] = []
    passphrase = None
    if mode == "keys":
        raw = st.text_area(_t("rev_recipients"), key="rev_export_recipients")
        recipients = [
            line.strip()
            for line in raw.splitlines()
            if line.strip() and not line.strip().startswith("#")
        ]
    elif mode == "passphrase":
        passphrase = (
            st.text_input(_t("rev_passphrase"), type="password", key="rev_export_passphrase")
            or None
        )
    wanted_export = (
        int(drill_id),
        fmt,
        report_lang,
        bool(contacts),
        mode,
        tuple(recipients),
        bool(passphrase),
    )
    if st.button(_t("rev_prepare"), type="primary", key="rev_export_prepare"):
        if mode != "none" and not (recipients or passphrase):
            st.warning(_t("rev_need_key_or_passphrase"))
        else:
            try:
                report = build_report_from(
                    row,
                    rb,
                    s.evaluation(int(drill_id)),
                    s.improvements(int(drill_id)),
                    report_lang,
                    include_contacts=bool(contacts),
                )
                ex = export(
                    s,
                    int(drill_id),
                    fmt,
                    lang=report_lang,
                    include_contacts=bool(contacts),
                    recipients=recipients,
                    passphrase=passphrase,
                    report=report,
                )
                st.session_state["rev_export"] = {
                    "options": wanted_export,
                    "name": ex.file_name,
                    "data": ex.data,
                    "mime": ex.mime,
                    "encrypted": ex.encrypted,
                }
            except (ReportError, ValueError) as exc:
                show_error(exc)
    prepared = st.session_state.get("rev_export")
    if prepared and prepared["options"] == wanted_export:
        shown = escape_markdown(prepared["name"])
        st.success(_t("rev_prepared", name=shown, size=len(prepared["data"])))
        st.download_button(
            _t("rev_download", name=shown),
            data=prepared["data"],
            file_name=prepared["name"],
            mime=prepared["mime"],
            on_click="ignore",
            key="rev_export_download",
        )
        if prepared["encrypted"]:
            st.caption(_t("rev_decrypt_hint", name=shown))
