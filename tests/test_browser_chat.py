"""The chat toolbar page in a real browser, as WeCom's app opens it, at phone and desktop size.

WeCom's app is played by the real page, the real vendored JS-SDK and a stand-in for what the app
injects into its web view: `WeixinJSBridge`, through which the SDK calls config, agentConfig and
getCurExternalContact. The stand-in is put in place before any script of the page runs
(Page.addScriptToEvaluateOnNewDocument) and records what the SDK asked; the signatures it was
given are then checked by the simulator, with the tickets it issued, as WeCom's app checks them.
The user agent says wxwork, as the app's does.
"""

import json

import pytest
from django.contrib.auth.models import Group
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from contacts.models import ExternalContact, RefreshTrigger
from contacts.services.roster import sync_roster
from contacts.services.runner import RateLimitPolicy, refresh_concurrently
from contacts.wecom.client import get_client
from tests.browser import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-test-password"
PHONE = (390, 844)
DESKTOP = (1366, 900)
# WeCom's app on a phone, and on a desktop; before 3.0.24 the SDK signs with both tickets.
PHONE_WECOM_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 wxwork/3.0.16 MicroMessenger/7.0.1 Language/zh ColorScheme/Light"
)
DESKTOP_WECOM_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Safari/537.36 wxwork/4.1.30 MicroMessenger/7.0.1"
)

# What WeCom's app injects into a chat toolbar's web view, answering as the app would for a chat
# with `userId`; `failing` maps a call to the err_msg it fails with.
FAKE_WECOM_APP = """
(() => {
  const setup = %s;
  const calls = [];
  window.__wecomCalls = calls;
  window.WeixinJSBridge = {
    invoke(name, params, callback) {
      calls.push({name: name, params: JSON.parse(JSON.stringify(params || {}))});
      let answer = {err_msg: name + ":ok"};
      if (setup.failing[name]) {
        answer = {err_msg: setup.failing[name]};
      } else if (name === "getCurExternalContact") {
        answer = {err_msg: "getCurExternalContact:ok", userId: setup.userId};
      }
      setTimeout(() => callback(answer), 20);
    },
    on() {},
  };
})();
"""


@pytest.fixture
def school(sandbox):
    """The simulator's school: the roster (children, classes, teachers' names) and its parents."""
    sync_roster(client=get_client())
    refresh_concurrently(
        external_userids=sandbox.school.external_userids(include_lost=False),
        trigger=RefreshTrigger.COMMAND,
        policy=RateLimitPolicy.for_command(),
    )
    assert ExternalContact.objects.filter(external_userid="woAAAA").exists()
    return sandbox


def as_wecom_app(browser, *, user_agent: str, size: tuple[int, int], user_id: str = "woAAAA", failing=None) -> None:
    browser.set_window_size(*size)
    browser.execute_cdp_cmd("Network.setUserAgentOverride", {"userAgent": user_agent})
    setup = json.dumps({"userId": user_id, "failing": failing or {}})
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": FAKE_WECOM_APP % setup})


def wait_for(browser, css: str):
    return WebDriverWait(browser, 10).until(expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css)))


def calls_to_wecom(browser) -> dict[str, dict]:
    return {call["name"]: call["params"] for call in browser.execute_script("return window.__wecomCalls")}


def signature_passes(sandbox, *, kind: str, url: str, params: dict, prefix: str = "") -> bool:
    def field(name: str) -> str:
        return str(params[f"{prefix}{name[0].upper()}{name[1:]}" if prefix else name])

    return sandbox.jssdk_signature_is_valid(
        kind=kind, url=url, noncestr=field("nonceStr"), timestamp=field("timestamp"), signature=field("signature")
    )


