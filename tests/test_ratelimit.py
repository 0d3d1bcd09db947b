"""The call budget shared by every thread and process: never more than N calls in a minute, and pauses for all."""

import math
import os
import threading
import uuid

import pytest
import redis
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.management import call_command
from django.db import connection

from contacts.services.ratelimit import CallsHeldBack, SharedRateLimiter
from contacts.sharedcache import SharedCacheUnavailable


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


def budget_run(caches, *, per_minute: int, threads_per_cache: int, calls_each: int, per_hour: int = 0) -> list[float]:
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

    limiters = [
        SharedRateLimiter(per_minute=per_minute, per_hour=per_hour, cache=c, clock=clock.time, sleep=clock.sleep)
        for c in caches
    ]
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


# -- the hour's budget ---------------------------------------------------------------------------


def test_an_hour_allows_its_budget_in_any_60_minutes_and_then_goes_on():
    clock = FakeClock()
    limiter = SharedRateLimiter(
        per_minute=120, per_hour=300, cache=shared_locmem("hour"), clock=clock.time, sleep=clock.sleep
    )

    granted = []
    for _ in range(700):
        limiter.acquire()
        granted.append(clock.now)

    # The minute's budget lets 300 calls through in under three minutes; then the hour's holds them back.
    assert busiest(granted, seconds=3600) <= 300 + 120
    assert sum(1 for t in granted if t < 3600) == 300
    # ... until the first minute's calls are an hour old: the budget is used, not wasted.
    assert granted[-1] < 2 * 3600 + 5 * 60


def test_the_hours_budget_is_shared_by_every_limiter_on_the_cache():
    cache = shared_locmem("hour-shared")

    granted = budget_run([cache, cache, cache], per_minute=600, per_hour=50, threads_per_cache=2, calls_each=10)

    assert len(granted) == 60
    assert sum(1 for t in granted if t < 3600) == 50
    assert busiest(granted, seconds=3600) <= 50 + 600


def test_the_settings_give_an_hours_budget_under_wecoms_150000(settings):
    from contacts.services.ratelimit import rate_limiter_from_settings

    limiter = rate_limiter_from_settings()

    assert 0 < limiter.per_hour < 150_000
    assert 0 < limiter.per_minute < 10_000


# -- few round trips -----------------------------------------------------------------------------


def counting(backend: type) -> type:
    """`backend` counting what is asked of it: each would be a round trip to Redis (two for an incr)."""

    def counted(name: str):
        def method(self, *args, **kwargs):
            self.operations += 1
            return getattr(backend, name)(self, *args, **kwargs)

        return method

    methods = {name: counted(name) for name in ("get", "get_many", "set", "add", "incr", "delete")}
    return type(f"Counting{backend.__name__}", (backend,), {"operations": 0, **methods})


CountingLocMemCache = counting(LocMemCache)
CountingRedisCache = counting(RedisCache)


def test_a_busy_process_asks_the_shared_cache_a_few_times_a_second_not_for_every_call():
    clock = FakeClock()
    cache = CountingLocMemCache("round-trips", {})
    limiter = SharedRateLimiter(per_minute=3000, per_hour=100_000, cache=cache, clock=clock.time, sleep=clock.sleep)

    for _ in range(6000):
        limiter.acquire()

    assert 119 <= clock.now < 120  # the 6,000th call in the last slice of the second minute
    assert cache.operations < 6000 / 3


def test_a_pause_set_by_another_process_reaches_a_busy_one_within_a_slice():
    clock = FakeClock()
    cache = shared_locmem("pause-reaches")
    busy = SharedRateLimiter(per_minute=3000, cache=cache, clock=clock.time, sleep=clock.sleep)
    other = SharedRateLimiter(per_minute=3000, cache=cache, clock=clock.time, sleep=clock.sleep)
    for _ in range(100):
        busy.acquire()

    other.pause(60)
    started = clock.now
    calls_before_pausing = 0
    while clock.now == started:
        busy.acquire()
        calls_before_pausing += 1

    assert calls_before_pausing <= 50  # what was left of the slice's share at most
    assert clock.now >= started + 60


# -- callers that must not hang --------------------------------------------------------------------


def test_a_caller_with_a_max_wait_hears_until_when_calls_are_paused_instead_of_waiting():
    clock = FakeClock()
    cache = shared_locmem("held-back")
    SharedRateLimiter(per_minute=100, cache=cache, clock=clock.time, sleep=clock.sleep).pause(60)
    impatient = SharedRateLimiter(per_minute=100, cache=cache, clock=clock.time, sleep=clock.sleep, max_wait=5)

    with pytest.raises(CallsHeldBack) as held:
        impatient.acquire()

    assert held.value.until == 60
    assert held.value.by_wecom
    assert clock.sleeps == []


def test_a_spent_budget_is_told_apart_from_wecoms_pause():
    clock = FakeClock()
    limiter = SharedRateLimiter(
        per_minute=600, per_hour=2, cache=shared_locmem("spent"), clock=clock.time, sleep=clock.sleep, max_wait=5
    )
    limiter.acquire()
    limiter.acquire()

    with pytest.raises(CallsHeldBack) as held:
        limiter.acquire()

    assert not held.value.by_wecom
    assert "WECOM_RATE_PER_HOUR" in held.value.describe(language="en")


def test_short_waits_within_the_max_wait_are_simply_waited():
    clock = FakeClock()
    limiter = SharedRateLimiter(
        per_minute=60, cache=shared_locmem("short-waits"), clock=clock.time, sleep=clock.sleep, max_wait=5
    )

    for _ in range(5):
        limiter.acquire()

    assert 4 <= clock.now < 5.5


# -- a real Redis ---------------------------------------------------------------------------------------


@pytest.fixture
def redis_caches():
    """Limiters' caches on the Redis of TEST_REDIS_URL, under a key prefix of this test's own, removed after."""
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
    prefix = f"test-ratelimit-{uuid.uuid4().hex}"
    made = []

    def make():
        made.append(CountingRedisCache(url, {"KEY_PREFIX": prefix}))
        return made[-1]

    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            pytest.fail(f"no Redis at {url} (TEST_REDIS_URL)")
        pytest.skip(f"no Redis at {url} (TEST_REDIS_URL)")
    yield make
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)


def test_limiters_sharing_a_real_redis_keep_both_budgets(redis_caches):
    caches = [redis_caches(), redis_caches()]

    granted = budget_run(caches, per_minute=120, per_hour=400, threads_per_cache=4, calls_each=60)

    assert len(granted) == 480
    assert max(per_clock_minute(granted)) <= 120
    assert busiest(granted) <= 122
    assert busiest(granted, seconds=3600) <= 400 + 120
    assert sum(1 for t in granted if t < 3600) == 400


def test_busy_limiters_on_a_real_redis_make_few_round_trips(redis_caches):
    caches = [redis_caches(), redis_caches()]

    granted = budget_run(caches, per_minute=6000, per_hour=100_000, threads_per_cache=4, calls_each=1500)

    assert len(granted) == 12_000
    assert max(per_clock_minute(granted)) <= 6000
    operations = sum(cache.operations for cache in caches)
    assert operations < len(granted) / 5


def test_an_unreachable_redis_is_one_clear_error_not_a_redis_traceback():
    limiter = SharedRateLimiter(per_minute=100, cache=RedisCache("redis://127.0.0.1:1/0", {}))

    with pytest.raises(SharedCacheUnavailable) as error:
        limiter.acquire()

    assert "CACHE_URL" in error.value.describe(language="en")
