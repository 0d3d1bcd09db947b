"""Staff actions that reach WeCom or reveal personal data, and the audit trail they leave."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext_noop

from contacts.models import AuditAction, AuditEntry, ExternalContact, RefreshTrigger
from contacts.services.batch import RefreshOutcome
from contacts.services.refresh import RefreshResult, refresh_contact
from contacts.texts import Message, TextCatalogue, changes_value, error_value
from contacts.wecom.client import WeComClient
from contacts.wecom.errors import WeComError

AUDIT_RESULTS = TextCatalogue(
    {
        "refreshed": gettext_noop("已刷新：%(changes)s"),
        "failed": gettext_noop("失败：%(error)s"),
    }
)


def refresh_result(outcome: RefreshOutcome) -> Message:
    """What an audit entry keeps of one refresh: the changes, or the error."""
    if outcome.error is not None:
        return AUDIT_RESULTS.message("failed", error=error_value(outcome.error))
    return AUDIT_RESULTS.message("refreshed", changes=changes_value(outcome.result.changes))


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


def refresh_contact_for_staff(
    *,
    external_userid: str,
    user: AbstractBaseUser,
    action: AuditAction = AuditAction.REFRESH,
    client: WeComClient | None = None,
) -> RefreshResult:
    """Refresh a parent on a staff member's request, and record it whatever the outcome."""
    try:
        result = refresh_contact(
            external_userid=external_userid, trigger=RefreshTrigger.STAFF, triggered_by=user, client=client
        )
    except WeComError as error:
        record_audit(
            user=user,
            action=action,
            contact=ExternalContact.objects.filter(external_userid=external_userid.strip()).first(),
            external_userid=external_userid.strip()[:128],
            result=refresh_result(RefreshOutcome(external_userid, error=error)),
        )
        raise
    record_audit(
        user=user,
        action=action,
        contact=result.contact,
        result=refresh_result(RefreshOutcome(result.contact.external_userid, result=result)),
    )
    return result
