"""The drill store under damage and restriction (issue 11, part 4): one transaction per reference
drill, damaged rows named by id while the rest still lists, read-only and immutable stores that
still read, ``check-store``, ``~`` in paths, ids out of range and unwritable outputs — each a
one-line message with exit 2, never a traceback.

CLI cases run ``python -m sim`` in a subprocess (once per kind of failure, for each costs a
second or two of start-up) and otherwise ``sim.cli.main`` in-process, where a traceback would be
an exception failing the test. Tests run as root here, where ``chmod`` does not
stop writes: a file or folder is made read-only with ``chattr +i`` instead (real for root, on
ext4), or ``chmod`` when not root; where neither bites the OS-level case is skipped and the
``mode=ro`` / ``immutable=1`` paths are still tested directly.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sim.cli import UsageError, main
from sim.store import (
    MAX_ID,
    SCHEMA_VERSION,
    DrillStore,
    StoreError,
    check_store,
    create_at_version,
)

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = (ROOT / "scenarios" / "drill_answer_sheet_loss.yaml").read_text(encoding="utf-8")


def cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> tuple[int, str, str]:
    """``python -m sim ARGS`` in a subprocess: (exit code, stdout, stderr)."""
    res = subprocess.run(
        [sys.executable, "-m", "sim", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)},
    )
    return res.returncode, res.stdout, res.stderr


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``sim.cli.main(ARGS)`` in this process: (exit code, stdout, stderr)."""
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code: int, err: str, *names: str) -> None:
    """Exit 2, no traceback, one line on stderr naming each of ``names``."""
    assert code == 2, err
    assert "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err
    for name in names:
        assert name in err, (name, err)


def add_drill(store: DrillStore, year: int = 2027, **kw) -> int:
    """A team drill on the shipped snapshot (readable by ``report``), no decisions yet."""
    args = {
        "year": year,
        "site": "site_a",
        "scenario_name": "drill_answer_sheet_loss",
        "scenario_text": SNAPSHOT,
        "seed": 3,
    }
    return store.create_drill(**(args | kw))


@pytest.fixture
def three(tmp_path) -> tuple[Path, list[int]]:
    """A store with three drills (2025, 2026, 2027), each with a decision, a result and an
    evaluation; closed, so the file is whole on disk (no -wal or -shm left)."""
    from sim.drill import Drill, scenario_from_text

    first = {"kind": "advance", "to": Drill(scenario_from_text(SNAPSHOT), 3).next_inject_at()}
    db = tmp_path / "drills.sqlite"
    with DrillStore(db) as s:
        ids = [add_drill(s, year) for year in (2025, 2026, 2027)]
        for i in ids:
            s.append_action(i, sim_minute=first["to"], kind="advance", payload=first)
            s.save_result(i, {"verdicts": [], "counts": {}})
            s.save_evaluation(i, {"scale": "hseep", "ratings": []})
    return db, ids


def raw(db: Path, sql: str, *params) -> None:
    """Change the file behind the store's back (as a bad edit or a damaged page would)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute(sql, params)
    finally:
        conn.close()


# -- making files read-only for real -------------------------------------------------------------

CHATTR = shutil.which("chattr")


def _chattr(flag: str, *paths: Path) -> bool:
    if not CHATTR:
        return False
    res = subprocess.run([CHATTR, flag, *map(str, paths)], capture_output=True, timeout=10)
    return res.returncode == 0


@contextmanager
def read_only(*paths: Path) -> Iterator[str]:
    """Make files and folders read-only in a way that binds this process: ``chmod`` when not
    root, ``chattr +i`` (immutable) when root. Skips when neither works (e.g. root on tmpfs or
    overlayfs); undone afterwards. Yields how it was done."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield "chmod"
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    if not _chattr("+i", *paths):
        pytest.skip("root, and chattr +i is not available here: chmod cannot bind root")
    try:
        yield "chattr"
    finally:
        _chattr("-i", *paths)


# -- drill-auto: one transaction -------------------------------------------------------------------


def test_drill_auto_stores_drill_and_result_in_one_transaction(tmp_path):
    """A result write that fails leaves no "running" drill without a result."""
    db = tmp_path / "drills.sqlite"
    DrillStore(db).close()
    raw(
        db,
        "CREATE TRIGGER no_results BEFORE INSERT ON results"
        " BEGIN SELECT RAISE(ABORT, 'results refused'); END",
    )
    code, _, err = cli(
        "drill-auto", "drill_leak", "--site", "site_a", "--year", "2027", "--db", str(db)
    )
    one_line_error(code, err, str(db), "results refused")
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM drills").fetchone()[0] == 0
    conn.close()
    # in the store itself: the drill and its result, or neither
    with DrillStore(db) as s:
        with pytest.raises(StoreError, match="results refused"):
            add_drill(s, kind="auto", result={"verdicts": []})
        assert s.list_drills() == []
        raw(db, "DROP TRIGGER no_results")
        drill_id = add_drill(s, kind="auto", result={"verdicts": [], "counts": {"met": 1}})
        assert s.drill(drill_id)["status"] == "ended"
        assert s.result(drill_id) == {"verdicts": [], "counts": {"met": 1}}


