"""How far a campaign has got, counted from its outbox rows (the record of what was sent)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.lifecycle import CANCELLED_ERROR
from app.db.models import Campaign, OutboxMessage

# Outbox statuses by what a progress bar shows; unknown ones (a newer pipeline) count as queued.
_SENT = {"sent"}
_FAILED = {"failed", "uncertain"}
_SUPPRESSED = {"suppressed"}
DELIVERED = "Success"  # AT's final delivery report status for "on the handset"


@dataclass(frozen=True)
class Progress:
    campaign_id: int
    status: str
    total: int
    queued: int = 0  # written, not yet judged by AT (includes rows being sent)
    sent: int = 0  # accepted by AT (delivered ones included)
    delivered: int = 0
    failed: int = 0
    suppressed: int = 0
    cancelled: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.suppressed + self.cancelled

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)


def progress(db: Session, campaign_id: int) -> Progress:
    """Counts for a progress bar; reads the delivery status column only if the schema has it."""
    campaign = db.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id}")
    delivery = getattr(OutboxMessage, "delivery_status", None)
    columns = [OutboxMessage.status, OutboxMessage.error == CANCELLED_ERROR]
    columns.append(delivery == DELIVERED if delivery is not None else None)
    query = (select(*[c for c in columns if c is not None], func.count())
             .where(OutboxMessage.campaign_id == campaign_id)
             .group_by(*[c for c in columns if c is not None]))
    counts = {"queued": 0, "sent": 0, "delivered": 0, "failed": 0, "suppressed": 0,
              "cancelled": 0}
    total = 0
    for row in db.execute(query):
        status, cancelled, count = row[0], row[1], row[-1]
        delivered = bool(row[2]) if delivery is not None else False
        total += count
        if status in _SENT:
            counts["sent"] += count
            counts["delivered"] += count if delivered else 0
        elif status in _FAILED:
            counts["cancelled" if cancelled else "failed"] += count
        elif status in _SUPPRESSED:
            counts["suppressed"] += count
        else:
            counts["queued"] += count
    return Progress(campaign_id, str(campaign.status), max(total, campaign.recipient_count),
                    **counts)
