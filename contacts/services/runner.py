"""The one engine that refreshes many parents: the admin's action, the commands and the background jobs.

Its rules are the same for all; what differs is a parameter: the `RateLimitPolicy` says
how long WeCom's limits are waited out (a web request not at all), the concurrency how
many parents are refreshed at once.

A pool of `concurrency` threads shares one `WeComClient`, so one access token (kept in
the shared cache) and one call budget (its rate limiter) serve them all. The client's
keep-alive connections are shared too: urllib3's pool is thread-safe, and cookies, the
one piece of state that is not, are never used by WeCom's API. Each thread has its own
database connection, closed when the thread is done.

What each kind of failure does:

- WeCom's limits: 45009 (calls over the limit), 45033 (too many concurrent calls) still
  failing after the client's own retries, and a pause or spent budget that would hold a
  call back longer than MAX_WAIT_IN_A_CALL. Every caller sharing the cache pauses (the
  block's window after a 45009, a short pause after a 45033), and the parent goes back to
  the end of the queue: no parent ever fails because of a limit. Once the limits have
  lasted the policy's patience in a row, the run gives up: the parents not refreshed are
  counted as left, for a later run, and `stopped_by` says why and when to try again.
- a configuration error (wrong secret, missing permission, untrusted IP) would fail every
  other parent alike: the run stops, the parents not yet tried are left.
- WeCom unreachable for several parents in a row: it is down, the run stops likewise.
- the shared cache unreachable: nothing can work, the run stops at once and raises
  SharedCacheUnavailable in the caller (one error, not one per parent).
- anything else fails that parent only; the run goes on.

Outcomes go to `on_outcome` as they come, and only counts are kept, so a run over
20,000 parents needs no more memory than one over 20.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils.translation import gettext_lazy as _

from contacts.bilingual import in_language
from contacts.models import RefreshTrigger
from contacts.services.checked import CheckedRecorder
from contacts.services.ratelimit import MAX_WAIT_IN_A_CALL, CallsHeldBack, SharedRateLimiter, clock_time
from contacts.services.refresh import RefreshResult, refresh_contact
from contacts.sharedcache import SharedCacheUnavailable
from contacts.wecom.client import WeComClient, get_client
from contacts.wecom.errors import RATE_LIMIT_WINDOW_SECONDS, STORING_FAILED, ErrorKind, WeComError

logger = logging.getLogger(__name__)

# After a 45033 that outlived the client's retries: long enough for WeCom's concurrent
# calls to drain, short enough not to stall a job.
BUSY_PAUSE_SECONDS = 5.0
ERRCODE_TOO_MANY_CONCURRENT = 45033
# When this many parents in a row find WeCom unreachable, it is down: stop, don't wait out every parent.
MAX_UNREACHABLE_IN_A_ROW = 5
# A thread waiting out a limit looks this often whether the run has stopped meanwhile.
WAIT_STEP_SECONDS = 1.0

GAVE_UP_ON_LIMITS = _(
    "企业微信持续限制调用频率（连续 %(seconds)d 秒），已停止；未刷新的家长留待下次，"
    "请在 %(time)s（北京时间）之后再试。"
)

Limit = WeComError | CallsHeldBack


@dataclass(frozen=True)
class RateLimitPolicy:
    """How a run meets WeCom's limits.

    `patience`: seconds of limits in a row waited out before the run gives up; 0 gives up
    at the first. `limit_pause`: how long everybody pauses after a 45009; `busy_pause`,
    after a 45033.
    """

    patience: float
    limit_pause: float = RATE_LIMIT_WINDOW_SECONDS
    busy_pause: float = BUSY_PAUSE_SECONDS

    @classmethod
    def for_staff(cls) -> RateLimitPolicy:
        """A web request: it never waits out a limit; staff are told when to try again."""
        return cls(patience=0, limit_pause=settings.WECOM_RATE_LIMIT_PAUSE)

    @classmethod
    def for_command(cls) -> RateLimitPolicy:
        """A command: it gives up within 2 minutes (WECOM_COMMAND_PATIENCE)."""
        return cls(patience=settings.WECOM_COMMAND_PATIENCE, limit_pause=settings.WECOM_RATE_LIMIT_PAUSE)

    @classmethod
    def for_job(cls) -> RateLimitPolicy:
        """A background job: it pauses, and gives up after WECOM_JOB_PATIENCE (10 minutes) of limits in a row."""
        return cls(patience=settings.WECOM_JOB_PATIENCE, limit_pause=settings.WECOM_RATE_LIMIT_PAUSE)


@dataclass(frozen=True)
class RefreshOutcome:
    external_userid: str
    result: RefreshResult | None = None
    error: WeComError | None = None


@dataclass(frozen=True)
class Pause:
    """The run waits out a limit until `until`; `by_wecom` is False when this app's own budget is spent."""

    until: dt.datetime
    by_wecom: bool


