"""Failed console sign-ins, counted per account and per client address in fixed windows.

Five wrong passwords for one email within 15 minutes lock that email; twenty failures from one
address lock the address (guessing across many accounts). A success clears the account's count
(not the address's: one valid account must not unlock guessing at the others). Counts live in
Redis when configured, so every gunicorn worker shares them; in process memory otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

WINDOW = 15 * 60  # seconds
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20


class Counter(Protocol):
    def count(self, key: str) -> tuple[int, int]: ...  # failures, seconds the window has left

    def add(self, key: str, window: int) -> tuple[int, int]: ...

    def clear(self, key: str) -> None: ...


class MemoryCounter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def count(self, key: str) -> tuple[int, int]:
        with self._lock:
            return self._live(key)

    def add(self, key: str, window: int) -> tuple[int, int]:
        with self._lock:
            failures, left = self._live(key)
            ends = self._clock() + (left if failures else window)
            self._counts[key] = (failures + 1, ends)
            return self._live(key)

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)

    def _live(self, key: str) -> tuple[int, int]:
        failures, ends = self._counts.get(key, (0, 0.0))
        left = ends - self._clock()
        if left <= 0:
            self._counts.pop(key, None)
            return 0, 0
        return failures, max(1, round(left))


class RedisCounter:
    def __init__(self, redis: Redis, prefix: str = "baraza:login:") -> None:
        self.redis = redis
        self.prefix = prefix

    def count(self, key: str) -> tuple[int, int]:
        pipe = self.redis.pipeline()
        pipe.get(self.prefix + key)
        pipe.ttl(self.prefix + key)
        raw, ttl = pipe.execute()
        return (int(raw), max(1, ttl)) if raw is not None and ttl != -2 else (0, 0)

    def add(self, key: str, window: int) -> tuple[int, int]:
        pipe = self.redis.pipeline()
        pipe.incr(self.prefix + key)
        pipe.ttl(self.prefix + key)
        failures, ttl = pipe.execute()
        if ttl < 0:  # the first failure starts the window (or a lost expiry is set again)
            self.redis.expire(self.prefix + key, window)
            ttl = window
        return int(failures), max(1, ttl)

    def clear(self, key: str) -> None:
        self.redis.delete(self.prefix + key)


class FallbackCounter:
    """Redis's counts, or this process's own while Redis cannot answer.

    Failing open would let anyone who can disturb Redis guess without limit; failing closed
    would answer every sign-in with an error. Counting in memory meanwhile keeps a limit per
    process, looser by the number of workers, until Redis is back.
    """

    def __init__(self, primary: Counter, fallback: Counter) -> None:
        self.primary, self.fallback = primary, fallback

    def count(self, key: str) -> tuple[int, int]:
        return self._either("count", key)

    def add(self, key: str, window: int) -> tuple[int, int]:
        return self._either("add", key, window)

    def clear(self, key: str) -> None:
        self.fallback.clear(key)
        self._either("clear", key)

    def _either(self, method: str, *args):
        try:
            return getattr(self.primary, method)(*args)
        except RedisError as exc:
            log.warning("sign-in counts kept in this process: Redis did not answer (%s)",
                        type(exc).__name__)
            return getattr(self.fallback, method)(*args)


@dataclass(frozen=True)
class Lock:
    scope: str  # "account" or "address"
    retry_after: int  # seconds


class LoginThrottle:
    def __init__(self, counter: Counter, window: int = WINDOW,
                 max_per_account: int = MAX_PER_ACCOUNT,
                 max_per_address: int = MAX_PER_ADDRESS) -> None:
        self.counter = counter
        self.window = window
        self.limits = {"account": max_per_account, "address": max_per_address}

    @classmethod
    def for_redis(cls, redis: Redis | None) -> LoginThrottle:
        if redis is None:
            return cls(MemoryCounter())
        return cls(FallbackCounter(RedisCounter(redis), MemoryCounter()))

    def lock_of(self, email: str, address: str) -> Lock | None:
        """The lock that refuses this attempt before its password is checked, if any."""
        for scope, key in self._keys(email, address):
            failures, left = self.counter.count(key)
            if failures >= self.limits[scope]:
                return Lock(scope, left)
        return None

    def failed(self, email: str, address: str) -> Lock | None:
        """Count a failure; the lock it starts, if it reached a limit."""
        lock = None
        for scope, key in self._keys(email, address):
            failures, left = self.counter.add(key, self.window)
            if failures == self.limits[scope]:
                lock = lock or Lock(scope, left)
        return lock

    def succeeded(self, email: str) -> None:
        self.counter.clear(_account_key(email))

    @staticmethod
    def _keys(email: str, address: str) -> list[tuple[str, str]]:
        return [("account", _account_key(email)), ("address", "ip:" + (address or "unknown"))]


def _account_key(email: str) -> str:
    # Hashed: the store holds no email addresses. Normalised as accounts.normalise_email does.
    digest = hashlib.sha256((email or "").strip().lower().encode()).hexdigest()[:32]
    return "account:" + digest
