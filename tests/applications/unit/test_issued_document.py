"""Issued documents: the signed verification code and the PDF with its scannable QR code. Pure code, no broker."""
import pypdfium2
import pytest
import zxingcpp

from services.applications.documents import IssuedDocument, latin1_safe, render_issued_document
from services.applications.domain.verification import code_attests, legacy_code, make_code, tracking_number_of

SECRET = b"s" * 32
TRACKING = "BKT-26-7K3Q9X"
BASE32 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def document(**changes) -> IssuedDocument:
    code = make_code(SECRET, TRACKING, FACTS)
    fields = dict(
        region_name="Pemerintah Kota Bukittinggi", primary_color="#0B6E4F",
        service_name="Dinas Kependudukan dan Pencatatan Sipil - Akta Kelahiran",
        output_name="Kutipan Akta Kelahiran", applicant_name="Siti Nurhaliza", tracking_number=TRACKING,
        issued_at="29 November 2026 14:05 WIB", verify_url=f"https://mppi.example.go.id/verify/{code}",
        details=(("NIK", "1375••••••••0003"), ("Nama Anak", "Muhammad Rizky Pratama"),
                 ("Tempat, Tanggal Lahir", "Bukittinggi, 12 Oktober 2026")),
    )
    fields.update(changes)
    return IssuedDocument(**fields)


def first_page_barcodes(pdf: bytes) -> list[str]:
    page = pypdfium2.PdfDocument(pdf)[0]
    image = page.render(scale=3).to_pil()
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


# --- the verification code -------------------------------------------------------------------------------------

FACTS = {"tracking_number": TRACKING, "region_code": "13.75", "region_name": "Kota Bukittinggi",
         "service_name": "Akta Kelahiran", "output_name": "Kutipan Akta Kelahiran", "holder": "Siti Nurhaliza",
         "issued_at": "2026-11-29T14:05:00+07:00", "timezone": "Asia/Jakarta",
         "details": [["NIK", "1375********0003"], ["Nama anak", "Muhammad Rizky Pratama"]]}


def test_a_code_round_trips_and_is_short_readable_and_url_safe():
    code = make_code(SECRET, TRACKING, FACTS)
    tracking, _, signature = code.partition(".")
    assert tracking == TRACKING == tracking_number_of(code)
    assert len(signature) == 16 and set(signature) <= BASE32
    assert code_attests(SECRET, code, FACTS)
    assert make_code(SECRET, TRACKING, dict(reversed(FACTS.items()))) == code  # the same facts, the same code


@pytest.mark.parametrize("position", range(len(make_code(SECRET, TRACKING, FACTS))))
def test_changing_any_character_of_a_code_is_refused(position):
    code = make_code(SECRET, TRACKING, FACTS)
    for replacement in ("A", "7", "-", ".", "a", "Z"):
        if replacement != code[position]:
            tampered = code[:position] + replacement + code[position + 1:]
            assert not code_attests(SECRET, tampered, FACTS), tampered


@pytest.mark.parametrize(("fact", "edited"), [
    ("holder", "Budi Santoso"), ("service_name", "Izin Reklame"), ("output_name", "Kutipan Akta Kematian"),
    ("issued_at", "2026-11-30T14:05:00+07:00"), ("region_name", "Kabupaten Palsu"),
    ("details", [["NIK", "1375********0003"], ["Nama anak", "Muhammad Rizky Pratami"]]), ("details", []),
])
def test_a_genuine_code_does_not_attest_edited_facts(fact, edited):
    # the attack: a real receipt's code, copied onto a receipt whose name, service or details were changed
    code = make_code(SECRET, TRACKING, FACTS)
    assert not code_attests(SECRET, code, {**FACTS, fact: edited})
    assert not code_attests(SECRET, code, {k: v for k, v in FACTS.items() if k != fact})


def test_codes_made_with_another_key_or_for_another_tracking_number_are_refused():
    assert not code_attests(SECRET, make_code(b"another key" * 3, TRACKING, FACTS), FACTS)
    other_facts = {**FACTS, "tracking_number": "BKT-26-ZZZZZZ"}
    other = make_code(SECRET, "BKT-26-ZZZZZZ", other_facts)
    forged = TRACKING + "." + other.partition(".")[2]  # a real signature, moved to another tracking number
    assert not code_attests(SECRET, forged, other_facts) and not code_attests(SECRET, forged, FACTS)
    assert code_attests(SECRET, other, other_facts)


def test_a_legacy_code_still_attests_its_tracking_number_and_neither_version_passes_for_the_other():
    legacy = legacy_code(SECRET, TRACKING)
    assert code_attests(SECRET, legacy, None)
    assert not code_attests(SECRET, legacy, FACTS)
    assert not code_attests(SECRET, make_code(SECRET, TRACKING, FACTS), None)


