"""RPC from outside a service (the gateway): a pool of nameko standalone proxies with a timeout, whose failures
become ``DependencyUnavailable`` (503) instead of a hang or a 500."""
from __future__ import annotations

import logging

import eventlet
from eventlet.queue import LightQueue
from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from mppi.contracts.errors import DependencyUnavailable
from mppi.runtime.logging import correlation_id, new_correlation_id

log = logging.getLogger(__name__)


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
                cluster = proxy._proxy
                reply = getattr(getattr(cluster, service), method).call_async(*args, **kwargs)
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


def _stop_quietly(proxy: ClusterRpcProxy) -> None:
    try:
        proxy.stop()
    except Exception:
        log.debug("closing an RPC proxy failed", exc_info=True)
