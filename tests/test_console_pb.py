"""Budget cycles in the console and the public results page, through Flask's test client."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.db.models import AuditEntry, Cycle, Phase, Place, Proposal, User
from app.pb import ballots, cycles
from app.services import contacts
from tests.console_support import add_user, csrf_token, log_in
from tests.pb_support import add_cycle

CYCLES = "/console/orgs/makueni/cycles"


@pytest.fixture
def pb(runtime):
    """Makueni with Tulimani's cycle in voting: budget 700K; 1: 400K, 2: 300K, 3: 250K, 4: 150K."""
    return add_cycle(runtime)


@pytest.fixture
def draft(runtime):
    """The same cycle still taking proposals, all four accepted."""
    return add_cycle(runtime, open_voting=False)


def signed_in(client, runtime, role: str, org_code: str = "makueni"):
    assert log_in(client, add_user(runtime, role, org_code)).status_code == 302
    return client


def text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path: str, data: dict, page: str | None = None):
    """Post a form with the CSRF token the page carrying it has."""
    return client.post(path, data={"csrf_token": csrf_token(client, page or path)} | data)


def vote(runtime, fixture, selection: dict[int, int], msisdn: str) -> str:
    """One resident of Tulimani votes; returns the receipt."""
    with runtime.sessions.begin() as db:
        cycle = db.get(Cycle, fixture.cycle_id)
        ballots.register_place(db, runtime.keyring, cycle.organization_id, cycle.round, msisdn,
                               db.get(Place, fixture.ward_ids["0431"]))
        contact = contacts.ensure_contact(db, fixture.organization_id, msisdn)
        return ballots.cast_ballot(db, runtime.keyring, cycle, msisdn, selection, "ussd",
                                   contact.id).receipt


def move(runtime, cycle_id: int, *phases: Phase) -> None:
    with runtime.sessions.begin() as db:
        for phase in phases:
            cycles.move(db.get(Cycle, cycle_id), phase)


