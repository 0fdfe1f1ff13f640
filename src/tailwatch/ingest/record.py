"""Lossless recordings: Beast with receiver time (``tailwatch record``).

Format of a recording (``.beast``; readable by :func:`tailwatch.ingest.files.read_frames`,
by ``tailwatch replay`` and by readsb with ``--devel=accept_synthetic``):

* a plain Beast stream (``0x1a``-escaped records, Jetvision's format);
* ``0x1a 0xe8`` + 8 bytes, **not** escaped, little-endian int64: the arrival time in
  milliseconds since the UNIX epoch (readsb's synthetic-clock record), written before the
  first frame and whenever the time (to the millisecond) changes; it applies to the frames
  that follow;
* ``0x1a 0xe3`` + 8 bytes, escaped, big-endian: the 64-bit id of the receiver of the frames
  that follow, written whenever it changes (readsb's receiver-id record); tailwatch gives
  each source the id :func:`tailwatch.ingest.urls.receiver_id64` of its name and keeps the
  ids a Beast source itself announces;
* frames as ``'1'`` (Mode A/C), ``'2'`` (7 bytes), ``'3'`` (14 bytes) records with the
  receiver's 12 MHz counter and signal byte exactly as received.

A JSON side file ``<recording>.json`` names the receivers (``id64`` as 16 hex digits, name,
position, and ``alt_m`` when the source URL gave it: multilateration reads it, docs/mlat.md),
the source URLs and the counts. Everything a frame carried is kept: bytes, 12 MHz
counter, signal, receiver, arrival time (to 1 ms).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import IO, Any

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.frames import FrameBatch
from tailwatch.ingest.net import Receivers

__all__ = ["Recorder", "encode_recording", "load_sidecar", "sidecar_path"]

FORMAT = "tailwatch-beast-1"
ESC = 0x1A


@nb.njit(cache=True, error_model="numpy")
def _put_escaped(out: npt.NDArray[np.uint8], o: int, b: np.uint8) -> int:
    out[o] = b
    o += 1
    if b == ESC:
        out[o] = ESC
        o += 1
    return o


@nb.njit(cache=True, error_model="numpy")
def _encode(
    raw: npt.NDArray[np.uint8], nbytes: npt.NDArray[np.uint8], ts: npt.NDArray[np.uint64],
    sig: npt.NDArray[np.uint8], ids: npt.NDArray[np.uint64], ms: npt.NDArray[np.int64],
    last_id: np.uint64, last_ms: np.int64, out: npt.NDArray[np.uint8],
) -> tuple[int, np.uint64, np.int64]:
    o = 0
    for r in range(raw.shape[0]):
        if ms[r] != last_ms and ms[r] >= 0:
            last_ms = ms[r]
            out[o] = ESC
            out[o + 1] = 0xE8
            o += 2
            v = last_ms
            for _ in range(8):
                out[o] = np.uint8(v & 0xFF)
                v = v >> 8
                o += 1
        if ids[r] != last_id:
            last_id = ids[r]
            out[o] = ESC
            out[o + 1] = 0xE3
            o += 2
            for i in range(7, -1, -1):
                o = _put_escaped(out, o, np.uint8((last_id >> np.uint64(8 * i)) & np.uint64(255)))
        k = int(nbytes[r])
        out[o] = ESC
        out[o + 1] = 0x31 if k == 2 else (0x32 if k == 7 else 0x33)
        o += 2
        for i in range(5, -1, -1):
            o = _put_escaped(out, o, np.uint8((ts[r] >> np.uint64(8 * i)) & np.uint64(255)))
        o = _put_escaped(out, o, sig[r])
        for i in range(k):
            o = _put_escaped(out, o, raw[r, i])
    return o, last_id, last_ms


def _signal_bytes(dbfs: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    with np.errstate(invalid="ignore"):
        amp = np.rint(255.0 * np.power(10.0, dbfs.astype(np.float64) / 20.0))
    return np.where(np.isfinite(amp), np.clip(amp, 1, 255), 0).astype(np.uint8)


def encode_recording(
    fb: FrameBatch, receiver_ids: dict[int, int], last_id: int = 0, last_ms: int = -1,
) -> tuple[bytes, int, int]:
    """Frames → recording bytes; returns (bytes, receiver id in force, ms in force) to pass
    to the next call. Frames of lengths other than 2, 7 and 14 are skipped (none come from
    the parsers)."""
    ok = np.isin(fb.nbytes, (2, 7, 14))
    if not ok.all():
        fb = fb.take(ok)
    n = len(fb)
    if n == 0:
        return b"", last_id, last_ms
    uniq, inv = np.unique(fb.receiver, return_inverse=True)
    lut = np.array([receiver_ids.get(int(u), 0) for u in uniq.tolist()], dtype=np.uint64)
    ids = lut[inv]
    with np.errstate(invalid="ignore"):
        ms = np.where(np.isnan(fb.t_rx), -1, np.rint(fb.t_rx * 1000.0)).astype(np.int64)
    out = np.empty(n * (2 + 10 + 2 + 16 + 2 + 2 * 21), dtype=np.uint8)
    o, lid, lms = _encode(
        np.ascontiguousarray(fb.raw), fb.nbytes,
        fb.ts_12mhz.astype(np.uint64) & np.uint64(0xFFFF_FFFF_FFFF),
        _signal_bytes(fb.signal_dbfs), ids, ms, np.uint64(last_id), np.int64(last_ms), out,
    )
    return out[:o].tobytes(), int(lid), int(lms)


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    return Path(str(path) + ".json")


def load_sidecar(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The side file of a recording, or None when there is none (or it is unreadable)."""
    p = sidecar_path(path)
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


