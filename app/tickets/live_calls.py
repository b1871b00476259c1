"""Calls on the feedback line that are being put through to an agent, right now.

AT's Dial shows the agent the line's number, not the caller's (callerId can only be one of
ours), so the console lists these calls: the agent who picks up finds the caller's number,
and with it their history, in one click.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import VoiceCall
from app.tickets.voice_line import Step

# The steps a call is in while agents' phones ring or it waits in AT's queue.
WITH_AGENTS = (Step.OFFER, Step.QUEUED)
# A call whose final callback never came (AT lost it) drops off the list after this long.
LONGEST_CALL = timedelta(hours=1)
SHOWN = 10


def calls_for_agents(db: Session, organization_id: int, now: datetime) -> list[VoiceCall]:
    """Calls of the organization ringing agents or queued for them, newest first."""
    return list(db.scalars(
        select(VoiceCall)
        .where(VoiceCall.organization_id == organization_id, VoiceCall.ended_at.is_(None),
               VoiceCall.state.in_(WITH_AGENTS), VoiceCall.caller_msisdn.is_not(None),
               VoiceCall.started_at >= now - LONGEST_CALL)
        .order_by(VoiceCall.started_at.desc(), VoiceCall.id.desc()).limit(SHOWN)))
