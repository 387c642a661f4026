"""Every page in Chinese shows words, never ids: a walk of every page (Streamlit AppTest) with a
drill in progress, an ended team drill and a stored reference drill.

All visible text is collected — Markdown, captions, titles, metrics, widget labels, options and
placeholders, table headers and cells (a data editor's as the browser shows them, through its
column labels and option labels) — and checked for the plan's and the scenarios' ids (incident
families, duty states, rule, step, role, body, site and person ids, stored incident ids,
variant ids, scenario file stems, dotted parameter paths), the engine's "D0" clock, "None",
"nan", unrounded numbers and English words outside a short allow-list.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sim import session as ds
from sim.plan import FAMILIES, load_plan
from sim.scenario import load_scenario
from sim.session import DrillSession
from sim.store import DrillStore

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
SHEETS = SCENARIOS / "drill_answer_sheet_loss.yaml"
LEAK = SCENARIOS / "drill_leak.yaml"

#: English a Chinese page may show: file formats and tools by their own names, the language
#: switch's "English", the evaluation scale's HSEEP, the cluster address example.
ALLOWED_WORDS = {
    "PDF", "CSV", "JSON", "SQLite", "HTML", "Markdown", "MD", "XLSX", "Excel", "YAML", "YML",
    "English", "HSEEP", "Dask", "age", "tcp", "host",
}  # fmt: skip
#: Data-editor columns whose cells are what the user types as identifiers or English names:
#: a person's id, a call chain of ids, a person's English name.
FREE_TEXT_COLUMNS = {"plan_col_id", "plan_col_chain", "plan_col_name_en"}
#: Streamlit's own words that no parameter translates (the file uploader's button and limit).
STREAMLIT_OWN = ("Upload", "Drag and drop", "per file")

_PATH = re.compile(r"[\w.-]+(?:/[\w.*-]+)+(?:\.\w+)?")  # a file path or a URL's tail
_ICON = re.compile(r":material/\w+:|<[^>]*>")  # an icon or an HTML tag (layout, not words)
_DOTTED = re.compile(r"\b[a-z_]+\.[a-z_*]+(?:\.[a-z_*]+)+\b")
_ENGINE_CLOCK = re.compile(r"\bD\d+\b")
_RAW_NUMBER = re.compile(r"(?<![\d.])\d+\.\d{3,}\b")


def _ids() -> set[str]:
    """Every identifier the pages could leak: from the plan, the scenarios and the variants."""
    plan = load_plan()
    out = set(FAMILIES) | set(plan.roles) | set(plan.bodies) | set(plan.rules) | set(plan.steps)
    out |= {"on_duty", "on_call", "off_duty", "sheets_lost", "paper_leak", "g1", "g2"}
    out |= {p.stem for p in SCENARIOS.glob("*.yaml")}
    out |= {p.stem for p in (SCENARIOS / "variants").glob("*.yaml")}
    for path in (SHEETS, LEAK, SCENARIOS / "season_2027.yaml"):
        sc = load_scenario(path)
        out |= {s.id for s in sc.sites} | {p.id for p in sc.roster.people}
        out |= {i.id for i in sc.incidents}
    return {x for x in out if len(x) > 2 or re.fullmatch(r"[a-z]\d", x)}


IDS = _ids()


def _cells(node) -> list[tuple[str, str]]:
    """A table's header and cells as shown: a column's label and an option's label replace
    the raw ones (a data editor's column_config), hidden columns left out."""
    df = node.value
    config: dict = {}
    raw = getattr(node.proto, "columns", "")
    if raw:
        try:
            config = json.loads(raw)
        except (TypeError, ValueError):
            config = {}
    out = []
    for col in df.columns:
        cfg = config.get(str(col)) or config.get(f"_col:{col}") or {}
        if cfg.get("hidden"):
            continue
        head = str(cfg.get("label") or col)
        options = {
            str(o.get("value")): str(o.get("label"))
            for o in (cfg.get("type_config") or {}).get("options") or []
            if isinstance(o, dict) and "label" in o
        }
        shown = (cfg.get("type_config") or {}).get("display_text")  # a link column's text
        out.append((head, head))
        for v in df[col].tolist():
            out.append((head, shown or options.get(str(v), "" if v is None else str(v))))
    return out


def visible_text(at: AppTest) -> list[tuple[str, str]]:
    """(where, text) for everything a page shows; ``where`` is the element (and column)."""
    out: list[tuple[str, str]] = []

    def walk(node) -> None:
        kind = type(node).__name__
        proto = getattr(node, "proto", None)
        if kind in ("Dataframe", "Table"):
            out.extend((f"{kind}[{head}]", text) for head, text in _cells(node))
        elif proto is not None:
            for name in ("label", "body", "placeholder"):
                value = getattr(proto, name, None)
                if isinstance(value, str) and value and kind == "Html" and name == "body":
                    # an HTML block (the coloured boards) as the browser shows it: its text
                    # cells, without style sheets, tags or attributes
                    value = re.sub(r"<style>.*?</style>", " ", value, flags=re.S)
                    out.extend(
                        (f"{kind}.text", html.unescape(x.strip()))
                        for x in re.split(r"<[^>]*>", value)
                        if x.strip()
                    )
                elif isinstance(value, str) and value:
                    out.append((f"{kind}.{name}", value))
            options = getattr(proto, "options", None)
            if options is not None and not isinstance(options, str):
                for o in options:
                    text = o if isinstance(o, str) else getattr(o, "content", None) or str(o)
                    out.append((f"{kind}.option", str(text)))
            if kind == "Metric":
                out.append(("Metric.value", str(node.value)))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(at._tree)
    return out


def problems(found: list[tuple[str, str]]) -> list[str]:
    """What a Chinese page must not show, one line per finding."""
    from sim.i18n import t

    free = {t(k, "zh") for k in FREE_TEXT_COLUMNS}
    bad = []
    for where, text in found:
        if any(f"[{h}]" in where for h in free) or any(s in text for s in STREAMLIT_OWN):
            continue
        if text in ("None", "nan", "NaN"):
            bad.append(f"{where}: {text!r}")
            continue
        for pattern, what in (
            (_ENGINE_CLOCK, "engine clock"),
            (_DOTTED, "dotted path"),
            (_RAW_NUMBER, "unrounded number"),
        ):
            if m := pattern.search(text):
                bad.append(f"{where}: {what} {m[0]!r} in {text[:80]!r}")
        plain = _PATH.sub(" ", _ICON.sub(" ", text))
        for token in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", plain):
            if token in IDS:
                bad.append(f"{where}: id {token!r} in {text[:80]!r}")
            elif len(token) >= 3 and token not in ALLOWED_WORDS and not token.isupper():
                bad.append(f"{where}: English {token!r} in {text[:80]!r}")
    return bad


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> str:
    """A store with a drill in progress, an ended team drill and a reference drill."""
    path = tmp_path_factory.mktemp("walk") / "drills.sqlite"
    store = DrillStore(path)
    for generated, end in ((False, True), (True, False)):
        drill_id = ds.create_drill(
            store, year=2027, site="site_b", path=SHEETS, seed=3, lang="zh",
            players={"leader": "测试员甲"}, generated=generated,
        )  # fmt: skip
        live = DrillSession.load(store, drill_id)
        live.apply(store, {"kind": "advance", "to": live.drill.next_inject_at()})
        inc = next(iter(live.drill.discovered))
        for sid in ("control", "verbal_report", "graded"):
            live.apply(store, live.step_decision(inc, sid, level="III"))
        live.apply(store, {"kind": "note", "incident": inc, "text": "记录"})
        if end:
            live.end(store, reps=20)
    store.close()
    from sim.cli import main

    main(["drill-auto", str(LEAK), "--site", "site_c", "--year", "2026", "--db", str(path)])
    return str(path)


PAGES = [
    ("app.py", {}),  # the drill page's set-up
    ("app.py", {"drill": "2"}),  # a drill in progress
    ("app.py", {"drill": "1"}),  # an ended drill's scorecard
    ("ui/projector.py", {"drill": "2"}),
    ("ui/planner.py", {}),
    ("ui/programme.py", {}),
    ("ui/review.py", {"drill": "1"}),
    ("ui/review.py", {"drill": "3"}),
]


def render(page: str, params: dict[str, str], lang: str = "zh") -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=120)
    at.session_state["lang"] = lang
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize(("page", "params"), PAGES, ids=[f"{p}{q}" for p, q in PAGES])
def test_every_page_in_chinese_shows_no_ids_and_no_english(page, params, store_path, monkeypatch):
    monkeypatch.setenv("DRILLSIM_DB", store_path)
    found = visible_text(render(page, params))
    assert len(found) > 20, "the page showed almost nothing"
    bad = problems(found)
    assert not bad, f"{len(bad)} findings on {page} {params}:\n" + "\n".join(sorted(set(bad)))


