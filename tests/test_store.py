"""The SQLite drill store: records, the event log, migrations, durability and concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from sim.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    DrillStore,
    StoreError,
    create_at_version,
    default_db_path,
)

WRITER = Path(__file__).resolve().parent / "store_writer.py"
SCENARIO_TEXT = "name: 试卷遗失演练\nkind: drill\n"


@pytest.fixture
def store(tmp_path):
    s = DrillStore(tmp_path / "drills.sqlite")
    yield s
    s.close()


def new_drill(store: DrillStore, **kw) -> int:
    args = {
        "year": 2025,
        "site": "site_a",
        "scenario_name": "drill_answer_sheet_loss",
        "scenario_text": SCENARIO_TEXT,
        "seed": 7,
    }
    args.update(kw)
    return store.create_drill(**args)


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection beside the store, to look at the file as it is on disk."""
    return sqlite3.connect(str(path), isolation_level=None, timeout=10)


def utc(stamp: str) -> datetime:
    t = datetime.fromisoformat(stamp)
    assert t.utcoffset() is not None and t.utcoffset().total_seconds() == 0
    return t


# -- where the file lives -----------------------------------------------------------------------


def test_default_db_path_prefers_drillsim_db(tmp_path, monkeypatch):
    target = tmp_path / "elsewhere" / "mine.sqlite"
    monkeypatch.setenv("DRILLSIM_DB", str(target))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == target
    assert target.parent.is_dir()


