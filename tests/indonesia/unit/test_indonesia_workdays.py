"""Working-day SLA arithmetic against the real 2026 Indonesian holidays (``holidays`` 0.108).

2026 holidays and cuti bersama used below, as the package returns them with
categories ("public", "government"):
  Mon 16 Feb (Lunar New Year joint holiday), Tue 17 Feb (Lunar New Year),
  Wed 18 Mar - Tue 24 Mar (Nyepi joint holiday, Nyepi, Eid al-Fitr joint holidays and Eid),
  Mon 17 Aug (Independence Day), Tue 25 Aug (Prophet's Birthday).
July 2026 has no holiday at all.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mppi.indonesia.workdays import OfficeHours, WorkingCalendar, national_holidays

WIB = ZoneInfo("Asia/Jakarta")
WITA = ZoneInfo("Asia/Makassar")
WIT = ZoneInfo("Asia/Jayapura")
UTC = dt.UTC


def calendar(tz: str = "Asia/Jakarta", extra=()) -> WorkingCalendar:
    return WorkingCalendar(timezone=tz, office_hours=OfficeHours(), extra_holidays=extra)


# --- holidays -----------------------------------------------------------------------------------------


def test_national_holidays_include_cuti_bersama():
    days = national_holidays([2026])
    assert dt.date(2026, 8, 17) in days  # Independence Day (public)
    assert dt.date(2026, 2, 16) in days  # Lunar New Year joint holiday (government: cuti bersama)
    assert dt.date(2026, 12, 24) in days  # Christmas joint holiday
    assert dt.date(2026, 7, 8) not in days


def test_national_holidays_span_several_years():
    days = national_holidays(range(2026, 2028))
    assert dt.date(2026, 1, 1) in days and dt.date(2027, 1, 1) in days


# --- office hours config ------------------------------------------------------------------------------


def test_office_hours_default_is_monday_to_friday_eight_to_four():
    hours = OfficeHours()
    assert hours.to_config() == {"days": [0, 1, 2, 3, 4], "opens": "08:00", "closes": "16:00"}


def test_office_hours_round_trip_through_config():
    config = {"days": [0, 1, 2, 3, 4, 5], "opens": "07:30", "closes": "15:00"}
    hours = OfficeHours.from_config(config)
    assert hours.days == frozenset(range(6))
    assert hours.opens == dt.time(7, 30)
    assert hours.to_config() == config
    assert OfficeHours.from_config(hours.to_config()) == hours


def test_office_hours_config_missing_keys_take_defaults():
    assert OfficeHours.from_config({}) == OfficeHours()


@pytest.mark.parametrize(
    "config",
    [
        {"opens": "16:00", "closes": "08:00"},
        {"opens": "08:00", "closes": "08:00"},
        {"days": [0, 7]},
        {"days": [-1]},
        {"days": []},
        {"days": "01234"},
        {"days": [True]},
        {"opens": "8 am"},
        {"opens": 8},
        {"open": "08:00"},
    ],
)
def test_invalid_office_hours_config_is_refused(config):
    with pytest.raises(ValueError):
        OfficeHours.from_config(config)


# --- working days -------------------------------------------------------------------------------------


def test_weekends_holidays_and_tenant_holidays_are_not_working_days():
    cal = calendar(extra=[dt.date(2026, 9, 10)])
    assert cal.is_working_day(dt.date(2026, 7, 8))  # Wednesday
    assert not cal.is_working_day(dt.date(2026, 7, 11))  # Saturday
    assert not cal.is_working_day(dt.date(2026, 8, 17))  # Independence Day
    assert not cal.is_working_day(dt.date(2026, 3, 20))  # Eid al-Fitr joint holiday (cuti bersama)
    assert not cal.is_working_day(dt.date(2026, 9, 10))  # the tenant's own holiday


def test_saturday_opening_tenant_works_saturdays():
    cal = WorkingCalendar(timezone="Asia/Jakarta", office_hours=OfficeHours(days=frozenset(range(6))))
    assert cal.is_working_day(dt.date(2026, 7, 11))
    assert not cal.is_working_day(dt.date(2026, 7, 12))


def test_add_working_days_skips_the_eid_week():
    # Tue 17 Mar 2026 + 1 working day: 18-24 Mar are all holidays or weekend -> Wed 25 Mar.
    assert calendar().add_working_days(dt.date(2026, 3, 17), 1) == dt.date(2026, 3, 25)
    assert calendar().add_working_days(dt.date(2026, 3, 25), -1) == dt.date(2026, 3, 17)
    assert calendar().add_working_days(dt.date(2026, 3, 21), 0) == dt.date(2026, 3, 21)


# --- day zero and due dates ---------------------------------------------------------------------------


def test_friday_after_hours_before_a_monday_holiday_wita():
    # Fri 14 Aug 2026 16:30 WITA is after closing -> day 0 is the next working day:
    # Sat 15, Sun 16 weekend, Mon 17 Aug Independence Day -> day 0 = Tue 18 Aug.
    # sla_days 3: Wed 19 (1), Thu 20 (2), Fri 21 (3) -> due Fri 21 Aug 16:00 WITA (08:00 UTC).
    cal = calendar("Asia/Makassar")
    submitted = dt.datetime(2026, 8, 14, 16, 30, tzinfo=WITA)
    assert cal.day_zero(submitted) == dt.date(2026, 8, 18)
    due = cal.due_at(submitted, 3)
    assert due == dt.datetime(2026, 8, 21, 16, 0, tzinfo=WITA)
    assert due.utcoffset() == dt.timedelta(hours=8)
    assert due.astimezone(UTC) == dt.datetime(2026, 8, 21, 8, 0, tzinfo=UTC)


def test_friday_after_hours_before_lunar_new_year_cuti_bersama():
    # Fri 13 Feb 2026 17:00 WIB -> Mon 16 (cuti bersama) and Tue 17 (Lunar New Year) are off:
    # day 0 = Wed 18 Feb; +3: Thu 19 (1), Fri 20 (2), Mon 23 (3) -> due Mon 23 Feb 16:00 WIB.
    due = calendar().due_at(dt.datetime(2026, 2, 13, 17, 0, tzinfo=WIB), 3)
    assert due == dt.datetime(2026, 2, 23, 16, 0, tzinfo=WIB)


def test_eid_holidays_and_cuti_bersama_stop_the_clock():
    # Tue 17 Mar 2026 09:00 WIB, a working day in office hours -> day 0 = Tue 17 Mar.
    # 18-24 Mar are holidays or weekend; +3: Wed 25 (1), Thu 26 (2), Fri 27 (3).
    due = calendar().due_at(dt.datetime(2026, 3, 17, 9, 0, tzinfo=WIB), 3)
    assert due == dt.datetime(2026, 3, 27, 16, 0, tzinfo=WIB)


def test_tenant_holiday_moves_the_due_date():
    # Tue 8 Sep 2026 10:00 WITA -> day 0 = Tue 8 Sep. +3 without tenant holiday: Wed 9, Thu 10, Fri 11.
    # With the tenant's own holiday on Thu 10 Sep: Wed 9 (1), Fri 11 (2), Mon 14 (3).
    submitted = dt.datetime(2026, 9, 8, 10, 0, tzinfo=WITA)
    assert calendar("Asia/Makassar").due_at(submitted, 3) == dt.datetime(2026, 9, 11, 16, 0, tzinfo=WITA)
    with_holiday = calendar("Asia/Makassar", extra=[dt.date(2026, 9, 10)])
    assert with_holiday.due_at(submitted, 3) == dt.datetime(2026, 9, 14, 16, 0, tzinfo=WITA)


def test_sunday_submission_starts_on_monday():
    # Sun 5 Jul 2026 10:00 WIB -> day 0 = Mon 6 Jul; +5: Tue 7, Wed 8, Thu 9, Fri 10, Mon 13 Jul.
    cal = calendar()
    submitted = dt.datetime(2026, 7, 5, 10, 0, tzinfo=WIB)
    assert cal.day_zero(submitted) == dt.date(2026, 7, 6)
    assert cal.due_at(submitted, 5) == dt.datetime(2026, 7, 13, 16, 0, tzinfo=WIB)


def test_submission_at_nine_on_a_working_day_counts_that_day_as_day_zero():
    # Wed 8 Jul 2026 09:00 WIB -> day 0 = Wed 8 Jul; +1 -> Thu 9 Jul 16:00.
    cal = calendar()
    submitted = dt.datetime(2026, 7, 8, 9, 0, tzinfo=WIB)
    assert cal.day_zero(submitted) == dt.date(2026, 7, 8)
    assert cal.due_at(submitted, 1) == dt.datetime(2026, 7, 9, 16, 0, tzinfo=WIB)
    assert cal.due_at(submitted, 0) == dt.datetime(2026, 7, 8, 16, 0, tzinfo=WIB)


@pytest.mark.parametrize(
    ("local_time", "expected_day_zero"),
    [
        (dt.time(0, 0), dt.date(2026, 7, 8)),  # before opening on a working day: that day, as if at opening
        (dt.time(7, 59), dt.date(2026, 7, 8)),
        (dt.time(8, 0), dt.date(2026, 7, 8)),  # opening time is within office hours
        (dt.time(15, 59), dt.date(2026, 7, 8)),
        (dt.time(16, 0), dt.date(2026, 7, 9)),  # closing time is not
        (dt.time(23, 59), dt.date(2026, 7, 9)),
    ],
)
def test_office_hours_edges(local_time, expected_day_zero):
    submitted = dt.datetime.combine(dt.date(2026, 7, 8), local_time, tzinfo=WIB)
    assert calendar().day_zero(submitted) == expected_day_zero


def test_a_submission_at_seven_on_monday_counts_monday():
    # Mon 6 Jul 2026 07:00 WIB, an hour before opening: the office works all Monday on it, so Monday is day 0
    # exactly as for an 08:00 submission; sla 3 -> Tue 7 (1), Wed 8 (2), Thu 9 Jul (3) at 16:00.
    cal = calendar()
    early = dt.datetime(2026, 7, 6, 7, 0, tzinfo=WIB)
    assert cal.day_zero(early) == dt.date(2026, 7, 6)
    assert cal.due_at(early, 3) == dt.datetime(2026, 7, 9, 16, 0, tzinfo=WIB)
    assert cal.due_at(early, 3) == cal.due_at(dt.datetime(2026, 7, 6, 8, 0, tzinfo=WIB), 3)
    # the same Monday at 16:30, after closing: day 0 is Tuesday -> due Fri 10 Jul
    assert cal.due_at(dt.datetime(2026, 7, 6, 16, 30, tzinfo=WIB), 3) == dt.datetime(2026, 7, 10, 16, 0, tzinfo=WIB)


def test_an_early_submission_on_a_holiday_still_starts_on_the_next_working_day():
    # Mon 17 Aug 2026 (Independence Day) 07:00 WITA: not a working day -> day 0 Tue 18 Aug; sla 1 -> Wed 19 Aug.
    cal = calendar("Asia/Makassar")
    submitted = dt.datetime(2026, 8, 17, 7, 0, tzinfo=WITA)
    assert cal.day_zero(submitted) == dt.date(2026, 8, 18)
    assert cal.due_at(submitted, 1) == dt.datetime(2026, 8, 19, 16, 0, tzinfo=WITA)


def test_day_zero_is_read_in_the_tenant_time_zone():
    # 2026-07-08 08:30 UTC is Wed 8 Jul 17:30 in Jayapura (UTC+9), after closing, but 15:30 in Jakarta (UTC+7),
    # within office hours there.
    submitted = dt.datetime(2026, 7, 8, 8, 30, tzinfo=UTC)
    assert calendar("Asia/Jayapura").day_zero(submitted) == dt.date(2026, 7, 9)
    assert calendar("Asia/Jakarta").day_zero(submitted) == dt.date(2026, 7, 8)
    assert calendar("Asia/Jayapura").due_at(submitted, 0) == dt.datetime(2026, 7, 9, 16, 0, tzinfo=WIT)


# --- revision waits -----------------------------------------------------------------------------------


def test_revision_wait_moves_the_due_date_by_the_working_days_waited():
    # Submitted Mon 6 Jul 2026 09:00 WIB, sla 5: day 0 Mon 6 -> due Mon 13 Jul 16:00.
    # Revision requested Tue 7 Jul 10:00, resubmitted Fri 10 Jul 11:00: the closes of Tue 7, Wed 8 and
    # Thu 9 passed while waiting -> 3 working days. Due moves Mon 13 -> Tue 14, Wed 15, Thu 16 Jul.
    cal = calendar()
    due = cal.due_at(dt.datetime(2026, 7, 6, 9, 0, tzinfo=WIB), 5)
    assert due == dt.datetime(2026, 7, 13, 16, 0, tzinfo=WIB)
    waited = cal.working_days_between(
        dt.datetime(2026, 7, 7, 10, 0, tzinfo=WIB), dt.datetime(2026, 7, 10, 11, 0, tzinfo=WIB)
    )
    assert waited == 3
    assert cal.extend(due, waited) == dt.datetime(2026, 7, 16, 16, 0, tzinfo=WIB)


def test_revision_wait_over_a_holiday_counts_only_working_days():
    # Requested Fri 14 Aug 2026 10:00 WITA, resubmitted Tue 18 Aug 10:00: only Fri 14's close passed
    # on a working day (weekend and Mon 17 Aug Independence Day do not count) -> 1.
    cal = calendar("Asia/Makassar")
    waited = cal.working_days_between(
        dt.datetime(2026, 8, 14, 10, 0, tzinfo=WITA), dt.datetime(2026, 8, 18, 10, 0, tzinfo=WITA)
    )
    assert waited == 1


def test_short_revision_waits_count_zero():
    cal = calendar()
    # Same morning.
    assert (
        cal.working_days_between(dt.datetime(2026, 7, 7, 9, 0, tzinfo=WIB), dt.datetime(2026, 7, 7, 11, 0, tzinfo=WIB))
        == 0
    )
    # After closing until the next morning: no office time was lost.
    assert (
        cal.working_days_between(dt.datetime(2026, 7, 7, 17, 0, tzinfo=WIB), dt.datetime(2026, 7, 8, 9, 0, tzinfo=WIB))
        == 0
    )


def test_working_days_between_refuses_a_reversed_interval():
    with pytest.raises(ValueError):
        calendar().working_days_between(
            dt.datetime(2026, 7, 8, 9, 0, tzinfo=WIB), dt.datetime(2026, 7, 7, 9, 0, tzinfo=WIB)
        )


def test_extend_by_zero_keeps_the_due_date():
    due = dt.datetime(2026, 7, 13, 16, 0, tzinfo=WIB)
    assert calendar().extend(due, 0) == due


# --- refusals -----------------------------------------------------------------------------------------


def test_naive_datetimes_are_refused():
    cal = calendar()
    naive = dt.datetime(2026, 7, 8, 9, 0)
    aware = dt.datetime(2026, 7, 8, 9, 0, tzinfo=WIB)
    with pytest.raises(ValueError):
        cal.day_zero(naive)
    with pytest.raises(ValueError):
        cal.due_at(naive, 3)
    with pytest.raises(ValueError):
        cal.working_days_between(naive, aware)
    with pytest.raises(ValueError):
        cal.working_days_between(aware, naive)
    with pytest.raises(ValueError):
        cal.extend(naive, 1)


def test_negative_sla_and_unknown_time_zone_are_refused():
    with pytest.raises(ValueError):
        calendar().due_at(dt.datetime(2026, 7, 8, 9, 0, tzinfo=WIB), -1)
    with pytest.raises(ValueError):
        WorkingCalendar(timezone="Asia/Nowhere", office_hours=OfficeHours())


def test_is_working_day_refuses_a_datetime():
    with pytest.raises(TypeError):
        calendar().is_working_day(dt.datetime(2026, 8, 17, 9, 0, tzinfo=WIB))
