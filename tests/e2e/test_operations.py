"""Health, readiness, metrics and rate limits of the running platform."""
import uuid

from support import Client, wait_for

from devtools.platform import free_port


def test_readyz_names_a_stopped_service_and_recovers(platform, anon):
    assert anon.get("/healthz").status_code == 200
    assert anon.get("/readyz").status_code == 200
    platform.stop("catalog")
    try:
        r = anon.get("/readyz")
        assert r.status_code == 503
        assert "catalog" in r.json()["detail"] and "tenants" not in r.json()["detail"]
        assert anon.get("/healthz").status_code == 200
    finally:
        platform.start_service("catalog")
    platform.wait_ready()


def test_metrics_are_prometheus_text_without_personal_data(anon):
    anon.get("/api/v1/tenants")
    r = anon.get("/metrics")
    assert r.status_code == 200 and "gateway_requests_total" in r.text
    assert "@" not in r.text  # no email addresses in labels


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
    import time

    port = free_port()
    platform.start_gateway("gateway-drain", port=port)
    client = Client(f"http://127.0.0.1:{port}")
    wait_for(lambda: _up(client), timeout=30, message="the second gateway")
    platform.stop("catalog")  # its RPC queue stays, so /readyz waits the full 2 s ping timeout: a slow request
    result = {}

    def slow_request():
        started = time.monotonic()
        result["status"] = client.get("/readyz").status_code
        result["seconds"] = time.monotonic() - started

    try:
        t = threading.Thread(target=slow_request)
        t.start()
        time.sleep(0.5)  # let the request reach the gateway; it then waits ~1.5 s more on the ping
        code = platform.stop("gateway-drain", signal.SIGTERM)
        t.join(10)
    finally:
        platform.start_service("catalog")
    assert code == 0
    assert result == {"status": 503, "seconds": result["seconds"]} and result["seconds"] >= 1.5
    platform.wait_ready()


def test_each_service_serves_its_own_metrics(platform, admin):
    import requests

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
