"""A local Africa's Talking: POST /version1/messaging as AT-PROTOCOL.md describes it.

It records every request and answers each number with the status code it was told to
(101 "Success" by default), or answers the whole request with a non-2xx, or hangs so the
client times out. The only fake in the test suite: everything else is real.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

STATUS_NAMES = {
    100: "Processed", 101: "Success", 102: "Queued", 401: "RiskHold", 402: "InvalidSenderId",
    403: "InvalidPhoneNumber", 404: "UnsupportedNumberType", 405: "InsufficientBalance",
    406: "UserInBlacklist", 407: "CouldNotRoute", 409: "DoNotDisturbRejection",
    500: "InternalServerError", 501: "GatewayError", 502: "RejectedByGateway",
}
ACCEPTED = {100, 101, 102}
HANG_LIMIT = 30  # seconds a hanging request waits at most, so a forgotten hang ends itself


@dataclass(frozen=True)
class SentRequest:
    api_key: str
    username: str
    to: list[str]
    message: str
    sender: str | None
    bulk_sms_mode: str | None
    accept: str

    @property
    def form(self) -> dict[str, str]:
        return {"username": self.username, "to": ",".join(self.to), "message": self.message}


class FakeAt:
    def __init__(self, api_key: str = "fake-api-key", username: str = "sandbox") -> None:
        self.api_key = api_key
        self.username = username
        self.requests: list[SentRequest] = []
        self._codes: dict[str, deque[int]] = defaultdict(deque)
        # Whole-request answers (a non-2xx, or "hang"), used up in the order they were asked for.
        self._specials: deque[tuple[int, str] | str] = deque()
        self._release = threading.Event()
        self.hanging = threading.Event()  # set when a request starts hanging
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll keeps shutdown() quick (it waits for the serving loop to notice).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeAt:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    # What to answer next -------------------------------------------------------------------

    def answer(self, number: str, *codes: int) -> None:
        """The next requests for `number` get these status codes, in order; then 101."""
        with self._lock:
            self._codes[number].extend(codes)

    def fail_next(self, http_status: int = 500, body: str = "Internal Server Error") -> None:
        """The next request gets this answer (a non-2xx, or a 2xx that is not AT's JSON)."""
        with self._lock:
            self._specials.append((http_status, body))

    def hang_next(self) -> None:
        """The next request gets no answer until the client has given up."""
        with self._lock:
            self._specials.append("hang")

    def hang_request(self, nth: int) -> None:
        """The `nth` request from now (1: the next) hangs; those before it are answered."""
        with self._lock:
            self._specials.extend(["answer"] * (nth - 1) + ["hang"])

    # Serving -------------------------------------------------------------------------------

    def _take(self) -> tuple[int, str] | str | None:
        with self._lock:
            return self._specials.popleft() if self._specials else None

    def _recipient(self, number: str, index: int) -> dict[str, object]:
        with self._lock:
            queue = self._codes.get(number)
            code = queue.popleft() if queue else 101
        accepted = code in ACCEPTED
        return {
            "statusCode": code,
            "number": number,
            "status": STATUS_NAMES.get(code, "Unknown"),
            "cost": "KES 0.8000" if accepted else "0",
            "messageId": f"ATXid_{len(self.requests)}_{index}" if accepted else "None",
        }


def _handler_for(fake: FakeAt) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.split("?")[0] != "/version1/messaging":
                return self._send(404, "text/plain", "Not Found")
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.headers.get("apiKey") != fake.api_key:
                return self._send(401, "text/plain", "The supplied authentication is invalid")
            if form.get("username") != fake.username:
                return self._send(401, "text/plain", "The supplied authentication is invalid")
            numbers = [n for n in form.get("to", "").split(",") if n]
            if not numbers or not form.get("message"):
                return self._send(400, "text/plain", "Request is missing required form field")
            request = SentRequest(self.headers.get("apiKey", ""), form["username"], numbers,
                                  form["message"], form.get("from"), form.get("bulkSMSMode"),
                                  self.headers.get("Accept", ""))
            special = fake._take()
            with fake._lock:
                fake.requests.append(request)
            if special == "hang":
                fake.hanging.set()
                fake._release.wait(HANG_LIMIT)
                return None
            if special == "answer":
                special = None
            if special is not None:
                return self._send(special[0], "text/plain", special[1])
            recipients = [fake._recipient(n, i) for i, n in enumerate(numbers)]
            accepted = sum(r["statusCode"] in ACCEPTED for r in recipients)
            body = {"SMSMessageData": {
                "Message": f"Sent to {accepted}/{len(numbers)} Total Cost: "
                           f"KES {0.8 * accepted:.4f}",
                "Recipients": recipients,
            }}
            # Exactly "application/json": the SDK parses JSON only for that content type.
            return self._send(201, "application/json", json.dumps(body))

        def _send(self, status: int, content_type: str, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
