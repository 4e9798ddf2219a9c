"""Accounts: citizens register themselves with a valid NIK; staff belong to exactly one tenant."""
from __future__ import annotations

from dataclasses import dataclass, field

from mppi.contracts.errors import ValidationFailed, field_error
from mppi.indonesia.nik import nik_problems


@dataclass
class Account:
    id: str
    email: str
    full_name: str
    password_hash: str
    roles: list[str]
    tenant: str | None = None
    nik: str | None = None
    phone: str | None = None
    active: bool = True
    extra: dict = field(default_factory=dict)

    def public(self) -> dict:
        return {"id": self.id, "email": self.email, "roles": list(self.roles)}

    def me(self) -> dict:
        return {**self.public(), "full_name": self.full_name, "tenant": self.tenant}

    def staff(self) -> dict:
        return {**self.public(), "full_name": self.full_name, "active": self.active}


def check_nik(nik: str) -> None:
    problems = nik_problems(nik)
    if problems:
        raise ValidationFailed("The NIK is not valid: " + "; ".join(problems),
                               [field_error(["body", "nik"], p) for p in problems])
