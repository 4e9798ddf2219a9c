"""The /api/v1 catalogue routes: the template library, a region's services (public reads from the local cache,
edits through the catalog service), publishing and archiving."""
from __future__ import annotations

import json

from werkzeug.wrappers import Response

from gateway.api import Access, PageOf
from gateway.auth import require_staff
from gateway.context import Ctx, request_key
from gateway.i18n import localize
from gateway.routes import api, staff_tenant, tenant_or_404
from mppi.contracts import catalog as c
from mppi.contracts.errors import NotFound, ValidationFailed, field_error
from mppi.contracts.tenants import STAFF_ROLES
from mppi.indonesia.search import canonical

JSON = "application/json"


def _json(body: object) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), content_type=JSON)


@api.route("GET", "/api/v1/templates", response=list[c.TemplateSummary], tag="catalogue",
           summary="The national template library", access=Access.ANYONE)
def list_templates(ctx: Ctx):
    # the library changes only with a catalog release: one RPC per gateway process
    global _templates
    if _templates is None:
        _templates = ctx.rpc.call("catalog", "list_templates")
    return _templates


_templates: list | None = None


@api.route("GET", "/api/v1/templates/<code>", response=c.Template, tag="catalogue", errors=(404,),
           summary="One template in full: standard, form and workflow", access=Access.ANYONE)
def get_template(ctx: Ctx):
    return ctx.rpc.call("catalog", "get_template", ctx.params["code"])


@api.route("POST", "/api/v1/tenants/<slug>/services", body=c.AdoptOrCreate, response=c.ServicePublic, status=201,
           auth=True, tag="catalogue", errors=(400, 403, 404, 409), headers=("Idempotency-Key",),
           summary="Adopt a template ({template_code}, optional code) or create a service from a definition",
           access=Access.TENANT_ADMIN)
def create_service(ctx: Ctx, body: c.AdoptOrCreate):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("catalog", "create_service", slug, body.model_dump(mode="json", exclude_none=True),
                        request_key=request_key(ctx.request))


@api.route("PATCH", "/api/v1/tenants/<slug>/services/<service_id>", body=c.ServicePatch, response=c.ServicePublic,
           auth=True, tag="catalogue", errors=(403, 404),
           summary="Edit a service: a JSON merge patch of its definition, applied to the draft",
           access=Access.TENANT_ADMIN)
def update_service(ctx: Ctx, body: c.ServicePatch):
    slug = staff_tenant(ctx)["slug"]
    return ctx.rpc.call("catalog", "update_service", slug, ctx.params["service_id"], body.model_dump(mode="json"))


@api.route("POST", "/api/v1/tenants/<slug>/services/<service_id>/publish", response=c.ServicePublic, auth=True,
           tag="catalogue", errors=(403, 404), summary="Publish the draft: it becomes the version citizens see",
           access=Access.TENANT_ADMIN)
