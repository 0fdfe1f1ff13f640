"""Re-serving the merged feed so that readsb, VRS, feeders and dump1090 can read tailwatch.

* :class:`FeedServer` listens (``--serve-beast 127.0.0.1:30005``, ``--serve-avr``,
  ``--serve-sbs``) and writes the feed to every client that connects, as dump1090's output
  ports do.
* :class:`FeedPusher` connects out and writes the feed to a peer's *input* port (dump1090's
  30004 Beast-in or 30001 raw-in; readsb ``--net-bi-port``), reconnecting with back-off.

Encodings: Beast (with the receiver-id extension ``0x1a 0xe3`` before frames whose receiver
has a known 64-bit id, unless ``receiver_ids=False``), AVR (``@``+12 MHz counter+hex, or
``*hex;`` with ``timestamps=False``), SBS (BaseStation lines built from positions: ``MSG,3``
with altitude and position — ``MSG,2`` on the ground — then ``MSG,4`` with speed, track and
rate, ``MSG,1`` with the callsign and ``MSG,6`` with the squawk when known). Positions with
source ``mlat`` are written as readsb and dump1090-fa write multilaterated ones: the same
lines with ``MLAT`` in place of ``MSG`` as the message type.

An idle output sends the heartbeat dump1090 sends (Beast ``0x1a '1'`` + zeros, AVR
``*0000;``, SBS an empty line) every ``heartbeat_s`` (60 s), so that clients with a no-data
timeout stay connected.

A client that does not keep up (more than ``max_buffer_bytes`` of unsent data, 4 MiB) is
disconnected, logged and counted under ``slow_clients``: one slow reader never stalls the
pipeline. A pusher that is not connected counts what it could not send under
``dropped_frames``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from tailwatch.core.errors import ConfigError
from tailwatch.core.frames import FrameBatch
from tailwatch.core.schema import POSITION_FIELDS, SOURCE_LABELS, empty_columns
from tailwatch.ingest.avr import encode_avr
from tailwatch.ingest.beast import encode_beast
from tailwatch.ingest.net import Backoff
from tailwatch.ingest.sbs import encode_sbs
from tailwatch.track.tracker import PositionBatch

__all__ = ["FeedPusher", "FeedServer", "OutputCounters", "Outputs", "encode_positions_sbs"]

log = logging.getLogger("tailwatch.ingest")

OutKind = Literal["beast", "avr", "sbs"]
HEARTBEATS: dict[str, bytes] = {
    "beast": b"\x1a1" + b"\x00" * 9,
    "avr": b"*0000;\n",
    "sbs": b"\r\n",
}


_MLAT_LABEL = SOURCE_LABELS.index("mlat")


def encode_positions_sbs(pb: PositionBatch) -> bytes:
    """Positions → BaseStation lines (see the module docstring for which MSG types; MLAT
    positions as ``MLAT`` lines, after the others of the batch)."""
    if len(pb) == 0:
        return b""
    mlat = np.asarray(pb.columns["source"]) == _MLAT_LABEL
    if not mlat.any():
        return _encode_sbs_lines(pb.columns)
    rest = _encode_sbs_lines({k: v[~mlat] for k, v in pb.columns.items()}) if (
        not mlat.all()) else b""
    lines = _encode_sbs_lines({k: v[mlat] for k, v in pb.columns.items()})
    if lines.startswith(b"MSG,"):  # every line is a MSG line: one replace, no loop
        lines = b"MLAT," + lines[4:].replace(b"\r\nMSG,", b"\r\nMLAT,")
    return rest + lines


def _encode_sbs_lines(c: Mapping[str, np.ndarray]) -> bytes:
    n = len(c["t"])
    if n == 0:
        return b""
    ground = np.asarray(c["on_ground"]) == 1
    everything = np.ones(n, dtype=bool)
    specs: list[tuple[np.ndarray, np.ndarray, tuple[str, ...]]] = [
        (everything, np.where(ground, 2, 3), ("altitude_ft", "lat", "lon", "on_ground")),
        (~np.isnan(c["gs_kt"]) | ~np.isnan(c["vrate_fpm"]), np.full(n, 4),
         ("gs_kt", "track_deg", "vrate_fpm")),
        (np.asarray(c["callsign"]) != b"", np.full(n, 1), ("callsign",)),
        (np.asarray(c["squawk"]) >= 0, np.full(n, 6), ("squawk",)),
    ]
    names = ("altitude_ft", "lat", "lon", "on_ground", "gs_kt", "track_deg", "vrate_fpm",
             "callsign", "squawk")
    rows: list[np.ndarray] = []
    parts: list[dict[str, np.ndarray]] = []
    for mask, types, fields in specs:
        m = int(mask.sum())
        nulls = empty_columns(POSITION_FIELDS, m)
        part = {k: (c[k][mask] if k in fields else nulls[k]) for k in names}
        part.update(t=c["t"][mask], icao24=c["icao24"][mask],
                    sbs_type=types[mask].astype(np.int8))
        rows.append(np.flatnonzero(mask))
        parts.append(part)
    order = np.argsort(np.concatenate(rows), kind="stable")
    merged = {k: np.concatenate([p[k] for p in parts])[order] for k in parts[0]}
    return encode_sbs(merged)


@dataclass
class OutputCounters:
    name: str
    clients: int = 0
    connects: int = 0
    bytes: int = 0
    frames: int = 0
    positions: int = 0
    slow_clients: int = 0
    dropped_frames: int = 0
    withheld_positions: int = 0
    closes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class _Encoder:
    def __init__(self, kind: OutKind, receiver_ids: Mapping[int, int] | None,
                 timestamps: bool) -> None:
        self.kind = kind
        self.receiver_ids = receiver_ids
        self.timestamps = timestamps

    def frames(self, fb: FrameBatch) -> bytes:
        if self.kind == "beast":
            ok = np.isin(fb.nbytes, (2, 7, 14))
            sel = fb if ok.all() else fb.take(ok)
            return encode_beast(sel, receiver_ids=self.receiver_ids)
        if self.kind == "avr":
            return encode_avr(fb, timestamps=self.timestamps)
        return b""

    def positions(self, pb: PositionBatch) -> bytes:
        return encode_positions_sbs(pb) if self.kind == "sbs" else b""


class FeedServer:
    """A listening output port (see the module docstring)."""

    def __init__(self, kind: OutKind, host: str, port: int, *,
                 receiver_ids: Mapping[int, int] | None = None, timestamps: bool = True,
                 max_buffer_bytes: int = 4 << 20, heartbeat_s: float = 60.0) -> None:
        if kind not in HEARTBEATS:
            raise ConfigError(f"unknown output kind {kind!r}")
        self.kind = kind
        self.host = host
        self.port = port
        self.encoder = _Encoder(kind, receiver_ids, timestamps)
        self.max_buffer_bytes = max_buffer_bytes
        self.heartbeat_s = heartbeat_s
        self.counters = OutputCounters(f"serve-{kind} {host}:{port}")
        self._clients: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self._last_write = time.monotonic()
        self._hb_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        self.counters.name = f"serve-{self.kind} {self.host}:{self.port}"
        self._hb_task = asyncio.create_task(self._heartbeat())
        log.info("serving %s on %s:%d", self.kind, self.host, self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)  # type: ignore[arg-type]
        self._clients.add(writer)
        self.counters.clients = len(self._clients)
        self.counters.connects += 1
        try:
            while True:  # clients may send commands (Beast 'W…'); read and ignore them
                data = await reader.read(4096)
                if not data:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self._drop(writer, None)
            if task is not None:
                self._tasks.discard(task)  # type: ignore[arg-type]

    def _drop(self, writer: asyncio.StreamWriter, reason: str | None) -> None:
        if writer in self._clients:
            self._clients.discard(writer)
            self.counters.clients = len(self._clients)
            if reason:
                self.counters.closes[reason] = self.counters.closes.get(reason, 0) + 1
                log.warning("%s: client %s disconnected (%s)", self.counters.name,
                            writer.get_extra_info("peername"), reason)
        writer.close()

    def _write(self, data: bytes) -> None:
        if not data:
            return
        self._last_write = time.monotonic()
        for w in list(self._clients):
            tr = w.transport
            if tr.is_closing():
                self._drop(w, None)
                continue
            if tr.get_write_buffer_size() > self.max_buffer_bytes:
                self.counters.slow_clients += 1
                self._drop(w, "slow_client")
                continue
            tr.write(data)
            self.counters.bytes += len(data)

    def send_frames(self, fb: FrameBatch) -> None:
        if len(fb) and self._clients:
            self._write(self.encoder.frames(fb))
            self.counters.frames += len(fb)

    def send_positions(self, pb: PositionBatch) -> None:
        if len(pb) and self._clients:
            self._write(self.encoder.positions(pb))
            self.counters.positions += len(pb)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(min(self.heartbeat_s, 1.0))
            if time.monotonic() - self._last_write >= self.heartbeat_s:
                self._write(HEARTBEATS[self.kind])

    async def close(self) -> None:
        if self._hb_task is not None:
            self._hb_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._hb_task
        for w in list(self._clients):
            with contextlib.suppress(Exception):
                if w.can_write_eof():
                    w.write_eof()
            self._drop(w, None)
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self._server is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()


class FeedPusher:
    """Connects to a peer's input port and writes the feed to it (see the module
    docstring). Frames sent while disconnected are counted under ``dropped_frames``."""

    def __init__(self, kind: OutKind, host: str, port: int, *,
                 receiver_ids: Mapping[int, int] | None = None, timestamps: bool = True,
                 max_buffer_bytes: int = 4 << 20, backoff_initial_s: float = 0.5,
                 backoff_max_s: float = 30.0, connect_timeout_s: float = 10.0) -> None:
        self.kind = kind
        self.host = host
        self.port = port
        self.encoder = _Encoder(kind, receiver_ids, timestamps)
        self.max_buffer_bytes = max_buffer_bytes
        self.backoff = Backoff(backoff_initial_s, backoff_max_s)
        self.connect_timeout_s = connect_timeout_s
        self.counters = OutputCounters(f"push-{kind} {host}:{port}")
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.connect_timeout_s):
                    reader, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError) as e:
                delay = self.backoff.next()
                log.warning("%s: cannot connect (%s); retrying in %.1f s",
                            self.counters.name, e, delay)
                await asyncio.sleep(delay)
                continue
            self.counters.connects += 1
            self.counters.clients = 1
            self._writer = writer
            self.connected.set()
            self.backoff.reset()
            try:
                while await reader.read(4096):
                    pass
            except (ConnectionError, OSError):
                pass
            finally:
                self.connected.clear()
                self._writer = None
                self.counters.clients = 0
                writer.close()
            if self._closing:
                return
            delay = self.backoff.next()
            log.warning("%s: connection closed; reconnecting in %.1f s", self.counters.name,
                        delay)
            await asyncio.sleep(delay)

    def _write(self, data: bytes, n: int) -> None:
        w = self._writer
        if w is None or w.transport.is_closing():
            self.counters.dropped_frames += n
            return
        if w.transport.get_write_buffer_size() > self.max_buffer_bytes:
            self.counters.dropped_frames += n
            self.counters.slow_clients += 1
            return
        w.write(data)
        self.counters.bytes += len(data)

    def send_frames(self, fb: FrameBatch) -> None:
        if len(fb):
            self._write(self.encoder.frames(fb), len(fb))
            self.counters.frames += len(fb)

    def send_positions(self, pb: PositionBatch) -> None:
        if len(pb):
            self._write(self.encoder.positions(pb), len(pb))
            self.counters.positions += len(pb)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until the bytes written so far have left (or ``timeout_s``)."""
        w = self._writer
        if w is None:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(timeout_s):
                await w.drain()
                while w.transport.get_write_buffer_size():
                    await asyncio.sleep(0.01)

    async def close(self) -> None:
        await self.drain()
        self._closing = True
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
                async with asyncio.timeout(2.0):
                    await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Outputs:
    """Every output of a run; positions from sources whose terms forbid re-serving are
    withheld (counted)."""

    def __init__(self, items: list[FeedServer | FeedPusher] | None = None) -> None:
        self.items: list[FeedServer | FeedPusher] = list(items or [])

    def __bool__(self) -> bool:
        return bool(self.items)

    async def start(self, connect_timeout_s: float = 5.0) -> None:
        """Start every output; wait (up to ``connect_timeout_s``) for the pushers to connect,
        so that a replay does not begin before its peer listens."""
        for o in self.items:
            await o.start()
        pushers = [o for o in self.items if isinstance(o, FeedPusher)]
        if pushers:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(connect_timeout_s):
                    for o in pushers:
                        await o.connected.wait()

    def frames(self, fb: FrameBatch) -> None:
        for o in self.items:
            if o.kind != "sbs":
                o.send_frames(fb)

    def positions(self, pb: PositionBatch, redistribute: bool = True) -> None:
        for o in self.items:
            if o.kind == "sbs":
                if redistribute:
                    o.send_positions(pb)
                else:
                    o.counters.withheld_positions += len(pb)

    async def close(self) -> None:
        for o in self.items:
            await o.close()

    def counters(self) -> list[dict[str, object]]:
        return [o.counters.as_dict() for o in self.items]
