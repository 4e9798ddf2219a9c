"""Event handlers that lose nothing: a handler that raises is retried with back-off through TTL retry queues
that dead-letter back to its work queue, and after bounded attempts its message lands in ``<queue>.dlq``.

nameko's own ``event_handler`` acks and drops a message whose handler raised; this one never does.
"""
from __future__ import annotations

import logging

from kombu import Queue
from nameko.amqp.publish import get_producer
from nameko.events import BROADCAST, SERVICE_POOL, EventHandler

from mppi.runtime import metrics

log = logging.getLogger(__name__)

RETRY_DELAYS_MS = (1_000, 5_000, 30_000, 120_000, 600_000)
ATTEMPT_HEADER = "x-mppi-attempt"


class ReliableEventHandler(EventHandler):
    def __init__(self, source_service: str, event_type: str, *, max_attempts: int = 5,
                 retry_delays_ms: tuple[int, ...] = RETRY_DELAYS_MS, **kwargs):
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL, reliable_delivery=True,
                         requeue_on_error=False, **kwargs)
        self.max_attempts = max_attempts
        self.retry_delays_ms = retry_delays_ms

    def retry_queue(self, delay_ms: int) -> Queue:
        return Queue(
            f"{self.queue.name}.retry.{delay_ms}", durable=True,
            queue_arguments={"x-message-ttl": delay_ms, "x-dead-letter-exchange": "",
                             "x-dead-letter-routing-key": self.queue.name},
        )

    def dead_letter_queue(self) -> Queue:
        return Queue(f"{self.queue.name}.dlq", durable=True)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0)) + 1
        m = metrics.for_service(self.container.service_name)
        handler = self.method_name
        if attempt < self.max_attempts:
            delay = self.retry_delays_ms[min(attempt - 1, len(self.retry_delays_ms) - 1)]
            target = self.retry_queue(delay)
            m.events_retried.labels(handler).inc()
        else:
            target = self.dead_letter_queue()
            m.events_dead_lettered.labels(handler).inc()
            log.error("event %s dead-lettered after %d attempts", self.event_type, attempt)
        try:
            self._republish(message, target, attempt)
        except Exception:
            # the broker refused the copy: put the original back rather than lose it
            log.warning("could not park failed event %s; requeueing", self.event_type, exc_info=True)
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)

    def _republish(self, message, target: Queue, attempt: int) -> None:
        headers = dict(message.headers or {})
        headers[ATTEMPT_HEADER] = attempt
        config = self.container.config
        with get_producer(config["AMQP_URI"], True) as producer:
            producer.publish(
                message.body, exchange="", routing_key=target.name, headers=headers,
                content_type=message.content_type, content_encoding=message.content_encoding,
                delivery_mode=2, declare=[target], retry=True,
            )


class CacheEventHandler(EventHandler):
    """A broadcast handler for caches every process keeps (each replica gets every event)."""

    def __init__(self, source_service: str, event_type: str, **kwargs):
        super().__init__(source_service, event_type, handler_type=BROADCAST, reliable_delivery=False, **kwargs)


event_handler = ReliableEventHandler.decorator
cache_event_handler = CacheEventHandler.decorator
