"""The frame every web page stands in: a page registry, the session cookie, CSRF, rendering in the region's colours
and language, and calling the /api/v1 route handlers in-process, so a page does exactly what the API does (same
checks, same services, never a database of its own).

A page handler is ``fn(w: WebCtx) -> Response``, registered with ``@pages.page("/path", methods=...)``. On a POST the
CSRF token was already checked, and a token taken from the page's rate limit (``rate="auth"``) for the client's
address. ``w.api(handler, data)`` runs an API route as the signed-in user and returns its result localized; its errors
are ``MppiError`` like anywhere else: a page catches ``ValidationFailed`` to show the errors beside the fields
(``field_errors``), anything else becomes an error page (401 → the sign-in page; 429 with Retry-After). An HTML page
carries a Content-Security-Policy allowing only its own nonce'd inline <style>.
"""
from __future__ import annotations

import hmac
import io
import json
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway.api import Route
from gateway.context import Ctx
from gateway.edge import SESSION_COOKIE, page_policy
from gateway.i18n import localize
from mppi.contracts.errors import MppiError, NotFound, RateLimited, Unauthenticated, parse
from mppi.runtime import tokens
from mppi.runtime.tokens import Principal

HERE = Path(__file__).parent
HTML = "text/html; charset=utf-8"
CSRF_COOKIE = "mppi_csrf"
LANG_COOKIE = "mppi_lang"
MAX_FORM = 60 * 1024 * 1024  # a form with its files; each file field's own limit is checked by the service


@dataclass(eq=False)  # hashable by identity: werkzeug keys rules by endpoint
class Page:
    path: str
    methods: tuple[str, ...]
    handler: Callable[[WebCtx], Response]
    rate: str | None = None  # the rate-limit rule its POSTs take a token from, per client address

    @property
    def endpoint(self) -> str:
        return f"page {self.path}"


class Pages:
    def __init__(self):
        self.routes: list[Page] = []

    def page(self, path: str, methods: Iterable[str] = ("GET",), rate: str | None = None) -> Callable:
        def register(fn: Callable[[WebCtx], Response]) -> Callable:
            self.routes.append(Page(path=path, methods=tuple(methods), handler=fn, rate=rate))
            return fn

        return register


pages = Pages()

ENV = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                  trim_blocks=True, lstrip_blocks=True)


def _css() -> bytes:
    """One stylesheet for every page: the base first, then each area's own rules (static/css/*.css)."""
    parts = [(HERE / "static" / "site.css").read_bytes()]
    parts += [p.read_bytes() for p in sorted((HERE / "static" / "css").glob("*.css"))]
    return b"\n".join(parts)


STATIC = {"site.css": (_css(), "text/css; charset=utf-8")}


def static(name: str) -> Response:
    if name not in STATIC:
        raise NotFound("no such file")
    body, content_type = STATIC[name]
    return Response(body, content_type=content_type, headers={"Cache-Control": "public, max-age=3600"})


# -- formatting, shared by every template ----------------------------------------------------------------------------

def rupiah(amount: int | None) -> str:
    return "Rp" + f"{int(amount or 0):,}".replace(",", ".")


def local_time(value: str | datetime | None, tz: str = "Asia/Jakarta", with_time: bool = True) -> str:
    """An ISO timestamp as the region reads it: ``29-11-2026 17:30 WIB``."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.strftime("%d-%m-%Y")
    local = moment.astimezone(ZoneInfo(tz))
    zone = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}.get(tz, local.strftime("%Z"))
    return local.strftime(f"%d-%m-%Y %H:%M {zone}") if with_time else local.strftime("%d-%m-%Y")


def sla_state(app: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Whether an application is (or was) on time: ``state`` is ok, late, paused (waiting for the applicant) or
    ended (rejected)."""
    now = now or datetime.now(UTC)
    due = datetime.fromisoformat(app["sla_due_at"])
    if app["status"] == "completed":
        done = next((h["at"] for h in reversed(app.get("history", [])) if h["to_status"] == "completed"), None)
        finished = datetime.fromisoformat(done) if done else now
        return {"state": "ok" if finished <= due else "late", "due": app["sla_due_at"]}
    if app["status"] == "rejected":
        return {"state": "ended", "due": app["sla_due_at"]}
    if app["status"] == "revision_requested":
        return {"state": "paused", "due": app["sla_due_at"]}
    return {"state": "ok" if now <= due else "late", "due": app["sla_due_at"]}


ENV.filters["rupiah"] = rupiah
ENV.filters["local_time"] = local_time


