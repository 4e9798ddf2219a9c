"""Shapes used across contracts: bilingual text, slugs and region codes, the request base, list cursors."""
from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

# Text in two languages is {"id": ..., "en": ...}; a plain string means Indonesian.
LocalizedText = Annotated[str, StringConstraints(min_length=1, max_length=500)] | dict[str, str]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", min_length=3, max_length=63)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{2}\.\d{2}$")]


class Request(BaseModel):
    """Base of every request body: unknown fields are refused, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def localize(text: Any, lang: str) -> Any:
    """Read bilingual text in ``lang`` (falling back to Indonesian); plain strings are returned as they are."""
    if isinstance(text, dict) and ("id" in text or "en" in text):
        return text.get(lang) or text.get("id") or text.get("en")
    return text





def encode_cursor(at: datetime, id_: str) -> str:
    """An opaque list cursor: the (time, id) of the last item, for keyset paging."""
    return base64.urlsafe_b64encode(json.dumps([at.isoformat(), id_]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        at, id_ = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(at), str(id_)
    except (ValueError, TypeError):
        from mppi.contracts.errors import ValidationFailed, field_error

        raise ValidationFailed("cursor comes from next_cursor", [field_error(["query", "cursor"], "invalid")]) from None
