"""The `state` of a WeCom sign-in: issued to one browser session, accepted once, within 10 minutes.

WeCom hands `state` back unchanged with the code. Accepting only a state this session was
given stops a forged callback from signing a browser in to someone else's account (login CSRF).
A few sign-ins may be pending at once, one per tab.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from django.contrib.sessions.backends.base import SessionBase

SESSION_KEY = "wecom_sign_in"
STATE_TTL = 600
MAX_PENDING = 5


@dataclass(frozen=True)
class PendingSignIn:
    state: str
    next_url: str  # where to go once signed in; "" for the admin's home page


def start_sign_in(session: SessionBase, *, next_url: str, now: float | None = None) -> str:
    """A new state for this session, remembered with where to go afterwards."""
    now = time.time() if now is None else now
    pending = [entry for entry in _pending(session) if entry["expires"] > now][-(MAX_PENDING - 1) :]
    state = secrets.token_urlsafe(24)
    pending.append({"state": state, "next": next_url, "expires": now + STATE_TTL})
    session[SESSION_KEY] = pending
    return state


def finish_sign_in(session: SessionBase, *, state: str, now: float | None = None) -> PendingSignIn | None:
    """The sign-in this session started with `state`, taken so it cannot be used again; None when
    this session never had that state, has used it, or it expired."""
    now = time.time() if now is None else now
    pending = _pending(session)
    found = next((entry for entry in pending if hmac.compare_digest(entry["state"].encode(), state.encode())), None)
    session[SESSION_KEY] = [entry for entry in pending if entry is not found and entry["expires"] > now]
    if found is None or found["expires"] <= now:
        return None
    return PendingSignIn(state=found["state"], next_url=found["next"])


def _pending(session: SessionBase) -> list[dict]:
    pending = session.get(SESSION_KEY)
    if not isinstance(pending, list):
        return []
    return [
        entry
        for entry in pending
        if isinstance(entry, dict)
        and isinstance(entry.get("state"), str)
        and isinstance(entry.get("next"), str)
        and isinstance(entry.get("expires"), int | float)
    ]
