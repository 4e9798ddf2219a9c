"""The gateway's WSGI applications: the public one (routing, correlation ids, the HTTP edge: client address and
security headers; rate limits, auth, metrics and the error mapper) and the internal one, for kubelet and Prometheus
on their own port (/healthz, /readyz, /metrics)."""
from __future__ import annotations

import gc
import json
import logging
import time

import eventlet
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from gateway import application_routes, cache, catalog_routes, rendered  # noqa: F401 - they register their routes
from gateway.api import Route
from gateway.auth import authenticate
from gateway.catalog_cache import catalog as catalog_cache
from gateway.context import Ctx, read_json
from gateway.edge import Edge, method_label
from gateway.errors import problem, to_response
from gateway.i18n import localize
from gateway.ratelimit import RateLimiter, client_key
from gateway.routes import api
from gateway.web import site
from mppi.contracts.errors import MppiError, NotFound, parse
from mppi.runtime import blobstore
from mppi.runtime import settings as mppi_settings
from mppi.runtime.logging import correlation_id, new_correlation_id
from mppi.runtime.rpc import RpcClient
from mppi.runtime.settings import SERVICES, Settings

log = logging.getLogger("gateway")

REQUESTS = Counter("gateway_requests_total", "HTTP requests", ["route", "method", "status"])
SECONDS = Histogram("gateway_request_seconds", "HTTP request duration", ["route"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
JSON = "application/json"
READY_SECONDS = 1.0  # how long one /readyz answer is reused


class Gateway:
    def __init__(self, cfg: Settings | None = None, *, rpc: RpcClient | None = None):
        self.cfg = cfg or mppi_settings.get()
        self.rpc = rpc or RpcClient(self.cfg.nameko_config(), timeout=self.cfg.rpc_timeout_seconds)
        self.secret = self.cfg.token_secret()
        self.limiter = RateLimiter(self.cfg.rate_limits)
        self.edge = Edge(self.cfg.trusted_proxies, self.cfg.public_url)
        self.tenants = cache.tenants
        self.catalog = catalog_cache
        rendered.answers.resize(self.cfg.rendered_cache_bytes)  # the one store of both caches' rendered answers
        self.blobs = blobstore.from_settings(self.cfg.var_dir)
        self.url_map = Map([Rule(r.path, methods=[r.method], endpoint=r) for r in api.routes]
                           + [Rule(p.path, methods=list(p.methods), endpoint=p) for p in site.pages.routes]
                           + [Rule("/healthz", endpoint="healthz"),
                              Rule("/api/v1/openapi.json", endpoint="openapi")], strict_slashes=False)
        self._ready: tuple[float, Response] | None = None  # the last /readyz answer and when it was made
        self._openapi = json.dumps(api.openapi(title="MPPI public API", version="1.0.0")).encode()

    # -- WSGI ------------------------------------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        cid = request.headers.get("X-Correlation-Id", "")[:64] or new_correlation_id()
        correlation_id.set(cid)
        started = time.perf_counter()
        label = "unmatched"
        try:
            adapter = self.url_map.bind_to_environ(environ)
            endpoint, params = adapter.match()
            label = endpoint if isinstance(endpoint, str) else endpoint.endpoint
            response = self.dispatch(request, endpoint, params)
        except (MppiError, HTTPException) as exc:
            response = to_response(exc)
        except Exception as exc:  # a bug: logged with its correlation id, never shown
            response = to_response(exc)
        response.headers["X-Correlation-Id"] = cid
        self.edge.secure(response, environ)
        REQUESTS.labels(label, method_label(request.method), str(response.status_code)).inc()
        SECONDS.labels(label).observe(time.perf_counter() - started)
        return response(environ, start_response)

    def internal(self, environ, start_response):
        """The internal port's application (MPPI_INTERNAL_PORT, never routed by the ingress): liveness, readiness
        (at most a second old: each asks every service) and the metrics; anything else is a 404."""
        path = environ.get("PATH_INFO", "").rstrip("/")
        if path == "/healthz":
            response = _healthy()
        elif path == "/readyz":
            response = self.readyz()
        elif path == "/metrics":
            response = Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)
        else:
            response = to_response(NotFound("not found"))
        return response(environ, start_response)

    def dispatch(self, request: Request, endpoint, params) -> Response:
        if endpoint == "healthz":
            return _healthy()
        if endpoint == "openapi":
            return Response(self._openapi, content_type=JSON)
        if isinstance(endpoint, site.Page):
            return site.serve(self, endpoint, request, params, _language(request))
        route: Route = endpoint
        principal = authenticate(request.headers.get("Authorization"), self.secret, self.tenants.refuses)
        key = principal.account_id if principal and route.rate == "api" else self.client(request)
        self.limiter.check(route.rate, key)
        if route.rate == "api":  # and every account behind the client's address together (``address``)
            self.limiter.check("address", self.client(request))
        ctx = Ctx(request=request, params=params, principal=principal, rpc=self.rpc, tenants=self.tenants,
                  catalog=self.catalog, blobs=self.blobs, lang=_language(request), client=self.client(request))
        if route.body is not None:
            result = route.handler(ctx, parse(route.body, read_json(request)))
        else:
            result = route.handler(ctx)
        if isinstance(result, Response):
            return result
        if route.status == 204:
            return Response(status=204)
        if ctx.lang != "all":
            result = localize(result, ctx.lang)
        return Response(json.dumps(result, ensure_ascii=False), status=route.status, content_type=JSON)

    # -- who is calling, and how often ---------------------------------------------------------------------------
    def client(self, request: Request) -> str:
        """The rate-limit key of the client: its real address behind trusted proxies (IPv6: its /64)."""
        return client_key(self.edge.client_address(request.environ))

    # -- readiness -------------------------------------------------------------------------------------------------
    def readyz(self) -> Response:
        """Whether the broker, every service and the caches are there; one answer serves every probe for a second."""
        now = time.monotonic()
        if self._ready is None or now - self._ready[0] >= READY_SECONDS:
            self._ready = (now, self._check_ready())
        return self._ready[1]

    def _check_ready(self) -> Response:
        def ping(service: str) -> tuple[str, bool]:
            try:
                return service, self.rpc.call(service, "ping", timeout=2.0) == "pong"
            except MppiError:
                return service, False

        pool = eventlet.GreenPool(len(SERVICES))
        results = dict(pool.imap(ping, SERVICES))
        down = sorted(s for s, ok in results.items() if not ok)
        if not self.tenants.ready.is_set():
            down.append("gateway tenant cache")
        if not self.catalog.ready.is_set():
            down.append("gateway catalogue cache")
        if down:
            return problem(503, "DEPENDENCY_UNAVAILABLE", "Not ready", f"not answering: {', '.join(down)}",
                           errors=[{"loc": ["service", s], "msg": "not answering"} for s in down])
        return Response(json.dumps({"status": "ready", "services": results}), content_type=JSON)

    # -- caches ----------------------------------------------------------------------------------------------------
    def warm_caches(self) -> None:
        """Load the snapshots once (events keep them fresh after), retrying until the services answer."""
        _retrying(self._load_tenants)
        _retrying(self._load_catalog)
        # hundreds of thousands of long-lived cache objects: keep them out of the collector's full passes, which
        # otherwise stall every request for tens of milliseconds (the p99 of even /healthz)
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)  # a request allocates a few hundred objects: collect less often

    def _load_tenants(self) -> None:
        tenants = self.rpc.call("tenants", "snapshot_tenants")
        inactive = self.rpc.call("tenants", "list_inactive_accounts")
        revoked = self.rpc.call("tenants", "list_revoked_tokens")
        self.tenants.load_snapshot(tenants, inactive, revoked)
        log.info("tenant cache loaded: %d tenants", len(tenants))

    def _load_catalog(self) -> None:
        after, total = None, 0
        while True:
            page = self.rpc.call("catalog", "published_page", after=after, limit=2000, full=False, timeout=60)
            self.catalog.load_snapshot(page["items"])
            total += len(page["items"])
            after = page["next_cursor"]
            if after is None:
                break
        self.catalog.ready.set()
        log.info("catalogue cache loaded: %d published services", total)


def _healthy() -> Response:
    return Response(b'{"status":"ok"}', content_type=JSON)


def _retrying(load) -> None:
    delay = 0.5
    while True:
        try:
            return load()
        except MppiError:
            eventlet.sleep(delay)
            delay = min(delay * 2, 10)


def _language(request: Request) -> str:
    """``?lang=id|en|all`` wins (all: the raw bilingual objects, for editors), then Accept-Language, then id."""
    if b"lang=" in request.query_string:  # parse the query only when it may carry lang
        asked = request.args.get("lang")
        if asked in ("id", "en", "all"):
            return asked
    if "HTTP_ACCEPT_LANGUAGE" not in request.environ:
        return "id"
    return request.accept_languages.best_match(["id", "en"]) or "id"
