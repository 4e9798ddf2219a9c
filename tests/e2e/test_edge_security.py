"""The gateway's HTTP edge under attack: rate limits keyed on the real client behind the ingress, failed sign-ins
counted per account and client network (nobody locks anyone out),
/readyz and /metrics on the internal port only, security headers on an https deployment, bounded metric labels,
and forged tokens.

A second gateway runs with the ingress at 127.0.0.2 (MPPI_TRUSTED_PROXIES): a request sent from 127.0.0.2 came
"through the ingress", one from 127.0.0.1 reached the pod directly (as kubelet and Prometheus do)."""
import base64
import hashlib
import hmac
import json
import random
import re
import string
import time
import uuid

import jwt
import pytest
import requests
from journeys import new_citizen
from requests.adapters import HTTPAdapter
from support import Client, wait_for

from devtools.platform import free_port

INGRESS = "127.0.0.2"
PUBLIC_URL = "https://layanan.example.go.id"
LIMITS = "auth=4/600,api=600/60"


class _From(HTTPAdapter):
    """Connections from one local source address."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


class Edge:
    def __init__(self, base_url: str, internal_url: str):
        self.base_url = base_url
        self.internal_url = internal_url  # /readyz and /metrics: kubelet and Prometheus
        self.direct = requests.Session()
        self.ingress = requests.Session()
        self.ingress.mount("http://", _From(INGRESS))

    def via_ingress(self, method: str, path: str, client: str | None, **kw) -> requests.Response:
        """As the ingress forwards it: ``client`` is what the ingress appends to X-Forwarded-For (None: no header);
        ``forwarded`` (a keyword) is what the client itself sent before it."""
        headers = dict(kw.pop("headers", {}))
        sent = kw.pop("forwarded", None)
        if client is not None:
            headers["X-Forwarded-For"] = f"{sent}, {client}" if sent else client
        return self.ingress.request(method, self.base_url + path, headers=headers, timeout=30,
                                    allow_redirects=False, **kw)

    def sign_in_page(self, client: str, email: str, password: str = "wrong-password") -> requests.Response:
        """POST /masuk as a browser would, its CSRF cookie sent back by hand (it is Secure, the test speaks http)."""
        csrf = uuid.uuid4().hex
        return self.via_ingress("POST", "/masuk", client, data={"email": email, "password": password, "csrf": csrf},
                                cookies={"mppi_csrf": csrf})

    def api_sign_in(self, client: str | None, email: str, **kw) -> requests.Response:
        return self.via_ingress("POST", "/api/v1/auth/token", client,
                                json={"username": email, "password": "wrong-password"}, **kw)


@pytest.fixture(scope="module")
def edge(platform):
    port = free_port()
    # an https public URL requires the keys to be given (replicas must share them): the platform's own
    token_key = (platform.var_dir / "token.key").read_text().strip()
    platform.start_gateway("gateway-edge", port=port, MPPI_TRUSTED_PROXIES=f"{INGRESS}/32",
                           MPPI_PUBLIC_URL=PUBLIC_URL, MPPI_RATE_LIMITS=LIMITS, MPPI_TOKEN_SECRET=token_key)
    e = Edge(f"http://127.0.0.1:{port}", platform.internal_url(f"http://127.0.0.1:{port}"))
    try:
        wait_for(lambda: _ready(e), timeout=60, message="the gateway behind the ingress")
        yield e
    finally:
        platform.stop("gateway-edge")


def _ready(e: Edge) -> bool:
    try:
        return e.direct.get(e.internal_url + "/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _address() -> str:
    return f"198.51.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _email() -> str:
    return f"nobody-{uuid.uuid4().hex[:8]}@example.id"


# -- rate limits ---------------------------------------------------------------------------------------------------

def test_the_sign_in_page_refuses_a_client_after_the_limit_with_a_readable_page_and_retry_after(edge):
    client = _address()
    codes = [edge.sign_in_page(client, _email()).status_code for _ in range(4)]
    assert codes == [422] * 4
    refused = edge.sign_in_page(client, _email())
    assert refused.status_code == 429 and refused.headers["Content-Type"].startswith("text/html")
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Terlalu banyak" in refused.text and "<form" in edge.via_ingress("GET", "/masuk", client).text
    assert edge.sign_in_page(_address(), _email()).status_code == 422  # another client behind the same ingress


def test_the_registration_page_refuses_a_client_after_the_limit(edge):
    client = _address()

    def register():
        csrf = uuid.uuid4().hex
        return edge.via_ingress("POST", "/daftar", client, data={"email": _email(), "csrf": csrf},
                                cookies={"mppi_csrf": csrf})

    assert [register().status_code for _ in range(4)] == [422] * 4
    refused = register()
    assert refused.status_code == 429 and "Retry-After" in refused.headers and "<html" in refused.text


def test_a_client_cannot_pick_its_own_key_with_x_forwarded_for(edge):
    # straight to the pod (an untrusted peer): the header is ignored, every request is 127.0.0.1's
    direct = [edge.direct.post(edge.base_url + "/api/v1/auth/token", timeout=30,
                               headers={"X-Forwarded-For": _address()},
                               json={"username": _email(), "password": "wrong-password"}).status_code
              for _ in range(5)]
    assert direct == [401] * 4 + [429]
    # through the ingress: what the client wrote stands left of what the ingress appended, and is not read
    client = _address()
    through = [edge.api_sign_in(client, _email(), forwarded=_address()).status_code for _ in range(5)]
    assert through == [401] * 4 + [429]


class Loopback:
    """The platform's own gateway (no limits of its own: the platform's MPPI_RATE_LIMITS is ``account=10/600``),
    reached from any 127.x.y.z: each source address is a client network of its own."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def sign_in(self, source: str, email: str, password: str = "wrong-password") -> requests.Response:
        with requests.Session() as s:
            s.mount("http://", _From(source))
            return s.post(self.base_url + "/api/v1/auth/token", json={"username": email, "password": password},
                          timeout=30)

    def sign_in_page(self, source: str, email: str, password: str = "wrong-password") -> requests.Response:
        csrf = uuid.uuid4().hex
        with requests.Session() as s:
            s.mount("http://", _From(source))
            return s.post(self.base_url + "/masuk", data={"email": email, "password": password, "csrf": csrf},
                          cookies={"mppi_csrf": csrf}, allow_redirects=False, timeout=30)


