"""The national template library: service definitions every region can adopt as they are or adapt.

Each ``<category>.json`` file in this folder holds a JSON array of templates of one category of
``mppi.contracts.catalog.CATEGORIES`` (the file name is the category key). Every template is a full service
definition (standard, form, workflow) that passes ``validate_definition``; the library refuses to load otherwise,
so a broken template is found by the unit tests, never by a region adopting it.

Content notes for editors:
- Text is ``{"id": ..., "en": ...}``. Fees are in rupiah with their legal basis always stated, free ones included.
- Cite the regulation in force, not one it replaced (PP 28/2025 for risk-based licensing, UU 17/2023 for health
  workers, PMA 30/2024 for marriage registration, UU 14/2025 for hajj); the unit tests refuse the repealed ones.
  Where the charge is computed per application (a retribusi or tax assessed from area or value), ``amount`` is the
  fixed national part or 0 and ``basis`` explains how the rest is set.
- ``mode`` is ``visit`` when the decisive step needs the citizen at the counter in one sitting (passport,
  police certificate, Samsat, land office, hajj registration, health check); the online application is then a
  pre-registration, as each description says. KTP-el enrolment stays ``online`` with the in-person biometric
  step named in its workflow.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from mppi.contracts.catalog import CATEGORIES, Template
from mppi.contracts.errors import ValidationFailed
from services.catalog.domain.definition import validate_definition

FOLDER = Path(__file__).parent


def load_folder(folder: Path) -> dict[str, Template]:
    """Read, check and order every ``*.json`` template file of ``folder``; ValueError names the first problem."""
    found: dict[str, tuple[str, Template]] = {}
    for path in sorted(folder.glob("*.json")):
        filename = path.name
        category = path.stem
        if category not in CATEGORIES:
            raise ValueError(f"{filename}: {category!r} is not a catalogue category (one of {', '.join(CATEGORIES)})")
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{filename}: cannot be read as JSON: {exc}") from exc
        if not isinstance(items, list):
            raise ValueError(f"{filename}: must hold a JSON array of templates, not {type(items).__name__}")
        for index, item in enumerate(items):
            try:
                defn = validate_definition(item, loc=("templates", filename, index))
            except ValidationFailed as exc:
                places = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors)
                raise ValueError(f"{filename}[{index}] is not a valid service definition: {places}") from exc
            if defn.category != category:
                raise ValueError(f"{filename}[{index}] ({defn.code}): category {defn.category!r} does not match "
                                 f"the file's category {category!r}")
            if defn.code in found:
                raise ValueError(f"{filename}[{index}]: code {defn.code!r} is already used in {found[defn.code][0]}")
            found[defn.code] = (f"{filename}[{index}]", Template.model_validate(defn.model_dump()))
    ordered = sorted(found.values(), key=lambda pair: (pair[1].category, pair[1].code))
    return {t.code: t for _, t in ordered}


@functools.cache
def load_templates() -> dict[str, Template]:
    """The library, keyed by code and ordered by category then code. Loaded once; callers must not change it."""
    return load_folder(FOLDER)


def template_summary(t: Template) -> dict[str, Any]:
    """The short form the template list shows (``TemplateSummary``)."""
    return {
        "code": t.code,
        "name": t.name,
        "category": t.category,
        "agency": t.agency,
        "description": t.description,
        "sla_days": t.standard.sla_days,
        "fee": t.standard.fee.amount,
    }
