"""A drill session: create, replay, act and store, undo, end and score — one home for the pages,
the CLI, the reports and the programme.

A drill is its stored ``(scenario snapshot, seed, decisions)``. :class:`DrillSession` keeps the
replayed :class:`sim.drill.Drill` beside the store's sequence numbers of its decisions, so a page
can tell when another session changed the drill and a refresh or an app restart resumes it
exactly. :class:`Scorecard` is the one scorecard type: a team's drill and the automatic policy's
run are scored into it, it is what the store keeps as a drill's result, and the console, the
review, the after-action report, ``drillsim drill-auto`` and the programme all read it.
:func:`site_rotation` is the one rule for which exam site is due a drill.
"""

from __future__ import annotations

import re
import time
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
from sim.grading import grade
from sim.i18n import t
from sim.rules import GAP_RULES, MET, MISSED, NA, STATUSES
from sim.scenario import Incident, Scenario
from sim.seat_screen import seat_times
from sim.steps import on_paper
from sim.yamlio import dump_yaml, load_file, load_text

#: Simulated runs the team is placed among at the end (:func:`score`).
DEFAULT_REPS = 200
#: What the menu offers besides the plan's steps (``Drill.steps_for``): a note for the record.
MENU_EXTRA = ("note",)


# -- the scorecard ------------------------------------------------------------------------------


def _count(verdicts: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Verdicts per status (met, missed, unfinished, n/a), every status present."""
    vs = list(verdicts)
    return {s: sum(v.get("status") == s for v in vs) for s in STATUSES}


@dataclass(frozen=True)
class Scorecard:
    """A drill's score: per incident and rule the verdict (as stored: dicts with ``rule``,
    ``status``, ``note_code``, ``measured_min``, ``allowed_min`` …), the team's grading against
    the plan's, what the written first report gave and lacked, and — for a team's drill once
    ended — the automatic policy on the same incidents cut at the same minute and where the team
    stands among simulated runs. ``policy`` is ``team`` or ``auto`` (a reference drill)."""

    verdicts: list[dict[str, Any]]
    grading: list[dict[str, Any]]
    report_content: dict[str, dict[str, list[str]]]
    ended_at: float
    policy: str = "team"
    auto_verdicts: list[dict[str, Any]] | None = None
    standing: dict[str, dict[str, float]] = field(default_factory=dict)
    standing_reps: int = 0
    n_incidents: int = 0
    n_decisions: int = 0
    true_grades: dict[str, str] = field(default_factory=dict)
    #: per seat a player or the trainer held: measured answer times, calls not picked up, and
    #: the minutes of the rules its role's steps stop (:func:`sim.seat_screen.seat_times`)
    seat_times: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Verdicts per status; ``unfinished`` counted apart from met, missed and n/a."""
        return _count(self.verdicts)

    @property
    def auto_counts(self) -> dict[str, int]:
        return _count(self.auto_verdicts or [])

    def applicable(self) -> list[dict[str, Any]]:
        """The verdicts of rules that apply to their incident's grade (what a scorecard lists)."""
        return [
            v for v in self.verdicts if not (v["status"] == NA and labels.note_of(v)[0] == "grade")
        ]

    def to_dict(self) -> dict[str, Any]:
        """The result as the store keeps it (JSON; ``counts`` written out for other readers)."""
        out: dict[str, Any] = {
            "verdicts": self.verdicts,
            "grading": self.grading,
            "report_content": self.report_content,
            "counts": self.counts,
            "ended_at": self.ended_at,
            "policy": self.policy,
            "n_incidents": self.n_incidents,
            "n_decisions": self.n_decisions,
        }
        if self.auto_verdicts is not None:
            out["auto"] = {"verdicts": self.auto_verdicts, "counts": self.auto_counts}
        if self.standing or self.standing_reps:
            out["standing"], out["standing_reps"] = self.standing, self.standing_reps
        if self.true_grades:
            out["true_grades"] = self.true_grades
        if self.seat_times:
            out["seat_times"] = self.seat_times
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorecard:
        """A stored result read back (older results lack some keys: they read as empty)."""
        auto = data.get("auto")
        return cls(
            verdicts=[v for v in data.get("verdicts") or [] if isinstance(v, dict)],
            grading=list(data.get("grading") or []),
            report_content=dict(data.get("report_content") or {}),
            ended_at=float(data.get("ended_at") or 0.0),
            policy=str(data.get("policy") or "team"),
            auto_verdicts=list(auto.get("verdicts") or []) if isinstance(auto, dict) else None,
            standing=dict(data.get("standing") or {}),
            standing_reps=int(data.get("standing_reps") or 0),
            n_incidents=int(data.get("n_incidents") or len(data.get("grading") or [])),
            n_decisions=int(data.get("n_decisions") or 0),
            true_grades=dict(data.get("true_grades") or {}),
            seat_times=dict(data.get("seat_times") or {}),
        )

    @classmethod
    def of_drill(cls, drill: Drill) -> Scorecard:
        """A team's drill judged as ended now (clocks with time left are ``unfinished``)."""
        vs = [verdict_dict(v) for v in drill.verdicts(final=True)]
        return cls(
            verdicts=vs,
            grading=_grading(drill.scenario, drill.incidents.values(), drill.team_grade),
            report_content=_content(drill.scenario, drill.incidents, drill.records),
            ended_at=float(drill.now),
            n_incidents=len(drill.incidents),
            n_decisions=len(drill.decisions),
            seat_times=seat_times(drill, vs),
        )

    @classmethod
    def of_run(cls, scenario: Scenario, run) -> Scorecard:
        """The automatic policy's run (:func:`sim.experiment.run_once`) as a reference drill."""
        graded = {a.incident: a.outcome for a in run.records if a.action == "graded"}
        return cls(
            verdicts=[verdict_dict(v) for v in run.verdicts],
            grading=_grading(scenario, run.incidents, graded),
            report_content=_content(scenario, {i.id: i for i in run.incidents}, run.records),
            ended_at=max((a.time for a in run.records), default=0.0),
            policy="auto",
            n_incidents=len(run.incidents),
            true_grades=dict(run.true_grades),
        )


