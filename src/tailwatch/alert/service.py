"""The rules of a running session, editable while it runs (the HTTP API's rules routes).

:class:`RuleService` owns the current ruleset: it loads it from the rules file, lists and
edits it, validates changes with the messages of :func:`~tailwatch.alert.rules.load_rules`,
writes every accepted change back to the file atomically (so it survives a restart) and
hands it to the :class:`~tailwatch.alert.engine.AlertEngine` evaluating the stream, as one
swap (:meth:`AlertEngine.set_rules`): a batch being evaluated on the pipeline thread ends
with the old rules, the next one sees all the new ones. Rules whose condition did not
change keep their cool-down and geofence state.

An edit is made in this order: validate, compile, write the file, swap. If any step fails,
nothing changed. Edits are serialised by a lock. A file changed on disk by someone else is
re-read before the next edit (and by :meth:`maybe_refresh`, which the live session calls),
so a hand edit is not overwritten by a stale copy.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from tailwatch.alert.rules import (
    AppriseSinkConfig,
    Rule,
    RuleSet,
    SinkConfig,
    WebhookSinkConfig,
    _format_errors,
    load_rules,
    rules_from_data,
)
from tailwatch.alert.rules_out import dump_rules, file_format, write_atomic
from tailwatch.core.errors import ConfigError

__all__ = ["REDACTED", "RuleService", "RulesFileChangedError", "redact_sink"]

log = logging.getLogger("tailwatch.alert")

REDACTED = "***"


class RulesFileChangedError(ConfigError):
    """The rules file was changed on disk by someone else and no longer validates: edits
    through the service are refused until it is fixed."""


def _redact_url(url: str) -> str:
    """Scheme, host and port only: paths and queries of hooks often hold the token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    rest = "" if parts.path in ("", "/") and not parts.query else "/" + REDACTED
    return f"{parts.scheme}://{host}{rest}"


def redact_sink(cfg: SinkConfig) -> dict[str, Any]:
    """A sink's configuration without its secrets (webhook secret, headers' values and the
    URL's path and query; an Apprise URL), for API answers."""
    d: dict[str, Any] = cfg.model_dump(mode="json", exclude_none=True)
    if isinstance(cfg, WebhookSinkConfig):
        d["url"] = _redact_url(cfg.url)
        if cfg.secret is not None:
            d["secret"] = REDACTED
        d["headers"] = {k: REDACTED for k in cfg.headers}
    elif isinstance(cfg, AppriseSinkConfig) and cfg.url is not None:
        d["url"] = REDACTED
    return d


def _rule_json(rule: Rule) -> dict[str, Any]:
    d: dict[str, Any] = rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    return d


def _invalid(where: str, e: ValidationError, data: Any = None) -> ConfigError:
    return ConfigError(f"{where}: invalid rules:\n{_format_errors(e, data)}")


