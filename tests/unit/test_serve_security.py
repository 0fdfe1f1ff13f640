"""Security policy of the server: read-only without a token, writes need the token, CORS
allow-list, size and rate limits, security headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tailwatch.config import ServeSettings
from tailwatch.serve import Limits, LiveState, create_app
from tailwatch.serve.security import token_ok

RELOAD = "/api/admin/identity/reload"


def _client(**kw: object) -> TestClient:
    limits = kw.pop("limits", None)
    return TestClient(create_app(LiveState(), ServeSettings(**kw),  # type: ignore[arg-type]
                                 limits=limits))  # type: ignore[arg-type]


def test_default_settings_bind_loopback_and_have_no_token() -> None:
    s = ServeSettings()
    assert s.host == "127.0.0.1" and s.token == "" and not s.show_pia_ladd


def test_writes_refused_without_a_configured_token() -> None:
    with _client() as c:
        r = c.post(RELOAD)
        assert r.status_code == 403 and "no token" in r.json()["error"]
        r = c.post(RELOAD, headers={"Authorization": "Bearer anything"})
        assert r.status_code == 403
        for method in ("put", "patch", "delete"):
            assert getattr(c, method)("/api/stats").status_code == 403


def test_writes_need_the_right_token() -> None:
    with _client(token="tok-123") as c:
        r = c.post(RELOAD)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
        assert c.post(RELOAD, headers={"Authorization": "Bearer tok-12"}).status_code == 401
        assert c.post(RELOAD, headers={"Authorization": "Basic tok-123"}).status_code == 401
        r = c.post(RELOAD, headers={"Authorization": "Bearer tok-123"})
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        # reading never needs it
        assert c.get("/api/stats").status_code == 200


def test_token_compare() -> None:
    assert token_ok("abc", "Bearer abc") and token_ok("abc", "bearer  abc ")
    assert not token_ok("", "Bearer ") and not token_ok("abc", None)
    assert not token_ok("abc", "Bearer abcd")


def test_body_and_query_size_limits() -> None:
    limits = Limits(max_body_bytes=1000, max_query_bytes=200)
    with _client(token="t", limits=limits) as c:
        auth = {"Authorization": "Bearer t"}
        assert c.post(RELOAD, headers=auth, content=b"x" * 2000).status_code == 413
        assert c.post(RELOAD, headers=auth, content=b"x" * 10).status_code == 200

        def chunks() -> Iterator[bytes]:  # no Content-Length: the streamed body is counted
            for _ in range(5):
                yield b"y" * 500

        assert c.post(RELOAD, headers=auth, content=chunks()).status_code == 413
        assert c.get("/re-api/?find_hex=" + ",".join(["393322"] * 40)).status_code == 414


def test_rate_limit_answers_429_with_retry_after() -> None:
    with _client(limits=Limits(rate_per_s=1.0, burst=5)) as c:
        codes = [c.get("/health").status_code for _ in range(8)]
        assert codes[:5] == [200] * 5
        assert codes[5:] == [429] * 3
        r = c.get("/health")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert c.get("/api/stats").status_code == 429


@pytest.mark.parametrize("origin", ["https://newsroom.example", "https://evil.example"])
def test_cors_allow_list(origin: str) -> None:
    with _client(cors_origins=["https://newsroom.example"]) as c:
        r = c.get("/data/aircraft.json", headers={"Origin": origin})
        allowed = r.headers.get("access-control-allow-origin")
        if origin == "https://newsroom.example":
            assert allowed == origin
        else:
            assert allowed is None
        pre = c.options("/data/aircraft.json", headers={
            "Origin": origin, "Access-Control-Request-Method": "GET"})
        assert (pre.status_code == 200) == (origin == "https://newsroom.example")


def test_no_cors_headers_without_an_allow_list() -> None:
    with _client() as c:
        r = c.get("/health", headers={"Origin": "https://newsroom.example"})
        assert "access-control-allow-origin" not in r.headers


def test_security_headers() -> None:
    with _client(tile_url="https://tile.example.org/{z}/{x}/{y}.png") as c:
        r = c.get("/health")
        assert r.headers["x-content-type-options"] == "nosniff"
        page = c.get("/")
        if page.status_code == 200:  # the web map is built
            csp = page.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "https://tile.example.org" in csp
            assert "cdn" not in csp


def test_cdn_docs_pages_are_off_but_openapi_and_the_offline_page_are_served() -> None:
    with _client() as c:
        assert c.get("/redoc").status_code == 404
        page = c.get("/docs")  # tailwatch's own page: no script, no CDN
        assert page.status_code == 200 and "<script" not in page.text
        assert "cdn" not in page.text.lower()
        assert c.get("/openapi.json").json()["info"]["title"] == "tailwatch"
