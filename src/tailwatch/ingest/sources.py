"""Sources: one asyncio task (or listener) per source URL, all feeding one bounded queue.

:class:`Feed` opens every source of a run (see :mod:`tailwatch.ingest.urls` for the URL
syntax), gives each a receiver id, and hands what they produce — frames or state vectors — to
the consumer through :meth:`Feed.collect`, in batches. Network behaviour (back-off, timeouts,
limits, garbage) is :mod:`tailwatch.ingest.net`'s; this module adds HTTP polling and file
replay:

* **Polling** (readsb JSON, OpenSky, ADSBx v2): one request per period (never below the
  API's minimum, see :mod:`tailwatch.ingest.urls` and :mod:`tailwatch.ingest.opensky`); a
  failed request is retried after a back-off starting at the period (at least 1 s) and
  doubling up to 5 min; HTTP 429 waits what the server says (``Retry-After`` or
  ``X-Rate-Limit-Retry-After-Seconds``). Positions already delivered by an earlier poll are
  dropped (``repeated_position``), and rows without a position (Mode S only aircraft, or the
  other fields of an aircraft whose position is older) whose time did not advance
  (``repeated_state``): :class:`~tailwatch.ingest.positions.SeenPositions`. The counter
  ``positions`` counts the rows with a position handed on. Requests run in a worker
  thread (``urllib``), with a timeout (20 s) and a size cap (64 MiB). An aggregator API key
  (``FeedOptions.aggregator_api_key``) is sent in the header
  ``aggregator_api_key_header`` (default ``api-auth``, ADS-B Exchange's) to the hosts of
  ``aggregator_api_key_hosts`` only (default ``adsbexchange.com`` and its subdomains).
* Polled answers and SBS lines become :class:`~tailwatch.track.states.StateBatch` rows
  (source label and receiver id on every row) for the tracker.
* **Files** (``file:///…?speed=``): replayed at ``speed`` times real time (``max``: as fast as
  the pipeline takes them, the bounded queue pacing the reader), then the source ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import logging
import math
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tailwatch import __version__
from tailwatch.core.errors import ConfigError, FormatError, TailwatchError
from tailwatch.core.frames import FrameBatch
from tailwatch.core.rejects import Rejects
from tailwatch.ingest.net import (
    AvrFramer,
    Backoff,
    BeastFramer,
    Chunk,
    Framer,
    Listener,
    NetOptions,
    Outlet,
    Receivers,
    SbsFramer,
    SourceCounters,
    run_tcp_client,
    start_listener,
)
from tailwatch.ingest.opensky import OpenSkyAuth, min_interval_s, parse_states
from tailwatch.ingest.positions import SeenPositions
from tailwatch.ingest.readsb_json import parse_aircraft_json
from tailwatch.ingest.replay import FileProgress, Pacer, data_times, file_batches, split_by_time
from tailwatch.ingest.urls import API_POLICIES, SourceSpec
from tailwatch.track.states import StateBatch, make_states

__all__ = ["Collected", "Feed", "FeedOptions", "HttpResponse", "aggregator_headers",
           "http_request"]

log = logging.getLogger("tailwatch.ingest")
USER_AGENT = f"tailwatch/{__version__} (self-hosted flight tracker)"
_LABELS = {"readsb": "json", "opensky": "opensky", "adsbx": "aggregator"}


@dataclass(frozen=True, slots=True)
class FeedOptions:
    queue_chunks: int = 64
    batch_interval_s: float = 0.25
    max_batch_frames: int = 200_000
    net: NetOptions = field(default_factory=NetOptions)
    opensky_client_id: str = ""
    opensky_client_secret: str = ""
    max_poll_backoff_s: float = 300.0
    aggregator_api_key: str = ""
    aggregator_api_key_header: str = "api-auth"
    aggregator_api_key_hosts: tuple[str, ...] = ("adsbexchange.com",)


_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def aggregator_headers(host: str, api_key: str, header: str = "api-auth",
                       hosts: tuple[str, ...] = ("adsbexchange.com",)) -> dict[str, str]:
    """The API-key header for an ADSBx-v2-style aggregator ``host``: ``{header: api_key}``
    when a key is set and ``host`` is one of ``hosts`` (or a subdomain of one), else ``{}``:
    a key is never sent to another API. Raises :class:`ConfigError` for a header name or key
    that cannot go into an HTTP header."""
    if not api_key:
        return {}
    if not _HEADER_NAME.match(header):
        raise ConfigError(f"not an HTTP header name: {header!r}")
    if any(c in api_key for c in "\r\n\0"):
        raise ConfigError("the aggregator API key contains a line break")
    h = host.lower().rstrip(".")
    if not any(h == x.lower() or h.endswith("." + x.lower()) for x in hosts):
        return {}
    return {header: api_key}


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int  # 0: no answer (network error, timeout)
    headers: dict[str, str]
    body: bytes
    error: str = ""


def _http_sync(url: str, headers: dict[str, str], timeout: float, max_bytes: int,
               data: bytes | None) -> HttpResponse:
    req = urllib.request.Request(
        url, data=data,
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip", **headers},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            body = r.read(max_bytes + 1)
            status = int(r.status)
            hdrs = {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        body = e.read(min(max_bytes, 1 << 16)) if e.fp is not None else b""
        return HttpResponse(int(e.code), {k.lower(): v for k, v in e.headers.items()}, body,
                            f"HTTP {e.code}")
    except (urllib.error.URLError, OSError, ValueError) as e:
        return HttpResponse(0, {}, b"", f"{type(e).__name__}: {e}")
    if len(body) > max_bytes:
        return HttpResponse(0, hdrs, b"", f"answer larger than {max_bytes} bytes")
    if hdrs.get("content-encoding", "") == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as e:
            return HttpResponse(0, hdrs, b"", f"bad gzip answer: {e}")
    return HttpResponse(status, hdrs, body)


async def http_request(url: str, *, headers: dict[str, str] | None = None,
                       timeout_s: float = 20.0, max_bytes: int = 64 << 20,
                       data: bytes | None = None) -> HttpResponse:
    """GET (or POST ``data``) in a worker thread; never raises for network errors."""
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"only http and https URLs can be polled: {url}")
    return await asyncio.to_thread(_http_sync, url, dict(headers or {}), timeout_s, max_bytes,
                                   data)


def _retry_after(resp: HttpResponse) -> float | None:
    for key in ("x-rate-limit-retry-after-seconds", "retry-after"):
        v = resp.headers.get(key)
        if v is not None:
            try:
                return max(0.0, float(v))
            except ValueError:
                continue
    return None


@dataclass
class Collected:
    """What :meth:`Feed.collect` returns: the frames of every source in arrival order, and
    the state-vector batches with their re-serving flag."""

    frames: FrameBatch | None
    states: list[tuple[StateBatch, bool]]
    chunks: int = 0


class Feed:
    """Every source of one run."""

    def __init__(self, specs: list[SourceSpec], *, receivers: Receivers | None = None,
                 options: FeedOptions | None = None) -> None:
        self.specs = list(specs)
        self.options = options or FeedOptions()
        self.receivers = receivers if receivers is not None else Receivers()
        self.counters: dict[str, SourceCounters] = {}
        self.uids: dict[str, int] = {}
        for s in self.specs:
            if s.name in self.counters:
                raise ConfigError(f"two sources are named {s.name!r}: give one of them "
                                  "?rx=another-name")
            self.counters[s.name] = SourceCounters(s.name, s.kind)
            self.uids[s.name] = self.receivers.add(s.name, s.id64, s.position)
        self.outlet = Outlet(self.options.queue_chunks)
        self.listeners: list[Listener] = []
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.progress = FileProgress()
        self.started = False

    # --- life cycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        net = self.options.net
        for s in self.specs:
            c = self.counters[s.name]
            if s.mode == "listen":
                self.listeners.append(await start_listener(
                    s.name, s.host, s.port, self._framer_factory(s), self.outlet, c, net))
            elif s.mode == "connect":
                self._spawn(s, run_tcp_client(s.name, s.host, s.port, self._framer_factory(s),
                                              self.outlet, c, net))
            elif s.mode == "poll":
                self._spawn(s, self._poll(s, c))
            else:
                self._spawn(s, self._replay(s, c))
        self.started = True

    def _spawn(self, s: SourceSpec, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=f"source {s.name}")
        task.add_done_callback(functools.partial(self._done, s.name))
        self.tasks[s.name] = task

    def _done(self, name: str, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            c = self.counters[name]
            c.last_error = f"{type(exc).__name__}: {exc}"
            c.closes["failed"] += 1
            log.error("%s: source failed: %s", name, c.last_error,
                      exc_info=not isinstance(exc, TailwatchError))

    def listener_port(self, name: str) -> int:
        for lst in self.listeners:
            if lst.name == name:
                return lst.port
        raise KeyError(name)

    @property
    def finished(self) -> bool:
        """True when every source has ended (only files end) and the queue is empty."""
        return (self.started and not self.listeners
                and all(t.done() for t in self.tasks.values())
                and self.outlet.queue.empty())

    async def stop(self) -> None:
        for t in self.tasks.values():
            t.cancel()
        for t in self.tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for lst in self.listeners:
            await lst.close()
        self.listeners = []

    # --- consuming ----------------------------------------------------------------------------
    async def collect(self, timeout_s: float | None = None) -> Collected:
        """Wait up to ``timeout_s`` (default: the batch interval) for chunks and gather what
        arrives in that time (up to ``max_batch_frames`` frames)."""
        q = self.outlet.queue
        interval = self.options.batch_interval_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + interval
        frames: list[FrameBatch] = []
        states: list[tuple[StateBatch, bool]] = []
        nframes = 0
        chunks = 0
        while nframes < self.options.max_batch_frames:
            left = deadline - time.monotonic()
            if q.empty():
                if left <= 0 or self.finished:
                    break
                try:
                    async with asyncio.timeout(left):
                        ch = await q.get()
                except TimeoutError:
                    break
            else:
                ch = q.get_nowait()
            chunks += 1
            if ch.frames is not None:
                frames.append(ch.frames)
                nframes += len(ch.frames)
            if ch.states is not None:
                states.append((ch.states, ch.redistribute))
        fb = FrameBatch.concat(frames) if frames else None
        return Collected(fb, states, chunks)

    def drain(self) -> Collected:
        """Everything still queued (after :meth:`stop`)."""
        frames: list[FrameBatch] = []
        states: list[tuple[StateBatch, bool]] = []
        n = 0
        while not self.outlet.queue.empty():
            ch = self.outlet.queue.get_nowait()
            n += 1
            if ch.frames is not None:
                frames.append(ch.frames)
            if ch.states is not None:
                states.append((ch.states, ch.redistribute))
        return Collected(FrameBatch.concat(frames) if frames else None, states, n)

    # --- sources ------------------------------------------------------------------------------
    def _framer_factory(self, s: SourceSpec) -> Callable[[], Framer]:
        c = self.counters[s.name]
        uid = self.uids[s.name]
        limit = self.options.net.garbage_limit
        if s.kind == "beast":
            return lambda: BeastFramer(s.name, uid, c, self.receivers, limit)
        if s.kind == "avr":
            return lambda: AvrFramer(s.name, uid, c, limit)
        if s.kind == "sbs":
            return lambda: SbsFramer(s.name, c, receiver=uid, feed_time=s.feed_time,
                                     redistribute=s.redistribute, garbage_limit=limit)
        raise ConfigError(f"{s.kind} is not a TCP source")

    async def _poll(self, s: SourceSpec, c: SourceCounters) -> None:
        net = self.options.net
        label = _LABELS[s.kind]
        uid = self.uids[s.name]
        seen = SeenPositions()
        headers: dict[str, str] = {}
        if s.kind == "adsbx":
            o = self.options
            headers = aggregator_headers(s.host, o.aggregator_api_key,
                                         o.aggregator_api_key_header, o.aggregator_api_key_hosts)
        interval = s.interval_s
        auth: OpenSkyAuth | None = None
        is_opensky_host = s.kind == "opensky" and any(
            p.host_suffix == "opensky-network.org" and (s.host == p.host_suffix or s.host.endswith(
                "." + p.host_suffix)) for p in API_POLICIES)
        if s.kind == "opensky":
            token_url = s.params.get("token_url")
            auth = OpenSkyAuth(self.options.opensky_client_id,
                               self.options.opensky_client_secret,
                               **({"token_url": token_url} if token_url else {}))
            if is_opensky_host:
                interval = max(interval, min_interval_s(s.http_url, auth.enabled))
        backoff = Backoff(max(interval, 1.0), max(self.options.max_poll_backoff_s, interval))
        log.info("%s: polling %s every %.1f s", s.name, s.http_url, interval)
        while True:
            t0 = time.monotonic()
            wait = interval
            if auth is not None and auth.needs_token():
                tok = await http_request(auth.token_url, data=auth.form(),
                                         headers={"Content-Type":
                                                  "application/x-www-form-urlencoded"},
                                         timeout_s=net.http_timeout_s, max_bytes=1 << 20)
                if tok.status == 200:
                    try:
                        auth.accept(tok.body)
                    except TailwatchError as e:
                        c.last_error = str(e)
                else:
                    c.closes[f"token_http_{tok.status}" if tok.status else "token_error"] += 1
                    c.last_error = f"OpenSky token: {tok.error or tok.status}"
                    log.warning("%s: %s", s.name, c.last_error)
            c.polls += 1
            resp = await http_request(s.http_url, headers=auth.headers() if auth else headers,
                                      timeout_s=net.http_timeout_s, max_bytes=net.http_max_bytes)
            if resp.status == 200:
                c.bytes += len(resp.body)
                try:
                    if s.kind == "opensky":
                        sb, rej, _ = parse_states(resp.body)
                    else:
                        sb, rej, _ = parse_aircraft_json(resp.body, source=label,
                                                         now=time.time())
                except FormatError as e:
                    c.rejects["bad_answer"] += 1
                    c.last_error = str(e)
                    wait = backoff.next()
                    log.warning("%s: unreadable answer (%s); next poll in %.0f s", s.name, e,
                                wait)
                else:
                    backoff.reset()
                    c.rejects.merge(rej)
                    cols = sb.columns
                    mask = seen.new_rows(cols["icao24"], cols["t"], cols["lat"], cols["lon"])
                    has_pos = sb.has_position()
                    c.rejects["repeated_position"] += int((~mask & has_pos).sum())
                    c.rejects["repeated_state"] += int((~mask & ~has_pos).sum())
                    if mask.any():
                        fresh = make_states(sb.take(mask).columns, receiver=uid)
                        c.positions += int(has_pos[mask].sum())
                        c.last_frame_time = time.time()
                        await self.outlet.put(Chunk(s.name, states=fresh,
                                                    redistribute=s.redistribute), c)
            elif resp.status == 429:
                c.closes["http_429"] += 1
                after = _retry_after(resp)
                wait = max(interval, after if after is not None else backoff.next())
                c.last_error = f"rate limited; waiting {wait:.0f} s"
                log.warning("%s: %s", s.name, c.last_error)
            else:
                c.closes[f"http_{resp.status}" if resp.status else "http_error"] += 1
                c.last_error = resp.error or f"HTTP {resp.status}"
                wait = backoff.next()
                if resp.status == 401 and auth is not None:
                    auth._expires = 0.0  # renew the token next time
                log.warning("%s: %s; next poll in %.0f s", s.name, c.last_error, wait)
            await asyncio.sleep(max(0.0, t0 + wait - time.monotonic()))

    async def _replay(self, s: SourceSpec, c: SourceCounters) -> None:
        pacer = Pacer(s.speed)
        anchor: list[float] = []
        uid = self.uids[s.name]
        before = self.progress.done
        it = file_batches(s.path, s.file_format, receivers=self.receivers, receiver=uid,
                          batch_size=16384, progress=self.progress)
        try:
            for fb in it:
                c.bytes = self.progress.done - before
                c.rejects.merge(fb.rejects)
                if len(fb) == 0:
                    if fb.rejects:
                        await self.outlet.put(Chunk(s.name, frames=fb), c)
                    continue
                t = data_times(fb, anchor)
                for part, t_last in split_by_time(fb, t, 0.1):
                    await pacer.async_wait(t_last)
                    c.frames += len(part)
                    c.last_frame_time = time.time()
                    await self.outlet.put(Chunk(s.name, frames=part), c)
        except OSError as e:
            raise ConfigError(f"{s.path}: {e.strerror or e}") from e
        c.bytes = self.progress.done - before
        c.closes["eof"] += 1
        log.info("%s: end of file (%d frames)", s.name, c.frames)

    def counters_dict(self) -> list[dict[str, Any]]:
        return [c.as_dict() for c in self.counters.values()]

    def rejects(self) -> Rejects:
        r = Rejects()
        for c in self.counters.values():
            r.merge(c.rejects)
        return r


def finite_or_none(x: float) -> float | None:
    return None if math.isnan(x) else x


_ = np  # numpy is used through the imported helpers' types
