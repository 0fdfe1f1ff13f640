"""The multilateration stage: one call per deduplicated batch (see docs/mlat.md).

:meth:`Multilateration.process` takes the decoded messages, the dedup's receptions (which
receivers heard each message, with their 12 MHz counters) and the tracker (after it took the
batch), and

1. checks every receiver's counter for a reset (:func:`.clock.check_counters`);
2. synchronises the receiver pairs on the ADS-B positions the tracker accepted in this batch
   (DF17/18 only: TIS-B and ADS-R are sent by ground stations);
3. solves the transmissions of Mode S replies and squitters (DF0/4/5/11/16/20/21) and of
   DF17/18 messages without a position, of addresses confirmed by a parity-checked message in
   the last 10 minutes, heard by at least 3 positioned receivers, for aircraft without a fresh
   position from a better source (ADS-B); the barometric altitude of the message or of the
   aircraft (≤ 15 s old) constrains the height;
4. filters each aircraft's fixes (:mod:`.filter`) and returns state vectors with source
   ``mlat`` (``lat``, ``lon``, ``gs_kt``/``track_deg`` once the filter has a velocity,
   ``receivers``, ``nacp`` from the error estimate) for ``Tracker.update_states``.

No per-message Python: numpy selections and three compiled loops per batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tailwatch.core.schema import SOURCE_LABELS
from tailwatch.decode.batch import MessageBatch
from tailwatch.ingest.dedup import DedupBatch
from tailwatch.mlat import solve as sv
from tailwatch.mlat.clock import ClockSync, SyncParams
from tailwatch.mlat.filter import AircraftFilter
from tailwatch.mlat.geodesy import ecef_to_lla_arrays, lla_to_ecef_arrays
from tailwatch.mlat.sites import Sites
from tailwatch.track.kernel import RANK_MLAT
from tailwatch.track.tracker import PositionBatch, Tracker

__all__ = ["MlatBatch", "MlatSettings", "Multilateration", "nacp_of_error"]

FT_M = 0.3048
M_S_KT = 3600.0 / 1852.0
TARGET_DFS = np.array([0, 4, 5, 11, 16, 20, 21], np.uint8)
_SYNC_SOURCES = np.array([SOURCE_LABELS.index("adsb"), SOURCE_LABELS.index("adsb_nt")])
# NACp by the 95 % horizontal error bound (EPU), metres (DO-260B table 2-70)
_NACP_EPU_M = np.array([18520.0, 7408.0, 3704.0, 1852.0, 926.0, 555.6, 185.2, 92.6, 30.0,
                        10.0, 3.0])


def nacp_of_error(err_m: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """NACp of a 1σ radial horizontal error: the 95 % bound (≈ 1.73 × the radial 1σ for a
    circular error) against the EPU limits; 0 when unknown or above 10 NM."""
    epu = 1.73 * np.asarray(err_m, np.float64)
    out: npt.NDArray[np.int8] = np.where(np.isfinite(epu),
                                         (epu[:, None] < _NACP_EPU_M[None, :]).sum(axis=1),
                                         0).astype(np.int8)
    return out


@dataclass(frozen=True, slots=True)
class MlatSettings:
    """Limits of the solve and the filter (docs/mlat.md)."""

    sync: SyncParams = field(default_factory=SyncParams)
    alt_sigma_m: float = 100.0  # barometric altitude as a height constraint
    max_error_m: float = 3000.0  # horizontal 1σ error estimate of one fix
    max_chi2: float = 16.0  # residuals per degree of freedom
    max_range_m: float = 600_000.0  # from the reference receiver
    max_dop: float = 60.0  # horizontal error / one range-difference σ
    accel_sigma_m_s2: float = 3.0  # filter process noise
    confirm_window_s: float = 600.0  # address confirmed by a parity-checked message
    better_fresh_s: float = 10.0  # skip aircraft with a fresher position from ADS-B
    altitude_fresh_s: float = 15.0

    def solver_array(self) -> npt.NDArray[np.float64]:
        return np.array([self.alt_sigma_m, self.max_error_m, self.max_chi2, self.max_range_m,
                         self.max_dop])


@dataclass(slots=True)
class MlatBatch:
    """One batch's results. ``columns``: state vectors for ``Tracker.update_states`` (source
    ``mlat``); per row also the filtered and raw 1σ horizontal errors, the raw fix and the
    number of receivers used."""

    columns: dict[str, np.ndarray]
    error_m: npt.NDArray[np.float64]
    raw_error_m: npt.NDArray[np.float64]
    raw_lat: npt.NDArray[np.float64]
    raw_lon: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.columns["t"].shape[0])

    @classmethod
    def empty(cls) -> MlatBatch:
        z = np.zeros(0)
        return cls({"t": z, "icao24": np.zeros(0, np.uint32), "lat": z, "lon": z}, z, z, z, z)


class Multilateration:
    """Clock synchronisation, solving and filtering over the receivers of ``sites``."""

    def __init__(self, sites: Sites, settings: MlatSettings | None = None) -> None:
        self.sites = sites
        self.settings = settings or MlatSettings()
        self.sync = ClockSync(0, self.settings.sync)
        self.filter = AircraftFilter(self.settings.accel_sigma_m_s2)
        self._sp = self.settings.solver_array()
        self.counts: dict[str, int] = dict.fromkeys(
            ("messages", "sync_candidates", "targets", "fixes", "filter_outliers",
             *sv.STATUS_NAMES), 0)
        self.last = MlatBatch.empty()

    def stats(self) -> dict[str, Any]:
        t = float(np.nanmax(self.sync.rx_t)) if self.sync.rx_t.size and np.isfinite(
            self.sync.rx_t).any() else math.nan
        bad = self.sync.bad_receivers(t) if not math.isnan(t) else np.zeros(0, bool)
        names = self.sites.names
        return {**self.counts, **self.sync.stats(),
                "filter_outliers": self.filter.outliers,
                "sites": len(names),
                "bad_receivers": [names[i] for i in np.flatnonzero(bad).tolist()
                                  if i < len(names)]}

    def process(self, batch: MessageBatch, receptions: DedupBatch,
                positions: PositionBatch, position_rows: npt.NDArray[np.int64],
                tracker: Tracker) -> MlatBatch:
        """See the module docstring. ``positions`` are the tracker's positions of ``batch``
        and ``position_rows`` the row of each one's message (``Tracker.last_message_rows``)."""
        m = len(batch)
        self.counts["messages"] += m
        _, site_xyz = self.sites.table()
        if m == 0 or site_xyz.shape[0] < 3:
            self.last = MlatBatch.empty()
            return self.last
        self.sync.resize(site_xyz.shape[0])
        drow = np.arange(m) if batch.index is None else batch.index
        rx = receptions.receivers[drow]
        ticks = receptions.ts_12mhz[drow].astype(np.int64)
        site = self.sites.site_index(rx.reshape(-1)).reshape(rx.shape)
        site[ticks <= 0] = -1
        heard = (site >= 0).sum(axis=1)
        t = batch["t"]
        useful = np.flatnonzero(heard >= 2)
        if useful.size == 0:
            self.last = MlatBatch.empty()
            return self.last
        useful = useful[np.argsort(t[useful], kind="stable")]
        trx = receptions.t_rx[drow]
        site = np.ascontiguousarray(site, np.int32)
        self.sync.check_counters(useful, site, ticks, trx)
        heard = (site >= 0).sum(axis=1)
        self._synchronise(site, ticks, trx, positions, position_rows, heard, site_xyz)
        self.last = self._solve(batch, site, ticks, heard, position_rows, tracker, site_xyz)
        return self.last

    def _synchronise(self, site: npt.NDArray[np.int32], ticks: npt.NDArray[np.int64],
                     trx: npt.NDArray[np.float64], positions: PositionBatch,
                     rows: npt.NDArray[np.int64], heard: npt.NDArray[np.int64],
                     site_xyz: npt.NDArray[np.float64]) -> None:
        if len(positions) == 0:
            return
        c = positions.columns
        alt_ft = np.where(np.isfinite(c["altitude_geom_ft"]), c["altitude_geom_ft"],
                          c["altitude_ft"]).astype(np.float64)
        keep = (np.isin(c["source"], _SYNC_SOURCES) & np.isfinite(alt_ft)
                & (c["on_ground"] != 1) & (heard[rows] >= 2))
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            return
        idx = idx[np.argsort(c["t"][idx], kind="stable")]
        r = rows[idx]
        self.counts["sync_candidates"] += int(idx.size)
        tx = lla_to_ecef_arrays(c["lat"][idx], c["lon"][idx], alt_ft[idx] * FT_M)
        self.sync.update(site[r], ticks[r], trx[r], tx, site_xyz)

    def _solve(self, batch: MessageBatch, site: npt.NDArray[np.int32],
               ticks: npt.NDArray[np.int64], heard: npt.NDArray[np.int64],
               position_rows: npt.NDArray[np.int64], tracker: Tracker,
               site_xyz: npt.NDArray[np.float64]) -> MlatBatch:
        st = self.settings
        df = batch["df"]
        t = batch["t"]
        is_pos = np.zeros(len(batch), bool)
        is_pos[position_rows] = True
        cand = ((np.isin(df, TARGET_DFS) | (((df == 17) | (df == 18)) & ~is_pos))
                & (heard >= 3) & np.isfinite(t))
        idx = np.flatnonzero(cand)
        if idx.size == 0:
            return MlatBatch.empty()
        icao = batch["icao24"][idx]
        slots = tracker.slots_of(icao)
        known = slots >= 0
        idx, icao, slots = idx[known], icao[known], slots[known]
        a = tracker.aircraft_state(slots)
        tt = t[idx]
        confirmed = tt - a["t_confirmed"] <= st.confirm_window_s
        better = (a["position_rank"] < RANK_MLAT) & (tt - a["t_position"] <= st.better_fresh_s)
        ok = confirmed & ~better
        idx, icao, slots, tt = idx[ok], icao[ok], slots[ok], tt[ok]
        if idx.size == 0:
            return MlatBatch.empty()
        self.counts["targets"] += int(idx.size)
        alt_msg = batch["altitude_ft"][idx].astype(np.float64)
        alt_trk = np.where(np.abs(tt - a["t_altitude"][ok]) <= st.altitude_fresh_s,
                           a["altitude_ft"][ok], np.nan)
        alt_m = np.where(np.isfinite(alt_msg), alt_msg, alt_trk) * FT_M
        guess = self.filter.state(slots, tt)
        n = idx.size
        xyz = np.empty((n, 3))
        cov6 = np.empty((n, 6))
        err = np.empty(n)
        dop = np.empty(n)
        n_used = np.empty(n, np.int64)
        status = np.empty(n, np.int64)
        bad = self.sync.bad_receivers(float(np.nanmax(tt)))
        sv.solve_batch(np.ascontiguousarray(site[idx]), np.ascontiguousarray(ticks[idx]),
                       np.ascontiguousarray(tt), alt_m, np.ascontiguousarray(guess),
                       site_xyz, bad, self.sync.pf, self.sync.pi, self.sync.prm, self._sp,
                       xyz, cov6, err, dop, n_used, status)
        for code, cnt in enumerate(np.bincount(status, minlength=len(sv.STATUS_NAMES))):
            self.counts[sv.STATUS_NAMES[code]] += int(cnt)
        good = status == sv.ST_OK
        self.counts["fixes"] += int(good.sum())
        if not good.any():
            return MlatBatch.empty()
        g = np.flatnonzero(good)
        pos, vel, ferr, acc = self.filter.update(slots[g], tt[g], xyz[g], cov6[g])
        g, pos, vel, ferr = g[acc], pos[acc], vel[acc], ferr[acc]
        lla = ecef_to_lla_arrays(pos)
        raw = ecef_to_lla_arrays(xyz[g])
        gs, trk = _ground_velocity(lla[:, 0], lla[:, 1], vel)
        k = g.shape[0]
        cols: dict[str, np.ndarray] = {
            "t": tt[g],
            "icao24": icao[g].astype(np.uint32),
            "lat": lla[:, 0],
            "lon": lla[:, 1],
            "gs_kt": gs.astype(np.float32),
            "track_deg": trk.astype(np.float32),
            "nacp": nacp_of_error(ferr),
            "receivers": np.minimum(n_used[g], 255).astype(np.uint8),
            "receiver": np.zeros(k, np.uint16),
        }
        return MlatBatch(cols, ferr, err[g], raw[:, 0], raw[:, 1])


def _ground_velocity(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64],
                     vel: npt.NDArray[np.float64],
                     ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:  # fmt: skip
    """Ground speed (kt) and track (°) of ECEF velocities at the given places (NaN rows stay
    NaN)."""
    la = np.radians(lat)
    lo = np.radians(lon)
    ve = -np.sin(lo) * vel[:, 0] + np.cos(lo) * vel[:, 1]
    vn = (-np.sin(la) * np.cos(lo) * vel[:, 0] - np.sin(la) * np.sin(lo) * vel[:, 1]
          + np.cos(la) * vel[:, 2])
    gs = np.hypot(ve, vn) * M_S_KT
    trk = np.degrees(np.arctan2(ve, vn)) % 360.0
    return gs, trk
