"""Live TCP feeds over asyncio: framing, reconnection, limits and per-source counters.

Behaviour (the numbers are :class:`NetOptions` defaults):

* **Connect** (``beast+tcp://`` etc.): a connection attempt times out after 10 s; a failed
  or lost connection is retried after a back-off of 0.5 s doubling to 30 s, reset to 0.5 s
  once a connection has delivered data.
* **No data** for 120 s (twice the 60 s heartbeat of dump1090 and readsb) closes the
  connection (reason ``idle_timeout``) and reconnects.
* **Listen** (``beast+listen://`` etc.): every accepted connection is read the same way;
  nothing reconnects (the pushing side does).
* **Memory**: at most 64 KiB is buffered per connection (asyncio's reader pauses the socket
  beyond that, the framer keeps at most one partial record); between the sources and the
  pipeline there is a bounded queue: when it is full, sources stop reading, so TCP flow
  control slows the senders down. Nothing is dropped silently.
* **Garbage**: a connection that yields more than 512 bytes without a frame is closed, with
  the reason logged and counted: ``sbs_text_on_beast_port`` (SBS ``MSG,`` lines on a Beast
  port, detected at once), ``avr_text_on_beast_port``, ``binary_on_text_port``, ``garbage``,
  ``line_too_long``.

Frames get ``t_rx`` = the arrival time of the read that carried them, refined within the read
by each receiver's 12 MHz counter (a frame whose counter is 3 ms before its receiver's newest
frame in the read is stamped 3 ms earlier; at most 60 s, beyond which the counter is not
trusted), unless the stream carries readsb's replay clock.

Counters per source (:class:`SourceCounters`): bytes, frames, positions, rejects by reason,
connects, reconnects, closes by reason, queue wait, last frame time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from tailwatch.core.frames import FrameBatch
from tailwatch.core.rejects import Rejects
from tailwatch.ingest.avr import parse_avr
from tailwatch.ingest.beast import BeastState, parse_beast
from tailwatch.ingest.sbs import mark_mlat, parse_sbs
from tailwatch.track.states import StateBatch, make_states

__all__ = [
    "AvrFramer",
    "Backoff",
    "BeastFramer",
    "Chunk",
    "Listener",
    "NetOptions",
    "Outlet",
    "ProtocolMismatchError",
    "Receivers",
    "SbsFramer",
    "SourceCounters",
    "run_tcp_client",
    "sbs_states",
    "start_listener",
]

log = logging.getLogger("tailwatch.ingest")

TICKS_PER_S = 12_000_000
_MAX_SPREAD_S = 60.0


@dataclass(frozen=True, slots=True)
class NetOptions:
    connect_timeout_s: float = 10.0
    idle_timeout_s: float = 120.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    buffer_bytes: int = 65536
    garbage_limit: int = 512
    http_timeout_s: float = 20.0
    http_max_bytes: int = 64 << 20


class ProtocolMismatchError(Exception):
    """The peer sends something that is not the protocol of this port."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class SourceCounters:
    """What one source did so far."""

    name: str
    kind: str = ""
    bytes: int = 0
    frames: int = 0
    positions: int = 0
    rejects: Rejects = field(default_factory=Rejects)
    connects: int = 0
    reconnects: int = 0
    closes: Counter[str] = field(default_factory=Counter)
    polls: int = 0
    queue_wait_s: float = 0.0
    last_frame_time: float = math.nan
    last_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "bytes": self.bytes,
            "frames": self.frames,
            "positions": self.positions,
            "rejects": dict(self.rejects),
            "connects": self.connects,
            "reconnects": self.reconnects,
            "closes": dict(self.closes),
            "polls": self.polls,
            "queue_wait_s": round(self.queue_wait_s, 3),
            "last_frame_time": None if math.isnan(self.last_frame_time) else
            self.last_frame_time,
            "last_error": self.last_error,
        }

    def summary(self) -> str:
        age = "never" if math.isnan(self.last_frame_time) else \
            f"{time.time() - self.last_frame_time:.0f} s ago"
        rej = ", ".join(f"{k} {v}" for k, v in sorted(self.rejects.items())) or "none"
        closes = ", ".join(f"{k} {v}" for k, v in sorted(self.closes.items())) or "none"
        return (f"{self.name}: {self.bytes:,} B, {self.frames:,} frames, "
                f"{self.positions:,} positions, rejects: {rej}; reconnects {self.reconnects}, "
                f"closes: {closes}; last frame {age}")


