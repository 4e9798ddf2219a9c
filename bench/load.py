"""HTTP load for the bench: run wrk (installing it with apt-get if missing) or a multiprocess Python fallback."""
from __future__ import annotations

import http.client
import multiprocessing
import os
import re
import select
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_REQUESTS_PER_CONNECTION = 1_000_000  # a count bound on top of the time bound


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers plus socket errors
    generator: str
    extra: dict = field(default_factory=dict)


# ---- wrk --------------------------------------------------------------------------------------------------------

def ensure_wrk() -> str | None:
    """The path of wrk, installing the Debian package quietly if needed; None when it cannot be had."""
    if path := shutil.which("wrk"):
        return path
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt(*args: str) -> bool:
        try:
            return subprocess.run(["apt-get", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  timeout=300).returncode == 0
        except subprocess.TimeoutExpired:
            return False

    if not apt("install", "-y", "-qq", "wrk"):
        apt("update", "-qq")
        apt("install", "-y", "-qq", "wrk")
    return shutil.which("wrk")


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def to_ms(text: str) -> float:
    """wrk's latency ('812.00us', '1.23ms', '2.01s', '1.00m') in milliseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse_wrk(out: str) -> LoadResult:
    def grab(pattern: str) -> str | None:
        m = re.search(pattern, out, re.MULTILINE)
        return m.group(1) if m else None

    rps = grab(r"^Requests/sec:\s+([\d.]+)")
    p50, p99 = grab(r"^\s+50%\s+(\S+)"), grab(r"^\s+99%\s+(\S+)")
    total = grab(r"^\s+(\d+) requests in")
    if rps is None or p50 is None or p99 is None or total is None:
        raise ValueError(f"could not parse wrk output:\n{out}")
    errors = int(grab(r"^\s+Non-2xx or 3xx responses: (\d+)") or 0)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    return LoadResult(float(rps), to_ms(p50), to_ms(p99), int(total), errors, "wrk")


def run_wrk(wrk: str, url: str, *, connections: int, duration: float,
            headers: dict[str, str] | None = None) -> LoadResult:
    threads = max(1, min(os.cpu_count() or 1, connections))
    cmd = [wrk, "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
           "--timeout", "10s"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    result = parse_wrk(out)
    result.extra["threads"] = threads
    return result


# ---- Python fallback --------------------------------------------------------------------------------------------

class _Connection:
    """One keep-alive HTTP connection of a load thread: a failed request opens a new one for the next."""

    def __init__(self, host: str, port: int, timeout: float = 10):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def get(self, path: str, headers: dict[str, str]) -> bool | None:
        """GET ``path``: True for a 2xx/3xx answer, False for another, None when no answer came."""
        answer = self.request("GET", path, headers)
        return None if answer is None else 200 <= answer[0] < 400

    def request(self, method: str, path: str, headers: dict[str, str],
                body: bytes | None = None) -> tuple[int, bytes] | None:
        """(status, body) of the answer, or None when no answer came."""
        if self.conn.sock is not None and select.select([self.conn.sock], [], [], 0)[0]:
            self.conn.close()  # the server closed it while it was idle (as urllib3 checks): connect again
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            answer = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            return None
        return resp.status, answer

    def close(self) -> None:
        self.conn.close()


def _connection_loop(host: str, port: int, path: str, headers: dict[str, str], deadline: float,
                     latencies: list[float], errors: list[int]) -> None:
    conn = _Connection(host, port)
    try:
        for _ in range(MAX_REQUESTS_PER_CONNECTION):
            if time.monotonic() >= deadline:
                break
            started = time.perf_counter()
            ok = conn.get(path, headers)
            if ok is not None:  # a request with no answer has no latency
                latencies.append(time.perf_counter() - started)
            errors[0] += not ok
    finally:
        conn.close()


def _worker(url: str, connections: int, deadline: float, headers: dict[str, str], out) -> None:
    began = time.monotonic()
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    threads = [threading.Thread(target=_connection_loop,
                                args=(parts.hostname, parts.port or 80, path, headers, deadline, latencies, errors))
               for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((latencies, errors[0], began, time.monotonic()))


def run_python(url: str, *, connections: int, duration: float, headers: dict[str, str] | None = None) -> LoadResult:
    """Several processes, each with threads that each hold one keep-alive connection, all until the deadline."""
    if urlsplit(url).hostname != "127.0.0.1":
        raise ValueError("the bench only loads 127.0.0.1")
    ctx = multiprocessing.get_context("spawn")
    procs_n = max(1, min(os.cpu_count() or 1, connections))
    shares = [connections // procs_n + (1 if i < connections % procs_n else 0) for i in range(procs_n)]
    out = ctx.Queue()
    started = time.monotonic()
    deadline = started + 1.0 + duration  # one second for the processes to start
    procs = [ctx.Process(target=_worker, args=(url, n, deadline, headers or {}, out), daemon=True) for n in shares]
    for p in procs:
        p.start()
    latencies: list[float] = []
    errors, began, ended = 0, deadline, started
    try:
        for _ in procs:
            lat, err, t0, t1 = out.get(timeout=duration + 60)
            latencies += lat
            errors += err
            began, ended = min(began, t0), max(ended, t1)
    finally:
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.kill()
    if not latencies:
        raise RuntimeError(f"no request to {url} succeeded")
    elapsed = ended - began
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult(len(latencies) / max(elapsed, 1e-9), q[49] * 1e3, q[98] * 1e3, len(latencies), errors,
                      "python", {"processes": procs_n})


# ---- open loop: a fixed arrival rate -------------------------------------------------------------------------

def run_paced(url: str, *, rate: float, duration: float, headers: dict[str, str] | None = None,
              connections: int = 64) -> LoadResult:
    """Requests offered at ``rate`` per second for ``duration`` seconds whatever the answers' pace (open loop, as
    users arrive), over up to ``connections`` keep-alive connections. Each latency is counted from when its request
    was due, not from when a free connection sent it, so a stall is charged to every request that waited behind it
    (no coordinated omission)."""
    parts = urlsplit(url)
    if parts.hostname != "127.0.0.1":
        raise ValueError("the bench only loads 127.0.0.1")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    total = max(1, round(rate * duration))
    start = time.perf_counter() + 0.5
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    counter = iter(range(total))

    def loop() -> None:
        conn = _Connection(parts.hostname, parts.port or 80)
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                due = start + i / rate
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
                ok = conn.get(path, headers or {})
                with lock:
                    latencies.append(time.perf_counter() - due)
                    errors[0] += not ok
        finally:
            conn.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return LoadResult(len(latencies) / max(elapsed, 1e-9), q[49] * 1e3, q[98] * 1e3, len(latencies), errors[0],
                      "python (open loop)", {"offered_rate": rate})


class LoadGenerator:
    """One interface over wrk or the Python fallback."""

    def __init__(self, prefer: str = "auto"):
        self.wrk = ensure_wrk() if prefer in ("auto", "wrk") else None
        if prefer == "wrk" and self.wrk is None:
            raise RuntimeError("wrk is not installed and could not be installed with apt-get")
        self.name = "wrk" if self.wrk else "python"

    def run(self, url: str, *, connections: int, duration: float, headers: dict[str, str] | None = None) -> LoadResult:
        if self.wrk:
            return run_wrk(self.wrk, url, connections=connections, duration=duration, headers=headers)
        return run_python(url, connections=connections, duration=duration, headers=headers)
