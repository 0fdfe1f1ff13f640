"""The ``tailwatch`` command. Thin: parse arguments, call the library, report.

Exit codes: 0 success, 1 failure (a TailwatchError: bad file, bad data, failed source; or
an OSError no command caught: a path that cannot be written, a full disk), 2 usage (bad
arguments; click's own convention).
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

from tailwatch import __version__
from tailwatch.core.errors import TailwatchError

app = typer.Typer(
    name="tailwatch",
    help="Self-hosted flight tracker for open-source investigations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tailwatch {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """tailwatch: ingest, decode, track, identify and reconstruct flights."""


def _register() -> None:
    from tailwatch.cli import (
        alerts_cmd,
        config_cmd,
        db_cmd,
        decode_cmd,
        demo_cmd,
        gnss_cmd,
        history_cmd,
        record_cmd,
        replay_cmd,
        report_cmd,
        run_cmd,
        serve_cmd,
        simulate_cmd,
    )

    if app.registered_commands:
        return
    decode_cmd.register(app)
    config_cmd.register(app)
    demo_cmd.register(app)
    alerts_cmd.register(app)
    history_cmd.register(app)
    db_cmd.register(app)
    simulate_cmd.register(app)
    report_cmd.register(app)
    run_cmd.register(app)
    record_cmd.register(app)
    replay_cmd.register(app)
    serve_cmd.register(app)
    gnss_cmd.register(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    _register()
    try:
        app(args=argv, prog_name="tailwatch")
    except SystemExit as e:  # typer/click exit: 0, or 2 for usage errors
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except TailwatchError as e:
        err.print(f"[bold red]error:[/] {e}")
        return 1
    except OSError as e:  # safety net: a file or socket the command did not check itself
        err.print(f"[bold red]error:[/] {e}")
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
