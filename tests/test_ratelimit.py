"""The call budget shared by every thread and process: never more than N calls in a minute, and pauses for all."""

import math
import threading

import pytest
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.management import call_command
from django.db import connection

from contacts.services.ratelimit import SharedRateLimiter


class FakeClock:
    """Time moves only when somebody sleeps: a sleep of s seconds takes no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


class SteppedClock:
    """Time stands still until the test moves it on; sleepers wait (for real) until it has."""

    def __init__(self) -> None:
        self.now = 0.0
        self.finished = 0
        self._targets: list[float] = []  # when each sleeping thread wants to wake up
        self._changed = threading.Condition()

    def time(self) -> float:
        with self._changed:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._changed:
            target = self.now + seconds
            self._targets.append(target)
            self._changed.notify_all()
            while self.now < target:
                self._changed.wait()
            self._targets.remove(target)
            self._changed.notify_all()

    def thread_done(self) -> None:
        with self._changed:
            self.finished += 1
            self._changed.notify_all()

    def advance(self, seconds: float) -> None:
        with self._changed:
            self.now += seconds
            self._changed.notify_all()

    def settle(self, threads: int, timeout: float = 30) -> bool:
        """Wait until every thread is done or asleep until later; True when all are done."""
        with self._changed:
            settled = self._changed.wait_for(
                lambda: self.finished + len(self._targets) == threads and all(t > self.now for t in self._targets),
                timeout,
            )
            assert settled, "the threads never settled"
            return self.finished == threads


def shared_locmem(name: str) -> LocMemCache:
    # Local-memory caches of the same name share their data, like processes sharing Redis.
    return LocMemCache(name, {})


def window_of(seconds: float) -> int:
    return math.floor(seconds / 60)


def test_a_minute_allows_its_budget_and_the_next_call_waits_for_the_next_minute():
    clock = FakeClock()
    limiter = SharedRateLimiter(per_minute=3, cache=shared_locmem("budget"), clock=clock.time, sleep=clock.sleep)

    windows = []
    for _ in range(7):
        limiter.acquire()
        windows.append(window_of(clock.now))

    assert windows == [0, 0, 0, 1, 1, 1, 2]
    assert 60 <= clock.now < 121


def budget_run(caches, *, per_minute: int, threads_per_cache: int, calls_each: int) -> list[float]:
    """Threads on limiters sharing one store each make `calls_each` calls; when each call was granted."""
    clock = SteppedClock()
    granted: list[float] = []
    lock = threading.Lock()

    def caller(limiter):
        try:
            for _ in range(calls_each):
                limiter.acquire()
                with lock:
                    granted.append(clock.time())
        finally:
            connection.close()
            clock.thread_done()

    limiters = [SharedRateLimiter(per_minute=per_minute, cache=c, clock=clock.time, sleep=clock.sleep) for c in caches]
    threads = [
        threading.Thread(target=caller, args=(limiter,), daemon=True)
        for limiter in limiters
        for _ in range(threads_per_cache)
    ]
    for thread in threads:
        thread.start()
    # Each round, every thread ends up done or waiting for a later slice: move time on by one.
    step = 60 / min(per_minute, 60)
    while not clock.settle(len(threads)):
        clock.advance(step + 0.06)  # a slice, plus the wake-up spread
    for thread in threads:
        thread.join(timeout=10)
    return sorted(granted)


def busiest(granted: list[float], *, seconds: float = 60) -> int:
    """The most grants within any `seconds`-long span."""
    return max(sum(1 for t in granted if start <= t < start + seconds) for start in granted)


def per_clock_minute(granted: list[float]) -> list[int]:
    return [sum(1 for t in granted if window_of(t) == window) for window in range(window_of(granted[-1]) + 1)]


def test_threads_on_two_limiters_sharing_a_cache_never_exceed_the_budget():
    granted = budget_run(
        [shared_locmem("two-processes"), shared_locmem("two-processes")],
        per_minute=25,
        threads_per_cache=4,
        calls_each=10,
    )

    assert len(granted) == 80
    # 25 a minute of the clock, and no burst across a minute's end: at most one slice more in any 60 s.
    assert max(per_clock_minute(granted)) <= 25
    assert busiest(granted) <= 26
    # And the budget is used, not wasted: 80 calls at 25 a minute take a little over three minutes.
    assert granted[-1] < 80 * 60 / 25 + 10


@pytest.fixture
def database_cache_table(transactional_db):
    call_command("createcachetable", "ratelimit_test_cache")
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ratelimit_test_cache")
    return "ratelimit_test_cache"


def test_the_database_cache_keeps_the_budget_though_it_cannot_increment_atomically(database_cache_table):
    caches = [DatabaseCache(database_cache_table, {}), DatabaseCache(database_cache_table, {})]

    granted = budget_run(caches, per_minute=10, threads_per_cache=3, calls_each=5)

    assert len(granted) == 30
    assert max(per_clock_minute(granted)) <= 10
    assert busiest(granted) <= 11


def test_a_pause_makes_every_limiter_sharing_the_cache_wait():
    clock = FakeClock()
    cache = shared_locmem("pause")
    first = SharedRateLimiter(per_minute=100, cache=cache, clock=clock.time, sleep=clock.sleep)
    second = SharedRateLimiter(per_minute=100, cache=cache, clock=clock.time, sleep=clock.sleep)

    first.pause(60)
    second.acquire()

    assert clock.now >= 60
    assert second.paused_until() == 60


def test_a_shorter_pause_does_not_cut_a_longer_one_short():
    clock = FakeClock()
    limiter = SharedRateLimiter(per_minute=100, cache=shared_locmem("pauses"), clock=clock.time, sleep=clock.sleep)

    limiter.pause(60)
    limiter.pause(5)
    limiter.acquire()

    assert clock.now >= 60


@pytest.mark.parametrize("per_minute", [0, -1])
def test_no_budget_means_no_waiting_but_pauses_still_hold(per_minute):
    clock = FakeClock()
    limiter = SharedRateLimiter(
        per_minute=per_minute, cache=shared_locmem(f"unlimited{per_minute}"), clock=clock.time, sleep=clock.sleep
    )

    for _ in range(1000):
        limiter.acquire()
    assert clock.sleeps == []

    limiter.pause(30)
    limiter.acquire()
    assert clock.now >= 30
