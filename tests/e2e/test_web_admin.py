"""The region admin console, driven as a browser without JavaScript drives it: adopt a service from the national
library, edit it (errors beside the fields, nothing typed lost), preview, publish and archive it; the branding, the
menu and the home page; staff accounts; webhook subscriptions; the dashboard's charts; who may not come in."""
import re
from html import unescape
from html.parser import HTMLParser

from journeys import apply, new_citizen
from support import Browser


class FormReader(HTMLParser):
    """The fields a browser would send from the form posting to ``action``, as it stands on the page."""

    def __init__(self, action: str):
        super().__init__(convert_charrefs=True)
        self.action, self.inside, self.fields = action, False, []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("name") != "csrf":
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button", "file"):
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select, self.options = a.get("name"), []
        elif tag == "option" and self.select is not None:
            self.options.append((a.get("value", ""), "selected" in a))
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), ""

    def handle_data(self, data):
        if self.textarea is not None:
            self.text += data

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "select" and self.select is not None:
            chosen = [v for v, selected in self.options if selected] or [v for v, _ in self.options[:1]]
            self.fields += [(self.select, v) for v in chosen]
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self.fields.append((self.textarea, self.text))
            self.textarea = None
        elif tag == "form":
            self.inside = False


def form_of(html: str, action: str) -> list[tuple[str, str]]:
    reader = FormReader(action)
    reader.feed(html)
    assert reader.fields, f"no form posting to {action}"
    return reader.fields


