"""Benchmark the platform on an isolated vhost and PostgreSQL databases: HTTP floor, cache, RPC, broker, outbox."""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform as pyplatform
import shutil
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests
from amqp_baseline import EventTap, percentiles_ms, publish_consume
from load import LoadGenerator, LoadResult

from devtools.platform import MANAGEMENT, PG_ADMIN, ROOT, Databases, Platform, Vhost

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
BENCHES = ("floor", "cache", "rpc", "amqp", "outbox")
CACHE_TENANT = {"slug": "bench-sinjai", "region_code": "73.07"}


@dataclass
class Row:
    key: str
    name: str
    throughput: float
    unit: str
    p50_ms: float
    p99_ms: float
    notes: str
    http: bool = False
    ratio: float | None = None
    extra: dict = field(default_factory=dict)


# ---- the measurements -------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, platform: Platform, gen: LoadGenerator, args: argparse.Namespace):
        self.p, self.gen, self.args = platform, gen, args
        self.http = requests.Session()
        self._token: str | None = None

    def url(self, path: str) -> str:
        return self.p.base_url + path

    @property
    def admin_headers(self) -> dict[str, str]:
        if self._token is None:
            r = self.http.post(self.url("/api/v1/auth/token"), timeout=10,
                               json={"username": self.p.admin_email, "password": self.p.admin_password})
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def load(self, key: str, name: str, path: str, headers: dict[str, str] | None = None) -> Row:
        r = self.http.get(self.url(path), headers=headers, timeout=10)
        if r.status_code != 200:
            raise RuntimeError(f"GET {path} answered {r.status_code}: {r.text[:300]}")
        a = self.args
        self.gen.run(self.url(path), connections=a.connections, duration=1, headers=headers)  # warm-up
        res: LoadResult = self.gen.run(self.url(path), connections=a.connections, duration=a.duration, headers=headers)
        detail = ", ".join(f"{k} {v}" for k, v in res.extra.items())
        notes = f"{a.connections} conns, {a.duration:g}s, {res.generator}" + (f" ({detail})" if detail else "")
        if res.errors:
            notes += f", {res.errors} ERRORS of {res.requests}"
        return Row(key, name, res.rps, "req/s", res.p50_ms, res.p99_ms, notes, http=True,
                   extra={"requests": res.requests, "errors": res.errors, **res.extra})

    def floor(self) -> Row:
        return self.load("floor", "gateway floor /healthz", "/healthz")

    def cache(self) -> Row:
        path = f"/api/v1/tenants/{CACHE_TENANT['slug']}"
        if self.http.get(self.url(path), timeout=10).status_code == 404:
            r = self.http.post(self.url("/api/v1/tenants"), json=CACHE_TENANT, headers=self.admin_headers, timeout=30)
            if r.status_code != 201:
                raise RuntimeError(f"creating {CACHE_TENANT['slug']} answered {r.status_code}: {r.text[:300]}")
        return self.load("cache", f"tenant read (cache) GET {path}", path)

    def rpc(self) -> Row:
        return self.load("rpc", "RPC round trip GET /api/v1/me", "/api/v1/me", self.admin_headers)

    def amqp(self) -> Row:
        n = self.args.messages
        res = publish_consume(self.p.amqp_uri, count=n, size=500, timeout=120)
        notes = f"{res['received']}/{res['sent']} msgs x 500 B, persistent, confirms, prefetch 100, 2 connections"
        return Row("amqp", "raw pika publish+consume", res["msg_per_s"], "msg/s", res["p50_ms"], res["p99_ms"],
                   notes, extra=res)

    def outbox(self) -> Row:
        codes = kabupaten_codes(self.args.events)
        from_post, from_201, posts = [], [], []
        headers = self.admin_headers
        started = time.monotonic()
        with EventTap(self.p.amqp_uri, "tenants.events", "tenant_created") as tap:
            for code in codes:
                slug = "bench-" + code.replace(".", "-")
                t0 = time.monotonic_ns()
                r = self.http.post(self.url("/api/v1/tenants"), json={"slug": slug, "region_code": code},
                                   headers=headers, timeout=30)
                t1 = time.monotonic_ns()
                if r.status_code != 201:
                    raise RuntimeError(f"creating {slug} answered {r.status_code}: {r.text[:300]}")
                arrived = tap.wait_for(slug, timeout=15)
                if arrived is None:
                    raise RuntimeError(f"no tenant_created event for {slug} within 15s")
                from_post.append(arrived - t0)
                from_201.append(arrived - t1)
                posts.append(t1 - t0)
        elapsed = time.monotonic() - started
        p50, p99 = percentiles_ms(from_post)
        a50, a99 = percentiles_ms(from_201)
        q50, _ = percentiles_ms(posts)
        notes = (f"{len(codes)} sequential POSTs; POST sent→event (POST itself p50 {q50:.1f}); "
                 f"201 received→event p50 {a50:.1f} p99 {a99:.1f}")
        return Row("outbox", "outbox event latency tenant_created", len(codes) / elapsed, "ev/s", p50, p99, notes,
                   extra={"events": len(codes), "post_p50_ms": q50, "after_201_p50_ms": a50, "after_201_p99_ms": a99,
                          "event_before_201": sum(1 for x in from_201 if x < 0)})


