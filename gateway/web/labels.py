"""The words every page shows for the platform's codes (application and service statuses, roles, workflow actions),
in Indonesian and English: one table each, so a status reads the same to a citizen, to staff and to an admin."""
from __future__ import annotations

Pair = tuple[str, str]  # (Indonesian, English)

STATUS: dict[str, Pair] = {
    "submitted": ("Diajukan", "Submitted"), "in_review": ("Sedang diperiksa", "In review"),
    "revision_requested": ("Perlu perbaikan", "Revision requested"), "approved": ("Disetujui", "Approved"),
    "rejected": ("Ditolak", "Rejected"), "completed": ("Selesai", "Completed")}
SERVICE_STATUS: dict[str, Pair] = {
    "draft": ("Draf", "Draft"), "published": ("Terbit", "Published"), "archived": ("Diarsipkan", "Archived")}
ROLE: dict[str, Pair] = {
    "citizen": ("Pemohon", "Applicant"), "applicant": ("Pemohon", "Applicant"),
    "verifier": ("Verifikator", "Verifier"), "approver": ("Pejabat penyetuju", "Approver"),
    "operator": ("Operator", "Operator"), "tenant_admin": ("Admin daerah", "Region admin"),
    "platform_admin": ("Admin platform", "Platform admin"), "system": ("Sistem", "System")}
ACTION: dict[str, Pair] = {  # what staff press
    "verify": ("Verifikasi", "Verify"), "approve": ("Setujui", "Approve"), "complete": ("Selesaikan", "Complete"),
    "reject": ("Tolak", "Reject"), "request_revision": ("Minta perbaikan", "Request revision")}
DONE: dict[str, Pair] = {  # what happened, in an application's history
    "submit": ("Permohonan diajukan", "Application submitted"), "verify": ("Berkas diverifikasi", "Verified"),
    "approve": ("Disetujui", "Approved"), "complete": ("Selesai, dokumen terbit", "Completed, document issued"),
    "reject": ("Ditolak", "Rejected"), "request_revision": ("Diminta perbaikan", "Revision requested"),
    "resubmit": ("Dikirim ulang", "Resubmitted")}


def word(lang: str, table: dict[str, Pair], key: str) -> str:
    """The word for ``key`` in ``lang``; the key itself when the table has none."""
    pair = table.get(key)
    return pair[lang == "en"] if pair else key


def words(lang: str, table: dict[str, Pair]) -> dict[str, str]:
    return {k: v[lang == "en"] for k, v in table.items()}
