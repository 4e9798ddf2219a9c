"""Bilingual text read in one language: ``{"id": ..., "en": ...}`` becomes the string of the caller's language."""
from __future__ import annotations

from typing import Any

LANGUAGES = ("id", "en")


def localize(value: Any, lang: str) -> Any:
    """Replace every bilingual object in ``value`` by its text in ``lang`` (Indonesian when missing).

    An object is bilingual when its keys are ``en`` and optionally ``id`` with string values: an ``{"id": ...}``
    alone is left as it is, since ``id`` is also the name of every identifier field.
    """
    if isinstance(value, dict):
        if "en" in value and len(value) <= 2 and value.keys() <= {"id", "en"} and all(
                isinstance(v, str) for v in value.values()):
            return value.get(lang) or value.get("id") or value["en"]
        return {k: localize(v, lang) for k, v in value.items()}
    if isinstance(value, list):
        return [localize(v, lang) for v in value]
    return value
