"""An email as a mail client reads it back: Indonesian and other non-ASCII text intact in the sender's name, the
subject and the body."""
import email
import email.policy

from services.notifications.dependencies import message


def test_an_email_reads_back_with_its_non_ascii_text_intact():
    raw = message(sender="Pemkab Sinjai — Łódź <noreply@mppi.local>", to="warga@example.id",
                  subject="Permohonan diterima ✓", body="Nomor: SNJ-26-7K3Q9X\nBatas waktu — 04-12-2026 16:00",
                  message_id="d41d8cd9").as_bytes()
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert back["From"].addresses[0].display_name == "Pemkab Sinjai — Łódź"
    assert back["From"].addresses[0].addr_spec == "noreply@mppi.local"
    assert back["To"] == "warga@example.id" and back["Subject"] == "Permohonan diterima ✓"
    assert back["Message-ID"] == "<d41d8cd9@mppi>" and back["Date"]
    assert back.get_content() == "Nomor: SNJ-26-7K3Q9X\nBatas waktu — 04-12-2026 16:00"
    assert raw.isascii()  # 7-bit clean for any SMTP server


def test_a_subject_stays_one_header_whatever_its_text_holds():
    for subject in ("Permohonan SNJ-26-7K3Q9X diterima\nBcc: x@example.id", "Diterima ✓\r\nBcc: x@example.id"):
        raw = message(sender="MPPI <noreply@mppi.local>", to="warga@example.id", subject=subject, body="isi",
                      message_id="m1").as_bytes()
        back = email.message_from_bytes(raw, policy=email.policy.default)
        assert back["Bcc"] is None and "Bcc: x@example.id" in back["Subject"]
