"""Pure helpers for the drill console and the projector: set up, rebuild, act-and-store, format.

No Streamlit here, so every step the pages take can be tested on its own. A drill is its stored
``(scenario snapshot, seed, decisions)``; :class:`LiveDrill` keeps the replayed engine beside the
store's sequence numbers so a page can tell when another session changed the drill.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim import labels
from sim.drill import (
    Drill,
    DrillError,
    Outcome,
    auto_reference,
    generate_incidents,
    plain_data,
    scenario_from_text,
    snapshot_text,
    standing,
    verdict_dict,
)
from sim.i18n import addressee_label, escape_markdown, label, step_label, t
from sim.rules import MET, MISSED, NA, STATUSES, UNFINISHED
from sim.scenario import DAY, Incident, Scenario, Site
from sim.steps import on_paper
from sim.yamlio import dump_yaml, load_file, load_text

DEFAULT_REPS = 200
SPEEDS = (1, 2, 5, 10)
TICK_SECONDS = 2.0
#: What the menu offers besides the plan's steps (``Drill.steps_for``): a note for the record.
MENU_EXTRA = ("note",)
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


# -- set up -------------------------------------------------------------------------------------


def this_year(scenario: Scenario | None = None) -> int:
    """The year a new drill defaults to: the scenario's exam calendar (its first day), else
    today's — a drill is held for the season it rehearses."""
    return labels.calendar_year(scenario.first_day if scenario is not None else None)


def scenario_names(path: str | Path) -> tuple[str, str]:
    """A scenario file's (name_zh, name_en), its file name when it has none."""
    data = load_file(Path(path))
    stem = Path(path).stem
    if not isinstance(data, dict):
        return stem, stem
    return str(data.get("name_zh") or stem), str(data.get("name_en") or stem)


def site_name(site: Site, lang: str) -> str:
    return (site.name_zh if lang == "zh" else site.name_en) or site.id


def site_history(store, sites: Sequence[Site], year: int) -> list[dict[str, Any]]:
    """Each site's last team drill before or in ``year``, longest gap first (never drilled first).

    Reference runs of the automatic policy (``kind="auto"``) do not count: they are not drills.
    """
    last: dict[str, int] = {}
    for d in store.list_drills():
        if (d.get("kind") or "team") == "auto" or int(d["year"]) > year:
            continue
        last[d["site"]] = max(last.get(d["site"], 0), int(d["year"]))
    rows = [
        {
            "site": s.id,
            "name_zh": s.name_zh or s.id,
            "name_en": s.name_en or s.id,
            "last_year": last.get(s.id),
            "years_since": None if s.id not in last else year - last[s.id],
        }
        for s in sites
    ]
    order = {s.id: n for n, s in enumerate(sites)}
    rows.sort(
        key=lambda r: (r["last_year"] is not None, -(r["years_since"] or 0), order[r["site"]])
    )
    return rows


def suggest_site(history: Sequence[dict[str, Any]]) -> str | None:
    """The site drilled longest ago (a never-drilled site first; ties by the scenario's order)."""
    return history[0]["site"] if history else None


def short_name(name: str) -> str:
    """A site name without its parenthesis: "第一考点（主校区）" → "第一考点"."""
    return re.split(r"\s*[（(]", name, maxsplit=1)[0].strip() or name


def relocate(
    incidents: Iterable[Incident], scenario: Scenario, site_id: str
) -> tuple[Incident, ...]:
    """The incidents moved to the chosen drill site, their texts naming the new site."""
    new = scenario.site(site_id)
    out = []
    for inc in incidents:
        if inc.site == site_id:
            out.append(inc)
            continue
        try:
            old = scenario.site(inc.site)
        except KeyError:
            out.append(replace(inc, site=site_id))
            continue
        zh, en = inc.text_zh, inc.text_en
        if old.name_zh and new.name_zh:
            zh = zh.replace(short_name(old.name_zh), short_name(new.name_zh))
        if old.name_en and new.name_en:
            en = en.replace(short_name(old.name_en), short_name(new.name_en))
        out.append(replace(inc, site=site_id, text_zh=zh, text_en=en))
    return tuple(out)


