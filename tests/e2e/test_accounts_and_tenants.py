"""Accounts and tenants through the gateway against the real services, RabbitMQ and PostgreSQL."""
import uuid

import pytest
from support import Client

GOOD_NIK = "7307014501900001"  # Sinjai district 73.07.01, a woman born 5 Jan 1990, serial 0001


def _register(anon: Client, nik: str, email: str | None = None):
    return anon.post("/api/v1/auth/register", json={
        "nik": nik, "full_name": "Andi Makkasau", "email": email or f"{uuid.uuid4().hex[:10]}@example.id",
        "phone": "081234567890", "password": "rahasia-123"})


def _problem(r, status: int, code: str):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status
    return body


def test_platform_admin_onboards_regions_with_names_kinds_and_timezones(admin):
    r = admin.post("/api/v1/tenants", json={"slug": "sinjai", "region_code": "73.07"})
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["name"], t["kind"], t["timezone"]) == ("Kabupaten Sinjai", "kabupaten", "Asia/Makassar")

    r = admin.post("/api/v1/tenants", json={"slug": "kota-jayapura", "region_code": "91.71"})
    assert r.status_code == 201, r.text
    assert (r.json()["kind"], r.json()["timezone"]) == ("kota", "Asia/Jayapura")

    body = _problem(admin.post("/api/v1/tenants", json={"slug": "nowhere", "region_code": "99.99"}),
                    422, "UNKNOWN_REGION")
    assert body["errors"][0]["loc"][-1] == "region_code"

    _problem(admin.post("/api/v1/tenants", json={"slug": "sinjai-lagi", "region_code": "73.07"}), 409, "TENANT_EXISTS")
    _problem(admin.post("/api/v1/tenants", json={"slug": "sinjai", "region_code": "73.08"}), 409, "TENANT_EXISTS")

    r = admin.get("/api/v1/tenants/sinjai")
    assert r.status_code == 200 and r.json()["branding"]["display_name"] == "Kabupaten Sinjai"
    slugs = {t["slug"] for t in admin.get("/api/v1/tenants?limit=100").json()["items"]}
    assert {"sinjai", "kota-jayapura"} <= slugs


def test_only_a_platform_admin_creates_tenants(anon, new_tenant):
    _problem(anon.post("/api/v1/tenants", json={"slug": "abc", "region_code": "73.07"}), 401, "UNAUTHENTICATED")
    _, tenant_admin = new_tenant()
    _problem(tenant_admin.post("/api/v1/tenants", json={"slug": "abcd", "region_code": "73.06"}), 403, "FORBIDDEN")


@pytest.mark.parametrize("nik, why", [
    ("7307013102900001", "31 February"),
    ("7307017102900001", "a woman's day 71 in February (31 + 40)"),
    ("7307014102900001", "41 - 40 = day 1 is fine, so make it day 72"),
    ("7307010101900000", "serial 0000"),
    ("9999010101900001", "unknown region"),
    ("730701010190001", "15 digits"),
    ("73070101019000012", "17 digits"),
    ("73070101019O0001", "a letter"),
])
def test_registration_refuses_impossible_niks(anon, nik, why):
    if "day 72" in why:
        nik = "7307017202900001"
    body = _problem(_register(anon, nik), 422, "VALIDATION_FAILED")
    assert any(e["loc"][-1] == "nik" for e in body["errors"]), (why, body)


def test_citizen_registers_signs_in_and_sees_themself(anon):
    email = f"warga-{uuid.uuid4().hex[:6]}@example.id"
    nik = f"7307014501{uuid.uuid4().int % 90 + 10:02d}{uuid.uuid4().int % 9000 + 1000:04d}"
    r = _register(anon, nik, email)
    assert r.status_code == 201, r.text
    assert r.json()["roles"] == ["citizen"] and r.json()["email"] == email

    _problem(_register(anon, "7307014501900002", email.upper()), 409, "ACCOUNT_EXISTS")
    _problem(_register(anon, nik), 409, "ACCOUNT_EXISTS")  # the NIK is taken: the same answer

    _problem(anon.post("/api/v1/auth/token", json={"username": email, "password": "wrong-password"}),
             401, "INVALID_CREDENTIALS")
    me = anon.login(email, "rahasia-123").get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == email and me.json()["roles"] == ["citizen"] and me.json()["tenant"] is None


