"""Dead letters: how a consumer parks a message it cannot process in ``<queue>.dlq`` (with why, and after how many
attempts), the queue consumer that parks what it cannot even hand to an entrypoint, and the operators' commands:

    python -m mppi.runtime.deadletters list
    python -m mppi.runtime.deadletters show <queue> [--limit N]
    python -m mppi.runtime.deadletters replay <queue> (--id MESSAGE_ID | --all)
    python -m mppi.runtime.deadletters purge <queue> --yes

``<queue>`` is a work queue or its ``.dlq``. Replay publishes each message back to its work queue with publisher
confirms and only then acks it in the dead-letter queue: a replay interrupted between the two sends a message twice
(the handlers are idempotent), never loses one; two replays at once each take different messages.
"""
from __future__ import annotations

import argparse
import logging
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import Any

import amqp
import kombu.serialization
from kombu import Connection, Queue
from nameko.amqp.publish import get_producer
from nameko.constants import HEADER_PREFIX
from nameko.messaging import QueueConsumer
from nameko.rpc import RpcConsumer

from mppi.runtime import metrics

log = logging.getLogger(__name__)

SUFFIX = ".dlq"
ATTEMPT_HEADER = "x-mppi-attempt"  # deliveries that failed so far
FAILURE_HEADER = "x-mppi-failure"  # the last failure: exception class and message, truncated
DEAD_LETTERED_AT_HEADER = "x-mppi-dead-lettered-at"
REPLAYS_HEADER = "x-mppi-replays"
CORRELATION_HEADER = f"{HEADER_PREFIX}.correlation_id"
FAILURE_MAX = 500
BODY_SHOWN = 300
RPC_METRIC_LABEL = "rpc"


class PoisonMessage(Exception):
    """A message no retry can make processable (unreadable, or not what its consumer reads): parked at once."""


def dead_letter_queue(queue: str) -> str:
    return queue if queue.endswith(SUFFIX) else queue + SUFFIX


def work_queue(queue: str) -> str:
    return queue.removesuffix(SUFFIX)


def failure(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:FAILURE_MAX]


def attempt_of(message) -> int:
    """The number of this delivery of ``message``: 1 + the failed ones before it."""
    try:
        return int((message.headers or {}).get(ATTEMPT_HEADER, 0)) + 1
    except (TypeError, ValueError):
        return 1


# -- parking (the consumers' side) --------------------------------------------------------------------------------


def park(config: dict, queue_consumer: QueueConsumer, message, target: str, *, attempt: int,
         exc: BaseException, dead: bool, declare: Queue | None = None) -> bool:
    """Publish a copy of ``message`` (body and properties as they came, with the attempt count and the failure in
    its headers) to the queue ``target`` (declared as ``declare``, else plain and durable), confirmed, then ack the
    original; False, with the original requeued, when the broker refused the copy. ``dead``: ``target`` is a
    dead-letter queue (else a retry queue)."""
    headers = dict(message.headers or {})
    headers[ATTEMPT_HEADER] = attempt
    headers[FAILURE_HEADER] = failure(exc)
    properties = {k: v for k, v in message.properties.items()
                  if k in ("correlation_id", "reply_to", "message_id", "timestamp", "type", "app_id")}
    if dead:
        headers[DEAD_LETTERED_AT_HEADER] = datetime.now(UTC).isoformat(timespec="seconds")
        properties.setdefault("message_id", str(uuid.uuid4()))  # so an operator can name it to replay it
    try:
        with get_producer(config["AMQP_URI"], True) as producer:
            producer.publish(
                message.body, exchange="", routing_key=target, headers=headers,
                # a body without a content type would be serialized again by kombu: say what it is, raw bytes
                content_type=message.content_type or "application/data",
                content_encoding=message.content_encoding or "binary",
                delivery_mode=2, declare=[declare or Queue(target, durable=True)], retry=True, **properties,
            )
    except Exception:
        log.warning("could not park a message in %s; requeueing it", target, exc_info=True)
        queue_consumer.requeue_message(message)
        return False
    queue_consumer.ack_message(message)
    return True


