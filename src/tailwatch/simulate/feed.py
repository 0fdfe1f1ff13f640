"""Put it together: scenario → trajectories → transmissions → receptions + noise → frames.

:func:`simulate` returns a :class:`Simulation`: the time-ordered :class:`FrameBatch` that
every other stage can take, labelled frame by frame with what it is (the transmission it
copies, its message kind, the noise injected), plus what is needed to write it (receivers,
garbage bursts) and to check it (:mod:`tailwatch.simulate.truth`).

Randomness comes from ``numpy.random.default_rng`` seeded with ``[seed, icao24, purpose]``
per aircraft, so an aircraft's messages do not change when other aircraft are added or
filtered out; the noise uses ``[seed, 0, purpose]``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tailwatch import encode as enc
from tailwatch.core.errors import ConfigError
from tailwatch.core.frames import FRAME_WIDTH, FrameBatch
from tailwatch.simulate import interference
from tailwatch.simulate import transmit as tx
from tailwatch.simulate.clocks import counter_ticks, make_wander
from tailwatch.simulate.receive import (
    Receiver,
    covered_spans,
    flip_bits,
    make_receivers,
    receive,
    signal_dbfs,
)
from tailwatch.simulate.routes import AircraftTrack, fly_aircraft
from tailwatch.simulate.scenario import AircraftSpec, Scenario, Window
from tailwatch.simulate.traffic import generate, random_squawk

if TYPE_CHECKING:
    from tailwatch.simulate.truth import Truth

F64 = npt.NDArray[np.float64]
TICKS_PER_S = 12_000_000

# frame_noise codes
CLEAN, SINGLE_BIT, MULTI_BIT, MODE_AC, GHOST = 0, 1, 2, 3, 4
NOISE_NAMES = ("clean", "single_bit", "multi_bit", "mode_ac", "ghost")

_P_SCHEDULE, _P_RECEIVE, _P_NOISE, _P_TRAFFIC = 1, 2, 3, 4
_P_CLOCK, _P_MODES_ONLY, _P_INTERFERENCE = 6, 7, 8  # 5 is the writer's garbage


@dataclass(slots=True)
class Simulation:
    """A simulated feed and everything known about it."""

    scenario: Scenario
    seed: int
    receivers: list[Receiver]
    tracks: list[AircraftTrack]
    schedule: tx.Schedule  # transmissions heard at least once (rows of frame_msg)
    tx_frames: enc.Frames  # their encodings, row-aligned with ``schedule``
    frames: FrameBatch  # every received frame, time ordered
    frame_msg: npt.NDArray[np.int64]  # schedule row of each frame, -1 for injected frames
    frame_kind: npt.NDArray[np.int8]  # transmit.KIND_NAMES
    frame_noise: npt.NDArray[np.int8]  # NOISE_NAMES
    garbage_t: F64  # times of garbage bursts in the output stream
    garbage_len: npt.NDArray[np.int32]  # their sizes
    spans: list[tuple[float, float]]  # emitted time spans (the windows, or the whole feed)
    day0: float  # origin of the 12 MHz counter: 00:00 UTC of the first day
    counts: dict[str, int] = field(default_factory=dict)
    # exact radio path delay of each frame (s; NaN for injected frames): slant range / c for
    # receivers with a gps or free clock, ground distance / c for utc ones
    frame_delay_s: F64 = field(default_factory=lambda: np.zeros(0))
    # GNSS interference: who was affected by which zone, when (see interference.py)
    episodes: list[interference.Episode] = field(default_factory=list)
    _truth: Truth | None = None

    @property
    def truth(self) -> Truth:
        if self._truth is None:
            from tailwatch.simulate.truth import build_truth

            self._truth = build_truth(self)
        return self._truth

    def receiver_positions(self) -> dict[int, tuple[float, float]]:
        """uint16 receiver id → (lat, lon), as :class:`~tailwatch.track.tracker.Tracker`
        takes them."""
        return {r.uid: (r.spec.lat, r.spec.lon) for r in self.receivers}

    def receiver_ids(self) -> dict[int, int]:
        """uint16 receiver id → 64-bit Beast id (``encode_beast``'s ``receiver_ids``)."""
        return {r.uid: r.id64 for r in self.receivers}

    @property
    def start(self) -> float:
        return float(self.frames.t_rx[0]) if len(self.frames) else math.nan

    @property
    def end(self) -> float:
        return float(self.frames.t_rx[-1]) if len(self.frames) else math.nan


def all_aircraft(scenario: Scenario, seed: int) -> list[AircraftSpec]:
    """The declared aircraft followed by the generated background traffic."""
    used = {a.icao24 for a in scenario.aircraft}
    out = list(scenario.aircraft)
    for i, t in enumerate(scenario.traffic):
        out.extend(generate(t, np.random.default_rng([seed, i, _P_TRAFFIC]), used,
                            np.random.default_rng([seed, i, _P_MODES_ONLY])))
    return out


def simulate(
    scenario: Scenario,
    *,
    seed: int | None = None,
    aircraft: set[int] | None = None,
    traffic: bool = True,
    windows: list[Window] | None = None,
) -> Simulation:
    """Simulate a scenario.

    ``seed`` overrides the scenario's; ``aircraft`` keeps only these addresses; ``traffic``
    False drops the generated background traffic; ``windows`` replaces the scenario's emitted
    windows (e.g. a short span for a test).
    """
    seed = scenario.seed if seed is None else int(seed)
    wins = tuple(windows) if windows is not None else scenario.windows
    specs = all_aircraft(scenario, seed) if traffic else list(scenario.aircraft)
    if aircraft is not None:
        specs = [a for a in specs if a.icao24 in aircraft]
    receivers = make_receivers(scenario.receivers)
    tracks: list[AircraftTrack] = []
    parts: list[tx.Schedule] = []
    copy_parts: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.uint16], F64, F64, F64]] = []
    lost = 0
    duplicates = 0
    offset = 0
    episodes: list[interference.Episode] = []
    for i, spec in enumerate(specs):
        squawk_rng = np.random.default_rng([seed, spec.icao24, _P_SCHEDULE])
        track = fly_aircraft(
            spec, slot=(spec.icao24 % 5) - 2, default_squawk=random_squawk(squawk_rng)
        )
        tracks.append(track)
        st = tx.State(track)
        spans = covered_spans(receivers, tx.emitted_spans(track, wins), st.at)
        sched = tx.schedule_aircraft(track, i, scenario.rates, spans, squawk_rng, st)
        sched, eps = interference.apply(sched, scenario.interference, seed, _P_INTERFERENCE)
        episodes.extend(eps)
        if sched["t"].size == 0:
            continue
        rng = np.random.default_rng([seed, spec.icao24, _P_RECEIVE])
        copies, n_lost = receive(
            receivers,
            sched["t"],
            sched["lat"],
            sched["lon"],
            sched["alt_ft"],
            sched["on_ground"],
            scenario.noise,
            rng,
        )
        lost += n_lost
        per_msg = np.bincount(copies.msg, minlength=sched["t"].size)
        heard = per_msg > 0
        n_heard = int(heard.sum())
        if n_heard == 0:
            continue
        duplicates += int(copies.msg.size - n_heard)
        new_index = np.cumsum(heard) - 1
        parts.append(tx.take(sched, heard))
        copy_parts.append((new_index[copies.msg] + offset, copies.receiver, copies.t_rx,
                           copies.dist_nm, copies.delay_s))  # fmt: skip
        offset += n_heard
    schedule = tx.concat_schedules(parts)
    tx_frames = tx.encode_schedule(schedule, scenario.qnh_hpa)
    msg = np.concatenate([c[0] for c in copy_parts]) if copy_parts else np.zeros(0, np.int64)
    rxid = np.concatenate([c[1] for c in copy_parts]) if copy_parts else np.zeros(0, np.uint16)
    t_rx = np.concatenate([c[2] for c in copy_parts]) if copy_parts else np.zeros(0)
    dist = np.concatenate([c[3] for c in copy_parts]) if copy_parts else np.zeros(0)
    delay = np.concatenate([c[4] for c in copy_parts]) if copy_parts else np.zeros(0)

    nrng = np.random.default_rng([seed, 0, _P_NOISE])
    raw = tx_frames.raw[msg]
    nbytes = tx_frames.nbytes[msg]
    kind = schedule["kind"][msg]
    noise = np.zeros(msg.size, dtype=np.int8)
    es = np.flatnonzero(np.isin(kind, tx.ADSB_KINDS))
    u = nrng.random(es.size)
    p1, p2 = scenario.noise.single_bit, scenario.noise.multi_bit
    single = es[u < p1]
    multi = es[(u >= p1) & (u < p1 + p2)]
    flip_bits(raw, single, 1, nrng)
    noise[single] = SINGLE_BIT
    nflip = nrng.integers(2, 5, multi.size)
    for nb_ in (2, 3, 4):
        flip_bits(raw, multi[nflip == nb_], nb_, nrng)
    noise[multi] = MULTI_BIT
    signal = signal_dbfs(dist, nrng)

    if wins:
        spans = sorted((w.start, w.end) for w in wins)
    elif t_rx.size:
        spans = [(float(t_rx.min()), float(t_rx.max()))]
    else:
        spans = []
    injected = _inject(scenario, receivers, schedule, spans, nrng)
    all_raw = np.concatenate([raw, injected["raw"]])
    all_nb = np.concatenate([nbytes, injected["nbytes"]])
    all_t = np.concatenate([t_rx, injected["t"]])
    all_rx = np.concatenate([rxid, injected["receiver"]])
    all_sig = np.concatenate([signal, injected["signal"]])
    all_msg = np.concatenate([msg, np.full(injected["t"].size, -1, np.int64)])
    all_kind = np.concatenate([kind, injected["kind"]]).astype(np.int8)
    all_noise = np.concatenate([noise, injected["noise"]]).astype(np.int8)
    order = np.argsort(all_t, kind="stable")
    day0 = math.floor(float(all_t[order[0]]) / 86400.0) * 86400.0 if all_t.size else 0.0
    t_sorted = all_t[order]
    ticks = np.rint((t_sorted - day0) * TICKS_PER_S).astype(np.uint64) & np.uint64(2**48 - 1)
    n_inj = injected["t"].size
    # exact arrival times relative to day0 (no float64 UNIX rounding): transmission + delay
    rel = np.concatenate([(schedule["t"][msg] - day0) + delay, injected["t"] - day0])[order]
    frame_delay = np.concatenate([delay, np.full(n_inj, np.nan)])[order]
    _clock_ticks(receivers, all_rx[order], rel, day0, ticks, seed)
    frames = FrameBatch.from_matrix(all_raw[order], all_nb[order], t_rx=t_sorted,
                                    ts_12mhz=ticks, signal_dbfs=all_sig[order],
                                    receiver=all_rx[order])  # fmt: skip
    g_t, g_len = _garbage(scenario, spans, nrng)
    frame_noise = all_noise[order]
    counts = {
        "transmissions": int(schedule["t"].size),
        "frames": len(frames),
        "copies": int(msg.size),
        "duplicates": duplicates,
        "lost": lost,
        "single_bit": int((frame_noise == SINGLE_BIT).sum()),
        "multi_bit": int((frame_noise == MULTI_BIT).sum()),
        "mode_ac": int((frame_noise == MODE_AC).sum()),
        "ghost": int((frame_noise == GHOST).sum()),
        "garbage_bursts": int(g_t.size),
        "garbage_bytes": int(g_len.sum()),
        "aircraft": len(parts),
    }
    return Simulation(
        scenario=scenario, seed=seed, receivers=receivers, tracks=tracks, schedule=schedule,
        tx_frames=tx_frames, frames=frames, frame_msg=all_msg[order],
        frame_kind=all_kind[order], frame_noise=frame_noise, garbage_t=g_t, garbage_len=g_len,
        spans=spans, day0=day0, counts=counts, frame_delay_s=frame_delay, episodes=episodes,
    )  # fmt: skip


