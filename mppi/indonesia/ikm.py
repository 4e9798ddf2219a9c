"""Survei Kepuasan Masyarakat (SKM): the IKM index and its grade per PermenPANRB 14/2017.

Computed exactly with fractions (weight exactly 1/9 per element) and rounded half-up only at the end, and reported
per period (a year or a quarter, :class:`ReportingPeriod`).
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

__all__ = ["ELEMENTS", "GRADES", "IkmResult", "ReportingPeriod", "compute_ikm", "grade_for", "validate_answers"]

ELEMENTS: dict[str, str] = {
    "u1": "Persyaratan",
    "u2": "Sistem, mekanisme dan prosedur",
    "u3": "Waktu penyelesaian",
    "u4": "Biaya/tarif",
    "u5": "Produk spesifikasi jenis pelayanan",
    "u6": "Kompetensi pelaksana",
    "u7": "Perilaku pelaksana",
    "u8": "Sarana dan prasarana",
    "u9": "Penanganan pengaduan, saran dan masukan",
}

MIN_ANSWER, MAX_ANSWER = 1, 4

# (lowest rounded IKM, grade, label), best first. Bands per PermenPANRB 14/2017 on the 25-100 scale.
GRADES: tuple[tuple[Decimal, str, str], ...] = (
    (Decimal("88.31"), "A", "Sangat Baik"),
    (Decimal("76.61"), "B", "Baik"),
    (Decimal("65.00"), "C", "Kurang Baik"),
    (Decimal("25.00"), "D", "Tidak Baik"),
)
_MAX_IKM = Decimal("100.00")
_CENT = Decimal("0.01")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_answers(answers: Mapping[str, object]) -> list[str]:
    """Problems with one respondent's answers ``{"u1": 1..4, …, "u9": 1..4}``; empty list = valid."""
    if not isinstance(answers, Mapping):
        return ["answers must be an object with keys u1..u9"]
    problems = [f"missing answer for {key} ({name})" for key, name in ELEMENTS.items() if key not in answers]
    problems += [f"unknown element {key!r}" for key in answers if key not in ELEMENTS]
    for key in ELEMENTS:
        if key in answers:
            value = answers[key]
            if not _is_int(value) or not MIN_ANSWER <= value <= MAX_ANSWER:
                problems.append(f"answer for {key} must be an integer from {MIN_ANSWER} to {MAX_ANSWER}")
    return problems


def _round_half_up(value: Fraction) -> Decimal:
    # Exact: floor(x * 100 + 1/2) on a Fraction, so no binary or context-precision error creeps in.
    cents = math.floor(value * 100 + Fraction(1, 2))
    return (Decimal(cents) / 100).quantize(_CENT)


def grade_for(score: Decimal) -> tuple[str, str]:
    """(grade, label) for an IKM score; the score is first rounded half-up to two decimals, as the grade is
    taken from the published (rounded) figure. Raises ValueError outside 25.00-100.00."""
    rounded = Decimal(score).quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded > _MAX_IKM:
        raise ValueError(f"IKM {rounded} is above 100.00")
    for lowest, grade, label in GRADES:
        if rounded >= lowest:
            return grade, label
    raise ValueError(f"IKM {rounded} is below 25.00")


@dataclass(frozen=True)
class IkmResult:
    score: Decimal  # IKM, 2 dp half-up
    grade: str  # "A".."D"
    grade_label: str  # "Sangat Baik" | "Baik" | "Kurang Baik" | "Tidak Baik"
    respondents: int
    elements: dict[str, Decimal]  # NRR per element (1-4), 2 dp half-up, for display only
    exact: Fraction  # the unrounded IKM, for pooling checks and tests


def compute_ikm(sums: Mapping[str, int], respondents: int) -> IkmResult | None:
    """IKM from the per-element answer sums of ``respondents`` complete responses; None when nobody answered.

    NRR per element = sum / respondents; IKM = mean of the nine NRR × 25 (= 25 × Σ NRR / 9). Pooling a
    tenant's services means adding their sums and respondents before calling this. Raises ValueError when a
    sum is missing or impossible (outside respondents × 1 … respondents × 4).
    """
    if not _is_int(respondents) or respondents < 0:
        raise ValueError(f"respondents must be a non-negative integer, got {respondents!r}")
    if respondents == 0:
        return None
    missing = [key for key in ELEMENTS if key not in sums]
    unknown = [key for key in sums if key not in ELEMENTS]
    if missing or unknown:
        raise ValueError(f"sums must have exactly the keys u1..u9 (missing {missing}, unknown {unknown})")
    nrr: dict[str, Fraction] = {}
    for key in ELEMENTS:
        total = sums[key]
        if not _is_int(total) or not MIN_ANSWER * respondents <= total <= MAX_ANSWER * respondents:
            raise ValueError(
                f"sum for {key} must be between {respondents} and {MAX_ANSWER * respondents}, got {total!r}"
            )
        nrr[key] = Fraction(total, respondents)
    exact = sum(nrr.values(), Fraction(0)) * Fraction(1, len(ELEMENTS)) * 25
    score = _round_half_up(exact)
    grade, label = grade_for(score)
    return IkmResult(
        score=score,
        grade=grade,
        grade_label=label,
        respondents=respondents,
        elements={key: _round_half_up(value) for key, value in nrr.items()},
        exact=exact,
    )


_PERIOD_RE = re.compile(r"([0-9]{4})(?:-Q([1-4]))?")


@dataclass(frozen=True)
class ReportingPeriod:
    """The period an SKM is reported for (PermenPANRB 14/2017: at least yearly, often per quarter or semester):
    ``2026`` or ``2026-Q3``. Responses count in the period in which they were given, in the region's local time."""

    year: int
    quarter: int | None = None

    def __post_init__(self) -> None:
        if not _is_int(self.year) or not 1900 <= self.year <= 9998:
            raise ValueError(f"year must be from 1900 to 9998, got {self.year!r}")
        if self.quarter is not None and (not _is_int(self.quarter) or not 1 <= self.quarter <= 4):
            raise ValueError(f"quarter must be 1 to 4, got {self.quarter!r}")

    @classmethod
    def parse(cls, text: str) -> ReportingPeriod:
        """``"2026"`` (a year) or ``"2026-Q3"`` (a quarter); ValueError for anything else."""
        match = _PERIOD_RE.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"period must be a year like 2026 or a quarter like 2026-Q3, got {str(text)[:20]!r}")
        quarter = match.group(2)
        return cls(int(match.group(1)), int(quarter) if quarter else None)

    @classmethod
    def year_of(cls, day: datetime.date) -> ReportingPeriod:
        return cls(day.year)

    @property
    def label(self) -> str:
        return f"{self.year}" if self.quarter is None else f"{self.year}-Q{self.quarter}"

    @property
    def first_day(self) -> datetime.date:
        return datetime.date(self.year, 1 if self.quarter is None else 3 * self.quarter - 2, 1)

    @property
    def end(self) -> datetime.date:
        """The day after the period (exclusive bound)."""
        if self.quarter is None or self.quarter == 4:
            return datetime.date(self.year + 1, 1, 1)
        return datetime.date(self.year, 3 * self.quarter + 1, 1)

    @property
    def last_day(self) -> datetime.date:
        return self.end - datetime.timedelta(days=1)

    def bounds(self, zone: datetime.tzinfo) -> tuple[datetime.datetime, datetime.datetime]:
        """[start, end) as aware datetimes at local midnight in ``zone``."""
        return (datetime.datetime.combine(self.first_day, datetime.time(), tzinfo=zone),
                datetime.datetime.combine(self.end, datetime.time(), tzinfo=zone))