def test_the_walk_finds_what_it_looks_for():
    """The checker itself: each kind of leak is caught, the allowed words are not."""
    assert problems([("Markdown.body", "sheets_lost · 第1天 09:00")])
    assert problems([("Table[时间]", "D0 09:40")])
    assert problems(
        [("Selectbox.option", "非值班接听概率 (roster.reachability.off_duty.answer_prob)")]
    )
    assert problems([("Dataframe[实测]", "120.558")]) and problems([("Dataframe[x]", "None")])
    assert problems([("Caption.body", "无法执行: no drill with id 999")])
    assert not problems([("Caption.body", "导出 PDF、CSV（Excel）或 scenarios/variants/README.md")])


def planner_after_runs(lang: str = "zh") -> AppTest:
    """The planner page after a pilot, a comparison, a staffing search and a sweep, with few
    replications: variants of every kind (people added, duty changed, a step moved, a plan
    clock, answering and travel, an edited roster), so every table and summary is filled."""
    from sim.i18n import t

    stem = "season_2027"
    at = AppTest.from_file(str(ROOT / "ui" / "planner.py"), default_timeout=120)
    at.session_state["lang"] = lang
    at.session_state[f"plan_people_{stem}"] = {
        "edited_rows": {0: {"p_on_call": 0.99, "default_state": "on_duty"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.session_state[f"plan_calendar_{stem}"] = {
        "edited_rows": {},
        "added_rows": [
            {"person": "leader", "days": "0,1", "from": "07:00", "to": "19:00", "state": "on_duty"}
        ],
        "deleted_rows": [],
    }
    at.run()
    chosen = at.multiselect(key="plan_files")
    for name in ("night_duty_officer", "contacts_on_duty", "desk_makes_verbal_reports",
                 "second_writer_site_c", "slow_night_answers"):  # fmt: skip
        chosen = chosen.select(name)
    at.checkbox(key="plan_clock_on").check()
    at.number_input(key="plan_reps").set_value(10)
    at.number_input(key="plan_workers").set_value(1)
    at.number_input(key="plan_pilot_reps").set_value(20)
    at = at.run().button(key="plan_pilot_btn").click().run()
    at = at.button(key="plan_run_btn").click().run()
    at.number_input(key="plan_size_max1").set_value(1)
    at.number_input(key="plan_size_max2").set_value(1)
    at.number_input(key="plan_size_reps").set_value(10)
    at = at.button(key="FormSubmitter:plan_size_form-" + t("plan_size_btn", lang)).click().run()
    at.text_input(key="plan_sweep_values").set_value("30, 150")
    at.number_input(key="plan_sweep_reps").set_value(10)
    at = at.button(key="FormSubmitter:plan_sweep_form-" + t("plan_sweep_btn", lang)).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_planner_in_chinese_after_a_comparison_a_sizing_and_a_sweep():
    """Result tables (rules, roles, why missed, pilot, staffing grid, sweep), verdicts, lever
    warnings and variant summaries show words, never ids or the frames' column keys."""
    at = planner_after_runs("zh")
    state = at.session_state
    assert state["plan_result"] and state["plan_size_result"] and state["plan_sweep_result"]
    assert state["plan_precision"] is not None
    assert len(at.dataframe) >= 6  # pilot, results, why missed, rules, roles, grid, sweep
    found = visible_text(at)
    bad = problems(found)
    assert not bad, f"{len(bad)} findings on the planner:\n" + "\n".join(sorted(set(bad)))
    # the exports keep their keys: the CSV is the frame's, not the shown table's
    assert "ci_lo" in state["plan_result"].rule_frame().columns