@dataclass
class RunSummary:
    """The counts of a run.

    `left`: parents neither refreshed nor failed (never tried, or put back by a limit when
    the run stopped). `retries`: tries put off because WeCom asked to slow down. When the
    run gave up on WeCom's limits, `limited_for` says how long they had lasted and
    `next_try` (wall-clock seconds) from when calls may go again.
    """

    total: int = 0
    refreshed: int = 0
    created: int = 0
    changed: int = 0
    failed: int = 0
    left: int = 0
    retries: int = 0
    stopped_by: Limit | None = None
    limited_for: float | None = None
    next_try: float | None = None

    @property
    def gave_up_on_limits(self) -> bool:
        return self.next_try is not None

    def stop_reason(self, *, language: str | None = None) -> str:
        """Why the run stopped and what to do; both languages without `language` (commands, job errors)."""
        if self.stopped_by is None:
            return ""
        if not self.gave_up_on_limits:
            return self.stopped_by.describe(language=language)
        text = in_language(
            GAVE_UP_ON_LIMITS, language=language, seconds=round(self.limited_for or 0), time=clock_time(self.next_try)
        )
        if isinstance(self.stopped_by, WeComError):
            text += " — " + self.stopped_by.describe(language=language)
        return text

    def __str__(self) -> str:
        text = (
            f"{self.total} parent(s): {self.refreshed} refreshed ({self.created} new, {self.changed} changed), "
            f"{self.failed} failed"
        )
        if self.left:
            text += f", {self.left} left for a later run"
        return text + "."


def storing_failed(error: Exception, external_userid: str) -> WeComError:
    """A parent's refresh failed on our side (a database error, say): reported like WeCom's errors."""
    return WeComError(
        f"storing {external_userid} failed: {type(error).__name__}", reason=STORING_FAILED, detail=type(error).__name__
    )


def default_concurrency() -> int:
    return max(int(getattr(settings, "WECOM_CONCURRENCY", 1)), 1)


