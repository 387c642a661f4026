"""The drill programme: one drill a year at one site, checked; sites' gaps; rule trends; open fixes.

The plan (应急演练): "in principle, once a year, choose one exam site and hold one drill under
this plan" (原则上每年根据本预案选择一个考点组织一次应急演练). The working-group office keeps
the programme and revises the plan from what drills show. Only team drills count towards the
programme; reference drills played by the automatic policy (``kind="auto"``) are listed apart,
for they show what the plan allows, not what the college did.

Open improvement items become injects offered for the next year's drill
(:func:`open_items_as_injects`), so a fix gets tested again.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from sim.i18n import label, t
from sim.plan import RULE_IDS, load_plan
from sim.report import OPEN_STATUSES, rebuild
from sim.session import Scorecard, counted, site_rotation
from sim.store import StoreError
from sim.yamlio import InputError, load_text

STATUSES = ("held", "several", "missed", "due", "future")


SCENARIO_DIR = Path(__file__).resolve().parent.parent / "scenarios"


def programme_year(paths: Iterable[str | Path] | None = None) -> int:
    """The programme's current year: the latest exam calendar among the scenarios (the season
    being prepared — the shipped ones when ``paths`` is None), else today's year. The pages and
    the command line default to it, so a drill is never filed a year before its calendar."""
    from sim.labels import calendar_year
    from sim.yamlio import load_file

    years = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")) if paths is None else paths:
        try:
            data = load_file(path)
        except InputError:  # a broken file only loses its year here
            continue
        first = (data.get("calendar") or {}).get("first_day") if isinstance(data, dict) else None
        if first is not None:
            years.append(calendar_year(first, default=0))
    return max((y for y in years if y), default=_dt.date.today().year)


def _this_year() -> int:
    """The year ``this_year`` defaults to when a caller gives none: :func:`programme_year`."""
    return programme_year()


def programme_table(
    store,
    first_year: int,
    last_year: int,
    *,
    this_year: int | None = None,
    include_reference: bool = False,
) -> pd.DataFrame:
    """One row a year: drills held, their sites, reference runs, and the plan's check.

    ``status`` is ``held`` (one drill), ``several`` (more than one — allowed, noted), ``missed``
    (a past year without a drill), ``due`` (this year, none yet) or ``future``. ``met`` is False
    only for missed years.
    """
    if last_year < first_year:
        raise ValueError("last_year must not be before first_year")
    this_year = this_year or _this_year()
    drills = store.list_drills()
    rows = []
    for year in range(first_year, last_year + 1):
        in_year = [d for d in drills if int(d.get("year", 0)) == year]
        held = sorted(
            (d for d in in_year if counted(d, include_reference=include_reference)),
            key=lambda d: d["id"],
        )
        reference = [d for d in in_year if (d.get("kind") or "team") == "auto"]
        if len(held) > 1:
            status = "several"
        elif held:
            status = "held"
        elif year < this_year:
            status = "missed"
        elif year == this_year:
            status = "due"
        else:
            status = "future"
        rows.append(
            {
                "year": year,
                "drills": len(held),
                "sites": sorted({d.get("site", "") for d in held}),
                "drill_ids": [int(d["id"]) for d in held],
                "reference": len(reference),
                "status": status,
                "met": status != "missed",
            }
        )
    return pd.DataFrame(
        rows, columns=["year", "drills", "sites", "drill_ids", "reference", "status", "met"]
    )


def missed_years(table: pd.DataFrame) -> list[int]:
    return [int(y) for y in table.loc[table["status"] == "missed", "year"]]


def _snapshot_text(store, row: dict) -> str | None:
    """A drill row's scenario snapshot, read from the store when the list row lacks it."""
    text = row.get("scenario_text")
    if text is None:
        try:
            text = store.drill(row["id"]).get("scenario_text")
        except Exception:  # noqa: BLE001 - an unreadable row only loses its names
            text = None
    return text


