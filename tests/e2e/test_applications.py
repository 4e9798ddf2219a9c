"""Applications end to end: a citizen applies with documents, three staff roles work it through the workflow, the
citizen downloads the issued PDF whose QR code verifies, and answers the survey."""
import io
import re
import time
import uuid

import pytest
import requests
from journeys import apply, make_region, new_citizen
from support import MINIMAL_PDF, Client, fill_form, multipart, wait_for

SERVICE = "akta-kelahiran"


@pytest.fixture(scope="module")
def region(admin):
    """A region with the akta kelahiran service published and its four staff roles."""
    return make_region(admin, "15.01", template=SERVICE)


def citizen(anon: Client) -> Client:
    return new_citizen(anon)[0]


def test_an_application_goes_through_the_default_workflow_and_its_document_verifies(platform, anon, region):
    import pypdfium2
    import zxingcpp

    slug = region["slug"]
    warga = citizen(anon)
    r = apply(warga, region)
    assert r.status_code == 201, r.text
    app = r.json()
    assert (app["status"], app["step"]) == ("submitted", "verification")
    assert app["tracking_number"].count("-") == 2 and len(app["tracking_number"]) == 13
    url = f"/api/v1/tenants/{slug}/applications/{app['id']}"

    def act(client, action, note=None):
        return client.post(url + "/actions", json={"action": action, **({"note": note} if note else {})})

    # out of turn: the approver and the operator may not act at verification (403); the verifier may not complete
    assert act(region["approver"], "approve").status_code == 403
    assert act(region["operator"], "complete").status_code == 403
    assert act(region["verifier"], "complete").json()["code"] == "ACTION_NOT_ALLOWED"
    assert act(warga, "verify").status_code in (403, 404)
    assert region["verifier"].get(url).json()["allowed_actions"] == ["verify", "request_revision", "reject"]

    r = act(region["verifier"], "verify")
    assert (r.json()["status"], r.json()["step"]) == ("in_review", "approval"), r.text
    assert act(region["verifier"], "verify").status_code == 403
    r = act(region["approver"], "approve")
    assert (r.json()["status"], r.json()["step"]) == ("approved", "issuance"), r.text
    assert act(region["approver"], "approve").status_code == 403
    r = act(region["operator"], "complete")
    assert r.json()["status"] == "completed", r.text
    assert act(region["operator"], "complete").json()["code"] == "ACTION_NOT_ALLOWED"

    mine = warga.get(url).json()
    assert [h["to_status"] for h in mine["history"]] == ["submitted", "in_review", "approved", "completed"]
    assert [h["actor_role"] for h in mine["history"]] == ["applicant", "verifier", "approver", "operator"]
    assert mine["history"][0]["from_status"] is None and mine["output"]["url"].endswith("/output")

    pdf = warga.get(mine["output"]["url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    document = pypdfium2.PdfDocument(io.BytesIO(pdf.content))
    codes = [c for page in document for c in zxingcpp.read_barcodes(page.render(scale=3).to_pil())]
    document.close()
    assert codes, "no QR code found on the issued document"
    verify_url = codes[0].text
    assert verify_url.startswith(anon.base_url + "/verify/")
    code = verify_url.rsplit("/", 1)[1]
    answer = anon.get(f"/api/v1/verify/{code}").json()
    assert answer["valid"] is True and answer["tracking_number"] == app["tracking_number"]
    page = anon.get(verify_url.removeprefix(anon.base_url))
    assert page.status_code == 200 and app["tracking_number"] in page.text
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    assert anon.get(f"/api/v1/verify/{forged}").status_code == 404
    assert anon.get("/api/v1/verify/garbage").status_code == 404

    tracked = anon.get(f"/api/v1/track/{app['tracking_number']}").json()
    assert tracked["status"] == "completed" and "form" not in tracked
    assert not re.search(r"(?<![0-9a-f])\d{16}(?![0-9a-f])", str(tracked)), "no NIK when tracking"

    answers = {f"u{i}": 4 for i in range(1, 10)}
    assert warga.post(url + "/survey", json={"answers": answers}).status_code == 201
    assert warga.post(url + "/survey", json={"answers": answers}).json()["code"] == "SURVEY_EXISTS"
    stats = anon.get(f"/api/v1/tenants/{slug}/stats").json()
    assert stats["ikm"]["score"] == 100.0 and stats["ikm"]["grade"] == "A"
    metrics = requests.get(f"http://127.0.0.1:{platform.metrics_ports['applications']}/metrics", timeout=5).text
    assert f'applications_survey_responses_total{{tenant="{slug}"}} 1.0' in metrics
    assert f'applications_survey_points_total{{tenant="{slug}"}} 36.0' in metrics, "nine answers of 4"
    assert stats["applications"]["by_status"]["completed"] >= 1
    national = anon.get("/api/v1/stats").json()
    assert national["regions_live"] >= 1 and national["services_published"] >= 1
    assert national["applications"]["total"] >= 1


def test_revision_loop_and_rejection_with_reason(anon, region):
    warga = citizen(anon)
    app = apply(warga, region).json()
    url = f"/api/v1/tenants/{region['slug']}/applications/{app['id']}"
    r = region["verifier"].post(url + "/actions", json={"action": "request_revision", "note": "Foto KK buram"})
    assert r.json()["status"] == "revision_requested"
    assert warga.get(url).json()["allowed_actions"] == ["resubmit"]
    files = {k: v for k, v in fill_form(region["definition"]["form"]["fields"])[1].items()}
    key = next(iter(files))
    r = warga.post(url + "/actions", **multipart({"action": "resubmit", "note": "Sudah diganti"}, {key: files[key]}))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["step"]) == ("submitted", "verification")
    r = region["verifier"].post(url + "/actions", json={"action": "reject"})
    assert r.status_code == 422, "a rejection needs its reason"
    r = region["verifier"].post(url + "/actions", json={"action": "reject", "note": "Bukan warga daerah ini"})
    assert r.json()["status"] == "rejected"
    assert r.json()["history"][-1]["note"] == "Bukan warga daerah ini"


def test_the_inbox_is_ordered_by_due_date_and_scoped_to_the_region(anon, region, admin):
    warga = citizen(anon)
    for _ in range(2):
        assert apply(warga, region).status_code == 201
    items = region["verifier"].get(f"/api/v1/tenants/{region['slug']}/applications?limit=100").json()["items"]
    dues = [i["sla_due_at"] for i in items]
    assert dues == sorted(dues) and len(items) >= 2
    mine = warga.get("/api/v1/me/applications").json()["items"]
    assert len(mine) == 2 and all(i["tenant"] == region["slug"] for i in mine)


def test_other_regions_and_other_citizens_see_nothing(anon, region, admin):
    warga, other = citizen(anon), citizen(anon)
    app = apply(warga, region).json()
    url = f"/api/v1/tenants/{region['slug']}/applications/{app['id']}"
    slug_b = f"b-{uuid.uuid4().hex[:6]}"
    admin.post("/api/v1/tenants", json={"slug": slug_b, "region_code": "15.02"})
    email = f"verifier-{slug_b}@example.id"
    admin.post(f"/api/v1/tenants/{slug_b}/staff", json={"email": email, "full_name": "V", "password": "password-123",
                                                       "roles": ["verifier"]})
    verifier_b = anon.login(email, "password-123")
    key = app["documents"][0]["key"]
    for client in (verifier_b, other):
        assert client.get(url).status_code == 404
        assert client.get(f"{url}/documents/{key}").status_code == 404
        assert client.post(url + "/actions", json={"action": "verify"}).status_code in (403, 404)
    assert verifier_b.get(f"/api/v1/tenants/{region['slug']}/applications").status_code == 404
    doc = warga.get(f"{url}/documents/{key}")
    assert doc.status_code == 200 and doc.content == MINIMAL_PDF
    assert "attachment" in doc.headers["Content-Disposition"]


def test_an_executable_renamed_pdf_is_refused_and_nothing_is_kept(platform, anon, region):
    warga = citizen(anon)
    fields = region["definition"]["form"]["fields"]
    key = next(f["key"] for f in fields if f["type"] == "file")
    exe = b"MZ\x90\x00" + b"\x00" * 2000
    r = apply(warga, region, files={key: ("akta.pdf", exe, "application/pdf")})
    assert (r.status_code, r.json()["code"]) == (415, "UNSUPPORTED_FILE_TYPE"), r.text
    assert r.json()["errors"][0]["loc"] == ["body", "files", key]
    staged = list((platform.var_dir / "blobs" / "staging").rglob("*")) if (platform.var_dir / "blobs" / "staging"
                                                                          ).exists() else []
    assert not [p for p in staged if p.is_file()], "a refused submission leaves no file behind"
    assert warga.get("/api/v1/me/applications").json()["items"] == []


def test_a_retry_with_the_same_idempotency_key_makes_one_application(platform, anon, region):
    warga = citizen(anon)
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first, again = apply(warga, region, headers=key), apply(warga, region, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert len(warga.get("/api/v1/me/applications").json()["items"]) == 1
    assert apply(warga, region).json()["id"] != first.json()["id"], "without the key, another application"
    staging = platform.var_dir / "blobs" / "staging"
    assert not [p for p in staging.rglob("*") if p.is_file()], "the retry's upload is not left behind"

    url = f"/api/v1/tenants/{region['slug']}/applications/{first.json()['id']}/actions"
    verify = {"Idempotency-Key": f"verify-{uuid.uuid4()}"}
    for _ in range(2):  # without the key the second is a 403: the step is no longer the verifier's
        r = region["verifier"].post(url, json={"action": "verify"}, headers=dict(verify))
        assert (r.status_code, r.json()["status"]) == (200, "in_review"), r.text
    assert [h["action"] for h in r.json()["history"]] == ["submit", "verify"]

    r = region["approver"].post(url, json={"action": "reject", "note": "Bukan warga daerah ini"})
    assert r.json()["status"] == "rejected", r.text
    answers = {"answers": {f"u{i}": 3 for i in range(1, 10)}}
    survey = url.replace("/actions", "/survey")
    answered = {"Idempotency-Key": f"survey-{uuid.uuid4()}"}
    for _ in range(2):
        r = warga.post(survey, json=answers, headers=dict(answered))
        assert r.status_code == 201, r.text
    assert warga.post(survey, json=answers).json()["code"] == "SURVEY_EXISTS", "another request is another answer"

    for bad in ("", "x" * 256, "kunci dengan spasi", "kunci-\u00e9"):
        r = apply(warga, region, headers={"Idempotency-Key": bad.encode("utf-8").decode("latin-1")})
        assert (r.status_code, r.json()["code"]) == (400, "BAD_REQUEST"), (bad, r.text)


def test_bad_fields_get_one_error_each(anon, region):
    warga = citizen(anon)
    fields = region["definition"]["form"]["fields"]
    nik_key = next(f["key"] for f in fields if f["type"] == "nik")
    date_key = next(f["key"] for f in fields if f["type"] == "date")
    r = apply(warga, region, form={nik_key: "7307013102900001", date_key: "2024-02-30"})
    assert r.status_code == 422, r.text
    locs = [e["loc"] for e in r.json()["errors"]]
    assert ["body", "form", nik_key] in locs and ["body", "form", date_key] in locs


def test_a_breached_sla_is_announced_once(platform, anon, region):
    import psycopg2
    from kombu import Connection, Exchange, Queue

    exchange = Exchange("applications.events", type="topic", durable=True)
    queue = Queue(f"test-sla-{uuid.uuid4().hex[:6]}", exchange=exchange, routing_key="application_sla_breached",
                  auto_delete=True)
    with Connection(platform.amqp_uri) as conn:
        bound = queue.bind(conn.channel())
        exchange.bind(conn.default_channel).declare()
        bound.declare()
        warga = citizen(anon)
        app = apply(warga, region).json()
        db = psycopg2.connect(platform.database_urls["applications"])
        with db, db.cursor() as cur:  # the clock has run out: due yesterday
            cur.execute("UPDATE applications SET sla_due_at = now() - interval '1 day' WHERE id = %s", (app["id"],))
        db.close()

        def breached():
            m = bound.get(no_ack=True)
            return m if m and m.payload["data"]["application_id"] == app["id"] else None

        message = wait_for(breached, timeout=20, message="application_sla_breached")
        assert message.payload["tenant"] == region["slug"]
        time.sleep(3)  # absence can only be shown by waiting: more than two SLA checks (every 1 s in tests)
        assert bound.get(no_ack=True) is None, "the breach was announced twice"
    metrics = requests.get(f"http://127.0.0.1:{platform.metrics_ports['applications']}/metrics", timeout=5).text
    assert f'applications_sla_breaches_total{{tenant="{region["slug"]}"}} 1.0' in metrics