def audit_actions(runtime) -> list[tuple[str, str | None, dict]]:
    with runtime.sessions() as db:
        return [(e.action, e.entity_id, e.detail) for e in
                db.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- what each role may do -------------------------------------------------------------------

PAGES = ("list", "cycle", "new", "results", "turnout")
ACCESS = {  # role -> status per page, in PAGES order
    "admin": (200, 200, 200, 200, 200),
    "officer": (200, 200, 200, 200, 200),
    "agent": (200, 200, 403, 200, 403),
    "approver": (200, 200, 403, 200, 403),
}


@pytest.mark.parametrize("role", list(ACCESS))
def test_each_role_reaches_exactly_its_cycle_pages(client, runtime, pb, role):
    signed_in(client, runtime, role)
    base = f"{CYCLES}/{pb.cycle_id}"
    paths = {"list": CYCLES, "cycle": base, "new": f"{CYCLES}/new",
             "results": f"{base}/results", "turnout": f"{base}/turnout"}
    got = {page: client.get(paths[page]).status_code for page in PAGES}
    assert got == dict(zip(PAGES, ACCESS[role], strict=True))
    listing, page = text(client.get(CYCLES)), text(client.get(base))
    assert ">Budget cycles</a>" in listing and "Tulimani 2026/27" in listing
    manages = role in {"admin", "officer"}
    assert ("New cycle" in listing) == manages
    assert ("Close voting" in page) == manages
    assert ("Turnout</a>" in page) == manages
    assert "Results</a>" in page


@pytest.mark.parametrize("role", ["agent", "approver"])
def test_read_only_roles_change_nothing(client, runtime, draft, role):
    signed_in(client, runtime, role)
    base = f"{CYCLES}/{draft.cycle_id}"
    page = text(client.get(base))
    assert "Add a proposal" not in page and "Accept" not in page and "Reject" not in page
    token = csrf_token(client, base)
    with runtime.sessions() as db:
        proposal_id = db.scalar(select(Proposal.id).where(Proposal.code == 1))
    attempts = [
        (f"{CYCLES}/new", {"name": "X", "round": "r", "place_id": draft.ward_ids["0431"],
                           "budget": "100", "ballot_type": "approval", "voter_key": "phone",
                           "rule": "mes"}),
        (f"{base}/proposals", {"title": "Sneaky", "cost": "100"}),
        (f"{base}/proposals/{proposal_id}/review", {"decision": "reject", "reason": "no"}),
        (f"{base}/phase", {"to": "voting"}),
    ]
    for path, data in attempts:
        assert client.post(path, data={"csrf_token": token} | data).status_code == 403, path
    with runtime.sessions() as db:
        assert len(db.scalars(select(Cycle)).all()) == 1
        assert db.get(Cycle, draft.cycle_id).phase == Phase.PROPOSALS
        assert {p.status for p in db.scalars(select(Proposal))} == {"accepted"}
    assert audit_actions(runtime) == []


def test_other_organizations_cycles_are_not_found(client, runtime, pb):
    signed_in(client, runtime, "officer", org_code="nandi")
    base = f"{CYCLES}/{pb.cycle_id}"
    for path in (CYCLES, base, f"{base}/results", f"{base}/turnout", f"{CYCLES}/new"):
        assert client.get(path).status_code == 404, path
    # nor through Nandi's own pages
    nandi = f"/console/orgs/nandi/cycles/{pb.cycle_id}"
    for path in (nandi, f"{nandi}/results", f"{nandi}/turnout"):
        assert client.get(path).status_code == 404, path
    token = csrf_token(client, "/console/orgs/nandi/cycles")
    with runtime.sessions() as db:
        proposal_id = db.scalar(select(Proposal.id).where(Proposal.cycle_id == pb.cycle_id))
    for path, data in ((f"{nandi}/phase", {"to": "closed"}),
                       (f"{nandi}/proposals", {"title": "Sneaky", "cost": "100"}),
                       (f"{nandi}/proposals/{proposal_id}/review",
                        {"decision": "reject", "reason": "no"})):
        assert client.post(path, data={"csrf_token": token} | data).status_code == 404, path
    # and a Nandi cycle cannot be made for a Makueni ward
    response = client.post("/console/orgs/nandi/cycles/new", data={
        "csrf_token": token, "name": "X", "round": "r", "place_id": pb.ward_ids["0431"],
        "budget": "100", "ballot_type": "approval", "voter_key": "phone", "rule": "mes"})
    assert response.status_code == 400 and "choose a place of this organization" in text(response)
    with runtime.sessions() as db:
        assert db.get(Cycle, pb.cycle_id).phase == Phase.VOTING
        assert len(db.scalars(select(Cycle)).all()) == 1
        assert len(db.scalars(select(Proposal)).all()) == 4
        assert {p.status for p in db.scalars(select(Proposal))} == {"accepted"}
    assert audit_actions(runtime) == []


def test_a_proposal_is_reviewed_only_through_its_own_cycle(client, runtime, draft):
    signed_in(client, runtime, "officer")
    other = post(client, f"{CYCLES}/new", {
        "name": "Mbooni 2026/27", "round": "2026/27", "place_id": draft.ward_ids["0432"],
        "budget": "500000", "ballot_type": "approval", "voter_key": "phone", "rule": "mes"},
        page=f"{CYCLES}/new")
    assert other.status_code == 302
    other_id = int(other.location.rstrip("/").rsplit("/", 1)[-1])
    with runtime.sessions() as db:
        proposal_id = db.scalar(select(Proposal.id).where(Proposal.cycle_id == draft.cycle_id))
    response = post(client, f"{CYCLES}/{other_id}/proposals/{proposal_id}/review",
                    {"decision": "reject", "reason": "not this cycle's"},
                    page=f"{CYCLES}/{other_id}")
    assert response.status_code == 404
    with runtime.sessions() as db:
        assert db.get(Proposal, proposal_id).status == "accepted"


def test_forms_without_a_csrf_token_are_refused(client, runtime, draft):
    signed_in(client, runtime, "officer")
    response = client.post(f"{CYCLES}/{draft.cycle_id}/phase", data={"to": "voting"})
    assert response.status_code == 400
    with runtime.sessions() as db:
        assert db.get(Cycle, draft.cycle_id).phase == Phase.PROPOSALS


# --- an officer runs a cycle ------------------------------------------------------------------

def test_officer_creates_a_cycle_adds_and_reviews_proposals_and_opens_voting(client, runtime):
    add_cycle(runtime, open_voting=False, items=[])  # Makueni with its places, no proposals
    signed_in(client, runtime, "officer")
    new = f"{CYCLES}/new"
    form = text(client.get(new))
    assert "Makueni (county 17)" in form and "Tulimani (ward 0431)" in form
    with runtime.sessions() as db:
        kasikeu = db.scalar(select(Place.id).where(Place.code == "0437"))
    response = post(client, new, {
        "name": " Kasikeu   2026/27 ", "round": "2026/27", "place_id": str(kasikeu),
        "budget": "1,000,000", "ballot_type": "k_approval", "max_choices": "2",
        "points": "not read", "voter_key": "national_id", "rule": "greedy"})
    assert response.status_code == 302, text(response)
    with runtime.sessions() as db:
        cycle = db.scalar(select(Cycle).where(Cycle.name == "Kasikeu 2026/27"))
        assert (cycle.budget, cycle.ballot_type, cycle.max_choices, cycle.points,
                cycle.voter_key, cycle.rule, cycle.phase) == (
            1_000_000, "k_approval", 2, None, "national_id", "greedy", "proposals")
    page_path = response.location
    assert "Created cycle Kasikeu 2026/27." in text(client.get(page_path))

    add = f"{page_path}/proposals"
    for title, sw, cost, category in (("Water tank", "Tangi la maji", "400 000", "water"),
                                      ("Clinic roof", "", "300000", ""),
                                      ("Goal posts", "", "50,000", "sports")):
        response = post(client, add, {"title": title, "title_sw": sw, "cost": cost,
                                      "description": f"{title} for Kasikeu",
                                      "category": category}, page=page_path)
        assert response.status_code == 302, text(response)
    page = text(client.get(page_path))
    assert "Added proposal 3: Goal posts." in page
    assert "Tangi la maji" in page and "KES 400,000" in page
    with runtime.sessions() as db:
        tank = db.scalar(select(Proposal).where(Proposal.title == "Water tank"))
        clinic = db.scalar(select(Proposal).where(Proposal.title == "Clinic roof"))
        goals = db.scalar(select(Proposal).where(Proposal.title == "Goal posts"))
        assert (tank.code, tank.titles, tank.category, tank.status) == (
            1, {"sw": "Tangi la maji"}, "water", "submitted")
        assert (clinic.titles, clinic.category) == ({}, None)

    # bad proposals are explained and not stored
    for data, message in (({"title": "Too dear", "cost": "2,000,000"}, "more than the whole"),
                          ({"title": "", "cost": "10"}, "a title needs"),
                          ({"title": "Free", "cost": "ten"}, "the cost is a whole number")):
        response = post(client, add, data, page=page_path)
        assert response.status_code == 400 and message in text(response), message

    # voting needs an accepted proposal; publishing is not a next step
    phase = f"{page_path}/phase"
    response = post(client, phase, {"to": "voting"}, page=page_path)
    assert response.status_code == 400
    assert "voting needs at least one accepted proposal" in text(response)
    response = post(client, phase, {"to": "published"}, page=page_path)
    assert response.status_code == 400
    assert "a cycle in proposals cannot move to published" in text(response)
    assert post(client, phase, {"to": "review"}, page=page_path).status_code == 302

    review = f"{page_path}/proposals/{{}}/review"
    response = post(client, review.format(clinic.id), {"decision": "reject", "reason": " "},
                    page=page_path)
    assert response.status_code == 400 and "a rejection needs a reason" in text(response)
    for proposal_id, data in ((tank.id, {"decision": "accept"}),
                              (goals.id, {"decision": "accept"}),
                              (clinic.id, {"decision": "reject",
                                           "reason": "The clinic is already funded"})):
        assert post(client, review.format(proposal_id), data,
                    page=page_path).status_code == 302
    page = text(client.get(page_path))
    assert "rejected</span>: The clinic is already funded" in page
    for button in ("Reopen proposals", "Open voting"):
        assert f'">{button}</button>' in page
    assert post(client, phase, {"to": "voting"}, page=page_path).status_code == 302
    page = text(client.get(page_path))
    assert "the cycle is now in phase voting" in page
    assert "Add a proposal" not in page and 'value="accept"' not in page
    assert '">Close voting</button>' in page and "Open voting" not in page

    with runtime.sessions() as db:
        officer = db.scalar(select(User).where(User.role == "officer"))
        entries = db.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert {(e.user_id, e.organization_id) for e in entries} == {
            (officer.id, officer.organization_id)}
    actions = [(action, detail.get("code"), detail.get("to"))
               for action, _, detail in audit_actions(runtime)]
    assert actions == [
        ("cycle.create", None, None),
        ("proposal.add", 1, None), ("proposal.add", 2, None), ("proposal.add", 3, None),
        ("cycle.phase", None, "review"),
        ("proposal.accept", 1, "accepted"), ("proposal.accept", 3, "accepted"),
        ("proposal.reject", 2, "rejected"),
        ("cycle.phase", None, "voting"),
    ]
    create = audit_actions(runtime)[0][2]
    assert create == {"name": "Kasikeu 2026/27", "round": "2026/27", "place": "ward 0437",
                      "budget": 1_000_000, "ballot_type": "k_approval", "max_choices": 2,
                      "points": None, "voter_key": "national_id", "rule": "greedy"}
    assert audit_actions(runtime)[7][2]["reason"] == "The clinic is already funded"


@pytest.mark.parametrize(("change", "message"), [
    ({"ballot_type": "k_approval", "max_choices": ""}, "k-approval needs the number of choices"),
    ({"ballot_type": "cumulative", "points": "0"}, "cumulative ballots need the number of points"),
    ({"budget": "a lot"}, "the budget is a whole number"),
    ({"budget": "0"}, "the budget must be positive"),
    ({"name": " "}, "a cycle needs a name and a round"),
    ({"place_id": "999999"}, "choose a place of this organization"),
    ({"ballot_type": "ranked"}, "choose a ballot type from the list"),
    ({"rule": "borda"}, "the rule is mes or greedy"),
])
def test_cycle_form_explains_what_is_wrong(client, runtime, draft, change, message):
    signed_in(client, runtime, "officer")
    form = {"name": "Mbooni 2026/27", "round": "2026/27", "place_id": str(draft.ward_ids["0432"]),
            "budget": "500000", "ballot_type": "approval", "voter_key": "phone",
            "rule": "mes"} | change
    response = post(client, f"{CYCLES}/new", form)
    assert response.status_code == 400 and message in text(response)
    assert 'role="alert"' in text(response)
    with runtime.sessions() as db:
        assert len(db.scalars(select(Cycle)).all()) == 1
    assert audit_actions(runtime) == []


def test_officer_closes_reopens_and_publishes(client, runtime, pb):
    from app.db.models import OutboxMessage, SendLane

    vote(runtime, pb, {1: 1}, "+254700000777")
    signed_in(client, runtime, "officer")
    base = f"{CYCLES}/{pb.cycle_id}"
    for target in ("closed", "voting", "closed", "published"):
        assert post(client, f"{base}/phase", {"to": target}, page=base).status_code == 302
    with runtime.sessions() as db:  # publishing told the voter the winners, once
        notices = [(m.msisdn, m.lane, m.body) for m in db.query(OutboxMessage)]
    assert notices == [("+254700000777", SendLane.NOTICE,
                        "Results of Tulimani 2026/27: funded projects 1. Thank you for voting.")]
    page = text(client.get(base))
    assert "Public results page" in page and "<button" not in page.split("Phase</h2>")[1] \
        .split("Proposals</h2>")[0]
    response = post(client, f"{base}/phase", {"to": "voting"}, page=base)
    assert response.status_code == 400 and "cannot move to voting" in text(response)
    assert [d["to"] for a, _, d in audit_actions(runtime)] == ["closed", "voting", "closed",
                                                               "published"]


# --- results ---------------------------------------------------------------------------------

def cast_four(runtime, pb) -> list[str]:
    selections = [{1: 1, 3: 1}, {1: 1, 2: 1}, {3: 1, 4: 1}, {1: 1}]
    return [vote(runtime, pb, s, f"+25470000010{i}") for i, s in enumerate(selections)]


def rows(html: str) -> list[tuple[str, str, str]]:
    """(code, result, funded so far) of each chart row, and the funded line, in page order."""
    table = html.split('<table class="results">', 1)[1].split("</table>", 1)[0]
    found = []
    for row in re.findall(r"<tr class=\"([\w-]+)\">(.*?)</tr>", table, re.S):
        kind, body = row
        if kind == "funded-line":
            found.append(("line", "", re.sub(r"<[^>]+>", "", body).strip()))
            continue
        cells = [re.sub(r"<[^>]+>|\s+", " ", c).strip()
                 for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", body, re.S)]
        found.append((cells[0], cells[4], cells[5]))
    return found


def test_results_page_shows_support_the_funded_line_and_compares_rules(client, runtime, pb):
    cast_four(runtime, pb)
    signed_in(client, runtime, "approver")
    base = f"{CYCLES}/{pb.cycle_id}/results"
    greedy = text(client.get(f"{base}?rule=greedy"))
    # support: 1=3, 3=2, 2=1, 4=1: greedy funds 1 then 3 (650K); 2 and 4 no longer fit
    assert rows(greedy) == [
        ("1", "Funded", "KES 400,000"), ("3", "Funded", "KES 650,000"),
        ("line", "", "Funded line: KES 650,000 of KES 700,000 funded, KES 50,000 left"),
        ("2", "Not funded", ""), ("4", "Not funded", "")]
    assert "<dt>Ballots counted</dt><dd>4</dd>" in greedy
    assert "<dt>Funded</dt><dd>KES 650,000 of KES 700,000</dd>" in greedy
    assert "Greedy: most support first" in greedy
    assert "(for comparison: this cycle counts by Method of Equal Shares (add1))" in greedy
    assert 'width="100.0"' in greedy and 'width="66.67"' in greedy  # 3 and 2 of 3 approvals
    assert "Voting is still open" in greedy
    mes = text(client.get(base))
    assert "Method of Equal Shares, completed by add1" in mes and "for comparison" not in mes
    assert """aria-current="page">Method of Equal Shares (add1) (the cycle's rule)""" in mes
    # MES (175K a voter): 1's three backers pay for it; 4 (150K) fits its one backer's share;
    # what 3's two backers have left then does not reach 250K
    assert rows(mes) == [
        ("1", "Funded", "KES 400,000"), ("4", "Funded", "KES 550,000"),
        ("line", "", "Funded line: KES 550,000 of KES 700,000 funded, KES 150,000 left"),
        ("3", "Not funded", ""), ("2", "Not funded", "")]
    assert "style=" not in mes  # the Content-Security-Policy allows no inline styles


def test_results_wait_for_voting(client, runtime, draft):
    signed_in(client, runtime, "officer")
    base = f"{CYCLES}/{draft.cycle_id}"
    response = client.get(f"{base}/results")
    assert response.status_code == 302 and response.location == base
    assert "Results are counted once voting opens." in text(client.get(base))


def test_turnout_page_hides_small_groups(client, runtime, pb):
    cast_four(runtime, pb)
    signed_in(client, runtime, "officer")
    page = text(client.get(f"{CYCLES}/{pb.cycle_id}/turnout"))
    assert "Residents who voted by phone: <strong>4</strong>" in page
    # 4 voters in all: no group can be shown, not even which is small
    counts = re.findall(r'<td class="num">([^<]+)</td>', page)
    assert set(counts) == {"hidden", "4"}  # the cells, then each table's total
    assert "+2547" not in page


# --- the public results page -----------------------------------------------------------------

PUBLIC = "/results/makueni"


def test_public_results_exist_only_once_published(client, runtime, pb):
    cast_four(runtime, pb)
    page = f"{PUBLIC}/{pb.cycle_id}"
    assert client.get(page).status_code == 404  # voting
    move(runtime, pb.cycle_id, Phase.CLOSED)
    assert client.get(page).status_code == 404
    assert "No results have been published yet." in text(client.get(PUBLIC))
    move(runtime, pb.cycle_id, Phase.PUBLISHED)
    response = client.get(page)
    assert response.status_code == 200
    html = text(response)
    winners = html.split('<ol class="winners"', 1)[1].split("</ol>", 1)[0]
    # the cycle's rule, MES (see the console results test)
    assert re.findall(r"<li>(\d+)\. ([^:]+):", winners) == [
        ("1", "Borehole at Kalawa market"), ("4", "Street lights")]
    assert "Funded line: KES 550,000 of KES 700,000 funded" in html
    assert "<dt>Ballots counted</dt><dd>4</dd>" in html
    assert "Tulimani 2026/27" in text(client.get(PUBLIC))
    assert "Content-Security-Policy" in response.headers
    assert client.get(f"/results/nandi/{pb.cycle_id}").status_code == 404
    assert client.get("/results/nowhere").status_code == 404


def test_receipt_check_says_counted_or_not_found_and_nothing_else(client, runtime, pb):
    receipts = cast_four(runtime, pb)
    vote(runtime, pb, {4: 1}, "+254700000103")  # the 4th voter changes their vote
    move(runtime, pb.cycle_id, Phase.CLOSED, Phase.PUBLISHED)
    page = f"{PUBLIC}/{pb.cycle_id}"
    token = csrf_token(client, page)

    def check(receipt: str) -> str:
        response = client.post(page, data={"csrf_token": token, "receipt": receipt})
        assert response.status_code == 200
        return re.sub(r'name="csrf_token" value="[^"]+"', "", text(response))

    first, second = check(receipts[0]), check(f" {receipts[1][:5]} {receipts[1][5:]} ")
    assert "Counted: the ballot with receipt" in first
    assert "Counted" in second
    # voters who chose differently get the very same page but for their receipt's digits
    typed = f"{receipts[1][:5]} {receipts[1][5:]}"
    assert first.replace(receipts[0], "R") == second.replace(typed, "R")
    for wrong in (receipts[3], "12345", "0000000000", "<script>"):  # replaced, short, unknown
        answer = check(wrong)
        assert "Not found: no ballot with receipt" in answer and "Counted:" not in answer
    assert "&lt;script&gt;" in check("<script>")
    assert client.post(page, data={"receipt": receipts[0]}).status_code == 400  # no token


def test_a_receipt_from_another_cycle_is_not_found(client, runtime, pb):
    receipt = vote(runtime, pb, {1: 1}, "+254700000200")
    with runtime.sessions.begin() as db:
        first = db.get(Cycle, pb.cycle_id)
        other = cycles.create_cycle(db, organization_id=first.organization_id, name="Other",
                                    round_name="other", place=first.place, budget=100,
                                    ballot_type="approval")
        cycles.move(first, Phase.CLOSED)
        cycles.move(first, Phase.PUBLISHED)
        other.phase = Phase.PUBLISHED  # results of a cycle nobody voted in
        other_id = other.id
    page = f"{PUBLIC}/{other_id}"
    answer = client.post(page, data={"csrf_token": csrf_token(client, page),
                                      "receipt": receipt})
    assert "Not found" in text(answer) and "No proposal was funded." in text(answer)
