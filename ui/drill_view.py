"""How the drill console and the projector show a drill session: clock, board, scorecard, log.

Presentation only — words, tables and colours from a :class:`sim.session.DrillSession` and its
:class:`sim.session.Scorecard`. Creating, replaying, storing, undoing, ending and scoring a drill
live in :mod:`sim.session`; no Streamlit here, so every table a page shows can be tested alone.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Sequence
from typing import Any

from sim import labels
from sim.drill import Outcome, auto_reference
from sim.i18n import addressee_label, escape_markdown, label, step_label, t
from sim.rules import MET, MISSED, NA, UNFINISHED
from sim.scenario import DAY, Scenario, Site
from sim.session import GAP_RULES, MENU_EXTRA, DrillSession, Scorecard

SPEEDS = (1, 2, 5, 10)
TICK_SECONDS = 2.0
#: Status marks found in common fonts (DejaVu), so tables read the same without an emoji font.
STATUS_ICON = labels.STATUS_ICON
#: The older decision kinds stored drills may hold, and the step each is read as.
OLD_KIND_STEP = {
    "control": "control",
    "grade": "graded",
    "special_plan": "special_plan",
    "emergency_state": "emergency_state",
    "duty_24h": "duty_24h",
    "close": "closed",
}


def site_name(site: Site, lang: str) -> str:
    return (site.name_zh if lang == "zh" else site.name_en) or site.id


# -- formatting ---------------------------------------------------------------------------------


def fmt_minutes(minutes: float | None, lang: str) -> str:
    """130 → "2小时10分钟" / "2 h 10 min"; None → "—"."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "—"
    total = int(round(float(minutes)))
    h, m = divmod(abs(total), 60)
    text = t("drill_hm", lang, h=h, m=m) if h else t("drill_m", lang, m=m)
    return f"-{text}" if total < 0 else text


