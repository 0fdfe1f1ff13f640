"""``tailwatch run``: the live pipeline over network feeds (see docs/sources.md)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from tailwatch.core.errors import ConfigError


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when the record is emitted."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never raise
            self.handleError(record)


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger("tailwatch")
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        h = _StderrHandler()
        h.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s",
                                         "%Y-%m-%d %H:%M:%S"))
        root.addHandler(h)
    root.setLevel(level.upper())


def build_outputs(serve_beast: list[str], serve_avr: list[str], serve_sbs: list[str],
                  push: list[str], receiver_ids: dict[int, int], ids: bool) -> Any:
    from tailwatch.ingest.outputs import FeedPusher, FeedServer, Outputs
    from tailwatch.ingest.urls import parse_address, parse_source_url

    items: list[FeedServer | FeedPusher] = []
    rid = receiver_ids if ids else None
    for kind, addrs in (("beast", serve_beast), ("avr", serve_avr), ("sbs", serve_sbs)):
        for a in addrs:
            host, port = parse_address(a)
            items.append(FeedServer(kind, host, port, receiver_ids=rid))  # type: ignore[arg-type]
    for url in push:
        spec = parse_source_url(url)
        if spec.mode != "connect" or spec.kind not in ("beast", "avr"):
            raise ConfigError(f"--push takes beast+tcp://host:port or avr+tcp://host:port: {url}")
        items.append(FeedPusher(spec.kind, spec.host, spec.port,  # type: ignore[arg-type]
                                receiver_ids=rid if spec.params.get("ids", "1") != "0" else None,
                                timestamps=spec.params.get("timestamps", "1") != "0"))
    return Outputs(items)


def _stats_publisher(session: Any) -> Callable[[Any, Any], None] | None:
    """Per-source and pipeline counters → the live state's /api/stats (when serving)."""
    state = getattr(session, "state", None)
    if state is None:
        return None

    def publish(feed: Any, handler: Any) -> None:
        for c in feed.counters_dict():
            state.set_ingest_counters(c["name"], c)
        if hasattr(handler, "counters"):
            state.set_ingest_counters("(pipeline)", handler.counters())

    return publish


