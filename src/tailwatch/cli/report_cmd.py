"""``tailwatch report``: an evidence report a journalist can publish."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        out: Path = typer.Option(..., "--out", help="Directory to write the report into."),
        flight: str | None = typer.Option(None, "--flight", help="A flight id."),
        icao24: str | None = typer.Option(None, "--icao24", help="An aircraft address (hex)."),
        since: str | None = typer.Option(None, "--since", help="Start (ISO 8601 or UNIX s)."),
        until: str | None = typer.Option(None, "--until", help="End (ISO 8601 or UNIX s)."),
        db: str | None = typer.Option(None, "--db", help="History store (default: settings)."),
        annotations: list[Path] = typer.Option([], "--annotations",
                                               help="Annotation files (CSV or TOML)."),
    ) -> None:
        """Write a route map, an altitude/speed profile, GeoJSON, KML and CSV of the points, and
        a Markdown/HTML summary with the SHA-256 of every file, for a flight or an aircraft and
        time window."""
        from tailwatch.cli.main import err, fail
        from tailwatch.config import load_settings
        from tailwatch.history.queries import parse_time
        from tailwatch.reference.identity import Annotations
        from tailwatch.report.evidence import gather, write_report
        from tailwatch.store.base import open_store

        if not flight and not icao24:
            fail("give --flight ID or --icao24 HEX", 2)
        try:
            t0 = parse_time(since) if since else None
            t1 = parse_time(until) if until else None
        except ValueError as e:
            fail(str(e), 2)
        url = db or load_settings().db_url()
        if "://" not in url and not Path(url).exists():
            fail(f"no store at {url}")
        store = open_store(url, read_only=True)
        try:
            notes = Annotations.load(*annotations) if annotations else None
            inp = gather(store, icao24=icao24, flight_id=flight, since=t0, until=t1,
                         annotations=notes)
            digests = write_report(inp, out)
        finally:
            store.close()
        for name, digest in digests.items():
            typer.echo(f"{digest}  {out / name}")
        err.print(f"report written to {out} (summary.md, summary.html)")
