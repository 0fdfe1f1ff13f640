"""``tailwatch alerts``: check rule files, dry-run them on recordings, deliver alerts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import typer


def _settings(config_file: Path | None) -> tuple[Any, Any]:
    """(Settings, AlertSettings): the ``alerts`` section when Settings has one."""
    from tailwatch.alert.settings import AlertSettings
    from tailwatch.config import load_settings

    s = load_settings(config_file)
    alert_settings = getattr(s, "alerts", None)
    if not isinstance(alert_settings, AlertSettings):
        alert_settings = AlertSettings.model_validate(
            alert_settings.model_dump() if alert_settings is not None else {}
        )
    return s, alert_settings


def _resolver(aircraft_db: Path | None, annotations: Path | None, settings: Any) -> Any:
    from tailwatch.reference.aircraft_db import AircraftDB
    from tailwatch.reference.identity import Annotations, identify_many

    db = AircraftDB.load(aircraft_db) if aircraft_db else None
    ann_path = annotations or (Path(settings.reference.annotations)
                               if settings.reference.annotations else None)  # fmt: skip
    ann = Annotations.load(ann_path) if ann_path else None

    def resolve(addresses: Any, callsigns: Any) -> Any:
        return identify_many(addresses, callsigns, db=db, annotations=ann)

    return resolve


def register(app: typer.Typer) -> None:
    alerts = typer.Typer(
        name="alerts",
        help="Watchlists and alerts: check rule files, dry-run them on recordings, deliver.",
        no_args_is_help=True,
    )
    app.add_typer(alerts, name="alerts")

    config_opt = typer.Option(None, "--config", help="Settings file (TOML).")

    @alerts.command("check")
    def check(
        rules: Path = typer.Argument(..., help="Rules file (TOML, YAML or JSON)."),
        config_file: Path | None = config_opt,
    ) -> None:
        """Validate a rules file and list its rules (file sinks must write inside the file
        sink directory, alerts.file_sink_dir)."""
        from tailwatch.alert.conditions import compile_condition
        from tailwatch.alert.rules import load_rules
        from tailwatch.alert.sinks import check_file_sinks, file_sink_dir

        rs = load_rules(rules)
        settings, alert_settings = _settings(config_file)
        check_file_sinks(rs, file_sink_dir(alert_settings, settings.data_dir))
        for r in rs.rules:
            sinks = ",".join(rs.sinks_of(r)) or "-"
            state = "" if r.enabled else " (disabled)"
            typer.echo(f"{r.id}{state}: {r.effective_stream}, cooldown {r.cooldown_s:g} s, "
                       f"sinks {sinks}")  # fmt: skip
            typer.echo(f"  {compile_condition(r.match, rs).describe()}")
        typer.echo(f"{len(rs.rules)} rule(s), {len(rs.sinks)} sink(s), "
                   f"{len(rs.geofences)} geofence(s): OK")  # fmt: skip

    @alerts.command("test")
    def test(
        rules: Path = typer.Argument(..., help="Rules file (TOML, YAML or JSON)."),
        replay: Path | None = typer.Option(
            None, "--replay", help="Recording to decode (Beast, AVR, CSV or JSON lines)."
        ),
        events: Path | None = typer.Option(
            None, "--events", help="Events file (JSON lines, JSON, CSV or Parquet)."
        ),
        fmt: str = typer.Option("auto", "--format", "-f", help="Format of the recording."),
        as_json: bool = typer.Option(False, "--json", help="One JSON alert per line."),
        aircraft_db: Path | None = typer.Option(
            None, "--aircraft-db", help="Aircraft database for identities (tar1090 CSV, ...)."
        ),
        annotations: Path | None = typer.Option(
            None, "--annotations", help="Local annotations (CSV or TOML)."
        ),
        enqueue: bool = typer.Option(
            False, "--enqueue", help="Also queue the alerts for delivery (see `alerts deliver`)."
        ),
        config_file: Path | None = config_opt,
    ) -> None:
        """Dry-run rules on a recording and/or a file of events: print what would fire."""
        from tailwatch.alert.delivery import Dispatcher
        from tailwatch.alert.engine import AlertEngine
        from tailwatch.alert.model import Alert
        from tailwatch.alert.replay import read_events_file, replay_frames
        from tailwatch.alert.rules import load_rules
        from tailwatch.cli.inputs import check_inputs
        from tailwatch.cli.main import err, fail

        if replay is None and events is None:
            fail("give --replay FILE and/or --events FILE", 2)
        check_inputs([f for f in (replay, events) if f is not None])
        rs = load_rules(rules)
        settings, alert_settings = _settings(config_file)
        engine = AlertEngine(rs, identify=_resolver(aircraft_db, annotations, settings))
        fired: list[Alert] = []

        def show(a: Alert) -> None:
            if as_json:
                typer.echo(a.to_json())
            else:
                typer.echo(f"{a.time_iso}  {a.rule_id}  {a.icao24}  {a.title()}  [{a.id}]")

        notes: list[str] = []
        counts: Counter[str] = Counter()
        if events is not None:
            cols = read_events_file(events)
            counts["events"] += len(cols["t"])
            for a in engine.evaluate_events(cols):
                show(a)
                fired.append(a)
        if replay is not None:
            res = replay_frames(replay, engine, fmt=fmt, on_alert=show)
            fired.extend(res.alerts)
            counts["frames"] += res.frames
            counts["positions"] += res.positions
            counts["detected events"] += res.events
            notes.extend(res.notes)
            if res.detector:
                notes.append(f"events detected by {res.detector}")
        by_rule = Counter(a.rule_id for a in fired)
        err.print(", ".join(f"{k}: {v:,}" for k, v in counts.items()) + f"; {len(fired)} "
                  "alert(s)" + (": " + ", ".join(f"{k} {v}" for k, v in sorted(by_rule.items()))
                                if by_rule else ""))  # fmt: skip
        for n in notes:
            err.print(f"note: {n}")
        if enqueue and fired:
            d = Dispatcher.from_rules(rs, alert_settings, settings.data_dir)
            try:
                new = d.submit(fired)
            finally:
                d.outbox.close()
            err.print(f"queued {len(new)} new alert(s) in {d.outbox.path}")

    @alerts.command("deliver")
    def deliver(
        rules: Path = typer.Argument(..., help="Rules file naming the sinks."),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory."),
        until_idle: bool = typer.Option(
            False, "--until-idle", help="Stop when nothing is pending (else run until stopped)."
        ),
        max_seconds: float | None = typer.Option(None, "--max-seconds", help="Stop after this."),
        allow_private: bool = typer.Option(
            False, "--allow-private-webhooks",
            help="Allow targets on loopback/private/link-local addresses (SSRF guard off).",
        ),
        config_file: Path | None = config_opt,
    ) -> None:
        """Send the queued alerts to their sinks, retrying failures with backoff."""
        from tailwatch.alert.delivery import Dispatcher
        from tailwatch.alert.rules import load_rules
        from tailwatch.cli.main import err

        rs = load_rules(rules)
        settings, alert_settings = _settings(config_file)
        if allow_private:
            alert_settings = alert_settings.model_copy(update={"allow_private_webhooks": True})
        d = Dispatcher.from_rules(rs, alert_settings, data_dir or settings.data_dir)
        try:
            total = d.run(until_idle=until_idle, max_s=max_seconds)
        except KeyboardInterrupt:
            total = d.stats
        finally:
            counts = d.outbox.counts()
            d.outbox.close()
        err.print("this run: " + (", ".join(f"{k} {v}" for k, v in sorted(total.items()))
                                  or "nothing due") + "; outbox: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))  # fmt: skip

    @alerts.command("list")
    def list_alerts(
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Data directory."),
        rule: str | None = typer.Option(None, "--rule", help="Only this rule's alerts."),
        limit: int = typer.Option(50, "--limit", help="How many (newest first)."),
        as_json: bool = typer.Option(False, "--json", help="JSON lines with evidence."),
        config_file: Path | None = config_opt,
    ) -> None:
        """List stored alerts and their delivery status."""
        from tailwatch.alert.delivery import outbox_path
        from tailwatch.alert.outbox import Outbox

        settings, alert_settings = _settings(config_file)
        path = outbox_path(alert_settings, data_dir or settings.data_dir)
        if not path.exists():
            typer.echo(f"no alerts yet ({path})")
            return
        with Outbox(path) as ob:
            for a in ob.alerts(rule_id=rule, limit=limit):
                dl = ob.deliveries(a.id)
                if as_json:
                    typer.echo(json.dumps({**a.to_dict(), "deliveries": dl}, sort_keys=True))
                else:
                    status = ", ".join(f"{x['sink']} {x['status']}" for x in dl) or "no sinks"
                    typer.echo(f"{a.time_iso}  {a.rule_id}  {a.title()}  [{status}]")