@dataclass(slots=True)
class Chunk:
    """What a source hands to the pipeline: frames or state vectors, from one source."""

    source: str
    frames: FrameBatch | None = None
    states: StateBatch | None = None
    redistribute: bool = True


class Outlet:
    """The bounded queue between the sources and the pipeline. ``put`` waits while it is
    full (back-pressure), and the time spent waiting is counted per source."""

    def __init__(self, maxsize: int = 64) -> None:
        self.queue: asyncio.Queue[Chunk] = asyncio.Queue(maxsize=maxsize)

    async def put(self, chunk: Chunk, counters: SourceCounters) -> None:
        if self.queue.full():
            t0 = time.perf_counter()
            await self.queue.put(chunk)
            counters.queue_wait_s += time.perf_counter() - t0
        else:
            self.queue.put_nowait(chunk)


class Backoff:
    """Reconnection delays: ``initial`` doubling up to ``maximum``."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self.current = initial

    def next(self) -> float:
        d = self.current
        self.current = min(self.current * 2.0, self.maximum)
        return d

    def reset(self) -> None:
        self.current = self.initial


class Receivers:
    """The receivers of one run: a uint16 id per source (1, 2, … in order) and per 64-bit
    receiver id announced inside Beast streams (``0x1a 0xe3``), with names and positions.
    Beast framers share it so that two streams never map different receivers to one id."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}
        self.id64: dict[int, int] = {}  # uint16 → 64-bit id
        self.uid_of64: dict[int, int] = {}  # 64-bit id → uint16
        self.positions: dict[int, tuple[float, float]] = {}
        self.version = 0

    def add(self, name: str, id64: int | None = None,
            position: tuple[float, float] | None = None) -> int:
        if id64 is not None and id64 in self.uid_of64:
            return self.uid_of64[id64]
        uid = 1
        while uid in self.names or uid in self.id64:
            uid += 1
        if uid > 0xFFFF:
            raise OverflowError("more than 65535 receivers")
        self.names[uid] = name
        if id64 is not None:
            self.id64[uid] = id64
            self.uid_of64[id64] = uid
        if position is not None:
            self.positions[uid] = position
        self.version += 1
        return uid

    def preload(self, st: BeastState) -> None:
        """Put every known receiver into a Beast stream's state before parsing."""
        st.receiver_table.update(self.uid_of64)
        st.receiver_ids.update(self.id64)
        for uid in self.names:
            st.receiver_ids.setdefault(uid, 0)

    def absorb(self, st: BeastState, source_name: str) -> None:
        """Register the 64-bit ids a Beast stream announced (after parsing)."""
        for id64, uid in st.receiver_table.items():
            if id64 not in self.uid_of64:
                self.uid_of64[id64] = uid
                self.id64[uid] = id64
                self.names[uid] = f"{source_name}/{id64:016x}"
                self.version += 1


def stamp_arrival(fb: FrameBatch, now: float) -> None:
    """Set the NaN ``t_rx`` of one read's frames to the arrival time ``now``, spread back by
    each receiver's 12 MHz counter: a frame whose counter is 3 ms before the newest of its
    receiver in this read is stamped 3 ms earlier. Spreads beyond ``_MAX_SPREAD_S`` (a
    counter reset, or a counter that is not 12 MHz) get ``now``."""
    missing = np.isnan(fb.t_rx)
    if not missing.any():
        return
    ts = fb.ts_12mhz
    t = np.full(len(fb), now)
    has = missing & (ts > 0)
    if has.any():
        rx = fb.receiver
        for r in np.unique(rx[has]).tolist():
            rows = has & (rx == r)
            last = ts[rows].max()
            back = (last - ts[rows]).astype(np.float64) / TICKS_PER_S
            back[back > _MAX_SPREAD_S] = 0.0
            t[rows] = now - back
    fb.t_rx[missing] = t[missing]


class Framer(Protocol):
    """Turns the bytes of one connection into chunks."""

    @property
    def pending(self) -> int: ...

    def feed(self, data: bytes, now: float) -> Chunk | None: ...


