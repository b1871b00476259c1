"""`REPORT <code> <text>` from residents, kept on the project until complaint tickets exist.

Stored once per source message (AT's SMS `id`). The text is a resident's words: never log it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.base import utcnow
from app.db.models import Project, ResidentFeedback

MAX_FEEDBACK = 1000


@dataclass(frozen=True)
class Stored:
    feedback: ResidentFeedback
    created: bool  # False: this source message was stored before


def record_feedback(db: Session, project: Project, msisdn: str, text: str,
                    source_message_id: str | None = None,
                    received_at: datetime | None = None) -> Stored:
    """Keep a resident's report on a project, once per source message."""
    if source_message_id is not None:
        earlier = db.scalar(select(ResidentFeedback)
                            .where(ResidentFeedback.source_message_id == source_message_id))
        if earlier is not None:
            return Stored(earlier, False)
    cleaned = " ".join((text or "").split())[:MAX_FEEDBACK]
    if not cleaned:
        raise ValueError("feedback needs some text")
    feedback = ResidentFeedback(project_id=project.id, msisdn=msisdn, text=cleaned,
                                source_message_id=source_message_id,
                                received_at=received_at or utcnow())
    db.add(feedback)
    db.flush()
    return Stored(feedback, True)


def feedback_of(db: Session, project_id: int) -> list[ResidentFeedback]:
    """The project's resident feedback, newest first."""
    return list(db.scalars(select(ResidentFeedback)
                           .where(ResidentFeedback.project_id == project_id)
                           .order_by(ResidentFeedback.received_at.desc(),
                                     ResidentFeedback.id.desc())))
