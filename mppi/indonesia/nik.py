"""NIK (Nomor Induk Kependudukan) validation, parsing and masking.

A NIK is personal data (UU 27/2022): mask it with :func:`mask_nik` wherever it is shown, never log it whole.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from mppi.indonesia.regions import PAPUA_PROVINCES, issued_district_code

__all__ = ["NikInfo", "mask_nik", "nik_problems", "parse_nik"]

_DIGITS_RE = re.compile(r"^[0-9]*$")  # not str.isdigit(): that accepts non-ASCII digits such as "١"

# Women's birth day is stored as day + 40.
_FEMALE_OFFSET = 40


@dataclass(frozen=True)
class NikInfo:
    """What a valid NIK says. Still personal data: do not log it."""

    district_code: str  # "PP.RR.DD" where the NIK was issued (may be a code no longer listed: see issued_district_code)
    birth_date: datetime.date
    sex: str  # "F" | "M"
    serial: str  # "SSSS"


def _problems_and_info(nik: object, today: datetime.date | None) -> tuple[list[str], NikInfo | None]:
    # Messages never echo the whole NIK, only the part at fault, so they are safe to show the applicant.
    if not isinstance(nik, str):
        return ["must be a string of 16 digits"], None
    if not _DIGITS_RE.match(nik):
        return ["must contain digits only"], None
    if len(nik) != 16:
        return [f"must be 16 digits, got {len(nik)}"], None

    problems: list[str] = []
    today = today or datetime.date.today()

    province, regency, district = nik[0:2], nik[2:4], nik[4:6]
    district_code = f"{province}.{regency}.{district}"
    if province in PAPUA_PROVINCES:
        # Papua's 2022 split renumbered its regencies; older NIKs keep codes that are no longer listed,
        # so only the province is checked there.
        pass
    elif not issued_district_code(district_code):
        # a NIK is valid for life: codes of kecamatan and regencies that later moved stay valid (regions.py)
        problems.append(f"unknown district code {district_code}")

    raw_day, month, yy = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if 1 <= raw_day <= 31:
        sex, day = "M", raw_day
    elif 1 + _FEMALE_OFFSET <= raw_day <= 31 + _FEMALE_OFFSET:
        sex, day = "F", raw_day - _FEMALE_OFFSET
    else:
        sex, day = "", 0
        problems.append(f"birth day {raw_day:02d} is out of range (01-31, or 41-71 for women)")
    if not 1 <= month <= 12:
        problems.append(f"birth month {month:02d} does not exist")

    birth_date: datetime.date | None = None
    if day and 1 <= month <= 12:
        # The century is the one that puts the date in the past: YY above this year's two digits is the
        # previous century, and so is a date later this year. Compared as tuples so that 29-02 can be placed
        # before checking it exists in the resolved year.
        year = today.year - today.year % 100 + yy
        if (year, month, day) > (today.year, today.month, today.day):
            year -= 100
        try:
            birth_date = datetime.date(year, month, day)
        except ValueError:
            problems.append(f"birth date {day:02d}-{month:02d}-{year:04d} does not exist")

    serial = nik[12:16]
    if serial == "0000":
        problems.append("serial must not be 0000")

    if problems or birth_date is None:
        return problems, None
    return [], NikInfo(district_code=district_code, birth_date=birth_date, sex=sex, serial=serial)


def nik_problems(nik: str, *, today: datetime.date | None = None) -> list[str]:
    """Human-readable problems with ``nik``; an empty list means it is valid.

    ``today`` (default: the local date) fixes the century of the birth date. The NIK must be exactly
    16 ASCII digits; callers strip spaces themselves.
    """
    return _problems_and_info(nik, today)[0]


def parse_nik(nik: str, *, today: datetime.date | None = None) -> NikInfo:
    """Parse a valid NIK; raise ValueError with the problems (joined by "; ") when it is invalid."""
    problems, info = _problems_and_info(nik, today)
    if info is None:
        raise ValueError("; ".join(problems) or "invalid NIK")
    return info


def mask_nik(nik: str) -> str:
    """Mask a NIK for display: first 4 digits, 8 asterisks, last 4 digits (``1709********0001``).

    DOMAIN.md's example ``1709**********0001`` has a typo (10 asterisks would make 18 characters); a NIK has
    16, so 8 are hidden. Input of another length keeps its length: the first and last 4 characters are kept
    when at least 12 long, otherwise everything is hidden. Never raises, so it is safe in display code.
    """
    s = str(nik)
    if len(s) < 12:
        return "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]