def _clock_ticks(receivers: list[Receiver], rx: npt.NDArray[np.uint16], rel: F64, day0: float,
                 ticks: npt.NDArray[np.uint64], seed: int) -> None:  # fmt: skip
    """Overwrite, in place, the 12 MHz counters of the frames of receivers with a ``gps`` or
    ``free`` clock (``rel``: exact arrival times since day0)."""
    rng = np.random.default_rng([seed, 0, _P_CLOCK])  # jitter
    for r in receivers:
        if r.spec.clock == "utc":
            continue
        idx = np.flatnonzero(rx == r.uid)
        wander = None
        if idx.size and r.spec.clock_wander_ppm_per_h > 0:
            wander = make_wander(r.spec, float(rel[idx].min()), float(rel[idx].max()),
                                 np.random.default_rng([seed, r.uid, _P_CLOCK]))  # fmt: skip
        ticks[idx] = counter_ticks(r.spec, rel[idx], day0, rng, wander)


def _poisson_times(spans: list[tuple[float, float]], rate_per_s: float,
                   rng: np.random.Generator) -> F64:  # fmt: skip
    out = [rng.uniform(a, b, rng.poisson(rate_per_s * (b - a))) for a, b in spans]
    return np.sort(np.concatenate(out)) if out else np.zeros(0)