def kabupaten_codes(n: int) -> list[str]:
    with open(ROOT / "mppi/indonesia/data/regencies.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["name"].startswith("Kabupaten ") and r["code"] != "73.07"]
    return [r["code"] for r in rows[:n]]


# ---- setup, report ----------------------------------------------------------------------------------------------

def wait_cache_loaded(p: Platform, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while "tenant cache loaded" not in p.log("gateway"):
        if time.monotonic() > deadline:
            raise TimeoutError("the gateway did not load its tenant cache")
        time.sleep(0.2)


def machine_info() -> dict:
    info = {"nproc": os.cpu_count(), "python": sys.version.split()[0], "platform": pyplatform.platform(),
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    try:
        info["rabbitmq"] = requests.get(MANAGEMENT + "/api/overview", timeout=5).json().get("rabbitmq_version")
    except (requests.RequestException, ValueError):
        pass
    try:
        import psycopg2

        with psycopg2.connect(PG_ADMIN) as conn, conn.cursor() as cur:
            cur.execute("SHOW server_version")
            info["postgresql"] = cur.fetchone()[0]
        conn.close()
    except Exception:
        pass
    return info


def fmt(v: float | None, spec: str) -> str:
    return "-" if v is None or v != v else format(v, spec)


def table(rows: list[Row]) -> str:
    head = ("name", "throughput", "p50 ms", "p99 ms", "vs floor", "notes")
    body = [(r.name, f"{fmt(r.throughput, ',.0f')} {r.unit}", fmt(r.p50_ms, '.2f'), fmt(r.p99_ms, '.2f'),
             fmt(r.ratio, '.2f'), r.notes) for r in rows]
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(len(head))]
    right = {1, 2, 3, 4}

    def line(cells) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *map(line, body)])


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--duration", type=float, default=10, help="seconds per HTTP load run (default 10)")
    ap.add_argument("--connections", type=int, default=32, help="concurrent HTTP connections (default 32)")
    ap.add_argument("--only", help=f"comma-separated subset of {', '.join(BENCHES)}")
    ap.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto",
                    help="HTTP load generator (auto: wrk, installed with apt-get if missing, else Python)")
    ap.add_argument("--messages", type=int, default=20_000, help="messages for the pika baseline (default 20000)")
    ap.add_argument("--events", type=int, default=50, help="tenants created for the outbox latency (default 50)")
    args = ap.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",")] if args.only else list(BENCHES)
    if unknown := set(args.only) - set(BENCHES):
        ap.error(f"unknown bench {', '.join(sorted(unknown))}: choose from {', '.join(BENCHES)}")
    if not (0 < args.duration <= 600 and 0 < args.connections <= 1000):
        ap.error("duration must be in (0, 600] s and connections in (0, 1000]")
    return args


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine_info()
    gen = LoadGenerator(args.generator) if {"floor", "cache", "rpc"} & set(args.only) else None
    print(f"load generator: {gen.name if gen else '-'}; nproc {info['nproc']}; python {info['python']}", flush=True)

    run_id = uuid.uuid4().hex[:8]
    vhost, dbs = Vhost(f"mppi-bench-{run_id}"), Databases(f"mppi_bench_{run_id}")
    var_dir = Path(tempfile.mkdtemp(prefix=f"mppi-bench-{run_id}-"))
    p = Platform(var_dir=var_dir, amqp_uri=vhost.amqp_uri, database_urls=dbs.urls)
    signal.signal(signal.SIGTERM, _terminate)
    rows: list[Row] = []
    ok = False
    try:
        vhost.create()
        dbs.create()
        print(f"starting the platform (vhost {vhost.name}, databases {dbs.prefix}_*)", flush=True)
        p.start(timeout=90)
        wait_cache_loaded(p)
        bench = Bench(p, gen, args)
        for key in BENCHES:
            if key in args.only:
                print(f"running {key} ...", flush=True)
                rows.append(getattr(bench, key)())
        ok = True
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip the cleanup
        for step in (p.stop_all, dbs.drop, vhost.delete):
            try:
                step()
            except Exception as exc:  # keep cleaning up
                print(f"cleanup: {step.__qualname__} failed: {exc}", file=sys.stderr)
        if ok:
            shutil.rmtree(var_dir, ignore_errors=True)
        else:
            print(f"service logs kept in {var_dir}/logs", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.default_int_handler)

    floor = next((r for r in rows if r.key == "floor"), None)
    for r in rows:
        if r.http and floor and floor.throughput:
            r.ratio = r.throughput / floor.throughput
    print()
    print(table(rows))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "latest.json"
    out.write_text(json.dumps({"machine": info, "generator": gen.name if gen else None,
                               "settings": {k: v for k, v in vars(args).items()},
                               "results": [asdict(r) for r in rows]}, indent=2, default=str) + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
