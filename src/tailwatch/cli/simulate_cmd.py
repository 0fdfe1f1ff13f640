"""``tailwatch simulate``: a synthetic feed with a known truth (see docs/simulator.md)."""

from __future__ import annotations

import sys
from collections import Counter
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from tailwatch.simulate import Simulation


class SimFormat(StrEnum):
    beast = "beast"
    avr = "avr"
    sbs = "sbs"


def parse_speed(value: str) -> float | None:
    """``max`` → None (as fast as possible), else a positive number."""
    from tailwatch.core.errors import ConfigError

    if value.strip().lower() == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise ConfigError(f"--speed must be a number or 'max', not {value!r}") from None
    if not speed > 0:
        raise ConfigError("--speed must be > 0")
    return speed


def parse_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``:PORT`` or ``PORT`` (host 127.0.0.1)."""
    from tailwatch.core.errors import ConfigError

    host, _, port = value.rpartition(":")
    try:
        p = int(port)
    except ValueError:
        raise ConfigError(f"--serve-beast wants HOST:PORT, not {value!r}") from None
    if not 0 <= p <= 65535:
        raise ConfigError(f"--serve-beast: port {p} is out of range")
    return (host.strip("[]") or "127.0.0.1"), p


def extra_summary(sim: Simulation) -> list[str]:
    """Summary lines about receiver clocks and GNSS interference (none when not used)."""
    out = []
    clocks = Counter(r.spec.clock for r in sim.receivers)
    if set(clocks) - {"utc"}:
        out.append("receiver clocks: " + ", ".join(f"{n} {k}" for k, n in sorted(clocks.items())))
    if sim.scenario.interference:
        effects: dict[str, set[int]] = {}
        for e in sim.episodes:
            effects.setdefault(e.effect, set()).add(e.icao24)
        out.append("GNSS interference: " + (", ".join(
            f"{len(v)} aircraft {k.replace('_', ' ')}" for k, v in sorted(effects.items()))
            or "no aircraft affected"))  # fmt: skip
    return out


def print_scenarios() -> None:
    """One line per built-in scenario: its name and title."""
    from tailwatch.simulate import builtin_scenarios, load_scenario

    for name in builtin_scenarios():
        typer.echo(f"{name:<16} {load_scenario(name).title}")
    typer.echo(f"{'mlat:NxRxM':<16} generated MLAT set: N aircraft, R receivers with free "
               "clocks, M minutes (e.g. mlat:200x8x10)")


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate(
        scenario: str | None = typer.Argument(
            None, help="A built-in scenario (see --list), a generated MLAT set "
            "(mlat:200x8x10) or a scenario TOML file."
        ),
        list_: bool = typer.Option(
            False, "--list", help="List the built-in scenarios and exit."
        ),
        out: Path | None = typer.Option(None, "--out", "-o", help="Output file (default: stdout)."),
        fmt: SimFormat = typer.Option(SimFormat.beast, "--format", "-f", help="Output format."),
        truth: Path | None = typer.Option(
            None, "--truth", help="Write the truth (Parquet + JSON) here."
        ),
        speed: str | None = typer.Option(
            None,
            "--speed",
            help="N times real time, or 'max' (as fast as possible; the "
            "default for files, 1 when serving).",
        ),
        seed: int | None = typer.Option(
            None, "--seed", min=0, help="Random seed (default: the scenario's)."
        ),
        serve_beast: str | None = typer.Option(
            None,
            "--serve-beast",
            metavar="HOST:PORT",
            help="Serve the feed as Beast on this address (waits for a first client; paced "
            "at --speed, 1x unless given) instead of writing it.",
        ),
        receiver: list[str] = typer.Option(
            [], "--receiver", help="Keep only this receiver's frames (repeatable)."
        ),
        no_clock: bool = typer.Option(
            False, "--no-clock", help="Beast: no readsb replay clock records (0x1a 0xe8)."
        ),
        no_traffic: bool = typer.Option(
            False, "--no-traffic", help="Leave out the generated background traffic."
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary on stderr."),
        side: bool = typer.Option(
            True, "--sidecar/--no-sidecar",
            help="Beast to a file: also write <file>.json naming the receivers, their "
            "positions and clocks (the side file of a tailwatch recording).",
        ),
    ) -> None:
        """Write a simulated Mode S feed (real encodings, several receivers, noise) and,
        with --truth, what really happened: positions, legs, stopovers, coverage and events."""
        import asyncio

        from tailwatch.cli.main import err, fail
        from tailwatch.core.errors import ConfigError
        from tailwatch.simulate import FeedWriter, load_scenario, write, write_sidecar
        from tailwatch.simulate import serve_beast as serve
        from tailwatch.simulate import simulate as run

        if list_:
            print_scenarios()
            return
        if scenario is None:
            fail("give a scenario (a built-in name or a TOML file); --list shows the built-in "
                 "ones", 2)
        try:
            address = parse_address(serve_beast) if serve_beast else None
            pace = parse_speed(speed) if speed else (1.0 if address else None)
        except ConfigError as e:
            fail(str(e), 2)
        if address is not None and (out is not None or fmt is not SimFormat.beast):
            fail("--serve-beast serves Beast: it does not go with --out or --format", 2)
        if address is None and out is None and fmt is SimFormat.beast and sys.stdout.isatty():
            fail("Beast is binary: give --out FILE or redirect stdout", 2)
        sc = load_scenario(scenario)
        sim = run(sc, seed=seed, traffic=not no_traffic)
        if truth is not None:
            sim.truth.write(truth)
        if address is not None:
            if receiver:
                fail("--receiver does not go with --serve-beast", 2)

            def listening(host: str, port: int) -> None:
                if not quiet:
                    err.print(f"serving Beast on {host}:{port}; waiting for a client")

            sent = asyncio.run(
                serve(sim, address[0], address[1], speed=pace, on_listening=listening)
            )
            if not quiet:
                err.print(f"sent {sent:,} frames")
            return
        writer = FeedWriter(sim, fmt.value, receivers=receiver or None, clock=not no_clock)
        if out is not None:
            with open(out, "wb") as fh:
                nbytes = write(writer, fh, speed=pace)
            if side and fmt is SimFormat.beast:
                write_sidecar(sim, out, nbytes=nbytes, receivers=receiver or None)
        else:
            try:
                nbytes = write(writer, sys.stdout.buffer, speed=pace)
            except BrokenPipeError:
                return
        if not quiet:
            c = sim.counts
            err.print(f"{sc.title}")
            err.print(
                f"{c['frames']:,} frames ({c['transmissions']:,} transmissions of "
                f"{c['aircraft']} aircraft, {len(sim.receivers)} receivers), "
                f"{nbytes:,} bytes of {fmt.value}" + (f" to {out}" if out else "")
            )
            err.print(
                f"noise: {c['single_bit']:,} single-bit, {c['multi_bit']:,} multi-bit, "
                f"{c['mode_ac']:,} Mode A/C, {c['ghost']:,} ghosts, "
                f"{c['garbage_bursts']:,} garbage bursts; {c['duplicates']:,} duplicates"
            )
            for line in extra_summary(sim):
                err.print(line)
            if truth is not None:
                err.print(f"truth written to {truth}")
