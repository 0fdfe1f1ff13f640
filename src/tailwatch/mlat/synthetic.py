"""Synthetic multi-receiver receptions with a known truth, for tests and bench/mlat.py.

Aircraft fly straight lines (constant latitude/longitude rates, constant altitude) over a
ring of receivers. ADS-B aircraft send DF17 airborne positions (2/s, even and odd) and DF11
squitters (1/s); Mode S-only aircraft send DF11 squitters (1/s) and DF4 altitude replies
(``reply_hz``). Each transmission reaches the receivers within the radio horizon
(``1.23·(√h_aircraft + √h_antenna)`` NM, feet) with probability ``1 − loss``, at
``T + |aircraft − receiver| / c`` (straight-line ECEF distance). Receivers stamp it with a
12 MHz counter:

* ``gps``: ``round(12e6 · T_rx + jitter)``;
* ``free``: ``round(12e6 · (1 + drift_ppm·1e-6) · T_rx + offset + jitter)``, and a
  receiver with ``reset_at_s`` restarts its counter from 0 at that moment.

``t_rx`` (the arrival clock) is ``base_t + T_rx`` (to 1 ms). Times ``T`` are kept relative to
the start so that nanoseconds survive in float64. This is a model, not the simulator
(``tailwatch simulate``), so that the MLAT stage can be measured at any size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tailwatch.core.frames import FrameBatch
from tailwatch.encode import adsb, surveillance
from tailwatch.encode.bits import Frames
from tailwatch.mlat.geodesy import C_M_S, lla_to_ecef_arrays
from tailwatch.mlat.sites import Site, Sites

__all__ = ["ClockSpec", "Scenario", "SyntheticFeed", "generate", "ring_sites"]

FT_M = 0.3048
M_PER_DEG = 111_195.0


@dataclass(frozen=True, slots=True)
class ClockSpec:
    kind: str = "free"  # "gps" | "free"
    offset_s: float = 0.0
    drift_ppm: float = 0.0
    jitter_ns: float = 80.0
    reset_at_s: float = float("nan")


@dataclass(frozen=True, slots=True)
class Scenario:
    n_aircraft: int = 40
    mode_s_only: float = 0.3  # share of aircraft without ADS-B
    duration_s: float = 120.0
    n_receivers: int = 8
    radius_km: float = 120.0  # receiver ring
    area_km: float = 100.0  # aircraft start within this radius of the centre
    lat0: float = 50.0
    lon0: float = 8.0
    altitudes_ft: tuple[float, float] = (3000.0, 40000.0)
    clock: str = "free"  # every receiver's clock kind
    jitter_ns: float = 80.0
    loss: float = 0.1
    reply_hz: float = 1.0
    reset: tuple[int, float] | None = None  # (receiver index, time) of a counter reset
    base_t: float = 1_750_000_000.0
    seed: int = 1


@dataclass(slots=True)
class SyntheticFeed:
    frames: FrameBatch  # every reception, in arrival order
    sites: Sites  # uids 1..n
    clocks: list[ClockSpec]
    icao24: npt.NDArray[np.uint32]  # per aircraft
    mode_s_only: npt.NDArray[np.bool_]
    lat0: npt.NDArray[np.float64]
    lon0: npt.NDArray[np.float64]
    vlat: npt.NDArray[np.float64]  # degrees per second
    vlon: npt.NDArray[np.float64]
    alt_ft: npt.NDArray[np.float64]
    base_t: float
    tx_t: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    tx_aircraft: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    tx_heard: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    def truth(self, icao24: npt.NDArray[np.uint32], t: npt.NDArray[np.float64],
              ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:  # fmt: skip
        """True (lat, lon) of aircraft ``icao24`` at UTC times ``t`` (NaN: unknown address)."""
        order = np.argsort(self.icao24)
        pos = np.searchsorted(self.icao24[order], icao24)
        pos = np.clip(pos, 0, order.size - 1)
        a = order[pos]
        found = self.icao24[a] == icao24
        dt = t - self.base_t
        lat = np.where(found, self.lat0[a] + self.vlat[a] * dt, np.nan)
        lon = np.where(found, self.lon0[a] + self.vlon[a] * dt, np.nan)
        return lat, lon


def ring_sites(n: int, lat0: float, lon0: float, radius_km: float,
               rng: np.random.Generator) -> list[Site]:
    """A centre receiver and ``n − 1`` on a ring, 50–400 m above the ellipsoid."""
    out = [Site("rx1", lat0, lon0, float(rng.uniform(50, 400)), uid=1)]
    for i in range(1, n):
        ang = 2 * np.pi * i / (n - 1) + rng.uniform(-0.2, 0.2)
        r = radius_km * 1000 * rng.uniform(0.6, 1.0)
        lat = lat0 + r * np.cos(ang) / M_PER_DEG
        lon = lon0 + r * np.sin(ang) / (M_PER_DEG * np.cos(np.radians(lat0)))
        out.append(Site(f"rx{i + 1}", float(lat), float(lon), float(rng.uniform(50, 400)),
                        uid=i + 1))
    return out


def _clocks(sc: Scenario, rng: np.random.Generator) -> list[ClockSpec]:
    out = []
    for i in range(sc.n_receivers):
        reset = sc.reset[1] if sc.reset is not None and sc.reset[0] == i else float("nan")
        if sc.clock == "gps":
            out.append(ClockSpec("gps", 0.0, 0.0, sc.jitter_ns, reset))
        else:
            out.append(ClockSpec("free", float(rng.uniform(0, 3000)),
                                 float(rng.uniform(-30, 30)), sc.jitter_ns, reset))
    return out


def generate(sc: Scenario) -> SyntheticFeed:
    rng = np.random.default_rng(sc.seed)
    sites = ring_sites(sc.n_receivers, sc.lat0, sc.lon0, sc.radius_km, rng)
    clocks = _clocks(sc, rng)
    n = sc.n_aircraft
    icao = rng.choice(np.arange(0x300000, 0x3FFFFF), n, replace=False).astype(np.uint32)
    only = np.zeros(n, bool)
    only[: round(sc.mode_s_only * n)] = True
    r = sc.area_km * 1000 * np.sqrt(rng.uniform(0, 1, n))
    ang = rng.uniform(0, 2 * np.pi, n)
    coslat = np.cos(np.radians(sc.lat0))
    lat0 = sc.lat0 + r * np.cos(ang) / M_PER_DEG
    lon0 = sc.lon0 + r * np.sin(ang) / (M_PER_DEG * coslat)
    speed = rng.uniform(120, 250, n)
    hdg = rng.uniform(0, 2 * np.pi, n)
    vlat = speed * np.cos(hdg) / M_PER_DEG
    vlon = speed * np.sin(hdg) / (M_PER_DEG * coslat)
    alt = np.round(rng.uniform(*sc.altitudes_ft, n) / 100) * 100
    # transmissions: (aircraft, time, kind) with kind 0 = DF17 position, 1 = DF11, 2 = DF4
    parts = []
    for kind, hz, who in ((0, 2.0, ~only), (1, 1.0, np.ones(n, bool)), (2, sc.reply_hz, only)):
        if hz <= 0:
            continue
        k = int(sc.duration_s * hz)
        ac = np.flatnonzero(who)
        tt = (np.arange(k)[None, :] / hz + rng.uniform(0, 1 / hz, (ac.size, 1))
              + rng.uniform(-0.05, 0.05, (ac.size, k)) / hz)
        parts.append((np.repeat(ac, k), tt.reshape(-1), np.full(ac.size * k, kind)))
    tx_ac = np.concatenate([p[0] for p in parts])
    tx_t = np.concatenate([p[1] for p in parts])
    tx_kind = np.concatenate([p[2] for p in parts])
    order = np.argsort(tx_t, kind="stable")
    tx_ac, tx_t, tx_kind = tx_ac[order], tx_t[order], tx_kind[order]
    lat = lat0[tx_ac] + vlat[tx_ac] * tx_t
    lon = lon0[tx_ac] + vlon[tx_ac] * tx_t
    alt_tx = alt[tx_ac]
    xyz = lla_to_ecef_arrays(lat, lon, alt_tx * FT_M)
    # frames
    odd = (np.round(tx_t * 2).astype(np.int64) % 2)
    raw = np.zeros((tx_t.size, 14), np.uint8)
    nbytes = np.zeros(tx_t.size, np.uint8)
    for kind in (0, 1, 2):
        w = np.flatnonzero(tx_kind == kind)
        if w.size == 0:
            continue
        fr: Frames
        if kind == 0:
            fr = adsb.airborne_position(icao[tx_ac[w]], lat[w], lon[w], alt_tx[w], odd[w])
        elif kind == 1:
            fr = surveillance.all_call_reply(icao[tx_ac[w]])
        else:
            fr = surveillance.altitude_reply(icao[tx_ac[w]], alt_tx[w])
        raw[w] = fr.raw
        nbytes[w] = fr.nbytes
    # receptions
    rx_xyz = lla_to_ecef_arrays([s.lat for s in sites], [s.lon for s in sites],
                                [s.alt_m for s in sites])
    rec_tx, rec_rx, rec_t = [], [], []
    h_ft = np.maximum(alt_tx, 0)
    for i, s in enumerate(sites):
        d = np.sqrt(((xyz - rx_xyz[i]) ** 2).sum(axis=1))
        horizon_m = 1.23 * (np.sqrt(h_ft) + np.sqrt(s.alt_m / FT_M)) * 1852.0
        heard = np.flatnonzero((d <= horizon_m) & (rng.random(d.size) >= sc.loss))
        rec_tx.append(heard)
        rec_rx.append(np.full(heard.size, i))
        rec_t.append(tx_t[heard] + d[heard] / C_M_S)
    rtx = np.concatenate(rec_tx)
    rrx = np.concatenate(rec_rx)
    rt = np.concatenate(rec_t)
    ticks = np.empty(rt.size, np.uint64)
    for i, c in enumerate(clocks):
        w = rrx == i
        tr = rt[w]
        jit = rng.normal(0.0, c.jitter_ns * 1e-9, tr.size)
        if c.kind == "gps":
            val = 12e6 * (tr + jit)
        else:
            base = np.where(tr >= c.reset_at_s, tr - c.reset_at_s, tr + c.offset_s) \
                if not np.isnan(c.reset_at_s) else tr + c.offset_s
            val = 12e6 * (base * (1 + c.drift_ppm * 1e-6) + jit)
        ticks[w] = np.maximum(np.rint(val), 1).astype(np.uint64)
    order = np.argsort(rt, kind="stable")
    rtx, rrx, rt, ticks = rtx[order], rrx[order], rt[order], ticks[order]
    fb = FrameBatch.from_matrix(
        raw[rtx], nbytes[rtx], t_rx=np.round((sc.base_t + rt) * 1000) / 1000,
        ts_12mhz=ticks, signal_dbfs=np.full(rt.size, -10.0, np.float32),
        receiver=(rrx + 1).astype(np.uint16))
    heard_by = np.bincount(rtx, minlength=tx_t.size)
    return SyntheticFeed(fb, Sites(sites), clocks, icao, only, lat0, lon0, vlat,
                         vlon, alt, sc.base_t, tx_t + sc.base_t, tx_ac, heard_by)
