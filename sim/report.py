"""The after-action report of one stored drill: built once, rendered as PDF, HTML, Markdown, CSV, Excel.

The plan's expert group evaluates each drill's results and the working-group office revises the
plan from what drills show (PLAN_RULES §3, §6). :func:`build_report` gathers everything once —
the drill's facts, the timeline chart, the scorecard (rule verdicts, grading, first-report
content), the expert group's evaluation and the improvement plan, and the action log — into a
:class:`Report` of plain sections and tables; each renderer only lays those out.

Personal data (PLAN_RULES §7): by default no export names anyone or holds a phone number or an
e-mail address. Roster people appear by role and site (``第一考点（主校区）主考``); free text
(titles, notes, observations, improvement items) is scrubbed of the roster's names and numbers,
of the names players and evaluators typed, and of anything shaped like a phone number (any
common format) or an e-mail address. ``include_contacts=True`` names people and keeps the text as
typed, and adds a contacts section. Typed text is escaped in the HTML and Markdown exports, so it
never becomes a link, an image or markup. Exports can be encrypted for e-mail (:mod:`sim.crypto`).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from sim import labels
from sim.i18n import escape_markdown, label, t
from sim.limits import REPORT_FORMATS
from sim.records import Action
from sim.scenario import Scenario
from sim.session import Scorecard, record_players, team_log

SCALES_FILE = Path(__file__).resolve().parent.parent / "scenarios" / "evaluation_scales.yaml"
FORMATS = REPORT_FORMATS
MIME = {
    "pdf": "application/pdf",
    "html": "text/html",
    "md": "text/markdown",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "age": "application/octet-stream",
}
IMPROVEMENT_STATUSES = ("open", "in_progress", "done")  # as sim.store accepts them
OPEN_STATUSES = ("open", "in_progress")


class ReportError(ValueError):
    """A drill that cannot be reported (unknown id, unreadable snapshot, unknown format)."""


# -- evaluation scales and objectives (data in scenarios/evaluation_scales.yaml) ---------------


@dataclass(frozen=True)
class Level:
    code: str
    label_zh: str
    label_en: str
    description_zh: str = ""
    description_en: str = ""
    passed: bool = False

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@dataclass(frozen=True)
class Scale:
    id: str
    label_zh: str
    label_en: str
    source: str
    levels: tuple[Level, ...]

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en

    def codes(self) -> list[str]:
        return [lv.code for lv in self.levels]

    def level(self, code: str | None) -> Level | None:
        return next((lv for lv in self.levels if lv.code == code), None)

    def rating_text(self, code: str | None, lang: str) -> str:
        """``P — Performed without challenges``; the bare code for a code this scale lacks."""
        lv = self.level(code)
        if lv is None:
            return code or ""
        return f"{lv.code} — {lv.label(lang)}"


@dataclass(frozen=True)
class Objective:
    id: str
    label_zh: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_zh if lang == "zh" else self.label_en


@lru_cache(maxsize=4)
def _scales_data(path: str) -> dict[str, Any]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data.get("scales"), dict) or not data["scales"]:
        raise ReportError(f"{path}: no scales defined")
    return data


def evaluation_scales(path: str | Path = SCALES_FILE) -> dict[str, Scale]:
    """The rating scales the evaluation form offers, by id (first is the file's ``default``)."""
    data = _scales_data(str(path))
    out: dict[str, Scale] = {}
    for sid, spec in data["scales"].items():
        levels = tuple(
            Level(
                code=str(lv["code"]),
                label_zh=lv.get("label_zh", str(lv["code"])),
                label_en=lv.get("label_en", str(lv["code"])),
                description_zh=lv.get("description_zh", ""),
                description_en=lv.get("description_en", ""),
                passed=bool(lv.get("pass", False)),
            )
            for lv in spec.get("levels", ())
        )
        out[sid] = Scale(
            sid,
            spec.get("label_zh", sid),
            spec.get("label_en", sid),
            spec.get("source", ""),
            levels,
        )
    default = data.get("default")
    if default in out:
        out = {default: out[default], **{k: v for k, v in out.items() if k != default}}
    return out


def default_scale_id(path: str | Path = SCALES_FILE) -> str:
    return next(iter(evaluation_scales(path)))


def drill_objectives(path: str | Path = SCALES_FILE) -> list[Objective]:
    """The drill objectives rated beside the plan's rules."""
    data = _scales_data(str(path))
    return [
        Objective(o["id"], o.get("label_zh", o["id"]), o.get("label_en", o["id"]))
        for o in data.get("objectives", ())
    ]


# -- rebuilding a stored drill -----------------------------------------------------------------


@dataclass
class Rebuilt:
    """A stored drill played again: its scenario, every action record and the scorecard;
    for a team's drill also its decisions as plain entries (:func:`sim.session.team_log`) and,
    per record, the player who did it (:func:`sim.session.record_players`)."""

    scenario: Scenario
    records: list[Action]
    scorecard: Scorecard
    log: list[dict[str, Any]] = field(default_factory=list)
    players: list[str] = field(default_factory=list)


def rebuild(row: dict[str, Any], actions: Iterable[dict[str, Any]] = ()) -> Rebuilt:
    """Replay a stored drill from its snapshot, seed and decisions (deterministic).

    A team drill replays the team's decisions; an automatic reference drill (``kind="auto"``)
    is the plan-compliant policy's run of the same scenario and seed.
    """
    from sim.drill import Drill, scenario_from_text

    try:
        scenario = scenario_from_text(row["scenario_text"], f"drill-{row.get('id', '')}.yaml")
    except Exception as exc:  # noqa: BLE001 - a damaged snapshot is reported, not raised raw
        raise ReportError(
            f"drill {row.get('id')}: its scenario snapshot cannot be read ({exc})"
        ) from None
    if row.get("kind") == "auto":
        from sim.experiment import run_once

        run = run_once(scenario, int(row["seed"]))
        return Rebuilt(scenario, list(run.records), Scorecard.of_run(scenario, run))
    drill = Drill.replay(scenario, int(row["seed"]), [a["payload"] for a in actions])
    return Rebuilt(
        scenario,
        list(drill.records),
        drill.scorecard(),
        team_log(drill),
        record_players(drill),
    )


def rebuild_stored(store, drill_id: int) -> tuple[dict[str, Any], Rebuilt]:
    """The stored row and its rebuilt drill."""
    row = _drill_row(store, drill_id)
    actions = store.actions(drill_id) if row.get("kind") != "auto" else []
    return row, rebuild(row, actions)


def _drill_row(store, drill_id: int) -> dict[str, Any]:
    from sim.store import StoreError

    try:
        row = store.drill(int(drill_id))
    except StoreError as exc:
        raise ReportError(f"drill {drill_id}: {exc}") from None
    if not row:
        raise ReportError(f"drill {drill_id}: no such drill in the store")
    return dict(row)


# -- personal data ------------------------------------------------------------------------------

_GAP = r"[ \t.\-\u00a0]"  # what people type between a phone number's digit groups
_PHONE = re.compile(
    rf"""
    (?<![\dA-Za-z+])(?<!\d[.,])                             # not the tail of a word or a number
    (?:
        (?:\+|00)\d{{1,3}}(?:{_GAP}?\(?\d{{1,5}}\)?){{2,6}}  # international: +86 138 0013 8000,
                                                            #   +1 (555) 123-4567, 0086-471-…
      | \(0\d{{2,3}}\){_GAP}?\d{{3,4}}{_GAP}?\d{{4}}           # landline, area code in brackets
      | 0\d{{2,3}}{_GAP}?\d{{3,4}}{_GAP}?\d{{4}}               # landline: 0471-6234567, 010 1234 5678
      | 1[3-9]\d{_GAP}?\d{{4}}{_GAP}?\d{{4}}                   # mobile: 139 1234 5678
      | \(\d{{3}}\){_GAP}?\d{{3}}{_GAP}?\d{{4}}                # North American: (555) 201-3344
      | \d{{3}}{_GAP}\d{{3}}{_GAP}\d{{4}}                      # 555-201-3344, 555.201.3344
      | [2-9]\d{{2}}[.\-]\d{{4}}                               # seven digits: 555-0123
      | \d{{7,15}}                                             # a bare run of digits
    )
    (?![\dA-Za-z]|[.\-]\d)
    """,
    re.VERBOSE,
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")  # from a run's start: linear
_COMPACT_DATE = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")


def scrub_contacts(text: str, mark: str) -> str:
    """``text`` with every phone number (any common format) and e-mail address replaced by
    ``mark``. Times, dates, durations, years and counts stay: a match needs seven digits or more
    in a phone's shape, and a bare eight-digit date (20270607) is left alone."""

    def phone(m: re.Match[str]) -> str:
        s = m.group(0)
        digits = re.sub(r"\D", "", s)
        if len(digits) < 7 or (s.isdigit() and _COMPACT_DATE.fullmatch(s)):
            return s
        return mark

    return _EMAIL.sub(mark, _PHONE.sub(phone, text))


class Redactor:
    """Scrubs contact details and names from free text, unless contacts were asked for.

    ``phones`` are the roster's numbers; any formatting of them is caught, as is anything else
    shaped like a phone number or an e-mail address. ``names`` (the roster's people and the
    names players and evaluators typed) are matched whatever their case. Each becomes the
    withheld mark.
    """

    def __init__(
        self, phones: Iterable[str], names: Iterable[str], lang: str, enabled: bool = True
    ):
        self.enabled = enabled
        self.mark = t("rev_withheld", lang)
        tokens = set()
        for p in phones:
            p = (p or "").strip()
            if p:
                tokens.add(p)
                digits = re.sub(r"\D", "", p)
                if len(digits) >= 4:
                    tokens.add(digits)
        tokens |= {n.strip() for n in names if n and len(n.strip()) >= 2}
        self.tokens = sorted(tokens, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(map(_whole, self.tokens)), re.IGNORECASE) if self.tokens else None
        )

    def __call__(self, text: Any) -> str:
        s = "" if text is None else str(text)
        if not self.enabled or not s:
            return s
        if self._pattern is not None:
            s = self._pattern.sub(self.mark, s)
        return scrub_contacts(s, self.mark)


def _whole(token: str) -> str:
    """A token as a pattern that matches it only as a whole word where the word is Latin or
    digits (so "Li" never hits "delivered"); Chinese text has no spaces to look for."""
    edge = "(?<![A-Za-z0-9])" if token[0].isascii() and token[0].isalnum() else ""
    tail = "(?![A-Za-z0-9])" if token[-1].isascii() and token[-1].isalnum() else ""
    return edge + re.escape(token) + tail


def redactor_for(
    row: Mapping[str, Any],
    lang: str,
    *,
    scenario: Scenario | None = None,
    evaluation: Mapping[str, Any] | None = None,
    enabled: bool = True,
) -> Redactor:
    """The one :class:`Redactor` of a stored drill: its roster's numbers and names (from
    ``scenario``, else read from the row's snapshot) and the names players and evaluators typed.
    The exports and the ``drills`` listing both use it, so they withhold the same things."""
    if scenario is not None:
        people = [
            {"phone": p.phone, "name_zh": p.name_zh, "name_en": p.name_en}
            for p in scenario.roster.people
        ]
    else:
        people = _roster_in_snapshot(row.get("scenario_text") or "")
    names = [str(p.get(k) or "") for p in people for k in ("name_zh", "name_en")]
    typed = _strings_in(row.get("players") or {})
    typed += _strings_in((evaluation or {}).get("evaluators") or [])
    return Redactor(
        [str(p.get("phone") or "") for p in people], names + typed, lang, enabled=enabled
    )


def _roster_in_snapshot(text: str) -> list[dict[str, Any]]:
    """The roster's people (as mappings) from a stored snapshot without building the scenario,
    for listings; none when the snapshot cannot be read."""
    from sim.yamlio import load_text

    try:
        people = load_text(text, "snapshot")["roster"]["people"]
    except Exception:  # noqa: BLE001 - a damaged snapshot only loses its roster here
        return []
    return [p for p in people if isinstance(p, dict)] if isinstance(people, list) else []


def _strings_in(value: Any) -> list[str]:
    """Every string inside a JSON-like value (the players' typed names, evaluators)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings_in(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings_in(v)]
    return []


# -- the report's content ----------------------------------------------------------------------


@dataclass
class Table:
    """A table: header labels, rows of text, relative column widths (for the PDF)."""

    columns: list[str]
    rows: list[list[str]]
    widths: tuple[float, ...] = ()
    small: bool = False

    def as_frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)


@dataclass
class Block:
    """One piece of a section: kind is h3, p, list, kv, table or image."""

    kind: str
    text: str = ""
    items: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    table: Table | None = None


@dataclass
class Section:
    key: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Report:
    """Everything an after-action report shows, in one language, ready to render."""

    lang: str
    drill_id: int
    title: str
    subtitle: str
    sections: list[Section]
    actions: Table
    sheets: dict[str, Table]
    chart_png: bytes
    chart_alt: str
    notice: str
    stem: str
    include_contacts: bool = False


def _s(key: str, lang: str, **kw: Any) -> str:
    return t(key, lang, **kw)


def _minutes(value: float | None, lang: str) -> str:
    if value is None:
        return "—"
    return (
        f"{value:.1f} {_s('minutes_short', lang)}"
        if value % 1
        else f"{int(value)} {_s('minutes_short', lang)}"
    )


def status_label(status: str, note_code: str, lang: str) -> str:
    """达标 / 未达标 / 未到期 / 不适用 / 进行中 for a verdict (:func:`sim.labels.status_word`)."""
    return labels.status_word(status, lang, note_code)


def _join(items: Iterable[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def _grade_text(plan, g: str | None, lang: str) -> str:
    return label(plan, "grades", g, lang) if g else "—"


class Names:
    """Readable names for the ids in action records: people, roles, bodies, sites, incidents.

    A roster person is named by role (``第一考点（主校区）主考`` / ``Site chief examiner, Site A
    (main campus)``, with a number when several share a role and place), so no export names
    anyone; ``show_names`` gives the roster name with the role instead (contacts asked for).
    """

    def __init__(self, scenario: Scenario, lang: str, show_names: bool = False):
        self.plan = scenario.plan
        self.lang = lang
        self.show_names = show_names
        self.people = {p.id: p for p in scenario.roster.people}
        self.sites = {
            s.id: (s.name_zh if lang == "zh" else s.name_en) or s.id for s in scenario.sites
        }
        self.incidents = {i.id for i in scenario.incidents}
        self._incident_names = labels.incident_names(scenario.incidents, lang)
        self._roles = {p.id: self._role_text(p) for p in scenario.roster.people}
        shared: dict[str, list[str]] = {}
        for pid, text in self._roles.items():
            shared.setdefault(text, []).append(pid)
        self._nth = {
            pid: n for pids in shared.values() if len(pids) > 1 for n, pid in enumerate(pids, 1)
        }

    def _role_text(self, p) -> str:
        roles = _join((label(self.plan, "roles", r, self.lang) for r in p.roles), self.lang)
        if p.site:
            site = self.sites.get(p.site, p.site)
            return _s("rev_person_at_site", self.lang, role=roles, site=site)
        return roles

    def role_name(self, pid: str) -> str:
        """What an export calls a roster person: their roles and site, numbered when shared."""
        text = self._roles[pid]
        n = self._nth.get(pid)
        return _s("rev_person_nth", self.lang, who=text, n=n) if n else text

    def person(self, pid: str) -> str:
        """The person by role; with ``show_names``, the roster name with the plan's role title
        (unless the name already says it)."""
        if not self.show_names:
            return self.role_name(pid)
        p = self.people[pid]
        name = (p.name_zh if self.lang == "zh" else p.name_en) or p.name_en or p.name_zh or p.id
        role = label(self.plan, "roles", p.role, self.lang)
        return name if role.lower() in name.lower() else f"{name} · {role}"

    def incident(self, iid: str | None) -> str:
        """An incident by its name ("事件1（答卷遗失）"), never its id; no incident: the calendar."""
        if not iid:
            return _s("drill_exam_calendar", self.lang)
        return self._incident_names.get(iid, iid)

    def who(self, ident: str, redact: Redactor | None = None) -> str:
        """An id in words; an id none of the tables know is shown as written (scrubbed)."""
        if not ident:
            return ""
        if ident in self.people:
            return self.person(ident)
        if ident in self.sites:
            return self.sites[ident]
        if ident in self.plan.bodies:
            return label(self.plan, "bodies", ident, self.lang)
        if ident in self.plan.roles:
            return label(self.plan, "roles", ident, self.lang)
        key = f"rev_actor_{ident}"
        text = t(key, self.lang)
        if text != key:
            return text
        return redact(ident) if redact is not None else ident

    def outcome(self, action: str, outcome: str) -> str:
        if not outcome:
            return ""
        if action == "graded" and outcome in self.plan.grades:
            return _grade_text(self.plan, outcome, self.lang)
        key = f"rev_out_{outcome}"
        text = t(key, self.lang)
        return outcome if text == key else text

    def detail(self, a: Action, redact: Redactor) -> str:
        d = a.detail or ""
        if not d:
            return ""
        if a.action == "occurred":
            return t(f"family_{d}", self.lang)
        if a.action == "graded" and d in self.plan.grades:
            return _s(
                "rev_detail_plan_grade", self.lang, grade=_grade_text(self.plan, d, self.lang)
            )
        if a.action == "call" and ":" in d:
            role, state = d.split(":", 1)
            return f"{self.who(role)} · {t('rev_state_' + state, self.lang)}"
        if a.action in self.plan.steps and all(c in self.plan.content for c in d.split(",")):
            # what a report carried, in the plan's own words (首报 or 续报 items)
            items = (label(self.plan, "content", c, self.lang) for c in d.split(","))
            return _join(items, self.lang)
        if d in self.people or d in self.plan.roles:
            return self.who(d)
        return redact(d)


def action_label(action: str, lang: str, plan=None) -> str:
    """A record's action in words (:func:`sim.labels.action_label`, as on the drill page)."""
    return labels.action_label(plan, action, lang)


def action_rows(
    records: Iterable[Action],
    scenario: Scenario,
    lang: str,
    redact: Redactor,
    *,
    show_names: bool | None = None,
    by: Sequence[str] | None = None,
) -> list[list[str]]:
    """The action log as rows: time, incident, actor, action, target, outcome, detail.

    People are named by role unless ``show_names`` (by default: when ``redact`` is off, i.e.
    contacts were asked for). ``by``: per record, the player who did it (a typed name, scrubbed
    by ``redact``), shown after the actor (:func:`action_columns` with ``by=True``).
    """
    names = Names(scenario, lang, not redact.enabled if show_names is None else show_names)
    rows = []
    for n, a in enumerate(records):
        target = (
            names.incident(a.target) if a.target in names.incidents else names.who(a.target, redact)
        )
        row = [
            labels.day_time(a.time, lang),
            names.incident(a.incident) if a.incident else "",
            names.who(a.actor, redact),
            action_label(a.action, lang, names.plan),
            target,
            names.outcome(a.action, a.outcome),
            names.detail(a, redact),
        ]
        if by is not None:
            player = by[n] if n < len(by) else ""
            row.insert(3, redact(player) if player else "—")
        rows.append(row)
    return rows


def action_columns(lang: str, *, by: bool = False) -> list[str]:
    """The action log's column headings (``by``: with the player who did each action)."""
    return [
        _s("time", lang),
        _s("incident", lang),
        _s("rev_col_actor", lang),
        *([_s("drill_col_by", lang)] if by else []),
        _s("rev_col_action", lang),
        _s("rev_col_target", lang),
        _s("rev_col_outcome", lang),
        _s("rev_col_detail", lang),
    ]


def chart_png(
    records: list[Action], scenario: Scenario, lang: str, now: float | None = None, dpi: int = 130
) -> bytes:
    """The timeline chart (:func:`sim.charts.timeline_figure`) as PNG bytes, drawn without
    pyplot's global state so that sessions exporting at once cannot draw on each other's chart."""
    from sim.charts import figure_png, timeline_figure
    from sim.labels import incident_names

    names = incident_names(scenario.incidents, lang, short=True) if scenario.incidents else None
    return figure_png(timeline_figure(records, scenario.plan, lang, now=now, names=names), dpi=dpi)


def build_report(
    store, drill_id: int, lang: str = "zh", *, include_contacts: bool = False
) -> Report:
    """Gather one drill's after-action report from the store (replaying the drill)."""
    if lang not in ("zh", "en"):
        raise ReportError(f"language {lang!r}: use zh or en")
    row, rebuilt = rebuild_stored(store, drill_id)
    evaluation = store.evaluation(int(drill_id))
    items = store.improvements(int(drill_id))
    return build_report_from(
        row, rebuilt, evaluation, items, lang, include_contacts=include_contacts
    )


def build_report_from(
    row: dict[str, Any],
    rebuilt: Rebuilt,
    evaluation: dict[str, Any] | None,
    items: list[dict[str, Any]],
    lang: str = "zh",
    *,
    include_contacts: bool = False,
) -> Report:
    """The report from parts already at hand (the review page has them cached)."""
    return _Builder(row, rebuilt, evaluation, items, lang, include_contacts).report()


class _Builder:
    """Builds each section of one report; every free text goes through one :class:`Redactor`."""

    def __init__(
        self,
        row: dict[str, Any],
        rebuilt: Rebuilt,
        evaluation: dict[str, Any] | None,
        items: list[dict[str, Any]],
        lang: str,
        include_contacts: bool,
    ):
        self.row, self.rebuilt, self.items, self.lang = row, rebuilt, items, lang
        self.evaluation = evaluation or {}
        self.include_contacts = include_contacts
        self.scenario, self.plan, self.card = (
            rebuilt.scenario,
            rebuilt.scenario.plan,
            rebuilt.scorecard,
        )
        self.players = row.get("players") or {}
        self.evaluators = [
            e for e in _strings_in(self.evaluation.get("evaluators") or []) if e.strip()
        ]
        self.redact = redactor_for(
            row,
            lang,
            scenario=self.scenario,
            evaluation=self.evaluation,
            enabled=not include_contacts,
        )
        self.names = Names(self.scenario, lang, show_names=include_contacts)
        self.kind = row.get("kind") or "team"

    def s(self, key: str, **kw: Any) -> str:
        return t(key, self.lang, **kw)

    def columns(self, *keys: str) -> list[str]:
        return [k if k in ("#", "rule_id") else self.s(k) for k in keys]

    def rule(self, rule_id: str) -> str:
        return label(self.plan, "rules", rule_id, self.lang)

    # -- the report ----------------------------------------------------------------------------
    def report(self) -> Report:
        lang, did = self.lang, int(self.row["id"])
        site = self.names.sites.get(self.row.get("site", ""), self.row.get("site", ""))
        scorecard, verdict_sheet = self.scorecard()
        evaluation, rating_sheet = self.evaluation_section()
        improvements, item_sheet = self.improvement_plan()
        actions = Table(
            action_columns(lang),
            action_rows(self.rebuilt.records, self.scenario, lang, self.redact),
            (1.3, 1.6, 2.6, 1.9, 2.4, 1.2, 2.6),
            small=True,
        )
        sections = [
            self.overview(site),
            Section(
                "timeline",
                self.s("rev_sec_timeline"),
                [Block("image", self.s("chart_timeline_title"))],
            ),
            scorecard,
            evaluation,
            improvements,
            Section("actions", self.s("rev_sec_actions"), [Block("table", table=actions)]),
        ]
        if self.include_contacts:
            sections.append(self.contacts())
        stem = f"drill-{did}-{self.row.get('year', '')}-{self.row.get('site', '')}-{lang}"
        return Report(
            lang=lang,
            drill_id=did,
            title=self.s("rev_report_title"),
            subtitle=self.s(
                "rev_report_subtitle", id=did, year=self.row.get("year", ""), site=site
            ),
            sections=sections,
            actions=actions,
            sheets={
                self.s("rev_sec_scorecard"): verdict_sheet,
                self.s("rev_sec_evaluation"): rating_sheet,
                self.s("rev_sec_improvement_plan"): item_sheet,
            },
            chart_png=chart_png(self.rebuilt.records, self.scenario, lang),
            chart_alt=self.s("chart_timeline_title"),
            notice=self.s(
                "rev_notice_contacts" if self.include_contacts else "rev_notice_no_contacts"
            ),
            stem=re.sub(r"[^\w.-]+", "_", stem),
            include_contacts=self.include_contacts,
        )

    # -- 1. overview -----------------------------------------------------------------------------
    def overview(self, site: str) -> Section:
        lang, plan, row = self.lang, self.plan, self.row
        n_players = len([n for n in _strings_in(self.players) if n.strip()])
        if self.include_contacts:
            players_text = _join(_players_list(plan, self.players, lang), lang) or "—"
        else:
            players_text = self.s("rev_players_withheld", n=n_players) if n_players else "—"
        scenario = self.scenario
        facts = [
            (self.s("rev_drill_id"), str(row["id"])),
            (self.s("rev_year"), str(row.get("year", ""))),
            (self.s("rev_site"), site),
            (
                self.s("rev_scenario"),
                (scenario.name_zh if lang == "zh" else scenario.name_en) or scenario.name,
            ),
            (self.s("rev_title_field"), self.redact(row.get("title") or "—")),
            (self.s("rev_kind"), self.s(f"rev_kind_{self.kind}")),
            (self.s("rev_status_field"), _drill_status(row.get("status"), lang)),
            (self.s("rev_seed"), str(row.get("seed", ""))),
            (self.s("rev_plan"), plan.name_zh if lang == "zh" else plan.name_en),
            (self.s("rev_players"), players_text),
        ]
        first_seen: dict[tuple[str, str], float] = {}
        for a in self.rebuilt.records:
            first_seen.setdefault((a.incident, a.action), a.time)
        plan_grades = {g["incident"]: g["plan"] for g in self.card.grading}
        incidents = [
            [
                self.names.incident(inc.id),
                t(f"family_{inc.family}", lang),
                self.names.sites.get(inc.site, inc.site),
                labels.day_time(first_seen.get((inc.id, "occurred"), inc.at), lang),
                labels.day_time(first_seen[(inc.id, "discovered")], lang)
                if (inc.id, "discovered") in first_seen
                else "—",
                _grade_text(plan, plan_grades.get(inc.id), lang),
            ]
            for inc in scenario.incidents
        ]
        settings = [
            (name, _setting_text(plan.setting(name), lang))
            for name in SETTINGS_SHOWN
            if name in plan.settings
        ]
        cols = self.columns(
            "incident", "rev_family", "rev_site", "rev_occurred", "rev_discovered", "rev_plan_grade"
        )
        return Section(
            "overview",
            self.s("rev_sec_overview"),
            [
                Block("kv", pairs=facts),
                Block("h3", self.s("rev_incidents")),
                Block("table", table=Table(cols, incidents, (2, 3, 2.4, 1.5, 1.5, 1.6))),
                Block("h3", self.s("rev_settings")),
                Block("p", self.s("rev_settings_intro")),
                Block("kv", pairs=settings),
            ],
        )

    # -- 3. scorecard ------------------------------------------------------------------------------
    def scorecard(self) -> tuple[Section, Table]:
        lang, plan, card = self.lang, self.plan, self.card
        blocks = [Block("p", labels.count_line(card.verdicts, lang))]
        if self.kind != "auto" and self.row.get("status") == "running":
            blocks.append(
                Block(
                    "p",
                    self.s("rev_running_note", time=labels.day_time(card.ended_at, lang)),
                )
            )
        sheet_rows = []
        by_incident: dict[str, list[dict]] = {}
        for v in card.verdicts:
            by_incident.setdefault(v["incident"], []).append(v)
        for iid, vs in by_incident.items():
            rows = []
            for v in vs:
                cells = labels.verdict_cells(v, lang, plan)  # the one verdict format
                r = [
                    self.rule(v["rule"]),
                    cells["status"],
                    cells["measured"],
                    cells["allowed"],
                    cells["note"],
                ]
                rows.append(r)
                sheet_rows.append([self.names.incident(iid), v["rule"], *r])
            cols = self.columns("rule", "status", "measured", "allowed", "rev_note")
            blocks += [
                Block("h3", self.names.incident(iid)),
                Block("table", table=Table(cols, rows, (5.2, 1.3, 1.4, 1.4, 2.7))),
            ]
        grading = [
            [
                self.names.incident(g["incident"]),
                _grade_text(plan, g.get("plan"), lang),
                _grade_text(plan, g.get("team"), lang),
                self.s("rev_yes") if g.get("agrees") else self.s("rev_no"),
                labels.plan_text(plan, g.get("basis_zh" if lang == "zh" else "basis_en", ""), lang),
            ]
            for g in card.grading
        ]
        content = [
            [
                self.names.incident(iid),
                _join((t(f"rev_content_{c}", lang) for c in given["given"]), lang) or "—",
                _join((t(f"rev_content_{c}", lang) for c in given["missing"]), lang) or "—",
            ]
            for iid, given in card.report_content.items()
        ]
        blocks += [
            Block("h3", self.s("rev_grading")),
            Block(
                "table",
                table=Table(
                    self.columns(
                        "incident", "rev_plan_grade", "rev_team_grade", "rev_agrees", "rev_basis"
                    ),
                    grading,
                    (2, 1.6, 1.6, 1, 5),
                ),
            ),
            Block("h3", self.s("rev_first_report_content")),
            Block(
                "table",
                table=Table(
                    self.columns("incident", "rev_given", "rev_missing"), content, (2, 5, 5)
                ),
            ),
        ]
        sheet = Table(
            self.columns(
                "incident", "rule_id", "rule", "status", "measured", "allowed", "rev_note"
            ),
            sheet_rows,
        )
        return Section("scorecard", self.s("rev_sec_scorecard"), blocks), sheet

    # -- 4. the expert group's evaluation ---------------------------------------------------------
    def evaluation_section(self) -> tuple[Section, Table]:
        lang, ev = self.lang, self.evaluation
        cols = self.columns("rev_target", "rev_target_kind", "rev_rating", "rev_observation")
        if not ev:
            return Section(
                "evaluation",
                self.s("rev_sec_evaluation"),
                [Block("p", self.s("rev_not_evaluated"))],
            ), Table(cols, [])
        scales = evaluation_scales()
        scale = scales.get(ev.get("scale") or "") or next(iter(scales.values()))
        objectives = {o.id: o for o in drill_objectives()}
        rows = []
        for r in ev.get("ratings") or []:
            target = r.get("target", "")
            if r.get("kind") == "rule":
                target_text = self.rule(target)
            else:
                target_text = (
                    objectives[target].label(lang) if target in objectives else self.redact(target)
                )
            rows.append(
                [
                    target_text,
                    self.s(f"rev_target_{r.get('kind', 'objective')}"),
                    scale.rating_text(r.get("rating"), lang),
                    self.redact(r.get("observation", "")),
                ]
            )
        if self.include_contacts:
            evaluators = _join(self.evaluators, lang) or "—"
        else:
            evaluators = (
                self.s("rev_evaluators_withheld", n=len(self.evaluators))
                if self.evaluators
                else "—"
            )
        legend = [
            f"{lv.code} — {lv.label(lang)}{'：' if lang == 'zh' else ': '}"
            f"{lv.description_zh if lang == 'zh' else lv.description_en}"
            for lv in scale.levels
        ]
        blocks = [
            Block(
                "kv",
                pairs=[
                    (self.s("rev_scale"), scale.label(lang)),
                    (self.s("rev_evaluators"), evaluators),
                ],
            ),
            Block("table", table=Table(cols, rows, (4.2, 1.3, 2.6, 4))),
            Block("h3", self.s("rev_strengths")),
            Block("list", items=[self.redact(x) for x in ev.get("strengths") or []] or ["—"]),
            Block("h3", self.s("rev_improvements")),
            Block("list", items=[self.redact(x) for x in ev.get("improvements") or []] or ["—"]),
            Block("h3", self.s("rev_scale_legend")),
            Block("list", items=legend),
        ]
        return Section("evaluation", self.s("rev_sec_evaluation"), blocks), Table(cols, rows)

    # -- 5. improvement plan ----------------------------------------------------------------------
    def improvement_plan(self) -> tuple[Section, Table]:
        lang, plan = self.lang, self.plan
        rows = [
            [
                str(it.get("id", "")),
                self.redact(it.get("action", "")),
                owner_label(plan, it.get("owner_role", ""), lang, self.redact),
                str(it.get("due") or "—"),
                improvement_status_label(it.get("status", "open"), lang),
                self.rule(it["rule_id"]) if it.get("rule_id") else "—",
            ]
            for it in self.items
        ]
        cols = self.columns(
            "#",
            "rev_item_action",
            "rev_item_owner",
            "rev_item_due",
            "rev_item_status",
            "rev_item_rule",
        )
        table = Table(cols, rows, (0.6, 4.4, 2.2, 1.6, 1.3, 3))
        body = Block("table", table=table) if rows else Block("p", self.s("rev_no_items"))
        section = Section(
            "improvement_plan",
            self.s("rev_sec_improvement_plan"),
            [Block("p", self.s("rev_improvement_intro")), body],
        )
        return section, table

    # -- 7. contacts, only when asked for ---------------------------------------------------------
    def contacts(self) -> Section:
        lang, plan = self.lang, self.plan
        rows = [
            [
                (p.name_zh if lang == "zh" else p.name_en) or p.id,
                label(plan, "roles", p.role, lang),
                p.phone or "—",
            ]
            for p in self.scenario.roster.people
        ]
        table = Table(self.columns("rev_name", "rev_role", "rev_phone"), rows, (4, 4, 2))
        return Section("contacts", self.s("rev_sec_contacts"), [Block("table", table=table)])


SETTINGS_SHOWN = (
    "first_report_clock_starts",
    "first_report_is",
    "immediately_minutes",
    "follow_up_interval_minutes",
    "final_report_minutes",
)


def _players_list(plan, players: Any, lang: str) -> list[str]:
    """``组长：name`` per player (the store keeps players as role id -> typed name)."""
    if not isinstance(players, dict):
        return _strings_in(players)
    sep = "：" if lang == "zh" else ": "
    out = []
    for role, name in players.items():
        for n in _strings_in(name):
            if n.strip():
                out.append(
                    f"{label(plan, 'roles', role, lang) if role in plan.roles else role}{sep}{n}"
                )
    return out


def _drill_status(status: str | None, lang: str) -> str:
    if not status:
        return "—"
    key = f"rev_drill_status_{status}"
    text = t(key, lang)
    return status if text == key else text


def _setting_text(value: Any, lang: str) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, bool):
        return _s("rev_yes", lang) if value else _s("rev_no", lang)
    if isinstance(value, int | float):
        return _minutes(float(value), lang)
    key = f"rev_setting_{value}"
    text = t(key, lang)
    return str(value) if text == key else text


