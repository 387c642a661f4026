"""The after-action report: PDF text (Chinese headings, every rule's verdict), the other formats,
and no contact details or typed names unless asked for."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from pyrage import x25519

from sim.crypto import decrypt, encrypt
from sim.drill import Drill, scenario_from_text, snapshot_text
from sim.experiment import run_once
from sim.i18n import label
from sim.report import (
    FORMATS,
    Redactor,
    action_rows,
    build_report,
    drill_objectives,
    evaluation_scales,
    export,
    file_name,
    rebuild_stored,
    render,
    status_label,
    to_markdown,
)
from sim.store import DrillStore

SCENARIO = Path("scenarios/drill_answer_sheet_loss.yaml")
PLAYERS = {"leader": "欧阳明远", "duty_desk": "Zhuge Kongming", "office_director": "司马仲达"}
EVALUATORS = ["Professor Huang Yueying"]
PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(
    PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed"
)

# A mobile-shaped number, built here so that no phone-like literal sits in the repository.
MOBILE = "1" + "39" + "0" * 8


def store_team_drill(
    store: DrillStore, *, year: int = 2027, site: str = "site_a", seed: int = 3
) -> int:
    """A short team drill: control, grading, a verbal then a written report, a note with contacts."""
    text = snapshot_text(SCENARIO)
    scenario = scenario_from_text(text)
    drill_id = store.create_drill(
        year=year,
        site=site,
        scenario_name="drill_answer_sheet_loss",
        scenario_text=text,
        seed=seed,
        players=PLAYERS,
        title="年度演练",
    )
    drill = Drill(scenario, seed)

    def do(decision: dict) -> None:
        drill.apply(decision)
        store.append_action(drill_id, sim_minute=drill.now, kind=decision["kind"], payload=decision)

    do({"kind": "advance", "to": drill.next_inject_at()})
    inc = drill.injects()[0]["id"]
    do({"kind": "control", "incident": inc})
    do({"kind": "grade", "incident": inc, "level": "III"})
    do({"kind": "report", "incident": inc, "body": "working_group", "channel": "verbal"})
    do(
        {
            "kind": "note",
            "incident": inc,
            "text": f"欧阳明远 rang 555-0101 and {MOBILE}; mail duty@example.edu.cn",
        }
    )
    do(
        {
            "kind": "report",
            "incident": inc,
            "body": "local_government",
            "channel": "written",
            "content": ["time", "place"],
        }
    )
    do({"kind": "note", "incident": inc, "text": "=HYPERLINK(1) <img src=x>"})
    store.save_evaluation(
        drill_id,
        {
            "scale": "hseep",
            "ratings": [
                {
                    "target": "first_report_3h",
                    "kind": "rule",
                    "rating": "S",
                    "observation": "司马仲达 called 555-0201 late",
                },
                {
                    "target": "reporting",
                    "kind": "objective",
                    "rating": "M",
                    "observation": "content incomplete",
                },
            ],
            "strengths": ["quick on-site control"],
            "improvements": ["first-report content"],
            "evaluators": EVALUATORS,
        },
    )
    store.add_improvement(
        drill_id,
        action="Drill the duty desk on first-report content",
        owner_role="office_director",
        due="2028-03-01",
        rule_id="first_report_3h",
    )
    return drill_id


def store_auto_drill(
    store: DrillStore, *, year: int = 2026, site: str = "site_a", seed: int = 1
) -> int:
    text = snapshot_text(SCENARIO)
    run = run_once(scenario_from_text(text), seed)
    drill_id = store.create_drill(
        year=year,
        site=site,
        scenario_name="drill_answer_sheet_loss",
        scenario_text=text,
        seed=seed,
        kind="auto",
    )
    store.save_result(drill_id, {"verdicts": [v._asdict() for v in run.verdicts]})
    return drill_id


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return DrillStore(tmp_path_factory.mktemp("store") / "drills.sqlite")


@pytest.fixture(scope="module")
def team_id(store):
    return store_team_drill(store)


@pytest.fixture(scope="module")
def auto_id(store):
    return store_auto_drill(store)


@pytest.fixture(scope="module")
def phones(store, team_id):
    _, rebuilt = rebuild_stored(store, team_id)
    out = [p.phone for p in rebuilt.scenario.roster.people if p.phone]
    assert len(out) >= 10
    return out


def pdf_text(data: bytes, tmp_path: Path, raw: bool = True) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    args = [PDFTOTEXT, *(["-raw"] if raw else []), str(path), "-"]
    out = subprocess.run(args, capture_output=True, timeout=60, check=True)
    return out.stdout.decode("utf-8")


def text_of(fmt: str, data: bytes, tmp_path: Path) -> str:
    """Everything a reader could see in an export, as text (PDF via pdftotext, XLSX unzipped)."""
    if fmt == "pdf":
        return pdf_text(data, tmp_path)
    if fmt == "xlsx":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    return data.decode("utf-8-sig")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@needs_pdftotext
@pytest.mark.parametrize("drill", ["team", "auto"])
def test_pdf_holds_chinese_headings_and_every_rule_verdict(
    store, team_id, auto_id, tmp_path, drill
):
    drill_id = team_id if drill == "team" else auto_id
    report = build_report(store, drill_id, "zh")
    data = render(report, "pdf")
    assert data.startswith(b"%PDF")
    assert b"/FontFile3" in data or b"/FontFile2" in data  # the CJK font is embedded, not assumed
    text = pdf_text(data, tmp_path)
    for heading in (
        "应急演练评估报告",
        "演练概况",
        "时间线",
        "评分表",
        "专家组评估",
        "改进计划",
        "行动记录",
    ):
        assert heading in text, heading
    flat = squash(text)
    _, rebuilt = rebuild_stored(store, drill_id)
    plan = rebuilt.scenario.plan
    verdicts = rebuilt.scorecard.verdicts
    assert {v["rule"] for v in verdicts} == set(plan.rules)
    for v in verdicts:
        row = squash(
            label(plan, "rules", v["rule"], "zh") + status_label(v["status"], v["note"], "zh")
        )
        assert row in flat, row


@needs_pdftotext
def test_english_pdf_has_every_verdict_too(store, team_id, tmp_path):
    text = squash(pdf_text(render(build_report(store, team_id, "en"), "pdf"), tmp_path))
    _, rebuilt = rebuild_stored(store, team_id)
    for heading in (
        "After-action report",
        "Scorecard",
        "Expert group evaluation",
        "Improvement plan",
        "Action log",
    ):
        assert squash(heading) in text
    for v in rebuilt.scorecard.verdicts:
        assert (
            squash(
                label(rebuilt.scenario.plan, "rules", v["rule"], "en")
                + status_label(v["status"], v["note"], "en")
            )
            in text
        )


@needs_pdftotext
def test_pdf_holds_the_evaluation_and_the_improvement_plan(store, team_id, tmp_path):
    text = squash(pdf_text(render(build_report(store, team_id, "zh"), "pdf"), tmp_path))
    assert squash("HSEEP 四级评定") in text
    assert squash("S — 完成但存在一些问题") in text
    assert "quickon-sitecontrol" in text
    assert "Drilltheduty" in text and "2028-03-01" in text and "待办" in text


def test_html_is_self_contained_with_chart_and_sections(store, team_id):
    report = build_report(store, team_id, "zh")
    html = render(report, "html").decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in html
    assert 'src="data:image/png;base64,' in html
    assert "<link" not in html and "<script" not in html  # nothing fetched from elsewhere
    for heading in ("评分表", "专家组评估", "改进计划", "行动记录"):
        assert f"<h2>{heading}</h2>" in html


def test_markdown_inline_chart_or_beside(store, team_id):
    report = build_report(store, team_id, "en")
    md = render(report, "md").decode("utf-8")
    assert md.startswith("# After-action report")
    assert "## Scorecard" in md and "](data:image/png;base64," in md
    beside = to_markdown(report, chart_href="drill-timeline.png")
    assert "](drill-timeline.png)" in beside and "base64" not in beside


def test_csv_and_xlsx_hold_the_action_log(store, team_id):
    from openpyxl import load_workbook

    report = build_report(store, team_id, "zh")
    _, rebuilt = rebuild_stored(store, team_id)
    data = render(report, "csv")
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese right
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["时间", "事件"]
    assert len(rows) - 1 == len(rebuilt.records)
    wb = load_workbook(io.BytesIO(render(report, "xlsx")))
    assert wb.sheetnames == ["行动记录", "评分表", "专家组评估", "改进计划"]
    assert wb["行动记录"].max_row - 1 == len(rebuilt.records)
    assert wb["评分表"].max_row - 1 == len(rebuilt.scorecard.verdicts)
    assert file_name(report, "csv").endswith("-zh-actions.csv")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_export_holds_a_phone_number_or_typed_name_unless_asked(
    store, team_id, phones, tmp_path, lang
):
    if PDFTOTEXT is None:
        pytest.skip("pdftotext is needed to read the PDF's text")
    report = build_report(store, team_id, lang)
    typed = [*PLAYERS.values(), *EVALUATORS]
    for fmt in FORMATS:
        text = text_of(fmt, render(report, fmt), tmp_path)
        for phone in phones:
            assert phone not in text, (fmt, phone)
            assert phone.replace("-", "") not in text, (fmt, phone)
        for name in typed:
            assert name not in text, (fmt, name)
        assert MOBILE not in text and "duty@example.edu.cn" not in text, fmt
    with_contacts = build_report(store, team_id, lang, include_contacts=True)
    text = squash(text_of("pdf", render(with_contacts, "pdf"), tmp_path))
    assert all(p in text for p in phones)
    assert all(squash(n) in text for n in typed)


def test_redactor_scrubs_roster_numbers_and_phone_shaped_text():
    r = Redactor(["555-0101"], ["欧阳明远"], "en")
    out = r(
        "欧阳明远: 555-0101, 5550101, +86 139 1234 5678, 0471-6281234, a.b@c.edu.cn; due 2027-06-07, 130 sheets"
    )
    assert (
        "555" not in out
        and "139" not in out
        and "0471" not in out
        and "@" not in out
        and "欧阳明远" not in out
    )
    assert "2027-06-07" in out and "130 sheets" in out
    assert Redactor(["555-0101"], [], "en", enabled=False)("555-0101") == "555-0101"


def test_encrypted_export_decrypts_to_the_same_bytes(store, team_id, tmp_path):
    identity = x25519.Identity.generate()
    report = build_report(store, team_id, "zh")
    for fmt in ("html", "md", "csv"):
        ex = export(store, team_id, fmt, recipients=[str(identity.to_public())], report=report)
        assert ex.encrypted and ex.file_name.endswith(f".{fmt}.age")
        assert decrypt(ex.data, str(identity)) == render(report, fmt)
    data = render(report, "pdf")
    enc = encrypt(data, [str(identity.to_public())])
    assert decrypt(enc, str(identity)) == data
    age = shutil.which("age")
    if age:
        key = tmp_path / "key.txt"
        key.write_text(str(identity) + "\n")
        (tmp_path / "r.pdf.age").write_bytes(enc)
        out = subprocess.run(
            [age, "-d", "-i", str(key), str(tmp_path / "r.pdf.age")],
            capture_output=True,
            timeout=60,
        )
        assert out.returncode == 0 and out.stdout == data


def test_typed_text_stays_inert_in_every_format(store, team_id):
    from openpyxl import load_workbook

    report = build_report(store, team_id, "en")
    rows = list(csv.reader(io.StringIO(render(report, "csv").decode("utf-8-sig"))))
    assert [c for r in rows for c in r if "HYPERLINK" in c] == ["'=HYPERLINK(1) <img src=x>"]
    ws = load_workbook(io.BytesIO(render(report, "xlsx")))["Action log"]
    cells = [c for r in ws.iter_rows() for c in r if "HYPERLINK" in str(c.value)]
    assert len(cells) == 1 and cells[0].data_type == "s"
    assert "<img src=x>" not in render(report, "md").decode()
    assert "<img src=x>" not in render(report, "html").decode()


def test_scales_and_objectives_are_data():
    scales = evaluation_scales()
    assert list(scales)[0] == "hseep"
    assert scales["hseep"].codes() == ["P", "S", "M", "U"]
    assert "gbt46792" in scales and "46792" in scales["gbt46792"].label("zh")
    assert all(lv.label_zh and lv.label_en for s in scales.values() for lv in s.levels)
    objectives = drill_objectives()
    assert len(objectives) >= 5 and len({o.id for o in objectives}) == len(objectives)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_action_log_names_every_step_outcome_and_item_in_words(lang):
    """A drill with the procedure's newer steps: no step id, outcome code or content id is left
    raw in the exported action log."""
    root = Path(__file__).resolve().parent.parent
    sc = scenario_from_text(snapshot_text(root / "scenarios" / "drill_answer_sheet_loss.yaml"))
    d = Drill(sc, 3)
    d.apply({"kind": "advance", "to": d.next_inject_at()})
    inc = d.injects()[0]["id"]
    for step in ("confirm", "verbal_report", "office_informs", "contain", "follow_up"):
        d.apply({"kind": "step", "incident": inc, "step": step})
    rows = action_rows(d.records, sc, lang, Redactor([], [], lang, enabled=False))
    codes = {*sc.plan.steps, *sc.plan.content, "informed_backup"}
    if lang == "zh":  # in English the outcome words are the codes themselves ("done")
        codes |= {"done", "informed", "received"}
    cells = {part for row in rows for cell in row[3:] for part in re.split(r"[；;、,]\s*", cell)}
    assert not cells & codes, sorted(cells & codes)
    assert sc.plan.step("office_informs").label(lang) in {row[3] for row in rows}
