#!/usr/bin/env python3
"""Subscribe a regional system to MPPI's public event feed (AMQP). Copy this file; it needs only ``pika`` (1.x).

Get credentials once as a tenant admin (the password is shown once)::

    curl -s -XPOST https://<mppi>/api/v1/tenants/<tenant>/subscriptions \\
         -H "Authorization: Bearer $TOKEN" -d '{"kind": "amqp"}'
    # -> {"id": ..., "kind": "amqp", "amqp": {"url": "amqp://sub-...", "username": ..., "password": ...,
    #     "exchange": "mppi.public", "routing_key_prefix": "<tenant>.", "queue_prefix": "sub.<tenant>.<id8>."}}

Run it::

    pip install pika
    export MPPI_AMQP_URL='amqp://sub-<tenant>-<id8>:<password>@<host>:5672/<vhost>'
    export MPPI_TENANT=<tenant>
    export MPPI_QUEUE_PREFIX='sub.<tenant>.<id8>.'
    python regional_subscriber.py            # or: --url ... --tenant ... --queue-prefix ...

What it does: declares the durable queue ``<queue_prefix>events`` (dead-lettering to the fanout exchange
``<queue_prefix>dlx`` and its queue ``<queue_prefix>dead``), binds it to ``mppi.public`` with
``<tenant>.application.*``, takes up to 20 unacknowledged messages at a time, validates each CloudEvent, calls
:func:`handle` (replace it with your own code: it must be safe to run twice for the same event id, since delivery is
at least once), then acknowledges. A message it cannot parse or validate goes to the dead-letter queue; a handler
error is retried once (requeued), then dead-lettered. Event ids already handled (a bounded recent set) are skipped.
When the connection is lost (broker restart, network) it reconnects with exponential back-off; Ctrl-C or SIGTERM
stops it cleanly (unacknowledged messages return to the queue). Revoked or wrong credentials stop it (exit 2).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import random
import re
import signal
import sys
import time
from collections import OrderedDict
from typing import Any

import pika
import pika.exceptions

log = logging.getLogger("regional_subscriber")

EXCHANGE = "mppi.public"
CONTENT_TYPES = {"application/cloudevents+json", "application/json"}
TYPE_RE = re.compile(r"^id\.mppi\.application\.([a-z_]+)\.v1$")
REQUIRED_DATA = ("application_id", "tracking_number", "status")


class InvalidEvent(ValueError):
    """The message is not a CloudEvent of this feed (it is dead-lettered, never retried)."""


def validate(body: bytes | str, tenant: str, content_type: str | None = None) -> dict[str, Any]:
    """Parse and check one message body; returns the CloudEvent as a dict or raises :class:`InvalidEvent`."""
    if content_type:
        base = content_type.split(";", 1)[0].strip().lower()
        if base not in CONTENT_TYPES:
            raise InvalidEvent(f"unexpected content type {content_type!r}")
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise InvalidEvent("not a JSON object")
    if event.get("specversion") != "1.0":
        raise InvalidEvent(f"specversion {event.get('specversion')!r} is not '1.0'")
    for key in ("id", "time"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise InvalidEvent(f"missing {key}")
    if event.get("source") != f"/tenants/{tenant}":
        raise InvalidEvent(f"source {event.get('source')!r} is not /tenants/{tenant}")
    if not isinstance(event.get("type"), str) or not TYPE_RE.match(event["type"]):
        raise InvalidEvent(f"type {event.get('type')!r} is not id.mppi.application.<x>.v1")
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidEvent("missing data object")
    missing = [k for k in REQUIRED_DATA if not data.get(k)]
    if missing:
        raise InvalidEvent(f"data lacks {', '.join(missing)}")
    return event


def handle(event: dict[str, Any]) -> None:
    """Replace me: update your own system. Must be idempotent (the same event id may arrive again)."""
    data = event["data"]
    kind = TYPE_RE.match(event["type"]).group(1)
    print(f"{event['time']} {kind} {data['tracking_number']} application={data['application_id']} "
          f"status={data['status']} id={event['id']}", flush=True)


class SeenIds:
    """The most recent ``size`` event ids, to skip redeliveries of events already handled."""

    def __init__(self, size: int = 10_000):
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._ids

    def add(self, event_id: str) -> None:
        self._ids[event_id] = None
        self._ids.move_to_end(event_id)
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)


class Fatal(Exception):
    """Retrying will not help (wrong or revoked credentials, a refused declaration)."""


class Subscriber:
    def __init__(self, url: str, tenant: str, queue_prefix: str, *, prefetch: int = 20, heartbeat: int = 30,
                 max_backoff: float = 60.0):
        self.url, self.tenant, self.queue_prefix = url, tenant, queue_prefix
        self.queue = f"{queue_prefix}events"
        self.prefetch, self.heartbeat, self.max_backoff = prefetch, heartbeat, max_backoff
        self.seen = SeenIds()
        self.connection: pika.BlockingConnection | None = None

    def parameters(self) -> pika.URLParameters:
        params = pika.URLParameters(self.url)
        params.heartbeat = self.heartbeat
        params.blocked_connection_timeout = 60
        params.connection_attempts = 1  # the loop in run() retries, with back-off
        params.socket_timeout = 10
        params.client_properties = {"connection_name": f"regional-subscriber {self.tenant}"}
        return params

    def setup(self, channel) -> None:
        dlx, dead = f"{self.queue_prefix}dlx", f"{self.queue_prefix}dead"
        channel.exchange_declare(dlx, "fanout", durable=True)
        channel.queue_declare(dead, durable=True)
        channel.queue_bind(dead, dlx)
        channel.queue_declare(self.queue, durable=True, arguments={"x-dead-letter-exchange": dlx})
        channel.queue_bind(self.queue, EXCHANGE, f"{self.tenant}.application.*")
        channel.basic_qos(prefetch_count=self.prefetch)

    def on_message(self, channel, method, properties, body: bytes) -> None:
        try:
            event = validate(body, self.tenant, properties.content_type)
        except InvalidEvent as exc:
            log.warning("dead-lettering message %s: %s", properties.message_id or method.delivery_tag, exc)
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        if event["id"] in self.seen:
            channel.basic_ack(method.delivery_tag)
            return
        try:
            handle(event)
        except Exception:
            retry = not method.redelivered
            log.exception("handler failed for event %s (%s)", event["id"], "requeued" if retry else "dead-lettered")
            channel.basic_nack(method.delivery_tag, requeue=retry)
            return
        self.seen.add(event["id"])
        channel.basic_ack(method.delivery_tag)

    def run(self) -> None:
        backoff = 1.0
        while True:
            try:
                self.connection = pika.BlockingConnection(self.parameters())
                channel = self.connection.channel()
                self.setup(channel)
                channel.basic_consume(self.queue, self.on_message)
                log.info("consuming from %s (%s.application.*)", self.queue, self.tenant)
                backoff = 1.0
                channel.start_consuming()
                log.warning("consumer cancelled by the broker (queue deleted?); reconnecting in %.0fs", backoff)
            except (pika.exceptions.ProbableAuthenticationError, pika.exceptions.AuthenticationError,
                    pika.exceptions.ProbableAccessDeniedError) as exc:
                raise Fatal(f"credentials refused: {exc}") from exc
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code in (403, 406):  # ACCESS_REFUSED, PRECONDITION_FAILED: retrying will not help
                    raise Fatal(f"channel closed by broker: {exc}") from exc
                log.warning("channel closed by broker (%s); reconnecting in %.0fs", exc, backoff)
            except pika.exceptions.ConnectionClosedByBroker as exc:
                if exc.reply_code == 320 and "is deleted" in (exc.reply_text or ""):  # user deleted: revoked
                    raise Fatal(f"credentials revoked: {exc.reply_text}") from exc
                log.warning("connection closed by broker (%s); reconnecting in %.0fs", exc, backoff)
            except (pika.exceptions.StreamLostError, pika.exceptions.AMQPConnectionError) as exc:
                log.warning("connection lost (%s); reconnecting in %.0fs", type(exc).__name__, backoff)
            finally:
                self._close()
            time.sleep(backoff + random.uniform(0, backoff / 2))
            backoff = min(backoff * 2, self.max_backoff)

    def _close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except pika.exceptions.AMQPError:
                pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--url", default=os.environ.get("MPPI_AMQP_URL"), help="amqp URL (env MPPI_AMQP_URL)")
    parser.add_argument("--tenant", default=os.environ.get("MPPI_TENANT"), help="tenant slug (env MPPI_TENANT)")
    parser.add_argument("--queue-prefix", default=os.environ.get("MPPI_QUEUE_PREFIX"),
                        help="queue prefix of the credentials (env MPPI_QUEUE_PREFIX)")
    parser.add_argument("--prefetch", type=int, default=20)
    args = parser.parse_args(argv)
    missing = [n for n in ("url", "tenant", "queue_prefix") if not getattr(args, n)]
    if missing:
        parser.error("missing " + ", ".join("--" + n.replace("_", "-") for n in missing))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("pika").setLevel(logging.CRITICAL)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    subscriber = Subscriber(args.url, args.tenant, args.queue_prefix, prefetch=args.prefetch)
    try:
        subscriber.run()
    except KeyboardInterrupt:
        log.info("stopping")
    except Fatal as exc:
        log.error("%s", exc)
        return 2
    finally:
        subscriber._close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
