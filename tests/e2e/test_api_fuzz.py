"""Fuzz every /api/v1 operation with schemathesis, from the running gateway's own OpenAPI document: no answer is a
5xx, and every answer is one the document promises (its status, content type and, where given, schema). Invalid
input (schemathesis' negative mode) must be refused with a 4xx.

Each operation is called as someone its declared access admits, with real objects of a region in its path (and now
and then generated ones), so the calls reach past 401 and 404 into the services. The run is derandomized and has no
shrinking phase; ``MPPI_FUZZ_EXAMPLES`` (default 6 per operation and mode) makes it longer, e.g. for ``make bench``.
"""
import os
import re
import time
from collections import Counter

import jsonschema_rs
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.api import Access

FUZZ_REGION = "36.02"  # the one region the fuzzing may onboard
EXAMPLES = int(os.environ.get("MPPI_FUZZ_EXAMPLES", "6"))
POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_headers_conformance, response_schema_conformance]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]
# who calls an operation, by its declared access (two names: the cases alternate between them)
CALLERS = {Access.ANYONE: ("anonymous", "tenant_admin"), Access.SIGNED_IN: ("citizen", "verifier"),
           Access.OWNER: ("citizen",), Access.CITIZEN: ("citizen",), Access.PLATFORM_ADMIN: ("platform_admin",),
           Access.TENANT_ADMIN: ("tenant_admin", "platform_admin"), Access.STAFF: ("verifier", "tenant_admin"),
           Access.APPLICANT_OR_STAFF: ("citizen", "verifier"), Access.APPLICANT: ("citizen",),
           Access.WORKFLOW: ("verifier", "citizen")}


def _real_path_parameters(world) -> dict[str, dict[str, str]]:
    """Real objects for each path parameter, by operation; the calls that destroy what they name get objects of
    their own, so the other operations keep theirs."""
    common = {"slug": world.slug, "service_id": world.service_id, "application_id": world.application["id"],
              "key": world.document_key, "subscription_id": world.subscription_id,
              "notification_id": world.notification_id, "tracking_number": world.application["tracking_number"],
              "type_": "application_submitted", "language": "id", "code": world.template_code}
    completed = {**common, "application_id": world.completed["id"]}
    victim_service = world.fresh_service(published=True)
    return {
        "default": common,
        "/api/v1/verify/{code}": {"code": world.verify_code},
        "/api/v1/tenants/{slug}/applications/{application_id}/output": completed,
        "/api/v1/tenants/{slug}/applications/{application_id}/survey": completed,
        "/api/v1/tenants/{slug}/staff/{account_id}": {"slug": world.slug, "account_id": world.staff_id},
        "/api/v1/tenants/{slug}/services/{service_id}/archive": {**common, "service_id": victim_service},
        "/api/v1/tenants/{slug}/services/{service_id}/publish": {**common, "service_id": victim_service},
        "/api/v1/tenants/{slug}/subscriptions/{subscription_id}": {**common,
                                                                   "subscription_id": world.fresh_subscription()},
    }


def _trimmed(value):
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: _trimmed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trimmed(v) for v in value]
    return value


def _valid_once_trimmed(case, document: dict) -> bool:
    """Request models strip the whitespace at the ends of every string before checking it (``common.Request``): a
    body too long only by its spaces is valid, not negative data the API should have refused."""
    content = document["paths"][case.operation.path][case.method.lower()].get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None or case.media_type not in (None, "application/json") or not isinstance(case.body, dict):
        return False
    validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
    return validator.is_valid(_trimmed(case.body))


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _fuzz(strategy, call) -> None:
    """Run ``call`` on EXAMPLES cases drawn from ``strategy``: derandomized, no shrinking."""

    @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def run(case):
        call(case)

    run()


