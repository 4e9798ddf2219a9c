"""Checking an uploaded file against its form field: size, and type recognised from the content; the name's
extension, when it has one, must agree with that content. Names are kept as names: ``clean_filename`` makes the
one shown, ``download_name`` the one a download is saved under, its extension ours (from the content).

``check_file`` gives a status hint per file (413 too large, 415 wrong type, 422 empty) and ``response_status``
turns the hints of a submission into the status API.md asks for: 413 / 415 only when every problem of the request
is of that one kind, else 422. Only a file's first bytes are ever read here: nothing is decoded or unpacked.
"""
from __future__ import annotations

import re
import unicodedata

from mppi.contracts.errors import field_error

__all__ = ["EXECUTABLE", "MIB", "check_file", "clean_filename", "download_name", "extension_of", "response_status",
           "sniff"]

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
# The extensions a name of each recognised type may end in; the first is the one a download gets. A ZIP container
# may be any of the archive and office formats built on it (sniffing the first bytes cannot tell them apart).
EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "image/tiff": (".tif", ".tiff"),
    ZIP: (".zip", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp"),
}
_EXTENSION = re.compile(r"\.([A-Za-z][A-Za-z0-9]{0,5})$")  # ".pdf", ".jpeg"; not the ".2024" of "KK 12.03.2024"
_UNSAFE = re.compile(r'[<>:"/\\|?*]')  # not allowed, or meaning something else, in a file name on some system
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


def extension_of(filename: str) -> str | None:
    """The extension a name ends in, lower case with its dot (``".pdf"``), or None when it has none."""
    found = _EXTENSION.search((filename or "").strip())
    return "." + found.group(1).lower() if found else None


def clean_filename(filename: str, fallback: str = "berkas") -> str:
    """A client's file name as a name only: its last path part (``../../etc/x.pdf`` → ``x.pdf``, Windows paths
    too), without control or formatting characters (NUL, line breaks, right-to-left overrides: U+202E shows
    ``kk<U+202E>fdp.exe`` as ``kkexe.pdf``), without leading dots or characters some systems forbid in names,
    at most 200 characters with its extension kept; ``fallback`` when nothing is left."""
    name = unicodedata.normalize("NFC", filename or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(_UNSAFE.sub("_", name).split()).lstrip(". ").rstrip(" ")
    if len(name) > 200:
        ext = extension_of(name) or ""
        name = name[:200 - len(ext)].rstrip(". ") + ext
    return name or fallback


def download_name(filename: str, kind: str) -> str:
    """The name a document is downloaded under: the cleaned name's stem and the extension of its content's type
    (``kind``, as sniffed), never the one the client gave, so a file opens as what it is. A ZIP container keeps an
    archive or office extension its name already agreed with (a .docx stays .docx)."""
    name = clean_filename(filename)
    ext = extension_of(name)
    stem = (name[:-len(ext)] if ext else name).rstrip(". ") or "berkas"
    kept = EXTENSIONS.get(kind, (".bin",))
    return stem + (ext if kind == ZIP and ext in kept else kept[0])


def _name(kind: str) -> str:
    return _NAMES.get(kind, kind)


def _megabytes(n: float) -> str:
    return f"{n:g} MB"


def _accepts(accept: list[str] | None, kind: str) -> bool:
    if not accept:  # no list: any recognised type that is not a program
        return True
    wanted = {_ALIASES.get(a.lower(), a.lower()) for a in accept}
    return kind in wanted or (kind == ZIP and bool(wanted & _ZIP_KINDS))


def check_file(field: dict, *, size: int, head: bytes, loc: tuple,
               filename: str | None = None) -> tuple[int | None, list[dict]]:
    """Check one uploaded file of ``size`` bytes whose content starts with ``head`` against its ``field``.

    Returns ``(status_hint, problems)``: ``(None, [])`` when it is fine; 422 for an empty file; 413 when it is
    over ``max_size_mb`` MiB; 415 when its content is not of a type in ``accept`` (``image/jpg`` counts as
    ``image/jpeg``; a field without ``accept`` takes any recognised type) or is a program, whatever ``accept``
    says, or when ``filename`` has an extension its content disagrees with (a PNG named .pdf, a PDF named .jpg);
    a name without an extension claims nothing. Too large and of a wrong type: both problems, hint 413.
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
    elif (ext := extension_of(clean_filename(filename or ""))) and ext not in EXTENSIONS.get(kind, ()):
        problems.append(field_error(list(loc), f"is named {ext} but is a {_name(kind)} file; name it "
                                               f"{EXTENSIONS[kind][0]} or choose a file of the type its name says"))
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
