"""Domain rules end to end: the issued PDF is a service-completion receipt, NIKs of regencies that moved stay valid,
every applicant whose application ended (rejected too) is asked for the SKM, and IKM is reported per period."""
import io

import psycopg2
import pytest
from journeys import apply, make_region, new_citizen, work_through
from support import Browser, Client, wait_for

ANSWERS_4 = {f"u{i}": 4 for i in range(1, 10)}
ANSWERS_2 = {f"u{i}": 2 for i in range(1, 10)}


@pytest.fixture(scope="module")
def region(admin):
    return make_region(admin, "18.05")  # Lampung: WIB, UTC+7


def _reject(region: dict, app: dict) -> None:
    r = region["verifier"].post(f"/api/v1/tenants/{region['slug']}/applications/{app['id']}/actions",
                                json={"action": "reject", "note": "Berkas bukan milik pemohon"})
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text


@pytest.mark.parametrize("district", [
    "647301",  # Kota Tarakan when it was in Kalimantan Timur (before 2012), now 65.71
    "322001",  # a Jawa Barat kabupaten code of before Banten (2000): Jawa Barat had 20, it lists 18 today
    "360401",  # a kecamatan of Kabupaten Serang that went to Kota Serang in 2007
])
def test_a_citizen_registers_with_a_nik_issued_under_a_code_that_has_since_moved(anon, district):
    nik = f"{district}1205900{district[-3:]}"
    r = anon.post("/api/v1/auth/register", json={"nik": nik, "full_name": "Dewi Lestari",
                                                 "email": f"nik-{district}-{id(anon) % 9973}@example.id",
                                                 "phone": "081234567890", "password": "rahasia-123"})
    assert r.status_code == 201, r.text


def test_a_nik_with_a_district_never_issued_is_still_refused(anon):
    r = anon.post("/api/v1/auth/register", json={"nik": "6473991205900001", "full_name": "Dewi Lestari",
                                                 "email": "nik-647399@example.id", "phone": "081234567890",
                                                 "password": "rahasia-123"})
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_FAILED", r.text


def test_a_rejected_application_can_be_rated_and_its_applicant_is_invited(anon, region):
    slug = region["slug"]
    warga, _ = new_citizen(anon)
    app = apply(warga, region).json()
    url = f"/api/v1/tenants/{slug}/applications/{app['id']}"
    early = warga.post(url + "/survey", json={"answers": ANSWERS_4})
    assert early.status_code == 409 and early.json()["code"] == "ACTION_NOT_ALLOWED"  # still open

    _reject(region, app)

    def invitation():
        items = warga.get("/api/v1/me/notifications").json()["items"]
        return [n for n in items if n["type"] == "survey_invitation" and n["application_id"] == app["id"]]

    invited = wait_for(invitation, timeout=20, message="a survey invitation for the rejected application")
    assert len(invited) == 1 and "survei" in invited[0]["body"].lower()
    assert "terbit" not in invited[0]["body"]  # nothing was issued: the message must not say so
    changed = [n for n in warga.get("/api/v1/me/notifications").json()["items"]
               if n["type"] == "application_status_changed" and n["application_id"] == app["id"]]
    assert len(changed) == 1  # the status change is still told once

    browser = Browser(anon.base_url, signed_in_as=warga)
    survey_url = f"/r/{slug}/permohonan/{app['id']}/survei"
    assert survey_url in browser.get(f"/r/{slug}/permohonan/{app['id']}").text
    page = browser.get(survey_url)
    assert page.status_code == 200 and 'for="u1"' in page.text
    thanked = browser.post(survey_url, {f"u{i}": "3" for i in range(1, 10)})
    assert thanked.status_code == 200 and "Terima kasih" in thanked.text
    again = warga.post(url + "/survey", json={"answers": ANSWERS_4})
    assert again.status_code == 409 and again.json()["code"] == "SURVEY_EXISTS"
    assert warga.get(url).json()["survey_answered"] is True


def _answered(region: dict, anon: Client, answers: dict, *, reject: bool) -> tuple[str, Client, dict]:
    warga, _ = new_citizen(anon)
    app = apply(warga, region).json()
    if reject:
        _reject(region, app)
    else:
        work_through(region, app)
    r = warga.post(f"/api/v1/tenants/{region['slug']}/applications/{app['id']}/survey", json={"answers": answers})
    assert r.status_code == 201, r.text
    return app["id"], warga, app


def test_ikm_is_reported_per_quarter_in_the_regions_time(platform, anon, admin):
    region = make_region(admin, "18.06")  # Lampung: WIB, UTC+7
    slug = region["slug"]
    first, warga, completed = _answered(region, anon, ANSWERS_4, reject=False)
    second, _, _ = _answered(region, anon, ANSWERS_2, reject=True)
    db = psycopg2.connect(platform.database_urls["applications"])
    with db, db.cursor() as cur:  # answered in 2024: 31 Mar 23:30 WIB (Q1) and 1 Oct 00:30 WIB (Q4, Q3 in UTC)
        cur.execute("UPDATE surveys SET created_at = '2024-03-31 16:30+00' WHERE application_id = %s", (first,))
        cur.execute("UPDATE surveys SET created_at = '2024-09-30 17:30+00' WHERE application_id = %s", (second,))
    db.close()

    def stats(period: str | None = None) -> dict:
        r = anon.get(f"/api/v1/tenants/{slug}/stats", params={"period": period} if period else None)
        assert r.status_code == 200, r.text
        return r.json()

    q1 = stats("2024-Q1")
    assert q1["period"] == {"key": "2024-Q1", "from": "2024-01-01", "to": "2024-03-31"}
    assert (q1["ikm"]["score"], q1["ikm"]["grade"], q1["ikm"]["respondents"]) == (100.0, "A", 1)
    assert stats("2024-Q3")["ikm"] is None
    q4 = stats("2024-Q4")["ikm"]
    assert (q4["score"], q4["grade"], q4["respondents"]) == (50.0, "D", 1)
    year = stats("2024")
    assert (year["ikm"]["score"], year["ikm"]["grade"], year["ikm"]["respondents"]) == (75.0, "C", 2)
    assert [s["ikm"]["respondents"] for s in year["services"]] == [2]
    current = stats()  # the current year by default: neither response falls in it
    assert current["ikm"] is None and current["period"]["key"] == current["period"]["from"][:4]
    assert current["applications"]["total"] == 2  # volumes are not cut by the survey period

    for bad in ("2024-Q5", "Q1-2024", "24", "2024-q1"):
        r = anon.get(f"/api/v1/tenants/{slug}/stats", params={"period": bad})
        assert r.status_code == 422 and r.json()["code"] == "VALIDATION_FAILED", (bad, r.text)
        assert [e["loc"] for e in r.json()["errors"]] == [["query", "period"]]

    # the completed one's PDF is the service-completion receipt for the product, not the akta itself
    import pypdfium2

    pdf = warga.get(f"/api/v1/tenants/{slug}/applications/{completed['id']}/output")
    text = " ".join(pypdfium2.PdfDocument(io.BytesIO(pdf.content))[0].get_textpage().get_text_range().split())
    assert "TANDA SELESAI LAYANAN" in text and "atas layanan: Kutipan akta kelahiran" in text
    assert text.upper().count("KUTIPAN AKTA KELAHIRAN") == 1
