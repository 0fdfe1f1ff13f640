"""``tailwatch db update / import / lookup / info``: the aircraft database kept in the history
store (docs/history.md)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from tailwatch.cli.history_cmd import DB_HELP, open_db


class DbFormatOpt(StrEnum):
    auto = "auto"
    tar1090 = "tar1090"
    opensky = "opensky"
    mictronics = "mictronics"


def _annotations() -> Any:
    from tailwatch.config import load_settings
    from tailwatch.reference.identity import Annotations

    path = load_settings().reference.annotations
    return Annotations.load(path) if path else None


_FIELDS = ("country", "registration", "typecode", "description", "operator", "military",
           "interesting", "pia", "ladd", "wake_category", "unit", "notes", "citation")


def identity_record(ident: Any) -> dict[str, Any]:
    """An Identity as JSON: each field with its value and where it came from."""
    src = dict(ident.sources)
    out: dict[str, Any] = {"icao24": ident.icao24}
    for name in _FIELDS:
        value = getattr(ident, name)
        if name == "military":
            source: str | None = ident.military_rule
        elif name in ("interesting", "pia", "ladd"):
            source = src.get("flags")
        else:
            source = src.get(name)
        out[name] = {"value": value, "source": source}
    out["country_iso2"] = ident.country_iso2
    out["links"] = list(ident.links)
    return out


def register(app: typer.Typer) -> None:
    if any(g.name == "db" for g in app.registered_groups):
        return
    db_app = typer.Typer(help="The aircraft database (address → registration, type, "
                         "operator, flags), kept in the history store.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("update")
    def update(
        url: str | None = typer.Option(None, "--url", help="Default: the settings' "
                                       "reference.aircraft_db_url (tar1090-db aircraft.csv.gz)."),
        timeout: float = typer.Option(300.0, "--timeout", min=1.0, help="Seconds."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Download tar1090-db's aircraft.csv.gz and store it (replacing the last download)."""
        from tailwatch.cli.main import err
        from tailwatch.config import load_settings
        from tailwatch.history.dbtable import update_db

        source = url or load_settings().reference.aircraft_db_url
        store = open_db(db, must_exist=False)
        try:
            rows, rejects = update_db(store, source, timeout=timeout)
        finally:
            store.close()
        err.print(f"stored {rows:,} aircraft from {source}")
        if rejects:
            err.print("dropped: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(rejects.items())))

    @db_app.command("import")
    def import_(
        file: Path = typer.Argument(..., help="tar1090-db CSV, OpenSky aircraft CSV or "
                                    "Mictronics JSON (gzip or not)."),
        fmt: DbFormatOpt = typer.Option(DbFormatOpt.auto, "--format", help="Default: detected."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Load an aircraft database file; its rows replace the stored rows of the same
        addresses."""
        from tailwatch.cli.main import err, fail
        from tailwatch.history.dbtable import import_db_file

        if not file.is_file():
            fail(f"{file}: no such file", 2)
        store = open_db(db, must_exist=False)
        try:
            rows, rejects = import_db_file(store, file, fmt.value)
        finally:
            store.close()
        err.print(f"stored {rows:,} aircraft from {file}")
        if rejects:
            err.print("dropped: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(rejects.items())))

    @db_app.command("lookup")
    def lookup(
        query: str = typer.Argument(..., help="ICAO address (6 hex digits) or registration."),
        reg: bool = typer.Option(False, "--reg", help="Read QUERY as a registration even if "
                                 "it looks like an address."),
        as_json: bool = typer.Option(False, "--json", help="JSON, each field with its source."),
        db: str | None = typer.Option(None, "--db", help=DB_HELP),
    ) -> None:
        """Who is this aircraft: each field with where it came from."""
        from rich.console import Console
        from rich.table import Table

        from tailwatch.cli.main import fail
        from tailwatch.history.dbtable import lookup as db_lookup

        store = open_db(db, must_exist=False)
        try:
            found = db_lookup(store, query, registration=True if reg else None,
                              annotations=_annotations())
        finally:
            store.close()
        if not found:
            fail(f"{query}: not in the aircraft database, and not an algorithmic registration")
        records = [identity_record(i) for i in found]
        if as_json:
            typer.echo(json.dumps(records if len(records) > 1 else records[0]))
            return
        console = Console(highlight=False)
        for rec in records:
            t = Table(title=f"{rec['icao24']}", show_header=True)
            t.add_column("field")
            t.add_column("value")
            t.add_column("source")
            for name in _FIELDS:
                v, s = rec[name]["value"], rec[name]["source"]
                if v is None or (v is False and s in (None, "none")):
                    continue
                shown = ("yes" if v else "no") if isinstance(v, bool) else str(v)
                t.add_row(name, shown, s or "")
            console.print(t)

    @db_app.command("info")
    def info(db: str | None = typer.Option(None, "--db", help=DB_HELP)) -> None:
        """Rows of the stored aircraft database, per source."""
        from tailwatch.history.dbtable import db_counts

        store = open_db(db)
        try:
            counts = db_counts(store)
        finally:
            store.close()
        typer.echo(json.dumps({"rows": sum(counts.values()), "by_source": counts}))
