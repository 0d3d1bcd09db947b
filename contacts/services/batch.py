"""Refresh many parents in a row, reporting each outcome as it comes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser

from contacts.models import RefreshTrigger
from contacts.services.refresh import RefreshResult, refresh_contact
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import STORING_FAILED, ErrorKind, WeComError

logger = logging.getLogger(__name__)

# When this many parents in a row find WeCom unreachable, it is down: stop, don't wait out every parent.
MAX_UNREACHABLE_IN_A_ROW = 5


def storing_failed(error: Exception, external_userid: str) -> WeComError:
    """A parent's refresh failed on our side (a database error, say): reported like WeCom's errors."""
    return WeComError(
        f"storing {external_userid} failed: {type(error).__name__}", reason=STORING_FAILED, detail=type(error).__name__
    )


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

    Errors that would fail every other parent alike stop the batch, and the rest are
    counted as not tried: a configuration error (wrong secret, missing permission,
    untrusted IP), WeCom's rate limit (more calls would prolong the block), and
    WeCom being unreachable for several parents in a row.
    """
    client = client or get_client()
    pending = list(dict.fromkeys(external_userids))
    summary = BatchSummary(total=len(pending))
    unreachable_in_a_row = 0
    for position, external_userid in enumerate(pending):
        try:
            result = refresh_contact(
                external_userid=external_userid, trigger=trigger, triggered_by=triggered_by, client=client
            )
        except Exception as exc:
            if isinstance(exc, WeComError):
                error = exc
            else:
                # A value the database refused, say: this parent fails, the batch goes on.
                logger.exception("refreshing %s failed unexpectedly", external_userid)
                error = storing_failed(exc, external_userid)
            summary.failed += 1
            if on_outcome:
                on_outcome(RefreshOutcome(external_userid, error=error))
            unreachable_in_a_row = unreachable_in_a_row + 1 if error.kind is ErrorKind.TRANSIENT else 0
            if (
                error.kind in (ErrorKind.CONFIGURATION, ErrorKind.RATE_LIMITED)
                or unreachable_in_a_row >= MAX_UNREACHABLE_IN_A_ROW
            ):
                summary.skipped = len(pending) - position - 1
                summary.stopped_by = error
                break
            continue
        unreachable_in_a_row = 0
        summary.refreshed += 1
        summary.created += result.created
        summary.changed += not result.created and not result.changes.is_empty
        if on_outcome:
            on_outcome(RefreshOutcome(external_userid, result=result))
    return summary
