"""Applying in the browser without JavaScript: the form a page at a time, check your answers, send, and the
confirmation with the tracking number; errors come back beside their fields with everything typed kept."""
import html
import re

import pytest
from journeys import make_region, new_citizen
from support import MINIMAL_PDF, Browser, fill_form

EXE = b"MZ\x90\x00" + b"\x00" * 2000


@pytest.fixture(scope="module")
def region(admin):
    return make_region(admin, "17.01", template="ktp-el-baru")  # 4 questions, then 2 documents


def apply_url(region: dict) -> str:
    return f"/r/{region['slug']}/layanan/{region['service_id']}/ajukan"


def form_of(page: str) -> tuple[str, str, set[str]]:
    """The apply form of a page: its action, the signed answers so far, the names of its questions."""
    found = re.search(r'<form method="post" action="([^"]*/ajukan\?step=[^"]+)"(.*?)</form>', page, re.S)
    assert found, page[:3000]
    body = found.group(2)
    state = re.search(r'name="state" value="([^"]+)"', body).group(1)
    return html.unescape(found.group(1)), state, set(re.findall(r'name="([a-z][a-z0-9_]*)"', body))


def answer_pages(browser: Browser, url: str, fields: list[dict], form: dict, files: dict):
    """Answer every page of the form with ``form``/``files`` until the check-your-answers page."""
    page = browser.get(url)
    assert page.status_code == 200, page.text[:2000]
    for _ in range(20):
        if "?step=periksa" in page.text:
            return page
        action, state, names = form_of(page.text)
        data = [("state", state)]
        for key in names & set(form):
            value = form[key]
            if value is True:
                data.append((key, "true"))
            elif value is not False:
                data.append((key, str(value)))
        sent = {k: files[k] for k in names & set(files)}
        page = browser.post(action, data, files=sent or None)
        assert page.status_code == 200, re.findall(r'class="error-message"[^>]*>(.*?)</span>\s*<', page.text, re.S)
    raise AssertionError("never reached the check-your-answers page")


def test_a_citizen_applies_with_a_document_and_sees_the_tracking_number(anon, region):
    citizen, _ = new_citizen(anon)
    browser = Browser(anon.base_url, signed_in_as=citizen)
    fields = region["definition"]["form"]["fields"]
    form, files = fill_form(fields)
    first = browser.get(apply_url(region)).text
    assert "Langkah 1 dari 2" in first and 'for="nik"' in first and 'aria-describedby="nik-hint"' in first

    check = answer_pages(browser, apply_url(region), fields, form, files)
    assert "Periksa jawaban Anda" in check.text and "kk.pdf" in check.text and form["no_kk"] in check.text
    assert check.text.count(">Ubah<") == len(fields)

    action, state, _ = form_of(check.text)  # change an answer: back to its page, then straight back to the check
    page = browser.post(action, [("state", state), ("ubah", "1")])
    assert f'value="{form["no_kk"]}"' in page.text and 'name="ke_periksa"' in page.text
    action, state, _ = form_of(page.text)
    changed = {**form, "no_kk": "7307011234567890"}
    check = browser.post(action, [("state", state), ("ke_periksa", "1")] + [(k, str(changed[k])) for k in
                                                                           ("nik", "no_kk", "status_perkawinan",
                                                                            "lokasi_perekaman")])
    assert "Periksa jawaban Anda" in check.text and "7307011234567890" in check.text and "kk.pdf" in check.text

    action, state, _ = form_of(check.text)
    sent = browser.post(action, [("state", state), ("kirim", "1")])
    assert sent.status_code == 200 and "/terkirim" in sent.url, sent.text[:3000]
    mine = citizen.get("/api/v1/me/applications").json()["items"]
    assert len(mine) == 1 and mine[0]["service"]["id"] == region["service_id"]
    number = mine[0]["tracking_number"]
    assert "Permohonan terkirim" in sent.text and f'<strong class="tracking">{number}</strong>' in sent.text
    assert f'href="/lacak/{number}"' in sent.text and 'href="/permohonan"' in sent.text
    assert "hari kerja" in sent.text
    app = citizen.get(f"/api/v1/tenants/{region['slug']}/applications/{mine[0]['id']}").json()
    assert app["form"]["no_kk"] == "7307011234567890"
    assert {d["key"]: d["filename"] for d in app["documents"]} == {k: f[0] for k, f in files.items()}
    english = browser.get(sent.url.replace(anon.base_url, "") + "?lang=en").text
    assert "Application sent" in english and "working days" in english


