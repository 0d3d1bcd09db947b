"""A call budget shared by every thread and process that talks to WeCom for one app.

WeCom counts calls per organisation and per API: 10,000 a minute (doc 90454), and a
caller over the limit is blocked for the rest of the window (errcode 45009). Jobs and
commands run several threads on several machines, so the budget lives in the Django
cache they all share (Redis in production, the database cache by default).

The minute is cut into slices (one second each when the budget allows), and each
slice gets its share of the budget; calls are counted under a key named after the
current slice (wall-clock time, so every machine agrees, as long as their clocks are
kept in sync). A whole minute's budget in one window could be spent in a burst at the
end of one minute and again at the start of the next, twice the budget in 60 s; with
slices any 60 s holds at most one slice more than a minute's worth (61/60 of the
budget), whichever way WeCom counts its minute. Concurrency is bounded separately
(WECOM_CONCURRENCY).

`pause(seconds)` stops every caller sharing the cache until then: after a 45009 the
block lasts the rest of the window, and more calls would only prolong it.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections.abc import Callable

from django.core.cache.backends.base import BaseCache

MINUTE = 60
MAX_SLICES = 60
# A counter key outlives its slice a little, so that a clock a few seconds behind still
# finds it; then the cache drops it by itself.
KEY_LIFETIME = MINUTE * 2
# When a window is full, callers wake up just after the next one starts, spread over this
# many seconds so that they do not all hit the cache at the same instant.
WAKE_UP_SPREAD = 0.05
# Backends whose incr() is a get and a set (the database and file caches) are made atomic
# with a short lock of their own; a lock older than this belongs to a dead process.
COUNTER_LOCK_TIMEOUT = 5
COUNTER_LOCK_POLL = 0.005
DEFAULT_KEY_PREFIX = "wecom:ratelimit"


class SharedRateLimiter:
    """At most `per_minute` calls in each minute (and 61/60 of it in any 60 s), across every user of `cache`.

    `per_minute` of 0 or less means no budget: `acquire()` then only honours pauses.
    `clock` is wall-clock seconds (time.time) and `sleep` waits; tests pass fakes.
    """

    def __init__(
        self,
        *,
        per_minute: int,
        cache: BaseCache | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if cache is None:
            from django.core.cache import cache as default_cache

            cache = default_cache
        self.per_minute = max(int(per_minute), 0)
        # A budget below 60 a minute gets fewer, longer slices, each allowing one call or more.
        self._slices = min(MAX_SLICES, self.per_minute) or 1
        self._slice_seconds = MINUTE / self._slices
        self._slice_budget = self.per_minute // self._slices
        self._cache = cache
        self._prefix = key_prefix
        self._pause_key = f"{key_prefix}:paused-until"
        self._clock = clock
        self._sleep = sleep
        self._atomic_incr: bool | None = None

    @property
    def unlimited(self) -> bool:
        return self.per_minute == 0

    def acquire(self) -> None:
        """Wait until this caller may make one call, then count it."""
        while True:
            now = self._clock()
            paused_until = self.paused_until()
            if paused_until > now:
                self._sleep(paused_until - now)
                continue
            if self.unlimited:
                return
            window = math.floor(now / self._slice_seconds)
            if self._count_call(f"{self._prefix}:{self._slices}:{window}") <= self._slice_budget:
                return
            # This slice's share is spent: wait for the next slice.
            next_window = (window + 1) * self._slice_seconds
            self._sleep(max(next_window - now, 0.0) + random.uniform(0, WAKE_UP_SPREAD))  # noqa: S311

    def pause(self, seconds: float) -> None:
        """Make every caller sharing the cache wait `seconds` from now (a longer pause in force stays)."""
        if seconds <= 0:
            return
        until = self._clock() + seconds
        if until > self.paused_until():
            # Not atomic: two pauses set at once leave one of them, and both are about as long.
            self._cache.set(self._pause_key, until, timeout=math.ceil(seconds) + 1)

    def paused_until(self) -> float:
        """Wall-clock time until which calls are paused; 0 when they are not."""
        value = self._cache.get(self._pause_key)
        return float(value) if isinstance(value, int | float) else 0.0

    def _count_call(self, key: str) -> int:
        """Add one to the window's counter and return the new count, atomically."""
        if self._atomic_incr is None:
            self._atomic_incr = _has_atomic_incr(self._cache)
        if self._atomic_incr:
            self._cache.add(key, 0, timeout=KEY_LIFETIME)
            try:
                return self._cache.incr(key)
            except ValueError:
                # The key expired between add and incr (a very late caller): count afresh.
                self._cache.add(key, 0, timeout=KEY_LIFETIME)
                return self._cache.incr(key)
        return self._count_call_locked(key)

    def _count_call_locked(self, key: str) -> int:
        lock_key, owner = f"{key}:lock", uuid.uuid4().hex
        while not self._cache.add(lock_key, owner, timeout=COUNTER_LOCK_TIMEOUT):
            time.sleep(COUNTER_LOCK_POLL)
        try:
            count = (self._cache.get(key) or 0) + 1
            self._cache.set(key, count, timeout=KEY_LIFETIME)
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


def rate_limiter_from_settings(*, cache: BaseCache | None = None) -> SharedRateLimiter:
    """The limiter for WECOM_RATE_PER_MINUTE (0 or less: no budget, pauses only)."""
    from django.conf import settings

    # WeCom counts per organisation: schools sharing one Redis keep budgets of their own.
    return SharedRateLimiter(
        per_minute=getattr(settings, "WECOM_RATE_PER_MINUTE", 0),
        cache=cache,
        key_prefix=f"{DEFAULT_KEY_PREFIX}:{settings.WECOM_CORP_ID}",
    )