def build_snapshot(
    path: str | Path, *, site: str, seed: int, generated: bool = False, count: int = 2
) -> str:
    """The self-contained scenario text a new drill runs on, all incidents at the chosen site.

    ``generated`` replaces the script's incidents with ``count`` drawn at random from the plan's
    families (seeded by ``seed``), so a team cannot rehearse the script.
    """
    base = scenario_from_text(snapshot_text(path), Path(path).name)
    if site not in {s.id for s in base.sites}:
        raise DrillError("site_not_in_scenario", site=site)
    if generated:  # numbered in the order the team will meet them (g1 first)
        drawn = sorted(generate_incidents(base, seed, count), key=lambda i: (i.at, i.id))
        incidents = tuple(replace(inc, id=f"g{n}") for n, inc in enumerate(drawn, 1))
    else:
        incidents = base.incidents
    text = snapshot_text(path, relocate(incidents, base, site))
    if not generated:
        return text
    data = plain_data(load_text(text, "<snapshot>"))
    data["name_zh"] = t("drill_generated_name", "zh", name=base.name_zh or base.name)
    data["name_en"] = t("drill_generated_name", "en", name=base.name_en or base.name)
    return dump_yaml(data)


def create_drill(
    store,
    *,
    year: int,
    site: str,
    path: str | Path,
    seed: int,
    lang: str,
    players: dict[str, str] | None = None,
    generated: bool = False,
    count: int = 2,
) -> int:
    """Store a new running drill (snapshot, seed, players) and return its id."""
    text = build_snapshot(path, site=site, seed=seed, generated=generated, count=count)
    name = Path(path).stem + ("+generated" if generated else "")
    players = {r: n.strip() for r, n in (players or {}).items() if n and n.strip()}
    return store.create_drill(
        year=int(year),
        site=site,
        scenario_name=name,
        scenario_text=text,
        seed=int(seed),
        lang=lang,
        players=players,
    )


# -- a live drill -------------------------------------------------------------------------------


@dataclass
class LiveDrill:
    """A stored drill rebuilt by replay; ``seqs`` are the store's sequence numbers of its decisions."""

    drill_id: int
    row: dict[str, Any]
    scenario: Scenario
    drill: Drill
    seqs: list[int] = field(default_factory=list)
    stale: bool = False  # applied in memory but not stored: must be rebuilt from the store

    @classmethod
    def load(cls, store, drill_id: int, actions: list[dict] | None = None) -> LiveDrill:
        """Rebuild from the store: same snapshot, same seed, same decisions → the same state."""
        row = store.drill(int(drill_id))
        actions = store.actions(int(drill_id)) if actions is None else actions
        scenario = scenario_from_text(row["scenario_text"], f"drill-{drill_id}.yaml")
        try:
            drill = Drill.replay(scenario, int(row["seed"]), [a["payload"] for a in actions])
        except DrillError as exc:
            raise DrillError("cannot_replay", id=drill_id, reason=exc) from None
        return cls(int(drill_id), row, scenario, drill, [int(a["seq"]) for a in actions])

    @property
    def ended(self) -> bool:
        return self.row.get("status") == "ended"

    def apply(self, store, decision: dict[str, Any]) -> Outcome:
        """Take one decision and store it at once; a refused decision (DrillError) stores nothing."""
        if self.ended:
            raise DrillError("ended")
        before = self.drill.now
        out = self.drill.apply(decision)
        try:
            seq = store.append_action(
                self.drill_id, sim_minute=before, kind=str(decision["kind"]), payload=decision
            )
        except Exception:
            self.stale = True  # out of step with the store: the next sync rebuilds
            raise
        self.seqs.append(int(seq))
        return out

    def tick(self, store, minutes: float) -> Outcome | None:
        """Run the clock on by ``minutes``, stopping at the next inject (the auto-run's step)."""
        target = self.drill.now + max(0.0, float(minutes))
        nxt = self.drill.next_inject_at()
        if nxt is not None and nxt <= target:
            target = nxt
        if target <= self.drill.now:
            return None
        to = target if target == nxt else max(round(target, 3), self.drill.now)
        return self.apply(store, {"kind": "advance", "to": to, "auto": True})

    def undo(self, store) -> dict[str, Any] | None:
        """Drop the last decision and rebuild; returns the undone decision (None if none).

        The running clock's ticks (``auto`` advances) are not decisions of the team: undo
        takes back the last decision before them (and the ticks after it)."""
        if not self.seqs or self.ended:
            return None
        decisions = self.drill.decisions
        n = len(decisions) - 1
        while n > 0 and decisions[n].get("kind") == "advance" and decisions[n].get("auto"):
            n -= 1
        last = decisions[n]
        store.truncate_actions(self.drill_id, self.seqs[n - 1] if n > 0 else 0)
        fresh = LiveDrill.load(store, self.drill_id)
        self.row, self.drill, self.seqs = fresh.row, fresh.drill, fresh.seqs
        return last


