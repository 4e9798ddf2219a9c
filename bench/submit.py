"""Submission load for the bench: concurrent citizens posting multipart applications (JSON + PDFs) from several
processes, a tap on ``applications.events`` keyed by application id, and a CPU account of every process on the
machine while it runs."""
from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import resource
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from amqp_baseline import EventTap

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class SubmitResult:
    seconds: float  # the measured window: first start to last answer
    created: list[tuple[int, int, str]]  # (answered at monotonic ns, latency ns, application id) of each 201
    statuses: Counter  # answers and errors by status ("201", "500", "ConnectionError", ...)
    latencies_ns: list[int]  # of every answered request
    loadgen_cpu_s: float  # user + system CPU seconds of the load generator processes
    pids: list[int] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core per process group during the load
    samples: dict[str, str] = field(default_factory=dict)  # one answer body per failing status

    @property
    def rate(self) -> float:
        return len(self.created) / self.seconds if self.seconds > 0 else 0.0


# ---- the clients ------------------------------------------------------------------------------------------------

def _client(url: str, token: str, body: bytes, content_type: str, start_at: float, deadline: float,
            out: list, lock: threading.Lock) -> None:
    """One citizen posting the same prepared body over one keep-alive connection (http.client, not requests: the
    load generator shares the platform's two cores, so it should cost as little of them as it can)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type, "Content-Length": str(len(body))}

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)

    conn = connect()
    records = []
    while time.monotonic() < start_at:
        time.sleep(min(0.01, max(0.0, start_at - time.monotonic())))
    while time.monotonic() < deadline:
        t0 = time.monotonic_ns()
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
        except (OSError, http.client.HTTPException) as exc:
            records.append((time.monotonic_ns(), None, type(exc).__name__, None, str(exc)[:300]))
            conn.close()
            conn = connect()
            continue
        t1 = time.monotonic_ns()
        app_id, sample = None, None
        if response.status == 201:
            app_id = json.loads(answer)["id"]
        else:
            sample = answer[:300].decode(errors="replace")
        records.append((t1, t1 - t0, str(response.status), app_id, sample))
        if response.will_close:
            conn.close()
            conn = connect()
    conn.close()
    with lock:
        out.extend(records)


def _process(url: str, clients: list[tuple[str, bytes, str]], start_at: float, deadline: float, queue) -> None:
    out: list = []
    lock = threading.Lock()
    threads = [threading.Thread(target=_client, args=(url, token, body, ctype, start_at, deadline, out, lock))
               for token, body, ctype in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((os.getpid(), out, ru.ru_utime + ru.ru_stime))


def encode(url: str, data: dict, files: dict) -> tuple[bytes, str]:
    """The multipart body and its content type, encoded once per client (re-sent as is each time)."""
    import requests

    prepared = requests.Request("POST", url, files={"data": (None, json.dumps(data), "application/json"),
                                                    **files}).prepare()
    return prepared.body, prepared.headers["Content-Type"]


def run_submissions(url: str, clients: list[tuple[str, bytes, str]], *, seconds: float, processes: int = 4,
                    names: dict[int, str] | None = None) -> SubmitResult:
    """Each client (token, body, content type) posts its body in a loop on its own keep-alive session for
    ``seconds``; the clients are shared out over ``processes`` processes, one thread each. The CPU of every process
    on the machine is read at the start and at the deadline (``names`` labels known pids)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    processes = max(1, min(processes, len(clients)))
    start_at = time.monotonic() + 3.0  # the processes import requests and wait for the same start
    deadline = start_at + seconds
    procs = [ctx.Process(target=_process, args=(url, clients[i::processes], start_at, deadline, queue), daemon=True)
             for i in range(processes)]
    for p in procs:
        p.start()
    ticks: list = []

    def probe() -> None:
        for at in (start_at, deadline):
            time.sleep(max(0.0, at - time.monotonic()))
            ticks.append((time.monotonic(), cpu_ticks()))

    prober = threading.Thread(target=probe, name="cpu-probe", daemon=True)
    prober.start()
    records, cpu, pids = [], 0.0, []
    try:
        for _ in procs:
            pid, out, used = queue.get(timeout=seconds + 120)
            records += out
            cpu += used
            pids.append(pid)
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    prober.join(5)
    labels = {**(names or {}), os.getpid(): "bench (event tap)"}
    labels.update({p.pid: "load generator" for p in procs})
    account = cpu_account(ticks[0][1], ticks[1][1], ticks[1][0] - ticks[0][0], labels) if len(ticks) == 2 else {}
    statuses = Counter(r[2] for r in records)
    samples = {}
    for r in records:
        if r[2] != "201" and r[2] not in samples:
            samples[r[2]] = r[4]
    created = sorted((r[0], r[1], r[3]) for r in records if r[2] == "201")
    last = max((r[0] for r in records), default=time.monotonic_ns())
    return SubmitResult(seconds=(last / 1e9) - start_at, created=created, statuses=statuses,
                        latencies_ns=[r[1] for r in records if r[1] is not None], loadgen_cpu_s=cpu, pids=pids,
                        samples=samples, cpu=account)


def steady_rate(created: list[tuple[int, int, str]], window_s: float = 5.0) -> float:
    """The lowest rate of 201s over any whole ``window_s`` window after the first one: what is sustained."""
    if not created:
        return 0.0
    first = created[0][0]
    buckets = Counter(int((t - first) / 1e9 // window_s) for t, _, _ in created)
    whole = sorted(buckets)[1:-1]  # the first window warms up, the last is cut short
    return min(buckets[b] for b in whole) / window_s if whole else len(created) / window_s


# ---- events -----------------------------------------------------------------------------------------------------

class ApplicationTap(EventTap):
    """An EventTap on ``applications.events`` that keys each event by its ``data.application_id``."""

    def _on_message(self, channel, method, properties, body: bytes) -> None:
        now = time.monotonic_ns()
        try:
            key = json.loads(body)["data"]["application_id"]
        except (ValueError, KeyError, TypeError):
            return
        with self._cond:
            self.arrived.setdefault(key, now)
            self._cond.notify_all()

    def wait_all(self, keys: set[str], timeout: float) -> set[str]:
        """Wait until every key arrived or ``timeout`` seconds passed; the keys still missing."""
        with self._cond:
            self._cond.wait_for(lambda: keys <= self.arrived.keys() or self._error is not None, timeout)
            return keys - self.arrived.keys()


# ---- CPU account ------------------------------------------------------------------------------------------------

def cpu_ticks() -> dict[int, tuple[str, int]]:
    """(command name, user + system clock ticks) of every process now running."""
    ticks = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                raw = f.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1: raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        ticks[int(entry)] = (comm, int(rest[11]) + int(rest[12]))
    return ticks


def cpu_account(before: dict[int, tuple[str, int]], after: dict[int, tuple[str, int]], seconds: float,
                names: dict[int, str]) -> dict[str, float]:
    """Percent of one core used between two ``cpu_ticks`` per process group: the named pids (platform processes)
    by name, the others by command (postgres, beam.smp, ...); processes that exited in between are not counted."""
    used: Counter = Counter()
    for pid, (comm, t) in after.items():
        label = names.get(pid) or comm
        used[label] += t - before.get(pid, (comm, 0))[1]
    return {k: round(100 * v / CLK_TCK / seconds, 1) for k, v in used.most_common() if v > 0}


def pct_ms(samples_ns: list[int], q: int) -> float:
    if not samples_ns:
        return float("nan")
    if len(samples_ns) < 2:
        return samples_ns[0] / 1e6
    return statistics.quantiles(samples_ns, n=100, method="inclusive")[q - 1] / 1e6
