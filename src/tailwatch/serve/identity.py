"""The serve layer's one door to aircraft identity (reference/identity.py), with a cache.

Identification runs once per (address, callsign) seen, not once per snapshot: a snapshot of
20,000 aircraft costs one ``np.searchsorted`` plus an ``identify_many`` call for the few
aircraft that are new or changed callsign. Everything the API needs per aircraft comes back
as columns aligned with the snapshot (:class:`IdentityRows`), including the JSON-encoded
strings the renderers copy as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from tailwatch.serve.render import Fragments, json_strings

__all__ = ["IdentityResolver", "IdentityRows", "StoreAircraftDb"]

log = logging.getLogger(__name__)

NON_ICAO_BIT = 1 << 24
_TEXT = ("registration", "typecode", "description", "operator", "country", "country_iso2",
         "military_rule")
_FLAGS = ("military", "interesting", "pia", "ladd")


@dataclass(frozen=True, slots=True)
class IdentityRows:
    """Identity columns aligned with the rows of one snapshot (or any address array)."""

    text: dict[str, pa.Array]  #: plain strings (null = unknown): registration, typecode, ...
    json: dict[str, Fragments]  #: the same strings JSON-encoded, for the renderers
    military: npt.NDArray[np.bool_]
    interesting: npt.NDArray[np.bool_]
    pia: npt.NDArray[np.bool_]
    ladd: npt.NDArray[np.bool_]
    in_db: npt.NDArray[np.bool_]  #: the aircraft database has a row for the address
    db_flags: npt.NDArray[np.uint8]  #: readsb dbFlags with bit 1 = tailwatch's military verdict
    year: npt.NDArray[np.float64]  #: build year (NaN when unknown)

    @property
    def hidden(self) -> npt.NDArray[np.bool_]:
        """PIA or LADD: hidden from public views unless the server shows them."""
        return self.pia | self.ladd

    def strings(self, name: str) -> npt.NDArray[np.object_]:
        """A text column as a numpy object array (None = unknown)."""
        return np.asarray(self.text[name].to_numpy(zero_copy_only=False), dtype=object)

    def __len__(self) -> int:
        return int(self.military.shape[0])


IdentifyMany = Callable[..., pa.Table]


class StoreAircraftDb:
    """The aircraft database kept in a history store (``tailwatch db update|import``), and a
    cheap fingerprint of it (rows and the last load time) to see when it changed."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _table(self) -> str:
        from tailwatch.history.dbtable import TABLE

        if getattr(self.store, "engine", "duckdb") == "clickhouse":
            return f"{getattr(self.store, 'database', 'tailwatch')}.{TABLE} FINAL"
        return TABLE

    def version(self) -> tuple[int, str] | None:
        """(rows, last load time), or None when the store has no aircraft database."""
        try:
            out = self.store.query(f"SELECT count(*) AS n, max(loaded_at) AS t FROM "
                                   f"{self._table()}")
        except Exception:  # no table yet (or the store is gone): no database
            return None
        if not out.num_rows or not int(out.column(0)[0].as_py() or 0):
            return None
        return int(out.column(0)[0].as_py()), str(out.column(1)[0].as_py())

    def load(self) -> Any:
        from tailwatch.history.dbtable import load_aircraft_db

        return load_aircraft_db(self.store)


