"""Checking the form of a submission against the form of the service version it is made for.

``check_form`` answers ``(clean, problems)``: the converted values and one ``field_error`` per bad field, so the
caller can answer one 422 naming every field at fault. Messages are short English and never repeat what the
applicant typed (a NIK above all: it is personal data, UU 27/2022).
"""
from __future__ import annotations

import datetime
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from mppi.contracts.errors import field_error
from mppi.indonesia.nik import nik_problems
from mppi.indonesia.regions import is_valid_code

__all__ = ["check_form"]

TEXT_MAX = {"text": 500, "textarea": 5000}

_NUMBER_RE = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")  # ASCII digits only (str.isdigit admits "١")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_RE = re.compile(
    rf"^{_ATOM}(?:\.{_ATOM})*"  # local part: no leading, trailing or double dot
    rf"@(?:{_LABEL}\.)+[a-z]{{2,63}}$"  # a domain with at least one dot and an alphabetic top-level label
)
_PHONE_DIGITS_RE = re.compile(r"^[0-9]+$")
_PHONE_NSN = (8, 13)  # digits after +62 / 62 / 0: 9-14 written with 0, at most 15 with the country code (E.164)
_LEVEL_SHAPES = {"province": "NN", "regency": "NN.NN", "district": "NN.NN.NN"}
_TRUE = {"true", "on"}
_FALSE = {"false"}


class _Bad(Exception):
    """One field's problem; the message is safe to show (no value echoed)."""


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(field: dict, value: Any) -> str:
    kind = field["type"]
    if not isinstance(value, str):
        raise _Bad("must be text")
    value = value.strip()
    if kind == "textarea":
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        allowed = "\n\t"
    else:
        allowed = ""
    for ch in value:
        if ch not in allowed and unicodedata.category(ch) in ("Cc", "Cs"):
            raise _Bad("must not contain line breaks or control characters" if kind == "text"
                       else "must not contain control characters")
    limit = field.get("max_length") or TEXT_MAX[kind]
    if len(value) > limit:
        raise _Bad(f"must be at most {limit} characters")
    return value


