"""Query helpers behind ``tailwatch positions / aircraft / flights / events``: time parsing,
the filters the store's helpers do not have (country, military, airport), and JSON records.

Filters run on the Arrow tables the store returns, so they are the same on every engine.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tailwatch.core.errors import ConfigError
from tailwatch.store.base import Store, icao_list

__all__ = [
    "aircraft_query",
    "events_query",
    "flights_query",
    "json_records",
    "parse_time",
    "positions_query",
]

_NUMBER = re.compile(r"^[-+]?\d+(\.\d*)?$")


def parse_time(text: str) -> float:
    """UNIX seconds from ``1553299200``, ``2019-03-23``, ``2019-03-23T12:00``,
    ``2019-03-23 12:00:00Z`` or ``2019-03-23T14:00+02:00`` (no offset: UTC)."""
    s = text.strip()
    if _NUMBER.match(s):
        value = float(s)
        if not math.isfinite(value):
            raise ConfigError(f"not a time: {text!r}")
        return value
    try:
        d = datetime.fromisoformat(s.replace("z", "Z"))
    except ValueError:
        try:
            d0 = date.fromisoformat(s)
        except ValueError:
            raise ConfigError(
                f"not a time: {text!r} (ISO 8601 such as 2019-03-23T12:00Z, or UNIX seconds)"
            ) from None
        d = datetime(d0.year, d0.month, d0.day)
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return d.timestamp()


def _time(value: str | float | None) -> float | None:
    if value is None:
        return None
    return parse_time(value) if isinstance(value, str) else float(value)


def positions_query(store: Store, *, icao24: Iterable[str] | str | None = None,
                    since: str | float | None = None, until: str | float | None = None,
                    box: tuple[float, float, float, float] | None = None) -> pa.Table:
    return store.positions(icao24=icao24, since=_time(since), until=_time(until), box=box)


def _military_of(store: Store, addresses: list[str]) -> set[str]:
    out: set[str] = set()
    for i in range(0, len(addresses), 5000):
        table = store.aircraft(icao24=addresses[i : i + 5000])
        if table.num_rows:
            mask = pc.fill_null(table.column("military"), False)
            out.update(table.column("icao24").filter(mask).to_pylist())
    return out


def aircraft_query(store: Store, *, icao24: Iterable[str] | str | None = None,
                   since: str | float | None = None, until: str | float | None = None,
                   military: bool = False, country: str | None = None,
                   registration: str | None = None, typecode: str | None = None) -> pa.Table:
    """Rows of the ``aircraft`` table seen in [since, until), filtered: ``military`` only,
    ``country`` (name, case ignored), ``registration`` (case, '-' and spaces ignored),
    ``typecode``."""
    table = store.aircraft(icao24=icao24, since=_time(since), until=_time(until))
    if military:
        table = table.filter(pc.fill_null(table.column("military"), False))
    if country:
        table = table.filter(pc.fill_null(
            pc.equal(pc.utf8_lower(table.column("country")), country.strip().lower()), False))
    if registration:
        key = registration.strip().upper().replace("-", "").replace(" ", "")
        norm = pc.replace_substring(pc.replace_substring(
            pc.utf8_upper(table.column("registration")), "-", ""), " ", "")
        table = table.filter(pc.fill_null(pc.equal(norm, key), False))
    if typecode:
        table = table.filter(pc.fill_null(
            pc.equal(pc.utf8_upper(table.column("typecode")), typecode.strip().upper()), False))
    return table


def flights_query(store: Store, *, icao24: Iterable[str] | str | None = None,
                  since: str | float | None = None, until: str | float | None = None,
                  airport: str | None = None, military: bool = False) -> pa.Table:
    """Flights seen in [since, until); ``airport``: from or to that airport (ICAO code);
    ``military``: of aircraft the ``aircraft`` table marks military."""
    table = store.flights(icao24=icao24, since=_time(since), until=_time(until))
    if airport:
        code = airport.strip().upper()
        mask = pc.or_(pc.fill_null(pc.equal(table.column("origin"), code), False),
                      pc.fill_null(pc.equal(table.column("destination"), code), False))
        table = table.filter(mask)
    if military and table.num_rows:
        addrs = sorted(set(table.column("icao24").to_pylist()))
        mil = _military_of(store, addrs)
        table = table.filter(pc.is_in(table.column("icao24"), value_set=pa.array(sorted(mil),
                                                                                   pa.string())))
    return table


def events_query(store: Store, *, icao24: Iterable[str] | str | None = None,
                 since: str | float | None = None, until: str | float | None = None,
                 types: list[str] | None = None, airport: str | None = None,
                 military: bool = False) -> pa.Table:
    table = store.events(icao24=icao24, since=_time(since), until=_time(until),
                         type=types or None, airport=airport.strip().upper() if airport else None)
    if military and table.num_rows:
        mil = _military_of(store, sorted(set(table.column("icao24").to_pylist())))
        table = table.filter(pc.is_in(table.column("icao24"),
                                      value_set=pa.array(sorted(mil), pa.string())))
    return table


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime):
        d = v if v.tzinfo else v.replace(tzinfo=UTC)
        return d.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, list):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    return v


def json_records(table: pa.Table) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: times as ISO 8601 UTC strings (``…Z``), NaN as null."""
    return [{k: _jsonable(v) for k, v in row.items()} for row in table.to_pylist()]


def normalise_icao(values: list[str] | None) -> list[str] | None:
    return icao_list(values) if values else None
