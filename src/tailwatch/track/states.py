"""State vectors: decoded values from feeds that carry no raw frames (SBS/BaseStation records,
readsb/dump1090 ``aircraft.json``, OpenSky states, ADSBx-v2-style aggregators), on their way
to :meth:`tailwatch.track.tracker.Tracker.update_states`.

A :class:`StateBatch` holds the columns of :data:`STATE_FIELDS`: the position columns of
``core.schema.POSITION_FIELDS`` (``lat``/``lon`` NaN for a record without a position, such
as an SBS callsign or velocity line), plus ``emergency`` and ``receiver`` (the id of the
source that delivered the row, as in ``FrameBatch.receiver``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import (
    EMERGENCY_LABELS,
    POSITION_FIELDS,
    SOURCE_LABELS,
    Field,
    empty_columns,
)

__all__ = ["STATE_FIELDS", "StateBatch", "make_states"]

STATE_FIELDS: tuple[Field, ...] = (
    *POSITION_FIELDS,
    Field("emergency", "int8", "enum", "Emergency/priority status", "", -1, EMERGENCY_LABELS),
    Field("receiver", "uint16", "int", "Receiver (source) id that delivered the row", "", 0),
)
_DTYPES = {f.name: f.np_dtype for f in STATE_FIELDS}


@dataclass(slots=True)
class StateBatch:
    """Decoded state vectors, one row per record (columns of :data:`STATE_FIELDS`)."""

    columns: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.columns["t"].shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def has_position(self) -> npt.NDArray[np.bool_]:
        mask: npt.NDArray[np.bool_] = ~np.isnan(self.columns["lat"]) & ~np.isnan(
            self.columns["lon"])
        return mask

    def take(self, idx: npt.NDArray[np.intp] | npt.NDArray[np.bool_]) -> StateBatch:
        return StateBatch({k: v[idx] for k, v in self.columns.items()})


def make_states(columns: Mapping[str, npt.ArrayLike], source: str | None = None, *,
                receiver: int | None = None, n: int | None = None) -> StateBatch:
    """A StateBatch with every column of :data:`STATE_FIELDS`: the given ones cast to their
    dtypes (unknown names raise ``KeyError``), the others null. ``source`` (a label of
    ``SOURCE_LABELS``) and ``receiver`` are put on every row when given."""
    if n is None:
        n = len(np.asarray(columns["t"]))
    cols = empty_columns(STATE_FIELDS, n)
    for name, values in columns.items():
        if name not in _DTYPES:
            raise KeyError(f"{name!r} is not a state-vector column")
        cols[name] = np.asarray(values).astype(_DTYPES[name], copy=False).reshape(-1)
    if source is not None:
        cols["source"] = np.full(n, SOURCE_LABELS.index(source), dtype=_DTYPES["source"])
    if receiver is not None:
        cols["receiver"] = np.full(n, receiver, dtype=_DTYPES["receiver"])
    return StateBatch(cols)