_AVR_LINE = re.compile(rb"(?:^|[\r\n])[*@%<:][0-9A-Fa-f]{4,40};")


def _classify_garbage(sample: bytes, port_kind: str) -> str:
    text = sample.strip(b"\r\n\0 ")
    printable = sum(1 for c in text[:256] if 32 <= c < 127 or c in (9, 10, 13))
    is_text = len(text) > 0 and printable >= 0.9 * min(len(text), 256)
    if port_kind == "beast":
        if b"MSG," in sample or b"MLAT," in sample:
            return "sbs_text_on_beast_port"
        if is_text and _AVR_LINE.search(sample):
            return "avr_text_on_beast_port"
        return "garbage"
    if not is_text:
        return "binary_on_text_port"
    return "garbage"


class BeastFramer:
    """Beast bytes → frames (see :func:`tailwatch.ingest.beast.parse_beast`)."""

    def __init__(self, source: str, receiver: int, counters: SourceCounters,
                 receivers: Receivers | None = None, garbage_limit: int = 512) -> None:
        self.source = source
        self.receiver = receiver
        self.counters = counters
        self.receivers = receivers
        self.garbage_limit = garbage_limit
        self.state = BeastState()
        self._rest = b""
        self._garbage_since_frame = 0
        self._first = True
        self._synced = -1

    @property
    def pending(self) -> int:
        return len(self._rest)

    def feed(self, data: bytes, now: float) -> Chunk | None:
        if self._first:
            self._first = False
            if data.lstrip(b"\r\n ").startswith((b"MSG,", b"MLAT,")):
                raise ProtocolMismatchError("sbs_text_on_beast_port")
        buf = self._rest + data if self._rest else data
        if self.receivers is not None and self._synced != self.receivers.version:
            self.receivers.preload(self.state)
            self._synced = self.receivers.version
        g0 = self.state.counters.get("garbage_bytes", 0)
        fb, consumed, self.state = parse_beast(buf, receiver=self.receiver, state=self.state)
        if self.receivers is not None and len(self.state.receiver_table) > len(
                self.receivers.uid_of64):
            self.receivers.absorb(self.state, self.source)
            self._synced = self.receivers.version
        self._rest = bytes(buf[consumed:])
        garbage = self.state.counters.get("garbage_bytes", 0) - g0
        self.counters.rejects.merge(fb.rejects)
        if len(fb):
            self._garbage_since_frame = 0
        else:
            self._garbage_since_frame += garbage
        if self._garbage_since_frame + len(self._rest) > self.garbage_limit:
            raise ProtocolMismatchError(_classify_garbage(data, "beast"))
        if not len(fb):
            return None
        return _frames_chunk(self.source, self.counters, fb, now)


def _frames_chunk(source: str, counters: SourceCounters, fb: FrameBatch, now: float) -> Chunk:
    """A framer's output: frames stamped with their arrival time, and counted."""
    stamp_arrival(fb, now)
    counters.frames += len(fb)
    counters.last_frame_time = now
    return Chunk(source, frames=fb)


class AvrFramer:
    """AVR text lines → frames (see :func:`tailwatch.ingest.avr.parse_avr`)."""

    def __init__(self, source: str, receiver: int, counters: SourceCounters,
                 garbage_limit: int = 512) -> None:
        self.source = source
        self.receiver = receiver
        self.counters = counters
        self.garbage_limit = garbage_limit
        self._rest = b""
        self._bad_since_frame = 0

    @property
    def pending(self) -> int:
        return len(self._rest)

    def feed(self, data: bytes, now: float) -> Chunk | None:
        buf = self._rest + data if self._rest else data
        fb, consumed = parse_avr(buf, receiver=self.receiver)
        self._rest = bytes(buf[consumed:])
        self.counters.rejects.merge(fb.rejects)
        if len(fb) or fb.rejects.get("avr_heartbeat", 0):
            self._bad_since_frame = 0
        elif fb.rejects.get("avr_bad_line", 0):
            self._bad_since_frame += consumed
        if self._bad_since_frame + len(self._rest) > self.garbage_limit:
            reason = _classify_garbage(data, "avr")
            if reason == "garbage" and len(self._rest) > self.garbage_limit:
                reason = "line_too_long"
            raise ProtocolMismatchError(reason)
        if not len(fb):
            return None
        return _frames_chunk(self.source, self.counters, fb, now)


