"""The mock as a real HTTP server (stdlib ``ThreadingHTTPServer`` in a background thread).

Garbage in never takes it down: malformed request lines get the stdlib's 400, bodies over
2 MiB a 413, chunked bodies a 411, any bug in a handler a 500 JSON answer (and a log line).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from loguru import logger

from connectors.mock.admin import Admin
from connectors.mock.platform import Platform
from connectors.mock.pusher import Pusher
from connectors.mock.replay import Replayer
from connectors.mock.state import MockState
from connectors.mock.wire import Faults, Request, Response, Stats
from connectors.wechat.errors import mask

DEFAULT_APPID = "wx0000000000000000"
DEFAULT_SECRET = "mock-secret"
MAX_BODY = 2 * 1024 * 1024


class _App:
    """Routes a parsed request to the platform or the admin API and records statistics."""

    def __init__(self, platform: Platform, admin: Admin, stats: Stats) -> None:
        self.platform = platform
        self.admin = admin
        self.stats = stats

    def handle(self, req: Request) -> Response:
        if self.admin.handles(req.path):
            response = self.admin.handle(req)
        elif self.platform.handles(req.path):
            response = self.platform.handle(req)
        else:
            response = Response(404, {"error": f"no such path {req.path}; the mock serves"
                                               " /cgi-bin/..., /datacube/... and /_mock/..."})
        if req.path not in ("/_mock/stats", "/_mock/health"):
            self.stats.record(req.path, response)
        return response


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: _App
    stopping = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dianhua-mock/0.1"
    timeout = 30  # idle keep-alive connections are closed after this many seconds
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        try:
            response = self._respond()
        except Exception:
            logger.exception("mock: unexpected error on {} {}", self.command,
                             mask(self.path.split("?")[0]))
            response = Response(500, {"error": "internal error in the mock (see its log)"})
            self.close_connection = True
        self._send(response)

    def _respond(self) -> Response:
        if self.server.stopping:
            self.close_connection = True
            return Response(503, {"error": "the mock is shutting down"})
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            return Response(411, {"error": "send a Content-Length; chunked bodies are not supported"})
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return Response(400, {"error": "Content-Length is not a number"})
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            return Response(413, {"error": f"body larger than {MAX_BODY} bytes"})
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            return Response(400, {"error": "body shorter than Content-Length"})
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        req = Request(self.command, parts.path, query, body, self.client_address[0])
        return self.server.app.handle(req)

    def _send(self, response: Response) -> None:
        data = response.encode()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", "application/json; encoding=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in response.headers.items():
                self.send_header(k, v)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("mock: " + mask(format % args))


class MockServer:
    """The local WeChat + WeCom mock. ``start()`` serves in a background thread; ``url`` is its base."""

    def __init__(
        self,
        db_path: str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        token_ttl: float = 7200,
        daily_quota: int | None = None,
        appid: str = DEFAULT_APPID,
        secret: str = DEFAULT_SECRET,
        clock: Callable[[], float] = time.time,
        push_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.appid = appid
        self.state = MockState(db_path, clock=clock)
        self.faults = Faults(daily_quota=daily_quota)
        self.stats = Stats()
        self.replayer = Replayer(self.state)
        self.platform = Platform(self.state, self.faults, appid=appid, secret=secret,
                                 token_ttl=token_ttl)
        self.pusher = Pusher(self.state, appid=appid, transport=push_transport)
        self.admin = Admin(self.state, self.faults, self.stats, self.replayer, info=self._info,
                           pusher=self.pusher)
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def _info(self) -> dict[str, Any]:
        return {"appid": self.appid, "token_ttl": self.platform.token_ttl, "db": self.state.db_path}

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the mock is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> MockServer:
        """Bind (``port=0`` picks a free port) and serve in a daemon thread."""
        if self._httpd is not None:
            return self
        httpd = _Server((self.host, self.port), _Handler)
        httpd.app = _App(self.platform, self.admin, self.stats)
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True, name="mock-http")
        self._thread.start()
        logger.info("mock listening on {}", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, end replays, close the database. Safe to call twice."""
        self.replayer.stop()
        if self._httpd is not None:
            self._httpd.stopping = True
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self.state.close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


__all__ = ["DEFAULT_APPID", "DEFAULT_SECRET", "MAX_BODY", "MockServer"]