def owner_label(plan, owner: str, lang: str, redact: Redactor | None = None) -> str:
    """A role id's label from the plan; free text as written (scrubbed)."""
    if owner in plan.roles:
        return label(plan, "roles", owner, lang)
    return redact(owner) if redact else owner


def improvement_status_label(status: str, lang: str) -> str:
    key = f"rev_status_{status}"
    text = t(key, lang)
    return status if text == key else text


# -- renderers ------------------------------------------------------------------------------------


def render(report: Report, fmt: str) -> bytes:
    """The report as bytes in ``fmt`` (pdf, html, md, csv, xlsx)."""
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "html":
        return to_html(report).encode("utf-8")
    if fmt == "md":
        return to_markdown(report).encode("utf-8")
    if fmt == "csv":
        return to_csv(report)
    if fmt == "xlsx":
        return to_xlsx(report)
    raise ReportError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")


def file_name(report: Report, fmt: str, encrypted: bool = False) -> str:
    stem = report.stem + ("-actions" if fmt == "csv" else "")
    return f"{stem}.{fmt}" + (".age" if encrypted else "")


def to_csv(report: Report) -> bytes:
    """The action log as CSV (UTF-8 with BOM, so Excel on a Chinese Windows opens it right)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(report.actions.columns)
    w.writerows([[_inert(c) for c in row] for row in report.actions.rows])
    return buf.getvalue().encode("utf-8-sig")


def _inert(text: str) -> str:
    """Typed text that a spreadsheet would run as a formula (=, +, -, @) is quoted (OWASP)."""
    s = str(text)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


def to_xlsx(report: Report) -> bytes:
    """An Excel workbook: the action log, the scorecard, the evaluation and the improvement plan."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    ws = wb.active
    tables = {_s("rev_sec_actions", report.lang): report.actions, **report.sheets}
    first = True
    for name, table in tables.items():
        if first:
            ws.title = _sheet_title(name)
            first = False
        else:
            ws = wb.create_sheet(_sheet_title(name))
        ws.append(table.columns)
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="E8EEF4")
        for row in table.rows:
            ws.append(row)
            for cell in ws[ws.max_row]:
                if cell.data_type == "f":  # typed text starting with "=" stays text
                    cell.data_type = "s"
        for i, col in enumerate(table.columns, start=1):
            width = (
                max([len(str(col))] + [len(str(r[i - 1])) for r in table.rows])
                if table.rows
                else len(str(col))
            )
            ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(
                60, max(8, width * 1.6 + 2)
            )
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.freeze_panes = "A2"
    wb.properties.title = f"{report.title} — {report.subtitle}"
    wb.properties.creator = "drillsim"
    when = _fixed_time()
    if when is not None:
        wb.properties.created = wb.properties.modified = when.replace(tzinfo=None)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue() if when is None else _zip_at(buf.getvalue(), when)