def _loopback() -> str:
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def test_nobody_locks_an_account_out_by_guessing_and_its_holder_is_told(platform, anon):
    """Only failures count, per account and client network: the network that guessed is refused, a clean one
    signing in right never is (before, ten wrong passwords from anywhere refused the right one for minutes)."""
    gateway = Loopback(platform.base_url)
    citizen, victim = new_citizen(anon)
    attacker = _loopback()
    spellings = [victim, victim.upper(), f"  {victim} "]  # one account, however it is written
    assert [gateway.sign_in(attacker, spellings[i % 3]).status_code for i in range(10)] == [401] * 10
    refused = gateway.sign_in(attacker, victim)
    assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
    assert int(refused.headers["Retry-After"]) >= 1
    assert gateway.sign_in(attacker, victim, "rahasia-123").status_code == 429  # the guessing network waits
    assert gateway.sign_in(_loopback(), victim, "rahasia-123").status_code == 200  # the holder: never refused
    page = gateway.sign_in_page(attacker, victim)  # the web sign-in counts the same failures
    assert page.status_code == 429 and "Terlalu banyak" in page.text
    assert gateway.sign_in_page(_loopback(), victim, "rahasia-123").status_code == 303
    # a guess spread over many networks: once the account had 10 failures, each new network may fail 3 times
    spread = _loopback()
    assert [gateway.sign_in(spread, victim).status_code for _ in range(4)] == [401] * 3 + [429]
    assert gateway.sign_in(_loopback(), victim, "rahasia-123").status_code == 200
    assert gateway.sign_in(attacker, _email()).status_code == 401  # other accounts are not affected
    told = wait_for(lambda: [n for n in citizen.get("/api/v1/me/notifications").json()["items"]
                             if n["type"] == "sign_in_failures"], message="the holder's warning")
    assert len(told) == 1 and "10" in told[0]["body"]  # one warning an hour, not one per failure


def test_the_platform_admin_cannot_be_locked_out(platform):
    gateway, attacker = Loopback(platform.base_url), _loopback()
    codes = [gateway.sign_in(attacker, platform.admin_email).status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]
    r = gateway.sign_in(_loopback(), platform.admin_email, platform.admin_password)
    assert r.status_code == 200, r.text


