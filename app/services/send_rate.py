"""A per-sender limit on messages per second, shared by every worker through Redis.

A fixed one-second window per sender: each worker adds what it is about to send to the
window's counter and sends what fits, waiting for the next second for the rest. Without Redis
(or while Redis is away) there is nothing to share and nothing is limited: the send itself
matters more than its pace.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY = "baraza:sms-rate:{sender}:{second}"


@dataclass
class SendRateLimiter:
    redis: Redis | None
    per_second: int  # 0: no limit
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def acquire(self, sender: str | None, count: int) -> None:
        """Return once `count` messages from `sender` fit under the limit."""
        if self.redis is None or self.per_second <= 0:
            return
        remaining = count
        while remaining > 0:
            now = self.clock()
            try:
                took = self._take(sender or "-", int(now), remaining)
            except RedisError:
                log.warning("SMS rate limit skipped: Redis unavailable")
                return
            remaining -= took
            if remaining > 0:
                self.sleep(max(0.0, int(now) + 1 - now))

    def _take(self, sender: str, second: int, wanted: int) -> int:
        key = KEY.format(sender=sender, second=second)
        pipe = self.redis.pipeline()
        pipe.incrby(key, wanted)
        pipe.expire(key, 5)
        total = pipe.execute()[0]
        fits = max(0, min(wanted, self.per_second - (total - wanted)))
        if fits < wanted:
            self.redis.decrby(key, wanted - fits)
        return fits
