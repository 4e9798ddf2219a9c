"""Prometheus metrics named ``<service>_<noun>_total|_seconds``, one set per process, without personal data."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from prometheus_client import Counter, Gauge, Histogram


@dataclass(frozen=True)
class ServiceMetrics:
    calls: Counter
    seconds: Histogram
    outbox_published: Counter
    outbox_unroutable: Counter
    outbox_backlog: Gauge
    events_retried: Counter
    events_dead_lettered: Counter
    retention_deleted: Counter


@cache
def for_service(service: str) -> ServiceMetrics:
    return ServiceMetrics(
        calls=Counter(f"{service}_entrypoint_calls_total", "Entrypoint calls", ["entrypoint", "outcome"]),
        seconds=Histogram(f"{service}_entrypoint_seconds", "Entrypoint duration", ["entrypoint"]),
        outbox_published=Counter(f"{service}_outbox_published_total", "Events relayed from the outbox", ["event"]),
        outbox_unroutable=Counter(
            f"{service}_outbox_unroutable_total", "Relay attempts refused because no queue was bound", ["event"]
        ),
        outbox_backlog=Gauge(f"{service}_outbox_backlog", "Outbox rows not yet published"),
        events_retried=Counter(f"{service}_events_retried_total", "Event deliveries sent to retry", ["handler"]),
        events_dead_lettered=Counter(
            f"{service}_events_dead_lettered_total", "Events sent to the dead-letter queue", ["handler"]
        ),
        retention_deleted=Counter(f"{service}_retention_deleted_total",
                                  "Rows past their retention deleted (sent outbox rows, old claims)", ["table"]),
    )
