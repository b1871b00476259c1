"""Open Contracting data in: OCDS release/record packages and OC4IDS project packages.

Pure: parsed JSON in, `ProjectRecord`s out (`app.pmc.imports.apply_projects` writes them).
Field names follow OCDS 1.1 (release schema) and OC4IDS 0.9 (project schema).

OCDS release package (`releases`) — one project per `ocid`; its releases are merged in date
order (objects merged field by field, arrays of objects with an `id` merged by id, as OCDS
merging does); a record package (`records`) gives each record's `compiledRelease`.
- name: `tender.title`, else a contract's or an award's `title`, else `planning.budget.project`.
- department: `buyer.name`, else `tender.procuringEntity.name`.
- contractor: the `suppliers[].name` of awards that are not cancelled or unsuccessful.
- contract value: the sum of `contracts[].value.amount` (not cancelled), else of the awards'
  `value.amount`, else `planning.budget.amount.amount` (a planned project shows its budget).
- amount paid: the sum of `contracts[].implementation.transactions[].value.amount` (or the
  deprecated `amount.amount`), when there are transactions; otherwise left as it is.
- dates: the earliest start and latest end of `contracts[].period`, else of
  `awards[].contractPeriod`, else `tender.contractPeriod`.
- status (contract statuses first): a contract `active` -> ongoing; all `terminated` or
  `cancelled`, at least one terminated -> completed; all `cancelled` -> cancelled; tender
  `cancelled`, `unsuccessful` or `withdrawn` -> cancelled; otherwise planned.
- wards: `items[]` of tender, awards and contracts: `deliveryLocation(s).gazetteer.identifiers`
  matched to IEBC ward codes, `deliveryLocation(s).description` and
  `deliveryAddress(es).locality`/`.region` matched to ward names. Location extension fields.

OC4IDS project package (`projects`):
- `id` (the OC4IDS id), `title`; `status`: identification, preparation -> planned;
  implementation -> ongoing; completion, completed -> completed; cancelled -> cancelled.
- department: `publicAuthority.name`, else the party with role `publicAuthority`, else a
  contracting process's `summary.tender.procuringEntity.name`, else the first `sector`.
- contractor: `contractingProcesses[].summary.suppliers[].name`.
- contract value: the sum of `summary.contractValue.amount`, else `budget.amount.amount`.
- amount paid: the sum of `summary.transactions[].value.amount` where published.
- dates: `period`, else the contracting processes' `summary.contractPeriod`.
- wards: `locations[]` as above (`gazetteer.identifiers`, `description`, `address`).
- ocid: the first contracting process's `summary.ocid` (or its `id` when it is an ocid), so a
  project imported from OCDS first is found again.

Amounts are whole units of the organization's currency (rounded half up); a value in another
currency is refused (nothing is converted). A date-time is read in the organization's time
zone. New projects are numbered after the largest numeric code (`apply_projects`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from app.db.models import ProjectStatus
from app.pmc.imports import (
    MAX_CONTRACTOR,
    MAX_DEPARTMENT,
    MAX_NAME,
    ImportRefused,
    Problem,
    ProjectRecord,
)

OC4IDS_STATUS = {
    "identification": ProjectStatus.PLANNED,
    "preparation": ProjectStatus.PLANNED,
    "implementation": ProjectStatus.ONGOING,
    "completion": ProjectStatus.COMPLETED,  # works handed over; close-out under way
    "completed": ProjectStatus.COMPLETED,
    "cancelled": ProjectStatus.CANCELLED,
}
TENDER_ENDED = {"cancelled", "unsuccessful", "withdrawn"}
AWARD_DROPPED = {"cancelled", "unsuccessful"}


def detect_format(data: object) -> str:
    """Which package this is: "ocds" (releases or records) or "oc4ids" (projects)."""
    if isinstance(data, dict):
        if isinstance(data.get("releases"), list) or isinstance(data.get("records"), list):
            return "ocds"
        if isinstance(data.get("projects"), list):
            return "oc4ids"
    raise ImportRefused([Problem("file", "neither an OCDS release or record package "
                                         "(releases, records) nor an OC4IDS project package "
                                         "(projects)")])


def read_open_contracting(data: object, currency: str, timezone: str,
                          fmt: str | None = None) -> list[ProjectRecord]:
    """The projects of a parsed OCDS or OC4IDS package; ImportRefused lists every problem."""
    fmt = fmt or detect_format(data)
    if fmt != detect_format(data):
        raise ImportRefused([Problem("file", f"this is not an {fmt.upper()} package")])
    reader = _Reader(currency.upper(), ZoneInfo(timezone))
    records = list(reader.ocds(data) if fmt == "ocds" else reader.oc4ids(data))
    if reader.problems:
        raise ImportRefused(reader.problems)
    if not records:
        raise ImportRefused([Problem("file", "no projects in the file")])
    return records


class _Reader:
    def __init__(self, currency: str, zone: ZoneInfo) -> None:
        self.currency, self.zone = currency, zone
        self.problems: list[Problem] = []
        self.where = "file"

    def problem(self, message: str) -> None:
        self.problems.append(Problem(self.where, message))

    # ---- OCDS ---------------------------------------------------------------------------

    def ocds(self, package: dict) -> Iterator[ProjectRecord]:
        for where, release in self._compiled(package):
            self.where = where
            record = self._release(release)
            if record is not None:
                yield record

    def _compiled(self, package: dict) -> Iterator[tuple[str, dict]]:
        if "records" in package:
            for index, record in enumerate(package["records"]):
                where = f"records[{index}] ({_obj(record).get('ocid', '?')})"
                compiled = _obj(record).get("compiledRelease")
                if isinstance(compiled, dict):
                    yield where, compiled
                else:
                    self.problems.append(Problem(where, "a record without compiledRelease"))
            return
        by_ocid: dict[str, list[tuple[int, dict]]] = {}
        for index, release in enumerate(package["releases"]):
            ocid = _text(_obj(release).get("ocid"))
            if not ocid:
                self.problems.append(Problem(f"releases[{index}]", "a release without ocid"))
                continue
            by_ocid.setdefault(ocid, []).append((index, release))
        for ocid, releases in by_ocid.items():
            ordered = sorted(releases, key=lambda pair: (_text(pair[1].get("date")), pair[0]))
            compiled: dict = {}
            for _, release in ordered:
                compiled = merge(compiled, release)
            yield f"releases[{releases[0][0]}] ({ocid})", compiled

    def _release(self, r: dict) -> ProjectRecord | None:
        tender, planning = _obj(r.get("tender")), _obj(r.get("planning"))
        awards = [_obj(a) for a in _list(r.get("awards"))]
        contracts = [_obj(c) for c in _list(r.get("contracts"))]
        live_awards = [a for a in awards if a.get("status") not in AWARD_DROPPED]
        live_contracts = [c for c in contracts if c.get("status") != "cancelled"]
        name = _first(tender.get("title"), *(c.get("title") for c in contracts),
                      *(a.get("title") for a in awards),
                      _obj(planning.get("budget")).get("project"), r.get("ocid"))
        suppliers = [_obj(s).get("name") for a in live_awards for s in _list(a.get("suppliers"))]
        value = _either(lambda: self._sum(c.get("value") for c in live_contracts),
                        lambda: self._sum(a.get("value") for a in live_awards),
                        lambda: self._sum([_obj(planning.get("budget")).get("amount")]))
        transactions = [t for c in contracts for t in map(
            _obj, _list(_obj(c.get("implementation")).get("transactions")))]
        paid = self._sum(t.get("value") or t.get("amount") for t in transactions)
        periods = ([c.get("period") for c in live_contracts]
                   or [a.get("contractPeriod") for a in live_awards]
                   or [tender.get("contractPeriod")])
        items = [i for block in (tender, *awards, *contracts) for i in _list(block.get("items"))]
        return self._record(
            name=name, ocid=_text(r.get("ocid")),
            department=_first(_obj(r.get("buyer")).get("name"),
                              _obj(tender.get("procuringEntity")).get("name")),
            contractor=_names(suppliers), contract_value=value,
            amount_paid=paid if transactions else None, periods=periods,
            status=_ocds_status(tender, contracts),
            hints=_item_hints(items))

    # ---- OC4IDS -------------------------------------------------------------------------

    def oc4ids(self, package: dict) -> Iterator[ProjectRecord]:
        seen: dict[str, str] = {}
        for index, project in enumerate(package["projects"]):
            project = _obj(project)
            ident = _text(project.get("id"))
            self.where = f"projects[{index}]" + (f" ({ident})" if ident else "")
            if not ident:
                self.problem("a project without id")
                continue
            if ident in seen:
                self.problem(f"id {ident} is also {seen[ident]}")
                continue
            seen[ident] = f"projects[{index}]"
            record = self._project(project, ident)
            if record is not None:
                yield record

    def _project(self, p: dict, ident: str) -> ProjectRecord | None:
        status_code = _text(p.get("status"))
        if status_code and status_code not in OC4IDS_STATUS:
            self.problem(f"status {status_code!r} is not an OC4IDS projectStatus code")
            return None
        summaries = [_obj(_obj(c).get("summary")) for c in _list(p.get("contractingProcesses"))]
        first_process = _obj(next(iter(_list(p.get("contractingProcesses"))), {}))
        process_id = _text(first_process.get("id"))
        ocid = _text(_obj(first_process.get("summary")).get("ocid")) or (
            process_id if process_id.startswith("ocds-") else "")
        authority = _first(
            _obj(p.get("publicAuthority")).get("name"),
            *(_obj(x).get("name") for x in _list(p.get("parties"))
              if "publicAuthority" in _list(_obj(x).get("roles"))),
            *(_obj(_obj(s.get("tender")).get("procuringEntity")).get("name") for s in summaries),
            _sector_label(_list(p.get("sector"))))
        transactions = [_obj(t) for s in summaries for t in _list(s.get("transactions"))]
        period = p.get("period")
        periods = [period] if _obj(period) else [s.get("contractPeriod") for s in summaries]
        return self._record(
            name=_first(p.get("title"), ident), oc4ids_id=ident, ocid=ocid or None,
            department=authority,
            contractor=_names(_obj(x).get("name") for s in summaries
                              for x in _list(s.get("suppliers"))),
            contract_value=_either(lambda: self._sum(s.get("contractValue") for s in summaries),
                                   lambda: self._sum([_obj(p.get("budget")).get("amount")])),
            amount_paid=(self._sum(t.get("value") for t in transactions)
                         if transactions else None),
            periods=periods, status=OC4IDS_STATUS.get(status_code, ProjectStatus.PLANNED),
            hints=_location_hints(_list(p.get("locations"))))

    # ---- shared -------------------------------------------------------------------------

    def _record(self, *, name: str, department: str | None, contractor: str | None,
                contract_value: int | None, amount_paid: int | None, periods: list,
                status: ProjectStatus, hints: tuple[str, ...], ocid: str | None = None,
                oc4ids_id: str | None = None) -> ProjectRecord | None:
        before = len(self.problems)
        starts = [d for d in (self._date(_obj(p).get("startDate")) for p in periods) if d]
        ends = [d for d in (self._date(_obj(p).get("endDate")) for p in periods) if d]
        start, end = min(starts, default=None), max(ends, default=None)
        if start and end and end < start:
            self.problem(f"the period ends ({end}) before it starts ({start})")
        if len(ocid or "") > 100 or len(oc4ids_id or "") > 100:
            self.problem("an identifier longer than 100 characters")
        if len(self.problems) > before:
            return None
        return ProjectRecord(
            where=self.where, name=_cut(name, MAX_NAME), ward_hints=hints,
            department=_cut(department, MAX_DEPARTMENT) if department else None,
            contractor=_cut(contractor, MAX_CONTRACTOR) if contractor else None,
            contract_value=contract_value, amount_paid=amount_paid, start_date=start,
            end_date=end, status=status, ocid=ocid, oc4ids_id=oc4ids_id)

    def _sum(self, values: Iterable[object]) -> int | None:
        """The sum of OCDS Value objects in whole units; None when there is none."""
        amounts = [a for a in (self._amount(v) for v in values) if a is not None]
        return sum(amounts) if amounts else None

    def _amount(self, value: object) -> int | None:
        value = _obj(value)
        if value.get("amount") is None:
            return None
        currency = _text(value.get("currency")).upper()
        if currency and currency != self.currency:
            self.problem(f"an amount in {currency}; this organization counts in "
                         f"{self.currency} (nothing is converted)")
            return None
        try:
            amount = Decimal(str(value["amount"]))
        except InvalidOperation:
            amount = Decimal(-1)
        if not amount.is_finite() or amount < 0 or isinstance(value["amount"], bool):
            self.problem(f"{value['amount']!r} is not an amount")
            return None
        return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def _date(self, text: object) -> date | None:
        raw = _text(text)
        if not raw:
            return None
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            self.problem(f"{raw!r} is not an ISO date-time")
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(self.zone)
        return moment.date()


def merge(old: object, new: object) -> object:
    """OCDS-style merge: objects field by field, arrays of objects with ids by id."""
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            merged[key] = merge(old[key], value) if key in old else value
        return merged
    if _id_list(old) and _id_list(new):
        by_id = {str(item["id"]): item for item in old}
        for item in new:
            key = str(item["id"])
            by_id[key] = merge(by_id[key], item) if key in by_id else item
        return list(by_id.values())
    return new


def _either(*getters: Callable[[], int | None]) -> int | None:
    """The first amount that is there; later sources are not read (nor their problems)."""
    for getter in getters:
        value = getter()
        if value is not None:
            return value
    return None


def _id_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and "id" in i for i in value)


def _ocds_status(tender: dict, contracts: list[dict]) -> ProjectStatus:
    statuses = {_text(c.get("status")) for c in contracts} - {""}
    if "active" in statuses:
        return ProjectStatus.ONGOING
    if statuses and statuses <= {"terminated", "cancelled"}:
        return ProjectStatus.COMPLETED if "terminated" in statuses else ProjectStatus.CANCELLED
    if _text(tender.get("status")) in TENDER_ENDED and not statuses:
        return ProjectStatus.CANCELLED
    return ProjectStatus.PLANNED


def _item_hints(items: Iterable[object]) -> tuple[str, ...]:
    locations, addresses = [], []
    for item in map(_obj, items):
        locations += [item.get("deliveryLocation"), *_list(item.get("deliveryLocations"))]
        addresses += [item.get("deliveryAddress"), *_list(item.get("deliveryAddresses"))]
    return _location_hints([_obj(x) for x in locations if x]
                           + [{"address": a} for a in addresses if a])


def _location_hints(locations: Iterable[object]) -> tuple[str, ...]:
    hints: list[str] = []
    for location in map(_obj, locations):
        hints += [_text(i) for i in _list(_obj(location.get("gazetteer")).get("identifiers"))]
        address = _obj(location.get("address"))
        hints += [_text(location.get("description")), _text(address.get("locality")),
                  _text(address.get("region"))]
    return tuple(dict.fromkeys(h for h in hints if h))


def _sector_label(sectors: list) -> str | None:
    top = _text(sectors[0]).split(".")[0] if sectors else ""
    return top.replace("_", " ").capitalize() or None


def _names(names: Iterable[object]) -> str | None:
    unique = dict.fromkeys(" ".join(_text(n).split()) for n in names)
    return "; ".join(n for n in unique if n) or None


def _first(*values: object) -> str | None:
    return next((" ".join(_text(v).split()) for v in values if _text(v).strip()), None)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def _obj(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))