def _grading(scenario: Scenario, incidents: Iterable[Incident], team: dict[str, str]) -> list:
    """Per incident: the grade given, the plan's grade with its basis, whether they agree."""
    out = []
    for inc in incidents:
        g = grade(inc.facts(), scenario.plan)
        out.append(
            {
                "incident": inc.id,
                "team": team.get(inc.id),
                "plan": g.level,
                "basis_zh": g.basis_zh,
                "basis_en": g.basis_en,
                "agrees": team.get(inc.id) == g.level,
            }
        )
    return out


def _content(scenario: Scenario, incidents: Iterable[str], records) -> dict[str, dict]:
    """Per incident: the items the first written report that went out gave, and those it lacked."""
    required = scenario.plan.step("written_report").content
    given: dict[str, list[str]] = {}
    for a in records:
        if a.action == "written_report" and a.incident not in given and a.outcome != "failed":
            given[a.incident] = [c for c in (a.detail or "").split(",") if c]
    return {
        iid: {
            "given": given.get(iid, []),
            "missing": [c for c in required if c not in given.get(iid, [])],
        }
        for iid in incidents
    }


# -- people and evidence ------------------------------------------------------------------------

#: The procedure steps each rule's judge reads (:mod:`sim.rules`): the team's actions shown as a
#: rule's evidence to the expert group. The run-level duty rule reads the roster, not a step.
RULE_STEPS: dict[str, tuple[str, ...]] = {
    "first_report_3h": ("verbal_report", "written_report", "direct_report"),
    "first_report_content": ("written_report",),
    "verbal_before_written": ("verbal_report", "written_report", "direct_report"),
    "grade_determined": ("graded",),
    "direct_report_I_II": ("direct_report",),
    "dept_reports_up_immediately": ("dept_report_up",),
    "office_informs_leaders": ("office_informs",),
    "office_informs_emergency_office": ("office_informs",),
    "office_reports_up_II": ("office_reports_up",),
    "department_informed_III_IV": ("department_informed",),
    "emergency_contact_III_plus": ("emergency_contact",),
    "emergency_state_I_II": ("emergency_state",),
    "special_plan_or_containment": ("special_plan", "contain"),
    "information_release": ("info_release",),
    "duty_24h_during_exam": (),
    "duty_24h_I": ("duty_24h",),
    "deputy_leader_on_site_I": ("deputy_to_site",),
    "follow_up_reports": ("follow_up",),
    "follow_up_content": ("follow_up",),
    "investigation_responsibility": ("investigation",),
    "final_report": ("final_report",),
}


