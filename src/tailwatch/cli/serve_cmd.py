"""``tailwatch serve``: the web map and the HTTP API over a history store."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        db: str | None = typer.Option(None, "--db", help="History store (default: settings)."),
        host: str | None = typer.Option(None, "--host", help="Address to bind (default "
                                        "127.0.0.1)."),
        port: int | None = typer.Option(None, "--port", help="Port (default 8080)."),
        annotations: list[Path] = typer.Option([], "--annotations", help="Annotation files "
                                               "(CSV or TOML) for identities."),
        rules: Path | None = typer.Option(None, "--rules", help="Watchlist rules file to "
                                          "manage through the API (/api/rules, token); a "
                                          "`tailwatch run` on the same file picks up the "
                                          "changes. Created at the first change if absent."),
        tar1090: Path | None = typer.Option(None, "--tar1090", help="An installed tar1090 "
                                            "html/ folder, served at /tar1090/."),
    ) -> None:
        """Serve the web map and the readsb / ADSBx v2 / OpenSky / native API over a store's
        history (for live data, use `tailwatch run --web` or `tailwatch replay --web`)."""
        from tailwatch.cli.main import err, fail
        from tailwatch.config import load_settings
        from tailwatch.reference.identity import Annotations
        from tailwatch.serve.identity import IdentityResolver
        from tailwatch.serve.server import serve as run_server
        from tailwatch.serve.state import LiveState
        from tailwatch.store import open_store

        settings = load_settings()
        if tar1090 is not None:
            from tailwatch.core.errors import ConfigError
            from tailwatch.serve.tar1090 import html_folder

            try:
                tar1090 = html_folder(tar1090)
            except ConfigError as e:
                fail(str(e))
        url = db or settings.db_url()
        if "://" not in url and not Path(url).exists():
            fail(f"no store at {url}")
        store = open_store(url, read_only=True)
        notes = Annotations.load(*annotations) if annotations else None
        state = LiveState(store=store,
                          identity=IdentityResolver.from_store(store, annotations=notes))
        service = None
        if rules is not None:
            from tailwatch.alert.delivery import outbox_path
            from tailwatch.alert.service import RuleService
            from tailwatch.alert.sinks import file_sink_dir

            service = RuleService.open(rules, missing_ok=True,
                                       outbox=outbox_path(settings.alerts, settings.data_dir),
                                       file_sink_dir=file_sink_dir(settings.alerts,
                                                                   settings.data_dir))
            state.rules = service
        update = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
        cfg = settings.serve.model_copy(update=update)
        err.print(f"serving {url} on http://{cfg.host}:{cfg.port} (Ctrl-C to stop)")
        try:
            run_server(state, cfg, tar1090_dir=tar1090)
        finally:
            if service is not None:
                service.close()
            store.close()
