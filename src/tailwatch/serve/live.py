"""The websocket live feed: after each publish, the aircraft that changed, to every client.

The diff is computed once per publish (and per visibility variant), not once per client.
Each client has a bounded queue; a client that falls ``queue_size`` messages behind is
dropped (closed with code 1013), never waited for.

Messages (JSON text):
- on connect: ``{"type": "snapshot", "now": s, "aircraft": [readsb objects]}``
- each second: ``{"type": "diff", "now": s, "aircraft": [changed or new objects],
  "removed": ["hex", ...]}``
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tailwatch.serve.state import LiveState
from tailwatch.serve.view import SnapshotView

__all__ = ["LiveHub"]

log = logging.getLogger(__name__)


@dataclass(eq=False)
class LiveClient:
    allow_hidden: bool
    queue: asyncio.Queue[bytes | None]
    dropped: bool = False
    sent: int = field(default=0)


def snapshot_message(view: SnapshotView, allow_hidden: bool) -> bytes:
    def build() -> bytes:
        rows = view.readsb_rows()
        sel = np.flatnonzero(view.visible(allow_hidden))
        return (b'{"type":"snapshot","now":%.3f,"aircraft":[' % view.now + rows.join(sel)
                + b"]}")

    return view.body(("ws-snapshot", allow_hidden), build)


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


def diff_message(prev: SnapshotView | None, cur: SnapshotView, allow_hidden: bool) -> bytes:
    changed, gone = changed_rows(prev, cur)
    changed = changed[cur.visible(allow_hidden)[changed]]
    objects = cur.readsb_rows().join(changed)
    removed = b",".join(b'"' + h.encode() + b'"' for h in
                        (prev.hex[gone].tolist() if prev is not None else []))
    return (b'{"type":"diff","now":%.3f,"aircraft":[' % cur.now + objects + b'],"removed":['
            + removed + b"]}")


class LiveHub:
    """Fans each published view out to the connected websocket clients."""

    def __init__(self, state: LiveState, queue_size: int = 8, max_clients: int = 256) -> None:
        self.state = state
        self.queue_size = queue_size
        self.max_clients = max_clients
        self.clients: set[LiveClient] = set()
        self.loop: asyncio.AbstractEventLoop | None = None
        self._prev: SnapshotView | None = None
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
    def _on_publish(self, view: SnapshotView) -> None:
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            loop.call_soon_threadsafe(self.dispatch, view)

    def dispatch(self, view: SnapshotView) -> None:
        """Queue the diff from the previous view to ``view`` for every client (loop thread)."""
        prev, self._prev = self._prev, view
        if prev is not None and prev.version >= view.version:
            return
        messages: dict[bool, bytes] = {}
        for c in list(self.clients):
            msg = messages.get(c.allow_hidden)
            if msg is None:
                msg = messages[c.allow_hidden] = diff_message(prev, view, c.allow_hidden)
            try:
                c.queue.put_nowait(msg)
                self.stats["messages"] += 1
            except asyncio.QueueFull:
                self.stats["dropped_slow"] += 1
                self._drop(c)

    def _drop(self, c: LiveClient) -> None:
        c.dropped = True
        self.clients.discard(c)
        while not c.queue.empty():
            c.queue.get_nowait()
        c.queue.put_nowait(None)  # wakes the sender, which closes the socket

    # --- one connection ----------------------------------------------------------------------
    def add(self, allow_hidden: bool) -> tuple[LiveClient, bytes] | None:
        """Register a client; returns it and its first message (None when full)."""
        if len(self.clients) >= self.max_clients:
            self.stats["refused"] += 1
            return None
        c = LiveClient(allow_hidden, asyncio.Queue(maxsize=self.queue_size))
        first = snapshot_message(self.state.view(), allow_hidden)
        self.clients.add(c)
        self.stats["connected"] += 1
        return c, first

    def remove(self, c: LiveClient) -> None:
        self.clients.discard(c)
