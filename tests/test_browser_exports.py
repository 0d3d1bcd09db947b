"""Staff export the parent list to Excel in a real browser, on a phone and on a desktop."""

import time
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tests.browser import save_screenshot, start_chromium
from tests.sheets import read_records
from tests.test_admin_queries import add_parents
from tests.test_browser_staff import log_in, page_text, staff_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"phone": (390, 844), "desktop": (1366, 900)}
DOWNLOAD_SECONDS = 30


@pytest.fixture
def downloads(tmp_path) -> Path:
    return tmp_path / "downloads"


@pytest.fixture
def browser(downloads):
    chromium = start_chromium(download_dir=downloads)
    yield chromium
    chromium.quit()


@pytest.fixture(autouse=True)
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


def downloaded_file(folder: Path) -> Path:
    """The one workbook the browser saved into `folder`, once it has finished saving it."""
    deadline = time.monotonic() + DOWNLOAD_SECONDS
    while time.monotonic() < deadline:
        done = list(folder.glob("*.xlsx")) if folder.is_dir() else []
        unfinished = list(folder.glob("*.crdownload")) if folder.is_dir() else []
        if len(done) == 1 and not unfinished:
            return done[0]
        time.sleep(0.2)
    pytest.fail(f"no workbook was downloaded into {folder} within {DOWNLOAD_SECONDS} s")


def press(browser, css: str) -> None:
    button = browser.find_element(By.CSS_SELECTOR, css)
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    assert button.is_displayed()
    button.click()


def open_parent_list(browser, live_server, django_user_model, *, group: str, size: str, query: str = "") -> None:
    """Twelve parents (家长0 … 家长11); a member of `group` signs in and opens their list on a screen of `size`."""
    add_parents(0, 12)
    staff_in(group, "office", django_user_model)
    browser.set_window_size(*SIZES[size])
    log_in(browser, live_server, "office")
    browser.get(f"{live_server.url}/admin/contacts/externalcontact/{query}")


@pytest.mark.parametrize("size", SIZES)
def test_a_viewer_downloads_the_searched_list_with_phones_masked(
    size, browser, live_server, downloads, django_user_model
):
    open_parent_list(browser, live_server, django_user_model, group="查看家长", size=size, query="?q=家长1")

    press(browser, "button.export-button")

    records = read_records(downloaded_file(downloads).read_bytes())
    assert sorted(record["姓名"] for record in records) == ["家长1", "家长10", "家长11"]
    assert {record["学校备注的手机号"] for record in records} == {"139****0001", "139****0010", "139****0011"}
    save_screenshot(browser, f"parent-list-export-{size}")


@pytest.mark.parametrize("size", SIZES)
def test_a_large_export_is_offered_on_its_page_once_written(
    size, browser, live_server, downloads, django_user_model, settings
):
    settings.EXPORT_INLINE_ROWS = 5
    open_parent_list(browser, live_server, django_user_model, group="学校管理员", size=size)

    press(browser, "button.export-button")

    WebDriverWait(browser, 10).until(lambda browser: "/admin/contacts/export/" in browser.current_url)
    assert "共 12 位家长，超过 5 位，正在后台生成" in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    # The task ran as soon as the request committed (TASK_BACKEND=immediate in the tests).
    assert "已完成" in page_text(browser)
    save_screenshot(browser, f"export-page-{size}")
    press(browser, "a.download-button")
    records = read_records(downloaded_file(downloads).read_bytes())
    assert len(records) == 12
    assert "13900000003" in {record["学校备注的手机号"] for record in records}
