"""Columns for state-vector sources (readsb JSON, OpenSky, ADSBx-v2 aggregators): building
position columns, giving a row's position and other fields their own times
(:func:`split_times`), and dropping rows a poll already delivered (:class:`SeenPositions`).
(SBS records, which send callsign, speed and position in separate lines, are merged per
aircraft by the tracker: see :meth:`Tracker.update_states`.)

All of it is columnar: numpy sorts, searchsorted look-ups and accumulations, no per-row Python.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.track.tracker import PositionBatch

__all__ = ["SeenPositions", "make_positions", "split_times", "squawk_codes"]

_DTYPES = {f.name: f.np_dtype for f in POSITION_FIELDS}


def make_positions(
    columns: Mapping[str, npt.ArrayLike], source: str, n: int | None = None
) -> PositionBatch:
    """A PositionBatch with every column of ``POSITION_FIELDS``: the given ones cast to the
    schema's dtypes, the others filled with their null value; ``source`` is a label of
    ``SOURCE_LABELS`` put on every row."""
    if n is None:
        n = len(np.asarray(columns["t"]))
    cols = empty_columns(POSITION_FIELDS, n)
    for name, values in columns.items():
        if name not in _DTYPES:
            raise KeyError(f"{name!r} is not a position column")
        cols[name] = np.asarray(values).astype(_DTYPES[name], copy=False).reshape(-1)
    cols["source"] = np.full(n, SOURCE_LABELS.index(source), dtype=_DTYPES["source"])
    return PositionBatch(cols)


def squawk_codes(values: list[object]) -> npt.NDArray[np.int16]:
    """Squawk strings ("7700", 4 octal digits) → int16 read as decimal; -1 when absent/bad."""
    out = np.full(len(values), -1, dtype=np.int16)
    for i, v in enumerate(values):
        if isinstance(v, str) and len(v) == 4 and v.isdigit() and all(c < "8" for c in v):
            out[i] = int(v)
    return out


def split_times(
    columns: dict[str, np.ndarray], t_position: npt.NDArray[np.float64],
    t_fields: npt.NDArray[np.float64],
) -> dict[str, np.ndarray]:
    """State rows from one row per aircraft whose position and other fields have their own
    times (readsb's ``seen_pos`` and ``seen``, OpenSky's ``time_position`` and
    ``last_contact``).

    A row without ``lat``/``lon`` takes ``t_fields``. A row with a position takes
    ``t_position``; when ``t_fields`` is later, a second row at ``t_fields`` without the
    position (``lat``/``lon`` NaN, ``nic`` -1) repeats the other fields, so that they carry
    their own time and still reach the tracker when the position is a repeat. The extra rows
    come after the others (the tracker sorts by time)."""
    has_pos = ~np.isnan(columns["lat"]) & ~np.isnan(columns["lon"])
    out = dict(columns)
    out["t"] = np.where(has_pos, t_position, t_fields)
    with np.errstate(invalid="ignore"):
        extra = np.flatnonzero(has_pos & (t_fields > t_position))
    if extra.size == 0:
        return out
    more = {k: v[extra] for k, v in out.items()}
    more["t"] = t_fields[extra]
    more["lat"] = np.full(extra.size, np.nan)
    more["lon"] = np.full(extra.size, np.nan)
    if "nic" in more:
        more["nic"] = np.full(extra.size, -1, dtype=more["nic"].dtype)
    return {k: np.concatenate([v, more[k]]) for k, v in out.items()}


class _Latest:
    """Per aircraft, the time and lat/lon of the last row handed on (sorted keys)."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.uint32)
        self.t = np.zeros(0, dtype=np.float64)
        self.lat = np.zeros(0, dtype=np.float64)
        self.lon = np.zeros(0, dtype=np.float64)

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    def new_rows(
        self,
        icao24: npt.NDArray[np.uint32],
        t: npt.NDArray[np.float64],
        lat: npt.NDArray[np.float64],
        lon: npt.NDArray[np.float64],
        min_repeat_s: float,
    ) -> npt.NDArray[np.bool_]:
        """Mask of the rows later than the aircraft's last one and either moved (NaN never
        equals NaN: rows without a position only need to be later) or ``min_repeat_s``
        later; remembers them. Within the batch only each aircraft's latest row counts."""
        n = icao24.shape[0]
        if n == 0:
            return np.zeros(0, dtype=bool)
        order = np.lexsort((t, icao24))
        last_of_group = np.ones(n, dtype=bool)
        last_of_group[:-1] = icao24[order][1:] != icao24[order][:-1]
        cand = order[last_of_group]
        keys = icao24[cand]
        pos = np.searchsorted(self.keys, keys)
        pos_c = np.minimum(pos, max(len(self) - 1, 0))
        known = (pos < len(self)) & (self.keys[pos_c] == keys) if len(self) else np.zeros(
            keys.shape[0], dtype=bool)
        prev_t = np.where(known, self.t[pos_c] if len(self) else 0.0, -np.inf)
        prev_lat = np.where(known, self.lat[pos_c] if len(self) else 0.0, np.nan)
        prev_lon = np.where(known, self.lon[pos_c] if len(self) else 0.0, np.nan)
        tc, latc, lonc = t[cand], lat[cand], lon[cand]
        moved = (latc != prev_lat) | (lonc != prev_lon)
        with np.errstate(invalid="ignore"):
            later = (tc > prev_t) | ~known
            stale_repeat = tc - prev_t >= min_repeat_s
        ok = later & (moved | stale_repeat | ~known)
        mask = np.zeros(n, dtype=bool)
        mask[cand[ok]] = True
        self._remember(keys[ok], tc[ok], latc[ok], lonc[ok])
        return mask

    def _remember(
        self,
        keys: npt.NDArray[np.uint32],
        t: npt.NDArray[np.float64],
        lat: npt.NDArray[np.float64],
        lon: npt.NDArray[np.float64],
    ) -> None:
        if keys.shape[0] == 0:
            return
        all_keys = np.union1d(self.keys, keys)
        new_t = np.full(all_keys.shape[0], -np.inf)
        new_lat = np.full(all_keys.shape[0], np.nan)
        new_lon = np.full(all_keys.shape[0], np.nan)
        old = np.searchsorted(all_keys, self.keys)
        new_t[old], new_lat[old], new_lon[old] = self.t, self.lat, self.lon
        upd = np.searchsorted(all_keys, keys)
        new_t[upd], new_lat[upd], new_lon[upd] = t, lat, lon
        self.keys, self.t, self.lat, self.lon = all_keys, new_t, new_lat, new_lon


