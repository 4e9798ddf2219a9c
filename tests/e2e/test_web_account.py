"""A citizen's own pages in the browser: register, sign in and out, follow an application to its issued document and
the survey, the notification inbox, public tracking, and the region home page as the region arranged it."""
import random
import re
import uuid

from journeys import apply, make_region, new_citizen, work_through
from support import Browser, wait_for

from devtools.sample_forms import MINIMAL_PDF


def _nik() -> str:
    return f"7307011505850{random.randint(100, 999)}"  # Sinjai, a man born 15 May 1985


def test_register_through_the_pages_then_land_signed_in_and_sign_out(platform):
    browser = Browser(platform.base_url)
    form = browser.get("/daftar")
    assert form.status_code == 200 and 'for="nik"' in form.text and 'name="csrf"' in form.text
    email = f"web-{uuid.uuid4().hex[:8]}@example.id"
    fields = {"nik": "7307019999", "full_name": "Siti Rahmawati", "email": email, "phone": "081234567891",
              "password": "rahasia-123", "language": "id"}

    bad = browser.post("/daftar", fields)
    assert bad.status_code == 422
    assert 'href="#nik"' in bad.text and 'id="nik-error"' in bad.text and "NIK" in bad.text
    assert 'value="Siti Rahmawati"' in bad.text and f'value="{email}"' in bad.text  # nothing typed is lost

    landed = browser.post("/daftar", {**fields, "nik": _nik()})
    assert landed.status_code == 200 and landed.url.endswith("/permohonan")
    assert "Permohonan saya" in landed.text and "Keluar" in landed.text
    assert "Anda belum mengajukan permohonan." in landed.text

    again = browser.post("/daftar", {**fields, "nik": _nik()})
    assert again.status_code == 422 and "sudah terdaftar" in again.text

    out = browser.post("/keluar", {})
    assert out.status_code == 200 and 'href="/masuk?next=' in out.text and "Keluar" not in out.text
    gone = browser.get("/permohonan", allow_redirects=False)
    assert gone.status_code == 303 and gone.headers["Location"].startswith("/masuk?next=")


def test_sign_in_with_a_wrong_password_shows_the_error_and_keeps_the_email(anon):
    _, email = new_citizen(anon)
    browser = Browser(anon.base_url)
    wrong = browser.post("/masuk", {"email": email, "password": "not-the-password"})
    assert wrong.status_code == 422
    assert "Email atau kata sandi salah" in wrong.text and 'href="#email"' in wrong.text
    assert f'value="{email}"' in wrong.text

    english = browser.post("/masuk?lang=en", {"email": "", "password": ""})
    assert "Enter your email address" in english.text and "Enter your password" in english.text

    right = browser.post("/masuk?lang=id", {"email": email, "password": "rahasia-123", "next": "/notifikasi"})
    assert right.status_code == 200 and right.url.endswith("/notifikasi") and "Keluar" in right.text

    elsewhere = Browser(anon.base_url).post("/masuk", {"email": email, "password": "rahasia-123",
                                                       "next": "https://evil.example/"}, allow_redirects=False)
    assert elsewhere.status_code == 303 and elsewhere.headers["Location"] == "/permohonan"