# -- the internal port ---------------------------------------------------------------------------------------------

def test_metrics_and_readyz_are_not_found_on_the_public_port_but_answer_on_the_internal_one(edge):
    for path in ("/metrics", "/readyz", "/metrics/", "/readyz?x=1"):
        for r in (edge.via_ingress("GET", path, _address()), edge.via_ingress("GET", path, None),
                  edge.direct.get(edge.base_url + path, timeout=10)):
            assert r.status_code == 404, path
            assert r.headers["Content-Type"] == "application/problem+json"
    assert edge.via_ingress("GET", "/healthz", _address()).status_code == 200
    assert edge.direct.get(edge.internal_url + "/metrics", timeout=10).status_code == 200  # Prometheus
    assert edge.direct.get(edge.internal_url + "/readyz", timeout=10).status_code == 200  # kubelet
    assert edge.direct.get(edge.internal_url + "/api/v1/tenants", timeout=10).status_code == 404  # nothing else


def test_random_methods_and_paths_do_not_grow_the_metric_series(edge):
    def series() -> set[str]:
        text = edge.direct.get(edge.internal_url + "/metrics", timeout=10).text
        return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line.startswith("gateway_requests_total{")}

    before = series()
    for _ in range(50):
        method = "".join(random.choices(string.ascii_uppercase, k=random.randint(3, 12)))
        path = "/zz-" + "".join(random.choices(string.ascii_lowercase + "/", k=random.randint(1, 30)))
        edge.direct.request(method, edge.base_url + path, timeout=10)
        edge.direct.request(method, edge.base_url + "/api/v1/tenants", timeout=10)
    new = series() - before
    assert len(new) <= 4, sorted(new)  # unmatched × other × (404, 405) at most
    assert all('method="other"' in s for s in new), sorted(new)


# -- headers of an https deployment (TLS ends at the ingress) -----------------------------------------------------

def test_cookies_are_secure_and_hsts_is_sent_when_the_public_url_is_https(edge, platform):
    page = edge.via_ingress("GET", "/masuk", _address())
    assert "secure" in page.headers["Set-Cookie"].lower() and "mppi_csrf=" in page.headers["Set-Cookie"]
    signed_in = edge.sign_in_page(_address(), platform.admin_email, platform.admin_password)
    assert signed_in.status_code == 303, signed_in.text
    session = [c for c in signed_in.raw.headers.getlist("Set-Cookie") if c.startswith("mppi_session=")]
    assert session and "secure" in session[0].lower() and "httponly" in session[0].lower()
    for path in ("/masuk", "/api/v1/tenants", "/healthz", "/no-such-page"):
        hsts = edge.via_ingress("GET", path, _address()).headers.get("Strict-Transport-Security", "")
        assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 180 * 86400, path
    plain = requests.get(platform.base_url + "/masuk", timeout=10)  # the http deployment of the other tests
    assert "Strict-Transport-Security" not in plain.headers and "secure" not in plain.headers["Set-Cookie"].lower()


def _policy(r: requests.Response) -> dict[str, str]:
    policy = r.headers["Content-Security-Policy"]
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in policy.split(";") if d.strip()}


def test_every_html_page_has_a_policy_that_its_markup_keeps(platform, new_tenant):
    slug, tenant_admin = new_tenant()
    anon = requests.Session()
    admin = requests.Session()
    admin.cookies.set("mppi_session", tenant_admin.token)
    pages = [(anon, "/"), (anon, "/masuk"), (anon, "/daftar"), (anon, "/lacak"), (anon, f"/r/{slug}"),
             (anon, "/r/no-such-region"), (admin, f"/r/{slug}/admin/tampilan"), (admin, f"/r/{slug}/admin")]
    for session, path in pages:
        r = session.get(platform.base_url + path, timeout=30)
        assert r.headers["Content-Type"].startswith("text/html"), path
        policy = _policy(r)
        assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'", path
        assert "unsafe-inline" not in r.headers["Content-Security-Policy"], path
        assert policy["script-src"] == "'self'", path
        assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["Referrer-Policy"], path
        nonce = re.search(r"'nonce-([^']+)'", policy["style-src"]).group(1)
        assert not re.search(r"<script(?![^>]*\ssrc=)", r.text), path  # no inline script
        assert not re.search(r"\sstyle=|\son[a-z]+=", r.text), path  # no style attribute, no event handler
        for tag in re.findall(r"<style[^>]*>", r.text):
            assert f'nonce="{nonce}"' in tag, (path, tag)
    region = requests.get(f"{platform.base_url}/r/{slug}", timeout=30)
    assert '<style nonce="' in region.text  # the region's colour still reaches the page
    swatch = admin.get(f"{platform.base_url}/r/{slug}/admin/tampilan", timeout=30)
    assert ".swatch{background:#" in swatch.text
    assert _policy(region)["style-src"] != _policy(swatch)["style-src"]  # a nonce per answer


