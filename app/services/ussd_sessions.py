"""Where a USSD session lives between hops: Redis with a TTL, or process memory in development."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from redis import Redis

from app.services.hop_cache import REVISION_KEY, note_revision


@dataclass(frozen=True)
class Envelope:
    """Everything needed to answer the next hop, or to repeat the last one."""

    organization_id: int
    state: dict[str, Any]  # the engine's State.to_dict()
    last_text: str
    last_reply: str  # complete, with CON/END, so a retry gets exactly the same bytes

    def dumps(self) -> str:
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def loads(cls, raw: str | bytes) -> Envelope:
        return cls(**json.loads(raw))


class SessionStore(Protocol):
    def get(self, session_id: str) -> Envelope | None: ...

    def put(self, session_id: str, envelope: Envelope) -> None: ...


class RedisSessionStore:
    def __init__(self, redis: Redis, ttl_seconds: int) -> None:
        self.redis = redis
        self.ttl = ttl_seconds

    def get(self, session_id: str) -> Envelope | None:
        # The reference data revision comes along: most hops would ask for it next.
        raw, revision = self.redis.mget(_key(session_id), REVISION_KEY)
        note_revision(revision)
        return Envelope.loads(raw) if raw else None

    def put(self, session_id: str, envelope: Envelope) -> None:
        self.redis.set(_key(session_id), envelope.dumps(), ex=self.ttl)


class MemorySessionStore:
    """For a single development process; expired entries are dropped as they are met."""

    def __init__(self, ttl_seconds: int, clock=time.monotonic) -> None:
        self.ttl = ttl_seconds
        self.clock = clock
        self._entries: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Envelope | None:
        with self._lock:
            entry = self._entries.get(session_id)
            if entry is None:
                return None
            expires, raw = entry
            if expires < self.clock():
                del self._entries[session_id]
                return None
            return Envelope.loads(raw)

    def put(self, session_id: str, envelope: Envelope) -> None:
        with self._lock:
            now = self.clock()
            if len(self._entries) > 10_000:  # keep a long-running dev server from growing
                self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            self._entries[session_id] = (now + self.ttl, envelope.dumps())


def _key(session_id: str) -> str:
    return f"baraza:ussd:{session_id}"
