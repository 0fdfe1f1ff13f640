"""Writing a simulated feed: Beast, AVR or SBS bytes, all at once, in chunks, or paced.

* ``beast`` — :func:`~tailwatch.ingest.beast.encode_beast` with the receivers' 64-bit ids
  (``0x1a 0xe3`` before each change of receiver), the 12 MHz counter counting from 00:00 UTC
  of the feed's first day, and (``clock=True``, the default) readsb's replay clock
  ``0x1a 0xe8`` + int64 milliseconds before every frame whose millisecond differs from the
  previous one, so that readers get UTC times. Garbage bursts are random bytes other than
  ``0x1a`` between records (``beast_garbage_bytes`` counts them exactly).
* ``avr`` — :func:`~tailwatch.ingest.avr.encode_avr` lines ``@<12 MHz counter><hex>;``
  (AVR carries no UTC time and no receiver). A garbage burst is one line of letters that is
  not an AVR message (``avr_bad_line``).
* ``sbs`` — :func:`~tailwatch.ingest.sbs.encode_sbs` lines, one per transmission that at
  least one selected receiver got intact or correctable, at its first reception: ``MSG,3``
  (airborne position, altitude to 25 ft), ``MSG,2`` (surface position, speed, track),
  ``MSG,4`` (speed, track, vertical rate), ``MSG,1`` (callsign), ``MSG,5`` (altitude
  replies), ``MSG,6`` (identity replies and emergency status: squawk, alert and emergency
  flags), ``MSG,8`` (all-call replies). Operational status has no SBS line. Injected frames
  (bit errors, Mode A/C, ghosts) do not exist in a decoded feed; a garbage burst is one line
  that is not SBS (``sbs_bad_line``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numba as nb
import numpy as np
import numpy.typing as npt

from tailwatch.core.errors import ConfigError
from tailwatch.core.frames import FrameBatch
from tailwatch.ingest.avr import encode_avr
from tailwatch.ingest.beast import ESC, encode_beast
from tailwatch.ingest.sbs import encode_sbs
from tailwatch.simulate import transmit as tx
from tailwatch.simulate.feed import CLEAN, SINGLE_BIT, Simulation

Format = Literal["beast", "avr", "sbs"]
FORMATS: tuple[str, ...] = ("beast", "avr", "sbs")
_P_GARBAGE = 5

_SBS_TYPE = {tx.AIR_POS: 3, tx.SURF_POS: 2, tx.VELOCITY: 4, tx.IDENT: 1, tx.ALT_REPLY: 5,
             tx.COMMB_ALT: 5, tx.ID_REPLY: 6, tx.COMMB_ID: 6, tx.EMERGENCY: 6,
             tx.ALL_CALL: 8}  # fmt: skip


@nb.njit(cache=True)
def _beast_frame_starts(buf: npt.NDArray[np.uint8], n_frames: int) -> npt.NDArray[np.int64]:
    """Offsets of the frame records ('1', '2', '3') in a clean encode_beast output."""
    starts = np.empty(n_frames, dtype=np.int64)
    p = 0
    k = 0
    n = buf.shape[0]
    while p < n and k < n_frames:
        t = buf[p + 1]
        if t == 0x31:
            body = 9
        elif t == 0x32:
            body = 14
        elif t == 0x33:
            body = 21
        else:  # 0xe3 receiver id
            body = 8
        if t != 0xE3:
            starts[k] = p
            k += 1
        q = p + 2
        got = 0
        while got < body:
            q += 2 if buf[q] == ESC else 1
            got += 1
        p = q
    return starts[:k]


@nb.njit(cache=True)
def _splice(
    base: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    before: npt.NDArray[np.int64],
    pool: npt.NDArray[np.uint8],
    tail: int,
    clock_flag: npt.NDArray[np.bool_],
    clock_ms: npt.NDArray[np.int64],
    use_clock: bool,
) -> npt.NDArray[np.uint8]:
    """``base`` with ``before[j]`` pool bytes (and a replay-clock record when flagged) put in
    front of record ``j``, and ``tail`` pool bytes at the end."""
    n_clock = int(clock_flag.sum()) if use_clock else 0
    out = np.empty(base.shape[0] + pool.shape[0] + 10 * n_clock, dtype=np.uint8)
    o = 0
    b = 0
    g = 0
    for j in range(starts.shape[0]):
        s = starts[j]
        out[o : o + s - b] = base[b:s]
        o += s - b
        b = s
        k = before[j]
        out[o : o + k] = pool[g : g + k]
        o += k
        g += k
        if use_clock and clock_flag[j]:
            out[o] = ESC
            out[o + 1] = 0xE8
            v = clock_ms[j]
            for i in range(8):
                out[o + 2 + i] = (v >> (8 * i)) & 0xFF
            o += 10
    rest = base.shape[0] - b
    out[o : o + rest] = base[b:]
    o += rest
    out[o : o + tail] = pool[g : g + tail]
    o += tail
    return out[:o]


class FeedWriter:
    """Encodes a :class:`Simulation` in one format, whole or by time span.

    ``receivers`` keeps only the frames of these receivers (names); ``clock`` adds the Beast
    replay clock; ``garbage`` inserts the scenario's garbage bursts.
    """

    def __init__(self, sim: Simulation, fmt: str, *, receivers: Sequence[str] | None = None,
                 clock: bool = True, garbage: bool = True) -> None:  # fmt: skip
        if fmt not in FORMATS:
            raise ConfigError(f"unknown output format {fmt!r}; expected one of {FORMATS}")
        self.sim = sim
        self.fmt = fmt
        self.clock = clock
        fb = sim.frames
        keep = np.ones(len(fb), dtype=bool)
        if receivers is not None:
            by_name = {r.name: r.uid for r in sim.receivers}
            unknown = [r for r in receivers if r not in by_name]
            if unknown:
                raise ConfigError(f"unknown receiver(s) {unknown}; known: {sorted(by_name)}")
            keep = np.isin(fb.receiver, [by_name[r] for r in receivers])
        self.index = np.flatnonzero(keep)
        self.t = fb.t_rx[self.index]
        self.receiver_ids = sim.receiver_ids()
        if garbage and len(sim.garbage_t):
            self.garbage_t = sim.garbage_t
            rng = np.random.default_rng([sim.seed, 0, _P_GARBAGE])
            self.garbage_pool, self.garbage_off = self._garbage_pool(sim.garbage_len, rng)
        else:
            self.garbage_t = np.zeros(0)
            self.garbage_pool = np.zeros(0, np.uint8)
            self.garbage_off = np.zeros(1, np.int64)
        if fmt == "sbs":
            self._sbs = self._sbs_rows(keep)
            self.t = self._sbs["t"]

    def _garbage_pool(self, lengths: npt.NDArray[np.int32], rng: np.random.Generator
                      ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:  # fmt: skip
        if self.fmt == "beast":
            values = np.array([b for b in range(256) if b != ESC], dtype=np.uint8)
            pool = values[rng.integers(0, values.size, int(lengths.sum()))]
            sizes = lengths.astype(np.int64)
        else:
            end = b"\n" if self.fmt == "avr" else b"\r\n"
            letters = np.frombuffer(b"ghijklmnopqrstuvwxyz", dtype=np.uint8)
            lines = [b"#" + letters[rng.integers(0, letters.size, int(k))].tobytes() + end
                     for k in lengths.tolist()]  # fmt: skip
            pool = np.frombuffer(b"".join(lines), dtype=np.uint8).copy()
            sizes = np.array([len(x) for x in lines], dtype=np.int64)
        return pool, np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def _sbs_rows(self, keep: npt.NDArray[np.bool_]) -> dict[str, np.ndarray]:
        sim = self.sim
        s = sim.schedule
        good = keep & (sim.frame_msg >= 0) & np.isin(sim.frame_noise, (CLEAN, SINGLE_BIT))
        first = np.full(s["t"].size, np.inf)
        np.minimum.at(first, sim.frame_msg[good], sim.frames.t_rx[good])
        kind = s["kind"]
        types = np.zeros(kind.size, np.int64)
        for code, v in _SBS_TYPE.items():
            types[kind == code] = v
        rows = np.flatnonzero(np.isfinite(first) & (types > 0))
        rows = rows[np.argsort(first[rows], kind="stable")]
        k = kind[rows]
        n = int(rows.size)
        nan = np.full(n, np.nan)
        none = np.full(n, -1, np.int64)

        def where(mask: npt.NDArray[np.bool_] | bool, values: npt.ArrayLike,
                  empty: npt.ArrayLike) -> np.ndarray:  # fmt: skip
            return np.where(mask, values, empty)

        pos = np.isin(k, (tx.AIR_POS, tx.SURF_POS))
        alt = np.isin(k, (tx.AIR_POS, tx.ALT_REPLY, tx.COMMB_ALT))
        spd = np.isin(k, (tx.VELOCITY, tx.SURF_POS))
        sq = np.isin(k, (tx.ID_REPLY, tx.COMMB_ID, tx.EMERGENCY))
        emerg = sq & np.isin(s["squawk"][rows], list(tx.EMERGENCY_CODES))
        gnd = s["on_ground"][rows]
        em_code = np.array([tx.EMERGENCY_CODES.get(int(x), 0) for x in s["squawk"][rows]])
        return {
            "t": first[rows],
            "icao24": s["icao24"][rows],
            "sbs_type": types[rows],
            "callsign": np.where(k == tx.IDENT, s["callsign"][rows], b""),
            "altitude_ft": where(alt, np.round(s["alt_ft"][rows] / 25.0) * 25.0, nan),
            "gs_kt": where(spd, s["gs_kt"][rows], nan),
            "track_deg": where(spd, s["track_deg"][rows], nan),
            "lat": where(pos, s["rep_lat"][rows], nan),
            "lon": where(pos, s["rep_lon"][rows], nan),
            "vrate_fpm": where(k == tx.VELOCITY, s["vrate_fpm"][rows], nan),
            "squawk": where(sq, s["squawk"][rows].astype(np.int64), none),
            "alert": where(sq, emerg.astype(np.int64), none),
            "emergency": where(sq, em_code, none),
            "spi": where(sq, 0, none),
            "on_ground": where(k != tx.VELOCITY, gnd.astype(np.int64), none),
        }

    # --------------------------------------------------------------------------------------

    def encode(self, t0: float = -math.inf, t1: float = math.inf) -> bytes:
        """Everything with a time in ``[t0, t1)``."""
        lo, hi = np.searchsorted(self.t, [t0, t1], side="left")
        g_lo, g_hi = np.searchsorted(self.garbage_t, [t0, t1], side="left")
        if self.fmt == "sbs":
            cols = {k: v[lo:hi] for k, v in self._sbs.items()}
            base = encode_sbs(cols) if hi > lo else b""
            times = cols["t"]
        else:
            fb = self.sim.frames.take(self.index[lo:hi])
            times = fb.t_rx
            if self.fmt == "beast":
                base = encode_beast(fb, receiver_ids=self.receiver_ids)
            else:
                base = encode_avr(fb, timestamps=True)
        arr = np.frombuffer(base, dtype=np.uint8)
        n = int(hi - lo)
        if self.fmt == "beast":
            starts = _beast_frame_starts(arr, n)
        else:
            ends = np.flatnonzero(arr == 0x0A)
            starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64) if n else ends
        where = np.searchsorted(times, self.garbage_t[g_lo:g_hi], side="left")
        sizes = np.diff(self.garbage_off[g_lo : g_hi + 1])
        before = np.bincount(where, weights=sizes, minlength=n + 1).astype(np.int64)
        pool = self.garbage_pool[self.garbage_off[g_lo] : self.garbage_off[g_hi]]
        ms = np.floor(times * 1000.0).astype(np.int64)
        flag = np.ones(n, dtype=bool)
        flag[1:] = ms[1:] != ms[:-1]
        use_clock = self.fmt == "beast" and self.clock
        out = _splice(arr, starts, before[:n], pool, int(before[n]), flag, ms, use_clock)
        return out.tobytes()

    def chunks(self, step_s: float = 600.0) -> Iterator[tuple[float, float, bytes]]:
        """(start, end, bytes) over consecutive spans of ``step_s`` seconds of feed time,
        skipping the empty time between the scenario's spans."""
        firsts = [float(x[0]) for x in (self.t, self.garbage_t) if x.size]
        if not firsts:
            return
        t = min(firsts)
        while True:
            end = t + step_s
            yield t, end, self.encode(t, end)
            nxt = [float(x[i]) for x in (self.t, self.garbage_t)
                   for i in [int(np.searchsorted(x, end))] if i < x.size]  # fmt: skip
            if not nxt:
                return
            t = end if min(nxt) < end + step_s else min(nxt)