def test_a_tenant_admin_cannot_reach_another_region(new_tenant):
    slug_a, admin_a = new_tenant()
    slug_b, admin_b = new_tenant()
    staff = {"email": f"v-{uuid.uuid4().hex[:6]}@example.id", "full_name": "Verifier", "password": "password-123",
             "roles": ["verifier"]}
    _problem(admin_a.post(f"/api/v1/tenants/{slug_b}/staff", json=staff), 404, "NOT_FOUND")
    _problem(admin_a.patch(f"/api/v1/tenants/{slug_b}", json={"branding": {"primary_color": "#112233"}}),
             404, "NOT_FOUND")
    _problem(admin_a.get(f"/api/v1/tenants/{slug_b}/staff"), 404, "NOT_FOUND")

    r = admin_a.post(f"/api/v1/tenants/{slug_a}/staff", json=staff)
    assert r.status_code == 201, r.text
    verifier = Client(admin_a.base_url).login(staff["email"], staff["password"])
    _problem(verifier.patch(f"/api/v1/tenants/{slug_a}", json={"name": "X"}), 403, "FORBIDDEN")

    r = admin_a.patch(f"/api/v1/tenants/{slug_a}", json={"branding": {"primary_color": "#112233"},
                                                         "holidays": ["2026-12-24"]})
    assert r.status_code == 200, r.text
    assert r.json()["branding"]["primary_color"] == "#112233"
    assert admin_b.get(f"/api/v1/tenants/{slug_a}").json()["holidays"] == ["2026-12-24"]


def test_garbage_token_gets_401(anon):
    for header in ["Bearer garbage", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "bearer " + "x" * 5000]:
        _problem(anon.get("/api/v1/me", headers={"Authorization": header}), 401, "UNAUTHENTICATED")
    _problem(anon.get("/api/v1/me"), 401, "UNAUTHENTICATED")


def test_removed_staff_can_no_longer_sign_in_or_use_their_token(anon, new_tenant):
    slug, tenant_admin = new_tenant()
    email = f"op-{uuid.uuid4().hex[:6]}@example.id"
    r = tenant_admin.post(f"/api/v1/tenants/{slug}/staff", json={
        "email": email, "full_name": "Operator", "password": "password-123", "roles": ["operator"]})
    staff_id = r.json()["id"]
    operator = anon.login(email, "password-123")
    assert operator.get("/api/v1/me").status_code == 200

    assert tenant_admin.delete(f"/api/v1/tenants/{slug}/staff/{staff_id}").status_code == 204
    _problem(anon.post("/api/v1/auth/token", json={"username": email, "password": "password-123"}),
             401, "INVALID_CREDENTIALS")
    _problem(operator.get("/api/v1/me"), 401, "UNAUTHENTICATED")
    listed = tenant_admin.get(f"/api/v1/tenants/{slug}/staff").json()["items"]
    assert [s["active"] for s in listed if s["id"] == staff_id] == [False]


def test_agencies_are_listed_per_region(anon, new_tenant):
    slug, tenant_admin = new_tenant()
    r = tenant_admin.post(f"/api/v1/tenants/{slug}/agencies", json={"code": "DISDUKCAPIL",
                                                                     "name": "Dinas Kependudukan dan Pencatatan Sipil"})
    assert r.status_code == 201, r.text
    _problem(tenant_admin.post(f"/api/v1/tenants/{slug}/agencies", json={"code": "DISDUKCAPIL", "name": "x"}),
             409, "AGENCY_EXISTS")
    assert [a["code"] for a in anon.get(f"/api/v1/tenants/{slug}/agencies").json()["items"]] == ["DISDUKCAPIL"]
    _problem(anon.get("/api/v1/tenants/no-such-region/agencies"), 404, "NOT_FOUND")


def test_openapi_describes_the_routes(anon):
    doc = anon.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "post" in doc["paths"]["/api/v1/tenants"] and "patch" in doc["paths"]["/api/v1/tenants/{slug}"]
    schema = doc["components"]["schemas"]["Register"]
    assert set(schema["required"]) >= {"nik", "full_name", "email", "phone", "password"}