def refresh_concurrently(
    *,
    external_userids: Iterable[str],
    trigger: RefreshTrigger,
    policy: RateLimitPolicy,
    triggered_by: AbstractBaseUser | None = None,
    client: WeComClient | None = None,
    concurrency: int | None = None,
    on_outcome: Callable[[RefreshOutcome], None] | None = None,
    on_pause: Callable[[Pause], None] | None = None,
) -> RunSummary:
    """Refresh each parent once, `concurrency` at a time (WECOM_CONCURRENCY by default).

    `on_outcome` is called from the worker threads, one call at a time, once per parent
    that succeeded or failed for good; `on_pause` likewise when the run starts waiting out
    a limit (a job shows it on its page). With a concurrency of 1, or a single parent, the
    work runs in the calling thread (and on its database connection).

    Without a `client`, one from the settings whose calls wait at most MAX_WAIT_IN_A_CALL
    for their turn, so that longer waits come back here, where the policy rules them.
    Raises SharedCacheUnavailable when the shared cache cannot be reached.
    """
    run = _Run(
        external_userids=external_userids,
        trigger=trigger,
        policy=policy,
        triggered_by=triggered_by,
        client=client or get_client(max_wait=MAX_WAIT_IN_A_CALL),
        on_outcome=on_outcome,
        on_pause=on_pause,
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
        policy: RateLimitPolicy,
        triggered_by: AbstractBaseUser | None,
        client: WeComClient,
        on_outcome: Callable[[RefreshOutcome], None] | None,
        on_pause: Callable[[Pause], None] | None,
    ) -> None:
        self._pending: deque[str] = deque(dict.fromkeys(external_userids))
        self.summary = RunSummary(total=len(self._pending))
        self._trigger = trigger
        self._policy = policy
        self._triggered_by = triggered_by
        self._client = client
        self._on_outcome = on_outcome
        self._on_pause = on_pause
        # Unchanged parents: their check times are written together.
        self.checked = CheckedRecorder()
        limiter = getattr(client, "rate_limiter", None)
        if isinstance(limiter, SharedRateLimiter):
            self._limiter, self._gate = limiter, None
        else:
            # A client without a shared limiter still has to honour pauses: wait here instead.
            self._gate = SharedRateLimiter(per_minute=0, max_wait=MAX_WAIT_IN_A_CALL)
            self._limiter = self._gate
        # Guards the queue, the counts and the callbacks.
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._unreachable_in_a_row = 0
        self._limited_since: float | None = None  # the first limit with no success since
        self._announced_until = 0.0
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
            # The shared cache down, our own defect or a failing callback: stop the others
            # and raise it in the caller.
            with self._lock:
                self._crash = self._crash or exc
            self._stop.set()
        finally:
            connection.close()

    def finish(self) -> RunSummary:
        if self._crash is not None:
            raise self._crash
        self.summary.left = len(self._pending)
        return self.summary

    def _next(self) -> str | None:
        with self._lock:
            if self._stop.is_set() or not self._pending:
                return None
            return self._pending.popleft()

    # -- one parent ---------------------------------------------------------------------

    def _refresh(self, external_userid: str) -> None:
        try:
            if self._gate is not None:
                self._gate.acquire()
            result = refresh_contact(
                external_userid=external_userid,
                trigger=self._trigger,
                triggered_by=self._triggered_by,
                client=self._client,
                checked=self.checked,
            )
        except SharedCacheUnavailable:
            self._put_back(external_userid)
            raise
        except CallsHeldBack as held:
            self._limited(external_userid, held)
        except WeComError as error:
            if _is_limit(error):
                self._limited(external_userid, error)
            else:
                self._failed(external_userid, error)
        except Exception as exc:
            # A value the database refused, say: this parent fails, the run goes on.
            logger.exception("refreshing %s failed unexpectedly", external_userid)
            self._failed(external_userid, storing_failed(exc, external_userid))
        else:
            with self._lock:
                self._unreachable_in_a_row = 0
                self._limited_since = None
                self.summary.refreshed += 1
                self.summary.created += result.created
                self.summary.changed += not result.created and not result.changes.is_empty
                self._report(RefreshOutcome(external_userid, result=result))

    def _put_back(self, external_userid: str) -> None:
        with self._lock:
            self._pending.append(external_userid)

    def _failed(self, external_userid: str, error: WeComError) -> None:
        with self._lock:
            self.summary.failed += 1
            self._unreachable_in_a_row = self._unreachable_in_a_row + 1 if error.kind is ErrorKind.TRANSIENT else 0
            if self.summary.stopped_by is None and (
                error.kind is ErrorKind.CONFIGURATION or self._unreachable_in_a_row >= MAX_UNREACHABLE_IN_A_ROW
            ):
                self.summary.stopped_by = error
                self._stop.set()
            self._report(RefreshOutcome(external_userid, error=error))

    # -- WeCom's limits -----------------------------------------------------------------

    def _limited(self, external_userid: str, error: Limit) -> None:
        """The parent goes back in the queue; everybody pauses; the run waits, or gives up when out of patience."""
        pause = self._pause_for(error)
        if pause:
            self._limiter.pause(pause)
        now = self._limiter.clock()
        next_try = error.until if isinstance(error, CallsHeldBack) else now + pause
        with self._lock:
            self._pending.append(external_userid)
            self.summary.retries += 1
            if self._limited_since is None:
                self._limited_since = now
            if next_try - self._limited_since > self._policy.patience:
                if self.summary.stopped_by is None:
                    self.summary.stopped_by = error
                    self.summary.limited_for = now - self._limited_since
                    self.summary.next_try = next_try
                    logger.warning("WeCom kept limiting calls for %.0f s: the run gives up", now - self._limited_since)
                self._stop.set()
                return
            logger.warning("WeCom asked to slow down (%s): waiting %.0f s", error, next_try - now)
            if next_try > self._announced_until and self._on_pause is not None:
                by_wecom = not isinstance(error, CallsHeldBack) or error.by_wecom
                self._on_pause(Pause(until=dt.datetime.fromtimestamp(next_try, tz=dt.UTC), by_wecom=by_wecom))
            self._announced_until = max(self._announced_until, next_try)
        self._wait_until(next_try)

    def _pause_for(self, error: Limit) -> float:
        """How long everybody should pause for this limit (a pause already in force needs none more)."""
        if isinstance(error, CallsHeldBack):
            return 0.0
        if error.errcode == ERRCODE_TOO_MANY_CONCURRENT:
            return self._policy.busy_pause
        return self._policy.limit_pause

    def _wait_until(self, wall: float) -> None:
        # In steps, so that a thread whose run stopped meanwhile does not sleep on.
        while not self._stop.is_set():
            left = wall - self._limiter.clock()
            if left <= 0:
                return
            self._limiter.sleep(min(left, WAIT_STEP_SECONDS))

    def _report(self, outcome: RefreshOutcome) -> None:
        """Called with the lock held, so callbacks never run at the same time."""
        if self._on_outcome is not None:
            self._on_outcome(outcome)