def team_log(drill: Drill) -> list[dict[str, Any]]:
    """The team's decisions as plain entries, in order: ``time`` and ``end`` (sim minutes),
    ``incident``, ``kind``, ``step`` (older kinds read as their step), ``to``, ``person`` (the one
    called), ``player`` (who in the room did it), ``result``, and for a note its ``text`` and the
    ``rule`` or ``step`` it names. The clock's advances are left out."""
    out = []
    for d, o in zip(drill.decisions, drill.outcomes, strict=True):
        kind = d.get("kind")
        if kind == "advance":
            continue
        to = d.get("to") or ([d["body"]] if d.get("body") else [])
        entry: dict[str, Any] = {
            "time": o.start,
            "end": o.end,
            "incident": d.get("incident") or "",
            "kind": kind,
            "step": o.detail.get("step") or d.get("step") or "",
            "to": [to] if isinstance(to, str) else list(to),
            "person": o.detail.get("person") or d.get("person") or "",
            "player": str(d.get("player") or ""),
            "result": o.result,
        }
        if kind in ("note", "adhoc"):
            entry.update(text=str(d.get("text", "")), rule=d.get("rule") or "")
            entry["step"] = d.get("step") or ""
        out.append(entry)
    return out


def record_players(drill: Drill) -> list[str]:
    """Per action record of the drill, the player whose decision made it ("" for what the clock
    or the world did): the review's "done by" column."""
    by: dict[int, str] = {}
    for d, o in zip(drill.decisions, drill.outcomes, strict=True):
        if d.get("kind") != "advance":
            for rec in o.records:
                by[id(rec)] = str(d.get("player") or "")
    return [by.get(id(rec), "") for rec in drill.records]


@dataclass(frozen=True)
class Evidence:
    """What the expert group weighs for one rule: its verdicts (measured against allowed, per
    incident), the team's actions on the rule's steps, and the observer notes naming the rule
    or one of its steps."""

    rule: str
    verdicts: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    notes: list[dict[str, Any]]

    def __bool__(self) -> bool:
        return bool(self.verdicts or self.actions or self.notes)


def evidence(card: Scorecard, log: Sequence[dict[str, Any]], rules: Iterable[str]) -> dict:
    """Per rule (:class:`Evidence`): the scorecard's applicable verdicts of the rule, the
    entries of ``log`` (:func:`team_log`) that took one of its steps, and the notes about it."""
    verdicts = card.applicable()
    out: dict[str, Evidence] = {}
    for rule in rules:
        steps = set(RULE_STEPS.get(rule, ()))
        notes = [
            e
            for e in log
            if e["kind"] == "note" and (e.get("rule") == rule or (e.get("step") or "-") in steps)
        ]
        acts = [e for e in log if e["kind"] == "step" and e["step"] in steps]
        vs = [v for v in verdicts if v["rule"] == rule]
        out[rule] = Evidence(rule, vs, acts, notes)
    return out


# -- site rotation and set-up ---------------------------------------------------------------------


def this_year(scenario: Scenario | None = None) -> int:
    """The year a new drill defaults to: the scenario's exam calendar (its first day), else
    today's — a drill is held for the season it rehearses."""
    return labels.calendar_year(scenario.first_day if scenario is not None else None)


def counted(row: dict[str, Any], *, include_reference: bool = False) -> bool:
    """Whether a stored drill counts as a drill of the programme: a team drill (running or
    ended); reference runs of the automatic policy (``kind="auto"``) only when asked."""
    return include_reference or (row.get("kind") or "team") != "auto"