class Recorder:
    """Writes every frame it is given (before any dedup) to a recording."""

    def __init__(self, path: str | os.PathLike[str], receivers: Receivers,
                 sources: list[str] | None = None) -> None:
        self.path = Path(path)
        self.receivers = receivers
        self.sources = list(sources or [])
        self.frames = 0
        self.bytes = 0
        self.positions_skipped = 0
        self.started = time.time()
        self._t_first = math.nan
        self._t_last = math.nan
        self._last_id = 0
        self._last_ms = -1
        self._fh: IO[bytes] | None = open(self.path, "wb")  # noqa: SIM115
        self._write_sidecar()

    def write(self, fb: FrameBatch) -> None:
        if self._fh is None:
            raise ValueError("recorder is closed")
        data, self._last_id, self._last_ms = encode_recording(
            fb, self.receivers.id64, self._last_id, self._last_ms)
        self._fh.write(data)
        self.bytes += len(data)
        self.frames += len(fb)
        t = fb.t_rx[~np.isnan(fb.t_rx)]
        if t.size:
            self._t_first = float(t.min()) if math.isnan(self._t_first) else min(
                self._t_first, float(t.min()))
            self._t_last = float(t.max()) if math.isnan(self._t_last) else max(
                self._t_last, float(t.max()))

    def flush(self) -> None:
        if self._fh is not None:
            self._fh.flush()

    def close(self) -> None:
        if self._fh is None:
            return
        self._fh.close()
        self._fh = None
        self._write_sidecar()

    def _altitudes(self) -> dict[str, float]:
        """Antenna heights (``alt_m``) the source URLs give, by receiver name."""
        from tailwatch.core.errors import ConfigError
        from tailwatch.ingest.urls import parse_source_url

        out: dict[str, float] = {}
        for url in self.sources:
            try:
                spec = parse_source_url(url)
            except ConfigError:
                continue
            if not math.isnan(spec.alt_m):
                out[spec.name] = spec.alt_m
        return out

    def _write_sidecar(self) -> None:
        r = self.receivers
        alts = self._altitudes()
        data = {
            "format": FORMAT,
            "description": "Beast with 0x1a 0xe8 arrival time (ms, little-endian, unescaped) "
                           "and 0x1a 0xe3 receiver ids; see tailwatch docs/sources.md",
            "sources": self.sources,
            "receivers": [
                {"uid": uid, "id64": f"{r.id64.get(uid, 0):016x}", "name": name,
                 "lat": r.positions.get(uid, (None, None))[0],
                 "lon": r.positions.get(uid, (None, None))[1],
                 **({"alt_m": alts[name]} if name in alts else {})}
                for uid, name in sorted(r.names.items())
            ],
            "started": self.started,
            "first_frame_time": None if math.isnan(self._t_first) else self._t_first,
            "last_frame_time": None if math.isnan(self._t_last) else self._t_last,
            "frames": self.frames,
            "bytes": self.bytes,
        }
        sidecar_path(self.path).write_text(json.dumps(data, indent=2) + "\n")
