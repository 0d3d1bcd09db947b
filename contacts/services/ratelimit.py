"""A call budget shared by every thread and process that talks to WeCom for one app.

WeCom counts calls per organisation and per API: 10,000 a minute and 150,000 an hour
(doc 90454), and a caller over a limit is blocked for the rest of the window (errcode
45009). Jobs and commands run several threads on several machines, so the budget lives in
the Django cache they all share (Redis in production, the database cache by default).
Both budgets are kept:

- WECOM_RATE_PER_MINUTE: the minute is cut into slices (one second each when the budget
  allows), and each slice gets its share of the budget, counted under a key named after
  the slice (wall-clock time, so every machine agrees, as long as their clocks are kept in
  sync). A whole minute's budget in one window could be spent in a burst at the end of one
  minute and again at the start of the next, twice the budget in 60 s; with slices any
  60 s hold at most one slice more than a minute's worth (61/60 of the budget), whichever
  way WeCom counts its minute.
- WECOM_RATE_PER_HOUR: calls are also counted per minute of the clock, and a call is
  allowed while that minute and the 59 before it hold less than the budget: any 60
  minutes hold at most the budget and one minute's calls more, whichever way WeCom counts.

A process does not ask the shared cache about every call. It reserves slots in blocks
(as many as it used in the previous slice, up to BLOCK_MAX; one at first, then doubling)
and hands them to its threads. Slots still unused when their slice ends are dropped,
never carried over, so the shared counts stay an upper bound of the calls made. A busy
process makes a few round trips a second, whatever its rate; the 59 earlier minutes are
read once a minute. Concurrency is bounded separately (WECOM_CONCURRENCY).

`pause(seconds)` stops every caller sharing the cache until then: after a 45009 the block
lasts the rest of the window, and more calls would only prolong it. A process hears of
another's pause when it next reserves slots, within one slice.

A caller that must not hang (a web request, or the refresh engine, which waits out long
pauses itself so that a job's page can show them) sets `max_wait`: a longer wait raises
CallsHeldBack instead of sleeping.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import random
import threading
import time
import uuid
from collections.abc import Callable

from django.core.cache.backends.base import BaseCache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contacts.bilingual import in_language
from contacts.sharedcache import SharedCache

MINUTE = 60
MAX_SLICES = 60
MINUTES_IN_AN_HOUR = 60
# A counter key outlives its window a little, so that a clock a few seconds behind still
# finds it; then the cache drops it by itself.
SLICE_KEY_LIFETIME = MINUTE * 2
MINUTE_KEY_LIFETIME = (MINUTES_IN_AN_HOUR + 2) * MINUTE
# The most slots a process reserves at once: few round trips, little budget held idle.
BLOCK_MAX = 20
# With no budget at all only pauses are looked up, once a slice.
UNLIMITED_BLOCK = 1 << 62
# When a window is full, callers wake up just after the next one starts, spread over this
# many seconds so that they do not all hit the cache at the same instant.
WAKE_UP_SPREAD = 0.05
# Backends whose incr() is a get and a set (the database and file caches) are made atomic
# with a short lock of their own; a lock older than this belongs to a dead process.
COUNTER_LOCK_TIMEOUT = 5
COUNTER_LOCK_POLL = 0.005
DEFAULT_KEY_PREFIX = "wecom:ratelimit"
# The longest a web request, or the engine, waits for its turn inside one call.
MAX_WAIT_IN_A_CALL = 5.0

HELD_BY_WECOM = _("企业微信限制了调用频率，调用已暂停，请在 %(time)s（北京时间）之后再试。")
HELD_BY_BUDGET = _(
    "本系统的企业微信调用额度（WECOM_RATE_PER_MINUTE / WECOM_RATE_PER_HOUR）已用完，"
    "请在 %(time)s（北京时间）之后再试。"
)


class CallsHeldBack(Exception):
    """A call would have had to wait longer than its caller may: no call was made.

    `by_wecom`: WeCom's limit answers paused every caller; otherwise this app's own budget is spent.
    `until` is the wall-clock time from which a call may go again.
    """

    def __init__(self, *, until: float, by_wecom: bool) -> None:
        cause = "a pause after WeCom's limit" if by_wecom else "the call budget spent"
        super().__init__(f"WeCom calls held back until {until:.0f} ({cause})")
        self.until = until
        self.by_wecom = by_wecom

    def describe(self, *, language: str | None = None) -> str:
        text = HELD_BY_WECOM if self.by_wecom else HELD_BY_BUDGET
        return in_language(text, language=language, time=clock_time(self.until))


def clock_time(wall: float) -> str:
    """hh:mm (the site's time zone, Beijing) of a wall-clock time, rounded up to the minute: not before."""
    minute = dt.datetime.fromtimestamp(math.ceil(wall / MINUTE) * MINUTE, tz=dt.UTC)
    return timezone.localtime(minute).strftime("%H:%M")


class SharedRateLimiter:
    """At most `per_minute` calls a minute (61/60 of it in any 60 s) and `per_hour` in any hour (plus a
    minute's calls), across every user of `cache`.

    A budget of 0 or less means none: with neither, `acquire()` only honours pauses.
    `clock` is wall-clock seconds (time.time) and `sleep` waits; tests pass fakes.
    """

    def __init__(
        self,
        *,
        per_minute: int,
        per_hour: int = 0,
        cache: BaseCache | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float | None = None,
    ) -> None:
        if cache is None:
            from django.core.cache import cache as default_cache

            cache = default_cache
        self.per_minute = max(int(per_minute), 0)
        self.per_hour = max(int(per_hour), 0)
        # A budget below 60 a minute gets fewer, longer slices, each allowing one call or more.
        self._slices = min(MAX_SLICES, self.per_minute) or MAX_SLICES
        self._slice_seconds = MINUTE / self._slices
        self._slice_budget = self.per_minute // self._slices if self.per_minute else None
        self._cache = SharedCache(cache)
        self._prefix = key_prefix
        self._pause_key = f"{key_prefix}:paused-until"
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self._atomic_incr: bool | None = None

        # What this process holds and knows, shared by its threads under the lock.
        self._lock = threading.Lock()
        self._slice: int | None = None  # the slice the slots below belong to
        self._slots = 0
        self._slots_minute = 0  # the minute whose hour count holds them
        self._pause_read = False  # whether the shared pause was looked up in that slice
        self._spent_until = 0.0  # a budget is spent until then: no need to ask again before
        self._used = 0  # calls granted in that slice
        self._used_before = 0  # in the slice just before it
        self._paused_until = 0.0
        self._earlier_minutes: tuple[int, int] | None = None  # (minute, calls in the 59 before it)

    @property
    def unlimited(self) -> bool:
        return self.per_minute == 0 and self.per_hour == 0

    def acquire(self) -> None:
        """Wait until this caller may make one call, then count it.

        Raises CallsHeldBack when that would take longer than `max_wait`.
        """
        deadline = None if self.max_wait is None else self.clock() + self.max_wait
        while True:
            now = self.clock()
            with self._lock:
                wait_until, by_wecom = self._take_slot(now)
            if wait_until is None:
                return
            if deadline is not None and wait_until > deadline:
                raise CallsHeldBack(until=wait_until, by_wecom=by_wecom)
            self.sleep(max(wait_until - now, 0.0) + random.uniform(0, WAKE_UP_SPREAD))  # noqa: S311

    def pause(self, seconds: float) -> None:
        """Make every caller sharing the cache wait `seconds` from now (a longer pause in force stays)."""
        if seconds <= 0:
            return
        until = self.clock() + seconds
        with self._lock:
            self._paused_until = max(self._paused_until, until)
        if until > self._shared_pause():
            # Not atomic: two pauses set at once leave one of them, and both are about as long.
            self._cache.set(self._pause_key, until, timeout=math.ceil(seconds) + 1)

    def paused_until(self) -> float:
        """Wall-clock time until which calls are paused; 0 when they are not."""
        shared = self._shared_pause()
        with self._lock:
            self._paused_until = max(self._paused_until, shared)
            return self._paused_until

    # -- slots ----------------------------------------------------------------------------

    def _take_slot(self, now: float) -> tuple[float | None, bool]:
        """Grant one call (None), or say until when to wait and whether WeCom's pause is the cause."""
        if self._paused_until > now:
            return self._paused_until, True
        if self._spent_until > now:
            return self._spent_until, False
        current = math.floor(now / self._slice_seconds)
        if current != self._slice:
            if self._slots and self.per_hour:
                # Slots left over stay unused: the hour's budget gets them back, the slice's ends anyway.
                self._give_back(self._minute_key(self._slots_minute), self._slots)
            following = self._slice is not None and current == self._slice + 1
            self._used_before = self._used if following else 0
            self._slice, self._slots, self._used, self._pause_read = current, 0, 0, False
        if not self._slots:
            if not self._pause_read:
                self._paused_until = max(self._paused_until, self._shared_pause())
                self._pause_read = True
                if self._paused_until > now:
                    return self._paused_until, True
            self._slots, wait_until = self._reserve(now, current)
            self._slots_minute = math.floor(now / MINUTE)
            if not self._slots:
                self._spent_until = wait_until
                return wait_until, False
        self._slots -= 1
        self._used += 1
        return None, False

    def _reserve(self, now: float, current: int) -> tuple[int, float]:
        """Slots taken from the shared budgets for this slice, or none and when to try again."""
        if self.unlimited:
            return UNLIMITED_BLOCK, now
        wanted = min(max(self._used, self._used_before, 1), BLOCK_MAX)
        if self._slice_budget is not None:
            wanted = min(wanted, self._slice_budget)
            count = self._count(f"{self._prefix}:{self._slices}:{current}", wanted, SLICE_KEY_LIFETIME)
            wanted = max(min(wanted, self._slice_budget - (count - wanted)), 0)
            if not wanted:
                return 0, (current + 1) * self._slice_seconds
        if self.per_hour:
            wanted = self._take_from_the_hour(now, wanted)
            if not wanted:
                return 0, (math.floor(now / MINUTE) + 1) * MINUTE
        return wanted, now

    def _take_from_the_hour(self, now: float, wanted: int) -> int:
        minute = math.floor(now / MINUTE)
        key = self._minute_key(minute)
        count = self._count(key, wanted, MINUTE_KEY_LIFETIME)
        granted = max(min(wanted, self.per_hour - self._calls_before(minute) - (count - wanted)), 0)
        if granted < wanted:
            # Slots counted but not granted would hold back this minute for a whole hour: give them back.
            self._give_back(key, wanted - granted)
        return granted

    def _calls_before(self, minute: int) -> int:
        """Calls counted in the 59 minutes before `minute`, read once a minute: they no longer change."""
        if self._earlier_minutes is None or self._earlier_minutes[0] != minute:
            keys = [self._minute_key(earlier) for earlier in range(minute - MINUTES_IN_AN_HOUR + 1, minute)]
            counts = self._cache.get_many(keys)
            self._earlier_minutes = (minute, sum(int(value) for value in counts.values()))
        return self._earlier_minutes[1]

    def _minute_key(self, minute: int) -> str:
        return f"{self._prefix}:minute:{minute}"

    def _shared_pause(self) -> float:
        value = self._cache.get(self._pause_key)
        return float(value) if isinstance(value, int | float) else 0.0

    # -- counters -------------------------------------------------------------------------

    def _count(self, key: str, delta: int, lifetime: int) -> int:
        """Add `delta` to a counter and return the new count, atomically."""
        if self._atomic_incr is None:
            self._atomic_incr = _has_atomic_incr(self._cache.backend)
        if not self._atomic_incr:
            return self._count_locked(key, delta, lifetime)
        while True:
            # Most of the time the key is there: one incr. The first caller of a window adds it.
            try:
                return self._cache.incr(key, delta)
            except ValueError:
                if self._cache.add(key, delta, timeout=lifetime):
                    return delta

    def _give_back(self, key: str, slots: int) -> None:
        if not self._atomic_incr:
            self._count_locked(key, -slots, MINUTE_KEY_LIFETIME)
            return
        # A key gone already has nothing left to give back to.
        with contextlib.suppress(ValueError):
            self._cache.incr(key, -slots)

    def _count_locked(self, key: str, delta: int, lifetime: int) -> int:
        lock_key, owner = f"{key}:lock", uuid.uuid4().hex
        while not self._cache.add(lock_key, owner, timeout=COUNTER_LOCK_TIMEOUT):
            time.sleep(COUNTER_LOCK_POLL)
        try:
            count = (self._cache.get(key) or 0) + delta
            self._cache.set(key, count, timeout=lifetime)
            return count
        finally:
            if self._cache.get(lock_key) == owner:
                self._cache.delete(lock_key)


def _has_atomic_incr(cache: BaseCache) -> bool:
    """True unless the backend falls back to BaseCache.incr, a get followed by a set.

    Redis, memcached and the local-memory cache increment atomically; the database and
    file caches do not. Asked through the bound method, because `django.core.cache.cache`
    is a proxy to the current thread's backend.
    """
    return getattr(cache.incr, "__func__", None) is not BaseCache.incr


def rate_limiter_from_settings(*, cache: BaseCache | None = None, max_wait: float | None = None) -> SharedRateLimiter:
    """The limiter for WECOM_RATE_PER_MINUTE and WECOM_RATE_PER_HOUR (0 or less: no such budget)."""
    from django.conf import settings

    # WeCom counts per organisation: schools sharing one Redis keep budgets of their own.
    return SharedRateLimiter(
        per_minute=getattr(settings, "WECOM_RATE_PER_MINUTE", 0),
        per_hour=getattr(settings, "WECOM_RATE_PER_HOUR", 0),
        cache=cache,
        key_prefix=f"{DEFAULT_KEY_PREFIX}:{settings.WECOM_CORP_ID}",
        max_wait=max_wait,
    )
