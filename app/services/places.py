"""Places: county -> sub-county -> ward, imported from an electoral-units CSV and editable."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Place

# The columns of ../shared/data/kenya_wards.csv (IEBC electoral units).
KENYA_COLUMNS = ("county_code", "county_name", "constituency_code", "constituency_name",
                 "ward_code", "ward_name")


class PlaceImportError(ValueError):
    """The file does not hold what the import needs; nothing was written."""


@dataclass(frozen=True)
class ImportSummary:
    created: int
    updated: int
    unchanged: int

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def import_kenya_wards(db: Session, organization_id: int, rows: Iterable[Mapping[str, str]],
                       county: str) -> ImportSummary:
    """Create or update the county, its sub-counties and wards; safe to run again."""
    wanted = county.strip().casefold()
    chosen = [r for r in rows if (r.get("county_name") or "").strip().casefold() == wanted]
    if not chosen:
        raise PlaceImportError(f"no rows for county {county!r}")
    missing = [c for c in KENYA_COLUMNS if c not in chosen[0]]
    if missing:
        raise PlaceImportError(f"missing columns: {', '.join(missing)}")
    existing = {(p.kind, p.code): p for p in db.scalars(
        select(Place).where(Place.organization_id == organization_id))}
    counts = {"created": 0, "updated": 0, "unchanged": 0}

    def upsert(kind: str, code: str, name: str, parent: Place | None) -> Place:
        code, name = code.strip(), " ".join(name.split())
        if not code or not name:
            raise PlaceImportError(f"a {kind} row without code or name")
        place = existing.get((kind, code))
        if place is None:
            place = Place(organization_id=organization_id, kind=kind, code=code, name=name,
                          parent=parent)
            db.add(place)
            existing[(kind, code)] = place
            counts["created"] += 1
        elif place.name != name or place.parent is not parent:
            place.name, place.parent = name, parent
            counts["updated"] += 1
        else:
            counts["unchanged"] += 1
        return place

    done: dict[tuple[str, str], Place] = {}

    def once(kind: str, code: str, name: str, parent: Place | None) -> Place:
        # A county or sub-county appears on many rows: upsert it the first time only.
        key = (kind, code.strip())
        if key not in done:
            done[key] = upsert(kind, code, name, parent)
        return done[key]

    for row in chosen:
        county_place = once("county", row["county_code"], row["county_name"], None)
        sub = once("subcounty", row["constituency_code"], row["constituency_name"], county_place)
        once("ward", row["ward_code"], row["ward_name"], sub)
    db.flush()
    return ImportSummary(**counts)


def wards_of(db: Session, organization_id: int) -> list[Place]:
    return list(db.scalars(select(Place).where(
        Place.organization_id == organization_id, Place.kind == "ward").order_by(Place.name)))


def place_by_code(db: Session, organization_id: int, code: str, kind: str = "ward") -> Place | None:
    return db.scalar(select(Place).where(Place.organization_id == organization_id,
                                         Place.kind == kind, Place.code == code.strip()))


def rename_place(db: Session, place: Place, name: str) -> None:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 120:
        raise ValueError("a place name needs 1 to 120 characters")
    place.name = cleaned
