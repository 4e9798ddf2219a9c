"""The staff console and the platform admin's pages, driven as a browser without JavaScript would."""
import uuid

from journeys import apply, make_region, new_citizen
from support import MINIMAL_PDF, Browser, Client


def _actions(html: str) -> set[str]:
    """The actions a page offers: one form per action, each with its hidden ``action`` field."""
    return {a for a in ("verify", "approve", "complete", "reject", "request_revision")
            if f'name="action" value="{a}"' in html}


def _submitted(anon: Client, region: dict) -> dict:
    citizen, _ = new_citizen(anon)
    r = apply(citizen, region)
    assert r.status_code == 201, r.text
    return r.json()


def test_three_staff_roles_take_an_application_through_the_console_each_seeing_only_its_action(anon, admin):
    region = make_region(admin, "19.01")
    slug, app = region["slug"], _submitted(anon, region)
    page = f"/r/{slug}/staf/permohonan/{app['id']}"
    verifier = Browser(admin.base_url, signed_in_as=region["verifier"])
    approver = Browser(admin.base_url, signed_in_as=region["approver"])
    operator = Browser(admin.base_url, signed_in_as=region["operator"])

    inbox = verifier.get(f"/r/{slug}/staf")
    assert inbox.status_code == 200
    assert app["tracking_number"] in inbox.text and f'href="{page}"' in inbox.text and "Diajukan" in inbox.text
    assert "Andi Makkasau" in inbox.text  # the applicant, by name

    seen = verifier.get(page)
    assert seen.status_code == 200
    title = seen.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert app["tracking_number"] in title and "<" not in title  # the title is text, not the page's forms
    assert seen.text.count('class="staff-action"') == 3  # one form per allowed action, each once
    assert _actions(seen.text) == {"verify", "request_revision", "reject"}
    assert ">Verifikasi</button>" in seen.text and "Minta perbaikan</button>" in seen.text
    assert "Nama lengkap anak" in seen.text and "Contoh isian" in seen.text  # the answers under their labels
    assert "Kartu Keluarga (KK) orang tua" in seen.text  # a document under its field's label
    download = verifier.get(f"{page}/berkas/kk_orang_tua")
    assert download.status_code == 200 and download.content == MINIMAL_PDF
    assert "attachment" in download.headers["Content-Disposition"]
    assert verifier.get(f"{page}/berkas/no_such_file").status_code == 404

    early = approver.get(page)
    assert early.status_code == 200 and _actions(early.text) == set()
    refused = approver.post(f"{page}/tindakan", {"action": "approve", "note": ""})
    assert refused.status_code == 403 and "tidak dapat dilakukan sekarang" in refused.text
    assert "Diajukan" in refused.text  # still where it was

    done = verifier.post(f"{page}/tindakan", {"action": "verify", "note": "Berkas lengkap"})
    assert done.status_code == 200 and done.url.endswith("?done=verify")
    assert "Permohonan telah diverifikasi." in done.text and "Berkas lengkap" in done.text
    assert _actions(done.text) == set()
    again = verifier.post(f"{page}/tindakan", {"action": "verify"})
    assert again.status_code == 403 and "tidak dapat dilakukan sekarang" in again.text

    assert _actions(approver.get(page).text) == {"approve", "reject"}
    assert _actions(operator.get(page).text) == set()
    done = approver.post(f"{page}/tindakan", {"action": "approve", "note": ""})
    assert done.status_code == 200 and "Permohonan telah disetujui." in done.text

    english = operator.get(page + "?lang=en")
    assert _actions(english.text) == {"complete"} and ">Complete</button>" in english.text
    done = operator.post(f"{page}/tindakan", {"action": "complete"})
    assert done.status_code == 200 and "The application was completed" in done.text
    assert f"{page}/terbitan" in done.text
    pdf = operator.get(f"{page}/terbitan")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    twice = operator.post(f"{page}/tindakan", {"action": "complete"})
    assert twice.status_code == 409 and "cannot be taken now" in twice.text and "Completed" in twice.text

    operator.get("/?lang=id")
    assert app["tracking_number"] not in operator.get(f"/r/{slug}/staf").text  # the inbox holds open work
    finished = operator.get(f"/r/{slug}/staf", params={"status": "completed"})
    assert app["tracking_number"] in finished.text and "Selesai" in finished.text