class GuardedQueueConsumer(QueueConsumer):
    """nameko's queue consumer, parking in ``<queue>.dlq`` what it cannot hand to an entrypoint: a body it cannot
    decode (kombu would log and drop it) and an RPC request nobody can answer (without ``reply_to``, or in a content
    type the service does not speak: nameko's reply to it raises, which kills the service, and the request comes
    back to kill the next one)."""

    @cached_property
    def _accepted(self) -> set[str]:
        return kombu.serialization.prepare_accept_content(self.accept)

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_decode_error = partial(self._undecodable, provider)
        return consumers

    def _undecodable(self, provider, message, exc: Exception) -> None:
        self._park_later(provider, message, PoisonMessage(f"cannot decode the body: {failure(exc)}"))

    def handle_message(self, provider, body, message):
        if isinstance(provider, RpcConsumer):
            if not message.properties.get("reply_to"):
                return self._park_later(provider, message, PoisonMessage("an RPC request without reply_to"))
            if message.content_type not in self._accepted:
                return self._park_later(provider, message, PoisonMessage(
                    f"an RPC request in content type {message.content_type!r}"))
        return super().handle_message(provider, body, message)

    def _park_later(self, provider, message, exc: PoisonMessage) -> None:
        # called on the consumer's own thread, which must go on draining: the publish waits for its confirm
        self.container.spawn_managed_thread(partial(self._park, provider, message, exc),
                                            identifier=f"park[{provider.queue.name}]")

    def _park(self, provider, message, exc: PoisonMessage) -> None:
        label = getattr(provider, "method_name", RPC_METRIC_LABEL)
        if park(self.container.config, self, message, dead_letter_queue(provider.queue.name),
                attempt=attempt_of(message), exc=exc, dead=True):
            metrics.for_service(self.container.service_name).events_dead_lettered.labels(label).inc()
            log.error("a message on %s was dead-lettered: %s", provider.queue.name, exc)


# -- the operators' side ------------------------------------------------------------------------------------------


@dataclass
class DeadLetter:
    message_id: str | None
    correlation_id: str | None
    attempts: int | None
    failure: str | None
    dead_lettered_at: str | None
    content_type: str | None
    headers: dict[str, Any]
    body: bytes

    @classmethod
    def of(cls, message: amqp.Message) -> DeadLetter:
        p = message.properties
        headers = dict(p.get("application_headers") or {})
        return cls(message_id=p.get("message_id"),
                   correlation_id=headers.get(CORRELATION_HEADER) or p.get("correlation_id"),
                   attempts=headers.get(ATTEMPT_HEADER), failure=headers.get(FAILURE_HEADER),
                   dead_lettered_at=headers.get(DEAD_LETTERED_AT_HEADER), content_type=p.get("content_type"),
                   headers=headers, body=_raw(message.body, p.get("content_encoding")))

    def render(self) -> str:
        body = self.body[:BODY_SHOWN].decode("utf-8", errors="replace")
        more = f" … ({len(self.body)} bytes)" if len(self.body) > BODY_SHOWN else ""
        others = {k: v for k, v in self.headers.items()
                  if k not in (ATTEMPT_HEADER, FAILURE_HEADER, DEAD_LETTERED_AT_HEADER, CORRELATION_HEADER)}
        return "\n".join([
            f"message {self.message_id}",
            f"  failure: {self.failure}",
            f"  attempts: {self.attempts}",
            f"  dead-lettered at: {self.dead_lettered_at}",
            f"  correlation id: {self.correlation_id}",
            f"  content type: {self.content_type}",
            f"  headers: {others}",
            f"  body: {body}{more}",
        ])


def _raw(body: bytes | str, encoding: str | None) -> bytes:
    # py-amqp hands over the body decoded when the message names its encoding
    return body.encode(encoding or "utf-8") if isinstance(body, str) else bytes(body)


def _depth(channel, queue: str) -> int:
    _, messages, _ = channel.queue_declare(queue, passive=True)
    return messages


def counts(conn: Connection, queues: list[str]) -> list[tuple[str, int]]:
    """(dead-letter queue, messages) of each of ``queues`` that has one."""
    found = []
    for queue in queues:
        channel = conn.channel()  # a passive declare of a missing queue closes its channel: one each
        try:
            found.append((dead_letter_queue(queue), _depth(channel, dead_letter_queue(queue))))
        except conn.channel_errors:
            continue
        finally:
            try:
                channel.close()
            except conn.connection_errors + conn.channel_errors:
                pass
    return found


def peek(channel, queue: str, *, limit: int) -> list[DeadLetter]:
    """The first ``limit`` dead letters of ``queue``, left in place."""
    dlq, taken = dead_letter_queue(queue), []
    try:
        for _ in range(min(limit, _depth(channel, dlq))):
            message = channel.basic_get(dlq, no_ack=False)
            if message is None:
                break
            taken.append(message)
    finally:
        for message in taken:
            channel.basic_reject(message.delivery_tag, requeue=True)
    return [DeadLetter.of(m) for m in taken]