@pytest.mark.parametrize("garbage", [
    "", ".", "BKT-26-7K3Q9X", "BKT-26-7K3Q9X.", ".AAAAAAAAAAAAAAAA", "BKT-26-7K3Q9X.AAAAAAAAAAAAAAAA",
    "BKT-26-7K3Q9X.AAAAAAAAAAAAAAA", "BKT-26-7K3Q9X.AAAAAAAAAAAAAAAAA", "../../etc/passwd", "x" * 10_000,
    "BKT-26-7K3Q9X.AAAAAAAAAAAAAAAA=", "bkt-26-7k3q9x.aaaaaaaaaaaaaaaa", "BKT 26.AAAAAAAAAAAAAAAA", "Ł.ŁŁŁ",
])
def test_garbage_is_refused(garbage):
    assert not code_attests(SECRET, garbage, FACTS) and not code_attests(SECRET, garbage, None)


def test_a_code_needs_a_secret_and_a_tracking_number():
    with pytest.raises(ValueError):
        make_code(b"", TRACKING, FACTS)
    for bad in ("", "bkt-26-7k3q9x", "BKT 26", "BKT--26", "BKT-26-7K3Q9X.X", "A" * 41):
        with pytest.raises(ValueError):
            make_code(SECRET, bad, FACTS)
    assert not code_attests(b"", make_code(SECRET, TRACKING, FACTS), FACTS)


# --- the PDF -----------------------------------------------------------------------------------------------------

def test_the_document_is_a_pdf_whose_qr_code_is_exactly_the_verify_url():
    doc = document()
    pdf = render_issued_document(doc)
    assert pdf.startswith(b"%PDF-")
    assert len(pypdfium2.PdfDocument(pdf)) == 1
    assert first_page_barcodes(pdf) == [doc.verify_url]


def test_the_page_carries_the_region_service_applicant_tracking_number_details_and_caption():
    doc = document(language="id")
    text = pypdfium2.PdfDocument(render_issued_document(doc))[0].get_textpage().get_text_range()
    flat = " ".join(text.split())
    for expected in ("Pemerintah Kota Bukittinggi", "Akta Kelahiran", "Siti Nurhaliza",
                     TRACKING, "Muhammad Rizky Pratama", "29 November 2026 14:05 WIB", "Nama Pemohon", "Applicant",
                     "Pindai untuk memeriksa keaslian dokumen", "Scan to verify this document"):
        assert expected in flat, expected
    assert doc.verify_url in flat.replace(" ", "")  # the URL is printed (it may wrap)


def page_text(pdf: bytes) -> str:
    return " ".join(pypdfium2.PdfDocument(pdf)[0].get_textpage().get_text_range().split())


@pytest.mark.parametrize(("language", "title", "translation", "for_"), [
    ("id", "Tanda Selesai Layanan", "Service completion receipt", "atas layanan:"),
    ("en", "Service completion receipt", "Tanda Selesai Layanan", "for the service:"),
])
def test_the_document_is_a_service_completion_receipt_not_the_official_document(language, title, translation, for_):
    # the akta itself is issued by Dukcapil's SIAK: the platform's PDF only says that the service was completed
    pdf = render_issued_document(document(language=language))
    text = page_text(pdf)
    assert f"{title.upper()} {translation} {for_} Kutipan Akta Kelahiran" in text
    # the product is named once, as what the receipt is for, never as a title of its own
    assert text.upper().count("KUTIPAN AKTA KELAHIRAN") == 1
    assert pypdfium2.PdfDocument(pdf).get_metadata_dict()["Title"] == f"{title} - {TRACKING}"


def test_non_latin1_text_does_not_crash_and_is_made_printable():
    doc = document(region_name="Kabupaten Łódź — “Uji” 🏛️", applicant_name="Łukasz Żółć 😀👍🏽",
                   output_name="Surat Keterangan ✓", service_name="Layanan 中文 ☃",
                   details=(("Catatan…", "Zoë’s ﬁle – ok ❤️"), ("Empty", "")))
    pdf = render_issued_document(doc)
    assert pdf.startswith(b"%PDF-")
    assert first_page_barcodes(pdf) == [doc.verify_url]
    assert latin1_safe("Łukasz Żółć 😀👍🏽") == "Lukasz Zólc"
    assert latin1_safe("“Uji” — ﬁle…") == '"Uji" - file...'
    assert latin1_safe("中文") == "??"
    assert latin1_safe("Zoë  Ré") == "Zoë Ré"


def test_a_long_table_moves_the_qr_panel_to_a_second_page_and_a_bad_colour_falls_back():
    details = tuple((f"Keterangan {i}", "Isian yang cukup panjang untuk memenuhi satu baris tabel " * 2)
                    for i in range(14))
    doc = document(details=details, primary_color="not a colour", language="en")
    pdf = render_issued_document(doc)
    pages = pypdfium2.PdfDocument(pdf)
    assert len(pages) == 2
    image = pages[1].render(scale=3).to_pil()
    assert [b.text for b in zxingcpp.read_barcodes(image)] == [doc.verify_url]


def test_a_light_region_colour_still_renders():
    assert render_issued_document(document(primary_color="#F5D000")).startswith(b"%PDF-")