def known_sites(store, extra: Iterable[tuple[str, str, str]] = ()) -> dict[str, tuple[str, str]]:
    """Site id -> (name_zh, name_en): from the stored drills' scenario snapshots, plus ``extra``."""
    sites: dict[str, tuple[str, str]] = {}
    for d in store.list_drills():
        text = _snapshot_text(store, d)
        for s in _snapshot_sites(text):
            sites.setdefault(s[0], (s[1], s[2]))
        if d.get("site"):
            sites.setdefault(d["site"], (d["site"], d["site"]))
    for sid, zh, en in extra:
        sites[sid] = (zh or sid, en or sid)
    return sites


def scenario_titles(store) -> dict[int, tuple[str, str]]:
    """Drill id -> the scenario's (name_zh, name_en) from its snapshot (the id's name if absent)."""
    out: dict[int, tuple[str, str]] = {}
    for d in store.list_drills():
        text = _snapshot_text(store, d)
        name = d.get("scenario_name") or ""
        try:
            data = load_text(text, f"drill {d['id']}") if text else {}
        except InputError:
            data = {}
        data = data if isinstance(data, dict) else {}
        out[int(d["id"])] = (data.get("name_zh") or name, data.get("name_en") or name)
    return out


def _snapshot_sites(text: str | None) -> list[tuple[str, str, str]]:
    if not text:
        return []
    try:
        data = load_text(text, "<snapshot>")
        raw = (data.get("calendar") or {}).get("sites") or []
    except (InputError, AttributeError):
        return []
    return [
        (s["id"], s.get("name_zh", s["id"]), s.get("name_en", s["id"]))
        for s in raw
        if isinstance(s, dict) and "id" in s
    ]


def site_gaps(
    store,
    *,
    this_year: int | None = None,
    sites: Iterable[tuple[str, str, str]] = (),
    include_reference: bool = False,
) -> pd.DataFrame:
    """Each known site's last drill year and years since, longest gap first (never-drilled first,
    ties by site id): :func:`sim.session.site_rotation` over every site the store knows.

    ``sites`` adds sites that may never have been drilled, as ``(id, name_zh, name_en)``.
    """
    this_year = this_year or _this_year()
    names = known_sites(store, sites)
    rows = site_rotation(
        store.list_drills(),
        [(sid, zh, en) for sid, (zh, en) in sorted(names.items())],
        this_year,
        include_reference=include_reference,
    )
    return pd.DataFrame(rows, columns=["site", "name_zh", "name_en", "last_year", "years_since"])


def longest_without(gaps: pd.DataFrame) -> list[str]:
    """The site ids tied for the longest time without a drill (never drilled counts as longest)."""
    if gaps.empty:
        return []
    never = gaps[gaps["last_year"].isna()]
    if not never.empty:
        return list(never["site"])
    top = gaps["years_since"].max()
    return list(gaps.loc[gaps["years_since"] == top, "site"])


def drill_scorecard(store, row: dict[str, Any]) -> Scorecard:
    """A stored drill's scorecard: its saved result when it has one, else replayed from the store."""
    saved = store.result(int(row["id"]))
    if isinstance(saved, dict) and isinstance(saved.get("verdicts"), list):
        return Scorecard.from_dict(saved)
    full = store.drill(int(row["id"])) if "scenario_text" not in row else row
    actions = store.actions(int(row["id"])) if (full.get("kind") or "team") != "auto" else []
    return rebuild(full, actions).scorecard


def drill_verdicts(store, row: dict[str, Any]) -> list[dict[str, Any]]:
    """A stored drill's verdicts (:func:`drill_scorecard`), those that name a rule and a status."""
    return [v for v in drill_scorecard(store, row).verdicts if "rule" in v and "status" in v]