def clock_parts(scenario: Scenario, minute: float, lang: str) -> tuple[str, str]:
    """The clock as ("D0 12:05" style time of day, "2027-06-07 (exam day 1)")."""
    day = int(minute // DAY)
    hhmm = labels.day_time(minute, lang).rsplit(" ", 1)[-1]
    try:
        date = (dt.date.fromisoformat(scenario.first_day) + dt.timedelta(days=day)).isoformat()
    except (TypeError, ValueError):
        return hhmm, t("drill_clock_day", lang, day=day + 1)
    return hhmm, t("drill_clock_date", lang, date=date, day=day + 1)


def status_text(status: str, lang: str, note_code: str = "") -> str:
    """A status with its mark, in words (:func:`sim.labels.status_word`)."""
    return labels.status_word(status, lang, note_code, icon=True)


#: The words of codes, as every page and report says them (:mod:`sim.labels`), not copies.
family_label = labels.family_label
record_label = labels.action_label
error_text = labels.error_text


def grade_label(plan, level: str | None, lang: str) -> str:
    return label(plan, "grades", level, lang) if level else t("drill_ungraded", lang)


def facts_lines(facts: dict[str, Any], lang: str) -> list[str]:
    """An inject's facts in words (people, scope, stage, error kind, spares, lost time)."""
    out = []
    if facts.get("people") is not None:
        out.append(t("drill_fact_people", lang, n=facts["people"]))
    if facts.get("scope"):
        out.append(t("drill_fact_scope", lang, scope=t(f"drill_scope_{facts['scope']}", lang)))
    if facts.get("phase"):
        out.append(t("drill_fact_phase", lang, phase=t(f"drill_phase_{facts['phase']}", lang)))
    if facts.get("error_kind"):
        out.append(t(f"drill_fact_kind_{facts['error_kind']}", lang))
    site_spares = facts.get("site_spares_enough", facts.get("spares_enough"))  # old name too
    if site_spares is not None:
        out.append(t("drill_fact_spares_yes" if site_spares else "drill_fact_spares_no", lang))
    if facts.get("local_spares_enough") is not None:
        out.append(
            t(
                "drill_fact_local_spares_yes"
                if facts["local_spares_enough"]
                else "drill_fact_local_spares_no",
                lang,
            )
        )
    if facts.get("time_recoverable") is not None:
        out.append(
            t("drill_fact_time_yes" if facts["time_recoverable"] else "drill_fact_time_no", lang)
        )
    return out


def person_label(scenario: Scenario, pid: str, lang: str) -> str:
    for p in scenario.roster.people:
        if p.id == pid:
            return (p.name_zh if lang == "zh" else p.name_en) or p.name_en or p.name_zh or p.id
    return pid


def chain_options(
    scenario: Scenario, role: str, site: str | None, lang: str
) -> list[tuple[str, str]]:
    """A role's call chain as (person id, label with role and place in the chain)."""
    people = {p.id: p for p in scenario.roster.people}
    out = []
    for n, pid in enumerate(scenario.roster.chain(role, site)):
        pos = t("drill_chain_first", lang) if n == 0 else t("drill_chain_backup", lang, n=n)
        role_text = label(scenario.plan, "roles", people[pid].role, lang) if pid in people else ""
        out.append(
            (
                pid,
                t(
                    "drill_person_option",
                    lang,
                    name=person_label(scenario, pid, lang),
                    role=role_text,
                    pos=pos,
                ),
            )
        )
    return out


# -- the action menu: the plan's procedure, step by step ------------------------------------------


def list_sep(lang: str) -> str:
    """Between items of a list of plan terms: the plan's own terms hold 、 and commas
    (当地党委、政府; "Cause, nature and impact"), so items are set apart by semicolons."""
    return "；" if lang == "zh" else "; "


def _colon(lang: str) -> str:
    return "：" if lang == "zh" else ": "


def menu_label(plan, item: str, lang: str) -> str:
    return t(f"drill_kind_{item}", lang) if item in MENU_EXTRA else step_label(plan, item, lang)


def outcome_word(outcome: str, lang: str) -> str:
    """A record's outcome in a word or two (received, informed, failed, answered …)."""
    key = f"drill_outcome_{outcome}"
    text = t(key, lang)
    return outcome if text == key else text


def incident_names(live: DrillSession, lang: str, *, short: bool = False) -> dict[str, str]:
    """The drill's incidents by name ("事件1（答卷遗失）", ``short``: "事件1"), numbered in
    the order they happen."""
    return labels.incident_names(live.drill.incidents.values(), lang, short=short)


def incident_label(iid: str | None, lang: str, names: dict[str, str] | None = None) -> str:
    """An incident by its name in ``names`` (:func:`incident_names`; else as written); a
    run-level verdict (no incident) is about the whole exam calendar."""
    if not iid:
        return t("drill_exam_calendar", lang)
    return (names or {}).get(iid, iid)


# -- the deadline board and the scorecard ---------------------------------------------------------


#: A board row's colour (background, text) by how urgent it is.
COLOURS = {
    "overdue": ("#b71c1c", "#ffffff"),
    "urgent": ("#e65100", "#ffffff"),
    "soon": ("#ffd54f", "#1a1a1a"),
    "running": ("#e3f2fd", "#0d2b45"),
    "waiting": ("#eceff1", "#37474f"),
    MET: ("#c8e6c9", "#1b4d1e"),
    MISSED: ("#ef9a9a", "#4a0000"),
    UNFINISHED: ("#cfd8dc", "#263238"),
    NA: ("#f5f5f5", "#616161"),
}
URGENT_MIN, SOON_MIN = 15.0, 60.0


def _urgency(r: dict[str, Any]) -> str:
    """How a row is coloured: a running clock by the time it has left, else by its status."""
    if r["status"] != "pending":
        return r["status"] if r["status"] in COLOURS else NA
    left = r["left_min"]
    if left is None:  # no clock yet (the follow-up waits for 首报), or a duty with no limit
        return "running" if r.get("started") else "waiting"
    if left < 0:
        return "overdue"
    return "urgent" if left <= URGENT_MIN else "soon" if left <= SOON_MIN else "running"


_ORDER = {"overdue": 0, "urgent": 1, "soon": 2, "running": 3, "waiting": 4, MISSED: 5}


def due_next(
    live: DrillSession,
    lang: str,
    *,
    team_view: bool = False,
    focus: str | None = None,
    final: bool | None = None,
) -> list[dict[str, Any]]:
    """Every deadline of the board, in words, grouped by incident and sorted by time left.

    The engine builds the board (``Drill.deadline_board``; ``team_view``: from the team's own
    grading, for the projector). Within an incident the running clocks come first, least time
    left first, then those waiting to start, then the settled ones; incidents are ordered by
    their most urgent clock, ``focus`` (the incident the team is working on) first. Each row
    has ``incident`` (id), ``name``, ``rule`` (words), ``status`` (code), ``status_text``,
    ``deadline``, ``left`` (words), ``left_min`` and ``urgency`` (a key of :data:`COLOURS`).
    """
    plan = live.scenario.plan
    ended = live.ended if final is None else final
    names = incident_names(live, lang)
    rows = []
    for r in live.drill.deadline_board(team_view=team_view, final=ended):
        urgency = _urgency(r)
        if r["status"] == "pending" and r["left_min"] is not None:
            left_min = r["left_min"]
            left = (
                t("drill_overdue", lang, t=fmt_minutes(-left_min, lang))
                if left_min < 0
                else t("drill_left", lang, t=fmt_minutes(left_min, lang))
            )
        elif r["status"] == "pending":
            left = "—" if r.get("started") else t("drill_clock_waiting", lang)
        elif (
            r["status"] in (MET, MISSED)
            and r["measured_min"] is not None
            and r["rule"] not in GAP_RULES
        ):
            left = t("drill_taken", lang, t=fmt_minutes(r["measured_min"], lang))
        else:
            left = "—"
        rows.append(
            {
                "incident": r["incident"],
                "name": incident_label(r["incident"], lang, names),
                "rule": label(plan, "rules", r["rule"], lang),
                "rule_id": r["rule"],
                "status": r["status"],
                "status_text": status_text(r["status"], lang),
                "deadline": "—" if r["deadline"] is None else labels.day_time(r["deadline"], lang),
                "left": left,
                "left_min": r["left_min"],
                "urgency": urgency,
            }
        )

    def key(r: dict[str, Any]) -> tuple:
        rank = _ORDER.get(r["urgency"], 6)
        return (rank, r["left_min"] if rank <= 3 and r["left_min"] is not None else 0.0)

    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["incident"], []).append(r)
    for g in groups.values():
        g.sort(key=key)
    order = sorted(groups, key=lambda iid: (iid != focus, key(groups[iid][0]), iid))
    return [r for iid in order for r in groups[iid]]


