"""The tenant isolation matrix: every /api/v1 route × everyone who might call it → the answer the route's declared
access (``Route.access``) promises. Path parameters name real objects of the region, so a refusal is a refusal and
not a 404 for a bad id.

What API.md asks, and what is expected here: no token → 401; a resource of another region, or one the caller may
not see (another citizen's application, the inbox for a platform admin, who sees applicants' data only as
statistics) → 404; the region is public, so a caller without the role a route needs in it → 403 (a citizen on a
staff route, a verifier on a tenant admin's route, staff on the citizens' submission route). The other region's
staff get 404 wherever a route serves this region's staff or its applications.
"""
import re

import pytest

import gateway.app  # noqa: F401 - importing the application registers every route module
from gateway.api import Access, Route
from gateway.routes import api

CITIZENS = ("citizen", "other_citizen")
REGION_STAFF = ("tenant_admin", "verifier", "approver", "operator")
PRINCIPALS = ("anonymous", *CITIZENS, "other_region_staff", *REGION_STAFF, "platform_admin")


def expected(route: Route, who: str, *, step_roles: tuple[str, ...]) -> int:
    """The answer ``who`` gets from ``route``, from its declared access alone ("citizen" is the applicant and owns
    the notification; ``step_roles`` act at the current step of the application acted on)."""
    ok, access = route.status, route.access
    if access == Access.ANYONE:
        return ok
    if who == "anonymous":
        return 401
    if access == Access.SIGNED_IN:
        return ok
    if access in (Access.OWNER, Access.APPLICANT):
        return ok if who == "citizen" else 404
    if access == Access.CITIZEN:
        return ok if who in CITIZENS else 403
    if access == Access.PLATFORM_ADMIN:
        return ok if who == "platform_admin" else 403
    if access == Access.TENANT_ADMIN:
        return ok if who in ("tenant_admin", "platform_admin") else 404 if who == "other_region_staff" else 403
    if access == Access.STAFF:
        return ok if who in REGION_STAFF else 403 if who in CITIZENS else 404
    if access == Access.APPLICANT_OR_STAFF:
        return ok if who in ("citizen", *REGION_STAFF) else 404
    if access == Access.WORKFLOW:
        return ok if who in step_roles else 403 if who in ("citizen", *REGION_STAFF) else 404
    raise AssertionError(f"{route.endpoint}: no expectation for access {access!r}")


def test_every_route_declares_who_may_call_it():
    undeclared = [r.endpoint for r in api.routes if not isinstance(r.access, Access)]
    assert not undeclared, f"routes without access=Access.…: {undeclared}"
    # a route that admits anyone takes no token; every other one says in the spec that it needs one
    inconsistent = [r.endpoint for r in api.routes if r.auth != (r.access != Access.ANYONE)]
    assert not inconsistent, f"auth= disagrees with access=: {inconsistent}"


def test_expectations_follow_the_declared_access():
    route = Route(method="GET", path="/x", handler=lambda ctx: None, summary="", access=Access.TENANT_ADMIN)
    row = {who: expected(route, who, step_roles=()) for who in PRINCIPALS}
    assert row == {"anonymous": 401, "citizen": 403, "other_citizen": 403, "other_region_staff": 404,
                   "tenant_admin": 200, "verifier": 403, "approver": 403, "operator": 403, "platform_admin": 200}
    with pytest.raises(AssertionError):
        expected(Route(method="GET", path="/x", handler=lambda ctx: None, summary=""), "citizen", step_roles=())


def _path(route: Route, world, spare_region: str) -> str:
    """The route's path with a real object of the region in every parameter; an object the call consumes (deletes,
    publishes, archives, acts on, answers the survey of) is made for this call alone."""
    last = route.path.rsplit("/", 1)[-1]
    values = {"slug": world.slug, "service_id": world.service_id, "application_id": world.application["id"],
              "account_id": world.staff_id, "key": world.document_key, "subscription_id": world.subscription_id,
              "notification_id": world.notification_id, "tracking_number": world.application["tracking_number"],
              "type_": "application_submitted", "language": "en",
              "code": world.verify_code if route.path.startswith("/api/v1/verify/") else world.template_code}
    if last == "output":
        values["application_id"] = world.completed["id"]
    if route.method != "GET":
        if last == "publish":
            values["service_id"] = world.fresh_service()
        elif last == "archive":
            values["service_id"] = world.fresh_service(published=True)
        elif last == "actions":
            values["application_id"] = world.fresh_application()["id"]
        elif last == "survey":
            values["application_id"] = world.fresh_completed_application()["id"]
        elif route.method == "DELETE" and last == "<account_id>":
            values["account_id"] = world.fresh_staff()
        elif route.method == "DELETE" and last == "<subscription_id>":
            values["subscription_id"] = world.fresh_subscription()
    names = re.findall(r"<(?:\w+:)?(\w+)>", route.path)
    missing = [n for n in names if n not in values]
    assert not missing, f"{route.endpoint}: name a real object for the path parameters {missing}"
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route.path)


def test_every_route_answers_each_caller_as_its_access_declares(world):
    spare_region = "36.01"  # the one tenant the platform admin's POST /api/v1/tenants makes
    clients = world.clients()
    rows, wrong = [], []
    for route in api.routes:
        row = {}
        for who in PRINCIPALS:
            want = expected(route, who, step_roles=world.first_step_roles)
            url, body = _path(route, world, spare_region), world.body_for(route, spare_region=spare_region)
            # signing out revokes the caller's token: it signs out a token of its own, the others go on
            caller = clients[who].fresh() if route.path == "/api/v1/auth/logout" else clients[who]
            r = caller.request(route.method, url, **body)
            row[who] = r.status_code
            if r.status_code != want:
                wrong.append(f"{route.endpoint} as {who}: {r.status_code} (expected {want}) {r.text[:160]}")
        rows.append((route.endpoint, row))
    width = max(len(e) for e, _ in rows)
    print(f"\nisolation matrix: {len(rows)} routes × {len(PRINCIPALS)} callers = {len(rows) * len(PRINCIPALS)} cells")
    print(" " * width, *(w[:8].rjust(8) for w in PRINCIPALS))
    for endpoint, row in rows:
        print(endpoint.ljust(width), *(str(row[w]).rjust(8) for w in PRINCIPALS))
    assert not wrong, "\n".join(wrong)
