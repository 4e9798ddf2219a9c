"""The bench's mixed load: catalogue reads, submissions, staff actions and citizens' reads offered together at fixed
rates for minutes (open loop, from several processes), per-route latency from when each request was due, and the
memory of every platform process sampled meanwhile to tell whether it stays flat."""
from __future__ import annotations

import json
import multiprocessing
import resource
import statistics
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from load import _Connection
from submit import cpu_account, cpu_ticks, pct_ms

CATALOGUE_LIST = "GET /tenants/{t}/services"
CATALOGUE_DETAIL = "GET /tenants/{t}/services/{id}"
SUBMIT = "POST /tenants/{t}/applications"
INBOX = "GET /tenants/{t}/applications (inbox)"
MY_APPLICATIONS = "GET /me/applications"
MY_NOTIFICATIONS = "GET /me/notifications"
ACTIONS = ("verify", "approve", "complete")  # the default workflow, one step each
ROLE = {"verify": "verifier", "approve": "approver", "complete": "operator"}
NEXT = {"verify": "approve", "approve": "complete"}
ACT_EVERY = 5  # one staff turn in five acts on an application (when one waits), the others read the inbox: staff
# read more than they act, and completing issues a PDF, the costliest request of all
NO_ANSWER = "no answer"
NOT_SENT = "not sent"  # still waiting for a free connection GRACE_S after the load's end: given up, and counted
TIMEOUT_S = 30.0  # above the gateway's RPC timeout, so that a slow service shows as its 503, not as no answer
GRACE_S = 60.0
UNANSWERED = (NO_ANSWER, NOT_SENT)


def action_route(action: str) -> str:
    return f"POST /tenants/{{t}}/applications/{{id}}/actions {action}"


ROUTES = (CATALOGUE_LIST, CATALOGUE_DETAIL, SUBMIT, *map(action_route, ACTIONS), INBOX, MY_APPLICATIONS,
          MY_NOTIFICATIONS)


@dataclass(frozen=True)
class Rates:
    """Requests a second offered per stream, whatever the answers' pace."""
    reads: float = 100  # anonymous catalogue reads, list and detail in turn
    submissions: float = 10  # citizens' multipart submissions
    staff: float = 5  # inbox reads, and verify → approve → complete on submitted applications (ACT_EVERY)
    citizens: float = 20  # citizens reading their applications and their notifications in turn

    def streams(self) -> dict[str, float]:
        return {"reads": self.reads, "submissions": self.submissions, "staff": self.staff,
                "citizens": self.citizens}


@dataclass
class Region:
    slug: str
    staff: dict[str, str]  # role → bearer token


@dataclass
class Citizen:
    token: str
    slug: str  # the region the citizen submits to
    body: bytes  # the prepared multipart submission, sent as is each time
    content_type: str


@dataclass
class Plan:
    """Everything a load process needs (pickled to it)."""
    base_url: str
    rates: Rates
    seconds: float
    list_paths: list[str]
    detail_paths: list[str]
    regions: list[Region]
    citizens: list[Citizen]
    processes: int = 3
    connections: int = 32  # per stream and process: requests in flight at most, each on a keep-alive connection


# one request: (route, due, sent, answered) in time.monotonic() seconds (one clock for every process), its status
Record = tuple[str, float, float, float, str]


def schedule(rates: dict[str, float], seconds: float, *, part: int = 0, parts: int = 1) -> list[tuple[float, str]]:
    """When each request of one load process is due (seconds from the start) and of which stream, in order: the
    n-th request of a stream at ``rate`` is due at n / rate, and process ``part`` of ``parts`` takes every
    ``parts``-th of them, so together the processes offer each rate evenly."""
    due = []
    for stream, rate in rates.items():
        if rate <= 0:
            continue
        n = part
        while (t := n / rate) < seconds:
            due.append((t, stream))
            n += parts
    due.sort()
    return due


# ---- a load process ---------------------------------------------------------------------------------------------

