"""``tailwatch gnss``: the GNSS interference hexagons of a time range (docs/gnss.md)."""

from __future__ import annotations

import json
import math

import typer


def register(app: typer.Typer) -> None:
    @app.command("gnss")
    def gnss(
        db: str | None = typer.Option(None, "--db", help="History store: DuckDB file or store "
                                      "URL (default: the settings' store.db)."),
        since: str | None = typer.Option(None, "--since", help="Start (ISO 8601 or UNIX s); "
                                         "default: a day before --until."),
        until: str | None = typer.Option(None, "--until", help="End (ISO 8601 or UNIX s); "
                                         "default: the end of the stored hexagons."),
        res: int = typer.Option(4, "--res", min=3, max=6, help="H3 resolution (3-6)."),
        as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
        compute: bool = typer.Option(False, "--compute", help="(Re)compute the hexagons and "
                                     "the GNSS events of the range from the stored positions "
                                     "first (done anyway when none are stored)."),
        all_cells: bool = typer.Option(False, "--all", help="Also the cells at level none "
                                       "(the table shows the flagged ones by default; --json "
                                       "always gives every cell)."),
    ) -> None:
        """One row per H3 cell: aircraft seen, degraded (NIC/NACp), share, spoofed, level."""
        from rich.console import Console
        from rich.table import Table

        from tailwatch.cli.history_cmd import open_db, times
        from tailwatch.cli.main import err, fail
        from tailwatch.core.errors import StoreError
        from tailwatch.gnss.cellstore import positions_span, query_cells, stored_span
        from tailwatch.gnss.session import gnss_from_store

        t0, t1 = times(since, until)
        # read-only first (beside a running server); writable only to compute
        store = open_db(db)
        try:
            span = None if compute else stored_span(store)
            if span is None:
                store.close()
                store = open_db(db, read_only=False)
                pos = positions_span(store)
                if pos is None:
                    fail("the store holds no positions and no GNSS hexagons")
                lo = t0 if t0 is not None else pos[0]
                hi = t1 if t1 is not None else pos[1] + 1.0
                err.print(f"computing the GNSS hexagons from the stored positions "
                          f"({(hi - lo) / 3600:.1f} h)...")
                _, _, totals = gnss_from_store(store, since=lo, until=hi)
                err.print(f"{totals.positions} positions, {totals.cell_rows} cell rows, "
                          f"events: {totals.events or 'none'}")
                span = stored_span(store) or (lo, hi)
            end = t1 if t1 is not None else span[1]
            start = t0 if t0 is not None else max(span[0], end - 86400.0)
            if not end > start:
                fail("--until must be after --since", 2)
            cells = query_cells(store, since=math.floor(start / 3600) * 3600, until=end,
                                res=res)
        except StoreError as e:
            fail(str(e))
        finally:
            store.close()
        keys = ("h3", "lat", "lon", "aircraft", "degraded", "share", "spoofed", "level")
        if as_json:
            typer.echo(json.dumps([{k: c[k] for k in keys} for c in cells], indent=1))
            return
        shown = cells if all_cells else [c for c in cells if c["level"] != "none"]
        table = Table(*keys, title=f"GNSS interference, res {res}: {len(shown)} of "
                      f"{len(cells)} cells", title_justify="left")
        for c in shown:
            table.add_row(c["h3"], f"{c['lat']:.3f}", f"{c['lon']:.3f}", str(c["aircraft"]),
                          str(c["degraded"]), f"{c['share']:.1%}", str(c["spoofed"]),
                          c["level"])
        Console(width=200, highlight=False).print(table)
