"""Receiver positions for multilateration, and which uint16 receiver id each one is.

A :class:`Site` is a receiver's antenna: latitude, longitude, altitude above the WGS84
ellipsoid (metres), and what identifies it in the feed — its name, its 64-bit Beast id
(``0x1a 0xe3``) or its uint16 id. :class:`Sites` gathers them from

* source URLs (``beast+tcp://host:30005?lat=…&lon=…&alt_m=…``, :meth:`Sites.from_specs`);
* a receivers file (:meth:`Sites.from_file`): the layout of the simulator's
  ``truth/receivers.json`` — a JSON list (or ``{"receivers": [...]}``) of objects with
  ``lat``, ``lon``, ``alt_m`` (else ``height_ft`` above the ellipsoid), and ``name``,
  ``id64`` (16 hex digits) and/or ``uid``;
* a recording's side file (:meth:`Sites.from_sidecar`, the same objects);
* the run's :class:`~tailwatch.ingest.net.Receivers` (positions announced by URLs and side
  files, altitude 0 when nothing else says: give ``alt_m``).

A receiver is matched to a site by its 64-bit id, else by name, else — for an id announced
inside a source's Beast stream (named ``source/id``) — by the source's name or position: a
Beast source is taken to be one receiver.

:meth:`Sites.table` maps every uint16 receiver id to a dense site index (``-1``: unknown)
and gives the sites' ECEF coordinates; it is rebuilt only when the receivers change.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.core.errors import ConfigError
from tailwatch.ingest.net import Receivers
from tailwatch.ingest.urls import SourceSpec
from tailwatch.mlat.geodesy import lla_to_ecef_arrays

__all__ = ["Site", "Sites"]

FT_M = 0.3048


@dataclass(frozen=True, slots=True)
class Site:
    """One receiver antenna. ``alt_m`` is the height above the WGS84 ellipsoid."""

    name: str
    lat: float
    lon: float
    alt_m: float = 0.0
    id64: int = 0
    uid: int = 0
    alt_known: bool = True


def _site(obj: Any, where: str) -> Site:
    if not isinstance(obj, dict):
        raise ConfigError(f"{where}: a receiver must be an object")
    try:
        lat = float(obj["lat"])
        lon = float(obj["lon"])
    except (KeyError, TypeError, ValueError) as e:
        raise ConfigError(f"{where}: a receiver needs numeric lat and lon") from e
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ConfigError(f"{where}: lat/lon out of range ({lat}, {lon})")
    alt_known = True
    try:
        if obj.get("alt_m") is not None:
            alt = float(obj["alt_m"])
        elif obj.get("height_ft") is not None:
            alt = float(obj["height_ft"]) * FT_M
        else:
            alt, alt_known = 0.0, False
        id64 = int(str(obj.get("id64") or "0"), 16)
        uid = int(obj.get("uid") or 0)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: bad alt_m/height_ft, id64 (hex) or uid: {e}") from e
    if not math.isfinite(alt) or not -500.0 <= alt <= 10_000.0:
        raise ConfigError(f"{where}: receiver altitude {alt} m out of range")
    name = str(obj.get("name") or (f"{id64:016x}" if id64 else f"rx{uid}"))
    return Site(name, lat, lon, alt, id64, uid, alt_known)


class Sites:
    """The positioned receivers of a run (see the module docstring)."""

    def __init__(self, sites: Iterable[Site] = (), *, receivers: Receivers | None = None,
                 ) -> None:  # fmt: skip
        self.sites: list[Site] = []
        self.receivers = receivers
        self._version = -1
        self._lut = np.full(0, -1, np.int32)
        self._ecef = np.zeros((0, 3))
        self._alt_known = np.zeros(0, bool)
        self._names: list[str] = []
        for s in sites:
            self.add(s)

    def add(self, site: Site) -> None:
        self.sites.append(site)
        self._version = -1

    def __len__(self) -> int:
        return len(self.sites)

    # --- loaders ------------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Sites:
        """A receivers file (the simulator's ``truth/receivers.json`` layout)."""
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except OSError as e:
            raise ConfigError(f"cannot read receivers file {p}: {e}") from e
        except ValueError as e:
            raise ConfigError(f"receivers file {p} is not JSON: {e}") from e
        if isinstance(data, dict):
            data = data.get("receivers")
        if not isinstance(data, list):
            raise ConfigError(f"{p}: expected a list of receivers (or {{'receivers': [...]}})")
        return cls(_site(obj, f"{p} receiver #{i + 1}") for i, obj in enumerate(data))

    @classmethod
    def from_sidecar(cls, path: str | os.PathLike[str]) -> Sites:
        """The receivers of a recording's side file (none when it has no side file)."""
        from tailwatch.ingest.record import load_sidecar

        side = load_sidecar(path)
        out = cls()
        for i, obj in enumerate((side or {}).get("receivers", [])):
            if isinstance(obj, dict) and isinstance(obj.get("lat"), (int, float)):
                out.add(_site(obj, f"{path} side file receiver #{i + 1}"))
        return out

    @classmethod
    def from_specs(cls, specs: Sequence[SourceSpec]) -> Sites:
        """Receivers positioned by their source URL (``lat``, ``lon``, ``alt_m``)."""
        return cls(Site(s.name, s.lat, s.lon, 0.0 if math.isnan(s.alt_m) else s.alt_m,
                        alt_known=not math.isnan(s.alt_m))
                   for s in specs if s.position is not None)

    @classmethod
    def for_run(cls, receivers: Receivers, *, specs: Sequence[SourceSpec] = (),
                file: str | os.PathLike[str] | None = None,
                recordings: Sequence[str | os.PathLike[str]] = ()) -> Sites:
        """Everything a ``run`` or ``replay`` knows: the receivers file first, then the
        recordings' side files, then the URLs; bound to the run's ``receivers``."""
        out = cls(receivers=receivers)
        parts = [cls.from_file(file)] if file is not None else []
        parts += [cls.from_sidecar(r) for r in recordings]
        parts.append(cls.from_specs(specs))
        for part in parts:
            for s in part.sites:
                out.add(s)
        return out

    # --- resolution -----------------------------------------------------------------------------
    def _match(self, uid: int) -> Site | None:
        r = self.receivers
        if r is None:
            return next((s for s in self.sites if s.uid == uid), None)
        id64 = r.id64.get(uid, 0)
        name = r.names.get(uid)
        if id64:
            hit = next((s for s in self.sites if s.id64 == id64), None)
            if hit is not None:
                return hit
        hit = next((s for s in self.sites if name is not None and s.name == name), None)
        if hit is not None:
            return hit
        if name is not None and "/" in name:
            # a 64-bit id announced inside a source's Beast stream ("source/id"): the
            # source's own position, when that source is one receiver
            source = name.rsplit("/", 1)[0]
            hit = next((s for s in self.sites if s.name == source), None)
            src_uid = next((u for u, n in r.names.items() if n == source), None)
            if hit is None and src_uid is not None and src_uid in r.positions:
                lat, lon = r.positions[src_uid]
                hit = Site(source, lat, lon, 0.0, alt_known=False)
            if hit is not None:
                return hit
        pos = r.positions.get(uid)
        if pos is not None:
            return Site(name or f"rx{uid}", pos[0], pos[1], 0.0, id64, uid, alt_known=False)
        return None

    def table(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float64]]:
        """(lut: uint16 receiver id → site index or -1, (S, 3) ECEF metres of the sites)."""
        version = self.receivers.version if self.receivers is not None else 0
        if version == self._version:
            return self._lut, self._ecef
        if self.receivers is not None:
            uids = sorted(set(self.receivers.names) | set(self.receivers.id64)
                          | set(self.receivers.positions))
        else:
            uids = sorted({s.uid for s in self.sites if s.uid > 0})
        lut = np.full(max([0, *uids]) + 1, -1, np.int32)
        chosen: list[Site] = []
        for uid in uids:
            s = self._match(uid)
            if s is not None:
                lut[uid] = len(chosen)
                chosen.append(s)
        self._lut = lut
        self._names = [s.name for s in chosen]
        self._alt_known = np.array([s.alt_known for s in chosen], bool)
        self._ecef = (lla_to_ecef_arrays([s.lat for s in chosen], [s.lon for s in chosen],
                                         [s.alt_m for s in chosen])
                      if chosen else np.zeros((0, 3)))
        self._version = version
        return self._lut, self._ecef

    @property
    def names(self) -> list[str]:
        """Site names in site-index order (after :meth:`table`)."""
        self.table()
        return list(self._names)

    def site_index(self, uid: npt.NDArray[np.uint16]) -> npt.NDArray[np.int32]:
        """Site index of each uint16 receiver id (``-1``: not positioned)."""
        lut, _ = self.table()
        u = uid.astype(np.int64)
        ok = u < lut.shape[0]
        out = np.full(u.shape, -1, np.int32)
        out[ok] = lut[u[ok]]
        return out