class SeenPositions:
    """Remembers, per aircraft, the last position handed on, so that a poll repeating it is
    not a new position. A row with a position is new when its time is later than the last
    position's and either its lat/lon differ or ``min_repeat_s`` have passed (a parked
    aircraft still shows up now and then). A row without a position (NaN lat/lon: a Mode S
    only aircraft, or the fields of :func:`split_times`) is new when its time is later than
    the aircraft's last such row; the two kinds are remembered apart."""

    def __init__(self, min_repeat_s: float = 10.0) -> None:
        self.min_repeat_s = float(min_repeat_s)
        self._positions = _Latest()
        self._fields = _Latest()

    def __len__(self) -> int:
        """Aircraft with a remembered position."""
        return len(self._positions)

    def new_rows(
        self,
        icao24: npt.NDArray[np.uint32],
        t: npt.NDArray[np.float64],
        lat: npt.NDArray[np.float64],
        lon: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.bool_]:
        """Mask of the rows that are new; remembers them."""
        has_pos = ~np.isnan(lat) & ~np.isnan(lon)
        mask = np.zeros(icao24.shape[0], dtype=bool)
        for rows, memory in ((np.flatnonzero(has_pos), self._positions),
                             (np.flatnonzero(~has_pos), self._fields)):
            if rows.size:
                mask[rows] = memory.new_rows(icao24[rows], t[rows], lat[rows], lon[rows],
                                             self.min_repeat_s)
        return mask
