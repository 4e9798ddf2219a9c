"""Working-day arithmetic for SLAs: office hours, national holidays and cuti bersama, tenant holidays.

Pure: nothing reads the clock; every datetime must be timezone-aware and is read in the tenant's time zone.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = ["OfficeHours", "WorkingCalendar", "national_holidays"]

_WEEKDAYS = frozenset(range(7))  # Monday = 0 … Sunday = 6, as date.weekday()


def _parse_time(value: Any, key: str) -> datetime.time:
    if isinstance(value, datetime.time):
        t = value
    elif isinstance(value, str):
        try:
            t = datetime.time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{key} must be a time like '08:00', got {value!r}") from None
    else:
        raise ValueError(f"{key} must be a time like '08:00', got {value!r}")
    if t.tzinfo is not None:
        raise ValueError(f"{key} must be a local time without a time zone")
    return t


def _format_time(t: datetime.time) -> str:
    return t.isoformat(timespec="minutes" if not (t.second or t.microsecond) else "auto")


@dataclass(frozen=True)
class OfficeHours:
    """A tenant's opening days (0 = Monday … 6 = Sunday) and local opening hours, closing time excluded."""

    days: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    opens: datetime.time = datetime.time(8, 0)
    closes: datetime.time = datetime.time(16, 0)

    def __post_init__(self) -> None:
        # Accept any iterable of days but store a frozenset so instances stay hashable and comparable.
        days = self.days
        if isinstance(days, (str, bytes)) or not isinstance(days, Iterable):
            raise ValueError("days must be a collection of weekday numbers 0..6")
        days = list(days)
        if any(isinstance(d, bool) or not isinstance(d, int) or d not in _WEEKDAYS for d in days):
            raise ValueError(f"days must be weekday numbers 0 (Monday) to 6 (Sunday), got {days!r}")
        if not days:
            # An empty week would make add_working_days loop forever.
            raise ValueError("days must contain at least one weekday")
        object.__setattr__(self, "days", frozenset(days))
        object.__setattr__(self, "opens", _parse_time(self.opens, "opens"))
        object.__setattr__(self, "closes", _parse_time(self.closes, "closes"))
        if not self.opens < self.closes:
            opens, closes = _format_time(self.opens), _format_time(self.closes)
            raise ValueError(f"opens ({opens}) must be before closes ({closes})")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> OfficeHours:
        """Build from ``{"days": [0, 1, 2, 3, 4], "opens": "08:00", "closes": "16:00"}``.

        Missing keys take the defaults; unknown keys raise ValueError (they are most likely typos).
        """
        if not isinstance(config, Mapping):
            raise ValueError("office hours config must be an object")
        unknown = set(config) - {"days", "opens", "closes"}
        if unknown:
            raise ValueError(f"unknown office hours keys: {', '.join(sorted(map(str, unknown)))}")
        kwargs: dict[str, Any] = {}
        if "days" in config:
            if not isinstance(config["days"], (list, tuple, set, frozenset)):
                raise ValueError("days must be a list of weekday numbers 0..6")
            kwargs["days"] = config["days"]
        for key in ("opens", "closes"):
            if key in config:
                kwargs[key] = _parse_time(config[key], key)
        return cls(**kwargs)

    def to_config(self) -> dict[str, Any]:
        """The JSON shape read by :meth:`from_config`."""
        return {
            "days": sorted(self.days),
            "opens": _format_time(self.opens),
            "closes": _format_time(self.closes),
        }


@cache
def _holidays_of_year(year: int) -> frozenset[datetime.date]:
    # "government" adds cuti bersama (joint leave days), which "public" alone lacks.
    return frozenset(holidays.country_holidays("ID", years=year, categories=("public", "government")))


def national_holidays(years: Iterable[int]) -> set[datetime.date]:
    """Indonesian national holidays and cuti bersama for the given years (cached per year)."""
    result: set[datetime.date] = set()
    for year in years:
        result |= _holidays_of_year(int(year))
    return result


def _require_aware(value: datetime.datetime, name: str) -> None:
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got a naive datetime")


