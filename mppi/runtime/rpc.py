"""RPC over RabbitMQ, both ends. The services' ``@rpc`` entrypoint, and for callers outside a service (the gateway)
a pool of lean RPC slots with a timeout, whose failures become ``DependencyUnavailable`` (503) instead of a hang or
a 500. Both ends speak nameko's RPC protocol (exchange, routing keys, headers, bodies, errors), but publish straight
on a connection and channel of their own instead of through nameko's and kombu's pools: that machinery was a
quarter of the gateway's CPU and an eighth of every service's under load.

Requests and replies travel transient and without publisher confirms: a confirm is a broker round trip per message,
a fifth of the CPU of the gateway and the services under load, and buys nothing here: the caller waits for the reply
with a timeout anyway, so a request or reply lost with a dying connection ends as a 503 the client may retry, never
as a false answer. Requests are ``mandatory``: one for a service whose queue does not exist (it never started) comes
back from the broker at once, instead of ending at the timeout.
Events and the outbox keep their confirms and persistence: those must not be lost.
"""
from __future__ import annotations

import collections
import logging
import sys
import time
import uuid
from typing import Any

import amqp
import eventlet
import kombu
import kombu.serialization
from eventlet.semaphore import Semaphore
from kombu.exceptions import OperationalError
from nameko import rpc as nameko_rpc
from nameko import serialization
from nameko.constants import AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, HEADER_PREFIX, LOGIN_METHOD_CONFIG_KEY
from nameko.exceptions import UnknownService, UnserializableValueError, deserialize, serialize

from mppi.contracts.errors import DependencyUnavailable
from mppi.runtime.deadletters import GuardedQueueConsumer
from mppi.runtime.logging import correlation_id, new_correlation_id

log = logging.getLogger(__name__)

TRANSIENT = 1
# what a lost or closed broker connection raises (TimeoutError is an OSError too: callers catch it first)
BROKER_ERRORS = (OSError, amqp.exceptions.AMQPError, OperationalError)
# the real poll, even under eventlet's monkey patching: asks without blocking whether a socket has unread bytes
_select = eventlet.patcher.original("select")