class IdentityResolver:
    """Identifies aircraft through ``tailwatch.reference.identity`` and caches the answers.

    ``db``, ``annotations`` and ``operators`` are passed through to ``identify_many`` (all
    optional). ``max_entries`` bounds the cache: past it, the cache starts over.
    """

    def __init__(
        self,
        db: Any = None,
        annotations: Any = None,
        operators: Any = None,
        *,
        max_entries: int = 200_000,
        db_source: StoreAircraftDb | None = None,
        refresh_s: float = 30.0,
    ) -> None:
        self.db = db
        self.annotations = annotations
        self.operators = operators
        self.max_entries = max_entries
        #: where ``db`` comes from: looked at again every ``refresh_s`` (see :meth:`refresh`)
        self.db_source = db_source
        self.refresh_s = refresh_s
        self._db_version: tuple[int, str] | None = None
        self._checked_at = -float("inf")
        self._refresh_lock = threading.Lock()
        self._lock = threading.Lock()
        self._keys = np.zeros(0, dtype=np.uint32)  # sorted addresses
        self._slot = np.zeros(0, dtype=np.int64)  # address → row of the cache table
        self._cs = np.zeros(0, dtype="S8")  # callsign each row was identified with
        self._table: pa.Table | None = None
        self._json: dict[str, pa.Array] = {}
        self._num: dict[str, np.ndarray] = {}

    @classmethod
    def from_store(cls, store: Any, annotations: Any = None, operators: Any = None, *,
                   refresh_s: float = 30.0) -> IdentityResolver:
        """A resolver using the store's aircraft database, picking up ``tailwatch db
        update`` / ``import`` within ``refresh_s`` without a restart."""
        resolver = cls(annotations=annotations, operators=operators,
                       db_source=StoreAircraftDb(store) if store is not None else None,
                       refresh_s=refresh_s)
        resolver.refresh(force=True)
        return resolver

    def refresh(self, force: bool = False) -> bool:
        """Reload the database when its source changed (checked at most every
        ``refresh_s``, or now with ``force``); True when it was reloaded."""
        if self.db_source is None:
            return False
        now = time.monotonic()
        if not force and now - self._checked_at < self.refresh_s:
            return False
        if not self._refresh_lock.acquire(blocking=force):
            return False  # another thread is at it
        try:
            self._checked_at = now
            version = self.db_source.version()
            if version == self._db_version and not force:
                return False
            db = self.db_source.load() if version is not None else None
            with self._lock:
                self.db = db
                self._db_version = version
                self._clear_unlocked()
            log.info("aircraft database: %s rows", len(db) if db is not None else 0)
            return True
        except Exception as e:  # keep the last good database
            log.warning("cannot reload the aircraft database: %s", e)
            return False
        finally:
            self._refresh_lock.release()

    def clear(self) -> None:
        """Forget every cached answer (after the database or annotations changed)."""
        with self._lock:
            self._clear_unlocked()

    # --- the reference module, behind one function -------------------------------------------
    def _identify(self, icao24: np.ndarray, callsign: np.ndarray) -> pa.Table:
        from tailwatch.reference.identity import identify_many

        return identify_many(icao24.astype(np.int64), callsign, db=self.db,
                             annotations=self.annotations, operators=self.operators)

    def _years(self, icao24: np.ndarray) -> np.ndarray:
        if self.db is None or not len(self.db):
            return np.full(icao24.shape[0], np.nan)
        rows = self.db.lookup(icao24.astype(np.int64))
        return np.asarray(
            pc.fill_null(rows.column("year").cast(pa.float64()), float("nan")).to_numpy(),
            dtype=np.float64,
        )

    def _in_db(self, icao24: np.ndarray) -> np.ndarray:
        if self.db is None or not len(self.db):
            return np.zeros(icao24.shape[0], dtype=bool)
        return np.asarray(self.db.index_of(icao24.astype(np.int64)) >= 0)

    # --- cache -------------------------------------------------------------------------------
    def _append(self, icao24: np.ndarray, callsign: np.ndarray) -> np.ndarray:
        """Identify and append rows; return their row numbers in the cache table."""
        t = self._identify(icao24, callsign)
        mil = t.column("military").to_numpy(zero_copy_only=False).astype(bool)
        flags = {f: t.column(f).to_numpy(zero_copy_only=False).astype(bool) for f in _FLAGS}
        in_db = self._in_db(icao24)
        raw = np.zeros(len(icao24), dtype=np.uint8)
        if self.db is not None and len(self.db):
            raw = np.asarray(self.db.lookup(icao24.astype(np.int64)).column("db_flags")
                             .to_numpy(zero_copy_only=False), dtype=np.uint8)
        db_flags = (raw & 0xFE) | mil.astype(np.uint8)
        db_flags = np.where(flags["pia"], db_flags | 4, db_flags & ~np.uint8(4))
        db_flags = np.where(flags["ladd"], db_flags | 8, db_flags & ~np.uint8(8)).astype(np.uint8)
        new_num = {
            **flags,
            "in_db": in_db | mil,
            "db_flags": db_flags,
            "year": self._years(icao24),
        }
        new = t.select(list(_TEXT))
        start = 0 if self._table is None else self._table.num_rows
        if self._table is None:
            self._table = new.combine_chunks()
            self._json = {k: json_strings(new.column(k)) for k in _TEXT}
            self._num = new_num
        else:
            self._table = pa.concat_tables([self._table, new]).combine_chunks()
            self._json = {k: pa.concat_arrays([self._json[k], json_strings(new.column(k))])
                          for k in _TEXT}
            self._num = {k: np.concatenate([self._num[k], v]) for k, v in new_num.items()}
        self._cs = np.concatenate([self._cs, callsign.astype("S8")])
        return np.arange(start, start + len(icao24), dtype=np.int64)

    def _rows_for(self, icao24: np.ndarray, callsign: np.ndarray) -> np.ndarray:
        n = icao24.shape[0]
        if self._table is not None and self._table.num_rows > self.max_entries:
            self._clear_unlocked()
        keys = self._keys
        pos = np.searchsorted(keys, icao24)
        posc = np.minimum(pos, max(len(keys) - 1, 0))
        known = (pos < len(keys)) & (keys[posc] == icao24) if len(keys) else np.zeros(n, bool)
        slot = np.where(known, self._slot[posc] if len(keys) else 0, -1)
        same = known & (self._cs[np.maximum(slot, 0)] == callsign) if len(self._cs) else known
        miss = ~same
        if miss.any():
            # one identification per distinct address among the misses
            mi = np.flatnonzero(miss)
            uaddr, first = np.unique(icao24[mi], return_index=True)
            rows = self._append(uaddr, callsign[mi][first])
            # update the sorted index: new addresses inserted, known ones re-pointed
            upos = np.searchsorted(keys, uaddr)
            uposc = np.minimum(upos, max(len(keys) - 1, 0))
            uknown = (upos < len(keys)) & (keys[uposc] == uaddr) if len(keys) else np.zeros(
                len(uaddr), bool)
            slots = self._slot.copy()
            slots[uposc[uknown]] = rows[uknown]
            all_keys = np.concatenate([keys, uaddr[~uknown]])
            all_slots = np.concatenate([slots, rows[~uknown]])
            order = np.argsort(all_keys, kind="stable")
            self._keys, self._slot = all_keys[order], all_slots[order]
            slot[mi] = rows[np.searchsorted(uaddr, icao24[mi])]
        return slot.astype(np.int64)

    def _clear_unlocked(self) -> None:
        self._keys = np.zeros(0, dtype=np.uint32)
        self._slot = np.zeros(0, dtype=np.int64)
        self._cs = np.zeros(0, dtype="S8")
        self._table = None
        self._json = {}
        self._num = {}

    # --- public ------------------------------------------------------------------------------
    def rows(self, icao24: npt.ArrayLike, callsign: npt.ArrayLike | None = None) -> IdentityRows:
        """Identity of each address (uint32, bit 24 = non-ICAO) with its callsign (S8)."""
        self.refresh()
        addr = np.asarray(icao24).astype(np.uint32).ravel()
        n = addr.shape[0]
        cs = (np.zeros(n, dtype="S8") if callsign is None
              else np.asarray(callsign).astype("S8").ravel())
        if n == 0:
            empty_s = pa.array([], pa.string())
            no = np.zeros(0, bool)
            return IdentityRows(
                {k: empty_s for k in _TEXT}, {k: Fragments.from_arrow(empty_s) for k in _TEXT},
                no, no, no, no, no, np.zeros(0, np.uint8), np.zeros(0),
            )
        with self._lock:
            slot = self._rows_for(addr, cs)
            assert self._table is not None
            take = pa.array(slot)
            text = {k: self._table.column(k).combine_chunks().take(take) for k in _TEXT}
            js = {k: Fragments.from_arrow(self._json[k].take(take)) for k in _TEXT}
            num = {k: v[slot] for k, v in self._num.items()}
        return IdentityRows(
            text, js, num["military"], num["interesting"], num["pia"], num["ladd"],
            num["in_db"], num["db_flags"].astype(np.uint8), num["year"].astype(np.float64),
        )

    def detail(self, icao24: int, callsign: str | None = None) -> dict[str, Any]:
        """Everything known about one aircraft, with the source of each field (uncached)."""
        from tailwatch.reference.identity import identify

        self.refresh()
        ident = identify(int(icao24), callsign or None, db=self.db,
                         annotations=self.annotations, operators=self.operators)
        year = self._years(np.array([icao24], dtype=np.uint32))[0]
        return {
            "icao24": ident.icao24,
            "registration": ident.registration,
            "typecode": ident.typecode,
            "description": ident.description,
            "operator": ident.operator,
            "country": ident.country,
            "country_iso2": ident.country_iso2,
            "year": None if np.isnan(year) else int(year),
            "military": ident.military,
            "military_rule": ident.military_rule,
            "interesting": ident.interesting,
            "pia": ident.pia,
            "ladd": ident.ladd,
            "wake_category": ident.wake_category,
            "unit": ident.unit,
            "notes": ident.notes,
            "links": list(ident.links),
            "citation": ident.citation,
            "sources": dict(ident.sources),
        }
