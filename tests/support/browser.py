"""Headless Chromium for end-to-end tests, driven by Selenium.

The machine has no internet: the browser and its driver come from the Debian packages
`chromium` and `chromium-driver`, and Selenium is always handed the driver's path so that it
never starts Selenium Manager (which would try to download one).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

WINDOW_WIDTH = 420
WINDOW_HEIGHT = 900

CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

INSTALL_HINT = "apt-get install chromium chromium-driver (done by .ci/run)"


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can (for pytest.skip)."""
    missing = [
        str(path)
        for path in (CHROMIUM, CHROMEDRIVER)
        if not (path.is_file() and _executable(path))
    ]
    if missing:
        return f"Chromium not installed ({', '.join(missing)} missing): {INSTALL_HINT}"
    return None


def _executable(path: Path) -> bool:
    return os.access(path, os.X_OK)


@contextmanager
def chromium_driver() -> Iterator[webdriver.Chrome]:
    """A headless Chromium WebDriver with a throw-away profile, quit and cleaned up on exit."""
    reason = chromium_missing_reason()
    if reason is not None:
        raise RuntimeError(reason)

    profile = tempfile.mkdtemp(prefix="helpdesk-chromium-")
    try:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for arg in CHROMIUM_ARGS:
            options.add_argument(arg)
        options.add_argument(f"--user-data-dir={profile}")
        options.add_argument(f"--window-size={WINDOW_WIDTH},{WINDOW_HEIGHT}")
        # An explicit driver path: Selenium Manager is skipped and nothing is downloaded.
        service = Service(executable_path=str(CHROMEDRIVER), log_output=subprocess.DEVNULL)
        driver = webdriver.Chrome(service=service, options=options)
        try:
            driver.set_window_size(WINDOW_WIDTH, WINDOW_HEIGHT)
            driver.set_page_load_timeout(30)
            driver.set_script_timeout(30)
            yield driver
        finally:
            driver.quit()
    finally:
        # Chromium may still be flushing its profile for a moment after quitting.
        shutil.rmtree(profile, ignore_errors=True)


def browser_once(database_url: str, why: str = "the API tests cover PostgreSQL") -> None:
    """Skip a browser journey where it cannot or need not run: without Chromium, or on
    PostgreSQL (it runs once, on SQLite; `why` names what covers PostgreSQL)."""
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    if "postgresql" in database_url:
        pytest.skip(f"the browser journey runs once, on SQLite; {why}")
