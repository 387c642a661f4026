"""``python -m sim drills | drill-auto | report`` against a store in a temporary folder."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from pyrage import x25519

from sim.cli import main
from sim.crypto import decrypt


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "drills.sqlite")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_empty_store_lists_nothing(capsys, db):
    assert run(capsys, "drills", "--db", db) == (0, "no drills stored\n", "")
    code, out, _ = run(capsys, "drills", "--db", db, "--json")
    assert code == 0 and json.loads(out) == []


def test_drill_auto_stores_a_reference_drill(capsys, db):
    code, out, err = run(
        capsys,
        "drill-auto",
        "drill_answer_sheet_loss",
        "--site",
        "site_b",
        "--year",
        "2027",
        "--db",
        db,
        "--json",
    )
    assert code == 0, err
    first = json.loads(out)
    assert first["counts"]["met"] > 0 and set(first["counts"]) == {
        "met",
        "missed",
        "unfinished",
        "n/a",
    }
    code, out, _ = run(
        capsys,
        "drill-auto",
        "scenarios/drill_leak.yaml",
        "--site",
        "site_a",
        "--year",
        "2028",
        "--db",
        db,
    )
    assert code == 0 and out.startswith("已保存参考演练 ")
    # the verdicts in the pages' words: status words, unfinished counted apart
    assert "：达标 · " in out and "未到期（演练已结束）0 项" in out.splitlines()[-1]
    assert "first_report_3h" not in out and " met " not in out
    code, out, _ = run(
        capsys,
        "drill-auto",
        "drill_answer_sheet_loss",
        "--site",
        "site_a",
        "--year",
        "2029",
        "--lang",
        "en",
        "--db",
        db,
    )
    assert code == 0 and out.startswith("stored reference drill ")
    assert "  ✓ First report within 3 hours (all addressees): met · " in out
    code, out, _ = run(capsys, "drills", "--db", db, "--json")
    rows = json.loads(out)
    assert [r["year"] for r in rows] == [2029, 2028, 2027]  # newest first
    assert (
        rows[2]["id"] == first["id"] and rows[2]["site"] == "site_b" and rows[2]["kind"] == "auto"
    )
    assert rows[2]["scenario"] == "drill_answer_sheet_loss"
    code, table, _ = run(capsys, "drills", "--db", db)
    assert "drill_answer_sheet_loss" in table and "site_b" in table
    code, out, _ = run(capsys, "drills", "--db", db, "--year", "2027", "--json")
    assert [r["year"] for r in json.loads(out)] == [2027]


def test_drill_auto_moves_the_incidents_to_the_chosen_site(capsys, db):
    from sim.drill import scenario_from_text
    from sim.store import DrillStore

    code, out, _ = run(
        capsys,
        "drill-auto",
        "drill_answer_sheet_loss",
        "--site",
        "site_c",
        "--year",
        "2027",
        "--db",
        db,
        "--json",
    )
    row = DrillStore(db).drill(json.loads(out)["id"])
    assert {i.site for i in scenario_from_text(row["scenario_text"]).incidents} == {"site_c"}


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["drill-auto", "drill_answer_sheet_loss", "--site", "nowhere", "--year", "2027"],
            "--site",
        ),
        (
            ["drill-auto", "no_such_scenario", "--site", "site_a", "--year", "2027"],
            "no such scenario",
        ),
        (
            ["drill-auto", "season_2027", "--site", "site_a", "--year", "2027"],
            "no scripted incidents",
        ),
        (["report", "999", "--format", "md"], "999"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, db, args, message):
    code, out, err = run(capsys, *args, "--db", db)
    assert code == 2
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_report_writes_each_format(capsys, db, tmp_path):
    run(
        capsys,
        "drill-auto",
        "drill_answer_sheet_loss",
        "--site",
        "site_a",
        "--year",
        "2027",
        "--db",
        db,
    )
    for fmt, magic in (
        ("pdf", b"%PDF"),
        ("html", b"<!DOCTYPE html>"),
        ("csv", b"\xef\xbb\xbf"),
        ("xlsx", b"PK"),
    ):
        out_path = tmp_path / f"r.{fmt}"
        code, out, err = run(
            capsys, "report", "1", "--format", fmt, "--out", str(out_path), "--db", db
        )
        assert code == 0, err
        assert out.strip() == str(out_path)
        assert out_path.read_bytes().startswith(magic)
    code, out, err = run(
        capsys, "report", "1", "--format", "md", "--lang", "en", "--out", str(tmp_path), "--db", db
    )
    md = tmp_path / "drill-1-2027-site_a-en.md"
    assert code == 0 and out.strip() == str(md)
    assert (tmp_path / "drill-1-2027-site_a-en-timeline.png").read_bytes().startswith(b"\x89PNG")
    assert "](drill-1-2027-site_a-en-timeline.png)" in md.read_text(encoding="utf-8")


def test_report_to_stdout_and_no_phone(capsys, db):
    run(
        capsys,
        "drill-auto",
        "drill_answer_sheet_loss",
        "--site",
        "site_a",
        "--year",
        "2027",
        "--db",
        db,
    )
    code, out, _ = run(capsys, "report", "1", "--format", "md", "--out", "-", "--db", db)
    assert code == 0 and out.startswith("# 应急演练评估报告")
    assert "555-0" not in out
    code, out, err = run(
        capsys, "report", "1", "--format", "md", "--out", "-", "--include-contacts", "--db", db
    )
    assert "555-0101" in out and "encrypt" in err  # warned: contacts in a plain file


def test_report_encrypted_to_a_key(capsys, db, tmp_path):
    identity = x25519.Identity.generate()
    run(
        capsys,
        "drill-auto",
        "drill_answer_sheet_loss",
        "--site",
        "site_a",
        "--year",
        "2027",
        "--db",
        db,
    )
    target = tmp_path / "out.pdf.age"
    code, out, err = run(
        capsys,
        "report",
        "1",
        "--format",
        "pdf",
        "--encrypt-to",
        str(identity.to_public()),
        "--out",
        str(target),
        "--db",
        db,
    )
    assert code == 0, err
    plain = decrypt(target.read_bytes(), str(identity))
    assert plain.startswith(b"%PDF")
    age = shutil.which("age")
    if age:
        key = tmp_path / "key.txt"
        key.write_text(str(identity) + "\n")
        res = subprocess.run(
            [age, "-d", "-i", str(key), str(target)], capture_output=True, timeout=60
        )
        assert res.returncode == 0 and res.stdout == plain
    code, _, err = run(capsys, "report", "1", "--encrypt-to", "age1bogus", "--db", db)
    assert code == 2 and "--encrypt-to" in err


@pytest.mark.slow
def test_report_encrypted_with_a_passphrase_from_the_environment(capsys, db, tmp_path, monkeypatch):
    run(
        capsys,
        "drill-auto",
        "drill_answer_sheet_loss",
        "--site",
        "site_a",
        "--year",
        "2027",
        "--db",
        db,
    )
    monkeypatch.setenv("REPORT_PASS", "专家组 2027")
    target = tmp_path / "r.csv.age"
    code, _, err = run(
        capsys,
        "report",
        "1",
        "--format",
        "csv",
        "--passphrase-env",
        "REPORT_PASS",
        "--out",
        str(target),
        "--db",
        db,
    )
    assert code == 0, err
    assert decrypt(target.read_bytes(), passphrase="专家组 2027").startswith(b"\xef\xbb\xbf")
    monkeypatch.delenv("REPORT_PASS")
    code, _, err = run(capsys, "report", "1", "--passphrase-env", "REPORT_PASS", "--db", db)
    assert code == 2 and "REPORT_PASS" in err


def test_store_path_from_the_environment(capsys, db, monkeypatch):
    monkeypatch.setenv("DRILLSIM_DB", db)
    code, _, err = run(
        capsys, "drill-auto", "drill_answer_sheet_loss", "--site", "site_a", "--year", "2026"
    )
    assert code == 0, err
    code, out, _ = run(capsys, "drills", "--json")
    assert [r["year"] for r in json.loads(out)] == [2026]


def test_module_entry_point_runs(db):
    import sys

    res = subprocess.run(
        [sys.executable, "-m", "sim", "drills", "--db", db, "--json"],
        capture_output=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout) == []
