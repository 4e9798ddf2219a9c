"""Hundreds of malformed requests to the accounts and tenants endpoints: every one gets a clear 4xx, never a 5xx."""
import itertools
import json
import random

import pytest

ENDPOINTS = [
    ("POST", "/api/v1/auth/register", {"nik": "7307014501900001", "full_name": "A", "email": "a@example.id",
                                        "phone": "081234567890", "password": "rahasia-123"}),
    ("POST", "/api/v1/auth/token", {"username": "a@example.id", "password": "x"}),
    ("POST", "/api/v1/tenants", {"slug": "abc", "region_code": "73.07"}),
    ("PATCH", "/api/v1/tenants/{slug}", {"branding": {"primary_color": "#123456"}, "holidays": ["2026-01-02"]}),
    ("POST", "/api/v1/tenants/{slug}/staff", {"email": "s@example.id", "full_name": "S", "password": "password-1",
                                              "roles": ["verifier"]}),
    ("POST", "/api/v1/tenants/{slug}/agencies", {"code": "DPMPTSP", "name": "Dinas"}),
]
WRONG_VALUES = [None, 0, -1, 1.5, True, "", " ", "x" * 10_000, [], {}, ["a"], {"a": 1}, "\u0000", "😀" * 50,
                "9" * 400, "<script>", "../../etc/passwd", "2026-13-45"]
BROKEN_BODIES = [b"", b"{", b"[1,2", b"null", b"[]", b'"string"', b"123", b"\xff\xfe", b"{\"a\": }",
                 b"[" * 100_000 + b"]" * 100_000, b'{"a": NaN}', b"\x00" * 64]


def _mutations(valid: dict, rng: random.Random):
    keys = list(valid)
    for key in keys:
        yield {k: v for k, v in valid.items() if k != key}  # a missing field
        for wrong in WRONG_VALUES:
            yield {**valid, key: wrong}
    yield {**valid, "unexpected": "field"}
    for _ in range(10):
        yield {k: rng.choice(WRONG_VALUES) for k in keys}


@pytest.mark.parametrize("method, path, valid", ENDPOINTS, ids=[e[1] for e in ENDPOINTS])
def test_malformed_bodies_get_4xx_never_5xx(anon, new_tenant, method, path, valid):
    slug, tenant_admin = new_tenant()
    client = tenant_admin if "{slug}" in path or path == "/api/v1/tenants" else anon
    url = path.format(slug=slug)
    rng = random.Random(path)
    answers = []
    for body in _mutations(valid, rng):
        r = client.request(method, url, json=body)
        answers.append((body, r.status_code))
    for raw in BROKEN_BODIES:
        r = client.request(method, url, data=raw, headers={"Content-Type": "application/json"})
        answers.append((raw[:20], r.status_code))
    r = client.request(method, url, data=json.dumps({"x": "y" * 400_000}), headers={"Content-Type": "application/json"})
    answers.append(("huge", r.status_code))
    assert r.status_code == 413
    assert not [(b, s) for b, s in answers if s >= 500], "a 5xx for bad input"
    assert sum(400 <= s < 500 for _, s in answers) > 40


BAD_TOKENS = ["", "Bearer", "Bearer ", "Bearer x", "Bearer a.b.c", "Token abc", "Bearer " + "A" * 20_000,
              "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "Bearer \u00e9\u00e9", "Basic Og=="]


def test_bad_tokens_and_odd_requests_get_4xx(anon):
    answers = []
    for header, (method, path) in itertools.product(BAD_TOKENS, [("GET", "/api/v1/me"), ("POST", "/api/v1/tenants"),
                                                                 ("PATCH", "/api/v1/tenants/sinjai")]):
        try:
            r = anon.request(method, path, headers={"Authorization": header}, json={})
        except ValueError:  # the client itself refuses to send a non-latin-1 header
            continue
        answers.append((header[:20], path, r.status_code))
    for path in ["/api/v1/tenants/%00", "/api/v1/tenants/" + "a" * 5000, "/api/v1/nope", "/api/v1/tenants?limit=abc",
                 "/api/v1/tenants?limit=0", "/api/v1/tenants?limit=101", "/api/v1/tenants?cursor=%ff"]:
        answers.append(("-", path, anon.get(path).status_code))
    answers.append(("-", "DELETE tenants", anon.delete("/api/v1/tenants").status_code))
    bad = [a for a in answers if not 400 <= a[2] < 500 and a[2] != 200]
    assert not bad, bad
    assert len(answers) > 30
