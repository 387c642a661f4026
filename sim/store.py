"""The embedded SQLite store: drills, their decisions, results, evaluations and improvement plans.

A drill is event-sourced: every decision the team takes is appended the moment it is taken and a
drill is rebuilt by replaying them, so each write is its own durable transaction. The file is opened
in WAL mode with ``synchronous=FULL`` (an acknowledged write survives a killed process) and a 10 s
busy timeout; every write starts with ``BEGIN IMMEDIATE`` so two processes writing at once queue
for the lock instead of failing with "database is locked". One ``DrillStore`` may be shared by the
threads of a Streamlit server: its connection is guarded by a lock.

The schema is versioned with ``PRAGMA user_version`` and upgraded by the ordered ``MIGRATIONS``
list; applying its first *k* entries gives version *k*.

A file that cannot be written (its mode, its folder, read-only media) is opened read-only
(``mode=ro``, or ``immutable=1`` when not even the ``-wal``/``-shm`` files can be made): it can be
listed and read, and a write is a one-line :class:`StoreError`. Every SQLite error (locked past the
busy timeout, disk I/O, not a database) becomes a StoreError naming the file, in the app's language
too. A record that cannot be decoded (bad JSON, a wrong type) is named by its drill id: listings
leave it out and :meth:`DrillStore.damaged` reports it, so one damaged row hides nothing else.
:func:`check_store` runs SQLite's integrity and foreign-key checks without changing the file.
"""

from __future__ import annotations

import hmac
import json
import math
import numbers
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sim.cli import UsageError
from sim.i18n import t

__all__ = [
    "DRILL_KINDS",
    "DRILL_STATUSES",
    "IMPROVEMENT_STATUSES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "BUSY_TIMEOUT_S",
    "DrillStore",
    "MAX_ID",
    "StoreError",
    "check_store",
    "create_at_version",
    "default_db_path",
    "expand_path",
]

BUSY_TIMEOUT_S = 10.0
DRILL_KINDS = ("team", "auto")
DRILL_STATUSES = ("running", "ended")
IMPROVEMENT_STATUSES = ("open", "in_progress", "done")
RATING_KINDS = ("rule", "objective")
_IMPROVEMENT_FIELDS = ("action", "owner_role", "due", "status", "rule_id")


#: The largest row id SQLite stores (a signed 64-bit integer); ids run from 1.
MAX_ID = 2**63 - 1
_INT64 = (-(2**63), 2**63 - 1)


class StoreError(UsageError):
    """A problem with the drill store a user can act on (unknown id, newer schema, a damaged,
    locked or read-only file). A :class:`~sim.cli.UsageError`, so the CLI prints it as one line
    with exit 2; ``key`` and ``params`` (a ``store_*`` string) give it in the app's language."""

    def __init__(self, message: str | None = None, *, key: str | None = None, **params: Any):
        self.key = key
        self.params = params
        text = message if message is not None else t(key or "store_other", "en", **params)
        super().__init__(" ".join(str(text).splitlines()))

    def text(self, lang: str) -> str:
        """The message in ``lang`` (``zh`` or ``en``)."""
        return t(self.key, lang, **self.params) if self.key else str(self)


class SeatConflict(StoreError):
    """Another session appended a decision first: rebuild the drill and decide again."""


class _CommitThen(Exception):
    """Raised inside a write: commit what was done, then raise ``error`` (a wrong join code
    must count even though the join is refused)."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


def _store_error(path: Path, exc: BaseException) -> StoreError:
    """An SQLite error as a StoreError naming the store file (one line, what to do)."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    detail = (str(exc).splitlines() or [""])[0] or type(exc).__name__
    p = str(path)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "is locked" in detail:
        return StoreError(key="store_locked", path=p, seconds=f"{BUSY_TIMEOUT_S:g}")
    if name.startswith("SQLITE_READONLY") or "readonly database" in detail:
        return StoreError(key="store_read_only", path=p)
    if name == "SQLITE_FULL" or "database or disk is full" in detail:
        return StoreError(key="store_full", path=p, detail=detail)
    if name.startswith("SQLITE_IOERR") or "disk I/O error" in detail:
        return StoreError(key="store_io", path=p, detail=detail)
    if (
        name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT"))
        or "not a database" in detail
        or "malformed" in detail
    ):
        return StoreError(key="store_not_db", path=p, detail=detail)
    if name.startswith("SQLITE_CANTOPEN") or "unable to open" in detail:
        return StoreError(key="store_cannot_open", path=p, detail=detail)
    return StoreError(key="store_other", path=p, detail=detail)


