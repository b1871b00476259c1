"""Voting by USSD, driven with raw forms exactly as AT posts them, on both stacks."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import inspect, select, text

from app.db.base import Base
from app.db.models import (
    Ballot,
    Contact,
    Cycle,
    OutboxStatus,
    Phase,
    Place,
    SendLane,
    VoterPlace,
    VoterProfile,
)
from app.engine import Lookup
from app.engine.flow import Call, Input, Menu
from app.engine.runner import Engine, Position, State
from app.i18n import Catalogs
from app.pb import ballots, cycles, proposals
from app.pb.drafts import Draft, MemoryDraftStore
from app.pb.flow_support import PbFlows
from app.runtime import load_checked_flows
from app.services import places
from app.services.flow_host import build_capabilities
from app.services.organizations import organization_by_code
from app.settings import Settings
from tests.factories import add_contact
from tests.pb_phone import PHONE, Phone, forget_session
from tests.pb_support import WARDS, add_cycle, move, stored_ballots, tag
from tests.sms_support import outbox, run_jobs

OTHER_PHONE = "+254722000111"
FIRST_TIME = ("1", "2", "2", "1")  # vote, Mbooni sub-county, Tulimani ward, yes
NAV = "0. Back\n00. Main menu"
BALLOT_START = ("CON Budget left: KES 700K\nPick a number; again to remove.\n99. Done\n"
                "1. Borehole at Kalawa 400K\n98. More\n" + NAV)
NOT_OPEN = ("END Budget voting is not open here yet. When it opens you will be able to vote "
            "from this menu.")




def receipt_in(screen: str) -> str:
    digits = [w.strip(".") for w in screen.split() if w.strip(".").isdigit()]
    assert digits and len(digits[-1]) == 10, screen
    return digits[-1]


def register(runtime, fixture, identity: str, ward: str) -> None:
    with runtime.sessions.begin() as db:
        cycle = db.get(Cycle, fixture.cycle_id)
        ballots.register_place(db, runtime.keyring, cycle.organization_id, cycle.round,
                               identity, db.get(Place, fixture.ward_ids[ward]))


@pytest.fixture
def voter(client, runtime):
    return Phone(client)


# -- each ballot type -----------------------------------------------------------------------


def test_first_time_voter_picks_a_ward_and_votes_within_the_budget(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    assert voter.dial().startswith("CON Makueni County\n1. Vote on the budget\n")
    assert voter.press("1") == "CON Choose your sub-county\n1. Kilome\n2. Mbooni\n" + NAV
    assert voter.press("2") == "CON Choose your ward\n1. Mbooni\n2. Tulimani\n" + NAV
    assert voter.press("2") == ("CON Vote in Tulimani? It stays your ward for this vote.\n"
                                "1. Yes\n2. Choose another ward\n" + NAV)
    assert voter.press("1") == BALLOT_START
    # "99. Done" is pinned on every page
    assert voter.press("98") == ("CON Budget left: KES 700K\nPick a number; again to remove.\n"
                                 "99. Done\n2. Maternity ward 300K\n3. Footbridge on 250K\n"
                                 "98. More\n" + NAV)
    assert voter.press("1") == ("CON Budget left: KES 300K\n99. Done\n"
                                "1. *Borehole at Kalawa 400K\n2. Maternity ward 300K\n"
                                "3. Footbridge on 250K\n98. More\n" + NAV)
    assert voter.press("3").startswith("CON Budget left: KES 50K\n99. Done\n1. *Borehole")
    # 400K + 250K + 300K does not fit in 700K: refused, the selection stays as it was
    assert voter.press("2") == ("CON Over budget by KES 250K.\nBudget left: KES 50K\n99. Done\n"
                                "1. *Borehole at Kalawa 400K\n2. Maternity ward 300K\n98. More\n"
                                + NAV)
    assert voter.press("99") == ("CON You chose 1, 3\nCost: KES 650K of 700K\n"
                                 "1. Confirm\n2. Change\n" + NAV)
    assert stored_ballots(runtime, fx.cycle_id) == []  # nothing is recorded before confirming
    consent = voter.press("1")
    receipt = receipt_in(consent.split("\n")[0])
    assert consent == (f"CON Vote recorded. Receipt: {receipt}\n3 optional questions for "
                       f"statistics? Kept apart from your vote.\n1. Yes\n2. No\n" + NAV)
    assert stored_ballots(runtime, fx.cycle_id) == [(tag(runtime, fx.cycle_id, receipt), 1,
                                                   {1: 1, 3: 1}, "ussd")]
    run_jobs(runtime)
    [sms] = outbox(runtime)
    assert (sms.msisdn, sms.lane, sms.status, sms.body) == (
        PHONE, SendLane.REPLY, OutboxStatus.SENT,
        f"Your vote in Tulimani 2026/27 is recorded. Receipt: {receipt}. To check it, send "
        f"RECEIPT {receipt} to 40014.")
    with runtime.sessions() as db:
        assert db.scalar(select(Contact.ward_id)) == fx.ward_ids["0431"]
        assert db.scalar(select(VoterPlace.place_id)) == fx.ward_ids["0431"]


def test_k_approval_refuses_a_fourth_choice(runtime, voter):
    fx = add_cycle(runtime, ballot_type="k_approval", max_choices=3)
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    assert voter.press(*FIRST_TIME).startswith("CON Choices left: 3 of 3\nPick a number;")
    assert voter.press("1", "2").startswith("CON Choices left: 1 of 3\n99. Done\n")
    voter.press("98", "3")
    assert voter.press("4").startswith("CON At most 3 choices.\nChoices left: 0 of 3\n")
    assert voter.press("99") == "CON You chose 1, 2, 3 (3 of 3)\n1. Confirm\n2. Change\n" + NAV
    receipt = receipt_in(voter.press("1").split("\n")[0])
    assert stored_ballots(runtime, fx.cycle_id) == [(tag(runtime, fx.cycle_id, receipt), 1,
                                                   {1: 1, 2: 1, 3: 1}, "ussd")]


def test_choose_one_goes_to_the_summary_and_a_later_change_counts(runtime, voter):
    fx = add_cycle(runtime, ballot_type="choose_one")
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    assert voter.press(*FIRST_TIME) == ("CON Choose one project:\n99. Done\n"
                                        "1. Borehole at Kalawa 400K\n2. Maternity ward 300K\n"
                                        "3. Footbridge on 250K\n98. More\n" + NAV)
    assert voter.press("2") == ("CON You chose 2. Maternity ward beds\n1. Confirm\n2. Change\n"
                                + NAV)
    first = receipt_in(voter.press("1").split("\n")[0])
    voter.press("2")  # no questions
    # Dialling again: the current ballot is shown, and may be changed until voting closes
    voter.dial()
    assert voter.press("1") == ("CON You voted; * marks your choices.\nChoose one project:\n"
                                "99. Done\n1. Borehole at Kalawa 400K\n98. More\n" + NAV)
    assert voter.press("98").startswith("CON You voted; * marks your choices.\n"
                                        "Choose one project:\n99. Done\n"
                                        "2. *Maternity ward 300K\n")
    assert voter.press("4") == ("CON You chose 4. Street lights\n1. Confirm\n2. Change\n" + NAV)
    final = voter.press("1")  # profile questions are asked once only
    second = receipt_in(final)
    assert final == f"END Thank you. Your vote is recorded. Receipt: {second}"
    assert second != first
    assert stored_ballots(runtime, fx.cycle_id) == [(tag(runtime, fx.cycle_id, second), 2, {4: 1},
                                                   "ussd")]
    with runtime.sessions() as db:
        assert ballots.ballot_by_receipt(db, runtime.keyring, fx.organization_id, first) is None


def test_cumulative_points_are_asked_for_each_pick(runtime, voter):
    fx = add_cycle(runtime, ballot_type="cumulative", points=10)
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    assert voter.press(*FIRST_TIME).startswith(
        "CON Points left: 10 of 10\nPick a project to give points.\n99. Done\n")
    # "0" is an answer here, not "back": no navigation lines
    assert voter.press("1") == ("CON 1. Borehole at Kalawa: 0 now, 10 left.\n"
                                "How many points? 0 removes it.")
    assert voter.press("x") == ("CON Please use numbers only.\n1. Borehole at Kalawa: 0 now, "
                                "10 left.\nHow many points? 0 removes it.")
    assert voter.press("6").startswith("CON Points left: 4 of 10\n99. Done\n"
                                       "1. *Borehole at Kalawa 400K (6)\n")
    voter.press("2")
    assert voter.press("5").startswith("CON Only 4 points left.\nPoints left: 4 of 10\n")
    voter.press("2", "0")  # 0 removes (it was not there: nothing changes)
    voter.press("3", "4")
    voter.press("1")
    assert voter.press("0").startswith("CON Points left: 6 of 10\n")  # 0 removed project 1
    voter.press("1", "6")
    assert voter.press("99") == ("CON Your points: 1=6, 3=4 (10 of 10 points)\n1. Confirm\n"
                                 "2. Change\n" + NAV)
    receipt = receipt_in(voter.press("1").split("\n")[0])
    assert stored_ballots(runtime, fx.cycle_id) == [(tag(runtime, fx.cycle_id, receipt), 1,
                                                   {1: 6, 3: 4}, "ussd")]


def test_kiswahili_voter_sees_every_screen_in_kiswahili(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "sw")
    voter.dial()
    voter.press("1", "2")
    assert voter.press("2") == ("CON Upige kura katika Tulimani? Itabaki wadi yako kwa kura hii."
                                "\n1. Ndiyo\n2. Chagua wadi nyingine\n0. Rudi\n00. Menyu kuu")
    voter.press("1", "1", "3")
    # refused: the page holding the proposal just tried is shown, under the notice
    assert voter.press("2") == ("CON Imezidi bajeti kwa KES 250K.\nBajeti iliyobaki: KES 50K\n"
                                "99. Maliza\n2. Maternity ward 300K\n98. Zaidi\n0. Rudi\n"
                                "00. Menyu kuu")
    assert voter.press("99") == ("CON Umechagua 1, 3\nGharama: KES 650K kati ya 700K\n"
                                 "1. Thibitisha\n2. Badilisha\n0. Rudi\n00. Menyu kuu")
    receipt = receipt_in(voter.press("1").split("\n")[0])
    assert voter.press("2") == f"END Asante. Kura yako imerekodiwa. Risiti: {receipt}"
    run_jobs(runtime)
    [sms] = outbox(runtime)
    assert sms.body == (f"Kura yako katika Tulimani 2026/27 imerekodiwa. Risiti: {receipt}. "
                        f"Kuiangalia, tuma RISITI {receipt} kwa 40014.")
    assert stored_ballots(runtime, fx.cycle_id)[0][2] == {1: 1, 3: 1}


# -- resume, retries, replays ---------------------------------------------------------------


def test_a_dropped_session_resumes_when_the_voter_dials_again(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    voter.press(*FIRST_TIME)
    voter.press("1", "3")  # then the call drops: no confirm
    assert stored_ballots(runtime, fx.cycle_id) == []
    voter.dial()  # a new sessionId, within ten minutes
    assert voter.press("1") == ("CON Your earlier choices are back.\nBudget left: KES 50K\n"
                                "99. Done\n1. *Borehole at Kalawa 400K\n98. More\n" + NAV)
    assert voter.press("99").startswith("CON You chose 1, 3\n")
    # Confirmed: the next session starts from the ballot, not from the draft
    voter.press("1", "2")
    voter.dial()
    assert voter.press("1").startswith("CON You voted; * marks your choices.\n")


def test_drafts_are_kept_ten_minutes(runtime, voter):
    now = [1000.0]
    store = MemoryDraftStore(clock=lambda: now[0])
    store.put("tag", Draft("s1", "1:1"))
    now[0] += 599
    assert store.get("tag") == Draft("s1", "1:1")
    now[0] += 2
    assert store.get("tag") is None
    if runtime.redis is not None:  # the real store: the same TTL, set by Redis
        add_cycle(runtime)
        add_contact(runtime, "makueni", PHONE, "en")
        voter.dial()
        voter.press(*FIRST_TIME, "1")
        [key] = runtime.redis.keys("baraza:pb:draft:*")
        assert 590 <= runtime.redis.ttl(key) <= 600
        assert PHONE.encode() not in key and PHONE[1:].encode() not in key


def test_a_session_replayed_from_its_text_does_not_toggle_twice(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    register(runtime, fx, PHONE, "0431")
    voter.dial()
    voter.press("1", "1", "3")  # a draft {1, 3} is kept for this voter
    forget_session(runtime, voter)
    assert voter.press("99") == "END Your session has expired. Please dial again."
    voter.dial()
    resumed = voter.press("1")  # a new session brings the unconfirmed choices back, once each
    assert "Your earlier choices are back." in resumed, resumed
    assert voter.press("99").startswith("CON You chose 1, 3\n")


def test_a_retried_or_replayed_confirm_counts_once(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    register(runtime, fx, PHONE, "0431")
    voter.dial()
    voter.press("1", "1", "99")
    consent = voter.press("1")
    assert voter.post() == consent  # AT retries the hop: the same bytes, nothing applied
    forget_session(runtime, voter)
    assert voter.post() == "END Your session has expired. Please dial again."  # nothing applied
    run_jobs(runtime)
    receipt = receipt_in(consent.split("\n")[0])
    assert stored_ballots(runtime, fx.cycle_id) == [(tag(runtime, fx.cycle_id, receipt), 1,
                                                   {1: 1}, "ussd")]
    assert len(outbox(runtime)) == 1


# -- places, phases ---------------------------------------------------------------------------


def test_registered_in_another_ward_ends_politely(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    register(runtime, fx, PHONE, "0432")  # Mbooni: Tulimani's cycle is not theirs
    voter.dial()
    assert voter.press("1") == ("END You vote in Mbooni this round, and no budget vote is open "
                                "there now.")


def test_a_ward_with_no_open_vote_registers_nothing(runtime, voter):
    add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    assert voter.press("1", "1", "1") == ("END There is no budget vote open in Kasikeu now. "
                                          "Please try again later.")
    voter.dial()
    voter.press("1", "2")
    assert voter.press("0") == "CON Choose your sub-county\n1. Kilome\n2. Mbooni\n" + NAV
    with runtime.sessions() as db:
        assert db.scalars(select(VoterPlace)).all() == []


def test_the_contacts_ward_is_offered_first(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    with runtime.sessions.begin() as db:
        db.scalar(select(Contact)).ward_id = fx.ward_ids["0431"]
    voter.dial()
    assert voter.press("1").startswith("CON Vote in Tulimani? ")
    assert voter.press("2") == "CON Choose your sub-county\n1. Kilome\n2. Mbooni\n" + NAV


def test_a_sub_county_cycle_serves_every_ward_beneath_it(client, runtime):
    fx = add_cycle(runtime, open_voting=False)  # Tulimani's own cycle stays closed
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        mbooni = places.place_by_code(db, org.id, "86", kind="subcounty")
        cycle = cycles.create_cycle(db, organization_id=org.id, name="Mbooni 2026/27",
                                    round_name="2026/27", place=mbooni, budget=1_000_000,
                                    ballot_type="approval")
        proposals.add_proposal(db, cycle, title="Water pans", cost=600_000, status="accepted")
        cycles.move(cycle, Phase.VOTING)
    for msisdn, ward in ((PHONE, "1"), (OTHER_PHONE, "2")):  # Mbooni ward, Tulimani ward
        add_contact(runtime, "makueni", msisdn, "en")
        phone = Phone(client, msisdn)
        phone.dial()
        assert phone.press("1", "2", ward, "1").startswith("CON Budget left: KES 1M\n")
        phone.press("1", "99", "1")
    with runtime.sessions() as db:
        assert len(db.scalars(select(Ballot).where(Ballot.cycle_id == cycle.id)).all()) == 2
    kasikeu = Phone(client, "+254733000222")
    add_contact(runtime, "makueni", kasikeu.msisdn, "en")
    kasikeu.dial()
    assert kasikeu.press("1", "1", "1").startswith("END There is no budget vote open in Kasikeu")
    assert fx.cycle_id != cycle.id


def test_no_open_cycle_ends_politely(runtime, voter):
    add_cycle(runtime, open_voting=False)
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    assert voter.press("1") == NOT_OPEN


def test_voting_closed_before_confirm_is_said_plainly(runtime, voter):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    voter.press(*FIRST_TIME, "1", "99")
    move(runtime, fx.cycle_id, Phase.CLOSED)
    assert voter.press("1") == "END Sorry, voting has closed. Your vote was not recorded."
    assert stored_ballots(runtime, fx.cycle_id) == []


def test_voting_closed_in_the_last_instant_gets_an_sms_apology(runtime, voter, monkeypatch):
    """The effect re-validates: a cycle closed between the check and the write records
    nothing, and the voter is told by SMS (the screen had already said thank you)."""
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    voter.dial()
    voter.press(*FIRST_TIME, "1", "99")
    move(runtime, fx.cycle_id, Phase.CLOSED)
    monkeypatch.setitem(runtime.capabilities.lookups, "pb_recheck", Lookup(lambda q: "ok"))
    voter.press("1")
    run_jobs(runtime)
    assert stored_ballots(runtime, fx.cycle_id) == []
    assert [m.body for m in outbox(runtime)] == [
        "Sorry, your vote in Tulimani 2026/27 was not recorded: voting has closed."]


# -- national ID numbers ---------------------------------------------------------------------


def test_national_id_mode_keys_the_ballot_on_the_id_and_stores_it_nowhere(client, runtime):
    national_id = "24681357"
    fx = add_cycle(runtime, voter_key="national_id")
    add_contact(runtime, "makueni", PHONE, "en")
    phone = Phone(client)
    phone.dial()
    assert phone.press("1") == ("CON This vote uses national ID numbers. Type your ID number:\n"
                                + NAV)
    assert phone.press("12ab").startswith("CON An ID number has 6 to 10 digits.\nThis vote")
    assert phone.press("2468-1357") == "CON Choose your sub-county\n1. Kilome\n2. Mbooni\n" + NAV
    phone.press("2", "2", "1", "1", "99")
    receipt = receipt_in(phone.press("1").split("\n")[0])
    phone.press("2")
    # Another phone, the same ID: the same voter, registered, with their ballot shown
    add_contact(runtime, "makueni", OTHER_PHONE, "en")
    other = Phone(client, OTHER_PHONE)
    other.dial()
    other.press("1")
    assert other.press(national_id).startswith("CON You voted; * marks your choices.\n")
    other.press("1", "3", "99", "1")
    [(latest, revision, choices, _)] = stored_ballots(runtime, fx.cycle_id)
    assert (revision, choices) == (2, {3: 1}) and latest != tag(runtime, fx.cycle_id, receipt)
    with runtime.sessions() as db:
        cycle = db.get(Cycle, fx.cycle_id)
        assert ballots.selection_of(db, runtime.keyring, cycle, national_id) == {3: 1}
    _assert_nowhere_in_the_database(runtime, national_id)


def _assert_nowhere_in_the_database(runtime, secret: str) -> None:
    hashed = {hashlib.sha256(secret.encode()).hexdigest(), hashlib.md5(secret.encode()).hexdigest()}
    with runtime.db.connect() as connection:
        tables = inspect(connection).get_table_names()
        assert {"ballots", "voter_places", "contacts", "outbox_messages"} <= set(tables)
        for table in tables:
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                for value in map(str, row):
                    assert secret not in value and value not in hashed, (table, value)
    assert set(tables) >= {t.name for t in Base.metadata.sorted_tables} - {"alembic_version"}


# -- profile questions -----------------------------------------------------------------------


def test_profile_questions_are_asked_once_and_each_can_be_skipped(client, runtime):
    fx = add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    phone = Phone(client)
    phone.dial()
    phone.press(*FIRST_TIME, "1", "99", "1")
    assert phone.press("1") == ("CON Are you:\n1. Female\n2. Male\n3. Other\n4. Skip\n" + NAV)
    assert phone.press("1").startswith("CON Your age:\n1. Under 18\n2. 18-24\n")
    assert phone.press("7") == ("CON A lot of difficulty, or unable to: see, hear, walk, "
                                "remember, self-care or communicate?\n1. Yes\n2. No\n3. Skip\n"
                                + NAV)
    assert phone.press("2").startswith("END Thank you. Your vote is recorded. Receipt: ")
    # Declining stores "skipped": nobody is asked twice
    add_contact(runtime, "makueni", OTHER_PHONE, "en")
    other = Phone(client, OTHER_PHONE)
    other.dial()
    other.press(*FIRST_TIME, "2", "99", "1")
    assert other.press("2").startswith("END Thank you. Your vote is recorded. Receipt: ")
    other.dial()
    assert other.press("1", "4", "99", "1").startswith("END Thank you. Your vote is recorded.")
    with runtime.sessions() as db:
        rows = db.execute(select(Contact, VoterProfile)
                          .join(VoterProfile, VoterProfile.contact_id == Contact.id))
        profiles = {(c.msisdn, p.gender, p.age_band, p.disability) for c, p in rows}
        assert profiles == {(PHONE, "female", "skipped", "no"),
                            (OTHER_PHONE, "skipped", "skipped", "skipped")}
    with runtime.db.connect() as connection:  # a profile names a contact, never a ballot
        columns = {c["name"] for c in inspect(connection).get_columns("voter_profiles")}
        assert not {c for c in columns if "ballot" in c or "cycle" in c}
    assert len(stored_ballots(runtime, fx.cycle_id)) == 2


# -- screens ---------------------------------------------------------------------------------


STATIC_MENUS = ("confirm_ward", "summary", "consent", "gender", "age", "disability")


@pytest.mark.parametrize("language", ["en", "sw"])
def test_short_menus_of_the_vote_flow_never_page(language):
    """At their longest, these menus show every option on one screen (no "98. More")."""
    settings = Settings()
    catalogs = Catalogs(settings.locales_dir)
    caps = build_capabilities(PbFlows())
    flows = load_checked_flows(settings, catalogs, caps)
    engine = Engine(flows, caps, catalogs.gettext_for, settings.ussd_max_chars)
    widest = {n.save: "W" * caps.lookups[n.call].max_length
              for n in flows["vote"].nodes.values() if isinstance(n, Call) and n.save}
    widest.update({n.save: "W" * n.max_length for n in flows["vote"].nodes.values()
                   if isinstance(n, Input)})
    for node in STATIC_MENUS:
        assert isinstance(flows["vote"].nodes[node], Menu)
        state = State(Position("vote", node), PHONE, language, widest, {},
                      (Position("main", "menu"),))
        screen = engine.resume(state, "x").reply.text
        assert "\n98. " not in screen and len(screen) <= 156, (node, screen)


def test_every_ward_of_the_fixture_is_listed_once(client, runtime, voter):
    add_cycle(runtime)
    add_contact(runtime, "makueni", PHONE, "en")
    listed = []
    for sub in ("1", "2"):
        voter.dial()
        screen = voter.press("1", sub)
        listed += [line.split(". ", 1)[1] for line in screen.split("\n")[1:]
                   if line[0].isdigit() and not line.startswith("0")]
    assert sorted(listed) == sorted(w["ward_name"] for w in WARDS)
