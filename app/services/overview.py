"""What one organization holds, read for the console: counts, the place tree, the contacts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Contact, Place
from app.services.paging import Page, fetch_page

# Kinds in the order a county is made of; kinds from other countries' files follow by name.
KIND_ORDER = ("county", "subcounty", "ward")


@dataclass(frozen=True)
class OrganizationCounts:
    places_by_kind: list[tuple[str, int]]
    contacts: int
    opted_out: int


@dataclass(frozen=True)
class PlaceRow:
    place: Place
    depth: int  # 0 for a county, 1 for its sub-counties, 2 for their wards


def counts_of(db: Session, organization_id: int) -> OrganizationCounts:
    kinds = {kind: count for kind, count in db.execute(
        select(Place.kind, func.count()).where(Place.organization_id == organization_id)
        .group_by(Place.kind))}
    contacts, opted_out = db.execute(
        select(func.count(), func.count().filter(Contact.opted_out.is_(True)))
        .where(Contact.organization_id == organization_id)).one()
    ordered = sorted(kinds.items(), key=lambda kv: (_kind_rank(kv[0]), kv[0]))
    return OrganizationCounts(places_by_kind=ordered, contacts=contacts, opted_out=opted_out)


def _kind_rank(kind: str) -> int:
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def place_tree(db: Session, organization_id: int) -> list[PlaceRow]:
    """Every place, each followed by its children (by name): county, sub-county, ward."""
    places = list(db.scalars(select(Place).where(Place.organization_id == organization_id)
                             .order_by(Place.name, Place.id)))
    ids = {p.id for p in places}
    children: dict[int | None, list[Place]] = {}
    for place in places:
        # A parent outside this organization would be a data error; show the place as a root
        # rather than hide it.
        parent = place.parent_id if place.parent_id in ids else None
        children.setdefault(parent, []).append(place)
    rows: list[PlaceRow] = []

    def walk(parent: int | None, depth: int) -> None:
        for place in children.get(parent, []):
            rows.append(PlaceRow(place, depth))
            walk(place.id, depth + 1)

    walk(None, 0)
    # Places whose parent links form a cycle are reachable from no root: list them last
    # rather than hide them.
    shown = {row.place.id for row in rows}
    rows.extend(PlaceRow(p, 0) for p in places if p.id not in shown)
    return rows


def place_of(db: Session, organization_id: int, place_id: int) -> Place | None:
    """The place with this id if it belongs to this organization, else None."""
    place = db.get(Place, place_id)
    return place if place is not None and place.organization_id == organization_id else None


def contacts_page(db: Session, organization_id: int, page: int,
                  size: int = 50) -> Page[Contact]:
    """Contacts, newest first: the people who most recently reached the county."""
    statement = (select(Contact).where(Contact.organization_id == organization_id)
                 .order_by(Contact.created_at.desc(), Contact.id.desc()))
    return fetch_page(db, statement, page, size)
