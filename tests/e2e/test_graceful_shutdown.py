"""SIGTERM as Kubernetes sends it (a rolling update, a scale-down, a node drain): a service replica stopped in the
middle of a stream of work finishes what it took on, its queued messages go to the replica that stays, and nothing a
citizen did is lost or done twice."""
import signal
import threading
import time

from journeys import apply, make_region, new_citizen
from support import all_items, wait_for

STREAM_SECONDS = 6.0
SIGTERM_AFTER = 2.0
CLIENTS = 4


def _stream(citizen, region) -> list:
    """``CLIENTS`` threads submitting back to back for ``STREAM_SECONDS``; every answer, in order of arrival."""
    answers: list = []
    stop_at = time.monotonic() + STREAM_SECONDS

    def submit():
        while time.monotonic() < stop_at:
            r = apply(citizen, region)
            answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=submit) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    return threads, answers


def _sigterm_one_replica_mid_stream(platform, anon, admin, service: str, region_code: str):
    region = make_region(admin, region_code)
    citizen, _ = new_citizen(anon)
    platform.start_service(service, instance=f"{service}-2")  # the replica that stays up
    platform.wait_ready()
    try:
        threads, answers = _stream(citizen, region)
        time.sleep(SIGTERM_AFTER)
        stopped = len(answers)
        code = platform.stop(service, signal.SIGTERM, timeout=30)
        for t in threads:
            t.join(STREAM_SECONDS + 30)
        log = platform.log(service)
    finally:
        platform.start_service(service)
        platform.wait_ready()
        platform.stop(f"{service}-2")
    assert code == 0, log[-2000:]
    assert f"{service} stopped" in log
    assert len(answers) > stopped > 0, "the stream ran on both sides of the SIGTERM"
    statuses = [s for s, _ in answers]
    assert statuses == [201] * len(answers), [a for a in answers if a[0] != 201][:3]
    return region, citizen, [body for _, body in answers]


def test_an_applications_replica_stopped_mid_stream_answers_or_hands_over_every_submission(platform, anon, admin):
    region, citizen, created = _sigterm_one_replica_mid_stream(platform, anon, admin, "applications", "51.01")
    ids = [a["id"] for a in created]
    assert len(set(ids)) == len(ids)
    mine = all_items(citizen, "/api/v1/me/applications")
    assert sorted(a["id"] for a in mine) == sorted(ids), "every 201 exists exactly once"
    print(f"\n{len(ids)} submissions across the SIGTERM of one applications replica, all 201, all stored once")


def test_a_notifications_replica_stopped_mid_stream_loses_no_event(platform, anon, admin):
    region, citizen, created = _sigterm_one_replica_mid_stream(platform, anon, admin, "notifications", "51.02")
    ids = {a["id"] for a in created}

    def submitted_notices():
        items = all_items(citizen, "/api/v1/me/notifications")
        return [i["application_id"] for i in items if i["type"] == "application_submitted"]

    wait_for(lambda: len(submitted_notices()) >= len(ids), timeout=30, message="a notice per submission")
    time.sleep(1.0)  # a duplicate would land now
    notices = submitted_notices()
    assert sorted(notices) == sorted(ids), "each submission's notice exactly once"
    print(f"\n{len(ids)} submissions across the SIGTERM of one notifications replica, each notified exactly once")