def _plain(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _number(field: dict, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Bad("must be a number")
    if isinstance(value, str):
        value = value.strip()
        if not _NUMBER_RE.match(value):
            raise _Bad("must be a number")
        value = float(value) if "." in value else int(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _Bad("must be a number")
    low, high = field.get("min"), field.get("max")
    if low is not None and value < low:
        raise _Bad(f"must be at least {_plain(low)}")
    if high is not None and value > high:
        raise _Bad(f"must be at most {_plain(high)}")
    return value


def _date(field: dict, value: Any) -> str:
    if not isinstance(value, str) or not _DATE_RE.match(value.strip()):
        raise _Bad("must be a date written YYYY-MM-DD")
    value = value.strip()
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        raise _Bad("is not a date that exists") from None
    return value


def _email(field: dict, value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad("must be an email address")
    value = value.strip().lower()
    if len(value) > 254 or not _EMAIL_RE.match(value) or len(value.partition("@")[0]) > 64:
        raise _Bad("must be an email address such as nama@contoh.go.id")
    return value


def _phone(field: dict, value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad("must be a phone number written as text")
    digits = re.sub(r"[ \-]", "", value.strip())
    if digits.startswith("+62"):
        national = digits[3:]
    elif digits.startswith("62"):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        raise _Bad("must be an Indonesian number starting with +62, 62 or 0")
    if not _PHONE_DIGITS_RE.match(national):
        raise _Bad("must contain digits only (spaces and dashes are allowed)")
    if national.startswith("0"):
        raise _Bad("must not have a 0 after the country code 62")
    low, high = _PHONE_NSN
    if not low <= len(national) <= high:
        raise _Bad(f"must have {low + 1} to {high + 1} digits when written with a leading 0")
    return "+62" + national


def _nik(field: dict, value: Any, today: datetime.date | None) -> str:
    if isinstance(value, str):
        value = value.strip().replace(" ", "")
    problems = nik_problems(value, today=today)  # its messages name only the part at fault, never the whole NIK
    if problems:
        raise _Bad("is not a valid NIK: " + "; ".join(problems))
    return value


def _select(field: dict, value: Any) -> str:
    values = [o["value"] if isinstance(o, dict) else getattr(o, "value", o) for o in field.get("options") or []]
    if isinstance(value, str) and value.strip() in values:
        return value.strip()
    shown = ", ".join(values[:10]) + (", …" if len(values) > 10 else "")
    raise _Bad(f"must be one of: {shown}" if values else "has no options to choose from")


def _checkbox(field: dict, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    raise _Bad("must be true or false")


def _region(field: dict, value: Any) -> str:
    level = field.get("level")
    where = (f"a {level} code ({_LEVEL_SHAPES[level]})" if level in _LEVEL_SHAPES
             else "a province, regency or district code")
    if not isinstance(value, str):
        raise _Bad(f"must be {where} from the Kemendagri list")
    value = value.strip()
    if not is_valid_code(value, level if level in _LEVEL_SHAPES else None):
        raise _Bad(f"must be {where} from the Kemendagri list")
    return value


_CHECKS: dict[str, Callable[[dict, Any], Any]] = {
    "text": _text, "textarea": _text, "number": _number, "date": _date, "email": _email, "phone": _phone,
    "select": _select, "checkbox": _checkbox, "region": _region,
}


def check_form(fields: list[dict], form: dict, *, uploaded: set[str], loc: tuple = ("body", "form"),
               files_loc: tuple = ("body", "files"),
               today: datetime.date | None = None) -> tuple[dict, list[dict]]:
    """Check a citizen's ``form`` (values of the non-file fields) and ``uploaded`` (keys of the file parts sent)
    against ``fields``, the service version's form field dicts.

    Returns ``(clean, problems)``. ``clean`` holds the converted values of the non-file fields (trimmed text,
    numbers as int or float, ``YYYY-MM-DD`` dates, lowercased emails, phones as ``+62…``, NIKs without spaces,
    booleans for checkboxes); optional fields left empty are not in it. ``problems`` has one
    ``field_error([*loc, key], msg)`` per bad field, then one per key of ``form`` that is not a non-file field,
    and file problems at ``[*files_loc, key]`` (a required file missing, a file sent for a key that is not a file
    field). ``today`` fixes the century of NIK birth dates (tests); default the local date.
    """
    clean: dict[str, Any] = {}
    problems: list[dict] = []
    if not isinstance(form, dict):
        return clean, [field_error(list(loc), "must be an object of field values")]
    uploaded = set(uploaded or ())
    file_keys = {f["key"] for f in fields if f.get("type") == "file"}
    value_keys = {f["key"] for f in fields if f.get("type") != "file"}

    for field in fields:
        key, kind, required = field["key"], field.get("type"), field.get("required", True)
        if kind == "file":
            if required and key not in uploaded:
                problems.append(field_error([*files_loc, key], "is required: attach the file"))
            continue
        value = form.get(key)
        if _empty(value):
            if required:
                problems.append(field_error([*loc, key], "is required"))
            continue
        try:
            if kind == "nik":
                converted = _nik(field, value, today)
            elif kind in _CHECKS:
                converted = _CHECKS[kind](field, value)
            else:
                raise _Bad(f"has a field type this platform does not know ({kind})")
        except _Bad as bad:
            problems.append(field_error([*loc, key], str(bad)))
            continue
        if kind == "checkbox" and required and converted is not True:
            problems.append(field_error([*loc, key], "must be checked"))
            continue
        clean[key] = converted

    for key in form:
        if key not in value_keys:
            msg = ("is a file field: send the file as a part named by its key" if key in file_keys
                   else "is not a field of this service")
            problems.append(field_error([*loc, key], msg))
    for key in sorted(uploaded - file_keys):
        msg = ("is not a file field: send its value in the form" if key in value_keys
               else "is not a file field of this service")
        problems.append(field_error([*files_loc, key], msg))
    return clean, problems
