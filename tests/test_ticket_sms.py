"""Complaints by SMS: COMPLAIN/MALALAMIKO, STATUS/HALI and the "1"/"2" satisfaction reply, as
raw AT forms through /at/sms on both stacks (the prod stack answers in an rq worker), replies
read from the outbox; and every ticket notice within one GSM-7 SMS in every catalog."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.campaigns.message_text import Encoding, encoding_of, length_of
from app.channels.phone import mask
from app.db.models import (
    Organization,
    Project,
    SendLane,
    Ticket,
    TicketCategory,
    TicketChannel,
    TicketEventKind,
    TicketStatus,
)
from app.i18n import Catalogs
from app.pb.ballot_text import fill
from app.pmc import feedback
from app.settings import Settings
from app.tickets import notices, references
from app.tickets.workflow import change_status
from tests.console_support import add_user, log_in
from tests.factories import add_contact
from tests.pmc_support import add_makueni, import_fixtures
from tests.sms_support import MAKUENI_SMS, outbox, post_sms, run_jobs
from tests.test_sms_inbound import HELP_EN
from tests.ticket_support import CALLER, NEIGHBOUR, set_ward, ticket

COMPLAINT = "No water at Kalawa market since Monday"


@pytest.fixture(autouse=True)
def makueni(runtime, monkeypatch):
    """Makueni with its wards, projects and PMCs (tests/data); the caller chose English."""
    add_makueni(runtime)
    import_fixtures(runtime, monkeypatch)
    add_contact(runtime, "makueni", CALLER, "en")


class Phones:
    """Sends SMS as AT posts them (a new AT id each unless told) and reads what came back."""

    def __init__(self, client, runtime) -> None:
        self.client, self.runtime, self.count = client, runtime, 0

    def exchange(self, text: str, sender: str = CALLER, at_id: str | None = None
                 ) -> list[tuple[str, str, str]]:
        """(number, lane, text) of every message queued since this one came in."""
        self.count += 1
        seen = len(outbox(self.runtime))
        response = post_sms(self.client, text, sender=sender, to=MAKUENI_SMS,
                            at_id=at_id or f"ATXid_tk_{self.count}")
        assert response.status_code == 200
        run_jobs(self.runtime)
        return [(row.msisdn, row.lane, row.body) for row in outbox(self.runtime)[seen:]]

    def send(self, text: str, sender: str = CALLER, at_id: str | None = None) -> str:
        """The only message queued: the reply to the sender, one GSM-7 SMS."""
        [(to, lane, body)] = self.exchange(text, sender, at_id)
        assert (to, lane) == (sender, SendLane.REPLY)
        assert encoding_of(body) == Encoding.GSM7 and length_of(body) <= 160, body
        return body


@pytest.fixture
def phones(client, runtime) -> Phones:
    return Phones(client, runtime)


def only_ticket(runtime) -> Ticket:
    with runtime.sessions() as db:
        [made] = db.scalars(select(Ticket)).all()
        db.expunge(made)
        return made


def day(runtime, moment: datetime, language: str = "en") -> str:
    with runtime.sessions() as db:
        organization = db.scalar(select(Organization).where(Organization.code == "makueni"))
        return notices.day_text(moment, organization, language)


def received(runtime, made: Ticket) -> str:
    return (f"Complaint received. Ref {made.reference}. We aim to resolve it by "
            f"{day(runtime, made.due_at)}. To follow it, send STATUS {made.reference}.")


def resolve(runtime, reference: str) -> None:
    """An officer resolves the ticket in the console: the caller is asked to rate it."""
    with runtime.sessions.begin() as db:
        change_status(db, runtime.desk, ticket(db, reference), TicketStatus.RESOLVED, None)


def mistyped(reference: str) -> str:
    """The reference with its last two digits swapped (or one digit changed)."""
    if reference[-1] != reference[-2]:
        return reference[:-2] + reference[-1] + reference[-2]
    return reference[:-1] + str((int(reference[-1]) + 1) % 10)


def unused_reference(runtime) -> str:
    """A valid reference no ticket has."""
    with runtime.sessions() as db:
        taken = set(db.scalars(select(Ticket.reference)))
    body = 100000
    while (reference := f"{body}{references.check_digit(str(body))}") in taken:
        body += 1
    return reference


# -- COMPLAIN ----------------------------------------------------------------------------------


def test_complain_opens_a_ticket_and_the_reply_is_its_notice(phones, runtime, caplog):
    caplog.set_level(logging.DEBUG)
    set_ward(runtime, "makueni", CALLER, "0424")
    reply = phones.send(f"COMPLAIN {COMPLAINT}")
    made = only_ticket(runtime)
    assert reply == received(runtime, made)
    assert references.is_valid(made.reference) and len(made.reference) == 7
    assert (made.msisdn, made.channel, made.category, made.status, made.description) == (
        CALLER, TicketChannel.SMS, TicketCategory.OTHER, TicketStatus.NEW, COMPLAINT)
    assert (made.language, made.source_key, made.project_id) == ("en", "ATXid_tk_1", None)
    with runtime.sessions() as db:
        assert ticket(db, made.reference).place.name == "Wote"  # the caller's ward
    assert COMPLAINT not in caplog.text and "Kalawa market" not in caplog.text


def test_a_complaint_starting_with_a_project_code_is_about_that_project(phones, runtime):
    reply = phones.send("complain: mk-101 the pump is broken again")
    made = only_ticket(runtime)
    assert reply == received(runtime, made)
    assert (made.category, made.description) == (TicketCategory.PROJECT,
                                                  "the pump is broken again")
    with runtime.sessions() as db:
        stored = ticket(db, made.reference)
        assert stored.place.name == "Kalawa"  # the project's only ward
        assert db.get(Project, stored.project_id).code == "MK-101"


def test_a_complaint_without_text_gets_an_example(phones, runtime):
    assert phones.send("COMPLAIN") == ("Send COMPLAIN and your complaint. Example: COMPLAIN No "
                                       "water at the market since Monday")
    assert phones.send("malalamiko", NEIGHBOUR) == (
        "Tuma MALALAMIKO na malalamiko yako. Mfano: MALALAMIKO Hakuna maji sokoni tangu "
        "Jumatatu")
    assert phones.send("COMPLAIN MK-101").startswith("Send COMPLAIN and your complaint.")
    with runtime.sessions() as db:
        assert db.scalar(select(func.count(Ticket.id))) == 0


def test_an_at_retry_of_the_same_message_makes_one_ticket_and_one_reply(client, runtime):
    for _ in range(2):
        assert post_sms(client, f"COMPLAIN {COMPLAINT}", sender=CALLER, to=MAKUENI_SMS,
                        at_id="ATXid_same").status_code == 200
        run_jobs(runtime)
    made = only_ticket(runtime)
    assert [(r.msisdn, r.body) for r in outbox(runtime)] == [(CALLER, received(runtime, made))]
    assert made.source_key == "ATXid_same"


def test_kiswahili_keywords_answer_in_kiswahili(phones, runtime):
    # a number with no language chosen writes in Kiswahili: answered in Kiswahili
    reply = phones.send("MALALAMIKO Hakuna maji sokoni Kalawa", NEIGHBOUR)
    made = only_ticket(runtime)
    ref, due = made.reference, day(runtime, made.due_at, "sw")
    assert made.language == "sw"
    assert reply == (f"Malalamiko yamepokelewa. Kumb. {ref}. Tunalenga kuyatatua kufikia "
                     f"{due}. Kuyafuatilia, tuma HALI {ref}.")
    assert phones.send(f"hali {ref}", NEIGHBOUR) == (
        f"Kumb. {ref}: yamepokelewa. Ilisasishwa {day(runtime, made.updated_at, 'sw')}. "
        f"Kufikia {due}.")
    assert phones.send("HALI", NEIGHBOUR) == (
        f"Malalamiko yako yaliyo wazi: {ref}. Tuma HALI na kumbukumbu kwa maelezo.")


# -- STATUS ------------------------------------------------------------------------------------


def test_status_of_the_callers_own_ticket(phones, runtime):
    phones.send(f"COMPLAIN {COMPLAINT}")
    made = only_ticket(runtime)
    ref = made.reference
    line = (f"Ref {ref}: received. Updated {day(runtime, made.updated_at)}. "
            f"Due {day(runtime, made.due_at)}.")
    assert phones.send(f"STATUS {ref}") == line
    assert phones.send(f"status {ref[:3]}-{ref[3:]} please") == line  # as people type it
    assert phones.send("STATUS") == (f"Your open complaints: {ref}. Send STATUS and a "
                                     "reference for details.")


def test_a_mistyped_reference_is_caught_by_its_check_digit(phones, runtime):
    phones.send(f"COMPLAIN {COMPLAINT}")
    wrong = mistyped(only_ticket(runtime).reference)
    assert phones.send(f"STATUS {wrong}") == (
        f"{wrong} is not a complaint reference: a digit may be mistyped. Please check it and "
        "send STATUS and the reference again.")
    assert phones.send("STATUS abc") == (
        "abc is not a complaint reference: a digit may be mistyped. Please check it and send "
        "STATUS and the reference again.")


def test_someone_elses_reference_and_an_unknown_one_reveal_nothing(phones, runtime):
    phones.send(f"COMPLAIN {COMPLAINT}")
    ref = only_ticket(runtime).reference
    add_contact(runtime, "makueni", NEIGHBOUR, "en")
    theirs = phones.send(f"STATUS {ref}", NEIGHBOUR)
    assert theirs == (f"No complaint {ref} was found for this number. Please check the "
                      "reference.")
    unknown = unused_reference(runtime)
    assert phones.send(f"STATUS {unknown}", NEIGHBOUR) == theirs.replace(ref, unknown)
    assert phones.send("STATUS", NEIGHBOUR) == (
        "You have no open complaints. To make one, send COMPLAIN and your message.")


# -- the satisfaction reply ------------------------------------------------------------------


def test_reply_1_closes_a_resolved_ticket(phones, runtime):
    phones.send(f"COMPLAIN {COMPLAINT}")
    ref = only_ticket(runtime).reference
    resolve(runtime, ref)
    [(to, _lane, ask)] = [row for row in outbox_rows(runtime) if row[1] == SendLane.NOTICE]
    assert to == CALLER
    assert ask == (f"Complaint {ref} is resolved. Are you satisfied? Reply 1 for yes or 2 for "
                   "no.")
    assert phones.send("1") == f"Thank you. Complaint {ref} is now closed."
    made = only_ticket(runtime)
    assert (made.status, made.satisfied) == (TicketStatus.CLOSED, True)
    assert phones.send("1") == HELP_EN  # nothing left to rate: a bare digit gets the help


def test_reply_2_reopens_with_a_new_due_date_and_keeps_the_reason(phones, runtime):
    phones.send("MALALAMIKO hakuna maji Kalawa", NEIGHBOUR)
    ref = only_ticket(runtime).reference
    resolve(runtime, ref)
    reply = phones.send("2 bado maji hakuna", NEIGHBOUR)
    made = only_ticket(runtime)
    assert (made.status, made.satisfied) == (TicketStatus.REOPENED, False)
    assert reply == (f"Malalamiko {ref} yamefunguliwa tena. Tutayashughulikia tena kufikia "
                     f"{day(runtime, made.due_at, 'sw')}.")
    with runtime.sessions() as db:
        events = [(e.kind, e.to_value, e.note) for e in ticket(db, ref).events]
    assert events[-3:] == [(TicketEventKind.SATISFACTION, "not satisfied", None),
                           (TicketEventKind.STATUS, "reopened", None),
                           (TicketEventKind.COMMENT, None, "bado maji hakuna")]
    # the notice is in the outbox, to the caller, once
    assert [row[2] for row in outbox_rows(runtime) if row[0] == NEIGHBOUR][-1] == reply
    # rated already: the help, in the county's language (a digit is in no language)
    assert phones.send("2", NEIGHBOUR) == HELP_EN


def test_a_bare_digit_without_a_ticket_to_rate_gets_the_help(phones, runtime):
    assert phones.send("1") == HELP_EN
    assert phones.send("2 hapana", NEIGHBOUR) == HELP_EN  # no language chosen: the county's
    phones.send(f"COMPLAIN {COMPLAINT}")  # open, not resolved: nothing to rate yet
    assert phones.send("2") == HELP_EN
    assert only_ticket(runtime).status == TicketStatus.NEW


def outbox_rows(runtime) -> list[tuple[str, str, str]]:
    return [(row.msisdn, row.lane, row.body) for row in outbox(runtime)]


# -- REPORT <code> opens a ticket on the project -----------------------------------------------


def test_a_residents_report_on_a_project_is_a_ticket_with_a_reference(phones, runtime):
    reply = phones.send("REPORT MK-101 no workers on site this week")
    made = only_ticket(runtime)
    assert reply == (f"Thank you. Your message about MK-101 Kalawa market borehole is ref "
                     f"{made.reference}. To follow it, send STATUS {made.reference}.")
    assert (made.channel, made.category, made.description) == (
        TicketChannel.REPORT, TicketCategory.PROJECT, "no workers on site this week")


def test_the_project_page_lists_its_tickets_and_the_older_feedback(client, phones, runtime):
    phones.send("REPORT MK-101 no workers on site this week")
    ref = only_ticket(runtime).reference
    with runtime.sessions.begin() as db:
        project = db.scalar(select(Project).where(Project.code == "MK-101"))
        feedback.record_feedback(db, project, NEIGHBOUR, "The site is fenced off")
        project_id = project.id
    assert log_in(client, add_user(runtime, "officer", "makueni")).status_code == 302
    page = client.get(f"/console/orgs/makueni/projects/{project_id}").get_data(as_text=True)
    tickets = page.split("Complaints about this project", 1)[1].split("</table>", 1)[0]
    assert ref in tickets and "no workers on site this week" in tickets
    assert "received" in tickets and mask(CALLER) in tickets and CALLER not in page
    assert "/console/orgs/makueni/tickets/" in tickets  # an officer may open the ticket
    assert "The site is fenced off" in page  # feedback kept before tickets still shows


# -- every notice fits one SMS in every catalog ----------------------------------------------


def longest_day(language: str) -> str:
    """The widest "d MMM y" date in this language over a year."""
    organization = Organization(timezone="Africa/Nairobi")
    return max((notices.day_text(datetime(2026, month, 28, 9, tzinfo=UTC), organization,
                                 language) for month in range(1, 13)), key=len)


@pytest.mark.parametrize("language", Catalogs(Settings().locales_dir).languages)
def test_every_notice_fits_one_gsm7_sms_in_every_language(language):
    _ = Catalogs(Settings().locales_dir).gettext_for(language)
    ref, due = "9999999", longest_day(language)
    status = max((_(name) for name in notices.STATUS_NAMES.values()), key=len)
    texts = [
        fill(_(notices.RECEIVED), ref=ref, due=due),
        fill(_(notices.STATUS_NOW), ref=ref, status=status),
        fill(_(notices.RESOLVED_ASK), ref=ref),
        fill(_(notices.REOPENED), ref=ref, due=due),
        fill(_(notices.THANKS_CLOSED), ref=ref),
        fill(_(notices.STATUS_LINE), ref=ref, status=status, updated=due, due=due),
        fill(_(notices.OVERDUE), count=120, organization="W" * 30,
                     refs=", ".join([ref] * notices.REFS_SHOWN) + " +115"),
    ]
    for text in texts:
        assert "{" not in text and "}" not in text, text  # every placeholder filled
        assert encoding_of(text) == Encoding.GSM7 and length_of(text) <= 160, (len(text), text)
    if language == "sw":
        assert f"HALI {ref}" in texts[0] and "STATUS" not in texts[0] + texts[1]
