"""Refresh many parents in a row, reporting each outcome as it comes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from contacts.models import RefreshTrigger
from contacts.services.refresh import RefreshResult, refresh_contact
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import ErrorKind, WeComError


@dataclass(frozen=True)
class RefreshOutcome:
    external_userid: str
    result: RefreshResult | None = None
    error: WeComError | None = None


@dataclass
class BatchSummary:
    total: int = 0
    refreshed: int = 0
    created: int = 0
    changed: int = 0
    failed: int = 0
    skipped: int = 0
    stopped_by: WeComError | None = None

    def __str__(self) -> str:
        text = (
            f"{self.total} parent(s): {self.refreshed} refreshed ({self.created} new, {self.changed} changed), "
            f"{self.failed} failed"
        )
        if self.skipped:
            text += f", {self.skipped} not tried"
        return text + "."


def refresh_many(
    *,
    external_userids: Iterable[str],
    trigger: RefreshTrigger,
    triggered_by: AbstractBaseUser | None = None,
    client: WeComClient | None = None,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
) -> BatchSummary:
    """Refresh each parent; one parent's error never stops the others.

    A configuration error (wrong secret, missing permission, untrusted IP) would fail
    every parent alike, so it stops the batch and the rest are counted as not tried.
    """
    client = client or get_client()
    pending = list(dict.fromkeys(external_userids))
    summary = BatchSummary(total=len(pending))
    for position, external_userid in enumerate(pending):
        try:
            result = refresh_contact(
                external_userid=external_userid, trigger=trigger, triggered_by=triggered_by, client=client
            )
        except WeComError as error:
            summary.failed += 1
            if on_outcome:
                on_outcome(RefreshOutcome(external_userid, error=error))
            if error.kind is ErrorKind.CONFIGURATION:
                summary.skipped = len(pending) - position - 1
                summary.stopped_by = error
                break
            continue
        summary.refreshed += 1
        summary.created += result.created
        summary.changed += not result.created and not result.changes.is_empty
        if on_outcome:
            on_outcome(RefreshOutcome(external_userid, result=result))
    return summary