def site_rotation(
    drills: Iterable[dict[str, Any]],
    sites: Iterable[tuple[str, str, str]],
    year: int,
    *,
    include_reference: bool = False,
) -> list[dict[str, Any]]:
    """Each site's last drill in or before ``year``, longest gap first: the plan's rotation
    ("each year one exam site"), the one rule for the drill page's suggestion and the programme.

    ``sites`` are ``(id, name_zh, name_en)`` in the caller's order, which breaks ties; a site
    never drilled comes first. Rows: ``site, name_zh, name_en, last_year, years_since``.
    """
    last: dict[str, int] = {}
    for d in drills:
        if not counted(d, include_reference=include_reference) or not d.get("site"):
            continue
        if int(d.get("year") or 0) > year:
            continue
        last[d["site"]] = max(last.get(d["site"], 0), int(d["year"]))
    rows = [
        {
            "site": sid,
            "name_zh": zh or sid,
            "name_en": en or sid,
            "last_year": last.get(sid),
            "years_since": None if sid not in last else year - last[sid],
        }
        for sid, zh, en in sites
    ]
    order = {r["site"]: n for n, r in enumerate(rows)}
    rows.sort(
        key=lambda r: (r["last_year"] is not None, -(r["years_since"] or 0), order[r["site"]])
    )
    return rows


def suggest_site(rotation: Sequence[dict[str, Any]]) -> str | None:
    """The site drilled longest ago (:func:`site_rotation`'s first row)."""
    return rotation[0]["site"] if rotation else None


def scenario_names(path: str | Path) -> tuple[str, str]:
    """A scenario file's (name_zh, name_en), its file name when it has none."""
    data = load_file(Path(path))
    stem = Path(path).stem
    if not isinstance(data, dict):
        return stem, stem
    return str(data.get("name_zh") or stem), str(data.get("name_en") or stem)


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
    """Store a new running team drill (snapshot, seed, players) and return its id."""
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


def reference_drill(scenario: Scenario, seed: int) -> Scorecard:
    """The plan-compliant policy's run of a drill scenario, scored (``drillsim drill-auto``)."""
    from sim.experiment import run_once

    return Scorecard.of_run(scenario, run_once(scenario, int(seed)))


# -- a live session -------------------------------------------------------------------------------


