"""Benchmark the platform on an isolated vhost and PostgreSQL databases: HTTP floor, cache, RPC, broker, outbox,
catalogue, submissions with documents, the staff inbox over a million applications, and minutes of a mixed load
with the memory of every service watched."""
from __future__ import annotations

import argparse
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
from load import LoadGenerator, LoadResult, run_paced
from mixed import ACT_EVERY, Citizen, Plan, Rates, Region, memory_verdict, overall, route_stats, run_mixed
from submit import ApplicationTap, encode, pct_ms, run_submissions, steady_rate

from devtools import bulk_load
from devtools.platform import MANAGEMENT, PG_ADMIN, ROOT, Databases, Platform, Vhost
from devtools.sample_forms import fill_form, padded_pdf
from mppi.contracts.applications import OPEN_STATUSES
from services.applications import repository as applications_repository  # imported with the rest, at start

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
BENCHES = ("floor", "cache", "rpc", "amqp", "outbox", "onboard", "catalogue_list", "catalogue_detail",
           "propagation", "submissions", "feed", "inbox", "mixed")
CACHE_TENANT = {"slug": "bench-sinjai", "region_code": "73.07"}
ONBOARD_REGION = "91.71"
SUBMIT_REGION = "96.71"  # the last regency: a region of its own for the submissions, never bulk-loaded
SUBMIT_FILE_BYTES = 200 * 1024
MIXED_REGIONS = 2  # regions of their own for the mixed load's submissions and staff, never bulk-loaded
HTTP_LOADS = {"floor", "cache", "rpc", "catalogue_list", "catalogue_detail", "inbox"}


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
        slugs = self.bulk_slugs[: self.args.events]
        from_post, from_200, posts = [], [], []
        headers = self.admin_headers
        started = time.monotonic()
        with EventTap(self.p.amqp_uri, "tenants.events", "tenant_updated") as tap:
            for i, slug in enumerate(slugs):
                t0 = time.monotonic_ns()
                r = self.http.patch(self.url(f"/api/v1/tenants/{slug}"), headers=headers, timeout=30,
                                    json={"branding": {"primary_color": f"#00{i:04x}"}})
                t1 = time.monotonic_ns()
                if r.status_code != 200:
                    raise RuntimeError(f"updating {slug} answered {r.status_code}: {r.text[:300]}")
                arrived = tap.wait_for(slug, timeout=15)
                if arrived is None:
                    raise RuntimeError(f"no tenant_updated event for {slug} within 15s")
                from_post.append(arrived - t0)
                from_200.append(arrived - t1)
                posts.append(t1 - t0)
        elapsed = time.monotonic() - started
        p50, p99 = percentiles_ms(from_post)
        a50, a99 = percentiles_ms(from_200)
        q50, _ = percentiles_ms(posts)
        notes = (f"{len(slugs)} sequential PATCHes; PATCH sent→event (PATCH itself p50 {q50:.1f}); "
                 f"200 received→event p50 {a50:.1f} p99 {a99:.1f}")
        return Row("outbox", "outbox event latency tenant_updated", len(slugs) / elapsed, "ev/s", p50, p99, notes,
                   extra={"events": len(slugs), "patch_p50_ms": q50, "after_200_p50_ms": a50,
                          "after_200_p99_ms": a99})

    # -- catalogue (issue 3) ---------------------------------------------------------------------------------------
    def onboard(self) -> Row:
        """A new region goes live: tenant, its admin, 20 templates adopted and published, listed publicly."""
        slug = "bench-onboard"
        started = time.monotonic()
        r = self.http.post(self.url("/api/v1/tenants"), json={"slug": slug, "region_code": ONBOARD_REGION},
                           headers=self.admin_headers, timeout=30)
        r.raise_for_status()
        email = "admin@bench-onboard.id"
        self.http.post(self.url(f"/api/v1/tenants/{slug}/staff"), headers=self.admin_headers, timeout=30,
                       json={"email": email, "full_name": "Admin", "password": "password-123",
                             "roles": ["tenant_admin"]}).raise_for_status()
        token = self.http.post(self.url("/api/v1/auth/token"), json={"username": email, "password": "password-123"},
                               timeout=30).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        templates = self.http.get(self.url("/api/v1/templates"), timeout=30).json()[:20]
        calls = 3
        for t in templates:
            r = self.http.post(self.url(f"/api/v1/tenants/{slug}/services"), json={"template_code": t["code"]},
                               headers=h, timeout=30)
            r.raise_for_status()
            self.http.post(self.url(f"/api/v1/tenants/{slug}/services/{r.json()['id']}/publish"), headers=h,
                           timeout=30).raise_for_status()
            calls += 2
        listed = self.http.get(self.url(f"/api/v1/tenants/{slug}/services?limit=100"), timeout=30).json()["items"]
        elapsed = time.monotonic() - started
        if len(listed) != len(templates):
            raise RuntimeError(f"{len(listed)} of {len(templates)} services listed after onboarding")
        return Row("onboard", "onboard a region: tenant + adopt 20 + publish 20 + list", calls / elapsed, "req/s",
                   elapsed * 1000, float("nan"), f"{elapsed:.2f} s end to end (goal < 10 s), {calls} requests",
                   extra={"seconds": elapsed})

    def catalogue_list(self) -> Row:
        slug = self.bulk_slugs[len(self.bulk_slugs) // 2]
        row = self.load("catalogue_list", "catalogue list (cache) GET /tenants/{t}/services",
                        f"/api/v1/tenants/{slug}/services?limit=20")
        row.notes += f"; {self.bulk_note}"
        return row

    def catalogue_detail(self) -> Row:
        slug = self.bulk_slugs[len(self.bulk_slugs) // 3]
        items = self.http.get(self.url(f"/api/v1/tenants/{slug}/services?limit=50"), timeout=30).json()["items"]
        row = self.load("catalogue_detail", "catalogue detail (cache) GET /tenants/{t}/services/{id}",
                        f"/api/v1/tenants/{slug}/services/{items[min(37, len(items) - 1)]['id']}")
        row.notes += f"; {self.bulk_note}; gateway RSS {rss_mb(self.p.procs['gateway'].pid):.0f} MB"
        return row

    def propagation(self) -> Row:
        """Publish through gateway A, poll gateway B until it serves the new version: the cache refresh delay."""
        from devtools.platform import free_port

        port = free_port()
        self.p.start_gateway("gateway-b", port=port)
        b = f"http://127.0.0.1:{port}"
        try:
            self.p.wait_ready(base_url=b, timeout=120)
            slug = self.bulk_slugs[-1]
            h = self.admin_headers
            service = self.http.get(self.url(f"/api/v1/tenants/{slug}/services?limit=1"), timeout=30).json()["items"][0]
            delays = []
            for i in range(self.args.changes):
                sid = service["id"]
                self.http.patch(self.url(f"/api/v1/tenants/{slug}/services/{sid}"), headers=h, timeout=30,
                                json={"standard": {"sla_days": 1 + i % 20}}).raise_for_status()
                r = self.http.post(self.url(f"/api/v1/tenants/{slug}/services/{sid}/publish"), headers=h, timeout=30)
                r.raise_for_status()
                published_at, version = time.monotonic_ns(), r.json()["version"]
                deadline = time.monotonic() + 10
                while self.http.get(f"{b}/api/v1/tenants/{slug}/services/{sid}", timeout=10).json()["version"] \
                        != version:
                    if time.monotonic() > deadline:
                        raise RuntimeError("gateway B did not see the change within 10 s")
                    time.sleep(0.002)
                delays.append(time.monotonic_ns() - published_at)
        finally:
            self.p.stop("gateway-b")
        p50, p99 = percentiles_ms(delays)
        return Row("propagation", "change propagation gateway A → gateway B", float("nan"), "", p50, p99,
                   f"{len(delays)} publishes; 200 from A → new version served by B (goal < 1 s); polled every 2 ms",
                   extra={"max_ms": max(delays) / 1e6})

    # -- applications (issue 4) ------------------------------------------------------------------------------------
    def _login(self, email: str, password: str) -> dict[str, str]:
        r = self.http.post(self.url("/api/v1/auth/token"), json={"username": email, "password": password}, timeout=30)
        if r.status_code != 200:
            raise RuntimeError(f"logging in {email} answered {r.status_code}: {r.text[:300]}")
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def _citizen(self, nik: str, email: str, name: str) -> str:
        """Register a citizen; their bearer token."""
        r = self.http.post(self.url("/api/v1/auth/register"), timeout=30,
                           json={"nik": nik, "full_name": name, "email": email, "phone": "081234567890",
                                 "password": "rahasia-123"})
        if r.status_code != 201:
            raise RuntimeError(f"registering {email} answered {r.status_code}: {r.text[:300]}")
        return self._login(email, "rahasia-123")["Authorization"].removeprefix("Bearer ")

    def _staff(self, slug: str, role: str) -> dict[str, str]:
        email = f"{role}@{slug}.id"
        r = self.http.post(self.url(f"/api/v1/tenants/{slug}/staff"), headers=self.admin_headers, timeout=30,
                           json={"email": email, "full_name": role.replace("_", " ").title(),
                                 "password": "password-123", "roles": [role]})
        if r.status_code != 201:
            raise RuntimeError(f"creating the {role} of {slug} answered {r.status_code}: {r.text[:300]}")
        return self._login(email, "password-123")

    def _small_template_with_a_file(self) -> tuple[str, int, int]:
        """The template with the fewest fields among those with at least one file field: (code, fields, files)."""
        best = None
        for t in self.http.get(self.url("/api/v1/templates"), timeout=30).json():
            fields = self.http.get(self.url(f"/api/v1/templates/{t['code']}"), timeout=30).json()["form"]["fields"]
            files = sum(f["type"] == "file" for f in fields)
            if files and (best is None or (len(fields), files) < best[1:]):
                best = (t["code"], len(fields), files)
        if best is None:
            raise RuntimeError("no template has a file field")
        return best

    def submissions(self) -> Row:
        """Citizens submit applications with a 200 KB PDF per file field, concurrently, for --submit-seconds; then
        the outbox drains their application_submitted events."""
        a = self.args
        slug = "bench-submit"
        r = self.http.post(self.url("/api/v1/tenants"), json={"slug": slug, "region_code": SUBMIT_REGION},
                           headers=self.admin_headers, timeout=30)
        if r.status_code != 201:
            raise RuntimeError(f"creating {slug} answered {r.status_code}: {r.text[:300]}")
        h = self._staff(slug, "tenant_admin")
        code, n_fields, n_files = self._small_template_with_a_file()
        r = self.http.post(self.url(f"/api/v1/tenants/{slug}/services"), json={"template_code": code}, headers=h,
                           timeout=30)
        r.raise_for_status()
        sid = r.json()["id"]
        self.http.post(self.url(f"/api/v1/tenants/{slug}/services/{sid}/publish"), headers=h,
                       timeout=30).raise_for_status()
        fields = self.http.get(self.url(f"/api/v1/tenants/{slug}/services/{sid}?lang=all"),
                               timeout=30).json()["form"]["fields"]
        url = self.url(f"/api/v1/tenants/{slug}/applications")
        pdf = padded_pdf(SUBMIT_FILE_BYTES)
        clients = []
        for n in range(1, a.submit_clients + 1):
            nik = f"730701450190{n:04d}"  # Sinjai, a woman born 5 January 1990, serials 0001..
            email = f"warga{n}@bench-submit.id"
            token = self._citizen(nik, email, f"Warga Bench {n}")
            form, files = fill_form(fields, nik=nik, file_bytes=pdf)
            clients.append((token, *encode(url, {"service_id": sid, "form": form}, files)))
        names = {p.pid: name for name, p in self.p.procs.items()}
        # the feed as a regional system reads it: the region's own feed vhost, through the shovel
        sub = self.http.post(self.url(f"/api/v1/tenants/{slug}/subscriptions"), json={"kind": "amqp"}, headers=h,
                             timeout=30)
        sub.raise_for_status()
        amqp = sub.json()["amqp"]
        feed_tap = ApplicationTap(amqp["url"], "mppi.public", f"{slug}.application.submitted",
                                  queue=amqp["queue_prefix"] + "bench", declare=False)
        # and where notifications publishes it, on the platform's vhost: the shovel's own cost, in the same run
        platform_tap = ApplicationTap(self.p.amqp_uri, "mppi.public", f"{slug}.application.submitted")
        with ApplicationTap(self.p.amqp_uri, "applications.events", "application_submitted") as tap, feed_tap, \
                platform_tap:
            # the first 201 also shows the applications service has kept the published version (a catalog event)
            token, body, ctype = clients[0]
            deadline = time.monotonic() + 30
            while True:
                r = self.http.post(url, data=body, headers={"Authorization": f"Bearer {token}",
                                                            "Content-Type": ctype}, timeout=60)
                if r.status_code == 201:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the warm-up submission answered {r.status_code}: {r.text[:300]}")
                time.sleep(0.2)
            res = run_submissions(url, clients, seconds=a.submit_seconds, processes=a.submit_processes, names=names)
            backlog = self._outbox_backlog()
            ids = {app_id for _, _, app_id in res.created}
            missing = tap.wait_all(ids, timeout=max(60.0, a.submit_seconds * 2))
            arrived = {i: tap.arrived[i] for i in ids if i in tap.arrived}
            feed_missing = feed_tap.wait_all(ids, timeout=max(60.0, a.submit_seconds * 2))
            on_feed = {i: feed_tap.arrived[i] for i in ids if i in feed_tap.arrived}
            platform_tap.wait_all(ids, timeout=10)
            on_platform = {i: platform_tap.arrived[i] for i in ids if i in platform_tap.arrived}
        self._feed = (res, on_feed, feed_missing, on_platform)
        if not res.created:
            raise RuntimeError(f"no submission succeeded: {dict(res.statuses)} {res.samples}")
        last_201 = res.created[-1][0]
        drain = (max(arrived.values()) - last_201) / 1e9 if arrived else float("nan")
        event_lat = [arrived[i] - t for t, _, i in res.created if i in arrived]
        created_lat = [lat for _, lat, _ in res.created]
        p50, p99 = pct_ms(created_lat, 50), pct_ms(created_lat, 99)
        steady = steady_rate(res.created)
        errors = {k: v for k, v in res.statuses.items() if k != "201"}
        cpu_total = sum(res.cpu.values())
        top = ", ".join(f"{k} {v:.0f}" for k, v in list(res.cpu.items())[:6])
        goal = "MET" if steady >= 100 else "MISSED"
        if "notifications" in self.p.procs:
            consumers = (f"the notifications service ran and consumed application_submitted too, "
                         f"{res.cpu.get('notifications', 0):.0f}% of a core; the drain is still outbox → tap")
        else:
            consumers = "no notifications service or public feed consumes the events yet: this is the outbox drain"
        notes = (f"{len(clients)} citizens in {min(a.submit_processes, len(clients))} processes, "
                 f"{res.seconds:.0f} s, template {code} ({n_fields} fields, {n_files} × "
                 f"{SUBMIT_FILE_BYTES // 1024} KB PDF); worst 5 s window {steady:.0f}/s (goal ≥ 100/s sustained "
                 f"for a minute on {os.cpu_count()} cores: {goal}); errors {errors or 'none'}; "
                 f"drain: last event {drain:.2f} s after the last 201, {len(arrived)}/{len(ids)} events, "
                 f"201→event p50 {pct_ms(event_lat, 50):.0f} ms p99 {pct_ms(event_lat, 99):.0f} ms, "
                 f"outbox backlog {backlog} at the end of the load ({consumers}); CPU % of a core: {top} "
                 f"(all {cpu_total:.0f} of {100 * (os.cpu_count() or 1)})")
        if missing:
            notes += f"; {len(missing)} EVENTS MISSING"
        return Row("submissions", f"submit application multipart + {n_files} × 200 KB PDF", res.rate, "201/s",
                   p50, p99, notes, http=True,
                   extra={"created": len(res.created), "seconds": res.seconds, "steady_5s_per_s": steady,
                          "statuses": dict(res.statuses), "error_samples": res.samples, "template": code,
                          "fields": n_fields, "file_fields": n_files, "all_p50_ms": pct_ms(res.latencies_ns, 50),
                          "all_p99_ms": pct_ms(res.latencies_ns, 99), "drain_s": drain,
                          "events": len(arrived), "events_missing": len(missing),
                          "event_after_201_p50_ms": pct_ms(event_lat, 50),
                          "event_after_201_p99_ms": pct_ms(event_lat, 99), "outbox_backlog_at_end": backlog,
                          "loadgen_cpu_s": res.loadgen_cpu_s, "cpu_pct_of_core": res.cpu})

    def feed(self) -> Row:
        """From the submissions row's run: application_submitted → the public feed (mppi.public, CloudEvents)."""
        res, on_feed, missing, on_platform = self._feed
        if not on_feed:
            raise RuntimeError("no application reached the public feed")
        created = {i: t for t, _, i in res.created}
        lat = [on_feed[i] - created[i] for i in on_feed if i in created]
        first, last = min(on_feed.values()), max(on_feed.values())
        rate = (len(on_feed) - 1) / ((last - first) / 1e9) if last > first else float("nan")
        drain = (last - res.created[-1][0]) / 1e9
        notes = (f"{len(on_feed)} CloudEvents on the region's feed vhost (shovelled from the platform's) for "
                 f"{len(res.created)} submissions; 201→feed p50/p99; "
                 f"the last arrived {drain:.2f} s after the last 201 (gateway → applications outbox → "
                 f"notifications → mppi.public, alongside the in-app/email notifications)")
        shovel = [on_feed[i] - on_platform[i] for i in on_feed if i in on_platform]
        before = [on_platform[i] - created[i] for i in on_platform if i in created]
        if shovel and before:
            notes += (f"; on the platform's vhost (before the shovel) p50/p99 {pct_ms(before, 50):.1f}/"
                      f"{pct_ms(before, 99):.1f} ms, the shovel adds p50/p99 {pct_ms(shovel, 50):.1f}/"
                      f"{pct_ms(shovel, 99):.1f} ms (feed vhost p50 / platform vhost p50 = "
                      f"{pct_ms(lat, 50) / max(pct_ms(before, 50), 1e-9):.2f})")
        if missing:
            notes += f"; {len(missing)} MISSING"
        return Row("feed", "public feed: application_submitted → mppi.public", rate, "ev/s", pct_ms(lat, 50),
                   pct_ms(lat, 99), notes, extra={"events": len(on_feed), "missing": len(missing), "drain_s": drain})

    def _outbox_backlog(self) -> int | None:
        import psycopg2

        try:
            conn = psycopg2.connect(self.p.database_urls["applications"])
        except psycopg2.Error:
            return None
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                return cur.fetchone()[0]
        finally:
            conn.close()

    def inbox(self) -> Row:
        """A verifier of a bulk region reads the first inbox page; the same SQL alone, straight to PostgreSQL."""
        slug = self.bulk_slugs[len(self.bulk_slugs) // 4]
        h = self._staff(slug, "verifier")
        path = f"/api/v1/tenants/{slug}/applications?limit=20"
        page = self.http.get(self.url(path), headers=h, timeout=30).json()
        row = self.load("inbox", "staff inbox GET /tenants/{t}/applications?limit=20", path, h)
        one: LoadResult = self.gen.run(self.url(path), connections=1, duration=self.args.duration, headers=h)
        rate = self.args.inbox_rate
        paced = run_paced(self.url(path), rate=rate, duration=self.args.duration, headers=h)
        sql = inbox_sql(slug, limit=21)  # the service asks for one more row to know whether a next page exists
        times, plan = time_sql(self.p.database_urls["applications"], sql, self.args.sql_runs)
        s50, s99 = pct_ms(times, 50), pct_ms(times, 99)
        scan = next((line.strip().removeprefix("-> ").strip() for line in plan if "Scan" in line), "?")
        # the goal is read at an offered load (open loop): the row's own figure, 32 connections as fast as they
        # can, is the saturation throughput, whose latency is only the queue (32 / throughput)
        goal = "MET" if paced.p99_ms < 50 and paced.errors == 0 else "MISSED"
        row.notes += (
            f"; {len(page.get('items', []))} items a page; offered {rate:.0f} req/s (open loop, latency from when each "
            f"was due), answered {paced.rps:.0f} req/s: p50 {paced.p50_ms:.2f} ms p99 {paced.p99_ms:.2f} ms, errors "
            f"{paced.errors}; one connection alone {one.rps:.0f} req/s p50 {one.p50_ms:.2f} ms p99 {one.p99_ms:.2f} "
            f"ms; SQL alone ({len(times)} runs, psycopg2) p50 {s50:.2f} ms p99 {s99:.2f} ms, plan: {plan[0].strip()} "
            f"/ {scan}; goal inbox p99 < 50 ms at {rate:.0f} req/s offered: {goal} (at {self.args.connections} "
            f"connections flat out, p99 {row.p99_ms:.0f} ms: saturated); {self.bulk_note}")
        row.extra.update({"sql_p50_ms": s50, "sql_p99_ms": s99, "sql_runs": len(times), "sql": sql,
                          "plan_top": plan[0].strip(), "plan_scan": scan, "plan": plan,
                          "items": len(page.get("items", [])), "offered": {
                              "rate": rate, "rps": paced.rps, "p50_ms": paced.p50_ms, "p99_ms": paced.p99_ms,
                              "requests": paced.requests, "errors": paced.errors}, "one_connection": {
                              "rps": one.rps, "p50_ms": one.p50_ms, "p99_ms": one.p99_ms, "requests": one.requests,
                              "errors": one.errors}})
        return row

    # -- mixed load (issue 12) -------------------------------------------------------------------------------------
    def _mixed_plan(self) -> tuple[Plan, str]:
        """Regions of their own with a published service (the smallest template with a file) and a staff account
        per role, citizens with their submission prepared, catalogue paths over the bulk-loaded regions: the plan
        of the mixed load, and the template's code."""
        a = self.args
        code, _, _ = self._small_template_with_a_file()
        pdf = padded_pdf(SUBMIT_FILE_BYTES)
        regions, forms = [], {}
        for i, region_code in enumerate(mixed_region_codes(a.tenants), start=1):
            slug = f"bench-mixed-{i}"
            r = self.http.post(self.url("/api/v1/tenants"), json={"slug": slug, "region_code": region_code},
                               headers=self.admin_headers, timeout=30)
            if r.status_code != 201:
                raise RuntimeError(f"creating {slug} answered {r.status_code}: {r.text[:300]}")
            h = self._staff(slug, "tenant_admin")
            r = self.http.post(self.url(f"/api/v1/tenants/{slug}/services"), json={"template_code": code},
                               headers=h, timeout=30)
            r.raise_for_status()
            sid = r.json()["id"]
            self.http.post(self.url(f"/api/v1/tenants/{slug}/services/{sid}/publish"), headers=h,
                           timeout=30).raise_for_status()
            forms[slug] = (sid, self.http.get(self.url(f"/api/v1/tenants/{slug}/services/{sid}?lang=all"),
                                              timeout=30).json()["form"]["fields"])
            staff = {role: self._staff(slug, role)["Authorization"].removeprefix("Bearer ")
                     for role in ("verifier", "approver", "operator")}
            regions.append(Region(slug, staff))
        citizens = []
        for n in range(1, a.mixed_citizens + 1):
            nik = f"730701450191{n:04d}"  # Sinjai, a woman born 5 January 1991: not the submissions row's citizens
            email = f"warga{n}@bench-mixed.id"
            token = self._citizen(nik, email, f"Warga Campur {n}")
            slug = regions[n % len(regions)].slug
            sid, fields = forms[slug]
            form, files = fill_form(fields, nik=nik, file_bytes=pdf)
            url = self.url(f"/api/v1/tenants/{slug}/applications")
            citizens.append(Citizen(token, slug, *encode(url, {"service_id": sid, "form": form}, files)))
        for region in regions:  # a first 201 shows the applications service has the published version
            c = next(c for c in citizens if c.slug == region.slug)
            headers = {"Authorization": f"Bearer {c.token}", "Content-Type": c.content_type}
            deadline = time.monotonic() + 30
            while True:
                r = self.http.post(self.url(f"/api/v1/tenants/{c.slug}/applications"), data=c.body, headers=headers,
                                   timeout=60)
                if r.status_code == 201:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the warm-up submission answered {r.status_code}: {r.text[:300]}")
                time.sleep(0.2)
        slugs = self.bulk_slugs
        # 1,000 services over the regions: read once each within the warm-up, so the gateway's cache of details is
        # full before its memory is judged
        detail_paths = [f"/api/v1/tenants/{slugs[k % len(slugs)]}/services/"
                        f"{bulk_load.service_id(slugs[k % len(slugs)], (k * 37) % a.services)}" for k in range(1000)]
        rates = Rates(reads=a.mixed_read_rate, submissions=a.mixed_submit_rate, staff=a.mixed_staff_rate,
                      citizens=a.mixed_citizen_rate)
        return Plan(self.p.base_url, rates, a.mixed_seconds,
                    list_paths=[f"/api/v1/tenants/{s}/services?limit=20" for s in slugs], detail_paths=detail_paths,
                    regions=regions, citizens=citizens, processes=a.mixed_processes), code

    def mixed(self) -> list[Row]:
        """Catalogue reads, submissions, staff actions and citizens' reads at fixed offered rates together for
        --mixed-seconds, from several processes; per route its figures, per platform process its memory."""
        a = self.args
        plan, code = self._mixed_plan()
        rates, regions, citizens, slugs = plan.rates, plan.regions, plan.citizens, self.bulk_slugs
        pids = {name: proc.pid for name, proc in self.p.procs.items()}
        print(f"  offering {sum(rates.streams().values()):g} req/s for {a.mixed_seconds:g} s from "
              f"{a.mixed_processes} processes ...", flush=True)
        res = run_mixed(plan, pids=pids, read_mb=rss_mb)

        offered = ", ".join(f"{k} {v:g}/s" for k, v in rates.streams().items())
        top = ", ".join(f"{k} {v:.0f}" for k, v in list(res.cpu.items())[:7])
        total = overall(res.records, res.seconds)
        rows = [Row("mixed", "mixed load: all routes", total.rps, "req/s", total.p50_ms, total.p99_ms,
                    f"offered {offered} for {res.seconds:.0f} s ({len(regions)} regions of their own with staff per "
                    f"role, {len(citizens)} citizens, template {code} with a {SUBMIT_FILE_BYTES // 1024} KB PDF a "
                    f"file field; catalogue reads over {len(slugs)} bulk-loaded regions) from {a.mixed_processes} "
                    f"processes × {plan.connections} connections a stream, open loop, latency from when each "
                    f"request was due; errors {total.errors or 'none'}; sent late p99 {total.late_p99_ms:.1f} ms; "
                    f"CPU % of a core: {top} (load generator {100 * res.loadgen_cpu_s / res.seconds:.0f})",
                    extra={"offered": rates.streams(), "seconds": res.seconds, "requests": total.requests,
                           "statuses": total.statuses, "late_p99_ms": total.late_p99_ms, "cpu_pct_of_core": res.cpu,
                           "regions": len(regions), "citizens": len(citizens)})]
        for s in route_stats(res.records, res.seconds):
            notes = f"{s.requests} requests; errors {s.errors or 'none'}"
            if s.server_errors:
                notes += f"; {s.server_errors} 5xx ERRORS"
            notes += f"; sent late p99 {s.late_p99_ms:.1f} ms"
            rows.append(Row(f"mixed {s.route}", f"mixed: {s.route}", s.rps, "req/s", s.p50_ms, s.p99_ms, notes,
                            extra={"requests": s.requests, "statuses": s.statuses, "server_errors": s.server_errors,
                                   "late_p99_ms": s.late_p99_ms}))
        for name, samples in res.memory.items():
            v = memory_verdict(samples, warmup_s=a.mixed_warmup)
            verdict = "EXITED during the load" if name in res.exited else v.verdict
            notes = (f"RSS start {v.start_mb:.0f} MB (after a {a.mixed_warmup:g} s warm-up), end {v.end_mb:.0f}, "
                     f"max {v.max_mb:.0f}, slope {v.slope_mb_per_min:+.2f} MB/min; mean of the first {v.window_s:.0f}"
                     f" s {v.first_mean_mb:.1f} → last {v.window_s:.0f} s {v.last_mean_mb:.1f} MB "
                     f"({v.growth_mb:+.1f}, limit {v.limit_mb:.0f}): {verdict}")
            rows.append(Row(f"mixed memory {name}", f"mixed: memory of {name}", float("nan"), "", float("nan"),
                            float("nan"), notes,
                            extra={"flat": False if name in res.exited else v.flat, "verdict": verdict,
                                   "start_mb": v.start_mb, "end_mb": v.end_mb, "max_mb": v.max_mb,
                                   "slope_mb_per_min": v.slope_mb_per_min, "first_mean_mb": v.first_mean_mb,
                                   "last_mean_mb": v.last_mean_mb, "limit_mb": v.limit_mb, "samples": samples}))
        return rows


def inbox_sql(slug: str, *, limit: int) -> str:
    """The statement the applications service runs for the first inbox page (built by its own repository code),
    with the values inlined."""
    from sqlalchemy.dialects import postgresql

    class Capture:
        def execute(self, statement, params=None):
            self.statement = statement.params(params) if params else statement
            return self

        def all(self):
            return []

    cap = Capture()
    applications_repository.inbox(cap, slug, statuses=list(OPEN_STATUSES), service_id=None, limit=limit, after=None)
    return str(cap.statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def time_sql(url: str, sql: str, runs: int) -> tuple[list[int], list[str]]:
    """Run ``sql`` ``runs`` times on one connection (after 20 warm-up runs): the times in ns, and its
    EXPLAIN ANALYZE plan."""
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for _ in range(20):
                cur.execute(sql)
                cur.fetchall()
            times = []
            for _ in range(runs):
                t0 = time.perf_counter_ns()
                cur.execute(sql)
                cur.fetchall()
                times.append(time.perf_counter_ns() - t0)
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
    return times, plan


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ---- setup, report ----------------------------------------------------------------------------------------------

def bulk_regions(n: int) -> list[str]:
    codes = [c for c in bulk_load.region_codes() if c not in (CACHE_TENANT["region_code"], ONBOARD_REGION,
                                                              SUBMIT_REGION)]
    return codes[:n]


def mixed_region_codes(tenants: int) -> list[str]:
    """Regions for the mixed load: the last ones neither bulk-loaded nor taken by another row."""
    taken = {*bulk_regions(tenants), CACHE_TENANT["region_code"], ONBOARD_REGION, SUBMIT_REGION}
    free = [c for c in bulk_load.region_codes() if c not in taken]
    if len(free) < MIXED_REGIONS:
        raise RuntimeError(f"only {len(free)} regions are left for the mixed load: bulk-load fewer (--tenants)")
    return free[-MIXED_REGIONS:]


def wait_cache_loaded(p: Platform, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while "catalogue cache loaded" not in p.log("gateway"):
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
    ap.add_argument("--events", type=int, default=50, help="tenants updated for the outbox latency (default 50)")
    ap.add_argument("--tenants", type=int, default=500, help="regions bulk-loaded (default 500, at most 511)")
    ap.add_argument("--services", type=int, default=100, help="published services per region (default 100)")
    ap.add_argument("--changes", type=int, default=20, help="publishes timed for propagation (default 20)")
    ap.add_argument("--submit-seconds", type=float, default=60,
                    help="seconds the citizens submit for the submissions row (default 60)")
    ap.add_argument("--submit-clients", type=int, default=16, help="concurrent submitting citizens (default 16)")
    ap.add_argument("--submit-processes", type=int, default=4,
                    help="load generator processes the citizens are shared over (default 4)")
    ap.add_argument("--applications", type=int, default=1_000_000,
                    help="applications bulk-loaded over the regions for the inbox row (default 1000000)")
    ap.add_argument("--inbox-rate", type=float, default=200,
                    help="inbox requests a second offered for the inbox goal (default 200: 10,000 staff each opening "
                         "the inbox every 50 s)")
    ap.add_argument("--sql-runs", type=int, default=2000, help="runs of the inbox SQL timed alone (default 2000)")
    ap.add_argument("--mixed-seconds", type=float, default=300, help="seconds of the mixed load (default 300)")
    ap.add_argument("--mixed-warmup", type=float, default=30,
                    help="seconds of the mixed load before memory is judged (default 30)")
    mix = Rates()
    ap.add_argument("--mixed-read-rate", type=float, default=mix.reads,
                    help=f"catalogue reads a second offered in the mixed load, list and detail (default {mix.reads:g})")
    ap.add_argument("--mixed-submit-rate", type=float, default=mix.submissions,
                    help=f"submissions a second offered in the mixed load, each with a 200 KB PDF (default "
                         f"{mix.submissions:g})")
    ap.add_argument("--mixed-staff-rate", type=float, default=mix.staff,
                    help=f"staff requests a second in the mixed load: inbox reads, one in {ACT_EVERY} a "
                         f"verify/approve/complete instead (default {mix.staff:g})")
    ap.add_argument("--mixed-citizen-rate", type=float, default=mix.citizens,
                    help=f"citizens' reads of their applications and notifications a second (default "
                         f"{mix.citizens:g})")
    ap.add_argument("--mixed-citizens", type=int, default=48, help="citizens of the mixed load (default 48)")
    ap.add_argument("--mixed-processes", type=int, default=3,
                    help="load generator processes of the mixed load (default 3)")
    args = ap.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",")] if args.only else list(BENCHES)
    if unknown := set(args.only) - set(BENCHES):
        ap.error(f"unknown bench {', '.join(sorted(unknown))}: choose from {', '.join(BENCHES)}")
    if not (0 < args.duration <= 600 and 0 < args.connections <= 1000):
        ap.error("duration must be in (0, 600] s and connections in (0, 1000]")
    if not (0 < args.submit_seconds <= 600 and 0 < args.submit_clients <= 9999 and args.submit_processes > 0):
        ap.error("submit-seconds must be in (0, 600], submit-clients in (0, 9999] and submit-processes positive")
    if args.applications < 0 or args.sql_runs <= 0:
        ap.error("applications must not be negative and sql-runs must be positive")
    rates = (args.mixed_read_rate, args.mixed_submit_rate, args.mixed_staff_rate, args.mixed_citizen_rate)
    if not (0 < args.mixed_seconds <= 3600 and 0 <= args.mixed_warmup < args.mixed_seconds
            and min(rates) >= 0 < sum(rates) and 0 < args.mixed_citizens <= 9999 and args.mixed_processes > 0):
        ap.error("mixed-seconds must be in (0, 3600], mixed-warmup in [0, mixed-seconds), the mixed rates not "
                 "negative and not all 0, mixed-citizens in (0, 9999] and mixed-processes positive")
    return args


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine_info()
    gen = LoadGenerator(args.generator) if HTTP_LOADS & set(args.only) else None
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
        p.migrate()
        started = time.monotonic()
        slugs = bulk_load.load(tenants_url=dbs.urls["tenants"], catalog_url=dbs.urls["catalog"],
                               regions=bulk_regions(args.tenants), services_per_region=args.services)
        loaded = time.monotonic() - started
        print(f"bulk-loaded {len(slugs)} regions x {args.services} services in {loaded:.0f} s", flush=True)
        applications = 0
        if "inbox" in args.only and args.applications:  # minutes for a million: only when the inbox is measured
            started = time.monotonic()
            applications = bulk_load.load_applications(
                applications_url=dbs.urls["applications"], slugs=slugs, services_per_region=args.services,
                count=args.applications,
                on_progress=lambda n, r: print(f"  {n:,} applications ({r} regions)", flush=True) if n % 200_000 == 0
                else None)
            print(f"bulk-loaded {applications:,} applications (COPY, then ANALYZE) in "
                  f"{time.monotonic() - started:.0f} s", flush=True)
        started = time.monotonic()
        p.start(timeout=300, migrate=False)
        wait_cache_loaded(p)
        print(f"platform ready with its caches loaded in {time.monotonic() - started:.1f} s", flush=True)
        bench = Bench(p, gen, args)
        bench.bulk_slugs = slugs
        bench.bulk_note = (f"{len(slugs)} regions x {args.services} published services bulk-loaded into the tables "
                           "by the services' domain code")
        if applications:
            bench.bulk_note += (f", {applications:,} applications ({applications // max(1, len(slugs)):,} a region, "
                                "mixed statuses, due within ±30 days) COPYed into the applications table")
        for key in BENCHES:
            if key in args.only:
                print(f"running {key} ...", flush=True)
                measured = getattr(bench, key)()
                rows += measured if isinstance(measured, list) else [measured]
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
            if rows:
                print("measured before the failure:\n" + table(rows), file=sys.stderr)
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
    if growing := [r.name for r in rows if r.extra.get("flat") is False]:
        print(f"memory not flat: {', '.join(growing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
