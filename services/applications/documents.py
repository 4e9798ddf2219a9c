"""The PDF the platform issues when staff complete an application: a service-completion receipt (Tanda Selesai
Layanan), never the official document itself (an akta, sertipikat or paspor is issued by SIAK, BPN, Imigrasi...).

``render_issued_document`` is a pure, module-level function of a frozen ``IssuedDocument`` so that it pickles and
runs in the subprocess pool (``mppi.runtime.procpool``): fpdf2 is pure Python and holds the GIL, so rendering inside
a nameko worker would starve the eventlet hub and with it the RabbitMQ heartbeat.

The page is A4: a header band in the region's colour with the region and service, the receipt's title with the
product it is for ("atas layanan: <product>"), the applicant, the tracking number and the caller's (already
localised and masked) details, the issue date, and a QR code of the public verification URL. Only the PDF core
fonts are used (no font files, no system dependency); they are Latin-1, so every text goes through ``latin1_safe``
first (``Ł`` -> ``L``, curly quotes -> straight ones, emoji dropped, anything else unprintable -> ``?``).
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass

import segno
from fpdf import FPDF
from fpdf.enums import Align, WrapMode, XPos, YPos

PLATFORM_NAME = "Mal Pelayanan Publik Digital"
DEFAULT_COLOR = (31, 58, 95)  # a sober navy when a region's colour is missing or malformed

# page geometry, in millimetres
PAGE_W, PAGE_H = 210.0, 297.0
MARGIN = 20.0
CONTENT_W = PAGE_W - 2 * MARGIN
BAND_H = 34.0  # at least; taller when the region's name wraps
FOOTER_H = 22.0
LABEL_W = 60.0
VALUE_W = CONTENT_W - LABEL_W
QR_MM = 46.0  # the whole image incl. its 4-module quiet zone: the code itself is ~38 mm, easy to scan from a phone
PANEL_H = 58.0

INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (222, 226, 230)

LABELS: dict[str, dict[str, str]] = {
    "id": {
        "document": "BUKTI ELEKTRONIK",
        "title": "Tanda Selesai Layanan",
        "for": "atas layanan:",
        "number": "Nomor Registrasi",
        "applicant": "Nama Pemohon",
        "tracking": "Nomor Registrasi",
        "service": "Jenis Layanan",
        "issued": "Tanggal Terbit",
        "details": "Keterangan",
        "verify_title": "Verifikasi Keaslian Dokumen",
        "verify_caption": "Pindai untuk memeriksa keaslian dokumen",
        "verify_or": "atau buka alamat berikut:",
        "note": "Tanda selesai layanan ini diterbitkan secara elektronik melalui {platform} {region}. "
                "Keasliannya dapat diperiksa kapan saja melalui kode QR di atas. Tanda ini bukan dokumen resmi "
                "yang dimohon: dokumen resmi diterbitkan oleh instansi yang berwenang.",
        "page": "Halaman {page} dari {pages}",
    },
    "en": {
        "document": "ELECTRONIC RECEIPT",
        "title": "Service completion receipt",
        "for": "for the service:",
        "number": "Tracking number",
        "applicant": "Applicant",
        "tracking": "Tracking number",
        "service": "Service",
        "issued": "Issued on",
        "details": "Details",
        "verify_title": "Document verification",
        "verify_caption": "Scan to verify this document",
        "verify_or": "or open this address:",
        "note": "This service completion receipt was issued electronically through the {platform} of {region}. "
                "Its authenticity can be checked at any time with the QR code above. It is not the official "
                "document applied for, which the competent agency issues.",
        "page": "Page {page} of {pages}",
    },
}


@dataclass(frozen=True)
class IssuedDocument:
    """Everything printed on an issued document, already formatted, localised and masked by the caller."""

    region_name: str
    primary_color: str  # "#RRGGBB"
    service_name: str
    output_name: str  # the product the receipt is for, e.g. "Kutipan Akta Kelahiran"; never printed as the title
    applicant_name: str
    tracking_number: str
    issued_at: str  # local time, already formatted, e.g. "29 November 2026 14:05 WITA"
    verify_url: str
    details: tuple[tuple[str, str], ...] = ()
    language: str = "id"


# --- text safety -------------------------------------------------------------------------------------------------

_REPLACEMENTS = {
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i", "Ŀ": "L", "ŀ": "l", "Œ": "OE", "œ": "oe",
    "ſ": "s", "ƒ": "f", "ŉ": "'n", "ĸ": "k", "Ŋ": "N", "ŋ": "n", "Ŧ": "T", "ŧ": "t",
    "\u2018": "'", "\u2019": "'", "\u201a": ",", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "\u00b7", "\u2027": "\u00b7", "\u20ac": "EUR", "\u2122": "TM", "\u2116": "No.",
    "\u2192": "->", "\u2190": "<-",
}
_SPACES = re.compile(r"[ \t]{2,}")


def latin1_safe(text: str) -> str:
    """``text`` printable with a Latin-1 core font: transliterated where sensible, symbols and emoji dropped."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", str(text)):
        code = ord(ch)
        if ch == "\n" or 0x20 <= code < 0x7F or 0xA0 <= code <= 0xFF:
            out.append(ch)
        elif ch in _REPLACEMENTS:
            out.append(_REPLACEMENTS[ch])
        elif ch in "\t\r" or unicodedata.category(ch) == "Zs":
            out.append(" ")
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            if base and all(0x20 <= ord(c) < 0x7F or 0xA0 <= ord(c) <= 0xFF for c in base):
                out.append(base)  # accented letters outside Latin-1, ligatures, full-width forms
            elif unicodedata.category(ch)[0] in "CMS":
                continue  # emoji, symbols, zero-width joiners, variation selectors, control characters
            else:
                out.append("?")  # a letter of another script: say that something is there
    return _SPACES.sub(" ", "".join(out)).strip()


