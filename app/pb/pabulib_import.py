"""Pabulib files in and out of the database: a `.pb` file becomes a cycle, a cycle a `.pb` file.

`app.pb.pabulib` reads and writes the text and stays pure; this module maps its values to
cycles, proposals and paper ballots (`app.pb.paper`) and back.

Import: META to the cycle
- `budget` -> the budget; it must be a whole, positive amount (Baraza keeps whole units).
- `currency`: amounts are taken as numbers, never converted. A currency other than the
  organization's gives a warning.
- `vote_type` -> the ballot type:
  `approval` -> approval within the budget, or k-approval with k = `max_length` when that is
  less than the number of projects (choose-1 when it is 1);
  `choose-1` -> choose-1;
  `ordinal` -> like approval (k = `max_length`); the ranking is dropped and every listed project
  counts as one approval, as `app.pb.pabulib.to_election` and pabutools' greedy and MES count
  them (warning);
  `cumulative` -> cumulative with N = `max_sum_points` (else the largest total on a ballot, with
  a warning);
  `scoring` is refused: a score for each project has no Baraza ballot type (cumulative spreads a
  fixed total), and counting scores as points would change what the voters said.
  `min_length`, `max_sum_cost` and other limits have no Baraza counterpart and are ignored.
- `description` -> the cycle's name (else "<unit> <instance>"), cut to 120 characters;
  `--name` overrides.
- `instance` -> the round (else the year in `date_end`/`date_begin`); `--round` overrides.
- `rule` -> "mes" for `equalshares...`/`mes...` (the Method of Equal Shares with add1, Swiecie's
  `equalshares/add1`), "greedy" for anything else (`greedy`, `unknown`...); a rule we count
  differently (`greedy-threshold`: no threshold here) gives a warning.

PROJECTS -> accepted proposals, coded 1..n in file order, skipping the codes USSD reserves
(`app.pb.proposals.RESERVED_CODES`). `project_id` is kept as the external id (so results use
the file's ids and tie-break as pabutools does); title = `name` (else "Project <id>"; a longer
name is cut to 200 characters and kept whole as the description); `category` kept (cut to 60).
A cost must be a whole amount, positive and within the budget.

VOTES (only with `with_votes`) -> paper ballots (`app.pb.paper`, tag from "paper:<voter_id>").
Ballots are entered as cast (`strict=False`): an election already counted under its own rules
may have ballots ours would refuse (over the budget, too many choices); they count, and their
number is a warning. A choice of 0 points is dropped. The cycle goes PROPOSALS -> VOTING ->
CLOSED through `cycles.move` (voting already happened; `pb open` reopens it). Without votes it
is left in REVIEW: the list is final (no resident `IDEA`s join it) and `pb open` moves it to
VOTING.

Twice: a cycle of the organization at the same place with the same name and round is taken to be
the same import and refused (`--name` or `--round` make another one). Paper ballots themselves
are idempotent (same tags), so entering a file's votes again changes nothing.

Export: META description (name), country, unit (organization), subunit (place), instance
(round), num_projects, num_votes, budget, vote_type (approval, choose-1, cumulative; k-approval
is approval with `max_length`), `max_sum_points` (cumulative), rule (`greedy` or
`equalshares/add1`), currency and language (the organization's). No dates: the database does
not keep when voting opened. PROJECTS: accepted proposals by code: project_id = the id results
use (external id, else the code padded to six digits, so that importing the file again keeps
the tie-breaks), cost, votes (ballots naming it), score (points, cumulative), name, category when
any has one, selected (per the cycle's rule, via `compute_results`) when there are ballots.
VOTES: the counted ballots in the order of their random ids, voter_id 1..n (opaque: never a tag,
never a phone), vote, points (cumulative) and voting_method = the ballot's channel. Exporting,
importing and counting again gives the same results.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db.models import Ballot, BallotType, Cycle, Organization, Phase, Place, ProposalStatus
from app.pb import cycles, proposals
from app.pb.election import Number
from app.pb.pabulib import PabulibFile, PabulibProject, PabulibVote, format_number
from app.pb.paper import PaperBallot, PaperSummary, import_paper_ballots
from app.pb.results import compute_results, project_id
from app.pb.voters import Keyring

MAX_NAME, MAX_ROUND, MAX_CATEGORY, MAX_EXTERNAL_ID = 120, 40, 60, 60
RULE_NAMES = {"greedy": "greedy", "mes": "equalshares/add1"}  # ours -> Pabulib's
VOTE_TYPES = {BallotType.APPROVAL: "approval", BallotType.K_APPROVAL: "approval",
              BallotType.CHOOSE_ONE: "choose-1", BallotType.CUMULATIVE: "cumulative"}


class PabulibImportError(ValueError):
    """A file Baraza cannot take as a cycle; the message says why. Nothing is written."""


@dataclass(frozen=True)
class ProposalPlan:
    code: int
    external_id: str
    title: str
    description: str
    cost: int
    category: str | None


@dataclass(frozen=True)
class CyclePlan:
    """What a file becomes, before anything is written."""

    name: str
    round: str
    budget: int
    ballot_type: BallotType
    max_choices: int | None
    points: int | None
    rule: str
    proposals: tuple[ProposalPlan, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Imported:
    cycle_id: int
    plan: CyclePlan
    ballots: PaperSummary | None  # None without votes
    warnings: tuple[str, ...]  # the plan's, and the ballots'


# ---- the mapping (pure) -------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _whole(value: Number, what: str) -> int:
    if Fraction(value).denominator != 1:
        raise PabulibImportError(f"{what} {format_number(value)} is not a whole amount")
    return int(value)


def _meta_int(meta: Mapping[str, str], key: str) -> int | None:
    text = meta.get(key, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise PabulibImportError(f"META {key} {text!r} is not a whole number")
    return int(text)


def _rule(meta: Mapping[str, str], warnings: list[str]) -> str:
    rule = meta.get("rule", "").strip().lower()
    if rule.startswith(("equalshares", "mes")):
        if rule not in ("equalshares/add1", "mes/add1"):
            warnings.append(f"the file's rule {rule!r} is counted as the Method of Equal Shares "
                            f"with the add1 completion")
        return "mes"
    if rule not in ("", "greedy", "unknown"):
        warnings.append(f"the file's rule {rule!r} is counted as plain greedy")
    return "greedy"


def _round(meta: Mapping[str, str], given: str | None) -> str:
    if given:
        return _cut(given, MAX_ROUND)
    if meta.get("instance", "").strip():
        return _cut(meta["instance"], MAX_ROUND)
    for key in ("date_end", "date_begin"):
        year = re.search(r"\b(\d{4})\b", meta.get(key, ""))
        if year:
            return year.group(1)
    raise PabulibImportError("the file has no instance or date to name the round: pass --round")


def _name(meta: Mapping[str, str], round_name: str, given: str | None) -> str:
    if given:
        return _cut(given, MAX_NAME)
    if meta.get("description", "").strip():
        return _cut(meta["description"], MAX_NAME)
    unit = meta.get("unit", "").strip() or "Pabulib"
    return _cut(f"{unit} {round_name}", MAX_NAME)


def _ballot_type(pb: PabulibFile, warnings: list[str]) -> tuple[BallotType, int | None,
                                                                 int | None]:
    vote_type, meta = pb.vote_type, pb.meta
    if vote_type == "scoring":
        raise PabulibImportError("scoring ballots (a score for each project) have no Baraza "
                                 "ballot type: cumulative ballots spread a fixed number of points")
    if vote_type == "cumulative":
        points = _meta_int(meta, "max_sum_points")
        if points is None:
            totals = [sum(_points(v)) for v in pb.votes]
            if not totals or max(totals) < 1:
                raise PabulibImportError("cumulative ballots need META max_sum_points")
            points = max(totals)
            warnings.append(f"no max_sum_points in the file: each voter gets {points} points, "
                            f"the most any ballot gave")
        return BallotType.CUMULATIVE, None, points
    if vote_type == "choose-1":
        return BallotType.CHOOSE_ONE, None, None
    if vote_type not in ("approval", "ordinal"):
        raise PabulibImportError(f"vote_type {vote_type!r} is not approval, choose-1, ordinal, "
                                 f"cumulative or scoring")
    if vote_type == "ordinal":
        warnings.append("ordinal ballots are imported as approvals of the projects they rank: "
                        "the ranking is dropped")
    k = _meta_int(meta, "max_length")
    if k is not None and 0 < k < len(pb.projects):
        return (BallotType.CHOOSE_ONE, None, None) if k == 1 else (BallotType.K_APPROVAL, k, None)
    return BallotType.APPROVAL, None, None


def _proposal_plans(projects: Sequence[PabulibProject], budget: int) -> tuple[ProposalPlan, ...]:
    plans, code = [], 0
    for project in projects:
        code += 1
        while code in proposals.RESERVED_CODES:
            code += 1
        label = f"project {project.project_id!r}"
        if len(project.project_id) > MAX_EXTERNAL_ID:
            raise PabulibImportError(f"{label}: the id is longer than {MAX_EXTERNAL_ID} "
                                     f"characters")
        cost = _whole(project.cost, f"{label}: the cost")
        if cost <= 0:
            raise PabulibImportError(f"{label}: the cost must be positive")
        if cost > budget:
            raise PabulibImportError(f"{label}: the cost {cost} is more than the whole budget "
                                     f"{budget}")
        name = " ".join((project.name or "").split())
        title = _cut(name, proposals.MAX_TITLE) if name else f"Project {project.project_id}"
        category = " ".join(project.fields.get("category", "").split())
        plans.append(ProposalPlan(code, project.project_id, title,
                                  name if title != name and name else "", cost,
                                  _cut(category, MAX_CATEGORY) if category else None))
    return tuple(plans)


def plan_cycle(pb: PabulibFile, *, currency: str | None = None, name: str | None = None,
               round_name: str | None = None) -> CyclePlan:
    """The cycle a file becomes (see the module docstring); PabulibImportError if none."""
    warnings: list[str] = []
    budget = _whole(pb.budget, "the budget")
    if budget <= 0:
        raise PabulibImportError("the budget must be positive")
    if not pb.projects:
        raise PabulibImportError("the file has no projects")
    file_currency = pb.meta.get("currency", "").strip().upper()
    if currency and file_currency and file_currency != currency.upper():
        warnings.append(f"the file's amounts are in {file_currency}, the organization's in "
                        f"{currency.upper()}: imported as numbers, not converted")
    ballot_type, max_choices, points = _ballot_type(pb, warnings)
    rule = _rule(pb.meta, warnings)
    round_ = _round(pb.meta, round_name)
    return CyclePlan(_name(pb.meta, round_, name), round_, budget, ballot_type, max_choices,
                     points, rule, _proposal_plans(pb.projects, budget), tuple(warnings))


def _points(vote: PabulibVote) -> tuple[int, ...]:
    if vote.points is None:
        raise PabulibImportError(f"voter {vote.voter_id!r}: cumulative ballots need points")
    return tuple(_whole(x, f"voter {vote.voter_id!r}: points") for x in vote.points)


def paper_ballots(pb: PabulibFile, plan: CyclePlan) -> list[PaperBallot]:
    """The file's votes as paper ballots on the plan's codes (points only when cumulative)."""
    codes = {p.external_id: p.code for p in plan.proposals}
    cumulative = plan.ballot_type == BallotType.CUMULATIVE
    ballots = []
    for vote in pb.votes:
        weights = _points(vote) if cumulative else (1,) * len(vote.vote)
        ballots.append(PaperBallot(vote.voter_id, {
            codes[pid]: weight for pid, weight in zip(vote.vote, weights, strict=True)
            if weight > 0}))
    return ballots


# ---- into the database --------------------------------------------------------------------


def same_cycle(db: Session, organization_id: int, place: Place, plan: CyclePlan) -> Cycle | None:
    return db.scalar(select(Cycle).where(
        Cycle.organization_id == organization_id, Cycle.place_id == place.id,
        Cycle.round == plan.round, Cycle.name == plan.name).order_by(Cycle.id))


def import_pabulib(db: Session, keyring: Keyring, pb: PabulibFile, *,
                   organization: Organization, place: Place, with_votes: bool = False,
                   name: str | None = None, round_name: str | None = None) -> Imported:
    """Create the file's cycle and accepted proposals, and with `with_votes` its paper ballots."""
    plan = plan_cycle(pb, currency=organization.currency, name=name, round_name=round_name)
    earlier = same_cycle(db, organization.id, place, plan)
    if earlier is not None:
        raise PabulibImportError(
            f"cycle {earlier.id} ({earlier.name!r}, round {earlier.round}) at {place.name} "
            f"exists already: this file was imported before. Use that cycle, or pass --name "
            f"or --round to import it as another one")
    ballots = paper_ballots(pb, plan) if with_votes else []  # errors before anything is written
    try:
        cycle = cycles.create_cycle(
            db, organization_id=organization.id, name=plan.name, round_name=plan.round,
            place=place, budget=plan.budget, ballot_type=plan.ballot_type,
            max_choices=plan.max_choices, points=plan.points, rule=plan.rule)
        for item in plan.proposals:
            proposals.add_proposal(db, cycle, title=item.title, cost=item.cost,
                                   description=item.description, category=item.category,
                                   external_id=item.external_id, code=item.code,
                                   status=ProposalStatus.ACCEPTED, submitted_via="pabulib")
    except (cycles.CycleError, proposals.ProposalError) as exc:
        raise PabulibImportError(str(exc)) from exc
    warnings = list(plan.warnings)
    summary = None
    if with_votes:
        cycles.move(cycle, Phase.VOTING)
        summary = import_paper_ballots(db, keyring, cycle, ballots, strict=False)
        cycles.move(cycle, Phase.CLOSED)
        if summary.irregular:
            warnings.append(f"{summary.irregular} ballots break this cycle's ballot rules "
                            f"(over the budget or too many choices); entered as cast")
        if summary.blank:
            warnings.append(f"{summary.blank} blank ballots skipped")
    else:
        cycles.move(cycle, Phase.REVIEW)
    db.flush()
    return Imported(cycle.id, plan, summary, tuple(warnings))


