"""RPC over RabbitMQ, both ends. The services' ``@rpc`` entrypoint, and for callers outside a service (the gateway)
a pool of nameko standalone proxies with a timeout, whose failures become ``DependencyUnavailable`` (503) instead of
a hang or a 500.

Requests and replies travel transient and without publisher confirms: a confirm is a broker round trip per message,
a fifth of the CPU of the gateway and the services under load, and buys nothing here: the caller waits for the reply
with a timeout anyway, so a request or reply lost with a dying connection ends as a 503 the client may retry, never
as a false answer. (Without confirms nameko cannot tell an unknown service from a slow one: both end at the timeout.)
Events and the outbox keep their confirms and persistence: those must not be lost.
"""
from __future__ import annotations

import logging
import warnings

import eventlet
from eventlet.queue import LightQueue
from kombu.exceptions import OperationalError
from nameko import rpc as nameko_rpc
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from mppi.contracts.errors import DependencyUnavailable
from mppi.runtime.logging import correlation_id, new_correlation_id

log = logging.getLogger(__name__)

TRANSIENT = 1
UNCONFIRMED = {"use_confirms": False, "delivery_mode": TRANSIENT}
# nameko asks for mandatory delivery on every request and warns that it cannot check it without confirms
warnings.filterwarnings("ignore", message="Mandatory delivery was requested")


# -- the serving side ---------------------------------------------------------------------------------------------

class _ReplyPublisher(Publisher):
    use_confirms = False
    delivery_mode = TRANSIENT


class _Responder(nameko_rpc.Responder):
    publisher_cls = _ReplyPublisher


class _RpcConsumer(nameko_rpc.RpcConsumer):
    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = _Responder(config[AMQP_URI_CONFIG_KEY], nameko_rpc.get_rpc_exchange(config),
                               config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
                               ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class Rpc(nameko_rpc.Rpc):
    """nameko's ``@rpc``, answering without publisher confirms (every method of a service must use this one: the
    consumer of the service's queue is shared by entrypoint class)."""

    rpc_consumer = _RpcConsumer()


rpc = Rpc.decorator


# -- the calling side ---------------------------------------------------------------------------------------------


class RpcClient:
    def __init__(self, config: dict, *, timeout: float, size: int = 16):
        self.config = config
        self.timeout = timeout
        self._idle: LightQueue = LightQueue()
        self._slots = eventlet.semaphore.Semaphore(size)

    def _checkout(self) -> ClusterRpcProxy:
        try:
            return self._idle.get_nowait()
        except eventlet.queue.Empty:
            proxy = ClusterRpcProxy(self.config, timeout=self.timeout)
            proxy.methods = {}
            proxy.start()
            return proxy

    def call(self, service: str, method: str, *args, timeout: float | None = None, **kwargs):
        with self._slots:
            try:
                proxy = self._checkout()
            except (OSError, OperationalError) as exc:
                raise DependencyUnavailable("the message broker is unreachable") from exc
            healthy = True
            try:
                # a checked-out proxy serves one call at a time, so its context can carry this request's id
                proxy._worker_ctx.data = {"correlation_id": correlation_id.get() or new_correlation_id()}
                reply = _method(proxy, service, method).call_async(*args, **kwargs)
                with eventlet.Timeout(timeout or self.timeout, RpcTimeout()):
                    return reply.result()
            except RpcTimeout:
                healthy = False  # a late reply would confuse the next caller's wait: start afresh
                raise DependencyUnavailable(f"{service} did not answer in time") from None
            except UnknownService:
                raise DependencyUnavailable(f"{service} is not running") from None
            except (OSError, OperationalError, ConnectionError) as exc:
                healthy = False
                raise DependencyUnavailable("the message broker is unreachable") from exc
            finally:
                if healthy:
                    self._idle.put(proxy)
                else:
                    eventlet.spawn_n(_stop_quietly, proxy)

    def close(self) -> None:
        while True:
            try:
                _stop_quietly(self._idle.get_nowait())
            except eventlet.queue.Empty:
                return


def _method(proxy: ClusterRpcProxy, service: str, method: str) -> nameko_rpc.MethodProxy:
    """The proxy's method, publishing unconfirmed (nameko's standalone proxy takes no publisher options)."""
    found = proxy.methods.get((service, method))
    if found is None:
        found = nameko_rpc.MethodProxy(proxy._worker_ctx, service, method, proxy._reply_listener, **UNCONFIRMED)
        proxy.methods[(service, method)] = found
    return found


def _stop_quietly(proxy: ClusterRpcProxy) -> None:
    try:
        proxy.stop()
    except Exception:
        log.debug("closing an RPC proxy failed", exc_info=True)
