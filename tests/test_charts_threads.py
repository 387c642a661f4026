"""Charts are drawn without pyplot's global state, so sessions exporting at once cannot garble
each other's chart (one Chinese PDF export of 11 once had its markers off their lanes and its
title over the plot: two sessions drawing on pyplot's one "current figure").

A chart is the same bytes whether it is drawn alone or while other threads draw other charts.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - only to check that nothing is left in it

from sim.charts import timeline_figure  # noqa: E402
from sim.drill import auto_reference, scenario_from_text, snapshot_text  # noqa: E402
from sim.report import chart_png  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _drills():
    """Two drills' records and scenarios (two incident shapes, so the charts differ)."""
    out = []
    for name, seed in (("drill_answer_sheet_loss", 3), ("drill_leak", 1)):
        sc = scenario_from_text(snapshot_text(ROOT / "scenarios" / f"{name}.yaml"), name)
        out.append((auto_reference(sc, seed).records, sc))
    return out


def test_a_chart_is_not_a_pyplot_figure():
    records, sc = _drills()[0]
    before = plt.get_fignums()
    fig = timeline_figure(records, sc.plan, "zh")
    assert plt.get_fignums() == before, "timeline_figure registered a figure with pyplot"
    assert fig.canvas is not None and fig.axes and fig.axes[0].get_title()


def test_two_sessions_exporting_at_once_get_the_same_charts_as_one_alone():
    drills = _drills()
    jobs = [(n, lang) for n in range(len(drills)) for lang in ("zh", "en")]

    def png(job: tuple[int, str]) -> bytes:
        n, lang = job
        records, sc = drills[n]
        return chart_png(list(records), sc, lang, dpi=80)

    alone = {job: png(job) for job in jobs}
    assert len(set(alone.values())) == len(jobs)  # four different charts
    assert all(png(job) == alone[job] for job in jobs)  # drawing is deterministic
    with ThreadPoolExecutor(max_workers=2) as pool:
        many = jobs * 4
        together = list(pool.map(png, many))
    wrong = [job for job, got in zip(many, together, strict=True) if got != alone[job]]
    assert not wrong, f"{len(wrong)} of {len(many)} charts drawn at once differ from alone"


def _planner_pngs(comp, sw, sz, lang: str) -> list[bytes]:
    """Every planner figure of one comparison, sweep and sizing, as PNG bytes."""
    from sim.charts import figure_png
    from sim.figures import (
        diff_figure,
        ecdf_figure,
        load_figure,
        share_figure,
        sizing_figure,
        sweep_figure,
    )

    figs = [
        share_figure(comp, lang),
        diff_figure(comp, lang),
        ecdf_figure(comp, "first_report_3h", lang),
        load_figure(comp, lang),
        sweep_figure(sw, lang),
        sizing_figure(sz, None, lang),
    ]
    return [figure_png(fig, dpi=60) for fig in figs]


def test_planner_figures_drawn_at_once_are_the_same_as_alone_and_not_in_pyplot(tmp_path):
    from sim.compare import compare
    from sim.scenario import load_scenario
    from sim.search import Axis, size_grid, sweep
    from sim.variants import load_variant

    base = load_scenario(ROOT / "scenarios" / "season_2027.yaml")
    night = load_variant(str(ROOT / "scenarios" / "variants" / "night_duty_officer.yaml"))
    comp = compare(base, [night], 10, 1, workers=1)
    sw = sweep(base, "timing.written_report_minutes", [30, 150], 10, 1, workers=1)
    sz = size_grid(
        base,
        [
            Axis("extra_duty_desk", "duty_desk", (0, 1)),
            Axis("extra_ec", "emergency_contact", (0, 1)),
        ],
        {"emergency_contact_III_plus": 0.9},
        10,
        1,
        workers=1,
        exhaustive=True,
    )
    before = plt.get_fignums()
    alone = {lang: _planner_pngs(comp, sw, sz, lang) for lang in ("zh", "en")}
    assert plt.get_fignums() == before, "a planner figure registered itself with pyplot"
    with ThreadPoolExecutor(max_workers=2) as pool:
        many = ["zh", "en"] * 3
        together = list(pool.map(lambda lang: _planner_pngs(comp, sw, sz, lang), many))
    wrong = [lang for lang, got in zip(many, together, strict=True) if got != alone[lang]]
    assert not wrong, f"{len(wrong)} of {len(many)} sets drawn at once differ from alone"
    assert plt.get_fignums() == before, "figures were left in pyplot"
    # the CLI's and notebooks' writer: files, and still nothing in pyplot
    from sim.figures import save_figures

    written = save_figures(comp, tmp_path / "c.png", "zh")
    assert len(written) == 4 and all(p.stat().st_size > 1000 for p in written)
    assert plt.get_fignums() == before


def test_the_timeline_numbers_incidents_as_the_pages_do():
    """An inject sent early (its first record before an earlier incident's) keeps the number
    the pages give it: the chart takes the pages' names, not its own record order."""
    from types import SimpleNamespace

    from sim.charts import timeline_figure
    from sim.labels import incident_names
    from sim.records import Action

    records = [
        Action(600.0, "late", "site", "discovered", "", "site_a", "", ""),
        Action(700.0, "early", "site", "discovered", "", "site_a", "", ""),
    ]
    incidents = [
        SimpleNamespace(id="early", at=650.0, family="leak"),
        SimpleNamespace(id="late", at=900.0, family="leak"),
    ]
    names = incident_names(incidents, "en", short=True)
    fig = timeline_figure(records, None, "en", names=names)
    ticks = [tick.get_text() for tick in fig.axes[0].get_yticklabels()]
    assert any(x.startswith("Incident 1") and "discovered" not in x for x in ticks)
    early_rows = [x for x in ticks if x.startswith(names["early"] + " ·")]
    assert early_rows and names["early"] == "Incident 1"
    assert ticks[0].startswith("Incident 1")  # rows are by id: "early" first
    # without names: numbered by when each first appears in the records ("late" first)
    default = timeline_figure(records, None, "en")
    assert [x.get_text() for x in default.axes[0].get_yticklabels()][0].startswith("Incident 2")