class _Turns:
    """What a due request of each stream does; the applications this process submitted wait here for their next
    staff action."""

    def __init__(self, plan: Plan, part: int):
        self.plan = plan
        self.citizens = plan.citizens[part::plan.processes] or plan.citizens
        self.regions = {r.slug: r for r in plan.regions}
        self.lock = threading.Lock()
        self.counters: Counter = Counter()
        self.waiting: dict[str, deque] = {a: deque() for a in ACTIONS}

    def _next(self, stream: str) -> int:
        with self.lock:
            n = self.counters[stream]
            self.counters[stream] += 1
            return n

    def run(self, conn: _Connection, stream: str) -> tuple[str, str]:
        """Send one request of ``stream``: (its route, the answer's status)."""
        n = self._next(stream)
        if stream == "reads":
            if n % 2:
                return CATALOGUE_DETAIL, _status(conn.request("GET", _pick(self.plan.detail_paths, n // 2), {}))
            return CATALOGUE_LIST, _status(conn.request("GET", _pick(self.plan.list_paths, n // 2), {}))
        if stream == "citizens":
            token = _pick(self.citizens, n // 2).token
            route, path = ((MY_NOTIFICATIONS, "/api/v1/me/notifications?limit=20") if n % 2 else
                           (MY_APPLICATIONS, "/api/v1/me/applications?limit=20"))
            return route, _status(conn.request("GET", path, _bearer(token)))
        if stream == "submissions":
            return SUBMIT, self._submit(conn, _pick(self.citizens, n))
        if stream == "staff":
            return self._staff(conn, n)
        raise ValueError(f"unknown stream {stream!r}")

    def _submit(self, conn: _Connection, c: Citizen) -> str:
        answer = conn.request("POST", f"/api/v1/tenants/{c.slug}/applications",
                              {**_bearer(c.token), "Content-Type": c.content_type}, c.body)
        if answer and answer[0] == 201:
            with self.lock:
                self.waiting["verify"].append((c.slug, json.loads(answer[1])["id"]))
        return _status(answer)

    def _staff(self, conn: _Connection, n: int) -> tuple[str, str]:
        job = None
        if n % ACT_EVERY == 0:
            with self.lock:  # the furthest step first, so that applications get through to completion
                action = next((a for a in reversed(ACTIONS) if self.waiting[a]), None)
                if action:
                    job = (action, *self.waiting[action].popleft())
        if job is None:
            region = _pick(self.plan.regions, n)
            return INBOX, _status(conn.request("GET", f"/api/v1/tenants/{region.slug}/applications?limit=20",
                                               _bearer(region.staff["verifier"])))
        action, slug, app_id = job
        answer = conn.request("POST", f"/api/v1/tenants/{slug}/applications/{app_id}/actions",
                              {**_bearer(self.regions[slug].staff[ROLE[action]]), "Content-Type": "application/json"},
                              json.dumps({"action": action}).encode())
        if answer and answer[0] == 200 and action in NEXT:
            with self.lock:
                self.waiting[NEXT[action]].append((slug, app_id))
        return action_route(action), _status(answer)


def _pick(items: list, n: int):
    return items[n % len(items)]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _status(answer: tuple[int, bytes] | None) -> str:
    return NO_ANSWER if answer is None else str(answer[0])


def _load_process(plan: Plan, part: int, start_at: float, queue) -> None:
    """One process's share of every stream, each stream on its own connections (as different users are), so that a
    slow route delays its own requests and not the others'."""
    parts = urlsplit(plan.base_url)
    turns = _Turns(plan, part)
    give_up_at = start_at + plan.seconds + GRACE_S
    records: list[Record] = []
    lock = threading.Lock()

    def loop(due: list[float], stream: str, order) -> None:
        conn = _Connection(parts.hostname, parts.port or 80, timeout=TIMEOUT_S)
        try:
            while True:
                with lock:
                    i = next(order, None)
                if i is None:
                    return
                at = start_at + due[i]
                if (wait := at - time.monotonic()) > 0:
                    time.sleep(wait)
                sent = time.monotonic()
                if sent > give_up_at:
                    route, status = f"{stream}: {NOT_SENT}", NOT_SENT
                else:
                    route, status = turns.run(conn, stream)
                with lock:
                    records.append((route, at, sent, time.monotonic(), status))
        finally:
            conn.close()

    by_stream: dict[str, list[float]] = defaultdict(list)
    for t, stream in schedule(plan.rates.streams(), plan.seconds, part=part, parts=plan.processes):
        by_stream[stream].append(t)
    threads = []
    for stream, due in by_stream.items():
        order = iter(range(len(due)))
        threads += [threading.Thread(target=loop, args=(due, stream, order), daemon=True)
                    for _ in range(plan.connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    queue.put((records, ru.ru_utime + ru.ru_stime))


# ---- memory -----------------------------------------------------------------------------------------------------

class MemorySampler:
    """A thread reading the RSS (MB) of each named pid every ``every`` seconds from ``start_at`` (time.monotonic())
    until stopped: samples[name] = [(seconds since start_at, MB), ...]; a pid that went away is listed in
    ``exited``."""

    def __init__(self, pids: dict[str, int], read_mb: Callable[[int], float], *, start_at: float,
                 every: float = 5.0):
        self.pids, self.read_mb, self.start_at, self.every = dict(pids), read_mb, start_at, every
        self.samples: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
        self.exited: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)

    def start(self) -> MemorySampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def sample(self) -> None:
        t = time.monotonic() - self.start_at
        for name, pid in self.pids.items():
            if name in self.exited:
                continue
            try:
                self.samples[name].append((t, self.read_mb(pid)))
            except OSError:
                self.exited.add(name)

    def _run(self) -> None:
        if self._stop.wait(max(0.0, self.start_at - time.monotonic())):
            return
        n = 0
        while True:
            self.sample()
            n += 1
            if self._stop.wait(max(0.0, self.start_at + n * self.every - time.monotonic())):
                self.sample()  # the end of the load
                return


@dataclass
class MemoryVerdict:
    start_mb: float  # the first sample after the warm-up
    end_mb: float
    max_mb: float  # after the warm-up
    slope_mb_per_min: float  # least squares over the samples after the warm-up
    first_mean_mb: float  # mean of the first window (a minute) after the warm-up
    last_mean_mb: float  # mean of the last window (a minute)
    limit_mb: float  # the growth allowed between them
    window_s: float
    samples: int
    flat: bool | None  # None: too few samples after the warm-up to tell

    @property
    def growth_mb(self) -> float:
        return self.last_mean_mb - self.first_mean_mb

    @property
    def verdict(self) -> str:
        return {True: "flat", False: "GROWING", None: "too short to tell"}[self.flat]


def memory_verdict(samples: list[tuple[float, float]], *, warmup_s: float, window_s: float = 60,
                   growth_pct: float = 10, growth_mb: float = 20) -> MemoryVerdict:
    """Whether one process's RSS stayed flat: after ``warmup_s``, the mean of the last ``window_s`` seconds
    exceeds the mean of the first by less than ``growth_pct`` % of it or ``growth_mb``, whichever is larger (the
    windows shrink to half the measured span when it is shorter than two of them)."""
    after = sorted((t, mb) for t, mb in samples if t >= warmup_s)
    nan = float("nan")
    if len(after) < 2 or after[-1][0] <= after[0][0]:
        mbs = [mb for _, mb in after]
        return MemoryVerdict(mbs[0] if mbs else nan, mbs[-1] if mbs else nan, max(mbs, default=nan), nan, nan, nan,
                             nan, 0.0, len(after), None)
    t0, t1 = after[0][0], after[-1][0]
    window = min(window_s, (t1 - t0) / 2)
    first = statistics.fmean(mb for t, mb in after if t <= t0 + window)
    last = statistics.fmean(mb for t, mb in after if t >= t1 - window)
    slope = statistics.linear_regression([t for t, _ in after], [mb for _, mb in after]).slope * 60
    limit = max(first * growth_pct / 100, growth_mb)
    return MemoryVerdict(after[0][1], after[-1][1], max(mb for _, mb in after), slope, first, last, limit, window,
                         len(after), last - first < limit)


# ---- per route --------------------------------------------------------------------------------------------------

@dataclass
class RouteStats:
    route: str
    requests: int
    statuses: dict[str, int]
    rps: float  # answers (of any status) a second over the load
    p50_ms: float  # from when each request was due to its answer
    p99_ms: float
    late_p99_ms: float  # from due to sent: the wait for a free connection (the generator's own lag included)

    @property
    def errors(self) -> dict[str, int]:
        """Every answer but a 2xx, and requests that got none."""
        return {k: v for k, v in sorted(self.statuses.items()) if not k.startswith("2")}

    @property
    def server_errors(self) -> int:
        """5xx answers, requests that got no answer and those never sent: the platform's failures."""
        return sum(v for k, v in self.statuses.items() if k.startswith("5") or k in UNANSWERED)


def route_stats(records: list[Record], seconds: float) -> list[RouteStats]:
    """Requests, statuses, throughput and latency percentiles per route, in ROUTES order (others after)."""
    by_route: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_route[r[0]].append(r)
    order = [r for r in ROUTES if r in by_route] + sorted(set(by_route) - set(ROUTES))
    out = []
    for route in order:
        rs = by_route[route]
        answered = [int((done - due) * 1e9) for _, due, _, done, status in rs if status not in UNANSWERED]
        late = [int((sent - due) * 1e9) for _, due, sent, _, _ in rs]
        out.append(RouteStats(route, len(rs), dict(Counter(r[4] for r in rs)), len(answered) / seconds,
                              pct_ms(answered, 50), pct_ms(answered, 99), pct_ms(late, 99)))
    return out


def overall(records: list[Record], seconds: float) -> RouteStats:
    """Every route together."""
    return route_stats([("all", *r[1:]) for r in records], seconds)[0]


# ---- the run ----------------------------------------------------------------------------------------------------

@dataclass
class MixedResult:
    records: list[Record]
    seconds: float
    memory: dict[str, list[tuple[float, float]]]  # name → [(seconds since the start, RSS MB)]
    exited: set[str]
    loadgen_cpu_s: float
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core per process group during the load


def run_mixed(plan: Plan, *, pids: dict[str, int], read_mb: Callable[[int], float],
              sample_every: float = 5.0) -> MixedResult:
    """Offer the plan's load from ``plan.processes`` processes for ``plan.seconds``, sampling the memory of
    ``pids`` (name → pid) meanwhile and the CPU of every process at the start and the end."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    start_at = time.monotonic() + 3.0  # the processes start and import before the first request is due
    procs = [ctx.Process(target=_load_process, args=(plan, part, start_at, queue), daemon=True)
             for part in range(plan.processes)]
    for p in procs:
        p.start()
    sampler = MemorySampler(pids, read_mb, start_at=start_at, every=sample_every).start()
    ticks: list = []

    def probe() -> None:
        for at in (start_at, start_at + plan.seconds):
            time.sleep(max(0.0, at - time.monotonic()))
            ticks.append((time.monotonic(), cpu_ticks()))

    prober = threading.Thread(target=probe, name="cpu-probe", daemon=True)
    prober.start()
    records: list[Record] = []
    cpu = 0.0
    try:
        for _ in procs:
            out, used = queue.get(timeout=plan.seconds + 120)
            records += out
            cpu += used
    finally:
        sampler.stop()
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
    prober.join(5)
    labels = {pid: name for name, pid in pids.items()}
    labels.update({p.pid: "load generator" for p in procs})
    account = cpu_account(ticks[0][1], ticks[1][1], ticks[1][0] - ticks[0][0], labels) if len(ticks) == 2 else {}
    ended = max((r[3] for r in records), default=start_at + plan.seconds)
    return MixedResult(records, max(plan.seconds, ended - start_at), sampler.samples, sampler.exited, cpu, account)
