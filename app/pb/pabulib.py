"""The Pabulib `.pb` format (pabulib.org): read a file's text into frozen values and write it back.

A file has three sections, META, PROJECTS and VOTES, each a `;`-separated table whose first row
is its header, quoted like CSV (`"a ""quoted"" name"`). Columns we do not interpret (name,
category, selected, age, sex, voting_method...) are kept as text, so importing a file and
exporting it again loses nothing. Text in, text out: the callers open the files.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

from app.pb.election import Ballot, Election, Number, Project

SECTIONS = ("meta", "projects", "votes")
APPROVAL_TYPES = ("approval", "choose-1", "ordinal")  # ordinal ballots count as approvals
POINTS_TYPES = ("cumulative", "scoring")
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")


class PabulibError(ValueError):
    """Malformed `.pb` text; `line` is the 1-based line the problem was found on."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class PabulibProject:
    project_id: str
    cost: Number
    fields: Mapping[str, str] = field(default_factory=dict, hash=False)  # name, votes, selected...

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", _frozen(self.fields))

    @property
    def name(self) -> str | None:
        return self.fields.get("name")

    @property
    def selected(self) -> bool | None:
        """Whether the real election funded it, where the file says."""
        value = self.fields.get("selected")
        return None if value is None else value.strip() == "1"


@dataclass(frozen=True)
class PabulibVote:
    voter_id: str
    vote: tuple[str, ...]  # project ids in the order written (a ranking for ordinal ballots)
    points: tuple[Number, ...] | None = None  # when the file has a `points` column
    fields: Mapping[str, str] = field(default_factory=dict, hash=False)  # age, sex...

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", _frozen(self.fields))


@dataclass(frozen=True)
class PabulibFile:
    meta: Mapping[str, str] = field(hash=False)
    projects: tuple[PabulibProject, ...]
    votes: tuple[PabulibVote, ...]
    # Header order, kept so that a written file has its columns where the original had them.
    project_columns: tuple[str, ...] = ("project_id", "cost")
    vote_columns: tuple[str, ...] = ("voter_id", "vote")

    def __post_init__(self) -> None:
        object.__setattr__(self, "meta", _frozen(self.meta))

    @property
    def budget(self) -> Number:
        return parse_number(self.meta["budget"])

    @property
    def vote_type(self) -> str:
        return self.meta.get("vote_type", "approval")  # the format's own default


def parse_number(text: str) -> Number:
    """An exact number from "50000", "50000.0" or "50000,5"; ValueError for anything else."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        raise ValueError(f"{text!r} is not a number")
    value = Fraction(text.replace(",", "."))
    return value.numerator if value.denominator == 1 else value


def format_number(value: Number) -> str:
    """Decimal text that `parse_number` reads back to the same value."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
        if digits > 30:
            raise ValueError(f"{value} has no finite decimal form")
    sign, scaled = ("-" if value < 0 else ""), abs(value * 10**digits).numerator
    whole, fraction = divmod(scaled, 10**digits)
    return f"{sign}{whole}.{fraction:0{digits}d}"


# ---- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    line: int
    cells: list[str]


def _rows(text: str) -> Iterator[_Row]:
    """Non-blank rows with stripped cells; `line` is where the row starts."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";",
                        strict=True)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise PabulibError(start, f"unreadable row: {error}") from None
        if any(cell.strip() for cell in cells):
            yield _Row(start, [cell.strip() for cell in cells])


def _section_of(row: _Row) -> str | None:
    return row.cells[0].lower() if _looks_like_section(row.cells) else None


def _split_sections(text: str) -> dict[str, tuple[_Row, list[_Row]]]:
    """Each section's header row and data rows."""
    sections: dict[str, tuple[_Row, list[_Row]]] = {}
    current: list[_Row] | None = None
    pending: str | None = None  # a section whose header is the next row
    for row in _rows(text):
        if (name := _section_of(row)) is not None:
            if pending is not None:
                raise PabulibError(row.line, f"section {pending.upper()} has no header row")
            if name in sections:
                raise PabulibError(row.line, f"section {name.upper()} appears twice")
            pending = name
        elif pending is not None:
            current = []
            sections[pending] = (row, current)
            pending = None
        elif current is None:
            raise PabulibError(row.line, "expected META, PROJECTS or VOTES before any data")
        else:
            current.append(row)
    if pending is not None:
        raise PabulibError(_last_line(text), f"section {pending.upper()} has no header row")
    return sections