class SbsFramer:
    """SBS/BaseStation lines → state vectors: every MSG record (types 1-8) becomes one row
    for the tracker, which merges callsign (MSG 1), positions (2, 3), velocity (4),
    altitude (5, 7), squawk (6) and the flags into the aircraft's live row. An altitude with
    readsb's ``H`` suffix (GNSS) goes to ``altitude_geom_ft``. Times are the arrival time
    unless ``feed_time`` (BaseStation times have no time zone). Non-ICAO addresses (``~``)
    are dropped under ``sbs_non_icao``.
    ``receiver`` is the source's receiver id (for the tracker's range check)."""

    def __init__(self, source: str, counters: SourceCounters, *, receiver: int = 0,
                 feed_time: bool = False, redistribute: bool = True,
                 garbage_limit: int = 512) -> None:
        self.source = source
        self.counters = counters
        self.receiver = receiver
        self.feed_time = feed_time
        self.redistribute = redistribute
        self.garbage_limit = garbage_limit
        self._rest = b""
        self._bad_since_row = 0

    @property
    def pending(self) -> int:
        return len(self._rest)

    def feed(self, data: bytes, now: float) -> Chunk | None:
        buf = self._rest + data if self._rest else data
        cols, consumed, rejects = parse_sbs(buf)
        self._rest = bytes(buf[consumed:])
        n = int(cols["t"].shape[0])
        self.counters.rejects.merge(rejects)
        if n:
            self._bad_since_row = 0
        elif rejects.get("sbs_bad_line", 0):
            self._bad_since_row += consumed
        if self._bad_since_row + len(self._rest) > self.garbage_limit:
            reason = _classify_garbage(data, "sbs")
            if reason == "garbage" and len(self._rest) > self.garbage_limit:
                reason = "line_too_long"
            raise ProtocolMismatchError(reason)
        if not n:
            return None
        nonicao = np.asarray(cols["non_icao"], dtype=bool)
        if nonicao.any():
            self.counters.rejects["sbs_non_icao"] += int(nonicao.sum())
            cols = {k: v[~nonicao] for k, v in cols.items()}
            n = int(cols["t"].shape[0])
            if not n:
                return None
        sb = sbs_states(cols, now, feed_time=self.feed_time, receiver=self.receiver)
        self.counters.positions += int(sb.has_position().sum())
        self.counters.last_frame_time = now
        return Chunk(self.source, states=sb, redistribute=self.redistribute)


def sbs_states(cols: dict[str, Any], now: float, *, feed_time: bool = False,
               receiver: int = 0) -> StateBatch:
    """Columns of :func:`~tailwatch.ingest.sbs.parse_sbs` → a StateBatch (source ``sbs``,
    one receiver per row): ``t`` is ``now`` unless ``feed_time`` (then the feed's time,
    ``now`` where it has none)."""
    n = int(cols["t"].shape[0])
    t = np.asarray(cols["t"], dtype=np.float64)
    t = np.full(n, now) if not feed_time else np.where(np.isnan(t), now, t)
    alt = np.asarray(cols["altitude_ft"], dtype=np.float32)
    gnss_alt = np.asarray(cols["altitude_source"]) == 1
    vrate = np.asarray(cols["vrate_fpm"], dtype=np.float32)
    states = make_states({
        "t": t,
        "icao24": cols["icao24"],
        "lat": cols["lat"],
        "lon": cols["lon"],
        "altitude_ft": np.where(gnss_alt, np.nan, alt),
        "altitude_geom_ft": np.where(gnss_alt, alt, np.nan),
        "gs_kt": cols["gs_kt"],
        "track_deg": cols["track_deg"],
        "vrate_fpm": vrate,
        "on_ground": cols["on_ground"],
        "callsign": np.char.rstrip(np.asarray(cols["callsign"], dtype="S8")),
        "squawk": cols["squawk"],
        "emergency": cols["emergency"],
        "receivers": np.ones(n, dtype=np.uint8),
    }, "sbs", receiver=receiver, n=n)
    return mark_mlat(states, cols)  # readsb's and tailwatch's MLAT lines rank as MLAT


# ----------------------------------------------------------------------------- connections


