"""Rules and alerts over HTTP: list, read, add, replace, delete and validate the alert
rules of the running session, and read the alerts that fired (docs/api.md, "Rules and
alerts").

Every route needs ``Authorization: Bearer <serve.token>``, reading too: rules name
webhooks, and the answers hold no secret anyway (sinks are shown redacted). Bodies are JSON
with the structure of the rules file (one rule: ``{"id", "match", "cooldown", ...}``, as one
``[[rules]]`` table of the TOML file). The work is done by the session's
:class:`tailwatch.alert.service.RuleService` (``LiveState.rules``); a server without one
answers 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from tailwatch.core.errors import ConfigError, StoreError
from tailwatch.serve.security import token_ok

__all__ = ["install_rules_routes"]

JSON = "application/json"
T = TypeVar("T")
_TAGS: list[str | Any] = ["rules and alerts"]
NO_RULES = ("this server has no rules: start it with --rules FILE (tailwatch run, replay "
            "or serve)")  # fmt: skip


def _json(obj: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type=JSON)  # fmt: skip


def _refusal(request: Request) -> Response | None:
    """403 when no token is configured, 401 without the right one, else None."""
    token = request.app.state.tw.settings.token
    if not token:
        return _json({"error": "rules are disabled: this server has no token configured "
                      "(serve.token)"}, 403)
    if not token_ok(token, request.headers.get("authorization")):
        r = _json({"error": "this needs 'Authorization: Bearer <token>'"}, 401)
        r.headers["www-authenticate"] = 'Bearer realm="tailwatch"'
        return r
    return None


def _service(request: Request) -> Any:
    return getattr(request.app.state.tw.state, "rules", None)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise ConfigError("<request>: the body is empty; send the rule as JSON")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ConfigError(f"<request>: the body is not JSON: {e}") from e


async def _call(request: Request, work: Callable[..., T], done: Callable[[T], Response],
                *, body: bool = False) -> Response:  # fmt: skip
    """Token, service, the JSON body (``body``), then ``work(service[, body])`` on a worker
    thread; its errors as 4xx."""
    refused = _refusal(request)
    if refused is not None:
        return refused
    svc = _service(request)
    if svc is None:
        return _json({"error": NO_RULES}, 404)
    args: tuple[Any, ...] = (svc,)
    if body:
        try:
            args = (svc, await _body(request))
        except ConfigError as e:
            return _json({"error": "bad request", "detail": str(e)}, 400)
    try:
        out = await run_in_threadpool(work, *args)
    except KeyError as e:
        return _json({"error": f"no rule {e.args[0]!r}" if e.args else "no such rule"}, 404)
    except ConfigError as e:
        from tailwatch.alert.service import RulesFileChangedError

        if isinstance(e, RulesFileChangedError):
            return _json({"error": "conflict", "detail": str(e)}, 409)
        return _json({"error": "invalid rules", "detail": str(e)}, 422)
    except StoreError as e:
        return _json({"error": "cannot save the rules", "detail": str(e)}, 503)
    return done(out)


def install_rules_routes(app: FastAPI) -> None:
    """Add the ``/api/rules`` and ``/api/alerts`` routes to ``app`` (a create_app app)."""

    @app.get("/api/rules", tags=_TAGS, summary="The rules document (token)")
    async def list_rules(request: Request) -> Response:
        """``{"path", "live", "rules": [...], "geofences": {...}, "sinks": {...}}``, sinks
        without their secrets; ``live``: an engine evaluates the rules in this process."""
        return await _call(request, lambda s: s.public_document(), _json)

    @app.put("/api/rules", tags=_TAGS, summary="Replace every rule (token)")
    async def replace_rules(request: Request) -> Response:
        """Body: a rules document ``{"rules": [...], "geofences"?, "sinks"?}`` (or a list of
        rules); a section left out keeps its current content."""
        return await _call(request, lambda s, data: s.replace(data),
                           lambda rs: _json({"status": "ok", "rules": len(rs.rules)}),
                           body=True)

    @app.post("/api/rules/validate", tags=_TAGS, summary="Check rules without applying them")
    async def validate_rules(request: Request) -> Response:
        """Body: one rule (with ``id`` and ``match``) or a rules document. 200
        ``{"valid": true, ...}``, else 422 with every problem."""
        return await _call(request, lambda s, data: s.validate(data),
                           lambda rs: _json({"valid": True, "rules": len(rs.rules)}),
                           body=True)

    @app.get("/api/rules/{rule_id}", tags=_TAGS, summary="One rule (token)")
    async def get_rule(request: Request, rule_id: str) -> Response:
        return await _call(request, lambda s: s.public_rule(rule_id), _json)

    @app.put("/api/rules/{rule_id}", tags=_TAGS, summary="Add or replace one rule (token)")
    async def put_rule(request: Request, rule_id: str) -> Response:
        """Body: the rule as in the rules file (``id`` optional, else equal to the path's).
        201 when it is new, 200 when it replaced one; 422 with the problem otherwise."""
        def done(out: tuple[Any, bool]) -> Response:
            rule, created = out
            return _json({"status": "created" if created else "replaced",
                          "rule": rule.model_dump(mode="json", by_alias=True,
                                                  exclude_none=True)},
                         201 if created else 200)  # fmt: skip

        return await _call(request, lambda s, data: s.put(rule_id, data), done, body=True)

    @app.delete("/api/rules/{rule_id}", tags=_TAGS, summary="Delete one rule (token)")
    async def delete_rule(request: Request, rule_id: str) -> Response:
        return await _call(request, lambda s: s.delete(rule_id),
                           lambda r: _json({"status": "deleted", "id": r.id}))

    @app.get("/api/alerts", tags=_TAGS, summary="Alerts that fired, newest first (token)")
    async def alerts(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        since: Annotated[str | None, Query(description="UNIX seconds or ISO 8601")] = None,
        rule: Annotated[str | None, Query(max_length=64)] = None,
    ) -> Response:
        """``{"alerts": [...]}``: each alert with its evidence and its deliveries (sink,
        status, attempts, last error), from the session's outbox."""
        from tailwatch.serve.context import parse_time

        return await _call(
            request,
            lambda s: s.alerts(limit=limit, since=parse_time(since, "since"), rule_id=rule),
            lambda rows: _json({"alerts": rows}),
        )
