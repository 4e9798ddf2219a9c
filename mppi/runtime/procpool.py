"""A small pool of worker *processes* for CPU-heavy work inside nameko services (e.g. rendering issued PDFs).

Why processes: nameko runs every worker as a green thread on one eventlet hub, and eventlet is cooperative. A
pure-Python CPU job such as fpdf2 rendering a page never yields, so the hub stops for as long as it runs: no
RabbitMQ heartbeats (the broker drops the connection), no other requests. A native thread does not help either:
fpdf2 holds the GIL. A separate process has its own interpreter and GIL.

How: each call runs in a fresh ``python -m mppi.runtime.procpool`` child (the function travels by module path,
its arguments and result as pickles over stdin/stdout), at most ``max_workers`` at a time. Waiting is eventlet's
green ``subprocess``: the calling green thread yields to the hub until the child answers. A child per call costs an
interpreter start (a few hundred ms with fpdf2), which issuing a document can afford, and it shares nothing with the
service: no executor threads, no queues that can wedge (``concurrent.futures``' process pool under monkey patching
can leave its feeder thread spinning on a pipe nobody reads), and a timeout simply kills the child.
"""
from __future__ import annotations

import importlib
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import eventlet
from nameko.extensions import DependencyProvider

T = TypeVar("T")
DEFAULT_TIMEOUT = 60.0


class ProcessPool:
    """Runs picklable module-level functions in child processes without blocking the eventlet hub."""

    def __init__(self, max_workers: int = 2):
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self._slots = threading.BoundedSemaphore(max_workers)  # green in a patched process
        self._running: set[subprocess.Popen] = set()
        self._closed = False
        self.started = False  # whether a child has ever been started

    def run(self, fn: Callable[..., T], *args: Any, timeout: float = DEFAULT_TIMEOUT) -> T:
        """``fn(*args)`` computed in a child process; raises ``TimeoutError`` after ``timeout`` seconds and whatever
        ``fn`` raised otherwise."""
        if self._closed:
            raise RuntimeError("the process pool is closed")
        payload = pickle.dumps((fn.__module__, fn.__qualname__, args))
        with self._slots:
            if self._closed:
                raise RuntimeError("the process pool is closed")
            self.started = True
            child = subprocess.Popen([sys.executable, "-m", "mppi.runtime.procpool"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self._running.add(child)
            try:
                # eventlet's own timeout: under monkey patching, subprocess raises a TimeoutExpired of another copy
                # of the module than the one this file sees
                with eventlet.Timeout(timeout):
                    out, err = child.communicate(payload)
            except eventlet.Timeout:
                child.kill()
                child.wait()
                name = getattr(fn, "__qualname__", repr(fn))
                raise TimeoutError(f"{name} did not finish within {timeout:g} s in a child process") from None
            finally:
                self._running.discard(child)
        if child.returncode != 0 or not out:
            raise RuntimeError(f"the child process failed ({child.returncode}): {err.decode(errors='replace')[-500:]}")
        ok, value = pickle.loads(out)
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Refuse new work; calls already running finish."""
        self._closed = True

    def kill(self) -> None:
        """Refuse new work and end the children now, even mid-call."""
        self._closed = True
        for child in list(self._running):
            if child.poll() is None:
                child.kill()


class ProcessPoolProvider(DependencyProvider):
    """Gives a service's workers a shared ``ProcessPool``; no process starts until a call needs one."""

    def __init__(self, max_workers: int = 2):
        self.max_workers = max_workers
        self.pool: ProcessPool | None = None

    def setup(self) -> None:
        self.pool = ProcessPool(self.max_workers)

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def kill(self) -> None:
        if self.pool is not None:
            self.pool.kill()

    def get_dependency(self, worker_ctx) -> ProcessPool:
        return self.pool


def _child() -> None:
    module, qualname, args = pickle.loads(sys.stdin.buffer.read())
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    try:
        result = (True, target(*args))
    except Exception as exc:  # the caller re-raises it
        result = (False, exc)
    sys.stdout.buffer.write(pickle.dumps(result))


if __name__ == "__main__":
    _child()
