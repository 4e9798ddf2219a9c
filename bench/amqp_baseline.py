"""Broker-side measurements with pika: a raw confirmed publish+consume baseline, and a tap on an event exchange."""
from __future__ import annotations

import json
import multiprocessing
import statistics
import struct
import threading
import time
import uuid

import pika

HEADER = struct.Struct("!qq")  # sequence number (-1 ends the run), publish time in monotonic ns


def _params(amqp_uri: str) -> pika.URLParameters:
    params = pika.URLParameters(amqp_uri)
    if params.host not in ("127.0.0.1", "localhost"):
        raise ValueError("the bench only talks to a local broker")
    return params


def percentiles_ms(samples_ns: list[int]) -> tuple[float, float]:
    if len(samples_ns) < 2:
        v = samples_ns[0] / 1e6 if samples_ns else float("nan")
        return v, v
    q = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return q[49] / 1e6, q[98] / 1e6


# ---- publish + consume baseline ---------------------------------------------------------------------------------

def _consume(amqp_uri: str, queue: str, deadline: float, ready, out) -> None:
    conn = pika.BlockingConnection(_params(amqp_uri))
    ch = conn.channel()
    ch.basic_qos(prefetch_count=100)
    latencies: list[int] = []
    state = {"done": False, "first": None, "last": None}

    def on_message(channel, method, properties, body: bytes) -> None:
        now = time.monotonic_ns()
        seq, sent = HEADER.unpack_from(body)
        if seq < 0:
            state["done"] = True
        else:
            latencies.append(now - sent)
            state["first"] = state["first"] or now
            state["last"] = now
        channel.basic_ack(method.delivery_tag)

    ch.basic_consume(queue, on_message, auto_ack=False)
    ready.set()
    try:
        while not state["done"] and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.2)
    finally:
        conn.close()
    p50, p99 = percentiles_ms(latencies)
    out.put({"received": len(latencies), "last_ns": state["last"], "p50_ms": p50, "p99_ms": p99})


def publish_consume(amqp_uri: str, *, count: int = 20_000, size: int = 500, timeout: float = 120.0) -> dict:
    """Publish ``count`` persistent messages with confirms to a durable queue that another process consumes
    (manual acks, prefetch 100); the rate end to end and the publish→consume latency."""
    queue = f"bench.baseline.{uuid.uuid4().hex[:8]}"
    conn = pika.BlockingConnection(_params(amqp_uri))
    ch = conn.channel()
    ch.queue_declare(queue, durable=True)
    ctx = multiprocessing.get_context("spawn")
    ready, out = ctx.Event(), ctx.Queue()
    deadline = time.monotonic() + timeout
    consumer = ctx.Process(target=_consume, args=(amqp_uri, queue, deadline + 5, ready, out), daemon=True)
    consumer.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the baseline consumer did not start")
        ch.confirm_delivery()
        props = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
        padding = b"x" * max(0, size - HEADER.size)
        first_ns = time.monotonic_ns()
        sent = 0
        for seq in range(count):
            if time.monotonic() >= deadline:
                break
            ch.basic_publish("", queue, HEADER.pack(seq, time.monotonic_ns()) + padding, props, mandatory=True)
            sent += 1
        publish_s = (time.monotonic_ns() - first_ns) / 1e9
        ch.basic_publish("", queue, HEADER.pack(-1, time.monotonic_ns()), props)
        result = out.get(timeout=max(10.0, deadline + 10 - time.monotonic()))
        consumer.join(10)
    finally:
        if consumer.is_alive():
            consumer.kill()
        try:
            ch.queue_delete(queue)
        finally:
            conn.close()
    elapsed = ((result["last_ns"] or first_ns) - first_ns) / 1e9
    return {"sent": sent, "received": result["received"], "size": size,
            "msg_per_s": result["received"] / elapsed if elapsed > 0 else 0.0,
            "publish_per_s": sent / publish_s if publish_s > 0 else 0.0,
            "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"], "seconds": elapsed}


# ---- a tap on an event exchange ---------------------------------------------------------------------------------

class EventTap:
    """A private queue bound to ``<source>.events`` for one routing key, consumed in a thread of its own: records
    when each event arrived, keyed by its ``tenant`` field. ``queue`` names the (exclusive) queue, as a regional
    subscriber must (server-named otherwise); a subscriber may not declare the exchange (``declare=False``)."""

    def __init__(self, amqp_uri: str, exchange: str, routing_key: str, *, queue: str = "", declare: bool = True):
        self.params = _params(amqp_uri)
        self.exchange, self.routing_key = exchange, routing_key
        self.queue, self.declare = queue, declare
        self.arrived: dict[str, int] = {}
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="event-tap", daemon=True)

    def __enter__(self) -> EventTap:
        self._thread.start()
        if not self._ready.wait(30) or self._error:
            raise RuntimeError(f"event tap did not start: {self._error}")
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        try:
            conn = pika.BlockingConnection(self.params)
        except BaseException as exc:  # reported by __enter__
            self._error = exc
            self._ready.set()
            return
        try:
            ch = conn.channel()
            # declared as nameko declares it: topic, durable
            if self.declare:
                ch.exchange_declare(self.exchange, exchange_type="topic", durable=True)
            queue = ch.queue_declare(self.queue, exclusive=True, auto_delete=True).method.queue
            ch.queue_bind(queue, self.exchange, routing_key=self.routing_key)
            ch.basic_consume(queue, self._on_message, auto_ack=True)
            self._ready.set()
            while not self._stop.is_set():
                conn.process_data_events(time_limit=0.1)
        except BaseException as exc:
            self._error = exc
            self._ready.set()
        finally:
            if conn.is_open:
                conn.close()

    def _on_message(self, channel, method, properties, body: bytes) -> None:
        now = time.monotonic_ns()
        try:
            key = json.loads(body).get("tenant")
        except ValueError:
            return
        with self._cond:
            self.arrived.setdefault(key, now)
            self._cond.notify_all()

    def wait_for(self, key: str, timeout: float = 15.0) -> int | None:
        """The monotonic ns at which the event for ``key`` arrived, or None after ``timeout`` seconds."""
        with self._cond:
            self._cond.wait_for(lambda: key in self.arrived or self._error is not None, timeout)
            return self.arrived.get(key)
