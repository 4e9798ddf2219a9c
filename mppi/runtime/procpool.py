"""A small pool of worker *processes* for CPU-heavy work inside nameko services (e.g. rendering issued PDFs).

Why processes: nameko runs every worker as a green thread on one eventlet hub, and eventlet is cooperative. A
pure-Python CPU job such as fpdf2 rendering a page never yields, so the hub stops for as long as it runs: no
RabbitMQ heartbeats (the broker drops the connection), no other requests. A native thread does not help either,
because fpdf2 holds the GIL the whole time and the hub's thread still cannot run. A separate process has its own
interpreter and GIL.

How:

* ``concurrent.futures.ProcessPoolExecutor`` with the **spawn** start method: forking a process whose hub, sockets
  and green threads are all live (eventlet-patched) is unsafe; spawn starts a clean interpreter that imports the
  function by its module path, so ``fn`` and its arguments must be picklable module-level objects.
* The executor is created lazily, on the first ``run``: building the provider starts no processes.
* Waiting must not block the hub. In a monkey-patched process (every nameko service, the test suite) the standard
  library's ``threading`` is green, so the executor's own manager thread is a green thread and a future's
  condition is a green lock: ``future.result`` in the calling green thread simply yields to the hub until the
  result arrives. Handing that wait to ``eventlet.tpool`` there would be wrong: a native thread cannot wait on a
  green lock ("Cannot switch to a different thread"). Where ``threading`` is *not* patched (eventlet without
  monkey patching, or no eventlet at all) the locks are native, and the wait goes to ``eventlet.tpool``, which
  blocks a native thread instead of the hub.
* A timeout raises the built-in ``TimeoutError``; a pending call is cancelled, a running one finishes in its worker
  (processes are not killed mid-call, except by ``kill``).
* ``close`` waits for the workers (it runs in ``stop``, after nameko's workers are done); ``kill`` terminates them.
"""
from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import selectors
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT = 60.0


def _threading_is_green() -> bool:
    try:
        from eventlet import patcher
    except ImportError:  # pragma: no cover - eventlet is a dependency of nameko
        return False
    return bool(patcher.is_monkey_patched("thread"))


def _ensure_green_wait() -> None:
    """Make the executor's manager thread wait through the hub even if multiprocessing was imported before patching.

    ``multiprocessing.connection`` picks its selector class when it is imported. Imported before
    ``eventlet.monkey_patch()``, it keeps the native ``poll``, and the (green) manager thread would block the whole
    hub until a worker answers. ``selectors.SelectSelector`` calls ``select.select`` at call time: the green one.
    """
    import multiprocessing.connection as mpc

    if getattr(mpc._WaitSelector, "_selector_cls", None) is not None:  # a native poll/epoll object
        log.warning("multiprocessing was imported before eventlet.monkey_patch(); making its waits green")
        mpc._WaitSelector = selectors.SelectSelector


class ProcessPool:
    """Runs picklable module-level functions in spawned worker processes without blocking the eventlet hub."""

    def __init__(self, max_workers: int = 2, *, max_tasks_per_child: int | None = None):
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.max_workers = max_workers
        self.max_tasks_per_child = max_tasks_per_child
        self._executor: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()  # green in a patched process: guards creation against concurrent first calls
        self._closed = False

    @property
    def started(self) -> bool:
        """Whether the executor (and so possibly worker processes) exists."""
        return self._executor is not None

    def _get_executor(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the process pool is closed")
            if self._executor is None:
                if _threading_is_green():
                    _ensure_green_wait()
                self._executor = concurrent.futures.ProcessPoolExecutor(
                    max_workers=self.max_workers, mp_context=multiprocessing.get_context("spawn"),
                    max_tasks_per_child=self.max_tasks_per_child)
            return self._executor

    def _discard_broken(self, executor: concurrent.futures.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def _submit(self, fn: Callable[..., T], *args: Any) -> tuple[concurrent.futures.ProcessPoolExecutor, Any]:
        executor = self._get_executor()
        try:
            return executor, executor.submit(fn, *args)
        except BrokenProcessPool:
            log.warning("the process pool was broken (a worker died); starting a new one")
            self._discard_broken(executor)
            executor = self._get_executor()
            return executor, executor.submit(fn, *args)

    def submit(self, fn: Callable[..., T], *args: Any) -> concurrent.futures.Future[T]:
        """Queue ``fn(*args)``; a pool broken by a dead worker (e.g. killed for memory) is replaced once."""
        return self._submit(fn, *args)[1]

    def run(self, fn: Callable[..., T], *args: Any, timeout: float = DEFAULT_TIMEOUT) -> T:
        """``fn(*args)`` computed in a worker process; the calling green thread yields until it is done.

        Raises ``TimeoutError`` after ``timeout`` seconds, and whatever ``fn`` raised otherwise.
        """
        executor, future = self._submit(fn, *args)
        try:
            if _threading_is_green():
                return future.result(timeout)  # green condition: yields to the hub
            from eventlet import tpool

            return tpool.execute(future.result, timeout)  # native locks: a native thread waits
        except concurrent.futures.TimeoutError:  # the built-in TimeoutError since Python 3.11
            future.cancel()
            name = getattr(fn, "__qualname__", repr(fn))
            raise TimeoutError(f"{name} did not finish within {timeout:g} s in the process pool") from None
        except BrokenProcessPool:
            self._discard_broken(executor)  # the next call starts fresh workers
            raise

    def close(self, wait: bool = True) -> None:
        """Shut the workers down; calls not yet started are cancelled. ``run`` raises afterwards.

        Waiting (the default; green in a patched process) also releases the executor's semaphores here, in the
        caller's green thread: left to the garbage collector they may be finalised inside the hub, where their
        cleanup (a write to multiprocessing's resource tracker) is not allowed.
        """
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=True)

    def kill(self) -> None:
        """Terminate the worker processes, even mid-call, then close (quickly: nothing is left to wait for)."""
        with self._lock:
            executor = self._executor
            processes = list((getattr(executor, "_processes", None) or {}).values()) if executor else []
        for process in processes:
            if process.is_alive():
                process.terminate()
        self.close(wait=True)


class ProcessPoolProvider(DependencyProvider):
    """Gives a service's workers a shared ``ProcessPool``; its processes start on first use, stop with the service."""

    def __init__(self, max_workers: int = 2, **options: Any):
        self.max_workers = max_workers
        self.options = options
        self.pool: ProcessPool | None = None

    def setup(self) -> None:
        self.pool = ProcessPool(self.max_workers, **self.options)  # no processes yet

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def kill(self) -> None:
        if self.pool is not None:
            self.pool.kill()

    def get_dependency(self, worker_ctx) -> ProcessPool:
        return self.pool