def _read_only_error(exc: sqlite3.Error) -> bool:
    """Whether an error opening a file says it cannot be written (so read-only may still work)."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    return name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_IOERR"))


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

_V4 = """
CREATE TABLE seats (
    drill_id   INTEGER NOT NULL REFERENCES drills (id) ON DELETE CASCADE,
    seat       TEXT    NOT NULL,
    join_code  TEXT,
    tries      INTEGER NOT NULL DEFAULT 0,
    token_hash TEXT,
    joined_at  TEXT,
    last_seen  REAL,
    PRIMARY KEY (drill_id, seat)
);
"""

Migration = str | Callable[[sqlite3.Connection], None]

#: Ordered schema steps; ``MIGRATIONS[k]`` takes a database from version k to k + 1. A string is
#: SQL (one or more statements); a callable gets the connection inside the open transaction. Append
#: new steps, never edit old ones: stored files were built by them.
MIGRATIONS: list[Migration] = [_V1, _V2, _V3, _V4]
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


def _refuse_newer(version: int, path: str | Path = "the database") -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(key="store_newer", path=str(path), version=version, known=SCHEMA_VERSION)


def _migrate(conn: sqlite3.Connection, target: int, path: str | Path = "the database") -> None:
    """Apply the missing migrations up to ``target``, each step with its version bump atomically.

    The version is re-read under the write lock, so two processes opening an old file at once do
    not both apply a step.
    """
    while True:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = _user_version(conn)
            _refuse_newer(version, path)
            if version >= target:
                conn.execute("COMMIT")
                return
            _apply(conn, MIGRATIONS[version])
            conn.execute(f"PRAGMA user_version = {version + 1:d}")
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back an open transaction; a failing rollback leaves the first error to be reported."""
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def create_at_version(path: str | Path, version: int) -> None:
    """Build a database at an earlier schema ``version`` (first ``version`` migrations only).

    For tests of the upgrade path: insert data the old way, then open the file with ``DrillStore``.
    """
    if not 0 <= version <= SCHEMA_VERSION:
        raise ValueError(f"version must be 0..{SCHEMA_VERSION}, got {version}")
    path = expand_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        _migrate(conn, version, path)
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
        path = expand_path(env)
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = expand_path(base) / "drillsim" / "drills.sqlite"
    with suppress(OSError):  # opening the store says why it cannot be made there
        path.parent.mkdir(parents=True, exist_ok=True)
    return path


def expand_path(path: str | Path) -> Path:
    """A path with ``~`` expanded (``--db ~/x.db``, ``DRILLSIM_DB='~/x.db'``), never a literal
    ``./~`` folder; a ``~user`` that cannot be expanded is a StoreError."""
    try:
        return Path(path).expanduser()
    except RuntimeError as exc:
        raise StoreError(key="store_cannot_open", path=str(path), detail=str(exc)) from None


