"""A small pool of worker *processes* for CPU-heavy work inside nameko services (e.g. rendering issued PDFs).

Why processes: nameko runs every worker as a green thread on one eventlet hub, and eventlet is cooperative. A
pure-Python CPU job such as fpdf2 rendering a page never yields, so the hub stops for as long as it runs: no
RabbitMQ heartbeats (the broker drops the connection), no other requests. A native thread does not help either:
fpdf2 holds the GIL. A separate process has its own interpreter and GIL.

How: up to ``max_workers`` long-lived ``python -m mppi.runtime.procpool`` children, started lazily, each serving
one call at a time over its stdin/stdout (both ways an 8-byte big-endian length, then a pickle; the function
travels by module path, so the child imports its module once and keeps it). A call takes an idle child, or starts
one, under a semaphore. Pipes are eventlet's green pipes: the calling green thread yields to the hub while the
child works. Nothing is shared with the service: no executor threads, no queues that can wedge
(``concurrent.futures``' process pool under monkey patching can leave its feeder thread spinning on a pipe nobody
reads). A child whose call times out, crashes, answers garbage or is interrupted is killed, and the next call
starts a fresh one; a child is also retired after ``max_calls`` calls so its memory cannot grow without bound.
"""
from __future__ import annotations

import importlib
import os
import pickle
import struct
import sys
import tempfile
from collections.abc import Callable
from typing import IO, Any, TypeVar

import eventlet
from eventlet.green import subprocess
from eventlet.semaphore import Semaphore
from nameko.extensions import DependencyProvider

T = TypeVar("T")
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_CALLS = 500  # calls a child serves before it is replaced (bounds memory growth, e.g. font caches)
RETIRE_GRACE = 5.0  # seconds a retired child gets to exit on end-of-input before it is killed
_HEADER = struct.Struct(">Q")
_MAX_MESSAGE = 1 << 30  # a longer announced length means the stream is garbage, not a document