class WorkingCalendar:
    """Working days of one tenant: its office days minus national holidays, cuti bersama and its own
    declared holidays."""

    def __init__(
        self,
        *,
        timezone: str,
        office_hours: OfficeHours | None = None,
        extra_holidays: Iterable[datetime.date] = (),
    ) -> None:
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        self.timezone = timezone
        self.office_hours = office_hours if office_hours is not None else OfficeHours()
        extra = frozenset(extra_holidays)
        if any(isinstance(d, datetime.datetime) or not isinstance(d, datetime.date) for d in extra):
            raise TypeError("extra_holidays must be dates")
        self.extra_holidays = extra

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(timezone={self.timezone!r}, office_hours={self.office_hours!r}, "
            f"extra_holidays={len(self.extra_holidays)} dates)"
        )

    # --- days -------------------------------------------------------------------------------------------

    def is_working_day(self, d: datetime.date) -> bool:
        """True when ``d`` is an office day and not a national holiday, cuti bersama or tenant holiday."""
        if isinstance(d, datetime.datetime):
            # A datetime never equals a date in a set lookup, so holidays would silently be missed.
            raise TypeError("is_working_day takes a date, not a datetime")
        return (
            d.weekday() in self.office_hours.days
            and d not in self.extra_holidays
            and d not in _holidays_of_year(d.year)
        )

    def next_working_day(self, d: datetime.date) -> datetime.date:
        """The first working day strictly after ``d``."""
        return self.add_working_days(d, 1)

    def add_working_days(self, d: datetime.date, n: int) -> datetime.date:
        """The ``n``-th working day after ``d`` (before it when ``n`` is negative); ``d`` when ``n`` is 0.

        ``d`` need not be a working day: counting starts with the day after it.
        """
        if isinstance(d, datetime.datetime):
            raise TypeError("add_working_days takes a date, not a datetime")
        step = datetime.timedelta(days=1 if n >= 0 else -1)
        remaining = abs(n)
        while remaining:
            d += step
            if self.is_working_day(d):
                remaining -= 1
        return d

    # --- instants ---------------------------------------------------------------------------------------

    def local(self, moment: datetime.datetime) -> datetime.datetime:
        """``moment`` (aware) expressed in the tenant's time zone."""
        _require_aware(moment, "datetime")
        return moment.astimezone(self.zone)

    def _close_of(self, d: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(d, self.office_hours.closes, tzinfo=self.zone)

    def day_zero(self, submitted_at: datetime.datetime) -> datetime.date:
        """Day 0 of an application: the local submission day when it came on a working day before closing time
        (closing time excluded), otherwise the next working day.

        DOMAIN.md says "within office hours"; a submission before opening is read as received at opening, since
        the office works that whole day on it: otherwise a 07:00 submission would be due a day later than an 08:00
        one.
        """
        _require_aware(submitted_at, "submitted_at")
        local = submitted_at.astimezone(self.zone)
        d = local.date()
        if self.is_working_day(d) and local.time() < self.office_hours.closes:
            return d
        return self.next_working_day(d)

    def due_at(self, submitted_at: datetime.datetime, sla_days: int) -> datetime.datetime:
        """When an application is due: close of office hours (tenant time zone) on the ``sla_days``-th working
        day after day 0. ``sla_days`` 0 means the close of day 0."""
        if isinstance(sla_days, bool) or not isinstance(sla_days, int) or sla_days < 0:
            raise ValueError(f"sla_days must be a non-negative integer, got {sla_days!r}")
        return self._close_of(self.add_working_days(self.day_zero(submitted_at), sla_days))

    def working_days_between(self, start: datetime.datetime, end: datetime.datetime) -> int:
        """Working days that elapsed between ``start`` and ``end``: the number of working days whose close of
        office hours falls in the interval (``start``, ``end``].

        Used for a revision wait (start = revision requested, end = resubmitted): every working day that
        ended while the application waited on the applicant moves the due date by one working day. A wait
        within one day, or from after closing until before the next closing, counts 0.
        """
        _require_aware(start, "start")
        _require_aware(end, "end")
        if end < start:
            raise ValueError("end must not be before start")
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        count = 0
        d = local_start.date()
        last = local_end.date()
        one = datetime.timedelta(days=1)
        while d <= last:
            if self.is_working_day(d) and start < self._close_of(d) <= end:
                count += 1
            d += one
        return count

    def extend(self, due: datetime.datetime, n_working_days: int) -> datetime.datetime:
        """Move a due date ``n_working_days`` working days later, keeping its local time of day."""
        _require_aware(due, "due")
        if isinstance(n_working_days, bool) or not isinstance(n_working_days, int) or n_working_days < 0:
            raise ValueError(f"n_working_days must be a non-negative integer, got {n_working_days!r}")
        local = due.astimezone(self.zone)
        new_date = self.add_working_days(local.date(), n_working_days)
        return datetime.datetime.combine(new_date, local.time(), tzinfo=self.zone)
