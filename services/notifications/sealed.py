"""Secrets this service keeps for regions (webhook secrets, SMS / WhatsApp provider tokens), sealed at rest with
Fernet under MPPI_DATA_KEY: a copy of the database or of a backup does not give them away."""
from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from mppi.runtime import settings


class Unreadable(RuntimeError):
    """A sealed value none of the keys opens (MPPI_DATA_KEY is not the key it was sealed with)."""


@functools.cache
def _fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    # any secret string is a key: Fernet wants 32 url-safe base64 bytes, so it gets a hash of the secret
    return MultiFernet([Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"mppi-data-key:" + key).digest()))
                        for key in keys])


def _keys() -> tuple[bytes, ...]:
    return tuple(settings.get().data_keys())


def seal(plain: str) -> str:
    return _fernet(_keys()).encrypt(plain.encode()).decode("ascii")


def unseal(sealed: str) -> str:
    try:
        return _fernet(_keys()).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        raise Unreadable("a stored secret cannot be opened with MPPI_DATA_KEY (was the key changed?)") from None
