"""The API reference page (``/docs``), rendered on the server from the OpenAPI document.

FastAPI's own pages load Swagger UI / ReDoc from a CDN, which an offline installation cannot
reach and the content security policy (``script-src 'self'``) would refuse anyway. This page
needs neither: plain HTML, one stylesheet shipped in the package, no script. Each endpoint is
listed under its tag with its method, path, summary, description and parameters.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["render_api_reference"]

_CODE = re.compile(r"``?([^`]+)``?")
_METHODS = ("get", "post", "put", "patch", "delete")


def _text(s: str) -> str:
    """Escaped text with ``code`` spans."""
    return _CODE.sub(r"<code>\1</code>", html.escape(s, quote=False))


def _schema_type(schema: Mapping[str, Any]) -> str:
    if "anyOf" in schema:
        kinds = [_schema_type(s) for s in schema["anyOf"]]
        return " | ".join(k for k in kinds if k != "null") + (
            " (optional)" if "null" in kinds else "")
    kind = str(schema.get("type", "any"))
    if kind == "array":
        return f"array of {_schema_type(schema.get('items', {}))}"
    bounds = [f"{op} {schema[key]}" for key, op in (("minimum", "≥"), ("maximum", "≤"))
              if key in schema]
    return kind + (f" ({', '.join(bounds)})" if bounds else "")


def _parameters(params: list[Mapping[str, Any]]) -> str:
    if not params:
        return ""
    rows = []
    for p in params:
        schema = p.get("schema", {})
        default = schema.get("default")
        rows.append(
            "<tr>"
            f"<td><code>{html.escape(str(p.get('name', '')))}</code></td>"
            f"<td>{html.escape(str(p.get('in', '')))}</td>"
            f"<td>{'yes' if p.get('required') else ''}</td>"
            f"<td>{html.escape(_schema_type(schema))}</td>"
            f"<td>{'' if default is None else '<code>' + html.escape(str(default)) + '</code>'}"
            "</td>"
            f"<td>{_text(str(p.get('description') or schema.get('description') or ''))}</td>"
            "</tr>")
    return ("<table><thead><tr><th>parameter</th><th>in</th><th>required</th><th>type</th>"
            "<th>default</th><th>meaning</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table>")


def _operation(method: str, path: str, op: Mapping[str, Any]) -> str:
    anchor = re.sub(r"[^A-Za-z0-9]+", "-", f"{method}{path}").strip("-")
    desc = str(op.get("description") or "")
    paragraphs = "".join(f"<p>{_text(par.strip())}</p>" for par in desc.split("\n\n")
                         if par.strip())
    return (f'<section class="op" id="{anchor}"><h3><span class="method {method}">'
            f"{method.upper()}</span> <code>{html.escape(path)}</code></h3>"
            f'<p class="summary">{_text(str(op.get("summary") or ""))}</p>{paragraphs}'
            f"{_parameters(list(op.get('parameters', [])))}</section>")


def render_api_reference(spec: Mapping[str, Any], stylesheet: str = "/static/apidocs.css",
                         ) -> str:
    """The reference page of an OpenAPI 3 document (``app.openapi()``)."""
    info = spec.get("info", {})
    groups: dict[str, list[str]] = {}
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            tag = str((op.get("tags") or ["other"])[0])
            groups.setdefault(tag, []).append(_operation(method, path, op))
    toc = "".join(f'<li><a href="#tag-{i}">{html.escape(t)}</a> ({len(ops)})</li>'
                  for i, (t, ops) in enumerate(groups.items()))
    body = "".join(f'<h2 id="tag-{i}">{html.escape(t)}</h2>' + "".join(ops)
                   for i, (t, ops) in enumerate(groups.items()))
    title = html.escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title} — API reference</title>"
        f'<link rel="stylesheet" href="{html.escape(stylesheet)}"></head><body>'
        f"<header><h1>{title} — API reference</h1>"
        f"<p>{_text(str(info.get('description', '')))}</p>"
        '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3). '
        'The live feed is the websocket <code>/api/live</code>.</p>'
        f"<nav><ul>{toc}</ul></nav></header><main>{body}</main></body></html>"
    )