def _writable(path: Path) -> bool:
    """Whether the file and its folder (for the -wal and -shm files) can be written."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _uri(path: Path, query: str) -> str:
    """An SQLite ``file:`` URI for ``path`` (``?``, ``#``, ``%`` and spaces escaped)."""
    return f"file:{urllib.parse.quote(str(path.absolute()))}?{query}"


#: How an existing file is opened without creating it, in order: read-write, read-only, and
#: immutable (read-only media, where not even the -wal/-shm files can be created).
_OPEN_MODES = ("mode=rw", "mode=ro", "mode=ro&immutable=1")


def _connect_existing(path: Path, *, writable: bool) -> tuple[sqlite3.Connection, str]:
    """Open an existing store file, never creating one: ``mode=rw`` when ``writable``, else (or
    when that fails for want of write access) ``mode=ro``, else ``immutable=1``. Each mode is
    tried with a first read, for SQLite opens lazily. Returns the connection and its mode."""
    last: sqlite3.Error | None = None
    for mode in _OPEN_MODES if writable else _OPEN_MODES[1:]:
        try:
            conn = sqlite3.connect(
                _uri(path, mode),
                uri=True,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            last = exc
            continue
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            return conn, mode
        except sqlite3.Error as exc:
            conn.close()
            if not _read_only_error(exc):
                raise _store_error(path, exc) from None
            last = exc
    raise _store_error(path, last or sqlite3.OperationalError("unable to open database file"))


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
    """An integer (numpy integers too), never a bool, that SQLite can store (64 bits)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not _INT64[0] <= int(value) <= _INT64[1]:
        raise ValueError(f"{name} must fit in 64 bits, got {int(value)}")
    return int(value)


def _row_id(value: Any) -> Any:
    """A drill or item id as given, refused when SQLite could not take it (out of 1..MAX_ID),
    so a huge id is a StoreError rather than an OverflowError."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if not 1 <= int(value) <= MAX_ID:
            raise StoreError(key="store_bad_id", value=int(value), max=MAX_ID)
        return int(value)
    return value


# -- damaged records ------------------------------------------------------------------------------
#
# A row changed outside the program (a bad edit, a damaged disk page) may hold text that is not
# JSON or a value of the wrong type. It is named by its drill id and left out of listings, never
# raised from them; what is said about it gives column and type, never the stored text.

_WHOLE = "a whole number"
_DRILL_TEXT = (
    "site",
    "scenario_name",
    "scenario_text",
    "lang",
    "title",
    "status",
    "created_at",
    "updated_at",
    "kind",
)


def _kind_of(value: Any) -> str:
    """What a stored value is, in words (never the value itself: it may be typed text)."""
    return {
        "NoneType": "empty (NULL)",
        "str": "text",
        "bytes": "a blob",
        "int": "a whole number",
        "float": "a number",
        "list": "a list",
        "dict": "an object",
        "bool": "true or false",
    }.get(type(value).__name__, type(value).__name__)


def _decode(text: Any, column: str) -> tuple[dict | None, str | None]:
    """A stored JSON object, or None and what is wrong with it."""
    if not isinstance(text, str):
        return None, f"{column} is {_kind_of(text)}, not JSON text"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return (
            None,
            f"{column} is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
        )
    except (ValueError, RecursionError) as exc:
        return None, f"{column} is not usable JSON ({type(exc).__name__})"
    if not isinstance(value, dict):
        return None, f"{column} holds {_kind_of(value)}, not an object"
    return value, None


def _drill_problem(row: Mapping[str, Any]) -> str | None:
    """What is wrong with a stored drill row (its columns and ``players_json``), or None."""
    if isinstance(row, sqlite3.Row):
        row = dict(row)
    for col in ("year", "seed"):
        if col in row and (isinstance(row[col], bool) or not isinstance(row[col], int)):
            return f"{col} is {_kind_of(row[col])}, not {_WHOLE}"
    for col in _DRILL_TEXT:
        if col in row and not isinstance(row[col], str):
            return f"{col} is {_kind_of(row[col])}, not text"
    if "status" in row and row["status"] not in DRILL_STATUSES:
        return f"status is not one of {', '.join(DRILL_STATUSES)}"
    if "kind" in row and row["kind"] not in DRILL_KINDS:
        return f"kind is not one of {', '.join(DRILL_KINDS)}"
    players, problem = _decode(row.get("players_json", "{}"), "players_json")
    if problem:
        return problem
    if any(not isinstance(v, str) for v in (players or {}).values()):
        return "players_json holds a name that is not text"
    return None


def _action_problem(row: Mapping[str, Any]) -> str | None:
    """What is wrong with a stored decision, or None."""
    seq = row["seq"]
    where = f"decision {seq}" if isinstance(seq, int) else "a decision"
    if not isinstance(seq, int) or isinstance(seq, bool):
        return f"{where}: seq is {_kind_of(seq)}, not {_WHOLE}"
    minute = row["sim_minute"]
    if isinstance(minute, bool) or not isinstance(minute, int | float) or not math.isfinite(minute):
        return f"{where}: sim_minute is {_kind_of(minute)}, not a finite number"
    if not isinstance(row["kind"], str):
        return f"{where}: kind is {_kind_of(row['kind'])}, not text"
    problem = _decode(row["payload_json"], "payload_json")[1]
    return f"{where}: {problem}" if problem else None


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _damaged(conn: sqlite3.Connection, year: int | None = None) -> list[dict[str, Any]]:
    """Every drill with a record that cannot be decoded: ``[{"id", "problem"}]``, newest first.

    Checks the drill's row, its decisions, its result and its evaluation (the tables an older
    schema lacks are skipped); ``problem`` says the first thing wrong with each.
    """
    tables = _tables(conn)
    if "drills" not in tables:
        return []
    where, params = ("", ()) if year is None else (" WHERE year = ?", (year,))
    found: dict[Any, str] = {}
    ids = set()
    cur = conn.execute(f"SELECT * FROM drills{where}", params)  # noqa: S608 - fixed text
    names = [d[0] for d in cur.description]
    for values in cur:
        row = dict(zip(names, values, strict=True))
        ids.add(row["id"])
        problem = _drill_problem(row)
        if problem:
            found[row["id"]] = problem
    of_year = "" if year is None else " WHERE drill_id IN (SELECT id FROM drills WHERE year = ?)"
    if "actions" in tables:
        sql = "SELECT drill_id, seq, sim_minute, kind, payload_json FROM actions"
        for r in conn.execute(sql + of_year, params):
            if r[0] in ids and r[0] not in found:
                problem = _action_problem(
                    {"seq": r[1], "sim_minute": r[2], "kind": r[3], "payload_json": r[4]}
                )
                if problem:
                    found[r[0]] = problem
    for table, column in (("results", "result_json"), ("evaluations", "evaluation_json")):
        if table in tables:
            sql = f"SELECT drill_id, {column} FROM {table}"  # noqa: S608 - fixed names
            for drill_id, text in conn.execute(sql + of_year, params):
                if drill_id in ids and drill_id not in found:
                    problem = _decode(text, column)[1]
                    if problem:
                        found[drill_id] = problem
    return [{"id": i, "problem": found[i]} for i in sorted(found, reverse=True)]


# -- the store ----------------------------------------------------------------------------------


class DrillStore:
    """One SQLite file holding every drill; safe to share between threads and processes.

    ``read_only=True`` opens an existing file for reading only; a file (or its folder) that
    cannot be written is opened so anyway, and ``read_only`` then says so.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = expand_path(path)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        if not read_only and self.path.is_file() and not _writable(self.path):
            read_only = True
        conn = None
        if not read_only:
            conn = self._open_read_write()
            read_only = conn is None
        if conn is None:
            conn = self._open_read_only()
        self.read_only: bool = read_only
        self._conn = conn

    def _open_read_write(self) -> sqlite3.Connection | None:
        """Open (creating if need be) and upgrade the file; None when it exists but turns out
        not writable, so it is opened read-only instead."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                key="store_no_folder", path=str(self.path), detail=exc.strerror or str(exc)
            ) from None
        existed = self.path.is_file()
        if not existed and not os.access(self.path.parent, os.W_OK):
            raise StoreError(
                key="store_cannot_create", path=str(self.path), folder=str(self.path.parent)
            )
        try:
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            if existed and _read_only_error(exc):
                return None
            raise _store_error(self.path, exc) from None
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _refuse_newer(_user_version(conn), self.path)  # before touching a file we will not use
            self._set_wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            if _user_version(conn) != SCHEMA_VERSION:
                _migrate(conn, SCHEMA_VERSION, self.path)
        except sqlite3.Error as exc:
            conn.close()
            if existed and _read_only_error(exc):
                return None
            raise _store_error(self.path, exc) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """Open an existing file for reading only (``mode=ro``, else ``immutable=1``); it must
        be at this program's schema version, for a read-only file cannot be upgraded."""
        if not self.path.is_file():
            raise StoreError(key="store_missing", path=str(self.path))
        conn, _ = _connect_existing(self.path, writable=False)
        try:
            conn.row_factory = sqlite3.Row
            version = _user_version(conn)
            _refuse_newer(version, self.path)
            if version < SCHEMA_VERSION:
                raise StoreError(
                    key="store_old_read_only",
                    path=str(self.path),
                    version=version,
                    known=SCHEMA_VERSION,
                )
            conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as exc:
            conn.close()
            raise _store_error(self.path, exc) from None
        except BaseException:
            conn.close()
            raise
        return conn

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
        """The connection for reads, held under the thread lock; SQLite errors name the file."""
        with self._lock:
            if self._conn is None:
                raise StoreError(key="store_closed")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise _store_error(self.path, exc) from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: ``BEGIN IMMEDIATE`` takes the file's write lock up front.

        A read-only store refuses before starting; an SQLite error rolls back and names the file.
        """
        with self._lock:
            if self._conn is None:
                raise StoreError(key="store_closed")
            if self.read_only:
                raise StoreError(key="store_read_only", path=str(self.path))
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except _CommitThen as then:
                    conn.execute("COMMIT")
                    raise then.error from None
                except BaseException:
                    _rollback(conn)
                    raise
            except sqlite3.Error as exc:
                raise _store_error(self.path, exc) from None

    def _check_drill(self, conn: sqlite3.Connection, drill_id: Any) -> None:
        if conn.execute("SELECT 1 FROM drills WHERE id = ?", (drill_id,)).fetchone() is None:
            raise StoreError(key="store_no_drill", id=drill_id, path=str(self.path))

    def _damaged_error(self, drill_id: Any, problem: str) -> StoreError:
        return StoreError(
            key="store_damaged_drill", path=str(self.path), id=drill_id, problem=problem
        )

    @staticmethod
    def _touch(conn: sqlite3.Connection, drill_id: int, now: str) -> None:
        conn.execute("UPDATE drills SET updated_at = ? WHERE id = ?", (now, drill_id))

    @staticmethod
    def _drill_row(row: sqlite3.Row) -> dict:
        d = dict(row)
        d["players"] = json.loads(d.pop("players_json") or "{}")
        return d

    def damaged(self, year: int | None = None) -> list[dict[str, Any]]:
        """Drills (of one ``year`` if given) with a record that cannot be decoded, newest first:
        ``[{"id", "problem"}]``. ``list_drills`` leaves out those whose own row is damaged; the
        pages and ``drills`` show these beside the list, so one damaged row hides nothing else."""
        if isinstance(year, numbers.Integral) and not _INT64[0] <= int(year) <= _INT64[1]:
            return []
        with self._read() as conn:
            return _damaged(conn, year)

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
        result: dict | None = None,
    ) -> int:
        """Store a new running drill and return its id.

        ``scenario_text`` is the YAML snapshot the drill runs on (later edits of the scenario file
        do not change a stored drill); ``players`` maps role id -> typed name, kept only here.
        ``kind`` is "team" (a human team) or "auto" (played by the plan-compliant policy).
        ``result``, when given, is saved with the drill in the same transaction and the drill is
        stored ended (a reference drill): a killed process leaves both or neither.
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
        if result is not None and not isinstance(result, dict):
            raise ValueError(f"result must be a dict, got {type(result).__name__}")
        result_json = None if result is None else _dumps(result, "result")
        now = _now()
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO drills (year, site, scenario_name, scenario_text, seed, lang,"
                " players_json, title, status, created_at, updated_at, kind)"
                " VALUES (:year, :site, :scenario_name, :scenario_text, :seed, :lang,"
                " :players_json, :title, :status, :now, :now, :kind)",
                {
                    "year": year,
                    "site": site,
                    "scenario_name": scenario_name,
                    "scenario_text": scenario_text,
                    "seed": seed,
                    "lang": lang,
                    "players_json": players_json,
                    "title": title,
                    "status": "running" if result_json is None else "ended",
                    "now": now,
                    "kind": kind,
                },
            )
            drill_id = int(cur.lastrowid)
            if result_json is not None:
                conn.execute(
                    "INSERT INTO results (drill_id, result_json, saved_at) VALUES (?, ?, ?)",
                    (drill_id, result_json, now),
                )
            return drill_id

    def drill(self, drill_id: int) -> dict:
        """Every column of one drill, ``players`` decoded; StoreError if there is no such drill
        or its row is damaged."""
        drill_id = _row_id(drill_id)
        with self._read() as conn:
            row = conn.execute("SELECT * FROM drills WHERE id = ?", (drill_id,)).fetchone()
        if row is None:
            raise StoreError(key="store_no_drill", id=drill_id, path=str(self.path))
        problem = _drill_problem(row)
        if problem:
            raise self._damaged_error(drill_id, problem)
        return self._drill_row(row)

    def list_drills(self, year: int | None = None) -> list[dict]:
        """Drills (of one ``year`` if given), newest first: latest year, then latest created.

        Each row is like ``drill()`` plus ``n_actions``, the number of stored decisions. A drill
        whose row is damaged is left out (``damaged()`` names it), so the others still show.
        """
        if isinstance(year, numbers.Integral) and not _INT64[0] <= int(year) <= _INT64[1]:
            return []
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
        return [self._drill_row(r) for r in rows if not _drill_problem(r)]

    def set_status(self, drill_id: int, status: str) -> None:
        """Mark a drill "running" or "ended"; any other status is a ValueError."""
        drill_id = _row_id(drill_id)
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
        drill_id = _row_id(drill_id)
        with self._write() as conn:
            self._check_drill(conn, drill_id)
            conn.execute("DELETE FROM drills WHERE id = ?", (drill_id,))

    # -- decisions (the event log) ----------------------------------------------------------------

    def append_action(
        self,
        drill_id: int,
        *,
        sim_minute: float,
        kind: str,
        payload: dict,
        expect_seq: int | None = None,
    ) -> int:
        """Append one decision in one durable transaction; return its seq (1, 2, 3 ... per drill).

        Once this returns the decision survives a killed process. ``expect_seq``: the seq the
        caller's copy of the drill expects (its last + 1); when another session appended first,
        nothing is stored and :class:`SeatConflict` says so — the caller rebuilds and decides
        again on the drill as it now is (several seats act on one drill).
        """
        drill_id = _row_id(drill_id)
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
            if expect_seq is not None and int(seq) != int(expect_seq):
                raise SeatConflict(key="store_conflict", id=drill_id)
            conn.execute(
                "INSERT INTO actions (drill_id, seq, sim_minute, kind, payload_json, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (drill_id, seq, float(sim_minute), kind, payload_json, now),
            )
            self._touch(conn, drill_id, now)
            return int(seq)

    def actions(self, drill_id: int) -> list[dict]:
        """Decisions by seq: ``{"seq", "sim_minute", "kind", "payload", "created_at"}``."""
        drill_id = _row_id(drill_id)
        with self._read() as conn:
            self._check_drill(conn, drill_id)
            rows = conn.execute(
                "SELECT seq, sim_minute, kind, payload_json, created_at FROM actions"
                " WHERE drill_id = ? ORDER BY seq",
                (drill_id,),
            ).fetchall()
        out = []
        for r in rows:
            problem = _action_problem(r)
            if problem:
                raise self._damaged_error(drill_id, problem)
            out.append(
                {
                    "seq": r["seq"],
                    "sim_minute": r["sim_minute"],
                    "kind": r["kind"],
                    "payload": _decode(r["payload_json"], "payload_json")[0],
                    "created_at": r["created_at"],
                }
            )
        return out

    def truncate_actions(self, drill_id: int, after_seq: int) -> None:
        """Drop every decision with seq > ``after_seq`` ("undo"); the next append reuses the seq."""
        drill_id = _row_id(drill_id)
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
        drill_id = _row_id(drill_id)
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
            # join codes and seat sessions end with the drill
            conn.execute(
                "UPDATE seats SET join_code = NULL, token_hash = NULL WHERE drill_id = ?",
                (drill_id,),
            )

    # -- seats: join codes and who is connected -------------------------------------------------

    def issue_seat_code(self, drill_id: int, seat: str) -> str:
        """A new one-time join code for a seat of a running drill; it replaces the seat's earlier
        code and ends the session of whoever held the seat by the old one."""
        from sim.seats import new_join_code

        drill_id = _row_id(drill_id)
        seat = _require_text(seat, "seat")[:64]
        code = new_join_code()
        with self._write() as conn:
            self._running(conn, drill_id)
            conn.execute(
                "INSERT OR REPLACE INTO seats (drill_id, seat, join_code, tries, token_hash,"
                " joined_at, last_seen) VALUES (?, ?, ?, 0, NULL, NULL, NULL)",
                (drill_id, seat, code),
            )
            self._touch(conn, drill_id, _now())
        return code

    def join_seat(self, drill_id: int, seat: str, code: str) -> str:
        """Take a seat with its join code; returns the seat's session token (kept by the
        seat's page). The code is used up; a wrong one counts, and after ``MAX_CODE_TRIES``
        wrong ones the code is void. Refused (StoreError) once the drill has ended."""
        from sim.seats import MAX_CODE_TRIES, new_token, normal_code, token_hash

        drill_id = _row_id(drill_id)
        typed = normal_code(code)
        with self._write() as conn:
            self._running(conn, drill_id)
            row = conn.execute(
                "SELECT join_code, tries FROM seats WHERE drill_id = ? AND seat = ?",
                (drill_id, str(seat)),
            ).fetchone()
            if row is None or not row["join_code"] or row["tries"] >= MAX_CODE_TRIES:
                raise StoreError(key="store_seat_no_code")
            if not typed or not hmac.compare_digest(typed, row["join_code"]):
                conn.execute(
                    "UPDATE seats SET tries = tries + 1 WHERE drill_id = ? AND seat = ?",
                    (drill_id, str(seat)),
                )
                raise _CommitThen(StoreError(key="store_seat_wrong_code"))
            token = new_token()
            conn.execute(
                "UPDATE seats SET join_code = NULL, token_hash = ?, joined_at = ?, last_seen = ?"
                " WHERE drill_id = ? AND seat = ?",
                (token_hash(token), _now(), time.time(), drill_id, str(seat)),
            )
        return token

    def seat_token_ok(self, drill_id: int, seat: str, token: Any) -> bool:
        """Whether ``token`` is the session of ``seat`` in a running drill (and mark it seen)."""
        from sim.seats import token_hash

        if not isinstance(token, str) or not token or len(token) > 128:
            return False
        drill_id = _row_id(drill_id)
        with self._write() as conn:
            drill = conn.execute("SELECT status FROM drills WHERE id = ?", (drill_id,)).fetchone()
            if drill is None or drill["status"] != "running":
                return False
            row = conn.execute(
                "SELECT token_hash FROM seats WHERE drill_id = ? AND seat = ?",
                (drill_id, str(seat)),
            ).fetchone()
            if row is None or not row["token_hash"]:
                return False
            if not hmac.compare_digest(row["token_hash"], token_hash(token)):
                return False
            conn.execute(
                "UPDATE seats SET last_seen = ? WHERE drill_id = ? AND seat = ?",
                (time.time(), drill_id, str(seat)),
            )
        return True

    def seats(self, drill_id: int) -> dict[str, dict[str, Any]]:
        """Per seat with a code or a session: ``code`` (unused, else None), ``joined``,
        ``last_seen`` (wall-clock seconds, None before it joined) and ``tries``."""
        drill_id = _row_id(drill_id)
        with self._read() as conn:
            rows = conn.execute(
                "SELECT seat, join_code, tries, token_hash, joined_at, last_seen FROM seats"
                " WHERE drill_id = ?",
                (drill_id,),
            ).fetchall()
        return {
            r["seat"]: {
                "code": r["join_code"],
                "joined": bool(r["token_hash"]),
                "joined_at": r["joined_at"],
                "last_seen": r["last_seen"],
                "tries": r["tries"],
            }
            for r in rows
        }

    def _running(self, conn: sqlite3.Connection, drill_id: int) -> None:
        row = conn.execute("SELECT status FROM drills WHERE id = ?", (drill_id,)).fetchone()
        if row is None:
            raise StoreError(key="store_no_drill", id=drill_id, path=str(self.path))
        if row["status"] != "running":
            raise StoreError(key="store_seat_ended", id=drill_id)

    def result(self, drill_id: int) -> dict | None:
        """The saved result of a drill, or None if none was saved."""
        drill_id = _row_id(drill_id)
        with self._read() as conn:
            self._check_drill(conn, drill_id)
            row = conn.execute(
                "SELECT result_json FROM results WHERE drill_id = ?", (drill_id,)
            ).fetchone()
        return None if row is None else self._stored_object(drill_id, row[0], "result_json")

    def _stored_object(self, drill_id: int, text: Any, column: str) -> dict:
        """A stored JSON object, or a StoreError naming the drill when it cannot be decoded."""
        value, problem = _decode(text, column)
        if problem:
            raise self._damaged_error(drill_id, problem)
        return value or {}

    # -- expert evaluation ----------------------------------------------------------------------

    def save_evaluation(self, drill_id: int, evaluation: dict) -> None:
        """Store the expert group's evaluation of a drill (one per drill, replaced on save).

        ``{"scale": "hseep" | "gbt46792" | ..., "ratings": [{"target", "kind": "rule" |
        "objective", "rating", "observation"}], "strengths", "improvements", "evaluators"}``.
        """
        drill_id = _row_id(drill_id)
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
        drill_id = _row_id(drill_id)
        with self._read() as conn:
            self._check_drill(conn, drill_id)
            row = conn.execute(
                "SELECT evaluation_json FROM evaluations WHERE drill_id = ?", (drill_id,)
            ).fetchone()
        return None if row is None else self._stored_object(drill_id, row[0], "evaluation_json")

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
        drill_id = _row_id(drill_id)
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
        if isinstance(item_id, numbers.Integral) and not 1 <= int(item_id) <= MAX_ID:
            raise StoreError(key="store_no_item", id=int(item_id), path=str(self.path))
        assignments = ", ".join(f"{name} = ?" for name in values)  # names checked above
        with self._write() as conn:
            cur = conn.execute(
                f"UPDATE improvements SET {assignments}, updated_at = ? WHERE id = ?",
                (*values.values(), _now(), item_id),
            )
            if cur.rowcount == 0:
                raise StoreError(key="store_no_item", id=item_id, path=str(self.path))

    def improvements(self, drill_id: int | None = None, *, open_only: bool = False) -> list[dict]:
        """Improvement items (of one drill if given) in the order added; ``open_only``: not done."""
        sql = "SELECT * FROM improvements"
        where: list[str] = []
        params: list[Any] = []
        if drill_id is not None:
            drill_id = _row_id(drill_id)
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
            rows = conn.execute(
                "SELECT site, MAX(year) FROM drills WHERE typeof(year) = 'integer'"
                " AND typeof(site) = 'text' GROUP BY site"
            ).fetchall()
        return {site: int(year) for site, year in rows}


# -- checking a file ------------------------------------------------------------------------------

#: The tables each schema version has (a file at that version must hold them).
_TABLES = {1: {"drills", "actions"}, 2: {"results"}, 3: {"evaluations", "improvements"}}
_MAX_LINES = 5


def check_store(path: str | Path) -> tuple[bool, list[str]]:
    """Check a store file by reading it (no record is written, nothing is migrated): SQLite's
    ``integrity_check``, the foreign keys, the schema version and tables, and every drill's
    records (JSON and types). Returns ``(ok, lines)``: one line when all is well, else one line
    per problem (at most a few).

    A missing file, or one that cannot be opened, is a StoreError; a file that is not an SQLite
    database (random bytes, a truncated header) is reported as damaged.
    """
    path = expand_path(path)
    if not path.exists():
        raise StoreError(key="store_missing", path=str(path))
    if path.is_dir():
        raise StoreError(key="store_cannot_open", path=str(path), detail="it is a folder")
    try:
        conn, mode = _connect_existing(path, writable=_writable(path))
    except StoreError as exc:
        if exc.key != "store_not_db":
            raise
        detail = exc.params.get("detail", "")
        return False, [f"{path}: damaged or not a drill store: {detail}"]
    try:
        return _check(conn, path, mode)
    finally:
        conn.close()


def _check(conn: sqlite3.Connection, path: Path, mode: str) -> tuple[bool, list[str]]:
    problems: list[str] = []
    try:
        rows = [str(r[0]) for r in conn.execute(f"PRAGMA integrity_check({_MAX_LINES})")]
    except sqlite3.DatabaseError as exc:
        return False, [f"{path}: damaged: {exc} (SQLite's integrity check could not run)"]
    if rows != ["ok"]:
        problems += [f"integrity check: {r}" for r in rows]
    try:
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            table, rowid = fk[0][0], fk[0][1]
            problems.append(
                f"foreign keys: {len(fk)} rows point to a drill that is not there"
                f" (first: {table} row {rowid})"
            )
        version = _user_version(conn)
        tables = _tables(conn)
        n_drills = None
        if version > SCHEMA_VERSION:
            problems.append(
                f"schema version {version} is newer than this program knows ({SCHEMA_VERSION});"
                " update drillsim to check it"
            )
        elif version == 0 and not tables:
            problems.append("an empty database, not a drill store")
        else:
            wanted = set().union(*(_TABLES.get(v, set()) for v in range(1, version + 1)))
            missing = sorted(wanted - tables)
            if missing or version == 0:
                problems.append(
                    f"not a drill store at schema version {version}"
                    + (f": tables missing: {', '.join(missing)}" if missing else "")
                )
            else:
                n_drills = conn.execute("SELECT COUNT(*) FROM drills").fetchone()[0]
                problems += [f"drill {d['id']}: {d['problem']}" for d in _damaged(conn)]
    except sqlite3.DatabaseError as exc:
        problems.append(f"{exc} (while reading the tables)")
    if problems:
        lines = [f"{path}: damaged: {p}" for p in problems[:_MAX_LINES]]
        if len(problems) > _MAX_LINES:
            lines.append(f"{path}: … and {len(problems) - _MAX_LINES} more problems")
        return False, lines
    notes = [f"schema {version}"]
    if version < SCHEMA_VERSION:
        notes[0] += f" (upgraded to {SCHEMA_VERSION} when next opened for writing)"
    notes.append(f"{n_drills} drills")
    if mode != "mode=rw":
        notes.append("read-only" + (", immutable" if "immutable" in mode else ""))
    return True, [f"{path}: ok (integrity ok, foreign keys ok, {', '.join(notes)})"]
