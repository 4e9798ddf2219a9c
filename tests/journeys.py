"""Building blocks of end-to-end journeys: a region with a published service and its staff, citizens, submissions."""
import itertools
import random
import uuid

from support import Client

from devtools.sample_forms import fill_form, multipart

SERIALS = itertools.count(random.randint(1000, 8000))


def make_region(admin: Client, region_code: str, template: str = "akta-kelahiran") -> dict:
    """A fresh region with ``template`` published and one staff account per role."""
    slug = f"r-{uuid.uuid4().hex[:6]}"
    r = admin.post("/api/v1/tenants", json={"slug": slug, "region_code": region_code})
    assert r.status_code == 201, r.text
    staff = {}
    for role in ("tenant_admin", "verifier", "approver", "operator"):
        email = f"{role.replace('_', '-')}-{slug}@example.id"
        r = admin.post(f"/api/v1/tenants/{slug}/staff", json={"email": email, "full_name": role.title(),
                                                              "password": "password-123", "roles": [role]})
        assert r.status_code == 201, r.text
        staff[role] = Client(admin.base_url).login(email, "password-123")
        staff[f"{role}_email"] = email
    r = staff["tenant_admin"].post(f"/api/v1/tenants/{slug}/services", json={"template_code": template})
    sid = r.json()["id"]
    assert staff["tenant_admin"].post(f"/api/v1/tenants/{slug}/services/{sid}/publish").status_code == 200
    definition = staff["tenant_admin"].get(f"/api/v1/tenants/{slug}/services/{sid}?lang=all").json()
    return {"slug": slug, "service_id": sid, "definition": definition, **staff}


def new_citizen(anon: Client, *, language: str = "id") -> tuple[Client, str]:
    email = f"w-{uuid.uuid4().hex[:8]}@example.id"
    nik = f"730701450190{next(SERIALS):04d}"  # Sinjai, a woman born 5 January 1990, a fresh serial
    r = anon.post("/api/v1/auth/register", json={"nik": nik, "full_name": "Andi Makkasau", "email": email,
                                                 "phone": "081234567890", "password": "rahasia-123",
                                                 "language": language})
    assert r.status_code == 201, r.text
    return anon.login(email, "rahasia-123"), email


def apply(client: Client, region: dict, headers: dict | None = None, **overrides):
    form, files = fill_form(region["definition"]["form"]["fields"])
    form.update(overrides.pop("form", {}))
    files.update(overrides.pop("files", {}))
    return client.post(f"/api/v1/tenants/{region['slug']}/applications", headers=dict(headers or {}),
                       **multipart({"service_id": region["service_id"], "form": form}, files))


def work_through(region: dict, app: dict) -> dict:
    """The default workflow by its three staff roles: verify, approve, complete."""
    url = f"/api/v1/tenants/{region['slug']}/applications/{app['id']}/actions"
    for role, action in (("verifier", "verify"), ("approver", "approve"), ("operator", "complete")):
        r = region[role].post(url, json={"action": action})
        assert r.status_code == 200, r.text
    return r.json()
