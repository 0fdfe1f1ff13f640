"""``tailwatch import / export / positions / aircraft / flights / events / sql``: history in
and out of the store, and queries over it (docs/history.md)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table

from tailwatch.core.errors import ConfigError
from tailwatch.store.base import Store

DB_HELP = "History store: DuckDB file or store URL (default: the settings' store.db)."
TIME_HELP = "ISO 8601 (2019-03-23T12:00Z; no offset: UTC) or UNIX seconds."


def db_url(db: str | None) -> str:
    if db:
        return db
    from tailwatch.config import load_settings

    return load_settings().db_url()


def store_memory_limit() -> str:
    """DuckDB's memory cap from the settings (``store.duckdb_memory_limit``, e.g. "2GB");
    empty (DuckDB's default, up to 80 % of the RAM) while the setting does not exist."""
    from tailwatch.config import load_settings

    return str(getattr(load_settings().store, "duckdb_memory_limit", "") or "")


def open_db(db: str | None, *, must_exist: bool = True, read_only: bool | None = None
            ) -> Store:
    """Open the store; a query on a DuckDB file that is not there is an error, not a new
    empty file. What only reads (``must_exist``, unless ``read_only`` says otherwise) opens
    a DuckDB file read-only, beside a running ``tailwatch serve``."""
    from tailwatch.cli.main import fail
    from tailwatch.store import open_store

    url = db_url(db)
    if must_exist and "://" not in url and not url.startswith(":memory:"):
        path = Path(url).expanduser()
        if not path.exists():
            fail(f"no history store at {path} (tailwatch import or tailwatch run --db make one)",
                 1)
    ro = must_exist if read_only is None else read_only
    return open_store(url, read_only=ro, memory_limit="" if ro else store_memory_limit())


def times(since: str | None, until: str | None) -> tuple[float | None, float | None]:
    from tailwatch.cli.main import fail
    from tailwatch.history.queries import parse_time

    try:
        return (parse_time(since) if since else None, parse_time(until) if until else None)
    except ConfigError as e:
        fail(str(e), 2)


def _out_console() -> Console:
    return Console(width=None if sys.stdout.isatty() else 250, highlight=False)


def _cell(v: Any) -> str:
    from datetime import datetime

    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, float):
        if v != v:
            return ""
        return f"{v:.5f}" if abs(v) < 1000 and v != int(v) else f"{v:.0f}"
    if isinstance(v, bool):
        return "yes" if v else ""
    s = str(v)
    return s if len(s) <= 60 else s[:57] + "..."


def emit(table: pa.Table, *, as_json: bool, limit: int | None, columns: list[str] | None = None,
         title: str = "") -> None:
    """Print rows: a JSON array (every column) or a rich table (``columns``, ``limit`` rows)."""
    from tailwatch.cli.main import err
    from tailwatch.history.queries import json_records

    total = table.num_rows
    if as_json:
        if limit is not None:
            table = table.slice(0, limit)
        typer.echo(json.dumps(json_records(table), separators=(",", ":")))
        return
    shown = table.slice(0, limit if limit is not None else 50)
    names = [c for c in (columns or table.column_names) if c in table.column_names]
    out = Table(title=title or None, show_lines=False)
    for c in names:
        out.add_column(c, no_wrap=True)
    for row in shown.select(names).to_pylist():
        out.add_row(*(_cell(row[c]) for c in names))
    _out_console().print(out)
    if shown.num_rows < total:
        err.print(f"showing {shown.num_rows:,} of {total:,} rows (--limit N, or --json)")
    else:
        err.print(f"{total:,} rows")


POSITION_COLUMNS = ["t", "icao24", "lat", "lon", "altitude_ft", "gs_kt", "track_deg",
                    "vrate_fpm", "on_ground", "callsign", "squawk", "source"]
AIRCRAFT_COLUMNS = ["icao24", "registration", "typecode", "operator", "country", "military",
                    "interesting", "first_seen", "last_seen"]
FLIGHT_COLUMNS = ["flight_id", "callsign", "first_seen", "last_seen", "origin", "destination",
                  "takeoff_runway", "landing_runway", "max_altitude_ft", "distance_nm",
                  "n_positions"]
EVENT_COLUMNS = ["t", "icao24", "type", "airport", "flight_id", "lat", "lon", "details"]


class ExportFormatOpt(StrEnum):
    parquet = "parquet"
    csv = "csv"


@contextmanager
def import_progress(console: Console, *, enabled: bool = True
                    ) -> Iterator[Callable[[str, int], None] | None]:
    """The ``progress(label, rows)`` callback of :func:`~tailwatch.history.importers.
    import_files`: a rich line on ``console`` (stderr) with the file being read, the rows
    read so far and the time taken; ``None`` when disabled or ``console`` is no terminal."""
    if not enabled or not console.is_terminal:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("[bold]import[/] {task.fields[rows]:,} rows"),
               TimeElapsedColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("", total=None, rows=0)
        rows = 0

        def report(label: str, n_rows: int) -> None:
            nonlocal rows
            rows += n_rows
            bar.update(task, description=Path(label).name, rows=rows)

        yield report


