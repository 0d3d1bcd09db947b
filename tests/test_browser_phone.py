"""Teachers open the app inside the WeCom app on a phone: a teacher signs in through the simulated
WeCom, sees only their own families, and reads the parent list and a parent's page at 390 px wide
without sideways scrolling; the same pages at 1366 px wide."""

import pytest
from selenium.webdriver.common.by import By

from contacts.models import ExternalContact, RefreshTrigger
from contacts.services.roster import sync_roster
from contacts.services.runner import RateLimitPolicy, refresh_concurrently
from contacts.wecom.client import get_client
from tests.browser import DESKTOP, PHONE, save_screens, show_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The simulated school's head teacher of 三年级1班 (contacts/sandbox/school.py), and his class.
TEACHER, TEACHER_NAME, CLASS_NAME = "rocky", "罗凯", "三年级1班"


@pytest.fixture
def school(sandbox):
    """The simulator's school as the nightly sync stores it: the roster, then every parent."""
    synced = sync_roster(client=get_client())
    refresh_concurrently(
        external_userids=synced.external_userids,
        trigger=RefreshTrigger.COMMAND,
        policy=RateLimitPolicy.for_command(),
    )
    return sandbox.school


def rockys_families(school) -> set[str]:
    """What the simulated WeCom says are rocky's: the parents he follows and those of his class."""
    [class_id] = [d["id"] for d in school.departments() if d["name"] == CLASS_NAME]
    of_his_class = {entry["external_userid"] for entry in school.list_parent(class_id) if "external_userid" in entry}
    stored = set(ExternalContact.objects.values_list("external_userid", flat=True))
    return (of_his_class | set(school.followed_by(TEACHER))) & stored


def sign_in_with_wecom(browser, live_server, userid: str) -> None:
    browser.get(f"{live_server.url}/admin/contacts/externalcontact/")
    browser.find_element(By.CSS_SELECTOR, "a.wecom-sign-in-button").click()
    browser.find_element(By.CSS_SELECTOR, f'button[value="{userid}"]').click()
    assert browser.find_element(By.ID, "changelist").is_displayed()


def listed(browser) -> set[str]:
    """The external_userid of every parent on the list (each row's link leads to its page)."""
    links = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")
    ids = [link.get_attribute("href").rstrip("/").split("/")[-2] for link in links]
    return set(ExternalContact.objects.filter(pk__in=ids).values_list("external_userid", flat=True))


def scrolls_sideways(browser) -> bool:
    """The page, or the list's own scrolling box, is wider than the screen."""
    return browser.execute_script(
        "return [document.documentElement, document.querySelector('#changelist .results')]"
        ".some(box => box && box.scrollWidth > box.clientWidth)"
    )


def top_of(browser, element) -> float:
    """How far down the page an element starts, in CSS pixels."""
    return browser.execute_script("return arguments[0].getBoundingClientRect().top + window.scrollY", element)


def lines_of(browser, element) -> int:
    """On how many lines the element's text is laid out."""
    return browser.execute_script(
        "const range = document.createRange(); range.selectNodeContents(arguments[0]);"
        "return new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size",
        element,
    )


def open_a_parent_with_children(browser) -> None:
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    row = next(row for row in rows if row.find_element(By.CSS_SELECTOR, "td.field-children_display").text.strip())
    row.find_element(By.CSS_SELECTOR, "th a").click()


def test_a_teacher_signs_in_on_a_phone_and_sees_only_their_families(school, browser, live_server):
    show_as(browser, PHONE, phone=True)

    sign_in_with_wecom(browser, live_server, TEACHER)

    assert TEACHER_NAME in browser.find_element(By.ID, "user-tools").text
    expected = rockys_families(school)
    assert 0 < len(expected) < ExternalContact.objects.count()
    assert listed(browser) == expected
    assert "woAAAA" in expected  # the seed's 李四, whom rocky follows


@pytest.mark.parametrize(("size", "phone"), [(PHONE, True), (DESKTOP, False)], ids=["phone", "desktop"])
def test_the_parent_list_shows_name_remark_and_children_without_scrolling_sideways(
    school, browser, live_server, size, phone
):
    show_as(browser, size, phone=phone)
    sign_in_with_wecom(browser, live_server, TEACHER)

    assert not scrolls_sideways(browser)
    first_row = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr")
    for column in ("field-name_display", "field-subscriber_remark", "field-children_display"):
        cell = first_row.find_element(By.CSS_SELECTOR, f".{column}")
        assert cell.is_displayed(), column
        right = browser.execute_script("return arguments[0].getBoundingClientRect().right", cell)
        assert right <= size[0], column
    li_si = browser.find_element(By.XPATH, "//tbody/tr[.//a[contains(., '李四')]]")
    assert "李小明" in li_si.find_element(By.CSS_SELECTOR, ".field-children_display").text
    if phone:
        save_screens(browser, "phone-parent-list")


@pytest.mark.parametrize(("size", "phone"), [(PHONE, True), (DESKTOP, False)], ids=["phone", "desktop"])
def test_the_parent_page_shows_children_and_every_remark_in_the_first_two_screens(
    school, browser, live_server, size, phone
):
    show_as(browser, size, phone=phone)
    sign_in_with_wecom(browser, live_server, TEACHER)
    browser.find_element(By.LINK_TEXT, "李四").click()

    assert not scrolls_sideways(browser)
    two_screens = 2 * size[1]
    children = browser.find_element(By.CSS_SELECTOR, ".roster-children")
    assert "李小明" in children.text
    assert top_of(browser, children) < two_screens
    remarks = browser.find_elements(By.CSS_SELECTOR, "#follow_users-group td.field-remark p")
    assert [remark.text for remark in remarks] == ["李部长", "李总"]
    for remark in remarks:
        assert top_of(browser, remark) < two_screens - remark.size["height"]
        assert lines_of(browser, remark) == 1, "a line of text, not a column of single characters"
    if phone:
        save_screens(browser, "phone-parent-page", screens=2)


def test_the_teachers_and_the_refresh_records_do_not_scroll_sideways_on_a_phone(school, browser, live_server):
    show_as(browser, PHONE, phone=True)
    sign_in_with_wecom(browser, live_server, TEACHER)

    for page in ("staffmember", "contactsnapshot"):
        browser.get(f"{live_server.url}/admin/contacts/{page}/")
        assert browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr"), page
        assert not scrolls_sideways(browser), page
