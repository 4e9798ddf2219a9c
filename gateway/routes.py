"""The /api/v1 routes of accounts and tenants: parse, check who may call, ask the service (or the cache), answer."""
from __future__ import annotations

import json

from werkzeug.wrappers import Response

from gateway.api import Access, Api, PageOf
from gateway.auth import require, require_platform_admin, require_staff
from gateway.context import Ctx, paginate, request_key
from gateway.i18n import localize
from mppi.contracts import tenants as c
from mppi.contracts.errors import NotFound

api = Api()


# ---- accounts -------------------------------------------------------------------------------------------------

@api.route("POST", "/api/v1/auth/register", body=c.Register, response=c.AccountPublic, status=201, rate="auth",
           tag="accounts", summary="Register as a citizen (NIK checked per Dukcapil rules)", errors=(400, 409),
           headers=("Idempotency-Key",),
           access=Access.ANYONE)
def register(ctx: Ctx, body: c.Register):
    return ctx.rpc.call("tenants", "register_citizen", body.model_dump(mode="json"),
                        request_key=request_key(ctx.request))


@api.route("POST", "/api/v1/auth/token", body=c.TokenRequest, response=c.Token, rate="auth", tag="accounts",
           summary="Sign in: exchange email and password for a bearer token (429 for a client network with too many "
                   "failed sign-ins to the account)", access=Access.ANYONE)
def token(ctx: Ctx, body: c.TokenRequest):
    # the network a failure is counted against: the same one the gateway's own limits key the client by
    return ctx.rpc.call("tenants", "issue_token", body.model_dump(mode="json"), network=ctx.client)


@api.route("POST", "/api/v1/auth/logout", status=204, auth=True, tag="accounts",
           summary="Sign out: the token sent is refused from now on, by every gateway", access=Access.SIGNED_IN)
def logout(ctx: Ctx):
    p = require(ctx.principal)
    ctx.rpc.call("tenants", "revoke_token", p.account_id, p.jti, p.expires_at)
    ctx.tenants.revoke(p.jti, p.expires_at)  # at once here; other gateways learn it from the event
    return None


@api.route("GET", "/api/v1/me", response=c.Me, auth=True, tag="accounts", summary="The signed-in account",
           access=Access.SIGNED_IN)
def me(ctx: Ctx):
    return ctx.rpc.call("tenants", "get_me", require(ctx.principal).account_id)


# ---- tenants --------------------------------------------------------------------------------------------------

def tenant_or_404(ctx: Ctx, slug: str) -> dict:
    if ctx.tenants.ready.is_set():
        tenant = ctx.tenants.get(slug)
        if tenant is None:
            raise NotFound(f"tenant {slug} not found")
        return tenant
    tenant = ctx.rpc.call("tenants", "get_tenant", slug)  # cache still warming up
    ctx.tenants.put(tenant)
    return tenant


def staff_tenant(ctx: Ctx, roles: tuple[str, ...] = ("tenant_admin",)) -> dict:
    """The region of the path, for its staff with one of ``roles`` or a platform admin (404 / 403 otherwise)."""
    tenant = tenant_or_404(ctx, ctx.params["slug"])
    require_staff(ctx.principal, tenant["slug"], roles)
    return tenant


@api.route("POST", "/api/v1/tenants", body=c.TenantCreate, response=c.TenantPublic, status=201, auth=True,
           tag="tenants", summary="Onboard a region (platform admin)", errors=(400, 403, 409),
           headers=("Idempotency-Key",), access=Access.PLATFORM_ADMIN)
def create_tenant(ctx: Ctx, body: c.TenantCreate):
    require_platform_admin(ctx.principal)
    tenant = ctx.rpc.call("tenants", "create_tenant", body.model_dump(mode="json", exclude_unset=True),
                          request_key=request_key(ctx.request))
    ctx.tenants.put(tenant)  # read-your-writes here; other gateways learn it from the event
    return tenant


@api.route("GET", "/api/v1/tenants", response=PageOf(c.TenantSummary), tag="tenants",
           summary="Regions live on the platform", query={"limit": "1-100", "cursor": "from next_cursor"},
           access=Access.ANYONE)
def list_tenants(ctx: Ctx):
    if ctx.tenants.ready.is_set():
        items = ctx.tenants.summaries()
    else:
        items = sorted(ctx.rpc.call("tenants", "list_tenants"), key=lambda t: t["slug"])
    return paginate(items, key="slug", limit=ctx.limit(), cursor=ctx.request.args.get("cursor"))


