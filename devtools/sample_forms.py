"""Valid sample answers to a service's form, for tests and benchmarks: the values of each field type, a minimal PDF
(or a padded one of a given size) for the file fields, and requests' keyword arguments for a multipart submission."""
from __future__ import annotations

import json

MINIMAL_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
               b"3 0 obj<</Type/Page/MediaBox[0 0 200 200]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
REGION_BY_LEVEL = {"province": "73", "regency": "73.07", "district": "73.07.01", None: "73.07"}


def padded_pdf(size: int) -> bytes:
    """MINIMAL_PDF followed by PDF comment lines up to ``size`` bytes: still a PDF (it starts with ``%PDF-``), the
    size of a scanned document."""
    if size <= len(MINIMAL_PDF):
        return MINIMAL_PDF
    line = b"%" + b"x" * 78 + b"\n"  # a comment line, ignored by readers
    pad = size - len(MINIMAL_PDF)
    body = line * (pad // len(line))
    rest = pad - len(body)
    if rest:
        body += (b"%" + b"x" * (rest - 2) + b"\n") if rest >= 2 else b"\n"
    return MINIMAL_PDF + body


def fill_form(fields: list[dict], *, nik: str = "7307014501900001",
              file_bytes: bytes = MINIMAL_PDF) -> tuple[dict, dict]:
    """A valid answer to a service's form: (form values, files {key: (filename, bytes, content type)}); every file
    field gets ``file_bytes`` as a PDF."""
    form, files = {}, {}
    for f in fields:
        t = f["type"]
        if t == "file":
            files[f["key"]] = (f"{f['key']}.pdf", file_bytes, "application/pdf")
        elif t == "nik":
            form[f["key"]] = nik
        elif t == "date":
            form[f["key"]] = "2024-01-15"
        elif t == "region":
            form[f["key"]] = REGION_BY_LEVEL[f.get("level")]
        elif t == "select":
            form[f["key"]] = f["options"][0]["value"]
        elif t == "checkbox":
            form[f["key"]] = True
        elif t == "email":
            form[f["key"]] = "warga@example.id"
        elif t == "phone":
            form[f["key"]] = "081234567890"
        elif t == "number":
            form[f["key"]] = max(1, int(f.get("min") or 1))
        else:
            form[f["key"]] = "Contoh isian"
    return form, files


def multipart(data: dict, files: dict) -> dict:
    """requests' keyword arguments for a submission: the JSON data part and one part per file."""
    return {"files": {"data": (None, json.dumps(data), "application/json"), **files}}
