"""Retention of the runtime tables every service has. An outbox row stays a while after the broker confirmed it
(``MPPI_OUTBOX_KEEP_DAYS``, 7: what an operator reads when tracing an event), and the claim of an incoming event or
request while a redelivery, a dead letter's replay or a client's retry with its ``Idempotency-Key`` may still come
(``MPPI_CLAIMS_KEEP_DAYS``, 30). Without this both tables grow with every event and every request for ever.

A sweep runs when the service starts and every hour, in batches of ``BATCH`` rows (no transaction holds many), and
goes on at once after a full batch. Unsent outbox rows are never touched, however old."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mppi.runtime.database import utcnow
from mppi.runtime.loops import WakeableLoop
from mppi.runtime.metrics import ServiceMetrics

BATCH = 5000
EVERY = 3600.0  # seconds between sweeps


class Retention:
    def __init__(self, *, engine: Engine, metadata: sa.MetaData, metrics: ServiceMetrics, outbox_keep: timedelta,
                 claims_keep: timedelta):
        self.engine = engine
        self.outbox, self.claims = metadata.tables["outbox"], metadata.tables["processed_events"]
        self.metrics = metrics
        self.outbox_keep, self.claims_keep = outbox_keep, claims_keep
        self.loop = WakeableLoop(self.sweep_once, interval=EVERY, name="retention sweep")

    def run(self) -> None:
        self.loop.run()

    def stop(self) -> None:
        self.loop.stop()

    def sweep_once(self, now: datetime | None = None) -> bool:
        """Delete one batch of each table's expired rows; whether a batch was full (more may be waiting)."""
        now = now or utcnow()
        o, c = self.outbox, self.claims
        sent = sa.select(o.c.id).where(o.c.sent_at < now - self.outbox_keep).limit(BATCH)
        old = sa.select(c.c.handler, c.c.event_id).where(c.c.processed_at < now - self.claims_keep).limit(BATCH)
        with self.engine.begin() as conn:
            relayed = conn.execute(o.delete().where(o.c.id.in_(sent.scalar_subquery()))).rowcount
            claimed = conn.execute(c.delete().where(sa.tuple_(c.c.handler, c.c.event_id).in_(old))).rowcount
        self.metrics.retention_deleted.labels("outbox").inc(relayed)
        self.metrics.retention_deleted.labels("processed_events").inc(claimed)
        return relayed == BATCH or claimed == BATCH
