"""``dianhua mock``: run the local mock of the WeChat official-account API."""

from __future__ import annotations

import signal
import sqlite3
import threading
from pathlib import Path

import click

from connectors.mock.server import DEFAULT_APPID, DEFAULT_SECRET

_HELP = f"""Run the local mock of the WeChat official-account API and the WeCom group robot.

\b
Credentials: appid {DEFAULT_APPID}  secret {DEFAULT_SECRET}
Platform:    /cgi-bin/token, /cgi-bin/stable_token, /cgi-bin/comment/*,
             /cgi-bin/freepublish/batchget, /datacube/getarticlesummary,
             /cgi-bin/message/custom/send, /cgi-bin/webhook/send?key=...
Admin API:   /_mock/articles, /_mock/comments, /_mock/webhook/messages,
             /_mock/push, /_mock/messages (readers' private messages),
             /_mock/faults, /_mock/replay, /_mock/stats  (see docs/mock.md)

Example: dianhua mock --port 8765 --token-ttl 30
"""


@click.command(help=_HELP)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--db", "db_path", default=Path("var/mock.db"), show_default=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="SQLite file holding the mock's state; it survives restarts.")
@click.option("--token-ttl", default=7200, show_default=True, type=click.IntRange(1, 86400),
              help="Lifetime of access tokens in seconds (try 30 to exercise refresh).")
@click.option("--daily-quota", default=None, type=click.IntRange(0, None),
              help="Calls per API path per day (Asia/Shanghai) before 45009. Default: unlimited.")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING"], case_sensitive=False))
def mock(host: str, port: int, db_path: Path, token_ttl: int, daily_quota: int | None,
         log_level: str) -> None:
    from bot import logs
    from connectors.mock import MockServer

    logs.setup(level=log_level.upper())
    try:
        server = MockServer(db_path, host=host, port=port, token_ttl=token_ttl,
                            daily_quota=daily_quota)
        server.start()
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    except sqlite3.Error as exc:
        raise click.ClickException(f"cannot use the mock database {db_path}: {exc}") from exc
    click.echo(f"mock WeChat API on {server.url}  (appid {DEFAULT_APPID}, secret {DEFAULT_SECRET},"
               f" db {db_path}) — Ctrl-C to stop", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        click.echo("mock stopped", err=True)


__all__ = ["mock"]