# -- forged tokens -------------------------------------------------------------------------------------------------

def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _signed_as(header: dict, claims: dict, key: bytes) -> str:
    """A token with any header, its signature HMAC-SHA256 under ``key`` (the algorithm-confusion attack)."""
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return signing_input + "." + _b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())


def test_forged_expired_and_garbage_tokens_are_refused_with_401_problem_json(platform, admin):
    secret = (platform.var_dir / "token.key").read_bytes().strip()
    claims = jwt.decode(admin.token, secret, algorithms=["HS256"], issuer="mppi")
    me = jwt.decode(admin.token, options={"verify_signature": False})
    head, body, sig = admin.token.split(".")
    elevated = _b64(json.dumps({**me, "roles": ["platform_admin", "citizen"], "sub": "someone-else"}).encode())
    attacker = b"attacker-key" * 4
    now = int(time.time())
    forged = {
        "tampered payload": f"{head}.{elevated}.{sig}",
        "tampered signature": f"{head}.{body}.{sig[:-4]}AAAA",
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 60}, secret, algorithm="HS256"),
        "alg none": _b64(b'{"alg":"none","typ":"JWT"}') + "." + body + ".",
        "alg None, signed": _signed_as({"alg": "None"}, claims, secret),
        "HS512 with the secret": jwt.encode(claims, secret, algorithm="HS512"),
        "RS256 header, secret as HMAC key": _signed_as({"alg": "RS256", "typ": "JWT"}, claims, secret),
        "ES256 header, secret as HMAC key": _signed_as({"alg": "ES256", "typ": "JWT"}, claims, secret),
        "jku to the attacker's key": jwt.encode(claims, attacker, algorithm="HS256",
                                                headers={"jku": "https://evil.example/jwks.json", "kid": "evil"}),
        "kid pointing at an empty file": _signed_as({"alg": "HS256", "kid": "../../../../dev/null"}, claims, b""),
        "wrong issuer": jwt.encode({**claims, "iss": "someone"}, secret, algorithm="HS256"),
        "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, secret, algorithm="HS256"),
        "truncated": admin.token[: len(admin.token) // 2],
        "two parts": f"{head}.{body}",
        "garbage": "not-a-token",
        "dots": "...",
        "non-ascii": "é" * 40,
        "huge": "a" * 6000,
    }
    for name, token in forged.items():
        r = requests.get(platform.base_url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert r.status_code == 401, (name, r.status_code, r.text)
        assert r.headers["Content-Type"] == "application/problem+json" and r.json()["code"] == "UNAUTHENTICATED", name
        page = requests.get(platform.base_url + "/permohonan", cookies={"mppi_session": token}, timeout=30,
                            allow_redirects=False)
        assert page.status_code == 303 and page.headers["Location"].startswith("/masuk"), name  # signed out
    for header in ("Bearer", "Basic YWRtaW46YWRtaW4=", "Bearer  ", "bearer " + "x" * 3):
        r = requests.get(platform.base_url + "/api/v1/me", headers={"Authorization": header}, timeout=30)
        assert r.status_code == 401 and r.json()["code"] == "UNAUTHENTICATED", header
    # a kid / jku header does not choose the key: the token signed with ours is still just our token
    ours = jwt.encode(claims, secret, algorithm="HS256", headers={"kid": "evil", "jku": "https://evil.example/k"})
    assert Client(platform.base_url, ours).get("/api/v1/me").json()["id"] == me["sub"]
