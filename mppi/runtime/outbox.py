"""The outbox relay: publishes committed outbox rows as nameko events, persistent, ``mandatory``, confirmed.

Rows are taken in batches under ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) so several replicas share the work; a row
is marked sent only after the broker confirmed it. A batch is published on one channel in confirm mode and its
confirms are awaited together (one broker round trip a batch, not one a row: under load each round trip also waits
its turn among the service's busy green threads). A row no queue is bound for comes back (``basic.return``), stays
unsent and is retried with back-off, so an event is never dropped because its consumer had not yet declared its
queue. A batch whose confirms do not all arrive is left unsent and published again: consumers skip an event id they
have seen.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mppi.runtime.confirms import ConfirmingChannel
from mppi.runtime.database import utcnow
from mppi.runtime.loops import WakeableLoop
from mppi.runtime.metrics import ServiceMetrics

log = logging.getLogger(__name__)

BATCH = 200
UNROUTABLE_BACKOFF_MAX = 60.0
GATHER = 0.01  # seconds a woken relay lets more commits land before its round (an event's latency, not its safety)
BACKLOG_EVERY = 1.0  # seconds between counts of the unsent rows for the backlog gauge


class OutboxRelay:
    def __init__(self, *, engine: Engine, outbox: sa.Table, amqp_uri: str, metrics: ServiceMetrics,
                 poll_interval: float = 1.0):
        self.engine = engine
        self.outbox = outbox
        self.metrics = metrics
        self.channel = ConfirmingChannel(amqp_uri)
        self._count_after = 0.0
        self.loop = WakeableLoop(lambda: self.relay_once() >= BATCH, interval=poll_interval, name="outbox relay",
                                 gather=GATHER)

    def wake(self) -> None:
        self.loop.wake()

    def stop(self) -> None:
        self.loop.stop()
        self.channel.close()

    def run(self) -> None:
        """Relay until stopped: at once after a full batch, else when a commit wakes it or every poll interval."""
        self.loop.run()

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
            if rows:
                outcome = self.channel.publish([
                    (row.event_id, f"{row.source}.events", row.event_type, row.payload.encode(),
                     {"nameko.correlation_id": row.correlation_id} if row.correlation_id else {})
                    for row in rows])
                sent = [r for r in rows if r.event_id in outcome.confirmed and r.event_id not in outcome.returned]
                if sent:
                    conn.execute(o.update().where(o.c.id.in_([r.id for r in sent]))
                                 .values(sent_at=utcnow(), attempts=o.c.attempts + 1))
                for row in sent:
                    self.metrics.outbox_published.labels(row.event_type).inc()
                for row in rows:
                    if row.event_id in outcome.returned:
                        delay = min(UNROUTABLE_BACKOFF_MAX, 2.0 ** min(row.attempts, 6))
                        conn.execute(o.update().where(o.c.id == row.id).values(
                            attempts=row.attempts + 1, next_attempt_at=now + timedelta(seconds=delay)))
                        self.metrics.outbox_unroutable.labels(row.event_type).inc()
                        log.warning("event %s has no bound queue yet; retrying in %.0fs", row.event_type, delay)
            if time.monotonic() >= self._count_after:  # a gauge: once a second is enough, not once a round
                backlog = conn.execute(sa.select(sa.func.count()).select_from(o).where(o.c.sent_at.is_(None))
                                       ).scalar()
                self.metrics.outbox_backlog.set(backlog)
                self._count_after = time.monotonic() + BACKLOG_EVERY
        return len(rows)