class _Link:
    """One AMQP connection and one channel, used by one green thread at a time."""

    def __init__(self, config: dict):
        self._kombu = kombu.Connection(config[AMQP_URI_CONFIG_KEY], ssl=config.get(AMQP_SSL_CONFIG_KEY),
                                       login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        try:
            self._kombu.connect()
            self.connection: amqp.Connection = self._kombu.connection
            self.channel: amqp.Channel = self.connection.channel()
        except BaseException:
            self.drop()
            raise

    def still_open(self) -> bool:
        """Handle what the broker sent since the last read (a late reply, or a close); False, with the link dropped,
        when the broker closed it.

        Neither end reads its connection between messages, so a connection the broker closed (a restart, a forced
        close) would otherwise swallow the next message; checking first lets the message go on a fresh one."""
        poller = _select.poll()
        try:
            poller.register(self.connection.sock.fileno(), _select.POLLIN)
            while poller.poll(0):
                try:
                    self.connection.drain_events(timeout=0)
                except TimeoutError:
                    break
            return True
        except BROKER_ERRORS:
            self.drop()
            return False

    def close(self) -> None:
        try:
            self._kombu.close()
        except Exception:
            log.debug("closing an AMQP connection failed", exc_info=True)

    def drop(self) -> None:
        """Close without the closing handshake: for a connection that failed or whose state is unknown."""
        try:
            self._kombu.collect()
        except Exception:
            log.debug("dropping an AMQP connection failed", exc_info=True)


# -- the serving side ---------------------------------------------------------------------------------------------


class _RpcConsumer(nameko_rpc.RpcConsumer):
    """nameko's RPC consumer, replying on one connection of its own (nameko makes a publisher per reply)."""

    queue_consumer = GuardedQueueConsumer()  # a request it cannot read or answer goes to rpc-<service>.dlq

    def __init__(self):
        super().__init__()
        self._link: _Link | None = None
        self._replying = Semaphore()  # many workers reply at once; one message's frames must not interleave

    def setup(self):
        super().setup()
        self._exchange = nameko_rpc.get_rpc_exchange(self.container.config).name

    def handle_result(self, message, result, exc_info):
        # as nameko's Responder.send_response: errors serialized, the reply in the request's serializer, and a
        # result that cannot be serialized replaced by an UnserializableValueError
        error = None if exc_info is None else serialize(exc_info[1])
        serializer = kombu.serialization.registry.type_to_name[message.properties["content_type"]]
        try:
            content_type, encoding, body = kombu.serialization.dumps({"result": result, "error": error}, serializer)
        except Exception:
            exc_info = sys.exc_info()
            error = serialize(UnserializableValueError(result))
            result = None
            content_type, encoding, body = kombu.serialization.dumps({"result": None, "error": error}, serializer)
        reply = amqp.Message(body, content_type=content_type, content_encoding=encoding, delivery_mode=TRANSIENT,
                             correlation_id=message.properties.get("correlation_id"))
        self._reply(reply, message.properties["reply_to"])
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _reply(self, reply: amqp.Message, reply_to: str) -> None:
        with self._replying:
            for attempt in (1, 2):
                if self._link is not None and not self._link.still_open():
                    self._link = None
                try:
                    if self._link is None:
                        self._link = _Link(self.container.config)
                    self._link.channel.basic_publish(reply, exchange=self._exchange, routing_key=reply_to)
                    return
                except BROKER_ERRORS:
                    self._drop_link()
                    if attempt == 2:
                        # the caller's timeout covers a lost reply (see the module's docstring)
                        log.warning("an RPC reply could not be sent: the message broker is unreachable",
                                    exc_info=True)
                except BaseException:  # killed mid-publish: part of a message may be on the wire
                    self._drop_link()
                    raise

    def _drop_link(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.drop()

    def stop(self):
        super().stop()
        link, self._link = self._link, None
        if link is not None:
            link.close()

    def kill(self):
        super().kill()
        self._drop_link()


class Rpc(nameko_rpc.Rpc):
    """nameko's ``@rpc``, answering without publisher confirms (every method of a service must use this one: the
    consumer of the service's queue is shared by entrypoint class)."""

    rpc_consumer = _RpcConsumer()


rpc = Rpc.decorator


# -- the calling side ---------------------------------------------------------------------------------------------


class _Slot(_Link):
    """A link with an exclusive reply queue of its own; makes one call at a time. A reply to an earlier call that
    timed out arrives with another correlation id and is dropped, so the slot outlives a timeout."""

    def __init__(self, config: dict, exchange: str):
        super().__init__(config)
        self.exchange = exchange
        self.reply_to = f"rpc.reply-standalone_rpc_proxy-{uuid.uuid4()}"
        self._awaited: str | None = None
        self._reply: amqp.Message | None = None
        self._returned = False  # the awaited request came back unroutable
        try:
            self.channel.events["basic_return"].add(self._on_return)
            self.channel.exchange_declare(exchange, "topic", durable=True, auto_delete=False)
            self.channel.queue_declare(self.reply_to, exclusive=True, auto_delete=True)
            self.channel.queue_bind(self.reply_to, exchange, routing_key=self.reply_to)
            self.channel.basic_consume(self.reply_to, no_ack=True, callback=self._on_reply)
        except BaseException:
            self.drop()
            raise

    def _on_reply(self, message: amqp.Message) -> None:
        if message.properties.get("correlation_id") == self._awaited:
            self._awaited, self._reply = None, message

    def _on_return(self, exc, exchange, routing_key, message: amqp.Message) -> None:
        if message.properties.get("correlation_id") == self._awaited:
            self._awaited, self._returned = None, True

    def call(self, routing_key: str, request: amqp.Message, timeout: float) -> amqp.Message:
        """Send the request and wait for its reply; ``TimeoutError`` when none came in ``timeout`` seconds,
        ``UnknownService`` when no queue takes it."""
        self._awaited = request.properties["correlation_id"]
        request.properties["reply_to"] = self.reply_to
        self.channel.basic_publish(request, exchange=self.exchange, routing_key=routing_key, mandatory=True)
        deadline = time.monotonic() + timeout
        try:
            while self._reply is None:
                if self._returned:
                    raise UnknownService(routing_key.split(".", 1)[0])
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError()
                self.connection.drain_events(timeout=remaining)
            return self._reply
        finally:
            self._awaited = self._reply = None
            self._returned = False


class RpcClient:
    """Calls services' RPC methods from outside a service: at most ``size`` at once to each service, each call on a
    slot of its own."""

    def __init__(self, config: dict, *, timeout: float, size: int = 16):
        self.config = config
        self.timeout = timeout
        self._exchange = nameko_rpc.get_rpc_exchange(config).name
        self._serializer, accept = serialization.setup(config)
        self._accept = kombu.serialization.prepare_accept_content(accept)
        self._idle: list[_Slot] = []
        # at most ``size`` calls at once to each service: a slow one cannot take the slots the others need
        self._limits: dict[str, Semaphore] = collections.defaultdict(lambda: Semaphore(size))

    def call(self, service: str, method: str, *args, timeout: float | None = None, **kwargs) -> Any:
        content_type, encoding, body = kombu.serialization.dumps({"args": args, "kwargs": kwargs}, self._serializer)
        cid = str(uuid.uuid4())
        # the worker context nameko's proxy sends: the services read the correlation id (and their call stack)
        headers = {f"{HEADER_PREFIX}.correlation_id": correlation_id.get() or new_correlation_id(),
                   f"{HEADER_PREFIX}.call_id_stack": [f"standalone_rpc_proxy.call.{cid}"]}
        timeout = timeout or self.timeout
        # a request nobody waits for any more is dropped by the broker instead of being worked on (a service that
        # was down or saturated would otherwise work through requests whose callers already answered 503)
        request = amqp.Message(body, content_type=content_type, content_encoding=encoding, delivery_mode=TRANSIENT,
                               correlation_id=cid, application_headers=headers, expiration=str(int(timeout * 1000)))
        with self._limits[service]:
            slot = self._checkout()
            try:
                reply = slot.call(f"{service}.{method}", request, timeout)
            except TimeoutError:
                self._idle.append(slot)
                raise DependencyUnavailable(f"{service} did not answer in time") from None
            except UnknownService:
                self._idle.append(slot)
                raise DependencyUnavailable(f"{service} is not running") from None
            except BROKER_ERRORS as exc:
                slot.drop()
                raise DependencyUnavailable("the message broker is unreachable") from exc
            except BaseException:  # killed mid-call (a green thread's timeout, shutdown): the slot's state is unknown
                slot.drop()
                raise
            self._idle.append(slot)
        body = kombu.serialization.loads(reply.body, reply.content_type, reply.content_encoding, accept=self._accept)
        error = body.get("error")
        if error:
            exc = deserialize(error)  # the platform's errors come back as themselves (see mppi.contracts.errors)
            if isinstance(exc, UnknownService):
                raise DependencyUnavailable(f"{service} is not running") from None
            raise exc
        return body["result"]

    def _checkout(self) -> _Slot:
        """An idle slot whose connection is still open (the broker may have closed it since), else a new one."""
        while self._idle:
            slot = self._idle.pop()
            if slot.still_open():
                return slot
        try:
            return _Slot(self.config, self._exchange)
        except BROKER_ERRORS as exc:
            raise DependencyUnavailable("the message broker is unreachable") from exc

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
