"""The daemon's spike job: raise the alerts declared under ``spikes:`` in rules.yaml.

Every run looks at the processed comments of the last window (and of the baseline days),
asks :class:`bot.rules.spikes.SpikeWatch` which alerts are due, and for each writes the
``alerts`` row and its group message (outbox, kind ``notify``) in one transaction. The alert's
key (rule, scope, start of its window) is unique and the cool-down is read from the ``alerts``
table, so a restart or a second run never raises a spike twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from loguru import logger

from bot.clock import Clock, from_unix, iso, parse_iso, utcnow
from bot.report import data
from bot.rules.spikes import SpikeAlert, SpikeEvent, SpikeWatch, event_from
from bot.store import Store, dumps
from bot.store import alerts as alert_rows

PAGE = 2_000  # comments read at a time (see SpikeJob._events)


class SpikeJob:
    def __init__(self, store: Store, rules: Callable[[], Any], *, clock: Clock = utcnow) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock

    def run(self) -> list[SpikeAlert]:
        """Raise the alerts due now; returns the new ones."""
        rs = self.rules()
        spikes = getattr(rs, "spikes", ())
        if not spikes:
            return []
        watch = SpikeWatch(spikes, rs.groups)
        now = self.clock()
        events = self._events(rs, watch, now - watch.lookback, now)
        last = {k: parse_iso(v) for k, v in data.last_alerts(self.store.query).items()}
        raised: list[SpikeAlert] = []
        for alert in watch.due(events, now, last):
            if self._record(alert):
                raised.append(alert)
                logger.warning("spike alert {}: {} {} has {} comments (baseline {:.1f}) → group {}",
                               alert.rule, alert.per, alert.scope, alert.count, alert.baseline, alert.group)
        return raised

    def _events(self, rs: Any, watch: SpikeWatch, since: datetime,
                until: datetime) -> list[SpikeEvent]:
        """The comments some spike rule counts, oldest first, read :data:`PAGE` at a time.

        The lookback is a week and more: holding every comment of it (with its text) every
        minute made the daemon's peak size grow with the comments it had processed (issue
        16). :meth:`SpikeWatch.due` only counts the comments a rule matches, so the others
        are dropped as they are read: same alerts.
        """
        events: list[SpikeEvent] = []
        after: tuple[Any, str] | None = None
        while True:
            rows = data.spike_events(self.store.query, since, until, after=after, limit=PAGE)
            for r in rows:
                event = event_from(r["id"], from_unix(float(r["create_time"])), r["content"] or "",
                                   band=r["band"] or "below", category=r["category"] or "",
                                   article=r["article"] or "", routes=rs.routes,
                                   account=r["account"] or "")
                if any(rule.matches(event) for rule in watch.rules):
                    events.append(event)
            if len(rows) < PAGE:
                return events
            after = (rows[-1]["create_time"], str(rows[-1]["id"]))

    def _record(self, alert: SpikeAlert) -> bool:
        at = iso(alert.at)
        return alert_rows.record_alert(self.store, {
            "key": alert.key, "rule": alert.rule, "per": alert.per, "scope": alert.scope,
            "grp": alert.group, "count": alert.count, "baseline": alert.baseline, "at": at,
            "window_start": iso(alert.window_start), "comment_ids": dumps(list(alert.comment_ids)),
            "text": alert.text, "account": alert.account,
        }, {
            "key": f"alert:{alert.key}", "comment_id": alert.comment_ids[-1], "case_id": None,
            "account": alert.account, "kind": "notify", "rule": f"spike:{alert.rule}",
            "params": {"group": alert.group, "text": alert.text}, "at": at,
        })


__all__ = ["SpikeJob"]
