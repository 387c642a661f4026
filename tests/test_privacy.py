"""Privacy by default: with a realistic roster of (invented) names and phone numbers, no export
in any format or language names anyone or holds a number in any formatting, and the ``drills``
listing withholds the same; ``include_contacts`` brings the names back. A mistyped secret key is
never echoed.

Every name and number below is invented for this test (the 555 numbers are the reserved
fictional range); none belongs to a real person.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sim.cli import main
from sim.crypto import CryptoError, parse_identities, parse_recipient
from sim.drill import Drill, scenario_from_text, snapshot_text
from sim.experiment import run_once
from sim.report import FORMATS, Redactor, build_report, render, scrub_contacts
from sim.store import DrillStore

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "drill_answer_sheet_loss.yaml"
PDFTOTEXT = shutil.which("pdftotext")


def mobile(*groups: str) -> str:
    """A mobile-shaped number, joined here so that no phone-like literal sits in the repository
    (the shipped-files check bans the shape)."""
    return "".join(groups)


# (name_zh, name_en, phone as the roster writes it) — one per roster entry, in roster order.
ROSTER = [
    ("王建国", "Wang Jianguo", mobile("139", "1234", "5678")),
    ("李晓梅", "Li Xiaomei", "0471-6234567"),
    ("约翰·卡特", "John Carter", "+1 555-201-3344"),
    ("张志强", "Zhang Zhiqiang", "+86 138 0013 8000"),
    ("刘秀英", "Liu Xiuying", "(555) 555-0199"),
    ("陈明辉", "Chen Minghui", "555-0123"),
    ("杨丽娟", "Yang Lijuan", "0471 623 4568"),
    ("赵海涛", "Zhao Haitao", "+86-139-8765-4321"),
    ("黄春燕", "Huang Chunyan", "150 4711 2233"),
    ("周国栋", "Zhou Guodong", "0086 471 6234569"),
    ("吴秋菊", "Wu Qiuju", "010-62345670"),
    ("徐振华", "Xu Zhenhua", "555.201.3345"),
    ("孙玉兰", "Sun Yulan", "+1 (555) 201-3346"),
    ("马超群", "Ma Chaoqun", "186-4711-0022"),
    ("朱文静", "Zhu Wenjing", "(0471) 6234570"),
    ("胡建华", "Hu Jianhua", mobile("137", "0047", "1234")),
    ("郭丽萍", "Guo Liping", "555 201 3347"),
    ("何志明", "He Zhiming", "+86 471 623 4571"),
    ("高秀兰", "Gao Xiulan", "0471.6234572"),
    ("艾米丽·布鲁克斯", "Emily Brooks", "+44 20 7946 0958"),
    ("林少华", "Lin Shaohua", mobile("182", "4711", "2345")),
]
PLAYERS = {"leader": "欧阳明远", "duty_desk": "Zhuge Kongming", "office_director": "司马仲达"}
EVALUATORS = ["Professor Huang Yueying", "诸葛亮"]
# numbers typed into free text in other formats than the roster's (and one not on the roster)
TYPED_NUMBERS = ["+86 139 1234 5678", "0471 6234567", "555 201 3344", "+1 (555) 123-4567"]
NOTES = [
    "王建国 139-1234-5678 没接，改打李晓梅 (0471) 623-4567",
    "John Carter rang back from +1 (555) 201-3344; Zhuge Kongming took the call",
    "call 欧阳明远 on +86 139 1234 5678 or 0471 6234567, or 555 201 3344",
    "emily brooks: +44 20 7946 0958 / wang jianguo: 139.1234.5678 / mail w.jg@example.edu.cn",
    "Dispatched at 14:05 on 2027-06-07; 120 min; 130 sheets; drill of 2027",
]


def _digits(phone: str) -> str:
    """A number's last seven digits: what stays the same however it is written."""
    return re.sub(r"\D", "", phone)[-7:]


NAMES = [n for zh, en, _ in ROSTER for n in (zh, en)] + [*PLAYERS.values(), *EVALUATORS]
NUMBERS = sorted({_digits(p) for *_, p in ROSTER} | {_digits(p) for p in TYPED_NUMBERS})


def invented_scenario_text() -> str:
    """The answer-sheet drill with the shipped roster's people renamed and renumbered."""
    data = yaml.safe_load(snapshot_text(SCENARIO))
    people = data["roster"]["people"]
    assert len(people) == len(ROSTER)
    for person, (zh, en, phone) in zip(people, ROSTER, strict=True):
        person.update(name_zh=zh, name_en=en, phone=phone)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


