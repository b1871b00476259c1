"""One database session per USSD hop, shared by all its lookups and by its effects.

Each `with sessions() as db` in a lookup used to check out a connection (pool_pre_ping's
`SELECT 1`), BEGIN, read and roll back: a hop with four lookups paid that four times, and what
one lookup read (the cycle, the voter's ward and its parents) the next read again. Inside
`hop()`, `sessions()` hands out the hop's one session instead: made on first use, so a hop that
needs no database costs nothing; one checkout, so one pre-ping per hop; one identity map, so a
row read by one lookup is not fetched again by the next (rows are held for the hop: the
identity map alone lets them go); `remembered` keeps a query's answer until the hop writes
(a voter's registered place, asked by the check before the receipt and by the cast).
`begin()` then applies the hop's effects in that same transaction, commits and gives the
connection back before the envelope is saved and SMS handed over. Outside a hop (workers, the
console, voice, SMS) it is the plain sessionmaker.

Within a hop every statement still reads the latest committed data (READ COMMITTED), so
sharing a transaction changes no answer; what must be checked at the moment of writing (a
cycle's phase when a ballot is cast) is read again by the writer.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

T = TypeVar("T")


@dataclass
class _Hop:
    factory: sessionmaker[Session]
    session: Session | None = None
    notes: dict[str, object] = field(default_factory=dict)  # see `hop_notes`

    def current(self) -> Session:
        if self.session is None:
            self.session = self.factory()
            self.session.info[_KEPT] = []
            self.session.info[_MEMO] = {}
        return self.session

    def close(self) -> None:
        if self.session is not None:
            session, self.session = self.session, None
            session.close()


# Rows loaded in a hop's session, held for the hop: the identity map only holds them weakly,
# so a cycle one lookup read and let go would be fetched again by the next.
_KEPT = "hop_db.kept"


def _keep(session: Session, instance: object) -> None:
    kept = session.info.get(_KEPT)
    if kept is not None:
        kept.append(instance)


# Answers of `remembered` for the hop, forgotten whenever the session writes.
_MEMO = "hop_db.memo"


def _forget(session: Session, _flush_context: object) -> None:
    memo = session.info.get(_MEMO)
    if memo:
        memo.clear()


def _forget_on_write(state: ORMExecuteState) -> None:
    """An INSERT, UPDATE or DELETE sent past the ORM (an upsert) forgets too."""
    if state.is_insert or state.is_update or state.is_delete:
        _forget(state.session, None)


def remembered(db: Session, key: Hashable, compute: Callable[[], T]) -> T:
    """`compute()` once per hop until the hop writes (the same query, the same answer: see the
    module); outside a hop, every time."""
    memo = db.info.get(_MEMO)
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


# The hop this thread is answering; gunicorn's threads each have their own context.
_CURRENT: ContextVar[_Hop | None] = ContextVar("ussd_hop_db", default=None)


class HopSessions:
    """A sessionmaker look-alike that shares one session across a hop (see the module)."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        if not event.contains(factory, "loaded_as_persistent", _keep):
            event.listen(factory, "loaded_as_persistent", _keep)
            event.listen(factory, "after_flush", _forget)
            event.listen(factory, "do_orm_execute", _forget_on_write)

    def __call__(self) -> AbstractContextManager[Session]:
        hop = self._hop()
        return self.factory() if hop is None else nullcontext(hop.current())

    def begin(self) -> AbstractContextManager[Session]:
        """The hop's session, committed (or rolled back) and released at the end of the block."""
        hop = self._hop()
        return self.factory.begin() if hop is None else _committing(hop)

    @contextmanager
    def hop(self) -> Iterator[None]:
        """Share one session among everything this block asks for, then close it."""
        hop = _Hop(self.factory)
        token = _CURRENT.set(hop)
        try:
            yield
        finally:
            _CURRENT.reset(token)
            hop.close()

    def _hop(self) -> _Hop | None:
        hop = _CURRENT.get()
        return hop if hop is not None and hop.factory is self.factory else None


@contextmanager
def _committing(hop: _Hop) -> Iterator[Session]:
    session = hop.current()
    try:
        yield session
        session.commit()
    finally:
        hop.close()  # rolls back what did not commit; a later lookup gets a new session


def hop_notes() -> dict[str, object] | None:
    """Values worked out once per hop (the reference data revision), or None outside a hop."""
    hop = _CURRENT.get()
    return hop.notes if hop is not None else None


def hop_sessions(sessions: sessionmaker[Session] | HopSessions) -> HopSessions:
    return sessions if isinstance(sessions, HopSessions) else HopSessions(sessions)
