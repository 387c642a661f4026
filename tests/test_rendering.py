"""Safe rendering: typed text (player names, notes, titles, observations, variant labels) is never
interpreted as Markdown or HTML, in the app or in the exports; the Excel export is byte-identical
under ``SOURCE_DATE_EPOCH``.

A name holding a remote image once made Chromium fetch it; the last test plays that case in the
real app and a real browser.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sim.drill import Drill, scenario_from_text, snapshot_text
from sim.i18n import WORD_JOINER, code_span, escape_markdown
from sim.report import build_report, render
from sim.store import DrillStore

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "drill_answer_sheet_loss.yaml"

IMAGE = "![x](http://example.invalid/a.png)"
LINK = "[click me](https://example.invalid/l)"
HOSTILE = [
    IMAGE,
    LINK,
    "see http://example.invalid/bare, www.example.invalid or a@example.invalid",
    "<img src=http://example.invalid/h.png onerror=alert(1)>",
    "<https://example.invalid/angle>",
    "[ref]\n\n[ref]: http://example.invalid/ref",
    "# heading\n- item\n1. one\n**bold** _em_ `code` ~~gone~~ $x^2$ | a | b |\n===",
]


def active(text: str) -> list[str]:
    """Markdown or HTML that would still act in ``text``: an unescaped bracket, angle bracket,
    emphasis, code, heading or table mark, or a bare URL or e-mail address a GFM renderer
    links (escaped text carries a word joiner there)."""
    found = re.findall(r"(?<!\\)[\[\]<>`*~|$#]", text)
    found += re.findall(r"(?<![\\\w])_|_(?![\w])", text.replace("\\_", ""))
    found += re.findall(r"(?i)https?://|www\.|\w@\w", text)
    found += re.findall(r"(?m)^\s*(?:[-+]|\d+[.)])(?=\s|$)", text)
    return found


@pytest.mark.parametrize("typed", HOSTILE)
def test_escaped_typed_text_holds_nothing_active(typed):
    assert active(typed)  # the check itself sees the hostile text
    assert not active(escape_markdown(typed)), escape_markdown(typed)


@pytest.mark.parametrize(
    "text",
    [
        "people:3: role: 'boss' is not one of",
        "first_report_3h in season_2027.yaml",
        "+1 night duty officer: 91.2% → 97.9% (+6.7 points ±1.2)",
        "第一考点（主校区） · 2027-06-07 14:05 · 120 min",
        "Site A (main campus)",
    ],
)
def test_plain_text_is_left_as_written(text):
    assert escape_markdown(text) == text


def test_escaped_text_still_reads_as_typed():
    shown = escape_markdown(IMAGE).replace("\\", "").replace(WORD_JOINER, "")
    assert shown == IMAGE
    assert escape_markdown("a & <b>") == "a &amp; &lt;b&gt;"


def test_a_code_span_holds_any_backticks():
    span = code_span("a `b` ``c`` d")
    assert span == "``` a `b` ``c`` d ```"
    assert code_span("line one\nline two") == "` line one line two `"


# -- the exports --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_drill(tmp_path_factory) -> tuple[DrillStore, int]:
    """A team drill whose typed texts are all hostile: title, players, notes, evaluation, items."""
    store = DrillStore(tmp_path_factory.mktemp("render") / "drills.sqlite")
    text = snapshot_text(SCENARIO)
    drill_id = store.create_drill(
        year=2027,
        site="site_a",
        scenario_name="drill_answer_sheet_loss",
        scenario_text=text,
        seed=3,
        players={"leader": IMAGE, "duty_desk": LINK},
        title=f"Drill {IMAGE}",
    )
    drill = Drill(scenario_from_text(text), 3)
    decisions = [{"kind": "advance", "to": drill.next_inject_at()}]
    drill.apply(decisions[0])
    inc = drill.injects()[0]["id"]
    decisions += [{"kind": "note", "incident": inc, "text": t} for t in HOSTILE]
    for d in decisions:
        if d["kind"] != "advance":
            drill.apply(d)
        store.append_action(drill_id, sim_minute=drill.now, kind=d["kind"], payload=d)
    store.save_evaluation(
        drill_id,
        {
            "scale": "hseep",
            "ratings": [{"target": LINK, "kind": "objective", "rating": "S", "observation": IMAGE}],
            "strengths": HOSTILE[2:4],
            "improvements": [LINK],
            "evaluators": [IMAGE],
        },
    )
    store.add_improvement(drill_id, action=IMAGE, owner_role=LINK, due=None)
    return store, drill_id


@pytest.mark.parametrize("contacts", [False, True])
def test_the_markdown_export_escapes_typed_links_images_and_html(hostile_drill, contacts):
    store, drill_id = hostile_drill
    for lang in ("zh", "en"):
        md = render(build_report(store, drill_id, lang, include_contacts=contacts), "md").decode()
        body = re.sub(r"!\[[^\]]*\]\(data:image/png;base64,[^)]+\)", "", md)  # the chart
        assert "data:image/png" in md and not re.search(r"(?<!\\)(?:!\[|\]\()", body)
        assert "<img" not in body and "<https" not in body and "<b>" not in body
        assert not re.search(r"(?i)https?://|www\.", body)
        if contacts:  # typed text is shown, escaped, not dropped
            assert escape_markdown(IMAGE) in body and escape_markdown(LINK) in body


def test_the_html_export_escapes_typed_text(hostile_drill):
    store, drill_id = hostile_drill
    page = render(build_report(store, drill_id, "en", include_contacts=True), "html").decode()
    assert "<a " not in page and "<img src=http" not in page and "<https:" not in page
    assert "&lt;img src=http://example.invalid/h.png onerror=alert(1)&gt;" in page
    assert page.count("<img ") == 1  # the chart, inline


def test_xlsx_is_byte_identical_under_source_date_epoch(hostile_drill, monkeypatch):
    store, drill_id = hostile_drill
    report = build_report(store, drill_id, "en")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1780000000")  # 2026-05-28 20:26:40 UTC
    first, second = render(report, "xlsx"), render(report, "xlsx")
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        core = z.read("docProps/core.xml").decode()
        stamps = {info.date_time for info in z.infolist()}
    assert (
        re.findall(r"<dcterms:(?:created|modified)[^>]*>([^<]*)<", core)
        == ["2026-05-28T20:26:40Z"] * 2
    )
    assert stamps == {(2026, 5, 28, 20, 26, 40)}


# -- the app --------------------------------------------------------------------------------------


def shown(at: AppTest) -> list[str]:
    """Every text the page renders as Markdown: messages, captions, tables, labels."""
    out: list[str] = []
    for kind in ("markdown", "caption", "info", "success", "warning", "error", "title"):
        out += [str(e.value) for e in getattr(at, kind)]
    for kind in ("header", "subheader"):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [str(b.label) for b in at.button]
    out += [str(e.label) for e in at.expander]
    for tb in at.table:
        out += [str(c) for c in tb.value.columns]
        out += [str(c) for row in tb.value.itertuples(index=False) for c in row]
    return out


def assert_inert(texts: list[str]) -> None:
    for text in texts:
        assert not re.search(r"(?<!\\)(?:!\[|\]\()", text), text  # no image or link
        assert "<img" not in text and "<https" not in text, text
        assert not re.search(r"(?i)https?://|www\.", text), text


def test_the_drill_console_shows_typed_names_and_notes_as_text(hostile_drill, monkeypatch):
    store, drill_id = hostile_drill
    monkeypatch.setenv("DRILLSIM_DB", str(store.path))
    at = AppTest.from_file(str(ROOT / "ui" / "drill.py"), default_timeout=120)
    at.session_state["lang"] = "en"
    at.query_params["drill"] = str(drill_id)
    at = at.run()
    assert not at.exception, at.exception
    # a note typed now: the message about it and the log show it as text
    at.pills(key="drill_act_kind").set_value("note").run()
    at.text_area(key="drill_act_note").set_value(LINK + " " + IMAGE)
    at = at.button(key="drill_do").click().run()
    assert not at.exception, at.exception
    texts = shown(at)
    assert_inert(texts)
    assert any(escape_markdown(IMAGE) in t for t in texts)  # the player's name, shown escaped
    assert sum(escape_markdown(LINK) in t for t in texts) >= 2  # the message and the log


def test_the_planner_shows_a_typed_variant_label_as_text():
    at = AppTest.from_file(str(ROOT / "ui" / "planner.py"), default_timeout=180)
    at.session_state["lang"] = "en"
    at.session_state["plan_people_season_2027"] = {
        "edited_rows": {0: {"p_on_call": 0.99, "name_en": LINK}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.session_state["plan_edit_label_en"] = IMAGE
    at = at.run()
    assert not at.exception, at.exception
    texts = shown(at)
    assert_inert(texts)
    assert any(escape_markdown(IMAGE) in t for t in texts)


# -- a real browser -----------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_chromium_fetches_nothing_a_player_typed(app_server):
    """The console with a player's name and a note holding a remote image and a link: the
    browser shows them as text, fetches nothing and links nowhere."""
    from conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip("needs Debian's /usr/bin/chromium")
    store = DrillStore(app_server.db)
    text = snapshot_text(SCENARIO)
    drill_id = store.create_drill(
        year=2027,
        site="site_a",
        scenario_name="drill_answer_sheet_loss",
        scenario_text=text,
        seed=3,
        players={"leader": IMAGE},
        title=IMAGE,
    )
    drill = Drill(scenario_from_text(text), 3)
    first = {"kind": "advance", "to": drill.next_inject_at()}
    drill.apply(first)
    store.append_action(drill_id, sim_minute=drill.now, kind="advance", payload=first)
    note = {"kind": "note", "incident": drill.injects()[0]["id"], "text": f"{LINK} {IMAGE}"}
    drill.apply(note)
    store.append_action(drill_id, sim_minute=drill.now, kind="note", payload=note)
    requested: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(locale="en-GB")
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"{app_server.url}/?drill={drill_id}")  # the console is the main page
            page.get_by_text("Players", exact=True).click(timeout=60_000)
            page.get_by_text("Action log", exact=True).first.click()
            page.get_by_text("Working-group leader:").wait_for()
            page.wait_for_timeout(1500)
            main = page.locator('[data-testid="stMain"]')
            body = main.inner_text()
            hrefs = main.locator("a").evaluate_all("els => els.map(e => e.href)")
            srcs = main.locator("img").evaluate_all("els => els.map(e => e.src)")
        finally:
            browser.close()
    assert IMAGE in body.replace(WORD_JOINER, "")  # shown as typed
    assert not [u for u in requested if "example.invalid" in u]
    assert not [h for h in hrefs if "example.invalid" in h]
    assert not [s for s in srcs if "example.invalid" in s]
