"""What the report, the briefing, the dashboard and the spike job read: reads only.

Every function takes a :data:`Query` — ``Store.query`` in the daemon and the desk, or
:func:`open_readonly` for ``dianhua report`` (which never creates or changes the file) — and
returns rows or plain numbers; :mod:`bot.report.data` shapes them (masking, buckets,
percentiles). Periods are ``[since, until)`` in UTC; comments are counted by their platform
time (``create_time``), cases by ``opened_at`` / ``resolved_at``, replies by ``sent_at``.

Portable SQL (SQLite and PostgreSQL); only :func:`open_readonly` is SQLite's own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import iso
from bot.errors import StoreError

Query = Callable[[str, Sequence[Any]], list[dict[str, Any]]]
REQUIRED_TABLES = frozenset({"comments", "classifications", "cases", "outbox"})


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    account: str | None = None

    @property
    def unix(self) -> tuple[float, float]:
        return self.since.timestamp(), self.until.timestamp()


class ReadOnly:
    """A :data:`Query` on an existing SQLite file opened read-only; knows the file's tables
    (an old file may lack the newer ones, e.g. ``alerts``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                        check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA query_only = ON")
            self.tables = frozenset(r[0] for r in self.conn.execute(
                "select name from sqlite_master where type = 'table'"))
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the database {path}: {exc}") from exc

    def __call__(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        try:
            return [dict(r) for r in self.conn.execute(sql, list(params))]
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the database {self.path}: {exc}") from exc

    def close(self) -> None:
        self.conn.close()


def open_readonly(path: str | Path) -> tuple[Query, Callable[[], None]]:
    """A read-only query function on an existing SQLite file, and a close function; for a
    ``postgresql://`` URL, the store's own reads on that database.

    Raises :class:`StoreError` when the file is missing or is not a dianhua database; never
    creates a file (``mode=ro``), so a wrong path stays a wrong path.
    """
    if isinstance(path, str) and path.startswith(("postgresql://", "postgres://")):
        from bot.store import Store

        store = Store(path)
        return store.query, store.close
    p = Path(path)
    if not p.is_file():
        raise StoreError(f"no database at {p} (give --db or --config; the daemon's default is var/dianhua.db)")
    ro = ReadOnly(p)
    missing = REQUIRED_TABLES - ro.tables
    if missing:
        ro.close()
        raise StoreError(f"{p} is not a dianhua database (no table {', '.join(sorted(missing))})")
    return ro, ro.close


def has_table(q: Query, name: str) -> bool:
    """Whether the database behind ``q`` has table ``name`` (a migrated store has them all)."""
    tables = getattr(q, "tables", None)
    return tables is None or name in tables


def _acc(period: Period, column: str) -> tuple[str, list[Any]]:
    return (f" and {column} = ?", [period.account]) if period.account else ("", [])


def _marks(values: Sequence[Any]) -> str:
    return ",".join("?" for _ in values)


def totals(q: Query, period: Period, open_statuses: Sequence[str]) -> dict[str, Any]:
    """The period's raw counts: ``bands`` (band → comments), ``comments``, ``messages``
    (private ones), ``sent`` (kind → outbox rows sent), ``opened`` (priority → cases),
    ``resolved``, ``late`` (cases with a deadline due in the period breached) and ``open_now``
    (cases opened before the period's end whose status is one of ``open_statuses``)."""
    since, until = iso(period.since), iso(period.until)
    lo, hi = period.unix
    ca, cap = _acc(period, "m.account")
    bands = {r["band"]: r["n"] for r in q(
        "select cl.band, count(*) as n from comments m join classifications cl on cl.comment_id = m.id "
        f"where m.create_time >= ? and m.create_time < ?{ca} group by cl.band", [lo, hi, *cap])}
    comments = q(f"select count(*) as n from comments m where m.create_time >= ? and m.create_time < ?{ca}",
                 [lo, hi, *cap])[0]["n"]
    messages = q("select count(*) as n from comments m where m.channel = 'message' and "
                 f"m.create_time >= ? and m.create_time < ?{ca}", [lo, hi, *cap])[0]["n"]
    oa, oap = _acc(period, "o.account")
    sent = {r["kind"]: r["n"] for r in q(
        "select o.kind, count(*) as n from outbox o where o.status = 'sent' and o.sent_at >= ? "
        f"and o.sent_at < ?{oa} group by o.kind", [since, until, *oap])}
    k, kp = _acc(period, "c.account")
    opened = {r["priority"]: r["n"] for r in q(
        f"select c.priority, count(*) as n from cases c where c.opened_at >= ? and c.opened_at < ?{k} "
        "group by c.priority", [since, until, *kp])}
    resolved = q(f"select count(*) as n from cases c where c.resolved_at >= ? and c.resolved_at < ?{k}",
                 [since, until, *kp])[0]["n"]
    late = q("select count(distinct b.case_id) as n from breaches b join cases c on c.id = b.case_id "
             f"where b.due_at >= ? and b.due_at < ?{k}", [since, until, *kp])[0]["n"]
    open_now = q(f"select count(*) as n from cases c where c.status in ({_marks(open_statuses)}) "
                 f"and c.opened_at < ?{k}", [*open_statuses, until, *kp])[0]["n"]
    return {"bands": bands, "comments": comments, "messages": messages, "sent": sent,
            "opened": opened, "resolved": resolved, "late": late, "open_now": open_now}


def sent_replies(q: Query, period: Period) -> list[dict[str, Any]]:
    """``sent_at`` and the comment's ``create_time`` of each public reply sent in the period."""
    oa, oap = _acc(period, "o.account")
    return q("select o.sent_at, m.create_time from outbox o join comments m on m.id = o.comment_id "
             "where o.kind = 'reply' and o.status = 'sent' and o.sent_at >= ? and o.sent_at < ?"
             f"{oa}", [iso(period.since), iso(period.until), *oap])


def resolved_cases(q: Query, period: Period) -> list[dict[str, Any]]:
    """``opened_at`` and ``resolved_at`` of each case resolved in the period."""
    k, kp = _acc(period, "c.account")
    return q("select c.opened_at, c.resolved_at from cases c where c.resolved_at >= ? "
             f"and c.resolved_at < ?{k}", [iso(period.since), iso(period.until), *kp])


BREAKDOWN_COLUMNS = {"category": "cl.category", "route": "cl.route",
                     "article": "coalesce(nullif(a.title, ''), m.article_id)"}


def breakdown(q: Query, period: Period, by: str) -> list[dict[str, Any]]:
    """Per category, route or article (``name``): comments, urgent ones, cases, replies sent."""
    column = BREAKDOWN_COLUMNS[by]
    lo, hi = period.unix
    ca, cap = _acc(period, "m.account")
    return q(
        f"select {column} as name, count(*) as comments, "
        "sum(case when cl.band in ('auto', 'review') then 1 else 0 end) as urgent, "
        "count(c.id) as cases, "
        "sum(case when exists (select 1 from outbox o where o.comment_id = m.id and o.kind = 'reply' "
        "and o.status = 'sent') then 1 else 0 end) as replies "
        "from comments m left join classifications cl on cl.comment_id = m.id "
        "left join articles a on a.id = m.article_id left join cases c on c.comment_id = m.id "
        f"where m.create_time >= ? and m.create_time < ?{ca} group by name "
        "order by urgent desc, comments desc, name", [lo, hi, *cap])


def comment_bands(q: Query, period: Period) -> list[dict[str, Any]]:
    """``create_time`` and ``band`` (None when unclassified) of each comment of the period."""
    lo, hi = period.unix
    ca, cap = _acc(period, "m.account")
    return q("select m.create_time, cl.band from comments m left join classifications cl "
             f"on cl.comment_id = m.id where m.create_time >= ? and m.create_time < ?{ca}",
             [lo, hi, *cap])


def cases_opened(q: Query, period: Period) -> list[dict[str, Any]]:
    """Cases opened in the period, with their comment's text, category and band."""
    k, kp = _acc(period, "c.account")
    return q("select c.*, m.content, cl.category, cl.band from cases c "
             "left join comments m on m.id = c.comment_id "
             "left join classifications cl on cl.comment_id = c.comment_id "
             f"where c.opened_at >= ? and c.opened_at < ?{k}", [iso(period.since), iso(period.until), *kp])


def case_timeline(q: Query, case_id: int) -> list[dict[str, Any]]:
    """The case's events (at, actor, kind, from_status, to_status, note), in order."""
    return q("select at, actor, kind, from_status, to_status, note from case_events "
             "where case_id = ? order by id", [case_id])


def cases_in(q: Query, statuses: Sequence[str], account: str | None = None) -> list[dict[str, Any]]:
    """Cases whose status is one of ``statuses`` (of ``account`` when given), with their text."""
    where = " and c.account = ?" if account else ""
    return q(f"select c.*, m.content from cases c left join comments m on m.id = c.comment_id "
             f"where c.status in ({_marks(statuses)}){where}",
             [*statuses, *([account] if account else [])])


def versions(q: Query, period: Period, column: str) -> list[dict[str, Any]]:
    """Per value ``v`` of ``column`` (``model_version`` or ``rules_version``) of the period's
    classifications: how many (``n``), the ``first`` and ``last`` processing time."""
    if column not in ("model_version", "rules_version"):
        raise ValueError(f"not a version column: {column}")
    lo, hi = period.unix
    ca, cap = _acc(period, "m.account")
    return q(f"select cl.{column} as v, count(*) as n, min(cl.processed_at) as first, "
             "max(cl.processed_at) as last from classifications cl join comments m on "
             f"m.id = cl.comment_id where m.create_time >= ? and m.create_time < ?{ca} "
             "group by v order by first", [lo, hi, *cap])


def alerts(q: Query, period: Period) -> list[dict[str, Any]]:
    """Spike alerts raised in the period (none on a database from before spike alerts)."""
    if not has_table(q, "alerts"):
        return []
    a, ap = _acc(period, "account")
    return q(f"select * from alerts where at >= ? and at < ?{a} order by at",
             [iso(period.since), iso(period.until), *ap])


def accounts(q: Query) -> list[str]:
    """The accounts that have comments in the database."""
    return [r["account"] for r in q("select distinct account from comments order by account", [])]


def spike_events(q: Query, since: datetime, until: datetime, *,
                 after: tuple[Any, str] | None = None,
                 limit: int | None = None) -> list[dict[str, Any]]:
    """Processed comments created in ``[since, until)``: what spike rules count.

    In pages with ``limit``: ``after`` is the last row's ``(create_time, id)`` of the page
    before (a week of comments at once is too much to hold; issue 16).
    """
    sql = ("select m.id, m.account, m.create_time, m.content, m.article_id, "
           "coalesce(nullif(a.title, ''), m.article_id) as article, cl.band, cl.category, cl.route "
           "from comments m join classifications cl on cl.comment_id = m.id "
           "left join articles a on a.id = m.article_id "
           "where m.create_time >= ? and m.create_time < ?")
    params: list[Any] = [since.timestamp(), until.timestamp()]
    if after is not None:
        sql += " and (m.create_time > ? or (m.create_time = ? and m.id > ?))"
        params += [after[0], after[0], after[1]]
    sql += " order by m.create_time, m.id"
    if limit is not None:
        sql += " limit ?"
        params.append(int(limit))
    return q(sql, params)


def spike_ids(q: Query, since: datetime, until: datetime) -> list[str]:
    """The ids of the processed comments created in ``[since, until)``, oldest first (the spike
    job reads each comment's row once, :func:`spike_rows`, and remembers what it found)."""
    return [r["id"] for r in q(
        "select m.id from comments m join classifications cl on cl.comment_id = m.id "
        "where m.create_time >= ? and m.create_time < ? order by m.create_time, m.id",
        [since.timestamp(), until.timestamp()])]


def spike_rows(q: Query, ids: Sequence[str]) -> list[dict[str, Any]]:
    """:func:`spike_events`' rows of these comments (any order)."""
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    return q("select m.id, m.account, m.create_time, m.content, m.article_id, "
             "coalesce(nullif(a.title, ''), m.article_id) as article, cl.band, cl.category, "
             "cl.route from comments m join classifications cl on cl.comment_id = m.id "
             f"left join articles a on a.id = m.article_id where m.id in ({marks})", list(ids))


def last_alerts(q: Query) -> dict[tuple[str, str], str]:
    """(spike rule, scope) → when its last alert was raised (UTC ISO)."""
    return {(r["rule"], r["scope"]): r["at"] for r in q(
        "select rule, scope, max(at) as at from alerts group by rule, scope", [])}


def outbox_has(q: Query, key: str) -> bool:
    """Whether an outbox row with this key exists (the briefing's once-a-day guard)."""
    return bool(q("select 1 as one from outbox where key = ?", [key]))


def recent_alerts(q: Query, since: datetime, limit: int = 20) -> list[dict[str, Any]]:
    """Spike alerts raised since ``since``, newest first."""
    return q("select * from alerts where at >= ? order by at desc limit ?", [iso(since), limit])


__all__ = ["Period", "Query", "ReadOnly", "accounts", "alerts", "breakdown", "case_timeline",
           "cases_in", "cases_opened", "comment_bands", "has_table", "last_alerts",
           "open_readonly", "outbox_has", "recent_alerts", "resolved_cases", "sent_replies",
           "spike_events", "spike_ids", "spike_rows", "totals", "versions"]
