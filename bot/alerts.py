"""The daemon's spike job: raise the alerts declared under ``spikes:`` in rules.yaml.

Every run looks at the processed comments of the last window (and of the baseline days),
asks :class:`bot.rules.spikes.SpikeWatch` which alerts are due, and for each writes the
``alerts`` row and its group message (outbox, kind ``notify``) in one transaction. The alert's
key (rule, scope, start of its window) is unique and the cool-down is read from the ``alerts``
table, so a restart or a second run never raises a spike twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from loguru import logger

from bot.clock import Clock, from_unix, iso, parse_iso, utcnow
from bot.report import data
from bot.rules.spikes import SpikeAlert, SpikeWatch, event_from
from bot.store import Store, dumps
from bot.store import alerts as alert_rows


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
        rows = data.spike_events(self.store.query, now - watch.lookback, now)
        events = [event_from(r["id"], from_unix(float(r["create_time"])), r["content"] or "",
                             band=r["band"] or "below", category=r["category"] or "",
                             article=r["article"] or "", routes=rs.routes, account=r["account"] or "")
                  for r in rows]
        last = {k: parse_iso(v) for k, v in data.last_alerts(self.store.query).items()}
        raised: list[SpikeAlert] = []
        for alert in watch.due(events, now, last):
            if self._record(alert):
                raised.append(alert)
                logger.warning("spike alert {}: {} {} has {} comments (baseline {:.1f}) → group {}",
                               alert.rule, alert.per, alert.scope, alert.count, alert.baseline, alert.group)
        return raised

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
