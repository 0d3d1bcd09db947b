"""Read-only queries about received WeCom events."""

from django.db.models import QuerySet

from contacts.callbacks import events
from contacts.models import CallbackEvent, CallbackStatus, ExternalContact


def history_events(*, contact: ExternalContact, limit: int) -> QuerySet[CallbackEvent]:
    """The events of a parent that show in their history themselves, newest first (one query).

    Ended relations and failed transfers; an add or edit shows as the refresh it caused.
    """
    return (
        CallbackEvent.objects.filter(
            contact=contact,
            event=events.CHANGE_EXTERNAL_CONTACT,
            change_type__in=events.HISTORY_CHANGES,
            status=CallbackStatus.PROCESSED,
        )
        .defer("payload")
        .order_by("-received_at", "-id")[:limit]
    )
