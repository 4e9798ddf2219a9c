"""Personal data as it is shown to anyone but its owner and the staff handling it (UU 27/2022): masked, written
once. NIKs have their own rule (``mppi.indonesia.nik.mask_nik``)."""
from __future__ import annotations

import re

__all__ = ["mask_detail", "mask_name"]

_MASKED_NIK = re.compile(r"[0-9]{4}\*{8}[0-9]{4}")


def mask_name(text: str) -> str:
    """Each word's first character, the rest of it as stars, word lengths kept so a reader can compare with what
    is printed: ``Budi Santoso`` -> ``B*** S******``. Never raises."""
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in str(text).split())


def mask_detail(value: str) -> str:
    """A value a document prints, for the public: a NIK it printed masked (``1709********0001``) stays as it is,
    anything else is masked as a name."""
    value = str(value).strip()
    return value if _MASKED_NIK.fullmatch(value) else mask_name(value)
