"""A head teacher reads their class page in a real browser: on a phone inside WeCom (390 px) and on a
desktop (1366 px), without sideways scrolling; the simulated school's roster, parents not on WeCom included."""

import pytest
from selenium.webdriver.common.by import By

from tests.browser import DESKTOP, PHONE, save_screens, show_as
from tests.test_browser_phone import school, scrolls_sideways, sign_in_with_wecom  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The simulated school's head teacher of 三年级1班 (contacts/sandbox/school.py), and his class.
TEACHER, CLASS_NAME = "rocky", "三年级1班"


@pytest.mark.parametrize(("size", "phone", "name"), [(PHONE, True, "class-page"), (DESKTOP, False, None)])
def test_a_head_teacher_reads_their_class_without_sideways_scrolling(browser, live_server, school, size, phone, name):  # noqa: F811
    show_as(browser, size, phone=phone)
    sign_in_with_wecom(browser, live_server, TEACHER)
    browser.get(f"{live_server.url}/admin/contacts/schoolclass/")
    classes = [link.text for link in browser.find_elements(By.CSS_SELECTOR, "#result_list tbody th a")]
    assert CLASS_NAME in classes  # and the classes of the siblings of his families' children
    assert not scrolls_sideways(browser)

    browser.find_element(By.LINK_TEXT, CLASS_NAME).click()
    [class_id] = [d["id"] for d in school.departments() if d["name"] == CLASS_NAME]
    expected = {student["name"] for student in school.list_students(class_id)}
    shown = {heading.text for heading in browser.find_elements(By.CSS_SELECTOR, ".class-student h2")}
    assert shown == expected
    assert "李小明" in shown
    assert not scrolls_sideways(browser)
    assert "****" in browser.find_element(By.CSS_SELECTOR, ".guardian-phone").text  # a teacher sees phones masked
    if name:
        save_screens(browser, name, screens=2)

    browser.find_element(By.LINK_TEXT, "未连接企业微信").click()
    states = {state.text for state in browser.find_elements(By.CSS_SELECTOR, ".guardian-state")}
    assert states <= {"未连接企业微信"}
    assert not scrolls_sideways(browser)

