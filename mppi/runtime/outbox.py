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
from dataclasses import dataclass, field
from datetime import timedelta

import amqp
import sqlalchemy as sa
from kombu import Connection
from nameko.constants import PERSISTENT
from sqlalchemy.engine import Engine

from mppi.runtime.database import utcnow
from mppi.runtime.loops import WakeableLoop
from mppi.runtime.metrics import ServiceMetrics

log = logging.getLogger(__name__)

BATCH = 200
UNROUTABLE_BACKOFF_MAX = 60.0
CONFIRM_TIMEOUT = 15.0
BACKLOG_EVERY = 1.0  # seconds between counts of the unsent rows for the backlog gauge


@dataclass
class Outcome:
    confirmed: set[str] = field(default_factory=set)  # message ids the broker took
    returned: set[str] = field(default_factory=set)  # message ids no queue was bound for


class ConfirmingChannel:
    """One AMQP channel in confirm mode that publishes a batch and then waits for all of its confirms."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self._connection: Connection | None = None
        self._channel = None
        self._declared: set[str] = set()
        self._tag = 0
        self._waiting: dict[int, str] = {}  # delivery tag -> message id
        self._outcome = Outcome()

    def _open(self):
        if self._channel is None:
            self._connection = Connection(self.amqp_uri)
            self._connection.connect()
            channel = self._connection.channel()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            channel.confirm_select()
            self._channel, self._tag, self._declared = channel, 0, set()
        return self._channel

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:
                log.debug("closing the outbox connection failed", exc_info=True)

    def publish(self, messages: list[tuple[str, str, str, bytes, dict]]) -> Outcome:
        """Publish ``(message id, exchange, routing key, JSON body, headers)`` each; what was confirmed and what
        came back unroutable. Raises (and starts afresh next time) when the broker fails or is too slow."""
        try:
            channel = self._open()
            self._outcome, self._waiting = Outcome(), {}
            for message_id, exchange, routing_key, body, headers in messages:
                if exchange not in self._declared:
                    channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
                    self._declared.add(exchange)
                channel.basic_publish(
                    amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                                 delivery_mode=PERSISTENT, message_id=message_id, application_headers=headers),
                    exchange=exchange, routing_key=routing_key, mandatory=True)
                self._tag += 1
                self._waiting[self._tag] = message_id
            deadline = time.monotonic() + CONFIRM_TIMEOUT
            while self._waiting:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._waiting)} publishes not confirmed in {CONFIRM_TIMEOUT:.0f}s")
                self._connection.drain_events(timeout=left)
            return self._outcome
        except BaseException:
            self.close()
            raise

    def _settle(self, tag: int, multiple: bool, confirmed: bool) -> None:
        tags = [t for t in self._waiting if t <= tag] if multiple else [tag]
        for t in tags:
            message_id = self._waiting.pop(t, None)
            if message_id is not None and confirmed:
                self._outcome.confirmed.add(message_id)

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, True)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        self._settle(delivery_tag, multiple, False)  # the broker could not take it: it stays unsent

    def _on_return(self, exc, exchange, routing_key, message) -> None:
        # comes before the message's ack: the broker took it, but no queue was bound for it
        self._outcome.returned.add(message.properties.get("message_id"))


class OutboxRelay:
    def __init__(self, *, engine: Engine, outbox: sa.Table, amqp_uri: str, metrics: ServiceMetrics,
                 poll_interval: float = 1.0):
        self.engine = engine
        self.outbox = outbox
        self.metrics = metrics
        self.channel = ConfirmingChannel(amqp_uri)
        self._count_after = 0.0
        self.loop = WakeableLoop(lambda: self.relay_once() >= BATCH, interval=poll_interval, name="outbox relay")

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
