"""Receivers: who hears what, with which delay and signal, and the noise they add.

Coverage of a receiver (all conditions must hold):

* inside its ``polygon`` when it has one, else within ``range_nm`` of it;
* with ``line_of_sight`` (the default), within the radio horizon
  ``1.23 · (√h_aircraft + √h_antenna)`` NM, heights in feet; the aircraft's height is its
  altitude in the air and 0 on the ground (so surface movements are heard only by receivers
  within ``1.23 · √h_antenna`` NM: 12 NM for a 100 ft mast).

A covered message is still lost with probability ``loss + edge_loss · (d / range)^4``.
Each copy is stamped ``t + d / c`` (``d``: the slant range in ECEF for receivers with a
``gps`` or ``free`` clock, the ground distance for the default ``utc`` one; see
:mod:`tailwatch.simulate.clocks`) and gets a signal level falling with distance
(−6 dBFS at 10 NM, 20 dB per decade, ±1.5 dB), stored as the Beast signal byte would hold it.

Receivers get the uint16 ids 1, 2, ... in scenario order (``FrameBatch.receiver``) and a 64-bit
Beast id (``0x1a 0xe3``): the one given in the scenario, else the first 8 bytes of the SHA-256
of the name with every ``0x1a`` byte changed to ``0x1b`` (so that Beast readers that do not
know the record see no false frame start in it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tailwatch.decode.crc import FIRST_CORRECTABLE_BIT, SYNDROMES_112, remainders
from tailwatch.reference.geo import distance_m
from tailwatch.simulate.clocks import C_M_S, slant_range_m
from tailwatch.simulate.scenario import NoiseSpec, ReceiverSpec

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Receiver:
    uid: int  # uint16 receiver id in FrameBatch.receiver
    id64: int  # Beast receiver id
    spec: ReceiverSpec

    @property
    def name(self) -> str:
        return self.spec.name


def make_receivers(specs: tuple[ReceiverSpec, ...]) -> list[Receiver]:
    out = []
    for i, r in enumerate(specs):
        id64 = r.id64
        if not id64:
            digest = bytearray(hashlib.sha256(r.name.encode()).digest()[:8])
            digest = bytearray(0x1B if b == 0x1A else b for b in digest)
            id64 = int.from_bytes(digest, "big") or 1
        out.append(Receiver(i + 1, id64, r))
    return out


def _inside(lat: F64, lon: F64, polygon: tuple[tuple[float, float], ...]) -> npt.NDArray[np.bool_]:
    """Even-odd rule on the plane of (lon, lat): fine for regional polygons."""
    inside = np.zeros(lat.shape, dtype=bool)
    pts = list(polygon)
    for (y1, x1), (y2, x2) in zip(pts, pts[1:] + pts[:1], strict=True):
        cond = (y1 > lat) != (y2 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
        inside ^= cond & (lon < x_at)
    return inside


def coverage(rx: Receiver, lat: F64, lon: F64, alt_ft: F64, on_ground: npt.NDArray[np.bool_]
             ) -> tuple[npt.NDArray[np.bool_], F64]:  # fmt: skip
    """(heard-geometrically mask, distance in NM; inf far away) of points for one receiver."""
    r = rx.spec
    if r.polygon:
        plat = np.array([p[0] for p in r.polygon])
        plon = np.array([p[1] for p in r.polygon])
        cand = (lat >= plat.min()) & (lat <= plat.max()) & (lon >= plon.min()) & (
            lon <= plon.max())  # fmt: skip
    else:
        cand = np.abs(lat - r.lat) <= r.range_nm / 60.0 + 0.01
    idx = np.flatnonzero(cand)
    d_nm = np.full(lat.shape, np.inf)
    ok = np.zeros(lat.shape, dtype=bool)
    if idx.size == 0:
        return ok, d_nm
    la, lo = lat[idx], lon[idx]
    d = distance_m(r.lat, r.lon, la, lo) / 1852.0
    good = _inside(la, lo, r.polygon) if r.polygon else d <= r.range_nm
    if r.line_of_sight:
        h = np.where(on_ground[idx], 0.0, np.maximum(alt_ft[idx], 0.0))
        good &= d <= 1.23 * (np.sqrt(h) + np.sqrt(r.height_ft))
    d_nm[idx] = d
    ok[idx] = good
    return ok, d_nm


def covered_spans(receivers: list[Receiver], spans: list[tuple[float, float]],
                  at: Callable[[F64], dict[str, np.ndarray]], margin_s: float = 2.0
                  ) -> list[tuple[float, float]]:  # fmt: skip
    """The parts of ``spans`` where some receiver covers the aircraft (``at`` gives its state
    at given times), on a 1 s grid widened by ``margin_s``: a cheap first cut before
    messages are generated. Coverage blips shorter than the grid can be missed: that only
    removes messages, it never adds any outside coverage."""
    out: list[tuple[float, float]] = []
    for a, b in spans:
        t = np.append(np.arange(a, b, 1.0), b)
        st = at(t)
        anyc = np.zeros(t.size, dtype=bool)
        for rx in receivers:
            anyc |= coverage(rx, st["lat"], st["lon"], st["alt_ft"], st["on_ground"])[0]
        if not anyc.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[0], anyc.astype(np.int8), [0]])))
        for i0, i1 in zip(edges[::2], edges[1::2], strict=True):
            lo = max(a, float(t[i0]) - margin_s)
            hi = min(b, float(t[i1 - 1]) + margin_s)
            if out and lo <= out[-1][1]:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
    return out


@dataclass(slots=True)
class Copies:
    """Received copies of transmissions: ``msg`` indexes the schedule."""

    msg: npt.NDArray[np.int64]
    receiver: npt.NDArray[np.uint16]
    t_rx: F64
    dist_nm: F64
    delay_s: F64  # radio path delay: slant range / c (ground distance / c for "utc" clocks)


def receive(
    receivers: list[Receiver],
    t: F64,
    lat: F64,
    lon: F64,
    alt_ft: F64,
    on_ground: npt.NDArray[np.bool_],
    noise: NoiseSpec,
    rng: np.random.Generator,
) -> tuple[Copies, int]:
    """Every copy heard (after losses), and the number of copies lost."""
    msgs, rxs, dists, delays = [], [], [], []
    lost = 0
    for rx in receivers:
        ok, d = coverage(rx, lat, lon, alt_ft, on_ground)
        idx = np.flatnonzero(ok)
        loss = noise.loss if rx.spec.loss is None else rx.spec.loss
        scale = rx.spec.range_nm
        p = loss + noise.edge_loss * np.clip(d[idx] / scale, 0.0, 1.0) ** 4
        kept = rng.random(idx.size) >= p
        lost += int((~kept).sum())
        idx = idx[kept]
        msgs.append(idx)
        rxs.append(np.full(idx.size, rx.uid, np.uint16))
        dists.append(d[idx])
        if rx.spec.clock == "utc":
            delays.append(d[idx] * 1852.0 / C_M_S)
        else:
            delays.append(slant_range_m(lat[idx], lon[idx], alt_ft[idx], rx.spec) / C_M_S)
    msg = np.concatenate(msgs) if msgs else np.zeros(0, np.int64)
    dist = np.concatenate(dists) if dists else np.zeros(0)
    delay = np.concatenate(delays) if delays else np.zeros(0)
    return Copies(
        msg=msg.astype(np.int64),
        receiver=np.concatenate(rxs) if rxs else np.zeros(0, np.uint16),
        t_rx=t[msg] + delay,
        dist_nm=dist,
        delay_s=delay,
    ), lost


_DBFS = np.zeros(256, dtype=np.float32)
_DBFS[1:] = (20.0 * np.log10(np.arange(1, 256) / 255.0)).astype(np.float32)


def signal_dbfs(dist_nm: F64, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Signal level as the Beast signal byte stores it (20·log10(byte/255)): -6 dBFS at
    10 NM, 20 dB per decade of distance, ±1.5 dB of noise."""
    amp = (255.0 * 10.0 ** (-6.0 / 20.0)) * 10.0 / np.maximum(dist_nm, 0.5)
    amp *= np.exp(rng.normal(0.0, 1.5 * np.log(10.0) / 20.0, dist_nm.size))
    out: npt.NDArray[np.float32] = _DBFS[np.clip(np.rint(amp), 1, 255).astype(np.intp)]
    return out


