"""The platform as its users meet it, in a real browser on a 390×844 phone: a citizen applies with a document, three
staff roles work the application through in the staff console, the citizen downloads the issued PDF and answers the
survey; a region admin (on a desktop) adopts and edits a service and a citizen then sees the change."""
import re

from conftest import DESKTOP, PHONE, shoot
from journeys import make_region, new_citizen
from playwright.sync_api import Page, expect

from devtools.sample_forms import MINIMAL_PDF, fill_form


def sign_in(page: Page, email: str, password: str) -> None:
    """On the sign-in page (wherever it was reached from): email, password, go on."""
    expect(page).to_have_url(re.compile(r"/masuk"))
    page.get_by_label("Alamat email").fill(email)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()


def answer(page: Page, fields: list[dict], tmp_path) -> None:
    """Fill the apply form's pages with valid answers, clicking on until the check-your-answers page."""
    values, _ = fill_form(fields)
    pdf = tmp_path / "dokumen.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    while True:
        for f in fields:
            box = page.locator(f"[name='{f['key']}']")
            if box.count() == 0:
                continue  # on another page of the form
            kind, value = f["type"], values.get(f["key"])
            if kind == "file":
                box.set_input_files(str(pdf))
            elif kind == "checkbox":
                box.check()
            elif box.evaluate("e => e.tagName") == "SELECT":
                box.select_option(str(value))
            else:
                box.fill(str(value))
        page.locator("button[name=arah][value=lanjut]").click()
        if page.get_by_role("button", name="Kirim permohonan").count():
            return


def test_a_citizen_on_a_phone_applies_staff_complete_it_and_the_citizen_downloads_and_rates(
        admin, anon, open_browser, tmp_path):
    region = make_region(admin, "73.71", template="retribusi-persampahan")
    slug, sid = region["slug"], region["service_id"]
    _, email = new_citizen(anon)

    citizen = open_browser(PHONE)
    citizen.goto("/")
    shoot(citizen, "phone-1-regions")
    citizen.get_by_label("Cari daerah").fill("makassar")
    citizen.get_by_role("button", name="Cari").click()
    citizen.locator(f"a[href='/r/{slug}']").click()
    shoot(citizen, "phone-2-region-home")
    citizen.locator(f"a[href='/r/{slug}/layanan/{sid}']").first.click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text(region["definition"]["name"]["id"])
    shoot(citizen, "phone-3-service-standard")
    citizen.get_by_role("link", name="Ajukan permohonan").click()
    sign_in(citizen, email, "rahasia-123")
    expect(citizen).to_have_url(re.compile(f"/r/{slug}/layanan/{sid}/ajukan"))
    shoot(citizen, "phone-4-apply-form")
    answer(citizen, region["definition"]["form"]["fields"], tmp_path)
    shoot(citizen, "phone-5-check-answers")
    citizen.get_by_role("button", name="Kirim permohonan").click()
    tracking = citizen.locator(".tracking").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{3}-\d{2}-[0-9A-Z]{6}", tracking), tracking
    shoot(citizen, "phone-6-confirmation")

    desk = open_browser(DESKTOP)  # how the verifier's console looks on a desk, for the README
    desk.goto("/masuk")
    sign_in(desk, region["verifier_email"], "password-123")
    shoot(desk, "desktop-1-staff-inbox")
    desk.get_by_role("link", name=tracking).click()
    shoot(desk, "desktop-2-staff-application")

    for role, button in (("verifier", "Verifikasi"), ("approver", "Setujui"), ("operator", "Selesaikan")):
        staff = open_browser(PHONE)
        staff.goto("/masuk")
        sign_in(staff, region[f"{role}_email"], "password-123")
        expect(staff).to_have_url(re.compile(f"/r/{slug}/staf"))
        staff.get_by_role("link", name=tracking).click()
        actions = staff.locator("form[action$='/tindakan'] button")
        expect(actions.filter(has_text=button)).to_have_count(1)  # its own step's action, none of another's
        assert "Setujui" not in actions.all_inner_texts() or role == "approver"
        staff.get_by_label("Catatan").first.fill(f"{role} ok")
        staff.get_by_role("button", name=button, exact=True).click()
        expect(staff.locator("body")).to_contain_text(f"{role} ok")  # the note is in the history now

    citizen.goto("/permohonan")
    citizen.locator("li.card", has_text=tracking).get_by_role("link").first.click()
    expect(citizen.locator("body")).to_contain_text("operator ok")
    shoot(citizen, "phone-7-application-timeline")
    with citizen.expect_download() as download:
        citizen.get_by_role("link", name="Unduh dokumen (PDF)").click()
    assert open(download.value.path(), "rb").read(5) == b"%PDF-"
    citizen.get_by_role("link", name="Isi survei").click()
    for element in range(1, 10):
        citizen.locator(f"input[name=u{element}][value='4']").check()
    shoot(citizen, "phone-8-survey")
    citizen.get_by_role("button", name="Kirim survei").click()
    expect(citizen.locator("main")).to_contain_text("Terima kasih")

    head = open_browser(DESKTOP)  # the region's admin sees it counted, the survey's IKM graded
    head.goto(f"/r/{slug}/admin")
    sign_in(head, region["tenant_admin_email"], "password-123")
    expect(head.locator("svg").first).to_be_visible()
    expect(head.locator("main")).to_contain_text("100")  # IKM of one survey answered 4 on every element
    shoot(head, "desktop-3-admin-dashboard")


def test_a_region_admin_adopts_and_edits_a_service_and_a_citizen_sees_the_change(admin, open_browser, new_region):
    slug, email = new_region
    page = open_browser(DESKTOP)
    page.goto(f"/r/{slug}/admin")
    sign_in(page, email, "password-123")
    expect(page.locator("svg").first).to_be_visible()
    page.goto(f"/r/{slug}/admin/layanan")
    page.locator("form:has(input[name=template_code][value='akta-kematian']) button").click()
    expect(page).to_have_url(re.compile(f"/r/{slug}/admin/layanan/[0-9a-f-]+$"))
    service_url = page.url
    page.locator("[name=name_id]").fill("Akta Kematian Kilat")
    page.locator("[name=sla_days]").fill("2")
    shoot(page, "desktop-4-admin-service-editor")
    page.get_by_role("button", name="Simpan").first.click()
    page.get_by_role("button", name="Terbitkan").click()
    service_id = service_url.rstrip("/").rsplit("/", 1)[1]

    citizen = open_browser(PHONE)
    citizen.goto(f"/r/{slug}")
    expect(citizen.locator(f"a[href='/r/{slug}/layanan/{service_id}']")).to_have_text("Akta Kematian Kilat")
    citizen.locator(f"a[href='/r/{slug}/layanan/{service_id}']").click()
    expect(citizen.locator("main")).to_contain_text("2 hari kerja")
