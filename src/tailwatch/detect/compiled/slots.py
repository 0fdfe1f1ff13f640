"""Per-aircraft state as arrays: one slot per address, found for a whole batch at once.

:class:`Slots` maps addresses to slot numbers (0, 1, ...: the new addresses of each batch
numbered after the known ones, in address order) with a
sorted key array and ``searchsorted`` (no per-aircraft Python); the passes keep their state in
arrays indexed by slot that grow with it (:func:`grow`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


class Slots:
    """Address → slot number (never reused)."""

    __slots__ = ("_keys", "_slot_of", "n")

    def __init__(self) -> None:
        self._keys = np.zeros(0, np.uint32)  # sorted addresses
        self._slot_of = np.zeros(0, np.int64)  # their slots
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def lookup(self, icao24: npt.NDArray[np.uint32]) -> I64:
        """Slots of the addresses (new addresses get new slots)."""
        a = np.asarray(icao24, np.uint32)
        if a.size == 0:
            return np.zeros(0, np.int64)
        uniq, inv = np.unique(a, return_inverse=True)
        pos = np.searchsorted(self._keys, uniq)
        found = np.zeros(uniq.size, bool)
        inside = pos < self._keys.size
        found[inside] = self._keys[pos[inside]] == uniq[inside]
        slots = np.empty(uniq.size, np.int64)
        slots[found] = self._slot_of[pos[found]]
        new = ~found
        k = int(new.sum())
        if k:
            slots[new] = np.arange(self.n, self.n + k, dtype=np.int64)
            self.n += k
            keys = np.concatenate((self._keys, uniq[new]))
            slot_of = np.concatenate((self._slot_of, slots[new]))
            order = np.argsort(keys, kind="stable")
            self._keys, self._slot_of = keys[order], slot_of[order]
        return slots[inv.reshape(-1)]

    def find(self, icao24: int) -> int:
        """The slot of one address, -1 when it has none."""
        i = int(np.searchsorted(self._keys, np.uint32(icao24)))
        if i < self._keys.size and int(self._keys[i]) == int(icao24):
            return int(self._slot_of[i])
        return -1


def grow(arr: np.ndarray, n: int, fill: float | int) -> np.ndarray:
    """``arr`` (slots along axis 0) with room for at least ``n`` slots (capacity doubles;
    new rows hold ``fill``)."""
    if arr.shape[0] >= n:
        return arr
    cap = max(n, 2 * arr.shape[0], 64)
    out = np.full((cap, *arr.shape[1:]), fill, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out
