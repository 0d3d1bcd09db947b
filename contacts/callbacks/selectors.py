"""Read-only queries about received WeCom events."""

from django.db.models import Q, QuerySet

from contacts.callbacks import events
from contacts.models import CallbackEvent, CallbackStatus, ExternalContact
from contacts.selectors import search_contacts


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


def search_callback_events(
    *, callback_events: QuerySet[CallbackEvent], term: str, may_search_phones: bool
) -> QuerySet[CallbackEvent]:
    """Events whose external_userid or userid contains `term`, and the events of the parents a search
    of the parent list would find."""
    term = term.strip()
    if not term:
        return callback_events
    parents = search_contacts(contacts=ExternalContact.objects.all(), term=term, may_search_phones=may_search_phones)
    return callback_events.filter(
        Q(external_userid__icontains=term) | Q(userid__icontains=term) | Q(contact__in=parents)
    )
