"""Refresh many parents at once, within WeCom's limits; used by the background jobs and the commands.

A pool of WECOM_CONCURRENCY threads shares one `WeComClient`, so one access token (kept
in the shared cache) and one call budget (its rate limiter) serve them all. The client's
keep-alive connections are shared too: urllib3's pool is thread-safe, and cookies, the
one piece of state that is not, are never used by WeCom's API. Each thread has its own
database connection, closed when the thread is done.

What each kind of failure does:

- 45009 (calls over the limit): every caller sharing the cache pauses for the block's
  window, and the parent is tried again later; it fails only after MAX_ATTEMPTS tries.
- 45033 (too many concurrent calls) still failing after the client's own retries: a short
  pause for everybody, and the parent is tried again later, just as bounded.
- a configuration error (wrong secret, missing permission, untrusted IP) would fail every
  other parent alike: the run stops, the parents not yet tried are counted as such.
- WeCom unreachable for several parents in a row: it is down, the run stops likewise.
- anything else fails that parent only; the run goes on.

Outcomes go to `on_outcome` as they come, and only counts are kept, so a run over
20,000 parents needs no more memory than one over 20.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection

from contacts.models import RefreshTrigger
from contacts.services.batch import MAX_UNREACHABLE_IN_A_ROW, BatchSummary, RefreshOutcome, storing_failed
from contacts.services.checked import CheckedRecorder
from contacts.services.ratelimit import SharedRateLimiter
from contacts.services.refresh import refresh_contact
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import RATE_LIMIT_WINDOW_SECONDS, ErrorKind, WeComError

logger = logging.getLogger(__name__)

# Tries of one parent that WeCom asked to slow down (45009, 45033) before it counts as failed.
MAX_ATTEMPTS = 5
# After a 45033 that outlived the client's retries: long enough for WeCom's concurrent
# calls to drain, short enough not to stall a job.
BUSY_PAUSE_SECONDS = 5.0
ERRCODE_TOO_MANY_CONCURRENT = 45033


@dataclass
class RunSummary(BatchSummary):
    """The counts of a run; `retries` counts the tries put off because WeCom asked to slow down."""

    retries: int = 0


def default_concurrency() -> int:
    return max(int(getattr(settings, "WECOM_CONCURRENCY", 1)), 1)


def refresh_concurrently(
    *,
    external_userids: Iterable[str],
    trigger: RefreshTrigger,
    triggered_by: AbstractBaseUser | None = None,
    client: WeComClient | None = None,
    concurrency: int | None = None,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
    rate_limited_pause: float | None = None,
    busy_pause: float = BUSY_PAUSE_SECONDS,
    max_attempts: int = MAX_ATTEMPTS,
) -> RunSummary:
    """Refresh each parent once, `concurrency` at a time (WECOM_CONCURRENCY by default).

    `on_outcome` is called from the worker threads, one call at a time, once per parent
    that succeeded or failed for good. With a concurrency of 1, or a single parent, the
    work runs in the calling thread (and on its database connection).
    `rate_limited_pause` overrides the pause after a 45009 (WeCom's window, 60 s).
    """
    run = _Run(
        external_userids=external_userids,
        trigger=trigger,
        triggered_by=triggered_by,
        client=client or get_client(),
        on_outcome=on_outcome,
        rate_limited_pause=rate_limited_pause,
        busy_pause=busy_pause,
        max_attempts=max(max_attempts, 1),
    )
    threads = min(concurrency or default_concurrency(), run.summary.total)
    try:
        if threads <= 1:
            run.work()
        else:
            run.work_in_pool(threads)
    finally:
        run.checked.flush()
    return run.finish()


class _Run:
    def __init__(
        self,
        *,
        external_userids: Iterable[str],
        trigger: RefreshTrigger,
        triggered_by: AbstractBaseUser | None,
        client: WeComClient,
        on_outcome: Callable[[RefreshOutcome], None] | None,
        rate_limited_pause: float | None,
        busy_pause: float,
        max_attempts: int,
    ) -> None:
        self._pending: deque[str] = deque(dict.fromkeys(external_userids))
        self.summary = RunSummary(total=len(self._pending))
        self._trigger = trigger
        self._triggered_by = triggered_by
        self._client = client
        self._on_outcome = on_outcome
        self._rate_limited_pause = rate_limited_pause
        self._busy_pause = busy_pause
        self._max_attempts = max_attempts
        # Unchanged parents: their check times are written together.
        self.checked = CheckedRecorder()
        limiter = getattr(client, "rate_limiter", None)
        if isinstance(limiter, SharedRateLimiter):
            self._pauser, self._gate = limiter, None
        else:
            # A client without a shared limiter still has to honour pauses: wait here instead.
            self._gate = SharedRateLimiter(per_minute=0)
            self._pauser = self._gate
        # Guards the queue, the counts and the callback.
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._attempts: dict[str, int] = {}  # only parents put off at least once
        self._unreachable_in_a_row = 0
        self._crash: BaseException | None = None

    # -- running ------------------------------------------------------------------------

    def work(self) -> None:
        while (external_userid := self._next()) is not None:
            self._refresh(external_userid)

    def work_in_pool(self, threads: int) -> None:
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wecom-refresh") as pool:
            futures = [pool.submit(self._pooled_work) for _ in range(threads)]
            try:
                wait(futures)
            except BaseException:
                # Ctrl-C in a command: let each thread finish its parent, then stop.
                self._stop.set()
                raise

    def _pooled_work(self) -> None:
        try:
            self.work()
        except BaseException as exc:
            # Our own defect or a failing callback: stop the others and raise it in the caller.
            with self._lock:
                self._crash = self._crash or exc
            self._stop.set()
        finally:
            connection.close()

    def finish(self) -> RunSummary:
        if self._crash is not None:
            raise self._crash
        self.summary.skipped = len(self._pending)
        return self.summary

    def _next(self) -> str | None:
        with self._lock:
            if self._stop.is_set() or not self._pending:
                return None
            return self._pending.popleft()

    # -- one parent ---------------------------------------------------------------------

    def _refresh(self, external_userid: str) -> None:
        if self._gate is not None:
            self._gate.acquire()
        try:
            result = refresh_contact(
                external_userid=external_userid,
                trigger=self._trigger,
                triggered_by=self._triggered_by,
                client=self._client,
                checked=self.checked,
            )
        except WeComError as error:
            self._failed(external_userid, error)
        except Exception as exc:
            # A value the database refused, say: this parent fails, the run goes on.
            logger.exception("refreshing %s failed unexpectedly", external_userid)
            self._failed(external_userid, storing_failed(exc, external_userid))
        else:
            with self._lock:
                self._unreachable_in_a_row = 0
                self.summary.refreshed += 1
                self.summary.created += result.created
                self.summary.changed += not result.created and not result.changes.is_empty
                self._report(RefreshOutcome(external_userid, result=result))

    def _failed(self, external_userid: str, error: WeComError) -> None:
        pause = self._slow_down_for(error)
        if pause is not None:
            with self._lock:
                attempt = self._attempts.get(external_userid, 1)
                if attempt < self._max_attempts:
                    self._attempts[external_userid] = attempt + 1
                    self._pending.append(external_userid)
                    self.summary.retries += 1
                    logger.warning(
                        "WeCom asked to slow down (errcode %s): pausing %.0f s, %s tried again later",
                        error.errcode,
                        pause,
                        external_userid,
                    )
                    retry = True
                else:
                    retry = False
            if retry:
                self._pauser.pause(pause)
                return
        with self._lock:
            self._attempts.pop(external_userid, None)
            self.summary.failed += 1
            transient = error.kind is ErrorKind.TRANSIENT and pause is None
            self._unreachable_in_a_row = self._unreachable_in_a_row + 1 if transient else 0
            if self.summary.stopped_by is None and (
                error.kind is ErrorKind.CONFIGURATION or self._unreachable_in_a_row >= MAX_UNREACHABLE_IN_A_ROW
            ):
                self.summary.stopped_by = error
                self._stop.set()
            self._report(RefreshOutcome(external_userid, error=error))

    def _slow_down_for(self, error: WeComError) -> float | None:
        """How long everybody should pause for this error, or None when it is not a request to slow down."""
        if error.kind is ErrorKind.RATE_LIMITED:
            if self._rate_limited_pause is not None:
                return self._rate_limited_pause
            return float(error.retry_after or RATE_LIMIT_WINDOW_SECONDS)
        if error.errcode == ERRCODE_TOO_MANY_CONCURRENT:
            return self._busy_pause
        return None

    def _report(self, outcome: RefreshOutcome) -> None:
        """Called with the lock held, so callbacks never run at the same time."""
        if self._on_outcome is not None:
            self._on_outcome(outcome)
