"""The 企业微信登录 button of the login page."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse

from contacts.wecom.sign_in import sign_in_configured

register = template.Library()


@register.inclusion_tag("signin/login_button.html")
def wecom_sign_in_button(next_url: str = "") -> dict[str, str]:
    """The button, carrying the page the login was for; nothing while WeCom sign-in is not set up."""
    if not sign_in_configured():
        return {"url": ""}
    url = reverse("wecom_sign_in")
    return {"url": f"{url}?{urlencode({'next': next_url})}" if next_url else url}