def test_a_citizen_follows_an_application_to_its_document_and_answers_the_survey(anon, admin):
    region = make_region(admin, "18.01")
    slug = region["slug"]
    citizen, _ = new_citizen(anon)
    submitted = apply(citizen, region)
    assert submitted.status_code == 201, submitted.text
    app = submitted.json()
    browser = Browser(anon.base_url, signed_in_as=citizen)

    waiting = browser.get(f"/r/{slug}/permohonan/{app['id']}")
    assert waiting.status_code == 200 and app["tracking_number"] in waiting.text
    assert "Diajukan" in waiting.text and "Tepat waktu" in waiting.text and "/dokumen" not in waiting.text
    assert "/berkas/" in waiting.text  # the files they sent

    work_through(region, app)
    mine = browser.get("/permohonan")
    assert app["tracking_number"] in mine.text and f'href="/r/{slug}/permohonan/{app["id"]}"' in mine.text
    assert 'class="tag completed"' in mine.text

    detail = browser.get(f"/r/{slug}/permohonan/{app['id']}")
    assert detail.status_code == 200
    for entry in ("Permohonan diajukan", "Berkas diverifikasi", "Disetujui", "Selesai, dokumen terbit",
                  "Verifikator", "Operator", "Sedang diperiksa → Disetujui"):
        assert entry in detail.text, entry
    assert "Selesai tepat waktu" in detail.text
    pdf = browser.get(f"/r/{slug}/permohonan/{app['id']}/dokumen")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert f"/r/{slug}/permohonan/{app['id']}/survei" in detail.text

    survey_url = f"/r/{slug}/permohonan/{app['id']}/survei"
    page = browser.get(survey_url)
    assert page.status_code == 200 and "Penanganan pengaduan, saran dan masukan" in page.text
    assert 'for="u1"' in page.text and "Sangat baik" in page.text
    partial = browser.post(survey_url, {f"u{i}": "3" for i in range(1, 9)})
    assert partial.status_code == 422 and 'href="#u9"' in partial.text and 'id="u9-error"' in partial.text
    assert 'href="#u1"' not in partial.text and 'value="3" checked' in partial.text
    thanked = browser.post(survey_url, {**{f"u{i}": "4" for i in range(1, 10)}, "comment": "Cepat dan ramah"})
    assert thanked.status_code == 200 and "Terima kasih" in thanked.text and app["tracking_number"] in thanked.text
    twice = browser.post(survey_url, {f"u{i}": "4" for i in range(1, 10)})
    assert "sudah Anda isi" in twice.text
    assert survey_url not in browser.get(f"/r/{slug}/permohonan/{app['id']}").text  # answered: not asked again
    stats = anon.get(f"/api/v1/tenants/{slug}/stats").json()
    assert stats["ikm"]["respondents"] == 1

    stranger, _ = new_citizen(anon)
    other = Browser(anon.base_url, signed_in_as=stranger)
    assert other.get(f"/r/{slug}/permohonan/{app['id']}").status_code == 404
    assert other.get(f"/r/{slug}/permohonan/{app['id']}/dokumen").status_code == 404
    assert Browser(anon.base_url).get(f"/r/{slug}/permohonan/{app['id']}",
                                      allow_redirects=False).status_code == 303


def test_the_notification_inbox_lists_and_marks_read(anon, admin):
    region = make_region(admin, "18.02")
    citizen, _ = new_citizen(anon)
    app = apply(citizen, region).json()
    items = wait_for(lambda: citizen.get("/api/v1/me/notifications").json()["items"], message="a notification")
    browser = Browser(anon.base_url, signed_in_as=citizen)
    inbox = browser.get("/notifikasi")
    assert inbox.status_code == 200 and items[0]["title"] in inbox.text
    assert f'href="/r/{region["slug"]}/permohonan/{app["id"]}"' in inbox.text
    assert "Tandai semua sudah dibaca" in inbox.text and "Baru" in inbox.text

    one = browser.post(f"/notifikasi/{items[0]['id']}/baca", {})
    assert one.status_code == 200 and one.url.endswith("/notifikasi")
    assert citizen.get("/api/v1/me/notifications").json()["items"][0]["read_at"]
    everything = browser.post("/notifikasi/baca-semua", {})
    assert "Tandai semua sudah dibaca" not in everything.text and "Baru" not in everything.text

    # tracking, signed out: the status and service, never the applicant
    public = Browser(anon.base_url)
    tracked = public.get(f"/lacak/{app['tracking_number'].lower()}")
    assert tracked.status_code == 200 and app["tracking_number"] in tracked.text and "Diajukan" in tracked.text
    assert "Andi Makkasau" not in tracked.text and "730701450190" not in tracked.text
    assert "Keluar" not in tracked.text
    form = public.get("/lacak", params={"nomor": f" {app['tracking_number']} "})
    assert form.url.endswith(f"/lacak/{app['tracking_number']}") and form.status_code == 200
    unknown = public.get("/lacak/XXX-99-NOPE00")
    assert unknown.status_code == 404 and 'id="nomor"' in unknown.text and "Tidak ada permohonan" in unknown.text
    empty = public.get("/lacak", params={"nomor": ""})
    assert empty.status_code == 422 and 'id="nomor-error"' in empty.text