def _last_line(text: str) -> int:
    return max(1, len(text.splitlines()))


def _header(row: _Row, required: tuple[str, ...], section: str) -> tuple[str, ...]:
    columns = tuple(row.cells)
    if len(set(columns)) != len(columns):
        raise PabulibError(row.line, f"{section} header repeats a column: {';'.join(columns)}")
    missing = [name for name in required if name not in columns]
    if missing:
        raise PabulibError(row.line, f"{section} header lacks {', '.join(missing)}")
    return columns


def _record(row: _Row, columns: tuple[str, ...], section: str) -> dict[str, str]:
    if len(row.cells) != len(columns):
        raise PabulibError(row.line, f"{section} row has {len(row.cells)} fields, "
                                     f"the header has {len(columns)}")
    return dict(zip(columns, row.cells, strict=True))


def _number(row: _Row, text: str, what: str) -> Number:
    try:
        value = parse_number(text)
    except ValueError:
        raise PabulibError(row.line, f"{what} {text!r} is not a number") from None
    if value < 0:
        raise PabulibError(row.line, f"{what} {text!r} is negative")
    return value


def _parse_meta(header: _Row, rows: list[_Row]) -> dict[str, str]:
    if len(header.cells) != 2:
        raise PabulibError(header.line, "META header must be key;value")
    meta: dict[str, str] = {}
    for row in rows:
        if len(row.cells) != 2:
            raise PabulibError(row.line, f"META row must be key;value, got {len(row.cells)} fields")
        key, value = row.cells
        if key in meta:
            raise PabulibError(row.line, f"META key {key!r} appears twice")
        meta[key] = value
        if key == "budget":
            _number(row, value, "budget")
    if "budget" not in meta:
        raise PabulibError(header.line, "META has no budget")
    return meta


def _parse_projects(header: _Row, rows: list[_Row]) -> tuple[tuple[str, ...], list[PabulibProject]]:
    columns = _header(header, ("project_id", "cost"), "PROJECTS")
    projects: dict[str, PabulibProject] = {}
    for row in rows:
        record = _record(row, columns, "PROJECTS")
        project_id, cost = record.pop("project_id"), record.pop("cost")
        if not project_id or "," in project_id:
            raise PabulibError(row.line, f"project_id {project_id!r} is empty or has a comma")
        if project_id in projects:
            raise PabulibError(row.line, f"project {project_id!r} appears twice")
        projects[project_id] = PabulibProject(project_id, _number(row, cost, "cost"), record)
    return columns, list(projects.values())


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",")] if text else []


def _parse_vote(row: _Row, columns: tuple[str, ...], known: set[str]) -> PabulibVote:
    record = _record(row, columns, "VOTES")
    voter_id, vote = record.pop("voter_id"), tuple(_split_list(record.pop("vote")))
    if not voter_id:
        raise PabulibError(row.line, "voter_id is empty")
    unknown = [project_id for project_id in vote if project_id not in known]
    if unknown:
        raise PabulibError(row.line, f"vote names unknown project {unknown[0]!r}")
    if len(set(vote)) != len(vote):
        raise PabulibError(row.line, f"vote names a project twice: {','.join(vote)}")
    points = None
    if "points" in record:
        points = tuple(_number(row, x, "points") for x in _split_list(record.pop("points")))
        if len(points) != len(vote):
            raise PabulibError(row.line, f"{len(points)} points for {len(vote)} projects")
    return PabulibVote(voter_id, vote, points, record)


def _parse_votes(header: _Row, rows: list[_Row], known: set[str]) -> tuple[tuple[str, ...],
                                                                           list[PabulibVote]]:
    columns = _header(header, ("voter_id", "vote"), "VOTES")
    votes: list[PabulibVote] = []
    seen: set[str] = set()
    for row in rows:
        vote = _parse_vote(row, columns, known)
        if vote.voter_id in seen:
            raise PabulibError(row.line, f"voter {vote.voter_id!r} appears twice")
        seen.add(vote.voter_id)
        votes.append(vote)
    return columns, votes


