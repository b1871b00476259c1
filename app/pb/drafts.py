"""Unconfirmed USSD ballots, kept 10 minutes so a dropped session can resume them.

Same two backends as the USSD session store: Redis with a TTL in production, process memory
in development. A draft is keyed by the voter's ballot tag (a keyed hash), never by the phone
number or ID, and holds selections as app.pb.ballot_rules.encode() text.

It also remembers the USSD session that wrote it, the selection that session started from
(`base`) and, once confirmed, the receipt. The gateway replays a session from AT's `text`
when its stored state is lost; the replay must meet the same starting point (not its own
draft, nor the ballot it has just cast) and, confirming the same choices again, the same
receipt, so nothing is applied twice.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from redis import Redis

DRAFT_TTL = 600  # seconds: "dials again within 10 minutes"


@dataclass(frozen=True)
class Draft:
    session_id: str
    selection: str  # ballot_rules.encode()
    base: str = ""  # what the session started from
    receipt: str = ""  # set once the selection is cast: no longer a draft to resume

    def dumps(self) -> str:
        return json.dumps({"s": self.session_id, "sel": self.selection, "base": self.base,
                           "r": self.receipt})

    @classmethod
    def loads(cls, raw: str | bytes) -> Draft:
        data = json.loads(raw)
        return cls(str(data.get("s", "")), str(data.get("sel", "")), str(data.get("base", "")),
                   str(data.get("r", "")))


class DraftStore(Protocol):
    def get(self, tag: str) -> Draft | None: ...

    def put(self, tag: str, draft: Draft) -> None: ...

    def discard(self, tag: str) -> None: ...


class RedisDraftStore:
    def __init__(self, redis: Redis, ttl_seconds: int = DRAFT_TTL) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    def get(self, tag: str) -> Draft | None:
        raw = self.redis.get(_key(tag))
        return Draft.loads(raw) if raw else None

    def put(self, tag: str, draft: Draft) -> None:
        self.redis.set(_key(tag), draft.dumps(), ex=self.ttl)

    def discard(self, tag: str) -> None:
        self.redis.delete(_key(tag))


class MemoryDraftStore:
    """For a single development process; expired drafts are dropped as they are met."""

    def __init__(self, ttl_seconds: int = DRAFT_TTL, clock=time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, tag: str) -> Draft | None:
        with self._lock:
            entry = self._entries.get(tag)
            if entry is None:
                return None
            if entry[0] < self.clock():
                del self._entries[tag]
                return None
            return Draft.loads(entry[1])

    def put(self, tag: str, draft: Draft) -> None:
        with self._lock:
            now = self.clock()
            if len(self._entries) > 10_000:  # keep a long-running dev server from growing
                self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            self._entries[tag] = (now + self.ttl, draft.dumps())

    def discard(self, tag: str) -> None:
        with self._lock:
            self._entries.pop(tag, None)


def _key(tag: str) -> str:
    return f"baraza:pb:draft:{tag}"
