"""Signatures for the WeCom JS-SDK (doc 90506), so that a page of this site may call it.

A page registers with `ww.register({corpId, agentId, getConfigSignature, getAgentConfigSignature})`;
the SDK asks for a signature of the page's URL, for wx.config (signed with the school's
jsapi_ticket) and for wx.agentConfig (signed with the app's ticket). Both are the SHA-1 of
`jsapi_ticket=TICKET&noncestr=NONCE&timestamp=TS&url=URL`, the URL without its `#` fragment.
The tickets never leave the server; the client keeps them in the shared cache.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from contacts.wecom.client import WeComClient

NONCE_BYTES = 8
# Browsers and WeCom's client have no use for longer addresses; a longer one is not a page of ours.
MAX_URL_LENGTH = 2048


class SignatureKind(str, Enum):  # noqa: UP042 (str() and format() stay as they are)
    CONFIG = "config"  # wx.config: the school's jsapi_ticket
    AGENT_CONFIG = "agent_config"  # wx.agentConfig: the app's ticket


class NotThisSitesPage(ValueError):
    """The URL to sign is not a page of this site: nothing was signed, WeCom was not asked."""


@dataclass(frozen=True)
class PageSignature:
    timestamp: int
    nonce_str: str
    signature: str

    def as_json(self) -> dict[str, str | int]:
        """What the JS-SDK's signature callbacks return: {timestamp, nonceStr, signature}."""
        return {"timestamp": self.timestamp, "nonceStr": self.nonce_str, "signature": self.signature}


def jsapi_signature(*, ticket: str, nonce_str: str, timestamp: int, url: str) -> str:
    """WeCom's JS-SDK signature of a page (the same formula for both tickets)."""
    page = url.split("#", 1)[0]
    text = f"jsapi_ticket={ticket}&noncestr={nonce_str}&timestamp={timestamp}&url={page}"
    return hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 - WeCom's signature algorithm is SHA-1


def sign_page(
    *,
    url: str,
    kind: SignatureKind,
    client: WeComClient,
    site_host: str,
    https_only: bool,
    timestamp: int | None = None,
    nonce_str: str | None = None,
) -> PageSignature:
    """A signature of `url`, a page of this site (`site_host`, over HTTPS when `https_only`).

    Raises NotThisSitesPage for any other URL; WeComError when a ticket could not be had
    from WeCom; SharedCacheUnavailable when the shared cache does not answer; CallsHeldBack
    when the client's rate limiter holds calls back.
    """
    require_page_of_this_site(url=url, site_host=site_host, https_only=https_only)
    ticket = client.get_jsapi_ticket() if kind is SignatureKind.CONFIG else client.get_agent_config_ticket()
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce_str = secrets.token_hex(NONCE_BYTES) if nonce_str is None else nonce_str
    return PageSignature(
        timestamp=timestamp,
        nonce_str=nonce_str,
        signature=jsapi_signature(ticket=ticket, nonce_str=nonce_str, timestamp=timestamp, url=url),
    )


def require_page_of_this_site(*, url: str, site_host: str, https_only: bool) -> None:
    """Raise NotThisSitesPage unless `url` is an absolute http(s) address on `site_host`.

    A signature is good for one page only, but signing the pages of other sites with the
    school's tickets would let them call the JS-SDK as this app.
    """
    if not url or len(url) > MAX_URL_LENGTH or any(ord(character) < 0x21 for character in url):
        raise NotThisSitesPage("not a page address")
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise NotThisSitesPage("not a page address") from error
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme not in schemes:
        raise NotThisSitesPage(f"not an address of {' or '.join(schemes)}")
    if parts.username is not None or parts.password is not None or parts.netloc.lower() != site_host.lower():
        raise NotThisSitesPage("not a page of this site")
