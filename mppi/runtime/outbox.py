"""The outbox relay: publishes committed outbox rows as nameko events, with confirms and ``mandatory``.

Rows are taken in batches under ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) so several replicas share the work; a row
is marked sent only after the broker confirmed it. A row no queue is bound for stays unsent and is retried with
back-off, so an event is never dropped because its consumer had not yet declared its queue.
"""
from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

import sqlalchemy as sa
from kombu import Exchange
from nameko.amqp.publish import Publisher, UndeliverableMessage
from nameko.constants import PERSISTENT
from sqlalchemy.engine import Engine

from mppi.runtime.database import utcnow
from mppi.runtime.metrics import ServiceMetrics

log = logging.getLogger(__name__)

BATCH = 200
UNROUTABLE_BACKOFF_MAX = 60.0


def event_exchange(source: str) -> Exchange:
    # the same exchange nameko's EventDispatcher and event_handler declare: "<service>.events", topic, durable
    return Exchange(f"{source}.events", type="topic", durable=True, delivery_mode=PERSISTENT)


class OutboxRelay:
    def __init__(self, *, engine: Engine, outbox: sa.Table, amqp_uri: str, metrics: ServiceMetrics,
                 poll_interval: float = 1.0):
        self.engine = engine
        self.outbox = outbox
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True, serializer="json",
                                   delivery_mode=PERSISTENT)
        self._wake = threading.Event()
        self._running = False
        self._declared: set[str] = set()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._running = False
        self._wake.set()

    def run(self) -> None:
        """Loop until stopped: relay what is due, then sleep until woken by a commit or the poll interval."""
        self._running = True
        failures = 0
        while self._running:
            self._wake.clear()  # before relaying: a commit landing while we relay wakes the next round
            try:
                relayed = self.relay_once()
                failures = 0
            except Exception:  # broker or database down: keep the rows, try again later
                failures += 1
                log.warning("outbox relay failed; retrying", exc_info=True)
                relayed = 0
                self._wake.wait(min(30.0, 0.5 * 2**failures))
            if relayed >= BATCH:
                continue
            self._wake.wait(self.poll_interval)

    def relay_once(self) -> int:
        o = self.outbox
        now = utcnow()
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(o.c.id, o.c.event_id, o.c.source, o.c.event_type, o.c.payload, o.c.correlation_id,
                          o.c.attempts)
                .where(o.c.sent_at.is_(None), o.c.next_attempt_at <= now)
                .order_by(o.c.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                headers = {"nameko.correlation_id": row.correlation_id} if row.correlation_id else {}
                exchange = event_exchange(row.source)
                declare = [] if row.source in self._declared else [exchange]
                try:
                    self.publisher.publish(
                        json.loads(row.payload), exchange=exchange, routing_key=row.event_type,
                        extra_headers=headers, declare=declare, message_id=row.event_id,
                    )
                except UndeliverableMessage:
                    delay = min(UNROUTABLE_BACKOFF_MAX, 2.0 ** min(row.attempts, 6))
                    conn.execute(o.update().where(o.c.id == row.id).values(
                        attempts=row.attempts + 1, next_attempt_at=now + timedelta(seconds=delay)))
                    self.metrics.outbox_unroutable.labels(row.event_type).inc()
                    log.warning("event %s has no bound queue yet; retrying in %.0fs", row.event_type, delay)
                    continue
                self._declared.add(row.source)
                conn.execute(o.update().where(o.c.id == row.id).values(sent_at=utcnow(), attempts=row.attempts + 1))
                self.metrics.outbox_published.labels(row.event_type).inc()
            backlog = conn.execute(sa.select(sa.func.count()).select_from(o).where(o.c.sent_at.is_(None))).scalar()
        self.metrics.outbox_backlog.set(backlog)
        return len(rows)
