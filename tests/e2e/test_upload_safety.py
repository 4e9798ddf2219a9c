"""Uploads and downloads under attack, against the real platform (API and web pages): a refused upload leaves nothing
in the blob store, a file is taken only when its content and its name agree, one citizen cannot fill the store,
names that try to be paths stay names, nothing uploaded is ever decoded, and downloads are attachments with a safe
name in any script."""
import json
import re
import socket
import struct
import time
import uuid
import zipfile
import zlib
from io import BytesIO
from pathlib import Path
from urllib.parse import unquote

import pytest
from journeys import make_region, new_citizen
from support import MINIMAL_PDF, Browser, Client, fill_form, multipart

from devtools.platform import free_port

SERVICE = "ktp-el-baru"  # 4 questions, then kk (required) and buku_nikah: PDF, JPEG or PNG of at most 2 MB
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 2000
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"
HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me').then(r=>r.text()).then(alert)</script></body></html>"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)">'
       b"<script>alert(1)</script></svg>")


def png(width: int = 1, height: int = 1) -> bytes:
    """A PNG of the declared size whose image data is one short zlib stream (a decoder would allocate
    width x height x 3 bytes: for 100 000 x 100 000, 30 GB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00"))
            + chunk(b"IEND", b""))


def pdf_bomb(inflated: int = 64 * 1024 * 1024) -> bytes:
    """A small PDF whose one stream inflates to ``inflated`` bytes."""
    stream = zlib.compress(b"\x00" * inflated, 9)
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
            b"3 0 obj<</Type/Page/MediaBox[0 0 200 200]/Parent 2 0 R/Contents 4 0 R>>endobj\n"
            b"4 0 obj<</Length " + str(len(stream)).encode() + b"/Filter/FlateDecode>>stream\n" + stream
            + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def zip_bomb(inflated: int = 64 * 1024 * 1024) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("word/document.xml", b"\x00" * inflated)
    return out.getvalue()


@pytest.fixture(scope="module")
def region(admin):
    return make_region(admin, "52.01", template=SERVICE)


def blob_files(platform) -> set[str]:
    """Every file in the blob store (the folder under the var dir), temporary uploads included."""
    root = Path(platform.var_dir) / "blobs"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def staged(platform) -> set[str]:
    return {p for p in blob_files(platform) if p.startswith("staging/")}


def raw_multipart(data: dict, parts: list[tuple[str, bytes, str, bytes]]) -> tuple[bytes, str]:
    """A multipart body written by hand, so a filename reaches the gateway exactly as given (NUL and backslashes
    included): ``parts`` are (field, raw filename, content type, content)."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"data\"\r\n"
            f"Content-Type: application/json\r\n\r\n{json.dumps(data)}\r\n").encode()
    for field, filename, kind, content in parts:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"".encode() + filename
                 + f"\"\r\nContent-Type: {kind}\r\n\r\n".encode() + content + b"\r\n")
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def submit(client: Client, region: dict, files: dict, **form_overrides):
    form, defaults = fill_form(region["definition"]["form"]["fields"])
    form.update(form_overrides)
    return client.post(f"/api/v1/tenants/{region['slug']}/applications",
                       **multipart({"service_id": region["service_id"], "form": form}, {**defaults, **files}))


def submit_raw(client: Client, region: dict, parts: list[tuple[str, bytes, str, bytes]]):
    form, _ = fill_form(region["definition"]["form"]["fields"])
    body, kind = raw_multipart({"service_id": region["service_id"], "form": form}, parts)
    return client.post(f"/api/v1/tenants/{region['slug']}/applications", data=body, headers={"Content-Type": kind})


# ---- 1. a refused request leaves nothing behind ---------------------------------------------------------------

