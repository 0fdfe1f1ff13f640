"""SQL text shared by the engines: the query helpers' SELECTs and position thinning.

Both engines speak close enough SQL for one text with a few dialect hooks (timestamp literals,
time buckets, the previous row of a window, ``FINAL`` on replacing tables). Values are never
pasted in unchecked: addresses, codes and boxes are validated, numbers go through ``float``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from tailwatch.core.schema import TABLES
from tailwatch.store.base import (
    Box,
    TimeLike,
    box_condition,
    conform,
    icao_list,
    seconds,
    sql_strings,
    word_list,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Thinning thresholds (OpenSky's state-vector rule): keep a point when the track crossed a
#: 2.5° step or the altitude a 100 m step since the previous point, or the ground state changed.
THIN_TRACK_STEP_DEG = 2.5
THIN_ALTITUDE_STEP_M = 100.0


def iso_utc(t: float) -> str:
    """'2019-06-08 13:20:00.123456' (UTC, microseconds) for seconds since the epoch."""
    us = round(t * 1e6)
    return (_EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True, slots=True)
class Dialect:
    """The few places where DuckDB and ClickHouse SQL differ."""

    #: seconds → a SQL literal of that UTC timestamp
    ts: Callable[[float], str]
    #: table name → how a SELECT names it (database prefix, FINAL for replacing tables)
    source: Callable[[str], str]
    #: (timestamp column, bucket width in µs) → integer bucket number
    bucket: Callable[[str, int], str]
    #: expression → the same expression on the previous row of window ``w``
    prev: Callable[[str], str]
    #: the frame clause of window ``w`` (after ORDER BY)
    frame: str = ""


def _select(table: str, d: Dialect, where: list[str], order: str) -> str:
    cols = ", ".join(f.name for f in TABLES[table])
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"SELECT {cols} FROM {d.source(table)}{clause} ORDER BY {order}"


def _icao(icao24: str | int | Iterable[str | int] | None) -> list[str]:
    return [] if icao24 is None else [f"icao24 IN ({sql_strings(icao_list(icao24))})"]


def positions_sql(
    d: Dialect,
    icao24: str | int | Iterable[str | int] | None,
    since: TimeLike | None,
    until: TimeLike | None,
    box: Box | None,
) -> str:
    where = _icao(icao24)
    if since is not None:
        where.append(f"t >= {d.ts(seconds(since))}")
    if until is not None:
        where.append(f"t < {d.ts(seconds(until))}")
    if box is not None:
        where.append(box_condition(box))
    return _select("positions", d, where, "icao24, t")


def seen_sql(
    table: str,
    d: Dialect,
    icao24: str | int | Iterable[str | int] | None,
    since: TimeLike | None,
    until: TimeLike | None,
) -> str:
    """aircraft or flights seen in [since, until): last_seen >= since, first_seen < until."""
    where = _icao(icao24)
    if since is not None:
        where.append(f"last_seen >= {d.ts(seconds(since))}")
    if until is not None:
        where.append(f"first_seen < {d.ts(seconds(until))}")
    order = "icao24" if table == "aircraft" else "first_seen, icao24"
    return _select(table, d, where, order)


def events_sql(
    d: Dialect,
    icao24: str | int | Iterable[str | int] | None,
    since: TimeLike | None,
    until: TimeLike | None,
    type: str | Iterable[str] | None,
    airport: str | None,
) -> str:
    where = _icao(icao24)
    if since is not None:
        where.append(f"t >= {d.ts(seconds(since))}")
    if until is not None:
        where.append(f"t < {d.ts(seconds(until))}")
    if type is not None:
        where.append(f"type IN ({sql_strings(word_list(type, 'event type'))})")
    if airport is not None:
        where.append(f"airport = '{word_list(airport, 'airport')[0]}'")
    return _select("events", d, where, "t, icao24")


def thin_drop_sql(d: Dialect, positions: str, cutoff_t: float, every_s: float) -> str:
    """SELECT (icao24, t) of the positions older than ``cutoff_t`` that thinning removes.

    Per aircraft, in time order, among the points older than the cutoff, a point is kept when
    it is the first or the last one, the first one of its ``every_s`` time bucket, or when
    since the previous point the ground state changed, the track crossed a 2.5° step or the
    altitude a 100 m step (so slow turns and climbs keep a point every 2.5° or 100 m).
    """
    every_us = max(1, round(float(every_s) * 1e6))
    bucket = d.bucket("t", every_us)
    ground = "coalesce(on_ground, '')"
    track = f"coalesce(floor(track_deg / {THIN_TRACK_STEP_DEG!r}), -1)"
    alt = f"coalesce(floor(altitude_ft * 0.3048 / {THIN_ALTITUDE_STEP_M!r}), -1000000)"
    return (
        "SELECT icao24, t FROM (\n"
        "  SELECT icao24, t,\n"
        "    row_number() OVER w AS rn,\n"
        "    count(*) OVER (PARTITION BY icao24) AS cnt,\n"
        f"    {bucket} AS b, {d.prev(bucket)} AS pb,\n"
        f"    {ground} AS g, {d.prev(ground)} AS pg,\n"
        f"    {track} AS tr, {d.prev(track)} AS ptr,\n"
        f"    {alt} AS al, {d.prev(alt)} AS pal\n"
        f"  FROM {positions}\n"
        f"  WHERE t < {d.ts(float(cutoff_t))}\n"
        f"  WINDOW w AS (PARTITION BY icao24 ORDER BY t{d.frame})\n"
        ") AS x\n"
        "WHERE NOT (rn = 1 OR rn = cnt OR b <> pb OR g <> pg OR tr <> ptr OR al <> pal)"
    )


class HistoryQueries:
    """The Store protocol's read helpers (positions, aircraft, flights, events), written once
    for both engines: each engine gives its ``dialect`` and its ``query``."""

    dialect: Dialect

    def query(self, sql: str, params: Mapping[str, object] | None = None) -> pa.Table:
        raise NotImplementedError

    def positions(
        self,
        icao24: str | int | Iterable[str | int] | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        box: Box | None = None,
    ) -> pa.Table:
        sql = positions_sql(self.dialect, icao24, since, until, box)
        return conform("positions", self.query(sql))

    def aircraft(
        self,
        icao24: str | int | Iterable[str | int] | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
    ) -> pa.Table:
        sql = seen_sql("aircraft", self.dialect, icao24, since, until)
        return conform("aircraft", self.query(sql))

    def flights(
        self,
        icao24: str | int | Iterable[str | int] | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
    ) -> pa.Table:
        return conform("flights", self.query(seen_sql("flights", self.dialect, icao24, since,
                                                      until)))

    def events(
        self,
        icao24: str | int | Iterable[str | int] | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        type: str | Iterable[str] | None = None,
        airport: str | None = None,
    ) -> pa.Table:
        sql = events_sql(self.dialect, icao24, since, until, type, airport)
        return conform("events", self.query(sql))