T = TypeVar("T")


class LimitsOutlasted(Exception):
    """WeCom kept limiting calls for longer than the policy's patience; `error` is its last answer."""

    def __init__(self, *, error: Limit, limited_for: float, next_try: float) -> None:
        super().__init__(f"WeCom kept limiting calls for {limited_for:.0f} s")
        self.error = error
        self.limited_for = limited_for
        self.next_try = next_try


def call_within_limits(
    call: Callable[[], T],
    *,
    client: WeComClient,
    policy: RateLimitPolicy,
    on_pause: Callable[[Pause], None] | None = None,
) -> T:
    """`call()`, a series of WeCom calls (the roster's, say), tried again after each of WeCom's limits.

    The same rules as the engine's: everybody sharing the cache pauses, `on_pause` hears until
    when, and after the policy's patience of limits in a row it raises LimitsOutlasted.
    """
    limiter = client.rate_limiter if isinstance(client.rate_limiter, SharedRateLimiter) else None
    clock = limiter.clock if limiter is not None else time.time
    sleep = limiter.sleep if limiter is not None else time.sleep
    limited_since: float | None = None
    while True:
        try:
            return call()
        except (WeComError, CallsHeldBack) as error:
            if isinstance(error, WeComError) and not _is_limit(error):
                raise
            now = clock()
            if isinstance(error, CallsHeldBack):
                next_try = error.until
            else:
                pause = policy.busy_pause if error.errcode == ERRCODE_TOO_MANY_CONCURRENT else policy.limit_pause
                if limiter is not None:
                    limiter.pause(pause)
                next_try = now + pause
            limited_since = now if limited_since is None else limited_since
            if next_try - limited_since > policy.patience:
                raise LimitsOutlasted(error=error, limited_for=now - limited_since, next_try=next_try) from error
            logger.warning("WeCom asked to slow down (%s): waiting %.0f s", error, next_try - now)
            if on_pause is not None:
                by_wecom = not isinstance(error, CallsHeldBack) or error.by_wecom
                on_pause(Pause(until=dt.datetime.fromtimestamp(next_try, tz=dt.UTC), by_wecom=by_wecom))
            sleep(max(next_try - clock(), 0.0))


def _is_limit(error: WeComError) -> bool:
    return error.kind is ErrorKind.RATE_LIMITED or error.errcode == ERRCODE_TOO_MANY_CONCURRENT