REFUSALS = {
    # what is sent → the status it gets
    "bad data part": (dict(service_id="no such id!"), {}, 422),
    "form problem": ({}, {}, 422),
    "executable renamed .pdf": ({}, {"kk": ("kk.pdf", EXE, "application/pdf")}, 415),
    "over the field's 2 MB": ({}, {"kk": ("kk.pdf", MINIMAL_PDF + b"%" * (2 * 1024 * 1024), "application/pdf")}, 413),
    "empty file": ({}, {"kk": ("kk.pdf", b"", "application/pdf")}, 422),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_api_submission_leaves_no_file_in_the_blob_store(platform, anon, region, case):
    data, files, status = REFUSALS[case]
    citizen, _ = new_citizen(anon)
    before = blob_files(platform)
    form, defaults = fill_form(region["definition"]["form"]["fields"])
    if case == "form problem":
        form["nik"] = "123"
    body = {"service_id": region["service_id"], "form": form, **data}
    r = citizen.post(f"/api/v1/tenants/{region['slug']}/applications", **multipart(body, {**defaults, **files}))
    assert r.status_code == status, r.text
    assert blob_files(platform) == before, "a refused submission left files in the blob store"
    assert citizen.get("/api/v1/me/applications").json()["items"] == []


def test_a_refused_api_resubmission_leaves_no_file_in_the_blob_store(platform, anon, region):
    citizen, _ = new_citizen(anon)
    app = submit(citizen, region, {}).json()
    url = f"/api/v1/tenants/{region['slug']}/applications/{app['id']}/actions"
    assert region["verifier"].post(url, json={"action": "request_revision", "note": "KK buram"}).status_code == 200
    good = {"kk": ("kk.pdf", MINIMAL_PDF, "application/pdf")}
    before = blob_files(platform)
    for data, files, status in [({"action": "fly"}, good, 422),  # not an action
                                ({"action": "resubmit", "note": "x" * 3000}, good, 422),  # note too long
                                (["resubmit"], good, 400),  # data not an object
                                ({"action": "resubmit"}, {"kk": ("kk.pdf", EXE, "application/pdf")}, 415),
                                ({"action": "verify"}, good, 403)]:  # not the applicant's to do
        r = citizen.post(url, **multipart(data, files))
        assert r.status_code == status, (data, r.text)
        assert blob_files(platform) == before, f"{data} left files in the blob store"
    r = citizen.post(url, **multipart({"action": "resubmit"}, good))
    assert r.status_code == 200, r.text
    documents = {p for p in blob_files(platform) if p.startswith(f"documents/{region['slug']}/{app['id']}/")}
    assert f"documents/{region['slug']}/{app['id']}/kk" not in documents, "the replaced document is deleted"
    assert len(documents) == 2 and blob_files(platform) - before <= documents  # the new kk and buku_nikah
    after = blob_files(platform)
    r = citizen.post(url, **multipart({"action": "resubmit"}, good))  # nothing is awaited from the applicant now
    assert r.status_code == 409, r.text
    r = region["verifier"].post(url, **multipart({"action": "verify"}, good))  # files with another action
    assert r.status_code == 200, r.text
    assert blob_files(platform) == after, "files no action took stayed behind"


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(platform, anon, region):
    citizen, _ = new_citizen(anon)
    host, port = platform.base_url.removeprefix("http://").split(":")
    head = (f"POST /api/v1/tenants/{region['slug']}/applications HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {citizen.token}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"Content-Length: {500 * 1024 * 1024}\r\n\r\n").encode()
    page = (f"POST {apply_url(region)}?step=2 HTTP/1.1\r\nHost: {host}\r\nCookie: mppi_session={citizen.token}\r\n"
            f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {500 * 1024 * 1024}\r\n\r\n").encode()
    before = blob_files(platform)
    for request in (head, page):  # the API, and a page of the apply wizard
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(request + b"--x\r\n")  # 5 bytes of the 500 MB announced
            answer = s.recv(65536).decode("latin-1")
        assert answer.startswith("HTTP/1.1 413"), answer[:300]
    assert blob_files(platform) == before


# ---- 2. content and name agree; downloads are safe attachments ---------------------------------------------------

@pytest.mark.parametrize(("filename", "content", "status"), [
    ("kk.pdf", png(), 415),  # a PNG named .pdf
    ("kk.jpg", MINIMAL_PDF, 415),  # a PDF named .jpg
    ("kk.png", JPEG, 415),  # a JPEG named .png
    ("kk.pdf", EXE, 415),  # a program named .pdf
    ("kk.exe", MINIMAL_PDF, 415),  # a PDF named as a program
    ("kk.html", MINIMAL_PDF, 415),
    ("kk.PDF", MINIMAL_PDF, 201),
    ("kk.jpeg", JPEG, 201),
    ("Scan KK.JPG", JPEG, 201),
    ("kk.png", png(), 201),
])
def test_a_file_is_taken_only_when_its_content_and_its_name_agree(platform, anon, region, filename, content, status):
    citizen, _ = new_citizen(anon)
    before = blob_files(platform)
    r = submit(citizen, region, {"kk": (filename, content, "application/pdf")})
    assert r.status_code == status, r.text
    if status == 415:
        assert r.json()["code"] == "UNSUPPORTED_FILE_TYPE" and r.json()["errors"][0]["loc"] == ["body", "files", "kk"]
        assert blob_files(platform) == before


def _disposition(header: str) -> tuple[str, str]:
    """The ASCII fallback ``filename`` and the decoded RFC 5987 ``filename*`` of a Content-Disposition."""
    plain = re.search(r'filename="([^"]*)"', header)
    extended = re.search(r"filename\*=UTF-8''([^;\s]+)", header)
    assert plain and extended, header
    return plain.group(1), unquote(extended.group(1), encoding="utf-8", errors="strict")


@pytest.mark.parametrize(("sent", "content", "kind", "shown"), [
    ("akta-kelahiran-ñ-β-中文.pdf", MINIMAL_PDF, "application/pdf", "akta-kelahiran-ñ-β-中文.pdf"),
    ("KK Siti Nurhaliza Ramadhani Ṣāliḥ.jpeg", JPEG, "image/jpeg", "KK Siti Nurhaliza Ramadhani Ṣāliḥ.jpg"),
    ("kartu keluarga", png(), "image/png", "kartu keluarga.png"),  # no extension: ours, from the content
    ('kk";x=.pdf', MINIMAL_PDF, "application/pdf", None),
])
def test_a_document_downloads_as_an_attachment_named_safely_in_any_script(anon, region, sent, content, kind, shown):
    citizen, _ = new_citizen(anon)
    r = submit(citizen, region, {"kk": (sent, content, "application/octet-stream")})
    assert r.status_code == 201, r.text
    api = f"/api/v1/tenants/{region['slug']}/applications/{r.json()['id']}/documents/kk"
    web = f"/r/{region['slug']}/permohonan/{r.json()['id']}/berkas/kk"
    for answer in (citizen.get(api), Browser(anon.base_url, signed_in_as=citizen).get(web)):
        assert answer.status_code == 200 and answer.content == content
        assert answer.headers["Content-Type"] == kind
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        header = answer.headers["Content-Disposition"]
        assert header.startswith("attachment;"), header
        fallback, full = _disposition(header)
        assert fallback.isascii() and '"' not in fallback and "\\" not in fallback and "/" not in fallback
        suffix = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}[kind]  # ours, by content
        assert fallback.lower().endswith(suffix) and full.lower().endswith(suffix)
        if shown is not None:
            assert full == shown


def test_the_issued_document_downloads_as_an_attachment_on_the_web_page(anon, region):
    citizen, _ = new_citizen(anon)
    app = submit(citizen, region, {}).json()
    url = f"/api/v1/tenants/{region['slug']}/applications/{app['id']}"
    while app["status"] != "completed":  # whichever staff may move it on, until it is issued
        for role in ("verifier", "approver", "operator"):
            moves = [a for a in region[role].get(url).json()["allowed_actions"] if a in ("verify", "approve",
                                                                                        "complete")]
            if moves:
                app = region[role].post(url + "/actions", json={"action": moves[0]}).json()
                break
        else:
            raise AssertionError(f"nobody may move {app['status']} on")
    page = Browser(anon.base_url, signed_in_as=citizen).get(f"/r/{region['slug']}/permohonan/{app['id']}/dokumen")
    assert page.status_code == 200 and page.content.startswith(b"%PDF-")
    assert page.headers["Content-Type"] == "application/pdf" and page.headers["X-Content-Type-Options"] == "nosniff"
    fallback, full = _disposition(page.headers["Content-Disposition"])
    assert page.headers["Content-Disposition"].startswith("attachment;")
    assert fallback == full == f"{app['tracking_number']}.pdf"


# ---- 3. attacks: names that are paths, markup with script, bombs -------------------------------------------------

def _written_files(platform) -> set[str]:
    """The names of the files anywhere beside and under the platform's var dir, but for the mail the notifications
    service drops there and the processes' logs (written meanwhile by other work)."""
    var = Path(platform.var_dir)
    return {p.name for p in var.parent.rglob("*")
            if p.is_file() and not {"mail", "logs"} & set(p.relative_to(var.parent).parts[1:2])}


@pytest.mark.parametrize(("raw", "kept"), [
    (b"../../etc/passwd.pdf", "passwd.pdf"),
    (b"..\\\\..\\\\x.pdf", "x.pdf"),  # backslashes escaped, as a quoted-string needs them
    (b"/etc/passwd.pdf", "passwd.pdf"),
    (b"C:\\\\Windows\\\\System32\\\\x.pdf", "x.pdf"),
    (b"kk\x00.pdf", "kk.pdf"),
    (b"kk.pdf\x00.exe", None),
    (b"\xe2\x80\xaekk\xe2\x80\xaefdp.exe", None),  # right-to-left override: looks like kk.exe.pdf
    (b".htaccess", None),
])
def test_a_filename_that_tries_to_be_a_path_is_kept_as_a_name_under_our_own_key(platform, anon, region, raw, kept):
    citizen, _ = new_citizen(anon)
    outside = _written_files(platform)
    before = blob_files(platform)
    r = submit_raw(citizen, region, [("kk", raw, "application/pdf", MINIMAL_PDF)])
    assert r.status_code in (201, 415, 422), r.text
    new = blob_files(platform) - before
    assert kept is None or r.status_code == 201, r.text  # a name that cleans to a PDF's name is taken
    if r.status_code != 201:
        assert not new
        return
    app = r.json()
    assert new == {f"documents/{region['slug']}/{app['id']}/kk"}, new
    assert _written_files(platform) - outside <= {"kk"}
    doc = next(d for d in citizen.get(f"/api/v1/tenants/{region['slug']}/applications/{app['id']}").json()
               ["documents"] if d["key"] == "kk")
    assert "/" not in doc["filename"] and "\\" not in doc["filename"] and "\x00" not in doc["filename"]
    assert not re.search(r"[\u202a-\u202e\u2066-\u2069]", doc["filename"])
    if kept is not None:
        assert doc["filename"] == kept
    download = citizen.get(f"/api/v1/tenants/{region['slug']}/applications/{app['id']}/documents/kk")
    assert download.status_code == 200 and download.content == MINIMAL_PDF
    assert _disposition(download.headers["Content-Disposition"])[1].endswith(".pdf")


@pytest.mark.parametrize(("filename", "content", "declared"), [
    ("kk.html", HTML, "text/html"),
    ("kk.pdf", HTML, "application/pdf"),
    ("kk.svg", SVG, "image/svg+xml"),
    ("kk.png", SVG, "image/png"),
    ("kk.zip", zip_bomb(), "application/zip"),
    ("kk.pdf", zip_bomb(), "application/pdf"),
])
def test_markup_with_script_and_archives_are_refused_where_documents_are_asked(platform, anon, region, filename,
                                                                                 content, declared):
    citizen, _ = new_citizen(anon)
    before = blob_files(platform)
    r = submit(citizen, region, {"kk": (filename, content, declared)})
    assert (r.status_code, r.json()["code"]) == (415, "UNSUPPORTED_FILE_TYPE"), r.text
    assert blob_files(platform) == before


@pytest.mark.parametrize(("filename", "content"), [
    ("kk.png", png(100_000, 100_000)),  # 30 GB of pixels once decoded
    ("kk.pdf", pdf_bomb()),  # 64 MB once inflated, from a PDF of 64 KB
])
def test_a_decompression_bomb_in_an_accepted_type_is_kept_as_bytes_and_never_decoded(anon, region, filename, content):
    citizen, _ = new_citizen(anon)
    started = time.monotonic()
    r = submit(citizen, region, {"kk": (filename, content, "application/octet-stream")})
    assert r.status_code == 201, r.text
    assert time.monotonic() - started < 10, "the upload took as long as decoding it would"
    download = citizen.get(f"/api/v1/tenants/{region['slug']}/applications/{r.json()['id']}/documents/kk")
    assert download.content == content  # the very bytes sent: nothing was decoded, re-encoded or thumbnailed


def test_a_zip_bomb_where_a_field_takes_archives_is_kept_as_bytes_and_never_opened(platform, anon, admin):
    archive = make_region(admin, "52.02", template=SERVICE)
    slug, sid, tenant_admin = archive["slug"], archive["service_id"], archive["tenant_admin"]
    draft = tenant_admin.get(f"/api/v1/tenants/{slug}/services/{sid}?version=draft&lang=all").json()
    fields = draft["form"]["fields"] + [{"key": "lampiran", "label": "Lampiran", "type": "file", "required": False,
                                         "accept": ["application/zip"], "max_size_mb": 5}]
    r = tenant_admin.patch(f"/api/v1/tenants/{slug}/services/{sid}", json={"form": {"fields": fields}})
    assert r.status_code == 200, r.text
    assert tenant_admin.post(f"/api/v1/tenants/{slug}/services/{sid}/publish").json()["version"] == 2
    archive["definition"] = tenant_admin.get(f"/api/v1/tenants/{slug}/services/{sid}?lang=all").json()
    citizen, _ = new_citizen(anon)
    bomb = zip_bomb()
    for _ in range(50):  # the gateway's catalogue cache hears of version 2 within moments
        r = submit(citizen, archive, {"lampiran": ("lampiran.zip", bomb, "application/zip")})
        if r.status_code != 422:
            break
        time.sleep(0.1)
    assert r.status_code == 201, r.text
    download = citizen.get(f"/api/v1/tenants/{slug}/applications/{r.json()['id']}/documents/lampiran")
    assert download.content == bomb and download.headers["Content-Type"] == "application/zip"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    r = submit(citizen, archive, {"lampiran": ("lampiran.pdf", bomb, "application/zip")})
    assert r.status_code == 415, "an archive named as a PDF"


# ---- web pages: a refused or replaced upload is deleted at once --------------------------------------------------

def apply_url(region: dict) -> str:
    return f"/r/{region['slug']}/layanan/{region['service_id']}/ajukan"


def form_of(page: str) -> tuple[str, str]:
    found = re.search(r'<form method="post" action="([^"]*(?:/ajukan\?step=[^"]+|/perbaiki))"(.*?)</form>', page,
                      re.S)
    assert found, page[:3000]
    state = re.search(r'name="state" value="([^"]+)"', found.group(2)).group(1)
    return found.group(1).replace("&amp;", "&"), state


def to_documents_page(browser: Browser, region: dict) -> tuple[str, str]:
    """Answer the first page of the wizard; the action and state of the documents page."""
    form, _ = fill_form(region["definition"]["form"]["fields"])
    action, state = form_of(browser.get(apply_url(region)).text)
    page = browser.post(action, [("state", state)] + [(k, form[k]) for k in
                                                      ("nik", "no_kk", "status_perkawinan", "lokasi_perekaman")])
    assert page.status_code == 200 and "Langkah 2 dari 2" in page.text, page.text[:2000]
    return form_of(page.text)


def test_the_wizard_deletes_a_refused_or_replaced_upload_at_once(platform, anon, region):
    citizen, _ = new_citizen(anon)
    browser = Browser(anon.base_url, signed_in_as=citizen)
    action, state = to_documents_page(browser, region)
    before = staged(platform)
    big = MINIMAL_PDF + b"%" * (3 * 1024 * 1024)
    page = browser.post(action, [("state", state)], files={"kk": ("kk.pdf", big, "application/pdf")})
    assert page.status_code == 422 and "2 MB" in page.text
    assert staged(platform) == before, "a file refused on the page stayed in staging"
    action, state = form_of(page.text)
    page = browser.post(action, [("state", state)], files={"kk": ("kk.pdf", b"", "application/pdf")})
    assert page.status_code == 422 and "kosong" in page.text
    assert staged(platform) == before, "an empty file refused on the page stayed in staging"

    action, state = form_of(page.text)
    check = browser.post(action, [("state", state)], files={"kk": ("kk.pdf", MINIMAL_PDF, "application/pdf")})
    assert "Periksa jawaban Anda" in check.text
    first = staged(platform) - before
    assert len(first) == 1
    action, state = form_of(check.text)
    page = browser.post(action, [("state", state), ("ubah", "2")])  # change the documents
    action, state = form_of(page.text)
    check = browser.post(action, [("state", state)], files={"kk": ("kk-baru.png", png(), "image/png")})
    assert "Periksa jawaban Anda" in check.text and "kk-baru.png" in check.text
    now = staged(platform) - before
    assert len(now) == 1 and now != first, "the replaced upload is deleted at once"

    action, state = form_of(check.text)
    sent = browser.post(action, [("state", state), ("kirim", "1")])
    assert "/terkirim" in sent.url, sent.text[:2000]
    assert staged(platform) == before, "a sent form leaves nothing in staging"


def test_a_file_refused_when_the_wizard_sends_is_deleted_with_its_copy(platform, anon, region):
    citizen, _ = new_citizen(anon)
    browser = Browser(anon.base_url, signed_in_as=citizen)
    action, state = to_documents_page(browser, region)
    before = staged(platform)
    check = browser.post(action, [("state", state)], files={"kk": ("kk.pdf", png(), "application/pdf")})
    assert check.status_code == 200 and "Periksa jawaban Anda" in check.text
    action, state = form_of(check.text)
    page = browser.post(action, [("state", state), ("kirim", "1")])
    assert page.status_code == 422 and 'href="#kk"' in page.text
    assert staged(platform) == before
    error = re.search(r'<span class="error-message" id="kk-error">(.*?)</span>\s*<', page.text, re.S)
    assert error and ".pdf" in error.group(1) and "PNG" in error.group(1)


def test_the_fix_page_deletes_a_refused_upload_at_once(platform, anon, region):
    citizen, _ = new_citizen(anon)
    app = submit(citizen, region, {}).json()
    url = f"/api/v1/tenants/{region['slug']}/applications/{app['id']}/actions"
    assert region["verifier"].post(url, json={"action": "request_revision", "note": "KK buram"}).status_code == 200
    browser = Browser(anon.base_url, signed_in_as=citizen)
    fix = f"/r/{region['slug']}/permohonan/{app['id']}/perbaiki"
    action, state = form_of(browser.get(fix).text)
    before = blob_files(platform)
    big = MINIMAL_PDF + b"%" * (3 * 1024 * 1024)
    form, _ = fill_form(region["definition"]["form"]["fields"])
    answers = [(k, form[k]) for k in ("nik", "no_kk", "status_perkawinan", "lokasi_perekaman")]
    page = browser.post(action, [("state", state), *answers[:1], ("no_kk", "   "), *answers[2:]],
                        files={"kk": ("kk.pdf", big, "application/pdf")})
    assert page.status_code == 422 and "2 MB" in page.text
    assert blob_files(platform) == before, "a file refused on the fix page stayed in staging"
    action, state = form_of(page.text)
    page = browser.post(action, [("state", state), *answers], files={"kk": ("kk.jpg", MINIMAL_PDF, "image/jpeg")})
    assert page.status_code == 422 and 'id="kk-error"' in page.text
    assert blob_files(platform) == before, "a file the service refused stayed in staging"


# ---- a citizen cannot fill the blob store ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tight(platform, region):
    """A second gateway on the same platform whose staging quota is 3 files or 1 MB an account."""
    port = free_port()
    platform.start_gateway("gateway-quota", port=port, MPPI_STAGING_QUOTA_MB="1", MPPI_STAGING_QUOTA_FILES="3")
    try:
        platform.wait_ready(base_url=f"http://127.0.0.1:{port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        platform.stop("gateway-quota")


@pytest.fixture
def tidy_staging(platform):
    """Forms this test leaves half-way: their uploads are removed after it (the sweep would take two days)."""
    before = staged(platform)
    yield
    for key in staged(platform) - before:
        (Path(platform.var_dir) / "blobs" / key).unlink(missing_ok=True)


def test_the_staging_quota_stops_one_citizen_filling_the_store_with_unsent_uploads(platform, anon, region, tight,
                                                                                    tidy_staging):
    citizen, _ = new_citizen(anon)
    browser = Browser(tight, signed_in_as=citizen)
    before = staged(platform)
    for _ in range(3):  # three forms left half-way, one document each: the quota's three files
        action, state = to_documents_page(browser, region)
        page = browser.post(action, [("state", state), ("arah", "kembali")],
                            files={"kk": ("kk.pdf", MINIMAL_PDF, "application/pdf")})
        assert page.status_code == 200
    assert len(staged(platform) - before) == 3
    action, state = to_documents_page(browser, region)
    page = browser.post(action, [("state", state)], files={"kk": ("kk.pdf", MINIMAL_PDF, "application/pdf")})
    assert page.status_code == 422 and 'id="kk-error"' in page.text
    assert "belum dikirim" in page.text, page.text[:3000]  # says why: uploads not yet sent fill the allowance
    assert len(staged(platform) - before) == 3

    other, _ = new_citizen(anon)  # the quota is the account's own: another citizen uploads freely
    r = Client(tight, other.token).post(f"/api/v1/tenants/{region['slug']}/applications", **multipart(
        {"service_id": region["service_id"], "form": fill_form(region["definition"]["form"]["fields"])[0]},
        {"kk": ("kk.pdf", MINIMAL_PDF, "application/pdf")}))
    assert r.status_code == 201, r.text


def test_the_staging_quota_counts_bytes_and_answers_413_on_the_api(platform, anon, region, tight):
    citizen, _ = new_citizen(anon)
    client = Client(tight, citizen.token)
    before = blob_files(platform)
    half = MINIMAL_PDF + b"%" * (700 * 1024)  # two of them: 1.4 MB, over the 1 MB allowance
    r = client.post(f"/api/v1/tenants/{region['slug']}/applications", **multipart(
        {"service_id": region["service_id"], "form": fill_form(region["definition"]["form"]["fields"])[0]},
        {"kk": ("kk.pdf", half, "application/pdf"), "buku_nikah": ("bn.pdf", half, "application/pdf")}))
    assert r.status_code == 413 and "MB" in r.json()["detail"], r.text
    assert blob_files(platform) == before
    r = client.post(f"/api/v1/tenants/{region['slug']}/applications", **multipart(
        {"service_id": region["service_id"], "form": fill_form(region["definition"]["form"]["fields"])[0]},
        {"kk": ("kk.pdf", half, "application/pdf")}))
    assert r.status_code == 201, "a submission within the allowance goes through, and frees its room"
