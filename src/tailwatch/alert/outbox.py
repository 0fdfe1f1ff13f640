"""The alert store and delivery outbox: one SQLite file in the data directory.

``alerts`` keeps every alert with its evidence (primary key: the alert's stable id, so the
same alert added twice, e.g. by a replay or after a restart, is stored once). ``deliveries``
holds one row per (alert, sink) with its status (``pending``, ``delivered``, ``failed``: gave
up after the last attempt, ``refused``: permanent failure such as the SSRF guard), attempts,
next attempt time and last error.

Delivery is *at least once*: a row is marked delivered only after the sink said so. A
dispatcher claims due rows by pushing their next attempt time forward by a lease before
sending, so a second dispatcher on the same file does not send them too, and a dispatcher
killed mid-attempt leaves them to be retried when the lease runs out. Every change is a
committed transaction (WAL, synchronous=FULL): what was acknowledged survives a crash.

``engine_state`` keeps the alert engine's cool-downs and geofence states
(:mod:`tailwatch.alert.state`), written in the transaction that stores the alerts that set
them (:meth:`Outbox.add` with ``state``) and whole at the end of a session
(:meth:`Outbox.save_state`); ``engine_meta`` holds its layout version and newest event
time. A table of another layout or with unreadable rows is ignored with a warning and
emptied (:meth:`Outbox.load_state`): the cool-downs start afresh, nothing else is lost.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailwatch.alert.model import Alert
from tailwatch.alert.state import STATE_VERSION, EngineState, StateRow
from tailwatch.core.errors import StoreError

__all__ = ["Claim", "Outbox"]

log = logging.getLogger("tailwatch.alert")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    t REAL,
    icao24 TEXT NOT NULL,
    created_at REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_t ON alerts (t);
CREATE INDEX IF NOT EXISTS alerts_rule ON alerts (rule_id, t);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id TEXT NOT NULL REFERENCES alerts (id),
    sink TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    delivered_at REAL,
    PRIMARY KEY (alert_id, sink)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at);
"""
_STATE_TABLES = (
    """CREATE TABLE IF NOT EXISTS engine_state (
    rule_key TEXT NOT NULL,
    slot INTEGER NOT NULL,
    icao24 INTEGER NOT NULL,
    value REAL NOT NULL,
    t REAL NOT NULL,
    PRIMARY KEY (rule_key, slot, icao24)
)""",
    """CREATE TABLE IF NOT EXISTS engine_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
)
_STATE_COLUMNS = ["rule_key", "slot", "icao24", "value", "t"]
_META_COLUMNS = ["key", "value"]


class _BadStateError(ValueError):
    """The engine_state table cannot be read as this version writes it."""


def _state_row(raw: Sequence[Any]) -> StateRow:
    key, slot, icao, value, t = raw
    ok = (isinstance(key, str) and isinstance(slot, int) and slot >= -1
          and isinstance(icao, int) and 0 <= icao <= 0xFFFFFF
          and all(isinstance(x, float | int) and math.isfinite(x) for x in (value, t)))  # fmt: skip
    if not ok:
        raise _BadStateError(f"unreadable row {tuple(raw)!r}")
    return StateRow(key, slot, icao, float(value), float(t))


def _write_state(db: sqlite3.Connection, state: EngineState) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO engine_state (rule_key, slot, icao24, value, t) "
        "VALUES (?, ?, ?, ?, ?)",
        [tuple(r) for r in state.rows],
    )
    meta = [("version", str(STATE_VERSION))]
    if math.isfinite(state.t_max_s):
        old = db.execute("SELECT value FROM engine_meta WHERE key = 't_max_s'").fetchone()
        try:
            t_max_s = max(state.t_max_s, float(old[0])) if old else state.t_max_s
        except ValueError:
            t_max_s = state.t_max_s
        meta.append(("t_max_s", repr(t_max_s)))
    db.executemany("INSERT OR REPLACE INTO engine_meta (key, value) VALUES (?, ?)", meta)


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery taken for one attempt."""

    alert: Alert
    sink: str
    attempts: int  #: attempts made before this one


class Outbox:
    """See the module docstring. Thread-safe (one connection, a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            for stmt in _STATE_TABLES:
                self._db.execute(stmt)
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the alert outbox {self.path}: {e}") from e
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _tx(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    out = fn(self._db)
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
                return out
            except sqlite3.Error as e:
                raise StoreError(f"alert outbox {self.path}: {e}") from e

    # ------------------------------------------------------------------ writing

    def add(
        self,
        alerts: Iterable[Alert],
        sinks_for: Callable[[Alert], Sequence[str]],
        now: float,
        state: EngineState | None = None,
    ) -> list[Alert]:
        """Store alerts and queue a delivery per sink; returns the alerts that were new.
        ``state``: engine state rows (the cool-downs the alerts set) stored in the same
        transaction."""
        items = list(alerts)

        def work(db: sqlite3.Connection) -> list[Alert]:
            new = []
            for a in items:
                cur = db.execute(
                    "INSERT OR IGNORE INTO alerts (id, rule_id, t, icao24, created_at, body) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (a.id, a.rule_id, a.t, a.icao24, now, a.to_json()),
                )
                if cur.rowcount:
                    new.append(a)
                    db.executemany(
                        "INSERT OR IGNORE INTO deliveries (alert_id, sink, next_at) "
                        "VALUES (?, ?, ?)",
                        [(a.id, s, now) for s in sinks_for(a)],
                    )
            if state is not None:
                _write_state(db, state)
            return new

        out: list[Alert] = self._tx(work)
        return out

    def claim(
        self, now: float, lease_s: float, sinks: Sequence[str], limit: int = 100
    ) -> list[Claim]:
        """Take the due pending deliveries to the given sinks (pushing their next attempt
        ``lease_s`` ahead, so nobody else takes them meanwhile)."""
        if not sinks:
            return []
        marks = ",".join("?" * len(sinks))

        def work(db: sqlite3.Connection) -> list[Claim]:
            rows = db.execute(
                "SELECT d.alert_id, d.sink, d.attempts, a.body FROM deliveries d "
                "JOIN alerts a ON a.id = d.alert_id "
                f"WHERE d.status = 'pending' AND d.next_at <= ? AND d.sink IN ({marks}) "
                "ORDER BY d.next_at, a.t LIMIT ?",
                (now, *sinks, limit),
            ).fetchall()
            db.executemany(
                "UPDATE deliveries SET next_at = ? WHERE alert_id = ? AND sink = ?",
                [(now + lease_s, r[0], r[1]) for r in rows],
            )
            return [Claim(Alert.from_dict(json.loads(r[3])), r[1], int(r[2])) for r in rows]

        out: list[Claim] = self._tx(work)
        return out

    def delivered(self, alert_id: str, sink: str, now: float) -> None:
        self._tx(lambda db: db.execute(
            "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, "
            "delivered_at = ?, last_error = '' WHERE alert_id = ? AND sink = ?",
            (now, alert_id, sink),
        ))  # fmt: skip

    def failed(
        self, alert_id: str, sink: str, error: str, next_at: float | None, *, refused: bool = False
    ) -> None:
        """Record a failed attempt: retry at ``next_at``, or give up when it is None."""
        status = "refused" if refused else ("failed" if next_at is None else "pending")
        self._tx(lambda db: db.execute(
            "UPDATE deliveries SET status = ?, attempts = attempts + 1, last_error = ?, "
            "next_at = COALESCE(?, next_at) WHERE alert_id = ? AND sink = ?",
            (status, error[:1000], next_at, alert_id, sink),
        ))  # fmt: skip

    # ------------------------------------------------------------------ engine state

    def save_state(self, state: EngineState) -> None:
        """Replace the stored engine state with ``state`` (the whole state of an engine)."""

        def work(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM engine_state")
            _write_state(db, state)

        self._tx(work)

    def load_state(self) -> EngineState:
        """The stored engine state. A table of another layout or version, or with an
        unreadable row, is logged as a warning, emptied and read as no state."""
        try:
            return self._read_state()
        except (_BadStateError, sqlite3.Error) as e:
            log.warning("alert outbox %s: ignoring the saved alert engine state (%s); "
                        "cool-downs start afresh", self.path, e)  # fmt: skip
            self._reset_state()
            return EngineState()

    def _read_state(self) -> EngineState:
        with self._lock:
            db = self._db
            for table, want in (("engine_state", _STATE_COLUMNS), ("engine_meta", _META_COLUMNS)):
                cols = [r[1] for r in db.execute(f"PRAGMA table_info({table})").fetchall()]
                if cols != want:
                    raise _BadStateError(f"{table} has the columns {cols}, not {want}")
            meta = dict(db.execute("SELECT key, value FROM engine_meta").fetchall())
            raw = db.execute(f"SELECT {', '.join(_STATE_COLUMNS)} FROM engine_state").fetchall()
        if not raw and "version" not in meta:
            return EngineState()
        if meta.get("version") != str(STATE_VERSION):
            raise _BadStateError(f"state version {meta.get('version')!r}, not {STATE_VERSION}")
        try:
            t_max_s = float(meta.get("t_max_s", "nan"))
        except (TypeError, ValueError) as e:
            raise _BadStateError(f"newest event time {meta.get('t_max_s')!r}") from e
        return EngineState(tuple(_state_row(r) for r in raw), t_max_s)

    def _reset_state(self) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute("DROP TABLE IF EXISTS engine_state")
            db.execute("DROP TABLE IF EXISTS engine_meta")
            for stmt in _STATE_TABLES:
                db.execute(stmt)

        self._tx(work)

    # ------------------------------------------------------------------ reading

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, tuple(args)).fetchall()
            except sqlite3.Error as e:
                raise StoreError(f"alert outbox {self.path}: {e}") from e

    def counts(self) -> dict[str, int]:
        """Deliveries by status."""
        rows = self._query("SELECT status, count(*) FROM deliveries GROUP BY status")
        return {str(s): int(n) for s, n in rows}

    def pending(self, sinks: Sequence[str] | None = None) -> int:
        if sinks is None:
            return int(self._query(
                "SELECT count(*) FROM deliveries WHERE status = 'pending'")[0][0])  # fmt: skip
        if not sinks:
            return 0
        marks = ",".join("?" * len(sinks))
        return int(self._query(
            f"SELECT count(*) FROM deliveries WHERE status = 'pending' AND sink IN ({marks})",
            sinks,
        )[0][0])  # fmt: skip

    def next_due(self, sinks: Sequence[str]) -> float | None:
        if not sinks:
            return None
        marks = ",".join("?" * len(sinks))
        v = self._query(
            f"SELECT min(next_at) FROM deliveries WHERE status = 'pending' AND sink IN ({marks})",
            sinks,
        )[0][0]
        return None if v is None else float(v)

    def alerts(
        self, *, since: float | None = None, rule_id: str | None = None, limit: int = 100
    ) -> list[Alert]:
        """Stored alerts, newest first."""
        where: list[str] = []
        args: list[Any] = []
        if since is not None:
            where.append("t >= ?")
            args.append(since)
        if rule_id is not None:
            where.append("rule_id = ?")
            args.append(rule_id)
        sql = "SELECT body FROM alerts" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._query(sql + " ORDER BY t DESC LIMIT ?", [*args, limit])
        return [Alert.from_dict(json.loads(r[0])) for r in rows]

    def deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT sink, status, attempts, next_at, last_error, delivered_at FROM deliveries "
            "WHERE alert_id = ? ORDER BY sink",
            [alert_id],
        )
        keys = ("sink", "status", "attempts", "next_at", "last_error", "delivered_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]