# ------------------------------------------------------------------------------------------
# Bit errors


_SINGLE = set(SYNDROMES_112[FIRST_CORRECTABLE_BIT:].tolist())


def flip_bits(raw: npt.NDArray[np.uint8], rows: npt.NDArray[np.int64], nbits: int,
              rng: np.random.Generator) -> None:  # fmt: skip
    """Flip ``nbits`` distinct bits (never in the DF field) of each 112-bit frame ``rows``,
    in place. With 2 or more bits the result is redrawn until its CRC remainder is neither 0
    nor the syndrome of a single bit, so the decoder must reject it (``bad_crc``)."""
    todo = np.asarray(rows, dtype=np.int64)
    original = raw[todo].copy()
    pending = np.arange(todo.size)
    for _ in range(20):
        if pending.size == 0:
            return
        rr = todo[pending]
        raw[rr] = original[pending]
        keys = rng.random((pending.size, 112 - FIRST_CORRECTABLE_BIT))
        bits = np.argsort(keys, axis=1)[:, :nbits] + FIRST_CORRECTABLE_BIT
        for j in range(nbits):
            b = bits[:, j]
            raw[rr, b // 8] ^= (0x80 >> (b % 8)).astype(np.uint8)
        if nbits == 1:
            return
        rem = remainders(raw[rr], np.full(rr.size, 14, np.uint8))
        bad = (rem == 0) | np.isin(rem, list(_SINGLE))
        pending = pending[bad]
    raise RuntimeError("could not draw uncorrectable bit errors")  # pragma: no cover