def publish_service(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    view = ctx.rpc.call("catalog", "publish_service", slug, ctx.params["service_id"])
    ctx.catalog.published(view)  # read-your-writes here; other gateways learn it from the event
    return view


@api.route("POST", "/api/v1/tenants/<slug>/services/<service_id>/archive", response=c.ServicePublic, auth=True,
           tag="catalogue", errors=(403, 404), summary="Archive: the service leaves the public list",
           access=Access.TENANT_ADMIN)
def archive_service(ctx: Ctx):
    slug = staff_tenant(ctx)["slug"]
    view = ctx.rpc.call("catalog", "archive_service", slug, ctx.params["service_id"])
    ctx.catalog.archived(slug, view["id"])
    return view


@api.route("GET", "/api/v1/tenants/<slug>/services", response=PageOf(c.ServiceSummary), tag="catalogue", errors=(404,),
           summary="A region's published services; staff may ask for status=draft|archived",
           query={"category": "a category key", "q": "search words (Indonesian)", "menu": "a menu entry key",
                  "status": "staff: draft|archived|published", "limit": "1-100", "cursor": "from next_cursor"},
           access=Access.ANYONE)
def list_services(ctx: Ctx):
    slug = ctx.params["slug"]
    args = ctx.request.args
    status = args.get("status")
    if status and status != "published":
        tenant_or_404(ctx, slug)
        if status not in c.STATUSES:
            raise ValidationFailed("status must be draft, published or archived",
                                   [field_error(["query", "status"], "unknown status")])
        require_staff(ctx.principal, slug, STAFF_ROLES)
        return ctx.rpc.call("catalog", "list_services", slug, status=status, limit=ctx.limit(),
                            cursor=args.get("cursor"))
    # a hot read is one lookup keyed on what decides the answer, normalised: any other parameter, or another
    # spelling of the same search, finds the same entry instead of making one
    key = _list_key(ctx, slug)
    if key is not None:
        cached = ctx.catalog.rendered(slug, key)
        if cached is not None:
            return Response(cached, content_type=JSON)
    tenant = tenant_or_404(ctx, slug)
    limit = ctx.limit()
    items = ctx.catalog.summaries(slug)
    menu_key = args.get("menu")
    if menu_key:
        entry = next((m for m in tenant.get("menu", []) if m.get("key") == menu_key), None)
        if entry is None:
            raise NotFound(f"menu entry {menu_key} not found")
        if entry.get("service_ids"):
            by_id = {s["id"]: s for s in items}
            items = [by_id[i] for i in entry["service_ids"] if i in by_id]
        elif entry.get("category"):
            items = [s for s in items if s["category"] == entry["category"]]
    if args.get("category"):
        items = [s for s in items if s["category"] == args["category"]]
    searched = bool(args.get("q"))
    if searched:
        ranked = ctx.catalog.search(slug, args["q"][:MAX_Q])
        allowed = {s["id"]: s for s in items}
        items = [allowed[i] for i in ranked if i in allowed]
    offset = _offset(args.get("cursor"))  # the list is ordered by name: the cursor is a position in it
    page = {"items": items[offset:offset + limit],
            "next_cursor": str(offset + limit) if len(items) > offset + limit else None}
    body = json.dumps(localize(page, ctx.lang) if ctx.lang != "all" else page, ensure_ascii=False).encode()
    if key is not None and (items or not searched):
        # a search that matches nothing is answered again from the index (cheap) rather than kept: junk words
        # cannot fill the store
        ctx.catalog.keep_rendered(slug, key, body)
    return Response(body, content_type=JSON)


MAX_Q = 200  # characters of a search that are read
_NO_CATEGORY = "\x00unknown"  # every category the region has no service in answers alike: an empty list


def _offset(cursor: str | None) -> int:
    cursor = cursor or "0"
    if not (cursor.isascii() and cursor.isdigit()):
        raise ValidationFailed("cursor comes from next_cursor", [field_error(["query", "cursor"], "invalid")])
    return int(cursor) if len(cursor) <= 12 else 10 ** 12


def _list_key(ctx: Ctx, slug: str) -> tuple | None:
    """What decides a public list's answer, normalised, or None when the request is refused (not kept): the
    language, the category (one value for all the region does not have), the search as search reads it, the menu
    entry, the page size and the position (one value for all past the end)."""
    args = ctx.request.args
    try:
        limit = ctx.limit()
        offset = min(_offset(args.get("cursor")), ctx.catalog.count(slug))
    except ValidationFailed:
        return None
    category = args.get("category") or None
    if category is not None and category not in ctx.catalog.categories(slug):
        category = _NO_CATEGORY
    q = args.get("q")
    return ("list", ctx.lang, category, canonical(q[:MAX_Q]) if q else None, args.get("menu") or None, limit,
            offset)


@api.route("GET", "/api/v1/tenants/<slug>/services/<service_id>", response=c.ServicePublic, tag="catalogue",
           errors=(404,), query={"version": "staff: draft or a version number"},
           summary="A service's latest published version: its standard, form and workflow", access=Access.ANYONE)
def get_service(ctx: Ctx):
    slug = ctx.params["slug"]
    sid = ctx.params["service_id"]
    version = ctx.request.args.get("version")
    if version:
        tenant_or_404(ctx, slug)
        require_staff(ctx.principal, slug, STAFF_ROLES)
        if version != "draft" and not version.isdigit():
            raise ValidationFailed("version is draft or a number", [field_error(["query", "version"], "invalid")])
        return ctx.rpc.call("catalog", "get_service", slug, sid, version if version == "draft" else int(version))
    key = ("detail", sid, ctx.lang)
    cached = ctx.catalog.rendered(slug, key)
    if cached is not None:
        return Response(cached, content_type=JSON)
    tenant_or_404(ctx, slug)
    if ctx.catalog.ready.is_set() and not ctx.catalog.is_published(slug, sid):
        raise NotFound("service not found")
    view = ctx.catalog.detail(slug, sid)
    if view is None:
        view = ctx.rpc.call("catalog", "get_service", slug, sid, "published")
        ctx.catalog.put_detail(view)
    body = json.dumps(localize(view, ctx.lang) if ctx.lang != "all" else view, ensure_ascii=False).encode()
    ctx.catalog.keep_rendered(slug, key, body)
    return Response(body, content_type=JSON)
