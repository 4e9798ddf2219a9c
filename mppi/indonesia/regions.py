"""Kemendagri region codes (province, kabupaten/kota, kecamatan) with their names and time zones.

The data is the ODbL list in ``data/`` (see ``data/SOURCE.md``), read once on first use, with the project's own table
of historic regency codes that NIKs issued before a province split still carry (``data/historic_regencies.csv``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = [
    "PAPUA_PROVINCES",
    "District",
    "HistoricCodes",
    "Province",
    "Region",
    "RegencyInfo",
    "district_exists",
    "get_district",
    "get_province",
    "get_regency",
    "historic_codes_of",
    "is_valid_code",
    "issued_district_code",
    "list_districts",
    "list_provinces",
    "list_regencies",
    "province_timezone",
    "regency_kind",
    "timezone_label",
]

# The 2022 split of Papua renumbered its regencies; NIKs issued before keep the old codes.
PAPUA_PROVINCES: frozenset[str] = frozenset({"91", "92", "93", "94", "95", "96"})

WIB = "Asia/Jakarta"
WITA = "Asia/Makassar"
WIT = "Asia/Jayapura"

# Per DOMAIN.md. Written out explicitly rather than as ranges so a new province fails loudly (KeyError).
_TIMEZONES: dict[str, str] = {
    **{p: WIB for p in ("11", "12", "13", "14", "15", "16", "17", "18", "19", "21")},
    **{p: WIB for p in ("31", "32", "33", "34", "35", "36", "61", "62")},
    **{p: WITA for p in ("51", "52", "53", "63", "64", "65")},
    **{p: WITA for p in ("71", "72", "73", "74", "75", "76")},
    **{p: WIT for p in ("81", "82", "91", "92", "93", "94", "95", "96")},
}

_LABELS = {WIB: "WIB", WITA: "WITA", WIT: "WIT"}

_PROVINCE_RE = re.compile(r"^\d{2}$")
_REGENCY_RE = re.compile(r"^\d{2}\.\d{2}$")
_DISTRICT_RE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")

_LEVELS = ("province", "regency", "district")


@dataclass(frozen=True)
class Province:
    code: str
    name: str


@dataclass(frozen=True)
class RegencyInfo:
    """A regency as listed (code and name only); see :class:`Region` for the enriched form."""

    code: str
    name: str


@dataclass(frozen=True)
class District:
    code: str
    name: str
    regency_code: str


@dataclass(frozen=True)
class Region:
    """A kabupaten/kota with its province and local time zone."""

    code: str
    name: str
    province_code: str
    province_name: str
    kind: str  # "kabupaten" | "kota"
    timezone: str


@dataclass(frozen=True)
class HistoricCodes:
    """A regency code, or a range of them, that a province had before some of its regencies formed a new one."""

    first: str  # "NN.NN"
    last: str  # "NN.NN", the same as first for one code
    moved_to: str  # the new province's code
    year: int
    basis: str  # the law that formed the new province
    what: str
    max_district: int  # district digits 01..max_district are accepted under these codes

    def covers(self, regency_code: str) -> bool:
        return self.first[:2] == regency_code[:2] and self.first <= regency_code <= self.last


@dataclass(frozen=True)
class _Data:
    provinces: dict[str, Province]
    regencies: dict[str, Region]
    districts: dict[str, District]
    regencies_by_province: dict[str, tuple[RegencyInfo, ...]]
    districts_by_regency: dict[str, tuple[District, ...]]
    historic: tuple[HistoricCodes, ...]


def _read_csv(name: str) -> list[dict[str, str]]:
    # importlib.resources works both from a source tree and from an installed wheel/zip.
    # data/ is a package so that pyproject's package-data globs ("*.csv") ship the files.
    text = resources.files("mppi.indonesia.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def _data() -> _Data:
    provinces = {r["code"]: Province(r["code"], r["name"]) for r in _read_csv("provinces.csv")}
    regencies: dict[str, Region] = {}
    by_province: dict[str, list[RegencyInfo]] = {}
    for r in _read_csv("regencies.csv"):
        code, pcode = r["code"], r["province_code"]
        regencies[code] = Region(
            code=code,
            name=r["name"],
            province_code=pcode,
            province_name=provinces[pcode].name,
            kind=regency_kind(code),
            timezone=province_timezone(pcode),
        )
        by_province.setdefault(pcode, []).append(RegencyInfo(code, r["name"]))
    districts: dict[str, District] = {}
    by_regency: dict[str, list[District]] = {}
    for r in _read_csv("districts.csv"):
        d = District(r["code"], r["name"], r["regency_code"])
        districts[d.code] = d
        by_regency.setdefault(d.regency_code, []).append(d)
    # The highest district number each province lists: the bound of district digits under a historic code, taken
    # over the old province and the new one (a regency before the split may have had more kecamatan than any
    # single successor has now, but not more than the two provinces number today).
    highest: dict[str, int] = {}
    for code in districts:
        highest[code[:2]] = max(highest.get(code[:2], 0), int(code[6:8]))
    historic = tuple(
        HistoricCodes(first=r["first"], last=r["last"], moved_to=r["moved_to"], year=int(r["year"]), basis=r["basis"],
                      what=r["what"], max_district=max(highest[r["first"][:2]], highest[r["moved_to"]]))
        for r in _read_csv("historic_regencies.csv")
    )
    return _Data(
        provinces=provinces,
        regencies=regencies,
        districts=districts,
        regencies_by_province={k: tuple(sorted(v, key=lambda x: x.code)) for k, v in by_province.items()},
        districts_by_regency={k: tuple(sorted(v, key=lambda x: x.code)) for k, v in by_regency.items()},
        historic=historic,
    )


def regency_kind(code: str) -> str:
    """Return ``"kota"`` when the regency part of ``NN.NN`` is 71 or higher, else ``"kabupaten"``.

    Raises ValueError when ``code`` is not shaped ``NN.NN``.
    """
    if not isinstance(code, str) or not _REGENCY_RE.match(code):
        raise ValueError(f"not a regency code: {code!r}")
    return "kota" if int(code[3:5]) >= 71 else "kabupaten"


def province_timezone(province_code: str) -> str:
    """IANA time zone of a province (WIB/WITA/WIT). Raises KeyError for an unknown province."""
    return _TIMEZONES[province_code]


def timezone_label(timezone: str) -> str:
    """How Indonesians write a zone after a time: ``WIB``, ``WITA`` or ``WIT``; empty for any other zone."""
    return _LABELS.get(timezone, "")


def get_province(code: str) -> Province | None:
    return _data().provinces.get(code) if isinstance(code, str) else None


def get_regency(code: str) -> Region | None:
    """The kabupaten/kota with code ``NN.NN``; None when unknown or malformed."""
    if not isinstance(code, str) or not _REGENCY_RE.match(code):
        return None
    return _data().regencies.get(code)


def get_district(code: str) -> District | None:
    """The kecamatan with code ``NN.NN.NN``; None when unknown or malformed."""
    if not isinstance(code, str) or not _DISTRICT_RE.match(code):
        return None
    return _data().districts.get(code)


def district_exists(code: str) -> bool:
    return get_district(code) is not None


def is_valid_code(code: str, level: str | None = None) -> bool:
    """True when ``code`` exists in the Kemendagri list at ``level`` (any level when None).

    ``level`` is one of None, "province", "regency", "district"; anything else raises ValueError.
    """
    if level is not None and level not in _LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {_LEVELS}")
    if not isinstance(code, str):
        return False
    data = _data()
    if _PROVINCE_RE.match(code):
        return level in (None, "province") and code in data.provinces
    if _REGENCY_RE.match(code):
        return level in (None, "regency") and code in data.regencies
    if _DISTRICT_RE.match(code):
        return level in (None, "district") and code in data.districts
    return False


def list_provinces() -> list[Province]:
    """All provinces, ordered by code."""
    return sorted(_data().provinces.values(), key=lambda p: p.code)


def list_regencies(province_code: str | None = None) -> list[RegencyInfo]:
    """Regencies of one province (all when None), ordered by code; empty for an unknown province."""
    data = _data()
    if province_code is None:
        return [RegencyInfo(r.code, r.name) for r in sorted(data.regencies.values(), key=lambda r: r.code)]
    return list(data.regencies_by_province.get(province_code, ()))


def list_districts(regency_code: str) -> list[District]:
    """Districts of one regency, ordered by code; empty for an unknown regency."""
    return list(_data().districts_by_regency.get(regency_code, ()))


def historic_codes_of(regency_code: str) -> HistoricCodes | None:
    """The historic-code row covering ``regency_code`` (``NN.NN``), if a split left it in old NIKs; else None."""
    if not isinstance(regency_code, str) or not _REGENCY_RE.match(regency_code):
        return None
    return next((h for h in _data().historic if h.covers(regency_code)), None)


def issued_district_code(code: str) -> bool:
    """True when a NIK may carry district code ``NN.NN.NN``: a NIK keeps the code it was issued under for life.

    That is a listed district; or a number below the highest its listed regency has (Kemendagri numbers a regency's
    kecamatan in order and does not reuse a number, so a gap is a kecamatan that moved to a newer regency, e.g.
    ``36.04.01``, now in Kota Serang); or a code of a regency that moved to a new province, per the historic table,
    with district digits in range. Checked at regency level there: the old kecamatan codes are not recorded.
    Papua's 2022 renumbering is not here: callers accept provinces 91-96 whole (``PAPUA_PROVINCES``).
    """
    if not isinstance(code, str) or not _DISTRICT_RE.match(code):
        return False
    data = _data()
    if code in data.districts:
        return True
    regency, number = code[:5], int(code[6:8])
    if number < 1:
        return False
    listed = data.districts_by_regency.get(regency)
    if listed and number < int(listed[-1].code[6:8]):
        return True
    historic = historic_codes_of(regency)
    return historic is not None and number <= historic.max_district
