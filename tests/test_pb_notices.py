"""Publishing results: one SMS per voter, in their language, never twice."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.db.models import Contact, Cycle, OutboxMessage, Phase, SendLane
from app.pb import cycles, notices
from app.services import contacts
from tests.pb_support import add_cycle
from tests.test_pb_ballots import cast


def identity(text: str) -> str:
    return text


def test_each_voter_gets_the_winners_in_their_language_once(runtime):
    fx = add_cycle(runtime)
    cast(runtime, fx, {1: 1, 3: 1})  # the helper's contact is +254712345678
    with runtime.sessions.begin() as db:
        contact = contacts.ensure_contact(db, fx.organization_id, "+254712345678")
        contact.language = "sw"
        cycles.move(db.get(Cycle, fx.cycle_id), Phase.CLOSED)
    with runtime.sessions.begin() as db:
        ids = notices.publish(db, db.get(Cycle, fx.cycle_id), runtime.catalogs.gettext_for)
    with runtime.sessions.begin() as db:
        assert notices.queue_result_notices(db, db.get(Cycle, fx.cycle_id),
                                            runtime.catalogs.gettext_for) == []
        messages = db.scalars(select(OutboxMessage)).all()
    assert [m.id for m in messages] == ids and len(ids) == 1
    assert messages[0].lane == SendLane.NOTICE
    assert messages[0].body == ("Matokeo ya Tulimani 2026/27: miradi iliyofadhiliwa 1, 3. "
                                "Asante kwa kupiga kura.")


def test_opted_out_voters_get_nothing(runtime):
    fx = add_cycle(runtime)
    cast(runtime, fx, {1: 1})
    with runtime.sessions.begin() as db:
        db.scalar(select(Contact)).opted_out = True
        cycles.move(db.get(Cycle, fx.cycle_id), Phase.CLOSED)
        assert notices.publish(db, db.get(Cycle, fx.cycle_id), runtime.catalogs.gettext_for) == []


def test_only_a_closed_cycle_is_published(runtime):
    fx = add_cycle(runtime)
    with runtime.sessions.begin() as db, pytest.raises(cycles.CycleError):
        notices.publish(db, db.get(Cycle, fx.cycle_id), runtime.catalogs.gettext_for)


@pytest.mark.parametrize("count", [0, 1, 5, 40])
def test_the_notice_fits_one_sms(count):
    text = notices.notice_text(identity, "A long cycle name for the whole county 2026/27",
                               tuple(range(100, 100 + count)))
    assert len(text) <= 160
    if count == 40:  # the codes that do not fit are counted, not dropped silently
        assert re.search(r", \d+ \+\d+\. Thank you for voting\.$", text), text