# -- damaged rows ------------------------------------------------------------------------------------

DAMAGE = {
    "players_not_json": ("UPDATE drills SET players_json = '{oops' WHERE id = ?", "players_json"),
    "players_a_list": ("UPDATE drills SET players_json = '[1, 2]' WHERE id = ?", "players_json"),
    "year_text": ("UPDATE drills SET year = 'twenty' WHERE id = ?", "year"),
    "site_blob": ("UPDATE drills SET site = x'00ff' WHERE id = ?", "site"),
    "result_not_json": (
        "UPDATE results SET result_json = 'not json' WHERE drill_id = ?",
        "result_json",
    ),
    "payload_not_json": (
        "UPDATE actions SET payload_json = '{' WHERE drill_id = ?",
        "payload_json",
    ),
    "evaluation_a_number": (
        "UPDATE evaluations SET evaluation_json = '42' WHERE drill_id = ?",
        "evaluation_json",
    ),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_row_is_named_by_id_and_the_rest_still_lists(three, damage):
    db, (a, b, c) = three
    sql, column = DAMAGE[damage]
    raw(db, sql, b)
    with DrillStore(db) as s:
        bad = s.damaged()
        assert [d["id"] for d in bad] == [b] and column in bad[0]["problem"]
        listed = [d["id"] for d in s.list_drills()]
        assert a in listed and c in listed
        row_damaged = damage.startswith(("players", "year", "site"))
        assert (b in listed) is not row_damaged
        # reading the damaged record names the drill; the others read as before
        reader = {
            "result_not_json": s.result,
            "payload_not_json": s.actions,
            "evaluation_a_number": s.evaluation,
        }.get(damage, s.drill)
        with pytest.raises(StoreError, match=f"drill {b} is damaged") as info:
            reader(b)
        assert str(db) in str(info.value) and "\n" not in str(info.value)
        assert s.result(a) is not None and s.actions(c) and s.drill(c)["year"] == 2027


@pytest.mark.parametrize("damage", ["players_not_json", "result_not_json"])
def test_drills_lists_the_others_and_names_the_damaged_one(three, damage, capsys):
    db, (a, b, c) = three
    raw(db, DAMAGE[damage][0], b)
    if damage == "players_not_json":
        code, out, err = cli("drills", "--db", str(db))
    else:
        code, out, err = run(capsys, "drills", "--db", str(db))
    assert code == 0 and "Traceback" not in err, err
    lines = out.splitlines()
    assert any(line.split()[:2] == [str(a), "2025"] for line in lines), out
    assert any(line.split()[:2] == [str(c), "2027"] for line in lines), out
    assert any("damaged" in line and DAMAGE[damage][1] in line for line in lines), out
    assert f"id {b}" in err and str(db) in err and len(err.strip().splitlines()) == 1
    code, out, err = run(capsys, "drills", "--db", str(db), "--json")
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(out)}
    assert set(rows) == {a, b, c}
    assert rows[a]["damaged"] is None and rows[c]["year"] == 2027
    assert DAMAGE[damage][1] in rows[b]["damaged"]


# -- read-only stores ----------------------------------------------------------------------------------


def test_a_store_opened_read_only_reads_and_refuses_writes(three):
    db, (a, _, c) = three
    with DrillStore(db, read_only=True) as s:
        assert s.read_only
        assert [d["id"] for d in s.list_drills()][-1] == a
        assert s.actions(c) and s.result(c) and s.evaluation(c)
        with pytest.raises(StoreError, match="read-only") as info:
            add_drill(s)
        assert str(db) in str(info.value) and isinstance(info.value, UsageError)
        assert "只读" in info.value.text("zh")
    assert len(DrillStore(db).list_drills()) == 3  # nothing was written


def test_a_read_only_store_must_be_at_this_schema(tmp_path):
    old = tmp_path / "old.sqlite"
    create_at_version(old, SCHEMA_VERSION - 1)
    with pytest.raises(StoreError, match="cannot be upgraded"):
        DrillStore(old, read_only=True)
    with pytest.raises(StoreError, match="no such drill store file"):
        DrillStore(tmp_path / "missing.sqlite", read_only=True)