# --- colours -------------------------------------------------------------------------------------------------------

def parse_color(value: str) -> tuple[int, int, int]:
    """``"#RRGGBB"`` as an RGB triple; the default navy for anything else."""
    match = re.fullmatch(r"#?([0-9a-fA-F]{6})", (value or "").strip())
    if not match:
        return DEFAULT_COLOR
    hexa = match.group(1)
    return int(hexa[0:2], 16), int(hexa[2:4], 16), int(hexa[4:6], 16)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _mix(rgb: tuple[int, int, int], other: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(round(a + (b - a) * amount) for a, b in zip(rgb, other, strict=True))  # type: ignore[return-value]


def text_accent(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The region's colour darkened until text in it reads well on white (a yellow band gives an ochre text)."""
    accent = rgb
    while _luminance(accent) > 0.16:
        accent = _mix(accent, (0, 0, 0), 0.12)
    return accent


def qr_png(url: str) -> io.BytesIO:
    """The QR code of ``url`` as an in-memory PNG with its full 4-module quiet zone."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=10, border=4)
    buffer.seek(0)
    return buffer


# --- the page ------------------------------------------------------------------------------------------------------

class _Page(FPDF):
    """A4 with the footer (a rule in the region's colour, the issuing note's page numbers) on every page."""

    def __init__(self, doc: IssuedDocument, color: tuple[int, int, int], primary: dict, secondary: dict):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc, self.color, self.primary, self.secondary = doc, color, primary, secondary
        self.accent = text_accent(color)
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(False)

    def footer(self) -> None:
        y = PAGE_H - FOOTER_H + 6
        self.set_draw_color(*self.color)
        self.set_line_width(0.6)
        self.line(MARGIN, y, PAGE_W - MARGIN, y)
        self.set_text_color(*MUTED)
        self.set_font("Helvetica", "", 7.5)
        self.set_xy(MARGIN, y + 2)
        self.cell(CONTENT_W * 0.7, 4, latin1_safe(f"{PLATFORM_NAME} - {self.doc.region_name}"))
        pages = self.primary["page"].format(page=self.page_no(), pages="{nb}")
        self.cell(CONTENT_W * 0.3, 4, pages, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("Courier", "", 7.5)
        self.cell(CONTENT_W, 4, latin1_safe(self.doc.tracking_number))


def _label(pdf: _Page, key: str, x: float, y: float, w: float, align: Align = Align.L,
           size: float = 9.5, bold: bool = False) -> float:
    """The label in the document's language with its translation in smaller, grey italics; returns the bottom."""
    pdf.set_xy(x, y)
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B" if bold else "", size)
    pdf.multi_cell(w, size * 0.45, pdf.primary[key], align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_text_color(*MUTED)
    pdf.set_font("Helvetica", "I", size * 0.78)
    pdf.multi_cell(w, size * 0.38, pdf.secondary[key], align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
    return pdf.get_y()


def _header(pdf: _Page) -> float:
    """The band in the region's colour (taller when a long region name wraps); returns its bottom."""
    doc, color = pdf.doc, pdf.color
    on_band = (255, 255, 255) if _luminance(color) < 0.45 else INK
    region, service = latin1_safe(doc.region_name), latin1_safe(doc.service_name)
    pdf.set_font("Helvetica", "B", 17)
    region_lines = len(pdf.multi_cell(CONTENT_W, 7.5, region, dry_run=True, output="LINES"))
    pdf.set_font("Helvetica", "", 10.5)
    service_lines = len(pdf.multi_cell(CONTENT_W, 5, service, dry_run=True, output="LINES"))
    band_h = max(BAND_H, 14 + region_lines * 7.5 + 1 + service_lines * 5 + 7)
    pdf.set_fill_color(*color)
    pdf.rect(0, 0, PAGE_W, band_h, style="F")
    pdf.set_fill_color(*_mix(color, (0, 0, 0), 0.25))
    pdf.rect(0, band_h, PAGE_W, 1.4, style="F")

    pdf.set_text_color(*on_band)
    pdf.set_xy(MARGIN, 8)
    pdf.set_font("Helvetica", "B", 7.5)
    pdf.set_char_spacing(1.2)
    pdf.cell(CONTENT_W * 0.62, 4, PLATFORM_NAME.upper())
    pdf.cell(CONTENT_W * 0.38, 4, pdf.primary["document"], align=Align.R)
    pdf.set_char_spacing(0)
    pdf.set_font("Helvetica", "I", 7.5)
    pdf.set_xy(MARGIN, 12)
    pdf.cell(CONTENT_W, 3.5, pdf.secondary["document"].title(), align=Align.R)
    pdf.set_xy(MARGIN, 14)
    pdf.set_font("Helvetica", "B", 17)
    pdf.multi_cell(CONTENT_W, 7.5, region, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(pdf.get_y() + 1)
    pdf.set_font("Helvetica", "", 10.5)
    pdf.multi_cell(CONTENT_W, 5, service, align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return band_h


def _title(pdf: _Page, band_bottom: float) -> float:
    doc = pdf.doc
    pdf.set_xy(MARGIN, band_bottom + 12)
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(CONTENT_W, 9, pdf.primary["title"].upper(), align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(*MUTED)
    pdf.set_font("Helvetica", "I", 9.5)
    pdf.multi_cell(CONTENT_W, 4.5, pdf.secondary["title"], align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    # the product appears only as what the receipt is for: the official document is another agency's
    pdf.set_y(pdf.get_y() + 2)
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "", 11.5)
    pdf.multi_cell(CONTENT_W, 5.5, f"{pdf.primary['for']} {latin1_safe(doc.output_name)}", align=Align.C,
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    y = pdf.get_y() + 2
    pdf.set_draw_color(*pdf.color)
    pdf.set_line_width(0.8)
    pdf.line(PAGE_W / 2 - 18, y, PAGE_W / 2 + 18, y)
    pdf.set_xy(MARGIN, y + 3)
    pdf.set_font("Helvetica", "", 10)
    pdf.set_text_color(*MUTED)
    number = f"{pdf.primary['number']} / {pdf.secondary['number']}:  "
    pdf.set_font("Helvetica", "", 9.5)
    w_label = pdf.get_string_width(number)
    pdf.set_font("Courier", "B", 12)
    w_value = pdf.get_string_width(latin1_safe(doc.tracking_number))
    pdf.set_x((PAGE_W - w_label - w_value) / 2)
    pdf.set_font("Helvetica", "", 9.5)
    pdf.cell(w_label, 6, number)
    pdf.set_text_color(*INK)
    pdf.set_font("Courier", "B", 12)
    pdf.cell(w_value, 6, latin1_safe(doc.tracking_number), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return pdf.get_y() + 8


def _value_lines(pdf: _Page, text: str) -> list[str]:
    pdf.set_font("Helvetica", "B", 10.5)
    return pdf.multi_cell(VALUE_W - 4, 5.2, text, dry_run=True, output="LINES", wrapmode=WrapMode.WORD)


def _rows(pdf: _Page) -> list[tuple[str | None, str, str]]:
    """(label key or None, literal label, value) in print order."""
    doc = pdf.doc
    rows: list[tuple[str | None, str, str]] = [
        ("applicant", "", doc.applicant_name),
    ]
    rows += [(None, latin1_safe(label), value) for label, value in doc.details]
    rows.append(("issued", "", doc.issued_at))
    return rows


def _table(pdf: _Page, y: float) -> float:
    bottom = PAGE_H - FOOTER_H - 4
    pdf.set_xy(MARGIN, y)
    pdf.set_text_color(*pdf.accent)
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_char_spacing(0.8)
    pdf.cell(CONTENT_W, 5, f"{pdf.primary['details'].upper()}  /  {pdf.secondary['details'].upper()}",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_char_spacing(0)
    y = pdf.get_y() + 1
    pdf.set_draw_color(*pdf.color)
    pdf.set_line_width(0.4)
    pdf.line(MARGIN, y, PAGE_W - MARGIN, y)
    y += 1
    for index, (key, literal, value) in enumerate(_rows(pdf)):
        value = latin1_safe(value) or "-"
        lines = _value_lines(pdf, value)
        pdf.set_font("Helvetica", "", 9.5)
        label_lines = 1 if key else len(pdf.multi_cell(LABEL_W - 4, 4.3, literal, dry_run=True, output="LINES"))
        label_h = 8.0 if key else label_lines * 4.3
        row_h = max(len(lines) * 5.2, label_h) + 4.4
        if y + row_h > bottom:
            pdf.add_page()
            y = MARGIN
        if index % 2 == 1:
            pdf.set_fill_color(*_mix(pdf.color, (255, 255, 255), 0.94))
            pdf.rect(MARGIN, y, CONTENT_W, row_h, style="F")
        if key:
            _label(pdf, key, MARGIN + 2, y + 2.5, LABEL_W - 4)
        else:
            pdf.set_xy(MARGIN + 2, y + 2.5)
            pdf.set_text_color(*INK)
            pdf.set_font("Helvetica", "", 9.5)
            pdf.multi_cell(LABEL_W - 4, 4.3, literal, align=Align.L)
        pdf.set_xy(MARGIN + LABEL_W, y + 2.5)
        pdf.set_text_color(*INK)
        pdf.set_font("Helvetica", "B", 10.5)
        pdf.multi_cell(VALUE_W - 4, 5.2, value, align=Align.L, wrapmode=WrapMode.WORD)
        y += row_h
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.2)
        pdf.line(MARGIN, y, PAGE_W - MARGIN, y)
    return y


def _verification_panel(pdf: _Page, y_after_table: float) -> None:
    doc = pdf.doc
    note_h = 14.0
    top = PAGE_H - FOOTER_H - 4 - note_h - PANEL_H
    if y_after_table + 8 > top:  # a long table: the panel goes at the top of its own page
        pdf.add_page()
        top = MARGIN + 4
    pdf.set_draw_color(*_mix(pdf.color, (255, 255, 255), 0.55))
    pdf.set_line_width(0.4)
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(MARGIN, top, CONTENT_W, PANEL_H, style="DF")
    pdf.set_fill_color(*pdf.color)
    pdf.rect(MARGIN, top, 2.2, PANEL_H, style="F")

    qr_x, qr_y = MARGIN + 6, top + (PANEL_H - QR_MM) / 2
    pdf.image(qr_png(doc.verify_url), x=qr_x, y=qr_y, w=QR_MM, h=QR_MM,
              alt_text=f"QR code: {latin1_safe(doc.verify_url)}")

    x = qr_x + QR_MM + 6
    w = PAGE_W - MARGIN - 6 - x
    y = _label(pdf, "verify_title", x, top + 8, w, size=12, bold=True)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.line(x, y + 2, x + w, y + 2)
    y = _label(pdf, "verify_caption", x, y + 5, w, size=10)
    y = _label(pdf, "verify_or", x, y + 3, w, size=8)
    pdf.set_xy(x, y + 1.5)
    pdf.set_text_color(*pdf.accent)
    pdf.set_font("Courier", "B", 8.5)
    pdf.multi_cell(w, 4, latin1_safe(doc.verify_url), align=Align.L, wrapmode=WrapMode.CHAR,
                   link=doc.verify_url if doc.verify_url.isascii() else None)

    region = latin1_safe(doc.region_name)
    pdf.set_xy(MARGIN, top + PANEL_H + 4)
    pdf.set_text_color(*MUTED)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(CONTENT_W, 3.8, pdf.primary["note"].format(platform=PLATFORM_NAME, region=region),
                   align=Align.L, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "I", 7)
    pdf.multi_cell(CONTENT_W, 3.4, pdf.secondary["note"].format(platform=PLATFORM_NAME, region=region),
                   align=Align.L)


def render_issued_document(doc: IssuedDocument) -> bytes:
    """The issued document as PDF bytes. Pure and picklable: meant to run in ``mppi.runtime.procpool``."""
    primary_lang = doc.language if doc.language in LABELS else "id"
    secondary_lang = "en" if primary_lang == "id" else "id"
    pdf = _Page(doc, parse_color(doc.primary_color), LABELS[primary_lang], LABELS[secondary_lang])
    pdf.set_title(latin1_safe(f"{pdf.primary['title']} - {doc.tracking_number}"))
    pdf.set_author(latin1_safe(f"{PLATFORM_NAME} {doc.region_name}"))
    pdf.set_subject(latin1_safe(doc.service_name))
    pdf.set_creator(PLATFORM_NAME)
    pdf.set_lang("id-ID" if primary_lang == "id" else "en")
    pdf.add_page()
    y = _title(pdf, _header(pdf))
    y = _table(pdf, y)
    _verification_panel(pdf, y)
    return bytes(pdf.output())
