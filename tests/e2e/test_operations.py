"""Health, readiness, metrics and rate limits of the running platform."""
import re
import time
import uuid

import requests
from support import Client, wait_for

from devtools.platform import free_port


def test_readyz_names_a_stopped_service_and_recovers(platform, anon):
    internal = Client(platform.internal_url())
    assert anon.get("/healthz").status_code == 200
    assert internal.get("/readyz").status_code == 200
    platform.stop("catalog")
    try:
        problem = wait_for(lambda: _not_ready(internal), timeout=5, message="readiness to see catalog gone")
        assert problem["status"] == 503
        assert "catalog" in problem["detail"] and "tenants" not in problem["detail"]
        assert anon.get("/healthz").status_code == 200
    finally:
        platform.start_service("catalog")
    platform.wait_ready()


def _not_ready(internal: Client) -> dict | None:
    r = internal.get("/readyz")  # the answer of the second before may still be the one given
    return r.json() if r.status_code == 503 else None  # (a Response is falsy when it is not ok)


def test_metrics_are_prometheus_text_without_personal_data(platform, anon):
    anon.get("/api/v1/tenants")
    r = requests.get(platform.internal_url() + "/metrics", timeout=5)
    assert r.status_code == 200 and "gateway_requests_total" in r.text
    assert "@" not in r.text  # no email addresses in labels


def test_readyz_and_metrics_answer_on_the_internal_port_only(platform, anon):
    for path in ("/readyz", "/metrics", "/readyz/", "/metrics?x=1"):
        r = anon.get(path)
        assert r.status_code == 404 and r.json()["code"] == "NOT_FOUND", path
    assert requests.get(platform.internal_url() + "/readyz", timeout=5).status_code == 200
    assert requests.get(platform.internal_url() + "/api/v1/tenants", timeout=5).status_code == 404


def test_one_readiness_answer_serves_every_probe_for_a_second(platform):
    """Each fresh answer asks every service (four RPCs); a burst of probes costs one round of them."""

    def pings() -> float:
        text = requests.get(f"http://127.0.0.1:{platform.metrics_ports['tenants']}/metrics", timeout=5).text
        found = re.search(r'^tenants_entrypoint_calls_total\{entrypoint="ping",outcome="ok"\} (\S+)$', text, re.M)
        return float(found.group(1)) if found else 0.0

    internal = platform.internal_url()
    requests.get(internal + "/readyz", timeout=5)
    before = pings()
    started = time.monotonic()
    answers = [requests.get(internal + "/readyz", timeout=5).status_code for _ in range(20)]
    took = time.monotonic() - started
    assert answers == [200] * 20
    assert pings() - before <= 1 + took  # at most one round a second, not twenty


def test_a_correlation_id_is_returned_and_reaches_the_service_logs(platform, admin):
    cid = uuid.uuid4().hex
    r = admin.get("/api/v1/me", headers={"X-Correlation-Id": cid})
    assert r.status_code == 200 and r.headers["X-Correlation-Id"] == cid
    r = admin.post("/api/v1/tenants", json={"slug": "x", "region_code": "99.99"}, headers={"X-Correlation-Id": cid})
    assert r.json()["correlation_id"] == cid


def test_rate_limits_answer_429_with_retry_after(platform):
    port = free_port()
    platform.start_gateway("gateway-limited", port=port, MPPI_RATE_LIMITS="auth=5/60,api=600/60")
    try:
        client = Client(f"http://127.0.0.1:{port}")
        wait_for(lambda: _up(client), timeout=30, message="the rate-limited gateway")
        answers = [client.post("/api/v1/auth/token", json={"username": "nobody@example.id", "password": "x"})
                   for _ in range(7)]
        codes = [a.status_code for a in answers]
        assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
        assert answers[-1].json()["code"] == "RATE_LIMITED" and int(answers[-1].headers["Retry-After"]) >= 1
    finally:
        platform.stop("gateway-limited")


def _up(client: Client) -> bool:
    try:
        return client.get("/healthz").status_code == 200
    except Exception:
        return False


def test_a_gateway_stopped_with_sigterm_finishes_the_request_in_flight(platform):
    import signal
    import threading

    port = free_port()
    platform.start_gateway("gateway-drain", port=port, MPPI_RPC_TIMEOUT_SECONDS="3")
    client = Client(f"http://127.0.0.1:{port}")
    wait_for(lambda: _up(client), timeout=30, message="the second gateway")
    platform.stop("catalog")  # its RPC queue stays, so a call waits the full 3 s RPC timeout: a slow request
    result = {}

    def slow_request():
        started = time.monotonic()
        result["status"] = client.get("/api/v1/templates/any-template").status_code
        result["seconds"] = time.monotonic() - started

    try:
        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.5)  # let the request reach the gateway; it then waits ~2.5 s more on the RPC
        code = platform.stop("gateway-drain", signal.SIGTERM)
        t.join(10)
    finally:
        platform.start_service("catalog")
    assert code == 0
    assert result == {"status": 503, "seconds": result["seconds"]} and result["seconds"] >= 1.5
    platform.wait_ready()


def test_each_service_serves_its_own_metrics(platform, admin):
    admin.get("/api/v1/me")
    text = requests.get(f"http://127.0.0.1:{platform.metrics_ports['tenants']}/metrics", timeout=5).text
    assert 'tenants_entrypoint_calls_total{entrypoint="get_me",outcome="ok"}' in text
    assert "tenants_outbox_backlog" in text and "tenants_entrypoint_seconds_bucket" in text


def test_every_service_answers_at_once_after_the_database_drops_its_connections(databases, admin, new_tenant):
    """As after a database restart: the pooled connections are dead. The first request to each service still
    succeeds (its transaction starts again on a new connection), and so does a write with an event."""
    slug, tenant_admin = new_tenant()
    reads = ["/api/v1/me", "/api/v1/me/applications", "/api/v1/me/notifications", "/api/v1/templates/akta-kematian"]
    for path in reads:  # every service's pool holds a connection now
        assert admin.get(path).status_code == 200, path
    assert _drop_connections(databases) >= 4
    for path in reads:
        r = admin.get(path)
        assert r.status_code == 200, (path, r.text)
    r = tenant_admin.post(f"/api/v1/tenants/{slug}/staff", json={
        "email": f"v-{slug}@example.id", "full_name": "Verifikator", "password": "password-123", "roles": ["verifier"]})
    assert r.status_code == 201, r.text


def _drop_connections(databases) -> int:
    """Terminate every server process connected to the test's databases; how many there were."""
    names = [url.rsplit("/", 1)[1] for url in databases.urls.values()]
    conn = databases._admin()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = ANY(%s)",
                        (names,))
            return cur.fetchone()[0]
    finally:
        conn.close()
