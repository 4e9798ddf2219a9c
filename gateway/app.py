"""The gateway's WSGI application: routing, correlation ids, the HTTP edge (client address, cluster-only paths,
security headers), rate limits, auth, metrics and the error mapper."""
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

from gateway import application_routes, cache, catalog_routes  # noqa: F401 - they register their routes
from gateway.api import Route
from gateway.auth import authenticate
from gateway.catalog_cache import catalog as catalog_cache
from gateway.context import Ctx, read_json
from gateway.edge import CLUSTER_ONLY, Edge, method_label
from gateway.errors import problem, to_response
from gateway.i18n import localize
from gateway.ratelimit import RateLimiter, account_key, client_key
from gateway.routes import api
from gateway.web import site
from mppi.contracts.errors import MppiError, NotFound, parse
from mppi.contracts.tenants import TokenRequest
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


class Gateway:
    def __init__(self, cfg: Settings | None = None, *, rpc: RpcClient | None = None):
        self.cfg = cfg or mppi_settings.get()
        self.rpc = rpc or RpcClient(self.cfg.nameko_config(), timeout=self.cfg.rpc_timeout_seconds)
        self.secret = self.cfg.token_secret()
        self.limiter = RateLimiter(self.cfg.rate_limits)
        self.edge = Edge(self.cfg.trusted_proxies, self.cfg.public_url)
        self.tenants = cache.tenants
        self.catalog = catalog_cache
        self.blobs = blobstore.from_settings(self.cfg.var_dir)
        self.url_map = Map([Rule(r.path, methods=[r.method], endpoint=r) for r in api.routes]
                           + [Rule(p.path, methods=list(p.methods), endpoint=p) for p in site.pages.routes]
                           + [Rule("/healthz", endpoint="healthz"), Rule("/readyz", endpoint="readyz"),
                              Rule("/metrics", endpoint="metrics"),
                              Rule("/api/v1/openapi.json", endpoint="openapi")], strict_slashes=False)
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
        self.edge.secure(response)
        REQUESTS.labels(label, method_label(request.method), str(response.status_code)).inc()
        SECONDS.labels(label).observe(time.perf_counter() - started)
        return response(environ, start_response)

    def dispatch(self, request: Request, endpoint, params) -> Response:
        if endpoint in CLUSTER_ONLY and self.edge.via_proxy(request.environ):
            raise NotFound("not found")  # kubelet and Prometheus reach the pod directly, never through the ingress
        if endpoint == "healthz":
            return Response(b'{"status":"ok"}', content_type=JSON)
        if endpoint == "readyz":
            return self.readyz()
        if endpoint == "metrics":
            return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)
        if endpoint == "openapi":
            return Response(self._openapi, content_type=JSON)
        if isinstance(endpoint, site.Page):
            return site.serve(self, endpoint, request, params, _language(request))
        route: Route = endpoint
        principal = authenticate(request.headers.get("Authorization"), self.secret, self.tenants.deactivated)
        key = principal.account_id if principal and route.rate == "api" else self.client(request)
        self.limiter.check(route.rate, key)
        ctx = Ctx(request=request, params=params, principal=principal, rpc=self.rpc, tenants=self.tenants,
                  catalog=self.catalog, blobs=self.blobs, lang=_language(request))
        if route.body is not None:
            body = parse(route.body, read_json(request))
            self.limit_account(body)
            result = route.handler(ctx, body)
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

    def limit_account(self, body) -> None:
        """A password attempt also takes a token from its account's bucket: many addresses guessing one account's
        password are slowed as one client would be."""
        if isinstance(body, TokenRequest):
            self.limiter.check("account", account_key(body.username))

    # -- readiness -------------------------------------------------------------------------------------------------
    def readyz(self) -> Response:
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
        self.tenants.load_snapshot(tenants, inactive)
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
