"""The parent list's tools never cover its title, in English and Chinese, on a phone and on a desktop."""

import pytest
from django.contrib.auth.models import Group

from tests.browser import start_chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-test-password"

# Each box as {left, top, right, bottom}: the title's text (a Range, so a title line's empty
# end does not count) and every tool, all in viewport pixels.
BOXES_SCRIPT = """
const box = (r) => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
const range = document.createRange();
range.selectNodeContents(document.querySelector('#content h1'));
return {
  title: Array.from(range.getClientRects()).map(box),
  tools: Array.from(document.querySelectorAll('.object-tools li')).map((li) => box(li.getBoundingClientRect())),
  width: document.documentElement.clientWidth,
};
"""


def overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.fixture
def manager(django_user_model):
    user = django_user_model.objects.create_user(username="office", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="学校管理员"))
    return user


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("width", [390, 1024, 1280])
def test_the_tools_of_the_parent_list_wrap_instead_of_covering_the_title(manager, live_server, language, width):
    browser = start_chromium(language)
    try:
        browser.set_window_size(width, 900)
        browser.get(f"{live_server.url}/admin/login/?next=/admin/contacts/externalcontact/")
        browser.find_element("name", "username").send_keys("office")
        browser.find_element("name", "password").send_keys(PASSWORD)
        browser.find_element("css selector", "input[type=submit]").click()
        browser.find_element("id", "changelist")

        boxes = browser.execute_script(BOXES_SCRIPT)
    finally:
        browser.quit()

    title, tools = boxes["title"], boxes["tools"]
    assert title and len(tools) == 4  # the look-up and the three whole-school jobs
    covered = [(tool, line) for tool in tools for line in title if overlap(tool, line)]
    assert covered == []
    assert [(a, b) for i, a in enumerate(tools) for b in tools[i + 1 :] if overlap(a, b)] == []
    assert all(tool["left"] >= 0 and tool["right"] <= boxes["width"] for tool in tools)
