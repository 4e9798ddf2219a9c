"""The catalogue through the gateway: a region adopts, edits, publishes and archives; citizens read and search."""
import time

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from support import Client, wait_for

from devtools.platform import free_port


@pytest.fixture(scope="module")
def region(new_tenant_module):
    return new_tenant_module()


@pytest.fixture(scope="module")
def new_tenant_module(admin):
    import uuid

    codes = iter(["14.01", "14.02", "14.03", "14.04", "14.05", "14.06"])

    def make():
        slug = f"c-{uuid.uuid4().hex[:8]}"
        assert admin.post("/api/v1/tenants", json={"slug": slug, "region_code": next(codes)}).status_code == 201
        email = f"admin-{slug}@example.id"
        r = admin.post(f"/api/v1/tenants/{slug}/staff", json={"email": email, "full_name": "Admin",
                                                              "password": "password-123", "roles": ["tenant_admin"]})
        assert r.status_code == 201, r.text
        return slug, Client(admin.base_url).login(email, "password-123")

    return make


def _adopt_and_publish(client: Client, slug: str, code: str) -> dict:
    r = client.post(f"/api/v1/tenants/{slug}/services", json={"template_code": code})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "draft" and r.json()["version"] == 1
    r = client.post(f"/api/v1/tenants/{slug}/services/{r.json()['id']}/publish")
    assert r.status_code == 200, r.text
    return r.json()


def test_a_region_onboards_by_adopting_twenty_templates(anon, admin, new_tenant_module):
    slug, tenant_admin = new_tenant_module()
    templates = anon.get("/api/v1/templates").json()
    assert len(templates) >= 30 and len({t["category"] for t in templates}) >= 6
    started = time.monotonic()
    for t in templates[:20]:
        assert _adopt_and_publish(tenant_admin, slug, t["code"])["status"] == "published"
    elapsed = time.monotonic() - started
    listed = anon.get(f"/api/v1/tenants/{slug}/services?limit=100").json()["items"]
    assert sorted(s["code"] for s in listed) == sorted(t["code"] for t in templates[:20])
    assert all(isinstance(s["name"], str) for s in listed), "names are read in one language"
    print(f"onboarding 20 services took {elapsed:.2f} s")


def test_editing_a_published_service_leaves_version_one_unchanged(platform, anon, region):
    slug, tenant_admin = region
    v1 = _adopt_and_publish(tenant_admin, slug, "akta-kelahiran")
    sid = v1["id"]
    v1_full = tenant_admin.get(f"/api/v1/tenants/{slug}/services/{sid}?version=1&lang=all").json()

    r = tenant_admin.patch(f"/api/v1/tenants/{slug}/services/{sid}", json={"standard": {"sla_days": 1}})
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["status"]) == (2, "draft")
    r = tenant_admin.patch(f"/api/v1/tenants/{slug}/services/{sid}", json={"mode": "visit"})
    assert r.json()["version"] == 2, "a second edit changes the same draft"
    assert anon.get(f"/api/v1/tenants/{slug}/services/{sid}").json()["version"] == 1, "citizens still see v1"

    r = tenant_admin.post(f"/api/v1/tenants/{slug}/services/{sid}/publish")
    assert (r.json()["version"], r.json()["standard"]["sla_days"], r.json()["mode"]) == (2, 1, "visit")
    assert tenant_admin.get(f"/api/v1/tenants/{slug}/services/{sid}?version=1&lang=all").json() == {
        **v1_full, "status": "published"}
    assert anon.get(f"/api/v1/tenants/{slug}/services/{sid}").json()["version"] == 2

    # the applications service keeps its own copy of each version, for the applications made against it
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=10) as rpc:
        kept_v1 = wait_for(lambda: rpc.applications.get_service_version(slug, sid, 1), message="v1 kept")
        wait_for(lambda: (rpc.applications.get_service_version(slug, sid) or {}).get("version") == 2,
                 message="v2 open for new applications")
    assert kept_v1["standard"] == v1_full["standard"] and kept_v1["version"] == 1


@pytest.mark.parametrize("mutate, where", [
    (lambda d: d["form"]["fields"].append({"key": "ttd", "label": "Tanda tangan", "type": "signature"}),
     ["form", "fields", -1, "type"]),
    (lambda d: d["form"]["fields"].append(dict(d["form"]["fields"][0])), ["form", "fields", -1, "key"]),
    (lambda d: d["workflow"]["steps"].pop(), ["workflow", "steps"]),
    (lambda d: d["workflow"]["steps"][0].update(roles=[]), ["workflow", "steps", 0, "roles"]),
])
def test_a_broken_definition_is_refused_naming_the_place(anon, region, mutate, where):
    slug, tenant_admin = region
    definition = anon.get("/api/v1/templates/akta-kematian").json()
    definition["code"] = f"custom-{len(where)}-{where[-1]}".replace("_", "-")
    mutate(definition)
    r = tenant_admin.post(f"/api/v1/tenants/{slug}/services", json={"definition": definition})
    assert r.status_code == 422, r.text
    n = len(definition["form"]["fields"]) - 1
    expected = ["body", "definition", *[n if p == -1 else p for p in where]]
    assert any(e["loc"][:len(expected)] == expected for e in r.json()["errors"]), r.json()["errors"]


def test_a_code_the_region_has_is_refused_and_unknown_templates_are_404(region):
    slug, tenant_admin = region
    tenant_admin.post(f"/api/v1/tenants/{slug}/services", json={"template_code": "skck"})
    r = tenant_admin.post(f"/api/v1/tenants/{slug}/services", json={"template_code": "skck"})
    assert (r.status_code, r.json()["code"]) == (409, "SERVICE_EXISTS")
    r = tenant_admin.post(f"/api/v1/tenants/{slug}/services", json={"template_code": "skck", "code": "skck-2"})
    assert r.status_code == 201
    r = tenant_admin.post(f"/api/v1/tenants/{slug}/services", json={"template_code": "no-such-template"})
    assert r.status_code == 404


