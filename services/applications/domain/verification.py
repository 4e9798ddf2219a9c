"""Verification codes printed (as a QR code) on every document the platform issues, bound to what it prints.

A code is the application's tracking number, a dot and a truncated HMAC-SHA256, under the platform's secret, of
the tracking number and the SHA-256 of the receipt's facts (region, service, product, holder, details and issue
time, as printed), e.g. ``BKT-26-7K3Q9X.MZXW6YTBOI2DQNLK``. The signature is 80 bits, written as 16 characters of
unpadded upper-case base32, so the code stays URL-safe, readable over the phone and short enough for a small QR
code, while nobody without the secret can make a code for a document that was never issued.

The facts are kept with the issued document, and the public ``/verify/{code}`` page shows them (the holder masked),
so a reader compares them with the paper: a genuine code copied onto an edited receipt shows the original's facts,
and facts altered where they are kept no longer match their code. ``code_attests`` answers only yes or no, in
constant time, without saying why.

Codes issued before (``mppi/issued-document/v1``) sign the tracking number alone: ``code_attests(..., facts=None)``
still reads them, and ``legacy_code`` makes one (to read them, and in tests); nothing issues them any more.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any

SIGNATURE_BYTES = 10  # 80 bits -> exactly 16 base32 characters, no padding
SIGNATURE_CHARS = 16
SEPARATOR = "."
MAX_TRACKING_LENGTH = 40
MAX_CODE_LENGTH = MAX_TRACKING_LENGTH + 1 + SIGNATURE_CHARS

# keep these signatures apart from anything else signed with the secret, and the two versions apart from each other
_DOMAIN_V1 = b"mppi/issued-document/v1\x00"
_DOMAIN = b"mppi/issued-document/v2\x00"
_TRACKING = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
_CODE = re.compile(rf"(?P<tracking>[A-Z0-9-]{{1,{MAX_TRACKING_LENGTH}}})\.(?P<signature>[A-Z2-7]{{{SIGNATURE_CHARS}}})")


def facts_digest(facts: Mapping[str, Any]) -> bytes:
    """SHA-256 of the facts as canonical JSON (sorted keys, no spaces, UTF-8): the same facts, the same digest."""
    canonical = json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def _sign(secret: bytes, message: bytes) -> str:
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.b32encode(digest[:SIGNATURE_BYTES]).decode("ascii")


def _message(tracking_number: str, facts: Mapping[str, Any] | None) -> bytes:
    if facts is None:
        return _DOMAIN_V1 + tracking_number.encode("ascii")
    return _DOMAIN + tracking_number.encode("ascii") + b"\x00" + facts_digest(facts)


def _valid_tracking_number(tracking_number: str) -> bool:
    return len(tracking_number) <= MAX_TRACKING_LENGTH and _TRACKING.fullmatch(tracking_number) is not None


def _checked(secret: bytes, tracking_number: str) -> None:
    if not secret:
        raise ValueError("the signing secret must not be empty")
    if not _valid_tracking_number(tracking_number):
        raise ValueError(f"not a tracking number: {tracking_number!r}")


def make_code(secret: bytes, tracking_number: str, facts: Mapping[str, Any]) -> str:
    """The signed verification code of the document for ``tracking_number`` that prints ``facts``."""
    _checked(secret, tracking_number)
    return f"{tracking_number}{SEPARATOR}{_sign(secret, _message(tracking_number, facts))}"


def legacy_code(secret: bytes, tracking_number: str) -> str:
    """A code as issued before codes were bound to their document's facts: over the tracking number alone."""
    _checked(secret, tracking_number)
    return f"{tracking_number}{SEPARATOR}{_sign(secret, _message(tracking_number, None))}"


def tracking_number_of(code: str) -> str | None:
    """The tracking number of something shaped like a code (no key checked: see ``code_attests``), else ``None``."""
    if not isinstance(code, str) or len(code) > MAX_CODE_LENGTH:
        return None
    match = _CODE.fullmatch(code)
    if match is None or not _valid_tracking_number(match["tracking"]):
        return None
    return match["tracking"]


def code_attests(secret: bytes, code: str, facts: Mapping[str, Any] | None) -> bool:
    """Whether ``code`` is ours for the document that prints ``facts`` (``None``: a legacy code, which signs its
    tracking number alone). False for garbage, a tampered code or facts, another key, the other version."""
    tracking_number = tracking_number_of(code)
    if not secret or tracking_number is None:
        return False
    signature = code.rpartition(SEPARATOR)[2]
    return hmac.compare_digest(_sign(secret, _message(tracking_number, facts)), signature)