def replay(channel, queue: str, *, message_id: str | None = None) -> int:
    """Move the dead letters of ``queue`` (only ``message_id``, when given) back to its work queue, each published
    with a confirm before it is acked here; the attempt count starts again. Returns how many were moved. Takes at
    most the messages there when it starts, so a message that fails again at once is not replayed in a loop."""
    dlq, target = dead_letter_queue(queue), work_queue(queue)
    _depth(channel, target)  # the work queue exists: an unroutable copy would not be an error to the broker
    passed, moved = [], 0
    try:
        for _ in range(_depth(channel, dlq)):
            message = channel.basic_get(dlq, no_ack=False)
            if message is None:
                break
            if message_id is not None and message.properties.get("message_id") != message_id:
                passed.append(message.delivery_tag)
                continue
            properties = dict(message.properties)
            headers = dict(properties.pop("application_headers", None) or {})
            headers.pop(ATTEMPT_HEADER, None)
            headers[REPLAYS_HEADER] = int(headers.get(REPLAYS_HEADER, 0)) + 1
            copy = amqp.Message(message.body, application_headers=headers, **properties)
            channel.basic_publish_confirm(copy, exchange="", routing_key=target, mandatory=True)
            channel.basic_ack(message.delivery_tag)
            moved += 1
            if message_id is not None:
                break
    finally:
        for tag in passed:
            channel.basic_reject(tag, requeue=True)
    return moved


def purge(channel, queue: str) -> int:
    return channel.queue_purge(dead_letter_queue(queue)) or 0


# -- the command line ---------------------------------------------------------------------------------------------


def _platform_queues() -> list[str]:
    from mppi.runtime import settings, topology  # the services' classes load only for the command that needs them

    return [q.name for q in topology.consumed_queues(settings.get().nameko_config())] + topology.retired_queues()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mppi.runtime.deadletters",
                                     description="List, show, replay and purge the platform's dead letters.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="the dead-letter queues of the platform's queues, with their message counts")
    show = commands.add_parser("show", help="the first dead letters of a queue, left in place")
    show.add_argument("queue")
    show.add_argument("--limit", type=int, default=10)
    again = commands.add_parser("replay", help="move dead letters back to their work queue")
    again.add_argument("queue")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", dest="message_id", help="only the message with this message id")
    which.add_argument("--all", action="store_true")
    drop = commands.add_parser("purge", help="delete every dead letter of a queue")
    drop.add_argument("queue")
    drop.add_argument("--yes", action="store_true", help="yes, delete them")
    return parser


def main(argv: list[str] | None = None) -> int:
    from mppi.runtime import settings

    args = _parser().parse_args(argv)
    if args.command == "purge" and not args.yes:
        print("purge deletes the messages for good: add --yes", file=sys.stderr)
        return 2
    if args.command == "replay" and work_queue(args.queue).startswith("rpc-"):
        print("RPC requests are not replayed (their callers stopped waiting long ago): show, then purge",
              file=sys.stderr)
        return 2
    uri = settings.get().amqp_uri
    with Connection(uri) as conn:
        try:
            return _run(conn, args)
        except conn.channel_errors as exc:  # a queue that does not exist
            print(exc, file=sys.stderr)
            return 1
        except conn.connection_errors as exc:
            print(f"the broker at {uri.split('@')[-1]} refused or cannot be reached: {exc}", file=sys.stderr)
            return 1


def _run(conn: Connection, args: argparse.Namespace) -> int:
    if args.command == "list":
        found = counts(conn, _platform_queues())
        for dlq, messages in found:
            print(f"{dlq}\t{messages}")
        if not found:
            print("no dead-letter queues", file=sys.stderr)
        return 0
    channel = conn.channel()
    if args.command == "show":
        letters = peek(channel, args.queue, limit=args.limit)
        print("\n".join(letter.render() for letter in letters) or f"{dead_letter_queue(args.queue)} is empty")
        return 0
    if args.command == "replay":
        moved = replay(channel, args.queue, message_id=args.message_id)
        print(f"replayed {moved} to {work_queue(args.queue)}")
        return 0 if moved or args.all else 1
    print(f"purged {purge(channel, args.queue)} from {dead_letter_queue(args.queue)}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
