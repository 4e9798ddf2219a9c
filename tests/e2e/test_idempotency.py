"""Every route that makes something, sent again with the same ``Idempotency-Key``, answers with what the first
request made: the same 201 and body, nothing made twice. Without the key a repeat is another request (and meets the
409 of what exists). The same key carries the platform through a request delivered again to a service killed
before it answered (tests/faults, tests/applications/test_redelivered_requests.py). Submissions, actions and the
survey are in test_applications.py."""
import uuid

from journeys import SERIALS
from support import Client


def twice(client: Client, path: str, body: dict) -> tuple[dict, object]:
    """The same request twice with one key (both answers must be the same 201), then once more without a key."""
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first, again = client.post(path, json=body, headers=dict(key)), client.post(path, json=body, headers=dict(key))
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.json() == first.json()
    return first.json(), client.post(path, json=body)


def test_every_create_sent_again_with_its_key_makes_one_thing(admin, anon):
    slug = f"i-{uuid.uuid4().hex[:6]}"
    tenant, without_key = twice(admin, "/api/v1/tenants", {"slug": slug, "region_code": "61.01"})
    assert tenant["slug"] == slug and without_key.json()["code"] == "TENANT_EXISTS"

    email = f"admin-{slug}@example.id"
    staff, without_key = twice(admin, f"/api/v1/tenants/{slug}/staff", {
        "email": email, "full_name": "Admin", "password": "password-123", "roles": ["tenant_admin"]})
    assert without_key.json()["code"] == "ACCOUNT_EXISTS"
    region_admin = Client(admin.base_url).login(email, "password-123")
    assert [s["email"] for s in region_admin.get(f"/api/v1/tenants/{slug}/staff").json()["items"]] == [email]

    service, without_key = twice(region_admin, f"/api/v1/tenants/{slug}/services", {"template_code": "akta-kelahiran"})
    assert without_key.json()["code"] == "SERVICE_EXISTS"
    services = region_admin.get(f"/api/v1/tenants/{slug}/services?status=draft").json()["items"]
    assert [s["id"] for s in services] == [service["id"]]

    agency, without_key = twice(region_admin, f"/api/v1/tenants/{slug}/agencies",
                                {"code": "DISDUKCAPIL", "name": "Dinas Kependudukan dan Pencatatan Sipil"})
    assert agency["code"] == "DISDUKCAPIL" and without_key.status_code == 409

    citizen = {"nik": f"730701450190{next(SERIALS):04d}", "full_name": "Andi Makkasau", "phone": "081234567890",
               "email": f"w-{uuid.uuid4().hex[:8]}@example.id", "password": "rahasia-123"}
    account, without_key = twice(anon, "/api/v1/auth/register", citizen)
    assert without_key.json()["code"] == "ACCOUNT_EXISTS"
    assert anon.login(citizen["email"], "rahasia-123").get("/api/v1/me").json()["id"] == account["id"]


def test_a_key_another_caller_used_tells_nothing_of_what_it_made(anon):
    key = {"Idempotency-Key": "1"}  # a careless client's key, the same for everyone
    made = []
    for _ in range(2):
        citizen = {"nik": f"730701450190{next(SERIALS):04d}", "full_name": "Andi Makkasau", "phone": "081234567890",
                   "email": f"w-{uuid.uuid4().hex[:8]}@example.id", "password": "rahasia-123"}
        r = anon.post("/api/v1/auth/register", json=citizen, headers=dict(key))
        assert r.status_code == 201 and r.json()["email"] == citizen["email"], r.text
        made.append(r.json()["id"])
    assert made[0] != made[1], "another email with the same key is another account, not the first one's answer"