def test_a_missing_answer_comes_back_beside_its_field_with_the_rest_kept(anon, region):
    citizen, _ = new_citizen(anon)
    browser = Browser(anon.base_url, signed_in_as=citizen)
    form, _ = fill_form(region["definition"]["form"]["fields"])
    action, state, _ = form_of(browser.get(apply_url(region)).text)
    page = browser.post(action, [("state", state), ("nik", form["nik"]), ("no_kk", "   "),
                                 ("status_perkawinan", form["status_perkawinan"]), ("lokasi_perekaman", "")])
    assert page.status_code == 422
    text = page.text
    assert "Ada masalah" in text and 'href="#no_kk"' in text and 'href="#lokasi_perekaman"' in text
    error = re.search(r'<span class="error-message" id="no_kk-error">(.*?)</span>\s*<', text, re.S)
    assert error and "wajib diisi" in error.group(1)
    assert re.search(r'aria-describedby="[^"]*no_kk-error"', text) and "<title>Galat:" in text
    assert f'value="{form["nik"]}"' in text  # what was typed is kept
    assert f'value="{form["status_perkawinan"]}" selected' in text
    assert 'id="nik-error"' not in text

    page = browser.post(action + "&lang=en", [("state", state), ("nik", "12345"), ("no_kk", "1")])
    assert page.status_code == 422 and "There is a problem" in page.text and "must be 16 digits" in page.text


def test_an_executable_renamed_pdf_is_refused_at_its_file_field(anon, region):
    citizen, _ = new_citizen(anon)
    browser = Browser(anon.base_url, signed_in_as=citizen)
    fields = region["definition"]["form"]["fields"]
    form, files = fill_form(fields)
    files["kk"] = ("kk.pdf", EXE, "application/pdf")
    check = answer_pages(browser, apply_url(region), fields, form, files)
    action, state, _ = form_of(check.text)
    page = browser.post(action, [("state", state), ("kirim", "1")])
    assert page.status_code == 422 and "/terkirim" not in page.url  # the form again, not an error page
    assert "Langkah 2 dari 2" in page.text and 'href="#kk"' in page.text
    error = re.search(r'<span class="error-message" id="kk-error">(.*?)</span>\s*<', page.text, re.S)
    assert error and "program atau skrip" in error.group(1)
    assert citizen.get("/api/v1/me/applications").json()["items"] == []

    action, state, _ = form_of(page.text)  # a real PDF this time: sent
    check = browser.post(action, [("state", state)], files={"kk": ("kk.pdf", MINIMAL_PDF, "application/pdf")})
    action, state, _ = form_of(check.text)
    sent = browser.post(action, [("state", state), ("kirim", "1")])
    assert "/terkirim" in sent.url and "Permohonan terkirim" in sent.text
    assert len(citizen.get("/api/v1/me/applications").json()["items"]) == 1


def test_only_a_signed_in_citizen_may_apply(anon, region):
    response = Browser(anon.base_url).get(apply_url(region), allow_redirects=False)
    assert response.status_code == 303 and response.headers["Location"].startswith("/masuk?next=")
    assert "ajukan" in response.headers["Location"]
    staff = Browser(anon.base_url, signed_in_as=region["verifier"]).get(apply_url(region))
    assert staff.status_code == 403 and "Hanya warga yang dapat mengajukan permohonan" in staff.text
    citizen, _ = new_citizen(anon)
    browser = Browser(anon.base_url, signed_in_as=citizen)
    assert browser.get(f"/r/{region['slug']}/layanan/nope/ajukan").status_code == 404
    action, _, _ = form_of(browser.get(apply_url(region)).text)
    forged = browser.post(action, [("state", "e30.0000"), ("nik", "1")])  # a state it did not sign: start again
    assert forged.status_code == 200 and "Langkah 1 dari 2" in forged.text and 'value="1"' not in forged.text


def test_a_long_form_with_every_kind_of_question_takes_several_pages(anon, admin):
    region = make_region(admin, "17.02", template="akta-kelahiran")  # 14 questions and 5 documents
    citizen, _ = new_citizen(anon)
    browser = Browser(anon.base_url, signed_in_as=citizen)
    fields = region["definition"]["form"]["fields"]
    form, files = fill_form(fields)
    first = browser.get(apply_url(region)).text
    assert "Langkah 1 dari 4" in first and '<optgroup label="' in first  # the regency of birth from a list
    check = answer_pages(browser, apply_url(region), fields, form, files)
    assert check.text.count(">Ubah<") == len(fields)
    action, state, _ = form_of(check.text)
    sent = browser.post(action, [("state", state), ("kirim", "1")])
    assert "/terkirim" in sent.url, sent.text[:3000]
    app = citizen.get("/api/v1/me/applications").json()["items"][0]
    assert app["tracking_number"] in sent.text