def rule_trend(
    store,
    first_year: int,
    last_year: int,
    *,
    include_reference: bool = False,
) -> pd.DataFrame:
    """Per year and plan rule: met, missed and applicable incidents, and the share met.

    Long format (``year, rule, met, missed, applicable, met_share``); a rule applicable to no
    incident that year has ``met_share`` NaN.
    """
    acc: dict[tuple[int, str], list[int]] = {}
    for d in store.list_drills():
        year = int(d.get("year", 0))
        if not (first_year <= year <= last_year) or not counted(
            d, include_reference=include_reference
        ):
            continue
        try:
            found = drill_verdicts(store, d)
        except StoreError:  # one damaged result leaves the others' trend (its page names it)
            continue
        for v in found:
            if v["status"] in ("met", "missed"):
                cell = acc.setdefault((year, v["rule"]), [0, 0])
                cell[0 if v["status"] == "met" else 1] += 1
    rows = []
    for year in range(first_year, last_year + 1):
        for rule in RULE_IDS:
            met, missed = acc.get((year, rule), (0, 0))
            n = met + missed
            rows.append(
                {
                    "year": year,
                    "rule": rule,
                    "met": met,
                    "missed": missed,
                    "applicable": n,
                    "met_share": met / n if n else float("nan"),
                }
            )
    return pd.DataFrame(rows, columns=["year", "rule", "met", "missed", "applicable", "met_share"])


def trend_pivot(trend: pd.DataFrame, lang: str = "zh", plan=None) -> pd.DataFrame:
    """Years × rule labels of met share (for a line chart); rules never applicable are dropped."""
    plan = plan or load_plan()
    if trend.empty:
        return pd.DataFrame()
    used = trend.groupby("rule")["applicable"].sum()
    keep = [r for r in RULE_IDS if used.get(r, 0) > 0]
    pivot = trend[trend["rule"].isin(keep)].pivot(index="year", columns="rule", values="met_share")
    pivot = pivot[keep]
    pivot.columns = [label(plan, "rules", r, lang) for r in keep]
    pivot.index = [str(y) for y in pivot.index]
    return pivot


def open_items_as_injects(store, *, lang: str | None = None, plan=None) -> list[dict[str, Any]]:
    """Open improvement items as injects for the next drill, oldest due first.

    Each: ``item_id, drill_id, year, site, scenario_name, families, rule_id, action, owner_role,
    due, status, text_zh, text_en`` (and ``text`` in ``lang`` when given). ``families`` are the
    incident families of the drill that found the gap, so the setup page can offer the same kind
    of incident again; ``rule_id`` is the rule to watch.
    """
    plan = plan or load_plan()
    rows_cache: dict[int, dict[str, Any]] = {}
    out = []
    for it in store.improvements(open_only=True):
        if it.get("status", "open") not in OPEN_STATUSES:  # a status added to the store later
            continue
        did = int(it["drill_id"])
        if did not in rows_cache:
            try:
                rows_cache[did] = dict(store.drill(did))
            except Exception:  # noqa: BLE001 - an item whose drill is gone still counts
                rows_cache[did] = {}
        row = rows_cache[did]
        rule = it.get("rule_id")
        texts = {}
        for lg in ("zh", "en"):
            key = "prog_inject_text" if rule else "prog_inject_text_general"
            target = label(plan, "rules", rule, lg) if rule else ""
            texts[lg] = t(
                key,
                lg,
                target=target,
                year=row.get("year", "?"),
                drill=did,
                action=it.get("action", ""),
            )
        entry = {
            "item_id": int(it["id"]),
            "drill_id": did,
            "year": row.get("year"),
            "site": row.get("site"),
            "scenario_name": row.get("scenario_name"),
            "families": _snapshot_families(row.get("scenario_text")),
            "rule_id": rule,
            "action": it.get("action", ""),
            "owner_role": it.get("owner_role", ""),
            "due": it.get("due"),
            "status": it.get("status", "open"),
            "text_zh": texts["zh"],
            "text_en": texts["en"],
        }
        if lang:
            entry["text"] = texts[lang]
        out.append(entry)
    out.sort(key=lambda e: (str(e["due"] or "9999"), e["item_id"]))
    return out


def _snapshot_families(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        data = load_text(text, "<snapshot>")
        incs = data.get("incidents") or []
    except (InputError, AttributeError):
        return []
    return sorted({i["family"] for i in incs if isinstance(i, dict) and "family" in i})


__all__ = [
    "STATUSES",
    "programme_year",
    "counted",
    "drill_scorecard",
    "drill_verdicts",
    "known_sites",
    "longest_without",
    "missed_years",
    "open_items_as_injects",
    "programme_table",
    "rule_trend",
    "scenario_titles",
    "site_gaps",
    "trend_pivot",
]
