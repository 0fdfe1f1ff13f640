"""The ``gnss_level`` condition of alert rules: the GNSS interference level (docs/gnss.md) of
the hexagon under each position, read from the live session's GNSS hexagons."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.alert.conditions import Batch, Leaf, Mask

__all__ = ["GNSS_LEVELS", "GnssLevel", "GnssLevelsSource"]


class GnssLevelsSource:
    """Where ``gnss_level`` leaves read the GNSS levels of the hexagons (a
    :class:`tailwatch.gnss.cells.GnssLevels`): the live session sets :data:`GNSS_LEVELS`'s
    ``levels`` to its GNSS session's; without one (``tailwatch alerts test``), no position
    has a level and ``gnss_level`` matches nothing."""

    def __init__(self) -> None:
        self.levels: Any = None


GNSS_LEVELS = GnssLevelsSource()

#: positions are reduced to this grid before the hexagon look-up (1.1 km, far inside a
#: resolution-4 hexagon) so a batch costs one look-up per grid square, not per position
_GNSS_GRID_DEG = 0.01


class GnssLevel(Leaf):
    """``gnss_level``: the GNSS interference level of the hexagon under the position (the
    hour in progress, see docs/gnss.md) is at least ``low`` or ``high``."""

    key = "gnss_level"

    def __init__(self, level: str, source: GnssLevelsSource) -> None:
        from tailwatch.gnss.cells import LEVELS

        self.level = level
        self.names = LEVELS
        self.min_index = LEVELS.index(level)
        self.source = source

    def _levels(self, b: Batch) -> npt.NDArray[np.int8]:
        out = np.zeros(b.n, dtype=np.int8)
        levels = self.source.levels
        lat, lon = b.column("lat"), b.column("lon")
        if levels is None or lat is None or lon is None or not b.n:
            return out
        la = np.asarray(lat, dtype=np.float64)
        lo = np.asarray(lon, dtype=np.float64)
        ok = np.flatnonzero(np.isfinite(la) & np.isfinite(lo))
        if not len(ok):
            return out
        grid = np.stack([np.round(la[ok] / _GNSS_GRID_DEG), np.round(lo[ok] / _GNSS_GRID_DEG)],
                        axis=1)
        squares, inverse = np.unique(grid, axis=0, return_inverse=True)
        per_square = levels.level_at(squares[:, 0] * _GNSS_GRID_DEG,
                                     squares[:, 1] * _GNSS_GRID_DEG)
        out[ok] = per_square[inverse.reshape(-1)]
        return out

    def mask(self, b: Batch) -> Mask:
        out: Mask = self._levels(b) >= self.min_index
        return out

    def value(self, b: Batch, row: int) -> Any:
        return self.names[int(self._levels(b)[row])]

    def describe(self) -> str:
        return f"GNSS level at least {self.level}"