async def _main(urls: list[str], db: str | None, duration: float | None, outputs_args: dict[
        str, Any], dedup: bool | None, dedup_window: float, log_every: float,
        stats_json: Path | None, session: Any = None,
        receivers: Any = None, receivers_file: Path | None = None) -> dict[str, Any]:
    """Run the live pipeline over ``urls``. ``session``: a :class:`tailwatch.live.LiveSession`
    (detection, alerts, web view, and the sinks other features added to it); ``receivers``:
    a :class:`~tailwatch.ingest.net.Receivers` to start from (e.g. receiver sites read from
    a file), else an empty one. Multilateration (docs/mlat.md) runs when at least three
    receivers have a known site: from ``receivers_file`` (the simulator's
    ``truth/receivers.json`` layout) or the URLs' ``lat``/``lon``/``alt_m``."""
    from tailwatch.config import load_settings
    from tailwatch.ingest.aggregator import Aggregator, StoreSink, auto_dedup, run_feed
    from tailwatch.ingest.dedup import Dedup
    from tailwatch.ingest.net import Receivers
    from tailwatch.ingest.sources import Feed, FeedOptions
    from tailwatch.ingest.urls import parse_source_url
    from tailwatch.live import build_pipeline
    from tailwatch.mlat import Sites
    from tailwatch.track.tracker import Tracker

    specs = [parse_source_url(u) for u in urls]
    settings = load_settings()
    receivers = receivers if receivers is not None else Receivers()
    keys = settings.aggregator
    options = FeedOptions(opensky_client_id=settings.opensky.client_id,
                          opensky_client_secret=settings.opensky.client_secret,
                          aggregator_api_key=keys.api_key,
                          aggregator_api_key_header=keys.api_key_header,
                          aggregator_api_key_hosts=tuple(keys.api_key_hosts))
    feed = Feed(specs, receivers=receivers, options=options)
    sinks: list[Any] = []
    store_sink: StoreSink | None = None
    if db:
        try:
            from tailwatch.cli.history_cmd import store_memory_limit
            from tailwatch.store import open_store
        except ImportError as e:  # pragma: no cover - the store package is part of tailwatch
            raise ConfigError(f"--db needs tailwatch.store: {e}") from e
        store_sink = StoreSink(open_store(db, memory_limit=store_memory_limit())
                               if session is None else session.store)
        sinks.append(store_sink)
    if session is not None:  # detection, alerts and the live web view (tailwatch.live)
        sinks += session.sinks
    tracker = Tracker(receivers=receivers.positions)
    sites = Sites.for_run(receivers, specs=specs, file=receivers_file)
    pipeline = build_pipeline(tracker, sinks, session, sites)
    # one source can carry several receivers (Beast receiver ids): with sites, de-duplicate
    use_dedup = (auto_dedup(specs) or len(sites) > 1) if dedup is None else dedup
    outputs = build_outputs(receiver_ids=receivers.id64, **outputs_args)
    agg = Aggregator(pipeline, dedup=Dedup(window_s=dedup_window) if use_dedup else None,
                     outputs=outputs, live=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await run_feed(feed, agg, duration_s=duration, stop=stop, log_every_s=log_every,
                       outputs=outputs, on_counters=_stats_publisher(session))
    finally:
        if store_sink is not None:
            store_sink.flush()
        if session is not None:
            session.close()
        if store_sink is not None:
            store_sink.close()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
    result = {"sources": feed.counters_dict(), **agg.counters()}
    if store_sink is not None:
        result["store_rows"] = store_sink.rows_written
    if stats_json is not None:
        stats_json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        source: list[str] = typer.Option(..., "--source", "-s", help="Source URL (repeat for "
                                         "several): beast+tcp://host:30005, beast+listen://"
                                         "127.0.0.1:30004, avr+tcp://…, sbs+tcp://…, readsb+"
                                         "http://…/aircraft.json, opensky+https://…, adsbx+"
                                         "https://…, file:///path?speed=10. See docs/sources.md."),
        db: str | None = typer.Option(None, "--db", help="Store positions in this history "
                                      "store (DuckDB file, clickhouse://…)."),
        duration: float | None = typer.Option(None, "--duration", min=0.0,
                                              help="Stop after this many seconds."),
        serve_beast: list[str] = typer.Option([], "--serve-beast", help="Re-serve the merged "
                                              "feed as Beast on host:port (repeatable)."),
        serve_avr: list[str] = typer.Option([], "--serve-avr", help="Re-serve as AVR text."),
        serve_sbs: list[str] = typer.Option([], "--serve-sbs", help="Re-serve positions as "
                                            "SBS/BaseStation."),
        push: list[str] = typer.Option([], "--push", help="Push the merged feed to a peer's "
                                       "input port: beast+tcp://host:30004 or avr+tcp://host:"
                                       "30001 (add ?ids=0 to leave out receiver ids)."),
        ids: bool = typer.Option(True, "--receiver-ids/--no-receiver-ids", help="Write the "
                                 "Beast receiver-id extension (0x1a 0xe3) on Beast outputs."),
        dedup: bool | None = typer.Option(None, "--dedup/--no-dedup", help="Merge the same "
                                          "frame heard by several receivers (default: on with "
                                          "more than one frame source)."),
        dedup_window: float = typer.Option(1.0, "--dedup-window", min=0.0,
                                           help="Dedup window, seconds."),
        log_every: float = typer.Option(60.0, "--log-every", min=1.0,
                                        help="Log per-source counters every this many "
                                        "seconds."),
        stats_json: Path | None = typer.Option(None, "--stats-json", help="Write the final "
                                               "counters to this JSON file."),
        log_level: str = typer.Option("INFO", "--log-level", help="Logging level."),
        detect: bool = typer.Option(True, "--detect/--no-detect", help="Detect flights and "
                                    "events into the store (with --db)."),
        rules: Path | None = typer.Option(None, "--rules", help="Watchlist rules (TOML/YAML): "
                                          "alerts are logged and queued for delivery."),
        annotations: list[Path] = typer.Option([], "--annotations", help="Annotation files "
                                               "(CSV or TOML) for identities."),
        web: str | None = typer.Option(None, "--web", help="Serve the web map and API on "
                                       "host:port (e.g. 127.0.0.1:8080)."),
        receivers_file: Path | None = typer.Option(
            None, "--receivers", help="Receiver sites for multilateration (JSON, the layout "
            "of the simulator's truth/receivers.json); the URLs' lat/lon/alt_m count too. "
            "See docs/mlat.md."),
    ) -> None:
        """Run the live pipeline: read every source, decode, track, detect, store, alert,
        re-serve and serve the map, until --duration or Ctrl-C (which stops cleanly: queues
        drained, open flights closed, store flushed)."""
        from tailwatch.cli.main import err
        from tailwatch.config import load_settings
        from tailwatch.live import LiveSession

        setup_logging(log_level)
        session = None
        if db or rules or web:
            from tailwatch.cli.history_cmd import store_memory_limit
            from tailwatch.store import open_store

            store = open_store(db, memory_limit=store_memory_limit()) if db else None
            session = LiveSession(load_settings(), store, detect=detect, rules=rules,
                                  annotations=annotations, web=web)
            if session.url:
                err.print(f"web map: {session.url}")
        res = asyncio.run(_main(
            source, db, duration,
            {"serve_beast": serve_beast, "serve_avr": serve_avr, "serve_sbs": serve_sbs,
             "push": push, "ids": ids},
            dedup, dedup_window, log_every, stats_json, session,
            receivers_file=receivers_file))
        p = res["pipeline"]
        err.print(f"{res['frames_in']:,} frames in, {p['messages']:,} messages decoded, "
                  f"{p['positions']:,} positions, {res['state_positions']:,} state-vector "
                  f"positions")
