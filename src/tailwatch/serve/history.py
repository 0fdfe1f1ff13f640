"""The serve layer's one door to the history store (tailwatch.store).

Reads come back as numpy columns (positions) or lists of plain dicts (flights, events), with
times as float seconds since the UNIX epoch; store failures become :class:`HistoryError`
(turned into a 503 by the app), and a server without a store answers with empty results.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tailwatch.core.errors import StoreError, TailwatchError

__all__ = ["POSITION_COLUMNS", "History", "HistoryError"]

#: the position columns the API serves (numpy, schema kinds)
POSITION_COLUMNS = ("t", "icao24", "lat", "lon", "altitude_ft", "altitude_geom_ft", "gs_kt",
                    "track_deg", "vrate_fpm", "on_ground", "callsign", "squawk", "source")


class HistoryError(TailwatchError):
    """The history store failed to answer."""


Box = tuple[float, float, float, float]  # south, west, north, east


def _empty_positions() -> dict[str, np.ndarray]:
    from tailwatch.core.schema import POSITION_FIELDS, empty_columns

    cols = empty_columns(POSITION_FIELDS, 0)
    return {k: cols[k] for k in POSITION_COLUMNS}


def _times_to_seconds(table: pa.Table) -> list[dict[str, Any]]:
    """Rows of an Arrow table as dicts, timestamps as float seconds, NaN as None."""
    cols: dict[str, list[Any]] = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            us = col.cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
            cols[name] = [None if v is None else v / 1e6 for v in us.to_pylist()]
        else:
            values = col.to_pylist()
            cols[name] = [None if isinstance(v, float) and not math.isfinite(v) else v
                          for v in values]
    names = list(cols)
    return [dict(zip(names, row, strict=True)) for row in zip(*cols.values(), strict=True)]


class History:
    """Wraps a ``tailwatch.store.Store`` (or nothing) for the API."""

    def __init__(self, store: Any = None) -> None:
        self.store = store
        self._lock = threading.Lock()

    @property
    def available(self) -> bool:
        return self.store is not None

    def _call(self, method: str, **kwargs: Any) -> pa.Table:
        assert self.store is not None
        try:
            with self._lock:
                result: pa.Table = getattr(self.store, method)(**kwargs)
                return result
        except StoreError as exc:
            raise HistoryError(f"history store: {exc}") from exc
        except (OSError, RuntimeError) as exc:  # engine failures that are not StoreError
            raise HistoryError(f"history store failed: {exc}") from exc

    @staticmethod
    def _icao_arg(icao24: Sequence[int] | None) -> list[str] | None:
        if icao24 is None:
            return None
        return [f"{int(a) & 0xFFFFFF:06x}" for a in icao24 if not int(a) >> 24]

    def positions(
        self,
        icao24: Sequence[int] | None = None,
        since: float | None = None,
        until: float | None = None,
        box: Box | None = None,
        limit: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Positions as numpy columns (POSITION_COLUMNS), sorted by address then time."""
        if self.store is None:
            return _empty_positions()
        icao = self._icao_arg(icao24)
        if icao is not None and not icao:
            return _empty_positions()
        table = self._call("positions", icao24=icao, since=since, until=until, box=box)
        if limit is not None and table.num_rows > limit:
            table = table.slice(0, limit)
        from tailwatch.store import to_columns

        cols = to_columns("positions", table)
        return {k: cols[k] for k in POSITION_COLUMNS}

    def flights(
        self,
        icao24: Sequence[int] | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        icao = self._icao_arg(icao24)
        if icao is not None and not icao:
            return []
        return _times_to_seconds(self._call("flights", icao24=icao, since=since, until=until))

    def flight(self, flight_id: str) -> dict[str, Any] | None:
        """One flight by id (None when unknown)."""
        if self.store is None:
            return None
        # ids start with the address (icao24 + first-seen time): narrow the read when so
        head = flight_id[:6].lower()
        narrow = [head] if len(head) == 6 and all(c in "0123456789abcdef" for c in head) else None
        table = self._call("flights", icao24=narrow)
        hit = table.filter(pc.equal(table.column("flight_id"), flight_id))
        rows = _times_to_seconds(hit)
        return rows[0] if rows else None

    def events(
        self,
        icao24: Sequence[int] | None = None,
        since: float | None = None,
        until: float | None = None,
        types: Iterable[str] | None = None,
        airport: str | None = None,
    ) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        icao = self._icao_arg(icao24)
        if icao is not None and not icao:
            return []
        kinds = list(types) if types is not None else None
        table = self._call("events", icao24=icao, since=since, until=until,
                           type=kinds or None, airport=airport)
        return _times_to_seconds(table)

    def time_range(self) -> tuple[float, float] | None:
        """(first, last) position time in the store, or None when empty or unavailable."""
        if self.store is None:
            return None
        try:
            with self._lock:
                t = self.store.query("SELECT min(t) AS a, max(t) AS b FROM positions")
        except StoreError as exc:
            raise HistoryError(f"history store: {exc}") from exc
        if t.num_rows == 0:
            return None
        rows = _times_to_seconds(t)
        a, b = rows[0].get("a"), rows[0].get("b")
        if a is None or b is None:
            return None
        return float(a), float(b)


def thin_by_time(cols: dict[str, np.ndarray], every_s: float) -> dict[str, np.ndarray]:
    """Keep the first position of each aircraft in each ``every_s`` bucket (columns sorted by
    address then time)."""
    n = cols["t"].shape[0]
    if n == 0 or every_s <= 0:
        return cols
    bucket = np.floor(cols["t"] / every_s).astype(np.int64)
    key_change = np.ones(n, dtype=bool)
    key_change[1:] = (cols["icao24"][1:] != cols["icao24"][:-1]) | (bucket[1:] != bucket[:-1])
    return {k: v[key_change] for k, v in cols.items()}
