"""Where a browser signs in with WeCom (docs 98151, 98152, 91023).

A desktop browser goes to WeCom's web login (a QR code to scan with the WeCom app); a page
opened inside the WeCom app (its user agent says `wxwork`) goes to the silent OAuth
authorization instead, which knows the member already. Either way WeCom sends the browser
back to `redirect_uri` with `code` and `state`; auth/getuserinfo turns the code into a member
(WeComClient.get_user_identity).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings


def sign_in_configured() -> bool:
    """Whether the school set up WeCom sign-in: it needs the corp id and the app's AgentID."""
    return bool(settings.WECOM_CORP_ID and settings.WECOM_AGENT_ID)


def is_wecom_app(user_agent: str) -> bool:
    """A page opened inside the WeCom app (the mobile or desktop client), not in a browser."""
    return "wxwork" in user_agent.lower()


def sign_in_url(*, redirect_uri: str, state: str, in_wecom_app: bool) -> str:
    """The WeCom page to send the browser to; it comes back to `redirect_uri?code=…&state=…`."""
    if in_wecom_app:
        query = urlencode(
            {
                "appid": settings.WECOM_CORP_ID,
                "redirect_uri": redirect_uri,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
                "agentid": settings.WECOM_AGENT_ID,
            }
        )
        return f"{settings.WECOM_OAUTH_BASE}/connect/oauth2/authorize?{query}#wechat_redirect"
    query = urlencode(
        {
            "login_type": "CorpApp",
            "appid": settings.WECOM_CORP_ID,
            "agentid": settings.WECOM_AGENT_ID,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{settings.WECOM_LOGIN_BASE}/wwlogin/sso/login?{query}"