def parse_pabulib(text: str) -> PabulibFile:
    """Read the text of a `.pb` file; PabulibError names the line of the first problem."""
    sections = _split_sections(text)
    for name in SECTIONS:
        if name not in sections:
            raise PabulibError(_last_line(text), f"no {name.upper()} section")
    meta = _parse_meta(*sections["meta"])
    project_columns, projects = _parse_projects(*sections["projects"])
    known = {p.project_id for p in projects}
    vote_columns, votes = _parse_votes(*sections["votes"], known)
    return PabulibFile(meta, tuple(projects), tuple(votes), project_columns, vote_columns)


# ---- writing --------------------------------------------------------------------------------


def _project_cells(project: PabulibProject, columns: tuple[str, ...]) -> list[str]:
    values = {**project.fields, "project_id": project.project_id,
              "cost": format_number(project.cost)}
    return [values.get(column, "") for column in columns]


def _vote_cells(vote: PabulibVote, columns: tuple[str, ...]) -> list[str]:
    values = {**vote.fields, "voter_id": vote.voter_id, "vote": ",".join(vote.vote)}
    if vote.points is not None:
        values["points"] = ",".join(format_number(x) for x in vote.points)
    return [values.get(column, "") for column in columns]


def _check_columns(pb: PabulibFile) -> None:
    for columns, keys in ((pb.project_columns, {"project_id", "cost"}),
                          (pb.vote_columns, {"voter_id", "vote"})):
        if not keys.issubset(columns):
            raise ValueError(f"columns {columns} lack {sorted(keys - set(columns))}")
    for item, columns in [(p, pb.project_columns) for p in pb.projects] + [
            (v, pb.vote_columns) for v in pb.votes]:
        extra = set(item.fields) - set(columns)
        if extra:
            raise ValueError(f"{item} has fields outside the header: {sorted(extra)}")
    if any(v.points is not None for v in pb.votes) and "points" not in pb.vote_columns:
        raise ValueError("votes carry points but the header has no points column")
    for project in pb.projects:
        if not project.project_id or "," in project.project_id:  # votes list ids with commas
            raise ValueError(f"project id {project.project_id!r} is empty or has a comma")


def _looks_like_section(row: list[str]) -> bool:
    return row[0].strip().lower() in SECTIONS and not any(cell.strip() for cell in row[1:])


def format_pabulib(pb: PabulibFile) -> str:
    """The `.pb` text of a file value; `parse_pabulib` reads it back to an equal value."""
    _check_columns(pb)
    meta = [[key, value] for key, value in pb.meta.items()]
    projects = [_project_cells(p, pb.project_columns) for p in pb.projects]
    votes = [_vote_cells(v, pb.vote_columns) for v in pb.votes]
    for row in meta + projects + votes:
        # Either would read back as something else: a new section, or a blank line.
        if _looks_like_section(row) or not any(cell.strip() for cell in row):
            raise ValueError(f"a row cannot be {row[0]!r} followed by nothing")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerows([["META"], ["key", "value"], *meta,
                      ["PROJECTS"], list(pb.project_columns), *projects,
                      ["VOTES"], list(pb.vote_columns), *votes])
    return out.getvalue()


# ---- to the counting rules ------------------------------------------------------------------


def to_election(pb: PabulibFile) -> Election:
    """The election the rules count: ordinal and choose-1 ballots count as approvals."""
    vote_type = pb.vote_type
    projects = tuple(Project(p.project_id, p.cost) for p in pb.projects)
    if vote_type in APPROVAL_TYPES:
        ballots = tuple(Ballot(v.vote) for v in pb.votes)
    elif vote_type in POINTS_TYPES:
        if any(v.points is None for v in pb.votes):
            raise ValueError(f"{vote_type} ballots need a points column")
        ballots = tuple(Ballot(v.vote, v.points) for v in pb.votes)
    else:
        raise ValueError(f"vote_type {vote_type!r} is not one of "
                         f"{', '.join(APPROVAL_TYPES + POINTS_TYPES)}")
    return Election(pb.budget, projects, ballots)