def test_fuzzed_requests_get_documented_answers_and_never_a_5xx(platform, world):
    document = requests.get(f"{platform.base_url}/api/v1/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    tokens = {who: c.token for who, c in world.clients().items()}
    real = _real_path_parameters(world)
    session = requests.Session()
    started = time.monotonic()
    counts: Counter = Counter()
    failures: dict[tuple, str] = {}

    def _call(case, checks, mode) -> None:
        counts["cases"] += 1
        if case.operation.label == "POST /api/v1/tenants" and isinstance(case.body, dict) and \
                re.fullmatch(r"\d{2}\.\d{2}", str(case.body.get("region_code"))):
            case.body["region_code"] = FUZZ_REGION  # never onboard a real region another test needs
        try:
            response = case.call(base_url=platform.base_url, session=session, timeout=30)
            counts[f"{response.status_code // 100}xx"] += 1
            case.validate_response(response, checks=checks)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every failure is collected, none shrunk
            found = [e for e in getattr(exc, "exceptions", None) or [exc]
                     if not (isinstance(e, AcceptedNegativeData) and _valid_once_trimmed(case, document))]
            if not found:
                return
            for e in found:
                title = getattr(e, "title", type(e).__name__)
                failures.setdefault((case.operation.label, title),
                                    f"{case.operation.label} [{mode.value}]: {exc}"[:2500])
            counts["failed cases"] += 1

    for result in schema.get_all_operations():
        op = result.ok()
        callers = CALLERS[Access(document["paths"][op.path][op.method.lower()]["x-access"])]
        params = {n: v for n, v in real.get(op.path, real["default"]).items()
                  if op.get_parameter(n, "path") is not None}
        counts["operations"] += 1
        # signing out revokes the token sent: that operation gets tokens of its own, the others go on
        toks = ({who: c.fresh().token for who, c in world.clients().items()} if op.path == "/api/v1/auth/logout"
                else tokens)
        for mode, checks in ((GenerationMode.POSITIVE, POSITIVE_CHECKS), (GenerationMode.NEGATIVE, NEGATIVE_CHECKS)):
            # the token is a fixed header, so negative cases never drop it (a missing token is the matrix's job)
            strategies = [op.as_strategy(generation_mode=mode, path_parameters=params, headers=_auth(toks[who]))
                          for who in callers]
            if params:  # now and then, generated ids and slugs too
                strategies.append(op.as_strategy(generation_mode=mode, headers=_auth(toks[callers[0]])))
            strategy = st.one_of(*strategies)
            try:
                _fuzz(strategy, lambda case, checks=checks, mode=mode: _call(case, checks, mode))
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - a mode schemathesis cannot generate
                if mode == GenerationMode.POSITIVE:
                    failures[(op.label, "generation")] = f"{op.label}: cannot generate cases: {exc!r}"[:500]
                counts["operations without negative cases"] += mode == GenerationMode.NEGATIVE

    answers = ", ".join(f"{k} {counts[k]}" for k in ("2xx", "3xx", "4xx", "5xx") if counts[k])
    print(f"\nAPI fuzz: {counts['operations']} operations, {counts['cases']} cases ({answers}), "
          f"{counts['failed cases']} failed cases, {len(failures)} distinct failures, "
          f"{time.monotonic() - started:.0f} s")
    assert counts["operations"] == sum(len(ops) for ops in document["paths"].values())
    assert not failures, "\n\n".join(failures.values())


def test_holidays_that_are_no_calendar_date_are_refused(new_tenant):
    """Found by the fuzzing: "0000-01-01" was kept as a holiday, and every later action in the region was a 500."""
    slug, tenant_admin = new_tenant()
    assert tenant_admin.patch(f"/api/v1/tenants/{slug}", json={"holidays": ["2026-08-17"]}).status_code == 200
    for bad in ("0000-01-01", "2026-02-30", "2026-13-01"):
        r = tenant_admin.patch(f"/api/v1/tenants/{slug}", json={"holidays": ["2026-12-25", bad]})
        assert r.status_code == 422, (bad, r.status_code, r.text)
        assert r.json()["errors"][0]["loc"] == ["body", "holidays", 1]
    assert tenant_admin.get(f"/api/v1/tenants/{slug}").json()["holidays"] == ["2026-08-17"]


def test_nul_in_any_path_or_query_parameter_is_a_422(world):
    """Found by the fuzzing (a cursor with a NUL was a 500 from PostgreSQL): NUL is refused in every path and query
    parameter of every route, as it is in bodies, before it reaches a service."""
    import gateway.app  # noqa: F401 - importing the application registers every route module
    from gateway.routes import api

    client = world.region["tenant_admin"]
    wrong, cases = [], 0
    for route in api.routes:
        path_names = re.findall(r"<(?:\w+:)?(\w+)>", route.path)
        for where, name in [*(("path", n) for n in path_names), *(("query", n) for n in route.query)]:
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m, nul=name: "a%00b" if m.group(1) == nul else world.slug,
                          route.path) if where == "path" else re.sub(r"<(?:\w+:)?(\w+)>", world.slug, route.path)
            url = path if where == "path" else f"{path}?{name}=a%00b"
            r = client.request(route.method, url, **world.body_for(route))
            cases += 1
            locs = [e["loc"] for e in r.json().get("errors", [])] if r.status_code == 422 else []
            if [where, name] not in locs:
                wrong.append(f"{route.method} {url}: {r.status_code} {r.text[:150]}")
    assert cases > 40
    assert not wrong, "\n".join(wrong)
