"""AT's bulk SMS opt-out notification: the number is suppressed for whoever sends as that id."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from app.channels.at_forms import OptOutForm
from app.channels.phone import InvalidPhoneNumber, mask, normalise_msisdn
from app.db.models import Organization, SuppressionSource
from app.services import suppressions

log = logging.getLogger(__name__)


def opt_out_callback(sessions: sessionmaker[Session], form: OptOutForm) -> int:
    """Suppress `form.phone_number` for each organization sending as `form.sender_id`;
    return how many were found."""
    with sessions.begin() as db:
        organization_ids = suppressions.organizations_sending_as(db, form.sender_id)
        for organization_id in organization_ids:
            organization = db.get(Organization, organization_id)
            try:
                msisdn = normalise_msisdn(form.phone_number, organization.country)
            except InvalidPhoneNumber:
                log.warning("opt-out with unreadable number %s", mask(form.phone_number))
                return 0
            suppressions.suppress(db, organization_id, msisdn,
                                  SuppressionSource.OPTOUT_CALLBACK)
    if not organization_ids:
        log.warning("opt-out for sender id %r, which no organization uses", form.sender_id)
    return len(organization_ids)
