"""Stopping a run while a sender is still connected to a ``*+listen://`` source is clean:
the connection's task ends without the event loop reporting an unhandled exception (Python
3.11 logged a CancelledError traceback from asyncio's client_connected_cb callback)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tailwatch.ingest.net import (
    BeastFramer,
    NetOptions,
    Outlet,
    Receivers,
    SourceCounters,
    start_listener,
)

BEAST = Path(__file__).resolve().parents[1] / "data" / "traffic_sample_dump1090.beast"


def test_closing_a_listener_with_a_connected_sender_reports_nothing() -> None:
    reported: list[dict[str, Any]] = []

    async def main() -> int:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx))
        c = SourceCounters("in")
        lst = await start_listener("in", "127.0.0.1", 0,
                                   lambda: BeastFramer("in", 1, c, Receivers()), Outlet(1000),
                                   c, NetOptions())
        _, w = await asyncio.open_connection("127.0.0.1", lst.port)
        w.write(BEAST.read_bytes())
        await w.drain()
        while c.frames < 239:  # the sender stays connected, idle
            await asyncio.sleep(0.01)
        await lst.close()
        for _ in range(5):
            await asyncio.sleep(0.01)  # let the loop run the tasks' done-callbacks
        w.close()
        return c.closes["stopped"]

    stopped = asyncio.run(main())
    assert reported == []
    assert stopped == 1
