"""The programme: one drill a year at one site, missed years, sites' gaps, rule trends, open items."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim.drill import Drill, scenario_from_text, snapshot_text
from sim.plan import RULE_IDS
from sim.programme import (
    drill_verdicts,
    longest_without,
    missed_years,
    open_items_as_injects,
    programme_table,
    rule_trend,
    site_gaps,
    trend_pivot,
)
from sim.store import DrillStore

TEXT = snapshot_text(Path("scenarios/drill_answer_sheet_loss.yaml"))


def verdicts(met: list[str], missed: list[str]) -> dict:
    return {
        "verdicts": [{"incident": "x", "rule": r, "status": "met"} for r in met]
        + [{"incident": "x", "rule": r, "status": "missed"} for r in missed]
        + [{"incident": "x", "rule": "deputy_leader_on_site_I", "status": "n/a"}]
    }


def add(
    store: DrillStore, year: int, site: str, *, kind: str = "team", result: dict | None = None
) -> int:
    drill_id = store.create_drill(
        year=year,
        site=site,
        scenario_name="drill_answer_sheet_loss",
        scenario_text=TEXT,
        seed=year,
        kind=kind,
    )
    if result is not None:
        store.save_result(drill_id, result)
    return drill_id


@pytest.fixture
def store(tmp_path):
    s = DrillStore(tmp_path / "drills.sqlite")
    add(
        s,
        2023,
        "site_a",
        result=verdicts(["first_report_3h", "final_report"], ["office_informs_leaders"]),
    )
    add(
        s, 2024, "site_c", kind="auto", result=verdicts(list(RULE_IDS[:2]), [])
    )  # a reference run only
    add(s, 2025, "site_b", result=verdicts(["first_report_3h", "office_informs_leaders"], []))
    add(s, 2025, "site_b", result=verdicts([], ["first_report_3h"]))
    return s


def test_one_drill_a_year_checked(store):
    table = programme_table(store, 2022, 2027, this_year=2026)
    status = dict(zip(table["year"], table["status"], strict=True))
    assert status == {
        2022: "missed",
        2023: "held",
        2024: "missed",
        2025: "several",
        2026: "due",
        2027: "future",
    }
    assert missed_years(table) == [2022, 2024]
    assert list(table.loc[table["year"] == 2025, "drills"]) == [2]
    assert list(table.loc[table["year"] == 2024, "reference"]) == [1]
    assert table.loc[table["year"] == 2023, "sites"].item() == ["site_a"]
    assert (
        not table.loc[table["year"] == 2022, "met"].item()
        and table.loc[table["year"] == 2026, "met"].item()
    )


def test_reference_runs_count_only_when_asked(store):
    table = programme_table(store, 2024, 2024, this_year=2026, include_reference=True)
    assert table["status"].tolist() == ["held"]


def test_sites_longest_without_a_drill(store):
    gaps = site_gaps(store, this_year=2026, sites=[("site_d", "第四考点", "Site D")])
    assert gaps["site"].tolist()[:2] == ["site_c", "site_d"]  # never drilled first, then by id
    rest = gaps.iloc[2:]
    assert rest["site"].tolist() == ["site_a", "site_b"]
    assert rest["years_since"].tolist() == [3, 1]
    assert set(longest_without(gaps)) == {
        "site_c",
        "site_d",
    }  # never drilled (site_c had a reference run only)
    assert gaps.set_index("site").loc["site_a", "name_zh"] == "第一考点（主校区）"
    drilled = site_gaps(store, this_year=2026, include_reference=True)
    assert drilled.set_index("site").loc["site_c", "years_since"] == 2
    assert longest_without(drilled) == ["site_a"]


def test_rule_trend_counts_met_and_missed_per_year(store):
    trend = rule_trend(store, 2023, 2025).set_index(["year", "rule"])
    assert trend.loc[(2023, "first_report_3h"), ["met", "missed", "applicable"]].tolist() == [
        1,
        0,
        1,
    ]
    assert trend.loc[(2023, "office_informs_leaders"), "met_share"] == 0
    assert trend.loc[(2025, "first_report_3h"), ["met", "missed"]].tolist() == [1, 1]
    assert trend.loc[(2025, "first_report_3h"), "met_share"] == 0.5
    assert math.isnan(
        trend.loc[(2024, "first_report_3h"), "met_share"]
    )  # the reference run is left out
    assert math.isnan(trend.loc[(2023, "deputy_leader_on_site_I"), "met_share"])  # n/a never counts
    pivot = trend_pivot(trend.reset_index(), "zh")
    assert list(pivot.index) == ["2023", "2024", "2025"]
    assert "首报不得超过3小时" in pivot.columns and "Ⅰ级事件副组长带队赴事发地" not in pivot.columns


def test_a_drill_without_a_saved_result_is_replayed(tmp_path):
    s = DrillStore(tmp_path / "d.sqlite")
    drill_id = add(s, 2027, "site_a")
    scenario = scenario_from_text(TEXT)
    drill = Drill(scenario, 2027)
    for d in ({"kind": "advance", "to": drill.next_inject_at()},):
        drill.apply(d)
        s.append_action(drill_id, sim_minute=drill.now, kind=d["kind"], payload=d)
    expected = Drill.replay(scenario, 2027, drill.decisions).scorecard().verdicts
    row = next(r for r in s.list_drills() if r["id"] == drill_id)
    assert drill_verdicts(s, row) == expected


def test_open_items_become_injects_for_next_year(store):
    first = store.list_drills(2023)[0]["id"]
    later = store.list_drills(2025)[0]["id"]
    a = store.add_improvement(
        first,
        action="Train the duty desk",
        owner_role="duty_desk",
        due="2026-05-01",
        rule_id="office_informs_leaders",
    )
    b = store.add_improvement(
        later, action="Update the contact list", owner_role="office_director", due="2026-03-01"
    )
    c = store.add_improvement(
        later,
        action="Done already",
        owner_role="leader",
        due="2025-12-01",
        rule_id="first_report_3h",
    )
    store.update_improvement(c, status="done")
    d = store.add_improvement(
        later, action="Being fixed", owner_role="leader", due="2026-04-01", status="in_progress"
    )
    injects = open_items_as_injects(store, lang="en")
    assert [i["item_id"] for i in injects] == [b, d, a]  # earliest due first; done items left out
    first_inject = injects[-1]
    assert (
        first_inject["drill_id"] == first
        and first_inject["year"] == 2023
        and first_inject["site"] == "site_a"
    )
    assert first_inject["rule_id"] == "office_informs_leaders" and first_inject["families"] == [
        "answer_sheet_loss"
    ]
    assert (
        "Office informs leader" in first_inject["text_en"]
        and "Train the duty desk" in first_inject["text"]
    )
    assert "办公室接报后立即报组长、副组长" in first_inject["text_zh"]
    assert "Update the contact list" in injects[0]["text_en"]


def test_the_year_defaults_come_from_the_scenarios_calendar_not_today(tmp_path, monkeypatch):
    """The programme's year and a reference drill's year (``drill-auto`` without ``--year``)
    are the exam calendar's (2027 in the shipped scenarios), whatever today's date is."""
    import datetime as dt

    from sim.cli import main
    from sim.programme import programme_year

    class Y2026(dt.date):
        @classmethod
        def today(cls):
            return cls(2026, 3, 1)

    monkeypatch.setattr(dt, "date", Y2026)
    assert programme_year() == 2027
    assert programme_year([]) == 2026  # no calendar: today's year
    db = tmp_path / "d.sqlite"
    root = Path(__file__).resolve().parent.parent / "scenarios" / "drill_leak.yaml"
    main(["drill-auto", str(root), "--site", "site_c", "--db", str(db), "--json"])
    store = DrillStore(db)
    try:
        assert [d["year"] for d in store.list_drills()] == [2027]
        # this_year from the calendar: the reference drill was this year, 0 years since
        gaps = site_gaps(store, include_reference=True)
        assert int(gaps.loc[gaps["site"] == "site_c", "years_since"].iloc[0]) == 0
    finally:
        store.close()
