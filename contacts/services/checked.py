"""Note that parents were checked and found unchanged: one UPDATE for many parents.

A refresh whose answer is identical to the stored one writes nothing but the time of
the check. Over a whole-school sync those times are gathered and written together,
`FLUSH_EVERY` parents (or `FLUSH_AFTER_SECONDS`) at a time, by a `CheckedRecorder`
shared by the sync's threads; a single refresh writes its own at once.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from contacts.db import one_writer_at_a_time
from contacts.models import ExternalContact, RefreshTrigger

FLUSH_EVERY = 500
FLUSH_AFTER_SECONDS = 10.0


def record_checked(
    *,
    contact_ids: list[int],
    checked_at: dt.datetime,
    trigger: RefreshTrigger | str,
    triggered_by_id: int | None = None,
) -> int:
    """Set the last successful refresh of these parents to `checked_at`; returns how many were set.

    A parent refreshed, or tried and failed, since `checked_at` keeps that newer record.
    """
    if not contact_ids:
        return 0
    with one_writer_at_a_time():
        return (
            ExternalContact.objects.filter(pk__in=contact_ids)
            .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=checked_at))
            .update(
                last_refreshed_at=checked_at,
                last_attempt_at=checked_at,
                last_trigger=trigger,
                last_triggered_by_id=triggered_by_id,
            )
        )


class CheckedRecorder:
    """Gathers unchanged parents from any number of threads and records them in batches.

    Call `flush()` when the run ends: what is still gathered is written then. Each batch
    is written with the earliest check time among its parents, so no parent is ever said
    to be checked later than it was.
    """

    def __init__(self, *, flush_every: int = FLUSH_EVERY, flush_after: float = FLUSH_AFTER_SECONDS) -> None:
        self._flush_every = max(flush_every, 1)
        self._flush_after = flush_after
        self._lock = threading.Lock()
        # (trigger, triggered_by_id) -> [(contact id, checked at)]: a run has one of each, but nothing relies on it.
        self._pending: defaultdict[tuple[str, int | None], list[tuple[int, dt.datetime]]] = defaultdict(list)
        self._count = 0
        self._first_added: float | None = None

    def add(
        self,
        *,
        contact_id: int,
        checked_at: dt.datetime,
        trigger: RefreshTrigger | str,
        triggered_by: AbstractBaseUser | None = None,
    ) -> None:
        key = (str(trigger), triggered_by.pk if triggered_by is not None else None)
        with self._lock:
            self._pending[key].append((contact_id, checked_at))
            self._count += 1
            if self._first_added is None:
                self._first_added = time.monotonic()
            due = self._count >= self._flush_every or time.monotonic() - self._first_added >= self._flush_after
            batches = self._take() if due else {}
        self._write(batches)

    def flush(self) -> None:
        with self._lock:
            batches = self._take()
        self._write(batches)

    def _take(self) -> dict[tuple[str, int | None], list[tuple[int, dt.datetime]]]:
        batches, self._pending = dict(self._pending), defaultdict(list)
        self._count, self._first_added = 0, None
        return batches

    @staticmethod
    def _write(batches: dict[tuple[str, int | None], list[tuple[int, dt.datetime]]]) -> None:
        for (trigger, triggered_by_id), checked in batches.items():
            record_checked(
                contact_ids=[contact_id for contact_id, _ in checked],
                checked_at=min(at for _, at in checked),
                trigger=trigger,
                triggered_by_id=triggered_by_id,
            )
