"""The websocket live feed: after each publish, the aircraft that changed, to every client.

Each message is built once per publish and per client class — visibility (PIA/LADD shown or
not) × encoding (JSON text, or gzip-compressed binary frames with ``?compress=gzip``) — in
the publishing thread, then the very same object is queued to every client of that class: no
per-client serialisation or compression (the server does not negotiate permessage-deflate,
which would compress every message once per client). Each client has a bounded queue; a client
that falls ``queue_size`` messages behind is dropped (closed with code 1013), never waited
for.

Messages (JSON):
- on connect: ``{"type": "snapshot", "now": s, "aircraft": [readsb objects]}``
- each second: ``{"type": "diff", "now": s, "aircraft": [changed or new objects],
  "removed": ["hex", ...]}``
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tailwatch.serve.state import LiveState
from tailwatch.serve.view import SnapshotView

__all__ = ["ENCODINGS", "LiveHub", "Payload"]

log = logging.getLogger(__name__)

#: how messages are sent: JSON in text frames, or gzip-compressed JSON in binary frames
ENCODINGS = ("json", "gzip")
#: a message as handed to the websocket: text (str) or binary (bytes)
Payload = str | bytes
ClientClass = tuple[bool, str]  # (allow_hidden, encoding)


@dataclass(eq=False)
class LiveClient:
    allow_hidden: bool
    queue: asyncio.Queue[Payload | None]
    encoding: str = "json"
    dropped: bool = False
    sent: int = field(default=0)

    @property
    def kind(self) -> ClientClass:
        return (self.allow_hidden, self.encoding)


def encode(message: bytes, encoding: str) -> Payload:
    """``message`` (JSON bytes) as sent with ``encoding``."""
    if encoding == "gzip":
        return gzip.compress(message, compresslevel=1, mtime=0)
    return message.decode()


def snapshot_message(view: SnapshotView, allow_hidden: bool) -> bytes:
    def build() -> bytes:
        rows = view.readsb_rows()
        visible = view.visible(allow_hidden)
        body = rows.join() if bool(visible.all()) else rows.join(np.flatnonzero(visible))
        return b'{"type":"snapshot","now":%.3f,"aircraft":[' % view.now + body + b"]}"

    return view.body(("ws-snapshot", allow_hidden), build)


def snapshot_payload(view: SnapshotView, allow_hidden: bool, encoding: str) -> Payload:
    """The first message of a client, built once per snapshot and class."""
    payload: Payload = view.cached(
        ("ws-snapshot-payload", allow_hidden, encoding),
        lambda: encode(snapshot_message(view, allow_hidden), encoding))
    return payload


def changed_rows(prev: SnapshotView | None, cur: SnapshotView,
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(rows of ``cur`` that are new or updated since ``prev``, rows of ``prev`` gone)."""
    if prev is None or prev.n == 0:
        return np.arange(cur.n, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.argsort(prev.icao24, kind="stable")
    keys = prev.icao24[order]
    pos = np.searchsorted(keys, cur.icao24)
    posc = np.minimum(pos, keys.shape[0] - 1)
    found = (pos < keys.shape[0]) & (keys[posc] == cur.icao24)
    prev_rows = order[posc]
    cur_seen = np.asarray(cur.cols["last_seen"], np.float64)
    prev_seen = np.asarray(prev.cols["last_seen"], np.float64)[prev_rows]
    changed = ~found | (cur_seen > prev_seen)
    # rows of prev whose address is gone from cur
    corder = np.sort(cur.icao24)
    ppos = np.searchsorted(corder, prev.icao24)
    pposc = np.minimum(ppos, max(corder.shape[0] - 1, 0))
    still = (ppos < corder.shape[0]) & (corder[pposc] == prev.icao24) if cur.n else np.zeros(
        prev.n, bool)
    return np.flatnonzero(changed).astype(np.int64), np.flatnonzero(~still).astype(np.int64)


def _diff_body(prev: SnapshotView | None, cur: SnapshotView, changed: npt.NDArray[np.int64],
               gone: npt.NDArray[np.int64], allow_hidden: bool) -> bytes:
    changed = changed[cur.visible(allow_hidden)[changed]]
    objects = cur.readsb_rows().join(changed)
    removed = b",".join(b'"' + h.encode() + b'"' for h in
                        (prev.hex[gone].tolist() if prev is not None else []))
    return (b'{"type":"diff","now":%.3f,"aircraft":[' % cur.now + objects + b'],"removed":['
            + removed + b"]}")


def diff_message(prev: SnapshotView | None, cur: SnapshotView, allow_hidden: bool) -> bytes:
    changed, gone = changed_rows(prev, cur)
    return _diff_body(prev, cur, changed, gone, allow_hidden)


class Tick:
    """The diff of one publish, built lazily (and once) per client class, thread-safe."""

    def __init__(self, prev: SnapshotView | None, view: SnapshotView) -> None:
        self.prev = prev
        self.view = view
        self._lock = threading.Lock()
        self._rows: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None
        self._bodies: dict[bool, bytes] = {}
        self._payloads: dict[ClientClass, Payload] = {}

    def payload(self, kind: ClientClass) -> Payload:
        with self._lock:
            got = self._payloads.get(kind)
            if got is None:
                allow, encoding = kind
                body = self._bodies.get(allow)
                if body is None:
                    if self._rows is None:
                        self._rows = changed_rows(self.prev, self.view)
                    body = self._bodies[allow] = _diff_body(self.prev, self.view,
                                                            *self._rows, allow)
                got = self._payloads[kind] = encode(body, encoding)
            return got


class LiveHub:
    """Fans each published view out to the connected websocket clients."""

    def __init__(self, state: LiveState, queue_size: int = 8, max_clients: int = 256) -> None:
        self.state = state
        self.queue_size = queue_size
        self.max_clients = max_clients
        self.clients: set[LiveClient] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._prev: SnapshotView | None = None
        self._kinds: Counter[ClientClass] = Counter()
        self._kinds_lock = threading.Lock()
        self.stats = {"connected": 0, "dropped_slow": 0, "messages": 0, "refused": 0}

    # --- lifecycle (the app's lifespan) ------------------------------------------------------
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._prev = self.state.view()
        self.state.subscribe(self._on_publish)

    def stop(self) -> None:
        self.state.unsubscribe(self._on_publish)
        for c in list(self.clients):
            self._drop(c)
        self.loop = None

    # --- publishing thread → loop ------------------------------------------------------------
    def _tick(self, view: SnapshotView) -> Tick | None:
        prev, self._prev = self._prev, view
        if prev is not None and prev.version >= view.version:
            return None
        return Tick(prev, view)

    def _on_publish(self, view: SnapshotView) -> None:
        """After a publish (publishing thread): build the messages of the classes connected
        now, off the event loop, then hand them to the loop."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        tick = self._tick(view)
        if tick is None:
            return
        with self._kinds_lock:
            kinds = [k for k, n in self._kinds.items() if n > 0]
        for kind in kinds:
            tick.payload(kind)
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(self.deliver, tick)

    def dispatch(self, view: SnapshotView) -> None:
        """Queue the diff from the previous view to ``view`` for every client (loop thread)."""
        tick = self._tick(view)
        if tick is not None:
            self.deliver(tick)

    def deliver(self, tick: Tick) -> None:
        """Queue ``tick``'s message to every client (loop thread); the slow ones are dropped."""
        for c in list(self.clients):
            try:
                c.queue.put_nowait(tick.payload(c.kind))
                self.stats["messages"] += 1
            except asyncio.QueueFull:
                self.stats["dropped_slow"] += 1
                self._drop(c)

    def _drop(self, c: LiveClient) -> None:
        c.dropped = True
        self.remove(c)
        while not c.queue.empty():
            c.queue.get_nowait()
        c.queue.put_nowait(None)  # wakes the sender, which closes the socket

    # --- one connection ----------------------------------------------------------------------
    def add(self, allow_hidden: bool, encoding: str = "json",
            ) -> tuple[LiveClient, Payload] | None:
        """Register a client; returns it and its first message (None when full)."""
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding {encoding!r} is not one of {ENCODINGS}")
        if len(self.clients) >= self.max_clients:
            self.stats["refused"] += 1
            return None
        c = LiveClient(allow_hidden, asyncio.Queue(maxsize=self.queue_size), encoding)
        first = snapshot_payload(self.state.view(), allow_hidden, encoding)
        self.clients.add(c)
        with self._kinds_lock:
            self._kinds[c.kind] += 1
        self.stats["connected"] += 1
        return c, first

    def remove(self, c: LiveClient) -> None:
        if c in self.clients:
            self.clients.discard(c)
            with self._kinds_lock:
                self._kinds[c.kind] -= 1