def changed(fields: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    out = [(k, values[k] if k in values else v) for k, v in fields]
    return out + [(k, v) for k, v in values.items() if k not in dict(fields)]


def value_of(html: str, name: str) -> str:
    m = re.search(rf'<input id="{name}" name="{name}" type="[a-z]+" value="([^"]*)"', html)
    assert m, f"no input {name}"
    return unescape(m.group(1))


def error_beside(html: str, name: str) -> str:
    m = re.search(rf'<span class="error-message" id="{name}-error"><span class="visually-hidden">[^<]*</span>([^<]*)',
                  html)
    assert m, f"no error beside {name}"
    return m.group(1).strip()


def test_an_admin_adopts_edits_previews_publishes_and_archives_a_service(platform, anon, new_tenant):
    slug, admin = new_tenant("31.71")
    b = Browser(platform.base_url, signed_in_as=admin)
    library = b.get(f"/r/{slug}/admin/layanan")
    assert library.status_code == 200 and "Pustaka templat nasional" in library.text and "Adopsi" in library.text

    editor = b.post(f"/r/{slug}/admin/layanan/adopsi", {"template_code": "akta-kelahiran"})
    assert editor.status_code == 200, editor.text
    sid = re.search(rf"/r/{slug}/admin/layanan/([^/?#]+)$", editor.url).group(1)
    action = f"/r/{slug}/admin/layanan/{sid}"
    assert value_of(editor.text, "name_id") == "Akta kelahiran" and value_of(editor.text, "sla_days") == "3"
    assert "Terbitkan" in editor.text and "Arsipkan" in editor.text
    again = b.post(f"/r/{slug}/admin/layanan/adopsi", {"template_code": "akta-kelahiran"})
    assert again.status_code == 409 and "sudah mengadopsi" in again.text

    # a 422: the errors beside the fields, linked from the summary, and everything typed still there
    fields = form_of(editor.text, action)
    bad = b.post(action, changed(fields, name_id="", sla_days="-1", description_en="Typed English text"))
    assert bad.status_code == 422
    assert 'href="#sla_days"' in bad.text and 'href="#name_id"' in bad.text
    assert error_beside(bad.text, "sla_days") == "Paling kecil 0"
    assert error_beside(bad.text, "name_id") == "Wajib diisi"
    assert value_of(bad.text, "sla_days") == "-1" and value_of(bad.text, "name_id") == ""
    assert "Typed English text" in bad.text
    assert b.get(action).text.count("Typed English text") == 0  # nothing was saved

    # a form field added in the blank fieldset, a name and time changed: saved to the draft
    n = int(dict(fields)["n_fields"]) - 1
    saved = b.post(action, changed(fields, name_id="Akta Kelahiran Kota Uji", name_en="Test City Birth Certificate",
                                   sla_days="5", **{f"f{n}_key": "nomor_rumah_sakit", f"f{n}_label_id": "Nomor RS",
                                                    f"f{n}_type": "text"}))
    assert saved.status_code == 200 and "Draf tersimpan" in saved.text, saved.text[-3000:]
    assert value_of(saved.text, "name_id") == "Akta Kelahiran Kota Uji" and value_of(saved.text, "sla_days") == "5"
    assert value_of(saved.text, f"f{n}_key") == "nomor_rumah_sakit"

    preview = b.get(f"{action}/pratinjau")
    assert preview.status_code == 200
    assert "Akta Kelahiran Kota Uji" in preview.text and "5 hari kerja" in preview.text and "Nomor RS" in preview.text
    assert anon.get(f"/r/{slug}/layanan/{sid}").status_code == 404  # a draft is not public

    listed = b.post(f"{action}/terbitkan", {})
    assert listed.status_code == 200 and "Layanan diterbitkan" in listed.text
    assert "Akta Kelahiran Kota Uji" in anon.get(f"/r/{slug}").text
    public = anon.get(f"/r/{slug}/layanan/{sid}")
    assert public.status_code == 200 and "Akta Kelahiran Kota Uji" in public.text and "5 hari kerja" in public.text
    english = Browser(platform.base_url).get(f"/r/{slug}/layanan/{sid}?lang=en")  # its own language cookie
    assert "Test City Birth Certificate" in english.text

    # a citizen applies: the dashboard's charts count it, each chart with its table
    citizen, _ = new_citizen(anon)
    definition = admin.get(f"/api/v1/tenants/{slug}/services/{sid}?lang=all").json()
    assert apply(citizen, {"slug": slug, "service_id": sid, "definition": definition}).status_code == 201
    dashboard = b.get(f"/r/{slug}/admin")
    assert dashboard.status_code == 200 and dashboard.text.count("<svg") >= 3 and "<table>" in dashboard.text
    assert "Permohonan menurut status" in dashboard.text and "Permohonan per layanan" in dashboard.text
    assert '<th scope="row">Diajukan</th><td>1</td>' in dashboard.text
    assert '<th scope="row">Akta Kelahiran Kota Uji</th><td>1</td>' in dashboard.text

    archived = b.post(f"{action}/arsipkan", {})
    assert archived.status_code == 200 and "diarsipkan" in archived.text
    assert anon.get(f"/r/{slug}/layanan/{sid}").status_code == 404



def test_branding_menu_and_home_page_change_what_citizens_see(platform, anon, new_tenant):
    slug, admin = new_tenant("31.72")
    b = Browser(platform.base_url, signed_in_as=admin)
    action = f"/r/{slug}/admin/tampilan"
    page = b.get(action)
    assert page.status_code == 200 and value_of(page.text, "primary_color") == "#0b5394"

    done = b.post(action, {"display_name": "Kota Uji", "primary_color": "#7A1F5C", "logo_url": ""})
    assert done.status_code == 200 and "Tampilan tersimpan" in done.text and "Peringatan kontras" not in done.text
    region = anon.get(f"/r/{slug}").text
    assert "--brand:#7a1f5c" in region and "Kota Uji" in region

    bad = b.post(action, {"display_name": "Kota Uji", "primary_color": "merah", "logo_url": ""})
    assert bad.status_code == 422 and 'href="#primary_color"' in bad.text
    assert "#RRGGBB" in error_beside(bad.text, "primary_color") and value_of(bad.text, "primary_color") == "merah"
    light = b.post(action, {"display_name": "Kota Uji", "primary_color": "#ffdd00", "logo_url": ""})
    assert light.status_code == 200 and "Peringatan kontras" in light.text

    menu = b.get(f"/r/{slug}/admin/menu")
    fields = form_of(menu.text, f"/r/{slug}/admin/menu")
    saved = b.post(f"/r/{slug}/admin/menu", changed(fields, m0_key="sipil", m0_label_id="Catatan Sipil",
                                                    m0_label_en="Civil records", m0_category="kependudukan"))
    assert saved.status_code == 200 and "Menu tersimpan" in saved.text
    assert "Catatan Sipil" in anon.get(f"/r/{slug}").text
    bad = b.post(f"/r/{slug}/admin/menu", changed(form_of(saved.text, f"/r/{slug}/admin/menu"),
                                                  m1_key="Bukan Kunci!", m1_label_id="Lainnya"))
    assert bad.status_code == 422 and 'href="#m1_key"' in bad.text and value_of(bad.text, "m1_label_id") == "Lainnya"

    home = b.get(f"/r/{slug}/admin/beranda")
    fields = form_of(home.text, f"/r/{slug}/admin/beranda")
    saved = b.post(f"/r/{slug}/admin/beranda", changed(fields, d0_kind="announcement", d0_title_id="Libur nasional",
                                                       d0_body_id="Kantor tutup tanggal 17 Agustus."))
    assert saved.status_code == 200 and "Beranda tersimpan" in saved.text
    assert "Kantor tutup tanggal 17 Agustus." in anon.get(f"/r/{slug}").text


def test_staff_subscriptions_and_who_may_enter(platform, anon, admin, new_tenant):
    slug, region_admin = new_tenant("31.73")
    other_slug, other_admin = new_tenant("31.74")
    b = Browser(platform.base_url, signed_in_as=region_admin)

    # staff: a 422 keeps what was typed (never the password), then an account that can sign in, then deactivated
    bad = b.post(f"/r/{slug}/admin/staf", [("full_name", "Verifikator Uji"), ("email", "verif-31-73@example.id"),
                                           ("password", "pendek"), ("roles", "verifier")])
    assert bad.status_code == 422 and 'href="#password"' in bad.text
    assert value_of(bad.text, "email") == "verif-31-73@example.id" and value_of(bad.text, "password") == ""
    made = b.post(f"/r/{slug}/admin/staf", [("full_name", "Verifikator Uji"), ("email", "verif-31-73@example.id"),
                                            ("password", "rahasia-123"), ("roles", "verifier")])
    assert made.status_code == 200 and "Akun staf dibuat" in made.text and "verif-31-73@example.id" in made.text
    twice = b.post(f"/r/{slug}/admin/staf", [("full_name", "Lagi"), ("email", "verif-31-73@example.id"),
                                             ("password", "rahasia-123"), ("roles", "approver")])
    assert twice.status_code == 409 and error_beside(twice.text, "email") == "Sudah ada akun dengan email ini"
    verifier = anon.login("verif-31-73@example.id", "rahasia-123")
    account_id = verifier.get("/api/v1/me").json()["id"]
    assert f"/r/{slug}/admin/staf/{account_id}/nonaktifkan" in made.text

    # who may enter: a verifier and a citizen of nobody's region 403, another region's admin 404, nobody signs in
    assert Browser(platform.base_url, signed_in_as=verifier).get(f"/r/{slug}/admin").status_code == 403
    citizen, _ = new_citizen(anon)
    for path in ("", "/layanan", "/tampilan", "/staf", "/langganan"):
        assert Browser(platform.base_url, signed_in_as=citizen).get(f"/r/{slug}/admin{path}").status_code == 403
        assert Browser(platform.base_url, signed_in_as=other_admin).get(f"/r/{slug}/admin{path}").status_code == 404
    outsider = Browser(platform.base_url, signed_in_as=other_admin).post(
        f"/r/{slug}/admin/tampilan", {"primary_color": "#000000"})
    assert outsider.status_code == 404
    nobody = Browser(platform.base_url).get(f"/r/{slug}/admin", allow_redirects=False)
    assert nobody.status_code == 303 and nobody.headers["Location"].startswith("/masuk?next=")
    assert Browser(platform.base_url, signed_in_as=admin).get(f"/r/{slug}/admin/staf").status_code == 200
    assert Browser(platform.base_url, signed_in_as=other_admin).get(f"/r/{other_slug}/admin").status_code == 200

    gone = b.post(f"/r/{slug}/admin/staf/{account_id}/nonaktifkan", {})
    assert gone.status_code == 200 and "dinonaktifkan" in gone.text and "Nonaktif" in gone.text
    assert anon.post("/api/v1/auth/token", json={"username": "verif-31-73@example.id",
                                                 "password": "rahasia-123"}).status_code == 401

    # a webhook: its secret shown once, then only in the list without it; its delivery log; revoked
    url = "http://127.0.0.1:9/mppi-hook"
    created = b.post(f"/r/{slug}/admin/langganan", {"kind": "webhook", "url": url})
    assert created.status_code == 200, created.text[-2000:]
    secret = re.search(r'<code class="secret-value">(whsec_[^<]+)</code>', created.text).group(1)
    listed = b.get(f"/r/{slug}/admin/langganan")
    assert url in listed.text and secret not in listed.text
    sid = re.search(rf"/r/{slug}/admin/langganan/([^/\"]+)/cabut", listed.text).group(1)
    log = b.get(f"/r/{slug}/admin/langganan/{sid}")
    assert log.status_code == 200 and "Log pengiriman webhook" in log.text
    bad = b.post(f"/r/{slug}/admin/langganan", {"kind": "webhook", "url": "ftp://nowhere"})
    assert bad.status_code == 422 and 'href="#url"' in bad.text and value_of(bad.text, "url") == "ftp://nowhere"
    revoked = b.post(f"/r/{slug}/admin/langganan/{sid}/cabut", {})
    assert revoked.status_code == 200 and "Langganan dicabut" in revoked.text and url not in revoked.text


def test_an_admin_adds_a_service_the_library_lacks_and_publishes_it(platform, anon, new_tenant):
    slug, admin = new_tenant("31.75")
    b = Browser(platform.base_url, signed_in_as=admin)
    refused = b.post(f"/r/{slug}/admin/layanan/baru", {"code": "izin-usaha-mikro", "name": "", "category": "perizinan"})
    assert refused.status_code == 422 and "Isi kode, nama dan kategori" in refused.text
    editor = b.post(f"/r/{slug}/admin/layanan/baru",
                    {"code": "izin-usaha-mikro", "name": "Izin Usaha Mikro Kecil", "category": "perizinan"})
    assert editor.status_code == 200, editor.text
    sid = re.search(rf"/r/{slug}/admin/layanan/([^/?#]+)$", editor.url).group(1)
    assert value_of(editor.text, "name_id") == "Izin Usaha Mikro Kecil"
    twice = b.post(f"/r/{slug}/admin/layanan/baru",
                   {"code": "izin-usaha-mikro", "name": "Lagi", "category": "perizinan"})
    assert twice.status_code == 409 and "sudah dipakai" in twice.text

    published = b.post(f"/r/{slug}/admin/layanan/{sid}/terbitkan", {})
    assert published.status_code == 200, published.text
    page = anon.get(f"/r/{slug}/layanan/{sid}")
    assert page.status_code == 200 and "Izin Usaha Mikro Kecil" in page.text and "KTP-el pemohon" in page.text
