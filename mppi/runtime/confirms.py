"""Publishing that must not be lost: one AMQP channel in confirm mode that publishes a batch (of one or many) and then
waits for all of its confirms together, one broker round trip a batch. Used by the outbox relay and the public feed.
Exchanges are durable topic exchanges, declared on first use."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import amqp
from kombu import Connection
from nameko.constants import PERSISTENT

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT = 15.0


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
                log.debug("closing a confirming connection failed", exc_info=True)

    def publish(self, messages: list[tuple[str, str, str, bytes, dict]], *, content_type: str = "application/json",
                mandatory: bool = True) -> Outcome:
        """Publish ``(message id, exchange, routing key, JSON body, headers)`` each, persistent; what was confirmed
        and (``mandatory``) what came back unroutable. Raises (and starts afresh next time) when the broker fails or
        is too slow."""
        try:
            channel = self._open()
            self._outcome, self._waiting = Outcome(), {}
            for message_id, exchange, routing_key, body, headers in messages:
                if exchange not in self._declared:
                    channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
                    self._declared.add(exchange)
                channel.basic_publish(
                    amqp.Message(body, content_type=content_type, content_encoding="utf-8",
                                 delivery_mode=PERSISTENT, message_id=message_id, application_headers=headers),
                    exchange=exchange, routing_key=routing_key, mandatory=mandatory)
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
