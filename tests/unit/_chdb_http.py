"""A loopback ClickHouse HTTP endpoint whose engine is chdb (ClickHouse in process).

No ClickHouse server can be installed here, so the ``clickhouse://`` store (clickhouse-connect
over HTTP) is tested against this: a small HTTP server speaking the part of ClickHouse's HTTP
interface (https://clickhouse.com/docs/en/interfaces/http) that clickhouse-connect uses, which
runs every query on one chdb session (serialised by a lock) and answers in the format asked.

What it implements, as the server does:

* ``GET /ping`` → ``Ok.``; the query in the ``query`` URL parameter, the POST body, or both
  (the body is appended to the parameter: ``INSERT … FORMAT F`` in the URL, data in the body);
* ``database``, ``default_format``, ``param_<name>`` (bound parameters), ``session_id`` (with
  ``session_check``), ``query_id``; every other URL parameter is a setting for that query only;
* request bodies compressed by ``Content-Encoding`` (lz4, zstd, gzip, deflate), answers
  compressed as ``Accept-Encoding`` asks when ``enable_http_compression`` is 1 (by the URL, or
  by default as in recent servers);
* ``X-ClickHouse-Format``, ``-Timezone``, ``-Query-Id``, ``-Summary`` answer headers; errors as
  ``Code: N. DB::Exception: …`` with ``X-ClickHouse-Exception-Code`` and an HTTP error status;
* user ``default`` without a password (HTTP Basic or ``X-ClickHouse-User``), else code 516;
* a temporary table created outside a session lives for that request only.

Not implemented (clickhouse-connect does not use them for the store's requests): form-encoded
(multipart) queries, ClickHouse's own block compression (``compress=1``/``decompress=1``) and
per-session isolation of settings and temporary tables (one chdb session serves all).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import tempfile
import threading
import uuid
import zlib
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

#: URL parameters that are not settings (the HTTP interface's own).
_HTTP_PARAMS = frozenset({
    "query", "database", "default_format", "session_id", "session_timeout", "session_check",
    "query_id", "quota_key", "user", "password", "buffer_size", "wait_end_of_query",
    "client_protocol_version", "compress", "decompress", "role", "stacktrace",
})
_INSERT_FORMAT = re.compile(
    rb"^\s*INSERT\s+INTO\s+(?P<table>[\w.`]+)\s*(?:\((?P<cols>[^)]*)\))?\s*"
    rb"FORMAT\s+(?P<fmt>\w+)[ \t]*\r?\n?", re.IGNORECASE | re.DOTALL,
)
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_TEMP_TABLE = re.compile(
    r"^\s*CREATE\s+TEMPORARY\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w`]+)", re.IGNORECASE
)
_CODE = re.compile(r"Code:\s*(\d+)\.")
_NAME = re.compile(r"\(([A-Z_]+)\)\s*(?:\(version [^)]*\))?\s*$")
#: ClickHouse's HTTP status for some error codes (the rest are 500).
_STATUS = {62: 400, 27: 400, 53: 400, 36: 400, 60: 404, 81: 404, 115: 400, 516: 403, 372: 404}
_DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.decompress, "deflate": zlib.decompress,
}
_COMPRESS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.compress, "deflate": zlib.compress}
try:  # both come with clickhouse-connect
    import lz4.frame

    _DECOMPRESS["lz4"], _COMPRESS["lz4"] = lz4.frame.decompress, lz4.frame.compress
except ImportError:
    pass
try:
    from backports import zstd  # type: ignore[import-not-found,unused-ignore]

    _DECOMPRESS["zstd"], _COMPRESS["zstd"] = zstd.decompress, zstd.compress
except ImportError:
    pass


class ClickHouseHttpError(Exception):
    """A ClickHouse error to answer with: its code and ``Code: N. DB::Exception: …`` text."""

    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


def _chdb_error(exc: Exception) -> ClickHouseHttpError:
    text = str(exc).strip()
    found = _CODE.search(text)
    code = int(found.group(1)) if found else 1001  # STD_EXCEPTION
    if not text.startswith("Code:"):
        text = f"Code: {code}. DB::Exception: {text}"
    return ClickHouseHttpError(code, text)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class ChdbHttpEngine:
    """One chdb session and what runs a request on it (under a lock)."""

    def __init__(self, path: Path) -> None:
        from chdb import session

        self._session: Any = session.Session(str(path))  # type: ignore[no-untyped-call]
        self._lock = threading.Lock()
        self._tmp = Path(tempfile.mkdtemp(prefix="chdb_http_", dir=path.parent))
        self._sessions: set[str] = set()
        self.version, self.timezone = self._run("SELECT version(), timezone()", "TabSeparated",
                                                {}).bytes().decode().strip().split("\t")
        self.http_compression = self._run(
            "SELECT value FROM system.settings WHERE name = 'enable_http_compression'",
            "TabSeparated", {}).bytes().decode().strip()  # the default, "1" in recent versions

    def _run(self, sql: str, fmt: str, params: Mapping[str, str]) -> Any:
        try:
            return self._session.query(sql, fmt, params=dict(params) if params else None)
        except Exception as exc:  # chdb raises its own RuntimeError subclass
            raise _chdb_error(exc) from exc

    def execute(
        self, url_params: Mapping[str, str], body: bytes
    ) -> tuple[bytes, str, dict[str, int]]:
        """Run one request: (answer body, its format, summary counters)."""
        binds = {k[6:]: v for k, v in url_params.items() if k.startswith("param_")}
        settings = {
            k: v for k, v in url_params.items()
            if k not in _HTTP_PARAMS and not k.startswith("param_")
        }
        query = url_params.get("query", "").encode()
        full = query + b"\n" + body if query and body else query or body
        if not full.strip():
            raise ClickHouseHttpError(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
        fmt = url_params.get("default_format", "TabSeparated")
        session_id = url_params.get("session_id", "")
        with self._lock:
            if session_id:
                if url_params.get("session_check") == "1" and session_id not in self._sessions:
                    raise ClickHouseHttpError(
                        372, f"Code: 372. DB::Exception: Session {session_id} not found. "
                        "(SESSION_NOT_FOUND)")
                self._sessions.add(session_id)
            self._run(f"USE {url_params.get('database') or 'default'}", "CSV", {})
            for name, value in settings.items():
                self._run(f"SET {name} = {_quote(value)}", "CSV", {})
            try:
                return self._statement(full, fmt, binds, session_id)
            finally:
                for name in settings:
                    self._run(f"SET {name} = DEFAULT", "CSV", {})

    def _statement(
        self, full: bytes, fmt: str, binds: Mapping[str, str], session_id: str
    ) -> tuple[bytes, str, dict[str, int]]:
        insert = _INSERT_FORMAT.match(full)
        if insert and len(full) > insert.end():
            result = self._insert_data(insert, full[insert.end():], binds)
            return b"", fmt, self._summary(result)
        sql = full.decode()
        found = _TRAILING_FORMAT.search(sql)
        result = self._run(sql, fmt, binds)
        temp = _TEMP_TABLE.match(sql)
        if temp and not session_id:  # without a session it ends with the query
            self._run(f"DROP TEMPORARY TABLE IF EXISTS {temp.group(1)}", "CSV", {})
        out = result.bytes() if result is not None else b""
        return out, found.group(1) if found else fmt, self._summary(result)

    def _insert_data(self, insert: re.Match[bytes], data: bytes, binds: Mapping[str, str]) -> Any:
        """``INSERT INTO t (cols) FORMAT F`` + data: the data is read from a file in format F
        with the structure of the target columns (as the server reads it)."""
        table = insert.group("table").decode()
        fmt = insert.group("fmt").decode()
        described = self._run(f"DESCRIBE TABLE {table}", "JSONCompact", {})
        rows = json.loads(described.bytes())["data"]
        types = {row[0]: row[1] for row in rows if row[2] not in ("ALIAS", "MATERIALIZED")}
        cols_text = (insert.group("cols") or b"").decode()
        names = [c.strip().strip("`") for c in cols_text.split(",") if c.strip()] or list(types)
        unknown = [n for n in names if n not in types]
        if unknown:
            raise ClickHouseHttpError(
                16, f"Code: 16. DB::Exception: No such column {unknown[0]} in table {table}. "
                "(NO_SUCH_COLUMN_IN_TABLE)")
        structure = ", ".join(f"`{n}` {types[n]}" for n in names)
        cols = ", ".join(f"`{n}`" for n in names)
        path = self._tmp / f"{uuid.uuid4().hex}.{fmt.lower()}"
        path.write_bytes(data)
        try:
            return self._run(
                f"INSERT INTO {table} ({cols}) SELECT * FROM "
                f"file({_quote(str(path))}, {_quote(fmt)}, {_quote(structure)})",
                "CSV", binds,
            )
        finally:
            path.unlink(missing_ok=True)

    @staticmethod
    def _summary(result: Any) -> dict[str, int]:
        if result is None:
            return {"read_rows": 0, "read_bytes": 0, "written_rows": 0, "written_bytes": 0}
        return {
            "read_rows": int(result.rows_read()),
            "read_bytes": int(result.bytes_read()),
            "written_rows": int(result.rows_written()),
            "written_bytes": int(result.bytes_written()),
        }

    def close(self) -> None:
        with self._lock:
            self._session.close()
        for leftover in self._tmp.iterdir():
            leftover.unlink()
        self._tmp.rmdir()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        split = urlsplit(self.path)
        body = self._read_body() if self.command == "POST" else b""
        if split.path.rstrip("/") == "/ping":
            self._answer(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
            return
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        engine = self.server.engine
        headers = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Timezone": engine.timezone,
                   "X-ClickHouse-Server-Display-Name": "chdb-http"}
        try:
            self._check_user(params)
            body = self._decoded(body)
            if self.headers.get("Content-Type", "").startswith("multipart/form-data"):
                raise ClickHouseHttpError(
                    48, "Code: 48. DB::Exception: form-encoded queries are not implemented by "
                    "this test endpoint. (NOT_IMPLEMENTED)")
            out, fmt, summary = engine.execute(params, body)
        except ClickHouseHttpError as exc:
            text = exc.text
            if not _NAME.search(text):
                text = f"{text} (UNKNOWN)"
            headers["X-ClickHouse-Exception-Code"] = str(exc.code)
            headers["Content-Type"] = "text/plain; charset=UTF-8"
            payload = f"{text} (version {engine.version})\n".encode()
            self._answer(_STATUS.get(exc.code, 500), payload, headers)
            return
        headers["X-ClickHouse-Format"] = fmt
        headers["X-ClickHouse-Summary"] = json.dumps(
            {k: str(v) for k, v in summary.items()}, separators=(",", ":"))
        headers["Content-Type"] = "text/plain; charset=UTF-8" if fmt.startswith(
            ("TabSeparated", "TSV", "CSV", "JSON")) else "application/octet-stream"
        if params.get("enable_http_compression", engine.http_compression) == "1":
            out = self._compressed(out, headers)
        self._answer(200, out, headers)

    def _check_user(self, params: Mapping[str, str]) -> None:
        user, password = params.get("user", "default"), params.get("password", "")
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        user = self.headers.get("X-ClickHouse-User", user)
        password = self.headers.get("X-ClickHouse-Key", password)
        if user != "default" or password:
            raise ClickHouseHttpError(
                516, f"Code: 516. DB::Exception: {user}: Authentication failed: password is "
                "incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)")

    def _decoded(self, body: bytes) -> bytes:
        encoding = self.headers.get("Content-Encoding", "").strip().lower()
        if not encoding or encoding == "identity":
            return body
        if encoding not in _DECOMPRESS:
            raise ClickHouseHttpError(
                48, f"Code: 48. DB::Exception: Unknown HTTP Content-Encoding {encoding}. "
                "(NOT_IMPLEMENTED)")
        return _DECOMPRESS[encoding](body)

    def _compressed(self, out: bytes, headers: dict[str, str]) -> bytes:
        accepted = [a.split(";")[0].strip().lower()
                    for a in self.headers.get("Accept-Encoding", "").split(",")]
        for encoding in accepted:
            if encoding in _COMPRESS:
                headers["Content-Encoding"] = encoding
                return _COMPRESS[encoding](out)
        return out

    def _answer(self, status: int, payload: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, engine: ChdbHttpEngine) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.engine = engine


class ChdbHttpServer:
    """The endpoint on 127.0.0.1 (a free port), data in ``path``; a context manager."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.engine = ChdbHttpEngine(path / "chdb")
        self._server = _Server(self.engine)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, database: str = "tailwatch") -> str:
        return f"clickhouse://127.0.0.1:{self.port}/{database}"

    def __enter__(self) -> ChdbHttpServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self.engine.close()