@api.route("GET", "/api/v1/tenants/<slug>", response=c.TenantPublic, tag="tenants", errors=(404,),
           summary="A region: name, kind, timezone, branding, menu, home page widgets, office hours",
           access=Access.ANYONE)
def get_tenant(ctx: Ctx):
    slug = ctx.params["slug"]
    body = ctx.tenants.rendered(slug, ctx.lang)
    if body is None:
        tenant = tenant_or_404(ctx, slug)
        body = json.dumps(localize(tenant, ctx.lang) if ctx.lang != "all" else tenant, ensure_ascii=False).encode()
        if ctx.tenants.ready.is_set():
            ctx.tenants.keep_rendered(slug, ctx.lang, body)
    return Response(body, content_type="application/json")


@api.route("PATCH", "/api/v1/tenants/<slug>", body=c.TenantPatch, response=c.TenantPublic, auth=True,
           tag="tenants", summary="Change a region's configuration (tenant admin)", errors=(403, 404),
           access=Access.TENANT_ADMIN)
def patch_tenant(ctx: Ctx, body: c.TenantPatch):
    slug = ctx.params["slug"]
    require_staff(ctx.principal, slug)
    tenant = ctx.rpc.call("tenants", "update_tenant", slug, body.model_dump(mode="json", exclude_unset=True))
    ctx.tenants.put(tenant)
    return tenant


@api.route("POST", "/api/v1/tenants/<slug>/staff", body=c.StaffCreate, response=c.AccountPublic, status=201,
           auth=True, tag="tenants", summary="Create a staff account in the region", errors=(400, 403, 404, 409),
           headers=("Idempotency-Key",),
           access=Access.TENANT_ADMIN)
def create_staff(ctx: Ctx, body: c.StaffCreate):
    slug = ctx.params["slug"]
    require_staff(ctx.principal, slug)
    return ctx.rpc.call("tenants", "create_staff", slug, body.model_dump(mode="json"),
                        request_key=request_key(ctx.request))


@api.route("GET", "/api/v1/tenants/<slug>/staff", response=PageOf(c.StaffPublic), auth=True, tag="tenants",
           summary="The region's staff accounts", errors=(403, 404), query={"limit": "1-100", "cursor": ""},
           access=Access.TENANT_ADMIN)
def list_staff(ctx: Ctx):
    slug = ctx.params["slug"]
    require_staff(ctx.principal, slug)
    return ctx.rpc.call("tenants", "list_staff", slug, limit=ctx.limit(), cursor=ctx.request.args.get("cursor"))


@api.route("DELETE", "/api/v1/tenants/<slug>/staff/<account_id>", status=204, auth=True, tag="tenants",
           summary="Remove a staff account: it can no longer sign in", errors=(403, 404), access=Access.TENANT_ADMIN)
def delete_staff(ctx: Ctx):
    slug = ctx.params["slug"]
    require_staff(ctx.principal, slug)
    ctx.rpc.call("tenants", "deactivate_staff", slug, ctx.params["account_id"])
    ctx.tenants.deactivated.add(ctx.params["account_id"])
    return None


@api.route("POST", "/api/v1/tenants/<slug>/agencies", body=c.AgencyCreate, response=c.AgencyPublic, status=201,
           auth=True, tag="tenants", summary="Add an agency (OPD) to the region", errors=(400, 403, 404, 409),
           headers=("Idempotency-Key",),
           access=Access.TENANT_ADMIN)
def create_agency(ctx: Ctx, body: c.AgencyCreate):
    slug = ctx.params["slug"]
    require_staff(ctx.principal, slug)
    return ctx.rpc.call("tenants", "create_agency", slug, body.model_dump(mode="json"),
                        request_key=request_key(ctx.request))


@api.route("GET", "/api/v1/tenants/<slug>/agencies", response=PageOf(c.AgencyPublic), tag="tenants",
           summary="The region's agencies (OPD)", errors=(404,), query={"limit": "1-100", "cursor": ""},
           access=Access.ANYONE)
def list_agencies(ctx: Ctx):
    items = ctx.rpc.call("tenants", "list_agencies", ctx.params["slug"])
    return paginate(items, key="code", limit=ctx.limit(), cursor=ctx.request.args.get("cursor"))

