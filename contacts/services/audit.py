"""Staff actions that reach WeCom, reveal personal data or search by phone, and the audit trail they leave."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext

from contacts.models import AuditAction, AuditEntry, ExternalContact, RefreshTrigger
from contacts.services.ratelimit import CallsHeldBack
from contacts.services.refresh import RefreshResult
from contacts.services.runner import RateLimitPolicy, RefreshOutcome, refresh_concurrently
from contacts.sharedcache import SharedCacheUnavailable
from contacts.wecom.client import WeComClient
from contacts.wecom.errors import WeComError


def record_audit(
    *,
    user: AbstractBaseUser,
    action: AuditAction,
    contact: ExternalContact | None = None,
    external_userid: str = "",
    outcome: str = "",
) -> AuditEntry:
    return AuditEntry.objects.create(
        user=user,
        username=user.get_username(),
        action=action,
        contact=contact,
        external_userid=external_userid or (contact.external_userid if contact else ""),
        outcome=outcome[:2000],
    )


def record_phone_search(
    *, user: AbstractBaseUser, term: str, list_name: str, found: int, contact: ExternalContact | None = None
) -> AuditEntry:
    """A search by phone number, by staff who may search by phone.

    The term is kept as typed: which number was tried is what the record is for, and the
    audit log is shown to superusers only, who may see every phone number anyway.
    """
    outcome = gettext("在「%(list)s」中搜索「%(term)s」：%(found)d 条结果") % {
        "list": list_name,
        "term": term.strip(),
        "found": found,
    }
    return record_audit(user=user, action=AuditAction.PHONE_SEARCH, contact=contact, outcome=outcome)


def refresh_contact_for_staff(
    *,
    external_userid: str,
    user: AbstractBaseUser,
    action: AuditAction = AuditAction.REFRESH,
    client: WeComClient | None = None,
) -> RefreshResult:
    """Refresh a parent on a staff member's request, and record it whatever the outcome.

    A run of one parent by the engine, under the staff policy: a web request never waits
    out WeCom's limits. Raises the parent's WeComError; CallsHeldBack when calls are paused
    or the budget is spent (it says when to try again); SharedCacheUnavailable when the
    shared cache does not answer.
    """
    outcomes: list[RefreshOutcome] = []
    try:
        summary = refresh_concurrently(
            external_userids=[external_userid],
            trigger=RefreshTrigger.STAFF,
            policy=RateLimitPolicy.for_staff(),
            triggered_by=user,
            client=client,
            concurrency=1,
            on_outcome=outcomes.append,
        )
        if outcomes and outcomes[0].result is not None:
            result = outcomes[0].result
            record_audit(user=user, action=action, contact=result.contact, outcome=result.changes.summary())
            return result
        error = outcomes[0].error if outcomes else summary.stopped_by
        raise error
    except (WeComError, CallsHeldBack, SharedCacheUnavailable) as error:
        record_audit(
            user=user,
            action=action,
            contact=ExternalContact.objects.filter(external_userid=external_userid.strip()).first(),
            external_userid=external_userid.strip()[:128],
            outcome=error.describe(),
        )
        raise