def test_default_db_path_uses_the_user_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("DRILLSIM_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "drillsim" / "drills.sqlite"
    assert (tmp_path / "xdg" / "drillsim").is_dir()

    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "share" / "drillsim" / "drills.sqlite"
    assert default_db_path() == expected
    assert expected.parent.is_dir()


# -- drills -------------------------------------------------------------------------------------


def test_create_and_read_a_drill(tmp_path):
    path = tmp_path / "nested" / "dir" / "drills.sqlite"  # parent folders are created
    with DrillStore(path) as s:
        players = {"leader": "王校长", "duty_desk": "李四"}
        drill_id = new_drill(s, players=players, title="2025 年度演练", lang="en", kind="auto")
        row = s.drill(drill_id)
    assert row["id"] == drill_id
    assert row["year"] == 2025 and row["site"] == "site_a" and row["seed"] == 7
    assert row["scenario_name"] == "drill_answer_sheet_loss"
    assert row["scenario_text"] == SCENARIO_TEXT
    assert row["players"] == players
    assert row["title"] == "2025 年度演练"
    assert row["lang"] == "en" and row["kind"] == "auto"
    assert row["status"] == "running"
    assert utc(row["created_at"]) <= utc(row["updated_at"])
    # reopened from disk, the drill is still there
    with DrillStore(path) as s:
        assert s.drill(drill_id)["players"] == players


def test_create_drill_defaults_and_validation(store):
    row = store.drill(new_drill(store))
    assert (row["lang"], row["kind"], row["title"], row["players"]) == ("zh", "team", "", {})
    with pytest.raises(ValueError, match="kind"):
        new_drill(store, kind="robot")
    with pytest.raises(ValueError, match="year"):
        new_drill(store, year="2025")
    with pytest.raises(ValueError, match="site"):
        new_drill(store, site="")
    assert len(store.list_drills()) == 1  # nothing half-stored by the failures


def test_list_drills_newest_first_with_action_counts(store):
    old = new_drill(store, year=2023)
    a = new_drill(store, year=2025, site="site_a")
    b = new_drill(store, year=2025, site="site_b")
    for i in range(3):
        store.append_action(a, sim_minute=i, kind="advance", payload={"to": i})
    store.append_action(old, sim_minute=0, kind="advance", payload={})
    rows = store.list_drills()
    assert [r["id"] for r in rows] == [b, a, old]
    assert {r["id"]: r["n_actions"] for r in rows} == {b: 0, a: 3, old: 1}
    assert rows[0]["players"] == {} and rows[0]["scenario_text"] == SCENARIO_TEXT
    assert [r["id"] for r in store.list_drills(2025)] == [b, a]
    assert [r["id"] for r in store.list_drills(2023)] == [old]
    assert store.list_drills(1999) == []


def test_set_status(store):
    drill_id = new_drill(store)
    before = store.drill(drill_id)["updated_at"]
    store.set_status(drill_id, "ended")
    row = store.drill(drill_id)
    assert row["status"] == "ended" and row["updated_at"] >= before
    store.set_status(drill_id, "running")
    assert store.drill(drill_id)["status"] == "running"
    with pytest.raises(ValueError, match="status"):
        store.set_status(drill_id, "finished")
    assert store.drill(drill_id)["status"] == "running"


def test_unknown_drill_ids_are_store_errors(store):
    new_drill(store)
    calls = [
        lambda: store.drill(999),
        lambda: store.set_status(999, "ended"),
        lambda: store.delete_drill(999),
        lambda: store.append_action(999, sim_minute=0, kind="advance", payload={}),
        lambda: store.actions(999),
        lambda: store.truncate_actions(999, 0),
        lambda: store.save_result(999, {}),
        lambda: store.result(999),
        lambda: store.save_evaluation(999, {}),
        lambda: store.evaluation(999),
        lambda: store.add_improvement(999, action="x", owner_role="leader", due="2026-01-01"),
        lambda: store.improvements(999),
        lambda: store.update_improvement(999, status="done"),
    ]
    for call in calls:
        with pytest.raises(StoreError, match="999"):
            call()
    # a failed write leaves no transaction open: the next write works
    assert (
        store.append_action(store.list_drills()[0]["id"], sim_minute=0, kind="k", payload={}) == 1
    )


def test_delete_drill_removes_everything_about_it(store):
    keep = new_drill(store, site="site_b")
    gone = new_drill(store)
    store.append_action(gone, sim_minute=1, kind="advance", payload={})
    store.append_action(keep, sim_minute=1, kind="advance", payload={})
    store.save_result(gone, {"verdicts": []})
    store.save_evaluation(gone, {"scale": "hseep", "ratings": []})
    store.add_improvement(gone, action="a", owner_role="leader", due="2026-01-01")
    store.delete_drill(gone)
    with pytest.raises(StoreError):
        store.drill(gone)
    assert [r["id"] for r in store.list_drills()] == [keep]
    assert store.improvements() == []
    conn = raw(store.path)
    for table in ("actions", "results", "evaluations", "improvements"):
        n = conn.execute(f"SELECT COUNT(*) FROM {table} WHERE drill_id = ?", (gone,)).fetchone()[0]
        assert n == 0, table
    conn.close()
    assert len(store.actions(keep)) == 1
    assert new_drill(store) > gone  # ids are never reused for a different drill


# -- the event log ------------------------------------------------------------------------------


def test_actions_are_numbered_per_drill_and_read_back_in_order(store):
    a = new_drill(store)
    b = new_drill(store, site="site_b")
    seqs_a, seqs_b = [], []
    for i in range(5):
        seqs_a.append(store.append_action(a, sim_minute=i * 1.5, kind="call", payload={"i": i}))
        if i % 2 == 0:
            seqs_b.append(store.append_action(b, sim_minute=i, kind="advance", payload={"n": i}))
    assert seqs_a == [1, 2, 3, 4, 5]
    assert seqs_b == [1, 2, 3]
    acts = store.actions(a)
    assert [x["seq"] for x in acts] == [1, 2, 3, 4, 5]
    assert [x["payload"] for x in acts] == [{"i": i} for i in range(5)]
    assert [x["sim_minute"] for x in acts] == [0.0, 1.5, 3.0, 4.5, 6.0]
    assert {x["kind"] for x in acts} == {"call"}
    stamps = [utc(x["created_at"]) for x in acts]
    assert stamps == sorted(stamps)
    assert set(acts[0]) == {"seq", "sim_minute", "kind", "payload", "created_at"}
    assert [x["payload"] for x in store.actions(b)] == [{"n": 0}, {"n": 2}, {"n": 4}]


def test_payload_json_keeps_chinese_and_sorts_keys(store):
    drill_id = new_drill(store)
    payload = {"to": "local_government", "content": ["时间", "地点"], "note": "试卷遗失", "a": 1}
    store.append_action(drill_id, sim_minute=12.0, kind="report", payload=payload)
    assert store.actions(drill_id)[0]["payload"] == payload
    conn = raw(store.path)
    stored = conn.execute("SELECT payload_json FROM actions").fetchone()[0]
    conn.close()
    assert "试卷遗失" in stored  # not \\u escapes
    assert stored == json.dumps(payload, ensure_ascii=False, sort_keys=True)


def test_bad_actions_are_refused_and_nothing_is_stored(store):
    drill_id = new_drill(store)
    with pytest.raises(ValueError, match="JSON"):
        store.append_action(drill_id, sim_minute=1, kind="x", payload={"when": object()})
    with pytest.raises(ValueError, match="sim_minute"):
        store.append_action(drill_id, sim_minute=float("nan"), kind="x", payload={})
    with pytest.raises(ValueError, match="payload"):
        store.append_action(drill_id, sim_minute=1, kind="x", payload=[1, 2])
    assert store.actions(drill_id) == []
    assert store.append_action(drill_id, sim_minute=1, kind="x", payload={}) == 1


def test_truncate_actions_undoes_the_last_decisions(store):
    drill_id = new_drill(store)
    other = new_drill(store, site="site_b")
    for i in range(5):
        store.append_action(drill_id, sim_minute=i, kind="advance", payload={"i": i})
    store.append_action(other, sim_minute=0, kind="advance", payload={})
    store.truncate_actions(drill_id, 2)
    assert [x["seq"] for x in store.actions(drill_id)] == [1, 2]
    # the next decision takes the freed number, so the log stays 1, 2, 3 ...
    assert store.append_action(drill_id, sim_minute=9, kind="call", payload={"i": 9}) == 3
    assert [x["payload"] for x in store.actions(drill_id)] == [{"i": 0}, {"i": 1}, {"i": 9}]
    store.truncate_actions(drill_id, 0)
    assert store.actions(drill_id) == []
    assert len(store.actions(other)) == 1  # other drills untouched


# -- results and evaluations ----------------------------------------------------------------------


def test_result_round_trip_ends_the_drill(store):
    drill_id = new_drill(store)
    assert store.result(drill_id) is None
    first = {"verdicts": [{"rule": "first_report_3h", "status": "met"}], "counts": {"met": 1}}
    store.save_result(drill_id, first)
    assert store.result(drill_id) == first
    assert store.drill(drill_id)["status"] == "ended"
    second = {"verdicts": [], "note": "重算"}
    store.save_result(drill_id, second)  # replaces
    assert store.result(drill_id) == second


def test_evaluation_round_trip_with_chinese(store):
    drill_id = new_drill(store)
    other = new_drill(store, site="site_b")
    assert store.evaluation(drill_id) is None
    evaluation = {
        "scale": "gbt46792",
        "ratings": [
            {
                "target": "first_report_3h",
                "kind": "rule",
                "rating": "基本完成",
                "observation": "值班室三小时内口头报告",
            },
            {
                "target": "信息报送及时准确",
                "kind": "objective",
                "rating": "完成",
                "observation": "",
            },
        ],
        "strengths": "现场处置迅速",
        "improvements": "书面报告内容不全",
        "evaluators": "专家组：张三、李四",
    }
    store.save_evaluation(drill_id, evaluation)
    assert store.evaluation(drill_id) == evaluation
    assert store.evaluation(other) is None
    replaced = {"scale": "hseep", "ratings": [], "strengths": "", "improvements": ""}
    store.save_evaluation(drill_id, replaced)
    assert store.evaluation(drill_id) == replaced
    with pytest.raises(ValueError, match="kind"):
        store.save_evaluation(drill_id, {"ratings": [{"target": "x", "kind": "vibe"}]})
    assert store.evaluation(drill_id) == replaced


# -- improvement plan ---------------------------------------------------------------------------


def test_improvements_add_update_and_filter(store):
    a = new_drill(store)
    b = new_drill(store, site="site_b")
    i1 = store.add_improvement(
        a, action="修订通讯录", owner_role="office_director", due="2026-03-01", rule_id="r1"
    )
    i2 = store.add_improvement(a, action="Train the duty desk", owner_role="duty_desk", due="")
    i3 = store.add_improvement(
        b, action="Drill the deputy", owner_role="leader", due="2026-05-01", status="in_progress"
    )
    items = store.improvements(a)
    assert [it["id"] for it in items] == [i1, i2]
    first = items[0]
    assert (first["drill_id"], first["action"], first["owner_role"]) == (
        a,
        "修订通讯录",
        "office_director",
    )
    assert (first["due"], first["status"], first["rule_id"]) == ("2026-03-01", "open", "r1")
    assert items[1]["due"] is None and items[1]["rule_id"] is None
    assert [it["id"] for it in store.improvements()] == [i1, i2, i3]

    store.update_improvement(i1, status="done", due="2026-04-01", rule_id=None)
    updated = store.improvements(a)[0]
    assert (updated["status"], updated["due"], updated["rule_id"]) == ("done", "2026-04-01", None)
    assert updated["action"] == "修订通讯录"  # fields not named are kept
    assert updated["updated_at"] >= updated["created_at"]
    assert [it["id"] for it in store.improvements(open_only=True)] == [i2, i3]
    assert [it["id"] for it in store.improvements(a, open_only=True)] == [i2]

    with pytest.raises(ValueError, match="status"):
        store.update_improvement(i2, status="closed")
    with pytest.raises(ValueError, match="status"):
        store.add_improvement(a, action="x", owner_role="leader", due="", status="later")
    with pytest.raises(ValueError, match="unknown improvement field"):
        store.update_improvement(i2, drill_id=b)
    with pytest.raises(ValueError, match="action"):
        store.update_improvement(i2, action="  ")
    assert store.improvements(a)[1]["status"] == "open"


def test_last_drilled(store):
    assert store.last_drilled() == {}
    new_drill(store, year=2022, site="site_a")
    new_drill(store, year=2024, site="site_a", kind="auto")  # reference drills count
    ended = new_drill(store, year=2023, site="site_b")
    store.save_result(ended, {})
    new_drill(store, year=2021, site="site_b")
    new_drill(store, year=2025, site="site_c")  # still running counts
    assert store.last_drilled() == {"site_a": 2024, "site_b": 2023, "site_c": 2025}


# -- migrations ---------------------------------------------------------------------------------


def insert_old_data(path: Path, version: int) -> int:
    """A drill with three actions (and a result at v2+) written the way that version could."""
    conn = raw(path)
    now = "2024-05-01T08:00:00.000000+00:00"
    cur = conn.execute(
        "INSERT INTO drills (year, site, scenario_name, scenario_text, seed, lang, players_json,"
        " title, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (2024, "site_b", "old", SCENARIO_TEXT, 3, "zh", '{"leader": "赵六"}', "旧演练", "ended")
        + (now, now),
    )
    drill_id = cur.lastrowid
    for seq in (1, 2, 3):
        conn.execute(
            "INSERT INTO actions (drill_id, seq, sim_minute, kind, payload_json, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (drill_id, seq, seq * 10.0, "advance", json.dumps({"to": seq * 10}), now),
        )
    if version >= 2:
        conn.execute(
            "INSERT INTO results (drill_id, result_json, saved_at) VALUES (?, ?, ?)",
            (drill_id, '{"counts": {"met": 2}}', now),
        )
    conn.close()
    return drill_id


def user_version(path: Path) -> int:
    conn = raw(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_migrations_are_the_schema_history():
    assert len(MIGRATIONS) == SCHEMA_VERSION == 4


@pytest.mark.parametrize("version", range(SCHEMA_VERSION + 1))
def test_create_at_version_builds_exactly_that_version(tmp_path, version):
    path = tmp_path / f"v{version}.sqlite"
    create_at_version(path, version)
    assert user_version(path) == version
    conn = raw(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    drill_cols = {r[1] for r in conn.execute("PRAGMA table_info(drills)")}
    conn.close()
    expected = [
        set(),
        {"drills", "actions"},
        {"results"},
        {"evaluations", "improvements"},
        {"seats"},
    ]
    assert tables - {"sqlite_sequence"} == set().union(*expected[: version + 1])
    assert ("kind" in drill_cols) == (version >= 2)


@pytest.mark.parametrize("version", range(SCHEMA_VERSION))
def test_opening_an_older_database_migrates_and_keeps_the_data(tmp_path, version):
    path = tmp_path / f"v{version}.sqlite"
    create_at_version(path, version)
    old = insert_old_data(path, version) if version >= 1 else None

    with DrillStore(path) as s:
        assert user_version(path) == SCHEMA_VERSION
        if old is not None:
            row = s.drill(old)
            assert (row["year"], row["site"], row["scenario_name"]) == (2024, "site_b", "old")
            assert row["players"] == {"leader": "赵六"} and row["title"] == "旧演练"
            assert row["kind"] == "team"  # the v2 column's default for drills made before it
            assert [a["payload"] for a in s.actions(old)] == [{"to": 10}, {"to": 20}, {"to": 30}]
            assert s.result(old) == ({"counts": {"met": 2}} if version >= 2 else None)
            assert s.last_drilled() == {"site_b": 2024}
            # the old drill takes new decisions and the new kinds of record
            assert s.append_action(old, sim_minute=40, kind="advance", payload={"to": 40}) == 4
            s.save_evaluation(old, {"scale": "hseep", "ratings": [], "strengths": "好"})
            assert s.evaluation(old)["strengths"] == "好"
            s.add_improvement(old, action="补充预案", owner_role="leader", due="2025-01-01")
            assert [i["action"] for i in s.improvements(old)] == ["补充预案"]
        # new features work on the migrated file
        new = new_drill(s, kind="auto")
        s.save_result(new, {"policy": "auto"})
        s.save_evaluation(new, {"scale": "gbt46792", "ratings": []})
        item = s.add_improvement(new, action="a", owner_role="leader", due="2026-01-01")
        s.update_improvement(item, status="done")
        assert s.drill(new)["kind"] == "auto" and s.result(new) == {"policy": "auto"}
        assert s.improvements(open_only=True) == ([] if old is None else s.improvements(old))

    # opening again is a no-op on the schema and keeps everything
    with DrillStore(path) as s:
        assert user_version(path) == SCHEMA_VERSION
        assert len(s.list_drills()) == (2 if old is not None else 1)
    conn = raw(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def test_a_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "future.sqlite"
    create_at_version(path, SCHEMA_VERSION)
    conn = raw(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        DrillStore(path)
    assert user_version(path) == SCHEMA_VERSION + 1
    conn = raw(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == mode
    conn.close()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are my meeting notes, not a database\n" * 100)
    with pytest.raises(StoreError, match="as a drill store: file is not a database"):
        DrillStore(path)


# -- the file's settings ------------------------------------------------------------------------


def test_wal_and_pragmas_and_integrity(store):
    drill_id = new_drill(store)
    store.append_action(drill_id, sim_minute=1, kind="advance", payload={})
    assert (store.path.parent / (store.path.name + "-wal")).exists()
    conn = raw(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    c = store._conn  # the store's own connection: its per-connection settings
    assert c.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert c.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_close_and_context_manager(tmp_path):
    with DrillStore(tmp_path / "d.sqlite") as s:
        drill_id = new_drill(s)
    with pytest.raises(StoreError, match="closed"):
        s.drill(drill_id)
    s.close()  # twice is fine


def test_a_write_waits_for_another_writer_instead_of_failing(tmp_path):
    path = tmp_path / "d.sqlite"
    s = DrillStore(path)
    drill_id = new_drill(s)
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    other.execute(
        "INSERT INTO actions (drill_id, seq, sim_minute, kind, payload_json, created_at)"
        " VALUES (?, 1, 0, 'advance', '{}', 'then')",
        (drill_id,),
    )
    timer = threading.Timer(0.6, lambda: other.execute("COMMIT"))
    timer.start()
    try:
        t0 = time.monotonic()
        seq = s.append_action(drill_id, sim_minute=1, kind="call", payload={})
        waited = time.monotonic() - t0
    finally:
        timer.join()
        other.close()
    assert waited >= 0.5  # it queued behind the other writer ...
    assert seq == 2  # ... and numbered its action after the other's commit
    assert [a["seq"] for a in s.actions(drill_id)] == [1, 2]
    s.close()


# -- durability: a killed writer loses nothing it acknowledged ----------------------------------

KILL_DELAYS = [0.0, 0.004, 0.013, 0.002, 0.027, 0.008, 0.041, 0.019]  # fixed "random" moments


def test_acknowledged_writes_survive_sigkill(tmp_path):
    path = tmp_path / "kill.sqlite"
    with DrillStore(path) as s:
        drill_id = new_drill(s)
    acknowledged: list[int] = []
    for run, delay in enumerate(KILL_DELAYS):
        err = tmp_path / f"writer{run}.err"
        with err.open("w") as err_file:
            proc = subprocess.Popen(
                [sys.executable, str(WRITER), str(path), str(drill_id), str(run * 100_000)],
                stdout=subprocess.PIPE,
                stderr=err_file,
                text=True,
            )
            try:
                head = [proc.stdout.readline() for _ in range(3)]  # it is writing now
                time.sleep(delay)
                os.kill(proc.pid, signal.SIGKILL)
                rest = proc.stdout.read()  # what it printed (and so acknowledged) before dying
                proc.wait(timeout=10)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL, err.read_text()
        lines = ("".join(head) + rest).split("\n")[:-1]  # a cut-off last line is no ack
        assert len(lines) >= 3, err.read_text()
        acknowledged += [int(line) for line in lines]

    assert acknowledged == sorted(set(acknowledged))  # each run went on where the last one stopped
    conn = raw(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    with DrillStore(path) as s:
        stored = s.actions(drill_id)
    seqs = [a["seq"] for a in stored]
    assert seqs == list(range(1, len(seqs) + 1))
    assert set(acknowledged) <= set(seqs)
    # at most one write per kill was committed but not yet printed
    assert len(seqs) - len(acknowledged) <= len(KILL_DELAYS)
    assert len({a["payload"]["i"] for a in stored}) == len(stored)


# -- concurrency ----------------------------------------------------------------------------------

N_WRITES = 200


@pytest.mark.parametrize("start_version", [SCHEMA_VERSION, 1], ids=["current", "needs-migration"])
def test_two_processes_append_at_the_same_time(tmp_path, start_version):
    path = tmp_path / "shared.sqlite"
    if start_version == SCHEMA_VERSION:
        with DrillStore(path) as s:
            drills = [new_drill(s, site="site_a"), new_drill(s, site="site_b")]
    else:  # both writers open an old file together: one migrates, the other waits
        create_at_version(path, start_version)
        drills = [insert_old_data(path, start_version), insert_old_data(path, start_version)]
    go = tmp_path / "go"
    procs, errs = [], []
    for n, drill_id in enumerate(drills):
        err = (tmp_path / f"writer{n}.err").open("w")
        errs.append(err)
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WRITER), str(path), str(drill_id), "0"]
                + ["--count", str(N_WRITES), "--go", str(go)],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        )
    try:
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        go.touch()  # both start writing together
        outs = [p.stdout.read() for p in procs]
        codes = [p.wait(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        for e in errs:
            e.close()
    stderr = [(tmp_path / f"writer{n}.err").read_text() for n in range(2)]
    assert codes == [0, 0], stderr  # e.g. no "database is locked"
    spans = []
    for n, out in enumerate(outs):
        lines = out.splitlines()
        first_seq = 4 if start_version < SCHEMA_VERSION else 1  # old drills have 3 actions
        assert [int(x) for x in lines[:-1]] == list(range(first_seq, first_seq + N_WRITES)), n
        _, t0, t1 = lines[-1].split()
        spans.append((float(t0), float(t1)))
    (a0, a1), (b0, b1) = spans
    assert a0 < b1 and b0 < a1  # the two really were writing during the same time

    assert user_version(path) == SCHEMA_VERSION
    with DrillStore(path) as s:
        for drill_id in drills:
            new = [a for a in s.actions(drill_id) if a["kind"] == "tick"]
            assert [a["payload"]["i"] for a in new] == list(range(N_WRITES))
    conn = raw(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_two_threads_share_one_store(store):
    drills = [new_drill(store, site="site_a"), new_drill(store, site="site_b")]
    barrier = threading.Barrier(3)
    seqs: dict[int, list[int]] = {d: [] for d in drills}
    errors: list[BaseException] = []
    reads = [0]

    def write(drill_id: int) -> None:
        try:
            barrier.wait()
            for i in range(N_WRITES):
                seqs[drill_id].append(
                    store.append_action(drill_id, sim_minute=i, kind="tick", payload={"i": i})
                )
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def read() -> None:  # a page being redrawn while the decisions come in
        try:
            barrier.wait()
            while any(len(v) < N_WRITES for v in seqs.values()) and not errors:
                for row in store.list_drills():
                    store.actions(row["id"])
                reads[0] += 1
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(d,)) for d in drills]
    threads.append(threading.Thread(target=read))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert reads[0] > 0
    for drill_id in drills:
        assert seqs[drill_id] == list(range(1, N_WRITES + 1))
        assert [a["payload"]["i"] for a in store.actions(drill_id)] == list(range(N_WRITES))
    assert {r["id"]: r["n_actions"] for r in store.list_drills()} == {d: N_WRITES for d in drills}
