"""Shapes used across contracts: bilingual text, list pages, request model base."""
from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")

# Text in two languages is {"id": ..., "en": ...}; a plain string means Indonesian.
LocalizedText = Annotated[str, StringConstraints(min_length=1, max_length=500)] | dict[str, str]

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", min_length=3, max_length=63)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{2}\.\d{2}$")]


class Request(BaseModel):
    """Base of every request body: unknown fields are refused, so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def localize(text: Any, lang: str) -> Any:
    """Read bilingual text in ``lang`` (falling back to Indonesian); plain strings are returned as they are."""
    if isinstance(text, dict) and ("id" in text or "en" in text):
        return text.get(lang) or text.get("id") or text.get("en")
    return text


Limit = Annotated[int, Field(ge=1, le=100)]