def test_a_teacher_opens_the_toolbar_in_a_chat_and_sees_the_parents_card_on_a_phone(school, browser, live_server):
    as_wecom_app(browser, user_agent=PHONE_WECOM_UA, size=PHONE)
    page = f"{live_server.url}/chat/parent/"

    browser.get(page)
    # Not signed in: WeCom's in-app authorization, played by the simulator, then back to the page.
    assert browser.current_url.startswith(f"{school.base_url}/connect/oauth2/authorize?")
    browser.find_element(By.CSS_SELECTOR, 'button[value="rocky"]').click()

    card = wait_for(browser, ".parent-card")
    assert browser.current_url == page
    text = card.text
    assert "李四" in text
    assert "李小明" in text and "三年级1班" in text
    assert "罗凯 (rocky)" in text
    assert "最近成功刷新" in text
    assert "从企业微信刷新" in text  # a teacher refreshes their own families
    assert "100****0000" in text and "10000000000" not in text  # but sees phone numbers masked
    save_screenshot(browser, "chat-parent-card")

    calls = calls_to_wecom(browser)
    assert calls["agentConfig"]["corpid"] == school.corp_id
    assert calls["agentConfig"]["agentid"] == school.sign_in.agent_id
    assert calls["agentConfig"]["jsApiList"] == ["getCurExternalContact"]
    assert signature_passes(school, kind="agent_config", url=page, params=calls["agentConfig"])
    # This WeCom is older than 3.0.24: the SDK also signs with the school's ticket first.
    assert signature_passes(school, kind="jsapi", url=page, params=calls["preVerifyJSAPI"], prefix="verify")


def log_in_as_school_admin(browser, live_server, django_user_model) -> None:
    office = django_user_model.objects.create_user(username="office", password=PASSWORD, is_staff=True)
    office.groups.add(Group.objects.get(name="学校管理员"))
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys("office")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert browser.find_element(By.ID, "user-tools").is_displayed()


def test_a_school_admin_refreshes_the_parent_from_the_card_on_a_desktop(
    school, browser, live_server, django_user_model
):
    log_in_as_school_admin(browser, live_server, django_user_model)
    as_wecom_app(browser, user_agent=DESKTOP_WECOM_UA, size=DESKTOP)
    page = f"{live_server.url}/chat/parent/"

    browser.get(page)
    card = wait_for(browser, ".parent-card")
    assert "10000000000" in card.text  # the school's admin sees whole phone numbers
    save_screenshot(browser, "chat-parent-card-desktop")

    browser.find_element(By.CSS_SELECTOR, ".refresh-form button").click()

    outcome = wait_for(browser, ".outcome")
    assert "已从企业微信刷新" in outcome.text
    assert "李四" in browser.find_element(By.CSS_SELECTOR, ".parent-card").text
    calls = calls_to_wecom(browser)
    assert "preVerifyJSAPI" not in calls  # WeCom 3.0.24 and later: the app's signature alone
    assert signature_passes(school, kind="agent_config", url=page, params=calls["agentConfig"])


def test_outside_a_chat_with_a_parent_the_page_says_where_to_open_it(school, browser, live_server):
    failing = {"getCurExternalContact": "getCurExternalContact:fail without context of external contact"}
    as_wecom_app(browser, user_agent=PHONE_WECOM_UA, size=PHONE, failing=failing)

    browser.get(f"{live_server.url}/chat/parent/")
    browser.find_element(By.CSS_SELECTOR, 'button[value="rocky"]').click()

    status = wait_for(browser, ".chat-status.problem")
    assert "没有找到当前聊天的家长" in status.text
    assert not browser.find_elements(By.CSS_SELECTOR, ".parent-card")


def test_when_wecom_refuses_the_signature_the_page_says_whom_to_tell(school, browser, live_server):
    as_wecom_app(browser, user_agent=DESKTOP_WECOM_UA, size=DESKTOP, failing={"agentConfig": "agentConfig:fail"})

    browser.get(f"{live_server.url}/chat/parent/")
    browser.find_element(By.CSS_SELECTOR, 'button[value="rocky"]').click()

    status = wait_for(browser, ".chat-status.problem")
    assert "企业微信没有允许本页读取当前聊天" in status.text
    assert "可信域名" in status.text
    assert status.find_element(By.TAG_NAME, "button").text == "重试"


def test_in_a_plain_browser_the_page_says_to_open_it_in_wecom(school, browser, live_server, django_user_model):
    log_in_as_school_admin(browser, live_server, django_user_model)
    browser.set_window_size(*DESKTOP)

    browser.get(f"{live_server.url}/chat/parent/")

    status = wait_for(browser, ".chat-status.problem")
    assert "请在企业微信中打开本页" in status.text
    browser.find_element(By.CSS_SELECTOR, ".language-switch button[value=en]").click()
    english = expected_conditions.text_to_be_present_in_element(
        (By.CSS_SELECTOR, ".chat-status.problem"), "Open this page in WeCom"
    )
    assert WebDriverWait(browser, 10).until(english)
