"""The embedded SQLite store: drills, their decisions, results, evaluations and improvement plans.

A drill is event-sourced: every decision the team takes is appended the moment it is taken and a
drill is rebuilt by replaying them, so each write is its own durable transaction. The file is opened
in WAL mode with ``synchronous=FULL`` (an acknowledged write survives a killed process) and a 10 s
busy timeout; every write starts with ``BEGIN IMMEDIATE`` so two processes writing at once queue
for the lock instead of failing with "database is locked". One ``DrillStore`` may be shared by the
threads of a Streamlit server: its connection is guarded by a lock.

The schema is versioned with ``PRAGMA user_version`` and upgraded by the ordered ``MIGRATIONS``
list; applying its first *k* entries gives version *k*.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "DRILL_KINDS",
    "DRILL_STATUSES",
    "IMPROVEMENT_STATUSES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "BUSY_TIMEOUT_S",
    "DrillStore",
    "StoreError",
    "create_at_version",
    "default_db_path",
]

BUSY_TIMEOUT_S = 10.0
DRILL_KINDS = ("team", "auto")
DRILL_STATUSES = ("running", "ended")
IMPROVEMENT_STATUSES = ("open", "in_progress", "done")
RATING_KINDS = ("rule", "objective")
_IMPROVEMENT_FIELDS = ("action", "owner_role", "due", "status", "rule_id")


class StoreError(Exception):
    """A problem with the drill store a user can act on (unknown id, newer schema, bad file)."""


# -- schema -------------------------------------------------------------------------------------

_V1 = """
CREATE TABLE drills (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    year          INTEGER NOT NULL,
    site          TEXT    NOT NULL,
    scenario_name TEXT    NOT NULL,
    scenario_text TEXT    NOT NULL,
    seed          INTEGER NOT NULL,
    lang          TEXT    NOT NULL DEFAULT 'zh',
    players_json  TEXT    NOT NULL DEFAULT '{}',
    title         TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT 'running',
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX drills_year ON drills (year);
CREATE TABLE actions (
    drill_id     INTEGER NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    sim_minute   REAL    NOT NULL,
    kind         TEXT    NOT NULL,
    payload_json TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    PRIMARY KEY (drill_id, seq)
);
"""

_V2 = """
ALTER TABLE drills ADD COLUMN kind TEXT NOT NULL DEFAULT 'team';
CREATE TABLE results (
    drill_id    INTEGER PRIMARY KEY REFERENCES drills (id) ON DELETE CASCADE,
    result_json TEXT NOT NULL,
    saved_at    TEXT NOT NULL
);
"""

_V3 = """
CREATE TABLE evaluations (
    drill_id        INTEGER PRIMARY KEY REFERENCES drills (id) ON DELETE CASCADE,
    evaluation_json TEXT NOT NULL,
    saved_at        TEXT NOT NULL
);
CREATE TABLE improvements (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    drill_id   INTEGER NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    action     TEXT    NOT NULL,
    owner_role TEXT    NOT NULL,
    due        TEXT,
    status     TEXT    NOT NULL DEFAULT 'open',
    rule_id    TEXT,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE INDEX improvements_drill ON improvements (drill_id);
"""

Migration = str | Callable[[sqlite3.Connection], None]

#: Ordered schema steps; ``MIGRATIONS[k]`` takes a database from version k to k + 1. A string is
#: SQL (one or more statements); a callable gets the connection inside the open transaction. Append
#: new steps, never edit old ones: stored files were built by them.
MIGRATIONS: list[Migration] = [_V1, _V2, _V3]
SCHEMA_VERSION: int = len(MIGRATIONS)


def _statements(sql: str) -> Iterator[str]:
    """Split SQL into single statements (``executescript`` would commit the open transaction)."""
    buf = ""
    for ch in sql:
        buf += ch
        if ch == ";" and sqlite3.complete_statement(buf):
            if buf.strip(" \n\t;"):
                yield buf.strip()
            buf = ""
    if buf.strip():
        yield buf.strip()


def _apply(conn: sqlite3.Connection, step: Migration) -> None:
    if callable(step):
        step(conn)
    else:
        for stmt in _statements(step):
            conn.execute(stmt)


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _refuse_newer(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {version}, newer than this program knows "
            f"({SCHEMA_VERSION}); update drillsim to open it"
        )


def _migrate(conn: sqlite3.Connection, target: int) -> None:
    """Apply the missing migrations up to ``target``, each step with its version bump atomically.

    The version is re-read under the write lock, so two processes opening an old file at once do
    not both apply a step.
    """
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _user_version(conn)
            _refuse_newer(version)
            if version >= target:
                conn.execute("COMMIT")
                return
            _apply(conn, MIGRATIONS[version])
            conn.execute(f"PRAGMA user_version = {version + 1:d}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def create_at_version(path: str | Path, version: int) -> None:
    """Build a database at an earlier schema ``version`` (first ``version`` migrations only).

    For tests of the upgrade path: insert data the old way, then open the file with ``DrillStore``.
    """
    if not 0 <= version <= SCHEMA_VERSION:
        raise ValueError(f"version must be 0..{SCHEMA_VERSION}, got {version}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        _migrate(conn, version)
    finally:
        conn.close()


# -- paths and small helpers ----------------------------------------------------------------------


def default_db_path() -> Path:
    """Where the store lives: ``$DRILLSIM_DB``, else the user's data folder (parent created).

    The data folder is ``$XDG_DATA_HOME`` or ``~/.local/share``, plus ``drillsim/drills.sqlite``;
    records stay on the trainer's machine, outside the code checkout.
    """
    env = os.environ.get("DRILLSIM_DB")
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base).expanduser() / "drillsim" / "drills.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _now() -> str:
    """The current time, ISO 8601 in UTC with microseconds (sorts as text)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _dumps(value: Any, what: str) -> str:
    """JSON for storage: readable Chinese, stable key order; a clear error if not JSON-able."""
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be stored as JSON: {exc}") from None


def _require_text(value: Any, name: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be text, got {type(value).__name__}")
    if not empty_ok and not value.strip():
        raise ValueError(f"{name} must not be empty")
    return value


def _require_int(value: Any, name: str) -> int:
    """An integer (numpy integers too), never a bool."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return int(value)


# -- the store ----------------------------------------------------------------------------------


class DrillStore:
    """One SQLite file holding every drill; safe to share between threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {self.path}: {exc}") from None
        try:
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _refuse_newer(_user_version(conn))  # before touching a file we will not use
            self._set_wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            if _user_version(conn) != SCHEMA_VERSION:
                _migrate(conn, SCHEMA_VERSION)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"cannot use {self.path} as a drill store: {exc}") from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    @staticmethod
    def _set_wal(conn: sqlite3.Connection) -> None:
        """Switch to WAL (persistent in the file); retried while another opener holds the lock."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    # -- connection plumbing --------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent); later calls raise StoreError."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> DrillStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DrillStore({str(self.path)!r})"

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """The connection for reads, held under the thread lock."""
        with self._lock:
            if self._conn is None:
                raise StoreError("the drill store is closed")
            yield self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: ``BEGIN IMMEDIATE`` takes the file's write lock up front."""
        with self._lock:
            if self._conn is None:
                raise StoreError("the drill store is closed")
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @staticmethod
    def _check_drill(conn: sqlite3.Connection, drill_id: int) -> None:
        if conn.execute("SELECT 1 FROM drills WHERE id = ?", (drill_id,)).fetchone() is None:
            raise StoreError(f"no drill with id {drill_id}")

    @staticmethod
    def _touch(conn: sqlite3.Connection, drill_id: int, now: str) -> None:
        conn.execute("UPDATE drills SET updated_at = ? WHERE id = ?", (now, drill_id))

    @staticmethod
    def _drill_row(row: sqlite3.Row) -> dict:
        d = dict(row)
        d["players"] = json.loads(d.pop("players_json") or "{}")
        return d

    # -- drills ---------------------------------------------------------------------------------

    def create_drill(
        self,
        *,
        year: int,
        site: str,
        scenario_name: str,
        scenario_text: str,
        seed: int,
        lang: str = "zh",
        players: dict[str, str] | None = None,
        title: str = "",
        kind: str = "team",
    ) -> int:
        """Store a new running drill and return its id.

        ``scenario_text`` is the YAML snapshot the drill runs on (later edits of the scenario file
        do not change a stored drill); ``players`` maps role id -> typed name, kept only here.
        ``kind`` is "team" (a human team) or "auto" (played by the plan-compliant policy).
        """
        year = _require_int(year, "year")
        seed = _require_int(seed, "seed")
        _require_text(site, "site")
        _require_text(scenario_name, "scenario_name")
        _require_text(scenario_text, "scenario_text", empty_ok=True)
        _require_text(lang, "lang")
        _require_text(title, "title", empty_ok=True)
        if kind not in DRILL_KINDS:
            raise ValueError(f"kind must be one of {', '.join(DRILL_KINDS)}, got {kind!r}")
        players = dict(players or {})
        for role, name in players.items():
            _require_text(role, "a player's role id")
            _require_text(name, f"the name for role {role}", empty_ok=True)
        players_json = _dumps(players, "players")
        now = _now()
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO drills (year, site, scenario_name, scenario_text, seed, lang,"
                " players_json, title, status, created_at, updated_at, kind)"
                " VALUES (:year, :site, :scenario_name, :scenario_text, :seed, :lang,"
                " :players_json, :title, 'running', :now, :now, :kind)",
                {
                    "year": year,
                    "site": site,
                    "scenario_name": scenario_name,
                    "scenario_text": scenario_text,
                    "seed": seed,
                    "lang": lang,
                    "players_json": players_json,
                    "title": title,
                    "now": now,
                    "kind": kind,
                },
            )
            return int(cur.lastrowid)

    def drill(self, drill_id: int) -> dict:
        """Every column of one drill, ``players`` decoded; StoreError if there is no such drill."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM drills WHERE id = ?", (drill_id,)).fetchone()
        if row is None:
            raise StoreError(f"no drill with id {drill_id}")
        return self._drill_row(row)

    def list_drills(self, year: int | None = None) -> list[dict]:
        """Drills (of one ``year`` if given), newest first: latest year, then latest created.

        Each row is like ``drill()`` plus ``n_actions``, the number of stored decisions.
        """
        sql = (
            "SELECT d.*, (SELECT COUNT(*) FROM actions a WHERE a.drill_id = d.id) AS n_actions"
            " FROM drills d"
        )
        params: tuple = ()
        if year is not None:
            sql += " WHERE d.year = ?"
            params = (year,)
        sql += " ORDER BY d.year DESC, d.id DESC"
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [self._drill_row(r) for r in rows]

    def set_status(self, drill_id: int, status: str) -> None:
        """Mark a drill "running" or "ended"; any other status is a ValueError."""
        if status not in DRILL_STATUSES:
            raise ValueError(f"status must be one of {', '.join(DRILL_STATUSES)}, got {status!r}")
        with self._write() as conn:
            self._check_drill(conn, drill_id)
            conn.execute(
                "UPDATE drills SET status = ?, updated_at = ? WHERE id = ?",
                (status, _now(), drill_id),
            )

    def delete_drill(self, drill_id: int) -> None:
        """Delete a drill with its actions, result, evaluation and improvement items."""
        with self._write() as conn:
            self._check_drill(conn, drill_id)
            conn.execute("DELETE FROM drills WHERE id = ?", (drill_id,))

    # -- decisions (the event log) ----------------------------------------------------------------

    def append_action(self, drill_id: int, *, sim_minute: float, kind: str, payload: dict) -> int:
        """Append one decision in one durable transaction; return its seq (1, 2, 3 ... per drill).

        Once this returns the decision survives a killed process.
        """
        if isinstance(sim_minute, bool) or not isinstance(sim_minute, numbers.Real):
            raise ValueError(f"sim_minute must be a number, got {sim_minute!r}")
        if not math.isfinite(sim_minute):
            raise ValueError(f"sim_minute must be finite, got {sim_minute!r}")
        _require_text(kind, "kind")
        if not isinstance(payload, dict):
            raise ValueError(f"payload must be a dict, got {type(payload).__name__}")
        payload_json = _dumps(payload, "payload")
        now = _now()
        with self._write() as conn:
            self._check_drill(conn, drill_id)
            seq = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM actions WHERE drill_id = ?", (drill_id,)
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO actions (drill_id, seq, sim_minute, kind, payload_json, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (drill_id, seq, float(sim_minute), kind, payload_json, now),
            )
            self._touch(conn, drill_id, now)
            return int(seq)

    def actions(self, drill_id: int) -> list[dict]:
        """Decisions by seq: ``{"seq", "sim_minute", "kind", "payload", "created_at"}``."""
        with self._read() as conn:
            self._check_drill(conn, drill_id)
            rows = conn.execute(
                "SELECT seq, sim_minute, kind, payload_json, created_at FROM actions"
                " WHERE drill_id = ? ORDER BY seq",
                (drill_id,),
            ).fetchall()
        return [
            {
                "seq": r["seq"],
                "sim_minute": r["sim_minute"],
                "kind": r["kind"],
                "payload": json.loads(r["payload_json"]),
                "created_at": r["created_at"],
            }
            for r in rows
        ]

    def truncate_actions(self, drill_id: int, after_seq: int) -> None:
        """Drop every decision with seq > ``after_seq`` ("undo"); the next append reuses the seq."""
        after_seq = _require_int(after_seq, "after_seq")
        with self._write() as conn:
            self._check_drill(conn, drill_id)
            conn.execute(
                "DELETE FROM actions WHERE drill_id = ? AND seq > ?", (drill_id, after_seq)
            )
            self._touch(conn, drill_id, _now())

    # -- results --------------------------------------------------------------------------------

    def save_result(self, drill_id: int, result: dict) -> None:
        """Store a drill's result (scorecard etc.), replacing any earlier one, and end the drill."""
        if not isinstance(result, dict):
            raise ValueError(f"result must be a dict, got {type(result).__name__}")
        result_json = _dumps(result, "result")
        now = _now()
        with self._write() as conn:
            self._check_drill(conn, drill_id)
            conn.execute(
                "INSERT OR REPLACE INTO results (drill_id, result_json, saved_at) VALUES (?, ?, ?)",
                (drill_id, result_json, now),
            )
            conn.execute(
                "UPDATE drills SET status = 'ended', updated_at = ? WHERE id = ?", (now, drill_id)
            )

    def result(self, drill_id: int) -> dict | None:
        """The saved result of a drill, or None if none was saved."""
        with self._read() as conn:
            self._check_drill(conn, drill_id)
            row = conn.execute(
                "SELECT result_json FROM results WHERE drill_id = ?", (drill_id,)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    # -- expert evaluation ----------------------------------------------------------------------

    def save_evaluation(self, drill_id: int, evaluation: dict) -> None:
        """Store the expert group's evaluation of a drill (one per drill, replaced on save).

        ``{"scale": "hseep" | "gbt46792" | ..., "ratings": [{"target", "kind": "rule" |
        "objective", "rating", "observation"}], "strengths", "improvements", "evaluators"}``.
        """
        if not isinstance(evaluation, dict):
            raise ValueError(f"evaluation must be a dict, got {type(evaluation).__name__}")
        ratings = evaluation.get("ratings", [])
        if not isinstance(ratings, list):
            raise ValueError("evaluation ratings must be a list")
        for r in ratings:
            if not isinstance(r, dict):
                raise ValueError(f"each rating must be a dict, got {type(r).__name__}")
            if "kind" in r and r["kind"] not in RATING_KINDS:
                raise ValueError(
                    f"a rating's kind must be one of {', '.join(RATING_KINDS)}, got {r['kind']!r}"
                )
        evaluation_json = _dumps(evaluation, "evaluation")
        now = _now()
        with self._write() as conn:
            self._check_drill(conn, drill_id)
            conn.execute(
                "INSERT OR REPLACE INTO evaluations (drill_id, evaluation_json, saved_at)"
                " VALUES (?, ?, ?)",
                (drill_id, evaluation_json, now),
            )
            self._touch(conn, drill_id, now)

    def evaluation(self, drill_id: int) -> dict | None:
        """The saved evaluation of a drill, or None if none was saved."""
        with self._read() as conn:
            self._check_drill(conn, drill_id)
            row = conn.execute(
                "SELECT evaluation_json FROM evaluations WHERE drill_id = ?", (drill_id,)
            ).fetchone()
        return None if row is None else json.loads(row[0])

    # -- improvement plan -----------------------------------------------------------------------

    @staticmethod
    def _check_improvement_field(name: str, value: Any) -> Any:
        if name in ("action", "owner_role"):
            return _require_text(value, name)
        if name == "status":
            if value not in IMPROVEMENT_STATUSES:
                raise ValueError(
                    f"status must be one of {', '.join(IMPROVEMENT_STATUSES)}, got {value!r}"
                )
            return value
        if name in ("due", "rule_id"):  # optional text
            return None if value is None else _require_text(value, name, empty_ok=True) or None
        raise ValueError(
            f"unknown improvement field {name!r} (fields: {', '.join(_IMPROVEMENT_FIELDS)})"
        )

    def add_improvement(
        self,
        drill_id: int,
        *,
        action: str,
        owner_role: str,
        due: str | None,
        status: str = "open",
        rule_id: str | None = None,
    ) -> int:
        """Add an item to the improvement plan arising from a drill; return the item's id."""
        values = {
            name: self._check_improvement_field(name, value)
            for name, value in (
                ("action", action),
                ("owner_role", owner_role),
                ("due", due),
                ("status", status),
                ("rule_id", rule_id),
            )
        }
        now = _now()
        with self._write() as conn:
            self._check_drill(conn, drill_id)
            cur = conn.execute(
                "INSERT INTO improvements (drill_id, action, owner_role, due, status, rule_id,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (drill_id, *(values[f] for f in _IMPROVEMENT_FIELDS), now, now),
            )
            return int(cur.lastrowid)

    def update_improvement(self, item_id: int, **fields: Any) -> None:
        """Change an item's action, owner_role, due, status (open|in_progress|done) or rule_id."""
        values = {name: self._check_improvement_field(name, v) for name, v in fields.items()}
        if not values:
            return
        assignments = ", ".join(f"{name} = ?" for name in values)  # names checked above
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE improvements SET {assignments}, updated_at = ? WHERE id = ?",
                (*values.values(), _now(), item_id),
            )
            if cur.rowcount == 0:
                raise StoreError(f"no improvement item with id {item_id}")

    def improvements(self, drill_id: int | None = None, *, open_only: bool = False) -> list[dict]:
        """Improvement items (of one drill if given) in the order added; ``open_only``: not done."""
        sql = "SELECT * FROM improvements"
        where: list[str] = []
        params: list[Any] = []
        if drill_id is not None:
            where.append("drill_id = ?")
            params.append(drill_id)
        if open_only:
            where.append("status != 'done'")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        with self._read() as conn:
            if drill_id is not None:
                self._check_drill(conn, drill_id)
            rows = conn.execute(sql, params).fetchall()
        return [dict(r) for r in rows]

    # -- settings kept with the record ----------------------------------------------------------

    def last_drilled(self) -> dict[str, int]:
        """Site -> the latest year it was drilled (team or auto drills, ended or not)."""
        with self._read() as conn:
            rows = conn.execute("SELECT site, MAX(year) FROM drills GROUP BY site").fetchall()
        return {site: int(year) for site, year in rows}