class RuleService:
    """See the module docstring. ``engine`` (an AlertEngine) and ``dispatcher`` (a
    Dispatcher: its ruleset decides which sinks a new alert is queued for) follow every
    change; ``outbox`` (an Outbox, or the path of its file, opened once it exists) is
    where :meth:`alerts` reads the alerts that fired."""

    def __init__(
        self,
        path: str | Path,
        ruleset: RuleSet | None = None,
        *,
        engine: Any = None,
        dispatcher: Any = None,
        outbox: Any = None,
        file_sink_dir: str | Path | None = None,
    ) -> None:
        self.path = Path(path)
        self.file_sink_dir = file_sink_dir  # None: the settings' (checked at each change)
        self.engine = engine
        self.dispatcher = dispatcher
        self._outbox = outbox
        self._own_outbox = False
        self._lock = threading.RLock()
        self._sig = self._disk_signature()
        self._rs = ruleset if ruleset is not None else self._read()
        self._bad_sig: tuple[int, int, int] | None = None
        self._checked_at = time.monotonic()
        self._saved_original = False
        self.changes = 0

    @classmethod
    def open(cls, path: str | Path, *, missing_ok: bool = False, **kw: Any) -> RuleService:
        """The service of a rules file (TOML, YAML or JSON; an absent file is an empty
        ruleset when ``missing_ok``, created at the first change)."""
        p = Path(path)
        if not p.exists():
            if not missing_ok:
                raise ConfigError(f"cannot read rules {p}: no such file")
            return cls(p, RuleSet(), **kw)
        return cls(p, **kw)

    # ------------------------------------------------------------------ reading

    @property
    def ruleset(self) -> RuleSet:
        return self._rs

    @property
    def live(self) -> bool:
        """Whether an engine evaluates these rules in this process."""
        return self.engine is not None

    def _current(self) -> RuleSet:
        """The ruleset, re-read first if the file changed on disk (kept as it was when the
        new file is invalid: edits then answer the problem)."""
        with contextlib.suppress(RulesFileChangedError):
            self.refresh()
        return self._rs

    def rules(self) -> list[Rule]:
        return list(self._current().rules)

    def rule(self, rule_id: str) -> Rule:
        """The rule ``rule_id`` (KeyError when there is none)."""
        return self._current().rule(rule_id)

    def public_rule(self, rule_id: str) -> dict[str, Any]:
        return _rule_json(self.rule(rule_id))

    def public_document(self) -> dict[str, Any]:
        """The ruleset as the API shows it: sinks without their secrets."""
        rs = self._current()
        return {
            "path": str(self.path),
            "live": self.live,
            "rules": [_rule_json(r) for r in rs.rules],
            "geofences": {k: g.model_dump(mode="json", exclude_none=True)
                          for k, g in rs.geofences.items()},
            "sinks": {k: redact_sink(s) for k, s in rs.sinks.items()},
        }  # fmt: skip

    # ------------------------------------------------------------------ validating

    def _rule_from(self, rule_id: str, data: Any) -> Rule:
        where = f"rule {rule_id}"
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: a rule is a JSON object (id, match, cooldown, ...)")
        body_id = data.get("id")
        if body_id is not None and body_id != rule_id:
            raise ConfigError(f"{where}: the body's id {body_id!r} differs from the one in "
                              "the path")
        try:
            return Rule.model_validate({**data, "id": rule_id})
        except ValidationError as e:
            raise _invalid(where, e) from e

    def _with_rule(self, rs: RuleSet, rule: Rule) -> RuleSet:
        rules = list(rs.rules)
        for i, r in enumerate(rules):
            if r.id == rule.id:
                rules[i] = rule
                break
        else:
            rules.append(rule)
        return self._document(rs, rules, f"rule {rule.id}")

    @staticmethod
    def _document(rs: RuleSet, rules: list[Rule], where: str) -> RuleSet:
        try:
            return RuleSet(version=rs.version, geofences=rs.geofences, sinks=rs.sinks,
                           rules=rules)  # fmt: skip
        except ValidationError as e:
            raise _invalid(where, e) from e

    def _merged(self, data: Any) -> RuleSet:
        """A whole document; the sections it leaves out (geofences, sinks) are kept."""
        if isinstance(data, list):
            data = {"rules": data}
        if not isinstance(data, Mapping):
            raise ConfigError("<request>: a rules document is a JSON object with 'rules'")
        current = self._rs
        merged = dict(data)
        if "geofences" not in merged:
            merged["geofences"] = {k: g.model_dump(mode="json", exclude_none=True)
                                   for k, g in current.geofences.items()}  # fmt: skip
        if "sinks" not in merged:
            merged["sinks"] = {k: s.model_dump(mode="json", exclude_none=True)
                               for k, s in current.sinks.items()}  # fmt: skip
        return rules_from_data(merged, "<request>")

    def _compile(self, rs: RuleSet) -> Any:
        """What the engine will evaluate (also catches what only compiling finds); file
        sinks must write inside the file sink directory."""
        from tailwatch.alert.sinks import check_file_sinks, default_file_sink_dir

        check_file_sinks(rs, self.file_sink_dir if self.file_sink_dir is not None
                         else default_file_sink_dir())
        try:
            if self.engine is not None:
                return self.engine.compile(rs)
            from tailwatch.alert.conditions import compile_condition

            for r in rs.enabled_rules():
                compile_condition(r.match, rs)
        except (ValueError, KeyError, TypeError) as e:
            raise ConfigError(f"rules: cannot compile: {e}") from e
        return None

    def validate(self, data: Any) -> RuleSet:
        """The ruleset ``data`` would give, without applying it: one rule (an object with
        ``match``: added, or replacing the rule of the same id) or a whole document (with
        ``rules``, ``geofences`` or ``sinks``). Raises ConfigError with every problem."""
        with self._lock:
            self._refresh_locked()
            if isinstance(data, Mapping) and "match" in data and "rules" not in data:
                rid = data.get("id")
                if not isinstance(rid, str):
                    raise ConfigError("rule: give its id (a string)")
                rs = self._with_rule(self._rs, self._rule_from(rid, data))
            else:
                rs = self._merged(data)
            self._compile(rs)
            return rs

    # ------------------------------------------------------------------ editing

    def put(self, rule_id: str, data: Any) -> tuple[Rule, bool]:
        """Add the rule ``rule_id`` or replace it; returns it and whether it is new."""
        with self._lock:
            self._refresh_locked()
            rule = self._rule_from(rule_id, data)
            created = all(r.id != rule_id for r in self._rs.rules)
            self._apply(self._with_rule(self._rs, rule))
            return rule, created

    def delete(self, rule_id: str) -> Rule:
        """Remove the rule ``rule_id`` (KeyError when there is none)."""
        with self._lock:
            self._refresh_locked()
            gone = self._rs.rule(rule_id)
            rules = [r for r in self._rs.rules if r.id != rule_id]
            self._apply(self._document(self._rs, rules, f"rule {rule_id}"))
            return gone

    def replace(self, data: Any) -> RuleSet:
        """Replace the whole document (see :meth:`validate`)."""
        with self._lock:
            self._refresh_locked()
            rs = self._merged(data)
            self._apply(rs)
            return rs

    def _apply(self, rs: RuleSet) -> None:
        compiled = self._compile(rs)
        self._save(rs)
        if self.engine is not None:
            self.engine.set_rules(rs, compiled)
        if self.dispatcher is not None:
            self.dispatcher.ruleset = rs
        self._rs = rs
        self.changes += 1
        log.info("rules changed: %d rule(s) now (%s)", len(rs.rules), self.path)

    def _save(self, rs: RuleSet) -> None:
        if not self._saved_original and self.path.exists():
            backup = self.path.with_name(self.path.name + ".orig")
            if not backup.exists():  # the hand-written file, with its comments, once
                shutil.copy2(self.path, backup)
            self._saved_original = True
        write_atomic(self.path, dump_rules(rs, file_format(self.path)))
        self._sig = self._disk_signature()

    # ------------------------------------------------------------------ the file on disk

    def _disk_signature(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _read(self) -> RuleSet:
        return load_rules(self.path)

    def _refresh_locked(self) -> bool:
        sig = self._disk_signature()
        if sig == self._sig or sig is None:
            return False
        try:
            rs = self._read()
            compiled = self._compile(rs)
        except ConfigError as e:
            raise RulesFileChangedError(f"the rules file changed on disk and is invalid; fix it "
                                   f"first:\n{e}") from e
        if self.engine is not None:
            self.engine.set_rules(rs, compiled)
        if self.dispatcher is not None:
            self.dispatcher.ruleset = rs
        self._rs, self._sig = rs, sig
        log.info("rules re-read from %s: %d rule(s)", self.path, len(rs.rules))
        return True

    def refresh(self) -> bool:
        """Re-read the file if it changed on disk; True when it did. Raises
        :class:`RulesFileChangedError` when the new file is invalid (the rules stay as they
        were)."""
        with self._lock:
            return self._refresh_locked()

    def maybe_refresh(self, every_s: float = 2.0) -> None:
        """:meth:`refresh` at most every ``every_s`` seconds, logging (once per version
        of the file) instead of raising; for the pipeline thread."""
        now = time.monotonic()
        if now - self._checked_at < every_s:
            return
        self._checked_at = now
        if not self._lock.acquire(blocking=False):
            return  # an edit is under way: it re-reads the file itself
        try:
            self._refresh_locked()
        except RulesFileChangedError as e:
            sig = self._disk_signature()
            if sig != self._bad_sig:
                self._bad_sig = sig
                log.error("%s", e)
        finally:
            self._lock.release()

    # ------------------------------------------------------------------ fired alerts

    def _get_outbox(self) -> Any:
        if self._outbox is None and self.dispatcher is not None:
            self._outbox = self.dispatcher.outbox
        if isinstance(self._outbox, str | Path):
            if not Path(self._outbox).exists():
                return None
            from tailwatch.alert.outbox import Outbox

            self._outbox = Outbox(self._outbox)
            self._own_outbox = True
        return self._outbox

    def alerts(
        self, *, limit: int = 100, since: float | None = None, rule_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Stored alerts, newest first, each with its evidence and its deliveries."""
        ob = self._get_outbox()
        if ob is None:
            return []
        out = []
        for a in ob.alerts(since=since, rule_id=rule_id, limit=limit):
            d = a.to_dict()
            d["deliveries"] = ob.deliveries(a.id)
            out.append(d)
        return out

    def close(self) -> None:
        if self._own_outbox and self._outbox is not None:
            self._outbox.close()
            self._outbox = None
            self._own_outbox = False