@pytest.mark.parametrize("q, expected", [
    ("ktp", "ktp-el"), ("izin bangunan", "pbg"), ("akta lahir", "akta-kelahiran"), ("AKTA KELAHIRAN", "akta-kelahiran"),
])
def test_search_understands_indonesian_abbreviations_and_synonyms(anon, searchable, q, expected):
    slug = searchable
    found = anon.get(f"/api/v1/tenants/{slug}/services", params={"q": q}).json()["items"]
    assert found and found[0]["code"].startswith(expected), [s["code"] for s in found]


def test_perijinan_finds_the_perizinan_category(anon, searchable):
    found = anon.get(f"/api/v1/tenants/{searchable}/services", params={"q": "perijinan"}).json()["items"]
    assert found and all(s["category"] == "perizinan" for s in found[:3])


@pytest.fixture(scope="module")
def searchable(anon, new_tenant_module):
    slug, tenant_admin = new_tenant_module()
    codes = {t["code"] for t in anon.get("/api/v1/templates").json()}
    wanted = [c for c in codes if c.startswith(("ktp-el", "pbg", "akta-", "skck", "slf", "izin", "sip-"))]
    for code in wanted:
        _adopt_and_publish(tenant_admin, slug, code)
    return slug


def test_the_menu_decides_what_each_entry_lists(anon, region):
    slug, tenant_admin = region
    published = anon.get(f"/api/v1/tenants/{slug}/services?limit=100").json()["items"]
    featured = [published[0]["id"]]
    r = tenant_admin.patch(f"/api/v1/tenants/{slug}", json={"menu": [
        {"key": "dukcapil", "label": {"id": "Kependudukan", "en": "Civil registry"}, "category": "kependudukan"},
        {"key": "unggulan", "label": "Layanan unggulan", "service_ids": featured}]})
    assert r.status_code == 200, r.text
    dukcapil = anon.get(f"/api/v1/tenants/{slug}/services?menu=dukcapil").json()["items"]
    assert dukcapil and all(s["category"] == "kependudukan" for s in dukcapil)
    assert [s["id"] for s in anon.get(f"/api/v1/tenants/{slug}/services?menu=unggulan").json()["items"]] == featured
    assert anon.get(f"/api/v1/tenants/{slug}/services?menu=nope").status_code == 404
    assert anon.get(f"/api/v1/tenants/{slug}", headers={"Accept-Language": "en"}).json()["menu"][0]["label"] == \
        "Civil registry"


def test_archiving_takes_a_service_off_the_public_list_and_staff_still_see_it(anon, region):
    slug, tenant_admin = region
    service = _adopt_and_publish(tenant_admin, slug, "sktm")
    r = tenant_admin.post(f"/api/v1/tenants/{slug}/services/{service['id']}/archive")
    assert r.status_code == 200 and r.json()["status"] == "archived"
    codes = [s["code"] for s in anon.get(f"/api/v1/tenants/{slug}/services?limit=100").json()["items"]]
    assert "sktm" not in codes
    assert anon.get(f"/api/v1/tenants/{slug}/services/{service['id']}").status_code == 404
    archived = tenant_admin.get(f"/api/v1/tenants/{slug}/services?status=archived").json()["items"]
    assert [s["code"] for s in archived] == ["sktm"]
    assert anon.get(f"/api/v1/tenants/{slug}/services?status=archived").status_code == 401


def test_english_is_served_when_asked(anon, region):
    slug, tenant_admin = region
    service = _adopt_and_publish(tenant_admin, slug, "akta-kematian")
    id_name = anon.get(f"/api/v1/tenants/{slug}/services/{service['id']}").json()["name"]
    en_name = anon.get(f"/api/v1/tenants/{slug}/services/{service['id']}", headers={"Accept-Language": "en"}).json()
    assert id_name != en_name["name"] and isinstance(en_name["name"], str)
    assert isinstance(en_name["standard"]["procedure"][0], str)


def test_a_change_reaches_a_second_gateway_within_seconds(platform, anon, region):
    slug, tenant_admin = region
    port = free_port()
    platform.start_gateway("gateway-2", port=port)
    try:
        second = Client(f"http://127.0.0.1:{port}")
        platform.wait_ready(base_url=second.base_url)
        service = _adopt_and_publish(tenant_admin, slug, "kartu-keluarga-baru")
        wait_for(lambda: second.get(f"/api/v1/tenants/{slug}/services/{service['id']}").status_code == 200,
                 timeout=5, message="the published service on the second gateway")
        r = tenant_admin.patch(f"/api/v1/tenants/{slug}/services/{service['id']}", json={"standard": {"sla_days": 2}})
        assert r.status_code == 200
        tenant_admin.post(f"/api/v1/tenants/{slug}/services/{service['id']}/publish")
        wait_for(lambda: second.get(f"/api/v1/tenants/{slug}/services/{service['id']}").json()["version"] == 2,
                 timeout=5, message="version 2 on the second gateway")
        tenant_admin.patch(f"/api/v1/tenants/{slug}", json={"branding": {"primary_color": "#123123"}})
        wait_for(lambda: second.get(f"/api/v1/tenants/{slug}").json()["branding"]["primary_color"] == "#123123",
                 timeout=5, message="the tenant change on the second gateway")
    finally:
        platform.stop("gateway-2")
