"""``tailwatch demo``: the README's main command."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        headless: bool = typer.Option(False, "--headless",
                                      help="Run to the end without serving; print the summary."),
        speed: float = typer.Option(0.0, "--speed", help="Simulated seconds per real second "
                                    "for the scenario (0: as fast as possible)."),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Where the demo's fresh "
                                             "store goes (default: the settings' data_dir)."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to serve the map on."),
        port: int = typer.Option(8080, "--port", help="Port to serve the map on (0: any)."),
    ) -> None:
        """Run the whole pipeline on the built-in data: the real AFR34ZG recording and the
        simulated March 2019 airlift to Caracas, into a fresh local store; print the events
        and alerts as they fire, then serve the web map (or, with --headless, the summary)."""
        from rich.console import Console

        from tailwatch.config import load_settings
        from tailwatch.demo import Demo, fresh_db, summary

        console = Console(width=None if Console().is_terminal else 110)
        settings = load_settings()
        db = fresh_db(data_dir or settings.data_dir)
        d = Demo(db, console, speed=speed or None)
        state = None
        if not headless:
            from tailwatch.serve.identity import IdentityResolver
            from tailwatch.serve.server import ServerThread
            from tailwatch.serve.state import LiveState

            state = LiveState(store=d.store,
                              identity=IdentityResolver(annotations=d.identities.annotations))
            d.on_snapshot = state.publish
            server = ServerThread(state, settings.serve.model_copy(
                update={"host": host, "port": port}))
            url = server.start()
            console.print(f"[bold green]web map:[/] {url}")
        result = d.run()
        for line in summary(result, d.identities):
            console.print(line)
        if state is None:
            d.close()
            return
        console.print(f"[bold green]web map:[/] {url}  (Ctrl-C to stop)")
        try:
            while True:
                import time

                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            d.close()
