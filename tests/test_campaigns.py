"""Bulk SMS campaigns: audiences, preview, four eyes, materialise, quiet hours, cancel, CLI."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, text, update

from app.campaigns import lifecycle
from app.campaigns.audience import (
    Audience,
    AudienceError,
    read_numbers_csv,
    recipient_pages,
    resolve,
    ward_ids_by_code,
)
from app.campaigns.materialise import (
    LOST_AFTER,
    RESCAN_AFTER,
    advance,
    lost_work,
    materialise,
    next_wave,
)
from app.campaigns.message_text import Encoding, Price
from app.campaigns.preview import preview
from app.campaigns.progress import progress
from app.campaigns.runner import run_advance, start_chain
from app.db.base import utcnow
from app.db.models import (
    AuditEntry,
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    OutboxMessage,
    OutboxStatus,
    Participation,
    PmcMember,
    Project,
    Role,
    SendLane,
    SmsSuppression,
    User,
)
from app.services import accounts, contacts, outbox_relay
from app.services.organizations import organization_by_code
from app.tickets.workflow import change_status
from tests.pb_support import add_cycle
from tests.pmc_support import ok, run
from tests.sms_support import run_jobs
from tests.ticket_support import open_one, ticket

WANJIRU, MUTUA, KIOKO, NDUKU, ATIENO = (f"+25471200000{i}" for i in range(1, 6))
NANDI_RESIDENT = "+254712000099"
PASSWORD = "correct horse battery"
OFFICER, APPROVER, APPROVER_2, AGENT = ("officer@makueni.go.ke", "approver@makueni.go.ke",
                                        "approver2@makueni.go.ke", "agent@makueni.go.ke")
MESSAGES = {"en": "Hello {name} of {ward}: budget forum on Monday. {org}",
            "sw": "Habari {name} wa {ward}: baraza la bajeti Jumatatu. {org}"}
OPEN_ALWAYS = "00:00-00:00"
NAIROBI_9AM = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
NAIROBI_7PM = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    organization_id: int
    cycle_id: int
    users: dict[str, int]


@pytest.fixture
def world(runtime) -> World:
    """Makueni with wards, a cycle, users of each role and five residents:
    Wanjiru (en, Tulimani, voted), Mutua (sw, Mbooni, PMC member), Kioko (no language, Kasikeu),
    Nduku (sw, Kasikeu, opted out), Atieno (en, no ward, on the suppression list)."""
    fixture = add_cycle(runtime)
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        nandi = organization_by_code(db, "nandi")
        users = {email: accounts.create_user(db, email, email.split("@")[0], role, org.id,
                                             PASSWORD).id
                 for email, role in ((OFFICER, Role.OFFICER), (APPROVER, Role.APPROVER),
                                     (APPROVER_2, Role.APPROVER), (AGENT, Role.AGENT))}
        people = [(WANJIRU, "Wanjiru", "en", "0431"), (MUTUA, "Mutua", "sw", "0432"),
                  (KIOKO, "Kioko", None, "0437"), (NDUKU, "Nduku", "sw", "0437"),
                  (ATIENO, "Atieno", "en", None)]
        made = {}
        for msisdn, name, language, ward in people:
            contact = contacts.ensure_contact(db, org.id, msisdn)
            contact.name, contact.language = name, language
            contact.ward_id = fixture.ward_ids[ward] if ward else None
            made[msisdn] = contact
        made[NDUKU].opted_out = True
        db.add(SmsSuppression(organization_id=org.id, msisdn=ATIENO, source="stop"))
        contacts.ensure_contact(db, nandi.id, NANDI_RESIDENT)
        db.add(Participation(cycle_id=fixture.cycle_id, contact_id=made[WANJIRU].id))
        project = Project(organization_id=org.id, code="WOTE01", name="Wote market")
        db.add(project)
        db.flush()
        db.add(PmcMember(project_id=project.id, contact_id=made[MUTUA].id, name="Mutua"))
        db.add(PmcMember(project_id=project.id, contact_id=made[KIOKO].id, name="Kioko",
                         active=False))
    return World(fixture.organization_id, fixture.cycle_id, users)


def numbers_of(runtime, audience: Audience) -> list[str]:
    with runtime.sessions() as db:
        org = organization_by_code(db, "makueni")
        return [r.msisdn for r in resolve(db, org, audience).recipients]


def test_each_audience_filter(runtime, world):
    with runtime.sessions() as db:
        org = organization_by_code(db, "makueni")
        mbooni = ward_ids_by_code(db, org.id, ["86"])  # a sub-county: both its wards
        kasikeu = ward_ids_by_code(db, org.id, ["0437"])
        with pytest.raises(AudienceError, match="no place with code 9999"):
            ward_ids_by_code(db, org.id, ["9999"])
        resolved = resolve(db, org, Audience(everyone=True))
        assert (resolved.opted_out, resolved.suppressed) == (1, 1)
    assert numbers_of(runtime, Audience(everyone=True)) == [WANJIRU, MUTUA, KIOKO]
    assert numbers_of(runtime, Audience(ward_ids=mbooni)) == [WANJIRU, MUTUA]
    assert numbers_of(runtime, Audience(ward_ids=kasikeu)) == [KIOKO]
    assert numbers_of(runtime, Audience(language="sw")) == [MUTUA]
    assert numbers_of(runtime, Audience(language="en")) == [WANJIRU, KIOKO]  # Kioko: default
    assert numbers_of(runtime, Audience(cycle_id=world.cycle_id)) == [WANJIRU]
    assert numbers_of(runtime, Audience(pmc=True)) == [MUTUA]  # Kioko's seat is inactive
    assert numbers_of(runtime, Audience(ward_ids=mbooni, language="sw")) == [MUTUA]
    assert numbers_of(runtime, Audience(open_complaints=True)) == []


def test_people_with_open_complaints_are_an_audience(runtime, world):
    still_open = open_one(runtime, org_code="makueni", msisdn=MUTUA, notify=False)
    settled = open_one(runtime, org_code="makueni", msisdn=KIOKO, notify=False)
    open_one(runtime, org_code="nandi", msisdn=WANJIRU, notify=False)  # another county's
    with runtime.sessions.begin() as db:
        change_status(db, runtime.desk, ticket(db, settled), "closed", None)
    assert still_open != settled
    assert numbers_of(runtime, Audience(open_complaints=True)) == [MUTUA]


def test_csv_numbers_are_normalised_and_bad_or_repeated_ones_counted(runtime, world):
    listed = read_numbers_csv("phone,name\n0712000001,Wanjiru\n+254712000011\n254712000011\n"
                              "0712 000 011\n12345\nhello\n\n0712000004\n", "KE")
    assert listed.numbers == (WANJIRU, "+254712000011", NDUKU)
    assert listed.invalid == ("12345", "hello")
    assert listed.duplicates == 2
    audience = Audience(everyone=True, numbers=listed.numbers, invalid_numbers=listed.invalid,
                        csv_duplicates=listed.duplicates)
    with runtime.sessions() as db:
        org = organization_by_code(db, "makueni")
        resolved = resolve(db, org, audience)
    assert [r.msisdn for r in resolved.recipients] == [WANJIRU, MUTUA, KIOKO, "+254712000011"]
    # Nduku is in the CSV but opted out; Wanjiru was already chosen by `everyone`.
    assert (resolved.opted_out, resolved.duplicates, resolved.invalid) == (2, 3, ("12345", "hello"))
    stranger = next(r for r in resolved.recipients if r.msisdn == "+254712000011")
    assert (stranger.contact_id, stranger.language) == (None, "en")


def test_preview_counts_languages_encoding_parts_and_cost(runtime, world):
    messages = {"en": "Budget forum on Monday at 10:00 in {ward}.",
                "sw": "Baraza la bajeti Jumatatu – karibu {name} 🙂"}
    with runtime.sessions() as db:
        org = organization_by_code(db, "makueni")
        result = preview(db, org, Audience(everyone=True, numbers=("+254712000011",),
                                           invalid_numbers=("12345",)),
                         messages, Price.parse("0.80 KES"), runtime.catalogs.gettext_for)
    assert (result.recipients, result.opted_out, result.suppressed, result.invalid) == \
        (4, 1, 1, ("12345",))
    en, sw = result.languages
    assert (en.language, en.recipients, sw.language, sw.recipients) == ("en", 3, "sw", 1)
    assert (en.check.encoding, en.check.parts, en.check.ucs2_characters) == \
        (Encoding.GSM7, 1, ())
    assert sw.check.encoding is Encoding.UCS2
    assert sw.check.ucs2_characters == ("–", "🙂")
    # 30-character names at their longest, plus " Jibu ACHA kusitisha" on a first message.
    assert (sw.check.parts, sw.first_check.parts, sw.first_messages) == (1, 2, 1)
    assert result.parts == 3 * 1 + 1 * 2
    assert (result.cost, result.cost_text) == (Decimal("4.00"), "KES 4.00")


def _create(runtime, by: str = OFFICER, audience: Audience | None = None,
            messages: dict[str, str] | None = None) -> int:
    with runtime.sessions.begin() as db:
        org = organization_by_code(db, "makueni")
        campaign = lifecycle.create(db, org, _user(db, by), "Budget forum",
                                    messages or MESSAGES, audience or Audience(everyone=True))
        return campaign.id


def _recipients(db, campaign_id: int) -> int:
    return db.scalar(select(func.count()).where(CampaignRecipient.campaign_id == campaign_id))


def _user(db, email: str) -> User:
    return accounts.user_by_email(db, email)


def _do(runtime, step, campaign_id: int, email: str):
    with runtime.sessions.begin() as db:
        campaign = db.get(Campaign, campaign_id)
        return step(db, campaign, _user(db, email))


def test_four_eyes_creator_and_non_approvers_cannot_approve(runtime, world):
    with pytest.raises(lifecycle.CampaignError, match="only admin, approver, officer may create"):
        _create(runtime, by=AGENT)
    own = _create(runtime, by=APPROVER)
    with pytest.raises(lifecycle.CampaignError, match="created a campaign cannot approve it"):
        _do(runtime, lifecycle.approve, own, APPROVER)
    campaign_id = _create(runtime)
    for email in (OFFICER, AGENT):
        with pytest.raises(lifecycle.CampaignError, match="only approver may approve"):
            _do(runtime, lifecycle.approve, campaign_id, email)
    _do(runtime, lifecycle.approve, campaign_id, APPROVER)
    with pytest.raises(lifecycle.CampaignError, match="cannot approve a campaign that is approved"):
        _do(runtime, lifecycle.approve, campaign_id, APPROVER_2)
    with runtime.sessions() as db:
        campaign = db.get(Campaign, campaign_id)
        assert (campaign.status, campaign.approved_by_id) == \
            (CampaignStatus.APPROVED, world.users[APPROVER])
        assert _recipients(db, campaign_id) == 0
        actions = db.scalars(select(AuditEntry.action)
                             .where(AuditEntry.entity_id == str(campaign_id))
                             .order_by(AuditEntry.id)).all()
    assert actions == ["campaign.create", "campaign.approve"]


def test_messages_with_unknown_placeholders_are_refused_at_creation(runtime, world):
    with pytest.raises(ValueError, match=r"\{nmae\}"):
        _create(runtime, messages={"en": "Hello {nmae}"})


class Crash(RuntimeError):
    pass


def test_materialise_is_restartable_and_renders_each_language(runtime, world):
    campaign_id = _create(runtime)
    _do(runtime, lifecycle.approve, campaign_id, APPROVER)
    calls = []

    def crashing_gettext_for(language):
        calls.append(language)
        if len(calls) > 2:
            raise Crash("worker killed")
        return runtime.catalogs.gettext_for(language)

    with pytest.raises(Crash):
        materialise(runtime.sessions, campaign_id, crashing_gettext_for, chunk_size=1)
    with runtime.sessions() as db:
        assert _recipients(db, campaign_id) == 2
    assert materialise(runtime.sessions, campaign_id, runtime.catalogs.gettext_for,
                       chunk_size=2) == 1
    assert materialise(runtime.sessions, campaign_id, runtime.catalogs.gettext_for) == 0
    with runtime.sessions() as db:
        campaign = db.get(Campaign, campaign_id)
        assert (campaign.status, campaign.recipient_count, campaign.materialised) == \
            (CampaignStatus.SENDING, 3, True)
        rows = {m.msisdn: m for m in db.scalars(
            select(OutboxMessage).where(OutboxMessage.campaign_id == campaign_id))}
        recipients = db.scalars(select(CampaignRecipient)
                                .where(CampaignRecipient.campaign_id == campaign_id)).all()
    assert sorted(rows) == [WANJIRU, MUTUA, KIOKO]
    assert {r.outbox_message_id for r in recipients} == {m.id for m in rows.values()}
    assert {m.lane for m in rows.values()} == {SendLane.CAMPAIGN}
    assert rows[WANJIRU].body == ("Hello Wanjiru of Tulimani: budget forum on Monday. "
                                  "Makueni County Reply STOP to stop")
    assert rows[MUTUA].body == ("Habari Mutua wa Mbooni: baraza la bajeti Jumatatu. "
                                "Makueni County Jibu ACHA kusitisha")
    assert rows[KIOKO].body.startswith("Hello Kioko of Kasikeu:")  # no language: the default

    # A second campaign to the same people: they were told how to stop already.
    second = _create(runtime)
    _do(runtime, lifecycle.approve, second, APPROVER)
    materialise(runtime.sessions, second, runtime.catalogs.gettext_for)
    with runtime.sessions() as db:
        bodies = db.scalars(select(OutboxMessage.body)
                            .where(OutboxMessage.campaign_id == second)).all()
    assert bodies and not any("STOP" in b or "ACHA" in b for b in bodies)


@pytest.mark.parametrize("page", [1, 2, 1000])
def test_materialise_writes_page_by_page_what_the_preview_resolves(runtime, world, page):
    """Pages of contacts by number, then of CSV numbers: the opted-out contact, the suppressed
    number and a number both chosen by the filters and listed are left out or written once."""
    listed = (WANJIRU, NDUKU, ATIENO, "+254712000011", "+254712000012")
    audience = Audience(everyone=True, numbers=listed)
    campaign_id = _create(runtime, audience=audience)
    _do(runtime, lifecycle.approve, campaign_id, APPROVER)
    with runtime.sessions() as db:
        org = organization_by_code(db, "makueni")
        expected = [r.msisdn for r in resolve(db, org, audience).recipients]
        pages = list(recipient_pages(runtime.sessions, org, audience, page))
    assert expected == [WANJIRU, MUTUA, KIOKO, "+254712000011", "+254712000012"]
    assert all(0 < len(p) <= page for p in pages)
    assert materialise(runtime.sessions, campaign_id, runtime.catalogs.gettext_for,
                       chunk_size=page) == len(expected)
    with runtime.sessions() as db:
        written = db.scalars(select(CampaignRecipient.msisdn)
                             .where(CampaignRecipient.campaign_id == campaign_id)).all()
        assert db.get(Campaign, campaign_id).recipient_count == len(expected)
    assert sorted(written) == sorted(expected)


class Recorder:
    """A dispatcher that only remembers what it was handed."""

    def __init__(self) -> None:
        self.handed: list[tuple[list[int], SendLane]] = []

    def send_sms(self, outbox_ids: Sequence[int], lane: SendLane, delay: int = 0) -> None:
        self.handed.append((list(outbox_ids), lane))


def _approved_and_written(runtime) -> int:
    campaign_id = _create(runtime)
    _do(runtime, lifecycle.approve, campaign_id, APPROVER)
    materialise(runtime.sessions, campaign_id, runtime.catalogs.gettext_for)
    return campaign_id


def test_quiet_hours_hold_campaign_rows_until_eight_with_a_fixed_clock(runtime, world):
    campaign_id = _approved_and_written(runtime)
    recorder = Recorder()
    assert advance(runtime.sessions, recorder, campaign_id, NAIROBI_7PM, "08:00-18:00") == \
        13 * 3600  # 19:00 -> 08:00 local
    assert recorder.handed == []
    assert advance(runtime.sessions, recorder, campaign_id, NAIROBI_9AM, "08:00-18:00",
                   wave=2) == 0
    assert advance(runtime.sessions, recorder, campaign_id, NAIROBI_9AM, "08:00-18:00",
                   wave=2) == 0
    runtime.sms_sender.send([i for ids, _ in recorder.handed for i in ids])  # their send jobs
    assert advance(runtime.sessions, recorder, campaign_id, NAIROBI_9AM, "08:00-18:00") is None
    assert [len(ids) for ids, _ in recorder.handed] == [2, 1]
    assert {lane for _, lane in recorder.handed} == {SendLane.CAMPAIGN}
    with runtime.sessions() as db:
        assert db.get(Campaign, campaign_id).status == CampaignStatus.COMPLETED


def test_rows_handed_over_but_never_sent_are_handed_over_again_before_completing(runtime,
                                                                                 world):
    """A send job lost or a worker killed before its batch leaves rows queued behind the
    cursor: the campaign is not completed while any is left, and they go again once."""
    campaign_id = _approved_and_written(runtime)
    recorder = Recorder()
    one = dict(now=NAIROBI_9AM, window=OPEN_ALWAYS, wave=2)
    assert advance(runtime.sessions, recorder, campaign_id, **one) == 0
    assert advance(runtime.sessions, recorder, campaign_id, **one) == 0
    [(first, _), (second, _)] = recorder.handed
    runtime.sms_sender.send(first[:1] + second)  # the first job died after its first batch
    assert advance(runtime.sessions, recorder, campaign_id, **one) == RESCAN_AFTER
    with runtime.sessions() as db:
        assert db.get(Campaign, campaign_id).status == CampaignStatus.SENDING
    assert advance(runtime.sessions, recorder, campaign_id, **one) == 0
    assert recorder.handed[2][0] == first[1:]  # only the row still queued
    runtime.sms_sender.send(recorder.handed[2][0])
    assert advance(runtime.sessions, recorder, campaign_id, **one) is None
    with runtime.sessions() as db:
        assert db.get(Campaign, campaign_id).status == CampaignStatus.COMPLETED
        attempts = db.scalars(select(OutboxMessage.attempts)
                              .where(OutboxMessage.campaign_id == campaign_id)).all()
    assert attempts == [1, 1, 1]


def test_pause_stops_waves_and_resume_carries_on(runtime, world):
    campaign_id = _approved_and_written(runtime)
    recorder = Recorder()
    _do(runtime, lifecycle.pause, campaign_id, OFFICER)
    assert advance(runtime.sessions, recorder, campaign_id, NAIROBI_9AM, OPEN_ALWAYS) is None
    assert recorder.handed == []
    with pytest.raises(lifecycle.CampaignError, match="cannot pause a campaign that is paused"):
        _do(runtime, lifecycle.pause, campaign_id, OFFICER)
    _do(runtime, lifecycle.resume, campaign_id, APPROVER)
    assert advance(runtime.sessions, recorder, campaign_id, NAIROBI_9AM, OPEN_ALWAYS) == 0
    assert len(recorder.handed[0][0]) == 3


def test_a_retry_met_by_a_pause_goes_back_to_its_campaign_not_the_relay(runtime, world):
    """The relay hands on retries whose job was lost, whatever their campaign's state and
    hours; a campaign row a send job leaves because its campaign is paused loses its retry,
    so only the campaign hands it over again: after the resume, inside its sending hours."""
    campaign_id = _approved_and_written(runtime)
    with runtime.sessions.begin() as db:
        retrying = db.scalars(select(OutboxMessage.id)
                              .where(OutboxMessage.campaign_id == campaign_id)).first()
        db.execute(update(OutboxMessage).where(OutboxMessage.id == retrying)
                   .values(attempts=1, next_attempt_at=utcnow()))  # its retry job is due
    _do(runtime, lifecycle.pause, campaign_id, OFFICER)
    assert runtime.sms_sender.send([retrying]).sent == 0  # the retry job meets the pause
    recorder = Recorder()
    assert outbox_relay.relay(runtime.sessions, recorder, utcnow() + timedelta(hours=1)) \
        .handed_on == 0
    _do(runtime, lifecycle.resume, campaign_id, APPROVER)
    assert advance(runtime.sessions, recorder, campaign_id, NAIROBI_9AM, OPEN_ALWAYS) == 0
    [(handed, _)] = recorder.handed
    assert retrying in handed


def test_a_job_of_an_older_chain_hands_nothing_over(runtime, world):
    """A second chain of advance jobs (a materialise job run again, a resume while a delayed
    step still waited) starts a new chain; the older chain's next job then ends. A retried
    job keeps its chain and carries on."""
    campaign_id = _approved_and_written(runtime)

    class Jobs:
        def __init__(self) -> None:
            self.queued: list[int | None] = []

        def materialise(self, campaign_id: int) -> None:
            raise AssertionError("not this step")

        def advance(self, campaign_id: int, delay: int = 0, chain: int | None = None) -> None:
            self.queued.append(chain)

    recorder = Recorder()
    first = start_chain(runtime.sessions, campaign_id)
    one = dict(now=NAIROBI_9AM, window=OPEN_ALWAYS, wave=1)
    assert advance(runtime.sessions, recorder, campaign_id, chain=first, **one) == 0
    assert advance(runtime.sessions, recorder, campaign_id, chain=first, **one) == 0  # retried
    second = start_chain(runtime.sessions, campaign_id)
    assert second != first
    assert advance(runtime.sessions, recorder, campaign_id, chain=first, **one) is None
    assert [len(ids) for ids, *_ in recorder.handed] == [1, 1]

    with runtime.sessions.begin() as db:  # run_advance reads the clock: no quiet hours
        organization_by_code(db, "makueni").campaign_hours = OPEN_ALWAYS
    jobs = Jobs()
    run_advance(runtime, jobs, campaign_id, first)  # the older chain's next job: ends
    assert jobs.queued == []
    run_advance(runtime, jobs, campaign_id, second)  # hands the last recipient over
    assert jobs.queued == [second]
    with runtime.sessions() as db:
        ids = db.scalars(select(OutboxMessage.id)
                         .where(OutboxMessage.campaign_id == campaign_id)).all()
    runtime.sms_sender.send(ids)  # the send jobs of the waves handed over
    run_advance(runtime, jobs, campaign_id)  # a start (the sweep): a chain of its own
    with runtime.sessions() as db:
        campaign = db.get(Campaign, campaign_id)
        assert (campaign.status, campaign.chain) == (CampaignStatus.COMPLETED, second + 1)


def test_cancel_stops_every_unsent_row(runtime, world):
    campaign_id = _approved_and_written(runtime)
    with runtime.sessions() as db:
        ids = db.scalars(select(OutboxMessage.id).where(OutboxMessage.campaign_id == campaign_id)
                         .order_by(OutboxMessage.id)).all()
    runtime.sms_sender.send(ids[:1])  # the console backend accepts it
    assert _do(runtime, lifecycle.cancel, campaign_id, OFFICER) == 2
    runtime.sms_sender.send(ids)  # a send job queued before the cancel changes nothing
    with runtime.sessions() as db:
        statuses = db.scalars(select(OutboxMessage.status).where(OutboxMessage.id.in_(ids))
                              .order_by(OutboxMessage.id)).all()
        state = progress(db, campaign_id)
    assert statuses == [OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.FAILED]
    assert (state.status, state.total, state.sent, state.cancelled, state.queued,
            state.percent) == ("cancelled", 3, 1, 2, 0, 100)
    recorder = Recorder()
    assert advance(runtime.sessions, recorder, campaign_id, NAIROBI_9AM, OPEN_ALWAYS) is None
    with pytest.raises(lifecycle.CampaignError, match="cannot resume"):
        _do(runtime, lifecycle.resume, campaign_id, OFFICER)


def test_cli_round_trip_from_draft_to_completed(runtime, world, monkeypatch, tmp_path):
    runtime.settings = runtime.settings.with_overrides(campaign_hours=OPEN_ALWAYS)
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("phone\n0712000011\nnot a number\n0712000011\n", encoding="utf-8")
    created = ok(run(runtime, monkeypatch, "sms", "campaign", "create", "--org", "makueni",
                     "--name", "Forum", "--by", OFFICER, "--ward", "86",
                     "--message-en", MESSAGES["en"], "--message-sw", MESSAGES["sw"],
                     "--csv", numbers))
    assert "recipients: 3 (removed: 0 opted out, 0 suppressed, 1 duplicates, 1 invalid)" in \
        created.output
    campaign_id = int(created.output.split()[1])
    shown = json.loads(ok(run(runtime, monkeypatch, "sms", "campaign", "preview",
                              campaign_id, "--org", "makueni", "--json")).output)
    assert (shown["recipients"], shown["invalid"]) == (3, ["not a number"])
    assert {lp["language"]: lp["recipients"] for lp in shown["languages"]} == {"en": 2, "sw": 1}
    refused = run(runtime, monkeypatch, "sms", "campaign", "approve", campaign_id,
                  "--org", "makueni", "--by", OFFICER)
    assert refused.exit_code != 0 and "only approver may approve" in refused.output
    ok(run(runtime, monkeypatch, "sms", "campaign", "approve", campaign_id, "--org", "makueni",
           "--by", APPROVER))
    run_jobs(runtime)  # materialise, waves, sends (done in process on the dev stack)
    status = ok(run(runtime, monkeypatch, "sms", "campaign", "status", campaign_id,
                    "--org", "makueni", "--watch", "--interval", "0.01"))
    assert "100% completed: 3 recipients, 0 queued, 3 sent" in status.output
    with runtime.sessions() as db:
        sent = db.scalars(select(OutboxMessage.msisdn).where(
            OutboxMessage.campaign_id == campaign_id, OutboxMessage.status == OutboxStatus.SENT)
            .order_by(OutboxMessage.msisdn)).all()
    assert sent == [WANJIRU, MUTUA, "+254712000011"]
    unknown = run(runtime, monkeypatch, "sms", "campaign", "status", 999, "--org", "makueni")
    assert unknown.exit_code != 0 and "no campaign 999" in unknown.output


def test_steps_lost_with_the_queue_are_found_and_nothing_is_sent_twice(runtime, world):
    campaign_id = _create(runtime)
    _do(runtime, lifecycle.approve, campaign_id, APPROVER)  # its materialise job is "lost"
    with runtime.sessions() as db:
        approved_at = db.get(Campaign, campaign_id).approved_at
    assert lost_work(runtime.sessions, approved_at + timedelta(minutes=1)) == ([], [])
    later = approved_at + LOST_AFTER + timedelta(minutes=1)
    assert lost_work(runtime.sessions, later) == ([campaign_id], [])
    materialise(runtime.sessions, campaign_id, runtime.catalogs.gettext_for)
    recorder = Recorder()  # hands a wave over, and the send jobs are lost
    assert advance(runtime.sessions, recorder, campaign_id, later, OPEN_ALWAYS) == 0
    [(first_wave, _)] = recorder.handed
    runtime.sms_sender.send(first_wave[:1])  # one send job did run before the loss
    much_later = later + LOST_AFTER + timedelta(minutes=1)
    assert lost_work(runtime.sessions, much_later) == ([], [campaign_id])
    assert advance(runtime.sessions, recorder, campaign_id, much_later, OPEN_ALWAYS) == 0
    assert sorted(recorder.handed[1][0]) == sorted(first_wave[1:])  # only the unclaimed ones
    runtime.sms_sender.send(first_wave)
    assert advance(runtime.sessions, recorder, campaign_id, much_later, OPEN_ALWAYS) is None
    with runtime.sessions() as db:
        state = progress(db, campaign_id)
        attempts = db.scalars(select(OutboxMessage.attempts)
                              .where(OutboxMessage.campaign_id == campaign_id)).all()
    assert (state.status, state.sent, state.queued) == ("completed", 3, 0)
    assert attempts == [1, 1, 1]
    assert lost_work(runtime.sessions, much_later + LOST_AFTER * 2) == ([], [])


def test_cli_creates_from_a_yaml_file_and_refuses_what_it_cannot_do(runtime, world, monkeypatch,
                                                                     tmp_path):
    (tmp_path / "extra.csv").write_text("0712000011\n", encoding="utf-8")
    spec = tmp_path / "forum.yaml"
    spec.write_text("name: PMC briefing\nmessages:\n  en: 'Dear {name}, PMC briefing Friday.'\n"
                    "  sw: 'Mpendwa {name}, mkutano wa PMC Ijumaa.'\n"
                    "audience:\n  pmc: true\n  csv: extra.csv\n", encoding="utf-8")
    created = ok(run(runtime, monkeypatch, "sms", "campaign", "create", "--org", "makueni",
                     "--by", OFFICER, "--file", spec))
    assert "PMC briefing" in created.output
    assert "recipients: 2 (removed: 0 opted out" in created.output
    with runtime.sessions() as db:
        campaign = db.scalars(select(Campaign).where(Campaign.name == "PMC briefing")).one()
        assert campaign.audience["pmc"] and campaign.audience["numbers"] == ["+254712000011"]
        assert campaign.status == CampaignStatus.DRAFT
    for args, message in (
            (["--name", "X", "--message-en", "Hi"], "no audience"),
            (["--name", "X", "--message-en", "Hi {nmae}", "--everyone"], "{nmae}"),
            (["--name", "X", "--message-en", "Hi", "--ward", "9999"], "no place with code"),
            (["--name", "X", "--message-en", "Hi", "--cycle", "999"], "no cycle 999")):
        result = run(runtime, monkeypatch, "sms", "campaign", "create", "--org", "makueni",
                     "--by", OFFICER, *args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    agent = run(runtime, monkeypatch, "sms", "campaign", "create", "--org", "makueni",
                "--by", AGENT, "--name", "X", "--message-en", "Hi", "--everyone")
    assert agent.exit_code != 0 and "only admin, approver, officer may create" in agent.output


def test_the_next_wave_reads_only_its_own_rows(runtime, world):
    """However many waves went, picking the next one reads only its own rows: the read starts
    at the cursor, so each wave of a long campaign costs the same as the first."""
    if runtime.db.dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    campaign_id = _create(runtime)
    with runtime.sessions.begin() as db:
        org_id = db.get(Campaign, campaign_id).organization_id
        ids = db.scalars(insert(OutboxMessage).returning(OutboxMessage.id), [
            {"organization_id": org_id, "campaign_id": campaign_id, "lane": SendLane.CAMPAIGN,
             "msisdn": f"+2547990{n:05d}", "body": "Forum",
             "status": OutboxStatus.SENT if n < 1500 else OutboxStatus.QUEUED}
            for n in range(2000)]).all()
    with runtime.db.begin() as connection:
        connection.execute(text("ANALYZE outbox_messages"))
        pick = next_wave(campaign_id, sorted(ids)[1499], 100).compile(
            runtime.db, compile_kwargs={"literal_binds": True})
        [plan] = connection.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {pick}")).scalar()

    def nodes(node):
        yield node
        for child in node.get("Plans", ()):
            yield from nodes(child)

    scans = [n for n in nodes(plan["Plan"]) if "Scan" in n["Node Type"]]
    # By the primary key or the (campaign_id, id) index, from the cursor on: either reads
    # only the wave (the campaign's rows are written together), never the status index.
    assert len(scans) == 1 and scans[0].get("Index Name") in {
        "pk_outbox_messages", "ix_outbox_messages_campaign_id"}
    assert sum(n.get("Rows Removed by Filter", 0) for n in scans) == 0
    assert scans[0]["Actual Rows"] == 100
