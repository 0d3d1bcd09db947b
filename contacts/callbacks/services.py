"""Store each WeCom event once, and apply it later in a background task.

`accept_event` runs in the request: it stores the verified event and, once it is committed,
queues its task on the "callbacks" queue, whose workers never run jobs, so an event never waits
behind a whole-school sync. It makes no WeCom call, so WeCom gets its answer at once.
A retried delivery of the same message (same fingerprint) is stored and queued only once.

`process_event` runs in the task and applies the event, with the worker thread's one
client, so a worker's events share its keep-alive connections to WeCom:

- change_external_contact add/edit: refresh that parent (trigger 企业微信回调);
- del_external_contact (a teacher deleted the parent), del_follow_user (the parent deleted
  the teacher): that teacher's relation ends (`FollowUser.ended_at`), the row is kept;
  a parent not stored yet is refreshed instead;
- transfer_fail: recorded;
- change_school_contact: the student or parent is read again and the roster updated
  (or marked gone on delete), then the parents concerned are refreshed;
- anything else: ignored.

A worker claims an event before applying it and renews the claim while it works, however long
WeCom makes it wait. A worker that dies mid-event leaves it "received" with a claim that runs out
after JOB_LEASE_SECONDS; `requeue_stalled_events`, run after every event a worker applies and at
the end of the nightly sync, queues it again, once a lease at most. After MAX_EVENT_ATTEMPTS claims
that never finished the event fails, and an event not applied within STALE_AFTER of its arrival is
given up: the syncs since have brought its parents up to date, and an old event applied late could
undo what happened after it. Only the worker holding the claim records the outcome.

The outcome is stored on the event as codes (`outcomes.py`). A failed WeCom call makes the event `failed`, with the
error and its hint, and changes nothing more than a failed refresh does.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from contacts import tasks
from contacts.callbacks import events
from contacts.callbacks.messages import CallbackMessage
from contacts.callbacks.outcomes import OUTCOMES
from contacts.callbacks.roster import RosterChange, apply_school_user, remove_parent, remove_student
from contacts.models import CallbackEvent, CallbackStatus, ExternalContact, FollowUser, RefreshTrigger
from contacts.selectors import member_label_of, member_names
from contacts.services.leases import Renewing, lease_duration
from contacts.services.refresh import refresh_contact
from contacts.texts import Message, changes_value, error_value
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import WeComError

logger = logging.getLogger("contacts.callbacks")

MAX_ID_LENGTH = 128
# Claims of one event that never finished (its workers died) before it fails.
MAX_EVENT_ATTEMPTS = 3
# An event never claimed this long after it arrived was never queued (or its task was lost): queue it.
UNCLAIMED_AFTER = dt.timedelta(hours=1)
# An event not applied this long after it arrived is given up.
STALE_AFTER = dt.timedelta(days=1)
# Events queued again at once, at most: the rest wait for the next look.
REQUEUE_BATCH = 100


@dataclass(frozen=True)
class Outcome:
    status: CallbackStatus
    lines: tuple[Message, ...]  # OUTCOMES messages
    contact: ExternalContact | None = None


def _outcome(status: CallbackStatus, code: str, contact: ExternalContact | None = None, **values) -> Outcome:
    return Outcome(status, (OUTCOMES.message(code, **values),), contact)


def accept_event(*, message: CallbackMessage) -> CallbackEvent | None:
    """Store a verified event and queue its processing; None for a delivery already stored."""
    try:
        with transaction.atomic():
            event = CallbackEvent.objects.create(
                fingerprint=message.fingerprint,
                event=message.event[:64] or message.msg_type[:64],
                change_type=message.change_type[:64],
                external_userid=message.external_userid[:MAX_ID_LENGTH],
                userid=message.userid[:MAX_ID_LENGTH],
                created_at_wecom=message.created_at,
                payload=message.fields,
            )
    except IntegrityError:
        return None
    # Once stored: a worker never looks for an event it cannot see yet, and a repeated
    # delivery, refused above, is never queued twice.
    transaction.on_commit(partial(tasks.process_callback_event.enqueue, event_id=event.pk))
    return event


def process_event(*, event_id: int, client: WeComClient | None = None) -> CallbackEvent | None:
    """Apply a stored event once; an event already handled, or held by a live worker, is left as it is."""
    now = timezone.now()
    claim = uuid.uuid4().hex
    claimed = CallbackEvent.objects.filter(_no_live_claim(now), pk=event_id, status=CallbackStatus.RECEIVED).update(
        claimed_at=now, claimed_by=claim, attempts=F("attempts") + 1
    )
    event = CallbackEvent.objects.filter(pk=event_id).first()
    if not claimed or event is None:
        return event
    if event.attempts > MAX_EVENT_ATTEMPTS:
        logger.error("WeCom callback event %s: %d workers stopped applying it; it fails", event.pk, event.attempts - 1)
        outcome = _outcome(CallbackStatus.FAILED, "interrupted", attempts=event.attempts - 1)
    elif event.received_at < now - STALE_AFTER:
        outcome = _outcome(CallbackStatus.FAILED, "too_late")
    else:
        renew = partial(_renew_claim, event_id=event.pk, claim=claim)
        with Renewing(renew, what=f"WeCom callback event {event.pk}"):
            outcome = _applied(event=event, client=client)
    _record_outcome(event=event, claim=claim, outcome=outcome)
    return CallbackEvent.objects.get(pk=event.pk)


def requeue_stalled_events(*, now: dt.datetime | None = None) -> int:
    """Queue again the events whose worker died while applying them (or that were never queued), and give
    up those older than STALE_AFTER; returns how many were queued."""
    now = now or timezone.now()
    lease = lease_duration()
    waiting = CallbackEvent.objects.filter(_no_live_claim(now), status=CallbackStatus.RECEIVED)
    given_up = waiting.filter(received_at__lt=now - STALE_AFTER).update(
        status=CallbackStatus.FAILED, result=[OUTCOMES.message("too_late")], processed_at=now
    )
    if given_up:
        logger.warning("%d WeCom callback event(s) not applied within %s given up", given_up, STALE_AFTER)
    claim_ran_out = Q(claimed_at__lt=now - lease)
    never_claimed = Q(claimed_at__isnull=True, received_at__lt=now - UNCLAIMED_AFTER)
    not_just_queued = Q(requeued_at__isnull=True) | Q(requeued_at__lt=now - lease)
    with transaction.atomic():
        event_ids = list(
            waiting.filter(claim_ran_out | never_claimed, not_just_queued)
            .select_for_update(skip_locked=True)
            .order_by("received_at")
            .values_list("pk", flat=True)[:REQUEUE_BATCH]
        )
        CallbackEvent.objects.filter(pk__in=event_ids).update(requeued_at=now)
    for event_id in event_ids:
        tasks.process_callback_event.enqueue(event_id=event_id)
    if event_ids:
        logger.warning("WeCom callback events queued again, their workers having stopped: %s", event_ids)
    return len(event_ids)


def _no_live_claim(now: dt.datetime) -> Q:
    """Events no worker holds: never claimed, or their claim ran out (the worker died)."""
    return Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - lease_duration())


def _renew_claim(*, event_id: int, claim: str) -> None:
    CallbackEvent.objects.filter(pk=event_id, status=CallbackStatus.RECEIVED, claimed_by=claim).update(
        claimed_at=timezone.now()
    )


def _record_outcome(*, event: CallbackEvent, claim: str, outcome: Outcome) -> None:
    fields = {"status": outcome.status, "result": list(outcome.lines), "processed_at": timezone.now()}
    if outcome.contact is not None:
        fields["contact"] = outcome.contact
    recorded = CallbackEvent.objects.filter(pk=event.pk, status=CallbackStatus.RECEIVED, claimed_by=claim).update(
        **fields
    )
    if recorded:
        logger.info("WeCom callback event %s (%s/%s): %s", event.pk, event.event, event.change_type, outcome.status)
    else:
        # Its claim ran out while it worked and another worker took the event: that one's outcome stands.
        logger.warning("WeCom callback event %s: applied by another worker meanwhile; its outcome stands", event.pk)


def _applied(*, event: CallbackEvent, client: WeComClient | None) -> Outcome:
    try:
        return _apply(event=event, client=client or get_client())
    except Exception:
        # Whatever went wrong, the event must not stay "received" for ever.
        logger.exception("WeCom callback event %s could not be applied", event.pk)
        return _outcome(CallbackStatus.FAILED, "internal_error")


# -- applying ---------------------------------------------------------------------------------


def _apply(*, event: CallbackEvent, client: WeComClient) -> Outcome:
    if event.event == events.CHANGE_EXTERNAL_CONTACT and event.change_type in events.EXTERNAL_CONTACT_CHANGES:
        if not event.external_userid:
            return _outcome(CallbackStatus.IGNORED, "no_external_userid")
        if event.change_type in events.REFRESHING_CHANGES:
            return _refresh(external_userid=event.external_userid, client=client)
        if event.change_type in events.ENDING_CHANGES:
            return _end_relation(event=event, client=client)
        return _transfer_failed(event=event)
    if event.event == events.CHANGE_SCHOOL_CONTACT and event.change_type in events.SCHOOL_CONTACT_CHANGES:
        if not event.userid:
            return _outcome(CallbackStatus.IGNORED, "no_id")
        return _roster_change(event=event, client=client)
    return _outcome(CallbackStatus.IGNORED, "not_handled")


def _refresh(*, external_userid: str, client: WeComClient, lost_is_news: bool = False) -> Outcome:
    """Refresh a parent; with `lost_is_news`, a parent no longer connected is an outcome, not a failure."""
    stored = ExternalContact.objects.filter(external_userid=external_userid).first()
    try:
        result = refresh_contact(external_userid=external_userid, trigger=RefreshTrigger.CALLBACK, client=client)
    except WeComError as error:
        if lost_is_news and error.not_connected:
            return _outcome(CallbackStatus.PROCESSED, "parent_lost", stored, error=error_value(error))
        return _outcome(CallbackStatus.FAILED, "refresh_failed", stored, error=error_value(error))
    names = member_names(userids=result.changes.teacher_userids)
    return _outcome(
        CallbackStatus.PROCESSED, "refreshed", result.contact, summary=changes_value(result.changes, names=names)
    )


def _ended_at(event: CallbackEvent) -> dt.datetime:
    """When WeCom says the relation ended; never later than it reached us."""
    if event.created_at_wecom is not None and event.created_at_wecom <= event.received_at:
        return event.created_at_wecom
    return event.received_at


def _end_relation(*, event: CallbackEvent, client: WeComClient) -> Outcome:
    contact = ExternalContact.objects.filter(external_userid=event.external_userid).first()
    if contact is None:
        # Unknown here: store the parent as WeCom now describes them, without that teacher.
        return _refresh(external_userid=event.external_userid, client=client)
    what = OUTCOMES.message(
        "teacher_deleted_parent" if event.change_type == events.DEL_EXTERNAL_CONTACT else "parent_deleted_teacher",
        teacher=member_label_of(userid=event.userid),
    )
    ended = FollowUser.objects.filter(contact=contact, userid=event.userid, ended_at__isnull=True).update(
        ended_at=_ended_at(event)
    )
    if ended:
        # The stored teachers no longer mirror the last answer: the next refresh compares them row by row.
        ExternalContact.objects.filter(pk=contact.pk).update(answer_hash="")
    return _outcome(CallbackStatus.PROCESSED, "relation_ended" if ended else "relation_not_active", contact, what=what)


def _transfer_failed(*, event: CallbackEvent) -> Outcome:
    contact = ExternalContact.objects.filter(external_userid=event.external_userid).first()
    reason = str(event.payload.get("FailReason", ""))
    teacher = member_label_of(userid=event.userid)
    return _outcome(CallbackStatus.PROCESSED, "transfer_failed", contact, teacher=teacher, reason=reason)


def _roster_change(*, event: CallbackEvent, client: WeComClient) -> Outcome:
    now = timezone.now()
    try:
        if event.change_type == events.DELETE_PARENT:
            change = remove_parent(parent_userid=event.userid, now=now)
        elif event.change_type == events.DELETE_STUDENT:
            change = remove_student(student_userid=event.userid, now=now)
        else:
            new_userid = str(event.payload.get("NewId", ""))[:MAX_ID_LENGTH]
            answer = client.get_school_user(new_userid or event.userid)
            change = apply_school_user(answer=answer, previous_userid=event.userid if new_userid else "", now=now)
    except WeComError as error:
        return _outcome(CallbackStatus.FAILED, "roster_read_failed", error=error_value(error))
    return _refresh_concerned(change=change, client=client)


def _refresh_concerned(*, change: RosterChange, client: WeComClient) -> Outcome:
    if not change.external_userids:
        return Outcome(CallbackStatus.PROCESSED, (change.summary,))
    # A parent on the roster may well have left every teacher: that is news, not a failure.
    outcomes = [
        _refresh(external_userid=external_userid, client=client, lost_is_news=True)
        for external_userid in change.external_userids
    ]
    failed = [o for o in outcomes if o.status == CallbackStatus.FAILED]
    lines = (change.summary, *(line for o in outcomes for line in o.lines))
    contact = next((o.contact for o in outcomes if o.contact is not None), None)
    return Outcome(CallbackStatus.FAILED if failed else CallbackStatus.PROCESSED, lines, contact)
