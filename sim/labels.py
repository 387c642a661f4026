"""Where codes become words: the one module the pages, the reports and the CLI ask for a label.

The words themselves live in the catalogue (``sim/strings/*.yaml``, read by :func:`sim.i18n.t`)
and in the plan file (its grades, rules, roles, bodies and steps, read by :func:`sim.i18n.label`
and :func:`sim.i18n.step_label`). This module turns the engine's stable codes — a
:class:`~sim.drill.DrillError`'s ``code`` and ``params``, an incident's id and family, a
simulated minute — into those words, so no page ever shows an id or matches an English sentence.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sim.i18n import addressee_label, escape_markdown, label, step_label, t

DAY_MINUTES = 24 * 60

__all__ = [
    "STATUS_ICON",
    "action_label",
    "addressee_label",
    "calendar_year",
    "count_line",
    "day_label",
    "day_time",
    "error_text",
    "family_label",
    "incident_name",
    "incident_namer",
    "incident_names",
    "interval",
    "label",
    "number",
    "plan_text",
    "minutes",
    "note_of",
    "param_label",
    "percent",
    "planner_role_table",
    "planner_rule_table",
    "points",
    "precision_table",
    "problem_lines",
    "problem_text",
    "rule_word",
    "sizing_table",
    "sweep_table",
    "status_word",
    "step_label",
    "verdict_cells",
    "verdict_lines",
    "verdict_note",
]


# -- days and times --------------------------------------------------------------------------------


def day_label(day: int, lang: str) -> str:
    """Day index 0 of the exam calendar as "第1天" / "Day 1" (never "D0")."""
    return t("day_n", lang, n=int(day) + 1)


def day_time(minute: float | None, lang: str) -> str:
    """A simulated minute as "第1天 09:40" / "Day 1 09:40"; None as "—"."""
    if minute is None:
        return "—"
    day, rest = divmod(int(round(float(minute))), DAY_MINUTES)
    return t("day_time", lang, day=day_label(day, lang), hhmm=f"{rest // 60:02d}:{rest % 60:02d}")


def calendar_year(first_day: object, default: int | None = None) -> int:
    """The year of an exam calendar's first day ("2027-06-07" → 2027): the year a drill or a
    programme defaults to. ``default`` (else today's year) when the calendar has no date."""
    try:
        return dt.date.fromisoformat(str(first_day)[:10]).year
    except (TypeError, ValueError):
        return default if default is not None else dt.date.today().year


# -- numbers ---------------------------------------------------------------------------------------


def number(value: Any, digits: int = 1) -> str:
    """A measured number for a table: rounded to ``digits``; a missing one as "—" (never
    "None" or "nan")."""
    if value is None or isinstance(value, str) and not value.strip():
        return "—"
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if x != x:  # NaN
        return "—"
    return f"{x:.{digits}f}" if digits else str(int(round(x)))


# -- the plan's own text ----------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def plan_text(plan, text: str | None, lang: str) -> str:
    """A text of the plan file (a grading basis) with any setting it names in words: "扩散范围
    按设置 leak_grade_I_scopes" reads "扩散范围按设置「泄露事件定为Ⅰ级的扩散范围」"."""
    if not text:
        return ""
    settings = getattr(plan, "settings", {}) or {}

    def word(m: re.Match) -> str:
        name = m[0]
        key = f"setting_{name}"
        if name not in settings or t(key, lang) == key:
            return name
        return t("setting_named", lang, setting=t(key, lang))

    return _WORD.sub(word, str(text))


# -- actions ---------------------------------------------------------------------------------------


def action_label(plan, action: str, lang: str) -> str:
    """A record's action in words, the same on every page and in every report: the plan's
    label for a step of its procedure (先口头、后书面, 首报 …), else the catalogue's ``act_<id>``
    (``call``, ``occurred``, ``team_on_site``, ``note`` …), else the id as written."""
    if plan is not None and action in plan.steps:
        return step_label(plan, action, lang)
    key = f"act_{action}"
    text = t(key, lang)
    return action if text == key else text


# -- incidents -------------------------------------------------------------------------------------


def family_label(family: str, lang: str) -> str:
    """An incident family in the plan's words (试题、标准答案泄露、失密 …)."""
    key = f"family_{family}"
    text = t(key, lang)
    return family if text == key else text


def incident_names(incidents: Iterable[Any], lang: str, *, short: bool = False) -> dict[str, str]:
    """Each incident's name: numbered in the order they happen, with its family in words —
    "事件1（答卷遗失）" / "Incident 1 (Lost answer sheets)"; ``short``: "事件1" / "Incident 1"
    (where the family is shown beside it). ``incidents`` are :class:`~sim.scenario.Incident`
    objects (or anything with ``id``, ``at`` and ``family``)."""
    ordered = sorted(incidents, key=lambda i: (float(getattr(i, "at", 0.0)), str(i.id)))
    return {
        str(inc.id): t("incident_n", lang, n=n)
        if short
        else t("incident_name", lang, n=n, family=family_label(inc.family, lang))
        for n, inc in enumerate(ordered, 1)
    }


def incident_namer(
    incidents: Iterable[Any] | Mapping[str, Any], lang: str
) -> Callable[[str | None], str]:
    """Names incidents one by one with the numbering worked out once (a table names one per
    row): a run-level row (no incident) reads "exam calendar"; an unknown id as written."""
    items = incidents.values() if isinstance(incidents, Mapping) else incidents
    names = incident_names(items, lang)
    calendar = t("drill_exam_calendar", lang)
    return lambda iid: names.get(str(iid), str(iid)) if iid else calendar


def incident_name(incidents: Iterable[Any] | Mapping[str, Any], iid: str | None, lang: str) -> str:
    """One incident's name (see :func:`incident_namer`)."""
    return incident_namer(incidents, lang)(iid)


# -- refusals --------------------------------------------------------------------------------------


def _param_words(params: Mapping[str, Any], lang: str, plan=None, scenario=None) -> dict[str, str]:
    """A refusal's parameters in words: steps, roles, bodies and people by their labels."""
    out: dict[str, str] = {}
    sep = "；" if lang == "zh" else "; "
    people = {}
    if scenario is not None:
        people = {
            p.id: (p.name_zh if lang == "zh" else p.name_en) or p.id for p in scenario.roster.people
        }
    for key, value in params.items():
        values = list(value) if isinstance(value, list | tuple) else [value]
        if isinstance(value, BaseException):  # a refusal inside another (a replay's)
            out[key] = error_text(value, lang, plan, scenario)
            continue
        if plan is not None and key == "step":
            words = [step_label(plan, str(v), lang) for v in values]
        elif plan is not None and key in ("targets", "roles", "role", "body", "seat"):
            words = [addressee_label(plan, str(v), lang) for v in values]
        elif key == "person":
            words = [people.get(str(v), str(v)) for v in values]
        elif key == "incident" and scenario is not None:
            words = [incident_name(scenario.incidents, str(v), lang) for v in values]
        else:
            words = ["—" if v is None else str(v) for v in values]
        out[key] = escape_markdown(sep.join(words))
    return out


def error_text(exc: BaseException, lang: str, plan=None, scenario=None) -> str:
    """A refusal or a store problem in ``lang``, by its code: a :class:`~sim.drill.DrillError`
    (``code``, ``params``) through the catalogue's ``drill_err_<code>``; anything with a
    ``text(lang)`` (a store's error) through it; else its own words, escaped (they may quote
    what was typed and the pages show them as Markdown)."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        key = f"drill_err_{code}"
        params = getattr(exc, "params", {}) or {}
        if plan is None and scenario is not None:
            plan = scenario.plan
        try:
            text = t(key, lang, **_param_words(params, lang, plan, scenario))
        except (KeyError, IndexError, ValueError):  # a code whose words need other params
            text = key
        return text if text != key else escape_markdown(str(exc))
    if callable(getattr(exc, "text", None)):  # a store's error: its own catalogue key
        try:
            return escape_markdown(exc.text(lang))
        except TypeError:
            pass
    return escape_markdown(str(exc))


# -- problems of input files -----------------------------------------------------------------------


def problem_text(problem: Any, lang: str) -> str:
    """One problem of an input file (a :class:`~sim.yamlio.Problem`) as one line in ``lang``:
    ``file:line: field: message``, the file, line and field as written, the message by its code
    (``problem_<code>`` in sim/strings/problems.yaml). In English it is the CLI's line."""
    from sim.yamlio import problem_words

    return problem.as_line(problem_words(problem.code, problem.params, lang))


def problem_lines(exc: BaseException, lang: str) -> list[str]:
    """Every problem of an :class:`~sim.yamlio.InputError` in ``lang``, one line each (plain
    text: a page shows each as code, since it quotes what was typed or uploaded)."""
    return [problem_text(p, lang) for p in getattr(exc, "problems", ())]


# -- verdicts --------------------------------------------------------------------------------------

#: Status marks found in common fonts (DejaVu), so tables read the same without an emoji font.
STATUS_ICON = {"pending": "◔", "met": "✓", "missed": "✗", "unfinished": "◑", "n/a": "–"}
_STATUS_KEY = {
    "pending": "status_pending",
    "met": "status_met",
    "missed": "status_missed",
    "unfinished": "status_unfinished",
}


def status_word(status: str, lang: str, note_code: str = "", *, icon: bool = False) -> str:
    """A verdict's status in words (达标 / 未达标 / 未到期 / 不适用 / 进行中); an ``n/a`` whose
    note is ``pending`` reads pending. ``icon``: with its mark (✓ ✗ ◑ ◔ –) for tables."""
    if status == "n/a" and note_code == "pending":
        status = "pending"
    word = t(_STATUS_KEY.get(status, "status_na"), lang)
    return f"{STATUS_ICON.get(status, '')} {word}".strip() if icon else word


def minutes(value: Any, lang: str) -> str:
    """A measured or allowed time in minutes, the one format of every verdict table: "130分钟" /
    "130 min", one decimal when not whole; none as "—"."""
    text = number(value, 1)
    if text == "—":
        return text
    text = text[:-2] if text.endswith(".0") else text
    return f"{text}{t('minutes_short', lang)}" if lang == "zh" else f"{text} min"


def _legacy_note(note: str) -> tuple[str, dict[str, Any] | None]:
    """The code of a note stored by an earlier version as English text (read here only, so
    old results still read in words; new verdicts carry ``note_code``)."""
    from sim.rules import NOTES

    fixed = {text: code for code, text in NOTES.items() if "{" not in text}
    fixed.update(
        {
            "24-hour duty not declared": "duty_not_declared",
            "outside the exam period": "outside_exam",
        }
    )
    if note in fixed:
        return fixed[note], None
    if m := re.fullmatch(r"graded (\w+), plan (\w+)", note):
        return "graded_as", {"team": m[1], "plan": m[2]}
    if m := re.fullmatch(r"duty desk uncovered (\d+) min( of the exam calendar)?", note):
        return ("calendar_gap" if m[2] else "duty_gap"), {"minutes": m[1]}
    if m := re.fullmatch(r"(\w+) instead of (\w+)", note):
        return "instead", {"did": m[1], "want": m[2]}
    if re.fullmatch(r"[a-z_]+(,[a-z_]+)*", note):
        return "no_verbal_first", {"bodies": note.split(",")}
    if re.fullmatch(r"[a-z_]+(, [a-z_]+)*", note):
        return "missing", {"items": note.split(", ")}
    return "", None


def note_of(v: Any) -> tuple[str, dict[str, Any]]:
    """A verdict's note code and params (a :class:`~sim.rules.Verdict` or its stored dict)."""
    get = v.get if isinstance(v, Mapping) else lambda k, d=None: getattr(v, k, d)
    code, params = get("note_code", None), get("note_params", None)
    if code is None:  # stored before note codes
        code, params = _legacy_note(str(get("note", "") or ""))
    return str(code or ""), dict(params or {})


def _missing_label(plan, item: str, lang: str) -> str:
    """What a verdict found missing: a content item, an addressee, or the plan's grade."""
    if plan is not None and item in plan.content:
        return plan.content[item]["label_zh" if lang == "zh" else "label_en"]
    if item.startswith("grade:"):
        grade = label(plan, "grades", item[6:], lang) if plan is not None else item[6:]
        return t("note_plan_grade", lang, grade=grade)
    if item == "duty_desk":
        return t("note_duty_desk", lang)
    return addressee_label(plan, item, lang) if plan is not None else item


#: Notes whose own words say more than the list of what is missing.
_OWN_WORDS = frozenset(
    {"graded_as", "duty_gap", "calendar_gap", "instead", "no_verbal_first", "time_left"}
)


def verdict_note(v: Any, lang: str, plan=None) -> str:
    """A verdict's note in words, by its code: what is missing in the plan's words, the grades,
    the steps; "" when there is nothing to say (a rule not for this grade has no note)."""
    code, params = note_of(v)
    get = v.get if isinstance(v, Mapping) else lambda k, d=None: getattr(v, k, d)
    missing = list(get("missing", ()) or ())
    sep = "；" if lang == "zh" else "; "
    if missing and code not in _OWN_WORDS:
        items = sep.join(_missing_label(plan, str(x), lang) for x in missing)
        return t("note_missing", lang, items=items)
    if not code:
        return ""
    words: dict[str, str] = {}
    for key, value in params.items():
        values = list(value) if isinstance(value, list | tuple) else [value]
        if key in ("team", "plan") and plan is not None:
            out = [label(plan, "grades", str(x), lang) for x in values]
        elif key in ("did", "want") and plan is not None:
            out = [step_label(plan, str(x), lang) for x in values]
        elif key in ("bodies", "items"):
            out = [_missing_label(plan, str(x), lang) for x in values]
        else:
            out = [str(x) for x in values]
        words[key] = sep.join(out)
    key = f"note_{code}"
    try:
        text = t(key, lang, **words)
    except (KeyError, IndexError, ValueError):
        text = key
    return "" if text == key else text


def verdict_cells(v: Any, lang: str, plan=None, *, icon: bool = False) -> dict[str, str]:
    """One verdict in the one format every table uses (drill scorecard, review, PDF, CLI):
    ``status`` in words, ``measured`` and ``allowed`` in minutes, ``note`` in words."""
    get = v.get if isinstance(v, Mapping) else lambda k, d=None: getattr(v, k, d)
    code, _ = note_of(v)
    return {
        "status": status_word(str(get("status", "")), lang, code, icon=icon),
        "measured": minutes(get("measured_min", None), lang),
        "allowed": minutes(get("allowed_min", None), lang),
        "note": verdict_note(v, lang, plan),
    }


def count_line(verdicts: Iterable[Any], lang: str) -> str:
    """How many verdicts are met, missed, unfinished and not applicable, in words — the count
    line of the review, the report and the CLI (unfinished counted apart, never as missed)."""
    get = [v.get("status") if isinstance(v, Mapping) else v.status for v in verdicts]
    return t(
        "rev_counts",
        lang,
        met=get.count("met"),
        missed=get.count("missed"),
        unfinished=get.count("unfinished"),
        na=get.count("n/a"),
    )


def verdict_lines(
    verdicts: Iterable[Any],
    lang: str,
    plan=None,
    *,
    incidents: Iterable[Any] = (),
    grades: Mapping[str, str] | None = None,
) -> list[str]:
    """Verdicts as plain-text lines for the terminal, in the one verdict format of the pages and
    the PDF (:func:`verdict_cells`): per incident a heading (its name and grade), then a line per
    rule — mark, rule, status in words, measured / allowed, note — and a count line at the end.
    A run-level rule (no incident) is listed under "exam calendar"."""
    vs = list(verdicts)
    get = lambda v, k: v.get(k) if isinstance(v, Mapping) else getattr(v, k, None)  # noqa: E731
    incidents = list(incidents)
    names = incident_names(incidents, lang)
    order = [str(i.id) for i in sorted(incidents, key=lambda i: (float(i.at), str(i.id)))]
    groups: dict[str, list[Any]] = {}
    for v in vs:
        groups.setdefault(str(get(v, "incident") or ""), []).append(v)
    keys = [k for k in order if k in groups] + [k for k in groups if k not in order]
    keys.sort(key=lambda k: k == "")  # the exam calendar last
    sep = "：" if lang == "zh" else ": "
    out: list[str] = []
    for iid in keys:
        head = names.get(iid, iid) if iid else t("drill_exam_calendar", lang)
        level = (grades or {}).get(iid)
        if level and plan is not None:
            head += f" · {label(plan, 'grades', level, lang)}"
        out += ["", head]
        for v in groups[iid]:
            cells = verdict_cells(v, lang, plan)
            rule = label(plan, "rules", str(get(v, "rule")), lang) if plan else get(v, "rule")
            code = note_of(v)[0]
            mark = STATUS_ICON.get("pending" if code == "pending" else str(get(v, "status")), "")
            times = f"{cells['measured']} / {cells['allowed']}"
            line = f"  {mark} {rule}{sep}{cells['status']} · {times}"
            if cells["note"]:
                line += f" · {cells['note']}"
            out.append(line)
    out += ["", count_line(vs, lang)]
    return out


# -- the planner's result tables -------------------------------------------------------------------
# The comparison's frames keep their column keys and raw numbers (the CSV, Parquet and JSON
# exports); the page shows these: headers and cells in words, numbers rounded.

ALL_MET_RULE = "all_met"


def percent(value: Any, digits: int = 1) -> str:
    """A share (0–1) as "91.2%"; a missing one as "—"."""
    text = number(None if value is None else 100 * float(value), digits)
    return text if text == "—" else f"{text}%"


def interval(lo: Any, hi: Any, digits: int = 1) -> str:
    """A 95% interval of shares as "85.0–95.0%"; "—" when it is missing."""
    a, b = (
        number(None if lo is None else 100 * float(lo), digits),
        number(None if hi is None else 100 * float(hi), digits),
    )
    return "—" if "—" in (a, b) else f"{a}–{b}%"


def points(value: Any, lo: Any = None, hi: Any = None) -> str:
    """A difference of shares in percentage points, "+6.7 [+1.0, +12.4]"; "—" when missing."""
    if value is None or value != value:
        return "—"
    out = f"{100 * float(value):+.1f}"
    if lo is not None and hi is not None and lo == lo and hi == hi:
        out += f" [{100 * float(lo):+.1f}, {100 * float(hi):+.1f}]"
    return out


def rule_word(plan, rule: str, lang: str) -> str:
    """A rule of the plan (or the whole season's "every deadline met") in words."""
    if rule == ALL_MET_RULE:
        return t("plan_all_met", lang)
    return label(plan, "rules", rule, lang) if plan is not None else rule


def param_label(param: str, lang: str) -> str:
    """A sweep's dotted parameter path in words (``timing.written_report_minutes`` →
    "书面首报撰写用时（分钟，固定值）"); a path with no words as written."""
    key = "plan_param_" + param.replace(".", "_").replace("*", "all")
    if (text := t(key, lang)) != key:
        return text
    parts = param.split(".")
    for prefix, head in (("timing", "timing_"), ("plan.settings", "setting_")):
        if param.startswith(prefix + ".") and len(parts) == len(prefix.split(".")) + 1:
            word = t(head + parts[-1], lang)
            if word != head + parts[-1]:
                return word
    return param


def _variant_names(variants: Iterable[Any], lang: str) -> dict[str, str]:
    return {v.name: v.label(lang) for v in variants}


def planner_rule_table(comp: Any, lang: str) -> Any:
    """A comparison's full rule table as shown: one row per applicable rule and variant."""
    import pandas as pd

    plan = comp.scenarios[0].plan
    names = _variant_names(comp.variants, lang)
    rules = set(comp.applicable_rules())
    rows = []
    for r in comp.results:
        if r.rule not in rules:
            continue
        rows.append(
            {
                t("rule", lang): rule_word(plan, r.rule, lang),
                t("plan_col_variant", lang): names.get(r.variant, r.variant),
                t("plan_col_n", lang): int(r.applicable),
                t("plan_tbl_met", lang): int(r.met),
                t("plan_col_share", lang): percent(r.share),
                t("plan_col_ci", lang): interval(r.ci_lo, r.ci_hi),
                # the base is what the others are compared with: no difference of its own
                t("plan_col_diff", lang): "—"
                if r.variant == "base"
                else points(r.diff, r.diff_lo, r.diff_hi),
                t("plan_tbl_rep_diff", lang): "—"
                if r.variant == "base"
                else points(r.rep_diff, r.rep_diff_lo, r.rep_diff_hi),
                t("plan_tbl_pairs", lang): int(r.pairs),
                t("plan_tbl_share_sd", lang): number(
                    None if r.share_sd is None else 100 * r.share_sd
                ),
                t("plan_tbl_diff_sd", lang): number(None if r.diff_sd is None else 100 * r.diff_sd),
                t("plan_tbl_p50", lang): minutes(r.p50_min, lang),
                t("plan_tbl_p90", lang): minutes(r.p90_min, lang),
                t("plan_tbl_allowed", lang): minutes(r.allowed_min, lang),
            }
        )
    return pd.DataFrame(rows)


def planner_role_table(comp: Any, lang: str) -> Any:
    """A comparison's load per role as shown: roles by the plan's words, shares in %."""
    import pandas as pd

    plan = comp.scenarios[0].plan
    names = _variant_names(comp.variants, lang)
    rows = [
        {
            t("plan_col_variant", lang): names.get(row["variant"], row["variant"]),
            t("plan_col_role", lang): label(plan, "roles", row["role"], lang),
            t("plan_tbl_people", lang): int(row["people"]),
            t("plan_tbl_busy_share", lang): percent(row["busy_share"], 2),
            t("plan_tbl_busy_min", lang): number(row["busy_min_per_rep"], 1),
            t("plan_tbl_calls", lang): number(row["calls_per_rep"], 2),
            t("plan_tbl_unanswered", lang): percent(row["unanswered_share"]),
        }
        for row in comp.roles.to_dict("records")
    ]
    return pd.DataFrame(rows)


def sizing_table(sz: Any, plan: Any, lang: str) -> Any:
    """The staffing grid's cells as shown: extra people per axis, each target's share and
    interval, whether it meets the targets."""
    import pandas as pd

    rows = []
    for cell in sz.cells.to_dict("records"):
        row: dict[str, Any] = {a.label(lang): f"+{int(cell[a.name])}" for a in sz.axes}
        row[t("plan_tbl_cost", lang)] = f"{float(cell['cost']):g}"
        for rule in sz.targets:
            name = rule_word(plan, rule, lang)
            row[t("plan_tbl_rule_share", lang, rule=name)] = percent(cell.get(f"{rule}_share"))
            row[t("plan_col_ci", lang) + f" · {name}"] = interval(
                cell.get(f"{rule}_lo"), cell.get(f"{rule}_hi")
            )
        row[t("plan_tbl_meets", lang)] = t("word_yes" if cell["meets"] else "word_no", lang)
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_table(sw: Any, lang: str) -> Any:
    """A sweep's rows as shown: the parameter's value, the rule in words, shares in %."""
    import pandas as pd

    plan = sw.comparison.scenarios[0].plan
    rows = [
        {
            param_label(sw.param, lang): str(row["value"]),
            t("rule", lang): rule_word(plan, row["rule"], lang),
            t("plan_col_share", lang): percent(row["share"]),
            t("plan_col_ci", lang): interval(row["ci_lo"], row["ci_hi"]),
            t("plan_col_diff", lang): points(row["diff"], row["diff_lo"], row["diff_hi"]),
            t("plan_tbl_p50", lang): minutes(row["p50_min"], lang),
        }
        for row in sw.frame.to_dict("records")
    ]
    return pd.DataFrame(rows)


def precision_table(prec: Any, variants: Iterable[Any], plan: Any, lang: str) -> Any:
    """A pilot's replications needed for its target rules, as shown."""
    import pandas as pd

    names = _variant_names(variants, lang)
    table = prec.table[prec.table["target"]]

    def count(x: Any) -> str:
        return "—" if x is None or x != x else f"{int(x):,}"

    rows = [
        {
            t("plan_col_variant", lang): names.get(row["variant"], row["variant"]),
            t("rule", lang): rule_word(plan, row["rule"], lang),
            t("plan_col_pilot_share", lang): percent(row["estimate"]),
            t("plan_col_needed", lang): count(row["needed_reps"]),
            t("plan_col_needed_diff", lang): count(row["needed_reps_diff"]),
        }
        for row in table.to_dict("records")
    ]
    return pd.DataFrame(rows)
