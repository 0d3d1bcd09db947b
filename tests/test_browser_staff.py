"""Staff use the admin in a real browser against the WeCom simulator."""

import pytest
from django.contrib.auth.models import Group
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from contacts.models import ExternalContact, RefreshTrigger, SyncJob
from contacts.services.runner import RateLimitPolicy, refresh_concurrently
from tests.browser import save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-test-password"


@pytest.fixture
def school(sandbox):
    """The simulator's school, stored through the real API (woAAAA among the parents)."""
    refresh_concurrently(
        external_userids=sandbox.school.external_userids(include_lost=False),
        trigger=RefreshTrigger.COMMAND,
        policy=RateLimitPolicy.for_command(),
    )
    assert ExternalContact.objects.filter(external_userid="woAAAA").exists()
    return sandbox


def staff_in(group_name: str, username: str, django_user_model):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


def log_in(browser, live_server, username: str) -> None:
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    assert browser.find_element(By.ID, "user-tools").is_displayed()


def open_parent(browser, live_server, external_userid: str) -> None:
    browser.get(f"{live_server.url}/admin/contacts/externalcontact/")
    search = browser.find_element(By.ID, "searchbar")
    search.send_keys(external_userid)
    search.submit()
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 1
    rows[0].find_element(By.CSS_SELECTOR, "th a").click()


def page_text(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def test_a_parent_administrator_finds_a_parent_reads_remarks_and_refreshes(
    school, browser, live_server, django_user_model
):
    staff_in("学校管理员", "office", django_user_model)
    log_in(browser, live_server, "office")

    browser.get(f"{live_server.url}/admin/contacts/externalcontact/")
    save_screenshot(browser, "parent-list")
    open_parent(browser, live_server, "woAAAA")

    text = page_text(browser)
    assert "李四" in text
    assert "李部长" in text and "对接采购事物" in text
    assert "李总" in text and "采购问题咨询" in text
    assert "10000000003" in text  # this group may see full phone numbers
    save_screenshot(browser, "parent-page")

    school.school.edit_follow_user("woAAAA", "rocky", remark="李主任")
    browser.find_element(By.CSS_SELECTOR, "button.refresh-button").click()

    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success").text
    assert "已从企业微信刷新「李四」" in message
    assert "李部长 → 李主任" in message
    follow_users = browser.find_element(By.ID, "follow_users-group").text
    assert "李主任" in follow_users
    assert "李部长" not in follow_users
    save_screenshot(browser, "parent-refreshed")


def test_a_view_only_staff_member_sees_masked_phones_and_no_refresh_button(
    school, browser, live_server, django_user_model
):
    staff_in("查看家长", "teacher", django_user_model)
    log_in(browser, live_server, "teacher")

    open_parent(browser, live_server, "woAAAA")

    text = page_text(browser)
    assert "李部长" in text
    assert "100****0003" in text
    assert "10000000003" not in text
    assert "100****0000" in text
    assert browser.find_elements(By.CSS_SELECTOR, "button.refresh-button") == []


def test_the_look_up_page_fetches_a_parent_not_stored_yet(sandbox, browser, live_server, django_user_model):
    staff_in("学校管理员", "office", django_user_model)
    wanted = sandbox.school.external_userids(include_lost=False)[3]
    log_in(browser, live_server, "office")

    browser.get(f"{live_server.url}/admin/contacts/externalcontact/")
    browser.find_element(By.CSS_SELECTOR, "a.lookup-link").click()
    field = browser.find_element(By.NAME, "external_userid")
    field.send_keys(wanted)
    field.submit()

    assert "已找到并保存" in browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success").text
    assert ExternalContact.objects.filter(external_userid=wanted).exists()
    assert wanted in page_text(browser)


def test_the_look_up_page_says_why_an_unknown_id_was_not_found(sandbox, browser, live_server, django_user_model):
    staff_in("学校管理员", "office", django_user_model)
    log_in(browser, live_server, "office")

    browser.get(f"{live_server.url}/admin/contacts/externalcontact/lookup/")
    field = browser.find_element(By.NAME, "external_userid")
    field.send_keys("wmDOESNOTEXIST")
    field.submit()

    assert "企业微信中没有这个 external_userid" in browser.find_element(By.CSS_SELECTOR, ".errorlist").text
    assert not ExternalContact.objects.filter(external_userid="wmDOESNOTEXIST").exists()


def test_a_parent_administrator_confirms_a_whole_school_sync_and_follows_it(
    school, browser, live_server, django_user_model
):
    staff_in("学校管理员", "office", django_user_model)
    stored = ExternalContact.objects.count()
    lost = school.school.lost_external_userids()[0]
    log_in(browser, live_server, "office")

    browser.get(f"{live_server.url}/admin/contacts/externalcontact/")
    browser.find_element(By.LINK_TEXT, "同步全校").click()

    text = page_text(browser)
    assert "发起「同步全校」？" in text
    assert f"上次共 {stored} 位" in text
    assert "约需 1 分钟" in text
    assert not SyncJob.objects.exists()
    save_screenshot(browser, "sync-confirmation")

    browser.find_element(By.CSS_SELECTOR, "#content-main input[type=submit]").click()
    # The test settings run the whole job inside that POST: wait for the job page it leads to.
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.CSS_SELECTOR, ".job-progress"))

    job = SyncJob.objects.get()
    assert browser.current_url.endswith(f"/admin/contacts/syncjob/{job.pk}/change/")
    failures = browser.find_element(By.CSS_SELECTOR, ".job-failures").text
    assert lost in failures
    assert "（未保存）" in failures
    assert "这位家长从未保存在本系统中，没有本地数据。" in failures
