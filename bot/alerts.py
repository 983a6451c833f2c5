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

PAGE = 500  # comment rows read at a time (see SpikeJob._events)


class SpikeJob:
    def __init__(self, store: Store, rules: Callable[[], Any], *, clock: Clock = utcnow) -> None:
        self.store = store
        self.rules = rules
        self.clock = clock
        # comment id → its event when a spike rule counts it, None when none does
        self._known: dict[str, SpikeEvent | None] = {}
        self._rules_seen: Any = None

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
        """The comments some spike rule counts, oldest first.

        The lookback is a week and more. Reading every comment of it, text and all, and
        normalising each again every minute held the daemon's memory and, at hundreds of
        comments a second, most of its CPU (issue 16). Each run now reads only the ids of the
        window; a comment's row is read and turned into an event once, and the job remembers
        the events a rule counts and the ids it does not (forgotten when they leave the
        window; all of it when the rules change, as their routes may). Same alerts.
        """
        if rs is not self._rules_seen:
            self._known, self._rules_seen = {}, rs
        ids = data.spike_ids(self.store.query, since, until)
        known = self._known
        unknown = [i for i in ids if i not in known]
        for start in range(0, len(unknown), PAGE):
            for r in data.spike_rows(self.store.query, unknown[start:start + PAGE]):
                event = event_from(r["id"], from_unix(float(r["create_time"])), r["content"] or "",
                                   band=r["band"] or "below", category=r["category"] or "",
                                   article=r["article"] or "", routes=rs.routes,
                                   account=r["account"] or "")
                known[str(r["id"])] = (event if any(rule.matches(event) for rule in watch.rules)
                                       else None)
        if len(known) > len(ids):  # comments that left the window (or were purged)
            window = set(ids)
            self._known = known = {k: v for k, v in known.items() if k in window}
        return [e for e in (known.get(i) for i in ids) if e is not None]

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