def sync(live: LiveDrill | None, store, drill_id: int) -> LiveDrill:
    """The drill as the store has it now: ``live`` when nothing changed, else rebuilt by replay."""
    actions = store.actions(int(drill_id))
    if (
        live is not None
        and not live.stale
        and live.drill_id == int(drill_id)
        and live.seqs == [int(a["seq"]) for a in actions]
    ):
        live.row = store.drill(int(drill_id))
        return live
    return LiveDrill.load(store, drill_id, actions)


def latest_running(store) -> int | None:
    """The most recently created running drill, for the projector when no id is given."""
    running = [d for d in store.list_drills() if d.get("status") == "running"]
    return max((int(d["id"]) for d in running), default=None)


# -- ending -------------------------------------------------------------------------------------


#: Rules whose measured value is a gap (uncovered duty, longest silence), not a time to act:
#: "how many runs did better" would compare unlike things, so the standing leaves them out.
GAP_RULES = ("duty_24h_during_exam", "follow_up_reports")


def measured_by_rule(verdicts: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Per rule, the team's time to act (mean over incidents) where one was measured."""
    acc: dict[str, list[float]] = {}
    for v in verdicts:
        if v["rule"] in GAP_RULES:
            continue
        if v.get("status") in (MET, MISSED) and v.get("measured_min") is not None:
            acc.setdefault(v["rule"], []).append(float(v["measured_min"]))
    return {rule: sum(ts) / len(ts) for rule, ts in acc.items()}


def build_result(live: LiveDrill, reps: int = DEFAULT_REPS) -> dict[str, Any]:
    """The end-of-drill result: the engine's scorecard, the automatic policy on the same
    incidents, and where the team stands among ``reps`` simulated runs with the same roster."""
    card = live.drill.scorecard()
    # the automatic policy cut at the same minute, so both are judged on the same time
    ref = auto_reference(live.scenario, live.drill.seed, end=live.drill.now)
    auto = [verdict_dict(v) for v in ref.verdicts]
    measured = measured_by_rule(card["verdicts"])
    stand = standing(live.scenario, live.drill.seed, measured, reps) if measured else {}
    return {
        **card,
        "auto": {
            "verdicts": auto,
            "counts": {s: sum(v["status"] == s for v in auto) for s in STATUSES},
        },
        "standing": stand,
        "standing_reps": int(reps),
        "n_incidents": len(live.drill.incidents),
        "n_decisions": len(live.drill.decisions),
    }


def end_drill(store, live: LiveDrill, reps: int = DEFAULT_REPS) -> dict[str, Any]:
    """Score the drill, store the result (which marks it ended) and return the result."""
    result = build_result(live, reps)
    store.save_result(live.drill_id, result)
    live.row = store.drill(live.drill_id)
    return result


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


def family_label(family: str, lang: str) -> str:
    return t(f"family_{family}", lang)


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


def pick(value: Any, options: Sequence[Any], default: Any = None) -> Any:
    """``value`` when it is one of ``options``, else ``default`` (else the first option)."""
    if value in options:
        return value
    if default in options:
        return default
    return options[0] if options else None


def next_in_chain(chain: Sequence[str], pid: str | None) -> str | None:
    """The person after ``pid`` in a call chain (the backup to try next), if any."""
    chain = list(chain)
    if pid not in chain:
        return None
    i = chain.index(pid)
    return chain[i + 1] if i + 1 < len(chain) else None


# -- the action menu: the plan's procedure, step by step ------------------------------------------


def list_sep(lang: str) -> str:
    """Between items of a list of plan terms: the plan's own terms hold 、 and commas
    (当地党委、政府; "Cause, nature and impact"), so items are set apart by semicolons."""
    return "；" if lang == "zh" else "; "


def _colon(lang: str) -> str:
    return "：" if lang == "zh" else ": "


def menu(live: LiveDrill, incident: str) -> list[str]:
    """What the team may do for an incident now: the plan's steps (in procedure order), a note."""
    return [*live.drill.steps_for(incident), *MENU_EXTRA]


def office_steps_waiting(live: LiveDrill, incident: str) -> list[str]:
    """The office's steps not offered yet because no report has reached the office: the menu
    says why they are missing, so a team knows what unlocks them."""
    drill = live.drill
    if drill.office_told(incident) or incident in drill.closed:
        return []
    family = drill.incidents[incident].family
    return [s.id for s in live.scenario.plan.procedure if s.by == "office" and s.fits(family)]


def menu_label(plan, item: str, lang: str) -> str:
    return t(f"drill_kind_{item}", lang) if item in MENU_EXTRA else step_label(plan, item, lang)


def record_label(plan, action: str, lang: str) -> str:
    """A record's action in words (:func:`sim.labels.action_label`, as in the reports)."""
    return labels.action_label(plan, action, lang)


def outcome_word(outcome: str, lang: str) -> str:
    """A record's outcome in a word or two (received, informed, failed, answered …)."""
    key = f"drill_outcome_{outcome}"
    text = t(key, lang)
    return outcome if text == key else text


def incident_names(live: LiveDrill, lang: str, *, short: bool = False) -> dict[str, str]:
    """The drill's incidents by name ("事件1（答卷遗失）", ``short``: "事件1"), numbered in
    the order they happen."""
    return labels.incident_names(live.drill.incidents.values(), lang, short=short)


def incident_label(iid: str | None, lang: str, names: dict[str, str] | None = None) -> str:
    """An incident by its name in ``names`` (:func:`incident_names`; else as written); a
    run-level verdict (no incident) is about the whole exam calendar."""
    if not iid:
        return t("drill_exam_calendar", lang)
    return (names or {}).get(iid, iid)


def addressees(live: LiveDrill, incident: str, sid: str) -> list[str]:
    """Who the step goes to for this incident (the family's emergency team for ``$teams``)."""
    family = live.drill.incidents[incident].family
    return list(live.scenario.plan.addressees(sid, family))


def phoned(plan, sid: str, target: str) -> bool:
    """Whether the step reaches ``target`` by phone, through a call chain (so the team picks whom
    to call) — the engine's own rule (:func:`sim.steps.on_paper`)."""
    return not on_paper(plan.step(sid), target)


def call_target(plan, sid: str, to: Sequence[str]) -> str | None:
    """The one addressee a person picker is for: the only phoned one among ``to``, if exactly one.

    A decision names at most one person; with several roles to phone, each is worked down its
    own call chain.
    """
    phones = [x for x in to if phoned(plan, sid, x)]
    return phones[0] if len(phones) == 1 else None


def call_role(drill: Drill, target: str) -> str:
    """The role whose chain is phoned for ``target`` (the working group: its office now)."""
    return drill.office_role() if target == "working_group" else target


def call_chain(live: LiveDrill, incident: str, target: str) -> list[str]:
    """The call chain phoned for ``target`` (the same chain the engine works through)."""
    site = live.drill.incidents[incident].site
    return list(live.scenario.roster.chain(call_role(live.drill, target), site))


def step_decision(
    live: LiveDrill,
    incident: str,
    sid: str,
    *,
    to: Sequence[str] | None = None,
    level: str | None = None,
    person: str | None = None,
    fields: dict[str, str] | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """The canonical decision for one step from the form's values.

    ``to`` defaults to all the step's addressees (kept in the plan's order; others dropped);
    ``person`` is the one to call for the only phoned addressee — a value not in its chain (a
    widget left from another step) is its first person, ``""`` the whole chain; ``fields`` are
    the content form's texts (an empty one counts as missing).
    """
    plan = live.scenario.plan
    step = plan.step(sid)
    decision: dict[str, Any] = {"kind": "step", "incident": incident, "step": sid}
    if step.to:
        options = addressees(live, incident, sid)
        wanted = options if to is None else list(to)
        chosen = [x for x in options if x in wanted]
        if not chosen:
            raise DrillError("choose_to", step=sid)
        decision["to"] = chosen
        target = call_target(plan, sid, chosen)
        if target is not None:
            chain = call_chain(live, incident, target)
            who = pick(person, [*chain, ""], chain[0] if chain else "")
            if who:
                decision["person"] = who
    if sid == "graded":
        decision["level"] = level
    if step.content:
        texts = {c: str((fields or {}).get(c) or "").strip() for c in step.content}
        decision["content"] = [c for c in step.content if texts[c]]
        decision["fields"] = {c: v for c, v in texts.items() if v}
    if text:
        decision["text"] = text
    return decision


def backup_decision(
    live: LiveDrill, decision: dict[str, Any], out: Outcome
) -> tuple[dict[str, Any] | None, bool]:
    """After a call to one person: the same step to the same addressee, calling the next person
    in its chain, when the call went unanswered. Returns (decision or None, whether it was
    unanswered) — unanswered with no one left in the chain is (None, True)."""
    person = decision.get("person")
    if decision.get("kind") != "step" or not person:
        return None, False
    plan = live.scenario.plan
    target = call_target(plan, decision["step"], decision.get("to") or [])
    if target is None or out.detail.get("reached", {}).get(target) != "failed":
        return None, False
    nxt = next_in_chain(call_chain(live, decision["incident"], target), person)
    if nxt is None:
        return None, True
    return {**decision, "to": [target], "person": nxt}, True


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
    live: LiveDrill,
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


def board_rows(live: LiveDrill, lang: str, *, team_view: bool = False) -> list[dict[str, str]]:
    """The deadline board as a table in words: incident, rule, status, deadline, time left or
    taken — grouped and sorted as :func:`due_next`; ``team_view``: the projector's board."""
    return [
        {
            t("incident", lang): r["name"],
            t("rule", lang): r["rule"],
            t("status", lang): r["status_text"],
            t("drill_col_deadline", lang): r["deadline"],
            t("drill_col_left", lang): r["left"],
        }
        for r in due_next(live, lang, team_view=team_view)
    ]


def board_html(
    rows: Sequence[dict[str, Any]], lang: str, *, size: float = 1.0, compact: bool = False
) -> str:
    """Rows of :func:`due_next` as one coloured HTML table, a heading row per incident (the
    projector's large rows; ``compact``: the console's list, the status as its mark only).
    Every text is escaped."""
    import html

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


def applicable(v: dict[str, Any]) -> bool:
    """A verdict the scorecard shows: the rule applies to the incident's grade under the plan."""
    return not (v["status"] == NA and labels.note_of(v)[0] == "grade")


def score_rows(
    result: dict[str, Any], plan, lang: str, names: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Per incident and applicable rule: the team's verdict beside the automatic policy's.

    The run-level rule (24-hour duty over the whole exam calendar) has no incident: its row
    reads "exam calendar".
    """
    auto = {(v["incident"], v["rule"]): v for v in result.get("auto", {}).get("verdicts", [])}
    rows = []
    for v in result["verdicts"]:
        if not applicable(v):
            continue
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
    result: dict[str, Any], plan, lang: str, names: dict[str, str] | None = None
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
        for g in result["grading"]
    ]


def content_label(plan, cid: str, lang: str) -> str:
    """A content item (信息报送内容) in the plan's words."""
    entry = plan.content.get(cid)
    return entry["label_zh" if lang == "zh" else "label_en"] if entry else cid


def content_rows(
    result: dict[str, Any], plan, lang: str, names: dict[str, str] | None = None
) -> list[dict[str, str]]:
    """Per incident: what the written first report gave and what it lacked (the plan's items)."""
    sep = list_sep(lang)
    rows = []
    for iid, c in result["report_content"].items():
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


def standing_lines(result: dict[str, Any], plan, lang: str) -> list[str]:
    """ "First report within 3 hours: 2 h 10 min — 78 % of simulated runs do better"."""
    out = []
    for rule, s in result.get("standing", {}).items():
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
        return f"{t(f'drill_kind_{kind}', lang)}{colon}{note}"
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


def reached_lines(live: LiveDrill, out: Outcome, lang: str) -> list[tuple[str, str]]:
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


def log_rows(live: LiveDrill, lang: str) -> list[dict[str, str]]:
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
                t("drill_col_result", lang): outcome_result(o.result, lang),
                t("drill_col_took", lang): fmt_minutes(took_minutes(o), lang),
                t("drill_col_detail", lang): " · ".join(parts),
            }
        )
    return rows[::-1]


def expected_steps(live: LiveDrill, incident: str, lang: str, ref=None) -> list[str]:
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


def expected_checklist(live: LiveDrill, incident: str, ref) -> list[tuple[str, bool]]:
    """The trainer's expected actions for an incident, ticking themselves from the records:
    each step of the procedure the plan-compliant policy took for it (in its order), and
    whether the team has taken that step for the incident yet."""
    plan = live.scenario.plan
    team_steps = set(live.drill.steps_for(incident)) | set(plan.steps)
    wanted: list[str] = []
    for a in ref.records:
        if a.incident != incident or a.action not in plan.steps or a.action in wanted:
            continue
        step = plan.step(a.action)
        if step.kind == "event" or a.action not in team_steps or a.actor in plan.bodies:
            continue
        if step.by in plan.bodies and step.by != "working_group":
            continue  # an outside body's own step, not the team's
        wanted.append(a.action)
    done = {
        a.action
        for a in live.drill.records
        if a.incident == incident and a.outcome != "failed" and a.action in wanted
    }
    return [(sid, sid in done) for sid in wanted]


def last_backup(live: LiveDrill) -> dict[str, Any] | None:
    """The backup call to offer now: after the last decision, if it was a call to one person
    that went unanswered (derived from the drill, so a refresh keeps the offer)."""
    if not live.drill.decisions:
        return None
    nxt, _ = backup_decision(live, live.drill.decisions[-1], live.drill.outcomes[-1])
    return nxt


def outcome_messages(
    live: LiveDrill, decision: dict[str, Any], out: Outcome, lang: str
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


__all__ = [
    "DEFAULT_REPS",
    "MENU_EXTRA",
    "SPEEDS",
    "TICK_SECONDS",
    "LiveDrill",
    "build_result",
    "build_snapshot",
    "create_drill",
    "end_drill",
    "latest_running",
    "menu",
    "site_history",
    "step_decision",
    "suggest_site",
    "sync",
]


def error_text(exc: Exception, lang: str, plan=None, scenario=None) -> str:
    """A refusal (by its code) or a store problem in the page's language: :func:`sim.labels.error_text`."""
    return labels.error_text(exc, lang, plan, scenario)
