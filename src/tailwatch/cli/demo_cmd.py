"""``tailwatch demo``: the README's main command."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo() -> None:
        """Run the pipeline on the built-in data and print what it found."""
        from tailwatch.cli.main import fail

        fail("the demo is not built yet")