def board_html(
    rows: Sequence[dict[str, Any]], lang: str, *, size: float = 1.0, compact: bool = False
) -> str:
    """Rows of :func:`due_next` as one coloured HTML table, a heading row per incident (the
    projector's large rows; ``compact``: the console's list, the status as its mark only).
    Every text is escaped."""
    esc = html.escape
    pad = f"{0.25 * size:.2f}rem {0.5 * size:.2f}rem"
    out = [
        f"<table style='width:100%;border-collapse:separate;border-spacing:0 {2 * size:.0f}px;"
        f"font-size:{size:.2f}rem;line-height:1.25'>"
    ]
    current = None
    for r in rows:
        if r["incident"] != current:
            current = r["incident"]
            out.append(
                f"<tr><td colspan='{2 if compact else 3}' style='padding:{pad};font-weight:700;"
                f"border-bottom:2px solid #90a4ae'>{esc(r['name'])}</td></tr>"
            )
        bg, fg = COLOURS.get(r["urgency"], COLOURS[NA])
        cell = f"padding:{pad};background:{bg};color:{fg}"
        mark = STATUS_ICON.get(r["status"], "")
        status = (
            "" if compact else f"<td style='{cell};white-space:nowrap'>{esc(r['status_text'])}</td>"
        )
        rule = f"{mark} {r['rule']}" if compact else r["rule"]
        out.append(
            f"<tr data-status='{esc(r['status'])}' title='{esc(r['status_text'])}'>"
            f"<td style='{cell};border-radius:4px 0 0 4px'>{esc(rule)}</td>{status}"
            f"<td style='{cell};white-space:nowrap;text-align:right;border-radius:0 4px 4px 0'>"
            f"<b>{esc(r['left'])}</b><br><small>{esc(r['deadline'])}</small></td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def score_rows(
    card: Scorecard, plan, lang: str, names: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Per incident and applicable rule: the team's verdict beside the automatic policy's.

    The run-level rule (24-hour duty over the whole exam calendar) has no incident: its row
    reads "exam calendar".
    """
    auto = {(v["incident"], v["rule"]): v for v in card.auto_verdicts or []}
    rows = []
    for v in card.applicable():
        a = auto.get((v["incident"], v["rule"]))
        cells = labels.verdict_cells(v, lang, plan, icon=True)
        theirs = labels.verdict_cells(a, lang, plan, icon=True) if a else None
        rows.append(
            {
                t("incident", lang): incident_label(v["incident"], lang, names),
                t("rule", lang): label(plan, "rules", v["rule"], lang),
                t("status", lang): cells["status"],
                t("measured", lang): cells["measured"],
                t("allowed", lang): cells["allowed"],
                t("drill_col_note", lang): cells["note"],
                t("drill_col_auto", lang): theirs["status"] if theirs else "—",
                t("drill_col_auto_measured", lang): theirs["measured"] if theirs else "—",
            }
        )
    return rows


def grading_rows(
    card: Scorecard, plan, lang: str, names: dict[str, str] | None = None
) -> list[dict[str, str]]:
    return [
        {
            t("incident", lang): incident_label(g["incident"], lang, names),
            t("drill_col_team_grade", lang): grade_label(plan, g["team"], lang),
            t("drill_col_plan_grade", lang): grade_label(plan, g["plan"], lang),
            t("drill_col_basis", lang): labels.plan_text(
                plan, g["basis_zh"] if lang == "zh" else g["basis_en"], lang
            ),
            t("drill_col_agrees", lang): ("✓ " if g["agrees"] else "✗ ")
            + t("drill_yes" if g["agrees"] else "drill_no", lang),
        }
        for g in card.grading
    ]


def content_label(plan, cid: str, lang: str) -> str:
    """A content item (信息报送内容) in the plan's words."""
    entry = plan.content.get(cid)
    return entry["label_zh" if lang == "zh" else "label_en"] if entry else cid


def content_rows(
    card: Scorecard, plan, lang: str, names: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Per incident: what the written first report gave and what it lacked (the plan's items)."""
    sep = list_sep(lang)
    rows = []
    for iid, c in card.report_content.items():
        given = sep.join(content_label(plan, x, lang) for x in c["given"])
        missing = sep.join(content_label(plan, x, lang) for x in c["missing"])
        rows.append(
            {
                t("incident", lang): incident_label(iid, lang, names),
                t("drill_col_given", lang): given or t("drill_no_written", lang),
                t("drill_col_missing", lang): missing or t("drill_none", lang),
            }
        )
    return rows


def standing_lines(card: Scorecard, plan, lang: str) -> list[str]:
    """ "First report within 3 hours: 2 h 10 min — 78 % of simulated runs do better"."""
    out = []
    for rule, s in card.standing.items():
        out.append(
            t(
                "drill_standing_line",
                lang,
                rule=label(plan, "rules", rule, lang),
                measured=fmt_minutes(s["measured_min"], lang),
                share=round(100 * s["share_better"]),
            )
        )
    return out


def seat_time_rows(card: Scorecard, plan, lang: str) -> list[dict[str, str]]:
    """Each seat a player or the trainer held: its measured times beside the plan's clocks and
    the simulated comparison — answering (median of its calls; the model's median and 90th
    percentile), calls not picked up, and each rule its steps stop (measured against allowed,
    and the share of simulated runs that did better)."""
    rows = []
    sep = "；" if lang == "zh" else "; "
    for seat, s in card.seat_times.items():
        answers = sorted(s.get("answer_min") or [])
        rang = bool(answers) or bool(s.get("not_answered"))
        rules = []
        for rule, r in (s.get("rules") or {}).items():
            measured = "、".join(fmt_minutes(m, lang) for m in r.get("measured_min") or [])
            beside = []
            if r.get("allowed_min") is not None:
                beside.append(
                    t("seat_time_allowed", lang, allowed=fmt_minutes(r["allowed_min"], lang))
                )
            share = (card.standing.get(rule) or {}).get("share_better")
            if share is not None:
                beside.append(t("seat_time_share", lang, share=round(100 * share)))
            rules.append(
                t("seat_time_rule", lang, rule=label(plan, "rules", rule, lang), measured=measured)
                + (f"（{sep.join(beside)}）" if lang == "zh" else f" ({sep.join(beside)})")
                * bool(beside)
            )
        rows.append(
            {
                t("seats_col_seat", lang): label(plan, "roles", seat, lang),
                t("seats_col_holder", lang): s.get("holder") or "—",
                t("seat_time_answer", lang): (
                    t(
                        "seat_time_answer_cell",
                        lang,
                        n=len(answers),
                        median=fmt_seconds(answers[len(answers) // 2], lang),
                    )
                    if answers
                    else "—"
                ),
                # the model's answer time only where calls rang: beside something to compare
                t("seat_time_model", lang): t(
                    "seat_time_model_cell",
                    lang,
                    p50=fmt_seconds(s.get("model_answer_p50"), lang),
                    p90=fmt_seconds(s.get("model_answer_p90"), lang),
                )
                if rang
                else "—",
                t("seat_time_missed_calls", lang): str(s.get("not_answered") or 0),
                t("seat_time_rules", lang): sep.join(rules) or "—",
            }
        )
    return rows


def fmt_seconds(minutes: float | None, lang: str) -> str:
    """A short time in seconds (an answer takes well under a minute): "36秒" / "36 s"."""
    if minutes is None:
        return "—"
    return t("seconds_n", lang, n=round(float(minutes) * 60))


# -- the log and what a decision did ------------------------------------------------------------


def outcome_result(result: str, lang: str) -> str:
    key = f"drill_result_{result}"
    text = t(key, lang)
    return result if text == key else text


def _old_report_step(decision: dict[str, Any]) -> str:
    rtype = decision.get("type", "report")
    if rtype == "follow_up":
        return "follow_up"
    if rtype == "final":
        return "final_report"
    return "written_report" if decision.get("channel") == "written" else "verbal_report"


def note_about(plan, decision: dict[str, Any], lang: str) -> str:
    """The rule or step an observer's note names, in words ("" when it names none)."""
    if decision.get("rule") in plan.rules:
        return label(plan, "rules", decision["rule"], lang)
    if decision.get("step") in plan.steps:
        return step_label(plan, decision["step"], lang)
    return ""


def decision_label(decision: dict[str, Any], plan, scenario: Scenario, lang: str) -> str:
    """A stored decision in words, for the log and the undo message (older kinds too).

    Both are Markdown on the page, so a typed note and a person's name are escaped in it.
    """
    kind = decision.get("kind")
    colon = _colon(lang)
    person = decision.get("person")
    name = escape_markdown(person_label(scenario, person, lang)) if person else ""
    who = ("（{}）" if lang == "zh" else " ({})").format(name) if person else ""
    if kind == "advance":
        return f"{t('drill_kind_advance', lang)} → {labels.day_time(decision['to'], lang)}"
    if kind in ("note", "adhoc"):
        note = escape_markdown(str(decision.get("text", ""))[:60])
        about = note_about(plan, decision, lang)
        tag = t("drill_note_about_tag", lang, what=about) if about else ""
        return f"{t(f'drill_kind_{kind}', lang)}{colon}{note}{tag}"
    if kind == "inject":
        name = labels.incident_name(scenario.incidents, decision.get("incident"), lang)
        return f"{t('drill_kind_inject', lang)}{colon}{escape_markdown(name)}"
    if kind == "step":
        sid = str(decision.get("step", ""))
        text = step_label(plan, sid, lang)
        if sid == "graded":
            text += colon + grade_label(plan, decision.get("level"), lang)
        to = decision.get("to")
        if to:
            to = [to] if isinstance(to, str) else to
            text += " → " + list_sep(lang).join(addressee_label(plan, x, lang) for x in to)
        return text + who
    if kind in OLD_KIND_STEP:
        text = step_label(plan, OLD_KIND_STEP[kind], lang)
        if kind == "grade":
            text += colon + grade_label(plan, decision.get("level"), lang)
        return text
    if kind == "report":
        body = addressee_label(plan, decision.get("body", ""), lang)
        return f"{step_label(plan, _old_report_step(decision), lang)} → {body}{who}"
    if kind == "call":
        what = t(
            "drill_kind_dispatch" if decision.get("purpose") == "dispatch" else "drill_kind_call",
            lang,
        )
        return (
            f"{what} → {escape_markdown(person_label(scenario, decision.get('person', ''), lang))}"
        )
    return str(kind)


def reached_lines(live: DrillSession, out: Outcome, lang: str) -> list[tuple[str, str]]:
    """Per addressee of a step: (level, text) — received, taken by whom, on the way, not reached."""
    plan, sc = live.scenario.plan, live.scenario
    sid = out.detail.get("step")
    recs = {r.target: r for r in out.records if r.action == sid}
    people = {p.id for p in sc.roster.people}
    lines = []
    for target, got in (out.detail.get("reached") or {}).items():
        rec = recs.get(target)
        pid = rec.detail if rec is not None and rec.detail in people else ""
        who = addressee_label(plan, target, lang)
        key = f"drill_reach_{got}"
        person = escape_markdown(person_label(sc, pid, lang)) if pid else "—"
        text = t(key, lang, who=who, person=person)
        if text == key:  # an outcome the catalogue does not know yet
            text = f"{who}{_colon(lang)}{outcome_word(got, lang)}"
        lines.append(("warning" if got == "failed" else "success", text))
    return lines


def _missing_message(plan, sid: str, missing: Sequence[str], lang: str) -> tuple[str, str]:
    """The content check of a report: the plan calls the written first report 首报."""
    first = sid == plan.first_report_step
    if missing:
        items = list_sep(lang).join(content_label(plan, c, lang) for c in missing)
        key = "drill_out_missing" if first else "drill_out_missing_step"
        return "warning", t(key, lang, items=items, step=step_label(plan, sid, lang))
    key = "drill_out_complete" if first else "drill_out_complete_step"
    return "success", t(key, lang, step=step_label(plan, sid, lang))


def log_rows(live: DrillSession, lang: str) -> list[dict[str, str]]:
    """The team's decisions with what each did and cost, newest first."""
    plan = live.scenario.plan
    names = incident_names(live, lang)
    rows = []
    for d, o in zip(live.drill.decisions, live.drill.outcomes, strict=True):
        parts = []
        for target, got in (o.detail.get("reached") or {}).items():
            parts.append(
                f"{addressee_label(plan, target, lang)}{_colon(lang)}{outcome_word(got, lang)}"
            )
        if o.detail.get("missing_content"):
            parts.append(
                _missing_message(plan, o.detail["step"], o.detail["missing_content"], lang)[1]
            )
        rows.append(
            {
                t("time", lang): labels.day_time(o.start, lang),
                t("incident", lang): names.get(d.get("incident") or "", d.get("incident") or ""),
                t("drill_col_action", lang): decision_label(d, plan, live.scenario, lang),
                t("drill_col_by", lang): escape_markdown(str(d.get("player") or "")) or "—",
                t("drill_col_result", lang): outcome_result(o.result, lang),
                t("drill_col_took", lang): fmt_minutes(took_minutes(o), lang),
                t("drill_col_detail", lang): " · ".join(parts),
            }
        )
    return rows[::-1]


def expected_steps(live: DrillSession, incident: str, lang: str, ref=None) -> list[str]:
    """What the plan-compliant automatic policy did for the same incident (trainer's answer key)."""
    ref = ref or auto_reference(live.scenario, live.drill.seed)
    plan = live.scenario.plan
    out = []
    for a in ref.records:
        if a.incident != incident or a.action in ("occurred", "discovered"):
            continue
        parts = [labels.day_time(a.time, lang), record_label(plan, a.action, lang)]
        if a.action == "graded":
            parts.append(grade_label(plan, a.outcome, lang))
        elif a.action == "call":
            parts += [person_label(live.scenario, a.target, lang), outcome_word(a.outcome, lang)]
        elif a.target in plan.bodies or a.target in plan.roles:
            parts += [addressee_label(plan, a.target, lang), outcome_word(a.outcome, lang)]
        elif a.outcome == "failed":
            parts.append(outcome_word(a.outcome, lang))
        out.append(" · ".join(p for p in parts if p))
    return out


def took_minutes(out: Outcome) -> float:
    """How long a decision took, as the clock times shown beside it read (whole minutes):
    10:00.6 → 10:03.4 shows as 10:01 → 10:03, so it "took 2 min", not 3."""
    return float(round(out.end) - round(out.start))


def outcome_messages(
    live: DrillSession, decision: dict[str, Any], out: Outcome, lang: str
) -> list[tuple[str, str]]:
    """What to tell the team after a decision: (level, text) with level success|warning|info."""
    plan, sc = live.scenario.plan, live.scenario
    took = t(
        "drill_out_done",
        lang,
        action=decision_label(decision, plan, sc, lang),
        took=fmt_minutes(took_minutes(out), lang),
        start=labels.day_time(out.start, lang),
        end=labels.day_time(out.end, lang),
    )
    msgs: list[tuple[str, str]] = [("info", took)]
    person = out.detail.get("person")
    if person:
        calls = [r for r in out.records if r.action == "call" and r.target == person]
        if calls and calls[-1].outcome in ("answered", "unanswered", "busy"):
            res = calls[-1].outcome
            who = escape_markdown(person_label(sc, person, lang))
            msgs.append(
                (
                    "success" if res == "answered" else "warning",
                    t(f"drill_out_{res}", lang, person=who),
                )
            )
    msgs += reached_lines(live, out, lang)
    sid = out.detail.get("step")
    if out.result == "graded":
        grade = grade_label(plan, out.detail.get("level"), lang)
        msgs.append(("success", t("drill_out_graded", lang, grade=grade)))
    elif out.result == "closed":
        msgs.append(("success", t("drill_out_closed", lang)))
    elif out.result == "failed" and not out.detail.get("reached"):
        msgs.append(("warning", t("drill_out_no_one", lang)))
    if sid and "missing_content" in out.detail:
        msgs.append(_missing_message(plan, sid, out.detail["missing_content"], lang))
    return msgs
