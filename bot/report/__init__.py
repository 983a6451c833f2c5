"""Reports, the daily briefing and the dashboard's numbers: what happened, as numbers and plots.

``build_report(db, since, until)`` reads the database read-only; :mod:`bot.report.data` holds
every query, :mod:`bot.report.plots` the matplotlib pictures, :mod:`bot.report.render` the HTML,
Markdown and JSON forms.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.cases import CasePolicy
from bot.errors import DianhuaError
from bot.report.data import Period, accounts, collect, open_readonly


def build_report(db: str | Path, since: datetime, until: datetime, *, now: datetime,
                 account: str | None = None, policy: CasePolicy | None = None) -> dict[str, Any]:
    """The report for ``[since, until)`` from the SQLite file ``db`` (opened read-only) or the
    PostgreSQL database at the ``postgresql://`` URL ``db``."""
    query, close = open_readonly(db)
    try:
        if account is not None:
            known = accounts(query)
            if account not in known:
                raise DianhuaError(f"no comments from account {account!r} in {db}; accounts there: "
                                   + (", ".join(known) or "none"))
        return collect(query, Period(since, until, account), now, policy)
    finally:
        close()


__all__ = ["Period", "build_report", "collect"]
