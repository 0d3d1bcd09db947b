"""Read-only queries about stored parents."""

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from contacts.models import ExternalContact


def stored_external_userids(*, stale_for: dt.timedelta | None = None) -> list[str]:
    """Every stored parent's id, or only those not refreshed successfully within `stale_for`."""
    contacts = ExternalContact.objects.all()
    if stale_for is not None:
        cutoff = timezone.now() - stale_for
        contacts = contacts.filter(Q(last_refreshed_at__lt=cutoff) | Q(last_refreshed_at__isnull=True))
    return list(contacts.order_by("external_userid").values_list("external_userid", flat=True))
