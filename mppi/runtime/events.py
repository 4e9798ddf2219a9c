"""Event handlers that lose nothing and that nothing blocks. A handler that raises is retried with back-off through
TTL retry queues that dead-letter back to its work queue, and after bounded attempts its message lands in
``<queue>.dlq``; a message that can never succeed (not a JSON object, not the event's contract, a version this code
does not read) lands there at once, and so does one the consumer cannot decode (see ``mppi.runtime.deadletters``,
which also holds the operators' commands to list, show, replay and purge them).

nameko's own ``event_handler`` acks and drops a message whose handler raised; this one never does.
"""
from __future__ import annotations

import logging
from functools import cache

from kombu import Queue
from nameko.events import BROADCAST, SERVICE_POOL, EventHandler
from pydantic import ValidationError

from mppi.contracts.errors import ValidationFailed, parse
from mppi.contracts.events import Event
from mppi.runtime import metrics
from mppi.runtime.deadletters import GuardedQueueConsumer, PoisonMessage, attempt_of, dead_letter_queue, park

log = logging.getLogger(__name__)

RETRY_DELAYS_MS = (1_000, 5_000, 30_000, 120_000, 600_000)
# failures of the message itself, not of the moment: retrying cannot mend them
NEVER_SUCCEEDS = (PoisonMessage, ValidationFailed, ValidationError)


@cache
def contracts() -> dict[tuple[str, str], type[Event]]:
    """Each event's contract by (source service, event type)."""
    found, todo = {}, [Event]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if isinstance(getattr(cls, "type", None), str) and isinstance(getattr(cls, "source", None), str):
            found[(cls.source, cls.type)] = cls
    return found


def check_event(source: str, event_type: str, body) -> None:
    """Raise ``PoisonMessage`` or ``ValidationFailed`` (naming the fields) unless ``body`` is an event this code
    reads: a JSON object of the version the contract's models write, valid against the contract when there is one."""
    if not isinstance(body, dict):
        raise PoisonMessage(f"the body is a {type(body).__name__}, not a JSON object")
    contract = contracts().get((source, event_type))
    known = (contract or Event).model_fields["version"].default
    version = body.get("version", known)
    if version != known or isinstance(version, bool):
        raise PoisonMessage(f"unknown event version {version!r}: this consumer reads version {known}")
    if contract is not None:
        parse(contract, body)


class ReliableEventHandler(EventHandler):
    queue_consumer = GuardedQueueConsumer()

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
        return Queue(dead_letter_queue(self.queue.name), durable=True)

    def handle_message(self, body, message):
        try:
            check_event(self.source_service, self.event_type, body)
            super().handle_message(body, message)
        except NEVER_SUCCEEDS as exc:
            self._dead_letter(message, exc, attempt=attempt_of(message))
        except Exception as exc:  # nameko could not start a worker for it (headers it cannot read)
            self._dead_letter(message, PoisonMessage(f"no worker could take it: {exc!r}"),
                              attempt=attempt_of(message))

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        attempt, exc = attempt_of(message), exc_info[1]
        if attempt >= self.max_attempts or isinstance(exc, NEVER_SUCCEEDS):
            self._dead_letter(message, exc, attempt=attempt)
            return
        delay = self.retry_delays_ms[min(attempt - 1, len(self.retry_delays_ms) - 1)]
        target = self.retry_queue(delay)
        if park(self.container.config, self.queue_consumer, message, target.name, attempt=attempt, exc=exc,
                dead=False, declare=target):
            metrics.for_service(self.container.service_name).events_retried.labels(self.method_name).inc()

    def _dead_letter(self, message, exc: BaseException, *, attempt: int) -> None:
        if park(self.container.config, self.queue_consumer, message, self.dead_letter_queue().name,
                attempt=attempt, exc=exc, dead=True):
            metrics.for_service(self.container.service_name).events_dead_lettered.labels(self.method_name).inc()
            log.error("event %s dead-lettered after %d attempts: %s", self.event_type, attempt, exc)


class CacheEventHandler(EventHandler):
    """A broadcast handler for caches every process keeps (each replica gets every event)."""

    def __init__(self, source_service: str, event_type: str, **kwargs):
        super().__init__(source_service, event_type, handler_type=BROADCAST, reliable_delivery=False, **kwargs)


event_handler = ReliableEventHandler.decorator
cache_event_handler = CacheEventHandler.decorator