def _zip_at(data: bytes, when) -> bytes:
    """The workbook again with every time in it fixed to ``when`` (``SOURCE_DATE_EPOCH``), so
    two exports of one drill are byte-identical: openpyxl stamps the save time into
    ``docProps/core.xml`` and the zip entries."""
    import zipfile

    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    date_time = max((1980, 1, 1, 0, 0, 0), when.timetuple()[:6])  # zip dates start in 1980
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>" + stamp.encode() + rb"\g<2>",
                    body,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def _fixed_time():
    """``SOURCE_DATE_EPOCH`` as a UTC datetime, for byte-identical PDF and Excel files; else None."""
    import datetime as dt
    import os

    value = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not value.isdigit():
        return None
    return dt.datetime.fromtimestamp(int(value), tz=dt.UTC)


def _sheet_title(name: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", name)[:31]


def _md_text(text: str) -> str:
    """Text in the Markdown export: inert, whatever was typed (no link, image, HTML or
    formatting gets through; see :func:`sim.i18n.escape_markdown`)."""
    return escape_markdown(text)


def _md_cell(text: str) -> str:
    return "<br>".join(_md_text(line) for line in str(text).split("\n"))


def to_markdown(report: Report, chart_href: str | None = None) -> str:
    """Markdown; the chart inline as a base64 PNG, or a link to ``chart_href`` written beside it.

    Every text is escaped (:func:`_md_text`): the report's own words need no Markdown, and
    typed text (notes, titles, observations, improvement items) must not become a link or an
    image when the file is opened.
    """
    e = _md_text
    out = [f"# {e(report.title)}", "", f"**{e(report.subtitle)}**", "", f"> {e(report.notice)}", ""]
    for sec in report.sections:
        out += [f"## {e(sec.title)}", ""]
        for b in sec.blocks:
            if b.kind == "h3":
                out += [f"### {e(b.text)}", ""]
            elif b.kind == "p":
                out += [e(b.text), ""]
            elif b.kind == "list":
                out += [f"- {_md_cell(i)}" for i in b.items] + [""]
            elif b.kind == "kv":
                out += [f"- **{_md_cell(k)}**: {_md_cell(v)}" for k, v in b.pairs] + [""]
            elif b.kind == "image":
                src = (
                    chart_href
                    or "data:image/png;base64," + base64.b64encode(report.chart_png).decode()
                )
                out += [f"![{e(report.chart_alt)}]({src})", ""]  # our own file name or data URI
            elif b.kind == "table" and b.table is not None:
                tb = b.table
                out.append("| " + " | ".join(_md_cell(c) for c in tb.columns) + " |")
                out.append("|" + "|".join("---" for _ in tb.columns) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in tb.rows]
                out.append("")
    return "\n".join(out)


_CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",
 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1a1a1a;line-height:1.5}
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #2b5d8a;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #c8d0d8;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#e8eef4}.small td{font-size:.88em}.notice{background:#fff6e0;padding:.5em .8em;border-left:4px solid #e0a800}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
img{max-width:100%}.status-met{color:#1b7f3b}.status-missed{color:#b3261e;font-weight:600}
"""


def to_html(report: Report) -> str:
    """A self-contained HTML page (styles inline, the chart as a base64 PNG)."""
    e = html.escape
    lang_attr = "zh-CN" if report.lang == "zh" else "en"
    missed = {
        _s("status_missed", report.lang): "status-missed",
        _s("status_met", report.lang): "status-met",
    }
    parts = [
        f'<!DOCTYPE html><html lang="{lang_attr}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)} — {e(report.subtitle)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(report.title)}</h1><p><strong>{e(report.subtitle)}</strong></p>",
        f'<p class="notice">{e(report.notice)}</p>',
    ]
    for sec in report.sections:
        parts.append(f'<section id="{e(sec.key)}"><h2>{e(sec.title)}</h2>')
        for b in sec.blocks:
            if b.kind == "h3":
                parts.append(f"<h3>{e(b.text)}</h3>")
            elif b.kind == "p":
                parts.append(f"<p>{e(b.text)}</p>")
            elif b.kind == "list":
                parts.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in b.items) + "</ul>")
            elif b.kind == "kv":
                parts.append(
                    "<dl>"
                    + "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in b.pairs)
                    + "</dl>"
                )
            elif b.kind == "image":
                data = base64.b64encode(report.chart_png).decode()
                parts.append(
                    f'<img alt="{e(report.chart_alt)}" src="data:image/png;base64,{data}">'
                )
            elif b.kind == "table" and b.table is not None:
                tb = b.table
                cls = ' class="small"' if tb.small else ""
                head = "".join(f"<th>{e(c)}</th>" for c in tb.columns)
                body = "".join(
                    "<tr>"
                    + "".join(
                        f'<td class="{missed.get(c, "")}">{e(c)}</td>'
                        if c in missed
                        else f"<td>{e(c)}</td>"
                        for c in r
                    )
                    + "</tr>"
                    for r in tb.rows
                )
                parts.append(
                    f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                )
        parts.append("</section>")
    parts.append(f'<footer><p class="notice">{e(report.notice)}</p></footer></body></html>')
    return "\n".join(parts)


def to_pdf(report: Report) -> bytes:
    """A PDF with the CJK font embedded (Noto Sans CJK SC from the ``mplfonts`` package)."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode, XPos, YPos
    from fpdf.fonts import FontFace

    from sim.fonts import cjk_font_path

    lang = report.lang
    footer_text = report.notice

    class _PDF(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("cjk", size=7)
            self.set_text_color(110)
            self.cell(0, 5, f"{footer_text}    {self.page_no()}/{{nb}}", align="C")
            self.set_text_color(0)

    pdf = _PDF(format="A4")
    pdf.set_title(f"{report.title} — {report.subtitle}")
    pdf.set_creator("drillsim")
    if _fixed_time() is not None:
        pdf.set_creation_date(_fixed_time())
    pdf.set_lang("zh-CN" if lang == "zh" else "en")
    pdf.add_font("cjk", "", str(cjk_font_path()))
    pdf.set_auto_page_break(True, margin=16)
    pdf.alias_nb_pages()
    pdf.add_page()
    wrap = WrapMode.CHAR if lang == "zh" else WrapMode.WORD
    heading_style = FontFace(emphasis="", fill_color=(232, 238, 244))

    def keep_with_next(space: float = 40.0) -> None:
        """A heading never ends a page: start a new one when less than ``space`` mm remain."""
        if pdf.get_y() > pdf.h - pdf.b_margin - space:
            pdf.add_page()

    def line(text: str, size: float, h: float, gap: float = 0.0) -> None:
        pdf.set_font("cjk", size=size)
        pdf.multi_cell(0, h, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode=wrap, align="L")
        if gap:
            pdf.ln(gap)

    line(report.title, 20, 10)
    line(report.subtitle, 12, 7, 2)
    pdf.set_text_color(140, 90, 0)
    line(report.notice, 9, 5, 2)
    pdf.set_text_color(0)
    for sec in report.sections:
        if sec.key in ("actions", "contacts") and pdf.get_y() > pdf.h * 0.6:
            pdf.add_page()
        pdf.ln(2)
        keep_with_next()
        pdf.start_section(sec.title)  # the PDF's outline (bookmarks)
        pdf.set_text_color(43, 93, 138)
        line(sec.title, 15, 8, 1)
        pdf.set_text_color(0)
        for b in sec.blocks:
            if b.kind == "h3":
                pdf.ln(1)
                keep_with_next(30)
                line(b.text, 11.5, 6.5)
            elif b.kind == "p":
                line(b.text, 9.5, 5, 1)
            elif b.kind == "list":
                for item in b.items:
                    line(f"• {item}", 9.5, 5)
                pdf.ln(1)
            elif b.kind == "kv":
                pdf.set_font("cjk", size=9.5)
                with pdf.table(
                    col_widths=(1, 2.6),
                    first_row_as_headings=False,
                    borders_layout="HORIZONTAL_LINES",
                    line_height=5.2,
                    wrapmode=wrap,
                    text_align="LEFT",
                    padding=(0.6, 1),
                ) as table:
                    for k, v in b.pairs:
                        r = table.row()
                        r.cell(k)
                        r.cell(v)
                pdf.ln(2)
            elif b.kind == "image":
                width = pdf.epw
                from PIL import Image

                with Image.open(io.BytesIO(report.chart_png)) as im:
                    w_px, h_px = im.size
                height = width * h_px / w_px
                if pdf.get_y() + height > pdf.h - 18:
                    pdf.add_page()
                pdf.image(io.BytesIO(report.chart_png), w=width, alt_text=report.chart_alt)
                pdf.ln(2)
            elif b.kind == "table" and b.table is not None:
                tb = b.table
                size = 7.5 if tb.small else 9
                pdf.set_font("cjk", size=size)
                with pdf.table(
                    col_widths=tb.widths or None,
                    headings_style=heading_style,
                    line_height=size * 0.5,
                    wrapmode=wrap,
                    text_align="LEFT",
                    padding=(0.8, 1),
                    repeat_headings=1,
                ) as table:
                    hr = table.row()
                    for c in tb.columns:
                        hr.cell(c)
                    for row in tb.rows:
                        r = table.row()
                        for c in row:
                            r.cell(str(c))
                pdf.ln(2)
    return bytes(pdf.output())


# -- exporting (optionally encrypted) ----------------------------------------------------------


@dataclass
class Export:
    data: bytes
    file_name: str
    mime: str
    encrypted: bool = False


def export(
    store,
    drill_id: int,
    fmt: str,
    *,
    lang: str = "zh",
    include_contacts: bool = False,
    recipients: Iterable[str] | None = None,
    passphrase: str | None = None,
    report: Report | None = None,
) -> Export:
    """One export of a drill's report, encrypted with age when recipients or a passphrase are given."""
    if fmt not in FORMATS:
        raise ReportError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
    report = report or build_report(store, drill_id, lang, include_contacts=include_contacts)
    data = render(report, fmt)
    keys = [r for r in (recipients or ()) if r and r.strip()]
    if keys or passphrase:
        from sim.crypto import encrypt

        return Export(
            encrypt(data, keys or None, passphrase or None),
            file_name(report, fmt, True),
            MIME["age"],
            True,
        )
    return Export(data, file_name(report, fmt), MIME[fmt])


__all__ = [
    "FORMATS",
    "IMPROVEMENT_STATUSES",
    "OPEN_STATUSES",
    "Export",
    "Objective",
    "Rebuilt",
    "Redactor",
    "Report",
    "ReportError",
    "Scale",
    "build_report",
    "build_report_from",
    "chart_png",
    "default_scale_id",
    "drill_objectives",
    "evaluation_scales",
    "export",
    "file_name",
    "rebuild",
    "rebuild_stored",
    "render",
    "status_label",
    "to_csv",
    "to_html",
    "to_markdown",
    "to_pdf",
    "to_xlsx",
]
