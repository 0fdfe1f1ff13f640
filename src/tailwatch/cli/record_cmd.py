"""``tailwatch record``: keep a feed's raw frames, losslessly (Beast with receiver time)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

import typer

from tailwatch.core.errors import ConfigError


async def _record(urls: list[str], out: Path, duration: float | None,
                  log_every: float) -> dict[str, Any]:
    from tailwatch.ingest.aggregator import RecordHandler, run_feed
    from tailwatch.ingest.net import Receivers
    from tailwatch.ingest.record import Recorder
    from tailwatch.ingest.sources import Feed
    from tailwatch.ingest.urls import parse_source_url

    specs = [parse_source_url(u) for u in urls]
    for s in specs:
        if not s.carries_frames:
            raise ConfigError(f"{s.url}: a recording keeps raw frames; {s.kind} sources carry "
                              "decoded data (record Beast or AVR sources)")
    receivers = Receivers()
    feed = Feed(specs, receivers=receivers)
    recorder = Recorder(out, receivers, sources=urls)
    handler = RecordHandler(recorder)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await run_feed(feed, handler, duration_s=duration, stop=stop, log_every_s=log_every)
    finally:
        recorder.close()
    return {"frames": recorder.frames, "bytes": recorder.bytes,
            "sources": feed.counters_dict()}


def register(app: typer.Typer) -> None:
    @app.command("record")
    def record(
        source: list[str] = typer.Option(..., "--source", "-s", help="Source URL of raw "
                                         "frames (beast+tcp://, beast+listen://, avr+…, "
                                         "file:///); repeatable."),
        out: Path = typer.Option(..., "--out", "-o", help="Recording to write (Beast with "
                                 "receiver time; a .json side file names the receivers)."),
        duration: float | None = typer.Option(None, "--duration", min=0.0,
                                              help="Stop after this many seconds."),
        log_every: float = typer.Option(60.0, "--log-every", min=1.0,
                                        help="Log per-source counters every this many "
                                        "seconds."),
        log_level: str = typer.Option("INFO", "--log-level", help="Logging level."),
    ) -> None:
        """Record raw frames as they arrive — every reception, before any dedup, with its
        12 MHz counter, signal, receiver and arrival time — until --duration or Ctrl-C.
        Replay with `tailwatch replay FILE`."""
        from tailwatch.cli.main import err
        from tailwatch.cli.run_cmd import setup_logging

        setup_logging(log_level)
        res = asyncio.run(_record(source, out, duration, log_every))
        err.print(f"recorded {res['frames']:,} frames ({res['bytes']:,} bytes) to {out}")