class _Child:
    """One long-lived worker process and its pipes; used by one call at a time."""

    def __init__(self) -> None:
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # a file, so a chatty child can never block on it
        self.process = subprocess.Popen([sys.executable, "-m", "mppi.runtime.procpool"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr)
        self.calls = 0

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def call(self, payload: bytes) -> bytes:
        """Sends one request and returns the reply's bytes; yields to the hub while waiting."""
        self.calls += 1
        try:
            self.process.stdin.write(_HEADER.pack(len(payload)) + payload)
            self.process.stdin.flush()
        except BrokenPipeError:
            raise self.failure() from None
        header = self.process.stdout.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise self.failure()
        (size,) = _HEADER.unpack(header)
        if size > _MAX_MESSAGE:
            raise self.failure(f"announced a {size}-byte reply")
        reply = self.process.stdout.read(size)
        if len(reply) < size:
            raise self.failure()
        return reply

    def failure(self, what: str | None = None) -> RuntimeError:
        """The error for a child that died or broke the protocol, with the end of what it wrote to stderr."""
        self._stop()
        if what is None:
            what = f"exited ({self.process.returncode})"
        self.stderr.seek(0, os.SEEK_END)
        self.stderr.seek(max(0, self.stderr.tell() - 500))
        err = self.stderr.read().decode(errors="replace").strip()
        return RuntimeError(f"the child process failed: it {what}" + (f": {err}" if err else ""))

    def end_input(self) -> None:
        try:
            self.process.stdin.close()
        except OSError:  # it is already gone, with unread input
            pass

    def retire(self) -> None:
        """Ends the child between calls: end of input, then a kill if it lingers."""
        self.end_input()
        with eventlet.Timeout(RETIRE_GRACE, False):
            self.process.wait()
        self.kill()

    def kill(self) -> None:
        """Ends the child now and releases its pipes; safe to repeat."""
        self._stop()
        self.end_input()
        self.process.stdout.close()
        self.stderr.close()

    def _stop(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()


class ProcessPool:
    """Runs picklable module-level functions in child processes without blocking the eventlet hub."""

    def __init__(self, max_workers: int = 2, *, max_calls: int = DEFAULT_MAX_CALLS):
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        if max_calls < 1:
            raise ValueError("max_calls must be at least 1")
        self.max_workers = max_workers
        self.max_calls = max_calls
        self._slots = Semaphore(max_workers)
        self._idle: list[_Child] = []
        self._busy: set[_Child] = set()
        self._closed = False
        self.started = False  # whether a child has ever been started

    def run(self, fn: Callable[..., T], *args: Any, timeout: float = DEFAULT_TIMEOUT) -> T:
        """``fn(*args)`` computed in a child process; raises ``TimeoutError`` after ``timeout`` seconds, whatever
        ``fn`` raised, or ``RuntimeError`` when the child dies or the pool is closed."""
        if self._closed:
            raise RuntimeError("the process pool is closed")
        payload = pickle.dumps((fn.__module__, fn.__qualname__, args))
        with self._slots:
            if self._closed:
                raise RuntimeError("the process pool is closed")
            child = self._take()
            self._busy.add(child)
            timer = eventlet.Timeout(timeout)
            try:
                reply = child.call(payload)
            except BaseException as exc:
                timer.cancel()
                child.kill()  # mid-call its pipes are out of step: a timeout, a crash, a green thread killed
                if exc is timer:
                    name = getattr(fn, "__qualname__", repr(fn))
                    raise TimeoutError(f"{name} did not finish within {timeout:g} s in a child process") from None
                raise
            finally:
                timer.cancel()
                self._busy.discard(child)
            try:
                ok, value = pickle.loads(reply)
            except Exception as exc:
                child.kill()
                raise RuntimeError(f"the child process answered garbage: {exc!r}") from None
            self._give_back(child)
        if not ok:
            raise value
        return value

    def _take(self) -> _Child:
        while self._idle:
            child = self._idle.pop()
            if child.alive():
                return child
            child.kill()  # died while idle (e.g. killed from outside): reap it and start another
        self.started = True
        return _Child()

    def _give_back(self, child: _Child) -> None:
        if self._closed or child.calls >= self.max_calls:
            eventlet.spawn_n(child.retire)  # the caller has its answer; it need not wait for the exit
        else:
            self._idle.append(child)

    def pids(self) -> list[int]:
        """The process ids of the children alive now, idle or busy."""
        return [child.pid for child in [*self._idle, *self._busy] if child.alive()]

    def close(self) -> None:
        """Refuse new work and end idle children; calls already running finish, then their children end."""
        self._closed = True
        idle, self._idle = self._idle, []
        for child in idle:
            child.end_input()  # all of them at once, then wait for each
        for child in idle:
            child.retire()

    def kill(self) -> None:
        """Refuse new work and end the children now, even mid-call."""
        self._closed = True
        idle, self._idle = self._idle, []
        for child in [*idle, *self._busy]:
            if child.alive():
                child.process.kill()
        for child in idle:
            child.kill()  # reaps; a busy child is reaped by its caller, who sees the end of its pipe


class ProcessPoolProvider(DependencyProvider):
    """Gives a service's workers a shared ``ProcessPool``; no process starts until a call needs one."""

    def __init__(self, max_workers: int = 2, *, max_calls: int = DEFAULT_MAX_CALLS):
        self.max_workers = max_workers
        self.max_calls = max_calls
        self.pool: ProcessPool | None = None

    def setup(self) -> None:
        self.pool = ProcessPool(self.max_workers, max_calls=self.max_calls)

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.close()

    def kill(self) -> None:
        if self.pool is not None:
            self.pool.kill()

    def get_dependency(self, worker_ctx) -> ProcessPool:
        return self.pool


def _serve(request: bytes) -> bytes:
    """One call: the request's function applied to its arguments, as the pickled reply ``(ok, value)``."""
    qualname = "the call"
    try:
        module, qualname, args = pickle.loads(request)
        target: Any = importlib.import_module(module)  # imported once per child, then found in sys.modules
        for part in qualname.split("."):
            target = getattr(target, part)
        reply: tuple[bool, Any] = (True, target(*args))
    except Exception as exc:  # the caller re-raises it
        reply = (False, exc)
    except (SystemExit, GeneratorExit) as exc:  # not the caller's to raise: it would end the service's worker
        reply = (False, RuntimeError(f"{qualname} raised {exc!r} in a child process"))
    try:
        data = pickle.dumps(reply)
        if not reply[0]:
            pickle.loads(data)  # an exception that pickles may still not unpickle (required __init__ arguments)
        return data
    except Exception as exc:
        what = "result" if reply[0] else f"exception {reply[1]!r}"
        return pickle.dumps((False, RuntimeError(f"the {what} of {qualname} could not travel back: {exc!r}")))


def _child() -> None:
    # The protocol gets private copies of stdin/stdout; fd 0 becomes /dev/null and fd 1 the stderr file, so a
    # print() or input() in the target cannot corrupt the stream.
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    while True:
        header = requests.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return  # the pool closed our input: retire
        (size,) = _HEADER.unpack(header)
        request = requests.read(size)
        if len(request) < size:
            return
        data = _serve(request)
        replies.write(_HEADER.pack(len(data)) + data)
        replies.flush()


if __name__ == "__main__":
    _child()
