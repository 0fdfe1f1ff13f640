"""``tailwatch config``: show the effective settings or their documentation."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from tailwatch.config import load_settings, settings_markdown


def register(app: typer.Typer) -> None:
    @app.command("config")
    def config(
        config_file: Path | None = typer.Option(
            None, "--config", help="Settings file (TOML). Default: $TAILWATCH_CONFIG or XDG."
        ),
        markdown: bool = typer.Option(
            False, "--markdown", help="Print the table of every setting (docs/configuration.md)."
        ),
    ) -> None:
        """Print the effective settings as JSON (secrets masked)."""
        if markdown:
            typer.echo(settings_markdown(), nl=False)
            return
        s = load_settings(config_file)
        data = json.loads(s.model_dump_json())
        for section, key in (("serve", "token"), ("opensky", "client_secret")):
            if data[section][key]:
                data[section][key] = "***"
        typer.echo(json.dumps(data, indent=2))