# ---- out of the database ------------------------------------------------------------------


def export_pabulib(db: Session, cycle: Cycle) -> PabulibFile:
    """The cycle as a Pabulib file (see the module docstring)."""
    organization = db.get(Organization, cycle.organization_id)
    listed = proposals.accepted(cycle)  # by code
    ids = {p.id: project_id(p) for p in listed}
    cumulative = cycle.ballot_type == BallotType.CUMULATIVE
    rows = db.scalars(select(Ballot).where(Ballot.cycle_id == cycle.id).order_by(Ballot.id)
                      .options(selectinload(Ballot.choices))).all()
    order = {p.id: i for i, p in enumerate(listed)}
    votes, counts, scores = [], {p.id: 0 for p in listed}, {p.id: 0 for p in listed}
    for row in rows:
        choices = sorted((c for c in row.choices if c.proposal_id in ids),
                         key=lambda c: order[c.proposal_id])
        if not choices:
            continue  # counts for nothing, as in `compute_results`
        for choice in choices:
            counts[choice.proposal_id] += 1
            scores[choice.proposal_id] += choice.points
        votes.append(PabulibVote(
            str(len(votes) + 1), tuple(ids[c.proposal_id] for c in choices),
            tuple(c.points for c in choices) if cumulative else None,
            {"voting_method": row.channel}))
    funded = set(compute_results(db, cycle).winners) if votes else None
    has_category = any(p.category for p in listed)
    projects = []
    for p in listed:
        fields = {"votes": str(counts[p.id]), "name": p.title}
        if cumulative:
            fields["score"] = str(scores[p.id])
        if has_category:
            fields["category"] = p.category or ""
        if funded is not None:
            fields["selected"] = "1" if p.code in funded else "0"
        projects.append(PabulibProject(ids[p.id], p.cost, fields))
    project_columns = ("project_id", "cost", "votes", *(("score",) if cumulative else ()),
                       "name", *(("category",) if has_category else ()),
                       *(("selected",) if funded is not None else ()))
    vote_columns = ("voter_id", "vote", *(("points",) if cumulative else ()), "voting_method")
    return PabulibFile(_meta(cycle, organization, len(projects), len(votes)), tuple(projects),
                       tuple(votes), project_columns, vote_columns)


def _meta(cycle: Cycle, organization: Organization, num_projects: int,
          num_votes: int) -> dict[str, str]:
    kind = BallotType(cycle.ballot_type)
    meta = {"description": cycle.name, "country": organization.country,
            "unit": organization.name, "subunit": cycle.place.name, "instance": cycle.round,
            "num_projects": str(num_projects), "num_votes": str(num_votes),
            "budget": str(cycle.budget), "vote_type": VOTE_TYPES[kind],
            "rule": RULE_NAMES[cycle.rule]}
    if kind == BallotType.K_APPROVAL and cycle.max_choices:
        meta["max_length"] = str(cycle.max_choices)
    if kind == BallotType.CUMULATIVE and cycle.points:
        meta["max_sum_points"] = str(cycle.points)
    meta["currency"] = organization.currency
    meta["language"] = organization.default_language
    return meta
