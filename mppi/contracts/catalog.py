"""Contracts of the catalogue: a service definition (standard, form, workflow), templates and service versions.

Pydantic checks shapes here; rules that span fields (duplicate keys, a terminal step, roles per step) live in the
catalog domain (``services.catalog.domain.definition``) so they can name the exact place that is wrong.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from mppi.contracts.common import LocalizedText, Request
from mppi.contracts.tenants import StaffRole

FIELD_TYPES = ("text", "textarea", "number", "date", "email", "phone", "nik", "select", "checkbox", "region", "file")
ACTIONS = ("verify", "approve", "complete", "reject", "request_revision")
STATUSES = ("draft", "published", "archived")

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", min_length=2, max_length=63)]
Category = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=40)]
Mime = Annotated[str, StringConstraints(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Text = ShortText | dict[Literal["id", "en"], ShortText]

CATEGORIES: dict[str, dict[str, str]] = {
    "kependudukan": {"id": "Kependudukan dan Pencatatan Sipil", "en": "Civil registration"},
    "perizinan": {"id": "Perizinan dan Nonperizinan", "en": "Permits and licences"},
    "kesehatan": {"id": "Kesehatan", "en": "Health"},
    "pendidikan": {"id": "Pendidikan", "en": "Education"},
    "ketenagakerjaan": {"id": "Ketenagakerjaan", "en": "Employment"},
    "sosial": {"id": "Sosial", "en": "Social welfare"},
    "pajak-daerah": {"id": "Pajak dan Retribusi Daerah", "en": "Regional taxes and levies"},
    "pertanahan": {"id": "Pertanahan", "en": "Land"},
    "kepolisian": {"id": "Kepolisian", "en": "Police"},
    "keimigrasian": {"id": "Keimigrasian", "en": "Immigration"},
    "keagamaan": {"id": "Keagamaan", "en": "Religious affairs"},
    "umum": {"id": "Layanan umum", "en": "General services"},
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Option(Strict):
    value: Annotated[str, StringConstraints(min_length=1, max_length=60)]
    label: Text


class FormField(Strict):
    key: Key
    label: Text
    type: Literal["text", "textarea", "number", "date", "email", "phone", "nik", "select", "checkbox", "region",
                  "file"]
    required: bool = True
    help: Text | None = None
    options: list[Option] | None = Field(default=None, max_length=200)  # select
    level: Literal["province", "regency", "district"] | None = None  # region
    accept: list[Mime] | None = Field(default=None, max_length=10)  # file
    max_size_mb: float | None = Field(default=None, gt=0, le=20)  # file
    max_length: int | None = Field(default=None, ge=1, le=10_000)  # text, textarea
    min: float | None = None  # number
    max: float | None = None  # number


class Form(Strict):
    fields: list[FormField] = Field(max_length=60)


class WorkflowStep(Strict):
    key: Key
    label: Text
    roles: list[StaffRole] = Field(max_length=4)
    actions: list[Literal["verify", "approve", "complete", "reject", "request_revision"]] = Field(max_length=5)
    sla_days: int | None = Field(default=None, ge=0, le=365)


class Workflow(Strict):
    steps: list[WorkflowStep] = Field(min_length=1, max_length=10)


class Requirement(Strict):
    name: Text
    description: Text | None = None
    document: bool = True  # a document the applicant hands in (else a condition to meet)
    field_key: Key | None = None  # the file field of the form that collects it


class Fee(Strict):
    # fixed: the amount is the whole fee (0 is free); variable: computed per application (a retribusi by floor area,
    # a tariff by choice), and the amount is its fixed part — the basis says how the rest is worked out
    kind: Literal["fixed", "variable"] = "fixed"
    amount: int = Field(ge=0, le=10_000_000_000)  # rupiah
    currency: Literal["IDR"] = "IDR"
    basis: Text | None = None  # the legal basis of the fee, or of it being free


class Standard(Strict):
    """The service standard (PermenPANRB 15/2014): six public components first, then the internal ones."""

    requirements: list[Requirement] = Field(min_length=1, max_length=40)
    procedure: list[Text] = Field(min_length=1, max_length=30)
    sla_days: int = Field(ge=0, le=365)
    fee: Fee
    output: Text
    complaints: Text
    legal_basis: list[Text] = Field(default_factory=list, max_length=30)
    facilities: Text | None = None
    staff_competence: Text | None = None
    internal_oversight: Text | None = None
    staff_count: int | None = Field(default=None, ge=0, le=10_000)
    service_guarantee: Text | None = None
    safety_guarantee: Text | None = None
    performance_evaluation: Text | None = None


class ServiceDefinition(Strict):
    code: Code
    name: Text
    keywords: list[Annotated[str, StringConstraints(min_length=1, max_length=60)]] = Field(
        default_factory=list, max_length=20)  # abbreviations and everyday names people search with
    category: Category
    agency: Annotated[str, StringConstraints(max_length=200)] | None = None
    description: Text
    mode: Literal["online", "visit"] = "online"
    standard: Standard
    form: Form
    workflow: Workflow


class Template(ServiceDefinition):
    """A national template: a service definition the library offers every region to adopt."""


class AdoptOrCreate(Request):
    """Adopt a template (``template_code``, optional ``code``) or create from a full ``definition``."""

    template_code: Code | None = None
    code: Code | None = None
    definition: dict[str, Any] | None = None


class ServicePatch(Request):
    """A partial definition, merged into the draft (JSON merge patch: objects merge, lists are replaced)."""

    model_config = ConfigDict(extra="allow")


class ServicePublic(BaseModel):
    id: str
    tenant: str
    code: str
    name: LocalizedText
    category: str
    agency: str | None
    description: LocalizedText
    status: Literal["draft", "published", "archived"]
    version: int
    mode: Literal["online", "visit"]
    keywords: list[str]
    standard: dict[str, Any]
    form: dict[str, Any]
    workflow: dict[str, Any]


class ServiceSummary(BaseModel):
    id: str
    code: str
    name: LocalizedText
    category: str
    agency: str | None
    description: LocalizedText
    status: str
    version: int
    mode: str


class TemplateSummary(BaseModel):
    code: str
    name: LocalizedText
    category: str
    agency: str | None
    description: LocalizedText
    sla_days: int
    fee: int


DEFAULT_WORKFLOW: list[dict[str, Any]] = [
    {"key": "verification", "label": {"id": "Verifikasi berkas", "en": "Document check"}, "roles": ["verifier"],
     "actions": ["verify", "request_revision", "reject"]},
    {"key": "approval", "label": {"id": "Persetujuan", "en": "Approval"}, "roles": ["approver"],
     "actions": ["approve", "reject"]},
    {"key": "issuance", "label": {"id": "Penerbitan", "en": "Issuance"}, "roles": ["operator"],
     "actions": ["complete"]},
]
