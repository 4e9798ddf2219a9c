"""Verification codes printed (as a QR code) on every document the platform issues.

A code is the application's tracking number, a dot and a truncated HMAC-SHA256 of that tracking number under the
platform's secret, e.g. ``BKT-26-7K3Q9X.MZXW6YTBOI2DQNLK``. The signature is 80 bits, written as 16 characters of
unpadded upper-case base32, so the code stays URL-safe, readable over the phone and short enough for a small QR
code, while nobody without the secret can make a code for a tracking number that was never issued.

``read_code`` answers the public ``/verify/{code}`` page: it gives the tracking number back only when the signature
matches (compared in constant time) and ``None`` for anything else, without saying why.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

SIGNATURE_BYTES = 10  # 80 bits -> exactly 16 base32 characters, no padding
SIGNATURE_CHARS = 16
SEPARATOR = "."
MAX_TRACKING_LENGTH = 40

_DOMAIN = b"mppi/issued-document/v1\x00"  # keeps these signatures apart from anything else signed with the secret
_TRACKING = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
_CODE = re.compile(rf"(?P<tracking>[A-Z0-9-]{{1,{MAX_TRACKING_LENGTH}}})\.(?P<signature>[A-Z2-7]{{{SIGNATURE_CHARS}}})")


def _signature(secret: bytes, tracking_number: str) -> str:
    digest = hmac.new(secret, _DOMAIN + tracking_number.encode("ascii"), hashlib.sha256).digest()
    return base64.b32encode(digest[:SIGNATURE_BYTES]).decode("ascii")


def _valid_tracking_number(tracking_number: str) -> bool:
    return len(tracking_number) <= MAX_TRACKING_LENGTH and _TRACKING.fullmatch(tracking_number) is not None


def make_code(secret: bytes, tracking_number: str) -> str:
    """The signed verification code for ``tracking_number`` (upper-case letters, digits and single dashes)."""
    if not secret:
        raise ValueError("the signing secret must not be empty")
    if not _valid_tracking_number(tracking_number):
        raise ValueError(f"not a tracking number: {tracking_number!r}")
    return f"{tracking_number}{SEPARATOR}{_signature(secret, tracking_number)}"


def read_code(secret: bytes, code: str) -> str | None:
    """The tracking number inside ``code`` when its signature is ours, else ``None`` (garbage, tampered, other key)."""
    if not secret or not isinstance(code, str) or len(code) > MAX_TRACKING_LENGTH + 1 + SIGNATURE_CHARS:
        return None
    match = _CODE.fullmatch(code)
    if match is None or not _valid_tracking_number(match["tracking"]):
        return None
    tracking_number = match["tracking"]
    if not hmac.compare_digest(_signature(secret, tracking_number), match["signature"]):
        return None
    return tracking_number