def write(writer: FeedWriter, out: BinaryIO, *, speed: float | None = None,
          sleep: Callable[[float], None] = time.sleep,
          clock: Callable[[], float] = time.monotonic) -> int:  # fmt: skip
    """Write the whole feed to ``out``; ``speed`` N paces it at N times real time (the time
    between the scenario's spans is skipped), None writes as fast as possible. Returns the
    bytes written."""
    total = 0
    if speed is None:
        for _, _, data in writer.chunks(600.0):
            out.write(data)
            total += len(data)
        out.flush()
        return total
    if speed <= 0:
        raise ConfigError("--speed must be > 0")
    step = max(0.2 * speed, 0.05)
    t_wall0 = clock()
    feed_elapsed = 0.0
    for start, end, data in writer.chunks(step):
        out.write(data)
        out.flush()
        total += len(data)
        feed_elapsed += end - start
        delay = t_wall0 + feed_elapsed / speed - clock()
        if delay > 0:
            sleep(delay)
    return total


def sidecar(sim: Simulation, *, nbytes: int | None = None,
            receivers: Sequence[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The side file of a Beast feed written to a file, in the layout of a tailwatch
    recording's (:mod:`tailwatch.ingest.record`, ``format`` ``tailwatch-beast-1``), so that
    ``tailwatch replay`` learns the receivers' names and positions; each receiver also carries
    ``alt_m`` and its clock as in the truth's ``receivers.json``."""
    from tailwatch.ingest.record import FORMAT
    from tailwatch.simulate.truth import receiver_record

    return {
        "format": FORMAT,
        "description": "simulated Beast (tailwatch simulate): 0x1a 0xe8 arrival time (ms, "
                       "little-endian, unescaped) and 0x1a 0xe3 receiver ids",
        "sources": [f"simulate:{sim.scenario.name}"],
        "receivers": [receiver_record(r, sim.day0) for r in sim.receivers
                      if receivers is None or r.name in receivers],
        "started": sim.start if len(sim.frames) else None,
        "first_frame_time": sim.start if len(sim.frames) else None,
        "last_frame_time": sim.end if len(sim.frames) else None,
        "frames": len(sim.frames),
        "bytes": nbytes,
        "seed": sim.seed,
    }


def write_sidecar(sim: Simulation, feed_path: str | Path, *, nbytes: int | None = None,
                  receivers: Sequence[str] | None = None) -> Path:  # fmt: skip
    """Write :func:`sidecar` to ``<feed_path>.json``; returns its path."""
    path = Path(str(feed_path) + ".json")
    data = sidecar(sim, nbytes=nbytes, receivers=receivers)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def frame_chunks(sim: Simulation, step_s: float) -> Iterator[tuple[float, float, FrameBatch]]:
    """The frames as consecutive FrameBatches of ``step_s`` seconds (for live outputs)."""
    t = sim.frames.t_rx
    if not t.size:
        return
    edges = np.arange(float(t[0]), float(t[-1]) + step_s, step_s)
    cuts = np.searchsorted(t, edges)
    for i in range(edges.size - 1):
        a, b = int(cuts[i]), int(cuts[i + 1])
        if b > a:
            yield float(edges[i]), float(edges[i + 1]), sim.frames.take(np.arange(a, b))


async def serve_beast(
    sim: Simulation,
    host: str,
    port: int,
    *,
    speed: float | None = 1.0,
    wait_for_client: bool = True,
    on_listening: Callable[[str, int], None] | None = None,
) -> int:
    """Serve the feed as Beast on ``host:port`` with tailwatch's feed server
    (:class:`tailwatch.ingest.outputs.FeedServer`): wait for a first client (unless told not
    to), then send the frames paced at ``speed`` times real time (None: at once), then close.
    Live readers stamp frames on arrival, so no replay clock and no garbage is sent. Returns
    the number of frames sent. Raises :class:`ConfigError` when the server is not available.
    """
    import asyncio

    try:
        from tailwatch.ingest.outputs import FeedServer
    except ImportError:
        raise ConfigError("--serve-beast is not available yet in this version of tailwatch "
                          "(it needs tailwatch.ingest.outputs); write to a file with --out "
                          "instead") from None  # fmt: skip
    if speed is not None and speed <= 0:
        raise ConfigError("--speed must be > 0")
    server = FeedServer("beast", host, port, receiver_ids=sim.receiver_ids())
    await server.start()
    if on_listening is not None:
        on_listening(server.host, server.port)
    sent = 0
    try:
        while wait_for_client and server.counters.clients == 0:
            await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        t_wall0 = loop.time()
        elapsed = 0.0
        step = 1.0 if speed is None else max(0.2 * speed, 0.05)
        for start, end, fb in frame_chunks(sim, step):
            server.send_frames(fb)
            sent += len(fb)
            elapsed += end - start
            delay = 0.0 if speed is None else t_wall0 + elapsed / speed - loop.time()
            await asyncio.sleep(max(delay, 0.0))
        await asyncio.sleep(0.2)  # let the transports drain
    finally:
        await server.close()
    return sent
