"""Contracts of the applications service: submissions, actions, the application as staff and applicants see it,
tracking, verification, the SKM survey and statistics."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from mppi.contracts.common import Request

STATUSES = ("submitted", "in_review", "revision_requested", "approved", "rejected", "completed")
OPEN_STATUSES = ("submitted", "in_review", "revision_requested", "approved")
Status = Literal["submitted", "in_review", "revision_requested", "approved", "rejected", "completed"]
Action = Literal["verify", "approve", "complete", "reject", "request_revision", "resubmit"]
Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class FileRef(BaseModel):
    """An uploaded file the gateway streamed into the blob store's staging area: only the reference travels."""

    field: Annotated[str, StringConstraints(max_length=40)]
    key: Annotated[str, StringConstraints(max_length=500)]
    filename: Annotated[str, StringConstraints(max_length=255)]
    size: int = Field(ge=0)
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    content_type: Annotated[str, StringConstraints(max_length=100)]  # as the client declared it; not trusted


class SubmissionData(Request):
    """The ``data`` part of a submission (or the whole JSON body when the service has no file field)."""

    service_id: Id
    form: dict[str, Any] = Field(default_factory=dict)


class ActionRequest(Request):
    action: Action
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class SurveyAnswers(Request):
    answers: dict[str, int]
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Document(BaseModel):
    key: str
    filename: str
    size: int
    sha256: str
    content_type: str


class HistoryEntry(BaseModel):
    at: str
    action: str
    from_status: Status | None
    to_status: Status
    from_step: str | None
    to_step: str | None
    actor_role: str
    note: str | None = None


class ApplicationPublic(BaseModel):
    id: str
    tenant: str
    tracking_number: str
    status: Status
    step: str | None
    service: dict[str, Any]
    form: dict[str, Any]
    documents: list[Document]
    history: list[HistoryEntry]
    submitted_at: str
    sla_due_at: str
    allowed_actions: list[str]
    output: dict[str, Any] | None
    applicant_name: str
    survey_answered: bool = False  # ended (completed or rejected) and its SKM survey answered


class ApplicationSummary(BaseModel):
    id: str
    tenant: str
    tracking_number: str
    service: dict[str, Any]
    status: Status
    step: str | None
    submitted_at: str
    sla_due_at: str
    applicant_name: str | None = None  # in the staff inbox


class TrackingPublic(BaseModel):
    tracking_number: str
    tenant: str
    service_name: Any
    status: Status
    submitted_at: str
    updated_at: str
    sla_due_at: str


class VerifyDetail(BaseModel):
    label: str
    value: str  # masked (mppi.indonesia.masking.mask_detail)


class VerifyPublic(BaseModel):
    """A genuine issued document as the public may see it: what its receipt prints, to compare with the paper."""

    valid: Literal[True]
    tracking_number: str
    tenant: str
    service_name: Any
    issued_at: str  # RFC 3339 with the region's offset
    region_code: str | None = None  # null only for a legacy code of a region no longer on the platform
    region_name: str | None = None  # the Kemendagri name, not the region's display name
    timezone: str | None = None
    timezone_label: Literal["WIB", "WITA", "WIT", ""] | None = None
    output_name: str  # the product the receipt is for
    holder: str  # masked: "B*** S******"
    details: list[VerifyDetail]  # the receipt's detail rows, values masked; empty for a legacy code
    content_bound: bool  # the code signs these facts; false for a legacy code, which signs its tracking number alone
    document_sha256: str | None = None  # of the issued PDF file; null for a legacy code


class SubscriptionCreate(Request):
    kind: Literal["amqp", "webhook"]
    url: Annotated[str, StringConstraints(max_length=2000)] | None = None


class TemplateOverride(Request):
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class ProviderConfig(Request):
    """An HTTP SMS or WhatsApp gateway: MPPI POSTs {"to", "text", "sender"} with the token as a bearer."""

    url: Annotated[str, StringConstraints(max_length=500)]
    token: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    sender: Annotated[str, StringConstraints(max_length=30)] | None = None


class ChannelsConfig(Request):
    email: bool = True
    sms: ProviderConfig | None = None
    whatsapp: ProviderConfig | None = None