@dataclass
class DrillSession:
    """A stored drill rebuilt by replay; ``seqs`` are the store's sequence numbers of its decisions."""

    drill_id: int
    row: dict[str, Any]
    scenario: Scenario
    drill: Drill
    seqs: list[int] = field(default_factory=list)
    stale: bool = False  # applied in memory but not stored: must be rebuilt from the store

    @classmethod
    def load(cls, store, drill_id: int, actions: list[dict] | None = None) -> DrillSession:
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

    @property
    def plan(self):
        return self.scenario.plan

    def apply(self, store, decision: dict[str, Any], *, wall: float | None = None) -> Outcome:
        """Take one decision and store it at once; a refused decision (DrillError) stores nothing.

        ``wall`` (wall-clock seconds) is stored with it; in a live drill the decision is taken at
        the simulated minute the wall clock maps to (``at``). Stored only if no other session
        appended first (:class:`sim.store.SeatConflict` otherwise: :func:`act` decides again).
        """
        if self.ended:
            raise DrillError("ended")
        if wall is None and (self.drill.clock["running"] or decision.get("kind") == "clock"):
            wall = time.time()  # a live drill: every decision is taken at the wall clock's minute
        if wall is not None:
            decision = {**decision, "wall": round(float(wall), 3)}
            if self.drill.clock["running"]:
                # rounded for the record, never below where the clock already is
                decision["at"] = max(self.drill.now, round(self.drill.sim_at(float(wall)), 4))
        before = self.drill.now
        out = self.drill.apply(decision)
        try:
            seq = store.append_action(
                self.drill_id,
                sim_minute=before,
                kind=str(decision["kind"]),
                payload=decision,
                expect_seq=(self.seqs[-1] if self.seqs else 0) + 1,
            )
        except Exception:
            self.stale = True  # out of step with the store: the next sync rebuilds
            raise
        self.seqs.append(int(seq))
        return out

    def catch_up(self, wall: float) -> None:
        """A live drill's clock runs on to where the wall clock is (in memory: a replay gets
        there by the next decision's ``at``); a turn-based drill stays where it is."""
        if not self.ended:
            self.drill.run_to(self.drill.sim_at(float(wall)))

    def tick(self, store, minutes: float) -> Outcome | None:
        """Run the clock on by ``minutes``, stopping at the next inject (the auto-run's step).
        A turn-based clock waits while a call rings at a seat (None: nothing done)."""
        if self.drill.ringing() or self.drill.clock["mode"] == "live":
            return None
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
        fresh = DrillSession.load(store, self.drill_id)
        self.row, self.drill, self.seqs = fresh.row, fresh.drill, fresh.seqs
        return last

    # -- the action menu: the plan's procedure, step by step --------------------------------------
    def menu(self, incident: str) -> list[str]:
        """What the team may do for an incident now: the plan's steps (in procedure order), a note."""
        return [*self.drill.steps_for(incident), *MENU_EXTRA]

    def office_steps_waiting(self, incident: str) -> list[str]:
        """The office's steps not offered yet because no report has reached the office (the
        menu says why they are missing, so a team knows what unlocks them)."""
        drill = self.drill
        if drill.office_told(incident) or incident in drill.closed:
            return []
        family = drill.incidents[incident].family
        return [s.id for s in self.plan.procedure if s.by == "office" and s.fits(family)]

    def addressees(self, incident: str, sid: str) -> list[str]:
        """Who the step goes to for this incident (the family's emergency team for ``$teams``)."""
        return list(self.plan.addressees(sid, self.drill.incidents[incident].family))

    def call_chain(self, incident: str, target: str) -> list[str]:
        """The call chain phoned for ``target`` (the same chain the engine works through)."""
        site = self.drill.incidents[incident].site
        return list(self.scenario.roster.chain(call_role(self.drill, target), site))

    def step_decision(
        self,
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
        ``person`` is the one to call for the only phoned addressee — a value not in its chain
        (a widget left from another step) is its first person, ``""`` the whole chain; ``fields``
        are the content form's texts (an empty one counts as missing).
        """
        plan = self.plan
        step = plan.step(sid)
        decision: dict[str, Any] = {"kind": "step", "incident": incident, "step": sid}
        if step.to:
            options = self.addressees(incident, sid)
            wanted = options if to is None else list(to)
            chosen = [x for x in options if x in wanted]
            if not chosen:
                raise DrillError("choose_to", step=sid)
            decision["to"] = chosen
            target = call_target(plan, sid, chosen)
            if target is not None:
                chain = self.call_chain(incident, target)
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
        self, decision: dict[str, Any], out: Outcome
    ) -> tuple[dict[str, Any] | None, bool]:
        """After a call to one person: the same step to the same addressee, calling the next
        person in its chain, when the call went unanswered. Returns (decision or None, whether
        it was unanswered) — unanswered with no one left in the chain is (None, True)."""
        person = decision.get("person")
        if decision.get("kind") != "step" or not person:
            return None, False
        target = call_target(self.plan, decision["step"], decision.get("to") or [])
        if target is None or out.detail.get("reached", {}).get(target) != "failed":
            return None, False
        nxt = next_in_chain(self.call_chain(decision["incident"], target), person)
        if nxt is None:
            return None, True
        return {**decision, "to": [target], "person": nxt}, True

    def last_backup(self) -> dict[str, Any] | None:
        """The backup call to offer now: after the last decision, if it was a call to one person
        that went unanswered (derived from the drill, so a refresh keeps the offer)."""
        if not self.drill.decisions:
            return None
        nxt, _ = self.backup_decision(self.drill.decisions[-1], self.drill.outcomes[-1])
        return nxt

    def expected_checklist(self, incident: str, ref) -> list[tuple[str, bool]]:
        """The trainer's expected actions for an incident, ticking themselves from the records:
        each step of the procedure the plan-compliant policy (``ref``) took for it, in its order,
        and whether the team has taken that step for the incident yet."""
        plan = self.plan
        wanted: list[str] = []
        for a in ref.records:
            if a.incident != incident or a.action not in plan.steps or a.action in wanted:
                continue
            step = plan.step(a.action)
            if step.kind == "event" or a.actor in plan.bodies:
                continue
            if step.by in plan.bodies and step.by != "working_group":
                continue  # an outside body's own step, not the team's
            wanted.append(a.action)
        done = {
            a.action
            for a in self.drill.records
            if a.incident == incident and a.outcome != "failed" and a.action in wanted
        }
        return [(sid, sid in done) for sid in wanted]

    # -- the end --------------------------------------------------------------------------------
    def score(self, reps: int = DEFAULT_REPS) -> Scorecard:
        """The end-of-drill scorecard: the team's verdicts, the automatic policy on the same
        incidents cut at the same minute, and where the team stands among ``reps`` simulated
        runs with the same roster (computed once, here)."""
        card = Scorecard.of_drill(self.drill)
        ref = auto_reference(self.scenario, self.drill.seed, end=self.drill.now)
        measured = measured_by_rule(card.verdicts)
        stand = standing(self.scenario, self.drill.seed, measured, reps) if measured else {}
        return replace(
            card,
            auto_verdicts=[verdict_dict(v) for v in ref.verdicts],
            standing=stand,
            standing_reps=int(reps),
        )

    def end(self, store, reps: int = DEFAULT_REPS) -> Scorecard:
        """Score the drill, store the result (which marks it ended) and return the scorecard."""
        card = self.score(reps)
        store.save_result(self.drill_id, card.to_dict())
        self.row = store.drill(self.drill_id)
        return card

    def result(self, store) -> Scorecard:
        """The stored scorecard of an ended drill (scored and stored now when it has none)."""
        saved = store.result(self.drill_id)
        return Scorecard.from_dict(saved) if isinstance(saved, dict) else self.end(store)


def sync(session: DrillSession | None, store, drill_id: int) -> DrillSession:
    """The drill as the store has it now: ``session`` when nothing changed, else rebuilt by replay."""
    actions = store.actions(int(drill_id))
    if (
        session is not None
        and not session.stale
        and session.drill_id == int(drill_id)
        and session.seqs == [int(a["seq"]) for a in actions]
    ):
        session.row = store.drill(int(drill_id))
        return session
    return DrillSession.load(store, drill_id, actions)


def act(
    store,
    drill_id: int,
    session: DrillSession | None,
    decision: dict[str, Any],
    *,
    wall: float | None = None,
    tries: int = 5,
) -> tuple[DrillSession, Outcome]:
    """Take ``decision`` on the drill as the store has it now, by whichever seat or page: when
    another session appended first, rebuild and decide again (refused then if it no longer
    applies — a call someone else answered). Returns the session as it now is and the outcome."""
    from sim.store import SeatConflict

    for attempt in range(tries):
        session = sync(session, store, drill_id)
        if wall is not None:
            session.catch_up(wall)
        try:
            return session, session.apply(store, decision, wall=wall)
        except SeatConflict:
            if attempt + 1 == tries:
                raise
    raise AssertionError("unreachable")


def latest_running(store) -> int | None:
    """The most recently created running drill, for the projector when no id is given."""
    running = [d for d in store.list_drills() if d.get("status") == "running"]
    return max((int(d["id"]) for d in running), default=None)


def measured_by_rule(verdicts: Iterable[dict[str, Any]]) -> dict[str, float]:
    """Per rule, the team's time to act (mean over incidents) where one was measured."""
    acc: dict[str, list[float]] = {}
    for v in verdicts:
        if v["rule"] in GAP_RULES:
            continue
        if v.get("status") in (MET, MISSED) and v.get("measured_min") is not None:
            acc.setdefault(v["rule"], []).append(float(v["measured_min"]))
    return {rule: sum(ts) / len(ts) for rule, ts in acc.items()}


# -- small rules of the call chain ----------------------------------------------------------------


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


__all__ = [
    "DEFAULT_REPS",
    "GAP_RULES",
    "MENU_EXTRA",
    "RULE_STEPS",
    "DrillSession",
    "Evidence",
    "Scorecard",
    "act",
    "build_snapshot",
    "counted",
    "create_drill",
    "evidence",
    "latest_running",
    "measured_by_rule",
    "reference_drill",
    "site_rotation",
    "suggest_site",
    "sync",
    "team_log",
    "this_year",
]
