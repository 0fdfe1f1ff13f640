"""The websocket live feed ``/api/live`` (a snapshot on connect, then diffs)."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from tailwatch.serve.context import ServeContext
from tailwatch.serve.live import snapshot_payload
from tailwatch.serve.security import token_ok

__all__ = ["router"]

router = APIRouter()

@router.websocket("/api/live")
async def live(ws: WebSocket) -> None:
    """A snapshot on connect, then the changed aircraft after each publish. Token (for
    PIA/LADD when hidden) in ``Authorization`` or ``?token=``; ``?compress=gzip`` for
    gzip-compressed binary frames instead of JSON text frames."""
    ctx: ServeContext = ws.app.state.tw
    auth = ws.headers.get("authorization")
    token = ws.query_params.get("token")
    allow = ctx.allow_hidden(auth) or (
        bool(token) and token_ok(ctx.settings.token, f"Bearer {token}"))
    encoding = {"": "json", "gzip": "gzip"}.get(ws.query_params.get("compress", ""))
    if encoding is None:
        await ws.close(code=1008, reason="compress: only gzip")
        return
    # the first message (the whole snapshot) is built once per snapshot and class; build
    # it off the event loop, so that the first client after a publish blocks no one
    await run_in_threadpool(snapshot_payload, ctx.state.view(), allow, encoding)
    added = ctx.hub.add(allow, encoding)
    if added is None:
        await ws.close(code=1013)
        return
    client, first = added
    await ws.accept()
    receiver = asyncio.create_task(_drain(ws))
    try:
        await _send(ws, first)
        while True:
            getter = asyncio.create_task(client.queue.get())
            done, _ = await asyncio.wait({getter, receiver},
                                         return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                break
            msg = getter.result()
            if msg is None:  # dropped: too slow
                await ws.close(code=1013, reason="too slow: dropped")
                break
            await _send(ws, msg)
            client.sent += 1
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        receiver.cancel()
        ctx.hub.remove(client)



async def _send(ws: WebSocket, payload: str | bytes) -> None:
    """One message: the same object for every client of a class (text or binary frame)."""
    if isinstance(payload, str):
        await ws.send_text(payload)
    else:
        await ws.send_bytes(payload)


async def _drain(ws: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            msg = await ws.receive()
            if msg.get("type") == "websocket.disconnect":
                return