def test_the_region_home_shows_the_widgets_the_region_arranged(anon, admin):
    region = make_region(admin, "18.03", template="ktp-el-baru")
    slug, sid = region["slug"], region["service_id"]
    staff = Browser(anon.base_url).post("/masuk", {"email": region["verifier_email"], "password": "password-123"},
                                        allow_redirects=False)
    assert staff.headers["Location"] == f"/r/{slug}/staf"  # staff land in their console
    dashboard = [
        {"kind": "announcement", "title": {"id": "Layanan Sabtu dibuka", "en": "Open on Saturdays"},
         "body": {"id": "Kantor MPP buka Sabtu pagi.", "en": "The office opens on Saturday mornings."}},
        {"kind": "featured_services", "title": "Paling dicari", "service_ids": [sid, "no-such-service"]},
        {"kind": "categories"},
        {"kind": "public_stats"},
    ]
    r = region["tenant_admin"].patch(f"/api/v1/tenants/{slug}", json={"dashboard": dashboard})
    assert r.status_code == 200, r.text

    visitor = Browser(anon.base_url)  # its own cookies: another test may have chosen English on ``anon``

    def home_shows_it():
        page = visitor.get(f"/r/{slug}")
        return page if "Layanan Sabtu dibuka" in page.text else None

    home = wait_for(home_shows_it, message="the announcement on the region home")
    text = home.text
    assert "Kantor MPP buka Sabtu pagi." in text
    assert text.index("Layanan Sabtu dibuka") < text.index("Paling dicari") < text.index("Kategori layanan") \
        < text.index("Kinerja pelayanan")
    assert f'href="/r/{slug}/layanan/{sid}"' in text and f'href="/r/{slug}?kategori=kependudukan"' in text
    english = visitor.get(f"/r/{slug}?lang=en").text
    assert "Open on Saturdays" in english and "Service performance" in english

    category = visitor.get(f"/r/{slug}", params={"kategori": "kependudukan", "lang": "id"}).text
    assert "Layanan Sabtu dibuka" not in category and f"/r/{slug}/layanan/{sid}" in category
    assert visitor.get(f"/r/{slug}", params={"menu": "lacak"}, allow_redirects=False).headers["Location"] == "/lacak"


def _shown(value) -> str:
    return ("true" if value else "") if isinstance(value, bool) else str(value)


def _state(page: str) -> str:
    found = re.search(r'name="state" value="([^"]+)"', page)
    assert found, "the page keeps its state in a hidden field"
    return found.group(1)


