"""A teacher signs in with WeCom in a real browser, through the simulator's login page."""

import pytest
from selenium.webdriver.common.by import By

from tests.browser import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_teacher_signs_in_with_wecom_and_lands_on_the_page_asked_for(sandbox, browser, live_server):
    browser.get(f"{live_server.url}/admin/contacts/externalcontact/")
    assert "/admin/login/" in browser.current_url
    save_screenshot(browser, "sign-in")

    browser.find_element(By.CSS_SELECTOR, "a.wecom-sign-in-button").click()

    rocky = browser.find_element(By.CSS_SELECTOR, 'button[value="rocky"]')
    assert browser.current_url.startswith(f"{sandbox.base_url}/wwlogin/sso/login?")
    save_screenshot(browser, "sign-in-simulated-wecom")
    rocky.click()

    assert browser.find_element(By.ID, "changelist").is_displayed()
    assert browser.current_url == f"{live_server.url}/admin/contacts/externalcontact/"
    assert "罗凯" in browser.find_element(By.ID, "user-tools").text


def test_a_parents_wechat_is_told_it_cannot_sign_in(sandbox, browser, live_server):
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.CSS_SELECTOR, "a.wecom-sign-in-button").click()

    browser.find_element(By.CSS_SELECTOR, "button.outsider").click()

    assert "不是本校企业微信成员" in browser.find_element(By.CSS_SELECTOR, ".wecom-sign-in-refused").text
    browser.find_element(By.LINK_TEXT, "返回登录页").click()
    assert browser.find_element(By.ID, "login-form").is_displayed()
