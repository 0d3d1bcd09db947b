"""A real headless Chromium for browser tests: Debian's chromium and chromedriver, never a download.

Locally the tests are skipped when Chromium is not installed; in CI (CI=true) a
missing browser fails the run, so the browser tests can never be skipped there.
"""

import base64
import os
import shutil
from pathlib import Path

import pytest

SCREENSHOT_DIR = os.environ.get("SCREENSHOT_DIR", "")


def find_browser() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    message = "Chromium and chromedriver are needed for browser tests (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def start_chromium(language: str = "zh-CN"):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = find_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        f"--lang={language}",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": language})
    browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    browser.implicitly_wait(5)
    return browser


def save_screenshot(browser, name: str) -> None:
    """Saved only when SCREENSHOT_DIR is set (make screenshots): the pictures in docs/."""
    if not SCREENSHOT_DIR:
        return
    Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
    width, height = browser.get_window_size()["width"], browser.get_window_size()["height"]
    page_height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(width, min(max(page_height + 120, height), 4000))
    browser.save_screenshot(str(Path(SCREENSHOT_DIR) / f"{name}.png"))
    browser.set_window_size(width, height)


PHONE = (390, 844)  # a phone held upright, in CSS pixels, as WeCom's in-app browser shows pages
DESKTOP = (1366, 900)


def show_as(browser, size: tuple[int, int], *, phone: bool) -> None:
    """Lay pages out at `size` CSS pixels; a phone honours the page's viewport meta tag as a phone does."""
    width, height = size
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 2 if phone else 1, "mobile": phone},
    )


def save_screens(browser, name: str, *, screens: int = 1) -> None:
    """The first `screens` screens of the page as they scroll by, saved when SCREENSHOT_DIR is set."""
    if not SCREENSHOT_DIR:
        return
    width, height, page_height = browser.execute_script(
        "return [window.innerWidth, window.innerHeight, document.documentElement.scrollHeight]"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": min(height * screens, page_height), "scale": 1}
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
    (Path(SCREENSHOT_DIR) / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