def test_a_citizen_fixes_and_sends_again_what_the_verifier_sent_back(anon, admin):
    region = make_region(admin, "18.04")
    slug = region["slug"]
    citizen, _ = new_citizen(anon)
    submitted = apply(citizen, region)
    assert submitted.status_code == 201, submitted.text
    app = submitted.json()
    api_url = f"/api/v1/tenants/{slug}/applications/{app['id']}"
    asked = region["verifier"].post(api_url + "/actions", json={
        "action": "request_revision", "note": "Nama anak salah ketik; unggah surat kelahiran yang terbaca."})
    assert asked.status_code == 200 and asked.json()["status"] == "revision_requested", asked.text
    browser = Browser(anon.base_url, signed_in_as=citizen)
    page_url = f"/r/{slug}/permohonan/{app['id']}"
    fix_url = page_url + "/perbaiki"

    detail = browser.get(page_url)
    assert detail.status_code == 200 and "Perlu perbaikan" in detail.text
    assert "Nama anak salah ketik; unggah surat kelahiran yang terbaca." in detail.text
    assert f'href="{fix_url}"' in detail.text and "Perbaiki dan kirim ulang" in detail.text

    form = browser.get(fix_url)
    assert form.status_code == 200 and "Kirim ulang" in form.text and 'name="csrf"' in form.text
    assert 'enctype="multipart/form-data"' in form.text and 'for="note"' in form.text
    assert "Nama anak salah ketik" in form.text  # the staff's note, where the fixing happens
    answers = {k: _shown(v) for k, v in app["form"].items()}
    for key in answers:  # every question, pre-filled with the answers kept
        assert f'id="{key}"' in form.text, key
    assert 'value="7307014501900001"' in form.text and 'value="Contoh isian"' in form.text
    assert 'value="2024-01-15"' in form.text and f'value="{answers["berat_bayi_gram"]}"' in form.text
    assert "Berkas saat ini:" in form.text and "surat_kelahiran.pdf" in form.text
    english = Browser(anon.base_url, signed_in_as=citizen).get(fix_url + "?lang=en")
    assert "Fix and send again" in english.text and "Send again" in english.text

    # a bad NIK and an emptied required text come back beside their fields, nothing typed lost, the new file kept
    new_pdf = MINIMAL_PDF + b"% replaced\n"
    bad = browser.post(fix_url, {**answers, "nama_anak": "", "nik_ibu": "12345", "no_kk": "7307010101010001",
                                 "note": "Sudah diperbaiki"},
                       files={"surat_kelahiran": ("surat-baru.pdf", new_pdf, "application/pdf")})
    assert bad.status_code == 422, bad.text[:2000]
    assert 'href="#nama_anak"' in bad.text and 'id="nama_anak-error"' in bad.text
    assert 'href="#nik_ibu"' in bad.text and 'id="nik_ibu-error"' in bad.text and "16 angka" in bad.text
    assert 'value="12345"' in bad.text and 'value="7307010101010001"' in bad.text and "Sudah diperbaiki" in bad.text
    assert "Berkas baru:" in bad.text and "surat-baru.pdf" in bad.text
    assert citizen.get(api_url).json()["status"] == "revision_requested"

    done = browser.post(fix_url, {**answers, "nama_anak": "Budi Santoso", "no_kk": "7307010101010001",
                                  "note": "Sudah diperbaiki", "state": _state(bad.text)})
    assert done.status_code == 200 and done.url.endswith(page_url + "?dikirim-ulang=1"), done.text[:2000]
    assert "Permohonan telah dikirim ulang" in done.text and "Dikirim ulang" in done.text
    assert "Sudah diperbaiki" in done.text and f'href="{fix_url}"' not in done.text

    after = citizen.get(api_url).json()
    assert after["status"] == "submitted" and after["form"]["nama_anak"] == "Budi Santoso"
    assert after["form"]["no_kk"] == "7307010101010001" and after["form"]["nik_ibu"] == "7307014501900001"
    assert after["history"][-1]["action"] == "resubmit" and after["history"][-1]["note"] == "Sudah diperbaiki"
    docs = {d["key"]: d for d in after["documents"]}
    assert docs["surat_kelahiran"]["filename"] == "surat-baru.pdf" and docs["ktp_ibu"]["filename"] == "ktp_ibu.pdf"
    sent = citizen.get(api_url + "/documents/surat_kelahiran")
    assert sent.status_code == 200 and sent.content == new_pdf
    gone = browser.get(fix_url, allow_redirects=False)  # nothing to fix any more
    assert gone.status_code == 303 and gone.headers["Location"] == page_url

    # a second round: a file the service refuses comes back beside its field; without files it goes as JSON
    assert region["verifier"].post(api_url + "/actions", json={"action": "request_revision",
                                                                 "note": "Isi berat bayi."}).status_code == 200
    fixed = {k: _shown(v) for k, v in after["form"].items()}
    refused = browser.post(fix_url, {**fixed, "berat_bayi_gram": "3200"},
                           files={"ktp_ibu": ("ktp.pdf", b"just some text, not a PDF", "application/pdf")})
    assert refused.status_code == 422 and 'id="ktp_ibu-error"' in refused.text and 'href="#ktp_ibu"' in refused.text
    assert 'value="3200"' in refused.text
    again = browser.post(fix_url, {**fixed, "berat_bayi_gram": "3200", "state": _state(refused.text)})
    assert again.status_code == 200 and "Permohonan telah dikirim ulang" in again.text
    final = citizen.get(api_url).json()
    assert final["status"] == "submitted" and final["form"]["berat_bayi_gram"] == 3200
    assert [h["action"] for h in final["history"]].count("resubmit") == 2
    assert {d["key"]: d for d in final["documents"]}["ktp_ibu"]["filename"] == "ktp_ibu.pdf"

    stranger, _ = new_citizen(anon)
    assert Browser(anon.base_url, signed_in_as=stranger).get(fix_url).status_code == 404
