"""A handset for USSD tests: AT's raw form, with `text` growing as AT grows it."""

from __future__ import annotations

from app.engine.render import _GSM7
from tests.factories import MAKUENI_USSD

PHONE = "+254712345678"


class Phone:
    """A handset dialling the county's code: AT's text grows with every input of a session."""

    def __init__(self, client, msisdn: str = PHONE) -> None:
        self.client, self.msisdn = client, msisdn
        self.session, self.text, self.count = "", "", 0

    def dial(self) -> str:
        self.count += 1
        self.session, self.text = f"ATUid_{self.msisdn[-4:]}_{self.count}", ""
        return self.post()

    def press(self, *keys: str) -> str:
        reply = ""
        for key in keys:
            self.text = f"{self.text}*{key}" if self.text else key
            reply = self.post()
        return reply

    def post(self) -> str:
        """Post the current text: AT retrying a hop posts the same text again."""
        response = self.client.post("/at/ussd", data={
            "sessionId": self.session, "serviceCode": MAKUENI_USSD, "phoneNumber": self.msisdn,
            "networkCode": "63902", "text": self.text})
        assert response.status_code == 200 and response.mimetype == "text/plain"
        body = response.get_data(as_text=True)
        assert body.startswith(("CON ", "END ")) and len(body) <= 160, (len(body), body)
        assert all(ch in _GSM7 for ch in body), body
        return body


def forget_session(runtime, phone: Phone) -> None:
    """The stored session is gone (restart, another process): the gateway replays `text`."""
    if runtime.redis is not None:
        runtime.redis.delete(f"baraza:ussd:{phone.session}")
    else:
        runtime.ussd.store._entries.pop(phone.session)


def lose_the_final_reply_once(runtime, monkeypatch) -> None:
    """The session store fails once, as a "Thank you" END is saved: what the hop wrote is
    committed, and the caller sees an error instead of the reply (AT retries the hop)."""
    store, failed = runtime.ussd.store, []
    real_put = store.put

    def put_failing_once(session_id, envelope):
        if envelope.last_reply.startswith("END Thank you") and not failed:
            failed.append(session_id)
            raise ConnectionError("the session store went away")
        real_put(session_id, envelope)

    monkeypatch.setattr(store, "put", put_failing_once)
