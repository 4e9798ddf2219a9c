"""The application aggregate without a broker: who may act when, the history, and the SLA clock worked by hand."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mppi.contracts.catalog import DEFAULT_WORKFLOW
from mppi.contracts.errors import ActionNotAllowed, Forbidden, ValidationFailed
from mppi.indonesia.workdays import OfficeHours, WorkingCalendar
from services.applications.domain.application import submit
from services.applications.domain.tracking import ALPHABET, new_tracking_number, prefix_for

WITA = ZoneInfo("Asia/Makassar")
SINJAI = WorkingCalendar(timezone="Asia/Makassar", office_hours=OfficeHours())


def at(*args) -> datetime:
    return datetime(*args, tzinfo=WITA)


def new_app(now=None, sla_days=3, calendar=SINJAI):
    return submit(id="a1", tenant="sinjai", tracking_number="SNJ-26-ABCDEF",
                  service={"id": "s1", "version": 1, "code": "akta-kelahiran", "name": "Akta"},
                  workflow=[dict(s) for s in DEFAULT_WORKFLOW], applicant_id="warga", applicant_name="Andi",
                  form={}, documents=[], now=now or at(2026, 12, 1, 9, 0), calendar=calendar, sla_days=sla_days)


def test_each_role_acts_only_at_its_step_and_the_history_records_it():
    app = new_app()
    with pytest.raises(Forbidden):
        app.act("approve", actor_id="x", roles={"approver"}, now=at(2026, 12, 1, 10), calendar=SINJAI)
    with pytest.raises(ActionNotAllowed):
        app.act("complete", actor_id="v", roles={"verifier"}, now=at(2026, 12, 1, 10), calendar=SINJAI)
    app.act("verify", actor_id="v", roles={"verifier"}, now=at(2026, 12, 1, 10), calendar=SINJAI)
    app.act("approve", actor_id="p", roles={"approver"}, now=at(2026, 12, 1, 11), calendar=SINJAI)
    app.act("complete", actor_id="o", roles={"operator"}, now=at(2026, 12, 1, 12), calendar=SINJAI)
    assert [(t.action, t.from_status, t.to_status, t.to_step, t.actor_role) for t in app.history] == [
        ("submit", None, "submitted", "verification", "applicant"),
        ("verify", "submitted", "in_review", "approval", "verifier"),
        ("approve", "in_review", "approved", "issuance", "approver"),
        ("complete", "approved", "completed", "issuance", "operator")]
    with pytest.raises(ActionNotAllowed):
        app.act("complete", actor_id="o", roles={"operator"}, now=at(2026, 12, 1, 13), calendar=SINJAI)
    assert app.allowed_actions(roles={"operator"}, is_applicant=False) == []


def test_rejection_needs_a_reason_and_ends_the_workflow():
    app = new_app()
    with pytest.raises(ValidationFailed):
        app.act("reject", actor_id="v", roles={"verifier"}, now=at(2026, 12, 1, 10), calendar=SINJAI)
    app.act("reject", actor_id="v", roles={"verifier"}, now=at(2026, 12, 1, 10), calendar=SINJAI, note="Palsu")
    assert app.status == "rejected" and app.history[-1].note == "Palsu" and not app.is_open


def test_friday_after_hours_before_a_monday_holiday_is_due_the_next_friday_at_close():
    # Friday 14 Aug 2026 16:30 WITA is after office hours: day 0 is the next working day. Monday 17 Aug is
    # Independence Day, so day 0 is Tuesday 18 Aug; three working days later is Friday 21 Aug, due at 16:00.
    app = new_app(now=at(2026, 8, 14, 16, 30), sla_days=3)
    assert app.sla_due_at == at(2026, 8, 21, 16, 0)


def test_a_tenant_holiday_pushes_the_due_date():
    # Tuesday 1 Dec 2026 09:00 is day 0; with 2 Dec declared a regional holiday, day 3 is Friday 4 → Monday 7 Dec
    calendar = WorkingCalendar(timezone="Asia/Makassar", office_hours=OfficeHours(),
                               extra_holidays=[datetime(2026, 12, 2).date()])
    app = new_app(now=at(2026, 12, 1, 9, 0), sla_days=3, calendar=calendar)
    assert app.sla_due_at == at(2026, 12, 7, 16, 0)


def test_a_sunday_submission_starts_on_monday():
    # Sunday 6 Dec 2026: day 0 is Monday 7 Dec; two working days later is Wednesday 9 Dec at 16:00
    assert new_app(now=at(2026, 12, 6, 11, 0), sla_days=2).sla_due_at == at(2026, 12, 9, 16, 0)


def test_a_submission_before_opening_on_a_working_day_counts_that_day():
    # Mon 7 Dec 2026 07:00 WITA, an hour before Sinjai's office opens: Monday is day 0, as for 08:00, so 3 working
    # days -> Thu 10 Dec 16:00; the same Monday at 16:00 (closing) starts on Tuesday -> Fri 11 Dec 16:00.
    assert new_app(now=at(2026, 12, 7, 7, 0), sla_days=3).sla_due_at == at(2026, 12, 10, 16, 0)
    assert new_app(now=at(2026, 12, 7, 8, 0), sla_days=3).sla_due_at == at(2026, 12, 10, 16, 0)
    assert new_app(now=at(2026, 12, 7, 16, 0), sla_days=3).sla_due_at == at(2026, 12, 11, 16, 0)


def test_waiting_for_the_applicant_stops_the_clock():
    app = new_app(now=at(2026, 12, 1, 9, 0), sla_days=3)  # due Friday 4 Dec 16:00
    app.act("request_revision", actor_id="v", roles={"verifier"}, now=at(2026, 12, 1, 10, 0), calendar=SINJAI,
            note="KK buram")
    assert app.allowed_actions(roles=set(), is_applicant=True) == ["resubmit"]
    assert not app.breach(at(2026, 12, 10, 9, 0)), "no breach while waiting on the applicant"
    # resubmitted Thursday 3 Dec 10:00: two working days (1 and 2 Dec closing times) passed while waiting
    app.resubmit(actor_id="warga", now=at(2026, 12, 3, 10, 0), calendar=SINJAI)
    assert app.status == "submitted" and app.step == "verification"
    assert app.sla_due_at == at(2026, 12, 8, 16, 0)


def test_a_breach_is_marked_once():
    app = new_app(now=at(2026, 12, 1, 9, 0), sla_days=1)
    assert not app.breach(at(2026, 12, 2, 15, 0))
    assert app.breach(at(2026, 12, 2, 16, 1))
    assert not app.breach(at(2026, 12, 3, 9, 0))


def test_tracking_numbers_are_short_readable_and_not_sequential():
    numbers = {new_tracking_number("bengkulu-tengah", 2026) for _ in range(2000)}
    assert len(numbers) == 2000
    for n in list(numbers)[:50]:
        prefix, year, suffix = n.split("-")
        assert (prefix, year, len(suffix)) == ("BNT", "26", 6) and set(suffix) <= set(ALPHABET)
    assert prefix_for("sinjai") == "SNJ"
