"""Checking an uploaded file against its form field: size, and type recognised from the content, never the name.

``check_file`` gives a status hint per file (413 too large, 415 wrong type, 422 empty) and ``response_status``
turns the hints of a submission into the status API.md asks for: 413 / 415 only when every problem of the request
is of that one kind, else 422.
"""
from __future__ import annotations

from mppi.contracts.errors import field_error

__all__ = ["EXECUTABLE", "MIB", "check_file", "response_status", "sniff"]

MIB = 1024 * 1024
EXECUTABLE = "application/x-executable"
ZIP = "application/zip"
PDF_WINDOW = 1024  # readers accept a PDF whose header is anywhere in the first 1024 bytes

_EXECUTABLE_MAGIC = (
    b"MZ",  # Windows PE / DOS
    b"\x7fELF",  # Linux and most Unix
    b"\xfe\xed\xfa\xce", b"\xce\xfa\xed\xfe",  # Mach-O 32-bit, big and little endian
    b"\xfe\xed\xfa\xcf", b"\xcf\xfa\xed\xfe",  # Mach-O 64-bit, big and little endian
    b"\xca\xfe\xba\xbe",  # Mach-O universal (fat) binary, also a Java class file
    b"#!", b"\xef\xbb\xbf#!",  # a script with an interpreter line (also after a UTF-8 byte order mark)
)
_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),  # an empty archive
    (b"PK\x07\x08", ZIP),  # a spanned archive
)
# Accept-list entries that a ZIP container satisfies: Office Open XML and OpenDocument files are ZIP archives.
_ZIP_KINDS = frozenset({
    ZIP, "application/x-zip-compressed",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf",
            "image/x-png": "image/png"}
_NAMES = {
    "application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WebP",
    "image/tiff": "TIFF", ZIP: "ZIP", EXECUTABLE: "an executable or script",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "DOCX",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PPTX",
}


def sniff(head: bytes) -> str | None:
    """The MIME type the first bytes of a file show (read at least 1024 bytes for PDF), or None when unknown.

    Executables and scripts (Windows PE, ELF, Mach-O, ``#!``) answer ``application/x-executable`` and are looked
    for first, so a program that also carries a PDF header is still a program. ZIP-based files (DOCX, XLSX, ODT)
    answer ``application/zip``.
    """
    head = bytes(head or b"")
    if head.startswith(_EXECUTABLE_MAGIC):
        return EXECUTABLE
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if b"%PDF-" in head[:PDF_WINDOW]:
        return "application/pdf"
    return None


def _name(kind: str) -> str:
    return _NAMES.get(kind, kind)


def _megabytes(n: float) -> str:
    return f"{n:g} MB"


def _accepts(accept: list[str] | None, kind: str) -> bool:
    if not accept:  # no list: any recognised type that is not a program
        return True
    wanted = {_ALIASES.get(a.lower(), a.lower()) for a in accept}
    return kind in wanted or (kind == ZIP and bool(wanted & _ZIP_KINDS))


def check_file(field: dict, *, size: int, head: bytes, loc: tuple) -> tuple[int | None, list[dict]]:
    """Check one uploaded file of ``size`` bytes whose content starts with ``head`` against its ``field``.

    Returns ``(status_hint, problems)``: ``(None, [])`` when it is fine; 422 for an empty file; 413 when it is
    over ``max_size_mb`` MiB; 415 when its content is not of a type in ``accept`` (``image/jpg`` counts as
    ``image/jpeg``; a field without ``accept`` takes any recognised type) or is a program, whatever ``accept``
    says. Too large and of a wrong type: both problems, hint 413.
    """
    if size <= 0 or not head:
        return 422, [field_error(list(loc), "is an empty file")]
    problems: list[dict] = []
    hint: int | None = None
    limit = field.get("max_size_mb")
    if limit is not None and size > limit * MIB:
        problems.append(field_error(list(loc), f"is {size / MIB:.1f} MB, over the {_megabytes(limit)} limit"))
        hint = 413
    kind = sniff(head)
    accept = field.get("accept") or []
    shown = ", ".join(dict.fromkeys(_name(_ALIASES.get(a, a)) for a in accept)) or "PDF, JPEG, PNG and similar"
    if kind is None:
        problems.append(field_error(list(loc), f"is not a file type that can be recognised; accepted: {shown}"))
    elif kind == EXECUTABLE:
        problems.append(field_error(list(loc), f"is an executable or script, never accepted; accepted: {shown}"))
    elif not _accepts(accept, kind):
        problems.append(field_error(list(loc), f"is a {_name(kind)} file; accepted: {shown}"))
    if len(problems) > (1 if hint else 0):
        hint = hint or 415
    return hint, problems


def response_status(hints: list[int | None], other_problems: int) -> int:
    """The HTTP status of a refused submission (API.md): 413 when every problem is a file too large, 415 when
    every problem is a file of an unsupported type, else 422.

    ``hints`` are ``check_file``'s status hints (None for files that passed); ``other_problems`` counts every
    other problem of the request (form fields, missing or unexpected files). A file both too large and of a wrong
    type hints 413, so it counts as a size problem.
    """
    kinds = {h for h in hints if h is not None}
    if other_problems == 0 and len(kinds) == 1 and kinds <= {413, 415}:
        return kinds.pop()
    return 422
