"""Staff actions that reach WeCom, reveal personal data or search by phone, and the audit trail they leave."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext, gettext_noop

from contacts.models import AuditAction, AuditEntry, ExternalContact, RefreshTrigger
from contacts.selectors import member_names
from contacts.services.ratelimit import CallsHeldBack
from contacts.services.refresh import RefreshResult
from contacts.services.runner import RateLimitPolicy, RefreshOutcome, refresh_concurrently
from contacts.sharedcache import SharedCacheUnavailable
from contacts.texts import Message, TextCatalogue, changes_value, problem_value
from contacts.wecom.client import WeComClient
from contacts.wecom.errors import WeComError


def _phone_search(values: Mapping[str, Any]) -> str:
    # The list is stored as its model, and named in the reader's language.
    try:
        list_name = str(apps.get_model(values["list"])._meta.verbose_name_plural)
    except LookupError:
        list_name = values["list"]
    return gettext("在「%(list)s」中搜索「%(term)s」：%(found)d 条结果") % {**values, "list": list_name}


AUDIT_RESULTS = TextCatalogue(
    {
        "refreshed": gettext_noop("已刷新：%(changes)s"),
        "failed": gettext_noop("失败：%(error)s"),
        "phone_search": _phone_search,
    }
)


def refresh_result(outcome: RefreshOutcome) -> Message:
    """What an audit entry keeps of one refresh: the changes, with the teachers' names, or the error."""
    if outcome.error is not None:
        return failed_result(outcome.error)
    changes = outcome.result.changes
    names = member_names(userids=changes.teacher_userids)
    return AUDIT_RESULTS.message("refreshed", changes=changes_value(changes, names=names))


def failed_result(problem: WeComError | CallsHeldBack | SharedCacheUnavailable) -> Message:
    """What an audit entry keeps of a refresh that could not be done."""
    return AUDIT_RESULTS.message("failed", error=problem_value(problem))


def audit_result_text(entry: AuditEntry) -> str:
    """The entry's result in the reader's language."""
    return AUDIT_RESULTS.stored_text(entry.result, legacy=entry.outcome)


def record_audit(
    *,
    user: AbstractBaseUser,
    action: AuditAction,
    contact: ExternalContact | None = None,
    external_userid: str = "",
    result: Message | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        user=user,
        username=user.get_username(),
        action=action,
        contact=contact,
        external_userid=external_userid or (contact.external_userid if contact else ""),
        result=result,
    )


def record_phone_search(
    *, user: AbstractBaseUser, term: str, list_model: str, found: int, contact: ExternalContact | None = None
) -> AuditEntry:
    """A search by phone number, by staff who may search by phone, in the list of `list_model` ("app.model").

    The term is kept as typed: which number was tried is what the record is for, and the
    audit log is shown to superusers only, who may see every phone number anyway.
    """
    result = AUDIT_RESULTS.message("phone_search", list=list_model, term=term.strip(), found=found)
    return record_audit(user=user, action=AuditAction.PHONE_SEARCH, contact=contact, result=result)


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
            record_audit(user=user, action=action, contact=result.contact, result=refresh_result(outcomes[0]))
            return result
        error = outcomes[0].error if outcomes else summary.stopped_by
        raise error
    except (WeComError, CallsHeldBack, SharedCacheUnavailable) as error:
        record_audit(
            user=user,
            action=action,
            contact=ExternalContact.objects.filter(external_userid=external_userid.strip()).first(),
            external_userid=external_userid.strip()[:128],
            result=failed_result(error),
        )
        raise
