"""``tailwatch replay``: recorded frames through the live pipeline, at 1×, 10× or full speed."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer


class Speed(StrEnum):
    one = "1"
    ten = "10"
    max = "max"


def replay_files(files: list[Path], *, fmt: str = "auto", speed: float = 0.0,
                 db: str | None = None, dedup: bool | None = None, dedup_window: float = 1.0,
                 progress: bool = True, session: Any = None,
                 receivers: Any = None,
                 receivers_file: Path | None = None) -> dict[str, Any]:
    """Replay ``files`` (merged in time order) through dedup (several files: on by default),
    the pipeline and, with ``db``, the store. Returns the counters.

    ``receivers`` (a :class:`~tailwatch.ingest.net.Receivers`, e.g. with the sites of a
    receivers file) names the files' receivers: a file whose name it knows is that
    receiver, and the tracker gets their positions; by default each file is a receiver of
    unknown position.

    Multilateration (docs/mlat.md) runs when at least three receivers have a known site:
    from ``receivers_file`` (the simulator's ``truth/receivers.json`` layout), the
    recordings' side files, or ``receivers``' own positions (:meth:`Sites.for_run`)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from tailwatch.cli.main import err
    from tailwatch.ingest.aggregator import Aggregator, StoreSink
    from tailwatch.ingest.dedup import Dedup
    from tailwatch.ingest.net import Receivers
    from tailwatch.ingest.replay import (
        FileProgress,
        Pacer,
        data_times,
        file_batches,
        merge_by_time,
        split_by_time,
    )
    from tailwatch.live import build_pipeline
    from tailwatch.mlat import Sites
    from tailwatch.track.tracker import Tracker

    known = receivers is not None
    receivers = receivers if receivers is not None else Receivers()
    prog = FileProgress()
    streams = []
    for f in files:
        uid = next((u for u, n in receivers.names.items() if n == f.name), None) \
            if known else None
        if uid is None:
            uid = receivers.add(f.name, None, None)
        streams.append(file_batches(f, fmt, receivers=receivers, receiver=uid,
                                    batch_size=65536, progress=prog))
    store_sink: StoreSink | None = None
    sinks: list[Any] = []
    if db:
        from tailwatch.cli.history_cmd import store_memory_limit
        from tailwatch.store import open_store

        store_sink = StoreSink(open_store(db, memory_limit=store_memory_limit())
                               if session is None else session.store)
        sinks.append(store_sink)
    if session is not None:  # detection, alerts and the live web view (tailwatch.live)
        sinks += session.sinks
    tracker = Tracker(receivers=receivers.positions) if known else Tracker()
    sites = Sites.for_run(receivers, file=receivers_file, recordings=files)
    pipeline = build_pipeline(tracker, sinks, session, sites)
    # a single file holding several receivers must be de-duplicated too
    use_dedup = (len(files) > 1 or len(sites) > 1) if dedup is None else dedup
    agg = Aggregator(pipeline, dedup=Dedup(window_s=dedup_window) if use_dedup else None,
                     live=False)
    pacer = Pacer(speed)
    total = sum(f.stat().st_size for f in files)
    t0 = time.monotonic()
    columns = [TextColumn("[bold]replay"), BarColumn(), DownloadColumn(), TextColumn(
        "{task.fields[frames]:,} frames"), TimeElapsedColumn(), TimeRemainingColumn()]
    try:
        with Progress(*columns, console=err, disable=not progress, transient=False) as bar:
            task = bar.add_task("replay", total=total, frames=0)
            frames = 0
            anchor: list[float] = []
            for fb in merge_by_time(streams):
                if speed > 0 and len(fb):
                    t = data_times(fb, anchor)  # t_rx, else the 12 MHz counter
                    for part, t_last in split_by_time(fb, t, 0.1):
                        pacer.wait(t_last)
                        agg.frames(part, time.time())
                        frames += len(part)
                        bar.update(task, completed=prog.done, frames=frames)
                    continue
                agg.frames(fb, time.time())
                frames += len(fb)
                bar.update(task, completed=prog.done, frames=frames)
            agg.flush()
            bar.update(task, completed=total, frames=frames)
    finally:
        if store_sink is not None:
            store_sink.flush()
        if session is not None:
            session.close()
            res_alerts = len(session.alerts)
        if store_sink is not None:
            store_sink.close()
    res: dict[str, Any] = {"files": [str(f) for f in files],
                           "seconds": round(time.monotonic() - t0, 3), **agg.counters()}
    snap = pipeline.snapshot()
    res["aircraft"] = len(snap)
    if store_sink is not None:
        res["store_rows"] = store_sink.rows_written
    if session is not None:
        res["alerts"] = res_alerts
        if session.detection is not None:
            res["flights"] = session.detection.flights
            res["events"] = session.detection.events
    return res


def register(app: typer.Typer) -> None:
    @app.command("replay")
    def replay(
        files: list[Path] = typer.Argument(..., help="Recordings (tailwatch record, Beast, "
                                           "AVR, CSV or JSON lines of frames)."),
        speed: Speed = typer.Option(Speed.max, "--speed", help="1 (real time), 10, or max."),
        db: str | None = typer.Option(None, "--db", help="Store positions in this history "
                                      "store."),
        fmt: str = typer.Option("auto", "--format", "-f", help="Input format (auto, beast, "
                                "avr, hexcsv, jsonl)."),
        dedup: bool | None = typer.Option(None, "--dedup/--no-dedup", help="Merge receptions "
                                          "of one transmission (default: on for several "
                                          "files)."),
        stats_json: Path | None = typer.Option(None, "--stats-json", help="Write the final "
                                               "counters to this JSON file."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
        detect: bool = typer.Option(True, "--detect/--no-detect", help="Detect flights and "
                                    "events into the store (with --db)."),
        rules: Path | None = typer.Option(None, "--rules", help="Watchlist rules (TOML/YAML): "
                                          "alerts are logged and queued for delivery."),
        annotations: list[Path] = typer.Option([], "--annotations", help="Annotation files "
                                               "(CSV or TOML) for identities."),
        web: str | None = typer.Option(None, "--web", help="Serve the web map and API on "
                                       "host:port while replaying (e.g. 127.0.0.1:8080)."),
        receivers_file: Path | None = typer.Option(
            None, "--receivers", help="Receiver sites for multilateration (JSON, the layout "
            "of the simulator's truth/receivers.json); the recordings' side files are read "
            "too. See docs/mlat.md."),
    ) -> None:
        """Replay recorded frames through the same pipeline as `tailwatch run` (decode,
        track, detect, store, alerts), merging several files in time order."""
        from tailwatch.cli.inputs import check_inputs
        from tailwatch.cli.main import err
        from tailwatch.config import load_settings
        from tailwatch.live import LiveSession

        check_inputs(files)
        session = None
        if db or rules or web:
            from tailwatch.cli.history_cmd import store_memory_limit
            from tailwatch.store import open_store

            store = open_store(db, memory_limit=store_memory_limit()) if db else None
            session = LiveSession(load_settings(), store, detect=detect, rules=rules,
                                  annotations=annotations, web=web)
            if session.url:
                err.print(f"web map: {session.url}")
        res = replay_files(files, fmt=fmt, speed=0.0 if speed is Speed.max else float(
            speed.value), db=db, dedup=dedup, progress=not quiet, session=session,
            receivers_file=receivers_file)
        if stats_json is not None:
            stats_json.write_text(json.dumps(res, indent=2, default=str) + "\n")
        p = res["pipeline"]
        err.print(f"replayed {res['frames_in']:,} frames: {p['messages']:,} messages, "
                  f"{p['positions']:,} positions, {res['aircraft']:,} aircraft "
                  f"in {res['seconds']:.1f} s")
        if "flights" in res or "alerts" in res:
            err.print(f"{res.get('flights', 0):,} flights, {res.get('events', 0):,} events, "
                      f"{res.get('alerts', 0):,} alerts")
