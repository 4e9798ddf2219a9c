"""The bench's open-loop load: a stall is charged to every request that was due while it lasted (no coordinated
omission), so a p99 read at an offered rate is a real one."""
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from load import run_paced  # noqa: E402


class _Stalling(BaseHTTPRequestHandler):
    stalled = threading.Event()

    def do_GET(self):
        if not self.stalled.is_set():  # the first request waits half a second, the rest answer at once
            self.stalled.set()
            time.sleep(0.5)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_requests_due_during_a_stall_count_the_wait():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stalling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        result = run_paced(url, rate=100, duration=2, connections=1)  # one connection: all queue behind the stall
    finally:
        server.shutdown()
    assert result.requests == 200 and result.errors == 0
    # ~50 requests were due during the stall: closed-loop timing would call them ~0 ms; here they waited
    assert result.p99_ms > 300
    assert result.p50_ms < 100
