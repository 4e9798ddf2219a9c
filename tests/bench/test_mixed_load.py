"""The mixed load's own arithmetic: when memory counts as flat, per-route figures timed from when each request was
due, the schedule the processes share, staff taking each application through its workflow, and a low-rate stream's
kept connection surviving the server closing it while idle."""
import itertools
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from load import _Connection  # noqa: E402
from mixed import (  # noqa: E402
    ACT_EVERY,
    CATALOGUE_LIST,
    INBOX,
    NO_ANSWER,
    NOT_SENT,
    SUBMIT,
    Citizen,
    MemorySampler,
    Plan,
    Rates,
    Region,
    _Turns,
    action_route,
    memory_verdict,
    overall,
    route_stats,
    schedule,
)


def every_5s(seconds: float, mb) -> list[tuple[float, float]]:
    return [(t, mb(t)) for t in range(0, int(seconds) + 1, 5)]


# ---- memory -----------------------------------------------------------------------------------------------------

def test_memory_wandering_within_the_limit_is_flat():
    samples = every_5s(300, lambda t: 100 + (3 if (t // 5) % 2 else -3))
    v = memory_verdict(samples, warmup_s=30)
    assert v.flat is True and v.verdict == "flat"
    assert abs(v.slope_mb_per_min) < 0.5
    assert (v.start_mb, v.end_mb, v.max_mb) == (97, 97, 103)


def test_memory_growing_a_megabyte_every_sample_is_not_flat():
    v = memory_verdict(every_5s(300, lambda t: 100 + t / 5), warmup_s=30)
    assert v.flat is False and v.verdict == "GROWING"
    assert v.slope_mb_per_min == pytest.approx(12)
    assert v.growth_mb == pytest.approx(42)  # mean of 30-90 s (at 60 s) to mean of 240-300 s (at 270 s)
    assert v.limit_mb == 20


def test_growth_during_the_warm_up_is_not_counted():
    v = memory_verdict(every_5s(300, lambda t: 50 + 2 * min(t, 30)), warmup_s=30)
    assert v.flat is True
    assert v.start_mb == 110 and v.growth_mb == 0


def test_a_large_process_may_grow_ten_percent():
    thirty_mb_over_the_run = lambda base: (lambda t: base + 30 * max(0, t - 30) / 270)  # noqa: E731
    assert memory_verdict(every_5s(300, thirty_mb_over_the_run(500)), warmup_s=30).flat is True  # limit 50 MB
    assert memory_verdict(every_5s(300, thirty_mb_over_the_run(100)), warmup_s=30).flat is False  # limit 20 MB


def test_a_run_shorter_than_its_warm_up_cannot_tell():
    v = memory_verdict(every_5s(25, lambda t: 100), warmup_s=30)
    assert v.flat is None and v.verdict == "too short to tell"


def test_sampler_notes_a_process_that_went_away():
    def read_mb(pid: int) -> float:
        if pid == 2:
            raise FileNotFoundError(f"/proc/{pid}/status")
        return 80.0

    sampler = MemorySampler({"gateway": 1, "applications": 2}, read_mb, start_at=time.monotonic(), every=0.01)
    sampler.start()
    deadline = time.monotonic() + 5
    while len(sampler.samples["gateway"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    sampler.stop()
    assert len(sampler.samples["gateway"]) >= 3 and {mb for _, mb in sampler.samples["gateway"]} == {80.0}
    assert sampler.exited == {"applications"} and sampler.samples["applications"] == []


# ---- per route --------------------------------------------------------------------------------------------------

def test_route_latency_counts_from_when_the_request_was_due():
    # 100 reads due every 10 ms; the first 50 were sent 1 s late (the connections were all busy), answered 1 ms after
    records = [(CATALOGUE_LIST, i / 100, i / 100 + (1.0 if i < 50 else 0), i / 100 + (1.0 if i < 50 else 0) + 0.001,
                "200") for i in range(100)]
    (stats,) = route_stats(records, seconds=1.0)
    assert stats.requests == 100 and stats.rps == 100
    assert stats.p99_ms == pytest.approx(1001, abs=1)  # a closed loop would have said 1 ms
    assert stats.late_p99_ms == pytest.approx(1000, abs=1)


def test_route_errors_are_counted_by_status_and_unanswered_ones_have_no_latency():
    records = [(SUBMIT, 0.0, 0.0, 0.2, "201")] * 7 + [
        (SUBMIT, 0.0, 0.0, 0.5, "500"), (SUBMIT, 0.0, 0.0, 30.0, NO_ANSWER), (SUBMIT, 0.0, 0.0, 0.1, "422"),
        (SUBMIT, 0.0, 70.0, 70.0, NOT_SENT), (INBOX, 0.0, 0.0, 0.01, "200")]
    submit, inbox = route_stats(records, seconds=2.0)
    assert (submit.route, inbox.route) == (SUBMIT, INBOX)
    assert submit.requests == 11 and submit.statuses == {"201": 7, "500": 1, NO_ANSWER: 1, "422": 1, NOT_SENT: 1}
    assert submit.errors == {"422": 1, "500": 1, NO_ANSWER: 1, NOT_SENT: 1}
    assert submit.server_errors == 3
    assert submit.rps == 4.5  # nine answers in two seconds
    assert submit.p99_ms < 1000  # those that got no answer have no latency
    assert inbox.errors == {} and inbox.server_errors == 0
    assert overall(records, seconds=2.0).requests == 12


# ---- the load ---------------------------------------------------------------------------------------------------

def test_the_processes_share_each_rate_evenly():
    rates = {"reads": 100, "submissions": 10, "staff": 0}
    parts = [schedule(rates, 3.0, part=p, parts=3) for p in range(3)]
    for due in parts:
        assert due == sorted(due)
    merged = sorted(itertools.chain(*parts))
    reads = [t for t, s in merged if s == "reads"]
    assert len(reads) == 300 and reads == pytest.approx([n / 100 for n in range(300)])
    assert len([s for _, s in merged if s == "submissions"]) == 30
    assert not [s for _, s in merged if s == "staff"]


class RecordingConnection:
    """Answers as the platform would: a submission is created, a staff action succeeds, a read is a page."""

    def __init__(self):
        self.sent: list[tuple[str, str, str, dict | None]] = []  # method, path, authorization, action
        self.ids = itertools.count(1)

    def request(self, method, path, headers, body=None):
        action = json.loads(body) if path.endswith("/actions") else None
        self.sent.append((method, path, headers.get("Authorization", ""), action))
        if method == "POST" and path.endswith("/applications"):
            return 201, json.dumps({"id": f"app-{next(self.ids)}"}).encode()
        return 200, b"{}"


def test_staff_take_each_submitted_application_through_its_workflow_one_at_a_time():
    region = Region("bench-mixed-1", {"verifier": "v-token", "approver": "a-token", "operator": "o-token"})
    plan = Plan("http://127.0.0.1:1", Rates(), 1.0, list_paths=["/l"], detail_paths=["/d"], regions=[region],
                citizens=[Citizen("c-token", region.slug, b"--form--", "multipart/form-data")], processes=1)
    turns, conn = _Turns(plan, 0), RecordingConnection()
    assert [turns.run(conn, "submissions") for _ in range(2)] == [(SUBMIT, "201")] * 2
    routes = [turns.run(conn, "staff")[0] for _ in range(7 * ACT_EVERY)]
    verify, approve, complete = map(action_route, ("verify", "approve", "complete"))
    assert routes[::ACT_EVERY] == [verify, approve, complete, verify, approve, complete, INBOX]  # then none waits
    assert {r for i, r in enumerate(routes) if i % ACT_EVERY} == {INBOX}
    token = {"verify": "Bearer v-token", "approve": "Bearer a-token", "complete": "Bearer o-token"}
    assert [(path, auth, action) for _, path, auth, action in conn.sent if action] == [
        (f"/api/v1/tenants/bench-mixed-1/applications/app-{n}/actions", token[a], {"action": a})
        for n in (1, 2) for a in ("verify", "approve", "complete")]
    inbox_reads = [(path, auth) for method, path, auth, _ in conn.sent if method == "GET"]
    assert inbox_reads == [("/api/v1/tenants/bench-mixed-1/applications?limit=20", "Bearer v-token")] * 29


class _ClosesIdleConnections(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the gateway
    timeout = 0.1  # an idle kept connection is closed after 0.1 s (the gateway's after 60 s)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_request_after_the_server_closed_the_idle_connection_is_answered():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosesIdleConnections)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    conn = _Connection("127.0.0.1", server.server_address[1])
    try:
        assert conn.request("POST", "/", {}, b"first") == (201, b"first")
        time.sleep(0.5)  # a low-rate stream's connection waits longer than the server keeps it
        assert conn.request("POST", "/", {}, b"second") == (201, b"second")
    finally:
        conn.close()
        server.shutdown()