def test_immutable_is_the_last_resort_when_no_wal_index_can_be_made(three, monkeypatch):
    """``mode=ro`` needs the -shm file; where it cannot be made (read-only media) the store
    opens with ``immutable=1``. Forced here by making ``mode=ro`` fail as it does there."""
    import sim.store as store_mod

    db, ids = three
    real = sqlite3.connect
    tried = []
    nowhere = f"file:{db.parent}/no/such/folder/x.sqlite?mode=ro"  # fails as media would

    def connect(database, *a, **kw):
        tried.append(str(database).rsplit("?", 1)[-1])
        return real(nowhere if str(database).endswith("?mode=ro") else database, *a, **kw)

    monkeypatch.setattr(store_mod.sqlite3, "connect", connect)
    with DrillStore(db, read_only=True) as s:
        assert tried[-1] == "mode=ro&immutable=1"
        assert sorted(d["id"] for d in s.list_drills()) == ids


def test_a_read_only_file_lists_and_reads_and_a_write_is_one_line(three, capsys):
    db, ids = three
    with read_only(db):
        code, out, err = run(capsys, "drills", "--db", str(db), "--json")
        assert code == 0, err
        assert sorted(r["id"] for r in json.loads(out)) == ids
        code, out, err = run(
            capsys, "report", str(ids[0]), "--format", "md", "--out", "-", "--db", str(db)
        )
        assert code == 0 and out.startswith("#"), err
        code, _, err = cli(
            "drill-auto", "drill_leak", "--site", "site_a", "--year", "2027", "--db", str(db)
        )
        one_line_error(code, err, str(db), "read-only")


def test_a_read_only_folder_opens_the_store_immutable(three, capsys):
    """Read-only media: neither the file nor its -wal/-shm can be written or created."""
    db, ids = three
    assert not Path(f"{db}-shm").exists()
    with read_only(db, db.parent):
        with DrillStore(db) as s:
            assert s.read_only and sorted(d["id"] for d in s.list_drills()) == ids
        code, out, err = cli("drills", "--db", str(db))
        assert code == 0 and "2026" in out, err
        code, out, err = run(capsys, "check-store", "--db", str(db))
        assert code == 0 and "ok" in out and "read-only, immutable" in out, err
        code, _, err = run(capsys, "drills", "--db", str(db.parent / "new.sqlite"))
        one_line_error(code, err, "new.sqlite", "cannot be written")


# -- check-store -----------------------------------------------------------------------------------------


def test_check_store_on_a_good_store(three):
    db, _ = three
    code, out, err = cli("check-store", "--db", str(db))
    assert code == 0 and not err
    assert out.strip() == f"{db}: ok (integrity ok, foreign keys ok, schema 4, 3 drills)"


def test_check_store_on_random_bytes_truncated_and_damaged_files(three, tmp_path, capsys):
    db, (_, b, _) = three
    noise = tmp_path / "noise.sqlite"
    noise.write_bytes(os.urandom(8192))
    truncated = tmp_path / "truncated.sqlite"
    data = db.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    for path in (noise, truncated):
        ok, lines = check_store(path)
        assert not ok and len(lines) == 1 and str(path) in lines[0]
    code, _, err = cli("check-store", "--db", str(truncated))
    one_line_error(code, err, str(truncated), "damaged")
    code, _, err = run(capsys, "check-store", "--db", str(noise))
    one_line_error(code, err, str(noise), "not a database")
    # a damaged record and a dangling reference: each a line, exit 2
    raw(db, "UPDATE results SET result_json = '{' WHERE drill_id = ?", b)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("INSERT INTO actions VALUES (999, 1, 0, 'advance', '{}', 'now')")
    conn.close()
    ok, lines = check_store(db)
    assert not ok and any(f"drill {b}: result_json" in line for line in lines), lines
    assert any("foreign keys: 1 rows" in line for line in lines), lines
    assert all(line.startswith(f"{db}: ") for line in lines)
    with pytest.raises(StoreError, match="no such drill store file"):
        check_store(tmp_path / "nowhere.sqlite")


def test_opening_noise_is_one_line_naming_the_file(tmp_path, capsys):
    noise = tmp_path / "noise.sqlite"
    noise.write_bytes(os.urandom(4096))
    code, _, err = run(capsys, "drills", "--db", str(noise))
    one_line_error(code, err, str(noise), "check-store")


# -- paths, ids and outputs ----------------------------------------------------------------------------


