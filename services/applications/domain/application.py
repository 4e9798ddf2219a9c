"""The application aggregate: the workflow state machine of API.md, its append-only history and its SLA clock.

Roles per step decide who may act (else 403); the step's actions and the status decide what can happen now
(else 409). ``request_revision`` stops the SLA clock; the applicant's ``resubmit`` restarts it and moves the due
date by the working days it waited.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mppi.contracts.errors import ActionNotAllowed, Forbidden, ValidationFailed, field_error
from mppi.indonesia.workdays import WorkingCalendar

TERMINAL = ("rejected", "completed")
STAFF_ACTIONS = ("verify", "approve", "complete", "reject", "request_revision")
MOVES = {"verify": "in_review", "approve": "approved", "complete": "completed", "reject": "rejected",
         "request_revision": "revision_requested"}


@dataclass
class Transition:
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    from_step: str | None
    to_step: str | None
    actor_role: str
    actor_id: str
    note: str | None = None

    def public(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "action": self.action, "from_status": self.from_status,
                "to_status": self.to_status, "from_step": self.from_step, "to_step": self.to_step,
                "actor_role": self.actor_role, "note": self.note}


@dataclass
class Application:
    id: str
    tenant: str
    tracking_number: str
    service: dict[str, Any]  # {id, version, code, name, output}
    workflow: list[dict[str, Any]]  # the steps of the version applied for
    applicant_id: str
    applicant_name: str
    form: dict[str, Any]
    documents: list[dict[str, Any]]
    status: str
    step: str | None
    submitted_at: datetime
    updated_at: datetime
    sla_due_at: datetime
    status_before_revision: str | None = None
    paused_at: datetime | None = None
    breached_at: datetime | None = None
    output: dict[str, Any] | None = None
    history: list[Transition] = field(default_factory=list)
    new_history: list[Transition] = field(default_factory=list)

    # -- queries ---------------------------------------------------------------------------------------------------
    def current_step(self) -> dict[str, Any] | None:
        return next((s for s in self.workflow if s["key"] == self.step), None)

    def allowed_actions(self, *, roles: set[str], is_applicant: bool) -> list[str]:
        if self.status in TERMINAL:
            return []
        if self.status == "revision_requested":
            return ["resubmit"] if is_applicant else []
        step = self.current_step()
        if step is None or not roles & set(step["roles"]):
            return []
        return [a for a in step["actions"] if a in STAFF_ACTIONS]

    @property
    def is_open(self) -> bool:
        return self.status not in TERMINAL

    # -- commands --------------------------------------------------------------------------------------------------
    def act(self, action: str, *, actor_id: str, roles: set[str], now: datetime, calendar: WorkingCalendar,
            note: str | None = None) -> Transition:
        """A staff action at the current step; raises Forbidden (role) or ActionNotAllowed (state)."""
        if action == "resubmit":
            raise ActionNotAllowed("only the applicant resubmits, after a revision was requested")
        if self.status in TERMINAL:
            raise ActionNotAllowed(f"the application is {self.status}")
        step = self.current_step()
        acting = sorted(roles & set(step["roles"])) if step else []
        if self.status == "revision_requested":
            if not acting:
                raise Forbidden(f"your role may not act at step {self.step}")
            raise ActionNotAllowed("the application waits for the applicant's revision")
        if not acting:
            raise Forbidden(f"your role may not act at step {self.step}")
        if action not in step["actions"]:
            raise ActionNotAllowed(f"{action} is not possible at step {self.step}")
        if action == "reject" and not (note and note.strip()):
            raise ValidationFailed("a rejection needs the reason in note", [field_error(["body", "note"], "required")])
        from_status, from_step = self.status, self.step
        to_status = MOVES[action]
        if action in ("verify", "approve"):
            self.step = self._next_step()  # complete, reject and request_revision stay at the step
        if action == "request_revision":
            self.status_before_revision = from_status
            self.paused_at = now
        self.status = to_status
        return self._record(action, from_status, from_step, acting[0], actor_id, note, now)

    def resubmit(self, *, actor_id: str, now: datetime, calendar: WorkingCalendar,
                 form: dict[str, Any] | None = None, documents: list[dict[str, Any]] | None = None,
                 note: str | None = None) -> Transition:
        if actor_id != self.applicant_id:
            raise Forbidden("only the applicant resubmits")
        if self.status != "revision_requested":
            raise ActionNotAllowed("no revision was requested")
        if self.paused_at is not None:
            waited = calendar.working_days_between(self.paused_at, now)
            if waited:
                self.sla_due_at = calendar.extend(self.sla_due_at, waited)
        if form is not None:
            self.form = form
        if documents is not None:
            by_key = {d["key"]: d for d in self.documents}
            by_key.update({d["key"]: d for d in documents})
            self.documents = list(by_key.values())
        from_status = self.status
        self.status = self.status_before_revision or "submitted"
        self.status_before_revision = None
        self.paused_at = None
        return self._record("resubmit", from_status, self.step, "applicant", actor_id, note, now)

    def breach(self, now: datetime) -> bool:
        """Mark the SLA as breached, once; only open applications not waiting on the applicant."""
        if self.breached_at or not self.is_open or self.status == "revision_requested" or now <= self.sla_due_at:
            return False
        self.breached_at = now
        return True

    def _next_step(self) -> str | None:
        keys = [s["key"] for s in self.workflow]
        i = keys.index(self.step)
        return keys[i + 1] if i + 1 < len(keys) else self.step

    def _record(self, action, from_status, from_step, role, actor_id, note, now) -> Transition:
        t = Transition(at=now, action=action, from_status=from_status, to_status=self.status, from_step=from_step,
                       to_step=self.step, actor_role=role, actor_id=actor_id, note=note)
        self.history.append(t)
        self.new_history.append(t)
        self.updated_at = now
        return t


def submit(*, id: str, tenant: str, tracking_number: str, service: dict[str, Any], workflow: list[dict[str, Any]],
           applicant_id: str, applicant_name: str, form: dict[str, Any], documents: list[dict[str, Any]],
           now: datetime, calendar: WorkingCalendar, sla_days: int) -> Application:
    app = Application(id=id, tenant=tenant, tracking_number=tracking_number, service=service, workflow=workflow,
                      applicant_id=applicant_id, applicant_name=applicant_name, form=form, documents=documents,
                      status="submitted", step=workflow[0]["key"], submitted_at=now, updated_at=now,
                      sla_due_at=calendar.due_at(now, sla_days))
    app._record("submit", None, None, "applicant", applicant_id, None, now)
    app.history[0].from_step = None
    return app