def test_a_rejection_needs_a_reason_shown_beside_the_note_and_staff_of_another_region_see_nothing(anon, admin):
    region = make_region(admin, "19.02")
    other = make_region(admin, "19.03")
    slug, app = region["slug"], _submitted(anon, region)
    page = f"/r/{slug}/staf/permohonan/{app['id']}"
    verifier = Browser(admin.base_url, signed_in_as=region["verifier"])

    missing = verifier.post(f"{page}/tindakan", {"action": "reject", "note": "  "})
    assert missing.status_code == 422
    assert 'class="error-summary"' in missing.text and 'href="#note-reject"' in missing.text
    assert 'id="note-reject-error"' in missing.text and "Tulis alasan penolakan" in missing.text
    revision = verifier.post(f"{page}/tindakan", {"action": "request_revision", "note": ""})
    assert revision.status_code == 422 and 'href="#note-request_revision"' in revision.text

    done = verifier.post(f"{page}/tindakan", {"action": "reject", "note": "Surat kelahiran tidak terbaca"})
    assert done.status_code == 200 and "Permohonan telah ditolak." in done.text
    assert "Surat kelahiran tidak terbaca" in done.text and "Ditolak" in done.text and _actions(done.text) == set()

    stranger = Browser(admin.base_url, signed_in_as=other["verifier"])
    assert stranger.get(page).status_code == 404
    assert stranger.get(f"{page}/berkas/kk_orang_tua").status_code == 404
    assert stranger.post(f"{page}/tindakan", {"action": "verify"}).status_code == 404
    assert stranger.get(f"/r/{slug}/staf").status_code == 404

    citizen, _ = new_citizen(anon)
    assert Browser(admin.base_url, signed_in_as=citizen).get(f"/r/{slug}/staf").status_code == 403
    signed_out = Browser(admin.base_url).get(f"/r/{slug}/staf", allow_redirects=False)
    assert signed_out.status_code == 303 and signed_out.headers["Location"].startswith("/masuk?next=")


def test_the_platform_admin_onboards_a_region_through_the_form_and_a_citizen_may_not(anon, admin):
    browser = Browser(admin.base_url, signed_in_as=admin)
    national = browser.get("/platform")
    assert national.status_code == 200 and "Gambaran nasional" in national.text and "IKM" in national.text

    form = browser.get("/platform/daerah/baru")
    assert form.status_code == 200 and 'name="slug"' in form.text and 'name="region_code"' in form.text
    bad = browser.post("/platform/daerah/baru", {"slug": "Bad Slug", "region_code": "99.99", "email": "nope",
                                                 "full_name": "Admin Baru", "password": "short"})
    assert bad.status_code == 422
    for key in ("slug", "email", "password"):
        assert f'href="#{key}"' in bad.text and f'id="{key}-error"' in bad.text
    assert 'value="Admin Baru"' in bad.text  # what was typed comes back
    unknown = browser.post("/platform/daerah/baru", {"slug": "baru-sekali", "region_code": "19.99"})
    assert unknown.status_code == 422 and 'id="region_code-error"' in unknown.text
    assert "bukan kabupaten/kota" in unknown.text

    slug = f"web-{uuid.uuid4().hex[:6]}"
    email = f"admin-{slug}@example.id"
    made = browser.post("/platform/daerah/baru", {"slug": slug, "region_code": "19.04", "email": email,
                                                  "full_name": "Admin Bangka Tengah", "password": "password-123"},
                        allow_redirects=False)
    assert made.status_code == 303 and made.headers["Location"] == f"/r/{slug}"
    home = browser.get(f"/r/{slug}")
    assert home.status_code == 200 and "Bangka Tengah" in home.text
    assert f'href="/r/{slug}"' in anon.get("/").text
    assert f'href="/r/{slug}"' in browser.get("/platform").text
    region_admin = Client(admin.base_url).login(email, "password-123")
    assert Browser(admin.base_url, signed_in_as=region_admin).get(f"/r/{slug}/staf").status_code == 200

    taken = browser.post("/platform/daerah/baru", {"slug": slug, "region_code": "19.04"})
    assert taken.status_code == 409 and 'id="slug-error"' in taken.text and "sudah dipakai" in taken.text
    twice = browser.post("/platform/daerah/baru", {"slug": f"{slug}-dua", "region_code": "19.04"})
    assert twice.status_code == 409 and 'id="region_code-error"' in twice.text

    citizen, _ = new_citizen(anon)
    assert Browser(admin.base_url, signed_in_as=citizen).get("/platform").status_code == 403
    assert Browser(admin.base_url, signed_in_as=citizen).post("/platform/daerah/baru", {"slug": "x"}).status_code == 403