def field_errors(exc: MppiError) -> dict[str, str]:
    """A ValidationFailed's errors by field key (the last text part of each ``loc``), first message wins."""
    found: dict[str, str] = {}
    for e in exc.errors or []:
        keys = [str(p) for p in e.get("loc", []) if isinstance(p, str) and p not in ("body", "form", "query")]
        key = keys[-1] if keys else "_"
        found.setdefault(key, e.get("msg", ""))
    return found or {"_": exc.detail}


# -- the request context of a page -----------------------------------------------------------------------------------

@dataclass
class WebCtx:
    request: Request
    params: dict[str, str]
    lang: str
    principal: Principal | None
    gateway: Any  # gateway.app.Gateway: its rpc, caches, blob store and token secret
    csrf: str
    set_cookies: list[tuple[str, str, dict]] = field(default_factory=list)
    tenant: dict | None = None  # the region the page is in, localized, once ``region()`` was called
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))  # of the page's one inline <style>

    # the API, in-process
    def api(self, handler: Callable, data: Any = None, *, params: dict[str, str] | None = None,
            args: dict[str, Any] | None = None, lang: str | None = None) -> Any:
        """Run an /api/v1 route handler as the signed-in user: ``data`` is its body (validated by the route's model,
        or read by the route itself as JSON), ``args`` its query."""
        route = ROUTES_BY_HANDLER[handler]
        environ = self.request.environ
        if args is not None:
            environ = dict(environ, QUERY_STRING=urlencode({k: v for k, v in args.items() if v is not None}))
        if data is not None and route.body is None:  # a route that reads its JSON body itself (act)
            raw = json.dumps(data).encode()
            environ = dict(environ, REQUEST_METHOD="POST", CONTENT_TYPE="application/json",
                           CONTENT_LENGTH=str(len(raw)), **{"wsgi.input": io.BytesIO(raw)})
        request = self.request if environ is self.request.environ else Request(environ)
        ctx = Ctx(request=request, params={**self.params, **(params or {})}, principal=self.principal,
                  rpc=self.gateway.rpc, tenants=self.gateway.tenants, catalog=self.gateway.catalog,
                  blobs=self.gateway.blobs, lang=lang or self.lang, client=self.gateway.client(self.request))
        if route.body is not None:
            result = handler(ctx, parse(route.body, data))
        else:
            result = handler(ctx)
        if isinstance(result, Response) or (lang or self.lang) == "all":
            return result
        return localize(result, lang or self.lang)

    def rpc(self, service: str, method: str, *args, **kwargs) -> Any:
        return self.gateway.rpc.call(service, method, *args, **kwargs)

    def t(self, indonesian: str, english: str) -> str:
        return english if self.lang == "en" else indonesian

    def localize(self, value: Any) -> Any:
        return localize(value, self.lang)

    # the region
    def region(self, slug: str | None = None) -> dict:
        """The region of the page (``slug`` or the path's), localized; 404 for a region not on the platform."""
        tenant = self.gateway.tenants.get(slug or self.params["slug"])
        if tenant is None:
            raise NotFound("no such region")
        self.tenant = localize(tenant, self.lang)
        return self.tenant

    # answers
    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        lang = self.lang

        def t(indonesian: str, english: str) -> str:
            return english if lang == "en" else indonesian

        tenant = values.pop("tenant", None) or self.tenant
        brand = (tenant or {}).get("branding", {}).get("primary_color") if tenant else None
        body = ENV.get_template(template).render(
            lang=lang, t=t, me=self.principal, tenant=tenant, brand=brand, path=self.request.path,
            csrf_field=Markup(f'<input type="hidden" name="csrf" value="{self.csrf}">'), csrf=self.csrf,
            nonce=self.nonce,
            tz=(tenant or {}).get("timezone", "Asia/Jakarta"), **values)
        return Response(body, status=status, content_type=HTML)

    def redirect(self, url: str) -> Response:
        return Response(status=303, headers={"Location": safe_next(url)})

    # the session
    def sign_in(self, access_token: str, expires_in: int) -> None:
        self.set_cookies.append((SESSION_COOKIE, access_token, {"max_age": expires_in}))

    def sign_out(self) -> None:
        self.set_cookies.append((SESSION_COOKIE, "", {"max_age": 0}))

    def require_login(self) -> Principal:
        if self.principal is None:
            raise LoginRequired()
        return self.principal

    @property
    def form(self):
        return self.request.form

    @property
    def files(self):
        return self.request.files


class LoginRequired(Exception):
    """Raised by a page that needs a signed-in user: the user is sent to the sign-in page and back."""


