"""One page of a long, ordered query: the console never loads a whole register at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

T = TypeVar("T")
# A page number past any real list; beyond it the OFFSET would overflow the database's integer
# (a typed ?page=99999999999999999999 must be an empty page, not a 500).
LAST_PAGE = 10**9


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    number: int
    size: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def fetch_page(db: Session, statement: Select[Any], number: int, size: int,
               scalars: bool = True) -> Page[Any]:
    """Rows `size * (number - 1)` onwards; `statement` must already be ordered."""
    number = min(max(number, 1), LAST_PAGE)
    # One row more than shown tells us whether a next page exists without a COUNT(*).
    query = statement.limit(size + 1).offset(size * (number - 1))
    rows = list(db.scalars(query) if scalars else db.execute(query))
    return Page(items=rows[:size], number=number, size=size, has_next=len(rows) > size)