def test_tilde_is_expanded_in_db_and_drillsim_db(tmp_path, capsys, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    code, out, err = cli("drills", "--db", "~/a/drills.sqlite", env={"HOME": str(home)}, cwd=work)
    assert code == 0 and out == "no drills stored\n", err
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DRILLSIM_DB", "~/b.sqlite")
    monkeypatch.chdir(work)
    code, out, err = run(capsys, "drills")
    assert code == 0, err
    assert (home / "a" / "drills.sqlite").is_file() and (home / "b.sqlite").is_file()
    assert not (work / "~").exists() and not (ROOT / "~").exists()


def test_tilde_in_the_store_itself(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with DrillStore("~/c.sqlite") as s:
        assert s.path == tmp_path / "c.sqlite"
    monkeypatch.setenv("DRILLSIM_DB", "~/d.sqlite")
    from sim.store import default_db_path

    assert default_db_path() == tmp_path / "d.sqlite"


def test_huge_and_negative_drill_ids_are_one_line(three, capsys):
    db, _ = three
    code, _, err = cli("report", "99999999999999999999", "--format", "md", "--db", str(db))
    one_line_error(code, err, "99999999999999999999", "not a drill id")
    for drill_id in ("-5", "0", "9" * 400):
        code, _, err = run(capsys, "report", drill_id, "--format", "md", "--db", str(db))
        one_line_error(code, err, "not a drill id")
        assert len(err) < 200
    with DrillStore(db) as s:
        for bad in (MAX_ID + 1, 10**30, -1):
            with pytest.raises(StoreError, match="not a drill id"):
                s.drill(bad)
            with pytest.raises(StoreError):
                s.result(bad)
        with pytest.raises(StoreError, match="no improvement item"):
            s.update_improvement(10**30, status="done")
        assert s.list_drills(year=10**30) == [] and s.damaged(year=-(10**30)) == []


def test_an_unwritable_out_is_one_line(three, tmp_path, capsys):
    db, (a, _, _) = three
    long_name = tmp_path / ("x" * 300)  # too long for the file system: stat fails
    code, _, err = cli("report", str(a), "--format", "md", "--out", str(long_name), "--db", str(db))
    one_line_error(code, err, "--out")
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    with read_only(blocked):
        code, _, err = run(
            capsys,
            "report",
            str(a),
            "--format",
            "csv",
            "--out",
            str(blocked / "r.csv"),
            "--db",
            str(db),
        )
        one_line_error(code, err, "--out", "r.csv")


# -- SQLite errors name the file -------------------------------------------------------------------------


def test_a_store_locked_past_the_busy_timeout_is_one_line(tmp_path, monkeypatch):
    import sim.store as store_mod

    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_S", 0.2)
    db = tmp_path / "drills.sqlite"
    s = DrillStore(db)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="locked by another program") as info:
            add_drill(s)
        assert str(db) in str(info.value)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert add_drill(s) == 1  # no transaction was left open
    s.close()


@pytest.mark.parametrize(
    "name, message, expected",
    [
        ("SQLITE_IOERR_WRITE", "disk I/O error", "disk I/O error"),
        ("SQLITE_FULL", "database or disk is full", "disk is full"),
        ("SQLITE_READONLY", "attempt to write a readonly database", "read-only"),
        ("SQLITE_NOTADB", "file is not a database", "cannot use"),
        ("SQLITE_CORRUPT", "database disk image is malformed", "check-store"),
        ("SQLITE_BUSY", "database is locked", "locked"),
        ("SQLITE_CANTOPEN", "unable to open database file", "cannot open"),
    ],
)
def test_each_sqlite_error_names_the_store_in_both_languages(name, message, expected):
    from sim.store import _store_error

    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorname = name
    err = _store_error(Path("/media/usb/drills.sqlite"), exc)
    assert isinstance(err, UsageError) and expected in str(err)
    assert "/media/usb/drills.sqlite" in str(err) and "\n" not in str(err)
    zh = err.text("zh")
    assert "/media/usb/drills.sqlite" in zh and zh != str(err)


# -- the pages ---------------------------------------------------------------------------------------------


def test_review_and_programme_pages_name_a_damaged_drill_and_show_the_rest(three, monkeypatch):
    from streamlit.testing.v1 import AppTest

    db, (a, b, c) = three
    raw(db, DAMAGE["players_not_json"][0], b)
    raw(db, DAMAGE["result_not_json"][0], a)
    monkeypatch.setenv("DRILLSIM_DB", str(db))
    at = AppTest.from_file(str(ROOT / "ui" / "review.py"), default_timeout=120)
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert f"第 {b} 号演练" in warnings and f"第 {a} 号演练" in warnings
    choice = at.selectbox(key="rev_drill")
    assert choice.value == c and len(choice.options) == 1
    at = AppTest.from_file(str(ROOT / "ui" / "programme.py"), default_timeout=120)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception, at.exception
    assert any(f"Drill {b} cannot be shown" in w.value for w in at.warning)