def safe_next(url: str | None, default: str = "/") -> str:
    """A local path to go on to after a form: never another site (``//evil``, ``https://...``), never a control
    character (CR/LF would split the Location header)."""
    if not url or any(ch < " " or ch == "\x7f" for ch in url):
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    return url


def session_principal(request: Request, secret: bytes, refuses: Callable[[Principal], bool]) -> Principal | None:
    """The signed-in user of the session cookie (the same token the API takes, refused alike), or None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    principal = tokens.verify(secret, token)
    if principal is None or refuses(principal):
        return None
    return principal


def csrf_of(request: Request) -> tuple[str, bool]:
    """The browser's CSRF token and whether it is new (then it must be set as a cookie)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) == 32 and token.isalnum():
        return token, False
    return secrets.token_hex(16), True


def csrf_ok(request: Request, token: str) -> bool:
    sent = request.form.get("csrf", "")
    return bool(sent) and hmac.compare_digest(sent, token)


ROUTES_BY_HANDLER: dict[Callable, Route] = {}


def index_api(routes: Iterable[Route]) -> None:
    for r in routes:
        ROUTES_BY_HANDLER[r.handler] = r


def serve(gateway: Any, page: Page, request: Request, params: dict[str, str], asked_lang: str) -> Response:
    """Run a page: the session from its cookie, CSRF on every POST, errors as pages (401 → sign in)."""
    from_query = request.args.get("lang") if b"lang=" in request.query_string else None
    lang = from_query if from_query in ("id", "en") else request.cookies.get(LANG_COOKIE)
    if lang not in ("id", "en"):
        lang = asked_lang if asked_lang in ("id", "en") else "id"
    principal = session_principal(request, gateway.secret, gateway.tenants.refuses)
    csrf, new_csrf = csrf_of(request)
    request.max_content_length = MAX_FORM
    request.max_form_memory_size = 1024 * 1024
    w = WebCtx(request=request, params=params, lang=lang, principal=principal, gateway=gateway, csrf=csrf)
    try:
        if page.rate and request.method == "POST":
            gateway.limiter.check(page.rate, gateway.client(request))
        if request.method == "POST" and not csrf_ok(request, csrf):
            response = _error_page(w, 400, w.t("Formulir kedaluwarsa", "The form has expired"),
                                   w.t("Muat ulang halaman lalu kirim lagi.", "Reload the page and send it again."))
        else:
            response = page.handler(w)
    except (LoginRequired, Unauthenticated):
        response = Response(status=303, headers={"Location": "/masuk?" + urlencode({"next": request.full_path})})
    except RequestEntityTooLarge:
        response = _error_page(w, 413, w.t("Berkas terlalu besar", "Files too large"),
                               w.t(f"Satu pengajuan paling besar {MAX_FORM // 2**20} MB.",
                                   f"One submission may be at most {MAX_FORM // 2**20} MB."))
    except MppiError as exc:
        if exc.status >= 500:
            raise
        title = _TITLES.get(exc.status, (exc.title, exc.title))[lang == "en"]
        if isinstance(exc, RateLimited):
            wait = exc.retry_after
            response = _error_page(w, 429, title, w.t(f"Terlalu banyak percobaan. Coba lagi dalam {wait} detik.",
                                                       f"Too many attempts. Try again in {wait} seconds."))
            response.headers["Retry-After"] = str(exc.retry_after)
        else:
            response = _error_page(w, exc.status, title, exc.detail)
    secure = gateway.edge.https or request.scheme == "https"  # TLS may end at the ingress: the request is http
    if new_csrf:
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="Lax", secure=secure, max_age=30 * 86400)
    if from_query in ("id", "en"):
        response.set_cookie(LANG_COOKIE, from_query, samesite="Lax", secure=secure, max_age=365 * 86400)
    for name, value, options in w.set_cookies:
        response.set_cookie(name, value, httponly=True, samesite="Lax", secure=secure, **options)
    if principal is not None or w.set_cookies:
        response.headers["Cache-Control"] = "private, no-store"
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = page_policy(w.nonce)
    return response  # the headers every answer carries are added by the gateway (edge.secure)


_TITLES = {400: ("Permintaan tidak dapat diproses", "The request cannot be processed"),
           403: ("Anda tidak berwenang", "You are not allowed to do this"),
           404: ("Halaman tidak ditemukan", "Page not found"),
           409: ("Tidak dapat dilakukan sekarang", "This cannot be done now"),
           429: ("Terlalu banyak permintaan", "Too many requests")}


def _error_page(w: WebCtx, status: int, title: str, detail: str) -> Response:
    return w.render("error.html", status=status, title=title, detail=detail,
                    back=safe_next(w.request.referrer and urlsplit(w.request.referrer).path))
