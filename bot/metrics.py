"""Prometheus metrics for one daemon (its own registry, so tests can run several)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.store import Store, monitoring


class _StoreCollector(Collector):
    def __init__(self, store: Store, poll_lag: Callable[[], dict[str, float]]) -> None:
        self.store = store
        self.poll_lag = poll_lag

    def collect(self) -> Iterator[Any]:
        cases = GaugeMetricFamily("dianhua_cases", "Cases by status", labels=["status"])
        for status, n in monitoring.cases_by_status(self.store).items():
            cases.add_metric([status], n)
        yield cases
        outbox = GaugeMetricFamily("dianhua_outbox", "Outbox rows by kind and status",
                                   labels=["kind", "status"])
        for (kind, status), n in monitoring.outbox_by_kind_status(self.store).items():
            outbox.add_metric([kind, status], n)
        yield outbox
        lag = GaugeMetricFamily("dianhua_poll_lag_seconds",
                                "Seconds since a poll of the account last succeeded (0 while it watches nothing)",
                                labels=["account"])
        for account, seconds in self.poll_lag().items():
            lag.add_metric([account], seconds)
        yield lag


class Metrics:
    def __init__(self, store: Store, poll_lag: Callable[[], dict[str, float]]) -> None:
        self.registry = CollectorRegistry()
        self.comments = Counter("dianhua_comments", "New comments stored",
                                registry=self.registry)
        self.classified = Counter("dianhua_classifications", "Comments classified, by band",
                                  ["band"], registry=self.registry)
        self.replies = Counter("dianhua_replies", "Public replies posted", registry=self.registry)
        self.sent = Counter("dianhua_actions_sent", "Outbox actions performed, by kind", ["kind"],
                            registry=self.registry)
        self.api_errors = Counter("dianhua_api_errors", "Platform errors, by errcode", ["code"],
                                  registry=self.registry)
        self.rules_reloads = Counter("dianhua_rules_reloads", "Rules reloads, by result",
                                     ["result"], registry=self.registry)
        self.up = Gauge("dianhua_up", "1 while the daemon runs", registry=self.registry)
        self.registry.register(_StoreCollector(store, poll_lag))

    def render(self) -> bytes:
        return generate_latest(self.registry)


__all__ = ["Metrics"]