def _inject(scenario: Scenario, receivers: list[Receiver], schedule: tx.Schedule,
            spans: list[tuple[float, float]], rng: np.random.Generator
            ) -> dict[str, np.ndarray]:  # fmt: skip
    """Mode A/C chatter and ghost DF4/DF20 replies, per receiver."""
    noise = scenario.noise
    raws, nbs, ts, rxs, kinds, noises = [], [], [], [], [], []
    squawks = np.unique(schedule["squawk"]) if schedule["squawk"].size else np.array([1200])
    known = set(np.unique(schedule["icao24"]).tolist()) | {a.icao24 for a in scenario.aircraft}
    for r in receivers:
        t = _poisson_times(spans, noise.mode_ac_per_second, rng)
        if t.size:
            sq = squawks[rng.integers(0, squawks.size, t.size)].astype(np.int64)
            code = np.array([int(str(int(x)), 16) for x in sq], dtype=np.int64)
            code = np.where(code == 0, 0x0100, code)  # 0000 would read as a heartbeat
            raw = np.zeros((t.size, FRAME_WIDTH), np.uint8)
            raw[:, 0] = code >> 8
            raw[:, 1] = code & 0xFF
            raws.append(raw)
            nbs.append(np.full(t.size, 2, np.uint8))
            ts.append(t)
            rxs.append(np.full(t.size, r.uid, np.uint16))
            kinds.append(np.full(t.size, tx.MODE_AC, np.int8))
            noises.append(np.full(t.size, MODE_AC, np.int8))
        t = _poisson_times(spans, noise.ghosts_per_minute / 60.0, rng)
        if t.size:
            addr = rng.integers(0, 1 << 24, t.size)
            for i in range(addr.size):
                while int(addr[i]) in known:
                    addr[i] = rng.integers(0, 1 << 24)
            alt = 100.0 * rng.integers(20, 400, t.size)
            long_ = rng.random(t.size) < 0.5
            frames = np.zeros((t.size, FRAME_WIDTH), np.uint8)
            nb = np.zeros(t.size, np.uint8)
            s = ~long_
            if s.any():
                f = enc.altitude_reply(addr[s], alt[s])
                frames[s], nb[s] = f.raw, f.nbytes
            if long_.any():
                k = int(long_.sum())
                mb = enc.mb_bds60(rng.uniform(0, 360, k), rng.uniform(200, 320, k),
                                  rng.uniform(0.4, 0.8, k), 0.0, 0.0)  # fmt: skip
                f = enc.commb_altitude_reply(addr[long_], alt[long_], mb)
                frames[long_], nb[long_] = f.raw, f.nbytes
            raws.append(frames)
            nbs.append(nb)
            ts.append(t)
            rxs.append(np.full(t.size, r.uid, np.uint16))
            kinds.append(np.full(t.size, tx.GHOST, np.int8))
            noises.append(np.full(t.size, GHOST, np.int8))
    if not ts:
        return {"raw": np.zeros((0, FRAME_WIDTH), np.uint8), "nbytes": np.zeros(0, np.uint8),
                "t": np.zeros(0), "receiver": np.zeros(0, np.uint16),
                "signal": np.zeros(0, np.float32), "kind": np.zeros(0, np.int8),
                "noise": np.zeros(0, np.int8)}  # fmt: skip
    t_all = np.concatenate(ts)
    return {
        "raw": np.concatenate(raws),
        "nbytes": np.concatenate(nbs),
        "t": t_all,
        "receiver": np.concatenate(rxs),
        "signal": signal_dbfs(rng.uniform(5, 150, t_all.size), rng),
        "kind": np.concatenate(kinds),
        "noise": np.concatenate(noises),
    }


def _garbage(scenario: Scenario, spans: list[tuple[float, float]],
             rng: np.random.Generator) -> tuple[F64, npt.NDArray[np.int32]]:  # fmt: skip
    t = _poisson_times(spans, scenario.noise.garbage_per_minute / 60.0, rng)
    lo, hi = scenario.noise.garbage_bytes
    return t, rng.integers(lo, hi + 1, t.size).astype(np.int32)


def iso(t: float) -> str:
    """UTC seconds → ``2019-03-22T12:12:00Z``."""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_seed(seed: int) -> int:
    if seed < 0:
        raise ConfigError("--seed must be >= 0")
    return seed
