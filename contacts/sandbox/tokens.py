"""Access tokens as gettoken hands them out (doc 91039); the JS-SDK's tickets follow the same rules.

One token is valid at a time: a repeated gettoken within its validity returns the same
token with the seconds left. Every token ever issued is remembered (up to a bound), so that
an old one answers 42001 "expired" rather than 40014 "invalid".
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

OK, INVALID, EXPIRED = 0, 40014, 42001
_REMEMBERED = 10_000  # old tokens kept to answer 42001; older ones then answer 40014


class TokenStore:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        if ttl <= 0:
            raise ValueError("the token lifetime must be positive")
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}  # token -> clock time it expires
        self._current: str | None = None

    def issue(self) -> tuple[str, int]:
        """(token, expires_in seconds): the current token while it is valid, else a new one."""
        with self._lock:
            now = self._clock()
            token = self._current
            if token is None or self._expiry[token] <= now:
                # Real tokens are opaque and up to 512 bytes; 128 URL-safe characters here.
                token = secrets.token_urlsafe(96)
                self._expiry[token] = now + self.ttl
                self._current = token
                while len(self._expiry) > _REMEMBERED:
                    del self._expiry[next(iter(self._expiry))]
            return token, max(0, round(self._expiry[token] - now))

    def check(self, token: str) -> int:
        """OK, INVALID (40014) or EXPIRED (42001)."""
        with self._lock:
            expiry = self._expiry.get(token)
            if expiry is None:
                return INVALID
            return OK if expiry > self._clock() else EXPIRED

    def valid_tokens(self) -> list[str]:
        """Every token issued that has not expired yet."""
        with self._lock:
            now = self._clock()
            return [token for token, expiry in self._expiry.items() if expiry > now]

    def expire_all(self) -> int:
        """Every issued token answers 42001 from now on; returns how many were still valid."""
        with self._lock:
            now = self._clock()
            valid = [token for token, expiry in self._expiry.items() if expiry > now]
            for token in valid:
                self._expiry[token] = now
            self._current = None
            return len(valid)
