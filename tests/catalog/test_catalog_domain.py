"""Catalogue domain rules without a broker: versions freeze on publish, merge patches, definition checks."""
import copy

import pytest

from mppi.contracts.catalog import DEFAULT_WORKFLOW
from mppi.contracts.errors import ValidationFailed
from services.catalog.domain.service import merge_patch, new_service

DEFINITION = {
    "code": "surat-keterangan", "name": {"id": "Surat keterangan", "en": "Certificate"}, "category": "umum",
    "description": "Surat keterangan umum",
    "standard": {"requirements": [{"name": "KTP-el", "field_key": "ktp"}], "procedure": ["Ajukan", "Ambil"],
                 "sla_days": 3, "fee": {"amount": 0, "basis": "Gratis"}, "output": "Surat", "complaints": "LAPOR!"},
    "form": {"fields": [{"key": "nik", "label": "NIK", "type": "nik"},
                        {"key": "ktp", "label": "KTP", "type": "file", "accept": ["application/pdf"],
                         "max_size_mb": 2}]},
    "workflow": {"steps": copy.deepcopy(DEFAULT_WORKFLOW)},
}


def test_publishing_freezes_a_version_and_the_next_edit_starts_a_new_draft():
    s = new_service(tenant="sinjai", service_id="s1", definition=DEFINITION, template_code=None)
    s.edit({"standard": {"sla_days": 5}})
    assert (s.latest.number, s.latest.definition["standard"]["sla_days"]) == (1, 5)
    assert s.publish() and s.published is s.latest and s.status == "published"
    frozen = copy.deepcopy(s.published.definition)
    s.edit({"standard": {"sla_days": 1}})
    assert (s.latest.number, s.latest.state) == (2, "draft")
    assert s.published.number == 1 and s.published.definition == frozen
    assert s.publish() and s.published.number == 2 and s.published.definition != frozen


def test_publishing_without_a_draft_changes_nothing():
    s = new_service(tenant="sinjai", service_id="s1", definition=DEFINITION, template_code=None)
    assert s.publish()
    assert not s.publish()
    assert s.archive() and s.status == "archived" and not s.archive()
    assert s.publish() and s.status == "published", "publishing again brings an archived service back"


def test_the_code_cannot_change_and_edits_are_validated():
    s = new_service(tenant="sinjai", service_id="s1", definition=DEFINITION, template_code=None)
    with pytest.raises(ValidationFailed):
        s.edit({"code": "other"})
    with pytest.raises(ValidationFailed) as err:
        s.edit({"standard": {"requirements": [{"name": "KK", "field_key": "kk"}]}})
    assert err.value.errors[0]["loc"] == ["body", "standard", "requirements", 0, "field_key"]


def test_a_fee_needs_its_legal_basis():
    d = merge_patch(copy.deepcopy(DEFINITION), {"standard": {"fee": {"amount": 50000, "basis": None}}})
    with pytest.raises(ValidationFailed) as err:
        new_service(tenant="t", service_id="s", definition=d, template_code=None)
    assert err.value.errors[0]["loc"] == ["body", "standard", "fee", "basis"]


def test_merge_patch_merges_objects_replaces_lists_and_removes_nulls():
    assert merge_patch({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": 3, "c": None}, "l": [9]}) == {
        "a": {"b": 3}, "l": [9]}
