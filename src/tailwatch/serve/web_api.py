"""The web map at ``/`` (static files shipped in the package) and the API reference at
``/docs`` (rendered from ``/openapi.json``, offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from tailwatch.serve.context import json_response, raw

__all__ = ["STATIC_DIR", "mount_static", "web_router"]

STATIC_DIR = Path(__file__).parent / "static"


def web_router(static: Path = STATIC_DIR) -> APIRouter:
    """``/``, ``/docs`` and ``/static/`` serving ``static``."""
    router = APIRouter()
    index = static / "index.html"
    reference: list[bytes] = []

    @router.get("/docs", include_in_schema=False)
    async def api_reference(request: Request) -> Response:
        """The API reference, rendered from /openapi.json (offline, no script)."""
        if not reference:
            from tailwatch.serve.apidocs import render_api_reference

            reference.append(render_api_reference(request.app.openapi()).encode())
        return raw(reference[0], media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})

    @router.get("/", include_in_schema=False)
    async def root() -> Response:
        if not index.is_file():
            return json_response({"error": "the web map is not built (python -m "
                          "tailwatch.serve.build_web)"}, 404)
        return FileResponse(index, media_type="text/html",
                            headers={"Cache-Control": "no-cache"})

    return router


def mount_static(app: FastAPI, static: Path = STATIC_DIR) -> None:
    """``/static/``: the map's files (a mount is not carried by ``include_router``)."""
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