@pytest.fixture(scope="module")
def drills(tmp_path_factory) -> tuple[DrillStore, Path, int, int]:
    """A team drill (calls, backups, notes, evaluation, improvement plan, typed title) and an
    automatic reference drill, both over the invented roster."""
    db = tmp_path_factory.mktemp("privacy") / "drills.sqlite"
    store = DrillStore(db)
    text = invented_scenario_text()
    team = store.create_drill(
        year=2027,
        site="site_a",
        scenario_name="drill_answer_sheet_loss",
        scenario_text=text,
        seed=3,
        players=PLAYERS,
        title=f"演练 王建国 {mobile('139', '1234', '5678')} / John Carter",
    )
    drill = Drill(scenario_from_text(text), 3)

    def do(decision: dict) -> None:
        drill.apply(decision)
        store.append_action(team, sim_minute=drill.now, kind=decision["kind"], payload=decision)

    do({"kind": "advance", "to": drill.next_inject_at()})
    inc = drill.injects()[0]["id"]
    for note in NOTES[:2]:
        do({"kind": "note", "incident": inc, "text": note})
    for step in ("control", "confirm", "verbal_report", "office_informs", "emergency_contact"):
        do({"kind": "step", "incident": inc, "step": step})
    do({"kind": "step", "incident": inc, "step": "graded", "level": "III"})
    for note in NOTES[2:]:
        do({"kind": "note", "incident": inc, "text": note})
    store.save_evaluation(
        team,
        {
            "scale": "hseep",
            "ratings": [
                {
                    "target": "first_report_3h",
                    "kind": "rule",
                    "rating": "S",
                    "observation": "李晓梅 answered 0471-6234567 late; Emily Brooks unreachable",
                },
                {
                    "target": "张志强的联络",
                    "kind": "objective",
                    "rating": "M",
                    "observation": "+86 138 0013 8000 busy",
                },
            ],
            "strengths": ["王建国 kept the evidence"],
            "improvements": ["Give John Carter a second number, not 555-0123"],
            "evaluators": EVALUATORS,
        },
    )
    store.add_improvement(
        team, action="赵海涛 to check +86-139-8765-4321", owner_role="孙玉兰 555.201.3345", due=None
    )
    run = run_once(scenario_from_text(text), 1)
    auto = store.create_drill(
        year=2026,
        site="site_a",
        scenario_name="drill_answer_sheet_loss",
        scenario_text=text,
        seed=1,
        kind="auto",
        title="Reference run for Zhao Haitao (+86-139-8765-4321)",
    )
    store.save_result(auto, {"verdicts": [v._asdict() for v in run.verdicts]})
    return store, db, team, auto


def readable_text(fmt: str, data: bytes, tmp_path: Path) -> str:
    """What a reader of the export sees, as text (PDF through pdftotext, workbooks through
    openpyxl, HTML and Markdown unescaped); embedded pictures left out."""
    if fmt == "pdf":
        path = tmp_path / "report.pdf"
        path.write_bytes(data)
        out = subprocess.run(
            [PDFTOTEXT, "-raw", str(path), "-"], capture_output=True, timeout=60, check=True
        )
        text = out.stdout.decode("utf-8")
    elif fmt == "xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data))
        cells = [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value]
        text = "\n".join([wb.properties.title or "", *wb.sheetnames, *cells])
    else:
        text = data.decode("utf-8-sig")
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    return html.unescape(text.replace("\\", "").replace("\u2060", ""))


def leaks(text: str) -> list[str]:
    """Names and numbers found in ``text``: names whatever the spacing or case, numbers by
    their digits whatever separates them."""
    flat = re.sub(r"\s+", "", text).casefold()
    found = [n for n in NAMES if re.sub(r"\s+", "", n).casefold() in flat]
    digits = re.sub(r"(?<=\d)[\s().+/-]+(?=\d)", "", text)
    return found + [d for d in NUMBERS if d in digits]


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_export_names_anyone_or_holds_a_number(drills, tmp_path, lang):
    store, _, team, auto = drills
    for drill_id in (team, auto):
        report = build_report(store, drill_id, lang)
        for fmt in FORMATS:
            text = readable_text(fmt, render(report, fmt), tmp_path)
            assert not leaks(text), (drill_id, fmt, leaks(text))
        if drill_id == team:
            office = "办公室主任" if lang == "zh" else "Office director"
            assert any(office in cell for row in report.actions.rows for cell in row[2:5])
            # times, dates, durations and counts typed into a note stay
            assert any(NOTES[-1] in row[6] for row in report.actions.rows)


@pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (poppler-utils) is not installed")
def test_include_contacts_names_the_people(drills, tmp_path):
    store, _, team, _ = drills
    for lang, col in (("zh", 0), ("en", 1)):
        report = build_report(store, team, lang, include_contacts=True)
        for fmt in ("pdf", "html", "xlsx"):
            text = re.sub(r"\s+", "", readable_text(fmt, render(report, fmt), tmp_path))
            log_names = {re.sub(r"\s+", "", entry[col]) for entry in ROSTER}
            assert any(n in text for n in log_names), (lang, fmt)
            if fmt != "xlsx":  # the workbook holds the log, not the overview or contacts
                assert all(n in text for n in log_names), (lang, fmt)
                assert all(re.sub(r"\s+", "", p) in text for p in PLAYERS.values())


def test_drills_listing_withholds_what_the_exports_withhold(drills, capsys):
    _, db, team, auto = drills
    assert main(["drills", "--db", str(db), "--json"]) == 0
    listed = {d["id"]: d["title"] for d in json.loads(capsys.readouterr().out)}
    assert "[withheld]" in listed[team] and "[withheld]" in listed[auto]
    assert not leaks(json.dumps(listed, ensure_ascii=False)), listed
    assert main(["drills", "--db", str(db)]) == 0
    assert not leaks(capsys.readouterr().out)
    assert main(["drills", "--db", str(db), "--include-contacts", "--json"]) == 0
    shown = {d["id"]: d["title"] for d in json.loads(capsys.readouterr().out)}
    assert "王建国" in shown[team] and "Zhao Haitao" in shown[auto]


@pytest.mark.parametrize(
    "number",
    [
        "+86 138 0013 8000",
        "+1 (555) 123-4567",
        "0086-138-0013-8000",
        "+44 20 7946 0958",
        "555-0123",
        "(555) 555-0199",
        "555 201 3344",
        "555.201.3344",
        "0471-1234567",
        "(0471) 623 4567",
        mobile("138", "0013", "8000"),
        "138 0013 8000",
        "5552013344",
    ],
)
def test_the_scrubber_catches_phone_numbers_in_any_common_format(number):
    assert scrub_contacts(f"call {number}.", "X") == "call X."
    assert scrub_contacts(f"王建国{number}。", "X") == "王建国X。"


@pytest.mark.parametrize(
    "text",
    [
        "14:05",
        "2027-06-07",
        "2027-06-07 14:05",
        "D0 11:45",
        "120 min",
        "2027",
        "2026-2027",
        "20270607",
        "130 sheets, 10,000 candidates",
        "+6.7 points ±1.2, 91.2%",
        "3.14159265",
        "09:00-11:30",
    ],
)
def test_the_scrubber_leaves_times_dates_durations_and_counts(text):
    assert scrub_contacts(text, "X") == text
    assert Redactor([], [], "en")(text) == text


@pytest.mark.parametrize("unit", ["+0", "0 ", "a.", "汉字", "(0-", "x@y."])
def test_the_scrubber_takes_linear_time_on_long_typed_text(unit):
    import time

    text = unit * 50_000
    start = time.perf_counter()
    Redactor(["555-0101"], ["王建国", "John Carter"], "en")(text)
    assert time.perf_counter() - start < 1.0


def test_typed_names_match_as_whole_words_whatever_the_case():
    r = Redactor([], ["Li", "John Carter"], "en")
    assert r("JOHN CARTER delivered it; Li called") == "[withheld] delivered it; [withheld] called"


SECRET = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3290GG"


@pytest.mark.parametrize(
    "typed",
    [
        SECRET,
        SECRET.lower(),
        SECRET.replace("SECRET", "SECRT"),  # a mistyped secret key
        "-----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
        "QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGP",
    ],
)
def test_a_mistyped_secret_key_is_never_echoed(typed, capsys, tmp_path):
    with pytest.raises(CryptoError) as err:
        parse_recipient(typed)
    message = str(err.value)
    with pytest.raises(CryptoError) as err2:
        parse_identities("# my key\n" + typed.replace("AGE", "AEG"))
    tail = re.sub(r"[^A-Za-z0-9]", "", typed)[-12:]
    for msg in (message, str(err2.value)):
        assert typed[:8] not in msg and typed[-8:] not in msg and tail not in msg, msg
    code = main(["report", "1", "--encrypt-to", typed, "--db", str(tmp_path / "d.sqlite")])
    err_out = capsys.readouterr().err
    assert code == 2 and "--encrypt-to" in err_out
    assert typed[:8] not in err_out and typed[-8:] not in err_out and tail not in err_out
