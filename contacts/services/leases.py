"""Keep a claim on background work alive while the work runs, whatever the work is doing.

Jobs' parents, an export being written and a WeCom event being applied are each claimed by the
worker doing them, for JOB_LEASE_SECONDS. While the worker lives a thread of its own renews the
claim every quarter lease, even while the work waits on WeCom (a 45009 pauses every caller for
a minute) or writes a large file; a worker that dies renews nothing, its claim runs out, and
another worker takes the work up: a watch task (`queue_watch`), queued again and again while the
work is not done, hands it over.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from django_tasks.base import Task

logger = logging.getLogger(__name__)


def lease_duration() -> dt.timedelta:
    """How long a worker's claim lasts unless renewed (JOB_LEASE_SECONDS)."""
    return dt.timedelta(seconds=settings.JOB_LEASE_SECONDS)


def queue_watch(watch: Task, *args: Any, after: dt.timedelta) -> None:
    """Queue `watch`, the task that looks after a dead worker's work, to run `after` from now.

    Not where tasks run inline (TASK_BACKEND=immediate): there the work is done already, in this process.
    """
    if not watch.get_backend().supports_defer:
        return
    watch.using(run_after=timezone.now() + after).enqueue(*args)


class Renewing:
    """In the `with` block, `renew()` runs every quarter lease in a thread of its own.

    A renewal that fails (the database away for a moment) is logged and tried again at the next
    turn: until the claim runs out, nothing is lost.
    """

    def __init__(self, renew: Callable[[], object], *, what: str) -> None:
        self._renew = renew
        self._what = what
        self._every = lease_duration().total_seconds() / 4
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew_until_stopped, name=f"renew {what}", daemon=True)

    def __enter__(self) -> Renewing:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _renew_until_stopped(self) -> None:
        try:
            while not self._stop.wait(self._every):
                try:
                    self._renew()
                except DatabaseError:
                    logger.warning("renewing the claim on %s failed", self._what)
        finally:
            connection.close()