def register(app: typer.Typer) -> None:
    if any(c.name == "import" for c in app.registered_commands):
        return

    @app.command("import")
    def import_(
        files: list[Path] = typer.Argument(..., help="readsb trace files or globe_history "
                                           "directories, OpenSky state-vector CSV/Parquet, "
                                           "traffic Parquet/CSV/JSON (gzip is read as is)."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        no_detect: bool = typer.Option(False, "--no-detect",
                                       help="Store positions only: no flights, events or "
                                       "aircraft rows."),
        batch_rows: int = typer.Option(500_000, "--batch-rows", min=1,
                                       help="Rows per store write."),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress line (there is "
                                   "none either when stderr is not a terminal)."),
    ) -> None:
        """Import history files into the store (idempotent: importing a file again changes
        nothing; an interrupted import resumes where it stopped)."""
        from tailwatch.cli.inputs import check_inputs
        from tailwatch.cli.main import err, fail
        from tailwatch.core.errors import FormatError
        from tailwatch.history.importers import import_files

        check_inputs(files, allow_dir=True)
        store = open_db(db, must_exist=False)
        try:
            with import_progress(err, enabled=not quiet) as progress:
                report = import_files(store, files, detect=not no_detect,
                                      batch_rows=batch_rows, progress=progress,
                                      detect_progress=False if quiet else None)
        except FormatError as e:
            fail(str(e))
        except OSError as e:  # a file vanished or became unreadable while importing
            fail(f"{e.filename or 'input'}: cannot read: {e.strerror or e}")
        finally:
            store.close()
        if as_json:
            typer.echo(json.dumps(report.as_dict()))
            return
        err.print(
            f"imported {report.positions_written:,} new positions ({report.positions:,} read, "
            f"{report.rows_read:,} rows) from {report.sources - report.already_imported} of "
            f"{report.sources} source(s); {report.already_imported} already imported")
        err.print(f"aircraft: {report.aircraft:,}; flights: {report.flights:,}; events: "
                  f"{report.events:,} (detection: {report.detection})")
        if report.rejects:
            err.print("dropped: " + ", ".join(f"{k}: {v:,}"
                                              for k, v in sorted(report.rejects.items())))

    @app.command("export")
    def export(
        out: Path = typer.Option(..., "--out", help="Output directory (day=YYYY-MM-DD/...)."),
        since: str | None = typer.Option(None, "--since", help=TIME_HELP),
        until: str | None = typer.Option(None, "--until", help=TIME_HELP),
        icao24: list[str] | None = typer.Option(None, "--icao24", help="Aircraft address "
                                                "(repeatable)."),
        fmt: ExportFormatOpt = typer.Option(ExportFormatOpt.parquet, "--format",
                                            help="parquet or csv."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Export positions as day-partitioned Parquet (or CSV) with traffic's column names."""
        from tailwatch.cli.main import err
        from tailwatch.history.exporters import export_positions

        lo, hi = times(since, until)
        with closing(open_db(db)) as store:
            report = export_positions(store, out, since=lo, until=hi, icao24=icao24 or None,
                                      fmt=fmt.value)
        err.print(f"exported {report.rows:,} positions in {report.days} day(s) to {out}")

    @app.command("positions")
    def positions(
        icao24: list[str] | None = typer.Option(None, "--icao24", help="Aircraft address "
                                                "(repeatable)."),
        since: str | None = typer.Option(None, "--since", help=TIME_HELP),
        until: str | None = typer.Option(None, "--until", help=TIME_HELP),
        box: str | None = typer.Option(None, "--box", help="south,west,north,east (degrees)."),
        limit: int | None = typer.Option(None, "--limit", min=0, help="At most N rows."),
        as_json: bool = typer.Option(False, "--json", help="JSON array of rows."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Stored positions, by aircraft, time and area."""
        from tailwatch.cli.main import fail

        lo, hi = times(since, until)
        bounds = None
        if box:
            try:
                s, w, n, e = (float(v) for v in box.split(","))
            except ValueError:
                fail(f"--box takes south,west,north,east: {box!r}", 2)
            bounds = (s, w, n, e)
        with closing(open_db(db)) as store:
            table = store.positions(icao24=icao24 or None, since=lo, until=hi, box=bounds)
        emit(table, as_json=as_json, limit=limit, columns=POSITION_COLUMNS, title="positions")

    @app.command("aircraft")
    def aircraft(
        icao24: list[str] | None = typer.Option(None, "--icao24", help="Aircraft address "
                                                "(repeatable)."),
        military: bool = typer.Option(False, "--military", help="Military or state only."),
        country: str | None = typer.Option(None, "--country",
                                           help="Country of registration (e.g. Russia)."),
        registration: str | None = typer.Option(None, "--registration", "--reg"),
        typecode: str | None = typer.Option(None, "--type", help="ICAO type (e.g. IL62)."),
        since: str | None = typer.Option(None, "--since", help=TIME_HELP),
        until: str | None = typer.Option(None, "--until", help=TIME_HELP),
        limit: int | None = typer.Option(None, "--limit", min=0, help="At most N rows."),
        as_json: bool = typer.Option(False, "--json", help="JSON array of rows."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Aircraft seen, with their identity."""
        from tailwatch.history.queries import aircraft_query

        lo, hi = times(since, until)
        with closing(open_db(db)) as store:
            table = aircraft_query(store, icao24=icao24 or None, since=lo, until=hi,
                                   military=military, country=country,
                                   registration=registration, typecode=typecode)
        emit(table, as_json=as_json, limit=limit, columns=AIRCRAFT_COLUMNS, title="aircraft")

    @app.command("flights")
    def flights(
        icao24: list[str] | None = typer.Option(None, "--icao24", help="Aircraft address "
                                                "(repeatable)."),
        airport: str | None = typer.Option(None, "--airport", help="From or to this airport "
                                           "(ICAO code)."),
        military: bool = typer.Option(False, "--military", help="Military or state only."),
        since: str | None = typer.Option(None, "--since", help=TIME_HELP),
        until: str | None = typer.Option(None, "--until", help=TIME_HELP),
        limit: int | None = typer.Option(None, "--limit", min=0, help="At most N rows."),
        as_json: bool = typer.Option(False, "--json", help="JSON array of rows."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Flights (reconstructed from positions)."""
        from tailwatch.history.queries import flights_query

        lo, hi = times(since, until)
        with closing(open_db(db)) as store:
            table = flights_query(store, icao24=icao24 or None, since=lo, until=hi,
                                  airport=airport, military=military)
        emit(table, as_json=as_json, limit=limit, columns=FLIGHT_COLUMNS, title="flights")

    @app.command("events")
    def events(
        types: list[str] | None = typer.Option(None, "--type", help="Event type, e.g. landing "
                                               "(repeatable)."),
        icao24: list[str] | None = typer.Option(None, "--icao24", help="Aircraft address "
                                                "(repeatable)."),
        airport: str | None = typer.Option(None, "--airport", help="Airport (ICAO code)."),
        military: bool = typer.Option(False, "--military", help="Military or state only."),
        since: str | None = typer.Option(None, "--since", help=TIME_HELP),
        until: str | None = typer.Option(None, "--until", help=TIME_HELP),
        limit: int | None = typer.Option(None, "--limit", min=0, help="At most N rows."),
        as_json: bool = typer.Option(False, "--json", help="JSON array of rows."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Events: take-offs, landings, squawk changes, emergencies, ..."""
        from tailwatch.cli.main import fail
        from tailwatch.core.schema import EVENT_TYPES
        from tailwatch.history.queries import events_query

        unknown = sorted(set(types or ()) - set(EVENT_TYPES))
        if unknown:
            fail(f"unknown event type(s) {unknown}; types: {', '.join(EVENT_TYPES)}", 2)
        lo, hi = times(since, until)
        with closing(open_db(db)) as store:
            table = events_query(store, icao24=icao24 or None, since=lo, until=hi,
                                 types=types or None, airport=airport, military=military)
        emit(table, as_json=as_json, limit=limit, columns=EVENT_COLUMNS, title="events")

    @app.command("sql")
    def sql(
        query: str = typer.Argument(..., help="SQL in the engine's dialect; the tables are "
                                    "positions, aircraft, flights, events, aircraft_db on "
                                    "both engines (ClickHouse: read as with FINAL)."),
        limit: int | None = typer.Option(None, "--limit", min=0, help="At most N rows."),
        as_json: bool = typer.Option(False, "--json", help="JSON array of rows."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
        write: bool = typer.Option(False, "--write", help="Open the store for writing (for "
                                   "DELETE, UPDATE, ...); by default it is opened read-only, "
                                   "which works beside a running `tailwatch serve`."),
    ) -> None:
        """Run SQL on the history store (tables: positions, aircraft, flights, events,
        aircraft_db; the same names on DuckDB and ClickHouse)."""
        from tailwatch.cli.main import fail
        from tailwatch.core.errors import StoreError

        with closing(open_db(db, read_only=not write)) as store:
            try:  # ClickHouse: tables read as with FINAL, as DuckDB keeps them
                table = (store.query(query, final=True)  # type: ignore[call-arg]
                         if getattr(store, "engine", "") == "clickhouse" else store.query(query))
            except StoreError as e:
                if not write and "read-only" in str(e):
                    fail(f"{e}\n(the store is opened read-only: add --write to change it)")
                raise
        emit(table, as_json=as_json, limit=limit, title="")
