"""A real headless Chromium for browser tests: Debian's chromium and chromedriver, never a download.

Locally the tests are skipped when Chromium is not installed; in CI (CI=true) a
missing browser fails the run, so the browser tests can never be skipped there.
"""

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


def start_chromium(language: str = "zh-CN", *, download_dir: Path | None = None):
    """A headless Chromium; with `download_dir`, files it downloads are saved there without asking."""
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
    prefs = {"intl.accept_languages": language}
    if download_dir is not None:
        download_dir.mkdir(parents=True, exist_ok=True)
        prefs.update({"download.default_directory": str(download_dir), "download.prompt_for_download": False})
    options.add_experimental_option("prefs", prefs)
    browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    if download_dir is not None:
        # Headless Chromium may ignore the preference; the DevTools command is what it always obeys.
        browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
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
