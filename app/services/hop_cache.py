"""Reference data USSD hops read, kept in process and checked once per hop against a revision.

Places, cycles and proposals change a few times a day (an officer's edit); a voting session
reads them on nearly every hop, and every session's first hop reads the organization behind
the USSD code (app.services.ussd.Service). Every commit through a tracked sessionmaker (the
runtime's: console, CLI, workers, tests) that adds, changes or deletes one of WATCHED bumps a
counter in Redis; a hop reads that counter once, on its first cached read, and entries made under
another revision are built again. So an edit (a closed vote, a withdrawn proposal, a new ward)
is seen from the first hop after its commit, in every process. Entries also expire after
MAX_AGE seconds, a backstop for writes the counter cannot see (SQL typed by hand, a bump lost
while Redis was down). What must hold at the moment of writing (a cycle's phase when a ballot
is cast) is still read in the writing transaction, never from here. Without Redis (one
development process) the counter lives in the process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from app.db.models import ChannelAddress, Cycle, Organization, Place, Proposal
from app.services.hop_db import hop_notes

log = logging.getLogger(__name__)

T = TypeVar("T")

WATCHED = (Organization, ChannelAddress, Place, Cycle, Proposal)
REVISION_KEY = "baraza:refdata:revision"
MAX_AGE = 60.0  # seconds
_NOTE = "hop_cache.revision"  # hop note: the revision this hop reads under
_CHANGED = "hop_cache.changed"  # session.info: this transaction flushed a WATCHED row


class Revision:
    """How many commits have changed reference data; hops compare it to what they cached."""

    def __init__(self, redis: Redis | None) -> None:
        self.redis = redis
        self._local = 0
        self._lock = threading.Lock()

    def current(self) -> str | None:
        """None when it cannot be read: callers then read the database."""
        if self.redis is None:
            return str(self._local)
        try:
            return (self.redis.get(REVISION_KEY) or b"0").decode()
        except RedisError:
            return None

    def bump(self) -> None:
        with self._lock:
            self._local += 1
        if self.redis is not None:
            try:
                self.redis.incr(REVISION_KEY)
            except RedisError:
                log.warning("reference data changed but its revision could not be bumped; "
                            "cached copies expire within %s s", MAX_AGE)

    def track(self, sessions: sessionmaker[Session]) -> None:
        """Bump after every commit of `sessions` that changed reference data."""
        event.listen(sessions, "after_flush", _note_changes)
        event.listen(sessions, "after_commit", self._after_commit)
        event.listen(sessions, "after_transaction_end", _forget_changes)

    def _after_commit(self, session: Session) -> None:
        if session.info.get(_CHANGED):  # other revisions may track the same sessionmaker
            self.bump()


def _note_changes(session: Session, _flush_context: object) -> None:
    if any(isinstance(obj, WATCHED)
           for rows in (session.new, session.dirty, session.deleted) for obj in rows):
        session.info[_CHANGED] = True


def _forget_changes(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # after the outermost commit's bump, or a rollback
        session.info.pop(_CHANGED, None)


class HopCache:
    """Values computed from reference data, valid while the revision stays the same."""

    def __init__(self, revision: Revision | None, clock: Callable[[], float] = time.monotonic,
                 max_age: float = MAX_AGE) -> None:
        self.revision = revision
        self.clock = clock
        self.max_age = max_age
        self._entries: dict[Hashable, tuple[str, float, object]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        revision = self._revision()
        if revision is None:
            return compute()
        now = self.clock()
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None and hit[0] == revision and hit[1] > now:
            return hit[2]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            if len(self._entries) > 10_000:  # many organizations and cycles: start again
                self._entries.clear()
            self._entries[key] = (revision, now + self.max_age, value)
        return value

    def _revision(self) -> str | None:
        if self.revision is None:
            return None
        notes = hop_notes()
        if notes is None:
            return self.revision.current()
        if _NOTE not in notes:  # once per hop, unless the session store read it already
            notes[_NOTE] = self.revision.current()
        return notes[_NOTE]  # type: ignore[return-value]


def note_revision(raw: bytes | None) -> None:
    """The revision as read with the hop's session envelope (one Redis round trip for both)."""
    notes = hop_notes()
    if notes is not None:
        notes[_NOTE] = (raw or b"0").decode()