async def _pump(reader: asyncio.StreamReader, framer: Framer, outlet: Outlet,
                counters: SourceCounters, opts: NetOptions) -> tuple[str, bool]:
    """Read until the connection ends; returns (reason, delivered anything)."""
    delivered = False
    while True:
        want = max(1, opts.buffer_bytes - framer.pending)
        try:
            async with asyncio.timeout(opts.idle_timeout_s):
                data = await reader.read(want)
        except TimeoutError:
            return "idle_timeout", delivered
        except (ConnectionError, OSError) as e:
            counters.last_error = f"{type(e).__name__}: {e}"
            return "error", delivered
        if not data:
            return "eof", delivered
        counters.bytes += len(data)
        try:
            chunk = framer.feed(data, time.time())
        except ProtocolMismatchError as e:
            return e.reason, delivered
        if chunk is not None:
            delivered = True
            await outlet.put(chunk, counters)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(Exception):
        async with asyncio.timeout(2.0):
            await writer.wait_closed()


async def run_tcp_client(
    name: str, host: str, port: int, make_framer: Callable[[], Framer], outlet: Outlet,
    counters: SourceCounters, opts: NetOptions,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Connect, read, reconnect with back-off — until cancelled."""
    backoff = Backoff(opts.backoff_initial_s, opts.backoff_max_s)
    attempt = 0
    while True:
        if attempt:
            counters.reconnects += 1
        attempt += 1
        try:
            async with asyncio.timeout(opts.connect_timeout_s):
                reader, writer = await asyncio.open_connection(
                    host, port, limit=max(opts.buffer_bytes // 2, 1024))
        except TimeoutError:
            reason = "connect_timeout"
            counters.closes[reason] += 1
            counters.last_error = f"connect to {host}:{port} timed out"
            delay = backoff.next()
            log.warning("%s: %s; retrying in %.1f s", name, counters.last_error, delay)
            await sleep(delay)
            continue
        except OSError as e:
            counters.closes["connect_failed"] += 1
            counters.last_error = f"connect to {host}:{port}: {e.strerror or e}"
            delay = backoff.next()
            log.warning("%s: %s; retrying in %.1f s", name, counters.last_error, delay)
            await sleep(delay)
            continue
        counters.connects += 1
        log.info("%s: connected to %s:%d", name, host, port)
        try:
            reason, delivered = await _pump(reader, make_framer(), outlet, counters, opts)
        finally:
            await _close(writer)
        counters.closes[reason] += 1
        if delivered:
            backoff.reset()
        delay = backoff.next()
        log.warning("%s: connection closed (%s); reconnecting in %.1f s", name, reason, delay)
        await sleep(delay)


class Listener:
    """A listening source: every accepted connection is framed and pumped into the outlet."""

    def __init__(self, name: str, server: asyncio.Server) -> None:
        self.name = name
        self.server = server
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        sock = self.server.sockets[0]
        return int(sock.getsockname()[1])

    async def close(self) -> None:
        self.server.close()
        for t in list(self.tasks):
            t.cancel()
        for t in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2.0):
                await self.server.wait_closed()


async def start_listener(
    name: str, host: str, port: int, make_framer: Callable[[], Framer], outlet: Outlet,
    counters: SourceCounters, opts: NetOptions,
) -> Listener:
    """Listen on host:port; senders push their feed to it."""
    holder: list[Listener] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        lst = holder[0]
        if task is not None:
            lst.tasks.add(task)  # type: ignore[arg-type]
        counters.connects += 1
        peer = writer.get_extra_info("peername")
        log.info("%s: connection from %s", name, peer)
        try:
            reason, _ = await _pump(reader, make_framer(), outlet, counters, opts)
            counters.closes[reason] += 1
            log.info("%s: connection from %s closed (%s)", name, peer, reason)
        except asyncio.CancelledError:
            # the run stops (Listener.close): end this connection's task normally, or
            # Python 3.11's start_server callback reports the cancellation as an error
            counters.closes["stopped"] += 1
        finally:
            await _close(writer)
            if task is not None:
                lst.tasks.discard(task)  # type: ignore[arg-type]

    server = await asyncio.start_server(handle, host, port,
                                        limit=max(opts.buffer_bytes // 2, 1024))
    lst = Listener(name, server)
    holder.append(lst)
    log.info("%s: listening on %s:%d", name, host, lst.port)
    return lst
