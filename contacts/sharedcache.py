"""The cache every process shares (the WeCom access token, its lock, the call budget), and its failure.

When it cannot be reached (Redis stopped, a wrong CACHE_URL, the database cache's table
missing), no WeCom call can be made: each parent would fail the same way, one traceback
after another. Every touch of it goes through `SharedCache`, which turns the backend's
own errors into one `SharedCacheUnavailable`; callers stop at the first one and say
what to check. It is not a WeComError: WeCom was never asked.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.cache.backends.base import BaseCache
from django.db import DatabaseError
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from contacts.bilingual import in_language

# Redis refusing or dropping the connection, timing out or refusing writes; the database
# cache's table missing or its database down; a file or memcached cache's socket errors.
BACKEND_ERRORS = (RedisError, DatabaseError, OSError)

UNAVAILABLE = _(
    "共享缓存不可用：请检查 CACHE_URL 是否正确、Redis 是否在运行"
    "（使用数据库缓存时，检查数据库和缓存表是否可用）。"
)
PROBE_KEY = "schoolcontacts:cache-probe"


class SharedCacheUnavailable(Exception):
    """The shared cache (CACHE_URL) did not answer; nothing was asked of WeCom and nothing stored changed."""

    def __init__(self, cause: BaseException) -> None:
        # The type only: a backend's message may name hosts, and this text reaches pages.
        super().__init__(f"shared cache unavailable ({type(cause).__name__})")
        self.cause_name = type(cause).__name__

    def describe(self, *, language: str | None = None) -> str:
        """What happened and what to check; both languages without `language` (commands, stored job errors)."""
        text = in_language(UNAVAILABLE, language=language)
        return f"{text} ({self.cause_name})" if language is None else text


@contextmanager
def unavailable_as_one_error() -> Iterator[None]:
    try:
        yield
    except BACKEND_ERRORS as exc:
        raise SharedCacheUnavailable(exc) from exc


class SharedCache:
    """A Django cache whose backend errors come out as SharedCacheUnavailable; the methods the app uses."""

    def __init__(self, backend: BaseCache) -> None:
        self.backend = backend.backend if isinstance(backend, SharedCache) else backend

    def get(self, key: str, default: Any = None) -> Any:
        with unavailable_as_one_error():
            return self.backend.get(key, default)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        with unavailable_as_one_error():
            return self.backend.get_many(keys)

    def set(self, key: str, value: Any, timeout: float | None) -> None:
        with unavailable_as_one_error():
            self.backend.set(key, value, timeout=timeout)

    def add(self, key: str, value: Any, timeout: float | None) -> bool:
        with unavailable_as_one_error():
            return self.backend.add(key, value, timeout=timeout)

    def incr(self, key: str, delta: int = 1) -> int:
        """Raises ValueError when the key does not exist, as Django's caches do."""
        with unavailable_as_one_error():
            return self.backend.incr(key, delta)

    def delete(self, key: str) -> None:
        with unavailable_as_one_error():
            self.backend.delete(key)


def ensure_shared_cache_available() -> None:
    """Raise SharedCacheUnavailable unless the default cache answers; for starting work that needs it."""
    from django.core.cache import cache

    SharedCache(cache).get(PROBE_KEY)
