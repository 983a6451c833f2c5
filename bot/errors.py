"""The one exception tree of dianhua.

::

    DianhuaError
    ├── ConfigError            a configuration file is wrong (file, line, field)
    ├── RulesError             rules.yaml has problems (carries every Problem)
    ├── ModelError             a model file is missing, corrupt, tampered or incompatible
    ├── StoreError             the database cannot be used (every sqlite3 / psycopg error)
    │   └── StoreBusy          locked, busy, disk full, I/O error, connection lost: try again
    ├── PushRejected           a pushed message (服务器配置) failed its checks: signature, age, key, XML
    └── ApiError               the platform (WeChat / WeCom) answered with an error
        ├── AuthError          credentials wrong, IP not whitelisted, no permission: stop
        ├── TokenExpired       access token stale (40001/40014/42001): refresh, retry once
        ├── RateLimited        45009/45011: carries ``retry_after`` seconds
        ├── TransientError     -1, 5xx, timeouts, connection errors: back off and retry
        │   └── ProtocolError  the answer was not the JSON we expect (malformed, wrong types)
        ├── NotFound           88001/88008/88009/87009: article, comment or reply does not exist
        ├── AlreadyReplied     88005: the comment already has a reply
        └── BadRequest         47001, 88007, 88010, 40097 ...: our request is wrong; do not retry

Wire errors (httpx exceptions, HTTP status, ``errcode``) are converted into this tree at one
boundary: :func:`connectors.wechat.errors.raise_for_errcode` and the client's transport wrapper.
The original exception is always kept as ``__cause__``. Messages never contain secrets, tokens,
phone or ID numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


class DianhuaError(Exception):
    """Base class for every error dianhua raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in a configuration or rules file, located for a human.

    ``str(problem)`` gives ``rules.yaml:14:7 rules[2].when.min_score: must be between 0 and 1, got 1.5``.
    """

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}{field} {self.message}"


class _ProblemsError(DianhuaError):
    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(file="", line=None, column=None, field="", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p).strip() for p in self.problems))


class ConfigError(_ProblemsError):
    """The daemon's configuration (dianhua.toml, environment) is wrong."""


class RulesError(_ProblemsError):
    """rules.yaml is invalid; ``problems`` lists every problem found."""


class ModelError(DianhuaError):
    """A classifier model cannot be loaded or used."""


class WorkerLost(ModelError):
    """A classifier worker process died while it held a batch (bot/classify_pool.py): the
    batch is classified again; nothing was written for it."""


class InputError(DianhuaError):
    """An input file that cannot be read within the limits (bot/limits.py): too large, a line
    without end, binary data."""


class StoreError(DianhuaError):
    """The store (SQLite or PostgreSQL) cannot be opened, migrated, read or written."""

    transient = False


class StoreBusy(StoreError):
    """The database is locked, busy, full, failing I/O or unreachable (a lost PostgreSQL
    connection, a serialization failure): nothing is wrong with the data; back off and try
    again (never blame the comment being processed)."""

    transient = True


class PushRejected(DianhuaError):
    """A push from the platform was refused: ``reason`` is one of ``signature``, ``timestamp``,
    ``decrypt``, ``malformed``, ``too_large``, ``mode``, ``account``; ``status`` is the HTTP
    status to answer. Messages never hold the message's text."""

    def __init__(self, message: str, *, reason: str, status: int = 403) -> None:
        self.reason = reason
        self.status = status
        super().__init__(message)


class ApiError(DianhuaError):
    """The platform answered with an error code, or could not be reached.

    ``errcode`` is the platform's code (``None`` for network-level failures), ``endpoint`` the
    API path (never with the access token), ``errmsg`` the platform's text (informative only:
    code matches on ``errcode``).
    """

    def __init__(
        self,
        message: str,
        *,
        errcode: int | None = None,
        errmsg: str = "",
        endpoint: str = "",
    ) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.endpoint = endpoint
        super().__init__(message)


class AuthError(ApiError):
    """Credentials are wrong or the account lacks permission; retrying will not help."""


class TokenExpired(ApiError):
    """The access token is invalid or expired; refresh it and retry once."""


class RateLimited(ApiError):
    """A quota or rate limit was hit; ``retry_after`` says how many seconds to wait."""

    def __init__(self, message: str, *, retry_after: float, **kw: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)  # type: ignore[arg-type]


class TransientError(ApiError):
    """A passing failure (system busy, 5xx, timeout, connection refused): back off and retry."""


class ProtocolError(TransientError):
    """The answer was not what the protocol promises (not JSON, wrong types, missing fields)."""


class NotFound(ApiError):
    """The article, comment or reply does not exist (88001, 88008, 88009, 87009)."""


class AlreadyReplied(ApiError):
    """88005: the comment already carries an author reply. Treat a reply as sent."""


class BadRequest(ApiError):
    """Our request is malformed or out of range (47001, 88007, 88010, 40097, ...)."""


__all__ = [
    "AlreadyReplied",
    "ApiError",
    "AuthError",
    "BadRequest",
    "ConfigError",
    "DianhuaError",
    "InputError",
    "ModelError",
    "NotFound",
    "Problem",
    "ProtocolError",
    "PushRejected",
    "RateLimited",
    "RulesError",
    "StoreBusy",
    "StoreError",
    "TokenExpired",
    "TransientError",
    "WorkerLost",
]
