"""The JS-SDK's two tickets as WeCom hands them out (doc 90506), and the check WeCom's client makes of
the signatures a page gives ww.register.

`get_jsapi_ticket` gives the school's ticket (signing wx.config), `ticket/get?type=agent_config` the
app's (signing wx.agentConfig). Each lives 7200 s; within that a repeated fetch returns the same one.
A signature is the SHA-1 of `jsapi_ticket=T&noncestr=N&timestamp=TS&url=U`, the URL without its `#`
fragment. It is computed here on its own, never with the app's code, so that it checks the app.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from .tokens import TokenStore

JSAPI = "jsapi"
AGENT_CONFIG = "agent_config"
KINDS = (JSAPI, AGENT_CONFIG)
TICKET_TTL = 7200


class Tickets:
    def __init__(self, ttl: float = TICKET_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self._stores = {kind: TokenStore(ttl, clock) for kind in KINDS}

    def issue(self, kind: str) -> tuple[str, int]:
        """(ticket, expires_in seconds) of `kind`: the current one while it is valid, else a new one."""
        return self._stores[kind].issue()

    def signature_is_valid(self, kind: str, *, url: str, noncestr: str, timestamp: str, signature: str) -> bool:
        """Whether `signature` signs this page with a valid ticket of `kind`, as WeCom's client checks it."""
        page = url.split("#", 1)[0]
        return any(
            hmac.compare_digest(
                hashlib.sha1(  # noqa: S324 - WeCom's signature algorithm is SHA-1
                    f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page}".encode()
                ).hexdigest(),
                signature.lower(),
            )
            for ticket in self._stores[kind].valid_tokens()
        )
